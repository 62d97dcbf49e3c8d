/*
 * html_text.c — an HTML document as plain text (see html_text.h).
 */
#include "core/html_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct ht {
	char *out;
	size_t k, cap;
	int newlines; /* line breaks just written (0: inside a line) */
	bool space;   /* white space seen since the last text */
	int pre;      /* depth of <pre> */
};

static void ht_put(struct ht *h, char c)
{
	if (h->k < h->cap)
		h->out[h->k++] = c;
}

/* Text: n bytes that are not white space (or anything inside pre). */
static void ht_text(struct ht *h, const char *s, size_t n)
{
	if (h->pre == 0 && h->space && h->k > 0 && h->newlines == 0)
		ht_put(h, ' ');
	h->space = false;
	for (size_t i = 0; i < n; i++)
		ht_put(h, s[i]);
	h->newlines = n > 0 && s[n - 1] == '\n' ? h->newlines + 1 : 0;
}

/* At least `want` line breaks end the text written so far (none at the
 * very start). */
static void ht_break(struct ht *h, int want)
{
	h->space = false;
	while (h->k > 0 && h->newlines < want) {
		ht_put(h, '\n');
		h->newlines++;
	}
}

static bool ht_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ht_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ht_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static size_t ht_utf8(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Named references worth knowing in mail; each is longer than the UTF-8
 * it stands for, as html_text's bound needs. */
static const struct {
	const char *name;
	uint32_t cp; /* 0: nothing (a soft hyphen, a joiner) */
} ht_named[] = {
	{ "amp", '&' },	      { "lt", '<' },	   { "gt", '>' },
	{ "quot", '"' },      { "apos", '\'' },	   { "nbsp", 0xa0 },
	{ "copy", 0xa9 },     { "reg", 0xae },	   { "trade", 0x2122 },
	{ "hellip", 0x2026 }, { "mdash", 0x2014 }, { "ndash", 0x2013 },
	{ "lsquo", 0x2018 },  { "rsquo", 0x2019 }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d },  { "laquo", 0xab },   { "raquo", 0xbb },
	{ "euro", 0x20ac },   { "bull", 0x2022 },  { "middot", 0xb7 },
	{ "times", 0xd7 },    { "shy", 0 },	   { "zwnj", 0 },
	{ "zwj", 0 },
};

/* A character reference at s[0] == '&': decodes it into h and returns
 * the bytes it took, or 0 when it is none (then '&' is text). */
