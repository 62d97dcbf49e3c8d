"""Replies through the alias: forwarded mail carries Reply-To a reply
address; the person answers from their own mailbox (a reply shaped like a
real client's) or from the web app, and the brand receives it from the
alias through the smarthost, with nothing that names the person. Forged
senders, ended relationships and other persons' messages are refused."""
import email
import email.policy
import re
import time

import pytest

from conftest import PASSWORD, assert_problem
from smtp_sink import sink  # noqa: F401
from test_delivery import wait_for
from test_forward import code_in, forward
from test_lmtp import Lmtp

HOME = "ana@home.example"
NAME = "Ana Lima"


def brand_mail(subject="Your order", frm="orders@acme.example",
               reply_to=None):
    head = (f"From: Acme <{frm}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.monotonic_ns()}@acme.example>\r\n"
            "CMR-Topic: orders\r\n")
    if reply_to:
        head += f"Reply-To: Acme Care <{reply_to}>\r\n"
    return head.encode() + b"\r\nYour order has shipped.\r\n"


def client_reply(reply_to, subject="Re: Your order", frm=HOME, name=NAME):
    """A reply as Thunderbird writes it: multipart/alternative, an
    Autocrypt header, a User-Agent, a quoted attribution line with the
    person's name and address, and an HTML part with both."""
    return (
        f"From: {name} <{frm}>\r\n"
        f"To: {reply_to}\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{time.monotonic_ns()}@home.example>\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0100\r\n"
        "User-Agent: Mozilla/5.0 Thunderbird/128.0\r\n"
        "X-Originating-IP: [203.0.113.7]\r\n"
        "Received: from laptop.home.example (203.0.113.7) by "
        "mx.home.example\r\n"
        f"Autocrypt: addr={frm}; keydata=mQENBFakekeydataAAAA\r\n"
        "DKIM-Signature: v=1; a=rsa-sha256; d=home.example; s=s1; "
        "b=abcd\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Thank you, where is my parcel now?\r\n"
        "\r\n"
        f"{name}\r\n"
        "\r\n"
        f"On 02/12/2026 10:00, {name} <{frm}> wrote:\r\n"
        "> Your order has shipped.\r\n"
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<p>Thank you, where is my parcel now?</p><p>" + name +
        "</p><div>On 02/12/2026, " + name + " &lt;<a href=3D\"mailto:" +
        frm + "\">" + frm + "</a>&gt; wrote:</div><blockquote>Your order "
        "has shipped.</blockquote>\r\n"
        "--b1--\r\n").encode()


def lmtp_port(api):
    return int(re.search(r"lmtp: listening on \S+:(\d+)",
                         api.server.log()).group(1))


def deliver(api, sender, rcpt, data):
    c = Lmtp(lmtp_port(api))
    c.cmd("LHLO mx.test")
    r = c.deliver(sender, [rcpt], data)
    c.close()
    return r[0]


@pytest.fixture
def world(make_api, sink):
    """Ana, with a verified forward to her home address, a relationship
    with Acme, and her profile name and email (which a reply must never
    carry to the brand)."""
    api = make_api("--smarthost", f"127.0.0.1:{sink.port}",
                   "--trust-envelope", "--lmtp", "127.0.0.1:0")
    ana = api.signup("ana", profile={"name": NAME, "email": HOME})
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    assert forward(ana, HOME).status == 200
    code = code_in(sink.wait(1)[0][2])
    assert ana.post("/v1/me/delivery/verify", {"code": code}).status == 200
    return api, ana, acme, rel, sink


def forwarded_reply_to(api, rel, sink, n, **kw):
    """Delivers a brand mail to the alias; returns the reply address the
    forwarded copy carries (the n-th mail of the sink) and the copy."""
    assert deliver(api, "orders@acme.example", rel.alias,
                   brand_mail(**kw)).startswith("250")
    frm, rcpts, data = sink.wait(n)[n - 1]
    assert rcpts == [HOME]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    replies = msg.get_all("Reply-To")
    assert len(replies) == 1, replies
    m = re.fullmatch(r"<?(r\.[0-9a-z]{26}@relay\.localhost)>?",
                     str(replies[0]))
    assert m, replies
    return m.group(1), data


def assert_anonymous(data):
    """Nothing of the person, in the raw bytes or any decoded part."""
    low = data.lower()
    for needle in (b"home.example", b"ana lima", b"203.0.113.7",
                   b"autocrypt", b"thunderbird", b"mqenbf"):
        assert needle not in low, (needle, data)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            text = part.get_content().lower()
            assert "home.example" not in text and "ana lima" not in text
            assert not re.search(r"\bana\b", text), text


def test_a_reply_by_mail_reaches_the_brand_from_the_alias(world):
    api, ana, acme, rel, sink = world
    reply_to, copy = forwarded_reply_to(api, rel, sink, 2,
                                        reply_to="care@acme.example")
    # The forwarded copy is the brand's mail but for its Reply-To.
    assert b"care@acme.example" not in copy
    r = deliver(api, HOME, reply_to, client_reply(reply_to))
    assert r.startswith("250"), r
    frm, rcpts, data = sink.wait(3)[2]
    assert frm == rel.alias
    assert rcpts == ["care@acme.example"]  # the brand's Reply-To
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == rel.alias
    assert msg["To"].addresses[0].addr_spec == "care@acme.example"
    assert "where is my parcel" in data.decode()
    assert "Your order has shipped" in data.decode()
    assert_anonymous(data)
    # On the ledger and in the sent view, under its message.
    sent = wait_for(lambda: [e for e in ana.ledger()
                             if e["type"] == "reply.sent"])
    assert sent[0]["relationship"] == rel.id
    assert sent[0]["data"]["via"] == "mail"
    page = ana.ok("GET", "/v1/me/messages?direction=sent")
    (item,) = page["items"]
    assert item["state"] == "sent" and item["via"] == "mail"
    assert item["to"] == "care@acme.example"
    assert item["relationship"] == rel.id
    original = [m for m in ana.messages() if m["subject"] == "Your order"]
    assert item["answers"] == original[0]["id"]
    got = ana.ok("GET", f"/v1/me/messages/{original[0]['id']}")
    assert [x["id"] for x in got["replies"]] == [item["id"]]
    assert "where is my parcel" in got["replies"][0]["text"]
    # The person's export carries it, text and all.
    doc = ana.ok("POST", "/v1/me/export", {"password": PASSWORD})
    assert [x["id"] for x in doc["replies"]] == [item["id"]]
    assert "where is my parcel" in doc["replies"][0]["text"]


