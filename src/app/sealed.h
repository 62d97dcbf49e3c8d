/*
 * sealed.h — a person's message content sealed with their data key.
 *
 * An attempt's sender, subject, header block and body are personal: the
 * store holds them only as keys_seal_bytes of the person's data key (a
 * version byte, a nonce, secretbox), and its duplicate check only as a
 * hash keyed with that key. Erasure destroys the wrapped data key, so the
 * content of every copy of the store — dead rows, the WAL, a PostgreSQL
 * backend's old tuples, a backup — can no longer be opened or tested
 * against a guess.
 *
 * Not sealed: a campaign's subject and body (the campaigns table). That
 * is one broadcast a brand wrote for all its recipients, the same bytes
 * for each, holding nothing about any one person; what is personal —
 * that this person got it, when, in which folder — is the attempt row,
 * which erasure deletes. Sealing it per recipient would also write it
 * once per recipient instead of once.
 *
 * A data key is unwrapped once per request or job (sealed_key), used for
 * all of that person's rows, and zeroed (sealed_key_clear) when done.
 */
#ifndef CMR_APP_SEALED_H
#define CMR_APP_SEALED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "ledger/keys.h"

struct store_attempt;
struct store_message;

/* A person's unwrapped data key, for one request or job. */
struct sealed_key {
	uint64_t person; /* whose (0: none loaded) */
	uint8_t dk[KEYS_DATA_KEY_BYTES];
};

/* Loads the data key of `person` into k, unless k holds it already.
 * APP_OK; APP_NOT_FOUND when the person is gone or erased (no key);
 * APP_FAULT when the store cannot be read or the key does not unwrap. */
enum app_status sealed_key(struct store_rd *reads, struct keys *keys,
			   uint64_t person, struct sealed_key *k);
/* Zeroes the key. */
void sealed_key_clear(struct sealed_key *k);

/* The sealed forms of one attempt's content (owned, freed together). */
struct sealed_attempt {
	uint8_t *sender, *subject, *headers, *body;
	uint8_t dedup[16];
};

/* Seals at's sender, subject, headers and body (those not NULL) and keys
 * its dedup hash, pointing at at the sealed copies in s and setting
 * at->sealed. at's plaintext stays the caller's. Returns 0, or -1 with
 * nothing left to free. */
int sealed_attempt(const struct sealed_key *k, struct store_attempt *at,
		   struct sealed_attempt *s);
void sealed_attempt_clear(struct sealed_attempt *s);

/* The keyed form of a message's duplicate hash (16 bytes in and out). */
int sealed_dedup(const struct sealed_key *k, const uint8_t in[16],
		 uint8_t out[16]);

/* Replaces *value (len bytes, owned, from the store) with its plaintext
 * when `sealed`, a NUL-terminated string of *len bytes; text stored in
 * clear stays. NULL stays NULL. Returns 0, or -1 (the value does not open:
 * *value is freed and NULL). */
int sealed_open(const struct sealed_key *k, bool sealed, char **value,
		size_t *len);

/* The plaintext of a value read from the store (len bytes; sealed or in
 * clear), as a new NUL-terminated string of *out_len bytes that the caller
 * releases with keys_free_plain(p, *out_len). NULL for a NULL value, and
 * NULL with *fault set when it does not open or memory runs out. */
char *sealed_text(const struct sealed_key *k, bool sealed, const char *value,
		  size_t len, size_t *out_len, bool *fault);

/* One attempt with everything the person reads of it (store_message_get),
 * its content opened with their data key: APP_OK; APP_NOT_FOUND; APP_FAULT
 * (m holds nothing then). Release it with sealed_message_clear, which
 * zeroes the opened content. */
enum app_status sealed_message(struct store_rd *reads, struct keys *keys,
			       uint64_t id, struct store_message *m);
void sealed_message_clear(struct store_message *m);

/* The functions through which the store keeps aliases, own addresses
 * and handles (store.h, struct store_codec): the hash is keys_tombstone
 * (an alias folded to lower case first), so that an alias's stored key
 * is its tombstone from the start; the seal is keys_seal with the
 * person's data key. Each thread keeps the last few data keys it
 * unwrapped (by their exact wrapped bytes and KEK id), so that the values of
 * one person read or written one after the other unwrap the key once; a key is
 * zeroed when evicted, after a second unused (at the thread's next call) and
 * when the thread ends. Terms that name only the built-in folders are taken as
 * they are, without a parse. c->arg is keys (borrowed). */
void sealed_codec(struct keys *keys, struct store_codec *c);

/* Seals every attempt a store made before sealing kept in clear, in
 * batches (a step after the SQL migrations, before anything is served),
 * and has the store rewrite the aliases, own addresses and handles it
 * kept in clear (store_seal_clear).
 * *n gets how many rows it sealed. APP_OK, or APP_FAULT. */
enum app_status sealed_upgrade(struct app *a, int64_t *n);

#endif
