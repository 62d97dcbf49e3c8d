/*
 * sql_codec.c — the personal values the store must find or show (an
 * alias, an own address, a handle) written and read through the codec the
 * app gave the store (store.h, struct store_codec): a keyed hash where the
 * SQL looks them up or keeps them unique, sealed with the person's data
 * key where a view shows them. Values no SQL looks up (a person-made
 * relationship's brand name and domains, the domains blocked at an own
 * address, a token's name) are only sealed, and read through
 * col_open_either. Also the rewrite of rows that a store made before the
 * codec kept in clear (store_seal_clear).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sql.h"

int sql_hash(struct store_rd *rd, const char *kind, const char *value,
	     char out[SQL_HASH_SIZE])
{
	const struct store_codec *c = rd->store->codec;
	if (c == NULL) {
		if (strlen(value) >= SQL_HASH_SIZE)
			return STORE_FAULT;
		memcpy(out, value, strlen(value) + 1);
		return STORE_OK;
	}
	return c->hash(c->arg, kind, value, out) == 0 ? STORE_OK : STORE_FAULT;
}

static const char q_person_key[] =
	"SELECT id, data_key FROM persons WHERE id = ?";
static const char q_person_keys_sqlite[] =
	"SELECT id, data_key FROM persons WHERE id" SQL_IN_KEYS_SQLITE;
static const char q_person_keys_pg[] =
	"SELECT id, data_key FROM persons WHERE id" SQL_IN_KEYS_PG;

/* A row of the three queries above. */
static int key_row(struct sql_stmt *st, void *out)
{
	struct sql_person_key *k = out;
	k->person = (uint64_t)sql_col_int(st, 0);
	k->len = sql_col_bytes(st, 1);
	if (k->len > sizeof(k->key))
		return STORE_FAULT;
	memcpy(k->key, sql_col_blob(st, 1), k->len);
	return STORE_OK;
}

int sql_person_key(struct store_rd *rd, uint64_t person, uint8_t key[96],
		   size_t *len)
{
	struct sql_person_key k = { .len = 0 };
	int rc = sql_select_key(rd, q_person_key, person, NULL, key_row, &k);
	*len = rc == STORE_OK ? k.len : 0;
	memcpy(key, k.key, sizeof(k.key));
	sodium_memzero(&k, sizeof(k));
	return rc;
}

static int key_cmp(const void *a, const void *b)
{
	const struct sql_person_key *x = a, *y = b;
	return x->person < y->person ? -1 : x->person > y->person;
}

int sql_person_keys(struct store_rd *rd, const uint64_t *persons, size_t n,
		    struct sql_person_key **out, size_t *count)
{
	char *text;
	struct sql_select q;
	*out = NULL;
	*count = 0;
	if (n == 0)
		return STORE_OK;
	struct sql_person_key *k = calloc(n, sizeof(*k));
	if (k == NULL)
		return STORE_FAULT;
	if (sql_select_keys(&q, rd, q_person_keys_sqlite, q_person_keys_pg,
			    persons, n, &text) == NULL) {
		free(k);
		return STORE_FAULT;
	}
	size_t got = 0;
	struct sql_person_key row;
	while (got < n && sql_select_next(&q, key_row, &row))
		k[got++] = row;
	sodium_memzero(&row, sizeof(row));
	int rc = sql_select_end(&q);
	free(text);
	if (rc != STORE_OK) {
		sodium_memzero(k, n * sizeof(*k));
		free(k);
		return rc;
	}
	qsort(k, got, sizeof(*k), key_cmp);
	*out = k;
	*count = got;
	return STORE_OK;
}

const struct sql_person_key *
sql_person_key_find(const struct sql_person_key *keys, size_t count,
		    uint64_t person)
{
	struct sql_person_key probe = { .person = person };
	return bsearch(&probe, keys, count, sizeof(*keys), key_cmp);
}

/* value sealed whole (seal) or terms with their folder names sealed
 * (seal_terms); without a codec, as it is. */
