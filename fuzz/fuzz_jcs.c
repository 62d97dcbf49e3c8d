/*
 * fuzz_jcs.c — fuzz driver for the canonical JSON serializer
 * (src/ledger/jcs.c): arbitrary bytes are parsed by jansson (duplicate keys
 * refused, as every door does) and written as JCS. When that succeeds, the
 * output is parsed and written again: canonical output must be a fixed
 * point, byte for byte, and must parse to an equal value.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/jcs.h"

#define FUZZ_JCS_FLAGS                                                         \
	(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *first, *second;
	char *out1, *out2;
	size_t len1, len2;

	first = json_loadb((const char *)data, size, FUZZ_JCS_FLAGS, NULL);
	if (!first)
		return 0;
	if (jcs_serialize(first, &out1, &len1) != JCS_OK) {
		json_decref(first);
		return 0;
	}
	/* JCS output holds no NUL byte (U+0000 is written \u0000). */
	if (memchr(out1, '\0', len1))
		abort();
	second = json_loadb(out1, len1, FUZZ_JCS_FLAGS, NULL);
	if (!second || !json_equal(first, second))
		abort();
	if (jcs_serialize(second, &out2, &len2) != JCS_OK || len1 != len2 ||
	    memcmp(out1, out2, len1) != 0)
		abort();
	free(out1);
	free(out2);
	json_decref(first);
	json_decref(second);
	return 0;
}
