/*
 * jcs.c — the RFC 8785 canonical JSON serializer (see jcs.h for the rules
 * and the subset).
 *
 * One recursive walk appends to a growable buffer. Objects are written by
 * collecting their members into a temporary array and sorting it by the
 * UTF-16 order of the keys; every string is checked for valid UTF-8 before
 * it is written or compared, since the comparison decodes it.
 */
#include "ledger/jcs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* The output being built; `p` is NUL-terminated whenever `cap` > 0. */
struct jcs_buf {
	char *p;    /* malloc'd, owned by the walk until handed out */
	size_t len; /* bytes written, NUL excluded */
	size_t cap; /* bytes allocated */
};

/* One member of an object, while the object's members are being sorted. */
struct jcs_member {
	const char *key; /* borrowed from the object */
	size_t key_len;	 /* keys may hold U+0000, so never strlen */
	json_t *value;	 /* borrowed */
};

static int jcs_write(struct jcs_buf *b, const json_t *v, int depth);

static int jcs_reserve(struct jcs_buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (more > SIZE_MAX - b->len - 1)
		return JCS_ERR_NOMEM;
	need = b->len + more + 1;
	if (need <= b->cap)
		return JCS_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->p, cap);
	if (!p)
		return JCS_ERR_NOMEM;
	b->p = p;
	b->cap = cap;
	return JCS_OK;
}

static int jcs_append(struct jcs_buf *b, const char *s, size_t n)
{
	int rc = jcs_reserve(b, n);

	if (rc)
		return rc;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return JCS_OK;
}

static int jcs_append_char(struct jcs_buf *b, char c)
{
	return jcs_append(b, &c, 1);
}

/* A reader that yields a UTF-8 string as UTF-16 code units. */
struct jcs_utf16_reader {
	const char *s;
	size_t len;
	size_t i;
	uint32_t low; /* pending low surrogate, 0 when none */
};

/* Next code unit, or -1 at the end. */
static int32_t jcs_utf16_next(struct jcs_utf16_reader *r)
{
	uint32_t cp;
	size_t n;

	if (r->low) {
		cp = r->low;
		r->low = 0;
		return (int32_t)cp;
	}
	if (r->i >= r->len)
		return -1;
	n = utf8_decode(r->s + r->i, r->len - r->i, &cp);
	if (n == 0) {
		/* Not UTF-8, which the contract rules out: rather than read
		 * past the end, the byte counts as a code unit of its own. */
		cp = (unsigned char)r->s[r->i];
		n = 1;
	}
	r->i += n;
	if (cp < 0x10000)
		return (int32_t)cp;
	cp -= 0x10000;
	r->low = 0xDC00 | (cp & 0x3FF);
	return (int32_t)(0xD800 | (cp >> 10));
}

int jcs_utf16_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	struct jcs_utf16_reader ra = { a, a_len, 0, 0 };
	struct jcs_utf16_reader rb = { b, b_len, 0, 0 };

	for (;;) {
		int32_t ua = jcs_utf16_next(&ra);
		int32_t ub = jcs_utf16_next(&rb);

		/* -1 at the end sorts a prefix before what extends it. */
		if (ua != ub)
			return ua < ub ? -1 : 1;
		if (ua < 0)
			return 0;
	}
}

static int jcs_member_cmp(const void *pa, const void *pb)
{
	const struct jcs_member *a = pa, *b = pb;

	return jcs_utf16_cmp(a->key, a->key_len, b->key, b->key_len);
}

static int jcs_write_string(struct jcs_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run;
	int rc;

	if (!utf8_valid(s, len))
		return JCS_ERR_UTF8;
	if ((rc = jcs_append_char(b, '"')))
		return rc;
	run = 0; /* start of the pending literal run */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((rc = jcs_append(b, s + run, i - run)))
			return rc;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			n = 6;
		}
		if ((rc = jcs_append(b, esc, n)))
			return rc;
	}
	if ((rc = jcs_append(b, s + run, len - run)))
		return rc;
	return jcs_append_char(b, '"');
}

