/*
 * takeover.h — a brand that joins cmr takes over a relationship the person
 * made for it while it was not on cmr: the person accepts the brand's
 * proposal naming that relationship ("takes_over": "rel_…"), and the
 * relationship gets the brand and the proposal while its alias, id,
 * history, attempts and ledger stay. For app/ only: it takes a store row.
 */
#ifndef CMR_APP_TAKEOVER_H
#define CMR_APP_TAKEOVER_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"
#include "app/relationship.h"
#include "core/terms.h"
#include "store/store.h"

/* The accept of proposal (of brand b, asking `ask`) by person, taking over
 * the relationship named by takes_over (the request's value, borrowed)
 * with `terms` (the request's terms, takes_over left out). Checks, then
 * drafts one writer job (see struct app_write; *out is filled by the
 * finish):
 * - takes_over not a relationship id: APP_INVALID, *err_kind
 *   TERMS_ERR_TYPE (400);
 * - not the person's, or none such: APP_NOT_FOUND (the same answer);
 * - made from a brand's proposal, or whose domains are not the brand's
 *   (every domain the person named must have the organizational domain
 *   of one of b's): APP_INVALID naming takes_over, in words (422);
 * - taken over already, or ended: APP_CONFLICT;
 * - bad terms: APP_INVALID with *err_kind, as an accept.
 * The job accepts the proposal with that relationship, gives the row the
 * brand and proposal (store_relationship_take_over), the new terms as the
 * next version (the topic table keeps its topics and appends the asked
 * ones), records relationship.accepted with the grant, "takes_over" and
 * the brand, and has the gate forget the relationship and its held
 * messages decided again. */
enum app_status takeover_begin(struct app *a, uint64_t person,
			       uint64_t proposal, const struct store_brand *b,
			       const struct terms_ask *ask,
			       const json_t *takes_over, const json_t *terms,
			       struct accepted *out, int *err_kind,
			       struct app_write *w, struct app_error *err);

#endif
