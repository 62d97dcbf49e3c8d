/*
 * sqlite_token.c — the SQLite backend's secrets that stand for a person:
 * API tokens and sessions, and connect codes (stored by hash only; a code
 * is used once).
 */
#include <string.h>

#include "sqlite.h"

static const char sql_token_insert[] =
	"INSERT INTO tokens(id, person, kind, secret_hash, created_at, "
	"expires_at, last_used_at, scope, name) VALUES (?,?,?,?,?,?,?,?,?)";

int sqlite_token_insert(struct store_tx *tx, const struct store_token *t)
{
	WRITER_STMT(tx, sql_token_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)t->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)t->person);
	bind_text(st, 3, t->kind);
	sqlite3_bind_blob(st, 4, t->secret_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t->created_at);
	sqlite3_bind_int64(st, 6, t->expires_at);
	sqlite3_bind_int64(st, 7, t->last_used_at);
	bind_text(st, 8, t->scope[0] ? t->scope : NULL);
	bind_text(st, 9, t->name[0] ? t->name : NULL);
	return sqlite_exec_stmt(st);
}

static const char sql_token_by_id[] =
	"SELECT id, person, kind, secret_hash, created_at, expires_at, "
	"last_used_at, revoked_at, scope, name FROM tokens WHERE id = ?";

static int token_row(sqlite3_stmt *st, void *out)
{
	struct store_token *t = out;
	memset(t, 0, sizeof(*t));
	t->id = (uint64_t)sqlite3_column_int64(st, 0);
	t->person = (uint64_t)sqlite3_column_int64(st, 1);
	col_copy(st, 2, t->kind, sizeof(t->kind));
	if (sqlite3_column_bytes(st, 3) == 32)
		memcpy(t->secret_hash, sqlite3_column_blob(st, 3), 32);
	t->created_at = sqlite3_column_int64(st, 4);
	t->expires_at = sqlite3_column_int64(st, 5);
	t->last_used_at = sqlite3_column_int64(st, 6);
	t->revoked_at = sqlite3_column_int64(st, 7);
	col_copy(st, 8, t->scope, sizeof(t->scope));
	col_copy(st, 9, t->name, sizeof(t->name));
	return STORE_OK;
}

int sqlite_token_by_id(struct store_rd *rd, uint64_t id, struct store_token *t)
{
	return sqlite_select_key(rd, sql_token_by_id, id, NULL, token_row, t);
}

static const char sql_token_list[] =
	"SELECT id, person, kind, secret_hash, created_at, expires_at, "
	"last_used_at, revoked_at, scope, name FROM tokens WHERE person = ? "
	"AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, "
	"id "
	"DESC";

int sqlite_token_list(struct store_rd *rd, uint64_t person, int64_t now,
		      store_token_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_token_list);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, now);
	struct store_token t;
	while (sqlite_select_next(&q, token_row, &t)) {
		if (cb(&t, arg))
			break;
	}
	return sqlite_select_end(&q);
}

static const char sql_token_revoke[] =
	"UPDATE tokens SET revoked_at = ?1 WHERE id = ?3 AND person = ?2 AND "
	"revoked_at IS NULL";
static const char sql_token_revoke_others[] =
	"UPDATE tokens SET revoked_at = ?1 WHERE person = ?2 AND id <> ?3 "
	"AND revoked_at IS NULL";
static const char sql_token_touch[] =
	"UPDATE tokens SET last_used_at = ? WHERE id = ?";

int sqlite_token_revoke(struct store_tx *tx, uint64_t person, uint64_t id,
			bool others, int64_t at)
{
	WRITER_STMT(tx, others ? sql_token_revoke_others : sql_token_revoke);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	/* Others may be none at all; the one asked for must have been. */
	return others ? sqlite_exec_stmt(st)
		      : sqlite_exec_changed(tx, st, STORE_NOT_FOUND);
}

int sqlite_token_touch(struct store_tx *tx, uint64_t id, int64_t at)
{
	WRITER_STMT(tx, sql_token_touch);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}

static const char sql_code_insert[] =
	"INSERT INTO connect_codes(code_hash, person, expires_at) "
	"VALUES (?,?,?)";
static const char sql_code_use[] =
	"UPDATE connect_codes SET used_at = ?1 WHERE code_hash = ?2 AND "
	"used_at IS NULL AND expires_at > ?1 RETURNING person";

int sqlite_code_insert(struct store_tx *tx, const uint8_t *hash,
		       uint64_t person, int64_t expires_at)
{
	WRITER_STMT(tx, sql_code_insert);
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 3, expires_at);
	return sqlite_exec_stmt(st);
}

int sqlite_code_use(struct store_tx *tx, const uint8_t *hash, int64_t now,
		    uint64_t *person)
{
	WRITER_STMT(tx, sql_code_use);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st), status;
	if (rc == SQLITE_ROW) {
		*person = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
		status = rc == SQLITE_DONE ? STORE_OK : STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	sqlite3_reset(st);
	return status;
}
