/*
 * note.h — the signed head of a person's ledger, as a C2SP signed note
 * (https://c2sp.org/signed-note), so that anyone holding the server's
 * verifier key can check with off-the-shelf tools (Go's
 * golang.org/x/mod/sumdb/note among them) that a chain they were shown is
 * the one the server committed to.
 *
 * A signed note is
 *     text (non-empty, ending in "\n")
 *     "\n"
 *     one or more lines "— <key name> <base64(key hash ‖ signature)>\n"
 * where "—" is U+2014, the key hash is the first 4 bytes of
 * SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ Ed25519 public key), and the signature
 * is Ed25519 over the text, its final newline included. A note is valid
 * UTF-8 with no control character but newline.
 *
 * The head's text is three lines:
 *     cmr ledger <server name>/<per_id>
 *     <seq>
 *     <base64 of the 32-byte hash of entry seq>
 * (seq 0 and a hash of zeros for an empty ledger).
 *
 * Verifying follows the spec: signatures by other keys (another name or
 * another key hash) are skipped; one by our key that fails rejects the
 * whole note; a note with no good signature by our key is rejected.
 *
 * Pure but for keys_sign: no I/O, no globals. Thread-safe.
 */
#ifndef CMR_LEDGER_NOTE_H
#define CMR_LEDGER_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain.h"
#include "ledger/keys.h"

#define NOTE_MAX_BYTES	    16384 /* longest note we parse */
#define NOTE_MAX_SIGS	    64	/* most signature lines we read (spec: >= 16) */
#define NOTE_KEY_NAME_MAX   255 /* bytes of a key name */
#define NOTE_SERVER_MAX	    253 /* bytes of a server name (a DNS name) */
#define NOTE_PER_ID_MAX	    64	/* bytes of a person's id */
#define NOTE_KEY_HASH_BYTES 4

enum note_status {
	NOTE_OK = 0,
	NOTE_EINVAL = -1,     /* an argument breaks the contract */
	NOTE_EMALFORMED = -2, /* not a signed note, or not a head */
	NOTE_EBADSIG = -3,    /* no valid signature by our key */
	NOTE_ENOMEM = -4,     /* out of memory, or libsodium failed */
};

/* What a head says: entry `seq` of per_id's ledger on `server` has `hash`. */
struct note_head {
	char server[NOTE_SERVER_MAX + 1]; /* the server name, [A-Za-z0-9.:_-] */
	char per_id[NOTE_PER_ID_MAX + 1]; /* "per_" then [A-Za-z0-9] */
	int64_t seq;			  /* >= 0 */
	uint8_t hash[CHAIN_HASH_BYTES];
};

/* A short English description of a note_status. */
const char *note_strerror(int status);

/* True when name is a valid key name: non-empty, at most
 * NOTE_KEY_NAME_MAX bytes, valid UTF-8 without controls, Unicode spaces or
 * "+". */
bool note_key_name_valid(const char *name);

/* The key hash (key ID) of an Ed25519 public key under a name. Returns
 * NOTE_OK, NOTE_EINVAL (bad name) or NOTE_ENOMEM. */
int note_key_hash(const char *key_name, const uint8_t pk[KEYS_PUBLIC_BYTES],
		  uint8_t out[NOTE_KEY_HASH_BYTES]);

/* The verifier key for operators and the README:
 * "<name>+<8 hex digits of the key hash>+<base64(0x01 ‖ public key)>", the
 * form Go's note.NewVerifier reads. *out is a new string the caller frees
 * with free(). Returns NOTE_OK, NOTE_EINVAL or NOTE_ENOMEM. */
int note_verifier_key(const char *key_name, const uint8_t pk[KEYS_PUBLIC_BYTES],
		      char **out);

/* Signs text[0..len), which must be a valid note text (non-empty, ending
 * in "\n", valid UTF-8, no control character but "\n"). *out is the new
 * NUL-terminated note, *out_len bytes, which the caller frees with free().
 * Returns NOTE_OK, NOTE_EINVAL or NOTE_ENOMEM. */
int note_sign(const struct keys *k, const char *key_name, const char *text,
	      size_t len, char **out, size_t *out_len);

/* Checks note[0..len) against our key (name and public key). On NOTE_OK,
 * the signed text is note[0..*text_len). Returns NOTE_OK, NOTE_EMALFORMED,
 * NOTE_EBADSIG, NOTE_EINVAL (bad key name) or NOTE_ENOMEM. */
int note_open(const char *note, size_t len, const char *key_name,
	      const uint8_t pk[KEYS_PUBLIC_BYTES], size_t *text_len);

/* Writes a head's text. *out is new, NUL-terminated, *out_len bytes; the
 * caller frees it with free(). Returns NOTE_OK, NOTE_EINVAL (a field
 * breaks the contract of struct note_head) or NOTE_ENOMEM. */
int note_head_text(const struct note_head *h, char **out, size_t *out_len);

/* Parses a head's text, strictly (the exact form note_head_text writes:
 * no leading zeros, canonical base64). Returns NOTE_OK or
 * NOTE_EMALFORMED. */
int note_head_parse(const char *text, size_t len, struct note_head *out);

/* note_head_text, then note_sign. */
int note_head_sign(const struct keys *k, const char *key_name,
		   const struct note_head *h, char **out, size_t *out_len);

/* note_open, then note_head_parse of the signed text. */
int note_head_verify(const char *note, size_t len, const char *key_name,
		     const uint8_t pk[KEYS_PUBLIC_BYTES],
		     struct note_head *out);

#endif
