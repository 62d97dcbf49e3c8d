/*
 * test_jcs.c — the canonical JSON serializer against RFC 8785's own
 * examples (key order by UTF-16 code units, string escapes, literals), the
 * integer range, and every way a value can fall outside the subset.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/jcs.h"

/* Serializes a value (taking ownership of it) and compares the bytes. */
static void expect_jcs(json_t *v, const char *want)
{
	char *out;
	size_t len;
	int rc;

	cr_assert_not_null(v);
	rc = jcs_serialize(v, &out, &len);
	json_decref(v);
	cr_assert_eq(rc, JCS_OK, "jcs_serialize: %s", jcs_strerror(rc));
	cr_expect_eq(len, strlen(want), "length %zu, want %zu", len,
		     strlen(want));
	cr_expect_str_eq(out, want);
	free(out);
}

static void expect_jcs_text(const char *json_text, const char *want)
{
	json_error_t err;
	json_t *v = json_loads(json_text, JSON_REJECT_DUPLICATES, &err);

	cr_assert_not_null(v, "test input does not parse: %s", err.text);
	expect_jcs(v, want);
}

static void expect_error(json_t *v, int want)
{
	char *out = (char *)"sentinel";
	size_t len = 99;
	int rc;

	cr_assert_not_null(v);
	rc = jcs_serialize(v, &out, &len);
	json_decref(v);
	cr_expect_eq(rc, want, "got %d (%s), want %d", rc, jcs_strerror(rc),
		     want);
	cr_expect_null(out);
	cr_expect_eq(len, 0);
}

/* RFC 8785 §3.2.3: the sorting example. U+1F600 is the surrogate pair
 * D83D DE00 in UTF-16 and so sorts before U+FB33, although its UTF-8
 * bytes (F0 ..) sort after U+FB33's (EF ..). */
