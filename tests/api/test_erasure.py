"""Erasure: DELETE /v1/me with the password destroys
the person's data key, deletes their profile, messages and credentials,
keeps the ledger's chain of hashes and the aliases as keyed-hash
tombstones (never reused), and truncates the WAL; afterwards no personal
value is in the database, its WAL or the server's log.

The person here is built with values found nowhere else (MARK in every
one of them, new for each test), so that a grep of the raw bytes can tell:
SQLite's file and WAL, or on PostgreSQL the cluster's whole data directory,
pg_wal included (conftest.py, Ctx.store_bytes)."""
import re
import secrets

import pytest

from conftest import ASK, PASSWORD, assert_problem, assert_schema
from test_person_made import lmtp_of
from test_strangers import stranger_mail

ZONE = "Pacific/Chatham"
GLOBAL = {"time_zone": ZONE, "do_not_contact": ["phone"]}


def new_mark():
    """The person's values, with a MARK of their own. Every test gets new
    ones (mark, below): on PostgreSQL the grep searches the whole
    cluster, where the persons of the tests before are still in the
    other databases and the WAL."""
    global MARK, HANDLE, PROFILE, FOLDER, SUBJECTS, BODIES
    global MADE, BLOCKED, TOKEN_NAME, LOCAL_PART
    MARK = "qz" + secrets.token_hex(4)
    HANDLE = "h" + MARK
    PROFILE = {"name": f"Ximena Quartzfeld {MARK}",
               "email": f"ximena.{MARK}@mailbox.example",
               "phone": "+4915550" + str(int(MARK[2:], 16) % 10**7).zfill(7)}
    FOLDER = f"Folder{MARK}"
    SUBJECTS = {
        "delivered": f"Delivered subject {MARK}",
        "held": f"Held subject {MARK}",
        "refused": f"Refused subject {MARK}",
        "filed": f"Filed subject {MARK}",
    }
    BODIES = {k: f"Body of the {k} message {MARK[::-1]}" for k in SUBJECTS}
    # A brand not on cmr that she named herself, a sender's domain she
    # blocked at her own address, and the name of her alias token.
    MADE = {"name": f"Quillmart {MARK}", "domains": [f"shop{MARK}.example"]}
    BLOCKED = f"junk{MARK}.example"
    TOKEN_NAME = f"Keyring {MARK}"
    LOCAL_PART = f"own.{MARK}"


new_mark()


@pytest.fixture(autouse=True)
def mark():
    new_mark()


HEX64 = re.compile(r"[0-9a-f]{64}")


def markers(world):
    """Every personal value of the person, as bytes to grep for."""
    values = [*PROFILE.values(), FOLDER, *SUBJECTS.values(),
              *BODIES.values(), HANDLE, MADE["name"], *MADE["domains"],
              BLOCKED, TOKEN_NAME, LOCAL_PART, world["own"]]
    aliases = [rel.alias for rel in world["rels"].values()]
    for alias in aliases + [world["made"]["alias"]]:
        values.append(alias)
        values.append(alias.split("@")[0])  # acme.<random>
    return [v.encode() for v in values]


def present(haystack, needles):
    return [n.decode() for n in needles if n in haystack]


def person_made_and_own_address(api, person):
    """A person-made relationship (MADE), an own address at which she
    blocked a stranger's domain (BLOCKED), and an alias token named
    TOKEN_NAME. Returns the relationship and the address."""
    made = person.ok("POST", "/v1/me/relationships", {"brand": MADE},
                     status=201)
    own = person.ok("PUT", "/v1/me/address",
                    {"local_part": LOCAL_PART})["address"]
    lmtp = lmtp_of(api)
    try:
        frm = f"offers@mail.{BLOCKED}"
        r = lmtp.deliver(frm, [own], stranger_mail(frm=frm))
        assert r[0].startswith("250"), r
    finally:
        lmtp.close()
    msg = person.messages("folder=later")[0]["id"]
    assert person.ok("POST", f"/v1/me/messages/{msg}/block")["blocked"] \
        == [BLOCKED]
    token = person.ok("POST", "/v1/me/tokens",
                      {"scope": "aliases", "name": TOKEN_NAME}, status=201)
    assert token["name"] == TOKEN_NAME
    return made, own


