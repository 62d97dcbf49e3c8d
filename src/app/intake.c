/*
 * intake.c — mail after DATA, every recipient in one job (see intake.h).
 */
#include "app/intake.h"

#include <string.h>

#include "app/delivery.h"
#include "app/message.h"
#include "app/person_made.h"
#include "base/log.h"
#include "core/channel.h"
#include "core/gate.h"
#include "store/store.h"

struct intake_job {
	const struct intake_message *m;
	struct intake_result *out;
};

/* One alias: looked up through the job's transaction, decided, recorded. */
static int intake_alias(struct app_tx *t, const struct intake_message *m,
			const char *alias, struct intake_result *o)
{
	struct store_relationship r;
	int rc = store_relationship_get(t->reads, 0, alias, &r);
	if (rc == STORE_NOT_FOUND) {
		o->outcome = INTAKE_UNIFORM;
		return STORE_OK;
	}
	if (rc != STORE_OK) {
		o->outcome = INTAKE_FAULT;
		return STORE_OK;
	}
	/* Row 2: a brand on cmr by its domains; the brand of a person-made
	 * relationship by the domains the person named. */
	bool brand_sent =
		r.brand != 0
			? m->from_brand != 0 && m->from_brand == r.brand
			: m->from_ok && person_made_sender_is(
						r.domains, m->from_domain,
						m->from_org ? m->from_org : "");
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
		.now_ms = t->now_ms,
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

uint64_t intake_brand_of(struct app *a, const char *domain,
			 const char *org_domain)
{
	uint64_t owner;
	if (store_brand_by_domain(a->reads, domain, &owner) == STORE_OK)
		return owner;
	if (org_domain && org_domain[0] &&
	    store_brand_by_domain(a->reads, org_domain, &owner) == STORE_OK)
		return owner;
	return 0;
}
