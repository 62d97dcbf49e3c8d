/*
 * writer.h — the writer thread every backend shares (private to
 * src/store): jobs queued by store_write, run in batches on one
 * connection, each in its savepoint, committed once (group commit).
 *
 * A backend embeds a struct writer in its store and gives it a struct
 * writer_ops: the few statements of a batch on its own connection.
 */
#ifndef CMR_STORE_WRITER_H
#define CMR_STORE_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

/* What a backend does for the writer, on its writer connection. Each
 * returns STORE_OK or a store status, except tx_dead. */
struct writer_ops {
	int (*begin)(struct store *s);
	int (*savepoint)(struct store *s);
	int (*release)(struct store *s);     /* the job's savepoint */
	int (*rollback_to)(struct store *s); /* … and release it */
	/* Whether the backend rolled the whole transaction back itself. */
	bool (*tx_dead)(struct store *s);
	/* Whether a statement of the job just run failed, though the job
	 * went on (NULL: a failed statement never outlives its job). */
	bool (*job_failed)(struct store *s);
	/* Whether the job just run must run again: a statement of it failed
	 * because another server held what it needed (NULL: never). */
	bool (*job_retry)(struct store *s);
	int (*commit)(struct store *s);
	/* After a fault: roll back what is left of the transaction, and
	 * open the connection again (waiting for it as long as needed). */
	void (*abandon)(struct store *s);
	/* After a commit whose jobs asked for a checkpoint (or NULL). */
	void (*checkpoint)(struct store *s);
};

struct writer_job;

struct writer {
	struct store *store;
	const struct writer_ops *ops;
	pthread_t thread;     /* the writer thread */
	bool thread_started;  /* thread is to be joined at stop */
	pthread_mutex_t lock; /* the queue, stopping, stats, finished */
	pthread_cond_t work;  /* jobs queued or stopping */
	pthread_cond_t done;  /* some waiting job finished */
	struct writer_job *head, *tail;	 /* jobs queued, oldest first */
	bool stopping;			 /* stop: finish the queue and stop */
	struct store_writer_stats stats; /* since start, under lock */
	uint64_t jobs_run;		 /* writer thread only: numbers jobs */
};

void writer_init(struct writer *w, struct store *s,
		 const struct writer_ops *ops);
/* Starts the thread: STORE_OK or STORE_FAULT. */
int writer_start(struct writer *w);
/* Runs what is queued, stops the thread, and frees what init made. */
void writer_stop(struct writer *w);
/* store_write, store_tx_hook, store_tx_checkpoint, store_writer_stats
 * (a backend's entries call these with its writer). */
int writer_write(struct writer *w, store_job_fn fn, void *arg,
		 store_done_fn done, bool wait, bool alone);
int writer_tx_hook(struct store_tx *tx, bool commit, store_hook_fn fn,
		   void *arg);
void writer_tx_checkpoint(struct store_tx *tx);
void writer_stats(struct writer *w, struct store_writer_stats *out);

#endif
