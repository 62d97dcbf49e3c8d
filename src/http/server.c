/*
 * server.c — the HTTP listener on libmicrohttpd (see server.h, http.h).
 *
 * One struct http_request per request, made at its first callback (when
 * the headers are in) and freed when libmicrohttpd reports it completed.
 * At that first callback, before any byte of the body is read, the
 * request's framing is checked (one Content-Length), its route found, its
 * body's size and media type checked and its caller authenticated, so a
 * stranger's body is never buffered beyond the small limit of the routes
 * that need no credentials; a refusal is answered at once and the
 * connection closed. The body is then gathered in the upload callbacks
 * up to the route's limit and the handler called. A handler that writes
 * suspends the connection (http_write); the writer thread resumes it when
 * the job is durable, and the next callback runs the handler's `after`.
 *
 * Slow clients: libmicrohttpd's connection timeout only measures idleness,
 * so a client trickling a header line every few seconds would hold its
 * connection for ever. Each connection therefore carries a deadline for
 * its request's headers (--header-timeout), set when it opens and again
 * when a request completes, cleared when the headers are in; a reaper
 * thread shuts the socket of a connection past its deadline down, which
 * libmicrohttpd sees as the peer leaving. Connections per client address
 * are limited (--max-conns-per-ip).
 *
 * Behind a reverse proxy (--trusted-proxy), a connection from one of its
 * addresses names its client in X-Forwarded-For, and whether the public
 * side was https in X-Forwarded-Proto (http_client); those headers from
 * any other peer are ignored. The proxy's own connections are not capped
 * as one client's: libmicrohttpd's per-address limit is then replaced by
 * a count of our own that exempts the proxies (http_conn_notify), and a
 * forwarded client may have at most --max-conns-per-ip requests in
 * progress at once (http_conn_forwarded) — a proxy opens a connection per
 * request, or reuses its connections for any client, so requests are what
 * can be counted per client there.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <malloc.h>
#include <microhttpd.h>
#include <sodium.h>
#include <strings.h>

#include "app/metrics.h"
#include "base/log.h"
#include "base/net.h"
#include "http/api.h"
#include "http/auth.h"
#include "http/http.h"

#define HTTP_WORKERS 4

/* Work that may block (argon2id, reads and writes of the slower use
 * cases) runs on a few worker threads with the connection suspended, so
 * the event threads keep serving. */
struct http_work {
	struct http_request *r;
	void (*work)(struct http_request *r);
	struct http_work *next;
};

/* One connection's header deadline (the connection's socket context):
 * in the server's list from libmicrohttpd's "started" notice to its
 * "closed" one, which comes before the socket is closed — so, under
 * conns_lock, fd is this connection's own socket. */
struct http_conn {
	struct http_conn *prev, *next;
	int fd;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 while a request runs */
	bool in_body;	      /* its request's body is being read */
	uint64_t gone_ns;     /* when the reaper saw its peer leave mid-body */
	struct in6_addr peer; /* its peer's address (IPv4 mapped) */
	bool capped;	      /* peer counts towards --max-conns-per-ip */
	bool forwarded; /* its request in progress is a forwarded client's */
	struct in6_addr client; /* that client (X-Forwarded-For's) */
};

/* Where a connection's request is, for the reaper. */
enum http_conn_state {
	HTTP_CONN_HEADERS, /* waiting for a request's headers: a deadline */
	HTTP_CONN_BODY,	   /* reading its body: cut if the peer has gone */
	HTTP_CONN_BUSY,	   /* handled, or waiting for the writer */
};

