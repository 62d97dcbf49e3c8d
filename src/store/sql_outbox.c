/*
 * sqlite_outbox.c — the SQLite backend's outbox: the work queued for the
 * delivery adapters (Maildir, webhook, forward, unsubscribe) in the same
 * job as what it follows, taken when due, settled or retried.
 */
#include <stdlib.h>
#include <string.h>

#include "sql.h"

static const char q_outbox_one[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/* Every delivered message of the person (in one folder when ?5 >= 0). */
static const char q_outbox_all[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT ?1, id, ?3, ?4, CASE WHEN ?4 <> 0 THEN folder WHEN ?5 = -2 "
	"THEN -2 END, "
	"?6 FROM attempts WHERE person = ?1 AND decision = 0 AND removed = 0 "
	"AND (?5 < 0 OR folder = ?5) AND ?2 = 0 ORDER BY id";

/* The relationship's (?2) one-click unsubscribe, when it has a URI, as
 * this transaction sees it. */
static const char q_outbox_unsubscribe[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM relationships WHERE person = ?1 "
	"AND id = ?2 AND "
	"unsubscribe IS NOT NULL";

int sql_outbox_add(struct store_tx *tx, const struct store_outbox *o)
{
	bool one = o->attempt != 0 || o->op == STORE_OUTBOX_ERASE ||
		   o->op == STORE_OUTBOX_VERIFY;
	WRITER_STMT(tx, o->adapter == STORE_ADAPTER_UNSUBSCRIBE
				? q_outbox_unsubscribe
			: one ? q_outbox_one
			      : q_outbox_all);
	sql_bind_int(st, 1, (int64_t)o->person);
	sql_bind_int(st, 2, (int64_t)o->attempt);
	sql_bind_int(st, 3, o->adapter);
	sql_bind_int(st, 4, o->op);
	if (o->folder >= 0 || !one || o->folder == STORE_OUTBOX_LOOK_FIRST)
		sql_bind_int(st, 5, o->folder);
	sql_bind_int(st, 6, o->next_at);
	return sql_exec(st);
}

static const char q_outbox_due[] =
	"SELECT id, person, attempt, adapter, op, folder, tries, next_at "
	"FROM outbox WHERE next_at <= ?1 AND (adapter = 1) = (?2 <> 0) "
	"ORDER BY next_at, id LIMIT ?3";
/* Several servers share a PostgreSQL store: each piece handed over is
 * claimed for STORE_OUTBOX_LEASE seconds (rows another server is claiming
 * are skipped), so that one server does it; settling it ends the claim,
 * and a server that dies meanwhile leaves it due again when the claim
 * runs out. */
static const char q_pg_outbox_due[] =
	"WITH d AS (SELECT id, next_at AS due FROM outbox WHERE next_at <= ?1 "
	"AND (adapter = 1) = (?2 <> 0) ORDER BY next_at, id LIMIT ?3 FOR "
	"UPDATE SKIP LOCKED), u AS (UPDATE outbox o SET next_at = ?1 + ?4 "
	"FROM d WHERE o.id = d.id RETURNING o.id, o.person, o.attempt, "
	"o.adapter, o.op, o.folder, o.tries, d.due) SELECT * FROM u ORDER BY "
	"due, id";

static int outbox_row(struct sql_stmt *st, void *out)
{
	*(struct store_outbox *)out = (struct store_outbox){
		.id = (uint64_t)sql_col_int(st, 0),
		.person = (uint64_t)sql_col_int(st, 1),
		.attempt = (uint64_t)sql_col_int(st, 2),
		.adapter = (int)sql_col_int(st, 3),
		.op = (int)sql_col_int(st, 4),
		.folder = sql_col_null(st, 5) ? -1 : (int)sql_col_int(st, 5),
		.tries = (int)sql_col_int(st, 6),
		.next_at = sql_col_int(st, 7),
	};
	return STORE_OK;
}

int sql_outbox_due(struct store_rd *rd, int64_t now, bool local, int limit,
		   store_outbox_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st =
		sql_select(&q, rd, SQL_PICK(rd, q_outbox_due, q_pg_outbox_due));
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, now);
	sql_bind_int(st, 2, local ? 1 : 0);
	sql_bind_int(st, 3, limit);
	sql_bind_int(st, 4, STORE_OUTBOX_LEASE);
	struct store_outbox o;
	while (sql_select_next(&q, outbox_row, &o))
		if (cb(&o, arg))
			break;
	return sql_select_end(&q);
}

/* By (person, id): the outbox's key, so that on a store sharded by
 * person the statement goes to one shard (docs/ARCHITECTURE.md). */
static const char q_outbox_done[] =
	"DELETE FROM outbox WHERE person = ? AND id = ?";
static const char q_outbox_retry[] =
	"UPDATE outbox SET tries = ?, next_at = ?, last_error = ? WHERE "
	"person = ? AND id = ?";

int sql_outbox_settle(struct store_tx *tx, uint64_t person, uint64_t id,
		      int tries, int64_t next_at, const char *error)
{
	if (tries < 0) {
		WRITER_STMT(tx, q_outbox_done);
		bind_key(st, 1, person);
		bind_key(st, 2, id);
		return sql_exec(st);
	}
	WRITER_STMT(tx, q_outbox_retry);
	sql_bind_int(st, 1, tries);
	sql_bind_int(st, 2, next_at);
	bind_text(st, 3, error);
	bind_key(st, 4, person);
	bind_key(st, 5, id);
	return sql_exec(st);
}

static const char q_outbox_count[] =
	"SELECT count(*), count(*) FILTER (WHERE tries > 0), (SELECT "
	"last_error "
	"FROM outbox WHERE person = ?1 AND tries > 0 ORDER BY id DESC "
	"LIMIT 1) FROM outbox WHERE person = ?1";

/* What store_outbox_count reads into. */
struct outbox_counts {
	int64_t *pending, *failing;
	char *last_error; /* size bytes */
	size_t size;
};

static int outbox_count_row(struct sql_stmt *st, void *out)
{
	const struct outbox_counts *v = out;
	*v->pending = sql_col_int(st, 0);
	*v->failing = sql_col_int(st, 1);
	col_copy(st, 2, v->last_error, v->size);
	return STORE_OK;
}

int sql_outbox_count(struct store_rd *rd, uint64_t person, int64_t *pending,
		     int64_t *failing, char *last_error, size_t size)
{
	struct outbox_counts v = { pending, failing, last_error, size };
	int status = sql_select_key(rd, q_outbox_count, person, NULL,
				    outbox_count_row, &v);
	/* count(*) always has its row */
	return status == STORE_NOT_FOUND ? STORE_FAULT : status;
}
