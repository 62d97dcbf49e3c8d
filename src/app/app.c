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

#include "app/message.h"
#include "app/zone.h"
#include "base/log.h"

int64_t app_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int app_fail(struct app_error *err, int status, const char *field,
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

int app_from_store(int st)
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

int app_open(struct app *a, const struct config *cfg, bool create,
	     char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	int rc = create ? keys_init(cfg->keys, &a->keys, err, errlen)
			: keys_load(cfg->keys, &a->keys, err, errlen);
	if (rc != 0) {
		if (!create) {
			char why[KEYS_ERR_MAX + 64];
			snprintf(why, sizeof(why), "%s (run `cmr init` first?)",
				 err);
			snprintf(err, errlen, "%s", why);
		}
		return APP_FAULT;
	}
	if (app_store_dir(cfg->store, err, errlen) != 0)
		goto fail;
	if (store_open(cfg->store, &a->store, err, errlen) != STORE_OK)
		goto fail;
	int applied = 0, version = 0;
	if (store_migrate(a->store, &applied, &version) != STORE_OK) {
		snprintf(err, errlen, "cannot migrate the store %s",
			 cfg->store);
		goto fail;
	}
	a->zones = zones_new();
	a->gate = gate_state_new();
	if (a->zones == NULL || a->gate == NULL) {
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
	zones_free(a->zones);
	keys_free(a->keys);
	memset(a, 0, sizeof(*a));
}
