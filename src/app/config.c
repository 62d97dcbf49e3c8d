/*
 * config.c — the options of `cmr --help` as one table, and their parsing
 * and validation (see config.h).
 */
#include "config.h"
#include "store/store.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

/* What an option's value is: how it is checked and which C type its field
 * in struct config has. */
enum config_kind {
	CONFIG_BOOL,	  /* bool: no value, or 1/0 true/false yes/no on/off */
	CONFIG_UINT,	  /* unsigned: a whole number from min to max */
	CONFIG_PATH,	  /* char[]: a directory, not empty */
	CONFIG_USER,	  /* char[]: a user name, not empty */
	CONFIG_STORE_URL, /* char[]: SCHEME:REST (sqlite:PATH) */
	CONFIG_DOMAIN,	  /* char[]: a DNS name (config_domain_ok) */
	CONFIG_LISTEN,	  /* struct listen_addr: ADDR:PORT or off */
	CONFIG_LISTEN_UNIX, /* struct listen_addr: ADDR:PORT, unix:PATH, off */
	CONFIG_HOSTPORT,    /* char[]: HOST:PORT with a port of 1 to 65535 */
	CONFIG_TEXT,	    /* char[]: printable ASCII, not empty */
	CONFIG_SWITCH, /* bool: a value on or off (or a CONFIG_BOOL word) */
	CONFIG_FILE,   /* char[]: a file's path, not empty */
	CONFIG_ADDRS,  /* struct config_addrs: IP literals, comma-separated;
			  each use adds to the list */
};

/* The field of struct config an option fills: offset and size. */
#define CONFIG_FIELD(f)                                                        \
	offsetof(struct config, f), sizeof(((struct config *)0)->f)

static void config_alias_domain_then(struct config *c);
static void config_store_then(struct config *c);

/* The option table: adding an option is adding a row (and its field in
 * struct config). Columns: the flag's name without "--"; its environment
 * variable; the kind of value; the field it fills (CONFIG_FIELD); the range
 * of a CONFIG_UINT; the default, set by config_defaults() as if given as a
 * flag (NULL: the field stays zero, i.e. off, none or empty); a function
 * run after the value is stored, for settings that follow from it (or
 * NULL); and the help line, with the default in brackets. */
