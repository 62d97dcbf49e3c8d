/*
 * sqlite.c — the SQLite backend (sqlite:PATH), the embedded default:
 * opening and closing it, and its table of operations (struct store_ops).
 *
 * The backend is split by concern, the files sharing sqlite.h:
 * sqlite_conn.c (connections, the statement cache, the reader pool and
 * read sessions), sqlite_writer.c (the writer thread and its group
 * commit), sqlite_migrate.c (the embedded schema/NNN_*.sql), and the
 * queries, one file per entity: sqlite_person.c, sqlite_token.c,
 * sqlite_brand.c, sqlite_proposal.c, sqlite_relationship.c,
 * sqlite_attempt.c, sqlite_outbox.c, sqlite_purge.c, sqlite_idem.c,
 * sqlite_campaign.c and sqlite_ledger.c; sqlite_keys.c keeps the key ids,
 * the server's lock and the files' mode. See docs/ARCHITECTURE.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite.h"

void sqlite_close(struct store *store)
{
	struct sqlite_store *s = S(store);

	writer_stop(&s->w);
	if (s->writer.db) {
		/* Fold the WAL back so the file stands alone when idle. */
		sqlite3_wal_checkpoint_v2(s->writer.db, NULL,
					  SQLITE_CHECKPOINT_TRUNCATE, NULL,
					  NULL);
		sqlite_conn_close(&s->writer);
	}
	for (struct sqlite_conn *c = s->pool, *next; c; c = next) {
		next = c->next;
		sqlite_conn_close(c);
		free(c);
	}
	pthread_mutex_destroy(&s->pool_lock);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* and the lock with it */
	free(s->path);
	free(s);
}

int sqlite_open(const char *rest, struct store **out, char *err, size_t errlen)
{
	if (*rest == '\0') {
		snprintf(err, errlen,
			 "sqlite store URL needs a path "
			 "(sqlite:./var/cmr.db)");
		return STORE_INVALID;
	}
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return STORE_FAULT;
	}
	s->base.ops = &store_sqlite_ops;
	s->base.sql = &sqlite_sql_ops;
	s->base.reads = (struct store_rd){ &s->base, NULL };
	s->path = strdup(rest);
	s->lock_fd = -1;
	writer_init(&s->w, &s->base, &sqlite_writer_ops);
	pthread_mutex_init(&s->pool_lock, NULL);
	if (s->path == NULL ||
	    (strcmp(s->path, ":memory:") != 0 &&
	     sqlite_file_private(s->path, err, errlen) != STORE_OK) ||
	    sqlite_conn_open(&s->writer, s->path, true, err, errlen) !=
		    STORE_OK) {
		if (s->path == NULL)
			snprintf(err, errlen, "out of memory");
		sqlite_close(&s->base);
		return STORE_FAULT;
	}
	if (writer_start(&s->w) != STORE_OK) {
		snprintf(err, errlen, "cannot start the writer thread");
		sqlite_close(&s->base);
		return STORE_FAULT;
	}
	*out = &s->base;
	return STORE_OK;
}

/* The store's connections have no name to give (store_open_as). */
static int sqlite_open_as(const char *rest, const char *client,
			  struct store **out, char *err, size_t errlen)
{
	(void)client;
	return sqlite_open(rest, out, err, errlen);
}

/* One server writes an SQLite store: what it caches is never stale. */
static int sqlite_person_guard(struct store_tx *tx, uint64_t person,
			       bool notify, int64_t *version)
{
	(void)tx;
	(void)person;
	(void)notify;
	*version = 0;
	return STORE_OK;
}

const struct store_ops store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sqlite_open_as,
	.migrate = sqlite_migrate,
	.close = sqlite_close,
	.write = sqlite_write,
	.tx_hook = writer_tx_hook,
	.tx_checkpoint = writer_tx_checkpoint,
	.writer_stats = sqlite_writer_stats,
	.read_begin = sqlite_read_begin,
	.read_end = sqlite_read_end,
	SQL_STORE_OPS.lock = sqlite_lock,
	.person_guard = sqlite_person_guard,
	.listen = NULL,
	.throttle = NULL,
};
