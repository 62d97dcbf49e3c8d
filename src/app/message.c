/*
 * message.c — deciding and recording one message (see message.h), with
 * the gate's in-memory state of app/gate_state.h.
 */
#include "app/message.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "app/gate_state.h"
#include "app/metrics.h"
#include "app/sealed.h"
#include "base/log.h"
#include "core/brand_state.h"
#include "core/channel.h"
#include "core/id.h"
#include "core/terms.h"
#include "store/store.h"

/* ---- Deciding ---- */

/* message_outbox_tx; `push` false: the Maildir only, never the webhook
 * or the forward (a stranger's message). */
static enum app_status outbox_tx(struct app_tx *t, uint64_t person,
				 uint64_t attempt, int op, int folder,
				 int64_t now, bool push)
{
	bool maildir_on = t->cfg->maildir_root[0] != '\0';
	if (!maildir_on && op != STORE_OUTBOX_DELIVER)
		return APP_OK;
	struct person_entry *p = gate_state_person(t, person, now);
	if (p == NULL)
		return APP_FAULT;
	struct store_outbox o = { .person = person,
				  .attempt = attempt,
				  .adapter = STORE_ADAPTER_MAILDIR,
				  .op = op,
				  .folder = folder,
				  .next_at = now };
	int rc = STORE_OK;
	/* New deliveries while it is on; moves and removals whenever copies
	 * may be there (it was on once), so none is left behind. */
	if (maildir_on &&
	    (op == STORE_OUTBOX_DELIVER ? p->maildir : p->maildir_copies))
		rc = store_outbox_add(t->tx, &o);
	/* A webhook or a forward hears of new deliveries only: neither has
	 * folders. */
	if (rc == STORE_OK && push && p->webhook &&
	    op == STORE_OUTBOX_DELIVER && attempt != 0) {
		o.adapter = STORE_ADAPTER_WEBHOOK;
		rc = store_outbox_add(t->tx, &o);
	}
	if (rc == STORE_OK && push && p->forward && t->cfg->smarthost[0] &&
	    op == STORE_OUTBOX_DELIVER && attempt != 0) {
		o.adapter = STORE_ADAPTER_FORWARD;
		rc = store_outbox_add(t->tx, &o);
	}
	return app_from_store(rc);
}

enum app_status message_outbox_tx(struct app_tx *t, uint64_t person,
				  uint64_t attempt, int op, int folder,
				  int64_t now)
{
	return outbox_tx(t, person, attempt, op, folder, now, true);
}

/* The gate's input for a message on channel ch to relationship r. */
static struct gate_input gate_input_of(const struct config *cfg,
				       struct rel_entry *r,
				       struct person_entry *p, unsigned ch,
				       int16_t topic, int64_t now, int stage)
{
	return (struct gate_input){
		.terms = &r->terms->t,
		.global = &p->global,
		.tz = p->tz,
		.window = gate_state_window(&r->wins, (int)ch),
		.exempt = gate_state_window(&r->wins, WINDOW_EXEMPT),
		.global_window = gate_state_window(&p->wins, (int)ch),
		.now = now,
		.held = r->held,
		.hold_queue = cfg->hold_queue,
		.topic = topic,
		.stage = (uint8_t)stage,
		.channel = (uint8_t)ch,
		.rel_state = r->state,
		.alias_known = true,
		.sender_is_brand = true,
	};
}

/* Adds attempt a (no content of its own: only its topic is borrowed, from
 * the job's request) to the batch. */
static int message_batch_add(struct message_batch *b,
			     const struct store_attempt *a)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct store_attempt *more =
			realloc(b->at, cap * sizeof(*more));
		if (more == NULL)
			return STORE_FAULT;
		b->at = more;
		b->cap = cap;
	}
	b->at[b->n++] = *a;
	return STORE_OK;
}

int message_batch_write(struct app_tx *t, struct message_batch *b)
{
	int rc = store_attempt_insert_many(t->tx, b->at, b->n);
	b->n = 0;
	return rc;
}

void message_batch_free(struct message_batch *b)
{
	free(b->at);
	*b = (struct message_batch){ 0 };
}