struct http_server {
	struct app *app;
	struct MHD_Daemon *daemon;
	uint64_t header_ns; /* --header-timeout */
	bool access_log;    /* --access-log */
	bool tls;	    /* serving HTTPS (--tls-cert) */
	bool own_ip_limit;  /* --trusted-proxy: per-address limit is ours */
	pthread_mutex_t conns_lock;
	pthread_cond_t reaper_wake; /* stopping (under conns_lock) */
	struct http_conn *conns;    /* open connections (under conns_lock) */
	bool reaper_stop;
	pthread_t reaper;
	bool reaper_started;
	pthread_mutex_t log_lock; /* the three below (http_log) */
	uint64_t log_second;
	unsigned log_count, log_dropped;
	pthread_t workers[HTTP_WORKERS];
	int n_workers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct http_work *head, *tail;
	bool stopping;
	atomic_int in_flight; /* requests waiting for the writer or a worker */
	bool closing;	      /* under lock: no new request may wait */
};

static uint64_t http_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int http_listen(const struct listen_addr *addr, int *fd, int *port, char *err,
		size_t errlen)
{
	return net_listen(addr->host, addr->port, addr->text, 512, fd, port,
			  err, errlen);
}

static enum MHD_Result http_send(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	if (!r->replied)
		http_problem(r, 503, NULL, "no reply was made; try again");
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		r->reply_len, r->reply ? r->reply : (void *)(uintptr_t) "",
		MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (r->reply_type)
		MHD_add_response_header(resp, "Content-Type", r->reply_type);
	bool cached = false; /* a handler's own Cache-Control */
	for (int i = 0; i < r->n_headers; i++)
		cached |= strncasecmp(r->headers[i], "Cache-Control:", 14) == 0;
	if (!cached)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	for (int i = 0; i < r->n_headers; i++) {
		char *colon = strchr(r->headers[i], ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		MHD_add_response_header(resp, r->headers[i], colon + 2);
		*colon = ':';
	}
	if (r->route && r->route->who == WHO_ALIASES) /* no credentials */
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
					"*");
	if (r->request_id[0])
		MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (r->close)
		MHD_add_response_header(resp, "Connection", "close");
	enum MHD_Result rc = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	metrics_request(r->route ? (int)(r->route - http_routes) : -1,
			r->status);
	return rc;
}

/* Counts the Content-Length fields of a request and whether their values
 * differ (an MHD_KeyValueIterator). */
struct http_lengths {
	int n;
	bool differ;
	const char *first;
};

static enum MHD_Result http_count_length(void *cls, enum MHD_ValueKind kind,
					 const char *key, const char *value)
{
	struct http_lengths *l = cls;
	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
		return MHD_YES;
	if (l->n++ == 0)
		l->first = value;
	else if (value == NULL || l->first == NULL ||
		 strcmp(value, l->first) != 0)
		l->differ = true;
	return MHD_YES;
}

/* Whether a Content-Type is JSON's, or JSON Merge Patch's (RFC 7396),
 * with or without parameters ("application/json; charset=utf-8"). */
