"""Fixtures of cmr's black-box suite: each test gets its own temporary
directory with a store and a keys directory, a `cmr` helper that runs the
binary on them, and (if it asks) a running `cmr serve`.

Nothing here touches ./var: every run gets --store and --keys in the
temporary directory, runs with that directory as its working directory, and
sees no CMR_* variable from the caller's environment unless a test sets one.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections import namedtuple
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CMR_BIN = os.environ.get("CMR_BIN") or str(REPO / "build" / "src" / "cmr")
RUN_TIMEOUT = 30  # seconds for any one CLI run
START_TIMEOUT = 10  # seconds for `cmr serve` to answer /healthz
STOP_TIMEOUT = 10  # seconds for `cmr serve` to exit after a signal


class Result(namedtuple("Result", "rc out err")):
    """What one CLI run gave: exit code, stdout, stderr."""

    @property
    def text(self):
        return self.out + self.err


class Reply(namedtuple("Reply", "status headers body")):
    """What one HTTP request got: status, headers, body bytes."""

    def json(self):
        return json.loads(self.body)


@pytest.fixture(scope="session", autouse=True)
def cmr_snapshot(tmp_path_factory):
    """Runs the whole session on one copy of the binary, so that a rebuild
    during the run cannot swap or remove it under a test."""
    global CMR_BIN
    src, dst = CMR_BIN, tmp_path_factory.mktemp("bin") / "cmr"
    for _ in range(20):
        try:
            shutil.copy2(src, dst)
            if os.access(dst, os.X_OK):
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        pytest.fail(f"cannot copy an executable cmr from {src}")
    CMR_BIN = str(dst)
    yield
    CMR_BIN = src


def clean_env(extra=None):
    """The caller's environment without CMR_*, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMR_")}
    env.update(extra or {})
    return env


class Ctx:
    """One temporary cmr installation: store file and keys directory."""

    def __init__(self, root):
        self.root = Path(root)
        self.db = self.root / "cmr.db"
        self.keys = self.root / "keys"

    @property
    def store(self):
        return "sqlite:" + str(self.db)

    def paths(self):
        return ["--store", self.store, "--keys", str(self.keys)]

    def run(self, *args, input=None, env=None, paths=True, umask=None):
        """Runs `cmr ARGS [--store … --keys …]`; returns Result(rc, out, err).

        With paths=False no --store/--keys is added (for tests of the
        CMR_* variables, which then come in through `env`)."""
        argv = [CMR_BIN, *args] + (self.paths() if paths else [])
        p = subprocess.run(
            argv, input=input, env=clean_env(env), cwd=self.root,
            capture_output=True, text=True, timeout=RUN_TIMEOUT,
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
        return Result(p.returncode, p.stdout, p.stderr)

    def ok(self, *args, **kw):
        """Runs cmr and asserts exit 0; returns the Result."""
        r = self.run(*args, **kw)
        assert r.rc == 0, f"cmr {' '.join(args)} -> {r.rc}\n{r.out}\n{r.err}"
        return r

    def json(self, *args, **kw):
        """Runs cmr with --json, asserts exit 0, returns the parsed stdout."""
        return json.loads(self.ok(*args, "--json", **kw).out)

    def add_person(self, handle, password="correct-horse-battery"):
        return self.json("person", "add", handle, "--password-stdin",
                         input=password + "\n")

    def add_brand(self, name, *domains, extra=()):
        args = ["brand", "add", name]
        for d in domains:
            args += ["--domain", d]
        return self.json(*args, *extra)

    def persons(self):
        """handle -> per_ id, from `cmr person list --json`."""
        return {p["handle"]: p["id"]
                for p in self.json("person", "list")["items"]}

    def store_bytes(self):
        """The database file and its WAL, as bytes."""
        out = b""
        for suffix in ("", "-wal"):
            f = Path(str(self.db) + suffix)
            if f.exists():
                out += f.read_bytes()
        return out

    def sql(self):
        """A sqlite3 connection to the store (only while no server runs)."""
        return sqlite3.connect(self.db, isolation_level=None)

    def copy_to(self, root):
        """A copy of this installation (store files and keys) in `root`."""
        dst = Ctx(root)
        shutil.copytree(self.keys, dst.keys)
        for f in self.root.glob("cmr.db*"):
            shutil.copy2(f, dst.root / f.name)
        return dst


@pytest.fixture
def ctx(tmp_path):
    return Ctx(tmp_path)


@pytest.fixture
def cmr(ctx):
    """cmr(*args, input=None, env=None) -> (rc, stdout, stderr)."""
    return ctx.run


@pytest.fixture
def inited(ctx):
    ctx.ok("init")
    assert (ctx.keys / "signing.key").is_file()
    return ctx


def make_demo(root):
    c = Ctx(root)
    r = c.ok("demo")
    c.demo_output = r.out
    return c


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """One demo world, loaded once; tests get copies (demo_ctx)."""
    return make_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_ctx(demo_template, tmp_path):
    """A fresh copy of the demo world for one test to change at will."""
    c = demo_template.copy_to(tmp_path)
    c.demo_output = demo_template.demo_output
    return c


# --- HTTP ---------------------------------------------------------------

def http(method, url, body=None, headers=None, timeout=10):
    """One request; returns Reply(status, headers, body) for every status."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        with e:
            return Reply(e.code, e.headers, e.read())


LISTEN_RE = re.compile(r"http: listening on (\S+):(\d+)")


class Server:
    """A running `cmr serve`; its stderr goes to a file in the test dir."""

    def __init__(self, ctx, *extra):
        self.ctx = ctx
        self.log_path = ctx.root / f"serve-{time.monotonic_ns()}.log"
        self.log_file = open(self.log_path, "w")
        argv = [CMR_BIN, "serve", "--http", "127.0.0.1:0", "--lmtp", "off",
                "--policy", "off", "--metrics", "off", *ctx.paths(), *extra]
        self.proc = subprocess.Popen(argv, env=clean_env(), cwd=ctx.root,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.log_file)
        self.address = self._wait_listening()
        self.url = f"http://{self.address}"
        self._wait_healthy()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def _fail(self, why):
        self.proc.kill()
        self.proc.wait()
        self.log_file.close()
        pytest.fail(f"cmr serve {why}; log:\n{self.log()}")

    def _wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.log())
            if m:
                return f"{m.group(1)}:{m.group(2)}"
            if self.proc.poll() is not None:
                self._fail(f"exited with {self.proc.returncode} before "
                           "listening")
            time.sleep(0.02)
        self._fail("logged no 'http: listening on' line")

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if http("GET", self.url + "/healthz", timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self._fail("never answered /healthz with 200")

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig`; returns the exit code (fails after STOP_TIMEOUT)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._fail(f"did not exit within {STOP_TIMEOUT} s of {sig!r}")
        self.log_file.close()
        return rc


@pytest.fixture
def start_server(ctx):
    """start_server(*extra_args) -> Server; stops leftovers at teardown."""
    started = []

    def start(*extra):
        s = Server(ctx, *extra)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
        s.log_file.close()


@pytest.fixture
def server(start_server):
    """A running `cmr serve` on the test's store; yields its base URL and
    asserts on teardown that SIGTERM makes it exit 0 in time."""
    s = start_server()
    yield s.url
    rc = s.stop(signal.SIGTERM)
    assert rc == 0, f"cmr serve exited {rc} on SIGTERM; log:\n{s.log()}"
