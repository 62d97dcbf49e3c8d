/*
 * pg_writer.c — the PostgreSQL backend's part of the writer (writer.c):
 * BEGIN, a SAVEPOINT per job, COMMIT; a job one of whose statements
 * failed is rolled back to its savepoint even when it went on; and a
 * lost connection is opened again at the next batch, so that a node
 * whose server restarted fails the jobs of that moment (503, 451) and
 * then recovers by itself.
 */
#include <string.h>

#include "base/log.h"
#include "pg.h"

/* The writer's connection, opened again when it was lost. */
static struct pg_conn *pg_writer_conn(struct store *store)
{
	struct pg_store *s = PG(store);
	char err[512];
	bool renewed;
	if (pg_conn_ensure(s, &s->writer, PG_WRITER, err, sizeof(err),
			   &renewed) != STORE_OK)
		return NULL; /* logged by the reach, once an outage */
	return &s->writer;
}

static int pg_writer_exec(struct store *s, const char *sql)
{
	struct pg_conn *c = &PG(s)->writer;
	pg_count(PG(s));
	return c->pg ? pg_exec(c, sql) : STORE_FAULT;
}

static int pg_writer_begin(struct store *s)
{
	PG(s)->locked_by = 0;
	PG(s)->retry = false;
	struct pg_conn *c = pg_writer_conn(s);
	if (c == NULL)
		return STORE_FAULT;
	pg_count(PG(s));
	int rc = pg_exec(c, "BEGIN");
	/* A connection the server dropped (it restarted) is known only
	 * once used: opened again, once, before the batch fails. */
	if (rc != STORE_OK && PQstatus(c->pg) != CONNECTION_OK &&
	    (c = pg_writer_conn(s)) != NULL)
		rc = pg_exec(c, "BEGIN");
	return rc;
}

static int pg_writer_savepoint(struct store *s)
{
	return pg_writer_exec(s, "SAVEPOINT job");
}

static int pg_writer_release(struct store *s)
{
	return pg_writer_exec(s, "RELEASE job");
}

static int pg_writer_rollback_to(struct store *s)
{
	return pg_writer_exec(s, "ROLLBACK TO job; RELEASE job");
}

static bool pg_writer_tx_dead(struct store *s)
{
	PGconn *pg = PG(s)->writer.pg;
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK)
		return true;
	PGTransactionStatusType t = PQtransactionStatus(pg);
	return t != PQTRANS_INTRANS && t != PQTRANS_INERROR;
}

static bool pg_writer_job_retry(struct store *s)
{
	bool retry = PG(s)->retry;
	PG(s)->retry = false;
	return retry;
}

static bool pg_writer_job_failed(struct store *s)
{
	PGconn *pg = PG(s)->writer.pg;
	return pg && PQtransactionStatus(pg) == PQTRANS_INERROR;
}

static int pg_writer_commit(struct store *s)
{
	PGconn *pg = PG(s)->writer.pg;
	if (pg == NULL)
		return STORE_FAULT;
	pg_count(PG(s));
	PGresult *res = PQexec(pg, "COMMIT");
	/* COMMIT of a failed transaction answers ROLLBACK, and succeeds. */
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK &&
				 strcmp(PQcmdStatus(res), "COMMIT") == 0
			 ? STORE_OK
			 : STORE_FAULT;
	if (rc != STORE_OK && PQstatus(pg) == CONNECTION_OK)
		log_warn("store: commit failed: %s", PQerrorMessage(pg));
	PQclear(res);
	return rc;
}

static void pg_writer_abandon(struct store *store)
{
	struct pg_store *s = PG(store);
	bool lost =
		s->writer.pg == NULL || PQstatus(s->writer.pg) != CONNECTION_OK;
	atomic_store(&s->writer_lost, lost);
	if (!lost && PQtransactionStatus(s->writer.pg) != PQTRANS_IDLE &&
	    pg_exec(&s->writer, "ROLLBACK") == STORE_OK)
		return;
	/* The connection is gone or unusable: the next batch opens one. */
	if (s->writer.pg) {
		if (lost)
			log_warn("store: writer: the connection to "
				 "PostgreSQL was lost; the next batch opens "
				 "one");
		pg_conn_close(&s->writer);
	}
}

const struct writer_ops pg_writer_ops = {
	.begin = pg_writer_begin,
	.savepoint = pg_writer_savepoint,
	.release = pg_writer_release,
	.rollback_to = pg_writer_rollback_to,
	.tx_dead = pg_writer_tx_dead,
	.job_failed = pg_writer_job_failed,
	.job_retry = pg_writer_job_retry,
	.commit = pg_writer_commit,
	.abandon = pg_writer_abandon,
	.checkpoint = NULL,
};

int pg_write(struct store *store, store_job_fn fn, void *arg,
	     store_done_fn done, bool wait, bool alone)
{
	return writer_write(&PG(store)->w, fn, arg, done, wait, alone);
}

void pg_writer_stats(struct store *store, struct store_writer_stats *out)
{
	writer_stats(&PG(store)->w, out);
	/* A batch that failed for want of a connection is the reach's to
	 * tell (store_unreachable_since): the next batch connects again,
	 * without a job to show it can. */
	if (out->failing && atomic_load(&PG(store)->writer_lost))
		out->failing = false;
	out->statements = atomic_load_explicit(&PG(store)->statements,
					       memory_order_relaxed);
}
