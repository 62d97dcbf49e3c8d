/*
 * ledger.h — appending to a person's ledger inside a write job, reading it
 * back as chain entries, signing heads, and verifying every chain and head
 * of the store (`cmr ledger verify`).
 */
#ifndef CMR_APP_LEDGER_H
#define CMR_APP_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "app/app.h"

/* Appends one entry to person's chain, inside the caller's write job:
 * reads the head in the same transaction, links, hashes, stores. `data`
 * is borrowed (a JSON object in the JCS subset; personal values in it
 * must already be sealed); `relationship` is a key or 0 for null.
 * Returns a store status. */
int ledger_append(struct store_tx *tx, uint64_t person, const char *actor,
		  const char *type, uint64_t relationship, json_t *data,
		  int64_t at_ms);

/* The entry `data` of a change to the person's own settings: for every
 * top-level key whose value differs between the objects `before` and
 * `after` (borrowed), its name in "changed" (sorted), and the new values
 * of those keys ({key: value}, a removed key as null) sealed with the
 * person's data key in "sealed" (base64url, keys_seal over the compact
 * JSON), so that the chain says what changed and only the person can read
 * to what. Inside a write job; a new object the caller owns, with
 * *unchanged set (and NULL returned) when nothing differs, or NULL on a
 * fault. */
json_t *ledger_settings_data_tx(struct app_tx *t, uint64_t person,
				const json_t *before, const json_t *after,
				bool *unchanged);

/* A copy of the entry `data` (a JSON object, borrowed) whose member `key`
 * holds instead {"sealed": …}: its value sealed with the person's data
 * key (base64url, keys_seal over its compact JSON, keys sorted), so that
 * the chain keeps that the person named something there and only the
 * person can read what (a brand they named, a domain they blocked: the
 * entry outlives erasure, the key does not). Inside a write job; a new
 * object the caller owns, or NULL on a fault. */
json_t *ledger_sealed_data_tx(struct app_tx *t, uint64_t person,
			      const json_t *data, const char *key);

/* Appends the person's entries with seq > after (at most limit) to
 * items, each as it was hashed plus its "prev" and "hash", so that anyone
 * can recompute the chain; *last gets the seq of the last one. */
enum app_status ledger_page(struct app *a, uint64_t person, int64_t after,
			    int limit, json_t *items, int64_t *last,
			    struct app_error *err);

/* The signed head of person's chain as a C2SP signed note (a new string
 * the caller frees), and records it as the person's latest head. */
enum app_status ledger_sign_head(struct app *a, uint64_t person, char **note);
/* The signed head as a note (a new string), without recording it. */
enum app_status ledger_head_note(struct app *a, uint64_t person, char **note);

/* The same, split (see struct app_write): *note is set by the finish. */
enum app_status ledger_sign_head_begin(struct app *a, uint64_t person,
				       char **note, struct app_write *w);

/* Verifies person's own chain and latest signed head, as `cmr ledger
 * verify` does for every person. *out (new, the caller's) is
 * {"verified": bool, "entries": N, "head": {"note": the signed note of
 * the verified chain's last entry as GET /v1/me/ledger/head gives it
 * (signed now, not recorded), "seq", "hash" (lowercase hex), "key_id":
 * the id of the signing key, as in the JWK Set} or null when the chain
 * does not verify, "problem": null or where the chain breaks}. Reads
 * only that person's rows. */
enum app_status ledger_verify_person(struct app *a, uint64_t person,
				     json_t **out, struct app_error *err);

/* Verifies every person's chain and latest signed head. Writes one line
 * per broken chain to out (naming the person and the first broken entry)
 * and a summary. Returns 0 when all hold, 1 when one is broken, -1 on a
 * fault. */
int ledger_verify_all(struct app *a, FILE *out, int *persons, int64_t *entries);

#endif
