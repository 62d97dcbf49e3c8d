"""What a brand reads back of its messages and campaigns
(GET /v1/messages/{id}, GET /v1/campaigns/{id}[/recipients]): accepted or
refused, never when. A held message refused when it is decided again
reads accepted until the next 00:00 UTC, so that no brand learns when a
person's quiet hours end or which of their caps filled.

The server's clock is moved with CMR_NOW_OFFSET (src/app/app.c, for tests
only): each test runs on a day two days ahead, at the hours it needs,
restarting the server to move on, instead of waiting for midnight."""
import datetime
import time

from conftest import GRANT, ON_POSTGRESQL, assert_problem, assert_schema
from test_http_scheduler import wait_decided

QUIET = {"from": "11:00", "to": "13:00"}  # UTC: the persons' zone
TERMS = dict(GRANT, topics=["orders", "offers"])


def day_ahead():
    """00:00 UTC two days from now, as Unix seconds."""
    today = datetime.datetime.now(datetime.timezone.utc).replace(
        hour=0, minute=0, second=0, microsecond=0)
    return int((today + datetime.timedelta(days=2)).timestamp())


class Clock:
    """Starts (and restarts) the server with its clock at a chosen
    instant; it runs on from there."""

    def __init__(self, ctx, make_api):
        self.ctx, self.make_api, self.api = ctx, make_api, None
        self.day = day_ahead()

    def _offset(self, at):
        self.ctx.serve_env = {"CMR_NOW_OFFSET": str(int(at - time.time()))}

    def start(self, hours, seconds=0):
        self._offset(self.day + hours * 3600 + seconds)
        self.api = self.make_api()
        return self.api

    def move(self, hours, seconds=0):
        self.api.stop()
        self._offset(self.day + hours * 3600 + seconds)
        self.api.start()


def brand_reads(brand, msg_id):
    m = brand.ok("GET", f"/v1/messages/{msg_id}")
    assert_schema(m, "BrandMessage")
    return m


def pages(caller, path):
    """Every item of a cursor-paged list, following "next"."""
    items, after = [], None
    sep = "&" if "?" in path else "?"
    for _ in range(100):
        page = caller.ok("GET", path if after is None
                         else f"{path}{sep}after={after}")
        items += page["items"]
        if (after := page["next"]) is None:
            return items
    raise AssertionError("the list never ends")


def quiet_world(api, handle, brand, quiet=True):
    p = api.signup(handle)
    rel = api.connect(p, brand, grant=TERMS)
    if quiet:
        p.ok("PUT", "/v1/me/terms", {"quiet_hours": QUIET})
    return p, rel


def test_held_then_refused_reads_accepted_until_the_next_utc_day(
        ctx, make_api):
    clock = Clock(ctx, make_api)
    api = clock.start(12)
    acme = api.add_brand("Acme")
    ana, rel = quiet_world(api, "ana", acme)
    sent = acme.send(rel.id).json()
    assert sent["decision"] == "accepted", sent
    seen = ana.message(sent["id"])
    assert (seen["decision"], seen["reason"]) == ("hold", "quiet_hours")

    m = brand_reads(acme, sent["id"])
    assert m == {"id": sent["id"], "relationship": rel.id,
                 "state": "accepted", "created_at": m["created_at"]}, m

    # Ended while held: refused when it is decided again (at 13:00, when
    # the quiet hours end — or at once, where ending decides held ones).
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    clock.move(13, 30)
    seen = wait_decided(ana, sent["id"])
    assert (seen["decision"], seen["reason"]) == (
        "refuse", "relationship_ended"), seen
    # The same UTC day: still accepted, nothing else said.
    assert brand_reads(acme, sent["id"]) == m
    clock.move(23, 59 * 60)
    assert brand_reads(acme, sent["id"]) == m
    # From the next 00:00 UTC: refused with its reason, and no time.
    clock.move(24, 5)
    later = brand_reads(acme, sent["id"])
    assert later == dict(m, state="refused",
                         reason="relationship_ended"), later
    clock.move(24 * 5)
    assert brand_reads(acme, sent["id"]) == later


def test_refused_at_once_reads_refused_at_once(ctx, make_api):
    api = Clock(ctx, make_api).start(12)
    acme = api.add_brand("Acme")
    ana, rel = quiet_world(api, "ana", acme, quiet=False)
    sent = acme.send(rel.id, channel="sms").json()
    assert sent["decision"] == "refused", sent
    m = brand_reads(acme, sent["id"])
    assert (m["state"], m["reason"]) == ("refused", "channel_not_permitted")
    assert "campaign" not in m
    # The person's private reason stays private: do-not-contact reads as
    # the channel not permitted, as the POST said.
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": ["email"]})
    dnc = acme.send(rel.id).json()
    assert dnc["reason"] == "channel_not_permitted", dnc
    assert brand_reads(acme, dnc["id"])["reason"] == "channel_not_permitted"


