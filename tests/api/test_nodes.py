"""Several `cmr serve` nodes on one PostgreSQL database (issue 12), seen
only through their doors: HTTP, LMTP (--trust-envelope) and the Postfix
policy door.

- caps stay exact when concurrent senders reach the same relationships
  through three nodes at once: every acknowledged answer is checked
  against the stored attempts, and the stored attempts against an exact
  model of the caps, placed in the real time their requests ran (the
  API shows no commit order: a message's id, by which lists are sorted,
  is taken before the gate decides it; see replay());
- a held message is released once although every node's scheduler runs;
- a node SIGKILLed under load loses nothing it acknowledged;
- what a node caches (the gate state, the policy door's passes) follows a
  change made on another node;
- PostgreSQL stopped and started under load: no 201/250 meanwhile (451
  over LMTP and 503 over HTTP, a credential that cannot be checked too),
  nothing acknowledged lost, the nodes recover by themselves; and a
  restart does not make the brand's mail a leak (451, nothing recorded);
- idempotency keys, sessions and connect codes work from any node;
- a differential run: one random stream of operations on SQLite and on
  PostgreSQL gives the same decisions, messages and verified ledgers.

PostgreSQL only (CMR_TEST_STORE=postgresql): the tests use the session's
cluster (a database per test) or, to restart it, a cluster of their own.
"""
import copy
import random
import re
import signal
import socket
import threading
import time
from collections import Counter, defaultdict

import pytest

import conftest
from conftest import Api, Ctx, PgCluster
from test_policy import Policy

DAY = 86400
WAIT = 10  # seconds at most for something another node or a thread does
TERMS = {"channels": {"email": {"allowed": True}},
         "topics": ["orders", "offers"]}
ASK_MAIL = {"value": "v", "channels": ["email"],
            "topics": ["orders", "offers"], "fields": []}
GRANT_MAIL = {"channels": {"email": {"allowed": True}}}
# What the brand hears (HTTP "reason", LMTP "550 5.7.1 <reason>") for a
# reason the person sees.
BRAND_HEARS = {"frequency_cap": "frequency_cap",
               "global_frequency_cap": "not_accepted",
               "relationship_ended": "relationship_ended",
               "channel_not_permitted": "channel_not_permitted"}
UNIFORM_POLICY = "550 5.1.1 recipient not accepted"


# --- Nodes ----------------------------------------------------------------

class Node(Api):
    """One `cmr serve` of the installation `ctx` (its store and keys) with
    HTTP, LMTP and the policy door on ports of its own."""

    def __init__(self, start, ctx, name, *extra):
        super().__init__(start, ctx, "--trust-envelope", "--lmtp",
                         "127.0.0.1:0", "--policy", "127.0.0.1:0", *extra)
        self.name = name
        self._ports()

    def _ports(self):
        log = self.server.log()
        lmtp = re.search(r"lmtp: listening on \S+:(\d+)", log)
        policy = re.search(r"policy: listening on \S+:(\d+)", log)
        assert lmtp and policy, log
        self.lmtp_port, self.policy_port = int(lmtp.group(1)), int(
            policy.group(1))

    def start(self):
        super().start()
        self._ports()

    def kill(self):
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait()


def nodes(start_server, ctx, n, *extra):
    return [Node(start_server, ctx, chr(ord("A") + i), *extra)
            for i in range(n)]


def via(caller, node):
    """The same person or brand (same credential), calling `node`."""
    c = copy.copy(caller)
    c.api = node
    return c


def connect(node, person, brand, terms):
    """A relationship for email with `terms` (a PUT of the whole terms)."""
    rel = node.connect(person, brand, ask=ASK_MAIL, grant=GRANT_MAIL)
    r = rel.put_terms(terms)
    assert r.status == 200, r
    return rel


def capped(max_, over_cap="refuse", per_seconds=DAY):
    return dict(TERMS, channels={"email": {
        "allowed": True, "over_cap": over_cap,
        "cap": {"max": max_, "per_seconds": per_seconds}}})


# --- LMTP, tolerant of a node or a database that is down -------------------

