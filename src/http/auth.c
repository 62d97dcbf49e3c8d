/*
 * auth.c — authenticating requests (see auth.h). Brand API keys and
 * person tokens come as `Authorization: Bearer …`; browser sessions only
 * as a cookie. Any credential is first checked for what it is; then its
 * role is compared with the route's.
 */
#include "http/auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "app/brand.h"
#include "app/session.h"
#include "http/api.h"

const char *auth_cookie_name(const struct http_request *r)
{
	return r->secure ? AUTH_COOKIE_SECURE : AUTH_COOKIE;
}

const char *auth_cookie(struct http_request *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
					   auth_cookie_name(r));
}

void auth_cookie_header(const struct http_request *r, const char *credential,
			int max_age, char *out, size_t size)
{
	snprintf(out, size,
		 "%s=%s; Path=/; HttpOnly; SameSite=Strict%s; "
		 "Max-Age=%d",
		 auth_cookie_name(r), credential ? credential : "",
		 r->secure ? "; Secure" : "", max_age);
}

static bool auth_unauthorized(struct http_request *r, const char *why)
{
	http_header(r, "WWW-Authenticate", "Bearer realm=\"cmr\"");
	http_problem(r, 401, NULL, "%s", why);
	return false;
}

static bool auth_forbidden(struct http_request *r, const char *why)
{
	http_problem(r, 403, NULL, "%s", why);
	return false;
}

/* A credential the store could not check (it cannot be read just now):
 * ours to fix, never the caller's mistake. */
static bool auth_unavailable(struct http_request *r)
{
	http_header(r, "Retry-After", "5");
	http_problem(r, 503, NULL, "the store cannot be read; try again");
	return false;
}

static bool auth_is_write(const struct http_request *r)
{
	return strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
}

/* The length of host[:port] without the scheme's default port (":443"
 * for https, ":80" for http), which an Origin never names but a Host may. */
static size_t auth_host_len(const char *host, bool https)
{
	size_t n = strlen(host);
	const char *dflt = https ? ":443" : ":80";
	size_t d = strlen(dflt);
	if (n > d && strcmp(host + n - d, dflt) == 0)
		return n - d;
	return n;
}

/* A write that carries an Origin (a browser's) must come from this
 * server's own public origin (RFC 6454): the scheme the client used
 * (https over TLS, or as a trusted proxy forwards it) and its host and
 * port — the request's Host, or a trusted proxy's X-Forwarded-Host. */
static bool auth_same_origin(struct http_request *r)
{
	const char *origin = http_header_in(r, "Origin");
	const char *host = r->forwarded_host[0] ? r->forwarded_host
						: http_header_in(r, "Host");
	if (origin) {
		const char *scheme = r->secure ? "https://" : "http://";
		size_t sn = strlen(scheme);
		const char *o = strncasecmp(origin, scheme, sn) == 0
					? origin + sn
					: NULL;
		size_t on = o ? auth_host_len(o, r->secure) : 0;
		if (o == NULL || host == NULL ||
		    on != auth_host_len(host, r->secure) ||
		    strncasecmp(o, host, on) != 0)
			return auth_forbidden(r, "the request comes from "
						 "another origin");
	}
	return true;
}

/* A cookie-authenticated write must carry X-CMR-CSRF: 1 and, when the
 * browser sends an Origin, come from this server's own origin. */
static bool auth_csrf(struct http_request *r)
{
	if (!auth_is_write(r))
		return true;
	const char *h = http_header_in(r, "X-CMR-CSRF");
	if (h == NULL || strcmp(h, "1") != 0)
		return auth_forbidden(r, "a write from a browser session "
					 "needs the header X-CMR-CSRF: 1");
	return auth_same_origin(r);
}

/* The alias-creation routes: an alias token in SimpleLogin's
 * `Authentication: <token>` or addy.io's `Authorization: Bearer <token>`,
 * nothing else. No cookie is read (a browser extension calls from its
 * own origin, and a page of another origin must not ride on a session),
 * so no Origin is checked either. Refusals in the route's own shape. */
