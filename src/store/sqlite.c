/*
 * sqlite.c — the SQLite backend (sqlite:PATH), the embedded default.
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
 *
 * Readers take a connection from a small pool (one per concurrent reader)
 * opened read-only; each caches its prepared statements by SQL text.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "backend.h"
#include "base/log.h"
#include "store/schema.h"

#define SQLITE_STMT_CACHE 96

struct sqlite_stmt_slot {
	const char *sql; /* the SQL text pointer (a string literal) */
	sqlite3_stmt *stmt;
};

struct sqlite_conn {
	sqlite3 *db;
	int n;
	struct sqlite_stmt_slot stmts[SQLITE_STMT_CACHE];
	struct sqlite_conn *next; /* in the pool's free list */
};

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

struct sqlite_store;

struct sqlite_tx {
	struct store_tx base;
	struct sqlite_store *s;
	struct sqlite_hook *hooks; /* of the whole batch */
	size_t n_hooks, cap_hooks;
	bool oom;	 /* a hook could not be registered */
	bool checkpoint; /* truncate the WAL after this batch commits */
};

struct sqlite_store {
	struct store base;
	char *path;

	struct sqlite_conn writer; /* owned by the writer thread */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t work; /* jobs queued or stopping */
	pthread_cond_t done; /* some waiting job finished */
	struct sqlite_job *head, *tail;
	bool stopping;
	struct store_writer_stats stats;

	pthread_mutex_t pool_lock;
	struct sqlite_conn *pool; /* idle reader connections */
	uint64_t jobs_run;	  /* writer thread only: numbers jobs */
};

#define S(store) ((struct sqlite_store *)(store))

/* ---- Connections and statements ---- */

static int sqlite_status(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_CONSTRAINT:
		return STORE_CONFLICT;
	default:
		return STORE_FAULT;
	}
}

static int sqlite_conn_open(struct sqlite_conn *c, const char *path,
			    bool writer, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_NOMUTEX |
		    (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
			    : SQLITE_OPEN_READONLY);

	memset(c, 0, sizeof(*c));
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close(c->db);
		c->db = NULL;
		return STORE_FAULT;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 10000);
	const char *pragmas =
		writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA secure_delete=ON;"
			 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
			 "PRAGMA cache_size=-65536;"
		       : "PRAGMA query_only=1; PRAGMA cache_size=-16384;";
	char *msg = NULL;
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up %s: %s", path,
			 msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(c->db);
		c->db = NULL;
		return STORE_FAULT;
	}
	return STORE_OK;
}

static void sqlite_conn_close(struct sqlite_conn *c)
{
	for (int i = 0; i < c->n; i++)
		sqlite3_finalize(c->stmts[i].stmt);
	c->n = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

/* The cached statement for sql on c, reset and unbound; NULL on error. */
static sqlite3_stmt *sqlite_stmt(struct sqlite_conn *c, const char *sql)
{
	for (int i = 0; i < c->n; i++)
		if (c->stmts[i].sql == sql) {
			sqlite3_stmt *st = c->stmts[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			       NULL) != SQLITE_OK) {
		log_warn("store: prepare failed: %s", sqlite3_errmsg(c->db));
		return NULL;
	}
	if (c->n < SQLITE_STMT_CACHE)
		c->stmts[c->n++] = (struct sqlite_stmt_slot){ sql, st };
	else
		log_warn("store: statement cache full");
	return st;
}

/* A read session pins one reader connection to the calling thread inside
 * one read transaction, so a request's several reads share one snapshot
 * and one set of WAL locks (see store_read_begin). */
static __thread struct {
	struct sqlite_store *s;
	struct sqlite_conn *c;
} sqlite_pinned;

static struct sqlite_conn *sqlite_reader(struct sqlite_store *s)
{
	if (sqlite_pinned.s == s)
		return sqlite_pinned.c;
	pthread_mutex_lock(&s->pool_lock);
	struct sqlite_conn *c = s->pool;
	if (c)
		s->pool = c->next;
	pthread_mutex_unlock(&s->pool_lock);
	if (c)
		return c;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	char err[256];
	if (sqlite_conn_open(c, s->path, false, err, sizeof(err)) != 0) {
		log_warn("store: reader: %s", err);
		free(c);
		return NULL;
	}
	return c;
}

static void sqlite_reader_put(struct sqlite_store *s, struct sqlite_conn *c)
{
	if (sqlite_pinned.c == c && sqlite_pinned.s == s) {
		/* Pinned: keep the transaction, and leave the other statements
		 * alone — a caller may be iterating one while a callback reads
		 * (each read resets its own statement). */
		return;
	}
	/* Leave no statement holding a read snapshot open. */
	for (int i = 0; i < c->n; i++)
		sqlite3_reset(c->stmts[i].stmt);
	pthread_mutex_lock(&s->pool_lock);
	c->next = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->pool_lock);
}

/* Prepared once per connection: parsing BEGIN for every request costs. */
static const char sql_begin[] = "BEGIN";
static const char sql_commit[] = "COMMIT";

static void sqlite_read_begin(struct store *store)
{
	struct sqlite_store *s = S(store);
	if (sqlite_pinned.s != NULL)
		return; /* sessions do not nest */
	struct sqlite_conn *c = sqlite_reader(s);
	if (c == NULL)
		return; /* reads then take connections one by one */
	sqlite3_stmt *begin = sqlite_stmt(c, sql_begin);
	if (begin == NULL || sqlite3_step(begin) != SQLITE_DONE) {
		if (begin)
			sqlite3_reset(begin);
		sqlite_reader_put(s, c);
		return;
	}
	sqlite3_reset(begin);
	sqlite_pinned.s = s;
	sqlite_pinned.c = c;
}

static void sqlite_read_end(struct store *store)
{
	struct sqlite_store *s = S(store);
	if (sqlite_pinned.s != s)
		return;
	struct sqlite_conn *c = sqlite_pinned.c;
	sqlite_pinned.s = NULL;
	sqlite_pinned.c = NULL;
	for (int i = 0; i < c->n; i++)
		sqlite3_reset(c->stmts[i].stmt);
	sqlite3_stmt *commit = sqlite_stmt(c, sql_commit);
	if (commit == NULL || sqlite3_step(commit) != SQLITE_DONE)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (commit)
		sqlite3_reset(commit);
	sqlite_reader_put(s, c);
}

/* Binding helpers: NULL for absent values.
 *
 * Values are bound SQLITE_STATIC, never SQLITE_TRANSIENT: a transient
 * bind copies the value, and when that allocation fails SQLite leaves the
 * parameter NULL and the statement still runs — a NOT NULL column then
 * reports a conflict, a nullable one silently stores NULL, and a lookup
 * finds nothing (found by failing the N-th allocation in
 * tests/unit/store). A static bind cannot fail so. It is safe here because
 * every statement is stepped and reset by the function that bound it,
 * while the caller's values live, and sqlite_stmt() clears the bindings
 * before a cached statement is used again. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_key(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, (sqlite3_int64)v);
	else
		sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* Steps a write statement to completion. */
static int sqlite_exec_stmt(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if ((rc & 0xff) != SQLITE_CONSTRAINT)
			log_warn("store: write failed: %s", sqlite3_errstr(rc));
		return sqlite_status(rc & 0xff);
	}
	return STORE_OK;
}

static struct sqlite_conn *tx_conn(struct store_tx *tx)
{
	return &((struct sqlite_tx *)tx)->s->writer;
}

/* ---- Migrations ---- */

static int sqlite_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_warn("store: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
	}
	return rc;
}

struct sqlite_migration_job {
	const struct schema_migration *m;
};

static int sqlite_migration_run(struct store_tx *tx, void *arg)
{
	struct sqlite_migration_job *j = arg;
	sqlite3 *db = tx_conn(tx)->db;
	if (sqlite_exec(db, j->m->sql) != SQLITE_OK)
		return STORE_FAULT;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO schema_migrations(version, name, "
			       "applied_at) VALUES (?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return STORE_FAULT;
	sqlite3_bind_int(st, 1, j->m->version);
	sqlite3_bind_text(st, 2, j->m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? STORE_OK : STORE_FAULT;
}

static int sqlite_version_run(struct store_tx *tx, void *arg)
{
	int *version = arg;
	sqlite3 *db = tx_conn(tx)->db;
	if (sqlite_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    "version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			    " applied_at BIGINT NOT NULL)") != SQLITE_OK)
		return STORE_FAULT;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT coalesce(max(version), 0) FROM "
			       "schema_migrations",
			       -1, &st, NULL) != SQLITE_OK)
		return STORE_FAULT;
	int rc = sqlite3_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return *version >= 0 ? STORE_OK : STORE_FAULT;
}

static int sqlite_migrate(struct store *store, int *applied, int *version)
{
	int current = 0, ran = 0;
	int rc = store_write(store, sqlite_version_run, &current);
	if (rc != STORE_OK)
		return rc;
	for (size_t i = 0; i < schema_migrations_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if (m->version <= current)
			continue;
		struct sqlite_migration_job j = { m };
		rc = store_write(store, sqlite_migration_run, &j);
		if (rc != STORE_OK) {
			log_warn("store: migration %03d_%s failed", m->version,
				 m->name);
			return rc;
		}
		log_info("store: migrate applied %03d_%s", m->version, m->name);
		current = m->version;
		ran++;
	}
	if (applied)
		*applied = ran;
	if (version)
		*version = current;
	return STORE_OK;
}

/* ---- The writer ---- */

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

static void sqlite_tx_checkpoint(struct store_tx *base)
{
	((struct sqlite_tx *)base)->checkpoint = true;
}

