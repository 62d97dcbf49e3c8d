/*
 * sqlite.h — what the files of the SQLite backend share (private to
 * src/store/sqlite*.c; sqlite.c says which file holds what).
 *
 * Each operation store_X of store.h is implemented as sqlite_X in the
 * file of its entity and has store.h's contract; sqlite.c puts them in
 * the backend's struct store_ops. The binding and column helpers keep
 * short names (bind_*, col_*): they are static inline, seen only by the
 * backend's files, and stand on most lines of its queries.
 */
#ifndef CMR_STORE_SQLITE_H
#define CMR_STORE_SQLITE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "backend.h"

#define SQLITE_STMT_CACHE 192 /* above the number of SQL texts (93) */

struct sqlite_stmt_slot {
	const char *sql; /* the SQL text pointer (a string literal) */
	sqlite3_stmt *stmt;
};

struct sqlite_conn {
	sqlite3 *db;
	int n; /* statements cached in stmts */
	struct sqlite_stmt_slot stmts[SQLITE_STMT_CACHE];
	struct sqlite_conn *next; /* in the pool's free list */
};

struct sqlite_job; /* sqlite_writer.c */

struct sqlite_store {
	struct store base; /* first: a struct store * is one of these */
	char *path;	   /* the database file (owned) */

	struct sqlite_conn writer; /* owned by the writer thread */
	pthread_t thread;	   /* the writer thread */
	bool thread_started;	   /* thread is to be joined at close */
	pthread_mutex_t lock;	   /* the queue, stopping, stats, finished */
	pthread_cond_t work;	   /* jobs queued or stopping */
	pthread_cond_t done;	   /* some waiting job finished */
	struct sqlite_job *head, *tail;	 /* jobs queued, oldest first */
	bool stopping;			 /* close: finish the queue and stop */
	struct store_writer_stats stats; /* since open, under lock */

	pthread_mutex_t pool_lock; /* pool */
	struct sqlite_conn *pool;  /* idle reader connections */
	uint64_t jobs_run;	   /* writer thread only: numbers jobs */
	int lock_fd; /* the flock'd PATH.lock (store_lock), or -1 */
};

#define S(store) ((struct sqlite_store *)(store))

/* ---- Connections and statements (sqlite_conn.c) ---- */

/* The store status of an SQLite result code (a primary one). */
int sqlite_status(int rc);
/* Opens c on path, read-write for the writer (WAL, synchronous=FULL,
 * foreign keys) or read-only; STORE_FAULT with a reason in err. */
int sqlite_conn_open(struct sqlite_conn *c, const char *path, bool writer,
		     char *err, size_t errlen);
/* Finalizes c's statements and closes it. */
void sqlite_conn_close(struct sqlite_conn *c);
/* The cached statement for sql on c, reset and unbound; NULL on error. */
sqlite3_stmt *sqlite_stmt(struct sqlite_conn *c, const char *sql);
/* Steps a write statement to completion (and resets it). */
int sqlite_exec_stmt(sqlite3_stmt *st);
/* The same for a write that must change a row of the job's transaction:
 * `none` (STORE_NOT_FOUND, STORE_CONFLICT) when it changed none. */
int sqlite_exec_changed(struct store_tx *tx, sqlite3_stmt *st, int none);
/* Runs sql (no statement cache) and logs a failure; an SQLite code. */
int sqlite_exec(sqlite3 *db, const char *sql);
/* UPDATE … SET column = ?1 WHERE id = ?2: STORE_NOT_FOUND when no row. */
int sqlite_update_text(struct store_tx *tx, const char *sql, uint64_t id,
		       const char *v);
/* store_read_begin and store_read_end: read sessions. */
void sqlite_read_begin(struct store *store);
void sqlite_read_end(struct store *store);

/* ---- Binding, columns, and a query's statement ---- */

/* Binding helpers: NULL for absent values.
 *
 * Values are bound SQLITE_STATIC, never SQLITE_TRANSIENT: a transient
 * bind copies the value, and when that allocation fails SQLite leaves the
 * parameter NULL and the statement still runs — a NOT NULL column then
 * reports a conflict, a nullable one silently stores NULL, and a lookup
 * finds nothing (found by failing the N-th allocation in
 * tests/unit/store). A static bind cannot fail so. It is safe here because
 * every statement is stepped and reset by the function that bound it,
 * while the caller's values live, and sqlite_stmt() clears the bindings
 * before a cached statement is used again. */
static inline void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static inline void bind_key(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, (sqlite3_int64)v);
	else
		sqlite3_bind_null(st, i);
}

