"""An acknowledged write is never lost (docs/ARCHITECTURE.md, "How a message flows").

`cmr serve` takes a load from several threads — single messages with an
Idempotency-Key, campaigns to "all", profile changes (each a ledger
entry) — and is killed with SIGKILL at a seeded random moment. Restarted
on the same store, it must hold every write it acknowledged (201/200)
exactly as it was answered, nothing it did not acknowledge may be half
there, retries of the unanswered requests must take effect once, the
caps must still hold (before and after new messages), and every ledger
chain must verify — both on a copy of the store as the kill left it and
after a clean stop.

Every loop here is bounded in count and in time; the kill always comes
while the senders still run (they stop on the first failed connection)."""
import collections
import http.client
import random
import signal
import threading
import time

import pytest

SEEDS = (7, 1234, 987654)
THREADS = 4              # message senders
PER_THREAD = 20000       # at most this many requests per sender
LOAD_SECONDS = 6.0       # and for at most this long; the kill comes first
KILL_WINDOW = (0.2, 1.5)  # seconds into the load
CAMPAIGN_EVERY = 0.2     # seconds between campaigns to "all"
CAMPAIGNS_MAX = 40
PROFILE_EVERY = 0.01     # seconds between profile changes
PROFILES_MAX = 1000
JOIN_SECONDS = 20        # for the load threads to notice the kill
CAP = 5                  # a relationship's cap: 5 an hour, then refuse
GLOBAL_CAP = 7           # a person's cap over all brands: 7 an hour
AFTER = 10               # messages per relationship after the restart
PAGE = "limit=200"

# Who the load goes to: name -> (global terms, the relationship's email
# channel terms, whether single messages go there, its cap).
SETUP = {
    "capped": ({}, {"allowed": True, "over_cap": "refuse",
                    "cap": {"max": CAP, "per_seconds": 3600}}, True, CAP),
    "global": ({"caps": {"email": {"max": GLOBAL_CAP, "per_seconds": 3600,
                                   "over_cap": "refuse"}}},
               {"allowed": True}, True, GLOBAL_CAP),
    "free": ({}, {"allowed": True}, True, None),
    # Campaigns only: its window fills slowly, so a kill often finds it
    # part full and the restart must reload exactly that.
    "slow": ({}, {"allowed": True, "over_cap": "refuse",
                  "cap": {"max": CAP, "per_seconds": 3600}}, False, CAP),
}

# The person's reason -> what the brand is told (core/gate.h).
BRAND_REASON = {"channel_do_not_contact": "channel_not_permitted",
                "global_frequency_cap": "not_accepted",
                "hold_queue_full": "not_accepted"}
DECISIONS = ("deliver", "hold", "refuse")
GONE = (OSError, http.client.HTTPException)  # no answer: the server died


def brand_sees(m):
    """What the brand was told about an attempt the person sees."""
    if m["decision"] in ("deliver", "hold"):
        return ("accepted", None)
    return ("refused", BRAND_REASON.get(m["reason"], m["reason"]))


def short(problems, n=5):
    return f"{len(problems)} problems, e.g. {problems[:n]}"


class Load:
    """The load of one run and what it was told."""

    def __init__(self, seed, brand, rels, persons):
        self.seed, self.brand, self.rels, self.persons = (seed, brand, rels,
                                                          persons)
        self.targets = [rels[n] for n, s in SETUP.items() if s[2]]
        self.lock = threading.Lock()
        self.killed = threading.Event()
        self.deadline = None
        self.sent = {}           # subject -> relationship id
        self.acked = {}          # subject -> brand's answer (201 body)
        self.unanswered = set()  # subjects sent without any answer
        self.faults = {}         # subject -> status of a 503 (not stored)
        self.unexpected = []     # any other answer
        self.campaigns_sent = set()
        self.campaigns = {}      # subject -> 201 body
        self.campaigns_unanswered = set()
        self.profiles_acked = []  # names, in the order they were set
        self.profile_unanswered = None
        self.ends = []           # why each thread stopped

    def _end(self, why):
        with self.lock:
            self.ends.append(why)

    def sender(self, k):
        for i in range(PER_THREAD):
            if time.monotonic() > self.deadline:
                return self._end("time")
            rel = self.targets[(i + k) % len(self.targets)]
            subject = f"m{self.seed}-{k}-{i}"
            with self.lock:
                self.sent[subject] = rel.id
            try:
                r = self.brand.post("/v1/messages", message(rel.id, subject),
                                    headers={"Idempotency-Key": subject})
            except GONE:
                with self.lock:
                    self.unanswered.add(subject)
                return self._end("killed")
            with self.lock:
                if r.status == 201:
                    self.acked[subject] = r.json()
                elif r.status == 503:
                    self.faults[subject] = r.status
                else:
                    self.unexpected.append((subject, r.status, r.body[:200]))
        self._end("count")

    def campaigner(self):
        for j in range(CAMPAIGNS_MAX):
            if self.killed.is_set() or time.monotonic() > self.deadline:
                break
            subject = f"c{self.seed}-{j}"
            with self.lock:
                self.campaigns_sent.add(subject)
            try:
                r = self.brand.post("/v1/campaigns", campaign(subject),
                                    headers={"Idempotency-Key": subject})
            except GONE:
                with self.lock:
                    self.campaigns_unanswered.add(subject)
                break
            with self.lock:
                if r.status == 201:
                    self.campaigns[subject] = r.json()
                else:
                    self.unexpected.append((subject, r.status, r.body[:200]))
            self.killed.wait(CAMPAIGN_EVERY)
        self._end("campaigns")

    def profiler(self):
        person = self.persons["free"]
        for j in range(PROFILES_MAX):
            if self.killed.is_set() or time.monotonic() > self.deadline:
                break
            name = f"v{self.seed}-{j}"
            try:
                r = person.put("/v1/me/profile", {"name": name})
            except GONE:
                self.profile_unanswered = name
                break
            if r.status == 200:
                self.profiles_acked.append(name)
            else:
                with self.lock:
                    self.unexpected.append((name, r.status, r.body[:200]))
            self.killed.wait(PROFILE_EVERY)
        self._end("profiles")


