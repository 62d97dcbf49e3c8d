/*
 * test_reply.c — the HTTP door's replies and body reading (http.h,
 * reply.c) on a request built here, without a server: RFC 9457 problem
 * bodies (type, a title from the status, status, detail, and errors[]
 * naming the field), details and field names cut before invalid UTF-8 so
 * that the body stays JSON, the one table from app status to HTTP status
 * (APP_INVALID 422, or 400 for a wrong type or an unknown field; 404
 * without a field; 409; 503 saying to try again, also for a status the
 * table does not know), the kinds of problem (a stable type URI each, the
 * status's default or a named one, every one listed in openapi.json and
 * nothing else), a reply set once, the extra header lines, and the
 * strict body parser (empty, malformed, duplicate keys, invalid UTF-8, not
 * an object, too deep, unknown keys). Reading the query and headers needs
 * a libmicrohttpd connection and is left to tests/api.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/terms.h"
#include "core/utf8.h"
#include "http/http.h"

static struct http_request *r;

static void setup(void)
{
	r = calloc(1, sizeof(*r));
	cr_assert_not_null(r);
}

static void teardown(void)
{
	free(r->reply);
	free(r->body);
	free(r);
}

TestSuite(reply, .init = setup, .fini = teardown);

/* The reply's body as JSON (the caller frees), checked to be the reply's
 * whole length. */
static json_t *reply_json(void)
{
	json_error_t e;
	cr_assert_not_null(r->reply);
	cr_assert_eq(strlen(r->reply), r->reply_len);
	json_t *v =
		json_loadb(r->reply, r->reply_len, JSON_REJECT_DUPLICATES, &e);
	cr_assert_not_null(v, "%s: %s", r->reply, e.text);
	return v;
}