static inline void bind_time(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static inline char *col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

static inline void col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* A write: the statement st on the job's connection, or a return of
 * STORE_FAULT. */
#define WRITER_STMT(tx, sql)                                                   \
	sqlite3_stmt *st = sqlite_stmt(sqlite_tx_conn(tx), sql);               \
	if (st == NULL)                                                        \
		return STORE_FAULT;

/* Emptied and purged messages lose their content but keep their row:
 * cap windows are rebuilt from deliveries, and a delivery must keep
 * counting for as long as a window can reach back to it. */
#define SQL_REMOVE                                                             \
	"UPDATE attempts SET removed = 1, folder = NULL, subject = NULL, "     \
	"body = NULL, headers = NULL, sender = NULL, topic = NULL "

/* ---- Reads: one helper steps every read statement ---- */

/* Reads the current row's columns into out: STORE_OK, or STORE_FAULT
 * with nothing left allocated in out. */
typedef int (*sqlite_row_fn)(sqlite3_stmt *st, void *out);

/* A read under way: a statement on a connection of rd. */
struct sqlite_select {
	struct store_rd *rd;	  /* where the read goes */
	struct sqlite_conn *conn; /* the connection it took from rd */
	sqlite3_stmt *st;	  /* the statement, bound by the caller */
	int status;		  /* STORE_FAULT once a step or a row failed */
	bool done;		  /* stepped past the last row */
};

/* Starts a read of sql through rd. Returns the statement for the caller
 * to bind, or NULL (a fault; there is then nothing to end). The caller's
 * bound values must live until the read ends (see bind_text). */
sqlite3_stmt *sqlite_select(struct sqlite_select *q, struct store_rd *rd,
			    const char *sql);
/* Steps to the next row and hands it to row (when not NULL: a caller
 * that passes NULL reads q->st's columns itself). True with a row;
 * false at the end, or on a fault, which sqlite_select_end then returns.
 * Whatever row put in out is the caller's. */
bool sqlite_select_next(struct sqlite_select *q, sqlite_row_fn row, void *out);
/* Ends the read (the statement is reset, the connection given back):
 * STORE_OK, or STORE_FAULT when a step or a row failed. */
int sqlite_select_end(struct sqlite_select *q);
/* The first row into out through row, and the end of the read: STORE_OK,
 * STORE_NOT_FOUND, or STORE_FAULT. */
int sqlite_select_one(struct sqlite_select *q, sqlite_row_fn row, void *out);
/* sqlite_select_one of sql with one parameter, the key: id, or text when
 * not NULL. */
int sqlite_select_key(struct store_rd *rd, const char *sql, uint64_t id,
		      const char *text, sqlite_row_fn row, void *out);
/* Rows of one column: a key (out: uint64_t *), an integer (int64_t *),
 * a text copied (char **: a new string; a NULL column is a fault). */
int sqlite_row_key(sqlite3_stmt *st, void *out);
int sqlite_row_int(sqlite3_stmt *st, void *out);
int sqlite_row_text(sqlite3_stmt *st, void *out);

/* A copy of a blob or text column (NUL-terminated too); NULL when NULL
 * (sqlite_attempt.c). */
char *col_blobdup(sqlite3_stmt *st, int i, size_t *len);

/* ---- Replies (sqlite_reply.c) ---- */
int sqlite_reply_insert(struct store_tx *tx, const struct store_reply *r);
int sqlite_reply_get(struct store_rd *rd, uint64_t id, struct store_reply *out);
int sqlite_reply_list(struct store_rd *rd, uint64_t person, uint64_t answers,
		      uint64_t before, int limit, store_reply_cb cb, void *arg);
int sqlite_reply_settle(struct store_tx *tx, uint64_t id, int state,
			int64_t at);

/* ---- The writer (sqlite_writer.c), migrations, open and close ---- */

/* The writer's connection, which a job's transaction is on. */
struct sqlite_conn *sqlite_tx_conn(struct store_tx *tx);
/* The writer thread's body (arg: the struct sqlite_store); it runs until
 * stopping is set and the queue is empty. */
void *sqlite_writer_main(void *arg);
int sqlite_write(struct store *store, store_job_fn fn, void *arg,
		 store_done_fn done, bool wait, bool alone);
int sqlite_tx_hook(struct store_tx *base, bool commit, store_hook_fn fn,
		   void *arg);
void sqlite_tx_checkpoint(struct store_tx *base);
void sqlite_writer_stats(struct store *store, struct store_writer_stats *out);
int sqlite_migrate(struct store *store, int *applied, int *version);
int sqlite_open(const char *rest, struct store **out, char *err, size_t errlen);
void sqlite_close(struct store *store);

/* ---- Keys, the server's lock, file modes (sqlite_keys.c) ---- */

int sqlite_key_facts(struct store_rd *rd, struct store_key_facts *out);
int sqlite_key_id_add(struct store_tx *tx, const char *kind, const char *id,
		      int64_t at);
int sqlite_lock(struct store *store, char *err, size_t errlen);
/* Makes path (when missing) and its WAL and shared memory (when there)
 * mode 0600 before SQLite opens it: STORE_FAULT with a reason in err. */
int sqlite_file_private(const char *path, char *err, size_t errlen);

/* ---- Persons (sqlite_person.c) ---- */

int sqlite_person_insert(struct store_tx *tx, const struct store_person *p);
int sqlite_person_get(struct store_rd *rd, uint64_t id, const char *handle,
		      struct store_person *out);
int sqlite_person_list(struct store_rd *rd, uint64_t after, int limit,
		       store_person_cb cb, void *arg);
int sqlite_person_set(struct store_tx *tx, uint64_t id,
		      enum store_person_field field, const char *value);
int sqlite_person_profile(struct store_rd *rd, uint64_t id, uint8_t *data_key,
			  size_t *data_key_len, char **profile);
int sqlite_person_erase(struct store_tx *tx, uint64_t person,
			const char *handle_tombstone,
			const char *const *aliases,
			const char *const *tombstones, size_t n,
			const char *default_global_terms, int64_t at);
int sqlite_person_bounce(struct store_tx *tx, uint64_t id, int64_t at);

/* ---- Tokens and connect codes (sqlite_token.c) ---- */

int sqlite_token_insert(struct store_tx *tx, const struct store_token *t);
int sqlite_token_by_id(struct store_rd *rd, uint64_t id, struct store_token *t);
int sqlite_token_revoke(struct store_tx *tx, uint64_t person, uint64_t id,
			bool others, int64_t at);
int sqlite_token_touch(struct store_tx *tx, uint64_t id, int64_t at);
int sqlite_token_list(struct store_rd *rd, uint64_t person, int64_t now,
		      store_token_cb cb, void *arg);
int sqlite_code_insert(struct store_tx *tx, const uint8_t *hash,
		       uint64_t person, int64_t expires_at);
int sqlite_code_use(struct store_tx *tx, const uint8_t *hash, int64_t now,
		    uint64_t *person);

/* ---- Brands (sqlite_brand.c) ---- */

int sqlite_brand_insert(struct store_tx *tx, const struct store_brand *b);
int sqlite_brand_get(struct store_rd *rd, uint64_t id, const char *name,
		     struct store_brand *out);
int sqlite_brand_list(struct store_rd *rd, uint64_t after, int limit,
		      store_brand_cb cb, void *arg);
int sqlite_brand_set_key(struct store_tx *tx, uint64_t id,
			 const uint8_t *key_hash, int64_t at);
int sqlite_brand_key_hash(struct store_rd *rd, uint64_t id, uint8_t *hash);
int sqlite_brand_by_domain(struct store_rd *rd, const char *domain,
			   uint64_t *brand);

/* ---- Proposals (sqlite_proposal.c) ---- */

int sqlite_proposal_insert(struct store_tx *tx, const struct store_proposal *p);
int sqlite_proposal_by_id(struct store_rd *rd, uint64_t id,
			  struct store_proposal *p);
int sqlite_proposal_decide(struct store_tx *tx, uint64_t id, const char *state,
			   uint64_t relationship, int64_t at);
int sqlite_proposal_open(struct store_rd *rd, uint64_t person, uint64_t brand,
			 int64_t now, int *open);
int sqlite_proposal_list_person(struct store_rd *rd, uint64_t person,
				uint64_t after, int limit, store_proposal_cb cb,
				void *arg);

/* ---- Relationships (sqlite_relationship.c) ---- */

int sqlite_relationship_insert(struct store_tx *tx,
			       const struct store_relationship *r);
int sqlite_relationship_get(struct store_rd *rd, uint64_t id, const char *alias,
			    struct store_relationship *out);
int sqlite_relationship_list(struct store_rd *rd,
			     const struct store_relationship_filter *f,
			     store_relationship_cb cb, void *arg);
int sqlite_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
				   uint64_t after, int limit, store_key_cb cb,
				   void *arg);
