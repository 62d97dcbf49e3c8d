/*
 * campaign.c — campaigns (see campaign.h).
 */
#include "app/campaign.h"

#include <stdlib.h>
#include <string.h>

#include "app/gate_state.h"
#include "app/message.h"
#include "core/brand_state.h"
#include "core/channel.h"
#include "core/id.h"
#include "store/store.h"

struct chunk_job {
	const struct campaign_request *req;
	struct campaign_result *res;
	const uint64_t *rels;
	size_t n;
	bool first; /* inserts the campaign row */
	bool last;  /* writes the answer under the Idempotency-Key */
	int64_t now_ms;
	/* counts of this chunk, added to res only once it is durable */
	int64_t total, accepted;
	int64_t reasons[GATE_REASON_COUNT];
	bool first_done;
};

static int campaign_chunk_error(struct chunk_job *j, int rc,
				struct app_error *err)
{
	if (rc == STORE_CONFLICT && !j->first_done && j->first)
		return app_fail(err, APP_CONFLICT, "Idempotency-Key",
				"this Idempotency-Key is taken");
	return app_fail(err, APP_FAULT, NULL,
			"the campaign stopped after %lld recipients; its "
			"Idempotency-Key keeps a retry from sending it twice",
			(long long)j->res->total);
}

static int chunk_run(struct app_tx *t, void *arg)
{
	struct chunk_job *j = arg;
	const struct campaign_request *q = j->req;
	int rc;

	/* Each chunk decides at its own time: a long campaign crossing
	 * midnight must count the new day's deliveries in the new day. */
	j->now_ms = t->now_ms;
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
		if ((rc = store_campaign_insert(t->tx, &c)) != STORE_OK)
			return rc;
		if (q->idem_key) {
			struct store_idem v = { .status = 0,
						.response =
							(char *)(uintptr_t) "",
						.created_at = c.created_at };
			memcpy(v.request, q->idem_hash, 32);
			rc = store_idem_put(t->tx, q->brand, q->idem_key, &v);
			if (rc != STORE_OK)
				return rc; /* taken: nothing is recorded */
		}
	}
	/* A chunk costs a few statements, not a few a recipient: its
	 * relationships, persons and their deliveries are read and its
	 * persons guarded together, and its attempts recorded together
	 * after the decisions. */
	if ((rc = gate_state_prefetch(t, j->rels, j->n, q->brand,
				      j->now_ms / 1000)) != STORE_OK)
		return rc;
	struct message_batch batch = { 0 };
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
			.batch = &batch,
		};
		struct message_out out;
		rc = message_decide_tx(t, &in, &out);
		if (rc == APP_NOT_FOUND)
			continue; /* ended or gone since it was listed */
		if (rc != APP_OK) {
			message_batch_free(&batch);
			return STORE_FAULT;
		}
		j->total++;
		if (gate_brand_accepted(&out.decision))
			j->accepted++;
		else
			j->reasons[out.decision.reason]++;
	}
	rc = message_batch_write(t, &batch);
	message_batch_free(&batch);
	if (rc == STORE_OK)
		rc = store_campaign_count(t->tx, j->res->id, j->total,
					  j->accepted);
	if (rc != STORE_OK || !j->last || q->idem_key == NULL)
		return rc;
	/* The last chunk writes the answer in its own transaction: a retry
	 * after a crash then finds either "in progress" (an earlier chunk
	 * was durable, this one not) or the whole answer, never a campaign
	 * finished but unanswered. */
	struct campaign_result all = *j->res;
	all.total += j->total;
	all.accepted += j->accepted;
	all.refused += j->total - j->accepted;
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		all.reasons[i] += j->reasons[i];
	json_t *answer = campaign_result_json(&all);
	char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
	json_decref(answer);
	rc = text ? store_idem_finish(t->tx, q->brand, q->idem_key, 201, text)
		  : STORE_FAULT;
	free(text);
	return rc;
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

/* A campaign under way: one chunk's write at a time, each durable before
 * its recipients count. */
struct campaign_run {
	struct app *a;
	const struct campaign_request *req;
	struct campaign_result *res;
	int64_t now_ms;
	size_t at;	/* explicit list: the next recipient */
	uint64_t after; /* "all": the last key written */
	bool first;	/* the next chunk is the first */
	bool last;	/* the chunk written was the last */
	bool done;
	struct key_page page;
	struct chunk_job job;
};

static enum app_status chunk_finish(void *job, int rc, struct app_error *err)
{
	struct chunk_job *j = job;
	if (rc != STORE_OK)
		return campaign_chunk_error(j, rc, err);
	j->first_done = true;
	j->res->total += j->total;
	j->res->accepted += j->accepted;
	j->res->refused += j->total - j->accepted;
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		j->res->reasons[i] += j->reasons[i];
	return APP_OK;
}

static void campaign_keep(void *job)
{
	(void)job; /* the run owns its jobs */
}

enum app_status campaign_begin(struct app *a,
			       const struct campaign_request *req,
			       struct campaign_result *out,
			       struct campaign_run **run, struct app_error *err)
{
	memset(out, 0, sizeof(*out));
	out->id = store_new_key();
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
			int rc = store_relationship_get(a->reads, req->rels[i],
							NULL, &r);
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
	}
	struct campaign_run *r = calloc(1, sizeof(*r));
	if (r == NULL ||
	    (req->all && (r->page.keys = malloc(CAMPAIGN_CHUNK *
						sizeof(uint64_t))) == NULL)) {
		free(r);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	r->a = a;
	r->req = req;
	r->res = out;
	r->now_ms = app_now_ms();
	r->first = true;
	*run = r;
	return APP_OK;
}

