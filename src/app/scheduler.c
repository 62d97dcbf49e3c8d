/*
 * scheduler.c — releasing held messages and purging Later (see
 * scheduler.h). A round reads up to a batch of due attempts through a
 * reader, then decides them again in one writer job.
 */
#include "app/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/message.h"
#include "app/view.h"
#include "base/log.h"

#define SCHEDULER_BATCH 512
#define SCHEDULER_TICK	1    /* seconds between rounds */
#define SCHEDULER_PURGE 3600 /* seconds between purges of Later */

struct scheduler {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
};

struct due {
	struct store_held *items;
	int n;
};

static int due_collect(const struct store_held *h, void *arg)
{
	struct due *d = arg;
	d->items[d->n++] = *h;
	return 0;
}

struct release_job {
	struct app *app;
	struct due *due;
	int64_t now;
	int released;
	bool purge;
	int64_t purged;
};

static int release_run(struct store_tx *tx, void *arg)
{
	struct release_job *j = arg;
	for (int i = 0; i < j->due->n; i++) {
		const struct store_held *h = &j->due->items[i];
		struct gate_decision d;
		int rc = message_release_tx(j->app, tx, h->id, h->relationship,
					    h->channel, h->topic, j->now, &d);
		if (rc == APP_NOT_FOUND)
			continue; /* released already */
		if (rc != APP_OK)
			return STORE_FAULT;
		j->released++;
	}
	if (!j->purge)
		return STORE_OK;
	int rc = store_purge_later(tx, j->now, &j->purged);
	if (rc == STORE_OK) /* Idempotency-Keys are honoured for a day */
		rc = store_idem_purge(tx, j->now - 86400);
	return rc;
}

int scheduler_round(struct app *a, int64_t now, bool purge)
{
	struct due d = { calloc(SCHEDULER_BATCH, sizeof(struct store_held)),
			 0 };
	if (d.items == NULL)
		return -1;
	int total = 0;
	for (;;) {
		d.n = 0;
		if (store_held_due(a->store, now, SCHEDULER_BATCH, due_collect,
				   &d) != STORE_OK) {
			free(d.items);
			return -1;
		}
		if (d.n == 0 && !purge)
			break;
		struct release_job j = { a, &d, now, 0, purge, 0 };
		if (store_write(a->store, release_run, &j) != STORE_OK) {
			log_warn("scheduler: a release round failed; it is "
				 "tried again");
			free(d.items);
			return -1;
		}
		if (j.purged > 0)
			log_info("scheduler: purged %lld message(s) from Later",
				 (long long)j.purged);
		purge = false;
		total += j.released;
		if (d.n < SCHEDULER_BATCH)
			break;
	}
	free(d.items);
	if (total > 0)
		log_info("scheduler: decided %d held message(s) again", total);
	return total;
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	int64_t last_purge = 0;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->lock);
		view_flush_reads(s->app);
		int64_t now = app_now_ms() / 1000;
		bool purge = now - last_purge >= SCHEDULER_PURGE;
		if (scheduler_round(s->app, now, purge) >= 0 && purge)
			last_purge = now;
		pthread_mutex_lock(&s->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SCHEDULER_TICK;
		while (!s->stopping &&
		       pthread_cond_timedwait(&s->cond, &s->lock, &ts) !=
			       ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	view_flush_reads(s->app); /* the last counts before stopping */
	return NULL;
}

struct scheduler *scheduler_start(struct app *a)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->app = a;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
