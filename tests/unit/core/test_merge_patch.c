/*
 * test_merge_patch.c — JSON Merge Patch (src/core/merge_patch.c) against
 * RFC 7396: every example of its appendix A, the example of its section 3,
 * and what the doors rely on — the target is never changed, the result
 * shares nothing with either argument, an absent target is fine.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "core/merge_patch.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	cr_assert_not_null(v, "%s: %s", text, e.text);
	return v;
}

/* Checks MergePatch(original, patch) == result, and that original was
 * left as it was. */
static void check(const char *original, const char *patch, const char *result)
{
	json_t *o = parse(original), *p = parse(patch), *want = parse(result);
	json_t *before = json_deep_copy(o);
	json_t *got = merge_patch_apply(o, p);
	cr_assert_not_null(got);
	char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
	cr_expect(json_equal(got, want), "%s + %s: got %s, want %s", original,
		  patch, g, result);
	cr_expect(json_equal(o, before), "the target was changed");
	free(g);
	json_decref(o);
	json_decref(p);
	json_decref(want);
	json_decref(before);
	json_decref(got);
}

/* RFC 7396, appendix A, row by row. */
Test(merge_patch, rfc7396_appendix_a)
{
	check("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	check("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	check("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	check("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	check("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	check("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	check("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	      "{\"a\":{\"b\":\"d\"}}");
	check("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	check("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	check("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
	check("{\"a\":\"foo\"}", "null", "null");
	check("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
	check("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
	check("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
	check("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

/* RFC 7396, section 3: the example document and patch. */
Test(merge_patch, rfc7396_section_3)
{
	check("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\","
	      "\"familyName\":\"Doe\"},\"tags\":[\"example\",\"sample\"],"
	      "\"content\":\"This will be unchanged\"}",
	      "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
	      "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
	      "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
	      "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
	      "\"phoneNumber\":\"+01-123-456-7890\"}");
}

/* What the terms routes do: one setting changes, every other stays. */
Test(merge_patch, one_setting_keeps_the_others)
{
	check("{\"time_zone\":\"Europe/Berlin\",\"do_not_contact\":[\"phone\"],"
	      "\"quiet_hours\":{\"from\":\"22:00\",\"to\":\"07:00\"},"
	      "\"refusal\":\"reject\"}",
	      "{\"refusal\":\"silent\",\"quiet_hours\":{\"to\":\"08:00\"}}",
	      "{\"time_zone\":\"Europe/Berlin\",\"do_not_contact\":[\"phone\"],"
	      "\"quiet_hours\":{\"from\":\"22:00\",\"to\":\"08:00\"},"
	      "\"refusal\":\"silent\"}");
	/* An empty patch changes nothing. */
	check("{\"a\":{\"b\":[1,2]}}", "{}", "{\"a\":{\"b\":[1,2]}}");
}

/* An absent target (NULL) is treated as not an object. */
Test(merge_patch, absent_target)
{
	json_t *p = parse("{\"a\":{\"b\":null,\"c\":1},\"d\":null}");
	json_t *got = merge_patch_apply(NULL, p);
	json_t *want = parse("{\"a\":{\"c\":1}}");
	cr_expect(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	got = merge_patch_apply(NULL, json_null());
	cr_expect(json_is_null(got));
	json_decref(got);
	cr_expect_null(merge_patch_apply(NULL, NULL));
	json_decref(p);
}

/* The result shares no value with the target or the patch: changing it
 * changes neither. */
Test(merge_patch, result_shares_nothing)
{
	json_t *o = parse("{\"keep\":{\"x\":[1]},\"set\":1}");
	json_t *p = parse("{\"set\":{\"y\":[2]}}");
	json_t *got = merge_patch_apply(o, p);
	cr_assert_not_null(got);
	json_array_append_new(
		json_object_get(json_object_get(got, "keep"), "x"),
		json_integer(3));
	json_array_append_new(json_object_get(json_object_get(got, "set"), "y"),
			      json_integer(4));
	json_t *o_want = parse("{\"keep\":{\"x\":[1]},\"set\":1}");
	json_t *p_want = parse("{\"set\":{\"y\":[2]}}");
	cr_expect(json_equal(o, o_want), "the target changed");
	cr_expect(json_equal(p, p_want), "the patch changed");
	json_decref(o);
	json_decref(p);
	json_decref(o_want);
	json_decref(p_want);
	json_decref(got);
}
