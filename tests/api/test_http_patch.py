"""Settings that never wipe themselves: PATCH (JSON Merge Patch, RFC 7396)
of the global terms, a relationship's terms, the profile and the delivery
settings keeps every setting it does not name; the merged result is
checked as a PUT of it would be, so a bad patch is a 4xx and writes
nothing. PUT still replaces. An omitted `topics` means the proposal's
topics on PUT as on accept. Mute, unmute and changes of the global terms
are on the person's ledger (relationship.muted, relationship.unmuted,
settings.changed), and no brand sees them or gets a receipt of them."""
import json

import pytest

import ledger_model as lm
from conftest import ASK, GRANT, PASSWORD, assert_problem, store_key
from test_http_ledger import recompute

MERGE = {"Content-Type": "application/merge-patch+json"}

TERMS = {"time_zone": "Europe/Berlin", "do_not_contact": ["phone"],
         "quiet_hours": {"from": "22:00", "to": "07:30",
                         "days": ["mon", "tue", "wed", "thu", "fri"]},
         "caps": {"email": {"max": 10, "per": "day", "over_cap": "refuse"}},
         "later_retention_days": 14}


def patch(caller, path, body, headers=MERGE):
    return caller.call("PATCH", path, json.dumps(body).encode(),
                       headers=headers)


def types(person):
    return [e["type"] for e in person.ledger()]


@pytest.fixture
def world(api):
    ana = api.signup("ana", profile={"name": "Ana Lima",
                                     "email": "ana@example.org"})
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    return api, ana, acme, rel


# --- global terms ---------------------------------------------------------


