/*
 * test_config.c — the §9 settings: defaults, every kind of value, the
 * errors that name the option, and the environment under the flags.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"

Test(config, defaults)
{
	struct config c;
	config_defaults(&c);
	cr_assert_str_eq(c.store, "sqlite:./var/cmr.db");
	cr_assert_str_eq(c.keys, "./var/keys");
	cr_assert_str_eq(c.http.host, "127.0.0.1");
	cr_assert_eq(c.http.port, 8025);
	cr_assert_eq(c.lmtp.port, 2424);
	cr_assert_eq(c.policy.port, 10040);
	cr_assert_eq(c.metrics.port, 9025);
	cr_assert_str_eq(c.alias_domain, "relay.localhost");
	cr_assert_eq(c.hold_queue, 100);
	cr_assert_not(c.trust_envelope);
	cr_assert_not(c.open_registration);
	cr_assert_not(c.allow_private_targets);
	cr_assert_str_eq(c.auth_id, "");
	cr_assert_str_eq(c.maildir_root, "");
	cr_assert_str_eq(c.smarthost, "");
	cr_assert_str_eq(c.user, "");
}

static int set(struct config *c, const char *name, const char *value, char *err)
{
	return config_set(c, name, value, false, err, 256);
}

Test(config, listeners)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	cr_assert_eq(set(&c, "http", "0.0.0.0:80", err), 0);
	cr_assert_eq(c.http.port, 80);
	cr_assert_eq(set(&c, "http", "[::1]:8080", err), 0);
	cr_assert_str_eq(c.http.host, "::1");
	cr_assert_eq(set(&c, "lmtp", "unix:/run/cmr/lmtp.sock", err), 0);
	cr_assert(c.lmtp.unix_socket);
	cr_assert_str_eq(c.lmtp.path, "/run/cmr/lmtp.sock");
	cr_assert_eq(set(&c, "policy", "off", err), 0);
	cr_assert(c.policy.off);
	cr_assert_eq(set(&c, "http", "unix:/tmp/x", err), -1);
	cr_assert(strstr(err, "--http") != NULL, "%s", err);
	cr_assert_eq(set(&c, "http", "127.0.0.1:99999", err), -1);
	cr_assert(strstr(err, "port") != NULL, "%s", err);
	cr_assert_eq(set(&c, "http", "nonsense", err), -1);
	cr_assert_eq(set(&c, "http", "[::zz]:80", err), -1);
	cr_assert_eq(set(&c, "metrics", "bad host!:80", err), -1);
}

Test(config, values)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	cr_assert_eq(set(&c, "hold-queue", "5", err), 0);
	cr_assert_eq(c.hold_queue, 5);
	cr_assert_eq(set(&c, "hold-queue", "0", err), -1);
	cr_assert(strstr(err, "--hold-queue") != NULL);
	cr_assert_eq(set(&c, "hold-queue", "100001", err), -1);
	cr_assert_eq(set(&c, "hold-queue", "12x", err), -1);
	cr_assert_eq(set(&c, "alias-domain", "relay.example.org", err), 0);
	cr_assert_str_eq(c.alias_domain, "relay.example.org");
	cr_assert_str_eq(c.server_name, "relay.example.org");
	cr_assert_eq(set(&c, "alias-domain", "bad domain", err), -1);
	cr_assert_eq(set(&c, "alias-domain", "-bad.example", err), -1);
	cr_assert_eq(set(&c, "auth-id", "mx.example.org", err), 0);
	cr_assert_str_eq(c.auth_id, "mx.example.org");
	cr_assert_eq(set(&c, "store", "no-scheme", err), -1);
	cr_assert_eq(set(&c, "store", "sqlite:/tmp/x.db", err), 0);
	cr_assert_eq(set(&c, "smarthost", "mail.example.org:25", err), 0);
	cr_assert_eq(set(&c, "smarthost", "mail.example.org:0", err), -1);
	cr_assert_eq(set(&c, "smarthost", "off", err), -1);
	cr_assert_eq(set(&c, "user", "cmr", err), 0);
	cr_assert_eq(set(&c, "trust-envelope", NULL, err), 0);
	cr_assert(c.trust_envelope);
	cr_assert_eq(set(&c, "no-such-option", "1", err), -1);
	cr_assert(strstr(err, "unknown") != NULL);
}

Test(config, environment_under_flags)
{
	struct config c;
	char err[256];
	const char *flagged[] = { "hold-queue", NULL };
	config_defaults(&c);
	setenv("CMR_HOLD_QUEUE", "7", 1);
	setenv("CMR_OPEN_REGISTRATION", "1", 1);
	setenv("CMR_ALIAS_DOMAIN", "env.example", 1);
	cr_assert_eq(set(&c, "hold-queue", "9", err), 0);
	cr_assert_eq(config_from_env(&c, flagged, err, sizeof(err)), 0);
	cr_assert_eq(c.hold_queue, 9);	/* the flag wins */
	cr_assert(c.open_registration); /* the variable fills in */
	cr_assert_str_eq(c.alias_domain, "env.example");
	setenv("CMR_HOLD_QUEUE", "0", 1);
	cr_assert_eq(config_from_env(&c, NULL, err, sizeof(err)), -1);
	cr_assert(strstr(err, "CMR_HOLD_QUEUE") != NULL, "%s", err);
	setenv("CMR_HOLD_QUEUE", "3", 1);
	setenv("CMR_TRUST_ENVELOPE", "maybe", 1);
	cr_assert_eq(config_from_env(&c, NULL, err, sizeof(err)), -1);
	cr_assert(strstr(err, "CMR_TRUST_ENVELOPE") != NULL, "%s", err);
	unsetenv("CMR_HOLD_QUEUE");
	unsetenv("CMR_TRUST_ENVELOPE");
	unsetenv("CMR_OPEN_REGISTRATION");
	unsetenv("CMR_ALIAS_DOMAIN");
}

Test(config, domain_syntax)
{
	cr_assert(config_domain_ok("relay.localhost"));
	cr_assert(config_domain_ok("localhost"));
	cr_assert(config_domain_ok("a-b.c"));
	cr_assert_not(config_domain_ok(""));
	cr_assert_not(config_domain_ok("a..b"));
	cr_assert_not(config_domain_ok("a.b-"));
	cr_assert_not(config_domain_ok("a_b.c"));
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_not(config_domain_ok(big));
}