@pytest.fixture
def world(make_api):
    """A person with a profile, global terms, two relationships (Acme
    files in a folder of her own; Bolt holds over its cap), delivered,
    held, refused and filed messages, a token and a browser session; a
    relationship she made for a brand not on cmr, an own address with a
    blocked domain, and a named alias token."""
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0")
    person = api.signup(HANDLE, profile=PROFILE)
    person.ok("PUT", "/v1/me/terms", GLOBAL)
    acme, bolt = api.add_brand("Acme"), api.add_brand("Bolt")
    rels = {
        "acme": api.connect(person, acme, grant={
            "channels": {"email": {"allowed": True}},
            "fields": ["name", "email", "phone"],
            "topics": ["orders", "offers"], "folder": FOLDER},
            ask=dict(ASK, fields=["name", "email", "phone"])),
        "bolt": api.connect(person, bolt, grant={
            "channels": {"email": {"allowed": True, "over_cap": "hold",
                                   "cap": {"max": 1, "per_seconds": 86400}}},
            "fields": ["name"], "topics": ["orders", "offers"]}),
    }
    sent = {}

    def send(brand, rel, kind, topic="offers"):
        r = brand.send(rel.id, topic=topic, subject=SUBJECTS[kind],
                       body=BODIES[kind])
        assert r.status == 201, r
        sent[kind] = r.json()["id"]

    send(acme, rels["acme"], "filed")
    send(acme, rels["acme"], "refused", topic="news")
    send(bolt, rels["bolt"], "delivered")
    send(bolt, rels["bolt"], "held")
    seen = {m["id"]: m for m in person.messages()}
    assert [(seen[sent[k]]["decision"], seen[sent[k]]["folder"])
            for k in ("filed", "refused", "delivered", "held")] == [
        ("deliver", FOLDER), ("refuse", None), ("deliver", "inbox"),
        ("hold", None)], seen
    # The brand reads what it was granted (a fields.read on the ledger).
    view = acme.ok("GET", f"/v1/relationships/{rels['acme'].id}")
    assert view["fields"] == {"name": PROFILE["name"],
                              "email": rels["acme"].alias,
                              "phone": PROFILE["phone"]}, view
    r = api.call("POST", "/v1/session", {"handle": HANDLE,
                                         "password": PASSWORD})
    assert r.status == 204, r
    cookie = r.headers["Set-Cookie"].split(";")[0]
    assert api.call("GET", "/v1/me/profile",
                    headers={"Cookie": cookie}).status == 200
    made, own = person_made_and_own_address(api, person)
    return {"api": api, "person": person, "acme": acme, "bolt": bolt,
            "rels": rels, "sent": sent, "cookie": cookie, "made": made,
            "own": own}


def erase(world, password=PASSWORD):
    return world["person"].call("DELETE", "/v1/me", {"password": password})


def brand_all(brand, path):
    """Every item of a brand's cursor-paged list."""
    items, after = [], None
    for _ in range(100):
        page = brand.ok("GET", path + (f"?after={after}" if after else ""))
        items += page["items"]
        after = page["next"]
        if after is None:
            return items
    raise AssertionError("the list never ends")


def person_key(ctx, rel_id):
    """The store's key of the person whose ledger names rel_id."""
    with ctx.sql() as db:
        row = db.execute("SELECT DISTINCT person FROM ledger "
                         "WHERE relationship = ?", (rel_id,)).fetchall()
    assert len(row) == 1, row
    return row[0][0]


