/*
 * test_utf8.c — the UTF-8 module (utf8.h): the boundaries of each length
 * of character decode, each kind of ill-formed sequence is refused, a cut
 * lands on the last character boundary at every budget, the repair keeps
 * what the mail door has always made of broken header values, and all of
 * it agrees with an independent model on every string of up to three
 * bytes and on random strings.
 *
 * The model shares no code with src/core: it takes the definition of RFC
 * 3629 literally — a well-formed character is the shortest encoding of a
 * Unicode scalar value — and decodes by encoding the candidate code point
 * again and comparing the bytes, instead of by byte ranges.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* A string literal and its length, so that it may hold a NUL. */
#define BYTES(lit) lit, sizeof(lit) - 1

/* ---- The model ---- */

static bool model_scalar(uint32_t cp)
{
	return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

/* cp < 2^21 in exactly n bytes: its shortest form, or an overlong one
 * when n is more than it needs. */
static size_t model_encode_in(uint32_t cp, size_t n, unsigned char out[4])
{
	static const unsigned char lead[] = { 0, 0x00, 0xC0, 0xE0, 0xF0 };

	for (size_t k = n - 1; k > 0; k--, cp >>= 6)
		out[k] = (unsigned char)(0x80 | (cp & 0x3F));
	out[0] = (unsigned char)(lead[n] | cp);
	return n;
}

/* cp < 2^21 in its shortest form. */
static size_t model_encode(uint32_t cp, unsigned char out[4])
{
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

	return model_encode_in(cp, n, out);
}

/* For n = 1..4: read the code point n bytes would carry, and accept it
 * when it is a scalar value whose encoding is exactly those n bytes. */
static size_t model_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const unsigned char payload[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };

	for (size_t n = 1; n <= 4 && n <= len; n++) {
		uint32_t c = s[0] & payload[n];
		unsigned char enc[4];

		for (size_t k = 1; k < n; k++)
			c = c << 6 | (s[k] & 0x3F);
		if (model_scalar(c) && model_encode(c, enc) == n &&
		    memcmp(enc, s, n) == 0) {
			*cp = c;
			return n;
		}
	}
	return 0;
}

static size_t model_valid_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len && (n = model_decode(s + i, len - i, &cp)) > 0)
		i += n;
	return i;
}

/* The leading one bits of a byte. */
static size_t model_ones(unsigned char c)
{
	size_t n = 0;

	while (n < 8 && (c & (0x80 >> n)))
		n++;
	return n;
}

/* The repair, written out: copy what decodes; stop at a lead byte of 2 to
 * 4 leading ones whose continuation bytes run into the end too early;
 * anything else is one '?'. */
static size_t model_clean(const unsigned char *s, size_t len,
			  unsigned char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = model_decode(s + i, len - i, &cp);
		size_t ones = model_ones(s[i]), rest = len - i - 1;
		bool all_cont = true;

		if (n > 0) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		for (size_t k = i + 1; k < len; k++)
			all_cont = all_cont && model_ones(s[k]) == 1;
		if (ones >= 2 && ones <= 4 && rest < ones - 1 && all_cont)
			return o;
		out[o++] = '?';
		i++;
	}
	return o;
}

/* The largest n <= max at which a decoding from the start has a boundary
 * (for a string the model finds valid). */
static size_t model_cut(const unsigned char *s, size_t len, size_t max)
{
	size_t i = 0, best = 0, n;
	uint32_t cp;

	while (i < len && (n = model_decode(s + i, len - i, &cp)) > 0) {
		i += n;
		if (i <= max)
			best = i;
	}
	return best;
}

/* ---- Valid characters ---- */

