/*
 * chain.h — one entry of a person's ledger, its hash, and the verifier that
 * walks a whole chain.
 *
 * An entry is the JSON object
 *   {seq, at, actor, type, relationship, data, prev}   plus its "hash",
 * and
 *   hash = BLAKE2b-256(prev as 32 raw bytes ‖ JCS(entry without "hash"))
 * where prev, inside the object and in the chain, is the previous entry's
 * hash as 64 lowercase hex digits (64 zeros for seq 1). Note the two forms
 * of prev: the hash input starts with its raw bytes, and the JCS text holds
 * it again as hex. This is what the test vector of
 * tests/unit/ledger/test_chain.c hashes to; hashing the hex digits instead does
 * not.
 *
 * Pure: no I/O, no clock (the caller supplies `at`), no globals but constant
 * tables. Thread-safe.
 */
#ifndef CMR_LEDGER_CHAIN_H
#define CMR_LEDGER_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_BYTES 32  /* BLAKE2b-256 */
#define CHAIN_HASH_HEX	 64  /* its lowercase hex form */
#define CHAIN_AT_LEN	 24  /* "2026-11-23T10:00:00.000Z" */
#define CHAIN_WHY_MAX	 160 /* room for a verifier's explanation */

/* Relationship ids in entries: "rel_" then up to this many [A-Za-z0-9]. */
#define CHAIN_REL_ID_MAX 60

/* Latest instant an `at` can hold: 9999-12-31T23:59:59.999Z, in ms. */
#define CHAIN_AT_MS_MAX 253402300799999LL

enum chain_status {
	CHAIN_OK = 0,
	CHAIN_EINVAL = -1, /* an entry or argument breaks the contract */
	CHAIN_ENOMEM = -2, /* out of memory, or the crypto library failed */
};

/* The entry types, as written on the wire, in a
 * NULL-terminated table. A new type is added here and nowhere else. */
extern const char *const chain_types[];

/* The three actors: "person", "brand", "system", NULL-terminated. */
extern const char *const chain_actors[];

/* One ledger entry. The entry borrows its pointers: actor, type,
 * relationship and data must outlive it, and chain functions never free or
 * modify them (chain_entry_to_json takes its own reference to data). */
struct chain_entry {
	int64_t seq;		       /* 1, 2, 3, … */
	char at[CHAIN_AT_LEN + 1];     /* RFC 3339 UTC, milliseconds */
	const char *actor;	       /* one of chain_actors */
	const char *type;	       /* one of chain_types */
	const char *relationship;      /* "rel_…", or NULL: JSON null */
	json_t *data;		       /* a JSON object, in the JCS subset */
	char prev[CHAIN_HASH_HEX + 1]; /* previous hash; 64 "0" for seq 1 */
	char hash[CHAIN_HASH_HEX + 1]; /* this entry's hash; "" until set */
};

/* True when `type` is in chain_types (NULL is not). */
bool chain_type_valid(const char *type);

/* True when `actor` is in chain_actors (NULL is not). */
bool chain_actor_valid(const char *actor);

/* Writes `ms` milliseconds since the Unix epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * (exactly CHAIN_AT_LEN characters and a NUL) into out. Returns CHAIN_OK,
 * or CHAIN_EINVAL when ms is outside [0, CHAIN_AT_MS_MAX]. */
int chain_format_at(int64_t ms, char out[CHAIN_AT_LEN + 1]);

/* Parses an `at` written by chain_format_at, strictly: exactly that shape,
 * a real calendar date, no leap second, no other offset than "Z". Returns
 * CHAIN_OK and sets *ms, or CHAIN_EINVAL. */
int chain_parse_at(const char *at, int64_t *ms);

/* Lowercase hex of a hash: out gets CHAIN_HASH_HEX digits and a NUL. */
void chain_hex_encode(const uint8_t hash[CHAIN_HASH_BYTES],
		      char out[CHAIN_HASH_HEX + 1]);

/* Decodes exactly CHAIN_HASH_HEX lowercase hex digits (then a NUL). Returns
 * CHAIN_OK, or CHAIN_EINVAL for anything else (uppercase included: the
 * chain has one spelling per hash). */
int chain_hex_decode(const char *hex, uint8_t out[CHAIN_HASH_BYTES]);

/* Checks every field of e against the contract above (seq >= 1 and below
 * 2^53, `at` canonical, actor and type known, relationship NULL or a rel_
 * id, data an object, prev hex; hash "" or hex). Returns CHAIN_OK, or
 * CHAIN_EINVAL and, when why is not NULL, a sentence in why. */
