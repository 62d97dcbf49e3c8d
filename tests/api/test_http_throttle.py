"""Throttling: failed log-ins per (handle, client
address), and per client address whatever the handle; a password asked
again (export, password change, erasure, delivery settings) per person;
a brand's unknown connect codes. Each is locked out after its failures,
and password checks wait in a bounded line: beyond it, 429 at once. Every
throttled answer is 429 with Retry-After. No timing is asserted beyond
the lock-out's own Retry-After: a flood is shown by what it gets back."""
import http.client
import json
import secrets
import socket
import time

from conftest import ASK, PASSWORD, Reply, assert_problem
from edge import request

FREE = 5  # failures allowed before a lock-out
CLIENT_FREE = 20  # failures of one address, any handle
QUEUE_PER_CLIENT = 2  # password checks of one address in line at once
OTHER = "127.0.0.2"  # another client address (all of 127/8 is loopback)


def retry_after(r):
    body = assert_problem(r, 429)
    assert body["type"] == "/problems/throttled", body
    value = r.headers.get("Retry-After", "")
    assert value.isdigit() and int(value) >= 1, dict(r.headers)
    return int(value)


def at_second_start():
    """Waits for the start of a wall-clock second. Lock-outs are counted
    in whole seconds, so the first (1 s) one may end at the next second
    boundary; starting just after one leaves the rest of the test inside
    it."""
    time.sleep(1.02 - time.time() % 1.0)


def held_for(attempt, r, seconds=4):
    """Makes the lock-out that `r` (a 429) told of last `seconds` or more,
    and returns the last 429: a lock-out doubles with each failure after
    the last one ended (1, 2, 4 s …), so this waits each out and fails
    again with attempt() (twice where the failure that locks is answered
    as any other, as an unknown connect code's 404 is). A test that checks what a lock-out refuses does
    so inside one that a slow machine (a busy one, the suite's workers
    side by side) cannot see end first: a 1 s lock-out ends at the next
    whole second, which may come before the next request does."""
    while (wait := retry_after(r)) < seconds:
        time.sleep(wait)
        _, r = fail_until_locked(attempt, limit=2)
    return r


def fail_until_locked(attempt, limit=FREE + 3):
    """Calls attempt() until it gives 429; returns (statuses, reply)."""
    statuses = []
    for _ in range(limit):
        r = attempt()
        statuses.append(r.status)
        if r.status == 429:
            return statuses, r
    raise AssertionError(f"never throttled: {statuses}")


def test_failed_logins_are_throttled(api):
    ana = api.signup("ana")
    api.signup("bob")
    for _ in range(FREE - 1):
        assert_problem(api.tokens("ana", "wrong-password-here"), 401)
    statuses, r = fail_until_locked(
        lambda: api.tokens("ana", "wrong-password-here"))
    assert statuses == [429], statuses  # the 5th failure locks
    held_for(lambda: api.tokens("ana", "wrong-password-here"), r)
    # Locked out is locked out, with the right password too.
    wait = retry_after(api.tokens("ana", ana.password))
    retry_after(api.call("POST", "/v1/session",
                         {"handle": "ana", "password": ana.password}))
    # Another handle is not locked out.
    assert api.tokens("bob", ana.password).status == 201
    # After the wait the right password works (and the count starts anew).
    time.sleep(wait + 0.2)
    assert api.tokens("ana", ana.password).status == 201
    assert api.tokens("ana", "wrong-password-here").status == 401


def test_unknown_handles_are_throttled_too(api):
    statuses, r = fail_until_locked(
        lambda: api.tokens("nobody", "wrong-password-here"))
    assert statuses[:FREE - 1] == [401] * (FREE - 1), statuses
    retry_after(r)