def test_patch_of_one_global_setting_keeps_the_others(world):
    """The reported case: {"refusal": "silent"} by PUT reset the time
    zone and cleared do-not-contact, quiet hours and caps; by PATCH it
    changes the refusal alone."""
    api, ana, acme, rel = world
    assert ana.put("/v1/me/terms", TERMS).status == 200
    before = ana.ok("GET", "/v1/me/terms")
    assert before["time_zone"] == "Europe/Berlin"

    r = patch(ana, "/v1/me/terms", {"refusal": "silent"})
    assert r.status == 200, r
    assert r.json() == dict(before, refusal="silent")
    assert ana.ok("GET", "/v1/me/terms") == dict(before, refusal="silent")

    # application/json is taken too; nested objects merge member by
    # member, and null removes (the key then takes its default).
    r = patch(ana, "/v1/me/terms", {"quiet_hours": {"to": "08:00"},
                                    "caps": None},
              headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    now = ana.ok("GET", "/v1/me/terms")
    assert now["quiet_hours"] == dict(before["quiet_hours"], to="08:00")
    assert now["caps"] == {}
    assert (now["time_zone"], now["do_not_contact"], now["refusal"]) == (
        "Europe/Berlin", ["phone"], "silent")

    # PUT still replaces the whole object, as documented.
    assert ana.put("/v1/me/terms", {"refusal": "silent"}).status == 200
    replaced = ana.ok("GET", "/v1/me/terms")
    assert replaced["time_zone"] == "UTC"
    assert replaced["do_not_contact"] == []


def test_an_invalid_global_patch_writes_nothing(world):
    api, ana, acme, rel = world
    assert ana.put("/v1/me/terms", TERMS).status == 200
    before = ana.snapshot()
    for body, status, field in [
            ({"quiet_hours": {"from": "25:00"}}, 422, "quiet_hours.from"),
            ({"time_zone": "Mars/Olympus_Mons"}, 422, "time_zone"),
            ({"refusal": 5}, 400, "refusal"),
            ({"later_retention_days": 0}, 422, "later_retention_days"),
            ({"fax": True}, 400, "fax"),
            ({"caps": {"email": {"per": "fortnight"}}}, 422, None)]:
        r = patch(ana, "/v1/me/terms", body)
        assert_problem(r, status, field)
        assert ana.snapshot() == before, body
    assert_problem(patch(ana, "/v1/me/terms", ["refusal"]), 400)
    assert_problem(ana.call("PATCH", "/v1/me/terms", b"{", headers=MERGE),
                   400)
    assert ana.snapshot() == before


# --- a relationship's terms -----------------------------------------------


def test_patch_of_relationship_terms_keeps_the_others(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    grant = {"channels": {"email": {"allowed": True,
                                    "cap": {"max": 2, "per": "week"}}},
             "topics": ["orders", "offers"], "exempt_topics": ["orders"],
             "topic_folders": {"offers": "later"}, "fields": ["name"]}
    rel = api.connect(ana, acme, grant=grant)
    path = f"/v1/me/relationships/{rel.id}/terms"
    before = ana.ok("GET", path)
    entries = len(ana.ledger())
    receipts = len(ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts")
                   ["items"])

    quiet = {"from": "21:00", "to": "08:00", "days": ["sat", "sun"]}
    r = patch(ana, path, {"quiet_hours": quiet,
                          "channels": {"email": {"cap": {"max": 1}}}})
    assert r.status == 200, r
    want = json.loads(json.dumps(before))
    want["quiet_hours"] = quiet
    want["channels"]["email"]["cap"]["max"] = 1
    assert r.json() == want
    assert ana.ok("GET", path) == want
    # A terms change is a consent event, whichever way it came.
    ledger = ana.ledger()
    assert [e["type"] for e in ledger[entries:]] == ["terms.changed"]
    assert len(ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts")
               ["items"]) == receipts + 1
    # The brand sees the cap it must respect, nothing of the quiet hours.
    view = acme.ok("GET", f"/v1/relationships/{rel.id}")
    assert view["terms"]["channels"]["email"]["cap"]["max"] == 1
    assert "quiet_hours" not in json.dumps(view)


def test_an_invalid_relationship_patch_writes_nothing(world):
    api, ana, acme, rel = world
    path = f"/v1/me/relationships/{rel.id}/terms"
    # (The brand's first read of the day is itself a fields.read entry.)
    brand_before = acme.ok("GET", f"/v1/relationships/{rel.id}")
    before = ana.snapshot()
    for body, status, field in [
            ({"topics": ["orders", "shoes"]}, 422, "topics[1]"),  # not asked
            ({"channels": {"sms": {"allowed": True}}}, 422, None),
            ({"fields": ["name", "birthday"]}, 422, "fields[1]"),
            ({"exempt_topics": ["nothing-wanted"]}, 422, None),
            ({"folder": 7}, 400, "folder"),
            ({"colour": "red"}, 400, "colour")]:
        r = patch(ana, path, body)
        assert_problem(r, status, field)
        assert ana.snapshot() == before, body
    assert acme.ok("GET", f"/v1/relationships/{rel.id}") == brand_before


def test_an_ended_relationship_takes_no_patch(world):
    api, ana, acme, rel = world
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    before = ana.snapshot()
    assert_problem(patch(ana, f"/v1/me/relationships/{rel.id}/terms",
                         {"folder": "later"}), 409)
    assert ana.snapshot() == before


def test_another_persons_relationship_is_404_and_nothing_recorded(world):
    api, ana, acme, rel = world
    bob = api.signup("bob")
    bob_rel = api.connect(bob, api.add_brand("Bolt"))
    ana_before, bob_before = ana.snapshot(), bob.snapshot()
    assert_problem(patch(ana, f"/v1/me/relationships/{bob_rel.id}/terms",
                         {"folder": "later"}), 404)
    # A malformed id is a 400 that says so (and also changes nothing).
    for rel_id in ("rel_k3x9q2r7m4vt8wzp", "rel_nonsense"):
        body = assert_problem(patch(ana,
                                    f"/v1/me/relationships/{rel_id}/terms",
                                    {"folder": "later"}), 400)
        assert body["type"] == "/problems/invalid-id", body
    assert ana.snapshot() == ana_before
    assert bob.snapshot() == bob_before


def test_a_brand_cannot_patch(world):
    api, ana, acme, rel = world
    before = ana.snapshot()
    for path, body in [("/v1/me/terms", {"refusal": "silent"}),
                       ("/v1/me/profile", {"name": "Mallory"}),
                       ("/v1/me/delivery", {"password": PASSWORD}),
                       (f"/v1/me/relationships/{rel.id}/terms",
                        {"topics": "all"})]:
        assert_problem(patch(acme, path, body), 403)
        assert_problem(patch(api_anon(api), path, body), 401)
    assert ana.snapshot() == before


def api_anon(api):
    """Someone with no credential at all."""
    class Anon:
        def call(self, method, path, body=None, headers=None):
            return api.call(method, path, body, headers=headers)
    return Anon()


# --- an omitted topics: one rule for PUT and accept -------------------------


def test_omitted_topics_mean_the_proposals_topics(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme, grant=GRANT)  # accept without topics
    path = f"/v1/me/relationships/{rel.id}/terms"
    assert rel.terms["topics"] == ASK["topics"]
    assert ana.put(path, {"channels": {"email": {"allowed": True}},
                          "folder": "later"}).status == 200
    assert ana.ok("GET", path)["topics"] == ASK["topics"]
    # Fewer topics stay fewer; removing the key by PATCH takes the asked
    # ones again.
    assert ana.put(path, dict(GRANT, topics=["orders"])).status == 200
    assert ana.ok("GET", path)["topics"] == ["orders"]
    assert patch(ana, path, {"topics": None}).status == 200
    assert ana.ok("GET", path)["topics"] == ASK["topics"]
    # What a brand can send follows: offers is wanted again.
    assert acme.send(rel.id, topic="offers").json()["decision"] == "accepted"


def test_omitted_topics_of_an_all_topics_proposal_mean_all(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme, ask=dict(ASK, topics="all"), grant=GRANT)
    path = f"/v1/me/relationships/{rel.id}/terms"
    assert rel.terms["topics"] == "all"
    assert ana.put(path, GRANT).status == 200
    assert ana.ok("GET", path)["topics"] == "all"
    assert acme.send(rel.id, topic="anything").json()["decision"] == \
        "accepted"


# --- profile and delivery -----------------------------------------------


def test_patch_of_the_profile(world):
    api, ana, acme, rel = world
    n = len(ana.ledger())
    r = patch(ana, "/v1/me/profile", {"phone": "+49301234567", "name": None})
    assert r.status == 200, r
    assert r.json() == {"email": "ana@example.org", "phone": "+49301234567"}
    assert ana.ok("GET", "/v1/me/profile") == r.json()
    new = ana.ledger()[n:]
    # It names the fields the patch set or removed (names only).
    assert [e["type"] for e in new] == ["profile.changed"]
    assert sorted(new[0]["data"]["fields"]) == ["name", "phone"]
    assert "+49301234567" not in json.dumps(new)
    before = ana.snapshot()
    for body, status in [({"phone": 5}, 400), ({"Bad-Name": "x"}, 422),
                         ({"bio": "x" * 1001}, 422)]:
        assert_problem(patch(ana, "/v1/me/profile", body), status)
        assert ana.snapshot() == before


def test_patch_of_delivery_keeps_the_maildir(make_api, tmp_path):
    """The README's webhook example by PUT turned the Maildir off; by
    PATCH it adds the webhook and keeps the Maildir. It needs the
    password, as PUT does."""
    root = tmp_path / "maildir"
    root.mkdir()
    api = make_api("--maildir-root", str(root), "--allow-private-targets")
    ana = api.signup("ana")
    assert ana.put("/v1/me/delivery", {"password": PASSWORD,
                                       "maildir": True}).status == 200
    before = ana.ok("GET", "/v1/me/delivery")
    entries = ana.ledger()

    assert_problem(patch(ana, "/v1/me/delivery",
                         {"webhook": {"url": "https://127.0.0.1:9/h"}}),
                   400, "password")
    assert_problem(patch(ana, "/v1/me/delivery",
                         {"password": "wrong-password!",
                          "webhook": {"url": "https://127.0.0.1:9/h"}}),
                   403, "password")
    assert_problem(patch(ana, "/v1/me/delivery",
                         {"password": PASSWORD,
                          "webhook": {"url": "http://127.0.0.1:9/h"}}),
                   422, "webhook.url")
    assert_problem(patch(ana, "/v1/me/delivery",
                         {"password": PASSWORD,
                          "webhook": {"secret": "mine"}}), 400, "webhook")
    assert ana.ok("GET", "/v1/me/delivery") == before
    assert ana.ledger() == entries

    r = patch(ana, "/v1/me/delivery",
              {"password": PASSWORD,
               "webhook": {"url": "https://127.0.0.1:9/h"}})
    assert r.status == 200, r
    got = r.json()
    assert got["maildir"] is True
    assert got["webhook"]["url"] == "https://127.0.0.1:9/h"
    assert got["webhook"]["secret"].startswith("whsec_")
    # The same URL again keeps its secret (none shown); null turns it off
    # and leaves the Maildir on.
    r = patch(ana, "/v1/me/delivery", {"password": PASSWORD,
                                       "webhook": {"url":
                                                   "https://127.0.0.1:9/h"}})
    assert r.status == 200 and "secret" not in r.json()["webhook"], r
    r = patch(ana, "/v1/me/delivery", {"password": PASSWORD,
                                       "webhook": None})
    assert r.status == 200, r
    assert (r.json()["maildir"], r.json()["webhook"]) == (True, None)
    assert [e["data"] for e in ana.ledger()[len(entries):]] == [
        {"maildir": True, "webhook": True, "forward": False},
        {"maildir": True, "webhook": True, "forward": False},
        {"maildir": True, "webhook": False, "forward": False}]


# --- the person's own changes on the ledger ---------------------------------


def test_mute_unmute_and_settings_are_on_the_ledger_only(world):
    api, ana, acme, rel = world
    brand_view = acme.ok("GET", f"/v1/relationships/{rel.id}")
    brand_list = acme.ok("GET", "/v1/relationships")
    receipts = ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts")
    dpv = ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts?format=dpv")
    n = len(ana.ledger())

    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")  # no change
    assert patch(ana, "/v1/me/terms", TERMS).status == 200
    assert patch(ana, "/v1/me/terms", {"refusal": "silent"}).status == 200
    assert patch(ana, "/v1/me/terms", {"refusal": "silent"}).status == 200
    assert ana.put("/v1/me/terms", ana.ok("GET", "/v1/me/terms")).status \
        == 200  # the same terms again: nothing to record
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/unmute")
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/unmute")  # no change

    ledger = ana.ledger()
    new = ledger[n:]
    assert [e["type"] for e in new] == [
        "relationship.muted", "settings.changed", "settings.changed",
        "relationship.unmuted"], new
    assert all(e["actor"] == "person" for e in new)
    assert new[0]["relationship"] == rel.id == new[3]["relationship"]
    assert new[1]["relationship"] is None
    assert new[1]["data"]["changed"] == sorted(TERMS)
    assert new[2]["data"]["changed"] == ["refusal"]
    # The values are sealed with the person's data key: none in clear.
    text = json.dumps(new)
    for secret in ("Europe/Berlin", "22:00", "07:30", "silent"):
        assert secret not in text, secret
    assert set(new[1]["data"]) == {"changed", "sealed"}
    # The chain recomputes with the outside model.
    recompute(ledger)

    # No brand is told: its views and the person's receipts (the records
    # a brand receives) are what they were.
    assert acme.ok("GET", f"/v1/relationships/{rel.id}") == brand_view
    assert acme.ok("GET", "/v1/relationships") == brand_list
    assert ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts") == \
        receipts
    assert ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts"
                  "?format=dpv") == dpv
    # Muted while the brand sent: it saw "accepted", as it always does.
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    sent = acme.send(rel.id, topic="offers")
    assert sent.json()["decision"] == "accepted"
    assert acme.ok("GET", f"/v1/relationships/{rel.id}")["state"] == "active"

    # `cmr ledger verify` takes the new entries.
    api.stop()
    got = api.ctx.run("ledger", "verify")
    assert got.rc == 0, got
    db = api.ctx.sql()
    person = store_key(ana.id)
    prev = lm.ZERO
    for row in db.execute(lm.LEDGER_ROWS, (person,)).fetchall():
        entry = lm.row_entry(row)
        assert entry["prev"] == prev.hex()
        prev = lm.entry_hash(prev, entry)
    rows = db.execute(lm.LEDGER_ROWS, (person,)).fetchall()
    assert [lm.row_entry(r)["type"] for r in rows][-1] == \
        "relationship.muted"


def test_concurrent_patches_lose_no_change(world):
    """Patches of different keys at once: each is applied onto what the
    one before it wrote, or refused with a 409 (send it again) — never
    merged onto a stale copy, which would undo the other's change."""
    from test_http_races import _together
    api, ana, acme, rel = world
    changes = [{"time_zone": "Europe/Berlin"}, {"refusal": "silent"},
               {"later_retention_days": 7}, {"do_not_contact": ["sms"]},
               {"quiet_hours": {"from": "23:00", "to": "06:00"}},
               {"caps": {"push": {"max": 3, "per": "day"}}}]
    replies = _together([(lambda c=c: patch(ana, "/v1/me/terms", c))
                         for c in changes])
    assert {r.status for r in replies} <= {200, 409}, replies
    assert 200 in {r.status for r in replies}
    final = ana.ok("GET", "/v1/me/terms")
    applied = 0
    for c, r in zip(changes, replies):
        if r.status == 409:
            assert_problem(r, 409)
            continue
        applied += 1
        (key, value), = c.items()
        if key == "quiet_hours":
            assert (final[key]["from"], final[key]["to"]) == ("23:00",
                                                              "06:00")
        elif key == "caps":
            assert final[key]["push"]["max"] == 3
        else:
            assert final[key] == value, (key, final)
    # One settings.changed entry per applied patch.
    assert types(ana).count("settings.changed") == applied