/* What message_decide_tx does once the relationship and person are
 * found, with the person's data key in k when the message has content. */
static enum app_status
message_decide_keyed(struct app_tx *t, const struct message_in *in,
		     struct rel_entry *r, struct person_entry *p,
		     const struct sealed_key *k, struct message_out *out);

enum app_status message_decide_tx(struct app_tx *t, const struct message_in *in,
				  struct message_out *out)
{
	int64_t now = in->now_ms / 1000;
	bool foreign = false;
	struct rel_entry *r =
		gate_state_rel(t, in->relationship, now, in->brand, &foreign);
	if (foreign)
		return APP_NOT_FOUND;
	if (r == NULL) {
		struct store_relationship sr;
		int rc = store_relationship_get(t->reads, in->relationship,
						NULL, &sr);
		if (rc == STORE_OK)
			store_relationship_clear(&sr);
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	}
	if (in->brand != 0 && r->brand != in->brand)
		return APP_NOT_FOUND;
	struct person_entry *p = gate_state_person(t, r->person, now);
	if (p == NULL)
		return APP_FAULT;
	/* Content is sealed with the person's data key, unwrapped once for
	 * this message and zeroed after it; a campaign's recipients carry
	 * none (its body is the campaign's). */
	struct sealed_key k = { 0 };
	if ((in->dedup || in->sender || in->subject || in->headers ||
	     (in->body && in->campaign == 0)) &&
	    sealed_key(t->reads, t->keys, r->person, &k) == APP_FAULT)
		return APP_FAULT;
	enum app_status rc = message_decide_keyed(t, in, r, p, &k, out);
	sealed_key_clear(&k);
	return rc;
}

static enum app_status
message_decide_keyed(struct app_tx *t, const struct message_in *in,
		     struct rel_entry *r, struct person_entry *p,
		     const struct sealed_key *k, struct message_out *out)
{
	int64_t now = in->now_ms / 1000;
	int16_t topic = GATE_TOPIC_NONE;
	if (in->topic) {
		int known = gate_state_topic(r, in->topic);
		topic = known >= 0 ? (int16_t)known : GATE_TOPIC_OTHER;
	}
	unsigned ch = (unsigned)in->channel < CHANNEL_COUNT
			      ? (unsigned)in->channel
			      : 0;
	struct gate_input gi =
		gate_input_of(t->cfg, r, p, ch, topic, now, GATE_STAGE_FULL);
	gi.channel = (uint8_t)in->channel; /* as given: row 5 judges it */
	gi.sender_is_brand = in->sender_is_brand;
	/* The sender is judged before the duplicate check: a stranger who
	 * replays the brand's Message-ID and body is a leak (row 2), not a
	 * retry. */
	if (in->dedup && in->sender_is_brand && k->person != 0) {
		bool found = false;
		uint8_t keyed[16];
		if (sealed_dedup(k, in->dedup, keyed) != 0 ||
		    store_attempt_dup(t->reads, r->id, keyed, &found) !=
			    STORE_OK)
			return APP_FAULT;
		if (found) {
			/* The same message to the same alias again (an MTA's
			 * retry): delivered once, answered as before. */
			memset(out, 0, sizeof(*out));
			out->duplicate = true;
			out->silent = p->global.silent;
			return APP_OK;
		}
	}
	struct gate_decision d = gate_decide(&gi);
	metrics_decision(d.outcome, d.reason);

	bool keep_body = d.outcome != GATE_REFUSE && in->campaign == 0;
	struct store_attempt at = {
		.id = store_new_time_key(in->now_ms),
		.person = r->person,
		.relationship = r->id,
		.brand = r->brand,
		.campaign = in->campaign,
		.channel = in->channel,
		.topic = in->topic,
		.decision = d.outcome,
		.reason = d.reason,
		.folder = d.outcome == GATE_DELIVER ? d.folder : -1,
		.deliver_at = d.outcome == GATE_HOLD ? d.deliver_at : 0,
		.decided_at = d.outcome == GATE_DELIVER ? now : 0,
		.exempt = d.exempt,
		.received_at = now,
		.sender = in->sender,
		.sender_verified = in->sender_verified,
		.subject = in->subject,
		.dedup = in->dedup,
		.headers = in->headers,
		.headers_len = in->headers_len,
		.body = keep_body ? in->body : NULL,
		.body_len = keep_body ? in->body_len : 0,
		.sealed = true, /* sealed below, or nothing to seal */
	};
	struct sealed_attempt sealed;
	if (k->person != 0 && sealed_attempt(k, &at, &sealed) != 0)
		return APP_FAULT;
	if (k->person == 0) {
		/* No key: a campaign's recipient (no content of its own), or
		 * an erased person, for whom nothing is kept but the fact of
		 * the (refused) attempt. */
		at.sender = at.subject = at.headers = at.body = NULL;
		at.headers_len = at.body_len = 0;
		at.dedup = NULL;
	}
	int rc = in->batch && k->person == 0 ? message_batch_add(in->batch, &at)
					     : store_attempt_insert(t->tx, &at);
	if (k->person != 0)
		sealed_attempt_clear(&sealed);
	if (rc != STORE_OK)
		return app_from_store(rc);

	if (d.outcome != GATE_REFUSE &&
	    gate_state_apply(t, r, p, ch, &d, now, 0) != APP_OK)
		return APP_FAULT;
	if (d.outcome == GATE_DELIVER &&
	    message_outbox_tx(t, r->person, at.id, STORE_OUTBOX_DELIVER, -1,
			      now) != APP_OK)
		return APP_FAULT;
	out->id = at.id;
	out->decision = d;
	out->silent = p->global.silent;
	out->duplicate = false;
	return APP_OK;
}

