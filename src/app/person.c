/*
 * person.c — sign-up and the password rules (see person.h).
 */
#include "app/person.h"

#include <pthread.h>
#include <semaphore.h>
#include <ctype.h>
#include <pwquality.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "app/ledger.h"
#include "app/throttle.h"
#include "app/zone.h"
#include "app/gate_state.h"
#include "app/message.h"
#include "app/scheduler.h"
#include "core/merge_patch.h"
#include "core/field.h"
#include "core/terms.h"
#include "store/store.h"

/* At most two argon2id computations at once: each takes 64 MiB and most
 * of a core for a moment, and a burst of log-ins must not starve the
 * writer or exhaust memory. */
static sem_t person_hash_slots;
static pthread_once_t person_hash_once = PTHREAD_ONCE_INIT;

static void person_hash_init(void)
{
	sem_init(&person_hash_slots, 0, 2);
}

enum app_status person_handle_check(const char *handle, char *norm,
				    struct app_error *err)
{
	size_t n = strlen(handle);
	if (n < PERSON_HANDLE_MIN || n > PERSON_HANDLE_MAX)
		return app_fail(err, APP_INVALID, "handle",
				"a handle has %d to %d characters",
				PERSON_HANDLE_MIN, PERSON_HANDLE_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = handle[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return app_fail(err, APP_INVALID, "handle",
					"a handle is made of letters, digits, "
					"'.', '_' and '-', and starts with a "
					"letter or a digit");
		norm[i] = c;
	}
	norm[n] = '\0';
	return APP_OK;
}

/* The word at the heart of a password, lower case: the letters between
 * the digits and signs it starts and ends with, with the usual l33t
 * replacements inside undone ("P@ssw0rd1234" is "password"). */
static void person_password_core(const char *pw, char *out, size_t size)
{
	static const char leet_from[] = "@4301!$57", leet_to[] = "aaeoliist";
	size_t n = strlen(pw), b = 0, e = n, k = 0;
	while (b < n && !isalpha((unsigned char)pw[b]))
		b++;
	while (e > b && !isalpha((unsigned char)pw[e - 1]))
		e--;
	for (size_t i = b; i < e && k + 1 < size; i++) {
		const char *l = strchr(leet_from, pw[i]);
		out[k++] = l && pw[i] ? leet_to[l - leet_from]
				      : (char)tolower((unsigned char)pw[i]);
	}
	out[k] = '\0';
}

/* cracklib, under libpwquality, keeps its dictionary in static state:
 * two checks at once (two sign-ups on the server's two event threads)
 * fail with "error loading dictionary". One at a time. */
static pthread_mutex_t person_pwquality_lock = PTHREAD_MUTEX_INITIALIZER;

/* libpwquality's verdict on pw (at least min bytes): APP_OK, or
 * APP_INVALID with its reason. */
static enum app_status person_pwquality(const char *pw, int min,
					const char *handle,
					struct app_error *err)
{
	pwquality_settings_t *s = pwquality_default_settings();
	if (s == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	pwquality_set_int_value(s, PWQ_SETTING_MIN_LENGTH, min);
	void *aux = NULL;
	pthread_mutex_lock(&person_pwquality_lock);
	int score = pwquality_check(s, pw, NULL, handle, &aux);
	char why[PWQ_MAX_ERROR_MESSAGE_LEN];
	enum app_status rc = APP_OK;
	if (score < 0) {
		const char *text =
			pwquality_strerror(why, sizeof(why), score, aux);
		rc = app_fail(err, APP_INVALID, "password",
			      "this password is too easy to guess: %s",
			      text ? text : "libpwquality refused it");
	}
	pthread_mutex_unlock(&person_pwquality_lock);
	pwquality_free_settings(s);
	return rc;
}

enum app_status person_password_check(const char *password, const char *handle,
				      struct app_error *err)
{
	size_t n = strlen(password);
	if (n < PERSON_PASSWORD_MIN)
		return app_fail(err, APP_INVALID, "password",
				"a password has at least %d characters",
				PERSON_PASSWORD_MIN);
	if (n > PERSON_PASSWORD_MAX)
		return app_fail(err, APP_INVALID, "password",
				"a password has at most %d characters",
				PERSON_PASSWORD_MAX);
	enum app_status rc =
		person_pwquality(password, PERSON_PASSWORD_MIN, handle, err);
	char core[PERSON_PASSWORD_MAX + 1];
	person_password_core(password, core, sizeof(core));
	/* The core alone, when it is a word of some length: "iloveyou" */
	if (rc == APP_OK && strlen(core) >= 6 && strcmp(core, password) != 0)
		rc = person_pwquality(core, 6, NULL, err);
	sodium_memzero(core, sizeof(core));
	return rc;
}

enum app_status person_password_hash(const char *password, char *out,
				     size_t size)
{
	if (size < crypto_pwhash_STRBYTES)
		return APP_FAULT;
	pthread_once(&person_hash_once, person_hash_init);
	sem_wait(&person_hash_slots);
	int rc = crypto_pwhash_str(out, password, strlen(password),
				   crypto_pwhash_OPSLIMIT_INTERACTIVE,
				   crypto_pwhash_MEMLIMIT_INTERACTIVE);
	sem_post(&person_hash_slots);
	if (rc != 0) {
		log_warn("person: password hash failed (out of memory?)");
		return APP_FAULT;
	}
	return APP_OK;
}

bool person_password_verify(const char *hash, const char *password)
{
	pthread_once(&person_hash_once, person_hash_init);
	sem_wait(&person_hash_slots);
	int rc = crypto_pwhash_str_verify(hash, password, strlen(password));
	sem_post(&person_hash_slots);
	return rc == 0;
}

struct person_add_job {
	struct store_person p;
	uint64_t *id_out;
	bool stale_keys; /* the store's wrap key is not the one used */
};

static int person_add_run(struct app_tx *t, void *arg)
{
	struct person_add_job *j = arg;
	char wrap_id[KEYS_WRAP_ID_BYTES * 2 + 1];
	/* Only under the wrap key the store says is current: one a rotation
	 * retires meanwhile would be destroyed with this key under it. */
	if (!keys_wrapped_id(j->p.data_key, j->p.data_key_len, wrap_id))
		return STORE_FAULT;
	int rc = store_key_wrap_fence(t->tx, wrap_id);
	if (rc == STORE_INVALID)
		j->stale_keys = true;
	return rc == STORE_OK ? store_person_insert(t->tx, &j->p) : rc;
}

static enum app_status person_add_finish(void *job, int rc,
					 struct app_error *err)
{
	struct person_add_job *j = job;
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "handle",
				"the handle is taken");
	if (j->stale_keys)
		return app_fail(err, APP_FAULT, NULL,
				"the keys changed (cmr keys rotate --wrap ran "
				"since they were loaded): restart the server, "
				"or run the command again");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store could not record the person");
	*j->id_out = j->p.id;
	return APP_OK;
}

static void person_add_release(void *job)
{
	struct person_add_job *j = job;
	free(j->p.global_terms);
	sodium_memzero(j, sizeof(*j));
	free(j);
}

enum app_status person_add_begin(struct app *a, const char *handle,
				 const char *password, uint64_t *id,
				 struct app_write *w, struct app_error *err)
{
	uint8_t data_key[KEYS_DATA_KEY_BYTES];
	struct global_terms g;
	int rc;

