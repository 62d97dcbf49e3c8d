/*
 * config.c — the options of DESIGN.md §9 as one table, and their parsing
 * and validation (see config.h).
 */
#include "config.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

/* The option table. Columns: the flag name (also the CMR_ variable, upper
 * case with '_' for '-'), whether it takes a value, and the help line
 * (with the default in brackets). */
static const struct config_option {
	const char *name;
	bool value;
	const char *help;
} config_options[] = {
	{ "store", true, "URL of the store [sqlite:./var/cmr.db]" },
	{ "keys", true, "keys directory [./var/keys]" },
	{ "http", true, "API listener ADDR:PORT or off [127.0.0.1:8025]" },
	{ "lmtp", true,
	  "LMTP listener ADDR:PORT, unix:PATH or off "
	  "[127.0.0.1:2424]" },
	{ "policy", true,
	  "Postfix policy listener ADDR:PORT or off "
	  "[127.0.0.1:10040]" },
	{ "metrics", true,
	  "Prometheus listener ADDR:PORT or off "
	  "[127.0.0.1:9025]" },
	{ "alias-domain", true, "domain of the aliases [relay.localhost]" },
	{ "auth-id", true,
	  "authserv-id of trusted Authentication-Results "
	  "[none]" },
	{ "trust-envelope", false,
	  "without --auth-id, compare envelope and "
	  "From domains (demos, tests) [off]" },
	{ "maildir-root", true, "root of the Maildir export [none: off]" },
	{ "smarthost", true, "HOST:PORT for forwarding [none: off]" },
	{ "open-registration", false, "anyone may sign up [off]" },
	{ "hold-queue", true, "held messages per relationship [100]" },
	{ "user", true, "drop to this user after binding [none]" },
	{ "allow-private-targets", false,
	  "let outbound URLs reach loopback "
	  "and private addresses (tests) [off]" },
};

#define N_OPTIONS (sizeof(config_options) / sizeof(config_options[0]))

void config_defaults(struct config *c)
{
	char err[64];

	memset(c, 0, sizeof(*c));
	snprintf(c->store, sizeof(c->store), "sqlite:./var/cmr.db");
	snprintf(c->keys, sizeof(c->keys), "./var/keys");
	config_parse_listen("127.0.0.1:8025", false, true, &c->http, err,
			    sizeof(err));
	config_parse_listen("127.0.0.1:2424", true, true, &c->lmtp, err,
			    sizeof(err));
	config_parse_listen("127.0.0.1:10040", false, true, &c->policy, err,
			    sizeof(err));
	config_parse_listen("127.0.0.1:9025", false, true, &c->metrics, err,
			    sizeof(err));
	snprintf(c->alias_domain, sizeof(c->alias_domain), "relay.localhost");
	snprintf(c->server_name, sizeof(c->server_name), "relay.localhost");
	c->hold_queue = 100;
}

bool config_known(const char *name, bool *takes_value)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(config_options[i].name, name) == 0) {
			if (takes_value)
				*takes_value = config_options[i].value;
			return true;
		}
	return false;
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

