"""The PostgreSQL schema (src/store/schema/pg/001_init.sql) on a real
server: it applies cleanly to a fresh database with psql, makes what the
SQLite migrations make (tables, columns in order, NOT NULL, defaults, keys,
indexes and their predicates), compares text byte by byte, numbers outbox
rows in order, and its trigger stamps a held message's refusal. Then the
migrations after it (pg/002_person_keys.sql): the keys of the person's
tables hold `person`, as sharding by person needs, the indexes still serve
what SQLite's do, and a store made by 001 with rows in it migrates.

Runs only with CMR_TEST_STORE=postgresql, on the session's cluster
(conftest.PgCluster); the SQLite side is its migrations applied in memory.
"""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import REPO, store_key

SCHEMA = REPO / "src" / "store" / "schema"
PG_SCHEMA = SCHEMA / "pg" / "001_init.sql"
# The PostgreSQL migrations that follow SQLite's, in order: all but
# 002_person_keys.sql, which keys the person's tables for sharding where
# SQLite keeps its own keys (its tests are below).
PG_MIGRATIONS = [f for f in sorted((SCHEMA / "pg").glob(
    "[0-9][0-9][0-9]_*.sql")) if f.name != "002_person_keys.sql"]


def psql(url, *args):
    """Runs psql on url (stopping at the first error); returns its rows,
    unaligned, fields split on '|'."""
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                        url, *args], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ,
                                            PGCLIENTENCODING="UTF8"))
    assert p.returncode == 0, (args, p.stderr)
    assert "ERROR" not in p.stderr and "WARNING" not in p.stderr, p.stderr
    return [line.split("|") for line in p.stdout.splitlines()]


@pytest.fixture
def pg(pg_cluster):
    """A fresh database with the migrations applied (psql's \\i, as by
    hand)."""
    url = pg_cluster.new_database()
    for f in PG_MIGRATIONS:
        psql(url, "-c", f"\\i {f}")
    return url


def sqlite_schema():
    """What the SQLite migrations arrive at, in memory."""
    db = sqlite3.connect(":memory:")
    for f in sorted(SCHEMA.glob("[0-9][0-9][0-9]_*.sql")):
        db.executescript(f.read_text())
    return db


def default(value):
    """A column's default without its type: '[]', 0, or None."""
    if value is None:
        return None
    value = re.sub(r"::[a-z ]+$", "", value)  # PostgreSQL's cast
    return value.strip("'") if value.startswith("'") else value


# SQLite's declared types, as PostgreSQL's schema writes them.
PG_TYPES = {"INTEGER": "bigint", "BIGINT": "bigint", "BLOB": "bytea",
            "TEXT": "text"}
# Declared TEXT on SQLite, but holding sealed bytes (004_sealed.sql).
SEALED_TEXT = {("attempts", "sender"), ("attempts", "subject"),
               # a message's subject falls back to its campaign's
               ("campaigns", "subject")}


