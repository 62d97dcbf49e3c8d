/*
 * sqlite_outbox.c — the SQLite backend's outbox: the work queued for the
 * delivery adapters (Maildir, webhook, forward, unsubscribe) in the same
 * job as what it follows, taken when due, settled or retried.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"

static const char sql_outbox_one[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/* Every delivered message of the person (in one folder when ?5 >= 0). */
static const char sql_outbox_all[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT ?1, id, ?3, ?4, CASE WHEN ?4 <> 0 THEN folder WHEN ?5 = -2 "
	"THEN -2 END, "
	"?6 FROM attempts WHERE person = ?1 AND decision = 0 AND removed = 0 "
	"AND (?5 < 0 OR folder = ?5) AND ?2 = 0 ORDER BY id";

/* The relationship's (?2) one-click unsubscribe, when it has a URI, as
 * this transaction sees it. */
static const char sql_outbox_unsubscribe[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM relationships WHERE id = ?2 AND "
	"unsubscribe IS NOT NULL";

int sqlite_outbox_add(struct store_tx *tx, const struct store_outbox *o)
{
	bool one = o->attempt != 0 || o->op == STORE_OUTBOX_ERASE ||
		   o->op == STORE_OUTBOX_VERIFY;
	WRITER_STMT(tx, o->adapter == STORE_ADAPTER_UNSUBSCRIBE
				? sql_outbox_unsubscribe
			: one ? sql_outbox_one
			      : sql_outbox_all);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)o->person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)o->attempt);
	sqlite3_bind_int(st, 3, o->adapter);
	sqlite3_bind_int(st, 4, o->op);
	if (o->folder >= 0 || !one || o->folder == STORE_OUTBOX_LOOK_FIRST)
		sqlite3_bind_int(st, 5, o->folder);
	sqlite3_bind_int64(st, 6, o->next_at);
	return sqlite_exec_stmt(st);
}

static const char sql_outbox_due[] =
	"SELECT id, person, attempt, adapter, op, folder, tries, next_at "
	"FROM outbox WHERE next_at <= ?1 AND (adapter = 1) = ?2 "
	"ORDER BY next_at, id LIMIT ?3";

static int outbox_row(sqlite3_stmt *st, void *out)
{
	*(struct store_outbox *)out = (struct store_outbox){
		.id = (uint64_t)sqlite3_column_int64(st, 0),
		.person = (uint64_t)sqlite3_column_int64(st, 1),
		.attempt = (uint64_t)sqlite3_column_int64(st, 2),
		.adapter = sqlite3_column_int(st, 3),
		.op = sqlite3_column_int(st, 4),
		.folder = sqlite3_column_type(st, 5) == SQLITE_NULL
				  ? -1
				  : sqlite3_column_int(st, 5),
		.tries = sqlite3_column_int(st, 6),
		.next_at = sqlite3_column_int64(st, 7),
	};
	return STORE_OK;
}

int sqlite_outbox_due(struct store_rd *rd, int64_t now, bool local, int limit,
		      store_outbox_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_outbox_due);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, local ? 1 : 0);
	sqlite3_bind_int(st, 3, limit);
	struct store_outbox o;
	while (sqlite_select_next(&q, outbox_row, &o))
		if (cb(&o, arg))
			break;
	return sqlite_select_end(&q);
}

static const char sql_outbox_done[] = "DELETE FROM outbox WHERE id = ?";
static const char sql_outbox_retry[] =
	"UPDATE outbox SET tries = ?, next_at = ?, last_error = ? WHERE id = ?";

int sqlite_outbox_settle(struct store_tx *tx, uint64_t id, int tries,
			 int64_t next_at, const char *error)
{
	if (tries < 0) {
		WRITER_STMT(tx, sql_outbox_done);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		return sqlite_exec_stmt(st);
	}
	WRITER_STMT(tx, sql_outbox_retry);
	sqlite3_bind_int(st, 1, tries);
	sqlite3_bind_int64(st, 2, next_at);
	bind_text(st, 3, error);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}

static const char sql_outbox_count[] =
	"SELECT count(*), coalesce(sum(tries > 0), 0), (SELECT last_error "
	"FROM outbox WHERE person = ?1 AND tries > 0 ORDER BY id DESC "
	"LIMIT 1) FROM outbox WHERE person = ?1";

/* What store_outbox_count reads into. */
struct outbox_counts {
	int64_t *pending, *failing;
	char *last_error; /* size bytes */
	size_t size;
};

static int outbox_count_row(sqlite3_stmt *st, void *out)
{
	const struct outbox_counts *v = out;
	*v->pending = sqlite3_column_int64(st, 0);
	*v->failing = sqlite3_column_int64(st, 1);
	col_copy(st, 2, v->last_error, v->size);
	return STORE_OK;
}

int sqlite_outbox_count(struct store_rd *rd, uint64_t person, int64_t *pending,
			int64_t *failing, char *last_error, size_t size)
{
	struct outbox_counts v = { pending, failing, last_error, size };
	int status = sqlite_select_key(rd, sql_outbox_count, person, NULL,
				       outbox_count_row, &v);
	/* count(*) always has its row */
	return status == STORE_NOT_FOUND ? STORE_FAULT : status;
}
