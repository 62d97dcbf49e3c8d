/*
 * keys.h — the server's keys: the keys directory, the
 * Ed25519 signing key, the wrap keys that wrap every person's data key (and
 * their rotation), sealing personal values with a data key, and the keyed
 * hash that turns an erased alias into a tombstone.
 *
 * The keys directory (`--keys DIR`, default ./var/keys) lives outside the
 * store so that a copy of the database alone reveals no personal value. It
 * holds, each file mode 0600 in a directory of mode 0700:
 *
 *   signing.key  one line: standard base64 (RFC 4648 §4, padded) of the
 *                32-byte Ed25519 seed, then "\n". The key pair is derived
 *                from the seed (crypto_sign_seed_keypair).
 *   key_id       one line: the signing key's id, then "\n" — 16 lowercase
 *                hex digits, the first 8 bytes of BLAKE2b-256(public key).
 *                Derived, so never a secret; written for operators and
 *                checked against the key on load.
 *   retired-<key id>.pub
 *                one per signing key that `cmr keys rotate` retired: one
 *                line of standard base64 of its 32-byte Ed25519 public key.
 *                Its seed is gone; the public key stays so that heads and
 *                receipts it signed still verify, and stays published
 *                (GET /.well-known/jwks.json). The name must match the key.
 *   wrap.keys    the wrap keys, which wrap every person's data key: one to
 *                KEYS_WRAP_MAX lines, each standard base64 of 32 bytes.
 *                The first wraps; the others still unwrap, and are there
 *                only while `cmr keys rotate --wrap` moves the store's data
 *                keys off them.
 *   hash.key     one line: standard base64 of the 32-byte key of the keyed
 *                hashes (tombstones, aliases and handles as the store looks
 *                them up, reply tags). Never rotated: every stored hash
 *                depends on it.
 *   kek_id       one line: the key set's id, 16 hex digits and "\n" (the
 *                store records it to refuse another directory's keys; the
 *                name is the KEK's, which had it first).
 *   store        one line: the id of the store this directory serves (16
 *                hex digits the store drew and recorded), written the
 *                first time a store opens the directory. A directory
 *                serves one store: a wrap rotation of one store would
 *                destroy the wrap key the other's data keys are under, so
 *                every command refuses another store's directory.
 *   kek          only in a directory made before wrap keys: one line of
 *                base64 of the 32-byte key-encryption key. It wraps (as
 *                the sole wrap key, with wrap.keys absent), unwraps the
 *                data keys it wrapped, and hash.key and kek_id are derived
 *                from it (hash.key: crypto_kdf, context "cmrtomb_", id 1;
 *                kek_id: the first 8 bytes of BLAKE2b-256 keyed with it
 *                over a fixed message). The first complete `cmr keys
 *                rotate --wrap` writes hash.key and kek_id and removes it.
 *
 * Rotating the wrap key is what erasure needs where a database keeps old
 * row versions (PostgreSQL's dead tuples and WAL): an erased person's old
 * wrapped data key may linger there, and once no key of the directory
 * opens it, what it sealed is gone for good.
 *
 * Back up the whole directory apart from the store: without its wrap keys
 * every wrapped data key — so every sealed personal value — is lost for
 * good, and without `signing.key` old heads and receipts can no longer be
 * matched to the server. keys_init therefore never overwrites a key, and
 * refuses an incomplete directory: that is a restore gone wrong, not
 * something to paper over with a fresh key. After a wrap rotation, old
 * backups of the directory still hold the retired wrap key: replace them.
 *
 * Wrapped data key: 0x02 ‖ wrap key id (8 bytes: BLAKE2b-256 keyed with
 * the wrap key over a fixed message) ‖ nonce (24) ‖ secretbox(wrap key,
 * data key), 81 bytes; a directory with a kek also opens the older form,
 * nonce ‖ secretbox(KEK, data key), 72 bytes.
 * Sealed value: base64url without padding of nonce (24) ‖ secretbox(data
 * key, plaintext). Tombstone: hex of BLAKE2b-256 keyed with hash.key over
 * kind ‖ 0x00 ‖ value.
 *
 * Secrets live in sodium_malloc'd memory, read-only once loaded, and are
 * zeroed when freed; nothing here logs or prints a key. Thread-safe once
 * loaded: every operation only reads struct keys.
 */
#ifndef CMR_LEDGER_KEYS_H
#define CMR_LEDGER_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYS_DEFAULT_DIR "./var/keys"