static int seal_as(struct store_rd *rd, bool terms, const uint8_t *key,
		   size_t len, const char *value, char **out)
{
	const struct store_codec *c = rd->store->codec;
	*out = NULL;
	if (value == NULL)
		return STORE_OK;
	if (c == NULL) {
		*out = strdup(value);
		return *out ? STORE_OK : STORE_FAULT;
	}
	if (len == 0 && !terms) /* an erased person seals nothing */
		return STORE_FAULT;
	int rc = terms ? c->seal_terms(c->arg, key, len, value, out)
		       : c->seal(c->arg, key, len, value, out);
	return rc == 0 ? STORE_OK : STORE_FAULT;
}

int sql_seal(struct store_rd *rd, const uint8_t *key, size_t len,
	     const char *value, char **out)
{
	return seal_as(rd, false, key, len, value, out);
}

int sql_seal_terms(struct store_rd *rd, const uint8_t *key, size_t len,
		   const char *terms, char **out)
{
	return seal_as(rd, true, key, len, terms, out);
}

int sql_seal_person(struct store_rd *rd, uint64_t person, bool terms,
		    const char *value, char **out)
{
	uint8_t key[96];
	size_t len;
	*out = NULL;
	int rc = sql_person_key(rd, person, key, &len);
	if (rc == STORE_OK)
		rc = seal_as(rd, terms, key, len, value, out);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* The plaintext of a sealed value: a new string (zero it, free it). */
static char *open_value(struct sql_stmt *st, const char *v, int key)
{
	const struct store_codec *c = st->rd->store->codec;
	size_t n = sql_col_bytes(st, key);
	char *plain = NULL;
	if (c == NULL)
		return strdup(v);
	if (n > 0)
		c->open(c->arg, sql_col_blob(st, key), n, v, &plain);
	return plain;
}

static void free_plain(char *p)
{
	if (p) {
		sodium_memzero(p, strlen(p));
		free(p);
	}
}

void col_open(struct sql_stmt *st, int sealed, int key, int hashed, char *out,
	      size_t size)
{
	const char *v = sql_col_text(st, sealed);
	char *plain = v ? open_value(st, v, key) : NULL;
	if (plain) /* cut to size, as col_copy cuts a value in clear */
		snprintf(out, size, "%s", plain);
	else
		col_copy(st, hashed, out, size);
	free_plain(plain);
}

char *col_open_dup(struct sql_stmt *st, int i, int key, bool terms)
{
	const struct store_codec *c = st->rd->store->codec;
	const char *v = sql_col_text(st, i);
	char *plain = NULL;
	if (v == NULL)
		return NULL;
	if (terms && c != NULL) {
		size_t n = sql_col_bytes(st, key);
		if (c->open_terms(c->arg, n ? sql_col_blob(st, key) : NULL, n,
				  v, &plain) != 0)
			return NULL;
		return plain;
	}
	/* A list in clear: an erased person's "[]". */
	if (terms || v[0] == '[')
		return strdup(v);
	return open_value(st, v, key);
}

char *col_open_either(struct sql_stmt *st, int sealed, int key, int clear,
		      bool *fault)
{
	const char *v = sql_col_text(st, sealed);
	char *out = NULL;
	if (v != NULL)
		out = open_value(st, v, key);
	else if (!sql_col_null(st, clear))
		out = col_strdup(st, clear);
	else
		return NULL;
	if (out == NULL)
		*fault = true;
	return out;
}

/* ---- Rows kept in clear by a store made before the codec ---- */

/* One row to rewrite: its key (a relationship's id, an own address's
 * person), its person and its values in clear. */
struct clear_row {
	int64_t id, person;
	char *value, *extra;
};

struct clear_rows {
	struct clear_row *rows;
	int n, cap;
	bool fault;
};

static int clear_row(struct sql_stmt *st, void *out)
{
	struct clear_rows *l = out;
	if (l->n == l->cap)
		return STORE_FAULT;
	struct clear_row *r = &l->rows[l->n];
	r->id = sql_col_int(st, 0);
	r->person = sql_col_int(st, 1);
	r->value = sql_col_null(st, 2) ? NULL : col_strdup(st, 2);
	r->extra = sql_col_null(st, 3) ? NULL : col_strdup(st, 3);
	if ((r->value == NULL && !sql_col_null(st, 2)) ||
	    (r->extra == NULL && !sql_col_null(st, 3)))
		l->fault = true;
	l->n++;
	return STORE_OK;
}

static void clear_rows_free(struct clear_rows *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->rows[i].value);
		free(l->rows[i].extra);
	}
	free(l->rows);
}

