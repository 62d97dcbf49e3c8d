/*
 * pg.c — the PostgreSQL backend (postgresql://… or postgres://…, a libpq
 * connection URI): opening and closing it, and its table of operations.
 *
 * Its queries are those of sql_*.c, as for SQLite; what is its own:
 * pg_conn.c (connections, prepared statements, the readers), pg_writer.c
 * (the writer's transaction, a lost connection opened again) and
 * pg_migrate.c (schema/pg/NNN_*.sql, applied once under an advisory
 * lock). Several servers may share one database, so there is no lock of
 * one server per store. See docs/ARCHITECTURE.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

static void pg_close(struct store *store)
{
	struct pg_store *s = PG(store);

	pg_listen_stop(s);
	writer_stop(&s->w);
	if (s->writer.pg)
		pg_conn_close(&s->writer);
	for (struct pg_conn *c = s->pool, *next; c; c = next) {
		next = c->next;
		pg_conn_close(c);
		free(c);
	}
	pthread_mutex_destroy(&s->pool_lock);
	if (s->shared.pg)
		pg_conn_close(&s->shared);
	if (s->lock.pg)
		pg_conn_close(&s->lock);
	pthread_mutex_destroy(&s->shared_lock);
	pthread_mutex_destroy(&s->reach.lock);
	free(s->conninfo);
	free(s);
}

static int pg_open_url(const char *scheme, const char *rest, const char *client,
		       struct store **out, char *err, size_t errlen)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return STORE_FAULT;
	}
	s->base.ops = strcmp(scheme, "postgres") == 0 ? &store_postgres_ops
						      : &store_pg_ops;
	s->base.sql = &pg_sql_ops;
	s->base.reads = (struct store_rd){ &s->base, NULL };
	writer_init(&s->w, &s->base, &pg_writer_ops);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->shared_lock, NULL);
	pthread_mutex_init(&s->reach.lock, NULL);
	snprintf(s->client, sizeof(s->client), "%s", client ? client : "cmr");
	size_t n = strlen(scheme) + 1 + strlen(rest) + 1;
	s->conninfo = malloc(n);
	if (s->conninfo == NULL) {
		snprintf(err, errlen, "out of memory");
		pg_close(&s->base);
		return STORE_FAULT;
	}
	snprintf(s->conninfo, n, "%s:%s", scheme, rest);
	/* Not noted in the reach: its failure is the caller's error. */
	if (pg_conn_open(s, &s->writer, PG_KINDS, err, errlen) != STORE_OK) {
		pg_close(&s->base);
		return STORE_FAULT;
	}
	if (writer_start(&s->w) != STORE_OK) {
		snprintf(err, errlen, "cannot start the writer thread");
		pg_close(&s->base);
		return STORE_FAULT;
	}
	*out = &s->base;
	return STORE_OK;
}

static int pg_open(const char *rest, const char *client, struct store **out,
		   char *err, size_t errlen)
{
	return pg_open_url("postgresql", rest, client, out, err, errlen);
}

static int pg_open_short(const char *rest, const char *client,
			 struct store **out, char *err, size_t errlen)
{
	return pg_open_url("postgres", rest, client, out, err, errlen);
}

/* The servers' advisory lock's key: "cmr-serv" as a 64-bit integer. */
#define PG_SERVE_LOCK "7164508121751450230"

/* Whether a server has sessions open on the store although it holds no
 * lock (it is starting, or lost its lock's session and its listener has
 * yet to take the lock again): its sessions are named "cmr serve …"
 * (serve.c). err tells who. Where the URL or PGAPPNAME names the sessions
 * otherwise, none is recognised: the lock alone then decides. */
