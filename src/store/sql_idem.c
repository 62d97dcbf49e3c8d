/*
 * sqlite_idem.c — the SQLite backend's Idempotency-Keys: a brand's key
 * with the hash of its request and the stored answer, free again after a
 * day (store_purge deletes them).
 */
#include <string.h>

#include "sql.h"

static const char q_idem_get[] =
	"SELECT request, status, response, created_at FROM idempotency "
	"WHERE brand = ? AND key = ?";

static int idem_row(struct sql_stmt *st, void *out)
{
	struct store_idem *v = out;
	memset(v, 0, sizeof(*v));
	if ((int)sql_col_bytes(st, 0) == 32)
		memcpy(v->request, sql_col_blob(st, 0), 32);
	v->status = (int)sql_col_int(st, 1);
	v->response = col_strdup(st, 2);
	v->created_at = sql_col_int(st, 3);
	return v->response ? STORE_OK : STORE_FAULT;
}

int sql_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		 struct store_idem *out)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_idem_get);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)brand);
	bind_text(st, 2, key);
	return sql_select_one(&q, idem_row, out);
}

/* A key older than a day is free again even before the purge took it. */
static const char q_idem_put[] =
	"INSERT INTO idempotency(brand, key, request, status, response, "
	"created_at) VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT(brand, key) DO "
	"UPDATE SET request = excluded.request, status = excluded.status, "
	"response = excluded.response, created_at = excluded.created_at "
	"WHERE idempotency.created_at < excluded.created_at - 86400";

int sql_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
		 const struct store_idem *v)
{
	WRITER_STMT(tx, q_idem_put);
	sql_bind_int(st, 1, (int64_t)brand);
	bind_text(st, 2, key);
	sql_bind_blob(st, 3, v->request, 32);
	sql_bind_int(st, 4, v->status);
	bind_text(st, 5, v->response);
	sql_bind_int(st, 6, v->created_at);
	/* No row changed: a live key, the other request won. */
	return sql_exec_changed(st, STORE_CONFLICT);
}

static const char q_idem_finish[] =
	"UPDATE idempotency SET status = ?, response = ? WHERE brand = ? AND "
	"key = ?";

int sql_idem_finish(struct store_tx *tx, uint64_t brand, const char *key,
		    int status, const char *response)
{
	WRITER_STMT(tx, q_idem_finish);
	sql_bind_int(st, 1, status);
	bind_text(st, 2, response);
	sql_bind_int(st, 3, (int64_t)brand);
	bind_text(st, 4, key);
	return sql_exec(st);
}
