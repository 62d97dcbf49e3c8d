"""Fixtures of cmr's black-box suite: each test gets its own temporary
directory with a store and a keys directory, a `cmr` helper that runs the
binary on them, and (if it asks) a running `cmr serve`.

Nothing here touches ./var: every run gets --store and --keys in the
temporary directory, runs with that directory as its working directory, and
sees no CMR_* variable from the caller's environment unless a test sets one.

The store is SQLite (a file in that directory), or with
CMR_TEST_STORE=postgresql a fresh database per installation on a cluster the
session starts (scripts/pg-cluster). Tests read and edit the store through
Ctx.sql() on either backend; only tests of SQLite's own files (their modes,
the WAL, the lock file) are skipped there (sqlite_only).
"""
import email.message
import itertools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import namedtuple
from contextlib import closing
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CMR_BIN = os.environ.get("CMR_BIN") or str(REPO / "build" / "src" / "cmr")
RUN_TIMEOUT = 30  # seconds for any one CLI run
START_TIMEOUT = 10  # seconds for `cmr serve` to answer /healthz
STOP_TIMEOUT = 10  # seconds for `cmr serve` to exit after a signal


# The first line of a sanitizer's report (ThreadSanitizer, AddressSanitizer,
# LeakSanitizer; UBSan's "file:line:col: runtime error: …"). `make api-asan`
# and `make tsan` run the suite on sanitizer builds: a report in any cmr
# process fails the test that ran it, also when the exit code alone would not
# tell (a run expected to fail anyway, a server killed at teardown).
SANITIZER_REPORT = re.compile(
    r"^(?:==\d+==)?(?:WARNING|ERROR): (?:Thread|Address|Leak)Sanitizer: .*$"
    r"|^\S+:\d+:\d+: runtime error: .*$", re.M)


def fail_on_sanitizer_report(what, text):
    """Fails the running test if `text` (a process's stderr) holds a
    sanitizer's report."""
    m = SANITIZER_REPORT.search(text)
    if m:
        pytest.fail(f"{what}: sanitizer report: {m.group(0)}\n"
                    f"{text[m.start():][:20000]}", pytrace=False)


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


# --- The store's backend ------------------------------------------------

TEST_STORE = os.environ.get("CMR_TEST_STORE", "sqlite")
if TEST_STORE not in ("sqlite", "postgresql"):
    raise pytest.UsageError(
        f"CMR_TEST_STORE={TEST_STORE!r}: 'sqlite' (the default) or "
        "'postgresql'")
ON_POSTGRESQL = TEST_STORE == "postgresql"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(why): the test is about SQLite's own "
        "files; skipped under CMR_TEST_STORE=postgresql")


def pytest_collection_modifyitems(items):
    if ON_POSTGRESQL:
        for item in items:
            mark = item.get_closest_marker("sqlite_only")
            if mark:
                why = mark.args[0] if mark.args else "reads the store's files"
                item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))


