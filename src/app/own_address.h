/*
 * own_address.h — a person's one address of their own at the relay
 * (GET/PUT/DELETE /v1/me/address), off by default: `<local part>@<alias
 * domain>`, with a local part they choose, for mail from senders with no
 * relationship ("strangers"), which lands in Later or is refused, as they
 * choose; the sender domains they blocked are refused uniformly. From a
 * stranger's message the person keeps the sender (a person-made
 * relationship, app/person_made.h) or blocks its domain, in one step.
 *
 * The address lives in the alias directory (no relationship), so aliases,
 * reply addresses and own addresses never collide and none is ever given
 * to another person; intake finds it after the aliases (app/intake.c),
 * and mail from the brand of one of the person's relationships is filed
 * by that relationship's terms.
 */
#ifndef CMR_APP_OWN_ADDRESS_H
#define CMR_APP_OWN_ADDRESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "app/relationship.h"
#include "base/domain.h"

#define OWN_LOCAL_MAX	     64 /* characters of a local part */
#define OWN_BLOCKED_MAX	     200
#define OWN_STRANGERS_LATER  0
#define OWN_STRANGERS_REFUSE 1

/* An address as intake looks it up: lower case into out (size bytes);
 * false when it does not fit. */
bool own_address_normal(const char *rcpt, char *out, size_t size);

/* Whether the JSON array of blocked domains holds the sender's domain
 * (from_domain) or its organizational domain (from_org, "" for none). */
bool own_address_blocks(const char *blocked, const char *from_domain,
			const char *from_org);

/* The sender of a stranger's message from its header block: the From
 * domain (domain), its organizational domain (org), its display name as
 * one line of at most PERSON_MADE_NAME_MAX characters ("" for none) in
 * name. APP_CONFLICT when it names no such domain; APP_FAULT. */
enum app_status own_address_sender(const char *headers, size_t len,
				   char org[DOMAIN_MAX],
				   char domain[DOMAIN_MAX], char *name,
				   size_t name_size);

/* Whether a local part may be a person's own address: 1..64 of
 * [a-z0-9._-] (lower case; upper case is lowered into out), no dot at
 * either end or twice in a row, and none of what the alias domain uses
 * otherwise (an alias's shape, a reply address "r.…", cmr's bounces,
 * RFC 2142's role names). APP_INVALID with the reason in err (field
 * "local_part"). The person's handle is checked by the use case. */
enum app_status own_address_local_part(const char *in, char out[65],
				       struct app_error *err);

/* The person's own address: {"address", "local_part", "strangers":
 * "later"|"refuse", "blocked": [domains]} in *out; APP_NOT_FOUND when
 * they have none (it is off). */
enum app_status own_address_get(struct app *a, uint64_t person, json_t **out,
				struct app_error *err);

/* Sets it from {"local_part", "strangers"} (strangers omitted: "later";
 * the blocked domains stay), split (struct app_write); the finish puts
 * the view in *out. APP_INVALID for a bad local part or the person's
 * handle, with *err_kind TERMS_ERR_TYPE for the body's shape (a missing
 * or non-string local part, an unknown key), TERMS_ERR_VALUE else; APP_CONFLICT
 * when the address was ever another's, or is in use by the alias domain (never
 * saying whose). An address.changed ledger entry. */
enum app_status own_address_put_begin(struct app *a, uint64_t person,
				      const json_t *body, json_t **out,
				      int *err_kind, struct app_write *w,
				      struct app_error *err);

/* Turns it off (the address stays the person's, never another's).
 * APP_NOT_FOUND when there is none. */
enum app_status own_address_delete_begin(struct app *a, uint64_t person,
					 struct app_write *w,
					 struct app_error *err);

/* Blocks the organizational domain of the sender of stranger message
 * `message`, or lifts a block (domain), split; the finish puts the view
 * in *out. APP_NOT_FOUND: not the person's message, not a stranger's, or
 * (lifting) a domain not blocked; APP_CONFLICT: no own address, already
 * blocked, or the sender has no domain kept. A sender.blocked or
 * sender.unblocked ledger entry. */
enum app_status own_address_block_begin(struct app *a, uint64_t person,
					uint64_t message, json_t **out,
					struct app_write *w,
					struct app_error *err);
enum app_status own_address_unblock_begin(struct app *a, uint64_t person,
					  const char *domain, json_t **out,
					  struct app_write *w,
					  struct app_error *err);

/* Keeps the sender of stranger message `message`: a person-made
 * relationship named by the From display name (else its organizational
 * domain), for [its organizational domain], with the person's default
 * terms (person_made_create_begin; *out filled by the finish). The
 * message stays where it is. APP_NOT_FOUND as for a block; APP_CONFLICT
 * when a relationship of the person not ended is already that sender's,
 * or the sender has no domain kept. */
enum app_status own_address_keep_begin(struct app *a, uint64_t person,
				       uint64_t message, struct accepted *out,
				       int *err_kind, struct app_write *w,
				       struct app_error *err);

#endif
