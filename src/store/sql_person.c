/*
 * sqlite_person.c — the SQLite backend's persons: their row (handle,
 * password, wrapped data key, sealed profile, global terms, folders,
 * delivery settings), the partial reads of it, and erasure, which reaches
 * into every table that holds something of the person.
 */
#include <string.h>

#include <sodium.h>

#include "sql.h"

static const char q_person_insert[] =
	"INSERT INTO persons(id, handle, password_hash, data_key, profile, "
	"global_terms, folders, created_at, handle_sealed) "
	"VALUES (?,?,?,?,?,?,?,?,?)";
/* PostgreSQL keeps handles unique in their directory (handles,
 * schema/pg/002_person_keys.sql), in the same statement. */
static const char q_pg_person_insert[] =
	"WITH h AS (INSERT INTO handles(handle, person) VALUES (?2, ?1)) "
	"INSERT INTO persons(id, handle, password_hash, data_key, profile, "
	"global_terms, folders, created_at, handle_sealed) "
	"VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)";

/* What a person's row holds of their handle and folders: the handle's
 * keyed hash (what log-in looks up, and what keeps it unique), and the
 * handle and the folders sealed with the person's data key (what their
 * views show): store.h, struct store_codec. */
struct person_coded {
	char hash[SQL_HASH_SIZE];
	char *sealed, *folders;
};

static void person_coded_free(struct person_coded *c)
{
	free(c->sealed);
	free(c->folders);
	c->sealed = c->folders = NULL;
}

static int person_code(struct store_rd *rd, const struct store_person *p,
		       struct person_coded *c)
{
	c->sealed = c->folders = NULL;
	int rc = sql_hash(rd, "login", p->handle, c->hash);
	if (rc == STORE_OK)
		rc = sql_seal(rd, p->data_key, p->data_key_len, p->handle,
			      &c->sealed);
	if (rc == STORE_OK)
		rc = sql_seal(rd, p->data_key, p->data_key_len,
			      p->folders ? p->folders : "[]", &c->folders);
	if (rc != STORE_OK)
		person_coded_free(c);
	return rc;
}

static void person_bind(struct sql_stmt *st, const struct store_person *p,
			const struct person_coded *c)
{
	sql_bind_int(st, 1, (int64_t)p->id);
	bind_text(st, 2, c->hash);
	bind_text(st, 3, p->password_hash);
	sql_bind_blob(st, 4, p->data_key, p->data_key_len);
	bind_text(st, 5, p->profile);
	bind_text(st, 6, p->global_terms ? p->global_terms : "{}");
	bind_text(st, 7, c->folders);
	sql_bind_int(st, 8, p->created_at);
	bind_text(st, 9, c->sealed);
}

int sql_person_insert(struct store_tx *tx, const struct store_person *p)
{
	struct person_coded c;
	int rc = person_code(store_tx_reads(tx), p, &c);
	if (rc != STORE_OK)
		return rc;
	struct sql_stmt *st =
		sql_stmt(&tx->reads, SQL_PICK(&tx->reads, q_person_insert,
					      q_pg_person_insert));
	if (st == NULL)
		rc = STORE_FAULT;
	else {
		person_bind(st, p, &c);
		rc = sql_exec(st);
	}
	person_coded_free(&c);
	return rc;
}

/* The handles of many persons, on PostgreSQL, before their rows. */
static const char q_pg_handle_insert[] =
	"INSERT INTO handles(handle, person) VALUES (?,?)";

static int handle_insert_many(struct store_tx *tx, const struct store_person *p,
			      const struct person_coded *c, size_t n)
{
	struct sql_stmt *st = sql_rows(tx, q_pg_handle_insert);
	if (st == NULL)
		return STORE_FAULT;
	int rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		bind_text(st, 1, c[i].hash);
		sql_bind_int(st, 2, (int64_t)p[i].id);
		rc = sql_rows_add(st);
	}
	int end = sql_rows_end(st);
	return rc != STORE_OK ? rc : end;
}

