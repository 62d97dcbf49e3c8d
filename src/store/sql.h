/*
 * sql.h — the SQL both backends speak (private to src/store).
 *
 * The queries of every store operation are written once, in the files
 * sql_<entity>.c, against the statements of this header; each SQL backend
 * (sqlite_sql.c over SQLite, pg_sql.c over libpq) implements a struct
 * sql_ops and puts it in its struct store. A statement is taken for a
 * struct store_rd (a writer job's transaction, or the backend's readers),
 * bound, stepped, read and released; its SQL text is a string literal,
 * whose pointer keys the backend's statement cache. Parameters are
 * written `?` or `?N` (SQLite's rule: a bare `?` is one more than the
 * largest number so far); a backend that numbers them otherwise rewrites
 * the text once, when it prepares it.
 *
 * The SQL is the subset both engines read alike: integers are 64-bit and
 * a flag is an integer compared with 0 or 1; where the dialects part
 * (JSON functions, aggregates into JSON), a query is written twice and
 * chosen with SQL_PICK.
 */
#ifndef CMR_STORE_SQL_H
#define CMR_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* What sql_step returns besides a store status (an error). */
#define SQL_ROW	 100
#define SQL_DONE 101

struct sql_stmt;

/* What an SQL backend implements. Binding keeps the pointer it is given
 * (no copy): the caller's values must live until the statement is
 * stepped for the last time or released. */
struct sql_ops {
	bool pg; /* the dialect: PostgreSQL's (SQL_PICK) */
	/* The statement for sql on rd's connection, reset and unbound;
	 * NULL on a fault (nothing to release). */
	struct sql_stmt *(*stmt)(struct store_rd *rd, const char *sql);
	/* The next row (SQL_ROW), the end (SQL_DONE), or a store status. */
	int (*step)(struct sql_stmt *st);
	/* Rows changed by the statement's write. */
	int64_t (*changes)(struct sql_stmt *st);
	/* Resets the statement and gives its connection back. */
	void (*release)(struct sql_stmt *st);
	void (*bind_int)(struct sql_stmt *st, int i, int64_t v);
	void (*bind_text)(struct sql_stmt *st, int i, const char *v);
	void (*bind_blob)(struct sql_stmt *st, int i, const void *v,
			  size_t len);
	void (*bind_null)(struct sql_stmt *st, int i);
	/* Columns of the current row, from 0: NULL reads as 0, NULL and an
	 * empty blob. A text or blob stays valid until the next step. */
	int64_t (*col_int)(struct sql_stmt *st, int i);
	const char *(*col_text)(struct sql_stmt *st, int i);
	const void *(*col_blob)(struct sql_stmt *st, int i);
	size_t (*col_bytes)(struct sql_stmt *st, int i);
	bool (*col_null)(struct sql_stmt *st, int i);
	int (*col_count)(struct sql_stmt *st);
	/* Many rows of one insert (sql_rows below): the statement to bind
	 * a row to (NULL on a fault), a bound row added (its binds then
	 * cleared), and the end, which writes what is left and releases
	 * the statement whatever happened. */
	struct sql_stmt *(*rows)(struct store_rd *rd, const char *insert);
	int (*rows_add)(struct sql_stmt *st);
	int (*rows_end)(struct sql_stmt *st);
};

/* A statement: a backend's own struct begins with this. */
struct sql_stmt {
	const struct sql_ops *ops;
	struct store_rd *rd; /* where it was taken */
};

/* The SQL ops of the store rd reads from (struct store's `sql`). */
#define SQL_OPS(rd) ((rd)->store->sql)
/* The text for the dialect of rd's store: PostgreSQL's, or SQLite's. */
#define SQL_PICK(rd, sqlite_text, pg_text)                                     \
	(SQL_OPS(rd)->pg ? (pg_text) : (sqlite_text))

static inline struct sql_stmt *sql_stmt(struct store_rd *rd, const char *sql)
{
	return SQL_OPS(rd)->stmt(rd, sql);
}

static inline int sql_step(struct sql_stmt *st)
{
	return st->ops->step(st);
}