def sqlite_only(what):
    """Skips the running test under PostgreSQL: it uses `what`, which only
    a SQLite store has."""
    if ON_POSTGRESQL:
        pytest.skip(f"SQLite only: uses {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A PostgreSQL cluster of the session's own, on a free loopback port
    in a temporary directory (scripts/pg-cluster), with databases owned by
    the role cmr."""

    def __init__(self):
        # Not under pytest's tmp_path: its 0700 parent would keep the
        # cluster's owner, the postgres user, out.
        self.dir = tempfile.mkdtemp(prefix="cmr-pg-")
        self.databases = itertools.count(1)
        self._super = None
        # free_port() only finds a port free now: another process (an
        # xdist worker starting its own cluster) may take it before the
        # server binds it, and then another is tried.
        for attempt in range(5):
            self.port = free_port()
            p = self.script("start", self.dir, str(self.port),
                            check=attempt == 4)
            if p.returncode == 0:
                break

    def script(self, *args, check=True):
        """Runs scripts/pg-cluster ARGS; fails the test if it fails (with
        check). The suite's clusters never fsync (PG_CLUSTER_FSYNC=off):
        they are thrown away after the run, and no test can crash the
        machine under them (a PostgreSQL stopped or killed keeps what it
        wrote in the kernel's cache), so fsync would only cost time."""
        p = subprocess.run([str(REPO / "scripts" / "pg-cluster"), *args],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PG_CLUSTER_FSYNC="off"))
        if check and p.returncode != 0:
            pytest.fail(f"scripts/pg-cluster {' '.join(args)} -> "
                        f"{p.returncode}\n{p.stdout}{p.stderr}")
        return p

    def url(self, name="cmr"):
        return f"postgresql://cmr@127.0.0.1:{self.port}/{name}"

    def new_database(self):
        """The URL of a new, empty database (cmr_t1, cmr_t2, …) owned by
        cmr, as `scripts/pg-cluster createdb` makes it (which made the
        database cmr at start), on the session's connection: a test's
        database then costs no processes."""
        name = f"cmr_t{next(self.databases)}"
        self.admin().execute(f"CREATE DATABASE {name} OWNER cmr")
        return self.url(name)

    def admin(self):
        """A cursor on one superuser connection kept for the session (made
        again if it was lost, as when a test restarts the cluster)."""
        if self._super is None or self._super.closed:
            self._super = self.superuser()
        try:
            cur = self._super.cursor()
            cur.execute("SELECT 1")
            return cur
        except Exception:
            self._super.close()
            self._super = self.superuser()
            return self._super.cursor()

    def superuser(self):
        """A psycopg2 connection to the database postgres as the cluster's
        superuser, in autocommit (CREATE/DROP DATABASE, CHECKPOINT)."""
        import psycopg2
        conn = psycopg2.connect(host="127.0.0.1", port=self.port,
                                user="postgres", dbname="postgres")
        conn.autocommit = True
        return conn

    def copy_database(self, url):
        """The URL of a new database made from the one at `url` (CREATE
        DATABASE … TEMPLATE: nothing may be connected to it meanwhile)."""
        src = url.rsplit("/", 1)[1]
        name = f"cmr_t{next(self.databases)}"
        with closing(self.superuser()) as conn:
            for attempt in range(50):
                try:
                    conn.cursor().execute(
                        f"CREATE DATABASE {name} TEMPLATE {src} OWNER cmr")
                    return self.url(name)
                except Exception as e:
                    # A client that just left may still hold its backend
                    # for a moment ("being accessed by other users").
                    if "being accessed" not in str(e) or attempt == 49:
                        raise
                    time.sleep(0.1)

    def drop_database(self, url):
        """Drops the database at `url` (a test's, once it is done), so
        that the cluster's files stay small to search (store_bytes)."""
        name = url.rsplit("/", 1)[1]
        self.admin().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def data_files(self):
        """Every file of the cluster's data directory, pg_wal included:
        path relative to it -> bytes, after a CHECKPOINT (so that what the
        server holds in memory is on disk too). Read as root: the
        directory is the postgres user's."""
        with closing(self.superuser()) as conn:
            conn.cursor().execute("CHECKPOINT")
        files = {}
        for path in sorted(Path(self.dir).rglob("*")):
            if path.is_file() and not path.is_symlink():
                try:
                    files[str(path.relative_to(self.dir))] = \
                        path.read_bytes()
                except FileNotFoundError:  # removed meanwhile (a temp file)
                    pass
        return files

    def file_of(self, relative):
        """What the file at `relative` in the data directory is: a
        segment of the WAL, or a relation's file named by the database
        and relation it holds (pg_class.relfilenode)."""
        parts = relative.split("/")
        if parts[0] == "pg_wal":
            return "a WAL segment"
        if parts[0] != "base" or len(parts) != 3:
            return "a file of the cluster"
        oid, node = parts[1], parts[2].split(".")[0].split("_")[0]
        with closing(self.superuser()) as conn:
            cur = conn.cursor()
            cur.execute("SELECT datname FROM pg_database WHERE oid = %s",
                        (int(oid),))
            row = cur.fetchone()
        if row is None:
            return "a database dropped since"
        url = self.url(row[0])
        with closing(pg_connect(url)) as conn:
            cur = conn.cursor()
            cur.execute("SELECT relname, relkind FROM pg_class WHERE "
                        "pg_relation_filenode(oid) = %s", (int(node),))
            rel = cur.fetchone()
        what = f"{rel[0]} ({rel[1]})" if rel else f"filenode {node}"
        return f"database {row[0]}, relation {what}"


    def stop(self):
        if self._super is not None:
            self._super.close()
        self.script("stop", self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def found_in(files, needles, describe=lambda relative: ""):
    """Where each of `needles` (bytes) is in `files` (name -> bytes): one
    line per file and needle, with the bytes around the first place."""
    lines = []
    for name, data in files.items():
        for n in needles:
            at = data.find(n)
            if at >= 0:
                around = data[max(0, at - 40):at + len(n) + 40]
                shown = (repr(n.decode()) if n.isascii() and n.decode()
                         .isprintable() else f"bytes {n.hex()}")
                lines.append(f"{name} [{describe(name)}] @{at}: {shown} "
                             f"in {around!r}")
    return lines


PG_CLUSTER = None  # the session's PgCluster, under PostgreSQL


@pytest.fixture(scope="session", autouse=True)
def pg_session():
    """Under CMR_TEST_STORE=postgresql, the cluster every Ctx's database
    is made in, stopped at the end of the session."""
    global PG_CLUSTER
    if not ON_POSTGRESQL:
        yield None
        return
    PG_CLUSTER = PgCluster()
    yield PG_CLUSTER
    PG_CLUSTER.stop()
    PG_CLUSTER = None


@pytest.fixture
def pg_cluster(pg_session):
    """The session's PgCluster; the test is skipped on SQLite."""
    if pg_session is None:
        pytest.skip("PostgreSQL only: run with CMR_TEST_STORE=postgresql")
    return pg_session


def clean_env(extra=None):
    """The caller's environment without CMR_*, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMR_")}
    env.update(extra or {})
    return env


class Sql:
    """A DB-API connection to a test's store, sqlite3 or psycopg2, in
    autocommit. Tests write their SQL once, with `?` placeholders (which
    become psycopg2's `%s` on PostgreSQL), and get bytes for blobs and
    bytea alike. As a context manager it closes the connection at the end
    (it commits nothing: every statement is its own transaction)."""

    def __init__(self, conn, pg):
        self.conn, self.pg = conn, pg

    def sql(self, text):
        """`text` in the connection's parameter style."""
        return text.replace("%", "%%").replace("?", "%s") if self.pg \
            else text

    def execute(self, text, params=()):
        """Runs one statement; returns its cursor (fetchone, fetchall,
        iteration, rowcount)."""
        cur = self.conn.cursor()
        cur.execute(self.sql(text), tuple(params))
        return cur

    def executemany(self, text, rows):
        cur = self.conn.cursor()
        cur.executemany(self.sql(text), [tuple(r) for r in rows])
        return cur

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def pg_connect(url):
    """A psycopg2 connection to `url` in autocommit whose bytea columns
    come back as bytes (as sqlite3's blobs do), not memoryview."""
    import psycopg2
    import psycopg2.extensions as ext

    def as_bytes(value, cur):
        m = psycopg2.BINARY(value, cur)
        return None if m is None else bytes(m)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    ext.register_type(ext.new_type(psycopg2.BINARY.values, "BYTES",
                                   as_bytes), conn)
    return conn


class Ctx:
    """One temporary cmr installation: store file and keys directory."""

    def __init__(self, root):
        self.root = Path(root)
        self.keys = self.root / "keys"
        self.serve_env = {}  # extra environment of `cmr serve`
        self.pg_url = None  # under PostgreSQL: its database, once made

    @property
    def db(self):
        """The SQLite store's file."""
        sqlite_only("the SQLite store's file")
        return self.root / "cmr.db"

    @property
    def store(self):
        """The --store URL: the SQLite file, or a database of its own on
        the session's PostgreSQL cluster (made on first use)."""
        if not ON_POSTGRESQL:
            return "sqlite:" + str(self.db)
        if self.pg_url is None:
            assert PG_CLUSTER is not None, "no PostgreSQL cluster (yet)"
            self.pg_url = PG_CLUSTER.new_database()
        return self.pg_url

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
        fail_on_sanitizer_report("cmr " + " ".join(args), p.stderr)
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

    def store_made(self):
        """Whether the store is there: SQLite's file, or on PostgreSQL any
        table in the database (which the tests make empty beforehand)."""
        if not ON_POSTGRESQL:
            return self.db.exists()
        with self.sql() as db:
            (n,) = db.execute(
                "SELECT count(*) FROM information_schema.tables WHERE "
                "table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchone()
        return n > 0

    def store_bytes(self):
        """What a grep of the store's files searches, as bytes: SQLite's
        database file and its WAL; on PostgreSQL the whole data directory
        of the session's cluster, pg_wal included (every database in it:
        a value found there may be another test's)."""
        return b"".join(self.store_files().values())

    def store_files(self):
        """The files store_bytes() searches: name -> bytes."""
        if ON_POSTGRESQL:
            return PG_CLUSTER.data_files()
        files = {}
        for suffix in ("", "-wal"):
            f = Path(str(self.db) + suffix)
            if f.exists():
                files[f.name] = f.read_bytes()
        return files

    def store_find(self, needles):
        """Where in the store's files any of `needles` (bytes) is: a list
        of lines naming the file, what it holds and the bytes around."""
        describe = PG_CLUSTER.file_of if ON_POSTGRESQL else (lambda n: n)
        return found_in(self.store_files(), needles, describe)

    def store_contents(self):
        """What must not change when a command writes nothing: SQLite's
        files, byte for byte; on PostgreSQL every row of every table of
        the database (its files change without a write of ours: hint
        bits, statistics, checkpoints)."""
        if not ON_POSTGRESQL:
            return self.store_bytes()
        rows = {}
        with self.sql() as db:
            tables = [t for (t,) in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE "
                "table_schema = current_schema() ORDER BY table_name")]
            for t in tables:
                rows[t] = sorted(map(repr, db.execute(f'SELECT * FROM "{t}"')))
        return rows

    def wrapped_keys(self):
        """person id -> its wrapped data key, as the store holds it."""
        with self.sql() as db:
            return {i: bytes(k) for i, k in db.execute(
                "SELECT id, data_key FROM persons WHERE length(data_key) > "
                "0")}

    def keys_open(self, wrapped, keys=None):
        """Whether the keys directory (this one's, or `keys`) opens
        `wrapped`, a person's wrapped data key: cmr tries the first
        person's key whenever it opens a store, so with `wrapped` planted
        there `cmr migrate` (which reads no person) runs, or says it cannot
        open the data. The row is put back after; no server may run."""
        before = self.wrapped_keys()
        assert before, "keys_open() needs a person with a data key"
        with self.sql() as db:
            db.execute("UPDATE persons SET data_key = ? WHERE id = (SELECT "
                       "min(id) FROM persons WHERE length(data_key) > 0)",
                       (wrapped,))
        try:
            r = self.run("migrate", "--store", self.store, "--keys",
                         str(keys or self.keys), paths=False)
        finally:
            with self.sql() as db:
                for i, k in before.items():
                    db.execute("UPDATE persons SET data_key = ? WHERE id = "
                               "?", (k, i))
        if r.rc == 0:
            return True
        assert r.rc == 1 and "cannot open the data" in r.err, r
        return False

    def sql(self):
        """An Sql connection to the store. On SQLite only while no server
        runs (it would wait for the writer's lock); on PostgreSQL at any
        time."""
        if ON_POSTGRESQL:
            return Sql(pg_connect(self.store), True)
        return Sql(sqlite3.connect(self.db, isolation_level=None), False)

    def copy_to(self, root, dst=None):
        """A copy of this installation (store and keys) in `root`: the
        SQLite files, or on PostgreSQL a database made from this one as
        a template (so no server may run on it meanwhile). With `dst` (a
        Ctx on `root` with no store yet), the copy is made into it."""
        dst = dst or Ctx(root)
        assert dst.root == Path(root) and dst.pg_url is None
        shutil.copytree(self.keys, dst.keys)
        if ON_POSTGRESQL:
            dst.pg_url = PG_CLUSTER.copy_database(self.store)
            return dst
        for f in self.root.glob("cmr.db*"):
            shutil.copy2(f, dst.root / f.name)
        return dst

    def drop(self):
        """Drops the PostgreSQL database this installation made on the
        session's cluster, if any (at the end of its test); nothing on
        SQLite (tmp_path goes), nor for a database a test made on a
        cluster of its own (whose names the session's may share)."""
        if PG_CLUSTER is not None and self.pg_url is not None and \
                self.pg_url.startswith(PG_CLUSTER.url("")):
            PG_CLUSTER.drop_database(self.pg_url)
        self.pg_url = None


@pytest.fixture
def ctx(tmp_path):
    c = Ctx(tmp_path)
    yield c
    c.drop()


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
    c.ok("init")  # only init makes keys
    r = c.ok("demo")
    c.demo_output = r.out
    return c


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """One demo world, loaded once; tests get copies (demo_ctx)."""
    return make_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_ctx(demo_template, ctx):
    """A fresh copy of the demo world for one test to change at will: the
    test's ctx, so that start_server and the other fixtures on ctx use it
    (on SQLite they would by its path alone, on PostgreSQL by its URL)."""
    c = demo_template.copy_to(ctx.root, ctx)
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
        if not ctx.keys.exists():
            ctx.ok("init")  # only init makes keys
        self.log_path = ctx.root / f"serve-{time.monotonic_ns()}.log"
        self.log_file = open(self.log_path, "w")
        argv = [CMR_BIN, "serve", "--http", "127.0.0.1:0", "--lmtp", "off",
                "--policy", "off", "--metrics", "off", *ctx.paths(), *extra]
        # ctx.serve_env: CMR_* variables for the server (a test's clock)
        self.proc = subprocess.Popen(argv, env=clean_env(ctx.serve_env),
                                     cwd=ctx.root,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.log_file)
        self.address = self._wait_listening()
        self.url = f"http://{self.address}"
        self._wait_healthy()
        self._wait_ready()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def check_sanitizers(self):
        """Fails the test if the server's log holds a sanitizer's report."""
        fail_on_sanitizer_report("cmr serve", self.log())

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

    def _wait_ready(self):
        """HTTP answers before the metrics and LMTP doors are open; the
        tests that read their ports from the log wait for the last line."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if "serve: ready (" in self.log():
                return
            if self.proc.poll() is not None:
                self._fail(f"exited with {self.proc.returncode} before "
                           "ready")
            time.sleep(0.02)
        self._fail("logged no 'serve: ready' line")

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
    for s in started:
        s.check_sanitizers()


@pytest.fixture
def server(start_server):
    """A running `cmr serve` on the test's store; yields its base URL and
    asserts on teardown that SIGTERM makes it exit 0 in time."""
    s = start_server()
    yield s.url
    rc = s.stop(signal.SIGTERM)
    assert rc == 0, f"cmr serve exited {rc} on SIGTERM; log:\n{s.log()}"


# --- The HTTP API: persons, brands, relationships -----------------------
#
# `api` is a running `cmr serve --open-registration` on the test's store;
# api.signup() makes a person (with a bearer token), api.add_brand() a
# brand (through `cmr brand add --json`, beside the running server), and
# api.connect() walks steps 2–4 of the README's HTTP walk between them.

PASSWORD = "correct-horse-battery"

# What a brand asks for and what a person grants, unless a test says else.
ASK = {"value": "10% off every order", "fields": ["name", "email"],
       "channels": ["email"], "topics": ["orders", "offers"]}
GRANT = {"channels": {"email": {"allowed": True}}, "fields": ["name", "email"]}


def media_type(reply):
    return reply.headers.get("Content-Type", "").split(";")[0].strip()


def problem_types():
    """The kinds of problem src/http/openapi.json documents: type URI →
    its status (each description starts with it)."""
    doc = json.loads((REPO / "src/http/openapi.json").read_text())
    kinds = doc["components"]["schemas"]["Problem"]["properties"]["type"]
    return {k["const"]: int(k["description"][:3]) for k in kinds["oneOf"]}


PROBLEM_TYPES = problem_types()


def openapi_schema(name):
    """A validator for components.schemas[name] of src/http/openapi.json
    (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    import jsonschema
    doc = json.loads((REPO / "src" / "http" / "openapi.json").read_text())
    schema = {"$ref": f"#/components/schemas/{name}",
              "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


def assert_schema(value, name):
    """value matches the OpenAPI document's schema `name`."""
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in openapi_schema(name).iter_errors(value)]
    assert not errors, (name, errors, value)


def store_key(api_id):
    """The store's key of an API id ("per_…"; src/core/id.c, id_decode):
    tests that read the store find a person by it, since the store keeps
    handles only as keyed hashes."""
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    bits = 0
    for c in api_id[4:]:
        bits = (bits << 5) | alphabet.index(c)
    m = bits & (2**64 - 1)  # the last 8 of its 10 bytes
    mask = 2**64 - 1

    def unxorshift(x, s):
        r = x
        for _ in range(s, 64, s):
            r = x ^ (r >> s)
        return r
    m = unxorshift(m, 31)
    m = (m * 0x319642b2d24d8ec3) & mask
    m = unxorshift(m, 27)
    m = (m * 0x96de1b173f119089) & mask
    m = unxorshift(m, 30)
    return m - 2**64 if m >= 2**63 else m  # stored as a signed integer


def assert_problem(reply, status, field=None):
    """reply is an RFC 9457 problem with `status` and a type that
    openapi.json documents for that status; with `field`, one of its
    errors[] names that field. Returns the parsed problem."""
    assert reply.status == status, (reply.status, reply.body[:500])
    assert media_type(reply) == "application/problem+json", dict(
        reply.headers)
    body = reply.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert body["status"] == status, body
    assert PROBLEM_TYPES.get(body["type"]) == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if field is not None:
        fields = [e.get("field") for e in body.get("errors", [])]
        assert field in fields, body
    return body


class Caller:
    """Someone who calls the API with one credential (or none)."""

    credential = None

    def __init__(self, api):
        self.api = api

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.credential:
            h.setdefault("Authorization", "Bearer " + self.credential)
        return self.api.call(method, path, body, headers=h)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def ok(self, method, path, body=None, status=200):
        """Calls and asserts `status`; returns the parsed body (or None)."""
        r = self.call(method, path, body)
        assert r.status == status, (method, path, r.status, r.body[:500])
        return r.json() if r.body else None


class Person(Caller):
    """A person with a bearer token: `token` (the body of a 201 from POST
    /v1/tokens), or a new one."""

    def __init__(self, api, handle, password, id, token=None):
        super().__init__(api)
        self.handle, self.password, self.id = handle, password, id
        if token is None:
            r = api.tokens(handle, password)
            assert r.status == 201, r
            token = r.json()
        self.token_id, self.credential = token["id"], token["token"]

    def all(self, path):
        """Every item of a cursor-paged list (following "next")."""
        items, after = [], None
        sep = "&" if "?" in path else "?"
        for _ in range(1000):
            q = path if after is None else f"{path}{sep}after={after}"
            page = self.ok("GET", q)
            items += page["items"]
            after = page["next"]
            if after is None:
                return items
        raise AssertionError("the list never ends")

    def messages(self, query=""):
        return self.all("/v1/me/messages" + (f"?{query}" if query else ""))

    def message(self, msg_id):
        """The person's view of one attempt (by the brand's msg_ id)."""
        found = [m for m in self.messages() if m["id"] == msg_id]
        assert len(found) == 1, (msg_id, found)
        return found[0]

    def ledger(self):
        return self.all("/v1/me/ledger")

    def snapshot(self):
        """What a rejected request must leave unchanged."""
        return {
            "profile": self.ok("GET", "/v1/me/profile"),
            "terms": self.ok("GET", "/v1/me/terms"),
            "relationships": self.all("/v1/me/relationships"),
            "proposals": self.all("/v1/me/proposals"),
            "messages": self.messages(),
            "ledger": self.ledger(),
        }


class Brand(Caller):
    def __init__(self, api, name, id, key):
        super().__init__(api)
        self.name, self.id, self.credential = name, id, key

    def send(self, rel, channel="email", topic="offers", subject="Hello",
             body="A message."):
        """POST /v1/messages; returns the reply (any status)."""
        msg = {"relationship": rel, "channel": channel, "subject": subject,
               "body": body}
        if topic is not None:
            msg["topic"] = topic
        return self.post("/v1/messages", msg)


class Relationship:
    """A relationship made by api.connect(): its id, alias, proposal and
    the accept reply's terms."""

    def __init__(self, person, brand, proposal, accepted):
        self.person, self.brand, self.proposal = person, brand, proposal
        self.id, self.alias = accepted["id"], accepted["alias"]
        self.terms = accepted["terms"]

    def put_terms(self, terms):
        return self.person.put(f"/v1/me/relationships/{self.id}/terms",
                               terms)


class Api:
    """A running `cmr serve --open-registration` (plus `extra` flags) on
    the test's store, and the calls every API test makes."""

    def __init__(self, start, ctx, *extra):
        self._start, self.ctx, self.extra = start, ctx, extra
        self.server = start("--open-registration", *extra)

    @property
    def url(self):
        return self.server.url

    def call(self, method, path, body=None, headers=None):
        """One request. body: a dict or list (sent as JSON), bytes (sent
        as is) or None."""
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        return http(method, self.url + path, body, h)

    def alive(self):
        return http("GET", self.url + "/healthz").status == 200

    def stop(self):
        rc = self.server.stop()
        assert rc == 0, f"cmr serve exited {rc}; log:\n{self.server.log()}"

    def start(self):
        """Starts the server again (after stop()) on the same store and
        keys; callers keep their credentials."""
        assert self.server.proc.poll() is not None, "still running"
        self.server = self._start("--open-registration", *self.extra)

    def restart(self):
        self.stop()
        self.start()

    def tokens(self, handle, password):
        return self.call("POST", "/v1/tokens",
                         {"handle": handle, "password": password})

    def signup(self, handle, password=PASSWORD, profile=None):
        r = self.call("POST", "/v1/persons",
                      {"handle": handle, "password": password})
        assert r.status == 201, r
        p = Person(self, handle, password, r.json()["id"])
        if profile is not None:
            p.ok("PUT", "/v1/me/profile", profile)
        return p

    def add_brand(self, name, domain=None):
        b = self.ctx.add_brand(name, domain or f"{name.lower()}.example")
        return Brand(self, name, b["id"], b["api_key"])

    def code(self, person):
        return person.ok("POST", "/v1/me/connect-codes", status=201)["code"]

    def propose(self, person, brand, ask=None):
        """A pending proposal from brand to person; returns its prp_ id."""
        body = dict(ASK if ask is None else ask,
                    connect_code=self.code(person))
        return brand.ok("POST", "/v1/proposals", body, status=201)["id"]

    def connect(self, person, brand, ask=None, grant=None):
        """Proposal and accept; returns the Relationship."""
        prp = self.propose(person, brand, ask)
        acc = person.ok("POST", f"/v1/me/proposals/{prp}/accept",
                        GRANT if grant is None else grant, status=201)
        return Relationship(person, brand, prp, acc)


@pytest.fixture
def make_api(start_server, ctx):
    """make_api(*extra_flags) -> Api on the test's store."""
    return lambda *extra: Api(start_server, ctx, *extra)


@pytest.fixture
def api(make_api):
    return make_api()


def raw_http(address, data, timeout=30):
    """Sends `data` (the bytes of one request, or an iterable of chunks
    of it) on a new connection and reads the reply until the server
    closes or the reply is complete. Returns Reply; tolerates the server
    closing while we still send (as it may after a 413)."""
    host, port = address.rsplit(":", 1)
    chunks = [data] if isinstance(data, bytes) else data
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            for c in chunks:
                s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while True:
            try:
                got = s.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            buf += got
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1."), buf[:200]
    headers = email.message.Message()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return Reply(int(lines[0].split()[1]), headers, body)
