/*
 * test_outbound.c — the refusals of outbound.h that need no network: a URL
 * is called only over https, without user info, at most OUTBOUND_URL_MAX
 * bytes, and (unless private targets are allowed, as in tests) never at a
 * literal loopback, private, link-local or otherwise non-public address
 * nor "localhost" — whichever way the address is spelled: IPv4 in
 * decimal, octal or hex (libcurl's URL parser normalizes them), short
 * forms, IPv4 inside IPv6 (mapped, compatible, NAT64, 6to4). And
 * outbound_addr_public, which the socket-time check applies to every
 * resolved address, on sockaddrs built here. Nothing is resolved and
 * nothing is connected to.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "base/outbound.h"

/* ---- outbound_addr_public ---- */

static bool public4(const char *text)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	cr_assert_eq(inet_pton(AF_INET, text, &in.sin_addr), 1, "%s", text);
	return outbound_addr_public((const struct sockaddr *)&in);
}

static bool public6(const char *text)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	cr_assert_eq(inet_pton(AF_INET6, text, &in6.sin6_addr), 1, "%s", text);
	return outbound_addr_public((const struct sockaddr *)&in6);
}

/* Each blocked IPv4 range at (or near) its ends, and the public addresses
 * just outside it. */
Test(outbound, ipv4_ranges)
{
	static const char *const refused[] = {
		"0.0.0.0",	   "0.255.255.255",   "10.0.0.0",
		"10.255.255.255",  "100.64.0.0",      "100.127.255.255",
		"127.0.0.1",	   "127.255.255.254", "169.254.0.1",
		"169.254.169.254", "172.16.0.0",      "172.31.255.255",
		"192.0.0.1",	   "192.168.0.1",     "192.168.255.255",
		"198.18.0.1",	   "198.19.255.255",  "224.0.0.1",
		"239.255.255.255", "240.0.0.1",	      "255.255.255.255",
	};
	static const char *const allowed[] = {
		"1.1.1.1",	   "8.8.8.8",	      "9.255.255.255",
		"11.0.0.0",	   "100.63.255.255",  "100.128.0.0",
		"126.255.255.255", "128.0.0.0",	      "169.253.255.255",
		"169.255.0.0",	   "172.15.255.255",  "172.32.0.0",
		"192.0.1.0",	   "192.167.255.255", "192.169.0.0",
		"198.17.255.255",  "198.20.0.0",      "223.255.255.255",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++)
		cr_assert_not(public4(refused[i]), "%s passed", refused[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		cr_assert(public4(allowed[i]), "%s refused", allowed[i]);
}

Test(outbound, ipv6_ranges)
{
	static const char *const refused[] = {
		"::", "::1",
		"::2", /* IPv4-compatible 0.0.0.2: "this network" */
		"fc00::1", "fdff:ffff::1", "fe80::1", "febf::1", "fec0::1",
		"ff02::1", "ff0e::1",
		/* IPv4 inside IPv6: the IPv4 address decides. */
		"::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.1.2.3",
		"::ffff:169.254.169.254", "::ffff:0.0.0.0", "::127.0.0.1",
		"::192.168.1.1", "64:ff9b::127.0.0.1", "64:ff9b::a00:1",
		"64:ff9b:1::8.8.8.8", /* local-use NAT64 */
		"2002:7f00:1::",      /* 6to4 of 127.0.0.1 */
		"2002:c0a8:101::1",   /* 6to4 of 192.168.1.1 */
	};
	static const char *const allowed[] = {
		"2606:4700:4700::1111",
		"2001:4860:4860::8888",
		"fbff::1",
		"fe00::1",
		"::ffff:8.8.8.8",
		"::8.8.8.8",
		"64:ff9b::8.8.8.8",
		"2002:808:808::1",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++)
		cr_assert_not(public6(refused[i]), "%s passed", refused[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		cr_assert(public6(allowed[i]), "%s refused", allowed[i]);
}

/* A family that is neither IPv4 nor IPv6 is not an address to call. */
Test(outbound, other_families_refused)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	cr_assert_not(outbound_addr_public((const struct sockaddr *)&un));
	cr_assert_not(outbound_addr_public(&sa));
}

/* ---- outbound_url_ok ---- */

/* outbound_url_ok with a why that must be set when refused. */
static bool url_ok(const char *url, bool allow_private, char *why, size_t size)
{
	why[0] = '\0';
	bool ok = outbound_url_ok(url, allow_private, why, size);
	if (!ok)
		cr_assert_neq(why[0], '\0', "%s refused without a reason", url);
	return ok;
}

/* Refused whether or not private targets are allowed, for `reason`. */
static void refused_always(const char *url, const char *reason)
{
	char why[200];
	cr_assert_not(url_ok(url, false, why, sizeof(why)), "%s passed", url);
	cr_assert(strstr(why, reason) != NULL, "%s: %s", url, why);
	cr_assert_not(url_ok(url, true, why, sizeof(why)), "%s passed", url);
	cr_assert(strstr(why, reason) != NULL, "%s: %s", url, why);
}

/* Refused as a private target, and taken when those are allowed. */
static void refused_private(const char *url)
{
	char why[200];
	cr_assert_not(url_ok(url, false, why, sizeof(why)), "%s passed", url);
	cr_assert(strstr(why, "private") != NULL, "%s: %s", url, why);
	cr_assert(url_ok(url, true, why, sizeof(why)), "%s: %s", url, why);
}

static void taken(const char *url)
{
	char why[200];
	cr_assert(url_ok(url, false, why, sizeof(why)), "%s: %s", url, why);
	cr_assert(url_ok(url, true, why, sizeof(why)), "%s: %s", url, why);
}

Test(outbound, https_only)
{
	taken("https://hooks.example.com/cmr");
	taken("HTTPS://hooks.example.com/cmr"); /* schemes are caseless */
	refused_always("http://hooks.example.com/cmr", "only https");
	refused_always("ftp://hooks.example.com/", "only https");
	refused_always("http://hooks.example.com:443/", "only https");
	refused_always("gopher://hooks.example.com/", "only https");
}

Test(outbound, not_absolute)
{
	refused_always("", "absolute");
	refused_always("hooks.example.com/cmr", "absolute");
	refused_always("/cmr", "absolute");
	refused_always("https://", "absolute");
	refused_always("https://hooks example.com/", "absolute");
	refused_always("https://hooks.example.com:99999/", "absolute");
}

Test(outbound, no_user_info)
{
	refused_always("https://ana@hooks.example.com/", "user info");
	refused_always("https://ana:secret@hooks.example.com/", "user info");
	refused_always("https://:secret@hooks.example.com/", "user info");
	/* user info that would hide the real host behind a public name */
	refused_always("https://hooks.example.com@127.0.0.1/", "user info");
}

/* A port is no reason to refuse, nor a way around the address check. */
Test(outbound, ports)
{
	taken("https://hooks.example.com:8443/cmr");
	taken("https://8.8.8.8:443/");
	taken("https://[2606:4700:4700::1111]:8443/");
	refused_private("https://127.0.0.1:443/");
	refused_private("https://10.0.0.1:8443/");
	refused_private("https://[::1]:8443/");
	refused_private("https://localhost:8443/");
}

Test(outbound, length_limit)
{
	char url[OUTBOUND_URL_MAX + 2];
	const char *head = "https://hooks.example.com/";
	size_t n = strlen(head);
	memcpy(url, head, n);
	memset(url + n, 'a', OUTBOUND_URL_MAX - n);
	url[OUTBOUND_URL_MAX] = '\0';
	taken(url); /* exactly the limit */
	url[OUTBOUND_URL_MAX] = 'a';
	url[OUTBOUND_URL_MAX + 1] = '\0';
	refused_always(url, "at most");
}

Test(outbound, private_ipv4_literals)
{
	static const char *const urls[] = {
		"https://127.0.0.1/",	"https://127.255.255.254/",
		"https://10.0.0.1/",	"https://10.255.255.255/",
		"https://172.16.0.1/",	"https://172.31.255.255/",
		"https://192.168.1.1/", "https://169.254.169.254/latest",
		"https://0.0.0.0/",	"https://100.64.0.1/",
		"https://224.0.0.1/",	"https://255.255.255.255/",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++)
		refused_private(urls[i]);
	taken("https://172.15.255.255/");
	taken("https://172.32.0.1/");
	taken("https://8.8.8.8/");
}

/* The spellings inet_aton(3) and resolvers take besides a dotted quad:
 * libcurl normalizes them to one, so the check sees 127.0.0.1 etc. */
Test(outbound, other_ipv4_spellings)
{
	static const char *const urls[] = {
		"https://2130706433/",	    /* 127.0.0.1 in decimal */
		"https://0x7f000001/",	    /* in hex */
		"https://017700000001/",    /* in octal */
		"https://0x7f.0.0.1/",	    /* one part in hex */
		"https://0177.0.0.1/",	    /* one part in octal */
		"https://127.1/",	    /* a.b */
		"https://127.0.1/",	    /* a.b.c */
		"https://0/",		    /* 0.0.0.0 */
		"https://167772161/",	    /* 10.0.0.1 */
		"https://0xa9fea9fe/",	    /* 169.254.169.254 */
		"https://%31%32%37.0.0.1/", /* percent-encoded */
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++)
		refused_private(urls[i]);
	taken("https://134744072/"); /* 8.8.8.8 */
}

Test(outbound, private_ipv6_literals)
{
	static const char *const urls[] = {
		"https://[::1]/",
		"https://[::]/",
		"https://[0:0:0:0:0:0:0:1]/",
		"https://[fc00::1]/",
		"https://[fd12:3456::1]/",
		"https://[fe80::1]/",
		"https://[FE80::1]/",
		"https://[fe80::1%25eth0]/", /* with a zone */
		"https://[::ffff:127.0.0.1]/",
		"https://[::ffff:7f00:1]/",
		"https://[::ffff:169.254.169.254]/",
		"https://[::127.0.0.1]/",
		"https://[::7f00:1]/",
		"https://[64:ff9b::7f00:1]/",
		"https://[2002:7f00:1::]/",
		"https://[ff02::1]/",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++)
		refused_private(urls[i]);
	taken("https://[2606:4700:4700::1111]/");
	taken("https://[::ffff:8.8.8.8]/");
}

Test(outbound, localhost)
{
	refused_private("https://localhost/");
	refused_private("https://LocalHost/");
	refused_private("https://api.localhost/");
	refused_private("https://a.b.LOCALHOST/hook");
	/* A fully qualified name, with the root's dot, is the same name. */
	refused_private("https://localhost./");
	refused_private("https://api.localhost./");
	refused_private("https://127.0.0.1./");
	/* names that only look like it */
	taken("https://localhost.example.com/");
	taken("https://notlocalhost/");
	taken("https://localhostx/");
}

/* A name too long to be checked whole is refused, not checked cut: a
 * cut "….localhost" would no longer end in ".localhost". */
Test(outbound, long_host_names)
{
	char url[400] = "https://";
	for (int i = 0; i < 6; i++)
		strcat(url, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaa.");
	strcat(url, "localhost/");
	char why[200];
	cr_assert_not(url_ok(url, false, why, sizeof(why)), "%s passed", url);
	cr_assert(url_ok(url, true, why, sizeof(why)), "%s", why);
	/* a long public name (253 bytes, DNS's most) is called */
	char name[254];
	memset(name, 'a', 253);
	name[253] = '\0';
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	snprintf(url, sizeof(url), "https://%s/", name);
	taken(url);
}

/* A why that is too small is cut, never overrun. */
Test(outbound, why_is_bounded)
{
	char why[8];
	memset(why, 'x', sizeof(why));
	cr_assert_not(outbound_url_ok("http://x/", false, why, sizeof(why)));
	cr_assert_eq(strlen(why), sizeof(why) - 1);
}
