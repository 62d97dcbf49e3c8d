/*
 * account.h — the whole account: export (everything the person has here,
 * as one JSON document) and erasure (the data key destroyed: ledger/keys.h).
 * Both need the password again.
 */
#ifndef CMR_APP_ACCOUNT_H
#define CMR_APP_ACCOUNT_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"

/* A new JSON object with the person's profile, global terms,
 * relationships (with terms), proposals, every attempt, and the ledger
 * with its signed head. APP_NOT_FOUND for a wrong password (the door
 * answers 403). */
enum app_status account_export(struct app *a, uint64_t person,
			       const char *password, json_t **out,
			       struct app_error *err);

/* Erases the person: the wrapped data key is destroyed (so every sealed
 * value is gone for good), profile, messages, tokens and codes are
 * deleted, every alias becomes a keyed-hash tombstone (never reused) and
 * its relationship ends, an `erasure` entry closes the ledger (whose
 * hashes stay and still verify), and the WAL is checkpointed and
 * truncated so no old page survives. */
enum app_status account_erase(struct app *a, uint64_t person,
			      const char *password, struct app_error *err);

/* account_erase, split (see struct app_write); argon2id here, so call it
 * off the event threads. */
enum app_status account_erase_begin(struct app *a, uint64_t person,
				    const char *password, struct app_write *w,
				    struct app_error *err);

#endif
