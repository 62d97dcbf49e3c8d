/*
 * outbound.h — the only way cmr reaches out over HTTP (webhooks, RFC 8058
 * one-click unsubscribe), with these rules: https only, no
 * redirects, no cookies, certificates verified, and never to a loopback,
 * private or link-local address — checked on the URL, and again on every
 * address the name resolves to, when the socket is opened (libcurl's
 * CURLOPT_OPENSOCKETFUNCTION) — unless --allow-private-targets (tests).
 * A CA bundle may be named by CURL_CA_BUNDLE, as for curl(1).
 */
#ifndef CMR_MAIL_OUTBOUND_H
#define CMR_MAIL_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define OUTBOUND_URL_MAX 2048

/* Once per process, before threads use it. */
void outbound_init(void);

/* Aborts every transfer in progress and refuses new ones from then on
 * (at shutdown: nothing waits out a slow peer's timeout). */
void outbound_cancel(void);

/* Whether an address may be reached: not unspecified, loopback, private
 * (RFC 1918, RFC 4193, CGNAT), link-local, multicast or reserved. */
bool outbound_addr_public(const struct sockaddr *sa);

/* Whether url is one cmr may call: https, a host, no user info, at most
 * OUTBOUND_URL_MAX bytes, and (unless allow_private) not a literal private
 * address nor "localhost". False with a sentence in why. */
bool outbound_url_ok(const char *url, bool allow_private, char *why,
		     size_t size);

struct outbound_reply {
	long status;	 /* the HTTP status; 0 when none came */
	char error[200]; /* when status is not 2xx: what went wrong */
};

/* POSTs body (of content_type) to url with the extra header lines
 * (NULL-terminated, may be NULL). Returns true for a 2xx reply. */
bool outbound_post(const char *url, bool allow_private,
		   const char *content_type, const char *const *headers,
		   const void *body, size_t len, struct outbound_reply *out);

/* Hands a message to the smarthost (HOST:PORT, the operator's own MTA,
 * so any address) over SMTP: MAIL FROM:<from>, RCPT TO:<rcpt>, the data
 * as given (CRLF line ends; dot-stuffing is libcurl's). True when the
 * smarthost took it. */
bool outbound_smtp(const char *smarthost, const char *from, const char *rcpt,
		   const void *data, size_t len, struct outbound_reply *out);

#endif
