/*
 * sealed.c — a person's message content sealed with their data key (see
 * sealed.h).
 */
#include "app/sealed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "base/log.h"
#include "store/store.h"

#define SEALED_DEDUP_KIND "cmr-dedup-v1"
#define SEALED_BATCH	  256 /* rows sealed per upgrade transaction */

enum app_status sealed_key(struct store_rd *reads, struct keys *keys,
			   uint64_t person, struct sealed_key *k)
{
	if (k->person == person && person != 0)
		return APP_OK;
	sealed_key_clear(k);
	uint8_t wrapped[96];
	size_t wrapped_len = 0;
	char *profile = NULL;
	int rc = store_person_profile(reads, person, wrapped, &wrapped_len,
				      &profile);
	free(profile); /* sealed; not needed here */
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && wrapped_len == 0))
		return APP_NOT_FOUND;
	if (rc != STORE_OK)
		return APP_FAULT;
	if (keys_unwrap(keys, wrapped, wrapped_len, k->dk) != 0) {
		log_warn("sealed: the data key of a person does not unwrap");
		return APP_FAULT;
	}
	k->person = person;
	return APP_OK;
}

void sealed_key_clear(struct sealed_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

void sealed_attempt_clear(struct sealed_attempt *s)
{
	free(s->sender);
	free(s->subject);
	free(s->headers);
	free(s->body);
	memset(s, 0, sizeof(*s));
}

/* Seals v[0..len) into *out (NULL stays NULL). */
static int seal_one(const struct sealed_key *k, const void *v, size_t len,
		    uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (v == NULL)
		return 0;
	return keys_seal_bytes(k->dk, v, len, out, out_len);
}

int sealed_dedup(const struct sealed_key *k, const uint8_t in[16],
		 uint8_t out[16])
{
	return keys_data_hash(k->dk, SEALED_DEDUP_KIND, in, 16, out, 16);
}

int sealed_attempt(const struct sealed_key *k, struct store_attempt *at,
		   struct sealed_attempt *s)
{
	memset(s, 0, sizeof(*s));
	size_t sender_len, subject_len, headers_len, body_len;
	const char *sender = at->sender, *subject = at->subject;
	if ((at->dedup && sealed_dedup(k, at->dedup, s->dedup) != 0) ||
	    seal_one(k, sender, sender ? strlen(sender) : 0, &s->sender,
		     &sender_len) != 0 ||
	    seal_one(k, subject, subject ? strlen(subject) : 0, &s->subject,
		     &subject_len) != 0 ||
	    seal_one(k, at->headers, at->headers_len, &s->headers,
		     &headers_len) != 0 ||
	    seal_one(k, at->body, at->body_len, &s->body, &body_len) != 0) {
		sealed_attempt_clear(s);
		return -1;
	}
	at->sender = s->sender;
	at->sender_len = sender_len;
	at->subject = s->subject;
	at->subject_len = subject_len;
	at->headers = s->headers;
	at->headers_len = headers_len;
	at->body = s->body;
	at->body_len = body_len;
	if (at->dedup)
		at->dedup = s->dedup;
	at->sealed = true;
	return 0;
}

int sealed_open(const struct sealed_key *k, bool sealed, char **value,
		size_t *len)
{
	if (*value == NULL || !sealed)
		return 0;
	char *plain = NULL;
	size_t plain_len = 0;
	int rc = keys_open_bytes(k->dk, *value, *len, &plain, &plain_len);
	free(*value);
	*value = plain;
	*len = plain_len;
	return rc;
}

char *sealed_text(const struct sealed_key *k, bool sealed, const char *value,
		  size_t len, size_t *out_len, bool *fault)
{
	char *out = NULL;
	*out_len = 0;
	if (value == NULL)
		return NULL;
	if (sealed) {
		if (keys_open_bytes(k->dk, value, len, &out, out_len) != 0)
			*fault = true;
		return out;
	}
	out = malloc(len + 1);
	if (out == NULL) {
		*fault = true;
		return NULL;
	}
	memcpy(out, value, len);
	out[len] = '\0';
	*out_len = len;
	return out;
}

enum app_status sealed_message(struct store_rd *reads, struct keys *keys,
			       uint64_t id, struct store_message *m)
{
	int rc = store_message_get(reads, id, m);
	if (rc != STORE_OK)
		return app_from_store(rc);
	struct sealed_key k = { 0 };
	if ((m->subject_sealed || m->headers_sealed || m->body_sealed) &&
	    (sealed_key(reads, keys, m->person, &k) != APP_OK ||
	     sealed_open(&k, m->subject_sealed, &m->subject, &m->subject_len) !=
		     0 ||
	     sealed_open(&k, m->headers_sealed, &m->headers, &m->headers_len) !=
		     0 ||
	     sealed_open(&k, m->body_sealed, &m->body, &m->body_len) != 0)) {
		sealed_key_clear(&k);
		sealed_message_clear(m);
		log_warn("sealed: the message of a person does not open");
		return APP_FAULT;
	}
	sealed_key_clear(&k);
	m->subject_sealed = m->headers_sealed = m->body_sealed = false;
	return APP_OK;
}

void sealed_message_clear(struct store_message *m)
{
	keys_free_plain(m->subject, m->subject_len);
	keys_free_plain(m->headers, m->headers_len);
	keys_free_plain(m->body, m->body_len);
	m->subject = m->headers = m->body = NULL;
	store_message_clear(m);
}

/* ---- Sealing what an older store kept in clear ---- */

/* One row of a batch: copied out of the read in clear, then sealed. */
struct plain_row {
	uint64_t id, person;
	uint8_t *value[4]; /* subject, sender, headers, body (owned) */
	size_t len[4];
	bool has_dedup;
	uint8_t dedup[16];
};

struct upgrade_job {
	struct keys *keys;
	struct plain_row rows[SEALED_BATCH];
	int n;
	bool fault;
	int64_t sealed; /* rows sealed so far */
};

static uint8_t *copy_bytes(const void *v, size_t len, bool *fault)
{
	if (v == NULL)
		return NULL;
	uint8_t *out = malloc(len ? len : 1);
	if (out == NULL)
		*fault = true;
	else if (len)
		memcpy(out, v, len);
	return out;
}

static int upgrade_collect(const struct store_attempt_content *c, void *arg)
{
	struct upgrade_job *j = arg;
	struct plain_row *r = &j->rows[j->n++];
	memset(r, 0, sizeof(*r));
	r->id = c->id;
	r->person = c->person;
	const void *v[4] = { c->subject, c->sender, c->headers, c->body };
	size_t len[4] = { c->subject_len, c->sender_len, c->headers_len,
			  c->body_len };
	for (int i = 0; i < 4; i++) {
		r->value[i] = copy_bytes(v[i], len[i], &j->fault);
		r->len[i] = len[i];
	}
	if (c->dedup) {
		r->has_dedup = true;
		memcpy(r->dedup, c->dedup, 16);
	}
	return j->fault ? 1 : 0;
}

static void upgrade_rows_clear(struct upgrade_job *j)
{
	for (int i = 0; i < j->n; i++)
		for (int f = 0; f < 4; f++) {
			if (j->rows[i].value[f])
				sodium_memzero(j->rows[i].value[f],
					       j->rows[i].len[f]);
			free(j->rows[i].value[f]);
		}
	j->n = 0;
}

/* Seals row r in place (its values become their sealed forms). */
static int upgrade_seal_row(const struct sealed_key *k, struct plain_row *r)
{
	for (int f = 0; f < 4; f++) {
		uint8_t *sealed;
		size_t sealed_len;
		if (r->value[f] == NULL)
			continue;
		if (keys_seal_bytes(k->dk, r->value[f], r->len[f], &sealed,
				    &sealed_len) != 0)
			return -1;
		sodium_memzero(r->value[f], r->len[f]);
		free(r->value[f]);
		r->value[f] = sealed;
		r->len[f] = sealed_len;
	}
	if (r->has_dedup && sealed_dedup(k, r->dedup, r->dedup) != 0)
		return -1;
	return 0;
}

static int upgrade_run(struct store_tx *tx, void *arg)
{
	struct upgrade_job *j = arg;
	struct store_rd *reads = store_tx_reads(tx);
	struct sealed_key key = { 0 };
	j->n = 0;
	j->fault = false;
	int rc = store_attempt_plain(reads, SEALED_BATCH, upgrade_collect, j);
	if (rc == STORE_OK && j->fault)
		rc = STORE_FAULT;
	for (int i = 0; rc == STORE_OK && i < j->n; i++) {
		struct plain_row *r = &j->rows[i];
		int st = sealed_key(reads, j->keys, r->person, &key);
		if (st == APP_NOT_FOUND) {
			/* An erased person's leftovers: nothing can seal them
			 * any more, and nobody may read them. */
			for (int f = 0; f < 4; f++) {
				if (r->value[f])
					sodium_memzero(r->value[f], r->len[f]);
				free(r->value[f]);
				r->value[f] = NULL;
			}
			r->has_dedup = false;
		} else if (st != APP_OK || upgrade_seal_row(&key, r) != 0) {
			rc = STORE_FAULT;
			break;
		}
		struct store_attempt_content c = {
			.id = r->id,
			.person = r->person,
			.subject = r->value[0],
			.subject_len = r->len[0],
			.sender = r->value[1],
			.sender_len = r->len[1],
			.headers = r->value[2],
			.headers_len = r->len[2],
			.body = r->value[3],
			.body_len = r->len[3],
			.dedup = r->has_dedup ? r->dedup : NULL,
		};
		rc = store_attempt_seal(tx, &c);
	}
	sealed_key_clear(&key);
	if (rc == STORE_OK)
		j->sealed += j->n;
	/* The old plaintext must not outlive the batch in the WAL either
	 * (secure_delete clears it from the database's pages). */
	if (rc == STORE_OK && j->n < SEALED_BATCH && j->sealed > 0)
		store_tx_checkpoint(tx);
	return rc;
}

static int codec_hash(void *arg, const char *kind, const char *value,
		      char out[STORE_HASH_HEX + 1])
{
	char lower[321]; /* the longest address, and a NUL */
	size_t len = strlen(value);
	if (strcmp(kind, "alias") == 0) {
		if (len >= sizeof(lower))
			return -1;
		for (size_t i = 0; i <= len; i++)
			lower[i] = (char)(value[i] >= 'A' && value[i] <= 'Z'
						  ? value[i] - 'A' + 'a'
						  : value[i]);
		value = lower;
	}
	return keys_tombstone(arg, kind, value, len, out);
}

/* ---- The codec's data keys, unwrapped once for consecutive calls ----
 *
 * The store calls the codec once per value with the person's wrapped key
 * (a relationship read opens its alias and its terms, a person's read the
 * handle and the folders, a bulk read each row's), and each call used to
 * unwrap it again. Each thread keeps the last few keys it unwrapped,
 * keyed by the exact wrapped bytes and the id of the KEK that unwrapped
 * them (keys_kek_id: another struct keys at the same address, with
 * another KEK, finds nothing of the first's). A key is zeroed when it is
 * evicted, when it has not been used for CODEC_KEY_MS (at the thread's
 * next call of the codec), and when the thread ends. A wrong or altered
 * blob is never in the cache: only what keys_unwrap opened is. */
#define CODEC_KEYS   4	  /* keys a thread keeps */
#define CODEC_KEY_MS 1000 /* unused for longer: zeroed */

struct codec_key {
	bool used;		   /* false: a free slot */
	char kek[KEYS_ID_LEN + 1]; /* keys_kek_id of what unwrapped it */
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	int64_t used_ms; /* last use, CLOCK_MONOTONIC_COARSE */
};

static _Thread_local struct codec_key codec_keys[CODEC_KEYS];
static _Thread_local bool codec_keys_registered;
static pthread_key_t codec_keys_exit;
static pthread_once_t codec_keys_once = PTHREAD_ONCE_INIT;

/* At a thread's end (its keys' address is the value of codec_keys_exit). */
static void codec_keys_zero(void *keys)
{
	sodium_memzero(keys, sizeof(codec_keys));
}

static void codec_keys_start(void)
{
	if (pthread_key_create(&codec_keys_exit, codec_keys_zero) != 0)
		log_warn("sealed: a thread's cached data keys will not be "
			 "zeroed when it ends");
}

static int64_t codec_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The data key that `wrapped` wraps, into dk: from this thread's cache
 * when it unwrapped the same bytes lately, else keys_unwrap. Returns 0,
 * or -1 (dk zeroed). */
static int codec_unwrap(const struct keys *keys, const void *wrapped,
			size_t len, uint8_t dk[KEYS_DATA_KEY_BYTES])
{
	if (len != KEYS_WRAPPED_BYTES || wrapped == NULL)
		return keys_unwrap(keys, wrapped, len, dk); /* refuses it */
	if (!codec_keys_registered) {
		pthread_once(&codec_keys_once, codec_keys_start);
		codec_keys_registered =
			pthread_setspecific(codec_keys_exit, codec_keys) == 0;
	}
	int64_t now = codec_now_ms();
	const char *kek = keys_kek_id(keys);
	struct codec_key *slot = &codec_keys[0];
	for (int i = 0; i < CODEC_KEYS; i++) {
		struct codec_key *c = &codec_keys[i];
		if (c->used && now - c->used_ms > CODEC_KEY_MS)
			sodium_memzero(c, sizeof(*c));
		if (c->used && memcmp(c->wrapped, wrapped, len) == 0 &&
		    strcmp(c->kek, kek) == 0) {
			c->used_ms = now;
			memcpy(dk, c->dk, KEYS_DATA_KEY_BYTES);
			return 0;
		}
		if (slot->used && (!c->used || c->used_ms < slot->used_ms))
			slot = c; /* a free one, else the least recently used */
	}
	if (keys_unwrap(keys, wrapped, len, dk) != 0)
		return -1;
	sodium_memzero(slot, sizeof(*slot));
	slot->used = strlen(kek) < sizeof(slot->kek);
	if (!slot->used)
		return 0; /* an id of another length: not cached */
	memcpy(slot->kek, kek, strlen(kek) + 1);
	memcpy(slot->wrapped, wrapped, len);
	memcpy(slot->dk, dk, KEYS_DATA_KEY_BYTES);
	slot->used_ms = now;
	return 0;
}

static int codec_seal(void *arg, const void *wrapped, size_t len,
		      const char *value, char **out)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	*out = NULL;
	int rc = codec_unwrap(arg, wrapped, len, dk);
	if (rc == 0)
		rc = keys_seal(dk, value, strlen(value), out);
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

static int codec_open(void *arg, const void *wrapped, size_t len,
		      const char *sealed, char **out)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	char *plain = NULL;
	size_t plain_len = 0;
	*out = NULL;
	int rc = codec_unwrap(arg, wrapped, len, dk);
	if (rc == 0)
		rc = keys_open(dk, sealed, &plain, &plain_len);
	sodium_memzero(dk, sizeof(dk));
	if (rc == 0 && (*out = malloc(plain_len + 1)) != NULL)
		memcpy(*out, plain, plain_len + 1);
	else
		rc = -1;
	keys_free_plain(plain, plain_len);
	return rc;
}

