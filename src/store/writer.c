/*
 * writer.c — the writer thread every backend shares: group commit.
 *
 * One writer thread owns the backend's only write connection and runs
 * the jobs of store_write() in batches: a transaction, a savepoint per
 * job, one commit for all (group commit), then the jobs' commit hooks,
 * then their completions. A job that fails is rolled back to its
 * savepoint alone and its rollback hooks run. When the backend rolls the
 * whole transaction back itself (an I/O error, a full disk, a lost
 * connection) or the commit fails, every job of the batch that had
 * succeeded is undone and failed with STORE_FAULT, the connection is
 * opened again, and jobs not yet run are put back in the queue — a
 * failed fsync is never taken for a success.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "writer.h"

struct writer_hook {
	store_hook_fn fn;
	void *arg;
	bool commit; /* on commit (true) or on rollback (false) */
};

struct writer_job {
	store_job_fn fn;
	void *arg;
	store_done_fn done; /* NULL for a waiting caller */
	bool alone;	    /* the last job of its batch */
	int tries;	    /* runs that another server made fail */
	int status;
	bool finished;
	struct writer_job *next;
};

struct writer_tx {
	struct store_tx base;
	struct writer *w;
	struct writer_hook *hooks; /* of the whole batch */
	size_t n_hooks, cap_hooks;
	bool oom;	 /* a hook could not be registered */
	bool checkpoint; /* ops->checkpoint after this batch commits */
};

static uint64_t writer_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void writer_tx_checkpoint(struct store_tx *base)
{
	((struct writer_tx *)base)->checkpoint = true;
}

int writer_tx_hook(struct store_tx *base, bool commit, store_hook_fn fn,
		   void *arg)
{
	struct writer_tx *tx = (struct writer_tx *)base;
	if (tx->n_hooks == tx->cap_hooks) {
		size_t cap = tx->cap_hooks ? tx->cap_hooks * 2 : 64;
		struct writer_hook *h = realloc(tx->hooks, cap * sizeof(*h));
		if (h == NULL) {
			tx->oom = true;
			return STORE_FAULT;
		}
		tx->hooks = h;
		tx->cap_hooks = cap;
	}
	tx->hooks[tx->n_hooks++] = (struct writer_hook){ fn, arg, commit };
	return STORE_OK;
}

/* Runs the rollback hooks registered from index `from` on, newest first,
 * and forgets every hook from there. */
static void writer_undo_hooks(struct writer_tx *tx, size_t from)
{
	for (size_t i = tx->n_hooks; i > from; i--) {
		struct writer_hook *h = &tx->hooks[i - 1];
		if (!h->commit)
			h->fn(h->arg);
	}
	tx->n_hooks = from;
}

static void writer_finish(struct writer *w, struct writer_job *jobs)
{
	/* The waiting jobs are linked apart while the queued ones are freed:
	 * walking the batch's list again after the frees read freed memory
	 * whenever a batch held both kinds. */
	struct writer_job *waiters = NULL, **last = &waiters;
	for (struct writer_job *j = jobs, *next; j; j = next) {
		next = j->next;
		if (j->done) {
			store_done_fn done = j->done;
			void *arg = j->arg;
			int st = j->status;
			free(j);
			done(arg, st);
		} else {
			*last = j;
			last = &j->next;
		}
	}
	*last = NULL;
	if (waiters) {
		pthread_mutex_lock(&w->lock);
		/* A waiter may return (and its job leave its stack) as soon as
		 * the lock is released: nothing touches the jobs after. */
		for (struct writer_job *j = waiters; j; j = j->next)
			j->finished = true;
		pthread_cond_broadcast(&w->done);
		pthread_mutex_unlock(&w->lock);
	}
}

/* Runs the batch's jobs on a begun transaction, each in its savepoint;
 * a job that fails is rolled back to it alone, with its rollback hooks.
 * True while the transaction lives; false when it died (SQLite rolled it
 * back, or a savepoint could not be taken or given up), with *ran_end
 * the first job that did not run (NULL: all ran). *n counts the jobs
 * run. */
