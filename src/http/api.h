/*
 * api.h — the handlers of the route table, one api_<resource>.c each:
 * parse the request, call src/app, reply. Nothing here decides anything
 * the app does not.
 */
#ifndef CMR_HTTP_API_H
#define CMR_HTTP_API_H

#include "http/http.h"

/* api_health.c */
void api_healthz(struct http_request *r);
void api_readyz(struct http_request *r);

/* api_openapi.c */
void api_openapi(struct http_request *r);
void api_vocabulary(struct http_request *r);
/* The IRI of cmr's own DPV terms as this server publishes them (GET
 * /ns/cmr, on the host the request named), into out. */
void api_namespace(struct http_request *r, char *out, size_t size);

/* api_session.c */
void api_persons_create(struct http_request *r);
void api_session_create(struct http_request *r);
void api_session_delete(struct http_request *r);
void api_tokens_create(struct http_request *r);
void api_tokens_delete(struct http_request *r);
void api_me_sessions_list(struct http_request *r);
void api_me_sessions_delete(struct http_request *r);

/* api_me.c */
void api_me_profile_get(struct http_request *r);
void api_me_profile_put(struct http_request *r);
void api_me_profile_patch(struct http_request *r);
void api_me_terms_get(struct http_request *r);
void api_me_terms_put(struct http_request *r);
void api_me_terms_patch(struct http_request *r);
void api_me_codes_create(struct http_request *r);

/* api_proposals.c */
void api_proposals_create(struct http_request *r);
void api_proposals_get(struct http_request *r);
void api_me_proposals_list(struct http_request *r);
void api_me_proposals_get(struct http_request *r);
void api_me_proposals_accept(struct http_request *r);
void api_me_proposals_decline(struct http_request *r);

/* api_relationships.c */
void api_relationships_list(struct http_request *r);
void api_relationships_get(struct http_request *r);
void api_me_relationships_list(struct http_request *r);
void api_me_relationships_create(struct http_request *r);
void api_me_relationship_get(struct http_request *r);
void api_me_terms_rel_get(struct http_request *r);
void api_me_terms_rel_put(struct http_request *r);
void api_me_terms_rel_patch(struct http_request *r);
void api_me_relationship_mute(struct http_request *r);
void api_me_relationship_unmute(struct http_request *r);
void api_me_relationship_end(struct http_request *r);
void api_me_receipts(struct http_request *r);

/* api_inbox.c */
void api_me_message_patch(struct http_request *r);
void api_me_message_get(struct http_request *r);
void api_me_message_reply(struct http_request *r);
void api_me_message_html(struct http_request *r);
void api_me_message_delete(struct http_request *r);
void api_me_folder_empty(struct http_request *r);
void api_me_message_release(struct http_request *r);
void api_me_message_discard(struct http_request *r);
void api_me_password_put(struct http_request *r);
void api_me_export(struct http_request *r);
void api_me_delivery_get(struct http_request *r);
void api_me_delivery_put(struct http_request *r);
void api_me_delivery_patch(struct http_request *r);
void api_me_delivery_verify(struct http_request *r);
void api_me_erase(struct http_request *r);

/* api_ledger.c */
void api_me_ledger_list(struct http_request *r);
/* GET /.well-known/jwks.json: the server's public signing keys. */
void api_jwks(struct http_request *r);
void api_me_ledger_head(struct http_request *r);
void api_me_ledger_verify(struct http_request *r);

/* api_messages.c */
void api_messages_create(struct http_request *r);
void api_me_messages_list(struct http_request *r);
void api_campaigns_create(struct http_request *r);
/* The brand's reading of its messages and campaigns (app/message.h,
 * app/campaign.h): accepted or refused, never when. */
void api_messages_get(struct http_request *r);
void api_campaigns_get(struct http_request *r);
void api_campaigns_recipients(struct http_request *r);

/* Shared by the handlers: the page size of ?limit= (1..200, default 50),
 * or -1 after replying 400. */
int api_limit(struct http_request *r);

/* The ?after= cursor: an id of `type` (enum id_type) from a previous
 * page, 0 without one. False after replying 400. */
bool api_after(struct http_request *r, int type, uint64_t *after);

/* Idempotency-Key (brand writes): reads the header and hashes the request
 * into hash. Returns true when it has replied — a replay of the stored
 * answer, or a 400/422 — and false to go on (key is "" without one). */
bool api_idem_begin(struct http_request *r, char *key, size_t size,
		    uint8_t hash[32]);
/* Replies with the stored answer of key, when there is one. */
bool api_idem_replay(struct http_request *r, const char *key,
		     const uint8_t hash[32]);

/* For actions that take no fields: an empty body or {} goes on; any key
 * is a 400 (unknown field), any other body a 400. False after replying. */
bool api_no_fields(struct http_request *r);

/* Replies with a page that an app read function filled: `items` (owned
 * from here on) holds up to limit + 1 items, as asked; the extra one is
 * cut and "next" is the last item's id when there is more. With rc not
 * APP_OK it replies with err instead. */
void api_page_reply(struct http_request *r, int limit, json_t *items,
		    enum app_status rc, const struct app_error *err);

/* Replies 429 with Retry-After: retry_after seconds (at least 1) and
 * err's sentence — a throttled password check or code. */
void api_throttled(struct http_request *r, int64_t retry_after,
		   const struct app_error *err);

/* The {id} of the path as a key of type (enum id_type), or false after
 * replying 400 when it is not an id of that type. A well-formed id
 * that is unknown or not the caller's is the handler's 404. */
bool api_id(struct http_request *r, int index, int type, uint64_t *key);

/* The same for an id s given in field `field` (of the body or query;
 * NULL: the path): false after replying 400 when s is not such an id. */
bool api_id_parse(struct http_request *r, const char *field, const char *s,
		  int type, uint64_t *key);

/* The query parameters a route's handler reads (NULL-terminated; empty
 * for most). */
const char *const *api_query_names(http_handler handler);

/* Refuses (400) a query parameter the route's handler does not read, or
 * one given twice: the server calls it before every handler. False after
 * replying. */
bool api_query_check(struct http_request *r);

#endif
