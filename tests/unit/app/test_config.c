/*
 * test_config.c — the settings of `cmr --help`: defaults, every kind of value,
 * the errors that name the option, and the environment under the flags.
 */
#include <criterion/criterion.h>
#include <stdio.h>
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

/* Every option of the table, its variable, and a value its kind refuses.
 * The usage test below checks that this list is the whole table, so a new
 * option needs a row here too. */
static const struct {
	const char *name, *env, *bad;
} every_option[] = {
	{ "store", "CMR_STORE", "no-scheme" },
	{ "keys", "CMR_KEYS", "" },
	{ "http", "CMR_HTTP", "nonsense" },
	{ "lmtp", "CMR_LMTP", "unix:" },
	{ "policy", "CMR_POLICY", "127.0.0.1:x" },
	{ "lmtp-conns", "CMR_LMTP_CONNS", "0" },
	{ "policy-conns", "CMR_POLICY_CONNS", "4097" },
	{ "metrics", "CMR_METRICS", "unix:/tmp/m" },
	{ "alias-domain", "CMR_ALIAS_DOMAIN", "bad domain" },
	{ "auth-id", "CMR_AUTH_ID", "-mx.example" },
	{ "trust-envelope", "CMR_TRUST_ENVELOPE", "maybe" },
	{ "maildir-root", "CMR_MAILDIR_ROOT", "" },
	{ "smarthost", "CMR_SMARTHOST", "off" },
	{ "open-registration", "CMR_OPEN_REGISTRATION", "2" },
	{ "hold-queue", "CMR_HOLD_QUEUE", "-1" },
	{ "user", "CMR_USER", "" },
	{ "operator-jurisdiction", "CMR_OPERATOR_JURISDICTION", "" },
	{ "allow-private-targets", "CMR_ALLOW_PRIVATE_TARGETS", "yes please" },
	{ "max-conns-per-ip", "CMR_MAX_CONNS_PER_IP", "0" },
	{ "header-timeout", "CMR_HEADER_TIMEOUT", "3601" },
	{ "access-log", "CMR_ACCESS_LOG", "sometimes" },
	{ "tls-cert", "CMR_TLS_CERT", "" },
	{ "tls-key", "CMR_TLS_KEY", "" },
	{ "trusted-proxy", "CMR_TRUSTED_PROXY", "proxy.example" },
};
#define N_EVERY (sizeof(every_option) / sizeof(every_option[0]))

/* --trusted-proxy: IP literals, comma-separated or repeated, added up;
 * a bad one (or one too many) leaves the list as it was. IPv4 and its
 * IPv4-mapped IPv6 form are the same address. */
Test(config, trusted_proxies)
{
	struct config c;
	char err[400];
	config_defaults(&c);
	cr_assert_eq(c.trusted_proxy.n, 0);
	cr_assert_not(config_addrs_has(&c.trusted_proxy, "127.0.0.1"));
	cr_assert_eq(set(&c, "trusted-proxy", "127.0.0.1, ::1", err), 0, "%s",
		     err);
	cr_assert_eq(set(&c, "trusted-proxy", "10.0.0.7", err), 0, "%s", err);
	cr_assert_eq(c.trusted_proxy.n, 3);
	cr_assert(config_addrs_has(&c.trusted_proxy, "127.0.0.1"));
	cr_assert(config_addrs_has(&c.trusted_proxy, "::ffff:127.0.0.1"));
	cr_assert(config_addrs_has(&c.trusted_proxy, "0:0::1"));
	cr_assert(config_addrs_has(&c.trusted_proxy, "10.0.0.7"));
	cr_assert_not(config_addrs_has(&c.trusted_proxy, "127.0.0.2"));
	cr_assert_not(config_addrs_has(&c.trusted_proxy, "localhost"));
	cr_assert_not(config_addrs_has(&c.trusted_proxy, ""));
	const char *bad[] = { "",
			      "10.0.0.8,",
			      "10.0.0.8,,10.0.0.9",
			      "10.0.0.8, nonsense",
			      "10.0.0.0/8",
			      "[::1]",
			      "127.0.0.1:80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert_eq(set(&c, "trusted-proxy", bad[i], err), -1, "%s",
			     bad[i]);
		cr_assert(strstr(err, "--trusted-proxy") != NULL, "%s", err);
		cr_assert_eq(c.trusted_proxy.n, 3, "%s", bad[i]);
	}
	cr_assert_not(config_addrs_has(&c.trusted_proxy, "10.0.0.8"));
	char many[CONFIG_PROXIES_MAX * 16] = "";
	for (int i = 0; i < CONFIG_PROXIES_MAX - 3; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s10.1.0.%d", i ? "," : "", i);
	cr_assert_eq(set(&c, "trusted-proxy", many, err), 0, "%s", err);
	cr_assert_eq(c.trusted_proxy.n, CONFIG_PROXIES_MAX);
	cr_assert_eq(set(&c, "trusted-proxy", "10.2.0.1", err), -1);
	cr_assert(strstr(err, "more than") != NULL, "%s", err);
}

