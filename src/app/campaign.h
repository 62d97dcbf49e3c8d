/*
 * campaign.h — one message to many relationships of a brand: an explicit
 * list (at most CAMPAIGN_MAX_LIST, every one the brand's, else nothing is
 * recorded) or "all" its relationships that have not ended. The body is
 * stored once; each recipient gets an attempt decided by the gate. The
 * writer records recipients in chunks, each durable before it counts.
 */
#ifndef CMR_APP_CAMPAIGN_H
#define CMR_APP_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "core/gate.h"

#define CAMPAIGN_MAX_LIST 10000
#define CAMPAIGN_CHUNK	  4096

struct campaign_request {
	uint64_t brand;
	bool all;	      /* every relationship not ended */
	const uint64_t *rels; /* else this list */
	size_t n_rels;
	int channel;
	const char *topic, *subject;
	const void *body;
	size_t body_len;
	/* An Idempotency-Key, or NULL: claimed (as "in progress") in the
	 * same transaction as the first recipients, answered after the last,
	 * so a retry can never send the campaign twice. */
	const char *idem_key;
	const uint8_t *idem_hash; /* 32 bytes */
};

struct campaign_result {
	uint64_t id;
	int64_t total, accepted, refused;
	int64_t reasons[GATE_REASON_COUNT]; /* refusals by gate reason */
};

/* APP_CONFLICT (field "Idempotency-Key") when its key is taken: the
 * caller replays the key's answer. */
enum app_status campaign_send(struct app *a, const struct campaign_request *req,
			      struct campaign_result *out,
			      struct app_error *err);

/* The same, a write at a time, for a door that waits without holding a
 * thread: campaign_begin checks (an explicit list must be all the
 * brand's) and sets up; each campaign_step gives the next write (a chunk
 * of recipients, and at last the Idempotency-Key's answer) to run and
 * finish as struct app_write says — its release does nothing, the run
 * owns it — until it returns CAMPAIGN_DONE. req and out must outlive the
 * run. */
#define CAMPAIGN_DONE 11
struct campaign_run;
enum app_status campaign_begin(struct app *a,
			       const struct campaign_request *req,
			       struct campaign_result *out,
			       struct campaign_run **run,
			       struct app_error *err);
enum app_status campaign_step(struct campaign_run *run, struct app_write *w,
			      struct app_error *err);
void campaign_run_free(struct campaign_run *run);

/* The result as the brand sees it: {"id","total","accepted","refused",
 * "reasons":{brand-visible reason: count}}. */
json_t *campaign_result_json(const struct campaign_result *r);

/* GET /v1/campaigns/{id}: the brand's campaign with its counts as
 * core/brand_state.h reads them at `now` (seconds) — a held message
 * refused on release counts as accepted until the next 00:00 UTC:
 * {"id","channel","topic","created_at","total","accepted","refused",
 * "reasons":{brand-visible reason: count}}. Counted from the campaign's
 * row and its refused attempts only. APP_NOT_FOUND alike for another
 * brand's campaign and for none. */
enum app_status campaign_brand_get(struct app *a, uint64_t brand, uint64_t id,
				   int64_t now, json_t **out,
				   struct app_error *err);

/* GET /v1/campaigns/{id}/recipients: a page (up to `limit`, oldest
 * first, message ids > after) of the campaign's messages in the shape of
 * message_brand_get, appended to items; all of them (state -1) or those
 * whose brand state (enum brand_state) is `state`. APP_NOT_FOUND as
 * campaign_brand_get. */
enum app_status campaign_recipients(struct app *a, uint64_t brand, uint64_t id,
				    int state, uint64_t after, int limit,
				    int64_t now, json_t *items,
				    struct app_error *err);

#endif
