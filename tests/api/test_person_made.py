"""Relationships a person makes themselves, for a brand that is not on
cmr (POST /v1/me/relationships): the alias at once, the brand's mail
judged by the domains the person named (under --auth-id and under
--trust-envelope), bulk and direct topics, and a leak to the alias."""
import re
import time

import pytest

from conftest import assert_problem, assert_schema
from test_lmtp import Lmtp

AUTH_ID = "mx.relay.test"
SHOP = {"name": "Corner Shop", "domains": ["shop.example"]}


def mail(frm="hello@news.shop.example", subject="Hello", extra="",
         auth=None, topic=None):
    head = ""
    if auth:
        head += f"Authentication-Results: {AUTH_ID}; {auth}\r\n"
    head += (f"From: Shop <{frm}>\r\nSubject: {subject}\r\n"
             f"Message-ID: <{time.monotonic_ns()}@shop.example>\r\n")
    if topic:
        head += f"CMR-Topic: {topic}\r\n"
    head += extra
    return head.encode() + b"\r\nA body line.\r\n"


def lmtp_of(api):
    m = re.search(r"lmtp: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    c = Lmtp(int(m.group(1)))
    assert c.cmd("LHLO mx.relay.test")[0].startswith("250")
    return c


@pytest.fixture
def envelope(make_api):
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0")
    c = lmtp_of(api)
    yield api, c
    c.close()


@pytest.fixture
def authid(make_api):
    api = make_api("--auth-id", AUTH_ID, "--lmtp", "127.0.0.1:0")
    c = lmtp_of(api)
    yield api, c
    c.close()


def make(person, brand=SHOP, terms=None, status=201):
    body = {"brand": brand}
    if terms is not None:
        body["terms"] = terms
    return person.ok("POST", "/v1/me/relationships", body, status=status)


def test_a_person_makes_one_and_gets_the_alias_at_once(api):
    ana = api.signup("ana")
    rel = make(ana)
    assert_schema(rel, "Relationship")
    assert rel["made_by"] == "person" and rel["state"] == "active"
    assert rel["alias"].startswith("cornershop.")
    assert rel["brand"]["name"] == "Corner Shop"
    assert rel["brand"]["domains"] == ["shop.example"]
    assert rel["brand"]["id"] is None
    # The default for what the person made: email, every topic, inbox.
    assert rel["terms"]["channels"]["email"]["allowed"] is True
    assert rel["terms"]["topics"] == "all"
    assert rel["terms"]["folder"] == "inbox"
    listed = ana.all("/v1/me/relationships")
    assert [r["id"] for r in listed] == [rel["id"]]
    # A second one for the same shop is another alias.
    again = make(ana)
    assert again["alias"] != rel["alias"]
    entry = ana.ledger()[-1]
    assert entry["type"] == "relationship.accepted"
    assert entry["data"]["made_by"] == "person"
    # The brand she named is hers: sealed with her data key.
    assert list(entry["data"]["brand"]) == ["sealed"], entry
    assert "Shop" not in entry["data"]["brand"]["sealed"]
    # She reads it opened beside the data the chain hashed.
    assert entry["opened"] == {"brand": {"name": "Corner Shop", "domains": [
        "shop.example"]}}, entry


@pytest.mark.parametrize("body,field", [
    ({}, "brand"),
    ({"brand": "Shop"}, "brand"),
    ({"brand": {"domains": ["shop.example"]}}, "brand.name"),
    ({"brand": {"name": "", "domains": ["shop.example"]}}, "brand.name"),
    ({"brand": {"name": "x" * 101, "domains": ["a.example"]}}, "brand.name"),
    ({"brand": {"name": "A\nB", "domains": ["a.example"]}}, "brand.name"),
    ({"brand": {"name": "Shop"}}, "brand.domains"),
    ({"brand": {"name": "Shop", "domains": []}}, "brand.domains"),
    ({"brand": {"name": "Shop", "domains": "shop.example"}}, "brand.domains"),
    ({"brand": {"name": "Shop", "domains": [f"d{i}.example"
                                            for i in range(11)]}},
     "brand.domains"),
    ({"brand": {"name": "Shop", "domains": ["com"]}}, "brand.domains[0]"),
    ({"brand": {"name": "Shop", "domains": ["co.uk"]}}, "brand.domains[0]"),
    ({"brand": {"name": "Shop", "domains": ["shop .example"]}},
     "brand.domains[0]"),
    ({"brand": {"name": "Shop", "domains": [7]}}, "brand.domains[0]"),
    ({"brand": {"name": "Shop", "domains": ["shop.example"], "x": 1}},
     "brand.x"),
    ({"brand": SHOP, "extra": 1}, "extra"),
    # Terms as in accept: only email, never fields (no brand reads them).
    ({"brand": SHOP, "terms": {"channels": {"sms": {"allowed": True}}}},
     None),
    ({"brand": SHOP, "terms": {"fields": ["name"]}}, None),
    ({"brand": SHOP, "terms": {"folder": 7}}, "folder"),
])
def test_bad_bodies_are_refused_and_nothing_is_made(api, body, field):
    ana = api.signup("ana")
    before = ana.snapshot()
    r = ana.post("/v1/me/relationships", body)
    assert r.status in (400, 422), r
    assert_problem(r, r.status, field)
    assert ana.snapshot() == before


def test_malformed_json_is_a_400(api):
    ana = api.signup("ana")
    r = ana.post("/v1/me/relationships", b"{\"brand\":")
    assert_problem(r, 400)
    assert ana.all("/v1/me/relationships") == []


def test_domains_are_kept_lower_case_and_once(api):
    ana = api.signup("ana")
    rel = make(ana, {"name": "Shop", "domains": ["Shop.Example.",
                                                 "shop.example",
                                                 "mail.shop.example"]})
    assert rel["brand"]["domains"] == ["shop.example", "mail.shop.example"]


def test_only_the_person_sees_it_and_a_brand_cannot_make_one(api):
    ana, ben = api.signup("ana"), api.signup("ben")
    rel = make(ana)
    assert ben.get(f"/v1/me/relationships/{rel['id']}").status == 404
    assert ben.all("/v1/me/relationships") == []
    acme = api.add_brand("Acme")
    assert acme.get(f"/v1/relationships/{rel['id']}").status == 404
    assert acme.post("/v1/me/relationships",
                     {"brand": SHOP}).status in (401, 403)
    assert acme.ok("GET", "/v1/relationships")["items"] == []


def test_the_shops_mail_is_delivered_and_judged_by_its_domains(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    rel = make(ana)
    # From a subdomain of what the person named, envelope aligned.
    r = lmtp.deliver("bounce@mail.shop.example", [rel["alias"]],
                     mail(subject="Your order"))
    assert r[0].startswith("250"), r
    got = ana.messages("folder=inbox")
    assert [m["subject"] for m in got] == ["Your order"]
    assert got[0]["topic"] == "direct"
    assert got[0]["brand"] == {"id": None, "name": "Corner Shop"}
    assert got[0]["sender_verified"] is False


def test_mail_from_anyone_else_is_a_leak_refused_uniformly(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    rel = make(ana)
    for sender, frm in [("spam@broker.example", "spam@broker.example"),
                        # an envelope that does not go with the From
                        ("x@broker.example", "hello@shop.example")]:
        r = lmtp.deliver(sender, [rel["alias"]], mail(frm=frm))
        assert r[0] == (f"550 5.1.1 <{rel['alias']}>: recipient not "
                        "accepted"), r
    assert ana.messages("folder=inbox") == []
    refused = ana.messages("decision=refuse")
    assert len(refused) == 2
    assert {m["reason"] for m in refused} == {"sender_not_brand"}
    assert any("broker.example" in (m.get("sender") or "")
               for m in refused), refused


def test_bulk_and_direct_and_a_person_who_wants_direct_only(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    rel = make(ana, terms={"channels": {"email": {"allowed": True}},
                           "topic_folders": {"bulk": "later"}})
    for extra in ["List-Unsubscribe: <https://shop.example/u>\r\n",
                  "List-Id: <news.shop.example>\r\n",
                  "Precedence: bulk\r\n", "Precedence: list\r\n", ""]:
        r = lmtp.deliver("b@shop.example", [rel["alias"]],
                         mail(extra=extra, subject=extra.strip() or "direct"))
        assert r[0].startswith("250"), r
    later = ana.messages("folder=later")
    inbox = ana.messages("folder=inbox")
    assert len(later) == 4, [(m["topic"], m["folder"], m["subject"]) for m in ana.messages()]
    assert {m["topic"] for m in later} == {"bulk"}
    assert [m["topic"] for m in inbox] == ["direct"]
    # A CMR-Topic from the shop itself still wins.
    r = lmtp.deliver("b@shop.example", [rel["alias"]],
                     mail(topic="orders", subject="named"))
    assert r[0].startswith("250"), r
    named = [m for m in ana.messages() if m["subject"] == "named"]
    assert named[0]["topic"] == "orders"
    # Direct only: bulk is refused from now on.
    ana.ok("PATCH", f"/v1/me/relationships/{rel['id']}/terms",
           {"topics": ["direct"], "topic_folders": None})
    r = lmtp.deliver("b@shop.example", [rel["alias"]],
                     mail(extra="List-Id: <x.shop.example>\r\n",
                          subject="more news"))
    refused = [m for m in ana.messages("decision=refuse")
               if m["subject"] == "more news"]
    assert len(refused) == 1 and refused[0]["reason"] == "topic_not_wanted"
    r = lmtp.deliver("b@shop.example", [rel["alias"]],
                     mail(subject="a real answer"))
    assert r[0].startswith("250"), r
    assert any(m["subject"] == "a real answer"
               for m in ana.messages("folder=inbox"))


def test_under_auth_id_only_a_pass_for_a_named_domain_counts(authid):
    api, lmtp = authid
    ana = api.signup("ana")
    rel = make(ana)
    ok = [
        "dmarc=pass header.from=shop.example",
        "dkim=pass header.d=news.shop.example",
    ]
    for auth in ok:
        r = lmtp.deliver("any@esp.example", [rel["alias"]], mail(auth=auth))
        assert r[0].startswith("250"), (auth, r)
    bad = [
        None,
        "dmarc=fail header.from=shop.example",
        "dkim=pass header.d=esp.example",
        "dkim=pass header.d=shop.example.evil.example",
    ]
    for auth in bad:
        r = lmtp.deliver("any@esp.example", [rel["alias"]], mail(auth=auth))
        assert r[0].startswith("550 5.1.1"), (auth, r)
    got = ana.messages("folder=inbox")
    assert len(got) == 2 and all(m["sender_verified"] for m in got)
    assert len(ana.messages("decision=refuse")) == len(bad)


def test_ending_it_closes_the_alias(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    rel = make(ana)
    ana.ok("POST", f"/v1/me/relationships/{rel['id']}/end")
    r = lmtp.deliver("b@shop.example", [rel["alias"]], mail())
    assert r[0].startswith("550"), r
    assert ana.messages("folder=inbox") == []


def test_receipts_name_the_brand_the_person_gave(api):
    ana = api.signup("ana")
    rel = make(ana)
    got = ana.ok("GET", f"/v1/me/relationships/{rel['id']}/receipts")
    assert len(got["items"]) == 1
    record = got["items"][0]["record"]
    assert "Corner Shop" in str(record)


def test_a_brand_on_cmr_may_still_propose(api):
    ana = api.signup("ana")
    make(ana, {"name": "Acme", "domains": ["acme.example"]})
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme)
    assert rel.alias.startswith("acme.")
    assert len(ana.all("/v1/me/relationships")) == 2
