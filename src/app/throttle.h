/*
 * throttle.h — slowing down guessing without holding a thread: failed
 * log-ins per (handle, client address) and failed connect codes per
 * brand. After THROTTLE_FREE failures inside THROTTLE_WINDOW seconds a key
 * is locked out, for a time that doubles with each further failure (capped
 * at THROTTLE_MAX_LOCK); callers answer 429 with Retry-After at once
 * instead of sleeping. State is in memory, bounded, and forgets keys that
 * have been quiet for a window.
 */
#ifndef CMR_APP_THROTTLE_H
#define CMR_APP_THROTTLE_H

#include <stdint.h>

#define THROTTLE_FREE	  5   /* failures allowed before a lock-out */
#define THROTTLE_WINDOW	  900 /* seconds a failure is remembered */
#define THROTTLE_MAX_LOCK 900 /* the longest lock-out, seconds */

struct throttle;

struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);

/* Seconds the key is still locked out at `now`, 0 when it may try. */
int64_t throttle_wait(struct throttle *t, const char *key, int64_t now);
/* Records a failure; returns the lock-out it starts (0 if none yet). */
int64_t throttle_fail(struct throttle *t, const char *key, int64_t now);
/* Forgets the key (a success). */
void throttle_reset(struct throttle *t, const char *key);

#endif
