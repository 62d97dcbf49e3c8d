/*
 * jcs.h — RFC 8785 canonical JSON (JCS) for the subset the ledger and the
 * receipts use: strings, integers with |v| < 2^53, true, false, null,
 * arrays and objects.
 *
 * jansson's own output is not canonical (key order, escapes, numbers), and
 * a hash or a signature over JSON needs exactly one byte sequence per value,
 * so the ledger hashes and receipts sign what this serializer writes:
 *   - object members sorted by their keys as UTF-16 code units (not as UTF-8
 *     bytes: the two orders differ once a key holds a character beyond the
 *     BMP next to one in U+E000..U+FFFF);
 *   - strings escaped as ECMAScript's JSON.stringify does: \b \t \n \f \r
 *     \" \\, \u00xx (lowercase hex) for the other controls, every other
 *     character literal ("/" and non-ASCII included);
 *   - integers in plain decimal; no whitespace anywhere.
 * Reals are refused rather than formatted: we never store one, and ES6
 * number formatting is a rabbit hole we do not need.
 *
 * Pure: no I/O, no globals. Thread-safe.
 */
#ifndef CMR_LEDGER_JCS_H
#define CMR_LEDGER_JCS_H

#include <jansson.h>
#include <stddef.h>

/* Deepest nesting of arrays and objects we serialize: jansson's own parser
 * limit, so whatever jansson parsed, we can write. */
#define JCS_MAX_DEPTH 2048

/* Largest magnitude an integer may have: 2^53 - 1, the integers an IEEE
 * double (and so every JavaScript verifier) holds exactly. */
#define JCS_INT_MAX 9007199254740991LL

enum jcs_status {
	JCS_OK = 0,
	JCS_ERR_NOMEM = -1, /* out of memory */
	JCS_ERR_TYPE = -2,  /* a real, or NULL where a value was expected */
	JCS_ERR_RANGE = -3, /* an integer with |v| >= 2^53 */
	JCS_ERR_UTF8 = -4,  /* a string or key that is not valid UTF-8 */
	JCS_ERR_DEPTH = -5, /* nested deeper than JCS_MAX_DEPTH */
};

/* Writes the canonical form of `value`. On JCS_OK, *out is a new buffer of
 * *out_len bytes plus a terminating NUL (not counted), owned by the caller,
 * who frees it with free(); note that a string holding U+0000 is written as
 * \u0000, so the output never contains a NUL byte itself. On any error,
 * *out is NULL and *out_len 0. `out_len` may be NULL. Never modifies or
 * keeps a reference to `value`. */
int jcs_serialize(const json_t *value, char **out, size_t *out_len);

/* A short English description of a jcs_status, for logs and errors. */
const char *jcs_strerror(int status);

/* Compares two valid UTF-8 strings by their UTF-16 code units, the order
 * RFC 8785 sorts keys in: <0, 0 or >0 like strcmp. */
int jcs_utf16_cmp(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
