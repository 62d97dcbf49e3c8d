"""An outside model of cmr's ledger (src/ledger/chain.h, note.h), in plain Python, for
the tests to check and forge chains and signed heads with:

- entry hashes: BLAKE2b-256(prev ‖ JCS(entry without hash));
- C2SP signed notes with Ed25519 (RFC 8032, written out below because the
  standard library has no Ed25519; slow but only used a few times).
"""
import base64
import datetime
import hashlib
import json

ZERO = bytes(32)

# --- entries -----------------------------------------------------------


def jcs(value):
    """RFC 8785 for what the ledger holds (strings, small ints, bools, null,
    arrays, objects): sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def rfc3339_ms(at_ms):
    t = datetime.datetime.fromtimestamp(at_ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (at_ms % 1000)


def entry_hash(prev, entry):
    """prev: 32 raw bytes; entry: the object without "hash"."""
    return hashlib.blake2b(prev + jcs(entry), digest_size=32).digest()


def row_entry(row):
    """The entry object of a `ledger` row (seq, at_ms, actor, type,
    relationship, data, prev)."""
    seq, at_ms, actor, type_, rel, data, prev = row
    return {"seq": seq, "at": rfc3339_ms(at_ms), "actor": actor,
            "type": type_, "relationship": rel, "data": json.loads(data),
            "prev": bytes(prev).hex()}


LEDGER_ROWS = ("SELECT seq, at_ms, actor, type, relationship, data, prev "
               "FROM ledger WHERE person = ? ORDER BY seq")


def rehash_chain(db, person):
    """Rewrites prev and hash of every entry of `person` so that the chain
    is internally consistent again (what a forger with write access does)."""
    prev = ZERO
    for row in db.execute(LEDGER_ROWS, (person,)).fetchall():
        entry = row_entry(row)
        entry["prev"] = prev.hex()
        h = entry_hash(prev, entry)
        db.execute("UPDATE ledger SET prev = ?, hash = ? "
                   "WHERE person = ? AND seq = ?", (prev, h, person, row[0]))
        prev = h
    return prev


# --- Ed25519 (RFC 8032 §5.1) -------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if x & 1 != sign:
        x = P - x
    return x


_BY = 4 * pow(5, P - 2, P) % P
_BX = _recover_x(_BY, 0)
BASE = (_BX, _BY, 1, _BX * _BY % P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _encode(p):
    zi = pow(p[2], P - 2, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _h(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def ed25519_public(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a = (a & ~7 & ~(1 << 255)) | (1 << 254)
    return a, h[32:], _encode(_mul(a, BASE))


def ed25519_sign(seed, msg):
    a, prefix, pub = ed25519_public(seed)
    r = _h(prefix, msg) % L
    big_r = _encode(_mul(r, BASE))
    s = (r + _h(big_r, pub, msg) * a) % L
    return big_r + s.to_bytes(32, "little")


# --- signed notes (C2SP signed-note) -----------------------------------


def read_seed(keys_dir):
    """The Ed25519 seed in a cmr keys directory (one line of base64)."""
    return base64.b64decode((keys_dir / "signing.key").read_text().strip())


def note_text(note):
    """The signed text of a note: everything before the blank line."""
    return note.split("\n\n", 1)[0] + "\n"


def sign_note(text, key_name, seed):
    """`text` signed by `seed` under `key_name`, as a whole note."""
    pub = ed25519_public(seed)[2]
    key_hash = hashlib.sha256(key_name.encode() + b"\n\x01" + pub).digest()
    sig = key_hash[:4] + ed25519_sign(seed, text.encode())
    return f"{text}\n\u2014 {key_name} {base64.b64encode(sig).decode()}\n"


def head_text(server_name, per_id, seq, head_hash):
    return (f"cmr ledger {server_name}/{per_id}\n{seq}\n"
            f"{base64.b64encode(head_hash).decode()}\n")
