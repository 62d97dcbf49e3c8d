/*
 * test_field.c — the profile's vocabulary and the shapes of contact
 * details (core/field.h).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/field.h"

Test(field, vocabulary_is_found_by_name)
{
	cr_assert_not_null(field_find("email"));
	cr_assert_not_null(field_find("birthday"));
	cr_assert_null(field_find("shoe_size"));
	cr_assert_null(field_find("Email"));
	cr_assert_null(field_find(""));
	for (size_t i = 0; i < field_vocabulary_count; i++) {
		const struct field *f = &field_vocabulary[i];
		cr_assert_eq(field_find(f->name), f);
		cr_assert(f->max > 0 && f->what[0] && f->category[0]);
	}
}

Test(field, emails)
{
	const char *good[] = { "ana@example.org", "a.b+tag@mail.example.co.uk",
			       "o'neil@x.example", "x@a-b.example" };
	const char *bad[] = { "",
			      "ana",
			      "@example.org",
			      "ana@",
			      "ana@localhost",
			      "ana@@example.org",
			      ".ana@example.org",
			      "ana.@example.org",
			      "a..na@example.org",
			      "ana b@example.org",
			      "ana@exa mple.org",
			      "ana@-example.org",
			      "ana@example-.org",
			      "\"ana\"@example.org",
			      "ana@example.org\n",
			      "ana(comment)@example.org" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_assert(field_email_ok(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_not(field_email_ok(bad[i]), "%s", bad[i]);
	char local[80];
	memset(local, 'a', 65);
	strcpy(local + 65, "@x.io");
	cr_assert_not(field_email_ok(local), "a local part over 64 bytes");
}

Test(field, phones_are_e164)
{
	cr_assert(field_phone_ok("+4915112345678"));
	cr_assert(field_phone_ok("+12025550123"));
	cr_assert(field_phone_ok("+123456789012345")); /* 15 digits */
	cr_assert_not(field_phone_ok("+1234567890123456"));
	cr_assert_not(field_phone_ok("015112345678"));
	cr_assert_not(field_phone_ok("+0151123456"));
	cr_assert_not(field_phone_ok("+49 151 1234567"));
	cr_assert_not(field_phone_ok("+1234567"));
	cr_assert_not(field_phone_ok("+"));
}

Test(field, dates_exist)
{
	cr_assert(field_date_ok("1990-05-17"));
	cr_assert(field_date_ok("2000-02-29"));
	cr_assert(field_date_ok("2024-02-29"));
	cr_assert_not(field_date_ok("1900-02-29"));
	cr_assert_not(field_date_ok("2023-02-29"));
	cr_assert_not(field_date_ok("2023-04-31"));
	cr_assert_not(field_date_ok("2023-13-01"));
	cr_assert_not(field_date_ok("2023-00-10"));
	cr_assert_not(field_date_ok("2023-1-10"));
	cr_assert_not(field_date_ok("17.05.1990"));
	cr_assert_not(field_date_ok("1800-01-01"));
}

Test(field, https_urls)
{
	cr_assert(field_https_url_ok("https://acme.example"));
	cr_assert(field_https_url_ok("https://acme.example/privacy?x=1#a"));
	cr_assert(field_https_url_ok("https://www.acme.example:8443/p"));
	cr_assert_not(field_https_url_ok("http://acme.example"));
	cr_assert_not(field_https_url_ok("javascript:alert(1)"));
	cr_assert_not(field_https_url_ok("https://"));
	cr_assert_not(field_https_url_ok("https://evil@acme.example"));
	cr_assert_not(field_https_url_ok("https://acme.example/a b"));
	cr_assert_not(field_https_url_ok("https://acme.example:/"));
	cr_assert_not(field_https_url_ok("https://acme.example:123456/"));
	cr_assert_not(field_https_url_ok("https://localhost/"));
	cr_assert_not(field_https_url_ok("HTTPS://acme.example"));
}

Test(field, values_by_kind)
{
	char why[200];
	cr_assert(field_value_ok(field_find("name"), "Ana Lima", why,
				 sizeof(why)));
	cr_assert(field_value_ok(field_find("address"),
				 "Main St 1\n10115 Berlin", why, sizeof(why)));
	cr_assert_not(field_value_ok(field_find("name"), "", why, sizeof(why)));
	cr_assert_not(
		field_value_ok(field_find("name"), "a\tb", why, sizeof(why)));
	cr_assert_not(field_value_ok(field_find("name"), "\xc3\x28", why,
				     sizeof(why)));
	cr_assert(
		field_value_ok(field_find("country"), "DE", why, sizeof(why)));
	cr_assert_not(
		field_value_ok(field_find("country"), "de", why, sizeof(why)));
	cr_assert(field_value_ok(field_find("language"), "de-AT", why,
				 sizeof(why)));
	cr_assert_not(field_value_ok(field_find("language"), "de--AT", why,
				     sizeof(why)));
	cr_assert_not(field_value_ok(field_find("language"), "de-", why,
				     sizeof(why)));
	cr_assert_not(field_value_ok(field_find("phone"), "call me", why,
				     sizeof(why)));
	cr_assert(strstr(why, "E.164") != NULL, "%s", why);
	cr_assert_not(field_value_ok(field_find("birthday"), "yesterday", why,
				     sizeof(why)));
	cr_assert(strstr(why, "YYYY-MM-DD") != NULL, "%s", why);
}
