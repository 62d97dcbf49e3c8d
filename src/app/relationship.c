/*
 * relationship.c — proposing and accepting (see relationship.h).
 */
#include "app/relationship.h"
#include "app/relationship_draft.h"
#include "app/person_made.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/ledger.h"
#include "app/connect.h"
#include "app/inbox.h"
#include "app/gate_state.h"
#include "app/message.h"
#include "app/scheduler.h"
#include "app/view.h"
#include "base/log.h"
#include "core/field.h"
#include "core/id.h"
#include "core/merge_patch.h"
#include "store/store.h"

void relationship_alias(const struct app *a, const char *brand_name, char *out,
			size_t size)
{
	char slug[21];
	size_t n = 0;
	uint8_t rnd[10];
	char b32[17];

	for (const char *p = brand_name; *p && n < sizeof(slug) - 1; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			slug[n++] = c;
	}
	if (n == 0)
		slug[n++] = 'b';
	slug[n] = '\0';
	randombytes_buf(rnd, sizeof(rnd)); /* 80 bits */
	id_base32(rnd, 80, b32);
	snprintf(out, size, "%s.%s@%s", slug, b32, a->cfg.alias_domain);
}

static json_t *ask_to_json(const struct terms_ask *ask)
{
	json_t *o = json_object(), *ch = json_array(), *f = json_array();
	for (int c = 0; c < CHANNEL_COUNT; c++)
		if (ask->channels & (1u << c))
			json_array_append_new(
				ch, json_string(channel_name((enum channel)c)));
	json_object_set_new(o, "channels", ch);
	if (ask->topics_all) {
		json_object_set_new(o, "topics", json_string("all"));
	} else {
		json_t *t = json_array();
		for (int i = 0; i < ask->n_topics; i++)
			json_array_append_new(t, json_string(ask->topics[i]));
		json_object_set_new(o, "topics", t);
	}
	for (int i = 0; i < ask->n_fields; i++)
		json_array_append_new(f, json_string(ask->fields[i]));
	json_object_set_new(o, "fields", f);
	return o;
}

struct propose_job {
	uint64_t *id_out; /* where finish puts the new proposal's key */
	struct store_proposal p;
	json_t *ledger_data;
	int64_t now_ms;
	bool by_code;
	uint8_t code_hash[32];
	int open; /* what tied the brand to the person already (STORE_OPEN_*) */
};

static int propose_run(struct app_tx *t, void *arg)
{
	struct propose_job *j = arg;
	int rc;
	if (j->by_code) {
		rc = store_code_use(t->tx, j->code_hash, j->now_ms / 1000,
				    &j->p.person);
		if (rc != STORE_OK)
			return rc;
	}
	/* One relationship per person and brand, and one proposal on the
	 * way to it: a second is refused, with the code left unused (the
	 * job's savepoint rolls its use back). */
	rc = store_proposal_open(t->reads, j->p.person, j->p.brand,
				 j->now_ms / 1000, &j->open);
	if (rc == STORE_OK && j->open)
		return STORE_CONFLICT;
	if (rc != STORE_OK)
		return rc;
	rc = store_proposal_insert(t->tx, &j->p);
	if (rc != STORE_OK)
		return rc;
	return ledger_append(t->tx, j->p.person, "brand", "proposal.received",
			     0, j->ledger_data, j->now_ms);
}

static enum app_status propose_finish(void *job, int rc, struct app_error *err)
{
	struct propose_job *j = job;
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "connect_code",
				"no such connect code");
	if (rc == STORE_CONFLICT && j->open == STORE_OPEN_RELATIONSHIP)
		return app_fail(err, APP_CONFLICT, "connect_code",
				"you have a relationship with this person "
				"already");
	if (rc == STORE_CONFLICT && j->open == STORE_OPEN_PROPOSAL)
		return app_fail(err, APP_CONFLICT, "connect_code",
				"a proposal of yours to this person is "
				"pending; it can be proposed again once it "
				"is declined or has expired");
	if (rc != STORE_OK)
		return app_fail(err, app_from_store(rc), NULL,
				"the proposal could not be recorded");
	*j->id_out = j->p.id;
	return APP_OK;
}

static void propose_release(void *job)
{
	struct propose_job *j = job;
	free(j->p.ask);
	json_decref(j->ledger_data);
	free(j);
}