static const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	cr_assert(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

/* The reply must be a problem of status; returns its body. */
static json_t *problem(unsigned status)
{
	cr_assert(r->replied);
	cr_assert_eq(r->status, status, "%u, not %u: %s", r->status, status,
		     r->reply);
	cr_assert_str_eq(r->reply_type, "application/problem+json");
	json_t *p = reply_json();
	/* Without a kind, the status's default kind's type. */
	cr_assert_str_eq(str(p, "type"),
			 http_problem_type(r->problem_kind, status));
	cr_assert(strncmp(str(p, "type"), "/problems/", 10) == 0, "%s",
		  str(p, "type"));
	cr_assert_eq(json_integer_value(json_object_get(p, "status")),
		     (json_int_t)status);
	return p;
}

/* The field of the problem's one error, or NULL when it has none. */
static const char *error_field(json_t *p)
{
	json_t *errors = json_object_get(p, "errors");
	if (errors == NULL)
		return NULL;
	cr_assert(json_is_array(errors));
	cr_assert_eq(json_array_size(errors), 1);
	json_t *e = json_array_get(errors, 0);
	cr_assert_str_eq(str(e, "detail"), str(p, "detail"));
	return str(e, "field");
}

/* ---- problems ---- */

Test(reply, problem_without_field)
{
	http_problem(r, 404, NULL, "no %s here", "proposal");
	json_t *p = problem(404);
	cr_assert_str_eq(str(p, "title"), "Not Found");
	cr_assert_str_eq(str(p, "detail"), "no proposal here");
	cr_assert_null(json_object_get(p, "errors"));
	cr_assert_eq(json_object_size(p), 4);
	json_decref(p);
}

Test(reply, problem_with_field)
{
	http_problem(r, 422, "terms.channels", "not allowed");
	json_t *p = problem(422);
	cr_assert_str_eq(str(p, "title"), "Unprocessable Content");
	cr_assert_str_eq(error_field(p), "terms.channels");
	json_decref(p);
}

/* Each status's title and default kind. */
Test(reply, titles_and_default_kinds)
{
	static const struct {
		unsigned status;
		const char *title, *type;
	} titles[] = {
		{ 400, "Bad Request", "/problems/invalid-body" },
		{ 401, "Unauthorized", "/problems/unauthenticated" },
		{ 403, "Forbidden", "/problems/forbidden" },
		{ 404, "Not Found", "/problems/not-found" },
		{ 405, "Method Not Allowed", "/problems/method-not-allowed" },
		{ 409, "Conflict", "/problems/conflict" },
		{ 413, "Content Too Large", "/problems/too-large" },
		{ 415, "Unsupported Media Type",
		  "/problems/unsupported-media-type" },
		{ 422, "Unprocessable Content", "/problems/invalid-value" },
		{ 429, "Too Many Requests", "/problems/throttled" },
		{ 503, "Service Unavailable", "/problems/unavailable" },
		{ 418, "Error", "about:blank" },
		{ 500, "Internal Server Error", "/problems/unavailable" },
		{ 502, "Internal Server Error", "/problems/unavailable" },
	};
	for (size_t i = 0; i < sizeof(titles) / sizeof(*titles); i++) {
		struct http_request q = { 0 };
		http_problem(&q, titles[i].status, NULL, "x");
		json_t *p = json_loads(q.reply, 0, NULL);
		cr_assert_not_null(p);
		cr_assert_str_eq(str(p, "title"), titles[i].title, "%u",
				 titles[i].status);
		cr_assert_str_eq(str(p, "type"), titles[i].type, "%u",
				 titles[i].status);
		json_decref(p);
		free(q.reply);
	}
}

/* ---- problem kinds ---- */

extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

Test(reply, a_named_kind_has_its_type_and_status)
{
	http_problem_of(r, PROBLEM_INVALID_QUERY, "limit", "limit is %d", 0);
	json_t *p = problem(400);
	cr_assert_str_eq(str(p, "type"), "/problems/invalid-query");
	cr_assert_str_eq(str(p, "detail"), "limit is 0");
	cr_assert_str_eq(error_field(p), "limit");
	json_decref(p);
	/* A reply is set once: a later problem changes neither the type
	 * nor the status. */
	http_problem_of(r, PROBLEM_WRONG_PASSWORD, NULL, "later");
	p = problem(400);
	cr_assert_str_eq(str(p, "type"), "/problems/invalid-query");
	json_decref(p);
}

/* Every kind is documented in openapi.json's list of problem types with
 * its status, and the list holds no other. */
Test(reply, every_kind_is_documented)
{
	json_error_t e;
	json_t *doc =
		json_loadb(http_openapi_json, http_openapi_json_len, 0, &e);
	cr_assert_not_null(doc, "%s", e.text);
	json_t *list = json_object_get(
		json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(
						json_object_get(doc,
								"components"),
						"schemas"),
					"Problem"),
				"properties"),
			"type"),
		"oneOf");
	cr_assert(json_is_array(list), "Problem.properties.type.oneOf");
	cr_assert_eq(json_array_size(list), PROBLEM_KIND_COUNT - 1);
	for (int k = PROBLEM_BY_STATUS + 1; k < PROBLEM_KIND_COUNT; k++) {
		const char *type = http_problem_type(k, 0);
		bool found = false;
		size_t i;
		json_t *item;
		json_array_foreach (list, i, item) {
			json_t *c = json_object_get(item, "const");
			if (!json_is_string(c) ||
			    strcmp(json_string_value(c), type) != 0)
				continue;
			found = true;
			char status[8];
			snprintf(status, sizeof(status), "%u",
				 http_problem_status(k));
			const char *d = json_string_value(
				json_object_get(item, "description"));
			cr_assert(d && strncmp(d, status, 3) == 0,
				  "%s: the description starts with %s", type,
				  status);
		}
		cr_assert(found, "%s is not in openapi.json", type);
	}
	json_decref(doc);
}

/* A detail quoting a client's bad bytes ends before the first one. */
Test(reply, detail_cut_at_invalid_utf8)
{
	http_problem(r, 400, "na\xc3\xa9me\xff", "unknown field \"%s\"",
		     "k\xc3\xa9y\xfe\xffrest");
	json_t *p = problem(400);
	cr_assert_str_eq(str(p, "detail"), "unknown field \"k\xc3\xa9y");
	cr_assert_str_eq(error_field(p), "na\xc3\xa9me");
	json_decref(p);
}

/* A detail longer than its buffer is cut there, and a character split by
 * the cut goes whole. */
