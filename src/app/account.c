/*
 * account.c — export and erasure (see account.h).
 */
#include "app/account.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app/ledger.h"
#include "app/gate_state.h"
#include "app/jwks.h"
#include "app/message.h"
#include "app/person.h"
#include "app/reply.h"
#include "app/sealed.h"
#include "app/view.h"
#include "base/log.h"
#include "core/gate.h"
#include "core/id.h"
#include "core/terms.h"
#include "core/utf8.h"
#include "ledger/chain.h"
#include "store/store.h"

static int collect_rel(const struct store_relationship *r, void *arg)
{
	struct {
		struct app *a;
		json_t *items;
	} *c = arg;
	json_array_append_new(c->items, view_person_relationship(c->a, r));
	return 0;
}

static int collect_proposal(const struct store_proposal *p, void *arg)
{
	char id[ID_SIZE], brd[ID_SIZE];
	id_encode(ID_PROPOSAL, p->id, id);
	id_encode(ID_BRAND, p->brand, brd);
	json_array_append_new(
		arg, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "id", id, "brand",
			       brd, "state", p->state, "value", p->value, "ask",
			       json_loads(p->ask, 0, NULL), "created_at",
			       app_time_json(p->created_at)));
	return 0;
}

struct attempts {
	json_t *items;
	uint64_t last;
	int n;
	struct sealed_key key; /* opens subjects and senders */
	bool fault;	       /* one did not open */
};

static int collect_attempt(const struct store_attempt_row *a, void *arg)
{
	struct attempts *c = arg;
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, a->id, id);
	json_array_append_new(
		c->items,
		json_pack(
			"{s:s,s:s,s:o,s:s,s:s,s:o}", "id", id, "channel",
			channel_name((enum channel)a->channel), "topic",
			a->topic[0] ? json_string(a->topic) : json_null(),
			"decision", gate_outcome_name(a->decision), "reason",
			gate_reasons[a->reason >= 0 && a->reason <
							       GATE_REASON_COUNT
					     ? a->reason
					     : 0]
				.wire,
			"received_at", app_time_json(a->received_at)));
	json_t *item = json_array_get(c->items, json_array_size(c->items) - 1);
	size_t subject_len, sender_len;
	char *subject = sealed_text(&c->key, a->subject_sealed, a->subject,
				    a->subject_len, &subject_len, &c->fault);
	char *sender = sealed_text(&c->key, a->sender_sealed, a->sender,
				   a->sender_len, &sender_len, &c->fault);
	if (subject)
		json_object_set_new(item, "subject", json_string(subject));
	if (sender)
		json_object_set_new(item, "sender", json_string(sender));
	keys_free_plain(subject, subject_len);
	keys_free_plain(sender, sender_len);
	if (c->fault)
		return 1;
	c->last = a->id;
	c->n++;
	return 0;
}

static int collect_entry(const struct store_ledger_entry *e, void *arg)
{
	char at[CHAIN_AT_LEN + 1], prev[CHAIN_HASH_HEX + 1],
		hash[CHAIN_HASH_HEX + 1];
	chain_format_at(e->at_ms, at);
	chain_hex_encode(e->prev, prev);
	chain_hex_encode(e->hash, hash);
	json_array_append_new(
		arg, json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:s}", "seq",
			       (json_int_t)e->seq, "at", at, "actor", e->actor,
			       "type", e->type, "relationship",
			       e->relationship[0] ? json_string(e->relationship)
						  : json_null(),
			       "data", json_loads(e->data, 0, NULL), "prev",
			       prev, "hash", hash));
	return 0;
}

/* Each exported message gains what was kept of it, opened: "raw", the
 * message as it came (mail: every byte, headers and all; over HTTP: the
 * body), or "raw_base64" when that is not UTF-8; "raw_is" says whether it
 * is the "message" or only its "headers" (a refusal keeps no body). */
