/*
 * takeover.c — a brand on cmr takes over a person-made relationship on
 * accept (see takeover.h).
 */
#include "app/takeover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/gate_state.h"
#include "app/ledger.h"
#include "app/person_made.h"
#include "app/relationship_draft.h"
#include "app/scheduler.h"
#include "base/domain.h"
#include "core/id.h"

struct takeover_job {
	struct accepted *out;	     /* where finish puts the relationship */
	struct store_relationship r; /* id, person, alias, new terms, topics */
	uint64_t brand, proposal;
	int base_version; /* the terms version the new terms were made on */
	char *folders;	  /* JSON array of folder names the terms add */
	json_t *ledger_data;
	int64_t now_ms;
	bool changed_meanwhile; /* the person changed its terms first */
};

static int takeover_run(struct app_tx *t, void *arg)
{
	struct takeover_job *j = arg;
	struct store_relationship now;
	/* The topic table was made from the version read before; a change
	 * of terms since may have appended to it. */
	int rc = store_relationship_get(t->reads, j->r.id, NULL, &now);
	if (rc != STORE_OK)
		return rc;
	j->changed_meanwhile = now.terms_version != j->base_version;
	store_relationship_clear(&now);
	if (j->changed_meanwhile)
		return STORE_CONFLICT;
	rc = store_proposal_decide(t->tx, j->proposal, "accepted", j->r.id,
				   j->now_ms / 1000);
	if (rc == STORE_OK)
		rc = store_relationship_take_over(t->tx, j->r.id, j->r.person,
						  j->brand, j->proposal);
	if (rc == STORE_OK)
		rc = store_relationship_set_terms(t->tx, &j->r,
						  j->now_ms / 1000);
	if (rc == STORE_OK && j->folders)
		rc = relationship_folders_tx(t->tx, j->r.person, j->folders);
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->r.person, "person",
				   "relationship.accepted", j->r.id,
				   j->ledger_data, j->now_ms);
	/* Row 2 now asks for the brand, and the terms are new. */
	if (rc == STORE_OK)
		rc = gate_state_forget_tx(t, 0, j->r.id);
	if (rc == STORE_OK)
		rc = scheduler_held_now_tx(t, j->r.person, j->r.id);
	return rc;
}

static enum app_status takeover_finish(void *job, int rc, struct app_error *err)
{
	struct takeover_job *j = job;
	if (rc == STORE_OK) {
		j->out->relationship = j->r.id;
		snprintf(j->out->alias, sizeof(j->out->alias), "%s",
			 j->r.alias);
		return APP_OK;
	}
	if (rc == STORE_CONFLICT && j->changed_meanwhile)
		return app_fail(err, APP_CONFLICT, "takes_over",
				"the relationship's terms changed meanwhile; "
				"accept again");
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "takes_over",
				"the proposal is no longer pending, or the "
				"relationship was ended or taken over "
				"meanwhile");
	return app_fail(err, APP_FAULT, NULL,
			"the relationship could not be recorded");
}

static void takeover_release(void *job)
{
	struct takeover_job *j = job;
	json_decref(j->ledger_data);
	free(j->folders);
	store_relationship_clear(&j->r);
	free(j);
}

/* "a", "a and b", "a, b and c" of a JSON array of strings, into out. */
static void takeover_list(const json_t *names, char *out, size_t size)
{
	size_t n = json_array_size(names), at = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && at < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
		int k = snprintf(out + at, size - at, "%s%s", sep,
				 json_string_value(json_array_get(names, i)));
		at += k > 0 ? (size_t)k : 0;
	}
}

/* Whether every domain the person named is the brand's, by organizational
 * domain: APP_OK, or APP_INVALID naming the first that is not. */
static enum app_status takeover_domains(const struct store_relationship *r,
					const struct store_brand *b,
					struct app_error *err)
{
	json_t *named = json_loads(r->domains ? r->domains : "[]", 0, NULL);
	json_t *theirs = json_loads(b->domains ? b->domains : "[]", 0, NULL);
	enum app_status status = APP_OK;
	size_t i;
	json_t *v;
	if (!json_is_array(named) || !json_is_array(theirs))
		status = app_fail(err, APP_FAULT, NULL,
				  "the domains cannot be read");
	json_array_foreach (status == APP_OK ? named : NULL, i, v) {
		const char *d = json_string_value(v);
		char org[DOMAIN_MAX], list[160];
		if (d == NULL)
			continue;
		if (!domain_org(d, org, sizeof(org)))
			org[0] = '\0';
		if (person_made_sender_is(b->domains, d, org))
			continue;
		takeover_list(theirs, list, sizeof(list));
		status = app_fail(err, APP_INVALID, "takes_over",
				  "you named %s for %s; %s mails from %s, so "
				  "that alias is not %s's to take over",
				  d, r->brand_name ? r->brand_name : "it",
				  b->name, list[0] ? list : "no domain at all",
				  b->name);
		break;
	}
	json_decref(named);
	json_decref(theirs);
	return status;
}

/* The relationship named by takes_over when the person may hand it to the
 * brand; else the error. */
