/*
 * sqlite.h — what the files of the SQLite backend share (private to
 * src/store/sqlite*.c; sqlite.c says which file holds what).
 *
 * Each operation store_X of store.h is implemented as sqlite_X in the
 * file of its entity and has store.h's contract; sqlite.c puts them in
 * the backend's struct store_ops. The binding and column helpers keep
 * short names (bind_*, col_*): they are static inline, seen only by the
 * backend's files, and stand on most lines of its queries.
 */
#ifndef CMR_STORE_SQLITE_H
#define CMR_STORE_SQLITE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sql.h"
#include "writer.h"

#define SQLITE_STMT_CACHE 192 /* above the number of SQL texts (93) */

/* A statement of sql.h over an SQLite prepared statement. */
struct sqlite_stmt {
	struct sql_stmt base;	  /* first */
	sqlite3_stmt *st;	  /* prepared once per connection */
	struct sqlite_conn *conn; /* the connection it is on */
};

struct sqlite_stmt_slot {
	const char *sql; /* the SQL text pointer (a string literal) */
	struct sqlite_stmt stmt;
};

struct sqlite_conn {
	sqlite3 *db;
	int n; /* statements cached in stmts */
	struct sqlite_stmt_slot stmts[SQLITE_STMT_CACHE];
	struct sqlite_conn *next; /* in the pool's free list */
};

struct sqlite_store {
	struct store base; /* first: a struct store * is one of these */
	char *path;	   /* the database file (owned) */

	struct sqlite_conn writer; /* owned by the writer thread */
	struct writer w;	   /* the writer thread and its queue */

	pthread_mutex_t pool_lock; /* pool */
	struct sqlite_conn *pool;  /* idle reader connections */
	int lock_fd; /* the flock'd PATH.lock (store_lock), or -1 */
};

#define S(store) ((struct sqlite_store *)(store))

/* ---- Connections and statements (sqlite_conn.c) ---- */

/* The store status of an SQLite result code (a primary one). */
int sqlite_status(int rc);
/* Opens c on path, read-write for the writer (WAL, synchronous=FULL,
 * foreign keys) or read-only; STORE_FAULT with a reason in err. */
int sqlite_conn_open(struct sqlite_conn *c, const char *path, bool writer,
		     char *err, size_t errlen);
/* Finalizes c's statements and closes it. */
void sqlite_conn_close(struct sqlite_conn *c);
/* The cached statement for sql on c, reset and unbound; NULL on error. */
sqlite3_stmt *sqlite_stmt(struct sqlite_conn *c, const char *sql);
/* Runs sql (no statement cache) and logs a failure; an SQLite code. */
int sqlite_exec(sqlite3 *db, const char *sql);
/* The statements of sql.h over this backend's connections. */
extern const struct sql_ops sqlite_sql_ops;
/* store_read_begin and store_read_end: read sessions. */
void sqlite_read_begin(struct store *store);
void sqlite_read_end(struct store *store);

/* ---- The writer (sqlite_writer.c), migrations, open and close ---- */

/* The writer's connection, which a job's transaction is on. */
struct sqlite_conn *sqlite_tx_conn(struct store_tx *tx);
extern const struct writer_ops sqlite_writer_ops;
int sqlite_write(struct store *store, store_job_fn fn, void *arg,
		 store_done_fn done, bool wait, bool alone);
void sqlite_writer_stats(struct store *store, struct store_writer_stats *out);
int sqlite_migrate(struct store *store, int *applied, int *version);
int sqlite_open(const char *rest, struct store **out, char *err, size_t errlen);
void sqlite_close(struct store *store);

/* ---- The server's lock, file modes (sqlite_lock.c) ---- */

int sqlite_lock(struct store *store, enum store_lock_mode mode, char *err,
		size_t errlen);
/* Makes path (when missing) and its WAL and shared memory (when there)
 * mode 0600 before SQLite opens it: STORE_FAULT with a reason in err. */
int sqlite_file_private(const char *path, char *err, size_t errlen);

#endif
