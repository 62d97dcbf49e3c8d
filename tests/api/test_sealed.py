"""Message content sealed with the person's data key (src/app/sealed.h):
after mail and API messages are delivered, the raw store's files hold
none of their subjects, bodies, headers, a leak's sender or the webhook
address in clear, while the inbox, the export, the Maildir and the webhook
still show them; erasure takes the only key that opens them; and
a store an older version filled in clear is sealed when the server starts.

Every value carries MARK, new for each test, so that a grep of the raw
bytes can tell: SQLite's file and WAL, or on PostgreSQL the cluster's whole
data directory, pg_wal included (conftest.py, Ctx.store_bytes)."""
import hashlib
import os
import re
import secrets
import time

import pytest

from conftest import ASK, ON_POSTGRESQL, PASSWORD
from receiver import receiver, tls_cert  # noqa: F401
from test_delivery import files, wait_for
from test_lmtp import Lmtp

from conftest import REPO


def new_mark():
    """The values of a test, with a MARK of their own. Every test gets
    new ones (mark, below): on PostgreSQL the grep searches the whole
    cluster, where what the tests before stored (a campaign's body in
    clear, rows written in clear) is still in the WAL."""
    global MARK, API_SUBJECT, API_BODY, MAIL_SUBJECT, MAIL_HEADER
    global MAIL_BODY, LEAKER, HOOK_PATH, SECRETS
    global HANDLE
    MARK = "sl" + secrets.token_hex(5)
    HANDLE = "h" + MARK
    API_SUBJECT = f"Api subject {MARK}"
    API_BODY = f"Api body {MARK[::-1]}"
    MAIL_SUBJECT = f"Mail subject {MARK}"
    MAIL_HEADER = f"X-Mark: header {MARK}"
    MAIL_BODY = f"Mail body {MARK[::-1]}x"
    LEAKER = f"leaker-{MARK}@elsewhere.example"
    HOOK_PATH = f"/hook-{MARK}"
    SECRETS = [API_SUBJECT, API_BODY, MAIL_SUBJECT, MAIL_HEADER, MAIL_BODY,
               LEAKER, HOOK_PATH, MARK, MARK[::-1]]


new_mark()


@pytest.fixture(autouse=True)
def mark():
    new_mark()


def mail(subject, body, frm="news@acme.example", message_id=None):
    message_id = message_id or f"{time.monotonic_ns()}.{MARK}@acme.example"
    return (f"From: Acme <{frm}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\n{MAIL_HEADER}\r\n"
            f"CMR-Topic: orders\r\n\r\n{body}\r\n").encode()


def lmtp_port(api):
    m = re.search(r"lmtp: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    return int(m.group(1))


def deliver(api, sender, rcpt, raw):
    client = Lmtp(lmtp_port(api))
    try:
        assert client.cmd("LHLO test.example")[0].startswith("250")
        return client.deliver(sender, [rcpt], raw)[0]
    finally:
        client.close()


def in_clear(haystack, values):
    return [v for v in values if v.encode() in haystack]


@pytest.fixture
def world(make_api, tmp_path, receiver):
    root = tmp_path / "maildir"
    root.mkdir()
    api = make_api("--maildir-root", str(root), "--trust-envelope",
                   "--lmtp", "127.0.0.1:0", "--allow-private-targets")
    ana = api.signup(HANDLE)
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask=ASK,
                      grant={"channels": {"email": {"allowed": True}}})
    return api, ana, acme, rel, root, receiver


def fill(world):
    """One API message, one mail and one leak, delivered to the store,
    the Maildir and the webhook."""
    api, ana, acme, rel, root, rx = world
    r = ana.put("/v1/me/delivery", {"password": PASSWORD, "maildir": True,
                                    "webhook": {"url": rx.url(HOOK_PATH)}})
    assert r.status == 200, r
    r = acme.send(rel.id, topic="orders", subject=API_SUBJECT, body=API_BODY)
    assert r.status == 201 and r.json()["decision"] == "accepted", r
    assert deliver(api, "news@acme.example", rel.alias,
                   mail(MAIL_SUBJECT, MAIL_BODY)).startswith("250")
    # A leak: someone else's mail to the alias, refused and recorded with
    # its sender for the person to see.
    assert deliver(api, LEAKER, rel.alias,
                   mail("Leaked", "leaked body", frm=LEAKER)) \
        .startswith("550")
    assert len(wait_for(lambda: len(files(root, ana.id)) == 2 and
                        files(root, ana.id))) == 2
    rx.wait(2)


