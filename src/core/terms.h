/*
 * terms.h — the person's rules for one relationship (terms) and for all of
 * them (global terms): parsing and validating their JSON objects (the
 * shapes of src/http/openapi.json), writing them back out, and compiling them
 * into the compact form the gate reads without allocating.
 *
 * Three steps, three forms:
 *   JSON (jansson)  --terms_parse-->   struct terms        (validated, owned,
 *                                                           fixed-size arrays)
 *   struct terms    --terms_compile--> struct terms_compiled (gate input)
 *   struct terms    --terms_to_json--> JSON (canonical: every key present)
 * and the same for global terms. No I/O, no clock, no globals.
 *
 * Validation errors name the field with a dotted path
 * ("channels.email.cap.max") and say why in words a person understands.
 */
#ifndef CMR_CORE_TERMS_H
#define CMR_CORE_TERMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "quiet.h"

#define TERMS_NAME_MAX		64 /* topic and folder names: 1..64 chars */
#define TERMS_MAX_TOPICS	64 /* topics in one relationship's table */
#define TERMS_MAX_TOPIC_FOLDERS 16
#define TERMS_FIELD_MAX		32 /* field names: [a-z][a-z0-9_]{0,31} */
#define TERMS_MAX_FIELDS	32
#define TERMS_ROLLING_MAX	100   /* rolling caps: max <= 100 */
#define TERMS_CALENDAR_MAX	10000 /* calendar caps: max <= 10000 */
#define TERMS_MAX_FOLDERS                                                      \
	254 /* folders per person, inbox and later included                    \
	     */

/* The IEEE 7012 (MyTerms) roster; the first, SD-BASE, is the default. */
extern const char *const terms_agreements[];

enum cap_unit {
	CAP_NONE,    /* no cap */
	CAP_ROLLING, /* at most max in any window of per_seconds */
	CAP_DAY,     /* at most max per local calendar day */
	CAP_WEEK,    /* … per ISO week (Monday to Sunday), local */
	CAP_MONTH,   /* … per local calendar month */
};

struct cap {
	uint32_t per_seconds; /* CAP_ROLLING only: 1 .. 366 days in seconds */
	uint16_t max;	      /* 0 .. TERMS_ROLLING_MAX / TERMS_CALENDAR_MAX */
	uint8_t unit;	      /* enum cap_unit */
};

struct channel_terms {
	bool allowed;
	bool hold; /* over_cap: "hold" (true) or "refuse" (false, default) */
	struct cap cap; /* CAP_NONE when absent */
};

typedef char terms_name[TERMS_NAME_MAX + 1];

struct topic_folder {
	terms_name topic;
	terms_name folder;
};

/* One relationship's terms, validated. */
struct terms {
	struct channel_terms channels[CHANNEL_COUNT];
	bool topics_all; /* "topics": "all" */
	int n_topics;
	terms_name topics[TERMS_MAX_TOPICS];
	int n_exempt;
	terms_name exempt[TERMS_MAX_TOPICS]; /* ⊆ topics (or any, if all) */
	struct cap exempt_cap;		     /* default {10, day} */
	struct quiet_hours quiet;	     /* .set == 0: none of its own */
	terms_name folder;		     /* default "inbox" */
	int n_topic_folders;
	struct topic_folder topic_folders[TERMS_MAX_TOPIC_FOLDERS];
	int n_fields;
	char fields[TERMS_MAX_FIELDS][TERMS_FIELD_MAX + 1];
	char agreement[16];  /* default "SD-BASE" */
	cmr_time expires_at; /* 0: no expiry */
};

/* What a proposal asked for: terms may never grant more. */
struct terms_ask {
	uint8_t channels; /* bit c: channel c asked */
	bool topics_all;
	int n_topics;
	terms_name topics[TERMS_MAX_TOPICS];
	int n_fields;
	char fields[TERMS_MAX_FIELDS][TERMS_FIELD_MAX + 1];
};

/* The person's terms across all brands. */
struct global_terms {
	char time_zone[64];	  /* IANA name; "UTC" until set */
	uint8_t do_not_contact;	  /* bit c: channel c on do-not-contact */
	struct quiet_hours quiet; /* .set == 0: none */
	struct channel_terms caps[CHANNEL_COUNT]; /* .allowed unused */
	uint16_t later_retention_days;		  /* 1..3650, default 30 */
	bool silent;		  /* "refusal": "silent" (default "reject") */
	bool person_made_set;	  /* "person_made_terms" is an object, not
				     null (null: the fallback of the app) */
	struct terms person_made; /* the terms a relationship the person
				     makes takes when it names none, held
				     to terms_person_made_ask */
};

enum terms_error_kind {
	TERMS_ERR_TYPE = 1, /* wrong JSON type / malformed: HTTP 400 */
	TERMS_ERR_UNKNOWN,  /* unknown key: HTTP 400 */
	TERMS_ERR_VALUE,    /* well-formed but not allowed: HTTP 422 */
};

struct terms_error {
	int kind;	  /* enum terms_error_kind; 0 when no error */
	char field[96];	  /* dotted path, e.g. "channels.email.cap.max" */
	char reason[192]; /* e.g. "must be at most 100 for a rolling cap" */
};

