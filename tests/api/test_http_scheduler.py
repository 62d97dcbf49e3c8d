"""The scheduler: a held message is decided again when it
comes due — delivered once the relationship's rolling window frees, also
after a restart (exactly once), refused if the relationship ended in the
meantime."""
import time

from conftest import GRANT

WINDOW = 2  # seconds of the rolling cap that holds the second message
TIMEOUT = 15  # seconds to wait for a release (due after WINDOW s)
HOLD_OVER_CAP = dict(GRANT, topics=["orders", "offers"], channels={
    "email": {"allowed": True, "over_cap": "hold",
              "cap": {"max": 1, "per_seconds": WINDOW}}})


def held_pair(api):
    """Ana and Acme with a cap of 1 per WINDOW s that holds; one message
    delivered and one held. Returns (ana, acme, rel, held message id)."""
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert rel.put_terms(HOLD_OVER_CAP).status == 200
    first = acme.send(rel.id, subject="first").json()
    second = acme.send(rel.id, subject="second").json()
    assert first["decision"] == second["decision"] == "accepted"
    seen = ana.message(second["id"])
    assert (seen["decision"], seen["reason"]) == ("hold", "frequency_cap")
    assert seen["deliver_at"] is not None
    return ana, acme, rel, second["id"]


def wait_decided(person, msg_id, timeout=TIMEOUT):
    """Polls until the attempt is no longer held; returns its view."""
    deadline = time.monotonic() + timeout
    while True:
        seen = person.message(msg_id)
        if seen["decision"] != "hold" or time.monotonic() > deadline:
            return seen
        time.sleep(0.25)


def test_held_for_the_cap_is_delivered_when_the_window_frees(api):
    ana, acme, rel, msg = held_pair(api)
    seen = wait_decided(ana, msg)
    assert seen["decision"] == "deliver", seen
    assert seen["folder"] == "inbox"
    assert sorted(m["subject"] for m in ana.messages("folder=inbox")) == [
        "first", "second"]
    assert ana.messages("decision=hold") == []


def test_held_is_delivered_once_across_a_restart(api):
    ana, acme, rel, msg = held_pair(api)
    api.stop()
    time.sleep(WINDOW + 0.5)  # due while no server runs
    api.start()
    seen = wait_decided(ana, msg)
    assert seen["decision"] == "deliver", seen
    # Give a second release a chance to happen, then count.
    time.sleep(1.5)
    items = ana.messages()
    assert [m["id"] for m in items].count(msg) == 1, items
    assert len(items) == 2, items
    assert [m["decision"] for m in items] == ["deliver", "deliver"], items
    # And again after another restart: nothing is released twice.
    api.restart()
    time.sleep(1.5)
    assert ana.messages() == items


def test_held_is_refused_when_the_relationship_ended_meanwhile(api):
    """Decided again from row 3 on: an ended relationship refuses."""
    ana, acme, rel, msg = held_pair(api)
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    seen = wait_decided(ana, msg)
    assert (seen["decision"], seen["reason"]) == (
        "refuse", "relationship_ended"), seen
    assert seen["folder"] is None
