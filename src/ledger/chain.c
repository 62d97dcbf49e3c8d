/*
 * chain.c — ledger entries: their canonical JSON form, their hash, and the
 * verifier (see chain.h for the rules).
 *
 * Hashing goes through the JSON object rather than straight from the
 * struct so that there is one road from an entry to its bytes: the object
 * the API returns and the bytes that are hashed cannot drift apart.
 */
#include "ledger/chain.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/jcs.h"

const char *const chain_types[] = {
	"proposal.received",
	"proposal.declined",
	"relationship.accepted",
	"relationship.ended",
	"relationship.muted",
	"relationship.unmuted",
	"terms.changed",
	"fields.read",
	"profile.changed",
	"delivery.changed",
	"settings.changed",
	"intent.published",
	"intent.withdrawn",
	"feedback.opened",
	"feedback.published",
	"credit.issued",
	"credit.redeemed",
	"unsubscribe.sent",
	"reply.sent",
	"erasure",
	NULL,
};

const char *const chain_actors[] = { "person", "brand", "system", NULL };

/* The hex of the 32 zero bytes that stand before the first entry. */
static const char chain_zero_hex[CHAIN_HASH_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* The keys of an entry object, "hash" last; hashing uses all but it. */
static const char *const chain_keys[] = {
	"seq", "at", "actor", "type", "relationship", "data", "prev", "hash",
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
chain_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static bool chain_in_table(const char *const *table, const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; table[i]; i++)
		if (strcmp(table[i], s) == 0)
			return true;
	return false;
}

bool chain_type_valid(const char *type)
{
	return chain_in_table(chain_types, type);
}

bool chain_actor_valid(const char *actor)
{
	return chain_in_table(chain_actors, actor);
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's algorithms): no gmtime, so no locale, time zone or time_t width
 * enters a hashed field. */
static int64_t chain_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void chain_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

int chain_format_at(int64_t ms, char out[CHAIN_AT_LEN + 1])
{
	int64_t days, rem, y, mo, d;

	if (ms < 0 || ms > CHAIN_AT_MS_MAX)
		return CHAIN_EINVAL;
	days = ms / 86400000;
	rem = ms % 86400000;
	chain_civil_from_days(days, &y, &mo, &d);
	/* A roomy buffer: the compiler cannot see that every field fits. */
	char buf[64];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 (int)y, (int)mo, (int)d, (int)(rem / 3600000),
		 (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
		 (int)(rem % 1000));
	memcpy(out, buf, CHAIN_AT_LEN + 1);
	return CHAIN_OK;
}

/* Reads n decimal digits at s; -1 when one is not a digit. */
static int64_t chain_digits(const char *s, int n)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int chain_parse_at(const char *at, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int64_t y, mo, d, h, mi, s, f;

	if (!at || strlen(at) != CHAIN_AT_LEN)
		return CHAIN_EINVAL;
	if (at[4] != '-' || at[7] != '-' || at[10] != 'T' || at[13] != ':' ||
	    at[16] != ':' || at[19] != '.' || at[23] != 'Z')
		return CHAIN_EINVAL;
	y = chain_digits(at, 4);
	mo = chain_digits(at + 5, 2);
	d = chain_digits(at + 8, 2);
	h = chain_digits(at + 11, 2);
	mi = chain_digits(at + 14, 2);
	s = chain_digits(at + 17, 2);
	f = chain_digits(at + 20, 3);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || f < 0)
		return CHAIN_EINVAL;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return CHAIN_EINVAL;
	*ms = ((chain_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
	      s * 1000 + f;
	return CHAIN_OK;
}

void chain_hex_encode(const uint8_t hash[CHAIN_HASH_BYTES],
		      char out[CHAIN_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < CHAIN_HASH_BYTES; i++) {
		out[2 * i] = hex[hash[i] >> 4];
		out[2 * i + 1] = hex[hash[i] & 0xF];
	}
	out[CHAIN_HASH_HEX] = '\0';
}

static int chain_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int chain_hex_decode(const char *hex, uint8_t out[CHAIN_HASH_BYTES])
{
	int i;

	if (!hex)
		return CHAIN_EINVAL;
	for (i = 0; i < CHAIN_HASH_BYTES; i++) {
		int hi = chain_hex_digit(hex[2 * i]);
		int lo = hi < 0 ? -1 : chain_hex_digit(hex[2 * i + 1]);

		if (lo < 0)
			return CHAIN_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[CHAIN_HASH_HEX] == '\0' ? CHAIN_OK : CHAIN_EINVAL;
}

static bool chain_rel_id_valid(const char *rel)
{
	size_t i, n;

	if (strncmp(rel, "rel_", 4) != 0)
		return false;
	n = strlen(rel + 4);
	if (n < 1 || n > CHAIN_REL_ID_MAX)
		return false;
	for (i = 4; rel[i]; i++) {
		char c = rel[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* The checks of chain_entry_check, with or without the hash field. */
static int chain_check(const struct chain_entry *e, bool need_hash, char *why,
		       size_t why_len)
{
	uint8_t raw[CHAIN_HASH_BYTES];
	int64_t ms;

	if (e->seq < 1 || e->seq > JCS_INT_MAX) {
		chain_why(why, why_len, "seq %lld is not between 1 and 2^53",
			  (long long)e->seq);
		return CHAIN_EINVAL;
	}
	if (chain_parse_at(e->at, &ms) != CHAIN_OK) {
		chain_why(why, why_len,
			  "at is not an RFC 3339 UTC time "
			  "with milliseconds");
		return CHAIN_EINVAL;
	}
	if (!chain_actor_valid(e->actor)) {
		chain_why(why, why_len, "actor is not person, brand or system");
		return CHAIN_EINVAL;
	}
	if (!chain_type_valid(e->type)) {
		chain_why(why, why_len, "type is not a ledger entry type");
		return CHAIN_EINVAL;
	}
	if (e->relationship && !chain_rel_id_valid(e->relationship)) {
		chain_why(why, why_len, "relationship is not a rel_ id");
		return CHAIN_EINVAL;
	}
	if (!json_is_object(e->data)) {
		chain_why(why, why_len, "data is not an object");
		return CHAIN_EINVAL;
	}
	if (chain_hex_decode(e->prev, raw) != CHAIN_OK) {
		chain_why(why, why_len, "prev is not 64 lowercase hex digits");
		return CHAIN_EINVAL;
	}
	if ((need_hash || e->hash[0]) &&
	    chain_hex_decode(e->hash, raw) != CHAIN_OK) {
		chain_why(why, why_len, "hash is not 64 lowercase hex digits");
		return CHAIN_EINVAL;
	}
	return CHAIN_OK;
}

int chain_entry_check(const struct chain_entry *e, char *why, size_t why_len)
{
	return chain_check(e, false, why, why_len);
}

int chain_entry_to_json(const struct chain_entry *e, bool with_hash,
			json_t **out)
{
	json_t *o;
	int rc;

	*out = NULL;
	if ((rc = chain_check(e, with_hash, NULL, 0)))
		return rc;
	o = json_object();
	if (!o)
		return CHAIN_ENOMEM;
	/* json_object_set_new steals its value even when it fails, so a NULL
	 * from a constructor is caught by the set failing. */
	if (json_object_set_new(o, "seq", json_integer(e->seq)) ||
	    json_object_set_new(o, "at", json_string(e->at)) ||
	    json_object_set_new(o, "actor", json_string(e->actor)) ||
	    json_object_set_new(o, "type", json_string(e->type)) ||
	    json_object_set_new(o, "relationship",
				e->relationship ? json_string(e->relationship)
						: json_null()) ||
	    json_object_set(o, "data", e->data) ||
	    json_object_set_new(o, "prev", json_string(e->prev)) ||
	    (with_hash &&
	     json_object_set_new(o, "hash", json_string(e->hash)))) {
		json_decref(o);
		return CHAIN_ENOMEM;
	}
	*out = o;
	return CHAIN_OK;
}

/* Copies a hex string field into a fixed buffer; refuses the wrong length
 * (the content is checked later, by chain_check). */
static bool chain_copy_hex(json_t *v, char out[CHAIN_HASH_HEX + 1])
{
	if (!json_is_string(v) || json_string_length(v) != CHAIN_HASH_HEX)
		return false;
	memcpy(out, json_string_value(v), CHAIN_HASH_HEX + 1);
	return true;
}

int chain_entry_from_json(json_t *obj, bool want_hash, struct chain_entry *out,
			  char *why, size_t why_len)
{
	size_t i, n_keys = want_hash ? 8 : 7;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		chain_why(why, why_len, "entry is not an object");
		return CHAIN_EINVAL;
	}
	for (i = 0; i < n_keys; i++) {
		if (!json_object_get(obj, chain_keys[i])) {
			chain_why(why, why_len, "entry has no \"%s\"",
				  chain_keys[i]);
			return CHAIN_EINVAL;
		}
	}
	if (json_object_size(obj) != n_keys) {
		chain_why(why, why_len, "entry has a key it should not have");
		return CHAIN_EINVAL;
	}
	v = json_object_get(obj, "seq");
	if (!json_is_integer(v)) {
		chain_why(why, why_len, "seq is not an integer");
		return CHAIN_EINVAL;
	}
	out->seq = json_integer_value(v);
	v = json_object_get(obj, "at");
	if (!json_is_string(v) || json_string_length(v) != CHAIN_AT_LEN) {
		chain_why(why, why_len,
			  "at is not an RFC 3339 UTC time "
			  "with milliseconds");
		return CHAIN_EINVAL;
	}
	memcpy(out->at, json_string_value(v), CHAIN_AT_LEN + 1);
	out->actor = json_string_value(json_object_get(obj, "actor"));
	out->type = json_string_value(json_object_get(obj, "type"));
	v = json_object_get(obj, "relationship");
	if (!json_is_null(v)) {
		out->relationship = json_string_value(v);
		if (!out->relationship) {
			chain_why(why, why_len,
				  "relationship is neither a string nor null");
			return CHAIN_EINVAL;
		}
	}
	out->data = json_object_get(obj, "data");
	if (!chain_copy_hex(json_object_get(obj, "prev"), out->prev)) {
		chain_why(why, why_len, "prev is not 64 lowercase hex digits");
		return CHAIN_EINVAL;
	}
	if (want_hash &&
	    !chain_copy_hex(json_object_get(obj, "hash"), out->hash)) {
		chain_why(why, why_len, "hash is not 64 lowercase hex digits");
		return CHAIN_EINVAL;
	}
	/* Strings holding U+0000 would read shorter through the C string
	 * pointers than they hash; such an entry is not ours. */
	if ((out->actor &&
	     strlen(out->actor) !=
		     json_string_length(json_object_get(obj, "actor"))) ||
	    (out->type &&
	     strlen(out->type) !=
		     json_string_length(json_object_get(obj, "type"))) ||
	    (out->relationship &&
	     strlen(out->relationship) != json_string_length(json_object_get(
						  obj, "relationship")))) {
		chain_why(why, why_len, "a string holds a NUL character");
		return CHAIN_EINVAL;
	}
	return chain_check(out, want_hash, why, why_len);
}

int chain_hash_bytes(const uint8_t prev[CHAIN_HASH_BYTES], const char *jcs,
		     size_t len, uint8_t out[CHAIN_HASH_BYTES])
{
	crypto_generichash_state st;

	if (sodium_init() < 0)
		return CHAIN_ENOMEM;
	if (crypto_generichash_init(&st, NULL, 0, CHAIN_HASH_BYTES) ||
	    crypto_generichash_update(&st, prev, CHAIN_HASH_BYTES) ||
	    crypto_generichash_update(&st, (const unsigned char *)jcs, len) ||
	    crypto_generichash_final(&st, out, CHAIN_HASH_BYTES))
		return CHAIN_ENOMEM;
	return CHAIN_OK;
}

int chain_entry_hash(const struct chain_entry *e, uint8_t out[CHAIN_HASH_BYTES])
{
	uint8_t prev[CHAIN_HASH_BYTES];
	json_t *o;
	char *jcs;
	size_t len;
	int rc;

	if ((rc = chain_entry_to_json(e, false, &o)))
		return rc;
	rc = jcs_serialize(o, &jcs, &len);
	json_decref(o);
	if (rc == JCS_ERR_NOMEM)
		return CHAIN_ENOMEM;
	if (rc)
		return CHAIN_EINVAL;
	/* chain_entry_to_json checked prev. */
	chain_hex_decode(e->prev, prev);
	rc = chain_hash_bytes(prev, jcs, len, out);
	free(jcs);
	return rc;
}

int chain_entry_set_hash(struct chain_entry *e)
{
	uint8_t h[CHAIN_HASH_BYTES];
	int rc;

	if ((rc = chain_entry_hash(e, h)))
		return rc;
	chain_hex_encode(h, e->hash);
	return CHAIN_OK;
}

const char *chain_fault_name(enum chain_fault fault)
{
	switch (fault) {
	case CHAIN_INTACT:
		return "intact";
	case CHAIN_FAULT_MALFORMED:
		return "malformed";
	case CHAIN_FAULT_EDITED:
		return "edited";
	case CHAIN_FAULT_DELETED:
		return "deleted";
	case CHAIN_FAULT_REORDERED:
		return "reordered";
	case CHAIN_FAULT_LINK:
		return "unlinked";
	case CHAIN_FAULT_TRUNCATED:
		return "truncated";
	case CHAIN_FAULT_HEAD:
		return "head-mismatch";
	case CHAIN_FAULT_NOMEM:
		return "out-of-memory";
	}
	return "unknown";
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
chain_fail(struct chain_report *r, enum chain_fault fault, int64_t seq,
	   const char *fmt, ...)
{
	va_list ap;

	r->fault = fault;
	r->seq = seq;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* The entry at index i does not carry seq i + 1: tell a gap (that seq is
 * nowhere further on) from a move (it is). */
static int chain_misplaced(const struct chain_entry *entries, size_t n,
			   size_t i, struct chain_report *r)
{
	int64_t want = (int64_t)i + 1, got = entries[i].seq;
	size_t j;

	if (got > want) {
		for (j = i + 1; j < n; j++)
			if (entries[j].seq == want)
				break;
		if (j == n)
			return chain_fail(r, CHAIN_FAULT_DELETED, want,
					  "entry %lld is missing: entry %lld "
					  "follows entry %lld",
					  (long long)want, (long long)got,
					  (long long)want - 1);
	}
	return chain_fail(r, CHAIN_FAULT_REORDERED, want,
			  "entry %lld is out of order: position %lld holds "
			  "entry %lld",
			  (long long)want, (long long)want, (long long)got);
}

int chain_verify(const struct chain_entry *entries, size_t n,
		 const struct chain_head *head, struct chain_report *r)
{
	uint8_t h[CHAIN_HASH_BYTES], stored[CHAIN_HASH_BYTES];
	const char *prev = chain_zero_hex;
	char why[CHAIN_WHY_MAX - 32];
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < n; i++) {
		const struct chain_entry *e = &entries[i];
		int64_t seq = (int64_t)i + 1;

		if (e->seq != seq)
			return chain_misplaced(entries, n, i, r);
		if (chain_check(e, true, why, sizeof(why)))
			return chain_fail(r, CHAIN_FAULT_MALFORMED, seq,
					  "entry %lld is malformed: %s",
					  (long long)seq, why);
		rc = chain_entry_hash(e, h);
		if (rc == CHAIN_ENOMEM)
			return chain_fail(r, CHAIN_FAULT_NOMEM, seq,
					  "out of memory at entry %lld",
					  (long long)seq);
		if (rc)
			return chain_fail(r, CHAIN_FAULT_MALFORMED, seq,
					  "entry %lld is malformed: data is "
					  "outside canonical JSON",
					  (long long)seq);
		chain_hex_decode(e->hash, stored);
		if (sodium_memcmp(h, stored, CHAIN_HASH_BYTES) != 0)
			return chain_fail(r, CHAIN_FAULT_EDITED, seq,
					  "entry %lld was edited: its hash "
					  "does not match its content",
					  (long long)seq);
		if (strcmp(e->prev, prev) != 0)
			return chain_fail(r, CHAIN_FAULT_LINK, seq,
					  "entry %lld does not link to entry "
					  "%lld: one of them was rewritten",
					  (long long)seq, (long long)seq - 1);
		prev = e->hash;
	}
	if (head) {
		if (head->seq < 0)
			return chain_fail(r, CHAIN_FAULT_HEAD, 0,
					  "the head's seq is negative");
		if ((uint64_t)head->seq > n)
			return chain_fail(r, CHAIN_FAULT_TRUNCATED,
					  (int64_t)n + 1,
					  "the chain ends at entry %lld but "
					  "the signed head is at entry %lld",
					  (long long)n, (long long)head->seq);
		if (head->seq == 0)
			memset(stored, 0, sizeof(stored));
		else
			chain_hex_decode(entries[head->seq - 1].hash, stored);
		if (sodium_memcmp(head->hash, stored, CHAIN_HASH_BYTES) != 0)
			return chain_fail(r, CHAIN_FAULT_HEAD, head->seq,
					  "entry %lld does not have the "
					  "signed head's hash",
					  (long long)head->seq);
	}
	r->fault = CHAIN_INTACT;
	r->seq = 0;
	snprintf(r->why, sizeof(r->why), "%zu entries intact", n);
	return 0;
}

int chain_verify_json(json_t *entries, const struct chain_head *head,
		      struct chain_report *r)
{
	struct chain_entry *e;
	char why[CHAIN_WHY_MAX - 32];
	size_t i, n;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_array(entries))
		return chain_fail(r, CHAIN_FAULT_MALFORMED, 1,
				  "the chain is not a JSON array");
	n = json_array_size(entries);
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return chain_fail(r, CHAIN_FAULT_NOMEM, 0, "out of memory");
	for (i = 0; i < n; i++) {
		if (chain_entry_from_json(json_array_get(entries, i), true,
					  &e[i], why, sizeof(why))) {
			/* A fault before this one is the first broken seq. */
			rc = chain_verify(e, i, NULL, r);
			/* Report the position under the seq it should carry:
			 * the entry's own may be what is broken. */
			if (rc == 0)
				rc = chain_fail(r, CHAIN_FAULT_MALFORMED,
						(int64_t)i + 1,
						"entry %zu is malformed: %s",
						i + 1, why);
			free(e);
			return rc;
		}
	}
	rc = chain_verify(e, n, head, r);
	free(e);
	return rc;
}