def test_campaign_counts_and_recipients_follow_the_same_rule(
        ctx, make_api):
    clock = Clock(ctx, make_api)
    api = clock.start(12)
    acme = api.add_brand("Acme")
    ana, ana_rel = quiet_world(api, "ana", acme, quiet=False)  # delivered
    bob, bob_rel = quiet_world(api, "bob", acme, quiet=False)
    assert bob_rel.put_terms(dict(TERMS, topics=["orders"])).status == 200
    cyd, cyd_rel = quiet_world(api, "cyd", acme)  # held
    cmp = acme.ok("POST", "/v1/campaigns", {
        "relationships": [ana_rel.id, bob_rel.id, cyd_rel.id],
        "channel": "email", "topic": "offers", "subject": "Sale"},
        status=201)
    assert (cmp["total"], cmp["accepted"], cmp["refused"]) == (3, 2, 1)

    def counts():
        c = acme.ok("GET", f"/v1/campaigns/{cmp['id']}")
        assert_schema(c, "BrandCampaign")
        assert c["id"] == cmp["id"] and c["channel"] == "email"
        assert c["topic"] == "offers"
        assert c["total"] == c["accepted"] + c["refused"]
        assert sum(c["reasons"].values()) == c["refused"], c
        return c["accepted"], c["refused"], c["reasons"]

    def recipients(query=""):
        items = pages(acme, f"/v1/campaigns/{cmp['id']}/recipients{query}")
        for m in items:
            assert_schema(m, "BrandMessage")
            assert m["campaign"] == cmp["id"]
        return {m["relationship"]: (m["state"], m.get("reason"))
                for m in items}

    assert counts() == (2, 1, {"topic_not_wanted": 1})
    assert recipients() == {
        ana_rel.id: ("accepted", None),
        bob_rel.id: ("refused", "topic_not_wanted"),
        cyd_rel.id: ("accepted", None)}
    assert recipients("?state=refused") == {
        bob_rel.id: ("refused", "topic_not_wanted")}
    assert set(recipients("?state=accepted")) == {ana_rel.id, cyd_rel.id}
    # A page at a time, the cursor the last id of the page.
    page = acme.ok("GET", f"/v1/campaigns/{cmp['id']}/recipients?limit=2")
    assert len(page["items"]) == 2 and page["next"] == page["items"][1][
        "id"]
    rest = acme.ok("GET", f"/v1/campaigns/{cmp['id']}/recipients?limit=2"
                   f"&after={page['next']}")
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert {m["relationship"] for m in page["items"] + rest["items"]} == {
        ana_rel.id, bob_rel.id, cyd_rel.id}
    one = page["items"][0]
    assert brand_reads(acme, one["id"]) == one

    cyd.ok("POST", f"/v1/me/relationships/{cyd_rel.id}/end")
    clock.move(13, 30)
    held = [m for m in cyd.messages() if m["relationship"] == cyd_rel.id][0]
    assert wait_decided(cyd, held["id"])["reason"] == "relationship_ended"
    # Refused today: the counts and pages still say accepted.
    assert counts() == (2, 1, {"topic_not_wanted": 1})
    assert recipients("?state=refused") == {
        bob_rel.id: ("refused", "topic_not_wanted")}
    assert set(recipients("?state=accepted")) == {ana_rel.id, cyd_rel.id}
    clock.move(24, 5)
    assert counts() == (1, 2, {"topic_not_wanted": 1,
                               "relationship_ended": 1})
    assert recipients("?state=refused") == {
        bob_rel.id: ("refused", "topic_not_wanted"),
        cyd_rel.id: ("refused", "relationship_ended")}
    assert recipients("?state=accepted") == {ana_rel.id: ("accepted", None)}


