/*
 * test_replyaddr.c — reply addresses (replyaddr.h): what is made has the
 * shape parse accepts and gives back the same token; the 130 bits are the
 * first 130 of the random bytes, in the alias alphabet; parse takes any
 * case and nothing else (look-alikes, a wrong length, another domain,
 * brackets, a tag, surrounding space, a missing prefix).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "id.h"
#include "replyaddr.h"

static const uint8_t rnd_a[REPLYADDR_RANDOM_BYTES] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0xc0,
};

Test(replyaddr, make_shape)
{
	char local[REPLYADDR_LOCAL_SIZE];
	replyaddr_make(rnd_a, local);
	cr_assert_eq(strlen(local), 28);
	cr_assert(strncmp(local, "r.", 2) == 0);
	for (int i = 2; i < 28; i++)
		cr_assert(id_base32_char(local[i]) &&
				  !(local[i] >= 'A' && local[i] <= 'Z'),
			  "%s", local);
	/* Known answer (computed apart: the 136-bit number shifted right by
	 * 6, written 5 bits a character). */
	cr_assert_str_eq(local, "r.008j4ct4ank7f24snaxwsqfezz");
}

Test(replyaddr, all_130_bits_count_and_no_more)
{
	uint8_t r[REPLYADDR_RANDOM_BYTES] = { 0 };
	char a[REPLYADDR_LOCAL_SIZE], b[REPLYADDR_LOCAL_SIZE];
	replyaddr_make(r, a);
	cr_assert_str_eq(a, "r.00000000000000000000000000");
	/* bit 129 (the last used) shows in the last character */
	r[16] = 0x40;
	replyaddr_make(r, b);
	cr_assert_str_eq(b, "r.00000000000000000000000001");
	/* bits 130..135 are not used */
	r[16] = 0x3f;
	replyaddr_make(r, b);
	cr_assert_str_eq(b, a);
}

Test(replyaddr, full_and_round_trip)
{
	char addr[128], token[REPLYADDR_TOKEN_SIZE];
	cr_assert(replyaddr_make_full(rnd_a, "relay.example", addr,
				      sizeof(addr)));
	cr_assert_str_eq(addr, "r.008j4ct4ank7f24snaxwsqfezz@relay.example");
	cr_assert(replyaddr_parse(addr, "relay.example", token));
	cr_assert_str_eq(token, "008j4ct4ank7f24snaxwsqfezz");
	/* many random-looking inputs round-trip */
	uint8_t r[REPLYADDR_RANDOM_BYTES];
	for (int k = 0; k < 200; k++) {
		for (int i = 0; i < REPLYADDR_RANDOM_BYTES; i++)
			r[i] = (uint8_t)(k * 37 + i * 101 + (k ^ i));
		char local[REPLYADDR_LOCAL_SIZE];
		replyaddr_make(r, local);
		cr_assert(replyaddr_make_full(r, "R.Example", addr,
					      sizeof(addr)));
		cr_assert(replyaddr_parse(addr, "r.example", token), "%s",
			  addr);
		cr_assert_str_eq(token, local + 2);
	}
}

Test(replyaddr, full_refuses_what_does_not_fit)
{
	char addr[40];
	cr_assert_not(replyaddr_make_full(rnd_a, "relay.example", addr,
					  sizeof(addr)));
	cr_assert_str_eq(addr, "");
	cr_assert_not(replyaddr_make_full(rnd_a, "", addr, sizeof(addr)));
	cr_assert_not(replyaddr_make_full(rnd_a, NULL, addr, sizeof(addr)));
	char exact[28 + 1 + 3 + 1]; /* "r.…@a.b" and its NUL */
	cr_assert(replyaddr_make_full(rnd_a, "a.b", exact, sizeof(exact)));
	cr_assert_not(replyaddr_make_full(rnd_a, "a.bc", exact, sizeof(exact)));
}

Test(replyaddr, any_case_normalised)
{
	char token[REPLYADDR_TOKEN_SIZE];
	cr_assert(replyaddr_parse("R.008J4CT4ANK7F24SNAXWSQFEZZ@RELAY.Example",
				  "relay.EXAMPLE", token));
	cr_assert_str_eq(token, "008j4ct4ank7f24snaxwsqfezz");
}

Test(replyaddr, everything_else_is_refused)
{
	static const char *const bad[] = {
		"",
		"r.",
		"r.@relay.example",
		"r.000j48tm8nk7f24tncxqvqfzr@relay.example",   /* 25 */
		"r.008j4ct4ank7f24snaxwsqfezz0@relay.example", /* 27 */
		"x.008j4ct4ank7f24snaxwsqfezz@relay.example",
		"r-008j4ct4ank7f24snaxwsqfezz@relay.example",
		"008j4ct4ank7f24snaxwsqfezz@relay.example",
		"rr.008j4ct4ank7f24snaxwsqfezz@relay.example",
		/* look-alikes and letters outside the alphabet */
		"r.o00j48tm8nk7f24tncxqvqfzr0@relay.example",
		"r.i00j48tm8nk7f24tncxqvqfzr0@relay.example",
		"r.l00j48tm8nk7f24tncxqvqfzr0@relay.example",
		"r.u00j48tm8nk7f24tncxqvqfzr0@relay.example",
		"r.-00j48tm8nk7f24tncxqvqfzr0@relay.example",
		"r.008j4ct4ank7f24snaxwsqfezz@other.example",
		"r.008j4ct4ank7f24snaxwsqfezz@relay.example.",
		"r.008j4ct4ank7f24snaxwsqfezz@sub.relay.example",
		"r.008j4ct4ank7f24snaxwsqfezz@relay.examplex",
		"r.008j4ct4ank7f24snaxwsqfezz@",
		"r.008j4ct4ank7f24snaxwsqfezz",
		"<r.008j4ct4ank7f24snaxwsqfezz@relay.example>",
		" r.008j4ct4ank7f24snaxwsqfezz@relay.example",
		"r.008j4ct4ank7f24snaxwsqfezz@relay.example ",
		"r.008j4ct4ank7f24snaxwsqfezz+tag@relay.example",
		"r.008j4ct4ank7f24snaxwsqfezz@@relay.example",
		"acme.k3x9q2r7m4vt8wzp@relay.example",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char token[REPLYADDR_TOKEN_SIZE] = "junk";
		cr_assert_not(replyaddr_parse(bad[i], "relay.example", token),
			      "%s", bad[i]);
		cr_assert_str_eq(token, "");
	}
	char token[REPLYADDR_TOKEN_SIZE];
	cr_assert_not(replyaddr_parse(NULL, "relay.example", token));
	cr_assert_not(replyaddr_parse(
		"r.008j4ct4ank7f24snaxwsqfezz@relay.example", NULL, token));
	cr_assert_not(
		replyaddr_parse("r.008j4ct4ank7f24snaxwsqfezz@", "", token));
}

Test(replyaddr, a_nul_inside_ends_the_address)
{
	char s[] = "r.008j4ct4ank7f24snaxwsqfezz@relay.example";
	char token[REPLYADDR_TOKEN_SIZE];
	s[10] = '\0';
	cr_assert_not(replyaddr_parse(s, "relay.example", token));
}

Test(replyaddr, base32_char_is_the_alias_alphabet)
{
	const char *alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
	int n = 0;
	for (int c = 1; c < 256; c++)
		if (id_base32_char((char)c))
			n++;
	cr_assert_eq(n, 32 + 22); /* and the 22 upper-case letters */
	for (const char *p = alphabet; *p; p++)
		cr_assert(id_base32_char(*p));
	cr_assert_not(id_base32_char('\0'));
}
