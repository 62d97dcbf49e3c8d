/*
 * migrate.c — `cmr migrate`: applies the numbered migrations the store
 * has not seen yet (every `cmr serve` does the same at start).
 */
#include "cli/cli.h"

#include "store/store.h"

static const struct cli_flag migrate_flags[] = { { 0 } };
static const char migrate_usage[] = "cmr migrate [--store URL]";

int cli_migrate(int argc, char **argv)
{
	struct cli_args args;
	struct store *s;
	char err[512];
	int applied = 0, version = 0;

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
	if (store_open(args.cfg.store, &s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "cmr: %s\n", err);
		return CLI_FAIL;
	}
	int rc = store_migrate(s, &applied, &version);
	store_close(s);
	if (rc != STORE_OK) {
		fprintf(stderr, "cmr: migrating %s failed\n", args.cfg.store);
		return CLI_FAIL;
	}
	printf("applied %d migration%s; schema version %d\n", applied,
	       applied == 1 ? "" : "s", version);
	return CLI_OK;
}
