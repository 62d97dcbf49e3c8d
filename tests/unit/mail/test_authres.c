/*
 * test_authres.c — Authentication-Results (authres.h): the header shapes
 * OpenDKIM, OpenDMARC and rspamd write, the RFC 8601 syntax around them
 * (nested comments, quoted strings, folds, "none", versions), the limits
 * (a token too long fails the field instead of being cut into another
 * domain), the topmost-field rule of authres_find, organizational domains
 * by the public suffix list, and alignment. A seeded random test feeds
 * random bytes and mutated headers to both parsers.
 *
 * Every input is copied into a buffer of exactly its length (no NUL after
 * it), so that under ASan a read past the end is caught.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/authres.h"

/* authres_parse on a copy of s that ends where s ends. */
static bool parse_n(const char *s, size_t len, struct authres *ar)
{
	char *copy = malloc(len ? len : 1);
	bool ok;

	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	ok = authres_parse(copy, len, ar);
	free(copy);
	return ok;
}

static bool parse(const char *s, struct authres *ar)
{
	return parse_n(s, strlen(s), ar);
}

/* authres_find on a copy of headers that ends where they end. */
static bool find(const char *headers, const char *id, struct authres *ar)
{
	size_t len = strlen(headers);
	char *copy = malloc(len ? len : 1);
	bool ok;

	cr_assert_not_null(copy);
	memcpy(copy, headers, len);
	ok = authres_find(copy, len, id, ar);
	free(copy);
	return ok;
}

/* s must parse; returns the result. */
static struct authres parsed(const char *s)
{
	struct authres ar;

	cr_assert(parse(s, &ar), "does not parse: %s", s);
	return ar;
}

