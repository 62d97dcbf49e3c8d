/*
 * throttle.h — slowing down guessing without holding a thread: failed
 * password checks per (handle, client address), per person (a password
 * asked again), per client address, and failed connect codes per brand.
 * After `free` failures inside THROTTLE_WINDOW seconds a key is locked
 * out, for a time that doubles with each further failure (capped at
 * THROTTLE_MAX_LOCK); callers answer 429 with Retry-After at once instead
 * of sleeping. State is in memory, bounded, and forgets keys that have
 * been quiet for a window — or, once throttle_share is called for a store
 * that several servers share, in the store (by a keyed hash of the key),
 * so that guesses spread over the servers count as at one; memory stands
 * in while the store cannot be reached.
 *
 * The same object bounds the line of password hashes (argon2id): at most
 * THROTTLE_QUEUE_MAX checks wait or run at once, THROTTLE_QUEUE_PER_CLIENT
 * of them from one client address, so a flood from one address can
 * neither make everyone else wait behind it nor queue work without end.
 */
#ifndef CMR_APP_THROTTLE_H
#define CMR_APP_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#define THROTTLE_FREE	     5	 /* failures allowed before a lock-out */
#define THROTTLE_CLIENT_FREE 20	 /* … of one client address, any handle */
#define THROTTLE_WINDOW	     900 /* seconds a failure is remembered */
#define THROTTLE_MAX_LOCK    900 /* the longest lock-out, seconds */

#define THROTTLE_QUEUE_MAX	  8 /* password hashes waiting or running */
#define THROTTLE_QUEUE_PER_CLIENT 2 /* … of them for one client address */

struct throttle;
struct store;
struct keys;

struct throttle *throttle_new(void);
/* Keeps the lock-outs in s when several servers share it (store_shared),
 * keyed by keys_tombstone of k. Before the threads that use t start. */
void throttle_share(struct throttle *t, struct store *s, const struct keys *k);
void throttle_free(struct throttle *t);

/* Seconds the key is still locked out at `now`, 0 when it may try. */
int64_t throttle_wait(struct throttle *t, const char *key, int64_t now);
/* Records a failure; returns the lock-out it starts (0 if none yet).
 * throttle_fail allows THROTTLE_FREE failures, throttle_fail_after
 * `free` (at least 1). */
int64_t throttle_fail(struct throttle *t, const char *key, int64_t now);
int64_t throttle_fail_after(struct throttle *t, const char *key, unsigned free,
			    int64_t now);
/* Forgets the key (a success). */
void throttle_reset(struct throttle *t, const char *key);

/* Takes a place in the line of password hashes for `client` (a client
 * address key): true when there was one (give it back with
 * throttle_queue_leave), false when the line is full overall or for that
 * client. Never waits. */
bool throttle_queue_enter(struct throttle *t, const char *client);
void throttle_queue_leave(struct throttle *t, const char *client);

#endif
