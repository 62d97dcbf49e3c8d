/*
 * keys.c — `cmr keys rotate`: a new Ed25519 signing key, with a new key
 * id, for what is signed from now on (heads, receipts). The old key's
 * seed is gone, its public half stays in the keys directory and stays
 * published (GET /.well-known/jwks.json, exports), so everything it signed
 * still verifies (`cmr ledger verify` picks the key by what signed). The
 * store records the new id. It holds the store's lock, as serve does: a
 * running server would go on signing with the old key until restarted.
 */
#include "cli/cli.h"

#include <string.h>

#include "app/app.h"

static const struct cli_flag keys_flags[] = { { 0 } };
static const char keys_usage[] = "cmr keys rotate [--store URL] [--keys DIR]";

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
	if (cli_open(&args, APP_OPEN_EXCLUSIVE, &a) != 0)
		return CLI_FAIL;
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
