"""`cmr ledger verify`: a fresh copy of the demo world per
test is damaged with sqlite3 while no server runs, and verify must exit 1
naming the person and the entry; untouched or honestly re-signed, it holds.
"""
import json
import re

import pytest

import ledger_model as lm
from conftest import make_demo, store_key

HANDLE = "ana"  # the demo person with the longest chain


class Chain:
    """One person's chain in a demo store."""

    def __init__(self, ctx, handle):
        self.ctx = ctx
        self.db = ctx.sql()
        self.per_id = ctx.persons()[handle]
        self.person = store_key(self.per_id)
        self.head_seq, self.note = self.db.execute(
            "SELECT seq, note FROM ledger_heads WHERE person = ?",
            (self.person,)).fetchone()
        self.server_name = re.match(r"cmr ledger (\S+)/per_",
                                    self.note).group(1)

    def seqs(self):
        return [r[0] for r in self.db.execute(
            "SELECT seq FROM ledger WHERE person = ? ORDER BY seq",
            (self.person,))]

    def rows(self):
        return self.db.execute(lm.LEDGER_ROWS, (self.person,)).fetchall()

    def exec(self, sql, *params):
        self.db.execute(sql, params)

    def set_head(self, seq, head_hash, note):
        self.exec("UPDATE ledger_heads SET seq = ?, hash = ?, note = ? "
                  "WHERE person = ?", seq, head_hash, note, self.person)

    def resign_head(self, seed):
        """Points the head at the chain's last entry, signed by `seed`."""
        seq, head_hash = self.db.execute(
            "SELECT seq, hash FROM ledger WHERE person = ? "
            "ORDER BY seq DESC LIMIT 1", (self.person,)).fetchone()
        text = lm.head_text(self.server_name, self.per_id, seq,
                            bytes(head_hash))
        self.set_head(seq, head_hash,
                      lm.sign_note(text, self.server_name, seed))

    def verify(self):
        self.db.close()  # cmr must see every change
        return self.ctx.run("ledger", "verify")

    def assert_broken(self, *expect):
        r = self.verify()
        assert r.rc == 1, r
        assert self.per_id in r.text, r.text
        for e in expect:
            assert re.search(e, r.text), (e, r.text)
        # Only this chain was touched: no other person is named.
        others = set(self.ctx.persons().values()) - {self.per_id}
        assert others and not any(o in r.text for o in others), r.text
        return r


@pytest.fixture
def chain(demo_ctx):
    c = Chain(demo_ctx, HANDLE)
    assert c.seqs() == list(range(1, c.head_seq + 1)) and c.head_seq >= 4
    yield c
    c.db.close()


@pytest.fixture(scope="session")
def other_demo(tmp_path_factory):
    """A second server: its own `cmr init` keys and demo world."""
    return make_demo(tmp_path_factory.mktemp("other-demo"))


# --- what holds ---------------------------------------------------------

def test_demo_verifies(demo_ctx):
    r = demo_ctx.ok("ledger", "verify")
    assert re.match(r"ok\b", r.out), r.out


def test_design_test_vector():
    entry = {"actor": "person", "at": "2026-11-23T10:00:00.000Z",
             "data": {"channels": ["email"], "topics": ["offers", "orders"]},
             "prev": "0" * 64, "relationship": "rel_5vqc3kq8wz2m7n4p",
             "seq": 1, "type": "relationship.accepted"}
    assert lm.entry_hash(lm.ZERO, entry).hex() == (
        "6ec191b2dfd41723f8fe3d2699c364482e6b39a39f7e39e927ebef12ba1cfe29")


def test_chain_and_head_follow_the_design(chain):
    """Every stored hash is BLAKE2b(prev ‖ JCS(entry)), chained from 64
    zeros, and the head is the C2SP note of the last entry signed by this
    server's Ed25519 key (Ed25519 is deterministic: re-signing the text
    with the key file gives the stored note byte for byte)."""
    prev = lm.ZERO
    for row, (h,) in zip(chain.rows(), chain.db.execute(
            "SELECT hash FROM ledger WHERE person = ? ORDER BY seq",
            (chain.person,))):
        entry = lm.row_entry(row)
        assert entry["prev"] == prev.hex()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                            entry["at"])
        assert lm.entry_hash(prev, entry) == bytes(h)
        prev = bytes(h)
    text = lm.head_text(chain.server_name, chain.per_id, chain.head_seq, prev)
    assert lm.note_text(chain.note) == text
    seed = lm.read_seed(chain.ctx.keys)
    assert lm.sign_note(text, chain.server_name, seed) == chain.note


