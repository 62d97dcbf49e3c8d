/*
 * delivery.c — a person's delivery settings (see delivery.h).
 */
#include "app/delivery.h"

#include <stdlib.h>
#include <string.h>

#include "app/ledger.h"
#include "app/message.h"
#include "app/person.h"

int delivery_get(struct app *a, uint64_t person, json_t **out,
		 struct app_error *err)
{
	struct store_person p;
	int rc = store_person_by_id(a->store, person, &p);
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				rc == STORE_NOT_FOUND ? "no such person"
						      : "the store cannot be "
							"read");
	json_t *d = json_loads(p.delivery, 0, NULL);
	bool maildir = json_is_true(json_object_get(d, "maildir"));
	json_decref(d);
	store_person_clear(&p);
	int64_t pending = 0, failing = 0;
	char last[256] = "";
	if (store_outbox_count(a->store, person, &pending, &failing, last,
			       sizeof(last)) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	*out = json_pack("{s:b, s:{s:b}, s:{s:I, s:I, s:o}}", "maildir",
			 maildir, "available", "maildir",
			 a->cfg.maildir_root[0] != '\0', "outbox", "pending",
			 (json_int_t)pending, "failing", (json_int_t)failing,
			 "last_error",
			 last[0] ? json_string(last) : json_null());
	if (*out == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	return APP_OK;
}

struct delivery_job {
	struct app *a;
	uint64_t person;
	bool maildir;
	char *json; /* canonical settings */
	int64_t now_ms;
};

/* Once durable, the gate reloads the person (who now has, or has not, a
 * Maildir). The hook runs before the write is reported. */
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
	json_t *data = json_pack("{s:b}", "maildir", j->maildir);
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

int delivery_set_begin(struct app *a, uint64_t person, const char *password,
		       const json_t *settings, bool *type_error,
		       struct app_write *w, struct app_error *err)
{
	*type_error = false;
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)settings, key, v) {
		if (strcmp(key, "password") == 0)
			continue;
		if (strcmp(key, "maildir") != 0) {
			*type_error = true;
			return app_fail(err, APP_INVALID, key,
					"unknown delivery setting \"%s\" "
					"(this server knows \"maildir\")",
					key);
		}
	}
	json_t *m = json_object_get(settings, "maildir");
	if (m && !json_is_boolean(m)) {
		*type_error = true;
		return app_fail(err, APP_INVALID, "maildir",
				"maildir is true or false");
	}
	bool maildir = json_is_true(m);
	if (maildir && a->cfg.maildir_root[0] == '\0')
		return app_fail(err, APP_INVALID, "maildir",
				"this server exports no Maildir (it runs "
				"without --maildir-root)");
	if (!person_check_password(a, person, password))
		return app_fail(err, APP_NOT_FOUND, "password",
				"the password is wrong");
	struct delivery_job *j = calloc(1, sizeof(*j));
	json_t *canon = json_pack("{s:b}", "maildir", maildir);
	char *text =
		canon ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(canon);
	if (j == NULL || text == NULL) {
		free(j);
		free(text);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	*j = (struct delivery_job){ a, person, maildir, text, app_now_ms() };
	*w = (struct app_write){ delivery_run, j, true, delivery_finish,
				 delivery_release };
	return APP_OK;
}
