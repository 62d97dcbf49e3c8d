/*
 * sqlite_idem.c — the SQLite backend's Idempotency-Keys: a brand's key
 * with the hash of its request and the stored answer, free again after a
 * day.
 */
#include <string.h>

#include "sqlite.h"

static const char sql_idem_get[] =
	"SELECT request, status, response, created_at FROM idempotency "
	"WHERE brand = ? AND key = ?";

int sqlite_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		    struct store_idem *out)
{
	READER_BEGIN(rd, sql_idem_get);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	bind_text(st, 2, key);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		if (sqlite3_column_bytes(st, 0) == 32)
			memcpy(out->request, sqlite3_column_blob(st, 0), 32);
		out->status = sqlite3_column_int(st, 1);
		out->response = col_strdup(st, 2);
		out->created_at = sqlite3_column_int64(st, 3);
		if (out->response == NULL)
			status = STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
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
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(sqlite_tx_conn(tx)->db) == 0)
		return STORE_CONFLICT; /* a live key: the other request won */
	return status;
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

static const char sql_idem_purge[] =
	"DELETE FROM idempotency WHERE created_at < ?";

int sqlite_idem_purge(struct store_tx *tx, int64_t before)
{
	WRITER_STMT(tx, sql_idem_purge);
	sqlite3_bind_int64(st, 1, before);
	return sqlite_exec_stmt(st);
}
