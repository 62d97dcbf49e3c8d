/*
 * app.h — the use cases of cmr, the same whichever door a request came
 * through (CLI, HTTP, LMTP). `struct app` holds what they share: the
 * configuration, the store, the keys and the gate's in-memory state.
 */
#ifndef CMR_APP_APP_H
#define CMR_APP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "app/config.h"
#include "ledger/keys.h"

struct store;	   /* the store (store/store.h): the use cases' own, never
		      a door's */
struct store_tx;   /* a writer job's transaction */
struct store_rd;   /* where a read goes */
struct gate_state; /* app/gate_state.h: windows and compiled terms */
struct zones;	   /* app/zone.c: time zones by name */
struct throttle;   /* app/throttle.c: failed log-ins and codes */

struct app {
	struct config cfg;
	struct store *store;
	struct store_rd *reads; /* committed data (store_reads): not in jobs */
	struct keys *keys;
	/* How the store keeps aliases, handles and folder names (store.h,
	 * struct store_codec; app/sealed.h, sealed_codec): owned. */
	struct store_codec *codec;
	struct zones *zones;
	struct gate_state *gate;   /* owned by the writer thread */
	struct throttle *throttle; /* shared, locked inside */
	int migrations_applied;	   /* by app_open, for `cmr migrate` */
	int schema_version;	   /* after app_open's migration */
	/* app_hear_others: the server's keys are no longer the store's. */
	void (*keys_gone)(void *arg);
	void *keys_gone_arg;
};

/* Errors of the use cases, which the doors map to their protocol: */
enum app_status {
	APP_OK = 0,
	APP_INVALID = 1,     /* the caller's input is refused (4xx / exit 1) */
	APP_NOT_FOUND = 2,   /* not there, or not the caller's (404) */
	APP_CONFLICT = 3,    /* a conflict of state (409) */
	APP_WOULD_BLOCK = 4, /* done only where the caller may wait: split
				the write (struct app_write) and retry */
	APP_FAULT = -1,	     /* our fault, logged; nothing written (5xx/451) */
};

/* Who asks, for the ownership check: a person or a brand (the other is
 * 0). */
struct app_caller {
	uint64_t person;
	uint64_t brand;
};
#define APP_PERSON(id) ((struct app_caller){ .person = (id) })
#define APP_BRAND(id)  ((struct app_caller){ .brand = (id) })

/* The one ownership rule: a row of person `person` and brand `brand` is
 * the caller's when the caller is that person or that brand. */
bool app_owns(struct app_caller who, uint64_t person, uint64_t brand);

/* An error's message for the caller (never a personal value). */
struct app_error {
	char field[96]; /* the input field at fault, or "" */
	char message[256];
};

/* How app_open opens (flags; 0 for an operator command). */
enum app_open_flag {
	APP_OPEN_CREATE = 1,	   /* `cmr init`: make the keys when the
				      directory has none and the store holds
				      nothing */
	APP_OPEN_EXCLUSIVE = 2,	   /* take the store's lock (store_lock) for
				      the life of the app: serve, migrate,
				      keys rotate */
	APP_OPEN_KEYS_IF_DATA = 4, /* `cmr migrate`: no keys are needed for
				      a store that holds nothing (a->keys
				      is then NULL) */
	APP_OPEN_ALONE = 8,	   /* APP_OPEN_EXCLUSIVE, and no server may
				      hold the store's lock meanwhile, even
				      on PostgreSQL (STORE_LOCK_ALONE):
				      keys rotate */
};

/* Opens the keys and the store, checks that they belong together, and
 * migrates the store. The store records the ids of its keys (the key
 * set's and every signing key's, store_key_facts): a keys directory that
 * is another's, that lacks a signing key the store recorded, or whose wrap
 * keys do not open a person's data key is refused, as is an empty one for
 * a store that holds anything — before
 * anything is written, with a sentence naming both the directory and the
 * store. A store from before key ids adopts the keys it is first opened
 * with only when they unwrap a person's data key (or no person has one).
 * Keys are made only with APP_OPEN_CREATE, for an empty store. Then the
 * ids not recorded yet are. Returns APP_OK, or APP_FAULT (APP_CONFLICT:
 * the store's lock is held elsewhere) with a sentence in err. */
enum app_status app_open(struct app *a, const struct config *cfg,
			 unsigned flags, char *err, size_t errlen);

/* serve: hears of what other servers sharing the store changed, so that
 * caches outside the writer (the policy door's passes) drop what went
 * stale (store_listen; the gate's own state checks versions). Should the
 * store's lock be lost and taken again, and the keys the server loaded
 * no longer be the store's (a `cmr keys rotate` ran in between), it is
 * logged and keys_gone(arg) called on the store's thread: the server
 * must stop, and a new start loads the keys as they are. APP_OK or
 * APP_FAULT. */
enum app_status app_hear_others(struct app *a, void (*keys_gone)(void *arg),
				void *arg);

/* `cmr keys rotate` on an app opened with APP_OPEN_EXCLUSIVE: a new
 * signing key in the keys directory (keys_rotate), recorded in the store;
 * a->keys becomes the new keys. The old key's public half stays, so what
 * it signed still verifies. APP_OK, or APP_FAULT with a sentence in err. */
