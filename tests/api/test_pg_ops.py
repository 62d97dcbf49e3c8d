"""What an operator meets running cmr on PostgreSQL, seen from outside:

- /readyz answers 503, saying PostgreSQL is unreachable, while it is
  down, and 200 once it is back; the log tells the outage once per kind
  of connection when it starts and once when it ends, not at every try,
  and never with a statement's text;
- every node names its connections (application_name), so that
  pg_stat_activity tells the nodes apart;
- a store that cannot be opened is named (its password as ***), with what
  to do: a database that does not exist, one the role may not create
  tables in;
- `cmr bench campaign` on a store that holds data says it needs an empty
  one;
- two nodes behind nginx with the README's `upstream` block (PostgreSQL
  and several nodes, step 4) answer as one;
- and, on either store, `cmr ledger verify` without the nodes'
  --alias-domain names the domain the heads are signed as.

The PostgreSQL tests restart a cluster of their own (not the session's).
"""
from collections import Counter
from contextlib import closing
from pathlib import Path
import os
import re
import textwrap

import pytest

from conftest import PASSWORD, PgCluster, http
from edge import Nginx, make_cert, request
from test_nodes import until

README = Path(__file__).resolve().parents[2] / "README.md"

WAIT = 30  # seconds at most for a node to notice PostgreSQL went or came


@pytest.fixture
def own_cluster(pg_cluster):
    cluster = PgCluster()
    yield cluster
    cluster.stop()


def readyz(server):
    return http("GET", server.url + "/readyz")


def test_readyz_follows_postgresql_and_the_log_tells_an_outage_once(
        ctx, make_api, own_cluster):
    ctx.pg_url = own_cluster.new_database()
    api = make_api()
    ana = api.signup("ana")
    assert readyz(api.server).status == 200
    own_cluster.script("stop", own_cluster.dir)
    try:
        r = until(lambda: (lambda r: r.status == 503 and r)(
            readyz(api.server)), "/readyz stayed 200 with PostgreSQL down",
            WAIT)
        assert r.headers.get("Content-Type", "").startswith(
            "application/problem+json"), r
        assert "PostgreSQL is unreachable" in r.json()["detail"], r.json()
        assert r.headers.get("Retry-After") == "5", r.headers
        # Liveness is not readiness: the process is alive.
        assert http("GET", api.url + "/healthz").status == 200
        # Requests meanwhile read through the readers, each failing.
        for _ in range(3):
            assert ana.get("/v1/me/relationships").status == 503
            assert readyz(api.server).status == 503
    finally:
        own_cluster.script("start", own_cluster.dir, str(own_cluster.port))
    until(lambda: readyz(api.server).status == 200,
          "/readyz never came back to 200", WAIT)
    assert ana.get("/v1/me/relationships").status == 200
    def lines(log):
        down = Counter(re.findall(
            r"store: ([a-z-]+): PostgreSQL unreachable since \S+Z: ", log))
        back = Counter(re.findall(
            r"store: ([a-z-]+): PostgreSQL back after \d+ s", log))
        return down, back
    # Each kind says it is back at its next connect (the listener's is
    # within a second).
    until(lambda: (lambda d, b: set(b) == set(d))(
        *lines(api.server.log())), "a kind of connection never came back",
        WAIT)
    log = api.server.log()
    down, back = lines(log)
    assert down["reader"] == 1 and down["listener"] == 1, log
    assert set(down.values()) == {1} and back == down, log
    assert log.count("cannot connect") == sum(down.values()), log
    assert "the statement:" not in log, log
    assert "FATAL:  terminating connection" not in log, log


def test_each_node_names_its_connections(ctx, start_server, pg_cluster):
    server = start_server()
    port = server.address.rsplit(":", 1)[1]
    database = ctx.store.rsplit("/", 1)[1]
    with closing(pg_cluster.superuser()) as conn:
        cur = conn.cursor()
        cur.execute("SELECT DISTINCT application_name FROM "
                    "pg_stat_activity WHERE datname = %s", (database,))
        names = {row[0] for row in cur.fetchall()}
    assert names == {f"cmr serve 127.0.0.1:{port}"}, names


def test_a_missing_database_is_named_with_what_to_do(ctx, pg_cluster):
    ctx.ok("init")
    url = pg_cluster.url("nope").replace("cmr@", "cmr:pass%40word@")
    r = ctx.run("person", "list", "--store", url, "--keys", str(ctx.keys),
                paths=False)
    assert r.rc == 1, r
    shown = url.replace("pass%40word", "***")
    assert f"cmr: the store {shown}: cannot connect to PostgreSQL: " \
        in r.err, r.err
    assert 'database "nope" does not exist: create it (README, ' \
        "PostgreSQL step 1)" in r.err, r.err
    assert "pass%40word" not in r.err, r.err