static int jcs_write_integer(struct jcs_buf *b, json_int_t v)
{
	char num[24];
	int n;

	if (v > JCS_INT_MAX || v < -JCS_INT_MAX)
		return JCS_ERR_RANGE;
	n = snprintf(num, sizeof(num), "%lld", (long long)v);
	return jcs_append(b, num, (size_t)n);
}

static int jcs_write_array(struct jcs_buf *b, const json_t *v, int depth)
{
	size_t i, n = json_array_size(v);
	int rc;

	if ((rc = jcs_append_char(b, '[')))
		return rc;
	for (i = 0; i < n; i++) {
		if (i && (rc = jcs_append_char(b, ',')))
			return rc;
		if ((rc = jcs_write(b, json_array_get(v, i), depth + 1)))
			return rc;
	}
	return jcs_append_char(b, ']');
}

static int jcs_write_object(struct jcs_buf *b, const json_t *v, int depth)
{
	struct jcs_member *m;
	size_t i, n = json_object_size(v);
	const char *key;
	size_t key_len;
	json_t *value;
	int rc = JCS_OK;

	if (n == 0)
		return jcs_append(b, "{}", 2);
	m = calloc(n, sizeof(*m));
	if (!m)
		return JCS_ERR_NOMEM;
	i = 0;
	/* jansson's iteration macros take a non-const object; iterating does
	 * not modify it. */
	json_object_keylen_foreach((json_t *)v, key, key_len, value)
	{
		if (i == n)
			break;
		/* Validate before sorting: the comparison decodes UTF-8. */
		if (!utf8_valid(key, key_len)) {
			rc = JCS_ERR_UTF8;
			goto out;
		}
		m[i].key = key;
		m[i].key_len = key_len;
		m[i].value = value;
		i++;
	}
	n = i;
	qsort(m, n, sizeof(*m), jcs_member_cmp);
	if ((rc = jcs_append_char(b, '{')))
		goto out;
	for (i = 0; i < n; i++) {
		if (i && (rc = jcs_append_char(b, ',')))
			goto out;
		if ((rc = jcs_write_string(b, m[i].key, m[i].key_len)))
			goto out;
		if ((rc = jcs_append_char(b, ':')))
			goto out;
		if ((rc = jcs_write(b, m[i].value, depth + 1)))
			goto out;
	}
	rc = jcs_append_char(b, '}');
out:
	free(m);
	return rc;
}

/* `depth` counts the arrays and objects enclosing v. */
static int jcs_write(struct jcs_buf *b, const json_t *v, int depth)
{
	if (!v)
		return JCS_ERR_TYPE;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (depth >= JCS_MAX_DEPTH)
			return JCS_ERR_DEPTH;
		return jcs_write_object(b, v, depth);
	case JSON_ARRAY:
		if (depth >= JCS_MAX_DEPTH)
			return JCS_ERR_DEPTH;
		return jcs_write_array(b, v, depth);
	case JSON_STRING:
		return jcs_write_string(b, json_string_value(v),
					json_string_length(v));
	case JSON_INTEGER:
		return jcs_write_integer(b, json_integer_value(v));
	case JSON_TRUE:
		return jcs_append(b, "true", 4);
	case JSON_FALSE:
		return jcs_append(b, "false", 5);
	case JSON_NULL:
		return jcs_append(b, "null", 4);
	case JSON_REAL:
	default:
		return JCS_ERR_TYPE;
	}
}

int jcs_serialize(const json_t *value, char **out, size_t *out_len)
{
	struct jcs_buf b = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = jcs_write(&b, value, 0);
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	if (out_len)
		*out_len = b.len;
	return JCS_OK;
}

const char *jcs_strerror(int status)
{
	switch (status) {
	case JCS_OK:
		return "ok";
	case JCS_ERR_NOMEM:
		return "out of memory";
	case JCS_ERR_TYPE:
		return "not a JSON value of the canonical subset";
	case JCS_ERR_RANGE:
		return "integer out of range (|v| >= 2^53)";
	case JCS_ERR_UTF8:
		return "string is not valid UTF-8";
	case JCS_ERR_DEPTH:
		return "nested too deeply";
	default:
		return "unknown error";
	}
}