/* ---- Strangers, at the person's own address ---- */

enum app_status message_stranger_tx(struct app_tx *t, uint64_t person,
				    bool refuse, const struct message_in *in,
				    struct message_out *out)
{
	int64_t now = in->now_ms / 1000;
	struct person_entry *p = gate_state_person(t, person, now);
	if (p == NULL)
		return APP_FAULT;
	/* The terms a stranger gets: email, any topic, to Later, no cap of
	 * its own; the person's global terms decide the rest. */
	struct terms_compiled st;
	memset(&st, 0, sizeof(st));
	st.channels = 1u << CHANNEL_EMAIL;
	st.topics_all = true;
	st.folder = FOLDER_LATER;
	struct window_set none = { 0 };
	memset(none.at, -1, sizeof(none.at));
	struct gate_input gi = {
		.terms = &st,
		.global = &p->global,
		.tz = p->tz,
		.window = gate_state_window(&none, CHANNEL_EMAIL),
		.exempt = gate_state_window(&none, WINDOW_EXEMPT),
		.global_window = gate_state_window(&p->wins, CHANNEL_EMAIL),
		.now = now,
		.hold_queue = t->cfg->hold_queue,
		.topic = GATE_TOPIC_NONE,
		.stage = GATE_STAGE_FULL,
		.channel = CHANNEL_EMAIL,
		.rel_state = REL_ACTIVE,
		.alias_known = true,
		.sender_is_brand = true,
	};
	struct gate_decision d = gate_decide(&gi);
	/* Never held: there is no relationship to hold it for. Over the
	 * global cap it is refused; inside quiet hours it lands in Later,
	 * which disturbs no one (a stranger's message is never pushed to a
	 * webhook or forwarded, see below). */
	if (d.outcome == GATE_HOLD && d.reason == GATE_QUIET_HOURS)
		d = (struct gate_decision){ .outcome = GATE_DELIVER,
					    .reason = GATE_OK,
					    .folder = FOLDER_LATER };
	else if (d.outcome == GATE_HOLD)
		d = (struct gate_decision){ .outcome = GATE_REFUSE,
					    .reason = d.reason };
	if (refuse && d.outcome != GATE_REFUSE)
		d = (struct gate_decision){ .outcome = GATE_REFUSE,
					    .reason = GATE_STRANGER };
	metrics_decision(d.outcome, d.reason);
	bool keep_body = d.outcome == GATE_DELIVER;
	struct store_attempt at = {
		.id = store_new_time_key(in->now_ms),
		.person = person,
		.channel = CHANNEL_EMAIL,
		.topic = in->topic,
		.decision = d.outcome,
		.reason = d.reason,
		.folder = keep_body ? d.folder : -1,
		.decided_at = keep_body ? now : 0,
		.received_at = now,
		.sender = in->sender,
		.subject = in->subject,
		.headers = in->headers,
		.headers_len = in->headers_len,
		.body = keep_body ? in->body : NULL,
		.body_len = keep_body ? in->body_len : 0,
		.sealed = true,
	};
	struct sealed_key k = { 0 };
	struct sealed_attempt sealed = { 0 };
	int st_key = sealed_key(t->reads, t->keys, person, &k);
	if (st_key != APP_OK) {
		sealed_key_clear(&k);
		return st_key == APP_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	}
	int rc = sealed_attempt(&k, &at, &sealed) != 0 ? STORE_FAULT : STORE_OK;
	sealed_key_clear(&k);
	if (rc == STORE_OK)
		rc = store_attempt_insert(t->tx, &at);
	sealed_attempt_clear(&sealed);
	if (rc != STORE_OK)
		return app_from_store(rc);
	/* A stranger's message counts in the person's caps; it goes to the
	 * Maildir's Later, and never to the webhook or the forward: the
	 * own address keeps strangers away from the person's mailbox. */
	if (keep_body && (gate_state_apply(t, NULL, p, CHANNEL_EMAIL, &d, now,
					   0) != APP_OK ||
			  outbox_tx(t, person, at.id, STORE_OUTBOX_DELIVER, -1,
				    now, false) != APP_OK))
		return APP_FAULT;
	out->id = at.id;
	out->decision = d;
	out->silent = false;
	out->duplicate = false;
	return APP_OK;
}