/* A folder name inside terms, sealed: the prefix (never in a folder
 * name, terms_folder_name_ok) and keys_seal's base64url. The built-in
 * folders name nobody and stay as they are, so that most terms read
 * back without a key or a parse. */
#define SEALED_FOLDER "sealed:"

static bool folder_builtin(const char *name)
{
	return strcmp(name, "inbox") == 0 || strcmp(name, "later") == 0;
}

/* One folder name of terms, sealed or opened in place. */
static int terms_folder(json_t *v, const uint8_t dk[KEYS_DATA_KEY_BYTES],
			bool seal)
{
	const char *name = json_string_value(v);
	if (name == NULL)
		return 0; /* not a name: the terms parser judges it */
	size_t pre = strlen(SEALED_FOLDER);
	bool sealed = strncmp(name, SEALED_FOLDER, pre) == 0;
	char *s = NULL;
	size_t n = 0;
	int rc;
	if (seal && !sealed && !folder_builtin(name)) {
		char *b64 = NULL;
		rc = keys_seal(dk, name, strlen(name), &b64);
		if (rc == 0 && (s = malloc(pre + strlen(b64) + 1)) != NULL)
			snprintf(s, pre + strlen(b64) + 1, "%s%s",
				 SEALED_FOLDER, b64);
		free(b64);
		rc = s ? json_string_set(v, s) : -1;
		free(s);
		return rc;
	}
	if (seal || !sealed)
		return 0;
	rc = keys_open(dk, name + pre, &s, &n);
	if (rc == 0)
		rc = json_string_set(v, s);
	keys_free_plain(s, n);
	return rc;
}

