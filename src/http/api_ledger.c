/*
 * api_ledger.c — the person's ledger: its entries (with their hashes, so
 * anyone can recompute the chain), its signed head and its verification
 * on request; and the server's public keys that verify heads and
 * receipts.
 */
#include "http/api.h"

#include <stdlib.h>
#include <string.h>

#include "app/jwks.h"
#include "app/ledger.h"
#include "ledger/chain.h"

void api_jwks(struct http_request *r)
{
	json_t *set = jwks_of(r->app->keys);
	if (set == NULL) {
		http_problem(r, 503, NULL, "out of memory");
		return;
	}
	http_json(r, 200, set);
}

void api_me_ledger_list(struct http_request *r)
{
	int limit = api_limit(r);
	if (limit < 0)
		return;
	int64_t after = 0;
	const char *a = http_query(r, "after");
	if (a) {
		char *end;
		after = strtoll(a, &end, 10);
		if (*a == '\0' || *end || after < 0) {
			http_problem_of(r, PROBLEM_INVALID_QUERY, "after",
					"after is the seq of "
					"the last entry seen");
			return;
		}
	}
	json_t *items = json_array();
	int64_t last = 0;
	struct app_error err = { 0 };
	int rc = ledger_page(r->app, r->person, after, limit + 1, items, &last,
			     &err);
	if (rc != APP_OK) {
		json_decref(items);
		http_app_error(r, rc, &err, 0);
		return;
	}
	json_t *next = json_null();
	if ((int)json_array_size(items) > limit) {
		json_array_remove(items, (size_t)limit);
		next = json_integer(last - 1);
	}
	http_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

struct head_work {
	char *note;
};

static void head_work_free(void *p)
{
	struct head_work *w = p;
	free(w->note);
	free(w);
}

static void head_after(struct http_request *r)
{
	struct head_work *w = r->job;
	if (r->app_status != APP_OK || w->note == NULL) {
		http_problem(r, 503, NULL, "the head could not be signed");
		return;
	}
	http_text(r, 200, "text/plain; charset=utf-8", w->note);
}

void api_me_ledger_head(struct http_request *r)
{
	struct head_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	r->job = w;
	r->job_free = head_work_free;
	struct app_write aw;
	if (ledger_sign_head_begin(r->app, r->person, &w->note, &aw) !=
	    APP_OK) {
		http_problem(r, 503, NULL, "the head could not be signed");
		return;
	}
	http_app_write(r, &aw, head_after);
}

/* GET /v1/me/ledger/verify: the whole chain is read and hashed, so it
 * runs on a worker, like an export. */
struct verify_work {
	json_t *verdict;
	int status;
	struct app_error err;
};

static void verify_work_free(void *p)
{
	struct verify_work *w = p;
	json_decref(w->verdict);
	free(w);
}

static void verify_run(struct http_request *r)
{
	struct verify_work *w = r->job;
	w->status =
		ledger_verify_person(r->app, r->person, &w->verdict, &w->err);
}

static void verify_after(struct http_request *r)
{
	struct verify_work *w = r->job;
	if (w->status != APP_OK) {
		http_app_error(r, w->status, &w->err, 0);
		return;
	}
	http_json(r, 200, w->verdict);
	w->verdict = NULL;
}

void api_me_ledger_verify(struct http_request *r)
{
	struct verify_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	r->job = w;
	r->job_free = verify_work_free;
	http_offload(r, verify_run, verify_after);
}
