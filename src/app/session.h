/*
 * session.h — how a person proves who they are: log-in with handle and
 * password (argon2id; unknown handles cost the same time; failures
 * throttled per handle and client address), and the credentials a log-in
 * yields — bearer tokens for scripts (90 days, revocable) and browser
 * sessions (idle and absolute expiry).
 *
 * A credential reads "cmrt_<16>_<43>" (token) or "cmrs_<16>_<43>"
 * (session): the middle part encodes the row's key, the rest is 256
 * random bits; only BLAKE2b-256 of the whole string is stored and hashes
 * are compared in constant time.
 */
#ifndef CMR_APP_SESSION_H
#define CMR_APP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"

#define SESSION_CREDENTIAL_SIZE 72
#define TOKEN_TTL		(90 * 86400) /* bearer tokens: 90 days */
#define SESSION_TTL		(7 * 86400)  /* sessions: at most a week */
#define SESSION_IDLE		(8 * 3600)   /* … and 8 hours idle */

enum session_kind { SESSION_TOKEN, SESSION_COOKIE };

/* Checks handle and password. APP_OK and *person; APP_NOT_FOUND for any
 * wrong pair (the same answer and about the same time whether the handle
 * exists or not); APP_CONFLICT with *retry_after when throttled. Runs
 * argon2id: call it off the server's event threads. */
enum app_status session_login(struct app *a, const char *handle,
			      const char *password, const char *client,
			      uint64_t *person, int64_t *retry_after);

struct session_new {
	uint64_t id;
	char credential[SESSION_CREDENTIAL_SIZE];
	int64_t expires_at;
};

/* Makes a credential of `kind` for person, split (struct app_write): *out
 * gets it at once, and it works once the write is durable (the finish
 * says APP_FAULT otherwise). `out` is borrowed until the finish. */
enum app_status session_create_begin(struct app *a, uint64_t person,
				     enum session_kind kind,
				     struct session_new *out,
				     struct app_write *w,
				     struct app_error *err);

/* Revokes the person's credential `id` (a log-out, or a token deleted):
 * the write, split (struct app_write). Its finish says APP_NOT_FOUND when
 * the credential is not the person's or already revoked. */
enum app_status session_revoke_begin(struct app *a, uint64_t person,
				     uint64_t id, struct app_write *w,
				     struct app_error *err);

/* The person a credential of `kind` belongs to: APP_OK and *person (and
 * *id), or APP_NOT_FOUND for anything else (unknown, revoked, expired,
 * idle too long, wrong kind, malformed). */
enum app_status session_check(struct app *a, const char *credential,
			      enum session_kind kind, uint64_t *person,
			      uint64_t *id);

/* Whether a string looks like a credential of kind (prefix only). */
bool session_looks_like(const char *credential, enum session_kind kind);

#endif