static int export_content(struct app *a, uint64_t person, json_t *items)
{
	size_t i;
	json_t *item;
	json_array_foreach (items, i, item) {
		uint64_t id;
		if (!id_decode(ID_MESSAGE,
			       json_string_value(json_object_get(item, "id")),
			       &id))
			return -1;
		struct store_message m;
		if (sealed_message(a->reads, a->keys, id, &m) != APP_OK)
			return -1;
		const char *raw = m.body ? m.body : m.headers;
		size_t len = m.body ? m.body_len : m.headers_len;
		int rc = 0;
		if (m.person != person) {
			rc = -1;
		} else if (raw != NULL) {
			json_object_set_new(
				item, "raw_is",
				json_string(m.body ? "message" : "headers"));
			if (utf8_valid_prefix(raw, len) == len) {
				json_object_set_new(item, "raw",
						    json_stringn(raw, len));
			} else {
				size_t n = sodium_base64_ENCODED_LEN(
					len, sodium_base64_VARIANT_ORIGINAL);
				char *b64 = malloc(n);
				if (b64 == NULL) {
					rc = -1;
				} else {
					sodium_bin2base64(
						b64, n, (const uint8_t *)raw,
						len,
						sodium_base64_VARIANT_ORIGINAL);
					json_object_set_new(item, "raw_base64",
							    json_string(b64));
					free(b64);
				}
			}
		}
		sealed_message_clear(&m);
		if (rc != 0)
			return rc;
	}
	return 0;
}

enum app_status account_export(struct app *a, uint64_t person,
			       const char *password, json_t **out,
			       struct app_error *err)
{
	if (!person_check_password(a, person, password))
		return app_fail(err, APP_NOT_FOUND, "password",
				"the password is wrong");
	struct store_person p;
	if (store_person_get(a->reads, person, NULL, &p) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	char id[ID_SIZE];
	id_encode(ID_PERSON, person, id);
	json_t *doc = json_pack(
		"{s:s,s:s,s:s,s:o,s:o}", "format", "cmr-export-1", "id", id,
		"handle", p.handle, "created_at", app_time_json(p.created_at),
		"global_terms", json_loads(p.global_terms, 0, NULL));
	json_object_set_new(doc, "folders", json_loads(p.folders, 0, NULL));
	struct attempts at = { json_array(), 0, 0, { 0 }, false };
	/* The data key, unwrapped once for the whole export. */
	int unwrapped =
		keys_unwrap(a->keys, p.data_key, p.data_key_len, at.key.dk);
	at.key.person = person;
	store_person_clear(&p);
	if (unwrapped != 0) {
		json_decref(doc);
		json_decref(at.items);
		return app_fail(err, APP_FAULT, NULL,
				"the messages cannot be opened");
	}
	json_t *profile = NULL;
	if (view_profile(a, person, &profile) != APP_OK) {
		json_decref(doc);
		json_decref(at.items);
		sealed_key_clear(&at.key);
		return app_fail(err, APP_FAULT, NULL,
				"the profile cannot be read");
	}
	json_object_set_new(doc, "profile", profile);

	struct {
		struct app *a;
		json_t *items;
	} rc = { a, json_array() };
	json_t *proposals = json_array(), *entries = json_array();
	int st = store_relationship_list(
		a->reads,
		&(struct store_relationship_filter){ .person = person,
						     .limit = INT32_MAX },
		collect_rel, &rc);
	if (st == STORE_OK)
		st = store_proposal_list_person(a->reads, person, 0, INT32_MAX,
						collect_proposal, proposals);
	if (st == STORE_OK)
		st = store_ledger_list(a->reads, person, 0, INT32_MAX,
				       collect_entry, entries);
	/* Attempts come newest first, a page at a time. */
	for (uint64_t before = 0; st == STORE_OK;) {
		struct store_attempt_filter f = { .person = person,
						  .folder = -1,
						  .decision = -1,
						  .before = before,
						  .limit = 1000 };
		at.n = 0;
		st = store_attempt_list(a->reads, &f, collect_attempt, &at);
		if (st == STORE_OK && at.fault)
			st = STORE_FAULT;
		if (at.n < 1000)
			break;
		before = at.last;
	}
	sealed_key_clear(&at.key);
	if (st == STORE_OK && export_content(a, person, at.items) != 0)
		st = STORE_FAULT;
	/* The replies the person sent through their aliases, with their
	 * text. */
	json_t *replies = json_array();
	struct app_error rerr = { 0 };
	if (st == STORE_OK && reply_list(a, person, 0, 0, INT32_MAX, true,
					 replies, &rerr) != APP_OK)
		st = STORE_FAULT;
	json_object_set_new(doc, "relationships", rc.items);
	json_object_set_new(doc, "proposals", proposals);
	json_object_set_new(doc, "messages", at.items);
	json_object_set_new(doc, "replies", replies);
	json_object_set_new(doc, "ledger", entries);
	if (st != STORE_OK) {
		json_decref(doc);
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	}
	/* A signed head of the chain as exported (not recorded: export only
	 * reads). */
	char *note = NULL;
	if (ledger_head_note(a, person, &note) == APP_OK)
		json_object_set_new(doc, "ledger_head", json_string(note));
	free(note);
	/* The server's public keys, to verify the head and receipts offline. */
	json_object_set_new(doc, "jwks", jwks_of(a->keys));
	*out = doc;
	return APP_OK;
}

/* The person's relationships, which the gate forgets once the erasure
 * is durable. Their aliases need no list: the store holds every alias
 * (and own address) only as its keyed hash, which is already the
 * tombstone (store.h, struct store_codec). */
struct rel_list {
	uint64_t *rels;
	size_t n, cap;
	bool fault;
};

static int collect_erased(const struct store_relationship *r, void *arg)
{
	struct rel_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint64_t *rl = realloc(l->rels, cap * sizeof(*rl));
		if (rl == NULL) {
			l->fault = true;
			return 1;
		}
		l->rels = rl;
		l->cap = cap;
	}
	l->rels[l->n++] = r->id;
	return 0;
}

