/*
 * server.c — the HTTP listener (see server.h). Every reply carries
 * security headers; anything but a known route is a problem+json 404.
 */
#include "http/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/log.h"

struct http_server {
	struct app *app;
	struct MHD_Daemon *daemon;
};

int http_listen(const struct listen_addr *addr, int *fd, int *port,
		char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char service[8];

	snprintf(service, sizeof(service), "%d", addr->port);
	int rc = getaddrinfo(addr->host, service, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", addr->host,
			 gai_strerror(rc));
		return -1;
	}
	int s = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			   ai->ai_protocol);
		if (s < 0)
			continue;
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(s, 512) == 0)
			break;
		snprintf(err, errlen, "cannot listen on %s: %s", addr->text,
			 strerror(errno));
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot listen on %s",
				 addr->text);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	*port = addr->port;
	if (getsockname(s, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	*fd = s;
	return 0;
}

static enum MHD_Result http_reply(struct MHD_Connection *c,
				  unsigned int status, const char *type,
				  const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), (void *)(uintptr_t)body,
		MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c,
				   const char *url, const char *method,
				   const char *version, const char *upload,
				   size_t *upload_size, void **state)
{
	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		/* First call: headers only. Mark and wait for the body. */
		static int seen;
		*state = &seen;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0; /* no route takes a body yet */
		return MHD_YES;
	}
	if (strcmp(url, "/healthz") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return http_reply(
				c, 405, "application/problem+json",
				"{\"type\":\"about:blank\",\"title\":\"Method "
				"Not Allowed\",\"status\":405,\"detail\":"
				"\"/healthz answers GET\"}");
		return http_reply(c, 200, "application/json",
				  "{\"status\":\"ok\"}");
	}
	return http_reply(c, 404, "application/problem+json",
			  "{\"type\":\"about:blank\",\"title\":\"Not Found\","
			  "\"status\":404,\"detail\":\"no such resource\"}");
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
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, http_handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, 2,
		MHD_OPTION_CONNECTION_LIMIT, 4096,
		MHD_OPTION_CONNECTION_TIMEOUT, 30,
		MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
		MHD_OPTION_END);
	if (s->daemon == NULL) {
		close(fd);
		free(s);
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
	MHD_stop_daemon(s->daemon);
	free(s);
}