/* The status of a step that did not go as its caller expected: its own
 * error, or STORE_FAULT for a row or an end out of place. */
static inline int sql_failed(int rc)
{
	return rc == SQL_ROW || rc == SQL_DONE || rc == STORE_OK ? STORE_FAULT
								 : rc;
}

static inline void sql_release(struct sql_stmt *st)
{
	st->ops->release(st);
}

static inline void sql_bind_int(struct sql_stmt *st, int i, int64_t v)
{
	st->ops->bind_int(st, i, v);
}

static inline void sql_bind_null(struct sql_stmt *st, int i)
{
	st->ops->bind_null(st, i);
}

static inline void sql_bind_blob(struct sql_stmt *st, int i, const void *v,
				 size_t len)
{
	st->ops->bind_blob(st, i, v, len);
}

/* Binding helpers: NULL for absent values. */
static inline void bind_text(struct sql_stmt *st, int i, const char *v)
{
	if (v)
		st->ops->bind_text(st, i, v);
	else
		st->ops->bind_null(st, i);
}

static inline void bind_key(struct sql_stmt *st, int i, uint64_t v)
{
	if (v)
		st->ops->bind_int(st, i, (int64_t)v);
	else
		st->ops->bind_null(st, i);
}

static inline void bind_time(struct sql_stmt *st, int i, int64_t v)
{
	if (v)
		st->ops->bind_int(st, i, v);
	else
		st->ops->bind_null(st, i);
}

static inline int64_t sql_col_int(struct sql_stmt *st, int i)
{
	return st->ops->col_int(st, i);
}

static inline const char *sql_col_text(struct sql_stmt *st, int i)
{
	return st->ops->col_text(st, i);
}

static inline const void *sql_col_blob(struct sql_stmt *st, int i)
{
	return st->ops->col_blob(st, i);
}

static inline size_t sql_col_bytes(struct sql_stmt *st, int i)
{
	return st->ops->col_bytes(st, i);
}

static inline bool sql_col_null(struct sql_stmt *st, int i)
{
	return st->ops->col_null(st, i);
}

static inline char *col_strdup(struct sql_stmt *st, int i)
{
	const char *t = sql_col_text(st, i);
	return t ? strdup(t) : NULL;
}

static inline void col_copy(struct sql_stmt *st, int i, char *dst, size_t size)
{
	const char *t = sql_col_text(st, i);
	snprintf(dst, size, "%s", t ? t : "");
}

/* A copy of a blob or text column (NUL-terminated too); NULL when NULL
 * (or out of memory: *len is then 0). */
char *col_blobdup(struct sql_stmt *st, int i, size_t *len);

/* ---- Personal values through the store's codec (sql_codec.c) ----
 * See store.h, struct store_codec. Without a codec a value is its own
 * hash and its own seal. */

/* Room for what sql_hash writes: a hash, or without a codec the value. */
#define SQL_HASH_SIZE 321
/* The keyed hash of value, of a kind (store_codec), into out. STORE_OK,
 * or STORE_FAULT (also for a value too long for out without a codec). */
int sql_hash(struct store_rd *rd, const char *kind, const char *value,
	     char out[SQL_HASH_SIZE]);
/* The wrapped data key of the person (persons.data_key) into key (room
 * for 96 bytes), *len its length (0: erased). STORE_OK, STORE_NOT_FOUND
 * or STORE_FAULT. */
int sql_person_key(struct store_rd *rd, uint64_t person, uint8_t key[96],
		   size_t *len);
/* The wrapped data keys of many persons, read in one statement: *out a
 * new array (free() after sodium_memzero) of *count keys, in the order of
 * the persons' ids (sql_person_key_find); a person not found has none. */
struct sql_person_key {
	uint64_t person;
	size_t len; /* 0: erased */
	uint8_t key[96];
};
int sql_person_keys(struct store_rd *rd, const uint64_t *persons, size_t n,
		    struct sql_person_key **out, size_t *count);
