/*
 * scheduler.h — the clock-driven work of `cmr serve`: held messages are
 * decided again when they come due (from gate row 3 on); delivered
 * messages in Later are purged after the person's retention, refused
 * attempts after 90 days, expired connect codes after a day; persons are
 * told a week before a consent expires. Everything it
 * does goes through the writer, so it survives a crash: what was held
 * before is released after, exactly once (the release is conditioned on
 * the attempt still being held, in the same transaction).
 */
#ifndef CMR_APP_SCHEDULER_H
#define CMR_APP_SCHEDULER_H

#include "app/app.h"

struct scheduler;

/* Starts the scheduler thread. NULL when it cannot start. */
struct scheduler *scheduler_start(struct app *a);

/* Stops it (finishing the round in progress) and frees it. */
void scheduler_stop(struct scheduler *s);

/* One round, now: releases what is due and, when `purge`, purges Later.
 * Returns how many held attempts it decided again, or -1 on a fault.
 * (The thread calls this; tests and tools may too.) */
int scheduler_round(struct app *a, int64_t now, bool purge);

/* After a change that could change the fate of held messages (terms,
 * mute, end, global terms), in the change's own write job: the person's
 * held attempts (one relationship's when rel is not 0) are made due now,
 * and once the job's batch is durable — after the gate has forgotten
 * what the change made stale — the scheduler is woken to decide them
 * again at once, against the new terms, in batches of its own. Durable:
 * after a crash they are simply due. A store status. */
int scheduler_held_now_tx(struct app_tx *t, uint64_t person, uint64_t rel);

/* Wakes the running scheduler for a round now (nothing when none runs). */
void scheduler_wake(void);

/* Tells persons whose consent to a brand expires within a week, once per
 * expiry, with a message from cmr in their inbox. Returns how many were
 * told, or -1 on a fault. */
int scheduler_notices(struct app *a, int64_t now);

#endif
