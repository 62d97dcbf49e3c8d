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

/* SQLite's count of its memory in use takes a global mutex at every
 * allocation; nothing reads it here (sqlite3_status), so it is off. Once,
 * before SQLite initialises (later the call is refused, harmlessly: a
 * test that wraps SQLite's allocator has initialised it first). */
static void sqlite_conn_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int sqlite_conn_open(struct sqlite_conn *c, const char *path, bool writer,
		     char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_conn_config);
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
		sqlite3_finalize(c->stmts[i].stmt.st);
	c->n = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

/* The cached slot of sql on c, its statement reset and unbound; NULL on
 * error. */
static struct sqlite_stmt *sqlite_slot(struct sqlite_conn *c, const char *sql)
{
	for (int i = 0; i < c->n; i++)
		if (c->stmts[i].sql == sql) {
			struct sqlite_stmt *s = &c->stmts[i].stmt;
			sqlite3_reset(s->st);
			sqlite3_clear_bindings(s->st);
			return s;
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
	struct sqlite_stmt_slot *slot = &c->stmts[c->n++];
	*slot = (struct sqlite_stmt_slot){
		sql, { .base = { &sqlite_sql_ops, NULL }, .st = st, .conn = c }
	};
	return &slot->stmt;
}

sqlite3_stmt *sqlite_stmt(struct sqlite_conn *c, const char *sql)
{
	struct sqlite_stmt *s = sqlite_slot(c, sql);
	return s ? s->st : NULL;
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
		sqlite3_reset(c->stmts[i].stmt.st);
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
		sqlite3_reset(c->stmts[i].stmt.st);
	sqlite3_stmt *commit = sqlite_stmt(c, sql_commit);
	if (commit == NULL || sqlite3_step(commit) != SQLITE_DONE)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (commit)
		sqlite3_reset(commit);
	sqlite_reader_put(s, c);
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

/* ---- The statements of sql.h ---- */

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

#define ST(s) (((struct sqlite_stmt *)(s))->st)

static struct sql_stmt *sqlite_sql_stmt(struct store_rd *rd, const char *sql)
{
	struct sqlite_conn *c = sqlite_rd_conn(rd);
	if (c == NULL)
		return NULL;
	struct sqlite_stmt *s = sqlite_slot(c, sql);
	if (s == NULL) {
		sqlite_rd_put(rd, c);
		return NULL;
	}
	s->base.rd = rd;
	return &s->base;
}

static int sqlite_sql_step(struct sql_stmt *s)
{
	int rc = sqlite3_step(ST(s));
	if (rc == SQLITE_ROW)
		return SQL_ROW;
	if (rc == SQLITE_DONE)
		return SQL_DONE;
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		log_warn("store: step failed: %s", sqlite3_errstr(rc));
	return sqlite_status(rc & 0xff);
}

static int64_t sqlite_sql_changes(struct sql_stmt *s)
{
	return sqlite3_changes(((struct sqlite_stmt *)s)->conn->db);
}

static void sqlite_sql_release(struct sql_stmt *s)
{
	sqlite3_reset(ST(s));
	sqlite_rd_put(s->rd, ((struct sqlite_stmt *)s)->conn);
}

/* Values are bound SQLITE_STATIC, never SQLITE_TRANSIENT: a transient
 * bind copies the value, and when that allocation fails SQLite leaves the
 * parameter NULL and the statement still runs — a NOT NULL column then
 * reports a conflict, a nullable one silently stores NULL, and a lookup
 * finds nothing (found by failing the N-th allocation in
 * tests/unit/store). A static bind cannot fail so. It is safe here because
 * every statement is stepped and reset by the function that bound it,
 * while the caller's values live, and sqlite_slot() clears the bindings
 * before a cached statement is used again. */
static void sqlite_sql_bind_int(struct sql_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(ST(s), i, v);
}

static void sqlite_sql_bind_text(struct sql_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(ST(s), i, v, -1, SQLITE_STATIC);
}

static void sqlite_sql_bind_blob(struct sql_stmt *s, int i, const void *v,
				 size_t len)
{
	sqlite3_bind_blob64(ST(s), i, v, len, SQLITE_STATIC);
}

static void sqlite_sql_bind_null(struct sql_stmt *s, int i)
{
	sqlite3_bind_null(ST(s), i);
}

static int64_t sqlite_sql_col_int(struct sql_stmt *s, int i)
{
	return sqlite3_column_int64(ST(s), i);
}

static const char *sqlite_sql_col_text(struct sql_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(ST(s), i);
}

static const void *sqlite_sql_col_blob(struct sql_stmt *s, int i)
{
	return sqlite3_column_blob(ST(s), i);
}

static size_t sqlite_sql_col_bytes(struct sql_stmt *s, int i)
{
	return (size_t)sqlite3_column_bytes(ST(s), i);
}

static bool sqlite_sql_col_null(struct sql_stmt *s, int i)
{
	return sqlite3_column_type(ST(s), i) == SQLITE_NULL;
}

static int sqlite_sql_col_count(struct sql_stmt *s)
{
	return sqlite3_column_count(ST(s));
}

/* Many rows of an insert (sql.h's sql_rows): in process, the insert once
 * a row is as fast as any bulk form. */
static int sqlite_sql_rows_add(struct sql_stmt *s)
{
	int rc = sqlite_sql_step(s);
	sqlite3_reset(ST(s));
	sqlite3_clear_bindings(ST(s));
	return rc == SQL_DONE ? STORE_OK : sql_failed(rc);
}

static int sqlite_sql_rows_end(struct sql_stmt *s)
{
	sqlite_sql_release(s);
	return STORE_OK;
}

const struct sql_ops sqlite_sql_ops = {
	.pg = false,
	.stmt = sqlite_sql_stmt,
	.step = sqlite_sql_step,
	.changes = sqlite_sql_changes,
	.release = sqlite_sql_release,
	.bind_int = sqlite_sql_bind_int,
	.bind_text = sqlite_sql_bind_text,
	.bind_blob = sqlite_sql_bind_blob,
	.bind_null = sqlite_sql_bind_null,
	.col_int = sqlite_sql_col_int,
	.col_text = sqlite_sql_col_text,
	.col_blob = sqlite_sql_col_blob,
	.col_bytes = sqlite_sql_col_bytes,
	.col_null = sqlite_sql_col_null,
	.col_count = sqlite_sql_col_count,
	.rows = sqlite_sql_stmt,
	.rows_add = sqlite_sql_rows_add,
	.rows_end = sqlite_sql_rows_end,
};
