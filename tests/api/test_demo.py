"""`cmr demo`: the demo world loads once, its messages meet every outcome
of the gate, and its personal values are sealed in the store."""
import re

import pytest

MESSAGE = re.compile(r"^\s*(msg_[0-9a-z]{16,})\s+(deliver|hold|refuse)\s+"
                     r"([a-z_]+)\s+(\S.*)$", re.M)

# Personal values of the demo's profiles (src/app/demo.c) and its passwords.
PERSONAL = ["Ana Lima", "ana@example.org", "+4915100000001",
            "demo-password-ana", "demo-password-ben"]


def decisions(output):
    return [(m.group(2), m.group(3)) for m in MESSAGE.finditer(output)]


def test_demo_messages_meet_every_outcome(demo_template):
    got = decisions(demo_template.demo_output)
    assert len(got) >= 8, demo_template.demo_output
    outcomes = {o for o, _ in got}
    assert outcomes == {"deliver", "hold", "refuse"}
    reasons = {r for _, r in got}
    for reason in ("frequency_cap", "quiet_hours", "topic_not_wanted",
                   "channel_do_not_contact"):
        assert reason in reasons, demo_template.demo_output
    assert ("hold", "quiet_hours") in got
    assert all(r == "ok" for o, r in got if o == "deliver")
    assert all(r != "ok" for o, r in got if o != "deliver")
    ids = MESSAGE.findall(demo_template.demo_output)
    assert len({i[0] for i in ids}) == len(ids)  # message ids are unique


def test_demo_lists_what_the_store_holds(demo_ctx):
    out = demo_ctx.demo_output
    persons = demo_ctx.persons()
    assert set(persons) >= {"ana", "ben"}
    for handle, pid in persons.items():
        assert re.search(rf"{handle}\s+\S+\s+{pid}", out), out
    for b in demo_ctx.json("brand", "list")["items"]:
        assert re.search(rf"{re.escape(b['name'])}\s+{b['id']}\s+cmrk_",
                         out), out


def test_second_demo_fails_and_if_empty_passes(demo_ctx):
    before = demo_ctx.persons()
    r = demo_ctx.run("demo")
    assert r.rc == 1, r
    assert "demo" in r.err
    again = demo_ctx.ok("demo", "--if-empty")
    assert demo_ctx.persons() == before
    # A second `make run` says how to log in and get a brand key again.
    assert "demo-password-ana" in again.out
    assert 'cmr brand key rotate "Acme Outdoor"' in again.out


@pytest.mark.parametrize("value", PERSONAL)
def test_personal_values_are_sealed(demo_ctx, value):
    data = demo_ctx.store_bytes()
    assert b"relationship.accepted" in data  # the scan sees the ledger
    assert value.encode() not in data


def test_demo_verifies(demo_ctx):
    r = demo_ctx.ok("ledger", "verify")
    assert r.out.startswith("ok")


def test_demo_with_a_maildir_root_exports_anas_mail(ctx, start_server,
                                                   tmp_path):
    """As `make run` does: the demo turns Ana's Maildir export on, and the
    server writes what was delivered, each in its folder."""
    import os
    import time
    root = tmp_path / "maildir"
    root.mkdir()
    ctx.ok("init")
    r = ctx.ok("demo", "--maildir-root", str(root))
    assert "maildir: ana's mail is exported" in r.out
    ana = ctx.persons()["ana"]
    start_server("--maildir-root", str(root))

    def count(folder):
        d = root / ana / folder
        return sum(len(os.listdir(d / s)) for s in ("new", "cur")
                   if (d / s).is_dir())
    end = time.monotonic() + 10
    while (count("") == 0 or count(".Shopping") == 0) and \
            time.monotonic() < end:
        time.sleep(0.05)
    assert count("") + count(".Shopping") >= 2, os.listdir(root / ana)
    assert count(".Shopping") >= 1


def ana_reader(server):
    """GET as the demo's ana on a running server: path → the JSON body
    of a 200."""
    import json

    from conftest import http
    r = http("POST", server.url + "/v1/tokens",
             json.dumps({"handle": "ana",
                         "password": "demo-password-ana"}).encode(),
             {"Content-Type": "application/json"})
    auth = {"Authorization": "Bearer " + json.loads(r.body)["token"]}

    def get(path):
        reply = http("GET", server.url + path, headers=auth)
        assert reply.status == 200, (path, reply.status, reply.body)
        return json.loads(reply.body)
    return get


