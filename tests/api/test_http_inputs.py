"""Bad inputs: every one is a 4xx RFC 9457
problem (400 malformed JSON, wrong types, unknown fields; 413 oversized;
422 well-formed but not allowed), naming the field when it is about one;
the server stays up and nothing is written."""
import pytest

from conftest import ASK, GRANT, assert_problem, raw_http

PROFILE = {"name": "Ana Lima", "email": "ana@example.org"}
TERMS = dict(GRANT, topics=["orders", "offers"])
MIB = 1024 * 1024


class World:
    """Ana (profile, token), Acme, their relationship, a message, and a
    pending proposal from Bolt; snapshot() is everything they could
    change."""

    def __init__(self, api):
        self.api = api
        self.ana = api.signup("ana", profile=PROFILE)
        self.acme = api.add_brand("Acme")
        self.bolt = api.add_brand("Bolt")
        self.rel = api.connect(self.ana, self.acme)
        self.prp = api.propose(self.ana, self.bolt)
        self.msg = self.acme.send(self.rel.id).json()["id"]

    def snapshot(self):
        return (self.ana.snapshot(),
                self.acme.ok("GET", "/v1/relationships"),
                self.bolt.ok("GET", f"/v1/proposals/{self.prp}"))

    def endpoints(self):
        """(caller, method, path) of every route that takes a body."""
        a, rel = self.ana, self.rel.id
        return [
            (a, "PUT", "/v1/me/profile"),
            (a, "PUT", "/v1/me/terms"),
            (a, "PUT", f"/v1/me/relationships/{rel}/terms"),
            (a, "POST", f"/v1/me/proposals/{self.prp}/accept"),
            (a, "PATCH", f"/v1/me/messages/{self.msg}"),
            (a, "PUT", "/v1/me/password"),
            (self.acme, "POST", "/v1/messages"),
            (self.acme, "POST", "/v1/campaigns"),
            (self.acme, "POST", "/v1/proposals"),
            (None, "POST", "/v1/tokens"),
            (None, "POST", "/v1/session"),
            (None, "POST", "/v1/persons"),
        ]

    def call(self, caller, method, path, body, headers=None):
        if caller is None:
            return self.api.call(method, path, body, headers=headers)
        return caller.call(method, path, body, headers=headers)

    def assert_refused(self, reply, status, field=None):
        """A problem, the server alive, and nothing written."""
        problem = assert_problem(reply, status, field)
        assert self.api.alive()
        return problem


@pytest.fixture
def world(api):
    w = World(api)
    w.before = w.snapshot()
    yield w
    assert w.api.alive()
    assert w.snapshot() == w.before, "a refused request changed something"


def nested(depth):
    return b'{"name":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


MALFORMED = {
    "truncated": b'{"name": ',
    "not JSON": b"name=Ana",
    "trailing garbage": b'{"name":"Ana"} {}',
    "single quotes": b"{'name':'Ana'}",
    "duplicate keys": b'{"name":"Ana","name":"Eve"}',
    "invalid UTF-8": b'{"name":"Ana \xff\xfe"}',
    "overlong UTF-8": b'{"name":"\xc0\xaf"}',
    "UTF-16 surrogate": b'{"name":"\xed\xa0\x80"}',
    "NUL escape in key": b'{"na\\u0000me":"Ana"}',
    "not an object": b'["name","Ana"]',
    "a string": b'"Ana"',
    "null": b"null",
    "empty": b"",
    "depth 100": nested(100),
    "depth 100000": nested(100000),
    "nested duplicate keys": b'{"channels":{"email":{"allowed":true,'
                             b'"allowed":false}}}',
    "NaN": b'{"name":NaN}',
}


def check_all(world, cases):
    """Runs (label, caller, method, path, body, status, field) cases on one
    world; each must be refused as said, with nothing written. Collects
    every case that is not, so one run reports them all."""
    wrong = []
    for label, caller, method, path, body, status, field in cases:
        r = world.call(caller, method, path, body)
        try:
            world.assert_refused(r, status, field)
        except AssertionError as e:
            wrong.append((label, method, path, str(e)[:300]))
            continue
        if world.snapshot() != world.before:
            wrong.append((label, method, path, "wrote something"))
            world.before = world.snapshot()
    assert not wrong, "\n".join(map(str, wrong))


