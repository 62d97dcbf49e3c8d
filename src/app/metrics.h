/*
 * metrics.h — counters for the operator's /metrics (Prometheus text):
 * HTTP requests by route and status, gate decisions by outcome and
 * reason, and the writer's batches and commit time. Counters are
 * process-wide atomics: cheap to bump from any thread.
 */
#ifndef CMR_APP_METRICS_H
#define CMR_APP_METRICS_H

#include <stddef.h>

#include "app/app.h"

#define METRICS_ROUTES 96 /* route indices counted; more go to "other" */

void metrics_decision(int outcome, int reason);
void metrics_request(int route, unsigned status);

/* The exposition text (a new string the caller frees). route_names[i]
 * names route i ("GET /v1/messages"). */
char *metrics_render(struct app *a, const char *const *route_names,
		     size_t n_routes);

#endif
