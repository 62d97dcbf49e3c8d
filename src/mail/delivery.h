/*
 * delivery.h — the delivery adapters at work: a thread that takes what
 * the outbox holds (queued in the same transaction as the delivery, the
 * move or the erasure it follows) and does it, at least once, never in
 * the way of intake or the API; app/outbox.h settles each piece (retried
 * with backoff, or given up). Every operation is
 * idempotent by message id, so a redo after a crash changes nothing.
 */
#ifndef CMR_MAIL_DELIVERY_H
#define CMR_MAIL_DELIVERY_H

#include "app/app.h"

#define DELIVERY_BATCH	 64  /* outbox rows per round */
#define DELIVERY_IDLE_MS 200 /* a look at the outbox when idle */

struct delivery;

/* Starts the worker (only useful with an adapter configured). */
struct delivery *delivery_start(struct app *a);

/* Finishes the round in progress and stops. */
void delivery_stop(struct delivery *d);

#endif
