/*
 * fuzz_terms.c — fuzz driver for the terms module: one input is read as a
 * JSON document and handed to every parser of terms.h (terms in both modes,
 * with and without an ask, global terms, a proposal's ask). What parses is
 * written back out and must parse again to the very same struct, and is
 * compiled; what does not must leave an error a client can be sent (a
 * known kind, a field that is valid UTF-8, a reason).
 *
 * A broken invariant aborts, so the fuzzer reports it as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "terms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, const struct terms_error *e)
{
	json_t *field;

	if (rc == 0) {
		if (e->kind != 0)
			abort();
		return;
	}
	if (rc != -1 || e->kind < TERMS_ERR_TYPE || e->kind > TERMS_ERR_VALUE ||
	    e->reason[0] == '\0' ||
	    memchr(e->field, '\0', sizeof e->field) == NULL)
		abort();
	/* The HTTP door puts the field into problem+json. */
	field = json_string(e->field);
	if (field == NULL)
		abort();
	json_decref(field);
}

/* Parsed terms: written out, parsed back identically, then compiled. */
static void check_terms(const struct terms *t)
{
	struct terms back;
	struct terms_error e;
	struct topic_table topics;
	struct folder_table folders;
	struct terms_compiled c, again;
	json_t *j = terms_to_json(t);

	if (j == NULL)
		abort();
	if (terms_parse(j, NULL, TERMS_MODE_PUT, &back, &e) != 0 ||
	    memcmp(t, &back, sizeof back) != 0)
		abort();
	json_decref(j);

	memset(&topics, 0, sizeof topics);
	folder_table_init(&folders);
	if (terms_compile(t, &topics, &folders, &c, &e) == 0) {
		/* Compiling again must find every name where it left it. */
		int n_topics = topics.n, n_folders = folders.n;

		if (terms_compile(t, &topics, &folders, &again, &e) != 0 ||
		    memcmp(&c, &again, sizeof c) != 0 || topics.n != n_topics ||
		    folders.n != n_folders)
			abort();
	} else {
		check_error(-1, &e);
	}
}

static void check_global(const struct global_terms *g)
{
	struct global_terms back;
	struct global_compiled c;
	struct terms_error e;
	json_t *j = global_terms_to_json(g);

	if (j == NULL)
		abort();
	if (global_terms_parse(j, &back, &e) != 0 ||
	    memcmp(g, &back, sizeof back) != 0)
		abort();
	json_decref(j);
	global_terms_compile(g, &c);
}

/* A fixed ask for when the input is not a proposal itself. */
static void fixed_ask(struct terms_ask *a)
{
	memset(a, 0, sizeof *a);
	a->channels = 1u << CHANNEL_EMAIL | 1u << CHANNEL_SMS;
	a->n_topics = 2;
	strcpy(a->topics[0], "orders");
	strcpy(a->topics[1], "offers");
	a->n_fields = 2;
	strcpy(a->fields[0], "name");
	strcpy(a->fields[1], "email");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum terms_mode modes[] = { TERMS_MODE_PUT,
						 TERMS_MODE_ACCEPT };
	struct terms t;
	struct global_terms g;
	struct terms_ask ask, own_ask;
	struct terms_error e;
	json_t *j;
	int rc;

	j = json_loadb((const char *)data, size,
		       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (j == NULL)
		return 0;

	fixed_ask(&ask);
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		rc = terms_parse(j, NULL, modes[m], &t, &e);
		check_error(rc, &e);
		if (rc == 0)
			check_terms(&t);
		rc = terms_parse(j, &ask, modes[m], &t, &e);
		check_error(rc, &e);
		if (rc == 0)
			check_terms(&t);
	}
	rc = terms_ask_parse(j, &own_ask, &e);
	check_error(rc, &e);
	if (rc == 0) {
		rc = terms_parse(j, &own_ask, TERMS_MODE_ACCEPT, &t, &e);
		check_error(rc, &e);
		if (rc == 0)
			check_terms(&t);
	}

	rc = global_terms_parse(j, &g, &e);
	check_error(rc, &e);
	if (rc == 0)
		check_global(&g);

	json_decref(j);
	return 0;
}
