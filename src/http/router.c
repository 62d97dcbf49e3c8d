/*
 * router.c — the route table and its matcher.
 */
#include "http/http.h"

#include <string.h>

#include "core/id.h"
#include "http/api.h"
#include "http/web.h"

/* The routes. Columns: method; path pattern, where {id} matches one path
 * segment and is handed to the handler in r->params; who may call it
 * (anyone, a person by session or token, a brand by API key — checked
 * before the handler runs); the handler; a stable name for metrics. */
const struct http_route http_routes[] = {
	/* The person's web app (web.c): files, not API — not in openapi.json.
	 */
	{ "GET", "/", WHO_ANYONE, web_index, "web" },
	{ "GET", "/web/{id}", WHO_ANYONE, web_file, "web" },
	{ "GET", "/healthz", WHO_ANYONE, api_healthz, "healthz" },
	{ "GET", "/readyz", WHO_ANYONE, api_readyz, "readyz" },
	{ "GET", "/.well-known/jwks.json", WHO_ANYONE, api_jwks, "jwks" },
	{ "GET", "/v1/openapi.json", WHO_ANYONE, api_openapi, "openapi" },
	{ "GET", "/ns/cmr", WHO_ANYONE, api_vocabulary, "vocabulary" },
	{ "POST", "/v1/persons", WHO_ANYONE, api_persons_create, "persons" },
	{ "POST", "/v1/session", WHO_ANYONE, api_session_create, "session" },
	{ "DELETE", "/v1/session", WHO_ANYONE, api_session_delete, "session" },
	{ "POST", "/v1/tokens", WHO_ANYONE, api_tokens_create, "tokens" },
	{ "DELETE", "/v1/tokens/{id}", WHO_PERSON, api_tokens_delete, "token" },
	{ "GET", "/v1/me/sessions", WHO_PERSON, api_me_sessions_list,
	  "me_sessions" },
	{ "DELETE", "/v1/me/sessions/{id}", WHO_PERSON, api_me_sessions_delete,
	  "me_session" },
	{ "GET", "/v1/me/profile", WHO_PERSON, api_me_profile_get, "profile" },
	{ "PUT", "/v1/me/profile", WHO_PERSON, api_me_profile_put, "profile" },
	{ "PATCH", "/v1/me/profile", WHO_PERSON, api_me_profile_patch,
	  "profile" },
	{ "GET", "/v1/me/terms", WHO_PERSON, api_me_terms_get, "me_terms" },
	{ "PUT", "/v1/me/terms", WHO_PERSON, api_me_terms_put, "me_terms" },
	{ "PATCH", "/v1/me/terms", WHO_PERSON, api_me_terms_patch, "me_terms" },
	{ "GET", "/v1/me/delivery", WHO_PERSON, api_me_delivery_get,
	  "me_delivery" },
	{ "PUT", "/v1/me/delivery", WHO_PERSON, api_me_delivery_put,
	  "me_delivery" },
	{ "PATCH", "/v1/me/delivery", WHO_PERSON, api_me_delivery_patch,
	  "me_delivery" },
	{ "POST", "/v1/me/delivery/verify", WHO_PERSON, api_me_delivery_verify,
	  "me_delivery_verify" },
	{ "POST", "/v1/me/connect-codes", WHO_PERSON, api_me_codes_create,
	  "connect_codes" },
	{ "GET", "/v1/me/proposals", WHO_PERSON, api_me_proposals_list,
	  "me_proposals" },
	{ "GET", "/v1/me/proposals/{id}", WHO_PERSON, api_me_proposals_get,
	  "me_proposal" },
	{ "POST", "/v1/me/proposals/{id}/accept", WHO_PERSON,
	  api_me_proposals_accept, "me_proposal_accept" },
	{ "POST", "/v1/me/proposals/{id}/decline", WHO_PERSON,
	  api_me_proposals_decline, "me_proposal_decline" },
	{ "GET", "/v1/me/relationships", WHO_PERSON, api_me_relationships_list,
	  "me_relationships" },
	{ "POST", "/v1/me/relationships", WHO_PERSON,
	  api_me_relationships_create, "me_relationships" },
	{ "GET", "/v1/me/relationships/{id}", WHO_PERSON,
	  api_me_relationship_get, "me_relationship" },
	{ "GET", "/v1/me/relationships/{id}/terms", WHO_PERSON,
	  api_me_terms_rel_get, "me_relationship_terms" },
	{ "PUT", "/v1/me/relationships/{id}/terms", WHO_PERSON,
	  api_me_terms_rel_put, "me_relationship_terms" },
	{ "PATCH", "/v1/me/relationships/{id}/terms", WHO_PERSON,
	  api_me_terms_rel_patch, "me_relationship_terms" },
	{ "POST", "/v1/me/relationships/{id}/mute", WHO_PERSON,
	  api_me_relationship_mute, "me_relationship_mute" },
	{ "POST", "/v1/me/relationships/{id}/unmute", WHO_PERSON,
	  api_me_relationship_unmute, "me_relationship_unmute" },
	{ "POST", "/v1/me/relationships/{id}/end", WHO_PERSON,
	  api_me_relationship_end, "me_relationship_end" },
	{ "GET", "/v1/me/relationships/{id}/receipts", WHO_PERSON,
	  api_me_receipts, "me_relationship_receipts" },
	{ "GET", "/v1/me/messages", WHO_PERSON, api_me_messages_list,
	  "me_messages" },
	{ "POST", "/v1/me/messages/{id}/reply", WHO_PERSON,
	  api_me_message_reply, "me_message_reply" },
	{ "GET", "/v1/me/messages/{id}", WHO_PERSON, api_me_message_get,
	  "me_message" },
	{ "GET", "/v1/me/messages/{id}/html", WHO_PERSON, api_me_message_html,
	  "me_message_html" },
	{ "PATCH", "/v1/me/messages/{id}", WHO_PERSON, api_me_message_patch,
	  "me_message" },
	{ "DELETE", "/v1/me/messages/{id}", WHO_PERSON, api_me_message_delete,
	  "me_message" },
	{ "POST", "/v1/me/folders/{id}/empty", WHO_PERSON, api_me_folder_empty,
	  "me_folder_empty" },
	{ "POST", "/v1/me/messages/{id}/release", WHO_PERSON,
	  api_me_message_release, "me_message_release" },
	{ "POST", "/v1/me/messages/{id}/discard", WHO_PERSON,
	  api_me_message_discard, "me_message_discard" },
	{ "PUT", "/v1/me/password", WHO_PERSON, api_me_password_put,
	  "me_password" },
	{ "POST", "/v1/me/export", WHO_PERSON, api_me_export, "me_export" },
	{ "DELETE", "/v1/me", WHO_PERSON, api_me_erase, "me" },
	{ "GET", "/v1/me/ledger", WHO_PERSON, api_me_ledger_list, "me_ledger" },
	{ "GET", "/v1/me/ledger/head", WHO_PERSON, api_me_ledger_head,
	  "me_ledger_head" },
	{ "GET", "/v1/me/ledger/verify", WHO_PERSON, api_me_ledger_verify,
	  "me_ledger_verify" },
	{ "POST", "/v1/proposals", WHO_BRAND, api_proposals_create,
	  "proposals" },
	{ "GET", "/v1/proposals/{id}", WHO_BRAND, api_proposals_get,
	  "proposal" },
	{ "GET", "/v1/relationships", WHO_BRAND, api_relationships_list,
	  "relationships" },
	{ "GET", "/v1/relationships/{id}", WHO_BRAND, api_relationships_get,
	  "relationship" },
	{ "POST", "/v1/messages", WHO_BRAND, api_messages_create, "messages" },
	{ "POST", "/v1/campaigns", WHO_BRAND, api_campaigns_create,
	  "campaigns" },
	{ "GET", "/v1/messages/{id}", WHO_BRAND, api_messages_get, "message" },
	{ "GET", "/v1/campaigns/{id}", WHO_BRAND, api_campaigns_get,
	  "campaign" },
	{ "GET", "/v1/campaigns/{id}/recipients", WHO_BRAND,
	  api_campaigns_recipients, "campaign_recipients" },
};

