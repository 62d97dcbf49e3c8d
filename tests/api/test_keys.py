"""The keys a store belongs to: wrong or empty keys directories refused by
every command (both paths named, nothing written), a store from before key
ids adopting only keys that open it, one server per store, file modes,
`cmr keys rotate`, and GET /.well-known/jwks.json — with the README's
offline recipe run for real on old and new heads and receipts."""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ON_POSTGRESQL, PASSWORD, Ctx, http, sqlite_only

README = Path(__file__).parents[2] / "README.md"
KID = re.compile(r"^[0-9a-f]{16}$")


def mode(path):
    return stat.S_IMODE(Path(path).stat().st_mode)


def tree(path):
    """name -> bytes of every file under path (None when it is missing)."""
    path = Path(path)
    if not path.exists():
        return None
    return {str(p.relative_to(path)): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def other(tmp_path_factory):
    """Another installation: its own keys, and a store with a person."""
    c = Ctx(tmp_path_factory.mktemp("other"))
    c.ok("init")
    c.add_person("zed")
    return c


SERVE = ["serve", "--http", "127.0.0.1:0", "--lmtp", "off", "--policy",
         "off", "--metrics", "off"]

# Every command that opens a store with keys, as run on a store with data.
COMMANDS = [
    SERVE, ["migrate"], ["init"], ["demo", "--if-empty"],
    ["person", "list"], ["person", "add", "lee", "--password-stdin"],
    ["brand", "list"], ["brand", "add", "Acme", "--domain", "acme.example"],
    ["ledger", "verify"], ["export", "ana", "--password-stdin"],
    ["keys", "rotate"]]


def log_in(url, handle="kim", password=PASSWORD):
    """POST /v1/tokens: the reply (201 when the server opens the person's
    key and checks the password)."""
    return http("POST", url + "/v1/tokens",
                json.dumps({"handle": handle, "password": password}).encode(),
                {"Content-Type": "application/json"})


def run_with_keys(ctx, keys, args):
    return ctx.run(*args, "--store", ctx.store, "--keys", str(keys),
                   paths=False, input=PASSWORD + "\n")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("keys", ["another store's", "empty", "missing"])
def test_wrong_keys_are_refused_and_nothing_is_written(demo_ctx, other,
                                                       tmp_path, args, keys):
    if keys == "another store's":
        folder = other.keys
    else:
        folder = tmp_path / "nokeys"
        if keys == "empty":
            folder.mkdir(mode=0o700)
    store_before, keys_before = demo_ctx.store_contents(), tree(folder)
    r = run_with_keys(demo_ctx, folder, args)
    assert r.rc == 1, r
    assert str(folder) in r.err and demo_ctx.store in r.err, r.err
    assert demo_ctx.store_contents() == store_before
    assert tree(folder) == keys_before
    # The store still opens with its own keys.
    assert demo_ctx.ok("ledger", "verify").rc == 0


def test_a_keys_folder_older_than_a_rotation_is_refused(demo_ctx, tmp_path):
    import shutil
    old = tmp_path / "old-keys"
    shutil.copytree(demo_ctx.keys, old)
    demo_ctx.ok("keys", "rotate")
    r = run_with_keys(demo_ctx, old, ["person", "list"])
    assert r.rc == 1, r
    assert str(old) in r.err and demo_ctx.store in r.err, r.err
    new_id = (demo_ctx.keys / "key_id").read_text().strip()
    assert new_id in r.err, r.err


def test_init_makes_keys_only_for_an_empty_store(ctx, other):
    made = ctx.ok("init")
    assert re.search(r"signing key id [0-9a-f]{16}", made.out)
    # A second init, and one with another store's keys on this one.
    ctx.ok("init")
    r = run_with_keys(ctx, other.keys, ["init"])
    assert r.rc == 1 and str(other.keys) in r.err, r


def legacy(ctx):
    """Makes ctx's store look like one from before key ids (no 003), and
    its keys directory like one that no store bound (no file `store`)."""
    sqlite_only("a store from before key ids (PostgreSQL's have key_ids "
                "from their first migration, schema/pg/001_init.sql)")
    db = ctx.sql()
    db.execute("DROP TABLE key_ids")
    db.execute("DELETE FROM schema_migrations WHERE version = 3")
    db.close()
    (ctx.keys / "store").unlink()


def key_ids(ctx):
    db = ctx.sql()
    rows = db.execute("SELECT kind, id FROM key_ids").fetchall()
    db.close()
    return sorted(rows)


def test_a_store_from_before_key_ids_adopts_only_keys_that_open_it(
        demo_ctx, other):
    recorded = key_ids(demo_ctx)
    legacy(demo_ctx)
    before = demo_ctx.store_contents()
    r = run_with_keys(demo_ctx, other.keys, ["person", "list"])
    assert r.rc == 1, r
    assert "unwrap" in r.err and str(other.keys) in r.err, r.err
    assert demo_ctx.store_contents() == before
    # Its own keys open it, and are recorded from then on; the store draws
    # an id of its own, which the directory now names.
    demo_ctx.ok("person", "list")
    now = key_ids(demo_ctx)
    stores = [i for k, i in now if k == "store"]
    assert stores == [(demo_ctx.keys / "store").read_text().strip()]
    assert [r for r in now if r[0] != "store"] == [
        r for r in recorded if r[0] != "store"]
    assert [k for k, _ in recorded].count("kek") == 1


def test_an_empty_store_from_before_key_ids_adopts_its_keys(inited, other):
    legacy(inited)
    inited.ok("ledger", "verify")
    assert run_with_keys(inited, other.keys, ["person", "list"]).rc == 1


# --- one server per store ------------------------------------------------

@pytest.mark.sqlite_only("one server per SQLite store, by its PATH.lock")
def test_a_second_serve_on_the_same_store_is_refused(start_server, ctx):
    s = start_server()
    r = ctx.run(*SERVE)
    assert r.rc == 1, r
    assert str(ctx.db) in r.err and "one server per store" in r.err, r.err
    for args in (["migrate"], ["keys", "rotate"]):
        r = ctx.run(*args)
        assert r.rc == 1 and str(ctx.db) in r.err, r
    # Operator commands work beside it, and it is unharmed.
    ctx.add_person("kim")
    ctx.add_brand("Acme", "acme.example")
    assert "kim" in ctx.persons()
    assert http("GET", s.url + "/healthz").status == 200
    assert s.stop() == 0
    # Once it has stopped, the store is free again.
    ctx.ok("migrate")


def test_two_serves_on_one_postgresql_database_both_start(pg_cluster, ctx,
                                                          start_server):
    """Several servers on one PostgreSQL database are allowed (what the
    PATH.lock refuses on SQLite): both start, and what one is told the
    other knows; operator commands work beside them."""
    one, two = start_server(), start_server("--open-registration")
    r = http("POST", two.url + "/v1/persons",
             json.dumps({"handle": "kim", "password": PASSWORD}).encode(),
             {"Content-Type": "application/json"})
    assert r.status == 201, r
    ctx.ok("migrate")
    ctx.add_brand("Acme", "acme.example")
    assert "kim" in ctx.persons()
    for s in (one, two):
        r = log_in(s.url)
        assert r.status == 201, (s.url, r)
    assert one.stop() == 0 and two.stop() == 0


# --- modes ----------------------------------------------------------------

@pytest.mark.sqlite_only("the modes of SQLite's files (PostgreSQL's are "
                         "its server's)")
def test_store_and_keys_are_private_even_under_umask_0(ctx, start_server):
    ctx.ok("init", umask=0)
    ctx.ok("person", "add", "ana", "--password-stdin",
           input=PASSWORD + "\n", umask=0)
    assert mode(ctx.keys) == 0o700
    s = start_server()
    ctx.add_person("ben")  # beside the server: the WAL is in use
    files = [p for p in ctx.root.glob("cmr.db*")]
    names = {p.name for p in files}
    assert {"cmr.db", "cmr.db-wal", "cmr.db-shm", "cmr.db.lock"} <= names
    for p in files:
        assert mode(p) == 0o600, (p.name, oct(mode(p)))
    assert s.stop() == 0
    ctx.ok("keys", "rotate", umask=0)
    assert mode(ctx.keys) == 0o700
    for p in ctx.keys.iterdir():
        assert mode(p) == 0o600, (p.name, oct(mode(p)))


@pytest.mark.sqlite_only("the mode of SQLite's file")
def test_an_older_stores_loose_mode_is_tightened(inited):
    inited.db.chmod(0o644)
    inited.ok("person", "list")
    assert mode(inited.db) == 0o600


# --- rotation, the JWK Set, offline verification ----------------------------

def readme_recipe():
    """The README's offline-verification block, as a shell script."""
    text = README.read_text()
    marker = "<!-- tests/api/test_keys.py runs this block -->\n```sh\n"
    start = text.index(marker) + len(marker)
    return text[start:text.index("\n```\n", start)] + "\n"


def run_recipe(url, token, tmp_path, document=None):
    """Runs the README's block in a fresh directory; with `document`, that
    document (a note or a JWS) is checked instead of the current head."""
    work = tmp_path / f"recipe-{len(list(tmp_path.glob('recipe-*')))}"
    work.mkdir()
    script = readme_recipe()
    if document is not None:
        script = "\n".join(l for l in script.splitlines()
                           if "> signed.txt" not in l)
        (work / "signed.txt").write_text(document)
    env = {"PATH": os.environ["PATH"], "B": url, "TOK": token}
    return subprocess.run(["bash", "-eu", "-o", "pipefail", "-c", script],
                          cwd=work, env=env, capture_output=True, text=True,
                          timeout=60)


def jwk_ok(jwk):
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}, jwk
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (
        "OKP", "Ed25519", "EdDSA", "sig")
    assert KID.match(jwk["kid"]), jwk
    assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32
    assert "=" not in jwk["x"] and "d" not in jwk


