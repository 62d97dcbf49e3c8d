/*
 * api_common.c — what several handlers share: /healthz, page sizes, ids.
 */
#include "http/api.h"

#include <sodium.h>
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

/* Readiness: 503 while the store's writer cannot commit. */
void api_readyz(struct http_request *r)
{
	if (!app_ready(r->app)) {
		http_header(r, "Retry-After", "5");
		http_problem(r, 503, NULL,
			     "the store cannot commit writes (read-only? "
			     "disk full?); try again");
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
