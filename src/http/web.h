/*
 * web.h — the person's web app (src/web/), embedded into the binary at
 * build by scripts/embed-web and served by web.c: GET / is the app's page,
 * GET /web/NAME its styles, scripts and images.
 */
#ifndef CMR_HTTP_WEB_H
#define CMR_HTTP_WEB_H

#include <stddef.h>

struct http_request;

/* One embedded file: its bytes, the same gzipped, its media type and a
 * strong ETag (a hash of its bytes). */
struct web_asset {
	const char *name; /* "app.js": its name under /web/ */
	const char *type; /* "text/javascript; charset=utf-8" */
	const unsigned char *data;
	size_t len;
	const unsigned char *gz;
	size_t gz_len;
	const char *etag; /* "\"0123456789abcdef\"" */
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

/* The embedded file named name, or NULL. */
const struct web_asset *web_find(const char *name);

/* GET / — the app's page (index.html). */
void web_index(struct http_request *r);

/* GET /web/{name} — one of its files; 404 for a name not embedded. */
void web_file(struct http_request *r);

#endif