def test_unknown_connect_codes_are_throttled_per_brand(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    bolt = api.add_brand("Bolt")
    before = ana.snapshot()

    def unknown():
        return acme.post("/v1/proposals",
                         dict(ASK, connect_code="AAAA-BBBB-CCCC"))

    for _ in range(FREE - 1):
        assert_problem(unknown(), 404)
    at_second_start()
    statuses, r = fail_until_locked(unknown)
    # The 5th is answered as any other and locks: the next is 429 — or,
    # on a machine slow enough that the first (1 s) lock-out ended before
    # the next request came, that request fails and locks for 2 s.
    assert statuses in ([404, 429], [404, 404, 429]), statuses
    held_for(unknown, r)
    # Locked out, even a good code is refused, and not used up.
    code = api.code(ana)
    wait = retry_after(acme.post("/v1/proposals",
                                 dict(ASK, connect_code=code)))
    # Another brand is not locked out.
    assert_problem(bolt.post("/v1/proposals",
                             dict(ASK, connect_code="AAAA-BBBB-CCCC")), 404)
    assert ana.snapshot()["proposals"] == before["proposals"]
    time.sleep(wait + 0.2)
    r = acme.post("/v1/proposals", dict(ASK, connect_code=code))
    assert r.status == 201, r


# --- floods of log-ins, and passwords asked again -------------------------


def from_address(api, source, method, path, body=None, headers=None):
    """One request from the client address `source`."""
    port = int(api.server.address.rsplit(":", 1)[1])
    return request(port, method, path, body, headers, source=source)


def made_up_login():
    return {"handle": "nobody-" + secrets.token_hex(6),
            "password": "wrong-password-here"}


class Burst:
    """n log-ins with made-up handles from 127.0.0.1, each on its own
    connection, all sent before any answer is read: they reach the
    server at once, as a flood does."""

    def __init__(self, api, n):
        host, port = api.server.address.rsplit(":", 1)
        self.socks = []
        for _ in range(n):
            body = json.dumps(made_up_login()).encode()
            s = socket.create_connection((host, int(port)), timeout=60)
            s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: cmr\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Connection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.socks.append(s)

    def replies(self):
        out = []
        for s in self.socks:
            resp = http.client.HTTPResponse(s)
            resp.begin()
            out.append(Reply(resp.status, resp.headers, resp.read()))
            s.close()
        return out


def test_a_flood_of_handles_from_one_address_is_throttled(api):
    ana = api.signup("ana")
    # A burst of made-up handles at once: only QUEUE_PER_CLIENT of them
    # may wait for a hash, the others are answered 429 at once.
    burst = Burst(api, 12)
    # A real log-in from another address meanwhile still gets in.
    r = from_address(api, OTHER, "POST", "/v1/tokens",
                     {"handle": "ana", "password": ana.password})
    assert r.status == 201, r
    replies = burst.replies()
    statuses = [r.status for r in replies]
    assert set(statuses) <= {401, 429}, statuses
    at_once = [r for r in replies if r.status == 429]
    assert len(at_once) >= 12 - 2 * QUEUE_PER_CLIENT, statuses
    for r in at_once:
        retry_after(r)
        assert "at once" in r.json()["detail"], r.body
    # Made-up handles one after the other: each is a new handle, yet the
    # address is locked out after CLIENT_FREE failures in all.
    failed = statuses.count(401)
    while failed < CLIENT_FREE - 1:
        r = api.call("POST", "/v1/tokens", made_up_login())
        assert r.status == 401, (failed, r)
        failed += 1
    r = api.call("POST", "/v1/tokens", made_up_login())
    retry_after(r)
    assert "failed log-ins" in r.json()["detail"], r.body
    held_for(lambda: api.call("POST", "/v1/tokens", made_up_login()), r)
    # Locked out is locked out: the right password of a real handle
    # from that address too, and nothing is hashed for it.
    retry_after(api.tokens("ana", ana.password))
    # From another address ana logs in, and is not throttled.
    r = from_address(api, OTHER, "POST", "/v1/tokens",
                     {"handle": "ana", "password": ana.password})
    assert r.status == 201, r


def test_a_lock_out_begun_while_in_line_holds(api):
    """The made-up handles of a burst that got in line count their
    failures; the address's lock-out then refuses the next at once."""
    api.signup("ana")
    failed = 0
    for _ in range(40):
        statuses = [r.status for r in Burst(api, 4).replies()]
        assert set(statuses) <= {401, 429}, statuses
        failed += statuses.count(401)
        assert failed <= CLIENT_FREE - 1, failed
        if failed == CLIENT_FREE - 1:
            break
    assert failed == CLIENT_FREE - 1, failed


WRONG = "wrong-password-here"


def reentries(person, password):
    """Every route that asks for the password again, with `password`."""
    return [
        lambda: person.post("/v1/me/export", {"password": password}),
        lambda: person.put("/v1/me/password",
                           {"password": password,
                            "new_password": "another-long-password"}),
        lambda: person.put("/v1/me/delivery", {"password": password}),
        lambda: person.call("DELETE", "/v1/me", {"password": password}),
        lambda: person.call("PATCH", "/v1/me/delivery",
                            {"password": password}),
    ]


def test_a_password_asked_again_is_throttled_per_person(api):
    ana = api.signup("ana")
    bob = api.signup("bob")
    attempts = reentries(ana, WRONG)
    assert len(attempts) == FREE
    for attempt in attempts[:-1]:
        body = assert_problem(attempt(), 403, "password")
        assert body["type"] == "/problems/wrong-password", body
    r = attempts[-1]()  # the 5th wrong one locks
    retry_after(r)
    wait = retry_after(held_for(attempts[-1], r))
    # Locked out on every route that asks, the right password too.
    for attempt in reentries(ana, ana.password):
        retry_after(attempt())
    # Another person (from the same address) is not locked out.
    assert bob.post("/v1/me/export", {"password": bob.password}).status \
        == 200
    time.sleep(wait + 0.2)
    assert ana.post("/v1/me/export",
                    {"password": ana.password}).status == 200
    # The right password forgave the count.
    assert_problem(ana.post("/v1/me/export", {"password": WRONG}), 403)


def test_a_request_refused_before_the_check_forgives_nothing(api):
    """A password change refused for its new password checked nothing:
    it must not wipe the count of wrong ones."""
    ana = api.signup("ana")
    for _ in range(FREE - 1):
        assert_problem(ana.post("/v1/me/export", {"password": WRONG}), 403)
    assert_problem(ana.put("/v1/me/password",
                           {"password": ana.password,
                            "new_password": "short"}), 422)
    at_second_start()
    retry_after(ana.post("/v1/me/export", {"password": WRONG}))


def test_password_checks_wait_in_a_bounded_line(api):
    """Sign-up hashes a password too: a burst of sign-ups from one
    address gets 429 at once beyond its places in line."""
    host, port = api.server.address.rsplit(":", 1)
    socks = []
    for i in range(8):
        body = json.dumps({"handle": f"new{i}", "password": PASSWORD})
        body = body.encode()
        s = socket.create_connection((host, int(port)), timeout=60)
        s.sendall(b"POST /v1/persons HTTP/1.1\r\nHost: cmr\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Connection: close\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        socks.append(s)
    statuses = []
    for s in socks:
        resp = http.client.HTTPResponse(s)
        resp.begin()
        reply = Reply(resp.status, resp.headers, resp.read())
        s.close()
        statuses.append(reply.status)
        if reply.status == 429:
            retry_after(reply)
    assert set(statuses) <= {201, 429}, statuses
    assert 1 <= statuses.count(201) <= 8 - 4, statuses