def test_a_wrong_password_erases_nothing(world, ctx):
    person = world["person"]
    before = person.snapshot()
    for wrong in ("not-the-password", PASSWORD + " ", ""):
        assert_problem(erase(world, wrong), 403, "password")
    # Without the password at all it is a client's mistake.
    assert_problem(person.call("DELETE", "/v1/me", {}), 400, "password")
    assert person.snapshot() == before
    # Still all there: the store holds the subjects and the aliases only
    # sealed (tests/api/test_sealed.py), the brand the fields.
    assert SUBJECTS["delivered"].encode() not in ctx.store_bytes()
    assert world["rels"]["acme"].alias.encode() not in ctx.store_bytes()
    assert SUBJECTS["delivered"] in [m["subject"] for m in
                                     person.messages()]
    view = world["acme"].ok("GET",
                            f"/v1/relationships/{world['rels']['acme'].id}")
    assert view["state"] == "active" and view["fields"]["name"] == \
        PROFILE["name"], view
    r = world["api"].call("GET", "/v1/me/profile",
                          headers={"Cookie": world["cookie"]})
    assert r.status == 200 and r.json() == PROFILE, r


def test_erasure_leaves_no_personal_value_behind(world, ctx):
    api = world["api"]
    needles = markers(world)
    # The grep sees the store: the brands' names are there (they are not
    # personal), while the person's aliases are only ever hashed and
    # sealed, as subjects and bodies are.
    before = ctx.store_bytes()
    assert b"Acme" in before
    assert world["rels"]["acme"].alias.encode() not in before

    r = erase(world)
    assert r.status == 204, (r.status, r.body)
    assert r.body == b""
    # Right after the 204, while the server still runs: the database file
    # and its WAL (on PostgreSQL: the cluster's files) hold none of it.
    found = ctx.store_find(needles)
    assert found == [], "\n".join(["found after erasure:", *found])

    api.stop()
    found = ctx.store_find(needles)
    assert found == [], "\n".join(["found after erasure:", *found])
    logs = b"".join(p.read_bytes() for p in ctx.root.glob("serve-*.log"))
    assert logs, "the server logged nothing at all"
    assert present(logs, needles) == []


def test_after_erasure_credentials_fail(world):
    api, person = world["api"], world["person"]
    assert erase(world).status == 204
    assert_problem(person.get("/v1/me/profile"), 401)
    assert_problem(person.get("/v1/me/messages"), 401)
    r = api.call("GET", "/v1/me/profile", headers={"Cookie": world["cookie"]})
    assert_problem(r, 401)
    # The old handle and password no longer log in.
    assert_problem(api.tokens(HANDLE, PASSWORD), 401)
    r = api.call("POST", "/v1/session", {"handle": HANDLE,
                                         "password": PASSWORD})
    assert_problem(r, 401)
    # Across a restart too.
    api.restart()
    assert_problem(person.get("/v1/me/profile"), 401)


def test_after_erasure_brands_see_an_ended_relationship(world, ctx):
    api, acme, bolt = world["api"], world["acme"], world["bolt"]
    rels = world["rels"]
    assert erase(world).status == 204
    for brand, rel in ((acme, rels["acme"]), (bolt, rels["bolt"])):
        view = brand.ok("GET", f"/v1/relationships/{rel.id}")
        assert view["state"] == "ended", view
        assert not view.get("fields"), view
        listed = [x for x in brand_all(brand, "/v1/relationships")
                  if x["id"] == rel.id]
        assert [x["state"] for x in listed] == ["ended"], listed
        assert not listed[0].get("fields"), listed
        r = brand.send(rel.id, subject="after", body="after")
        assert r.status == 201, r
        assert (r.json()["decision"], r.json()["reason"]) == (
            "refused", "relationship_ended"), r.json()
    camp = acme.ok("POST", "/v1/campaigns", {
        "relationships": [rels["acme"].id], "channel": "email",
        "topic": "offers", "subject": "after", "body": "after"}, status=201)
    assert (camp["total"], camp["accepted"], camp["refused"],
            camp["reasons"]) == (1, 0, 1, {"relationship_ended": 1}), camp
    camp = acme.ok("POST", "/v1/campaigns", {
        "relationships": "all", "channel": "email", "topic": "offers",
        "subject": "after", "body": "after"}, status=201)
    assert camp["total"] == 0, camp
    api.stop()

    # The alias directory holds tombstones instead of the aliases.
    key = person_key(ctx, rels["acme"].id)
    with ctx.sql() as db:
        aliases = db.execute(
            "SELECT a.alias, a.person FROM aliases a JOIN relationships r "
            "ON a.relationship = r.id WHERE r.person = ?", (key,)).fetchall()
        stored = [r[0] for r in db.execute("SELECT alias FROM aliases")]
    assert len(aliases) == 3, aliases  # Acme's, Bolt's and the one she made
    for alias, owner in aliases:
        assert HEX64.fullmatch(alias), alias
        assert owner is None, aliases
    for rel in rels.values():
        assert rel.alias not in stored and rel.alias.lower() not in stored


