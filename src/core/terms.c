/*
 * terms.c — parsing, validating, writing and compiling a person's terms
 * (one relationship's, and the global ones) as the API shapes them
 * (src/http/openapi.json).
 *
 * Parsing walks the JSON against fixed key tables and fills a zeroed
 * struct, so two parses of the same meaning are byte-identical and the
 * canonical JSON written by *_to_json parses back to the same struct.
 * Errors are collected rather than thrown: a value that is well-formed but
 * not allowed (422) is remembered and the walk goes on, because a later
 * wrong type or unknown key (400) must win — the client has to fix its
 * request shape before the values mean anything. The first 400, else the
 * first 422 in key-table order, is the one reported.
 *
 * Field paths are dotted, with array elements as "[i]":
 * "channels.email.cap.max", "topics[2]", "quiet_hours.days[0]". An error
 * about the whole body has the empty path "".
 *
 * Folder names are compared without regard to ASCII case ("Receipts" and
 * "receipts" are one folder, shown as first spelt): two folders that look
 * alike in the web app, and would clash in a Maildir export on a
 * case-insensitive file system, cannot be made. "Inbox" and "LATER" name
 * the built-in folders, and parse as "inbox" and "later".
 * Topic names are compared byte for byte.
 *
 * No I/O, no clock, no allocation outside the jansson objects *_to_json
 * returns; the only globals are constant tables.
 */
#include "terms.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* NULL-ended, so the doors can list it without a count. */
const char *const terms_agreements[] = {
	"SD-BASE",     "SD-BASE-A",  "SD-BASE-AT", "SD-BASE-ATP",
	"SD-BASE-S3P", "SD-BASE-DP", "PDC-INTENT", NULL,
};

#define N_AGREEMENTS                                                           \
	((int)(sizeof terms_agreements / sizeof terms_agreements[0]) - 1)

/* ISO weekday order, as struct quiet_hours numbers its bits. */
static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
};

/* Wire names of the calendar cap units, indexed by enum cap_unit. */
static const char *const cap_unit_names[] = {
	[CAP_DAY] = "day",
	[CAP_WEEK] = "week",
	[CAP_MONTH] = "month",
};

#define ROLLING_MAX_SECONDS    31622400 /* 366 days */
#define RETENTION_MAX_DAYS     3650
#define RETENTION_DEFAULT_DAYS 30
#define EXEMPT_CAP_DEFAULT     10
#define TIME_ZONE_MAX	       63
#define PATH_MAX_LEN	       (sizeof(((struct terms_error *)0)->field))
#define MAX_UNIX_TIME	       253402300799LL /* 9999-12-31T23:59:59Z */

/* ---- Errors and paths ---- */

/* out = base + "." + key (just key when base is empty), truncated at a
 * character boundary: the path is sent back in JSON, and a half character
 * would make the whole reply unencodable. */
static void path_key(char *out, const char *base, const char *key)
{
	size_t room = PATH_MAX_LEN - 1, n = strlen(base), k;

	if (n > room)
		n = room;
	memcpy(out, base, n);
	if (n > 0 && n < room)
		out[n++] = '.';
	k = utf8_cut(key, strlen(key), room - n);
	memcpy(out + n, key, k);
	out[n + k] = '\0';
}

/* out = base + "[i]", base cut at a character boundary when long. */
static void path_index(char *out, const char *base, size_t i)
{
	char idx[24];
	size_t n = strlen(base), k;

	snprintf(idx, sizeof idx, "[%zu]", i);
	k = strlen(idx);
	if (n + k > PATH_MAX_LEN - 1)
		n = utf8_cut(base, n, PATH_MAX_LEN - 1 - k);
	memmove(out, base, n);
	memcpy(out + n, idx, k + 1);
}

/* A 400 stops the walk; a 422 is remembered and the walk goes on. */
static bool stop(const struct terms_error *err)
{
	return err->kind == TERMS_ERR_TYPE || err->kind == TERMS_ERR_UNKNOWN;
}

/* Records an error unless a better one is already there (any 400 beats a
 * 422; otherwise the first one stays). Always returns -1. */
static int fail(struct terms_error *err, int kind, const char *field,
		const char *reason)
{
	if (err->kind != 0 &&
	    (err->kind != TERMS_ERR_VALUE || kind == TERMS_ERR_VALUE))
		return -1;
	err->kind = kind;
	snprintf(err->field, sizeof err->field, "%.*s",
		 (int)(sizeof err->field - 1), field);
	snprintf(err->reason, sizeof err->reason, "%s", reason);
	return -1;
}

static int fail_at(struct terms_error *err, int kind, const char *base,
		   const char *key, const char *reason)
{
	char path[PATH_MAX_LEN];

	path_key(path, base, key);
	return fail(err, kind, path, reason);
}

static int fail_index(struct terms_error *err, int kind, const char *base,
		      size_t i, const char *reason)
{
	char path[PATH_MAX_LEN];

	path_index(path, base, i);
	return fail(err, kind, path, reason);
}

/* Refuses the first key of obj that is not in the NULL-ended list. */
static int check_keys(const json_t *obj, const char *base,
		      const char *const *known, struct terms_error *err)
{
	const char *key;
	json_t *value;

	json_object_foreach ((json_t *)obj, key, value) {
		size_t i;

		(void)value;
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], key) == 0)
				break;
		if (known[i] == NULL)
			return fail_at(err, TERMS_ERR_UNKNOWN, base, key,
				       "is not a known field");
	}
	return 0;
}

/* ---- Names ---- */

static bool name_chars_ok(const char *s, size_t max, const char *extra)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= max)
			return false;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (strchr(extra, c) == NULL)
			return false;
	}
	return n > 0;
}

static bool ascii_case_equal(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return *a == *b;
}

bool terms_folder_name_ok(const char *s)
{
	return s != NULL && name_chars_ok(s, TERMS_NAME_MAX, " _-");
}

bool terms_folder_same(const char *a, const char *b)
{
	return ascii_case_equal(a, b);
}

/* Copies a valid folder name, the built-ins in their own spelling. */
static void folder_name_copy(terms_name out, const char *s)
{
	strcpy(out, terms_folder_same(s, "inbox")   ? "inbox"
		    : terms_folder_same(s, "later") ? "later"
						    : s);
}