def test_a_database_the_role_does_not_own_says_so(ctx, pg_cluster):
    name = f"cmr_t{next(pg_cluster.databases)}"
    pg_cluster.admin().execute(f"CREATE DATABASE {name}")  # the superuser's
    url = pg_cluster.url(name)
    try:
        r = ctx.run("init", "--store", url, "--keys", str(ctx.keys),
                    paths=False)
    finally:
        pg_cluster.drop_database(url)
    assert r.rc == 1, r
    assert f"cmr: cannot migrate the store {url}: the role may not create " \
        "tables in schema public: make it the database's owner" in r.err, \
        r.err
    assert "permission denied" not in r.err, r.err


def test_bench_campaign_needs_an_empty_store(ctx, pg_cluster):
    ctx.ok("init")
    ctx.add_person("ana")
    r = ctx.run("bench", "campaign", "--relationships", "10", "--store",
                ctx.store, paths=False)
    assert r.rc == 1, r
    assert f"cmr: the store {ctx.store} holds data, and `cmr bench " \
        "campaign` needs an empty one" in r.err, r.err
    assert "keys directory" not in r.err, r.err


def test_ledger_verify_names_the_domain_the_heads_are_signed_as(
        ctx, make_api):
    api = make_api("--alias-domain", "relay.example")
    ana = api.signup("ana")
    assert ana.get("/v1/me/ledger/head").status == 200  # a head is signed
    r = ctx.run("ledger", "verify")
    assert r.rc == 1, r
    assert "signed head: the head is signed as relay.example; this command " \
        "uses relay.localhost: give --alias-domain relay.example " \
        "(CMR_ALIAS_DOMAIN)" in r.out + r.err, r
    ctx.ok("ledger", "verify", "--alias-domain", "relay.example")
    ctx.ok("ledger", "verify", env={"CMR_ALIAS_DOMAIN": "relay.example"})


def readme_upstream_block():
    """The nginx block of the README's "PostgreSQL and several nodes"."""
    text = README.read_text()
    section = text[text.index("## PostgreSQL and several nodes"):]
    return textwrap.dedent(
        re.search(r"```nginx\n(.*?)```", section, re.S).group(1))


def test_two_nodes_behind_the_readmes_nginx_block(tmp_path, ctx,
                                                  start_server, pg_cluster):
    nodes = [start_server("--open-registration", "--trusted-proxy",
                          "127.0.0.1") for _ in range(2)]
    ports = [int(n.address.rsplit(":", 1)[1]) for n in nodes]
    cert = make_cert(tmp_path)
    block = readme_upstream_block()
    ng = Nginx(tmp_path, ports[0], cert)
    for was, now in (("server 10.0.0.11:8025;", f"server 127.0.0.1:{ports[0]};"),
                     ("server 10.0.0.12:8025;", f"server 127.0.0.1:{ports[1]};"),
                     ("listen 443 ssl;", f"listen 127.0.0.1:{ng.port} ssl;"),
                     ("/etc/letsencrypt/live/cmr.example/fullchain.pem",
                      str(cert.cert)),
                     ("/etc/letsencrypt/live/cmr.example/privkey.pem",
                      str(cert.key))):
        assert was in block, (was, block)
        block = block.replace(was, now)
    p = ng.prefix
    ng.conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {p}/nginx.pid;\n"
        f"error_log {p}/error.log info;\nevents {{ worker_connections 64; }}\n"
        f"http {{\naccess_log {p}/access.log;\n"
        + "".join(f"{t}_temp_path {p}/tmp/{t.split('_')[0]};\n"
                  for t in ("client_body", "proxy", "fastcgi", "uwsgi",
                            "scgi"))
        + block + "}\n")
    with ng:
        def call(method, path, body=None, headers=None):
            return request(ng.port, method, path, body, headers,
                           context=cert.context)
        assert call("POST", "/v1/persons", {"handle": "ana",
                                            "password": PASSWORD}
                    ).status == 201
        r = call("POST", "/v1/tokens", {"handle": "ana",
                                        "password": PASSWORD})
        assert r.status == 201, r
        bearer = {"Authorization": "Bearer " + r.json()["token"]}
        # nginx takes the nodes in turn: the token made on one works on
        # both.
        for _ in range(4):
            r = call("GET", "/v1/me/relationships", headers=bearer)
            assert r.status == 200, r
    for n in nodes:
        assert "GET /v1/me/relationships 200" in n.log(), n.log()
