"""The authorization matrix: every route of the
route table as every role, with its own and others' ids.

- no credentials: 401 with WWW-Authenticate; a revoked token: 401;
- a brand key on a person's route, a person's token or cookie on a
  brand's route: 403;
- another brand's or person's ids, malformed ids, made-up ids: 404, and
  nothing recorded for anyone.

The routes come from src/http/router.c, so a new route joins the 401/403
matrix by itself, and a new route with an {id} must get a foreign-id case
below (test_every_id_route_has_a_foreign_case says which)."""
import re

import pytest

from conftest import GRANT, REPO, Api, Ctx, Server, assert_problem

ROUTER = REPO / "src" / "http" / "router.c"
ROUTE_RE = re.compile(
    r'\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*"([^"]+)",\s*WHO_(\w+)')
TERMS = dict(GRANT, topics=["orders", "offers"])


def routes():
    found = ROUTE_RE.findall(ROUTER.read_text())
    assert len(found) >= 20, "cannot read the route table of router.c"
    return [(m, p, who.lower()) for m, p, who in found]


ROUTES = routes()
GUARDED = [r for r in ROUTES if r[2] != "anyone"]


def route_id(route):
    return f"{route[0]} {route[1]}"


# An {id} of the right type for each pattern (its value does not matter
# to the checks made before the handler runs).
PREFIX = [("/tokens/", "tok_"), ("/sessions/", "tok_"), ("/proposals/", "prp_"),
          ("/relationships/", "rel_"), ("/messages/", "msg_"),
          ("/campaigns/", "cmp_"), ("/offers/", "off_"),
          ("/intents/", "int_"), ("/feedback/", "fbk_"),
          ("/credits/", "crd_"), ("/brands/", "brd_")]


def fill(pattern, value=None):
    def one(m):
        if value is not None:
            return value
        before = pattern[:m.start()]
        for seg, prefix in PREFIX:
            if before.endswith(seg):
                return prefix + "k3x9q2r7m4vt8wzp"
        return "x"
    return re.sub(r"\{id\}", one, pattern)


def body_for(method):
    return b"{}" if method in ("POST", "PUT", "PATCH") else None


# --- two worlds that must not touch -------------------------------------


class Worlds:
    """Ana with Acme, Bob with Bolt: a relationship, a message and a
    pending proposal on each side; Bob's messages land in his own folder
    "bobs"."""

    def __init__(self, api):
        self.api = api
        self.ana = api.signup("ana", profile={"name": "Ana Lima"})
        self.bob = api.signup("bob", profile={"name": "Bob Stone"})
        self.acme = api.add_brand("Acme")
        self.bolt = api.add_brand("Bolt")
        self.ana_rel = api.connect(self.ana, self.acme)
        self.bob_rel = api.connect(self.bob, self.bolt,
                                   grant=dict(GRANT, folder="bobs"))
        self.ana_prp = api.propose(self.ana, self.bolt)  # pending
        self.bob_prp = api.propose(self.bob, self.acme)  # pending
        self.acme.ok("POST", "/v1/messages", {
            "relationship": self.ana_rel.id, "channel": "email",
            "topic": "offers", "subject": "Hi Ana"}, status=201)
        self.bolt.ok("POST", "/v1/messages", {
            "relationship": self.bob_rel.id, "channel": "email",
            "topic": "offers", "subject": "Hi Bob"}, status=201)
        # The brands' daily first reads, so a later read would only count.
        self.acme.ok("GET", f"/v1/relationships/{self.ana_rel.id}")
        self.bolt.ok("GET", f"/v1/relationships/{self.bob_rel.id}")

    def snapshot(self):
        return (self.ana.snapshot(), self.bob.snapshot(),
                self.acme.ok("GET", "/v1/relationships"),
                self.bolt.ok("GET", "/v1/relationships"),
                self.acme.ok("GET", f"/v1/proposals/{self.bob_prp}"),
                self.bolt.ok("GET", f"/v1/proposals/{self.ana_prp}"))


@pytest.fixture
def worlds(api):
    return Worlds(api)


@pytest.fixture(scope="module")
def stranger_ids(tmp_path_factory):
    """Well-formed ids that exist in another store only: made up, as far
    as any test's own server can tell."""
    ctx = Ctx(tmp_path_factory.mktemp("strangers"))
    started = []

    def start(*extra):
        started.append(Server(ctx, *extra))
        return started[-1]

    api = Api(start, ctx)
    try:
        w = Worlds(api)
        ids = {"tok_": w.ana.token_id, "prp_": w.ana_prp,
               "rel_": w.ana_rel.id, "msg_": w.ana.messages()[0]["id"],
               "per_": w.ana.id, "brd_": w.acme.id}
        api.stop()
    finally:
        for s in started:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
    for s in started:
        s.check_sanitizers()
    return ids