def test_demo_gives_every_inbox_feature_something_to_show(demo_ctx,
                                                          start_server):
    """Ana's inbox in the demo: mail that came by LMTP as MIME (a text and
    an HTML part, an attachment), a leak with its sender, folders of her
    own with unread mail, mail in Later, read and unread, and a message
    still held when the server runs."""
    get = ana_reader(start_server())

    delivered = get("/v1/me/messages?decision=deliver&limit=200")["items"]
    unread = {}
    for m in delivered:
        unread.setdefault(m["folder"], 0)
        unread[m["folder"]] += 0 if m["read"] else 1
    assert {"inbox", "later", "Shopping", "Reading"} <= set(unread), unread
    assert all(n >= 1 for n in unread.values()), unread
    assert any(m["read"] for m in delivered)

    receipt = [m for m in delivered
               if m["subject"] == "Your receipt for order #1042"]
    assert len(receipt) == 1, delivered
    mail = get(f"/v1/me/messages/{receipt[0]['id']}")
    assert "Trail shoes" in mail["text"] and "<" not in mail["text"]
    assert "html_href" in mail
    assert mail["attachments"] == [{"name": "receipt-1042.pdf",
                                    "content_type": "application/pdf",
                                    "size": 82}]
    assert mail["headers"]["from"].endswith("<orders@acme.example>")

    refused = get("/v1/me/messages?decision=refuse&limit=200")["items"]
    leaks = [m for m in refused if m["reason"] == "sender_not_brand"
             and m["brand"]["name"] == "Acme Outdoor"]
    assert len(leaks) == 1 and leaks[0]["sender"] == \
        "win@prize-draw.example", leaks

    # The demo's other holds (quiet hours, the daily cap) are still held or
    # already released, by the time of day it was made at; the one over
    # the weekly cap is held.
    held = get("/v1/me/messages?decision=hold")["items"]
    subjects = [m["subject"] for m in held]
    assert "Staff picks (held: over the weekly cap)" in subjects, held
    assert all("(held: " in x for x in subjects), held
    capped = held[subjects.index("Staff picks (held: over the weekly cap)")]
    assert capped["reason"] == "frequency_cap" and capped["deliver_at"]


def test_demo_has_a_shop_ana_made_an_alias_for(demo_ctx, start_server):
    """Corner Bakery is not on cmr: Ana made its alias herself. Its mail
    came through intake, filed by her terms (its newsletter in Later, the
    order note in the inbox), and a broker's mail to that alias is a leak
    shown with its sender."""
    get = ana_reader(start_server())

    rels = [r for r in get("/v1/me/relationships?limit=200")["items"]
            if r["made_by"] == "person"]
    assert len(rels) == 1, rels
    bakery = rels[0]
    assert bakery["brand"]["id"] is None
    assert bakery["brand"]["name"] == "Corner Bakery"
    assert bakery["brand"]["domains"] == ["bakery.example"]
    assert bakery["terms"]["topic_folders"] == {"bulk": "later"}
    rel = bakery["id"]
    got = get(f"/v1/me/messages?relationship={rel}&decision=deliver")
    assert sorted((m["topic"], m["folder"], m["brand"]["name"])
                  for m in got["items"]) == [
        ("bulk", "later", "Corner Bakery"),
        ("direct", "inbox", "Corner Bakery")], got
    refused = get(f"/v1/me/messages?relationship={rel}&decision=refuse")
    assert [(m["reason"], m["sender"]) for m in refused["items"]] == [
        ("sender_not_brand", "deals@coupon-broker.example")], refused


def test_demo_has_anas_own_address_and_a_stranger_in_later(demo_ctx,
                                                            start_server):
    """Ana's own address at the relay takes mail from strangers into
    Later: a neighbour's note is there, with no brand and its sender."""
    get = ana_reader(start_server())
    own = get("/v1/me/address")
    assert own["address"] == "ana.lima@relay.localhost"
    assert own["strangers"] == "later"
    later = get("/v1/me/messages?folder=later")["items"]
    stranger = [m for m in later if m["subject"] == "Lost cat on Linden Street"]
    assert len(stranger) == 1, later
    assert stranger[0]["brand"] is None and stranger[0]["relationship"] is None
    assert stranger[0]["sender"] == "rosa@neighbours.example"