	struct person_add_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	struct store_person *p = &j->p;
	if ((rc = person_handle_check(handle, p->handle, err)) != APP_OK ||
	    (rc = person_password_check(password, p->handle, err)) != APP_OK) {
		free(j);
		return rc;
	}
	if (person_password_hash(password, p->password_hash,
				 sizeof(p->password_hash)) != APP_OK) {
		free(j);
		return app_fail(err, APP_FAULT, NULL,
				"cannot hash the password");
	}
	if (keys_new_data_key(data_key) != 0 ||
	    keys_wrap(a->keys, data_key, p->data_key) != 0) {
		sodium_memzero(data_key, sizeof(data_key));
		person_add_release(j);
		return app_fail(err, APP_FAULT, NULL, "cannot make a data key");
	}
	sodium_memzero(data_key, sizeof(data_key));
	p->data_key_len = KEYS_WRAPPED_BYTES;
	global_terms_default(&g);
	json_t *gj = global_terms_to_json(&g);
	p->global_terms =
		gj ? json_dumps(gj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(gj);
	if (p->global_terms == NULL) {
		person_add_release(j);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	p->id = store_new_key();
	p->created_at = app_now_ms() / 1000;
	j->id_out = id;
	*w = (struct app_write){ person_add_run, j, false, person_add_finish,
				 person_add_release };
	return APP_OK;
}

enum app_status person_add(struct app *a, const char *handle,
			   const char *password, uint64_t *id,
			   struct app_error *err)
{
	struct app_write w;
	int rc = person_add_begin(a, handle, password, id, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

struct profile_job {
	uint64_t person;
	char *sealed;
	json_t *ledger_data;
	int64_t now_ms;
	bool patch; /* a merge patch: the profile must still be `base` */
	char *base; /* the sealed profile it was merged onto, or NULL */
};

/* Whether the stored value a patch was merged onto is still there (two
 * patches at once must not undo one another): NULL and NULL, or the same
 * string. */
static bool person_base_holds(const char *base, const char *now)
{
	return (base == NULL && now == NULL) ||
	       (base != NULL && now != NULL && strcmp(base, now) == 0);
}

static enum app_status profile_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, NULL,
				"the profile changed meanwhile; send the "
				"patch again");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store could not record the profile");
	return APP_OK;
}

static void profile_release(void *job)
{
	struct profile_job *j = job;
	json_decref(j->ledger_data);
	free(j->sealed);
	free(j->base);
	free(j);
}

static int profile_run(struct app_tx *t, void *arg)
{
	struct profile_job *j = arg;
	if (j->patch) {
		uint8_t wrapped[96];
		size_t wrapped_len;
		char *now = NULL;
		int rc = store_person_profile(t->reads, j->person, wrapped,
					      &wrapped_len, &now);
		bool holds = rc == STORE_OK && person_base_holds(j->base, now);
		free(now);
		if (rc != STORE_OK)
			return rc;
		if (!holds)
			return STORE_CONFLICT;
	}
	int rc = store_person_set(t->tx, j->person, STORE_PERSON_PROFILE,
				  j->sealed);
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->person, "person",
				   "profile.changed", 0, j->ledger_data,
				   j->now_ms);
	return rc;
}

/* A profile is an object of fields of the vocabulary (core/field.h), each
 * a string of the shape its field wants. */
static enum app_status profile_check(const json_t *profile,
				     struct app_error *err)
{
	const char *k;
	json_t *v;
	char names[200], why[300];

