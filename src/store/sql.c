/*
 * sql.c — what the queries of both SQL backends share: writes stepped to
 * completion, reads stepped row by row, the one-column rows (sql.h).
 */
#include "base/log.h"
#include "sql.h"

char *col_blobdup(struct sql_stmt *st, int i, size_t *len)
{
	*len = 0;
	if (sql_col_null(st, i))
		return NULL;
	const void *p = sql_col_blob(st, i);
	size_t n = sql_col_bytes(st, i);
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	if (n)
		memcpy(out, p, n);
	out[n] = '\0';
	*len = n;
	return out;
}

int sql_exec_count(struct sql_stmt *st, int none, int64_t *changed)
{
	int rc = sql_step(st);
	int64_t n = 0;
	if (rc == SQL_ROW || rc == SQL_DONE) {
		n = st->ops->changes(st);
		rc = STORE_OK;
	}
	sql_release(st);
	if (changed)
		*changed = n;
	if (rc == STORE_OK && n == 0 && none != STORE_OK)
		return none;
	return rc;
}

int sql_exec(struct sql_stmt *st)
{
	return sql_exec_count(st, STORE_OK, NULL);
}

int sql_update_text(struct store_tx *tx, const char *sql, uint64_t id,
		    const char *v)
{
	WRITER_STMT(tx, sql);
	bind_text(st, 1, v);
	sql_bind_int(st, 2, (int64_t)id);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}

struct sql_stmt *sql_select(struct sql_select *q, struct store_rd *rd,
			    const char *sql)
{
	*q = (struct sql_select){ .status = STORE_OK };
	q->st = sql_stmt(rd, sql);
	return q->st;
}

bool sql_select_next(struct sql_select *q, sql_row_fn row, void *out)
{
	if (q->done || q->status != STORE_OK)
		return false;
	int rc = sql_step(q->st);
	if (rc == SQL_DONE) {
		q->done = true; /* another step would start it over */
		return false;
	}
	if (rc != SQL_ROW) {
		q->status = rc == STORE_OK ? STORE_FAULT : rc;
		return false;
	}
	if (row && row(q->st, out) != STORE_OK) {
		q->status = STORE_FAULT;
		return false;
	}
	return true;
}

int sql_select_end(struct sql_select *q)
{
	sql_release(q->st);
	return q->status;
}

int sql_select_one(struct sql_select *q, sql_row_fn row, void *out)
{
	bool found = sql_select_next(q, row, out);
	int status = sql_select_end(q);
	return status == STORE_OK && !found ? STORE_NOT_FOUND : status;
}

int sql_select_key(struct store_rd *rd, const char *sql, uint64_t id,
		   const char *text, sql_row_fn row, void *out)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, sql);
	if (st == NULL)
		return STORE_FAULT;
	if (text)
		bind_text(st, 1, text);
	else
		sql_bind_int(st, 1, (int64_t)id);
	return sql_select_one(&q, row, out);
}

char *sql_keys(struct store_rd *rd, const uint64_t *keys, size_t n)
{
	bool pg = SQL_OPS(rd)->pg;
	char *text = malloc(n * 21 + 3);
	if (text == NULL)
		return NULL;
	size_t len = 0;
	text[len++] = pg ? '{' : '[';
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s%lld", i ? "," : "",
				       (long long)(int64_t)keys[i]);
	text[len++] = pg ? '}' : ']';
	text[len] = '\0';
	return text;
}

struct sql_stmt *sql_select_keys(struct sql_select *q, struct store_rd *rd,
				 const char *sqlite_sql, const char *pg_sql,
				 const uint64_t *keys, size_t n, char **text)
{
	struct sql_stmt *st = NULL;
	if ((*text = sql_keys(rd, keys, n)) != NULL &&
	    (st = sql_select(q, rd, SQL_PICK(rd, sqlite_sql, pg_sql))) != NULL)
		bind_text(st, 1, *text);
	if (st == NULL) {
		free(*text);
		*text = NULL;
	}
	return st;
}

int sql_row_key(struct sql_stmt *st, void *out)
{
	*(uint64_t *)out = (uint64_t)sql_col_int(st, 0);
	return STORE_OK;
}

int sql_row_int(struct sql_stmt *st, void *out)
{
	*(int64_t *)out = sql_col_int(st, 0);
	return STORE_OK;
}

int sql_row_text(struct sql_stmt *st, void *out)
{
	char **text = out;
	*text = col_strdup(st, 0);
	return *text ? STORE_OK : STORE_FAULT;
}
