"""Replies through the alias with the real programs: the brand's mail
goes through a test-owned Postfix (the alias domain's MX, asking cmr's
policy service at RCPT) to cmr over LMTP; cmr forwards it through its
--smarthost, a second Postfix (outbound), which hands home.example to
Dovecot's LMTP and acme.example to an SMTP sink standing for the brand's
MX. The person reads the forwarding code and the forwarded mail over
IMAP, answers it as Thunderbird would, through the MX, and the brand's
sink gets the answer from the alias, with nothing that names the person.

    brand --SMTP--> Postfix MX --LMTP--> cmr --SMTP--> Postfix out
        Postfix out --LMTP--> Dovecot (ana)   --SMTP--> sink (acme)

The MX also sends home.example through the outbound Postfix, so that its
bounces (a reply refused after DATA) reach the person's mailbox. A forged
reply is refused at RCPT, by cmr's policy service, so nothing bounces to
the forged sender."""
import email
import email.policy
import re
import smtplib
import time
import uuid

import pytest

from conftest import PASSWORD
from mta import HOST, Postfix, make_dovecot, make_postfix  # noqa: F401
from smtp_sink import sink  # noqa: F401
from test_policy import Policy

HOME = "ana@home.example"
NAME = "Ana Lima"
BRAND = "orders@acme.example"
CARE = "care@acme.example"  # the brand's Reply-To
ALIAS_DOMAIN = "relay.localhost"
WAIT = 20  # seconds for mail to cross the daemons


def until(what, check, timeout=WAIT):
    """check() until it gives something true; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s", pytrace=False)
        time.sleep(0.1)


def port_of(api, door):
    m = re.search(rf"{door}: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    return int(m.group(1))


def inbox(imap):
    """Every message in the person's INBOX, parsed, oldest first."""
    typ, _ = imap.select("INBOX", readonly=True)
    assert typ == "OK", typ
    typ, data = imap.search(None, "ALL")
    out = []
    for num in data[0].split():
        typ, got = imap.fetch(num, "(BODY.PEEK[])")
        assert typ == "OK", typ
        out.append(email.message_from_bytes(got[0][1],
                                            policy=email.policy.default))
    return out


def wait_mail(imap, what, match):
    """The first INBOX message for which match(msg) holds."""
    return until(what, lambda: next((m for m in inbox(imap) if match(m)),
                                    None))


def brand_mail(subject):
    return (f"From: Acme <{BRAND}>\r\n"
            f"To: {{alias}}\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4()}@acme.example>\r\n"
            "Date: Thu, 03 Dec 2026 18:00:00 +0000\r\n"
            f"Reply-To: Acme Care <{CARE}>\r\n"
            "CMR-Topic: orders\r\n"
            "\r\n"
            "Your order 4711 has shipped.\r\n"
            "It should arrive on Monday.\r\n")


