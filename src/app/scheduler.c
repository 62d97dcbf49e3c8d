/*
 * scheduler.c — releasing held messages and purging Later (see
 * scheduler.h). A round reads up to a batch of due attempts through a
 * reader, then decides them again in one writer job.
 */
#include "app/scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/message.h"
#include "app/sealed.h"
#include "core/gate.h"
#include "core/terms.h"
#include "app/view.h"
#include "base/log.h"
#include "store/store.h"

#define SCHEDULER_BATCH	 512
#define SCHEDULER_TICK	 1    /* seconds between rounds */
#define SCHEDULER_PURGE	 3600 /* seconds between purges of Later */
#define SCHEDULER_NOTICE 600  /* seconds between looks for expiring consent */
#define NOTICE_AHEAD	 (7 * 86400)  /* tell a person a week before */
#define REFUSED_KEPT	 (90 * 86400) /* refused attempts are kept 90 days */

struct scheduler {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	bool woken; /* a round is wanted now (scheduler_wake) */
};

/* The running scheduler (one per `cmr serve`), for scheduler_wake, which
 * a writer job's commit hook calls. */
static pthread_mutex_t scheduler_running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scheduler *scheduler_running;

void scheduler_wake(void)
{
	pthread_mutex_lock(&scheduler_running_lock);
	struct scheduler *s = scheduler_running;
	if (s) {
		pthread_mutex_lock(&s->lock);
		s->woken = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&scheduler_running_lock);
}

static void wake_hook(void *arg)
{
	(void)arg;
	scheduler_wake();
}

int scheduler_held_now_tx(struct app_tx *t, uint64_t person, uint64_t rel)
{
	int64_t n = 0;
	int rc = store_held_due_now(t->tx, person, rel, t->now_ms / 1000, &n);
	if (rc != STORE_OK || n == 0)
		return rc;
	/* The commit hooks run in the order they were registered: the
	 * change's gate_state_forget_tx came first, so the round decides
	 * with what the change wrote. A rolled-back job drops it. */
	return store_tx_on_commit(t->tx, wake_hook, NULL);
}

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
	struct due *due;
	int64_t now;
	int released;
	bool purge;
	int64_t purged;
};

static int release_run(struct app_tx *t, void *arg)
{
	struct release_job *j = arg;
	for (int i = 0; i < j->due->n; i++) {
		const struct store_held *h = &j->due->items[i];
		struct gate_decision d;
		int rc = message_release_tx(t, h->id, h->relationship,
					    h->channel, h->topic, j->now, &d);
		if (rc == APP_NOT_FOUND)
			continue; /* released already, or skipped */
		if (rc != APP_OK)
			return STORE_FAULT;
		j->released++;
	}
	return STORE_OK;
}

/* The purges run in a job of their own, so that releases never wait on
 * them or fail with them. */
static int purge_run(struct app_tx *t, void *arg)
{
	struct release_job *j = arg;
	struct store_purge p = {
		.later_now = j->now,
		.idem_before = j->now - MESSAGE_IDEM_TTL,
		.refused_before = j->now - REFUSED_KEPT,
		.codes_before = j->now - 86400,
	};
	int rc = store_purge(t->tx, &p);
	j->purged = p.later_purged;
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
		if (store_held_due(a->reads, now, SCHEDULER_BATCH, due_collect,
				   &d) != STORE_OK) {
			free(d.items);
			return -1;
		}
		if (d.n == 0)
			break;
		struct release_job j = { &d, now, 0, false, 0 };
		if (app_job_run(a, release_run, &j, false) != STORE_OK) {
			log_warn("scheduler: a release round failed; it is "
				 "tried again");
			free(d.items);
			return -1;
		}
		total += j.released;
		if (d.n < SCHEDULER_BATCH || j.released == 0)
			break;
	}
	if (purge) {
		struct release_job j = { &d, now, 0, true, 0 };
		if (app_job_run(a, purge_run, &j, false) != STORE_OK)
			log_warn("scheduler: the purge failed; it is tried "
				 "again");
		else if (j.purged > 0)
			log_info("scheduler: purged %lld message(s) from Later",
				 (long long)j.purged);
	}
	free(d.items);
	if (total > 0)
		log_info("scheduler: decided %d held message(s) again", total);
	return total;
}

