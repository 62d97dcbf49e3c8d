"""Delivery beyond the store: GET/PUT /v1/me/delivery and the Maildir
export (--maildir-root). Each delivered message lands once in the person's
Maildir++ folder the gate chose, whether it came over HTTP or LMTP; moving
and emptying folders through the API follow; a planted symbolic link is
refused, never followed; erasure removes the Maildir."""
import email
import email.policy
import os
import re
import time

import pytest

from conftest import ASK, PASSWORD, assert_problem
from test_lmtp import Lmtp, _message


def wait_for(check, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.05)


def files(root, *parts):
    """Files of a Maildir folder directory (new/ and cur/), by name."""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(root, *parts, sub)
        if os.path.isdir(d):
            for name in os.listdir(d):
                out[name] = os.path.join(d, name)
    return out


@pytest.fixture
def md(make_api, tmp_path):
    root = tmp_path / "maildir"
    root.mkdir()
    api = make_api("--maildir-root", str(root), "--trust-envelope",
                   "--lmtp", "127.0.0.1:0")
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask=dict(ASK, topics=["orders", "offers"]),
                      grant={"channels": {"email": {"allowed": True}},
                             "topic_folders": {"offers": "later"}})
    return api, ana, acme, rel, root


def enable(person, on=True):
    return person.put("/v1/me/delivery", {"password": PASSWORD,
                                          "maildir": on})


def test_settings_shape_and_errors(md):
    api, ana, acme, rel, root = md
    got = ana.ok("GET", "/v1/me/delivery")
    assert got == {"maildir": False, "webhook": None, "forward": None,
                   "available": {"maildir": True, "webhook": True,
                                 "forward": False},
                   "outbox": {"pending": 0, "failing": 0,
                              "last_error": None}}
    assert_problem(ana.put("/v1/me/delivery", {"maildir": True}), 400,
                   "password")
    assert_problem(ana.put("/v1/me/delivery", {"password": "wrong-one!!",
                                               "maildir": True}), 403,
                   "password")
    assert_problem(ana.put("/v1/me/delivery", {"password": PASSWORD,
                                               "maildir": "yes"}), 400,
                   "maildir")
    assert_problem(ana.put("/v1/me/delivery", {"password": PASSWORD,
                                               "fax": True}), 400, "fax")
    assert_problem(ana.put("/v1/me/delivery", [1]), 400)
    assert ana.ok("GET", "/v1/me/delivery")["maildir"] is False
    assert not any(e["type"] == "delivery.changed" for e in ana.ledger())
    r = enable(ana)
    assert r.status == 200, r
    assert r.json()["maildir"] is True
    assert [e["data"] for e in ana.ledger()
            if e["type"] == "delivery.changed"] == [
        {"maildir": True, "webhook": False, "forward": False}]


def test_without_a_maildir_root_it_cannot_be_turned_on(api):
    ana = api.signup("ana")
    assert ana.ok("GET", "/v1/me/delivery")["available"] == {
        "maildir": False, "webhook": True, "forward": False}
    assert_problem(enable(ana), 422, "maildir")


def test_http_and_lmtp_messages_land_in_their_folders(md):
    api, ana, acme, rel, root = md
    # Delivered before the Maildir was on: exported when it is turned on.
    assert acme.send(rel.id, topic="orders", subject="Before").status == 201
    assert enable(ana).status == 200
    per = ana.id
    inbox = wait_for(lambda: files(root, per))
    assert len(inbox) == 1
    assert acme.send(rel.id, topic="offers", subject="Grüße").status == 201
    later = wait_for(lambda: files(root, per, ".Later"))
    assert len(later) == 1
    msg = email.message_from_bytes(open(list(later.values())[0], "rb").read(),
                                   policy=email.policy.default)
    assert msg["Subject"] == "Grüße"
    assert msg["To"].addresses[0].addr_spec == rel.alias
    assert msg["CMR-Topic"] == "offers"
    assert "A message." in msg.get_content()
    # Over LMTP: the bytes as received.
    m = re.search(r"lmtp: listening on \S+:(\d+)", api.server.log())
    client = Lmtp(int(m.group(1)))
    client.cmd("LHLO test.example")
    raw = _message(topic="orders")
    assert client.deliver("news@acme.example", [rel.alias], raw)[0] \
        .startswith("250")
    client.close()
    inbox = wait_for(lambda: len(files(root, per)) == 2 and files(root, per))
    # (the test client ends the data with an empty line of its own)
    assert raw + b"\r\n" in [open(p, "rb").read() for p in inbox.values()]
    # Files are the server user's, not readable by others.
    for p in inbox.values():
        assert os.stat(p).st_mode & 0o077 == 0
    assert os.path.isfile(os.path.join(root, per, ".Later", "maildirfolder"))
    # The file is written before its outbox row is settled.
    assert wait_for(lambda: ana.ok("GET", "/v1/me/delivery")["outbox"][
        "pending"] == 0)