def message(rel_id, subject):
    return {"relationship": rel_id, "channel": "email", "topic": "offers",
            "subject": subject, "body": f"the body of {subject}"}


def campaign(subject):
    return {"relationships": "all", "channel": "email", "topic": "offers",
            "subject": subject, "body": f"the body of {subject}"}


def everything(persons):
    """Every attempt every person sees: name -> list of items."""
    return {n: p.messages(PAGE) for n, p in persons.items()}


def deliveries(items):
    return sum(m["decision"] == "deliver" for m in items)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_kill_under_load_loses_no_acknowledged_write(make_api, ctx, seed):
    rng = random.Random(seed)
    api = make_api()
    brand = api.add_brand("Acme")
    persons, rels = {}, {}
    for name, (global_terms, email, _, _) in SETUP.items():
        p = api.signup(f"{name}{seed}")
        if global_terms:
            p.ok("PUT", "/v1/me/terms", global_terms)
        rels[name] = api.connect(p, brand, grant={
            "channels": {"email": email}, "fields": ["name"],
            "topics": ["orders", "offers"]})
        persons[name] = p
    ledgers = {n: p.ledger() for n, p in persons.items()}

    # The load, and the kill in the middle of it.
    load = Load(seed, brand, rels, persons)
    threads = [threading.Thread(target=load.sender, args=(k,), daemon=True)
               for k in range(THREADS)]
    threads += [threading.Thread(target=load.campaigner, daemon=True),
                threading.Thread(target=load.profiler, daemon=True)]
    kill_at = rng.uniform(*KILL_WINDOW)
    start = time.monotonic()
    load.deadline = start + LOAD_SECONDS
    for t in threads:
        t.start()
    time.sleep(max(0.0, start + kill_at - time.monotonic()))
    # On a busy machine the first writes come late: the kill waits for
    # enough of them to mean something (but comes before the load ends).
    while len(load.acked) <= 100 and \
            time.monotonic() < start + LOAD_SECONDS - 1.0:
        time.sleep(0.01)
    rc = api.server.stop(signal.SIGKILL)
    load.killed.set()
    killed_after = time.monotonic() - start
    for t in threads:
        t.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "the load did not stop"
    assert rc == -signal.SIGKILL, rc
    assert load.unexpected == [], short(load.unexpected)
    # The kill came while every sender still ran.
    assert sorted(load.ends).count("killed") == THREADS, (load.ends,
                                                         killed_after)
    assert len(load.acked) > 100, len(load.acked)
    assert load.profiles_acked, "no profile change was acknowledged"

    # The store as the kill left it: every chain and head holds.
    crashed = ctx.copy_to(ctx.root / "crashed")
    r = crashed.run("ledger", "verify")
    assert r.rc == 0, r

    api.start()
    seen = everything(persons)
    attempts = [m for items in seen.values() for m in items]
    by_id = {m["id"]: m for m in attempts}
    assert len(by_id) == len(attempts), "an attempt is listed twice"

    # 1. Every acknowledged message is there, as it was answered.
    problems = []
    for subject, answer in load.acked.items():
        m = by_id.get(answer["id"])
        if m is None:
            problems.append(("missing", subject, answer))
        elif (m["subject"], m["relationship"], brand_sees(m)) != (
                subject, load.sent[subject],
                (answer["decision"], answer["reason"])):
            problems.append(("changed", subject, answer, m))
    assert problems == [], short(problems)

    # 2. Nothing is half there: every attempt is complete, and every one
    # that was not acknowledged was in flight at the kill.
    rel_ids = {rel.id for rel in rels.values()}
    acked_ids = {a["id"] for a in load.acked.values()}
    subjects = collections.Counter(m["subject"] for m in attempts)
    for m in attempts:
        complete = (m["subject"] and m["decision"] in DECISIONS
                    and m["reason"] and m["relationship"] in rel_ids
                    and m["brand"]["id"] == brand.id and m["received_at"]
                    and m["channel"] == "email" and m["topic"] == "offers"
                    and (m["folder"] == "inbox")
                    == (m["decision"] == "deliver"))
        if not complete:
            problems.append(("incomplete", m))
        elif m["subject"] in load.sent:
            if m["id"] not in acked_ids and \
                    m["subject"] not in load.unanswered:
                problems.append(("never acknowledged", m))
            if subjects[m["subject"]] != 1:
                problems.append(("stored twice", m))
        elif m["subject"] not in load.campaigns_sent:
            problems.append(("never sent", m))
    assert problems == [], short(problems)
    assert load.faults.keys() & subjects.keys() == set()

    # 3. Every acknowledged campaign reached every relationship, as told.
    for subject, answer in load.campaigns.items():
        mine = [m for m in attempts if m["subject"] == subject]
        told = collections.Counter(brand_sees(m)[1] for m in mine
                                   if m["decision"] == "refuse")
        assert (len(mine), len(mine) - sum(told.values()), dict(told)) == (
            answer["total"], answer["accepted"], answer["reasons"]), (
            subject, answer, mine)
        assert answer["total"] == len(rels)
    # An unanswered campaign is there for every recipient or for none.
    for subject in load.campaigns_unanswered:
        assert subjects[subject] in (0, len(rels)), (subject, subjects)

    # 4. Every acknowledged ledger entry is there: the profile holds the
    # last acknowledged name (or the one in flight), and one
    # profile.changed entry per change.
    free = persons["free"]
    name = free.ok("GET", "/v1/me/profile")["name"]
    changes = [e for e in free.ledger()[len(ledgers["free"]):]
               if e["type"] == "profile.changed"]
    if name == load.profile_unanswered:
        assert len(changes) == len(load.profiles_acked) + 1
    else:
        assert name == load.profiles_acked[-1], (name, load.profiles_acked)
        assert len(changes) == len(load.profiles_acked), len(changes)
    for n, p in persons.items():
        after = p.ledger()
        assert after[:len(ledgers[n])] == ledgers[n], n

    # 5. The brand's view: a retry with the same Idempotency-Key gets the
    # same answer and records nothing new — for the last acknowledged
    # messages and a seeded sample of the rest; and every request in
    # flight at the kill takes effect exactly once when retried.
    order = list(load.acked)
    sample = order[-40:] + rng.sample(order[:-40], min(20, len(order) - 40))
    for subject in sample:
        r = brand.post("/v1/messages",
                       message(load.sent[subject], subject),
                       headers={"Idempotency-Key": subject})
        assert (r.status, r.json()) == (201, load.acked[subject]), subject
    for subject, answer in load.campaigns.items():
        r = brand.post("/v1/campaigns", campaign(subject),
                       headers={"Idempotency-Key": subject})
        assert (r.status, r.json()) == (201, answer), subject
    retried = {}
    for subject in sorted(load.unanswered):
        r = brand.post("/v1/messages", message(load.sent[subject], subject),
                       headers={"Idempotency-Key": subject})
        assert r.status == 201, r
        retried[subject] = r.json()
    for subject in sorted(load.campaigns_unanswered):
        r = brand.post("/v1/campaigns", campaign(subject),
                       headers={"Idempotency-Key": subject})
        assert r.status == 201, r
    seen = everything(persons)
    was = subjects
    attempts = [m for items in seen.values() for m in items]
    subjects = collections.Counter(m["subject"] for m in attempts)
    for subject, answer in retried.items():
        mine = [m for m in attempts if m["subject"] == subject]
        assert [m["id"] for m in mine] == [answer["id"]], (subject, mine)
        assert brand_sees(mine[0]) == (answer["decision"], answer["reason"])
    # Replays added nothing; retries only what was not there yet.
    grew = {s: (was[s], n) for s, n in subjects.items() if n != was[s]}
    expected_grew = {s: (0, 1) for s in retried if was[s] == 0}
    expected_grew.update({s: (0, len(rels))
                          for s in load.campaigns_unanswered if was[s] == 0})
    # A campaign stored in full but unanswered at the kill, retried with
    # its key, is sent again (see test_a_campaign_retried_concurrently_
    # is_recorded_once): judged last, so that the other checks still run.
    doubled = {s: grew.pop(s) for s in load.campaigns_unanswered
               if was[s] == len(rels) and s in grew}
    assert grew == expected_grew, (grew, expected_grew)

    # 6. The caps held through the kill, and still hold after it: new
    # messages fill each window exactly to its cap.
    before = {n: deliveries(items) for n, items in seen.items()}
    for n, (_, _, _, cap) in SETUP.items():
        if cap is not None:
            assert before[n] <= cap, (n, before[n], seen[n])
    told = collections.defaultdict(list)
    for n, rel in rels.items():
        for i in range(AFTER):
            r = brand.post("/v1/messages",
                           message(rel.id, f"after{seed}-{n}-{i}"))
            assert r.status == 201, r
            told[n].append(r.json()["decision"])
    seen = everything(persons)
    for n, (_, _, _, cap) in SETUP.items():
        got = deliveries(seen[n])
        if cap is None:
            assert told[n] == ["accepted"] * AFTER, (n, told[n])
            assert got == before[n] + AFTER, n
        else:
            room = cap - before[n]
            assert told[n] == ["accepted"] * room + ["refused"] * (
                AFTER - room), (n, before[n], told[n])
            assert got == cap, (n, got, seen[n])

    # 7. A clean stop; every chain verifies; the store holds no attempt
    # without a subject or body, and no campaign that is half recorded.
    api.stop()
    r = ctx.run("ledger", "verify")
    assert r.rc == 0, r
    with ctx.sql() as db:
        bad = db.execute(
            "SELECT id, decision, subject, campaign FROM attempts "
            "WHERE decision NOT IN (0, 1, 2) "
            "OR (campaign IS NULL AND subject IS NULL) "
            "OR (campaign IS NULL AND decision IN (0, 1) AND body IS NULL) "
            "OR (campaign IS NOT NULL AND campaign NOT IN "
            "    (SELECT id FROM campaigns))").fetchall()
        counts = db.execute(
            "SELECT c.subject, c.total, c.accepted, "
            "  (SELECT count(*) FROM attempts a WHERE a.campaign = c.id), "
            "  (SELECT count(*) FROM attempts a WHERE a.campaign = c.id "
            "   AND a.decision <> 2) FROM campaigns c").fetchall()
    assert bad == [], bad
    for subject, total, accepted, n, n_accepted in counts:
        assert (total, accepted) == (n, n_accepted), subject
    assert not doubled, (
        "campaign Idempotency-Key not recorded with the campaign: "
        f"{doubled} (stored before the kill, after the retry)")


