/*
 * api_ledger.c — the person's ledger: its entries (with their hashes, so
 * anyone can recompute the chain) and its signed head.
 */
#include "http/api.h"

#include <stdlib.h>
#include <string.h>

#include "app/ledger.h"
#include "ledger/chain.h"

struct ledger_page {
	struct api_page pg;
	int64_t last;
};

static int ledger_item(const struct store_ledger_entry *e, void *arg)
{
	struct ledger_page *lp = arg;
	char at[CHAIN_AT_LEN + 1], prev[CHAIN_HASH_HEX + 1],
		hash[CHAIN_HASH_HEX + 1];
	chain_format_at(e->at_ms, at);
	chain_hex_encode(e->prev, prev);
	chain_hex_encode(e->hash, hash);
	json_t *data = json_loads(e->data, 0, NULL);
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:s}", "seq", (json_int_t)e->seq,
		"at", at, "actor", e->actor, "type", e->type, "relationship",
		e->relationship[0] ? json_string(e->relationship) : json_null(),
		"data", data ? data : json_object(), "prev", prev, "hash",
		hash);
	json_array_append_new(lp->pg.items, o);
	lp->pg.n++;
	lp->last = e->seq;
	return 0;
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
			http_problem(r, 400, "after",
				     "after is the seq of "
				     "the last entry seen");
			return;
		}
	}
	struct ledger_page lp = { { json_array(), r->app, limit, 0 }, 0 };
	if (store_ledger_list(r->app->reads, r->person, after, limit + 1,
			      ledger_item, &lp) != STORE_OK) {
		json_decref(lp.pg.items);
		http_problem(r, 503, NULL, "the store cannot be read");
		return;
	}
	json_t *next = json_null();
	if (lp.pg.n > limit) {
		json_array_remove(lp.pg.items, (size_t)limit);
		next = json_integer(lp.last - 1);
	}
	http_json(r, 200,
		  json_pack("{s:o,s:o}", "items", lp.pg.items, "next", next));
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
