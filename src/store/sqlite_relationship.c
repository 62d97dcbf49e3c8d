/*
 * sqlite_relationship.c — the SQLite backend's relationships: the row,
 * its alias in the directory, every version of its terms, its state,
 * the brand's daily field reads, and the notices of consent expiry.
 */
#include <string.h>

#include "sqlite.h"

static const char sql_rel_insert[] =
	"INSERT INTO relationships(id, person, brand, proposal, state, alias, "
	"terms, terms_version, topics, created_at, made_by, brand_name, "
	"domains) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char sql_alias_insert[] =
	"INSERT INTO aliases(alias, person, relationship) VALUES (?,?,?)";
static const char sql_terms_version_insert[] =
	"INSERT INTO terms_versions(relationship, version, person, terms, at) "
	"VALUES (?,?,?,?,?)";

int sqlite_relationship_insert(struct store_tx *tx,
			       const struct store_relationship *r)
{
	int status;
	{
		WRITER_STMT(tx, sql_rel_insert);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)r->person);
		bind_key(st, 3, r->brand);
		bind_key(st, 4, r->proposal);
		sqlite3_bind_int(st, 5, r->state);
		bind_text(st, 6, r->alias);
		bind_text(st, 7, r->terms);
		sqlite3_bind_int(st, 8,
				 r->terms_version ? r->terms_version : 1);
		bind_text(st, 9, r->topics ? r->topics : "[]");
		sqlite3_bind_int64(st, 10, r->created_at);
		bind_text(st, 11, r->person_made ? "person" : "brand");
		bind_text(st, 12, r->brand_name);
		bind_text(st, 13, r->domains);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	{
		WRITER_STMT(tx, sql_alias_insert);
		bind_text(st, 1, r->alias);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)r->person);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->id);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	WRITER_STMT(tx, sql_terms_version_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int(st, 2, r->terms_version ? r->terms_version : 1);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->person);
	bind_text(st, 4, r->terms);
	sqlite3_bind_int64(st, 5, r->created_at);
	return sqlite_exec_stmt(st);
}

#define REL_COLS                                                               \
	"id, person, brand, proposal, state, alias, terms, terms_version, "    \
	"topics, created_at, ended_at, unsubscribe, made_by, brand_name, "     \
	"domains"

static int rel_row(sqlite3_stmt *st, void *out)
{
	struct store_relationship *r = out;
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->person = (uint64_t)sqlite3_column_int64(st, 1);
	r->brand = (uint64_t)sqlite3_column_int64(st, 2);
	r->proposal = (uint64_t)sqlite3_column_int64(st, 3);
	r->state = sqlite3_column_int(st, 4);
	col_copy(st, 5, r->alias, sizeof(r->alias));
	r->terms = col_strdup(st, 6);
	r->terms_version = sqlite3_column_int(st, 7);
	r->topics = col_strdup(st, 8);
	r->created_at = sqlite3_column_int64(st, 9);
	r->ended_at = sqlite3_column_int64(st, 10);
	r->unsubscribe = col_strdup(st, 11);
	const unsigned char *by = sqlite3_column_text(st, 12);
	r->person_made = by && strcmp((const char *)by, "person") == 0;
	r->brand_name = col_strdup(st, 13);
	r->domains = col_strdup(st, 14);
	if (r->terms == NULL || r->topics == NULL ||
	    (r->unsubscribe == NULL &&
	     sqlite3_column_type(st, 11) != SQLITE_NULL) ||
	    (r->brand_name == NULL &&
	     sqlite3_column_type(st, 13) != SQLITE_NULL) ||
	    (r->domains == NULL &&
	     sqlite3_column_type(st, 14) != SQLITE_NULL)) {
		store_relationship_clear(r);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char sql_rel_by_id[] =
	"SELECT " REL_COLS " FROM relationships WHERE id = ?";
static const char sql_rel_by_alias[] =
	"SELECT " REL_COLS " FROM relationships WHERE alias = ?";

int sqlite_relationship_get(struct store_rd *rd, uint64_t id, const char *alias,
			    struct store_relationship *out)
{
	return sqlite_select_key(rd, alias ? sql_rel_by_alias : sql_rel_by_id,
				 id, alias, rel_row, out);
}

/* The filters of store_relationship_list are the parameters ?1 to ?5 of
 * each statement; one statement per key a list is by (a person, a brand,
 * none) keeps each on the plan it had as a function of its own: a
 * brand's on relationships_brand, the others walking ids. */
#define REL_LIST_REST "(?3 = 0 OR state <> 2) AND id > ?4 ORDER BY id LIMIT ?5"
static const char sql_rel_list_person[] =
	"SELECT " REL_COLS " FROM relationships WHERE person = ?1 AND "
	"(?2 = 0 OR brand = ?2) AND " REL_LIST_REST;
static const char sql_rel_list_brand[] =
	"SELECT " REL_COLS " FROM relationships WHERE brand = ?2 "
	"AND " REL_LIST_REST;
static const char sql_rel_list_all[] =
	"SELECT " REL_COLS " FROM relationships WHERE " REL_LIST_REST;

int sqlite_relationship_list(struct store_rd *rd,
			     const struct store_relationship_filter *f,
			     store_relationship_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd,
					 f->person  ? sql_rel_list_person
					 : f->brand ? sql_rel_list_brand
						    : sql_rel_list_all);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)f->person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)f->brand);
	sqlite3_bind_int(st, 3, f->open ? 1 : 0);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)f->after);
	sqlite3_bind_int(st, 5, f->limit);
	struct store_relationship rel;
	while (sqlite_select_next(&q, rel_row, &rel)) {
		int stop = cb(&rel, arg);
		store_relationship_clear(&rel);
		if (stop)
			break;
	}
	return sqlite_select_end(&q);
}