def test_rotate_keeps_old_heads_and_receipts_verifiable(api, ctx, tmp_path):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    old_head = ana.get("/v1/me/ledger/head").body.decode()
    old_receipt = ana.ok(
        "GET", f"/v1/me/relationships/{rel.id}/receipts")["items"][0]["receipt"]
    r = http("GET", api.url + "/.well-known/jwks.json")
    assert r.status == 200, r
    before = r.json()["keys"]
    assert len(before) == 1
    jwk_ok(before[0])
    old_kid = before[0]["kid"]
    assert old_kid == (ctx.keys / "key_id").read_text().strip()

    # The recipe, before the rotation, on the head; a forged one fails.
    r = run_recipe(api.url, ana.credential, tmp_path)
    assert r.returncode == 0 and "Verified Successfully" in r.stdout, r
    lines = old_head.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the seq
    forged = "\n".join(lines)
    r = run_recipe(api.url, ana.credential, tmp_path, forged)
    assert r.returncode != 0, r

    api.stop()
    out = ctx.ok("keys", "rotate").out
    new_kid = (ctx.keys / "key_id").read_text().strip()
    assert new_kid != old_kid and new_kid in out and old_kid in out
    assert (ctx.keys / f"retired-{old_kid}.pub").is_file()
    ctx.ok("ledger", "verify")  # the old head, with the old key
    api.start()

    keys = http("GET", api.url + "/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [new_kid, old_kid]
    for k in keys:
        jwk_ok(k)
    assert keys[1] == before[0]
    # Old head and old receipt verify with the old key, the new head with
    # the new one — all with the README's recipe.
    for doc, kid in ((old_head, old_kid), (old_receipt, old_kid),
                     (None, new_kid)):
        r = run_recipe(api.url, ana.credential, tmp_path, doc)
        assert r.returncode == 0, r
        assert f"signed by key {kid}" in r.stdout, r.stdout
    # A receipt made now names the new key.
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    items = ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts")["items"]
    r = run_recipe(api.url, ana.credential, tmp_path, items[-1]["receipt"])
    assert r.returncode == 0 and f"signed by key {new_kid}" in r.stdout, r

    # The export carries the same set.
    doc = ana.ok("POST", "/v1/me/export", {"password": ana.password})
    assert doc["jwks"] == {"keys": keys}
    api.stop()
    cli = json.loads(ctx.ok("export", "ana", "--password-stdin",
                            input=PASSWORD + "\n").out)
    assert cli["jwks"] == {"keys": keys}
    ctx.ok("ledger", "verify")
    db = ctx.sql()
    ids = {i for (i,) in db.execute(
        "SELECT id FROM key_ids WHERE kind = 'signing'")}
    db.close()
    assert ids == {old_kid, new_kid}


def test_jwks_needs_no_credentials_and_is_in_openapi(server):
    r = http("GET", server + "/.well-known/jwks.json")
    assert r.status == 200
    assert r.headers.get("Content-Type", "").startswith("application/json")
    doc = http("GET", server + "/v1/openapi.json").json()
    assert "get" in doc["paths"]["/.well-known/jwks.json"]


# --- the wrap key (cmr keys rotate --wrap) ----------------------------------

DEMO_PASSWORD = "demo-password-ana"


def export(ctx, handle="ana", password=DEMO_PASSWORD):
    return ctx.ok("export", handle, "--password-stdin",
                  input=password + "\n").out


def wrap_key_ids(keys):
    """The ids of the wrap keys in a keys directory's wrap.keys (first the
    current one), as a wrapped data key names them: the first 8 bytes of
    BLAKE2b-256 keyed with the key over a fixed message (keys.h)."""
    return [hashlib.blake2b(b"cmr wrap key id", digest_size=32,
                            key=base64.b64decode(line)).digest()[:8]
            for line in (keys / "wrap.keys").read_text().split()]


def clone_persons(ctx, n):
    """n more persons, each a copy of the first person's row (its wrapped
    data key included) under another id and handle: many data keys to
    re-wrap, made fast."""
    with ctx.sql() as db:
        if ON_POSTGRESQL:
            cols = [c for (c,) in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE "
                "table_schema = current_schema() AND table_name = 'persons' "
                "ORDER BY ordinal_position")]
        else:
            cols = [r[1] for r in db.execute("PRAGMA table_info(persons)")]
        (src,), = db.execute("SELECT min(id) FROM persons WHERE "
                             "length(data_key) > 0").fetchall()
        picks = ", ".join("?" if c in ("id", "handle") else c for c in cols)
        for i in range(n):
            params = [src + 1 + i if c == "id" else f"clone-{i}"
                      for c in cols if c in ("id", "handle")]
            db.execute(f"INSERT INTO persons({', '.join(cols)}) SELECT "
                       f"{picks} FROM persons WHERE id = ?", (*params, src))


