"""The Postfix policy door (check_policy_service): at RCPT, the gate's
recipient stage rejects an unknown, ended, expired or not-permitted alias
with the uniform reply, and says DUNNO for everything else; refusals are
recorded with the unverified envelope sender; silent persons get DUNNO.
Spoken here as Postfix speaks it: attributes, an empty line, many
requests on one connection."""
import datetime
import re
import socket
import time

import pytest


class Policy:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def answer(self):
        while b"\n\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        ans, self.buf = self.buf.split(b"\n\n", 1)
        assert ans.startswith(b"action="), ans
        return ans.decode()[len("action="):]

    @staticmethod
    def request(recipient, sender="news@acme.example", state="RCPT", **extra):
        attrs = {"request": "smtpd_access_policy", "protocol_state": state,
                 "protocol_name": "ESMTP", "helo_name": "mx.acme.example",
                 "queue_id": "", "sender": sender, "recipient": recipient,
                 "recipient_count": "0", "client_address": "192.0.2.7",
                 "client_name": "mx.acme.example",
                 "reverse_client_name": "mx.acme.example",
                 "instance": "123.4567.0", **extra}
        return "".join(f"{k}={v}\n" for k, v in attrs.items()) + "\n"

    def ask(self, recipient, **kw):
        self.send(self.request(recipient, **kw))
        return self.answer()

    def close(self):
        self.sock.close()


def uniform(alias):
    """What the policy answers for any refused alias (Postfix writes
    "<alias>: Recipient address rejected: " before it)."""
    return "550 5.1.1 recipient not accepted"


