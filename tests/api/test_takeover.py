"""A brand that joins cmr takes over a relationship the person made for it
while it was not on cmr: the person accepts the brand's proposal with
"takes_over": "rel_…", and the alias, id, history and ledger stay, the
brand holds it like any relationship of its own, and row 2 judges its
mail by the brand's domains. Every refusal records nothing."""
import time

import pytest

from conftest import ASK, GRANT, assert_problem, assert_schema
from test_held import quiet_now
from test_person_made import envelope  # noqa: F401 (a fixture)

ACME = {"name": "Acme", "domains": ["acme.example"]}


def mail(frm="news@acme.example", subject="Hello", topic=None, extra=""):
    head = (f"From: Acme <{frm}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.monotonic_ns()}@acme.example>\r\n")
    if topic:
        head += f"CMR-Topic: {topic}\r\n"
    return (head + extra).encode() + b"\r\nA body line.\r\n"


def made(person, brand=ACME, terms=None):
    body = {"brand": brand}
    if terms is not None:
        body["terms"] = terms
    return person.ok("POST", "/v1/me/relationships", body, status=201)


def accept(person, prp, takes_over, grant=GRANT, status=201):
    body = dict(grant, takes_over=takes_over)
    return person.ok("POST", f"/v1/me/proposals/{prp}/accept", body,
                     status=status)


def test_the_whole_path(envelope):
    api, lmtp = envelope
    ana = api.signup("ana", profile={"name": "Ana Lima"})
    rel = made(ana)
    # The shop, not yet on cmr, mails the alias the person gave it.
    r = lmtp.deliver("bounce@acme.example", [rel["alias"]],
                     mail(subject="Welcome",
                          extra="List-Id: <news.acme.example>\r\n"))
    assert r[0].startswith("250"), r
    before = ana.messages()
    assert [(m["subject"], m["topic"]) for m in before] == [
        ("Welcome", "bulk")]

    # It joins cmr; a proposal is never refused for a person-made one.
    acme = api.add_brand("Acme", "acme.example")
    assert acme.get(f"/v1/relationships/{rel['id']}").status == 404
    prp = api.propose(ana, acme)
    got = accept(ana, prp, rel["id"],
                 dict(GRANT, topics=["orders", "offers"]))
    assert_schema(got, "Accepted")
    assert got["id"] == rel["id"] and got["alias"] == rel["alias"]
    assert got["made_by"] == "person" and got["state"] == "active"
    assert got["terms"]["fields"] == ["name", "email"]

    # One relationship still, the brand's now, made by the person.
    mine = ana.all("/v1/me/relationships")
    assert [m["id"] for m in mine] == [rel["id"]]
    assert mine[0]["brand"]["id"] == acme.id
    assert mine[0]["made_by"] == "person"
    assert mine[0]["value"] == ASK["value"]
    # The brand follows its proposal to it and holds it like its own.
    p = acme.ok("GET", f"/v1/proposals/{prp}")
    assert p["state"] == "accepted" and p["relationship"] == rel["id"]
    assert [x["id"] for x in acme.ok("GET", "/v1/relationships")["items"]] \
        == [rel["id"]]
    view = acme.ok("GET", f"/v1/relationships/{rel['id']}")
    assert view["alias"] == rel["alias"]
    assert view["fields"] == {"name": "Ana Lima", "email": rel["alias"]}
    # It sends by API ...
    sent = acme.send(rel["id"], topic="orders", subject="By API")
    assert sent.status == 201 and sent.json()["decision"] == "accepted"
    # ... and by LMTP from its own domains, with its own topics.
    r = lmtp.deliver("news@acme.example", [rel["alias"]],
                     mail(subject="By mail", topic="offers"))
    assert r[0].startswith("250"), r
    # Without a CMR-Topic it is a brand on cmr now: no bulk/direct.
    r = lmtp.deliver("news@acme.example", [rel["alias"]],
                     mail(subject="No topic",
                          extra="List-Id: <news.acme.example>\r\n"))
    assert r[0].startswith("550 5.7.1"), r
    # A stranger is still a leak.
    r = lmtp.deliver("spam@broker.example", [rel["alias"]],
                     mail(frm="spam@broker.example", topic="offers"))
    assert r[0].startswith("550 5.1.1"), r

    inbox = ana.messages("folder=inbox")
    assert [m["subject"] for m in inbox] == ["By mail", "By API", "Welcome"]
    assert all(m["relationship"] == rel["id"] for m in inbox)
    # The old message is still there, as it was (its brand the name the
    # person gave), the new ones are the brand's.
    assert inbox[-1]["id"] == before[0]["id"]
    assert inbox[-1]["brand"] == {"id": None, "name": "Acme"}
    assert inbox[0]["brand"]["id"] == acme.id
    refused = {m["subject"]: m["reason"]
               for m in ana.messages("decision=refuse")}
    assert refused == {"No topic": "topic_missing",
                       "Hello": "sender_not_brand"}

    # The ledger: made by the person, then accepted, taking it over.
    acc = [e for e in ana.ledger() if e["type"] == "relationship.accepted"]
    assert [e["relationship"] for e in acc] == [rel["id"]] * 2
    assert acc[0]["data"]["made_by"] == "person"
    assert acc[1]["data"]["takes_over"] == rel["id"]
    assert acc[1]["data"]["brand"] == acme.id
    assert acc[1]["data"]["proposal"] == prp
    assert acc[1]["data"]["fields"] == ["name", "email"]
    assert acc[1]["data"]["topics"] == ["orders", "offers"]
    # Receipts: one per consent event, each saying how it came about.
    rec = ana.ok("GET", f"/v1/me/relationships/{rel['id']}/receipts")
    methods = [i["record"]["collectionMethod"] for i in rec["items"]]
    assert len(methods) == 2
    assert "themselves" in methods[0]
    assert "took over" in methods[1]
    assert rec["items"][1]["record"]["piiControllers"][0][
        "piiController"] == "Acme"
    # A brand holding it may not propose again.
    r = acme.post("/v1/proposals",
                  dict(ASK, connect_code=api.code(ana)))
    assert_problem(r, 409, "connect_code")
    # Terms stay the person's to change, within what the brand asked.
    ana.ok("PATCH", f"/v1/me/relationships/{rel['id']}/terms",
           {"topics": ["orders"]})
    r = lmtp.deliver("news@acme.example", [rel["alias"]],
                     mail(subject="An offer", topic="offers"))
    assert r[0].startswith("550 5.7.1"), r
    bad = ana.put(f"/v1/me/relationships/{rel['id']}/terms",
                  {"channels": {"sms": {"allowed": True}}})
    assert_problem(bad, 422)


