"""Browser sessions: POST /v1/session gives an HttpOnly,
SameSite=Strict cookie; cookie-authenticated writes need X-CMR-CSRF: 1
and, when the browser sends an Origin, this server's own; DELETE
/v1/session ends the session."""
import pytest

from conftest import assert_problem

PROFILE = {"name": "Ana Lima"}
CHANGED = {"name": "Ana L."}


@pytest.fixture
def session(api):
    """(api, ana with a token, the Cookie header of a fresh session)."""
    ana = api.signup("ana", profile=PROFILE)
    r = api.call("POST", "/v1/session", {"handle": "ana",
                                         "password": ana.password})
    assert r.status == 204, r
    assert r.body == b""
    set_cookie = r.headers["Set-Cookie"]
    attrs = {a.strip().split("=")[0].lower() for a in set_cookie.split(";")}
    assert "httponly" in attrs, set_cookie
    assert "samesite=strict" in set_cookie.lower().replace(" ", ""), \
        set_cookie
    assert "path" in attrs, set_cookie
    return api, ana, set_cookie.split(";")[0]


def by_cookie(api, cookie, method, path, body=None, **headers):
    return api.call(method, path, body, headers=dict(headers, Cookie=cookie))


def test_a_cookie_reads(session):
    api, ana, cookie = session
    r = by_cookie(api, cookie, "GET", "/v1/me/profile")
    assert r.status == 200, r
    assert r.json() == PROFILE


def test_a_cookie_write_needs_the_csrf_header(session):
    api, ana, cookie = session
    for extra in ({}, {"X-CMR-CSRF": "0"}, {"X-CMR-CSRF": ""},
                  {"X-Requested-With": "XMLHttpRequest"}):
        r = by_cookie(api, cookie, "PUT", "/v1/me/profile", CHANGED, **extra)
        assert_problem(r, 403)
        assert ana.ok("GET", "/v1/me/profile") == PROFILE
    codes = by_cookie(api, cookie, "POST", "/v1/me/connect-codes")
    assert_problem(codes, 403)
    r = by_cookie(api, cookie, "PUT", "/v1/me/profile", CHANGED,
                  **{"X-CMR-CSRF": "1"})
    assert r.status == 200, r
    assert ana.ok("GET", "/v1/me/profile") == CHANGED


def test_a_foreign_origin_is_refused(session):
    api, ana, cookie = session
    for origin in ("http://evil.example", "null",
                   "http://" + api.server.address + ".evil.example",
                   "https://evil.example:443"):
        r = by_cookie(api, cookie, "PUT", "/v1/me/profile", CHANGED,
                      **{"X-CMR-CSRF": "1", "Origin": origin})
        assert_problem(r, 403)
    assert ana.ok("GET", "/v1/me/profile") == PROFILE
    # Its own origin is welcome.
    r = by_cookie(api, cookie, "PUT", "/v1/me/profile", CHANGED,
                  **{"X-CMR-CSRF": "1", "Origin": api.url})
    assert r.status == 200, r
    assert ana.ok("GET", "/v1/me/profile") == CHANGED


def test_a_token_needs_no_csrf_header(session):
    """Bearer tokens are not sent by browsers on their own."""
    api, ana, cookie = session
    assert ana.put("/v1/me/profile", CHANGED).status == 200


def test_logout_ends_the_session(session):
    api, ana, cookie = session
    # Logging out is a write too.
    assert_problem(by_cookie(api, cookie, "DELETE", "/v1/session"), 403)
    assert by_cookie(api, cookie, "GET", "/v1/me/profile").status == 200
    r = by_cookie(api, cookie, "DELETE", "/v1/session",
                  **{"X-CMR-CSRF": "1"})
    assert r.status == 204, r
    cleared = r.headers.get("Set-Cookie", "")
    assert "Max-Age=0" in cleared or "Expires=" in cleared, cleared
    r = by_cookie(api, cookie, "GET", "/v1/me/profile")
    assert_problem(r, 401)
    assert "WWW-Authenticate" in r.headers
    # The person's token is another credential and still works.
    assert ana.get("/v1/me/profile").status == 200


def test_wrong_password_gets_no_cookie(api):
    api.signup("ana")
    r = api.call("POST", "/v1/session", {"handle": "ana",
                                         "password": "not-the-password"})
    assert_problem(r, 401)
    assert "Set-Cookie" not in r.headers
    r = api.call("POST", "/v1/session", {"handle": "nobody",
                                         "password": "not-the-password"})
    assert_problem(r, 401)


def test_a_session_cookie_is_not_a_bearer_token(session):
    api, ana, cookie = session
    value = cookie.split("=", 1)[1]
    r = api.call("GET", "/v1/me/profile",
                 headers={"Authorization": "Bearer " + value})
    assert_problem(r, 401)
    r = api.call("GET", "/v1/me/profile",
                 headers={"Cookie": "cmr_session=" + ana.credential})
    assert_problem(r, 401)
