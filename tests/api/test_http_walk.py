"""The README's "HTTP API, step by step", over HTTP, with the shapes and
status codes written there: a person signs up and gets a token, fills a
profile, hands a brand a connect code; the brand proposes, the person
accepts on their own terms, the brand reads the granted fields and sends
through the gate, and the person reads every decision."""
import datetime
import json
import re
import time

from conftest import ASK, GRANT, PASSWORD, Person, assert_problem, http

ID = "[0-9a-z]{16,}"
PROFILE = {"name": "Ana Lima", "email": "ana@example.org",
           "phone": "+4915112345678"}
# Keys of an item of GET /v1/me/messages (step 8).
MESSAGE_KEYS = {"id", "relationship", "brand", "channel", "topic", "subject",
                "decision", "reason", "folder", "deliver_at", "received_at",
                "read", "sender_verified"}
# What the brand may see of its relationship (step 5) and its terms.
BRAND_VIEW_KEYS = {"id", "alias", "state", "terms", "fields"}
BRAND_TERMS_KEYS = {"channels", "topics", "exempt_topics", "expires_at",
                    "agreement"}
# Words of the person's private settings, none of which a brand reads.
PRIVATE = ("quiet_hours", "folder", "topic_folders", "over_cap", "muted",
           "deliver_at", "time_zone", "do_not_contact", "hold",
           "ana@example.org", "+4915112345678")


def rfc3339(s):
    """An RFC 3339 UTC time as the API writes it, in epoch seconds."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", s), s
    s = re.sub(r"\.\d+Z$", "Z", s)
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def quiet_elsewhere():
    """Relationship quiet hours that do not cover the next hour (UTC)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now + datetime.timedelta(hours=3)
    end = now + datetime.timedelta(hours=4)
    return {"from": start.strftime("%H:%M"), "to": end.strftime("%H:%M")}