/* The key of person in what sql_person_keys read, or NULL. */
const struct sql_person_key *
sql_person_key_find(const struct sql_person_key *keys, size_t count,
		    uint64_t person);
/* value (NULL stays NULL) sealed with the wrapped key: *out a new string
 * (free()). STORE_OK, or STORE_FAULT (an erased person has no key). */
int sql_seal(struct store_rd *rd, const uint8_t *key, size_t len,
	     const char *value, char **out);
/* Column `sealed` of the row opened with the wrapped key of column
 * `key`, into out[0..size). A row with no key (its person erased) or
 * nothing sealed reads column `hashed`, the hash that stays. */
/* Terms (NULL stays NULL) with their folder names sealed with the
 * wrapped key: *out a new string. STORE_OK, or STORE_FAULT. */
int sql_seal_terms(struct store_rd *rd, const uint8_t *key, size_t len,
		   const char *terms, char **out);
/* value (or terms) sealed with the data key of `person`, read first:
 * sql_seal (sql_seal_terms) with sql_person_key. */
int sql_seal_person(struct store_rd *rd, uint64_t person, bool terms,
		    const char *value, char **out);
/* Column i opened with the wrapped key of column `key`, as a new string
 * (free()); NULL for NULL, or when it does not open. `terms`: the column
 * holds terms (sql_seal_terms); otherwise a value sealed whole, or a JSON
 * list in clear ("[]" of an erased person), which stays. */
char *col_open_dup(struct sql_stmt *st, int i, int key, bool terms);
void col_open(struct sql_stmt *st, int sealed, int key, int hashed, char *out,
	      size_t size);
/* Column `sealed` opened with the wrapped key of column `key`, as a new
 * string (free()); when it is NULL, column `clear` (a row an older version
 * wrote in clear, before store_seal_clear rewrote it), NULL for NULL.
 * NULL with *fault set when the sealed value does not open or memory
 * runs out. */
char *col_open_either(struct sql_stmt *st, int sealed, int key, int clear,
		      bool *fault);

/* A write: the statement st in the job's transaction, or a return of
 * STORE_FAULT. */
#define WRITER_STMT(tx, sql)                                                   \
	struct sql_stmt *st = sql_stmt(&(tx)->reads, sql);                     \
	if (st == NULL)                                                        \
		return STORE_FAULT;

/* Steps a write statement to completion and releases it: STORE_OK, or
 * its status (STORE_CONFLICT for a constraint, else STORE_FAULT). */
int sql_exec(struct sql_stmt *st);
/* The same for a write that must change a row: `none` (STORE_NOT_FOUND,
 * STORE_CONFLICT) when it changed none. *changed (when not NULL) gets
 * the count. */
int sql_exec_count(struct sql_stmt *st, int none, int64_t *changed);
static inline int sql_exec_changed(struct sql_stmt *st, int none)
{
	return sql_exec_count(st, none, NULL);
}
/* ---- Many rows at once ----
 *
 * A bulk form of a writer's `INSERT INTO t(c1, …, cN) VALUES (?, …, ?)`
 * whose parameters are its columns in order: each row is bound as for the
 * insert and added with sql_rows_add; sql_rows_end writes what is left and
 * releases the statement (call it after a failed add too). SQLite runs
 * the insert once a row (in process, that costs nothing more); PostgreSQL
 * sends the rows with `COPY t(c1, …, cN) FROM STDIN`, a command for many
 * rows, not a round trip for each (pg_copy.c). The bound values must live
 * until sql_rows_add returns. There, a text goes through the column's
 * text input: bind bytes to a bytea column with sql_bind_blob. */
static inline struct sql_stmt *sql_rows(struct store_tx *tx, const char *insert)
{
	return SQL_OPS(&tx->reads)->rows(&tx->reads, insert);
}

/* Adds the bound row: STORE_OK, or the status of a failed write (with
 * PostgreSQL a row's failure may also show only at sql_rows_end). */
static inline int sql_rows_add(struct sql_stmt *st)
{
	return st->ops->rows_add(st);
}

/* Writes the rows not yet written and releases st: STORE_OK, or the
 * status of the failed write. */