int sql_person_insert_many(struct store_tx *tx, const struct store_person *p,
			   size_t n)
{
	if (n == 0)
		return STORE_OK;
	struct person_coded *c = calloc(n, sizeof(*c));
	if (c == NULL)
		return STORE_FAULT;
	int rc = STORE_OK;
	size_t coded = 0;
	for (; coded < n && rc == STORE_OK; coded++)
		rc = person_code(store_tx_reads(tx), &p[coded], &c[coded]);
	if (rc == STORE_OK && SQL_OPS(&tx->reads)->pg)
		rc = handle_insert_many(tx, p, c, n);
	struct sql_stmt *st =
		rc == STORE_OK ? sql_rows(tx, q_person_insert) : NULL;
	if (st == NULL && rc == STORE_OK)
		rc = STORE_FAULT;
	if (st != NULL) {
		for (size_t i = 0; i < n && rc == STORE_OK; i++) {
			person_bind(st, &p[i], &c[i]);
			rc = sql_rows_add(st);
		}
		int end = sql_rows_end(st);
		if (rc == STORE_OK)
			rc = end;
	}
	for (size_t i = 0; i < coded; i++)
		person_coded_free(&c[i]);
	free(c);
	return rc;
}

#define PERSON_COLS                                                            \
	"id, handle, password_hash, data_key, profile, global_terms, "         \
	"folders, created_at, erased_at, delivery, handle_sealed"

static int person_row(struct sql_stmt *st, void *out)
{
	struct store_person *p = out;
	memset(p, 0, sizeof(*p));
	p->id = (uint64_t)sql_col_int(st, 0);
	/* An erased person's is the tombstone handle. */
	col_open(st, 10, 3, 1, p->handle, sizeof(p->handle));
	col_copy(st, 2, p->password_hash, sizeof(p->password_hash));
	int n = (int)sql_col_bytes(st, 3);
	if (n > 0 && (size_t)n <= sizeof(p->data_key)) {
		memcpy(p->data_key, sql_col_blob(st, 3), (size_t)n);
		p->data_key_len = (size_t)n;
	}
	p->profile = col_strdup(st, 4);
	p->global_terms = col_strdup(st, 5);
	p->folders = col_open_dup(st, 6, 3, false); /* sealed */
	p->created_at = sql_col_int(st, 7);
	p->erased_at = sql_col_int(st, 8);
	p->delivery = col_strdup(st, 9);
	if (p->global_terms == NULL || p->folders == NULL ||
	    p->delivery == NULL) {
		store_person_clear(p);
		return STORE_FAULT;
	}
	return STORE_OK;
}

/* Hands each row of q to cb until it asks to stop. */
static void person_rows(struct sql_select *q, store_person_cb cb, void *arg)
{
	struct store_person p;
	while (sql_select_next(q, person_row, &p)) {
		int stop = cb(&p, arg);
		store_person_clear(&p);
		if (stop)
			break;
	}
}

static const char q_person_by_handle[] =
	"SELECT " PERSON_COLS " FROM persons WHERE handle = ?";
static const char q_person_by_id[] =
	"SELECT " PERSON_COLS " FROM persons WHERE id = ?";

int sql_person_get(struct store_rd *rd, uint64_t id, const char *handle,
		   struct store_person *out)
{
	char hash[SQL_HASH_SIZE];
	if (handle && sql_hash(rd, "login", handle, hash) != STORE_OK)
		return STORE_FAULT;
	return sql_select_key(rd, handle ? q_person_by_handle : q_person_by_id,
			      id, handle ? hash : NULL, person_row, out);
}

static const char q_person_list[] =
	"SELECT " PERSON_COLS " FROM persons WHERE id > ? ORDER BY id LIMIT ?";

int sql_person_list(struct store_rd *rd, uint64_t after, int limit,
		    store_person_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_person_list);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)after);
	sql_bind_int(st, 2, limit);
	person_rows(&q, cb, arg);
	return sql_select_end(&q);
}

static const char q_person_many_sqlite[] =
	"SELECT " PERSON_COLS " FROM persons WHERE id" SQL_IN_KEYS_SQLITE;
static const char q_person_many_pg[] =
	"SELECT " PERSON_COLS " FROM persons WHERE id" SQL_IN_KEYS_PG;