static const struct config_option {
	const char *name;
	const char *env;
	enum config_kind kind;
	size_t offset, size;
	unsigned min, max;
	const char *dflt;
	void (*then)(struct config *c);
	const char *help;
} config_options[] = {
	{ "store", "CMR_STORE", CONFIG_STORE_URL, CONFIG_FIELD(store), 0, 0,
	  "sqlite:./var/cmr.db", config_store_then,
	  "URL of the store [sqlite:./var/cmr.db]" },
	{ "keys", "CMR_KEYS", CONFIG_PATH, CONFIG_FIELD(keys), 0, 0,
	  "./var/keys", NULL, "keys directory [./var/keys]" },
	{ "http", "CMR_HTTP", CONFIG_LISTEN, CONFIG_FIELD(http), 0, 0,
	  "127.0.0.1:8025", NULL,
	  "API listener ADDR:PORT or off [127.0.0.1:8025]" },
	{ "lmtp", "CMR_LMTP", CONFIG_LISTEN_UNIX, CONFIG_FIELD(lmtp), 0, 0,
	  "127.0.0.1:2424", NULL,
	  "LMTP listener ADDR:PORT, unix:PATH or off "
	  "[127.0.0.1:2424]" },
	{ "policy", "CMR_POLICY", CONFIG_LISTEN, CONFIG_FIELD(policy), 0, 0,
	  "127.0.0.1:10040", NULL,
	  "Postfix policy listener ADDR:PORT or off "
	  "[127.0.0.1:10040]" },
	{ "lmtp-conns", "CMR_LMTP_CONNS", CONFIG_UINT, CONFIG_FIELD(lmtp_conns),
	  1, 4096, "128", NULL,
	  "LMTP sessions at once (Postfix's lmtp processes, 100 at its "
	  "defaults) [128]" },
	{ "policy-conns", "CMR_POLICY_CONNS", CONFIG_UINT,
	  CONFIG_FIELD(policy_conns), 1, 4096, "128", NULL,
	  "policy connections at once (one per smtpd process: 100 at "
	  "Postfix's defaults) [128]" },
	{ "metrics", "CMR_METRICS", CONFIG_LISTEN, CONFIG_FIELD(metrics), 0, 0,
	  "127.0.0.1:9025", NULL,
	  "Prometheus listener ADDR:PORT or off "
	  "[127.0.0.1:9025]" },
	{ "alias-domain", "CMR_ALIAS_DOMAIN", CONFIG_DOMAIN,
	  CONFIG_FIELD(alias_domain), 0, 0, "relay.localhost",
	  config_alias_domain_then, "domain of the aliases [relay.localhost]" },
	{ "auth-id", "CMR_AUTH_ID", CONFIG_DOMAIN, CONFIG_FIELD(auth_id), 0, 0,
	  NULL, NULL,
	  "authserv-id of trusted Authentication-Results "
	  "[none]" },
	{ "trust-envelope", "CMR_TRUST_ENVELOPE", CONFIG_BOOL,
	  CONFIG_FIELD(trust_envelope), 0, 0, NULL, NULL,
	  "without --auth-id, compare envelope and "
	  "From domains (demos, tests) [off]" },
	{ "maildir-root", "CMR_MAILDIR_ROOT", CONFIG_PATH,
	  CONFIG_FIELD(maildir_root), 0, 0, NULL, NULL,
	  "root of the Maildir export [none: off]" },
	{ "smarthost", "CMR_SMARTHOST", CONFIG_HOSTPORT,
	  CONFIG_FIELD(smarthost), 0, 0, NULL, NULL,
	  "HOST:PORT for forwarding [none: off]" },
	{ "open-registration", "CMR_OPEN_REGISTRATION", CONFIG_BOOL,
	  CONFIG_FIELD(open_registration), 0, 0, NULL, NULL,
	  "anyone may sign up [off]" },
	{ "hold-queue", "CMR_HOLD_QUEUE", CONFIG_UINT, CONFIG_FIELD(hold_queue),
	  1, 100000, "100", NULL, "held messages per relationship [100]" },
	{ "user", "CMR_USER", CONFIG_USER, CONFIG_FIELD(user), 0, 0, NULL, NULL,
	  "drop to this user after binding [none]" },
	{ "operator-jurisdiction", "CMR_OPERATOR_JURISDICTION", CONFIG_TEXT,
	  CONFIG_FIELD(operator_jurisdiction), 0, 0, NULL, NULL,
	  "the operator's jurisdiction (e.g. DE): receipts carry it where "
	  "the brand gave none [none]" },
	{ "allow-private-targets", "CMR_ALLOW_PRIVATE_TARGETS", CONFIG_BOOL,
	  CONFIG_FIELD(allow_private_targets), 0, 0, NULL, NULL,
	  "let outbound URLs reach loopback "
	  "and private addresses (tests) [off]" },
	{ "max-conns-per-ip", "CMR_MAX_CONNS_PER_IP", CONFIG_UINT,
	  CONFIG_FIELD(max_conns_per_ip), 1, 100000, "64", NULL,
	  "HTTP connections at once from one client address [64]" },
	{ "header-timeout", "CMR_HEADER_TIMEOUT", CONFIG_UINT,
	  CONFIG_FIELD(header_timeout), 1, 3600, "10", NULL,
	  "seconds an HTTP request's headers may take to arrive [10]" },
	{ "access-log", "CMR_ACCESS_LOG", CONFIG_SWITCH,
	  CONFIG_FIELD(access_log), 0, 0, "on", NULL,
	  "one log line per HTTP request, on or off [on]" },
	{ "tls-cert", "CMR_TLS_CERT", CONFIG_FILE, CONFIG_FIELD(tls_cert), 0, 0,
	  NULL, NULL,
	  "serve HTTPS: the certificate chain, PEM (and its key: the "
	  "next setting) [none: plain HTTP]" },
	{ "tls-key", "CMR_TLS_KEY", CONFIG_FILE, CONFIG_FIELD(tls_key), 0, 0,
	  NULL, NULL, "the private key of --tls-cert, PEM [none]" },
	{ "trusted-proxy", "CMR_TRUSTED_PROXY", CONFIG_ADDRS,
	  CONFIG_FIELD(trusted_proxy), 0, 0, NULL, NULL,
	  "IP address of a reverse proxy whose X-Forwarded-For/-Proto/-Host "
	  "are believed; repeatable or comma-separated [none]" },
};