def test_after_erasure_the_ledger_verifies_and_ends_in_erasure(world, ctx):
    api, rels = world["api"], world["rels"]
    before = world["person"].ledger()
    assert before and before[-1]["type"] != "erasure", before
    assert erase(world).status == 204
    api.stop()
    r = ctx.run("ledger", "verify")
    assert r.rc == 0, r
    key = person_key(ctx, rels["acme"].id)
    with ctx.sql() as db:
        rows = db.execute("SELECT seq, type, actor, hash FROM ledger "
                          "WHERE person = ? ORDER BY seq", (key,)).fetchall()
        last_overall = db.execute(
            "SELECT person, type FROM ledger ORDER BY at_ms DESC, seq DESC "
            "LIMIT 1").fetchone()
    # The chain of hashes stays, one entry longer.
    assert [s for s, *_ in rows] == list(range(1, len(before) + 2)), rows
    assert [bytes(h).hex() for *_, h in rows[:-1]] == [
        e["hash"] for e in before]
    assert rows[-1][1:3] == ("erasure", "person"), rows[-1]
    assert last_overall == (key, "erasure"), last_overall


def test_a_brand_reading_after_erasure_writes_nothing_of_the_person(
        world, ctx):
    api, bolt, rels = world["api"], world["bolt"], world["rels"]
    assert erase(world).status == 204
    # Bolt never read its relationship before; it looks now, as a brand
    # told of the end would.
    view = bolt.ok("GET", f"/v1/relationships/{rels['bolt'].id}")
    assert view["state"] == "ended"
    # Still the documented shape: an ended relationship that grants
    # nothing, not nulls where the schema wants values.
    assert_schema(view, "BrandRelationshipDetail")
    assert view["terms"]["channels"] == {} and view["fields"] == {}
    listed = bolt.ok("GET", "/v1/relationships")["items"]
    for item in listed:
        assert_schema(item, "BrandRelationship")
    api.stop()
    key = person_key(ctx, rels["acme"].id)
    with ctx.sql() as db:
        last = db.execute("SELECT type FROM ledger WHERE person = ? "
                          "ORDER BY seq DESC LIMIT 1", (key,)).fetchone()
        reads = db.execute("SELECT count(*) FROM field_reads "
                           "WHERE person = ?", (key,)).fetchone()
    assert (last, reads) == (("erasure",), (0,))


def test_the_handle_can_sign_up_again_to_an_empty_world(world, ctx):
    api, old, acme = world["api"], world["person"], world["acme"]
    assert erase(world).status == 204
    api.restart()
    new = api.signup(HANDLE)
    assert new.id != old.id
    assert new.ok("GET", "/v1/me/profile") == {}
    terms = new.ok("GET", "/v1/me/terms")
    assert terms["time_zone"] == "UTC", terms
    assert terms.get("do_not_contact") in ([], None), terms
    assert new.all("/v1/me/relationships") == []
    assert new.all("/v1/me/proposals") == []
    assert new.messages() == []
    assert new.ledger() == []
    # The old token is not the new person's.
    assert_problem(old.get("/v1/me/profile"), 401)
    # A new relationship with the same brand gets a new alias.
    rel = api.connect(new, acme)
    old_aliases = {r.alias.lower() for r in world["rels"].values()}
    assert rel.alias.lower() not in old_aliases
    assert rel.id not in {r.id for r in world["rels"].values()}
    # The old relationship stays closed.
    r = acme.send(world["rels"]["acme"].id, subject="again", body="again")
    assert r.status == 201
    assert r.json()["reason"] == "relationship_ended", r.json()
    r = acme.send(rel.id, subject="new", body="new")
    assert r.json()["decision"] == "accepted", r.json()
    assert [m["subject"] for m in new.messages()] == ["new"]
