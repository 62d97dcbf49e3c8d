/*
 * delivery.c — a person's delivery settings (see delivery.h).
 *
 * Stored as canonical JSON in the person's row: {"maildir": bool,
 * "webhook": sealed {url, secret}, "forward": sealed {address, verified,
 * code, expires_at, tries}, "forwarding": bool}. "forwarding" (the
 * address is verified) stays outside the seal so that the gate's person
 * cache knows, without the data key, whether to queue a forward.
 */
#include "app/delivery.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "app/ledger.h"
#include "app/gate_state.h"
#include "app/message.h"
#include "app/person.h"
#include "base/outbound.h"
#include "store/store.h"

struct settings {
	bool maildir;
	json_t *plain;	 /* the stored JSON (its sealed parts sealed) */
	json_t *webhook; /* {"url", "secret"} or NULL */
	json_t *forward; /* {"address", "verified", …} or NULL */
};

static void settings_clear(struct settings *s)
{
	json_decref(s->plain);
	json_decref(s->webhook);
	json_decref(s->forward);
	s->plain = s->webhook = s->forward = NULL;
}

/* The person's data key, unwrapped. */
static int data_key(struct store_rd *reads, struct keys *keys, uint64_t person,
		    uint8_t dk[KEYS_DATA_KEY_BYTES])
{
	struct store_person p;
	int rc = store_person_get(reads, person, NULL, &p);
	if (rc != STORE_OK)
		return app_from_store(rc);
	rc = keys_unwrap(keys, p.data_key, p.data_key_len, dk) == 0 ? APP_OK
								    : APP_FAULT;
	store_person_clear(&p);
	return rc;
}

static json_t *open_json(const uint8_t dk[KEYS_DATA_KEY_BYTES],
			 const char *sealed)
{
	char *plain = NULL;
	size_t len = 0;
	if (keys_open(dk, sealed, &plain, &len) != 0)
		return NULL;
	json_t *j = json_loadb(plain, len, 0, NULL);
	keys_free_plain(plain, len);
	return json_is_object(j) ? j : (json_decref(j), NULL);
}

static char *seal_json(const uint8_t dk[KEYS_DATA_KEY_BYTES], json_t *j)
{
	char *plain = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), *out = NULL;
	if (plain == NULL)
		return NULL;
	if (keys_seal(dk, plain, strlen(plain), &out) != 0)
		out = NULL;
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return out;
}

/* Reads the person's settings, unsealed (a job reads them through its
 * transaction: a bounce counted earlier in the batch is then kept). */
static int settings_read(struct store_rd *reads, struct keys *keys,
			 uint64_t person, struct settings *s)
{
	struct store_person p;
	memset(s, 0, sizeof(*s));
	int rc = store_person_get(reads, person, NULL, &p);
	if (rc != STORE_OK)
		return app_from_store(rc);
	json_t *d = s->plain = json_loads(p.delivery, 0, NULL);
	if (d == NULL) {
		store_person_clear(&p);
		return APP_FAULT;
	}
	s->maildir = json_is_true(json_object_get(d, "maildir"));
	const char *hook = json_string_value(json_object_get(d, "webhook"));
	const char *fwd = json_string_value(json_object_get(d, "forward"));
	int status = APP_OK;
	if (hook || fwd) {
		uint8_t dk[KEYS_DATA_KEY_BYTES];
		if (keys_unwrap(keys, p.data_key, p.data_key_len, dk) != 0)
			status = APP_FAULT;
		if (status == APP_OK && hook &&
		    ((s->webhook = open_json(dk, hook)) == NULL ||
		     !json_is_string(json_object_get(s->webhook, "url"))))
			status = APP_FAULT;
		if (status == APP_OK && fwd &&
		    ((s->forward = open_json(dk, fwd)) == NULL ||
		     !json_is_string(json_object_get(s->forward, "address"))))
			status = APP_FAULT;
		sodium_memzero(dk, sizeof(dk));
	}
	store_person_clear(&p);
	if (status != APP_OK)
		settings_clear(s);
	return status;
}

