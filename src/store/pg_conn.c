/*
 * pg_conn.c — the PostgreSQL backend's connections and statements.
 *
 * A connection prepares each SQL text once (named s<N> by its place in
 * the connection's cache, keyed by the text's pointer), with the
 * parameters' types left for the server to infer and read back, so that
 * a text bound where the column is bytea goes as bytes. Integers go as
 * text; results come in binary, fetched whole at the first step.
 * Readers take a connection from a pool; a read session pins one to a
 * thread inside one REPEATABLE READ transaction. A read names where it
 * goes with a struct store_rd: the pool, or the writer's connection,
 * inside its transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "pg.h"

/* Type OIDs of the catalog (pg_type.dat), fixed since PostgreSQL 7. */
enum {
	PG_BOOL = 16,
	PG_BYTEA = 17,
	PG_INT8 = 20,
	PG_INT2 = 21,
	PG_INT4 = 23,
	PG_OID = 26,
	PG_FLOAT4 = 700,
	PG_FLOAT8 = 701,
	PG_NUMERIC = 1700,
};

/* ---- Connections ---- */

/* What PostgreSQL says on a connection it is not asked anything on: a
 * server that shuts down tells each idle connection so (FATAL), which the
 * reach's lines tell once instead; anything else is logged on one line
 * (not printed raw, libpq's default). */
static void pg_notice(void *arg, const char *message)
{
	(void)arg;
	size_t n = strlen(message);
	while (n && (message[n - 1] == '\n' || message[n - 1] == ' '))
		n--;
	if (strncmp(message, "FATAL:", 6) == 0)
		log_debug("store: PostgreSQL: %.*s", (int)n, message);
	else
		log_warn("store: PostgreSQL: %.*s", (int)n, message);
}

/* libpq's message of a failed connect on one line (its lines joined),
 * with what to do for the failures a newcomer meets. */
static void pg_connect_error(const char *msg, char *err, size_t errlen)
{
	static const struct {
		const char *says, *hint;
	} hints[] = {
		{ "does not exist", "create it (README, PostgreSQL step 1)" },
		{ "password authentication failed",
		  "check the password (~/.pgpass, PGPASSFILE or the URL; "
		  "README, PostgreSQL step 1)" },
		{ "no password supplied",
		  "give the role's password in ~/.pgpass or PGPASSFILE "
		  "(README, PostgreSQL step 1)" },
		{ "no pg_hba.conf entry",
		  "let this host in with a line in pg_hba.conf (README, "
		  "PostgreSQL step 1)" },
		{ "Connection refused",
		  "is PostgreSQL running and listening there? "
		  "(pg_lsclusters; listen_addresses)" },
	};
	char line[512];
	size_t o = 0;
	for (const char *p = msg; *p && o + 1 < sizeof(line); p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (o && line[o - 1] != ' ')
				line[o++] = ' ';
			continue;
		}
		line[o++] = *p;
	}
	while (o && line[o - 1] == ' ')
		o--;
	line[o] = '\0';
	const char *hint = NULL;
	for (size_t i = 0; i < sizeof(hints) / sizeof(*hints) && !hint; i++)
		if (strstr(line, hints[i].says))
			hint = hints[i].hint;
	snprintf(err, errlen, "cannot connect to PostgreSQL: %s%s%s", line,
		 hint ? ": " : "", hint ? hint : "");
}