bool terms_topic_name_ok(const char *s)
{
	return s != NULL && name_chars_ok(s, TERMS_NAME_MAX, "_.-");
}

static bool field_name_ok(const char *s)
{
	size_t n;

	if (s[0] < 'a' || s[0] > 'z')
		return false;
	for (n = 1; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= TERMS_FIELD_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* IANA zone syntax only; whether the zone exists is the edge's question
 * (it has the TZif files). No empty component, so no leading, trailing or
 * doubled "/"; "." is not in the alphabet, so ".." cannot occur. */
static bool time_zone_ok(const char *s)
{
	size_t n;

	if (!name_chars_ok(s, TIME_ZONE_MAX, "_+/-"))
		return false;
	n = strlen(s);
	return s[0] != '/' && s[n - 1] != '/' && strstr(s, "//") == NULL;
}

/* ---- Name lists ---- */

/* A list of names stored in fixed-width slots (terms_name or field). */
struct name_list {
	char *base;    /* slot 0 */
	size_t stride; /* bytes per slot, terminator included */
	int max;       /* slots */
	int *n;	       /* slots used */
};

static const char *slot(const struct name_list *l, int i)
{
	return l->base + (size_t)i * l->stride;
}

static bool list_has(const struct name_list *l, const char *s)
{
	for (int i = 0; i < *l->n; i++)
		if (strcmp(slot(l, i), s) == 0)
			return true;
	return false;
}

/* What the brand asked for, as a limit on a list: NULL means no limit. */
struct asked {
	bool all;
	int n;
	const char *base;
	size_t stride;
};

static bool asked_has(const struct asked *a, const char *s)
{
	if (a == NULL || a->all)
		return true;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->base + (size_t)i * a->stride, s) == 0)
			return true;
	return false;
}

/* Parses a JSON array of names into *l: each a string (400), a valid name,
 * not repeated, asked for, and no more than l->max of them (422). */
static int parse_names(const json_t *arr, const char *path,
		       const struct name_list *l, bool (*ok)(const char *),
		       const char *bad_name, const char *too_many,
		       const struct asked *ask, struct terms_error *err)
{
	size_t i;
	json_t *item;

	*l->n = 0;
	if (!json_is_array(arr))
		return fail(err, TERMS_ERR_TYPE, path,
			    "must be a list of names");
	if (json_array_size(arr) > (size_t)l->max)
		fail(err, TERMS_ERR_VALUE, path, too_many);
	json_array_foreach (arr, i, item) {
		const char *s;

		if (!json_is_string(item)) {
			fail_index(err, TERMS_ERR_TYPE, path, i,
				   "must be a string");
			return -1;
		}
		s = json_string_value(item);
		if (strlen(s) != json_string_length(item) || !ok(s)) {
			fail_index(err, TERMS_ERR_VALUE, path, i, bad_name);
			continue;
		}
		if (list_has(l, s)) {
			fail_index(err, TERMS_ERR_VALUE, path, i,
				   "is listed twice");
			continue;
		}
		if (!asked_has(ask, s)) {
			fail_index(err, TERMS_ERR_VALUE, path, i,
				   "was not asked for by the brand");
			continue;
		}
		if (*l->n < l->max) {
			strcpy(l->base + (size_t)*l->n * l->stride, s);
			(*l->n)++;
		}
	}
	return err->kind ? -1 : 0;
}

static const char topic_bad[] =
	"must be a topic name: 1 to 64 letters, digits, '_', '.' or '-'";
static const char topics_too_many[] = "may list at most 64 topics";
static const char field_bad[] =
	"must be a field name: a lowercase letter, then up to 31 lowercase "
	"letters, digits or '_'";
static const char fields_too_many[] = "may list at most 32 fields";
static const char folder_bad[] =
	"must be a folder name: 1 to 64 letters, digits, spaces, '_' or '-' "
	"(\"inbox\" and \"later\" are the built-in folders)";

/* "topics": "all" or a list. `all` is set for "all". */
static int parse_topics(const json_t *v, const char *path, bool *all,
			const struct name_list *l, const struct asked *ask,
			struct terms_error *err)
{
	*all = false;
	*l->n = 0;
	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "all") != 0)
			return fail(err, TERMS_ERR_VALUE, path,
				    "must be \"all\" or a list of topics");
		if (ask != NULL && !ask->all)
			return fail(err, TERMS_ERR_VALUE, path,
				    "\"all\" was not asked for by the brand; "
				    "list the topics you want");
		*all = true;
		return 0;
	}
	if (!json_is_array(v))
		return fail(err, TERMS_ERR_TYPE, path,
			    "must be \"all\" or a list of topics");
	return parse_names(v, path, l, terms_topic_name_ok, topic_bad,
			   topics_too_many, ask, err);
}

/* ---- Caps ---- */

/* Reads an integer member into *out when it lies in lo..hi. Absent: 1,
 * untouched. Wrong type: 400. Out of range: 422 with `reason`. */
static int get_int(const json_t *obj, const char *key, const char *base,
		   json_int_t lo, json_int_t hi, const char *reason,
		   json_int_t *out, struct terms_error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 1;
	if (!json_is_integer(v))
		return fail_at(err, TERMS_ERR_TYPE, base, key,
			       "must be an integer");
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail_at(err, TERMS_ERR_VALUE, base, key, reason);
	*out = json_integer_value(v);
	return 0;
}

/* Reads a string member that must be one of `names` (NULL entries are
 * skipped, up to n). Absent: 1. Returns the index in *out. */
static int get_enum(const json_t *obj, const char *key, const char *base,
		    const char *const *names, int n, const char *reason,
		    int *out, struct terms_error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 1;
	if (!json_is_string(v))
		return fail_at(err, TERMS_ERR_TYPE, base, key, reason);
	for (int i = 0; i < n; i++) {
		if (names[i] != NULL &&
		    strcmp(names[i], json_string_value(v)) == 0) {
			*out = i;
			return 0;
		}
	}
	return fail_at(err, TERMS_ERR_VALUE, base, key, reason);
}

