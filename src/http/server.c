/*
 * server.c — the HTTP listener on libmicrohttpd (see server.h, http.h).
 *
 * One struct http_request per request, made at its first callback and
 * freed when libmicrohttpd reports it completed. The body is gathered in
 * the upload callbacks with its limit; then the route is found, the caller
 * authenticated, and the handler called. A handler that writes suspends
 * the connection (http_write); the writer thread resumes it when the job
 * is durable, and the next callback runs the handler's `after` step.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

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

struct http_server {
	struct app *app;
	struct MHD_Daemon *daemon;
	pthread_t workers[HTTP_WORKERS];
	int n_workers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct http_work *head, *tail;
	bool stopping;
	atomic_int in_flight; /* requests waiting for the writer or a worker */
	bool closing;	      /* under lock: no new request may wait */
};

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
	if (r->body_too_big || r->body_bad_length)
		MHD_add_response_header(resp, "Connection", "close");
	enum MHD_Result rc = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	metrics_request(r->route ? (int)(r->route - http_routes) : -1,
			r->status);
	return rc;
}

static void http_dispatch(struct http_request *r)
{
	bool method_ok = false;
	const struct http_route *route = http_route_find(r, &method_ok);
	if (route == NULL) {
		if (method_ok) {
			char allow[64] = "";
			http_route_methods(r, allow, sizeof(allow));
			http_header(r, "Allow", allow);
			http_problem(r, 405, NULL,
				     "%s is not allowed on %s (only %s)",
				     r->method, r->path, allow);
		} else
			http_problem(r, 404, NULL, "no such resource");
		return;
	}
	r->route = route;
	/* A read's several queries share one read transaction. */
	bool session = strcmp(route->method, "GET") == 0;
	if (session)
		app_read_begin(r->app);
	if (auth_check(r) && api_query_check(r)) /* else it replied */
		route->handler(r);
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
		if (ci && ci->client_addr) {
			const struct sockaddr *sa = ci->client_addr;
			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET,
					  &((const struct sockaddr_in *)sa)
						   ->sin_addr,
					  r->client, sizeof(r->client));
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6,
					  &((const struct sockaddr_in6 *)sa)
						   ->sin6_addr,
					  r->client, sizeof(r->client));
		}
		*state = r;
		const char *cl = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || end == cl) {
				r->body_bad_length = true;
				http_problem(r, 400, NULL,
					     "Content-Length is not a number");
				return http_send(r);
			}
			if (n > HTTP_BODY_MAX) {
				/* Refused at once: the body is never read
				 * and the connection closes after this. */
				r->body_too_big = true;
				http_problem(r, 413, NULL,
					     "the body is larger than %d bytes",
					     HTTP_BODY_MAX);
				return http_send(r);
			}
		}
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
		if (r->body_len + n > HTTP_BODY_MAX) {
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
	if (r->replied) /* answered from the headers already */
		return http_send(r);
	if (r->body_too_big) {
		http_problem(r, 413, NULL, "the body is larger than %d bytes",
			     HTTP_BODY_MAX);
		return http_send(r);
	}
	http_dispatch(r);
	if (r->deferred)
		return MHD_YES; /* the writer resumes us */
	return http_send(r);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **state,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_request *r = *state;
	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
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

static void http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warn("http: %s", line);
}

int http_start(struct app *a, int fd, struct http_server **out, char *err,
	       size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->app = a;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	for (int i = 0; i < HTTP_WORKERS; i++)
		if (pthread_create(&s->workers[i], NULL, http_worker_main, s) ==
		    0)
			s->n_workers++;
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			MHD_USE_ITC,
		0, NULL, NULL, http_handle, s, MHD_OPTION_EXTERNAL_LOGGER,
		http_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, 2, MHD_OPTION_CONNECTION_LIMIT,
		4096, MHD_OPTION_CONNECTION_TIMEOUT, 30,
		MHD_OPTION_NOTIFY_COMPLETED, http_completed, s, MHD_OPTION_END);
	if (s->daemon == NULL || s->n_workers == 0) {
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
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
