/*
 * fuzz_scrub.c — a person's reply made anonymous (src/base/scrub.c) from
 * arbitrary bytes: nothing may crash; whatever comes out is NUL-terminated
 * at its length, has CRLF line ends only, a top-level header block of the
 * allowed fields only (From, To and Message-ID as the caller said), and
 * none of the person's addresses written plainly in it; and it is itself
 * a message that scrubs again.
 */
#define _GNU_SOURCE /* strcasestr */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/scrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static const char *const fuzz_addresses[] = { "ana@home.example",
					      "analima77@gmail.example" };
static const char *const fuzz_names[] = { "Ana Lima", "Jos\xc3\xa9" };
static const struct scrub_person fuzz_person = {
	fuzz_addresses, 2, fuzz_names, 2, "acme.k3x9q2r7m4vt8wzp@relay.example",
	"Acme customer"
};
static const struct scrub_out_hdr fuzz_hdr = { "deals@acme.example",
					       "r1.abc@relay.example",
					       1796205600 };

/* The top-level header block has only the fields a reply goes out
 * with. */
static void fuzz_check_headers(const char *s, size_t len)
{
	static const char *const allowed[] = {
		"From",
		"To",
		"Subject",
		"Date",
		"Message-Id",
		"In-Reply-To",
		"References",
		"MIME-Version",
		"Content-Type",
		"Content-Transfer-Encoding",
		"Content-Language",
		"Content-Disposition",
		NULL,
	};
	const char *end = memmem(s, len, "\r\n\r\n", 4);
	size_t block = end ? (size_t)(end - s) + 2 : len;
	for (size_t i = 0; i < block;) {
		const char *eol = memmem(s + i, block - i, "\r\n", 2);
		size_t n = eol ? (size_t)(eol - (s + i)) : block - i;
		if (s[i] != ' ' && s[i] != '\t') {
			const char *colon = memchr(s + i, ':', n);
			fuzz_check(colon != NULL);
			size_t name = (size_t)(colon - (s + i));
			bool ok = false;
			for (const char *const *a = allowed; *a && !ok; a++)
				ok = strlen(*a) == name &&
				     strncasecmp(s + i, *a, name) == 0;
			fuzz_check(ok);
		}
		i += n + 2;
	}
	char *copy = strndup(s, block);
	fuzz_check(copy != NULL);
	fuzz_check(strcasestr(copy, "ana@home.example") == NULL);
	fuzz_check(strcasestr(copy, "analima77@gmail.example") == NULL);
	fuzz_check(strstr(copy,
			  "From: Acme customer "
			  "<acme.k3x9q2r7m4vt8wzp@relay.example>\r\n") != NULL);
	fuzz_check(strstr(copy, "Message-Id: <r1.abc@relay.example>\r\n") !=
		   NULL);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	char *out = scrub_reply((const char *)data, size, &fuzz_person,
				&fuzz_hdr, &len);
	if (out == NULL)
		return 0;
	fuzz_check(out[len] == '\0');
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\n')
			fuzz_check(i > 0 && out[i - 1] == '\r');
		if (out[i] == '\r')
			fuzz_check(i + 1 < len && out[i + 1] == '\n');
	}
	fuzz_check_headers(out, len);
	size_t again_len = 0;
	char *again =
		scrub_reply(out, len, &fuzz_person, &fuzz_hdr, &again_len);
	fuzz_check(again != NULL);
	free(again);
	free(out);
	return 0;
}