/* Whether terms name only built-in folders, told from the text without
 * a parse: every "folder" is followed by :"inbox" or :"later" and every
 * "topic_folders" by :{} — the compact JSON the app writes (terms_to_json)
 * for most terms. Without a backslash every quote delimits a string, so
 * no key can hide inside one or be spelt with escapes; any other text (an
 * escape, spaces, a name of the person's, a "folder" anywhere else) says
 * no, and is parsed. */
static bool terms_folders_builtin(const char *terms)
{
	static const char *const keys[] = { "\"folder\"", "\"topic_folders\"" };
	static const char *const builtin[][2] = {
		{ ":\"inbox\"", ":\"later\"" },
		{ ":{}", ":{}" },
	};
	if (strchr(terms, '\\') != NULL)
		return false;
	for (int k = 0; k < 2; k++) {
		size_t n = strlen(keys[k]);
		for (const char *p = terms; (p = strstr(p, keys[k])) != NULL;
		     p += n) {
			const char *v = p + n;
			if (strncmp(v, builtin[k][0], strlen(builtin[k][0])) &&
			    strncmp(v, builtin[k][1], strlen(builtin[k][1])))
				return false;
		}
	}
	return true;
}

static int codec_terms(void *arg, const void *wrapped, size_t len,
		       const char *terms, bool seal, char **out)
{
	*out = NULL;
	/* Nothing to seal or open: the text as it is. */
	if ((seal && terms_folders_builtin(terms)) ||
	    (!seal && strstr(terms, SEALED_FOLDER) == NULL)) {
		*out = strdup(terms);
		return *out ? 0 : -1;
	}
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	json_t *j = json_loads(terms, 0, NULL);
	int rc = j && json_is_object(j) ? codec_unwrap(arg, wrapped, len, dk)
					: -1;
	if (rc == 0) {
		json_t *tf = json_object_get(j, "topic_folders"), *v;
		const char *topic;
		if ((v = json_object_get(j, "folder")) != NULL)
			rc = terms_folder(v, dk, seal);
		if (json_is_object(tf))
			json_object_foreach (tf, topic, v)
				if (rc == 0)
					rc = terms_folder(v, dk, seal);
		sodium_memzero(dk, sizeof(dk));
	}
	/* Canonical JSON, as the app writes terms (terms_to_json). */
	if (rc == 0)
		*out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return *out ? 0 : -1;
}