static bool writer_run_jobs(struct writer_tx *tx, struct writer_job *jobs,
			    struct writer_job **ran_end, size_t *n)
{
	struct writer *w = tx->w;

	for (struct writer_job *j = jobs; j; j = j->next) {
		size_t mark = tx->n_hooks;
		tx->oom = false;
		tx->base.job = ++tx->w->jobs_run;
		if (w->ops->savepoint(w->store) != STORE_OK) {
			*ran_end = j;
			return false;
		}
		j->status = j->fn(&tx->base, j->arg);
		if (w->ops->job_retry && w->ops->job_retry(w->store))
			j->status = STORE_RETRY;
		else if (j->status == STORE_RETRY)
			j->status = STORE_FAULT; /* not a job's own status */
		if (j->status == STORE_OK &&
		    (tx->oom ||
		     (w->ops->job_failed && w->ops->job_failed(w->store))))
			j->status = STORE_FAULT;
		(*n)++;
		*ran_end = j->next;
		if (w->ops->tx_dead(w->store)) {
			/* The backend rolled the whole transaction back. */
			if (j->status == STORE_OK)
				j->status = STORE_FAULT;
			writer_undo_hooks(tx, mark);
			return false;
		}
		if (j->status != STORE_OK) {
			writer_undo_hooks(tx, mark);
			if (w->ops->rollback_to(w->store) != STORE_OK)
				return false;
		} else if (w->ops->release(w->store) != STORE_OK) {
			j->status = STORE_FAULT;
			writer_undo_hooks(tx, mark);
			return false;
		}
	}
	return true;
}

/* After the transaction died: rolls back what is left of it, runs every
 * rollback hook, fails the jobs that had succeeded, cuts the batch before
 * ran_end (*jobs becomes NULL when no job ran) and reopens the
 * connection. Returns the jobs from ran_end on, for the queue. */
static struct writer_job *writer_abandon(struct writer_tx *tx,
					 struct writer_job **jobs,
					 struct writer_job *ran_end)
{
	writer_undo_hooks(tx, 0);
	for (struct writer_job *j = *jobs; j && j != ran_end; j = j->next)
		if (j->status == STORE_OK)
			j->status = STORE_FAULT;
	for (struct writer_job *j = *jobs; j; j = j->next)
		if (j->next == ran_end) {
			j->next = NULL;
			break;
		}
	if (ran_end == *jobs)
		*jobs = NULL;
	tx->w->ops->abandon(tx->w->store);
	return ran_end;
}

/* Counts a batch of n jobs begun at t0, under the lock that
 * writer_stats() reads the counts with. */
static void writer_count_batch(struct writer *w, size_t n, uint64_t t0)
{
	pthread_mutex_lock(&w->lock);
	w->stats.batches++;
	w->stats.jobs += n;
	if (n > w->stats.max_batch)
		w->stats.max_batch = n;
	w->stats.commit_ns_total += writer_now_ns() - t0;
	pthread_mutex_unlock(&w->lock);
}

/* Notes whether a batch could begin and commit: the writer is failing
 * from a failed one until one commits again (readiness: a read-only
 * store, a full disk). Each change of state is logged once. */
static void writer_note_commit(struct writer *w, bool committed)
{
	pthread_mutex_lock(&w->lock);
	bool was = w->stats.failing;
	w->stats.failing = !committed;
	pthread_mutex_unlock(&w->lock);
	if (!was && !committed)
		log_warn("store: writer: a commit failed; not ready until one "
			 "succeeds");
	else if (was && committed)
		log_info("store: writer: commits again; ready");
}

/* Takes the jobs that another server made fail (STORE_RETRY) out of the
 * batch and puts them first in *requeue, to run again in the next batch,
 * the first of them first (where it may wait: pg_guard.c); after
 * WRITER_RETRIES runs a job fails with STORE_FAULT. Returns the batch
 * left to finish. */
#define WRITER_RETRIES 100