#define N_OPTIONS (sizeof(config_options) / sizeof(config_options[0]))

/* The alias domain also names this server in the ledger's signed heads. */
static void config_alias_domain_then(struct config *c)
{
	snprintf(c->server_name, sizeof(c->server_name), "%s", c->alias_domain);
}

static const struct config_option *config_option_find(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(config_options[i].name, name) == 0)
			return &config_options[i];
	return NULL;
}

void config_defaults(struct config *c)
{
	char err[400];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		if (o->dflt == NULL)
			continue;
		int rc = config_set(c, o->name, o->dflt, false, err,
				    sizeof(err));
		assert(rc == 0 && "a default in config_options is invalid");
		(void)rc;
	}
}

bool config_known(const char *name, bool *takes_value)
{
	const struct config_option *o = config_option_find(name);
	if (o == NULL)
		return false;
	if (takes_value)
		*takes_value = o->kind != CONFIG_BOOL;
	return true;
}

bool config_domain_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = s[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)ch) || ch == '-'))
			return false;
		if (label == 0 && ch == '-')
			return false;
		label++;
	}
	return true;
}

static int config_port(const char *s, int *port)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int config_parse_listen(const char *s, bool allow_unix, bool allow_off,
			struct listen_addr *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->text, sizeof(out->text), "%s", s);
	if (strcmp(s, "off") == 0) {
		if (!allow_off) {
			snprintf(err, errlen, "cannot be off");
			return -1;
		}
		out->off = true;
		return 0;
	}
	if (strncmp(s, "unix:", 5) == 0) {
		if (!allow_unix) {
			snprintf(err, errlen,
				 "\"%s\": a Unix socket is not "
				 "possible here; use ADDR:PORT",
				 s);
			return -1;
		}
		if (s[5] == '\0' || strlen(s + 5) >= sizeof(out->path)) {
			snprintf(err, errlen,
				 "\"%s\": the socket path must be "
				 "1 to %zu bytes",
				 s, sizeof(out->path) - 1);
			return -1;
		}
		out->unix_socket = true;
		snprintf(out->path, sizeof(out->path), "%s", s + 5);
		return 0;
	}
	const char *colon;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':' ||
		    (size_t)(close - s - 1) >= sizeof(out->host)) {
			snprintf(err, errlen, "\"%s\" is not [IPv6]:PORT", s);
			return -1;
		}
		memcpy(out->host, s + 1, (size_t)(close - s - 1));
		struct in6_addr a6;
		if (inet_pton(AF_INET6, out->host, &a6) != 1) {
			snprintf(err, errlen, "\"%s\": not an IPv6 address", s);
			return -1;
		}
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s ||
		    (size_t)(colon - s) >= sizeof(out->host)) {
			snprintf(err, errlen,
				 "\"%s\" is not ADDR:PORT "
				 "(e.g. 127.0.0.1:8025)",
				 s);
			return -1;
		}
		memcpy(out->host, s, (size_t)(colon - s));
		struct in_addr a4;
		if (inet_pton(AF_INET, out->host, &a4) != 1 &&
		    !config_domain_ok(out->host)) {
			snprintf(err, errlen,
				 "\"%s\": \"%s\" is not an "
				 "address or host name",
				 s, out->host);
			return -1;
		}
	}
	if (config_port(colon + 1, &out->port) != 0) {
		snprintf(err, errlen, "\"%s\": the port must be 0 to 65535", s);
		return -1;
	}
	return 0;
}

bool config_addr_parse(const char *s, unsigned char out[16])
{
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out, &a6, 16);
		return true;
	}
	if (inet_pton(AF_INET, s, &a4) != 1)
		return false;
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
	return true;
}