struct erase_job {
	uint64_t person;
	struct rel_list rels;
	char handle[KEYS_TOMBSTONE_HEX + 8];
	char *global;
	int64_t now_ms;
};

static int erase_run(struct app_tx *t, void *arg)
{
	struct erase_job *j = arg;
	json_t *data =
		json_pack("{s:I}", "relationships", (json_int_t)j->rels.n);
	int rc = data ? ledger_append(t->tx, j->person, "person", "erasure", 0,
				      data, j->now_ms)
		      : STORE_FAULT;
	json_decref(data);
	if (rc == STORE_OK)
		rc = store_person_erase(t->tx, j->person, j->handle, j->global,
					j->now_ms / 1000);
	if (rc == STORE_OK && t->cfg->maildir_root[0]) {
		/* The Maildir export goes too (whether it is on now or not:
		 * it may have been once). */
		struct store_outbox o = { .person = j->person,
					  .adapter = STORE_ADAPTER_MAILDIR,
					  .op = STORE_OUTBOX_ERASE,
					  .folder = -1,
					  .next_at = j->now_ms / 1000 };
		rc = store_outbox_add(t->tx, &o);
	}
	/* Once durable, the gate forgets the person and their
	 * relationships. */
	if (rc == STORE_OK)
		rc = gate_state_forget_tx(t, j->person, 0);
	for (size_t i = 0; rc == STORE_OK && i < j->rels.n; i++)
		rc = gate_state_forget_tx(t, 0, j->rels.rels[i]);
	if (rc == STORE_OK) /* the old pages must leave the WAL too */
		store_tx_checkpoint(t->tx);
	return rc;
}

static enum app_status erase_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such person");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the erasure could not be recorded; nothing "
				"was erased");
	return APP_OK;
}

static void erase_release(void *job)
{
	struct erase_job *j = job;
	free(j->rels.rels);
	free(j->global);
	free(j);
}

enum app_status account_erase_begin(struct app *a, uint64_t person,
				    const char *password, struct app_write *w,
				    struct app_error *err)
{
	if (!person_check_password(a, person, password))
		return app_fail(err, APP_NOT_FOUND, "password",
				"the password is wrong");
	struct erase_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	j->person = person;
	j->now_ms = app_now_ms();
	char id[ID_SIZE], tomb[KEYS_TOMBSTONE_HEX + 1];
	id_encode(ID_PERSON, person, id);
	struct global_terms g;
	global_terms_default(&g);
	json_t *gj = global_terms_to_json(&g);
	j->global = gj ? json_dumps(gj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(gj);
	if (store_relationship_list(
		    a->reads,
		    &(struct store_relationship_filter){ .person = person,
							 .limit = INT32_MAX },
		    collect_erased, &j->rels) != STORE_OK ||
	    j->rels.fault || j->global == NULL ||
	    keys_tombstone(a->keys, "handle", id, strlen(id), tomb) != 0) {
		erase_release(j);
		return app_fail(err, APP_FAULT, NULL,
				"the erasure could not be prepared; nothing "
				"was erased");
	}
	snprintf(j->handle, sizeof(j->handle), "erased-%.32s", tomb);
	*w = (struct app_write){ erase_run, j, true, erase_finish,
				 erase_release };
	return APP_OK;
}

enum app_status account_erase(struct app *a, uint64_t person,
			      const char *password, struct app_error *err)
{
	struct app_write w;
	int rc = account_erase_begin(a, person, password, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}
