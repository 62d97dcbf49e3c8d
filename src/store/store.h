/*
 * store.h — the one storage interface of cmr, whatever the backend.
 *
 * A store is opened from a URL (`sqlite:PATH`; `postgresql://…` in a later
 * wave), which picks a backend: a struct of functions (struct store_ops),
 * as OpenSMTPD's queue backends are chosen by name. Callers use the
 * store_* wrappers below and never see SQL.
 *
 * Writes go through the writer: store_write() hands a job to the one
 * writer thread, which runs every job that has queued up in one
 * transaction, each job in its own savepoint so that one failure does not
 * sink the others, commits once (group commit) and only then reports
 * success. A job may register hooks that run after the commit (to apply
 * in-memory state, such as cap windows) or after its rollback (to undo
 * what it changed in memory). Reads go through a struct store_rd: the
 * reader connections (store_reads), usable from any thread, or a job's
 * own transaction (store_tx_reads), which a job must use.
 *
 * Keys are compact 64-bit integers; API ids (core/id.h) encode them.
 * Status codes: every function returns enum store_status.
 */
#ifndef CMR_STORE_STORE_H
#define CMR_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1, /* no such row */
	STORE_CONFLICT = 2,  /* a uniqueness rule refused the write */
	STORE_INVALID = 3, /* the job refused its own input; nothing written */
	STORE_FAULT = -1,  /* an I/O or resource fault; nothing written */
	/* Another server holds what the job needs: the writer runs the job
	 * again (a job never returns it; store_person_guard may). */
	STORE_RETRY = 4,
};

struct store;
struct store_tx;
struct store_rd; /* where a read goes: see store_reads() */

#define STORE_HANDLE_MAX 32
#define STORE_NAME_MAX	 128

struct store_person {
	uint64_t id;
	char handle[STORE_HANDLE_MAX + 1];
	char password_hash[160]; /* argon2id encoded string */
	uint8_t data_key[96];	 /* wrapped per-person data key */
	size_t data_key_len;	 /* 0 once erased */
	char *profile;		 /* sealed JSON, or NULL (owned) */
	char *global_terms;	 /* canonical JSON (owned) */
	char *folders;		 /* JSON array of own folder names (owned) */
	char *delivery;		 /* canonical JSON of delivery settings */
	int64_t created_at;
	int64_t erased_at; /* 0 unless erased */
};

struct store_brand {
	uint64_t id;
	char name[STORE_NAME_MAX + 1];
	uint8_t key_hash[32]; /* BLAKE2b-256 of the API key */
	char *controller;     /* JSON object (owned) */
	char *domains;	      /* JSON array of domains (owned; reads) */
	int64_t created_at;
	int64_t key_rotated_at;
};

struct store_proposal {
	uint64_t id;
	uint64_t person;
	uint64_t brand;
	char state[12]; /* pending, accepted, declined, expired */
	char *value;	/* owned */
	char *ask;	/* JSON (owned) */
	int64_t created_at;
	int64_t expires_at;
	int64_t decided_at;
	uint64_t relationship; /* 0 until accepted */
};

struct store_relationship {
	uint64_t id;
	uint64_t person;
	uint64_t brand;	   /* 0: made by the person, for a brand not on cmr */
	uint64_t proposal; /* 0: made by the person */
	int state;	   /* enum rel_state */
	char alias[160];
	char *terms; /* canonical JSON (owned) */
	int terms_version;
	char *topics; /* JSON array: topic table (owned) */
	int64_t created_at;
	int64_t ended_at;
	char *unsubscribe; /* RFC 8058 URI, or NULL (owned) */
	bool person_made;  /* made by the person (stays after a take-over) */
	char *brand_name;  /* person-made: the name they gave (owned), or NULL;
			      stored sealed */
	char *domains;	   /* person-made: JSON array of mail domains (owned);
			      stored sealed */
};

struct store_attempt {
	uint64_t id; /* time-ordered */
	uint64_t person;
	uint64_t relationship; /* 0: none (unknown alias) */
	uint64_t brand;	       /* 0: none */
	uint64_t campaign;     /* 0: none */
	int channel;
	const char *topic;  /* may be NULL (borrowed) */
	int decision;	    /* enum gate_outcome */
	int reason;	    /* enum gate_reason */
	int folder;	    /* -1: none */
	int64_t deliver_at; /* 0: none */
	int64_t decided_at; /* delivered: when (counts in windows) */
	bool exempt;	    /* delivered under exempt_cap */
	int64_t received_at;
	const void *sender; /* borrowed; may be NULL */
	bool sender_verified;
	const void *subject;  /* borrowed; may be NULL */
	const uint8_t *dedup; /* mail: 16 bytes, or NULL (borrowed) */
	const void *headers;  /* borrowed */
	size_t headers_len;
	const void *body; /* borrowed; NULL for refused attempts */
	size_t body_len;
	bool sealed; /* sender, subject, headers and body are sealed bytes
			(keys_seal_bytes) of the lengths given, dedup a
			keyed hash; false: sender and subject are C strings
			(what a store made before 004_sealed held) */
	size_t sender_len, subject_len; /* when sealed */
};

struct store_ledger_entry {
	uint64_t person;
	int64_t seq;
	int64_t at_ms;
	char actor[16];
	char type[32];
	char relationship[32]; /* API id or "" for null */
	char *data;	       /* JSON object as hashed (owned) */
	uint8_t prev[32];
	uint8_t hash[32];
};

/* Release what a record owns (its char * members) and zero them. */
void store_person_clear(struct store_person *p);
void store_brand_clear(struct store_brand *b);
void store_proposal_clear(struct store_proposal *p);
void store_relationship_clear(struct store_relationship *r);
void store_ledger_entry_clear(struct store_ledger_entry *e);

/* A page of a list: the callback sees each row (borrowed for the call) and
 * returns 0 to go on, non-zero to stop. */
typedef int (*store_person_cb)(const struct store_person *p, void *arg);
typedef int (*store_brand_cb)(const struct store_brand *b, void *arg);
typedef int (*store_ledger_cb)(const struct store_ledger_entry *e, void *arg);
typedef int (*store_relationship_cb)(const struct store_relationship *r,
				     void *arg);

/* ---- Opening, migrating, closing ---- */

