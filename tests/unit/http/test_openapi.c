/*
 * test_openapi.c — the OpenAPI document (src/http/openapi.json, embedded
 * as http_openapi_json) and the route table (http_routes[]) describe the
 * same API: every route is an operation and every operation a route, with
 * the security its `who` column implies, a success response, its path
 * parameters, and problem+json errors. The document is written by hand,
 * so this is what keeps it honest when a route is added.
 *
 * The two table checks count what they miss, so a test can also show that
 * they notice a path taken out of (or an operation put into) a copy of the
 * document.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "http/api.h"
#include "http/http.h"
#include "core/field.h"
#include "ledger/chain.h"

extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

static json_t *doc; /* the parsed document, per test */

/* Whether rt is API: the web app's routes (named "web") serve files. */
static bool is_api(const struct http_route *rt)
{
	return strcmp(rt->name, "web") != 0;
}

static void doc_load(void)
{
	json_error_t e;
	doc = json_loadb(http_openapi_json, http_openapi_json_len,
			 JSON_REJECT_DUPLICATES, &e);
	cr_assert_not_null(doc, "openapi.json line %d: %s", e.line, e.text);
}

static void doc_free(void)
{
	json_decref(doc);
	doc = NULL;
}

TestSuite(openapi, .init = doc_load, .fini = doc_free);

/* The OpenAPI key of an HTTP method: "GET" → "get". */
static void method_key(const char *method, char out[16])
{
	size_t i = 0;
	for (; method[i] && i < 15; i++)
		out[i] = (char)tolower((unsigned char)method[i]);
	out[i] = '\0';
}

static bool is_method_key(const char *k)
{
	static const char *const keys[] = { "get",     "put",	"post",
					    "delete",  "patch", "head",
					    "options", "trace", NULL };
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(keys[i], k) == 0)
			return true;
	return false;
}

static json_t *operation(json_t *d, const char *pattern, const char *method)
{
	char key[16];
	method_key(method, key);
	json_t *item = json_object_get(json_object_get(d, "paths"), pattern);
	return json_object_get(item, key);
}

static const struct http_route *route_of(const char *pattern, const char *key)
{
	for (size_t i = 0; i < http_routes_count; i++) {
		char k[16];
		method_key(http_routes[i].method, k);
		if (is_api(&http_routes[i]) &&
		    strcmp(http_routes[i].pattern, pattern) == 0 &&
		    strcmp(k, key) == 0)
			return &http_routes[i];
	}
	return NULL;
}

/* Follows a local "$ref" ("#/components/…", with ~0 and ~1 escapes) until
 * v is not a reference; NULL when one does not resolve. */
static json_t *resolve(json_t *d, json_t *v)
{
	for (int hops = 0; hops < 8; hops++) {
		json_t *ref = json_object_get(v, "$ref");
		if (!json_is_string(ref))
			return v;
		const char *p = json_string_value(ref);
		if (strncmp(p, "#/", 2) != 0)
			return NULL;
		v = d;
		p += 2;
		while (v && *p) {
			char seg[128];
			size_t n = 0;
			for (; *p && *p != '/' && n < sizeof(seg) - 1; p++) {
				if (p[0] == '~' && p[1] == '1')
					seg[n++] = '/', p++;
				else if (p[0] == '~' && p[1] == '0')
					seg[n++] = '~', p++;
				else
					seg[n++] = *p;
			}
			seg[n] = '\0';
			if (*p == '/')
				p++;
			v = json_object_get(v, seg);
		}
	}
	return NULL;
}

/* Routes with no operation in d; the first is written to first. */
static int routes_missing(json_t *d, char *first, size_t size)
{
	int n = 0;
	first[0] = '\0';
	for (size_t i = 0; i < http_routes_count; i++) {
		const struct http_route *rt = &http_routes[i];
		if (!is_api(rt))
			continue;
		if (json_is_object(operation(d, rt->pattern, rt->method)))
			continue;
		if (n++ == 0)
			snprintf(first, size, "%s %s", rt->method, rt->pattern);
	}
	return n;
}

/* Operations of d (HEAD aside: the router answers it for every GET) that
 * are no route; the first is written to first. */
static int operations_unknown(json_t *d, char *first, size_t size)
{
	int n = 0;
	const char *path, *key;
	json_t *item, *op;
	first[0] = '\0';
	json_object_foreach (json_object_get(d, "paths"), path, item) {
		json_object_foreach (item, key, op) {
			if (!is_method_key(key) || strcmp(key, "head") == 0 ||
			    route_of(path, key))
				continue;
			if (n++ == 0)
				snprintf(first, size, "%s %s", key, path);
		}
	}
	return n;
}