static bool auth_aliases(struct http_request *r)
{
	const char *cred = http_header_in(r, "Authentication");
	const char *authz = http_header_in(r, "Authorization");
	if (cred == NULL && authz && strncasecmp(authz, "Bearer ", 7) == 0)
		cred = authz + 7;
	while (cred && *cred == ' ')
		cred++;
	if (cred == NULL || *cred == '\0') {
		api_alias_refuse(r, 401,
				 "an alias token is needed: make one on the "
				 "Account page of cmr");
		return false;
	}
	uint64_t id;
	enum session_scope scope;
	if (!session_looks_like(cred, SESSION_TOKEN) ||
	    session_check(r->app, cred, SESSION_TOKEN, &id, &r->credential,
			  &scope) != APP_OK) {
		api_alias_refuse(r, 401,
				 "the token is not valid (revoked?); make a "
				 "new alias token on the Account page of cmr");
		return false;
	}
	if (scope != SESSION_SCOPE_ALIASES) {
		api_alias_refuse(r, 403,
				 "only an alias token makes aliases here; "
				 "make one on the Account page of cmr");
		return false;
	}
	r->person = id;
	return true;
}

bool auth_check(struct http_request *r)
{
	enum http_who who = r->route->who;
	if (who == WHO_ANYONE) /* log-in CSRF: a foreign page's form */
		return !auth_is_write(r) || auth_same_origin(r);
	if (who == WHO_ALIASES)
		return auth_aliases(r);

	const char *authz = http_header_in(r, "Authorization");
	if (authz) {
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return auth_unauthorized(r, "use Authorization: "
						    "Bearer <key or token>");
		const char *cred = authz + 7;
		while (*cred == ' ')
			cred++;
		uint64_t id;
		if (strncmp(cred, "cmrk_", 5) == 0) {
			enum app_status st =
				brand_authenticate(r->app, cred, &id);
			if (st == APP_FAULT)
				return auth_unavailable(r);
			if (st != APP_OK)
				return auth_unauthorized(
					r, "the API key is not valid");
			if (who != WHO_BRAND)
				return auth_forbidden(
					r, "this resource is a person's, not "
					   "a brand's");
			r->brand = id;
			return true;
		}
		if (session_looks_like(cred, SESSION_TOKEN)) {
			enum session_scope scope;
			enum app_status st =
				session_check(r->app, cred, SESSION_TOKEN, &id,
					      &r->credential, &scope);
			if (st == APP_FAULT)
				return auth_unavailable(r);
			if (st != APP_OK)
				return auth_unauthorized(
					r, "the token is not valid (expired "
					   "or revoked?)");
			if (scope == SESSION_SCOPE_ALIASES)
				return auth_forbidden(
					r, "this is an alias token: it is good "
					   "only for making aliases from a "
					   "password manager (POST "
					   "/api/alias/random/new, POST "
					   "/api/v1/aliases)");
			if (who != WHO_PERSON)
				return auth_forbidden(
					r, "this resource is a brand's, not a "
					   "person's");
			r->person = id;
			return true;
		}
		return auth_unauthorized(r, "the credential is not valid");
	}
	const char *cookie = auth_cookie(r);
	if (cookie) {
		uint64_t id;
		enum app_status st =
			session_check(r->app, cookie, SESSION_COOKIE, &id,
				      &r->credential, NULL);
		if (st == APP_FAULT)
			return auth_unavailable(r);
		if (st != APP_OK)
			return auth_unauthorized(r, "the session has ended; "
						    "log in again");
		if (who != WHO_PERSON)
			return auth_forbidden(r, "this resource is a brand's, "
						 "not a person's");
		if (!auth_csrf(r))
			return false;
		r->person = id;
		r->by_cookie = true;
		return true;
	}
	return auth_unauthorized(r, who == WHO_BRAND
					    ? "a brand API key is needed"
					    : "log in first (a session or a "
					      "token)");
}