int sql_person_get_many(struct store_rd *rd, const uint64_t *ids, size_t n,
			store_person_cb cb, void *arg)
{
	char *keys;
	struct sql_select q;
	if (n == 0)
		return STORE_OK;
	if (sql_select_keys(&q, rd, q_person_many_sqlite, q_person_many_pg, ids,
			    n, &keys) == NULL)
		return STORE_FAULT;
	person_rows(&q, cb, arg);
	int rc = sql_select_end(&q);
	free(keys);
	return rc;
}

/* The statement of each field store_person_set replaces. */
static const char *const q_person_set[] = {
	[STORE_PERSON_PROFILE] = "UPDATE persons SET profile = ? WHERE id = ?",
	[STORE_PERSON_GLOBAL_TERMS] =
		"UPDATE persons SET global_terms = ? WHERE id = ?",
	[STORE_PERSON_FOLDERS] = "UPDATE persons SET folders = ? WHERE id = ?",
	[STORE_PERSON_PASSWORD] =
		"UPDATE persons SET password_hash = ? WHERE id = ?",
	[STORE_PERSON_DELIVERY] =
		"UPDATE persons SET delivery = ? WHERE id = ?",
};

int sql_person_set(struct store_tx *tx, uint64_t id,
		   enum store_person_field field, const char *value)
{
	if ((size_t)field >= sizeof(q_person_set) / sizeof(*q_person_set))
		return STORE_INVALID;
	if (field != STORE_PERSON_FOLDERS)
		return sql_update_text(tx, q_person_set[field], id, value);
	/* The person's own folder names, sealed with their data key. */
	char *sealed = NULL;
	int rc = sql_seal_person(store_tx_reads(tx), id, false, value, &sealed);
	if (rc == STORE_OK)
		rc = sql_update_text(tx, q_person_set[field], id, sealed);
	free(sealed);
	return rc;
}

static const char q_person_sealed[] =
	"SELECT data_key, profile FROM persons WHERE id = ?";

/* What store_person_profile reads into. */
struct person_sealed {
	uint8_t *data_key;    /* 96 bytes */
	size_t *data_key_len; /* 0: none */
	char **profile;	      /* a new string, or NULL */
};

static int person_sealed_row(struct sql_stmt *st, void *out)
{
	const struct person_sealed *v = out;
	int n = (int)sql_col_bytes(st, 0);
	if (n > 0 && n <= 96) {
		memcpy(v->data_key, sql_col_blob(st, 0), (size_t)n);
		*v->data_key_len = (size_t)n;
	}
	if (!sql_col_null(st, 1) && (*v->profile = col_strdup(st, 1)) == NULL)
		return STORE_FAULT;
	return STORE_OK;
}

int sql_person_profile(struct store_rd *rd, uint64_t id, uint8_t *data_key,
		       size_t *data_key_len, char **profile)
{
	struct person_sealed v = { data_key, data_key_len, profile };
	*data_key_len = 0;
	*profile = NULL;
	return sql_select_key(rd, q_person_sealed, id, NULL, person_sealed_row,
			      &v);
}

/* The directory and the relationships hold every alias and own address
 * only as its keyed hash, which is its tombstone: erasure takes the owner
 * and the seal away. */
static const char q_erase_alias[] =
	"UPDATE aliases SET person = NULL WHERE person = ?1";
static const char q_erase_rel[] =
	"UPDATE relationships SET alias_sealed = NULL, state = 2, "
	"unsubscribe = NULL, ended_at = coalesce(ended_at, ?2) "
	"WHERE person = ?1";
static const char q_erase_attempts[] = "DELETE FROM attempts WHERE person = ?";
static const char q_erase_tokens[] = "DELETE FROM tokens WHERE person = ?";
static const char q_erase_codes[] =
	"DELETE FROM connect_codes WHERE person = ?";
static const char q_erase_heads[] = "DELETE FROM ledger_heads WHERE person = ?";
/* Terms are the person's private settings (folder names, hours…), and
 * so are the brands they named themselves. */
static const char q_erase_terms[] =
	"UPDATE relationships SET terms = '{}', brand_name = NULL, "
	"domains = NULL, brand_name_sealed = NULL, domains_sealed = NULL "
	"WHERE person = ?";
