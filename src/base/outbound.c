/*
 * outbound.c — outbound HTTPS with libcurl (see outbound.h).
 */
#include "base/outbound.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static pthread_once_t outbound_once = PTHREAD_ONCE_INIT;
static atomic_bool outbound_cancelled;

void outbound_cancel(void)
{
	atomic_store(&outbound_cancelled, true);
}

/* libcurl asks now and then: non-zero aborts the transfer. */
static int outbound_progress(void *arg, curl_off_t dt, curl_off_t dn,
			     curl_off_t ut, curl_off_t un)
{
	(void)arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(&outbound_cancelled) ? 1 : 0;
}

/* What every transfer has: no proxy from the environment (it would
 * stand between cmr and the address check), no signals, timeouts, and
 * the cancel check. */
static void outbound_common(CURL *c, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, outbound_progress);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

static void outbound_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void outbound_init(void)
{
	pthread_once(&outbound_once, outbound_init_once);
}

static bool v4_public(uint32_t a)
{
	static const struct {
		uint32_t net, mask;
	} blocked[] = {
		{ 0x00000000, 0xff000000 }, /* 0/8 "this network" */
		{ 0x0a000000, 0xff000000 }, /* 10/8 */
		{ 0x64400000, 0xffc00000 }, /* 100.64/10 CGNAT */
		{ 0x7f000000, 0xff000000 }, /* 127/8 loopback */
		{ 0xa9fe0000, 0xffff0000 }, /* 169.254/16 link-local */
		{ 0xac100000, 0xfff00000 }, /* 172.16/12 */
		{ 0xc0000000, 0xffffff00 }, /* 192.0.0/24 protocol */
		{ 0xc0a80000, 0xffff0000 }, /* 192.168/16 */
		{ 0xc6120000, 0xfffe0000 }, /* 198.18/15 benchmarking */
		{ 0xe0000000, 0xe0000000 }, /* 224/3 multicast, reserved */
	};
	for (size_t i = 0; i < sizeof(blocked) / sizeof(*blocked); i++)
		if ((a & blocked[i].mask) == blocked[i].net)
			return false;
	return true;
}

bool outbound_addr_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_public(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t compat[12] = { 0 };
	/* IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d,
	 * not :: and ::1), NAT64 (64:ff9b::/96) — the IPv4 address decides;
	 * 6to4 (2002:AABB:CCDD::/48) too. */
	if (memcmp(b, mapped, 12) == 0 ||
	    (memcmp(b, compat, 12) == 0 && (b[12] | b[13] | b[14]) != 0) ||
	    (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	     memcmp(b + 4, compat, 8) == 0))
		return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
				 (uint32_t)b[14] << 8 | b[15]);
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_public((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
				 (uint32_t)b[4] << 8 | b[5]);
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)
		return false; /* 64:ff9b:1::/48, local-use NAT64 */
	static const uint8_t zero[15] = { 0 };
	if (memcmp(b, zero, 15) == 0)
		return false;	   /* :: and ::1 */
	if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
		return false;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
		return false;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 site-local */
		return false;
	if (b[0] == 0xff) /* multicast */
		return false;
	return true;
}