static enum app_status takeover_target(struct app *a, uint64_t person,
				       const struct store_brand *b,
				       const json_t *takes_over,
				       struct store_relationship *r,
				       int *err_kind, struct app_error *err)
{
	uint64_t rel;
	const char *s = json_string_value(takes_over);
	if (s == NULL || !id_decode(ID_RELATIONSHIP, s, &rel)) {
		*err_kind = TERMS_ERR_TYPE;
		return app_fail(err, APP_INVALID, "takes_over",
				"takes_over is the id of a relationship you "
				"made, such as \"rel_k3x9q2r7m4vt8wzp\"");
	}
	int rc = relationship_of(a, APP_PERSON(person), rel, r, err);
	if (rc == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "takes_over",
				"you have no relationship %s", s);
	if (rc != APP_OK)
		return rc;
	if (!r->person_made)
		rc = app_fail(err, APP_INVALID, "takes_over",
			      "%s was made from a brand's proposal; only a "
			      "relationship you made yourself, for a brand "
			      "not on cmr, can be taken over",
			      s);
	else if (r->brand != 0)
		rc = app_fail(err, APP_CONFLICT, "takes_over",
			      "%s was taken over by a brand already", s);
	else if (r->state == REL_ENDED)
		rc = app_fail(err, APP_CONFLICT, "takes_over",
			      "%s has ended; its alias is closed for good", s);
	else
		rc = takeover_domains(r, b, err);
	if (rc != APP_OK)
		store_relationship_clear(r);
	return rc;
}

/* The relationship's topic table with the draft's appended (those it has
 * not), as a new JSON array string; NULL when it would be too long or on
 * a fault. */
static char *takeover_topics(const char *old, const char *drafted, bool *full)
{
	json_t *table = json_loads(old ? old : "[]", 0, NULL);
	json_t *more = json_loads(drafted ? drafted : "[]", 0, NULL);
	char *out = NULL;
	size_t i, k;
	json_t *v, *w;
	*full = false;
	if (json_is_array(table) && json_is_array(more)) {
		json_array_foreach (more, i, v) {
			bool seen = false;
			json_array_foreach (table, k, w) {
				seen = seen || json_equal(v, w);
			}
			if (!seen)
				json_array_append(table, v);
		}
		*full = json_array_size(table) > TERMS_MAX_TOPICS;
		if (!*full)
			out = json_dumps(table, JSON_COMPACT);
	}
	json_decref(table);
	json_decref(more);
	return out;
}

enum app_status takeover_begin(struct app *a, uint64_t person,
			       uint64_t proposal, const struct store_brand *b,
			       const struct terms_ask *ask,
			       const json_t *takes_over, const json_t *terms,
			       struct accepted *out, int *err_kind,
			       struct app_write *w, struct app_error *err)
{
	struct store_relationship r;
	struct relationship_draft d;
	char rel[ID_SIZE], brd[ID_SIZE], prp[ID_SIZE];
	bool full;

	*err_kind = TERMS_ERR_VALUE;
	int rc = takeover_target(a, person, b, takes_over, &r, err_kind, err);
	if (rc != APP_OK)
		return rc;
	rc = relationship_draft(a, person, ask, terms, b->name, &d, err_kind,
				err);
	if (rc != APP_OK) {
		store_relationship_clear(&r);
		return rc;
	}
	struct takeover_job *j = calloc(1, sizeof(*j));
	char *topics = takeover_topics(r.topics, d.r.topics, &full);
	if (j == NULL || topics == NULL) {
		free(j);
		free(topics);
		store_relationship_clear(&r);
		relationship_draft_clear(&d);
		return full ? app_fail(err, APP_INVALID, "takes_over",
				       "the relationship would know more "
				       "than %d topics; ask for fewer",
				       TERMS_MAX_TOPICS)
			    : app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	id_encode(ID_RELATIONSHIP, r.id, rel);
	id_encode(ID_BRAND, b->id, brd);
	id_encode(ID_PROPOSAL, proposal, prp);
	/* The ledger says what was granted, and that it is the relationship
	 * the person made that the brand now holds. */
	json_object_set_new(d.grant, "takes_over", json_string(rel));
	json_object_set_new(d.grant, "brand", json_string(brd));
	json_object_set_new(d.grant, "proposal", json_string(prp));
	/* The row keeps its id, person and alias; the terms are the draft's
	 * (the draft's own alias and id are not used). */
	j->out = out;
	j->r.id = r.id;
	j->r.person = person;
	snprintf(j->r.alias, sizeof(j->r.alias), "%s", r.alias);
	j->r.terms = d.r.terms;
	d.r.terms = NULL;
	j->r.topics = topics;
	j->brand = b->id;
	j->proposal = proposal;
	j->base_version = r.terms_version;
	j->folders = d.folders;
	d.folders = NULL;
	j->ledger_data = d.grant;
	d.grant = NULL;
	j->now_ms = app_now_ms();
	store_relationship_clear(&r);
	relationship_draft_clear(&d);
	*w = (struct app_write){ takeover_run, j, true, takeover_finish,
				 takeover_release };
	return APP_OK;
}