int chain_entry_check(const struct chain_entry *e, char *why, size_t why_len);

/* The entry as a new JSON object, with "hash" when with_hash (which then
 * must be set). The caller owns *out. Returns CHAIN_OK, CHAIN_EINVAL when
 * chain_entry_check fails, or CHAIN_ENOMEM; *out is NULL on error. */
int chain_entry_to_json(const struct chain_entry *e, bool with_hash,
			json_t **out);

/* Reads an entry object (as written by chain_entry_to_json) into *out,
 * which then borrows strings and data from obj: obj must outlive it. With
 * want_hash, "hash" is required; without, it must be absent. Any other key,
 * a missing key or a wrong type is refused. Returns CHAIN_OK, or
 * CHAIN_EINVAL and a sentence in why (when not NULL). */
int chain_entry_from_json(json_t *obj, bool want_hash, struct chain_entry *out,
			  char *why, size_t why_len);

/* The hash of an entry whose canonical bytes are already known:
 * BLAKE2b-256(prev ‖ jcs[0..len)). Returns CHAIN_OK or CHAIN_ENOMEM (the
 * crypto library could not start). */
int chain_hash_bytes(const uint8_t prev[CHAIN_HASH_BYTES], const char *jcs,
		     size_t len, uint8_t out[CHAIN_HASH_BYTES]);

/* Computes e's hash from its fields ("hash" itself is ignored). Returns
 * CHAIN_OK, CHAIN_EINVAL (chain_entry_check fails, or data is outside the
 * JCS subset) or CHAIN_ENOMEM. */
int chain_entry_hash(const struct chain_entry *e,
		     uint8_t out[CHAIN_HASH_BYTES]);

/* Computes e's hash and writes it into e->hash. Same returns as above. */
int chain_entry_set_hash(struct chain_entry *e);

/* What the verifier found. The names are the strings chain_fault_name
 * returns, for `cmr ledger verify` and logs. */
enum chain_fault {
	CHAIN_INTACT = 0,      /* "intact": every check held */
	CHAIN_FAULT_MALFORMED, /* "malformed": a field breaks the contract */
	CHAIN_FAULT_EDITED,    /* "edited": hash differs from the content */
	CHAIN_FAULT_DELETED,   /* "deleted": a seq is missing (a gap) */
	CHAIN_FAULT_REORDERED, /* "reordered": a seq out of place or twice */
	CHAIN_FAULT_LINK,      /* "unlinked": prev is not the previous hash,
				* so this or the previous entry was rewritten
				* whole, hash included */
	CHAIN_FAULT_TRUNCATED, /* "truncated": ends before the head's seq */
	CHAIN_FAULT_HEAD,      /* "head-mismatch": entry at the head's seq
				* has another hash than the head */
	CHAIN_FAULT_NOMEM,     /* "out-of-memory": could not check */
};

/* A signed head's claim: the chain's entry `seq` has hash `hash`. seq 0
 * claims an empty chain, with a hash of 32 zero bytes. */
struct chain_head {
	int64_t seq; /* >= 0 */
	uint8_t hash[CHAIN_HASH_BYTES];
};

struct chain_report {
	enum chain_fault fault;	 /* CHAIN_INTACT when the chain holds */
	int64_t seq;		 /* the first broken seq; 0 when intact */
	char why[CHAIN_WHY_MAX]; /* one sentence naming that entry */
};

/* The wire name of a fault ("edited", …). */
const char *chain_fault_name(enum chain_fault fault);

/* Walks entries[0..n) in order: the entry at index i must have seq i + 1, a
 * valid form, a stored hash equal to the recomputed one, and prev equal to
 * the previous entry's hash (64 zeros for the first). When head is not
 * NULL, the chain must reach head->seq and the entry there must carry
 * head->hash; entries after the head are allowed (a head commits to a
 * prefix: the chain may have grown since it was signed). Stops at the first
 * fault. Returns 0 when intact, -1 otherwise; *report says which seq broke
 * and why in both cases. */
int chain_verify(const struct chain_entry *entries, size_t n,
		 const struct chain_head *head, struct chain_report *report);

/* The same over a JSON array of entry objects, each with its "hash" (an
 * export, or rows read back from the store). An element that is not a
 * well-formed entry is CHAIN_FAULT_MALFORMED at its position. */
int chain_verify_json(json_t *entries, const struct chain_head *head,
		      struct chain_report *report);

#endif
