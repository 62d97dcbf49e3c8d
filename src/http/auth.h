/*
 * auth.h — who is calling. 401 = no or bad
 * credentials; 403 = good credentials of the wrong role, or a cookie
 * write without the CSRF header or from another origin.
 */
#ifndef CMR_HTTP_AUTH_H
#define CMR_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

#define AUTH_COOKIE "cmr_session" /* over plain HTTP */
/* Over https (cmr's own TLS, or a trusted proxy's): RFC 6265bis's prefix,
 * which browsers take only with Secure, Path=/ and no Domain. */
#define AUTH_COOKIE_SECURE "__Host-" AUTH_COOKIE

/* Authenticates r as its route demands, setting r->person or r->brand.
 * Returns false after replying 401 or 403. */
bool auth_check(struct http_request *r);

/* The session cookie's value in the request, or NULL: the cookie of
 * auth_cookie_name(r), never the other. */
const char *auth_cookie(struct http_request *r);

/* The session cookie's name for r: AUTH_COOKIE_SECURE when r came over
 * https (r->secure), AUTH_COOKIE otherwise. */
const char *auth_cookie_name(const struct http_request *r);

/* Set-Cookie's value for the session credential (NULL: one that clears
 * it) with max_age seconds to live, for r's scheme, in out. */
void auth_cookie_header(const struct http_request *r, const char *credential,
			int max_age, char *out, size_t size);

#endif