def thunderbird_reply(original, text, frm=HOME, name=NAME):
    """An answer to `original` (the forwarded copy) as Thunderbird 128
    writes it: to its Reply-To, In-Reply-To and References, Autocrypt and
    User-Agent, multipart/alternative with a quoted attribution naming
    the writer, and an HTML part with a mailto: link."""
    to = original["Reply-To"].addresses[0].addr_spec
    mid = original["Message-ID"].strip()
    quoted = original.get_body(("plain",)).get_content().splitlines()
    cite = f"On 03/12/2026 18:00, {name} <{frm}> wrote:"
    plain = "\r\n".join([text, "", "-- ", name, "", cite,
                         *[f"> {line}" for line in quoted], ""])
    html = ("<html><head><meta http-equiv=3D\"content-type\" content=3D\""
            "text/html; charset=3DUTF-8\"></head><body>"
            f"<p>{text}</p><div class=3D\"moz-signature\">-- <br>{name}"
            "</div><div class=3D\"moz-cite-prefix\">On 03/12/2026 18:00, "
            f"{name} &lt;<a class=3D\"moz-txt-link-abbreviated\" href=3D"
            f"\"mailto:{frm}\">{frm}</a>&gt; wrote:<br></div>"
            f"<blockquote type=3D\"cite\" cite=3D\"mid:{mid[1:-1]}\">"
            + "<br>".join(quoted) + "</blockquote></body></html>")
    return (f"Message-ID: <{uuid.uuid4()}@home.example>\r\n"
            "Date: Thu, 3 Dec 2026 19:05:00 +0100\r\n"
            "MIME-Version: 1.0\r\n"
            "User-Agent: Mozilla Thunderbird\r\n"
            f"Subject: Re: {original['Subject']}\r\n"
            "Content-Language: en-US\r\n"
            f"To: {to}\r\n"
            f"References: {mid}\r\n"
            f"In-Reply-To: {mid}\r\n"
            f"From: {name} <{frm}>\r\n"
            f"Autocrypt: addr={frm}; keydata=\r\n"
            " xjMEZ0vF0RYJKwYBBAHaRw8BAQdAQW5hIExpbWEgPGFuYUBob21lLmV4YW1w\r\n"
            " bGU+AAAAAAAAAAAAAAAAAAAAAAAAAM0ZQW5hIExpbWEgPGFuYUBob21lLmV4\r\n"
            'Content-Type: multipart/alternative;\r\n'
            ' boundary="------------tb0123456789abcdefABCDEF"\r\n'
            "\r\n"
            "This is a multi-part message in MIME format.\r\n"
            "--------------tb0123456789abcdefABCDEF\r\n"
            "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            f"{plain}\r\n"
            "--------------tb0123456789abcdefABCDEF\r\n"
            "Content-Type: text/html; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            f"{html}\r\n"
            "\r\n"
            "--------------tb0123456789abcdefABCDEF--\r\n").encode()


def assert_anonymous(data):
    """Neither the person's address, its local part as a word, nor their
    name, in the raw bytes or any decoded text part."""
    texts = [data.decode("latin-1")]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    texts += [str(v) for k, v in msg.items()]
    texts += [p.get_content() for p in msg.walk()
              if p.get_content_maintype() == "text"]
    for t in texts:
        low = t.lower()
        assert "ana@home.example" not in low, t
        assert "home.example" not in low, t
        assert "ana lima" not in low, t
        assert not re.search(r"\bana\b", low), t
        assert "thunderbird" not in low and "autocrypt" not in low, t


@pytest.fixture
def world(make_api, make_dovecot, make_postfix, sink):
    """Dovecot with Ana's mailbox; the outbound Postfix (cmr's
    smarthost); cmr; the MX Postfix in front of it. Ana has a
    relationship with Acme and forwards to her home address, verified by
    the code she reads over IMAP."""
    dc = make_dovecot(None, {"ana": "imap-secret"}, lmtp=True)
    out = make_postfix(
        "home.example, acme.example", dc.lmtp_port, extra_main={
            "transport_maps":
                f"inline:{{home.example=lmtp:inet:{HOST}:{dc.lmtp_port}, "
                f"acme.example=smtp:[{HOST}]:{sink.port}}}"},
        extra_master=[Postfix.SMTP_CLIENT])
    api = make_api("--smarthost", f"{HOST}:{out.smtp_port}",
                   "--trust-envelope", "--lmtp", f"{HOST}:0",
                   "--policy", f"{HOST}:0", "--alias-domain", ALIAS_DOMAIN)
    mx = make_postfix(ALIAS_DOMAIN, port_of(api, "lmtp"),
                      port_of(api, "policy"), extra_main={
                          "transport_maps": "inline:{home.example="
                          f"smtp:[{HOST}]:{out.smtp_port}}}"},
                      extra_master=[Postfix.SMTP_CLIENT])
    ana = api.signup("ana", profile={"name": NAME, "email": HOME})
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    r = ana.put("/v1/me/delivery", {"password": PASSWORD,
                                    "forward": {"address": HOME}})
    assert r.status == 200, r
    imap = dc.imap("ana")
    note = wait_mail(imap, "forwarding code in Dovecot",
                     lambda m: "Your code:" in m.get_body(
                         ("plain",)).get_content())
    code = re.search(r"Your code: ([0-9A-Z]{4}-[0-9A-Z]{4})",
                     note.get_body(("plain",)).get_content()).group(1)
    r = ana.post("/v1/me/delivery/verify", {"code": code})
    assert r.status == 200, r
    return api, ana, rel, dc, imap, out, mx, sink


