/*
 * message.h — sending one message through the gate: the use case behind
 * POST /v1/messages, LMTP delivery and each recipient of a campaign.
 *
 * The decision and its record happen inside one write job on the writer
 * thread, against the in-memory gate state (compiled terms and cap
 * windows, loaded from the store on first use). A delivery changes the
 * windows at once and registers an undo, so a rolled-back job leaves them
 * as they were; since only the writer decides, caps are exact without
 * locks.
 */
#ifndef CMR_APP_MESSAGE_H
#define CMR_APP_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "app/app.h"
#include "core/gate.h"
#include "core/terms.h"

/* Attempts decided in a job and recorded together when it ends (a
 * campaign's chunk: store_attempt_insert_many, a command or two on
 * PostgreSQL instead of a round trip a recipient). */
struct message_batch {
	struct store_attempt *at; /* (owned) */
	size_t n, cap;
};

struct message_in {
	uint64_t brand;	       /* the sender, authenticated (0: mail to an
				  unknown alias) */
	uint64_t relationship; /* the recipient relationship */
	int channel;	       /* enum channel */
	const char *topic;     /* NULL: none */
	const char *subject;   /* may be NULL */
	const void *body;      /* kept only when delivered or held */
	size_t body_len;
	uint64_t campaign;    /* 0: none; the body is the campaign's */
	bool sender_is_brand; /* row 2 (mail); true over HTTP */
	const char *sender;   /* mail: the sender as seen; NULL over HTTP */
	bool sender_verified;
	const uint8_t *dedup; /* mail: hash of Message-ID and body, or NULL:
				 a second copy for the same relationship is
				 not decided again (out->duplicate) */
	const void *headers;  /* mail: the header block */
	size_t headers_len;
	int64_t now_ms; /* the instant of the decision */
	/* Not NULL: an attempt with no content of its own (a campaign's
	 * recipient) is added here, to be recorded by message_batch_write
	 * in the same job; NULL: recorded at once. */
	struct message_batch *batch;
};

/* Records the batch's attempts (in the job whose decisions made them) and
 * empties it: a store status; on a failure the job must fail. */
int message_batch_write(struct app_tx *t, struct message_batch *b);
/* Frees what the batch holds. */
void message_batch_free(struct message_batch *b);

struct message_out {
	uint64_t id; /* the attempt */
	struct gate_decision decision;
	bool silent;	/* the person's refusals are silent (mail: 250) */
	bool duplicate; /* delivered before: nothing recorded this time */
};

/* Decides and records in the current write job (for campaigns, which run
 * many in one job). APP_NOT_FOUND when the relationship is not the
 * brand's (nothing recorded). */
enum app_status message_decide_tx(struct app_tx *t, const struct message_in *in,
				  struct message_out *out);

/* Decides a held attempt again from row 3 on, in the current write job,
 * and records the outcome (delivered, held again with a new deliver_at,
 * or refused). APP_NOT_FOUND when it is no longer held: a release happens
 * once, also across restarts. */
enum app_status message_release_tx(struct app_tx *t, uint64_t attempt,
				   uint64_t relationship, int channel,
				   const char *topic, int64_t now,
				   struct gate_decision *out);

/* A held message its person releases (deliver it now, into the folder
 * the gate would choose: caps and quiet hours waived, rows 3–8 kept —
 * gate stage GATE_STAGE_BY_HAND) or discards (refused as
 * GATE_DISCARDED, its content removed, the row kept), split (struct
 * app_write). A release counts in the caps' windows like any delivery
 * and goes to the person's delivery adapters. The finish says
 * APP_NOT_FOUND for another's or an unknown id (nothing recorded),
 * APP_CONFLICT when it is not held, or when rows 3–8 refuse its release
 * (the message names the reason; it stays held). *out (borrowed until
 * the finish) gets the new decision. */
enum app_status message_by_hand_begin(struct app *a, uint64_t person,
				      uint64_t attempt, bool release,
				      struct gate_decision *out,
				      struct app_write *w,
				      struct app_error *err);

