"""`cmr serve` over HTTP: /healthz, problem+json errors, signals, a taken
port, and what a first start creates."""
import json
import signal
import stat

import pytest

from conftest import http


def media_type(reply):
    return reply.headers.get("Content-Type", "").split(";")[0].strip()


def test_healthz(server):
    r = http("GET", server + "/healthz")
    assert r.status == 200
    assert media_type(r) == "application/json"
    assert r.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/nope", "/v1/nope", "/healthz/x", "/web/nope.js", "//"])
def test_unknown_path_is_problem_404(server, path):
    r = http("GET", server + path)
    assert r.status == 404
    assert media_type(r) == "application/problem+json"
    body = r.json()
    assert body["status"] == 404
    assert isinstance(body.get("title"), str) and body["title"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_wrong_method_on_healthz_is_405(server, method):
    r = http(method, server + "/healthz", body=b"{}" if method != "DELETE"
             else None, headers={"Content-Type": "application/json"})
    assert r.status == 405
    assert media_type(r) == "application/problem+json"
    assert r.json()["status"] == 405


def test_405_names_the_allowed_methods(server):
    """RFC 9110 §15.5.6: a 405 response MUST carry Allow."""
    r = http("POST", server + "/healthz", body=b"")
    assert r.status == 405
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert "GET" in allow, dict(r.headers)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(start_server, sig):
    s = start_server()
    assert http("GET", s.url + "/healthz").status == 200
    assert s.stop(sig) == 0, s.log()


def test_second_serve_on_the_same_port(start_server, ctx):
    s = start_server()
    r = ctx.run("serve", "--http", s.address, "--lmtp", "off",
                "--policy", "off", "--metrics", "off")
    assert r.rc == 1, r
    assert s.address in r.err
    # The first one is unharmed.
    assert http("GET", s.url + "/healthz").status == 200
    assert s.stop() == 0


def test_serve_makes_no_keys(ctx):
    """Only `cmr init` makes keys: a serve given a missing --keys says so
    and makes none (nor a store)."""
    r = ctx.run("serve", "--http", "127.0.0.1:0", "--lmtp", "off",
                "--policy", "off", "--metrics", "off")
    assert r.rc == 1, r
    assert "cmr init" in r.err and str(ctx.keys) in r.err, r.err
    assert not ctx.keys.exists() and not ctx.store_made()


def test_first_start_after_init(start_server, ctx):
    assert not ctx.keys.exists() and not ctx.store_made()
    s = start_server()  # runs cmr init first
    assert stat.S_IMODE(ctx.keys.stat().st_mode) == 0o700
    assert (ctx.keys / "signing.key").is_file()
    assert ctx.store_made()
    assert s.stop() == 0
    # What serve made is what the other commands use.
    ctx.ok("ledger", "verify")
    assert json.loads(ctx.ok("person", "list", "--json").out) == {"items": []}


def test_clean_start_logs_no_warning(start_server):
    s = start_server()
    assert s.stop() == 0
    lines = s.log().splitlines()
    assert any("http: listening on" in l for l in lines)
    warnings = [l for l in lines if " warn " in l or " error " in l]
    assert warnings == []


def test_bad_setting_stops_serve_before_it_starts(ctx):
    r = ctx.run("serve", "--http", "127.0.0.1:0", "--lmtp", "off",
                "--policy", "off", "--metrics", "off", "--hold-queue", "0")
    assert r.rc == 2, r
    assert "--hold-queue" in r.err
    assert not ctx.keys.exists()


def test_lmtp_given_without_a_way_to_judge_senders_is_usage(ctx):
    """An explicit --lmtp (flag or variable) that could never run is a
    usage error, not a quiet "stays off"."""
    r = ctx.run("serve", "--http", "127.0.0.1:0", "--lmtp", "127.0.0.1:0",
                "--policy", "off", "--metrics", "off")
    assert r.rc == 2, r
    assert "--lmtp 127.0.0.1:0" in r.err and "--auth-id" in r.err
    assert "--trust-envelope" in r.err
    assert not ctx.keys.exists()
    r = ctx.run("serve", "--http", "127.0.0.1:0", "--policy", "off",
                "--metrics", "off", env={"CMR_LMTP": "127.0.0.1:0"})
    assert r.rc == 2, r
    assert not ctx.keys.exists()
