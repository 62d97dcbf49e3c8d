"""The PostgreSQL schema (src/store/schema/pg/001_init.sql) on a real
server: it applies cleanly to a fresh database with psql, makes what the
SQLite migrations make (tables, columns in order, NOT NULL, defaults, keys,
indexes and their predicates), compares text byte by byte, numbers outbox
rows in order, and its trigger stamps a held message's refusal.

Runs only with CMR_TEST_STORE=postgresql, on the session's cluster
(conftest.PgCluster); the SQLite side is its migrations applied in memory.
"""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import REPO

SCHEMA = REPO / "src" / "store" / "schema"
PG_SCHEMA = SCHEMA / "pg" / "001_init.sql"
# Every PostgreSQL migration, in order (001 and what later ones add).
PG_MIGRATIONS = sorted((SCHEMA / "pg").glob("[0-9][0-9][0-9]_*.sql"))


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
    (USING btree, public., parentheses and spaces) taken out."""
    d = definition.replace(" USING btree", "").replace("public.", "")
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
                       "'signing'::text])))"]]


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
