"""cmr with the real thing: a test-owned Dovecot serving the Maildir cmr
writes (each message in the folder the person's terms chose), and a
test-owned Postfix in front of cmr that asks cmr's policy service at RCPT
and hands accepted mail to cmr over LMTP — strangers are rejected in the
SMTP dialogue, so Postfix never bounces."""
import re
import smtplib
import time

import pytest

from conftest import PASSWORD
from mta import make_dovecot, make_postfix  # noqa: F401
from test_delivery import files, wait_for
from test_lmtp import Lmtp, _message


def port_of(api, door):
    m = re.search(rf"{door}: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    return int(m.group(1))


def imap_subjects(imap, folder):
    typ, _ = imap.select(f'"{folder}"', readonly=True)
    assert typ == "OK", (folder, typ)
    typ, data = imap.search(None, "ALL")
    out = []
    for num in data[0].split():
        typ, msg = imap.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out.append(msg[0][1].decode().strip().removeprefix("Subject: "))
    return sorted(out)


def test_dovecot_finds_each_message_in_its_folder(make_api, make_dovecot,
                                                  tmp_path):
    root = tmp_path / "maildir"
    root.mkdir()
    api = make_api("--maildir-root", str(root), "--trust-envelope",
                   "--lmtp", "127.0.0.1:0")
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    shop = api.add_brand("Shop", "shop.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders", "offers"],
                                      "fields": []},
                      grant={"channels": {"email": {"allowed": True}},
                             "topic_folders": {"offers": "later"}})
    rel2 = api.connect(ana, shop, ask={"value": "v", "channels": ["email"],
                                       "topics": ["orders"], "fields": []},
                       grant={"channels": {"email": {"allowed": True}},
                              "folder": "Shopping"})
    assert ana.put("/v1/me/delivery", {"password": PASSWORD,
                                       "maildir": True}).status == 200
    assert acme.send(rel.id, topic="orders", subject="Your order").status \
        == 201
    assert acme.send(rel.id, topic="offers", subject="A deal").status == 201
    client = Lmtp(port_of(api, "lmtp"))
    client.cmd("LHLO mx.test")
    r = client.deliver("news@shop.example", [rel2.alias],
                       _message(subject="Shipped", topic="orders",
                                frm="news@shop.example"))
    assert r[0].startswith("250"), r
    client.close()
    assert wait_for(lambda: len(files(root, ana.id)) +
                    len(files(root, ana.id, ".Later")) +
                    len(files(root, ana.id, ".Shopping")) == 3)

    dc = make_dovecot(root, {ana.id: "imap-secret"})
    imap = dc.imap(ana.id)
    assert imap_subjects(imap, "INBOX") == ["Your order"]
    assert imap_subjects(imap, "Later") == ["A deal"]
    assert imap_subjects(imap, "Shopping") == ["Shipped"]


def test_postfix_asks_the_policy_and_hands_over_by_lmtp(make_api,
                                                        make_postfix):
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0", "--policy",
                   "127.0.0.1:0")
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    beta = api.add_brand("Beta", "beta.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    ended = api.connect(ana, beta, ask={"value": "v", "channels": ["email"],
                                        "topics": [], "fields": []},
                        grant={"channels": {"email": {"allowed": True}}})
    assert ana.post(f"/v1/me/relationships/{ended.id}/end").status == 200
    pf = make_postfix("relay.localhost", port_of(api, "lmtp"),
                      port_of(api, "policy"))
    unknown = "acme.zzzzzzzzzzzzzzzz@relay.localhost"
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=30) as smtp:
        smtp.ehlo("mx.acme.example")
        refused = smtp.sendmail(
            "news@acme.example", [rel.alias],
            _message(subject="Through Postfix", topic="orders"))
        assert refused == {}
        for bad in (unknown, ended.alias):
            smtp.mail("bulk@acme.example")
            code, text = smtp.rcpt(bad)
            assert (code, text.decode()) == (
                550, f"5.1.1 <{bad}>: Recipient address rejected: "
                "recipient not accepted"), (code, text)
            smtp.rset()
    pf.wait_queue_empty()
    assert [(rcpt, status) for _, rcpt, status, _ in pf.deliveries()] == [
        (rel.alias, "sent")]
    got = ana.messages("folder=inbox")
    assert [m["subject"] for m in got] == ["Through Postfix"]
    # The refusal at RCPT is the person's to see; the unknown alias is
    # nobody's. No bounce was made for either.
    refused = ana.messages("decision=refuse")
    assert [(m["reason"], m["sender"]) for m in refused] == [
        ("relationship_ended", "bulk@acme.example")]
    assert "status=bounced" not in pf.log()
    assert pf.queue() == []
