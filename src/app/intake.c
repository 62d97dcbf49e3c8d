/*
 * intake.c — mail after DATA, every recipient in one job (see intake.h).
 */
#include "app/intake.h"

#include <string.h>

#include "app/delivery.h"
#include "app/message.h"
#include "app/own_address.h"
#include "app/person_made.h"
#include "base/log.h"
#include "core/channel.h"
#include "core/gate.h"
#include "store/store.h"

struct intake_job {
	const struct intake_message *m;
	struct intake_result *out;
};

/* Row 2: whether the sender is the brand of relationship r — a brand on
 * cmr by its domains; the brand of a person-made relationship by the
 * domains the person named. */
static bool intake_brand_sent(const struct intake_message *m,
			      const struct store_relationship *r)
{
	return r->brand != 0
		       ? m->from_brand != 0 && m->from_brand == r->brand
		       : m->from_ok && person_made_sender_is(
					       r->domains, m->from_domain,
					       m->from_org ? m->from_org : "");
}

/* Mail for relationship r (cleared here): decided, recorded. */
static int intake_rel(struct app_tx *t, const struct intake_message *m,
		      struct store_relationship *rr, struct intake_result *o)
{
	struct store_relationship r = *rr;
	bool brand_sent = intake_brand_sent(m, &r);
	/* A brand not on cmr names no topic: its mail is bulk or direct,
	 * unless the sender it is names one. */
	const char *topic = m->topic;
	if (r.brand == 0 && (topic == NULL || !brand_sent))
		topic = m->bulk ? TOPIC_BULK : TOPIC_DIRECT;
	/* RFC 8058: kept only from mail the MTA vouched for with an aligned
	 * DKIM signature, and only used when the person ends the
	 * relationship. */
	if (brand_sent && m->dkim && m->unsubscribe[0] &&
	    (r.unsubscribe == NULL || strcmp(r.unsubscribe, m->unsubscribe)) &&
	    store_relationship_set_unsubscribe(t->tx, r.id, m->unsubscribe) !=
		    STORE_OK) {
		store_relationship_clear(&r);
		return STORE_FAULT;
	}
	uint64_t rel = r.id;
	store_relationship_clear(&r);
	struct message_in in = {
		.brand = 0, /* the sender is judged by row 2 */
		.relationship = rel,
		.channel = CHANNEL_EMAIL,
		.topic = topic,
		.subject = m->subject,
		.body = m->data,
		.body_len = m->len,
		.sender_is_brand = brand_sent,
		.sender = m->sender,
		.sender_verified = brand_sent && m->verified,
		.dedup = m->dedup,
		.headers = m->data,
		.headers_len = m->header_len,
		.now_ms = m->at_ms ? m->at_ms : t->now_ms,
	};
	struct message_out mo = { 0 };
	if (message_decide_tx(t, &in, &mo) != APP_OK)
		return STORE_FAULT; /* the whole message: try again */
	const struct gate_decision *d = &mo.decision;
	/* A stranger gets the uniform reply whatever the person's refusals
	 * are: silence is for the alias's own brand, and a 250 would tell
	 * the stranger that the alias is real. */
	if (!mo.duplicate && d->outcome == GATE_REFUSE &&
	    d->reason == GATE_SENDER_NOT_BRAND)
		o->outcome = INTAKE_UNIFORM;
	else if (mo.duplicate || d->outcome != GATE_REFUSE || mo.silent)
		o->outcome = INTAKE_ACCEPTED;
	else
		*o = (struct intake_result){ INTAKE_REFUSED, d->reason };
	return STORE_OK;
}

/* The first relationship of the person, not ended, whose brand sent m. */
struct own_match {
	const struct intake_message *m;
	uint64_t rel;
};

static int own_match_one(const struct store_relationship *r, void *arg)
{
	struct own_match *w = arg;
	if (!intake_brand_sent(w->m, r))
		return 0;
	w->rel = r->id;
	return 1;
}

/* Mail to a person's own address (app/own_address.h): from a blocked
 * domain, the uniform refusal and nothing recorded; from the brand of
 * one of the person's relationships, filed as if it had written to that
 * alias; from a stranger, to Later or refused, as the person chose. */