static inline int sql_rows_end(struct sql_stmt *st)
{
	return st->ops->rows_end(st);
}

/* UPDATE … SET column = ?1 WHERE id = ?2: STORE_NOT_FOUND when no row. */
int sql_update_text(struct store_tx *tx, const char *sql, uint64_t id,
		    const char *v);

/* Emptied and purged messages lose their content but keep their row:
 * cap windows are rebuilt from deliveries, and a delivery must keep
 * counting for as long as a window can reach back to it. */
#define SQL_REMOVE                                                             \
	"UPDATE attempts SET removed = 1, folder = NULL, subject = NULL, "     \
	"body = NULL, headers = NULL, sender = NULL, topic = NULL "

/* ---- Reads: one helper steps every read statement ---- */

/* Reads the current row's columns into out: STORE_OK, or STORE_FAULT
 * with nothing left allocated in out. */
typedef int (*sql_row_fn)(struct sql_stmt *st, void *out);

/* A read under way. */
struct sql_select {
	struct sql_stmt *st; /* the statement, bound by the caller */
	int status;	     /* STORE_FAULT once a step or a row failed */
	bool done;	     /* stepped past the last row */
};

/* Starts a read of sql through rd. Returns the statement for the caller
 * to bind, or NULL (a fault; there is then nothing to end). The caller's
 * bound values must live until the read ends. */
struct sql_stmt *sql_select(struct sql_select *q, struct store_rd *rd,
			    const char *sql);
/* Steps to the next row and hands it to row (when not NULL: a caller
 * that passes NULL reads q->st's columns itself). True with a row;
 * false at the end, or on a fault, which sql_select_end then returns.
 * Whatever row put in out is the caller's. */
bool sql_select_next(struct sql_select *q, sql_row_fn row, void *out);
/* Ends the read (the statement released): STORE_OK, or the status of a
 * step or a row that failed. */
int sql_select_end(struct sql_select *q);
/* The first row into out through row, and the end of the read: STORE_OK,
 * STORE_NOT_FOUND, or STORE_FAULT. */
int sql_select_one(struct sql_select *q, sql_row_fn row, void *out);
/* sql_select_one of sql with one parameter, the key: id, or text when
 * not NULL. */
int sql_select_key(struct store_rd *rd, const char *sql, uint64_t id,
		   const char *text, sql_row_fn row, void *out);
/* Many keys as one parameter: `col` SQL_IN_KEYS_SQLITE (a JSON array)
 * or SQL_IN_KEYS_PG (an array), written twice and chosen by SQL_PICK;
 * sql_keys makes the parameter's text for rd's dialect (a new string, or
 * NULL when out of memory). Keys go signed, as they are stored. */
#define SQL_IN_KEYS_SQLITE " IN (SELECT value FROM json_each(?1))"
#define SQL_IN_KEYS_PG	   " = ANY(?1::bigint[])"
char *sql_keys(struct store_rd *rd, const uint64_t *keys, size_t n);
/* sql_select of the query for rd's dialect with keys[0..n) bound to ?1
 * (n > 0): the statement, for the caller to bind the rest, or NULL (a
 * fault: nothing to end). *text holds the keys' text until it is freed,
 * after sql_select_end. */
struct sql_stmt *sql_select_keys(struct sql_select *q, struct store_rd *rd,
				 const char *sqlite_sql, const char *pg_sql,
				 const uint64_t *keys, size_t n, char **text);

/* Rows of one column: a key (out: uint64_t *), an integer (int64_t *),
 * a text copied (char **: a new string; a NULL column is a fault). */
int sql_row_key(struct sql_stmt *st, void *out);
int sql_row_int(struct sql_stmt *st, void *out);
int sql_row_text(struct sql_stmt *st, void *out);

/* ---- Replies (sql_reply.c) ---- */
int sql_reply_insert(struct store_tx *tx, const struct store_reply *r);
int sql_reply_get(struct store_rd *rd, uint64_t id, struct store_reply *out);
int sql_reply_list(struct store_rd *rd, uint64_t person, uint64_t answers,
		   uint64_t before, int limit, store_reply_cb cb, void *arg);