/* --tls-cert and --tls-key are files' paths (read by `cmr serve`). */
Test(config, tls_files)
{
	struct config c;
	char err[400];
	config_defaults(&c);
	cr_assert_str_eq(c.tls_cert, "");
	cr_assert_str_eq(c.tls_key, "");
	cr_assert_eq(set(&c, "tls-cert", "/etc/cmr/cert.pem", err), 0);
	cr_assert_eq(set(&c, "tls-key", "/etc/cmr/key.pem", err), 0);
	cr_assert_str_eq(c.tls_cert, "/etc/cmr/cert.pem");
	cr_assert_str_eq(c.tls_key, "/etc/cmr/key.pem");
	cr_assert_eq(set(&c, "tls-key", "", err), -1);
	cr_assert(strstr(err, "--tls-key") != NULL, "%s", err);
}

/* --access-log takes a value (on|off), unlike a boolean flag, and is on
 * unless told; the HTTP limits have their defaults. */
Test(config, the_http_settings)
{
	struct config c;
	char err[400];
	config_defaults(&c);
	cr_assert(c.access_log);
	cr_assert_eq(c.max_conns_per_ip, 64);
	cr_assert_eq(c.header_timeout, 10);
	bool takes = false;
	cr_assert(config_known("access-log", &takes) && takes);
	cr_assert_eq(
		config_set(&c, "access-log", "off", false, err, sizeof(err)), 0,
		"%s", err);
	cr_assert(!c.access_log);
	cr_assert_eq(
		config_set(&c, "access-log", NULL, false, err, sizeof(err)),
		-1);
	cr_assert(strstr(err, "needs a value") != NULL, "%s", err);
}

Test(config, usage_lists_every_option_with_its_variable)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	config_usage(f, NULL);
	fclose(f);
	size_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, N_EVERY, "usage has %zu options, the test %zu:\n%s",
		     lines, N_EVERY, text);
	for (size_t i = 0; i < N_EVERY; i++) {
		char want[128];
		snprintf(want, sizeof(want), "--%s", every_option[i].name);
		const char *at = strstr(text, want);
		cr_assert_not_null(at, "%s", want);
		const char *eol = strchr(at, '\n');
		snprintf(want, sizeof(want), "(%s)\n", every_option[i].env);
		cr_assert(strstr(at, want) != NULL &&
				  strstr(at, want) + strlen(want) - 1 == eol,
			  "the line of --%s ends in %s", every_option[i].name,
			  want);
	}
	free(text);
}

Test(config, every_variable_is_read_and_named_in_its_error)
{
	for (size_t i = 0; i < N_EVERY; i++) {
		struct config c;
		char err[512];
		config_defaults(&c);
		setenv(every_option[i].env, every_option[i].bad, 1);
		int rc = config_from_env(&c, NULL, err, sizeof(err));
		unsetenv(every_option[i].env);
		cr_assert_eq(rc, -1, "%s=\"%s\" was taken", every_option[i].env,
			     every_option[i].bad);
		cr_assert(strstr(err, every_option[i].env) != NULL, "%s", err);
		char flag[128];
		snprintf(flag, sizeof(flag), "--%s", every_option[i].name);
		cr_assert(strstr(err, flag) != NULL, "%s", err);
		/* a flag with the same name wins, so the variable is not read
		 */
		const char *flagged[] = { every_option[i].name, NULL };
		setenv(every_option[i].env, every_option[i].bad, 1);
		rc = config_from_env(&c, flagged, err, sizeof(err));
		unsetenv(every_option[i].env);
		cr_assert_eq(rc, 0, "%s: %s", every_option[i].name, err);
	}
}

Test(config, known_options_and_their_values)
{
	bool takes = false;
	cr_assert(config_known("hold-queue", &takes));
	cr_assert(takes);
	cr_assert(config_known("trust-envelope", &takes));
	cr_assert_not(takes);
	cr_assert(config_known("store", NULL));
	cr_assert_not(config_known("no-such-option", &takes));
	cr_assert_not(config_known("", &takes));
	cr_assert_not(config_known("CMR_STORE", &takes));
	cr_assert_not(config_known("Store", &takes));
}

