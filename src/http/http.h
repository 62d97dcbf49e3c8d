/*
 * http.h — what the HTTP door's parts share: one request's state, the
 * route table's types, and the reply helpers.
 *
 * A request lives from its first byte to its reply. Once its headers are
 * in, the server finds the route, checks the body's announced size and
 * media type and authenticates the caller as the route's `who` column
 * demands; then it reads the body (at most r->body_max: HTTP_BODY_MAX,
 * or HTTP_ANON_BODY for routes anyone may call; more is a 413, at
 * once from Content-Length or after draining a chunked body) and calls
 * the handler.
 * A handler either replies at once (http_json, http_problem, …) or hands
 * a write to the store's writer with http_write(): the connection is
 * suspended, no thread waits for the commit, and when the writer is done
 * the connection resumes and the handler's `after` function replies.
 */
#ifndef CMR_HTTP_HTTP_H
#define CMR_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

#define HTTP_BODY_MAX	(1024 * 1024) /* 1 MiB: a caller with credentials */
#define HTTP_ANON_BODY	(8 * 1024)    /* routes that need no credentials */
#define HTTP_JSON_DEPTH 16	      /* deepest nesting a body may have */
#define HTTP_PARAMS_MAX 2	      /* {id} segments in a pattern */

struct http_server;
struct http_request;

/* Who may call a route. */
enum http_who {
	WHO_ANYONE,  /* no credentials needed (and none checked) */
	WHO_PERSON,  /* a person: session cookie or bearer token */
	WHO_BRAND,   /* a brand: bearer API key */
	WHO_ALIASES, /* a person by alias token only (Authentication: or
			Authorization: Bearer), never a cookie; answers
			CORS (the alias-creation routes of password
			managers) */
};

typedef void (*http_handler)(struct http_request *r);

/* One route of the table in router.c. */
struct http_route {
	const char *method;  /* "GET", "POST", … */
	const char *pattern; /* "/v1/me/proposals/{id}/accept" */
	enum http_who who;
	http_handler handler;
	const char *name; /* for metrics and the OpenAPI document */
};

struct http_request {
	struct http_server *server;
	struct app *app;
	void *conn; /* struct MHD_Connection * */
	const struct http_route *route;
	char method[8];
	char path[512];
	const char *params[HTTP_PARAMS_MAX]; /* {id} values, in path */
	char param_buf[HTTP_PARAMS_MAX][128];

	char *body; /* the request body, NUL-terminated */
	size_t body_len, body_cap;
	size_t body_max; /* HTTP_BODY_MAX, or HTTP_ANON_BODY (its route) */
	bool body_too_big;
	bool close;	     /* answered before its body: close after */
	char request_id[17]; /* 16 random hex digits: X-Request-Id */
	uint64_t started_ns; /* CLOCK_MONOTONIC at the headers (access log) */

	/* The authenticated caller (route->who decides which is set). */
	uint64_t person;
	uint64_t credential; /* the person's token or session row, or 0 */
	uint64_t brand;
	bool by_cookie;	 /* person authenticated by cookie */
	char client[64]; /* client address, for throttling: the peer's, or
			    the one a trusted proxy forwards */
	bool secure;	 /* over TLS, or https as a trusted proxy says */
	bool forwarded;	 /* client is from a trusted proxy's X-Forwarded-For */
	char forwarded_host[256]; /* a trusted proxy's X-Forwarded-Host, or
				     "": the public host[:port] of Origin */

	/* A write in flight (http_write). `deferred` is the handler's own
	 * flag (it went to the writer); `resumed` is set by the writer's
	 * completion, possibly before the handler has even returned. */
	bool deferred;
	bool resumed;
	bool counted;		    /* in the server's in-flight count */
	int write_status;	    /* the job's store status (server.c) */
	struct app_pending pending; /* the job, while the writer has it */
	void (*after)(struct http_request *r); /* replies after the write */
	void *job; /* the handler's job state (owned) */
	void (*job_free)(void *job);

	/* A use case's split write (http_app_write). */
	struct app_write appw;
	bool appw_set;
	int app_status; /* what appw.finish returned */
	struct app_error app_err;
	void (*app_after)(struct http_request *r);

	/* The reply. */
	unsigned status;
	char *reply; /* owned */
	size_t reply_len;
	const char *reply_type;
	char headers[8][320]; /* extra "Name: value" lines */
	int n_headers;
	bool replied;
	int problem_kind; /* enum http_problem_kind of http_problem_of */
};

/* ---- Replies (each sets the reply once; later calls are ignored) ---- */

/* status with a JSON value (stolen: the reply owns it). */
void http_json(struct http_request *r, unsigned status, json_t *value);

/* status with a text body (copied) of the given content type. */
void http_text(struct http_request *r, unsigned status, const char *type,
	       const char *text);

/* status with no body (204). */
void http_empty(struct http_request *r, unsigned status);

/* status with len bytes of data (copied) of media type `type`. */
void http_bytes(struct http_request *r, unsigned status, const char *type,
		const void *data, size_t len);