static int intake_own(struct app_tx *t, const struct intake_message *m,
		      const char *rcpt, struct intake_result *o)
{
	struct store_own_address own;
	char addr[sizeof(own.address)];
	o->outcome = INTAKE_UNIFORM;
	if (!own_address_normal(rcpt, addr, sizeof(addr)))
		return STORE_OK;
	int rc = store_own_address_get(t->reads, 0, addr, &own);
	if (rc != STORE_OK) {
		o->outcome =
			rc == STORE_NOT_FOUND ? INTAKE_UNIFORM : INTAKE_FAULT;
		return STORE_OK;
	}
	uint64_t person = own.person;
	bool refuse = own.strangers == OWN_STRANGERS_REFUSE;
	bool blocked = own_address_blocks(own.blocked, m->from_domain,
					  m->from_org ? m->from_org : "");
	store_own_address_clear(&own);
	if (blocked)
		return STORE_OK;
	struct own_match w = { m, 0 };
	if (m->from_ok &&
	    store_relationship_list(
		    t->reads,
		    &(struct store_relationship_filter){ .person = person,
							 .open = true,
							 .limit = INT32_MAX },
		    own_match_one, &w) != STORE_OK) {
		o->outcome = INTAKE_FAULT;
		return STORE_OK;
	}
	if (w.rel != 0) {
		struct store_relationship r;
		rc = store_relationship_get(t->reads, w.rel, NULL, &r);
		if (rc != STORE_OK) {
			o->outcome = INTAKE_FAULT;
			return STORE_OK;
		}
		return intake_rel(t, m, &r, o);
	}
	struct message_in in = {
		.channel = CHANNEL_EMAIL,
		.topic = m->bulk ? TOPIC_BULK : TOPIC_DIRECT,
		.subject = m->subject,
		.body = m->data,
		.body_len = m->len,
		.sender = m->sender,
		.headers = m->data,
		.headers_len = m->header_len,
		.now_ms = m->at_ms ? m->at_ms : t->now_ms,
	};
	struct message_out mo = { 0 };
	enum app_status st = message_stranger_tx(t, person, refuse, &in, &mo);
	if (st == APP_NOT_FOUND)
		return STORE_OK; /* erased meanwhile: the uniform reply */
	if (st != APP_OK)
		return STORE_FAULT; /* the whole message: try again */
	/* A stranger learns nothing of the person's choices or caps. */
	if (mo.decision.outcome != GATE_REFUSE)
		o->outcome = INTAKE_ACCEPTED;
	return STORE_OK;
}

/* One alias: looked up through the job's transaction, decided, recorded;
 * an address that is no alias may be a person's own address. */
static int intake_alias(struct app_tx *t, const struct intake_message *m,
			const char *alias, struct intake_result *o)
{
	struct store_relationship r;
	int rc = store_relationship_get(t->reads, 0, alias, &r);
	if (rc == STORE_NOT_FOUND)
		return intake_own(t, m, alias, o);
	if (rc != STORE_OK) {
		o->outcome = INTAKE_FAULT;
		return STORE_OK;
	}
	return intake_rel(t, m, &r, o);
}

static int intake_run(struct app_tx *t, void *arg)
{
	struct intake_job *j = arg;
	const struct intake_message *m = j->m;
	for (int i = 0; i < m->n_rcpts; i++) {
		const struct intake_rcpt *rc = &m->rcpts[i];
		struct intake_result *o = &j->out[i];
		*o = (struct intake_result){ INTAKE_FAULT, 0 };
		if (rc->bounce) {
			/* A forward bounced: taken, so that the MTA does not
			 * bounce the bounce, and counted for the person its
			 * address names. */
			if (rc->bounce_of == 0)
				log_info("lmtp: a bounce came back for no "
					 "one in particular");
			else if (delivery_bounced_tx(t, rc->bounce_of,
						     t->now_ms / 1000) ==
				 STORE_FAULT)
				return STORE_FAULT;
			o->outcome = INTAKE_BOUNCE;
			continue;
		}
		int st = intake_alias(t, m, rc->alias, o);
		if (st != STORE_OK)
			return st;
	}
	return STORE_OK;
}

enum app_status intake_deliver(struct app *a, const struct intake_message *m,
			       struct intake_result *out)
{
	struct intake_job j = { m, out };
	if (app_job_run(a, intake_run, &j, false) == STORE_OK)
		return APP_OK;
	for (int i = 0; i < m->n_rcpts; i++)
		out[i] = (struct intake_result){ INTAKE_FAULT, 0 };
	return APP_FAULT;
}

enum app_status intake_brand_of(struct app *a, const char *domain,
				const char *org_domain, uint64_t *brand)
{
	*brand = 0;
	int rc = store_brand_by_domain(a->reads, domain, brand);
	if (rc == STORE_NOT_FOUND && org_domain && org_domain[0])
		rc = store_brand_by_domain(a->reads, org_domain, brand);
	if (rc == STORE_NOT_FOUND) {
		*brand = 0;
		return APP_OK;
	}
	return rc == STORE_OK ? APP_OK : APP_FAULT;
}