static void refused(const char *s)
{
	struct authres ar;

	cr_assert_not(parse(s, &ar), "parses: %s", s);
	cr_assert_eq(ar.n_dkim, 0);
	cr_assert_not(ar.dmarc_pass);
	cr_assert_str_empty(ar.authserv_id);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* A valid domain name of exactly n octets (labels of up to 63). */
static char *domain_of_len(size_t n)
{
	char *s = repeat('a', n);

	for (size_t i = 63; i < n - 1; i += 64)
		s[i] = '.';
	return s;
}

/* The shapes real writers produce. */

Test(authres_parse, opendkim_and_opendmarc)
{
	struct authres ar = parsed(
		"mx.example.net; dkim=pass (2048-bit key; unprotected) "
		"header.d=news.brand.example header.i=@news.brand.example "
		"header.a=rsa-sha256 header.s=s1 header.b=abcd; "
		"dmarc=pass (p=none dis=none) header.from=brand.example");

	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "news.brand.example");
	cr_assert(ar.dmarc_pass);
	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

/* OpenDKIM and OpenDMARC each add a field of their own, as Postfix
 * milters do: one result per field. */
Test(authres_parse, one_result_per_field)
{
	struct authres ar =
		parsed(" mx.example.net;\r\n\tdkim=pass (1024-bit key; secure) "
		       "header.d=brand.example header.i=@brand.example "
		       "header.b=\"KZ3fL+Ee\"\r\n");

	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert_not(ar.dmarc_pass);

	ar = parsed(" mx.example.net; dmarc=pass (p=reject dis=none) "
		    "header.from=brand.example\r\n");
	cr_assert(ar.dmarc_pass);
	cr_assert_str_eq(ar.dmarc_from, "brand.example");
	cr_assert_eq(ar.n_dkim, 0);
}

Test(authres_parse, rspamd_folded)
{
	struct authres ar = parsed(
		" mx.example.net;\r\n"
		"\tdkim=pass header.d=brand.example header.s=s1 "
		"header.b=aB/c+d9=;\r\n"
		"\tdkim=pass header.d=esp.example header.s=k1 header.b=XyZ;\r\n"
		"\tspf=pass (mx.example.net: domain of bounce@esp.example "
		"designates 192.0.2.1 as permitted sender) "
		"smtp.mailfrom=bounce@esp.example;\r\n"
		"\tdmarc=pass (policy=none) header.from=brand.example;\r\n"
		"\tarc=none\r\n");

	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 2);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert_str_eq(ar.dkim_d[1], "esp.example");
	cr_assert(ar.dmarc_pass);
	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

/* Not RFC 8601 (keyword=value without a ptype), but widespread: read and
 * ignored rather than failing the field. */
Test(authres_parse, bare_keyword_values)
{
	struct authres ar =
		parsed("relay.example.org; dkim=pass (signature was verified) "
		       "header.d=brand.example;dmarc=pass action=none "
		       "header.from=brand.example;compauth=pass reason=100");

	cr_assert_eq(ar.n_dkim, 1);
	cr_assert(ar.dmarc_pass);
	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

Test(authres_parse, lf_folds)
{
	struct authres ar = parsed("mx.example.net;\n dkim=pass\n\theader.d=\n"
				   "  brand.example;\n dmarc=fail\n");

	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert_not(ar.dmarc_pass);
}

/* Only passes are kept; other results and other methods are read and
 * dropped. */
Test(authres_parse, failures_ignored)
{
	struct authres ar = parsed(
		"mx.example.net; dkim=fail (bad signature) "
		"header.d=brand.example;"
		" dkim=neutral header.d=brand.example; dkim=policy "
		"header.d=brand.example; dkim=temperror header.d=brand.example;"
		" spf=softfail smtp.mailfrom=brand.example; dmarc=fail "
		"(p=reject) header.from=brand.example; dkim-atps=pass "
		"header.d=brand.example; x-dkim=pass header.d=brand.example; "
		"iprev=pass policy.iprev=192.0.2.1; auth=pass "
		"smtp.auth=user@brand.example");

	cr_assert_eq(ar.n_dkim, 0);
	cr_assert_not(ar.dmarc_pass);
	cr_assert_str_empty(ar.dmarc_from);
}

Test(authres_parse, pass_among_failures)
{
	struct authres ar =
		parsed("mx.example.net; dkim=fail header.d=evil.example; "
		       "dkim=pass header.d=brand.example; spf=softfail "
		       "smtp.mailfrom=evil.example; dmarc=pass "
		       "header.from=brand.example");

	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert(ar.dmarc_pass);
}

Test(authres_parse, header_i_when_no_header_d)
{
	struct authres ar = parsed("mx.example.net; dkim=pass "
				   "header.i=news@Mail.Brand.example; "
				   "dkim=pass header.i=@brand.example "
				   "header.d=other.example; "
				   "dkim=pass header.i=no-at-sign.example; "
				   "dkim=pass header.i=\"a@b\"@esp.example");

	cr_assert_eq(ar.n_dkim, 3);
	cr_assert_str_eq(ar.dkim_d[0], "mail.brand.example");
	cr_assert_str_eq(ar.dkim_d[1], "other.example"); /* d= decides */
	cr_assert_str_eq(ar.dkim_d[2], "esp.example");
}

/* A pass that names no domain, or no valid one, vouches for nothing and
 * does not fall back to header.i when header.d is there but bad. */
Test(authres_parse, pass_without_usable_domain)
{
	struct authres ar = parsed(
		"mx.example.net; dkim=pass header.s=s1; dkim=pass "
		"header.d=brand..example header.i=@brand.example; dkim=pass "
		"header.d=.brand.example; dkim=pass header.d=brand.example.; "
		"dkim=pass header.d=br\xc3\xa4nd.example; dkim=pass "
		"header.d=brand.example/x; dmarc=pass header.from=\"\"");

	cr_assert_eq(ar.n_dkim, 0);
	cr_assert(ar.dmarc_pass);
	cr_assert_str_empty(ar.dmarc_from);
}

Test(authres_parse, dmarc_first_pass_counts)
{
	struct authres ar = parsed("mx.example.net; dmarc=pass "
				   "header.from=brand.example; dmarc=pass "
				   "header.from=evil.example");

	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

Test(authres_parse, header_from_as_address)
{
	struct authres ar = parsed("mx.example.net; dmarc=pass "
				   "header.from=news@Brand.Example");

	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

Test(authres_parse, first_property_counts)
{
	struct authres ar =
		parsed("mx.example.net; dkim=pass "
		       "header.d=brand.example header.d=evil.example");

	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
}

Test(authres_parse, dkim_max)
{
	char buf[2048];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "mx.example.net");
	struct authres ar;

	for (int k = 0; k < AUTHRES_DKIM_MAX + 3; k++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "; dkim=pass header.d=d%d.example", k);
	ar = parsed(buf);
	cr_assert_eq(ar.n_dkim, AUTHRES_DKIM_MAX);
	cr_assert_str_eq(ar.dkim_d[0], "d0.example");
	cr_assert_str_eq(ar.dkim_d[AUTHRES_DKIM_MAX - 1], "d7.example");
}

/* Comments, quoted strings, folds. */

Test(authres_parse, nested_comments)
{
	struct authres ar = parsed(
		"(lead) mx.example.net (trail (nested)) ; (c)dkim(c)=(c)pass "
		"(a (b (c; dmarc=pass header.from=evil.example) d) e) "
		"(x \\) dkim=pass header.d=evil.example) "
		"header(c).(c)d(c)=(c)brand.example(c);"
		" dmarc=fail (\"unbalanced quote in a comment) "
		"header.from=brand.example");

	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert_not(ar.dmarc_pass);
}

Test(authres_parse, quoted_strings)
{
	struct authres ar = parsed(
		"\"MX.example.net\"; dkim=pass reason=\"good; signature (ok\" "
		"header.d=\"brand.example\" header.b=\"a\\\"b;c\"; "
		"dmarc=pass reason=\"x\" header.from=\"Brand.Example\"");

	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert(ar.dmarc_pass);
	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

Test(authres_parse, folds_inside_comments_and_quotes)
{
	struct authres ar = parsed("mx.example.net; dkim=pass (a comment\r\n"
				   " over two lines) reason=\"two\r\n\tlines\" "
				   "header.d=brand.example");

	cr_assert_eq(ar.n_dkim, 1);
}

Test(authres_parse, bad_folds)
{
	refused("mx.example.net; dkim=pass\r\nheader.d=brand.example");
	refused("mx.example.net; dkim=pass\nheader.d=brand.example");
	refused("mx.example.net; dkim=pass\r header.d=brand.example");
	refused("mx.example.net; dkim=pass\r");
	refused("mx.example.net; dkim=pass (a\r\nb) header.d=brand.example");
	refused("mx.example.net; dkim=pass reason=\"a\r\nb\"");
	refused("mx.example.net; dkim=pass\r\n\r\n header.d=brand.example");
	refused("mx.example.net; dkim=pass (comment\r\n)");
}

Test(authres_parse, trailing_line_end)
{
	parsed("mx.example.net; dkim=pass header.d=brand.example\r\n");
	parsed("mx.example.net; dkim=pass header.d=brand.example \n");
	parsed("mx.example.net; none\r\n");
}

Test(authres_parse, none)
{
	struct authres ar = parsed("mx.example.net; none");

	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 0);
	cr_assert_not(ar.dmarc_pass);
	parsed("mx.example.net 1 ; NONE (nothing checked)");
	parsed(" mx.example.net;\r\n\tnone\r\n");
	refused("mx.example.net; none; dkim=pass header.d=brand.example");
	refused("mx.example.net; dkim=pass header.d=brand.example; none");
	refused("mx.example.net; none none");
}

Test(authres_parse, version)
{
	struct authres ar =
		parsed("mx.example.com 1; dkim=pass header.d=brand.example");

	cr_assert_str_eq(ar.authserv_id, "mx.example.com");
	cr_assert_eq(ar.n_dkim, 1);
	parsed("mx.example.com (v) 01 (c); dkim=pass header.d=brand.example");
	refused("mx.example.com 2; dkim=pass header.d=brand.example");
	refused("mx.example.com 0; dkim=pass header.d=brand.example");
	refused("mx.example.com 100000000000000000001; dkim=pass "
		"header.d=brand.example");
	refused("mx.example.com 1 2; dkim=pass header.d=brand.example");
}

Test(authres_parse, method_version)
{
	struct authres ar = parsed(
		"mx.example.net; dkim/1=pass header.d=brand.example; "
		"dkim / 1 = pass header.d=b.example; dkim/2=pass "
		"header.d=evil.example; dmarc/9=pass header.from=evil.example");

	cr_assert_eq(ar.n_dkim, 2);
	cr_assert_str_eq(ar.dkim_d[1], "b.example");
	cr_assert_not(ar.dmarc_pass);
	refused("mx.example.net; dkim/=pass header.d=brand.example");
	refused("mx.example.net; dkim/x=pass header.d=brand.example");
}

Test(authres_parse, case_insensitive)
{
	struct authres ar =
		parsed("MX.Example.NET; DKIM=PASS HEADER.D=News.Brand.Example; "
		       "Dmarc=Pass Header.From=BRAND.example; DKIM=Pass "
		       "Header.I=@ESP.example");

	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 2);
	cr_assert_str_eq(ar.dkim_d[0], "news.brand.example");
	cr_assert_str_eq(ar.dkim_d[1], "esp.example");
	cr_assert(ar.dmarc_pass);
	cr_assert_str_eq(ar.dmarc_from, "brand.example");
}

Test(authres_parse, trailing_semicolon)
{
	struct authres ar =
		parsed("mx.example.net; dkim=pass header.d=brand.example;");

	cr_assert_eq(ar.n_dkim, 1);
	parsed("mx.example.net; dkim=pass header.d=brand.example; (c)\r\n");
}

Test(authres_parse, malformed)
{
	refused("");
	refused("   ");
	refused("\r\n");
	refused("(only a comment)");
	refused("; dkim=pass header.d=brand.example");
	refused("mx.example.net");
	refused("mx.example.net dkim=pass header.d=brand.example");
	refused("mx.example.net;");
	refused("mx.example.net; ;");
	refused("mx.example.net; ; dkim=pass header.d=brand.example");
	refused("mx.example.net; dkim");
	refused("mx.example.net; dkim=");
	refused("mx.example.net; dkim=;");
	refused("mx.example.net; =pass");
	refused("mx.example.net; dkim pass");
	refused("mx.example.net; dkim=pass header.d");
	refused("mx.example.net; dkim=pass header.d=");
	refused("mx.example.net; dkim=pass header.d= ;");
	refused("mx.example.net; dkim=pass header.=brand.example");
	refused("mx.example.net; dkim=pass .d=brand.example");
	refused("mx.example.net; dkim=pass header d=brand.example");
	refused("mx.example.net; dkim=passheader.d=brand.example");
	refused("mx.example.net; dkim=pass(c)header.d=brand.example x");
	refused("mx.example.net; dkim=pass header.d=brand.example (open");
	refused("mx.example.net; dkim=pass header.d=brand.example ((a)");
	refused("mx.example.net; dkim=pass header.d=brand.example)");
	refused("mx.example.net; dkim=pass header.d=\"brand.example");
	refused("mx.example.net; dkim=pass header.d=brand\\.example");
	refused("mx.example.net; dkim=pass (esc at end \\");
	refused("\"mx.example.net; dkim=pass header.d=brand.example");
	refused("\"\"; dkim=pass header.d=brand.example");
	refused("mx@example.net; dkim=pass header.d=brand.example");
	refused("mx.example.net; dk!m=pass header.d=brand.example");
	refused("mx.example.net; dkim=pa$s header.d=brand.example");
	refused("mx.example.net; dkim=pass header.d=brand.example\x01");
	refused("mx.example.net; dkim=pass (\x01) header.d=brand.example");
	refused("mx.example.net; dkim=pass reason=\"\x7f\"");
}

Test(authres_parse, nul_byte)
{
	static const char s[] =
		"mx.example.net; dkim=pass header.d=brand.example\0; x";
	struct authres ar;

	cr_assert_not(parse_n(s, sizeof(s) - 1, &ar));
	/* Only len bytes are read: the same bytes up to the NUL parse. */
	cr_assert(parse_n(s, strlen(s), &ar));
}

/* Limits: what does not fit fails the field. */

Test(authres_parse, authserv_id_length)
{
	char *id = repeat('m', 255), buf[600];
	struct authres ar;

	snprintf(buf, sizeof(buf), "%s; none", id);
	ar = parsed(buf);
	cr_assert_str_eq(ar.authserv_id, id);
	snprintf(buf, sizeof(buf), "m%s; none", id);
	refused(buf);
	snprintf(buf, sizeof(buf), "\"m%s\"; none", id);
	refused(buf);
	free(id);
}

Test(authres_parse, domain_length)
{
	char *d253 = domain_of_len(253), *d254 = domain_of_len(254), buf[800];
	struct authres ar;

	snprintf(buf, sizeof(buf), "mx; dkim=pass header.d=%s", d253);
	ar = parsed(buf);
	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], d253);
	snprintf(buf, sizeof(buf), "mx; dmarc=pass header.from=%s", d253);
	ar = parsed(buf);
	cr_assert_str_eq(ar.dmarc_from, d253);

	/* One octet more is not cut back to 253: the field fails, whatever
	 * the result. */
	snprintf(buf, sizeof(buf), "mx; dkim=pass header.d=%s", d254);
	refused(buf);
	snprintf(buf, sizeof(buf), "mx; dkim=fail header.d=%s", d254);
	refused(buf);
	snprintf(buf, sizeof(buf), "mx; dkim=pass header.i=@%s", d254);
	refused(buf);
	snprintf(buf, sizeof(buf), "mx; dmarc=pass header.from=%s", d254);
	refused(buf);
	snprintf(buf, sizeof(buf), "mx; dmarc=pass header.from=\"%s\"", d254);
	refused(buf);
	free(d253);
	free(d254);
}

