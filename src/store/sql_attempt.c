/*
 * sqlite_attempt.c — the SQLite backend's attempts: every message a
 * brand tried to send, with the gate's decision; the person's inbox
 * (lists, reading, moving, emptying a folder), held messages coming due,
 * the deliveries that cap windows are rebuilt from, and a delivered
 * message whole for the adapters.
 */
#include <stdlib.h>
#include <string.h>

#include "sql.h"

static const char q_attempt_insert[] =
	"INSERT INTO attempts(id, person, relationship, brand, campaign, "
	"channel, topic, decision, reason, folder, deliver_at, received_at, "
	"sender, sender_verified, subject, headers, body, decided_at, exempt, "
	"dedup, sealed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

/* A sealed value as a blob, or NULL. */
static void bind_sealed(struct sql_stmt *st, int i, const void *v, size_t len)
{
	if (v)
		sql_bind_blob(st, i, v, len);
	else
		sql_bind_null(st, i);
}

/* Binds attempt a to q_attempt_insert's parameters. */
static void attempt_bind(struct sql_stmt *st, const struct store_attempt *a)
{
	sql_bind_int(st, 1, (int64_t)a->id);
	sql_bind_int(st, 2, (int64_t)a->person);
	bind_key(st, 3, a->relationship);
	bind_key(st, 4, a->brand);
	bind_key(st, 5, a->campaign);
	sql_bind_int(st, 6, a->channel);
	bind_text(st, 7, a->topic);
	sql_bind_int(st, 8, a->decision);
	sql_bind_int(st, 9, a->reason);
	if (a->folder >= 0)
		sql_bind_int(st, 10, a->folder);
	bind_time(st, 11, a->deliver_at);
	sql_bind_int(st, 12, a->received_at);
	if (a->sealed) {
		bind_sealed(st, 13, a->sender, a->sender_len);
		bind_sealed(st, 15, a->subject, a->subject_len);
	} else {
		bind_text(st, 13, a->sender);
		bind_text(st, 15, a->subject);
	}
	sql_bind_int(st, 14, a->sender_verified ? 1 : 0);
	if (a->headers)
		sql_bind_blob(st, 16, a->headers, a->headers_len);
	if (a->body)
		sql_bind_blob(st, 17, a->body, a->body_len);
	bind_time(st, 18, a->decided_at);
	sql_bind_int(st, 19, a->exempt ? 1 : 0);
	if (a->dedup)
		sql_bind_blob(st, 20, a->dedup, 16);
	sql_bind_int(st, 21, a->sealed ? 1 : 0);
}

int sql_attempt_insert(struct store_tx *tx, const struct store_attempt *a)
{
	WRITER_STMT(tx, q_attempt_insert);
	attempt_bind(st, a);
	return sql_exec(st);
}

int sql_attempt_insert_many(struct store_tx *tx, const struct store_attempt *a,
			    size_t n)
{
	int rc = STORE_OK;
	struct sql_stmt *st = n ? sql_rows(tx, q_attempt_insert) : NULL;
	if (n && st == NULL)
		return STORE_FAULT;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		/* Clear text (a store before sealing) is bound as text, which
		 * COPY would read as bytea's escapes: it goes alone. */
		if (!a[i].sealed && (a[i].sender || a[i].subject)) {
			rc = sql_attempt_insert(tx, &a[i]);
			continue;
		}
		attempt_bind(st, &a[i]);
		rc = sql_rows_add(st);
	}
	int end = st ? sql_rows_end(st) : STORE_OK;
	return rc != STORE_OK ? rc : end;
}

static const char q_attempt_dup[] =
	"SELECT 1 FROM attempts WHERE relationship = ? AND dedup = ? AND "
	"decision <> 2 LIMIT 1";

int sql_attempt_dup(struct store_rd *rd, uint64_t relationship,
		    const uint8_t *dedup, bool *found)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_attempt_dup);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)relationship);
	sql_bind_blob(st, 2, dedup, 16);
	int status = sql_select_one(&q, NULL, NULL);
	*found = status == STORE_OK;
	return status == STORE_NOT_FOUND ? STORE_OK : status;
}

