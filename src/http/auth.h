/*
 * auth.h — who is calling. 401 = no or bad
 * credentials; 403 = good credentials of the wrong role, or a cookie
 * write without the CSRF header or from another origin.
 */
#ifndef CMR_HTTP_AUTH_H
#define CMR_HTTP_AUTH_H

#include <stdbool.h>

#include "http/http.h"

#define AUTH_COOKIE "cmr_session" /* "__Host-" prefixed over TLS */

/* Authenticates r as its route demands, setting r->person or r->brand.
 * Returns false after replying 401 or 403. */
bool auth_check(struct http_request *r);

/* The session cookie's value in the request, or NULL. */
const char *auth_cookie(struct http_request *r);

#endif
