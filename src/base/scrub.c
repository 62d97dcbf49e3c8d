/*
 * scrub.c — a reply made anonymous (see scrub.h). The message is read by
 * GMime; its MIME tree is walked once (parts dropped, headers filtered,
 * text parts rewritten in place) and hung under a new message whose
 * headers are written from scratch, so nothing of the original top-level
 * header block can come through by omission.
 *
 * The replacement is one left-to-right pass over UTF-8 text: at each
 * character that could start one of the person's addresses, names or
 * local parts, the longest of them that matches there is written over,
 * and the pass goes on after it (what was written is never read again, so
 * an alias that contains a name cannot loop).
 */
#include "base/scrub.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "base/mailmsg.h"
#include "core/utf8.h"

/* In a name's pattern: a run of white space between two words. */
#define SCRUB_SEP 0xffffffffu
/* The longest run a separator takes (bytes): spaces, line breaks and
 * quote marks, entities, tags. It bounds the work at one position. */
#define SCRUB_SEP_MAX 512
#define SCRUB_TAG_MAX 256 /* bytes of one HTML tag read as a separator */

enum scrub_kind {
	SCRUB_ADDRESS, /* anywhere, replaced by the alias */
	SCRUB_NAME,    /* as words, replaced by alias_name (or the alias) */
	SCRUB_LOCAL,   /* as a word, replaced by the alias's local part */
};

struct scrub_pattern {
	enum scrub_kind kind;
	uint32_t *cp; /* g_malloc'd: lower-case code points (SCRUB_SEP) */
	int n;
};

struct scrub_rules {
	struct scrub_pattern pat[3 * SCRUB_PEOPLE_MAX];
	int n_pat;
	bool first[256]; /* bytes that may start a pattern */
	/* What replaces each kind, as text and escaped for HTML. */
	char *with[3], *with_html[3];	     /* g_malloc'd */
	char domains[SCRUB_PEOPLE_MAX][254]; /* of the person's addresses */
	int n_domains;
	const char *alias_domain; /* in with[SCRUB_ADDRESS] */
};

/* ---- the person, as patterns ---- */

/* Whether host is domain or one of its subdomains ("mail.gmail.com" is
 * Gmail's for a gmail.com address), without case. */
static bool scrub_in_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);
	return h >= d && g_ascii_strcasecmp(host + h - d, domain) == 0 &&
	       (h == d || host[h - d - 1] == '.');
}

/* Whether host is at one of the person's domains. */
static bool scrub_theirs(const struct scrub_rules *r, const char *host)
{
	for (int d = 0; d < r->n_domains; d++)
		if (scrub_in_domain(host, r->domains[d]))
			return true;
	return false;
}

/* Whether s is a usable header value: present and no CR or LF. */
static bool scrub_value_ok(const char *s, size_t max, bool empty_ok)
{
	if (s == NULL)
		return false;
	size_t n = strlen(s);
	return (empty_ok || n > 0) && n <= max && strpbrk(s, "\r\n") == NULL &&
	       utf8_valid(s, n);
}

/* s[0..len) (valid UTF-8) in Unicode NFC, g_malloc'd; NULL when it is not
 * valid. ASCII is its own NFC, and the common case: it is only copied
 * (GLib's normalization was most of the time spent on a large reply). */
static char *scrub_nfc(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return g_utf8_normalize(s, (gssize)len,
						G_NORMALIZE_NFC);
	return g_strndup(s, len);
}

/* Adds the pattern of s[0..len) (valid UTF-8). A name's words are split
 * on white space; a pattern of fewer than min characters is skipped. */