def test_a_wrap_rotation_re_wraps_every_data_key_and_retires_the_old_key(
        demo_ctx, tmp_path):
    import shutil
    ctx = demo_ctx
    clone_persons(ctx, 1100)  # more than two batches of 512
    before, seen = ctx.wrapped_keys(), export(ctx)
    files = tree(ctx.keys)
    old_copy = tmp_path / "keys-before"
    shutil.copytree(ctx.keys, old_copy)
    assert set(files) == {"signing.key", "key_id", "wrap.keys", "hash.key",
                          "kek_id", "store"}, sorted(files)
    old_id, = wrap_key_ids(ctx.keys)
    assert all(len(k) == 81 and k[0] == 2 and k[1:9] == old_id
               for k in before.values())
    sample = next(iter(before.values()))

    # Step 1: a new wrap key, every data key wrapped anew under it; the
    # old key stays (for a backup first) and still opens.
    out = ctx.ok("keys", "rotate", "--wrap").out
    n = len(before)
    assert f"{n} of {n} persons' data keys wrapped anew" in out, out
    assert "kept until --finish" in out and "Back up" in out, out
    new_id, kept = wrap_key_ids(ctx.keys)
    assert kept == old_id and new_id != old_id
    after = ctx.wrapped_keys()
    assert set(after) == set(before)
    assert all(after[i] != before[i] and len(after[i]) == 81
               and after[i][1:9] == new_id for i in before)
    assert ctx.keys_open(sample)
    assert export(ctx) == seen
    # Run again before --finish: the same rotation, nothing left to do.
    out = ctx.ok("keys", "rotate", "--wrap").out
    assert f"0 of {n} persons' data keys wrapped anew" in out, out
    assert wrap_key_ids(ctx.keys) == [new_id, old_id]

    # Step 2: the old wrap key is destroyed; no old wrapped key opens.
    out = ctx.ok("keys", "rotate", "--wrap", "--finish").out
    assert "1 old wrap key removed" in out and "made before" in out, out
    assert wrap_key_ids(ctx.keys) == [new_id]
    for k in set(before.values()):
        assert not ctx.keys_open(k)
    assert ctx.keys_open(next(iter(after.values())))
    # The directory: the new wrap key alone, the old one's text in no
    # file of it, no file left over; what the store hashed and recorded
    # stays (aliases still resolve, the store knows its keys).
    now = tree(ctx.keys)
    assert set(now) == set(files)
    old_line = files["wrap.keys"].strip()
    assert not any(old_line in body for body in now.values())
    for same in ("hash.key", "kek_id", "signing.key", "key_id"):
        assert now[same] == files[same], same
    for p in ctx.keys.iterdir():
        assert mode(p) == 0o600, p
    # Everything reads as before: the whole export of a person, aliases,
    # folders, profile and messages included.
    assert export(ctx) == seen
    ctx.ok("ledger", "verify")
    # A copy of the directory from before is refused, saying why.
    r = run_with_keys(ctx, old_copy, ["person", "list"])
    assert r.rc == 1 and "before a cmr keys rotate --wrap" in r.err, r
    assert str(old_copy) in r.err
    # --finish with no rotation under way says so; --finish alone is
    # a usage error.
    r = ctx.run("keys", "rotate", "--wrap", "--finish")
    assert r.rc == 1 and "no rotation of the wrap key is under way" in r.err
    assert ctx.run("keys", "rotate", "--finish").rc == 2