int sqlite_relationship_set_state(struct store_tx *tx, uint64_t id, int state,
				  int64_t at);
int sqlite_relationship_set_terms(struct store_tx *tx,
				  const struct store_relationship *r,
				  int64_t at);
int sqlite_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
					const char *uri);
int sqlite_field_read(struct store_tx *tx, uint64_t relationship,
		      uint64_t person, int64_t day, int64_t n, bool *first);
int sqlite_expiring(struct store_rd *rd, const char *now, const char *until,
		    store_expiring_cb cb, void *arg);
int sqlite_notice_insert(struct store_tx *tx, uint64_t relationship,
			 const char *kind, const char *about, uint64_t person,
			 int64_t at);

/* ---- Attempts (sqlite_attempt.c) ---- */

int sqlite_attempt_insert(struct store_tx *tx, const struct store_attempt *a);
int sqlite_attempt_dup(struct store_rd *rd, uint64_t relationship,
		       const uint8_t *dedup, bool *found);
int sqlite_held_count(struct store_rd *rd, uint64_t relationship,
		      uint32_t *out);
int sqlite_delivery_list(struct store_rd *rd, uint64_t relationship,
			 uint64_t person, int64_t since, store_delivery_cb cb,
			 void *arg);
int sqlite_attempt_update(struct store_tx *tx, uint64_t person, uint64_t id,
			  int read, int folder);