static const char q_held_count[] =
	"SELECT count(*) FROM attempts WHERE relationship = ? AND decision = 1";

int sql_held_count(struct store_rd *rd, uint64_t relationship, uint32_t *out)
{
	int64_t n;
	int status = sql_select_key(rd, q_held_count, relationship, NULL,
				    sql_row_int, &n);
	if (status == STORE_OK)
		*out = (uint32_t)n;
	/* count(*) always has its row */
	return status == STORE_NOT_FOUND ? STORE_FAULT : status;
}

static const char q_delivery_rel[] =
	"SELECT channel, exempt, decided_at FROM attempts WHERE "
	"relationship = ? AND decision = 0 AND decided_at >= ? "
	"ORDER BY decided_at, id";
static const char q_delivery_person[] =
	"SELECT channel, exempt, decided_at FROM attempts WHERE "
	"person = ? AND decision = 0 AND decided_at >= ? "
	"ORDER BY decided_at, id";

/* Of many relationships or persons: ?1 the keys, ?2 since. */
#define DELIVERY_MANY(key, in)                                                 \
	"SELECT " key ", channel, exempt, decided_at FROM attempts WHERE "     \
	"" key in " AND decision = 0 AND decided_at >= ?2 ORDER BY " key       \
	", decided_at, id"
static const char *const q_delivery_many[2][2] = {
	{ DELIVERY_MANY("relationship", SQL_IN_KEYS_SQLITE),
	  DELIVERY_MANY("relationship", SQL_IN_KEYS_PG) },
	{ DELIVERY_MANY("person", SQL_IN_KEYS_SQLITE),
	  DELIVERY_MANY("person", SQL_IN_KEYS_PG) },
};

int sql_delivery_list_many(struct store_rd *rd, bool persons,
			   const uint64_t *keys, size_t n, int64_t since,
			   store_delivery_many_cb cb, void *arg)
{
	char *text;
	struct sql_select q;
	if (n == 0)
		return STORE_OK;
	struct sql_stmt *st =
		sql_select_keys(&q, rd, q_delivery_many[persons][0],
				q_delivery_many[persons][1], keys, n, &text);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 2, since);
	while (sql_select_next(&q, NULL, NULL))
		if (cb((uint64_t)sql_col_int(st, 0), (int)sql_col_int(st, 1),
		       sql_col_int(st, 2) != 0, sql_col_int(st, 3), arg))
			break;
	int rc = sql_select_end(&q);
	free(text);
	return rc;
}

static const char q_held_many_sqlite[] =
	"SELECT relationship, count(*) FROM attempts WHERE "
	"relationship" SQL_IN_KEYS_SQLITE
	" AND decision = 1 GROUP BY relationship";
static const char q_held_many_pg[] =
	"SELECT relationship, count(*) FROM attempts WHERE "
	"relationship" SQL_IN_KEYS_PG " AND decision = 1 GROUP BY relationship";

int sql_held_count_many(struct store_rd *rd, const uint64_t *rels, size_t n,
			store_count_cb cb, void *arg)
{
	char *text;
	struct sql_select q;
	if (n == 0)
		return STORE_OK;
	struct sql_stmt *st = sql_select_keys(&q, rd, q_held_many_sqlite,
					      q_held_many_pg, rels, n, &text);
	if (st == NULL)
		return STORE_FAULT;
	while (sql_select_next(&q, NULL, NULL))
		if (cb((uint64_t)sql_col_int(st, 0), sql_col_int(st, 1), arg))
			break;
	int rc = sql_select_end(&q);
	free(text);
	return rc;
}

int sql_delivery_list(struct store_rd *rd, uint64_t relationship,
		      uint64_t person, int64_t since, store_delivery_cb cb,
		      void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(
		&q, rd, relationship ? q_delivery_rel : q_delivery_person);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)(relationship ? relationship : person));
	sql_bind_int(st, 2, since);
	while (sql_select_next(&q, NULL, NULL))
		if (cb((int)sql_col_int(st, 0), (int)sql_col_int(st, 1) != 0,
		       sql_col_int(st, 2), arg))
			break;
	return sql_select_end(&q);
}

