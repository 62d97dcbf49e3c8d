/*
 * api_common.c — what several handlers share: /healthz, page sizes, ids.
 */
#include "http/api.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/message.h"
#include "core/id.h"
#include "core/terms.h"

/* Liveness: no I/O, so it answers whatever the store does. */
void api_healthz(struct http_request *r)
{
	http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* Readiness: 503 while the store cannot be reached or cannot commit. */
void api_readyz(struct http_request *r)
{
	char why[200];
	if (!app_ready(r->app, why, sizeof(why))) {
		http_header(r, "Retry-After", "5");
		http_problem(r, 503, NULL, "%s", why);
		return;
	}
	http_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

int api_limit(struct http_request *r)
{
	const char *s = http_query(r, "limit");
	if (s == NULL)
		return 50;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 1 || v > 200) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "limit",
				"limit is a whole number from 1 "
				"to 200");
		return -1;
	}
	return (int)v;
}

bool api_after(struct http_request *r, int type, uint64_t *after)
{
	const char *a = http_query(r, "after");
	*after = 0;
	if (a && !id_decode((enum id_type)type, a, after)) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "after",
				"after is an id from a previous "
				"page");
		return false;
	}
	return true;
}

void api_throttled(struct http_request *r, int64_t retry_after,
		   const struct app_error *err)
{
	char ra[24];
	if (retry_after < 1)
		retry_after = 1;
	snprintf(ra, sizeof(ra), "%lld", (long long)retry_after);
	http_header(r, "Retry-After", ra);
	http_problem(r, 429, NULL, "%s",
		     err && err->message[0] ? err->message
					    : "too many attempts; try again "
					      "later");
}

/* What an id of each type names, for the problem of a malformed one
 * (enum id_type's order). */
static const char *const api_id_names[ID_TYPE_COUNT] = {
	"person", "brand",  "proposal", "relationship", "message", "campaign",
	"offer",  "intent", "feedback", "credit",	"token",
};

bool api_id_parse(struct http_request *r, const char *field, const char *s,
		  int type, uint64_t *key)
{
	if (s != NULL && id_decode((enum id_type)type, s, key))
		return true;
	/* Malformed (not an id of this type at all): the caller's mistake,
	 * told as such; a well-formed id that is unknown or another's is
	 * the handler's 404. */
	http_problem_of(r, PROBLEM_INVALID_ID, field,
			"\"%.40s%s\" is not a%s %s id", s ? s : "",
			s && strlen(s) > 40 ? "…" : "",
			type == ID_INTENT || type == ID_OFFER ? "n" : "",
			api_id_names[type]);
	return false;
}

bool api_id(struct http_request *r, int index, int type, uint64_t *key)
{
	return api_id_parse(r, NULL, r->params[index], type, key);
}

/* The query parameters each handler reads (up to 7); a handler not
 * listed reads none. A route's others are refused by api_query_check. */
static const struct {
	http_handler handler;
	const char *names[8];
} api_queries[] = {
	{ api_me_proposals_list, { "limit", "after" } },
	{ api_me_relationships_list, { "limit", "after" } },
	{ api_relationships_list, { "limit", "after" } },
	{ api_me_messages_list,
	  { "folder", "relationship", "decision", "direction", "limit",
	    "after" } },
	{ api_me_ledger_list, { "limit", "after" } },
	{ api_me_receipts, { "format" } },
	{ api_campaigns_recipients, { "state", "limit", "after" } },
	{ api_alias_simplelogin, { "hostname", "mode" } },
};

const char *const *api_query_names(http_handler handler)
{
	static const char *const none[] = { NULL };
	for (size_t i = 0; i < sizeof(api_queries) / sizeof(*api_queries); i++)
		if (api_queries[i].handler == handler)
			return api_queries[i].names;
	return none;
}

bool api_query_check(struct http_request *r)
{
	if (strcmp(r->route->name, "web") == 0) /* a page's link may add any */
		return true;
	return http_query_only(r, api_query_names(r->route->handler));
}

void api_page_reply(struct http_request *r, int limit, json_t *items,
		    enum app_status rc, const struct app_error *err)
{
	if (rc != APP_OK) {
		json_decref(items);
		http_app_error(r, rc, err, 0);
		return;
	}
	json_t *next = json_null();
	if (json_array_size(items) > (size_t)limit) {
		json_array_remove(items, json_array_size(items) - 1);
		json_t *last =
			json_array_get(items, json_array_size(items) - 1);
		next = json_incref(json_object_get(last, "id"));
	}
	http_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

bool api_idem_begin(struct http_request *r, char *key, size_t size,
		    uint8_t hash[32])
{
	const char *k = http_header_in(r, "Idempotency-Key");
	key[0] = '\0';
	if (k == NULL)
		return false;
	size_t n = strlen(k);
	bool ok = n >= 1 && n <= 128 && n < size;
	for (size_t i = 0; ok && i < n; i++)
		ok = k[i] > 0x20 && k[i] < 0x7f;
	if (!ok) {
		http_problem_of(r, PROBLEM_INVALID_HEADER, "Idempotency-Key",
				"Idempotency-Key is 1 to 128 visible ASCII "
				"characters");
		return true;
	}
	memcpy(key, k, n + 1);
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)r->method,
				  strlen(r->method) + 1);
	crypto_generichash_update(&st, (const uint8_t *)r->path,
				  strlen(r->path) + 1);
	if (r->body_len)
		crypto_generichash_update(&st, (const uint8_t *)r->body,
					  r->body_len);
	crypto_generichash_final(&st, hash, 32);
	return api_idem_replay(r, key, hash);
}

bool api_idem_replay(struct http_request *r, const char *key,
		     const uint8_t hash[32])
{
	int status = 0;
	char *response = NULL;
	struct app_error err = { 0 };
	int rc = message_idem_answer(r->app, r->brand, key, hash, &status,
				     &response, &err);
	if (rc == APP_NOT_FOUND)
		return false;
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, TERMS_ERR_VALUE);
		return true;
	}
	http_header(r, "Idempotent-Replayed", "true");
	http_text(r, (unsigned)status, "application/json", response);
	free(response);
	return true;
}

bool api_no_fields(struct http_request *r)
{
	static const char *const none[] = { NULL };
	if (r->body_len == 0)
		return true;
	json_t *body = http_body_fields(r, none);
	bool ok = body != NULL;
	json_decref(body);
	return ok;
}