static int sqlite_tx_hook(struct store_tx *base, bool commit, store_hook_fn fn,
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

/* Runs one batch. Jobs not run because the transaction died are returned
 * through *requeue, in order. */
static void sqlite_run_batch(struct sqlite_store *s, struct sqlite_job *jobs,
			     struct sqlite_job **requeue)
{
	struct sqlite_tx tx = { .base = { .store = &s->base, .job = 0 },
				.s = s };
	tx.base.reads = (struct store_rd){ &s->base, &tx.base };
	sqlite3 *db = s->writer.db;
	struct sqlite_job *ran_end = NULL; /* first job not run */
	bool dead = false;
	uint64_t t0 = sqlite_now_ns();
	size_t n = 0;

	*requeue = NULL;
	if (sqlite_exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		for (struct sqlite_job *j = jobs; j; j = j->next)
			j->status = STORE_FAULT;
		sqlite_reopen(s);
		goto finish;
	}
	for (struct sqlite_job *j = jobs; j; j = j->next) {
		size_t mark = tx.n_hooks;
		tx.oom = false;
		tx.base.job = ++s->jobs_run;
		if (sqlite_exec(db, "SAVEPOINT job") != SQLITE_OK) {
			dead = true;
			ran_end = j;
			break;
		}
		j->status = j->fn(&tx.base, j->arg);
		if (j->status == STORE_OK && tx.oom)
			j->status = STORE_FAULT;
		n++;
		if (sqlite3_get_autocommit(db)) {
			/* SQLite rolled the whole transaction back. */
			if (j->status == STORE_OK)
				j->status = STORE_FAULT;
			sqlite_undo_hooks(&tx, mark);
			dead = true;
			ran_end = j->next;
			break;
		}
		if (j->status != STORE_OK) {
			sqlite_undo_hooks(&tx, mark);
			if (sqlite_exec(db, "ROLLBACK TO job; RELEASE job") !=
			    SQLITE_OK) {
				dead = true;
				ran_end = j->next;
				break;
			}
		} else if (sqlite_exec(db, "RELEASE job") != SQLITE_OK) {
			j->status = STORE_FAULT;
			sqlite_undo_hooks(&tx, mark);
			dead = true;
			ran_end = j->next;
			break;
		}
	}
	if (!dead) {
		int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			log_warn("store: commit failed: %s",
				 sqlite3_errmsg(db));
			dead = true;
		}
	}
	if (dead) {
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite_undo_hooks(&tx, 0);
		for (struct sqlite_job *j = jobs; j && j != ran_end;
		     j = j->next)
			if (j->status == STORE_OK)
				j->status = STORE_FAULT;
		/* Cut the list: jobs from ran_end on go back to the queue. */
		for (struct sqlite_job *j = jobs; j; j = j->next)
			if (j->next == ran_end) {
				j->next = NULL;
				break;
			}
		if (ran_end == jobs)
			jobs = NULL;
		*requeue = ran_end;
		sqlite_reopen(s);
	} else {
		for (size_t i = 0; i < tx.n_hooks; i++)
			if (tx.hooks[i].commit)
				tx.hooks[i].fn(tx.hooks[i].arg);
		if (tx.checkpoint)
			sqlite_truncate_wal(s);
	}
	/* Under the lock that sqlite_writer_stats() reads them with. */
	pthread_mutex_lock(&s->lock);
	s->stats.batches++;
	s->stats.jobs += n;
	if (n > s->stats.max_batch)
		s->stats.max_batch = n;
	s->stats.commit_ns_total += sqlite_now_ns() - t0;
	pthread_mutex_unlock(&s->lock);
finish:
	free(tx.hooks);
	sqlite_finish(s, jobs);
}

static void *sqlite_writer_main(void *arg)
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

static int sqlite_write(struct store *store, store_job_fn fn, void *arg,
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

static void sqlite_writer_stats(struct store *store,
				struct store_writer_stats *out)
{
	struct sqlite_store *s = S(store);
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- Open and close ---- */

static void sqlite_close(struct store *store)
{
	struct sqlite_store *s = S(store);

	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (s->writer.db) {
		/* Fold the WAL back so the file stands alone when idle. */
		sqlite3_wal_checkpoint_v2(s->writer.db, NULL,
					  SQLITE_CHECKPOINT_TRUNCATE, NULL,
					  NULL);
		sqlite_conn_close(&s->writer);
	}
	for (struct sqlite_conn *c = s->pool, *next; c; c = next) {
		next = c->next;
		sqlite_conn_close(c);
		free(c);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	free(s->path);
	free(s);
}

static int sqlite_open(const char *rest, struct store **out, char *err,
		       size_t errlen)
{
	if (*rest == '\0') {
		snprintf(err, errlen,
			 "sqlite store URL needs a path "
			 "(sqlite:./var/cmr.db)");
		return STORE_INVALID;
	}
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return STORE_FAULT;
	}
	s->base.ops = &store_sqlite_ops;
	s->base.reads = (struct store_rd){ &s->base, NULL };
	s->path = strdup(rest);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	if (s->path == NULL || sqlite_conn_open(&s->writer, s->path, true, err,
						errlen) != STORE_OK) {
		if (s->path == NULL)
			snprintf(err, errlen, "out of memory");
		sqlite_close(&s->base);
		return STORE_FAULT;
	}
	if (pthread_create(&s->thread, NULL, sqlite_writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		sqlite_close(&s->base);
		return STORE_FAULT;
	}
	s->thread_started = true;
	*out = &s->base;
	return STORE_OK;
}

/* ---- Rows ---- */

/* The connection a read goes through: a job's own (the writer's) for a
 * transaction's reads, else one of the readers; rd_put gives it back. */
static struct sqlite_conn *rd_conn(struct store_rd *rd)
{
	return rd->tx ? tx_conn(rd->tx) : sqlite_reader(S(rd->store));
}

static void rd_put(struct store_rd *rd, struct sqlite_conn *c)
{
	if (rd->tx == NULL)
		sqlite_reader_put(S(rd->store), c);
}

#define READER_BEGIN(rd, sql)                                                  \
	struct store_rd *rd_ = (rd);                                           \
	struct sqlite_conn *c_ = rd_conn(rd_);                                 \
	if (c_ == NULL)                                                        \
		return STORE_FAULT;                                            \
	sqlite3_stmt *st = sqlite_stmt(c_, sql);                               \
	if (st == NULL) {                                                      \
		rd_put(rd_, c_);                                               \
		return STORE_FAULT;                                            \
	}

#define READER_END()                                                           \
	do {                                                                   \
		sqlite3_reset(st);                                             \
		rd_put(rd_, c_);                                               \
	} while (0)

#define WRITER_STMT(tx, sql)                                                   \
	sqlite3_stmt *st = sqlite_stmt(tx_conn(tx), sql);                      \
	if (st == NULL)                                                        \
		return STORE_FAULT;

static const char sql_person_insert[] =
	"INSERT INTO persons(id, handle, password_hash, data_key, profile, "
	"global_terms, folders, created_at) VALUES (?,?,?,?,?,?,?,?)";

static int sqlite_person_insert(struct store_tx *tx,
				const struct store_person *p)
{
	WRITER_STMT(tx, sql_person_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p->id);
	bind_text(st, 2, p->handle);
	bind_text(st, 3, p->password_hash);
	sqlite3_bind_blob(st, 4, p->data_key, (int)p->data_key_len,
			  SQLITE_STATIC);
	bind_text(st, 5, p->profile);
	bind_text(st, 6, p->global_terms ? p->global_terms : "{}");
	bind_text(st, 7, p->folders ? p->folders : "[]");
	sqlite3_bind_int64(st, 8, p->created_at);
	return sqlite_exec_stmt(st);
}

#define PERSON_COLS                                                            \
	"id, handle, password_hash, data_key, profile, global_terms, "         \
	"folders, created_at, erased_at, delivery"

static int person_row(sqlite3_stmt *st, void *out)
{
	struct store_person *p = out;
	memset(p, 0, sizeof(*p));
	p->id = (uint64_t)sqlite3_column_int64(st, 0);
	col_copy(st, 1, p->handle, sizeof(p->handle));
	col_copy(st, 2, p->password_hash, sizeof(p->password_hash));
	int n = sqlite3_column_bytes(st, 3);
	if (n > 0 && (size_t)n <= sizeof(p->data_key)) {
		memcpy(p->data_key, sqlite3_column_blob(st, 3), (size_t)n);
		p->data_key_len = (size_t)n;
	}
	p->profile = col_strdup(st, 4);
	p->global_terms = col_strdup(st, 5);
	p->folders = col_strdup(st, 6);
	p->created_at = sqlite3_column_int64(st, 7);
	p->erased_at = sqlite3_column_int64(st, 8);
	p->delivery = col_strdup(st, 9);
	if (p->global_terms == NULL || p->folders == NULL ||
	    p->delivery == NULL) {
		store_person_clear(p);
		return STORE_FAULT;
	}
	return STORE_OK;
}

/* One row by key (id, or text when not NULL) into out through `row`:
 * STORE_OK, STORE_NOT_FOUND, or what `row` or SQLite says. */
static int row_one(struct store_rd *rd, const char *sql, uint64_t id,
		   const char *text, int (*row)(sqlite3_stmt *, void *),
		   void *out)
{
	READER_BEGIN(rd, sql);
	if (text)
		bind_text(st, 1, text);
	else
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status;
	if (rc == SQLITE_ROW)
		status = row(st, out);
	else
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_person_by_handle[] =
	"SELECT " PERSON_COLS " FROM persons WHERE handle = ?";
static const char sql_person_by_id[] =
	"SELECT " PERSON_COLS " FROM persons WHERE id = ?";

static int sqlite_person_by_handle(struct store_rd *rd, const char *handle,
				   struct store_person *out)
{
	return row_one(rd, sql_person_by_handle, 0, handle, person_row, out);
}

static int sqlite_person_by_id(struct store_rd *rd, uint64_t id,
			       struct store_person *out)
{
	return row_one(rd, sql_person_by_id, id, NULL, person_row, out);
}

static const char sql_person_list[] =
	"SELECT " PERSON_COLS " FROM persons WHERE id > ? ORDER BY id LIMIT ?";

static int sqlite_person_list(struct store_rd *rd, uint64_t after, int limit,
			      store_person_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_person_list);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	sqlite3_bind_int(st, 2, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_person p;
		if ((status = person_row(st, &p)) != STORE_OK)
			break;
		int stop = cb(&p, arg);
		store_person_clear(&p);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static int update_text(struct store_tx *tx, const char *sql, uint64_t id,
		       const char *v)
{
	WRITER_STMT(tx, sql);
	bind_text(st, 1, v);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_NOT_FOUND;
	return status;
}

static const char sql_person_profile[] =
	"UPDATE persons SET profile = ? WHERE id = ?";
static const char sql_person_global[] =
	"UPDATE persons SET global_terms = ? WHERE id = ?";

static int sqlite_person_set_profile(struct store_tx *tx, uint64_t id,
				     const char *sealed)
{
	return update_text(tx, sql_person_profile, id, sealed);
}

static int sqlite_person_set_global_terms(struct store_tx *tx, uint64_t id,
					  const char *json)
{
	return update_text(tx, sql_person_global, id, json);
}

static const char sql_person_folders[] =
	"UPDATE persons SET folders = ? WHERE id = ?";

static int sqlite_person_set_folders(struct store_tx *tx, uint64_t id,
				     const char *json)
{
	return update_text(tx, sql_person_folders, id, json);
}

/* -- tokens -- */

static const char sql_token_insert[] =
	"INSERT INTO tokens(id, person, kind, secret_hash, created_at, "
	"expires_at, last_used_at) VALUES (?,?,?,?,?,?,?)";

static int sqlite_token_insert(struct store_tx *tx, const struct store_token *t)
{
	WRITER_STMT(tx, sql_token_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)t->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)t->person);
	bind_text(st, 3, t->kind);
	sqlite3_bind_blob(st, 4, t->secret_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t->created_at);
	sqlite3_bind_int64(st, 6, t->expires_at);
	sqlite3_bind_int64(st, 7, t->last_used_at);
	return sqlite_exec_stmt(st);
}

static const char sql_token_by_id[] =
	"SELECT id, person, kind, secret_hash, created_at, expires_at, "
	"last_used_at, revoked_at FROM tokens WHERE id = ?";

static int sqlite_token_by_id(struct store_rd *rd, uint64_t id,
			      struct store_token *t)
{
	READER_BEGIN(rd, sql_token_by_id);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		memset(t, 0, sizeof(*t));
		t->id = (uint64_t)sqlite3_column_int64(st, 0);
		t->person = (uint64_t)sqlite3_column_int64(st, 1);
		col_copy(st, 2, t->kind, sizeof(t->kind));
		if (sqlite3_column_bytes(st, 3) == 32)
			memcpy(t->secret_hash, sqlite3_column_blob(st, 3), 32);
		t->created_at = sqlite3_column_int64(st, 4);
		t->expires_at = sqlite3_column_int64(st, 5);
		t->last_used_at = sqlite3_column_int64(st, 6);
		t->revoked_at = sqlite3_column_int64(st, 7);
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

static const char sql_token_revoke[] =
	"UPDATE tokens SET revoked_at = ? WHERE id = ? AND person = ? AND "
	"revoked_at IS NULL";
static const char sql_token_touch[] =
	"UPDATE tokens SET last_used_at = ? WHERE id = ?";

static int sqlite_token_revoke(struct store_tx *tx, uint64_t person,
			       uint64_t id, int64_t at)
{
	WRITER_STMT(tx, sql_token_revoke);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)person);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_NOT_FOUND;
	return status;
}

static const char sql_token_revoke_others[] =
	"UPDATE tokens SET revoked_at = ?1 WHERE person = ?2 AND id <> ?3 "
	"AND revoked_at IS NULL";

static int sqlite_token_revoke_others(struct store_tx *tx, uint64_t person,
				      uint64_t keep, int64_t at)
{
	WRITER_STMT(tx, sql_token_revoke_others);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)keep);
	return sqlite_exec_stmt(st);
}

