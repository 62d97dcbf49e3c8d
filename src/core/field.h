/*
 * field.h — the profile's vocabulary and the shapes of contact details.
 *
 * A person's profile holds only the fields named here, and a brand's
 * proposal asks only for these (the OpenAPI document lists them under
 * Profile). Each has a kind that says what its value must look like: an
 * email address (an RFC 5322 addr-spec without comments or quoted local
 * parts, with a DNS domain), a phone number in E.164 form, a calendar date
 * (RFC 3339 full-date), a country (ISO 3166-1 alpha-2), a language (a BCP
 * 47 tag's shape), or text of a bounded length. A brand's web addresses
 * must be https URLs (field_https_url_ok).
 *
 * Pure: no I/O, no allocation, no clock.
 */
#ifndef CMR_CORE_FIELD_H
#define CMR_CORE_FIELD_H

#include <stdbool.h>
#include <stddef.h>

enum field_kind {
	FIELD_TEXT,	/* UTF-8 with no control character but newline */
	FIELD_EMAIL,	/* local@domain */
	FIELD_PHONE,	/* +, then 8 to 15 digits, the first not 0 */
	FIELD_DATE,	/* YYYY-MM-DD, a day that exists, year 1850.. */
	FIELD_COUNTRY,	/* two capital letters */
	FIELD_LANGUAGE, /* letters, digits and '-', 2 to 35 */
};

struct field {
	const char *name;     /* the profile's key, e.g. "email" */
	enum field_kind kind; /* what its value looks like */
	size_t max;	      /* the longest value, in bytes */
	const char *category; /* Kantara v1.1 PII category, for receipts */
	const char *what;     /* for people: what the field holds */
};

/* The vocabulary, in the order documented. */
extern const struct field field_vocabulary[];
extern const size_t field_vocabulary_count;

/* The vocabulary's names, ", "-separated, into out (truncated to size). */
void field_vocabulary_list(char *out, size_t size);

/* The field named name, or NULL when the vocabulary has none. */
const struct field *field_find(const char *name);

/* Whether value (NUL-terminated) is a valid value of field f; if not, why
 * (one sentence naming the expected shape) into why. */
bool field_value_ok(const struct field *f, const char *value, char *why,
		    size_t whylen);

/* UTF-8 without control characters but newline (s[0..len)). */
bool field_text_ok(const char *s, size_t len);

bool field_email_ok(const char *s);
bool field_phone_ok(const char *s);
bool field_date_ok(const char *s);

/* An absolute https URL with a host, no userinfo, no whitespace or control
 * characters, at most 2,000 bytes. */
bool field_https_url_ok(const char *s);

#endif