Test(authres_parse, label_length)
{
	char *l63 = repeat('a', 63), *l64 = repeat('a', 64), buf[300];
	struct authres ar;

	snprintf(buf, sizeof(buf), "mx; dkim=pass header.d=%s.example", l63);
	ar = parsed(buf);
	cr_assert_eq(ar.n_dkim, 1);
	snprintf(buf, sizeof(buf), "mx; dkim=pass header.d=%s.example", l64);
	ar = parsed(buf);
	cr_assert_eq(ar.n_dkim, 0); /* not a domain name: not kept */
	free(l63);
	free(l64);
}

Test(authres_parse, value_length)
{
	char *v = repeat('b', AUTHRES_VALUE_MAX), buf[2200];

	snprintf(buf, sizeof(buf),
		 "mx; dkim=pass header.b=%s "
		 "header.d=brand.example",
		 v);
	cr_assert_eq(parsed(buf).n_dkim, 1);
	snprintf(buf, sizeof(buf),
		 "mx; dkim=pass header.b=b%s "
		 "header.d=brand.example",
		 v);
	refused(buf);
	snprintf(buf, sizeof(buf),
		 "mx; dkim=pass reason=\"b%s\" "
		 "header.d=brand.example",
		 v);
	refused(buf);
	/* A long local part is fine while the domain fits. */
	v[300] = '\0';
	snprintf(buf, sizeof(buf), "mx; dkim=pass header.i=%s@brand.example",
		 v);
	cr_assert_str_eq(parsed(buf).dkim_d[0], "brand.example");
	free(v);
}