static int sqlite_token_touch(struct store_tx *tx, uint64_t id, int64_t at)
{
	WRITER_STMT(tx, sql_token_touch);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}

static const char sql_person_folders_get[] =
	"SELECT folders FROM persons WHERE id = ?";

static int sqlite_person_folders(struct store_rd *rd, uint64_t id, char **json)
{
	READER_BEGIN(rd, sql_person_folders_get);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		if ((*json = col_strdup(st, 0)) == NULL)
			status = STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

/* -- brands -- */

static const char sql_brand_insert[] =
	"INSERT INTO brands(id, name, key_hash, controller, created_at, "
	"key_rotated_at) VALUES (?,?,?,?,?,?)";
static const char sql_domain_insert[] =
	"INSERT INTO brand_domains(domain, brand) VALUES (?, ?)";

static int sqlite_brand_insert(struct store_tx *tx, const struct store_brand *b)
{
	int status;
	{
		WRITER_STMT(tx, sql_brand_insert);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)b->id);
		bind_text(st, 2, b->name);
		sqlite3_bind_blob(st, 3, b->key_hash, 32, SQLITE_STATIC);
		bind_text(st, 4, b->controller ? b->controller : "{}");
		sqlite3_bind_int64(st, 5, b->created_at);
		sqlite3_bind_int64(st, 6, b->key_rotated_at);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	json_t *domains = json_loads(b->domains ? b->domains : "[]", 0, NULL);
	if (!json_is_array(domains)) {
		json_decref(domains);
		return STORE_INVALID;
	}
	size_t i;
	json_t *d;
	json_array_foreach (domains, i, d) {
		sqlite3_stmt *st = sqlite_stmt(tx_conn(tx), sql_domain_insert);
		if (st == NULL || !json_is_string(d)) {
			status = st ? STORE_INVALID : STORE_FAULT;
			break;
		}
		bind_text(st, 1, json_string_value(d));
		sqlite3_bind_int64(st, 2, (sqlite3_int64)b->id);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			break;
	}
	json_decref(domains);
	return status;
}

#define BRAND_COLS                                                             \
	"b.id, b.name, b.key_hash, b.controller, b.created_at, "               \
	"b.key_rotated_at, (SELECT json_group_array(domain) FROM (SELECT "     \
	"domain FROM brand_domains d WHERE d.brand = b.id ORDER BY domain))"

