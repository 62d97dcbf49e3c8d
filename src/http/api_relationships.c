/*
 * api_relationships.c — relationships as each side sees them: the brand
 * its trimmed view (app/view.c), the person everything.
 */
#include "http/api.h"

#include <stdlib.h>
#include <string.h>

#include "app/person_made.h"
#include "app/receipt.h"
#include "app/relationship.h"
#include "app/view.h"
#include "core/id.h"
#include "core/terms.h"

/* A page of the caller's relationships (a brand's or a person's). */
static void relationships_page(struct http_request *r, struct app_caller who)
{
	uint64_t after;
	int limit = api_limit(r);
	if (limit < 0 || !api_after(r, ID_RELATIONSHIP, &after))
		return;
	json_t *items = json_array();
	struct app_error err = { 0 };
	int rc = relationship_page(r->app, who, after, limit + 1, items, &err);
	api_page_reply(r, limit, items, rc, &err);
}

void api_relationships_list(struct http_request *r)
{
	relationships_page(r, APP_BRAND(r->brand));
}

struct get_work {
	json_t *view;
};

static void get_work_free(void *p)
{
	struct get_work *w = p;
	json_decref(w->view);
	free(w);
}

static void get_after(struct http_request *r)
{
	struct get_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	http_json(r, 200, w->view);
	w->view = NULL;
}

void api_relationships_get(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_RELATIONSHIP, &id))
		return;
	/* Most reads answer here at once, from the cache of rendered
	 * views; only the day's first, which must be on the ledger before
	 * the brand sees anything, waits for the writer (below). */
	char *text = NULL;
	struct app_error err = { 0 };
	int rc = view_brand_relationship_text(r->app, r->brand, id, false,
					      &text, &err);
	if (rc == APP_OK) {
		http_text(r, 200, "application/json", text);
		free(text);
		return;
	}
	if (rc != APP_WOULD_BLOCK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	/* The day's first read: it goes on the person's ledger, and the
	 * view is shown once that is durable. */
	struct get_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	r->job = w;
	r->job_free = get_work_free;
	struct app_write aw;
	rc = view_brand_relationship_ex(r->app, r->brand, id, false, &aw,
					&w->view, &err);
	if (rc == APP_OK) { /* recorded meanwhile */
		http_json(r, 200, w->view);
		w->view = NULL;
		return;
	}
	if (rc != APP_WOULD_BLOCK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_app_write(r, &aw, get_after);
}

void api_me_relationships_list(struct http_request *r)
{
	relationships_page(r, APP_PERSON(r->person));
}

/* ---- the person's own relationship ---- */

struct made_work {
	json_t *body;
	int kind;
	struct app_error err;
	struct accepted acc;
};

static void made_work_free(void *p)
{
	struct made_work *w = p;
	json_decref(w->body);
	free(w);
}

static void made_after(struct http_request *r)
{
	struct made_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, w->kind);
		return;
	}
	json_t *view = NULL;
	struct app_error err = { 0 };
	if (relationship_person_view(r->app, r->person, w->acc.relationship,
				     false, &view, &err) != APP_OK) {
		http_problem(r, 503, NULL, "the relationship cannot be read");
		return;
	}
	http_json(r, 201, view);
}

/* A relationship the person makes for a brand not on cmr. */
void api_me_relationships_create(struct http_request *r)
{
	json_t *body = http_body_object(r);
	if (body == NULL)
		return;
	struct made_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->body = body;
	r->job = w;
	r->job_free = made_work_free;
	struct app_write aw;
	int rc = person_made_create_begin(r->app, r->person, w->body, &w->acc,
					  &w->kind, &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, w->kind);
		return;
	}
	http_app_write(r, &aw, made_after);
}

struct change_work {
	uint64_t id;
	json_t *body;
	int status, kind, change;
	struct app_error err;
};

static void change_work_free(void *p)
{
	struct change_work *w = p;
	json_decref(w->body);
	free(w);
}

