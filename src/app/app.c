/*
 * app.c — opening and closing what the use cases share (see app.h).
 */
#include "app/app.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>

#include "app/gate_state.h"
#include "app/message.h"
#include "app/sealed.h"
#include "app/throttle.h"
#include "app/zone.h"
#include "base/log.h"
#include "store/store.h"

void app_read_begin(struct app *a)
{
	store_read_begin(a->store);
}

void app_read_end(struct app *a)
{
	store_read_end(a->store);
}

bool app_ready(struct app *a)
{
	struct store_writer_stats ws;
	store_writer_stats(a->store, &ws);
	return !ws.failing;
}

int64_t app_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum app_status app_fail(struct app_error *err, int status, const char *field,
			 const char *fmt, ...)
{
	if (err) {
		va_list ap;
		snprintf(err->field, sizeof(err->field), "%s",
			 field ? field : "");
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}

bool app_owns(struct app_caller who, uint64_t person, uint64_t brand)
{
	if (who.person != 0)
		return who.person == person;
	return who.brand != 0 && who.brand == brand;
}

enum app_status app_from_store(int st)
{
	switch (st) {
	case STORE_OK:
		return APP_OK;
	case STORE_NOT_FOUND:
		return APP_NOT_FOUND;
	case STORE_CONFLICT:
		return APP_CONFLICT;
	case STORE_INVALID:
		return APP_INVALID;
	default:
		return APP_FAULT;
	}
}

/* Makes the directory holding a sqlite store's file, so that a fresh
 * checkout can start with the default ./var/cmr.db. */
static int app_store_dir(const char *url, char *err, size_t errlen)
{
	if (strncmp(url, "sqlite:", 7) != 0)
		return 0;
	char path[1024];
	snprintf(path, sizeof(path), "%s", url + 7);
	char *slash = strrchr(path, '/');
	if (slash == NULL || slash == path)
		return 0;
	*slash = '\0';
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path,
				 strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

enum app_status app_open(struct app *a, const struct config *cfg, bool create,
			 char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	int rc = create ? keys_init(cfg->keys, &a->keys, err, errlen)
			: keys_load(cfg->keys, &a->keys, err, errlen);
	if (rc != 0)
		return APP_FAULT; /* keys.c says what to do, init included */
	if (app_store_dir(cfg->store, err, errlen) != 0)
		goto fail;
	if (store_open(cfg->store, &a->store, err, errlen) != STORE_OK)
		goto fail;
	a->reads = store_reads(a->store);
	int applied = 0, version = 0;
	if (store_migrate(a->store, &applied, &version) != STORE_OK) {
		snprintf(err, errlen, "cannot migrate the store %s",
			 cfg->store);
		goto fail;
	}
	/* Content an older version kept in clear is sealed before anything
	 * is served (app/sealed.h). */
	if (sealed_upgrade(a, NULL) != APP_OK) {
		snprintf(err, errlen,
			 "cannot seal the messages of the store %s",
			 cfg->store);
		goto fail;
	}
	a->zones = zones_new();
	a->gate = gate_state_new();
	a->throttle = throttle_new();
	if (a->zones == NULL || a->gate == NULL || a->throttle == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return APP_OK;
fail:
	app_close(a);
	return APP_FAULT;
}

void app_close(struct app *a)
{
	store_close(a->store);
	gate_state_free(a->gate);
	throttle_free(a->throttle);
	zones_free(a->zones);
	keys_free(a->keys);
	memset(a, 0, sizeof(*a));
}

json_t *app_time_json(int64_t t)
{
	if (t == 0)
		return json_null();
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];
	if (gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

bool app_time_parse(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 ||
	    n != 19)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 ||
		    oh > 23 || om > 59)
			return false;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59 || y < 1970)
		return false;
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = sec };
	time_t v = timegm(&tm);
	if (v == (time_t)-1)
		return false;
	struct tm back;
	gmtime_r(&v, &back);
	if (back.tm_mday != d) /* 31 February and friends */
		return false;
	*t = (int64_t)v - off;
	return true;
}

/* The store's job: the use case's job with its transaction context. */
static int app_job_call(struct store_tx *tx, void *arg)
{
	struct app_pending *p = arg;
	struct app *a = p->app;
	struct app_tx t = { .tx = tx,
			    .reads = store_tx_reads(tx),
			    .cfg = &a->cfg,
			    .keys = a->keys,
			    .zones = a->zones,
			    .gate = a->gate,
			    .now_ms = app_now_ms() };
	return p->run(&t, p->job);
}

static void app_job_done(void *arg, int status)
{
	struct app_pending *p = arg;
	p->done(p->arg, status);
}

int app_job_run(struct app *a, app_job_fn run, void *job, bool alone)
{
	struct app_pending p = { .app = a, .run = run, .job = job };
	return alone ? store_write_alone(a->store, app_job_call, &p)
		     : store_write(a->store, app_job_call, &p);
}

enum app_status app_job_start(struct app *a, struct app_pending *p,
			      app_job_fn run, void *job, bool alone,
			      void (*done)(void *arg, int status), void *arg)
{
	*p = (struct app_pending){ a, run, job, done, arg };
	return store_write_async_ex(a->store, app_job_call, p, app_job_done,
				    alone) == STORE_OK
		       ? APP_OK
		       : APP_FAULT;
}

enum app_status app_write_run(struct app *a, struct app_write *w,
			      struct app_error *err)
{
	int rc = app_job_run(a, w->run, w->job, w->alone);
	int status = w->finish(w->job, rc, err);
	w->release(w->job);
	return status;
}