/* Up to l->cap rows of sql (columns id, person, value, extra; ?1 the
 * limit) into l. */
static int clear_collect(struct store_tx *tx, const char *sql,
			 struct clear_rows *l)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, store_tx_reads(tx), sql);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, l->cap);
	while (sql_select_next(&q, clear_row, l))
		;
	int rc = sql_select_end(&q);
	return rc == STORE_OK && l->fault ? STORE_FAULT : rc;
}

/* Clear aliases and addresses hold '@'; hashes and tombstones are hex.
 * A handle is in clear while its seal is missing (an erased person's
 * handle is a tombstone already); the folder list is rewritten with it
 * when it is JSON in clear. Terms are rewritten with the alias; sealing
 * terms leaves names sealed already as they are.
 *
 * These scans run at every start. Each one's predicate is exactly that
 * of a partial index (011_plan_indexes.sql), empty once nothing is in
 * clear, and its ORDER BY that index's order: so a planner without
 * statistics (a PostgreSQL database not yet analyzed) reads the index,
 * where it would otherwise scan the table until LIMIT rows matched,
 * which is the whole table when none does (test_sealed.py checks the
 * plans; a scan added here gets its index there, named *_clear). */
static const char q_clear_rels[] =
	"SELECT id, person, alias, terms FROM relationships WHERE "
	"alias_sealed IS NULL AND alias LIKE '%@%' ORDER BY id LIMIT ?1";
static const char q_seal_rel[] =
	"UPDATE relationships SET alias = ?1, alias_sealed = ?2, terms = ?3 "
	"WHERE id = ?4";
static const char q_clear_dir[] =
	"SELECT 0, 0, alias, NULL FROM aliases WHERE alias LIKE '%@%' "
	"ORDER BY alias LIMIT ?1";
static const char q_seal_dir[] =
	"UPDATE aliases SET alias = ?1 WHERE alias = ?2";
static const char q_clear_own[] =
	"SELECT person, person, address, local_part FROM own_addresses "
	"WHERE address_sealed IS NULL ORDER BY person LIMIT ?1";
static const char q_seal_own[] =
	"UPDATE own_addresses SET address = ?1, address_sealed = ?2, "
	"local_part = ?3 WHERE person = ?4";
/* An unsubscribe URI in clear has its scheme's ':'; base64url never. */
static const char q_clear_unsub[] =
	"SELECT id, person, unsubscribe, NULL FROM relationships WHERE "
	"unsubscribe LIKE '%:%' ORDER BY id LIMIT ?1";
static const char q_seal_unsub[] =
	"UPDATE relationships SET unsubscribe = ?1 WHERE id = ?2";
static const char q_clear_handles[] =
	"SELECT id, id, handle, CASE WHEN folders LIKE '[%' THEN folders END "
	"FROM persons WHERE handle_sealed IS NULL AND erased_at IS NULL "
	"ORDER BY id LIMIT ?1";
static const char q_seal_handle[] =
	"UPDATE persons SET handle = ?1, handle_sealed = ?2, "
	"folders = coalesce(?3, folders) WHERE id = ?4";
