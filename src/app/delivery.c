/*
 * delivery.c — a person's delivery settings (see delivery.h).
 */
#include "app/delivery.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/ledger.h"
#include "app/message.h"
#include "app/person.h"
#include "base/outbound.h"

/* The stored settings and, unsealed, the webhook's {url, secret}. */
struct settings {
	bool maildir;
	json_t *webhook; /* {"url", "secret"} or NULL */
};

static void settings_clear(struct settings *s)
{
	json_decref(s->webhook);
	s->webhook = NULL;
}

/* Reads the person's settings; the webhook unsealed. */
static int settings_read(struct app *a, uint64_t person, struct settings *s)
{
	struct store_person p;
	memset(s, 0, sizeof(*s));
	int rc = store_person_by_id(a->store, person, &p);
	if (rc != STORE_OK)
		return app_from_store(rc);
	json_t *d = json_loads(p.delivery, 0, NULL);
	s->maildir = json_is_true(json_object_get(d, "maildir"));
	const char *sealed = json_string_value(json_object_get(d, "webhook"));
	int status = APP_OK;
	if (sealed) {
		uint8_t dk[KEYS_DATA_KEY_BYTES];
		char *plain = NULL;
		size_t len = 0;
		if (keys_unwrap(a->keys, p.data_key, p.data_key_len, dk) != 0 ||
		    keys_open(dk, sealed, &plain, &len) != 0) {
			status = APP_FAULT;
		} else {
			s->webhook = json_loadb(plain, len, 0, NULL);
			keys_free_plain(plain, len);
			if (!json_is_string(json_object_get(s->webhook, "url")))
				status = APP_FAULT;
		}
		sodium_memzero(dk, sizeof(dk));
	}
	json_decref(d);
	store_person_clear(&p);
	if (status != APP_OK)
		settings_clear(s);
	return status;
}

int delivery_webhook(struct app *a, uint64_t person, char **url, char **secret)
{
	struct settings s;
	if (settings_read(a, person, &s) != APP_OK)
		return -1;
	if (s.webhook == NULL)
		return 1;
	*url = strdup(json_string_value(json_object_get(s.webhook, "url")));
	*secret =
		strdup(json_string_value(json_object_get(s.webhook, "secret")));
	settings_clear(&s);
	if (*url == NULL || *secret == NULL) {
		free(*url);
		free(*secret);
		return -1;
	}
	return 0;
}

int delivery_get(struct app *a, uint64_t person, json_t **out,
		 struct app_error *err)
{
	struct settings s;
	int rc = settings_read(a, person, &s);
	if (rc != APP_OK)
		return app_fail(err, rc, NULL,
				rc == APP_NOT_FOUND ? "no such person"
						    : "the store cannot be "
						      "read");
	int64_t pending = 0, failing = 0;
	char last[256] = "";
	if (store_outbox_count(a->store, person, &pending, &failing, last,
			       sizeof(last)) != STORE_OK) {
		settings_clear(&s);
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	}
	json_t *hook = s.webhook ? json_pack("{s:O}", "url",
					     json_object_get(s.webhook, "url"))
				 : json_null();
	settings_clear(&s);
	*out = json_pack("{s:b, s:o, s:{s:b, s:b}, s:{s:I, s:I, s:o}}",
			 "maildir", s.maildir, "webhook", hook, "available",
			 "maildir", a->cfg.maildir_root[0] != '\0', "webhook",
			 1, "outbox", "pending", (json_int_t)pending, "failing",
			 (json_int_t)failing, "last_error",
			 last[0] ? json_string(last) : json_null());
	if (*out == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	return APP_OK;
}

struct delivery_job {
	struct app *a;
	uint64_t person;
	bool maildir, webhook;
	char *json; /* the settings as stored */
	int64_t now_ms;
};

/* Once durable, the gate reloads the person (who now has, or has not,
 * adapters). The hook runs before the write is reported. */
static void delivery_forget(void *arg)
{
	struct delivery_job *j = arg;
	gate_state_forget_person(j->a->gate, j->person);
}

static int delivery_run(struct store_tx *tx, void *arg)
{
	struct delivery_job *j = arg;
	struct store_person p;
	int rc = store_person_by_id(j->a->store, j->person, &p);
	if (rc != STORE_OK)
		return rc;
	json_t *old = json_loads(p.delivery, 0, NULL);
	bool was = json_is_true(json_object_get(old, "maildir"));
	json_decref(old);
	store_person_clear(&p);
	if ((rc = store_person_set_delivery(tx, j->person, j->json)) !=
	    STORE_OK)
		return rc;
	json_t *data = json_pack("{s:b, s:b}", "maildir", j->maildir, "webhook",
				 j->webhook);
	rc = data ? ledger_append(tx, j->person, "person", "delivery.changed",
				  0, data, j->now_ms)
		  : STORE_FAULT;
	json_decref(data);
	if (rc == STORE_OK && j->maildir && !was) {
		/* Turned on: what is already delivered goes there too. */
		struct store_outbox o = { .person = j->person,
					  .adapter = STORE_ADAPTER_MAILDIR,
					  .op = STORE_OUTBOX_DELIVER,
					  .folder = -1,
					  .next_at = j->now_ms / 1000 };
		rc = store_outbox_add(tx, &o);
	}
	if (rc == STORE_OK)
		rc = store_tx_on_commit(tx, delivery_forget, j);
	return rc;
}

static int delivery_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND
					? "no such person"
					: "the settings could not be recorded");
	return APP_OK;
}