def test_moving_and_emptying_follow_in_the_maildir(md):
    api, ana, acme, rel, root = md
    assert enable(ana).status == 200
    per = ana.id
    acme.send(rel.id, topic="orders", subject="One")
    acme.send(rel.id, topic="orders", subject="Two")
    assert wait_for(lambda: len(files(root, per)) == 2)
    items = ana.messages("folder=inbox")
    ana.ok("PATCH", f"/v1/me/messages/{items[0]['id']}",
           {"folder": "Shopping list"})
    assert wait_for(lambda: len(files(root, per, ".Shopping list")) == 1)
    assert len(files(root, per)) == 1
    assert ana.post("/v1/me/folders/inbox/empty").status == 200
    assert wait_for(lambda: len(files(root, per)) == 0)
    assert len(files(root, per, ".Shopping list")) == 1


def test_turning_it_off_stops_the_export(md):
    api, ana, acme, rel, root = md
    assert enable(ana).status == 200
    acme.send(rel.id, topic="orders")
    assert wait_for(lambda: len(files(root, ana.id)) == 1)
    assert enable(ana, False).status == 200
    acme.send(rel.id, topic="orders")
    time.sleep(0.6)
    assert len(files(root, ana.id)) == 1


def test_a_planted_link_is_refused_not_followed(md, tmp_path):
    api, ana, acme, rel, root = md
    outside = tmp_path / "outside"
    outside.mkdir()
    assert enable(ana).status == 200
    acme.send(rel.id, topic="orders")
    assert wait_for(lambda: len(files(root, ana.id)) == 1)
    os.symlink(outside, root / ana.id / ".Later")
    acme.send(rel.id, topic="offers")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert state["outbox"]["failing"] == 1
    assert "symbolic link" in state["outbox"]["last_error"]
    assert list(outside.iterdir()) == []
    # The store is the truth: the message is delivered all the same.
    assert [m["topic"] for m in ana.messages("folder=later")] == ["offers"]


def test_erasure_removes_the_maildir(md):
    api, ana, acme, rel, root = md
    assert enable(ana).status == 200
    acme.send(rel.id, topic="offers")
    assert wait_for(lambda: len(files(root, ana.id, ".Later")) == 1)
    assert ana.call("DELETE", "/v1/me", {"password": PASSWORD}).status == 204
    assert wait_for(lambda: not (root / ana.id).exists())
    assert list(root.iterdir()) == []


def test_each_sees_only_their_own(md):
    api, ana, acme, rel, root = md
    ben = api.signup("ben")
    assert enable(ana).status == 200
    assert ben.ok("GET", "/v1/me/delivery")["maildir"] is False
    acme.send(rel.id, topic="orders")
    assert wait_for(lambda: len(files(root, ana.id)) == 1)
    assert not (root / ben.id).exists()
    # A brand's key is not a person's credential.
    assert acme.call("GET", "/v1/me/delivery").status in (401, 403)


@pytest.mark.parametrize("folder", ["../../etc", "a/b", ".hidden", "x.y",
                                    "", "a" * 65, "tab\tname"])
def test_folder_names_that_could_escape_are_refused(md, folder):
    api, ana, acme, rel, root = md
    assert enable(ana).status == 200
    acme.send(rel.id, topic="orders")
    assert wait_for(lambda: len(files(root, ana.id)) == 1)
    msg = ana.messages("folder=inbox")[0]
    r = ana.call("PATCH", f"/v1/me/messages/{msg['id']}", {"folder": folder})
    assert_problem(r, 422, "folder")
    r = rel.put_terms({"channels": {"email": {"allowed": True}},
                       "topics": ["orders"], "folder": folder})
    assert r.status in (400, 422), r
    time.sleep(0.4)  # a wrongly queued move would have run by now
    assert sorted(p.name for p in root.iterdir()) == [ana.id]
    assert sorted(p.name for p in (root / ana.id).iterdir()) == [
        "cur", "new", "tmp"]


