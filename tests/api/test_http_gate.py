"""Every reason code of the gate (core/gate.h) that HTTP can reach today,
each as the brand hears it (`accepted`, or `refused` with a brand-visible
reason) and as the person sees it (the full decision)."""
import datetime
import time
import zoneinfo

import pytest

from conftest import GRANT

PROFILE = {"name": "Ana Lima", "email": "ana@example.org"}
# A PUT of terms replaces them all: an omitted "topics" is no topics.
TERMS = dict(GRANT, topics=["orders", "offers"])


@pytest.fixture
def world(api):
    """Ana, Acme and their relationship (email; orders and offers)."""
    ana = api.signup("ana", profile=PROFILE)
    acme = api.add_brand("Acme")
    return api, ana, acme, api.connect(ana, acme)


def expect(brand, rel, brand_says, brand_reason, person_sees, person_reason,
           **send):
    """Sends one message; asserts what each side is told; returns the
    person's view of the attempt."""
    r = brand.send(rel.id, **send)
    assert r.status == 201, r
    answer = r.json()
    # The brand hears only this: no hold, folder, time or private reason.
    assert set(answer) == {"id", "decision", "reason"}, answer
    assert (answer["decision"], answer["reason"]) == (brand_says,
                                                      brand_reason), answer
    seen = rel.person.message(answer["id"])
    assert (seen["decision"], seen["reason"]) == (person_sees,
                                                  person_reason), seen
    assert seen["relationship"] == rel.id and seen["brand"]["id"] == brand.id
    return seen


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def next_midnight():
    today = utc_now().replace(hour=0, minute=0, second=0, microsecond=0)
    return today + datetime.timedelta(days=1)


def quiet_now():
    """Quiet hours (UTC) that cover now, and the instant they end."""
    now = utc_now()
    start = now - datetime.timedelta(hours=1)
    end = (now + datetime.timedelta(hours=1)).replace(second=0,
                                                      microsecond=0)
    return {"from": start.strftime("%H:%M"), "to": end.strftime("%H:%M")}, end


def test_ok_delivers_to_the_inbox(world):
    api, ana, acme, rel = world
    seen = expect(acme, rel, "accepted", None, "deliver", "ok")
    assert seen["folder"] == "inbox" and seen["deliver_at"] is None


def test_channel_not_permitted(world):
    api, ana, acme, rel = world
    seen = expect(acme, rel, "refused", "channel_not_permitted", "refuse",
                  "channel_not_permitted", channel="sms")
    assert seen["folder"] is None


def test_channel_do_not_contact(world):
    """Global do-not-contact: the brand hears channel_not_permitted, the
    person sees their own rule."""
    api, ana, acme, rel = world
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": ["email"]})
    expect(acme, rel, "refused", "channel_not_permitted", "refuse",
           "channel_do_not_contact")
    # Taken off the list, the channel works again.
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": []})
    expect(acme, rel, "accepted", None, "deliver", "ok")


@pytest.mark.parametrize("topic", [None, ""])
def test_topic_missing(world, topic):
    api, ana, acme, rel = world
    if topic == "":
        # An empty topic is not a topic name: a client's mistake.
        r = acme.send(rel.id, topic="")
        assert r.status == 422, r
        return
    expect(acme, rel, "refused", "topic_missing", "refuse", "topic_missing",
           topic=topic)


def test_topic_not_wanted(world):
    api, ana, acme, rel = world
    expect(acme, rel, "refused", "topic_not_wanted", "refuse",
           "topic_not_wanted", topic="news")
    # Granted fewer topics than asked, an asked one is not wanted either.
    assert rel.put_terms(dict(GRANT, topics=["orders"])).status == 200
    expect(acme, rel, "refused", "topic_not_wanted", "refuse",
           "topic_not_wanted", topic="offers")
    expect(acme, rel, "accepted", None, "deliver", "ok", topic="orders")