static const char q_erase_versions[] =
	"DELETE FROM terms_versions WHERE person = ?";
static const char q_erase_reads[] = "DELETE FROM field_reads WHERE person = ?";
static const char q_erase_outbox[] = "DELETE FROM outbox WHERE person = ?";
static const char q_erase_replies[] = "DELETE FROM replies WHERE person = ?";
/* The own address (its directory rows became tombstones above). */
static const char q_erase_own[] = "DELETE FROM own_addresses WHERE person = ?";
static const char q_erase_person[] =
	"UPDATE persons SET handle = ?, handle_sealed = NULL, "
	"password_hash = '', data_key = NULL, "
	"profile = NULL, global_terms = ?, folders = '[]', delivery = '{}', "
	"erased_at = ? "
	"WHERE id = ? AND erased_at IS NULL";
/* The same, and the handle's directory row becomes the tombstone. */
static const char q_pg_erase_person[] =
	"WITH d AS (DELETE FROM handles WHERE handle = (SELECT handle FROM "
	"persons WHERE id = ?4 AND erased_at IS NULL) RETURNING 1), "
	"t AS (INSERT INTO handles(handle, person) SELECT ?1::text, NULL FROM "
	"d) UPDATE persons SET handle = ?1, handle_sealed = NULL, "
	"password_hash = '', "
	"data_key = NULL, profile = NULL, global_terms = ?2, folders = '[]', "
	"delivery = '{}', erased_at = ?3 WHERE id = ?4 AND erased_at IS NULL";

static int erase_by_person(struct store_tx *tx, const char *sql,
			   uint64_t person)
{
	WRITER_STMT(tx, sql);
	sql_bind_int(st, 1, (int64_t)person);
	return sql_exec(st);
}

int sql_person_erase(struct store_tx *tx, uint64_t person,
		     const char *handle_tombstone,
		     const char *default_global_terms, int64_t at)
{
	int rc;
	if ((rc = erase_by_person(tx, q_erase_alias, person)) != STORE_OK)
		return rc;
	{
		WRITER_STMT(tx, q_erase_rel);
		sql_bind_int(st, 1, (int64_t)person);
		sql_bind_int(st, 2, at);
		if ((rc = sql_exec(st)) != STORE_OK)
			return rc;
	}
	const char *const wipes[] = { q_erase_attempts, q_erase_tokens,
				      q_erase_codes,	q_erase_heads,
				      q_erase_terms,	q_erase_versions,
				      q_erase_reads,	q_erase_outbox,
				      q_erase_replies,	q_erase_own };
	for (size_t i = 0; i < sizeof(wipes) / sizeof(*wipes); i++)
		if ((rc = erase_by_person(tx, wipes[i], person)) != STORE_OK)
			return rc;
	WRITER_STMT(tx,
		    SQL_PICK(&tx->reads, q_erase_person, q_pg_erase_person));
	bind_text(st, 1, handle_tombstone);
	bind_text(st, 2, default_global_terms);
	sql_bind_int(st, 3, at);
	sql_bind_int(st, 4, (int64_t)person);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}

static const char q_person_bounce[] =
	"UPDATE persons SET delivery = json_set(delivery, '$.bounces', "
	"json_object('n', coalesce(json_extract(delivery, '$.bounces.n'), 0) "
	"+ 1, 'at', ?1)) WHERE id = ?2 AND json_type(delivery, '$.forward') "
	"= 'text'";

static const char q_pg_person_bounce[] =
	"UPDATE persons SET delivery = jsonb_set(delivery::jsonb, "
	"'{bounces}', jsonb_build_object('n', coalesce((delivery::jsonb #>> "
	"'{bounces,n}')::bigint, 0) + 1, 'at', ?1::bigint))::text WHERE "
	"id = ?2 AND jsonb_typeof(delivery::jsonb -> 'forward') = 'string'";

int sql_person_bounce(struct store_tx *tx, uint64_t id, int64_t at)
{
	WRITER_STMT(tx,
		    SQL_PICK(&tx->reads, q_person_bounce, q_pg_person_bounce));
	sql_bind_int(st, 1, at);
	sql_bind_int(st, 2, (int64_t)id);
	return sql_exec(st);
}
