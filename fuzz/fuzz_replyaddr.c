/*
 * fuzz_replyaddr.c — reply addresses (src/core/replyaddr.c) from arbitrary
 * bytes: the input, cut at its first NUL, is a recipient; whatever
 * replyaddr_parse accepts is 26 lower-case characters of the alphabet, and
 * the address made again of those bits parses to the same token. The first
 * 17 bytes are also made into an address, which must parse back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "replyaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char rcpt[512];
	char token[REPLYADDR_TOKEN_SIZE], again[REPLYADDR_TOKEN_SIZE];
	char addr[REPLYADDR_LOCAL_SIZE + 64];
	size_t n = size < sizeof(rcpt) - 1 ? size : sizeof(rcpt) - 1;

	memcpy(rcpt, data, n);
	rcpt[n] = '\0';
	if (replyaddr_parse(rcpt, "relay.example", token)) {
		fuzz_check(strlen(token) == REPLYADDR_TOKEN_LEN);
		for (int i = 0; i < REPLYADDR_TOKEN_LEN; i++)
			fuzz_check(id_base32_char(token[i]) &&
				   !(token[i] >= 'A' && token[i] <= 'Z'));
		uint8_t bits[REPLYADDR_RANDOM_BYTES];
		fuzz_check(id_base32_decode(token, REPLYADDR_TOKEN_LEN, bits,
					    sizeof(bits)));
		fuzz_check(replyaddr_make_full(bits, "Relay.Example", addr,
					       sizeof(addr)));
		fuzz_check(replyaddr_parse(addr, "relay.example", again));
		fuzz_check(strcmp(token, again) == 0);
	} else {
		fuzz_check(token[0] == '\0');
	}
	if (size >= REPLYADDR_RANDOM_BYTES) {
		fuzz_check(replyaddr_make_full(data, "relay.example", addr,
					       sizeof(addr)));
		fuzz_check(replyaddr_parse(addr, "RELAY.example", token));
		fuzz_check(strncmp(addr + 2, token, REPLYADDR_TOKEN_LEN) == 0);
	}
	return 0;
}
