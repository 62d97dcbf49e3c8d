/*
 * authres.c — reading Authentication-Results (RFC 8601) and aligning
 * domains by the public suffix list (see authres.h).
 *
 * The parser walks the value once with a cursor that never passes its end.
 * Comments are skipped by counting their depth (no recursion, so nesting
 * depth costs nothing), quoted strings are unescaped into a bounded buffer,
 * and every token that is kept must fit its place or the field fails: a
 * domain cut short could be a different domain. The grammar (RFC 8601 §2.2)
 * is followed for the parts that decide (authserv-id, version, methodspec,
 * ptype.property); property values are read more leniently than the ABNF
 * because real writers put base64 and bare addresses there.
 */
#include "mail/authres.h"

#include <string.h>

#include "base/domain.h"

#define KEYWORD_MAX 64 /* methods, results, ptypes, properties */

/* Where the parser is in one field value. */
struct cursor {
	const char *p;	 /* the next byte */
	const char *end; /* one past the last byte */
	bool bad;	 /* not well formed; stop */
};

/* A keyword as it stands in the value (not NUL-terminated). */
struct word {
	const char *s; /* its first byte */
	size_t len;    /* 1..KEYWORD_MAX */
};

/* What one resinfo said about the domains the decision needs. */
struct resinfo {
	char d[AUTHRES_DOMAIN_MAX];	/* header.d, lower case */
	char i_dom[AUTHRES_DOMAIN_MAX]; /* header.i's domain, lower case */
	char from[AUTHRES_DOMAIN_MAX];	/* header.from, lower case */
	bool has_d, has_i, has_from;	/* seen (the first one counts) */
};

