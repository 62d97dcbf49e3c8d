/*
 * outbox.h — the life of an outbox row (docs/ARCHITECTURE.md): queued in
 * the job of the change it follows (app/message.h), worked by the
 * delivery adapters of the mail door (src/mail/delivery.c), and settled
 * here — done, tried again with backoff, or given up — each piece on its
 * own, with what the person's ledger says of an RFC 8058 unsubscribe.
 * The policy (backoff, give-up) lives here; the door only reports what
 * happened.
 */
#ifndef CMR_APP_OUTBOX_H
#define CMR_APP_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

#define OUTBOX_BACKOFF_S	 5 /* first retry; doubles to the cap */
#define OUTBOX_BACKOFF_CAP_S	 3600
#define OUTBOX_UNSUBSCRIBE_TRIES 8  /* then given up, on the ledger */
#define OUTBOX_MAX_TRIES	 24 /* webhook, forward: then given up (a day) */

/* What a row asks of which adapter (the store's own values, checked in
 * outbox.c). */
enum outbox_adapter {
	OUTBOX_MAILDIR = 1,
	OUTBOX_WEBHOOK = 2,
	OUTBOX_UNSUBSCRIBE = 3, /* RFC 8058 at the brand; `attempt` is the
				   relationship */
	OUTBOX_FORWARD = 4,	/* to a verified address, by SMTP */
	OUTBOX_REPLY = 5,	/* a reply to a brand, by SMTP (app/reply.h);
				   `attempt` is the reply */
};
enum outbox_op {
	OUTBOX_DELIVER = 0, /* put the message where it is now */
	OUTBOX_MOVE = 1,    /* from `folder` to where it is now */
	OUTBOX_REMOVE = 2,  /* from `folder` */
	OUTBOX_ERASE = 3,   /* everything of the person */
	OUTBOX_VERIFY = 4,  /* forward: send the address its code */
};
#define OUTBOX_LOOK_FIRST (-2) /* folder: a copy may be in any folder */

/* An outbox row. */
struct outbox_row {
	uint64_t id;
	uint64_t person;
	uint64_t attempt; /* the message (the relationship: unsubscribe; 0
			     with move or remove: each of the person's) */
	int adapter;	  /* enum outbox_adapter */
	int op;		  /* enum outbox_op */
	int folder;	  /* -1: none, or OUTBOX_LOOK_FIRST */
	int tries;
};

/* A delivered message whole, as an adapter needs it. */
struct outbox_message {
	uint64_t id, person, relationship, brand;
	int channel, decision, folder;
	bool removed, read;
	int64_t received_at;
	char topic[72];
	char alias[160];
	char brand_name[129];
	char *subject; /* owned; may be NULL */
	char *headers; /* owned; mail: the header block, or NULL */
	size_t headers_len;
	char *body; /* owned; mail: the whole message as received */
	size_t body_len;
};
void outbox_message_clear(struct outbox_message *m);

/* One row worked by an adapter, and how it went. */
struct outbox_piece {
	struct outbox_row o; /* the row as read */
	bool ok;	     /* done, or gone (nothing left to do) */
	char error[240];     /* why not (no URL, address or folder) */
	int status;	     /* unsubscribe: the brand's HTTP status;
				reply: OUTBOX_REPLY_SENT once sent,
				OUTBOX_REPLY_NEVER when it cannot be */
};

#define OUTBOX_REPLY_SENT  250
#define OUTBOX_REPLY_NEVER (-1)

/* Rows due now, in order of arrival: the Maildir's (local) or those of
 * the adapters that reach out. APP_OK or APP_FAULT. */
enum app_status outbox_due(struct app *a, bool local, int limit,
			   int (*cb)(const struct outbox_row *o, void *arg),
			   void *arg);

/* What an adapter reads, through here (the door reads no store):
 * the delivered message a piece is about, whole; APP_NOT_FOUND when it
 * is gone (erased or purged meanwhile: the piece is done). */
enum app_status outbox_message(struct app *a, const struct outbox_piece *p,
			       struct outbox_message *out);

/* The RFC 8058 one-click URI (a new string) of the piece's relationship;
 * APP_NOT_FOUND when there is none any more (erased meanwhile). */
enum app_status
outbox_unsubscribe_uri(struct app *a, const struct outbox_piece *p, char **uri);

/* Settles n pieces in one write job, each on its own (one that cannot be
 * settled is worked again later and sinks none of the others, which would
 * then reach their peers twice): done pieces leave, failed ones wait
 * OUTBOX_BACKOFF_S doubling to the cap, and what reaches out is given up
 * after OUTBOX_MAX_TRIES (OUTBOX_UNSUBSCRIBE_TRIES for an unsubscribe,
 * whose end — done or given up — is an `unsubscribe.sent` entry on the
 * person's ledger). APP_OK, or APP_FAULT when the job failed (every piece
 * is then worked again: each is idempotent). */
enum app_status outbox_settle(struct app *a, const struct outbox_piece *p,
			      int n);

#endif
