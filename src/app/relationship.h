/*
 * relationship.h — proposals and relationships: a brand proposes, the
 * person accepts on their own terms (never more than asked), and the
 * relationship gets its alias. Each consent event goes on the ledger in
 * the same transaction as the change it records.
 */
#ifndef CMR_APP_RELATIONSHIP_H
#define CMR_APP_RELATIONSHIP_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"
#include "core/terms.h"

struct store_relationship;
struct store_proposal;

#define PROPOSAL_VALUE_MAX 500
#define PROPOSAL_TTL	   (30 * 86400) /* a pending proposal lasts 30 days */

/* The relationship `id` when it is the caller's (app_owns): APP_OK and
 * *out (cleared by the caller); APP_NOT_FOUND — the same answer whether
 * it does not exist or is another's — or APP_FAULT, with err set. */
enum app_status relationship_of(struct app *a, struct app_caller who,
				uint64_t id, struct store_relationship *out,
				struct app_error *err);

/* The same for a proposal. */
enum app_status proposal_of(struct app *a, struct app_caller who, uint64_t id,
			    struct store_proposal *out, struct app_error *err);

/* ---- Views (the JSON each side reads) ---- */

/* A page of the caller's relationships with ids > after (at most limit),
 * appended to items: a brand's trimmed view (app/view.h), or the person's
 * whole one. */
enum app_status relationship_page(struct app *a, struct app_caller who,
				  uint64_t after, int limit, json_t *items,
				  struct app_error *err);

/* The person's view of their relationship (terms_only: its terms). */
enum app_status relationship_person_view(struct app *a, uint64_t person,
					 uint64_t id, bool terms_only,
					 json_t **out, struct app_error *err);

/* The answer to an accept: {"id", "alias", "state", "made_by", "terms"}. */
enum app_status relationship_accepted_view(struct app *a, uint64_t person,
					   uint64_t id, json_t **out,
					   struct app_error *err);

/* A proposal as its brand follows it, or (who is a person) as the
 * person's page shows it; APP_NOT_FOUND when it is not the caller's. */
enum app_status proposal_view(struct app *a, struct app_caller who, uint64_t id,
			      json_t **out, struct app_error *err);

/* A page of the person's proposals with ids > after, each with its brand
 * (view_brand_card: name, domains, policy URL, contact) and the value it
 * offers. */
enum app_status proposal_page(struct app *a, uint64_t person, uint64_t after,
			      int limit, json_t *items, struct app_error *err);

/* A brand proposes to a person: `proposal` is the request body (value,
 * channels, topics, fields, and connect_code unless `person` is given —
 * the demo and tests name the person directly). *id gets the proposal.
 * Errors name the field; a terms error's kind decides 400 vs 422
 * (err_kind); an unknown, used or expired code is APP_NOT_FOUND. A brand
 * that has a relationship with the person that has not ended, or a
 * proposal to them still pending, gets APP_CONFLICT, and nothing is
 * recorded (the connect code stays unused). */
enum app_status proposal_create(struct app *a, uint64_t brand, uint64_t person,
				const json_t *proposal, uint64_t *id,
				int *err_kind, struct app_error *err);

/* The same, split (see struct app_write): *id is set by the finish. */
enum app_status proposal_create_begin(struct app *a, uint64_t brand,
				      uint64_t person, const json_t *proposal,
				      uint64_t *id, int *err_kind,
				      struct app_write *w,
				      struct app_error *err);

/* The person declines a pending proposal of theirs. */
enum app_status proposal_decline(struct app *a, uint64_t person,
				 uint64_t proposal, struct app_error *err);
enum app_status proposal_decline_begin(struct app *a, uint64_t person,
				       uint64_t proposal, struct app_write *w,
				       struct app_error *err);

/* The state a proposal shows now: "expired" once a pending one is past
 * its expiry, else its stored state. */
const char *proposal_state(const struct store_proposal *p, int64_t now);

struct accepted {
	uint64_t relationship;
	char alias[160];
};

/* The person accepts a pending proposal of theirs with a terms object
 * (omitted topics: those asked). APP_NOT_FOUND when the proposal is not
 * theirs, APP_CONFLICT when it is no longer pending or a relationship
 * with the brand is open; APP_INVALID with *err_kind for bad terms. */
enum app_status proposal_accept(struct app *a, uint64_t person,
				uint64_t proposal, const json_t *terms,
				struct accepted *out, int *err_kind,
				struct app_error *err);
/* The same, split (see struct app_write); *out is filled by the finish,
 * so it must live until then. */
enum app_status proposal_accept_begin(struct app *a, uint64_t person,
				      uint64_t proposal, const json_t *terms,
				      struct accepted *out, int *err_kind,
				      struct app_write *w,
				      struct app_error *err);

enum rel_change { REL_MUTE, REL_UNMUTE, REL_END };

/* The person mutes, unmutes or ends a relationship of theirs.
 * APP_NOT_FOUND when it is not theirs; APP_CONFLICT once ended. Each is an
 * entry on the person's ledger: relationship.ended (a consent event, with
 * its receipt), relationship.muted and relationship.unmuted (the person's
 * own record: no receipt, and no brand ever sees or is told of it; muting
 * a muted relationship again records nothing). */
enum app_status relationship_change(struct app *a, uint64_t person,
				    uint64_t rel, enum rel_change change,
				    struct app_error *err);
/* The same, split (see struct app_write). */
enum app_status relationship_change_begin(struct app *a, uint64_t person,
					  uint64_t rel, enum rel_change change,
					  struct app_write *w,
					  struct app_error *err);

/* The person replaces a relationship's terms (never more than the
 * proposal asked): a new terms version and a terms.changed entry. As on
 * accept, an omitted "topics" means the topics the proposal asked for. */
enum app_status relationship_put_terms(struct app *a, uint64_t person,
				       uint64_t rel, const json_t *terms,
				       int *err_kind, struct app_error *err);
enum app_status relationship_put_terms_begin(struct app *a, uint64_t person,
					     uint64_t rel, const json_t *terms,
					     int *err_kind, struct app_write *w,
					     struct app_error *err);

/* A JSON Merge Patch (RFC 7396) of a relationship's stored terms, split:
 * the merged object is validated exactly as a replacement is, so a patch
 * that makes invalid terms writes nothing. APP_CONFLICT also when the
 * terms changed between the read and the write (nothing written). */
enum app_status
relationship_patch_terms_begin(struct app *a, uint64_t person, uint64_t rel,
			       const json_t *patch, int *err_kind,
			       struct app_write *w, struct app_error *err);

/* Builds a new alias for a relationship with `brand_name`:
 * "<slug>.<16 random base32>@<alias domain>". */
void relationship_alias(const struct app *a, const char *brand_name, char *out,
			size_t size);

#endif