int pg_conn_open(struct pg_store *s, struct pg_conn *c, enum pg_kind kind,
		 char *err, size_t errlen)
{
	/* The URL is expanded as libpq's dbname; what it sets wins over the
	 * TCP keepalives before it (a server gone without a word is found
	 * in about a minute, not two hours: the lock's session of
	 * pg_lock_keep above all), and a name it gives (or PGAPPNAME) over
	 * the fallback. */
	const char *keys[] = {
		"keepalives_idle",	     "keepalives_interval",
		"keepalives_count",	     "dbname",
		"fallback_application_name", NULL
	};
	const char *values[] = {
		"30", "10", "3", s->conninfo, s->client[0] ? s->client : "cmr",
		NULL
	};
	memset(c, 0, sizeof(*c));
	c->pg = PQconnectdbParams(keys, values, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		pg_connect_error(c->pg ? PQerrorMessage(c->pg)
				       : "out of memory",
				 err, errlen);
		PQfinish(c->pg);
		c->pg = NULL;
		if (kind != PG_KINDS)
			pg_reach_note(s, kind, err);
		return STORE_FAULT;
	}
	PQsetNoticeProcessor(c->pg, pg_notice, NULL);
	if (pg_exec(c, "SET client_min_messages = warning") != STORE_OK) {
		snprintf(err, errlen, "cannot set up the PostgreSQL session");
		PQfinish(c->pg);
		c->pg = NULL;
		return STORE_FAULT;
	}
	if (kind != PG_KINDS)
		pg_reach_note(s, kind, NULL);
	return STORE_OK;
}

int pg_conn_ensure(struct pg_store *s, struct pg_conn *c, enum pg_kind kind,
		   char *err, size_t errlen, bool *renewed)
{
	*renewed = false;
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
		return STORE_OK;
	if (c->pg)
		pg_conn_close(c);
	if (pg_conn_open(s, c, kind, err, errlen) != STORE_OK)
		return STORE_FAULT;
	*renewed = true;
	return STORE_OK;
}

/* ---- Whether PostgreSQL answers ---- */

static const char *const pg_kind_names[PG_KINDS] = {
	[PG_WRITER] = "writer",
	[PG_READER] = "reader",
	[PG_LISTENER] = "listener",
	[PG_LOCKOUTS] = "lock-outs",
};

void pg_reach_note(struct pg_store *s, enum pg_kind kind, const char *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	pthread_mutex_lock(&s->reach.lock);
	int64_t since = s->reach.down_since[kind];
	if (err == NULL) {
		s->reach.down_since[kind] = 0;
		s->reach.unreachable_since = 0;
	} else {
		if (since == 0)
			s->reach.down_since[kind] = now;
		if (s->reach.unreachable_since == 0)
			s->reach.unreachable_since = now;
	}
	pthread_mutex_unlock(&s->reach.lock);
	if (err == NULL && since != 0) {
		log_info("store: %s: PostgreSQL back after %lld s",
			 pg_kind_names[kind],
			 (long long)((now - since + 500) / 1000));
	} else if (err != NULL && since == 0) {
		char at[32];
		time_t t = (time_t)(now / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		log_warn("store: %s: PostgreSQL unreachable since %s: %s",
			 pg_kind_names[kind], at, err);
	}
}

int64_t pg_unreachable_since(struct store *store)
{
	struct pg_store *s = PG(store);
	pthread_mutex_lock(&s->reach.lock);
	int64_t since = s->reach.unreachable_since;
	pthread_mutex_unlock(&s->reach.lock);
	return since;
}

void pg_conn_close(struct pg_conn *c)
{
	for (int i = 0; i < c->n; i++)
		PQclear(c->slots[i].stmt.res);
	c->n = 0;
	PQfinish(c->pg);
	c->pg = NULL;
}

int pg_status(const PGresult *res)
{
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state && strncmp(state, "23", 2) == 0)
		return STORE_CONFLICT;
	return STORE_FAULT;
}

bool pg_retryable(const PGresult *res)
{
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* serialization_failure, deadlock_detected, lock_not_available */
	return state &&
	       (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		strcmp(state, "55P03") == 0);
}

/* Logs a failed result, unless it is a conflict (an expected refusal) or
 * the connection was lost (the reach tells that once, not a statement at
 * a time): whether it logged. */
static bool pg_log_failure(struct pg_conn *c, const PGresult *res,
			   const char *what)
{
	if (res && pg_status(res) == STORE_CONFLICT)
		return false;
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	if (msg == NULL || *msg == '\0')
		msg = c->pg ? PQerrorMessage(c->pg) : "no connection";
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		n--;
	log_warn("store: %s failed: %.*s", what, (int)n, msg);
	return true;
}