Test(config, wrong_kind_of_value)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	/* an option that takes a value, given none */
	cr_assert_eq(set(&c, "store", NULL, err), -1);
	cr_assert(strstr(err, "--store needs a value") != NULL, "%s", err);
	cr_assert_eq(set(&c, "hold-queue", NULL, err), -1);
	/* a yes/no flag given something else; the field keeps its value */
	cr_assert_eq(set(&c, "open-registration", "maybe", err), -1);
	cr_assert(strstr(err, "--open-registration") != NULL, "%s", err);
	cr_assert(strstr(err, "yes/no") != NULL, "%s", err);
	cr_assert_not(c.open_registration);
	cr_assert_eq(set(&c, "open-registration", "on", err), 0);
	cr_assert(c.open_registration);
	cr_assert_eq(set(&c, "open-registration", "no", err), 0);
	cr_assert_not(c.open_registration);
	/* a number that is not one, or out of range */
	cr_assert_eq(set(&c, "hold-queue", "", err), -1);
	cr_assert_eq(set(&c, "hold-queue", "-5", err), -1);
	cr_assert_eq(set(&c, "hold-queue", "99999999999999999999", err), -1);
	cr_assert(strstr(err, "1 to 100000") != NULL, "%s", err);
	cr_assert_eq(c.hold_queue, 100);
	cr_assert_eq(set(&c, "hold-queue", "100000", err), 0);
	cr_assert_eq(c.hold_queue, 100000);
	/* a refused address leaves the listener as it was */
	cr_assert_eq(set(&c, "http", "nonsense", err), -1);
	cr_assert_eq(c.http.port, 8025);
	cr_assert_str_eq(c.http.host, "127.0.0.1");
	/* text longer than its field is refused, not cut */
	char big[1100];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(set(&c, "keys", big, err), -1);
	cr_assert(strstr(err, "--keys: longer than 1023 bytes") != NULL, "%s",
		  err);
	cr_assert_str_eq(c.keys, "./var/keys");
	cr_assert_eq(set(&c, "user", big + 1035, err), -1); /* 64 bytes */
	cr_assert(strstr(err, "--user: longer than 63 bytes") != NULL, "%s",
		  err);
	cr_assert_eq(set(&c, "user", big + 1036, err), 0); /* 63 fit */
	cr_assert_eq(strlen(c.user), 63);
}

Test(config, environment_errors_say_so)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	cr_assert_eq(config_set(&c, "hold-queue", "x", true, err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, "CMR_ variable for --hold-queue") != NULL, "%s",
		  err);
	cr_assert_eq(config_set(&c, "hold-queue", "x", false, err, sizeof(err)),
		     -1);
	cr_assert(strncmp(err, "--hold-queue", 12) == 0, "%s", err);
}

Test(config, text_flag_over_variable)
{
	struct config c;
	char err[256];
	const char *flagged[] = { "store", "trust-envelope", NULL };
	config_defaults(&c);
	setenv("CMR_STORE", "sqlite:/env.db", 1);
	setenv("CMR_KEYS", "/env/keys", 1);
	setenv("CMR_TRUST_ENVELOPE", "1", 1);
	cr_assert_eq(set(&c, "store", "sqlite:/flag.db", err), 0);
	cr_assert_eq(set(&c, "trust-envelope", "0", err), 0);
	cr_assert_eq(config_from_env(&c, flagged, err, sizeof(err)), 0, "%s",
		     err);
	unsetenv("CMR_STORE");
	unsetenv("CMR_KEYS");
	unsetenv("CMR_TRUST_ENVELOPE");
	cr_assert_str_eq(c.store, "sqlite:/flag.db");
	cr_assert_str_eq(c.keys, "/env/keys");
	cr_assert_not(c.trust_envelope); /* the flag said no */
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

Test(config, listed_names_a_commands_settings)
{
	cr_assert(config_listed(NULL, "http"));
	cr_assert(config_listed("store keys", "store"));
	cr_assert(config_listed("store keys", "keys"));
	cr_assert_not(config_listed("store keys", "http"));
	cr_assert_not(config_listed("store keys", "key"));
	cr_assert_not(config_listed("store keys", "stor"));
	cr_assert_not(config_listed("", "store"));
}

static void shown(const char *url, const char *want)
{
	char out[1024];
	config_url_shown(url, out, sizeof(out));
	cr_expect_str_eq(out, want, "%s", url);
}

Test(config, a_store_url_is_shown_without_its_password)
{
	shown("sqlite:./var/cmr.db", "sqlite:./var/cmr.db");
	shown("postgresql://cmr@db.internal/cmr",
	      "postgresql://cmr@db.internal/cmr");
	shown("postgresql://cmr:s3cr%40t@db.internal:5432/cmr",
	      "postgresql://cmr:***@db.internal:5432/cmr");
	shown("postgres://u:p@h", "postgres://u:***@h");
	shown("postgresql://h/db?user=u&password=hunter2&sslmode=require",
	      "postgresql://h/db?user=u&password=***&sslmode=require");
	/* An '@' in the path is not a userinfo. */
	shown("postgresql://h/db@x", "postgresql://h/db@x");
}

Test(config, the_store_setting_fills_what_is_shown)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	cr_expect_str_eq(c.store_shown, "sqlite:./var/cmr.db");
	cr_assert_eq(config_set(&c, "store", "postgresql://a:b@h/d", false, err,
				sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(c.store, "postgresql://a:b@h/d");
	cr_expect_str_eq(c.store_shown, "postgresql://a:***@h/d");
}