def test_frequency_cap(world):
    api, ana, acme, rel = world
    capped = {"channels": {"email": {"allowed": True, "cap": {
        "max": 1, "per_seconds": 3600}}},
        "fields": ["name", "email"], "topics": ["orders", "offers"],
        "exempt_topics": ["orders"]}
    assert rel.put_terms(capped).status == 200, rel.put_terms(capped)
    expect(acme, rel, "accepted", None, "deliver", "ok")
    expect(acme, rel, "refused", "frequency_cap", "refuse", "frequency_cap")
    # An exempt topic counts against its own cap, not the channel's.
    expect(acme, rel, "accepted", None, "deliver", "ok", topic="orders")
    # The brand sees its own cap: it has to respect it.
    view = acme.ok("GET", f"/v1/relationships/{rel.id}")
    assert view["terms"]["channels"]["email"]["cap"] == {
        "max": 1, "per_seconds": 3600}, view


def test_frequency_cap_hold_is_accepted_for_the_brand(world):
    api, ana, acme, rel = world
    capped = {"channels": {"email": {"allowed": True, "over_cap": "hold",
                                     "cap": {"max": 1, "per": "day"}}},
              "fields": ["name", "email"], "topics": ["orders", "offers"]}
    assert rel.put_terms(capped).status == 200
    expect(acme, rel, "accepted", None, "deliver", "ok")
    seen = expect(acme, rel, "accepted", None, "hold", "frequency_cap")
    assert seen["folder"] is None
    # A calendar day in the person's zone (UTC) frees at midnight.
    assert seen["deliver_at"] == rfc3339(next_midnight()), seen


def test_global_frequency_cap_across_brands(world):
    """The cap over all brands together: Acme's message fills it, Bolt's
    is refused, and Bolt hears only not_accepted."""
    api, ana, acme, rel = world
    bolt = api.add_brand("Bolt")
    rel_bolt = api.connect(ana, bolt)
    ana.ok("PUT", "/v1/me/terms",
           {"caps": {"email": {"max": 1, "per": "day"}}})
    expect(acme, rel, "accepted", None, "deliver", "ok")
    expect(bolt, rel_bolt, "refused", "not_accepted", "refuse",
           "global_frequency_cap")
    expect(acme, rel, "refused", "not_accepted", "refuse",
           "global_frequency_cap")
    # Exempt topics skip the global cap.
    assert rel.put_terms(dict(TERMS, exempt_topics=["orders"])).status == 200
    expect(acme, rel, "accepted", None, "deliver", "ok", topic="orders")


def test_global_frequency_cap_hold(world):
    api, ana, acme, rel = world
    ana.ok("PUT", "/v1/me/terms", {"caps": {"email": {
        "max": 1, "per": "day", "over_cap": "hold"}}})
    expect(acme, rel, "accepted", None, "deliver", "ok")
    seen = expect(acme, rel, "accepted", None, "hold",
                  "global_frequency_cap")
    assert seen["deliver_at"] == rfc3339(next_midnight()), seen


def test_quiet_hours_global(world):
    api, ana, acme, rel = world
    quiet, end = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    seen = expect(acme, rel, "accepted", None, "hold", "quiet_hours")
    assert seen["deliver_at"] == rfc3339(end), (seen, quiet)
    assert seen["folder"] is None
    assert ana.messages("decision=hold")[0]["id"] == seen["id"]


def test_quiet_hours_of_the_relationship(world):
    api, ana, acme, rel = world
    quiet, end = quiet_now()
    assert rel.put_terms(dict(TERMS, quiet_hours=quiet)).status == 200
    seen = expect(acme, rel, "accepted", None, "hold", "quiet_hours")
    assert seen["deliver_at"] == rfc3339(end), seen


def test_hold_queue_full(make_api):
    api = make_api("--hold-queue", "1")
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    expect(acme, rel, "accepted", None, "hold", "quiet_hours")
    expect(acme, rel, "refused", "not_accepted", "refuse", "hold_queue_full")
    # The queue is per relationship: another brand's still has room.
    bolt = api.add_brand("Bolt")
    rel_bolt = api.connect(ana, bolt)
    expect(bolt, rel_bolt, "accepted", None, "hold", "quiet_hours")


