/*
 * sqlite_relationship.c — the SQLite backend's relationships: the row,
 * its alias in the directory, every version of its terms, its state,
 * the brand's daily field reads, and the notices of consent expiry.
 */
#include <string.h>

#include <sodium.h>

#include "sql.h"

static const char q_rel_insert[] =
	"INSERT INTO relationships(id, person, brand, proposal, state, alias, "
	"terms, terms_version, topics, created_at, made_by, "
	"brand_name_sealed, domains_sealed, alias_sealed) "
	"VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char q_alias_insert[] =
	"INSERT INTO aliases(alias, person, relationship) VALUES (?,?,?)";
static const char q_terms_version_insert[] =
	"INSERT INTO terms_versions(relationship, version, person, terms, at) "
	"VALUES (?,?,?,?,?)";

/* A relationship is a row in each of these three tables. */
static const char *const q_rel_inserts[3] = { q_rel_insert, q_alias_insert,
					      q_terms_version_insert };

/* What the rows hold of the alias and the terms: the alias as its keyed
 * hash (the directory's key, and the tombstone it stays after erasure)
 * and sealed with the person's data key (what their views and the
 * brand's show); the terms with the person's folder names sealed; a
 * person-made relationship's brand name and domains sealed (the brand
 * they named is theirs to erase). */
struct rel_coded {
	char hash[SQL_HASH_SIZE];
	char *sealed, *terms;
	char *brand_name, *domains; /* NULL when not person-made */
};

static void rel_coded_free(struct rel_coded *c)
{
	free(c->sealed);
	free(c->terms);
	free(c->brand_name);
	free(c->domains);
	c->sealed = c->terms = c->brand_name = c->domains = NULL;
}

/* Codes r with its person's wrapped data key (key, len). */
static int rel_code(struct store_rd *rd, const struct store_relationship *r,
		    const uint8_t *key, size_t len, struct rel_coded *c)
{
	c->sealed = c->terms = c->brand_name = c->domains = NULL;
	int status = sql_seal(rd, key, len, r->alias, &c->sealed);
	if (status == STORE_OK)
		status = sql_seal_terms(rd, key, len, r->terms, &c->terms);
	if (status == STORE_OK)
		status = sql_seal(rd, key, len, r->brand_name, &c->brand_name);
	if (status == STORE_OK)
		status = sql_seal(rd, key, len, r->domains, &c->domains);
	if (status == STORE_OK)
		status = sql_hash(rd, "alias", r->alias, c->hash);
	if (status != STORE_OK)
		rel_coded_free(c);
	return status;
}

/* Binds r (coded as c) to q_rel_inserts[which]. */
static void rel_bind(struct sql_stmt *st, int which,
		     const struct store_relationship *r,
		     const struct rel_coded *c)
{
	int version = r->terms_version ? r->terms_version : 1;
	if (which == 0) {
		sql_bind_int(st, 1, (int64_t)r->id);
		sql_bind_int(st, 2, (int64_t)r->person);
		bind_key(st, 3, r->brand);
		bind_key(st, 4, r->proposal);
		sql_bind_int(st, 5, r->state);
		bind_text(st, 6, c->hash);
		bind_text(st, 7, c->terms);
		sql_bind_int(st, 8, version);
		bind_text(st, 9, r->topics ? r->topics : "[]");
		sql_bind_int(st, 10, r->created_at);
		bind_text(st, 11, r->person_made ? "person" : "brand");
		bind_text(st, 12, c->brand_name);
		bind_text(st, 13, c->domains);
		bind_text(st, 14, c->sealed);
	} else if (which == 1) {
		bind_text(st, 1, c->hash);
		sql_bind_int(st, 2, (int64_t)r->person);
		sql_bind_int(st, 3, (int64_t)r->id);
	} else {
		sql_bind_int(st, 1, (int64_t)r->id);
		sql_bind_int(st, 2, version);
		sql_bind_int(st, 3, (int64_t)r->person);
		bind_text(st, 4, c->terms);
		sql_bind_int(st, 5, r->created_at);
	}
}