Test(authres_parse, keyword_length)
{
	char *k64 = repeat('k', 64), *k65 = repeat('k', 65), buf[300];

	snprintf(buf, sizeof(buf), "mx; %s=pass header.d=brand.example", k64);
	parsed(buf);
	snprintf(buf, sizeof(buf), "mx; %s=pass header.d=brand.example", k65);
	refused(buf);
	snprintf(buf, sizeof(buf), "mx; dkim=%s header.d=brand.example", k65);
	refused(buf);
	snprintf(buf, sizeof(buf), "mx; dkim=pass %s.d=brand.example", k65);
	refused(buf);
	free(k64);
	free(k65);
}

Test(authres_parse, deep_comment)
{
	size_t depth = 100000;
	char *s = malloc(2 * depth + 64);
	size_t n = (size_t)sprintf(s, "mx.example.net; dkim=pass ");
	struct authres ar;

	memset(s + n, '(', depth);
	memset(s + n + depth, ')', depth);
	n += 2 * depth;
	n += (size_t)sprintf(s + n, " header.d=brand.example");
	cr_assert(parse_n(s, n, &ar));
	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_not(parse_n(s, n - 30, &ar)); /* cut inside it */
	free(s);
}

/* The topmost field of the trusted authserv-id. */

#define TRUSTED "mx.example.net"