/* Opens the store named by url. Returns STORE_OK and *out, or an error
 * with a one-line reason in err (unknown scheme, cannot open, …). Opening
 * does not migrate. */
int store_open(const char *url, struct store **out, char *err, size_t errlen);
/* store_open, naming the store's connections `client` where a server
 * shows them (PostgreSQL's application_name: "cmr serve 127.0.0.1:8025",
 * "cmr person list"); NULL: "cmr". */
int store_open_as(const char *url, const char *client, struct store **out,
		  char *err, size_t errlen);

/* Applies the numbered migrations not yet applied, each in its own
 * transaction. *applied (may be NULL) receives how many ran, and *version
 * (may be NULL) the schema version after. STORE_INVALID when the store
 * refuses its user the schema (PostgreSQL: the role may not create
 * tables; it must own the database), STORE_FAULT otherwise. */
int store_migrate(struct store *s, int *applied, int *version);

/* Stops the writer (after finishing queued jobs) and closes everything. */
void store_close(struct store *s);

/* ---- Personal values the store must find or show ----
 *
 * An alias (of a relationship, or a person's own address) and a handle
 * are personal, yet the store must look them up (intake, login) and keep
 * them unique. It holds each only as (a) a keyed hash, which lookups and
 * uniqueness use, and (b) sealed with the person's data key, where a view
 * shows it. The person's own folder names are sealed too: their list
 * (persons.folders) whole, and inside terms (relationships.terms,
 * terms_versions.terms: `folder`, `topic_folders`) each name, so that
 * the SQL still reads the rest of the terms (expires_at); erasure drops the
 * data key and the hashes' owner, and what stays in a backend's old row
 * versions, indexes and log (PostgreSQL's dead tuples and pg_wal) can no longer
 * be read or tested against a guess without the KEK. The app gives the store
 * the functions (app/sealed.c over ledger/keys.h); the SQL calls them as it
 * binds and reads. */
#define STORE_HASH_HEX 64 /* hex digits of a keyed hash */
struct store_codec {
	void *arg; /* the functions' first argument (borrowed) */
	/* The keyed hash of value, of a kind ("alias": folded to lower
	 * case first; "login"): lowercase hex and a NUL in out. 0, or -1. */
	int (*hash)(void *arg, const char *kind, const char *value,
		    char out[STORE_HASH_HEX + 1]);
	/* value sealed with the data key that `wrapped` (len bytes, as
	 * persons.data_key holds it) wraps: *out a new string (free()).
	 * 0, or -1 (*out NULL). */
	int (*seal)(void *arg, const void *wrapped, size_t len,
		    const char *value, char **out);
	/* What seal made, opened: *out a new string (zero it, then
	 * free()). 0, or -1 (*out NULL: no key, another key). */
	int (*open)(void *arg, const void *wrapped, size_t len,
		    const char *sealed, char **out);
	/* Terms (canonical JSON, as relationships.terms holds them) with
	 * the person's own folder names in them sealed, and back: *out a
	 * new string (free()). Terms that name only built-in folders are
	 * the same text both ways. 0, or -1 (*out NULL). */
	int (*seal_terms)(void *arg, const void *wrapped, size_t len,
			  const char *terms, char **out);
	int (*open_terms)(void *arg, const void *wrapped, size_t len,
			  const char *terms, char **out);
};

/* Sets the codec every later statement uses (once, before the store is
 * read or written; c is borrowed and must outlive the store). Without
 * one — a store that no keys open, as in the store's own unit tests —
 * values are kept as given: the hash of a value is the value, and it is
 * sealed as itself. */
void store_set_codec(struct store *s, const struct store_codec *c);

/* Rewrites, within the job's transaction, up to `limit` rows that a store
 * made before the codec kept in clear (aliases, own addresses, handles,
 * folder names, person-made brands' names and domains, blocked domains,
 * token names) into their hashed and sealed forms. *n gets how many it
 * rewrote (fewer than limit: none are left). STORE_OK, or an error. */
int store_seal_clear(struct store_tx *tx, int limit, int64_t *n);

/* ---- The writer ---- */

typedef int (*store_job_fn)(struct store_tx *tx, void *arg);
typedef void (*store_hook_fn)(void *arg);
typedef void (*store_done_fn)(void *arg, int status);

/* Runs fn(tx, arg) in the writer and waits until its transaction is
 * durable (STORE_OK) or has failed (fn's own status, or STORE_FAULT when
 * the commit failed). A job returning non-zero is rolled back alone. */
int store_write(struct store *s, store_job_fn fn, void *arg);

/* As store_write, and the batch is committed right after this job: for
 * jobs that change what later jobs decide on (terms, state, erasure),
 * whose commit hooks must run before the next job of the queue does. */
int store_write_alone(struct store *s, store_job_fn fn, void *arg);

/* store_write_async with store_write_alone's batch rule when alone. */
int store_write_async_ex(struct store *s, store_job_fn fn, void *arg,
			 store_done_fn done, bool alone);

/* As store_write but returns at once; done(arg, status) runs on the
 * writer thread after the commit (or the failure). */
int store_write_async(struct store *s, store_job_fn fn, void *arg,
		      store_done_fn done);

/* Hooks of the current job: on_commit runs after the batch is durable,
 * on_rollback when this job (or its whole batch) is rolled back; both on
 * the writer thread, in reverse order of registration for rollbacks.
 * STORE_FAULT when out of memory (the job should then fail). */
int store_tx_on_commit(struct store_tx *tx, store_hook_fn fn, void *arg);
int store_tx_on_rollback(struct store_tx *tx, store_hook_fn fn, void *arg);

/* A number that differs between any two jobs run by the writer: lets a
 * job's callees register their hooks once per job. */
uint64_t store_tx_job(const struct store_tx *tx);

/* Asks the writer to fold the WAL into the database and truncate it once
 * this job's batch is durable (erasure: no old page may survive). */
void store_tx_checkpoint(struct store_tx *tx);

/* Where reads go. store_reads(s): the reader connections, which see what
 * has been committed, from any thread. store_tx_reads(tx): the writer
 * job's own transaction, which also sees what earlier jobs of the same
 * batch wrote — the only reads a job may make, since a read of committed
 * data would be stale there (and a read-modify-write would lose the
 * batch's earlier writes). Both are valid as long as the store (or the
 * job) is. */