def test_a_kek_directory_becomes_wrap_keys_with_every_hash_kept(
        ctx, start_server):
    """A keys directory made before wrap keys (signing.key, key_id and a
    `kek`): it keeps working, and its first wrap rotation replaces the kek
    by hash.key and kek_id derived from it, so aliases, handles and the
    store's record of its keys stay what they were."""
    ctx.keys.mkdir(mode=0o700)
    for name in ("signing.key", "kek"):
        f = ctx.keys / name
        f.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
        f.chmod(0o600)
    kek = (ctx.keys / "kek").read_bytes().strip()
    ctx.ok("init")
    assert "kek" in tree(ctx.keys) and "wrap.keys" not in tree(ctx.keys)
    ctx.ok("demo")
    seen = export(ctx)
    with ctx.sql() as db:
        (kek_id,), = db.execute(
            "SELECT id FROM key_ids WHERE kind = 'kek'").fetchall()
    before = ctx.wrapped_keys()
    assert ctx.keys_open(next(iter(before.values())))

    out = ctx.ok("keys", "rotate", "--wrap").out
    assert "1 old wrap key kept until --finish" in out, out
    assert "kek" in tree(ctx.keys)
    out = ctx.ok("keys", "rotate", "--wrap", "--finish").out
    assert "1 old wrap key removed" in out, out
    files = tree(ctx.keys)
    assert "kek" not in files, sorted(files)
    assert not any(kek in body for body in files.values())
    assert files["kek_id"] == (kek_id + "\n").encode()
    assert {"hash.key", "wrap.keys"} <= set(files)
    for k in before.values():
        assert not ctx.keys_open(k)
    assert export(ctx) == seen
    # The server finds aliases and handles by their hashes, as before.
    s = start_server()
    r = log_in(s.url, "ana", DEMO_PASSWORD)
    assert r.status == 201, r
    assert s.stop() == 0