	if (!json_is_object(profile))
		return app_fail(err, APP_INVALID, "",
				"a profile is an object of field name to "
				"string");
	field_vocabulary_list(names, sizeof(names));
	json_object_foreach ((json_t *)profile, k, v) {
		const struct field *f = field_find(k);
		if (f == NULL)
			return app_fail(err, APP_INVALID, k,
					"\"%s\" is not a profile field; the "
					"fields are %s",
					k, names);
		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return app_fail(err, APP_INVALID, k,
					"a field's value is a string");
		if (!field_value_ok(f, json_string_value(v), why, sizeof(why)))
			return app_fail(err, APP_INVALID, k, "%s", why);
	}
	return APP_OK;
}

/* Seals a checked profile and fills the write (see profile_begin). */
static enum app_status profile_seal(struct app *a, uint64_t person,
				    const json_t *profile, const json_t *named,
				    bool patch, char *base, struct app_write *w,
				    struct app_error *err)
{
	struct store_person sp;
	uint8_t data_key[KEYS_DATA_KEY_BYTES];
	const char *k;
	json_t *v;

	json_t *names = json_array();
	json_object_foreach ((json_t *)named, k, v) {
		json_array_append_new(names, json_string(k));
	}
	if (store_person_get(a->reads, person, NULL, &sp) != STORE_OK) {
		json_decref(names);
		free(base);
		return app_fail(err, APP_NOT_FOUND, NULL, "no such person");
	}
	int rc = keys_unwrap(a->keys, sp.data_key, sp.data_key_len, data_key);
	store_person_clear(&sp);
	char *text = json_dumps(profile, JSON_COMPACT | JSON_SORT_KEYS);
	struct profile_job j = { .person = person,
				 .now_ms = app_now_ms(),
				 .patch = patch,
				 .base = base };
	if (rc != 0 || text == NULL || names == NULL ||
	    keys_seal(data_key, text, strlen(text), &j.sealed) != 0) {
		sodium_memzero(data_key, sizeof(data_key));
		if (text)
			sodium_memzero(text, strlen(text));
		free(text);
		json_decref(names);
		free(base);
		return app_fail(err, APP_FAULT, NULL,
				"cannot seal the profile");
	}
	sodium_memzero(data_key, sizeof(data_key));
	sodium_memzero(text, strlen(text));
	free(text);
	j.ledger_data = json_pack("{s:o}", "fields", names);
	struct profile_job *heap = j.ledger_data ? malloc(sizeof(*heap)) : NULL;
	if (heap == NULL) {
		json_decref(j.ledger_data);
		free(j.sealed);
		free(base);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	*heap = j;
	*w = (struct app_write){ profile_run, heap, false, profile_finish,
				 profile_release };
	return APP_OK;
}

/* What a PUT and a PATCH of the profile share: profile is the whole new
 * profile, validated here; the ledger names the keys of `named` (the
 * profile for a PUT, the patch for a PATCH); with `patch`, the job writes
 * only while the stored profile is still `base` (owned by the job from
 * here, whatever the outcome). */
static enum app_status profile_begin(struct app *a, uint64_t person,
				     const json_t *profile, const json_t *named,
				     bool patch, char *base,
				     struct app_write *w, struct app_error *err)
{
	int rc = profile_check(profile, err);
	if (rc != APP_OK) {
		free(base);
		return rc;
	}
	return profile_seal(a, person, profile, named, patch, base, w, err);
}

enum app_status person_set_profile_begin(struct app *a, uint64_t person,
					 const json_t *profile,
					 struct app_write *w,
					 struct app_error *err)
{
	return profile_begin(a, person, profile, profile, false, NULL, w, err);
}

enum app_status person_patch_profile_begin(struct app *a, uint64_t person,
					   const json_t *patch,
					   struct app_write *w,
					   struct app_error *err)
{
	uint8_t wrapped[96], dk[KEYS_DATA_KEY_BYTES];
	size_t wrapped_len;
	char *sealed = NULL, *plain = NULL;
	size_t len = 0;
	json_t *current = NULL;