int pg_exec(struct pg_conn *c, const char *sql)
{
	if (c->pg == NULL)
		return STORE_FAULT;
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = STORE_OK;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_log_failure(c, res, sql);
		rc = pg_status(res);
	}
	PQclear(res);
	return rc;
}

/* ---- Statements ---- */

char *pg_sql_text(const char *sql, int *nparams, uint32_t *used)
{
	size_t len = strlen(sql);
	/* Each `?` becomes at most `$NN`: three bytes more at worst. */
	char *out = malloc(len * 4 + 1), *o = out;
	int max = 0;
	char quote = 0;

	*used = 0;
	if (out == NULL)
		return NULL;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0; /* '' reads as two quotes: fine */
			*o++ = *p;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
			continue;
		}
		if (*p != '?') {
			*o++ = *p;
			continue;
		}
		int n = 0;
		while (p[1] >= '0' && p[1] <= '9')
			n = n * 10 + (*++p - '0');
		if (n == 0)
			n = max + 1;
		if (n > max)
			max = n;
		if (n <= 32)
			*used |= 1u << (n - 1);
		o += sprintf(o, "$%d", n);
	}
	*o = '\0';
	*nparams = max;
	return out;
}

/* Prepares the statement on its connection, at its first execution:
 * integers are declared bigint and bytes bytea, the rest left for the
 * server to infer; then reads back the types it settled on. */
static int pg_prepare(struct pg_stmt *s)
{
	struct pg_conn *c = s->conn;
	const char *sql = c->slots[s->index].sql;
	char name[16];
	int n = 0;
	uint32_t used;
	char *text = pg_sql_text(sql, &n, &used);
	Oid types[PG_PARAMS_MAX];

	if (text == NULL)
		return STORE_FAULT;
	/* A parameter the text skips (?1 and ?3, no ?2) is declared too:
	 * the server cannot infer its type, and none is read. */
	for (int i = 0; i < n && i < PG_PARAMS_MAX; i++)
		types[i] = s->kinds[i] == PG_BOUND_INT || !(used & 1u << i)
				   ? PG_INT8
			   : s->kinds[i] == PG_BOUND_BLOB ? PG_BYTEA
							  : 0;
	snprintf(name, sizeof(name), "s%d", s->index);
	PGresult *res = PQprepare(c->pg, name, text, n, types);
	free(text);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (pg_log_failure(c, res, "prepare"))
			log_warn("store: the statement: %s", sql);
		int rc = pg_retryable(res) ? STORE_RETRY : STORE_FAULT;
		PQclear(res);
		return rc;
	}
	PQclear(res);
	res = PQdescribePrepared(c->pg, name);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_log_failure(c, res, "describe");
		PQclear(res);
		return STORE_FAULT;
	}
	for (int i = 0; i < s->nparams; i++)
		s->types[i] = PQparamtype(res, i);
	PQclear(res);
	s->prepared = true;
	return STORE_OK;
}

/* The cached statement of sql on c, reset and unbound; NULL on error. */
static struct pg_stmt *pg_slot(struct pg_conn *c, const char *sql)
{
	struct pg_slot *slot = NULL;
	for (int i = 0; i < c->n; i++)
		if (c->slots[i].sql == sql) {
			slot = &c->slots[i];
			break;
		}
	if (slot == NULL) {
		if (c->n == PG_STMT_CACHE) {
			log_warn("store: statement cache full");
			return NULL;
		}
		int n = 0;
		uint32_t used;
		char *text = pg_sql_text(sql, &n, &used);
		free(text);
		if (text == NULL || n > PG_PARAMS_MAX) {
			log_warn("store: a statement has %d parameters (at "
				 "most %d)",
				 n, PG_PARAMS_MAX);
			return NULL;
		}
		slot = &c->slots[c->n];
		*slot = (struct pg_slot){ .sql = sql };
		slot->stmt.index = c->n++;
		slot->stmt.conn = c;
		slot->stmt.nparams = n;
		slot->stmt.base.ops = &pg_sql_ops;
	}
	struct pg_stmt *s = &slot->stmt;
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	s->rows = 0;
	s->changes = 0;
	for (int i = 0; i < s->nparams; i++) {
		s->values[i] = NULL;
		s->lengths[i] = 0;
		s->formats[i] = 0;
		s->kinds[i] = PG_BOUND_NULL;
	}
	return s;
}