def test_a_keys_directory_with_another_sets_hash_key_is_refused(demo_ctx):
    """hash.key from another key set would make every lookup by hash
    (log-in, aliases) miss without a word: the store records the hash
    key's fingerprint and refuses it."""
    ctx = demo_ctx
    before = ctx.store_contents()
    hk = ctx.keys / "hash.key"
    hk.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    r = ctx.run("person", "list")
    assert r.rc == 1 and "hash key" in r.err and "different key sets" \
        in r.err, r
    assert ctx.store_contents() == before


def test_a_key_rotation_waits_for_no_server(ctx, start_server):
    """`cmr keys rotate` (either) refuses while a server has the store: a
    server would go on with the keys it loaded. On PostgreSQL, where
    several servers share the store, by an advisory lock each server holds
    shared and a rotation alone."""
    ctx.ok("init")
    ctx.add_person("kim")
    s = start_server()
    for args in (["keys", "rotate"], ["keys", "rotate", "--wrap"],
                 ["keys", "rotate", "--wrap", "--finish"]):
        before = tree(ctx.keys)
        r = ctx.run(*args)
        assert r.rc == 1, r
        if ON_POSTGRESQL:
            assert "stop every server on it first" in r.err, r.err
        else:
            assert str(ctx.db) in r.err, r.err
        assert tree(ctx.keys) == before
    assert http("GET", s.url + "/healthz").status == 200
    assert s.stop() == 0
    ctx.ok("keys", "rotate", "--wrap")
    assert "kim" in ctx.persons()