enum terms_mode {
	/* Omitted keys take their most private value: stored terms, read
	 * back whole. */
	TERMS_MODE_PUT,
	/* As PUT, but an omitted "topics" means those asked: what a person
	 * sends, on accept and on PUT/PATCH of a relationship's terms. */
	TERMS_MODE_ACCEPT,
};

/* Parses and validates a terms object against what was asked. `ask` may be
 * NULL (no limit: used for tests and the demo). Returns 0 and fills *out, or
 * -1 and fills *err. Never keeps a reference to `json`. */
int terms_parse(const json_t *json, const struct terms_ask *ask,
		enum terms_mode mode, struct terms *out,
		struct terms_error *err);

/* The most private terms: nothing granted, folder inbox, SD-BASE. */
void terms_default(struct terms *out);

/* A new JSON object with every key of *t (the caller owns it); NULL only
 * when out of memory. terms_parse(terms_to_json(t)) yields *t again. */
json_t *terms_to_json(const struct terms *t);

/* What the terms of a relationship a person makes with a brand not on
 * cmr are held to: email only, every topic (its table starting with
 * "bulk" and "direct"), no fields. */
void terms_person_made_ask(struct terms_ask *ask);

/* Global terms: the same three operations. "person_made_terms" is parsed
 * as a relationship's terms sent on accept (omitted topics: all) against
 * terms_person_made_ask, its errors named "person_made_terms.<field>". */
int global_terms_parse(const json_t *json, struct global_terms *out,
		       struct terms_error *err);
void global_terms_default(struct global_terms *out);
json_t *global_terms_to_json(const struct global_terms *g);

/* Parses a proposal's ask: {"channels":[…],"topics":[…]|"all",
 * "fields":[…]} (other keys are ignored: the caller validates the rest of
 * the proposal). Errors as above. */
int terms_ask_parse(const json_t *proposal, struct terms_ask *out,
		    struct terms_error *err);

/* Name validation shared with the doors: topic and folder names are
 * [A-Za-z0-9 _-]{1,64} (folders) and [A-Za-z0-9_.-]{1,64} (topics). Any
 * spelling of "inbox" and "later" is a valid folder name: it names the
 * built-in folder. */
bool terms_folder_name_ok(const char *s);
/* Whether two folder names name one folder: equal but for ASCII case. */
bool terms_folder_same(const char *a, const char *b);
bool terms_topic_name_ok(const char *s);

/* ---- The compiled form (what the gate reads) ---- */

/* A relationship's topic table: topic names ↔ small indices. Grows, never
 * shrinks or reorders, so compiled terms and stored attempts stay valid. */
struct topic_table {
	int n;
	terms_name names[TERMS_MAX_TOPICS];
};

/* A person's folders: 0 = inbox, 1 = later, then their own, append-only. */
struct folder_table {
	int n;
	terms_name names[TERMS_MAX_FOLDERS];
};

#define FOLDER_INBOX 0
#define FOLDER_LATER 1

/* Index of name in the table, adding it when absent; -1 when full. A
 * folder is found in any case (terms_folder_same), and the table keeps the
 * spelling it was first added with. */
int topic_table_intern(struct topic_table *t, const char *name);
int folder_table_intern(struct folder_table *f, const char *name);
/* Index of name, or -1 when absent (no change); folders in any case. */
int topic_table_find(const struct topic_table *t, const char *name);
int folder_table_find(const struct folder_table *f, const char *name);
/* Appends a stored name as it is, at the next id, whatever is in the
 * table already: a person's stored list is positional (a folder's id is
 * its place), so loading it must not merge two names a store made before
 * names were compared without case. -1 when full or not storable. */
int folder_table_load(struct folder_table *f, const char *name);
/* Rewrites the folder names of t (folder, topic_folders) in the spelling
 * the table holds them in, the one shown to the person. */
void terms_folders_respell(struct terms *t, const struct folder_table *f);
void folder_table_init(struct folder_table *f); /* inbox, later */

struct terms_compiled {
	uint64_t topics;     /* bit i: topic i of the table is wanted */
	uint64_t exempt;     /* bit i: topic i is exempt */
	cmr_time expires_at; /* 0: never */
	struct cap cap[CHANNEL_COUNT];
	struct cap exempt_cap;
	struct quiet_hours quiet;
	uint8_t channels;   /* bit c: channel c granted */
	uint8_t hold;	    /* bit c: over_cap is "hold" on channel c */
	uint8_t topics_all; /* every topic wanted */
	uint8_t folder;	    /* folder id of the relationship */
	uint8_t n_topic_folders;
	struct {
		uint8_t topic;	/* topic index */
		uint8_t folder; /* folder id */
	} topic_folders[TERMS_MAX_TOPIC_FOLDERS];
};

struct global_compiled {
	struct cap cap[CHANNEL_COUNT];
	struct quiet_hours quiet;
	uint8_t do_not_contact; /* bit c */
	uint8_t hold;		/* bit c: global over_cap is "hold" */
	uint8_t silent;
};

/* Compiles t, interning its topics into *topics and its folders into
 * *folders. Returns 0, or -1 with *err filled (a table is full). */
int terms_compile(const struct terms *t, struct topic_table *topics,
		  struct folder_table *folders, struct terms_compiled *out,
		  struct terms_error *err);

void global_terms_compile(const struct global_terms *g,
			  struct global_compiled *out);

#endif
