/*
 * person.c — `cmr person add HANDLE --password-stdin` and
 * `cmr person list`, with --json for scripts.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "app/person.h"
#include "core/id.h"
#include "store/store.h"

static const struct cli_flag person_flags[] = {
	{ "password-stdin", false, false, "read the password from stdin" },
	{ "json", false, false, "print JSON" },
	{ 0 },
};
static const char person_usage[] =
	"cmr person add HANDLE --password-stdin [--json]\n"
	"       cmr person list [--json]";

static int person_list_one(const struct store_person *p, void *arg)
{
	json_t *items = arg;
	char id[ID_SIZE];
	id_encode(ID_PERSON, p->id, id);
	json_array_append_new(
		items, json_pack("{s:s,s:s,s:I}", "id", id, "handle", p->handle,
				 "created_at", (json_int_t)p->created_at));
	return 0;
}

int cli_person(int argc, char **argv)
{
	struct cli_args args;
	struct app a;

	int exit;
	const char *verb =
		cli_parse_verb(argc, argv, person_flags, CLI_READS_STORE,
			       person_usage, &args, &exit);
	if (verb == NULL)
		return exit;
	bool json = cli_has(&args, person_flags, "json");
	if (strcmp(verb, "add") == 0) {
		char password[PERSON_PASSWORD_MAX + 2];
		struct app_error err = { 0 };
		uint64_t id;
		if (args.nargs != 1) {
			fprintf(stderr, "cmr: person add needs one HANDLE\n");
			return CLI_USAGE;
		}
		if (!cli_has(&args, person_flags, "password-stdin")) {
			fprintf(stderr, "cmr: person add needs "
					"--password-stdin (a password on the "
					"command line would show in `ps`)\n");
			return CLI_USAGE;
		}
		if (cli_read_password(password, sizeof(password)) != 0)
			return CLI_FAIL;
		if (cli_open(&args, false, &a) != 0)
			return CLI_FAIL;
		int rc = person_add(&a, args.args[0], password, &id, &err);
		sodium_memzero(password, sizeof(password));
		app_close(&a);
		if (rc != APP_OK) {
			fprintf(stderr, "cmr: %s%s%s\n", err.field,
				err.field[0] ? ": " : "", err.message);
			return CLI_FAIL;
		}
		char ids[ID_SIZE], handle[PERSON_HANDLE_MAX + 1];
		id_encode(ID_PERSON, id, ids);
		person_handle_check(args.args[0], handle, NULL);
		if (json) {
			json_t *o = json_pack("{s:s,s:s}", "id", ids, "handle",
					      handle);
			cli_print_json(o);
			json_decref(o);
		} else {
			printf("person %s %s\n", ids, handle);
		}
		return CLI_OK;
	}
	if (strcmp(verb, "list") == 0) {
		if (args.nargs != 0) {
			fprintf(stderr, "cmr: person list takes no "
					"arguments\n");
			return CLI_USAGE;
		}
		if (cli_open(&args, false, &a) != 0)
			return CLI_FAIL;
		json_t *items = json_array();
		int rc = store_person_list(a.reads, 0, INT32_MAX,
					   person_list_one, items);
		app_close(&a);
		if (rc != STORE_OK) {
			json_decref(items);
			fprintf(stderr, "cmr: cannot read the persons\n");
			return CLI_FAIL;
		}
		if (json) {
			json_t *o = json_pack("{s:o}", "items", items);
			cli_print_json(o);
			json_decref(o);
		} else {
			size_t i;
			json_t *v;
			json_array_foreach (items, i, v) {
				printf("%s %s\n",
				       json_string_value(
					       json_object_get(v, "id")),
				       json_string_value(
					       json_object_get(v, "handle")));
			}
			json_decref(items);
		}
		return CLI_OK;
	}
	fprintf(stderr, "cmr: unknown person command \"%s\"\n", verb);
	cli_usage(stderr, person_usage, person_flags, CLI_READS_STORE);
	return CLI_USAGE;
}