int sql_reply_settle(struct store_tx *tx, uint64_t id, int state, int64_t at);

/* ---- Keys (sql_keys.c) ---- */

int sql_key_facts(struct store_rd *rd, struct store_key_facts *out);
int sql_person_keys_after(struct store_rd *rd, int64_t after, int limit,
			  store_person_key_fn fn, void *arg);
int sql_key_wrap_set(struct store_tx *tx, const char *id, int64_t at);
int sql_key_wrap_fence(struct store_tx *tx, const char *id);
int sql_person_key_set(struct store_tx *tx, uint64_t person, const void *old,
		       size_t old_len, const void *wrapped, size_t len);
int sql_key_id_add(struct store_tx *tx, const char *kind, const char *id,
		   int64_t at);

/* ---- Persons (sql_person.c) ---- */

int sql_person_insert(struct store_tx *tx, const struct store_person *p);
int sql_person_insert_many(struct store_tx *tx, const struct store_person *p,
			   size_t n);
int sql_person_get(struct store_rd *rd, uint64_t id, const char *handle,
		   struct store_person *out);
int sql_person_get_many(struct store_rd *rd, const uint64_t *ids, size_t n,
			store_person_cb cb, void *arg);
int sql_person_list(struct store_rd *rd, uint64_t after, int limit,
		    store_person_cb cb, void *arg);
int sql_person_set(struct store_tx *tx, uint64_t id,
		   enum store_person_field field, const char *value);
int sql_person_profile(struct store_rd *rd, uint64_t id, uint8_t *data_key,
		       size_t *data_key_len, char **profile);
int sql_seal_clear(struct store_tx *tx, int limit, int64_t *n);
int sql_person_erase(struct store_tx *tx, uint64_t person,
		     const char *handle_tombstone,
		     const char *default_global_terms, int64_t at);
int sql_person_bounce(struct store_tx *tx, uint64_t id, int64_t at);

/* ---- Tokens and connect codes (sql_token.c) ---- */

int sql_token_insert(struct store_tx *tx, const struct store_token *t);
int sql_token_by_id(struct store_rd *rd, uint64_t id, struct store_token *t);
int sql_token_revoke(struct store_tx *tx, uint64_t person, uint64_t id,
		     bool others, int64_t at);
int sql_token_touch(struct store_tx *tx, uint64_t id, int64_t at);
int sql_token_list(struct store_rd *rd, uint64_t person, int64_t now,
		   store_token_cb cb, void *arg);
int sql_code_insert(struct store_tx *tx, const uint8_t *hash, uint64_t person,
		    int64_t expires_at);
int sql_code_use(struct store_tx *tx, const uint8_t *hash, int64_t now,
		 uint64_t *person);

/* ---- Brands (sql_brand.c) ---- */

int sql_brand_insert(struct store_tx *tx, const struct store_brand *b);
int sql_brand_get(struct store_rd *rd, uint64_t id, const char *name,
		  struct store_brand *out);
int sql_brand_list(struct store_rd *rd, uint64_t after, int limit,
		   store_brand_cb cb, void *arg);
int sql_brand_set_key(struct store_tx *tx, uint64_t id, const uint8_t *key_hash,
		      int64_t at);
int sql_brand_key_hash(struct store_rd *rd, uint64_t id, uint8_t *hash);
int sql_brand_by_domain(struct store_rd *rd, const char *domain,
			uint64_t *brand);

/* ---- Proposals (sql_proposal.c) ---- */

int sql_proposal_insert(struct store_tx *tx, const struct store_proposal *p);
int sql_proposal_insert_many(struct store_tx *tx,
			     const struct store_proposal *p, size_t n);
int sql_proposal_by_id(struct store_rd *rd, uint64_t id,
		       struct store_proposal *p);
int sql_proposal_decide(struct store_tx *tx, uint64_t id, const char *state,
			uint64_t relationship, int64_t at);