static const char q_attempt_get[] =
	"SELECT decision FROM attempts WHERE id = ? AND person = ? AND "
	"removed = 0";
static const char q_attempt_read[] =
	"UPDATE attempts SET is_read = ? WHERE id = ? AND person = ?";
static const char q_attempt_move[] =
	"UPDATE attempts SET folder = ? WHERE id = ? AND person = ? AND "
	"decision = 0";

/* The decision of the person's attempt id (not removed), read through
 * the job's transaction. */
static int attempt_decision(struct store_tx *tx, uint64_t person, uint64_t id,
			    int64_t *decision)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, &tx->reads, q_attempt_get);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)id);
	sql_bind_int(st, 2, (int64_t)person);
	return sql_select_one(&q, sql_row_int, decision);
}

int sql_attempt_update(struct store_tx *tx, uint64_t person, uint64_t id,
		       int read, int folder)
{
	int64_t decision;
	int status = attempt_decision(tx, person, id, &decision);
	if (status != STORE_OK)
		return status;
	if (folder >= 0 && decision != 0)
		return STORE_CONFLICT;
	if (read >= 0) {
		WRITER_STMT(tx, q_attempt_read);
		sql_bind_int(st, 1, read ? 1 : 0);
		sql_bind_int(st, 2, (int64_t)id);
		sql_bind_int(st, 3, (int64_t)person);
		status = sql_exec(st);
		if (status != STORE_OK)
			return status;
	}
	if (folder >= 0) {
		WRITER_STMT(tx, q_attempt_move);
		sql_bind_int(st, 1, folder);
		sql_bind_int(st, 2, (int64_t)id);
		sql_bind_int(st, 3, (int64_t)person);
		return sql_exec(st);
	}
	return STORE_OK;
}

static const char q_folder_empty[] =
	SQL_REMOVE "WHERE person = ? AND folder = ? AND decision = 0 AND "
		   "removed = 0";

int sql_folder_empty(struct store_tx *tx, uint64_t person, int folder,
		     int64_t *n)
{
	WRITER_STMT(tx, q_folder_empty);
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, folder);
	return sql_exec_count(st, STORE_OK, n);
}

static const char q_attempt_remove[] =
	SQL_REMOVE "WHERE id = ? AND person = ? AND removed = 0";

int sql_attempt_remove(struct store_tx *tx, uint64_t person, uint64_t id)
{
	int64_t decision;
	int status = attempt_decision(tx, person, id, &decision);
	if (status != STORE_OK)
		return status;
	if (decision == 1)
		return STORE_CONFLICT; /* held: the gate decides it still */
	WRITER_STMT(tx, q_attempt_remove);
	sql_bind_int(st, 1, (int64_t)id);
	sql_bind_int(st, 2, (int64_t)person);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}

static const char q_message_get[] =
	"SELECT a.id, a.person, coalesce(a.relationship, 0), "
	"coalesce(a.brand, 0), a.channel, a.decision, coalesce(a.folder, -1), "
	"a.removed, a.is_read, a.received_at, a.topic, r.alias, "
	"coalesce(b.name, r.brand_name), "
	"coalesce(a.subject, c.subject), a.headers, coalesce(a.body, c.body), "
	"a.subject IS NOT NULL AND a.sealed <> 0, a.sealed, "
	"a.body IS NOT NULL AND a.sealed <> 0, r.alias_sealed, p.data_key, "
	"CASE WHEN b.name IS NULL THEN r.brand_name_sealed END "
	"FROM attempts a LEFT JOIN relationships r ON r.person = a.person AND "
	"r.id = a.relationship "
	"LEFT JOIN persons p ON p.id = a.person "
	"LEFT JOIN brands b ON b.id = a.brand "
	"LEFT JOIN campaigns c ON c.id = a.campaign WHERE a.id = ?";