# The body limit of the routes that need no credentials (HTTP_ANON_BODY):
# a stranger's larger body is 413 before it is read or parsed.
ANON_BODY_MAX = 8 * 1024


def test_malformed_bodies_are_400_everywhere(world):
    check_all(world, [
        (name, caller, method, path, body,
         413 if caller is None and len(body) > ANON_BODY_MAX else 400, None)
        for name, body in MALFORMED.items()
        for caller, method, path in world.endpoints()
        # No body at all accepts on the most private terms.
        if body or not path.endswith("/accept")])


def test_a_body_nested_within_the_limit_is_no_problem(world):
    r = world.ana.put("/v1/me/profile", nested(16))
    # Not a string: a wrong type (400) naming the field, not a depth error.
    problem = world.assert_refused(r, 400, "name")
    assert "deep" not in problem["detail"], problem


# (who, method, path template, body, status, field): {rel}, {prp}, {msg}
# are filled from the World. Each is well-formed JSON, wrong in one way.
CASES = [
    # Wrong types: 400.
    ("ana", "PUT", "/v1/me/profile", {"name": 5}, 400, "name"),
    ("ana", "PUT", "/v1/me/profile", {"name": None}, 400, "name"),
    ("ana", "PUT", "/v1/me/terms", {"time_zone": 5}, 400, "time_zone"),
    ("ana", "PUT", "/v1/me/terms", {"do_not_contact": "email"}, 400,
     "do_not_contact"),
    ("ana", "PUT", "/v1/me/terms", {"later_retention_days": "7"}, 400,
     "later_retention_days"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, topics=5), 400, "topics"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": "yes"}}), 400,
     "channels.email.allowed"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True, "cap": {
         "max": "2", "per": "day"}}}), 400, "channels.email.cap.max"),
    ("ana", "PATCH", "/v1/me/messages/{msg}", {"read": "yes"}, 400, "read"),
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": 5}, 400, "channel"),
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "email", "subject": 5}, 400,
     "subject"),
    ("acme", "POST", "/v1/messages", {"channel": "email"}, 400,
     "relationship"),
    ("acme", "POST", "/v1/proposals", dict(ASK, connect_code=5), 400,
     "connect_code"),
    ("acme", "POST", "/v1/proposals",
     dict(ASK, connect_code="AAAA-BBBB-CCCC", channels="email"), 400,
     "channels"),
    (None, "POST", "/v1/tokens", {"handle": 5, "password": "x" * 12}, 400,
     "handle"),
    # Unknown fields, at the top and nested: 400.
    ("ana", "PUT", "/v1/me/terms", {"colour": "red"}, 400, "colour"),
    ("ana", "PUT", "/v1/me/terms",
     {"caps": {"email": {"max": 1, "per": "day", "colour": 1}}}, 400,
     "caps.email.colour"),
    ("ana", "PUT", "/v1/me/terms",
     {"quiet_hours": {"from": "22:00", "to": "07:00", "tz": "UTC"}}, 400,
     "quiet_hours.tz"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, colour="red"), 400, "colour"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True, "colour": 1}}), 400,
     "channels.email.colour"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True, "cap": {
         "max": 1, "per": "day", "colour": 1}}}), 400,
     "channels.email.cap.colour"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"fax": {"allowed": True}}), 400, "channels.fax"),
    ("ana", "POST", "/v1/me/proposals/{prp}/accept", dict(GRANT, colour=1),
     400, "colour"),
    ("ana", "PATCH", "/v1/me/messages/{msg}", {"read": True, "colour": 1},
     400, "colour"),
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "email", "colour": 1}, 400,
     "colour"),
    ("acme", "POST", "/v1/campaigns",
     {"relationships": "all", "channel": "email", "colour": 1}, 400,
     "colour"),
    ("acme", "POST", "/v1/proposals",
     dict(ASK, connect_code="AAAA-BBBB-CCCC", colour=1), 400, "colour"),
    (None, "POST", "/v1/tokens",
     {"handle": "ana", "password": "x" * 12, "colour": 1}, 400, "colour"),
    # Well-formed values that are not allowed: 422.
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True, "cap": {
         "max": 101, "per_seconds": 3600}}}), 422, "channels.email.cap.max"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True, "cap": {
         "max": -1, "per": "day"}}}), 422, "channels.email.cap.max"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True, "cap": {
         "max": 1, "per": "fortnight"}}}), 422, "channels.email.cap.per"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, quiet_hours={"from": "22:00", "to": "22:00"}), 422,
     "quiet_hours.to"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, quiet_hours={"from": "24:30", "to": "07:00"}), 422,
     "quiet_hours.from"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, quiet_hours={"from": "22:00", "to": "07:00",
                              "days": ["someday"]}), 422,
     "quiet_hours.days[0]"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, exempt_topics=["news"]), 422, "exempt_topics[0]"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, agreement="EVERYTHING"), 422, "agreement"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, expires_at="next tuesday"), 422, "expires_at"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, folder="In/box"), 422, "folder"),
    ("ana", "PUT", "/v1/me/terms",
     {"quiet_hours": {"from": "07:00", "to": "07:00"}}, 422,
     "quiet_hours.to"),
    ("ana", "PUT", "/v1/me/terms",
     {"caps": {"email": {"max": 101, "per_seconds": 60}}}, 422,
     "caps.email.max"),
    ("ana", "PUT", "/v1/me/terms", {"time_zone": "Mars/Olympus_Mons"}, 422,
     "time_zone"),
    ("ana", "PUT", "/v1/me/terms", {"do_not_contact": ["fax"]}, 422,
     "do_not_contact[0]"),
    ("ana", "PUT", "/v1/me/terms", {"refusal": "shout"}, 422, "refusal"),
    # More than the proposal asked: 422 naming the field.
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, channels={"email": {"allowed": True},
                           "sms": {"allowed": True}}), 422, "channels.sms"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, topics=["orders", "news"]), 422, "topics[1]"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, topics="all"), 422, "topics"),
    ("ana", "PUT", "/v1/me/relationships/{rel}/terms",
     dict(TERMS, fields=["name", "phone"]), 422, "fields[1]"),
    ("ana", "POST", "/v1/me/proposals/{prp}/accept",
     dict(GRANT, fields=["birthday"]), 422, "fields[0]"),
    ("ana", "POST", "/v1/me/proposals/{prp}/accept",
     dict(GRANT, channels={"phone": {"allowed": True}}), 422,
     "channels.phone"),
    # Messages and proposals.
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "fax", "topic": "offers"}, 422,
     "channel"),
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "email", "topic": "no spaces"},
     422, "topic"),
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "email", "topic": "offers",
      "subject": "x" * 999}, 422, "subject"),
    ("acme", "POST", "/v1/campaigns",
     {"relationships": "all", "channel": "fax"}, 422, "channel"),
    ("acme", "POST", "/v1/campaigns",
     {"relationships": [], "channel": "email"}, 422, "relationships"),
    ("acme", "POST", "/v1/proposals",
     dict(ASK, connect_code="AAAA-BBBB-CCCC", channels=["fax"]), 422,
     "channels[0]"),
    ("acme", "POST", "/v1/proposals",
     dict(ASK, connect_code="AAAA-BBBB-CCCC", value=""), 422, "value"),
    (None, "POST", "/v1/persons", {"handle": "bob", "password": "short"},
     422, "password"),
    # A message needs a subject or a body.
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "email", "topic": "orders"}, 422,
     "subject"),
    ("acme", "POST", "/v1/messages",
     {"relationship": "{rel}", "channel": "email", "subject": "",
      "body": ""}, 422, "subject"),
    ("acme", "POST", "/v1/campaigns",
     {"relationships": "all", "channel": "email", "topic": "orders"}, 422,
     "subject"),
    # The profile's vocabulary and its shapes (core/field.h).
    ("ana", "PUT", "/v1/me/profile", {"email": "ana at example"}, 422,
     "email"),
    ("ana", "PUT", "/v1/me/profile", {"phone": "0151 1234567"}, 422,
     "phone"),
    ("ana", "PUT", "/v1/me/profile", {"birthday": "1990-02-30"}, 422,
     "birthday"),
    ("ana", "PUT", "/v1/me/profile", {"shoe_size": "39"}, 422,
     "shoe_size"),
    ("acme", "POST", "/v1/proposals",
     dict(ASK, connect_code="AAAA-BBBB-CCCC", fields=["name", "ssn"]), 422,
     "fields[1]"),
]