Test(authres_find, realistic_message)
{
	struct authres ar;

	cr_assert(
		find("Return-Path: <bounce@esp.example>\r\n"
		     "Authentication-Results: mx.example.net;\r\n"
		     "\tdmarc=pass (p=none dis=none) "
		     "header.from=brand.example\r\n"
		     "Authentication-Results: mx.example.net;\r\n"
		     "\tdkim=pass (2048-bit key) header.d=brand.example\r\n"
		     "Received: from esp.example (esp.example [192.0.2.1])\r\n"
		     "\tby mx.example.net (Postfix) with ESMTPS id 4Q\r\n"
		     "From: Brand <news@brand.example>\r\n"
		     "Subject: hello\r\n"
		     "\r\n"
		     "body\r\n",
		     TRUSTED, &ar));
	/* The topmost field of the id is the DMARC one; the DKIM one
	 * below it does not count. */
	cr_assert(ar.dmarc_pass);
	cr_assert_eq(ar.n_dkim, 0);
	cr_assert(authres_vouches(&ar, "brand.example"));
}

Test(authres_find, forged_pass_below_failing_topmost)
{
	struct authres ar;
	const char *h = "Authentication-Results: mx.example.net; dkim=fail "
			"header.d=brand.example; dmarc=fail (p=reject) "
			"header.from=brand.example\r\n"
			"Received: from evil.example by mx.example.net\r\n"
			"Authentication-Results: mx.example.net; dkim=pass "
			"header.d=brand.example; dmarc=pass "
			"header.from=brand.example\r\n"
			"From: <news@brand.example>\r\n"
			"\r\n";

	cr_assert(find(h, TRUSTED, &ar));
	cr_assert_eq(ar.n_dkim, 0);
	cr_assert_not(ar.dmarc_pass);
	cr_assert_not(authres_vouches(&ar, "brand.example"));
}

Test(authres_find, other_authserv_id_skipped)
{
	struct authres ar;
	const char *h =
		"Authentication-Results: relay.example.org; dkim=pass "
		"header.d=evil.example; dmarc=pass header.from=evil.example\r\n"
		"Authentication-Results: (a comment first) MX.Example.NET "
		"1;\r\n"
		" dkim=pass header.d=brand.example\r\n"
		"Authentication-Results: mx.example.net; dkim=pass "
		"header.d=evil.example\r\n"
		"\r\n";

	cr_assert(find(h, TRUSTED, &ar));
	cr_assert_str_eq(ar.authserv_id, "mx.example.net");
	cr_assert_eq(ar.n_dkim, 1);
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	cr_assert(find(h, "relay.example.org", &ar));
	cr_assert_str_eq(ar.dkim_d[0], "evil.example");
	/* The id is compared whole and case-insensitively. */
	cr_assert(find(h, "MX.EXAMPLE.NET", &ar));
	cr_assert_not(find(h, "example.net", &ar));
	cr_assert_not(find(h, "mx.example.net.", &ar));
	cr_assert_not(find(h, "", &ar));
}