int sql_relationship_insert(struct store_tx *tx,
			    const struct store_relationship *r)
{
	struct rel_coded c = { .sealed = NULL };
	uint8_t key[96];
	size_t key_len;
	int status =
		sql_person_key(store_tx_reads(tx), r->person, key, &key_len);
	if (status == STORE_OK)
		status = rel_code(store_tx_reads(tx), r, key, key_len, &c);
	sodium_memzero(key, sizeof(key));
	for (int which = 0; which < 3 && status == STORE_OK; which++) {
		struct sql_stmt *st =
			sql_stmt(&tx->reads, q_rel_inserts[which]);
		if (st == NULL) {
			status = STORE_FAULT;
			break;
		}
		rel_bind(st, which, r, &c);
		status = sql_exec(st);
	}
	rel_coded_free(&c);
	return status;
}

int sql_relationship_insert_many(struct store_tx *tx,
				 const struct store_relationship *r, size_t n)
{
	if (n == 0)
		return STORE_OK;
	struct store_rd *rd = store_tx_reads(tx);
	struct rel_coded *c = calloc(n, sizeof(*c));
	uint64_t *persons = calloc(n, sizeof(*persons));
	struct sql_person_key *keys = NULL;
	size_t nkeys = 0, coded = 0;
	int rc = c && persons ? STORE_OK : STORE_FAULT;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		persons[i] = r[i].person;
	/* The persons' keys in one read, not one a relationship. */
	if (rc == STORE_OK)
		rc = sql_person_keys(rd, persons, n, &keys, &nkeys);
	for (; coded < n && rc == STORE_OK; coded++) {
		const struct sql_person_key *k =
			sql_person_key_find(keys, nkeys, r[coded].person);
		rc = k ? rel_code(rd, &r[coded], k->key, k->len, &c[coded])
		       : STORE_NOT_FOUND;
	}
	if (keys) {
		sodium_memzero(keys, nkeys * sizeof(*keys));
		free(keys);
	}
	free(persons);
	/* Table by table: the relationships before the rows naming them. */
	for (int which = 0; which < 3 && rc == STORE_OK; which++) {
		struct sql_stmt *st = sql_rows(tx, q_rel_inserts[which]);
		if (st == NULL) {
			rc = STORE_FAULT;
			break;
		}
		for (size_t i = 0; i < n && rc == STORE_OK; i++) {
			rel_bind(st, which, &r[i], &c[i]);
			rc = sql_rows_add(st);
		}
		int end = sql_rows_end(st);
		if (rc == STORE_OK)
			rc = end;
	}
	for (size_t i = 0; c && i < coded; i++)
		rel_coded_free(&c[i]);
	free(c);
	return rc;
}

#define REL_COLS                                                               \
	"id, person, brand, proposal, state, alias, terms, terms_version, "    \
	"topics, created_at, ended_at, unsubscribe, made_by, brand_name, "     \
	"domains, alias_sealed, (SELECT p.data_key FROM persons p WHERE "      \
	"p.id = relationships.person), brand_name_sealed, domains_sealed"

static int rel_row(struct sql_stmt *st, void *out)
{
	struct store_relationship *r = out;
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sql_col_int(st, 0);
	r->person = (uint64_t)sql_col_int(st, 1);
	r->brand = (uint64_t)sql_col_int(st, 2);
	r->proposal = (uint64_t)sql_col_int(st, 3);
	r->state = (int)sql_col_int(st, 4);
	col_open(st, 15, 16, 5, r->alias, sizeof(r->alias));
	r->terms = col_open_dup(st, 6, 16, true);
	r->terms_version = (int)sql_col_int(st, 7);
	r->topics = col_strdup(st, 8);
	r->created_at = sql_col_int(st, 9);
	r->ended_at = sql_col_int(st, 10);
	r->unsubscribe = col_open_dup(st, 11, 16, false); /* sealed */
	const char *by = sql_col_text(st, 12);
	r->person_made = by && strcmp((const char *)by, "person") == 0;
	/* sealed; in clear in a row an older version wrote */
	bool fault = false;
	r->brand_name = col_open_either(st, 17, 16, 13, &fault);
	r->domains = col_open_either(st, 18, 16, 14, &fault);
	if (r->terms == NULL || r->topics == NULL || fault ||
	    (r->unsubscribe == NULL && !sql_col_null(st, 11))) {
		store_relationship_clear(r);
		return STORE_FAULT;
	}
	return STORE_OK;
}