Test(utf8, decodes_the_boundaries_of_each_length)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{ "\x00", 1, 0x0 },
		{ "A", 1, 0x41 },
		{ "\x7f", 1, 0x7F },
		{ "\xc2\x80", 2, 0x80 },
		{ "\xc3\xa9", 2, 0xE9 },
		{ "\xdf\xbf", 2, 0x7FF },
		{ "\xe0\xa0\x80", 3, 0x800 },
		{ "\xe2\x82\xac", 3, 0x20AC },
		{ "\xed\x9f\xbf", 3, 0xD7FF },
		{ "\xee\x80\x80", 3, 0xE000 },
		{ "\xef\xbf\xbf", 3, 0xFFFF },
		{ "\xf0\x90\x80\x80", 4, 0x10000 },
		{ "\xf0\x9f\x98\x80", 4, 0x1F600 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10FFFF },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t cp = 0xFFFFFFFF;
		char buf[8];

		cr_expect_eq(utf8_decode(cases[i].s, cases[i].len, &cp),
			     cases[i].len, "case %zu", i);
		cr_expect_eq(cp, cases[i].cp, "case %zu: U+%04X", i,
			     (unsigned)cp);
		/* What follows the character is not read into it. */
		memcpy(buf, cases[i].s, cases[i].len);
		memcpy(buf + cases[i].len, "\x80\x80", 2);
		cr_expect_eq(utf8_decode(buf, cases[i].len + 2, &cp),
			     cases[i].len, "case %zu", i);
		cr_expect(utf8_valid(cases[i].s, cases[i].len), "case %zu", i);
	}
}

Test(utf8, valid_strings)
{
	cr_expect(utf8_valid("", 0));
	cr_expect(utf8_valid("plain ASCII", 11));
	cr_expect(utf8_valid("a\0b", 3)); /* U+0000 is a character */
	cr_expect(utf8_valid(BYTES("Gr\xc3\xbc\xc3\x9f"
				   "e \xe2\x80\x94 \xf0\x9f\x98\x80")));
	cr_expect_eq(utf8_valid_prefix("abc", 3), 3);
}

/* ---- Ill-formed sequences ---- */

Test(utf8, refuses_each_kind_of_ill_formed_sequence)
{
	static const struct {
		const char *s;
		size_t len;
		const char *why;
	} bad[] = {
		{ BYTES("\x80"), "a lone continuation byte" },
		{ BYTES("\xbf"), "a lone continuation byte" },
		{ BYTES("\xc0\xaf"), "overlong '/' (C0)" },
		{ BYTES("\xc1\xbf"), "overlong U+007F (C1)" },
		{ BYTES("\xe0\x80\xaf"), "overlong, three bytes" },
		{ BYTES("\xe0\x9f\xbf"), "overlong U+07FF" },
		{ BYTES("\xf0\x80\x80\xaf"), "overlong, four bytes" },
		{ BYTES("\xf0\x8f\xbf\xbf"), "overlong U+FFFF" },
		{ BYTES("\xed\xa0\x80"), "U+D800, a surrogate" },
		{ BYTES("\xed\xbf\xbf"), "U+DFFF, a surrogate" },
		{ BYTES("\xf4\x90\x80\x80"), "U+110000" },
		{ BYTES("\xf5\x80\x80\x80"), "lead byte past F4" },
		{ BYTES("\xf7\xbf\xbf\xbf"), "lead byte past F4" },
		{ BYTES("\xf8\x88\x80\x80\x80"), "a five-byte form" },
		{ BYTES("\xfc\x84\x80\x80\x80\x80"), "a six-byte form" },
		{ BYTES("\xfe"), "FE" },
		{ BYTES("\xff"), "FF" },
		{ BYTES("\xc3\x28"), "bad second byte" },
		{ BYTES("\xc3\xc3"), "a lead byte as second byte" },
		{ BYTES("\xc3\x00"), "NUL as second byte" },
		{ BYTES("\xe2\x28\xac"), "bad second byte of three" },
		{ BYTES("\xe2\x82\x28"), "bad third byte" },
		{ BYTES("\xf0\x9f\x28\x80"), "bad third byte of four" },
		{ BYTES("\xf0\x9f\x98\x28"), "bad fourth byte" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t cp = 12345;

		cr_expect_eq(utf8_decode(bad[i].s, bad[i].len, &cp), 0, "%s",
			     bad[i].why);
		cr_expect_eq(cp, 12345, "%s: *cp written", bad[i].why);
		cr_expect_not(utf8_valid(bad[i].s, bad[i].len), "%s",
			      bad[i].why);
		cr_expect_eq(utf8_valid_prefix(bad[i].s, bad[i].len), 0, "%s",
			     bad[i].why);
	}
}

Test(utf8, refuses_every_sequence_cut_short)
{
	static const char *const whole[] = {
		"\xc3\xa9",
		"\xe2\x82\xac",
		"\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf",
	};

	for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
		size_t len = strlen(whole[i]);

		for (size_t n = 0; n < len; n++) {
			uint32_t cp;

			/* The bytes after n are there but not in the range. */
			cr_expect_eq(utf8_decode(whole[i], n, &cp), 0,
				     "%zu: %zu of %zu bytes", i, n, len);
			cr_expect_eq(utf8_valid(whole[i], n), n == 0);
			/* After an ASCII character: the prefix ends there. */
			char buf[8] = "x";
			memcpy(buf + 1, whole[i], n);
			cr_expect_eq(utf8_valid_prefix(buf, n + 1), 1);
		}
	}
}