static const char *const over_cap_names[] = { "refuse", "hold" };
static const char over_cap_bad[] = "must be \"refuse\" or \"hold\"";

/* A cap {max, per | per_seconds}; with `hold` non-NULL (global caps) the
 * object may also carry over_cap. */
static int parse_cap(const json_t *v, const char *path, struct cap *out,
		     bool *hold, struct terms_error *err)
{
	static const char *const keys[] = { "max", "per", "per_seconds", NULL };
	static const char *const keys_hold[] = { "max", "per", "per_seconds",
						 "over_cap", NULL };
	const json_t *per = NULL, *per_seconds = NULL;
	json_int_t max = 0, seconds = 0;
	int unit = CAP_NONE, rc;

	memset(out, 0, sizeof *out);
	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, path,
			    "must be an object: {\"max\", \"per\"} or "
			    "{\"max\", \"per_seconds\"}");
	if (check_keys(v, path, hold ? keys_hold : keys, err) < 0)
		return -1;
	if (hold != NULL) {
		int h = 0;

		*hold = false;
		rc = get_enum(v, "over_cap", path, over_cap_names, 2,
			      over_cap_bad, &h, err);
		if (rc < 0 && stop(err))
			return -1;
		*hold = rc == 0 && h == 1;
	}
	per = json_object_get(v, "per");
	per_seconds = json_object_get(v, "per_seconds");
	if (per != NULL && per_seconds != NULL) {
		fail(err, TERMS_ERR_VALUE, path,
		     "must have \"per\" or \"per_seconds\", not both");
	} else if (per != NULL) {
		rc = get_enum(
			v, "per", path, cap_unit_names,
			(int)(sizeof cap_unit_names / sizeof cap_unit_names[0]),
			"must be \"day\", \"week\" or \"month\"", &unit, err);
		if (rc < 0 && stop(err))
			return -1;
	} else if (per_seconds != NULL) {
		rc = get_int(v, "per_seconds", path, 1, ROLLING_MAX_SECONDS,
			     "must be a number of seconds between 1 and "
			     "31622400 (366 days)",
			     &seconds, err);
		if (rc < 0 && stop(err))
			return -1;
		if (rc == 0)
			unit = CAP_ROLLING;
	} else {
		fail(err, TERMS_ERR_VALUE, path,
		     "must have \"per\" (day, week or month) or "
		     "\"per_seconds\"");
	}
	if (per != NULL && per_seconds != NULL) {
		/* Still type-check max, but against neither limit. */
		rc = get_int(v, "max", path, 0, TERMS_CALENDAR_MAX,
			     "must be an integer between 0 and 10000", &max,
			     err);
	} else if (per_seconds != NULL) {
		rc = get_int(v, "max", path, 0, TERMS_ROLLING_MAX,
			     "must be an integer between 0 and 100 for a "
			     "rolling cap",
			     &max, err);
	} else {
		rc = get_int(v, "max", path, 0, TERMS_CALENDAR_MAX,
			     "must be an integer between 0 and 10000 for a "
			     "calendar cap",
			     &max, err);
	}
	if (rc < 0)
		return -1;
	if (rc == 1)
		return fail_at(err, TERMS_ERR_VALUE, path, "max",
			       "is required (0 means never)");
	if (unit == CAP_NONE)
		return -1;
	out->unit = (uint8_t)unit;
	out->max = (uint16_t)max;
	out->per_seconds = (uint32_t)seconds;
	return 0;
}

/* One entry of a terms object's "channels". */
static int parse_channel(const json_t *v, const char *path,
			 struct channel_terms *out, struct terms_error *err)
{
	static const char *const keys[] = { "allowed", "cap", "over_cap",
					    NULL };
	const json_t *allowed, *cap;
	int h = 0, rc;

	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, path,
			    "must be an object: {\"allowed\", \"cap\", "
			    "\"over_cap\"}");
	if (check_keys(v, path, keys, err) < 0)
		return -1;
	allowed = json_object_get(v, "allowed");
	if (allowed != NULL) {
		if (!json_is_boolean(allowed))
			return fail_at(err, TERMS_ERR_TYPE, path, "allowed",
				       "must be true or false");
		out->allowed = json_is_true(allowed);
	}
	rc = get_enum(v, "over_cap", path, over_cap_names, 2, over_cap_bad, &h,
		      err);
	if (rc < 0 && stop(err))
		return -1;
	out->hold = rc == 0 && h == 1;
	cap = json_object_get(v, "cap");
	if (cap != NULL) {
		char sub[PATH_MAX_LEN];

		path_key(sub, path, "cap");
		if (parse_cap(cap, sub, &out->cap, NULL, err) < 0 && stop(err))
			return -1;
	}
	return err->kind ? -1 : 0;
}

/* ---- Quiet hours ---- */

static int parse_clock(const json_t *q, const char *key, const char *path,
		       uint16_t *out, struct terms_error *err)
{
	static const char bad[] =
		"must be a time \"HH:MM\" between 00:00 and 23:59";
	const json_t *v = json_object_get(q, key);
	int m;

	if (v == NULL)
		return fail_at(err, TERMS_ERR_VALUE, path, key, "is required");
	if (!json_is_string(v))
		return fail_at(err, TERMS_ERR_TYPE, path, key, bad);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail_at(err, TERMS_ERR_VALUE, path, key, bad);
	m = quiet_parse_clock(json_string_value(v));
	if (m < 0 || m > 1439)
		return fail_at(err, TERMS_ERR_VALUE, path, key, bad);
	*out = (uint16_t)m;
	return 0;
}

/* {"from", "to", "days"} or null. Omitted days: every day. */
static int parse_quiet(const json_t *v, const char *path,
		       struct quiet_hours *out, struct terms_error *err)
{
	static const char *const keys[] = { "from", "to", "days", NULL };
	const json_t *days;
	int from_ok, to_ok;