def test_the_store_holds_no_content_in_clear_yet_every_door_shows_it(
        world, ctx):
    api, ana, acme, rel, root, rx = world
    fill(world)
    assert in_clear(ctx.store_bytes(), SECRETS) == []

    # The inbox and the person's list of refusals (the leak's sender).
    got = {m["subject"]: m for m in ana.messages()}
    assert got[API_SUBJECT]["decision"] == "deliver"
    assert got[MAIL_SUBJECT]["decision"] == "deliver"
    leak = [m for m in ana.messages("decision=refuse")]
    assert [(m["reason"], m["sender"]) for m in leak] == [
        ("sender_not_brand", LEAKER)], leak
    # The Maildir gets the bytes as received, headers and all.
    copies = [open(p, "rb").read() for p in files(root, ana.id).values()]
    assert any(MAIL_HEADER.encode() in c and MAIL_BODY.encode() in c
               for c in copies), copies
    assert any(API_BODY.encode() in c for c in copies), copies
    # The webhook gets subject and body.
    posted = b"".join(body for (_, path, _, body) in rx.requests)
    assert {p for (_, p, _, _) in rx.requests} == {HOOK_PATH}
    for v in (API_SUBJECT, API_BODY, MAIL_SUBJECT):
        assert v.encode() in posted, v
    # The export holds subjects and the leak's sender.
    doc = ana.ok("POST", "/v1/me/export", {"password": PASSWORD})
    exported = {m.get("subject"): m for m in doc["messages"]}
    assert API_SUBJECT in exported and MAIL_SUBJECT in exported, exported
    assert [m.get("sender") for m in doc["messages"]
            if m["reason"] == "sender_not_brand"] == [LEAKER]

    # Nor after the server stops (the WAL checkpointed into the file).
    api.stop()
    assert in_clear(ctx.store_bytes(), SECRETS) == []
    with ctx.sql() as db:
        rows = db.execute("SELECT subject, body, headers, sender, sealed "
                          "FROM attempts").fetchall()
    assert rows and all(r[4] == 1 for r in rows), rows
    for r in rows:
        for v in r[:4]:
            assert v is None or (isinstance(v, bytes) and v[0] == 1), r


def test_a_campaign_body_is_the_brands_and_stays_in_clear(world, ctx):
    """A campaign is one broadcast stored once for all its recipients; it
    is the brand's, not the person's (src/app/sealed.h)."""
    api, ana, acme, rel, root, rx = world
    body = f"Campaign body {MARK}"
    r = acme.post("/v1/campaigns", {"relationships": [rel.id],
                                    "channel": "email", "topic": "orders",
                                    "subject": "Sale", "body": body})
    assert r.status == 201 and r.json()["accepted"] == 1, r
    assert [m["subject"] for m in ana.messages()] == ["Sale"]
    api.stop()
    with ctx.sql() as db:
        assert db.execute("SELECT body FROM campaigns").fetchall() == [
            (body.encode(),)]
        assert db.execute("SELECT subject, body FROM attempts").fetchall() \
            == [(None, None)]


def test_after_erasure_no_key_opens_what_was_sealed(world, ctx):
    api, ana, acme, rel, root, rx = world
    fill(world)
    api.stop()
    with ctx.sql() as db:
        (wrapped,), = db.execute("SELECT data_key FROM persons").fetchall()
        wrapped = bytes(wrapped)
        sealed = [v for r in db.execute(
            "SELECT subject, body, headers, sender FROM attempts")
            for v in r if v is not None]
    assert len(wrapped) == 81 and sealed
    api.start()
    api.signup("ben")  # someone who stays, to try keys on (keys_open)
    r = ana.call("DELETE", "/v1/me", {"password": PASSWORD})
    assert r.status == 204, r
    raw = ctx.store_bytes()
    assert in_clear(raw, SECRETS) == []
    if not ON_POSTGRESQL:
        # SQLite overwrites: the wrapped data key and what it sealed are
        # gone from the file and its WAL.
        found = ctx.store_find([wrapped])
        assert found == [], "\n".join(["the wrapped data key:", *found])
        assert [s for s in sealed if s in raw] == []
    api.stop()
    with ctx.sql() as db:
        assert db.execute("SELECT count(*) FROM persons WHERE data_key IS "
                          "NULL").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM attempts").fetchone() == (0,)
    # A copy may stay where erasure cannot reach: PostgreSQL's dead tuples
    # and WAL, a backup of the store. The keys directory still opens it
    # until the wrap key is rotated; after that, no key of it does, so
    # what the copy's data key sealed is gone for good.
    assert ctx.keys_open(wrapped)
    out = ctx.ok("keys", "rotate", "--wrap").out
    assert "1 of 1 persons' data keys wrapped anew" in out, out
    assert ctx.keys_open(wrapped)  # until --finish
    ctx.ok("keys", "rotate", "--wrap", "--finish")
    assert not ctx.keys_open(wrapped)