static size_t ht_reference(struct ht *h, const char *s, size_t len)
{
	size_t i = 1;
	uint32_t cp = 0;
	if (i < len && s[i] == '#') {
		bool hex = i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X');
		i += hex ? 2 : 1;
		size_t start = i;
		for (; i < len && i - start < 8; i++) {
			char c = ht_lower(s[i]);
			int d = c >= '0' && c <= '9'	      ? c - '0'
				: hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
							      : -1;
			if (d < 0)
				break;
			cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
		}
		if (i == start)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			cp = 0xfffd;
	} else {
		char name[8];
		size_t n = 0;
		while (i < len && n < sizeof(name) - 1 &&
		       (ht_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9')))
			name[n++] = s[i++];
		name[n] = '\0';
		if (n == 0 || i >= len || s[i] != ';')
			return 0;
		i++;
		size_t k = 0;
		while (k < sizeof(ht_named) / sizeof(*ht_named) &&
		       strcmp(ht_named[k].name, name) != 0)
			k++;
		if (k == sizeof(ht_named) / sizeof(*ht_named))
			return 0;
		cp = ht_named[k].cp;
		if (cp == 0)
			return i;
	}
	if (cp < 0x20 && cp != '\t' && cp != '\n')
		return i; /* a control character: nothing */
	char u[4];
	size_t n = ht_utf8(cp, u);
	if (h->pre == 0 && (cp == ' ' || cp == '\t' || cp == '\n'))
		h->space = true;
	else
		ht_text(h, u, n);
	return i;
}

/* Where a tag that starts at s[0] == '<' ends (just past its '>'), with
 * quoted attribute values skipped; len when it never ends. */
static size_t ht_tag_end(const char *s, size_t len)
{
	char quote = 0;
	for (size_t i = 1; i < len; i++) {
		if (quote) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (s[i] == '>') {
			return i + 1;
		}
	}
	return len;
}

/* Where the element `name`'s content ends: just past its end tag, or len. */
static size_t ht_skip_to_end(const char *s, size_t len, size_t from,
			     const char *name)
{
	size_t n = strlen(name);
	for (size_t i = from; i + 2 + n <= len; i++) {
		if (s[i] != '<' || s[i + 1] != '/')
			continue;
		size_t k = 0;
		while (k < n && ht_lower(s[i + 2 + k]) == name[k])
			k++;
		if (k == n && (i + 2 + n == len || !ht_alpha(s[i + 2 + n])))
			return i + ht_tag_end(s + i, len - i);
	}
	return len;
}

static bool ht_in(const char *name, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(name, set[i]) == 0)
			return true;
	return false;
}

static const char *const ht_hidden[] = { "script", "style",    "head",
					 "title",  "template", NULL };
static const char *const ht_paragraphs[] = {
	"p",	 "h1", "h2", "h3", "h4", "h5",	    "h6", "blockquote",
	"table", "ul", "ol", "hr", "dl", "address", NULL
};
static const char *const ht_lines[] = {
	"div",	"section", "article", "header", "footer", "tr",	     "dt", "dd",
	"form", "main",	   "nav",     "aside",	"figure", "caption", NULL
};

size_t html_text(const char *html, size_t len, char *out)
{
	struct ht h = { .out = out, .cap = len };
	size_t i = 0;
	while (i < len) {
		char c = html[i];
		if (c == '&') {
			size_t used = ht_reference(&h, html + i, len - i);
			if (used > 0) {
				i += used;
				continue;
			}
		}
		if (c != '<') {
			if (h.pre > 0) {
				if (c != '\r')
					ht_text(&h, &c, 1);
			} else if (ht_is_space(c)) {
				h.space = true;
			} else {
				ht_text(&h, &c, 1);
			}
			i++;
			continue;
		}
		if (len - i >= 4 && memcmp(html + i, "<!--", 4) == 0) {
			const char *end = NULL;
			for (size_t k = i + 4; k + 3 <= len; k++)
				if (memcmp(html + k, "-->", 3) == 0) {
					end = html + k + 3;
					break;
				}
			i = end ? (size_t)(end - html) : len;
			continue;
		}
		bool closing = i + 1 < len && html[i + 1] == '/';
		size_t p = i + (closing ? 2 : 1);
		if (p >= len ||
		    !(ht_alpha(html[p]) || html[p] == '!' || html[p] == '?')) {
			ht_text(&h, &c, 1); /* a '<' that opens no tag */
			i++;
			continue;
		}
		char name[16];
		size_t n = 0;
		while (p < len && n < sizeof(name) - 1 &&
		       (ht_alpha(html[p]) ||
			(html[p] >= '0' && html[p] <= '9')))
			name[n++] = ht_lower(html[p++]);
		name[n] = '\0';
		size_t end = i + ht_tag_end(html + i, len - i);
		bool self_closing = end >= 2 && html[end - 2] == '/';
		i = end;
		if (!closing && !self_closing && ht_in(name, ht_hidden)) {
			i = ht_skip_to_end(html, len, i, name);
			continue;
		}
		if (strcmp(name, "br") == 0) {
			h.space = false;
			if (h.newlines < 2) {
				ht_put(&h, '\n');
				h.newlines++;
			}
		} else if (strcmp(name, "pre") == 0) {
			ht_break(&h, 2);
			h.pre += closing ? (h.pre > 0 ? -1 : 0) : 1;
		} else if (ht_in(name, ht_paragraphs)) {
			ht_break(&h, 2);
		} else if (ht_in(name, ht_lines)) {
			ht_break(&h, 1);
		} else if (strcmp(name, "li") == 0) {
			ht_break(&h, 1);
			if (!closing)
				ht_text(&h, "- ", 2);
		} else if ((strcmp(name, "td") == 0 ||
			    strcmp(name, "th") == 0) &&
			   !closing && h.newlines == 0 && h.k > 0) {
			h.space = false;
			ht_put(&h, '\t');
		}
	}
	while (h.k > 0 && (h.out[h.k - 1] == '\n' || h.out[h.k - 1] == ' '))
		h.k--;
	out[h.k] = '\0';
	return h.k;
}