static void scrub_add(struct scrub_rules *r, enum scrub_kind kind,
		      const char *s, size_t len, int min)
{
	char *nfc = scrub_nfc(s, len);
	if (nfc == NULL)
		return;
	size_t n = strlen(nfc);
	uint32_t *cp = g_new(uint32_t, n + 1);
	int k = 0, chars = 0;
	bool gap = false;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t m = utf8_decode(nfc + i, n - i, &c);
		if (m == 0)
			break;
		i += m;
		if (kind == SCRUB_NAME && g_unichar_isspace(c)) {
			gap = k > 0;
			continue;
		}
		if (gap)
			cp[k++] = SCRUB_SEP;
		gap = false;
		cp[k++] = (uint32_t)g_unichar_tolower(c);
		chars++;
	}
	g_free(nfc);
	if (chars < min) {
		g_free(cp);
		return;
	}
	struct scrub_pattern *p = &r->pat[r->n_pat++];
	p->kind = kind;
	p->cp = cp;
	p->n = k;
	/* Any byte a character in any case could start with: ASCII letters
	 * in both cases, and every lead byte beyond ASCII (a non-ASCII
	 * capital may lower to an ASCII letter, as U+212A KELVIN SIGN). */
	uint32_t c = cp[0];
	if (c < 0x80) {
		r->first[c] = true;
		r->first[(unsigned char)g_ascii_toupper((char)c)] = true;
	}
	for (int b = 0xc2; b <= 0xf4; b++)
		r->first[b] = true;
}

static void scrub_rules_clear(struct scrub_rules *r)
{
	for (int i = 0; i < r->n_pat; i++)
		g_free(r->pat[i].cp);
	for (int i = 0; i < 3; i++) {
		g_free(r->with[i]);
		g_free(r->with_html[i]);
	}
	memset(r, 0, sizeof(*r));
}

/* The rules for p; false when p is unusable (see scrub.h). */
static bool scrub_rules_init(struct scrub_rules *r,
			     const struct scrub_person *p)
{
	memset(r, 0, sizeof(*r));
	if (p == NULL || !scrub_value_ok(p->alias, SCRUB_ADDRESS_MAX, false) ||
	    strchr(p->alias, '@') == NULL ||
	    (p->alias_name &&
	     !scrub_value_ok(p->alias_name, SCRUB_NAME_MAX, true)) ||
	    p->n_addresses < 0 || p->n_addresses > SCRUB_PEOPLE_MAX ||
	    p->n_names < 0 || p->n_names > SCRUB_PEOPLE_MAX ||
	    (p->n_addresses > 0 && p->addresses == NULL) ||
	    (p->n_names > 0 && p->names == NULL))
		return false;
	for (int i = 0; i < p->n_addresses; i++)
		if (!scrub_value_ok(p->addresses[i], SCRUB_ADDRESS_MAX,
				    false) ||
		    strchr(p->addresses[i], '@') == NULL)
			return false;
	for (int i = 0; i < p->n_names; i++)
		if (!scrub_value_ok(p->names[i], SCRUB_NAME_MAX, true))
			return false;

	const char *at = strrchr(p->alias, '@');
	r->with[SCRUB_ADDRESS] = g_strdup(p->alias);
	r->with[SCRUB_NAME] = g_strdup(
		p->alias_name && *p->alias_name ? p->alias_name : p->alias);
	r->with[SCRUB_LOCAL] = g_strndup(p->alias, (gsize)(at - p->alias));
	r->alias_domain = r->with[SCRUB_ADDRESS] + (at - p->alias) + 1;
	for (int i = 0; i < 3; i++)
		r->with_html[i] = g_markup_escape_text(r->with[i], -1);

	/* In this order: of matches as long, the first added wins, so a
	 * word that is both a name and a local part reads as the name. */
	for (int i = 0; i < p->n_addresses; i++) {
		const char *a = p->addresses[i];
		scrub_add(r, SCRUB_ADDRESS, a, strlen(a), 3);
		if (mailmsg_domain(a, r->domains[r->n_domains],
				   sizeof(r->domains[0])))
			r->n_domains++;
	}
	for (int i = 0; i < p->n_names; i++)
		scrub_add(r, SCRUB_NAME, p->names[i], strlen(p->names[i]), 2);
	for (int i = 0; i < p->n_addresses; i++) {
		const char *a = p->addresses[i];
		scrub_add(r, SCRUB_LOCAL, a, (size_t)(strrchr(a, '@') - a), 3);
	}
	return true;
}

/* ---- matching ---- */

/* g_unichar_tolower and g_unichar_isalnum, with ASCII, most of any text,
 * answered without GLib's tables. */
static uint32_t scrub_lower(uint32_t c)
{
	return c < 0x80 ? (uint32_t)g_ascii_tolower((char)c)
			: (uint32_t)g_unichar_tolower(c);
}

static bool scrub_alnum(uint32_t c)
{
	return c < 0x80 ? g_ascii_isalnum((char)c) : g_unichar_isalnum(c);
}

