/*
 * reply.h — replies through the alias: a person answers a brand without
 * revealing their real address, from the web app or from their own
 * mailbox. Forwarded mail carries Reply-To: a reply address
 * (r.<token>@<alias domain>, core/replyaddr.h) that names the message it
 * came with: 64 bits of the message's id and a 66-bit tag keyed with the
 * server's hash key (keys_tombstone), so it is unguessable, needs no row,
 * and dies with the message (deleted or purged) and with its relationship
 * (ended). Mail to it is taken only from the person's verified
 * forwarding address (row 2's evidence applied to the person); the reply
 * is kept sealed, and the delivery worker sends it to the brand through
 * the smarthost from the alias, stripped of what names the person
 * (base/scrub.h). Each reply sent is a `reply.sent` ledger entry and
 * shows in the person's sent view.
 */
#ifndef CMR_APP_REPLY_H
#define CMR_APP_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

#define REPLY_BODY_MAX (64 * 1024) /* bytes of a reply typed in the app */

/* The reply address of delivered message `message` into out (size >=
 * 320): false on a fault. */
bool reply_address(struct app *a, uint64_t message, char *out, size_t size);

/* Whether rcpt is a reply address of this relay at all (its shape); the
 * door sends such recipients to reply_intake. */
bool reply_is_address(const struct app *a, const char *rcpt);

/* A reply that came by mail to a reply address, as the door parsed it
 * (everything borrowed). */
struct reply_in {
	const char *rcpt;   /* the reply address */
	const char *sender; /* the envelope sender */
	const char *from;   /* the From address, lower case ("" none) */
	bool from_ok;	    /* row 2's evidence holds for the From domain */
	const char *data;   /* the whole message */
	size_t len;
};

enum reply_outcome {
	REPLY_TAKEN,   /* recorded, to be sent (250) */
	REPLY_UNIFORM, /* not a reply address of ours, or not the person:
			  the uniform refusal */
	REPLY_ENDED,   /* the relationship has ended: refused, told to the
			  person (550 5.7.1) */
	REPLY_NO_ONE,  /* the brand takes no replies by mail (550 5.7.1) */
	REPLY_FAULT,   /* ours: try again later */
};

/* At RCPT (the policy door), where only the envelope is known: whether
 * mail from `sender` to reply address rcpt goes on to DATA. The uniform
 * refusal (REPLY_UNIFORM) when the address is not one this relay made for
 * a delivered message still there, when its person forwards to no
 * verified address, or — under --trust-envelope, where the envelope is
 * the evidence — when the sender is not that address: refused in the
 * SMTP dialogue, nothing is bounced to a forged sender. REPLY_TAKEN: on
 * to DATA, where reply_intake decides (an ended relationship too, so
 * that the person is told in words); REPLY_FAULT. */
enum reply_outcome reply_rcpt(struct app *a, const char *rcpt,
			      const char *sender);

/* Takes a reply sent to a reply address: checks the token, the sender
 * (the person's verified forwarding address: under --auth-id the From
 * with from_ok, under --trust-envelope the envelope and the From), the
 * relationship, and records the reply with its outbox row in one job. */
enum reply_outcome reply_intake(struct app *a, const struct reply_in *in);

/* The person replies from the web app to their message `message` with
 * {"body": "…"} (1..REPLY_BODY_MAX bytes of text). *id gets the reply's
 * key (by the finish). APP_NOT_FOUND when the message is not theirs,
 * APP_CONFLICT when its relationship has ended, the message was refused,
 * or the brand takes no replies; APP_INVALID for the body. Split (see
 * struct app_write). */
enum app_status reply_web_begin(struct app *a, uint64_t person,
				uint64_t message, const json_t *body,
				uint64_t *id, struct app_write *w,
				struct app_error *err);

/* The person's replies, newest first (ids < before, 0: none), of one
 * message when `answers` is not 0, appended to items as the sent view
 * shows them: {"id", "relationship", "brand", "answers", "to",
 * "subject", "via", "state", "created_at", "sent_at"}, with "text" when
 * with_text. */
enum app_status reply_list(struct app *a, uint64_t person, uint64_t answers,
			   uint64_t before, int limit, bool with_text,
			   json_t *items, struct app_error *err);

/* For the delivery worker: reply `id` of `person` as it leaves — made
 * anonymous (base/scrub.h) — with its envelope: from the alias, to the
 * brand's address. *data is malloc'd (CRLF). APP_NOT_FOUND when it is
 * gone (erased) or sent already; APP_INVALID when it cannot be made
 * anonymous (it is then never sent); APP_FAULT. */
enum app_status reply_outgoing(struct app *a, uint64_t person, uint64_t id,
			       char from[321], char to[321], char **data,
			       size_t *len);

/* In the outbox's settle job: the reply was sent (a reply.sent ledger
 * entry) or given up (failed). */
int reply_settle_tx(struct app_tx *t, uint64_t person, uint64_t id, bool sent);

#endif
