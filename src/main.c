/*
 * main.c — the `cmr` binary: one subcommand per concept (`cmr --help`).
 * Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* The subcommands. Columns: the name, the function, one line of help. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "init", cli_init, "create the keys directory and the store" },
	{ "serve", cli_serve, "run the server" },
	{ "migrate", cli_migrate, "apply the store's pending migrations" },
	{ "person", cli_person, "add or list persons" },
	{ "brand", cli_brand, "add or list brands, rotate a brand's key" },
	{ "ledger", cli_ledger, "verify every ledger chain and signed head" },
	{ "demo", cli_demo, "load the demo world into an empty store" },
	{ "export", cli_export, "everything held for a person, as JSON" },
	{ "keys", cli_keys, "rotate the server's signing key" },
	{ "bench", cli_bench, "measure (gate …) and print JSON" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cmr <command> [options]\n\n"
		   "cmr — customer-managed relationships: people hold their "
		   "relationships\nwith brands, and brands reach them only "
		   "on their terms.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`cmr <command> --help` tells more.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cmr 0.1.0\n");
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cmr: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
