/*
 * fuzz_lmtp.c — the arguments of LMTP's MAIL and RCPT as the door reads
 * them: any line (at most LMTP_LINE_MAX) after "FROM:" or "TO:". Nothing
 * may crash, and an address taken fits its buffer and holds no space,
 * control character or '<'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/lmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *path, size_t size)
{
	size_t n = strnlen(path, size);
	if (n == size)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x21 || path[i] == 0x7f ||
		    path[i] == '<')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LMTP_LINE_MAX + 1], path[321];
	size_t n = size < LMTP_LINE_MAX ? size : LMTP_LINE_MAX;
	memcpy(line, data, n);
	line[n] = '\0';
	if (lmtp_path(line, "FROM:", path, sizeof(path)))
		check(path, sizeof(path));
	if (lmtp_path(line, "TO:", path, sizeof(path)))
		check(path, sizeof(path));
	return 0;
}
