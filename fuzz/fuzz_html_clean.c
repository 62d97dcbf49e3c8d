/*
 * fuzz_html_clean.c — fuzz driver for html_clean (src/base/html_clean.c).
 *
 * Feeds arbitrary bytes as a brand's HTML and checks what the reader
 * relies on: the output is NUL-terminated at its length and valid UTF-8,
 * no element that could run, load or embed anything appears in it, and
 * sanitizing the output again blocks nothing more (nothing that loads
 * was let through). Built with libFuzzer or with the standalone replay
 * main.
 */
#define _GNU_SOURCE /* strcasestr */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/html_clean.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Tags that must never be written (the output escapes every '<' of
 * text, so a match is a tag). */
static const char *const forbidden[] = {
	"<script", "<style",  "<iframe",    "<img",	 "<svg",
	"<math",   "<object", "<embed",	    "<form",	 "<input",
	"<button", "<link",   "<meta",	    "<base",	 "<video",
	"<audio",  "<source", "<template",  "<textarea", "<noscript",
	"<frame",  "<xmp",    "<plaintext", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct html_clean c, again;
	if (!html_clean((const char *)data, size, &c))
		abort();
	if (strlen(c.html) != c.len || !utf8_valid(c.html, c.len))
		abort();
	for (size_t i = 0; forbidden[i]; i++)
		if (strcasestr(c.html, forbidden[i]) != NULL)
			abort();
	if (!html_clean(c.html, c.len, &again) || again.remote_blocked != 0)
		abort();
	html_clean_free(&again);
	html_clean_free(&c);
	return 0;
}