/* Mail to the person's own address from a stranger (a sender with no
 * relationship; app/own_address.h), decided and recorded in the current
 * write job: an attempt with no relationship and no brand, its content
 * sealed. The person's global terms decide (do-not-contact, the global
 * cap); a delivery goes to Later, counts in the global window and is
 * never held (inside quiet hours it lands in Later all the same) nor
 * pushed to a webhook or forward. `refuse`: the person refuses strangers
 * (GATE_STRANGER). in->relationship and in->brand are not read.
 * APP_NOT_FOUND for an erased person (nothing recorded). */
enum app_status message_stranger_tx(struct app_tx *t, uint64_t person,
				    bool refuse, const struct message_in *in,
				    struct message_out *out);

/* Mail to a relationship's alias at RCPT time (the Postfix policy
 * service): the gate's recipient stage (rows 3–6) in the current write
 * job. A refusal is recorded as an attempt with the unverified envelope
 * sender — unless the person's refusals are silent (out->silent): then
 * nothing is recorded here, the mail comes on to LMTP and is decided and
 * recorded there. A pass records nothing either. */
enum app_status message_rcpt_tx(struct app_tx *t, uint64_t relationship,
				const char *sender, int64_t now_ms,
				struct message_out *out);

/* Queues work for the person's delivery adapters (enum store_outbox_op;
 * attempt 0: each delivered message, in `folder` when >= 0), in the
 * current write job; nothing when the person has none. */
enum app_status message_outbox_tx(struct app_tx *t, uint64_t person,
				  uint64_t attempt, int op, int folder,
				  int64_t now);

/* What the brand is told of a decision (gate_reasons[].brand in core/gate.h):
 * {"id", "decision": "accepted"|"refused", "reason"}. */
json_t *message_brand_json(const struct message_out *out);

/* GET /v1/messages/{id}: the brand's message as core/brand_state.h lets
 * it read it at `now` (seconds): {"id","relationship","state","reason"
 * (refused only),"campaign" (a campaign's only),"created_at"} in *out —
 * no folder, no content, no time of the person's. APP_NOT_FOUND alike
 * for another brand's message and for none. */
enum app_status message_brand_get(struct app *a, uint64_t brand, uint64_t id,
				  int64_t now, json_t **out,
				  struct app_error *err);

/* The same JSON for one attempt read from the store (a campaign's
 * recipients are listed in it too). */
struct store_brand_attempt;
json_t *message_brand_state_json(const struct store_brand_attempt *a,
				 int64_t now);

/* A brand's message, split (struct app_write): the job decides and
 * records it, and with an Idempotency-Key (idem_key not "") keeps the
 * brand's answer under it in the same transaction. `in` and `out` are
 * borrowed until the finish, which says APP_NOT_FOUND (not the brand's
 * relationship: nothing recorded), APP_CONFLICT (the key was taken
 * meanwhile: its answer stands) or APP_FAULT. */
enum app_status message_send_begin(struct app *a, const struct message_in *in,
				   const char *idem_key,
				   const uint8_t idem_hash[32],
				   struct message_out *out, struct app_write *w,
				   struct app_error *err);

/* What a brand's Idempotency-Key holds (POST /v1/messages, campaigns),
 * kept 24 hours: APP_OK with the stored answer (*status, and *response, a
 * new string) when the same request finished; APP_NOT_FOUND when the key
 * is unknown or expired (a new request); APP_INVALID when it was used for
 * another request; APP_CONFLICT while that request is in progress (or was
 * cut short: it is not run twice). */
#define MESSAGE_IDEM_TTL 86400
enum app_status message_idem_answer(struct app *a, uint64_t brand,
				    const char *key, const uint8_t hash[32],
				    int *status, char **response,
				    struct app_error *err);

/* One message in its own write job, durable when this returns APP_OK. */
enum app_status message_send(struct app *a, const struct message_in *in,
			     struct message_out *out, struct app_error *err);

#endif