/* Opens a reader's lost connection again, in place: its statements are
 * prepared anew at their next use. */
int pg_conn_renew(struct pg_store *s, struct pg_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return STORE_OK;
	PQreset(c->pg);
	for (int i = 0; i < c->n; i++)
		c->slots[i].stmt.prepared = false;
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char err[512];
		pg_connect_error(PQerrorMessage(c->pg), err, sizeof(err));
		pg_reach_note(s, PG_READER, err);
		return STORE_FAULT;
	}
	pg_reach_note(s, PG_READER, NULL);
	return pg_exec(c, "SET client_min_messages = warning");
}

/* ---- Readers and read sessions ---- */

static __thread struct {
	struct pg_store *s;
	struct pg_conn *c;
} pg_pinned;

static struct pg_conn *pg_reader_take(struct pg_store *s);

/* A read session's connection is taken, and its transaction begun, at
 * its first read (a request that reads nothing, /healthz, pays for
 * none). */
static struct pg_conn *pg_reader(struct pg_store *s)
{
	if (pg_pinned.s != s)
		return pg_reader_take(s);
	if (pg_pinned.c == NULL) {
		struct pg_conn *c = pg_reader_take(s);
		if (c == NULL)
			return NULL;
		if (pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
			       "ONLY") != STORE_OK)
			return c; /* reads go on without one snapshot */
		pg_pinned.c = c;
	}
	return pg_pinned.c;
}

static struct pg_conn *pg_reader_take(struct pg_store *s)
{
	pthread_mutex_lock(&s->pool_lock);
	struct pg_conn *c = s->pool;
	if (c)
		s->pool = c->next;
	pthread_mutex_unlock(&s->pool_lock);
	if (c)
		return c;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	char err[512];
	if (pg_conn_open(s, c, PG_READER, err, sizeof(err)) != STORE_OK) {
		free(c);
		return NULL;
	}
	return c;
}

static void pg_reader_put(struct pg_store *s, struct pg_conn *c)
{
	if (pg_pinned.c == c && pg_pinned.s == s)
		return;
	if (PQstatus(c->pg) != CONNECTION_OK ||
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		/* Lost (the server restarted) or left inside a transaction:
		 * the next reader opens a new one. */
		pg_conn_close(c);
		free(c);
		return;
	}
	pthread_mutex_lock(&s->pool_lock);
	c->next = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->pool_lock);
}

void pg_read_begin(struct store *store)
{
	if (pg_pinned.s != NULL)
		return; /* sessions do not nest */
	pg_pinned.s = PG(store);
	pg_pinned.c = NULL; /* taken at the first read (pg_reader) */
}

void pg_read_end(struct store *store)
{
	struct pg_store *s = PG(store);
	if (pg_pinned.s != s)
		return;
	struct pg_conn *c = pg_pinned.c;
	pg_pinned.s = NULL;
	pg_pinned.c = NULL;
	if (c == NULL)
		return; /* nothing was read */
	if (pg_exec(c, "COMMIT") != STORE_OK)
		pg_exec(c, "ROLLBACK");
	pg_reader_put(s, c);
}

/* ---- The statements of sql.h ---- */

#define PS(st) ((struct pg_stmt *)(st))

static struct pg_conn *pg_rd_conn(struct store_rd *rd)
{
	return rd->tx ? &PG(rd->store)->writer : pg_reader(PG(rd->store));
}

static struct sql_stmt *pg_sql_stmt(struct store_rd *rd, const char *sql)
{
	struct pg_conn *c = pg_rd_conn(rd);
	if (c == NULL || c->pg == NULL)
		return NULL;
	struct pg_stmt *s = pg_slot(c, sql);
	if (s == NULL) {
		if (rd->tx == NULL)
			pg_reader_put(PG(rd->store), c);
		return NULL;
	}
	s->base.rd = rd;
	return &s->base;
}

