/*
 * fuzz_html_text.c — fuzz driver for html_text (src/core/html_text.c).
 *
 * Feeds arbitrary bytes as HTML and checks what the reader relies on: the
 * text fits the bound (never longer than the HTML; a canary after the
 * buffer stays), it is NUL-terminated at the length returned, and the
 * same input gives the same text. Built with libFuzzer or with the
 * standalone replay main.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/html_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = malloc(size + 2), *again = malloc(size + 1);
	if (out == NULL || again == NULL)
		abort();
	out[size + 1] = 0x5a; /* canary */
	size_t n = html_text((const char *)data, size, out);
	if (n > size || out[n] != '\0' || out[size + 1] != 0x5a)
		abort();
	if (html_text((const char *)data, size, again) != n ||
	    memcmp(out, again, n) != 0)
		abort();
	free(out);
	free(again);
	return 0;
}
