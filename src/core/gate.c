/*
 * gate.c — gate_decide(), rows 1–12 of gate.h in order, and the one
 * table of reason codes. Everything it needs arrives in struct gate_input;
 * it reads no clock, allocates nothing and touches no file.
 */
#include "gate.h"

#include <string.h>

#include "quiet.h"

const char *const gate_outcomes[GATE_OUTCOME_COUNT] = { "deliver", "hold",
							"refuse" };

const char *gate_outcome_name(int outcome)
{
	return gate_outcomes[outcome >= 0 && outcome < GATE_OUTCOME_COUNT
				     ? outcome
				     : GATE_REFUSE];
}

int gate_outcome_parse(const char *name)
{
	for (int i = 0; i < GATE_OUTCOME_COUNT; i++)
		if (strcmp(name, gate_outcomes[i]) == 0)
			return i;
	return -1;
}

const struct gate_reason_info gate_reasons[GATE_REASON_COUNT] = {
	[GATE_OK] = { "ok", NULL, "250 2.0.0 accepted", "delivered" },
	[GATE_UNKNOWN_ALIAS] = { "unknown_alias", "not_accepted",
				 "550 5.1.1 recipient not accepted",
				 "no such alias" },
	[GATE_SENDER_NOT_BRAND] = { "sender_not_brand", "not_accepted",
				    "550 5.1.1 recipient not accepted",
				    "sent by someone other than the brand: "
				    "the alias has leaked" },
	[GATE_RELATIONSHIP_ENDED] = { "relationship_ended",
				      "relationship_ended",
				      "550 5.7.1 relationship_ended",
				      "the relationship has ended" },
	[GATE_CONSENT_EXPIRED] = { "consent_expired", "consent_expired",
				   "550 5.7.1 consent_expired",
				   "your consent has expired" },
	[GATE_CHANNEL_DO_NOT_CONTACT] = { "channel_do_not_contact",
					  "channel_not_permitted",
					  "550 5.7.1 channel_not_permitted",
					  "the channel is on your "
					  "do-not-contact "
					  "list" },
	[GATE_CHANNEL_NOT_PERMITTED] = { "channel_not_permitted",
					 "channel_not_permitted",
					 "550 5.7.1 channel_not_permitted",
					 "the channel is not granted to this "
					 "brand" },
	[GATE_TOPIC_MISSING] = { "topic_missing", "topic_missing",
				 "550 5.7.1 topic_missing",
				 "the message names no topic" },
	[GATE_TOPIC_NOT_WANTED] = { "topic_not_wanted", "topic_not_wanted",
				    "550 5.7.1 topic_not_wanted",
				    "you do not want this topic" },
	[GATE_FREQUENCY_CAP] = { "frequency_cap", "frequency_cap",
				 "550 5.7.1 frequency_cap",
				 "over this brand's cap" },
	[GATE_GLOBAL_FREQUENCY_CAP] = { "global_frequency_cap", "not_accepted",
					"550 5.7.1 not_accepted",
					"over your cap across all brands" },
	[GATE_QUIET_HOURS] = { "quiet_hours", NULL, "250 2.0.0 accepted",
			       "held for your quiet hours" },
	[GATE_HOLD_QUEUE_FULL] = { "hold_queue_full", "not_accepted",
				   "550 5.7.1 not_accepted",
				   "too many messages already held" },
	[GATE_DISCARDED] = { "discarded", "not_accepted",
			     "550 5.7.1 not_accepted",
			     "you discarded it while it was held" },
	[GATE_STRANGER] = { "stranger", "not_accepted",
			    "550 5.7.1 not_accepted",
			    "from a sender you have no relationship with; "
			    "your own address refuses them" },
};

int gate_reason_parse(const char *wire)
{
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		if (strcmp(gate_reasons[i].wire, wire) == 0)
			return i;
	return -1;
}

static struct gate_decision gate_refuse(enum gate_reason r)
{
	return (struct gate_decision){ .outcome = GATE_REFUSE,
				       .reason = (uint8_t)r };
}

static uint8_t gate_folder(const struct gate_input *in)
{
	const struct terms_compiled *t = in->terms;

	/* Muting sends everything to Later, whatever the topic's folder:
	 * the person asked not to be disturbed by this brand. */
	if (in->rel_state == REL_MUTED)
		return FOLDER_LATER;
	if (in->topic >= 0)
		for (int i = 0; i < t->n_topic_folders; i++)
			if (t->topic_folders[i].topic == in->topic)
				return t->topic_folders[i].folder;
	return t->folder;
}

