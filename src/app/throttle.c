/*
 * throttle.c — failure counting with lock-outs, and the bounded line of
 * password hashes (see throttle.h). Keys are hashed into a fixed table; a
 * collision can only make two keys share a count, which errs on the side
 * of slowing an attacker down.
 */
#include "app/throttle.h"
#include "ledger/keys.h"
#include "store/store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_SLOTS 65536

struct throttle_slot {
	uint64_t key;  /* hash of the key; 0: free */
	int64_t first; /* first failure in the window */
	int64_t locked_until;
	uint32_t failures;
};

/* One client address's places in the line of password hashes. */
struct throttle_queued {
	uint64_t key; /* hash of the client key; 0: free */
	unsigned n;   /* places it holds */
};

struct throttle {
	pthread_mutex_t lock;
	uint8_t salt[16]; /* so that slots cannot be aimed at */
	struct throttle_slot slots[THROTTLE_SLOTS];
	/* At most THROTTLE_QUEUE_MAX places are held, so as many distinct
	 * clients at most: a scan of this short array finds one. */
	struct throttle_queued queued[THROTTLE_QUEUE_MAX];
	unsigned n_queued;	 /* places held in all */
	struct store *store;	 /* where the lock-outs are shared, or NULL */
	const struct keys *keys; /* … keyed by its tombstones */
};

struct throttle *throttle_new(void)
{
	struct throttle *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	randombytes_buf(t->salt, sizeof(t->salt));
	return t;
}

void throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The salted hash of key, never 0 (0 marks a free slot). */
static uint64_t throttle_hash(const struct throttle *t, const char *key)
{
	uint64_t h;
	crypto_shorthash((uint8_t *)&h, (const uint8_t *)key, strlen(key),
			 t->salt);
	return h == 0 ? 1 : h;
}

static struct throttle_slot *throttle_slot(struct throttle *t, const char *key,
					   int64_t now, uint64_t *h)
{
	*h = throttle_hash(t, key);
	struct throttle_slot *s = &t->slots[*h % THROTTLE_SLOTS];
	if (s->key != *h ||
	    (now - s->first > THROTTLE_WINDOW && now >= s->locked_until)) {
		/* Another key's, or quiet long enough: start afresh. */
		memset(s, 0, sizeof(*s));
	}
	return s;
}

void throttle_share(struct throttle *t, struct store *s, const struct keys *k)
{
	if (s && k && store_shared(s)) {
		t->store = s;
		t->keys = k;
	}
}

/* The key as the store keeps it: a keyed hash. False when not shared. */
static bool throttle_shared_key(const struct throttle *t, const char *key,
				char out[KEYS_TOMBSTONE_HEX + 1])
{
	return t->store &&
	       keys_tombstone(t->keys, "throttle", key, strlen(key), out) == 0;
}

int64_t throttle_wait(struct throttle *t, const char *key, int64_t now)
{
	char k[KEYS_TOMBSTONE_HEX + 1];
	int64_t shared;
	if (throttle_shared_key(t, key, k) &&
	    store_throttle_wait(t->store, k, now, &shared) == STORE_OK)
		return shared;

	uint64_t h;
	pthread_mutex_lock(&t->lock);
	struct throttle_slot *s = throttle_slot(t, key, now, &h);
	int64_t wait = s->key == h && s->locked_until > now
			       ? s->locked_until - now
			       : 0;
	pthread_mutex_unlock(&t->lock);
	return wait;
}

/* The lock-out after `over` failures past the free ones: doubling from
 * a second, capped. */
static int64_t throttle_lock_for(unsigned over)
{
	int64_t lock = over >= 10 ? THROTTLE_MAX_LOCK : (int64_t)1 << over;
	return lock > THROTTLE_MAX_LOCK ? THROTTLE_MAX_LOCK : lock;
}

int64_t throttle_fail(struct throttle *t, const char *key, int64_t now)
{
	return throttle_fail_after(t, key, THROTTLE_FREE, now);
}

int64_t throttle_fail_after(struct throttle *t, const char *key, unsigned free,
			    int64_t now)
{
	uint64_t h;
	if (free < 1)
		free = 1;
	int64_t lock = 0;
	char k[KEYS_TOMBSTONE_HEX + 1];
	int64_t failures;
	if (throttle_shared_key(t, key, k) &&
	    store_throttle_fail(t->store, k, now, THROTTLE_WINDOW, &failures) ==
		    STORE_OK) {
		if (failures >= free) {
			lock = throttle_lock_for((unsigned)(failures - free));
			(void)store_throttle_lock(t->store, k, now + lock);
		}
		return lock;
	}
	pthread_mutex_lock(&t->lock);
	struct throttle_slot *s = throttle_slot(t, key, now, &h);
	if (s->key != h) {
		s->key = h;
		s->first = now;
	}
	s->failures++;
	if (s->failures >= free) {
		lock = throttle_lock_for(s->failures - free);
		s->locked_until = now + lock;
	}
	pthread_mutex_unlock(&t->lock);
	return lock;
}

void throttle_reset(struct throttle *t, const char *key)
{
	char k[KEYS_TOMBSTONE_HEX + 1];
	if (throttle_shared_key(t, key, k))
		(void)store_throttle_reset(t->store, k);
	uint64_t h;
	pthread_mutex_lock(&t->lock);
	struct throttle_slot *s = throttle_slot(t, key, 0, &h);
	if (s->key == h)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&t->lock);
}

bool throttle_queue_enter(struct throttle *t, const char *client)
{
	uint64_t h = throttle_hash(t, client);
	struct throttle_queued *mine = NULL, *spare = NULL;
	bool ok = false;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < THROTTLE_QUEUE_MAX; i++) {
		if (t->queued[i].key == h)
			mine = &t->queued[i];
		else if (t->queued[i].key == 0 && spare == NULL)
			spare = &t->queued[i];
	}
	if (t->n_queued < THROTTLE_QUEUE_MAX &&
	    (mine ? mine->n < THROTTLE_QUEUE_PER_CLIENT : spare != NULL)) {
		if (mine == NULL) {
			mine = spare;
			*mine = (struct throttle_queued){ h, 0 };
		}
		mine->n++;
		t->n_queued++;
		ok = true;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

void throttle_queue_leave(struct throttle *t, const char *client)
{
	uint64_t h = throttle_hash(t, client);
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < THROTTLE_QUEUE_MAX; i++) {
		struct throttle_queued *q = &t->queued[i];
		if (q->key != h || q->n == 0)
			continue;
		if (--q->n == 0)
			q->key = 0;
		t->n_queued--;
		break;
	}
	pthread_mutex_unlock(&t->lock);
}
