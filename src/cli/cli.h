/*
 * cli.h — what the subcommands share: parsing of flags (which may stand
 * anywhere after the subcommand), the configuration (app/config.h), exit codes,
 * and opening the app.
 */
#ifndef CMR_CLI_CLI_H
#define CMR_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "app/config.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_FAIL = 1,  /* the command failed */
	CLI_USAGE = 2, /* the command line was wrong */
};

/* A subcommand's own flags. Columns: the name without dashes, whether it
 * takes a value, whether it may be given more than once, and the help. */
struct cli_flag {
	const char *name;
	bool value;
	bool repeat;
	const char *help;
};

#define CLI_MAX_ARGS   16
#define CLI_MAX_VALUES 16
#define CLI_MAX_FLAGS  24

struct cli_args {
	struct config cfg;
	int nargs; /* positional arguments */
	const char *args[CLI_MAX_ARGS];
	bool help;   /* --help or -h */
	int n_given; /* settings given by a flag, by name */
	char given[32][64];
	/* values of the subcommand's own flags, by index in its table */
	int count[CLI_MAX_FLAGS];
	const char *values[CLI_MAX_FLAGS][CLI_MAX_VALUES];
};

/* Parses argv (argv[0] is the subcommand's name); flags may stand anywhere
 * after it, before or after a verb ("cmr ledger --store URL verify"), which
 * is the first positional argument (cli_verb). `flags` lists the command's
 * own (terminated by a zero entry). Every setting of app/config.h is
 * accepted (and checked) everywhere, so that one environment of CMR_
 * variables serves every command (its --help lists those it reads: see
 * cli_usage). On a usage error prints it to stderr and returns -1. */
int cli_parse(int argc, char **argv, const struct cli_flag *flags,
	      const char *usage, struct cli_args *out);

/* The settings every command that opens the store reads. */
#define CLI_READS_STORE "store keys"

/* Takes the first positional argument (a two-word command's verb, such as
 * "add" of "cmr person add"): returns it, or NULL when there is none, and
 * shifts the others down. */
const char *cli_verb(struct cli_args *a);

/* cli_parse and cli_verb for a command with verbs ("cmr person add …"),
 * `reads` as for cli_usage:
 * returns the verb; or NULL after a usage error, after --help (usage
 * printed) or when no verb is given (usage printed to stderr), with the
 * exit code in *exit. */
const char *cli_parse_verb(int argc, char **argv, const struct cli_flag *flags,
			   const char *reads, const char *usage,
			   struct cli_args *out, int *exit);

/* The value of own flag `name` (the last one given), or NULL. */
const char *cli_value(const struct cli_args *a, const struct cli_flag *flags,
		      const char *name);
bool cli_has(const struct cli_args *a, const struct cli_flag *flags,
	     const char *name);

/* Whether setting `name` (app/config.h) was given, by its flag or by its
 * CMR_ variable, rather than left at its default. */
bool cli_given(const struct cli_args *a, const char *name);

/* Prints usage, the command's flags and the settings it reads: `reads`
 * names them, separated by spaces ("store keys"), or is NULL for all. */
void cli_usage(FILE *f, const char *usage, const struct cli_flag *flags,
	       const char *reads);

/* Reads one line (the password) from standard input, without its newline.
 * Returns 0, or -1 with a message on stderr. */
int cli_read_password(char *buf, size_t size);

struct app;

/* Opens the app for a command (flags: enum app_open_flag; 0 for most);
 * on failure prints why and returns -1. */
int cli_open(const struct cli_args *args, unsigned flags, struct app *a);

/* Prints a JSON value to stdout on one line, and a newline. */
void cli_print_json(void *json);

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_person(int argc, char **argv);
int cli_brand(int argc, char **argv);
int cli_ledger(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_keys(int argc, char **argv);

#endif