Test(reply, long_detail_cut_whole)
{
	char long_detail[1200];
	long_detail[0] = 'x'; /* two ASCII bytes put the cut at 511 */
	long_detail[1] = 'y'; /* inside a character */
	size_t n = 2;
	while (n + 2 < sizeof(long_detail)) {
		long_detail[n++] = (char)0xc3;
		long_detail[n++] = (char)0xa9;
	}
	long_detail[n] = '\0';
	http_problem(r, 422, NULL, "%s", long_detail);
	json_t *p = problem(422);
	const char *d = str(p, "detail");
	size_t len = strlen(d);
	cr_assert_gt(len, 400);
	cr_assert_lt(len, 512);
	cr_assert_eq(utf8_valid_prefix(d, len), len);
	cr_assert_eq(len, 510, "%zu", len);
	json_decref(p);
}

/* ---- the app status table ---- */

static struct app_error app_err(const char *field, const char *message)
{
	struct app_error e = { 0 };
	snprintf(e.field, sizeof(e.field), "%s", field);
	snprintf(e.message, sizeof(e.message), "%s", message);
	return e;
}

Test(reply, app_invalid_is_422_with_its_field)
{
	struct app_error e = app_err("topic", "no such topic");
	http_app_error(r, APP_INVALID, &e, 0);
	json_t *p = problem(422);
	cr_assert_str_eq(str(p, "detail"), "no such topic");
	cr_assert_str_eq(error_field(p), "topic");
	json_decref(p);
}

Test(reply, app_invalid_terms_value_is_422)
{
	struct app_error e = app_err("channels.email", "not offered");
	http_app_error(r, APP_INVALID, &e, TERMS_ERR_VALUE);
	json_decref(problem(422));
}

/* A wrong type or an unknown field is a malformed request: 400. */
Test(reply, app_invalid_type_is_400)
{
	struct app_error e = app_err("channels", "must be an object");
	http_app_error(r, APP_INVALID, &e, TERMS_ERR_TYPE);
	json_t *p = problem(400);
	cr_assert_str_eq(error_field(p), "channels");
	json_decref(p);
}

Test(reply, app_invalid_unknown_is_400)
{
	struct app_error e = app_err("colour", "unknown field");
	http_app_error(r, APP_INVALID, &e, TERMS_ERR_UNKNOWN);
	json_decref(problem(400));
}

/* A 4xx of the input always carries errors[], even without a field. */
Test(reply, app_invalid_without_field)
{
	struct app_error e = app_err("", "the body is wrong");
	http_app_error(r, APP_INVALID, &e, 0);
	json_t *p = problem(422);
	cr_assert_str_eq(error_field(p), "");
	json_decref(p);
}

/* Not found never names a field (it would tell what exists). */
Test(reply, app_not_found_is_404_without_field)
{
	struct app_error e = app_err("relationship", "no such relationship");
	http_app_error(r, APP_NOT_FOUND, &e, 0);
	json_t *p = problem(404);
	cr_assert_null(error_field(p));
	cr_assert_str_eq(str(p, "detail"), "no such relationship");
	json_decref(p);
}

Test(reply, app_conflict_is_409)
{
	struct app_error e = app_err("handle", "taken");
	http_app_error(r, APP_CONFLICT, &e, 0);
	json_t *p = problem(409);
	cr_assert_str_eq(error_field(p), "handle");
	json_decref(p);
	free(r->reply);
	memset(r, 0, sizeof(*r));
	e = app_err("", "already accepted");
	http_app_error(r, APP_CONFLICT, &e, 0);
	p = problem(409);
	cr_assert_null(error_field(p));
	json_decref(p);
}

Test(reply, app_fault_is_503_try_again)
{
	struct app_error e = app_err("handle", "the store failed");
	http_app_error(r, APP_FAULT, &e, 0);
	json_t *p = problem(503);
	cr_assert_str_eq(str(p, "detail"), "the store failed; try again");
	cr_assert_null(error_field(p));
	json_decref(p);
}

Test(reply, app_would_block_is_503_try_again)
{
	struct app_error e = app_err("", "busy");
	http_app_error(r, APP_WOULD_BLOCK, &e, 0);
	json_t *p = problem(503);
	cr_assert_str_eq(str(p, "detail"), "busy; try again");
	json_decref(p);
}