static int brand_row(sqlite3_stmt *st, struct store_brand *b)
{
	memset(b, 0, sizeof(*b));
	b->id = (uint64_t)sqlite3_column_int64(st, 0);
	col_copy(st, 1, b->name, sizeof(b->name));
	if (sqlite3_column_bytes(st, 2) == 32)
		memcpy(b->key_hash, sqlite3_column_blob(st, 2), 32);
	b->controller = col_strdup(st, 3);
	b->created_at = sqlite3_column_int64(st, 4);
	b->key_rotated_at = sqlite3_column_int64(st, 5);
	b->domains = col_strdup(st, 6);
	if (b->controller == NULL || b->domains == NULL) {
		store_brand_clear(b);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char sql_brand_by_id[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.id = ?";
static const char sql_brand_by_name[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.name = ?";

static int brand_one(struct store_rd *rd, const char *sql, uint64_t id,
		     const char *text, struct store_brand *out)
{
	READER_BEGIN(rd, sql);
	if (text)
		bind_text(st, 1, text);
	else
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status;
	if (rc == SQLITE_ROW)
		status = brand_row(st, out);
	else
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	READER_END();
	return status;
}

static int sqlite_brand_by_id(struct store_rd *rd, uint64_t id,
			      struct store_brand *out)
{
	return brand_one(rd, sql_brand_by_id, id, NULL, out);
}

static int sqlite_brand_by_name(struct store_rd *rd, const char *name,
				struct store_brand *out)
{
	return brand_one(rd, sql_brand_by_name, 0, name, out);
}

static const char sql_brand_list[] =
	"SELECT " BRAND_COLS " FROM brands b WHERE b.id > ? "
	"ORDER BY b.id LIMIT ?";

static int sqlite_brand_list(struct store_rd *rd, uint64_t after, int limit,
			     store_brand_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_brand_list);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	sqlite3_bind_int(st, 2, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_brand b;
		if ((status = brand_row(st, &b)) != STORE_OK)
			break;
		int stop = cb(&b, arg);
		store_brand_clear(&b);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_brand_set_key[] =
	"UPDATE brands SET key_hash = ?, key_rotated_at = ? WHERE id = ?";

static int sqlite_brand_set_key(struct store_tx *tx, uint64_t id,
				const uint8_t *key_hash, int64_t at)
{
	WRITER_STMT(tx, sql_brand_set_key);
	sqlite3_bind_blob(st, 1, key_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_NOT_FOUND;
	return status;
}

static const char sql_brand_key_hash[] =
	"SELECT key_hash FROM brands WHERE id = ?";

static int sqlite_brand_key_hash(struct store_rd *rd, uint64_t id,
				 uint8_t *hash)
{
	READER_BEGIN(rd, sql_brand_key_hash);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32)
		memcpy(hash, sqlite3_column_blob(st, 0), 32);
	else
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_person_sealed[] =
	"SELECT data_key, profile FROM persons WHERE id = ?";

static int sqlite_person_profile(struct store_rd *rd, uint64_t id,
				 uint8_t *data_key, size_t *data_key_len,
				 char **profile)
{
	READER_BEGIN(rd, sql_person_sealed);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status = STORE_OK;
	*data_key_len = 0;
	*profile = NULL;
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		if (n > 0 && n <= 96) {
			memcpy(data_key, sqlite3_column_blob(st, 0), (size_t)n);
			*data_key_len = (size_t)n;
		}
		if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    (*profile = col_strdup(st, 1)) == NULL)
			status = STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

static const char sql_brand_by_domain[] =
	"SELECT brand FROM brand_domains WHERE domain = ?";

static int sqlite_brand_by_domain(struct store_rd *rd, const char *domain,
				  uint64_t *brand)
{
	READER_BEGIN(rd, sql_brand_by_domain);
	bind_text(st, 1, domain);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW)
		*brand = (uint64_t)sqlite3_column_int64(st, 0);
	else
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	READER_END();
	return status;
}

/* -- proposals -- */

static const char sql_proposal_insert[] =
	"INSERT INTO proposals(id, person, brand, state, value, ask, "
	"created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)";

static int sqlite_proposal_insert(struct store_tx *tx,
				  const struct store_proposal *p)
{
	WRITER_STMT(tx, sql_proposal_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)p->person);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p->brand);
	bind_text(st, 4, p->state[0] ? p->state : "pending");
	bind_text(st, 5, p->value ? p->value : "");
	bind_text(st, 6, p->ask ? p->ask : "{}");
	sqlite3_bind_int64(st, 7, p->created_at);
	sqlite3_bind_int64(st, 8, p->expires_at);
	return sqlite_exec_stmt(st);
}

static const char sql_proposal_by_id[] =
	"SELECT id, person, brand, state, value, ask, created_at, "
	"expires_at, decided_at, relationship FROM proposals WHERE id = ?";

static int sqlite_proposal_by_id(struct store_rd *rd, uint64_t id,
				 struct store_proposal *p)
{
	READER_BEGIN(rd, sql_proposal_by_id);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		memset(p, 0, sizeof(*p));
		p->id = (uint64_t)sqlite3_column_int64(st, 0);
		p->person = (uint64_t)sqlite3_column_int64(st, 1);
		p->brand = (uint64_t)sqlite3_column_int64(st, 2);
		col_copy(st, 3, p->state, sizeof(p->state));
		p->value = col_strdup(st, 4);
		p->ask = col_strdup(st, 5);
		p->created_at = sqlite3_column_int64(st, 6);
		p->expires_at = sqlite3_column_int64(st, 7);
		p->decided_at = sqlite3_column_int64(st, 8);
		p->relationship = (uint64_t)sqlite3_column_int64(st, 9);
		if (p->value == NULL || p->ask == NULL) {
			store_proposal_clear(p);
			status = STORE_FAULT;
		}
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

static const char sql_proposal_decide[] =
	"UPDATE proposals SET state = ?, relationship = ?, decided_at = ? "
	"WHERE id = ? AND state = 'pending'";

static int sqlite_proposal_decide(struct store_tx *tx, uint64_t id,
				  const char *state, uint64_t relationship,
				  int64_t at)
{
	WRITER_STMT(tx, sql_proposal_decide);
	bind_text(st, 1, state);
	bind_key(st, 2, relationship);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)id);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_CONFLICT;
	return status;
}

/* -- relationships -- */

static const char sql_rel_insert[] =
	"INSERT INTO relationships(id, person, brand, proposal, state, alias, "
	"terms, terms_version, topics, created_at) VALUES "
	"(?,?,?,?,?,?,?,?,?,?)";
static const char sql_alias_insert[] =
	"INSERT INTO aliases(alias, person, relationship) VALUES (?,?,?)";
static const char sql_terms_version_insert[] =
	"INSERT INTO terms_versions(relationship, version, person, terms, at) "
	"VALUES (?,?,?,?,?)";

static int sqlite_relationship_insert(struct store_tx *tx,
				      const struct store_relationship *r)
{
	int status;
	{
		WRITER_STMT(tx, sql_rel_insert);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)r->person);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->brand);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)r->proposal);
		sqlite3_bind_int(st, 5, r->state);
		bind_text(st, 6, r->alias);
		bind_text(st, 7, r->terms);
		sqlite3_bind_int(st, 8,
				 r->terms_version ? r->terms_version : 1);
		bind_text(st, 9, r->topics ? r->topics : "[]");
		sqlite3_bind_int64(st, 10, r->created_at);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	{
		WRITER_STMT(tx, sql_alias_insert);
		bind_text(st, 1, r->alias);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)r->person);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->id);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	WRITER_STMT(tx, sql_terms_version_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int(st, 2, r->terms_version ? r->terms_version : 1);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->person);
	bind_text(st, 4, r->terms);
	sqlite3_bind_int64(st, 5, r->created_at);
	return sqlite_exec_stmt(st);
}

#define REL_COLS                                                               \
	"id, person, brand, proposal, state, alias, terms, terms_version, "    \
	"topics, created_at, ended_at, unsubscribe"

static int rel_row(sqlite3_stmt *st, void *out)
{
	struct store_relationship *r = out;
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->person = (uint64_t)sqlite3_column_int64(st, 1);
	r->brand = (uint64_t)sqlite3_column_int64(st, 2);
	r->proposal = (uint64_t)sqlite3_column_int64(st, 3);
	r->state = sqlite3_column_int(st, 4);
	col_copy(st, 5, r->alias, sizeof(r->alias));
	r->terms = col_strdup(st, 6);
	r->terms_version = sqlite3_column_int(st, 7);
	r->topics = col_strdup(st, 8);
	r->created_at = sqlite3_column_int64(st, 9);
	r->ended_at = sqlite3_column_int64(st, 10);
	r->unsubscribe = col_strdup(st, 11);
	if (r->terms == NULL || r->topics == NULL ||
	    (r->unsubscribe == NULL &&
	     sqlite3_column_type(st, 11) != SQLITE_NULL)) {
		store_relationship_clear(r);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char sql_rel_by_id[] =
	"SELECT " REL_COLS " FROM relationships WHERE id = ?";
static const char sql_rel_by_alias[] =
	"SELECT " REL_COLS " FROM relationships WHERE alias = ?";

static int sqlite_relationship_by_id(struct store_rd *rd, uint64_t id,
				     struct store_relationship *out)
{
	return row_one(rd, sql_rel_by_id, id, NULL, rel_row, out);
}

static int sqlite_relationship_by_alias(struct store_rd *rd, const char *alias,
					struct store_relationship *out)
{
	return row_one(rd, sql_rel_by_alias, 0, alias, rel_row, out);
}

static int rel_list(struct store_rd *rd, const char *sql, uint64_t person,
		    uint64_t after, int limit, store_relationship_cb cb,
		    void *arg)
{
	READER_BEGIN(rd, sql);
	int i = 1;
	if (person)
		sqlite3_bind_int64(st, i++, (sqlite3_int64)person);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)after);
	sqlite3_bind_int(st, i, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_relationship r;
		if ((status = rel_row(st, &r)) != STORE_OK)
			break;
		int stop = cb(&r, arg);
		store_relationship_clear(&r);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_rel_list_person[] =
	"SELECT " REL_COLS " FROM relationships WHERE person = ? AND id > ? "
	"ORDER BY id LIMIT ?";
static const char sql_rel_list_open[] =
	"SELECT " REL_COLS " FROM relationships WHERE state <> 2 AND id > ? "
	"ORDER BY id LIMIT ?";

static int sqlite_relationship_list_person(struct store_rd *rd, uint64_t person,
					   uint64_t after, int limit,
					   store_relationship_cb cb, void *arg)
{
	return rel_list(rd, sql_rel_list_person, person, after, limit, cb, arg);
}

static int sqlite_relationship_list_open(struct store_rd *rd, uint64_t after,
					 int limit, store_relationship_cb cb,
					 void *arg)
{
	return rel_list(rd, sql_rel_list_open, 0, after, limit, cb, arg);
}

static const char sql_rel_set_state[] =
	"UPDATE relationships SET state = ?1, ended_at = CASE WHEN ?1 = 2 "
	"THEN ?2 ELSE ended_at END WHERE id = ?3 AND state <> 2";

static int sqlite_relationship_set_state(struct store_tx *tx, uint64_t id,
					 int state, int64_t at)
{
	WRITER_STMT(tx, sql_rel_set_state);
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	int status = sqlite_exec_stmt(st);
	/* An ended relationship stays ended. */
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_CONFLICT;
	return status;
}

/* The version is the stored one plus one, counted here so that two
 * changes in a row can never claim the same number. */
static const char sql_rel_set_terms[] =
	"UPDATE relationships SET terms = ?, topics = ?, "
	"terms_version = terms_version + 1 WHERE id = ? AND state <> 2 "
	"RETURNING terms_version";

static int sqlite_relationship_set_terms(struct store_tx *tx,
					 const struct store_relationship *r,
					 int64_t at)
{
	int version;
	{
		WRITER_STMT(tx, sql_rel_set_terms);
		bind_text(st, 1, r->terms);
		bind_text(st, 2, r->topics);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->id);
		int rc = sqlite3_step(st);
		version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
		if (rc == SQLITE_ROW)
			rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return STORE_FAULT;
		if (version == 0)
			return STORE_CONFLICT; /* ended: terms are final */
	}
	WRITER_STMT(tx, sql_terms_version_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int(st, 2, version);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->person);
	bind_text(st, 4, r->terms);
	sqlite3_bind_int64(st, 5, at);
	return sqlite_exec_stmt(st);
}

/* -- attempts -- */

static const char sql_attempt_insert[] =
	"INSERT INTO attempts(id, person, relationship, brand, campaign, "
	"channel, topic, decision, reason, folder, deliver_at, received_at, "
	"sender, sender_verified, subject, headers, body, decided_at, exempt, "
	"dedup) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

static int sqlite_attempt_insert(struct store_tx *tx,
				 const struct store_attempt *a)
{
	WRITER_STMT(tx, sql_attempt_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)a->person);
	bind_key(st, 3, a->relationship);
	bind_key(st, 4, a->brand);
	bind_key(st, 5, a->campaign);
	sqlite3_bind_int(st, 6, a->channel);
	bind_text(st, 7, a->topic);
	sqlite3_bind_int(st, 8, a->decision);
	sqlite3_bind_int(st, 9, a->reason);
	if (a->folder >= 0)
		sqlite3_bind_int(st, 10, a->folder);
	bind_time(st, 11, a->deliver_at);
	sqlite3_bind_int64(st, 12, a->received_at);
	bind_text(st, 13, a->sender);
	sqlite3_bind_int(st, 14, a->sender_verified ? 1 : 0);
	bind_text(st, 15, a->subject);
	if (a->headers)
		sqlite3_bind_blob(st, 16, a->headers, (int)a->headers_len,
				  SQLITE_STATIC);
	if (a->body)
		sqlite3_bind_blob(st, 17, a->body, (int)a->body_len,
				  SQLITE_STATIC);
	bind_time(st, 18, a->decided_at);
	sqlite3_bind_int(st, 19, a->exempt ? 1 : 0);
	if (a->dedup)
		sqlite3_bind_blob(st, 20, a->dedup, 16, SQLITE_STATIC);
	return sqlite_exec_stmt(st);
}

