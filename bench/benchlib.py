"""What bench/lmtp-vs-dovecot and bench/policy-vs-postfwd share: finding
the cmr binary, starting and always stopping the processes a benchmark
runs (also on Ctrl-C, SIGTERM and errors), a `cmr serve` on a scratch
store with persons and relationships made through the HTTP API, its
writer counters, one JSON line per result, and rewriting one section of
docs/PERFORMANCE.md (through bench/perfdoc.py).

Everything listens on 127.0.0.1 only. Not a test helper: nothing here is
imported by the test suites.
"""
import ctypes
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PASSWORD = "correct-horse-battery"

PR_SET_CHILD_SUBREAPER = 36


class BenchError(RuntimeError):
    pass


def log(*args):
    """Progress, to stderr (stdout carries only the JSON lines)."""
    print(*args, file=sys.stderr, flush=True)


def emit(obj):
    """One result as one JSON line on stdout."""
    print(json.dumps(obj, sort_keys=False), flush=True)


def cmr_binary(arg=None):
    """The cmr to measure: the first argument, else $CMR_BIN, else
    build-release/src/cmr, else build/src/cmr (as the other bench/
    scripts, relative to the repository)."""
    for cand in (arg, os.environ.get("CMR_BIN"),
                 REPO / "build-release" / "src" / "cmr",
                 REPO / "build" / "src" / "cmr"):
        if cand and os.access(cand, os.X_OK):
            return str(Path(cand).resolve())
    raise BenchError("no cmr binary: give its path, or set CMR_BIN, or "
                     "build build-release/ (make bench does)")


def shown(path):
    """A path as the docs show it: relative to the repository if inside."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def machine_notes():
    """One line about where this ran."""
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.0f GB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    fs = "?"
    try:
        out = subprocess.run(["df", "-T", tempfile.gettempdir()],
                             capture_output=True, text=True).stdout
        fs = out.splitlines()[1].split()[1]
    except Exception:
        pass
    debian = "?"
    try:
        debian = open("/etc/debian_version").read().strip()
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {mem} RAM, Debian {debian}, "
            f"kernel {platform.release()}, {tempfile.gettempdir()} on {fs}; "
            "client and servers share the machine")


def fsync_ms(directory, n=100):
    """Median time (ms) to write 4 KB to a file in `directory` and fsync
    it: what one durable commit costs on this disk at least."""
    path = os.path.join(directory, "fsync-probe")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = b"x" * 4096
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, block, (i % 16) * 4096)
            os.fsync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    return 1e3 * median(times)


def session_cpu_seconds(sid):
    """CPU time (user+system) of the live processes of session `sid`,
    plus what its leader's reaped children used."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) != sid:
            continue
        total += int(fields[11]) + int(fields[12])
        if int(d) == sid:
            total += int(fields[13]) + int(fields[14])
    return total / tck


def deb_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                       capture_output=True, text=True)
    return r.stdout.strip() or "?"


# --- processes ----------------------------------------------------------

