/*
 * api_me.c — the person's own settings: profile, global terms, connect
 * codes.
 */
#include "http/api.h"

#include <stdlib.h>
#include <string.h>

#include "app/connect.h"
#include "app/person.h"
#include "app/view.h"
#include "core/terms.h"

void api_me_profile_get(struct http_request *r)
{
	json_t *profile = NULL;
	int rc = view_profile(r->app, r->person, &profile);
	if (rc != APP_OK) {
		http_problem(r, rc == APP_NOT_FOUND ? 404 : 503, NULL,
			     "the profile cannot be read");
		return;
	}
	http_json(r, 200, profile);
}

/* A use case that blocks on the writer runs on a worker thread; its
 * request and outcome travel in this. */
struct me_work {
	json_t *body;
	int status;
	int kind;
	struct app_error err;
};

static void me_work_free(void *p)
{
	struct me_work *w = p;
	json_decref(w->body);
	free(w);
}

static struct me_work *me_work_new(struct http_request *r, json_t *body)
{
	struct me_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return NULL;
	}
	w->body = body;
	r->job = w;
	r->job_free = me_work_free;
	return w;
}

/* The profile as stored, after a PUT or a PATCH. */
static void profile_write_after(struct http_request *r)
{
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, TERMS_ERR_VALUE);
		return;
	}
	api_me_profile_get(r);
}

/* PUT replaces the profile; PATCH (JSON Merge Patch, RFC 7396) sets the
 * fields it names and removes those it names with null. Either way every
 * value is a string (a PATCH's may be null): anything else is a 400. */
static void profile_write(struct http_request *r, bool patch)
{
	json_t *body = http_body_object(r);
	if (body == NULL)
		return;
	const char *k;
	json_t *v;
	json_object_foreach (body, k, v) {
		if (!json_is_string(v) && !(patch && json_is_null(v))) {
			http_problem(r, 400, k,
				     patch ? "\"%s\" must be a string, or null "
					     "to remove it"
					   : "\"%s\" must be a string",
				     k);
			json_decref(body);
			return;
		}
	}
	struct me_work *w = me_work_new(r, body);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = patch ? person_patch_profile_begin(r->app, r->person, w->body,
						    &aw, &w->err)
		       : person_set_profile_begin(r->app, r->person, w->body,
						  &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, TERMS_ERR_VALUE);
		return;
	}
	http_app_write(r, &aw, profile_write_after);
}

void api_me_profile_put(struct http_request *r)
{
	profile_write(r, false);
}

void api_me_profile_patch(struct http_request *r)
{
	profile_write(r, true);
}

void api_me_terms_get(struct http_request *r)
{
	json_t *t = NULL;
	struct app_error err = { 0 };
	int rc = person_global_terms(r->app, r->person, &t, &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_json(r, 200, t);
}

static void terms_put_after(struct http_request *r)
{
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, TERMS_ERR_VALUE);
		return;
	}
	api_me_terms_get(r);
}

/* PUT replaces the global terms (an omitted key takes its default);
 * PATCH merges (RFC 7396) and keeps every key it leaves out. */
static void terms_write(struct http_request *r, bool patch)
{
	json_t *body = http_body_object(r);
	if (body == NULL)
		return;
	struct me_work *w = me_work_new(r, body);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = patch ? person_patch_global_terms_begin(r->app, r->person,
							 w->body, &w->kind, &aw,
							 &w->err)
		       : person_set_global_terms_begin(r->app, r->person,
						       w->body, &w->kind, &aw,
						       &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, w->kind);
		return;
	}
	http_app_write(r, &aw, terms_put_after);
}

void api_me_terms_put(struct http_request *r)
{
	terms_write(r, false);
}

void api_me_terms_patch(struct http_request *r)
{
	terms_write(r, true);
}

static void codes_after(struct http_request *r)
{
	struct connect_job *j = r->job;
	if (r->app_status != APP_OK) {
		http_problem(r, 503, NULL,
			     "the code could not be recorded; "
			     "try again");
		return;
	}
	http_json(r, 201,
		  json_pack("{s:s,s:o,s:s}", "code", j->code, "expires_at",
			    app_time_json(j->expires_at), "qr_svg", j->qr_svg));
}

void api_me_codes_create(struct http_request *r)
{
	if (!api_no_fields(r))
		return;
	struct connect_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	j->person = r->person;
	r->job = j;
	r->job_free = connect_job_free;
	if (!connect_job_prepare(j, app_now_ms() / 1000)) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	http_write(r, connect_job_run, j, codes_after);
}