Test(jcs, rfc8785_sorting_is_by_utf16_code_units)
{
	expect_jcs_text(
		"{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", "
		"\"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", "
		"\"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", "
		"\"\\u0080\": \"Control\", "
		"\"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}",
		"{\"\\r\":\"Carriage Return\",\"1\":\"One\","
		"\"\xc2\x80\":\"Control\","
		"\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
		"\"\xe2\x82\xac\":\"Euro Sign\","
		"\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
		"\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

Test(jcs, utf16_compare_differs_from_utf8_bytes)
{
	const char *emoji = "\xf0\x9f\x98\x80"; /* U+1F600 */
	const char *dalet = "\xef\xac\xb3";	/* U+FB33 */
	const char *bmp_e000 = "\xee\x80\x80";	/* U+E000 */
	const char *d7ff = "\xed\x9f\xbf";	/* U+D7FF */

	cr_expect_gt(memcmp(emoji, dalet, 1), 0);
	cr_expect_lt(jcs_utf16_cmp(emoji, 4, dalet, 3), 0);
	cr_expect_gt(jcs_utf16_cmp(dalet, 3, emoji, 4), 0);
	cr_expect_lt(jcs_utf16_cmp(emoji, 4, bmp_e000, 3), 0);
	/* Below the surrogates, the two orders agree. */
	cr_expect_gt(jcs_utf16_cmp(emoji, 4, d7ff, 3), 0);
	cr_expect_eq(jcs_utf16_cmp(emoji, 4, emoji, 4), 0);
	cr_expect_lt(jcs_utf16_cmp("a", 1, "aa", 2), 0);
	cr_expect_gt(jcs_utf16_cmp("b", 1, "aa", 2), 0);
	cr_expect_eq(jcs_utf16_cmp("", 0, "", 0), 0);
	/* Low surrogates compare too: U+1F600 (D83D DE00) vs U+1F601. */
	cr_expect_lt(jcs_utf16_cmp(emoji, 4, "\xf0\x9f\x98\x81", 4), 0);
}

Test(jcs, non_bmp_keys_sorted_in_nested_objects)
{
	expect_jcs_text("{\"z\":{\"\\ufb33\":1,\"\\ud83d\\ude00\":2,\"\":3},"
			"\"a\":[{\"b\":1,\"a\":2}]}",
			"{\"a\":[{\"a\":2,\"b\":1}],"
			"\"z\":{\"\":3,\"\xf0\x9f\x98\x80\":2,"
			"\"\xef\xac\xb3\":1}}");
}

Test(jcs, prefix_keys_sort_first)
{
	expect_jcs_text("{\"b\":1,\"aa\":2,\"a\":3,\"A\":4}",
			"{\"A\":4,\"a\":3,\"aa\":2,\"b\":1}");
}

/* RFC 8785 §3.2.4's example, without the numbers (reals are outside our
 * subset; see rfc8785_example_with_reals_is_refused). */
Test(jcs, rfc8785_string_and_literals)
{
	expect_jcs_text(
		"{\"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022"
		"\\u005c\\\\\\\"\\/\", \"literals\": [null, true, false]}",
		"{\"literals\":[null,true,false],"
		"\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

Test(jcs, rfc8785_example_with_reals_is_refused)
{
	json_t *v = json_loads(
		"{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
		"0.000000000000000000000000001], \"literals\": [null]}",
		0, NULL);

	expect_error(v, JCS_ERR_TYPE);
}

Test(jcs, every_control_character_is_escaped)
{
	static const char *want[32] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004",
		"\\u0005", "\\u0006", "\\u0007", "\\b",	    "\\t",
		"\\n",	   "\\u000b", "\\f",	 "\\r",	    "\\u000e",
		"\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
		"\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018",
		"\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
		"\\u001e", "\\u001f",
	};
	char in[3], expected[16];
	int c;

	for (c = 0; c < 32; c++) {
		in[0] = 'x';
		in[1] = (char)c;
		in[2] = 'y';
		snprintf(expected, sizeof(expected), "\"x%sy\"", want[c]);
		expect_jcs(json_stringn(in, 3), expected);
	}
}

Test(jcs, printable_characters_stay_literal)
{
	/* "/" is not escaped (unlike jansson's JSON_ESCAPE_SLASH), DEL and
	 * non-ASCII stay literal, quote and backslash are escaped. */
	expect_jcs(json_string("a/b\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			       "\"\\"),
		   "\"a/b\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\\"\\\\\"");
	expect_jcs(json_string(""), "\"\"");
}

Test(jcs, keys_are_escaped_like_strings)
{
	json_t *o = json_object();

	cr_assert_eq(json_object_setn_new(o, "a\0b", 3, json_true()), 0);
	cr_assert_eq(json_object_set_new(o, "a", json_false()), 0);
	cr_assert_eq(json_object_set_new(o, "q\"\n", json_null()), 0);
	expect_jcs(o, "{\"a\":false,\"a\\u0000b\":true,\"q\\\"\\n\":null}");
}

Test(jcs, integers_in_range)
{
	expect_jcs(json_integer(0), "0");
	expect_jcs(json_integer(-1), "-1");
	expect_jcs(json_integer(42), "42");
	expect_jcs(json_integer(9007199254740991LL), "9007199254740991");
	expect_jcs(json_integer(-9007199254740991LL), "-9007199254740991");
	expect_jcs_text("[1,-0,10]", "[1,0,10]");
}

Test(jcs, integers_out_of_range)
{
	expect_error(json_integer(9007199254740992LL), JCS_ERR_RANGE);
	expect_error(json_integer(-9007199254740992LL), JCS_ERR_RANGE);
	expect_error(json_integer(INT64_MAX), JCS_ERR_RANGE);
	expect_error(json_integer(INT64_MIN), JCS_ERR_RANGE);
	expect_error(json_pack("{s:[i,I]}", "n", 1, (json_int_t)1 << 60),
		     JCS_ERR_RANGE);
}

Test(jcs, reals_are_refused_anywhere)
{
	expect_error(json_real(1.0), JCS_ERR_TYPE);
	expect_error(json_real(0.5), JCS_ERR_TYPE);
	expect_error(json_pack("[i,{s:f}]", 1, "x", 2.0), JCS_ERR_TYPE);
}

Test(jcs, null_pointer_is_refused)
{
	char *out;

	cr_expect_eq(jcs_serialize(NULL, &out, NULL), JCS_ERR_TYPE);
	cr_expect_null(out);
}

Test(jcs, invalid_utf8_is_refused)
{
	static const char *bad[] = {
		"\xc0\xaf",	    /* overlong "/" */
		"\xe0\x80\xaf",	    /* overlong, three bytes */
		"\xed\xa0\x80",	    /* U+D800, a surrogate */
		"\xed\xbf\xbf",	    /* U+DFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80", /* lead byte past F4 */
		"\xe2\x82",	    /* truncated */
		"\x80",		    /* lone continuation */
		"\xc3\x28",	    /* bad continuation */
		"\xff",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_object();

		expect_error(json_stringn_nocheck(bad[i], strlen(bad[i])),
			     JCS_ERR_UTF8);
		json_object_set_new_nocheck(o, bad[i], json_null());
		json_object_set_new(o, "ok", json_null());
		expect_error(o, JCS_ERR_UTF8);
	}
}

Test(jcs, valid_utf8_boundaries)
{
	static const char *good[] = {
		"",
		"\x7f",
		"\xc2\x80",
		"\xdf\xbf",
		"\xe0\xa0\x80",
		"\xed\x9f\xbf",
		"\xee\x80\x80",
		"\xef\xbf\xbf",
		"\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char want[16];

		snprintf(want, sizeof(want), "\"%s\"", good[i]);
		expect_jcs(json_stringn_nocheck(good[i], strlen(good[i])),
			   want);
	}
	expect_jcs(json_stringn_nocheck("a\0b", 3), "\"a\\u0000b\"");
}

Test(jcs, empty_containers_and_no_whitespace)
{
	expect_jcs_text(" { \"b\" : [ ] , \"a\" : { } ,"
			" \"c\" : [ [ ] , { } ] } ",
			"{\"a\":{},\"b\":[],\"c\":[[],{}]}");
	expect_jcs(json_array(), "[]");
	expect_jcs(json_object(), "{}");
	expect_jcs(json_true(), "true");
	expect_jcs(json_null(), "null");
}

static json_t *nested_arrays(int depth)
{
	json_t *v = json_array();
	int i;

	for (i = 1; i < depth; i++) {
		json_t *outer = json_array();

		json_array_append_new(outer, v);
		v = outer;
	}
	return v;
}

Test(jcs, depth_limit)
{
	char *out;
	size_t len;
	json_t *v = nested_arrays(JCS_MAX_DEPTH);

	cr_assert_eq(jcs_serialize(v, &out, &len), JCS_OK);
	cr_expect_eq(len, 2 * (size_t)JCS_MAX_DEPTH);
	free(out);
	json_decref(v);
	expect_error(nested_arrays(JCS_MAX_DEPTH + 1), JCS_ERR_DEPTH);
}

Test(jcs, output_parses_back_to_an_equal_value)
{
	const char *text = "{\"\\u00e9t\\u00e9\":[1,\"x\\u0001\\/\","
			   "{\"k\":null}],\"b\":true,\"a\":-5}";
	json_t *v = json_loads(text, 0, NULL), *back;
	char *out;
	size_t len;

	cr_assert_not_null(v);
	cr_assert_eq(jcs_serialize(v, &out, &len), JCS_OK);
	back = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(back);
	cr_expect(json_equal(v, back));
	free(out);
	json_decref(v);
	json_decref(back);
}

Test(jcs, large_output_grows_the_buffer)
{
	json_t *a = json_array();
	char *out;
	size_t len;
	int i;

	for (i = 0; i < 10000; i++)
		json_array_append_new(a, json_string("0123456789"));
	cr_assert_eq(jcs_serialize(a, &out, &len), JCS_OK);
	cr_expect_eq(len, 2 + 10000 * 12 + 9999);
	cr_expect_eq(out[len], '\0');
	free(out);
	json_decref(a);
}

Test(jcs, strerror_names_every_status)
{
	cr_expect_str_eq(jcs_strerror(JCS_OK), "ok");
	cr_expect_str_neq(jcs_strerror(JCS_ERR_UTF8), "unknown error");
	cr_expect_str_eq(jcs_strerror(12345), "unknown error");
}