# --- a server that lost its lock (PostgreSQL) ------------------------------

def serve_backends(pg, ctx, advisory=False):
    """The pids of the sessions of the test's database named "cmr serve …"
    (advisory: only those holding the servers' advisory lock)."""
    db = ctx.store.rsplit("/", 1)[1]
    cur = pg.admin()
    cur.execute(
        "SELECT a.pid FROM pg_stat_activity a WHERE a.datname = %s AND "
        "a.application_name LIKE 'cmr serve%%' AND (NOT %s OR EXISTS "
        "(SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND "
        "l.locktype = 'advisory' AND l.granted))", (db, advisory))
    return [row[0] for row in cur.fetchall()]


def terminate(pg, pids):
    cur = pg.admin()
    for pid in pids:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))


def terminate_all(pg, ctx, advisory=False, seconds=30):
    """Terminates the server's sessions (serve_backends) until none is
    left; fails saying what PostgreSQL shows of those that stay."""
    deadline = time.monotonic() + seconds
    while pids := serve_backends(pg, ctx, advisory):
        if time.monotonic() > deadline:
            cur = pg.admin()
            cur.execute("SELECT pid, state, wait_event_type, wait_event, "
                        "left(query, 80) FROM pg_stat_activity WHERE "
                        "pid = ANY(%s)", (pids,))
            pytest.fail(f"sessions stay after {seconds} s of "
                        f"pg_terminate_backend: {cur.fetchall()}")
        terminate(pg, pids)
        time.sleep(0.2)


def wait_for(what, check, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"waited {seconds} s for {what}")


def test_a_server_that_lost_its_lock_takes_it_again(pg_cluster, ctx,
                                                     start_server):
    """PostgreSQL drops the connection a server holds its lock on: the
    server takes the lock again by itself, and meanwhile a rotation is
    refused all the same (the server's other sessions are there; the
    server is frozen meanwhile, so that it cannot have the lock back)."""
    ctx.ok("init")
    ctx.add_person("kim")
    s = start_server()
    held = serve_backends(pg_cluster, ctx, advisory=True)
    assert len(held) == 1, held
    s.proc.send_signal(signal.SIGSTOP)
    try:
        terminate_all(pg_cluster, ctx, advisory=True)
        before = tree(ctx.keys)
        r = ctx.run("keys", "rotate", "--wrap")
        assert r.rc == 1, r
        assert "has sessions of cmr serve" in r.err, r.err
        assert "without the servers' lock" in r.err, r.err
        assert tree(ctx.keys) == before
    finally:
        s.proc.send_signal(signal.SIGCONT)
    wait_for("the lock taken again",
             lambda: serve_backends(pg_cluster, ctx, advisory=True))
    assert "the servers' lock was lost with its connection" in s.log()
    wait_for("the log line", lambda: "lock is held again" in s.log())
    r = ctx.run("keys", "rotate", "--wrap")
    assert r.rc == 1 and "stop every server on it first" in r.err, r
    r = log_in(s.url)
    assert r.status == 201, r
    assert s.stop() == 0