struct store_rd *store_reads(struct store *s);
struct store_rd *store_tx_reads(struct store_tx *tx);

/* ---- Several servers on one store ---- */

/* Guards the person's data for the rest of the job's transaction against
 * the other servers sharing the store: their row is locked (a server
 * whose transaction holds it is waited for, or the job is run again
 * later in a batch of its own: see docs/ARCHITECTURE.md) and its version
 * moved. *version (may be NULL) gets the new version: a server that
 * caches what it read of the person holds the version it saw, and knows
 * that another changed them when the next guard is not that plus one.
 * `notify`: the other servers are told at commit (store_listen) that
 * what they cached of the person is stale. A store that one server
 * alone writes (SQLite) keeps no versions: *version is 0. */
int store_person_guard(struct store_tx *tx, uint64_t person, bool notify,
		       int64_t *version);

/* store_person_guard (without `notify`) of many persons at once, a
 * campaign's chunk: cb(arg, person, version) for each person guarded (one
 * not in the store is left out; a non-zero return stops and fails with
 * STORE_FAULT). On PostgreSQL one statement, which locks the rows in key
 * order and waits as store_person_guard does (or fails with STORE_RETRY
 * when another server holds one); elsewhere store_person_guard of each. */
typedef int (*store_guard_cb)(void *arg, uint64_t person, int64_t version);
int store_person_guard_many(struct store_tx *tx, const uint64_t *persons,
			    size_t n, store_guard_cb cb, void *arg);

/* Calls fn(arg, person) on a thread of the store's, whenever another
 * server's committed job guarded the person with `notify` (person 0:
 * the notices may have been missed — a lost connection — and anything
 * cached may be stale). The same thread keeps the store's lock taken
 * with STORE_LOCK_SERVE: should it be lost with its connection, it is
 * taken again, then relocked(arg) is called (may be NULL), for the
 * server to check that what it loaded under the lock still holds (a
 * `cmr keys rotate` may have run in between): again every second until
 * it returns true (it could check). Once per store; a store
 * that one server alone writes never calls them. STORE_OK, or
 * STORE_FAULT. */
typedef void (*store_notify_fn)(void *arg, uint64_t person);
int store_listen(struct store *s, store_notify_fn fn, bool (*relocked)(void *),
		 void *arg);

/* Lock-outs (app/throttle.c) that several servers share: where they share
 * the store (PostgreSQL) the counts are kept in it, by a keyed hash of
 * their key (no handle or address is stored), so that guesses spread
 * over the servers count as at one; a store one server writes (SQLite)
 * answers STORE_INVALID to each, and the server counts in memory. Each
 * is a statement of its own, outside the writer. wait: the seconds key
 * is still locked out at `now` (0: it may try). fail: counts a failure,
 * afresh once `window` seconds passed and no lock-out holds; *failures
 * the count. lock: locked out until `until`. reset: forgotten. */
bool store_shared(struct store *s); /* several servers may write it */
int store_throttle_wait(struct store *s, const char *key, int64_t now,
			int64_t *wait);
int store_throttle_fail(struct store *s, const char *key, int64_t now,
			int64_t window, int64_t *failures);
int store_throttle_lock(struct store *s, const char *key, int64_t until);
int store_throttle_reset(struct store *s, const char *key);

/* Writer statistics since open (for /metrics and benchmarks). */
struct store_writer_stats {
	uint64_t batches;
	uint64_t jobs;
	uint64_t commit_ns_total;
	uint64_t max_batch;
	bool failing;	     /* the last batch could not commit (readiness) */
	uint64_t statements; /* sent to the server by the writer: its round
				trips (PostgreSQL; 0 for SQLite, in process) */
};
void store_writer_stats(struct store *s, struct store_writer_stats *out);

/* Since when (Unix ms) the store's server cannot be reached: the last
 * connect any of its connections tried failed, and none has worked since
 * (PostgreSQL; readiness). 0 while it answers, and always for a store
 * with no server (SQLite). No I/O. */
int64_t store_unreachable_since(struct store *s);

/* ---- Read sessions ---- */

/* Until store_read_end on the same thread, this thread's reads share one
 * connection and one snapshot (a request's reads see one state, and pay
 * for one read transaction). Sessions do not nest; writes are not
 * affected. Best effort: without a free connection reads go on as
 * usual. Inside a session, a list's callback may read, but not with the
 * very list function it is called from (they would share a statement). */
void store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* ---- Persons ---- */

int store_person_insert(struct store_tx *tx, const struct store_person *p);
/* Many rows at once, each as its store_X_insert would: STORE_OK, or the
 * first failure (the job must then fail: rows before it may be written).
 * Where a statement is a round trip (PostgreSQL) the rows go in a command
 * or two (COPY), not one each; the set-ups of `cmr bench` and the demo,
 * and a campaign's attempts. An attempt's clear (not sealed) text goes
 * alone. */
int store_person_insert_many(struct store_tx *tx, const struct store_person *p,
			     size_t n);
int store_proposal_insert_many(struct store_tx *tx,
			       const struct store_proposal *p, size_t n);
int store_relationship_insert_many(struct store_tx *tx,
				   const struct store_relationship *r,
				   size_t n);
int store_attempt_insert_many(struct store_tx *tx,
			      const struct store_attempt *a, size_t n);
/* The person with key id, or with handle when handle is not NULL
 * (case-sensitive; handles are stored lower case). */
int store_person_get(struct store_rd *rd, uint64_t id, const char *handle,
		     struct store_person *out);
/* Only a person's wrapped data key and sealed profile (what reading
 * their fields needs); *profile is a new string or NULL. */
int store_person_profile(struct store_rd *rd, uint64_t id, uint8_t *data_key,
			 size_t *data_key_len, char **profile);
/* Persons with id > after, in id order, at most limit. */
int store_person_list(struct store_rd *rd, uint64_t after, int limit,
		      store_person_cb cb, void *arg);
/* The fields of a person that store_person_set replaces (their values
 * as in struct store_person). */
