"""The LMTP door (RFC 2033) with --trust-envelope: one reply per
recipient after DATA, the uniform reply for strangers, what the brand is
told, silent refusals, pipelining, and the protocol's limits. A small raw
client is used so that every reply can be read (smtplib reads one reply
after DATA)."""
import re
import socket
import time

import pytest

from conftest import PASSWORD


class Lmtp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        """One (possibly multi-line) reply, as its lines."""
        lines = [self.line()]
        while lines[-1][3:4] == "-":
            lines.append(self.line())
        return lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def deliver(self, sender, rcpts, message):
        """MAIL, RCPTs, DATA: returns the per-recipient replies."""
        assert self.cmd(f"MAIL FROM:<{sender}>")[0].startswith("250")
        for r in rcpts:
            assert self.cmd(f"RCPT TO:<{r}>")[0].startswith("250")
        assert self.cmd("DATA")[0].startswith("354")
        body = message.replace(b"\r\n.", b"\r\n..")
        self.send(body + b"\r\n.\r\n")
        return [self.reply()[0] for _ in rcpts]

    def close(self):
        self.sock.close()


def _message(subject="Hello", topic="orders", frm="news@acme.example",
             extra=b""):
    head = (f"From: Acme <{frm}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.monotonic_ns()}@acme.example>\r\n")
    if topic:
        head += f"CMR-Topic: {topic}\r\n"
    return head.encode() + extra + b"\r\nA body line.\r\n.starts with a dot\r\n"