static bool http_json_type(const char *type)
{
	if (type == NULL)
		return false;
	size_t n = strcspn(type, ";");
	while (n && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	static const char *const types[] = { "application/json",
					     "application/merge-patch+json" };
	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
		if (n == strlen(types[i]) &&
		    strncasecmp(type, types[i], n) == 0)
			return true;
	return false;
}

/* What is checked once the headers are in, before the body is read: the
 * framing (RFC 9112 §6.3: conflicting Content-Length fields, or one
 * beside Transfer-Encoding, are refused — a proxy in front might frame
 * the body by another), the route, the body's size and media type, and
 * the caller. False after replying; the connection closes after that
 * reply when a body was announced, since it is not read. */
static bool http_headers_ok(struct http_request *r, struct MHD_Connection *c)
{
	struct http_lengths l = { 0, false, NULL };
	MHD_get_connection_values(c, MHD_HEADER_KIND, http_count_length, &l);
	const char *te = MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long length = 0;
	r->close = l.n > 0 || te != NULL; /* until the length is known */
	if (l.differ || (l.n > 0 && te)) {
		http_problem(r, 400, NULL,
			     l.differ ? "the request has Content-Length "
					"fields that differ"
				      : "the request has both Content-Length "
					"and Transfer-Encoding");
		return false;
	}
	if (l.n > 0) {
		char *end;
		errno = 0;
		length = strtoull(l.first, &end, 10);
		if (errno || *end || end == l.first) {
			http_problem(r, 400, NULL,
				     "Content-Length is not a number");
			return false;
		}
	}
	bool body = length > 0 || te != NULL;
	r->close = body;
	if (strcmp(r->method, "OPTIONS") == 0 &&
	    (r->route = http_route_cors(r)) != NULL) {
		/* A browser extension's preflight (Fetch, CORS): the alias
		 * routes take a token in a header and never a cookie, so any
		 * origin may call them, and credentials are never allowed. */
		http_header(r, "Access-Control-Allow-Methods", "POST");
		http_header(r, "Access-Control-Allow-Headers",
			    "Authentication, Authorization, Content-Type, "
			    "X-Requested-With");
		http_header(r, "Access-Control-Max-Age", "86400");
		http_empty(r, 204);
		return false;
	}
	bool method_ok = false;
	r->route = http_route_find(r, &method_ok);
	if (r->route == NULL) {
		if (method_ok) {
			char allow[64] = "";
			http_route_methods(r, allow, sizeof(allow));
			http_header(r, "Allow", allow);
			http_problem(r, 405, NULL,
				     "%s is not allowed on %s (only %s)",
				     r->method, r->path, allow);
		} else
			http_problem(r, 404, NULL, "no such resource");
		return false;
	}
	r->body_max =
		r->route->who == WHO_ANYONE || r->route->who == WHO_ALIASES
			? HTTP_ANON_BODY
			: HTTP_BODY_MAX;
	if (length > r->body_max) {
		r->body_too_big = true;
		http_problem(r, 413, NULL, "the body is larger than %zu bytes",
			     r->body_max);
		return false;
	}
	bool write =
		strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
	if (body && write &&
	    !http_json_type(MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		http_problem(r, 415, NULL,
			     "the body must be JSON: Content-Type: "
			     "application/json");
		return false;
	}
	if (!auth_check(r) || !api_query_check(r)) /* it replied 4xx */
		return false;
	r->close = false;
	return true;
}

/* The text of an address in IPv6 form (an IPv4-mapped one as IPv4). */
static void http_addr_text(const struct in6_addr *a, char *out, size_t size)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)size);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)size);
}

/* A socket address as IPv6 (IPv4 mapped). False for other families. */
static bool http_sockaddr(const struct sockaddr *sa, struct in6_addr *out)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return true;
	}
	if (sa->sa_family != AF_INET)
		return false;
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr,
	       4);
	return true;
}

/* The fields of one header, in order (RFC 9110 §5.3: as one field with
 * their values listed, comma-separated); an MHD_KeyValueIterator. Only
 * the last HTTP_FIELDS_MAX are kept: the rightmost elements are the ones
 * a proxy wrote. The values are libmicrohttpd's, valid for the request. */
#define HTTP_FIELDS_MAX 8

struct http_fields {
	const char *name;
	const char *value[HTTP_FIELDS_MAX];
	int n;
};

static enum MHD_Result http_field(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	struct http_fields *f = cls;
	(void)kind;
	if (value == NULL || strcasecmp(key, f->name) != 0)
		return MHD_YES;
	if (f->n == HTTP_FIELDS_MAX) {
		memmove(f->value, f->value + 1,
			sizeof(f->value[0]) * (HTTP_FIELDS_MAX - 1));
		f->n--;
	}
	f->value[f->n++] = value;
	return MHD_YES;
}

/* Walks the elements of a header's fields from the rightmost one left:
 * *field and *end say where the walk is (start with field = -1; -2 once
 * it is over). Copies
 * the next element, trimmed, into out; false when none is left or it
 * does not fit (or is empty). */