static const char sql_attempt_dup[] =
	"SELECT 1 FROM attempts WHERE relationship = ? AND dedup = ? AND "
	"decision <> 2 LIMIT 1";

static int sqlite_attempt_dup(struct store_rd *rd, uint64_t relationship,
			      const uint8_t *dedup, bool *found)
{
	READER_BEGIN(rd, sql_attempt_dup);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)relationship);
	sqlite3_bind_blob(st, 2, dedup, 16, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	READER_END();
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_FAULT;
}

static const char sql_held_count[] =
	"SELECT count(*) FROM attempts WHERE relationship = ? AND decision = 1";

static int sqlite_held_count(struct store_rd *rd, uint64_t relationship,
			     uint32_t *out)
{
	READER_BEGIN(rd, sql_held_count);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)relationship);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW)
		*out = (uint32_t)sqlite3_column_int64(st, 0);
	else
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_delivery_rel[] =
	"SELECT channel, exempt, decided_at FROM attempts WHERE "
	"relationship = ? AND decision = 0 AND decided_at >= ? "
	"ORDER BY decided_at, id";
static const char sql_delivery_person[] =
	"SELECT channel, exempt, decided_at FROM attempts WHERE "
	"person = ? AND decision = 0 AND decided_at >= ? "
	"ORDER BY decided_at, id";

static int sqlite_delivery_list(struct store_rd *rd, uint64_t relationship,
				uint64_t person, int64_t since,
				store_delivery_cb cb, void *arg)
{
	READER_BEGIN(rd, relationship ? sql_delivery_rel : sql_delivery_person);
	sqlite3_bind_int64(
		st, 1, (sqlite3_int64)(relationship ? relationship : person));
	sqlite3_bind_int64(st, 2, since);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(sqlite3_column_int(st, 0),
		       sqlite3_column_int(st, 1) != 0,
		       sqlite3_column_int64(st, 2), arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_attempt_get[] =
	"SELECT decision FROM attempts WHERE id = ? AND person = ? AND "
	"removed = 0";
static const char sql_attempt_read[] =
	"UPDATE attempts SET is_read = ? WHERE id = ? AND person = ?";
static const char sql_attempt_move[] =
	"UPDATE attempts SET folder = ? WHERE id = ? AND person = ? AND "
	"decision = 0";

static int sqlite_attempt_update(struct store_tx *tx, uint64_t person,
				 uint64_t id, int read, int folder)
{
	int decision;
	{
		WRITER_STMT(tx, sql_attempt_get);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)person);
		int rc = sqlite3_step(st);
		decision = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return rc == SQLITE_DONE ? STORE_NOT_FOUND
						 : STORE_FAULT;
	}
	if (folder >= 0 && decision != 0)
		return STORE_CONFLICT;
	if (read >= 0) {
		WRITER_STMT(tx, sql_attempt_read);
		sqlite3_bind_int(st, 1, read ? 1 : 0);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)person);
		int status = sqlite_exec_stmt(st);
		if (status != STORE_OK)
			return status;
	}
	if (folder >= 0) {
		WRITER_STMT(tx, sql_attempt_move);
		sqlite3_bind_int(st, 1, folder);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)person);
		return sqlite_exec_stmt(st);
	}
	return STORE_OK;
}

/* Emptied and purged messages lose their content but keep their row:
 * cap windows are rebuilt from deliveries, and a delivery must keep
 * counting for as long as a window can reach back to it. */
#define SQL_REMOVE                                                             \
	"UPDATE attempts SET removed = 1, folder = NULL, subject = NULL, "     \
	"body = NULL, headers = NULL, sender = NULL, topic = NULL "

static const char sql_folder_empty[] =
	SQL_REMOVE "WHERE person = ? AND folder = ? AND decision = 0 AND "
		   "removed = 0";

static int sqlite_folder_empty(struct store_tx *tx, uint64_t person, int folder,
			       int64_t *n)
{
	WRITER_STMT(tx, sql_folder_empty);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int(st, 2, folder);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && n)
		*n = sqlite3_changes(tx_conn(tx)->db);
	return status;
}

static const char sql_person_password[] =
	"UPDATE persons SET password_hash = ? WHERE id = ?";

static int sqlite_person_set_password(struct store_tx *tx, uint64_t id,
				      const char *hash)
{
	return update_text(tx, sql_person_password, id, hash);
}

static const char sql_erase_alias[] =
	"UPDATE aliases SET alias = ?, person = NULL WHERE alias = ?";
static const char sql_erase_rel[] =
	"UPDATE relationships SET alias = ?1, state = 2, unsubscribe = NULL, "
	"ended_at = coalesce(ended_at, ?2) WHERE alias = ?3";
static const char sql_erase_attempts[] =
	"DELETE FROM attempts WHERE person = ?";
static const char sql_erase_tokens[] = "DELETE FROM tokens WHERE person = ?";
static const char sql_erase_codes[] =
	"DELETE FROM connect_codes WHERE person = ?";
static const char sql_erase_heads[] =
	"DELETE FROM ledger_heads WHERE person = ?";
/* Terms are the person's private settings (folder names, hours…). */
static const char sql_erase_terms[] =
	"UPDATE relationships SET terms = '{}' WHERE person = ?";
static const char sql_erase_versions[] =
	"DELETE FROM terms_versions WHERE person = ?";
static const char sql_erase_reads[] =
	"DELETE FROM field_reads WHERE person = ?";
static const char sql_erase_outbox[] = "DELETE FROM outbox WHERE person = ?";
static const char sql_erase_person[] =
	"UPDATE persons SET handle = ?, password_hash = '', data_key = NULL, "
	"profile = NULL, global_terms = ?, folders = '[]', delivery = '{}', "
	"erased_at = ? "
	"WHERE id = ? AND erased_at IS NULL";

static int erase_by_person(struct store_tx *tx, const char *sql,
			   uint64_t person)
{
	WRITER_STMT(tx, sql);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	return sqlite_exec_stmt(st);
}

static int sqlite_person_erase(struct store_tx *tx, uint64_t person,
			       const char *handle_tombstone,
			       const char *const *aliases,
			       const char *const *tombstones, size_t n,
			       const char *default_global_terms, int64_t at)
{
	int rc;
	for (size_t i = 0; i < n; i++) {
		{
			WRITER_STMT(tx, sql_erase_alias);
			bind_text(st, 1, tombstones[i]);
			bind_text(st, 2, aliases[i]);
			if ((rc = sqlite_exec_stmt(st)) != STORE_OK)
				return rc;
		}
		WRITER_STMT(tx, sql_erase_rel);
		bind_text(st, 1, tombstones[i]);
		sqlite3_bind_int64(st, 2, at);
		bind_text(st, 3, aliases[i]);
		if ((rc = sqlite_exec_stmt(st)) != STORE_OK)
			return rc;
	}
	const char *const wipes[] = { sql_erase_attempts, sql_erase_tokens,
				      sql_erase_codes,	  sql_erase_heads,
				      sql_erase_terms,	  sql_erase_versions,
				      sql_erase_reads,	  sql_erase_outbox };
	for (size_t i = 0; i < sizeof(wipes) / sizeof(*wipes); i++)
		if ((rc = erase_by_person(tx, wipes[i], person)) != STORE_OK)
			return rc;
	WRITER_STMT(tx, sql_erase_person);
	bind_text(st, 1, handle_tombstone);
	bind_text(st, 2, default_global_terms);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)person);
	rc = sqlite_exec_stmt(st);
	if (rc == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_NOT_FOUND;
	return rc;
}

/* ---- Delivery beyond the store ---- */

static const char sql_rel_unsubscribe[] =
	"UPDATE relationships SET unsubscribe = ? WHERE id = ?";

static int sqlite_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
					       const char *uri)
{
	return update_text(tx, sql_rel_unsubscribe, id, uri);
}

static const char sql_person_delivery[] =
	"UPDATE persons SET delivery = ? WHERE id = ?";

static const char sql_person_bounce[] =
	"UPDATE persons SET delivery = json_set(delivery, '$.bounces', "
	"json_object('n', coalesce(json_extract(delivery, '$.bounces.n'), 0) "
	"+ 1, 'at', ?1)) WHERE id = ?2 AND json_type(delivery, '$.forward') "
	"= 'text'";

static int sqlite_person_bounce(struct store_tx *tx, uint64_t id, int64_t at)
{
	WRITER_STMT(tx, sql_person_bounce);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}

static int sqlite_person_set_delivery(struct store_tx *tx, uint64_t id,
				      const char *json)
{
	return update_text(tx, sql_person_delivery, id, json);
}

