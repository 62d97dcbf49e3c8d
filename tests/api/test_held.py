"""Held messages follow the terms that held them: a change of the person's
global terms, of a relationship's terms, a mute or an end decides its held
messages again at once (delivered, refused, or held to a new time); the
person releases (POST /v1/me/messages/{id}/release) or discards
(…/discard) a held message by hand.

Quiet hours are set to cover "now" (UTC, the default zone), so nothing
waits on the wall clock for long; a re-decision is the scheduler's round,
woken by the change's commit, so each check polls briefly for it."""
import datetime
import email
import email.policy
import time

import pytest

from conftest import GRANT, assert_problem
from test_http_gate import TERMS, rfc3339, utc_now

WAIT = 5  # seconds at most for a woken round (the tick is not waited on)


def quiet_now(hours=1):
    """Quiet hours (UTC) that cover now, and the instant they end."""
    now = utc_now()
    start = now - datetime.timedelta(hours=1)
    end = (now + datetime.timedelta(hours=hours)).replace(second=0,
                                                          microsecond=0)
    return {"from": start.strftime("%H:%M"), "to": end.strftime("%H:%M")}, end


@pytest.fixture
def world(api):
    """Ana, Acme and their relationship (email; orders and offers)."""
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert rel.put_terms(TERMS).status == 200
    return api, ana, acme, rel


def send_held(acme, rel, reason="quiet_hours", subject="Hello"):
    """One message the gate holds; returns its id (the brand hears only
    accepted)."""
    r = acme.send(rel.id, subject=subject)
    assert r.status == 201, r
    answer = r.json()
    assert (answer["decision"], answer["reason"]) == ("accepted", None)
    seen = rel.person.message(answer["id"])
    assert (seen["decision"], seen["reason"]) == ("hold", reason), seen
    return answer["id"]


