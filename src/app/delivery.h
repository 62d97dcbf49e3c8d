/*
 * delivery.h — a person's delivery settings (GET/PUT /v1/me/delivery):
 * where delivered messages go besides the store, which is always their
 * home:
 *   - "maildir": an export to <--maildir-root>/<per_id>/ (Maildir++);
 *   - "webhook": {"url"}: an HTTPS POST of each delivered message, signed
 *     with HMAC-SHA256 under a secret cmr makes and shows once;
 *   - "forward": {"address"}: each delivered message, as it came, to an
 *     address the person proved to hold (a code sent there, given back
 *     with POST /v1/me/delivery/verify), through --smarthost.
 * The webhook and the forward address are sealed with the person's data
 * key. Changing the settings needs the password again and is a
 * `delivery.changed` ledger entry; turning the Maildir on exports what is
 * already delivered. The adapters run in src/mail/delivery.c, off the
 * outbox.
 */
#ifndef CMR_APP_DELIVERY_H
#define CMR_APP_DELIVERY_H

#include <jansson.h>

#include "app/app.h"

#define DELIVERY_SECRET_MAX   64 /* "whsec_" and 43 base64url characters */
#define DELIVERY_CODE_LEN     9	 /* "XXXX-XXXX": 40 bits */
#define DELIVERY_CODE_SECONDS (24 * 3600)
#define DELIVERY_CODE_TRIES   5 /* wrong codes before a new one is needed */
#define DELIVERY_CODES_A_DAY  5 /* codes sent to new addresses a day */
#define DELIVERY_ADDRESS_MAX  254

/* {"maildir": bool, "webhook": {"url"} | null,
 *  "forward": {"address", "verified"} | null,
 *  "available": {"maildir": bool, "webhook": true, "forward": bool},
 *  "outbox": {"pending": n, "failing": n, "last_error": str|null}} */
enum app_status delivery_get(struct app *a, uint64_t person, json_t **out,
			     struct app_error *err);

/* Checks the password (argon2id: call it off the event loop) and the
 * settings (every key but "password"; an omitted one is off), and fills
 * the write. A new webhook URL gets a new secret, written to new_secret
 * (else ""), to be shown once; a new forward address gets a code, sent
 * there. APP_NOT_FOUND with field "password" for a wrong password;
 * APP_INVALID with *type_error set for a wrong shape. */
enum app_status delivery_set_begin(struct app *a, uint64_t person,
				   const char *password, const json_t *settings,
				   bool *type_error,
				   char new_secret[DELIVERY_SECRET_MAX],
				   struct app_write *w, struct app_error *err);

/* PATCH /v1/me/delivery: a JSON Merge Patch (RFC 7396) of the settings
 * in the shape delivery_set_begin takes (a "password" member is the
 * password, not a setting), merged onto the current ones and then handed
 * to delivery_set_begin as they are: what the patch leaves out stays as
 * it is. The same outcomes as delivery_set_begin. (delivery_patch.c) */
enum app_status delivery_patch_begin(struct app *a, uint64_t person,
				     const char *password, const json_t *patch,
				     bool *type_error,
				     char new_secret[DELIVERY_SECRET_MAX],
				     struct app_write *w,
				     struct app_error *err);

/* The code sent to the forward address, given back: APP_OK (forwarding
 * starts), APP_INVALID (wrong — counted —, expired, or too many tries),
 * APP_CONFLICT (nothing waits for a code). */
enum app_status delivery_verify_begin(struct app *a, uint64_t person,
				      const char *code, struct app_write *w,
				      struct app_error *err);

/* A forward to the person bounced (the bounce came back to cmr's
 * envelope sender, which names the person): counted in the settings, in
 * the current write job, for GET /v1/me/delivery to show. */
int delivery_bounced_tx(struct app_tx *t, uint64_t person, int64_t now);

/* For the adapters, unsealed: the webhook (APP_OK with url and secret,
 * malloc'd; APP_NOT_FOUND when there is none; APP_FAULT) and the forward
 * address (APP_OK with address, *verified and, while unverified, the
 * code; APP_NOT_FOUND; APP_FAULT). */
enum app_status delivery_webhook(struct app *a, uint64_t person, char **url,
				 char **secret);
enum app_status delivery_forward(struct app *a, uint64_t person,
				 char address[DELIVERY_ADDRESS_MAX + 1],
				 bool *verified,
				 char code[DELIVERY_CODE_LEN + 1]);

#endif
