/*
 * pg_copy.c — many rows of one insert in a command (sql.h's sql_rows) on
 * PostgreSQL: `INSERT INTO t(c1, …, cN) VALUES (?, …, ?)` becomes
 * `COPY t(c1, …, cN) FROM STDIN`, and the rows bound one after the other
 * are written in COPY's text format into a buffer that goes to the server
 * when the rows end, or when it has grown past PG_COPY_FLUSH. A campaign's
 * chunk of attempts, or the persons of a set-up, then costs a command or
 * two instead of a round trip each (docs/PERFORMANCE.md).
 *
 * Only on the writer's connection, inside its transaction: a failure
 * (a conflict, another server's lock) fails the job as a failed INSERT
 * would, and the job's savepoint takes back every row.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pg.h"

#define PG_COPY_FLUSH (1u << 20) /* bytes of rows sent in one COPY */

/* A bulk insert under way. Its binds keep the pointers given (sql.h):
 * the row is encoded when it is added. */
struct pg_rows {
	struct sql_stmt base; /* first; base.ops is pg_rows_ops */
	struct pg_store *s;
	char *copy; /* the COPY command (owned) */
	int ncols;
	unsigned char kinds[PG_PARAMS_MAX]; /* PG_BOUND_* of the row's binds */
	int64_t ints[PG_PARAMS_MAX];
	const void *ptrs[PG_PARAMS_MAX];
	size_t lens[PG_PARAMS_MAX];
	char *buf; /* rows encoded, not yet sent (owned) */
	size_t len, cap;
	int status; /* the first failure, or STORE_OK */
};

#define PR(st) ((struct pg_rows *)(st))

static void pg_rows_grow(struct pg_rows *r, size_t more)
{
	if (r->status != STORE_OK || r->len + more <= r->cap)
		return;
	size_t cap = r->cap ? r->cap : 4096;
	while (cap < r->len + more)
		cap *= 2;
	char *b = realloc(r->buf, cap);
	if (b == NULL) {
		r->status = STORE_FAULT;
		return;
	}
	r->buf = b;
	r->cap = cap;
}

static void pg_rows_put(struct pg_rows *r, const char *v, size_t n)
{
	pg_rows_grow(r, n);
	if (r->status != STORE_OK)
		return;
	memcpy(r->buf + r->len, v, n);
	r->len += n;
}

/* A text value in COPY's text format: a backslash, a tab and the ends of
 * lines escaped. */
static void pg_rows_text(struct pg_rows *r, const char *v)
{
	for (const char *p = v; *p; p++) {
		const char *e = *p == '\\'   ? "\\\\"
				: *p == '\t' ? "\\t"
				: *p == '\n' ? "\\n"
				: *p == '\r' ? "\\r"
					     : NULL;
		if (e)
			pg_rows_put(r, e, 2);
		else
			pg_rows_put(r, p, 1);
	}
}

/* Bytes as bytea's hex input (`\x…`, its backslash escaped for COPY). */
static void pg_rows_bytes(struct pg_rows *r, const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	pg_rows_grow(r, 3 + 2 * n);
	if (r->status != STORE_OK)
		return;
	memcpy(r->buf + r->len, "\\\\x", 3);
	r->len += 3;
	for (size_t i = 0; i < n; i++) {
		r->buf[r->len++] = hex[v[i] >> 4];
		r->buf[r->len++] = hex[v[i] & 15];
	}
}

/* Sends the rows encoded so far in one COPY. */
static int pg_rows_send(struct pg_rows *r)
{
	if (r->status != STORE_OK || r->len == 0)
		return r->status;
	PGconn *pg = r->s->writer.pg;
	if (pg == NULL)
		return r->status = STORE_FAULT;
	pg_count(r->s);
	PGresult *res = PQexec(pg, r->copy);
	int rc = STORE_OK;
	if (PQresultStatus(res) == PGRES_COPY_IN) {
		PQclear(res);
		if (PQputCopyData(pg, r->buf, (int)r->len) != 1 ||
		    PQputCopyEnd(pg, NULL) != 1)
			rc = STORE_FAULT;
		res = PQgetResult(pg);
	}
	/* The COPY's result, then the end of the command. */
	for (; res != NULL; res = PQgetResult(pg)) {
		ExecStatusType st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && rc == STORE_OK) {
			if (pg_retryable(res)) {
				r->s->retry = true; /* another server's lock */
				rc = STORE_RETRY;
			} else if ((rc = pg_status(res)) != STORE_CONFLICT) {
				const char *m = PQresultErrorMessage(res);
				log_warn("store: %s failed: %.*s", r->copy,
					 (int)strcspn(m, "\n"), m);
			}
		}
		PQclear(res);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
			break; /* not ours to read on: the job fails */
	}
	r->len = 0;
	return r->status = rc;
}

