/*
 * test_keys_seal.c — sealing message content as bytes (keys_seal_bytes,
 * keys_open_bytes) and the keyed hash under a person's data key
 * (keys_data_hash).
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/keys.h"

static void key_of(uint8_t fill, uint8_t dk[KEYS_DATA_KEY_BYTES])
{
	memset(dk, fill, KEYS_DATA_KEY_BYTES);
}

Test(keys_seal, round_trip_of_text_binary_and_empty)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	key_of(7, dk);
	const char text[] = "Subject: hello\r\n\r\nbody \x00 with a NUL";
	size_t lens[] = { sizeof(text), 1, 0 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *box = NULL;
		size_t box_len = 0;
		cr_assert_eq(keys_seal_bytes(dk, text, lens[i], &box, &box_len),
			     0);
		cr_assert_eq(box_len, lens[i] + KEYS_SEALED_OVERHEAD);
		cr_assert_eq(box[0], KEYS_SEALED_V1);
		char *plain = NULL;
		size_t plain_len = 99;
		cr_assert_eq(
			keys_open_bytes(dk, box, box_len, &plain, &plain_len),
			0);
		cr_assert_eq(plain_len, lens[i]);
		cr_assert(memcmp(plain, text, lens[i]) == 0);
		cr_assert_eq(plain[plain_len], '\0');
		keys_free_plain(plain, plain_len);
		free(box);
	}
}

Test(keys_seal, the_plaintext_does_not_show_and_nonces_differ)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	key_of(1, dk);
	const char text[] = "MARKER-visible-in-clear";
	uint8_t *a, *b;
	size_t an, bn;
	cr_assert_eq(keys_seal_bytes(dk, text, strlen(text), &a, &an), 0);
	cr_assert_eq(keys_seal_bytes(dk, text, strlen(text), &b, &bn), 0);
	cr_assert(memmem(a, an, "MARKER", 6) == NULL);
	cr_assert_eq(an, bn);
	cr_assert(memcmp(a, b, an) != 0, "a fresh nonce each time");
	free(a);
	free(b);
}

Test(keys_seal, large_values_seal_and_open)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	key_of(2, dk);
	size_t n = 25u * 1024 * 1024 + 3; /* beyond keys_seal's limit */
	char *big = malloc(n);
	cr_assert_not_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 31);
	uint8_t *box;
	size_t box_len;
	cr_assert_eq(keys_seal_bytes(dk, big, n, &box, &box_len), 0);
	char *plain;
	size_t plain_len;
	cr_assert_eq(keys_open_bytes(dk, box, box_len, &plain, &plain_len), 0);
	cr_assert_eq(plain_len, n);
	cr_assert(memcmp(plain, big, n) == 0);
	keys_free_plain(plain, plain_len);
	free(box);
	free(big);
}

Test(keys_seal, refuses_too_large_and_missing_input)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	key_of(3, dk);
	uint8_t *box = (uint8_t *)1;
	size_t box_len = 5;
	cr_assert_eq(keys_seal_bytes(dk, "x", (size_t)KEYS_SEAL_BYTES_MAX + 1,
				     &box, &box_len),
		     -1);
	cr_assert_null(box);
	cr_assert_eq(box_len, 0);
	cr_assert_eq(keys_seal_bytes(dk, NULL, 4, &box, &box_len), -1);
}

Test(keys_seal, wrong_key_tamper_truncation_and_version_fail)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES], other[KEYS_DATA_KEY_BYTES];
	key_of(4, dk);
	key_of(5, other);
	uint8_t *box;
	size_t n;
	cr_assert_eq(keys_seal_bytes(dk, "personal", 8, &box, &n), 0);
	char *plain = (char *)1;
	size_t plain_len = 1;
	cr_assert_eq(keys_open_bytes(other, box, n, &plain, &plain_len), -1);
	cr_assert_null(plain);
	cr_assert_eq(plain_len, 0);
	for (size_t i = 0; i < n; i++) {
		box[i] ^= 0x20;
		cr_assert_eq(keys_open_bytes(dk, box, n, &plain, &plain_len),
			     -1, "byte %zu flipped", i);
		box[i] ^= 0x20;
	}
	for (size_t cut = 0; cut < n; cut++)
		cr_assert_eq(keys_open_bytes(dk, box, cut, &plain, &plain_len),
			     -1, "cut to %zu", cut);
	cr_assert_eq(keys_open_bytes(dk, NULL, n, &plain, &plain_len), -1);
	/* plaintext stored by an older version is no sealed value */
	cr_assert_eq(keys_open_bytes(dk,
				     "Subject: plain text here, long "
				     "enough to pass the length check",
				     70, &plain, &plain_len),
		     -1);
	cr_assert_eq(keys_open_bytes(dk, box, n, &plain, &plain_len), 0);
	keys_free_plain(plain, plain_len);
	free(box);
}

Test(keys_seal, data_hash_is_keyed_and_separated_by_kind)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES], other[KEYS_DATA_KEY_BYTES];
	key_of(6, dk);
	key_of(8, other);
	uint8_t a[16], b[16], c[16], d[16];
	cr_assert_eq(keys_data_hash(dk, "cmr-dedup-v1", "m", 1, a, 16), 0);
	cr_assert_eq(keys_data_hash(dk, "cmr-dedup-v1", "m", 1, b, 16), 0);
	cr_assert(memcmp(a, b, 16) == 0, "deterministic");
	cr_assert_eq(keys_data_hash(other, "cmr-dedup-v1", "m", 1, c, 16), 0);
	cr_assert(memcmp(a, c, 16) != 0, "another key, another hash");
	cr_assert_eq(keys_data_hash(dk, "cmr-other", "m", 1, d, 16), 0);
	cr_assert(memcmp(a, d, 16) != 0, "another kind, another hash");
	cr_assert_eq(keys_data_hash(dk, "", "m", 1, d, 16), -1);
	cr_assert_eq(keys_data_hash(dk, "seventeen-bytes!!", "m", 1, d, 16),
		     -1);
	cr_assert_eq(keys_data_hash(dk, "k", "m", 1, d, 8), -1);
}