static int message_row(struct sql_stmt *st, void *out)
{
	struct store_message *m = out;
	memset(m, 0, sizeof(*m));
	m->id = (uint64_t)sql_col_int(st, 0);
	m->person = (uint64_t)sql_col_int(st, 1);
	m->relationship = (uint64_t)sql_col_int(st, 2);
	m->brand = (uint64_t)sql_col_int(st, 3);
	m->channel = (int)sql_col_int(st, 4);
	m->decision = (int)sql_col_int(st, 5);
	m->folder = (int)sql_col_int(st, 6);
	m->removed = (int)sql_col_int(st, 7) != 0;
	m->read = (int)sql_col_int(st, 8) != 0;
	m->received_at = sql_col_int(st, 9);
	col_copy(st, 10, m->topic, sizeof(m->topic));
	col_open(st, 19, 20, 11, m->alias, sizeof(m->alias)); /* sealed */
	/* a person-made relationship's brand name is sealed */
	col_open(st, 21, 20, 12, m->brand_name, sizeof(m->brand_name));
	m->subject = col_blobdup(st, 13, &m->subject_len);
	m->headers = col_blobdup(st, 14, &m->headers_len);
	m->body = col_blobdup(st, 15, &m->body_len);
	if ((!sql_col_null(st, 13) && m->subject == NULL) ||
	    (!sql_col_null(st, 14) && m->headers == NULL) ||
	    (!sql_col_null(st, 15) && m->body == NULL)) {
		store_message_clear(m);
		return STORE_FAULT;
	}
	/* a campaign's subject and body are the campaign's, in clear */
	m->subject_sealed = (int)sql_col_int(st, 16) != 0;
	m->headers_sealed = (int)sql_col_int(st, 17) != 0;
	m->body_sealed = (int)sql_col_int(st, 18) != 0;
	return STORE_OK;
}

int sql_message_get(struct store_rd *rd, uint64_t id, struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	return sql_select_key(rd, q_message_get, id, NULL, message_row, m);
}

static const char q_held_due[] =
	"SELECT id, relationship, channel, topic, deliver_at FROM attempts "
	"WHERE decision = 1 AND deliver_at <= ? ORDER BY deliver_at LIMIT ?";

static int held_row(struct sql_stmt *st, void *out)
{
	struct store_held *h = out;
	memset(h, 0, sizeof(*h));
	h->id = (uint64_t)sql_col_int(st, 0);
	h->relationship = (uint64_t)sql_col_int(st, 1);
	h->channel = (int)sql_col_int(st, 2);
	col_copy(st, 3, h->topic, sizeof(h->topic));
	h->deliver_at = sql_col_int(st, 4);
	return STORE_OK;
}

int sql_held_due(struct store_rd *rd, int64_t now, int limit, store_held_cb cb,
		 void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_held_due);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, now);
	sql_bind_int(st, 2, limit);
	struct store_held h;
	while (sql_select_next(&q, held_row, &h))
		if (cb(&h, arg))
			break;
	return sql_select_end(&q);
}

static const char q_redecide[] =
	"UPDATE attempts SET decision = ?1, reason = ?2, folder = ?3, "
	"deliver_at = ?4, decided_at = ?5, exempt = ?6, "
	"body = CASE WHEN ?1 = 2 THEN NULL ELSE body END, "
	"refused_at = CASE WHEN ?1 = 2 THEN ?8 END "
	"WHERE id = ?7 AND decision = 1";

int sql_attempt_redecide(struct store_tx *tx, uint64_t id, int decision,
			 int reason, int folder, int64_t deliver_at,
			 int64_t decided_at, bool exempt, int64_t now)
{
	WRITER_STMT(tx, q_redecide);
	sql_bind_int(st, 1, decision);
	sql_bind_int(st, 2, reason);
	if (folder >= 0)
		sql_bind_int(st, 3, folder);
	bind_time(st, 4, deliver_at);
	bind_time(st, 5, decided_at);
	sql_bind_int(st, 6, exempt ? 1 : 0);
	sql_bind_int(st, 7, (int64_t)id);
	sql_bind_int(st, 8, now);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}

static const char q_held_due_now[] =
	"UPDATE attempts SET deliver_at = ?1 WHERE decision = 1 AND "
	"person = ?2 AND (?3 = 0 OR relationship = ?3) AND deliver_at > ?1";

