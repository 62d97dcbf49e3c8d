"""The HTTP door's limits per client: a stranger's body is small and never
buffered past its route's limit; connections per client address are
limited; a request's headers must arrive within --header-timeout however
they trickle; conflicting Content-Length fields are refused; writes need a
JSON body and, without credentials, no foreign Origin; /readyz follows the
writer; every request gets an X-Request-Id and an access-log line.

Raw sockets where urllib would not send what is tested. The limits are set
low (--max-conns-per-ip 4, --header-timeout 1) so no test opens more than a
handful of connections; 127.0.0.2 is another client address on loopback.
"""
import contextlib
import re
import socket
import sqlite3
import time

import pytest

from conftest import ON_POSTGRESQL, assert_problem, http, raw_http

ANON_BODY_MAX = 8 * 1024  # HTTP_ANON_BODY in src/http/http.h
PROFILE = {"name": "Ana Lima"}


def connect(address, source="127.0.0.1", timeout=10):
    host, port = address.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def read_reply(s):
    """What the server sends on s until it closes or the reply is whole:
    (status or None when it closed without a reply, the raw bytes)."""
    buf = b""
    while True:
        try:
            got = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not got:
            break
        buf += got
        head, sep, body = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if sep and m and len(body) >= int(m.group(1)):
            break
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
    return (int(m.group(1)) if m else None), buf


def closed(s, within=10):
    """Whether the server closes s (EOF or reset) within `within` s."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def healthz_from(address, source):
    s = connect(address, source)
    with s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        return read_reply(s)[0]


def served_again(address, source="127.0.0.1"):
    """Whether source gets /healthz within a few seconds (a closed
    connection leaves the per-address count when libmicrohttpd has
    cleaned it up, a moment after it closed)."""
    for _ in range(100):
        if healthz_from(address, source) == 200:
            return True
        time.sleep(0.05)
    return False


def request(path, headers, body=b"", method="POST"):
    lines = [f"{method} {path} HTTP/1.1", "Host: x"] + headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- 1. Memory from strangers -------------------------------------------


def test_a_strangers_oversized_body_is_413_before_it_is_sent(api):
    """Content-Length beyond the small limit of a route without
    credentials: 413 from the headers alone, the body never read."""
    s = connect(api.server.address)
    with s:
        s.sendall(request("/v1/tokens", [
            "Content-Type: application/json",
            f"Content-Length: {ANON_BODY_MAX + 1}"]))
        status, raw = read_reply(s)
    assert status == 413, raw[:300]
    assert b"Connection: close" in raw
    assert api.alive()


def test_a_strangers_chunked_body_past_the_limit_is_drained_and_413(api):
    chunk = b"x" * 4096
    chunks = [request("/v1/session", [
        "Content-Type: application/json", "Transfer-Encoding: chunked"])]
    for _ in range(4):  # 16 KiB in all
        chunks.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    chunks.append(b"0\r\n\r\n")
    r = raw_http(api.server.address, chunks, timeout=10)
    assert_problem(r, 413)
    # Within the limit, the same route reads the body as usual.
    small = b'{"handle":"nobody","password":"wrong password"}'
    r = raw_http(api.server.address, [
        request("/v1/session", ["Content-Type: application/json",
                                "Transfer-Encoding: chunked"]),
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)], timeout=10)
    assert_problem(r, 401)


def test_a_route_that_needs_credentials_refuses_before_the_body(api):
    """Without credentials, a person's route answers 401 from the headers:
    a stranger's megabyte is never read."""
    s = connect(api.server.address)
    with s:
        s.sendall(request("/v1/me/profile", [
            "Content-Type: application/json",
            f"Content-Length: {512 * 1024}"], method="PUT"))
        status, raw = read_reply(s)
    assert status == 401, raw[:300]


def test_a_caller_with_credentials_keeps_the_large_limit(api):
    ana = api.signup("ana")
    big = {"name": "A" * (64 * 1024)}  # past the strangers' limit
    r = ana.put("/v1/me/profile", big)
    assert r.status != 413, r.body[:300]


# --- Connections per client address -------------------------------------


def hold(address, n):
    """n connections from 127.0.0.1, each answered and kept open. Retried
    while the server still counts connections closed a moment ago (the
    fixture's readiness checks: libmicrohttpd forgets a closed one when
    its thread next cleans up), and so that the n are all counted before
    anything else connects (the server's two threads accept at once)."""
    for _ in range(100):
        held = [connect(address) for _ in range(n)]
        answered = True
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answered = answered and read_reply(s)[0] == 200
        if answered:
            return held
        for s in held:
            s.close()
        time.sleep(0.05)
    pytest.fail(f"{n} connections were never all answered")


def test_connections_per_address_are_limited(make_api):
    api = make_api("--max-conns-per-ip", "4")
    held = hold(api.server.address, 4)
    try:
        # A fifth from the same address is closed without a reply …
        extra = connect(api.server.address)
        with extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_reply(extra)[0] is None
        # … while another address is served.
        assert healthz_from(api.server.address, "127.0.0.2") == 200
    finally:
        for s in held:
            s.close()
    # Once they are gone, the address is served again.
    assert served_again(api.server.address)


