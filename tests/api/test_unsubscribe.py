"""RFC 8058 at the brand: when a person ends a relationship, cmr POSTs
`List-Unsubscribe=One-Click` to the one-click URI that the brand's
verified mail (row 2 under --auth-id) carried — no cookies, no redirects,
never a GET — retries with backoff, and records the outcome on the
person's ledger (`unsubscribe.sent`)."""
import re
import time

import pytest

from receiver import receiver, tls_cert  # noqa: F401
from test_delivery import wait_for
from test_lmtp import Lmtp
from test_lmtp_auth import AUTH_ID

PASS = (f"{AUTH_ID}; dkim=pass header.d=mail.acme.example; dmarc=pass "
        "header.from=acme.example")


def mail(unsub, post=True, auth=PASS):
    head = f"Authentication-Results: {auth}\r\n" if auth else ""
    head += ("From: Acme <news@acme.example>\r\nSubject: Deals\r\n"
             f"Message-ID: <{time.monotonic_ns()}@acme.example>\r\n"
             "CMR-Topic: orders\r\n"
             f"List-Unsubscribe: <mailto:unsub@acme.example>,\r\n <{unsub}>\r\n")
    if post:
        head += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    return head.encode() + b"\r\nDeals.\r\n"


def start_world(make_api, *flags):
    api = make_api("--lmtp", "127.0.0.1:0", *flags)
    port = int(re.search(r"lmtp: listening on \S+:(\d+)",
                         api.server.log()).group(1))
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    client = Lmtp(port)
    client.cmd("LHLO mx.relay.test")
    return api, ana, rel, client


def unsub_entries(person):
    return [e["data"] for e in person.ledger()
            if e["type"] == "unsubscribe.sent"]


def test_ending_posts_the_one_click_unsubscribe(make_api, receiver):
    api, ana, rel, client = start_world(make_api, "--auth-id", AUTH_ID,
                                  "--allow-private-targets")
    url = receiver.url("/unsub?list=deals&u=123")
    assert client.deliver("bounce@esp.example", [rel.alias],
                          mail(url))[0].startswith("250")
    time.sleep(0.3)
    assert receiver.requests == []  # nothing until the person ends it
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    (method, path, headers, body), = receiver.wait(1)
    assert (method, path, body) == ("POST", "/unsub?list=deals&u=123",
                                    b"List-Unsubscribe=One-Click")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Cookie" not in headers
    assert wait_for(lambda: unsub_entries(ana)) == [
        {"outcome": "ok", "status": 200}]
    time.sleep(0.5)
    assert len(receiver.requests) == 1


def test_a_failure_is_retried(make_api, receiver):
    api, ana, rel, client = start_world(make_api, "--auth-id", AUTH_ID,
                                  "--allow-private-targets")
    client.deliver("news@acme.example", [rel.alias], mail(receiver.url()))
    receiver.statuses = [503]
    ana.post(f"/v1/me/relationships/{rel.id}/end")
    assert len(receiver.wait(2, timeout=20)) == 2  # again after 5 s
    assert wait_for(lambda: unsub_entries(ana)) == [
        {"outcome": "ok", "status": 200}]


@pytest.mark.parametrize("flags,message", [
    # not vouched for by the MTA: the header is not the brand's word
    (("--trust-envelope",), dict(auth=None)),
    (("--auth-id", AUTH_ID), dict(auth=f"{AUTH_ID}; dmarc=fail "
                                  "header.from=acme.example")),
    # no List-Unsubscribe-Post: not one-click, and cmr never GETs
    (("--auth-id", AUTH_ID), dict(post=False)),
    # DMARC alone (it may rest on SPF): no signature covers the header
    (("--auth-id", AUTH_ID), dict(auth=f"{AUTH_ID}; dmarc=pass "
                                  "header.from=acme.example")),
])
def test_no_unsubscribe_without_verified_one_click_headers(
        make_api, receiver, flags, message):
    api, ana, rel, client = start_world(make_api, *flags,
                                  "--allow-private-targets")
    client.deliver("news@acme.example", [rel.alias],
                   mail(receiver.url(), **message))
    ana.post(f"/v1/me/relationships/{rel.id}/end")
    time.sleep(0.8)
    assert receiver.requests == []
    assert unsub_entries(ana) == []


def test_a_private_target_is_refused(make_api, receiver):
    """The URI is the brand's, so it is checked when it is used: without
    --allow-private-targets, 127.0.0.1 is never called."""
    api, ana, rel, client = start_world(make_api, "--auth-id", AUTH_ID)
    client.deliver("news@acme.example", [rel.alias], mail(receiver.url()))
    ana.post(f"/v1/me/relationships/{rel.id}/end")
    state = wait_for(lambda: (lambda d: d["outbox"]["failing"] and d)(
        ana.ok("GET", "/v1/me/delivery")))
    assert "private" in state["outbox"]["last_error"]
    assert receiver.requests == []


def test_erasure_forgets_the_brands_unsubscribe_uri(make_api, receiver, ctx):
    """The URI names the alias (often literally): after erasure only the
    alias's tombstone may remain."""
    api, ana, rel, client = start_world(make_api, "--auth-id", AUTH_ID,
                                        "--allow-private-targets")
    url = receiver.url(f"/unsub?u={rel.alias}")
    client.deliver("news@acme.example", [rel.alias], mail(url))
    from conftest import PASSWORD
    assert ana.call("DELETE", "/v1/me", {"password": PASSWORD}).status == 204
    api.server.stop()
    found = ctx.store_find([rel.alias.encode()])
    assert found == [], "\n".join(["the alias after erasure:", *found])


def test_a_person_made_relationship_is_unsubscribed_too(make_api, receiver):
    """A shop that is not on cmr: the one-click URI of its verified mail
    (the domain the person named) is kept and used when the person ends
    the relationship they made."""
    api, ana, rel, client = start_world(make_api, "--auth-id", AUTH_ID,
                                        "--allow-private-targets")
    made = ana.ok("POST", "/v1/me/relationships",
                  {"brand": {"name": "Acme Shop",
                             "domains": ["acme-shop.example"]}},
                  status=201)
    auth = (f"{AUTH_ID}; dkim=pass header.d=news.acme-shop.example; "
            "dmarc=pass header.from=acme-shop.example")
    raw = mail(receiver.url("/shop-unsub"), auth=auth).replace(
        b"news@acme.example", b"news@acme-shop.example")
    assert client.deliver("b@esp.example", [made["alias"]],
                          raw)[0].startswith("250")
    ana.ok("POST", f"/v1/me/relationships/{made['id']}/end")
    (method, path, headers, body), = receiver.wait(1)
    assert (method, path) == ("POST", "/shop-unsub")
    assert wait_for(lambda: unsub_entries(ana)) == [
        {"outcome": "ok", "status": 200}]