/* Runs the statement that follows for every operation of the document,
 * declaring path, key (the method), op and path##_item (its path item). */
#define EACH_OPERATION(path, key, op)                                          \
	const char *path, *key;                                                \
	json_t *path##_item, *op;                                              \
	json_object_foreach (json_object_get(doc, "paths"), path, path##_item) \
		json_object_foreach (path##_item, key, op)                     \
			if (is_method_key(key))

Test(openapi, is_an_openapi_3_1_document)
{
	json_t *info = json_object_get(doc, "info");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "openapi")),
			 "3.1.0");
	cr_assert(json_string_length(json_object_get(info, "title")) > 0);
	cr_assert(json_string_length(json_object_get(info, "version")) > 0);
	cr_assert(json_object_size(json_object_get(doc, "paths")) > 0);

	const char *path, *key;
	json_t *item, *v;
	json_object_foreach (json_object_get(doc, "paths"), path, item) {
		cr_assert_eq(path[0], '/', "path %s", path);
		cr_assert(json_is_object(item), "path %s", path);
		json_object_foreach (item, key, v) {
			cr_assert(is_method_key(key) ||
					  strcmp(key, "parameters") == 0 ||
					  strcmp(key, "summary") == 0 ||
					  strcmp(key, "description") == 0,
				  "%s: unexpected key %s", path, key);
			if (!is_method_key(key))
				continue;
			json_t *responses = json_object_get(v, "responses");
			cr_assert(json_is_object(responses) &&
					  json_object_size(responses) > 0,
				  "%s %s has no responses", key, path);
		}
	}
}

Test(openapi, every_route_is_an_operation)
{
	char first[256];
	int n = routes_missing(doc, first, sizeof(first));
	cr_assert_eq(n, 0, "%d route(s) not in openapi.json, e.g. %s", n,
		     first);
}

Test(openapi, every_operation_is_a_route)
{
	char first[256];
	int n = operations_unknown(doc, first, sizeof(first));
	cr_assert_eq(n, 0,
		     "%d operation(s) of openapi.json are no route, "
		     "e.g. %s",
		     n, first);
}

Test(openapi, the_table_checks_notice_a_difference)
{
	char first[256];
	json_t *copy = json_deep_copy(doc);
	json_t *paths = json_object_get(copy, "paths");
	const struct http_route *rt = &http_routes[http_routes_count - 1];

	int missing = routes_missing(doc, first, sizeof(first));
	int unknown = operations_unknown(doc, first, sizeof(first));

	cr_assert_eq(json_object_del(paths, rt->pattern), 0);
	cr_assert_gt(routes_missing(copy, first, sizeof(first)), missing);

	json_object_set_new(paths, "/v1/nowhere",
			    json_pack("{s:{s:{}}}", "patch", "responses"));
	cr_assert_eq(operations_unknown(copy, first, sizeof(first)),
		     unknown + 1);
	json_decref(copy);
}

Test(openapi, every_operation_answers_success)
{
	EACH_OPERATION(path, key, op)
	{
		json_t *r = json_object_get(op, "responses");
		cr_assert(json_object_get(r, "200") ||
				  json_object_get(r, "201") ||
				  json_object_get(r, "204"),
			  "%s %s has no 200, 201 or 204", key, path);
	}
}

/* Whether the security requirement list sec is exactly the schemes in
 * names (each with no scopes), in any order. */
