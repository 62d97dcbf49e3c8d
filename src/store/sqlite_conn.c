/*
 * sqlite_conn.c — the SQLite backend's connections and reads.
 *
 * A connection caches its prepared statements by SQL text (the pointer
 * of a string literal). Readers take a connection from a small pool (one
 * per concurrent reader), opened read-only; a read session pins one to a
 * thread inside one read transaction. A read names where it goes with a
 * struct store_rd: the pool, or a writer job's own connection, inside
 * its transaction (sqlite_rd_conn).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sqlite.h"

/* ---- Connections and statements ---- */

int sqlite_status(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_CONSTRAINT:
		return STORE_CONFLICT;
	default:
		return STORE_FAULT;
	}
}

int sqlite_conn_open(struct sqlite_conn *c, const char *path, bool writer,
		     char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_NOMUTEX |
		    (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
			    : SQLITE_OPEN_READONLY);

	memset(c, 0, sizeof(*c));
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close(c->db);
		c->db = NULL;
		return STORE_FAULT;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 10000);
	const char *pragmas =
		writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA secure_delete=ON;"
			 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
			 "PRAGMA cache_size=-65536;"
		       : "PRAGMA query_only=1; PRAGMA cache_size=-16384;";
	char *msg = NULL;
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up %s: %s", path,
			 msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(c->db);
		c->db = NULL;
		return STORE_FAULT;
	}
	return STORE_OK;
}

void sqlite_conn_close(struct sqlite_conn *c)
{
	for (int i = 0; i < c->n; i++)
		sqlite3_finalize(c->stmts[i].stmt);
	c->n = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

sqlite3_stmt *sqlite_stmt(struct sqlite_conn *c, const char *sql)
{
	for (int i = 0; i < c->n; i++)
		if (c->stmts[i].sql == sql) {
			sqlite3_stmt *st = c->stmts[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			       NULL) != SQLITE_OK) {
		log_warn("store: prepare failed: %s", sqlite3_errmsg(c->db));
		return NULL;
	}
	if (c->n == SQLITE_STMT_CACHE) {
		/* Every statement is a cached one: an uncached one would be
		 * neither reset by its caller's end nor finalized at close.
		 * Raise SQLITE_STMT_CACHE when the SQL texts outgrow it. */
		log_warn("store: statement cache full");
		sqlite3_finalize(st);
		return NULL;
	}
	c->stmts[c->n++] = (struct sqlite_stmt_slot){ sql, st };
	return st;
}

/* A read session pins one reader connection to the calling thread inside
 * one read transaction, so a request's several reads share one snapshot
 * and one set of WAL locks (see store_read_begin). */
static __thread struct {
	struct sqlite_store *s;
	struct sqlite_conn *c;
} sqlite_pinned;

static struct sqlite_conn *sqlite_reader(struct sqlite_store *s)
{
	if (sqlite_pinned.s == s)
		return sqlite_pinned.c;
	pthread_mutex_lock(&s->pool_lock);
	struct sqlite_conn *c = s->pool;
	if (c)
		s->pool = c->next;
	pthread_mutex_unlock(&s->pool_lock);
	if (c)
		return c;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	char err[256];
	if (sqlite_conn_open(c, s->path, false, err, sizeof(err)) != 0) {
		log_warn("store: reader: %s", err);
		free(c);
		return NULL;
	}
	return c;
}

static void sqlite_reader_put(struct sqlite_store *s, struct sqlite_conn *c)
{
	if (sqlite_pinned.c == c && sqlite_pinned.s == s) {
		/* Pinned: keep the transaction, and leave the other statements
		 * alone — a caller may be iterating one while a callback reads
		 * (each read resets its own statement). */
		return;
	}
	/* Leave no statement holding a read snapshot open. */
	for (int i = 0; i < c->n; i++)
		sqlite3_reset(c->stmts[i].stmt);
	pthread_mutex_lock(&s->pool_lock);
	c->next = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->pool_lock);
}

/* Prepared once per connection: parsing BEGIN for every request costs. */
static const char sql_begin[] = "BEGIN";
static const char sql_commit[] = "COMMIT";

void sqlite_read_begin(struct store *store)
{
	struct sqlite_store *s = S(store);
	if (sqlite_pinned.s != NULL)
		return; /* sessions do not nest */
	struct sqlite_conn *c = sqlite_reader(s);
	if (c == NULL)
		return; /* reads then take connections one by one */
	sqlite3_stmt *begin = sqlite_stmt(c, sql_begin);
	if (begin == NULL || sqlite3_step(begin) != SQLITE_DONE) {
		if (begin)
			sqlite3_reset(begin);
		sqlite_reader_put(s, c);
		return;
	}
	sqlite3_reset(begin);
	sqlite_pinned.s = s;
	sqlite_pinned.c = c;
}