static int pg_sql_step(struct sql_stmt *st)
{
	struct pg_stmt *s = PS(st);
	if (s->res == NULL && st->rd->tx == NULL &&
	    PQstatus(s->conn->pg) != CONNECTION_OK)
		pg_conn_renew(PG(st->rd->store), s->conn);
	if (s->res == NULL) {
		int rc;
		if (!s->prepared && (rc = pg_prepare(s)) != STORE_OK) {
			if (rc == STORE_RETRY && st->rd->tx)
				PG(st->rd->store)->retry = true;
			return rc;
		}
		/* A text where the column is bytea goes as its bytes, not as
		 * bytea's escaped input (a sealed value's column). */
		for (int i = 0; i < s->nparams; i++)
			if (s->kinds[i] == PG_BOUND_TEXT &&
			    s->types[i] == PG_BYTEA) {
				s->formats[i] = 1;
				s->lengths[i] = (int)strlen(s->values[i]);
			}
		char name[16];
		snprintf(name, sizeof(name), "s%d", s->index);
		if (st->rd->tx)
			pg_count(PG(st->rd->store));
		s->res = PQexecPrepared(s->conn->pg, name, s->nparams,
					s->values, s->lengths, s->formats, 1);
		ExecStatusType rs = PQresultStatus(s->res);
		if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK &&
		    st->rd->tx == NULL && !s->renewed &&
		    PQstatus(s->conn->pg) != CONNECTION_OK &&
		    pg_conn_renew(PG(st->rd->store), s->conn) == STORE_OK) {
			/* A reader's connection the server dropped (it
			 * restarted): the read is made once more on a new
			 * one, with the same binds. */
			PQclear(s->res);
			s->res = NULL;
			s->renewed = true;
			rc = pg_sql_step(st);
			s->renewed = false;
			return rc;
		}
		if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
			rc = pg_status(s->res);
			if (st->rd->tx && pg_retryable(s->res)) {
				/* Another server holds a row the job needs:
				 * the writer runs it again. */
				PG(st->rd->store)->retry = true;
				PQclear(s->res);
				s->res = NULL;
				return STORE_RETRY;
			}
			if (pg_log_failure(s->conn, s->res,
					   rc == STORE_FAULT ? "a statement"
							     : "a write") &&
			    rc == STORE_FAULT)
				log_warn("store: the statement: %s",
					 s->conn->slots[s->index].sql);
			PQclear(s->res);
			s->res = NULL;
			return rc;
		}
		s->rows = PQntuples(s->res);
		s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		s->row = -1;
	}
	if (s->row < s->rows)
		s->row++;
	return s->row < s->rows ? SQL_ROW : SQL_DONE;
}

static int64_t pg_sql_changes(struct sql_stmt *st)
{
	return PS(st)->changes;
}

static void pg_sql_release(struct sql_stmt *st)
{
	struct pg_stmt *s = PS(st);
	PQclear(s->res);
	s->res = NULL;
	if (st->rd->tx == NULL)
		pg_reader_put(PG(st->rd->store), s->conn);
}

/* Whether the statement has parameter i; a bind past its parameters is
 * ignored, as SQLite does (sql_select_key binds a key to a statement
 * that may name none). */
static bool pg_param(struct pg_stmt *s, int i)
{
	return i >= 1 && i <= s->nparams;
}

static void pg_sql_bind_int(struct sql_stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = PS(st);
	if (!pg_param(s, i))
		return;
	snprintf(s->nums[i - 1], sizeof(s->nums[i - 1]), "%" PRId64, v);
	s->values[i - 1] = s->nums[i - 1];
	s->formats[i - 1] = 0;
	s->kinds[i - 1] = PG_BOUND_INT;
}

static void pg_sql_bind_blob(struct sql_stmt *st, int i, const void *v,
			     size_t len)
{
	struct pg_stmt *s = PS(st);
	if (!pg_param(s, i))
		return;
	s->values[i - 1] = v ? v : "";
	s->lengths[i - 1] = (int)len;
	s->formats[i - 1] = 1;
	s->kinds[i - 1] = PG_BOUND_BLOB;
}