#define KEYS_SEED_BYTES	    32 /* Ed25519 seed */
#define KEYS_PUBLIC_BYTES   32 /* Ed25519 public key */
#define KEYS_SIG_BYTES	    64 /* Ed25519 signature */
#define KEYS_KEK_BYTES	    32
#define KEYS_DATA_KEY_BYTES 32 /* a person's data key */
#define KEYS_NONCE_BYTES    24 /* XSalsa20 nonce of secretbox */
#define KEYS_MAC_BYTES	    16 /* Poly1305 tag of secretbox */
#define KEYS_WRAP_ID_BYTES  8  /* a wrap key's id in a wrapped key */
#define KEYS_WRAP_MAX	    4  /* wrap keys a directory holds at once */
#define KEYS_WRAPPED_V2	    0x02
#define KEYS_WRAPPED_V1_BYTES                                                  \
	(KEYS_NONCE_BYTES + KEYS_DATA_KEY_BYTES + KEYS_MAC_BYTES) /* 72 */
#define KEYS_WRAPPED_BYTES                                                     \
	(1 + KEYS_WRAP_ID_BYTES + KEYS_WRAPPED_V1_BYTES) /* 81 */
#define KEYS_ID_LEN	   16  /* hex digits of a key id */
#define KEYS_TOMBSTONE_HEX 64  /* hex digits of a tombstone */
#define KEYS_ERR_MAX	   256 /* room for an error sentence */
#define KEYS_RETIRED_MAX   64  /* retired signing keys a directory keeps */

/* Largest plaintext keys_seal takes: personal fields are small, and this
 * keeps every length computation far from overflow. */
#define KEYS_SEAL_MAX (1u << 20)

/* The loaded keys. Opaque; one owner, freed with keys_free. */
struct keys;

/* Makes the keys directory if needed and loads it (what `cmr init` and
 * every start do). A missing directory is created with its missing parents,
 * mode 0700; a new signing key, wrap key, hash key and key set id are
 * written, each to a temporary file that is fsynced, then linked into place
 * without replacing anything, then the directory is fsynced. An existing
 * complete directory is loaded and never written to (but for a missing key_id,
 * which is derived). Refused, with a sentence in err: an existing directory (or
 * key file) that group or others may access, or that another user owns; a
 * directory holding some keys but not all; a key file that is not one line of
 * base64 of the right length (wrap.keys: one to KEYS_WRAP_MAX lines); a
 * key_id that does not match the key; with a kek, a hash.key or kek_id
 * that is not derived from it.
 * Returns 0 and sets *out (the caller frees it with keys_free), or -1. */
int keys_init(const char *dir, struct keys **out, char *err, size_t err_len);

/* Loads an existing complete keys directory, with the same checks, and
 * never writes. Returns 0 and sets *out, or -1 with a sentence in err. */
int keys_load(const char *dir, struct keys **out, char *err, size_t err_len);

/* Keys from given bytes, touching no file: for tests and fuzz drivers that
 * need a fixed key. kek is a directory's `kek` before wrap keys: it wraps
 * and unwraps, and the hash key and key set id derive from it. Returns 0 and
 * sets *out, or -1 (out of memory, or the crypto library could not start). */
int keys_from_bytes(const uint8_t seed[KEYS_SEED_BYTES],
		    const uint8_t kek[KEYS_KEK_BYTES], struct keys **out);

/* Zeroes and frees the keys. NULL is fine. */
void keys_free(struct keys *k);

/* True when keys_init made the keys just now (so `cmr init` can say so),
 * false when it loaded existing ones. */
bool keys_created(const struct keys *k);

/* The signing key's id (KEYS_ID_LEN hex digits), as in JWS "kid". Valid as
 * long as k. */
const char *keys_id(const struct keys *k);

/* The Ed25519 public key (KEYS_PUBLIC_BYTES). Valid as long as k. */
const uint8_t *keys_public_key(const struct keys *k);

/* The key set's id (KEYS_ID_LEN hex digits; see kek_id above). Valid as
 * long as k. */
const char *keys_kek_id(const struct keys *k);

/* The id of the store the directory serves (its file `store`), or "" for
 * a directory that no store has opened since store ids. */
const char *keys_store_id(const struct keys *k);
/* Writes the directory's file `store` (store_id: 16 hex digits), unless it
 * is there already: 0 when it names store_id; 1 when the directory may
 * not be written (read-only, permissions: a sentence in err, and the
 * directory stays unbound); else -1 and a sentence in err (it names
 * another store). Safe against another process binding at once. Loaded
 * keys keep what they read: load them again to see it. */
int keys_store_bind(const char *dir, const char *store_id, char *err,
		    size_t err_len);

/* The signing keys known: index 0 is the current one (keys_id,
 * keys_public_key), 1.. the retired ones in id order. Their number is
 * keys_signing_count; an index past it gives NULL. Valid as long as k. */