def test_other_brands_ids_are_404_and_nothing_recorded(ctx, make_api):
    api = Clock(ctx, make_api).start(12)
    acme, bolt = api.add_brand("Acme"), api.add_brand("Bolt")
    ana, rel = quiet_world(api, "ana", acme, quiet=False)
    msg = acme.send(rel.id).json()["id"]
    cmp = acme.ok("POST", "/v1/campaigns", {
        "relationships": [rel.id], "channel": "email", "topic": "offers",
        "subject": "Sale"}, status=201)["id"]
    before = (ana.snapshot(), acme.ok("GET", f"/v1/campaigns/{cmp}"),
              bolt.ok("GET", "/v1/relationships"))
    for path in (f"/v1/messages/{msg}", f"/v1/campaigns/{cmp}",
                 f"/v1/campaigns/{cmp}/recipients?state=refused"):
        assert_problem(bolt.get(path), 404)
        assert_problem(ana.get(path), 403)  # a person's token
    assert_problem(acme.get(f"/v1/messages/{cmp}"), 400)  # another type
    assert_problem(acme.get(f"/v1/campaigns/{cmp}/recipients?state=held"),
                   400, "state")
    assert_problem(acme.get(f"/v1/campaigns/{cmp}/recipients?after={cmp}"),
                   400, "after")
    after = (ana.snapshot(), acme.ok("GET", f"/v1/campaigns/{cmp}"),
             bolt.ok("GET", "/v1/relationships"))
    assert after == before


def test_the_campaign_reads_use_their_indexes(ctx, make_api):
    """A campaign to a million relationships: its counts read only its
    refused rows, its pages stop after a page (no sort of the campaign)."""
    api = Clock(ctx, make_api).start(12)
    api.stop()
    plans = {}
    # The statements of src/store/sql_campaign.c, without INDEXED BY:
    # the planner picks these indexes by itself too.
    row = ("SELECT id, relationship, brand, campaign, decision, reason, "
           "refused_at, received_at FROM attempts ")
    queries = {
        "refusals": "SELECT reason, coalesce(refused_at, 0), count(*) FROM "
                    "attempts WHERE campaign = 1 AND campaign IS NOT NULL "
                    "AND decision = 2 GROUP BY reason, refused_at",
        "refused": row + "WHERE campaign = 1 AND campaign IS NOT NULL AND "
                   "decision = 2 AND id > 0 AND (refused_at IS NULL OR "
                   "refused_at < 5) ORDER BY id LIMIT 51",
        "accepted": row + "WHERE campaign = 1 AND campaign IS NOT NULL AND "
                    "id > 0 AND (decision <> 2 OR refused_at >= 5) ORDER "
                    "BY id LIMIT 51",
    }
    with ctx.sql() as db:
        if ON_POSTGRESQL:
            # The test's table is small: with sequential scans priced out
            # the plan shows which index serves each query, and a
            # sequential scan or a sort only if none can.
            db.execute("SET enable_seqscan = off")
            for name, q in queries.items():
                rows = [r[0] for r in db.execute("EXPLAIN " + q)]
                plans[name] = " | ".join(rows)
                assert "Seq Scan on attempts" not in plans[name], plans
                assert "Sort" not in plans[name], plans
            assert "attempts_campaign_refusals" in plans["refusals"], plans
            assert "attempts_campaign_refused" in plans["refused"], plans
            assert "attempts_campaign " in plans["accepted"], plans
            return
        for name, q in queries.items():
            rows = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + q)]
            # no step reads the whole table
            assert not [r for r in rows if r.startswith("SCAN attempts")
                        and "INDEX" not in r], (name, rows)
            plans[name] = " | ".join(rows)
    assert "COVERING INDEX attempts_campaign_refusals" in plans["refusals"]
    assert "INDEX attempts_campaign_refused" in plans["refused"]
    assert "INDEX attempts_campaign " in plans["accepted"] + " "
    assert "TEMP B-TREE" not in " ".join(plans.values()), plans


def test_a_refusal_made_without_redecide_still_gets_its_time(ctx, make_api):
    """005_brand_state.sql's backstop: any write that turns a held attempt
    refused records when (by the store's clock, so this server runs on
    the real one), so that it never reads as refused at once."""
    left = 86400 - time.time() % 86400
    if left < 120:
        time.sleep(left + 1)  # the day must not turn during the test
    api = make_api()
    acme = api.add_brand("Acme")
    ana, rel = quiet_world(api, "ana", acme, quiet=False)
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": {
        "from": time.strftime("%H:%M", time.gmtime(time.time() - 3600)),
        "to": time.strftime("%H:%M", time.gmtime(time.time() + 3600))}})
    sent = acme.send(rel.id).json()
    assert ana.message(sent["id"])["decision"] == "hold"
    refused = acme.send(rel.id, channel="sms").json()
    api.stop()
    with ctx.sql() as db:
        db.execute("UPDATE attempts SET decision = 2, reason = 3 "
                   "WHERE decision = 1")
        times = sorted((r[0] for r in db.execute(
            "SELECT refused_at FROM attempts WHERE decision = 2")),
            key=lambda t: t is None)
    assert len(times) == 2 and times[1] is None, times
    assert abs(times[0] - time.time()) < 600, times
    api.start()
    assert brand_reads(acme, sent["id"])["state"] == "accepted"
    assert brand_reads(acme, refused["id"])["state"] == "refused"
