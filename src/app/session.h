/*
 * session.h — how a person proves who they are: log-in with handle and
 * password (argon2id; unknown handles cost the same time; failures
 * throttled per handle and client address and per client address; a
 * bounded line of hashes), the same throttle for a password asked again,
 * and the credentials a log-in yields — bearer tokens for scripts (90
 * days, revocable) and browser sessions (idle and absolute expiry).
 *
 * A credential reads "cmrt_<16>_<43>" (token) or "cmrs_<16>_<43>"
 * (session): the middle part encodes the row's key, the rest is 256
 * random bits; only BLAKE2b-256 of the whole string is stored and hashes
 * are compared in constant time.
 */
#ifndef CMR_APP_SESSION_H
#define CMR_APP_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/person.h"

#define SESSION_CREDENTIAL_SIZE 72
#define TOKEN_TTL		(90 * 86400) /* bearer tokens: 90 days */
#define SESSION_TTL		(7 * 86400)  /* sessions: at most a week */
#define SESSION_IDLE		(8 * 3600)   /* … and 8 hours idle */

enum session_kind { SESSION_TOKEN, SESSION_COOKIE };

/* What a credential is good for: every route of its person, or (an alias
 * token, made for a password manager) only the two alias-creation
 * routes. Alias tokens never expire; they are revoked like any other. */
enum session_scope { SESSION_SCOPE_ALL, SESSION_SCOPE_ALIASES };

#define SESSION_SCOPE_ALIASES_NAME "aliases"
#define SESSION_TOKEN_NAME_MAX	   64 /* characters of an alias token's name */

/* One password check's place in line: a log-in, a sign-up, or a
 * password asked again (export, password change, erasure, delivery
 * settings). A door takes it with session_*_admit on its event thread,
 * before it hands the check (argon2id) to a worker, so that a flood is
 * answered 429 at once instead of queueing hashes; the check then runs on
 * the worker, and session_ticket_end gives the place back in every case
 * (it may be called again, from the request's clean-up). */
struct session_ticket {
	struct app *app;
	char who[PERSON_HANDLE_MAX + 96]; /* failures counted per (handle,
					     address) or per person; "" for
					     a sign-up */
	char client[64];		  /* the address's key: "addr\n" and
					     the address (IPv6: its /64) */
	bool held;			  /* a place in line is held */
};

/* Admissions. APP_OK: the ticket holds a place in the line of password
 * hashes. APP_CONFLICT with *retry_after (seconds) and err's sentence:
 * the handle at that address, the person, or the address is locked out
 * after failures, or the line is full overall or for that address — the
 * door answers 429 with Retry-After, and nothing is hashed. `client` is
 * the client's address as text ("" when unknown). */
enum app_status session_login_admit(struct app *a, struct session_ticket *t,
				    const char *handle, const char *client,
				    int64_t *retry_after,
				    struct app_error *err);
enum app_status session_reentry_admit(struct app *a, struct session_ticket *t,
				      uint64_t person, const char *client,
				      int64_t *retry_after,
				      struct app_error *err);
enum app_status session_signup_admit(struct app *a, struct session_ticket *t,
				     const char *client, int64_t *retry_after,
				     struct app_error *err);

/* What became of a password asked again. */
enum session_check {
	SESSION_UNCHECKED, /* the request failed before (or apart from) it */
	SESSION_RIGHT,
	SESSION_WRONG,
};

/* After a password asked again: counts a wrong one (per person and per
 * address), forgets the person's failures after a right one, and gives
 * the place in line back. APP_CONFLICT with *retry_after and err when
 * this failure starts a lock-out (the door answers 429 instead of 403),
 * else APP_OK. */
enum app_status session_reentry_done(struct session_ticket *t,
				     enum session_check check,
				     int64_t *retry_after,
				     struct app_error *err);

/* Gives the ticket's place in line back, if it still holds one. */
void session_ticket_end(struct session_ticket *t);

/* Checks handle and password under an admitted ticket (which it ends).
 * APP_OK and *person; APP_NOT_FOUND for any wrong pair (the same answer
 * and about the same time whether the handle exists or not);
 * APP_CONFLICT with *retry_after and err when throttled (a lock-out that
 * began while the check waited, or the one this failure starts). Runs
 * argon2id: call it off the server's event threads. */
enum app_status session_login(struct session_ticket *t, const char *handle,
			      const char *password, uint64_t *person,
			      int64_t *retry_after, struct app_error *err);

struct session_new {
	uint64_t id;
	char credential[SESSION_CREDENTIAL_SIZE];
	int64_t expires_at;
	char name[256]; /* an alias token's name, trimmed; else "" */
};

/* Makes a credential of `kind` for person, split (struct app_write): *out
 * gets it at once, and it works once the write is durable (the finish
 * says APP_FAULT otherwise). `out` is borrowed until the finish. */
enum app_status session_create_begin(struct app *a, uint64_t person,
				     enum session_kind kind,
				     struct session_new *out,
				     struct app_write *w,
				     struct app_error *err);

/* Makes an alias token named `name` (1..SESSION_TOKEN_NAME_MAX characters
 * of one line of text, trimmed) for person, split like
 * session_create_begin; out->expires_at is 0 (it lasts until revoked).
 * APP_INVALID names "name". */
enum app_status session_alias_token_begin(struct app *a, uint64_t person,
					  const char *name,
					  struct session_new *out,
					  struct app_write *w,
					  struct app_error *err);

/* Revokes the person's credential `id` (a log-out, or a token deleted):
 * the write, split (struct app_write). Its finish says APP_NOT_FOUND when
 * the credential is not the person's or already revoked. */
enum app_status session_revoke_begin(struct app *a, uint64_t person,
				     uint64_t id, struct app_write *w,
				     struct app_error *err);

/* Appends to items (a JSON array, borrowed) each of the person's
 * credentials that still works, newest first: {"id": "tok_…", "kind":
 * "session"|"token", "scope": "all"|"aliases", "name" (an alias token's,
 * else null), "created_at", "last_used_at" (to the minute), "expires_at"
 * (a session's sooner end: absolute or idle; null for an alias token),
 * "current": whether it is `current`, the caller's own} — never the
 * secret or its hash. */
enum app_status session_list(struct app *a, uint64_t person, uint64_t current,
			     json_t *items, struct app_error *err);

/* The person a credential of `kind` belongs to: APP_OK and *person (and
 * *id, and *scope, when not NULL), or APP_NOT_FOUND for anything else
 * (unknown, revoked, expired, idle too long, wrong kind, malformed). The
 * caller decides what the scope allows. */
enum app_status session_check(struct app *a, const char *credential,
			      enum session_kind kind, uint64_t *person,
			      uint64_t *id, enum session_scope *scope);

/* Whether a string looks like a credential of kind (prefix only). */
bool session_looks_like(const char *credential, enum session_kind kind);

#endif
