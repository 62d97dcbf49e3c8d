/*
 * person_made.h — relationships a person makes themselves, with a brand
 * that is not on cmr: a name and the domains it mails from, terms as for
 * any relationship (email only), and an alias at once, to type into that
 * shop's sign-up form. Its mail goes through the same gate; row 2 checks
 * the sender against the domains the person named (app/intake.c).
 */
#ifndef CMR_APP_PERSON_MADE_H
#define CMR_APP_PERSON_MADE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/relationship.h"
#include "core/terms.h"

#define PERSON_MADE_NAME_MAX	100 /* characters of the brand's name */
#define PERSON_MADE_DOMAINS_MAX 10

/* The topics of mail from a brand not on cmr that names none with
 * CMR-Topic: "bulk" (List-Unsubscribe, List-Id, Precedence bulk or list),
 * else "direct". */
#define TOPIC_BULK   "bulk"
#define TOPIC_DIRECT "direct"

/* What a person-made relationship's terms are held to: email only, every
 * topic (its table starting with bulk and direct), no fields — there is
 * no brand on cmr to read them. */
void person_made_ask(struct terms_ask *ask);

/* The person makes a relationship from a request body
 * {"brand": {"name", "domains": […]}, "terms": {…}} (terms omitted: the
 * person's default for person-made relationships). Split (see struct
 * app_write): *out is filled by the finish. APP_INVALID names the field,
 * with *err_kind for a terms error (TERMS_ERR_*). */
enum app_status person_made_create_begin(struct app *a, uint64_t person,
					 const json_t *body,
					 struct accepted *out, int *err_kind,
					 struct app_write *w,
					 struct app_error *err);

/* The terms a person-made relationship takes when the request names none
 * (a new reference): the person's own default from their global terms
 * when set, else email allowed, every topic, the inbox. NULL: a fault. */
json_t *person_made_default_terms(struct app *a, uint64_t person);

/* Whether a sender whose From domain is from_domain (organizational
 * domain from_org, "" when none) is the brand of a person-made
 * relationship whose domains are the JSON array `domains`: the same
 * domain, or the same organizational domain. */
bool person_made_sender_is(const char *domains, const char *from_domain,
			   const char *from_org);

#endif
