/*
 * api_common.c — what several handlers share: /healthz, page sizes, ids.
 */
#include "http/api.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"

void api_healthz(struct http_request *r)
{
	http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

int api_limit(struct http_request *r)
{
	const char *s = http_query(r, "limit");
	if (s == NULL)
		return 50;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 1 || v > 200) {
		http_problem(r, 400, "limit",
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
		http_problem(r, 400, "after",
			     "after is an id from a previous "
			     "page");
		return false;
	}
	return true;
}

bool api_id(struct http_request *r, int index, int type, uint64_t *key)
{
	if (r->params[index] == NULL ||
	    !id_decode((enum id_type)type, r->params[index], key)) {
		http_problem(r, 404, NULL, "no such resource");
		return false;
	}
	return true;
}

void api_page_reply(struct http_request *r, struct api_page *pg)
{
	json_t *next = json_null();
	if (pg->n > pg->limit) {
		json_array_remove(pg->items, json_array_size(pg->items) - 1);
		json_t *last = json_array_get(pg->items,
					      json_array_size(pg->items) - 1);
		next = json_incref(json_object_get(last, "id"));
	}
	http_json(r, 200,
		  json_pack("{s:o,s:o}", "items", pg->items, "next", next));
}

#define IDEM_TTL 86400 /* an Idempotency-Key is honoured for 24 hours */

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
		http_problem(r, 400, "Idempotency-Key",
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
	struct store_idem v;
	int rc = store_idem_get(r->app->reads, r->brand, key, &v);
	if (rc == STORE_NOT_FOUND)
		return false;
	if (rc != STORE_OK) {
		http_problem(r, 503, NULL, "the store cannot be read");
		return true;
	}
	if (v.created_at < app_now_ms() / 1000 - IDEM_TTL) {
		free(v.response);
		return false; /* expired: a new request */
	}
	if (sodium_memcmp(v.request, hash, 32) != 0) {
		free(v.response);
		http_problem(r, 422, "Idempotency-Key",
			     "this Idempotency-Key was used for another "
			     "request");
		return true;
	}
	if (v.status == 0) {
		free(v.response);
		http_problem(r, 409, "Idempotency-Key",
			     "a request with this Idempotency-Key is in "
			     "progress, or was cut short: it is not run twice");
		return true;
	}
	http_header(r, "Idempotent-Replayed", "true");
	http_text(r, (unsigned)v.status, "application/json", v.response);
	free(v.response);
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
