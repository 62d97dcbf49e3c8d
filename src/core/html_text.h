/*
 * html_text.h — an HTML document as plain text, for a person reading a
 * message whose only text is HTML (GET /v1/me/messages/{id}).
 *
 * Not a renderer: tags are dropped, and so is everything inside script,
 * style, head, title and template; block elements (p, div, br, li, tr,
 * h1–h6, blockquote, pre, table, ul, ol, hr, section, article, header,
 * footer) become line breaks, a list item starts with "- ", a table cell
 * is separated by a tab; character references are decoded (the common
 * named ones and every numeric one; an unknown one stays as written);
 * runs of white space fold into one space outside pre, and at most one
 * empty line stands between paragraphs. A link keeps its text, not its
 * address: the HTML itself is shown sanitized by the web app.
 *
 * Pure: no I/O, no allocation, no globals; linear in the input.
 */
#ifndef CMR_CORE_HTML_TEXT_H
#define CMR_CORE_HTML_TEXT_H

#include <stddef.h>

/* Writes the text of html[0..len) into out, which has room for len + 1
 * bytes (the text is never longer than the HTML), NUL-terminated, and
 * returns its length. Bytes that are not ASCII pass through as they are. */
size_t html_text(const char *html, size_t len, char *out);

#endif