def old_dedup(raw):
    """The duplicate hash an older version stored: BLAKE2b-128 of the
    Message-ID (without brackets, and its NUL) and the body as received
    (the LMTP test client's data ends with an empty line of its own)."""
    data = raw + b"\r\n"
    mid = re.search(rb"Message-ID: <([^>]*)>", raw).group(1)
    body = data[data.index(b"\r\n\r\n") + 4:]
    return hashlib.blake2b(mid + b"\0" + body, digest_size=16).digest()


def assert_sealed(ctx):
    """No value in clear in the store: on SQLite in its files (sealing
    rewrites the pages and truncates the WAL); on PostgreSQL in any row
    (the clear rows this test wrote stay in dead tuples and the WAL until
    vacuum and recycling take them: no PostgreSQL store was ever filled
    in clear by cmr, which sealed from its first migration there)."""
    if not ON_POSTGRESQL:
        assert in_clear(ctx.store_bytes(), SECRETS) == []
        return
    contents = repr(ctx.store_contents()).encode()
    assert b"Old subject" not in contents and in_clear(contents, SECRETS) \
        == [], [v for v in SECRETS if v.encode() in contents]


def test_a_store_filled_in_clear_is_sealed_at_start(world, ctx):
    """Rows as an older version wrote them (content in clear, `sealed` at
    its default 0): the server seals them, in batches, before it serves;
    they read as before, and a message already delivered then is still
    recognized when an MTA sends it again."""
    api, ana, acme, rel, root, rx = world
    assert deliver(api, "news@acme.example", rel.alias,
                   mail("first", "first body")).startswith("250")
    api.stop()
    old_raw = mail(f"Old mail {MARK}", f"Old body {MARK[::-1]}")
    n = 300  # more than one batch
    with ctx.sql() as db:
        (base, person, rid, brand, now), = db.execute(
            "SELECT id, person, relationship, brand, received_at "
            "FROM attempts").fetchall()
        head_len = old_raw.index(b"\r\n\r\n") + 4
        for i in range(n):
            db.execute(
                "INSERT INTO attempts(id, person, relationship, brand, "
                "channel, topic, decision, reason, folder, decided_at, "
                "received_at, sender, sender_verified, subject, dedup, "
                "headers, body) VALUES (?,?,?,?,0,'orders',0,0,0,?,?,?,1,"
                "?,?,?,?)",
                (base + 1 + i, person, rid, brand, now, now,
                 "news@acme.example", f"Old subject {i} {MARK}",
                 old_dedup(old_raw) if i == 0 else None,
                 old_raw[:head_len], old_raw + b"\r\n"))
        db.execute(
            "INSERT INTO attempts(id, person, relationship, brand, channel, "
            "decision, reason, received_at, sender, sender_verified) "
            "VALUES (?,?,?,?,0,2,1,?,?,0)",
            (base + n + 1, person, rid, brand, now, LEAKER))
    assert MARK.encode() in ctx.store_bytes()  # the grep can tell

    api.start()
    assert_sealed(ctx)
    listed = ana.all("/v1/me/messages?folder=inbox")
    subjects = sorted(m["subject"] for m in listed)
    assert subjects == sorted(["first"] + [f"Old subject {i} {MARK}"
                                           for i in range(n)])
    assert [m["sender"] for m in ana.messages("decision=refuse")] == [LEAKER]
    # The keyed duplicate check still knows the old message.
    assert deliver(api, "news@acme.example", rel.alias, old_raw) \
        .startswith("250")
    assert len(ana.all("/v1/me/messages?folder=inbox")) == n + 1
    # Its content opens for the adapters: turning the Maildir on exports
    # the old messages too.
    assert ana.put("/v1/me/delivery", {"password": PASSWORD,
                                       "maildir": True}).status == 200
    assert wait_for(lambda: len(files(root, ana.id)) == n + 1)
    some = open(next(iter(files(root, ana.id).values())), "rb").read()
    assert some.startswith(b"From: Acme"), some[:100]
    api.stop()
    assert_sealed(ctx)
    with ctx.sql() as db:
        assert db.execute("SELECT count(*) FROM attempts WHERE sealed = 0") \
            .fetchone() == (0,)
    # Started again, there is nothing left to seal.
    api.start()
    assert "sealed: sealed" not in api.server.log()


