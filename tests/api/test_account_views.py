"""What the web app's account pages read: the connect code's QR code
(`qr_svg` of POST /v1/me/connect-codes, decoded back with zbarimg), the
person's own ledger verified on request (GET /v1/me/ledger/verify, also
after the chain was edited in the SQLite file), and the person's sessions
and tokens (GET /v1/me/sessions, DELETE /v1/me/sessions/{id}): listed
without secrets, revoked at once, another's or unknown ids 404 with
nothing revoked."""
import base64
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import assert_problem, assert_schema, store_key

SVG = "{http://www.w3.org/2000/svg}"
ZERO_HASH = "0" * 64


# --- the connect code's QR code -----------------------------------------


def svg_root(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg", root.tag
    return root


def test_connect_code_carries_its_qr_code(api):
    ana = api.signup("ana")
    code = ana.ok("POST", "/v1/me/connect-codes", status=201)
    assert_schema(code, "ConnectCode")
    svg = code["qr_svg"]
    root = svg_root(svg)
    assert root.get("role") == "img"
    assert code["code"] in root.get("aria-label")
    assert root.get("shape-rendering") == "crispEdges"
    # One unit per module: a version-1 symbol (21) and the quiet zone (8).
    assert root.get("viewBox") == "0 0 29 29"
    children = list(root)
    assert [c.tag for c in children] == [SVG + "rect", SVG + "path"]
    rect, path = children
    assert (rect.get("width"), rect.get("height"), rect.get("fill")) == (
        "29", "29", "#fff")
    assert path.get("fill") == "#000" and path.get("d").startswith("M")
    # Nothing that runs or fetches: no script, style, link or reference.
    for el in root.iter():
        assert not list(el.attrib.keys() - {
            "viewBox", "role", "aria-label", "shape-rendering", "width",
            "height", "fill", "d"}), el.attrib
    for word in ("script", "href", "url(", "style", "<!", "<?"):
        assert word not in svg, word
    # A fresh code, a fresh picture.
    again = ana.ok("POST", "/v1/me/connect-codes", status=201)
    assert again["code"] != code["code"]
    assert again["qr_svg"] != svg


def decode_qr(svg, tmp_path):
    """The text a scanner reads from the SVG (rsvg-convert, zbarimg)."""
    for tool in ("rsvg-convert", "zbarimg"):
        assert shutil.which(tool), (
            f"{tool} is missing: run scripts/setup (librsvg2-bin, "
            "zbar-tools)")
    src, png = tmp_path / "code.svg", tmp_path / "code.png"
    src.write_text(svg)
    subprocess.run(["rsvg-convert", "-w", "290", "-h", "290", "-o",
                    str(png), str(src)], check=True, timeout=60)
    r = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr)
    return r.stdout.rstrip("\n")


def test_the_qr_code_scans_to_the_printed_code(api, tmp_path):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    code = ana.ok("POST", "/v1/me/connect-codes", status=201)
    scanned = decode_qr(code["qr_svg"], tmp_path)
    assert scanned == code["code"]
    # What the counter scanned is a code the brand can use.
    acme.ok("POST", "/v1/proposals", {
        "connect_code": scanned, "value": "10% off", "channels": ["email"]},
        status=201)


# --- GET /v1/me/ledger/verify -------------------------------------------


def head_lines(note):
    text, _, _ = note.partition("\n\n")
    return text.split("\n")


def assert_verified(person, api):
    v = person.ok("GET", "/v1/me/ledger/verify")
    assert_schema(v, "LedgerVerification")
    entries = person.ledger()
    assert v["verified"] is True and v["problem"] is None, v
    assert v["entries"] == len(entries)
    head = v["head"]
    last_seq = entries[-1]["seq"] if entries else 0
    last_hash = entries[-1]["hash"] if entries else ZERO_HASH
    assert (head["seq"], head["hash"]) == (last_seq, last_hash)
    origin, seq, b64 = head_lines(head["note"])
    assert origin.startswith("cmr ledger ") and origin.endswith(
        "/" + person.id)
    assert int(seq) == last_seq
    assert base64.b64decode(b64).hex() == last_hash
    # The same signed note as GET /v1/me/ledger/head (Ed25519 signatures
    # are deterministic), by a key the JWK Set publishes.
    r = person.get("/v1/me/ledger/head")
    assert r.status == 200 and r.body.decode() == head["note"]
    kids = [k["kid"] for k in api.call("GET", "/.well-known/jwks.json")
            .json()["keys"]]
    assert head["key_id"] in kids
    return v


def test_a_good_chain_verifies(api):
    ana = api.signup("ana")
    first = assert_verified(ana, api)
    acme = api.add_brand("Acme")
    api.connect(ana, acme)
    later = assert_verified(ana, api)
    assert later["entries"] > first["entries"] and later["entries"] >= 2