static bool http_element_left(const struct http_fields *f, int *field,
			      size_t *end, char *out, size_t size)
{
	if (*field == -2)
		return false;
	if (*field < 0) {
		if (f->n == 0)
			return false;
		*field = f->n - 1;
		*end = strlen(f->value[*field]);
	}
	const char *v = f->value[*field];
	size_t start = *end;
	while (start > 0 && v[start - 1] != ',')
		start--;
	const char *p = v + start;
	size_t n = *end - start;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (start > 0) {
		*end = start - 1; /* before the comma */
	} else if (*field > 0) {
		(*field)--;
		*end = strlen(f->value[*field]);
	} else {
		*end = 0;
		*field = -2; /* the walk is over */
	}
	if (n == 0 || n >= size)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* A header's rightmost element (of its last field) in out, or false. */
static bool http_last_element(struct MHD_Connection *c, const char *name,
			      char *out, size_t size)
{
	struct http_fields f = { .name = name };
	MHD_get_connection_values(c, MHD_HEADER_KIND, http_field, &f);
	int field = -1;
	size_t end = 0;
	return http_element_left(&f, &field, &end, out, size);
}

/* Who the client is, when the peer is a trusted proxy: X-Forwarded-For's
 * rightmost address that is not itself a trusted proxy (the ones to its
 * left are the client's own word), whether the public side is https
 * (X-Forwarded-Proto's last value), and the public host
 * (X-Forwarded-Host's last value). An element that is no address ends the
 * walk at the addresses read so far (the peer's, if none). */
static void http_client(struct http_request *r, struct MHD_Connection *c)
{
	const struct config *cfg = &r->app->cfg;
	r->secure = r->server->tls;
	if (cfg->trusted_proxy.n == 0 ||
	    !config_addrs_has(&cfg->trusted_proxy, r->client))
		return;
	struct http_fields xff = { .name = "X-Forwarded-For" };
	MHD_get_connection_values(c, MHD_HEADER_KIND, http_field, &xff);
	int field = -1;
	size_t end = 0;
	char one[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;
	while (http_element_left(&xff, &field, &end, one, sizeof(one)) &&
	       config_addr_parse(one, a.s6_addr)) {
		http_addr_text(&a, r->client, sizeof(r->client));
		r->forwarded = true;
		if (!config_addrs_has(&cfg->trusted_proxy, one))
			break;
	}
	char proto[16];
	if (http_last_element(c, "X-Forwarded-Proto", proto, sizeof(proto)))
		r->secure = strcasecmp(proto, "https") == 0;
	if (!http_last_element(c, "X-Forwarded-Host", r->forwarded_host,
			       sizeof(r->forwarded_host)))
		r->forwarded_host[0] = '\0';
}

/* At most --max-conns-per-ip requests of one forwarded client in progress
 * at once (under conns_lock, on the connections' list). False when this
 * one is over. */
static bool http_conn_forwarded(struct http_server *s, struct http_request *r,
				struct MHD_Connection *c)
{
	struct in6_addr a;
	if (!r->forwarded || !config_addr_parse(r->client, a.s6_addr))
		return true;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci ? ci->socket_context : NULL;
	if (hc == NULL)
		return true;
	unsigned n = 0;
	pthread_mutex_lock(&s->conns_lock);
	for (struct http_conn *o = s->conns; o; o = o->next)
		n += o != hc && o->forwarded &&
		     memcmp(&o->client, &a, sizeof(a)) == 0;
	bool ok = n < s->app->cfg.max_conns_per_ip;
	if (ok) {
		hc->forwarded = true;
		hc->client = a;
	}
	pthread_mutex_unlock(&s->conns_lock);
	return ok;
}

/* Notes where the connection's request is: its headers are in (no
 * deadline; reading a body or not), or it is done (the next request's
 * headers have header_ns from now). */
static void http_conn_state(struct http_server *s, struct MHD_Connection *c,
			    enum http_conn_state state)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci ? ci->socket_context : NULL;
	if (hc == NULL)
		return;
	pthread_mutex_lock(&s->conns_lock);
	hc->deadline_ns =
		state == HTTP_CONN_HEADERS ? http_now_ns() + s->header_ns : 0;
	hc->in_body = state == HTTP_CONN_BODY;
	hc->gone_ns = 0;
	if (state == HTTP_CONN_HEADERS)
		hc->forwarded = false; /* its request is done */
	pthread_mutex_unlock(&s->conns_lock);
}

static void http_dispatch(struct http_request *r)
{
	/* A read's several queries share one read transaction. */
	bool session = strcmp(r->route->method, "GET") == 0;
	if (session)
		app_read_begin(r->app);
	r->route->handler(r);
	if (session)
		app_read_end(r->app);
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c,
				   const char *url, const char *method,
				   const char *version, const char *upload,
				   size_t *upload_size, void **state)
{
	struct http_server *s = cls;
	struct http_request *r = *state;
	(void)version;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->server = s;
		r->app = s->app;
		r->conn = c;
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->path, sizeof(r->path), "%s", url);
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		struct in6_addr peer;
		if (ci && http_sockaddr(ci->client_addr, &peer))
			http_addr_text(&peer, r->client, sizeof(r->client));
		http_client(r, c);
		*state = r;
		r->started_ns = http_now_ns();
		unsigned char rid[8];
		randombytes_buf(rid, sizeof(rid));
		sodium_bin2hex(r->request_id, sizeof(r->request_id), rid,
			       sizeof(rid));
		if (!http_conn_forwarded(s, r, c)) {
			http_header(r, "Retry-After", "1");
			http_problem(r, 429, NULL,
				     "too many requests at once from one "
				     "address (at most %u)",
				     s->app->cfg.max_conns_per_ip);
			r->close = true;
			http_conn_state(s, c, HTTP_CONN_BUSY);
			return http_send(r);
		}
		if (!http_headers_ok(r, c)) {
			http_conn_state(s, c, HTTP_CONN_BUSY);
			return http_send(r); /* the body is never read */
		}
		http_conn_state(s, c, HTTP_CONN_BODY);
		return MHD_YES;
	}
	if (r->deferred) {
		if (!__atomic_load_n(&r->resumed, __ATOMIC_ACQUIRE))
			return MHD_YES; /* not ours to answer yet */
		r->deferred = r->resumed = false;
		r->after(r);
		if (r->deferred)
			return MHD_YES; /* it went on to another step */
		return http_send(r);
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->body_too_big || r->replied)
			return MHD_YES; /* drain */
		if (r->body_len + n > r->body_max) {
			r->body_too_big = true;
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_cap = 0;
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			char *b = realloc(r->body, cap);
			if (b == NULL)
				return MHD_NO;
			r->body = b;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	http_conn_state(s, c, HTTP_CONN_BUSY); /* the body is in */
	if (r->replied) /* answered from the headers already */
		return http_send(r);
	if (r->body_too_big) {
		http_problem(r, 413, NULL, "the body is larger than %zu bytes",
			     r->body_max);
		return http_send(r);
	}
	http_dispatch(r);
	if (r->deferred)
		return MHD_YES; /* the writer resumes us */
	return http_send(r);
}