HEX64 = re.compile(r"[0-9a-f]{64}")


def test_aliases_and_addresses_kept_in_clear_are_hashed_at_start(world, ctx):
    """Aliases, own addresses and handles as a store before
    010_sealed_names.sql kept them (in clear, nothing sealed): the server turns each into its
    keyed hash and seal before it serves; mail to them and every view
    work as before."""
    api, ana, acme, rel, root, rx = world
    folder = "Box" + MARK
    unsub = f"https://acme.example/unsub?u={rel.alias}"
    ana.ok("PUT", f"/v1/me/relationships/{rel.id}/terms",
           {"channels": {"email": {"allowed": True}}, "folder": folder,
            "topics": ["orders"], "topic_folders": {"orders": folder}})
    own = ana.ok("PUT", "/v1/me/address", {"local_part": "own" + MARK})
    address = own["address"]
    brand_view = acme.ok("GET", f"/v1/relationships/{rel.id}")
    mine = ana.all("/v1/me/relationships")
    assert [r["alias"] for r in mine] == [rel.alias]
    api.stop()
    stored = ctx.store_bytes()
    assert rel.alias.encode() not in stored and address.encode() not in stored
    assert HANDLE.encode() not in stored and folder.encode() not in stored
    with ctx.sql() as db:
        db.execute("UPDATE persons SET handle = ?, handle_sealed = NULL, "
                   "folders = ?", (HANDLE, f'["{folder}"]'))
        for table in ("relationships", "terms_versions"):
            rows = db.execute(f"SELECT rowid, terms FROM {table}").fetchall() \
                if not ON_POSTGRESQL else db.execute(
                    f"SELECT ctid::text, terms FROM {table}").fetchall()
            for row, terms in rows:
                clear = re.sub(r'"sealed:[A-Za-z0-9_-]+"', f'"{folder}"',
                               terms)
                db.execute(f"UPDATE {table} SET terms = ? WHERE "
                           + ("ctid = ?::tid" if ON_POSTGRESQL
                              else "rowid = ?"), (clear, row))
        # An unsubscribe URI names the alias (test_unsubscribe.py).
        db.execute("UPDATE relationships SET alias = ?, alias_sealed = NULL, "
                   "unsubscribe = ?", (rel.alias, unsub))
        db.execute("UPDATE aliases SET alias = ? WHERE relationship IS "
                   "NOT NULL", (rel.alias,))
        db.execute("UPDATE aliases SET alias = ? WHERE relationship IS NULL",
                   (address,))
        db.execute("UPDATE own_addresses SET address = ?, local_part = ?, "
                   "address_sealed = NULL", (address, "own" + MARK))
    stored = ctx.store_bytes()
    assert rel.alias.encode() in stored  # the grep can tell
    assert folder.encode() in stored

    api.start()
    # the relationship, its directory row, the own address and its row,
    # the handle, the unsubscribe URI
    assert "hashed and sealed 6 aliases" in api.server.log()
    if not ON_POSTGRESQL:  # PostgreSQL's WAL keeps what the test wrote
        stored = ctx.store_bytes()
        assert rel.alias.encode() not in stored
        assert address.encode() not in stored
        assert HANDLE.encode() not in stored
        assert folder.encode() not in stored
        assert unsub.encode() not in stored
    # Ana logs in with her handle as before.
    assert api.tokens(HANDLE, PASSWORD).status == 201
    assert acme.ok("GET", f"/v1/relationships/{rel.id}") == brand_view
    assert ana.all("/v1/me/relationships") == mine
    assert ana.ok("GET", "/v1/me/address") == own
    assert ana.ok("POST", "/v1/me/export",
                  {"password": PASSWORD})["folders"] == [folder]
    assert deliver(api, "news@acme.example", rel.alias,
                   mail("after", "after body")).startswith("250")
    assert [m["subject"] for m in ana.messages()] == ["after"]
    api.stop()
    with ctx.sql() as db:
        keys = [r[0] for r in db.execute("SELECT alias FROM aliases")]
        keys += [r[0] for r in db.execute("SELECT alias FROM relationships")]
        keys += [r[0] for r in db.execute("SELECT address FROM own_addresses")]
        keys += [r[0] for r in db.execute("SELECT handle FROM persons")]
    assert len(keys) == 5 and all(HEX64.fullmatch(k) for k in keys), keys
    # Started again, there is nothing left to rewrite.
    api.start()
    assert "hashed and sealed" not in api.server.log()


