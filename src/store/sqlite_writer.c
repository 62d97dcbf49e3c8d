/*
 * sqlite_writer.c — the SQLite backend's writer thread: group commit.
 *
 * One writer thread owns the only write connection and runs the jobs of
 * store_write() in batches: BEGIN IMMEDIATE, a SAVEPOINT per job, one
 * COMMIT for all (group commit, WAL with synchronous=FULL), then the jobs'
 * commit hooks, then their completions. A job that fails is rolled back
 * to its savepoint alone and its rollback hooks run. When SQLite rolls the
 * whole transaction back itself (an I/O error, a full disk) or COMMIT
 * fails, every job of the batch that had succeeded is undone and failed
 * with STORE_FAULT, the connection is reopened, and jobs not yet run are
 * put back in the queue — a failed fsync is never taken for a success.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "sqlite.h"

struct sqlite_hook {
	store_hook_fn fn;
	void *arg;
	bool commit; /* on commit (true) or on rollback (false) */
};

struct sqlite_job {
	store_job_fn fn;
	void *arg;
	store_done_fn done; /* NULL for a waiting caller */
	bool alone;	    /* the last job of its batch */
	int status;
	bool finished;
	struct sqlite_job *next;
};

struct sqlite_tx {
	struct store_tx base;
	struct sqlite_store *s;
	struct sqlite_hook *hooks; /* of the whole batch */
	size_t n_hooks, cap_hooks;
	bool oom;	 /* a hook could not be registered */
	bool checkpoint; /* truncate the WAL after this batch commits */
};

struct sqlite_conn *sqlite_tx_conn(struct store_tx *tx)
{
	return &((struct sqlite_tx *)tx)->s->writer;
}

static uint64_t sqlite_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Folds the WAL into the database and truncates it, on the writer's own
 * connection after a commit (erasure asks for it: the old pages must not
 * survive in the WAL). Readers holding old snapshots can hold it back a
 * while; it is tried a bounded number of times. */
