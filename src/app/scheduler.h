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

/* Tells persons whose consent to a brand expires within a week, once per
 * expiry, with a message from cmr in their inbox. Returns how many were
 * told, or -1 on a fault. */
int scheduler_notices(struct app *a, int64_t now);

#endif