static const char sql_outbox_one[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/* Every delivered message of the person (in one folder when ?5 >= 0). */
static const char sql_outbox_all[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT ?1, id, ?3, ?4, CASE WHEN ?4 <> 0 THEN folder WHEN ?5 = -2 "
	"THEN -2 END, "
	"?6 FROM attempts WHERE person = ?1 AND decision = 0 AND removed = 0 "
	"AND (?5 < 0 OR folder = ?5) AND ?2 = 0 ORDER BY id";

/* The relationship's (?2) one-click unsubscribe, when it has a URI, as
 * this transaction sees it. */
static const char sql_outbox_unsubscribe[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM relationships WHERE id = ?2 AND "
	"unsubscribe IS NOT NULL";

static int sqlite_outbox_add(struct store_tx *tx, const struct store_outbox *o)
{
	bool one = o->attempt != 0 || o->op == STORE_OUTBOX_ERASE ||
		   o->op == STORE_OUTBOX_VERIFY;
	WRITER_STMT(tx, o->adapter == STORE_ADAPTER_UNSUBSCRIBE
				? sql_outbox_unsubscribe
			: one ? sql_outbox_one
			      : sql_outbox_all);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)o->person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)o->attempt);
	sqlite3_bind_int(st, 3, o->adapter);
	sqlite3_bind_int(st, 4, o->op);
	if (o->folder >= 0 || !one || o->folder == STORE_OUTBOX_LOOK_FIRST)
		sqlite3_bind_int(st, 5, o->folder);
	sqlite3_bind_int64(st, 6, o->next_at);
	return sqlite_exec_stmt(st);
}

static const char sql_outbox_due[] =
	"SELECT id, person, attempt, adapter, op, folder, tries, next_at "
	"FROM outbox WHERE next_at <= ?1 AND (adapter = 1) = ?2 "
	"ORDER BY next_at, id LIMIT ?3";

static int sqlite_outbox_due(struct store_rd *rd, int64_t now, bool local,
			     int limit, store_outbox_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_outbox_due);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, local ? 1 : 0);
	sqlite3_bind_int(st, 3, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_outbox o = {
			.id = (uint64_t)sqlite3_column_int64(st, 0),
			.person = (uint64_t)sqlite3_column_int64(st, 1),
			.attempt = (uint64_t)sqlite3_column_int64(st, 2),
			.adapter = sqlite3_column_int(st, 3),
			.op = sqlite3_column_int(st, 4),
			.folder = sqlite3_column_type(st, 5) == SQLITE_NULL
					  ? -1
					  : sqlite3_column_int(st, 5),
			.tries = sqlite3_column_int(st, 6),
			.next_at = sqlite3_column_int64(st, 7),
		};
		if (cb(&o, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_outbox_done[] = "DELETE FROM outbox WHERE id = ?";
static const char sql_outbox_retry[] =
	"UPDATE outbox SET tries = ?, next_at = ?, last_error = ? WHERE id = ?";

static int sqlite_outbox_settle(struct store_tx *tx, uint64_t id, int tries,
				int64_t next_at, const char *error)
{
	if (tries < 0) {
		WRITER_STMT(tx, sql_outbox_done);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		return sqlite_exec_stmt(st);
	}
	WRITER_STMT(tx, sql_outbox_retry);
	sqlite3_bind_int(st, 1, tries);
	sqlite3_bind_int64(st, 2, next_at);
	bind_text(st, 3, error);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}

static const char sql_outbox_count[] =
	"SELECT count(*), coalesce(sum(tries > 0), 0), (SELECT last_error "
	"FROM outbox WHERE person = ?1 AND tries > 0 ORDER BY id DESC "
	"LIMIT 1) FROM outbox WHERE person = ?1";

static int sqlite_outbox_count(struct store_rd *rd, uint64_t person,
			       int64_t *pending, int64_t *failing,
			       char *last_error, size_t size)
{
	READER_BEGIN(rd, sql_outbox_count);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	int status = STORE_FAULT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*pending = sqlite3_column_int64(st, 0);
		*failing = sqlite3_column_int64(st, 1);
		col_copy(st, 2, last_error, size);
		status = STORE_OK;
	}
	READER_END();
	return status;
}

static const char sql_message_get[] =
	"SELECT a.id, a.person, coalesce(a.relationship, 0), "
	"coalesce(a.brand, 0), a.channel, a.decision, coalesce(a.folder, -1), "
	"a.removed, a.is_read, a.received_at, a.topic, r.alias, b.name, "
	"coalesce(a.subject, c.subject), a.headers, coalesce(a.body, c.body) "
	"FROM attempts a LEFT JOIN relationships r ON r.id = a.relationship "
	"LEFT JOIN brands b ON b.id = a.brand "
	"LEFT JOIN campaigns c ON c.id = a.campaign WHERE a.id = ?";

/* A copy of a blob or text column (NUL-terminated too); NULL when NULL. */
static char *col_blobdup(sqlite3_stmt *st, int i, size_t *len)
{
	const void *b = sqlite3_column_blob(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	*len = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	if (n)
		memcpy(out, b, n);
	out[n] = '\0';
	*len = n;
	return out;
}

static int message_row(sqlite3_stmt *st, void *out)
{
	struct store_message *m = out;
	size_t ignored;
	memset(m, 0, sizeof(*m));
	m->id = (uint64_t)sqlite3_column_int64(st, 0);
	m->person = (uint64_t)sqlite3_column_int64(st, 1);
	m->relationship = (uint64_t)sqlite3_column_int64(st, 2);
	m->brand = (uint64_t)sqlite3_column_int64(st, 3);
	m->channel = sqlite3_column_int(st, 4);
	m->decision = sqlite3_column_int(st, 5);
	m->folder = sqlite3_column_int(st, 6);
	m->removed = sqlite3_column_int(st, 7) != 0;
	m->read = sqlite3_column_int(st, 8) != 0;
	m->received_at = sqlite3_column_int64(st, 9);
	col_copy(st, 10, m->topic, sizeof(m->topic));
	col_copy(st, 11, m->alias, sizeof(m->alias));
	col_copy(st, 12, m->brand_name, sizeof(m->brand_name));
	m->subject = col_blobdup(st, 13, &ignored);
	m->headers = col_blobdup(st, 14, &m->headers_len);
	m->body = col_blobdup(st, 15, &m->body_len);
	if ((sqlite3_column_type(st, 13) != SQLITE_NULL &&
	     m->subject == NULL) ||
	    (sqlite3_column_type(st, 14) != SQLITE_NULL &&
	     m->headers == NULL) ||
	    (sqlite3_column_type(st, 15) != SQLITE_NULL && m->body == NULL)) {
		store_message_clear(m);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static int sqlite_message_get(struct store_rd *rd, uint64_t id,
			      struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	return row_one(rd, sql_message_get, id, NULL, message_row, m);
}

/* Canonical terms write expires_at as "YYYY-MM-DDTHH:MM:SSZ", so text
 * order is time order. */
static const char sql_expiring[] =
	"SELECT r.id, r.person, r.brand, json_extract(r.terms, "
	"'$.expires_at') AS e FROM relationships r WHERE r.state <> 2 AND "
	"e IS NOT NULL AND e > ?1 AND e <= ?2 AND NOT EXISTS (SELECT 1 FROM "
	"notices n WHERE n.relationship = r.id AND n.kind = 'expiry' AND "
	"n.about = e) LIMIT 1000";

static int sqlite_expiring(struct store_rd *rd, const char *now,
			   const char *until, store_expiring_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_expiring);
	bind_text(st, 1, now);
	bind_text(st, 2, until);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb((uint64_t)sqlite3_column_int64(st, 0),
		       (uint64_t)sqlite3_column_int64(st, 1),
		       (uint64_t)sqlite3_column_int64(st, 2),
		       (const char *)sqlite3_column_text(st, 3), arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_notice_insert[] =
	"INSERT INTO notices(relationship, kind, about, person, at) "
	"VALUES (?,?,?,?,?)";

static int sqlite_notice_insert(struct store_tx *tx, uint64_t relationship,
				const char *kind, const char *about,
				uint64_t person, int64_t at)
{
	WRITER_STMT(tx, sql_notice_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)relationship);
	bind_text(st, 2, kind);
	bind_text(st, 3, about);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 5, at);
	return sqlite_exec_stmt(st);
}

/* Refused attempts go after their time; removed deliveries once no
 * window (at most 366 days) can reach back to them. */
static const char sql_purge_refused[] =
	"DELETE FROM attempts WHERE (decision = 2 AND received_at < ?1) OR "
	"(removed = 1 AND decided_at < ?1 - 400 * 86400)";
static const char sql_purge_codes[] =
	"DELETE FROM connect_codes WHERE expires_at < ?";

static int sqlite_purge_old(struct store_tx *tx, int64_t before,
			    int64_t codes_before)
{
	int status;
	{
		WRITER_STMT(tx, sql_purge_refused);
		sqlite3_bind_int64(st, 1, before);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	WRITER_STMT(tx, sql_purge_codes);
	sqlite3_bind_int64(st, 1, codes_before);
	return sqlite_exec_stmt(st);
}

static const char sql_purge_later[] = SQL_REMOVE
	"WHERE folder = 1 AND decision = 0 AND removed = 0 AND "
	"received_at < ?1 - 86400 * (SELECT coalesce(json_extract("
	"p.global_terms, '$.later_retention_days'), 30) FROM persons p "
	"WHERE p.id = attempts.person)";

/* The Maildir's copies of what is purged leave too (queued first: the
 * purge is what hides them). */
static const char sql_purge_later_outbox[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT a.person, a.id, 1, 2, a.folder, ?1 FROM attempts a JOIN "
	"persons p ON p.id = a.person WHERE a.folder = 1 AND a.decision = 0 "
	"AND a.removed = 0 AND (json_extract(p.delivery, '$.maildir_copies') "
	"= 1 OR json_extract(p.delivery, '$.maildir') = 1) AND "
	"a.received_at < ?1 - 86400 * coalesce(json_extract(p.global_terms, "
	"'$.later_retention_days'), 30) ORDER BY a.id";

static int sqlite_purge_later(struct store_tx *tx, int64_t now, int64_t *purged)
{
	{
		WRITER_STMT(tx, sql_purge_later_outbox);
		sqlite3_bind_int64(st, 1, now);
		int status = sqlite_exec_stmt(st);
		if (status != STORE_OK)
			return status;
	}
	WRITER_STMT(tx, sql_purge_later);
	sqlite3_bind_int64(st, 1, now);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && purged)
		*purged = sqlite3_changes(tx_conn(tx)->db);
	return status;
}

static const char sql_held_due[] =
	"SELECT id, relationship, channel, topic, deliver_at FROM attempts "
	"WHERE decision = 1 AND deliver_at <= ? ORDER BY deliver_at LIMIT ?";

static int sqlite_held_due(struct store_rd *rd, int64_t now, int limit,
			   store_held_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_held_due);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_held h;
		memset(&h, 0, sizeof(h));
		h.id = (uint64_t)sqlite3_column_int64(st, 0);
		h.relationship = (uint64_t)sqlite3_column_int64(st, 1);
		h.channel = sqlite3_column_int(st, 2);
		col_copy(st, 3, h.topic, sizeof(h.topic));
		h.deliver_at = sqlite3_column_int64(st, 4);
		if (cb(&h, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_redecide[] =
	"UPDATE attempts SET decision = ?1, reason = ?2, folder = ?3, "
	"deliver_at = ?4, decided_at = ?5, exempt = ?6, "
	"body = CASE WHEN ?1 = 2 THEN NULL ELSE body END "
	"WHERE id = ?7 AND decision = 1";

static int sqlite_attempt_redecide(struct store_tx *tx, uint64_t id,
				   int decision, int reason, int folder,
				   int64_t deliver_at, int64_t decided_at,
				   bool exempt)
{
	WRITER_STMT(tx, sql_redecide);
	sqlite3_bind_int(st, 1, decision);
	sqlite3_bind_int(st, 2, reason);
	if (folder >= 0)
		sqlite3_bind_int(st, 3, folder);
	bind_time(st, 4, deliver_at);
	bind_time(st, 5, decided_at);
	sqlite3_bind_int(st, 6, exempt ? 1 : 0);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)id);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_NOT_FOUND;
	return status;
}

/* -- idempotency and campaigns -- */

static const char sql_idem_get[] =
	"SELECT request, status, response, created_at FROM idempotency "
	"WHERE brand = ? AND key = ?";

static int sqlite_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
			   struct store_idem *out)
{
	READER_BEGIN(rd, sql_idem_get);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	bind_text(st, 2, key);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		if (sqlite3_column_bytes(st, 0) == 32)
			memcpy(out->request, sqlite3_column_blob(st, 0), 32);
		out->status = sqlite3_column_int(st, 1);
		out->response = col_strdup(st, 2);
		out->created_at = sqlite3_column_int64(st, 3);
		if (out->response == NULL)
			status = STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

/* A key older than a day is free again even before the purge took it. */
static const char sql_idem_put[] =
	"INSERT INTO idempotency(brand, key, request, status, response, "
	"created_at) VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT(brand, key) DO "
	"UPDATE SET request = excluded.request, status = excluded.status, "
	"response = excluded.response, created_at = excluded.created_at "
	"WHERE idempotency.created_at < excluded.created_at - 86400";

static int sqlite_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
			   const struct store_idem *v)
{
	WRITER_STMT(tx, sql_idem_put);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	bind_text(st, 2, key);
	sqlite3_bind_blob(st, 3, v->request, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, v->status);
	bind_text(st, 5, v->response);
	sqlite3_bind_int64(st, 6, v->created_at);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(tx_conn(tx)->db) == 0)
		return STORE_CONFLICT; /* a live key: the other request won */
	return status;
}

static const char sql_idem_finish[] =
	"UPDATE idempotency SET status = ?, response = ? WHERE brand = ? AND "
	"key = ?";

static int sqlite_idem_finish(struct store_tx *tx, uint64_t brand,
			      const char *key, int status, const char *response)
{
	WRITER_STMT(tx, sql_idem_finish);
	sqlite3_bind_int(st, 1, status);
	bind_text(st, 2, response);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)brand);
	bind_text(st, 4, key);
	return sqlite_exec_stmt(st);
}

static const char sql_idem_purge[] =
	"DELETE FROM idempotency WHERE created_at < ?";

static int sqlite_idem_purge(struct store_tx *tx, int64_t before)
{
	WRITER_STMT(tx, sql_idem_purge);
	sqlite3_bind_int64(st, 1, before);
	return sqlite_exec_stmt(st);
}

static const char sql_campaign_insert[] =
	"INSERT INTO campaigns(id, brand, channel, topic, subject, body, "
	"created_at) VALUES (?,?,?,?,?,?,?)";

static int sqlite_campaign_insert(struct store_tx *tx,
				  const struct store_campaign *c)
{
	WRITER_STMT(tx, sql_campaign_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)c->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->brand);
	sqlite3_bind_int(st, 3, c->channel);
	bind_text(st, 4, c->topic);
	bind_text(st, 5, c->subject);
	sqlite3_bind_blob(st, 6, c->body ? c->body : "", (int)c->body_len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, c->created_at);
	return sqlite_exec_stmt(st);
}

