/*
 * sqlite_idem.c — the SQLite backend's Idempotency-Keys: a brand's key
 * with the hash of its request and the stored answer, free again after a
 * day (store_purge deletes them).
 */
#include <string.h>

#include "sqlite.h"

static const char sql_idem_get[] =
	"SELECT request, status, response, created_at FROM idempotency "
	"WHERE brand = ? AND key = ?";

static int idem_row(sqlite3_stmt *st, void *out)
{
	struct store_idem *v = out;
	memset(v, 0, sizeof(*v));
	if (sqlite3_column_bytes(st, 0) == 32)
		memcpy(v->request, sqlite3_column_blob(st, 0), 32);
	v->status = sqlite3_column_int(st, 1);
	v->response = col_strdup(st, 2);
	v->created_at = sqlite3_column_int64(st, 3);
	return v->response ? STORE_OK : STORE_FAULT;
}

int sqlite_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		    struct store_idem *out)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_idem_get);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	bind_text(st, 2, key);
	return sqlite_select_one(&q, idem_row, out);
}

/* A key older than a day is free again even before the purge took it. */
static const char sql_idem_put[] =
	"INSERT INTO idempotency(brand, key, request, status, response, "
	"created_at) VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT(brand, key) DO "
	"UPDATE SET request = excluded.request, status = excluded.status, "
	"response = excluded.response, created_at = excluded.created_at "
	"WHERE idempotency.created_at < excluded.created_at - 86400";

int sqlite_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
		    const struct store_idem *v)
{
	WRITER_STMT(tx, sql_idem_put);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	bind_text(st, 2, key);
	sqlite3_bind_blob(st, 3, v->request, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, v->status);
	bind_text(st, 5, v->response);
	sqlite3_bind_int64(st, 6, v->created_at);
	/* No row changed: a live key, the other request won. */
	return sqlite_exec_changed(tx, st, STORE_CONFLICT);
}

static const char sql_idem_finish[] =
	"UPDATE idempotency SET status = ?, response = ? WHERE brand = ? AND "
	"key = ?";

int sqlite_idem_finish(struct store_tx *tx, uint64_t brand, const char *key,
		       int status, const char *response)
{
	WRITER_STMT(tx, sql_idem_finish);
	sqlite3_bind_int(st, 1, status);
	bind_text(st, 2, response);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)brand);
	bind_text(st, 4, key);
	return sqlite_exec_stmt(st);
}