enum store_person_field {
	STORE_PERSON_PROFILE = 0,      /* sealed JSON, or NULL */
	STORE_PERSON_GLOBAL_TERMS = 1, /* canonical JSON */
	STORE_PERSON_FOLDERS = 2,      /* JSON array of own folder names */
	STORE_PERSON_PASSWORD = 3,     /* argon2id encoded string */
	STORE_PERSON_DELIVERY = 4,     /* canonical JSON of delivery settings */
};
/* Replaces one field of a person's row: STORE_NOT_FOUND when there is
 * no such person, STORE_INVALID for a field not named above. */
int store_person_set(struct store_tx *tx, uint64_t id,
		     enum store_person_field field, const char *value);

/* ---- Tokens and sessions ---- */

struct store_token {
	uint64_t id;
	uint64_t person;
	char kind[8]; /* "token" or "session" */
	uint8_t secret_hash[32];
	int64_t created_at;
	int64_t expires_at;
	int64_t last_used_at;
	int64_t revoked_at; /* 0 unless revoked */
	char scope[16];	    /* "" (any route), or "aliases" (alias tokens:
			       the alias-creation routes only) */
	char name[256];	    /* the person's label for it, or ""; stored
			       sealed */
};

int store_token_insert(struct store_tx *tx, const struct store_token *t);
int store_token_by_id(struct store_rd *rd, uint64_t id,
		      struct store_token *out);
/* Revokes the person's credential id (STORE_NOT_FOUND when it is not
 * theirs or already revoked), or, with `others`, every credential of
 * theirs but id (0: all of them). */
int store_token_revoke(struct store_tx *tx, uint64_t person, uint64_t id,
		       bool others, int64_t at);
int store_token_touch(struct store_tx *tx, uint64_t id, int64_t at);
/* The person's credentials neither revoked nor past expires_at at `now`,
 * newest first, each passed to cb (which stops the list by returning
 * non-zero); the row is borrowed for the call. Sessions idle too long are
 * listed too: their idle rule is app/session.c's. */
typedef int (*store_token_cb)(const struct store_token *t, void *arg);
int store_token_list(struct store_rd *rd, uint64_t person, int64_t now,
		     store_token_cb cb, void *arg);

/* ---- Brands ---- */

/* Inserts the brand and its domains (b->domains: JSON array). */
int store_brand_insert(struct store_tx *tx, const struct store_brand *b);
/* The brand with key id, or with name when name is not NULL. */
int store_brand_get(struct store_rd *rd, uint64_t id, const char *name,
		    struct store_brand *out);
int store_brand_list(struct store_rd *rd, uint64_t after, int limit,
		     store_brand_cb cb, void *arg);
int store_brand_set_key(struct store_tx *tx, uint64_t id,
			const uint8_t key_hash[32], int64_t at);
/* Only the key hash of a brand (what authenticating a request needs). */
int store_brand_key_hash(struct store_rd *rd, uint64_t id, uint8_t hash[32]);

/* The brand that owns domain (lower case, exact), or STORE_NOT_FOUND. */
int store_brand_by_domain(struct store_rd *rd, const char *domain,
			  uint64_t *brand);

/* ---- Connect codes ---- */

int store_code_insert(struct store_tx *tx, const uint8_t hash[32],
		      uint64_t person, int64_t expires_at);
/* Uses a code once: STORE_OK and *person when it is unused and not
 * expired at `now` (it is then used), STORE_NOT_FOUND otherwise. */
int store_code_use(struct store_tx *tx, const uint8_t hash[32], int64_t now,
		   uint64_t *person);

/* ---- Proposals and relationships ---- */

int store_proposal_insert(struct store_tx *tx, const struct store_proposal *p);
int store_proposal_by_id(struct store_rd *rd, uint64_t id,
			 struct store_proposal *out);
typedef int (*store_proposal_cb)(const struct store_proposal *p, void *arg);
/* A person's proposals with id > after, in id order. */
int store_proposal_list_person(struct store_rd *rd, uint64_t person,
			       uint64_t after, int limit, store_proposal_cb cb,
			       void *arg);
/* What ties a brand to a person already, in *open: STORE_OPEN_RELATIONSHIP
 * (a relationship that has not ended), else STORE_OPEN_PROPOSAL (a
 * proposal still pending at `now`), else 0. */
enum { STORE_OPEN_RELATIONSHIP = 1, STORE_OPEN_PROPOSAL = 2 };
int store_proposal_open(struct store_rd *rd, uint64_t person, uint64_t brand,
			int64_t now, int *open);
/* Sets state (and relationship, decided_at) of a pending proposal;
 * STORE_CONFLICT when it is no longer pending. */
int store_proposal_decide(struct store_tx *tx, uint64_t id, const char *state,
			  uint64_t relationship, int64_t at);

/* Inserts the relationship, its alias into the directory and its terms as
 * version 1. STORE_CONFLICT when the person already has a relationship
 * with the brand that has not ended, or the alias was ever issued. */
int store_relationship_insert(struct store_tx *tx,
			      const struct store_relationship *r);
/* The relationship with key id, or with alias when alias is not NULL
 * (after erasure, its alias is the tombstone). */
int store_relationship_get(struct store_rd *rd, uint64_t id, const char *alias,
			   struct store_relationship *out);
/* Sets the state (enum rel_state); ended_at is set when it is 2.
 * STORE_CONFLICT when the relationship has ended already. */
int store_relationship_set_state(struct store_tx *tx, uint64_t id, int state,
				 int64_t at);
/* Replaces the terms (and topic table) as the next version, keeping
 * every version in terms_versions. STORE_CONFLICT once ended. */
int store_relationship_set_terms(struct store_tx *tx,
				 const struct store_relationship *r,
				 int64_t at);
/* A brand that joined cmr takes over the person-made relationship id of
 * person: the row gets the brand and the proposal it was accepted from;
 * alias, history and made_by stay (the terms change through
 * store_relationship_set_terms in the same job). STORE_CONFLICT when it
 * is not that person's, was taken over already, has ended, or the person
 * has another relationship with the brand that has not ended. */
int store_relationship_take_over(struct store_tx *tx, uint64_t id,
				 uint64_t person, uint64_t brand,
				 uint64_t proposal);
/* Which relationships store_relationship_list walks, in id order: those
 * that match every filter set. */