def test_bodies_left_halfway_do_not_hold_their_connections(make_api):
    """Clients that close in the middle of a large body: their connections
    (and bodies) go at once, not at libmicrohttpd's idle timeout (30 s),
    so the address's connection slots are free again within seconds."""
    api = make_api("--max-conns-per-ip", "20")
    ana = api.signup("ana")
    head = request("/v1/me/profile", [
        "Authorization: Bearer " + ana.credential,
        "Content-Type: application/json",
        f"Content-Length: {1024 * 1024}"], method="PUT")
    # From an address of their own, whose 20 slots they fill.
    conns = [connect(api.server.address, "127.0.0.3") for _ in range(20)]
    for s in conns:
        s.sendall(head + b"x" * (1024 * 1024 - 1024))
    for s in conns:
        s.close()
    assert all_served(api.server.address, "127.0.0.3", 20)


def all_served(address, source, n):
    """Whether, within a few seconds, n connections from source held at
    once each get /healthz: none of the address's n slots is still
    taken."""
    for _ in range(50):
        conns = [connect(address, source) for _ in range(n)]
        try:
            for s in conns:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            if all(read_reply(s)[0] == 200 for s in conns):
                return True
        except OSError:
            pass
        finally:
            for s in conns:
                s.close()
        time.sleep(0.1)
    return False


# --- 2. Slowloris -------------------------------------------------------


def test_headers_that_trickle_are_cut_at_the_deadline(make_api):
    """Each connection sends a header line every 0.2 s, never idle long
    enough for an idle timeout: the header deadline (1 s here) closes
    them, and the address is served again."""
    api = make_api("--max-conns-per-ip", "4", "--header-timeout", "1")
    conns = [connect(api.server.address) for _ in range(4)]
    for s in conns:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(0.2)
    open_ = set(range(len(conns)))
    deadline = time.monotonic() + 15
    while open_ and time.monotonic() < deadline:
        for i in list(open_):
            try:
                conns[i].sendall(b"X-Trickle: 1\r\n")
                if conns[i].recv(1) == b"":
                    open_.discard(i)
            except socket.timeout:
                pass
            except OSError:
                open_.discard(i)
    for s in conns:
        s.close()
    assert not open_, "trickling connections were never cut"
    assert served_again(api.server.address)
    assert log_lines(api, "request headers were late")


def test_a_kept_alive_connection_gets_the_deadline_again(make_api):
    api = make_api("--header-timeout", "1")
    s = connect(api.server.address)
    with s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_reply(s)[0] == 200
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never ends
        assert closed(s)


def test_header_timeout_is_a_setting(cmr):
    for flag, top in (("--header-timeout", 3600),
                      ("--max-conns-per-ip", 100000)):
        r = cmr("serve", flag, "0", "--http", "127.0.0.1:0")
        assert r.rc == 2 and flag in r.err, r
        assert f"from 1 to {top}" in r.err, r
    r = cmr("serve", "--access-log", "maybe", "--http", "127.0.0.1:0")
    assert r.rc == 2 and "--access-log" in r.err, r


# --- 3. Content-Length fields that conflict -----------------------------


@pytest.mark.parametrize("framing", [
    ["Content-Length: 2", "Content-Length: 45"],
    ["Content-Length: 45", "Content-Length: 2"],
    ["Content-Length: 2", "Transfer-Encoding: chunked"],
])
def test_conflicting_framing_is_400(api, framing):
    body = b'{}'
    s = connect(api.server.address)
    with s:
        s.sendall(request("/v1/tokens",
                          ["Content-Type: application/json"] + framing,
                          body))
        status, raw = read_reply(s)
        assert status == 400, raw[:300]
        assert closed(s)


def test_repeated_equal_content_length_is_one(api):
    body = b'{"handle":"nobody","password":"wrong password"}'
    n = f"Content-Length: {len(body)}"
    r = raw_http(api.server.address, request(
        "/v1/tokens", ["Content-Type: application/json", n, n], body))
    assert_problem(r, 401)


# --- 4. Media type and log-in CSRF --------------------------------------


@pytest.mark.parametrize("ctype", [None, "text/plain",
                                   "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x",
                                   "application/jsonx"])
def test_a_write_needs_a_json_body(api, ctype):
    ana = api.signup("ana", profile=PROFILE)
    body = b'{"handle":"ana","password":"correct-horse-battery"}'
    headers = {"Content-Type": ctype} if ctype else {}
    r = http("POST", api.url + "/v1/session", body, headers)
    assert_problem(r, 415)
    assert "Set-Cookie" not in r.headers
    r = http("PUT", api.url + "/v1/me/profile", b'{"name":"Eve"}',
             dict(headers, Authorization="Bearer " + ana.credential))
    assert_problem(r, 415)
    assert ana.ok("GET", "/v1/me/profile") == PROFILE


@pytest.mark.parametrize("ctype", ["application/json",
                                   "application/json; charset=utf-8",
                                   "Application/JSON;charset=UTF-8",
                                   "application/merge-patch+json"])