struct gate_decision gate_decide(const struct gate_input *in)
{
	const struct terms_compiled *t = in->terms;
	const struct global_compiled *g = in->global;
	unsigned ch = in->channel;
	/* No shift by the raw index: a channel byte from outside may be up
	 * to 255, and 1u << 32 and beyond is undefined. */
	unsigned bit = ch < CHANNEL_COUNT ? 1u << ch : 0;

	if (in->stage != GATE_STAGE_RELEASE &&
	    in->stage != GATE_STAGE_BY_HAND) {
		if (!in->alias_known) /* 1 */
			return gate_refuse(GATE_UNKNOWN_ALIAS);
		if (in->stage == GATE_STAGE_FULL &&
		    !in->sender_is_brand) /* 2 */
			return gate_refuse(GATE_SENDER_NOT_BRAND);
	}
	if (in->rel_state == REL_ENDED) /* 3 */
		return gate_refuse(GATE_RELATIONSHIP_ENDED);
	if (t->expires_at != 0 && in->now >= t->expires_at) /* 4 */
		return gate_refuse(GATE_CONSENT_EXPIRED);
	if (ch >= CHANNEL_COUNT || (g->do_not_contact & bit)) /* 5 */
		return gate_refuse(ch >= CHANNEL_COUNT
					   ? GATE_CHANNEL_NOT_PERMITTED
					   : GATE_CHANNEL_DO_NOT_CONTACT);
	if (!(t->channels & bit)) /* 6 */
		return gate_refuse(GATE_CHANNEL_NOT_PERMITTED);
	if (in->stage == GATE_STAGE_RCPT)
		return (struct gate_decision){ .outcome = GATE_DELIVER,
					       .reason = GATE_OK };

	/* An index past the 64-bit masks is no topic of the table. */
	int topic = in->topic < TERMS_MAX_TOPICS ? in->topic : GATE_TOPIC_OTHER;
	bool restricted = !t->topics_all;
	if (restricted && topic == GATE_TOPIC_NONE) /* 7 */
		return gate_refuse(GATE_TOPIC_MISSING);
	if (restricted && (topic < 0 || !((t->topics >> topic) & 1))) /* 8 */
		return gate_refuse(GATE_TOPIC_NOT_WANTED);

	bool exempt = topic >= 0 && ((t->exempt >> topic) & 1);
	if (in->stage == GATE_STAGE_BY_HAND)
		return (struct gate_decision){ .outcome = GATE_DELIVER,
					       .reason = GATE_OK,
					       .folder = gate_folder(in),
					       .exempt = exempt };
	bool hold = false;
	enum gate_reason why = GATE_OK;
	cmr_time until = 0;

	/* 9: the relationship's cap, or the exempt topics' own cap. */
	const struct cap *cap = exempt ? &t->exempt_cap : &t->cap[ch];
	const struct window *w = exempt ? in->exempt : in->window;
	if (cap->unit != CAP_NONE &&
	    window_reached(w, cap, in->tz, in->now, &until)) {
		if (!(t->hold & bit) || until == WINDOW_NEVER)
			return gate_refuse(GATE_FREQUENCY_CAP);
		hold = true;
		why = GATE_FREQUENCY_CAP;
	}
	/* 10: the person's cap over all brands; exempt topics skip it. */
	if (!hold && !exempt && g->cap[ch].unit != CAP_NONE &&
	    window_reached(in->global_window, &g->cap[ch], in->tz, in->now,
			   &until)) {
		if (!(g->hold & bit) || until == WINDOW_NEVER)
			return gate_refuse(GATE_GLOBAL_FREQUENCY_CAP);
		hold = true;
		why = GATE_GLOBAL_FREQUENCY_CAP;
	}
	/* 11: quiet hours, the relationship's own or else the global ones. */
	if (!hold) {
		const struct quiet_hours *q =
			t->quiet.set ? &t->quiet : &g->quiet;
		if (q->set && quiet_active(q, in->tz, in->now, &until)) {
			hold = true;
			why = GATE_QUIET_HOURS;
		}
	}
	if (hold) {
		if (in->held >= in->hold_queue) /* 12 */
			return gate_refuse(GATE_HOLD_QUEUE_FULL);
		return (struct gate_decision){ .outcome = GATE_HOLD,
					       .reason = (uint8_t)why,
					       .deliver_at = until,
					       .exempt = exempt };
	}
	return (struct gate_decision){ .outcome = GATE_DELIVER,
				       .reason = GATE_OK,
				       .folder = gate_folder(in),
				       .exempt = exempt };
}