int sqlite_folder_empty(struct store_tx *tx, uint64_t person, int folder,
			int64_t *n);
int sqlite_attempt_remove(struct store_tx *tx, uint64_t person, uint64_t id);
int sqlite_attempt_plain(struct store_rd *rd, int limit, store_content_cb cb,
			 void *arg);
int sqlite_attempt_seal(struct store_tx *tx,
			const struct store_attempt_content *c);
int sqlite_message_get(struct store_rd *rd, uint64_t id,
		       struct store_message *m);
int sqlite_held_due(struct store_rd *rd, int64_t now, int limit,
		    store_held_cb cb, void *arg);
int sqlite_attempt_redecide(struct store_tx *tx, uint64_t id, int decision,
			    int reason, int folder, int64_t deliver_at,
			    int64_t decided_at, bool exempt, int64_t now);
int sqlite_held_due_now(struct store_tx *tx, uint64_t person, uint64_t rel,
			int64_t now, int64_t *n);
int sqlite_attempt_discard(struct store_tx *tx, uint64_t id, int reason);
int sqlite_attempt_of_brand(struct store_rd *rd, uint64_t id,
			    struct store_brand_attempt *out);
/* What a brand reads of its attempts; rows 1–2's records (an unknown
 * alias, mail from someone else) are the person's alone. */
#define SQL_BRAND_ATTEMPT                                                      \
	"SELECT id, relationship, brand, campaign, decision, reason, "         \
	"refused_at, received_at FROM attempts "
/* A row of SQL_BRAND_ATTEMPT into a struct store_brand_attempt. */
int sqlite_brand_attempt_row(sqlite3_stmt *st, void *out);
int sqlite_attempt_list(struct store_rd *rd,
			const struct store_attempt_filter *f,
			store_attempt_cb cb, void *arg);

/* ---- The purge (sqlite_purge.c) ---- */

int sqlite_purge(struct store_tx *tx, struct store_purge *p);

/* ---- The outbox (sqlite_outbox.c) ---- */

int sqlite_outbox_add(struct store_tx *tx, const struct store_outbox *o);
int sqlite_outbox_due(struct store_rd *rd, int64_t now, bool local, int limit,
		      store_outbox_cb cb, void *arg);
int sqlite_outbox_settle(struct store_tx *tx, uint64_t id, int tries,
			 int64_t next_at, const char *error);
int sqlite_outbox_count(struct store_rd *rd, uint64_t person, int64_t *pending,
			int64_t *failing, char *last_error, size_t size);

/* ---- Idempotency-Keys (sqlite_idem.c) ---- */

int sqlite_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		    struct store_idem *out);
int sqlite_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
		    const struct store_idem *v);
int sqlite_idem_finish(struct store_tx *tx, uint64_t brand, const char *key,
		       int status, const char *response);

/* ---- Campaigns (sqlite_campaign.c) ---- */

int sqlite_campaign_insert(struct store_tx *tx, const struct store_campaign *c);
int sqlite_campaign_count(struct store_tx *tx, uint64_t id, int64_t total,
			  int64_t accepted);
int sqlite_campaign_get(struct store_rd *rd, uint64_t id,
			struct store_campaign_row *out);
int sqlite_campaign_refusals(struct store_rd *rd, uint64_t campaign,
			     store_refusal_cb cb, void *arg);
int sqlite_campaign_recipients(struct store_rd *rd, uint64_t campaign,
			       int state, int64_t since, uint64_t after,
			       int limit, store_brand_attempt_cb cb, void *arg);

/* ---- The ledger (sqlite_ledger.c) ---- */

int sqlite_ledger_append(struct store_tx *tx,
			 const struct store_ledger_entry *e);
int sqlite_ledger_head(struct store_rd *rd, uint64_t person,
		       struct store_ledger_entry *out);
int sqlite_ledger_list(struct store_rd *rd, uint64_t person, int64_t after,
		       int limit, store_ledger_cb cb, void *arg);
int sqlite_ledger_head_save(struct store_tx *tx, uint64_t person, int64_t seq,
			    const uint8_t *hash, const char *note, int64_t at);
int sqlite_ledger_signed_head(struct store_rd *rd, uint64_t person,
			      char **note);

#endif