const size_t http_routes_count = sizeof(http_routes) / sizeof(*http_routes);

/* Matches path against pattern, copying {id} segments into r. */
static bool route_match(const char *pattern, const char *path,
			struct http_request *r)
{
	int n = 0;
	while (*pattern && *path) {
		if (strncmp(pattern, "{id}", 4) == 0) {
			const char *end = strchr(path, '/');
			size_t len = end ? (size_t)(end - path) : strlen(path);
			if (len == 0 || len >= sizeof(r->param_buf[0]) ||
			    n >= HTTP_PARAMS_MAX)
				return false;
			memcpy(r->param_buf[n], path, len);
			r->param_buf[n][len] = '\0';
			r->params[n] = r->param_buf[n];
			n++;
			pattern += 4;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

const struct http_route *http_route_find(struct http_request *r,
					 bool *method_ok)
{
	*method_ok = false;
	for (size_t i = 0; i < http_routes_count; i++) {
		const struct http_route *rt = &http_routes[i];
		if (!route_match(rt->pattern, r->path, r))
			continue;
		if (strcmp(rt->method, r->method) == 0 ||
		    (strcmp(rt->method, "GET") == 0 &&
		     strcmp(r->method, "HEAD") == 0))
			return rt;
		*method_ok = true;
	}
	return NULL;
}

void http_route_methods(struct http_request *r, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < http_routes_count; i++) {
		const struct http_route *rt = &http_routes[i];
		if (!route_match(rt->pattern, r->path, r) ||
		    strstr(out, rt->method))
			continue;
		int w = snprintf(out + n, size - n, "%s%s", n ? ", " : "",
				 rt->method);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}
