/*
 * brand.h — brands: registration with their domains and the controller
 * details that receipts name (app/receipt.h, `cmr brand add`), API keys (256
 * random bits, stored as BLAKE2b-256 hashes, compared in constant time),
 * rotation.
 */
#ifndef CMR_APP_BRAND_H
#define CMR_APP_BRAND_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"

#define BRAND_KEY_SIZE	  80 /* "cmrk_" + 16 + "_" + 43 + NUL, rounded up */
#define BRAND_MAX_DOMAINS 16

/* The controller details of a brand (all optional but the name). */
struct brand_controller {
	const char *contact, *email, *phone, *address, *url, *policy_url,
		*jurisdiction;
};

/* Registers a brand: name 1..128 printable characters, 1..16 domains
 * (lower-cased, DNS syntax, not owned by another brand). *id gets its key
 * and key (BRAND_KEY_SIZE) its API key, shown this once. APP_INVALID,
 * APP_CONFLICT (name or a domain taken) or APP_FAULT with err. */
enum app_status brand_add(struct app *a, const char *name,
			  const char *const *domains, int n_domains,
			  const struct brand_controller *c, uint64_t *id,
			  char *key, struct app_error *err);

/* Replaces the brand's key; the old one stops working at once. */
enum app_status brand_key_rotate(struct app *a, uint64_t id, char *key,
				 struct app_error *err);

/* The brand a presented API key belongs to: APP_OK and *id, or
 * APP_NOT_FOUND for any key that is not a current brand key (the
 * comparison of hashes is constant-time). */
enum app_status brand_authenticate(struct app *a, const char *key,
				   uint64_t *id);

#endif
