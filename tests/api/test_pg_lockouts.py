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
    # The FREE-th failure locks ana out, though node two itself saw only
    # two of them: the count is the store's.
    r = two.tokens("ana", "wrong-password-here")
    assert r.status == 429, r
    assert int(r.headers["Retry-After"]) >= 1
    # The lock-out is in the store, for every node to read (no wall time
    # is asserted: the first lock-out lasts a second), and names no
    # handle.
    rows = psql(ctx.store, "SELECT key, failures, locked_until - first_at "
                           "FROM throttles ORDER BY failures DESC")
    assert rows.strip(), "no lock-out kept in the store"
    assert "ana" not in rows
    key, failures, locked = rows.splitlines()[0].split("|")
    assert int(failures) >= FREE and int(locked) >= 0, rows


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