/* Hands each row of q to cb until it asks to stop. */
static void rel_rows(struct sql_select *q, store_relationship_cb cb, void *arg)
{
	struct store_relationship rel;
	while (sql_select_next(q, rel_row, &rel)) {
		int stop = cb(&rel, arg);
		store_relationship_clear(&rel);
		if (stop)
			break;
	}
}

static const char q_rel_by_id[] =
	"SELECT " REL_COLS " FROM relationships WHERE id = ?";
/* An erased person's aliases (no seal left) are found no more, as when
 * the directory held them in clear and erasure replaced them. */
static const char q_rel_by_alias[] =
	"SELECT " REL_COLS " FROM relationships WHERE alias = ? AND "
	"alias_sealed IS NOT NULL";

int sql_relationship_get(struct store_rd *rd, uint64_t id, const char *alias,
			 struct store_relationship *out)
{
	char hash[SQL_HASH_SIZE];
	if (alias && sql_hash(rd, "alias", alias, hash) != STORE_OK)
		return STORE_FAULT;
	return sql_select_key(rd, alias ? q_rel_by_alias : q_rel_by_id, id,
			      alias ? hash : NULL, rel_row, out);
}

/* The filters of store_relationship_list are the parameters ?1 to ?5 of
 * each statement; one statement per key a list is by (a person, a brand,
 * none) keeps each on the plan it had as a function of its own: a
 * brand's on relationships_brand, the others walking ids. */
#define REL_LIST_REST "(?3 = 0 OR state <> 2) AND id > ?4 ORDER BY id LIMIT ?5"
static const char q_rel_list_person[] =
	"SELECT " REL_COLS " FROM relationships WHERE person = ?1 AND "
	"(?2 = 0 OR brand = ?2) AND " REL_LIST_REST;
static const char q_rel_list_brand[] =
	"SELECT " REL_COLS " FROM relationships WHERE brand = ?2 "
	"AND " REL_LIST_REST;
static const char q_rel_list_all[] =
	"SELECT " REL_COLS " FROM relationships WHERE " REL_LIST_REST;

static const char q_rel_many_sqlite[] =
	"SELECT " REL_COLS " FROM relationships WHERE id" SQL_IN_KEYS_SQLITE;
static const char q_rel_many_pg[] =
	"SELECT " REL_COLS " FROM relationships WHERE id" SQL_IN_KEYS_PG;

int sql_relationship_get_many(struct store_rd *rd, const uint64_t *ids,
			      size_t n, store_relationship_cb cb, void *arg)
{
	char *keys;
	struct sql_select q;
	if (n == 0)
		return STORE_OK;
	if (sql_select_keys(&q, rd, q_rel_many_sqlite, q_rel_many_pg, ids, n,
			    &keys) == NULL)
		return STORE_FAULT;
	rel_rows(&q, cb, arg);
	int rc = sql_select_end(&q);
	free(keys);
	return rc;
}

int sql_relationship_list(struct store_rd *rd,
			  const struct store_relationship_filter *f,
			  store_relationship_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd,
					 f->person  ? q_rel_list_person
					 : f->brand ? q_rel_list_brand
						    : q_rel_list_all);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)f->person);
	sql_bind_int(st, 2, (int64_t)f->brand);
	sql_bind_int(st, 3, f->open ? 1 : 0);
	sql_bind_int(st, 4, (int64_t)f->after);
	sql_bind_int(st, 5, f->limit);
	rel_rows(&q, cb, arg);
	return sql_select_end(&q);
}

static const char q_rel_keys_brand[] =
	"SELECT id FROM relationships WHERE brand = ? AND state <> 2 AND "
	"id > ? ORDER BY id LIMIT ?";

int sql_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
				uint64_t after, int limit, store_key_cb cb,
				void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_rel_keys_brand);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)brand);
	sql_bind_int(st, 2, (int64_t)after);
	sql_bind_int(st, 3, limit);
	uint64_t key;
	while (sql_select_next(&q, sql_row_key, &key))
		if (cb(key, arg))
			break;
	return sql_select_end(&q);
}