static int config_copy(char *dst, size_t size, const char *v, const char *name,
		       char *err, size_t errlen)
{
	if (strlen(v) >= size) {
		snprintf(err, errlen, "--%s: longer than %zu bytes", name,
			 size - 1);
		return -1;
	}
	snprintf(dst, size, "%s", v);
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

int config_set(struct config *c, const char *name, const char *value,
	       bool from_env, char *err, size_t errlen)
{
	char why[400];
	bool takes;
	const char *shown = from_env ? "CMR_ variable for --" : "--";

	if (!config_known(name, &takes)) {
		snprintf(err, errlen, "unknown option --%s", name);
		return -1;
	}
	if (takes && value == NULL) {
		snprintf(err, errlen, "%s%s needs a value", shown, name);
		return -1;
	}
	if (!takes) {
		bool b;
		if (config_bool(value, &b) != 0) {
			snprintf(err, errlen,
				 "%s%s: \"%s\" is not a yes/no "
				 "value (1, 0, true, false)",
				 shown, name, value);
			return -1;
		}
		if (strcmp(name, "trust-envelope") == 0)
			c->trust_envelope = b;
		else if (strcmp(name, "open-registration") == 0)
			c->open_registration = b;
		else
			c->allow_private_targets = b;
		return 0;
	}
	int rc = 0;
	why[0] = '\0';
	if (strcmp(name, "store") == 0) {
		if (strchr(value, ':') == NULL) {
			snprintf(why, sizeof(why),
				 "\"%s\" is not a store URL "
				 "(sqlite:PATH)",
				 value);
			rc = -1;
		} else {
			rc = config_copy(c->store, sizeof(c->store), value,
					 name, err, errlen);
			if (rc)
				return rc;
		}
	} else if (strcmp(name, "keys") == 0) {
		if (*value == '\0') {
			snprintf(why, sizeof(why), "needs a directory");
			rc = -1;
		} else if ((rc = config_copy(c->keys, sizeof(c->keys), value,
					     name, err, errlen)))
			return rc;
	} else if (strcmp(name, "http") == 0) {
		rc = config_parse_listen(value, false, true, &c->http, why,
					 sizeof(why));
	} else if (strcmp(name, "lmtp") == 0) {
		rc = config_parse_listen(value, true, true, &c->lmtp, why,
					 sizeof(why));
	} else if (strcmp(name, "policy") == 0) {
		rc = config_parse_listen(value, false, true, &c->policy, why,
					 sizeof(why));
	} else if (strcmp(name, "metrics") == 0) {
		rc = config_parse_listen(value, false, true, &c->metrics, why,
					 sizeof(why));
	} else if (strcmp(name, "alias-domain") == 0 ||
		   strcmp(name, "auth-id") == 0) {
		if (!config_domain_ok(value)) {
			snprintf(why, sizeof(why),
				 "\"%s\" is not a domain "
				 "name",
				 value);
			rc = -1;
		} else if (name[0] == 'a' && name[1] == 'l') {
			snprintf(c->alias_domain, sizeof(c->alias_domain), "%s",
				 value);
			snprintf(c->server_name, sizeof(c->server_name), "%s",
				 value);
		} else {
			snprintf(c->auth_id, sizeof(c->auth_id), "%s", value);
		}
	} else if (strcmp(name, "maildir-root") == 0) {
		if (*value == '\0') {
			snprintf(why, sizeof(why), "needs a directory");
			rc = -1;
		} else if ((rc = config_copy(c->maildir_root,
					     sizeof(c->maildir_root), value,
					     name, err, errlen)))
			return rc;
	} else if (strcmp(name, "smarthost") == 0) {
		struct listen_addr a;
		rc = config_parse_listen(value, false, false, &a, why,
					 sizeof(why));
		if (rc == 0 && a.port == 0) {
			snprintf(why, sizeof(why),
				 "\"%s\": the port must be "
				 "1 to 65535",
				 value);
			rc = -1;
		}
		if (rc == 0)
			snprintf(c->smarthost, sizeof(c->smarthost), "%s",
				 value);
	} else if (strcmp(name, "hold-queue") == 0) {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno || v < 1 ||
		    v > 100000) {
			snprintf(why, sizeof(why),
				 "\"%s\" is not a whole "
				 "number from 1 to 100000",
				 value);
			rc = -1;
		} else {
			c->hold_queue = (unsigned)v;
		}
	} else if (strcmp(name, "user") == 0) {
		if (*value == '\0' || strlen(value) >= sizeof(c->user)) {
			snprintf(why, sizeof(why), "needs a user name");
			rc = -1;
		} else {
			snprintf(c->user, sizeof(c->user), "%s", value);
		}
	}
	if (rc != 0)
		snprintf(err, errlen, "%s%s: %s", shown, name, why);
	return rc;
}

int config_from_env(struct config *c, const char *const *set_by_flag, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const char *name = config_options[i].name;
		bool flagged = false;
		for (size_t j = 0; set_by_flag && set_by_flag[j]; j++)
			if (strcmp(set_by_flag[j], name) == 0)
				flagged = true;
		if (flagged)
			continue;
		char var[64] = "CMR_";
		size_t k = 4;
		for (const char *p = name; *p && k < sizeof(var) - 1; p++)
			var[k++] = *p == '-' ? '_' : (char)toupper(*p);
		var[k] = '\0';
		const char *v = getenv(var);
		if (v == NULL)
			continue;
		char why[512];
		if (config_set(c, name, v, true, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s (from %s)", why, var);
			return -1;
		}
	}
	return 0;
}

void config_usage(void *file)
{
	FILE *f = file;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char flag[64];
		char var[64] = "CMR_";
		size_t k = 4;
		for (const char *p = config_options[i].name;
		     *p && k < sizeof(var) - 1; p++)
			var[k++] = *p == '-' ? '_' : (char)toupper(*p);
		var[k] = '\0';
		snprintf(flag, sizeof(flag), "--%s%s", config_options[i].name,
			 config_options[i].value ? " V" : "");
		fprintf(f, "  %-26s %s (%s)\n", flag, config_options[i].help,
			var);
	}
}