def lmtp_send(port, sender, rcpts, subject, topic="offers"):
    """One LMTP transaction; returns one reply line per recipient. A
    recipient refused at RCPT keeps that reply; a connection that breaks
    gives None for every recipient without a reply (not acknowledged)."""
    replies = [None] * len(rcpts)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            f = s.makefile("rb")

            def reply():
                while True:
                    line = f.readline().decode()
                    if not line.endswith("\r\n"):
                        raise EOFError(line)
                    if line[3:4] != "-":
                        return line.rstrip("\r\n")

            def cmd(text):
                s.sendall(text.encode() + b"\r\n")
                return reply()

            if not reply().startswith("220"):
                return replies
            if not cmd("LHLO node.example").startswith("250"):
                return replies
            if not cmd(f"MAIL FROM:<{sender}>").startswith("250"):
                return replies
            accepted = []
            for i, r in enumerate(rcpts):
                line = cmd(f"RCPT TO:<{r}>")
                if line.startswith("250"):
                    accepted.append(i)
                else:
                    replies[i] = line
            if not accepted:
                return replies
            if not cmd("DATA").startswith("354"):
                return replies
            domain = sender.split("@")[1]
            msg = (f"From: <{sender}>\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{subject}.{time.monotonic_ns()}"
                   f"@{domain}>\r\n"
                   f"CMR-Topic: {topic}\r\n\r\nA body.\r\n.\r\n")
            s.sendall(msg.encode())
            for i in accepted:
                replies[i] = reply()
    except (OSError, EOFError):
        pass
    return replies


def http_send(brand, rel_id, subject, topic="offers", headers=None):
    """POST /v1/messages; returns the Reply, or None when the connection
    broke (not acknowledged)."""
    body = {"relationship": rel_id, "channel": "email", "topic": topic,
            "subject": subject, "body": "A body."}
    try:
        return brand.post("/v1/messages", body, headers=headers)
    except OSError:
        return None


def policy_ask(node, alias):
    c = Policy(node.policy_port)
    try:
        return c.ask(alias)
    finally:
        c.close()


def until(check, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def run_threads(jobs, workers, fn):
    """Runs fn(job) for every job on `workers` threads at once; returns
    the results in the order of `jobs`. An exception in a thread fails."""
    results = [None] * len(jobs)
    errors = []
    lock = threading.Lock()
    todo = list(enumerate(jobs))
    start = threading.Barrier(workers)

    def work():
        start.wait()
        while True:
            with lock:
                if not todo:
                    return
                i, job = todo.pop()
            try:
                results[i] = fn(job)
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(repr(e))
                return

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


class Load:
    """Senders, one thread per (node, door) of `doors`, each sending
    `brand`'s messages to `rels` in turn (subjects PREFIX0, PREFIX1, …)
    into `history` until stop(); `pause` seconds between two sends of a
    thread. A thread whose node has exited slows down, not floods."""

    def __init__(self, history, brand, rels, doors, prefix, pause=0.0):
        self.history, self.brand, self.rels = history, brand, rels
        self.prefix, self.pause = prefix, pause
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.counter = iter(range(10**9))
        self.threads = [threading.Thread(target=self._send, args=d)
                        for d in doors]
        for t in self.threads:
            t.start()

    def _send(self, node, door):
        sender = f"news@{self.brand.name.lower()}.example"
        while not self.stopping.is_set():
            if node.server.proc.poll() is not None or self.pause:
                time.sleep(self.pause or 0.05)
            with self.lock:
                i = next(self.counter)
            rel, subject = self.rels[i % len(self.rels)], f"{self.prefix}{i}"
            if door == "http":
                self.history.send_http(via(self.brand, node), rel.id,
                                       subject)
            else:
                self.history.send_lmtp(node.lmtp_port, sender, [rel],
                                       subject)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)


def one_node(start_server, ctx, cluster):
    """One node on a new database of `cluster`, with Ana, Acme and their
    relationship."""
    ctx.pg_url = cluster.new_database()
    (a,) = nodes(start_server, ctx, 1)
    ana = a.signup("ana")
    acme = a.add_brand("Acme")
    return a, ana, acme, connect(a, ana, acme, TERMS)


# --- Acknowledged answers against what the store holds --------------------