def c_strings(path):
    """The SQL constants of a C file: name -> text (`static const char
    q_…[] = "…" "…";`)."""
    text = (REPO / path).read_text()
    return {name: "".join(re.findall(r'"([^"]*)"', body)) for name, body in
            re.findall(r'static const char (q_\w+)\[\] =\s*((?:"[^"]*"\s*)+);',
                       text)}


def clear_scans():
    """The scans of store_seal_clear (the `find` column of clear_kinds in
    src/store/sql_codec.c): name -> SQL."""
    text = (REPO / "src/store/sql_codec.c").read_text()
    table = re.search(r"clear_kinds\[\] = \{(.*?)\n\};", text, re.S)
    assert table, "clear_kinds not found in sql_codec.c"
    consts = c_strings("src/store/sql_codec.c")
    names = re.findall(r"\{\s*(q_\w+),", table.group(1))
    assert len(names) >= 5, names
    return {n: consts[n] for n in names}


def query_plans(ctx, sql, args):
    """The plans of `sql` (`?N` parameters) on ctx's store, as text: on
    PostgreSQL the custom plan and the generic one (what a prepared
    statement may come to)."""
    if not ON_POSTGRESQL:
        import sqlite3
        db = sqlite3.connect(ctx.db)
        try:
            return ["\n".join(r[3] for r in db.execute(
                "EXPLAIN QUERY PLAN " + sql, args))]
        finally:
            db.close()
    pg_sql = re.sub(r"\?(\d+)", r"$\1", sql)
    n = 0
    while "?" in pg_sql:
        n += 1
        pg_sql = pg_sql.replace("?", f"${n}", 1)
    plans = []
    with ctx.sql() as db:
        cur = db.conn.cursor()
        cur.execute(f"PREPARE q AS {pg_sql}")
        for mode in ("force_custom_plan", "force_generic_plan"):
            cur.execute(f"SET plan_cache_mode = {mode}")
            cur.execute("EXPLAIN (COSTS OFF) EXECUTE q(%s)"
                        % ", ".join(str(a) for a in args))
            plans.append("\n".join(r[0] for r in cur.fetchall()))
    return plans


