"""The web app's files as the server sends them: index at /, the rest
under /web/NAME, with their media types, a strict Content-Security-Policy,
ETag revalidation (304) and gzip for clients that take it."""
import gzip
import hashlib
import re

from conftest import REPO, assert_problem, http


WEB = REPO / "src/web"


def get(api, path, headers=None, method="GET"):
    return http(method, api.server.url + path, headers=headers or {})


def test_index_is_the_app_with_a_strict_policy(api):
    r = get(api, "/")
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.body == (WEB / "index.html").read_bytes()
    csp = r.headers["Content-Security-Policy"]
    policy = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "script-src" not in policy  # 'self' only, no inline script
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    # No inline script and nothing from another origin in the page.
    assert not re.search(rb"<script(?![^>]*\bsrc=\"/web/)", r.body)
    assert not re.search(rb"(src|href)=\"(https?:)?//", r.body)


def test_each_file_has_its_type_and_etag(api):
    types = {".js": "text/javascript; charset=utf-8",
             ".css": "text/css; charset=utf-8",
             ".svg": "image/svg+xml"}
    files = [f for f in WEB.iterdir() if f.suffix in types]
    assert any(f.name == "app.js" for f in files)
    for f in files:
        r = get(api, f"/web/{f.name}")
        assert r.status == 200, f.name
        assert r.headers["Content-Type"] == types[f.suffix], f.name
        assert r.body == f.read_bytes(), f.name
        digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        assert r.headers["ETag"] == f'"{digest}"', f.name
        assert r.headers["Cache-Control"] == "no-cache", f.name


def test_an_etag_that_matches_is_304_without_a_body(api):
    etag = get(api, "/web/app.js").headers["ETag"]
    r = get(api, "/web/app.js", {"If-None-Match": etag})
    assert r.status == 304
    assert r.body == b""
    assert r.headers["ETag"] == etag
    r = get(api, "/web/app.js", {"If-None-Match": '"0000000000000000"'})
    assert r.status == 200


def test_gzip_only_for_clients_that_take_it(api):
    plain = (WEB / "app.css").read_bytes()
    r = get(api, "/web/app.css", {"Accept-Encoding": "br, gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    assert gzip.decompress(r.body) == plain
    assert len(r.body) < len(plain)
    for accept in ("identity", "gzip;q=0", "br"):
        r = get(api, "/web/app.css", {"Accept-Encoding": accept})
        assert "Content-Encoding" not in r.headers, accept
        assert r.body == plain, accept


def test_head_has_the_headers_and_no_body(api):
    r = get(api, "/web/app.js", method="HEAD")
    assert r.status == 200
    assert r.body == b""
    assert r.headers["Content-Type"].startswith("text/javascript")


def test_unknown_files_and_writes_are_refused(api):
    assert_problem(get(api, "/web/nothing.js"), 404)
    assert_problem(get(api, "/web/index.html"), 404)  # only at /
    assert_problem(get(api, "/web/../README.md"), 404)
    assert_problem(get(api, "/web/"), 404)
    r = http("POST", api.server.url + "/", body=b"{}",
             headers={"Content-Type": "application/json"})
    assert r.status == 405


def test_a_query_on_the_page_is_no_error(api):
    """A link to the app may carry a query (?from=mail): the page is
    served all the same, unlike the API's unknown parameters."""
    assert get(api, "/?from=mail").status == 200
