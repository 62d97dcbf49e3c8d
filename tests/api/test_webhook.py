"""The webhook adapter: each delivered message is POSTed to the person's
HTTPS URL, signed with HMAC-SHA256 under a secret shown once; failures are
retried with backoff (at least once, the same Idempotency-Key); and
outbound URLs obey src/base/outbound.h: https only, no redirects followed, no
loopback, private or link-local targets unless --allow-private-targets."""
import hashlib
import hmac
import json
import time

import pytest

from conftest import ASK, PASSWORD, assert_problem
from receiver import receiver, tls_cert  # noqa: F401
from test_delivery import wait_for


def hook(person, url):
    return person.put("/v1/me/delivery", {"password": PASSWORD,
                                          "webhook": {"url": url}})


def verify(secret, headers, body):
    sig = dict(p.strip().split("=", 1)
               for p in headers["CMR-Signature"].split(","))
    mac = hmac.new(secret.encode(), sig["t"].encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, sig["v1"]) and \
        abs(int(sig["t"]) - time.time()) < 60


@pytest.fixture
def world(make_api, receiver):
    api = make_api("--allow-private-targets")
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask=ASK,
                      grant={"channels": {"email": {"allowed": True}},
                             "topic_folders": {"offers": "later"}})
    return api, ana, acme, rel, receiver


def test_signed_post_of_each_delivery(world):
    api, ana, acme, rel, rx = world
    r = hook(ana, rx.url())
    assert r.status == 200, r
    got = r.json()
    secret = got["webhook"]["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    # Shown once: not in GET, and the ledger says only that it changed.
    view = ana.ok("GET", "/v1/me/delivery")
    assert view["webhook"] == {"url": rx.url()}
    assert secret not in json.dumps(ana.ledger())
    assert acme.send(rel.id, topic="offers", subject="Grüße",
                     body="Hello ✓").status == 201
    (method, path, headers, body), = rx.wait(1)
    assert (method, path) == ("POST", "/hook")
    assert headers["Content-Type"] == "application/json"
    assert verify(secret, headers, body)
    assert not verify("whsec_other", headers, body)
    msg = json.loads(body)
    mine = ana.messages("folder=later")[0]
    assert msg["id"] == mine["id"] == headers["Idempotency-Key"]
    assert (msg["relationship"], msg["brand"]["name"], msg["channel"],
            msg["topic"], msg["subject"], msg["body"], msg["folder"]) == (
        rel.id, "Acme", "email", "offers", "Grüße", "Hello ✓", "later")
    # A refused attempt is not delivered, so not posted.
    assert acme.send(rel.id, topic="other").json()["decision"] == "refused"
    time.sleep(0.6)
    assert len(rx.requests) == 1


def test_same_url_keeps_its_secret_and_null_turns_it_off(world):
    api, ana, acme, rel, rx = world
    first = hook(ana, rx.url()).json()["webhook"]["secret"]
    again = hook(ana, rx.url()).json()["webhook"]
    assert "secret" not in again
    other = hook(ana, rx.url("/other")).json()["webhook"]["secret"]
    assert other != first
    off = ana.put("/v1/me/delivery", {"password": PASSWORD,
                                      "webhook": None})
    assert off.status == 200 and off.json()["webhook"] is None
    acme.send(rel.id, topic="orders")
    time.sleep(0.6)
    assert rx.requests == []


def test_failures_are_retried_with_the_same_key(world):
    api, ana, acme, rel, rx = world
    hook(ana, rx.url())
    rx.statuses = [500]
    acme.send(rel.id, topic="orders")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert "answered 500" in state["outbox"]["last_error"]
    reqs = rx.wait(2, timeout=20)  # the first retry comes after 5 s
    assert len(reqs) == 2
    assert reqs[0][2]["Idempotency-Key"] == reqs[1][2]["Idempotency-Key"]
    assert wait_for(lambda: ana.ok("GET", "/v1/me/delivery")["outbox"]
                    == {"pending": 0, "failing": 0, "last_error": None})


def test_redirects_are_not_followed(world):
    api, ana, acme, rel, rx = world
    hook(ana, rx.url())
    rx.statuses = [302]
    acme.send(rel.id, topic="orders")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert "answered 302" in state["outbox"]["last_error"]
    assert len(rx.requests) == 1


@pytest.mark.parametrize("url,why", [
    ("http://hooks.example/x", "https"),
    ("https://127.0.0.1/x", "private"),
    ("https://[::1]:8443/x", "private"),
    ("https://169.254.169.254/latest/meta-data", "private"),
    ("https://10.1.2.3/x", "private"),
    ("https://[::ffff:169.254.169.254]/x", "private"),
    ("https://[::127.0.0.1]/x", "private"),
    ("https://[2002:7f00:1::]/x", "private"),
    ("https://[64:ff9b::a9fe:a9fe]/x", "private"),
    ("https://[fe80::1]/x", "private"),
    ("https://localhost/x", "private"),
    ("https://user:pw@hooks.example/x", "user info"),
    ("not a url", "URL"),
    ("https://hooks.example/" + "a" * 3000, "at most"),
])
def test_outbound_urls_obey_the_rules(api, url, why):
    ana = api.signup("ana")
    r = hook(ana, url)
    assert_problem(r, 422, "webhook.url")
    assert why in r.json()["detail"]


def test_a_name_that_resolves_to_loopback_is_refused_at_connect(
        api, receiver):
    """No --allow-private-targets: the URL's host is a name, so only the
    address it resolves to tells; the socket is refused."""
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme)
    # A name /etc/hosts maps to a loopback address (Debian has
    # ip6-localhost; the host's own name often is one too).
    name = None
    for line in open("/etc/hosts"):
        f = line.split("#")[0].split()
        if f and (f[0].startswith("127.") or f[0] == "::1"):
            name = name or next((n for n in f[1:] if n != "localhost" and
                                 not n.endswith(".localhost")), None)
    if name is None:
        pytest.skip("no loopback name but localhost in /etc/hosts")
    assert hook(ana, receiver.url(host=name)).status == 200
    acme.send(rel.id, topic="orders")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert "private" in state["outbox"]["last_error"]
    assert receiver.requests == []


def test_shape_errors(api):
    ana = api.signup("ana")
    for body, field in [({"webhook": "https://x.example"}, "webhook"),
                        ({"webhook": {"url": 5}}, "webhook.url"),
                        ({"webhook": {"url": "https://x.example",
                                      "secret": "mine"}}, "webhook")]:
        assert_problem(ana.put("/v1/me/delivery",
                               dict(body, password=PASSWORD)), 400, field)


def test_the_log_never_names_the_webhook(make_api, receiver):
    api = make_api("--allow-private-targets")
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask=ASK,
                      grant={"channels": {"email": {"allowed": True}}})
    assert hook(ana, "https://ana-lima-private-home.invalid/x").status == 200
    acme.send(rel.id, topic="orders")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert "ana-lima-private-home" in state["outbox"]["last_error"]
    assert "ana-lima-private-home" not in api.server.log()
    assert "(webhook) failed" in api.server.log()