struct store_relationship_filter {
	uint64_t person; /* a person's (0: anyone's) */
	uint64_t brand;	 /* a brand's (0: any brand's) */
	bool open;	 /* only those not ended */
	uint64_t after;	 /* ids > after */
	int limit;	 /* at most this many */
};
int store_relationship_list(struct store_rd *rd,
			    const struct store_relationship_filter *f,
			    store_relationship_cb cb, void *arg);

/* Counts n of a brand's reads of a relationship's fields on `day` (days
 * since 1970, UTC); *first is true when they include the day's first. */
int store_field_read(struct store_tx *tx, uint64_t relationship,
		     uint64_t person, int64_t day, int64_t n, bool *first);

/* ---- Attempts ---- */

int store_attempt_insert(struct store_tx *tx, const struct store_attempt *a);
/* Deliveries decided at or after `since`, oldest first: of a
 * relationship (relationship != 0) or of a person (all relationships,
 * exempt ones included: the callback sees the flag). */
typedef int (*store_delivery_many_cb)(uint64_t key, int channel, bool exempt,
				      int64_t at, void *arg);
typedef int (*store_count_cb)(uint64_t key, int64_t n, void *arg);
typedef int (*store_delivery_cb)(int channel, bool exempt, int64_t at,
				 void *arg);
int store_delivery_list(struct store_rd *rd, uint64_t relationship,
			uint64_t person, int64_t since, store_delivery_cb cb,
			void *arg);
/* One attempt as the person sees it (reads). */
struct store_attempt_row {
	uint64_t id, relationship, brand, campaign;
	int channel, decision, reason, folder; /* folder -1: none */
	char topic[72];
	char *subject; /* owned; the campaign's when a campaign */
	char *sender;  /* owned, may be NULL */
	size_t subject_len, sender_len;	    /* bytes (a NUL follows each) */
	bool subject_sealed, sender_sealed; /* sealed bytes, else text */
	bool sender_verified, read;
	int64_t deliver_at, received_at;
	char brand_name[STORE_NAME_MAX + 1]; /* no brand on cmr: the name
						the person gave, else "" */
};
typedef int (*store_attempt_cb)(const struct store_attempt_row *a, void *arg);

/* Filters of a person's attempts; -1 / 0 mean "any". */
struct store_attempt_filter {
	uint64_t person;
	int folder;	       /* -1: any */
	int decision;	       /* -1: any */
	uint64_t relationship; /* 0: any */
	uint64_t before;       /* newest first: ids < before (0: none) */
	int limit;
};
int store_attempt_list(struct store_rd *rd,
		       const struct store_attempt_filter *f,
		       store_attempt_cb cb, void *arg);

/* A held attempt that has come due. */
struct store_held {
	uint64_t id, relationship;
	int channel;
	char topic[72];
	int64_t deliver_at;
};
typedef int (*store_held_cb)(const struct store_held *h, void *arg);
/* Held attempts with deliver_at <= now, oldest due first. */
int store_held_due(struct store_rd *rd, int64_t now, int limit,
		   store_held_cb cb, void *arg);
/* Records the new decision of a held attempt (inside the writer):
 * STORE_NOT_FOUND when it is no longer held, so a release happens once.
 * A refusal drops the body and keeps `now` as the attempt's refused_at,
 * which the brand's reading of it turns on (core/brand_state.h); every
 * path that decides a held message again comes through here. */
int store_attempt_redecide(struct store_tx *tx, uint64_t id, int decision,
			   int reason, int folder, int64_t deliver_at,
			   int64_t decided_at, bool exempt, int64_t now);

/* One attempt as its brand may read it: no content, folder or time of
 * the person's; what core/brand_state.h turns into the brand's state. */
struct store_brand_attempt {
	uint64_t id, relationship, brand, campaign; /* 0: none */
	int decision, reason;
	int64_t refused_at;  /* a held one refused on release: when; else 0 */
	int64_t received_at; /* when the brand sent it */
};
typedef int (*store_brand_attempt_cb)(const struct store_brand_attempt *a,
				      void *arg);
/* The attempt `id` a brand sent (over HTTP or as its own mail: never a
 * leak's or an unknown alias's record), or STORE_NOT_FOUND. The caller
 * checks that a->brand is the asker. */
int store_attempt_of_brand(struct store_rd *rd, uint64_t id,
			   struct store_brand_attempt *out);

/* Makes the person's held attempts (of one relationship when rel is not
 * 0) due at `now`, so that the scheduler decides them again at once;
 * *n (may be NULL) gets how many moved. */
int store_held_due_now(struct store_tx *tx, uint64_t person, uint64_t rel,
		       int64_t now, int64_t *n);
/* A held attempt its person discarded: refused with `reason`, its content
 * (sender, subject, header block, body) removed as emptying a folder
 * does; the row stays, listed with the person's refused attempts.
 * STORE_NOT_FOUND when it is no longer held. */
int store_attempt_discard(struct store_tx *tx, uint64_t id, int reason);

/* What the scheduler's purge deletes once its time is up; a bound of 0
 * keeps everything of its kind. */
struct store_purge {
	int64_t later_now;	/* delivered messages in Later older than
				   each person's later_retention_days at
				   this time are removed, as
				   store_folder_empty does (their Maildir
				   copies queued to leave first) */
	int64_t idem_before;	/* Idempotency-Keys created before */
	int64_t refused_before; /* refused attempts received before, and
				   removed deliveries decided 400 days
				   before it (beyond any cap window) */
	int64_t codes_before;	/* connect codes that expired before */
	int64_t later_purged;	/* out: how many messages Later lost */
};
/* Runs the purges in the order of the fields above, in the current job. */
int store_purge(struct store_tx *tx, struct store_purge *p);

/* The person's own attempt: sets is_read (read >= 0) and/or moves a
 * delivered one to folder (folder >= 0). STORE_NOT_FOUND when it is not
 * theirs; STORE_CONFLICT when asked to move one that was not delivered. */
int store_attempt_update(struct store_tx *tx, uint64_t person, uint64_t id,
			 int read, int folder);
/* Removes the person's delivered messages in folder: their content is
 * deleted, the row stays (marked removed, out of every list) so that cap
 * windows still count the delivery. *n gets how many. */
int store_folder_empty(struct store_tx *tx, uint64_t person, int folder,
		       int64_t *n);