enum app_status message_rcpt_tx(struct app_tx *t, uint64_t relationship,
				const char *sender, int64_t now_ms,
				struct message_out *out)
{
	int64_t now = now_ms / 1000;
	memset(out, 0, sizeof(*out));
	struct rel_entry *r = gate_state_rel(t, relationship, now, 0, NULL);
	if (r == NULL)
		return APP_FAULT;
	struct person_entry *p = gate_state_person(t, r->person, now);
	if (p == NULL)
		return APP_FAULT;
	struct gate_input gi =
		gate_input_of(t->cfg, r, p, CHANNEL_EMAIL, GATE_TOPIC_NONE, now,
			      GATE_STAGE_RCPT);
	struct gate_decision d = gate_decide(&gi);
	out->decision = d;
	out->silent = p->global.silent;
	/* A pass says nothing yet: the message is decided at LMTP. So is a
	 * refusal for a person whose refusals are silent (accepted there and
	 * recorded then). */
	if (d.outcome != GATE_REFUSE || out->silent)
		return APP_OK;
	metrics_decision(d.outcome, d.reason);
	struct store_attempt at = {
		.id = store_new_time_key(now_ms),
		.person = r->person,
		.relationship = r->id,
		.brand = r->brand,
		.channel = CHANNEL_EMAIL,
		.decision = d.outcome,
		.reason = d.reason,
		.folder = -1,
		.received_at = now,
		.sender = sender,
		.sender_verified = false,
		.sealed = true, /* sealed below, or nothing to seal */
	};
	/* The (unverified) sender of a refusal at RCPT is personal too. */
	struct sealed_key k = { 0 };
	struct sealed_attempt sealed = { 0 };
	int rc = STORE_OK;
	if (sender) {
		int st = sealed_key(t->reads, t->keys, r->person, &k);
		if (st == APP_NOT_FOUND)
			at.sender = NULL; /* erased: nothing personal kept */
		else if (st != APP_OK || sealed_attempt(&k, &at, &sealed) != 0)
			rc = STORE_FAULT;
	}
	sealed_key_clear(&k);
	if (rc == STORE_OK)
		rc = store_attempt_insert(t->tx, &at);
	sealed_attempt_clear(&sealed);
	if (rc != STORE_OK)
		return app_from_store(rc);
	out->id = at.id;
	return APP_OK;
}

struct message_job {
	const struct message_in *in;
	struct message_out *out;
	int status;
};

static int message_job_run(struct app_tx *t, void *arg)
{
	struct message_job *j = arg;
	j->status = message_decide_tx(t, j->in, j->out);
	return j->status == APP_OK ? STORE_OK : STORE_INVALID;
}