def test_a_server_whose_keys_were_rotated_meanwhile_stops(pg_cluster, ctx,
                                                          start_server):
    """A server frozen while PostgreSQL dropped every session of it, and
    a wrap rotation ran to its end in between: once it runs again it takes
    its lock again, finds that the keys it loaded are no longer the
    store's, and stops with a failure rather than serve persons whose keys
    it cannot open; started again, it serves them."""
    ctx.ok("init")
    ctx.add_person("kim")
    s = start_server()
    s.proc.send_signal(signal.SIGSTOP)
    try:
        terminate_all(pg_cluster, ctx)
        ctx.ok("keys", "rotate", "--wrap")
        ctx.ok("keys", "rotate", "--wrap", "--finish")
    finally:
        s.proc.send_signal(signal.SIGCONT)
    assert s.proc.wait(timeout=30) == 1
    assert "are no longer the store's" in s.log(), s.log()
    s = start_server()
    r = log_in(s.url)
    assert r.status == 201, r
    assert s.stop() == 0


# --- a keys directory serves one store ------------------------------------

def store_id(ctx):
    db = ctx.sql()
    rows = db.execute("SELECT id FROM key_ids WHERE kind = 'store'").fetchall()
    db.close()
    return [r[0] for r in rows]


def test_a_keys_directory_serves_one_store(ctx, tmp_path_factory):
    """Each store draws an id and the keys directory records the one it
    serves (its file `store`). A second store given that directory is
    refused, at `cmr init` as at any command: a wrap rotation of one would
    destroy the key the other's data keys are under. A copy of the
    directory, without the copy's `store`, serves a second store, and
    outlives a wrap rotation of the first."""
    ctx.ok("init")
    ctx.add_person("kim")
    ids = store_id(ctx)
    assert len(ids) == 1 and KID.match(ids[0]), ids
    assert (ctx.keys / "store").read_text() == ids[0] + "\n"
    assert mode(ctx.keys / "store") == 0o600

    two = Ctx(tmp_path_factory.mktemp("two"))
    try:
        before = tree(ctx.keys)
        r = run_with_keys(two, ctx.keys, ["init"])
        assert r.rc == 1, r
        assert "serves another store already" in r.err, r.err
        assert ids[0] in r.err and str(ctx.keys) in r.err, r.err
        assert tree(ctx.keys) == before

        # What the message says: a copy of its own.
        shutil.copytree(ctx.keys, two.keys)
        (two.keys / "store").unlink()
        two.ok("init")
        two.add_person("lee")
        (mine,) = store_id(two)
        assert mine != ids[0]
        assert (two.keys / "store").read_text() == mine + "\n"
        # The same key set, but each directory names its store.
        for c, keys, other_id in ((two, ctx.keys, ids[0]),
                                  (ctx, two.keys, mine)):
            r = run_with_keys(c, keys, ["person", "list"])
            assert r.rc == 1, r
            assert "serves another store" in r.err, r.err
            assert other_id in r.err and str(keys) in r.err, r.err

        # The first store's wrap rotation leaves the second readable.
        ctx.ok("keys", "rotate", "--wrap")
        ctx.ok("keys", "rotate", "--wrap", "--finish")
        assert "kim" in ctx.persons()
        assert "lee" in two.persons()
        s = two.ok("export", "lee", "--password-stdin", input=PASSWORD + "\n")
        assert "lee" in s.out
    finally:
        two.drop()


def test_stores_that_shared_a_directory_before_store_ids_are_parted(
        demo_ctx, tmp_path_factory):
    """Two stores that an older cmr let share one keys directory: the
    first opened binds it, the second is refused with what to do (a copy
    of the directory of its own), and once it follows that, a wrap
    rotation of the first leaves it readable."""
    legacy(demo_ctx)
    two = demo_ctx.copy_to(tmp_path_factory.mktemp("two"))
    shutil.rmtree(two.keys)
    demo_ctx.ok("person", "list")
    r = run_with_keys(two, demo_ctx.keys, ["person", "list"])
    assert r.rc == 1, r
    assert "records no id" in r.err and "cp -a" in r.err, r.err
    shutil.copytree(demo_ctx.keys, two.keys)
    (two.keys / "store").unlink()
    assert "ana" in two.persons()
    demo_ctx.ok("keys", "rotate", "--wrap")
    demo_ctx.ok("keys", "rotate", "--wrap", "--finish")
    assert "ana" in demo_ctx.persons() and "ana" in two.persons()