def brand_sends(mx, rel, subject):
    """The brand's mail to the alias, through the MX."""
    data = brand_mail(subject).replace("{alias}", rel.alias)
    with smtplib.SMTP(HOST, mx.smtp_port, timeout=30) as s:
        s.ehlo("mx.acme.example")
        assert s.sendmail(BRAND, [rel.alias], data.encode()) == {}


def forwarded(imap, subject):
    """The forwarded copy of the brand's mail `subject` in Ana's INBOX,
    and the reply address it carries."""
    msg = wait_mail(imap, f"forwarded {subject!r} in Dovecot",
                    lambda m: m["Subject"] == subject)
    (reply_to,) = msg["Reply-To"].addresses
    assert re.fullmatch(rf"r\.[0-9a-z]{{26}}@{re.escape(ALIAS_DOMAIN)}",
                        reply_to.addr_spec), msg["Reply-To"]
    assert msg["From"].addresses[0].addr_spec == BRAND
    return msg


def submit(mx, sender, rcpt, data):
    """The person's client (or a forger) hands a reply to the MX."""
    with smtplib.SMTP(HOST, mx.smtp_port, timeout=30) as s:
        s.ehlo("laptop.home.example")
        return s.sendmail(sender, [rcpt], data)


def test_round_trip_of_a_reply_through_the_alias(world):
    api, ana, rel, dc, imap, out, mx, sink = world
    brand_sends(mx, rel, "Your order 4711")
    original = forwarded(imap, "Your order 4711")
    reply_to = original["Reply-To"].addresses[0].addr_spec

    # A forger with the reply address is turned away at RCPT: no bounce
    # to the forged sender, nothing to the brand.
    forged = thunderbird_reply(original, "Send it to me instead.",
                               frm="mallory@evil.example", name="Mallory")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        submit(mx, "mallory@evil.example", reply_to, forged)
    ((code, text),) = e.value.recipients.values()
    assert (code, text.decode()) == (
        550, f"5.1.1 <{reply_to}>: Recipient address rejected: "
        "recipient not accepted")
    # So is a reply address cmr never made (its tag changed).
    local = reply_to.split("@")[0]
    guessed = (local[:-1] + ("a" if local[-1] != "a" else "b") + "@" +
               ALIAS_DOMAIN)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        submit(mx, HOME, guessed, thunderbird_reply(original, "Hi."))

    # Ana answers from her mail client.
    text = "Thank you, where is my parcel now?"
    assert submit(mx, HOME, reply_to,
                  thunderbird_reply(original, text)) == {}
    (frm, rcpts, data), = sink.wait(1, timeout=WAIT)
    assert frm == rel.alias
    assert rcpts == [CARE]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == rel.alias
    assert [a.addr_spec for a in msg["To"].addresses] == [CARE]
    assert msg["Subject"] == "Re: Your order 4711"
    assert msg["In-Reply-To"] == original["Message-ID"]
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (plain, html):
        assert text in part
        assert "Your order 4711 has shipped." in part
    assert "> Your order 4711 has shipped." in plain
    assert_anonymous(data)

    sent = until("reply.sent on the ledger", lambda: [
        e for e in ana.ledger() if e["type"] == "reply.sent"])
    assert [e["relationship"] for e in sent] == [rel.id]
    # Each daemon handed on what it took; only cmr's refusals are in
    # the MX's log, as rejections in the SMTP dialogue.
    mx.wait_queue_empty()
    out.wait_queue_empty()
    assert "status=bounced" not in mx.log() + out.log()
    assert len(re.findall(r"NOQUEUE: reject: RCPT", mx.log())) == 2
    assert len(sink.mails) == 1