/* What the table does not know is ours: 503. */
Test(reply, unknown_status_is_503)
{
	struct app_error e = app_err("x", "odd");
	http_app_error(r, (enum app_status)99, &e, 0);
	json_t *p = problem(503);
	cr_assert_str_eq(str(p, "detail"), "odd; try again");
	cr_assert_null(error_field(p));
	json_decref(p);
	free(r->reply);
	memset(r, 0, sizeof(*r));
	http_app_error(r, APP_OK, &e, 0);
	json_decref(problem(503));
}

Test(reply, app_error_without_error)
{
	http_app_error(r, APP_NOT_FOUND, NULL, 0);
	json_t *p = problem(404);
	cr_assert_str_eq(str(p, "detail"), "failed");
	json_decref(p);
}

/* ---- other replies ---- */

Test(reply, json_reply)
{
	http_json(r, 201, json_pack("{s:i}", "id", 7));
	cr_assert(r->replied);
	cr_assert_eq(r->status, 201);
	cr_assert_str_eq(r->reply_type, "application/json");
	cr_assert_str_eq(r->reply, "{\"id\":7}");
	cr_assert_eq(r->reply_len, 8);
}

/* A value that could not be built is a 503, not an empty 200. */
Test(reply, json_reply_of_nothing)
{
	http_json(r, 200, NULL);
	json_t *p = problem(503);
	cr_assert_str_eq(str(p, "detail"), "out of memory");
	json_decref(p);
}

Test(reply, text_and_empty)
{
	http_text(r, 200, "text/plain", "ok\n");
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->reply_type, "text/plain");
	cr_assert_str_eq(r->reply, "ok\n");
	cr_assert_eq(r->reply_len, 3);
	free(r->reply);
	memset(r, 0, sizeof(*r));
	http_empty(r, 204);
	cr_assert(r->replied);
	cr_assert_eq(r->status, 204);
	cr_assert_null(r->reply);
	cr_assert_eq(r->reply_len, 0);
	cr_assert_null(r->reply_type);
}

/* The first reply stands; later ones are dropped (and freed: ASan). */
Test(reply, replied_once)
{
	http_json(r, 200, json_pack("{s:b}", "ok", 1));
	http_problem(r, 500, "x", "too late");
	http_json(r, 201, json_pack("{s:b}", "ok", 0));
	http_text(r, 202, "text/plain", "late");
	http_empty(r, 204);
	struct app_error e = app_err("", "late");
	http_app_error(r, APP_FAULT, &e, 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->reply, "{\"ok\":true}");
	cr_assert_str_eq(r->reply_type, "application/json");
}

Test(reply, bytes_are_taken_by_their_length)
{
	/* No NUL anywhere: nothing may read past the length given. */
	char *data = malloc(3);
	memcpy(data, "abc", 3);
	http_bytes(r, 200, "application/octet-stream", data, 3);
	free(data);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->reply_len, 3);
	cr_assert_eq(memcmp(r->reply, "abc", 3), 0);
}

Test(reply, header_lines)
{
	http_header(r, "Set-Cookie", "a=1");
	cr_assert_eq(r->n_headers, 1);
	cr_assert_str_eq(r->headers[0], "Set-Cookie: a=1");
	char value[sizeof(r->headers[0]) + 80];
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	http_header(r, "Link", value);
	cr_assert_eq(strlen(r->headers[1]), sizeof(r->headers[1]) - 1);
	int room = (int)(sizeof(r->headers) / sizeof(r->headers[0]));
	for (int i = 2; i < room; i++)
		http_header(r, "X-N", "n");
	/* one more has no room and is dropped */
	http_header(r, "X-Extra", "5");
	cr_assert_eq(r->n_headers, room);
	cr_assert_str_eq(r->headers[room - 1], "X-N: n");
}

/* ---- reading the body ---- */

static void body(const char *s)
{
	free(r->body);
	r->body = strdup(s);
	cr_assert_not_null(r->body);
	r->body_len = strlen(s);
}

/* body must be refused with a 400 whose detail holds `what`. */
static void body_refused(const char *s, const char *what)
{
	free(r->reply);
	r->reply = NULL;
	r->replied = false;
	body(s);
	json_t *v = http_body_object(r);
	cr_assert_null(v, "%s taken", s);
	json_t *p = problem(400);
	cr_assert(strstr(str(p, "detail"), what) != NULL, "%s: %s", s,
		  str(p, "detail"));
	cr_assert_str_eq(error_field(p), "");
	json_decref(p);
}

