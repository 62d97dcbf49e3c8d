"""The forward adapter: a person proves an address (a code sent there
through --smarthost, given back), then each delivered message goes there
as it came, under cmr's own envelope sender so bounces come back to cmr,
never to the brand; retried when the smarthost defers."""
import email
import email.policy
import re
import time

import pytest

from conftest import PASSWORD, assert_problem
from smtp_sink import sink  # noqa: F401
from test_delivery import wait_for
from test_lmtp import Lmtp, _message


def forward(person, address):
    return person.put("/v1/me/delivery", {"password": PASSWORD,
                                          "forward": {"address": address}})


def code_in(data):
    m = re.search(rb"Your code: ([0-9A-Z]{4}-[0-9A-Z]{4})", data)
    assert m, data
    return m.group(1).decode()


@pytest.fixture
def world(make_api, sink):
    api = make_api("--smarthost", f"127.0.0.1:{sink.port}",
                   "--trust-envelope", "--lmtp", "127.0.0.1:0")
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    port = int(re.search(r"lmtp: listening on \S+:(\d+)",
                         api.server.log()).group(1))
    return api, ana, acme, rel, sink, port


def test_prove_then_forward_as_it_came(world):
    api, ana, acme, rel, sink, port = world
    r = forward(ana, "ana@home.example")
    assert r.status == 200, r
    assert r.json()["forward"] == {"address": "ana@home.example",
                                   "verified": False,
                                   "bounces": {"count": 0, "last_at": None}}
    (frm, rcpts, data), = sink.wait(1)
    assert frm == f"cmr-bounces+{ana.id}@relay.localhost"
    assert rcpts == ["ana@home.example"]
    code = code_in(data)
    # Nothing is forwarded before the address is proved.
    acme.send(rel.id, topic="orders", subject="Early")
    time.sleep(0.6)
    assert len(sink.mails) == 1
    assert_problem(ana.post("/v1/me/delivery/verify", {"code": "0000-0000"}),
                   422, "code")
    r = ana.post("/v1/me/delivery/verify", {"code": code.lower()})
    assert r.status == 200, r
    assert r.json()["forward"]["verified"] is True
    assert_problem(ana.post("/v1/me/delivery/verify", {"code": code}), 409,
                   "code")
    # Mail, byte for byte; cmr's envelope sender.
    raw = _message(subject="Forward me", topic="orders")
    client = Lmtp(port)
    client.cmd("LHLO mx.test")
    assert client.deliver("news@acme.example", [rel.alias],
                          raw)[0].startswith("250")
    client.close()
    mails = sink.wait(2)
    assert len(mails) == 2
    frm, rcpts, data = mails[1]
    assert (frm, rcpts) == (f"cmr-bounces+{ana.id}@relay.localhost",
                            ["ana@home.example"])
    # Its Reply-To is the message's reply address (replies through the
    # alias), put first; the rest is byte for byte.
    head, rest = data.split(b"\r\n", 1)
    assert re.fullmatch(rb"Reply-To: <r\.[0-9a-z]{26}@relay\.localhost>",
                        head), head
    assert rest == raw + b"\r\n"
    # An HTTP message, composed as mail.
    acme.send(rel.id, topic="orders", subject="Über", body="Hi")
    frm, rcpts, data = sink.wait(3)[2]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == "Über" and "Hi" in msg.get_content()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert [e["data"] for e in ana.ledger()
            if e["type"] == "delivery.changed"] == [
        {"maildir": False, "webhook": False, "forward": True},
        {"forward": "verified"}]


def test_wrong_codes_are_counted(world):
    api, ana, acme, rel, sink, port = world
    forward(ana, "ana@home.example")
    code = code_in(sink.wait(1)[0][2])
    for _ in range(5):
        r = ana.post("/v1/me/delivery/verify", {"code": "AAAA-AAAA"})
        assert_problem(r, 422, "code")
    r = ana.post("/v1/me/delivery/verify", {"code": code})
    assert_problem(r, 422, "code")
    assert "too many" in r.json()["detail"]
    # Setting the same address again sends a new code (the old one is
    # used up), and that one works.
    assert forward(ana, "ana@home.example").status == 200
    code = code_in(sink.wait(2)[1][2])
    assert sink.mails[1][1] == ["ana@home.example"]
    assert ana.post("/v1/me/delivery/verify",
                    {"code": code}).status == 200