/* An RFC 9457 problem: status, a title from the status, a detail
 * sentence, and (when field is not NULL) errors: [{field, detail}]. */
void http_problem(struct http_request *r, unsigned status, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The kinds of problem. Each has a stable `type`, "/problems/<kind>",
 * that programs can match whatever the wording of title and detail
 * (src/http/openapi.json lists them with their meaning), and one status.
 * http_problem takes the first kind of its status (the row marked
 * "default" in reply.c); http_problem_of names the kind. */
enum http_problem_kind {
	PROBLEM_BY_STATUS, /* the status's default kind */
	PROBLEM_INVALID_BODY,
	PROBLEM_INVALID_QUERY,
	PROBLEM_INVALID_ID,
	PROBLEM_INVALID_HEADER,
	PROBLEM_UNAUTHENTICATED,
	PROBLEM_FORBIDDEN,
	PROBLEM_WRONG_PASSWORD,
	PROBLEM_NOT_FOUND,
	PROBLEM_METHOD_NOT_ALLOWED,
	PROBLEM_CONFLICT,
	PROBLEM_TOO_LARGE,
	PROBLEM_UNSUPPORTED_MEDIA_TYPE,
	PROBLEM_INVALID_VALUE,
	PROBLEM_THROTTLED,
	PROBLEM_UNAVAILABLE,
	PROBLEM_KIND_COUNT
};

/* The type URI of kind, or (PROBLEM_BY_STATUS) of status's default kind;
 * "about:blank" for a status without one. */
const char *http_problem_type(int kind, unsigned status);
/* The status of a kind (0 for PROBLEM_BY_STATUS or out of range). */
unsigned http_problem_status(int kind);

/* http_problem of a named kind, with its status. */
void http_problem_of(struct http_request *r, enum http_problem_kind kind,
		     const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Maps an app status and error to a reply (400/404/409/422/503), by the
 * one table of reply.c. */
void http_app_error(struct http_request *r, enum app_status status,
		    const struct app_error *err, int terms_kind);

/* Adds a response header ("Set-Cookie", …). */
void http_header(struct http_request *r, const char *name, const char *value);

/* ---- Reading the request ---- */

/* The body as a JSON object, parsed with duplicate keys refused and depth
 * limited. NULL after replying 400 (malformed, not an object, too deep,
 * invalid UTF-8). The caller owns the result. */
json_t *http_body_object(struct http_request *r);

/* Refuses (400, naming the key) any key of obj not in the NULL-terminated
 * list `allowed`. Returns false after replying. */
bool http_only_keys(struct http_request *r, const json_t *obj,
		    const char *const *allowed);

/* http_body_object, then http_only_keys: the body as a JSON object whose
 * keys are all in `allowed`, or NULL after replying 400. */
json_t *http_body_fields(struct http_request *r, const char *const *allowed);

/* A query parameter, or NULL. */
const char *http_query(struct http_request *r, const char *name);

/* Refuses (400, naming it) a query parameter not in the NULL-terminated
 * list `allowed`, or one given twice. Returns false after replying. */
bool http_query_only(struct http_request *r, const char *const *allowed);
/* A request header, or NULL. */
const char *http_header_in(struct http_request *r, const char *name);

/* ---- Writes without holding a thread ---- */

/* Queues the job fn(t, arg) on the writer and suspends the connection;
 * when the job is durable (or failed), r->app_status holds its outcome
 * (APP_OK, or what the job's store status means) and `after(r)` runs on
 * a server thread to reply. `arg` stays the
 * handler's. Returns false (after replying 503) when it cannot queue. */
bool http_write(struct http_request *r, app_job_fn fn, void *arg,
		void (*after)(struct http_request *r));

/* Hands a use case's write (from its *_begin) to the writer with the
 * connection suspended; when it is durable or failed, r->app_status and
 * r->app_err hold its outcome and after(r) replies. The request owns w's
 * job from here on. Returns false after replying 503. */
bool http_app_write(struct http_request *r, const struct app_write *w,
		    void (*after)(struct http_request *r));

/* Runs work(r) on one of the server's worker threads with the connection
 * suspended (for argon2id and other use cases that block), then after(r)
 * on a server thread to reply. Returns false after replying 503. */
bool http_offload(struct http_request *r, void (*work)(struct http_request *),
		  void (*after)(struct http_request *r));

/* ---- The route table (router.c) ---- */

extern const struct http_route http_routes[];
extern const size_t http_routes_count;

/* Finds the route for method and path; fills r->params. Returns the
 * route, or NULL with *method_ok telling whether the path exists under
 * another method (405) or not at all (404). */
const struct http_route *http_route_find(struct http_request *r,
					 bool *method_ok);

/* The route of r's path that answers CORS (its `who` is WHO_ALIASES), or
 * NULL: every other route answers no CORS at all. */
const struct http_route *http_route_cors(struct http_request *r);

/* The methods r's path allows, comma-separated ("GET, PUT"). */
void http_route_methods(struct http_request *r, char *out, size_t size);

#endif