static const char sql_campaign_count[] =
	"UPDATE campaigns SET total = total + ?, accepted = accepted + ? "
	"WHERE id = ?";

static int sqlite_campaign_count(struct store_tx *tx, uint64_t id,
				 int64_t total, int64_t accepted)
{
	WRITER_STMT(tx, sql_campaign_count);
	sqlite3_bind_int64(st, 1, total);
	sqlite3_bind_int64(st, 2, accepted);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	return sqlite_exec_stmt(st);
}

static const char sql_rel_keys_brand[] =
	"SELECT id FROM relationships WHERE brand = ? AND state <> 2 AND "
	"id > ? ORDER BY id LIMIT ?";

static int sqlite_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
					  uint64_t after, int limit,
					  store_key_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_rel_keys_brand);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)brand);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
	sqlite3_bind_int(st, 3, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb((uint64_t)sqlite3_column_int64(st, 0), arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

/* -- ledger -- */

static const char sql_ledger_append[] =
	"INSERT INTO ledger(person, seq, at_ms, actor, type, relationship, "
	"data, prev, hash) VALUES (?,?,?,?,?,?,?,?,?)";

static int sqlite_ledger_append(struct store_tx *tx,
				const struct store_ledger_entry *e)
{
	WRITER_STMT(tx, sql_ledger_append);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e->person);
	sqlite3_bind_int64(st, 2, e->seq);
	sqlite3_bind_int64(st, 3, e->at_ms);
	bind_text(st, 4, e->actor);
	bind_text(st, 5, e->type);
	bind_text(st, 6, e->relationship[0] ? e->relationship : NULL);
	bind_text(st, 7, e->data ? e->data : "{}");
	sqlite3_bind_blob(st, 8, e->prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, e->hash, 32, SQLITE_STATIC);
	return sqlite_exec_stmt(st);
}

#define LEDGER_COLS                                                            \
	"person, seq, at_ms, actor, type, relationship, data, "                \
	"prev, hash"

static int ledger_row(sqlite3_stmt *st, struct store_ledger_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->person = (uint64_t)sqlite3_column_int64(st, 0);
	e->seq = sqlite3_column_int64(st, 1);
	e->at_ms = sqlite3_column_int64(st, 2);
	col_copy(st, 3, e->actor, sizeof(e->actor));
	col_copy(st, 4, e->type, sizeof(e->type));
	col_copy(st, 5, e->relationship, sizeof(e->relationship));
	e->data = col_strdup(st, 6);
	if (sqlite3_column_bytes(st, 7) == 32)
		memcpy(e->prev, sqlite3_column_blob(st, 7), 32);
	if (sqlite3_column_bytes(st, 8) == 32)
		memcpy(e->hash, sqlite3_column_blob(st, 8), 32);
	if (e->data == NULL)
		return STORE_FAULT;
	return STORE_OK;
}

static const char sql_ledger_head[] =
	"SELECT " LEDGER_COLS " FROM ledger WHERE person = ? "
	"ORDER BY seq DESC LIMIT 1";

static int sqlite_ledger_head(struct store_rd *rd, uint64_t person,
			      struct store_ledger_entry *out)
{
	READER_BEGIN(rd, sql_ledger_head);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	int rc = sqlite3_step(st), status;
	if (rc == SQLITE_ROW)
		status = ledger_row(st, out);
	else
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_ledger_list[] =
	"SELECT " LEDGER_COLS " FROM ledger WHERE person = ? AND "
	"seq > ? ORDER BY seq LIMIT ?";

static int sqlite_ledger_list(struct store_rd *rd, uint64_t person,
			      int64_t after, int limit, store_ledger_cb cb,
			      void *arg)
{
	READER_BEGIN(rd, sql_ledger_list);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_ledger_entry e;
		if ((status = ledger_row(st, &e)) != STORE_OK) {
			store_ledger_entry_clear(&e);
			break;
		}
		int stop = cb(&e, arg);
		store_ledger_entry_clear(&e);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_head_save[] =
	"INSERT INTO ledger_heads(person, seq, hash, note, signed_at) "
	"VALUES (?,?,?,?,?) ON CONFLICT(person) DO UPDATE SET "
	"seq = excluded.seq, hash = excluded.hash, note = excluded.note, "
	"signed_at = excluded.signed_at";

static int sqlite_ledger_head_save(struct store_tx *tx, uint64_t person,
				   int64_t seq, const uint8_t *hash,
				   const char *note, int64_t at)
{
	WRITER_STMT(tx, sql_head_save);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
	bind_text(st, 4, note);
	sqlite3_bind_int64(st, 5, at);
	return sqlite_exec_stmt(st);
}

static const char sql_signed_head[] =
	"SELECT note FROM ledger_heads WHERE person = ?";

static int sqlite_ledger_signed_head(struct store_rd *rd, uint64_t person,
				     char **note)
{
	READER_BEGIN(rd, sql_signed_head);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		*note = col_strdup(st, 0);
		if (*note == NULL)
			status = STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

/* -- connect codes -- */

static const char sql_code_insert[] =
	"INSERT INTO connect_codes(code_hash, person, expires_at) "
	"VALUES (?,?,?)";
static const char sql_code_use[] =
	"UPDATE connect_codes SET used_at = ?1 WHERE code_hash = ?2 AND "
	"used_at IS NULL AND expires_at > ?1 RETURNING person";

static int sqlite_code_insert(struct store_tx *tx, const uint8_t *hash,
			      uint64_t person, int64_t expires_at)
{
	WRITER_STMT(tx, sql_code_insert);
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 3, expires_at);
	return sqlite_exec_stmt(st);
}

static int sqlite_code_use(struct store_tx *tx, const uint8_t *hash,
			   int64_t now, uint64_t *person)
{
	WRITER_STMT(tx, sql_code_use);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st), status;
	if (rc == SQLITE_ROW) {
		*person = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
		status = rc == SQLITE_DONE ? STORE_OK : STORE_FAULT;
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	sqlite3_reset(st);
	return status;
}

static const char sql_proposal_list_person[] =
	"SELECT id, person, brand, state, value, ask, created_at, "
	"expires_at, decided_at, relationship FROM proposals WHERE "
	"person = ? AND id > ? ORDER BY id LIMIT ?";

static int sqlite_proposal_list_person(struct store_rd *rd, uint64_t person,
				       uint64_t after, int limit,
				       store_proposal_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_proposal_list_person);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
	sqlite3_bind_int(st, 3, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_proposal p;
		memset(&p, 0, sizeof(p));
		p.id = (uint64_t)sqlite3_column_int64(st, 0);
		p.person = (uint64_t)sqlite3_column_int64(st, 1);
		p.brand = (uint64_t)sqlite3_column_int64(st, 2);
		col_copy(st, 3, p.state, sizeof(p.state));
		p.value = col_strdup(st, 4);
		p.ask = col_strdup(st, 5);
		p.created_at = sqlite3_column_int64(st, 6);
		p.expires_at = sqlite3_column_int64(st, 7);
		p.decided_at = sqlite3_column_int64(st, 8);
		p.relationship = (uint64_t)sqlite3_column_int64(st, 9);
		if (p.value == NULL || p.ask == NULL) {
			store_proposal_clear(&p);
			status = STORE_FAULT;
			break;
		}
		int stop = cb(&p, arg);
		store_proposal_clear(&p);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

static const char sql_rel_list_brand[] =
	"SELECT " REL_COLS " FROM relationships WHERE brand = ? AND id > ? "
	"ORDER BY id LIMIT ?";

static int sqlite_relationship_list_brand(struct store_rd *rd, uint64_t brand,
					  uint64_t after, int limit,
					  store_relationship_cb cb, void *arg)
{
	return rel_list(rd, sql_rel_list_brand, brand, after, limit, cb, arg);
}

static const char sql_field_read[] =
	"INSERT INTO field_reads(relationship, day, person, reads) "
	"VALUES (?1,?2,?3,?4) ON CONFLICT(relationship, day) DO UPDATE SET "
	"reads = reads + ?4 RETURNING reads";

static int sqlite_field_read(struct store_tx *tx, uint64_t relationship,
			     uint64_t person, int64_t day, int64_t n,
			     bool *first)
{
	WRITER_STMT(tx, sql_field_read);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)relationship);
	sqlite3_bind_int64(st, 2, day);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 4, n);
	int rc = sqlite3_step(st), status = STORE_FAULT;
	if (rc == SQLITE_ROW) {
		*first = sqlite3_column_int64(st, 0) == n;
		status = sqlite3_step(st) == SQLITE_DONE ? STORE_OK
							 : STORE_FAULT;
	}
	sqlite3_reset(st);
	return status;
}

/* The filters are optional, so each is "? IS NULL OR column = ?". */
static const char sql_attempt_list[] =
	"SELECT a.id, a.relationship, a.brand, a.campaign, a.channel, "
	"a.decision, a.reason, a.folder, a.topic, "
	"coalesce(a.subject, c.subject), a.sender, a.sender_verified, "
	"a.is_read, a.deliver_at, a.received_at FROM attempts a "
	"LEFT JOIN campaigns c ON c.id = a.campaign "
	"WHERE a.person = ?1 AND a.removed = 0 "
	"AND (?2 IS NULL OR a.folder = ?2) "
	"AND (?3 IS NULL OR a.decision = ?3) "
	"AND (?4 IS NULL OR a.relationship = ?4) "
	"AND (?5 IS NULL OR a.id < ?5) ORDER BY a.id DESC LIMIT ?6";

static int sqlite_attempt_list(struct store_rd *rd,
			       const struct store_attempt_filter *f,
			       store_attempt_cb cb, void *arg)
{
	READER_BEGIN(rd, sql_attempt_list);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)f->person);
	if (f->folder >= 0)
		sqlite3_bind_int(st, 2, f->folder);
	if (f->decision >= 0)
		sqlite3_bind_int(st, 3, f->decision);
	bind_key(st, 4, f->relationship);
	bind_key(st, 5, f->before);
	sqlite3_bind_int(st, 6, f->limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_attempt_row a;
		memset(&a, 0, sizeof(a));
		a.id = (uint64_t)sqlite3_column_int64(st, 0);
		a.relationship = (uint64_t)sqlite3_column_int64(st, 1);
		a.brand = (uint64_t)sqlite3_column_int64(st, 2);
		a.campaign = (uint64_t)sqlite3_column_int64(st, 3);
		a.channel = sqlite3_column_int(st, 4);
		a.decision = sqlite3_column_int(st, 5);
		a.reason = sqlite3_column_int(st, 6);
		a.folder = sqlite3_column_type(st, 7) == SQLITE_NULL
				   ? -1
				   : sqlite3_column_int(st, 7);
		col_copy(st, 8, a.topic, sizeof(a.topic));
		a.subject = col_strdup(st, 9);
		a.sender = col_strdup(st, 10);
		a.sender_verified = sqlite3_column_int(st, 11) != 0;
		a.read = sqlite3_column_int(st, 12) != 0;
		a.deliver_at = sqlite3_column_int64(st, 13);
		a.received_at = sqlite3_column_int64(st, 14);
		int stop = cb(&a, arg);
		free(a.subject);
		free(a.sender);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}