static int codec_seal_terms(void *arg, const void *wrapped, size_t len,
			    const char *terms, char **out)
{
	return codec_terms(arg, wrapped, len, terms, true, out);
}

static int codec_open_terms(void *arg, const void *wrapped, size_t len,
			    const char *terms, char **out)
{
	return codec_terms(arg, wrapped, len, terms, false, out);
}

void sealed_codec(struct keys *keys, struct store_codec *c)
{
	*c = (struct store_codec){ .arg = keys,
				   .hash = codec_hash,
				   .seal = codec_seal,
				   .open = codec_open,
				   .seal_terms = codec_seal_terms,
				   .open_terms = codec_open_terms };
}

static int clear_run(struct store_tx *tx, void *arg)
{
	int64_t *n = arg;
	int rc = store_seal_clear(tx, SEALED_BATCH, n);
	/* The clear values must not outlive the batch in SQLite's WAL
	 * (secure_delete clears them from the pages). */
	if (rc == STORE_OK && *n > 0)
		store_tx_checkpoint(tx);
	return rc;
}

/* The aliases, own addresses and handles kept in clear, a batch at a
 * time: *n gets how many. */
static int upgrade_clear(struct app *a, int64_t *n)
{
	int64_t batch;
	int rc;
	*n = 0;
	do {
		batch = 0;
		rc = store_write(a->store, clear_run, &batch);
		*n += batch;
	} while (rc == STORE_OK && batch == SEALED_BATCH);
	if (rc == STORE_OK && *n > 0)
		log_info("sealed: hashed and sealed %lld aliases, addresses "
			 "and handles kept in clear by an older version",
			 (long long)*n);
	return rc;
}

enum app_status sealed_upgrade(struct app *a, int64_t *n)
{
	int64_t names = 0;
	if (upgrade_clear(a, &names) != STORE_OK)
		return APP_FAULT;
	struct upgrade_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return APP_FAULT;
	j->keys = a->keys;
	int rc;
	do {
		rc = store_write(a->store, upgrade_run, j);
		int batch = j->n;
		upgrade_rows_clear(j);
		if (rc != STORE_OK || batch < SEALED_BATCH)
			break;
	} while (1);
	if (n)
		*n = j->sealed;
	if (rc == STORE_OK && j->sealed > 0)
		log_info("sealed: sealed the content of %lld messages kept in "
			 "clear by an older version",
			 (long long)j->sealed);
	free(j);
	return rc == STORE_OK ? APP_OK : APP_FAULT;
}