	if (!json_is_object(patch))
		return app_fail(err, APP_INVALID, "",
				"a patch of the profile is an object");
	int rc = store_person_profile(a->reads, person, wrapped, &wrapped_len,
				      &sealed);
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND
					? "no such person"
					: "the profile cannot be read");
	if (sealed == NULL) {
		current = json_object();
	} else if (keys_unwrap(a->keys, wrapped, wrapped_len, dk) == 0) {
		if (keys_open(dk, sealed, &plain, &len) == 0)
			current = json_loadb(plain, len, 0, NULL);
		keys_free_plain(plain, len);
	}
	sodium_memzero(dk, sizeof(dk));
	json_t *merged = current ? merge_patch_apply(current, patch) : NULL;
	json_decref(current);
	if (merged == NULL) {
		free(sealed);
		return app_fail(err, APP_FAULT, NULL,
				"the profile cannot be read");
	}
	rc = profile_begin(a, person, merged, patch, true, sealed, w, err);
	json_decref(merged);
	return rc;
}

enum app_status person_set_profile(struct app *a, uint64_t person,
				   const json_t *profile, struct app_error *err)
{
	struct app_write w;
	int rc = person_set_profile_begin(a, person, profile, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

struct global_job {
	uint64_t person;
	char *json; /* the new terms, canonical */
	bool patch; /* a merge patch: the stored terms must still be `base` */
	char *base; /* the stored terms it was merged onto */
	int64_t now_ms;
};

/* Writes the new global terms and, when they differ from the stored ones,
 * a settings.changed entry naming the keys that changed (their new values
 * sealed). A patch writes only onto the terms it was merged with. */
static int global_run(struct app_tx *t, void *arg)
{
	struct global_job *j = arg;
	struct store_person p;
	int rc = store_person_get(t->reads, j->person, NULL, &p);
	if (rc != STORE_OK)
		return rc;
	if (j->patch && !person_base_holds(j->base, p.global_terms)) {
		store_person_clear(&p);
		return STORE_CONFLICT;
	}
	json_t *before =
		json_loads(p.global_terms ? p.global_terms : "{}", 0, NULL);
	store_person_clear(&p);
	json_t *after = json_loads(j->json, 0, NULL);
	bool unchanged = false;
	json_t *data = before && after
			       ? ledger_settings_data_tx(t, j->person, before,
							 after, &unchanged)
			       : NULL;
	json_decref(before);
	json_decref(after);
	if (unchanged)
		return STORE_OK; /* the same terms again: nothing to record */
	if (data == NULL)
		return STORE_FAULT;
	rc = store_person_set(t->tx, j->person, STORE_PERSON_GLOBAL_TERMS,
			      j->json);
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->person, "person",
				   "settings.changed", 0, data, j->now_ms);
	json_decref(data);
	if (rc != STORE_OK)
		return rc;
	rc = gate_state_forget_tx(t, j->person, 0); /* the gate reloads */
	/* Quiet hours, caps, the zone, do-not-contact: held messages are
	 * decided again at once under the new terms. */
	return rc == STORE_OK ? scheduler_held_now_tx(t, j->person, 0) : rc;
}

static enum app_status global_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, NULL,
				"the terms changed meanwhile; send the patch "
				"again");
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND
					? "no such person"
					: "the store could not record the "
					  "terms");
	return APP_OK;
}