def sqlite_columns(db):
    """table -> [(column, type, not null, default, in the primary key)]."""
    tables = [t for (t,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: [(name, "bytea" if (t, name) in SEALED_TEXT
                 else PG_TYPES[decl],
                 bool(notnull) or pk > 0, default(dflt), pk > 0)
                for _, name, decl, notnull, dflt, pk in db.execute(
                    "SELECT * FROM pragma_table_info(?)", (t,))]
            for t in tables}


def pg_columns(url):
    rows = psql(url, "-c", """
        SELECT c.table_name, c.column_name, c.data_type,
               c.is_nullable = 'NO',
               coalesce(c.column_default, ''), c.is_identity = 'YES',
               EXISTS (SELECT 1 FROM information_schema.key_column_usage k
                       JOIN information_schema.table_constraints t
                         USING (constraint_name, table_name)
                       WHERE t.constraint_type = 'PRIMARY KEY'
                         AND k.table_name = c.table_name
                         AND k.column_name = c.column_name)
        FROM information_schema.columns c
        WHERE c.table_schema = 'public'
        ORDER BY c.table_name, c.ordinal_position""")
    out = {}
    for table, column, type, notnull, dflt, identity, pk in rows:
        out.setdefault(table, []).append(
            (column, type, notnull == "t",
             None if identity == "t" or not dflt else default(dflt),
             pk == "t"))
    return out


# What only PostgreSQL keeps: what lets several servers share the store
# (the persons' versions of store_person_guard; the shared lock-outs).
PG_ONLY_COLUMNS = {"persons": [("gate_version", "bigint", True, "0", False)]}
PG_ONLY_TABLES = {"throttles": [
    ("key", "text", True, None, True),
    ("first_at", "bigint", True, None, False),
    ("failures", "bigint", True, None, False),
    ("locked_until", "bigint", True, None, False)]}


def test_schema_has_sqlite_s_tables_and_columns(pg):
    want = sqlite_columns(sqlite_schema())
    want.pop("schema_migrations", None)  # the backend makes it
    want.update(PG_ONLY_TABLES)
    got = pg_columns(pg)
    # PostgreSQL's own columns are where its 001 put them; the columns
    # that later migrations add follow them.
    for table, columns in PG_ONLY_COLUMNS.items():
        for column in columns:
            assert column in got[table], (table, column)
            got[table].remove(column)
    assert got == want


def test_integers_are_bigint_bytes_bytea_and_text_bytewise(pg):
    types = psql(pg, "-c", """
        SELECT DISTINCT data_type, coalesce(collation_name, '')
        FROM information_schema.columns WHERE table_schema = 'public'""")
    assert sorted(map(tuple, types)) == [
        ("bigint", ""), ("bytea", ""), ("text", "C")]
    # Ordered as bytes, whatever the database's locale.
    psql(pg, "-c", "INSERT INTO key_ids(id, kind, added_at) VALUES "
         "('a', 'kek', 1), ('B', 'kek', 1), ('_', 'kek', 1), ('é', 'kek', 1)")
    ids = psql(pg, "-c", "SELECT id FROM key_ids ORDER BY id")
    assert [i for (i,) in ids] == ["B", "_", "a", "é"]


def index_shape(definition):
    """An index's definition with what the two dialects write apart
    (USING btree, public., parentheses and spaces, PostgreSQL's `~~` and
    `::text` for LIKE and its pattern) taken out."""
    d = definition.replace(" USING btree", "").replace("public.", "")
    d = d.replace(" ~~ ", " LIKE ").replace("'::text", "'")
    return re.sub(r"[()\s]+", " ", d).strip()


def test_schema_has_sqlite_s_indexes(pg):
    want = {name: index_shape(sql) for name, sql in sqlite_schema().execute(
        "SELECT name, sql FROM sqlite_master "
        "WHERE type = 'index' AND sql IS NOT NULL")}
    got = {name: index_shape(sql) for name, sql in psql(
        pg, "-c", "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' "
        "AND indexname NOT LIKE '%_key'")}
    assert got == want


def test_keys_unique_and_foreign_as_on_sqlite(pg):
    db = sqlite_schema()
    want = set()
    for (table,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name <> 'schema_migrations'"):
        for row in db.execute("SELECT * FROM pragma_foreign_key_list(?)",
                              (table,)):
            want.add(("f", table, row[3], row[2], row[4]))
        for _, name, unique, origin, _ in db.execute(
                "SELECT * FROM pragma_index_list(?)", (table,)):
            if origin == "u":
                cols = [c for _, _, c in db.execute(
                    "SELECT * FROM pragma_index_info(?)", (name,))]
                want.add(("u", table, ",".join(cols), "", ""))
    got = set()
    for kind, table, cols, ref, ref_col in psql(pg, "-c", """
            SELECT c.contype, c.conrelid::regclass,
                   (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                    FROM unnest(c.conkey) WITH ORDINALITY AS k(num, n)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid
                                       AND a.attnum = k.num),
                   coalesce(nullif(c.confrelid, 0)::regclass::text, ''),
                   coalesce((SELECT a.attname FROM pg_attribute a
                             WHERE a.attrelid = c.confrelid
                               AND a.attnum = c.confkey[1]), '')
            FROM pg_constraint c JOIN pg_namespace n
              ON n.oid = c.connamespace
            WHERE n.nspname = 'public' AND c.contype IN ('f', 'u')"""):
        got.add((kind, table, cols, ref, ref_col))
    assert got == want
    checks = psql(pg, "-c", "SELECT conrelid::regclass, "
                  "pg_get_constraintdef(oid) FROM pg_constraint "
                  "WHERE contype = 'c' "
                  "AND connamespace = 'public'::regnamespace")
    assert checks == [["key_ids",
                       "CHECK ((kind = ANY (ARRAY['kek'::text, "
                       "'signing'::text, 'wrap'::text, 'hash'::text, "
                       "'store'::text])))"]]


def test_outbox_ids_come_in_order(pg):
    rows = psql(pg, "-c", "INSERT INTO outbox(person, attempt, adapter, op, "
                "next_at) VALUES (1, 10, 1, 0, 0), (1, 11, 1, 0, 0), "
                "(2, 12, 2, 0, 0) RETURNING id")
    assert rows == [["1"], ["2"], ["3"]]


def attempt(pg, id, decision, refused_at="NULL"):
    psql(pg, "-c", "INSERT INTO attempts(id, person, channel, decision, "
         f"reason, received_at, refused_at) VALUES ({id}, 7, 0, "
         f"{decision}, 0, 100, {refused_at})")


def refused_at(pg, id):
    (value,), = psql(pg, "-c", f"SELECT refused_at FROM attempts "
                     f"WHERE id = {id}")
    return int(value) if value else None


def test_a_held_message_refused_gets_its_time(pg):
    attempt(pg, 1, 1)  # held
    before = int(time.time())
    psql(pg, "-c", "UPDATE attempts SET decision = 2 WHERE id = 1")
    after = int(time.time())
    assert before <= refused_at(pg, 1) <= after


def test_the_trigger_keeps_a_given_time_and_other_changes(pg):
    attempt(pg, 1, 1)
    psql(pg, "-c", "UPDATE attempts SET decision = 2, refused_at = 5 "
         "WHERE id = 1")
    assert refused_at(pg, 1) == 5
    attempt(pg, 2, 2)  # refused at once: no time
    psql(pg, "-c", "UPDATE attempts SET decision = 2, is_read = 1 "
         "WHERE id = 2")
    assert refused_at(pg, 2) is None
    attempt(pg, 3, 1)
    psql(pg, "-c", "UPDATE attempts SET decision = 0 WHERE id = 3")
    assert refused_at(pg, 3) is None


# --- Keys ready to shard by person (pg/002_person_keys.sql) -------------
#
# A distributed table (Citus: docs/ARCHITECTURE.md, "Sharding by person")
# must hold its distribution column in its primary key, in every unique
# constraint or index, and in every foreign key to another distributed
# table. The person's tables are distributed by `person`, persons by `id`.

# The person's data: every table of it, and the column it is sharded by.
PERSON_TABLES = {
    "persons": "id", "tokens": "person", "connect_codes": "person",
    "proposals": "person", "relationships": "person",
    "terms_versions": "person", "field_reads": "person",
    "attempts": "person", "ledger": "person", "notices": "person",
    "ledger_heads": "person", "outbox": "person", "replies": "person",
    "own_addresses": "person"}
# Directories: keyed by what they are looked up by (an address, a
# handle), with the person it belongs to as a plain column.
DIRECTORY_TABLES = {"aliases", "handles"}


def pg_migrations():
    return sorted((SCHEMA / "pg").glob("[0-9][0-9][0-9]_*.sql"))


def apply(url, files):
    for f in files:
        psql(url, "-c", f"\\i {f}")


def pg_indexes(url):
    """[(table, index, primary, unique, "col,col")] of the database."""
    return [(table, index, primary == "t", unique == "t", cols)
            for table, index, primary, unique, cols in psql(url, "-c", """
            SELECT t.relname, i.relname, x.indisprimary, x.indisunique,
                   (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                    FROM unnest(x.indkey) WITH ORDINALITY AS k(num, n)
                    JOIN pg_attribute a ON a.attrelid = x.indrelid
                                       AND a.attnum = k.num)
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public'""")]


def person_key_problems(url):
    """What keeps the schema at `url` from being distributed by person:
    one line per table, unique index or foreign key at fault."""
    problems = []
    with_person = {t for (t,) in psql(url, "-c", """
        SELECT table_name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name = 'person'""")}
    unclassified = with_person - set(PERSON_TABLES) - DIRECTORY_TABLES
    problems += [f"{t}: has person, but is neither a person table nor a "
                 "directory" for t in sorted(unclassified)]
    # Unique indexes: primary keys, unique constraints and unique indexes.
    for table, index, primary, unique, cols in pg_indexes(url):
        key = PERSON_TABLES.get(table)
        if unique and key and key not in cols.split(","):
            what = "primary key" if primary else "unique index"
            problems.append(f"{table}: {what} {index} ({cols}) "
                            f"lacks {key}")
    primary = {table for table, _, primary, _, _ in pg_indexes(url)
               if primary}
    problems += [f"{t}: no primary key" for t in sorted(PERSON_TABLES)
                 if t not in primary]
    # Foreign keys between person tables: the distribution columns must
    # be one of the pairs.
    for table, ref, name, pairs in psql(url, "-c", """
            SELECT c.conrelid::regclass, c.confrelid::regclass, c.conname,
                   (SELECT string_agg(a.attname || '=' || b.attname, ','
                                      ORDER BY k.n)
                    FROM unnest(c.conkey, c.confkey) WITH ORDINALITY
                         AS k(num, fnum, n)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid
                                       AND a.attnum = k.num
                    JOIN pg_attribute b ON b.attrelid = c.confrelid
                                       AND b.attnum = k.fnum)
            FROM pg_constraint c
            WHERE c.contype = 'f'
              AND c.connamespace = 'public'::regnamespace"""):
        if table in PERSON_TABLES and ref in PERSON_TABLES:
            want = f"{PERSON_TABLES[table]}={PERSON_TABLES[ref]}"
            if want not in pairs.split(","):
                problems.append(f"{table}: foreign key {name} ({pairs}) "
                                f"to {ref} lacks {want}")
    return sorted(problems)


def test_the_person_s_tables_are_keyed_by_person(pg_cluster):
    url = pg_cluster.new_database()
    apply(url, pg_migrations())
    assert person_key_problems(url) == []


def test_the_check_finds_what_001_lacked(pg_cluster):
    """001 alone: the keys by id alone, the global uniqueness of aliases,
    own addresses and handles, and the foreign key by proposal alone are
    all found."""
    url = pg_cluster.new_database()
    apply(url, pg_migrations()[:1])
    problems = person_key_problems(url)
    assert problems == sorted([
        "attempts: primary key attempts_pkey (id) lacks person",
        "connect_codes: primary key connect_codes_pkey (code_hash) lacks "
        "person",
        "field_reads: primary key field_reads_pkey (relationship,day) "
        "lacks person",
        "notices: primary key notices_pkey (relationship,kind,about) "
        "lacks person",
        "outbox: primary key outbox_pkey (id) lacks person",
        "own_addresses: unique index own_addresses_address_key (address) "
        "lacks person",
        "persons: unique index persons_handle_key (handle) lacks id",
        "proposals: primary key proposals_pkey (id) lacks person",
        "relationships: foreign key relationships_proposal_fkey "
        "(proposal=id) to proposals lacks person=person",
        "relationships: primary key relationships_pkey (id) lacks person",
        "relationships: unique index relationships_alias_key (alias) "
        "lacks person",
        "replies: primary key replies_pkey (id) lacks person",
        "terms_versions: primary key terms_versions_pkey "
        "(relationship,version) lacks person",
        "tokens: primary key tokens_pkey (id) lacks person",
    ]), problems
    # A person table nobody classified is found too.
    psql(url, "-c", "CREATE TABLE stray (person bigint PRIMARY KEY)")
    assert "stray: has person, but is neither a person table nor a " \
        "directory" in person_key_problems(url)


# The tables of the demo's store in an order that their foreign keys
# allow to fill.
FILL_ORDER = [
    "persons", "brands", "brand_domains", "key_ids", "throttles",
    "tokens", "connect_codes", "proposals", "relationships", "aliases",
    "terms_versions", "campaigns", "field_reads", "idempotency",
    "attempts", "ledger", "notices", "ledger_heads", "outbox", "replies",
    "own_addresses"]


# The rows an older schema takes of a table (its CHECKs): key_ids' kinds
# before pg/006_key_kinds.
OLDER_ROWS = {"key_ids": "WHERE kind IN ('kek', 'signing')"}


def copy_rows(src, dst, tables):
    """Copies every row of `tables` from the database at src to dst (but
    what OLDER_ROWS leaves out); returns table -> rows."""
    import io
    from contextlib import closing

    from conftest import pg_connect
    counts = {}
    with closing(pg_connect(src)) as a, closing(pg_connect(dst)) as b:
        for t in tables:
            # The columns the older schema at dst has.
            cur = b.cursor()
            cur.execute("SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = %s "
                        "ORDER BY ordinal_position", (t,))
            cols = ", ".join(c for (c,) in cur.fetchall())
            buf = io.BytesIO()
            a.cursor().copy_expert(f"COPY (SELECT {cols} FROM {t} "
                                   f"{OLDER_ROWS.get(t, '')}) TO STDOUT",
                                   buf)
            buf.seek(0)
            cur.copy_expert(f"COPY {t}({cols}) FROM STDIN", buf)
            counts[t] = cur.rowcount
        # As a dump would: the outbox numbers on after its rows.
        b.cursor().execute("SELECT setval(pg_get_serial_sequence("
                           "'outbox', 'id'), (SELECT coalesce(max(id), 0) "
                           "+ 1 FROM outbox), false)")
    return counts


def count_rows(url, tables):
    return {t: int(psql(url, "-c", f"SELECT count(*) FROM {t}")[0][0])
            for t in tables}


def test_a_store_made_by_001_migrates_with_its_rows(
        pg_cluster, demo_template, ctx, start_server):
    """The demo's rows in a store that 001 made (as a server before 002
    left it), then `cmr migrate`: every row kept, the keys by person,
    the handles in their directory, and a server on it serves them."""
    import json
    import shutil

    from conftest import http
    from test_demo import ana_reader
    source = demo_template.store
    tables = [t for (t,) in psql(source, "-c", """
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public'""")]
    assert sorted(set(tables) - {"schema_migrations", "handles"}) == \
        sorted(FILL_ORDER)
    old = pg_cluster.new_database()
    apply(old, pg_migrations()[:1])
    psql(old, "-c", "CREATE TABLE schema_migrations (version bigint "
         "PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL); "
         "INSERT INTO schema_migrations VALUES (1, 'init', 0)")
    copied = copy_rows(source, old, FILL_ORDER)
    assert copied["attempts"] > 0 and copied["relationships"] > 0 and \
        copied["outbox"] >= 0, copied
    assert person_key_problems(old) != []
    # As 001 held them: the handles in clear (the template's are keyed
    # hashes with their seals, which 001 has no column for).
    shutil.copytree(demo_template.keys, ctx.keys)
    (ctx.keys / "store").unlink()  # this store is a copy from before ids
    listed = ctx.run("person", "list", "--store", source, "--keys",
                     str(demo_template.keys), paths=False)
    assert listed.rc == 0, listed
    clear = dict(line.split(" ", 1) for line in listed.out.splitlines())
    assert "ana" in clear.values(), clear
    for api_id, handle in clear.items():
        psql(old, "-c", f"UPDATE persons SET handle = '{handle}' "
             f"WHERE id = {store_key(api_id)}")

    ctx.pg_url = old
    r = ctx.ok("migrate")
    applied = f"applied {len(pg_migrations()) - 1} migrations"
    assert applied in r.out + r.err, (r.out, r.err)
    assert person_key_problems(old) == []
    # Every row kept; the first open records the hash key's fingerprint
    # and the current wrap key (pg/006_key_kinds), and the store's own id
    # (pg/007_store_id).
    assert count_rows(old, FILL_ORDER) == {
        **copied, "key_ids": copied["key_ids"] + 3}
    # The handles were hashed and sealed after the migrations, their
    # directory rows with them: the template's hashes (same keys).
    assert psql(old, "-c", "SELECT h.handle, h.person = p.id FROM handles "
                "h JOIN persons p ON p.handle = h.handle ORDER BY 1") == [
        [h, "t"] for (h,) in psql(source, "-c", "SELECT handle FROM "
                                  "persons ORDER BY 1")]
    assert psql(old, "-c", "SELECT count(*) FROM handles WHERE handle IN "
                f"({', '.join(repr(h) for h in clear.values())})") == [["0"]]

    server = start_server()
    get = ana_reader(server)
    assert get("/v1/me/messages")["items"]
    assert get("/v1/me/relationships")["items"]
    # A handle taken stays taken; erasure leaves its tombstone there.
    taken = ctx.run("person", "add", "ana", "--password-stdin",
                    input="correct-horse-battery\n")
    assert taken.rc != 0, taken
    (ana,) = [store_key(i) for i, h in clear.items() if h == "ana"]
    (ana_hash,), = psql(old, "-c", f"SELECT handle FROM persons WHERE "
                        f"id = {ana}")
    r = http("POST", server.url + "/v1/tokens",
             json.dumps({"handle": "ana",
                         "password": "demo-password-ana"}).encode(),
             {"Content-Type": "application/json"})
    auth = {"Authorization": "Bearer " + json.loads(r.body)["token"],
            "Content-Type": "application/json"}
    r = http("DELETE", server.url + "/v1/me",
             json.dumps({"password": "demo-password-ana"}).encode(), auth)
    assert r.status == 204, r
    assert psql(old, "-c", "SELECT h.person IS NULL, h.handle = p.handle "
                f"FROM handles h, persons p WHERE p.id = {ana} AND "
                "h.handle = p.handle") == [["t", "t"]]
    assert psql(old, "-c", "SELECT count(*) FROM handles WHERE "
                f"handle = '{ana_hash}'") == [["0"]]
    ctx.ok("person", "add", "ana", "--password-stdin",
           input="correct-horse-battery\n")


# What PostgreSQL indexes beyond SQLite's once migrated: reads by id (or
# code) alone, and the columns that were unique before 002.
PG_ONLY_INDEXES = {
    "attempts_id": ("attempts", "id"), "tokens_id": ("tokens", "id"),
    "proposals_id": ("proposals", "id"),
    "relationships_id": ("relationships", "id"),
    "relationships_alias": ("relationships", "alias"),
    "replies_id": ("replies", "id"), "outbox_id": ("outbox", "id"),
    "connect_codes_code": ("connect_codes", "code_hash"),
    "own_addresses_address": ("own_addresses", "address"),
    "persons_handle": ("persons", "handle")}


def test_migrated_indexes_serve_what_sqlite_s_serve(pg_cluster):
    """Every SQLite index is there by its name, or (dropped by 002) the
    primary key starts with its columns; what PostgreSQL adds is listed."""
    url = pg_cluster.new_database()
    apply(url, pg_migrations())
    db = sqlite_schema()
    indexes = pg_indexes(url)
    got = {index: (table, cols)
           for table, index, primary, _, cols in indexes if not primary}
    primary = {table: cols for table, _, primary, _, cols in indexes
               if primary}
    by_primary = []
    for name, table, sql in db.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master "
            "WHERE type = 'index' AND sql IS NOT NULL"):
        cols = ",".join(c for _, _, c in db.execute(
            "SELECT * FROM pragma_index_info(?)", (name,)))
        if name in got:
            assert got.pop(name) == (table, cols), name
        else:
            assert "WHERE" not in sql and \
                (primary[table] + ",").startswith(cols + ","), \
                (name, cols, primary[table])
            by_primary.append(name)
    assert sorted(by_primary) == [
        "attempts_person_id", "connect_codes_person", "outbox_person",
        "proposals_person", "replies_person", "tokens_person"]
    # What is left: PostgreSQL's own, and the unique constraints SQLite
    # declares inline (their indexes: *_key).
    assert {n: v for n, v in got.items() if not n.endswith("_key")} == \
        PG_ONLY_INDEXES
