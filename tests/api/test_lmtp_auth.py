"""Row 2 with --auth-id: only the topmost Authentication-Results of the
trusted authserv-id counts, and only a DMARC pass for the From domain or
an aligned DKIM pass, aligned with one of the brand's domains by
organizational domain (libpsl). Everything else is the uniform reply and
a recorded leak."""
import re
import subprocess
import time

import pytest

from conftest import CMR_BIN
from test_lmtp import Lmtp

AUTH_ID = "mx.relay.test"


def message(auth_lines, frm="news@acme.example"):
    head = "".join(f"Authentication-Results: {a}\r\n" for a in auth_lines)
    head += (f"Received: from mx.acme.example by {AUTH_ID}\r\n"
             f"From: Acme <{frm}>\r\nSubject: Hello\r\n"
             f"Message-ID: <{time.monotonic_ns()}@acme.example>\r\n"
             "CMR-Topic: orders\r\n")
    return head.encode() + b"\r\nA body line.\r\n"


@pytest.fixture
def authmail(make_api):
    api = make_api("--auth-id", AUTH_ID, "--lmtp", "127.0.0.1:0")
    m = re.search(r"lmtp: listening on \S+:(\d+)", api.server.log())
    assert m, api.server.log()
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    rel = api.connect(ana, acme, ask={"value": "v", "channels": ["email"],
                                      "topics": ["orders"], "fields": []},
                      grant={"channels": {"email": {"allowed": True}}})
    client = Lmtp(int(m.group(1)))
    assert client.cmd("LHLO mx.relay.test")[0].startswith("250")
    yield api, ana, rel, client
    client.close()


def uniform(alias):
    return f"550 5.1.1 <{alias}>: recipient not accepted"


@pytest.mark.parametrize("auth", [
    [f"{AUTH_ID}; dkim=pass (2048-bit key) header.d=news.acme.example "
     "header.s=s1; dmarc=pass (p=none) header.from=acme.example"],
    [f"{AUTH_ID}; dmarc=pass header.from=acme.example"],
    [f"{AUTH_ID}; spf=fail smtp.mailfrom=x.example; dkim=pass "
     "header.d=acme.example"],
    # Another authserv-id above the trusted one is somebody else's word.
    ["evil.example; dmarc=fail header.from=acme.example",
     f"{AUTH_ID}; dkim=pass header.i=@mail.acme.example"],
])
def test_a_genuine_topmost_header_is_the_brand(authmail, auth):
    api, ana, rel, client = authmail
    # The envelope sender (a bounce address, say) does not matter here.
    r = client.deliver("bounces+x@esp.example", [rel.alias], message(auth))
    assert r[0].startswith("250 2.0.0"), r
    got = ana.messages("folder=inbox")
    assert len(got) == 1 and got[0]["sender_verified"] is True


@pytest.mark.parametrize("auth", [
    [],  # none at all
    # a forged pass below a failing topmost one of the same id
    [f"{AUTH_ID}; dmarc=fail header.from=acme.example",
     f"{AUTH_ID}; dmarc=pass header.from=acme.example"],
    ["evil.example; dmarc=pass header.from=acme.example"],  # other id only
    [f"{AUTH_ID}; dkim=pass header.d=evil.example"],  # not aligned
    [f"{AUTH_ID}; dkim=pass header.d=acme.example.evil.example"],
    [f"{AUTH_ID}; dkim=fail header.d=acme.example; dmarc=softfail "
     "header.from=acme.example"],
    [f"{AUTH_ID}; dmarc=pass header.from=acme.example ("],  # malformed
])
def test_anything_else_is_the_uniform_reply_and_a_leak(authmail, auth):
    api, ana, rel, client = authmail
    r = client.deliver("news@acme.example", [rel.alias], message(auth))
    assert r == [uniform(rel.alias)]
    refused = ana.messages("decision=refuse")
    assert [m["reason"] for m in refused] == ["sender_not_brand"]
    assert refused[0]["sender_verified"] is False


def test_a_passing_header_for_another_brand_is_a_leak(authmail):
    api, ana, rel, client = authmail
    api.add_brand("Other", "other.co.uk")
    auth = [f"{AUTH_ID}; dmarc=pass header.from=shop.other.co.uk"]
    r = client.deliver("news@shop.other.co.uk", [rel.alias],
                       message(auth, frm="news@shop.other.co.uk"))
    assert r == [uniform(rel.alias)]


def test_auth_id_and_trust_envelope_are_exclusive(ctx):
    r = subprocess.run([CMR_BIN, "serve", "--auth-id", AUTH_ID,
                        "--trust-envelope", "--http", "127.0.0.1:0",
                        *ctx.paths()], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r
    assert "not both" in r.stderr