static const char sql_rel_keys_brand[] =
	"SELECT id FROM relationships WHERE brand = ? AND state <> 2 AND "
	"id > ? ORDER BY id LIMIT ?";

int sqlite_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
				   uint64_t after, int limit, store_key_cb cb,
				   void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_rel_keys_brand);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
	sqlite3_bind_int(st, 3, limit);
	uint64_t key;
	while (sqlite_select_next(&q, sqlite_row_key, &key))
		if (cb(key, arg))
			break;
	return sqlite_select_end(&q);
}

static const char sql_rel_set_state[] =
	"UPDATE relationships SET state = ?1, ended_at = CASE WHEN ?1 = 2 "
	"THEN ?2 ELSE ended_at END WHERE id = ?3 AND state <> 2";

int sqlite_relationship_set_state(struct store_tx *tx, uint64_t id, int state,
				  int64_t at)
{
	WRITER_STMT(tx, sql_rel_set_state);
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	/* An ended relationship stays ended. */
	return sqlite_exec_changed(tx, st, STORE_CONFLICT);
}

/* The version is the stored one plus one, counted here so that two
 * changes in a row can never claim the same number. */
static const char sql_rel_set_terms[] =
	"UPDATE relationships SET terms = ?, topics = ?, "
	"terms_version = terms_version + 1 WHERE id = ? AND state <> 2 "
	"RETURNING terms_version";

int sqlite_relationship_set_terms(struct store_tx *tx,
				  const struct store_relationship *r,
				  int64_t at)
{
	int version;
	{
		WRITER_STMT(tx, sql_rel_set_terms);
		bind_text(st, 1, r->terms);
		bind_text(st, 2, r->topics);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->id);
		int rc = sqlite3_step(st);
		version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
		if (rc == SQLITE_ROW)
			rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return STORE_FAULT;
		if (version == 0)
			return STORE_CONFLICT; /* ended: terms are final */
	}
	WRITER_STMT(tx, sql_terms_version_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int(st, 2, version);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->person);
	bind_text(st, 4, r->terms);
	sqlite3_bind_int64(st, 5, at);
	return sqlite_exec_stmt(st);
}

static const char sql_rel_unsubscribe[] =
	"UPDATE relationships SET unsubscribe = ? WHERE id = ?";

int sqlite_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
					const char *uri)
{
	return sqlite_update_text(tx, sql_rel_unsubscribe, id, uri);
}

static const char sql_field_read[] =
	"INSERT INTO field_reads(relationship, day, person, reads) "
	"VALUES (?1,?2,?3,?4) ON CONFLICT(relationship, day) DO UPDATE SET "
	"reads = reads + ?4 RETURNING reads";

int sqlite_field_read(struct store_tx *tx, uint64_t relationship,
		      uint64_t person, int64_t day, int64_t n, bool *first)
{
	WRITER_STMT(tx, sql_field_read);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)relationship);
	sqlite3_bind_int64(st, 2, day);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 4, n);
	int rc = sqlite3_step(st), status = STORE_FAULT;
	if (rc == SQLITE_ROW) {
		*first = sqlite3_column_int64(st, 0) == n;
		status = sqlite3_step(st) == SQLITE_DONE ? STORE_OK
							 : STORE_FAULT;
	}
	sqlite3_reset(st);
	return status;
}

/* Canonical terms write expires_at as "YYYY-MM-DDTHH:MM:SSZ", so text
 * order is time order. */
static const char sql_expiring[] =
	"SELECT r.id, r.person, r.brand, json_extract(r.terms, "
	"'$.expires_at') AS e FROM relationships r WHERE r.state <> 2 AND "
	"e IS NOT NULL AND e > ?1 AND e <= ?2 AND NOT EXISTS (SELECT 1 FROM "
	"notices n WHERE n.relationship = r.id AND n.kind = 'expiry' AND "
	"n.about = e) LIMIT 1000";

int sqlite_expiring(struct store_rd *rd, const char *now, const char *until,
		    store_expiring_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_expiring);
	if (st == NULL)
		return STORE_FAULT;
	bind_text(st, 1, now);
	bind_text(st, 2, until);
	while (sqlite_select_next(&q, NULL, NULL))
		if (cb((uint64_t)sqlite3_column_int64(st, 0),
		       (uint64_t)sqlite3_column_int64(st, 1),
		       (uint64_t)sqlite3_column_int64(st, 2),
		       (const char *)sqlite3_column_text(st, 3), arg))
			break;
	return sqlite_select_end(&q);
}

static const char sql_notice_insert[] =
	"INSERT INTO notices(relationship, kind, about, person, at) "
	"VALUES (?,?,?,?,?)";

int sqlite_notice_insert(struct store_tx *tx, uint64_t relationship,
			 const char *kind, const char *about, uint64_t person,
			 int64_t at)
{
	WRITER_STMT(tx, sql_notice_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)relationship);
	bind_text(st, 2, kind);
	bind_text(st, 3, about);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 5, at);
	return sqlite_exec_stmt(st);
}