def test_a_deferring_smarthost_is_retried(world):
    api, ana, acme, rel, sink, port = world
    sink.refuse_rcpt = 1
    forward(ana, "ana@home.example")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert "forward" in state["outbox"]["last_error"]
    (frm, rcpts, data), = sink.wait(1, timeout=20)
    assert rcpts == ["ana@home.example"]


def test_errors(world, make_api):
    api, ana, acme, rel, sink, port = world
    for bad in ("no-at-sign", "a@b", "a b@c.example", "<a@c.example>",
                "a@c.example\r\nRCPT TO:<x@y.example>", "x" * 250 + "@c.ex"):
        assert_problem(forward(ana, bad), 422, "forward.address")
    assert_problem(ana.put("/v1/me/delivery", {
        "password": PASSWORD, "forward": "ana@home.example"}), 400, "forward")
    assert_problem(ana.post("/v1/me/delivery/verify", {}), 400, "code")
    assert_problem(ana.post("/v1/me/delivery/verify", {"code": "X"}), 409,
                   "code")
    time.sleep(0.3)
    assert sink.mails == []
    # A server without --smarthost (one server per store: after this one).
    api.stop()
    ben = make_api().signup("ben")
    assert ben.ok("GET", "/v1/me/delivery")["available"]["forward"] is False
    assert_problem(forward(ben, "ben@home.example"), 422, "forward")


def test_bounces_come_back_to_cmr_and_are_taken(world):
    """A forward's bounce comes back to cmr's envelope sender, which names
    the person: LMTP takes it (the MTA must not bounce the bounce) and the
    person sees that forwarding bounces. It is no alias, and no one's
    message."""
    api, ana, acme, rel, sink, port = world
    forward(ana, "ana@home.example")
    code = code_in(sink.wait(1)[0][2])
    assert ana.post("/v1/me/delivery/verify", {"code": code}).status == 200
    client = Lmtp(port)
    client.cmd("LHLO mx.test")
    bounce = (b"From: MAILER-DAEMON@home.example\r\nSubject: Undelivered\r\n"
              b"Message-ID: <b1@home.example>\r\n\r\nNo such user.\r\n")
    verp = f"cmr-bounces+{ana.id}@relay.localhost"
    assert client.deliver("", [verp], bounce)[0].startswith("250")
    # Two in one transaction both count.
    assert [r[:3] for r in client.deliver("", [verp, verp], bounce)] == [
        "250", "250"]
    assert client.deliver("", ["cmr-bounces@relay.localhost"],
                          bounce)[0].startswith("250")
    client.close()
    assert ana.messages() == []
    fwd = ana.ok("GET", "/v1/me/delivery")["forward"]
    assert fwd["bounces"]["count"] == 3 and fwd["bounces"]["last_at"]
    # Saving the same address again keeps the count; a new one resets it.
    forward(ana, "ana@home.example")
    assert ana.ok("GET", "/v1/me/delivery")["forward"]["bounces"][
        "count"] == 3
    forward(ana, "ana@new.example")
    assert ana.ok("GET", "/v1/me/delivery")["forward"]["bounces"][
        "count"] == 0
    assert "a bounce came back for no one in particular" in api.server.log()


def test_wrong_codes_are_counted_even_all_at_once(world):
    """Tries are counted in the transaction that checks them: forty at
    once still get at most five answers of "not the code"."""
    import concurrent.futures
    api, ana, acme, rel, sink, port = world
    forward(ana, "ana@home.example")
    sink.wait(1)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(
            lambda _: ana.post("/v1/me/delivery/verify",
                               {"code": "AAAA-AAAA"}), range(40)))
    details = [r.json()["detail"] for r in replies]
    assert all(r.status == 422 for r in replies)
    assert sum("not the code" in d for d in details) <= 5, details


def test_codes_to_new_addresses_are_limited_a_day(world):
    api, ana, acme, rel, sink, port = world
    for i in range(5):
        assert forward(ana, f"ana{i}@home.example").status == 200
    r = forward(ana, "ana5@home.example")
    assert_problem(r, 422, "forward")
    assert "tomorrow" in r.json()["detail"]
    assert len(sink.wait(5)) == 5