static bool is_wsp(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Control characters other than HT; bytes >= 0x80 are UTF-8 (RFC 6532). */
static bool is_ctl(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

static bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alnum(unsigned char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z');
}

static char lower(unsigned char ch)
{
	return (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
}

/* An RFC 2045 token character (what an unquoted authserv-id is made of). */
static bool is_token(unsigned char ch)
{
	if (ch >= 0x80)
		return true;
	if (ch <= 0x20 || ch == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* A character of an unquoted property value: anything visible but what
 * ends it (";", a comment, a quote, a backslash). */
static bool is_pvalue(unsigned char ch)
{
	if (ch >= 0x80)
		return true;
	if (ch <= 0x20 || ch == 0x7f)
		return false;
	return strchr("();\"\\", ch) == NULL;
}

static bool word_is(const struct word *w, const char *s)
{
	size_t n = strlen(s);

	if (w->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)w->s[i]) != s[i])
			return false;
	return true;
}

static bool same_ascii_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* The length of the line break at c->p (CRLF or LF), 0 when none. */
static size_t cur_break(const struct cursor *c)
{
	if (c->p < c->end && c->p[0] == '\n')
		return 1;
	if (c->end - c->p >= 2 && c->p[0] == '\r' && c->p[1] == '\n')
		return 2;
	return 0;
}

/* Skips folding white space. A line break must be followed by WSP (it is
 * a fold) or end the value; any other is not well formed, and so is a CR
 * on its own (left for the caller to find). Returns whether it moved. */
static bool cur_fws(struct cursor *c)
{
	const char *start = c->p;

	while (!c->bad && c->p < c->end) {
		size_t n;

		if (is_wsp((unsigned char)*c->p)) {
			c->p++;
			continue;
		}
		n = cur_break(c);
		if (n == 0)
			break;
		if (c->p + n < c->end && !is_wsp((unsigned char)c->p[n]))
			c->bad = true;
		else
			c->p += n;
	}
	return c->p != start;
}

/* Skips a backslash and the character it quotes (VCHAR, WSP or UTF-8). */
static void cur_quoted_pair(struct cursor *c)
{
	if (c->end - c->p < 2 || is_ctl((unsigned char)c->p[1]))
		c->bad = true;
	else
		c->p += 2;
}

/* Skips a comment at c->p (which is "("); comments nest, and quoted pairs
 * in them may escape parentheses. A quote is ordinary text in a comment
 * (RFC 5322 ctext). */
static void cur_comment(struct cursor *c)
{
	size_t depth = 0;

	do {
		unsigned char ch;

		if (c->p >= c->end) {
			c->bad = true; /* unterminated */
			return;
		}
		ch = (unsigned char)*c->p;
		if (ch == '(') {
			depth++;
			c->p++;
		} else if (ch == ')') {
			depth--;
			c->p++;
		} else if (ch == '\\') {
			cur_quoted_pair(c);
		} else if (ch == '\r' || ch == '\n') {
			if (!cur_fws(c))
				c->bad = true; /* a CR on its own */
		} else if (is_ctl(ch)) {
			c->bad = true;
		} else {
			c->p++;
		}
	} while (!c->bad && depth > 0);
}

/* Skips CFWS: white space, folds and comments. Returns whether it moved. */
static bool cur_cfws(struct cursor *c)
{
	const char *start = c->p;

	for (;;) {
		cur_fws(c);
		if (c->bad || c->p >= c->end || *c->p != '(')
			break;
		cur_comment(c);
	}
	return c->p != start;
}

/* Appends ch to buf, which holds *n bytes and has room for size; a value
 * that does not fit (with its NUL) is not well formed. */
static void buf_put(struct cursor *c, char *buf, size_t size, size_t *n,
		    char ch)
{
	if (*n + 1 >= size) {
		c->bad = true;
		return;
	}
	buf[(*n)++] = ch;
}

/* Reads a quoted string at c->p (which is '"') and appends its contents,
 * unescaped and unfolded, to buf. */
static void cur_quoted(struct cursor *c, char *buf, size_t size, size_t *n)
{
	c->p++;
	while (!c->bad) {
		unsigned char ch;
		size_t brk;

		if (c->p >= c->end) {
			c->bad = true; /* unterminated */
			return;
		}
		ch = (unsigned char)*c->p;
		if (ch == '"') {
			c->p++;
			return;
		}
		brk = cur_break(c);
		if (brk) {
			/* Unfolding drops the line break, keeps the WSP. */
			if (c->p + brk >= c->end ||
			    !is_wsp((unsigned char)c->p[brk]))
				c->bad = true;
			c->p += brk;
			continue;
		}
		if (ch == '\\') {
			cur_quoted_pair(c);
			if (!c->bad)
				buf_put(c, buf, size, n, c->p[-1]);
			continue;
		}
		if (is_ctl(ch)) {
			c->bad = true;
			return;
		}
		buf_put(c, buf, size, n, (char)ch);
		c->p++;
	}
}

/* Reads a keyword (RFC 8601: an ldh-str; "_" is also taken). */
static bool cur_keyword(struct cursor *c, struct word *w)
{
	w->s = c->p;
	while (c->p < c->end &&
	       (is_alnum((unsigned char)*c->p) || *c->p == '-' || *c->p == '_'))
		c->p++;
	w->len = (size_t)(c->p - w->s);
	if (w->len == 0 || w->len > KEYWORD_MAX)
		c->bad = true;
	return !c->bad;
}

/* Reads a run of digits as a version number; anything but 1 (with any
 * leading zeros) is reported as such. */
static bool cur_version_is_1(struct cursor *c)
{
	const char *start = c->p;
	unsigned long v = 0;

	while (c->p < c->end && is_digit((unsigned char)*c->p)) {
		if (v < 1000)
			v = v * 10 + (unsigned long)(*c->p - '0');
		c->p++;
	}
	if (c->p == start)
		c->bad = true;
	return v == 1;
}

/* Reads a value (RFC 2045: a token or a quoted string) into buf, lower
 * case; an empty one is not well formed. */
static void cur_value(struct cursor *c, char *buf, size_t size)
{
	size_t n = 0;

	if (c->p < c->end && *c->p == '"') {
		cur_quoted(c, buf, size, &n);
	} else {
		while (!c->bad && c->p < c->end &&
		       is_token((unsigned char)*c->p))
			buf_put(c, buf, size, &n, *c->p++);
	}
	if (n == 0)
		c->bad = true;
	if (c->bad)
		return;
	for (size_t i = 0; i < n; i++)
		buf[i] = lower((unsigned char)buf[i]);
	buf[n] = '\0';
}

/* Reads a property value into buf (at most AUTHRES_VALUE_MAX bytes):
 * quoted strings unescaped, and runs of visible characters as they stand,
 * up to white space, a comment or ";". */
static void cur_pvalue(struct cursor *c, char *buf, size_t size)
{
	const char *start = c->p;
	size_t n = 0;

	while (!c->bad && c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;

		if (ch == '"') {
			cur_quoted(c, buf, size, &n);
		} else if (is_pvalue(ch)) {
			buf_put(c, buf, size, &n, (char)ch);
			c->p++;
		} else {
			break;
		}
	}
	if (c->p == start)
		c->bad = true;
	if (!c->bad)
		buf[n] = '\0';
}

/* Copies the domain part of value (after its last "@" when at says so, or
 * all of it) into dst, lower case. A domain longer than dst can hold fails
 * the field; one that is empty or not a domain name is kept as "", which
 * nothing is ever aligned with. */
static void domain_take(struct cursor *c, char dst[AUTHRES_DOMAIN_MAX],
			const char *value, bool at)
{
	const char *d = value;
	size_t n;

	if (at) {
		const char *sign = strrchr(value, '@');

		if (sign == NULL) {
			dst[0] = '\0';
			return;
		}
		d = sign + 1;
	}
	n = strlen(d);
	if (n >= AUTHRES_DOMAIN_MAX) {
		c->bad = true;
		return;
	}
	for (size_t i = 0; i <= n; i++)
		dst[i] = lower((unsigned char)d[i]);
	if (!domain_valid(dst))
		dst[0] = '\0';
}

/* Reads the properties of one resinfo, up to ";" or the end, keeping the
 * domains in ri. "reason=value" and other "keyword=value" pairs without a
 * ptype are read and ignored. */
static void cur_props(struct cursor *c, struct resinfo *ri)
{
	char value[AUTHRES_VALUE_MAX + 1];

	for (;;) {
		struct word ptype, prop = { NULL, 0 };
		bool sep = cur_cfws(c);

		if (c->bad || c->p >= c->end || *c->p == ';')
			return;
		if (!sep) {
			c->bad = true; /* "pass" glued to what follows */
			return;
		}
		if (!cur_keyword(c, &ptype))
			return;
		cur_cfws(c);
		if (!c->bad && c->p < c->end && *c->p == '.') {
			c->p++;
			cur_cfws(c);
			if (c->bad || !cur_keyword(c, &prop))
				return;
			cur_cfws(c);
		}
		if (c->bad || c->p >= c->end || *c->p != '=') {
			c->bad = true;
			return;
		}
		c->p++;
		cur_cfws(c);
		if (c->bad)
			return;
		cur_pvalue(c, value, sizeof(value));
		if (c->bad)
			return;
		if (prop.len == 0 || !word_is(&ptype, "header"))
			continue;
		if (word_is(&prop, "d") && !ri->has_d) {
			ri->has_d = true;
			domain_take(c, ri->d, value, false);
		} else if (word_is(&prop, "i") && !ri->has_i) {
			ri->has_i = true;
			domain_take(c, ri->i_dom, value, true);
		} else if (word_is(&prop, "from") && !ri->has_from) {
			/* A domain (RFC 7489 §11.2); an address is taken by
			 * its domain. */
			ri->has_from = true;
			domain_take(c, ri->from, value,
				    strchr(value, '@') != NULL);
		}
	}
}

/* Keeps what a resinfo says when it is a DKIM or DMARC pass. */
static void authres_keep(struct authres *out, const struct word *method,
			 const struct word *result, const struct resinfo *ri)
{
	if (!word_is(result, "pass"))
		return;
	if (word_is(method, "dkim")) {
		const char *d = ri->has_d ? ri->d : ri->i_dom;

		if (d[0] != '\0' && out->n_dkim < AUTHRES_DKIM_MAX)
			memcpy(out->dkim_d[out->n_dkim++], d, strlen(d) + 1);
	} else if (word_is(method, "dmarc")) {
		out->dmarc_pass = true;
		if (out->dmarc_from[0] == '\0' && ri->from[0] != '\0')
			memcpy(out->dmarc_from, ri->from, strlen(ri->from) + 1);
	}
}

/* Reads [CFWS] authserv-id into id (lower case). */
static bool cur_authserv_id(struct cursor *c, char *id, size_t size)
{
	cur_cfws(c);
	if (!c->bad)
		cur_value(c, id, size);
	return !c->bad;
}

bool authres_parse(const char *value, size_t len, struct authres *out)
{
	struct cursor c;
	int results = 0;

	memset(out, 0, sizeof(*out));
	if (value == NULL)
		return false;
	c = (struct cursor){ value, value + len, false };
	if (!cur_authserv_id(&c, out->authserv_id, sizeof(out->authserv_id)))
		goto bad;
	if (cur_cfws(&c) && c.p < c.end && is_digit((unsigned char)*c.p)) {
		if (!cur_version_is_1(&c))
			goto bad; /* a version we do not know */
		cur_cfws(&c);
	}
	if (c.bad || c.p >= c.end || *c.p != ';')
		goto bad;
	while (c.p < c.end && *c.p == ';') {
		struct word method, result;
		struct resinfo ri;
		bool method_v1 = true;

		c.p++;
		cur_cfws(&c);
		if (c.bad)
			goto bad;
		if (c.p >= c.end) {
			if (results == 0)
				goto bad; /* "id;" says nothing */
			break;		  /* a trailing ";" is tolerated */
		}
		if (!cur_keyword(&c, &method))
			goto bad;
		cur_cfws(&c);
		if (c.bad)
			goto bad;
		if (word_is(&method, "none") && results == 0 && c.p >= c.end)
			return true; /* no-result: nothing was checked */
		if (c.p < c.end && *c.p == '/') {
			c.p++;
			cur_cfws(&c);
			method_v1 = !c.bad && cur_version_is_1(&c);
			cur_cfws(&c);
		}
		if (c.bad || c.p >= c.end || *c.p != '=')
			goto bad;
		c.p++;
		cur_cfws(&c);
		if (c.bad || !cur_keyword(&c, &result))
			goto bad;
		memset(&ri, 0, sizeof(ri));
		cur_props(&c, &ri);
		if (c.bad)
			goto bad;
		/* A method version we do not know is not understood. */
		if (method_v1)
			authres_keep(out, &method, &result, &ri);
		results++;
	}
	if (c.p < c.end)
		goto bad;
	return true;
bad:
	memset(out, 0, sizeof(*out));
	return false;
}

/* Where the value of the field [start, end) begins when the field is an
 * Authentication-Results one: field-name, optional WSP (RFC 5322
 * obs-optional), ":". Returns 0 when it is another field. */
static size_t authres_field_value(const char *headers, size_t start, size_t end)
{
	static const char name[] = "Authentication-Results";
	size_t i = start;

	for (size_t k = 0; k < sizeof(name) - 1; k++, i++)
		if (i >= end || lower((unsigned char)headers[i]) !=
					lower((unsigned char)name[k]))
			return 0;
	while (i < end && is_wsp((unsigned char)headers[i]))
		i++;
	if (i >= end || headers[i] != ':')
		return 0;
	return i + 1;
}

bool authres_find(const char *headers, size_t len, const char *authserv_id,
		  struct authres *out)
{
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (headers == NULL || authserv_id == NULL)
		return false;
	while (pos < len) {
		size_t start = pos, value;
		char id[sizeof(out->authserv_id)];
		struct cursor c;

		/* The blank line ends the header block. */
		if (headers[pos] == '\n' ||
		    (headers[pos] == '\r' && pos + 1 < len &&
		     headers[pos + 1] == '\n'))
			break;
		/* The field runs to the end of its line and over every
		 * continuation line (one that starts with WSP). */
		for (;;) {
			const char *nl = memchr(headers + pos, '\n', len - pos);

			if (nl == NULL) {
				pos = len;
				break;
			}
			pos = (size_t)(nl - headers) + 1;
			if (pos >= len || !is_wsp((unsigned char)headers[pos]))
				break;
		}
		value = authres_field_value(headers, start, pos);
		if (value == 0)
			continue;
		/* Whose field is it? One whose id cannot be read is nobody's
		 * we trust, and does not stop the search. */
		c = (struct cursor){ headers + value, headers + pos, false };
		if (!cur_authserv_id(&c, id, sizeof(id)) ||
		    !same_ascii_nocase(id, authserv_id))
			continue;
		return authres_parse(headers + value, pos - value, out);
	}
	return false;
}

bool authres_vouches(const struct authres *ar, const char *from_domain)
{
	char org[AUTHRES_DOMAIN_MAX], other[AUTHRES_DOMAIN_MAX];

	if (ar == NULL || !domain_org(from_domain, org, sizeof(org)))
		return false;
	if (ar->dmarc_pass &&
	    domain_org(ar->dmarc_from, other, sizeof(other)) &&
	    strcmp(org, other) == 0)
		return true;
	for (int k = 0; k < ar->n_dkim && k < AUTHRES_DKIM_MAX; k++)
		if (domain_org(ar->dkim_d[k], other, sizeof(other)) &&
		    strcmp(org, other) == 0)
			return true;
	return false;
}
