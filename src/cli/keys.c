/*
 * keys.c — `cmr keys rotate`: a new Ed25519 signing key, with a new key
 * id, for what is signed from now on (heads, receipts). The old key's
 * seed is gone, its public half stays in the keys directory and stays
 * published (GET /.well-known/jwks.json, exports), so everything it signed
 * still verifies (`cmr ledger verify` picks the key by what signed). The
 * store records the new id.
 *
 * `cmr keys rotate --wrap`: a new wrap key, and every person's data key in
 * the store wrapped anew under it; the old wrap key stays, so that the
 * directory can be backed up first. `cmr keys rotate --wrap --finish`
 * then removes the old wrap key from the directory, so that no copy of a
 * wrapped key left behind (an erased person's, in PostgreSQL's dead rows
 * and WAL, or in an old backup of the store) opens any more
 * (app_keys_rotate_wrap).
 *
 * Both run with no server on the store (APP_OPEN_ALONE: on PostgreSQL
 * too): a server would go on with the keys it loaded until restarted.
 */
#include "cli/cli.h"

#include <string.h>

#include "app/app.h"

static const struct cli_flag keys_flags[] = {
	{ "wrap", false, false,
	  "rotate the wrap key of the persons' data keys instead" },
	{ "finish", false, false,
	  "with --wrap: remove the old wrap key (after a backup)" },
	{ 0 },
};
static const char keys_usage[] =
	"cmr keys rotate [--wrap [--finish]] [--store URL] [--keys DIR]";

static int keys_rotate_wrap(struct app *a, bool finish, const char *dir)
{
	struct app_wrap_rotation r;
	char err[1024];

	if (app_keys_rotate_wrap(a, finish, &r, err, sizeof(err)) != APP_OK) {
		fprintf(stderr, "cmr: keys rotate --wrap%s: %s\n",
			finish ? " --finish" : "", err);
		return CLI_FAIL;
	}
	if (!finish) {
		printf("wrap key id %s (new%s); %lld of %lld persons' data "
		       "keys wrapped anew; %zu old wrap key%s kept until "
		       "--finish\n",
		       r.wrap_id, r.resumed ? ", the rotation under way" : "",
		       (long long)r.rewrapped, (long long)r.persons, r.retired,
		       r.retired == 1 ? "" : "s");
		printf("Back up %s now (it holds the new wrap key), then run "
		       "cmr keys rotate --wrap --finish to destroy the old "
		       "one.\n",
		       dir);
		return CLI_OK;
	}
	printf("wrap key id %s; %lld of %lld persons' data keys wrapped anew "
	       "now; %zu old wrap key%s removed: no copy of a data key it "
	       "wrapped opens any more\n",
	       r.wrap_id, (long long)r.rewrapped, (long long)r.persons,
	       r.retired, r.retired == 1 ? "" : "s");
	printf("Destroy the backups of %s made before the rotation: they "
	       "hold the old wrap key.\n",
	       dir);
	return CLI_OK;
}

int cli_keys(int argc, char **argv)
{
	struct cli_args args;
	struct app a;
	char err[1024], old[KEYS_ID_LEN + 1];
	int exit;

	const char *verb =
		cli_parse_verb(argc, argv, keys_flags, CLI_READS_STORE,
			       keys_usage, &args, &exit);
	if (verb == NULL)
		return exit;
	if (strcmp(verb, "rotate") != 0) {
		fprintf(stderr, "cmr: unknown keys command \"%s\"\n", verb);
		return CLI_USAGE;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: keys rotate takes no arguments\n");
		return CLI_USAGE;
	}
	bool finish = cli_has(&args, keys_flags, "finish");
	if (finish && !cli_has(&args, keys_flags, "wrap")) {
		fprintf(stderr,
			"cmr: keys rotate: --finish goes with --wrap\n");
		return CLI_USAGE;
	}
	if (cli_open(&args, APP_OPEN_EXCLUSIVE | APP_OPEN_ALONE, &a) != 0)
		return CLI_FAIL;
	if (cli_has(&args, keys_flags, "wrap")) {
		exit = keys_rotate_wrap(&a, finish, args.cfg.keys);
		app_close(&a);
		return exit;
	}
	snprintf(old, sizeof(old), "%s", keys_id(a.keys));
	if (app_keys_rotate(&a, err, sizeof(err)) != APP_OK) {
		fprintf(stderr, "cmr: keys rotate: %s\n", err);
		app_close(&a);
		return CLI_FAIL;
	}
	printf("signing key id %s (new); %s retired: it signs no more, and "
	       "stays published so that what it signed still verifies\n",
	       keys_id(a.keys), old);
	printf("Back up %s again: it holds the new key.\n", args.cfg.keys);
	app_close(&a);
	return CLI_OK;
}