static bool scrub_prefix(const char *s, size_t len, size_t i, const char *lit)
{
	size_t n = strlen(lit);
	return len - i >= n && strncasecmp(s + i, lit, n) == 0;
}

/* Bytes at s[i..len) that write "@" otherwise: an entity or %40. */
static size_t scrub_at_sign(const char *s, size_t len, size_t i)
{
	static const char *const forms[] = { "&#64;", "&#x40;", "%40" };
	for (size_t k = 0; k < sizeof(forms) / sizeof(*forms); k++)
		if (scrub_prefix(s, len, i, forms[k]))
			return strlen(forms[k]);
	return 0;
}

/* Bytes of the run of white space at s[i..len) between two words of a
 * name: spaces and line breaks (after a line break, "> " quote marks);
 * in HTML also &nbsp;, %20 and tags. 0 when there is none. */
static size_t scrub_space(const char *s, size_t len, size_t i, bool html)
{
	static const char *const spaces[] = { "&nbsp;", "&#160;", "&#xa0;",
					      "%20" };
	size_t start = i;
	bool line = false, any = false;
	while (i < len && i - start < SCRUB_SEP_MAX) {
		uint32_t c;
		size_t m = utf8_decode(s + i, len - i, &c);
		if (m == 0)
			break;
		if (g_unichar_isspace(c) || c == 0xa0) {
			line = line || c == '\n';
			any = true;
			i += m;
			continue;
		}
		if (c == '>' && line) {
			i++;
			continue;
		}
		if (!html)
			break;
		size_t e = 0;
		for (size_t k = 0;
		     e == 0 && k < sizeof(spaces) / sizeof(*spaces); k++)
			if (scrub_prefix(s, len, i, spaces[k]))
				e = strlen(spaces[k]);
		if (e == 0 && c == '<') {
			for (size_t j = i + 1; j < len && j - i < SCRUB_TAG_MAX;
			     j++) {
				if (s[j] == '<')
					break;
				if (s[j] == '>') {
					e = j + 1 - i;
					break;
				}
			}
		}
		if (e == 0)
			break;
		any = true;
		i += e;
	}
	return any ? i - start : 0;
}

/* Bytes of the match of pt at s[i..len), or 0. */
static size_t scrub_match(const struct scrub_pattern *pt, const char *s,
			  size_t len, size_t i, bool html)
{
	size_t start = i;
	for (int k = 0; k < pt->n; k++) {
		uint32_t want = pt->cp[k], c;
		if (want == SCRUB_SEP) {
			size_t m = scrub_space(s, len, i, html);
			if (m == 0)
				return 0;
			i += m;
			continue;
		}
		size_t m = utf8_decode(s + i, len - i, &c);
		if (m > 0 && scrub_lower(c) == want) {
			i += m;
			continue;
		}
		if (want == '@' && (m = scrub_at_sign(s, len, i)) > 0) {
			i += m;
			continue;
		}
		return 0;
	}
	return i - start;
}

/* Whether the character that ends at s[i] (before i) or starts at s[i]
 * (after) is a letter or digit. */
static bool scrub_alnum_before(const char *s, size_t i)
{
	size_t b = i;
	while (b > 0 && i - b < 4) {
		b--;
		if (((unsigned char)s[b] & 0xc0) != 0x80)
			break;
	}
	uint32_t c;
	return i > 0 && utf8_decode(s + b, i - b, &c) == i - b &&
	       scrub_alnum(c);
}

static bool scrub_alnum_at(const char *s, size_t len, size_t i)
{
	uint32_t c;
	return utf8_decode(s + i, len - i, &c) > 0 && scrub_alnum(c);
}

/* In HTML, a cid: or mid: URL (RFC 2392) whose id's right-hand side is
 * one of the person's domains: the bytes up to and including its "@",
 * with the domain's length in *domain_len; else 0. The domain becomes the
 * alias's, as in the part's Content-ID (scrub_content_id). */