int sql_held_due_now(struct store_tx *tx, uint64_t person, uint64_t rel,
		     int64_t now, int64_t *n)
{
	WRITER_STMT(tx, q_held_due_now);
	sql_bind_int(st, 1, now);
	sql_bind_int(st, 2, (int64_t)person);
	sql_bind_int(st, 3, (int64_t)rel);
	return sql_exec_count(st, STORE_OK, n);
}

static const char q_discard[] =
	"UPDATE attempts SET decision = 2, reason = ?1, folder = NULL, "
	"deliver_at = NULL, subject = NULL, body = NULL, headers = NULL, "
	"sender = NULL WHERE id = ?2 AND decision = 1";

int sql_attempt_discard(struct store_tx *tx, uint64_t id, int reason)
{
	WRITER_STMT(tx, q_discard);
	sql_bind_int(st, 1, reason);
	sql_bind_int(st, 2, (int64_t)id);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}

static const char q_attempt_of_brand[] =
	SQL_BRAND_ATTEMPT "WHERE id = ? AND brand IS NOT NULL AND "
			  "relationship IS NOT NULL AND reason NOT IN (1, 2)";

int sql_brand_attempt_row(struct sql_stmt *st, void *out)
{
	struct store_brand_attempt *a = out;
	a->id = (uint64_t)sql_col_int(st, 0);
	a->relationship = (uint64_t)sql_col_int(st, 1);
	a->brand = (uint64_t)sql_col_int(st, 2);
	a->campaign = (uint64_t)sql_col_int(st, 3);
	a->decision = (int)sql_col_int(st, 4);
	a->reason = (int)sql_col_int(st, 5);
	a->refused_at = sql_col_int(st, 6);
	a->received_at = sql_col_int(st, 7);
	return STORE_OK;
}

int sql_attempt_of_brand(struct store_rd *rd, uint64_t id,
			 struct store_brand_attempt *out)
{
	return sql_select_key(rd, q_attempt_of_brand, id, NULL,
			      sql_brand_attempt_row, out);
}

/* The filters are optional, so each is "? IS NULL OR column = ?"; the
 * cursor is a range on (person, id) (attempts_person_id; PostgreSQL's
 * primary key), so that a page is
 * read newest first and the read stops after `limit` rows instead of
 * sorting all the person's messages. */
static const char q_attempt_list[] =
	"SELECT a.id, a.relationship, a.brand, a.campaign, a.channel, "
	"a.decision, a.reason, a.folder, a.topic, "
	"coalesce(a.subject, c.subject), a.sender, a.sender_verified, "
	"a.is_read, a.deliver_at, a.received_at, "
	"a.subject IS NOT NULL AND a.sealed <> 0, a.sealed, r.brand_name, "
	"r.brand_name_sealed, CASE WHEN r.brand_name_sealed IS NOT NULL THEN "
	"(SELECT p.data_key FROM persons p WHERE p.id = a.person) END "
	"FROM attempts a LEFT JOIN campaigns c ON c.id = a.campaign "
	"LEFT JOIN relationships r ON a.brand IS NULL AND "
	"r.person = a.person AND r.id = a.relationship "
	"WHERE a.person = ?1 AND a.removed = 0 "
	"AND (CAST(?2 AS BIGINT) IS NULL OR a.folder = ?2) "
	"AND (CAST(?3 AS BIGINT) IS NULL OR a.decision = ?3) "
	"AND (CAST(?4 AS BIGINT) IS NULL OR a.relationship = ?4) "
	"AND a.id < coalesce(CAST(?5 AS BIGINT), 9223372036854775807) "
	"ORDER BY a.id DESC LIMIT ?6";

/* The person's view of an attempt; subject and sender are new strings
 * (the caller frees them). */