void sqlite_read_end(struct store *store)
{
	struct sqlite_store *s = S(store);
	if (sqlite_pinned.s != s)
		return;
	struct sqlite_conn *c = sqlite_pinned.c;
	sqlite_pinned.s = NULL;
	sqlite_pinned.c = NULL;
	for (int i = 0; i < c->n; i++)
		sqlite3_reset(c->stmts[i].stmt);
	sqlite3_stmt *commit = sqlite_stmt(c, sql_commit);
	if (commit == NULL || sqlite3_step(commit) != SQLITE_DONE)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (commit)
		sqlite3_reset(commit);
	sqlite_reader_put(s, c);
}

int sqlite_exec_stmt(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if ((rc & 0xff) != SQLITE_CONSTRAINT)
			log_warn("store: write failed: %s", sqlite3_errstr(rc));
		return sqlite_status(rc & 0xff);
	}
	return STORE_OK;
}

int sqlite_exec_changed(struct store_tx *tx, sqlite3_stmt *st, int none)
{
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(sqlite_tx_conn(tx)->db) == 0)
		return none;
	return status;
}

int sqlite_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_warn("store: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
	}
	return rc;
}

/* ---- Reads ---- */

/* The connection a read goes through: a job's own (the writer's) for a
 * transaction's reads, else one of the readers (NULL when none can be
 * had); sqlite_rd_put gives it back. */
static struct sqlite_conn *sqlite_rd_conn(struct store_rd *rd)
{
	return rd->tx ? sqlite_tx_conn(rd->tx) : sqlite_reader(S(rd->store));
}

static void sqlite_rd_put(struct store_rd *rd, struct sqlite_conn *c)
{
	if (rd->tx == NULL)
		sqlite_reader_put(S(rd->store), c);
}

sqlite3_stmt *sqlite_select(struct sqlite_select *q, struct store_rd *rd,
			    const char *sql)
{
	*q = (struct sqlite_select){ .rd = rd, .status = STORE_OK };
	q->conn = sqlite_rd_conn(rd);
	if (q->conn == NULL)
		return NULL;
	q->st = sqlite_stmt(q->conn, sql);
	if (q->st == NULL)
		sqlite_rd_put(rd, q->conn);
	return q->st;
}

bool sqlite_select_next(struct sqlite_select *q, sqlite_row_fn row, void *out)
{
	if (q->done || q->status != STORE_OK)
		return false;
	int rc = sqlite3_step(q->st);
	if (rc == SQLITE_DONE) {
		q->done = true; /* another step would start it over */
		return false;
	}
	if (rc != SQLITE_ROW || (row && row(q->st, out) != STORE_OK)) {
		q->status = STORE_FAULT;
		return false;
	}
	return true;
}

int sqlite_select_end(struct sqlite_select *q)
{
	sqlite3_reset(q->st);
	sqlite_rd_put(q->rd, q->conn);
	return q->status;
}

int sqlite_select_one(struct sqlite_select *q, sqlite_row_fn row, void *out)
{
	bool found = sqlite_select_next(q, row, out);
	int status = sqlite_select_end(q);
	return status == STORE_OK && !found ? STORE_NOT_FOUND : status;
}

int sqlite_select_key(struct store_rd *rd, const char *sql, uint64_t id,
		      const char *text, sqlite_row_fn row, void *out)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql);
	if (st == NULL)
		return STORE_FAULT;
	if (text)
		bind_text(st, 1, text);
	else
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	return sqlite_select_one(&q, row, out);
}

int sqlite_row_key(sqlite3_stmt *st, void *out)
{
	*(uint64_t *)out = (uint64_t)sqlite3_column_int64(st, 0);
	return STORE_OK;
}

int sqlite_row_int(sqlite3_stmt *st, void *out)
{
	*(int64_t *)out = sqlite3_column_int64(st, 0);
	return STORE_OK;
}

int sqlite_row_text(sqlite3_stmt *st, void *out)
{
	char **text = out;
	*text = col_strdup(st, 0);
	return *text ? STORE_OK : STORE_FAULT;
}

int sqlite_update_text(struct store_tx *tx, const char *sql, uint64_t id,
		       const char *v)
{
	WRITER_STMT(tx, sql);
	bind_text(st, 1, v);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	return sqlite_exec_changed(tx, st, STORE_NOT_FOUND);
}
