"""The suite's real mail servers (mta.py) work on this machine: Dovecot
serves a hand-made Maildir++ tree over IMAP, Postfix relays what its
policy service allows to an LMTP server and refuses the rest at RCPT time
without bouncing, Dovecot's LMTP files mail with Sieve, and the sending
tools (smtp-source, swaks) are there. When a test of cmr with Postfix or
Dovecot fails, these say whether the harness itself still works."""
import os
import shutil
import smtplib
import socketserver
import subprocess
import threading

import pytest

from mta import SMTP_SOURCE, SWAKS, MtaError, sieve_by_sender_domain
from mta import make_dovecot, make_postfix  # noqa: F401 (fixtures)

RELAY = "relay.test"


# --- stand-ins for cmr's two doors ----------------------------------------

class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class FakeLmtp:
    """An LMTP server on a random port that stores every message and says
    250 for every recipient. `messages` holds (sender, [rcpts], bytes)."""

    def __init__(self):
        self.messages = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def say(self, line):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.say("220 fake-lmtp ready")
                sender, rcpts = None, []
                for raw in self.rfile:
                    cmd = raw.decode("latin-1").rstrip("\r\n")
                    verb = cmd[:4].upper()
                    if verb == "LHLO":
                        self.say("250-fake-lmtp")
                        self.say("250 PIPELINING")
                    elif verb == "MAIL":
                        sender, rcpts = cmd[10:].split(">")[0] + ">", []
                        self.say("250 2.1.0 ok")
                    elif verb == "RCPT":
                        rcpts.append(cmd[8:].split(">")[0].lstrip("<"))
                        self.say("250 2.1.5 ok")
                    elif verb == "DATA":
                        self.say("354 go ahead")
                        body = b""
                        for line in self.rfile:
                            if line == b".\r\n":
                                break
                            body += line[1:] if line.startswith(b"..") \
                                else line
                        owner.messages.append((sender, rcpts, body))
                        for _ in rcpts:
                            self.say("250 2.0.0 stored")
                    elif verb == "RSET":
                        sender, rcpts = None, []
                        self.say("250 2.0.0 ok")
                    elif verb == "QUIT":
                        self.say("221 2.0.0 bye")
                        return
                    else:
                        self.say("500 5.5.2 what?")

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakePolicy:
    """A Postfix policy service on a random port: REJECT for recipients
    whose local part starts with "bad", DUNNO for the rest. `requests`
    holds every request's attributes."""

    def __init__(self):
        self.requests = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                attrs = {}
                for raw in self.rfile:
                    line = raw.decode("latin-1").rstrip("\n")
                    if line:
                        name, _, value = line.partition("=")
                        attrs[name] = value
                        continue
                    owner.requests.append(attrs)
                    rcpt = attrs.get("recipient", "")
                    action = ("REJECT 5.1.1 no such alias"
                              if rcpt.startswith("bad") else "DUNNO")
                    self.wfile.write(f"action={action}\n\n".encode())
                    attrs = {}

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_lmtp():
    s = FakeLmtp()
    yield s
    s.close()


@pytest.fixture
def fake_policy():
    s = FakePolicy()
    yield s
    s.close()


def message(frm, to, subject):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n"
            f"Hello.\r\n.leading dot\r\n").encode()


def maildir(root, *folders):
    """An empty Maildir++ (INBOX plus folders) at `root`, mode 0700 and
    root-owned as cmr would leave it."""
    for sub in ["", *[f".{f}" for f in folders]]:
        for leaf in ("cur", "new", "tmp"):
            (root / sub / leaf).mkdir(parents=True, exist_ok=True)
        if sub:
            (root / sub / "maildirfolder").touch()
    for base, dirs, _ in os.walk(root):
        os.chmod(base, 0o700)


def drop(root, folder, name, frm, subject):
    path = root / (f".{folder}" if folder else "") / "new" / name
    path.write_bytes(message(frm, "someone@" + RELAY, subject))
    path.chmod(0o600)


def subjects(imap, mailbox):
    typ, data = imap.select(mailbox, readonly=True)
    assert typ == "OK", (mailbox, data)
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    return sorted(part[1].decode().split(":", 1)[1].strip()
                  for part in data if isinstance(part, tuple))


# --- Dovecot ---------------------------------------------------------------

