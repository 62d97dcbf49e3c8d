/*
 * sqlite_ledger.c — the SQLite backend's ledger: each person's hash
 * chain of entries, appended inside the job that makes the change, and
 * the latest signed head handed out for it.
 */
#include <string.h>

#include "sqlite.h"

static const char sql_ledger_append[] =
	"INSERT INTO ledger(person, seq, at_ms, actor, type, relationship, "
	"data, prev, hash) VALUES (?,?,?,?,?,?,?,?,?)";

int sqlite_ledger_append(struct store_tx *tx,
			 const struct store_ledger_entry *e)
{
	WRITER_STMT(tx, sql_ledger_append);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e->person);
	sqlite3_bind_int64(st, 2, e->seq);
	sqlite3_bind_int64(st, 3, e->at_ms);
	bind_text(st, 4, e->actor);
	bind_text(st, 5, e->type);
	bind_text(st, 6, e->relationship[0] ? e->relationship : NULL);
	bind_text(st, 7, e->data ? e->data : "{}");
	sqlite3_bind_blob(st, 8, e->prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, e->hash, 32, SQLITE_STATIC);
	return sqlite_exec_stmt(st);
}

#define LEDGER_COLS                                                            \
	"person, seq, at_ms, actor, type, relationship, data, "                \
	"prev, hash"

static int ledger_row(sqlite3_stmt *st, void *out)
{
	struct store_ledger_entry *e = out;
	memset(e, 0, sizeof(*e));
	e->person = (uint64_t)sqlite3_column_int64(st, 0);
	e->seq = sqlite3_column_int64(st, 1);
	e->at_ms = sqlite3_column_int64(st, 2);
	col_copy(st, 3, e->actor, sizeof(e->actor));
	col_copy(st, 4, e->type, sizeof(e->type));
	col_copy(st, 5, e->relationship, sizeof(e->relationship));
	e->data = col_strdup(st, 6);
	if (sqlite3_column_bytes(st, 7) == 32)
		memcpy(e->prev, sqlite3_column_blob(st, 7), 32);
	if (sqlite3_column_bytes(st, 8) == 32)
		memcpy(e->hash, sqlite3_column_blob(st, 8), 32);
	if (e->data == NULL)
		return STORE_FAULT;
	return STORE_OK;
}

static const char sql_ledger_head[] =
	"SELECT " LEDGER_COLS " FROM ledger WHERE person = ? "
	"ORDER BY seq DESC LIMIT 1";

int sqlite_ledger_head(struct store_rd *rd, uint64_t person,
		       struct store_ledger_entry *out)
{
	return sqlite_select_key(rd, sql_ledger_head, person, NULL, ledger_row,
				 out);
}

static const char sql_ledger_list[] =
	"SELECT " LEDGER_COLS " FROM ledger WHERE person = ? AND "
	"seq > ? ORDER BY seq LIMIT ?";

int sqlite_ledger_list(struct store_rd *rd, uint64_t person, int64_t after,
		       int limit, store_ledger_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_ledger_list);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, limit);
	struct store_ledger_entry e;
	while (sqlite_select_next(&q, ledger_row, &e)) {
		int stop = cb(&e, arg);
		store_ledger_entry_clear(&e);
		if (stop)
			break;
	}
	return sqlite_select_end(&q);
}

static const char sql_head_save[] =
	"INSERT INTO ledger_heads(person, seq, hash, note, signed_at) "
	"VALUES (?,?,?,?,?) ON CONFLICT(person) DO UPDATE SET "
	"seq = excluded.seq, hash = excluded.hash, note = excluded.note, "
	"signed_at = excluded.signed_at";

int sqlite_ledger_head_save(struct store_tx *tx, uint64_t person, int64_t seq,
			    const uint8_t *hash, const char *note, int64_t at)
{
	WRITER_STMT(tx, sql_head_save);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
	bind_text(st, 4, note);
	sqlite3_bind_int64(st, 5, at);
	return sqlite_exec_stmt(st);
}

static const char sql_signed_head[] =
	"SELECT note FROM ledger_heads WHERE person = ?";

int sqlite_ledger_signed_head(struct store_rd *rd, uint64_t person, char **note)
{
	return sqlite_select_key(rd, sql_signed_head, person, NULL,
				 sqlite_row_text, note);
}