static void delivery_release(void *job)
{
	struct delivery_job *j = job;
	free(j->json);
	free(j);
}

/* Checks the shape of the settings; the webhook's URL into *url. */
static int settings_check(struct app *a, const json_t *settings, bool *maildir,
			  const char **url, bool *type_error,
			  struct app_error *err)
{
	const char *key;
	json_t *v;
	*type_error = true;
	json_object_foreach ((json_t *)settings, key, v) {
		if (strcmp(key, "password") != 0 &&
		    strcmp(key, "maildir") != 0 && strcmp(key, "webhook") != 0)
			return app_fail(err, APP_INVALID, key,
					"unknown delivery setting \"%s\" "
					"(there are \"maildir\" and "
					"\"webhook\")",
					key);
	}
	json_t *m = json_object_get(settings, "maildir");
	if (m && !json_is_boolean(m))
		return app_fail(err, APP_INVALID, "maildir",
				"maildir is true or false");
	json_t *h = json_object_get(settings, "webhook");
	*url = NULL;
	if (h && !json_is_null(h)) {
		if (!json_is_object(h))
			return app_fail(err, APP_INVALID, "webhook",
					"webhook is {\"url\": …} or null");
		json_object_foreach (h, key, v) {
			if (strcmp(key, "url") != 0)
				return app_fail(err, APP_INVALID, "webhook",
						"a webhook has only a \"url\"");
		}
		if (!json_is_string(json_object_get(h, "url")))
			return app_fail(err, APP_INVALID, "webhook.url",
					"webhook.url is a string");
		*url = json_string_value(json_object_get(h, "url"));
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
	return APP_OK;
}

/* The settings to store: the webhook sealed with the data key. A URL
 * that stays keeps its secret; a new one gets a new secret. */
static char *settings_build(struct app *a, uint64_t person, bool maildir,
			    const char *url, char new_secret[])
{
	struct settings cur;
	json_t *out = NULL, *hook = NULL;
	char *text = NULL, *plain = NULL, *sealed = NULL;
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	struct store_person p = { 0 };
	new_secret[0] = '\0';
	if (settings_read(a, person, &cur) != APP_OK)
		return NULL;
	if (url) {
		const char *old =
			json_string_value(json_object_get(cur.webhook, "url"));
		const char *secret = json_string_value(
			json_object_get(cur.webhook, "secret"));
		char made[DELIVERY_SECRET_MAX];
		if (old == NULL || strcmp(old, url) != 0 || secret == NULL) {
			uint8_t raw[32];
			randombytes_buf(raw, sizeof(raw));
			memcpy(made, "whsec_", 6);
			sodium_bin2base64(
				made + 6, sizeof(made) - 6, raw, sizeof(raw),
				sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			sodium_memzero(raw, sizeof(raw));
			snprintf(new_secret, DELIVERY_SECRET_MAX, "%s", made);
			secret = made;
		}
		hook = json_pack("{s:s, s:s}", "url", url, "secret", secret);
		plain = hook ? json_dumps(hook, JSON_COMPACT | JSON_SORT_KEYS)
			     : NULL;
		if (plain == NULL ||
		    store_person_by_id(a->store, person, &p) != STORE_OK ||
		    keys_unwrap(a->keys, p.data_key, p.data_key_len, dk) != 0 ||
		    keys_seal(dk, plain, strlen(plain), &sealed) != 0)
			goto out;
	}
	out = sealed ? json_pack("{s:b, s:s}", "maildir", maildir, "webhook",
				 sealed)
		     : json_pack("{s:b}", "maildir", maildir);
	text = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
out:
	sodium_memzero(dk, sizeof(dk));
	if (plain)
		sodium_memzero(plain, strlen(plain));
	free(plain);
	free(sealed);
	json_decref(hook);
	json_decref(out);
	store_person_clear(&p);
	settings_clear(&cur);
	if (text == NULL)
		new_secret[0] = '\0';
	return text;
}

int delivery_set_begin(struct app *a, uint64_t person, const char *password,
		       const json_t *settings, bool *type_error,
		       char new_secret[DELIVERY_SECRET_MAX],
		       struct app_write *w, struct app_error *err)
{
	bool maildir = false;
	const char *url = NULL;
	new_secret[0] = '\0';
	int rc = settings_check(a, settings, &maildir, &url, type_error, err);
	if (rc != APP_OK)
		return rc;
	if (!person_check_password(a, person, password))
		return app_fail(err, APP_NOT_FOUND, "password",
				"the password is wrong");
	struct delivery_job *j = calloc(1, sizeof(*j));
	char *text =
		j ? settings_build(a, person, maildir, url, new_secret) : NULL;
	if (text == NULL) {
		free(j);
		new_secret[0] = '\0';
		return app_fail(err, APP_FAULT, NULL,
				"the settings could not be prepared");
	}
	*j = (struct delivery_job){ a,		 person, maildir,
				    url != NULL, text,	 app_now_ms() };
	*w = (struct app_write){ delivery_run, j, true, delivery_finish,
				 delivery_release };
	return APP_OK;
}
