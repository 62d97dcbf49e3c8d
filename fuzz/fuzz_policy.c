/*
 * fuzz_policy.c — Postfix policy requests as the policy door reads them:
 * arbitrary bytes cut into lines (at most POLICY_LINE_MAX each, as the
 * door's reader allows) and taken attribute by attribute. Nothing may
 * crash, and every field stays NUL-terminated inside its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *field, size_t size)
{
	if (memchr(field, '\0', size) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_request req;
	char line[POLICY_LINE_MAX + 1];
	memset(&req, 0, sizeof(req));
	size_t at = 0;
	for (int n = 0; at < size && n < POLICY_ATTRS_MAX; n++) {
		const uint8_t *end = memchr(data + at, '\n', size - at);
		size_t len = end ? (size_t)(end - (data + at)) : size - at;
		size_t take = len < POLICY_LINE_MAX ? len : POLICY_LINE_MAX - 1;
		memcpy(line, data + at, take);
		line[take] = '\0';
		if (strlen(line) > 0)
			(void)policy_attribute(&req, line);
		at += len + 1;
	}
	check(req.request, sizeof(req.request));
	check(req.state, sizeof(req.state));
	check(req.recipient, sizeof(req.recipient));
	check(req.sender, sizeof(req.sender));
	return 0;
}
