/*
 * test_writer.c — jobs on the writer read what earlier jobs of their
 * batch wrote. Each test holds the writer in a job of its own while it
 * queues the jobs under test, so that they run in one batch (one
 * transaction), then lets it go: a job that read committed data through
 * a reader connection would miss what the batch wrote before it, and
 * write a stale copy back.
 */
#include <criterion/criterion.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/delivery.h"
#include "app/person.h"
#include "store/store.h"
#include "fixture.h"

static struct fixture fx;

/* Forwarding is offered; nothing is sent (no delivery worker). */
static void with_smarthost(struct config *cfg)
{
	snprintf(cfg->smarthost, sizeof(cfg->smarthost), "127.0.0.1:9");
}

static void setup(void)
{
	fixture_open(&fx, with_smarthost);
}

static void teardown(void)
{
	fixture_close(&fx);
}

TestSuite(writer, .init = setup, .fini = teardown);

/* ---- holding the writer ---- */

struct gate {
	sem_t running, go;
};

static int hold_run(struct app_tx *t, void *arg)
{
	(void)t;
	struct gate *g = arg;
	sem_post(&g->running);
	sem_wait(&g->go);
	return STORE_OK;
}

struct queued {
	struct app_pending pending;
	sem_t done;
	int status;
};

static void queued_done(void *arg, int status)
{
	struct queued *q = arg;
	q->status = status;
	sem_post(&q->done);
}

static void queue(struct queued *q, app_job_fn run, void *job, bool alone)
{
	sem_init(&q->done, 0, 0);
	q->status = -99;
	cr_assert_eq(app_job_start(&fx.a, &q->pending, run, job, alone,
				   queued_done, q),
		     APP_OK);
}

/* ---- the jobs ---- */

static int bounce_run(struct app_tx *t, void *arg)
{
	return delivery_bounced_tx(t, *(uint64_t *)arg, 1764000000);
}

static json_t *settings(void)
{
	json_t *out = NULL;
	struct app_error e = { 0 };
	cr_assert_eq(delivery_get(&fx.a, fx.ana, &out, &e), APP_OK, "%s",
		     e.message);
	return out;
}

static json_int_t bounces(void)
{
	json_t *s = settings();
	json_int_t n = json_integer_value(json_object_get(
		json_object_get(json_object_get(s, "forward"), "bounces"),
		"count"));
	json_decref(s);
	return n;
}

/* Sets forwarding to fx.ana@example.org through the use case, as PUT
 * /v1/me/delivery does: the write, split. */
static void forward_write(struct app_write *w, char *secret)
{
	json_t *body = json_pack("{s:{s:s}}", "forward", "address",
				 "fx.ana@example.org");
	bool type_error;
	struct app_error e = { 0 };
	cr_assert_eq(delivery_set_begin(&fx.a, fx.ana, FIXTURE_PASSWORD, body,
					&type_error, secret, w, &e),
		     APP_OK, "%s", e.message);
	json_decref(body);
}

/* A bounce counted, then the same forwarding address saved again, in one
 * batch: the save keeps the count (a job that read the settings through
 * a reader lost it). */
Test(writer, a_bounce_then_a_delivery_change_in_one_batch_both_count)
{
	char secret[DELIVERY_SECRET_MAX];
	struct app_write w;
	struct app_error e = { 0 };
	forward_write(&w, secret);
	cr_assert_eq(app_write_run(&fx.a, &w, &e), APP_OK, "%s", e.message);
	uint64_t person = fx.ana;
	cr_assert_eq(app_job_run(&fx.a, bounce_run, &person, false), STORE_OK);
	cr_assert_eq(bounces(), 1);

	struct gate g;
	sem_init(&g.running, 0, 0);
	sem_init(&g.go, 0, 0);
	struct queued hold, bounce, change;
	queue(&hold, hold_run, &g, false);
	sem_wait(&g.running); /* the writer is inside hold_run */
	queue(&bounce, bounce_run, &person, false);
	forward_write(&w, secret);
	queue(&change, w.run, w.job, w.alone);
	sem_post(&g.go);
	sem_wait(&hold.done);
	sem_wait(&bounce.done);
	sem_wait(&change.done);
	cr_assert_eq(bounce.status, STORE_OK);
	cr_assert_eq(w.finish(w.job, change.status, &e), APP_OK, "%s",
		     e.message);
	w.release(w.job);
	cr_expect_eq(bounces(), 2, "the change in the same batch kept %lld",
		     (long long)bounces());
}

/* A bounce and a wrong code given back in one batch: the code's try is
 * counted and the bounce kept. */
Test(writer, a_bounce_then_a_wrong_code_in_one_batch_both_count)
{
	char secret[DELIVERY_SECRET_MAX];
	struct app_write w;
	struct app_error e = { 0 };
	forward_write(&w, secret);
	cr_assert_eq(app_write_run(&fx.a, &w, &e), APP_OK, "%s", e.message);
	uint64_t person = fx.ana;

	struct gate g;
	sem_init(&g.running, 0, 0);
	sem_init(&g.go, 0, 0);
	struct queued hold, bounce, verify;
	queue(&hold, hold_run, &g, false);
	sem_wait(&g.running);
	queue(&bounce, bounce_run, &person, false);
	cr_assert_eq(delivery_verify_begin(&fx.a, fx.ana, "AAAA-AAAA", &w, &e),
		     APP_OK);
	queue(&verify, w.run, w.job, w.alone);
	sem_post(&g.go);
	sem_wait(&hold.done);
	sem_wait(&bounce.done);
	sem_wait(&verify.done);
	cr_assert_eq(bounce.status, STORE_OK);
	cr_expect_eq(w.finish(w.job, verify.status, &e), APP_INVALID);
	w.release(w.job);
	cr_expect_eq(bounces(), 1);
}