json_t *message_brand_json(const struct message_out *out)
{
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, out->id, id);
	const struct gate_decision *d = &out->decision;
	bool accepted = gate_brand_accepted(d);
	return json_pack("{s:s,s:s,s:o}", "id", id, "decision",
			 accepted ? "accepted" : "refused", "reason",
			 accepted ? json_null()
				  : json_string(gate_reasons[d->reason].brand));
}

json_t *message_brand_state_json(const struct store_brand_attempt *a,
				 int64_t now)
{
	char id[ID_SIZE], rel[ID_SIZE];
	id_encode(ID_MESSAGE, a->id, id);
	id_encode(ID_RELATIONSHIP, a->relationship, rel);
	struct brand_state_row row = { a->decision, a->reason, a->refused_at };
	const char *reason = brand_state_reason(&row, now);
	json_t *o =
		json_pack("{s:s,s:s,s:s,s:o}", "id", id, "relationship", rel,
			  "state", brand_states[brand_state_of(&row, now)],
			  "created_at", app_time_json(a->received_at));
	if (o && reason)
		json_object_set_new(o, "reason", json_string(reason));
	if (o && a->campaign) {
		char cmp[ID_SIZE];
		id_encode(ID_CAMPAIGN, a->campaign, cmp);
		json_object_set_new(o, "campaign", json_string(cmp));
	}
	return o;
}

enum app_status message_brand_get(struct app *a, uint64_t brand, uint64_t id,
				  int64_t now, json_t **out,
				  struct app_error *err)
{
	struct store_brand_attempt m;
	*out = NULL;
	int rc = store_attempt_of_brand(a->reads, id, &m);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && m.brand != brand))
		return app_fail(err, APP_NOT_FOUND, NULL, "no such message");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	if ((*out = message_brand_state_json(&m, now)) == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	return APP_OK;
}

struct send_job {
	const struct message_in *in;
	struct message_out *out;
	int status;
	char idem_key[130]; /* "" without Idempotency-Key */
	uint8_t idem_hash[32];
};

static int send_run(struct app_tx *t, void *arg)
{
	struct send_job *j = arg;
	j->status = message_decide_tx(t, j->in, j->out);
	/* Nothing is recorded for a relationship that is not the brand's. */
	if (j->status != APP_OK)
		return STORE_INVALID;
	if (j->idem_key[0] == '\0')
		return STORE_OK;
	/* The answer is kept in the same transaction as the effect, so a
	 * retry gets exactly it. */
	json_t *answer = message_brand_json(j->out);
	struct store_idem v = { .status = 201,
				.created_at = j->in->now_ms / 1000 };
	memcpy(v.request, j->idem_hash, 32);
	v.response = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
	json_decref(answer);
	int rc = v.response
			 ? store_idem_put(t->tx, j->in->brand, j->idem_key, &v)
			 : STORE_FAULT;
	free(v.response);
	return rc;
}

static enum app_status send_finish(void *job, int rc, struct app_error *err)
{
	struct send_job *j = job;
	if (j->status == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "relationship",
				"no such relationship");
	if (rc == STORE_CONFLICT && j->idem_key[0])
		return app_fail(err, APP_CONFLICT, "Idempotency-Key",
				"this Idempotency-Key is taken");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the message could not be recorded");
	return APP_OK;
}

enum app_status message_send_begin(struct app *a, const struct message_in *in,
				   const char *idem_key,
				   const uint8_t idem_hash[32],
				   struct message_out *out, struct app_write *w,
				   struct app_error *err)
{
	(void)a; /* the job reads what it needs */
	struct send_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	j->in = in;
	j->out = out;
	j->status = APP_FAULT;
	if (idem_key && idem_key[0]) {
		snprintf(j->idem_key, sizeof(j->idem_key), "%s", idem_key);
		memcpy(j->idem_hash, idem_hash, 32);
	}
	*w = (struct app_write){ send_run, j, false, send_finish, free };
	return APP_OK;
}

