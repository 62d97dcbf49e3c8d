/*
 * sqlite_writer.c — the SQLite backend's part of the writer (writer.c):
 * BEGIN IMMEDIATE, a SAVEPOINT per job, COMMIT (WAL with
 * synchronous=FULL), and after a fault the connection opened again.
 */
#include <time.h>

#include "base/log.h"
#include "sqlite.h"

struct sqlite_conn *sqlite_tx_conn(struct store_tx *tx)
{
	return &S(tx->store)->writer;
}

static int sqlite_writer_exec(struct store *s, const char *sql)
{
	return sqlite_exec(S(s)->writer.db, sql) == SQLITE_OK ? STORE_OK
							      : STORE_FAULT;
}

static int sqlite_writer_begin(struct store *s)
{
	return sqlite_writer_exec(s, "BEGIN IMMEDIATE");
}

static int sqlite_writer_savepoint(struct store *s)
{
	return sqlite_writer_exec(s, "SAVEPOINT job");
}

static int sqlite_writer_release(struct store *s)
{
	return sqlite_writer_exec(s, "RELEASE job");
}

static int sqlite_writer_rollback_to(struct store *s)
{
	return sqlite_writer_exec(s, "ROLLBACK TO job; RELEASE job");
}

static bool sqlite_writer_tx_dead(struct store *s)
{
	return sqlite3_get_autocommit(S(s)->writer.db) != 0;
}

static int sqlite_writer_commit(struct store *s)
{
	sqlite3 *db = S(s)->writer.db;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn("store: commit failed: %s", sqlite3_errmsg(db));
		return STORE_FAULT;
	}
	return STORE_OK;
}

static void sqlite_writer_abandon(struct store *store)
{
	struct sqlite_store *s = S(store);
	char err[256];

	if (s->writer.db && !sqlite3_get_autocommit(s->writer.db))
		sqlite3_exec(s->writer.db, "ROLLBACK", NULL, NULL, NULL);
	sqlite_conn_close(&s->writer);
	for (int tries = 0; tries < 50; tries++) {
		if (sqlite_conn_open(&s->writer, s->path, true, err,
				     sizeof(err)) == STORE_OK) {
			log_warn("store: writer reopened after a fault");
			return;
		}
		log_warn("store: writer reopen failed: %s", err);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fatal("store: cannot reopen %s", s->path);
}

/* Folds the WAL into the database and truncates it, on the writer's own
 * connection after a commit (erasure asks for it: the old pages must not
 * survive in the WAL). Readers holding old snapshots can hold it back a
 * while; it is tried a bounded number of times. */
static void sqlite_writer_checkpoint(struct store *s)
{
	for (int tries = 0; tries < 100; tries++) {
		if (sqlite3_wal_checkpoint_v2(S(s)->writer.db, NULL,
					      SQLITE_CHECKPOINT_TRUNCATE, NULL,
					      NULL) == SQLITE_OK)
			return;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_warn("store: the WAL could not be truncated yet");
}

const struct writer_ops sqlite_writer_ops = {
	.begin = sqlite_writer_begin,
	.savepoint = sqlite_writer_savepoint,
	.release = sqlite_writer_release,
	.rollback_to = sqlite_writer_rollback_to,
	.tx_dead = sqlite_writer_tx_dead,
	.commit = sqlite_writer_commit,
	.abandon = sqlite_writer_abandon,
	.checkpoint = sqlite_writer_checkpoint,
};

int sqlite_write(struct store *store, store_job_fn fn, void *arg,
		 store_done_fn done, bool wait, bool alone)
{
	return writer_write(&S(store)->w, fn, arg, done, wait, alone);
}

void sqlite_writer_stats(struct store *store, struct store_writer_stats *out)
{
	writer_stats(&S(store)->w, out);
}