	memset(out, 0, sizeof *out);
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, path,
			    "must be null or an object: {\"from\", \"to\", "
			    "\"days\"}");
	if (check_keys(v, path, keys, err) < 0)
		return -1;
	from_ok = parse_clock(v, "from", path, &out->from, err);
	if (from_ok < 0 && stop(err))
		return -1;
	to_ok = parse_clock(v, "to", path, &out->to, err);
	if (to_ok < 0 && stop(err))
		return -1;
	if (from_ok == 0 && to_ok == 0 && out->from == out->to)
		fail_at(err, TERMS_ERR_VALUE, path, "to",
			"must differ from \"from\" (a quiet period cannot "
			"be empty or last all day)");
	days = json_object_get(v, "days");
	if (days == NULL) {
		out->days = 0x7f;
	} else {
		char sub[PATH_MAX_LEN];
		size_t i;
		json_t *d;

		path_key(sub, path, "days");
		if (!json_is_array(days))
			return fail(err, TERMS_ERR_TYPE, sub,
				    "must be a list of days (\"mon\" to "
				    "\"sun\")");
		if (json_array_size(days) == 0)
			fail(err, TERMS_ERR_VALUE, sub,
			     "must name at least one day; use null quiet "
			     "hours for none");
		json_array_foreach (days, i, d) {
			int k;

			if (!json_is_string(d))
				return fail_index(err, TERMS_ERR_TYPE, sub, i,
						  "must be a string");
			for (k = 0; k < 7; k++)
				if (strcmp(day_names[k],
					   json_string_value(d)) == 0)
					break;
			if (k == 7)
				fail_index(err, TERMS_ERR_VALUE, sub, i,
					   "must be a day: \"mon\", \"tue\", "
					   "\"wed\", \"thu\", \"fri\", \"sat\" "
					   "or \"sun\"");
			else if (out->days & (1u << k))
				fail_index(err, TERMS_ERR_VALUE, sub, i,
					   "is listed twice");
			else
				out->days |= (uint8_t)(1u << k);
		}
	}
	if (err->kind)
		return -1;
	out->set = 1;
	return 0;
}

/* ---- Time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), into UTC
 * seconds. Fractions are dropped: for an expiry, earlier is the private
 * side. Leap seconds (":60") are refused — Unix time has no place for
 * them. Returns false when malformed or impossible (2027-02-30). */
static bool parse_rfc3339(const char *s, cmr_time *out)
{
	static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30,
						 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return false;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om))
			return false;
		p += 6;
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 59 || oh > 23 || om > 59)
		return false;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	       h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
	return true;
}

static int parse_expiry(const json_t *v, const char *path, cmr_time *out,
			struct terms_error *err)
{
	static const char bad[] = "must be null or an RFC 3339 time such as "
				  "\"2027-01-01T00:00:00Z\"";
	const char *s;
	cmr_time t;

	*out = 0;
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(err, TERMS_ERR_TYPE, path, bad);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || !parse_rfc3339(s, &t))
		return fail(err, TERMS_ERR_VALUE, path, bad);
	/* 0 means "no expiry", and a year past 9999 could not be written
	 * back in the same form. */
	if (t <= 0 || t > MAX_UNIX_TIME)
		return fail(err, TERMS_ERR_VALUE, path,
			    "must lie between 1970 and the year 9999");
	*out = t;
	return 0;
}

/* ---- Terms ---- */

void terms_default(struct terms *out)
{
	memset(out, 0, sizeof *out);
	out->exempt_cap.unit = CAP_DAY;
	out->exempt_cap.max = EXEMPT_CAP_DEFAULT;
	strcpy(out->folder, "inbox");
	strcpy(out->agreement, "SD-BASE");
}

static bool topic_wanted(const struct terms *t, const char *s)
{
	if (t->topics_all)
		return true;
	for (int i = 0; i < t->n_topics; i++)
		if (strcmp(t->topics[i], s) == 0)
			return true;
	return false;
}

static int parse_terms_channels(const json_t *v, const struct terms_ask *ask,
				struct terms *t, struct terms_error *err)
{
	const char *key;
	json_t *entry;

	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, "channels",
			    "must be an object of channel name to its terms");
	json_object_foreach ((json_t *)v, key, entry) {
		char path[PATH_MAX_LEN];
		int c = channel_parse(key);

		if (c < 0)
			return fail_at(err, TERMS_ERR_UNKNOWN, "channels", key,
				       "is not a channel (email, sms, push, "
				       "postal or phone)");
		path_key(path, "channels", key);
		if (parse_channel(entry, path, &t->channels[c], err) < 0) {
			if (stop(err))
				return -1;
			continue;
		}
		if (t->channels[c].allowed && ask != NULL &&
		    !(ask->channels & (1u << c)))
			fail(err, TERMS_ERR_VALUE, path,
			     "was not asked for by the brand");
	}
	return err->kind ? -1 : 0;
}

static int parse_topic_folders(const json_t *v, struct terms *t,
			       struct terms_error *err)
{
	const char *key;
	json_t *folder;

	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, "topic_folders",
			    "must be an object of topic to folder name");
	if (json_object_size(v) > TERMS_MAX_TOPIC_FOLDERS)
		fail(err, TERMS_ERR_VALUE, "topic_folders",
		     "may give at most 16 topics a folder of their own");
	json_object_foreach ((json_t *)v, key, folder) {
		struct topic_folder *tf;

		if (!json_is_string(folder))
			return fail_at(err, TERMS_ERR_TYPE, "topic_folders",
				       key, "must be a folder name");
		if (!terms_topic_name_ok(key)) {
			fail_at(err, TERMS_ERR_VALUE, "topic_folders", key,
				topic_bad);
			continue;
		}
		if (strlen(json_string_value(folder)) !=
			    json_string_length(folder) ||
		    !terms_folder_name_ok(json_string_value(folder))) {
			fail_at(err, TERMS_ERR_VALUE, "topic_folders", key,
				folder_bad);
			continue;
		}
		if (t->n_topic_folders >= TERMS_MAX_TOPIC_FOLDERS)
			continue;
		tf = &t->topic_folders[t->n_topic_folders++];
		strcpy(tf->topic, key);
		folder_name_copy(tf->folder, json_string_value(folder));
	}
	return err->kind ? -1 : 0;
}

/* Checks that need the whole object: exemptions and per-topic folders
 * are about wanted topics only. */