static struct change_work *change_work_new(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_RELATIONSHIP, &id))
		return NULL;
	struct change_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return NULL;
	}
	w->id = id;
	r->job = w;
	r->job_free = change_work_free;
	return w;
}

/* Replies with the person's view of relationship id (or its terms). */
static void person_view_reply(struct http_request *r, uint64_t id,
			      bool terms_only)
{
	json_t *view = NULL;
	struct app_error err = { 0 };
	int rc = relationship_person_view(r->app, r->person, id, terms_only,
					  &view, &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_json(r, 200, view);
}

void api_me_relationship_get(struct http_request *r)
{
	uint64_t id;
	if (api_id(r, 0, ID_RELATIONSHIP, &id))
		person_view_reply(r, id, false);
}

void api_me_terms_rel_get(struct http_request *r)
{
	uint64_t id;
	if (api_id(r, 0, ID_RELATIONSHIP, &id))
		person_view_reply(r, id, true);
}

static void terms_put_after(struct http_request *r)
{
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, TERMS_ERR_VALUE);
		return;
	}
	api_me_terms_rel_get(r);
}

/* PUT replaces a relationship's terms; PATCH merges (RFC 7396) into the
 * stored ones. The result is validated the same way. */
static void terms_rel_write(struct http_request *r, bool patch)
{
	struct change_work *w = change_work_new(r);
	if (w == NULL)
		return;
	if ((w->body = http_body_object(r)) == NULL)
		return;
	struct app_write aw;
	int rc = patch ? relationship_patch_terms_begin(r->app, r->person,
							w->id, w->body,
							&w->kind, &aw, &w->err)
		       : relationship_put_terms_begin(r->app, r->person, w->id,
						      w->body, &w->kind, &aw,
						      &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, w->kind);
		return;
	}
	http_app_write(r, &aw, terms_put_after);
}

void api_me_terms_rel_put(struct http_request *r)
{
	terms_rel_write(r, false);
}

void api_me_terms_rel_patch(struct http_request *r)
{
	terms_rel_write(r, true);
}

static void change_after(struct http_request *r)
{
	struct change_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	person_view_reply(r, w->id, false);
}

static void api_me_change(struct http_request *r, enum rel_change change)
{
	if (!api_no_fields(r))
		return;
	struct change_work *w = change_work_new(r);
	if (w == NULL)
		return;
	/* Checks and reads here; the change itself waits for the writer
	 * with the connection suspended, holding no thread. */
	struct app_write aw;
	int rc = relationship_change_begin(r->app, r->person, w->id, change,
					   &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, 0);
		return;
	}
	http_app_write(r, &aw, change_after);
}

void api_me_relationship_mute(struct http_request *r)
{
	api_me_change(r, REL_MUTE);
}

void api_me_relationship_unmute(struct http_request *r)
{
	api_me_change(r, REL_UNMUTE);
}

void api_me_relationship_end(struct http_request *r)
{
	api_me_change(r, REL_END);
}

/* ---- GET /v1/me/relationships/{id}/receipts[?format=dpv] ---- */

void api_me_receipts(struct http_request *r)
{
	uint64_t id;
	json_t *out = NULL;
	struct app_error err = { 0 };
	if (!api_id(r, 0, ID_RELATIONSHIP, &id))
		return;
	const char *format = http_query(r, "format");
	if (format && strcmp(format, "dpv") != 0 &&
	    strcmp(format, "kantara") != 0) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "format",
				"format is kantara (the "
				"default) or dpv");
		return;
	}
	bool dpv = format && strcmp(format, "dpv") == 0;
	char ns[300];
	api_namespace(r, ns, sizeof(ns));
	int rc = receipt_list(r->app, r->person, id, dpv ? ns : NULL, &out,
			      &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_json(r, 200, out);
	if (dpv)
		r->reply_type = "application/ld+json";
}
