/*
 * api_address.c — the person's own address (GET/PUT/DELETE
 * /v1/me/address, DELETE /v1/me/address/blocked/{domain}) and what they
 * do with a stranger's message (POST /v1/me/messages/{id}/keep and
 * /block): parse, call app/own_address, reply.
 */
#include <stdlib.h>

#include "app/own_address.h"
#include "app/relationship.h"
#include "core/id.h"
#include "http/api.h"

void api_me_address_get(struct http_request *r)
{
	json_t *out = NULL;
	struct app_error err = { 0 };
	int rc = own_address_get(r->app, r->person, &out, &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_json(r, 200, out);
}

struct address_work {
	json_t *body;
	json_t *view; /* the job's outcome */
	struct accepted acc;
	int kind;
};

static void address_work_free(void *p)
{
	struct address_work *w = p;
	json_decref(w->body);
	json_decref(w->view);
	free(w);
}

static struct address_work *address_work_new(struct http_request *r)
{
	struct address_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return NULL;
	}
	r->job = w;
	r->job_free = address_work_free;
	return w;
}

/* Replies with the address as the job left it (200), or 204 for none. */
static void address_after(struct http_request *r)
{
	struct address_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	if (w->view == NULL) {
		http_empty(r, 204);
		return;
	}
	http_json(r, 200, w->view);
	w->view = NULL;
}

/* The write begun (rc), or the error that stopped it. */
static void address_write(struct http_request *r, int rc,
			  const struct app_write *aw, int kind,
			  void (*after)(struct http_request *r))
{
	if (rc != APP_OK)
		http_app_error(r, rc, &r->app_err, kind);
	else
		http_app_write(r, aw, after);
}

void api_me_address_put(struct http_request *r)
{
	json_t *body = http_body_object(r);
	if (body == NULL)
		return;
	struct address_work *w = address_work_new(r);
	if (w == NULL) {
		json_decref(body);
		return;
	}
	w->body = body;
	struct app_write aw;
	int rc = own_address_put_begin(r->app, r->person, w->body, &w->view,
				       &w->kind, &aw, &r->app_err);
	address_write(r, rc, &aw, w->kind, address_after);
}

void api_me_address_delete(struct http_request *r)
{
	struct address_work *w = address_work_new(r);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = own_address_delete_begin(r->app, r->person, &aw, &r->app_err);
	address_write(r, rc, &aw, 0, address_after);
}

void api_me_address_unblock(struct http_request *r)
{
	struct address_work *w = address_work_new(r);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = own_address_unblock_begin(r->app, r->person, r->params[0],
					   &w->view, &aw, &r->app_err);
	address_write(r, rc, &aw, 0, address_after);
}

void api_me_message_block(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_MESSAGE, &id) || !api_no_fields(r))
		return;
	struct address_work *w = address_work_new(r);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = own_address_block_begin(r->app, r->person, id, &w->view, &aw,
					 &r->app_err);
	address_write(r, rc, &aw, 0, address_after);
}

/* The relationship kept, as GET /v1/me/relationships/{id} shows it. */
static void keep_after(struct http_request *r)
{
	struct address_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, w->kind);
		return;
	}
	api_relationship_created(r, w->acc.relationship);
}

void api_me_message_keep(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_MESSAGE, &id) || !api_no_fields(r))
		return;
	struct address_work *w = address_work_new(r);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = own_address_keep_begin(r->app, r->person, id, &w->acc,
					&w->kind, &aw, &r->app_err);
	address_write(r, rc, &aw, w->kind, keep_after);
}