static int check_terms(const struct terms *t, struct terms_error *err)
{
	for (int i = 0; i < t->n_exempt; i++)
		if (!topic_wanted(t, t->exempt[i]))
			return fail_index(err, TERMS_ERR_VALUE, "exempt_topics",
					  (size_t)i,
					  "is not one of the wanted topics");
	for (int i = 0; i < t->n_topic_folders; i++)
		if (!topic_wanted(t, t->topic_folders[i].topic))
			return fail_at(err, TERMS_ERR_VALUE, "topic_folders",
				       t->topic_folders[i].topic,
				       "is not one of the wanted topics");
	return 0;
}

int terms_parse(const json_t *json, const struct terms_ask *ask,
		enum terms_mode mode, struct terms *out,
		struct terms_error *err)
{
	static const char *const keys[] = {
		"channels",	 "topics",	"exempt_topics",
		"exempt_cap",	 "quiet_hours", "folder",
		"topic_folders", "fields",	"agreement",
		"expires_at",	 NULL,
	};
	struct terms_error scratch;
	struct asked topics_ask, fields_ask;
	const struct asked *ta = NULL, *fa = NULL;
	struct name_list topics = { (char *)out->topics, sizeof(terms_name),
				    TERMS_MAX_TOPICS, &out->n_topics };
	struct name_list exempt = { (char *)out->exempt, sizeof(terms_name),
				    TERMS_MAX_TOPICS, &out->n_exempt };
	struct name_list fields = { (char *)out->fields, sizeof out->fields[0],
				    TERMS_MAX_FIELDS, &out->n_fields };
	const json_t *v;
	int rc;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof *err);
	terms_default(out);
	if (!json_is_object(json))
		return fail(err, TERMS_ERR_TYPE, "",
			    "terms must be a JSON object");
	if (check_keys(json, "", keys, err) < 0)
		return -1;
	if (ask != NULL) {
		topics_ask =
			(struct asked){ ask->topics_all, ask->n_topics,
					ask->topics[0], sizeof(terms_name) };
		fields_ask =
			(struct asked){ false, ask->n_fields, ask->fields[0],
					sizeof ask->fields[0] };
		ta = &topics_ask;
		fa = &fields_ask;
	}

	if ((v = json_object_get(json, "channels")) != NULL &&
	    parse_terms_channels(v, ask, out, err) < 0 && stop(err))
		return -1;

	if ((v = json_object_get(json, "topics")) != NULL) {
		if (parse_topics(v, "topics", &out->topics_all, &topics, ta,
				 err) < 0 &&
		    stop(err))
			return -1;
	} else if (mode == TERMS_MODE_ACCEPT && ask != NULL) {
		/* Accepting without a word on topics takes what was asked. */
		out->topics_all = ask->topics_all;
		for (int i = 0; i < ask->n_topics && i < TERMS_MAX_TOPICS; i++)
			snprintf(out->topics[out->n_topics++],
				 sizeof out->topics[0], "%s", ask->topics[i]);
	}

	if ((v = json_object_get(json, "exempt_topics")) != NULL &&
	    parse_names(v, "exempt_topics", &exempt, terms_topic_name_ok,
			topic_bad, topics_too_many, NULL, err) < 0 &&
	    stop(err))
		return -1;

	if ((v = json_object_get(json, "exempt_cap")) != NULL &&
	    parse_cap(v, "exempt_cap", &out->exempt_cap, NULL, err) < 0 &&
	    stop(err))
		return -1;

	if ((v = json_object_get(json, "quiet_hours")) != NULL &&
	    parse_quiet(v, "quiet_hours", &out->quiet, err) < 0 && stop(err))
		return -1;

	if ((v = json_object_get(json, "folder")) != NULL) {
		if (!json_is_string(v))
			return fail(err, TERMS_ERR_TYPE, "folder",
				    "must be a folder name");
		if (strlen(json_string_value(v)) != json_string_length(v) ||
		    !terms_folder_name_ok(json_string_value(v)))
			fail(err, TERMS_ERR_VALUE, "folder", folder_bad);
		else
			folder_name_copy(out->folder, json_string_value(v));
	}

	if ((v = json_object_get(json, "topic_folders")) != NULL &&
	    parse_topic_folders(v, out, err) < 0 && stop(err))
		return -1;

	if ((v = json_object_get(json, "fields")) != NULL &&
	    parse_names(v, "fields", &fields, field_name_ok, field_bad,
			fields_too_many, fa, err) < 0 &&
	    stop(err))
		return -1;

	if ((v = json_object_get(json, "agreement")) != NULL) {
		int a = 0;

		rc = get_enum(json, "agreement", "", terms_agreements,
			      N_AGREEMENTS,
			      "must be one of SD-BASE, SD-BASE-A, SD-BASE-AT, "
			      "SD-BASE-ATP, SD-BASE-S3P, SD-BASE-DP or "
			      "PDC-INTENT",
			      &a, err);
		if (rc < 0 && stop(err))
			return -1;
		if (rc == 0)
			strcpy(out->agreement, terms_agreements[a]);
	}

	if ((v = json_object_get(json, "expires_at")) != NULL &&
	    parse_expiry(v, "expires_at", &out->expires_at, err) < 0 &&
	    stop(err))
		return -1;

	if (err->kind != 0 || check_terms(out, err) < 0)
		return -1;
	return 0;
}

/* ---- Writing JSON ---- */

/* obj[key] = value, which it always takes; -1 when value is NULL (out of
 * memory), so one check covers making the value and setting it. */
static int put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value);
}

static json_t *cap_to_json(const struct cap *c)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (put(o, "max", json_integer(c->max)) < 0)
		goto oom;
	if (c->unit == CAP_ROLLING) {
		if (put(o, "per_seconds", json_integer(c->per_seconds)) < 0)
			goto oom;
	} else if (c->unit == CAP_DAY || c->unit == CAP_WEEK ||
		   c->unit == CAP_MONTH) {
		if (put(o, "per", json_string(cap_unit_names[c->unit])) < 0)
			goto oom;
	}
	return o;
oom:
	json_decref(o);
	return NULL;
}

