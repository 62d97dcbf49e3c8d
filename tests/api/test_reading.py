"""A person reads their mail: GET /v1/me/messages/{id} gives the text (the
plain part, or the HTML part as text), the headers a reader wants, the
attachments' names and sizes and, for HTML, where the web app shows it;
DELETE removes one message's content (the row stays for the caps); the
export carries every message as it came. Through LMTP and HTTP, with
others' ids."""
import base64
import os
import re
import time

import pytest

from conftest import GRANT, PASSWORD, assert_problem, assert_schema
from test_lmtp import Lmtp

MIXED = (
    "From: =?utf-8?q?Acme_Outd=C3=B6or?= <news@acme.example>\r\n"
    "To: {alias}\r\n"
    "Reply-To: help@acme.example\r\n"
    "Subject: =?utf-8?q?Your_invoice_=E2=82=AC?=\r\n"
    "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <{mid}@acme.example>\r\n"
    "CMR-Topic: orders\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
    "\r\n"
    "--alt\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello Ana, your invoice for the caf=E9 is attached.\r\n"
    "--alt\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>Hello <b>Ana</b></p><img src=\"https://track.example/p.gif\">\r\n"
    "--alt--\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf; name=\"invoice.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    + base64.encodebytes(b"%PDF-1.4\n" + b"x" * 991).decode().replace(
        "\n", "\r\n")
    + "--outer--\r\n")

HTML_ONLY = (
    "From: news@acme.example\r\nTo: {alias}\r\nSubject: Sale\r\n"
    "Message-ID: <{mid}@acme.example>\r\nCMR-Topic: orders\r\n"
    "Content-Type: text/html; charset=utf-8\r\n\r\n"
    "<html><head><style>p{{color:red}}</style></head><body>"
    "<h1>Winter sale</h1><p>Boots &amp; jackets, 20&nbsp;% off</p>"
    "<ul><li>boots</li><li>jackets</li></ul></body></html>\r\n")


@pytest.fixture
def mail(make_api, tmp_path):
    root = tmp_path / "maildir"
    root.mkdir()
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0",
                   "--maildir-root", str(root))
    port = int(re.search(r"lmtp: listening on \S+:(\d+)",
                         api.server.log()).group(1))
    ana = api.signup("ana")
    bea = api.signup("bea")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, grant=dict(GRANT, topics=["orders"]))
    client = Lmtp(port)
    assert client.cmd("LHLO test.example")[0].startswith("250")
    yield api, ana, bea, acme, rel, client, root
    client.close()


def deliver(client, rel, template, frm="news@acme.example"):
    raw = template.format(alias=rel.alias, mid=time.monotonic_ns())
    r = client.deliver(frm, [rel.alias], raw.encode())
    return r[0], raw


def newest(person, query=""):
    return person.messages(query)[0]["id"]


def test_mail_reads_as_text_headers_and_attachments(mail):
    api, ana, bea, acme, rel, client, root = mail
    reply, raw = deliver(client, rel, MIXED)
    assert reply.startswith("250"), reply
    msg = newest(ana)
    m = ana.ok("GET", f"/v1/me/messages/{msg}")
    assert_schema(m, "MessageDetail")
    assert m["text"] == "Hello Ana, your invoice for the café is attached."
    assert m["subject"] == "Your invoice €"
    h = m["headers"]
    assert "news@acme.example" in h["from"] and "Acme Outdöor" in h["from"]
    assert h["to"] == rel.alias and h["reply_to"] == "help@acme.example"
    assert h["subject"] == "Your invoice €"
    assert h["date"] == "2026-12-03T10:00:00Z"
    assert m["attachments"] == [{"name": "invoice.pdf",
                                 "content_type": "application/pdf",
                                 "size": 1000}]
    assert m["html_href"] == f"/v1/me/messages/{msg}/html"
    # Reading does not mark it read; PATCH does.
    assert m["read"] is False
    assert ana.message(msg)["read"] is False


def test_html_only_mail_reads_as_text(mail):
    api, ana, bea, acme, rel, client, root = mail
    assert deliver(client, rel, HTML_ONLY)[0].startswith("250")
    m = ana.ok("GET", f"/v1/me/messages/{newest(ana)}")
    assert_schema(m, "MessageDetail")
    assert m["text"] == ("Winter sale\n\nBoots & jackets, 20\u00a0% off\n\n"
                         "- boots\n- jackets")
    assert "color" not in m["text"]
    assert "html_href" in m and m["attachments"] == []


def test_a_message_over_http_reads_as_its_body(mail):
    api, ana, bea, acme, rel, client, root = mail
    sent = acme.send(rel.id, topic="orders", subject="Shipped",
                     body="Your order #1042 has shipped.").json()
    m = ana.ok("GET", f"/v1/me/messages/{sent['id']}")
    assert_schema(m, "MessageDetail")
    assert m["text"] == "Your order #1042 has shipped."
    assert m["headers"] == {"from": "Acme", "to": rel.alias,
                            "subject": "Shipped"}
    assert "html_href" not in m


