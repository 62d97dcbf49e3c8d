/*
 * throttle.c — failure counting with lock-outs (see throttle.h). Keys are
 * hashed into a fixed table; a collision can only make two keys share a
 * count, which errs on the side of slowing an attacker down.
 */
#include "app/throttle.h"
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

struct throttle {
	pthread_mutex_t lock;
	uint8_t salt[16]; /* so that slots cannot be aimed at */
	struct throttle_slot slots[THROTTLE_SLOTS];
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

static struct throttle_slot *throttle_slot(struct throttle *t, const char *key,
					   int64_t now, uint64_t *h)
{
	crypto_shorthash((uint8_t *)h, (const uint8_t *)key, strlen(key),
			 t->salt);
	if (*h == 0)
		*h = 1;
	struct throttle_slot *s = &t->slots[*h % THROTTLE_SLOTS];
	if (s->key != *h ||
	    (now - s->first > THROTTLE_WINDOW && now >= s->locked_until)) {
		/* Another key's, or quiet long enough: start afresh. */
		memset(s, 0, sizeof(*s));
	}
	return s;
}

int64_t throttle_wait(struct throttle *t, const char *key, int64_t now)
{
	uint64_t h;
	pthread_mutex_lock(&t->lock);
	struct throttle_slot *s = throttle_slot(t, key, now, &h);
	int64_t wait = s->key == h && s->locked_until > now
			       ? s->locked_until - now
			       : 0;
	pthread_mutex_unlock(&t->lock);
	return wait;
}

int64_t throttle_fail(struct throttle *t, const char *key, int64_t now)
{
	uint64_t h;
	int64_t lock = 0;
	pthread_mutex_lock(&t->lock);
	struct throttle_slot *s = throttle_slot(t, key, now, &h);
	if (s->key != h) {
		s->key = h;
		s->first = now;
	}
	s->failures++;
	if (s->failures >= THROTTLE_FREE) {
		unsigned over = s->failures - THROTTLE_FREE;
		lock = over >= 10 ? THROTTLE_MAX_LOCK : (int64_t)1 << over;
		if (lock > THROTTLE_MAX_LOCK)
			lock = THROTTLE_MAX_LOCK;
		s->locked_until = now + lock;
	}
	pthread_mutex_unlock(&t->lock);
	return lock;
}

void throttle_reset(struct throttle *t, const char *key)
{
	uint64_t h;
	pthread_mutex_lock(&t->lock);
	struct throttle_slot *s = throttle_slot(t, key, 0, &h);
	if (s->key == h)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&t->lock);
}
