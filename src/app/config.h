/*
 * config.h — cmr's configuration: every flag, CMR_* variable and default
 * (`cmr --help`, the README), parsed once at start-up into one struct (flags
 * first, then the environment for what no flag set, then the defaults),
 * validated, and read-only afterwards.
 */
#ifndef CMR_APP_CONFIG_H
#define CMR_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* A listener address: host and port, a Unix socket path, or off. */
struct listen_addr {
	bool off;
	bool unix_socket; /* path holds the socket path */
	char host[256];	  /* numeric IPv4/IPv6 or a name; brackets removed */
	int port;	  /* 1..65535 (0 = let the kernel choose: tests) */
	char path[108];
	char text[300]; /* as given, for messages */
};

#define CONFIG_PROXIES_MAX 16 /* --trusted-proxy addresses */

/* A list of IP addresses (--trusted-proxy): IPv4 ones as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), so that one comparison serves both families. */
struct config_addrs {
	unsigned n; /* how many of addr are set */
	unsigned char addr[CONFIG_PROXIES_MAX][16]; /* in6_addr's bytes */
};

struct config {
	char store[1024];	 /* --store URL */
	char store_shown[1024];	 /* … as logs and messages show it: a password
				    in it written *** (config_url_shown) */
	char keys[1024];	 /* --keys DIR */
	struct listen_addr http; /* --http */
	struct listen_addr lmtp; /* --lmtp (TCP or unix:PATH or off) */
	struct listen_addr policy;	/* --policy */
	struct listen_addr metrics;	/* --metrics */
	unsigned lmtp_conns;		/* --lmtp-conns, 1..4096 */
	unsigned policy_conns;		/* --policy-conns, 1..4096 */
	char alias_domain[254];		/* --alias-domain */
	char auth_id[254];		/* --auth-id; "" when none */
	bool trust_envelope;		/* --trust-envelope */
	char maildir_root[1024];	/* --maildir-root; "" when off */
	char smarthost[300];		/* --smarthost HOST:PORT; "" when off */
	bool open_registration;		/* --open-registration */
	unsigned hold_queue;		/* --hold-queue, 1..100000 */
	char user[64];			/* --user; "" when none */
	bool allow_private_targets;	/* --allow-private-targets */
	char operator_jurisdiction[64]; /* --operator-jurisdiction; "" */
	unsigned max_conns_per_ip;	/* --max-conns-per-ip, 1..100000 */
	unsigned header_timeout;	/* --header-timeout seconds, 1..3600 */
	bool access_log;		/* --access-log on|off */
	char tls_cert[1024];		/* --tls-cert FILE (PEM); "" when off */
	char tls_key[1024];		/* --tls-key FILE (PEM); "" when off */
	struct config_addrs trusted_proxy; /* --trusted-proxy, repeatable */
	char server_name[254]; /* ledger heads name this; = alias domain */
	char client[64]; /* the store's connections' name where a server shows
			    them ("cmr person list", "cmr serve ADDR"); set
			    by the command, not a setting */
};

/* Parses an IPv4 or IPv6 literal into out (an in6_addr's 16 bytes),
 * IPv4 as ::ffff:a.b.c.d. */
bool config_addr_parse(const char *s, unsigned char out[16]);

/* Whether addr (an IPv4 or IPv6 literal; IPv4-mapped IPv6 counts as its
 * IPv4 address) is one of list's. False for text that is no address. */
bool config_addrs_has(const struct config_addrs *list, const char *addr);

/* Fills c with the defaults. */
void config_defaults(struct config *c);
/* url with its password, if any (postgresql://user:PASSWORD@host/…, or a
 * password=… parameter), written ***: what may be logged. */
void config_url_shown(const char *url, char *out, size_t size);

/* Sets option `name` (without the leading dashes, e.g. "hold-queue") from
 * a string value (NULL for a boolean flag). Returns 0, or -1 with a
 * one-line reason in err naming the option. `from_env` only changes the
 * wording of errors. */
int config_set(struct config *c, const char *name, const char *value,
	       bool from_env, char *err, size_t errlen);

/* Whether name is one of the options, and whether it takes a value. */
bool config_known(const char *name, bool *takes_value);

/* Applies CMR_* variables for every option not in `set_by_flag` (a list of
 * option names already set by flags, NULL-terminated). */
int config_from_env(struct config *c, const char *const *set_by_flag, char *err,
		    size_t errlen);

/* Parses "ADDR:PORT", "[V6]:PORT", "unix:PATH" (when allow_unix) or "off"
 * (when allow_off). */
int config_parse_listen(const char *s, bool allow_unix, bool allow_off,
			struct listen_addr *out, char *err, size_t errlen);

/* A domain name as DNS allows it: labels [A-Za-z0-9-]{1,63}, not starting
 * or ending with '-', total ≤ 253, at least one dot or "localhost"-style
 * single label accepted. */
bool config_domain_ok(const char *s);

/* Whether `name` is one of the space-separated option names of `names`
 * (NULL: every option is). */
bool config_listed(const char *names, const char *name);

/* One line per option for --help, written to out: those of `names` (as for
 * config_listed). */
void config_usage(void *file, const char *names);

/* The names of the options, in --help order (index 0 up, NULL after the
 * last). */
const char *config_option_name(size_t i);

/* The CMR_ variable of option `name`, or NULL for no such option. */
const char *config_option_env(const char *name);

#endif