int sql_proposal_open(struct store_rd *rd, uint64_t person, uint64_t brand,
		      int64_t now, int *open);
int sql_proposal_list_person(struct store_rd *rd, uint64_t person,
			     uint64_t after, int limit, store_proposal_cb cb,
			     void *arg);

/* ---- Relationships (sql_relationship.c) ---- */

int sql_relationship_insert(struct store_tx *tx,
			    const struct store_relationship *r);
int sql_relationship_insert_many(struct store_tx *tx,
				 const struct store_relationship *r, size_t n);
int sql_relationship_get(struct store_rd *rd, uint64_t id, const char *alias,
			 struct store_relationship *out);
int sql_relationship_get_many(struct store_rd *rd, const uint64_t *ids,
			      size_t n, store_relationship_cb cb, void *arg);
int sql_relationship_list(struct store_rd *rd,
			  const struct store_relationship_filter *f,
			  store_relationship_cb cb, void *arg);
int sql_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
				uint64_t after, int limit, store_key_cb cb,
				void *arg);
int sql_relationship_set_state(struct store_tx *tx, uint64_t id, int state,
			       int64_t at);
int sql_relationship_set_terms(struct store_tx *tx,
			       const struct store_relationship *r, int64_t at);
int sql_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
				     const char *uri);
int sql_relationship_take_over(struct store_tx *tx, uint64_t id,
			       uint64_t person, uint64_t brand,
			       uint64_t proposal);
int sql_field_read(struct store_tx *tx, uint64_t relationship, uint64_t person,
		   int64_t day, int64_t n, bool *first);
int sql_expiring(struct store_rd *rd, const char *now, const char *until,
		 store_expiring_cb cb, void *arg);
int sql_notice_insert(struct store_tx *tx, uint64_t relationship,
		      const char *kind, const char *about, uint64_t person,
		      int64_t at);

/* ---- Attempts (sql_attempt.c) ---- */

int sql_attempt_insert(struct store_tx *tx, const struct store_attempt *a);
int sql_attempt_insert_many(struct store_tx *tx, const struct store_attempt *a,
			    size_t n);
int sql_attempt_dup(struct store_rd *rd, uint64_t relationship,
		    const uint8_t *dedup, bool *found);
int sql_held_count(struct store_rd *rd, uint64_t relationship, uint32_t *out);
int sql_held_count_many(struct store_rd *rd, const uint64_t *rels, size_t n,
			store_count_cb cb, void *arg);
int sql_delivery_list_many(struct store_rd *rd, bool persons,
			   const uint64_t *keys, size_t n, int64_t since,
			   store_delivery_many_cb cb, void *arg);
int sql_delivery_list(struct store_rd *rd, uint64_t relationship,
		      uint64_t person, int64_t since, store_delivery_cb cb,
		      void *arg);
int sql_attempt_update(struct store_tx *tx, uint64_t person, uint64_t id,
		       int read, int folder);
int sql_folder_empty(struct store_tx *tx, uint64_t person, int folder,
		     int64_t *n);
int sql_attempt_remove(struct store_tx *tx, uint64_t person, uint64_t id);
int sql_attempt_plain(struct store_rd *rd, int limit, store_content_cb cb,
		      void *arg);
int sql_attempt_seal(struct store_tx *tx,
		     const struct store_attempt_content *c);
int sql_message_get(struct store_rd *rd, uint64_t id, struct store_message *m);
int sql_held_due(struct store_rd *rd, int64_t now, int limit, store_held_cb cb,
		 void *arg);
int sql_attempt_redecide(struct store_tx *tx, uint64_t id, int decision,
			 int reason, int folder, int64_t deliver_at,
			 int64_t decided_at, bool exempt, int64_t now);
int sql_held_due_now(struct store_tx *tx, uint64_t person, uint64_t rel,
		     int64_t now, int64_t *n);
int sql_attempt_discard(struct store_tx *tx, uint64_t id, int reason);
int sql_attempt_of_brand(struct store_rd *rd, uint64_t id,
			 struct store_brand_attempt *out);