# --- 401 and 403 ----------------------------------------------------------


@pytest.mark.parametrize("route", GUARDED, ids=route_id)
def test_no_credentials_is_401(api, route):
    method, pattern, _ = route
    r = api.call(method, fill(pattern), body_for(method))
    assert_problem(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), \
        dict(r.headers)


@pytest.mark.parametrize("credential", [
    "Bearer nonsense", "Bearer ", "Basic YW5hOnB3", "bearer",
    "Bearer cmrk_k3x9q2r7m4vt8wzp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "Bearer cmrt_k3x9q2r7m4vt8wzp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
])
def test_bad_credentials_are_401(api, credential):
    for path in ("/v1/me/profile", "/v1/relationships"):
        r = api.call("GET", path, headers={"Authorization": credential})
        assert_problem(r, 401)
        assert "WWW-Authenticate" in r.headers


def test_wrong_role_is_403(worlds):
    """A brand key on every person route, a person's token and cookie on
    every brand route."""
    api = worlds.api
    r = api.call("POST", "/v1/session", {"handle": "ana",
                                         "password": worlds.ana.password})
    assert r.status == 204, r
    cookie = r.headers["Set-Cookie"].split(";")[0]
    before = worlds.snapshot()
    for method, pattern, who in GUARDED:
        path, body = fill(pattern), body_for(method)
        if who == "person":
            r = worlds.acme.call(method, path, body)
            assert_problem(r, 403)
        else:
            r = worlds.ana.call(method, path, body)
            assert_problem(r, 403)
            r = api.call(method, path, body, headers={
                "Cookie": cookie, "X-CMR-CSRF": "1"})
            assert_problem(r, 403)
    assert worlds.snapshot() == before


def test_revoked_token_is_401(api):
    ana = api.signup("ana")
    second = api.tokens("ana", ana.password).json()
    assert ana.delete(f"/v1/tokens/{second['id']}").status == 204
    r = api.call("GET", "/v1/me/profile",
                 headers={"Authorization": "Bearer " + second["token"]})
    assert_problem(r, 401)
    assert "WWW-Authenticate" in r.headers
    # The token that revoked it still works; revoking itself ends it.
    assert ana.get("/v1/me/profile").status == 200
    assert ana.delete(f"/v1/tokens/{ana.token_id}").status == 204
    assert_problem(ana.get("/v1/me/profile"), 401)


# --- foreign ids: 404 and nothing recorded ------------------------------


def bolt_campaign(w):
    """Bolt's campaign to Bob (made once per Worlds)."""
    if not hasattr(w, "bolt_cmp"):
        w.bolt_cmp = w.bolt.ok("POST", "/v1/campaigns", {
            "relationships": [w.bob_rel.id], "channel": "email",
            "topic": "offers", "subject": "Hi all"}, status=201)["id"]
    return w.bolt_cmp