static json_t *quiet_to_json(const struct quiet_hours *q)
{
	char from[8], to[8];
	json_t *o, *days;

	if (!q->set)
		return json_null();
	snprintf(from, sizeof from, "%02u:%02u", (unsigned)(q->from / 60 % 24),
		 (unsigned)(q->from % 60));
	snprintf(to, sizeof to, "%02u:%02u", (unsigned)(q->to / 60 % 24),
		 (unsigned)(q->to % 60));
	o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "from", json_string(from)) < 0 ||
	    put(o, "to", json_string(to)) < 0 ||
	    put(o, "days", days = json_array()) < 0)
		goto oom;
	for (int d = 0; d < 7; d++)
		if ((q->days & (1u << d)) &&
		    json_array_append_new(days, json_string(day_names[d])) < 0)
			goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

static json_t *names_to_json(const char *base, size_t stride, int n)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (json_array_append_new(
			    a, json_string(base + (size_t)i * stride)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *expiry_to_json(cmr_time t)
{
	char buf[64]; /* room for any int64 year: no truncation */
	int64_t y, days = t / 86400, secs = t % 86400;
	unsigned m, d;

	if (t <= 0)
		return json_null();
	civil_from(days, &y, &m, &d);
	snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
		 (long long)y, m, d, (unsigned)(secs / 3600),
		 (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	return json_string(buf);
}

json_t *terms_to_json(const struct terms *t)
{
	json_t *o = json_object(), *channels, *tf;

	if (o == NULL)
		return NULL;
	if (put(o, "channels", channels = json_object()) < 0)
		goto oom;
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		const struct channel_terms *ct = &t->channels[c];
		json_t *e;

		if (put(channels, channel_name((enum channel)c),
			e = json_object()) < 0 ||
		    put(e, "allowed", json_boolean(ct->allowed)) < 0)
			goto oom;
		if (ct->cap.unit != CAP_NONE &&
		    put(e, "cap", cap_to_json(&ct->cap)) < 0)
			goto oom;
		if (put(e, "over_cap",
			json_string(over_cap_names[ct->hold ? 1 : 0])) < 0)
			goto oom;
	}
	if (put(o, "topics",
		t->topics_all ? json_string("all")
			      : names_to_json(t->topics[0], sizeof(terms_name),
					      t->n_topics)) < 0 ||
	    put(o, "exempt_topics",
		names_to_json(t->exempt[0], sizeof(terms_name), t->n_exempt)) <
		    0 ||
	    put(o, "exempt_cap", cap_to_json(&t->exempt_cap)) < 0 ||
	    put(o, "quiet_hours", quiet_to_json(&t->quiet)) < 0 ||
	    put(o, "folder", json_string(t->folder)) < 0 ||
	    put(o, "topic_folders", tf = json_object()) < 0)
		goto oom;
	for (int i = 0; i < t->n_topic_folders; i++)
		if (put(tf, t->topic_folders[i].topic,
			json_string(t->topic_folders[i].folder)) < 0)
			goto oom;
	if (put(o, "fields",
		names_to_json(t->fields[0], sizeof t->fields[0], t->n_fields)) <
		    0 ||
	    put(o, "agreement", json_string(t->agreement)) < 0 ||
	    put(o, "expires_at", expiry_to_json(t->expires_at)) < 0)
		goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

/* ---- Global terms ---- */

void global_terms_default(struct global_terms *out)
{
	memset(out, 0, sizeof *out);
	strcpy(out->time_zone, "UTC");
	out->later_retention_days = RETENTION_DEFAULT_DAYS;
}

static int parse_global_caps(const json_t *v, struct global_terms *g,
			     struct terms_error *err)
{
	const char *key;
	json_t *entry;

	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, "caps",
			    "must be an object of channel name to its cap");
	json_object_foreach ((json_t *)v, key, entry) {
		char path[PATH_MAX_LEN];
		int c = channel_parse(key);

		if (c < 0)
			return fail_at(err, TERMS_ERR_UNKNOWN, "caps", key,
				       "is not a channel (email, sms, push, "
				       "postal or phone)");
		path_key(path, "caps", key);
		if (parse_cap(entry, path, &g->caps[c].cap, &g->caps[c].hold,
			      err) < 0 &&
		    stop(err))
			return -1;
	}
	return err->kind ? -1 : 0;
}

static int parse_do_not_contact(const json_t *v, struct global_terms *g,
				struct terms_error *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return fail(err, TERMS_ERR_TYPE, "do_not_contact",
			    "must be a list of channels");
	json_array_foreach (v, i, item) {
		int c;

		if (!json_is_string(item))
			return fail_index(err, TERMS_ERR_TYPE, "do_not_contact",
					  i, "must be a string");
		c = channel_parse(json_string_value(item));
		if (c < 0 ||
		    strlen(json_string_value(item)) != json_string_length(item))
			fail_index(err, TERMS_ERR_VALUE, "do_not_contact", i,
				   "must be a channel: email, sms, push, "
				   "postal or phone");
		else if (g->do_not_contact & (1u << c))
			fail_index(err, TERMS_ERR_VALUE, "do_not_contact", i,
				   "is listed twice");
		else
			g->do_not_contact |= (uint8_t)(1u << c);
	}
	return err->kind ? -1 : 0;
}

void terms_person_made_ask(struct terms_ask *ask)
{
	memset(ask, 0, sizeof(*ask));
	ask->channels = 1u << CHANNEL_EMAIL;
	ask->topics_all = true;
	ask->n_topics = 2;
	snprintf(ask->topics[0], sizeof(ask->topics[0]), "bulk");
	snprintf(ask->topics[1], sizeof(ask->topics[1]), "direct");
}

/* Global terms' "person_made_terms": null, or terms as for a relationship
 * a person makes; errors under the key's name. */
static int parse_person_made(const json_t *v, struct global_terms *g,
			     struct terms_error *err)
{
	struct terms_ask ask;
	struct terms_error sub;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(err, TERMS_ERR_TYPE, "person_made_terms",
			    "must be terms (an object), or null for the "
			    "default");
	terms_person_made_ask(&ask);
	if (terms_parse(v, &ask, TERMS_MODE_ACCEPT, &g->person_made, &sub) ==
	    0) {
		/* Kept in the form its own JSON parses back to (an omitted
		 * "topics" and "all" read alike), so that global terms read
		 * back from the store are the same struct. */
		json_t *canon = terms_to_json(&g->person_made);
		int rc = canon ? terms_parse(canon, &ask, TERMS_MODE_ACCEPT,
					     &g->person_made, &sub)
			       : fail(&sub, TERMS_ERR_VALUE, "",
				      "out of memory");
		json_decref(canon);
		if (rc == 0) {
			g->person_made_set = true;
			return 0;
		}
	}
	char path[PATH_MAX_LEN + 32];
	snprintf(path, sizeof path, "person_made_terms%s%s",
		 sub.field[0] ? "." : "", sub.field);
	return fail(err, sub.kind, path, sub.reason);
}

int global_terms_parse(const json_t *json, struct global_terms *out,
		       struct terms_error *err)
{
	static const char *const keys[] = {
		"time_zone",
		"do_not_contact",
		"quiet_hours",
		"caps",
		"later_retention_days",
		"refusal",
		"person_made_terms",
		NULL,
	};
	static const char *const refusals[] = { "reject", "silent" };
	struct terms_error scratch;
	const json_t *v;
	json_int_t days = 0;
	int rc, r = 0;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof *err);
	global_terms_default(out);
	if (!json_is_object(json))
		return fail(err, TERMS_ERR_TYPE, "",
			    "global terms must be a JSON object");
	if (check_keys(json, "", keys, err) < 0)
		return -1;

	if ((v = json_object_get(json, "time_zone")) != NULL) {
		static const char bad[] =
			"must be an IANA time zone name such as "
			"\"Europe/Berlin\"";

		if (!json_is_string(v))
			return fail(err, TERMS_ERR_TYPE, "time_zone", bad);
		if (strlen(json_string_value(v)) != json_string_length(v) ||
		    !time_zone_ok(json_string_value(v)))
			fail(err, TERMS_ERR_VALUE, "time_zone", bad);
		else
			strcpy(out->time_zone, json_string_value(v));
	}

	if ((v = json_object_get(json, "do_not_contact")) != NULL &&
	    parse_do_not_contact(v, out, err) < 0 && stop(err))
		return -1;

	if ((v = json_object_get(json, "quiet_hours")) != NULL &&
	    parse_quiet(v, "quiet_hours", &out->quiet, err) < 0 && stop(err))
		return -1;

	if ((v = json_object_get(json, "caps")) != NULL &&
	    parse_global_caps(v, out, err) < 0 && stop(err))
		return -1;

	rc = get_int(json, "later_retention_days", "", 1, RETENTION_MAX_DAYS,
		     "must be a number of days between 1 and 3650", &days, err);
	if (rc < 0 && stop(err))
		return -1;
	if (rc == 0)
		out->later_retention_days = (uint16_t)days;

	rc = get_enum(json, "refusal", "", refusals, 2,
		      "must be \"reject\" or \"silent\"", &r, err);
	if (rc < 0 && stop(err))
		return -1;
	out->silent = rc == 0 && r == 1;

	if ((v = json_object_get(json, "person_made_terms")) != NULL &&
	    parse_person_made(v, out, err) < 0 && stop(err))
		return -1;

	return err->kind ? -1 : 0;
}

json_t *global_terms_to_json(const struct global_terms *g)
{
	json_t *o = json_object(), *dnc, *caps;

	if (o == NULL)
		return NULL;
	if (put(o, "time_zone", json_string(g->time_zone)) < 0 ||
	    put(o, "do_not_contact", dnc = json_array()) < 0)
		goto oom;
	for (int c = 0; c < CHANNEL_COUNT; c++)
		if ((g->do_not_contact & (1u << c)) &&
		    json_array_append_new(dnc, json_string(channel_name(
						       (enum channel)c))) < 0)
			goto oom;
	if (put(o, "quiet_hours", quiet_to_json(&g->quiet)) < 0 ||
	    put(o, "caps", caps = json_object()) < 0)
		goto oom;
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		json_t *e;

		if (g->caps[c].cap.unit == CAP_NONE)
			continue;
		if (put(caps, channel_name((enum channel)c),
			e = cap_to_json(&g->caps[c].cap)) < 0 ||
		    put(e, "over_cap",
			json_string(over_cap_names[g->caps[c].hold ? 1 : 0])) <
			    0)
			goto oom;
	}
	if (put(o, "later_retention_days",
		json_integer(g->later_retention_days)) < 0 ||
	    put(o, "refusal", json_string(g->silent ? "silent" : "reject")) <
		    0 ||
	    put(o, "person_made_terms",
		g->person_made_set ? terms_to_json(&g->person_made)
				   : json_null()) < 0)
		goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

/* ---- A proposal's ask ---- */

int terms_ask_parse(const json_t *proposal, struct terms_ask *out,
		    struct terms_error *err)
{
	struct terms_error scratch;
	struct name_list topics = { (char *)out->topics, sizeof(terms_name),
				    TERMS_MAX_TOPICS, &out->n_topics };
	struct name_list fields = { (char *)out->fields, sizeof out->fields[0],
				    TERMS_MAX_FIELDS, &out->n_fields };
	const json_t *v;
	size_t i;
	json_t *item;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof *err);
	memset(out, 0, sizeof *out);
	if (!json_is_object(proposal))
		return fail(err, TERMS_ERR_TYPE, "",
			    "a proposal must be a JSON object");

	v = json_object_get(proposal, "channels");
	if (v == NULL) {
		fail(err, TERMS_ERR_VALUE, "channels",
		     "is required: the channels the brand asks to use");
	} else if (!json_is_array(v)) {
		return fail(err, TERMS_ERR_TYPE, "channels",
			    "must be a list of channels");
	} else {
		if (json_array_size(v) == 0)
			fail(err, TERMS_ERR_VALUE, "channels",
			     "must ask for at least one channel");
		json_array_foreach (v, i, item) {
			int c;

			if (!json_is_string(item))
				return fail_index(err, TERMS_ERR_TYPE,
						  "channels", i,
						  "must be a string");
			c = channel_parse(json_string_value(item));
			if (c < 0 || strlen(json_string_value(item)) !=
					     json_string_length(item))
				fail_index(err, TERMS_ERR_VALUE, "channels", i,
					   "must be a channel: email, sms, "
					   "push, postal or phone");
			else if (out->channels & (1u << c))
				fail_index(err, TERMS_ERR_VALUE, "channels", i,
					   "is listed twice");
			else
				out->channels |= (uint8_t)(1u << c);
		}
	}

	if ((v = json_object_get(proposal, "topics")) != NULL &&
	    parse_topics(v, "topics", &out->topics_all, &topics, NULL, err) <
		    0 &&
	    stop(err))
		return -1;

	if ((v = json_object_get(proposal, "fields")) != NULL &&
	    parse_names(v, "fields", &fields, field_name_ok, field_bad,
			fields_too_many, NULL, err) < 0 &&
	    stop(err))
		return -1;

	return err->kind ? -1 : 0;
}

