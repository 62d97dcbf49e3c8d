/*
 * zone.c — a cache of parsed time zones (see zone.h). Zones are few (one
 * per distinct IANA name in use), so a list under a mutex is enough.
 */
#include "app/zone.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store.h"

struct zone_entry {
	char name[64];
	struct tz tz;
	struct zone_entry *next;
};

struct zones {
	pthread_mutex_t lock;
	struct zone_entry *list;
	struct tz utc;
};

struct zones *zones_new(void)
{
	struct zones *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	pthread_mutex_init(&z->lock, NULL);
	tz_utc(&z->utc);
	return z;
}

void zones_free(struct zones *z)
{
	if (z == NULL)
		return;
	for (struct zone_entry *e = z->list, *next; e; e = next) {
		next = e->next;
		tz_free(&e->tz);
		free(e);
	}
	pthread_mutex_destroy(&z->lock);
	free(z);
}

static bool zone_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= 64 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      *p == '+' || *p == '/'))
			return false;
	return true;
}

static int zone_read(const char *name, struct tz *out, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s",
		 dir && *dir ? dir : "/usr/share/zoneinfo", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* zoneinfo uses symlinks for aliases; allow them. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "unknown time zone \"%s\"", name);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > 1 << 20) {
		close(fd);
		snprintf(err, errlen, "unknown time zone \"%s\"", name);
		return -1;
	}
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		free(buf);
		snprintf(err, errlen, "cannot read time zone \"%s\"", name);
		return -1;
	}
	char why[200];
	int rc = tz_parse(buf, (size_t)got, out, why, sizeof(why));
	free(buf);
	if (rc != 0) {
		snprintf(err, errlen, "time zone \"%s\" is not valid: %s", name,
			 why);
		return -1;
	}
	return 0;
}

const struct tz *zones_get(struct zones *z, const char *name, char *err,
			   size_t errlen)
{
	char dummy[8];
	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (strcmp(name, "UTC") == 0)
		return &z->utc;
	if (!zone_name_ok(name)) {
		snprintf(err, errlen, "\"%s\" is not a time zone name", name);
		return NULL;
	}
	pthread_mutex_lock(&z->lock);
	for (struct zone_entry *e = z->list; e; e = e->next)
		if (strcmp(e->name, name) == 0) {
			pthread_mutex_unlock(&z->lock);
			return &e->tz;
		}
	struct zone_entry *e = calloc(1, sizeof(*e));
	if (e == NULL || zone_read(name, &e->tz, err, errlen) != 0) {
		free(e);
		pthread_mutex_unlock(&z->lock);
		return NULL;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->next = z->list;
	z->list = e;
	pthread_mutex_unlock(&z->lock);
	return &e->tz;
}