static size_t scrub_url_id(const struct scrub_rules *r, const char *s,
			   size_t len, size_t i, size_t *domain_len)
{
	if ((!scrub_prefix(s, len, i, "cid:") &&
	     !scrub_prefix(s, len, i, "mid:")) ||
	    scrub_alnum_before(s, i))
		return 0;
	size_t at = i + 4;
	while (at < len && at - i < SCRUB_TAG_MAX && s[at] != '@' &&
	       strchr("\"'<> \t\r\n", s[at]) == NULL)
		at++;
	if (at >= len || s[at] != '@')
		return 0;
	size_t end = at + 1;
	while (end < len && end - at < 254 &&
	       (g_ascii_isalnum(s[end]) || s[end] == '.' || s[end] == '-'))
		end++;
	char host[254];
	size_t n = end - at - 1;
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, s + at + 1, n);
	host[n] = '\0';
	if (!scrub_theirs(r, host))
		return 0;
	*domain_len = n;
	return at + 1 - i;
}

/* s[0..len), valid UTF-8, with the person replaced; a new GString. */
static GString *scrub_replace(const struct scrub_rules *r, const char *s,
			      size_t len, bool html)
{
	GString *out = g_string_sized_new(len + 64);
	size_t i = 0;
	while (i < len) {
		size_t id, domain;
		if (html &&
		    (s[i] == 'c' || s[i] == 'C' || s[i] == 'm' ||
		     s[i] == 'M') &&
		    (id = scrub_url_id(r, s, len, i, &domain)) > 0) {
			g_string_append_len(out, s + i, (gssize)id);
			g_string_append(out, r->alias_domain);
			i += id + domain;
			continue;
		}
		if (!r->first[(unsigned char)s[i]]) {
			g_string_append_c(out, s[i++]);
			continue;
		}
		size_t best = 0;
		int best_kind = 0;
		bool word_start = !scrub_alnum_before(s, i);
		for (int k = 0; k < r->n_pat; k++) {
			const struct scrub_pattern *pt = &r->pat[k];
			bool word = pt->kind != SCRUB_ADDRESS;
			if (word && !word_start)
				continue;
			size_t m = scrub_match(pt, s, len, i, html);
			if (m <= best ||
			    (word && scrub_alnum_at(s, len, i + m)))
				continue;
			best = m;
			best_kind = pt->kind;
		}
		if (best > 0) {
			g_string_append(out, html ? r->with_html[best_kind]
						  : r->with[best_kind]);
			i += best;
			continue;
		}
		g_string_append_c(out, s[i++]);
	}
	return out;
}

/* A header value or file name (UTF-8) with the person replaced; a
 * g_malloc'd string. */
static char *scrub_value(const struct scrub_rules *r, const char *v)
{
	size_t n = strlen(v);
	char *clean = g_strndup(v, n);
	n = utf8_clean(clean, n);
	clean[n] = '\0';
	char *nfc = scrub_nfc(clean, n);
	g_free(clean);
	if (nfc == NULL)
		return g_strdup("");
	GString *g = scrub_replace(r, nfc, strlen(nfc), false);
	g_free(nfc);
	return g_string_free(g, FALSE);
}

/* ---- format=flowed ---- */

static void scrub_flush(GString *out, int depth, const GString *line)
{
	for (int d = 0; d < depth; d++)
		g_string_append_c(out, '>');
	if (depth > 0 && line->len > 0)
		g_string_append_c(out, ' ');
	g_string_append_len(out, line->str, (gssize)line->len);
	g_string_append_c(out, '\n');
}

/* RFC 3676 §4.1–4.2: text with its soft line breaks joined (a line that
 * ends in a space continues on the next line of the same quote depth),
 * space-stuffing removed and, with DelSp=yes, the space before a soft
 * break too. Quoted lines come out as ">… " and their text. */
static GString *scrub_unflow(const char *s, size_t len, bool delsp)
{
	GString *out = g_string_sized_new(len);
	GString *cur = g_string_new(NULL);
	int cur_depth = 0;
	bool open = false; /* cur continues on the next line */
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;
		size_t next = nl ? end + 1 : len;
		if (end > i && s[end - 1] == '\r')
			end--;
		int depth = 0;
		while (i < end && s[i] == '>') {
			depth++;
			i++;
		}
		if (i < end && s[i] == ' ')
			i++; /* stuffed */
		const char *text = s + i;
		size_t n = end - i;
		bool sig = n == 3 && memcmp(text, "-- ", 3) == 0;
		bool flowed = n > 0 && text[n - 1] == ' ' && !sig;
		if (open && depth != cur_depth) {
			scrub_flush(out, cur_depth, cur);
			g_string_truncate(cur, 0);
		}
		if (!open || depth != cur_depth)
			g_string_truncate(cur, 0);
		cur_depth = depth;
		if (flowed && delsp)
			n--;
		g_string_append_len(cur, text, (gssize)n);
		open = flowed;
		if (!open) {
			scrub_flush(out, cur_depth, cur);
			g_string_truncate(cur, 0);
		}
		i = next;
	}
	if (open)
		scrub_flush(out, cur_depth, cur);
	g_string_free(cur, TRUE);
	return out;
}

