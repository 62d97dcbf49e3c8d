/*
 * demo.c — `cmr demo`: loads the demo world into an empty store.
 */
#include "cli/cli.h"

#include "app/demo.h"

static const struct cli_flag demo_flags[] = {
	{ "if-empty", false, false,
	  "do nothing (and succeed) when the store already has persons" },
	{ 0 },
};
/* The demo world's aliases, its held messages and its Maildir. */
#define DEMO_READS CLI_READS_STORE " alias-domain hold-queue maildir-root"

static const char demo_usage[] = "cmr demo [--if-empty] [--store URL] "
				 "[--keys DIR]";

int cli_demo(int argc, char **argv)
{
	struct cli_args args;
	struct app a;
	struct app_error err = { 0 };

	if (cli_parse(argc, argv, demo_flags, demo_usage, &args) != 0)
		return CLI_USAGE;
	if (args.help) {
		cli_usage(stdout, demo_usage, demo_flags, DEMO_READS);
		return CLI_OK;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: demo takes no arguments\n");
		return CLI_USAGE;
	}
	if (cli_open(&args, 0, &a) != 0)
		return CLI_FAIL;
	int rc = demo_load(&a, stdout, &err);
	app_close(&a);
	if (rc == APP_CONFLICT && cli_has(&args, demo_flags, "if-empty")) {
		printf("demo: the store already has persons; left as it is.\n"
		       "  The demo's persons log in as before (ana / "
		       "demo-password-ana, ben / demo-password-ben).\n"
		       "  A brand's API key is shown once only; for a new one:"
		       "\n    cmr brand key rotate \"Acme Outdoor\" "
		       "(see: cmr brand list)\n");
		return CLI_OK;
	}
	if (rc != APP_OK) {
		fprintf(stderr, "cmr: demo: %s\n", err.message);
		return CLI_FAIL;
	}
	return CLI_OK;
}