def until(person, msg_id, check):
    """Polls (briefly) until check(view) holds; returns the view."""
    deadline = time.monotonic() + WAIT
    while True:
        seen = person.message(msg_id)
        if check(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def decided(person, msg_id):
    return until(person, msg_id, lambda m: m["decision"] != "hold")


# ---- A change decides held messages again at once ----


def test_quiet_hours_removed_deliver_at_once(world):
    api, ana, acme, rel = world
    quiet, end = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    assert ana.message(msg)["deliver_at"] == rfc3339(end)
    ana.ok("PUT", "/v1/me/terms", {})  # no quiet hours any more
    seen = decided(ana, msg)
    assert (seen["decision"], seen["reason"], seen["folder"]) == (
        "deliver", "ok", "inbox"), seen
    assert seen["subject"] == "Hello"
    assert ana.messages("decision=hold") == []


def test_patch_of_global_terms_too(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    ana.ok("PATCH", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    ana.ok("PATCH", "/v1/me/terms", {"quiet_hours": None})
    assert decided(ana, msg)["decision"] == "deliver"


def test_a_change_that_still_holds_moves_deliver_at(world):
    api, ana, acme, rel = world
    quiet, end = quiet_now(1)
    assert rel.put_terms(dict(TERMS, quiet_hours=quiet)).status == 200
    msg = send_held(acme, rel)
    assert ana.message(msg)["deliver_at"] == rfc3339(end)
    longer, later = quiet_now(2)
    assert rel.put_terms(dict(TERMS, quiet_hours=longer)).status == 200
    seen = until(ana, msg, lambda m: m["deliver_at"] == rfc3339(later))
    assert (seen["decision"], seen["reason"]) == ("hold", "quiet_hours")
    assert seen["deliver_at"] == rfc3339(later), seen


def test_caps_raised_deliver(world):
    api, ana, acme, rel = world
    capped = dict(TERMS, channels={"email": {
        "allowed": True, "over_cap": "hold", "cap": {"max": 1, "per": "day"}}})
    assert rel.put_terms(capped).status == 200
    first = acme.send(rel.id, subject="first").json()
    assert ana.message(first["id"])["decision"] == "deliver"
    msg = send_held(acme, rel, "frequency_cap", subject="second")
    raised = dict(TERMS, channels={"email": {
        "allowed": True, "over_cap": "hold", "cap": {"max": 5, "per": "day"}}})
    assert rel.put_terms(raised).status == 200
    seen = decided(ana, msg)
    assert (seen["decision"], seen["folder"]) == ("deliver", "inbox"), seen


def test_global_cap_raised_deliver(world):
    api, ana, acme, rel = world
    ana.ok("PUT", "/v1/me/terms", {"caps": {"email": {
        "max": 1, "per": "day", "over_cap": "hold"}}})
    acme.send(rel.id, subject="first")
    msg = send_held(acme, rel, "global_frequency_cap")
    ana.ok("PUT", "/v1/me/terms", {"caps": {"email": {
        "max": 2, "per": "day", "over_cap": "hold"}}})
    assert decided(ana, msg)["decision"] == "deliver"


def test_do_not_contact_refuses_held(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet,
                                   "do_not_contact": ["email"]})
    seen = decided(ana, msg)
    assert (seen["decision"], seen["reason"]) == (
        "refuse", "channel_do_not_contact"), seen


def test_ended_refuses_held_at_once(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    assert rel.put_terms(dict(TERMS, quiet_hours=quiet)).status == 200
    msg = send_held(acme, rel)
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    seen = decided(ana, msg)
    assert (seen["decision"], seen["reason"], seen["folder"]) == (
        "refuse", "relationship_ended", None), seen


def test_mute_files_a_released_message_in_later(world):
    """Muted while held for the global cap: raising the cap then delivers
    it to Later (the mute is part of the new decision)."""
    api, ana, acme, rel = world
    ana.ok("PUT", "/v1/me/terms", {"caps": {"email": {
        "max": 1, "per": "day", "over_cap": "hold"}}})
    acme.send(rel.id, subject="first")
    msg = send_held(acme, rel, "global_frequency_cap")
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    # Still over the cap: held again, to the same time.
    seen = ana.message(msg)
    assert seen["decision"] == "hold", seen
    ana.ok("PUT", "/v1/me/terms", {})
    seen = decided(ana, msg)
    assert (seen["decision"], seen["folder"]) == ("deliver", "later"), seen


def test_other_persons_held_messages_stay(world):
    """A change decides again only the changer's held messages."""
    api, ana, acme, rel = world
    bob = api.signup("bob")
    rel_bob = api.connect(bob, acme)
    quiet, end = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    bob.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg_ana = send_held(acme, rel)
    msg_bob = send_held(acme, rel_bob)
    ana.ok("PUT", "/v1/me/terms", {})
    assert decided(ana, msg_ana)["decision"] == "deliver"
    seen = bob.message(msg_bob)
    assert (seen["decision"], seen["deliver_at"]) == ("hold", rfc3339(end))


# ---- Released or discarded by hand ----


def test_release_delivers_now_and_counts_in_the_caps(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    capped = dict(TERMS, quiet_hours=quiet, channels={"email": {
        "allowed": True, "cap": {"max": 1, "per": "day"}}})
    assert rel.put_terms(capped).status == 200
    msg = send_held(acme, rel)
    out = ana.ok("POST", f"/v1/me/messages/{msg}/release")
    assert out == {"id": msg, "decision": "deliver", "reason": "ok"}
    seen = ana.message(msg)
    assert (seen["decision"], seen["folder"], seen["subject"]) == (
        "deliver", "inbox", "Hello"), seen
    # The release filled the day's cap of 1: the next is refused.
    r = acme.send(rel.id).json()
    assert (r["decision"], r["reason"]) == ("refused", "frequency_cap"), r
    # Released once: again is a 409.
    assert_problem(ana.post(f"/v1/me/messages/{msg}/release"), 409)
    assert_problem(ana.post(f"/v1/me/messages/{msg}/discard"), 409)


def test_release_of_a_muted_relationship_goes_to_later(world):
    api, ana, acme, rel = world
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    ana.ok("POST", f"/v1/me/messages/{msg}/release")
    assert ana.message(msg)["folder"] == "later"


def test_release_refused_when_consent_expired(api):
    """Rows 3–8 still refuse a release: 409 naming the reason, and the
    message stays held."""
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    expires = int(time.time()) + 2
    at = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
    quiet, _ = quiet_now()
    rel = api.connect(ana, acme, grant=dict(GRANT, expires_at=rfc3339(at),
                                            quiet_hours=quiet))
    msg = send_held(acme, rel)
    time.sleep(max(0, expires - time.time()) + 0.2)
    r = ana.post(f"/v1/me/messages/{msg}/release")
    body = assert_problem(r, 409)
    assert "consent_expired" in body["detail"], body
    assert ana.message(msg)["decision"] == "hold"


def test_discard(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel, subject="Buy now")
    out = ana.ok("POST", f"/v1/me/messages/{msg}/discard")
    assert out == {"id": msg, "decision": "refuse", "reason": "discarded"}
    seen = ana.message(msg)
    assert (seen["decision"], seen["reason"], seen["folder"]) == (
        "refuse", "discarded", None), seen
    assert seen["subject"] is None and seen["explanation"], seen
    assert [m["id"] for m in ana.messages("decision=refuse")] == [msg]
    # Its content is gone: the HTML view has nothing to show.
    assert ana.get(f"/v1/me/messages/{msg}/html").status in (404, 409)
    # Nothing to release or discard any more.
    assert_problem(ana.post(f"/v1/me/messages/{msg}/release"), 409)
    assert_problem(ana.post(f"/v1/me/messages/{msg}/discard"), 409)
    # A later change of terms leaves it as it is.
    ana.ok("PUT", "/v1/me/terms", {})
    time.sleep(0.2)
    assert ana.message(msg) == seen


def test_discard_frees_a_place_in_the_hold_queue(make_api):
    api = make_api("--hold-queue", "1")
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    full = acme.send(rel.id).json()
    assert ana.message(full["id"])["reason"] == "hold_queue_full"
    ana.ok("POST", f"/v1/me/messages/{msg}/discard")
    send_held(acme, rel)  # the queue has room again


@pytest.mark.parametrize("verb", ["release", "discard"])
def test_another_persons_or_unknown_id_is_404(world, verb):
    api, ana, acme, rel = world
    bob = api.signup("bob")
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    before_ana, before_bob = ana.snapshot(), bob.snapshot()
    assert_problem(bob.post(f"/v1/me/messages/{msg}/{verb}"), 404)
    unknown = "msg_" + "0" * 16
    r = bob.post(f"/v1/me/messages/{unknown}/{verb}")
    assert r.status in (400, 404), r
    assert ana.snapshot() == before_ana
    assert bob.snapshot() == before_bob
    # Without credentials: 401.
    assert api.call("POST", f"/v1/me/messages/{msg}/{verb}").status == 401


@pytest.mark.parametrize("verb", ["release", "discard"])
def test_a_message_not_held_is_409(world, verb):
    api, ana, acme, rel = world
    delivered = acme.send(rel.id).json()["id"]
    refused = acme.send(rel.id, topic="news").json()["id"]
    for msg in (delivered, refused):
        before = ana.message(msg)
        assert_problem(ana.post(f"/v1/me/messages/{msg}/{verb}"), 409)
        assert ana.message(msg) == before


def test_a_body_is_refused(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    msg = send_held(acme, rel)
    assert_problem(ana.post(f"/v1/me/messages/{msg}/release", {"x": 1}), 400)
    assert ana.message(msg)["decision"] == "hold"


def test_released_and_woken_messages_reach_the_maildir(make_api, tmp_path):
    """The delivery adapters get a released message like any delivery;
    a discarded one never lands."""
    from test_delivery import enable, files, wait_for
    root = tmp_path / "maildir"
    root.mkdir()
    api = make_api("--maildir-root", str(root))
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert enable(ana).status == 200
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    by_hand = send_held(acme, rel, subject="by hand")
    dropped = send_held(acme, rel, subject="dropped")
    woken = send_held(acme, rel, subject="woken")
    ana.ok("POST", f"/v1/me/messages/{by_hand}/release")
    ana.ok("POST", f"/v1/me/messages/{dropped}/discard")
    ana.ok("PUT", "/v1/me/terms", {})
    assert decided(ana, woken)["decision"] == "deliver"
    inbox = wait_for(lambda: len(files(root, ana.id)) == 2 and
                     files(root, ana.id))
    assert inbox, files(root, ana.id)
    subjects = sorted(
        email.message_from_bytes(open(p, "rb").read(),
                                 policy=email.policy.default)["Subject"]
        for p in inbox.values())
    assert subjects == ["by hand", "woken"], subjects
