/*
 * sqlite_brand.c — the SQLite backend's brands: their row, their API
 * key's hash and their mail domains (brand_domains, read back as one
 * JSON array).
 */
#include <string.h>

#include "sql.h"

static const char q_brand_insert[] =
	"INSERT INTO brands(id, name, key_hash, controller, created_at, "
	"key_rotated_at) VALUES (?,?,?,?,?,?)";
static const char q_domain_insert[] =
	"INSERT INTO brand_domains(domain, brand) VALUES (?, ?)";

int sql_brand_insert(struct store_tx *tx, const struct store_brand *b)
{
	int status;
	{
		WRITER_STMT(tx, q_brand_insert);
		sql_bind_int(st, 1, (int64_t)b->id);
		bind_text(st, 2, b->name);
		sql_bind_blob(st, 3, b->key_hash, 32);
		bind_text(st, 4, b->controller ? b->controller : "{}");
		sql_bind_int(st, 5, b->created_at);
		sql_bind_int(st, 6, b->key_rotated_at);
		if ((status = sql_exec(st)) != STORE_OK)
			return status;
	}
	json_t *domains = json_loads(b->domains ? b->domains : "[]", 0, NULL);
	if (!json_is_array(domains)) {
		json_decref(domains);
		return STORE_INVALID;
	}
	size_t i;
	json_t *d;
	json_array_foreach (domains, i, d) {
		struct sql_stmt *st = sql_stmt(&tx->reads, q_domain_insert);
		if (st == NULL || !json_is_string(d)) {
			status = st ? STORE_INVALID : STORE_FAULT;
			break;
		}
		bind_text(st, 1, json_string_value(d));
		sql_bind_int(st, 2, (int64_t)b->id);
		if ((status = sql_exec(st)) != STORE_OK)
			break;
	}
	json_decref(domains);
	return status;
}

/* The columns of a brand, its domains as a JSON array in the dialect's
 * own words. */
#define BRAND_COLS                                                             \
	"b.id, b.name, b.key_hash, b.controller, b.created_at, "               \
	"b.key_rotated_at, (SELECT json_group_array(domain) FROM (SELECT "     \
	"domain FROM brand_domains d WHERE d.brand = b.id ORDER BY domain))"
#define PG_BRAND_COLS                                                          \
	"b.id, b.name, b.key_hash, b.controller, b.created_at, "               \
	"b.key_rotated_at, (SELECT coalesce(json_agg(domain ORDER BY "         \
	"domain), '[]')::text FROM brand_domains d WHERE d.brand = b.id)"

static int brand_row(struct sql_stmt *st, void *out)
{
	struct store_brand *b = out;
	memset(b, 0, sizeof(*b));
	b->id = (uint64_t)sql_col_int(st, 0);
	col_copy(st, 1, b->name, sizeof(b->name));
	if ((int)sql_col_bytes(st, 2) == 32)
		memcpy(b->key_hash, sql_col_blob(st, 2), 32);
	b->controller = col_strdup(st, 3);
	b->created_at = sql_col_int(st, 4);
	b->key_rotated_at = sql_col_int(st, 5);
	b->domains = col_strdup(st, 6);
	if (b->controller == NULL || b->domains == NULL) {
		store_brand_clear(b);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char q_brand_by_id[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.id = ?";
static const char q_brand_by_name[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.name = ?";
static const char q_pg_brand_by_id[] =
	"SELECT " PG_BRAND_COLS " FROM brands b WHERE b.id = ?";
static const char q_pg_brand_by_name[] =
	"SELECT " PG_BRAND_COLS " FROM brands b WHERE b.name = ?";

int sql_brand_get(struct store_rd *rd, uint64_t id, const char *name,
		  struct store_brand *out)
{
	const char *sql =
		name ? SQL_PICK(rd, q_brand_by_name, q_pg_brand_by_name)
		     : SQL_PICK(rd, q_brand_by_id, q_pg_brand_by_id);
	return sql_select_key(rd, sql, id, name, brand_row, out);
}

static const char q_brand_list[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.id > ? "
	"ORDER BY b.id LIMIT ?";
static const char q_pg_brand_list[] =
	"SELECT " PG_BRAND_COLS " FROM brands b WHERE b.id > ? "
	"ORDER BY b.id LIMIT ?";

int sql_brand_list(struct store_rd *rd, uint64_t after, int limit,
		   store_brand_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st =
		sql_select(&q, rd, SQL_PICK(rd, q_brand_list, q_pg_brand_list));
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)after);
	sql_bind_int(st, 2, limit);
	struct store_brand b;
	while (sql_select_next(&q, brand_row, &b)) {
		int stop = cb(&b, arg);
		store_brand_clear(&b);
		if (stop)
			break;
	}
	return sql_select_end(&q);
}

static const char q_brand_set_key[] =
	"UPDATE brands SET key_hash = ?, key_rotated_at = ? WHERE id = ?";

int sql_brand_set_key(struct store_tx *tx, uint64_t id, const uint8_t *key_hash,
		      int64_t at)
{
	WRITER_STMT(tx, q_brand_set_key);
	sql_bind_blob(st, 1, key_hash, 32);
	sql_bind_int(st, 2, at);
	sql_bind_int(st, 3, (int64_t)id);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}

static const char q_brand_key_hash[] =
	"SELECT key_hash FROM brands WHERE id = ?";

static int brand_key_hash_row(struct sql_stmt *st, void *out)
{
	if ((int)sql_col_bytes(st, 0) != 32)
		return STORE_FAULT;
	memcpy(out, sql_col_blob(st, 0), 32);
	return STORE_OK;
}

int sql_brand_key_hash(struct store_rd *rd, uint64_t id, uint8_t *hash)
{
	return sql_select_key(rd, q_brand_key_hash, id, NULL,
			      brand_key_hash_row, hash);
}

static const char q_brand_by_domain[] =
	"SELECT brand FROM brand_domains WHERE domain = ?";

int sql_brand_by_domain(struct store_rd *rd, const char *domain,
			uint64_t *brand)
{
	return sql_select_key(rd, q_brand_by_domain, 0, domain, sql_row_key,
			      brand);
}