def test_the_way_in(api):
    # 1. Sign up and a token.
    r = api.call("POST", "/v1/persons", {"handle": "ana",
                                         "password": PASSWORD})
    assert r.status == 201, r
    signup = r.json()
    assert set(signup) == {"id"}
    assert re.fullmatch("per_" + ID, signup["id"])

    before = time.time()
    r = api.tokens("ana", PASSWORD)
    assert r.status == 201, r
    tok = r.json()
    assert set(tok) == {"id", "token", "expires_at"}
    assert re.fullmatch("tok_" + ID, tok["id"])
    assert isinstance(tok["token"], str) and len(tok["token"]) >= 32
    days = (rfc3339(tok["expires_at"]) - before) / 86400
    assert 89.9 < days < 90.1, tok  # 90 days

    ana = Person(api, "ana", PASSWORD, signup["id"], token=tok)

    # 2. The profile: a flat object of field -> string; GET gives it back.
    r = ana.put("/v1/me/profile", PROFILE)
    assert r.status in (200, 204), r
    assert ana.ok("GET", "/v1/me/profile") == PROFILE

    before = time.time()
    code = ana.ok("POST", "/v1/me/connect-codes", status=201)
    assert set(code) == {"code", "expires_at", "qr_svg"}
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
                        code["code"]), code
    minutes = (rfc3339(code["expires_at"]) - before) / 60
    assert 14 < minutes <= 15.1, code  # 15 minutes by default

    # 3. The brand proposes with the code, asking for more than it will
    # get (the phone, sms); the proposal is pending.
    acme = api.add_brand("Acme")
    ask = {"connect_code": code["code"], "value": "10% off every order",
           "fields": ["name", "email", "phone"],
           "channels": ["email", "sms"], "topics": ["orders", "offers"]}
    prp = acme.ok("POST", "/v1/proposals", ask, status=201)
    assert set(prp) == {"id", "state"}
    assert re.fullmatch("prp_" + ID, prp["id"])
    assert prp["state"] == "pending"
    seen = acme.ok("GET", f"/v1/proposals/{prp['id']}")
    assert seen["state"] == "pending"
    assert seen.get("relationship") is None

    # The person sees it, with the brand's name and what it asks.
    mine = ana.all("/v1/me/proposals")
    assert [p["id"] for p in mine] == [prp["id"]]
    assert mine[0]["value"] == "10% off every order"
    assert mine[0]["brand"]["id"] == acme.id

    # 4. Accept on the person's terms; no "topics": the topics asked.
    grant = {"channels": {"email": {"allowed": True}},
             "fields": ["name", "email"], "quiet_hours": quiet_elsewhere(),
             "folder": "shops"}
    acc = ana.ok("POST", f"/v1/me/proposals/{prp['id']}/accept", grant,
                 status=201)
    assert {"id", "alias", "state", "terms"} <= set(acc)
    assert re.fullmatch("rel_" + ID, acc["id"])
    assert re.fullmatch(r"acme\.[0-9a-z]{16,}@relay\.localhost",
                        acc["alias"]), acc
    assert acc["state"] == "active"
    terms = acc["terms"]
    assert terms["topics"] == ["orders", "offers"]
    assert terms["channels"]["email"]["allowed"] is True
    assert not terms["channels"].get("sms", {}).get("allowed", False)
    assert terms["fields"] == ["name", "email"]
    assert terms["folder"] == "shops"
    assert terms["agreement"] == "SD-BASE"
    assert terms["expires_at"] is None
    rel = acc["id"]

    seen = acme.ok("GET", f"/v1/proposals/{prp['id']}")
    assert seen["state"] == "accepted"
    assert seen["relationship"] == rel

    # 5. The brand reads the relationship: only granted fields, the email
    # as the alias, nothing of the person's private settings.
    view = acme.ok("GET", f"/v1/relationships/{rel}")
    assert set(view) == BRAND_VIEW_KEYS, view
    assert view["id"] == rel and view["alias"] == acc["alias"]
    assert view["state"] == "active"
    assert set(view["terms"]) == BRAND_TERMS_KEYS, view
    assert view["terms"]["topics"] == ["orders", "offers"]
    assert view["terms"]["agreement"] == "SD-BASE"
    assert list(view["terms"]["channels"]) == ["email"], view
    assert view["fields"] == {"name": "Ana Lima", "email": acc["alias"]}
    text = api.call("GET", f"/v1/relationships/{rel}",
                    headers={"Authorization": "Bearer " + acme.credential}
                    ).body.decode()
    for word in PRIVATE:
        assert word not in text, (word, text)

    # A muted relationship shows as active to the brand.
    ana.ok("POST", f"/v1/me/relationships/{rel}/mute")
    assert ana.ok("GET", f"/v1/me/relationships/{rel}")["state"] == "muted"
    assert acme.ok("GET", f"/v1/relationships/{rel}")["state"] == "active"
    listed = acme.ok("GET", "/v1/relationships")["items"]
    assert [(x["id"], x["state"]) for x in listed] == [(rel, "active")]
    ana.ok("POST", f"/v1/me/relationships/{rel}/unmute")

    # 6. Messages: one accepted, one refused with a brand-visible reason.
    r = acme.send(rel, "email", "offers", subject="Autumn sale")
    assert r.status == 201, r
    sent = r.json()
    assert set(sent) == {"id", "decision", "reason"}
    assert re.fullmatch("msg_" + ID, sent["id"])
    assert sent["decision"] == "accepted" and sent["reason"] is None
    r = acme.send(rel, "sms", "offers", subject="Text")
    assert r.status == 201, r
    refused = r.json()
    assert set(refused) == {"id", "decision", "reason"}
    assert refused["decision"] == "refused"
    assert refused["reason"] == "channel_not_permitted"

    # 8. The person reads the inbox and the refused attempts in full.
    inbox = ana.messages("folder=shops")
    assert [m["id"] for m in inbox] == [sent["id"]]
    m = inbox[0]
    assert MESSAGE_KEYS <= set(m), m
    assert m["relationship"] == rel and m["brand"]["id"] == acme.id
    assert (m["channel"], m["topic"], m["subject"]) == (
        "email", "offers", "Autumn sale")
    assert m["decision"] == "deliver" and m["folder"] == "shops"
    assert m["deliver_at"] is None and m["read"] is False
    rfc3339(m["received_at"])

    refusals = ana.messages("decision=refuse")
    assert [x["id"] for x in refusals] == [refused["id"]]
    x = refusals[0]
    assert MESSAGE_KEYS <= set(x), x
    assert x["decision"] == "refuse"
    assert x["reason"] == "channel_not_permitted"
    assert x["channel"] == "sms" and x["folder"] is None


def test_inbox_folder_lists_delivered_messages(api):
    """Step 8 as written: ?folder=inbox (the default folder)."""
    ana = api.signup("ana", profile=PROFILE)
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    sent = acme.send(rel.id).json()
    refused = acme.send(rel.id, "sms").json()
    inbox = ana.messages("folder=inbox")
    assert [m["id"] for m in inbox] == [sent["id"]]
    assert inbox[0]["decision"] == "deliver"
    assert inbox[0]["folder"] == "inbox"
    assert refused["id"] not in [m["id"] for m in inbox]
    assert [m["id"] for m in ana.messages("decision=deliver")] == [
        sent["id"]]
    both = ana.messages(f"relationship={rel.id}")
    assert sorted(m["id"] for m in both) == sorted([refused["id"],
                                                   sent["id"]])


def test_topics_all_asks_for_every_topic(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme, ask=dict(ASK, topics="all"))
    assert rel.terms["topics"] == "all"
    r = acme.send(rel.id, topic="anything-at-all").json()
    assert r["decision"] == "accepted", r


