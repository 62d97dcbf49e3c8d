"""cmr with TLS of its own (--tls-cert FILE --tls-key FILE): a browser's
session over https, its cookie `__Host-cmr_session` with Secure, Path=/
and no Domain, writes with the CSRF header from the https origin only;
and the two settings checked at start (both or neither, each file
readable and valid, the key the certificate's), a usage error (exit 2)
naming the file."""
import pytest

from conftest import PASSWORD, assert_problem
from edge import cookie_attributes, make_cert, request, start_tls_server  # noqa: F401 (fixture)

LOGIN = {"handle": "ana", "password": PASSWORD}


@pytest.fixture
def tls(tmp_path, start_tls_server):
    """(the running TlsServer with --open-registration, its Cert)."""
    cert = make_cert(tmp_path)
    return start_tls_server(cert, "--open-registration"), cert


def call(tls, method, path, body=None, **headers):
    server, cert = tls
    return request(server.port, method, path, body, headers,
                   context=cert.context)


def log_in(tls):
    """Signs ana up and logs her in; returns the Cookie header's value."""
    r = call(tls, "POST", "/v1/persons", LOGIN)
    assert r.status == 201, r
    r = call(tls, "POST", "/v1/session", LOGIN)
    assert r.status == 204, r
    name, value, attrs = cookie_attributes(r.headers["Set-Cookie"])
    assert name == "__Host-cmr_session", r.headers["Set-Cookie"]
    assert attrs.get("secure") is True, attrs
    assert attrs.get("path") == "/", attrs
    assert "domain" not in attrs, attrs
    assert attrs.get("httponly") is True, attrs
    assert attrs.get("samesite", "").lower() == "strict", attrs
    return f"{name}={value}"


def test_a_person_signs_up_logs_in_and_writes_over_tls(tls):
    server, _ = tls
    cookie = log_in(tls)
    origin = f"https://{server.address}"
    r = call(tls, "GET", "/v1/me/profile", Cookie=cookie)
    assert r.status == 200, r
    r = call(tls, "PUT", "/v1/me/profile", {"name": "Ana Lima"},
             Cookie=cookie, Origin=origin, **{"X-CMR-CSRF": "1"})
    assert r.status == 200, r
    assert r.json() == {"name": "Ana Lima"}
    # Without the CSRF header, a cookie write is refused.
    assert_problem(call(tls, "PUT", "/v1/me/profile", {"name": "X"},
                        Cookie=cookie, Origin=origin), 403)


def test_an_http_origin_is_refused_over_tls(tls):
    server, _ = tls
    cookie = log_in(tls)
    for origin in (f"http://{server.address}", "https://evil.example",
                   f"https://{server.address}.evil.example"):
        r = call(tls, "PUT", "/v1/me/profile", {"name": "Mallory"},
                 Cookie=cookie, Origin=origin, **{"X-CMR-CSRF": "1"})
        assert_problem(r, 403)
        # A log-in from there is refused too (log-in CSRF).
        r = call(tls, "POST", "/v1/session", LOGIN, Origin=origin)
        assert_problem(r, 403)
        assert "Set-Cookie" not in r.headers
    assert call(tls, "GET", "/v1/me/profile", Cookie=cookie).json() == {}


def test_the_plain_cookie_name_is_not_a_session_over_tls(tls):
    cookie = log_in(tls)
    value = cookie.split("=", 1)[1]
    r = call(tls, "GET", "/v1/me/profile", Cookie="cmr_session=" + value)
    assert_problem(r, 401)


def test_logging_out_clears_the_host_cookie(tls):
    cookie = log_in(tls)
    r = call(tls, "DELETE", "/v1/session", Cookie=cookie,
             **{"X-CMR-CSRF": "1"})
    assert r.status == 204, r
    name, value, attrs = cookie_attributes(r.headers["Set-Cookie"])
    assert (name, value) == ("__Host-cmr_session", ""), r.headers
    assert attrs.get("max-age") == "0" and attrs.get("secure") is True
    assert attrs.get("path") == "/" and "domain" not in attrs
    assert_problem(call(tls, "GET", "/v1/me/profile", Cookie=cookie), 401)


def test_plain_http_is_not_answered_on_the_tls_port(tls):
    server, _ = tls
    try:
        r = request(server.port, "GET", "/healthz", timeout=5)
    except OSError:
        return
    assert r.status == 400, r  # never a 200 in the clear


@pytest.mark.parametrize("which", ["cert only", "key only"])
def test_one_without_the_other_is_a_usage_error(ctx, tmp_path, which):
    cert = make_cert(tmp_path)
    args = (["--tls-cert", str(cert.cert)] if which == "cert only"
            else ["--tls-key", str(cert.key)])
    r = ctx.run("serve", "--http", "127.0.0.1:0", "--lmtp", "off",
                "--policy", "off", "--metrics", "off", *args)
    assert r.rc == 2, r
    assert "--tls-cert" in r.err and "--tls-key" in r.err, r.err


def test_bad_files_are_usage_errors_that_name_them(ctx, tmp_path):
    cert = make_cert(tmp_path)
    other = make_cert(tmp_path, "other")
    missing = tmp_path / "missing.pem"
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    cases = [
        (missing, cert.key, str(missing)),      # unreadable certificate
        (cert.cert, missing, str(missing)),     # unreadable key
        (empty, cert.key, str(empty)),          # empty
        (cert.key, cert.key, str(cert.key)),    # a key as the certificate
        (cert.cert, cert.cert, str(cert.cert)),  # a certificate as the key
        (cert.cert, other.key, str(other.key)),  # another certificate's key
    ]
    for crt, key, named in cases:
        r = ctx.run("serve", "--http", "127.0.0.1:0", "--lmtp", "off",
                    "--policy", "off", "--metrics", "off",
                    "--tls-cert", str(crt), "--tls-key", str(key))
        assert r.rc == 2, (crt, key, r)
        assert named in r.err, (crt, key, r.err)
        assert "listening" not in r.err, r.err