def test_domains_match_by_organizational_domain(api):
    ana = api.signup("ana")
    rel = made(ana, {"name": "Acme", "domains": ["news.acme.example",
                                                 "acme.example"]})
    acme = api.add_brand("Acme", "mail.acme.example")
    prp = api.propose(ana, acme)
    got = accept(ana, prp, rel["id"])
    assert got["id"] == rel["id"]


def test_a_muted_one_stays_muted(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    rel = made(ana)
    ana.ok("POST", f"/v1/me/relationships/{rel['id']}/mute")
    acme = api.add_brand("Acme", "acme.example")
    prp = api.propose(ana, acme)
    got = accept(ana, prp, rel["id"])
    assert got["state"] == "muted"
    # Muted: the brand's mail lands in Later, as for any brand.
    r = lmtp.deliver("news@acme.example", [rel["alias"]],
                     mail(subject="Muted", topic="orders"))
    assert r[0].startswith("250"), r
    assert [m["subject"] for m in ana.messages("folder=later")] == ["Muted"]


def test_held_mail_is_decided_again_on_the_new_terms(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    quiet, _ = quiet_now()
    rel = made(ana, terms={"channels": {"email": {"allowed": True}},
                           "quiet_hours": quiet})
    r = lmtp.deliver("news@acme.example", [rel["alias"]],
                     mail(subject="Held", topic="orders"))
    assert r[0].startswith("250"), r
    assert [m["decision"] for m in ana.messages()] == ["hold"]
    acme = api.add_brand("Acme", "acme.example")
    prp = api.propose(ana, acme)
    accept(ana, prp, rel["id"])  # no quiet hours of its own now
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        got = ana.messages()
        if got[0]["decision"] != "hold":
            break
        time.sleep(0.05)
    assert [(m["decision"], m["folder"]) for m in got] == [
        ("deliver", "inbox")], got


def refusal_world(api):
    """ana with a person-made relationship for Acme, and what each refusal
    needs: Acme's pending proposal, ben's relationship, a brand's one."""
    ana, ben = api.signup("ana"), api.signup("ben")
    acme = api.add_brand("Acme", "acme.example")
    w = {"ana": ana, "acme": acme}
    w["mine"] = made(ana)["id"]
    w["bens"] = made(ben)["id"]
    w["shop"] = made(ana, {"name": "Corner Shop",
                           "domains": ["shop.example"]})["id"]
    w["ended"] = made(ana)["id"]
    ana.ok("POST", f"/v1/me/relationships/{w['ended']}/end")
    other = api.add_brand("Other", "other.example")
    w["brands"] = api.connect(ana, other).id
    # One taken over already, by a brand of the same organization.
    news = api.add_brand("Acme News", "news.acme.example")
    w["taken"] = made(ana)["id"]
    accept(ana, api.propose(ana, news), w["taken"])
    w["prp"] = api.propose(ana, acme)
    return w


@pytest.mark.parametrize("which,status,field", [
    ("bens", 404, None),               # another person's
    ("unknown", 404, None),            # no such relationship
    ("brands", 422, "takes_over"),     # made from a brand's proposal
    ("ended", 409, "takes_over"),
    ("taken", 409, "takes_over"),      # taken over already
    ("shop", 422, "takes_over"),       # the domains are not Acme's
    ("malformed", 400, "takes_over"),
    ("number", 400, "takes_over"),
    ("null", 400, "takes_over"),
])
def test_every_refusal_records_nothing(api, which, status, field):
    w = refusal_world(api)
    ana, acme = w["ana"], w["acme"]
    takes_over = {"unknown": rel_id(12345), "malformed": "rel_nope",
                  "number": 7, "null": None}.get(which, w.get(which))
    before = ana.snapshot()
    r = ana.post(f"/v1/me/proposals/{w['prp']}/accept",
                 dict(GRANT, takes_over=takes_over))
    body = assert_problem(r, status, field)
    if which == "shop":
        assert "shop.example" in body["detail"], body
        assert "Corner Shop" in body["detail"], body
        assert "acme.example" in body["detail"], body
    assert ana.snapshot() == before
    p = acme.ok("GET", f"/v1/proposals/{w['prp']}")
    assert p["state"] == "pending" and p["relationship"] is None
    assert acme.ok("GET", "/v1/relationships")["items"] == []
    # The same proposal may still be accepted, taking over the right one.
    got = accept(ana, w["prp"], w["mine"])
    assert got["id"] == w["mine"]


M64 = (1 << 64) - 1


def _mix(x):
    """core/id.c's mixing function (the SplitMix64 finaliser)."""
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def rel_id(key):
    """The rel_ id of a store key, as core/id.c encodes it: a well-formed
    id that names no relationship when no row has that key."""
    m = _mix(key)
    check = _mix(m ^ ((0x9e3779b97f4a7c15 * 4) & M64)) >> 48
    bits = (check << 64) | m
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    return "rel_" + "".join(alphabet[(bits >> (75 - 5 * i)) & 31]
                            for i in range(16))


def test_the_brand_of_another_person_cannot_be_handed_it(api):
    """A brand never gets a relationship that is not its person's: ben's
    alias for Acme stays ben's when ana names it."""
    w = refusal_world(api)
    ana, acme = w["ana"], w["acme"]
    r = ana.post(f"/v1/me/proposals/{w['prp']}/accept",
                 dict(GRANT, takes_over=w["bens"]))
    assert_problem(r, 404)
    assert acme.get(f"/v1/relationships/{w['bens']}").status == 404


def test_without_takes_over_it_is_a_new_alias(api):
    ana = api.signup("ana")
    rel = made(ana)
    acme = api.add_brand("Acme", "acme.example")
    prp = api.propose(ana, acme)
    got = ana.ok("POST", f"/v1/me/proposals/{prp}/accept", GRANT,
                 status=201)
    assert got["id"] != rel["id"] and got["alias"] != rel["alias"]
    assert got["made_by"] == "brand"
    mine = {m["id"]: m for m in ana.all("/v1/me/relationships")}
    assert mine[rel["id"]]["brand"]["id"] is None
    assert mine[got["id"]]["brand"]["id"] == acme.id


def test_terms_beyond_the_ask_are_refused_and_nothing_is_taken(api):
    ana = api.signup("ana")
    rel = made(ana)
    acme = api.add_brand("Acme", "acme.example")
    prp = api.propose(ana, acme)
    before = ana.snapshot()
    r = ana.post(f"/v1/me/proposals/{prp}/accept",
                 {"channels": {"sms": {"allowed": True}},
                  "takes_over": rel["id"]})
    assert_problem(r, 422)
    r = ana.post(f"/v1/me/proposals/{prp}/accept",
                 {"takes_over": rel["id"], "colour": "blue"})
    assert_problem(r, 400, "colour")
    assert ana.snapshot() == before
