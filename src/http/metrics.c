/*
 * metrics.c — the /metrics listener (see metrics.h).
 */
#include "http/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "app/metrics.h"
#include "http/http.h"

struct metrics_server {
	struct app *app;
	struct MHD_Daemon *daemon;
	const char *names[METRICS_ROUTES];
	char name_buf[METRICS_ROUTES][96];
};

static enum MHD_Result metrics_handle(void *cls, struct MHD_Connection *c,
				      const char *url, const char *method,
				      const char *version, const char *upload,
				      size_t *upload_size, void **state)
{
	struct metrics_server *m = cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (*state == NULL) {
		*state = m;
		return MHD_YES;
	}
	char *text = NULL;
	unsigned status = 404;
	if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0) {
		text = metrics_render(m->app, m->names,
				      http_routes_count < METRICS_ROUTES
					      ? http_routes_count
					      : METRICS_ROUTES);
		status = text ? 200 : 503;
	}
	const char *body = text ? text : "not found\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	free(text);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

int metrics_start(struct app *a, int fd, struct metrics_server **out, char *err,
		  size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->app = a;
	for (size_t i = 0; i < http_routes_count && i < METRICS_ROUTES; i++) {
		snprintf(m->name_buf[i], sizeof(m->name_buf[i]), "%s %s",
			 http_routes[i].method, http_routes[i].pattern);
		m->names[i] = m->name_buf[i];
	}
	m->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
		metrics_handle, m, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_END);
	if (m->daemon == NULL) {
		close(fd);
		free(m);
		snprintf(err, errlen, "cannot start the metrics listener");
		return -1;
	}
	*out = m;
	return 0;
}

void metrics_stop(struct metrics_server *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->daemon);
	free(m);
}