/* Removes one of the person's messages as emptying does (content deleted,
 * row kept and out of every list); a held one stays (STORE_CONFLICT).
 * STORE_NOT_FOUND when it is not theirs or removed already. */
int store_attempt_remove(struct store_tx *tx, uint64_t person, uint64_t id);

/* Erasure (the person's data key destroyed), inside a job: the person's
 * aliases and own addresses keep only their keyed hashes, which are their
 * tombstones, in the directory (with no owner) and in the relationships
 * (which end); their messages, tokens and codes are deleted; the person
 * row keeps only its key, a tombstone handle and erased_at — no data key,
 * profile, password or settings. */
int store_person_erase(struct store_tx *tx, uint64_t person,
		       const char *handle_tombstone,
		       const char *default_global_terms, int64_t at);

/* Relationships not ended whose consent expires in (now, until] and
 * whose person was not yet told of that expiry; `expires` is the
 * canonical RFC 3339 string of the terms. */
typedef int (*store_expiring_cb)(uint64_t relationship, uint64_t person,
				 uint64_t brand, const char *expires,
				 void *arg);
int store_expiring(struct store_rd *rd, const char *now, const char *until,
		   store_expiring_cb cb, void *arg);
/* Records that the person was told (STORE_CONFLICT when already). */
int store_notice_insert(struct store_tx *tx, uint64_t relationship,
			const char *kind, const char *about, uint64_t person,
			int64_t at);

/* The content of an attempt that a store made before 004_sealed kept in
 * clear, and the same content sealed (store_attempt_seal). */
struct store_attempt_content {
	uint64_t id, person;
	const void *subject, *sender, *headers, *body; /* borrowed; or NULL */
	size_t subject_len, sender_len, headers_len, body_len;
	const uint8_t *dedup; /* 16 bytes, or NULL */
};
typedef int (*store_content_cb)(const struct store_attempt_content *c,
				void *arg);
/* Attempts whose content is not sealed yet, by person then id, at most
 * limit (the values are valid during the callback only). */
int store_attempt_plain(struct store_rd *rd, int limit, store_content_cb cb,
			void *arg);
/* Replaces an attempt's content with its sealed form (c->id) and marks
 * it sealed; STORE_NOT_FOUND when it was sealed already. */
int store_attempt_seal(struct store_tx *tx,
		       const struct store_attempt_content *c);

/* Whether the relationship already has a delivered or held attempt with
 * this dedup hash. */
int store_attempt_dup(struct store_rd *rd, uint64_t relationship,
		      const uint8_t dedup[16], bool *found);

/* Number of attempts of a relationship held right now. */
int store_held_count(struct store_rd *rd, uint64_t relationship, uint32_t *out);

/* Reads of many rows at once, where a statement is a round trip
 * (PostgreSQL) one statement, not one a key: what loading a campaign
 * chunk's cold gate state needs (app/gate_state.c). Rows come in no
 * particular order, keys not found are left out; a callback's non-zero
 * return stops the read (STORE_OK). The deliveries of many relationships
 * (or, `persons`, many persons) since `since`, each key's in the order of
 * store_delivery_list; the held counts of the relationships that hold
 * any. */
int store_person_get_many(struct store_rd *rd, const uint64_t *ids, size_t n,
			  store_person_cb cb, void *arg);
int store_relationship_get_many(struct store_rd *rd, const uint64_t *ids,
				size_t n, store_relationship_cb cb, void *arg);
int store_delivery_list_many(struct store_rd *rd, bool persons,
			     const uint64_t *keys, size_t n, int64_t since,
			     store_delivery_many_cb cb, void *arg);
int store_held_count_many(struct store_rd *rd, const uint64_t *rels, size_t n,
			  store_count_cb cb, void *arg);

/* ---- Delivery beyond the store (the outbox of the adapters) ---- */

/* Counts a bounce of a forward in the delivery settings ("bounces": {n,
 * at}), when the person forwards at all. */
int store_person_bounce(struct store_tx *tx, uint64_t id, int64_t at);
/* The one-click unsubscribe URI of the brand's verified mail. */
int store_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
				       const char *uri);

enum store_outbox_adapter {
	STORE_ADAPTER_MAILDIR = 1,
	STORE_ADAPTER_WEBHOOK = 2,
	STORE_ADAPTER_UNSUBSCRIBE = 3, /* RFC 8058 at the brand; `attempt`
					  is the relationship */
	STORE_ADAPTER_FORWARD = 4,     /* to a verified address, by SMTP */
	STORE_ADAPTER_REPLY = 5,       /* a reply to a brand, by SMTP;
					  `attempt` is the reply */
};
enum store_outbox_op {
	STORE_OUTBOX_DELIVER = 0, /* put the message where it is now */
	STORE_OUTBOX_MOVE = 1,	  /* from `folder` to where it is now */
	STORE_OUTBOX_REMOVE = 2,  /* from `folder` */
	STORE_OUTBOX_ERASE = 3,	  /* everything of the person */
	STORE_OUTBOX_VERIFY = 4,  /* forward: send the address its code */
};

#define STORE_OUTBOX_LOOK_FIRST (-2)

struct store_outbox {
	uint64_t id; /* set by the store */
	uint64_t person;
	uint64_t attempt; /* store_outbox_add: 0 with deliver, move or
			     remove = each delivered message of the person
			     (in `folder` when folder >= 0) */
	int adapter;	  /* enum store_outbox_adapter */
	int op;		  /* enum store_outbox_op */
	int folder;	  /* -1: none; STORE_OUTBOX_LOOK_FIRST: a delivery
			     for which a copy may already be there, in any
			     folder */
	int tries;
	int64_t next_at;
};

/* Queues work for an adapter, in the current write job. An unsubscribe
 * is queued only when the relationship has a one-click URI. */
int store_outbox_add(struct store_tx *tx, const struct store_outbox *o);
typedef int (*store_outbox_cb)(const struct store_outbox *o, void *arg);
/* Work due at `now`, in order of arrival (reads): for the Maildir
 * (local) or for the adapters that reach out (the others). Where several
 * servers share the store (PostgreSQL), what is handed over is claimed
 * for STORE_OUTBOX_LEASE seconds: no other server is handed it until it
 * is settled or the claim runs out (its server died). */
