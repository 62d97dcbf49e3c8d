/*
 * fixture.h — a temporary app for the use cases' unit tests: a store and
 * keys in a new folder under /tmp, and one person, "ana" (password
 * FIXTURE_PASSWORD). Criterion runs each test in a process of its own, so
 * each test gets a fresh one from its suite's .init.
 */
#ifndef CMR_TESTS_APP_FIXTURE_H
#define CMR_TESTS_APP_FIXTURE_H

#include <stdint.h>

#include "app/app.h"

#define FIXTURE_PASSWORD "correct horse battery"

struct fixture {
	char dir[64];	   /* the folder, removed by fixture_close */
	struct config cfg; /* as opened */
	struct app a;
	uint64_t ana; /* the person */
};

/* Opens the app with the defaults, after adjust (may be NULL) changed
 * the configuration, and adds ana. Fails the test on any error. */
void fixture_open(struct fixture *f, void (*adjust)(struct config *cfg));

/* Closes the app and removes the folder. */
void fixture_close(struct fixture *f);

#endif
