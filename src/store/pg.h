/*
 * pg.h — what the files of the PostgreSQL backend share (private to
 * src/store/pg*.c): pg.c opens and closes it and fills its table of
 * operations, pg_conn.c holds the connections, the statements of sql.h
 * and the readers, pg_writer.c the writer's transaction and pg_migrate.c
 * the schema (schema/pg/NNN_*.sql).
 */
#ifndef CMR_STORE_PG_H
#define CMR_STORE_PG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "sql.h"
#include "writer.h"

#define PG_STMT_CACHE 192 /* above the number of SQL texts */
#define PG_PARAMS_MAX 32  /* above the most any statement binds (21) */

/* What was bound to a parameter (the first execution's binds give the
 * prepared statement the types of its integers and bytes). */
enum { PG_BOUND_NULL, PG_BOUND_INT, PG_BOUND_TEXT, PG_BOUND_BLOB };

struct pg_conn;
struct pg_listener;

/* The kinds of connection a server holds, each told apart in the log
 * while PostgreSQL cannot be reached (pg_reach). */
enum pg_kind { PG_WRITER, PG_READER, PG_LISTENER, PG_LOCKOUTS, PG_KINDS };

/* Whether PostgreSQL can be reached, from the outcome of every connect:
 * readiness (store_unreachable_since) and one log line when a kind of
 * connection starts failing and one when it connects again, instead of
 * one a try. */
struct pg_reach {
	pthread_mutex_t lock;
	int64_t down_since[PG_KINDS]; /* ms: the kind's first failed connect
					 since it last connected; 0: none */
	int64_t unreachable_since;    /* ms: the first failed connect since
					 the last that worked (any kind) */
};

/* A statement of sql.h over a statement prepared on one connection. Its
 * result is fetched whole at the first step. */
struct pg_stmt {
	struct sql_stmt base; /* first */
	struct pg_conn *conn;
	int index;     /* in the connection's cache: its name is s<index> */
	bool prepared; /* on this connection's session */
	int nparams;   /* the parameters of the statement */
	Oid types[PG_PARAMS_MAX];	    /* as the server prepared them */
	unsigned char kinds[PG_PARAMS_MAX]; /* PG_BOUND_* of each bind */
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX];
	int formats[PG_PARAMS_MAX];
	char nums[PG_PARAMS_MAX][24]; /* integers bound, as text */
	PGresult *res;		      /* once stepped */
	int row, rows;		      /* the current row, and how many */
	int64_t changes;	      /* rows a write changed */
	bool renewed;		      /* stepped again on a renewed conn */
};

struct pg_slot {
	const char *sql; /* the SQL text pointer (a string literal) */
	struct pg_stmt stmt;
};

struct pg_conn {
	PGconn *pg;
	int n; /* statements cached in slots */
	struct pg_slot slots[PG_STMT_CACHE];
	struct pg_conn *next; /* in the pool's free list */
};

struct pg_store {
	struct store base;	   /* first: a struct store * is one of these */
	char *conninfo;		   /* the URL it was opened with (owned) */
	char client[64];	   /* application_name of its connections */
	struct pg_reach reach;	   /* whether the server answers */
	struct pg_conn writer;	   /* owned by the writer thread */
	struct writer w;	   /* the writer thread and its queue */
	pthread_mutex_t pool_lock; /* pool, listen_stop */
	struct pg_conn *pool;	   /* idle reader connections */
	/* The writer thread's: the job whose guard took its transaction's
	 * first person lock (0: none yet), and whether a statement of the
	 * job failed because another server held a row (run it again). */
	uint64_t locked_by;
	bool retry;
	/* The last batch failed because the writer had no connection (the
	 * reach tells readiness then, not the failed commit). */
	atomic_bool writer_lost;
	/* Statements the writer sent (round trips), for its statistics. */
	atomic_uint_fast64_t statements;
	struct pg_listener *listener; /* store_listen's thread, or NULL */
	bool listen_stop;
	/* The lock-outs' connection (pg_throttle), one call at a time. */
	pthread_mutex_t shared_lock;
	struct pg_conn shared;
	/* store_lock's: it holds the advisory lock for as long as it lives
	 * (pg_lock), in lock_mode. */
	struct pg_conn lock;
	enum store_lock_mode lock_mode;
	bool lock_kept; /* taken by a server (STORE_LOCK_SERVE): the listener
			   takes it again should it be lost (pg_lock_keep) */
};

