/*
 * sqlite_ledger.c — the SQLite backend's ledger: each person's hash
 * chain of entries, appended inside the job that makes the change, and
 * the latest signed head handed out for it.
 */
#include <string.h>

#include "sql.h"

static const char q_ledger_append[] =
	"INSERT INTO ledger(person, seq, at_ms, actor, type, relationship, "
	"data, prev, hash) VALUES (?,?,?,?,?,?,?,?,?)";

int sql_ledger_append(struct store_tx *tx, const struct store_ledger_entry *e)
{
	WRITER_STMT(tx, q_ledger_append);
	sql_bind_int(st, 1, (int64_t)e->person);
	sql_bind_int(st, 2, e->seq);
	sql_bind_int(st, 3, e->at_ms);
	bind_text(st, 4, e->actor);
	bind_text(st, 5, e->type);
	bind_text(st, 6, e->relationship[0] ? e->relationship : NULL);
	bind_text(st, 7, e->data ? e->data : "{}");
	sql_bind_blob(st, 8, e->prev, 32);
	sql_bind_blob(st, 9, e->hash, 32);
	return sql_exec(st);
}

#define LEDGER_COLS                                                            \
	"person, seq, at_ms, actor, type, relationship, data, "                \
	"prev, hash"

static int ledger_row(struct sql_stmt *st, void *out)
{
	struct store_ledger_entry *e = out;
	memset(e, 0, sizeof(*e));
	e->person = (uint64_t)sql_col_int(st, 0);
	e->seq = sql_col_int(st, 1);
	e->at_ms = sql_col_int(st, 2);
	col_copy(st, 3, e->actor, sizeof(e->actor));
	col_copy(st, 4, e->type, sizeof(e->type));
	col_copy(st, 5, e->relationship, sizeof(e->relationship));
	e->data = col_strdup(st, 6);
	if ((int)sql_col_bytes(st, 7) == 32)
		memcpy(e->prev, sql_col_blob(st, 7), 32);
	if ((int)sql_col_bytes(st, 8) == 32)
		memcpy(e->hash, sql_col_blob(st, 8), 32);
	if (e->data == NULL)
		return STORE_FAULT;
	return STORE_OK;
}

static const char q_ledger_head[] =
	"SELECT " LEDGER_COLS " FROM ledger WHERE person = ? "
	"ORDER BY seq DESC LIMIT 1";

int sql_ledger_head(struct store_rd *rd, uint64_t person,
		    struct store_ledger_entry *out)
{
	return sql_select_key(rd, q_ledger_head, person, NULL, ledger_row, out);
}

static const char q_ledger_list[] =
	"SELECT " LEDGER_COLS " FROM ledger WHERE person = ? AND "
	"seq > ? ORDER BY seq LIMIT ?";

int sql_ledger_list(struct store_rd *rd, uint64_t person, int64_t after,
		    int limit, store_ledger_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_ledger_list);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, after);
	sql_bind_int(st, 3, limit);
	struct store_ledger_entry e;
	while (sql_select_next(&q, ledger_row, &e)) {
		int stop = cb(&e, arg);
		store_ledger_entry_clear(&e);
		if (stop)
			break;
	}
	return sql_select_end(&q);
}

static const char q_head_save[] =
	"INSERT INTO ledger_heads(person, seq, hash, note, signed_at) "
	"VALUES (?,?,?,?,?) ON CONFLICT(person) DO UPDATE SET "
	"seq = excluded.seq, hash = excluded.hash, note = excluded.note, "
	"signed_at = excluded.signed_at";

int sql_ledger_head_save(struct store_tx *tx, uint64_t person, int64_t seq,
			 const uint8_t *hash, const char *note, int64_t at)
{
	WRITER_STMT(tx, q_head_save);
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, seq);
	sql_bind_blob(st, 3, hash, 32);
	bind_text(st, 4, note);
	sql_bind_int(st, 5, at);
	return sql_exec(st);
}

static const char q_signed_head[] =
	"SELECT note FROM ledger_heads WHERE person = ?";

int sql_ledger_signed_head(struct store_rd *rd, uint64_t person, char **note)
{
	return sql_select_key(rd, q_signed_head, person, NULL, sql_row_text,
			      note);
}