static const char q_rel_set_state[] =
	"UPDATE relationships SET state = ?1, ended_at = CASE WHEN ?1 = 2 "
	"THEN ?2 ELSE ended_at END WHERE id = ?3 AND state <> 2";

int sql_relationship_set_state(struct store_tx *tx, uint64_t id, int state,
			       int64_t at)
{
	WRITER_STMT(tx, q_rel_set_state);
	sql_bind_int(st, 1, state);
	sql_bind_int(st, 2, at);
	sql_bind_int(st, 3, (int64_t)id);
	/* An ended relationship stays ended. */
	return sql_exec_changed(st, STORE_CONFLICT);
}

/* The version is the stored one plus one, counted here so that two
 * changes in a row can never claim the same number. */
static const char q_rel_set_terms[] =
	"UPDATE relationships SET terms = ?, topics = ?, "
	"terms_version = terms_version + 1 WHERE id = ? AND state <> 2 "
	"RETURNING terms_version";

static int rel_set_terms(struct store_tx *tx,
			 const struct store_relationship *r, const char *terms,
			 int64_t at);

int sql_relationship_set_terms(struct store_tx *tx,
			       const struct store_relationship *r, int64_t at)
{
	char *terms = NULL;
	int rc = sql_seal_person(store_tx_reads(tx), r->person, true, r->terms,
				 &terms);
	if (rc == STORE_OK)
		rc = rel_set_terms(tx, r, terms, at);
	free(terms);
	return rc;
}

static int rel_set_terms(struct store_tx *tx,
			 const struct store_relationship *r, const char *terms,
			 int64_t at)
{
	int version;
	{
		WRITER_STMT(tx, q_rel_set_terms);
		bind_text(st, 1, terms);
		bind_text(st, 2, r->topics);
		sql_bind_int(st, 3, (int64_t)r->id);
		int rc = sql_step(st);
		version = rc == SQL_ROW ? (int)sql_col_int(st, 0) : 0;
		if (rc == SQL_ROW)
			rc = sql_step(st);
		sql_release(st);
		if (rc != SQL_DONE)
			return sql_failed(rc);
		if (version == 0)
			return STORE_CONFLICT; /* ended: terms are final */
	}
	WRITER_STMT(tx, q_terms_version_insert);
	sql_bind_int(st, 1, (int64_t)r->id);
	sql_bind_int(st, 2, version);
	sql_bind_int(st, 3, (int64_t)r->person);
	bind_text(st, 4, terms);
	sql_bind_int(st, 5, at);
	return sql_exec(st);
}

static const char q_rel_unsubscribe[] =
	"UPDATE relationships SET unsubscribe = ? WHERE id = ?";

static const char q_rel_person[] = "SELECT person FROM relationships "
				   "WHERE id = ?";

/* The URI names the alias (the brand's list knows it by it): sealed with
 * the person's data key like the alias. */
int sql_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
				     const char *uri)
{
	struct store_rd *rd = store_tx_reads(tx);
	uint64_t person = 0;
	char *sealed = NULL;
	int rc = sql_select_key(rd, q_rel_person, id, NULL, sql_row_key,
				&person);
	if (rc == STORE_OK)
		rc = sql_seal_person(rd, person, false, uri, &sealed);
	if (rc == STORE_OK)
		rc = sql_update_text(tx, q_rel_unsubscribe, id, sealed);
	free(sealed);
	return rc;
}

/* Only a person-made row that no brand has taken over and that has not
 * ended; relationships_open refuses a second open one with the brand. */
static const char q_rel_take_over[] =
	"UPDATE relationships SET brand = ?1, proposal = ?2 WHERE id = ?3 "
	"AND person = ?4 AND made_by = 'person' AND brand IS NULL AND "
	"state <> 2";

int sql_relationship_take_over(struct store_tx *tx, uint64_t id,
			       uint64_t person, uint64_t brand,
			       uint64_t proposal)
{
	WRITER_STMT(tx, q_rel_take_over);
	sql_bind_int(st, 1, (int64_t)brand);
	sql_bind_int(st, 2, (int64_t)proposal);
	sql_bind_int(st, 3, (int64_t)id);
	sql_bind_int(st, 4, (int64_t)person);
	return sql_exec_changed(st, STORE_CONFLICT);
}

