"""Throttling: failed log-ins per (handle, client
address) and a brand's unknown connect codes are locked out after 5
failures, with 429 and Retry-After. No timing is asserted beyond the
lock-out's own Retry-After."""
import time

from conftest import ASK, assert_problem

FREE = 5  # failures allowed before a lock-out


def retry_after(r):
    assert_problem(r, 429)
    value = r.headers.get("Retry-After", "")
    assert value.isdigit() and int(value) >= 1, dict(r.headers)
    return int(value)


def at_second_start():
    """Waits for the start of a wall-clock second. Lock-outs are counted
    in whole seconds, so the first (1 s) one may end at the next second
    boundary; starting just after one leaves the rest of the test inside
    it."""
    time.sleep(1.02 - time.time() % 1.0)


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
    at_second_start()
    statuses, r = fail_until_locked(
        lambda: api.tokens("ana", "wrong-password-here"))
    assert statuses == [429], statuses  # the 5th failure locks
    retry_after(r)
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
    assert statuses == [404, 429], statuses  # locked after the 5th
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
