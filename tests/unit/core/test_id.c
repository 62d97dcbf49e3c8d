/*
 * test_id.c — API ids: every type round-trips, the prefix and check catch
 * wrong types and typos, the Crockford look-alikes decode, and the base32
 * helpers agree with each other.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "id.h"

Test(id, round_trip_every_type)
{
	uint64_t keys[] = { 1,
			    2,
			    42,
			    0x7fffffffffffffffULL,
			    1234567890123ULL,
			    (1ULL << 62) | 77 };
	for (int t = 0; t < ID_TYPE_COUNT; t++)
		for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
			char s[ID_SIZE];
			uint64_t back = 0;
			id_encode((enum id_type)t, keys[i], s);
			cr_assert_eq(strlen(s), ID_LEN);
			cr_assert(id_decode((enum id_type)t, s, &back), "%s",
				  s);
			cr_assert_eq(back, keys[i]);
		}
}

Test(id, prefixes)
{
	char s[ID_SIZE];
	id_encode(ID_RELATIONSHIP, 5, s);
	cr_assert(strncmp(s, "rel_", 4) == 0);
	id_encode(ID_TOKEN, 5, s);
	cr_assert(strncmp(s, "tok_", 4) == 0);
	id_encode(ID_PERSON, 5, s);
	cr_assert(strncmp(s, "per_", 4) == 0);
}

Test(id, wrong_type_is_refused)
{
	char s[ID_SIZE];
	uint64_t k;
	id_encode(ID_BRAND, 99, s);
	cr_assert_not(id_decode(ID_PERSON, s, &k));
	/* Same body under another prefix: the check is per type. */
	memcpy(s, "per_", 4);
	cr_assert_not(id_decode(ID_PERSON, s, &k));
}

Test(id, sequential_keys_do_not_look_sequential)
{
	char a[ID_SIZE], b[ID_SIZE];
	id_encode(ID_MESSAGE, 1000, a);
	id_encode(ID_MESSAGE, 1001, b);
	int same = 0;
	for (int i = 4; i < ID_LEN; i++)
		same += a[i] == b[i];
	cr_assert_lt(same, 8, "%s vs %s", a, b);
}

Test(id, typos_are_caught)
{
	char s[ID_SIZE];
	uint64_t k;
	int caught = 0;
	id_encode(ID_RELATIONSHIP, 123456789, s);
	for (int i = 4; i < ID_LEN; i++) {
		char t[ID_SIZE];
		memcpy(t, s, sizeof(t));
		t[i] = t[i] == 'z' ? 'y' : 'z';
		caught += !id_decode(ID_RELATIONSHIP, t, &k);
	}
	/* A 16-bit check misses one change in 65536 on average. */
	cr_assert_geq(caught, 15);
}

Test(id, malformed)
{
	uint64_t k;
	cr_assert_not(id_decode(ID_PERSON, "", &k));
	cr_assert_not(id_decode(ID_PERSON, "per_", &k));
	cr_assert_not(id_decode(ID_PERSON, "per_0123456789abcdef0", &k));
	cr_assert_not(id_decode(ID_PERSON, "per_0123456789abcde", &k));
	cr_assert_not(id_decode(ID_PERSON, "per_0123456789abcdeu", &k));
	cr_assert_not(id_decode(ID_PERSON, NULL, &k));
}

Test(id, upper_case_and_look_alikes)
{
	char s[ID_SIZE], t[ID_SIZE];
	uint64_t k;
	id_encode(ID_OFFER, 0x0123456789ULL, s);
	memcpy(t, s, sizeof(t));
	for (int i = 4; i < ID_LEN; i++)
		if (t[i] >= 'a' && t[i] <= 'z')
			t[i] = (char)(t[i] - 'a' + 'A');
		else if (t[i] == '0')
			t[i] = 'O';
		else if (t[i] == '1')
			t[i] = 'l';
	cr_assert(id_decode(ID_OFFER, t, &k), "%s", t);
	cr_assert_eq(k, 0x0123456789ULL);
}

Test(id, base32_round_trip)
{
	uint8_t in[10] = { 0xde, 0xad, 0xbe, 0xef, 0x00,
			   0x01, 0x02, 0x80, 0xff, 0x7f };
	uint8_t out[10];
	char s[17];
	id_base32(in, 80, s);
	cr_assert_eq(strlen(s), 16);
	cr_assert(id_base32_decode(s, 16, out, sizeof(out)));
	cr_assert(memcmp(in, out, sizeof(in)) == 0);
	cr_assert_not(id_base32_decode("u", 1, out, sizeof(out)));
	cr_assert_not(id_base32_decode(s, 17, out, 10));
}