static const char q_field_read[] =
	"INSERT INTO field_reads(relationship, day, person, reads) "
	"VALUES (?1,?2,?3,?4) ON CONFLICT(relationship, day) DO UPDATE SET "
	"reads = field_reads.reads + ?4 RETURNING reads";
/* PostgreSQL's key leads with the person (schema/pg/002_person_keys.sql). */
static const char q_pg_field_read[] =
	"INSERT INTO field_reads(relationship, day, person, reads) "
	"VALUES (?1,?2,?3,?4) ON CONFLICT(person, relationship, day) DO "
	"UPDATE SET reads = field_reads.reads + ?4 RETURNING reads";

int sql_field_read(struct store_tx *tx, uint64_t relationship, uint64_t person,
		   int64_t day, int64_t n, bool *first)
{
	WRITER_STMT(tx, SQL_PICK(&tx->reads, q_field_read, q_pg_field_read));
	sql_bind_int(st, 1, (int64_t)relationship);
	sql_bind_int(st, 2, day);
	sql_bind_int(st, 3, (int64_t)person);
	sql_bind_int(st, 4, n);
	int rc = sql_step(st), status = sql_failed(rc);
	if (rc == SQL_ROW) {
		*first = sql_col_int(st, 0) == n;
		status = sql_step(st) == SQL_DONE ? STORE_OK : STORE_FAULT;
	}
	sql_release(st);
	return status;
}

/* Canonical terms write expires_at as "YYYY-MM-DDTHH:MM:SSZ", so text
 * order is time order. */
static const char q_expiring[] =
	"SELECT r.id, r.person, r.brand, json_extract(r.terms, "
	"'$.expires_at') AS e FROM relationships r WHERE r.state <> 2 AND "
	"e IS NOT NULL AND e > ?1 AND e <= ?2 AND NOT EXISTS (SELECT 1 FROM "
	"notices n WHERE n.person = r.person AND n.relationship = r.id AND "
	"n.kind = 'expiry' AND "
	"n.about = e) LIMIT 1000";
static const char q_pg_expiring[] =
	"SELECT r.id, r.person, r.brand, r.e FROM (SELECT id, person, brand, "
	"(terms::jsonb ->> 'expires_at') COLLATE \"C\" AS e FROM "
	"relationships WHERE state <> 2) r WHERE r.e IS NOT NULL AND "
	"r.e > ?1 AND r.e <= ?2 AND NOT EXISTS (SELECT 1 FROM notices n "
	"WHERE n.person = r.person AND n.relationship = r.id AND "
	"n.kind = 'expiry' AND "
	"n.about = r.e) LIMIT 1000";

int sql_expiring(struct store_rd *rd, const char *now, const char *until,
		 store_expiring_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st =
		sql_select(&q, rd, SQL_PICK(rd, q_expiring, q_pg_expiring));
	if (st == NULL)
		return STORE_FAULT;
	bind_text(st, 1, now);
	bind_text(st, 2, until);
	while (sql_select_next(&q, NULL, NULL))
		if (cb((uint64_t)sql_col_int(st, 0),
		       (uint64_t)sql_col_int(st, 1),
		       (uint64_t)sql_col_int(st, 2), sql_col_text(st, 3), arg))
			break;
	return sql_select_end(&q);
}

/* A notice given already is a conflict that leaves the transaction
 * whole (the scheduler goes on to the next). */
static const char q_notice_insert[] =
	"INSERT INTO notices(relationship, kind, about, person, at) "
	"VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING";

int sql_notice_insert(struct store_tx *tx, uint64_t relationship,
		      const char *kind, const char *about, uint64_t person,
		      int64_t at)
{
	WRITER_STMT(tx, q_notice_insert);
	sql_bind_int(st, 1, (int64_t)relationship);
	bind_text(st, 2, kind);
	bind_text(st, 3, about);
	sql_bind_int(st, 4, (int64_t)person);
	sql_bind_int(st, 5, at);
	return sql_exec_changed(st, STORE_CONFLICT);
}