@pytest.fixture
def mail(make_api):
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0")
    m = re.search(r"lmtp: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    client = Lmtp(int(m.group(1)))
    assert client.cmd("LHLO test.example")[0].startswith("250")
    yield api, ana, acme, rel, client
    client.close()


def test_lhlo_capabilities(mail):
    client = mail[4]
    caps = client.cmd("LHLO again.example")
    text = "\n".join(caps)
    for cap in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE"):
        assert cap in text, caps
    assert client.greeting[0].startswith("220")


def test_per_recipient_replies_and_the_uniform_one(mail):
    api, ana, acme, rel, client = mail
    replies = client.deliver("news@acme.example",
                             [rel.alias, "nobody.0000000000000000@relay.localhost"],
                             _message("=?utf-8?q?Gr=C3=BC=C3=9Fe?="))
    assert replies[0].startswith("250 2.0.0"), replies
    assert replies[1] == ("550 5.1.1 <nobody.0000000000000000@relay.localhost>"
                          ": recipient not accepted")
    got = ana.messages("folder=inbox")
    assert [m["subject"] for m in got] == ["Grüße"]
    assert got[0]["sender_verified"] is False
    # A stranger writing to the real alias gets the same reply as for an
    # unknown one, and the person sees the leak with its sender.
    leak = client.deliver("spam@evil.example", [rel.alias],
                          _message(frm="spam@evil.example"))
    assert leak == [f"550 5.1.1 <{rel.alias}>: recipient not accepted"]
    refused = ana.messages("decision=refuse")
    assert [(m["reason"], m.get("sender")) for m in refused] == [
        ("sender_not_brand", "spam@evil.example")]


def test_what_the_brand_is_told(mail):
    api, ana, acme, rel, client = mail
    r = client.deliver("news@acme.example", [rel.alias],
                       _message(topic="offers"))
    assert r == ["550 5.7.1 topic_not_wanted"]
    r = client.deliver("news@acme.example", [rel.alias], _message(topic=None))
    assert r == ["550 5.7.1 topic_missing"]
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    r = client.deliver("news@acme.example", [rel.alias], _message())
    assert r == ["550 5.7.1 relationship_ended"]


def test_silent_refusals_are_accepted_and_recorded(mail):
    api, ana, acme, rel, client = mail
    assert ana.put("/v1/me/terms", {"refusal": "silent"}).status == 200
    r = client.deliver("news@acme.example", [rel.alias],
                       _message(topic="offers"))
    assert r[0].startswith("250"), r
    assert [m["reason"] for m in ana.messages("decision=refuse")] == [
        "topic_not_wanted"]


def test_pipelining(mail):
    api, ana, acme, rel, client = mail
    client.send(f"MAIL FROM:<news@acme.example>\r\nRCPT TO:<{rel.alias}>\r\n"
                f"RCPT TO:<{rel.alias}>\r\nDATA\r\n")
    assert [client.reply()[0][:3] for _ in range(4)] == [
        "250", "250", "250", "354"]
    client.send(_message() + b"\r\n.\r\n")
    assert [client.reply()[0][:3] for _ in range(2)] == ["250", "250"]


def test_protocol_errors(mail):
    api, ana, acme, rel, client = mail
    assert client.cmd("HELO x")[0].startswith("500")
    assert client.cmd("DATA")[0].startswith("503")
    assert client.cmd("RCPT TO:<x@y>")[0].startswith("503")
    assert client.cmd("MAIL FROM:nobrackets")[0].startswith("501")
    assert client.cmd("MAIL FROM:<a@b> SIZE=999999999999")[0].startswith(
        "552")
    client.send("NOOP\n")
    assert client.reply()[0].startswith("500 5.5.2 bare LF")
    assert client.cmd("X" * 2000)[0].startswith("500 5.5.2 line too long")
    assert client.cmd("NOOP")[0].startswith("250")
    assert client.cmd("QUIT")[0].startswith("221")


def test_client_vanishing_mid_data_stores_nothing(mail):
    api, ana, acme, rel, client = mail
    client.cmd("MAIL FROM:<news@acme.example>")
    client.cmd(f"RCPT TO:<{rel.alias}>")
    assert client.cmd("DATA")[0].startswith("354")
    client.send(_message(subject="half")[:40])
    client.close()
    time.sleep(0.3)
    assert api.alive()
    assert ana.messages() == []


def test_the_same_message_twice_is_delivered_once(mail):
    api, ana, acme, rel, client = mail
    msg = _message(subject="Once")
    assert client.deliver("news@acme.example", [rel.alias], msg)[0][:3] \
        == "250"
    # An MTA retrying after a lost reply: same Message-ID, same body.
    assert client.deliver("news@acme.example", [rel.alias], msg)[0][:3] \
        == "250"
    assert [m["subject"] for m in ana.messages()] == ["Once"]
    # Another message with another Message-ID is a new message.
    assert client.deliver("news@acme.example", [rel.alias],
                          _message(subject="Twice"))[0][:3] == "250"
    assert sorted(m["subject"] for m in ana.messages()) == ["Once", "Twice"]


def test_a_stranger_replaying_the_brands_message_is_a_leak(mail):
    """The sender is judged before the duplicate check: the brand's
    Message-ID and body again, from a stranger, is refused uniformly and
    recorded as a leak, not taken as the brand's retry."""
    api, ana, acme, rel, client = mail
    msg = _message(subject="Receipt")
    assert client.deliver("news@acme.example", [rel.alias], msg)[0][:3] \
        == "250"
    replay = client.deliver("spam@evil.example", [rel.alias], msg)
    assert replay == [f"550 5.1.1 <{rel.alias}>: recipient not accepted"]
    refused = ana.messages("decision=refuse")
    assert [(m["reason"], m.get("sender")) for m in refused] == [
        ("sender_not_brand", "spam@evil.example")]
    assert [m["subject"] for m in ana.messages("folder=inbox")] == [
        "Receipt"]


def test_silence_is_for_the_brand_only(mail):
    """With silent refusals, a stranger still gets the uniform reply: a
    250 for a real alias against 550 5.1.1 for an unknown one would tell
    them which aliases are real."""
    api, ana, acme, rel, client = mail
    assert ana.put("/v1/me/terms", {"refusal": "silent"}).status == 200
    unknown = "acme.zzzzzzzzzzzzzzzz@relay.localhost"
    replies = client.deliver("spam@evil.example", [rel.alias, unknown],
                             _message(frm="spam@evil.example"))
    assert [r.replace(a, "<>") for r, a in zip(replies, [rel.alias, unknown])] \
        == ["550 5.1.1 <<>>: recipient not accepted"] * 2, replies
    assert [m["reason"] for m in ana.messages("decision=refuse")] == [
        "sender_not_brand"]
    # The brand itself still gets its refusals silently.
    r = client.deliver("news@acme.example", [rel.alias],
                       _message(topic="offers"))
    assert r[0].startswith("250"), r


def test_unknown_ended_to_stranger_and_foreign_sender_read_the_same(mail):
    """A stranger cannot tell an unknown alias from a real one, ended or
    not: the three replies are the same bytes but for the alias."""
    api, ana, acme, rel, client = mail
    beta = api.add_brand("Beta", "beta.example")
    ended = api.connect(ana, beta, ask={"value": "v", "channels": ["email"],
                                        "topics": [], "fields": []},
                        grant={"channels": {"email": {"allowed": True}}})
    assert ana.post(f"/v1/me/relationships/{ended.id}/end").status == 200
    unknown = "beta.zzzzzzzzzzzzzzzz@relay.localhost"
    stranger = _message(frm="spam@evil.example")
    replies = client.deliver("spam@evil.example",
                             [unknown, ended.alias, rel.alias], stranger)
    shapes = [r.replace(a, "<>") for r, a in
              zip(replies, [unknown, ended.alias, rel.alias])]
    assert len(set(shapes)) == 1, replies
    assert shapes[0] == "550 5.1.1 <<>>: recipient not accepted"


def test_lmtp_conns_default_lets_a_postfix_at_defaults_in(mail):
    """Postfix's lmtp client runs up to 100 processes at its defaults."""
    api, ana, acme, rel, client = mail
    port = int(re.search(r"lmtp: listening on \S+:(\d+)",
                         api.server.log()).group(1))
    others = [Lmtp(port) for _ in range(100)]
    try:
        assert all(o.greeting[0].startswith("220") for o in others)
        assert client.cmd("NOOP")[0].startswith("250")
    finally:
        for o in others:
            o.close()


def test_the_readmes_lmtp_example_reads_every_reply(demo_ctx, start_server):
    """The README's "Try it against make run", as written there, against
    the demo world (only the two ports differ)."""
    import pathlib
    import subprocess
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    at = readme.index("Try it\nagainst `make run`:")
    block = readme[readme.index("```sh\n", at) + 6:]
    block = block[:block.index("```\n")]
    s = start_server("--trust-envelope", "--lmtp", "127.0.0.1:0")
    lmtp = re.search(r"lmtp: listening on \S+:(\d+)", s.log()).group(1)
    script = block.replace("127.0.0.1:8025", s.address) \
        .replace('("127.0.0.1", 2424)', f'("127.0.0.1", {lmtp})')
    assert script != block
    r = subprocess.run(["bash", "-e", "-c", script], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r
    lines = r.stdout.strip().splitlines()
    assert re.fullmatch(r"acmeoutdoor\.\w+@relay\.localhost -> 250 2\.0\.0 "
                        r"<\S+> accepted", lines[0]), lines
    assert lines[1].endswith("-> 550 5.1.1 <nobody.0000000000000000@relay"
                             ".localhost>: recipient not accepted"), lines
