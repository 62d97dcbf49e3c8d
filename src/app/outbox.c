/*
 * outbox.c — settling what the delivery adapters did (see outbox.h).
 */
#include "app/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/ledger.h"
#include "app/reply.h"
#include "app/sealed.h"
#include "base/log.h"
#include "store/store.h"

_Static_assert((int)OUTBOX_MAILDIR == (int)STORE_ADAPTER_MAILDIR &&
		       (int)OUTBOX_WEBHOOK == (int)STORE_ADAPTER_WEBHOOK &&
		       (int)OUTBOX_UNSUBSCRIBE ==
			       (int)STORE_ADAPTER_UNSUBSCRIBE &&
		       (int)OUTBOX_FORWARD == (int)STORE_ADAPTER_FORWARD &&
		       (int)OUTBOX_REPLY == (int)STORE_ADAPTER_REPLY,
	       "the adapters are the store's");
_Static_assert((int)OUTBOX_DELIVER == (int)STORE_OUTBOX_DELIVER &&
		       (int)OUTBOX_MOVE == (int)STORE_OUTBOX_MOVE &&
		       (int)OUTBOX_REMOVE == (int)STORE_OUTBOX_REMOVE &&
		       (int)OUTBOX_ERASE == (int)STORE_OUTBOX_ERASE &&
		       (int)OUTBOX_VERIFY == (int)STORE_OUTBOX_VERIFY &&
		       (int)OUTBOX_LOOK_FIRST == (int)STORE_OUTBOX_LOOK_FIRST,
	       "the operations are the store's");

struct due_ctx {
	int (*cb)(const struct outbox_row *o, void *arg);
	void *arg;
};

static int due_row(const struct store_outbox *o, void *arg)
{
	struct due_ctx *c = arg;
	struct outbox_row row = { o->id, o->person, o->attempt, o->adapter,
				  o->op, o->folder, o->tries };
	return c->cb(&row, c->arg);
}

enum app_status outbox_due(struct app *a, bool local, int limit,
			   int (*cb)(const struct outbox_row *o, void *arg),
			   void *arg)
{
	struct due_ctx c = { cb, arg };
	return app_from_store(store_outbox_due(a->reads, app_now_ms() / 1000,
					       local, limit, due_row, &c));
}

void outbox_message_clear(struct outbox_message *m)
{
	/* Opened content: zeroed before it is freed (keys_free_plain). */
	keys_free_plain(m->subject, m->subject ? strlen(m->subject) : 0);
	keys_free_plain(m->headers, m->headers_len);
	keys_free_plain(m->body, m->body_len);
	memset(m, 0, sizeof(*m));
}

enum app_status outbox_message(struct app *a, const struct outbox_piece *p,
			       struct outbox_message *out)
{
	struct store_message m;
	memset(out, 0, sizeof(*out));
	/* Opened with the person's data key, unwrapped for this message. */
	int rc = sealed_message(a->reads, a->keys, p->o.attempt, &m);
	if (rc != APP_OK)
		return rc;
	*out = (struct outbox_message){
		.id = m.id,
		.person = m.person,
		.relationship = m.relationship,
		.brand = m.brand,
		.channel = m.channel,
		.decision = m.decision,
		.folder = m.folder,
		.removed = m.removed,
		.read = m.read,
		.received_at = m.received_at,
		.subject = m.subject,
		.headers = m.headers,
		.headers_len = m.headers_len,
		.body = m.body,
		.body_len = m.body_len,
	};
	snprintf(out->topic, sizeof(out->topic), "%s", m.topic);
	snprintf(out->alias, sizeof(out->alias), "%s", m.alias);
	snprintf(out->brand_name, sizeof(out->brand_name), "%s", m.brand_name);
	m.subject = m.headers = m.body = NULL; /* handed over */
	sealed_message_clear(&m);
	return APP_OK;
}

enum app_status outbox_unsubscribe_uri(struct app *a,
				       const struct outbox_piece *p, char **uri)
{
	struct store_relationship r;
	*uri = NULL;
	int rc = store_relationship_get(a->reads, p->o.attempt, NULL, &r);
	if (rc != STORE_OK)
		return app_from_store(rc);
	if (r.unsubscribe && r.person == p->o.person) {
		*uri = r.unsubscribe;
		r.unsubscribe = NULL;
	}
	store_relationship_clear(&r);
	return *uri ? APP_OK : APP_NOT_FOUND;
}