enum app_status delivery_webhook(struct app *a, uint64_t person, char **url,
				 char **secret)
{
	struct settings s;
	if (settings_read(a->reads, a->keys, person, &s) != APP_OK)
		return APP_FAULT;
	if (s.webhook == NULL) {
		settings_clear(&s);
		return APP_NOT_FOUND;
	}
	const char *u = json_string_value(json_object_get(s.webhook, "url"));
	const char *k = json_string_value(json_object_get(s.webhook, "secret"));
	*url = u ? strdup(u) : NULL;
	*secret = k ? strdup(k) : NULL;
	settings_clear(&s);
	if (*url == NULL || *secret == NULL) {
		free(*url);
		free(*secret);
		return APP_FAULT;
	}
	return APP_OK;
}

enum app_status delivery_forward(struct app *a, uint64_t person,
				 char address[DELIVERY_ADDRESS_MAX + 1],
				 bool *verified,
				 char code[DELIVERY_CODE_LEN + 1])
{
	struct settings s;
	if (settings_read(a->reads, a->keys, person, &s) != APP_OK)
		return APP_FAULT;
	if (s.forward == NULL) {
		settings_clear(&s);
		return APP_NOT_FOUND;
	}
	const char *c = json_string_value(json_object_get(s.forward, "code"));
	snprintf(address, DELIVERY_ADDRESS_MAX + 1, "%s",
		 json_string_value(json_object_get(s.forward, "address")));
	*verified = json_is_true(json_object_get(s.forward, "verified"));
	snprintf(code, DELIVERY_CODE_LEN + 1, "%s", c ? c : "");
	settings_clear(&s);
	return APP_OK;
}