def test_a_refusal_shows_its_headers_and_no_text(mail):
    api, ana, bea, acme, rel, client, root = mail
    leak = MIXED.replace("news@acme.example", "spam@evil.example")
    reply, _ = deliver(client, rel, leak, frm="spam@evil.example")
    assert reply.startswith("550"), reply
    refused = newest(ana, "decision=refuse")
    m = ana.ok("GET", f"/v1/me/messages/{refused}")
    assert_schema(m, "MessageDetail")
    assert (m["decision"], m["reason"]) == ("refuse", "sender_not_brand")
    assert m["text"] is None and m["attachments"] == []
    assert "spam@evil.example" in m["headers"]["from"]


def test_only_the_person_reads_their_message(mail):
    api, ana, bea, acme, rel, client, root = mail
    sent = acme.send(rel.id, topic="orders", body="for ana").json()
    before = ana.snapshot()
    assert_problem(bea.get(f"/v1/me/messages/{sent['id']}"), 404)
    assert_problem(bea.delete(f"/v1/me/messages/{sent['id']}"), 404)
    assert_problem(acme.get(f"/v1/me/messages/{sent['id']}"), 403)
    assert_problem(ana.get("/v1/me/messages/msg_nope"), 400)
    assert ana.snapshot() == before
    assert ana.ok("GET", f"/v1/me/messages/{sent['id']}")["text"] == \
        "for ana"


def maildir_files(root, person):
    out = []
    for d, _, files in os.walk(root / person):
        out += [f for f in files if not f.startswith(".")
                and os.path.basename(d) in ("new", "cur")]
    return out


def wait_for(check, timeout=10.0):
    end = time.monotonic() + timeout
    while not (got := check()) and time.monotonic() < end:
        time.sleep(0.05)
    return got


def test_delete_removes_the_content_and_its_maildir_copy(mail):
    api, ana, bea, acme, rel, client, root = mail
    assert ana.ok("PATCH", "/v1/me/delivery",
                  {"password": PASSWORD, "maildir": True})["maildir"]
    reply, raw = deliver(client, rel, MIXED)
    kept = acme.send(rel.id, topic="orders", subject="keep").json()["id"]
    msg = ana.messages("folder=inbox")[1]["id"]  # newest first
    assert msg != kept
    assert wait_for(lambda: len(maildir_files(root, ana.id)) == 2)
    r = ana.delete(f"/v1/me/messages/{msg}")
    assert r.status == 204, r
    assert_problem(ana.get(f"/v1/me/messages/{msg}"), 404)
    assert [m["id"] for m in ana.messages()] == [kept]
    assert_problem(ana.delete(f"/v1/me/messages/{msg}"), 404)
    assert wait_for(lambda: len(maildir_files(root, ana.id)) == 1)
    api.stop()
    with api.ctx.sql() as db:
        row = db.execute("SELECT removed, subject, body, headers, sender "
                         "FROM attempts WHERE removed = 1").fetchall()
    assert row == [(1, None, None, None, None)]


def test_a_held_message_is_not_deleted(mail):
    api, ana, bea, acme, rel, client, root = mail
    terms = dict(GRANT, topics=["orders"], channels={"email": {
        "allowed": True, "over_cap": "hold",
        "cap": {"max": 1, "per_seconds": 3600}}})
    assert rel.put_terms(terms).status == 200
    acme.send(rel.id, topic="orders", subject="one")
    held = acme.send(rel.id, topic="orders", subject="two").json()["id"]
    assert ana.message(held)["decision"] == "hold"
    assert_problem(ana.delete(f"/v1/me/messages/{held}"), 409)
    assert ana.message(held)["subject"] == "two"


def test_the_export_carries_every_message_as_it_came(mail):
    api, ana, bea, acme, rel, client, root = mail
    reply, raw = deliver(client, rel, MIXED)
    sent = acme.send(rel.id, topic="orders", body="plain body").json()
    doc = ana.ok("POST", "/v1/me/export", {"password": PASSWORD})
    by_id = {m["id"]: m for m in doc["messages"]}
    http_item = by_id[sent["id"]]
    assert (http_item["raw"], http_item["raw_is"]) == ("plain body",
                                                       "message")
    mails = [m for m in doc["messages"] if m["id"] != sent["id"]]
    assert len(mails) == 1 and mails[0]["raw_is"] == "message"
    # Every byte as it came (the LMTP client ends it with a line of its
    # own).
    assert mails[0]["raw"] in (raw, raw + "\r\n"), mails[0]["raw"][-80:]
