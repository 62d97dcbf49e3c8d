/*
 * sqlite_reply.c — the SQLite backend's replies through the alias
 * (its migration, replies).
 */
#include <stdlib.h>
#include <string.h>

#include "sql.h"

static const char q_reply_insert[] =
	"INSERT INTO replies(id, person, relationship, answers, by_mail, "
	"state, recipient, subject, message, created_at) VALUES "
	"(?,?,?,?,?,?,?,?,?,?)";

static void bind_bytes(struct sql_stmt *st, int i, const void *v, size_t n)
{
	if (v)
		sql_bind_blob(st, i, v, n);
	else
		sql_bind_null(st, i);
}

int sql_reply_insert(struct store_tx *tx, const struct store_reply *r)
{
	WRITER_STMT(tx, q_reply_insert);
	sql_bind_int(st, 1, (int64_t)r->id);
	sql_bind_int(st, 2, (int64_t)r->person);
	sql_bind_int(st, 3, (int64_t)r->relationship);
	bind_key(st, 4, r->answers);
	sql_bind_int(st, 5, r->by_mail ? 1 : 0);
	sql_bind_int(st, 6, r->state);
	bind_bytes(st, 7, r->recipient, r->recipient_len);
	bind_bytes(st, 8, r->subject, r->subject_len);
	bind_bytes(st, 9, r->message, r->message_len);
	sql_bind_int(st, 10, r->created_at);
	return sql_exec(st);
}

#define REPLY_COLS                                                             \
	"id, person, relationship, coalesce(answers, 0), by_mail, state, "     \
	"recipient, subject, created_at, coalesce(sent_at, 0)"

/* A row of REPLY_COLS (and the message, when a 11th column is there). */
static int reply_row(struct sql_stmt *st, void *out)
{
	struct store_reply *r = out;
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sql_col_int(st, 0);
	r->person = (uint64_t)sql_col_int(st, 1);
	r->relationship = (uint64_t)sql_col_int(st, 2);
	r->answers = (uint64_t)sql_col_int(st, 3);
	r->by_mail = (int)sql_col_int(st, 4) != 0;
	r->state = (int)sql_col_int(st, 5);
	r->recipient = col_blobdup(st, 6, &r->recipient_len);
	r->subject = col_blobdup(st, 7, &r->subject_len);
	r->created_at = sql_col_int(st, 8);
	r->sent_at = sql_col_int(st, 9);
	bool whole = st->ops->col_count(st) > 10;
	if (whole)
		r->message = col_blobdup(st, 10, &r->message_len);
	if (r->recipient == NULL ||
	    (r->subject == NULL && !sql_col_null(st, 7)) ||
	    (whole && r->message == NULL)) {
		store_reply_clear(r);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char q_reply_get[] =
	"SELECT " REPLY_COLS ", message FROM replies WHERE id = ?";

int sql_reply_get(struct store_rd *rd, uint64_t id, struct store_reply *out)
{
	return sql_select_key(rd, q_reply_get, id, NULL, reply_row, out);
}

static const char q_reply_list[] =
	"SELECT " REPLY_COLS " FROM replies WHERE person = ?1 AND "
	"(?2 = 0 OR answers = ?2) AND id < ?3 ORDER BY id DESC LIMIT ?4";

int sql_reply_list(struct store_rd *rd, uint64_t person, uint64_t answers,
		   uint64_t before, int limit, store_reply_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_reply_list);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, (int64_t)answers);
	sql_bind_int(st, 3, before ? (int64_t)before : INT64_MAX);
	sql_bind_int(st, 4, limit);
	struct store_reply r;
	while (sql_select_next(&q, reply_row, &r)) {
		int stop = cb(&r, arg);
		store_reply_clear(&r);
		if (stop)
			break;
	}
	return sql_select_end(&q);
}

static const char q_reply_settle[] =
	"UPDATE replies SET state = ?1, sent_at = CASE WHEN ?1 = 1 THEN ?2 "
	"ELSE sent_at END WHERE id = ?3";

int sql_reply_settle(struct store_tx *tx, uint64_t id, int state, int64_t at)
{
	WRITER_STMT(tx, q_reply_settle);
	sql_bind_int(st, 1, state);
	sql_bind_int(st, 2, at);
	sql_bind_int(st, 3, (int64_t)id);
	return sql_exec(st);
}