static void sqlite_truncate_wal(struct sqlite_store *s)
{
	for (int tries = 0; tries < 100; tries++) {
		if (sqlite3_wal_checkpoint_v2(s->writer.db, NULL,
					      SQLITE_CHECKPOINT_TRUNCATE, NULL,
					      NULL) == SQLITE_OK)
			return;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_warn("store: the WAL could not be truncated yet");
}

void sqlite_tx_checkpoint(struct store_tx *base)
{
	((struct sqlite_tx *)base)->checkpoint = true;
}

int sqlite_tx_hook(struct store_tx *base, bool commit, store_hook_fn fn,
		   void *arg)
{
	struct sqlite_tx *tx = (struct sqlite_tx *)base;
	if (tx->n_hooks == tx->cap_hooks) {
		size_t cap = tx->cap_hooks ? tx->cap_hooks * 2 : 64;
		struct sqlite_hook *h = realloc(tx->hooks, cap * sizeof(*h));
		if (h == NULL) {
			tx->oom = true;
			return STORE_FAULT;
		}
		tx->hooks = h;
		tx->cap_hooks = cap;
	}
	tx->hooks[tx->n_hooks++] = (struct sqlite_hook){ fn, arg, commit };
	return STORE_OK;
}

/* Runs the rollback hooks registered from index `from` on, newest first,
 * and forgets every hook from there. */
static void sqlite_undo_hooks(struct sqlite_tx *tx, size_t from)
{
	for (size_t i = tx->n_hooks; i > from; i--) {
		struct sqlite_hook *h = &tx->hooks[i - 1];
		if (!h->commit)
			h->fn(h->arg);
	}
	tx->n_hooks = from;
}

static void sqlite_reopen(struct sqlite_store *s)
{
	char err[256];
	sqlite_conn_close(&s->writer);
	for (int tries = 0; tries < 50; tries++) {
		if (sqlite_conn_open(&s->writer, s->path, true, err,
				     sizeof(err)) == STORE_OK) {
			log_warn("store: writer reopened after a fault");
			return;
		}
		log_warn("store: writer reopen failed: %s", err);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fatal("store: cannot reopen %s", s->path);
}

static void sqlite_finish(struct sqlite_store *s, struct sqlite_job *jobs)
{
	/* The waiting jobs are linked apart while the queued ones are freed:
	 * walking the batch's list again after the frees read freed memory
	 * whenever a batch held both kinds. */
	struct sqlite_job *waiters = NULL, **last = &waiters;
	for (struct sqlite_job *j = jobs, *next; j; j = next) {
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
		pthread_mutex_lock(&s->lock);
		/* A waiter may return (and its job leave its stack) as soon as
		 * the lock is released: nothing touches the jobs after. */
		for (struct sqlite_job *j = waiters; j; j = j->next)
			j->finished = true;
		pthread_cond_broadcast(&s->done);
		pthread_mutex_unlock(&s->lock);
	}
}

/* Runs the batch's jobs on a begun transaction, each in its savepoint;
 * a job that fails is rolled back to it alone, with its rollback hooks.
 * True while the transaction lives; false when it died (SQLite rolled it
 * back, or a savepoint could not be taken or given up), with *ran_end
 * the first job that did not run (NULL: all ran). *n counts the jobs
 * run. */
static bool sqlite_run_jobs(struct sqlite_tx *tx, struct sqlite_job *jobs,
			    struct sqlite_job **ran_end, size_t *n)
{
	sqlite3 *db = tx->s->writer.db;

	for (struct sqlite_job *j = jobs; j; j = j->next) {
		size_t mark = tx->n_hooks;
		tx->oom = false;
		tx->base.job = ++tx->s->jobs_run;
		if (sqlite_exec(db, "SAVEPOINT job") != SQLITE_OK) {
			*ran_end = j;
			return false;
		}
		j->status = j->fn(&tx->base, j->arg);
		if (j->status == STORE_OK && tx->oom)
			j->status = STORE_FAULT;
		(*n)++;
		*ran_end = j->next;
		if (sqlite3_get_autocommit(db)) {
			/* SQLite rolled the whole transaction back. */
			if (j->status == STORE_OK)
				j->status = STORE_FAULT;
			sqlite_undo_hooks(tx, mark);
			return false;
		}
		if (j->status != STORE_OK) {
			sqlite_undo_hooks(tx, mark);
			if (sqlite_exec(db, "ROLLBACK TO job; RELEASE job") !=
			    SQLITE_OK)
				return false;
		} else if (sqlite_exec(db, "RELEASE job") != SQLITE_OK) {
			j->status = STORE_FAULT;
			sqlite_undo_hooks(tx, mark);
			return false;
		}
	}
	return true;
}

/* After the transaction died: rolls back what is left of it, runs every
 * rollback hook, fails the jobs that had succeeded, cuts the batch before
 * ran_end (*jobs becomes NULL when no job ran) and reopens the
 * connection. Returns the jobs from ran_end on, for the queue. */
static struct sqlite_job *sqlite_abandon(struct sqlite_tx *tx,
					 struct sqlite_job **jobs,
					 struct sqlite_job *ran_end)
{
	sqlite3 *db = tx->s->writer.db;

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite_undo_hooks(tx, 0);
	for (struct sqlite_job *j = *jobs; j && j != ran_end; j = j->next)
		if (j->status == STORE_OK)
			j->status = STORE_FAULT;
	for (struct sqlite_job *j = *jobs; j; j = j->next)
		if (j->next == ran_end) {
			j->next = NULL;
			break;
		}
	if (ran_end == *jobs)
		*jobs = NULL;
	sqlite_reopen(tx->s);
	return ran_end;
}

/* Counts a batch of n jobs begun at t0, under the lock that
 * sqlite_writer_stats() reads the counts with. */
static void sqlite_count_batch(struct sqlite_store *s, size_t n, uint64_t t0)
{
	pthread_mutex_lock(&s->lock);
	s->stats.batches++;
	s->stats.jobs += n;
	if (n > s->stats.max_batch)
		s->stats.max_batch = n;
	s->stats.commit_ns_total += sqlite_now_ns() - t0;
	pthread_mutex_unlock(&s->lock);
}

/* Notes whether a batch could begin and commit: the writer is failing
 * from a failed one until one commits again (readiness: a read-only
 * store, a full disk). Each change of state is logged once. */
static void sqlite_note_commit(struct sqlite_store *s, bool committed)
{
	pthread_mutex_lock(&s->lock);
	bool was = s->stats.failing;
	s->stats.failing = !committed;
	pthread_mutex_unlock(&s->lock);
	if (!was && !committed)
		log_warn("store: writer: a commit failed; not ready until one "
			 "succeeds");
	else if (was && committed)
		log_info("store: writer: commits again; ready");
}

/* Runs one batch: BEGIN IMMEDIATE, its jobs, COMMIT, then the commit
 * hooks (or, when the transaction died, sqlite_abandon). Jobs not run
 * because the transaction died are returned through *requeue, in order. */
static void sqlite_run_batch(struct sqlite_store *s, struct sqlite_job *jobs,
			     struct sqlite_job **requeue)
{
	struct sqlite_tx tx = { .base = { .store = &s->base, .job = 0 },
				.s = s };
	tx.base.reads = (struct store_rd){ &s->base, &tx.base };
	sqlite3 *db = s->writer.db;
	struct sqlite_job *ran_end = NULL; /* first job not run */
	uint64_t t0 = sqlite_now_ns();
	size_t n = 0;

	*requeue = NULL;
	if (sqlite_exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		for (struct sqlite_job *j = jobs; j; j = j->next)
			j->status = STORE_FAULT;
		sqlite_note_commit(s, false);
		sqlite_reopen(s);
		goto finish;
	}
	bool alive = sqlite_run_jobs(&tx, jobs, &ran_end, &n);
	if (alive &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn("store: commit failed: %s", sqlite3_errmsg(db));
		alive = false;
	}
	sqlite_note_commit(s, alive);
	if (!alive) {
		*requeue = sqlite_abandon(&tx, &jobs, ran_end);
	} else {
		for (size_t i = 0; i < tx.n_hooks; i++)
			if (tx.hooks[i].commit)
				tx.hooks[i].fn(tx.hooks[i].arg);
		if (tx.checkpoint)
			sqlite_truncate_wal(s);
	}
	sqlite_count_batch(s, n, t0);
finish:
	free(tx.hooks);
	sqlite_finish(s, jobs);
}

void *sqlite_writer_main(void *arg)
{
	struct sqlite_store *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->work, &s->lock);
		if (s->head == NULL && s->stopping)
			break;
		/* Take the queue, up to and including the first job that must
		 * end its batch (see store_write_alone). */
		struct sqlite_job *jobs = s->head, *end = jobs;
		while (end->next && !end->alone)
			end = end->next;
		s->head = end->next;
		if (s->head == NULL)
			s->tail = NULL;
		end->next = NULL;
		pthread_mutex_unlock(&s->lock);

		struct sqlite_job *requeue = NULL;
		sqlite_run_batch(s, jobs, &requeue);

		pthread_mutex_lock(&s->lock);
		if (requeue) {
			struct sqlite_job *last = requeue;
			while (last->next)
				last = last->next;
			last->next = s->head;
			s->head = requeue;
			if (s->tail == NULL)
				s->tail = last;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sqlite_write(struct store *store, store_job_fn fn, void *arg,
		 store_done_fn done, bool wait, bool alone)
{
	struct sqlite_store *s = S(store);
	struct sqlite_job local, *j;

	if (wait) {
		j = &local;
	} else {
		j = malloc(sizeof(*j));
		if (j == NULL)
			return STORE_FAULT;
	}
	*j = (struct sqlite_job){
		.fn = fn, .arg = arg, .done = done, .alone = alone
	};

	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		if (!wait)
			free(j);
		return STORE_FAULT;
	}
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	pthread_cond_signal(&s->work);
	if (!wait) {
		pthread_mutex_unlock(&s->lock);
		return STORE_OK;
	}
	while (!j->finished)
		pthread_cond_wait(&s->done, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return j->status;
}

void sqlite_writer_stats(struct store *store, struct store_writer_stats *out)
{
	struct sqlite_store *s = S(store);
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