def test_the_scans_at_start_and_a_relationship_s_deliveries_use_indexes(ctx):
    """Each start looks for rows kept in clear (store_seal_clear): every
    scan reads a partial index on its own predicate, empty once nothing
    is in clear, never the table (011_plan_indexes.sql). The replay of a
    relationship's deliveries reads its own index, in its order. On
    PostgreSQL in a young database (rows, and maybe no statistics yet),
    for the custom and the generic plan alike."""
    if ON_POSTGRESQL:
        # Persons, relationships, aliases and deliveries, straight in.
        ctx.ok("bench", "campaign", "--relationships", "3000", "--store",
               ctx.store, paths=False)
    else:
        ctx.ok("init")
    scans = clear_scans()
    for name, sql in scans.items():
        for plan in query_plans(ctx, sql, (256,)):
            # Only a partial index of those (named *_clear) is empty.
            assert re.search(r"\b\w+_clear\b", plan) and not re.search(
                r"Seq Scan|^SCAN \w+$", plan, re.M), (name, plan)
    q = c_strings("src/store/sql_attempt.c")["q_delivery_rel"]
    for plan in query_plans(ctx, q, (1, 0)):
        assert "attempts_relationship_decided" in plan and \
            "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_names_a_person_gave_kept_in_clear_are_sealed_at_start(world, ctx):
    """A person-made relationship's brand name and domains, the domains
    blocked at an own address and an alias token's name, as a store before
    012_sealed_rest.sql kept them (in clear, nothing sealed): the server
    seals each before it serves, and every view reads as before."""
    api, ana, acme, rel, root, rx = world
    made_name, made_domain = f"Made {MARK}", f"shop{MARK}.example"
    blocked, token_name = f"junk{MARK}.example", f"Keys {MARK}"
    made = ana.ok("POST", "/v1/me/relationships", {"brand": {
        "name": made_name, "domains": [made_domain]}}, status=201)
    assert deliver(api, f"news@{made_domain}", made["alias"],
                   mail("made", "made body", frm=f"news@{made_domain}")) \
        .startswith("250")
    own = ana.ok("PUT", "/v1/me/address", {"local_part": "own" + MARK})
    frm = f"offers@{blocked}"
    assert deliver(api, frm, own["address"], mail("junk", "junk body",
                                                  frm=frm)).startswith("250")
    junk = ana.messages("folder=later")[0]["id"]
    assert ana.ok("POST", f"/v1/me/messages/{junk}/block")["blocked"] == \
        [blocked]
    assert ana.ok("POST", "/v1/me/tokens", {"scope": "aliases",
                                            "name": token_name},
                  status=201)["name"] == token_name
    (made_msg,) = [m for m in ana.messages() if m["subject"] == "made"]
    views = lambda: (  # noqa: E731
        ana.ok("GET", f"/v1/me/relationships/{made['id']}"),
        ana.all("/v1/me/relationships"), ana.ok("GET", "/v1/me/address"),
        [{k: v for k, v in s.items() if k != "last_used_at"}
         for s in ana.ok("GET", "/v1/me/sessions")["items"]],
        ana.messages(), ana.ok("GET", f"/v1/me/messages/{made_msg['id']}"))
    before = views()
    assert before[0]["brand"]["name"] == made_name
    assert before[0]["brand"]["domains"] == [made_domain]
    assert made_msg["brand"]["name"] == made_name
    assert token_name in [s["name"] for s in before[3]]
    api.stop()
    values = [made_name, made_domain, blocked, token_name]
    if not ON_POSTGRESQL:  # PostgreSQL's WAL keeps what a test wrote
        assert in_clear(ctx.store_bytes(), values) == []
    with ctx.sql() as db:
        db.execute("UPDATE relationships SET brand_name = ?, domains = ?, "
                   "brand_name_sealed = NULL, domains_sealed = NULL WHERE "
                   "brand_name_sealed IS NOT NULL",
                   (made_name, f'["{made_domain}"]'))
        db.execute("UPDATE own_addresses SET blocked = ?, "
                   "blocked_sealed = NULL", (f'["{blocked}"]',))
        db.execute("UPDATE tokens SET name = ?, name_sealed = NULL WHERE "
                   "name_sealed IS NOT NULL", (token_name,))
    assert in_clear(ctx.store_bytes(), values) == values  # the grep can tell

    api.start()
    # the relationship, the own address, the token
    assert "hashed and sealed 3 " in api.server.log()
    if not ON_POSTGRESQL:
        assert in_clear(ctx.store_bytes(), values) == []
    assert views() == before
    # The blocked domain is still refused, the named brand still known.
    assert deliver(api, f"b@{blocked}", own["address"],
                   mail("again", "again", frm=f"b@{blocked}")) \
        .startswith("550")
    assert deliver(api, f"news@{made_domain}", made["alias"],
                   mail("made 2", "made body 2", frm=f"news@{made_domain}")) \
        .startswith("250")
    assert [m["brand"]["name"] for m in ana.messages()
            if m["subject"] == "made 2"] == [made_name]
    api.stop()
    with ctx.sql() as db:
        assert db.execute(
            "SELECT count(*) FROM relationships WHERE brand_name IS NOT NULL "
            "OR domains IS NOT NULL").fetchone() == (0,)
        assert db.execute("SELECT blocked FROM own_addresses").fetchall() \
            == [("[]",)]
        assert db.execute("SELECT count(*) FROM tokens WHERE name IS NOT "
                          "NULL").fetchone() == (0,)
    # Started again, there is nothing left to rewrite.
    api.start()
    assert "hashed and sealed" not in api.server.log()