def fill(value, world):
    if isinstance(value, str):
        return (value.replace("{rel}", world.rel.id)
                .replace("{prp}", world.prp).replace("{msg}", world.msg))
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    return value


def test_bad_values(world):
    callers = {"ana": world.ana, "acme": world.acme, None: None}
    check_all(world, [
        (f"{field} {status}", callers[who], method, fill(path, world),
         fill(body, world), status, field)
        for who, method, path, body, status, field in CASES])


# --- sizes ----------------------------------------------------------------


def request_head(world, method, path, extra):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {world.api.server.address}",
             f"Authorization: Bearer {world.ana.credential}",
             "Content-Type: application/json", *extra, "", ""]
    return "\r\n".join(lines).encode()


def test_content_length_over_1_mib_is_413_at_once(world):
    """Refused from the header alone: no body is sent at all."""
    head = request_head(world, "PUT", "/v1/me/profile",
                        [f"Content-Length: {MIB + 1}"])
    r = raw_http(world.api.server.address, head)
    world.assert_refused(r, 413)


def test_a_body_over_1_mib_is_413(world):
    big = b'{"name":"' + b"a" * MIB + b'"}'
    head = request_head(world, "PUT", "/v1/me/profile",
                        [f"Content-Length: {len(big)}"])
    r = raw_http(world.api.server.address, [head, big])
    world.assert_refused(r, 413)