Test(utf8, valid_prefix_stops_at_the_first_bad_byte)
{
	cr_expect_eq(utf8_valid_prefix("ab\xc3\xa9\xff"
				       "cd",
				       7),
		     4);
	cr_expect_eq(utf8_valid_prefix("ab\xe2\x82", 4), 2);
	cr_expect_eq(utf8_valid_prefix("\xe2\x82\xac\xed\xa0\x80", 6), 3);
	cr_expect_eq(utf8_valid_prefix("a\0\x80", 3), 2);
}

/* ---- Cutting ---- */

Test(utf8, cut_at_every_budget_of_a_multibyte_string)
{
	/* a, é (2), € (3), 😀 (4), z: boundaries 0 1 3 6 10 11 */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	static const size_t boundaries[] = { 0, 1, 3, 6, 10, 11 };
	size_t len = sizeof s - 1;

	for (size_t max = 0; max <= len + 2; max++) {
		size_t want = 0;

		for (size_t b = 0; b < sizeof boundaries / sizeof *boundaries;
		     b++)
			if (boundaries[b] <= max)
				want = boundaries[b];
		cr_expect_eq(utf8_cut(s, len, max), want, "max %zu", max);
		cr_expect(utf8_valid(s, utf8_cut(s, len, max)));
	}
	/* Only len counts: a shorter range is returned whole. */
	cr_expect_eq(utf8_cut(s, 2, 5), 2);
	cr_expect_eq(utf8_cut("", 0, 0), 0);
}

Test(utf8, cut_of_a_string_of_continuation_bytes)
{
	/* Not UTF-8; the cut backs up to the start rather than past it. */
	cr_expect_eq(utf8_cut("\x80\x80\x80\x80\x80", 5, 3), 0);
	cr_expect_eq(utf8_cut("ab\x80\x80\x80\x80", 6, 4), 1);
}

/* ---- Cleaning ---- */

/* in[0..in_len) cleaned must be want[0..want_len). */
static void expect_clean(const char *in, size_t in_len, const char *want,
			 size_t want_len)
{
	char buf[64];
	size_t n;

	memcpy(buf, in, in_len);
	n = utf8_clean(buf, in_len);
	cr_expect_eq(n, want_len, "%zu bytes, want %zu", n, want_len);
	cr_expect(memcmp(buf, want, want_len) == 0, "want \"%s\"", want);
	cr_expect(utf8_valid(buf, n));
}

