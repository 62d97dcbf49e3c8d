/*
 * field.c — the profile's vocabulary and the shapes of contact details (see
 * field.h).
 */
#include "core/field.h"

#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

const struct field field_vocabulary[] = {
	{ "name", FIELD_TEXT, 200, "1 - Biographical",
	  "the name to address the person by" },
	{ "email", FIELD_EMAIL, 254, "2 - Contact",
	  "an email address (a brand reaching the person by email uses the "
	  "relationship's alias)" },
	{ "phone", FIELD_PHONE, 16, "2 - Contact",
	  "a phone number in E.164 form, e.g. +4915112345678" },
	{ "address", FIELD_TEXT, 1000, "2 - Contact",
	  "a postal address, lines separated by newlines" },
	{ "birthday", FIELD_DATE, 10, "1 - Biographical",
	  "a date, YYYY-MM-DD" },
	{ "country", FIELD_COUNTRY, 2, "1 - Biographical",
	  "a country, ISO 3166-1 alpha-2 (e.g. DE)" },
	{ "language", FIELD_LANGUAGE, 35, "1 - Biographical",
	  "a preferred language, a BCP 47 tag (e.g. de-AT)" },
	{ "sizes", FIELD_TEXT, 200, "1 - Biographical",
	  "clothing and shoe sizes, as the person writes them" },
	{ "interests", FIELD_TEXT, 1000, "15 - Behavioral",
	  "what the person wants to hear about, in their words" },
};
const size_t field_vocabulary_count =
	sizeof(field_vocabulary) / sizeof(field_vocabulary[0]);

void field_vocabulary_list(char *out, size_t size)
{
	size_t k = 0;
	out[0] = '\0';
	for (size_t i = 0; i < field_vocabulary_count && k < size; i++)
		k += (size_t)snprintf(out + k, size - k, "%s%s", i ? ", " : "",
				      field_vocabulary[i].name);
}

const struct field *field_find(const char *name)
{
	for (size_t i = 0; i < field_vocabulary_count; i++)
		if (strcmp(field_vocabulary[i].name, name) == 0)
			return &field_vocabulary[i];
	return NULL;
}

static bool field_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool field_alnum(char c)
{
	return field_digit(c) || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* A DNS name: labels of letters, digits and '-' (not first or last), 1 to
 * 63 bytes each, at most 253 in all, and at least two labels. */
static bool field_domain_ok(const char *s, size_t len)
{
	size_t label = 0, labels = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			labels++;
			label = 0;
			continue;
		}
		if (!field_alnum(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		label++;
	}
	return labels >= 2;
}

bool field_email_ok(const char *s)
{
	/* RFC 5322 §3.4.1 dot-atom local part (atext and dots, not first,
	 * last or doubled), at most 64 bytes (RFC 5321 §4.5.3.1.1). */
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const char *at = strrchr(s, '@');
	if (at == NULL || strlen(s) > 254)
		return false;
	size_t local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		char c = s[i];
		if (c == '.' ? s[i + 1] == '.'
			     : !field_alnum(c) && strchr(atext, c) == NULL)
			return false;
	}
	return field_domain_ok(at + 1, strlen(at + 1));
}

bool field_phone_ok(const char *s)
{
	/* ITU-T E.164: at most 15 digits after the +, no leading 0; fewer
	 * than 8 is no full international number. */
	size_t n = strlen(s);
	if (n < 9 || n > 16 || s[0] != '+' || s[1] == '0')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!field_digit(s[i]))
			return false;
	return true;
}

bool field_date_ok(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !field_digit(s[i]))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
		(s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int days[] = { 31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };
	if (y < 1850 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= days[m - 1] + (m == 2 && leap);
}

bool field_https_url_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > 2000 || strncmp(s, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	const char *host = s + 8;
	size_t hlen = strcspn(host, "/?#");
	if (memchr(host, '@', hlen) != NULL)
		return false; /* userinfo: a URL that reads as another host */
	const char *colon = memchr(host, ':', hlen);
	size_t name = colon ? (size_t)(colon - host) : hlen;
	if (colon) {
		size_t port = hlen - name - 1;
		if (port == 0 || port > 5)
			return false;
		for (size_t i = 1; i <= port; i++)
			if (!field_digit(colon[i]))
				return false;
	}
	return field_domain_ok(host, name);
}

bool field_text_ok(const char *s, size_t len)
{
	if (utf8_valid_prefix(s, len) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n') ||
		    s[i] == 0x7f)
			return false;
	return true;
}

bool field_value_ok(const struct field *f, const char *value, char *why,
		    size_t whylen)
{
	size_t len = strlen(value);
	bool ok = len >= 1 && len <= f->max;
	switch (f->kind) {
	case FIELD_TEXT:
		ok = ok && field_text_ok(value, len);
		break;
	case FIELD_EMAIL:
		ok = ok && field_email_ok(value);
		break;
	case FIELD_PHONE:
		ok = ok && field_phone_ok(value);
		break;
	case FIELD_DATE:
		ok = ok && field_date_ok(value);
		break;
	case FIELD_COUNTRY:
		ok = ok && len == 2 && value[0] >= 'A' && value[0] <= 'Z' &&
		     value[1] >= 'A' && value[1] <= 'Z';
		break;
	case FIELD_LANGUAGE:
		ok = ok && len >= 2 && field_alnum(value[0]);
		for (size_t i = 0; ok && i < len; i++)
			ok = field_alnum(value[i]) ||
			     (value[i] == '-' && value[i - 1] != '-' &&
			      i + 1 < len);
		break;
	}
	if (!ok)
		snprintf(why, whylen, "%s is %s (at most %zu bytes)", f->name,
			 f->what, f->max);
	return ok;
}
