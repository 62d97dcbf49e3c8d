/*
 * migrate.c — `cmr migrate`: applies the numbered migrations the store
 * has not seen yet (every `cmr serve` does the same at start), holding
 * the store's lock as serve does. A store that holds data is migrated
 * only with its own keys (app_open); an empty one needs none.
 */
#include "cli/cli.h"

#include "app/app.h"

static const struct cli_flag migrate_flags[] = { { 0 } };
static const char migrate_usage[] = "cmr migrate [--store URL] [--keys DIR]";

int cli_migrate(int argc, char **argv)
{
	struct cli_args args;
	struct app a;

	if (cli_parse(argc, argv, migrate_flags, migrate_usage, &args) != 0)
		return CLI_USAGE;
	if (args.help) {
		cli_usage(stdout, migrate_usage, migrate_flags,
			  CLI_READS_STORE);
		return CLI_OK;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: migrate takes no arguments\n");
		return CLI_USAGE;
	}
	if (cli_open(&args, APP_OPEN_EXCLUSIVE | APP_OPEN_KEYS_IF_DATA, &a) !=
	    0)
		return CLI_FAIL;
	printf("applied %d migration%s; schema version %d\n",
	       a.migrations_applied, a.migrations_applied == 1 ? "" : "s",
	       a.schema_version);
	app_close(&a);
	return CLI_OK;
}