def test_a_body_of_exactly_1_mib_is_read(world):
    """The limit is "over 1 MiB": 1 MiB itself is read and judged (here:
    a profile value far too long, 422 naming it)."""
    pad = MIB - len(b'{"name":"Ana Lima","note":""}')
    body = b'{"name":"Ana Lima","note":"' + b"a" * pad + b'"}'
    assert len(body) == MIB
    world.assert_refused(world.ana.put("/v1/me/profile", body), 422, "note")


def test_a_chunked_body_over_1_mib_is_413_after_draining(world):
    head = request_head(world, "PUT", "/v1/me/profile",
                        ["Transfer-Encoding: chunked"])
    piece = b"a" * 65536
    chunks = [head, b'9\r\n{"name":"\r\n']
    chunks += [b"%x\r\n%s\r\n" % (len(piece), piece)] * (MIB // 65536 + 1)
    chunks += [b'2\r\n"}\r\n', b"0\r\n\r\n"]
    r = raw_http(world.api.server.address, chunks)
    world.assert_refused(r, 413)


def test_a_chunked_body_within_the_limit_is_read(world):
    body = b'{"name":"Ana Lima","email":"ana@example.org"}'
    head = request_head(world, "PUT", "/v1/me/profile",
                        ["Transfer-Encoding: chunked"])
    r = raw_http(world.api.server.address, [
        head, b"%x\r\n%s\r\n" % (10, body[:10]),
        b"%x\r\n%s\r\n" % (len(body) - 10, body[10:]), b"0\r\n\r\n"])
    assert r.status == 200, r
    assert r.json() == PROFILE
    world.before = world.snapshot()  # a new ledger entry, as it should


def test_a_bad_content_length_is_400(world):
    head = request_head(world, "PUT", "/v1/me/profile",
                        ["Content-Length: lots"])
    r = raw_http(world.api.server.address, head + b"{}")
    assert r.status == 400, r
    assert world.api.alive()