# (method, pattern) -> (caller, path, body) as the *other* side, from
# Worlds: Ana and Acme reach for Bob's and Bolt's things.
FOREIGN = {
    ("DELETE", "/v1/tokens/{id}"):
        lambda w: (w.ana, f"/v1/tokens/{w.bob.token_id}", None),
    ("DELETE", "/v1/me/sessions/{id}"):
        lambda w: (w.ana, f"/v1/me/sessions/{w.bob.token_id}", None),
    ("GET", "/v1/me/proposals/{id}"):
        lambda w: (w.ana, f"/v1/me/proposals/{w.bob_prp}", None),
    ("POST", "/v1/me/proposals/{id}/accept"):
        lambda w: (w.ana, f"/v1/me/proposals/{w.bob_prp}/accept", GRANT),
    ("POST", "/v1/me/proposals/{id}/decline"):
        lambda w: (w.ana, f"/v1/me/proposals/{w.bob_prp}/decline", None),
    ("GET", "/v1/me/relationships/{id}"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}", None),
    ("GET", "/v1/me/relationships/{id}/terms"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/terms",
                   None),
    ("PUT", "/v1/me/relationships/{id}/terms"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/terms",
                   TERMS),
    ("PATCH", "/v1/me/relationships/{id}/terms"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/terms",
                   {"topics": ["orders"]}),
    ("POST", "/v1/me/relationships/{id}/mute"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/mute", None),
    ("POST", "/v1/me/relationships/{id}/unmute"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/unmute",
                   None),
    ("POST", "/v1/me/relationships/{id}/end"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/end", None),
    ("GET", "/v1/proposals/{id}"):
        lambda w: (w.bolt, f"/v1/proposals/{w.bob_prp}", None),
    ("GET", "/v1/relationships/{id}"):
        lambda w: (w.acme, f"/v1/relationships/{w.bob_rel.id}", None),
    ("GET", "/v1/me/relationships/{id}/receipts"):
        lambda w: (w.ana, f"/v1/me/relationships/{w.bob_rel.id}/receipts",
                   None),
    ("GET", "/v1/me/messages/{id}"):
        lambda w: (w.ana, f"/v1/me/messages/{w.bob.messages()[0]['id']}",
                   None),
    ("GET", "/v1/me/messages/{id}/html"):
        lambda w: (w.ana,
                   f"/v1/me/messages/{w.bob.messages()[0]['id']}/html",
                   None),
    ("PATCH", "/v1/me/messages/{id}"):
        lambda w: (w.ana, f"/v1/me/messages/{w.bob.messages()[0]['id']}",
                   {"read": True, "folder": "later"}),
    ("DELETE", "/v1/me/messages/{id}"):
        lambda w: (w.ana, f"/v1/me/messages/{w.bob.messages()[0]['id']}",
                   None),
    ("POST", "/v1/me/messages/{id}/reply"):
        lambda w: (w.ana,
                   f"/v1/me/messages/{w.bob.messages()[0]['id']}/reply",
                   {"body": "hi"}),
    ("POST", "/v1/me/messages/{id}/release"):
        lambda w: (w.ana,
                   f"/v1/me/messages/{w.bob.messages()[0]['id']}/release",
                   None),
    ("POST", "/v1/me/messages/{id}/discard"):
        lambda w: (w.ana,
                   f"/v1/me/messages/{w.bob.messages()[0]['id']}/discard",
                   None),
    # A folder is named, not an id: Bob's own folder is unknown to Ana.
    ("POST", "/v1/me/folders/{id}/empty"):
        lambda w: (w.ana, "/v1/me/folders/bobs/empty", None),
    # Routes with the id in the query or the body.
    ("GET", "/v1/me/messages?relationship"):
        lambda w: (w.ana, f"/v1/me/messages?relationship={w.bob_rel.id}",
                   None),
    ("GET", "/v1/messages/{id}"):
        lambda w: (w.acme, f"/v1/messages/{w.bob.messages()[0]['id']}",
                   None),
    ("GET", "/v1/campaigns/{id}"):
        lambda w: (w.acme, f"/v1/campaigns/{bolt_campaign(w)}", None),
    ("GET", "/v1/campaigns/{id}/recipients"):
        lambda w: (w.acme, f"/v1/campaigns/{bolt_campaign(w)}/recipients",
                   None),
    ("POST", "/v1/messages"):
        lambda w: (w.acme, "/v1/messages", {
            "relationship": w.bob_rel.id, "channel": "email",
            "topic": "offers", "subject": "Hi"}),
    ("POST", "/v1/campaigns"):
        lambda w: (w.acme, "/v1/campaigns", {
            "relationships": [w.ana_rel.id, w.bob_rel.id],
            "channel": "email", "topic": "offers", "subject": "Hi"}),
}


def test_every_id_route_has_a_foreign_case():
    missing = [route_id(r) for r in GUARDED
               if "{id}" in r[1] and (r[0], r[1]) not in FOREIGN]
    assert not missing, f"add these routes to FOREIGN: {missing}"


def test_foreign_ids_are_404_and_nothing_recorded(worlds):
    """Each case in turn on one pair of worlds: any change a case makes
    shows in the snapshot taken right after it."""
    wrong = []
    for case, make in FOREIGN.items():
        caller, path, body = make(worlds)
        before = worlds.snapshot()
        r = caller.call(case[0], path, body)
        if r.status != 404:
            wrong.append((case, r.status, r.body[:200]))
            continue
        assert_problem(r, 404)
        if worlds.snapshot() != before:
            wrong.append((case, "recorded something"))
    assert not wrong, wrong
    # What was reached for still works for its owners.
    assert worlds.bob.get("/v1/me/profile").status == 200
    assert worlds.bolt.get(f"/v1/relationships/{worlds.bob_rel.id}"
                           ).status == 200


def test_lists_hold_only_ones_own(worlds):
    w = worlds
    assert [x["id"] for x in w.acme.ok("GET", "/v1/relationships")[
        "items"]] == [w.ana_rel.id]
    assert [x["id"] for x in w.ana.all("/v1/me/relationships")] == [
        w.ana_rel.id]
    assert sorted(x["id"] for x in w.ana.all("/v1/me/proposals")) == \
        sorted([w.ana_rel.proposal, w.ana_prp])
    assert {m["relationship"] for m in w.ana.messages()} == {w.ana_rel.id}
    text = str(w.ana.ledger())
    for other in (w.bob_rel.id, w.bob_prp, w.bob.id):
        assert other not in text


# --- malformed and made-up ids --------------------------------------------

ID_ROUTES = [r for r in GUARDED
             if "{id}" in r[1] and "/folders/" not in r[1]]
BODIES = {"PUT": TERMS, "PATCH": {"read": True}}
BAD_IDS = ["nope", "rel_", "rel_!!!!!!!!!!!!!!!!", "rel_k3x9q2r7m4vt8wzq",
           "REL_K3X9Q2R7M4VT8WZP", "rel_k3x9q2r7m4vt8wzp0", "%00", "x" * 127,
           "..%2f..%2fhealthz"]


def id_prefix(pattern):
    """The type prefix of the ids a pattern's {id} takes."""
    before = pattern[:pattern.index("{id}")]
    return next(prefix for seg, prefix in PREFIX if before.endswith(seg))


def assert_not_an_id(r, what):
    body = assert_problem(r, 400)
    assert body["type"] == "/problems/invalid-id", body
    assert f"is not a {what} id" in body["detail"], body


def test_malformed_ids_are_400_and_made_up_ones_404(worlds, stranger_ids):
    """A malformed id (or one of another type) says so; a well-formed id
    that is unknown, or another's, is a 404 like any other."""
    before = worlds.snapshot()
    wrong = []
    for method, pattern, who in ID_ROUTES:
        caller = worlds.ana if who == "person" else worlds.acme
        body = BODIES.get(method,
                          GRANT if pattern.endswith("/accept")
                          else {"body": "hi"} if pattern.endswith("/reply")
                          else None)
        prefix = id_prefix(pattern)
        for value in BAD_IDS + list(stranger_ids.values()):
            path = fill(pattern, value)
            r = caller.call(method, path, body)
            made_up = value == stranger_ids.get(prefix)
            # A decoded "/" or NUL takes the path to no route at all.
            expected = 404 if made_up or "%" in value else 400
            if r.status != expected:
                wrong.append((method, path, r.status, r.body[:200]))
            elif expected == 404:
                assert r.json()["type"] == "/problems/not-found", r.body
            else:
                assert r.json()["type"] == "/problems/invalid-id", r.body
                assert " is not a" in r.json()["detail"], r.body
    assert not wrong, wrong
    assert worlds.snapshot() == before


def test_unknown_folders_are_404_and_emptying_is_ones_own(worlds):
    w = worlds
    before = w.snapshot()
    for name in ("nope", "bobs", "BOBS", "x" * 64, "%2e%2e"):
        assert_problem(w.ana.post(f"/v1/me/folders/{name}/empty"), 404)
    assert w.snapshot() == before
    bob_before = w.bob.snapshot()
    r = w.ana.post("/v1/me/folders/inbox/empty")
    assert r.status == 200, r
    assert w.ana.messages("folder=inbox") == []
    assert w.bob.snapshot() == bob_before


def test_made_up_ids_in_bodies_are_404(worlds, stranger_ids):
    """A well-formed unknown id in a body or query is a 404; a malformed
    one (or one of another type) a 400 that says so."""
    before = worlds.snapshot()
    for rel in ("nope", stranger_ids["rel_"], stranger_ids["prp_"]):
        made_up = rel.startswith("rel_")
        r = worlds.acme.post("/v1/messages", {
            "relationship": rel, "channel": "email", "topic": "offers",
            "subject": "Hi"})
        if made_up:
            assert_problem(r, 404)
        else:
            assert_not_an_id(r, "relationship")
            assert_problem(r, 400, "relationship")
        r = worlds.acme.post("/v1/campaigns", {
            "relationships": [rel], "channel": "email", "topic": "offers",
            "subject": "Hi"})
        if made_up:
            assert_problem(r, 404)
        else:
            assert_not_an_id(r, "relationship")
            assert_problem(r, 400, "relationships")
        r = worlds.ana.get(f"/v1/me/messages?relationship={rel}")
        if made_up:
            assert_problem(r, 404)
        else:
            assert_not_an_id(r, "relationship")
    assert worlds.snapshot() == before