/* What a brand reads of its attempts; rows 1–2's records (an unknown
 * alias, mail from someone else) are the person's alone. */
#define SQL_BRAND_ATTEMPT                                                      \
	"SELECT id, relationship, brand, campaign, decision, reason, "         \
	"refused_at, received_at FROM attempts "
/* A row of SQL_BRAND_ATTEMPT into a struct store_brand_attempt. */
int sql_brand_attempt_row(struct sql_stmt *st, void *out);
int sql_attempt_list(struct store_rd *rd, const struct store_attempt_filter *f,
		     store_attempt_cb cb, void *arg);

/* ---- The purge (sql_purge.c) ---- */

int sql_purge(struct store_tx *tx, struct store_purge *p);

/* ---- The outbox (sql_outbox.c) ---- */

int sql_outbox_add(struct store_tx *tx, const struct store_outbox *o);
int sql_outbox_due(struct store_rd *rd, int64_t now, bool local, int limit,
		   store_outbox_cb cb, void *arg);
int sql_outbox_settle(struct store_tx *tx, uint64_t person, uint64_t id,
		      int tries, int64_t next_at, const char *error);
int sql_outbox_count(struct store_rd *rd, uint64_t person, int64_t *pending,
		     int64_t *failing, char *last_error, size_t size);

/* ---- Idempotency-Keys (sql_idem.c) ---- */

int sql_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		 struct store_idem *out);
int sql_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
		 const struct store_idem *v);
int sql_idem_finish(struct store_tx *tx, uint64_t brand, const char *key,
		    int status, const char *response);

/* ---- Campaigns (sql_campaign.c) ---- */

int sql_campaign_insert(struct store_tx *tx, const struct store_campaign *c);
int sql_campaign_count(struct store_tx *tx, uint64_t id, int64_t total,
		       int64_t accepted);
int sql_campaign_get(struct store_rd *rd, uint64_t id,
		     struct store_campaign_row *out);
int sql_campaign_refusals(struct store_rd *rd, uint64_t campaign,
			  store_refusal_cb cb, void *arg);
int sql_campaign_recipients(struct store_rd *rd, uint64_t campaign, int state,
			    int64_t since, uint64_t after, int limit,
			    store_brand_attempt_cb cb, void *arg);

/* ---- The ledger (sql_ledger.c) ---- */

int sql_ledger_append(struct store_tx *tx, const struct store_ledger_entry *e);
int sql_ledger_head(struct store_rd *rd, uint64_t person,
		    struct store_ledger_entry *out);
int sql_ledger_list(struct store_rd *rd, uint64_t person, int64_t after,
		    int limit, store_ledger_cb cb, void *arg);
int sql_ledger_head_save(struct store_tx *tx, uint64_t person, int64_t seq,
			 const uint8_t *hash, const char *note, int64_t at);
int sql_ledger_signed_head(struct store_rd *rd, uint64_t person, char **note);

/* ---- Own addresses (sql_own_address.c) ---- */

int sql_own_address_get(struct store_rd *rd, uint64_t person,
			const char *address, struct store_own_address *out);
int sql_own_address_put(struct store_tx *tx, const struct store_own_address *o);
int sql_own_address_delete(struct store_tx *tx, uint64_t person);

/* The entries of struct store_ops that the queries of sql_*.c fill,
 * the same for every SQL backend. */
