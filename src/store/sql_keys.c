/*
 * sql_keys.c — what the store keeps about its keys: the key ids the
 * store belongs to (key_ids, schema/003_keys.sql) and what a keys
 * directory must be able to open (a wrapped data key).
 *
 * The key facts are read before the store is migrated, so that a command
 * given the wrong keys refuses before it writes anything: a table that a
 * migration has yet to make reads as empty.
 */
#include "sql.h"

static const char q_table_exists[] =
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
static const char q_pg_table_exists[] =
	"SELECT count(*) FROM information_schema.tables WHERE table_schema = "
	"current_schema() AND table_name = ?";

/* *exists: whether the table is there yet. */
static int table_exists(struct store_rd *rd, const char *table, bool *exists)
{
	int64_t n = 0;
	int rc = sql_select_key(rd,
				SQL_PICK(rd, q_table_exists, q_pg_table_exists),
				0, table, sql_row_int, &n);
	*exists = rc == STORE_OK && n > 0;
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static const char q_key_ids[] =
	"SELECT kind, id FROM key_ids ORDER BY added_at, id";
static const char q_has_data[] =
	"SELECT EXISTS (SELECT 1 FROM persons) OR EXISTS (SELECT 1 FROM "
	"brands)";
static const char q_data_key[] =
	"SELECT data_key FROM persons WHERE data_key IS NOT NULL AND "
	"length(data_key) > 0 ORDER BY id LIMIT 1";

static int key_facts_ids(struct store_rd *rd, struct store_key_facts *out)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_key_ids);
	if (st == NULL)
		return STORE_FAULT;
	while (sql_select_next(&q, NULL, NULL)) {
		const char *kind = sql_col_text(st, 0);
		char *dst;
		size_t size = sizeof(out->kek_id);
		if (kind && strcmp((const char *)kind, "kek") == 0) {
			dst = out->kek_id;
		} else if (kind && strcmp(kind, "wrap") == 0) {
			dst = out->wrap_id;
		} else if (kind && strcmp(kind, "hash") == 0) {
			dst = out->hash_id;
		} else if (kind && strcmp(kind, "store") == 0) {
			dst = out->store_id;
		} else if (out->n_signing < STORE_KEY_IDS_MAX) {
			dst = out->signing[out->n_signing++];
		} else {
			q.status = STORE_FAULT; /* more than keys.c keeps */
			break;
		}
		col_copy(st, 1, dst, size);
	}
	return sql_select_end(&q);
}

static int key_facts_data_key(struct sql_stmt *st, void *arg)
{
	struct store_key_facts *out = arg;
	int n = (int)sql_col_bytes(st, 0);
	if (n > 0 && (size_t)n <= sizeof(out->data_key)) {
		memcpy(out->data_key, sql_col_blob(st, 0), (size_t)n);
		out->data_key_len = (size_t)n;
	}
	return STORE_OK;
}

int sql_key_facts(struct store_rd *rd, struct store_key_facts *out)
{
	bool ids, persons;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = table_exists(rd, "key_ids", &ids)) != STORE_OK ||
	    (rc = table_exists(rd, "persons", &persons)) != STORE_OK)
		return rc;
	if (ids && (rc = key_facts_ids(rd, out)) != STORE_OK)
		return rc;
	if (!persons) /* 001_init makes persons and brands: a new store */
		return STORE_OK;
	int64_t has = 0;
	rc = sql_select_key(rd, q_has_data, 0, NULL, sql_row_int, &has);
	if (rc != STORE_OK)
		return STORE_FAULT;
	out->has_data = has != 0;
	rc = sql_select_key(rd, q_data_key, 0, NULL, key_facts_data_key, out);
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

/* Any conflict: an id recorded already, or a second store id (one store
 * id: of two nodes recording theirs at once, the first stays,
 * key_ids_one_store). */
static const char q_key_id_add[] =
	"INSERT INTO key_ids(id, kind, added_at) VALUES (?,?,?) "
	"ON CONFLICT DO NOTHING";