# --- Retries with one Idempotency-Key, all at once -----------------------
#
# A client that lost its answer (as every sender above did at the kill)
# retries; with several retries racing, the key must still take effect
# once (both routes honour an Idempotency-Key).

RACERS = 8   # concurrent retries of one request
ROUNDS = 5   # each with its own key


def race(brand, path, body, key):
    """RACERS identical requests at once; returns their replies."""
    go, replies, lock = threading.Event(), [], threading.Lock()

    def one():
        go.wait(5)
        r = brand.post(path, body, headers={"Idempotency-Key": key})
        with lock:
            replies.append(r)

    threads = [threading.Thread(target=one, daemon=True)
               for _ in range(RACERS)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(JOIN_SECONDS)
    assert len(replies) == RACERS
    return replies


@pytest.fixture
def racers(api):
    brand = api.add_brand("Acme")
    persons = [api.signup(f"racer{i}") for i in range(3)]
    rels = [api.connect(p, brand) for p in persons]
    return brand, persons, rels


def test_a_message_retried_concurrently_is_recorded_once(racers):
    brand, persons, rels = racers
    for k in range(ROUNDS):
        subject = f"race-{k}"
        replies = race(brand, "/v1/messages", message(rels[0].id, subject),
                       subject)
        assert {r.status for r in replies} == {201}, replies
        answers = {r.body for r in replies}
        assert len(answers) == 1, answers
        mine = [m for m in persons[0].messages()
                if m["subject"] == subject]
        assert [m["id"] for m in mine] == [replies[0].json()["id"]], mine


def test_a_campaign_retried_concurrently_is_recorded_once(racers):
    brand, persons, rels = racers
    for k in range(ROUNDS):
        subject = f"race-{k}"
        replies = race(brand, "/v1/campaigns", campaign(subject), subject)
        # A retry that arrives while the first is still sending is told
        # so (409) rather than waiting; none runs the campaign again.
        assert {r.status for r in replies} <= {201, 409}, replies
        assert any(r.status == 201 for r in replies), replies
        ids = {r.json()["id"] for r in replies if r.status == 201}
        counts = [sum(m["subject"] == subject for m in p.messages())
                  for p in persons]
        assert (len(ids), counts) == (1, [1] * len(persons)), (ids, counts)
