/*
 * pg_guard.c — what lets several servers share a PostgreSQL store: the
 * guard of a person's data (a row lock and a version, for the caches of
 * docs/ARCHITECTURE.md's "Several nodes") and the notices that tell the
 * other servers what went stale (LISTEN/NOTIFY on the channel cmr_gate),
 * and the lock-outs of app/throttle.c, counted in the store.
 *
 * A guard waits for the person's row only while no earlier job of the
 * writer's batch holds a lock: a job later in a batch that finds the row
 * taken (NOWAIT) is run again, first of the next batch, where it may
 * wait. So two servers' batches never wait for each other in a circle;
 * a job that locks several persons (a campaign's chunk, mail to several
 * recipients) may still meet one in a circle, and PostgreSQL's deadlock
 * detector then fails it, to be run again too.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "pg.h"

static const char q_guard_wait[] =
	"UPDATE persons SET gate_version = gate_version + 1 WHERE id = ? "
	"RETURNING gate_version";
static const char q_guard_nowait[] =
	"UPDATE persons SET gate_version = gate_version + 1 WHERE id = "
	"(SELECT id FROM persons WHERE id = ?1 FOR UPDATE NOWAIT) "
	"RETURNING gate_version";
static const char q_notify[] = "SELECT pg_notify('cmr_gate', ?)";

int pg_person_guard(struct store_tx *tx, uint64_t person, bool notify,
		    int64_t *version)
{
	struct pg_store *s = PG(tx->store);
	*version = 0;
	/* Waits only while no earlier job of the batch holds a lock. */
	bool nowait = s->locked_by != 0 && s->locked_by != tx->job;
	int rc = sql_select_key(&tx->reads,
				nowait ? q_guard_nowait : q_guard_wait, person,
				NULL, sql_row_int, version);
	if (rc != STORE_OK)
		return s->retry ? STORE_RETRY : rc;
	if (s->locked_by == 0)
		s->locked_by = tx->job;
	if (notify) {
		char id[24];
		snprintf(id, sizeof(id), "%" PRIu64, person);
		int64_t unused;
		rc = sql_select_key(&tx->reads, q_notify, 0, id, sql_row_int,
				    &unused);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* Many persons in one statement, their rows locked in key order (two
 * servers' chunks then take shared persons in the same order). */
#define PG_GUARD_MANY                                                          \
	"UPDATE persons SET gate_version = gate_version + 1 WHERE id IN "      \
	"(SELECT id FROM persons WHERE id" SQL_IN_KEYS_PG " ORDER BY id FOR "  \
	"UPDATE"
static const char q_guard_many_wait[] =
	PG_GUARD_MANY ") RETURNING id, gate_version";
static const char q_guard_many_nowait[] =
	PG_GUARD_MANY " NOWAIT) RETURNING id, gate_version";

int pg_person_guard_many(struct store_tx *tx, const uint64_t *persons, size_t n,
			 store_guard_cb cb, void *arg)
{
	struct pg_store *s = PG(tx->store);
	if (n == 0)
		return STORE_OK;
	bool nowait = s->locked_by != 0 && s->locked_by != tx->job;
	const char *sql = nowait ? q_guard_many_nowait : q_guard_many_wait;
	char *keys;
	struct sql_select q;
	if (sql_select_keys(&q, &tx->reads, sql, sql, persons, n, &keys) ==
	    NULL)
		return STORE_FAULT;
	bool stopped = false;
	while (!stopped && sql_select_next(&q, NULL, NULL))
		stopped = cb(arg, (uint64_t)sql_col_int(q.st, 0),
			     sql_col_int(q.st, 1)) != 0;
	int rc = sql_select_end(&q);
	free(keys);
	if (rc != STORE_OK)
		return s->retry ? STORE_RETRY : rc;
	if (s->locked_by == 0)
		s->locked_by = tx->job;
	return stopped ? STORE_FAULT : STORE_OK;
}

/* ---- The listener ---- */

struct pg_listener {
	struct pg_store *s;
	store_notify_fn fn;
	bool (*relocked)(void *);
	void *arg;
	pthread_t thread;
	bool waiting; /* for a rotation that holds the lock (said once) */
	bool check;   /* relocked is due */
	int pause;    /* turns to skip before trying the lock again */
};

/* Waits up to a second for the connection's socket to be readable. */
static void pg_wait_readable(PGconn *pg)
{
	struct pollfd p = { .fd = PQsocket(pg), .events = POLLIN };
	if (p.fd >= 0)
		(void)poll(&p, 1, 1000);
}

static bool pg_listener_stopping(struct pg_store *s)
{
	pthread_mutex_lock(&s->pool_lock);
	bool stop = s->listen_stop;
	pthread_mutex_unlock(&s->pool_lock);
	return stop;
}

/* A server's lock (store_lock), kept: its connection is looked at without
 * a round trip (one PostgreSQL dropped has its socket readable, then
 * fails to read), and a lock lost with it is taken again, then the server
 * told (relocked, until it could check). */
static void pg_lock_keep(struct pg_listener *l)
{
	struct pg_store *s = l->s;
	char err[512];

	if (!s->lock_kept)
		return;
	if (l->check && l->relocked)
		l->check = !l->relocked(l->arg);
	if (s->lock.pg) {
		struct pollfd p = { .fd = PQsocket(s->lock.pg),
				    .events = POLLIN };
		if (p.fd >= 0 && poll(&p, 1, 0) == 0)
			return; /* nothing came: held */
		if (p.fd >= 0 && PQconsumeInput(s->lock.pg) &&
		    PQstatus(s->lock.pg) == CONNECTION_OK)
			return; /* a notice; the end, if any, comes next */
		log_warn("store: the servers' lock was lost with its "
			 "connection: taking it again");
		pg_conn_close(&s->lock);
	}
	if (l->pause > 0) { /* a rotation holds it: a try every 5 s */
		l->pause--;
		return;
	}
	int rc = pg_lock_take(s, STORE_LOCK_SERVE, err, sizeof(err));
	if (rc == STORE_OK) {
		log_info("store: the servers' lock is held again");
		l->waiting = false;
		l->check = l->relocked && !l->relocked(l->arg);
	} else if (rc == STORE_CONFLICT) {
		if (!l->waiting)
			log_warn("store: %s (this server lost the lock and "
				 "waits for it)",
				 err);
		l->waiting = true;
		l->pause = 4;
	}
}

static void *pg_listen_main(void *arg)
{
	struct pg_listener *l = arg;
	struct pg_conn c = { 0 };
	bool first = true; /* nothing was cached before the first connect */

	while (!pg_listener_stopping(l->s)) {
		char err[512];
		bool renewed;
		pg_lock_keep(l);
		/* A failed connect is logged by the reach, once an outage. */
		int rc = pg_conn_ensure(l->s, &c, PG_LISTENER, err, sizeof(err),
					&renewed);
		if (rc == STORE_OK && renewed &&
		    pg_exec(&c, "LISTEN cmr_gate") != STORE_OK) {
			log_warn("store: listener: LISTEN cmr_gate failed");
			pg_conn_close(&c); /* opened again, and LISTEN, next */
			rc = STORE_FAULT;
		}
		if (rc != STORE_OK) {
			struct timespec ts = { 1, 0 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (renewed) {
			/* Notices sent while there was no connection are
			 * lost, even when it came back at once: everything
			 * cached may be stale. */
			if (!first)
				l->fn(l->arg, 0);
			first = false;
		}
		pg_wait_readable(c.pg);
		if (!PQconsumeInput(c.pg))
			continue; /* lost: reconnect above */
		PGnotify *n;
		while ((n = PQnotifies(c.pg)) != NULL) {
			uint64_t person = strtoull(n->extra, NULL, 10);
			PQfreemem(n);
			if (person)
				l->fn(l->arg, person);
		}
	}
	if (c.pg)
		pg_conn_close(&c);
	return NULL;
}

int pg_listen(struct store *store, store_notify_fn fn, bool (*relocked)(void *),
	      void *arg)
{
	struct pg_store *s = PG(store);
	if (s->listener)
		return STORE_FAULT; /* once per store */
	struct pg_listener *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return STORE_FAULT;
	*l = (struct pg_listener){
		.s = s, .fn = fn, .relocked = relocked, .arg = arg
	};
	if (pthread_create(&l->thread, NULL, pg_listen_main, l) != 0) {
		free(l);
		return STORE_FAULT;
	}
	s->listener = l;
	return STORE_OK;
}

void pg_listen_stop(struct pg_store *s)
{
	if (s->listener == NULL)
		return;
	pthread_mutex_lock(&s->pool_lock);
	s->listen_stop = true;
	pthread_mutex_unlock(&s->pool_lock);
	pthread_join(s->listener->thread, NULL);
	free(s->listener);
	s->listener = NULL;
}

/* ---- Lock-outs ---- */

/* A lock-out statement and how many of ($1 key, $2 at, $3 window) it
 * takes. */
struct pg_throttle_stmt {
	const char *sql;
	int n;
};

/* On a connection of their own (a request's pinned read session is read
 * only), each one autocommitted statement. */
static const struct pg_throttle_stmt pg_throttle_sql[] = {
	{ "SELECT greatest(locked_until - $2::bigint, 0) FROM throttles WHERE "
	  "key = $1",
	  2 },
	/* The row made if missing, then counted: afresh when the window
	 * passed and no lock-out holds (every SET reads the old row). */
	{ "WITH n AS (INSERT INTO throttles(key, first_at, failures, "
	  "locked_until) VALUES ($1, $2::bigint, 0, 0) ON CONFLICT DO NOTHING) "
	  "SELECT 0",
	  2 },
	{ "UPDATE throttles SET locked_until = greatest(locked_until, "
	  "$2::bigint) WHERE key = $1 RETURNING 0",
	  2 },
	{ "DELETE FROM throttles WHERE key = $1 RETURNING 0", 1 },
};
static const struct pg_throttle_stmt pg_throttle_count = {
	"UPDATE throttles SET first_at = CASE WHEN $2::bigint - first_at > "
	"$3::bigint AND $2::bigint >= locked_until THEN $2::bigint ELSE "
	"first_at END, failures = CASE WHEN $2::bigint - first_at > "
	"$3::bigint AND $2::bigint >= locked_until THEN 1 ELSE failures + 1 "
	"END, locked_until = CASE WHEN $2::bigint - first_at > $3::bigint AND "
	"$2::bigint >= locked_until THEN 0 ELSE locked_until END WHERE key = "
	"$1 RETURNING failures",
	3
};

/* Runs q with the key and two integers; *out the first column of its
 * row (0 with none). */
static int pg_throttle_run(struct pg_conn *c, const struct pg_throttle_stmt *q,
			   const char *key, int64_t a, int64_t b, int64_t *out)
{
	char na[24], nb[24];
	snprintf(na, sizeof(na), "%" PRId64, a);
	snprintf(nb, sizeof(nb), "%" PRId64, b);
	const char *values[3] = { key, na, nb };
	PGresult *res =
		PQexecParams(c->pg, q->sql, q->n, NULL, values, NULL, NULL, 0);
	ExecStatusType rs = PQresultStatus(res);
	int rc = STORE_OK;
	*out = 0;
	if (rs == PGRES_TUPLES_OK && PQntuples(res) > 0)
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
		rc = STORE_FAULT;
	if (rc != STORE_OK && PQstatus(c->pg) == CONNECTION_OK)
		log_warn("store: lock-outs: %s", PQerrorMessage(c->pg));
	PQclear(res);
	return rc;
}

int pg_throttle(struct store *store, int op, const char *key, int64_t at,
		int64_t window, int64_t *out)
{
	struct pg_store *s = PG(store);
	int rc = STORE_FAULT;
	if (op < 0 || op > 3)
		return STORE_INVALID;
	char err[512];
	bool renewed;
	pthread_mutex_lock(&s->shared_lock);
	if (pg_conn_ensure(s, &s->shared, PG_LOCKOUTS, err, sizeof(err),
			   &renewed) != STORE_OK)
		goto out; /* logged by the reach, once an outage */
	rc = pg_throttle_run(&s->shared, &pg_throttle_sql[op], key, at, window,
			     out);
	if (rc == STORE_OK && op == 1)
		rc = pg_throttle_run(&s->shared, &pg_throttle_count, key, at,
				     window, out);
out:
	pthread_mutex_unlock(&s->shared_lock);
	return rc;
}