#define PG(store) ((struct pg_store *)(store))

/* ---- Connections and statements (pg_conn.c) ---- */

/* Opens c on s's URL, named s->client (application_name, unless the URL
 * or PGAPPNAME names it): STORE_FAULT with a one-line reason in err. The
 * outcome is noted in s's reach as of `kind` (PG_KINDS: not noted). */
int pg_conn_open(struct pg_store *s, struct pg_conn *c, enum pg_kind kind,
		 char *err, size_t errlen);
/* Opens c (a reader) again in place after the server dropped it:
 * STORE_OK, or STORE_FAULT (still lost). */
int pg_conn_renew(struct pg_store *s, struct pg_conn *c);
/* Opens c again when it is closed or was lost (*renewed then true):
 * STORE_OK, or STORE_FAULT with a reason in err (c is then closed). The
 * writer's, the listener's and the lock-outs' connections. */
int pg_conn_ensure(struct pg_store *s, struct pg_conn *c, enum pg_kind kind,
		   char *err, size_t errlen, bool *renewed);
/* Notes a connect of `kind` that worked (err NULL) or failed (err the
 * reason): logs the first failure of a run and the connect that ends it. */
void pg_reach_note(struct pg_store *s, enum pg_kind kind, const char *err);
/* store_unreachable_since: ms, or 0 while PostgreSQL answers. */
int64_t pg_unreachable_since(struct store *store);
/* Forgets c's statements and closes it. */
void pg_conn_close(struct pg_conn *c);
/* Runs sql (no parameters, no cache) on c: STORE_OK, or the status of
 * its error (logged). */
int pg_exec(struct pg_conn *c, const char *sql);
/* The store status of a failed result (SQLSTATE class 23: a conflict). */
int pg_status(const PGresult *res);
/* Whether a failed result is another server's doing (a lock not to be
 * had, a deadlock, a serialization failure): the job is to run again. */
bool pg_retryable(const PGresult *res);
extern const struct sql_ops pg_sql_ops;
void pg_read_begin(struct store *store);
void pg_read_end(struct store *store);
/* The statement text with `?` and `?N` written $N (a new string); the
 * number of parameters, and a bit set for each the text names. */
char *pg_sql_text(const char *sql, int *nparams, uint32_t *used);

/* sql.h's sql_rows on the writer's connection: the rows of an insert sent
 * with COPY (pg_copy.c). */
struct sql_stmt *pg_rows(struct store_rd *rd, const char *insert);
/* Counts a statement the writer sends. */
static inline void pg_count(struct pg_store *s)
{
	atomic_fetch_add_explicit(&s->statements, 1, memory_order_relaxed);
}

/* ---- The writer (pg_writer.c) ---- */

extern const struct writer_ops pg_writer_ops;
int pg_write(struct store *store, store_job_fn fn, void *arg,
	     store_done_fn done, bool wait, bool alone);
void pg_writer_stats(struct store *store, struct store_writer_stats *out);

/* Takes the servers' advisory lock (store_lock) on s->lock, opened for it:
 * STORE_CONFLICT when another holds it in the other mode. pg.c. */
int pg_lock_take(struct pg_store *s, enum store_lock_mode mode, char *err,
		 size_t errlen);

/* ---- Several servers (pg_guard.c) ---- */

int pg_person_guard(struct store_tx *tx, uint64_t person, bool notify,
		    int64_t *version);
int pg_person_guard_many(struct store_tx *tx, const uint64_t *persons, size_t n,
			 store_guard_cb cb, void *arg);
int pg_listen(struct store *store, store_notify_fn fn, bool (*relocked)(void *),
	      void *arg);
void pg_listen_stop(struct pg_store *s);
int pg_throttle(struct store *store, int op, const char *key, int64_t at,
		int64_t window, int64_t *out);

/* ---- Migrations (pg_migrate.c) ---- */

int pg_migrate(struct store *store, int *applied, int *version);

#endif