/* ---- the MIME tree ---- */

struct scrub_walk {
	const struct scrub_rules *r;
	int parts;
	bool refuse; /* the message cannot be made anonymous */
};

static bool scrub_is(GMimeContentType *ct, const char *const *types)
{
	for (; *types; types += 2)
		if (g_mime_content_type_is_type(ct, types[0], types[1]))
			return true;
	return false;
}

/* The parts that are the person's identity: dropped. */
static const char *const scrub_identity_types[] = {
	"application", "pgp-signature",
	"application", "pkcs7-signature",
	"application", "x-pkcs7-signature",
	"application", "pgp-keys",
	"text",	       "vcard",
	"text",	       "x-vcard",
	NULL,
};

/* What cannot be read, so cannot be scrubbed: the message is refused. */
static const char *const scrub_sealed_types[] = {
	"multipart",   "encrypted",    "application", "pkcs7-mime",
	"application", "x-pkcs7-mime", NULL,
};

/* The headers a part keeps: at the top, the allow-list of scrub.h;
 * below, every Content-* but Content-Description. */
static bool scrub_keep_header(const char *name, bool top)
{
	static const char *const top_kept[] = {
		"Content-Type",
		"Content-Transfer-Encoding",
		"Content-Language",
		"Content-Disposition",
		NULL,
	};
	if (top) {
		for (const char *const *k = top_kept; *k; k++)
			if (g_ascii_strcasecmp(name, *k) == 0)
				return true;
		return false;
	}
	return g_ascii_strncasecmp(name, "Content-", 8) == 0 &&
	       g_ascii_strcasecmp(name, "Content-Description") != 0;
}

/* Drops the headers obj may not keep; those it keeps are written anew
 * from their value, with the person replaced (a parameter may hold
 * anything) but in Content-ID, whose domain scrub_content_id moves.
 * Written anew, a value that held a NUL is cut there, never written raw
 * with its line end lost. */
static void scrub_headers(const struct scrub_rules *r, GMimeObject *obj,
			  bool top)
{
	GMimeHeaderList *l = g_mime_object_get_header_list(obj);
	GPtrArray *renamed = g_ptr_array_new_with_free_func(g_free);
	/* Of a header given twice only the last stays, the one GMime's
	 * parser went by (another Content-Type, written anew, would retype
	 * the part). */
	GHashTable *last =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < g_mime_header_list_get_count(l); i++) {
		char *key = g_ascii_strdown(
			g_mime_header_get_name(
				g_mime_header_list_get_header_at(l, i)),
			-1);
		g_hash_table_insert(last, key, GINT_TO_POINTER(i));
	}
	for (int i = g_mime_header_list_get_count(l) - 1; i >= 0; i--) {
		GMimeHeader *h = g_mime_header_list_get_header_at(l, i);
		const char *name = g_mime_header_get_name(h);
		char *key = g_ascii_strdown(name, -1);
		bool again =
			GPOINTER_TO_INT(g_hash_table_lookup(last, key)) != i;
		g_free(key);
		if (again || !scrub_keep_header(name, top)) {
			g_mime_header_list_remove_at(l, i);
			continue;
		}
		const char *v = g_mime_header_get_value(h);
		bool id = g_ascii_strcasecmp(name, "Content-ID") == 0;
		char *value = v == NULL ? g_strdup("")
			      : id	? g_strdup(v)
					: scrub_value(r, v);
		if (strcmp(g_mime_header_get_raw_name(h), name) == 0) {
			g_mime_header_set_value(h, NULL, value, "utf-8");
			g_free(value);
			continue;
		}
		/* A name written otherwise ("Content-Type :"), which GMime
		 * would write again as it came: added anew below. */
		g_ptr_array_add(renamed, g_strdup(name));
		g_ptr_array_add(renamed, value);
		g_mime_header_list_remove_at(l, i);
	}
	for (guint k = renamed->len; k >= 2; k -= 2)
		g_mime_object_append_header(obj, renamed->pdata[k - 2],
					    renamed->pdata[k - 1], "utf-8");
	g_ptr_array_free(renamed, TRUE);
	g_hash_table_destroy(last);
}

