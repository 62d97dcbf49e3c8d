/*
 * campaign.c — campaigns (see campaign.h).
 */
#include "app/campaign.h"

#include <stdlib.h>
#include <string.h>

#include "app/message.h"
#include "core/id.h"

struct chunk_job {
	struct app *app;
	const struct campaign_request *req;
	struct campaign_result *res;
	const uint64_t *rels;
	size_t n;
	bool first; /* inserts the campaign row */
	int64_t now_ms;
	/* counts of this chunk, added to res only once it is durable */
	int64_t total, accepted;
	int64_t reasons[GATE_REASON_COUNT];
};

static int chunk_run(struct store_tx *tx, void *arg)
{
	struct chunk_job *j = arg;
	const struct campaign_request *q = j->req;
	int rc;

	j->total = j->accepted = 0;
	memset(j->reasons, 0, sizeof(j->reasons));
	if (j->first) {
		struct store_campaign c = {
			.id = j->res->id,
			.brand = q->brand,
			.channel = q->channel,
			.topic = q->topic,
			.subject = q->subject,
			.body = q->body,
			.body_len = q->body_len,
			.created_at = j->now_ms / 1000,
		};
		if ((rc = store_campaign_insert(tx, &c)) != STORE_OK)
			return rc;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct message_in in = {
			.brand = q->brand,
			.relationship = j->rels[i],
			.channel = q->channel,
			.topic = q->topic,
			.subject = NULL,
			.campaign = j->res->id,
			.sender_is_brand = true,
			.sender_verified = true,
			.now_ms = j->now_ms,
		};
		struct message_out out;
		rc = message_decide_tx(j->app, tx, &in, &out);
		if (rc == APP_NOT_FOUND)
			continue; /* ended or gone since it was listed */
		if (rc != APP_OK)
			return STORE_FAULT;
		j->total++;
		if (gate_brand_accepted(&out.decision))
			j->accepted++;
		else
			j->reasons[out.decision.reason]++;
	}
	return store_campaign_count(tx, j->res->id, j->total, j->accepted);
}

static int chunk_write(struct app *a, struct chunk_job *j)
{
	int rc = store_write(a->store, chunk_run, j);
	if (rc != STORE_OK)
		return rc;
	j->res->total += j->total;
	j->res->accepted += j->accepted;
	j->res->refused += j->total - j->accepted;
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		j->res->reasons[i] += j->reasons[i];
	return STORE_OK;
}

struct key_page {
	uint64_t *keys;
	size_t n;
};

static int key_collect(uint64_t key, void *arg)
{
	struct key_page *p = arg;
	p->keys[p->n++] = key;
	return 0;
}

int campaign_send(struct app *a, const struct campaign_request *req,
		  struct campaign_result *out, struct app_error *err)
{
	memset(out, 0, sizeof(*out));
	out->id = store_new_key();
	int64_t now_ms = app_now_ms();

	if (!req->all) {
		if (req->n_rels == 0 || req->n_rels > CAMPAIGN_MAX_LIST)
			return app_fail(err, APP_INVALID, "relationships",
					"a campaign names 1 to %d "
					"relationships, or \"all\"",
					CAMPAIGN_MAX_LIST);
		/* Every recipient must be the brand's before anything is
		 * recorded: a foreign id is a 404 for the whole campaign. */
		for (size_t i = 0; i < req->n_rels; i++) {
			struct store_relationship r;
			int rc = store_relationship_by_id(a->store,
							  req->rels[i], &r);
			bool mine = rc == STORE_OK && r.brand == req->brand;
			if (rc == STORE_OK)
				store_relationship_clear(&r);
			if (rc == STORE_FAULT)
				return app_fail(err, APP_FAULT, NULL,
						"the store cannot be read");
			if (!mine)
				return app_fail(err, APP_NOT_FOUND,
						"relationships",
						"no such relationship");
		}
		for (size_t at = 0; at < req->n_rels; at += CAMPAIGN_CHUNK) {
			size_t n = req->n_rels - at;
			if (n > CAMPAIGN_CHUNK)
				n = CAMPAIGN_CHUNK;
			struct chunk_job j = {
				a,	req, out, req->rels + at, n, at == 0,
				now_ms, 0,   0,	  { 0 }
			};
			if (chunk_write(a, &j) != STORE_OK)
				return app_fail(err, APP_FAULT, NULL,
						"the campaign stopped after "
						"%lld recipients; try again",
						(long long)out->total);
		}
		return APP_OK;
	}
	struct key_page page = { malloc(CAMPAIGN_CHUNK * sizeof(uint64_t)), 0 };
	if (page.keys == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	uint64_t after = 0;
	bool first = true;
	for (;;) {
		page.n = 0;
		if (store_relationship_keys_brand(a->store, req->brand, after,
						  CAMPAIGN_CHUNK, key_collect,
						  &page) != STORE_OK) {
			free(page.keys);
			return app_fail(err, APP_FAULT, NULL,
					"the store cannot be read");
		}
		if (page.n == 0 && !first)
			break;
		struct chunk_job j = { a,     req,    out, page.keys, page.n,
				       first, now_ms, 0,   0,	      { 0 } };
		if (chunk_write(a, &j) != STORE_OK) {
			free(page.keys);
			return app_fail(err, APP_FAULT, NULL,
					"the campaign stopped after %lld "
					"recipients; try again",
					(long long)out->total);
		}
		first = false;
		if (page.n < CAMPAIGN_CHUNK)
			break;
		after = page.keys[page.n - 1];
	}
	free(page.keys);
	return APP_OK;
}

json_t *campaign_result_json(const struct campaign_result *r)
{
	char id[ID_SIZE];
	id_encode(ID_CAMPAIGN, r->id, id);
	json_t *reasons = json_object();
	for (int i = 0; i < GATE_REASON_COUNT; i++) {
		if (r->reasons[i] == 0 || gate_reasons[i].brand == NULL)
			continue;
		const char *name = gate_reasons[i].brand;
		json_t *cur = json_object_get(reasons, name);
		json_int_t n = (cur ? json_integer_value(cur) : 0) +
			       (json_int_t)r->reasons[i];
		json_object_set_new(reasons, name, json_integer(n));
	}
	return json_pack("{s:s,s:I,s:I,s:I,s:o}", "id", id, "total",
			 (json_int_t)r->total, "accepted",
			 (json_int_t)r->accepted, "refused",
			 (json_int_t)r->refused, "reasons", reasons);
}