/* On PostgreSQL the handle's directory row (handles, pg/002) too. */
static const char q_pg_seal_handle[] =
	"WITH d AS (UPDATE handles SET handle = ?1 WHERE handle = (SELECT "
	"handle FROM persons WHERE id = ?4)) "
	"UPDATE persons SET handle = ?1, handle_sealed = ?2, "
	"folders = coalesce(?3, folders) WHERE id = ?4";

/* A person-made relationship's brand name and domains, the domains
 * blocked at an own address, a token's name (012_sealed_rest.sql): in
 * clear while their clear column holds something; each scan is one of
 * that migration's partial indexes, empty once every row is sealed. */
static const char q_clear_made[] =
	"SELECT id, person, brand_name, domains FROM relationships WHERE "
	"brand_name IS NOT NULL OR domains IS NOT NULL ORDER BY id LIMIT ?1";
static const char q_seal_made[] =
	"UPDATE relationships SET brand_name = NULL, domains = NULL, "
	"brand_name_sealed = ?1, domains_sealed = ?2 WHERE id = ?3";
static const char q_clear_blocked[] =
	"SELECT person, person, blocked, NULL FROM own_addresses WHERE "
	"blocked_sealed IS NULL AND length(blocked) > 2 ORDER BY person "
	"LIMIT ?1";
static const char q_seal_blocked[] =
	"UPDATE own_addresses SET blocked = '[]', blocked_sealed = ?1 "
	"WHERE person = ?2";
static const char q_clear_token_names[] =
	"SELECT id, person, name, NULL FROM tokens WHERE name_sealed IS NULL "
	"AND name IS NOT NULL ORDER BY id LIMIT ?1";
static const char q_seal_token_name[] =
	"UPDATE tokens SET name = NULL, name_sealed = ?1 WHERE id = ?2";

/* One kind of row kept in clear: the statement that finds them (columns
 * id, person, value, extra; ?1 the limit), the one that rewrites one
 * (?1 the hash, then the sealed value and the sealed extra where the
 * kind has them, then the row's key), and the kind of hash (NULL: the
 * value is sealed, not hashed). */
struct clear_kind {
	const char *find, *rewrite, *rewrite_pg; /* rewrite_pg: or NULL */
	const char *hash_kind;
	int sealed; /* values sealed: 0 (the directory), 1 or 2 (extra) */
	bool terms; /* the extra is terms (sql_seal_terms) */
};

static const struct clear_kind clear_kinds[] = {
	{ q_clear_rels, q_seal_rel, NULL, "alias", 2, true },
	{ q_clear_dir, q_seal_dir, NULL, "alias", 0, false },
	{ q_clear_own, q_seal_own, NULL, "alias", 2, false },
	{ q_clear_handles, q_seal_handle, q_pg_seal_handle, "login", 2, false },
	{ q_clear_unsub, q_seal_unsub, NULL, NULL, 1, false },
	{ q_clear_made, q_seal_made, NULL, NULL, 2, false },
	{ q_clear_blocked, q_seal_blocked, NULL, NULL, 1, false },
	{ q_clear_token_names, q_seal_token_name, NULL, NULL, 1, false },
};

static const char q_clear_versions[] =
	"SELECT version, person, terms, NULL FROM terms_versions WHERE "
	"relationship = ?1";
static const char q_seal_version[] =
	"UPDATE terms_versions SET terms = ?1 WHERE relationship = ?2 AND "
	"version = ?3";

/* A relationship has few versions of its terms: more than this many in
 * a store made before sealing is a fault rather than a long batch. */
#define VERSIONS_MAX 4096

static int rewrite_version(struct store_tx *tx, int64_t rel, int64_t version,
			   const char *terms)
{
	WRITER_STMT(tx, q_seal_version);
	bind_text(st, 1, terms);
	sql_bind_int(st, 2, rel);
	sql_bind_int(st, 3, version);
	return sql_exec(st);
}

/* Every version of a relationship's terms, with their folder names
 * sealed. */
