/*
 * html_clean.h — a brand's HTML made safe to show: parsed by gumbo (a
 * real HTML5 parser, so entities, case, NUL bytes and broken markup are
 * read as a browser reads them), then written out again from an
 * allow-list of elements and attributes, with every URL that would load
 * something dropped and counted.
 *
 * Kept: text structure (p, div, headings, blockquote, pre, br, hr…),
 * tables, lists and inline formatting; attributes align, valign, colspan,
 * rowspan, title, dir, lang, width, height, bgcolor, border and a few more
 * of their kind, and a `style` filtered to a short list of properties
 * whose values hold no URL, escape, comment or function other than
 * rgb()/hsl(). An <img> becomes its alt text. An <a> keeps its href only
 * for http:, https: and mailto: and gains rel="noopener noreferrer" and
 * target="_blank"; any other link loses its tag and keeps its text.
 * Dropped with their content: script, style, template, noscript, title,
 * iframe and the other embeddings, forms and their controls, media,
 * SVG and MathML, and anything in the document head. Any other element
 * loses its tag and keeps its content. Comments are dropped. Pure: bytes
 * in, bytes out, no I/O and no globals.
 */
#ifndef CMR_BASE_HTML_CLEAN_H
#define CMR_BASE_HTML_CLEAN_H

#include <stdbool.h>
#include <stddef.h>

/* Elements nested deeper than this keep their content and lose their
 * tags, so that neither the output nor the walk over it grows without
 * bound. */
#define HTML_CLEAN_DEPTH 256

/* HTML that could nest deeper than this (by its tags alone) is not
 * parsed: the parser's time grows faster than the square of the depth.
 * It is shown as its text instead. */
#define HTML_CLEAN_PARSE_DEPTH 1000

struct html_clean {
	char *html;	    /* malloc'd, NUL-terminated UTF-8: an HTML fragment
			       (body content); owned by the caller, freed by
			       html_clean_free */
	size_t len;	    /* bytes of html, the NUL excluded */
	int remote_blocked; /* URLs dropped that would have loaded
			       something (img src, srcset, background,
			       poster, CSS url() and @import, link href,
			       object data, meta refresh…); data:, cid:
			       and empty ones are not counted (0 when
			       as_text) */
	bool as_text;	    /* too deep to parse: html is its text, escaped,
			       in a div that keeps its line breaks */
};

/* Sanitizes len bytes of HTML (any bytes: invalid UTF-8 becomes U+FFFD).
 * Returns false only when out of memory; out then holds nothing. */
bool html_clean(const char *html, size_t len, struct html_clean *out);

/* Frees out->html and zeroes out. */
void html_clean_free(struct html_clean *out);

#endif