enum app_status proposal_create_begin(struct app *a, uint64_t brand,
				      uint64_t person, const json_t *proposal,
				      uint64_t *id, int *err_kind,
				      struct app_write *w,
				      struct app_error *err)
{
	(void)a; /* all it needs is checked here and read by the job */
	struct terms_ask ask;
	struct terms_error terr;
	char prp[ID_SIZE], brd[ID_SIZE];

	*err_kind = TERMS_ERR_VALUE;
	if (terms_ask_parse(proposal, &ask, &terr) != 0) {
		*err_kind = terr.kind;
		return app_fail(err, APP_INVALID, terr.field, "%s",
				terr.reason);
	}
	for (int i = 0; i < ask.n_fields; i++)
		if (field_find(ask.fields[i]) == NULL) {
			char names[200], at[32];
			field_vocabulary_list(names, sizeof(names));
			snprintf(at, sizeof(at), "fields[%d]", i);
			return app_fail(err, APP_INVALID, at,
					"\"%s\" is not a profile field; a "
					"proposal asks for %s",
					ask.fields[i], names);
		}
	json_t *value = json_object_get(proposal, "value");
	if (!json_is_string(value)) {
		*err_kind = TERMS_ERR_TYPE;
		return app_fail(err, APP_INVALID, "value",
				"the value offered must be a string");
	}
	size_t vlen = json_string_length(value);
	if (vlen == 0 || vlen > PROPOSAL_VALUE_MAX)
		return app_fail(err, APP_INVALID, "value",
				"the value offered has 1 to %d characters",
				PROPOSAL_VALUE_MAX);
	struct propose_job j;
	memset(&j, 0, sizeof(j));
	if (person == 0) {
		json_t *code = json_object_get(proposal, "connect_code");
		if (!json_is_string(code)) {
			*err_kind = TERMS_ERR_TYPE;
			return app_fail(err, APP_INVALID, "connect_code",
					"the connect code the person gave "
					"you is needed, as a string");
		}
		if (!connect_code_hash(json_string_value(code), j.code_hash))
			return app_fail(err, APP_NOT_FOUND, "connect_code",
					"no such connect code");
		j.by_code = true;
	}
	j.now_ms = app_now_ms();
	j.p.id = store_new_key();
	j.p.person = person;
	j.p.brand = brand;
	snprintf(j.p.state, sizeof(j.p.state), "pending");
	j.p.value = (char *)json_string_value(value);
	json_t *askj = ask_to_json(&ask);
	j.p.ask = json_dumps(askj, JSON_COMPACT | JSON_SORT_KEYS);
	id_encode(ID_PROPOSAL, j.p.id, prp);
	id_encode(ID_BRAND, brand, brd);
	j.ledger_data = askj;
	json_object_set_new(askj, "proposal", json_string(prp));
	json_object_set_new(askj, "brand", json_string(brd));
	j.p.created_at = j.now_ms / 1000;
	j.p.expires_at = j.p.created_at + PROPOSAL_TTL;
	struct propose_job *heap = j.p.ask ? malloc(sizeof(*heap)) : NULL;
	if (heap == NULL) {
		free(j.p.ask);
		json_decref(askj);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	j.id_out = id;
	*heap = j; /* owns ask and the ledger data from here */
	*w = (struct app_write){ propose_run, heap, false, propose_finish,
				 propose_release };
	return APP_OK;
}

enum app_status proposal_create(struct app *a, uint64_t brand, uint64_t person,
				const json_t *proposal, uint64_t *id,
				int *err_kind, struct app_error *err)
{
	struct app_write w;
	int rc = proposal_create_begin(a, brand, person, proposal, id, err_kind,
				       &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

int relationship_folders_tx(struct store_tx *tx, uint64_t person,
			    const char *json)
{
	json_t *arr = json_loads(json, 0, NULL);
	size_t n = json_array_size(arr);
	const char **names = n ? calloc(n, sizeof(*names)) : NULL;
	int rc = STORE_FAULT;
	if (arr && (n == 0 || names)) {
		for (size_t i = 0; i < n; i++)
			names[i] = json_string_value(json_array_get(arr, i));
		rc = inbox_folders_intern_tx(tx, person, names, (int)n, NULL);
	}
	free(names);
	json_decref(arr);
	return rc;
}

struct accept_job {
	struct accepted *out; /* where finish puts the new relationship */
	struct store_relationship r;
	uint64_t proposal;
	char *folders; /* JSON array of folder names the terms add */
	json_t *ledger_data;
	int64_t now_ms;
};

static int accept_run(struct app_tx *t, void *arg)
{
	struct accept_job *j = arg;
	int rc = store_proposal_decide(t->tx, j->proposal, "accepted", j->r.id,
				       j->r.created_at);
	if (rc == STORE_OK)
		rc = store_relationship_insert(t->tx, &j->r);
	if (rc == STORE_OK && j->folders)
		rc = relationship_folders_tx(t->tx, j->r.person, j->folders);
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->r.person, "person",
				   "relationship.accepted", j->r.id,
				   j->ledger_data, j->now_ms);
	return rc;
}

static json_t *names_json(const char *base, size_t stride, int n)
{
	json_t *arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr,
				      json_string(base + stride * (size_t)i));
	return arr;
}

/* What a person granted, as the ledger records it (the form of the test vector
 * in tests/unit/ledger/test_chain.c):
 * {"channels":[…],"topics":[…]|"all","fields":[…]}. */
static json_t *terms_grant_json(const struct terms *t)
{
	json_t *chans = json_array();
	for (int c = 0; c < CHANNEL_COUNT; c++)
		if (t->channels[c].allowed)
			json_array_append_new(chans, json_string(channel_name(
							     (enum channel)c)));
	return json_pack(
		"{s:o,s:o,s:o}", "channels", chans, "topics",
		t->topics_all ? json_string("all")
			      : names_json(t->topics[0], sizeof(t->topics[0]),
					   t->n_topics),
		"fields",
		names_json(t->fields[0], sizeof(t->fields[0]), t->n_fields));
}

static enum app_status accept_finish(void *job, int rc, struct app_error *err)
{
	struct accept_job *j = job;
	if (rc == STORE_OK) {
		j->out->relationship = j->r.id;
		snprintf(j->out->alias, sizeof(j->out->alias), "%s",
			 j->r.alias);
		return APP_OK;
	}
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "proposal",
				"the proposal is no longer pending, or a "
				"relationship with this brand is open");
	return app_fail(err, APP_FAULT, NULL,
			"the relationship could not be recorded");
}