#define STORE_OUTBOX_LEASE 60
int store_outbox_due(struct store_rd *rd, int64_t now, bool local, int limit,
		     store_outbox_cb cb, void *arg);
/* Done (tries < 0: the row leaves) or failed (kept with tries, next_at
 * and the error). */
int store_outbox_settle(struct store_tx *tx, uint64_t person, uint64_t id,
			int tries, int64_t next_at, const char *error);
/* The person's work not yet done, and how much of it has failed. */
int store_outbox_count(struct store_rd *rd, uint64_t person, int64_t *pending,
		       int64_t *failing, char *last_error, size_t size);

/* A delivered message whole, as an adapter needs it (reads). */
struct store_message {
	uint64_t id, person, relationship, brand;
	int channel, decision, folder;
	bool removed, read;
	int64_t received_at;
	char topic[72];
	char alias[160];
	char brand_name[STORE_NAME_MAX + 1];
	char *subject; /* owned; may be NULL */
	size_t subject_len;
	char *headers; /* owned; mail: the header block, or NULL */
	size_t headers_len;
	char *body; /* owned; mail: the whole message as received */
	size_t body_len;
	/* sealed bytes (keys_seal_bytes), else clear: a campaign's subject
	 * and body are the campaign's and never sealed */
	bool subject_sealed, headers_sealed, body_sealed;
};
int store_message_get(struct store_rd *rd, uint64_t id,
		      struct store_message *out);
void store_message_clear(struct store_message *m);

/* ---- Replies through the alias (its migration, replies) ---- */

enum store_reply_state {
	STORE_REPLY_QUEUED,
	STORE_REPLY_SENT,
	STORE_REPLY_FAILED
};

/* A reply the person sent to a brand. recipient, subject and message are
 * sealed bytes (keys_seal_bytes) of the lengths given; on insert they are
 * borrowed, on a read owned (store_reply_clear). */
struct store_reply {
	uint64_t id; /* time-ordered (store_new_time_key) */
	uint64_t person, relationship;
	uint64_t answers; /* the attempt it answers, or 0 */
	bool by_mail;	  /* from the person's mailbox, else the web app */
	int state;	  /* enum store_reply_state */
	char *recipient, *subject, *message;
	size_t recipient_len, subject_len, message_len;
	int64_t created_at, sent_at; /* sent_at: 0 until sent */
};
void store_reply_clear(struct store_reply *r);
typedef int (*store_reply_cb)(const struct store_reply *r, void *arg);

int store_reply_insert(struct store_tx *tx, const struct store_reply *r);
/* The reply with key id: STORE_OK, STORE_NOT_FOUND or STORE_FAULT. */
int store_reply_get(struct store_rd *rd, uint64_t id, struct store_reply *out);
/* The person's replies, newest first, ids < before (0: none), of one
 * message when answers is not 0; message bytes are not read (NULL). */
int store_reply_list(struct store_rd *rd, uint64_t person, uint64_t answers,
		     uint64_t before, int limit, store_reply_cb cb, void *arg);
/* Sets a reply's state (sent: its sent_at too). */
int store_reply_settle(struct store_tx *tx, uint64_t id, int state, int64_t at);

/* ---- Idempotency keys and campaigns ---- */

struct store_idem {
	uint8_t request[32];
	int status;
	char *response; /* owned */
	int64_t created_at;
};
/* The stored answer of a brand's key, or STORE_NOT_FOUND. */
int store_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		   struct store_idem *out);
/* Inside the job that makes the effect; STORE_CONFLICT when the key was
 * taken meanwhile. */
int store_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
		   const struct store_idem *v);
/* Sets the answer of a key put with status 0 ("in progress"). */
int store_idem_finish(struct store_tx *tx, uint64_t brand, const char *key,
		      int status, const char *response);

struct store_campaign {
	uint64_t id, brand;
	int channel;
	const char *topic, *subject; /* borrowed */
	const void *body;
	size_t body_len;
	int64_t created_at;
};
int store_campaign_insert(struct store_tx *tx, const struct store_campaign *c);
int store_campaign_count(struct store_tx *tx, uint64_t id, int64_t total,
			 int64_t accepted);
/* A campaign's row, counted as decided when sent (a hold counted as
 * accepted); STORE_NOT_FOUND when there is none. */
struct store_campaign_row {
	uint64_t id, brand;
	int channel;
	char topic[72];
	int64_t created_at, total, accepted;
};
int store_campaign_get(struct store_rd *rd, uint64_t id,
		       struct store_campaign_row *out);
/* A campaign's refused attempts counted by reason and by when they were
 * refused on release (refused_at; 0 for refusals at once), through an
 * index that holds refused rows only. */
typedef int (*store_refusal_cb)(int reason, int64_t refused_at, int64_t n,
				void *arg);
int store_campaign_refusals(struct store_rd *rd, uint64_t campaign,
			    store_refusal_cb cb, void *arg);
/* A page of a campaign's attempts, oldest first, ids > after: every one
 * (state -1), or those whose brand state (core/brand_state.h, with
 * since = brand_state_since(now)) is accepted (0) or refused (1). */
int store_campaign_recipients(struct store_rd *rd, uint64_t campaign, int state,
			      int64_t since, uint64_t after, int limit,
			      store_brand_attempt_cb cb, void *arg);
/* The keys of a brand's relationships that have not ended, id > after:
 * store_relationship_list's {brand, open} without reading the rows, for
 * a campaign to everyone. */
typedef int (*store_key_cb)(uint64_t key, void *arg);
int store_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
				  uint64_t after, int limit, store_key_cb cb,
				  void *arg);

/* ---- The ledger ---- */

/* Appends e to its person's chain. e->seq and e->prev must extend the
 * chain (the caller read the head inside the same job). */
int store_ledger_append(struct store_tx *tx,
			const struct store_ledger_entry *e);
/* The last entry of a person's chain (a job reads it through its
 * transaction, so that appends in one batch see each other).
 * STORE_NOT_FOUND for an empty chain. */
int store_ledger_head(struct store_rd *rd, uint64_t person,
		      struct store_ledger_entry *out);
/* A person's entries with seq > after, in order. */
int store_ledger_list(struct store_rd *rd, uint64_t person, int64_t after,
		      int limit, store_ledger_cb cb, void *arg);

