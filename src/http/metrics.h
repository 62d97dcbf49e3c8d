/*
 * metrics.h — the operator's listener (--metrics): GET /metrics in the
 * Prometheus text format, and nothing else. Never on the API listener.
 */
#ifndef CMR_HTTP_METRICS_H
#define CMR_HTTP_METRICS_H

#include "app/app.h"

struct metrics_server;

/* Serves on a listening socket (which it then owns). */
int metrics_start(struct app *a, int fd, struct metrics_server **out, char *err,
		  size_t errlen);
void metrics_stop(struct metrics_server *m);

#endif