/* The access log's line: the route's pattern, never the path (ids) or
 * the query; nothing of the caller but the request id. */
static void http_access_log(const struct http_request *r)
{
	uint64_t us = (http_now_ns() - r->started_ns) / 1000;
	log_info("http: %s %s %u %llu.%03llu ms id=%s", r->method,
		 r->route ? r->route->pattern : "-", r->status,
		 (unsigned long long)(us / 1000),
		 (unsigned long long)(us % 1000), r->request_id);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **state,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_request *r = *state;
	(void)toe;
	if (r == NULL)
		return;
	http_conn_state(s, c, HTTP_CONN_HEADERS);
	if (s->access_log && r->replied)
		http_access_log(r);
	if (r->counted)
		atomic_fetch_sub(&r->server->in_flight, 1);
	if (r->job_free)
		r->job_free(r->job);
	if (r->appw_set)
		r->appw.release(r->appw.job);
	free(r->body);
	free(r->reply);
	free(r);
	*state = NULL;
}

/* A request that waits for the writer or a worker is counted until it
 * completes, so that a shutdown can let it finish first. */
static bool http_count(struct http_request *r)
{
	struct http_server *s = r->server;
	bool ok = true;
	pthread_mutex_lock(&s->lock);
	if (!r->counted) {
		/* Once the server is closing no new request may wait: it
		 * would be a suspended connection the stop cannot wait for. A
		 * request already counted finishes its steps. */
		if (s->closing) {
			ok = false;
		} else {
			r->counted = true;
			atomic_fetch_add(&s->in_flight, 1);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* Wakes a suspended request: its `after` runs on a server thread. */
static void http_resume(struct http_request *r)
{
	__atomic_store_n(&r->resumed, true, __ATOMIC_RELEASE);
	MHD_resume_connection(r->conn);
}

/* The writer's completion: runs on the writer thread. */
static void http_write_done(void *arg, int status)
{
	struct http_request *r = arg;
	r->write_status = status;
	r->app_status = app_from_store(status);
	http_resume(r);
}

static void http_app_after(struct http_request *r)
{
	r->app_status =
		r->appw.finish(r->appw.job, r->write_status, &r->app_err);
	r->app_after(r);
}

static bool http_write_ex(struct http_request *r, app_job_fn fn, void *arg,
			  void (*after)(struct http_request *r), bool alone);

bool http_app_write(struct http_request *r, const struct app_write *w,
		    void (*after)(struct http_request *r))
{
	r->appw = *w;
	r->appw_set = true;
	r->app_after = after;
	return http_write_ex(r, w->run, w->job, http_app_after, w->alone);
}

bool http_write(struct http_request *r, app_job_fn fn, void *arg,
		void (*after)(struct http_request *r))
{
	return http_write_ex(r, fn, arg, after, false);
}

static bool http_write_ex(struct http_request *r, app_job_fn fn, void *arg,
			  void (*after)(struct http_request *r), bool alone)
{
	r->after = after;
	if (!http_count(r)) {
		http_problem(r, 503, NULL, "the server is shutting down");
		return false;
	}
	r->deferred = true;
	MHD_suspend_connection(r->conn);
	if (app_job_start(r->app, &r->pending, fn, arg, alone, http_write_done,
			  r) != APP_OK) {
		r->deferred = false;
		MHD_resume_connection(r->conn);
		http_problem(r, 503, NULL,
			     "the store is not accepting "
			     "writes; try again");
		return false;
	}
	return true;
}

static void *http_worker_main(void *arg)
{
	struct http_server *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->head == NULL)
			break;
		struct http_work *w = s->head;
		s->head = w->next;
		if (s->head == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		w->work(w->r);
		http_resume(w->r);
		free(w);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

bool http_offload(struct http_request *r, void (*work)(struct http_request *),
		  void (*after)(struct http_request *r))
{
	struct http_server *s = r->server;
	struct http_work *w = malloc(sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return false;
	}
	*w = (struct http_work){ r, work, NULL };
	r->after = after;
	if (!http_count(r)) {
		free(w);
		http_problem(r, 503, NULL, "the server is shutting down");
		return false;
	}
	r->deferred = true;
	MHD_suspend_connection(r->conn);
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = w;
	else
		s->head = w;
	s->tail = w;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* libmicrohttpd's notice of a connection opened or closed: keeps the
 * list of header deadlines. A connection that cannot be listed is shut
 * down at once (it could not be given a deadline). With --trusted-proxy
 * the per-address limit is counted here, on the same list, for every peer
 * but the proxies: one over it is shut down unanswered, as libmicrohttpd
 * closes one over its own limit. */
static void http_conn_notify(void *cls, struct MHD_Connection *c,
			     void **socket_context,
			     enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	struct http_conn *hc = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CONNECTION_FD);
		hc = calloc(1, sizeof(*hc));
		if (hc == NULL) {
			if (ci)
				shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		hc->fd = ci ? ci->connect_fd : -1;
		const union MHD_ConnectionInfo *ai = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		char peer[INET6_ADDRSTRLEN];
		if (s->own_ip_limit && ai &&
		    http_sockaddr(ai->client_addr, &hc->peer)) {
			http_addr_text(&hc->peer, peer, sizeof(peer));
			hc->capped = !config_addrs_has(
				&s->app->cfg.trusted_proxy, peer);
		}
		pthread_mutex_lock(&s->conns_lock);
		unsigned same = 0;
		for (struct http_conn *o = s->conns; hc->capped && o;
		     o = o->next)
			same += o->capped && memcmp(&o->peer, &hc->peer,
						    sizeof(hc->peer)) == 0;
		if (hc->capped && same >= s->app->cfg.max_conns_per_ip &&
		    hc->fd >= 0)
			shutdown(hc->fd, SHUT_RDWR);
		hc->deadline_ns = http_now_ns() + s->header_ns;
		hc->next = s->conns;
		if (s->conns)
			s->conns->prev = hc;
		s->conns = hc;
		pthread_mutex_unlock(&s->conns_lock);
		*socket_context = hc;
		return;
	}
	if (hc == NULL)
		return;
	pthread_mutex_lock(&s->conns_lock);
	if (hc->prev)
		hc->prev->next = hc->next;
	else
		s->conns = hc->next;
	if (hc->next)
		hc->next->prev = hc->prev;
	pthread_mutex_unlock(&s->conns_lock);
	free(hc);
	*socket_context = NULL;
}

/* Whether the peer of a connection reading a body has closed its end.
 * If it is still reading that body a second later, the body can never be
 * whole: libmicrohttpd (edge-triggered epoll) can miss the end of such a
 * connection and keep it, and its body, until its idle timeout. (Within
 * the second, a peer that sent its whole body and then half-closed gets
 * its request read and answered.) */
static bool http_conn_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) == 1 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* The reaper: four times a second, shuts down the socket of every
 * connection whose request's headers are late, or whose peer left in the
 * middle of a body (libmicrohttpd then reads its end and closes it). The
 * list's lock is held across the shutdown, so the fd cannot have been
 * closed and reused meanwhile. When no connection is open it gives the
 * memory freed by closed ones back to the system (glibc keeps freed heap
 * pages in its per-thread arenas). */
static void *http_reaper_main(void *arg)
{
	struct http_server *s = arg;
	bool trimmed = true;
	pthread_mutex_lock(&s->conns_lock);
	while (!s->reaper_stop) {
		uint64_t now = http_now_ns();
		unsigned late = 0, left = 0;
		for (struct http_conn *hc = s->conns; hc; hc = hc->next) {
			if (hc->fd < 0)
				continue;
			bool gone = false;
			if (hc->in_body && http_conn_gone(hc->fd)) {
				if (hc->gone_ns == 0)
					hc->gone_ns = now;
				gone = now - hc->gone_ns >= 1000000000u;
			}
			bool is_late = hc->deadline_ns && now > hc->deadline_ns;
			if (is_late || gone) {
				shutdown(hc->fd, SHUT_RDWR);
				hc->deadline_ns = 0;
				hc->in_body = false;
				late += is_late;
				left += gone;
			}
		}
		if (late || left) { /* one line a sweep, not one a connection */
			pthread_mutex_unlock(&s->conns_lock);
			log_info("http: cut %u connections whose request "
				 "headers "
				 "were late and %u left in mid-body",
				 late, left);
			pthread_mutex_lock(&s->conns_lock);
		}
		bool idle = s->conns == NULL;
		if (!idle)
			trimmed = false;
		else if (!trimmed) {
			trimmed = true;
			pthread_mutex_unlock(&s->conns_lock);
			malloc_trim(0);
			pthread_mutex_lock(&s->conns_lock);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->reaper_wake, &s->conns_lock, &ts);
	}
	pthread_mutex_unlock(&s->conns_lock);
	return NULL;
}

/* libmicrohttpd's messages, at most HTTP_LOG_PER_SECOND a second: it
 * writes one for each connection it refuses or loses, and a flood of
 * clients must not become a flood of log lines. */
#define HTTP_LOG_PER_SECOND 10

static void http_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	uint64_t second = http_now_ns() / 1000000000u;
	unsigned dropped = 0;
	bool show;
	pthread_mutex_lock(&s->log_lock);
	if (second != s->log_second) {
		dropped = s->log_dropped;
		s->log_second = second;
		s->log_count = s->log_dropped = 0;
	}
	show = s->log_count++ < HTTP_LOG_PER_SECOND;
	if (!show)
		s->log_dropped++;
	pthread_mutex_unlock(&s->log_lock);
	if (dropped)
		log_warn("http: %u more messages of libmicrohttpd not shown",
			 dropped);
	if (show)
		log_warn("http: %s", line);
}

int http_start(struct app *a, int fd, const struct http_tls *tls,
	       struct http_server **out, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->app = a;
	/* A body past 128 KiB is mmapped and so unmapped when freed. Left to
	 * itself, glibc raises this threshold to the size of each large
	 * block freed, after which bodies come from the event threads'
	 * arenas and what they free stays the process's: 4,000 bodies of a
	 * MiB left 1.5 GB behind them (bench/http-strangers). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	s->header_ns = (uint64_t)a->cfg.header_timeout * 1000000000u;
	s->access_log = a->cfg.access_log;
	s->tls = tls && tls->cert && tls->key;
	s->own_ip_limit = a->cfg.trusted_proxy.n > 0;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->conns_lock, NULL);
	pthread_mutex_init(&s->log_lock, NULL);
	pthread_cond_init(&s->reaper_wake, NULL);
	s->reaper_started =
		pthread_create(&s->reaper, NULL, http_reaper_main, s) == 0;
	for (int i = 0; i < HTTP_WORKERS; i++)
		if (pthread_create(&s->workers[i], NULL, http_worker_main, s) ==
		    0)
			s->n_workers++;
	/* The options that vary: TLS's, and libmicrohttpd's per-address
	 * limit unless ours replaces it (--trusted-proxy). */
	struct MHD_OptionItem opts[4];
	size_t n_opts = 0;
	if (s->tls) {
		opts[n_opts++] =
			(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						 tls->cert };
		opts[n_opts++] =
			(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						 tls->key };
	}
	if (!s->own_ip_limit)
		opts[n_opts++] = (struct MHD_OptionItem){
			MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			(intptr_t)a->cfg.max_conns_per_ip, NULL
		};
	opts[n_opts] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			MHD_USE_ITC | (s->tls ? MHD_USE_TLS : 0),
		0, NULL, NULL, http_handle, s, MHD_OPTION_EXTERNAL_LOGGER,
		http_log, s, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, 2, MHD_OPTION_CONNECTION_LIMIT,
		4096, MHD_OPTION_CONNECTION_TIMEOUT, 30,
		MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, s,
		MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (s->daemon == NULL || s->n_workers == 0 || !s->reaper_started) {
		if (s->daemon == NULL)
			close(fd);
		http_stop(s);
		snprintf(err, errlen, "cannot start the HTTP daemon");
		return -1;
	}
	*out = s;
	return 0;
}

void http_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	/* Let no new request wait, let every request that waits for the
	 * writer or a worker finish (libmicrohttpd may not stop with a
	 * connection suspended), then stop the workers and the daemon. (Not
	 * MHD_quiesce_daemon: with a thread pool on epoll it can abort.) */
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < 3000 && atomic_load(&s->in_flight) > 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	if (s->reaper_started) {
		pthread_mutex_lock(&s->conns_lock);
		s->reaper_stop = true;
		pthread_cond_signal(&s->reaper_wake);
		pthread_mutex_unlock(&s->conns_lock);
		pthread_join(s->reaper, NULL);
	}
	pthread_mutex_destroy(&s->conns_lock);
	pthread_mutex_destroy(&s->log_lock);
	pthread_cond_destroy(&s->reaper_wake);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