def test_json_media_types_are_accepted(api, ctype):
    api.signup("ana")
    body = b'{"handle":"ana","password":"correct-horse-battery"}'
    r = http("POST", api.url + "/v1/session", body, {"Content-Type": ctype})
    assert r.status == 204, r.body


def test_log_in_from_a_foreign_origin_is_403(api):
    api.signup("ana")
    body = {"handle": "ana", "password": "correct-horse-battery"}
    for origin in ("http://evil.example", "null",
                   "http://" + api.server.address + ".evil.example"):
        r = api.call("POST", "/v1/session", body, {"Origin": origin})
        assert_problem(r, 403)
        assert "Set-Cookie" not in r.headers
        assert_problem(api.call("POST", "/v1/tokens", body,
                                {"Origin": origin}), 403)
    r = api.call("POST", "/v1/session", body, {"Origin": api.url})
    assert r.status == 204, r.body
    # Scripts send no Origin.
    assert api.call("POST", "/v1/tokens", body).status == 201


# --- 5. Readiness -------------------------------------------------------


@contextlib.contextmanager
def commits_failing(ctx):
    """While inside, the writer's commits that change a person fail.
    SQLite: another process holds the store's write lock, so the writer's
    next batch cannot begin (after its busy timeout). PostgreSQL: a
    deferred constraint trigger on persons raises at COMMIT."""
    if not ON_POSTGRESQL:
        lock = sqlite3.connect(ctx.db, isolation_level=None, timeout=30)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    with ctx.sql() as db:
        db.execute("CREATE FUNCTION test_no_commit() RETURNS trigger "
                   "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                   "'test: commits fail'; END $$")
        db.execute("CREATE CONSTRAINT TRIGGER test_no_commit AFTER UPDATE "
                   "ON persons DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION test_no_commit()")
        try:
            yield
        finally:
            db.execute("DROP TRIGGER test_no_commit ON persons")
            db.execute("DROP FUNCTION test_no_commit()")


def test_readyz_follows_the_writer(api):
    ana = api.signup("ana", profile=PROFILE)
    r = http("GET", api.url + "/readyz")
    assert r.status == 200 and r.json() == {"status": "ready"}, r
    with commits_failing(api.ctx):
        r = http("PUT", api.url + "/v1/me/profile", b'{"name":"Eve"}',
                 {"Authorization": "Bearer " + ana.credential,
                  "Content-Type": "application/json"}, timeout=60)
        assert_problem(r, 503)
        problem = assert_problem(http("GET", api.url + "/readyz"), 503)
        assert problem["request_id"]
        assert http("GET", api.url + "/healthz").status == 200
    assert "not ready" in api.server.log()
    ana.ok("PUT", "/v1/me/profile", {"name": "Ana L."})
    assert http("GET", api.url + "/readyz").status == 200
    assert "commits again; ready" in api.server.log()


# --- 6. Request ids and the access log ----------------------------------


def test_every_reply_has_a_request_id(api):
    seen = set()
    for method, path in (("GET", "/healthz"), ("GET", "/nowhere"),
                         ("GET", "/v1/me/profile"), ("DELETE", "/healthz")):
        r = http(method, api.url + path)
        rid = r.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{16}", rid), rid
        seen.add(rid)
        if r.status >= 400:
            assert assert_problem(r, r.status)["request_id"] == rid
    assert len(seen) == 4


def log_lines(api, text):
    """The server's log lines that hold text, once there are some (the
    access log's line is written when the request completes, a moment
    after its reply left)."""
    for _ in range(100):
        lines = [x for x in api.server.log().splitlines() if text in x]
        if lines:
            return lines
        time.sleep(0.05)
    return []


def test_the_access_log_names_route_patterns_only(api):
    ana = api.signup("anabel")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    r = ana.get(f"/v1/me/relationships/{rel.id}")
    assert r.status == 200, r
    rid = r.headers["X-Request-Id"]
    line = log_lines(api, rid)
    # A query string (one the route reads) is not logged either.
    q = ana.get(f"/v1/me/relationships?after={rel.id}&limit=17")
    assert q.status == 200, q
    qline = log_lines(api, q.headers["X-Request-Id"])
    log = api.server.log()
    assert len(line) == 1, log
    assert re.search(r"http: GET /v1/me/relationships/\{id\} 200 "
                     r"\d+\.\d{3} ms id=" + rid + "$", line[0]), line
    assert len(qline) == 1 and "GET /v1/me/relationships 200" in qline[0]
    for personal in (rel.id, ana.id, "anabel", "limit=17", ana.credential):
        assert personal not in log


def test_the_access_log_can_be_off(make_api):
    api = make_api("--access-log", "off")
    r = http("GET", api.url + "/healthz")
    r2 = http("GET", api.url + "/nowhere")
    assert r2.status == 404
    api.stop()  # every request has completed
    assert r.headers["X-Request-Id"] not in api.server.log()
    assert "http: GET /healthz" not in api.server.log()