static void accept_release(void *job)
{
	struct accept_job *j = job;
	json_decref(j->ledger_data);
	free(j->folders);
	store_relationship_clear(&j->r);
	free(j);
}

enum app_status relationship_of(struct app *a, struct app_caller who,
				uint64_t id, struct store_relationship *out,
				struct app_error *err)
{
	int rc = store_relationship_get(a->reads, id, NULL, out);
	if (rc == STORE_OK && app_owns(who, out->person, out->brand))
		return APP_OK;
	if (rc == STORE_OK)
		store_relationship_clear(out);
	return app_fail(err, rc == STORE_FAULT ? APP_FAULT : APP_NOT_FOUND,
			"relationship",
			rc == STORE_FAULT ? "the store cannot be read"
					  : "no such relationship");
}

enum app_status proposal_of(struct app *a, struct app_caller who, uint64_t id,
			    struct store_proposal *out, struct app_error *err)
{
	int rc = store_proposal_by_id(a->reads, id, out);
	if (rc == STORE_OK && app_owns(who, out->person, out->brand))
		return APP_OK;
	if (rc == STORE_OK)
		store_proposal_clear(out);
	return app_fail(err, rc == STORE_FAULT ? APP_FAULT : APP_NOT_FOUND,
			"proposal",
			rc == STORE_FAULT ? "the store cannot be read"
					  : "no such proposal");
}

void relationship_draft_clear(struct relationship_draft *d)
{
	store_relationship_clear(&d->r);
	free(d->folders);
	json_decref(d->grant);
	memset(d, 0, sizeof(*d));
}

enum app_status relationship_draft(struct app *a, uint64_t person,
				   const struct terms_ask *ask,
				   const json_t *terms_json,
				   const char *brand_name,
				   struct relationship_draft *d, int *err_kind,
				   struct app_error *err)
{
	struct terms_error terr;
	struct terms *t = malloc(sizeof(*t));
	struct topic_table *topics = calloc(1, sizeof(*topics));
	struct folder_table *folders = malloc(sizeof(*folders));
	struct terms_compiled tc;
	int status = APP_FAULT;