Test(utf8, clean)
{
	expect_clean(BYTES(""), BYTES(""));
	expect_clean(BYTES("Gr\xc3\xbc\xc3\x9f"
			   "e"),
		     BYTES("Gr\xc3\xbc\xc3\x9f"
			   "e"));
	/* Cut short by the end: dropped. */
	expect_clean(BYTES("ab\xc3"), BYTES("ab"));
	expect_clean(BYTES("ab\xe2\x82"), BYTES("ab"));
	expect_clean(BYTES("ab\xf0\x9f\x98"), BYTES("ab"));
	/* ... judged by the lead byte's form, not by what it could be. */
	expect_clean(BYTES("ab\xc0"), BYTES("ab"));
	expect_clean(BYTES("ab\xed\xa0"), BYTES("ab"));
	expect_clean(BYTES("ab\xf7\xbf\xbf"), BYTES("ab"));
	/* Anywhere else: one '?' a byte. */
	expect_clean(BYTES("\xe2\x82Z"), BYTES("??Z"));
	expect_clean(BYTES("\xc0\xaf"), BYTES("??"));
	expect_clean(BYTES("\xed\xa0\x80x"), BYTES("???x"));
	expect_clean(BYTES("\xf4\x90\x80\x80"), BYTES("????"));
	expect_clean(BYTES("a\xff!"), BYTES("a?!"));
	expect_clean(BYTES("\x80"), BYTES("?"));
	expect_clean(BYTES("\xf8\x88"), BYTES("??")); /* F8 announces none */
	expect_clean(BYTES("\xc3\xa9\xa9"), BYTES("\xc3\xa9?"));
	/* A whole bad sequence, then one cut short. */
	expect_clean(BYTES("\xc0\xaf\xe2\x82"), BYTES("??"));
	/* U+0000 is a character like any other. */
	expect_clean(BYTES("a\0b"), BYTES("a\0b"));
	expect_clean(BYTES("a\xc3\0"), BYTES("a?\0"));
}

/* ---- Against the model ---- */

Test(utf8, every_string_of_up_to_three_bytes, .timeout = 120)
{
	unsigned char s[3];

	for (uint32_t v = 0; v < (1u << 24); v++) {
		uint32_t cp = 0xFFFFFFFF, mcp = 0xFFFFFFFF;
		size_t n, m;

		s[0] = (unsigned char)(v >> 16);
		s[1] = (unsigned char)(v >> 8);
		s[2] = (unsigned char)v;
		for (size_t len = 1; len <= 3; len++) {
			/* Each shorter length once, when the rest is 0. */
			if (len < 3 && (v & (0xFFFFFFu >> (8 * len))) != 0)
				continue;
			n = utf8_decode((const char *)s, len, &cp);
			m = model_decode(s, len, &mcp);
			if (n != m || (n > 0 && cp != mcp))
				cr_assert_fail(
					"%02X %02X %02X (len %zu): %zu U+%04X,"
					" model %zu U+%04X",
					s[0], s[1], s[2], len, n, (unsigned)cp,
					m, (unsigned)mcp);
		}
	}
}

Test(utf8, four_byte_sequences)
{
	static const unsigned char tails[] = { 0x00, 0x41, 0x7F, 0x80,
					       0x8F, 0x90, 0x9F, 0xA0,
					       0xBF, 0xC0, 0xF4, 0xFF };
	unsigned char s[4];

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++)
			for (size_t c = 0; c < sizeof tails; c++)
				for (size_t d = 0; d < sizeof tails; d++) {
					uint32_t cp = 0, mcp = 0;
					size_t n, m;

					s[0] = (unsigned char)a;
					s[1] = (unsigned char)b;
					s[2] = tails[c];
					s[3] = tails[d];
					n = utf8_decode((const char *)s, 4,
							&cp);
					m = model_decode(s, 4, &mcp);
					if (n != m || (n > 0 && cp != mcp))
						cr_assert_fail(
							"%02X %02X %02X %02X",
							s[0], s[1], s[2], s[3]);
				}
}