def test_a_reply_after_the_end_bounces_to_the_person_in_words(world):
    api, ana, rel, dc, imap, out, mx, sink = world
    brand_sends(mx, rel, "Your order 4712")
    original = forwarded(imap, "Your order 4712")
    reply_to = original["Reply-To"].addresses[0].addr_spec
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")

    assert submit(mx, HOME, reply_to,
                  thunderbird_reply(original, "One more thing.")) == {}
    # cmr refused it after DATA with a 5.7.1 in words; the MX bounced it
    # to Ana, and the bounce came to her mailbox through the outbound
    # Postfix.
    m = mx.wait_log(r"to=<" + re.escape(reply_to) + r">.*status=bounced "
                    r"\((.*)\)", timeout=WAIT)
    assert "550 5.7.1" in m.group(1), m.group(0)
    assert "relationship with this brand has ended" in m.group(1)
    bounce = wait_mail(imap, "bounce in Dovecot", lambda m: (
        m["Subject"] or "").startswith("Undelivered Mail"))
    report = " ".join(bounce.as_string().split())  # Postfix folds it
    assert "relationship with this brand has ended" in report
    assert "the reply was not sent" in report
    mx.wait_queue_empty()
    out.wait_queue_empty()
    assert sink.mails == []
    assert not [e for e in ana.ledger() if e["type"] == "reply.sent"]
    assert ana.ok("GET", "/v1/me/messages?direction=sent")["items"] == []


@pytest.mark.parametrize("evidence", [("--trust-envelope",),
                                      ("--auth-id", "mx.relay.localhost")])
def test_what_the_policy_decides_of_a_reply_address_at_rcpt(
        make_api, sink, evidence):
    """The policy door, spoken to as Postfix does: a reply address of
    ours passes; one cmr never made is refused; the envelope sender is
    judged at RCPT only under --trust-envelope (under --auth-id the
    evidence comes with the message)."""
    api = make_api("--smarthost", f"{HOST}:{sink.port}", "--policy",
                   f"{HOST}:0", "--alias-domain", ALIAS_DOMAIN, *evidence)
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    assert ana.put("/v1/me/delivery", {"password": PASSWORD,
                                       "forward": {"address": HOME}}
                   ).status == 200
    code = re.search(rb"Your code: ([0-9A-Z]{4}-[0-9A-Z]{4})",
                     sink.wait(1)[0][2]).group(1).decode()
    assert ana.post("/v1/me/delivery/verify", {"code": code}).status == 200
    assert acme.send(rel.id, topic="orders").status == 201
    data = sink.wait(2)[1][2]
    reply_to = re.search(rb"^Reply-To: <([^>]+)>", data, re.M).group(1)
    reply_to = reply_to.decode()
    local = reply_to.split("@")[0]
    guessed = (local[:-1] + ("a" if local[-1] != "a" else "b") + "@" +
               ALIAS_DOMAIN)
    trusted = evidence[0] == "--trust-envelope"
    policy = Policy(port_of(api, "policy"))
    try:
        assert policy.ask(reply_to, sender=HOME) == "DUNNO"
        assert policy.ask(reply_to, sender=HOME.upper()) == "DUNNO"
        for sender in ("mallory@evil.example", ""):
            assert policy.ask(reply_to, sender=sender) == (
                "550 5.1.1 recipient not accepted" if trusted else "DUNNO")
        assert policy.ask(guessed, sender=HOME) == \
            "550 5.1.1 recipient not accepted"
        # Forwarding turned off: the address takes no more replies.
        assert ana.put("/v1/me/delivery", {"password": PASSWORD,
                                           "forward": None}).status == 200
        assert policy.ask(reply_to, sender=HOME) == \
            "550 5.1.1 recipient not accepted"
    finally:
        policy.close()
    assert len(sink.mails) == 2
