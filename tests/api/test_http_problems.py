"""Problems and query strings: every problem's `type` is a stable URI of
its kind, one of those src/http/openapi.json lists (conftest's
assert_problem checks that for every problem any test provokes); a
query parameter a route does not read is a 400, on every route, like an
unknown body field; a malformed id is a 400 that says so, a well-formed
unknown one a 404."""
import json

from conftest import PROBLEM_TYPES, Caller, assert_problem, http, raw_http
from test_http_authz import ROUTES, fill


def kind(reply, status, type_, field=None):
    body = assert_problem(reply, status, field)
    assert body["type"] == type_, body
    return body


def test_the_served_document_lists_the_kinds(api):
    doc = json.loads(http("GET", api.url + "/v1/openapi.json").body)
    kinds = doc["components"]["schemas"]["Problem"]["properties"]["type"]
    served = {k["const"] for k in kinds["oneOf"]}
    assert served == set(PROBLEM_TYPES)
    assert all(t.startswith("/problems/") for t in served), served


def test_unknown_query_parameters_are_400_on_every_route(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    # The alias-creation routes, by an alias token (Authorization: Bearer).
    alias = Caller(api)
    alias.credential = ana.ok("POST", "/v1/me/tokens", {
        "scope": "aliases", "name": "Bitwarden"}, status=201)["token"]
    callers = {"person": ana, "brand": acme, "anyone": api,
               "aliases": alias}
    wrong = []
    for method, pattern, who in ROUTES:
        if pattern == "/" or pattern.startswith("/web/"):
            continue  # the web app's files: a link may carry any query
        r = callers[who].call(method, fill(pattern) + "?bogus=1")
        if r.status != 400:
            wrong.append((method, pattern, r.status, r.body[:200]))
            continue
        body = kind(r, 400, "/problems/invalid-query", "bogus")
        assert 'unknown query parameter "bogus"' in body["detail"], body
    assert not wrong, wrong


def test_the_query_parameters_a_route_reads(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert ana.get("/v1/me/messages?folder=inbox&limit=5").status == 200
    assert ana.get(f"/v1/me/messages?relationship={rel.id}"
                   "&decision=deliver").status == 200
    assert ana.get("/v1/me/relationships?limit=1").status == 200
    assert ana.get(f"/v1/me/relationships/{rel.id}/receipts?format=dpv"
                   ).status == 200
    assert acme.get("/v1/relationships?limit=1").status == 200
    # One the route does not read, next to ones it does.
    kind(ana.get("/v1/me/messages?folder=inbox&folders=x"), 400,
         "/problems/invalid-query", "folders")
    kind(acme.get(f"/v1/relationships/{rel.id}?format=dpv"), 400,
         "/problems/invalid-query", "format")
    # Given twice: which one would count is nobody's guess.
    body = kind(ana.get("/v1/me/messages?limit=1&limit=2"), 400,
                "/problems/invalid-query", "limit")
    assert "twice" in body["detail"], body
    # A known parameter with a bad value.
    kind(ana.get("/v1/me/messages?limit=0"), 400,
         "/problems/invalid-query", "limit")
    kind(ana.get("/v1/me/messages?decision=maybe"), 400,
         "/problems/invalid-query", "decision")
    kind(ana.get("/v1/me/ledger?after=x"), 400, "/problems/invalid-query",
         "after")


def test_a_malformed_id_says_so(api):
    ana = api.signup("ana")
    bob = api.signup("bob")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    body = kind(ana.get("/v1/me/relationships/rel_nope"), 400,
                "/problems/invalid-id")
    assert body["detail"] == '"rel_nope" is not a relationship id', body
    body = kind(ana.get(f"/v1/me/relationships/{acme.id}"), 400,
                "/problems/invalid-id")
    assert "is not a relationship id" in body["detail"], body
    body = kind(acme.post("/v1/messages", {"relationship": "rel_x",
                                           "channel": "email"}),
                400, "/problems/invalid-id", "relationship")
    assert "is not a relationship id" in body["detail"], body
    kind(ana.get("/v1/me/messages?relationship=rel_x"), 400,
         "/problems/invalid-id", "relationship")
    # Another person's well-formed id is a 404, as is one nobody has.
    kind(bob.get(f"/v1/me/relationships/{rel.id}"), 404,
         "/problems/not-found")
    kind(bob.get(f"/v1/me/messages?relationship={rel.id}"), 404,
         "/problems/not-found")


def test_each_kind_of_problem(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    kind(api.call("POST", "/v1/tokens", b"{"), 400, "/problems/invalid-body")
    kind(api.call("POST", "/v1/tokens", {"handle": "ana", "x": 1}), 400,
         "/problems/invalid-body", "x")
    kind(acme.call("POST", "/v1/messages", {},
                   headers={"Idempotency-Key": ""}), 400,
         "/problems/invalid-header", "Idempotency-Key")
    kind(api.call("GET", "/v1/me/profile"), 401, "/problems/unauthenticated")
    kind(api.tokens("ana", "wrong-password-here"), 401,
         "/problems/unauthenticated")
    kind(acme.get("/v1/me/profile"), 403, "/problems/forbidden")
    kind(ana.post("/v1/me/export", {"password": "wrong-password-here"}), 403,
         "/problems/wrong-password", "password")
    kind(ana.get("/v1/nowhere"), 404, "/problems/not-found")
    kind(ana.call("PATCH", "/v1/me/ledger"), 405,
         "/problems/method-not-allowed")
    kind(api.call("POST", "/v1/persons",
                  {"handle": "ana", "password": "another-long-one"}), 409,
         "/problems/conflict", "handle")
    # Refused from Content-Length, before the body is read (raw_http
    # bears the server closing while it still sends).
    big = 1024 * 1024 + 1
    kind(raw_http(api.server.address,
                  b"POST /v1/tokens HTTP/1.1\r\nHost: cmr\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % big + b"x" * big),
         413, "/problems/too-large")
    kind(api.call("POST", "/v1/persons",
                  {"handle": "bob", "password": "short"}), 422,
         "/problems/invalid-value", "password")
