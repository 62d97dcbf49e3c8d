/*
 * reply.c — building replies and reading requests (see http.h): JSON and
 * RFC 9457 problem bodies, the app-status mapping, strict body parsing.
 */
#include "http/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "core/terms.h"
#include "core/utf8.h"

static const char *http_title(unsigned status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return status >= 500 ? "Internal Server Error" : "Error";
	}
}

/* The kinds of problem (enum http_problem_kind, in its order). Columns:
 * the kind; its status; its type URI, stable: programs match on it, so a
 * kind's URI never changes and a new meaning gets a new kind. The first
 * kind of a status is that status's default (http_problem). */
static const struct {
	enum http_problem_kind kind;
	unsigned status;
	const char *type;
} http_problem_kinds[] = {
	{ PROBLEM_BY_STATUS, 0, "about:blank" },
	{ PROBLEM_INVALID_BODY, 400, "/problems/invalid-body" },
	{ PROBLEM_INVALID_QUERY, 400, "/problems/invalid-query" },
	{ PROBLEM_INVALID_ID, 400, "/problems/invalid-id" },
	{ PROBLEM_INVALID_HEADER, 400, "/problems/invalid-header" },
	{ PROBLEM_UNAUTHENTICATED, 401, "/problems/unauthenticated" },
	{ PROBLEM_FORBIDDEN, 403, "/problems/forbidden" },
	{ PROBLEM_WRONG_PASSWORD, 403, "/problems/wrong-password" },
	{ PROBLEM_NOT_FOUND, 404, "/problems/not-found" },
	{ PROBLEM_METHOD_NOT_ALLOWED, 405, "/problems/method-not-allowed" },
	{ PROBLEM_CONFLICT, 409, "/problems/conflict" },
	{ PROBLEM_TOO_LARGE, 413, "/problems/too-large" },
	{ PROBLEM_UNSUPPORTED_MEDIA_TYPE, 415,
	  "/problems/unsupported-media-type" },
	{ PROBLEM_INVALID_VALUE, 422, "/problems/invalid-value" },
	{ PROBLEM_THROTTLED, 429, "/problems/throttled" },
	{ PROBLEM_UNAVAILABLE, 503, "/problems/unavailable" },
};

_Static_assert(sizeof(http_problem_kinds) / sizeof(*http_problem_kinds) ==
		       PROBLEM_KIND_COUNT,
	       "a row per problem kind, in the enum's order");

const char *http_problem_type(int kind, unsigned status)
{
	if (kind > PROBLEM_BY_STATUS && kind < PROBLEM_KIND_COUNT)
		return http_problem_kinds[kind].type;
	if (status >= 500)
		status = 503; /* every fault of ours is "unavailable" */
	for (size_t i = 1; i < PROBLEM_KIND_COUNT; i++)
		if (http_problem_kinds[i].status == status)
			return http_problem_kinds[i].type;
	return http_problem_kinds[0].type;
}

unsigned http_problem_status(int kind)
{
	return kind > PROBLEM_BY_STATUS && kind < PROBLEM_KIND_COUNT
		       ? http_problem_kinds[kind].status
		       : 0;
}

void http_header(struct http_request *r, const char *name, const char *value)
{
	if (r->n_headers < (int)(sizeof(r->headers) / sizeof(r->headers[0])))
		snprintf(r->headers[r->n_headers++], sizeof(r->headers[0]),
			 "%s: %s", name, value);
}

/* The reply: len bytes of body (owned from here on). */
static void http_set_bytes(struct http_request *r, unsigned status, char *body,
			   size_t len, const char *type)
{
	if (r->replied) {
		free(body);
		return;
	}
	r->replied = true;
	r->status = status;
	r->reply = body;
	r->reply_len = body ? len : 0;
	r->reply_type = type;
}

/* The reply: a NUL-terminated body (owned from here on). */
static void http_set(struct http_request *r, unsigned status, char *body,
		     const char *type)
{
	http_set_bytes(r, status, body, body ? strlen(body) : 0, type);
}

void http_json(struct http_request *r, unsigned status, json_t *value)
{
	char *s = value ? json_dumps(value, JSON_COMPACT) : NULL;
	json_decref(value);
	if (s == NULL) {
		http_set(r, 503,
			 strdup("{\"type\":\"/problems/unavailable\","
				"\"title\":\"Service "
				"Unavailable\",\"status\":503,\"detail\":\"out "
				"of memory\"}"),
			 "application/problem+json");
		return;
	}
	http_set(r, status, s, "application/json");
}

void http_text(struct http_request *r, unsigned status, const char *type,
	       const char *text)
{
	http_set(r, status, strdup(text), type);
}

void http_empty(struct http_request *r, unsigned status)
{
	http_set(r, status, NULL, NULL);
}