def test_a_chain_edited_in_the_store_does_not_verify(api):
    ana, bob = api.signup("ana"), api.signup("bob")
    acme = api.add_brand("Acme")
    api.connect(ana, acme)
    api.connect(bob, acme)
    assert_verified(ana, api)  # records a signed head too
    n = len(ana.ledger())
    api.stop()
    db = api.ctx.sql()
    person = store_key(ana.id)
    (data,) = db.execute("SELECT data FROM ledger WHERE person = ? AND "
                         "seq = 2", (person,)).fetchone()
    db.execute("UPDATE ledger SET data = ? WHERE person = ? AND seq = 2",
               (data.replace("}", ',"x":1}', 1) if data != "{}"
                else '{"x":1}', person))
    db.close()
    api.start()
    v = ana.ok("GET", "/v1/me/ledger/verify")
    assert_schema(v, "LedgerVerification")
    assert v["verified"] is False and v["head"] is None, v
    assert v["entries"] == n
    assert v["problem"].startswith("entry 2: edited"), v["problem"]
    # Only Ana's chain was edited, and only hers is read.
    assert_verified(bob, api)
    assert "per_" not in v["problem"]


def test_a_chain_cut_short_does_not_verify(api):
    ana = api.signup("ana")
    api.connect(ana, api.add_brand("Acme"))
    v = assert_verified(ana, api)  # the signed head names the last seq
    api.stop()
    db = api.ctx.sql()
    db.execute("DELETE FROM ledger WHERE person = ? AND seq = ?",
               (store_key(ana.id), v["head"]["seq"]))
    db.close()
    api.start()
    v = ana.ok("GET", "/v1/me/ledger/verify")
    assert v["verified"] is False and v["head"] is None
    assert v["problem"].startswith(f"entry {v['entries'] + 1}: truncated"), v


def test_ledger_verify_is_a_persons(api):
    acme = api.add_brand("Acme")
    assert_problem(acme.get("/v1/me/ledger/verify"), 403)
    assert_problem(api.call("GET", "/v1/me/ledger/verify"), 401)


# --- GET /v1/me/sessions, DELETE /v1/me/sessions/{id} --------------------


def log_in(api, person):
    r = api.call("POST", "/v1/session", {"handle": person.handle,
                                         "password": person.password})
    assert r.status == 204, r
    return r.headers["Set-Cookie"].split(";")[0]


def by_cookie(api, cookie, method, path, **headers):
    return api.call(method, path, headers=dict(headers, Cookie=cookie))


def sessions(caller):
    listed = caller.ok("GET", "/v1/me/sessions")
    assert_schema(listed, "SessionList")
    return listed["items"]


def test_sessions_lists_each_session_and_token_without_secrets(api):
    ana = api.signup("ana")
    second = api.tokens("ana", ana.password).json()
    cookie = log_in(api, ana)
    bob = api.signup("bob")
    r = ana.get("/v1/me/sessions")
    assert r.status == 200
    items = sessions(ana)
    assert len(items) == 3, items
    by_id = {i["id"]: i for i in items}
    assert by_id[ana.token_id]["kind"] == "token"
    assert by_id[ana.token_id]["current"] is True
    assert by_id[second["id"]] == dict(by_id[second["id"]], kind="token",
                                       current=False)
    (sess,) = [i for i in items if i["kind"] == "session"]
    assert sess["current"] is False
    assert bob.token_id not in by_id
    # Newest first.
    assert [i["created_at"] for i in items] == sorted(
        (i["created_at"] for i in items), reverse=True)
    # No secret and no hash of one. A credential ends in its 43 random
    # characters (base64url, which may hold "_" itself: src/app/session.h).
    for secret in (ana.credential, second["token"], cookie.split("=")[1]):
        assert len(secret) > 43 and secret[-43:] not in r.body.decode()
    assert all(set(i) <= {"id", "kind", "scope", "name", "created_at",
                          "last_used_at", "expires_at", "current"}
               for i in items)
    assert all(i["scope"] == "all" and i["name"] is None for i in items)
    # By cookie, the session is the current one.
    r = by_cookie(api, cookie, "GET", "/v1/me/sessions")
    assert r.status == 200
    current = [i["id"] for i in r.json()["items"] if i["current"]]
    assert current == [sess["id"]]