	memset(d, 0, sizeof(*d));
	*err_kind = TERMS_ERR_VALUE;
	if (t == NULL || topics == NULL || folders == NULL)
		goto out;
	if (terms_parse(terms_json, ask, TERMS_MODE_ACCEPT, t, &terr) != 0) {
		*err_kind = terr.kind;
		status = app_fail(err, APP_INVALID, terr.field, "%s",
				  terr.reason);
		goto out;
	}
	/* The topic table starts with what was asked, so indices are
	 * stable whatever the person grants now or later. */
	for (int i = 0; i < ask->n_topics; i++)
		topic_table_intern(topics, ask->topics[i]);
	if (inbox_folders(a, person, folders) != APP_OK)
		goto out;
	int n_folders_before = folders->n;
	if (terms_compile(t, topics, folders, &tc, &terr) != 0) {
		status = app_fail(err, APP_INVALID, terr.field, "%s",
				  terr.reason);
		goto out;
	}
	terms_folders_respell(t, folders);
	int64_t now_ms = app_now_ms();
	d->r.id = store_new_key();
	d->r.person = person;
	d->r.state = REL_ACTIVE;
	relationship_alias(a, brand_name, d->r.alias, sizeof(d->r.alias));
	json_t *tj = terms_to_json(t);
	d->r.terms = tj ? json_dumps(tj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(tj);
	json_t *topj = names_json(topics->names[0], sizeof(topics->names[0]),
				  topics->n);
	d->r.topics = json_dumps(topj, JSON_COMPACT);
	json_decref(topj);
	if (folders->n > n_folders_before) {
		json_t *own = names_json(folders->names[n_folders_before],
					 sizeof(folders->names[0]),
					 folders->n - n_folders_before);
		d->folders = json_dumps(own, JSON_COMPACT);
		json_decref(own);
	}
	d->r.terms_version = 1;
	d->r.created_at = now_ms / 1000;
	/* The ledger says what was granted, as the chain's test vector shows.
	 */
	d->grant = terms_grant_json(t);
	if (d->r.terms == NULL || d->r.topics == NULL || d->grant == NULL ||
	    (folders->n > n_folders_before && d->folders == NULL)) {
		relationship_draft_clear(d);
		status = app_fail(err, APP_FAULT, NULL, "out of memory");
		goto out;
	}
	status = APP_OK;
out:
	if (status == APP_FAULT && err && err->message[0] == '\0')
		app_fail(err, APP_FAULT, NULL, "the store failed");
	free(t);
	free(topics);
	free(folders);
	return status;
}

enum app_status
proposal_accept_begin(struct app *a, uint64_t person, uint64_t proposal,
		      const json_t *terms_json, struct accepted *out,
		      int *err_kind, struct app_write *w, struct app_error *err)
{
	struct store_proposal p;
	struct store_brand b;
	struct terms_ask ask;
	struct terms_error terr;
	struct relationship_draft d;

	*err_kind = TERMS_ERR_VALUE;
	int rc = proposal_of(a, APP_PERSON(person), proposal, &p, err);
	if (rc != APP_OK)
		return rc;
	int64_t now_ms = app_now_ms();
	if (strcmp(p.state, "pending") != 0 || p.expires_at <= now_ms / 1000) {
		store_proposal_clear(&p);
		return app_fail(err, APP_CONFLICT, "proposal",
				"the proposal is no longer pending");
	}
	json_t *askj = json_loads(p.ask, 0, NULL);
	rc = askj ? terms_ask_parse(askj, &ask, &terr) : -1;
	json_decref(askj);
	uint64_t brand = p.brand;
	store_proposal_clear(&p);
	if (rc != 0)
		return app_fail(err, APP_FAULT, NULL, "unreadable proposal");
	if (store_brand_get(a->reads, brand, NULL, &b) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL, "the store failed");
	rc = relationship_draft(a, person, &ask, terms_json, b.name, &d,
				err_kind, err);
	store_brand_clear(&b);
	if (rc != APP_OK)
		return rc;
	struct accept_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		relationship_draft_clear(&d);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	/* The job owns the draft's strings from here. */
	j->now_ms = now_ms;
	j->proposal = proposal;
	j->r = d.r;
	j->r.brand = brand;
	j->r.proposal = proposal;
	j->folders = d.folders;
	j->ledger_data = d.grant;
	j->out = out;
	*w = (struct app_write){ accept_run, j, true, accept_finish,
				 accept_release };
	return APP_OK;
}

enum app_status proposal_accept(struct app *a, uint64_t person,
				uint64_t proposal, const json_t *terms_json,
				struct accepted *out, int *err_kind,
				struct app_error *err)
{
	struct app_write w;
	int rc = proposal_accept_begin(a, person, proposal, terms_json, out,
				       err_kind, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

const char *proposal_state(const struct store_proposal *p, int64_t now)
{
	if (strcmp(p->state, "pending") == 0 && p->expires_at <= now)
		return "expired";
	return p->state;
}

struct decline_job {
	uint64_t proposal, person;
	json_t *data;
	int64_t now_ms;
};

static int decline_run(struct app_tx *t, void *arg)
{
	struct decline_job *j = arg;
	int rc = store_proposal_decide(t->tx, j->proposal, "declined", 0,
				       j->now_ms / 1000);
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->person, "person",
				   "proposal.declined", 0, j->data, j->now_ms);
	return rc;
}

static enum app_status decline_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "proposal",
				"the proposal is no longer pending");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store could not record it");
	return APP_OK;
}

