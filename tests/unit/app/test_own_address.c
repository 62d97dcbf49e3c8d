/*
 * test_own_address.c — the pure parts of the own address: the local
 * part's rules, the blocked domains, the From a stranger is kept or
 * blocked by.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "app/own_address.h"
#include "base/mailmsg.h"

static void setup(void)
{
	mailmsg_init();
}

static bool ok(const char *in, const char *want)
{
	char out[65];
	struct app_error err = { 0 };
	if (own_address_local_part(in, out, &err) != APP_OK)
		return false;
	return strcmp(out, want) == 0;
}

static bool refused(const char *in)
{
	char out[65];
	struct app_error err = { 0 };
	return own_address_local_part(in, out, &err) == APP_INVALID &&
	       strcmp(err.field, "local_part") == 0 && err.message[0];
}

Test(own_address, local_parts_taken_and_lowered)
{
	cr_expect(ok("ana.lima", "ana.lima"));
	cr_expect(ok("Ana.Lima", "ana.lima"));
	cr_expect(ok("a", "a"));
	cr_expect(ok("ana_lima-2", "ana_lima-2"));
	char max[65];
	memset(max, 'a', 64);
	max[64] = '\0';
	cr_expect(ok(max, max));
	/* 15 or 17 characters at the end are no alias's. */
	cr_expect(ok("shop.k3x9q2r7m4vt8wz", "shop.k3x9q2r7m4vt8wz"));
	cr_expect(ok("shop.k3x9q2r7m4vt8wzpq", "shop.k3x9q2r7m4vt8wzpq"));
	cr_expect(ok("shop.k3x9-2r7m4vt8wzp", "shop.k3x9-2r7m4vt8wzp"));
	cr_expect(ok("rr.ana", "rr.ana"));
	cr_expect(ok("postmasters", "postmasters"));
}

Test(own_address, local_parts_refused)
{
	const char *bad[] = {
		"",
		"ana lima",
		"ana@lima",
		"ana+x",
		".ana",
		"ana.",
		"ana..lima",
		"\xc3\xa1na",
		"shop.k3x9q2r7m4vt8wzp",
		"SHOP.K3X9Q2R7M4VT8WZP",
		"k3x9q2r7m4vt8wzp",
		"r.x",
		"R.x",
		"cmr-bounces",
		"cmr-bounces+per_x",
		"postmaster",
		"Abuse",
		"hostmaster",
		"webmaster",
		"mailer-daemon",
		"noreply",
		"no-reply",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect(refused(bad[i]), "\"%s\" was taken", bad[i]);
	char long_one[66];
	memset(long_one, 'a', 65);
	long_one[65] = '\0';
	cr_expect(refused(long_one));
	cr_expect(refused(NULL));
}

Test(own_address, blocked_domains_match_the_domain_or_its_org)
{
	const char *b = "[\"deals.example\",\"junk.example\"]";
	cr_expect(own_address_blocks(b, "deals.example", "deals.example"));
	cr_expect(own_address_blocks(b, "mail.deals.example", "deals.example"));
	cr_expect(!own_address_blocks(b, "deals.example.evil", "example.evil"));
	cr_expect(!own_address_blocks(b, "", ""));
	cr_expect(!own_address_blocks("[]", "deals.example", "deals.example"));
	cr_expect(!own_address_blocks("not json", "a.example", "a.example"));
	cr_expect(!own_address_blocks(NULL, "a.example", "a.example"));
}

Test(own_address, the_sender_of_a_strangers_message, .init = setup)
{
	char org[DOMAIN_MAX], domain[DOMAIN_MAX], name[401];
	const char *h =
		"From: =?UTF-8?Q?Caf=C3=A9?= Deals <x@mail.deals.example>\r\n"
		"Subject: hi\r\n\r\n";
	cr_assert_eq(own_address_sender(h, strlen(h), org, domain, name,
					sizeof(name)),
		     APP_OK);
	cr_expect_str_eq(org, "deals.example");
	cr_expect_str_eq(domain, "mail.deals.example");
	cr_expect_str_eq(name, "Caf\xc3\xa9 Deals");
	const char *bare = "From: x@deals.example\r\n\r\n";
	cr_assert_eq(own_address_sender(bare, strlen(bare), org, domain, name,
					sizeof(name)),
		     APP_OK);
	cr_expect_str_eq(name, "");
	const char *none = "Subject: no from\r\n\r\n";
	cr_expect_eq(own_address_sender(none, strlen(none), org, domain, name,
					sizeof(name)),
		     APP_CONFLICT);
	const char *suffix = "From: x@co.uk\r\n\r\n";
	cr_expect_eq(own_address_sender(suffix, strlen(suffix), org, domain,
					name, sizeof(name)),
		     APP_CONFLICT);
	cr_expect_eq(
		own_address_sender(NULL, 0, org, domain, name, sizeof(name)),
		APP_CONFLICT);
	/* A name with a line break in it stays one line. */
	const char *nl = "From: \"A\\\tB\" <x@deals.example>\r\n\r\n";
	cr_assert_eq(own_address_sender(nl, strlen(nl), org, domain, name,
					sizeof(name)),
		     APP_OK);
	cr_expect(strchr(name, '\t') == NULL, "%s", name);
}
