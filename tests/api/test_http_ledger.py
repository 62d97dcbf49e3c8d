"""The person's ledger over HTTP (format: src/ledger/chain.h): entries anyone can recompute
the chain of, a C2SP signed head, and exactly one fields.read entry for a
brand's reads of a relationship in a day."""
import re

import ledger_model as lm

ENTRY_KEYS = {"seq", "at", "actor", "type", "relationship", "data", "prev",
              "hash"}
SERVER_NAME = "relay.localhost"  # the default --alias-domain


def recompute(entries):
    """Checks seq, prev and hash of every entry; returns the head hash."""
    prev = lm.ZERO
    for i, e in enumerate(entries, 1):
        assert set(e) == ENTRY_KEYS, e
        assert e["seq"] == i, entries
        assert e["prev"] == prev.hex(), e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                            e["at"]), e
        h = lm.entry_hash(prev, {k: v for k, v in e.items() if k != "hash"})
        assert e["hash"] == h.hex(), ("hash does not recompute", e)
        prev = h
    return prev


def reads(person):
    return [e for e in person.ledger() if e["type"] == "fields.read"]


def test_entries_recompute_and_the_head_is_signed(api):
    ana = api.signup("ana", profile={"name": "Ana Lima",
                                     "email": "ana@example.org"})
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    acme.ok("GET", f"/v1/relationships/{rel.id}")
    rel.put_terms(dict(rel.terms, topics=["orders"]))
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")

    entries = ana.ledger()
    assert [e["type"] for e in entries] == [
        "profile.changed", "proposal.received", "relationship.accepted",
        "fields.read", "terms.changed", "relationship.ended"], entries
    actors = {e["type"]: e["actor"] for e in entries}
    assert actors["proposal.received"] == "brand"
    assert actors["fields.read"] == "brand"
    assert actors["relationship.accepted"] == "person"
    for e in entries[2:]:
        assert e["relationship"] == rel.id, e
    assert entries[0]["relationship"] is None
    accepted = entries[2]["data"]
    assert accepted["channels"] == ["email"]
    assert accepted["fields"] == ["name", "email"]
    # No personal value in the clear: the profile entry names fields only.
    assert "Ana Lima" not in str(entries)
    assert "ana@example.org" not in str(entries)
    head_hash = recompute(entries)

    # Paging walks the same entries, each once.
    paged, after = [], None
    while True:
        page = ana.ok("GET", "/v1/me/ledger?limit=2" +
                      (f"&after={after}" if after is not None else ""))
        assert len(page["items"]) <= 2
        paged += page["items"]
        after = page["next"]
        if after is None:
            break
    assert paged == entries

    r = ana.get("/v1/me/ledger/head")
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith("text/plain"), \
        dict(r.headers)
    note = r.body.decode()
    text = lm.head_text(SERVER_NAME, ana.id, len(entries), head_hash)
    assert note.startswith(f"cmr ledger {SERVER_NAME}/{ana.id}\n"), note
    assert lm.note_text(note) == text, note
    # Ed25519 is deterministic: the signature is the one the server's key
    # makes, under the server's name.
    seed = lm.read_seed(api.ctx.keys)
    assert note == lm.sign_note(text, SERVER_NAME, seed), note


def test_a_fresh_person_has_an_empty_signed_ledger(api):
    ana = api.signup("ana")
    assert ana.ledger() == []
    r = ana.get("/v1/me/ledger/head")
    assert r.status == 200, r
    # An empty chain's head: seq 0 and the 64 zeros of "prev".
    assert lm.note_text(r.body.decode()) == lm.head_text(
        SERVER_NAME, ana.id, 0, lm.ZERO)


def test_one_fields_read_entry_per_day(api):
    ana = api.signup("ana", profile={"name": "Ana Lima"})
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert reads(ana) == []
    # Listing relationships reads no fields.
    acme.ok("GET", "/v1/relationships")
    assert reads(ana) == []

    acme.ok("GET", f"/v1/relationships/{rel.id}")
    first = reads(ana)
    assert len(first) == 1, first
    assert first[0]["actor"] == "brand"
    assert first[0]["relationship"] == rel.id
    assert first[0]["data"]["fields"] == ["name", "email"], first

    for _ in range(3):
        acme.ok("GET", f"/v1/relationships/{rel.id}")
    assert reads(ana) == first
    recompute(ana.ledger())


def test_the_first_read_is_recorded_across_a_restart(api):
    """The day's first read is decided by the store, not by a cache that
    a restart empties."""
    ana = api.signup("ana", profile={"name": "Ana Lima"})
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    acme.ok("GET", f"/v1/relationships/{rel.id}")
    api.restart()
    acme.ok("GET", f"/v1/relationships/{rel.id}")
    assert len(reads(ana)) == 1