bool config_addrs_has(const struct config_addrs *list, const char *addr)
{
	unsigned char a[16];
	if (addr == NULL || !config_addr_parse(addr, a))
		return false;
	for (unsigned i = 0; i < list->n; i++)
		if (memcmp(list->addr[i], a, sizeof(a)) == 0)
			return true;
	return false;
}

/* Adds the comma-separated IP literals of value to list (all or none). */
static int config_addrs_add(struct config_addrs *list, const char *value,
			    char *why, size_t whylen)
{
	struct config_addrs next = *list;
	const char *p = value;
	do {
		p += strspn(p, " ");
		size_t n = strcspn(p, ",");
		size_t len = n;
		while (len && p[len - 1] == ' ')
			len--;
		char one[INET6_ADDRSTRLEN];
		if (len == 0 || len >= sizeof(one)) {
			snprintf(why, whylen,
				 "\"%s\" is not a list of IP addresses", value);
			return -1;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		unsigned char a[16];
		if (!config_addr_parse(one, a)) {
			snprintf(why, whylen,
				 "\"%s\" is not an IPv4 or IPv6 address", one);
			return -1;
		}
		if (next.n == CONFIG_PROXIES_MAX) {
			snprintf(why, whylen, "more than %d addresses",
				 CONFIG_PROXIES_MAX);
			return -1;
		}
		memcpy(next.addr[next.n++], a, sizeof(a));
		p += n;
	} while (*p++ == ',');
	*list = next;
	return 0;
}

static int config_bool(const char *v, bool *out)
{
	if (v == NULL || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "yes") == 0 || strcmp(v, "on") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "no") == 0 || strcmp(v, "off") == 0 || *v == '\0') {
		*out = false;
		return 0;
	}
	return -1;
}

/* Checks `value` as option o's kind and stores it in c. Returns 0, or -1
 * with why (without the option's name) in why. */
