/*
 * web.c — serves the person's web app. Each file is sent as it was
 * embedded (web.h), gzipped when the client takes gzip, with its ETag:
 * a request whose If-None-Match names it gets 304 and no body. Every
 * page and file carries the app's Content-Security-Policy: nothing but
 * this origin's own scripts, styles, images and frames, no inline
 * script, no plug-in, and no framing by anyone (the message frame of
 * GET /v1/me/messages/{id}/html has a policy of its own).
 */
#include "http/web.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

/* No request leaves the origin: connect-src, img-src and frame-src are
 * 'self' (img also data:, for the connect code's QR image). */
#define WEB_CSP                                                                \
	"default-src 'self'; img-src 'self' data:; object-src 'none'; "        \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const struct web_asset *web_find(const char *name)
{
	for (size_t i = 0; i < web_assets_count; i++)
		if (strcmp(web_assets[i].name, name) == 0)
			return &web_assets[i];
	return NULL;
}

/* Whether the Accept-Encoding header value takes gzip: a "gzip" (or
 * "*") token whose q is not 0 (RFC 9110, 12.5.3). */
static bool web_takes_gzip(const char *accept)
{
	if (accept == NULL)
		return false;
	const char *p = accept;
	while (*p) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ";, \t");
		bool gzip = (n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
			    (n == 1 && *p == '*');
		const char *end = p + strcspn(p, ",");
		const char *q = strstr(p, "q=");
		bool zero = q && q < end && strtod(q + 2, NULL) == 0.0;
		if (gzip && !zero)
			return true;
		p = end;
	}
	return false;
}

/* Whether If-None-Match names etag (or is "*"). */
static bool web_not_modified(const char *inm, const char *etag)
{
	if (inm == NULL)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	const char *p = strstr(inm, etag);
	return p != NULL;
}

static void web_send(struct http_request *r, const struct web_asset *a)
{
	http_header(r, "Content-Security-Policy", WEB_CSP);
	http_header(r, "X-Frame-Options", "DENY");
	http_header(r, "ETag", a->etag);
	http_header(r, "Cache-Control", "no-cache");
	http_header(r, "Vary", "Accept-Encoding");
	if (web_not_modified(http_header_in(r, "If-None-Match"), a->etag)) {
		http_empty(r, 304);
		return;
	}
	if (web_takes_gzip(http_header_in(r, "Accept-Encoding"))) {
		http_header(r, "Content-Encoding", "gzip");
		http_bytes(r, 200, a->type, a->gz, a->gz_len);
	} else
		http_bytes(r, 200, a->type, a->data, a->len);
}

void web_index(struct http_request *r)
{
	web_send(r, web_find("index.html"));
}

void web_file(struct http_request *r)
{
	const struct web_asset *a = web_find(r->params[0]);
	if (a == NULL || strcmp(a->name, "index.html") == 0) {
		http_problem(r, 404, NULL, "no such resource");
		return;
	}
	web_send(r, a);
}