enum app_status delivery_get(struct app *a, uint64_t person, json_t **out,
			     struct app_error *err)
{
	struct settings s;
	int rc = settings_read(a->reads, a->keys, person, &s);
	if (rc != APP_OK)
		return app_fail(err, rc, NULL,
				rc == APP_NOT_FOUND ? "no such person"
						    : "the store cannot be "
						      "read");
	int64_t pending = 0, failing = 0;
	char last[256] = "";
	if (store_outbox_count(a->reads, person, &pending, &failing, last,
			       sizeof(last)) != STORE_OK) {
		settings_clear(&s);
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	}
	json_t *hook = s.webhook ? json_pack("{s:O}", "url",
					     json_object_get(s.webhook, "url"))
				 : json_null();
	json_t *b = json_object_get(s.plain, "bounces");
	json_t *fwd = json_null();
	if (s.forward)
		fwd = json_pack(
			"{s:O, s:b, s:{s:I, s:o}}", "address",
			json_object_get(s.forward, "address"), "verified",
			json_is_true(json_object_get(s.forward, "verified")),
			"bounces", "count",
			json_integer_value(json_object_get(b, "n")), "last_at",
			app_time_json(
				json_integer_value(json_object_get(b, "at"))));
	settings_clear(&s);
	*out = json_pack(
		"{s:b, s:o, s:o, s:{s:b, s:b, s:b}, s:{s:I, s:I, s:o}}",
		"maildir", s.maildir, "webhook", hook, "forward", fwd,
		"available", "maildir", a->cfg.maildir_root[0] != '\0',
		"webhook", 1, "forward", a->cfg.smarthost[0] != '\0', "outbox",
		"pending", (json_int_t)pending, "failing", (json_int_t)failing,
		"last_error", last[0] ? json_string(last) : json_null());
	if (*out == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	return APP_OK;
}

/* A code to prove an address: 8 of Crockford's base32, "XXXX-XXXX". */
static void code_new(char out[DELIVERY_CODE_LEN + 1])
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t raw[8];
	randombytes_buf(raw, sizeof(raw));
	for (int i = 0, k = 0; i < 8; i++) {
		if (i == 4)
			out[k++] = '-';
		out[k++] = b32[raw[i] & 31];
	}
	out[DELIVERY_CODE_LEN] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

/* ---- the write: new settings, or a verified code ----
 *
 * The settings are read, changed and written by the job, on the writer:
 * two changes at once cannot undo each other, and a code's tries are
 * counted in the transaction that checks them. The job reads through its
 * transaction, so a bounce counted earlier in the same batch is kept. */

enum delivery_kind { DELIVERY_SET, DELIVERY_VERIFY };

struct delivery_job {
	uint64_t person;
	enum delivery_kind kind;
	/* DELIVERY_SET: what was asked */
	bool maildir;
	char *url, *address; /* NULL: off */
	char *secret_out;    /* a new webhook's secret goes here */
	/* DELIVERY_VERIFY: the code as typed, normalised */
	char code[DELIVERY_CODE_LEN + 1];
	/* the outcome */
	int outcome; /* what to report once written */
	char why[160];
	char field[32];
	int64_t now_ms;
};

static int job_refuse(struct delivery_job *j, int outcome, const char *field,
		      const char *why)
{
	j->outcome = outcome;
	snprintf(j->field, sizeof(j->field), "%s", field);
	snprintf(j->why, sizeof(j->why), "%s", why);
	return STORE_OK;
}

/* Stores the settings: maildir, whether Maildir copies may exist, the
 * sealed parts, "forwarding", and the day's count of codes sent. */
static int settings_write(struct app_tx *t, struct delivery_job *j,
			  bool maildir, bool copies, json_t *webhook,
			  json_t *forward, json_t *codes, json_t *bounces)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	char *hook = NULL, *fwd = NULL, *text = NULL;
	int rc = STORE_FAULT;
	json_t *out = json_pack("{s:b, s:b}", "maildir", maildir,
				"maildir_copies", copies);
	if (out == NULL)
		return STORE_FAULT;
	if ((webhook || forward) &&
	    data_key(t->reads, t->keys, j->person, dk) != APP_OK)
		goto fail;
	if (webhook && (hook = seal_json(dk, webhook)) == NULL)
		goto fail;
	if (forward && (fwd = seal_json(dk, forward)) == NULL)
		goto fail;
	if (hook)
		json_object_set_new(out, "webhook", json_string(hook));
	if (fwd) {
		json_object_set_new(out, "forward", json_string(fwd));
		json_object_set_new(out, "forwarding",
				    json_boolean(json_is_true(json_object_get(
					    forward, "verified"))));
	}
	if (codes)
		json_object_set(out, "codes", codes);
	if (bounces && forward)
		json_object_set(out, "bounces", bounces);
	text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	if (text)
		rc = store_person_set(t->tx, j->person, STORE_PERSON_DELIVERY,
				      text);
fail:
	sodium_memzero(dk, sizeof(dk));
	free(hook);
	free(fwd);
	free(text);
	json_decref(out);
	return rc;
}

