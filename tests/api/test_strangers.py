"""A person's own address at the relay (GET/PUT/DELETE /v1/me/address):
off by default; mail to it from a sender with no relationship lands in
Later or is refused uniformly, within the global terms; blocked domains
are refused; from a stranger's message the person keeps the sender (a
person-made relationship) or blocks its domain, in one step; the policy
door passes the own address at RCPT."""
import pytest

from conftest import assert_problem, assert_schema
from test_person_made import AUTH_ID, lmtp_of, mail
from test_policy import Policy

DOMAIN = "relay.localhost"
UNIFORM = "550 5.1.1 <{}>: recipient not accepted"


def own(person, local="ana.lima", strangers=None, status=200):
    body = {"local_part": local}
    if strangers:
        body["strangers"] = strangers
    return person.ok("PUT", "/v1/me/address", body, status=status)


def stranger_mail(frm="offers@deals.example", name="Deals Co",
                  subject="A deal", extra=""):
    m = mail(frm=frm, subject=subject, extra=extra)
    return m.replace(b"From: Shop <", f"From: {name} <".encode(), 1)


@pytest.fixture
def envelope(make_api):
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0")
    c = lmtp_of(api)
    yield api, c
    c.close()


def test_off_by_default_and_mail_to_it_is_the_uniform_refusal(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    assert_problem(ana.get("/v1/me/address"), 404)
    addr = f"ana.lima@{DOMAIN}"
    r = lmtp.deliver("offers@deals.example", [addr], stranger_mail())
    assert r == [UNIFORM.format(addr)]
    assert ana.messages() == []


def test_on_it_is_shown_and_off_again(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    got = own(ana, "Ana.Lima")
    assert_schema(got, "OwnAddress")
    assert got == {"address": f"ana.lima@{DOMAIN}", "local_part": "ana.lima",
                   "strangers": "later", "blocked": []}
    assert ana.ok("GET", "/v1/me/address") == got
    assert ana.ledger()[-1]["type"] == "address.changed"
    assert ana.ledger()[-1]["data"] == {"on": True, "strangers": "later"}
    r = ana.delete("/v1/me/address")
    assert r.status == 204, r
    assert_problem(ana.get("/v1/me/address"), 404)
    assert_problem(ana.delete("/v1/me/address"), 404)
    assert ana.ledger()[-1]["data"] == {"on": False}
    r = lmtp.deliver("offers@deals.example", [got["address"]],
                     stranger_mail())
    assert r == [UNIFORM.format(got["address"])]
    # Hers again whenever she wants it.
    assert own(ana, "ana.lima")["address"] == got["address"]


def test_strangers_land_in_later_with_no_brand_and_the_sender_shown(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    r = lmtp.deliver("bounce@deals.example", [addr.upper()],
                     stranger_mail(subject="Hello there"))
    assert r[0].startswith("250"), r
    got = ana.messages("folder=later")
    assert len(got) == 1, ana.messages()
    m = got[0]
    assert m["brand"] is None and m["relationship"] is None
    assert m["subject"] == "Hello there"
    assert m["sender"] == "bounce@deals.example"
    assert m["topic"] == "direct"
    assert ana.messages("folder=inbox") == []
    whole = ana.ok("GET", f"/v1/me/messages/{m['id']}")
    assert "offers@deals.example" in whole["headers"]["from"]
    assert "A body line." in whole["text"]
    assert whole["sender_domain"] == "deals.example"
    assert_schema(whole, "MessageDetail")


def test_refuse_mode_is_the_uniform_reply_and_recorded(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana, strangers="refuse")["address"]
    r = lmtp.deliver("x@deals.example", [addr], stranger_mail())
    assert r == [UNIFORM.format(addr)]
    assert ana.messages("folder=later") == []
    refused = ana.messages("decision=refuse")
    assert [m["reason"] for m in refused] == ["stranger"]
    assert refused[0]["brand"] is None
    assert refused[0]["sender"] == "x@deals.example"
    # Switched to Later: the next one lands.
    own(ana, strangers="later")
    r = lmtp.deliver("x@deals.example", [addr], stranger_mail())
    assert r[0].startswith("250"), r
    assert len(ana.messages("folder=later")) == 1


def test_the_global_cap_and_do_not_contact_hold_for_strangers(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    ana.ok("PUT", "/v1/me/terms",
           {"caps": {"email": {"max": 2, "per": "day", "over_cap": "hold"}}})
    replies = [lmtp.deliver(f"s{i}@deals{i}.example", [addr],
                            stranger_mail(frm=f"s{i}@deals{i}.example"))[0]
               for i in range(4)]
    assert [x[:3] for x in replies] == ["250", "250", "550", "550"], replies
    assert replies[2] == UNIFORM.format(addr)
    assert len(ana.messages("folder=later")) == 2
    refused = ana.messages("decision=refuse")
    assert {m["reason"] for m in refused} == {"global_frequency_cap"}
    assert ana.messages("decision=hold") == []
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": ["email"]})
    r = lmtp.deliver("s9@deals9.example", [addr],
                     stranger_mail(frm="s9@deals9.example"))
    assert r == [UNIFORM.format(addr)]
    assert "channel_do_not_contact" in {
        m["reason"] for m in ana.messages("decision=refuse")}


def test_block_a_strangers_domain_and_lift_it(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    r = lmtp.deliver("a@mail.deals.example", [addr],
                     stranger_mail(frm="a@mail.deals.example"))
    assert r[0].startswith("250"), r
    msg = ana.messages("folder=later")[0]["id"]
    got = ana.ok("POST", f"/v1/me/messages/{msg}/block")
    assert_schema(got, "OwnAddress")
    assert got["blocked"] == ["deals.example"]
    assert ana.ledger()[-1]["type"] == "sender.blocked"
    # The domain she chose is hers: sealed with her data key.
    data = ana.ledger()[-1]["data"]
    assert list(data) == ["domain"] and list(data["domain"]) == ["sealed"]
    assert "deals" not in data["domain"]["sealed"]
    assert ana.ledger()[-1]["opened"] == {"domain": "deals.example"}
    assert_problem(ana.post(f"/v1/me/messages/{msg}/block"), 409)
    before = ana.messages()
    for frm in ("b@deals.example", "c@other.deals.example"):
        r = lmtp.deliver(frm, [addr], stranger_mail(frm=frm))
        assert r == [UNIFORM.format(addr)]
    # Refused and not recorded: she asked not to hear of them.
    assert ana.messages() == before
    # Changing the address keeps the blocks.
    assert own(ana, "ana.l")["blocked"] == ["deals.example"]
    addr = f"ana.l@{DOMAIN}"
    got = ana.ok("DELETE", "/v1/me/address/blocked/deals.example")
    assert got["blocked"] == []
    assert ana.ledger()[-1]["type"] == "sender.unblocked"
    assert_problem(ana.delete("/v1/me/address/blocked/deals.example"), 404)
    r = lmtp.deliver("b@deals.example", [addr],
                     stranger_mail(frm="b@deals.example"))
    assert r[0].startswith("250"), r


def test_keep_this_sender_then_its_mail_is_filed_by_the_new_one(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    r = lmtp.deliver("news@mail.deals.example", [addr],
                     stranger_mail(frm="news@mail.deals.example"))
    assert r[0].startswith("250"), r
    msg = ana.messages("folder=later")[0]["id"]
    rel = ana.ok("POST", f"/v1/me/messages/{msg}/keep", status=201)
    assert_schema(rel, "Relationship")
    assert rel["made_by"] == "person"
    assert rel["brand"] == {"id": None, "name": "Deals Co",
                            "domains": ["deals.example"]} or (
        rel["brand"]["name"] == "Deals Co" and
        rel["brand"]["domains"] == ["deals.example"])
    assert rel["terms"]["folder"] == "inbox"
    assert ana.ledger()[-1]["type"] == "relationship.accepted"
    # The message stays where it was, a stranger's.
    assert ana.messages("folder=later")[0]["id"] == msg
    assert ana.messages("folder=later")[0]["relationship"] is None
    # Kept twice makes no sense.
    assert_problem(ana.post(f"/v1/me/messages/{msg}/keep"), 409)
    # Its next mail to the own address is filed by the relationship.
    r = lmtp.deliver("news@deals.example", [addr],
                     stranger_mail(frm="news@deals.example", subject="Next"))
    assert r[0].startswith("250"), r
    inbox = ana.messages("folder=inbox")
    assert [m["subject"] for m in inbox] == ["Next"]
    assert inbox[0]["relationship"] == rel["id"]
    assert inbox[0]["brand"]["name"] == "Deals Co"
    # And to the alias too.
    r = lmtp.deliver("news@deals.example", [rel["alias"]],
                     stranger_mail(frm="news@deals.example", subject="Alias"))
    assert r[0].startswith("250"), r
    # A forged sender (envelope elsewhere) stays a stranger.
    r = lmtp.deliver("x@elsewhere.example", [addr],
                     stranger_mail(frm="news@deals.example", subject="Fake"))
    assert r[0].startswith("250"), r
    fake = [m for m in ana.messages() if m["subject"] == "Fake"]
    assert fake[0]["relationship"] is None and fake[0]["folder"] == "later"


def test_keep_without_a_display_name_names_it_by_its_domain(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    m = mail(frm="hi@x.deals.example").replace(b"From: Shop <hi@x.deals.example>",
                                               b"From: hi@x.deals.example")
    assert lmtp.deliver("hi@x.deals.example", [addr], m)[0].startswith("250")
    msg = ana.messages("folder=later")[0]["id"]
    rel = ana.ok("POST", f"/v1/me/messages/{msg}/keep", status=201)
    assert rel["brand"]["name"] == "deals.example"


def test_keep_and_block_are_404_for_anothers_or_a_brands_message(envelope):
    api, lmtp = envelope
    ana, ben = api.signup("ana"), api.signup("ben")
    addr = own(ana)["address"]
    assert lmtp.deliver("a@deals.example", [addr],
                        stranger_mail(frm="a@deals.example"))[0][:3] == "250"
    msg = ana.messages()[0]["id"]
    before = ana.snapshot(), ben.snapshot()
    for verb in ("keep", "block"):
        assert_problem(ben.post(f"/v1/me/messages/{msg}/{verb}"), 404)
    assert (ana.snapshot(), ben.snapshot()) == before
    # A brand's message is not a stranger's.
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert acme.send(rel.id).status == 201
    brand_msg = [m for m in ana.messages() if m["brand"]][0]["id"]
    for verb in ("keep", "block"):
        assert_problem(ana.post(f"/v1/me/messages/{brand_msg}/{verb}"), 404)
    assert_problem(ana.post(f"/v1/me/messages/{msg}/keep", {"x": 1}), 400)


def test_block_without_an_address_is_a_409(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    assert lmtp.deliver("a@deals.example", [addr],
                        stranger_mail(frm="a@deals.example"))[0][:3] == "250"
    msg = ana.messages()[0]["id"]
    assert ana.delete("/v1/me/address").status == 204
    assert_problem(ana.post(f"/v1/me/messages/{msg}/block"), 409)


@pytest.mark.parametrize("local", [
    "", "x" * 65, "ana lima", "ana@lima", ".ana", "ana.", "ana..lima",
    "ánä", "ana+tag",
    # the handle, in any case
    "ana", "ANA",
    # an alias's shape: a last part of 16 letters and digits
    "shop.k3x9q2r7m4vt8wzp", "k3x9q2r7m4vt8wzp",
    # reply addresses, bounces, role names
    "r.abc", "r.k3x9", "cmr-bounces", "cmr-bounces-x", "postmaster",
    "abuse", "hostmaster", "webmaster", "mailer-daemon", "noreply",
    "Postmaster",
])
def test_local_part_rules(api, local):
    ana = api.signup("ana")
    r = ana.put("/v1/me/address", {"local_part": local})
    assert_problem(r, 422, "local_part")
    assert_problem(ana.get("/v1/me/address"), 404)


@pytest.mark.parametrize("body,status,field", [
    ({}, 400, "local_part"), ({"local_part": 7}, 400, "local_part"),
    ({"local_part": "ana.lima", "x": 1}, 400, "x"),
    ([], 400, ""),
    ({"local_part": "ana.lima", "strangers": "inbox"}, 422, "strangers"),
])
def test_bad_bodies(api, body, status, field):
    ana = api.signup("ana")
    assert_problem(ana.put("/v1/me/address", body), status, field or None)
    assert_problem(ana.get("/v1/me/address"), 404)


def test_taken_by_another_is_409_without_a_name_and_never_freed(api):
    ana, ben = api.signup("ana"), api.signup("ben")
    own(ana, "ana.lima")
    r = ben.put("/v1/me/address", {"local_part": "ana.lima"})
    assert_problem(r, 409, "local_part")
    assert "ana" not in r.json()["detail"].replace("ana.lima", "")
    # Ana moves on: her old address is still never Ben's.
    own(ana, "ana.new")
    assert_problem(ben.put("/v1/me/address", {"local_part": "ana.lima"}), 409)
    assert ana.delete("/v1/me/address").status == 204
    assert_problem(ben.put("/v1/me/address", {"local_part": "ana.new"}), 409)
    assert own(ben, "ben.stone")["address"] == f"ben.stone@{DOMAIN}"


def test_erasure_removes_it_and_keeps_it_from_others(api):
    ana, ben = api.signup("ana"), api.signup("ben")
    own(ana, "ana.lima")
    r = ana.call("DELETE", "/v1/me", {"password": ana.password})
    assert r.status in (200, 202, 204), r
    # Ben cannot take it after the erasure either.
    assert_problem(ben.put("/v1/me/address", {"local_part": "ana.lima"}), 409)
    api.stop()
    db = api.ctx.sql()
    assert db.execute("SELECT count(*) FROM own_addresses").fetchone() == (0,)
    # The directory keeps only a tombstone, not the address in clear.
    aliases = [a for (a,) in db.execute("SELECT alias FROM aliases")]
    db.close()
    assert not any("ana.lima" in a for a in aliases), aliases


def test_a_brand_of_a_relationship_at_the_own_address_is_filed_by_it(
        envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    rel = ana.ok("POST", "/v1/me/relationships",
                 {"brand": {"name": "Corner Shop",
                            "domains": ["shop.example"]}}, status=201)
    r = lmtp.deliver("b@shop.example", [addr], mail(subject="Order"))
    assert r[0].startswith("250"), r
    inbox = ana.messages("folder=inbox")
    assert [m["relationship"] for m in inbox] == [rel["id"]]


@pytest.fixture
def policy(make_api):
    import re
    api = make_api("--policy", "127.0.0.1:0")
    m = re.search(r"policy: listening on \S+:(\d+)", api.server.log())
    c = Policy(int(m.group(1)))
    yield api, c
    c.close()


def test_the_policy_door_passes_the_own_address_at_rcpt(policy):
    api, client = policy
    ana = api.signup("ana")
    addr = f"ana.lima@{DOMAIN}"
    assert client.ask(addr).startswith("550 5.1.1"), "off: refused"
    own(ana, "ana.lima", strangers="refuse")
    # The decision needs the message: at RCPT it passes, either mode.
    assert client.ask(addr) == "DUNNO"
    assert client.ask(addr.upper()) == "DUNNO"
    assert ana.messages() == []
    ana.delete("/v1/me/address")
    assert client.ask(addr).startswith("550 5.1.1")


def test_export_holds_the_strangers_messages(envelope):
    api, lmtp = envelope
    ana = api.signup("ana")
    addr = own(ana)["address"]
    assert lmtp.deliver("a@deals.example", [addr],
                        stranger_mail(frm="a@deals.example",
                                      subject="Kept in the export"))[0][:3] == "250"
    doc = ana.ok("POST", "/v1/me/export", {"password": ana.password})
    got = [m for m in doc["messages"] if m.get("subject") == "Kept in the export"]
    assert len(got) == 1, doc["messages"]
    assert got[0].get("relationship") is None, got