struct settle_job {
	const struct outbox_piece *p;
	int n;
};

/* What the ledger says of an unsubscribe's end, or NULL while it is
 * tried again; *done is set when it ended (done or given up). */
static json_t *unsubscribe_entry(const struct outbox_piece *p, bool *done)
{
	*done = p->ok;
	if (p->ok)
		return json_pack("{s:s, s:I}", "outcome", "ok", "status",
				 (json_int_t)p->status);
	if (p->o.tries + 1 < OUTBOX_UNSUBSCRIBE_TRIES)
		return NULL;
	*done = true; /* given up: said so on the ledger */
	return json_pack("{s:s, s:s, s:i}", "outcome", "failed", "error",
			 p->error, "tries", p->o.tries + 1);
}

static int settle_run(struct app_tx *t, void *arg)
{
	struct settle_job *j = arg;
	int64_t now = t->now_ms / 1000;
	for (int i = 0; i < j->n; i++) {
		const struct outbox_piece *p = &j->p[i];
		bool ok = p->ok;
		char error[sizeof(p->error) + 40];
		snprintf(error, sizeof(error), "%s", p->error);
		if (p->o.adapter == STORE_ADAPTER_UNSUBSCRIBE) {
			json_t *entry = unsubscribe_entry(p, &ok);
			int rc = entry ? ledger_append(
						 t->tx, p->o.person, "system",
						 "unsubscribe.sent",
						 p->o.attempt, entry, t->now_ms)
				       : STORE_OK;
			json_decref(entry);
			if (rc != STORE_OK || (ok && entry == NULL)) {
				log_warn("delivery: outbox %llu: its ledger "
					 "entry cannot be written; done "
					 "again later",
					 (unsigned long long)p->o.id);
				continue;
			}
			snprintf(error, sizeof(error), "unsubscribe: %s",
				 p->error);
		}
		/* A reply ends sent (on the ledger), or failed: given up, or
		 * one that can never be made anonymous. */
		if (p->o.adapter == STORE_ADAPTER_REPLY &&
		    (p->status == OUTBOX_REPLY_SENT ||
		     p->status == OUTBOX_REPLY_NEVER ||
		     (!ok && p->o.tries + 1 >= OUTBOX_MAX_TRIES)) &&
		    reply_settle_tx(t, p->o.person, p->o.attempt,
				    p->status == OUTBOX_REPLY_SENT) !=
			    STORE_OK) {
			log_warn("delivery: outbox %llu: the reply cannot be "
				 "settled; done again later",
				 (unsigned long long)p->o.id);
			continue;
		}
		int tries = ok ? -1 : p->o.tries + 1;
		int64_t wait = OUTBOX_BACKOFF_S;
		for (int k = 0; k < p->o.tries && wait < OUTBOX_BACKOFF_CAP_S;
		     k++)
			wait *= 2;
		if (wait > OUTBOX_BACKOFF_CAP_S)
			wait = OUTBOX_BACKOFF_CAP_S;
		/* What reaches out gives up in the end (a dead webhook must
		 * not keep the worker busy for ever); it stays on the list,
		 * failed, for the person to see. The Maildir is ours: it is
		 * tried until it works. */
		if (!ok && p->o.adapter != STORE_ADAPTER_MAILDIR &&
		    tries >= OUTBOX_MAX_TRIES) {
			wait = INT64_MAX / 4;
			snprintf(error, sizeof(error),
				 "given up after %d tries: %.200s", tries,
				 p->error);
		}
		if (store_outbox_settle(t->tx, p->o.person, p->o.id, tries,
					now + wait,
					ok ? NULL : error) != STORE_OK)
			log_warn("delivery: outbox %llu cannot be settled; "
				 "done again later",
				 (unsigned long long)p->o.id);
	}
	return STORE_OK;
}

enum app_status outbox_settle(struct app *a, const struct outbox_piece *p,
			      int n)
{
	struct settle_job j = { p, n };
	if (n <= 0)
		return APP_OK;
	return app_job_run(a, settle_run, &j, false) == STORE_OK ? APP_OK
								 : APP_FAULT;
}