def test_a_reply_from_the_web_app(world):
    api, ana, acme, rel, sink = world
    forwarded_reply_to(api, rel, sink, 2)
    msg_id = ana.messages("folder=inbox")[0]["id"]
    r = ana.post(f"/v1/me/messages/{msg_id}/reply",
                 {"body": f"Hello, I am {NAME} ({HOME}); where is it?"})
    assert r.status == 201, r
    reply_id = r.json()["id"]
    frm, rcpts, data = sink.wait(3)[2]
    assert frm == rel.alias and rcpts == ["orders@acme.example"]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == "Re: Your order"
    assert msg["In-Reply-To"]
    assert "where is it?" in msg.get_body().get_content()
    assert_anonymous(data)
    item = wait_for(lambda: [i for i in ana.ok(
        "GET", "/v1/me/messages?direction=sent")["items"]
        if i["state"] == "sent"])[0]
    assert item["id"] == reply_id and item["via"] == "web"


def test_an_http_message_without_a_brand_contact_cannot_be_answered(world):
    api, ana, acme, rel, sink = world
    acme.send(rel.id, topic="orders", subject="By API")
    sink.wait(2)
    msg_id = [m for m in ana.messages() if m["subject"] == "By API"][0]["id"]
    # Acme was added without a contact email: nothing to answer.
    r = ana.post(f"/v1/me/messages/{msg_id}/reply", {"body": "hi"})
    assert_problem(r, 409)
    assert "no address" in r.json()["detail"]


def test_forged_senders_get_the_uniform_refusal(world):
    api, ana, acme, rel, sink = world
    reply_to, _ = forwarded_reply_to(api, rel, sink, 2)
    uniform = f"550 5.1.1 <{reply_to}>: recipient not accepted"
    # Another sender, or the person's From with another envelope.
    assert deliver(api, "mallory@evil.example", reply_to,
                   client_reply(reply_to, frm="mallory@evil.example")
                   ) == uniform
    assert deliver(api, "mallory@evil.example", reply_to,
                   client_reply(reply_to)) == uniform
    # A token of the right shape that is not ours.
    fake = "r." + "a" * 26 + "@relay.localhost"
    assert deliver(api, HOME, fake, client_reply(fake)) == \
        f"550 5.1.1 <{fake}>: recipient not accepted"
    # A tag changed in one character.
    local = reply_to.split("@")[0]
    flipped = local[:-1] + ("b" if local[-1] != "b" else "c")
    flipped += "@relay.localhost"
    assert deliver(api, HOME, flipped, client_reply(flipped)).startswith(
        "550 5.1.1")
    time.sleep(0.5)
    assert len(sink.mails) == 2
    assert ana.ok("GET", "/v1/me/messages?direction=sent")["items"] == []


def test_a_reply_after_the_end_is_refused_with_a_word(world):
    api, ana, acme, rel, sink = world
    reply_to, _ = forwarded_reply_to(api, rel, sink, 2)
    msg_id = ana.messages("folder=inbox")[0]["id"]
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    r = deliver(api, HOME, reply_to, client_reply(reply_to))
    assert r.startswith("550 5.7.1") and "ended" in r, r
    r = ana.post(f"/v1/me/messages/{msg_id}/reply", {"body": "hi"})
    assert_problem(r, 409)
    assert "ended" in r.json()["detail"]
    time.sleep(0.5)
    assert len(sink.mails) == 2


def test_only_the_owner_replies_and_bad_bodies(world):
    api, ana, acme, rel, sink = world
    forwarded_reply_to(api, rel, sink, 2)
    msg_id = ana.messages("folder=inbox")[0]["id"]
    ben = api.signup("ben")
    before = ana.snapshot()
    r = ben.post(f"/v1/me/messages/{msg_id}/reply", {"body": "hi"})
    assert_problem(r, 404)
    assert acme.post(f"/v1/me/messages/{msg_id}/reply",
                     {"body": "hi"}).status in (401, 403)
    for body, field in [({}, "body"), ({"body": ""}, "body"),
                        ({"body": 7}, "body"),
                        ({"body": "x" * 70000}, "body"),
                        ({"body": "hi", "cc": "x"}, "cc")]:
        r = ana.post(f"/v1/me/messages/{msg_id}/reply", body)
        assert_problem(r, r.status, field)
        assert r.status in (400, 422)
    assert_problem(ana.post(f"/v1/me/messages/{msg_id}/reply", b"{"), 400)
    assert_problem(ana.post("/v1/me/messages/msg_0000000000000000/reply",
                            {"body": "hi"}), 400)
    assert ana.snapshot() == before
    assert_problem(ana.get("/v1/me/messages?direction=up"), 400,
                   "direction")
    assert_problem(ana.get("/v1/me/messages?direction=sent&folder=inbox"),
                   400, "direction")
    time.sleep(0.5)
    assert len(sink.mails) == 2