static void pg_rows_bind_int(struct sql_stmt *st, int i, int64_t v)
{
	struct pg_rows *r = PR(st);
	if (i < 1 || i > r->ncols)
		return;
	r->kinds[i - 1] = PG_BOUND_INT;
	r->ints[i - 1] = v;
}

static void pg_rows_bind_text(struct sql_stmt *st, int i, const char *v)
{
	struct pg_rows *r = PR(st);
	if (i < 1 || i > r->ncols)
		return;
	r->kinds[i - 1] = PG_BOUND_TEXT;
	r->ptrs[i - 1] = v;
}

static void pg_rows_bind_blob(struct sql_stmt *st, int i, const void *v,
			      size_t len)
{
	struct pg_rows *r = PR(st);
	if (i < 1 || i > r->ncols)
		return;
	r->kinds[i - 1] = PG_BOUND_BLOB;
	r->ptrs[i - 1] = v;
	r->lens[i - 1] = len;
}

static void pg_rows_bind_null(struct sql_stmt *st, int i)
{
	struct pg_rows *r = PR(st);
	if (i >= 1 && i <= r->ncols)
		r->kinds[i - 1] = PG_BOUND_NULL;
}

static int pg_rows_add(struct sql_stmt *st)
{
	struct pg_rows *r = PR(st);
	for (int i = 0; i < r->ncols && r->status == STORE_OK; i++) {
		char num[24];
		if (i > 0)
			pg_rows_put(r, "\t", 1);
		switch (r->kinds[i]) {
		case PG_BOUND_INT:
			snprintf(num, sizeof(num), "%" PRId64, r->ints[i]);
			pg_rows_put(r, num, strlen(num));
			break;
		case PG_BOUND_TEXT:
			pg_rows_text(r, r->ptrs[i]);
			break;
		case PG_BOUND_BLOB:
			pg_rows_bytes(r, r->ptrs[i], r->lens[i]);
			break;
		default:
			pg_rows_put(r, "\\N", 2);
		}
	}
	pg_rows_put(r, "\n", 1);
	memset(r->kinds, PG_BOUND_NULL, sizeof(r->kinds));
	if (r->status == STORE_OK && r->len >= PG_COPY_FLUSH)
		pg_rows_send(r);
	return r->status;
}

static int pg_rows_end(struct sql_stmt *st)
{
	struct pg_rows *r = PR(st);
	int rc = pg_rows_send(r);
	free(r->buf);
	free(r->copy);
	free(r);
	return rc;
}

/* A rows statement is bound, added and ended, never stepped or read. */
static const struct sql_ops pg_rows_ops = {
	.pg = true,
	.bind_int = pg_rows_bind_int,
	.bind_text = pg_rows_bind_text,
	.bind_blob = pg_rows_bind_blob,
	.bind_null = pg_rows_bind_null,
	.rows = pg_rows,
	.rows_add = pg_rows_add,
	.rows_end = pg_rows_end,
};

/* `INSERT INTO t(c1, …, cN) VALUES …` → `COPY t(c1, …, cN) FROM STDIN`,
 * and N; NULL for another text. */
static char *pg_copy_text(const char *insert, int *ncols)
{
	static const char head[] = "INSERT INTO ";
	if (strncmp(insert, head, sizeof(head) - 1) != 0)
		return NULL;
	const char *table = insert + sizeof(head) - 1;
	const char *close = strchr(table, ')');
	if (close == NULL || strchr(table, '(') == NULL ||
	    strchr(table, '(') > close)
		return NULL;
	*ncols = 1;
	for (const char *p = table; p < close; p++)
		*ncols += *p == ',';
	if (*ncols > PG_PARAMS_MAX)
		return NULL;
	size_t n = (size_t)(close - table) + 1;
	char *copy = malloc(n + sizeof("COPY  FROM STDIN"));
	if (copy)
		snprintf(copy, n + sizeof("COPY  FROM STDIN"),
			 "COPY %.*s FROM STDIN", (int)n, table);
	return copy;
}

struct sql_stmt *pg_rows(struct store_rd *rd, const char *insert)
{
	if (rd->tx == NULL)
		return NULL; /* the writer's, in its transaction */
	struct pg_rows *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	if ((r->copy = pg_copy_text(insert, &r->ncols)) == NULL) {
		log_warn("store: not an insert for COPY: %s", insert);
		free(r);
		return NULL;
	}
	r->base = (struct sql_stmt){ &pg_rows_ops, rd };
	r->s = PG(rd->store);
	return &r->base;
}
