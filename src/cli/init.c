/*
 * init.c — `cmr init`: creates the keys directory (mode 0700) and the
 * store, migrates it and records the keys' ids in it. The only command
 * that makes keys, and only for a store that holds nothing. Safe to run
 * again: existing keys are loaded (and must be the store's), never
 * replaced.
 */
#include "cli/cli.h"

#include "app/app.h"

static const struct cli_flag init_flags[] = { { 0 } };
static const char init_usage[] = "cmr init [--store URL] [--keys DIR]";

int cli_init(int argc, char **argv)
{
	struct cli_args args;
	struct app a;

	if (cli_parse(argc, argv, init_flags, init_usage, &args) != 0)
		return CLI_USAGE;
	if (args.help) {
		cli_usage(stdout, init_usage, init_flags, CLI_READS_STORE);
		return CLI_OK;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: init takes no arguments\n");
		return CLI_USAGE;
	}
	if (cli_open(&args, APP_OPEN_CREATE, &a) != 0)
		return CLI_FAIL;
	printf("keys:  %s (%s; signing key id %s)\n", args.cfg.keys,
	       keys_created(a.keys) ? "created" : "existing", keys_id(a.keys));
	printf("store: %s (migrated)\n", args.cfg.store_shown);
	printf("Back up %s apart from the store: without it the personal "
	       "values in the store cannot be read.\n",
	       args.cfg.keys);
	app_close(&a);
	return CLI_OK;
}
