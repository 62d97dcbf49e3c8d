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
	bool help; /* --help or -h */
	/* values of the subcommand's own flags, by index in its table */
	int count[CLI_MAX_FLAGS];
	const char *values[CLI_MAX_FLAGS][CLI_MAX_VALUES];
};

/* Parses argv (argv[0] is the subcommand's name; a two-word command such
 * as "person add" passes argv from "add" on). Config flags (app/config.h) are
 * accepted everywhere; `flags` lists the command's own (NULL-terminated
 * by a zero entry). On a usage error prints it to stderr and returns -1. */
int cli_parse(int argc, char **argv, const struct cli_flag *flags,
	      const char *usage, struct cli_args *out);

/* The value of own flag `name` (the last one given), or NULL. */
const char *cli_value(const struct cli_args *a, const struct cli_flag *flags,
		      const char *name);
bool cli_has(const struct cli_args *a, const struct cli_flag *flags,
	     const char *name);

/* Prints usage, the command's flags and the config options. */
void cli_usage(FILE *f, const char *usage, const struct cli_flag *flags);

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