def test_off_and_on_again_leaves_one_copy_each_where_it_belongs(md):
    """Copies follow moves and removals while the Maildir is off too, and
    turning it on again looks for a copy before writing one (a reader may
    have renamed it with flags)."""
    api, ana, acme, rel, root = md
    assert enable(ana).status == 200
    for subject in ("Keep", "Move", "Drop"):
        acme.send(rel.id, topic="orders", subject=subject)
    assert wait_for(lambda: len(files(root, ana.id)) == 3)
    # Dovecot moved one to cur/ with the Seen flag.
    name, path = sorted(files(root, ana.id).items())[0]
    os.rename(path, root / ana.id / "cur" / (name + ":2,S"))
    assert enable(ana, False).status == 200
    by_subject = {m["subject"]: m["id"] for m in ana.messages("folder=inbox")}
    ana.ok("PATCH", f"/v1/me/messages/{by_subject['Move']}",
           {"folder": "Elsewhere"})
    assert wait_for(lambda: len(files(root, ana.id, ".Elsewhere")) == 1)
    acme.send(rel.id, topic="orders", subject="While off")
    assert enable(ana).status == 200
    ana.ok("PATCH", f"/v1/me/messages/{by_subject['Drop']}",
           {"folder": "Trash"})
    assert ana.post("/v1/me/folders/Trash/empty").status == 200
    time.sleep(1.0)
    assert wait_for(lambda: len(files(root, ana.id)) == 2)
    inbox = files(root, ana.id)
    assert len(inbox) == 2, sorted(inbox)  # Keep and While off
    assert len(files(root, ana.id, ".Elsewhere")) == 1
    assert len(files(root, ana.id, ".Trash")) == 0
    names = [n.split(":")[0] for n in inbox] + \
        [n.split(":")[0] for n in files(root, ana.id, ".Elsewhere")]
    assert len(names) == len(set(names))  # no message twice


def test_a_cut_subject_is_still_text(md):
    """A header cut to its field's size never ends inside a character:
    the message lists, and its subject is valid text."""
    import re as _re
    api, ana, acme, rel, root = md
    m = _re.search(r"lmtp: listening on \S+:(\d+)", api.server.log())
    client = Lmtp(int(m.group(1)))
    client.cmd("LHLO mx.test")
    import base64
    subject = "x" + "ä" * 600
    words = ["=?utf-8?b?" + base64.b64encode(subject[i:i + 20].encode())
             .decode() + "?=" for i in range(0, len(subject), 20)]
    head = ("From: news@acme.example\r\nSubject: " + "\r\n ".join(words) +
            "\r\nCMR-Topic: orders\r\nMessage-ID: <cut@acme.example>\r\n")
    assert client.deliver("news@acme.example", [rel.alias],
                          head.encode() + b"\r\nBody\r\n")[0] \
        .startswith("250")
    client.close()
    got = ana.messages("folder=inbox")
    assert len(got) == 1
    assert got[0]["subject"].startswith("xää")
    assert len(got[0]["subject"].encode()) <= 998


def test_reading_marks_the_copy_seen(md):
    api, ana, acme, rel, root = md
    assert enable(ana).status == 200
    acme.send(rel.id, topic="orders")
    assert wait_for(lambda: len(files(root, ana.id)) == 1)
    (name, path), = files(root, ana.id).items()
    assert "/new/" in path
    # A reader added a flag of its own: it stays.
    os.rename(path, root / ana.id / "cur" / (name + ":2,F"))
    msg = ana.messages("folder=inbox")[0]
    ana.ok("PATCH", f"/v1/me/messages/{msg['id']}", {"read": True})
    assert wait_for(lambda: list(files(root, ana.id)) == [name + ":2,FS"]), \
        list(files(root, ana.id))
    ana.ok("PATCH", f"/v1/me/messages/{msg['id']}", {"read": False})
    assert wait_for(lambda: list(files(root, ana.id)) == [name + ":2,F"]), \
        list(files(root, ana.id))