Test(reply, body_object)
{
	body("{\"a\":1,\"b\":[1,2,{\"c\":null}]}");
	json_t *v = http_body_object(r);
	cr_assert_not_null(v);
	cr_assert_not(r->replied);
	cr_assert_eq(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);
}

Test(reply, body_refusals)
{
	body_refused("", "needs a JSON object");
	body_refused("{", "not valid JSON");
	body_refused("{\"a\":1,}", "not valid JSON");
	body_refused("{\"a\":1} x", "not valid JSON");
	body_refused("{\"a\":1,\"a\":2}", "a key appears twice");
	body_refused("[1,2]", "must be a JSON object");
	/* a scalar: refused, by the parser already */
	body_refused("\"a\"", "the body");
	body_refused("null", "the body");
}

/* A body that is not UTF-8 is told so (RFC 8259 §8.1), in a value, in a
 * key, or cut inside a character. */
Test(reply, body_invalid_utf8)
{
	body_refused("{\"a\":\"\xff\"}", "not valid UTF-8");
	body_refused("{\"\xfe\":1}", "not valid UTF-8");
	body_refused("{\"a\":\"\xc3\"}", "not valid UTF-8");
	body_refused("{\"a\":\"\xc0\xaf\"}", "not valid UTF-8");
}

/* The error's position is given, for the client to find it. */
Test(reply, body_error_position)
{
	body_refused("{\n\"a\": tru\n}", "line 2");
}

/* n levels of nesting below the body's object. */
static void nested(int n)
{
	char s[200] = "";
	for (int i = 0; i < n; i++)
		strcat(s, "{\"a\":");
	strcat(s, "1");
	for (int i = 0; i < n; i++)
		strcat(s, "}");
	body(s);
}

Test(reply, body_depth)
{
	nested(HTTP_JSON_DEPTH);
	json_t *v = http_body_object(r);
	cr_assert_not_null(v, "%s", r->reply);
	json_decref(v);
	nested(HTTP_JSON_DEPTH + 1);
	cr_assert_null(http_body_object(r));
	json_t *p = problem(400);
	cr_assert(strstr(str(p, "detail"), "deeper than 16") != NULL, "%s",
		  str(p, "detail"));
	json_decref(p);
}

Test(reply, body_depth_in_arrays)
{
	char s[200] = "{\"a\":";
	for (int i = 0; i < HTTP_JSON_DEPTH; i++)
		strcat(s, "[");
	for (int i = 0; i < HTTP_JSON_DEPTH; i++)
		strcat(s, "]");
	strcat(s, "}");
	body(s); /* the innermost array at depth 16 */
	json_t *v = http_body_object(r);
	cr_assert_not_null(v, "%s", r->reply);
	json_decref(v);
	strcpy(s, "{\"a\":");
	for (int i = 0; i <= HTTP_JSON_DEPTH; i++)
		strcat(s, "[");
	for (int i = 0; i <= HTTP_JSON_DEPTH; i++)
		strcat(s, "]");
	strcat(s, "}");
	body(s);
	cr_assert_null(http_body_object(r), "%s taken", s);
	json_decref(problem(400));
}

Test(reply, only_keys)
{
	static const char *const allowed[] = { "name", "topics", NULL };
	json_t *obj = json_pack("{s:s,s:[]}", "name", "n", "topics");
	cr_assert(http_only_keys(r, obj, allowed));
	cr_assert_not(r->replied);
	json_object_set_new(obj, "colour", json_string("red"));
	cr_assert_not(http_only_keys(r, obj, allowed));
	json_t *p = problem(400);
	cr_assert_str_eq(error_field(p), "colour");
	cr_assert_str_eq(str(p, "detail"), "unknown field \"colour\"");
	json_decref(p);
	json_decref(obj);
}

Test(reply, body_fields)
{
	static const char *const allowed[] = { "name", NULL };
	body("{\"name\":\"n\"}");
	json_t *v = http_body_fields(r, allowed);
	cr_assert_not_null(v);
	json_decref(v);
	body("{\"name\":\"n\",\"extra\":1}");
	cr_assert_null(http_body_fields(r, allowed));
	json_t *p = problem(400);
	cr_assert_str_eq(error_field(p), "extra");
	json_decref(p);
}
