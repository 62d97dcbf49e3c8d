/*
 * sqlite_campaign.c — the SQLite backend's campaigns: one message to
 * many relationships, its body stored once, its counts kept as chunks are
 * written.
 */
#include "sqlite.h"

static const char sql_campaign_insert[] =
	"INSERT INTO campaigns(id, brand, channel, topic, subject, body, "
	"created_at) VALUES (?,?,?,?,?,?,?)";

int sqlite_campaign_insert(struct store_tx *tx, const struct store_campaign *c)
{
	WRITER_STMT(tx, sql_campaign_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)c->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->brand);
	sqlite3_bind_int(st, 3, c->channel);
	bind_text(st, 4, c->topic);
	bind_text(st, 5, c->subject);
	sqlite3_bind_blob(st, 6, c->body ? c->body : "", (int)c->body_len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, c->created_at);
	return sqlite_exec_stmt(st);
}

static const char sql_campaign_count[] =
	"UPDATE campaigns SET total = total + ?, accepted = accepted + ? "
	"WHERE id = ?";

int sqlite_campaign_count(struct store_tx *tx, uint64_t id, int64_t total,
			  int64_t accepted)
{
	WRITER_STMT(tx, sql_campaign_count);
	sqlite3_bind_int64(st, 1, total);
	sqlite3_bind_int64(st, 2, accepted);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}