def test_forgery_with_this_servers_key_holds(chain):
    """Control for the forged-head tests below: rewriting a chain and
    re-signing its head with *this* server's key is accepted, so what makes
    them fail is the key alone."""
    chain.exec("UPDATE ledger SET data = ? WHERE person = ? AND seq = 2",
               '{"forged":true}', chain.person)
    lm.rehash_chain(chain.db, chain.person)
    chain.resign_head(lm.read_seed(chain.ctx.keys))
    r = chain.verify()
    assert r.rc == 0, r


# --- what breaks -------------------------------------------------------

def test_edited_entry(chain):
    (data,) = chain.db.execute(
        "SELECT data FROM ledger WHERE person = ? AND seq = 2",
        (chain.person,)).fetchone()
    edited = json.loads(data)
    edited["forged"] = True
    chain.exec("UPDATE ledger SET data = ? WHERE person = ? AND seq = 2",
               lm.jcs(edited).decode(), chain.person)
    chain.assert_broken(r"\bentry 2\b")


def test_deleted_middle_entry(chain):
    chain.exec("DELETE FROM ledger WHERE person = ? AND seq = 3",
               chain.person)
    chain.assert_broken(r"\bentry 3\b")


def test_reordered_pair(chain):
    for a, b in ((2, -1), (3, 2), (-1, 3)):
        chain.exec("UPDATE ledger SET seq = ? WHERE person = ? AND seq = ?",
                   b, chain.person, a)
    chain.assert_broken(r"\bentry 2\b")


def test_truncated_chain(chain):
    chain.exec("DELETE FROM ledger WHERE person = ? AND seq = ?",
               chain.person, chain.head_seq)
    chain.assert_broken(rf"\bentry {chain.head_seq}\b")


def test_rewritten_chain_with_recomputed_hashes(chain):
    """Every hash made consistent again: only the signed head catches it."""
    chain.exec("UPDATE ledger SET data = ? WHERE person = ? AND seq = 2",
               '{"forged":true}', chain.person)
    lm.rehash_chain(chain.db, chain.person)
    chain.assert_broken(rf"\bentry {chain.head_seq}\b", r"head")


def test_head_signed_by_another_servers_key(chain, other_demo):
    """The same forgery as the control above, signed with the key of
    another `cmr init`."""
    chain.exec("UPDATE ledger SET data = ? WHERE person = ? AND seq = 2",
               '{"forged":true}', chain.person)
    lm.rehash_chain(chain.db, chain.person)
    chain.resign_head(lm.read_seed(other_demo.keys))
    chain.assert_broken(r"signed head", r"signature")


def test_untouched_head_re_signed_by_another_key(chain, other_demo):
    chain.resign_head(lm.read_seed(other_demo.keys))
    chain.assert_broken(r"signed head", r"signature")


def test_head_note_copied_from_another_store(chain, other_demo):
    db = other_demo.sql()
    seq, head_hash, note = db.execute(
        "SELECT seq, hash, note FROM ledger_heads ORDER BY seq DESC").fetchone()
    db.close()
    chain.set_head(seq, head_hash, note)
    chain.assert_broken(r"head")


def test_store_under_another_servers_keys(demo_ctx, other_demo):
    """The store knows its keys' ids: another server's keys are refused
    before anything is read (tests/api/test_keys.py has the rest)."""
    r = demo_ctx.run("ledger", "verify", "--store", demo_ctx.store,
                     "--keys", str(other_demo.keys), paths=False)
    assert r.rc == 1, r
    assert str(other_demo.keys) in r.err and demo_ctx.store in r.err, r.err