bool outbound_url_ok(const char *url, bool allow_private, char *why,
		     size_t size)
{
	if (strlen(url) > OUTBOUND_URL_MAX) {
		snprintf(why, size, "a URL is at most %d bytes",
			 OUTBOUND_URL_MAX);
		return false;
	}
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;
	bool ok = false;
	if (u == NULL) {
		snprintf(why, size, "out of memory");
		return false;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, size, "not an absolute URL");
		goto out;
	}
	if (strcasecmp(scheme, "https") != 0) {
		snprintf(why, size, "only https URLs are called");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(why, size, "a URL with user info is refused");
		goto out;
	}
	if (!allow_private) {
		char bare[300];
		size_t n = strlen(host);
		if (n >= sizeof(bare)) {
			/* cut, "….localhost" would not end so any more */
			snprintf(why, size, "a host name is at most %zu bytes",
				 sizeof(bare) - 1);
			goto out;
		}
		memcpy(bare, host, n + 1);
		if (n > 2 && bare[0] == '[' && bare[n - 1] == ']') {
			memmove(bare, bare + 1, n - 2);
			bare[n -= 2] = '\0';
		}
		/* "localhost." is localhost: the root's dot names no other
		 * host. */
		if (n > 1 && bare[n - 1] == '.')
			bare[--n] = '\0';
		struct sockaddr_in in4 = { .sin_family = AF_INET };
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
		bool literal4 = inet_pton(AF_INET, bare, &in4.sin_addr) == 1;
		bool literal6 = inet_pton(AF_INET6, bare, &in6.sin6_addr) == 1;
		if ((literal4 &&
		     !outbound_addr_public((struct sockaddr *)&in4)) ||
		    (literal6 &&
		     !outbound_addr_public((struct sockaddr *)&in6)) ||
		    strcasecmp(bare, "localhost") == 0 ||
		    (n > 10 && strcasecmp(bare + n - 10, ".localhost") == 0)) {
			snprintf(why, size,
				 "a loopback, private or link-local target "
				 "is refused");
			goto out;
		}
	}
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return ok;
}

struct guard {
	bool allow_private;
	bool refused; /* a resolved address was not public */
};

static curl_socket_t open_guarded(void *arg, curlsocktype purpose,
				  struct curl_sockaddr *addr)
{
	struct guard *g = arg;
	(void)purpose;
	if (!g->allow_private && !outbound_addr_public(&addr->addr)) {
		g->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC,
		      addr->protocol);
}

/* The reply's body is not kept. */
static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;
	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

bool outbound_smtp(const char *smarthost, const char *from, const char *rcpt,
		   const void *data, size_t len, struct outbound_reply *out)
{
	memset(out, 0, sizeof(*out));
	outbound_init();
	CURL *c = curl_easy_init();
	struct curl_slist *to = curl_slist_append(NULL, rcpt);
	char url[400], errbuf[CURL_ERROR_SIZE] = "";
	if (c == NULL || to == NULL) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		curl_slist_free_all(to);
		curl_easy_cleanup(c);
		return false;
	}
	snprintf(url, sizeof(url), "smtp://%s", smarthost);
	struct upload u = { data, len };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	outbound_common(c, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (rc != CURLE_OK)
		snprintf(out->error, sizeof(out->error),
			 "smarthost %.60s: %.120s", smarthost,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	return rc == CURLE_OK;
}

bool outbound_post(const char *url, bool allow_private,
		   const char *content_type, const char *const *headers,
		   const void *body, size_t len, struct outbound_reply *out)
{
	char why[200];
	memset(out, 0, sizeof(*out));
	if (!outbound_url_ok(url, allow_private, why, sizeof(why))) {
		snprintf(out->error, sizeof(out->error), "%s", why);
		return false;
	}
	outbound_init();
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL, *h2;
	char ct[200];
	snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
	if (c == NULL || (h = curl_slist_append(NULL, ct)) == NULL) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		curl_easy_cleanup(c);
		return false;
	}
	for (int i = 0; headers && headers[i]; i++) {
		if ((h2 = curl_slist_append(h, headers[i])) == NULL) {
			snprintf(out->error, sizeof(out->error),
				 "out of memory");
			curl_slist_free_all(h);
			curl_easy_cleanup(c);
			return false;
		}
		h = h2;
	}
	struct guard g = { allow_private, false };
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *ca = getenv("CURL_CA_BUNDLE");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	outbound_common(c, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cmr");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &g);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (g.refused)
		snprintf(out->error, sizeof(out->error),
			 "the target resolves to a loopback, private or "
			 "link-local address: refused");
	else if (rc != CURLE_OK)
		snprintf(out->error, sizeof(out->error), "%.190s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else if (out->status < 200 || out->status > 299)
		snprintf(out->error, sizeof(out->error),
			 "the target answered %ld", out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc == CURLE_OK && out->status >= 200 && out->status <= 299;
}
