"""Real Dovecot and real Postfix for the black-box suite: test-owned
instances on 127.0.0.1, each with its own configuration written here, its
own runtime directories, random ports, a log file the test can read, and
a stop that runs even when the test failed. Nothing here reads or changes
/etc/dovecot or /etc/postfix, and no system instance is needed.

    from mta import Dovecot, Postfix, free_port

    with Dovecot(tmp_path, maildir_root, {"per_abc": "pw"}) as dc:
        imap = dc.imap("per_abc")              # logged-in imaplib.IMAP4
        imap.select("Later")

    with Postfix(tmp_path, "relay.test", lmtp_port, policy_port) as pf:
        smtplib.SMTP("127.0.0.1", pf.smtp_port).sendmail(...)
        pf.wait_queue_empty()
        assert "status=sent" in pf.log()

Both classes are context managers (start on enter, stop on exit); start()
and stop() can also be called directly (stop() is idempotent; start()
after stop() restarts on the same directories, Postfix with its queue,
on new ports), and the
`make_dovecot` / `make_postfix` fixtures below stop whatever they started
at teardown. A daemon that does not come up raises MtaError with the tail
of its log.

Dovecot as root, and why the helper chowns maildirs
---------------------------------------------------
Dovecot 2.3 never reads mail as root: imap and lmtp refuse uid 0 whatever
first_valid_uid says ("Mail access not allowed for root"), and a userdb
may not return uid 0. So mail is read and written as a non-root uid (by
default the owner of maildir_root if that is not root, else Debian's
`mail` user, 8:8), and:

* IMAP sessions are chrooted to maildir_root (userdb home
  `<maildir_root>/./<user>`), so pytest's tmp_path parents (mode 0700,
  root) need not be searchable by that uid;
* cmr, running as root in the tests, writes root-owned files, so
  chown_maildirs() hands maildir_root and every user's Maildir to the mail
  uid. imap() calls it before each login; a test that keeps a session open
  while cmr writes more mail must call it again (and re-SELECT).
* LMTP ignores the chroot (it switches users with seteuid), so in LMTP mode
  every parent of maildir_root must be searchable by the mail uid. Leave
  maildir_root=None there and the helper makes a suitable one under /tmp.

Reading a Maildir through IMAP is what a mail client does: Dovecot moves
messages it has seen from new/ to cur/ and writes dovecot-uidlist and
dovecot-uidvalidity* files into each Maildir (indexes are kept in memory).
"""
import atexit
import grp
import imaplib
import itertools
import json
import os
import pty
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

HOST = "127.0.0.1"
DOVECOT = "/usr/sbin/dovecot"
SIEVEC = "/usr/bin/sievec"
POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SWAKS = "/usr/bin/swaks"

START_TIMEOUT = 20  # seconds for a daemon to answer on its port
STOP_TIMEOUT = 15   # seconds for a daemon to exit after being told to

_serial = itertools.count(1)
_live = set()  # started and not yet stopped: stopped at exit at the latest


@atexit.register
def _stop_leftovers():
    for d in list(_live):
        try:
            d.stop()
        except Exception:
            pass


class MtaError(RuntimeError):
    """A test-owned mail daemon failed to start or to do what was asked."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tail(path, lines=40):
    """The last `lines` lines of a text file ("" if it does not exist)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def greeting(port, timeout=1.0):
    """The first line a server on 127.0.0.1:port says, or None if it does
    not accept or say anything within `timeout`."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = b""
            while b"\n" not in data:
                got = s.recv(512)
                if not got:
                    break
                data += got
            return data.decode("latin-1").strip() or None
    except OSError:
        return None


def _wait_greeting(port, prefix, alive, why, timeout=START_TIMEOUT):
    """Waits until 127.0.0.1:port greets with `prefix`; calls why(msg)
    (which raises) when `alive()` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        g = greeting(port)
        if g is not None and g.startswith(prefix):
            return g
        if not alive():
            why(f"exited before port {port} answered")
        time.sleep(0.05)
    why(f"port {port} did not answer {prefix!r} within {timeout} s")


def _scratch(tag):
    """A private directory under /tmp with a short path (Unix socket
    paths are limited to 107 bytes, which pytest's tmp_path can exceed)
    and mode 0755, so that a daemon's unprivileged users can reach what is
    in it. The caller removes it."""
    d = Path(tempfile.mkdtemp(prefix=f"cmr-{tag}-", dir="/tmp"))
    d.chmod(0o755)
    return d


