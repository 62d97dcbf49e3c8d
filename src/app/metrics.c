/*
 * metrics.c — process-wide counters and their Prometheus text (see
 * metrics.h).
 */
#include "app/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gate.h"
#include "store/store.h"

/* HTTP statuses get a bucket each; anything else counts as "other". */
static const unsigned metrics_statuses[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503
};
#define N_STATUS (sizeof(metrics_statuses) / sizeof(*metrics_statuses) + 1)

static _Atomic unsigned long long metrics_requests[METRICS_ROUTES + 1]
						  [N_STATUS];
static _Atomic unsigned long long metrics_decisions[GATE_OUTCOME_COUNT]
						   [GATE_REASON_COUNT];

void metrics_decision(int outcome, int reason)
{
	if (outcome >= 0 && outcome < GATE_OUTCOME_COUNT && reason >= 0 &&
	    reason < GATE_REASON_COUNT)
		atomic_fetch_add_explicit(&metrics_decisions[outcome][reason],
					  1, memory_order_relaxed);
}

void metrics_request(int route, unsigned status)
{
	size_t r = route >= 0 && route < METRICS_ROUTES ? (size_t)route
							: METRICS_ROUTES;
	size_t s = N_STATUS - 1;
	for (size_t i = 0; i + 1 < N_STATUS; i++)
		if (metrics_statuses[i] == status)
			s = i;
	atomic_fetch_add_explicit(&metrics_requests[r][s], 1,
				  memory_order_relaxed);
}

char *metrics_render(struct app *a, const char *const *route_names,
		     size_t n_routes)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;

	fprintf(f, "# HELP cmr_http_requests_total HTTP requests by route "
		   "and status.\n# TYPE cmr_http_requests_total counter\n");
	for (size_t r = 0; r <= METRICS_ROUTES; r++)
		for (size_t s = 0; s < N_STATUS; s++) {
			unsigned long long v =
				atomic_load(&metrics_requests[r][s]);
			if (v == 0)
				continue;
			const char *name =
				r < n_routes ? route_names[r] : "other";
			char status[8];
			if (s + 1 < N_STATUS)
				snprintf(status, sizeof(status), "%u",
					 metrics_statuses[s]);
			else
				snprintf(status, sizeof(status), "other");
			fprintf(f,
				"cmr_http_requests_total{route=\"%s\","
				"status=\"%s\"} %llu\n",
				name, status, v);
		}
	fprintf(f, "# HELP cmr_decisions_total Gate decisions by outcome and "
		   "reason.\n# TYPE cmr_decisions_total counter\n");
	for (int o = 0; o < GATE_OUTCOME_COUNT; o++)
		for (int r = 0; r < GATE_REASON_COUNT; r++) {
			unsigned long long v =
				atomic_load(&metrics_decisions[o][r]);
			if (v)
				fprintf(f,
					"cmr_decisions_total{outcome=\"%s\","
					"reason=\"%s\"} %llu\n",
					gate_outcomes[o], gate_reasons[r].wire,
					v);
		}
	struct store_writer_stats ws;
	store_writer_stats(a->store, &ws);
	fprintf(f,
		"# HELP cmr_writer_batches_total Transactions the writer "
		"committed.\n# TYPE cmr_writer_batches_total counter\n"
		"cmr_writer_batches_total %llu\n"
		"# HELP cmr_writer_jobs_total Jobs the writer ran.\n"
		"# TYPE cmr_writer_jobs_total counter\n"
		"cmr_writer_jobs_total %llu\n"
		"# HELP cmr_writer_batch_max The largest batch so far.\n"
		"# TYPE cmr_writer_batch_max gauge\n"
		"cmr_writer_batch_max %llu\n"
		"# HELP cmr_writer_commit_seconds_total Time spent in "
		"batches, commit included.\n"
		"# TYPE cmr_writer_commit_seconds_total counter\n"
		"cmr_writer_commit_seconds_total %.6f\n",
		(unsigned long long)ws.batches, (unsigned long long)ws.jobs,
		(unsigned long long)ws.max_batch,
		(double)ws.commit_ns_total / 1e9);
	fclose(f);
	return text;
}