/* A text part's content rewritten: decoded to UTF-8, unflowed, the person
 * replaced, quoted-printable. Another text type than plain or HTML (a
 * calendar reply's text/calendar…) keeps its parameters but the charset,
 * and is read as plain text. */
static void scrub_text_part(const struct scrub_rules *r, GMimeObject *obj,
			    bool html, bool other)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *format = g_mime_content_type_get_parameter(ct, "format");
	const char *delsp = g_mime_content_type_get_parameter(ct, "delsp");
	bool flowed = !html && !other && format &&
		      g_ascii_strcasecmp(format, "flowed") == 0;
	bool del = delsp && g_ascii_strcasecmp(delsp, "yes") == 0;

	char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
	if (text == NULL)
		text = g_strdup("");
	size_t n = strlen(text);
	if (!g_utf8_validate(text, (gssize)n, NULL)) {
		/* An unknown or wrong charset: GMime's guess for 8-bit text. */
		char *guess = g_mime_utils_decode_8bit(NULL, text, n);
		g_free(text);
		text = guess ? guess : g_strdup("");
		n = strlen(text);
	}
	n = utf8_clean(text, n);
	/* CRLF to LF: the output's line ends are made when it is written. */
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (!(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n'))
			text[w++] = text[i];
	n = w;
	GString *body;
	if (flowed) {
		body = scrub_unflow(text, n, del);
	} else {
		body = g_string_new_len(text, (gssize)n);
	}
	g_free(text);
	char *nfc = scrub_nfc(body->str, body->len);
	GString *done = scrub_replace(r, nfc ? nfc : body->str,
				      nfc ? strlen(nfc) : body->len, html);
	g_free(nfc);
	g_string_free(body, TRUE);

	GMimeStream *st =
		g_mime_stream_mem_new_with_buffer(done->str, done->len);
	g_string_free(done, TRUE);
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(
		st, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(st);
	g_mime_part_set_content(GMIME_PART(obj), dw);
	g_object_unref(dw);
	if (other) {
		g_mime_object_set_content_type_parameter(obj, "charset",
							 "utf-8");
	} else {
		GMimeContentType *nct = g_mime_content_type_new(
			"text", html ? "html" : "plain");
		g_mime_content_type_set_parameter(nct, "charset", "utf-8");
		g_mime_object_set_content_type(obj, nct);
		g_object_unref(nct);
	}
	g_mime_part_set_content_encoding(
		GMIME_PART(obj), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

static GMimeObject *scrub_object(struct scrub_walk *w, GMimeObject *obj,
				 int depth, bool top);

/* A Content-ID at one of the person's domains moves to the alias's; the
 * HTML's cid: links move alike (scrub_url_id). */
static void scrub_content_id(const struct scrub_rules *r, GMimeObject *obj)
{
	const char *cid = g_mime_object_get_content_id(obj);
	const char *at = cid ? strrchr(cid, '@') : NULL;
	if (at == NULL || !scrub_theirs(r, at + 1))
		return;
	char *moved = g_strdup_printf("%.*s@%s", (int)(at - cid), cid,
				      r->alias_domain);
	g_mime_object_set_content_id(obj, moved);
	g_free(moved);
}

static void scrub_multipart(struct scrub_walk *w, GMimeMultipart *mp, int depth)
{
	g_mime_multipart_set_prologue(mp, NULL);
	g_mime_multipart_set_epilogue(mp, NULL);
	/* A boundary's shape tells the client ("------------" and 24
	 * characters is Thunderbird's): GMime draws a new one. */
	g_mime_multipart_set_boundary(mp, NULL);
	for (int i = 0; i < g_mime_multipart_get_count(mp) && !w->refuse;) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		GMimeObject *kept = scrub_object(w, child, depth + 1, false);
		if (kept == NULL) {
			if (!w->refuse)
				g_object_unref(
					g_mime_multipart_remove_at(mp, i));
			continue;
		}
		if (kept != child)
			g_object_unref(g_mime_multipart_replace(mp, i, kept));
		g_object_unref(kept);
		i++;
	}
}

/* What stands for obj in the scrubbed tree: a new reference (obj itself,
 * changed in place, or a part of it), or NULL when it is dropped — or
 * when w->refuse is set. */
static GMimeObject *scrub_object(struct scrub_walk *w, GMimeObject *obj,
				 int depth, bool top)
{
	if (++w->parts > SCRUB_PARTS_MAX || depth > SCRUB_DEPTH_MAX) {
		w->refuse = true;
		return NULL;
	}
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	if (ct && scrub_is(ct, scrub_sealed_types)) {
		w->refuse = true;
		return NULL;
	}
	if (ct && scrub_is(ct, scrub_identity_types))
		return NULL;
	if (GMIME_IS_MULTIPART(obj) && ct &&
	    g_mime_content_type_is_type(ct, "multipart", "signed")) {
		/* The signed part stands for the whole; its signature goes. */
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		if (g_mime_multipart_get_count(mp) < 1)
			return NULL;
		return scrub_object(w, g_mime_multipart_get_part(mp, 0),
				    depth + 1, top);
	}
	scrub_headers(w->r, obj, top);
	scrub_content_id(w->r, obj);
	/* a header rewritten made the content type anew; it must still say
	 * what GMime read the part as */
	ct = g_mime_object_get_content_type(obj);
	if (ct == NULL ||
	    (bool)GMIME_IS_MULTIPART(obj) !=
		    (bool)g_mime_content_type_is_type(ct, "multipart", "*") ||
	    (bool)GMIME_IS_MESSAGE_PART(obj) !=
		    (bool)g_mime_content_type_is_type(ct, "message", "*")) {
		w->refuse = true;
		return NULL;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		scrub_multipart(w, GMIME_MULTIPART(obj), depth);
		return w->refuse ? NULL : g_object_ref(obj);
	}
	if (!GMIME_IS_PART(obj))
		return g_object_ref(obj); /* message/rfc822: kept */
	GMimePart *part = GMIME_PART(obj);
	const char *name = g_mime_part_get_filename(part);
	if (name) {
		char *scrubbed = scrub_value(w->r, name);
		if (strcmp(scrubbed, name) != 0)
			g_mime_part_set_filename(part, scrubbed);
		g_free(scrubbed);
	}
	bool text = ct && g_mime_content_type_is_type(ct, "text", "*");
	bool plain = ct && g_mime_content_type_is_type(ct, "text", "plain");
	bool html = ct && g_mime_content_type_is_type(ct, "text", "html");
	if (text && GMIME_IS_TEXT_PART(obj) &&
	    !g_mime_part_is_attachment(part)) {
		scrub_text_part(w->r, obj, html, !plain && !html);
	} else {
		/* Kept as it is, but carried in base64 unless it already is
		 * encoded: 7bit, 8bit or binary content may hold a bare CR, a
		 * NUL or a line too long for SMTP (RFC 5321 §2.3.8,
		 * §4.5.3.1.6). The decoded bytes stay the same. */
		GMimeContentEncoding e = g_mime_part_get_content_encoding(part);
		if (e != GMIME_CONTENT_ENCODING_BASE64 &&
		    e != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
		    e != GMIME_CONTENT_ENCODING_UUENCODE)
			g_mime_part_set_content_encoding(
				part, GMIME_CONTENT_ENCODING_BASE64);
	}
	return g_object_ref(obj);
}

/* ---- the message ---- */

/* Whether a message id is the person's: made at one of their domains
 * (or a subdomain), or naming them (an address, name or local part that
 * scrub_value would replace). */
static bool scrub_their_id(const struct scrub_rules *r, const char *id)
{
	const char *at = strrchr(id, '@');
	if (at && scrub_theirs(r, at + 1))
		return true;
	char *scrubbed = scrub_value(r, id);
	bool named = strcmp(scrubbed, id) != 0;
	g_free(scrubbed);
	return named;
}

/* In-Reply-To or References of orig without the person's ids, onto out. */
static void scrub_references(const struct scrub_rules *r, GMimeMessage *orig,
			     GMimeMessage *out, const char *field)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(orig), field);
	GMimeReferences *refs = v ? g_mime_references_parse(NULL, v) : NULL;
	if (refs == NULL)
		return;
	GString *kept = g_string_new(NULL);
	for (int i = 0; i < g_mime_references_length(refs); i++) {
		const char *id = g_mime_references_get_message_id(refs, i);
		if (id == NULL || *id == '\0' ||
		    strpbrk(id, "<>\r\n \t") != NULL || scrub_their_id(r, id))
			continue;
		g_string_append_printf(kept, "%s<%s>", kept->len ? " " : "",
				       id);
	}
	g_mime_references_free(refs);
	if (kept->len > 0)
		g_mime_object_set_header(GMIME_OBJECT(out), field, kept->str,
					 NULL);
	g_string_free(kept, TRUE);
}

static GMimeMessage *scrub_message(const struct scrub_rules *r,
				   const struct scrub_person *p,
				   const struct scrub_out_hdr *hdr,
				   GMimeMessage *orig)
{
	GMimeObject *body = g_mime_message_get_mime_part(orig);
	if (body == NULL)
		return NULL;
	struct scrub_walk w = { r, 0, false };
	GMimeObject *kept = scrub_object(&w, body, 0, true);
	if (kept == NULL)
		return NULL;

	GMimeMessage *out = g_mime_message_new(FALSE);
	g_mime_message_add_mailbox(
		out, GMIME_ADDRESS_TYPE_FROM,
		p->alias_name && *p->alias_name ? p->alias_name : NULL,
		p->alias);
	g_mime_message_add_mailbox(out, GMIME_ADDRESS_TYPE_TO, NULL, hdr->to);
	const char *subject = g_mime_message_get_subject(orig);
	if (subject) {
		char *s = scrub_value(r, subject);
		g_mime_message_set_subject(out, s, "utf-8");
		g_free(s);
	}
	GDateTime *date = NULL;
	if (hdr->date != 0) {
		date = g_date_time_new_from_unix_utc(hdr->date);
	} else if (g_mime_message_get_date(orig)) {
		date = g_date_time_to_utc(g_mime_message_get_date(orig));
	}
	if (date) {
		g_mime_message_set_date(out, date);
		g_date_time_unref(date);
	}
	g_mime_message_set_message_id(out, hdr->message_id);
	scrub_references(r, orig, out, "In-Reply-To");
	scrub_references(r, orig, out, "References");
	g_mime_message_set_mime_part(out, kept);
	g_object_unref(kept);
	return out;
}

char *scrub_reply(const char *data, size_t len, const struct scrub_person *p,
		  const struct scrub_out_hdr *hdr, size_t *out_len)
{
	struct scrub_rules *r = calloc(1, sizeof(*r));
	if (r == NULL || data == NULL || hdr == NULL ||
	    !scrub_value_ok(hdr->to, SCRUB_ADDRESS_MAX, false) ||
	    strchr(hdr->to, '@') == NULL || strpbrk(hdr->to, "<>\" \t,") ||
	    !scrub_value_ok(hdr->message_id, 998, false) ||
	    strpbrk(hdr->message_id, "<> \t") != NULL ||
	    !scrub_rules_init(r, p)) {
		if (r)
			scrub_rules_clear(r);
		free(r);
		return NULL;
	}
	GMimeMessage *orig = mailmsg_message(data, len);
	GMimeMessage *out = orig ? scrub_message(r, p, hdr, orig) : NULL;
	if (orig)
		g_object_unref(orig);
	scrub_rules_clear(r);
	free(r);
	if (out == NULL)
		return NULL;

	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *mem = g_mime_stream_mem_new();
	ssize_t n = g_mime_object_write_to_stream(GMIME_OBJECT(out), fo, mem);
	g_mime_format_options_free(fo);
	g_object_unref(out);
	GByteArray *bytes =
		g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	/* What SMTP cannot carry (an attached message/rfc822 is written as
	 * it came, and may hold it): refused, never sent altered. */
	for (guint i = 0; n >= 0 && bytes && i < bytes->len; i++)
		if (bytes->data[i] == '\0' ||
		    (bytes->data[i] == '\r' &&
		     (i + 1 == bytes->len || bytes->data[i + 1] != '\n')))
			n = -1;
	char *res = n >= 0 && bytes ? malloc(bytes->len + 1) : NULL;
	if (res) {
		memcpy(res, bytes->data, bytes->len);
		res[bytes->len] = '\0';
		*out_len = bytes->len;
	}
	g_object_unref(mem);
	return res;
}