static int set_run(struct app_tx *t, struct delivery_job *j,
		   struct settings *cur)
{
	json_t *hook = NULL, *fwd = NULL, *codes = NULL, *bounces = NULL;
	bool send_code = false;
	int rc = STORE_FAULT;
	int64_t day = j->now_ms / 86400000;
	if (j->url) {
		/* A URL that stays keeps its secret; a new one gets one. */
		const char *old =
			json_string_value(json_object_get(cur->webhook, "url"));
		const char *secret = json_string_value(
			json_object_get(cur->webhook, "secret"));
		char made[DELIVERY_SECRET_MAX];
		if (old == NULL || strcmp(old, j->url) != 0 || secret == NULL) {
			uint8_t raw[32];
			randombytes_buf(raw, sizeof(raw));
			memcpy(made, "whsec_", 6);
			sodium_bin2base64(
				made + 6, sizeof(made) - 6, raw, sizeof(raw),
				sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			sodium_memzero(raw, sizeof(raw));
			snprintf(j->secret_out, DELIVERY_SECRET_MAX, "%s",
				 made);
			secret = made;
		}
		hook = json_pack("{s:s, s:s}", "url", j->url, "secret", secret);
		sodium_memzero(made, sizeof(made));
		if (hook == NULL)
			goto out;
	}
	codes = json_incref(json_object_get(cur->plain, "codes"));
	if (j->address) {
		/* An address that stays keeps its state (verified or not). */
		const char *old = json_string_value(
			json_object_get(cur->forward, "address"));
		bool same = old && strcasecmp(old, j->address) == 0;
		json_t *f = cur->forward;
		bool stale =
			same && !json_is_true(json_object_get(f, "verified")) &&
			(j->now_ms / 1000 >= json_integer_value(json_object_get(
						     f, "expires_at")) ||
			 json_integer_value(json_object_get(f, "tries")) >=
				 DELIVERY_CODE_TRIES);
		if (same && !stale) {
			fwd = json_incref(cur->forward);
			bounces = json_object_get(cur->plain, "bounces");
		} else {
			/* A new address, or the same one whose code can no
			 * longer be used: a new code. */
			/* A code is a mail to someone: a few a day at most. */
			json_int_t n =
				json_integer_value(json_object_get(codes, "n"));
			if (json_integer_value(json_object_get(codes, "day")) !=
			    day)
				n = 0;
			if (n >= DELIVERY_CODES_A_DAY) {
				rc = job_refuse(j, APP_INVALID, "forward",
						"enough codes were sent today; "
						"try again tomorrow");
				goto out;
			}
			json_decref(codes);
			codes = json_pack("{s:I, s:I}", "day", (json_int_t)day,
					  "n", n + 1);
			char code[DELIVERY_CODE_LEN + 1];
			code_new(code);
			fwd = json_pack("{s:s, s:b, s:s, s:I, s:i}", "address",
					j->address, "verified", 0, "code", code,
					"expires_at",
					(json_int_t)(j->now_ms / 1000 +
						     DELIVERY_CODE_SECONDS),
					"tries", 0);
			sodium_memzero(code, sizeof(code));
			send_code = true;
			if (fwd == NULL || codes == NULL)
				goto out;
		}
	}
	/* Once the Maildir was on, copies may be there: moves and removals
	 * follow them even while it is off, until an erasure. */
	bool copies =
		j->maildir ||
		json_is_true(json_object_get(cur->plain, "maildir_copies"));
	rc = settings_write(t, j, j->maildir, copies, hook, fwd, codes,
			    bounces);
	json_t *data = rc == STORE_OK ? json_pack("{s:b, s:b, s:b}", "maildir",
						  j->maildir, "webhook",
						  j->url != NULL, "forward",
						  j->address != NULL)
				      : NULL;
	if (rc == STORE_OK)
		rc = data ? ledger_append(t->tx, j->person, "person",
					  "delivery.changed", 0, data,
					  j->now_ms)
			  : STORE_FAULT;
	json_decref(data);
	struct store_outbox o = { .person = j->person,
				  .adapter = STORE_ADAPTER_MAILDIR,
				  .op = STORE_OUTBOX_DELIVER,
				  .folder = STORE_OUTBOX_LOOK_FIRST,
				  .next_at = j->now_ms / 1000 };
	/* Turned on: what is already delivered goes there too (looking
	 * first for a copy from an earlier time it was on). */
	if (rc == STORE_OK && j->maildir && !cur->maildir)
		rc = store_outbox_add(t->tx, &o);
	if (rc == STORE_OK && send_code) {
		o.adapter = STORE_ADAPTER_FORWARD;
		o.op = STORE_OUTBOX_VERIFY;
		o.folder = -1;
		rc = store_outbox_add(t->tx, &o);
	}
out:
	json_decref(hook);
	json_decref(fwd);
	json_decref(codes);
	return rc;
}

static int verify_run(struct app_tx *t, struct delivery_job *j,
		      struct settings *cur)
{
	json_t *f = cur->forward;
	const char *want = json_string_value(json_object_get(f, "code"));
	if (f == NULL || json_is_true(json_object_get(f, "verified")) ||
	    want == NULL)
		return job_refuse(j, APP_CONFLICT, "code",
				  "no forwarding address waits for a code");
	int tries = (int)json_integer_value(json_object_get(f, "tries"));
	json_int_t expires =
		json_integer_value(json_object_get(f, "expires_at"));
	if (j->now_ms / 1000 >= expires)
		return job_refuse(j, APP_INVALID, "code",
				  "the code has expired; set the address "
				  "again for a new one");
	if (tries >= DELIVERY_CODE_TRIES)
		return job_refuse(j, APP_INVALID, "code",
				  "too many wrong codes; set the address "
				  "again for a new one");
	bool right = strlen(want) == DELIVERY_CODE_LEN &&
		     strlen(j->code) == DELIVERY_CODE_LEN &&
		     sodium_memcmp(j->code, want, DELIVERY_CODE_LEN) == 0;
	if (right) {
		json_object_set_new(f, "verified", json_true());
		json_object_del(f, "code");
		json_object_del(f, "expires_at");
		json_object_del(f, "tries");
	} else {
		json_object_set_new(f, "tries", json_integer(tries + 1));
		job_refuse(j, APP_INVALID, "code",
			   "that is not the code sent to the address");
	}
	int rc = settings_write(
		t, j, cur->maildir,
		json_is_true(json_object_get(cur->plain, "maildir_copies")),
		cur->webhook, f, json_object_get(cur->plain, "codes"),
		json_object_get(cur->plain, "bounces"));
	if (rc == STORE_OK && right) {
		json_t *data = json_pack("{s:s}", "forward", "verified");
		rc = data ? ledger_append(t->tx, j->person, "person",
					  "delivery.changed", 0, data,
					  j->now_ms)
			  : STORE_FAULT;
		json_decref(data);
	}
	return rc;
}

int delivery_bounced_tx(struct app_tx *t, uint64_t person, int64_t now)
{
	/* Counted by the store in the transaction itself: bounces in one
	 * batch all count. */
	return store_person_bounce(t->tx, person, now);
}

static int delivery_run(struct app_tx *t, void *arg)
{
	struct delivery_job *j = arg;
	struct settings cur;
	j->outcome = APP_OK;
	if (settings_read(t->reads, t->keys, j->person, &cur) != APP_OK)
		return STORE_FAULT;
	int rc = j->kind == DELIVERY_SET ? set_run(t, j, &cur)
					 : verify_run(t, j, &cur);
	settings_clear(&cur);
	if (rc == STORE_OK)
		rc = gate_state_forget_tx(t, j->person, 0);
	return rc;
}

static enum app_status delivery_finish(void *job, int rc, struct app_error *err)
{
	struct delivery_job *j = job;
	if (rc != STORE_OK) {
		if (j->secret_out)
			j->secret_out[0] = '\0'; /* not made after all */
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND
					? "no such person"
					: "the settings could not be recorded");
	}
	if (j->outcome != APP_OK)
		return app_fail(err, j->outcome, j->field, "%s", j->why);
	return APP_OK;
}

