/*
 * app.c — opening and closing what the use cases share (see app.h).
 */
#include "app/app.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>

#include <sodium.h>

#include "app/gate_state.h"
#include "app/message.h"
#include "app/sealed.h"
#include "app/throttle.h"
#include "app/zone.h"
#include "base/log.h"
#include "store/store.h"

void app_read_begin(struct app *a)
{
	store_read_begin(a->store);
}

void app_read_end(struct app *a)
{
	store_read_end(a->store);
}

bool app_ready(struct app *a, char *why, size_t size)
{
	int64_t since = store_unreachable_since(a->store);
	if (since != 0) {
		char at[32];
		time_t t = (time_t)(since / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(why, size,
			 "PostgreSQL is unreachable (since %s): nothing can be "
			 "read or written; try again",
			 at);
		return false;
	}
	struct store_writer_stats ws;
	store_writer_stats(a->store, &ws);
	if (ws.failing) {
		snprintf(why, size,
			 "the store cannot commit writes "
			 "(read-only? disk full?); try again");
		return false;
	}
	return true;
}

/* CMR_NOW_OFFSET (whole seconds, may be negative) moves the server's
 * clock, for the black-box tests of what turns at a later UTC day (a
 * brand's reading of a held message refused on release): they start
 * `cmr serve` a day ahead instead of waiting one. Read once; not in
 * --help, and logged when set, since no server in use should have it. */
static int64_t now_offset_ms;
static pthread_once_t now_offset_once = PTHREAD_ONCE_INIT;

static void now_offset_read(void)
{
	const char *v = getenv("CMR_NOW_OFFSET");
	if (v == NULL || *v == '\0')
		return;
	char *end;
	long long s = strtoll(v, &end, 10);
	if (*end != '\0' || s < -3153600000LL || s > 3153600000LL) {
		log_warn("app: clock: CMR_NOW_OFFSET is not a number of "
			 "seconds; ignored");
		return;
	}
	now_offset_ms = (int64_t)s * 1000;
	log_warn("app: clock: CMR_NOW_OFFSET moves the clock by %llds "
		 "(for tests only)",
		 s);
}

int64_t app_now_ms(void)
{
	struct timespec ts;
	pthread_once(&now_offset_once, now_offset_read);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + now_offset_ms;
}

enum app_status app_fail(struct app_error *err, int status, const char *field,
			 const char *fmt, ...)
{
	if (err) {
		va_list ap;
		snprintf(err->field, sizeof(err->field), "%s",
			 field ? field : "");
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}

bool app_owns(struct app_caller who, uint64_t person, uint64_t brand)
{
	if (who.person != 0)
		return who.person == person;
	return who.brand != 0 && who.brand == brand;
}

enum app_status app_from_store(int st)
{
	switch (st) {
	case STORE_OK:
		return APP_OK;
	case STORE_NOT_FOUND:
		return APP_NOT_FOUND;
	case STORE_CONFLICT:
		return APP_CONFLICT;
	case STORE_INVALID:
		return APP_INVALID;
	default:
		return APP_FAULT;
	}
}

/* Makes the directory holding a sqlite store's file, so that a fresh
 * checkout can start with the default ./var/cmr.db. */
static int app_store_dir(const char *url, char *err, size_t errlen)
{
	if (strncmp(url, "sqlite:", 7) != 0)
		return 0;
	char path[1024];
	snprintf(path, sizeof(path), "%s", url + 7);
	char *slash = strrchr(path, '/');
	if (slash == NULL || slash == path)
		return 0;
	*slash = '\0';
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path,
				 strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* The key ids a store has recorded, as keys_match takes them. */
static enum keys_match app_keys_match(const struct keys *k,
				      const struct store_key_facts *f,
				      const char **unknown)
{
	const char *ids[STORE_KEY_IDS_MAX];
	for (size_t i = 0; i < f->n_signing; i++)
		ids[i] = f->signing[i];
	return keys_match(k, f->kek_id[0] ? f->kek_id : NULL, ids, f->n_signing,
			  unknown);
}

/* Whether a->keys serve another store than f's (keys.h, the file
 * `store`): a wrap rotation of that one would destroy the key this one's
 * data keys are under. -1 with a sentence in err. */
static int app_keys_bound_elsewhere(struct app *a,
				    const struct store_key_facts *f, char *err,
				    size_t errlen)
{
	const char *dir = a->cfg.keys, *store = a->cfg.store_shown;
	const char *bound = keys_store_id(a->keys);

	if (!bound[0] || strcmp(bound, f->store_id) == 0)
		return 0;
	if (f->store_id[0])
		snprintf(err, errlen,
			 "the keys directory %s serves another store (store "
			 "id %s), not the store %s (store id %s): a keys "
			 "directory serves one store, since a wrap rotation "
			 "of one would destroy the key the other's data is "
			 "under; give this store's --keys; nothing was written",
			 dir, bound, store, f->store_id);
	else if (!f->has_data)
		snprintf(err, errlen,
			 "the keys directory %s serves another store already "
			 "(store id %s): the store %s needs keys of its own "
			 "(cmr init with a new --keys directory); nothing was "
			 "written",
			 dir, bound, store);
	else
		snprintf(err, errlen,
			 "the keys directory %s serves the store with id %s, "
			 "and the store %s records no id: another store that "
			 "shared the directory (give this one a copy of its "
			 "own: cp -a %s NEW, remove NEW/store, use --keys "
			 "NEW), or a backup of that very store from before "
			 "store ids (remove %s/store); nothing was written",
			 dir, bound, store, dir, dir);
	return -1;
}

/* Whether a->keys are the store's (see app_open). */
static int app_keys_check(struct app *a, const struct store_key_facts *f,
			  char *err, size_t errlen)
{
	const char *dir = a->cfg.keys, *store = a->cfg.store_shown, *unknown;
	uint8_t dk[KEYS_DATA_KEY_BYTES];

	switch (app_keys_match(a->keys, f, &unknown)) {
	case KEYS_MATCH_OTHER_KEK:
		snprintf(err, errlen,
			 "the keys directory %s (key-encryption key id %s) "
			 "is not the one of the store %s (key-encryption key "
			 "id %s): give this store's --keys; nothing was "
			 "written",
			 dir, keys_kek_id(a->keys), store, f->kek_id);
		return -1;
	case KEYS_MATCH_UNKNOWN_SIGNING:
		snprintf(err, errlen,
			 "the keys directory %s lacks the signing key %s "
			 "that the store %s records (a copy of the directory "
			 "from before a cmr keys rotate?): give this store's "
			 "--keys; nothing was written",
			 dir, unknown, store);
		return -1;
	case KEYS_MATCH_OK:
		break;
	}
	char hash_id[KEYS_ID_LEN + 1];
	keys_hash_id(a->keys, hash_id);
	if (f->hash_id[0] && strcmp(f->hash_id, hash_id) != 0) {
		snprintf(err, errlen,
			 "the keys directory %s holds a hash key (hash.key, "
			 "id %s) that is not the one of the store %s (id %s): "
			 "its files come from different key sets; give this "
			 "store's --keys; nothing was written",
			 dir, hash_id, store, f->hash_id);
		return -1;
	}
	if (f->wrap_id[0] && !keys_wrap_knows(a->keys, f->wrap_id)) {
		snprintf(err, errlen,
			 "the keys directory %s lacks the wrap key %s that "
			 "the store %s wraps its data keys under (a copy of "
			 "the directory from before a cmr keys rotate "
			 "--wrap?): give this store's --keys, as it is now; "
			 "nothing was written",
			 dir, f->wrap_id, store);
		return -1;
	}
	if (f->data_key_len == 0)
		return app_keys_bound_elsewhere(a, f, err, errlen);
	/* A store from before key ids adopts these keys only if they open
	 * its data; any store refuses a directory whose wrap keys cannot
	 * (a copy from before a cmr keys rotate --wrap). */
	int rc = keys_unwrap(a->keys, f->data_key, f->data_key_len, dk);
	sodium_memzero(dk, sizeof(dk));
	if (rc != 0 && f->kek_id[0])
		snprintf(err, errlen,
			 "the keys directory %s cannot open the data of the "
			 "store %s (a person's data key does not unwrap with "
			 "its wrap keys: a copy of the directory from before "
			 "a cmr keys rotate --wrap?): give this store's "
			 "--keys, as it is now; nothing was written",
			 dir, store);
	else if (rc != 0)
		snprintf(err, errlen,
			 "the keys directory %s cannot open the data of the "
			 "store %s (a person's data key does not unwrap with "
			 "its wrap keys): give this store's --keys; nothing "
			 "was written",
			 dir, store);
	/* Keys that open the store may still serve another one besides. */
	return rc != 0 ? rc : app_keys_bound_elsewhere(a, f, err, errlen);
}

/* Records every id of the keys (the key set's, the hash key's, each
 * signing key's) and, when the store records none yet, the current wrap
 * key's. */
static int app_keys_record_job(struct app_tx *t, void *job)
{
	const struct store_key_facts *f = job;
	int64_t at = t->now_ms / 1000;
	char id[KEYS_ID_LEN + 1];
	keys_hash_id(t->keys, id);
	int rc = store_key_id_add(t->tx, "kek", keys_kek_id(t->keys), at);
	if (rc == STORE_OK)
		rc = store_key_id_add(t->tx, "hash", id, at);
	keys_wrap_id(t->keys, id);
	if (rc == STORE_OK && f->wrap_id[0] == '\0')
		rc = store_key_wrap_set(t->tx, id, at);
	for (size_t i = 0; rc == STORE_OK && i < keys_signing_count(t->keys);
	     i++)
		rc = store_key_id_add(t->tx, "signing",
				      keys_signing_id(t->keys, i), at);
	return rc;
}

static int app_store_id_job(struct app_tx *t, void *job)
{
	return store_key_id_add(t->tx, "store", job, t->now_ms / 1000);
}

/* The store's own id drawn and recorded if it has none (of two processes
 * at once, the first's stays), and the keys directory bound to it (its
 * file `store`, keys_store_bind), once: app_keys_bound_elsewhere refused
 * a directory bound to another. */
static int app_keys_bind(struct app *a, const struct store_key_facts *f,
			 char *err, size_t errlen)
{
	struct store_key_facts now;
	const char *id = f->store_id;

	if (!id[0]) {
		uint8_t raw[KEYS_ID_LEN / 2];
		char fresh[KEYS_ID_LEN + 1];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(fresh, sizeof(fresh), raw, sizeof(raw));
		if (app_job_run(a, app_store_id_job, fresh, true) != STORE_OK ||
		    store_key_facts(a->reads, &now) != STORE_OK ||
		    !now.store_id[0]) {
			snprintf(err, errlen,
				 "cannot record the store's id in %s",
				 a->cfg.store_shown);
			return -1;
		}
		id = now.store_id;
	}
	if (strcmp(keys_store_id(a->keys), id) == 0)
		return 0;
	char why[KEYS_ERR_MAX];
	int rc = keys_store_bind(a->cfg.keys, id, why, sizeof(why));
	if (rc == 1) /* it cannot be rotated in place either */
		log_warn("keys: %s: the directory cannot record which store "
			 "it serves (a keys directory serves one store)",
			 why);
	else if (rc != 0)
		snprintf(err, errlen,
			 "cannot record in the keys directory which store it "
			 "serves: %s",
			 why);
	return rc < 0 ? -1 : 0;
}

/* Records the ids of a->keys that the store lacks (once, not at every
 * start). */
static int app_keys_record(struct app *a, const struct store_key_facts *f,
			   char *err, size_t errlen)
{
	bool missing = f->kek_id[0] == '\0' || f->hash_id[0] == '\0' ||
		       f->wrap_id[0] == '\0' ||
		       keys_signing_count(a->keys) > f->n_signing;
	for (size_t i = 0; !missing && i < keys_signing_count(a->keys); i++) {
		missing = true;
		for (size_t j = 0; j < f->n_signing; j++)
			if (strcmp(f->signing[j],
				   keys_signing_id(a->keys, i)) == 0)
				missing = false;
	}
	if (!missing)
		return 0;
	if (app_job_run(a, app_keys_record_job, (void *)f, true) != STORE_OK) {
		snprintf(err, errlen, "cannot record the key ids in %s",
			 a->cfg.store_shown);
		return -1;
	}
	return 0;
}

enum app_status app_open(struct app *a, const struct config *cfg,
			 unsigned flags, char *err, size_t errlen)
{
	struct store_key_facts facts;
	enum app_status status = APP_FAULT;

	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	bool absent = keys_absent(cfg->keys);
	if (absent && !(flags & (APP_OPEN_CREATE | APP_OPEN_KEYS_IF_DATA))) {
		snprintf(err, errlen,
			 "no keys in %s (for the store %s): give the --keys "
			 "of this store, or, for a new store, run cmr init",
			 cfg->keys, cfg->store_shown);
		return APP_FAULT;
	}
	if (app_store_dir(cfg->store, err, errlen) != 0)
		goto fail;
	if (store_open_as(cfg->store, cfg->client[0] ? cfg->client : NULL,
			  &a->store, err, errlen) != STORE_OK) {
		char why[1024];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "the store %s: %s", cfg->store_shown,
			 why);
		goto fail;
	}
	a->reads = store_reads(a->store);
	if (flags & (APP_OPEN_EXCLUSIVE | APP_OPEN_ALONE)) {
		int rc = store_lock(a->store,
				    flags & APP_OPEN_ALONE ? STORE_LOCK_ALONE
							   : STORE_LOCK_SERVE,
				    err, errlen);
		if (rc != STORE_OK) {
			status =
				rc == STORE_CONFLICT ? APP_CONFLICT : APP_FAULT;
			goto fail;
		}
	}
	/* Loaded under the lock: a key rotation cannot slip in between.
	 * keys.c says what is wrong with keys that exist. */
	if (!absent && keys_load(cfg->keys, &a->keys, err, errlen) != 0)
		goto fail;
	if (store_key_facts(a->reads, &facts) != STORE_OK) {
		snprintf(err, errlen, "cannot read the store %s",
			 cfg->store_shown);
		goto fail;
	}
	if (absent && (facts.has_data || facts.kek_id[0])) {
		snprintf(err, errlen,
			 "the keys directory %s is empty, but the store %s "
			 "holds data%s%s: give this store's --keys (restore "
			 "them from your backup); new keys could never read "
			 "it, so none were made",
			 cfg->keys, cfg->store_shown,
			 facts.kek_id[0] ? " under key-encryption key id " : "",
			 facts.kek_id);
		goto fail;
	}
	if (absent && (flags & APP_OPEN_CREATE) &&
	    keys_init(cfg->keys, &a->keys, err, errlen) != 0)
		goto fail;
	if (!absent && app_keys_check(a, &facts, err, errlen) != 0)
		goto fail;
	if (a->keys) { /* aliases and handles hashed and sealed (sealed.h) */
		a->codec = calloc(1, sizeof(*a->codec));
		if (a->codec == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		sealed_codec(a->keys, a->codec);
		store_set_codec(a->store, a->codec);
	}
	int migrated = store_migrate(a->store, &a->migrations_applied,
				     &a->schema_version);
	if (migrated != STORE_OK) {
		snprintf(err, errlen, "cannot migrate the store %s%s",
			 cfg->store_shown,
			 migrated == STORE_INVALID
				 ? ": the role may not create tables in schema "
				   "public: make it the database's owner"
				 : "");
		goto fail;
	}
	if (a->keys && (app_keys_record(a, &facts, err, errlen) != 0 ||
			app_keys_bind(a, &facts, err, errlen) != 0))
		goto fail;
	/* Content an older version kept in clear is sealed before anything
	 * is served (app/sealed.h). */
	if (a->keys && sealed_upgrade(a, NULL) != APP_OK) {
		snprintf(err, errlen,
			 "cannot seal the messages of the store %s",
			 cfg->store_shown);
		goto fail;
	}
	a->zones = zones_new();
	a->gate = gate_state_new();
	a->throttle = throttle_new();
	if (a->zones == NULL || a->gate == NULL || a->throttle == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	throttle_share(a->throttle, a->store, a->keys);
	return APP_OK;
fail:
	app_close(a);
	return status;
}

/* a->keys become k (the codec's too); the old ones are freed. */
static void app_keys_swap(struct app *a, struct keys *k)
{
	keys_free(a->keys);
	a->keys = k;
	if (a->codec)
		sealed_codec(a->keys, a->codec);
	if (a->throttle)
		throttle_share(a->throttle, a->store, a->keys);
}

enum app_status app_keys_rotate(struct app *a, char *err, size_t errlen)
{
	struct store_key_facts facts;
	struct keys *k = NULL;

	if (keys_rotate(a->cfg.keys, &k, err, errlen) != 0)
		return APP_FAULT;
	app_keys_swap(a, k);
	/* Were this to fail, the next start records the new id (app_open). */
	if (store_key_facts(a->reads, &facts) != STORE_OK ||
	    app_keys_record(a, &facts, err, errlen) != 0) {
		snprintf(err, errlen,
			 "the new key is in %s, but the store %s could not "
			 "record its id (the next command will)",
			 a->cfg.keys, a->cfg.store_shown);
		return APP_FAULT;
	}
	return APP_OK;
}

/* The persons a re-wrapping job reads at once. */
#define REWRAP_BATCH 512

/* One batch of `cmr keys rotate --wrap`: the next persons' wrapped keys
 * read through the job's transaction, and those not under the current
 * wrap key wrapped anew. */
struct rewrap_job {
	const struct keys *keys;
	int64_t after; /* the last person read (as the store orders ids) */
	int n;	       /* persons read in this batch */
	int64_t rewrapped;
	uint64_t unopened; /* a person whose key no wrap key opens, or 0 */
	struct {
		uint64_t person;
		size_t len;
		uint8_t wrapped[sizeof(((struct store_person *)0)->data_key)];
	} rows[REWRAP_BATCH];
};

static int rewrap_collect(void *arg, uint64_t person, const void *wrapped,
			  size_t len)
{
	struct rewrap_job *j = arg;
	if (j->n == REWRAP_BATCH || len > sizeof(j->rows[0].wrapped))
		return STORE_FAULT;
	j->rows[j->n].person = person;
	j->rows[j->n].len = len;
	memcpy(j->rows[j->n].wrapped, wrapped, len);
	j->n++;
	return STORE_OK;
}

static int rewrap_run(struct app_tx *t, void *arg)
{
	struct rewrap_job *j = arg;
	uint8_t dk[KEYS_DATA_KEY_BYTES], fresh[KEYS_WRAPPED_BYTES];
	int rc;

	j->n = 0;
	j->rewrapped = 0;
	rc = store_person_keys_after(t->reads, j->after, REWRAP_BATCH,
				     rewrap_collect, j);
	for (int i = 0; rc == STORE_OK && i < j->n; i++) {
		const uint8_t *w = j->rows[i].wrapped;
		size_t len = j->rows[i].len;
		if (len == 0 || keys_wrapped_current(j->keys, w, len))
			continue;
		if (keys_unwrap(j->keys, w, len, dk) != 0) {
			j->unopened = j->rows[i].person;
			rc = STORE_FAULT;
			break;
		}
		rc = keys_wrap(j->keys, dk, fresh) != 0
			     ? STORE_FAULT
			     : store_person_key_set(t->tx, j->rows[i].person, w,
						    len, fresh, sizeof(fresh));
		if (rc == STORE_CONFLICT) /* erased meanwhile: nothing to do */
			rc = STORE_OK;
		else
			j->rewrapped++;
	}
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

/* Re-wraps every data key not under the current wrap key: passes over
 * all persons until one finds nothing to do (a command that loaded the
 * keys before the rotation began may have wrapped under the old key
 * meanwhile). */
static enum app_status app_rewrap_all(struct app *a,
				      struct app_wrap_rotation *out, char *err,
				      size_t errlen)
{
	struct rewrap_job *j = calloc(1, sizeof(*j));
	int64_t pass;
	int rc = STORE_OK;

	if (j == NULL) {
		snprintf(err, errlen, "out of memory");
		return APP_FAULT;
	}
	j->keys = a->keys;
	bool first = true;
	do {
		pass = 0;
		j->after = INT64_MIN;
		do {
			rc = app_job_run(a, rewrap_run, j, false);
			if (rc != STORE_OK)
				break;
			out->persons += first ? j->n : 0;
			pass += j->rewrapped;
			if (j->n > 0)
				j->after = (int64_t)j->rows[j->n - 1].person;
		} while (j->n == REWRAP_BATCH);
		out->rewrapped += pass;
		first = false;
	} while (rc == STORE_OK && pass > 0);
	if (rc != STORE_OK && j->unopened)
		snprintf(err, errlen,
			 "the data key of person %016llx opens with no wrap "
			 "key of %s, so it cannot be wrapped anew (and that "
			 "person's data cannot be read): no key was removed "
			 "from the directory. If a backup of the keys "
			 "directory opens it, put that backup's wrap.keys "
			 "lines (or kek) back beside the current ones and "
			 "run this again",
			 (unsigned long long)j->unopened, a->cfg.keys);
	else if (rc != STORE_OK)
		snprintf(err, errlen,
			 "the store %s could not re-wrap the data keys "
			 "(nothing was removed from the keys directory): "
			 "run this again",
			 a->cfg.store_shown);
	sodium_memzero(j, sizeof(*j));
	free(j);
	return rc == STORE_OK ? APP_OK : APP_FAULT;
}

/* Records the current wrap key as the one data keys are written under:
 * from its commit on, a process still holding the old keys can store no
 * data key (store_key_wrap_fence), and every key stored before it is
 * there for the re-wrapping to see. */
static int app_wrap_record_job(struct app_tx *t, void *job)
{
	(void)job;
	char id[KEYS_WRAP_ID_BYTES * 2 + 1];
	keys_wrap_id(t->keys, id);
	return store_key_wrap_set(t->tx, id, t->now_ms / 1000);
}

enum app_status app_keys_rotate_wrap(struct app *a, bool finish,
				     struct app_wrap_rotation *out, char *err,
				     size_t errlen)
{
	struct keys *k = NULL;

	memset(out, 0, sizeof(*out));
	out->resumed = keys_wrap_retiring(a->keys) > 0;
	if (finish && !out->resumed) {
		snprintf(err, errlen,
			 "no rotation of the wrap key is under way in %s: "
			 "run cmr keys rotate --wrap first",
			 a->cfg.keys);
		return APP_INVALID;
	}
	if (!finish) {
		if (keys_wrap_rotate_begin(a->cfg.keys, &k, err, errlen) != 0)
			return APP_FAULT;
		app_keys_swap(a, k);
	}
	if (app_job_run(a, app_wrap_record_job, NULL, true) != STORE_OK) {
		snprintf(err, errlen,
			 "the store %s could not record the new wrap key: run "
			 "this again",
			 a->cfg.store_shown);
		return APP_FAULT;
	}
	out->retired = keys_wrap_retiring(a->keys);
	if (app_rewrap_all(a, out, err, errlen) != APP_OK)
		return APP_FAULT;
	if (finish) {
		if (keys_wrap_rotate_end(a->cfg.keys, &k, err, errlen) != 0)
			return APP_FAULT;
		app_keys_swap(a, k);
	}
	keys_wrap_id(a->keys, out->wrap_id);
	return APP_OK;
}

void app_close(struct app *a)
{
	store_close(a->store);
	gate_state_free(a->gate);
	throttle_free(a->throttle);
	zones_free(a->zones);
	keys_free(a->keys);
	free(a->codec);
	memset(a, 0, sizeof(*a));
}

json_t *app_time_json(int64_t t)
{
	if (t == 0)
		return json_null();
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];
	if (gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

bool app_time_parse(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 ||
	    n != 19)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 ||
		    oh > 23 || om > 59)
			return false;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59 || y < 1970)
		return false;
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = sec };
	time_t v = timegm(&tm);
	if (v == (time_t)-1)
		return false;
	struct tm back;
	gmtime_r(&v, &back);
	if (back.tm_mday != d) /* 31 February and friends */
		return false;
	*t = (int64_t)v - off;
	return true;
}

/* The store's job: the use case's job with its transaction context. */
static int app_job_call(struct store_tx *tx, void *arg)
{
	struct app_pending *p = arg;
	struct app *a = p->app;
	struct app_tx t = { .tx = tx,
			    .reads = store_tx_reads(tx),
			    .cfg = &a->cfg,
			    .keys = a->keys,
			    .zones = a->zones,
			    .gate = a->gate,
			    .now_ms = app_now_ms() };
	return p->run(&t, p->job);
}

static void app_job_done(void *arg, int status)
{
	struct app_pending *p = arg;
	p->done(p->arg, status);
}

int app_job_run(struct app *a, app_job_fn run, void *job, bool alone)
{
	struct app_pending p = { .app = a, .run = run, .job = job };
	return alone ? store_write_alone(a->store, app_job_call, &p)
		     : store_write(a->store, app_job_call, &p);
}

enum app_status app_job_start(struct app *a, struct app_pending *p,
			      app_job_fn run, void *job, bool alone,
			      void (*done)(void *arg, int status), void *arg)
{
	*p = (struct app_pending){ a, run, job, done, arg };
	return store_write_async_ex(a->store, app_job_call, p, app_job_done,
				    alone) == STORE_OK
		       ? APP_OK
		       : APP_FAULT;
}

enum app_status app_write_run(struct app *a, struct app_write *w,
			      struct app_error *err)
{
	int rc = app_job_run(a, w->run, w->job, w->alone);
	int status = w->finish(w->job, rc, err);
	w->release(w->job);
	return status;
}

/* The store's lock was lost and taken again (store_listen): are the keys
 * this server loaded under it still the store's? On the store's thread;
 * a->keys stay as loaded in a server. False: it could not read them. */
static bool app_relocked(void *arg)
{
	struct app *a = arg;
	struct store_key_facts f;
	char why[1024];

	if (store_key_facts(a->reads, &f) != STORE_OK) {
		log_debug("keys: cannot read the store's key ids yet, to "
			  "check them after its lock was taken again");
		return false;
	}
	/* The check of every start (app_open). */
	if (app_keys_check(a, &f, why, sizeof(why)) == 0)
		return true;
	log_warn("keys: a cmr keys rotate ran while this server had lost the "
		 "store's lock, and the keys it loaded are no longer the "
		 "store's (%s): it stops (start it again: it loads them from "
		 "%s)",
		 why, a->cfg.keys);
	if (a->keys_gone)
		a->keys_gone(a->keys_gone_arg);
	return true;
}

enum app_status app_hear_others(struct app *a, void (*keys_gone)(void *arg),
				void *arg)
{
	a->keys_gone = keys_gone;
	a->keys_gone_arg = arg;
	return store_listen(a->store, gate_state_stale,
			    a->keys ? app_relocked : NULL, a) == STORE_OK
		       ? APP_OK
		       : APP_FAULT;
}