static bool pg_lock_others(struct pg_store *s, char *err, size_t errlen)
{
	PGresult *res = PQexec(
		s->lock.pg,
		"SELECT string_agg(DISTINCT application_name, ', ') FROM "
		"pg_stat_activity WHERE datname = current_database() AND "
		"pid <> pg_backend_pid() AND application_name LIKE 'cmr "
		"serve%'");
	bool busy = PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	if (busy)
		snprintf(err, errlen,
			 "the PostgreSQL store has sessions of %.200s without "
			 "the servers' lock (starting, or taking it again "
			 "after PostgreSQL dropped its session): stop every "
			 "server on it first",
			 PQgetvalue(res, 0, 0));
	PQclear(res);
	return busy;
}

/* Several servers share a PostgreSQL store, each holding the lock shared;
 * `cmr keys rotate` holds it alone. Session-level, on a connection kept
 * for it (never idle-timed-out; it must not go through a transaction
 * pooler). Should PostgreSQL drop that connection, the lock is gone with
 * it: a server's listener takes it again (pg_lock_keep), and the server
 * then checks that its keys still open the store, since a rotation may
 * have run in between. What keeps a server left with old keys from
 * storing a data key under a destroyed wrap key meanwhile is the store's
 * record of the current one (store_key_wrap_fence). */
int pg_lock_take(struct pg_store *s, enum store_lock_mode mode, char *err,
		 size_t errlen)
{
	const char *sql =
		mode == STORE_LOCK_ALONE
			? "SELECT pg_try_advisory_lock(" PG_SERVE_LOCK ")"
			: "SELECT pg_try_advisory_lock_shared(" PG_SERVE_LOCK
			  ")";

	if (pg_conn_open(s, &s->lock, PG_KINDS, err, errlen) != STORE_OK)
		return STORE_FAULT;
	s->lock_mode = mode;
	(void)pg_exec(&s->lock, "SET idle_session_timeout = 0");
	PGresult *res = PQexec(s->lock.pg, sql);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	bool got = ok && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	bool others = got && mode == STORE_LOCK_ALONE &&
		      pg_lock_others(s, err, errlen); /* err says who */
	if (got && !others)
		return STORE_OK;
	pg_conn_close(&s->lock);
	if (others)
		return STORE_CONFLICT;
	if (!ok) {
		snprintf(err, errlen,
			 "cannot take the advisory lock of the PostgreSQL "
			 "store");
		return STORE_FAULT;
	}
	snprintf(err, errlen,
		 mode == STORE_LOCK_ALONE
			 ? "the PostgreSQL store is in use by a cmr serve (or "
			   "migrate): stop every server on it first, so that "
			   "none goes on with the keys it loaded (the "
			   "holders: pg_locks WHERE locktype = 'advisory', "
			   "joined with pg_stat_activity on pid)"
			 : "the PostgreSQL store is held by cmr keys rotate: "
			   "start again once it is done");
	return STORE_CONFLICT;
}

static int pg_lock(struct store *store, enum store_lock_mode mode, char *err,
		   size_t errlen)
{
	struct pg_store *s = PG(store);

	if (s->lock.pg) {
		if (mode == s->lock_mode)
			return STORE_OK;
		snprintf(err, errlen,
			 "the store's lock is held already, in another mode");
		return STORE_FAULT;
	}
	int rc = pg_lock_take(s, mode, err, errlen);
	s->lock_kept = rc == STORE_OK && mode == STORE_LOCK_SERVE;
	return rc;
}

#define PG_OPS                                                                 \
	.migrate = pg_migrate, .close = pg_close, .write = pg_write,           \
	.tx_hook = writer_tx_hook, .tx_checkpoint = writer_tx_checkpoint,      \
	.writer_stats = pg_writer_stats, .read_begin = pg_read_begin,          \
	.read_end = pg_read_end, SQL_STORE_OPS.lock = pg_lock,                 \
	.person_guard = pg_person_guard,                                       \
	.person_guard_many = pg_person_guard_many, .listen = pg_listen,        \
	.throttle = pg_throttle, .unreachable_since = pg_unreachable_since

const struct store_ops store_pg_ops = {
	.scheme = "postgresql",
	.open = pg_open,
	PG_OPS,
};

const struct store_ops store_postgres_ops = {
	.scheme = "postgres",
	.open = pg_open_short,
	PG_OPS,
};