static void delivery_release(void *job)
{
	struct delivery_job *j = job;
	free(j->url);
	free(j->address);
	sodium_memzero(j->code, sizeof(j->code));
	free(j);
}

/* A forwarding address: local@domain, printable, no brackets. */
static bool address_ok(const char *s)
{
	size_t n = strlen(s);
	const char *at = strrchr(s, '@');
	if (n < 3 || n > DELIVERY_ADDRESS_MAX || at == NULL || at == s ||
	    at[1] == '\0' || strchr(at + 1, '.') == NULL)
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f ||
		    strchr("<>()[]\\,;:\"", *c))
			return false;
	return true;
}

/* Checks the shape of the settings. */
static int settings_check(struct app *a, const json_t *settings, bool *maildir,
			  const char **url, const char **address,
			  bool *type_error, struct app_error *err)
{
	static const char *const objects[] = { "webhook", "forward" };
	static const char *const members[] = { "url", "address" };
	const char *key;
	json_t *v;
	*type_error = true;
	json_object_foreach ((json_t *)settings, key, v) {
		if (strcmp(key, "password") != 0 &&
		    strcmp(key, "maildir") != 0 &&
		    strcmp(key, "webhook") != 0 && strcmp(key, "forward") != 0)
			return app_fail(err, APP_INVALID, key,
					"unknown delivery setting \"%s\" "
					"(there are \"maildir\", \"webhook\" "
					"and \"forward\")",
					key);
	}
	json_t *m = json_object_get(settings, "maildir");
	if (m && !json_is_boolean(m))
		return app_fail(err, APP_INVALID, "maildir",
				"maildir is true or false");
	const char **values[] = { url, address };
	for (int i = 0; i < 2; i++) {
		json_t *h = json_object_get(settings, objects[i]);
		*values[i] = NULL;
		if (h == NULL || json_is_null(h))
			continue;
		if (!json_is_object(h) || json_object_size(h) != 1 ||
		    !json_object_get(h, members[i]))
			return app_fail(err, APP_INVALID, objects[i],
					"%s is {\"%s\": …} or null", objects[i],
					members[i]);
		json_t *s = json_object_get(h, members[i]);
		char field[32];
		snprintf(field, sizeof(field), "%s.%s", objects[i], members[i]);
		if (!json_is_string(s))
			return app_fail(err, APP_INVALID, field,
					"%s is a string", field);
		*values[i] = json_string_value(s);
	}
	*type_error = false;
	*maildir = json_is_true(m);
	char why[200];
	if (*maildir && a->cfg.maildir_root[0] == '\0')
		return app_fail(err, APP_INVALID, "maildir",
				"this server exports no Maildir (it runs "
				"without --maildir-root)");
	if (*url && !outbound_url_ok(*url, a->cfg.allow_private_targets, why,
				     sizeof(why)))
		return app_fail(err, APP_INVALID, "webhook.url", "%s", why);
	if (*address && a->cfg.smarthost[0] == '\0')
		return app_fail(err, APP_INVALID, "forward",
				"this server forwards nothing (it runs "
				"without --smarthost)");
	if (*address && !address_ok(*address))
		return app_fail(err, APP_INVALID, "forward.address",
				"an address is local@domain, at most %d "
				"printable characters",
				DELIVERY_ADDRESS_MAX);
	return APP_OK;
}