static void global_release(void *job)
{
	struct global_job *j = job;
	free(j->json);
	free(j->base);
	free(j);
}

/* What a PUT and a PATCH of the global terms share: terms is the whole new
 * object, validated here; with `patch`, base (owned from here, whatever
 * the outcome) is the stored text it was merged onto. */
static enum app_status global_begin(struct app *a, uint64_t person,
				    const json_t *terms, bool patch, char *base,
				    int *err_kind, struct app_write *w,
				    struct app_error *err)
{
	struct global_terms g;
	struct terms_error terr;
	char why[256];

	if (global_terms_parse(terms, &g, &terr) != 0) {
		*err_kind = terr.kind;
		free(base);
		return app_fail(err, APP_INVALID, terr.field, "%s",
				terr.reason);
	}
	if (zones_get(a->zones, g.time_zone, why, sizeof(why)) == NULL) {
		*err_kind = TERMS_ERR_VALUE;
		free(base);
		return app_fail(err, APP_INVALID, "time_zone", "%s", why);
	}
	struct global_job *j = calloc(1, sizeof(*j));
	json_t *gj = global_terms_to_json(&g);
	if (j == NULL || gj == NULL) {
		free(j);
		free(base);
		json_decref(gj);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	j->person = person;
	j->patch = patch;
	j->base = base;
	j->now_ms = app_now_ms();
	j->json = json_dumps(gj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(gj);
	if (j->json == NULL) {
		global_release(j);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	*w = (struct app_write){ global_run, j, true, global_finish,
				 global_release };
	return APP_OK;
}

enum app_status person_set_global_terms_begin(struct app *a, uint64_t person,
					      const json_t *terms,
					      int *err_kind,
					      struct app_write *w,
					      struct app_error *err)
{
	return global_begin(a, person, terms, false, NULL, err_kind, w, err);
}

enum app_status person_patch_global_terms_begin(struct app *a, uint64_t person,
						const json_t *patch,
						int *err_kind,
						struct app_write *w,
						struct app_error *err)
{
	struct store_person p;
	*err_kind = TERMS_ERR_TYPE;
	if (!json_is_object(patch))
		return app_fail(err, APP_INVALID, "",
				"a patch of the terms is an object");
	int rc = store_person_get(a->reads, person, NULL, &p);
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND
					? "no such person"
					: "the store cannot be read");
	char *base = p.global_terms;
	p.global_terms = NULL; /* ours from here */
	store_person_clear(&p);
	json_t *current = base ? json_loads(base, 0, NULL) : NULL;
	json_t *merged = current ? merge_patch_apply(current, patch) : NULL;
	json_decref(current);
	if (merged == NULL) {
		free(base);
		return app_fail(err, APP_FAULT, NULL,
				"the terms cannot be read");
	}
	rc = global_begin(a, person, merged, true, base, err_kind, w, err);
	json_decref(merged);
	return rc;
}

enum app_status person_set_global_terms(struct app *a, uint64_t person,
					const json_t *terms, int *err_kind,
					struct app_error *err)
{
	struct app_write w;
	int rc = person_set_global_terms_begin(a, person, terms, err_kind, &w,
					       err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

bool person_check_password(struct app *a, uint64_t person, const char *password)
{
	struct store_person p;
	if (store_person_get(a->reads, person, NULL, &p) != STORE_OK)
		return false;
	bool ok = p.erased_at == 0 &&
		  person_password_verify(p.password_hash, password);
	store_person_clear(&p);
	return ok;
}

struct password_job {
	uint64_t person, keep;
	char hash[160];
	int64_t now;
};

static int password_run(struct app_tx *t, void *arg)
{
	struct password_job *j = arg;
	int rc = store_person_set(t->tx, j->person, STORE_PERSON_PASSWORD,
				  j->hash);
	if (rc == STORE_OK)
		rc = store_token_revoke(t->tx, j->person, j->keep, true,
					j->now);
	return rc;
}

static enum app_status password_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the password could not be recorded");
	return APP_OK;
}

static void password_release(void *job)
{
	sodium_memzero(job, sizeof(struct password_job));
	free(job);
}

enum app_status person_change_password_begin(struct app *a, uint64_t person,
					     uint64_t keep, const char *current,
					     const char *next,
					     struct app_write *w,
					     struct app_error *err)
{
	struct store_person sp;
	char handle[PERSON_HANDLE_MAX + 1] = "";
	if (store_person_get(a->reads, person, NULL, &sp) == STORE_OK) {
		snprintf(handle, sizeof(handle), "%s", sp.handle);
		store_person_clear(&sp);
	}
	int rc = person_password_check(next, handle[0] ? handle : NULL, err);
	if (rc != APP_OK)
		return rc;
	if (!person_check_password(a, person, current))
		return app_fail(err, APP_NOT_FOUND, "current",
				"the current password is wrong");
	struct password_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	j->person = person;
	j->keep = keep;
	j->now = app_now_ms() / 1000;
	if (person_password_hash(next, j->hash, sizeof(j->hash)) != APP_OK) {
		password_release(j);
		return app_fail(err, APP_FAULT, NULL,
				"cannot hash the password");
	}
	*w = (struct app_write){ password_run, j, false, password_finish,
				 password_release };
	return APP_OK;
}

enum app_status person_change_password(struct app *a, uint64_t person,
				       uint64_t keep, const char *current,
				       const char *next, struct app_error *err)
{
	struct app_write w;
	int rc = person_change_password_begin(a, person, keep, current, next,
					      &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

enum app_status person_global_terms(struct app *a, uint64_t person,
				    json_t **out, struct app_error *err)
{
	struct store_person p;
	int rc = store_person_get(a->reads, person, NULL, &p);
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND
					? "no such person"
					: "the store cannot be read");
	*out = json_loads(p.global_terms, 0, NULL);
	store_person_clear(&p);
	return *out ? APP_OK
		    : app_fail(err, APP_FAULT, NULL,
			       "the terms cannot be read");
}