enum app_status campaign_step(struct campaign_run *r, struct app_write *w,
			      struct app_error *err)
{
	const struct campaign_request *q = r->req;
	if (r->done)
		return CAMPAIGN_DONE;
	if (r->last) {
		/* Every recipient is written, the last chunk with the answer
		 * under the Idempotency-Key. */
		r->done = true;
		return CAMPAIGN_DONE;
	}
	const uint64_t *rels;
	size_t n;
	if (!q->all) {
		rels = q->rels + r->at;
		n = q->n_rels - r->at;
		if (n > CAMPAIGN_CHUNK)
			n = CAMPAIGN_CHUNK;
		r->at += n;
		r->last = r->at >= q->n_rels;
	} else {
		r->page.n = 0;
		if (store_relationship_keys_brand(
			    r->a->reads, q->brand, r->after, CAMPAIGN_CHUNK,
			    key_collect, &r->page) != STORE_OK)
			return app_fail(err, APP_FAULT, NULL,
					"the store cannot be read");
		rels = r->page.keys;
		n = r->page.n;
		if (n > 0)
			r->after = r->page.keys[n - 1];
		r->last = n < CAMPAIGN_CHUNK;
	}
	r->job = (struct chunk_job){ .req = q,
				     .res = r->res,
				     .rels = rels,
				     .n = n,
				     .first = r->first,
				     .last = r->last,
				     .now_ms = r->now_ms };
	r->first = false;
	*w = (struct app_write){ chunk_run, &r->job, false, chunk_finish,
				 campaign_keep };
	return APP_OK;
}

void campaign_run_free(struct campaign_run *r)
{
	if (r == NULL)
		return;
	free(r->page.keys);
	free(r);
}

enum app_status campaign_send(struct app *a, const struct campaign_request *req,
			      struct campaign_result *out,
			      struct app_error *err)
{
	struct campaign_run *r = NULL;
	struct app_write w;
	int rc = campaign_begin(a, req, out, &r, err);
	if (rc != APP_OK)
		return rc;
	while ((rc = campaign_step(r, &w, err)) == APP_OK)
		if ((rc = app_write_run(a, &w, err)) != APP_OK)
			break;
	campaign_run_free(r);
	return rc == CAMPAIGN_DONE ? APP_OK : rc;
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

/* ---- What the brand reads back ---- */

/* The campaign `id` if it is the brand's. */
static enum app_status campaign_of(struct app *a, uint64_t brand, uint64_t id,
				   struct store_campaign_row *c,
				   struct app_error *err)
{
	int rc = store_campaign_get(a->reads, id, c);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && c->brand != brand))
		return app_fail(err, APP_NOT_FOUND, NULL, "no such campaign");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	return APP_OK;
}

struct refusal_count {
	int64_t now;
	int64_t later; /* refused on release, and now read as refused */
	int64_t reasons[GATE_REASON_COUNT]; /* refusals the brand reads */
};

static int refusal_add(int reason, int64_t refused_at, int64_t n, void *arg)
{
	struct refusal_count *rc = arg;
	struct brand_state_row row = { GATE_REFUSE, reason, refused_at };
	if (brand_state_of(&row, rc->now) != BRAND_REFUSED)
		return 0; /* refused on release today: still accepted */
	if (refused_at != 0)
		rc->later += n;
	rc->reasons[reason >= 0 && reason < GATE_REASON_COUNT
			    ? reason
			    : GATE_HOLD_QUEUE_FULL] += n; /* not_accepted */
	return 0;
}

enum app_status campaign_brand_get(struct app *a, uint64_t brand, uint64_t id,
				   int64_t now, json_t **out,
				   struct app_error *err)
{
	struct store_campaign_row c;
	*out = NULL;
	enum app_status st = campaign_of(a, brand, id, &c, err);
	if (st != APP_OK)
		return st;
	struct refusal_count rc = { .now = now };
	if (store_campaign_refusals(a->reads, id, refusal_add, &rc) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	/* The row counts what the brand was told when it sent; refusals on
	 * release move from accepted to refused once they may be read. */
	struct campaign_result res = { .id = id, .total = c.total };
	res.accepted = c.accepted - rc.later;
	res.refused = c.total - res.accepted;
	memcpy(res.reasons, rc.reasons, sizeof(res.reasons));
	json_t *o = campaign_result_json(&res);
	if (o == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	json_object_set_new(o, "channel",
			    json_string(channel_name((enum channel)c.channel)));
	json_object_set_new(o, "topic",
			    c.topic[0] ? json_string(c.topic) : json_null());
	json_object_set_new(o, "created_at", app_time_json(c.created_at));
	*out = o;
	return APP_OK;
}

struct recipients_page {
	json_t *items;
	int64_t now;
	bool failed;
};

static int recipient_add(const struct store_brand_attempt *m, void *arg)
{
	struct recipients_page *p = arg;
	if (json_array_append_new(p->items,
				  message_brand_state_json(m, p->now)) != 0) {
		p->failed = true;
		return 1;
	}
	return 0;
}

enum app_status campaign_recipients(struct app *a, uint64_t brand, uint64_t id,
				    int state, uint64_t after, int limit,
				    int64_t now, json_t *items,
				    struct app_error *err)
{
	struct store_campaign_row c;
	enum app_status st = campaign_of(a, brand, id, &c, err);
	if (st != APP_OK)
		return st;
	struct recipients_page p = { items, now, false };
	if (store_campaign_recipients(a->reads, id, state,
				      brand_state_since(now), after, limit,
				      recipient_add, &p) != STORE_OK ||
	    p.failed)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	return APP_OK;
}