static int seal_versions(struct store_tx *tx, int64_t rel, const uint8_t *key,
			 size_t key_len)
{
	struct store_rd *rd = store_tx_reads(tx);
	struct clear_rows l = { .cap = VERSIONS_MAX };
	if ((l.rows = calloc(VERSIONS_MAX, sizeof(*l.rows))) == NULL)
		return STORE_FAULT;
	struct sql_select q;
	struct sql_stmt *sel = sql_select(&q, rd, q_clear_versions);
	int rc = STORE_FAULT;
	if (sel != NULL) {
		sql_bind_int(sel, 1, rel);
		while (sql_select_next(&q, clear_row, &l))
			;
		rc = sql_select_end(&q);
	}
	if (rc == STORE_OK && l.fault)
		rc = STORE_FAULT;
	for (int i = 0; rc == STORE_OK && i < l.n; i++) {
		char *terms = NULL;
		rc = sql_seal_terms(rd, key, key_len, l.rows[i].value, &terms);
		if (rc == STORE_OK)
			rc = rewrite_version(tx, rel, l.rows[i].id, terms);
		free(terms);
	}
	clear_rows_free(&l);
	return rc;
}

static int rewrite_row(struct store_tx *tx, const struct clear_kind *k,
		       const struct clear_row *r, const char *hash,
		       const char *value, const char *extra)
{
	WRITER_STMT(tx, k->rewrite_pg ? SQL_PICK(&tx->reads, k->rewrite,
						 k->rewrite_pg)
				      : k->rewrite);
	int i = 1;
	if (k->hash_kind)
		bind_text(st, i++, hash);
	if (k->sealed > 0)
		bind_text(st, i++, value);
	if (k->sealed > 1)
		bind_text(st, i++, extra);
	if (k->sealed > 0)
		sql_bind_int(st, i, r->id);
	else
		bind_text(st, i, r->value);
	return sql_exec(st);
}

static int seal_row(struct store_tx *tx, const struct clear_kind *k,
		    const struct clear_row *r)
{
	struct store_rd *rd = store_tx_reads(tx);
	char hash[SQL_HASH_SIZE] = "", *value = NULL, *extra = NULL;
	uint8_t key[96];
	size_t key_len = 0;
	int rc = STORE_OK;
	if (k->sealed > 0)
		rc = sql_person_key(rd, (uint64_t)r->person, key, &key_len);
	if (rc == STORE_OK && k->sealed > 0)
		rc = sql_seal(rd, key, key_len, r->value, &value);
	if (rc == STORE_OK && k->sealed > 1)
		rc = k->terms ? sql_seal_terms(rd, key, key_len, r->extra,
					       &extra)
			      : sql_seal(rd, key, key_len, r->extra, &extra);
	if (rc == STORE_OK && k->terms)
		rc = seal_versions(tx, r->id, key, key_len);
	sodium_memzero(key, sizeof(key));
	if (rc == STORE_OK && k->hash_kind)
		rc = sql_hash(rd, k->hash_kind, r->value, hash);
	if (rc == STORE_OK)
		rc = rewrite_row(tx, k, r, hash, value, extra);
	free(value);
	free(extra);
	return rc;
}

int sql_seal_clear(struct store_tx *tx, int limit, int64_t *n)
{
	*n = 0;
	if (tx->store->codec == NULL || limit <= 0)
		return STORE_OK;
	int rc = STORE_OK;
	size_t kinds = sizeof(clear_kinds) / sizeof(*clear_kinds);
	for (size_t k = 0; rc == STORE_OK && k < kinds && *n < limit; k++) {
		struct clear_rows l = { .cap = (int)(limit - *n) };
		l.rows = calloc((size_t)l.cap, sizeof(*l.rows));
		if (l.rows == NULL)
			return STORE_FAULT;
		rc = clear_collect(tx, clear_kinds[k].find, &l);
		for (int i = 0; rc == STORE_OK && i < l.n; i++)
			rc = seal_row(tx, &clear_kinds[k], &l.rows[i]);
		if (rc == STORE_OK)
			*n += l.n;
		clear_rows_free(&l);
	}
	return rc;
}