/* Another id's field that is malformed is not ours to judge. */
Test(authres_find, malformed_other_skipped)
{
	struct authres ar;

	cr_assert(find("Authentication-Results: relay.example.org; dkim=\r\n"
		       "Authentication-Results: (unterminated\r\n"
		       "Authentication-Results: \r\n"
		       "Authentication-Results:\r\n"
		       "Authentication-Results: mx.example.net; dkim=pass "
		       "header.d=brand.example\r\n\r\n",
		       TRUSTED, &ar));
	cr_assert_eq(ar.n_dkim, 1);
}

Test(authres_find, malformed_topmost)
{
	struct authres ar;
	const char *h = "Authentication-Results: mx.example.net; dkim=pass "
			"header.d=brand.example (unterminated\r\n"
			"Authentication-Results: mx.example.net; dkim=pass "
			"header.d=brand.example\r\n"
			"\r\n";

	cr_assert_not(find(h, TRUSTED, &ar));
	cr_assert_eq(ar.n_dkim, 0);
	cr_assert_not(find("Authentication-Results: mx.example.net 2; "
			   "dkim=pass header.d=brand.example\r\n"
			   "Authentication-Results: mx.example.net; "
			   "dkim=pass header.d=brand.example\r\n\r\n",
			   TRUSTED, &ar));
	cr_assert_not(find("Authentication-Results: mx.example.net/x; "
			   "dkim=pass header.d=brand.example\r\n"
			   "Authentication-Results: mx.example.net; "
			   "dkim=pass header.d=brand.example\r\n\r\n",
			   TRUSTED, &ar));
}

Test(authres_find, none_found)
{
	struct authres ar;

	cr_assert_not(find("", TRUSTED, &ar));
	cr_assert_not(find("\r\n", TRUSTED, &ar));
	cr_assert_not(find("From: a@brand.example\r\nSubject: x\r\n\r\n",
			   TRUSTED, &ar));
	cr_assert_not(find("Authentication-Results: relay.example.org; "
			   "dkim=pass header.d=brand.example\r\n\r\n",
			   TRUSTED, &ar));
	cr_assert_not(authres_find(NULL, 0, TRUSTED, &ar));
	cr_assert_not(authres_find("x", 1, NULL, &ar));
}

/* The header block ends at the first blank line: a field in the body is
 * text. */
Test(authres_find, stops_at_blank_line)
{
	struct authres ar;

	cr_assert_not(find("Subject: x\r\n\r\nAuthentication-Results: "
			   "mx.example.net; dkim=pass header.d=brand.example"
			   "\r\n",
			   TRUSTED, &ar));
	cr_assert_not(find("Subject: x\n\nAuthentication-Results: "
			   "mx.example.net; dkim=pass header.d=brand.example\n",
			   TRUSTED, &ar));
}

Test(authres_find, lf_and_folds)
{
	struct authres ar;

	cr_assert(find("Received: from a\n\tby b\n"
		       "authentication-results :\n mx.example.net;\n"
		       "\tdkim=pass\n\theader.d=brand.example\n"
		       "Subject: x\n\n",
		       TRUSTED, &ar));
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
	/* The last field, with no line end at all. */
	cr_assert(find("Subject: x\r\nAuthentication-Results: mx.example.net;"
		       " dkim=pass header.d=brand.example",
		       TRUSTED, &ar));
	cr_assert_eq(ar.n_dkim, 1);
}

/* A field name must be the whole name; a continuation line is not a
 * field. */
Test(authres_find, field_names)
{
	struct authres ar;

	cr_assert_not(find("Authentication-Results-Original: mx.example.net;"
			   " dkim=pass header.d=brand.example\r\n"
			   "X-Authentication-Results: mx.example.net; "
			   "dkim=pass header.d=brand.example\r\n"
			   "Authentication-Result: mx.example.net; dkim=pass "
			   "header.d=brand.example\r\n"
			   "Subject: a\r\n Authentication-Results: "
			   "mx.example.net; dkim=pass header.d=brand.example"
			   "\r\n\r\n",
			   TRUSTED, &ar));
	/* A folded Subject carrying the text is still the Subject. */
	cr_assert(find(" Authentication-Results: mx.example.net; dkim=pass "
		       "header.d=evil.example\r\n"
		       "Authentication-Results: mx.example.net; dkim=pass "
		       "header.d=brand.example\r\n\r\n",
		       TRUSTED, &ar));
	cr_assert_str_eq(ar.dkim_d[0], "brand.example");
}

/* Organizational domains. */

static void org_is(const char *domain, const char *want)
{
	char out[AUTHRES_DOMAIN_MAX];

	cr_assert(domain_org(domain, out, sizeof(out)), "%s", domain);
	cr_assert_str_eq(out, want, "%s: %s, not %s", domain, out, want);
}