static int config_store(struct config *c, const struct config_option *o,
			const char *value, char *why, size_t whylen)
{
	void *field = (char *)c + o->offset;
	struct listen_addr a;

	switch (o->kind) {
	case CONFIG_BOOL:
	case CONFIG_SWITCH:
		assert(o->size == sizeof(bool));
		if (config_bool(value, field) != 0) {
			snprintf(why, whylen,
				 "\"%s\" is not a yes/no value (1, 0, true, "
				 "false)",
				 value);
			return -1;
		}
		return 0;
	case CONFIG_UINT: {
		assert(o->size == sizeof(unsigned));
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno || v < o->min ||
		    v > o->max) {
			snprintf(why, whylen,
				 "\"%s\" is not a whole number from %u to %u",
				 value, o->min, o->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)v;
		return 0;
	}
	case CONFIG_LISTEN:
	case CONFIG_LISTEN_UNIX:
		assert(o->size == sizeof(struct listen_addr));
		/* parsed aside, so that a bad value leaves the field alone */
		if (config_parse_listen(value, o->kind == CONFIG_LISTEN_UNIX,
					true, &a, why, whylen) != 0)
			return -1;
		memcpy(field, &a, sizeof(a));
		return 0;
	case CONFIG_PATH:
		if (*value == '\0') {
			snprintf(why, whylen, "needs a directory");
			return -1;
		}
		break;
	case CONFIG_FILE:
		if (*value == '\0') {
			snprintf(why, whylen, "needs a file");
			return -1;
		}
		break;
	case CONFIG_ADDRS:
		assert(o->size == sizeof(struct config_addrs));
		return config_addrs_add(field, value, why, whylen);
	case CONFIG_USER:
		if (*value == '\0') {
			snprintf(why, whylen, "needs a user name");
			return -1;
		}
		break;
	case CONFIG_TEXT:
		if (*value == '\0') {
			snprintf(why, whylen, "needs a value");
			return -1;
		}
		for (const char *p = value; *p; p++)
			if (*p < 0x20 || *p > 0x7e) {
				snprintf(why, whylen,
					 "\"%s\" is not printable ASCII",
					 value);
				return -1;
			}
		break;
	case CONFIG_STORE_URL:
		if (strchr(value, ':') == NULL) {
			snprintf(why, whylen,
				 "\"%s\" is not a store URL (sqlite:PATH)",
				 value);
			return -1;
		}
		break;
	case CONFIG_DOMAIN:
		if (!config_domain_ok(value)) {
			snprintf(why, whylen, "\"%s\" is not a domain name",
				 value);
			return -1;
		}
		break;
	case CONFIG_HOSTPORT:
		if (config_parse_listen(value, false, false, &a, why, whylen) !=
		    0)
			return -1;
		if (a.port == 0) {
			snprintf(why, whylen,
				 "\"%s\": the port must be 1 to 65535", value);
			return -1;
		}
		break;
	}
	/* the kinds that keep the value as text */
	if (strlen(value) >= o->size) {
		snprintf(why, whylen, "longer than %zu bytes", o->size - 1);
		return -1;
	}
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

int config_set(struct config *c, const char *name, const char *value,
	       bool from_env, char *err, size_t errlen)
{
	char why[400];
	const char *shown = from_env ? "CMR_ variable for --" : "--";
	const struct config_option *o = config_option_find(name);

	if (o == NULL) {
		snprintf(err, errlen, "unknown option --%s", name);
		return -1;
	}
	if (o->kind != CONFIG_BOOL && value == NULL) {
		snprintf(err, errlen, "%s%s needs a value", shown, name);
		return -1;
	}
	if (config_store(c, o, value, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s%s: %s", shown, name, why);
		return -1;
	}
	if (o->then)
		o->then(c);
	return 0;
}

int config_from_env(struct config *c, const char *const *set_by_flag, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		bool flagged = false;
		for (size_t j = 0; set_by_flag && set_by_flag[j]; j++)
			if (strcmp(set_by_flag[j], o->name) == 0)
				flagged = true;
		if (flagged)
			continue;
		const char *v = getenv(o->env);
		if (v == NULL)
			continue;
		char why[512];
		if (config_set(c, o->name, v, true, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s (from %s)", why, o->env);
			return -1;
		}
	}
	return 0;
}

bool config_listed(const char *names, const char *name)
{
	if (names == NULL)
		return true;
	size_t len = strlen(name);
	for (const char *p = names; *p;) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

const char *config_option_name(size_t i)
{
	return i < N_OPTIONS ? config_options[i].name : NULL;
}

const char *config_option_env(const char *name)
{
	const struct config_option *o = config_option_find(name);
	return o ? o->env : NULL;
}

void config_usage(void *file, const char *names)
{
	FILE *f = file;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		if (!config_listed(names, o->name))
			continue;
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s%s", o->name,
			 o->kind != CONFIG_BOOL ? " V" : "");
		fprintf(f, "  %-26s %s (%s)\n", flag, o->help, o->env);
	}
}

/* Writes *** over [from, to) of out (a copy of the URL being shown). */
static void config_url_mask(char *out, size_t size, size_t from, size_t to)
{
	char rest[1024];
	snprintf(rest, sizeof(rest), "%s", out + to);
	snprintf(out + from, size - from, "***%s", rest);
}

void config_url_shown(const char *url, char *out, size_t size)
{
	snprintf(out, size, "%s", url);
	const char *scheme = strstr(out, "://");
	if (scheme != NULL) {
		size_t host = (size_t)(scheme - out) + 3;
		size_t end = host + strcspn(out + host, "/?#");
		/* The userinfo ends at the last '@' of the authority. */
		size_t at = end;
		while (at > host && out[at - 1] != '@')
			at--;
		if (at > host) {
			const char *colon =
				memchr(out + host, ':', at - 1 - host);
			if (colon != NULL)
				config_url_mask(out, size,
						(size_t)(colon - out) + 1,
						at - 1);
		}
	}
	/* A password=… parameter (libpq takes one). */
	for (char *p = strstr(out, "password="); p != NULL;
	     p = strstr(p + 1, "password=")) {
		size_t from = (size_t)(p - out) + 9;
		size_t to = from + strcspn(out + from, "&# ");
		if (to > from && strncmp(out + from, "***", 3) != 0)
			config_url_mask(out, size, from, to);
	}
}

static void config_store_then(struct config *c)
{
	config_url_shown(c->store, c->store_shown, sizeof(c->store_shown));
}
