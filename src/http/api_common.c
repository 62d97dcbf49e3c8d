/*
 * api_common.c — what several handlers share: /healthz, page sizes, ids.
 */
#include "http/api.h"

#include <stdlib.h>

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
		http_problem(r, 400, "limit", "limit is a whole number from 1 "
					      "to 200");
		return -1;
	}
	return (int)v;
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
	http_json(r, 200, json_pack("{s:o,s:o}", "items", pg->items, "next",
				    next));
}
