/*
 * person.h — persons: sign-up (handle and password rules, argon2id), the
 * per-person data key, and reading a person's own settings back.
 */
#ifndef CMR_APP_PERSON_H
#define CMR_APP_PERSON_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"

#define PERSON_HANDLE_MIN   3
#define PERSON_HANDLE_MAX   32
#define PERSON_PASSWORD_MIN 12
#define PERSON_PASSWORD_MAX 1024

/* Checks a handle — 3 to 32 of [a-z0-9._-], starting with a letter or a
 * digit; upper case is folded — and writes its normal form into norm
 * (PERSON_HANDLE_MAX + 1 bytes). APP_OK or APP_INVALID with err. */
enum app_status person_handle_check(const char *handle, char *norm,
				    struct app_error *err);

/* Checks a password: PERSON_PASSWORD_MIN..MAX bytes, and what libpwquality
 * (with the system's cracklib dictionary) says of it and of the word at its
 * heart (the password without digits and signs around it, with l33t
 * undone), so that "Password2024!" is refused as a dictionary word. The
 * handle, when given, may not be in it. APP_INVALID's message gives the
 * reason. */
enum app_status person_password_check(const char *password, const char *handle,
				      struct app_error *err);

/* argon2id of password into out (crypto_pwhash_STRBYTES). At most two
 * hashes run at a time in the process; others wait. APP_OK / APP_FAULT. */
enum app_status person_password_hash(const char *password, char *out,
				     size_t size);

/* Whether password matches the stored hash (same two-at-a-time rule). */
bool person_password_verify(const char *hash, const char *password);

/* Creates a person: the rules above, a new data key wrapped by the wrap key,
 * default global terms. *id receives the new key. APP_CONFLICT when the
 * handle is taken. */
enum app_status person_add(struct app *a, const char *handle,
			   const char *password, uint64_t *id,
			   struct app_error *err);

/* person_add, split (see struct app_write): the password is hashed here
 * (argon2id: call it off the event threads); *id is set by the finish. */
enum app_status person_add_begin(struct app *a, const char *handle,
				 const char *password, uint64_t *id,
				 struct app_write *w, struct app_error *err);

/* Replaces the person's profile (a flat JSON object of field name →
 * string), sealed with their data key; the ledger records which fields
 * changed (names only). */
enum app_status person_set_profile(struct app *a, uint64_t person,
				   const json_t *profile,
				   struct app_error *err);
enum app_status person_set_profile_begin(struct app *a, uint64_t person,
					 const json_t *profile,
					 struct app_write *w,
					 struct app_error *err);

/* Applies a JSON Merge Patch (RFC 7396) to the stored profile and
 * replaces it with the result, validated as person_set_profile_begin
 * validates; the ledger's profile.changed names the fields the patch
 * sets or removes. APP_CONFLICT when the profile changed between the
 * read and the write (a concurrent change: nothing written). */
enum app_status person_patch_profile_begin(struct app *a, uint64_t person,
					   const json_t *patch,
					   struct app_write *w,
					   struct app_error *err);

/* Changes the password after checking the current one: APP_NOT_FOUND
 * for a wrong current password (the door answers 403), APP_INVALID for
 * a new one that breaks the rules. Every other session and token of the
 * person is revoked in the same transaction (whoever knew the old
 * password is out); `keep` (the credential asking, 0: none) stays. Runs
 * argon2id twice. */
enum app_status person_change_password(struct app *a, uint64_t person,
				       uint64_t keep, const char *current,
				       const char *next, struct app_error *err);

/* person_change_password, split (see struct app_write); argon2id twice
 * here, so call it off the event threads. */
enum app_status person_change_password_begin(struct app *a, uint64_t person,
					     uint64_t keep, const char *current,
					     const char *next,
					     struct app_write *w,
					     struct app_error *err);

/* Whether password is the person's (argon2id). */
bool person_check_password(struct app *a, uint64_t person,
			   const char *password);

/* The person's global terms (canonical JSON, as stored). */
enum app_status person_global_terms(struct app *a, uint64_t person,
				    json_t **out, struct app_error *err);

/* Replaces the person's global terms (validated; *err_kind says 400 or
 * 422 on APP_INVALID; an omitted key takes its default). A change is a
 * settings.changed ledger entry naming the keys that changed, their new
 * values sealed (ledger_settings_data_tx); the same terms again record
 * nothing. Never shown to a brand. */
enum app_status person_set_global_terms(struct app *a, uint64_t person,
					const json_t *terms, int *err_kind,
					struct app_error *err);

/* The same, split (see struct app_write). */
enum app_status person_set_global_terms_begin(struct app *a, uint64_t person,
					      const json_t *terms,
					      int *err_kind,
					      struct app_write *w,
					      struct app_error *err);

/* A JSON Merge Patch (RFC 7396) of the stored global terms, split: the
 * result is validated exactly as a replacement is (so a patch that makes
 * invalid terms writes nothing); every key the patch leaves out keeps its
 * value. APP_CONFLICT when the terms changed between the read and the
 * write. */
enum app_status person_patch_global_terms_begin(struct app *a, uint64_t person,
						const json_t *patch,
						int *err_kind,
						struct app_write *w,
						struct app_error *err);

#endif