static void decline_release(void *job)
{
	struct decline_job *j = job;
	json_decref(j->data);
	free(j);
}

enum app_status proposal_decline_begin(struct app *a, uint64_t person,
				       uint64_t proposal, struct app_write *w,
				       struct app_error *err)
{
	struct store_proposal p;
	char prp[ID_SIZE];
	int rc = proposal_of(a, APP_PERSON(person), proposal, &p, err);
	if (rc != APP_OK)
		return rc;
	int64_t now_ms = app_now_ms();
	bool pending =
		strcmp(proposal_state(&p, now_ms / 1000), "pending") == 0;
	store_proposal_clear(&p);
	if (!pending)
		return app_fail(err, APP_CONFLICT, "proposal",
				"the proposal is no longer pending");
	id_encode(ID_PROPOSAL, proposal, prp);
	struct decline_job *j = malloc(sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct decline_job){ proposal, person,
				   json_pack("{s:s}", "proposal", prp),
				   now_ms };
	if (j->data == NULL) {
		free(j);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	*w = (struct app_write){ decline_run, j, false, decline_finish,
				 decline_release };
	return APP_OK;
}

enum app_status proposal_decline(struct app *a, uint64_t person,
				 uint64_t proposal, struct app_error *err)
{
	struct app_write w;
	int rc = proposal_decline_begin(a, person, proposal, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

struct change_job {
	uint64_t rel, person;
	int state;
	bool record; /* a ledger entry: the state changes (or it ends) */
	json_t *data;
	int64_t now_ms;
};

static int change_run(struct app_tx *t, void *arg)
{
	struct change_job *j = arg;
	int rc = store_relationship_set_state(t->tx, j->rel, j->state,
					      j->now_ms / 1000);
	/* Muting is on the person's ledger too, as their own record: no
	 * receipt is made of it (app/receipt.c takes consent events only)
	 * and no brand's view reads it. */
	const char *type = j->state == REL_ENDED   ? "relationship.ended"
			   : j->state == REL_MUTED ? "relationship.muted"
						   : "relationship.unmuted";
	if (rc == STORE_OK && j->record)
		rc = ledger_append(t->tx, j->person, "person", type, j->rel,
				   j->data, j->now_ms);
	if (rc == STORE_OK && j->state == REL_ENDED) {
		/* Unsubscribed at the brand too (RFC 8058), after the commit,
		 * by the delivery worker. */
		struct store_outbox o = { .person = j->person,
					  .attempt = j->rel,
					  .adapter = STORE_ADAPTER_UNSUBSCRIBE,
					  .op = STORE_OUTBOX_DELIVER,
					  .folder = -1,
					  .next_at = j->now_ms / 1000 };
		rc = store_outbox_add(t->tx, &o);
	}
	if (rc == STORE_OK)
		rc = gate_state_forget_tx(t, 0, j->rel);
	/* Muted, unmuted or ended: its held messages are decided again at
	 * once (to Later, to the inbox, or refused). */
	if (rc == STORE_OK)
		rc = scheduler_held_now_tx(t, j->person, j->rel);
	return rc;
}

static enum app_status change_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "relationship",
				"the relationship has ended");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the change could not be recorded");
	return APP_OK;
}

static void change_release(void *job)
{
	struct change_job *j = job;
	json_decref(j->data);
	free(j);
}

enum app_status relationship_change_begin(struct app *a, uint64_t person,
					  uint64_t rel, enum rel_change change,
					  struct app_write *w,
					  struct app_error *err)
{
	struct store_relationship r;
	int rc = relationship_of(a, APP_PERSON(person), rel, &r, err);
	if (rc != APP_OK)
		return rc;
	int state = r.state;
	store_relationship_clear(&r);
	if (state == REL_ENDED)
		return app_fail(err, APP_CONFLICT, "relationship",
				"the relationship has ended");
	struct change_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct change_job){
		.rel = rel,
		.person = person,
		.state = change == REL_MUTE	? REL_MUTED
			 : change == REL_UNMUTE ? REL_ACTIVE
						: REL_ENDED,
		.data = json_pack("{s:s}", "by", "person"),
		.now_ms = app_now_ms(),
	};
	/* Muting a muted relationship again (or unmuting an active one)
	 * changes nothing and records nothing. */
	j->record = j->state == REL_ENDED || j->state != state;
	if (j->data == NULL) {
		free(j);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	*w = (struct app_write){ change_run, j, true, change_finish,
				 change_release };
	return APP_OK;
}

enum app_status relationship_change(struct app *a, uint64_t person,
				    uint64_t rel, enum rel_change change,
				    struct app_error *err)
{
	struct app_write w;
	int rc = relationship_change_begin(a, person, rel, change, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

struct terms_job {
	struct store_relationship r;
	char *folders;
	json_t *data;
	int64_t now_ms;
	int base_version;	/* a patch: the terms version it was merged onto
				   (0: a replacement, no check) */
	bool changed_meanwhile; /* the patch's terms were replaced first */
};

static int terms_run(struct app_tx *t, void *arg)
{
	struct terms_job *j = arg;
	if (j->base_version) {
		struct store_relationship now;
		int rc = store_relationship_get(t->reads, j->r.id, NULL, &now);
		if (rc != STORE_OK)
			return rc;
		int version = now.terms_version;
		store_relationship_clear(&now);
		if (version != j->base_version) {
			j->changed_meanwhile = true;
			return STORE_CONFLICT;
		}
	}
	int rc = store_relationship_set_terms(t->tx, &j->r, j->now_ms / 1000);
	if (rc == STORE_OK && j->folders)
		rc = relationship_folders_tx(t->tx, j->r.person, j->folders);
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->r.person, "person",
				   "terms.changed", j->r.id, j->data,
				   j->now_ms);
	if (rc == STORE_OK)
		rc = gate_state_forget_tx(t, 0, j->r.id);
	if (rc == STORE_OK) /* held messages decided again at once */
		rc = scheduler_held_now_tx(t, j->r.person, j->r.id);
	return rc;
}

static enum app_status terms_finish(void *job, int rc, struct app_error *err)
{
	struct terms_job *j = job;
	if (rc == STORE_CONFLICT && j->changed_meanwhile)
		return app_fail(err, APP_CONFLICT, "relationship",
				"the terms changed meanwhile; send the patch "
				"again");
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "relationship",
				"the relationship has ended");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the terms could not be recorded");
	return APP_OK;
}

static void terms_release(void *job)
{
	struct terms_job *j = job;
	json_decref(j->data);
	free(j->folders);
	store_relationship_clear(&j->r);
	free(j);
}

enum app_status relationship_ask(struct app *a,
				 const struct store_relationship *r,
				 struct terms_ask *ask)
{
	struct store_proposal p;
	struct terms_error terr;
	if (r->proposal == 0) {
		person_made_ask(ask);
		return APP_OK;
	}
	if (store_proposal_by_id(a->reads, r->proposal, &p) != STORE_OK)
		return APP_FAULT;
	json_t *askj = json_loads(p.ask, 0, NULL);
	store_proposal_clear(&p);
	int rc = askj ? terms_ask_parse(askj, ask, &terr) : -1;
	json_decref(askj);
	return rc == 0 ? APP_OK : APP_FAULT;
}

/* What a PUT and a PATCH of a relationship's terms share: body is the
 * whole new terms object, or with `patch` a merge patch of the stored
 * one; either way the result goes through the same validation. */
static enum app_status terms_begin(struct app *a, uint64_t person, uint64_t rel,
				   const json_t *body, bool patch,
				   int *err_kind, struct app_write *w,
				   struct app_error *err)
{
	struct terms_job j = { .now_ms = app_now_ms() };
	json_t *merged = NULL;
	const json_t *terms_json = body;
	struct terms_ask ask;
	struct terms_error terr;
	struct terms *t = malloc(sizeof(*t));
	struct topic_table *topics = calloc(1, sizeof(*topics));
	struct folder_table *folders = malloc(sizeof(*folders));
	struct terms_compiled tc;
	int status = APP_FAULT;