size_t keys_signing_count(const struct keys *k);
const char *keys_signing_id(const struct keys *k, size_t i);
const uint8_t *keys_signing_public(const struct keys *k, size_t i);

/* The public key of the signing key (current or retired) with this id,
 * or NULL when k knows no such key. */
const uint8_t *keys_public_of(const struct keys *k, const char *id);

/* Whether k is the key set a store recorded (pure): kek_id (NULL: none
 * recorded) must be k's key set id, and every recorded signing key id must be
 * one k knows. A signing key k has and the store has not recorded is fine
 * (a rotation the store was not told of yet). On
 * KEYS_MATCH_UNKNOWN_SIGNING *unknown (when not NULL) is the first id k
 * does not know (borrowed from signing_ids). */
enum keys_match {
	KEYS_MATCH_OK = 0,
	KEYS_MATCH_OTHER_KEK = 1,	/* another directory's KEK */
	KEYS_MATCH_UNKNOWN_SIGNING = 2, /* the store knows a signing key
					   k does not (an older copy of the
					   directory?) */
};
enum keys_match keys_match(const struct keys *k, const char *kek_id,
			   const char *const *signing_ids, size_t n,
			   const char **unknown);

/* True when dir does not exist or holds neither key file: what only
 * `cmr init`, on an empty store, may fill. False otherwise, errors
 * included (keys_load then says what is wrong). */
bool keys_absent(const char *dir);

/* A new signing key in a complete keys directory: the current key's
 * public half is written as its retired-<id>.pub (fsynced) before the new
 * seed replaces signing.key, then key_id follows, so an interruption
 * leaves either key current and every key that ever signed known. The
 * wrap keys and the hash key are kept. Refused when the directory does not load
 * (as keys_load) or holds KEYS_RETIRED_MAX retired keys. Returns 0 and sets
 * *out to the new keys (the caller frees them), or -1 with a sentence in err.
 */
int keys_rotate(const char *dir, struct keys **out, char *err, size_t err_len);

/* Ed25519 signature of msg[0..len) (RFC 8032, pure). Returns 0, or -1. */
int keys_sign(const struct keys *k, const void *msg, size_t len,
	      uint8_t sig[KEYS_SIG_BYTES]);

/* A new random data key for a person. Returns 0, or -1 when the crypto
 * library cannot start. The caller zeroes it (sodium_memzero) when done. */
int keys_new_data_key(uint8_t out[KEYS_DATA_KEY_BYTES]);

/* Wraps a data key under the current wrap key (the kek, in a directory
 * before wrap keys), for the store: out gets KEYS_WRAPPED_BYTES (see
 * above). Returns 0, or -1. */
int keys_wrap(const struct keys *k, const uint8_t data_key[KEYS_DATA_KEY_BYTES],
	      uint8_t out[KEYS_WRAPPED_BYTES]);

/* Unwraps what keys_wrap made. Returns 0 and fills data_key, or -1 when
 * the blob has the wrong length, names a wrap key k lacks (retired by a
 * rotation, or another server's), or does not authenticate (tampered,
 * truncated); data_key is then zeroed. */
int keys_unwrap(const struct keys *k, const uint8_t *blob, size_t len,
		uint8_t data_key[KEYS_DATA_KEY_BYTES]);

/* ---- Rotating the wrap key (`cmr keys rotate --wrap`) ----
 *
 * 1. keys_wrap_rotate_begin puts a new wrap key first in wrap.keys (the
 *    old ones stay, to unwrap), unless a rotation is under way already:
 *    then it only loads, and the rotation goes on with the same new key.
 * 2. The caller re-wraps every stored data key that keys_wrapped_current
 *    says is not under the current wrap key.
 * 3. keys_wrap_rotate_end, once none is left, keeps only the current wrap
 *    key: wrap.keys is rewritten with it alone, and a kek is replaced by
 *    hash.key and kek_id (derived from it, so every hash and the key set's
 *    id stay the same) before it is removed.
 * Each step replaces files through a fsynced temporary file and rename,
 * and fsyncs the directory, so an interruption leaves a directory that
 * loads and opens every data key; running the rotation again finishes it.
 * Both return 0 and set *out to the keys as they are now (the caller frees
 * them), or -1 with a sentence in err. */
int keys_wrap_rotate_begin(const char *dir, struct keys **out, char *err,
			   size_t err_len);
int keys_wrap_rotate_end(const char *dir, struct keys **out, char *err,
			 size_t err_len);

/* Whether blob is wrapped under k's current wrap key (pure). */
bool keys_wrapped_current(const struct keys *k, const uint8_t *blob,
			  size_t len);

/* The wrap keys k holds besides the current one (a rotation under way:
 * the wrap.keys lines after the first, and a kek beside wrap.keys). */
