/*
 * export.c — `cmr export HANDLE --password-stdin`: everything cmr holds
 * for a person, as one JSON document (the same as POST /v1/me/export),
 * for portability. The person's password is needed, as over HTTP: an
 * operator cannot read a person's sealed data on their own.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "app/account.h"
#include "app/person.h"
#include "store/store.h"

static const struct cli_flag export_flags[] = {
	{ "password-stdin", false, false,
	  "read the person's password from stdin" },
	{ 0 },
};
/* The signed head in the export names the server by its alias domain. */
#define EXPORT_READS CLI_READS_STORE " alias-domain"

static const char export_usage[] = "cmr export HANDLE --password-stdin";

int cli_export(int argc, char **argv)
{
	struct cli_args args;
	struct app a;
	if (cli_parse(argc, argv, export_flags, export_usage, &args) != 0)
		return CLI_USAGE;
	if (args.help) {
		cli_usage(stdout, export_usage, export_flags, EXPORT_READS);
		return CLI_OK;
	}
	if (args.nargs != 1) {
		fprintf(stderr, "cmr: export needs one HANDLE\n");
		return CLI_USAGE;
	}
	if (!cli_has(&args, export_flags, "password-stdin")) {
		fprintf(stderr, "cmr: export needs --password-stdin (the "
				"person's password: their data is sealed with "
				"it in mind)\n");
		return CLI_USAGE;
	}
	char password[PERSON_PASSWORD_MAX + 2], handle[PERSON_HANDLE_MAX + 1];
	struct app_error err = { 0 };
	if (person_handle_check(args.args[0], handle, &err) != APP_OK) {
		fprintf(stderr, "cmr: %s\n", err.message);
		return CLI_FAIL;
	}
	if (cli_read_password(password, sizeof(password)) != 0)
		return CLI_FAIL;
	if (cli_open(&args, false, &a) != 0) {
		sodium_memzero(password, sizeof(password));
		return CLI_FAIL;
	}
	struct store_person p;
	int rc = store_person_get(a.reads, 0, handle, &p);
	json_t *doc = NULL;
	if (rc == STORE_OK) {
		uint64_t id = p.id;
		store_person_clear(&p);
		rc = account_export(&a, id, password, &doc, &err);
	} else {
		rc = APP_NOT_FOUND;
	}
	sodium_memzero(password, sizeof(password));
	app_close(&a);
	if (rc != APP_OK) {
		/* One answer for an unknown handle and a wrong password. */
		fprintf(stderr, "cmr: export: %s\n",
			rc == APP_NOT_FOUND ? "no such person, or the password "
					      "is wrong"
					    : err.message);
		return CLI_FAIL;
	}
	cli_print_json(doc);
	json_decref(doc);
	return CLI_OK;
}