/* xorshift64*, fixed seed: the same strings on every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t rng(uint32_t bound)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % bound;
}

/* Appends a random piece (at most 6 bytes) that is often near an edge. */
static size_t random_piece(unsigned char *out, bool valid_only)
{
	static const unsigned char leads[] = { 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
					       0xED, 0xEF, 0xF0, 0xF4, 0xF5,
					       0xF7, 0xF8, 0xFE, 0xFF };
	static const uint32_t edges[] = { 0x0,	   0x7F,    0x80,   0x7FF,
					  0x800,   0xD7FF,  0xE000, 0xFFFF,
					  0x10000, 0x10FFFF };
	uint32_t cp;
	size_t n;

	switch (valid_only ? rng(3) : rng(9)) {
	case 0: /* ASCII */
		out[0] = (unsigned char)rng(0x80);
		return 1;
	case 1: /* any scalar value, by length */
		do {
			static const uint32_t top[] = { 0x80, 0x800, 0x10000,
							0x110000 };
			cp = rng(top[rng(4)]);
		} while (!model_scalar(cp));
		return model_encode(cp, out);
	case 2: /* an edge */
		return model_encode(edges[rng(sizeof edges / sizeof *edges)],
				    out);
	case 3: /* any byte */
		out[0] = (unsigned char)rng(256);
		return 1;
	case 4: /* a continuation byte */
		out[0] = (unsigned char)(0x80 | rng(0x40));
		return 1;
	case 5: /* an edgy lead byte and continuation bytes */
		out[0] = leads[rng(sizeof leads)];
		n = 1 + rng(4);
		for (size_t k = 1; k < n; k++)
			out[k] = (unsigned char)(0x80 | rng(0x40));
		return n;
	case 6: /* a surrogate, or past U+10FFFF */
		cp = rng(2) ? 0xD800 + rng(0x800) : 0x110000 + rng(0xEFFFF);
		return model_encode(cp, out);
	case 7: /* a character cut short */
		do
			cp = rng(0x110000);
		while (!model_scalar(cp) || cp < 0x80);
		n = model_encode(cp, out);
		return 1 + rng((uint32_t)n - 1);
	default: /* an overlong form */
		cp = rng(0x10000);
		n = cp < 0x80 ? 2 + rng(3) : cp < 0x800 ? 3 + rng(2) : 4;
		return model_encode_in(cp, n, out);
	}
}

Test(utf8, random_strings_against_the_model)
{
	enum { ROUNDS = 200000, PIECES_MAX = 8, BUF = PIECES_MAX * 6 };

	for (int round = 0; round < ROUNDS; round++) {
		unsigned char s[BUF], work[BUF], want[BUF];
		bool valid_only = round % 4 == 0;
		size_t len = 0, pieces = rng(PIECES_MAX + 1);
		size_t n, m, valid, max;

		for (size_t p = 0; p < pieces; p++)
			len += random_piece(s + len, valid_only);

		n = utf8_valid_prefix((const char *)s, len);
		valid = model_valid_prefix(s, len);
		if (n != valid)
			cr_assert_fail("round %d: valid prefix %zu, model %zu",
				       round, n, valid);
		if (valid_only && n != len)
			cr_assert_fail("round %d: valid pieces refused", round);
		cr_assert_eq(utf8_valid((const char *)s, len), valid == len);

		memcpy(work, s, len);
		n = utf8_clean((char *)work, len);
		m = model_clean(s, len, want);
		if (n != m || memcmp(work, want, n) != 0)
			cr_assert_fail("round %d: clean differs from the model",
				       round);
		if (!utf8_valid((const char *)work, n))
			cr_assert_fail("round %d: clean left invalid bytes",
				       round);

		max = rng((uint32_t)len + 2);
		n = utf8_cut((const char *)s, len, max);
		if (n > max || n > len)
			cr_assert_fail("round %d: cut %zu past %zu", round, n,
				       max);
		/* Valid: the model's last boundary within max. Any bytes:
		 * nothing but continuation bytes between the cut and max. */
		if (valid == len && n != model_cut(s, len, max))
			cr_assert_fail("round %d: cut %zu at %zu, model %zu",
				       round, n, max, model_cut(s, len, max));
		if (n < len && n > 0 && model_ones(s[n]) == 1)
			cr_assert_fail("round %d: cut %zu inside", round, n);
		for (size_t k = n + 1; n < len && k <= max; k++)
			if (model_ones(s[k]) != 1)
				cr_assert_fail("round %d: cut %zu short of %zu",
					       round, n, k);
	}
}
