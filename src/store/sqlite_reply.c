/*
 * sqlite_reply.c — the SQLite backend's replies through the alias
 * (its migration, replies).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"

static const char sql_reply_insert[] =
	"INSERT INTO replies(id, person, relationship, answers, by_mail, "
	"state, recipient, subject, message, created_at) VALUES "
	"(?,?,?,?,?,?,?,?,?,?)";

static void bind_bytes(sqlite3_stmt *st, int i, const void *v, size_t n)
{
	if (v)
		sqlite3_bind_blob64(st, i, v, n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int sqlite_reply_insert(struct store_tx *tx, const struct store_reply *r)
{
	WRITER_STMT(tx, sql_reply_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->person);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->relationship);
	bind_key(st, 4, r->answers);
	sqlite3_bind_int(st, 5, r->by_mail ? 1 : 0);
	sqlite3_bind_int(st, 6, r->state);
	bind_bytes(st, 7, r->recipient, r->recipient_len);
	bind_bytes(st, 8, r->subject, r->subject_len);
	bind_bytes(st, 9, r->message, r->message_len);
	sqlite3_bind_int64(st, 10, r->created_at);
	return sqlite_exec_stmt(st);
}

#define REPLY_COLS                                                             \
	"id, person, relationship, coalesce(answers, 0), by_mail, state, "     \
	"recipient, subject, created_at, coalesce(sent_at, 0)"

/* A row of REPLY_COLS (and the message, when a 11th column is there). */
static int reply_row(sqlite3_stmt *st, void *out)
{
	struct store_reply *r = out;
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->person = (uint64_t)sqlite3_column_int64(st, 1);
	r->relationship = (uint64_t)sqlite3_column_int64(st, 2);
	r->answers = (uint64_t)sqlite3_column_int64(st, 3);
	r->by_mail = sqlite3_column_int(st, 4) != 0;
	r->state = sqlite3_column_int(st, 5);
	r->recipient = col_blobdup(st, 6, &r->recipient_len);
	r->subject = col_blobdup(st, 7, &r->subject_len);
	r->created_at = sqlite3_column_int64(st, 8);
	r->sent_at = sqlite3_column_int64(st, 9);
	bool whole = sqlite3_column_count(st) > 10;
	if (whole)
		r->message = col_blobdup(st, 10, &r->message_len);
	if (r->recipient == NULL ||
	    (r->subject == NULL && sqlite3_column_type(st, 7) != SQLITE_NULL) ||
	    (whole && r->message == NULL)) {
		store_reply_clear(r);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char sql_reply_get[] =
	"SELECT " REPLY_COLS ", message FROM replies WHERE id = ?";

int sqlite_reply_get(struct store_rd *rd, uint64_t id, struct store_reply *out)
{
	return sqlite_select_key(rd, sql_reply_get, id, NULL, reply_row, out);
}

static const char sql_reply_list[] =
	"SELECT " REPLY_COLS " FROM replies WHERE person = ?1 AND "
	"(?2 = 0 OR answers = ?2) AND id < ?3 ORDER BY id DESC LIMIT ?4";

int sqlite_reply_list(struct store_rd *rd, uint64_t person, uint64_t answers,
		      uint64_t before, int limit, store_reply_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_reply_list);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)answers);
	sqlite3_bind_int64(st, 3, before ? (sqlite3_int64)before : INT64_MAX);
	sqlite3_bind_int(st, 4, limit);
	struct store_reply r;
	while (sqlite_select_next(&q, reply_row, &r)) {
		int stop = cb(&r, arg);
		store_reply_clear(&r);
		if (stop)
			break;
	}
	return sqlite_select_end(&q);
}

static const char sql_reply_settle[] =
	"UPDATE replies SET state = ?1, sent_at = CASE WHEN ?1 = 1 THEN ?2 "
	"ELSE sent_at END WHERE id = ?3";

int sqlite_reply_settle(struct store_tx *tx, uint64_t id, int state, int64_t at)
{
	WRITER_STMT(tx, sql_reply_settle);
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}
