/*
 * fixture.c — a temporary app with one person (see fixture.h).
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/person.h"

void fixture_open(struct fixture *f, void (*adjust)(struct config *cfg))
{
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/cmr-test-app-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	config_defaults(&f->cfg);
	snprintf(f->cfg.store, sizeof(f->cfg.store), "sqlite:%s/cmr.db",
		 f->dir);
	snprintf(f->cfg.keys, sizeof(f->cfg.keys), "%s/keys", f->dir);
	if (adjust)
		adjust(&f->cfg);
	cr_assert_eq(app_open(&f->a, &f->cfg, true, err, sizeof(err)), APP_OK,
		     "%s", err);
	struct app_error e = { 0 };
	cr_assert_eq(person_add(&f->a, "ana", FIXTURE_PASSWORD, &f->ana, &e),
		     APP_OK, "%s", e.message);
}

void fixture_close(struct fixture *f)
{
	app_close(&f->a);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	cr_assert_eq(system(cmd), 0);
}