/* ---- Tables and compiling ---- */

/* Both tables refuse (-1) a name they could not store whole, as well as
 * when full: a truncated name would silently merge two different ones. */
static int table_intern(terms_name *names, int *n, int max, const char *s)
{
	size_t len = strlen(s);

	for (int i = 0; i < *n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	if (*n >= max || len == 0 || len > TERMS_NAME_MAX)
		return -1;
	memcpy(names[*n], s, len + 1);
	return (*n)++;
}

int topic_table_intern(struct topic_table *t, const char *name)
{
	return table_intern(t->names, &t->n, TERMS_MAX_TOPICS, name);
}

int folder_table_intern(struct folder_table *f, const char *name)
{
	int i = folder_table_find(f, name);
	return i >= 0 ? i
		      : table_intern(f->names, &f->n, TERMS_MAX_FOLDERS, name);
}

int folder_table_find(const struct folder_table *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (terms_folder_same(f->names[i], name))
			return i;
	return -1;
}

int folder_table_load(struct folder_table *f, const char *name)
{
	size_t len = strlen(name);

	if (f->n >= TERMS_MAX_FOLDERS || len == 0 || len > TERMS_NAME_MAX)
		return -1;
	memcpy(f->names[f->n], name, len + 1);
	return f->n++;
}

void terms_folders_respell(struct terms *t, const struct folder_table *f)
{
	int k = folder_table_find(f, t->folder);

	if (k >= 0)
		strcpy(t->folder, f->names[k]);
	for (int i = 0; i < t->n_topic_folders; i++)
		if ((k = folder_table_find(f, t->topic_folders[i].folder)) >= 0)
			strcpy(t->topic_folders[i].folder, f->names[k]);
}

int topic_table_find(const struct topic_table *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->names[i], name) == 0)
			return i;
	return -1;
}

