"""The PostgreSQL store as an operator meets it (PostgreSQL only): both
URL schemes, errors in words for a server that cannot be reached, and
migrations that two commands started at once apply once (an advisory
lock)."""
import re
import subprocess
import threading

import pytest

from conftest import CMR_BIN, ON_POSTGRESQL, clean_env

pytestmark = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="the PostgreSQL store only")


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", url,
                        "-c", sql], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_both_schemes_name_the_same_store(ctx):
    ctx.ok("init")
    ctx.add_person("ana")
    short = re.sub(r"^postgresql:", "postgres:", ctx.store)
    assert short != ctx.store
    r = ctx.run("person", "list", "--store", short, "--keys",
                str(ctx.keys), paths=False)
    assert r.rc == 0, r
    assert "ana" in r.out


def test_a_server_that_cannot_be_reached_is_said_in_words(ctx):
    ctx.ok("init")
    # A port nothing listens on (the cluster's own plus one is free or
    # refuses: either way, no PostgreSQL answers there).
    url = re.sub(r":(\d+)/", lambda m: f":{int(m.group(1)) + 1}/",
                 ctx.store)
    r = ctx.run("person", "list", "--store", url, "--keys", str(ctx.keys),
                paths=False)
    assert r.rc != 0
    assert "cannot connect to PostgreSQL" in r.err, r.err
    assert "Segmentation" not in r.err


def test_two_migrations_at_once_apply_each_version_once(ctx):
    ctx.ok("init")  # keys, and the schema
    psql(ctx.store, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    (ctx.keys / "store").unlink()  # the keys of no store yet
    results = []

    def migrate():
        p = subprocess.run([CMR_BIN, "migrate", *ctx.paths()],
                           env=clean_env(), capture_output=True, text=True,
                           timeout=120)
        results.append(p)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p.returncode == 0 for p in results), \
        [(p.returncode, p.stderr) for p in results]
    applied = sorted(int(re.search(r"applied (\d+) migration", p.stdout)
                         .group(1)) for p in results)
    assert applied[0] == 0 and applied[1] >= 1, applied
    versions = psql(ctx.store, "SELECT version FROM schema_migrations")
    assert len(versions) == len(set(versions)) == applied[1], versions
    # Both drew a store id: one is recorded, and the keys name it.
    ids = psql(ctx.store, "SELECT id FROM key_ids WHERE kind = 'store'")
    assert len(ids) == 1, ids
    assert (ctx.keys / "store").read_text().strip() == ids[0].strip()