/* ---- telling a person before a consent expires ---- */

struct notice {
	uint64_t rel, person, brand;
	char expires[32];
	char subject[256];
};

struct notices {
	struct notice items[64];
	int n;
	int64_t now;
};

static int notice_collect(uint64_t rel, uint64_t person, uint64_t brand,
			  const char *expires, void *arg)
{
	struct notices *ns = arg;
	if (ns->n == 64)
		return 1;
	struct notice *n = &ns->items[ns->n++];
	*n = (struct notice){ rel, person, brand, "", "" };
	snprintf(n->expires, sizeof(n->expires), "%s", expires);
	return 0;
}

static int notice_run(struct app_tx *t, void *arg)
{
	struct notices *ns = arg;
	for (int i = 0; i < ns->n; i++) {
		struct notice *n = &ns->items[i];
		int rc = store_notice_insert(t->tx, n->rel, "expiry",
					     n->expires, n->person, ns->now);
		if (rc == STORE_CONFLICT)
			continue; /* told already */
		if (rc != STORE_OK)
			return rc;
		/* The notice is a message from cmr in the person's inbox. */
		struct store_attempt at = {
			.id = store_new_time_key(ns->now * 1000),
			.person = n->person,
			.relationship = n->rel,
			.brand = n->brand,
			.channel = CHANNEL_EMAIL,
			.topic = "cmr",
			.decision = GATE_DELIVER,
			.reason = GATE_OK,
			.folder = FOLDER_INBOX,
			.decided_at = 0,
			.received_at = ns->now,
			.sender = "cmr",
			.sender_verified = true,
			.subject = n->subject,
			.body = n->subject,
			.body_len = strlen(n->subject),
		};
		struct sealed_key k = { 0 };
		struct sealed_attempt sealed = { 0 };
		rc = sealed_key(t->reads, t->keys, n->person, &k) == APP_OK &&
				     sealed_attempt(&k, &at, &sealed) == 0
			     ? store_attempt_insert(t->tx, &at)
			     : STORE_FAULT;
		sealed_key_clear(&k);
		sealed_attempt_clear(&sealed);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

int scheduler_notices(struct app *a, int64_t now)
{
	struct notices ns = { .now = now };
	json_t *from = app_time_json(now),
	       *until = app_time_json(now + NOTICE_AHEAD);
	int rc = store_expiring(a->reads, json_string_value(from),
				json_string_value(until), notice_collect, &ns);
	json_decref(from);
	json_decref(until);
	if (rc != STORE_OK)
		return -1;
	for (int i = 0; i < ns.n; i++) {
		struct notice *n = &ns.items[i];
		struct store_brand b;
		bool named = store_brand_get(a->reads, n->brand, NULL, &b) ==
			     STORE_OK;
		char day[11];
		snprintf(day, sizeof(day), "%.10s", n->expires);
		snprintf(n->subject, sizeof(n->subject),
			 "Your consent to %s expires on %s: renew it in "
			 "your terms, or let it lapse",
			 named ? b.name : "a brand", day);
		if (named)
			store_brand_clear(&b);
	}
	if (ns.n > 0 && app_job_run(a, notice_run, &ns, false) != STORE_OK)
		return -1;
	return ns.n;
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	int64_t last_purge = 0, last_notice = 0;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->lock);
		view_flush_reads(s->app);
		int64_t now = app_now_ms() / 1000;
		bool purge = now - last_purge >= SCHEDULER_PURGE;
		if (scheduler_round(s->app, now, purge) >= 0 && purge)
			last_purge = now;
		if (now - last_notice >= SCHEDULER_NOTICE &&
		    scheduler_notices(s->app, now) >= 0)
			last_notice = now;
		pthread_mutex_lock(&s->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SCHEDULER_TICK;
		while (!s->stopping && !s->woken &&
		       pthread_cond_timedwait(&s->cond, &s->lock, &ts) !=
			       ETIMEDOUT)
			;
		s->woken = false;
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
	pthread_mutex_lock(&scheduler_running_lock);
	scheduler_running = s;
	pthread_mutex_unlock(&scheduler_running_lock);
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&scheduler_running_lock);
	if (scheduler_running == s)
		scheduler_running = NULL;
	pthread_mutex_unlock(&scheduler_running_lock);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