void http_bytes(struct http_request *r, unsigned status, const char *type,
		const void *data, size_t len)
{
	char *copy = malloc(len ? len : 1);
	if (copy == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	memcpy(copy, data, len);
	http_set_bytes(r, status, copy, len, type);
}

void http_problem(struct http_request *r, unsigned status, const char *field,
		  const char *fmt, ...)
{
	char detail[512], name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* Each ends before its first byte that is not UTF-8: a detail cut
	 * mid-character by its buffer, or quoting a client's invalid bytes,
	 * must still make valid JSON. */
	detail[utf8_valid_prefix(detail, strlen(detail))] = '\0';
	if (field) {
		snprintf(name, sizeof(name), "%s", field);
		name[utf8_valid_prefix(name, strlen(name))] = '\0';
	}
	json_t *p = json_pack("{s:s,s:s,s:i,s:s}", "type",
			      http_problem_type(r->problem_kind, status),
			      "title", http_title(status), "status",
			      (int)status, "detail", detail);
	if (p && r->request_id[0]) /* what the operator's log names */
		json_object_set_new(p, "request_id",
				    json_string(r->request_id));
	if (p && field)
		json_object_set_new(p, "errors",
				    json_pack("[{s:s,s:s}]", "field", name,
					      "detail", detail));
	char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	http_set(r, status, s, "application/problem+json");
}

void http_problem_of(struct http_request *r, enum http_problem_kind kind,
		     const char *field, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (!r->replied)
		r->problem_kind = (int)kind;
	http_problem(r, http_problem_status((int)kind), field, "%s", detail);
}

/* What each app status is over HTTP — the door's one mapping. Columns:
 * the app status; the HTTP status; whether the problem names the field
 * at fault; whether the detail says to try again. APP_INVALID is 422 for
 * a value that is not allowed, 400 for a wrong type or an unknown field
 * (the terms kind tells). */
static const struct {
	enum app_status status;
	unsigned http;
	bool field;
	bool retry;
} http_statuses[] = {
	{ APP_INVALID, 422, true, false },
	{ APP_NOT_FOUND, 404, false, false },
	{ APP_CONFLICT, 409, true, false },
	{ APP_WOULD_BLOCK, 503, false, true },
	{ APP_FAULT, 503, false, true },
};

void http_app_error(struct http_request *r, enum app_status status,
		    const struct app_error *err, int terms_kind)
{
	const char *field = err && err->field[0] ? err->field : NULL;
	const char *msg = err && err->message[0] ? err->message : "failed";
	size_t i = 0, n = sizeof(http_statuses) / sizeof(*http_statuses);
	while (i < n - 1 && http_statuses[i].status != status)
		i++; /* anything unknown is ours: the last row */
	unsigned code = http_statuses[i].http;
	if (status == APP_INVALID &&
	    (terms_kind == TERMS_ERR_TYPE || terms_kind == TERMS_ERR_UNKNOWN))
		code = 400;
	if (status == APP_INVALID && field == NULL)
		field = ""; /* a 4xx of the input always carries errors[] */
	http_problem(r, code, http_statuses[i].field ? field : NULL,
		     http_statuses[i].retry ? "%s; try again" : "%s", msg);
}

static int http_depth(const json_t *v, int depth)
{
	if (depth > HTTP_JSON_DEPTH)
		return depth;
	int max = depth;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach ((json_t *)(uintptr_t)v, k, x) {
			int d = http_depth(x, depth + 1);
			if (d > max)
				max = d;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach (v, i, x) {
			int d = http_depth(x, depth + 1);
			if (d > max)
				max = d;
		}
	}
	return max;
}

json_t *http_body_object(struct http_request *r)
{
	json_error_t e;
	if (r->body_len == 0) {
		http_problem(r, 400, "",
			     "the request needs a JSON object "
			     "as its body");
		return NULL;
	}
	json_t *v =
		json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (v == NULL) {
		const char *what = "the body is not valid JSON";
		/* jansson's words for a byte that is not UTF-8: "unable
		 * to decode byte 0x…" */
		if (strstr(e.text, "duplicate"))
			what = "a key appears twice";
		else if (strstr(e.text, "decode byte") ||
			 strstr(e.text, "UTF-8"))
			what = "the body is not valid UTF-8";
		http_problem(r, 400, "", "%s (line %d, column %d)", what,
			     e.line, e.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		http_problem(r, 400, "", "the body must be a JSON object");
		return NULL;
	}
	if (http_depth(v, 0) > HTTP_JSON_DEPTH) {
		json_decref(v);
		http_problem(r, 400, "",
			     "the body is nested deeper than %d "
			     "levels",
			     HTTP_JSON_DEPTH);
		return NULL;
	}
	return v;
}

bool http_only_keys(struct http_request *r, const json_t *obj,
		    const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)(uintptr_t)obj, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], k) == 0)
				ok = true;
		if (!ok) {
			http_problem(r, 400, k, "unknown field \"%s\"", k);
			return false;
		}
	}
	return true;
}

json_t *http_body_fields(struct http_request *r, const char *const *allowed)
{
	json_t *body = http_body_object(r);
	if (body != NULL && !http_only_keys(r, body, allowed)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

const char *http_query(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

/* The query check's walk over the parameters: the first one that is not
 * allowed, or is given twice, stops it. */
struct http_query_walk {
	const char *const *allowed;
	unsigned seen;	 /* bit i: allowed[i] was given */
	const char *bad; /* the parameter at fault */
	bool twice;	 /* … given twice, rather than unknown */
};

static enum MHD_Result http_query_visit(void *cls, enum MHD_ValueKind kind,
					const char *key, const char *value)
{
	struct http_query_walk *w = cls;
	(void)kind;
	(void)value;
	for (unsigned i = 0; w->allowed[i] && i < 32; i++) {
		if (strcmp(w->allowed[i], key) != 0)
			continue;
		if (w->seen & (1u << i)) {
			w->bad = key;
			w->twice = true;
			return MHD_NO;
		}
		w->seen |= 1u << i;
		return MHD_YES;
	}
	w->bad = key;
	return MHD_NO;
}

bool http_query_only(struct http_request *r, const char *const *allowed)
{
	struct http_query_walk w = { allowed, 0, NULL, false };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
				  http_query_visit, &w);
	if (w.bad == NULL)
		return true;
	if (w.twice)
		http_problem_of(r, PROBLEM_INVALID_QUERY, w.bad,
				"the query parameter \"%s\" is given twice",
				w.bad);
	else
		http_problem_of(r, PROBLEM_INVALID_QUERY, w.bad,
				"unknown query parameter \"%s\"", w.bad);
	return false;
}

const char *http_header_in(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