enum app_status delivery_set_begin(struct app *a, uint64_t person,
				   const char *password, const json_t *settings,
				   bool *type_error,
				   char new_secret[DELIVERY_SECRET_MAX],
				   struct app_write *w, struct app_error *err)
{
	bool maildir = false;
	const char *url = NULL, *address = NULL;
	new_secret[0] = '\0';
	int rc = settings_check(a, settings, &maildir, &url, &address,
				type_error, err);
	if (rc != APP_OK)
		return rc;
	if (!person_check_password(a, person, password))
		return app_fail(err, APP_NOT_FOUND, "password",
				"the password is wrong");
	struct delivery_job *j = calloc(1, sizeof(*j));
	if (j == NULL || (url && (j->url = strdup(url)) == NULL) ||
	    (address && (j->address = strdup(address)) == NULL)) {
		if (j)
			delivery_release(j);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	j->person = person;
	j->kind = DELIVERY_SET;
	j->maildir = maildir;
	j->secret_out = new_secret;
	j->now_ms = app_now_ms();
	*w = (struct app_write){ delivery_run, j, true, delivery_finish,
				 delivery_release };
	return APP_OK;
}

enum app_status delivery_verify_begin(struct app *a, uint64_t person,
				      const char *code, struct app_write *w,
				      struct app_error *err)
{
	(void)a; /* the job reads what it needs */
	struct delivery_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	/* The code as typed: any case, with or without its dash. */
	char given[9] = "";
	size_t n = 0;
	for (const char *c = code; *c && n < 9; c++)
		if (isalnum((unsigned char)*c))
			given[n++] = (char)toupper((unsigned char)*c);
	if (n == 8)
		snprintf(j->code, sizeof(j->code), "%.4s-%.4s", given,
			 given + 4);
	sodium_memzero(given, sizeof(given));
	j->person = person;
	j->kind = DELIVERY_VERIFY;
	j->now_ms = app_now_ms();
	*w = (struct app_write){ delivery_run, j, true, delivery_finish,
				 delivery_release };
	return APP_OK;
}