def test_relationship_ended(world):
    api, ana, acme, rel = world
    ended = ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    assert ended["state"] == "ended"
    expect(acme, rel, "refused", "relationship_ended", "refuse",
           "relationship_ended")
    view = acme.ok("GET", f"/v1/relationships/{rel.id}")
    assert view["state"] == "ended"
    assert view["fields"] == {}, view
    # Ending twice is a conflict of state.
    r = ana.post(f"/v1/me/relationships/{rel.id}/end")
    assert r.status == 409, r


def test_consent_expired(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    expires = int(time.time()) + 2
    at = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
    rel = api.connect(ana, acme, grant=dict(GRANT, expires_at=rfc3339(at)))
    assert rel.terms["expires_at"] == rfc3339(at)
    expect(acme, rel, "accepted", None, "deliver", "ok")
    time.sleep(max(0, expires - time.time()) + 0.2)
    expect(acme, rel, "refused", "consent_expired", "refuse",
           "consent_expired")
    # Expiry changes no state.
    assert acme.ok("GET", f"/v1/relationships/{rel.id}")["state"] == "active"


def test_muted_goes_to_later_and_the_brand_cannot_tell(world):
    api, ana, acme, rel = world
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    seen = expect(acme, rel, "accepted", None, "deliver", "ok")
    assert seen["folder"] == "later"
    assert [m["id"] for m in ana.messages("folder=later")] == [seen["id"]]
    assert ana.messages("folder=inbox") == []


def test_the_brand_never_sees_global_terms(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {
        "time_zone": "Europe/Berlin", "do_not_contact": ["phone"],
        "quiet_hours": quiet, "later_retention_days": 7,
        "caps": {"email": {"max": 10, "per": "day", "over_cap": "hold"}}})
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    for path in (f"/v1/relationships/{rel.id}", "/v1/relationships",
                 f"/v1/proposals/{rel.proposal}"):
        r = acme.get(path)
        assert r.status == 200, r
        text = r.body.decode()
        for word in ("Europe/Berlin", "do_not_contact", "quiet_hours",
                     "later_retention", "caps", "muted", "folder", "hold",
                     "phone", "ana@example.org", "time_zone"):
            assert word not in text, (path, word, text)


def test_quiet_hours_are_in_the_persons_time_zone(world):
    """Quiet hours are local times: in Asia/Kathmandu (UTC+05:45) the hour
    around now, local, holds until its local end."""
    zone = zoneinfo.ZoneInfo("Asia/Kathmandu")
    api, ana, acme, rel = world
    now = datetime.datetime.now(zone)
    end = (now + datetime.timedelta(hours=1)).replace(second=0,
                                                      microsecond=0)
    quiet = {"from": (now - datetime.timedelta(hours=1)).strftime("%H:%M"),
             "to": end.strftime("%H:%M")}
    ana.ok("PUT", "/v1/me/terms", {"time_zone": "Asia/Kathmandu",
                                   "quiet_hours": quiet})
    seen = expect(acme, rel, "accepted", None, "hold", "quiet_hours")
    assert seen["deliver_at"] == rfc3339(
        end.astimezone(datetime.timezone.utc)), (seen, quiet)
    # The same clock times in UTC are elsewhere in the day: no hold.
    ana.ok("PUT", "/v1/me/terms", {"time_zone": "UTC", "quiet_hours": quiet})
    expect(acme, rel, "accepted", None, "deliver", "ok")


def test_quiet_hours_days_name_the_day_a_period_starts(world):
    api, ana, acme, rel = world
    quiet, _ = quiet_now()
    started = (utc_now() - datetime.timedelta(hours=1)).weekday()
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    others = [d for i, d in enumerate(days) if i != started]
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": dict(quiet, days=others)})
    expect(acme, rel, "accepted", None, "deliver", "ok")
    ana.ok("PUT", "/v1/me/terms",
           {"quiet_hours": dict(quiet, days=[days[started]])})
    expect(acme, rel, "accepted", None, "hold", "quiet_hours")
