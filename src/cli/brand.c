/*
 * brand.c — `cmr brand add NAME --domain D …`, `cmr brand list` and
 * `cmr brand key rotate BRAND`, with --json for scripts. A brand's API
 * key is printed once, when it is made.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "app/brand.h"
#include "core/id.h"
#include "store/store.h"

static const struct cli_flag brand_flags[] = {
	{ "domain", true, true, "a domain of the brand (repeatable)" },
	{ "contact", true, false, "controller contact name" },
	{ "email", true, false, "controller e-mail" },
	{ "phone", true, false, "controller phone" },
	{ "address", true, false, "controller postal address" },
	{ "url", true, false, "controller web site" },
	{ "policy-url", true, false, "privacy policy URL" },
	{ "jurisdiction", true, false, "jurisdiction (e.g. DE)" },
	{ "json", false, false, "print JSON" },
	{ 0 },
};
static const char brand_usage[] =
	"cmr brand add NAME --domain D [--domain D…] [--contact C] "
	"[--email E]\n"
	"              [--phone P] [--address A] [--url U] "
	"[--policy-url U]\n"
	"              [--jurisdiction J] [--json]\n"
	"       cmr brand list [--json]\n"
	"       cmr brand key rotate BRAND_ID|NAME [--json]";

static json_t *brand_json(const struct store_brand *b)
{
	char id[ID_SIZE];
	id_encode(ID_BRAND, b->id, id);
	json_t *o = json_pack("{s:s,s:s}", "id", id, "name", b->name);
	json_object_set_new(o, "domains", json_loads(b->domains, 0, NULL));
	json_object_set_new(o, "controller",
			    json_loads(b->controller, 0, NULL));
	return o;
}

static int brand_list_one(const struct store_brand *b, void *arg)
{
	json_array_append_new(arg, brand_json(b));
	return 0;
}

static int brand_find(struct app *a, const char *which, uint64_t *id)
{
	struct store_brand b;
	if (id_decode(ID_BRAND, which, id))
		return APP_OK;
	int rc = store_brand_get(a->reads, 0, which, &b);
	if (rc != STORE_OK)
		return app_from_store(rc);
	*id = b.id;
	store_brand_clear(&b);
	return APP_OK;
}

static void brand_print_key(bool json, uint64_t id, const char *key)
{
	char ids[ID_SIZE];
	id_encode(ID_BRAND, id, ids);
	if (json) {
		json_t *o = json_pack("{s:s,s:s}", "id", ids, "api_key", key);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("brand %s\napi key %s\n(shown this once: keep it "
		       "now)\n",
		       ids, key);
	}
}

int cli_brand(int argc, char **argv)
{
	struct cli_args args;
	struct app a;
	struct app_error err = { 0 };

	int exit;
	const char *verb =
		cli_parse_verb(argc, argv, brand_flags, CLI_READS_STORE,
			       brand_usage, &args, &exit);
	if (verb == NULL)
		return exit;
	bool json = cli_has(&args, brand_flags, "json");
	char key[BRAND_KEY_SIZE];
	uint64_t id;

	if (strcmp(verb, "add") == 0) {
		if (args.nargs != 1) {
			fprintf(stderr, "cmr: brand add needs one NAME\n");
			return CLI_USAGE;
		}
		int k = 0; /* "domain" is the first flag */
		if (args.count[k] == 0) {
			fprintf(stderr, "cmr: brand add needs at least one "
					"--domain\n");
			return CLI_USAGE;
		}
		struct brand_controller c = {
			cli_value(&args, brand_flags, "contact"),
			cli_value(&args, brand_flags, "email"),
			cli_value(&args, brand_flags, "phone"),
			cli_value(&args, brand_flags, "address"),
			cli_value(&args, brand_flags, "url"),
			cli_value(&args, brand_flags, "policy-url"),
			cli_value(&args, brand_flags, "jurisdiction"),
		};
		if (cli_open(&args, false, &a) != 0)
			return CLI_FAIL;
		int rc = brand_add(&a, args.args[0], args.values[k],
				   args.count[k], &c, &id, key, &err);
		app_close(&a);
		if (rc != APP_OK) {
			fprintf(stderr, "cmr: %s%s%s\n", err.field,
				err.field[0] ? ": " : "", err.message);
			return CLI_FAIL;
		}
		brand_print_key(json, id, key);
		sodium_memzero(key, sizeof(key));
		return CLI_OK;
	}
	if (strcmp(verb, "list") == 0) {
		if (args.nargs != 0) {
			fprintf(stderr, "cmr: brand list takes no arguments\n");
			return CLI_USAGE;
		}
		if (cli_open(&args, false, &a) != 0)
			return CLI_FAIL;
		json_t *items = json_array();
		int rc = store_brand_list(a.reads, 0, INT32_MAX, brand_list_one,
					  items);
		app_close(&a);
		if (rc != STORE_OK) {
			json_decref(items);
			fprintf(stderr, "cmr: cannot read the brands\n");
			return CLI_FAIL;
		}
		if (json) {
			json_t *o = json_pack("{s:o}", "items", items);
			cli_print_json(o);
			json_decref(o);
			return CLI_OK;
		}
		size_t i, j;
		json_t *v, *d;
		json_array_foreach (items, i, v) {
			printf("%s %s",
			       json_string_value(json_object_get(v, "id")),
			       json_string_value(json_object_get(v, "name")));
			json_array_foreach (json_object_get(v, "domains"), j,
					    d) {
				printf(" %s", json_string_value(d));
			}
			printf("\n");
		}
		json_decref(items);
		return CLI_OK;
	}
	if (strcmp(verb, "key") == 0) {
		if (args.nargs != 2 || strcmp(args.args[0], "rotate") != 0) {
			fprintf(stderr, "cmr: usage: cmr brand key rotate "
					"BRAND_ID|NAME\n");
			return CLI_USAGE;
		}
		if (cli_open(&args, false, &a) != 0)
			return CLI_FAIL;
		int rc = brand_find(&a, args.args[1], &id);
		if (rc == APP_OK)
			rc = brand_key_rotate(&a, id, key, &err);
		else
			app_fail(&err, rc, "brand", "no such brand \"%s\"",
				 args.args[1]);
		app_close(&a);
		if (rc != APP_OK) {
			fprintf(stderr, "cmr: %s\n", err.message);
			return CLI_FAIL;
		}
		brand_print_key(json, id, key);
		sodium_memzero(key, sizeof(key));
		return CLI_OK;
	}
	fprintf(stderr, "cmr: unknown brand command \"%s\"\n", verb);
	cli_usage(stderr, brand_usage, brand_flags, CLI_READS_STORE);
	return CLI_USAGE;
}
