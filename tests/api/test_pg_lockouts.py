"""Lock-outs on several nodes (PostgreSQL only): failed log-ins counted
in the store, so that guesses spread over the nodes of one database lock
the handle out on every node, as on one node; a success on any node
forgets them. The store keeps a keyed hash of each key, never the handle."""
import subprocess

import pytest

from conftest import ON_POSTGRESQL, Api, assert_problem

pytestmark = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="several nodes share a PostgreSQL store only")

FREE = 5  # failures allowed before a lock-out (app/throttle.h)


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", url,
                        "-c", sql], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_guesses_spread_over_nodes_lock_out_everywhere(ctx, start_server):
    one = Api(start_server, ctx)
    two = Api(start_server, ctx)
    one.signup("ana")
    # FREE - 1 failures, alternating nodes: none locked out yet.
    for i in range(FREE - 1):
        node = one if i % 2 == 0 else two
        assert_problem(node.tokens("ana", "wrong-password-here"), 401)
    # The FREE-th failure, wherever it lands, locks ana out on both.
    r = two.tokens("ana", "wrong-password-here")
    assert r.status == 429, r
    for node in (one, two):
        r = node.tokens("ana", "correct-horse-battery")
        assert r.status == 429, r
        assert int(r.headers["Retry-After"]) >= 1
    # What the store keeps names no handle.
    rows = psql(ctx.store, "SELECT key FROM throttles")
    assert rows.strip(), "no lock-out kept in the store"
    assert "ana" not in rows


def test_a_success_on_one_node_forgets_the_failures_on_all(ctx,
                                                          start_server):
    one = Api(start_server, ctx)
    two = Api(start_server, ctx)
    one.signup("ben")
    for _ in range(FREE - 1):
        assert_problem(one.tokens("ben", "wrong-password-here"), 401)
    assert two.tokens("ben", "correct-horse-battery").status == 201
    # Counted afresh: FREE - 1 more failures on node one lock nothing.
    for _ in range(FREE - 1):
        assert_problem(one.tokens("ben", "wrong-password-here"), 401)