/* Records the latest signed head handed out for person's chain. */
int store_ledger_head_save(struct store_tx *tx, uint64_t person, int64_t seq,
			   const uint8_t hash[32], const char *note,
			   int64_t at);
/* The latest signed note of person (a new string the caller frees), or
 * STORE_NOT_FOUND when none was handed out yet. */
int store_ledger_signed_head(struct store_rd *rd, uint64_t person, char **note);

/* ---- The keys the store belongs to, and its one server ---- */

#define STORE_KEY_IDS_MAX 128 /* signing key ids a store records */
#define STORE_KEY_ID_SIZE 24  /* room for a key id (16 hex digits) */

/* What the store says about the keys it belongs to. */
struct store_key_facts {
	char kek_id[STORE_KEY_ID_SIZE];	 /* the key set's id recorded, or "" */
	char wrap_id[STORE_KEY_ID_SIZE]; /* the current wrap key's, or "" */
	char hash_id[STORE_KEY_ID_SIZE]; /* the hash key's fingerprint, or "" */
	char store_id[STORE_KEY_ID_SIZE]; /* the store's own id, or "" */
	char signing[STORE_KEY_IDS_MAX][STORE_KEY_ID_SIZE]; /* signing key
							      ids recorded,
							      oldest first */
	size_t n_signing;     /* entries of signing */
	bool has_data;	      /* a person or a brand is stored */
	uint8_t data_key[96]; /* some person's wrapped data key, to try */
	size_t data_key_len;  /* 0: no person has one */
};
/* Reads the facts; callable before store_migrate (what a migration has
 * yet to make reads as empty), so that wrong keys are refused before
 * anything is written. */
int store_key_facts(struct store_rd *rd, struct store_key_facts *out);
/* Records a key id of kind "kek", "signing" or "hash", or the store's own
 * id (kind "store": one, the first recorded; STORE_INVALID for another
 * kind); one recorded already is left as it is. */
int store_key_id_add(struct store_tx *tx, const char *kind, const char *id,
		     int64_t at);
/* Records `id` as the wrap key every data key written from now on must be
 * wrapped under (kind "wrap": one row, replaced in place so that a
 * concurrent store_key_wrap_fence waits for it and then sees the new id). */
int store_key_wrap_set(struct store_tx *tx, const char *id, int64_t at);
/* The fence of a write that stores a wrapped data key: STORE_OK when the
 * store records no wrap key or `id`, STORE_INVALID when it records
 * another (a `cmr keys rotate --wrap` ran since the caller loaded its
 * keys: the key would be wrapped under one about to be destroyed). On
 * PostgreSQL the row is read FOR SHARE, so a rotation's store_key_wrap_set
 * waits for the job's commit and its re-wrapping then sees the row. */
int store_key_wrap_fence(struct store_tx *tx, const char *id);
/* Persons' wrapped data keys, for `cmr keys rotate --wrap`: up to limit
 * persons that have one, in the store's id order, after the person whose
 * id (as int64_t) is `after` (INT64_MIN to start): fn(arg, id, wrapped,
 * len) for each, until fn returns other than STORE_OK (returned). */
typedef int (*store_person_key_fn)(void *arg, uint64_t person,
				   const void *wrapped, size_t len);
int store_person_keys_after(struct store_rd *rd, int64_t after, int limit,
			    store_person_key_fn fn, void *arg);
/* Replaces a person's wrapped data key `old` with `wrapped` (the same
 * data key, wrapped anew): STORE_CONFLICT when the person's key is not
 * `old` any more (erased, or re-wrapped meanwhile). */
int store_person_key_set(struct store_tx *tx, uint64_t person, const void *old,
			 size_t old_len, const void *wrapped, size_t len);

/* Takes the store's lock for the life of s. SQLite: an exclusive flock
 * on PATH.lock beside the file, whatever the mode: one `cmr serve` (or
 * `cmr migrate`, or `cmr keys rotate`) per store at a time. PostgreSQL,
 * which several servers share: an advisory lock on a connection of its
 * own, shared for STORE_LOCK_SERVE (serve, migrate: any number at once)
 * and exclusive for STORE_LOCK_ALONE (`cmr keys rotate`: no server may
 * go on with keys it loaded before). STORE_CONFLICT with a sentence
 * naming the store when another process holds it; STORE_FAULT when it
 * cannot be taken. Other processes may still open and write the store. */
enum store_lock_mode {
	STORE_LOCK_SERVE = 0,
	STORE_LOCK_ALONE = 1,
};
int store_lock(struct store *s, enum store_lock_mode mode, char *err,
	       size_t errlen);

/* ---- A person's own address (strangers to Later) ---- */

/* A person's own address at the relay: mail from senders with no
 * relationship lands in Later or is refused (app/own_address.h). */
struct store_own_address {
	uint64_t person;
	char address[160];   /* local part @ alias domain, lower case */
	char local_part[65]; /* as chosen, lower case */
	int strangers;	     /* 0: to Later, 1: refused */
	char *blocked;	     /* JSON array of blocked domains (owned);
				stored sealed */
	int64_t created_at;
	char tombstone[72]; /* put: the address's tombstone (an erased
			       person's directory row), or "" */
};
void store_own_address_clear(struct store_own_address *o);
/* The person's own address (address NULL), or the one that is `address`
 * now: STORE_NOT_FOUND when none. */
int store_own_address_get(struct store_rd *rd, uint64_t person,
			  const char *address, struct store_own_address *out);
/* Sets the person's own address (replacing theirs) and records it in the
 * alias directory, where it stays for good: STORE_CONFLICT when that
 * address is in the directory for anything but this person's own
 * address (an alias, another person's address), or its tombstone
 * o->tombstone is (an erased person's). */
int store_own_address_put(struct store_tx *tx,
			  const struct store_own_address *o);
/* Removes the person's own address (its directory row stays):
 * STORE_NOT_FOUND when they have none. */
int store_own_address_delete(struct store_tx *tx, uint64_t person);

/* ---- Keys ---- */

/* A fresh random key for a new row (never 0, never reused in practice). */
uint64_t store_new_key(void);
/* A time-ordered key for attempts and ledger-adjacent rows: milliseconds
 * since 2020 in the high bits, a counter and random bits below. */
uint64_t store_new_time_key(int64_t now_ms);

#endif
