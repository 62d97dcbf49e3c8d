/*
 * api_proposals.c — a brand proposes with the person's connect code and
 * follows its proposal; the person lists, reads one, accepts (on their own
 * terms) or declines.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/relationship.h"
#include "app/throttle.h"
#include "core/id.h"
#include "core/terms.h"

struct proposal_work {
	json_t *body;
	uint64_t id; /* the proposal */
	int status, kind;
	struct app_error err;
	struct accepted acc;
	char throttle_key[48];
};

static void proposal_work_free(void *p)
{
	struct proposal_work *w = p;
	json_decref(w->body);
	free(w);
}

static struct proposal_work *proposal_work_new(struct http_request *r,
					       json_t *body)
{
	struct proposal_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return NULL;
	}
	w->body = body;
	r->job = w;
	r->job_free = proposal_work_free;
	return w;
}

/* ---- POST /v1/proposals (brand) ---- */

static void propose_after(struct http_request *r)
{
	struct proposal_work *w = r->job;
	w->status = r->app_status;
	w->err = r->app_err;
	if (w->status == APP_NOT_FOUND) {
		int64_t lock = throttle_fail(r->app->throttle, w->throttle_key,
					     app_now_ms() / 1000);
		(void)lock;
		http_problem(r, 404, NULL,
			     "no such connect code (unknown, "
			     "used or expired)");
		return;
	}
	if (w->status != APP_OK) {
		http_app_error(r, w->status, &w->err, w->kind);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_PROPOSAL, w->id, id);
	http_json(r, 201, json_pack("{s:s,s:s}", "id", id, "state", "pending"));
}

void api_proposals_create(struct http_request *r)
{
	static const char *const keys[] = { "connect_code", "value",  "fields",
					    "channels",	    "topics", NULL };
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	struct proposal_work *w = proposal_work_new(r, body);
	if (w == NULL)
		return;
	snprintf(w->throttle_key, sizeof(w->throttle_key), "code\n%llx",
		 (unsigned long long)r->brand);
	int64_t wait = throttle_wait(r->app->throttle, w->throttle_key,
				     app_now_ms() / 1000);
	if (wait > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)wait);
		http_header(r, "Retry-After", ra);
		http_problem(r, 429, NULL,
			     "too many unknown connect codes; "
			     "try again in %lld seconds",
			     (long long)wait);
		return;
	}
	struct app_write aw;
	int rc = proposal_create_begin(r->app, r->brand, 0, w->body, &w->id,
				       &w->kind, &aw, &w->err);
	if (rc != APP_OK) {
		/* Refused before any write (a malformed code is as unknown
		 * as any other). */
		r->app_status = rc;
		r->app_err = w->err;
		propose_after(r);
		return;
	}
	http_app_write(r, &aw, propose_after);
}

/* ---- GET /v1/proposals/{id} (brand), GET /v1/me/proposals/{id} ---- */

static void proposal_get(struct http_request *r, struct app_caller who)
{
	uint64_t id;
	json_t *view = NULL;
	struct app_error err = { 0 };
	if (!api_id(r, 0, ID_PROPOSAL, &id))
		return;
	int rc = proposal_view(r->app, who, id, &view, &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_json(r, 200, view);
}

void api_proposals_get(struct http_request *r)
{
	proposal_get(r, APP_BRAND(r->brand));
}

void api_me_proposals_get(struct http_request *r)
{
	proposal_get(r, APP_PERSON(r->person));
}

/* ---- GET /v1/me/proposals ---- */

void api_me_proposals_list(struct http_request *r)
{
	int limit = api_limit(r);
	uint64_t after;
	if (limit < 0 || !api_after(r, ID_PROPOSAL, &after))
		return;
	json_t *items = json_array();
	struct app_error err = { 0 };
	int rc =
		proposal_page(r->app, r->person, after, limit + 1, items, &err);
	api_page_reply(r, limit, items, rc, &err);
}

/* ---- accept and decline ---- */

static void accept_after(struct http_request *r)
{
	struct proposal_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, w->kind);
		return;
	}
	json_t *view = NULL;
	struct app_error err = { 0 };
	if (relationship_accepted_view(r->app, r->person, w->acc.relationship,
				       &view, &err) != APP_OK) {
		http_problem(r, 503, NULL, "the relationship cannot be read");
		return;
	}
	http_json(r, 201, view);
}

void api_me_proposals_accept(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_PROPOSAL, &id))
		return;
	json_t *body = r->body_len ? http_body_object(r) : json_object();
	if (body == NULL)
		return;
	struct proposal_work *w = proposal_work_new(r, body);
	if (w == NULL)
		return;
	w->id = id;
	struct app_write aw;
	int rc = proposal_accept_begin(r->app, r->person, id, w->body, &w->acc,
				       &w->kind, &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, w->kind);
		return;
	}
	http_app_write(r, &aw, accept_after);
}

static void decline_after(struct http_request *r)
{
	struct proposal_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, TERMS_ERR_VALUE);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_PROPOSAL, w->id, id);
	http_json(r, 200,
		  json_pack("{s:s,s:s}", "id", id, "state", "declined"));
}

void api_me_proposals_decline(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_PROPOSAL, &id) || !api_no_fields(r))
		return;
	struct proposal_work *w = proposal_work_new(r, NULL);
	if (w == NULL)
		return;
	w->id = id;
	struct app_write aw;
	int rc = proposal_decline_begin(r->app, r->person, id, &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, TERMS_ERR_VALUE);
		return;
	}
	http_app_write(r, &aw, decline_after);
}