int sql_key_id_add(struct store_tx *tx, const char *kind, const char *id,
		   int64_t at)
{
	if (strcmp(kind, "kek") != 0 && strcmp(kind, "signing") != 0 &&
	    strcmp(kind, "hash") != 0 && strcmp(kind, "store") != 0)
		return STORE_INVALID;
	WRITER_STMT(tx, q_key_id_add);
	bind_text(st, 1, id);
	bind_text(st, 2, kind);
	sql_bind_int(st, 3, at);
	return sql_exec(st);
}

/* ---- Re-wrapping the data keys (cmr keys rotate --wrap) ---- */

static const char q_person_keys_after[] =
	"SELECT id, data_key FROM persons WHERE data_key IS NOT NULL AND "
	"length(data_key) > 0 AND id > ?1 ORDER BY id LIMIT ?2";

int sql_person_keys_after(struct store_rd *rd, int64_t after, int limit,
			  store_person_key_fn fn, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_person_keys_after);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, after);
	sql_bind_int(st, 2, limit);
	while (sql_select_next(&q, NULL, NULL)) {
		uint64_t id = (uint64_t)sql_col_int(st, 0);
		size_t n = sql_col_bytes(st, 1);
		int rc = fn(arg, id, sql_col_blob(st, 1), n);
		if (rc != STORE_OK) {
			q.status = rc;
			break;
		}
	}
	return sql_select_end(&q);
}

static const char q_person_key_set[] =
	"UPDATE persons SET data_key = ?1 WHERE id = ?2 AND data_key = ?3";

int sql_person_key_set(struct store_tx *tx, uint64_t person, const void *old,
		       size_t old_len, const void *wrapped, size_t len)
{
	WRITER_STMT(tx, q_person_key_set);
	sql_bind_blob(st, 1, wrapped, len);
	bind_key(st, 2, person);
	sql_bind_blob(st, 3, old, old_len);
	return sql_exec_changed(st, STORE_CONFLICT);
}

/* ---- The wrap key data keys are written under ---- */

static const char q_key_wrap_update[] =
	"UPDATE key_ids SET id = ?1, added_at = ?2 WHERE kind = 'wrap'";
static const char q_key_wrap_insert[] =
	"INSERT INTO key_ids(id, kind, added_at) VALUES (?1, 'wrap', ?2)";

int sql_key_wrap_set(struct store_tx *tx, const char *id, int64_t at)
{
	int64_t changed = 0;
	int rc;
	{
		WRITER_STMT(tx, q_key_wrap_update);
		bind_text(st, 1, id);
		sql_bind_int(st, 2, at);
		rc = sql_exec_count(st, STORE_OK, &changed);
	}
	if (rc != STORE_OK || changed > 0)
		return rc;
	WRITER_STMT(tx, q_key_wrap_insert);
	bind_text(st, 1, id);
	sql_bind_int(st, 2, at);
	return sql_exec(st);
}

static const char q_key_wrap[] = "SELECT id FROM key_ids WHERE kind = 'wrap'";
static const char q_pg_key_wrap[] =
	"SELECT id FROM key_ids WHERE kind = 'wrap' FOR SHARE";

/* Reads the recorded id into a fixed buffer. */
static int key_wrap_row(struct sql_stmt *st, void *out)
{
	col_copy(st, 0, out, STORE_KEY_ID_SIZE);
	return STORE_OK;
}

int sql_key_wrap_fence(struct store_tx *tx, const char *id)
{
	char recorded[STORE_KEY_ID_SIZE] = "";
	struct store_rd *rd = &tx->reads;
	int rc = sql_select_key(rd, SQL_PICK(rd, q_key_wrap, q_pg_key_wrap), 0,
				NULL, key_wrap_row, recorded);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	return strcmp(recorded, id) == 0 ? STORE_OK : STORE_INVALID;
}