size_t keys_wrap_retiring(const struct keys *k);

/* The current wrap key's id, KEYS_WRAP_ID_BYTES * 2 hex digits and a NUL
 * (names it for operators, and the store records it; reveals nothing of
 * it). */
void keys_wrap_id(const struct keys *k, char out[KEYS_WRAP_ID_BYTES * 2 + 1]);

/* The id of the wrap key a blob names, as keys_wrap_id writes it (pure);
 * false when blob is not a wrapped key that names one (the 72-byte form
 * of a kek does not). */
bool keys_wrapped_id(const uint8_t *blob, size_t len,
		     char out[KEYS_WRAP_ID_BYTES * 2 + 1]);

/* Whether k holds the wrap key with this id (hex), current or retiring. */
bool keys_wrap_knows(const struct keys *k, const char *id);

/* A fingerprint of the hash key, KEYS_ID_LEN hex digits and a NUL: the
 * store records it, so that a directory whose hash.key is another key
 * set's is refused (every lookup by hash would silently miss). */
void keys_hash_id(const struct keys *k, char out[KEYS_ID_LEN + 1]);

/* Seals plaintext[0..len) (len <= KEYS_SEAL_MAX) with a data key. *out is
 * a new NUL-terminated base64url string (no padding) the caller frees with
 * free(). Returns 0, or -1 (*out NULL). */
int keys_seal(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
	      const void *plaintext, size_t len, char **out);

/* Opens a sealed string. *out is a new buffer of *out_len bytes plus a NUL
 * (not counted), which the caller releases with keys_free_plain. Returns 0,
 * or -1 (*out NULL) when sealed is not base64url without padding, is too
 * short, or does not authenticate under this data key. */
int keys_open(const uint8_t data_key[KEYS_DATA_KEY_BYTES], const char *sealed,
	      char **out, size_t *out_len);

/* Zeroes and frees a plaintext from keys_open: it is a personal value.
 * NULL is fine. */
void keys_free_plain(char *plain, size_t len);

/* The tombstone of an erased value: a keyed hash under hash.key, stable
 * for one key set, so "was this alias ever used?" can be answered after
 * erasure while the value itself cannot be recovered from the store (no
 * dictionary attack without the keys directory). `kind` ("alias", …) separates
 * the uses and holds no NUL; the caller normalizes value (aliases in lowercase)
 * first. out gets KEYS_TOMBSTONE_HEX lowercase hex digits and a NUL. Returns 0,
 * or -1. */
int keys_tombstone(const struct keys *k, const char *kind, const void *value,
		   size_t value_len, char out[KEYS_TOMBSTONE_HEX + 1]);

/* ---- Sealing bytes: message content of any size, into a BLOB ----
 *
 * keys_seal's base64 string suits small personal fields inside JSON; a
 * message's headers and body run to the largest message taken (25 MiB),
 * so they are sealed as bytes: version (1 byte, KEYS_SEALED_V1) ‖ nonce
 * (24) ‖ secretbox(data key, plaintext). The version byte lets a later
 * format (another cipher, a rotated key) sit beside this one. */
#define KEYS_SEALED_V1 0x01
#define KEYS_SEALED_OVERHEAD                                                   \
	(1 + KEYS_NONCE_BYTES + KEYS_MAC_BYTES) /* 41 bytes */
#define KEYS_SEAL_BYTES_MAX (64u << 20) /* far above the largest message */

/* Seals plaintext[0..len) (len <= KEYS_SEAL_BYTES_MAX; 0 is fine) with a
 * data key. *out is a new buffer of *out_len (len + KEYS_SEALED_OVERHEAD)
 * bytes the caller frees with free(). Returns 0, or -1 (*out NULL). */
int keys_seal_bytes(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
		    const void *plaintext, size_t len, uint8_t **out,
		    size_t *out_len);

/* Opens what keys_seal_bytes made. *out is a new buffer of *out_len bytes
 * plus a NUL (not counted), released with keys_free_plain. Returns 0, or
 * -1 (*out NULL) for an unknown version, a short buffer, or one that does
 * not authenticate under this data key (tampered, or another person's). */
int keys_open_bytes(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
		    const void *sealed, size_t len, char **out,
		    size_t *out_len);

/* A keyed hash under a person's data key, for values the store must
 * compare but not reveal (a message's duplicate check): BLAKE2b keyed with
 * the data key, personalised with `kind` (1..16 bytes, "cmr-dedup-v1"),
 * out_len 16..64 bytes. Once the data key is destroyed nobody can test a
 * guess against a stored hash. Returns 0, or -1. */
int keys_data_hash(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
		   const char *kind, const void *value, size_t value_len,
		   uint8_t *out, size_t out_len);

#endif
