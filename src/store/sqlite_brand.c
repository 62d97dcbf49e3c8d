/*
 * sqlite_brand.c — the SQLite backend's brands: their row, their API
 * key's hash and their mail domains (brand_domains, read back as one
 * JSON array).
 */
#include <string.h>

#include "sqlite.h"

static const char sql_brand_insert[] =
	"INSERT INTO brands(id, name, key_hash, controller, created_at, "
	"key_rotated_at) VALUES (?,?,?,?,?,?)";
static const char sql_domain_insert[] =
	"INSERT INTO brand_domains(domain, brand) VALUES (?, ?)";

int sqlite_brand_insert(struct store_tx *tx, const struct store_brand *b)
{
	int status;
	{
		WRITER_STMT(tx, sql_brand_insert);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)b->id);
		bind_text(st, 2, b->name);
		sqlite3_bind_blob(st, 3, b->key_hash, 32, SQLITE_STATIC);
		bind_text(st, 4, b->controller ? b->controller : "{}");
		sqlite3_bind_int64(st, 5, b->created_at);
		sqlite3_bind_int64(st, 6, b->key_rotated_at);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
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
		sqlite3_stmt *st =
			sqlite_stmt(sqlite_tx_conn(tx), sql_domain_insert);
		if (st == NULL || !json_is_string(d)) {
			status = st ? STORE_INVALID : STORE_FAULT;
			break;
		}
		bind_text(st, 1, json_string_value(d));
		sqlite3_bind_int64(st, 2, (sqlite3_int64)b->id);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			break;
	}
	json_decref(domains);
	return status;
}

#define BRAND_COLS                                                             \
	"b.id, b.name, b.key_hash, b.controller, b.created_at, "               \
	"b.key_rotated_at, (SELECT json_group_array(domain) FROM (SELECT "     \
	"domain FROM brand_domains d WHERE d.brand = b.id ORDER BY domain))"

static int brand_row(sqlite3_stmt *st, void *out)
{
	struct store_brand *b = out;
	memset(b, 0, sizeof(*b));
	b->id = (uint64_t)sqlite3_column_int64(st, 0);
	col_copy(st, 1, b->name, sizeof(b->name));
	if (sqlite3_column_bytes(st, 2) == 32)
		memcpy(b->key_hash, sqlite3_column_blob(st, 2), 32);
	b->controller = col_strdup(st, 3);
	b->created_at = sqlite3_column_int64(st, 4);
	b->key_rotated_at = sqlite3_column_int64(st, 5);
	b->domains = col_strdup(st, 6);
	if (b->controller == NULL || b->domains == NULL) {
		store_brand_clear(b);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char sql_brand_by_id[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.id = ?";
static const char sql_brand_by_name[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.name = ?";

int sqlite_brand_get(struct store_rd *rd, uint64_t id, const char *name,
		     struct store_brand *out)
{
	return sqlite_select_key(rd, name ? sql_brand_by_name : sql_brand_by_id,
				 id, name, brand_row, out);
}

static const char sql_brand_list[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.id > ? "
	"ORDER BY b.id LIMIT ?";

int sqlite_brand_list(struct store_rd *rd, uint64_t after, int limit,
		      store_brand_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_brand_list);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	sqlite3_bind_int(st, 2, limit);
	struct store_brand b;
	while (sqlite_select_next(&q, brand_row, &b)) {
		int stop = cb(&b, arg);
		store_brand_clear(&b);
		if (stop)
			break;
	}
	return sqlite_select_end(&q);
}

static const char sql_brand_set_key[] =
	"UPDATE brands SET key_hash = ?, key_rotated_at = ? WHERE id = ?";

int sqlite_brand_set_key(struct store_tx *tx, uint64_t id,
			 const uint8_t *key_hash, int64_t at)
{
	WRITER_STMT(tx, sql_brand_set_key);
	sqlite3_bind_blob(st, 1, key_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	return sqlite_exec_changed(tx, st, STORE_NOT_FOUND);
}

static const char sql_brand_key_hash[] =
	"SELECT key_hash FROM brands WHERE id = ?";

static int brand_key_hash_row(sqlite3_stmt *st, void *out)
{
	if (sqlite3_column_bytes(st, 0) != 32)
		return STORE_FAULT;
	memcpy(out, sqlite3_column_blob(st, 0), 32);
	return STORE_OK;
}

int sqlite_brand_key_hash(struct store_rd *rd, uint64_t id, uint8_t *hash)
{
	return sqlite_select_key(rd, sql_brand_key_hash, id, NULL,
				 brand_key_hash_row, hash);
}

static const char sql_brand_by_domain[] =
	"SELECT brand FROM brand_domains WHERE domain = ?";

int sqlite_brand_by_domain(struct store_rd *rd, const char *domain,
			   uint64_t *brand)
{
	return sqlite_select_key(rd, sql_brand_by_domain, 0, domain,
				 sqlite_row_key, brand);
}