def test_dovecot_serves_a_maildir_plus_plus_tree_over_imap(tmp_path,
                                                           make_dovecot):
    root = tmp_path / "maildirs"
    person = root / "per_alice"
    maildir(person, "Later")
    drop(person, None, "1.a", "shop@acme.example", "In the inbox")
    drop(person, "Later", "2.a", "news@acme.example", "Filed for later")

    dc = make_dovecot(root, {"per_alice": "s3cret"})
    imap = dc.imap("per_alice")
    typ, boxes = imap.list()
    assert typ == "OK"
    names = sorted(b.decode().rsplit(" ", 1)[1].strip('"') for b in boxes)
    assert names == ["INBOX", "Later"]
    assert subjects(imap, "INBOX") == ["In the inbox"]
    assert subjects(imap, "Later") == ["Filed for later"]

    # What root writes afterwards is readable once handed over again.
    drop(person, "Later", "3.a", "news@acme.example", "Also later")
    assert subjects(dc.imap("per_alice"), "Later") == [
        "Also later", "Filed for later"]

    with pytest.raises(MtaError, match="login"):
        dc.imap("per_alice", "wrong")
    assert "Login: user=<per_alice>" in dc.log()


# --- Postfix ---------------------------------------------------------------

def test_postfix_relays_what_the_policy_allows_and_rejects_at_rcpt(
        make_postfix, fake_lmtp, fake_policy):
    pf = make_postfix(RELAY, fake_lmtp.port, fake_policy.port)
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        assert smtp.mail("brand@shop.example")[0] == 250
        assert smtp.rcpt(f"good@{RELAY}")[0] == 250
        code, text = smtp.rcpt(f"bad@{RELAY}")
        assert code == 554 and b"5.1.1" in text and b"no such alias" in text
        code, text = smtp.rcpt("someone@elsewhere.example")
        assert code == 554 and b"Relay access denied" in text
        code, _ = smtp.data(message("brand@shop.example", f"good@{RELAY}",
                                    "Hi"))
        assert code == 250

    pf.wait_queue_empty()
    assert len(fake_lmtp.messages) == 1
    sender, rcpts, body = fake_lmtp.messages[0]
    assert sender == "<brand@shop.example>"
    assert rcpts == [f"good@{RELAY}"]
    assert b"Subject: Hi" in body and b"\r\n.leading dot\r\n" in body

    # The policy was asked at RCPT time, once per relay_domain recipient.
    asked = [(r["protocol_state"], r["recipient"])
             for r in fake_policy.requests]
    assert asked == [("RCPT", f"good@{RELAY}"), ("RCPT", f"bad@{RELAY}")]
    assert fake_policy.requests[0]["sender"] == "brand@shop.example"

    # One delivery, and no bounce for the refused recipients.
    assert [(rcpt, status) for _, rcpt, status, _ in pf.deliveries()] == [
        (f"good@{RELAY}", "sent")]
    log = pf.log()
    assert "sender non-delivery notification" not in log
    assert "status=bounced" not in log


def test_postfix_delivers_to_dovecot_lmtp_which_files_with_sieve(
        make_postfix, make_dovecot):
    dc = make_dovecot(None, {"per_bob": "pw"}, lmtp=True,
                      sieve=sieve_by_sender_domain(
                          {"shop.example": "Shopping"}))
    pf = make_postfix(RELAY, dc.lmtp_port, None)
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=30) as smtp:
        for frm, subject in (("deals@shop.example", "Sale"),
                             ("friend@home.example", "Dinner?")):
            smtp.sendmail(frm, [f"per_bob@{RELAY}"],
                          message(frm, f"per_bob@{RELAY}", subject))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("x@home.example", ["y@elsewhere.example"],
                          message("x@home.example", "y@elsewhere.example",
                                  "Nope"))
    pf.wait_queue_empty()
    assert [s for _, _, s, _ in pf.deliveries()] == ["sent", "sent"]

    imap = dc.imap("per_bob")
    assert subjects(imap, "Shopping") == ["Sale"]
    assert subjects(imap, "INBOX") == ["Dinner?"]
    assert "fileinto action: stored mail into mailbox 'Shopping'" in dc.log()


def test_smtp_source_and_swaks_send_through_postfix(make_postfix, fake_lmtp):
    assert os.access(SMTP_SOURCE, os.X_OK), "smtp-source (postfix) missing"
    assert shutil.which("swaks") == SWAKS, "swaks missing"
    pf = make_postfix(RELAY, fake_lmtp.port, None)
    addr = f"127.0.0.1:{pf.smtp_port}"

    r = subprocess.run([SMTP_SOURCE, "-m", "3", "-s", "1", "-c",
                        "-f", "load@shop.example", "-t", f"many@{RELAY}",
                        addr], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr

    r = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port",
                        str(pf.smtp_port), "--from", "one@shop.example",
                        "--to", f"single@{RELAY}", "--header",
                        "Subject: via swaks", "--body", "Hello."],
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr

    pf.wait_queue_empty()
    got = sorted(r[0] for _, r, _ in fake_lmtp.messages)
    assert got == [f"many@{RELAY}"] * 3 + [f"single@{RELAY}"]