class History:
    """Every offered message (relationship, subject) and how it was
    answered; `acked` the acknowledged ones: (door, rel, subject, answer)
    with answer ("accepted"|"refused", brand reason)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []
        self.unacked = Counter()  # what a not-acknowledged answer was
        self.times = {}  # (rel, subject) -> (sent, answered or inf)
        self.odd = {}  # an LMTP reply of each not-acknowledged kind

    def ran(self, rels, subject, sent, answers):
        """When the request for `subject` to `rels` ran (monotonic
        seconds); an unanswered one may still commit at any time after."""
        now = time.monotonic()
        with self.lock:
            for rel, answered in zip(rels, answers):
                self.times[(rel, subject)] = (
                    sent, now if answered else float("inf"))

    def send_http(self, brand, rel, subject):
        """POST /v1/messages, timed and recorded."""
        sent = time.monotonic()
        reply = http_send(brand, rel, subject)
        self.http(rel, subject, reply)
        self.ran([rel], subject, sent,
                 [reply is not None and reply.status == 201])

    def send_lmtp(self, port, sender, rels, subject):
        """One LMTP message to the aliases of `rels`, timed and recorded."""
        sent = time.monotonic()
        lines = lmtp_send(port, sender, [r.alias for r in rels], subject)
        for rel, line in zip(rels, lines):
            self.lmtp(rel.id, subject, line)
        self.ran([r.id for r in rels], subject, sent,
                 [line is not None and (line.startswith("250") or
                                        line.startswith("550 5.7.1"))
                  for line in lines])

    def http(self, rel, subject, reply):
        with self.lock:
            if reply is not None and reply.status == 201:
                a = reply.json()
                self.acked.append(("http", rel, subject,
                                   (a["decision"], a["reason"]), a["id"]))
            else:
                self.unacked["http " + (str(reply.status) if reply
                                        else "broken")] += 1

    def lmtp(self, rel, subject, line):
        with self.lock:
            if line is None or line[:1] == "4" or line[:1] == "5" and \
                    not line.startswith("550 5.7.1"):
                self.unacked["lmtp " + (line[:3] if line else "broken")] += 1
                self.odd.setdefault(line and line[:3], line)
            elif line.startswith("250"):
                self.acked.append(("lmtp", rel, subject, ("accepted", None),
                                   None))
            else:
                self.acked.append(("lmtp", rel, subject,
                                   ("refused", line.split()[2]), None))


def stored(node, persons):
    """rel id -> its attempts, oldest first, as the person reads them
    through `node`; and per person the attempts oldest first."""
    by_rel, by_person = defaultdict(list), {}
    for p in persons:
        items = list(reversed(via(p, node).messages()))  # newest first
        by_person[p.id] = items
        for m in items:
            by_rel[m["relationship"]].append(m)
    return by_rel, by_person


def brand_view(m):
    """What the brand was told of a stored attempt."""
    if m["decision"] in ("deliver", "hold"):
        return ("accepted", None)
    return ("refused", BRAND_HEARS.get(m["reason"], m["reason"]))


def check_acked_stored(history, by_rel):
    """Every acknowledged answer is in the store, once, as it was told."""
    for door, rel, subject, answer, msg_id in history.acked:
        found = [m for m in by_rel[rel] if m["subject"] == subject]
        assert len(found) == 1, (door, rel, subject, found)
        if msg_id is not None:
            assert found[0]["id"] == msg_id, (door, subject, found)
        assert brand_view(found[0]) == answer, (door, subject, answer,
                                                found[0])


def replay(attempts, times, rel_caps, global_cap):
    """The exact model of one person's caps, checked against real time.

    The API gives no commit order (an attempt's id is taken before the
    gate decides it), so each attempt is placed in the interval its
    request ran in (`times`: (rel, subject) -> (sent, answered); an
    unanswered request's end is infinite). A serial history exists that
    the model accepts when: no relationship delivered more than its cap
    and no person more than the global cap; a cap refusal or hold had the
    relationship's cap of deliveries begun before it was answered; a
    global refusal had the person's cap of deliveries begun before it was
    answered, and fewer than the relationship's cap finished before it
    was sent (else the relationship's own cap decides first). Returns the
    violations (empty when the history is exact)."""
    wrong = []
    delivered = [m for m in attempts if m["decision"] == "deliver"]
    per_rel = Counter(m["relationship"] for m in delivered)
    for rel, n in per_rel.items():
        if n > rel_caps[rel][0]:
            wrong.append(("over the cap", rel, n))
    if len(delivered) > global_cap:
        wrong.append(("over the global cap", len(delivered)))
    for m in attempts:
        rel, reason = m["relationship"], m["reason"]
        sent, answered = times[(rel, m["subject"])]
        cap, over = rel_caps[rel]
        begun = [d for d in delivered
                 if times[(d["relationship"], d["subject"])][0] < answered]
        done = [d for d in delivered
                if times[(d["relationship"], d["subject"])][1] < sent]
        if reason == "frequency_cap":
            n = sum(d["relationship"] == rel for d in begun)
            if n < cap or m["decision"] != ("hold" if over == "hold"
                                            else "refuse"):
                wrong.append((m["subject"], rel, m["decision"], reason, n))
        elif reason == "global_frequency_cap":
            n = sum(d["relationship"] == rel for d in done)
            if len(begun) < global_cap or n >= cap:
                wrong.append((m["subject"], rel, reason, len(begun), n))
        elif (m["decision"], reason) != ("deliver", "ok"):
            wrong.append((m["subject"], rel, m["decision"], reason))
    return wrong


def test_the_model_notices_over_and_under_admission():
    """replay() itself, on made-up histories (no server needed)."""
    caps = {"r1": (1, "refuse"), "r2": (1, "hold")}

    def m(subject, rel, decision, reason):
        return {"subject": subject, "relationship": rel,
                "decision": decision, "reason": reason}

    times = {("r1", "a"): (0, 1), ("r1", "b"): (2, 3), ("r2", "c"): (4, 5),
             ("r2", "d"): (0, 10)}
    good = [m("a", "r1", "deliver", "ok"),
            m("b", "r1", "refuse", "frequency_cap"),
            m("c", "r2", "refuse", "global_frequency_cap")]
    assert replay(good, times, caps, 1) == []
    # Over-admission: two deliveries on r1, or two for a global cap of 1.
    assert replay([good[0], m("b", "r1", "deliver", "ok")], times, caps, 5)
    assert replay([good[0], m("c", "r2", "deliver", "ok")], times, caps, 1)
    # Under-admission: refused before any delivery could have counted.
    assert replay([m("a", "r1", "refuse", "frequency_cap"),
                   m("b", "r1", "deliver", "ok")], times, caps, 5)
    assert replay([m("a", "r1", "refuse", "global_frequency_cap"),
                   m("b", "r1", "deliver", "ok")], times, caps, 1)
    # The relationship's cap decides before the global one.
    assert replay([good[0], m("b", "r1", "refuse", "global_frequency_cap")],
                  times, caps, 1)
    # A cap of over_cap hold holds; concurrent requests may go either way.
    assert replay([m("d", "r2", "deliver", "ok"),
                   m("c", "r2", "refuse", "frequency_cap")], times, caps, 5)
    assert replay([m("d", "r2", "deliver", "ok"),
                   m("c", "r2", "hold", "frequency_cap")],
                  times, caps, 5) == []
    assert replay([m("c", "r2", "deliver", "ok"),
                   m("d", "r2", "hold", "frequency_cap")],
                  times, caps, 5) == []


# --- 1. Three nodes, exact caps ---------------------------------------------

def test_three_nodes_never_over_admit(start_server, ctx,
                                      pg_cluster):
    a, b, c = trio = nodes(start_server, ctx, 3)
    g_caps = {"ann": 7, "ben": 7, "cat": 50}
    persons = {h: trio[i].signup(h) for i, h in enumerate(g_caps)}
    for h, cap in g_caps.items():
        persons[h].ok("PUT", "/v1/me/terms", {"caps": {"email": {
            "max": cap, "per_seconds": DAY}}})
    brands = {n: a.add_brand(n) for n in ("Bakery", "Cinema", "Dairy")}
    # (person, brand) -> (cap, over_cap)
    plan = {("ann", "Bakery"): (3, "refuse"), ("ann", "Cinema"): (3, "refuse"),
            ("ann", "Dairy"): (2, "hold"), ("ben", "Bakery"): (3, "refuse"),
            ("ben", "Cinema"): (4, "refuse"), ("ben", "Dairy"): (3, "refuse"),
            ("cat", "Bakery"): (3, "refuse"), ("cat", "Cinema"): (2, "hold")}
    rels, rel_caps = {}, {}
    for (h, bn), (cap, over) in plan.items():
        node = trio[len(rels) % 3]
        rel = connect(node, via(persons[h], node), via(brands[bn], node),
                      capped(cap, over))
        rels[(h, bn)] = rel
        rel_caps[rel.id] = (cap, over)

    # The offered messages: per relationship 6 over HTTP, and per brand 5
    # LMTP messages to all of its aliases at once; each through a node
    # drawn at random, in a random order, by 8 threads.
    rng = random.Random(12)
    jobs, n = [], 0
    for (h, bn), rel in rels.items():
        for _ in range(6):
            n += 1
            jobs.append(("http", rng.choice(trio), bn, [rel], f"h{n}"))
    for bn in brands:
        mine = [rel for (h, b), rel in rels.items() if b == bn]
        for _ in range(5):
            n += 1
            jobs.append(("lmtp", rng.choice(trio), bn, mine, f"m{n}"))
    rng.shuffle(jobs)
    history = History()

    def send(job):
        door, node, bn, targets, subject = job
        if door == "http":
            rel = targets[0]
            history.send_http(via(brands[bn], node), rel.id, subject)
        else:
            history.send_lmtp(node.lmtp_port, f"news@{bn.lower()}.example",
                              targets, subject)

    run_threads(jobs, 8, send)
    offered = sum(len(j[3]) for j in jobs)
    print(f"\nnodes: {offered} offered, {len(history.acked)} acknowledged, "
          f"not acknowledged: {dict(history.unacked)}")
    assert sum(history.unacked.values()) <= offered // 10, history.unacked

    # How much the requests to one person overlapped (a figure to read,
    # not a check: the history below holds whatever the overlap was).
    person_of = {rel.id: h for (h, _), rel in rels.items()}
    spans = sorted((t, person_of[r]) for (r, _), t in history.times.items())
    overlaps = sum(1 for i, ((s1, e1), p1) in enumerate(spans)
                   for (s2, _), p2 in spans[i + 1:] if s2 < e1 and p1 == p2)
    print(f"nodes: {overlaps} pairs of requests to one person overlapped")

    # The history check, read back through a node the person did not use.
    by_rel, by_person = stored(c, persons.values())
    check_acked_stored(history, by_rel)
    for h, p in persons.items():
        mine = {r.id: rel_caps[r.id] for (ph, _), r in rels.items()
                if ph == h}
        attempts = by_person[p.id]
        assert all(m["relationship"] in mine for m in attempts)
        assert replay(attempts, history.times, mine, g_caps[h]) == [], [
            (m["subject"], m["relationship"], m["decision"], m["reason"],
             m["received_at"]) for m in attempts]
        delivered = Counter(m["relationship"] for m in attempts
                            if m["decision"] == "deliver")
        for rel_id, (cap, _) in mine.items():
            assert delivered[rel_id] <= cap
        total = sum(delivered.values())
        assert total <= g_caps[h]
        offers = Counter(m["relationship"] for m in attempts)
        assert total == min(g_caps[h], sum(
            min(cap, offers[r]) for r, (cap, _) in mine.items())), (
            h, delivered, offers)
    # cat's global cap never binds: each of its relationships delivered
    # exactly min(cap, offered).
    for (h, _), rel in rels.items():
        if h == "cat":
            got = sum(m["decision"] == "deliver" for m in by_rel[rel.id])
            assert got == min(rel_caps[rel.id][0], len(by_rel[rel.id]))


# --- 2. Held messages released once ------------------------------------------

def test_held_messages_are_released_once(start_server, ctx,
                                         pg_cluster):
    # All three export to one Maildir: a message released twice, or
    # delivered by two nodes, would land there twice.
    root = ctx.root / "maildir"
    root.mkdir()
    trio = nodes(start_server, ctx, 3, "--maildir-root", str(root))
    ana = trio[0].signup("ana")
    assert ana.put("/v1/me/delivery", {"password": ana.password,
                                       "maildir": True}).status == 200
    acme = trio[0].add_brand("Acme")
    # Two deliveries per 2 s, the rest held: each node's scheduler releases
    # what comes due, two at a time, until all are delivered.
    rel = connect(trio[0], ana, acme, capped(2, "hold", per_seconds=2))
    sent = []
    for i in range(8):
        r = http_send(via(acme, trio[i % 3]), rel.id, f"held{i}")
        assert r.status == 201 and r.json()["decision"] == "accepted", r
        sent.append(r.json()["id"])
    first = {m["id"]: m["decision"] for m in ana.messages()}
    assert Counter(first.values()) == {"deliver": 2, "hold": 6}, first

    def all_delivered():
        got = via(ana, trio[2]).messages()
        return got if all(m["decision"] == "deliver" for m in got) else None

    got = until(all_delivered, "held messages never all delivered", 30)
    assert sorted(m["id"] for m in got) == sorted(sent)
    # Once each: one attempt per message, seen alike from every node, and
    # one file per message in the Maildir.
    for node in trio:
        seen = via(ana, node).messages()
        assert Counter(m["id"] for m in seen) == Counter(sent)
        assert all(m["decision"] == "deliver" for m in seen)

    def maildir():
        names = [f.name for sub in ("new", "cur")
                 for f in (root / ana.id / sub).glob("*")]
        return names if len(names) >= len(sent) else None

    until(maildir, "not every message reached the Maildir", 20)
    time.sleep(1)  # a second copy would come within the outbox's round
    subjects = Counter()
    for sub in ("new", "cur"):
        for f in (root / ana.id / sub).glob("*"):
            head = f.read_bytes().split(b"\r\n\r\n")[0].split(b"\n\n")[0]
            m = re.search(rb"(?im)^subject: *(\S+)", head)
            subjects[m.group(1).decode() if m else f.name] += 1
    assert subjects == Counter(f"held{i}" for i in range(8)), subjects


# --- 3. A node SIGKILLed under load ------------------------------------------

def test_a_killed_node_loses_nothing_it_acknowledged(start_server, ctx,
                                                     pg_cluster):
    trio = nodes(start_server, ctx, 3)
    a, b, c = trio
    ana = a.signup("ana")
    acme = a.add_brand("Acme")
    rels = [connect(a, ana, acme, TERMS)]
    bob = b.signup("bob")
    rels.append(connect(b, bob, via(acme, b), TERMS))
    history = History()
    load = Load(history, acme, rels,
                [(n, d) for n in (a, b) for d in ("http", "lmtp")], "k")
    try:
        until(lambda: len(history.acked) >= 20, "no load", 20)
        a.kill()
        time.sleep(0.5)
    finally:
        load.stop()
    from_a = len(history.acked)
    print(f"\nkill: {from_a} acknowledged, not: {dict(history.unacked)}")
    by_rel, _ = stored(c, [via(ana, c), via(bob, c)])
    check_acked_stored(history, by_rel)


# --- 4. Caches learn from another node ---------------------------------------

def test_caches_follow_changes_made_on_another_node(start_server, ctx,
                                                    pg_cluster):
    a, b = nodes(start_server, ctx, 2)
    acme = a.add_brand("Acme")

    def world(handle):
        p = a.signup(handle)
        rel = connect(a, p, acme, TERMS)
        # A's policy door passes the alias (and keeps the pass in its
        # cache); a message through A delivers.
        assert policy_ask(a, rel.alias) == "DUNNO"
        assert policy_ask(a, rel.alias) == "DUNNO"
        r = http_send(acme, rel.id, f"{handle}-before")
        assert r.json()["decision"] == "accepted", r
        return p, rel

    def after(rel, reason, lmtp):
        r = http_send(acme, rel.id, "after")
        assert (r.status, r.json()["decision"], r.json()["reason"]) == (
            201, "refused", BRAND_HEARS[reason]), r
        line = lmtp_send(a.lmtp_port, "news@acme.example", [rel.alias],
                         "after-lmtp")[0]
        assert line == lmtp, line
        until(lambda: policy_ask(a, rel.alias) == UNIFORM_POLICY,
              "A's policy door still passes " + rel.alias)

    ana, rel = world("ana")
    assert via(ana, b).post(f"/v1/me/relationships/{rel.id}/end").status \
        == 200
    after(rel, "relationship_ended", "550 5.7.1 relationship_ended")

    bob, rel = world("bob")
    assert via(bob, b).put(f"/v1/me/relationships/{rel.id}/terms", dict(
        TERMS, channels={"email": {"allowed": False}})).status == 200
    after(rel, "channel_not_permitted", "550 5.7.1 channel_not_permitted")

    cai, rel = world("cai")
    r = via(cai, b).call("DELETE", "/v1/me", {"password": cai.password})
    assert r.status in (200, 204), r
    # An erased person's relationships are ended; mail to the alias gets
    # the uniform reply, as for an unknown one.
    after(rel, "relationship_ended",
          f"550 5.1.1 <{rel.alias}>: recipient not accepted")


def test_a_campaign_sees_what_another_node_sent(start_server, ctx,
                                                pg_cluster):
    """A campaign's chunk guards the persons its node already holds in one
    statement (store_person_guard_many), not one a recipient: their
    versions must still tell it what another node delivered meanwhile, so
    that it refuses over the cap instead of admitting from its own
    windows."""
    a, b = nodes(start_server, ctx, 2)
    acme = a.add_brand("Acme")
    rels = [connect(a, a.signup(h), acme, capped(2))
            for h in ("ana", "bob", "cai")]

    def campaign(node):
        r = via(acme, node).post("/v1/campaigns", {
            "relationships": [rel.id for rel in rels], "channel": "email",
            "topic": "offers", "subject": "Sale", "body": "A body."})
        assert r.status == 201, r
        return r.json()

    assert campaign(a)["accepted"] == 3  # A's gate state holds all three
    for rel in rels:  # the second of the day, through B
        r = http_send(via(acme, b), rel.id, "through B")
        assert r.json()["decision"] == "accepted", r
    got = campaign(a)
    assert (got["accepted"], got["reasons"]) == (
        0, {"frequency_cap": 3}), got
    got = campaign(b)  # and B, which holds them too, sees A's refusals
    assert (got["accepted"], got["reasons"]) == (
        0, {"frequency_cap": 3}), got


# --- 5. PostgreSQL restarted under load ---------------------------------

@pytest.fixture
def own_cluster(pg_cluster):
    cluster = PgCluster()
    yield cluster
    cluster.stop()


def test_a_restart_of_postgresql_loses_nothing(start_server, ctx,
                                               own_cluster):
    ctx.pg_url = own_cluster.new_database()
    a, b = nodes(start_server, ctx, 2)
    ana = a.signup("ana")
    acme = a.add_brand("Acme")
    rel = connect(a, ana, acme, TERMS)
    history = History()
    load = Load(history, acme, [rel],
                [(n, d) for n in (a, b) for d in ("http", "lmtp")], "r",
                pause=0.01)
    try:
        until(lambda: len(history.acked) >= 10, "no load", 20)
        own_cluster.script("stop", own_cluster.dir)
        down = len(history.acked)
        # While it is down, the nodes say so: 451 over LMTP, and over
        # HTTP no 201 (503).
        until(lambda: history.unacked["lmtp 451"] >= 2 and sum(
            n for k, n in history.unacked.items()
            if k.startswith("http 4") or k.startswith("http 5")) >= 2,
            f"no 503/451 while down: {dict(history.unacked)}", 20)
        assert len(history.acked) <= down + 4  # answers in flight at stop
        own_cluster.script("start", own_cluster.dir, str(own_cluster.port))
        # Back by themselves: 201 and 250 again from both nodes.
        until(lambda: len(history.acked) >= down + 20,
              f"never recovered: {dict(history.unacked)}", 30)
    finally:
        load.stop()
    for node in (a, b):
        r = http_send(via(acme, node), rel.id, f"after-{node.name}")
        assert r.status == 201, r
        history.http(rel.id, f"after-{node.name}", r)
    print(f"\nrestart: {len(history.acked)} acknowledged, not: "
          f"{dict(history.unacked)} {history.odd}")
    by_rel, _ = stored(b, [ana])
    check_acked_stored(history, by_rel)
    print("restart: stored", Counter((m["decision"], m["reason"])
                                     for m in by_rel[rel.id]))


def test_while_postgresql_is_down_http_answers_503(start_server, ctx,
                                                  own_cluster):
    a, ana, acme, rel = one_node(start_server, ctx, own_cluster)
    assert http_send(acme, rel.id, "before").status == 201
    own_cluster.script("stop", own_cluster.dir)
    try:
        statuses = {http_send(acme, rel.id, f"down{i}").status
                    for i in range(3)}
        line = lmtp_send(a.lmtp_port, "news@acme.example", [rel.alias],
                         "down-lmtp")[0]
    finally:
        own_cluster.script("start", own_cluster.dir, str(own_cluster.port))
    assert line is not None and line.startswith("451"), line
    assert statuses == {503}, statuses


def test_a_restart_of_postgresql_makes_no_false_leak(start_server, ctx,
                                                    own_cluster):
    a, ana, acme, rel = one_node(start_server, ctx, own_cluster)
    history = History()
    load = Load(history, acme, [rel], [(a, "lmtp")] * 6, "l")
    try:
        for _ in range(3):
            time.sleep(0.3)
            own_cluster.script("restart", own_cluster.dir)
        time.sleep(0.3)
    finally:
        load.stop()
    print(f"\nno false leak: {len(history.acked)} acknowledged, not: "
          f"{dict(history.unacked)}")
    leaks = [m for m in ana.messages() if m["reason"] == "sender_not_brand"]
    assert history.unacked["lmtp 550"] == 0 and leaks == [], (
        history.odd, leaks[:3])


# --- 6. Idempotency keys, sessions, connect codes on any node ----------------

def test_keys_sessions_and_codes_work_on_any_node(start_server, ctx,
                                                  pg_cluster):
    a, b, c = nodes(start_server, ctx, 3)
    ana = a.signup("ana")
    acme = a.add_brand("Acme")
    rel = connect(a, ana, acme, TERMS)
    key = {"Idempotency-Key": "order-17"}
    first = http_send(acme, rel.id, "once", headers=key)
    assert first.status == 201, first
    again = http_send(via(acme, b), rel.id, "once", headers=key)
    assert again.status == 201 and again.json() == first.json(), again
    assert [m["subject"] for m in via(ana, c).messages()] == ["once"]

    # A session made on A works on B; its end on B holds on A.
    r = a.call("POST", "/v1/session", {"handle": "ana",
                                       "password": ana.password})
    assert r.status == 204, r
    cookie = {"Cookie": r.headers["Set-Cookie"].split(";")[0]}
    for node in (a, b, c):
        assert node.call("GET", "/v1/me/profile", headers=cookie).status \
            == 200
    r = b.call("DELETE", "/v1/session", headers=dict(cookie, **{
        "X-CMR-CSRF": "1"}))
    assert r.status == 204, r
    for node in (a, b, c):
        assert node.call("GET", "/v1/me/profile", headers=cookie).status \
            == 401

    # A connect code made on A is used on B, once.
    bob = a.signup("bob")
    code = a.code(bob)
    body = dict(ASK_MAIL, connect_code=code)
    assert via(acme, b).post("/v1/proposals", body).status == 201
    for node in (a, b, c):
        assert via(acme, node).post("/v1/proposals", body).status == 404
    assert len(via(bob, c).all("/v1/me/proposals")) == 1


# --- 7. The same stream on SQLite and on PostgreSQL ---------------------

class SqliteCtx(Ctx):
    """An installation on SQLite, also when the suite runs on PostgreSQL."""

    @property
    def store(self):
        return "sqlite:" + str(self.root / "cmr.db")


def stream(node, ctx, seed):
    """A random stream of operations through `node`'s doors; returns what
    each door answered (ids left out: they differ between stores)."""
    rng = random.Random(seed)
    out = []
    persons, brands, rels = [], [], []
    for i in range(3):
        persons.append(node.signup(f"per{i}"))
        persons[-1].ok("PUT", "/v1/me/terms", {"caps": {"email": {
            "max": 6, "per_seconds": DAY}}})
    for name in ("Acme", "Bakery"):
        brands.append(node.add_brand(name))
    pending = []
    ops = ["propose"] * 2 + ["accept"] * 3 + ["terms"] * 2 + ["http"] * 4 + \
        ["lmtp"] * 4 + ["mute", "end"]
    for step in range(100):
        op = rng.choice(ops)
        if op == "propose" or (op == "accept" and not pending):
            p, br = rng.choice(persons), rng.choice(brands)
            r = br.post("/v1/proposals", dict(ASK_MAIL,
                                              connect_code=node.code(p)))
            out.append(("propose", p.handle, br.name, r.status))
            if r.status == 201:
                pending.append((p, br, r.json()["id"]))
        elif op == "accept":
            p, br, prp = pending.pop(rng.randrange(len(pending)))
            r = p.post(f"/v1/me/proposals/{prp}/accept", GRANT_MAIL)
            out.append(("accept", p.handle, br.name, r.status))
            if r.status == 201:
                rels.append(conftest.Relationship(p, br, prp, r.json()))
        elif not rels:
            out.append((op, "none"))
        elif op == "terms":
            rel = rng.choice(rels)
            cap = rng.choice([1, 2, 3])
            over = rng.choice(["refuse", "hold"])
            r = rel.put_terms(capped(cap, over))
            out.append(("terms", rels.index(rel), cap, over, r.status))
        elif op == "http":
            rel = rng.choice(rels)
            r = rel.brand.send(rel.id, subject=f"s{step}")
            a = r.json()
            out.append(("http", rels.index(rel), r.status, a.get("decision"),
                        a.get("reason")))
        elif op == "lmtp":
            br = rng.choice(brands)
            mine = [r for r in rels if r.brand is br]
            if not mine:
                out.append(("lmtp", "none"))
                continue
            pick = rng.sample(mine, min(len(mine), rng.choice([1, 2])))
            lines = lmtp_send(node.lmtp_port,
                              f"news@{br.name.lower()}.example",
                              [r.alias for r in pick], f"s{step}")
            out.append(("lmtp", [rels.index(r) for r in pick], [
                re.sub(r"<[^>]*>", "<alias>", line or "") for line in lines]))
        elif op == "mute":
            rel = rng.choice(rels)
            r = rel.person.post(f"/v1/me/relationships/{rel.id}/mute")
            out.append(("mute", rels.index(rel), r.status))
        else:
            rel = rng.choice(rels)
            r = rel.person.post(f"/v1/me/relationships/{rel.id}/end")
            out.append(("end", rels.index(rel), r.status))
    seen = []
    for p in persons:
        for m in reversed(p.messages()):
            seen.append((p.handle, m["subject"], m["decision"], m["reason"],
                         m["folder"], m["brand"]["name"],
                         [i for i, r in enumerate(rels)
                          if r.id == m["relationship"]]))
    ledgers = [[(e["seq"], e["type"]) for e in p.ledger()] for p in persons]
    return out, seen, ledgers


# Two seeds whose streams reach both cap reasons, and holds (1) or a
# muted relationship's Later (7).
@pytest.mark.parametrize("seed", [1, 7])
def test_sqlite_and_postgresql_decide_alike(tmp_path, pg_cluster, seed):
    lite = SqliteCtx(tmp_path / "lite")
    lite.root.mkdir()
    pg = Ctx(tmp_path / "pg")
    pg.root.mkdir()
    pg.pg_url = pg_cluster.new_database()
    results, servers = [], []
    try:
        for c in (lite, pg):
            c.serve_env = {"CMR_NOW_OFFSET": "3600"}
            node = Node(lambda *x, c=c: start_server_for(c, x, servers), c,
                        "X")
            results.append(stream(node, c, seed))
            node.stop()
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
    (out_l, seen_l, led_l), (out_p, seen_p, led_p) = results
    assert out_l == out_p
    assert seen_l == seen_p
    assert led_l == led_p
    print("\ndifferential:", Counter(o[0] for o in out_p),
          Counter((m[2], m[3]) for m in seen_p))
    assert any(s[2] == "deliver" for s in seen_p)
    assert any(s[3] == "frequency_cap" for s in seen_p), seen_p
    assert any(s[3] == "global_frequency_cap" for s in seen_p), seen_p
    assert any(s[4] == "later" for s in seen_p) or any(
        s[2] == "hold" for s in seen_p), seen_p
    for c in (lite, pg):
        c.ok("ledger", "verify")
    for s in servers:
        s.check_sanitizers()


def start_server_for(c, extra, servers):
    s = conftest.Server(c, *extra)
    servers.append(s)
    return s