static bool security_is(json_t *sec, const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	if (!json_is_array(sec) || json_array_size(sec) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		size_t j;
		json_t *req;
		json_array_foreach (sec, j, req) {
			json_t *scopes = json_object_get(req, names[i]);
			if (json_object_size(req) == 1 &&
			    json_is_array(scopes) &&
			    json_array_size(scopes) == 0)
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

Test(openapi, security_follows_who)
{
	static const char *const anyone[] = { NULL };
	static const char *const person[] = { "personToken", "personSession",
					      NULL };
	static const char *const brand[] = { "brandKey", NULL };
	static const char *const aliases[] = { "aliasToken", "aliasBearer",
					       NULL };
	cr_assert_null(json_object_get(doc, "security"),
		       "security is per operation, not a default");
	for (size_t i = 0; i < http_routes_count; i++) {
		const struct http_route *rt = &http_routes[i];
		if (!is_api(rt))
			continue;
		json_t *op = operation(doc, rt->pattern, rt->method);
		const char *const *want = rt->who == WHO_BRAND	   ? brand
					  : rt->who == WHO_PERSON  ? person
					  : rt->who == WHO_ALIASES ? aliases
								   : anyone;
		cr_assert(op, "%s %s is missing", rt->method, rt->pattern);
		cr_assert(security_is(json_object_get(op, "security"), want),
			  "%s %s: security does not match who=%d", rt->method,
			  rt->pattern, rt->who);
		if (rt->who != WHO_ANYONE)
			cr_assert(json_object_get(
					  json_object_get(op, "responses"),
					  "401"),
				  "%s %s: no 401", rt->method, rt->pattern);
	}
}

Test(openapi, security_schemes)
{
	json_t *s = json_object_get(json_object_get(doc, "components"),
				    "securitySchemes");
	json_t *brand = json_object_get(s, "brandKey");
	json_t *token = json_object_get(s, "personToken");
	json_t *session = json_object_get(s, "personSession");
	cr_assert_str_eq(json_string_value(json_object_get(brand, "type")),
			 "http");
	cr_assert_str_eq(json_string_value(json_object_get(brand, "scheme")),
			 "bearer");
	cr_assert_str_eq(json_string_value(json_object_get(token, "type")),
			 "http");
	cr_assert_str_eq(json_string_value(json_object_get(token, "scheme")),
			 "bearer");
	cr_assert_str_eq(json_string_value(json_object_get(session, "type")),
			 "apiKey");
	cr_assert_str_eq(json_string_value(json_object_get(session, "in")),
			 "cookie");
	cr_assert_str_eq(json_string_value(json_object_get(session, "name")),
			 "cmr_session");
}

Test(openapi, operation_ids_are_unique_and_named_after_the_route)
{
	json_t *seen = json_object();
	for (size_t i = 0; i < http_routes_count; i++) {
		const struct http_route *rt = &http_routes[i];
		if (!is_api(rt))
			continue;
		json_t *op = operation(doc, rt->pattern, rt->method);
		const char *id =
			json_string_value(json_object_get(op, "operationId"));
		char key[16], with_method[160];
		cr_assert(id, "%s %s has no operationId", rt->method,
			  rt->pattern);
		cr_assert_null(json_object_get(seen, id),
			       "operationId %s is used twice", id);
		json_object_set_new(seen, id, json_true());
		method_key(rt->method, key);
		snprintf(with_method, sizeof(with_method), "%s_%s", rt->name,
			 key);
		cr_assert(strcmp(id, rt->name) == 0 ||
				  strcmp(id, with_method) == 0,
			  "%s %s: operationId %s is not %s or %s", rt->method,
			  rt->pattern, id, rt->name, with_method);
	}
	json_decref(seen);
}

/* Whether the parameter list params (of an operation or a path item)
 * declares the required path parameter name. */
static bool has_path_param(json_t *params, const char *name, int *count)
{
	size_t i;
	json_t *p;
	bool found = false;
	json_array_foreach (params, i, p) {
		p = resolve(doc, p);
		const char *in = json_string_value(json_object_get(p, "in"));
		if (in == NULL || strcmp(in, "path") != 0)
			continue;
		(*count)++;
		const char *n = json_string_value(json_object_get(p, "name"));
		if (n && strcmp(n, name) == 0 &&
		    json_is_true(json_object_get(p, "required")))
			found = true;
	}
	return found;
}

Test(openapi, path_parameters)
{
	EACH_OPERATION(path, key, op)
	{
		int braces = 0, declared = 0;
		for (const char *p = strchr(path, '{'); p;
		     p = strchr(p + 1, '{'))
			braces++;
		bool id =
			has_path_param(json_object_get(path_item, "parameters"),
				       "id", &declared) |
			has_path_param(json_object_get(op, "parameters"), "id",
				       &declared);
		if (strstr(path, "{id}"))
			cr_assert(id, "%s %s does not declare {id}", key, path);
		cr_assert_eq(declared, braces,
			     "%s %s: %d path parameter(s) for %d in the path",
			     key, path, declared, braces);
	}
}

/* Checks that every "$ref" under v resolves; counts them. */
static void refs_resolve(json_t *v, int *n)
{
	const char *k;
	json_t *x;
	size_t i;
	if (json_is_object(v)) {
		json_t *ref = json_object_get(v, "$ref");
		if (json_is_string(ref)) {
			(*n)++;
			cr_assert(resolve(doc, v), "$ref %s does not resolve",
				  json_string_value(ref));
		}
		json_object_foreach (v, k, x)
			refs_resolve(x, n);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			refs_resolve(x, n);
	}
}

Test(openapi, every_ref_resolves)
{
	int n = 0;
	refs_resolve(doc, &n);
	cr_assert_gt(n, 0);
}

Test(openapi, errors_are_problems)
{
	json_t *problem = json_object_get(
		json_object_get(json_object_get(doc, "components"), "schemas"),
		"Problem");
	json_t *props = json_object_get(problem, "properties");
	static const char *const fields[] = { "type",	"title",  "status",
					      "detail", "errors", NULL };
	for (size_t i = 0; fields[i]; i++)
		cr_assert(json_object_get(props, fields[i]), "Problem.%s",
			  fields[i]);
	json_t *item =
		resolve(doc, json_object_get(json_object_get(props, "errors"),
					     "items"));
	cr_assert(
		json_object_get(json_object_get(item, "properties"), "field"));
	cr_assert(
		json_object_get(json_object_get(item, "properties"), "detail"));

	EACH_OPERATION(path, key, op)
	{
		const char *status;
		json_t *r;
		json_object_foreach (json_object_get(op, "responses"), status,
				     r) {
			if (status[0] != '4' && status[0] != '5')
				continue;
			r = resolve(doc, r);
			json_t *content = json_object_get(r, "content");
			/* The alias-creation routes answer in the shape of
			 * the service whose clients call them. */
			const struct http_route *rt = route_of(path, key);
			if (rt && rt->who == WHO_ALIASES) {
				cr_assert(resolve(doc,
						  json_object_get(
							  json_object_get(
								  content,
								  "application/"
								  "json"),
							  "schema")),
					  "%s %s: %s has no JSON schema", key,
					  path, status);
				continue;
			}
			json_t *media = json_object_get(
				content, "application/problem+json");
			json_t *schema =
				resolve(doc, json_object_get(media, "schema"));
			cr_assert(schema == problem,
				  "%s %s: %s is not a problem+json Problem",
				  key, path, status);
		}
	}
}

/* The parameter named name of op (resolved), or NULL. */
static json_t *param(json_t *op, const char *name, const char *in)
{
	size_t i;
	json_t *p;
	json_array_foreach (json_object_get(op, "parameters"), i, p) {
		p = resolve(doc, p);
		const char *n = json_string_value(json_object_get(p, "name"));
		const char *w = json_string_value(json_object_get(p, "in"));
		if (n && w && strcmp(n, name) == 0 && strcmp(w, in) == 0)
			return p;
	}
	return NULL;
}

Test(openapi, brand_sends_take_an_idempotency_key)
{
	static const char *const sends[] = { "/v1/messages", "/v1/campaigns",
					     NULL };
	for (size_t i = 0; sends[i]; i++) {
		cr_assert(route_of(sends[i], "post"), "%s", sends[i]);
		json_t *op = operation(doc, sends[i], "POST");
		cr_assert(param(op, "Idempotency-Key", "header"),
			  "POST %s has no Idempotency-Key", sends[i]);
	}
}

Test(openapi, lists_are_cursor_paged)
{
	int lists = 0;
	EACH_OPERATION(path, key, op)
	{
		if (!param(op, "limit", "query"))
			continue;
		lists++;
		cr_assert(param(op, "after", "query"),
			  "%s %s: limit without after", key, path);
		json_t *ok = resolve(
			doc, json_object_get(json_object_get(op, "responses"),
					     "200"));
		json_t *schema = json_object_get(
			json_object_get(json_object_get(ok, "content"),
					"application/json"),
			"schema");
		/* {items, next}: directly, or through the Page schema. */
		json_t *page =
			json_object_get(schema, "allOf")
				? resolve(doc, json_array_get(
						       json_object_get(schema,
								       "allOf"),
						       0))
				: schema;
		json_t *req = json_object_get(page, "required");
		cr_assert(json_array_size(req) == 2, "%s %s: not a page", key,
			  path);
		cr_assert(json_object_get(json_object_get(page, "properties"),
					  "items") &&
				  json_object_get(
					  json_object_get(page, "properties"),
					  "next"),
			  "%s %s: a page is {items, next}", key, path);
	}
	cr_assert_gt(lists, 0);
}

Test(openapi, request_bodies_are_json)
{
	EACH_OPERATION(path, key, op)
	{
		json_t *body = resolve(doc, json_object_get(op, "requestBody"));
		if (body == NULL)
			continue;
		json_t *media = json_object_get(
			json_object_get(body, "content"), "application/json");
		cr_assert(resolve(doc, json_object_get(media, "schema")),
			  "%s %s: the body has no JSON schema", key, path);
	}
}

/* Whether the query parameters of an operation (its own and its path
 * item's) are exactly `names`: what the route's handler reads, all that
 * api_query_check lets through. */
static bool query_params_are(json_t *item, json_t *op, const char *const *names,
			     char *why, size_t size)
{
	size_t n_names = 0, documented = 0;
	while (names[n_names])
		n_names++;
	json_t *lists[2] = { json_object_get(item, "parameters"),
			     json_object_get(op, "parameters") };
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *p;
		json_array_foreach (lists[l], i, p) {
			p = resolve(doc, p);
			const char *in =
				json_string_value(json_object_get(p, "in"));
			const char *name =
				json_string_value(json_object_get(p, "name"));
			if (in == NULL || strcmp(in, "query") != 0)
				continue;
			documented++;
			bool read = false;
			for (size_t k = 0; k < n_names; k++)
				read = read || strcmp(names[k], name) == 0;
			if (!read) {
				snprintf(why, size,
					 "?%s is documented, not read", name);
				return false;
			}
		}
	}
	if (documented != n_names) {
		snprintf(why, size, "%zu query parameters read, %zu documented",
			 n_names, documented);
		return false;
	}
	return true;
}

Test(openapi, query_parameters_are_those_the_handler_reads)
{
	for (size_t i = 0; i < http_routes_count; i++) {
		const struct http_route *rt = &http_routes[i];
		if (!is_api(rt))
			continue;
		char key[16], why[128] = "";
		method_key(rt->method, key);
		json_t *item = json_object_get(json_object_get(doc, "paths"),
					       rt->pattern);
		json_t *op = json_object_get(item, key);
		cr_assert_not_null(op, "%s %s", rt->method, rt->pattern);
		cr_assert(query_params_are(item, op,
					   api_query_names(rt->handler), why,
					   sizeof(why)),
			  "%s %s: %s", rt->method, rt->pattern, why);
	}
}

/* The check notices a parameter documented and not read. */
Test(openapi, query_check_notices_a_difference)
{
	static const char *const none[] = { NULL };
	char why[128] = "";
	json_t *item = json_object_get(json_object_get(doc, "paths"),
				       "/v1/me/messages");
	cr_assert_not(query_params_are(item, json_object_get(item, "get"), none,
				       why, sizeof(why)));
	cr_assert(strstr(why, "not read"), "%s", why);
}

/* The ledger's types as documented (LedgerEntry.type's enum) are the
 * chain's table (ledger/chain.c), in the same order: a new type is
 * documented when it is added. */
Test(openapi, ledger_types_are_the_chains)
{
	json_t *type = json_object_get(
		json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(doc, "components"),
					"schemas"),
				"LedgerEntry"),
			"properties"),
		"type");
	json_t *names = json_object_get(type, "enum");
	size_t n = 0;
	for (; chain_types[n]; n++)
		cr_expect_str_eq(json_string_value(json_array_get(names, n)),
				 chain_types[n], "LedgerEntry.type enum[%zu]",
				 n);
	cr_expect_eq(json_array_size(names), n,
		     "LedgerEntry.type lists %zu types, the chain %zu",
		     json_array_size(names), n);
}

/* The profile's vocabulary as documented (FieldName's enum and Profile's
 * properties) is core/field.c's table, in the same order. */
Test(openapi, profile_fields_are_the_vocabulary)
{
	json_t *schemas =
		json_object_get(json_object_get(doc, "components"), "schemas");
	json_t *names =
		json_object_get(json_object_get(schemas, "FieldName"), "enum");
	json_t *props = json_object_get(json_object_get(schemas, "Profile"),
					"properties");
	cr_assert_eq(json_array_size(names), field_vocabulary_count);
	cr_assert_eq(json_object_size(props), field_vocabulary_count);
	for (size_t i = 0; i < field_vocabulary_count; i++) {
		const char *name = field_vocabulary[i].name;
		cr_expect_str_eq(json_string_value(json_array_get(names, i)),
				 name, "FieldName enum[%zu]", i);
		cr_expect_not_null(json_object_get(props, name),
				   "Profile has no property %s", name);
	}
}