enum app_status app_keys_rotate(struct app *a, char *err, size_t errlen);

/* `cmr keys rotate --wrap` on an app opened with APP_OPEN_ALONE, in two
 * steps, so that the new wrap key can be backed up while the old one
 * still opens everything:
 * - without `finish`: a new wrap key (keys_wrap_rotate_begin; a rotation
 *   under way goes on with its key instead), recorded in the store as the
 *   one data keys are written under (store_key_wrap_set), then every
 *   person's data key re-wrapped under it, in batches of a transaction
 *   each. The old wrap keys stay in the directory.
 * - with `finish`: the same re-wrapping pass again (it finds nothing left,
 *   unless a rotation was interrupted), then the old wrap keys (and a kek)
 *   removed from the keys directory (keys_wrap_rotate_end). APP_INVALID
 *   when no rotation is under way.
 * Running either again after an interruption finishes it. a->keys become
 * the new keys. The data keys themselves do not change, so nothing sealed
 * is touched. */
struct app_wrap_rotation {
	int64_t persons;   /* data keys read */
	int64_t rewrapped; /* of them, wrapped anew */
	size_t retired;	   /* wrap keys left to remove (without finish), or
			      removed (with it); a kek counts */
	bool resumed;	   /* a rotation under way was finished */
	char wrap_id[17];  /* the current wrap key's id */
};
enum app_status app_keys_rotate_wrap(struct app *a, bool finish,
				     struct app_wrap_rotation *out, char *err,
				     size_t errlen);
void app_close(struct app *a);

/* A request's reads share one snapshot until app_read_end, on this
 * thread (store_read_begin). */
void app_read_begin(struct app *a);
void app_read_end(struct app *a);

/* Whether the store can serve: false while its server cannot be reached
 * (PostgreSQL: from a failed connect until one works again), and from a
 * batch that could not commit (a read-only store, a full disk) until one
 * commits again; then the reason, one sentence, in why. For /readyz; no
 * I/O. */
bool app_ready(struct app *a, char *why, size_t size);

/* The wall clock, read at the edge only (the gate never does); moved by
 * CMR_NOW_OFFSET seconds when that is set (tests only, app.c). */
int64_t app_now_ms(void);

/* Sets err and returns status: a shorthand for the use cases. */
enum app_status app_fail(struct app_error *err, int status, const char *field,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An instant (Unix seconds) as RFC 3339 UTC ("2026-11-25T10:00:00Z"),
 * or JSON null for 0. */
json_t *app_time_json(int64_t t);

/* Parses RFC 3339 with "Z" or an offset; false when malformed. */
bool app_time_parse(const char *s, int64_t *t);

/* What a job on the writer gets, and all it gets. A job runs inside the
 * batch's transaction; every read it makes goes through `reads`, which
 * sees what earlier jobs of the batch wrote. Nothing here reaches a reader
 * connection (no struct app, no struct store), so a job cannot read
 * committed-only, stale data — and write it back — by mistake. */
struct app_tx {
	struct store_tx *tx;	  /* the batch's transaction */
	struct store_rd *reads;	  /* reads through tx */
	const struct config *cfg; /* read-only settings */
	struct keys *keys;
	struct zones *zones;
	struct gate_state *gate; /* the writer thread's */
	int64_t now_ms;		 /* when the job started running */
};

/* A job: returns a store status (non-zero rolls the job back alone). */
typedef int (*app_job_fn)(struct app_tx *t, void *job);

/* A use case's write, split so that a door can wait for it without
 * holding a thread: the use case's *_begin validates and reads (in the
 * caller) and fills this; `run` is the job the writer runs; `finish` turns
 * the job's store status into the use case's outcome; `release` frees the
 * job. A door hands it to the writer with app_write_start (the HTTP
 * connection suspended meanwhile); app_write_run does it all in one call. */
struct app_write {
	app_job_fn run;
	void *job;
	bool alone; /* commit right after it (store_write_alone) */
	enum app_status (*finish)(void *job, int store_status,
				  struct app_error *err);
	void (*release)(void *job);
};

/* Runs w and waits: returns finish's status, and releases the job. */
enum app_status app_write_run(struct app *a, struct app_write *w,
			      struct app_error *err);

/* Runs job on the writer and waits until its batch is durable: the store
 * status of the job, or STORE_FAULT when the commit failed. */
int app_job_run(struct app *a, app_job_fn run, void *job, bool alone);

/* A job handed to the writer without waiting: the caller keeps it (and
 * the job) alive until done(arg, store status) has run, on the writer
 * thread, after the batch committed or failed. */
struct app_pending {
	struct app *app;
	app_job_fn run;
	void *job;
	void (*done)(void *arg, int status);
	void *arg;
};

/* Queues the job; APP_OK, or APP_FAULT when the writer takes no more
 * jobs (done will then not run). */
enum app_status app_job_start(struct app *a, struct app_pending *p,
			      app_job_fn run, void *job, bool alone,
			      void (*done)(void *arg, int status), void *arg);

/* Maps a store status to an app status. */
enum app_status app_from_store(int store_status);

#endif
