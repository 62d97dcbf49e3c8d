/*
 * cli.c — flag parsing shared by every subcommand (see cli.h).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app/app.h"

static int cli_flag_index(const struct cli_flag *flags, const char *name)
{
	for (int i = 0; flags && flags[i].name; i++)
		if (strcmp(flags[i].name, name) == 0)
			return i;
	return -1;
}

void cli_usage(FILE *f, const char *usage, const struct cli_flag *flags,
	       const char *reads)
{
	fprintf(f, "usage: %s\n", usage);
	if (flags && flags[0].name) {
		fprintf(f, "\noptions:\n");
		for (int i = 0; flags[i].name; i++) {
			char flag[64];
			snprintf(flag, sizeof(flag), "--%s%s", flags[i].name,
				 flags[i].value ? " V" : "");
			fprintf(f, "  %-26s %s\n", flag, flags[i].help);
		}
	}
	if (reads == NULL || reads[0] != '\0') {
		fprintf(f, "\nsettings (flag, or the CMR_ variable named):\n");
		config_usage(f, reads);
	}
	if (reads != NULL)
		fprintf(f, "  (the other settings of `cmr serve --help` are "
			   "accepted, so that one\n   environment serves every "
			   "command, and not used here)\n");
	fprintf(f, "  %-26s %s\n", "--help", "this text");
}

int cli_parse(int argc, char **argv, const struct cli_flag *flags,
	      const char *usage, struct cli_args *out)
{
	const char *set_by_flag[32];
	char(*names)[64] = out->given; /* settings given by flags */
	int n_set = 0;
	char err[600];

	memset(out, 0, sizeof(*out));
	config_defaults(&out->cfg);
	snprintf(out->cfg.client, sizeof(out->cfg.client), "cmr %s", argv[0]);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			out->help = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (strcmp(a, "--") == 0)
				a = ++i < argc ? argv[i] : NULL;
			if (a == NULL)
				break;
			if (out->nargs == CLI_MAX_ARGS) {
				fprintf(stderr, "cmr: too many arguments\n");
				return -1;
			}
			out->args[out->nargs++] = a;
			continue;
		}
		char name[64];
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (len >= sizeof(name)) {
			fprintf(stderr, "cmr: unknown option %s\n", a);
			return -1;
		}
		memcpy(name, a + 2, len);
		name[len] = '\0';
		const char *value = eq ? eq + 1 : NULL;
		bool takes;
		int k = cli_flag_index(flags, name);
		if (k >= 0)
			takes = flags[k].value;
		else if (!config_known(name, &takes)) {
			fprintf(stderr, "cmr: unknown option --%s\n%s%s\n",
				name, "usage: ", usage);
			return -1;
		}
		if (takes && value == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "cmr: --%s needs a value\n",
					name);
				return -1;
			}
			value = argv[++i];
		} else if (!takes && value != NULL && k >= 0) {
			fprintf(stderr, "cmr: --%s takes no value\n", name);
			return -1;
		}
		if (k >= 0) {
			if (out->count[k] > 0 && !flags[k].repeat)
				out->count[k] = 0; /* the last one counts */
			if (out->count[k] == CLI_MAX_VALUES) {
				fprintf(stderr, "cmr: --%s given too often\n",
					name);
				return -1;
			}
			out->values[k][out->count[k]++] = value ? value : "";
			continue;
		}
		if (config_set(&out->cfg, name, value, false, err,
			       sizeof(err)) != 0) {
			fprintf(stderr, "cmr: %s\n", err);
			return -1;
		}
		if (n_set < 31) {
			snprintf(names[n_set], sizeof(names[0]), "%s", name);
			set_by_flag[n_set] = names[n_set];
			n_set++;
		}
	}
	out->n_given = n_set;
	set_by_flag[n_set] = NULL;
	if (config_from_env(&out->cfg, set_by_flag, err, sizeof(err)) != 0) {
		fprintf(stderr, "cmr: %s\n", err);
		return -1;
	}
	return 0;
}

const char *cli_verb(struct cli_args *a)
{
	if (a->nargs == 0)
		return NULL;
	const char *verb = a->args[0];
	memmove(&a->args[0], &a->args[1],
		(size_t)(a->nargs - 1) * sizeof(a->args[0]));
	a->nargs--;
	return verb;
}

const char *cli_parse_verb(int argc, char **argv, const struct cli_flag *flags,
			   const char *reads, const char *usage,
			   struct cli_args *out, int *exit)
{
	*exit = CLI_USAGE;
	if (cli_parse(argc, argv, flags, usage, out) != 0)
		return NULL;
	const char *verb = cli_verb(out);
	if (verb) { /* "cmr person list" */
		size_t n = strlen(out->cfg.client);
		snprintf(out->cfg.client + n, sizeof(out->cfg.client) - n,
			 " %s", verb);
	}
	if (out->help || verb == NULL) {
		cli_usage(out->help ? stdout : stderr, usage, flags, reads);
		*exit = out->help ? CLI_OK : CLI_USAGE;
		return NULL;
	}
	return verb;
}

bool cli_given(const struct cli_args *a, const char *name)
{
	for (int i = 0; i < a->n_given; i++)
		if (strcmp(a->given[i], name) == 0)
			return true;
	const char *env = config_option_env(name);
	return env != NULL && getenv(env) != NULL;
}

const char *cli_value(const struct cli_args *a, const struct cli_flag *flags,
		      const char *name)
{
	int k = cli_flag_index(flags, name);
	if (k < 0 || a->count[k] == 0)
		return NULL;
	return a->values[k][a->count[k] - 1];
}

bool cli_has(const struct cli_args *a, const struct cli_flag *flags,
	     const char *name)
{
	int k = cli_flag_index(flags, name);
	return k >= 0 && a->count[k] > 0;
}

int cli_read_password(char *buf, size_t size)
{
	if (fgets(buf, (int)size, stdin) == NULL) {
		fprintf(stderr, "cmr: no password on standard input\n");
		return -1;
	}
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == size - 1) {
		fprintf(stderr, "cmr: the password is too long\n");
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

int cli_open(const struct cli_args *args, unsigned flags, struct app *a)
{
	char err[1024];
	if (app_open(a, &args->cfg, flags, err, sizeof(err)) != APP_OK) {
		fprintf(stderr, "cmr: %s\n", err);
		return -1;
	}
	return 0;
}

void cli_print_json(void *json)
{
	char *s = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s) {
		puts(s);
		free(s);
	}
}
