/*
 * test_lmtp.c — the path argument of LMTP's MAIL and RCPT (lmtp.h,
 * lmtp_path; RFC 5321 §4.1.2 and §3.3): the prefix in any case, the
 * address between angle brackets, the null path <>, ESMTP parameters
 * after the path (SIZE=, BODY=8BITMIME) left to the verb, a space after
 * the colon tolerated; refused: no brackets, an unclosed one, a space,
 * control character or '<' inside, and a path longer than the caller's
 * buffer. That RCPT refuses the null path is the verb's check, not this
 * function's: it reads <> for either prefix.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "mail/lmtp.h"

/* lmtp_path into a buffer of `size`, which must hold a string after a
 * success. */
static bool path_n(const char *arg, const char *prefix, char *out, size_t size)
{
	bool ok = lmtp_path(arg, prefix, out, size);
	if (ok)
		cr_assert_lt(strnlen(out, size), size, "%s", arg);
	return ok;
}

/* The path of a MAIL argument, or NULL when refused. */
static const char *from(const char *arg)
{
	static char out[321];
	return path_n(arg, "FROM:", out, sizeof(out)) ? out : NULL;
}

static const char *to(const char *arg)
{
	static char out[321];
	return path_n(arg, "TO:", out, sizeof(out)) ? out : NULL;
}

Test(lmtp, paths)
{
	cr_assert_str_eq(from("FROM:<news@brand.example>"),
			 "news@brand.example");
	cr_assert_str_eq(to("TO:<ana.k3x@alias.example>"),
			 "ana.k3x@alias.example");
	/* the case of the address is kept (RCPT lower-cases it later) */
	cr_assert_str_eq(to("TO:<Ana.K3X@Alias.Example>"),
			 "Ana.K3X@Alias.Example");
	/* 8-bit addresses (RFC 6531) pass as bytes */
	cr_assert_str_eq(to("TO:<caf\xc3\xa9@alias.example>"),
			 "caf\xc3\xa9@alias.example");
}

Test(lmtp, prefix_in_any_case)
{
	cr_assert_str_eq(from("from:<a@b.example>"), "a@b.example");
	cr_assert_str_eq(from("From:<a@b.example>"), "a@b.example");
	cr_assert_str_eq(to("to:<a@b.example>"), "a@b.example");
	cr_assert_str_eq(to("tO:<a@b.example>"), "a@b.example");
}

Test(lmtp, wrong_prefix)
{
	cr_assert_null(from("TO:<a@b.example>"));
	cr_assert_null(to("FROM:<a@b.example>"));
	cr_assert_null(from("FROM <a@b.example>"));
	cr_assert_null(from("FROMX:<a@b.example>"));
	cr_assert_null(from(" FROM:<a@b.example>"));
	cr_assert_null(from("<a@b.example>"));
	cr_assert_null(from(""));
	cr_assert_null(to("TO"));
}

/* RFC 5321 §4.1.1.2: the reverse-path of a bounce is <>. */
Test(lmtp, null_path)
{
	cr_assert_str_eq(from("FROM:<>"), "");
	cr_assert_str_eq(from("FROM:<> BODY=8BITMIME"), "");
	cr_assert_str_eq(to("TO:<>"), ""); /* refused by RCPT itself */
}

/* Spaces after the colon are tolerated (RFC 5321 has none; clients
 * write them). */
Test(lmtp, spaces)
{
	cr_assert_str_eq(from("FROM: <a@b.example>"), "a@b.example");
	cr_assert_str_eq(from("FROM:   <a@b.example>"), "a@b.example");
	/* a tab is not a space here */
	cr_assert_null(from("FROM:\t<a@b.example>"));
	/* nor inside the brackets */
	cr_assert_null(from("FROM:< a@b.example>"));
	cr_assert_null(from("FROM:<a@b.example >"));
	cr_assert_null(to("TO:<ana k3x@alias.example>"));
}

/* RFC 5321 §4.1.2: Mail-parameters and Rcpt-parameters follow the path;
 * they are the verb's to read. */
Test(lmtp, esmtp_parameters)
{
	cr_assert_str_eq(from("FROM:<a@b.example> SIZE=12345"), "a@b.example");
	cr_assert_str_eq(from("FROM:<a@b.example> BODY=8BITMIME SIZE=1"),
			 "a@b.example");
	cr_assert_str_eq(from("FROM:<a@b.example> SMTPUTF8"), "a@b.example");
	cr_assert_str_eq(to("TO:<a@b.example> NOTIFY=NEVER"), "a@b.example");
	/* a '>' in a parameter does not lengthen the path */
	cr_assert_str_eq(from("FROM:<a@b.example> ENVID=x>y"), "a@b.example");
}

Test(lmtp, brackets)
{
	cr_assert_null(from("FROM:a@b.example"));
	cr_assert_null(from("FROM:a@b.example>"));
	cr_assert_null(from("FROM:<a@b.example"));
	cr_assert_null(from("FROM:<a@b.example SIZE=1"));
	cr_assert_null(from("FROM:<a<b@c.example>"));
	cr_assert_null(from("FROM:<<a@b.example>>"));
	cr_assert_null(from("FROM:"));
	cr_assert_null(from("FROM:<"));
}

/* Bytes below '!' (controls, space) and DEL are refused inside the path:
 * a path becomes a log field and a ledger value. */
Test(lmtp, control_characters)
{
	char arg[64];
	for (int c = 1; c < 0x21; c++) {
		snprintf(arg, sizeof(arg), "TO:<a%cb@alias.example>", c);
		cr_assert_null(to(arg), "0x%02x taken", c);
	}
	cr_assert_null(to("TO:<a\r\nRCPT TO:<b@alias.example>"));
	/* DEL is a control character too (RFC 5321's qtextSMTP and RFC
	 * 5322's atext both stop at '~') */
	cr_assert_null(to("TO:<a\x7f"
			  "b@alias.example>"));
}

/* The address fits the caller's buffer with its NUL, or is refused —
 * never cut. */
Test(lmtp, too_long)
{
	char arg[LMTP_LINE_MAX + 1], out[321];
	int n = snprintf(arg, sizeof(arg), "TO:<");
	memset(arg + n, 'a', sizeof(out) - 1);
	strcpy(arg + n + sizeof(out) - 1, ">");
	cr_assert(path_n(arg, "TO:", out, sizeof(out)));
	cr_assert_eq(strlen(out), sizeof(out) - 1);
	memset(arg + n, 'a', sizeof(out));
	strcpy(arg + n + sizeof(out), ">");
	memset(out, 'z', sizeof(out));
	cr_assert_not(path_n(arg, "TO:", out, sizeof(out)));
	/* a small buffer: "ab" fits 3, not 2 */
	char small[3];
	cr_assert(path_n("TO:<ab>", "TO:", small, sizeof(small)));
	cr_assert_str_eq(small, "ab");
	cr_assert_not(path_n("TO:<ab>", "TO:", small, 2));
	cr_assert(path_n("TO:<>", "TO:", small, 1));
	cr_assert_not(path_n("TO:<>", "TO:", small, 0));
}

/* Quoted local parts (RFC 5321 §4.1.2 Quoted-string) pass as written
 * when they hold no space, '<' or '>': cmr's aliases never need them. */
Test(lmtp, quoted_local_parts)
{
	cr_assert_str_eq(from("FROM:<\"a.b\"@brand.example>"),
			 "\"a.b\"@brand.example");
	cr_assert_null(from("FROM:<\"a b\"@brand.example>"));
}