def _searchable_by(path, uid, gid):
    """The first directory on the way to `path` (inclusive) that uid:gid
    may not search, or None."""
    p = Path(path).resolve()
    for d in [*reversed(p.parents), p]:
        st = d.stat()
        if st.st_uid == uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return d
    return None


def _alive(pid):
    """Whether `pid` names a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def sieve_by_sender_domain(folders):
    """A Sieve script that files mail by the domain of its From: address:
    folders = {"shop.example": "Shopping", ...}; anything else stays in
    INBOX. Folders are created on first use."""
    out = ['require ["fileinto", "mailbox"];']
    for domain, folder in folders.items():
        d = domain.replace("\\", "\\\\").replace('"', '\\"')
        f = folder.replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'if address :domain :is "from" "{d}" '
                   f'{{ fileinto :create "{f}"; stop; }}')
    return "\n".join(out) + "\n"


# --- Dovecot --------------------------------------------------------------

class Dovecot:
    """A test-owned Dovecot (`dovecot -F -c <conf>`) on 127.0.0.1.

    tmp_path      the test's directory; its dovecot-N/ gets dovecot.conf,
                  passwd, state/ and dovecot.log (dovecot -F's own stderr
                  goes to dovecot.stderr)
    maildir_root  where each user's Maildir++ is: <maildir_root>/<user>/
                  with INBOX at its top and folders as .Later, .Shopping …
                  None: a fresh directory under /tmp, removed at stop
    users         {name: password} (IMAP login and LMTP recipients; an
                  LMTP recipient's domain is ignored: alice@x is alice)
    imap          listen for IMAP (plain text login, no TLS)
    lmtp          listen for LMTP too, delivering with Sieve and
                  mail_fsync = always
    sieve         the Sieve script LMTP runs for every recipient (text;
                  see sieve_by_sender_domain); None: plain INBOX delivery
    mail_user     the uid that reads and writes mail (name or number);
                  None: maildir_root's owner if not root, else `mail`
    extra_conf    text appended to dovecot.conf

    After start(): imap_port, lmtp_port (None when not listening),
    conf_path, log_path, uid, gid.
    """

    def __init__(self, tmp_path, maildir_root=None, users=None, *,
                 imap=True, lmtp=False, sieve=None, mail_user=None,
                 extra_conf=""):
        self.dir = Path(tmp_path) / f"dovecot-{next(_serial)}"
        self.users = dict(users or {})
        for name, pw in self.users.items():
            for s in (name, pw):
                if not s or re.search(r"[:\s]", s):
                    raise ValueError(f"user/password unusable in a "
                                     f"passwd-file: {s!r}")
        self.want_imap, self.want_lmtp = imap, lmtp
        self.sieve = sieve
        self.extra_conf = extra_conf
        self._given_root = maildir_root
        self._mail_user = mail_user
        self.maildir_root = None
        self.imap_port = self.lmtp_port = None
        self.conf_path = self.dir / "dovecot.conf"
        self.log_path = self.dir / "dovecot.log"
        self.stderr_path = self.dir / "dovecot.stderr"
        self.proc = None
        self.scratch = None
        self._sessions = []

    # -- life cycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if self.proc is not None:
            raise MtaError("dovecot: already started")
        if not os.access(DOVECOT, os.X_OK):
            raise MtaError(f"{DOVECOT} is missing: run scripts/setup")
        self.dir.mkdir(parents=True, exist_ok=True)  # exists on a restart
        _live.add(self)
        self.scratch = _scratch("dovecot")
        try:
            self._prepare()
            for attempt in range(3):
                if self._launch(last=attempt == 2):
                    return self
        except BaseException:
            self.stop()
            raise

    def _prepare(self):
        if self._given_root is None:
            self.maildir_root = self.scratch / "mail"
        else:
            self.maildir_root = Path(self._given_root).resolve()
        self.maildir_root.mkdir(parents=True, exist_ok=True)
        self.uid, self.gid = self._pick_mail_user()
        self.chown_maildirs()
        if self.want_lmtp:
            bad = _searchable_by(self.maildir_root, self.uid, self.gid)
            if bad is not None:
                raise MtaError(
                    f"dovecot: LMTP delivers as uid {self.uid}, which cannot "
                    f"search {bad} on the way to {self.maildir_root}; pass "
                    f"maildir_root=None or a path under a 0755 directory")
        (self.dir / "state").mkdir(exist_ok=True)
        passwd = self.dir / "passwd"
        passwd.write_text("".join(
            f"{u}:{{PLAIN}}{pw}::::{self.maildir_root}/./{u}::\n"
            for u, pw in self.users.items()))
        passwd.chmod(0o600)
        self.sieve_path = None
        if self.want_lmtp and self.sieve is not None:
            sdir = self.scratch / "sieve"
            sdir.mkdir()
            self.sieve_path = sdir / "filter.sieve"
            self.sieve_path.write_text(self.sieve)

    def _pick_mail_user(self):
        u = self._mail_user
        if u is None:
            st = self.maildir_root.stat()
            if st.st_uid != 0 and st.st_gid != 0:
                return st.st_uid, st.st_gid
            u = st.st_uid or "mail"
        pw = pwd.getpwuid(u) if isinstance(u, int) else pwd.getpwnam(u)
        if pw.pw_uid == 0 or pw.pw_gid == 0:
            raise MtaError("dovecot: the mail user must not be root (Dovecot "
                           "refuses mail access as uid or gid 0)")
        return pw.pw_uid, pw.pw_gid

    def chown_maildirs(self):
        """Gives maildir_root and each user's Maildir (recursively) to the
        mail uid, so that Dovecot can read what cmr (root) wrote."""
        os.chown(self.maildir_root, self.uid, self.gid)
        for u in self.users:
            top = self.maildir_root / u
            if not top.exists():
                continue
            os.chown(top, self.uid, self.gid, follow_symlinks=False)
            for base, dirs, files in os.walk(top):
                for n in dirs + files:
                    os.chown(os.path.join(base, n), self.uid, self.gid,
                             follow_symlinks=False)

    def _config(self):
        protocols = " ".join(p for p, on in (("imap", self.want_imap),
                                             ("lmtp", self.want_lmtp)) if on)
        c = f"""\
# Written by tests/api/mta.py for one test; /etc/dovecot is not read.
protocols = {protocols or "none"}
listen = {HOST}
base_dir = {self.scratch}/run
state_dir = {self.dir}/state
instance_name = cmr-test-{os.getpid()}-{self.dir.name}
log_path = {self.log_path}
login_greeting = cmr-test dovecot ready.
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %n
auth_failure_delay = 0
first_valid_uid = {self.uid}
first_valid_gid = {self.gid}
mail_uid = {self.uid}
mail_gid = {self.gid}
valid_chroot_dirs = {self.maildir_root}
mail_location = maildir:~:INDEX=MEMORY
mail_fsync = always
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {self.dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {self.dir}/passwd
}}
# The passwd file is under the test's directory, which only root reaches.
service auth {{
  user = root
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.imap_port or 0}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {self.lmtp_port or 0}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
protocol lmtp {{
  mail_location = maildir:~
  postmaster_address = postmaster@cmr-test.invalid
"""
        if self.sieve_path is not None:
            c += f"""\
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:{self.sieve_path}
"""
        c += "}\n"
        return c + self.extra_conf + "\n"

    def _launch(self, last):
        self.imap_port = free_port() if self.want_imap else None
        self.lmtp_port = free_port() if self.want_lmtp else None
        self.conf_path.write_text(self._config())
        if self.sieve_path is not None:
            r = subprocess.run([SIEVEC, "-c", str(self.conf_path),
                                str(self.sieve_path)],
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                raise MtaError(f"dovecot: sievec failed:\n{r.stdout}"
                               f"{r.stderr}")
        started = time.monotonic()
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                start_new_session=True, env=_clean_env())
        try:
            if self.want_imap:
                _wait_greeting(self.imap_port, "* OK", self._running,
                               self._fail)
            if self.want_lmtp:
                _wait_greeting(self.lmtp_port, "220", self._running,
                               self._fail)
            if not (self.want_imap or self.want_lmtp):
                self._wait_log("starting up")
        except MtaError as e:
            if not last and "Address already in use" in str(e):
                return False  # someone took a port since free_port()
            raise
        self.startup_seconds = time.monotonic() - started
        return True

    def _running(self):
        return self.proc is not None and self.proc.poll() is None

    def _wait_log(self, needle):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if needle in self.log():
                return
            if not self._running():
                self._fail("exited during startup")
            time.sleep(0.05)
        self._fail(f"logged no {needle!r}")

    def _fail(self, why):
        rc = self.proc.poll() if self.proc else None
        self._kill()
        raise MtaError(
            f"dovecot {why} (exit status {rc}); conf {self.conf_path}\n"
            f"--- {self.stderr_path.name}:\n{tail(self.stderr_path)}\n"
            f"--- {self.log_path.name}:\n{tail(self.log_path)}")

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None

    def stop(self):
        """Logs out open sessions, stops Dovecot (SIGTERM, then SIGKILL to
        its process group) and removes its /tmp scratch directory. The
        test's own files (config, log, maildirs under tmp_path) stay."""
        for s in self._sessions:
            try:
                s.logout()
            except Exception:
                pass
        self._sessions.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        _live.discard(self)

    # -- use

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def maildir(self, user):
        return self.maildir_root / user

    def imap(self, user, password=None):
        """A new imaplib.IMAP4 session logged in as `user` (after
        chown_maildirs(), and after making <maildir_root>/<user>/ if it is
        not there yet); logged out at stop()."""
        if not self.want_imap or not self._running():
            raise MtaError("dovecot: IMAP is not running")
        home = self.maildir(user)
        if not home.exists():  # else Dovecot logs an error on chdir
            home.mkdir()
        self.chown_maildirs()
        m = imaplib.IMAP4(HOST, self.imap_port, timeout=30)
        try:
            m.login(user, self.users[user] if password is None else password)
        except imaplib.IMAP4.error as e:
            m.shutdown()
            raise MtaError(f"dovecot: IMAP login as {user} failed: {e}\n"
                           f"{tail(self.log_path)}") from None
        self._sessions.append(m)
        return m


# --- Postfix ---------------------------------------------------------------

class Postfix:
    """A test-owned Postfix (`postfix -c <dir> start`) on 127.0.0.1.

    tmp_path      the test's directory; its postfix-N/ gets etc/ (main.cf,
                  master.cf), spool/ (queue_directory) and maillog
    relay_domain  the only domain accepted (relay_domains); its mail goes
                  to lmtp:inet:127.0.0.1:<lmtp_port>
    policy_port   check_policy_service inet:127.0.0.1:<policy_port> at RCPT
                  time: a REJECT is a 5xx to the client, DUNNO accepts.
                  None: no policy service, every relay_domain recipient
                  is accepted
    extra_main    {parameter: value} added to (or overriding) main.cf
    extra_master  more master.cf rows, as tuples of its eight columns
                  (SMTP_CLIENT: the `smtp` delivery agent, for a
                  transport_maps entry such as smtp:[127.0.0.1]:PORT)

    Mail for any other domain is refused at RCPT ("Relay access denied");
    there is no local delivery, no outbound SMTP (default_transport is
    error:), and no syslog: everything is logged to maillog.

    After start(): smtp_port, config_dir, queue_dir, log_path.
    """

    SMTP_CLIENT = ("smtp", "unix", "-", "-", "n", "-", "-", "smtp")

    def __init__(self, tmp_path, relay_domain, lmtp_port, policy_port=None,
                 *, extra_main=None, extra_master=()):
        self.dir = Path(tmp_path) / f"postfix-{next(_serial)}"
        self.relay_domain = relay_domain
        self.lmtp_port, self.policy_port = lmtp_port, policy_port
        self.extra_main = dict(extra_main or {})
        self.extra_master = list(extra_master)
        self.config_dir = self.dir / "etc"
        self.queue_dir = self.dir / "spool"
        self.log_path = self.dir / "maillog"
        self.smtp_port = None
        self.scratch = None
        self.started = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def main_cf(self):
        """main.cf as a dict (before extra_main is applied)."""
        if self.policy_port is None:
            rcpt = "permit_auth_destination, reject"
        else:
            rcpt = (f"check_policy_service inet:{HOST}:{self.policy_port}, "
                    "permit_auth_destination, reject")
        return {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            # Opened by master as the postfix user: must be reachable by
            # it, which nothing under pytest's tmp_path is.
            "data_directory": str(self.scratch / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "cmr-test.localhost",
            "mydomain": "localhost",
            "myorigin": "$myhostname",
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "mydestination": "",
            "local_recipient_maps": "",
            "local_transport": "error:5.1.1 no local delivery here",
            "default_transport": "error:5.7.1 no outbound mail from a test",
            "alias_maps": "",
            "alias_database": "",
            "relay_domains": self.relay_domain,
            "relay_recipient_maps": "",
            "relay_transport": f"lmtp:inet:{HOST}:{self.lmtp_port}",
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "smtpd_recipient_restrictions": rcpt,
            "smtpd_peername_lookup": "no",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "smtputf8_enable": "no",
            "biff": "no",
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.dir),
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "in_flow_delay": "0",
        }

    def master_cf(self):
        """master.cf text: every service unchrooted, smtpd on the port."""
        rows = [
            (f"{HOST}:{self.smtp_port}", "inet", "n", "-", "n", "-", "-",
             "smtpd"),
            ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
            ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
            ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
            ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
            ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
            ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
            ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
            ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
            ("error", "unix", "-", "-", "n", "-", "-", "error"),
            ("retry", "unix", "-", "-", "n", "-", "-", "error"),
            ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
            ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
            ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
            ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
            ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
            *self.extra_master,
        ]
        return "".join(" ".join(r) + "\n" for r in rows)

    # The queue's subdirectories as postfix-files has them. `postfix start`
    # would make them too (post-install create-missing), but that costs
    # 1.7 s; with them in place its checks take 0.1 s.
    QUEUE_DIRS = [
        *[(d, "postfix", "root", 0o700) for d in (
            "active", "bounce", "corrupt", "defer", "deferred", "flush",
            "hold", "incoming", "private", "saved", "trace")],
        ("maildrop", "postfix", "postdrop", 0o730),
        ("public", "postfix", "postdrop", 0o710),
        ("pid", "root", "root", 0o755),
    ]

    def _make_queue(self):
        self.queue_dir.mkdir(exist_ok=True)
        for name, user, group, mode in self.QUEUE_DIRS:
            d = self.queue_dir / name
            d.mkdir(exist_ok=True)
            os.chown(d, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
            d.chmod(mode)

    def _postfix(self, *args, timeout=60):
        """Runs `postfix -c <config_dir> ARGS`; returns (rc, output).

        Postfix commands print their errors only where stderr is a
        terminal (else they go to syslog, which no one reads here, or to
        maillog once postlogd runs), so stderr is a pseudo-terminal."""
        ptm, pts = pty.openpty()
        try:
            p = subprocess.run([POSTFIX, "-c", str(self.config_dir), *args],
                               stdin=subprocess.DEVNULL, stdout=pts,
                               stderr=pts, timeout=timeout, env=_clean_env())
        finally:
            os.close(pts)
        out = b""
        try:
            while select.select([ptm], [], [], 0.2)[0]:
                got = os.read(ptm, 65536)
                if not got:
                    break
                out += got
        except OSError:  # EIO: nothing holds the terminal open any more
            pass
        finally:
            os.close(ptm)
        return p.returncode, out.decode(errors="replace").replace("\r", "")

    def start(self):
        if self.started:
            raise MtaError("postfix: already started")
        if not os.access(POSTFIX, os.X_OK):
            raise MtaError(f"{POSTFIX} is missing: run scripts/setup")
        self.config_dir.mkdir(parents=True, exist_ok=True)  # and a restart
        _live.add(self)
        self._make_queue()
        self.scratch = _scratch("postfix")
        data = self.scratch / "data"
        data.mkdir()
        pw = pwd.getpwnam("postfix")
        os.chown(data, pw.pw_uid, pw.pw_gid)
        try:
            for attempt in range(3):
                if self._launch(last=attempt == 2):
                    return self
        except BaseException:
            self.stop()
            raise

    def _launch(self, last):
        self.smtp_port = free_port()
        main = {**self.main_cf(), **self.extra_main}
        (self.config_dir / "main.cf").write_text(
            "# Written by tests/api/mta.py for one test.\n" +
            "".join(f"{k} = {v}\n" for k, v in main.items()))
        (self.config_dir / "master.cf").write_text(self.master_cf())
        # Postfix re-reads a main.cf younger than about 2 s, in 0.3 s
        # sleeps, until it is older (in case it is still being written).
        past = time.time() - 10
        for f in ("main.cf", "master.cf"):
            os.utime(self.config_dir / f, (past, past))
        started = time.monotonic()
        try:
            rc, out = self._postfix("start")
            self.started = True
            if rc != 0:
                self._fail(f"`postfix start` exited {rc}:\n{out}")
            _wait_greeting(self.smtp_port, "220", self._running, self._fail)
        except MtaError as e:
            if not last and "Address already in use" in str(e):
                return False  # someone took a port since free_port()
            raise
        self.startup_seconds = time.monotonic() - started
        return True

    def master_pid(self):
        try:
            return int((self.queue_dir / "pid" / "master.pid")
                       .read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _running(self):
        pid = self.master_pid()
        return pid is not None and _alive(pid)

    def _fail(self, why):
        self._halt()
        raise MtaError(f"postfix {why}; config {self.config_dir}\n"
                       f"--- {self.log_path.name}:\n{tail(self.log_path)}")

    def _halt(self):
        """postfix stop, then SIGKILL to master's process group."""
        pid = self.master_pid()
        if pid is not None and _alive(pid):
            try:
                self._postfix("stop", timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + STOP_TIMEOUT
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)  # master leads its group
                except ProcessLookupError:
                    pass
                while _alive(pid) and time.monotonic() < deadline + 5:
                    time.sleep(0.05)
        self.started = False

    def stop(self):
        """Stops Postfix and removes its /tmp scratch directory; the
        config, queue and maillog under tmp_path stay."""
        self._halt()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        _live.discard(self)

    # -- use

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def queue(self):
        """The queue as `postqueue -j` lists it: one dict per message
        (queue_name, queue_id, sender, recipients[{address, delay_reason}]…)."""
        r = subprocess.run([POSTQUEUE, "-c", str(self.config_dir), "-j"],
                           capture_output=True, text=True, timeout=30,
                           env=_clean_env())
        if r.returncode != 0:
            raise MtaError(f"postqueue -j exited {r.returncode}: {r.stderr}")
        return [json.loads(line) for line in r.stdout.splitlines() if line]

    def wait_queue_empty(self, timeout=15):
        """Waits until no message is queued (all handed on, or bounced);
        raises MtaError with the queue and the log tail otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            q = self.queue()
            if not q:
                return
            if time.monotonic() > deadline:
                raise MtaError(f"postfix queue not empty after {timeout} s:"
                               f"\n{json.dumps(q, indent=1)}\n"
                               f"--- maillog:\n{tail(self.log_path)}")
            time.sleep(0.1)

    def wait_log(self, pattern, timeout=15):
        """Waits until a maillog line matches the regex `pattern`; returns
        the re.Match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log().splitlines():
                m = rx.search(line)
                if m:
                    return m
            if time.monotonic() > deadline:
                raise MtaError(f"postfix maillog has no line matching "
                               f"{pattern!r} after {timeout} s:\n"
                               f"{tail(self.log_path)}")
            time.sleep(0.1)

    def deliveries(self):
        """[(queue_id, recipient, status, rest)] from the delivery agents'
        `to=<…>, … status=…` lines, in log order."""
        rx = re.compile(r"postfix/\w+\[\d+\]: (\w+): to=<([^>]*)>,.* "
                        r"status=(\w+)(.*)$")
        return [m.groups() for m in map(rx.search, self.log().splitlines())
                if m]


def _clean_env():
    """The caller's environment without what would redirect the daemons
    (MAIL_CONFIG, CMR_*)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("CMR_", "MAIL_", "DOVECOT"))}


# --- fixtures -------------------------------------------------------------
#
# A test module that wants them imports them: `from mta import make_dovecot`.

@pytest.fixture
def make_dovecot(tmp_path):
    """make_dovecot(maildir_root, users, **kw) -> a started Dovecot; all
    are stopped at teardown."""
    started = []

    def make(*args, **kw):
        d = Dovecot(tmp_path, *args, **kw)
        started.append(d)
        return d.start()

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def make_postfix(tmp_path):
    """make_postfix(relay_domain, lmtp_port, policy_port, **kw) -> a
    started Postfix; all are stopped at teardown."""
    started = []

    def make(*args, **kw):
        p = Postfix(tmp_path, *args, **kw)
        started.append(p)
        return p.start()

    yield make
    for p in started:
        p.stop()
