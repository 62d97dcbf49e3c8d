/*
 * connect.h — connect codes: the one-time code a person hands a brand so
 * that the brand can send a proposal (POST /v1/proposals,
 * src/http/openapi.json). 12 Crockford base32 characters (60 bits) shown as
 * XXXX-XXXX-XXXX, valid 15 minutes, single use; only a hash is stored. Unknown,
 * used and expired codes all get the same answer, and a brand's failures are
 * throttled.
 */
#ifndef CMR_APP_CONNECT_H
#define CMR_APP_CONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"

#define CONNECT_CODE_TTL  (15 * 60)
#define CONNECT_CODE_SIZE 15 /* "K7QX-2M9P-4HZA" + NUL */

/* The write job that makes a code for person. */
struct connect_job {
	uint64_t person;
	char code[CONNECT_CODE_SIZE]; /* out */
	int64_t expires_at;	      /* out */
	uint8_t hash[32];
	char *qr_svg; /* out (owned): the code as printed, as a QR code in
			 SVG (base/qr.h) */
};
/* Draws the code, its expiry and its QR code into j. False when out of
 * memory (j->qr_svg is then NULL); connect_job_free releases j either
 * way. */
bool connect_job_prepare(struct connect_job *j, int64_t now);
int connect_job_run(struct app_tx *t, void *arg);
/* Frees j (from calloc) and what it owns. */
void connect_job_free(void *j);

/* Normalises a code as given (case, dashes, spaces, look-alikes) and
 * hashes it. False when it cannot be a code. */
bool connect_code_hash(const char *code, uint8_t hash[32]);

#endif