enum app_status message_idem_answer(struct app *a, uint64_t brand,
				    const char *key, const uint8_t hash[32],
				    int *status, char **response,
				    struct app_error *err)
{
	struct store_idem v;
	*response = NULL;
	int rc = store_idem_get(a->reads, brand, key, &v);
	if (rc == STORE_NOT_FOUND)
		return APP_NOT_FOUND;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	if (v.created_at < app_now_ms() / 1000 - MESSAGE_IDEM_TTL) {
		free(v.response);
		return APP_NOT_FOUND; /* expired: a new request */
	}
	if (sodium_memcmp(v.request, hash, 32) != 0) {
		free(v.response);
		return app_fail(err, APP_INVALID, "Idempotency-Key",
				"this Idempotency-Key was used for another "
				"request");
	}
	if (v.status == 0) {
		free(v.response);
		return app_fail(err, APP_CONFLICT, "Idempotency-Key",
				"a request with this Idempotency-Key is in "
				"progress, or was cut short: it is not run "
				"twice");
	}
	*status = v.status;
	*response = v.response;
	return APP_OK;
}

enum app_status message_send(struct app *a, const struct message_in *in,
			     struct message_out *out, struct app_error *err)
{
	struct message_job j = { in, out, APP_FAULT };
	int rc = app_job_run(a, message_job_run, &j, false);
	if (rc == STORE_OK)
		return APP_OK;
	if (j.status == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "relationship",
				"no such relationship");
	return app_fail(err, APP_FAULT, NULL,
			"the message could not be recorded; try again");
}

/* The gate's input for a held attempt of relationship r. */
static struct gate_input held_input(const struct config *cfg,
				    struct rel_entry *r, struct person_entry *p,
				    int channel, const char *topic, int64_t now,
				    int stage)
{
	int16_t tp = GATE_TOPIC_NONE;
	if (topic && *topic) {
		int k = gate_state_topic(r, topic);
		tp = k >= 0 ? (int16_t)k : GATE_TOPIC_OTHER;
	}
	unsigned ch = (unsigned)channel < CHANNEL_COUNT ? (unsigned)channel : 0;
	struct gate_input gi = gate_input_of(cfg, r, p, ch, tp, now, stage);
	gi.held = r->held > 0 ? r->held - 1 : 0; /* not itself */
	gi.channel = (uint8_t)channel;
	return gi;
}

/* Records decision d of held attempt `attempt`: the row (once: it must
 * still be held), the gate's state (leaving the queue lowers the held
 * count; a delivery is counted in its windows) and the outbox. */
static enum app_status held_record(struct app_tx *t, uint64_t attempt,
				   struct rel_entry *r, struct person_entry *p,
				   int channel, const struct gate_decision *d,
				   int64_t now)
{
	unsigned ch = (unsigned)channel < CHANNEL_COUNT ? (unsigned)channel : 0;
	int rc = d->reason == GATE_DISCARDED
			 ? store_attempt_discard(t->tx, attempt, d->reason)
			 : store_attempt_redecide(
				   t->tx, attempt, d->outcome, d->reason,
				   d->outcome == GATE_DELIVER ? d->folder : -1,
				   d->outcome == GATE_HOLD ? d->deliver_at : 0,
				   d->outcome == GATE_DELIVER ? now : 0,
				   d->exempt, now);
	if (rc != STORE_OK)
		return app_from_store(rc);
	if (gate_state_apply(t, r, p, ch, d, now, -1) != APP_OK)
		return APP_FAULT;
	if (d->outcome == GATE_DELIVER &&
	    message_outbox_tx(t, r->person, attempt, STORE_OUTBOX_DELIVER, -1,
			      now) != APP_OK)
		return APP_FAULT;
	return APP_OK;
}