static void no_org(const char *domain)
{
	char out[AUTHRES_DOMAIN_MAX] = "x";

	cr_assert_not(domain_org(domain, out, sizeof(out)), "%s: %s", domain,
		      out);
	cr_assert_str_empty(out);
}

Test(authres_org, list_loaded)
{
	cr_assert(domain_psl_ready());
}

Test(authres_org, registrable_domains)
{
	org_is("a.b.brand.co.uk", "brand.co.uk");
	org_is("brand.co.uk", "brand.co.uk");
	org_is("brand.example", "brand.example");
	org_is("mail.brand.example", "brand.example");
	org_is("News.BRAND.Example", "brand.example");
	org_is("x.y.brand.com", "brand.com");
	org_is("brand.de", "brand.de");
	org_is("shop.brand.com.au", "brand.com.au");
	/* The private section counts: each github.io site is its own. */
	org_is("a.brand.github.io", "brand.github.io");
}

Test(authres_org, public_suffixes_and_invalid)
{
	no_org("co.uk");
	no_org("com");
	no_org("uk");
	no_org("example");
	no_org("github.io");
	no_org("");
	no_org(".");
	no_org(".brand.example");
	no_org("brand.example.");
	no_org("brand..example");
	no_org("brand example");
	no_org("br\xc3\xa4nd.example");
	no_org("user@brand.example");
	no_org(NULL);
}

Test(authres_org, buffer_sizes)
{
	char out[14], *big = domain_of_len(254), *d253 = domain_of_len(253);

	cr_assert_not(domain_org("brand.example", out, 13));
	cr_assert(domain_org("brand.example", out, 14));
	cr_assert_str_eq(out, "brand.example");
	cr_assert_not(domain_org("brand.example", out, 0));
	cr_assert_not(domain_org("brand.example", NULL, 14));
	no_org(big);
	/* 253 octets of "a" labels: the last two labels are its org. */
	cr_assert(domain_same_org(d253, d253));
	free(big);
	free(d253);
}

Test(authres_org, same_org)
{
	cr_assert(domain_same_org("mail.brand.example", "brand.example"));
	cr_assert(domain_same_org("a.brand.co.uk", "B.Brand.CO.uk"));
	cr_assert_not(
		domain_same_org("brand.example.evil.example", "brand.example"));
	cr_assert_not(domain_same_org("brand.co.uk", "other.co.uk"));
	cr_assert_not(domain_same_org("co.uk", "co.uk"));
	cr_assert_not(domain_same_org("a.github.io", "b.github.io"));
	cr_assert_not(domain_same_org(NULL, "brand.example"));
}

/* Alignment. */

static struct authres with_dkim(const char *d)
{
	struct authres ar;

	memset(&ar, 0, sizeof(ar));
	ar.n_dkim = 1;
	snprintf(ar.dkim_d[0], sizeof(ar.dkim_d[0]), "%s", d);
	return ar;
}

static struct authres with_dmarc(const char *from)
{
	struct authres ar;

	memset(&ar, 0, sizeof(ar));
	ar.dmarc_pass = true;
	snprintf(ar.dmarc_from, sizeof(ar.dmarc_from), "%s", from);
	return ar;
}

Test(authres_vouches, dkim_alignment)
{
	struct authres ar = with_dkim("mail.brand.example");

	cr_assert(authres_vouches(&ar, "brand.example"));
	cr_assert(authres_vouches(&ar, "news.brand.example"));
	cr_assert(authres_vouches(&ar, "NEWS.Brand.example"));
	cr_assert_not(authres_vouches(&ar, "brand.test"));
	cr_assert_not(authres_vouches(&ar, "example"));
	ar = with_dkim("brand.example.evil.example");
	cr_assert_not(authres_vouches(&ar, "brand.example"));
	ar = with_dkim("evil.co.uk");
	cr_assert_not(authres_vouches(&ar, "brand.co.uk"));
	ar = with_dkim("co.uk");
	cr_assert_not(authres_vouches(&ar, "brand.co.uk"));
	ar = with_dkim("brand.co.uk");
	cr_assert(authres_vouches(&ar, "mail.brand.co.uk"));
}

Test(authres_vouches, dmarc_alignment)
{
	struct authres ar = with_dmarc("brand.example");

	cr_assert(authres_vouches(&ar, "brand.example"));
	cr_assert(authres_vouches(&ar, "news.brand.example"));
	cr_assert_not(authres_vouches(&ar, "evil.example"));
	ar.dmarc_pass = false;
	cr_assert_not(authres_vouches(&ar, "brand.example"));
	ar = with_dmarc("");
	cr_assert_not(authres_vouches(&ar, "brand.example"));
}