#define SQL_STORE_OPS                                                          \
	.person_insert = sql_person_insert, .person_get = sql_person_get,      \
	.person_insert_many = sql_person_insert_many,                          \
	.person_get_many = sql_person_get_many,                                \
	.relationship_get_many = sql_relationship_get_many,                    \
	.delivery_list_many = sql_delivery_list_many,                          \
	.held_count_many = sql_held_count_many,                                \
	.proposal_insert_many = sql_proposal_insert_many,                      \
	.relationship_insert_many = sql_relationship_insert_many,              \
	.attempt_insert_many = sql_attempt_insert_many,                        \
	.person_profile = sql_person_profile, .person_list = sql_person_list,  \
	.person_set = sql_person_set, .person_bounce = sql_person_bounce,      \
	.person_erase = sql_person_erase, .token_insert = sql_token_insert,    \
	.token_by_id = sql_token_by_id, .token_revoke = sql_token_revoke,      \
	.token_touch = sql_token_touch, .token_list = sql_token_list,          \
	.code_insert = sql_code_insert, .code_use = sql_code_use,              \
	.brand_insert = sql_brand_insert, .brand_get = sql_brand_get,          \
	.brand_list = sql_brand_list, .brand_set_key = sql_brand_set_key,      \
	.brand_key_hash = sql_brand_key_hash,                                  \
	.brand_by_domain = sql_brand_by_domain,                                \
	.proposal_insert = sql_proposal_insert,                                \
	.proposal_by_id = sql_proposal_by_id,                                  \
	.proposal_list_person = sql_proposal_list_person,                      \
	.proposal_decide = sql_proposal_decide,                                \
	.proposal_open = sql_proposal_open,                                    \
	.relationship_insert = sql_relationship_insert,                        \
	.relationship_get = sql_relationship_get,                              \
	.relationship_list = sql_relationship_list,                            \
	.relationship_keys_brand = sql_relationship_keys_brand,                \
	.relationship_set_state = sql_relationship_set_state,                  \
	.relationship_set_terms = sql_relationship_set_terms,                  \
	.relationship_set_unsubscribe = sql_relationship_set_unsubscribe,      \
	.relationship_take_over = sql_relationship_take_over,                  \
	.own_address_get = sql_own_address_get,                                \
	.own_address_put = sql_own_address_put,                                \
	.own_address_delete = sql_own_address_delete,                          \
	.seal_clear = sql_seal_clear, .field_read = sql_field_read,            \
	.expiring = sql_expiring, .notice_insert = sql_notice_insert,          \
	.attempt_insert = sql_attempt_insert, .attempt_dup = sql_attempt_dup,  \
	.held_count = sql_held_count, .delivery_list = sql_delivery_list,      \
	.attempt_list = sql_attempt_list,                                      \
	.attempt_update = sql_attempt_update,                                  \
	.folder_empty = sql_folder_empty,                                      \
	.attempt_remove = sql_attempt_remove, .held_due = sql_held_due,        \
	.attempt_redecide = sql_attempt_redecide,                              \
	.held_due_now = sql_held_due_now,                                      \
	.attempt_discard = sql_attempt_discard,                                \
	.attempt_of_brand = sql_attempt_of_brand,                              \
	.message_get = sql_message_get, .reply_insert = sql_reply_insert,      \
	.reply_get = sql_reply_get, .reply_list = sql_reply_list,              \
	.reply_settle = sql_reply_settle, .attempt_plain = sql_attempt_plain,  \
	.attempt_seal = sql_attempt_seal, .purge = sql_purge,                  \
	.outbox_add = sql_outbox_add, .outbox_due = sql_outbox_due,            \
	.outbox_settle = sql_outbox_settle, .outbox_count = sql_outbox_count,  \
	.idem_get = sql_idem_get, .idem_put = sql_idem_put,                    \
	.idem_finish = sql_idem_finish,                                        \
	.campaign_insert = sql_campaign_insert,                                \
	.campaign_count = sql_campaign_count,                                  \
	.campaign_get = sql_campaign_get,                                      \
	.campaign_refusals = sql_campaign_refusals,                            \
	.campaign_recipients = sql_campaign_recipients,                        \
	.ledger_append = sql_ledger_append, .ledger_head = sql_ledger_head,    \
	.ledger_list = sql_ledger_list,                                        \
	.ledger_head_save = sql_ledger_head_save,                              \
	.ledger_signed_head = sql_ledger_signed_head,                          \
	.key_facts = sql_key_facts, .key_id_add = sql_key_id_add,              \
	.person_keys_after = sql_person_keys_after,                            \
	.key_wrap_set = sql_key_wrap_set,                                      \
	.key_wrap_fence = sql_key_wrap_fence,                                  \
	.person_key_set = sql_person_key_set,

#endif
