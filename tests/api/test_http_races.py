"""Concurrent changes of one person's settings: each lands, none is lost,
and none is refused for a conflict it did not cause (found by review:
a folder list read and written outside the writer lost names, and two
terms changes claimed one version number)."""
import threading


def _together(calls):
    """Runs the zero-argument callables at once; returns their results."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i):
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_moves_to_new_folders_lose_none(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    ids = []
    for i in range(6):
        r = acme.send(rel.id, topic="orders", subject=f"m{i}")
        assert r.status == 201 and r.json()["decision"] == "accepted", r
        ids.append(r.json()["id"])
    names = [f"Box {i}" for i in range(6)]
    replies = _together([
        (lambda m=m, n=n: ana.call("PATCH", f"/v1/me/messages/{m}",
                                   {"folder": n}))
        for m, n in zip(ids, names)])
    assert [r.status for r in replies] == [200] * 6, replies
    # Every message is found in the folder it was moved to.
    for m, n in zip(ids, names):
        found = ana.ok("GET", "/v1/me/messages?folder="
                       + n.replace(" ", "%20"))["items"]
        assert [x["id"] for x in found] == [m], (n, found)


def test_concurrent_terms_changes_all_land(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    replies = _together([
        (lambda k=k: rel.put_terms(
            {"channels": {"email": {"allowed": True,
                                    "cap": {"max": k + 1, "per": "day"}}},
             "topics": ["orders"]}))
        for k in range(6)])
    assert [r.status for r in replies] == [200] * 6, [
        (r.status, r.body[:200]) for r in replies]
    changed = [e for e in ana.ledger() if e["type"] == "terms.changed"]
    assert len(changed) == 6
