/*
 * ledger.c — `cmr ledger verify`: recomputes every person's hash chain
 * from the stored entries and checks the latest signed head of each with
 * the server's key that signed it (the current one, or one retired by
 * `cmr keys rotate`). Exit 0 when all hold; 1 naming the first broken
 * entry of each broken chain.
 */
#include "cli/cli.h"

#include <string.h>

#include "app/ledger.h"

static const struct cli_flag ledger_flags[] = { { 0 } };
/* The signed heads name the server by its alias domain. */
#define LEDGER_READS CLI_READS_STORE " alias-domain"

static const char ledger_usage[] = "cmr ledger verify [--store URL] "
				   "[--keys DIR]";

int cli_ledger(int argc, char **argv)
{
	struct cli_args args;
	struct app a;

	int exit;
	const char *verb =
		cli_parse_verb(argc, argv, ledger_flags, LEDGER_READS,
			       ledger_usage, &args, &exit);
	if (verb == NULL)
		return exit;
	if (strcmp(verb, "verify") != 0) {
		fprintf(stderr, "cmr: unknown ledger command \"%s\"\n", verb);
		return CLI_USAGE;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: ledger verify takes no arguments\n");
		return CLI_USAGE;
	}
	if (cli_open(&args, false, &a) != 0)
		return CLI_FAIL;
	int persons = 0;
	int64_t entries = 0;
	int rc = ledger_verify_all(&a, stdout, &persons, &entries);
	app_close(&a);
	if (rc < 0) {
		fprintf(stderr, "cmr: the store could not be read\n");
		return CLI_FAIL;
	}
	if (rc == 0)
		printf("ok: %d chain%s, %lld entr%s, every hash and signed "
		       "head holds\n",
		       persons, persons == 1 ? "" : "s", (long long)entries,
		       entries == 1 ? "y" : "ies");
	return rc == 0 ? CLI_OK : CLI_FAIL;
}