def test_decline(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    prp = api.propose(ana, acme)
    r = ana.ok("POST", f"/v1/me/proposals/{prp}/decline")
    assert r["state"] == "declined"
    assert acme.ok("GET", f"/v1/proposals/{prp}")["state"] == "declined"
    r = ana.post(f"/v1/me/proposals/{prp}/accept", GRANT)
    assert r.status == 409, r


def test_a_code_is_single_use(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    code = api.code(ana)
    body = dict(ASK, connect_code=code)
    assert acme.post("/v1/proposals", body).status == 201
    r = acme.post("/v1/proposals", body)
    assert r.status == 404, r


def test_campaign(api):
    """Step 7: a campaign to a list, then to "all"; the reasons are the
    brand-visible ones, and each recipient gets one attempt."""
    ana = api.signup("ana")
    bob = api.signup("bob")
    acme = api.add_brand("Acme")
    r_ana = api.connect(ana, acme)
    r_bob = api.connect(bob, acme, grant=dict(GRANT, topics=["orders"]))
    msg = {"channel": "email", "topic": "offers", "subject": "Hi",
           "body": "x"}
    r = acme.post("/v1/campaigns", dict(msg, relationships=[r_ana.id,
                                                           r_bob.id]))
    assert r.status == 201, r
    c = r.json()
    assert {"id", "total", "accepted", "refused", "reasons"} <= set(c), c
    assert re.fullmatch("cmp_" + ID, c["id"])
    assert (c["total"], c["accepted"], c["refused"]) == (2, 1, 1), c
    assert c["reasons"] == {"topic_not_wanted": 1}, c

    r = acme.post("/v1/campaigns", dict(msg, relationships="all"))
    assert r.status == 201, r
    c = r.json()
    assert (c["total"], c["accepted"], c["refused"]) == (2, 1, 1), c

    assert [m["decision"] for m in ana.messages()] == ["deliver"] * 2
    assert [(m["decision"], m["reason"]) for m in bob.messages()] == [
        ("refuse", "topic_not_wanted")] * 2


def test_sign_up_is_closed_without_open_registration(start_server, ctx):
    s = start_server()
    r = http("POST", s.url + "/v1/persons",
             json.dumps({"handle": "ana", "password": PASSWORD}).encode(),
             {"Content-Type": "application/json"})
    assert_problem(r, 403)
    assert ctx.persons() == {}


def test_a_taken_handle_is_a_conflict(api):
    api.signup("ana")
    r = api.call("POST", "/v1/persons", {"handle": "ana",
                                         "password": "another-password"})
    assert_problem(r, 409, "handle")


def test_idempotency_key(api):
    """The same key and request: the same answer and one attempt; the same
    key for another request: 422; another brand's key space is its own."""
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    bolt = api.add_brand("Bolt")
    rel = api.connect(ana, acme)
    rel_bolt = api.connect(ana, bolt)
    msg = {"relationship": rel.id, "channel": "email", "topic": "offers",
           "subject": "Once"}
    key = {"Idempotency-Key": "order-1042-shipped"}
    first = acme.post("/v1/messages", msg, headers=key)
    assert first.status == 201, first
    again = acme.post("/v1/messages", msg, headers=key)
    assert again.status == 201, again
    assert again.json() == first.json()
    assert len(ana.messages()) == 1
    assert_problem(acme.post("/v1/messages", dict(msg, subject="Twice"),
                             headers=key), 422, "Idempotency-Key")
    other = bolt.post("/v1/messages", dict(msg, relationship=rel_bolt.id),
                      headers=key)
    assert other.status == 201, other
    assert other.json()["id"] != first.json()["id"]
    assert len(ana.messages()) == 2


def test_lists_are_cursor_paged(api):
    ana = api.signup("ana")
    brands = [api.add_brand(n) for n in ("Acme", "Bolt", "Cedar")]
    rels = [api.connect(ana, b) for b in brands]
    sent = [b.send(r.id, subject=f"m{i}").json()["id"]
            for i, (b, r) in enumerate(zip(brands, rels))]
    for path, want in (("/v1/me/messages", sent),
                       ("/v1/me/relationships", [r.id for r in rels]),
                       ("/v1/me/proposals", [r.proposal for r in rels])):
        pages, after = [], None
        while True:
            q = f"{path}?limit=1" + (f"&after={after}" if after else "")
            page = ana.ok("GET", q)
            assert len(page["items"]) <= 1, page
            pages += [x["id"] for x in page["items"]]
            after = page["next"]
            if after is None:
                break
        assert sorted(pages) == sorted(want), path
        assert pages == [x["id"] for x in ana.all(path)], path
    for bad in ("0", "-1", "201", "ten"):
        assert_problem(ana.get(f"/v1/me/messages?limit={bad}"), 400,
                       "limit")