static struct writer_job *writer_retries(struct writer_job *jobs,
					 struct writer_job **requeue)
{
	struct writer_job *keep = NULL, **k = &keep;
	struct writer_job *again = NULL, **a = &again;
	for (struct writer_job *j = jobs, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		if (j->status == STORE_RETRY && ++j->tries >= WRITER_RETRIES) {
			log_warn("store: a job failed %d times for another "
				 "server's locks",
				 j->tries);
			j->status = STORE_FAULT;
		}
		if (j->status == STORE_RETRY) {
			*a = j;
			a = &j->next;
		} else {
			*k = j;
			k = &j->next;
		}
	}
	*a = *requeue;
	*requeue = again;
	return keep;
}

/* Runs one batch: BEGIN IMMEDIATE, its jobs, COMMIT, then the commit
 * hooks (or, when the transaction died, writer_abandon). Jobs not run
 * because the transaction died are returned through *requeue, in order. */
static void writer_run_batch(struct writer *w, struct writer_job *jobs,
			     struct writer_job **requeue)
{
	struct writer_tx tx = { .base = { .store = w->store, .job = 0 },
				.w = w };
	tx.base.reads = (struct store_rd){ w->store, &tx.base };
	struct writer_job *ran_end = NULL; /* first job not run */
	uint64_t t0 = writer_now_ns();
	size_t n = 0;

	*requeue = NULL;
	if (w->ops->begin(w->store) != STORE_OK) {
		for (struct writer_job *j = jobs; j; j = j->next)
			j->status = STORE_FAULT;
		writer_note_commit(w, false);
		w->ops->abandon(w->store);
		goto finish;
	}
	bool alive = writer_run_jobs(&tx, jobs, &ran_end, &n);
	if (alive && w->ops->commit(w->store) != STORE_OK) {
		log_warn("store: commit failed");
		alive = false;
	}
	writer_note_commit(w, alive);
	if (!alive) {
		*requeue = writer_abandon(&tx, &jobs, ran_end);
	} else {
		for (size_t i = 0; i < tx.n_hooks; i++)
			if (tx.hooks[i].commit)
				tx.hooks[i].fn(tx.hooks[i].arg);
		if (tx.checkpoint && w->ops->checkpoint)
			w->ops->checkpoint(w->store);
	}
	writer_count_batch(w, n, t0);
finish:
	free(tx.hooks);
	jobs = writer_retries(jobs, requeue);
	writer_finish(w, jobs);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->head == NULL && w->stopping)
			break;
		/* Take the queue, up to and including the first job that must
		 * end its batch (see store_write_alone). */
		struct writer_job *jobs = w->head, *end = jobs;
		while (end->next && !end->alone)
			end = end->next;
		w->head = end->next;
		if (w->head == NULL)
			w->tail = NULL;
		end->next = NULL;
		pthread_mutex_unlock(&w->lock);

		struct writer_job *requeue = NULL;
		writer_run_batch(w, jobs, &requeue);

		pthread_mutex_lock(&w->lock);
		if (requeue) {
			struct writer_job *last = requeue;
			while (last->next)
				last = last->next;
			last->next = w->head;
			w->head = requeue;
			if (w->tail == NULL)
				w->tail = last;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int writer_write(struct writer *w, store_job_fn fn, void *arg,
		 store_done_fn done, bool wait, bool alone)
{
	struct writer_job local, *j;

	if (wait) {
		j = &local;
	} else {
		j = malloc(sizeof(*j));
		if (j == NULL)
			return STORE_FAULT;
	}
	*j = (struct writer_job){
		.fn = fn, .arg = arg, .done = done, .alone = alone
	};

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		if (!wait)
			free(j);
		return STORE_FAULT;
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->work);
	if (!wait) {
		pthread_mutex_unlock(&w->lock);
		return STORE_OK;
	}
	while (!j->finished)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return j->status;
}

void writer_stats(struct writer *w, struct store_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}

void writer_init(struct writer *w, struct store *s,
		 const struct writer_ops *ops)
{
	*w = (struct writer){ .store = s, .ops = ops };
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
}

int writer_start(struct writer *w)
{
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
		return STORE_FAULT;
	w->thread_started = true;
	return STORE_OK;
}

void writer_stop(struct writer *w)
{
	if (w->thread_started) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->thread_started = false;
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
}