	*err_kind = TERMS_ERR_VALUE;
	memset(&j.r, 0, sizeof(j.r));
	if (t == NULL || topics == NULL || folders == NULL)
		goto out;
	if ((status = relationship_of(a, APP_PERSON(person), rel, &j.r, err)) !=
	    APP_OK)
		goto out;
	status = APP_FAULT;
	if (j.r.state == REL_ENDED) {
		status = app_fail(err, APP_CONFLICT, "relationship",
				  "the relationship has ended");
		goto out;
	}
	if (patch) {
		json_t *current = json_loads(j.r.terms, 0, NULL);
		merged = current ? merge_patch_apply(current, body) : NULL;
		json_decref(current);
		if (merged == NULL)
			goto out;
		terms_json = merged;
		j.base_version = j.r.terms_version;
	}
	if (relationship_ask(a, &j.r, &ask) != APP_OK)
		goto out;
	/* As on accept, an omitted "topics" means the topics the proposal
	 * asked for ("all" when it asked for all). */
	if (terms_parse(terms_json, &ask, TERMS_MODE_ACCEPT, t, &terr) != 0) {
		*err_kind = terr.kind;
		status = app_fail(err, APP_INVALID, terr.field, "%s",
				  terr.reason);
		goto out;
	}
	json_t *tj = json_loads(j.r.topics, 0, NULL);
	size_t i;
	json_t *v;
	json_array_foreach (tj, i, v) {
		topic_table_intern(topics, json_string_value(v));
	}
	json_decref(tj);
	if (inbox_folders(a, person, folders) != APP_OK)
		goto out;
	int n_folders = folders->n;
	if (terms_compile(t, topics, folders, &tc, &terr) != 0) {
		status = app_fail(err, APP_INVALID, terr.field, "%s",
				  terr.reason);
		goto out;
	}
	terms_folders_respell(t, folders);
	free(j.r.terms);
	free(j.r.topics);
	json_t *nt = terms_to_json(t);
	j.r.terms = nt ? json_dumps(nt, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(nt);
	json_t *topj = names_json(topics->names[0], sizeof(topics->names[0]),
				  topics->n);
	j.r.topics = json_dumps(topj, JSON_COMPACT);
	json_decref(topj);
	if (folders->n > n_folders) {
		json_t *own = names_json(folders->names[n_folders],
					 sizeof(folders->names[0]),
					 folders->n - n_folders);
		j.folders = json_dumps(own, JSON_COMPACT);
		json_decref(own);
	}
	j.r.terms_version++;
	j.data = terms_grant_json(t);
	struct terms_job *heap = j.r.terms && j.r.topics && j.data
					 ? malloc(sizeof(*heap))
					 : NULL;
	if (heap == NULL) {
		status = app_fail(err, APP_FAULT, NULL, "out of memory");
		goto out;
	}
	/* The job owns the strings from here. */
	*heap = j;
	memset(&j, 0, sizeof(j));
	*w = (struct app_write){ terms_run, heap, true, terms_finish,
				 terms_release };
	status = APP_OK;
out:
	json_decref(merged);
	json_decref(j.data);
	free(j.folders);
	store_relationship_clear(&j.r);
	free(t);
	free(topics);
	free(folders);
	return status;
}

enum app_status relationship_put_terms_begin(struct app *a, uint64_t person,
					     uint64_t rel,
					     const json_t *terms_json,
					     int *err_kind, struct app_write *w,
					     struct app_error *err)
{
	return terms_begin(a, person, rel, terms_json, false, err_kind, w, err);
}

enum app_status
relationship_patch_terms_begin(struct app *a, uint64_t person, uint64_t rel,
			       const json_t *patch, int *err_kind,
			       struct app_write *w, struct app_error *err)
{
	return terms_begin(a, person, rel, patch, true, err_kind, w, err);
}

enum app_status relationship_put_terms(struct app *a, uint64_t person,
				       uint64_t rel, const json_t *terms_json,
				       int *err_kind, struct app_error *err)
{
	struct app_write w;
	int rc = relationship_put_terms_begin(a, person, rel, terms_json,
					      err_kind, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

/* ---- views ---- */

struct page_ctx {
	struct app *a;
	json_t *items;
	bool brand; /* the brand's trimmed view */
	bool fault; /* an item could not be made */
};

static int page_item(const struct store_relationship *r, void *arg)
{
	struct page_ctx *c = arg;
	json_t *item = c->brand ? view_brand_item(r)
				: view_person_relationship(c->a, r);
	c->fault = item == NULL;
	return json_array_append_new(c->items, item) != 0;
}

enum app_status relationship_page(struct app *a, struct app_caller who,
				  uint64_t after, int limit, json_t *items,
				  struct app_error *err)
{
	struct page_ctx c = { a, items, who.person == 0, false };
	struct store_relationship_filter f = { .person = who.person,
					       .brand = who.brand,
					       .after = after,
					       .limit = limit };
	int rc = store_relationship_list(a->reads, &f, page_item, &c);
	return rc == STORE_OK && !c.fault
		       ? APP_OK
		       : app_fail(err, APP_FAULT, NULL,
				  "the store cannot be read");
}

enum app_status relationship_person_view(struct app *a, uint64_t person,
					 uint64_t id, bool terms_only,
					 json_t **out, struct app_error *err)
{
	struct store_relationship r;
	int rc = relationship_of(a, APP_PERSON(person), id, &r, err);
	if (rc != APP_OK)
		return rc;
	*out = terms_only ? json_loads(r.terms, 0, NULL)
			  : view_person_relationship(a, &r);
	store_relationship_clear(&r);
	return *out ? APP_OK : app_fail(err, APP_FAULT, NULL, "out of memory");
}

enum app_status relationship_accepted_view(struct app *a, uint64_t person,
					   uint64_t id, json_t **out,
					   struct app_error *err)
{
	struct store_relationship r;
	int rc = relationship_of(a, APP_PERSON(person), id, &r, err);
	if (rc != APP_OK)
		return rc;
	char rel[ID_SIZE];
	id_encode(ID_RELATIONSHIP, r.id, rel);
	*out = json_pack("{s:s,s:s,s:s,s:o}", "id", rel, "alias", r.alias,
			 "state", "active", "terms",
			 json_loads(r.terms, 0, NULL));
	store_relationship_clear(&r);
	return *out ? APP_OK : app_fail(err, APP_FAULT, NULL, "out of memory");
}

/* A proposal as JSON: with its brand for the person (view_brand_card);
 * NULL when the store cannot be read. */
static json_t *proposal_json(struct app *a, const struct store_proposal *p,
			     bool for_person)
{
	char id[ID_SIZE], rel[ID_SIZE];
	int64_t now = app_now_ms() / 1000;
	id_encode(ID_PROPOSAL, p->id, id);
	json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "id", id, "state",
			      proposal_state(p, now), "created_at",
			      app_time_json(p->created_at), "expires_at",
			      app_time_json(p->expires_at));
	if (p->relationship) {
		id_encode(ID_RELATIONSHIP, p->relationship, rel);
		json_object_set_new(o, "relationship", json_string(rel));
	} else {
		json_object_set_new(o, "relationship", json_null());
	}
	json_t *ask = json_loads(p->ask, 0, NULL);
	json_object_update(o, ask);
	json_decref(ask);
	json_object_set_new(o, "value", json_string(p->value));
	if (for_person) {
		json_t *brand = view_brand_card(a, p->brand);
		if (brand == NULL) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, "brand", brand);
	}
	return o;
}

enum app_status proposal_view(struct app *a, struct app_caller who, uint64_t id,
			      json_t **out, struct app_error *err)
{
	struct store_proposal p;
	int rc = proposal_of(a, who, id, &p, err);
	if (rc != APP_OK)
		return rc;
	*out = proposal_json(a, &p, who.person != 0);
	store_proposal_clear(&p);
	return *out ? APP_OK
		    : app_fail(err, APP_FAULT, NULL,
			       "the store cannot be read");
}

struct proposal_page_ctx {
	struct app *a;
	json_t *items;
	bool fault; /* an item could not be made */
};

static int proposal_item(const struct store_proposal *p, void *arg)
{
	struct proposal_page_ctx *c = arg;
	json_t *item = proposal_json(c->a, p, true);
	c->fault = item == NULL;
	return json_array_append_new(c->items, item) != 0;
}

enum app_status proposal_page(struct app *a, uint64_t person, uint64_t after,
			      int limit, json_t *items, struct app_error *err)
{
	struct proposal_page_ctx c = { a, items, false };
	if (store_proposal_list_person(a->reads, person, after, limit,
				       proposal_item, &c) != STORE_OK ||
	    c.fault)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	return APP_OK;
}
