/*
 * gate.h — the gate: the pure function that decides every message.
 *
 * gate_decide() takes one input struct and returns a decision: deliver,
 * hold or refuse, with a stable reason code. No I/O, no allocation, no
 * clock, no time-zone database: the caller hands in `now`, the compiled
 * terms, the window state and the person's zone transitions. The rows
 * (enum gate_reason below, one per row) are checked in order and the
 * first that fails decides.
 *
 * Stages let the doors ask a part of the same question: the Postfix policy
 * service asks at RCPT time (rows 1 and 3–6 only: there is no message and
 * no authenticated sender yet), and the scheduler re-decides a held message
 * from row 3 on.
 */
#ifndef CMR_CORE_GATE_H
#define CMR_CORE_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "terms.h"
#include "tz.h"
#include "window.h"

enum gate_outcome { GATE_DELIVER, GATE_HOLD, GATE_REFUSE, GATE_OUTCOME_COUNT };

/* The outcomes' names on the wire ("deliver", "hold", "refuse"): the
 * only place they are spelled. gate_outcome_name maps anything out of
 * range to "refuse"; gate_outcome_parse gives -1 for an unknown name. */
extern const char *const gate_outcomes[GATE_OUTCOME_COUNT];
const char *gate_outcome_name(int outcome);
int gate_outcome_parse(const char *name);

/* One per row, in the order the rows are checked; the values are
 * stored, never renumber. */
enum gate_reason {
	GATE_OK = 0,
	GATE_UNKNOWN_ALIAS = 1,
	GATE_SENDER_NOT_BRAND = 2,
	GATE_RELATIONSHIP_ENDED = 3,
	GATE_CONSENT_EXPIRED = 4,
	GATE_CHANNEL_DO_NOT_CONTACT = 5,
	GATE_CHANNEL_NOT_PERMITTED = 6,
	GATE_TOPIC_MISSING = 7,
	GATE_TOPIC_NOT_WANTED = 8,
	GATE_FREQUENCY_CAP = 9,
	GATE_GLOBAL_FREQUENCY_CAP = 10,
	GATE_QUIET_HOURS = 11,
	GATE_HOLD_QUEUE_FULL = 12,
	GATE_DISCARDED = 13, /* not a row: the person discarded it while
				held (POST /v1/me/messages/{id}/discard) */
	GATE_STRANGER = 14,  /* not a row: mail to the person's own address
				from a sender with no relationship, which
				they chose to refuse (app/own_address.h) */
	GATE_REASON_COUNT
};

enum gate_stage {
	GATE_STAGE_FULL,    /* every row: a message over HTTP or LMTP */
	GATE_STAGE_RCPT,    /* rows 1, 3–6: Postfix policy at RCPT time */
	GATE_STAGE_RELEASE, /* rows 3–12: a held message come due */
	GATE_STAGE_BY_HAND, /* rows 3–8, then deliver: a held message its
			       person releases (caps and quiet hours are
			       the person's to waive) */
};

enum rel_state {
	REL_ACTIVE = 0,
	REL_MUTED = 1,
	REL_ENDED = 2,
};

#define GATE_TOPIC_NONE	 (-1) /* the message names no topic */
#define GATE_TOPIC_OTHER (-2) /* a topic not in the relationship's table */

struct gate_input {
	const struct terms_compiled *terms;   /* the relationship's */
	const struct global_compiled *global; /* the person's */
	const struct tz *tz;		      /* the person's zone */
	const struct window *window;	      /* relationship × channel */
	const struct window *exempt;	    /* relationship × exempt topics */
	const struct window *global_window; /* person × channel */
	cmr_time now;
	uint32_t held;	      /* messages held for the relationship, not
				 counting the one being decided */
	uint32_t hold_queue;  /* --hold-queue */
	int16_t topic;	      /* topic index, GATE_TOPIC_NONE or _OTHER */
	uint8_t stage;	      /* enum gate_stage */
	uint8_t channel;      /* enum channel */
	uint8_t rel_state;    /* enum rel_state */
	bool alias_known;     /* row 1: mail only; true over HTTP */
	bool sender_is_brand; /* row 2: mail only; true over HTTP */
};

struct gate_decision {
	cmr_time deliver_at; /* GATE_HOLD: when to decide again */
	uint8_t outcome;     /* enum gate_outcome */
	uint8_t reason;	     /* enum gate_reason */
	uint8_t folder;	     /* GATE_DELIVER: folder id */
	bool exempt;	     /* the topic is exempt: a delivery counts in
				the exempt window, not the channel's or the
				global one */
};

struct gate_decision gate_decide(const struct gate_input *in);

/* One row per reason code: how each side hears of it.
 *   wire   — the stable code in the API, the store and the ledger
 *   brand  — what the brand is told when refused: one of the brand-visible
 *            reasons above, or "not_accepted" where the true reason would
 *            reveal other brands or the person's private settings
 *   lmtp   — the LMTP reply to the authenticated brand for a refusal
 *            (unknown alias and foreign sender get the uniform 5.1.1 reply,
 *            which names the alias and so is written by the LMTP door)
 *   person — one line for the person's view of the attempt */
struct gate_reason_info {
	const char *wire;
	const char *brand;
	const char *lmtp;
	const char *person;
};

extern const struct gate_reason_info gate_reasons[GATE_REASON_COUNT];

/* The reason code by wire name; -1 when unknown. */
int gate_reason_parse(const char *wire);

/* Whether the brand is told "accepted" for this decision (deliver or
 * hold). A discard comes later, by the person's hand, and is never the
 * answer to a send; what a brand reads of a held message afterwards is
 * core/brand_state.h's rule: refused (not_accepted) only from the next
 * 00:00 UTC, as for any held message refused later. */
static inline bool gate_brand_accepted(const struct gate_decision *d)
{
	return d->outcome != GATE_REFUSE || d->reason == GATE_DISCARDED;
}

#endif
