/*
 * id.h — API ids: a type prefix and 16 Crockford base32 characters
 * ("rel_k3x9q2r7m4vt8wzp") encoding a store's compact 64-bit key.
 *
 * The 80 encoded bits are the key passed through an invertible mixing
 * function (so sequential or time-ordered keys do not look sequential)
 * plus a 16-bit check that catches typos and most made-up ids before the
 * store is asked. Opacity here is cosmetic: access control never relies
 * on an id being hard to guess. Pure.
 */
#ifndef CMR_CORE_ID_H
#define CMR_CORE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum id_type {
	ID_PERSON,	 /* per_ */
	ID_BRAND,	 /* brd_ */
	ID_PROPOSAL,	 /* prp_ */
	ID_RELATIONSHIP, /* rel_ */
	ID_MESSAGE,	 /* msg_ */
	ID_CAMPAIGN,	 /* cmp_ */
	ID_OFFER,	 /* off_ */
	ID_INTENT,	 /* int_ */
	ID_FEEDBACK,	 /* fbk_ */
	ID_CREDIT,	 /* crd_ */
	ID_TOKEN,	 /* tok_ */
	ID_TYPE_COUNT
};

#define ID_LEN	20 /* prefix (4) + 16 characters */
#define ID_SIZE (ID_LEN + 1)

/* Writes the id of key into out (NUL-terminated, ID_SIZE bytes). */
void id_encode(enum id_type type, uint64_t key, char out[ID_SIZE]);

/* The key of an id of the given type; false when s is not such an id
 * (wrong prefix, length, alphabet or check). Accepts upper case and the
 * Crockford look-alikes (O→0, I/L→1) so that ids read aloud still work. */
bool id_decode(enum id_type type, const char *s, uint64_t *key);

/* Crockford base32 of `nbits` (a multiple of 5) bits taken from the high
 * end of the big-endian bytes in (at least nbits / 8 bytes, rounded up),
 * lower case, NUL-terminated (nbits / 5 + 1 bytes of out). Used for
 * aliases, reply addresses (core/replyaddr) and connect codes as well. */
void id_base32(const uint8_t *in, unsigned nbits, char *out);

/* Decodes n Crockford characters (case-insensitive, look-alikes mapped,
 * no separators) into big-endian bytes; false on a bad character. */
bool id_base32_decode(const char *s, unsigned n, uint8_t *out, size_t out_len);

/* Whether c is one of the 32 characters id_base32 writes, in either case
 * (the look-alikes o, i, l and u are not: an address is copied, never read
 * aloud). */
bool id_base32_char(char c);

#endif