class Procs:
    """Every process a benchmark starts, stopped at the end whatever
    happens. This process becomes a child subreaper, so that what a
    daemon forks and orphans (postfwd daemonizes; Dovecot's children)
    is reparented here and reaped, and can be found and stopped by its
    session id."""

    def __init__(self):
        self.popens = []    # Popen objects, each leading its own session
        self.sessions = []  # session ids of daemons that started their own
        self.cleanups = []  # other callables, run last to first
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except Exception:
            pass

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        # Also when started in the background, where SIGINT comes ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return self

    def __exit__(self, *exc):
        self.stop_all()

    @staticmethod
    def _on_signal(signum, frame):
        raise SystemExit(128 + signum)

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(argv, **kw)
        self.popens.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        """Stops one process we started (and its session), reaps it."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_session(p.pid)
        if p.poll() is None:
            p.wait()
        if p in self.popens:
            self.popens.remove(p)
        self.reap()

    def add_session(self, sid):
        self.sessions.append(sid)

    def stop_session(self, sid, timeout=10):
        """SIGTERM to the session's leader, then SIGKILL to whatever of
        the session is left."""
        try:
            os.kill(sid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while self.session_pids(sid) and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        self._kill_session(sid)
        if sid in self.sessions:
            self.sessions.remove(sid)

    @staticmethod
    def session_pids(sid):
        """Live (not zombie) processes of session `sid`."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields: state ppid pgrp session ...
            if fields[0] != "Z" and int(fields[3]) == sid:
                out.append(int(d))
        return out

    def _kill_session(self, sid):
        for _ in range(3):
            pids = self.session_pids(sid)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
            self.reap()

    @staticmethod
    def reap():
        """Waits for every exited child (ours and adopted orphans)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def stop_all(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:
                log(f"cleanup: {e}")
        self.cleanups.clear()
        for p in list(reversed(self.popens)):
            try:
                self.stop(p)
            except Exception as e:
                log(f"cleanup: {e}")
        for sid in list(self.sessions):
            self.stop_session(sid)
        self.reap()


# --- cmr ----------------------------------------------------------------

def http(method, url, body=None, token=None, timeout=30):
    """One JSON request; returns (status, parsed body or None)."""
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        with e:
            raw, status = e.read(), e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def ok(status_body, want, what):
    status, body = status_body
    if status != want:
        raise BenchError(f"{what}: HTTP {status} (wanted {want}): {body}")
    return body


class Cmr:
    """A `cmr serve` on a scratch store in `root`: `cmr init`, one brand,
    then serve with the listeners asked for (ADDR:0 ports, read back
    from its log). --open-registration and --trust-envelope as the
    README's walk uses them."""

    LISTEN = re.compile(r"(http|lmtp|policy|metrics): listening on "
                        r"(?:unix:\S+|(\S+):(\d+))")

    def __init__(self, procs, binary, root):
        self.procs, self.bin = procs, os.path.abspath(binary)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = "sqlite:" + str(self.root / "cmr.db")
        self.keys = str(self.root / "keys")
        self.log_path = self.root / "serve.log"
        self.proc = None
        self.ports = {}

    def paths(self):
        return ["--store", self.store, "--keys", self.keys]

    def cli(self, *args, input=None):
        r = subprocess.run([self.bin, *args, *self.paths()], input=input,
                           capture_output=True, text=True, timeout=60,
                           cwd=self.root, env=self.env())
        if r.returncode != 0:
            raise BenchError(f"cmr {' '.join(args)} exited {r.returncode}:"
                             f"\n{r.stdout}{r.stderr}")
        return r.stdout

    @staticmethod
    def env():
        return {k: v for k, v in os.environ.items()
                if not k.startswith("CMR_")}

    def init(self):
        self.cli("init")

    def add_brand(self, name, domain):
        b = json.loads(self.cli("brand", "add", name, "--domain", domain,
                                "--json"))
        return b["id"], b["api_key"]

    def serve(self, lmtp=False, policy=False):
        argv = [self.bin, "serve", *self.paths(),
                "--http", f"{HOST}:0",
                "--lmtp", f"{HOST}:0" if lmtp else "off",
                "--policy", f"{HOST}:0" if policy else "off",
                # Only a listener: the counters behind it are counted
                # whether or not anyone listens; read once per run.
                "--metrics", f"{HOST}:0",
                "--open-registration", "--trust-envelope"]
        self.argv = argv
        self.logf = open(self.log_path, "w")
        self.proc = self.procs.popen(argv, cwd=self.root, env=self.env(),
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.logf)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if "serve: ready (" in text:
                for m in self.LISTEN.finditer(text):
                    if m.group(3):
                        self.ports[m.group(1)] = int(m.group(3))
                self.url = f"http://{HOST}:{self.ports['http']}"
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise BenchError(f"cmr serve did not come up; log:\n"
                         f"{self.log_path.read_text(errors='replace')}")

    def stop(self):
        if self.proc is not None:
            self.procs.stop(self.proc)
            rc = self.proc.returncode
            self.proc = None
            self.logf.close()
            return rc

    def rss_kb(self):
        try:
            for line in open(f"/proc/{self.proc.pid}/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1])
        except OSError:
            return None

    def cpu_seconds(self):
        """User+system CPU time of the server so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tck

    def call(self, method, path, body=None, token=None):
        return http(method, self.url + path, body, token)

    def metrics(self):
        """The writer's counters and the decisions, from /metrics."""
        with urllib.request.urlopen(
                f"http://{HOST}:{self.ports['metrics']}/metrics",
                timeout=30) as r:
            text = r.read().decode()
        out = {"decisions": {}}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            if name.startswith("cmr_writer_"):
                out[name[len("cmr_writer_"):]] = float(value)
            elif name.startswith("cmr_decisions_total"):
                m = re.search(r'outcome="(\w+)",reason="(\w+)"', name)
                out["decisions"][f"{m.group(1)}/{m.group(2)}"] = \
                    int(float(value))
        return out

    # -- the README's walk: a person, a connect code, a proposal, accept

    def signup(self, handle):
        ok(self.call("POST", "/v1/persons",
                     {"handle": handle, "password": PASSWORD}),
           201, "POST /v1/persons")
        tok = ok(self.call("POST", "/v1/tokens",
                           {"handle": handle, "password": PASSWORD}),
                 201, "POST /v1/tokens")
        return tok["token"]

    def connect(self, person_token, brand_key, grant_email):
        """A relationship between the person and the brand: the brand
        asks for email and every topic (smtp-source writes no CMR-Topic
        header), the person grants email on `grant_email` terms; returns
        the accept reply ({id, alias, terms, …})."""
        code = ok(self.call("POST", "/v1/me/connect-codes",
                            token=person_token), 201,
                  "POST /v1/me/connect-codes")["code"]
        prp = ok(self.call("POST", "/v1/proposals", {
            "connect_code": code, "value": "a benchmark",
            "fields": [], "channels": ["email"], "topics": "all"},
            token=brand_key),
            201, "POST /v1/proposals")["id"]
        return ok(self.call("POST", f"/v1/me/proposals/{prp}/accept",
                            {"channels": {"email": grant_email},
                             "fields": []}, token=person_token),
                  201, "POST /v1/me/proposals/{id}/accept")

    def count_messages(self, person_token, query=""):
        """How many attempts the person sees (all pages)."""
        n, after = 0, None
        while True:
            q = f"/v1/me/messages?limit=200{query}"
            if after:
                q += f"&after={after}"
            page = ok(self.call("GET", q, token=person_token), 200,
                      "GET /v1/me/messages")
            n += len(page["items"])
            after = page.get("next")
            if not after:
                return n


def scratch(tag):
    """A private directory under /tmp (mode 0755, so that daemons'
    unprivileged users can reach into it); the caller removes it."""
    d = Path(tempfile.mkdtemp(prefix=f"cmr-bench-{tag}-", dir="/tmp"))
    d.chmod(0o755)
    return d


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def fill(text, width=76):
    """Re-wraps the paragraphs and list items of Markdown `text` (tables
    and anything indented are left as they are)."""
    out = []
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        if lines[0].startswith("|") or lines[0].startswith("    "):
            out.append(block)
            continue
        items, cur = [], None  # [(bullet?, [text])]
        for line in lines:
            if line.startswith("- "):
                cur = [line[2:]]
                items.append((True, cur))
            elif cur is not None:
                cur.append(line.strip())
            else:
                cur = [line.strip()]
                items.append((False, cur))
        wrapped = []
        for bullet, item in items:
            words = " ".join(item)
            wrapped.append(textwrap.fill(
                words, width, initial_indent="- " if bullet else "",
                subsequent_indent="  " if bullet else "",
                break_long_words=False, break_on_hyphens=False))
        out.append("\n".join(wrapped))
    return "\n\n".join(out) + "\n"


def write_doc(title, text):
    """Rewrites the `## title` section of docs/PERFORMANCE.md."""
    text = fill(text)
    r = subprocess.run([sys.executable, str(REPO / "bench" / "perfdoc.py"),
                        title], input=text, text=True, cwd=REPO,
                       capture_output=True)
    if r.returncode != 0:
        raise BenchError(f"perfdoc.py failed: {r.stdout}{r.stderr}")
    log(r.stdout.strip())