def test_revoking_a_token_or_session_ends_it_at_once(api):
    ana = api.signup("ana")
    second = api.tokens("ana", ana.password).json()
    cookie = log_in(api, ana)
    sess = [i for i in sessions(ana) if i["kind"] == "session"][0]
    r = ana.delete(f"/v1/me/sessions/{second['id']}")
    assert r.status == 204 and r.body == b""
    assert "Set-Cookie" not in r.headers
    assert_problem(api.call("GET", "/v1/me/profile", headers={
        "Authorization": "Bearer " + second["token"]}), 401)
    r = ana.delete(f"/v1/me/sessions/{sess['id']}")
    assert r.status == 204
    assert_problem(by_cookie(api, cookie, "GET", "/v1/me/profile"), 401)
    assert [i["id"] for i in sessions(ana)] == [ana.token_id]
    # Already revoked: 404.
    assert_problem(ana.delete(f"/v1/me/sessions/{second['id']}"), 404)
    # DELETE /v1/tokens/{id} is as it was.
    third = api.tokens("ana", ana.password).json()
    assert ana.delete(f"/v1/tokens/{third['id']}").status == 204
    assert [i["id"] for i in sessions(ana)] == [ana.token_id]


def test_revoking_the_current_session_logs_out(api):
    ana = api.signup("ana")
    cookie = log_in(api, ana)
    r = by_cookie(api, cookie, "GET", "/v1/me/sessions")
    (mine,) = [i["id"] for i in r.json()["items"] if i["current"]]
    # A cookie's write needs the CSRF header; without it nothing ends.
    assert_problem(by_cookie(api, cookie, "DELETE",
                             f"/v1/me/sessions/{mine}"), 403)
    assert by_cookie(api, cookie, "GET", "/v1/me/profile").status == 200
    r = by_cookie(api, cookie, "DELETE", f"/v1/me/sessions/{mine}",
                  **{"X-CMR-CSRF": "1"})
    assert r.status == 204, r
    set_cookie = r.headers.get("Set-Cookie", "")
    assert "Max-Age=0" in set_cookie, dict(r.headers)
    assert_problem(by_cookie(api, cookie, "GET", "/v1/me/profile"), 401)
    # Revoking one's own token by token ends it too (and clears nothing).
    r = ana.delete(f"/v1/me/sessions/{ana.token_id}")
    assert r.status == 204 and "Set-Cookie" not in r.headers
    assert_problem(ana.get("/v1/me/profile"), 401)


def test_another_persons_or_unknown_ids_are_404_and_revoke_nothing(api):
    ana, bob = api.signup("ana"), api.signup("bob")
    bob_cookie = log_in(api, bob)
    bobs = sessions(bob)
    anas = sessions(ana)
    # (Ids made up elsewhere: test_http_authz.py, for every {id} route.)
    for sid in [i["id"] for i in bobs]:
        assert_problem(ana.delete(f"/v1/me/sessions/{sid}"), 404)
    for bad in ("nope", "rel_k3x9q2r7m4vt8wzp", "tok_!!!!!!!!!!!!!!!!"):
        body = assert_problem(ana.delete(f"/v1/me/sessions/{bad}"), 400)
        assert body["type"] == "/problems/invalid-id", body
    assert sessions(bob) == bobs and sessions(ana) == anas
    assert bob.get("/v1/me/profile").status == 200
    assert by_cookie(api, bob_cookie, "GET", "/v1/me/profile").status == 200


def test_sessions_are_a_persons(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    assert_problem(acme.get("/v1/me/sessions"), 403)
    assert_problem(acme.delete(f"/v1/me/sessions/{ana.token_id}"), 403)
    assert_problem(api.call("GET", "/v1/me/sessions"), 401)
    assert_problem(api.call("DELETE", f"/v1/me/sessions/{ana.token_id}"),
                   401)
    assert ana.get("/v1/me/profile").status == 200


def restart_at(api, seconds):
    """Restarts the server with its clock `seconds` ahead."""
    api.stop()
    api.ctx.serve_env = {"CMR_NOW_OFFSET": str(seconds)}
    api.start()


def test_last_use_is_kept_and_idle_sessions_leave_the_list(api):
    ana = api.signup("ana")
    cookie = log_in(api, ana)
    before = {i["id"]: i for i in sessions(ana)}
    assert all(i["last_used_at"] == i["created_at"]
               for i in before.values())
    # Two minutes on, a token's use is recorded too (to the minute, and
    # without waiting: the list shows it soon after).
    restart_at(api, 120)
    for _ in range(200):
        now = {i["id"]: i for i in sessions(ana)}
        if now[ana.token_id]["last_used_at"] != before[ana.token_id][
                "last_used_at"]:
            break
        time.sleep(0.05)
    assert now[ana.token_id]["last_used_at"] > before[ana.token_id][
        "last_used_at"], now
    # Nine hours on, the unused session has been idle too long: it is
    # gone from the list (and no longer works); the token stays.
    restart_at(api, 9 * 3600)
    assert [i["id"] for i in sessions(ana)] == [ana.token_id]
    assert_problem(by_cookie(api, cookie, "GET", "/v1/me/profile"), 401)