Test(authres_vouches, any_pass_of_several)
{
	struct authres ar = parsed(
		"mx.example.net; dkim=pass header.d=esp.example; dkim=pass "
		"header.d=news.brand.example; dmarc=pass "
		"header.from=other.example");

	cr_assert(authres_vouches(&ar, "brand.example"));
	cr_assert(authres_vouches(&ar, "esp.example"));
	cr_assert(authres_vouches(&ar, "other.example"));
	cr_assert_not(authres_vouches(&ar, "evil.example"));
}

Test(authres_vouches, nothing)
{
	struct authres ar;

	memset(&ar, 0, sizeof(ar));
	cr_assert_not(authres_vouches(&ar, "brand.example"));
	cr_assert_not(authres_vouches(NULL, "brand.example"));
	ar = with_dkim("brand.example");
	cr_assert_not(authres_vouches(&ar, NULL));
	cr_assert_not(authres_vouches(&ar, ""));
	cr_assert_not(authres_vouches(&ar, "co.uk"));
	/* A failed parse leaves nothing that vouches. */
	cr_assert_not(parse("mx; dkim=pass header.d=brand.example (", &ar));
	cr_assert_not(authres_vouches(&ar, "brand.example"));
}

/* Robustness: random bytes and random mutations of valid fields. Seeded,
 * so that a failure can be replayed. */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* What a successful parse must look like. */
static void check_shape(const struct authres *ar)
{
	cr_assert(ar->n_dkim >= 0 && ar->n_dkim <= AUTHRES_DKIM_MAX);
	cr_assert_lt(strnlen(ar->authserv_id, sizeof(ar->authserv_id)),
		     sizeof(ar->authserv_id));
	cr_assert_gt(strlen(ar->authserv_id), 0);
	cr_assert_lt(strnlen(ar->dmarc_from, sizeof(ar->dmarc_from)),
		     sizeof(ar->dmarc_from));
	for (int k = 0; k < ar->n_dkim; k++)
		cr_assert_gt(strnlen(ar->dkim_d[k], sizeof(ar->dkim_d[k])), 0);
}

static void feed(const char *s, size_t len)
{
	struct authres ar;
	char *copy = malloc(len ? len : 1);
	bool ok;

	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	ok = authres_parse(copy, len, &ar);
	if (ok)
		check_shape(&ar);
	else
		cr_assert_eq(ar.n_dkim, 0);
	(void)authres_vouches(&ar, "brand.example");
	ok = authres_find(copy, len, TRUSTED, &ar);
	if (ok)
		check_shape(&ar);
	free(copy);
}

Test(authres_robust, random_bytes)
{
	static const char alphabet[] = "();=.@\"\\/ \t\r\nabdmkipsx19-_:";
	char buf[512];

	for (int round = 0; round < 20000; round++) {
		size_t len = rng() % sizeof(buf);
		bool small = rng() % 2;

		for (size_t i = 0; i < len; i++)
			buf[i] =
				small ? alphabet[rng() % (sizeof(alphabet) - 1)]
				      : (char)(rng() & 0xff);
		feed(buf, len);
	}
}

Test(authres_robust, mutations)
{
	static const char *seeds[] = {
		"mx.example.net; dkim=pass (2048-bit key; unprotected) "
		"header.d=news.brand.example header.i=@news.brand.example "
		"header.a=rsa-sha256 header.s=s1 header.b=abcd; dmarc=pass "
		"(p=none dis=none) header.from=brand.example",
		"Authentication-Results: mx.example.net;\r\n\tdkim=pass "
		"header.d=brand.example header.b=\"a\\\"b\";\r\n\tspf=pass "
		"(x (y) z) smtp.mailfrom=a@b.example;\r\n\tdmarc=pass "
		"header.from=brand.example\r\n\r\n",
		"mx.example.com 1; none",
		"Authentication-Results: mx.example.net; dkim=fail\n"
		"Authentication-Results: mx.example.net; dkim=pass "
		"header.d=brand.example\n\n",
	};
	static const char specials[] = "();=.@\"\\ \r\n\t\0";
	char buf[1024];

	for (int round = 0; round < 20000; round++) {
		const char *seed =
			seeds[rng() % (sizeof(seeds) / sizeof(*seeds))];
		size_t len = strlen(seed);
		int edits = 1 + (int)(rng() % 4);

		memcpy(buf, seed, len);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = rng() % len;
			char ch = (rng() % 2) ? specials[rng() %
							 (sizeof(specials) - 1)]
					      : (char)(rng() & 0xff);

			switch (rng() % 4) {
			case 0: /* replace */
				buf[at] = ch;
				break;
			case 1: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at,
						len - at);
					buf[at] = ch;
					len++;
				}
				break;
			case 2: /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default: /* cut */
				len = at;
				break;
			}
		}
		feed(buf, len);
	}
}
