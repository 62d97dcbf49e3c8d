/*
 * sqlite_token.c — the SQLite backend's secrets that stand for a person:
 * API tokens and sessions, and connect codes (stored by hash only; a code
 * is used once).
 */
#include <stdlib.h>
#include <string.h>

#include "sql.h"

/* The name a person gives a token is theirs: it is kept sealed with their
 * data key (name_sealed); name holds one in clear only in a row an older
 * version wrote (store_seal_clear rewrites it). */
static const char q_token_insert[] =
	"INSERT INTO tokens(id, person, kind, secret_hash, created_at, "
	"expires_at, last_used_at, scope, name_sealed) "
	"VALUES (?,?,?,?,?,?,?,?,?)";

static int token_insert(struct store_tx *tx, const struct store_token *t,
			const char *name);

int sql_token_insert(struct store_tx *tx, const struct store_token *t)
{
	char *name = NULL;
	/* Sessions and most tokens have no name: no key to read. */
	int rc = t->name[0] ? sql_seal_person(store_tx_reads(tx), t->person,
					      false, t->name, &name)
			    : STORE_OK;
	if (rc == STORE_OK)
		rc = token_insert(tx, t, name);
	free(name);
	return rc;
}

static int token_insert(struct store_tx *tx, const struct store_token *t,
			const char *name)
{
	WRITER_STMT(tx, q_token_insert);
	sql_bind_int(st, 1, (int64_t)t->id);
	sql_bind_int(st, 2, (int64_t)t->person);
	bind_text(st, 3, t->kind);
	sql_bind_blob(st, 4, t->secret_hash, 32);
	sql_bind_int(st, 5, t->created_at);
	sql_bind_int(st, 6, t->expires_at);
	sql_bind_int(st, 7, t->last_used_at);
	bind_text(st, 8, t->scope[0] ? t->scope : NULL);
	bind_text(st, 9, name);
	return sql_exec(st);
}

/* The person's data key is read only for a token with a name. */
#define TOKEN_COLS                                                             \
	"id, person, kind, secret_hash, created_at, expires_at, "              \
	"last_used_at, revoked_at, scope, name, name_sealed, CASE WHEN "       \
	"name_sealed IS NOT NULL THEN (SELECT p.data_key FROM persons p "      \
	"WHERE p.id = tokens.person) END"

static const char q_token_by_id[] =
	"SELECT " TOKEN_COLS " FROM tokens WHERE id = ?";

static int token_row(struct sql_stmt *st, void *out)
{
	struct store_token *t = out;
	memset(t, 0, sizeof(*t));
	t->id = (uint64_t)sql_col_int(st, 0);
	t->person = (uint64_t)sql_col_int(st, 1);
	col_copy(st, 2, t->kind, sizeof(t->kind));
	if ((int)sql_col_bytes(st, 3) == 32)
		memcpy(t->secret_hash, sql_col_blob(st, 3), 32);
	t->created_at = sql_col_int(st, 4);
	t->expires_at = sql_col_int(st, 5);
	t->last_used_at = sql_col_int(st, 6);
	t->revoked_at = sql_col_int(st, 7);
	col_copy(st, 8, t->scope, sizeof(t->scope));
	col_open(st, 10, 11, 9, t->name, sizeof(t->name));
	return STORE_OK;
}

int sql_token_by_id(struct store_rd *rd, uint64_t id, struct store_token *t)
{
	return sql_select_key(rd, q_token_by_id, id, NULL, token_row, t);
}

static const char q_token_list[] =
	"SELECT " TOKEN_COLS " FROM tokens WHERE person = ? "
	"AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, "
	"id "
	"DESC";

int sql_token_list(struct store_rd *rd, uint64_t person, int64_t now,
		   store_token_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_token_list);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, now);
	struct store_token t;
	while (sql_select_next(&q, token_row, &t)) {
		if (cb(&t, arg))
			break;
	}
	return sql_select_end(&q);
}

static const char q_token_revoke[] =
	"UPDATE tokens SET revoked_at = ?1 WHERE id = ?3 AND person = ?2 AND "
	"revoked_at IS NULL";
static const char q_token_revoke_others[] =
	"UPDATE tokens SET revoked_at = ?1 WHERE person = ?2 AND id <> ?3 "
	"AND revoked_at IS NULL";
static const char q_token_touch[] =
	"UPDATE tokens SET last_used_at = ? WHERE id = ?";

int sql_token_revoke(struct store_tx *tx, uint64_t person, uint64_t id,
		     bool others, int64_t at)
{
	WRITER_STMT(tx, others ? q_token_revoke_others : q_token_revoke);
	sql_bind_int(st, 1, at);
	sql_bind_int(st, 2, (int64_t)person);
	sql_bind_int(st, 3, (int64_t)id);
	/* Others may be none at all; the one asked for must have been. */
	return others ? sql_exec(st) : sql_exec_changed(st, STORE_NOT_FOUND);
}

int sql_token_touch(struct store_tx *tx, uint64_t id, int64_t at)
{
	WRITER_STMT(tx, q_token_touch);
	sql_bind_int(st, 1, at);
	sql_bind_int(st, 2, (int64_t)id);
	return sql_exec(st);
}

static const char q_code_insert[] =
	"INSERT INTO connect_codes(code_hash, person, expires_at) "
	"VALUES (?,?,?)";
static const char q_code_use[] =
	"UPDATE connect_codes SET used_at = ?1 WHERE code_hash = ?2 AND "
	"used_at IS NULL AND expires_at > ?1 RETURNING person";

int sql_code_insert(struct store_tx *tx, const uint8_t *hash, uint64_t person,
		    int64_t expires_at)
{
	WRITER_STMT(tx, q_code_insert);
	sql_bind_blob(st, 1, hash, 32);
	sql_bind_int(st, 2, (int64_t)person);
	sql_bind_int(st, 3, expires_at);
	return sql_exec(st);
}

int sql_code_use(struct store_tx *tx, const uint8_t *hash, int64_t now,
		 uint64_t *person)
{
	WRITER_STMT(tx, q_code_use);
	sql_bind_int(st, 1, now);
	sql_bind_blob(st, 2, hash, 32);
	int rc = sql_step(st), status;
	if (rc == SQL_ROW) {
		*person = (uint64_t)sql_col_int(st, 0);
		rc = sql_step(st);
		status = rc == SQL_DONE ? STORE_OK : STORE_FAULT;
	} else {
		status = rc == SQL_DONE ? STORE_NOT_FOUND : sql_failed(rc);
	}
	sql_release(st);
	return status;
}