static void pg_sql_bind_text(struct sql_stmt *st, int i, const char *v)
{
	struct pg_stmt *s = PS(st);
	if (!pg_param(s, i))
		return;
	s->values[i - 1] = v;
	s->formats[i - 1] = 0;
	s->kinds[i - 1] = PG_BOUND_TEXT;
}

static void pg_sql_bind_null(struct sql_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);
	if (!pg_param(s, i))
		return;
	s->values[i - 1] = NULL;
	s->kinds[i - 1] = PG_BOUND_NULL;
}

static uint64_t pg_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* An integer-valued NUMERIC in binary (sum() of bigints): ndigits,
 * weight, sign, dscale, then base-10000 digits. */
static int64_t pg_numeric(const unsigned char *p, int len)
{
	if (len < 8)
		return 0;
	int ndigits = (int16_t)pg_be(p, 2), weight = (int16_t)pg_be(p + 2, 2);
	unsigned sign = (unsigned)pg_be(p + 4, 2);
	int64_t v = 0;
	for (int i = 0; i <= weight; i++) {
		int64_t d = 0;
		if (i < ndigits && 8 + 2 * i + 2 <= len)
			d = (int16_t)pg_be(p + 8 + 2 * i, 2);
		v = v * 10000 + d;
	}
	return sign == 0x4000 ? -v : v;
}

static int64_t pg_sql_col_int(struct sql_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);
	if (PQgetisnull(s->res, s->row, i))
		return 0;
	const unsigned char *p =
		(const unsigned char *)PQgetvalue(s->res, s->row, i);
	int len = PQgetlength(s->res, s->row, i);
	switch (PQftype(s->res, i)) {
	case PG_INT8:
		return len == 8 ? (int64_t)pg_be(p, 8) : 0;
	case PG_INT4:
	case PG_OID:
		return len == 4 ? (int32_t)pg_be(p, 4) : 0;
	case PG_INT2:
		return len == 2 ? (int16_t)pg_be(p, 2) : 0;
	case PG_BOOL:
		return len == 1 ? p[0] != 0 : 0;
	case PG_NUMERIC:
		return pg_numeric(p, len);
	case PG_FLOAT8: {
		uint64_t b = pg_be(p, 8);
		double d;
		memcpy(&d, &b, sizeof(d));
		return (int64_t)d;
	}
	case PG_FLOAT4: {
		uint32_t b = (uint32_t)pg_be(p, 4);
		float f;
		memcpy(&f, &b, sizeof(f));
		return (int64_t)f;
	}
	default: /* a text: as SQLite reads one */
		return strtoll((const char *)p, NULL, 10);
	}
}

static const char *pg_sql_col_text(struct sql_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);
	if (PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static const void *pg_sql_col_blob(struct sql_stmt *st, int i)
{
	return pg_sql_col_text(st, i);
}

static size_t pg_sql_col_bytes(struct sql_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);
	return (size_t)PQgetlength(s->res, s->row, i);
}

static bool pg_sql_col_null(struct sql_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);
	return PQgetisnull(s->res, s->row, i) != 0;
}

static int pg_sql_col_count(struct sql_stmt *st)
{
	struct pg_stmt *s = PS(st);
	return s->res ? PQnfields(s->res) : 0;
}

const struct sql_ops pg_sql_ops = {
	.pg = true,
	.stmt = pg_sql_stmt,
	.step = pg_sql_step,
	.changes = pg_sql_changes,
	.release = pg_sql_release,
	.bind_int = pg_sql_bind_int,
	.bind_text = pg_sql_bind_text,
	.bind_blob = pg_sql_bind_blob,
	.bind_null = pg_sql_bind_null,
	.col_int = pg_sql_col_int,
	.col_text = pg_sql_col_text,
	.col_blob = pg_sql_col_blob,
	.col_bytes = pg_sql_col_bytes,
	.col_null = pg_sql_col_null,
	.col_count = pg_sql_col_count,
	.rows = pg_rows,
};