@pytest.fixture
def policy(make_api):
    api = make_api("--policy", "127.0.0.1:0")
    m = re.search(r"policy: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    port = int(m.group(1))
    client = Policy(port)
    yield api, ana, acme, rel, client, port
    client.close()


def test_dunno_for_a_good_alias_and_nothing_recorded(policy):
    api, ana, acme, rel, client, _ = policy
    assert client.ask(rel.alias) == "DUNNO"
    assert client.ask(rel.alias.upper()) == "DUNNO"
    assert ana.messages() == []


def test_unknown_alias_rejected_with_the_uniform_reply(policy):
    api, ana, acme, rel, client, _ = policy
    alias = "nobody.0000000000000000@relay.localhost"
    assert client.ask(alias) == uniform(alias)
    assert ana.messages() == []


def test_ended_alias_rejected_and_recorded_with_the_envelope_sender(policy):
    api, ana, acme, rel, client, _ = policy
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    assert client.ask(rel.alias, sender="bulk@elsewhere.example") == \
        uniform(rel.alias)
    got = ana.messages("decision=refuse")
    assert [(m["reason"], m.get("sender"), m["sender_verified"])
            for m in got] == [
        ("relationship_ended", "bulk@elsewhere.example", False)]
    # The brand's view of its messages does not learn of it either way:
    # what it sent over HTTP is all it sees.


def test_not_permitted_and_do_not_contact(policy):
    api, ana, acme, rel, client, _ = policy
    beta = api.add_brand("Beta", "beta.example")
    sms_only = api.connect(ana, beta, ask={"value": "v", "channels": ["sms"],
                                           "topics": [], "fields": []},
                           grant={"channels": {"sms": {"allowed": True}}})
    assert client.ask(sms_only.alias) == uniform(sms_only.alias)
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": ["email"]})
    assert client.ask(rel.alias) == uniform(rel.alias)
    reasons = sorted(m["reason"] for m in ana.messages("decision=refuse"))
    assert reasons == ["channel_do_not_contact", "channel_not_permitted"]
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": []})
    assert client.ask(rel.alias) == "DUNNO"


def test_consent_expired(policy):
    api, ana, acme, rel, client, _ = policy
    beta = api.add_brand("Beta", "beta.example")
    expires = int(time.time()) + 2
    at = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
    short = api.connect(ana, beta, ask={"value": "v", "channels": ["email"],
                                        "topics": [], "fields": []},
                        grant={"channels": {"email": {"allowed": True}},
                               "expires_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert client.ask(short.alias) == "DUNNO"
    time.sleep(max(0, expires - time.time()) + 0.2)
    assert client.ask(short.alias) == uniform(short.alias)
    assert [m["reason"] for m in ana.messages("decision=refuse")] == [
        "consent_expired"]


def test_silent_person_gets_dunno_and_nothing_recorded_at_rcpt(policy):
    api, ana, acme, rel, client, _ = policy
    ana.ok("PUT", "/v1/me/terms", {"refusal": "silent"})
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    assert client.ask(rel.alias) == "DUNNO"
    assert ana.messages() == []


def test_outside_the_alias_domain_and_other_stages_are_dunno(policy):
    api, ana, acme, rel, client, _ = policy
    assert client.ask("someone@other.example") == "DUNNO"
    unknown = "nobody.0000000000000000@relay.localhost"
    assert client.ask(unknown, state="DATA") == "DUNNO"
    assert client.ask(unknown, state="END-OF-MESSAGE") == "DUNNO"
    assert client.ask(unknown, request="junk_policy") == "DUNNO"


def test_many_requests_on_one_connection_pipelined(policy):
    api, ana, acme, rel, client, _ = policy
    unknown = "nobody.0000000000000000@relay.localhost"
    reqs = [rel.alias if i % 2 else unknown for i in range(200)]
    client.send("".join(Policy.request(r) for r in reqs))
    answers = [client.answer() for _ in reqs]
    assert answers == ["DUNNO" if i % 2 else uniform(unknown)
                       for i in range(200)]


@pytest.mark.parametrize("bad,why", [
    (b"request=smtpd_access_policy\nnot an attribute\n\n", "name=value"),
    (b"request=smtpd_access_policy\nrecipient=" + b"a" * 5000 + b"\n\n",
     "too long"),
    (b"".join(b"x%d=y\n" % i for i in range(150)) + b"\n", "too many"),
    (b"recipient=" + b"a" * 400 + b"@relay.localhost\n\n", "too long"),
    (b"\n", "empty"),
])
def test_malformed_requests_are_deferred_and_the_door_stays_up(policy, bad,
                                                                why):
    api, ana, acme, rel, client, port = policy
    client.send(bad)
    ans = client.answer()
    assert ans.startswith("DEFER_IF_PERMIT 4.5.2 malformed policy request"), ans
    assert why in ans
    assert client.sock.recv(10) == b""  # closed after the answer
    again = Policy(port)
    assert again.ask(rel.alias) == "DUNNO"
    again.close()
    assert ana.messages() == []


def test_a_client_vanishing_mid_request_records_nothing(policy):
    api, ana, acme, rel, client, port = policy
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    client.send(Policy.request(rel.alias)[:-30])
    client.close()
    again = Policy(port)
    assert again.ask("someone@other.example") == "DUNNO"
    again.close()
    assert ana.messages() == []


def test_cmrs_bounce_address_is_dunno(policy):
    api, ana, acme, rel, client, _ = policy
    assert client.ask("cmr-bounces@relay.localhost", sender="") == "DUNNO"


def test_a_cached_pass_follows_every_change(policy):
    """Passes are answered from a cache by alias; any change of state,
    terms or global terms is seen by the next request."""
    api, ana, acme, rel, client, _ = policy
    assert client.ask(rel.alias) == client.ask(rel.alias) == "DUNNO"
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": ["email"]})
    assert client.ask(rel.alias) == uniform(rel.alias)
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": []})
    assert client.ask(rel.alias) == "DUNNO"
    assert rel.put_terms({"channels": {"sms": {"allowed": False}},
                          "topics": ["orders"]}).status == 200
    assert client.ask(rel.alias) == uniform(rel.alias)
    assert rel.put_terms({"channels": {"email": {"allowed": True}},
                          "topics": ["orders"]}).status == 200
    assert client.ask(rel.alias) == "DUNNO"
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/mute")
    assert client.ask(rel.alias) == "DUNNO"  # muted mail goes to Later
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    assert client.ask(rel.alias) == uniform(rel.alias)
    reasons = [m["reason"] for m in ana.messages("decision=refuse")]
    assert sorted(reasons) == ["channel_do_not_contact",
                               "channel_not_permitted", "relationship_ended"]


def test_a_postfix_at_defaults_gets_every_policy_connection(policy):
    """Postfix runs up to 100 smtpd processes at its defaults, each with
    a policy connection of its own: 101 at once are all answered."""
    api, ana, acme, rel, client, port = policy
    others = [Policy(port) for _ in range(100)]
    try:
        for c in others:
            c.send(Policy.request(rel.alias))
        assert [c.answer() for c in others] == ["DUNNO"] * 100
        assert client.ask(rel.alias) == "DUNNO"
    finally:
        for c in others:
            c.close()


def test_policy_conns_is_a_setting(make_api):
    api = make_api("--policy", "127.0.0.1:0", "--policy-conns", "2")
    port = int(re.search(r"policy: listening on \S+:(\d+)",
                         api.server.log()).group(1))
    held = [Policy(port), Policy(port)]
    try:
        third = Policy(port)
        assert third.answer() == "DEFER_IF_PERMIT 4.3.2 too many connections"
        third.close()
    finally:
        for c in held:
            c.close()