void folder_table_init(struct folder_table *f)
{
	memset(f, 0, sizeof *f);
	strcpy(f->names[FOLDER_INBOX], "inbox");
	strcpy(f->names[FOLDER_LATER], "later");
	f->n = 2;
}

static const char topics_full[] =
	"cannot be added: this relationship already has the most topics it "
	"can keep (64)";
static const char folders_full[] =
	"cannot be added: you already have the most folders you can keep "
	"(254)";

int terms_compile(const struct terms *t, struct topic_table *topics,
		  struct folder_table *folders, struct terms_compiled *out,
		  struct terms_error *err)
{
	/* Interned into copies, written back only when everything fitted,
	 * so a refused compile leaves the tables as they were. */
	struct topic_table tt = *topics;
	struct folder_table ft = *folders;
	struct terms_error scratch;
	int i, k;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof *err);
	memset(out, 0, sizeof *out);
	out->topics_all = t->topics_all;
	if (!t->topics_all) {
		for (i = 0; i < t->n_topics; i++) {
			if ((k = topic_table_intern(&tt, t->topics[i])) < 0)
				return fail_index(err, TERMS_ERR_VALUE,
						  "topics", (size_t)i,
						  topics_full);
			out->topics |= UINT64_C(1) << k;
		}
	}
	for (i = 0; i < t->n_exempt; i++) {
		if ((k = topic_table_intern(&tt, t->exempt[i])) < 0)
			return fail_index(err, TERMS_ERR_VALUE, "exempt_topics",
					  (size_t)i, topics_full);
		out->exempt |= UINT64_C(1) << k;
	}
	if ((k = folder_table_intern(&ft, t->folder)) < 0)
		return fail(err, TERMS_ERR_VALUE, "folder", folders_full);
	out->folder = (uint8_t)k;
	for (i = 0; i < t->n_topic_folders && i < TERMS_MAX_TOPIC_FOLDERS;
	     i++) {
		const struct topic_folder *tf = &t->topic_folders[i];
		int f;

		if ((k = topic_table_intern(&tt, tf->topic)) < 0)
			return fail_at(err, TERMS_ERR_VALUE, "topic_folders",
				       tf->topic, topics_full);
		if ((f = folder_table_intern(&ft, tf->folder)) < 0)
			return fail_at(err, TERMS_ERR_VALUE, "topic_folders",
				       tf->topic, folders_full);
		out->topic_folders[i].topic = (uint8_t)k;
		out->topic_folders[i].folder = (uint8_t)f;
		out->n_topic_folders++;
	}
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		out->cap[c] = t->channels[c].cap;
		if (t->channels[c].allowed)
			out->channels |= (uint8_t)(1u << c);
		if (t->channels[c].hold)
			out->hold |= (uint8_t)(1u << c);
	}
	out->exempt_cap = t->exempt_cap;
	out->quiet = t->quiet;
	out->expires_at = t->expires_at;
	*topics = tt;
	*folders = ft;
	return 0;
}

void global_terms_compile(const struct global_terms *g,
			  struct global_compiled *out)
{
	memset(out, 0, sizeof *out);
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		out->cap[c] = g->caps[c].cap;
		if (g->caps[c].hold)
			out->hold |= (uint8_t)(1u << c);
	}
	out->quiet = g->quiet;
	out->do_not_contact = g->do_not_contact;
	out->silent = g->silent;
}