static int attempt_list_row(struct sql_stmt *st, void *out)
{
	struct store_attempt_row *a = out;
	memset(a, 0, sizeof(*a));
	a->id = (uint64_t)sql_col_int(st, 0);
	a->relationship = (uint64_t)sql_col_int(st, 1);
	a->brand = (uint64_t)sql_col_int(st, 2);
	a->campaign = (uint64_t)sql_col_int(st, 3);
	a->channel = (int)sql_col_int(st, 4);
	a->decision = (int)sql_col_int(st, 5);
	a->reason = (int)sql_col_int(st, 6);
	a->folder = sql_col_null(st, 7) ? -1 : (int)sql_col_int(st, 7);
	col_copy(st, 8, a->topic, sizeof(a->topic));
	a->subject = col_blobdup(st, 9, &a->subject_len);
	a->sender = col_blobdup(st, 10, &a->sender_len);
	if ((!sql_col_null(st, 9) && !a->subject) ||
	    (!sql_col_null(st, 10) && !a->sender)) {
		free(a->subject);
		free(a->sender);
		return STORE_FAULT;
	}
	a->subject_sealed = (int)sql_col_int(st, 15) != 0;
	a->sender_sealed = (int)sql_col_int(st, 16) != 0;
	a->sender_verified = (int)sql_col_int(st, 11) != 0;
	a->read = (int)sql_col_int(st, 12) != 0;
	a->deliver_at = sql_col_int(st, 13);
	a->received_at = sql_col_int(st, 14);
	/* a person-made relationship's brand name is sealed */
	col_open(st, 18, 19, 17, a->brand_name, sizeof(a->brand_name));
	return STORE_OK;
}

int sql_attempt_list(struct store_rd *rd, const struct store_attempt_filter *f,
		     store_attempt_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_attempt_list);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)f->person);
	if (f->folder >= 0)
		sql_bind_int(st, 2, f->folder);
	if (f->decision >= 0)
		sql_bind_int(st, 3, f->decision);
	bind_key(st, 4, f->relationship);
	bind_key(st, 5, f->before);
	sql_bind_int(st, 6, f->limit);
	struct store_attempt_row a;
	while (sql_select_next(&q, attempt_list_row, &a)) {
		int stop = cb(&a, arg);
		free(a.subject);
		free(a.sender);
		if (stop)
			break;
	}
	return sql_select_end(&q);
}

/* ---- Sealing what an older store kept in clear ---- */

static const char q_attempt_plain[] =
	"SELECT id, person, subject, sender, headers, body, dedup "
	"FROM attempts WHERE sealed = 0 ORDER BY person, id LIMIT ?";

/* A blob or text column as bytes, borrowed from the statement. */
static const void *col_bytes(struct sql_stmt *st, int i, size_t *len)
{
	*len = 0;
	if (sql_col_null(st, i))
		return NULL;
	const void *b = sql_col_blob(st, i);
	*len = sql_col_bytes(st, i);
	return b ? b : "";
}

int sql_attempt_plain(struct store_rd *rd, int limit, store_content_cb cb,
		      void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_attempt_plain);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, limit);
	while (sql_select_next(&q, NULL, NULL)) {
		struct store_attempt_content c = {
			.id = (uint64_t)sql_col_int(st, 0),
			.person = (uint64_t)sql_col_int(st, 1),
		};
		size_t dedup_len;
		c.subject = col_bytes(st, 2, &c.subject_len);
		c.sender = col_bytes(st, 3, &c.sender_len);
		c.headers = col_bytes(st, 4, &c.headers_len);
		c.body = col_bytes(st, 5, &c.body_len);
		c.dedup = col_bytes(st, 6, &dedup_len);
		if (dedup_len != 16)
			c.dedup = NULL;
		if (cb(&c, arg))
			break;
	}
	return sql_select_end(&q);
}

static const char q_attempt_seal[] =
	"UPDATE attempts SET subject = ?, sender = ?, headers = ?, body = ?, "
	"dedup = ?, sealed = 1 WHERE id = ? AND sealed = 0";

int sql_attempt_seal(struct store_tx *tx, const struct store_attempt_content *c)
{
	WRITER_STMT(tx, q_attempt_seal);
	bind_sealed(st, 1, c->subject, c->subject_len);
	bind_sealed(st, 2, c->sender, c->sender_len);
	bind_sealed(st, 3, c->headers, c->headers_len);
	bind_sealed(st, 4, c->body, c->body_len);
	bind_sealed(st, 5, c->dedup, 16);
	sql_bind_int(st, 6, (int64_t)c->id);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}
