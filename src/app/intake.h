/*
 * intake.h — mail that came in by LMTP (RFC 2033), after DATA: every
 * recipient of one message decided in one writer job (one commit for all
 * of them), the same whatever door a message could come through.
 *
 * The door parses (the envelope, the header block, row 2's evidence from
 * Authentication-Results) and hands over a struct intake_message; this
 * use case looks each alias up, keeps an RFC 8058 one-click URI the brand
 * vouched for, decides through the gate (app/message.h) and records, and
 * counts the bounces of forwards. It answers an outcome per recipient,
 * which the door turns into its reply (docs/ARCHITECTURE.md).
 */
#ifndef CMR_APP_INTAKE_H
#define CMR_APP_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

/* One recipient of the message. */
struct intake_rcpt {
	const char *alias;  /* as the MTA gave it (borrowed) */
	uint64_t bounce_of; /* cmr's bounce address: the person it names
			       (0 for an alias, or a bounce naming no one) */
	bool bounce;	    /* cmr's own bounce address */
};

/* One message, as the door parsed it. Everything is borrowed. */
struct intake_message {
	const char *sender; /* the envelope sender */
	const struct intake_rcpt *rcpts;
	int n_rcpts;
	const char *data; /* the whole message as received */
	size_t len;
	size_t header_len;	 /* bytes of the header block */
	const char *subject;	 /* decoded; may be "" */
	const char *topic;	 /* CMR-Topic, or NULL */
	const char *unsubscribe; /* RFC 8058 one-click URI, or "" */
	const uint8_t *dedup;	 /* 16 bytes of Message-ID and body, or NULL */
	bool bulk;		 /* List-*, Precedence bulk/list */
	int64_t at_ms; /* when it is decided: 0, now (the demo's mail: an
			* instant of its own, as its HTTP messages) */
	/* Row 2: what the door found of the sender. from_ok: the evidence
	 * (--auth-id, or the envelope under --trust-envelope) holds for the
	 * From domain, from_domain ("" when none), whose organizational
	 * domain is from_org ("" when none). */
	bool from_ok;
	const char *from_domain, *from_org;
	uint64_t from_brand; /* row 2: the brand on cmr the sender is, or 0 */
	bool dkim;	     /* … with an aligned DKIM signature */
	bool verified;	     /* row 2 rests on --auth-id evidence */
};

enum intake_outcome {
	INTAKE_ACCEPTED = 0, /* delivered or held (or silently refused) */
	INTAKE_BOUNCE,	     /* a bounce of a forward, taken */
	INTAKE_UNIFORM,	     /* unknown alias, or not the brand: the one
				uniform refusal, which tells a stranger
				nothing */
	INTAKE_REFUSED,	     /* refused, told to the brand (reason) */
	INTAKE_FAULT,	     /* ours: try again later */
	/* A reply through the alias (app/reply.h), refused with a word to
	 * the person who sent it: */
	INTAKE_REPLY_ENDED,  /* the relationship has ended */
	INTAKE_REPLY_NO_ONE, /* the brand takes no replies */
};

struct intake_result {
	enum intake_outcome outcome;
	int reason; /* INTAKE_REFUSED: enum gate_reason */
};

/* Decides and records every recipient in one job; out[i] answers
 * rcpts[i]. APP_OK once durable; APP_FAULT when nothing was recorded
 * (every out[i] is then INTAKE_FAULT). */
enum app_status intake_deliver(struct app *a, const struct intake_message *m,
			       struct intake_result *out);

/* The brand that owns `domain`, or else `org_domain` (its organizational
 * domain, or NULL): APP_OK and its key in *brand, 0 for none; APP_FAULT
 * when the store could not say (the mail is then to be tried again, never
 * taken for a stranger's). */
enum app_status intake_brand_of(struct app *a, const char *domain,
				const char *org_domain, uint64_t *brand);

#endif