const struct store_ops store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sqlite_open,
	.migrate = sqlite_migrate,
	.close = sqlite_close,
	.write = sqlite_write,
	.tx_hook = sqlite_tx_hook,
	.tx_checkpoint = sqlite_tx_checkpoint,
	.writer_stats = sqlite_writer_stats,
	.read_begin = sqlite_read_begin,
	.read_end = sqlite_read_end,
	.person_insert = sqlite_person_insert,
	.person_by_handle = sqlite_person_by_handle,
	.person_by_id = sqlite_person_by_id,
	.person_list = sqlite_person_list,
	.person_set_profile = sqlite_person_set_profile,
	.person_set_global_terms = sqlite_person_set_global_terms,
	.person_set_folders = sqlite_person_set_folders,
	.person_folders = sqlite_person_folders,
	.token_insert = sqlite_token_insert,
	.token_by_id = sqlite_token_by_id,
	.token_revoke = sqlite_token_revoke,
	.token_touch = sqlite_token_touch,
	.brand_insert = sqlite_brand_insert,
	.brand_by_id = sqlite_brand_by_id,
	.brand_by_name = sqlite_brand_by_name,
	.brand_list = sqlite_brand_list,
	.brand_set_key = sqlite_brand_set_key,
	.brand_by_domain = sqlite_brand_by_domain,
	.brand_key_hash = sqlite_brand_key_hash,
	.person_profile = sqlite_person_profile,
	.code_insert = sqlite_code_insert,
	.code_use = sqlite_code_use,
	.proposal_list_person = sqlite_proposal_list_person,
	.relationship_list_brand = sqlite_relationship_list_brand,
	.field_read = sqlite_field_read,
	.attempt_list = sqlite_attempt_list,
	.proposal_insert = sqlite_proposal_insert,
	.proposal_by_id = sqlite_proposal_by_id,
	.proposal_decide = sqlite_proposal_decide,
	.relationship_insert = sqlite_relationship_insert,
	.relationship_by_id = sqlite_relationship_by_id,
	.relationship_by_alias = sqlite_relationship_by_alias,
	.relationship_set_state = sqlite_relationship_set_state,
	.relationship_set_terms = sqlite_relationship_set_terms,
	.relationship_list_person = sqlite_relationship_list_person,
	.relationship_list_open = sqlite_relationship_list_open,
	.attempt_insert = sqlite_attempt_insert,
	.held_count = sqlite_held_count,
	.attempt_dup = sqlite_attempt_dup,
	.held_due = sqlite_held_due,
	.purge_later = sqlite_purge_later,
	.expiring = sqlite_expiring,
	.notice_insert = sqlite_notice_insert,
	.purge_old = sqlite_purge_old,
	.person_erase = sqlite_person_erase,
	.attempt_update = sqlite_attempt_update,
	.folder_empty = sqlite_folder_empty,
	.person_set_password = sqlite_person_set_password,
	.person_set_delivery = sqlite_person_set_delivery,
	.token_revoke_others = sqlite_token_revoke_others,
	.person_bounce = sqlite_person_bounce,
	.relationship_set_unsubscribe = sqlite_relationship_set_unsubscribe,
	.outbox_add = sqlite_outbox_add,
	.outbox_due = sqlite_outbox_due,
	.outbox_settle = sqlite_outbox_settle,
	.outbox_count = sqlite_outbox_count,
	.message_get = sqlite_message_get,
	.attempt_redecide = sqlite_attempt_redecide,
	.delivery_list = sqlite_delivery_list,
	.idem_get = sqlite_idem_get,
	.idem_put = sqlite_idem_put,
	.idem_purge = sqlite_idem_purge,
	.idem_finish = sqlite_idem_finish,
	.campaign_insert = sqlite_campaign_insert,
	.campaign_count = sqlite_campaign_count,
	.relationship_keys_brand = sqlite_relationship_keys_brand,
	.ledger_append = sqlite_ledger_append,
	.ledger_head = sqlite_ledger_head,
	.ledger_list = sqlite_ledger_list,
	.ledger_head_save = sqlite_ledger_head_save,
	.ledger_signed_head = sqlite_ledger_signed_head,
};