enum app_status message_release_tx(struct app_tx *t, uint64_t attempt,
				   uint64_t relationship, int channel,
				   const char *topic, int64_t now,
				   struct gate_decision *out)
{
	/* Nothing is written before these loads: when one fails the attempt
	 * is skipped (it stays held, and is tried again next round) instead
	 * of failing every other release of the round. */
	struct rel_entry *r = gate_state_rel(t, relationship, now, 0, NULL);
	struct person_entry *p =
		r ? gate_state_person(t, r->person, now) : NULL;
	if (p == NULL) {
		log_warn("scheduler: held attempt %016llx skipped: its "
			 "relationship cannot be loaded",
			 (unsigned long long)attempt);
		return APP_NOT_FOUND;
	}
	struct gate_input gi = held_input(t->cfg, r, p, channel, topic, now,
					  GATE_STAGE_RELEASE);
	struct gate_decision d = gate_decide(&gi);
	metrics_decision(d.outcome, d.reason);
	enum app_status rc = held_record(t, attempt, r, p, channel, &d, now);
	if (rc == APP_OK)
		*out = d;
	return rc;
}

/* ---- Released or discarded by the person ---- */

struct by_hand_job {
	uint64_t person, attempt;
	bool release;
	struct gate_decision *out;
	int status;	      /* enum app_status */
	uint8_t not_released; /* rows 3–8 refused the release: the reason */
};

static int by_hand_run(struct app_tx *t, void *arg)
{
	struct by_hand_job *j = arg;
	int64_t now = t->now_ms / 1000;
	struct store_message m;
	int rc = store_message_get(t->reads, j->attempt, &m);
	j->status = rc == STORE_NOT_FOUND ? APP_NOT_FOUND
		    : rc != STORE_OK	  ? APP_FAULT
					  : APP_OK;
	if (rc != STORE_OK)
		return STORE_INVALID;
	uint64_t person = m.person, relationship = m.relationship;
	int decision = m.decision, channel = m.channel;
	char topic[sizeof(m.topic)];
	memcpy(topic, m.topic, sizeof(topic));
	store_message_clear(&m);
	/* Another's message is no different from none. */
	if (person != j->person || relationship == 0) {
		j->status = APP_NOT_FOUND;
		return STORE_INVALID;
	}
	if (decision != GATE_HOLD) {
		j->status = APP_CONFLICT;
		return STORE_INVALID;
	}
	struct rel_entry *r = gate_state_rel(t, relationship, now, 0, NULL);
	struct person_entry *p =
		r ? gate_state_person(t, r->person, now) : NULL;
	if (p == NULL) {
		j->status = APP_FAULT;
		return STORE_INVALID;
	}
	struct gate_decision d = { .outcome = GATE_REFUSE,
				   .reason = GATE_DISCARDED };
	if (j->release) {
		struct gate_input gi = held_input(t->cfg, r, p, channel, topic,
						  now, GATE_STAGE_BY_HAND);
		d = gate_decide(&gi);
		if (d.outcome != GATE_DELIVER) {
			/* It stays held: the scheduler decides it when due. */
			j->not_released = d.reason;
			j->status = APP_CONFLICT;
			return STORE_INVALID;
		}
	}
	metrics_decision(d.outcome, d.reason);
	j->status = held_record(t, j->attempt, r, p, channel, &d, now);
	if (j->status == APP_NOT_FOUND)
		j->status = APP_CONFLICT; /* released meanwhile */
	if (j->status != APP_OK)
		return STORE_INVALID;
	*j->out = d;
	return STORE_OK;
}

static enum app_status by_hand_finish(void *job, int rc, struct app_error *err)
{
	struct by_hand_job *j = job;
	if (j->status == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "id", "no such message");
	if (j->status == APP_CONFLICT && j->not_released)
		return app_fail(err, APP_CONFLICT, "id",
				"the message cannot be released: %s (%s)",
				gate_reasons[j->not_released].wire,
				gate_reasons[j->not_released].person);
	if (j->status == APP_CONFLICT)
		return app_fail(err, APP_CONFLICT, "id",
				"the message is not held");
	if (j->status != APP_OK || rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the message could not be changed; try again");
	return APP_OK;
}

enum app_status message_by_hand_begin(struct app *a, uint64_t person,
				      uint64_t attempt, bool release,
				      struct gate_decision *out,
				      struct app_write *w,
				      struct app_error *err)
{
	(void)a; /* the job reads what it needs */
	struct by_hand_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct by_hand_job){ .person = person,
				   .attempt = attempt,
				   .release = release,
				   .out = out,
				   .status = APP_FAULT };
	*w = (struct app_write){ by_hand_run, j, false, by_hand_finish, free };
	return APP_OK;
}
