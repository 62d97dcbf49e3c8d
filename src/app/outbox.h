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

#include "app/app.h"

#define OUTBOX_BACKOFF_S	 5 /* first retry; doubles to the cap */
#define OUTBOX_BACKOFF_CAP_S	 3600
#define OUTBOX_UNSUBSCRIBE_TRIES 8  /* then given up, on the ledger */
#define OUTBOX_MAX_TRIES	 24 /* webhook, forward: then given up (a day) */

/* One row worked by an adapter, and how it went. */
struct outbox_piece {
	struct store_outbox o; /* the row as read */
	bool ok;	       /* done, or gone (nothing left to do) */
	char error[240];       /* why not (no URL, address or folder) */
	int status;	       /* unsubscribe: the brand's HTTP status */
};

/* Rows due now, in order of arrival: the Maildir's (local) or those of
 * the adapters that reach out. APP_OK or APP_FAULT. */
enum app_status outbox_due(struct app *a, bool local, int limit,
			   store_outbox_cb cb, void *arg);

/* What an adapter reads, through here (the door reads no store):
 * the delivered message a piece is about, whole; APP_NOT_FOUND when it
 * is gone (erased or purged meanwhile: the piece is done). */
enum app_status outbox_message(struct app *a, const struct outbox_piece *p,
			       struct store_message *out);

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
