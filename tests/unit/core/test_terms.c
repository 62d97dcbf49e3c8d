/*
 * test_terms.c — the terms module against the API's shapes
 * (src/http/openapi.json): every key of a terms object and of global terms,
 * their defaults, every kind of error with the field it names, the rule that
 * terms never grant more than the proposal asked, the canonical JSON and its
 * round trip, and compiling into the topic and folder tables the gate reads.
 *
 * JSON in these tests is written with single quotes ('a') to stay readable
 * inside C strings; load() turns them into double quotes before parsing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "terms.h"

/* ---- Helpers ---- */

static json_t *load(const char *text)
{
	char *s = strdup(text);
	json_error_t je;
	json_t *j;

	cr_assert_not_null(s);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	cr_assert_not_null(j, "bad test JSON %s: %s", s, je.text);
	free(s);
	return j;
}

static int parse(const char *text, const struct terms_ask *ask,
		 enum terms_mode mode, struct terms *t, struct terms_error *e)
{
	json_t *j = load(text);
	int rc = terms_parse(j, ask, mode, t, e);

	json_decref(j);
	return rc;
}

/* Parses text with no ask in PUT mode, asserting success. */
static void ok(const char *text, struct terms *t)
{
	struct terms_error e;

	cr_assert_eq(parse(text, NULL, TERMS_MODE_PUT, t, &e), 0,
		     "%s refused: %s: %s", text, e.field, e.reason);
	cr_assert_eq(e.kind, 0);
}

static void bad_with(const char *text, const struct terms_ask *ask,
		     enum terms_mode mode, int kind, const char *field)
{
	struct terms t;
	struct terms_error e;

	cr_assert_eq(parse(text, ask, mode, &t, &e), -1, "%s accepted", text);
	cr_assert_eq(e.kind, kind, "%s: kind %d, want %d (%s: %s)", text,
		     e.kind, kind, e.field, e.reason);
	cr_assert_str_eq(e.field, field, "%s: field %s, want %s (%s)", text,
			 e.field, field, e.reason);
	cr_assert_gt(strlen(e.reason), 5, "%s: no reason", text);
}

static void bad(const char *text, int kind, const char *field)
{
	bad_with(text, NULL, TERMS_MODE_PUT, kind, field);
}

static int gparse(const char *text, struct global_terms *g,
		  struct terms_error *e)
{
	json_t *j = load(text);
	int rc = global_terms_parse(j, g, e);

	json_decref(j);
	return rc;
}

static void gok(const char *text, struct global_terms *g)
{
	struct terms_error e;

	cr_assert_eq(gparse(text, g, &e), 0, "%s refused: %s: %s", text,
		     e.field, e.reason);
}

static void gbad(const char *text, int kind, const char *field)
{
	struct global_terms g;
	struct terms_error e;

	cr_assert_eq(gparse(text, &g, &e), -1, "%s accepted", text);
	cr_assert_eq(e.kind, kind, "%s: kind %d, want %d (%s: %s)", text,
		     e.kind, kind, e.field, e.reason);
	cr_assert_str_eq(e.field, field, "%s: field %s (%s)", text, e.field,
			 e.reason);
	cr_assert_gt(strlen(e.reason), 5);
}

static int aparse(const char *text, struct terms_ask *a, struct terms_error *e)
{
	json_t *j = load(text);
	int rc = terms_ask_parse(j, a, e);

	json_decref(j);
	return rc;
}

static void abad(const char *text, int kind, const char *field)
{
	struct terms_ask a;
	struct terms_error e;

	cr_assert_eq(aparse(text, &a, &e), -1, "%s accepted", text);
	cr_assert_eq(e.kind, kind, "%s: kind %d (%s: %s)", text, e.kind,
		     e.field, e.reason);
	cr_assert_str_eq(e.field, field, "%s: field %s", text, e.field);
}

/* The proposal of the README's HTTP walk (step 3), plus sms. */
static void example_ask(struct terms_ask *a)
{
	struct terms_error e;

	cr_assert_eq(aparse("{'channels':['email','sms'],"
			    "'topics':['orders','offers','news'],"
			    "'fields':['name','email','phone'],"
			    "'value':'10% off','connect_code':'K7QX'}",
			    a, &e),
		     0, "%s: %s", e.field, e.reason);
}

static const char design_example[] =
	"{'channels':{"
	"'email':{'allowed':true,'cap':{'max':2,'per_seconds':604800},"
	"'over_cap':'refuse'},"
	"'sms':{'allowed':false}},"
	"'topics':['orders','offers'],"
	"'exempt_topics':['orders'],"
	"'exempt_cap':{'max':10,'per':'day'},"
	"'quiet_hours':{'from':'22:00','to':'07:30','days':"
	"['mon','tue','wed','thu','fri','sat','sun']},"
	"'folder':'inbox',"
	"'topic_folders':{'offers':'later'},"
	"'fields':['name','email'],"
	"'agreement':'SD-BASE',"
	"'expires_at':null}";

static void assert_cap_equal(const struct cap *a, const struct cap *b,
			     const char *what)
{
	cr_assert_eq(a->unit, b->unit, "%s unit", what);
	cr_assert_eq(a->max, b->max, "%s max", what);
	cr_assert_eq(a->per_seconds, b->per_seconds, "%s per_seconds", what);
}

static void assert_quiet_equal(const struct quiet_hours *a,
			       const struct quiet_hours *b)
{
	cr_assert_eq(a->set, b->set, "quiet set");
	cr_assert_eq(a->from, b->from, "quiet from");
	cr_assert_eq(a->to, b->to, "quiet to");
	cr_assert_eq(a->days, b->days, "quiet days");
}

static void assert_terms_equal(const struct terms *a, const struct terms *b)
{
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		cr_assert_eq(a->channels[c].allowed, b->channels[c].allowed,
			     "channel %d allowed", c);
		cr_assert_eq(a->channels[c].hold, b->channels[c].hold,
			     "channel %d hold", c);
		assert_cap_equal(&a->channels[c].cap, &b->channels[c].cap,
				 "channel cap");
	}
	cr_assert_eq(a->topics_all, b->topics_all);
	cr_assert_eq(a->n_topics, b->n_topics);
	for (int i = 0; i < a->n_topics; i++)
		cr_assert_str_eq(a->topics[i], b->topics[i]);
	cr_assert_eq(a->n_exempt, b->n_exempt);
	for (int i = 0; i < a->n_exempt; i++)
		cr_assert_str_eq(a->exempt[i], b->exempt[i]);
	assert_cap_equal(&a->exempt_cap, &b->exempt_cap, "exempt_cap");
	assert_quiet_equal(&a->quiet, &b->quiet);
	cr_assert_str_eq(a->folder, b->folder);
	cr_assert_eq(a->n_topic_folders, b->n_topic_folders);
	for (int i = 0; i < a->n_topic_folders; i++) {
		cr_assert_str_eq(a->topic_folders[i].topic,
				 b->topic_folders[i].topic);
		cr_assert_str_eq(a->topic_folders[i].folder,
				 b->topic_folders[i].folder);
	}
	cr_assert_eq(a->n_fields, b->n_fields);
	for (int i = 0; i < a->n_fields; i++)
		cr_assert_str_eq(a->fields[i], b->fields[i]);
	cr_assert_str_eq(a->agreement, b->agreement);
	cr_assert_eq(a->expires_at, b->expires_at);
}

/* to_json, then parse again: the same terms and the same JSON. */
static void round_trip(const struct terms *t)
{
	struct terms back;
	struct terms_error e;
	json_t *j = terms_to_json(t), *j2;

	cr_assert_not_null(j);
	cr_assert_eq(terms_parse(j, NULL, TERMS_MODE_PUT, &back, &e), 0,
		     "%s: %s", e.field, e.reason);
	assert_terms_equal(t, &back);
	/* Both came out of terms_parse/terms_default, which zero the whole
	 * struct first, so even the padding agrees. */
	cr_assert_eq(memcmp(t, &back, sizeof back), 0);
	j2 = terms_to_json(&back);
	cr_assert(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
}

static char *repeat(char *buf, char c, int n)
{
	memset(buf, c, (size_t)n);
	buf[n] = '\0';
	return buf;
}

/* ---- Defaults ---- */

Test(terms, empty_object_is_most_private)
{
	struct terms t, d;

	ok("{}", &t);
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		cr_assert(!t.channels[c].allowed);
		cr_assert(!t.channels[c].hold);
		cr_assert_eq(t.channels[c].cap.unit, CAP_NONE);
	}
	cr_assert(!t.topics_all);
	cr_assert_eq(t.n_topics, 0);
	cr_assert_eq(t.n_exempt, 0);
	cr_assert_eq(t.exempt_cap.unit, CAP_DAY);
	cr_assert_eq(t.exempt_cap.max, 10);
	cr_assert_eq(t.quiet.set, 0);
	cr_assert_str_eq(t.folder, "inbox");
	cr_assert_eq(t.n_topic_folders, 0);
	cr_assert_eq(t.n_fields, 0);
	cr_assert_str_eq(t.agreement, "SD-BASE");
	cr_assert_eq(t.expires_at, 0);
	terms_default(&d);
	cr_assert_eq(memcmp(&t, &d, sizeof t), 0);
}

Test(terms, put_omitted_topics_means_none)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a);
	cr_assert_eq(parse("{}", &a, TERMS_MODE_PUT, &t, &e), 0);
	cr_assert_eq(t.n_topics, 0);
	cr_assert(!t.topics_all);
}

Test(terms, accept_omitted_topics_means_asked)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a);
	cr_assert_eq(parse("{}", &a, TERMS_MODE_ACCEPT, &t, &e), 0);
	cr_assert(!t.topics_all);
	cr_assert_eq(t.n_topics, 3);
	cr_assert_str_eq(t.topics[0], "orders");
	cr_assert_str_eq(t.topics[1], "offers");
	cr_assert_str_eq(t.topics[2], "news");
	/* Nothing else is taken from the ask. */
	cr_assert_eq(t.n_fields, 0);
	cr_assert(!t.channels[CHANNEL_EMAIL].allowed);
}

Test(terms, accept_omitted_topics_all_when_all_asked)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	cr_assert_eq(aparse("{'channels':['email'],'topics':'all'}", &a, &e),
		     0);
	cr_assert_eq(parse("{}", &a, TERMS_MODE_ACCEPT, &t, &e), 0);
	cr_assert(t.topics_all);
	cr_assert_eq(t.n_topics, 0);
}

Test(terms, accept_explicit_topics_win)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a);
	cr_assert_eq(parse("{'topics':[]}", &a, TERMS_MODE_ACCEPT, &t, &e), 0);
	cr_assert_eq(t.n_topics, 0);
	cr_assert_eq(
		parse("{'topics':['news']}", &a, TERMS_MODE_ACCEPT, &t, &e), 0);
	cr_assert_eq(t.n_topics, 1);
	cr_assert_str_eq(t.topics[0], "news");
}

Test(terms, accept_without_ask_means_no_topics)
{
	struct terms t;
	struct terms_error e;

	cr_assert_eq(parse("{}", NULL, TERMS_MODE_ACCEPT, &t, &e), 0);
	cr_assert_eq(t.n_topics, 0);
	cr_assert(!t.topics_all);
}

Test(terms, accept_exempt_checked_against_asked_topics)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a);
	cr_assert_eq(parse("{'exempt_topics':['orders']}", &a,
			   TERMS_MODE_ACCEPT, &t, &e),
		     0);
	cr_assert_eq(t.n_exempt, 1);
	/* The same object under PUT wants no topics, so nothing can be
	 * exempt. */
	bad_with("{'exempt_topics':['orders']}", &a, TERMS_MODE_PUT,
		 TERMS_ERR_VALUE, "exempt_topics[0]");
}

/* ---- The documented example of a terms object ---- */

Test(terms, design_example)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a);
	cr_assert_eq(parse(design_example, &a, TERMS_MODE_PUT, &t, &e), 0,
		     "%s: %s", e.field, e.reason);
	cr_assert(t.channels[CHANNEL_EMAIL].allowed);
	cr_assert(!t.channels[CHANNEL_EMAIL].hold);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.unit, CAP_ROLLING);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.max, 2);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.per_seconds, 604800);
	cr_assert(!t.channels[CHANNEL_SMS].allowed);
	cr_assert_eq(t.channels[CHANNEL_SMS].cap.unit, CAP_NONE);
	cr_assert_eq(t.n_topics, 2);
	cr_assert_str_eq(t.topics[0], "orders");
	cr_assert_str_eq(t.topics[1], "offers");
	cr_assert_eq(t.n_exempt, 1);
	cr_assert_str_eq(t.exempt[0], "orders");
	cr_assert_eq(t.exempt_cap.unit, CAP_DAY);
	cr_assert_eq(t.exempt_cap.max, 10);
	cr_assert_eq(t.quiet.set, 1);
	cr_assert_eq(t.quiet.from, 22 * 60);
	cr_assert_eq(t.quiet.to, 7 * 60 + 30);
	cr_assert_eq(t.quiet.days, 0x7f);
	cr_assert_str_eq(t.folder, "inbox");
	cr_assert_eq(t.n_topic_folders, 1);
	cr_assert_str_eq(t.topic_folders[0].topic, "offers");
	cr_assert_str_eq(t.topic_folders[0].folder, "later");
	cr_assert_eq(t.n_fields, 2);
	cr_assert_str_eq(t.fields[0], "name");
	cr_assert_str_eq(t.fields[1], "email");
	cr_assert_str_eq(t.agreement, "SD-BASE");
	cr_assert_eq(t.expires_at, 0);
}

/* ---- The whole body ---- */

Test(terms, body_must_be_object)
{
	bad("[]", TERMS_ERR_TYPE, "");
	bad("'channels'", TERMS_ERR_TYPE, "");
	bad("null", TERMS_ERR_TYPE, "");
	bad("3", TERMS_ERR_TYPE, "");
}

Test(terms, unknown_top_level_key)
{
	bad("{'colour':'red'}", TERMS_ERR_UNKNOWN, "colour");
	bad("{'folder':'inbox','Topics':[]}", TERMS_ERR_UNKNOWN, "Topics");
}

Test(terms, null_for_terms_parse_error_pointer_is_allowed)
{
	struct terms t;
	json_t *j = load("{'folder':'a/b'}");

	cr_assert_eq(terms_parse(j, NULL, TERMS_MODE_PUT, &t, NULL), -1);
	json_decref(j);
}

Test(terms, bad_request_beats_unprocessable)
{
	/* A 422 found first is replaced by a later 400 ... */
	bad("{'folder':'a/b','fields':[1]}", TERMS_ERR_TYPE, "fields[0]");
	bad("{'channels':{'email':{'over_cap':'x','colour':1}}}",
	    TERMS_ERR_UNKNOWN, "channels.email.colour");
	bad("{'topics':['a b', 3]}", TERMS_ERR_TYPE, "topics[1]");
	bad("{'quiet_hours':{'from':'25:00','to':7}}", TERMS_ERR_TYPE,
	    "quiet_hours.to");
	/* ... but between two 422s the first in key order stays. */
	bad("{'agreement':'x','folder':'a/b'}", TERMS_ERR_VALUE, "folder");
	bad("{'topics':['a b','c d']}", TERMS_ERR_VALUE, "topics[0]");
}

Test(terms, long_unknown_key_path_is_cut_on_a_character)
{
	/* 200 two-byte characters: the path must be cut, and never in the
	 * middle of one, or the error could not be sent back as JSON. */
	char text[1024], *p = text;
	struct terms t;
	struct terms_error e;
	json_t *j, *s;

	/* The "x" puts the cut at an odd byte, inside a character. */
	p += sprintf(p, "{\"channels\":{\"email\":{\"x");
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "\":1}}}");
	j = json_loads(text, 0, NULL);
	cr_assert_not_null(j);
	cr_assert_eq(terms_parse(j, NULL, TERMS_MODE_PUT, &t, &e), -1);
	cr_assert_eq(e.kind, TERMS_ERR_UNKNOWN);
	cr_assert_eq(strncmp(e.field, "channels.email.x\xc3\xa9", 18), 0);
	cr_assert_lt(strlen(e.field), sizeof e.field);
	s = json_string(e.field);
	cr_assert_not_null(s, "field is not valid UTF-8: %s", e.field);
	json_decref(s);
	json_decref(j);
}

/* ---- channels ---- */

Test(terms, channels_all_five)
{
	struct terms t;

	ok("{'channels':{'email':{'allowed':true},'sms':{'allowed':true},"
	   "'push':{'allowed':true},'postal':{'allowed':true},"
	   "'phone':{'allowed':false}}}",
	   &t);
	cr_assert(t.channels[CHANNEL_EMAIL].allowed);
	cr_assert(t.channels[CHANNEL_SMS].allowed);
	cr_assert(t.channels[CHANNEL_PUSH].allowed);
	cr_assert(t.channels[CHANNEL_POSTAL].allowed);
	cr_assert(!t.channels[CHANNEL_PHONE].allowed);
}

Test(terms, channel_defaults)
{
	struct terms t;

	ok("{'channels':{'email':{}}}", &t);
	cr_assert(!t.channels[CHANNEL_EMAIL].allowed);
	cr_assert(!t.channels[CHANNEL_EMAIL].hold);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.unit, CAP_NONE);
}

Test(terms, over_cap)
{
	struct terms t;

	ok("{'channels':{'email':{'allowed':true,'over_cap':'hold'},"
	   "'sms':{'allowed':true,'over_cap':'refuse'}}}",
	   &t);
	cr_assert(t.channels[CHANNEL_EMAIL].hold);
	cr_assert(!t.channels[CHANNEL_SMS].hold);
	bad("{'channels':{'email':{'over_cap':'later'}}}", TERMS_ERR_VALUE,
	    "channels.email.over_cap");
	bad("{'channels':{'email':{'over_cap':'Hold'}}}", TERMS_ERR_VALUE,
	    "channels.email.over_cap");
	bad("{'channels':{'email':{'over_cap':true}}}", TERMS_ERR_TYPE,
	    "channels.email.over_cap");
}

Test(terms, channel_errors)
{
	bad("{'channels':['email']}", TERMS_ERR_TYPE, "channels");
	bad("{'channels':null}", TERMS_ERR_TYPE, "channels");
	bad("{'channels':{'fax':{'allowed':true}}}", TERMS_ERR_UNKNOWN,
	    "channels.fax");
	bad("{'channels':{'Email':{}}}", TERMS_ERR_UNKNOWN, "channels.Email");
	bad("{'channels':{'email':true}}", TERMS_ERR_TYPE, "channels.email");
	bad("{'channels':{'email':{'allowed':1}}}", TERMS_ERR_TYPE,
	    "channels.email.allowed");
	bad("{'channels':{'email':{'allowed':'yes'}}}", TERMS_ERR_TYPE,
	    "channels.email.allowed");
	bad("{'channels':{'email':{'allowed':true,'colour':'red'}}}",
	    TERMS_ERR_UNKNOWN, "channels.email.colour");
}

Test(terms, channel_not_asked)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a); /* email and sms */
	bad_with("{'channels':{'push':{'allowed':true}}}", &a, TERMS_MODE_PUT,
		 TERMS_ERR_VALUE, "channels.push");
	bad_with("{'channels':{'phone':{'allowed':true}}}", &a,
		 TERMS_MODE_ACCEPT, TERMS_ERR_VALUE, "channels.phone");
	cr_assert_eq(parse("{'channels':{'push':{'allowed':true}}}", &a,
			   TERMS_MODE_PUT, &t, &e),
		     -1);
	cr_assert(strstr(e.reason, "not asked") != NULL, "%s", e.reason);
	/* Asked ones are fine, and a channel not granted may be named. */
	cr_assert_eq(parse("{'channels':{'email':{'allowed':true},"
			   "'sms':{'allowed':true},"
			   "'push':{'allowed':false,"
			   "'cap':{'max':1,'per':'day'}}}}",
			   &a, TERMS_MODE_PUT, &t, &e),
		     0, "%s: %s", e.field, e.reason);
	/* A cap on a channel not granted is kept, meaningless as it is. */
	cr_assert_eq(t.channels[CHANNEL_PUSH].cap.unit, CAP_DAY);
	cr_assert_eq(t.channels[CHANNEL_PUSH].cap.max, 1);
	/* Without an ask, anything goes. */
	ok("{'channels':{'push':{'allowed':true}}}", &t);
}

/* ---- Caps ---- */

Test(terms, rolling_cap_limits)
{
	struct terms t;

	ok("{'channels':{'email':{'cap':{'max':100,'per_seconds':1}}}}", &t);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.max, 100);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.per_seconds, 1);
	ok("{'channels':{'email':{'cap':{'max':0,"
	   "'per_seconds':31622400}}}}",
	   &t);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.unit, CAP_ROLLING);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.max, 0);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.per_seconds, 31622400);
	bad("{'channels':{'email':{'cap':{'max':101,'per_seconds':60}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':{'max':-1,'per_seconds':60}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':{'max':1,'per_seconds':0}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.per_seconds");
	bad("{'channels':{'email':{'cap':{'max':1,"
	    "'per_seconds':31622401}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.per_seconds");
	bad("{'channels':{'email':{'cap':{'max':1,"
	    "'per_seconds':'60'}}}}",
	    TERMS_ERR_TYPE, "channels.email.cap.per_seconds");
	bad("{'channels':{'email':{'cap':{'max':1,"
	    "'per_seconds':60.0}}}}",
	    TERMS_ERR_TYPE, "channels.email.cap.per_seconds");
}

Test(terms, rolling_cap_reason_says_rolling)
{
	struct terms t;
	struct terms_error e;

	cr_assert_eq(parse("{'channels':{'sms':{'cap':{'max':101,"
			   "'per_seconds':60}}}}",
			   NULL, TERMS_MODE_PUT, &t, &e),
		     -1);
	cr_assert(strstr(e.reason, "100") != NULL, "%s", e.reason);
	cr_assert(strstr(e.reason, "rolling") != NULL, "%s", e.reason);
}

Test(terms, calendar_cap_limits)
{
	struct terms t;

	ok("{'channels':{'email':{'cap':{'max':10000,'per':'month'}},"
	   "'sms':{'cap':{'max':0,'per':'week'}},"
	   "'push':{'cap':{'max':101,'per':'day'}}}}",
	   &t);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.unit, CAP_MONTH);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.max, 10000);
	cr_assert_eq(t.channels[CHANNEL_EMAIL].cap.per_seconds, 0);
	cr_assert_eq(t.channels[CHANNEL_SMS].cap.unit, CAP_WEEK);
	cr_assert_eq(t.channels[CHANNEL_SMS].cap.max, 0);
	cr_assert_eq(t.channels[CHANNEL_PUSH].cap.unit, CAP_DAY);
	cr_assert_eq(t.channels[CHANNEL_PUSH].cap.max, 101);
	bad("{'channels':{'email':{'cap':{'max':10001,'per':'day'}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':{'max':5,'per':'year'}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.per");
	bad("{'channels':{'email':{'cap':{'max':5,'per':'Day'}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.per");
	bad("{'channels':{'email':{'cap':{'max':5,'per':86400}}}}",
	    TERMS_ERR_TYPE, "channels.email.cap.per");
	bad("{'channels':{'email':{'cap':{'max':99999999999999,"
	    "'per':'day'}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap.max");
}

Test(terms, cap_shape_errors)
{
	bad("{'channels':{'email':{'cap':{'max':1,'per':'day',"
	    "'per_seconds':60}}}}",
	    TERMS_ERR_VALUE, "channels.email.cap");
	bad("{'channels':{'email':{'cap':{'max':1}}}}", TERMS_ERR_VALUE,
	    "channels.email.cap");
	bad("{'channels':{'email':{'cap':{'per':'day'}}}}", TERMS_ERR_VALUE,
	    "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':{'max':'2','per':'day'}}}}",
	    TERMS_ERR_TYPE, "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':{'max':2.0,'per':'day'}}}}",
	    TERMS_ERR_TYPE, "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':{'max':null,'per':'day'}}}}",
	    TERMS_ERR_TYPE, "channels.email.cap.max");
	bad("{'channels':{'email':{'cap':[2,'day']}}}", TERMS_ERR_TYPE,
	    "channels.email.cap");
	bad("{'channels':{'email':{'cap':null}}}", TERMS_ERR_TYPE,
	    "channels.email.cap");
	/* over_cap belongs to the channel, not to its cap. */
	bad("{'channels':{'email':{'cap':{'max':1,'per':'day',"
	    "'over_cap':'hold'}}}}",
	    TERMS_ERR_UNKNOWN, "channels.email.cap.over_cap");
}

Test(terms, exempt_cap)
{
	struct terms t;

	ok("{'exempt_cap':{'max':3,'per':'week'}}", &t);
	cr_assert_eq(t.exempt_cap.unit, CAP_WEEK);
	cr_assert_eq(t.exempt_cap.max, 3);
	ok("{'exempt_cap':{'max':0,'per_seconds':3600}}", &t);
	cr_assert_eq(t.exempt_cap.unit, CAP_ROLLING);
	cr_assert_eq(t.exempt_cap.max, 0);
	cr_assert_eq(t.exempt_cap.per_seconds, 3600);
	bad("{'exempt_cap':null}", TERMS_ERR_TYPE, "exempt_cap");
	bad("{'exempt_cap':10}", TERMS_ERR_TYPE, "exempt_cap");
	bad("{'exempt_cap':{'max':101,'per_seconds':60}}", TERMS_ERR_VALUE,
	    "exempt_cap.max");
	bad("{'exempt_cap':{'max':1,'per':'fortnight'}}", TERMS_ERR_VALUE,
	    "exempt_cap.per");
	bad("{'exempt_cap':{'max':1,'per':'day','x':1}}", TERMS_ERR_UNKNOWN,
	    "exempt_cap.x");
}

/* ---- topics ---- */

Test(terms, topics_list_and_all)
{
	struct terms t;
	char name[80], text[200];

	ok("{'topics':['orders','a.b-c_D9']}", &t);
	cr_assert_eq(t.n_topics, 2);
	cr_assert_str_eq(t.topics[1], "a.b-c_D9");
	ok("{'topics':'all'}", &t);
	cr_assert(t.topics_all);
	cr_assert_eq(t.n_topics, 0);
	ok("{'topics':[]}", &t);
	cr_assert_eq(t.n_topics, 0);
	cr_assert(!t.topics_all);
	snprintf(text, sizeof text, "{'topics':['%s']}", repeat(name, 'x', 64));
	ok(text, &t);
	cr_assert_str_eq(t.topics[0], name);
	snprintf(text, sizeof text, "{'topics':['%s']}", repeat(name, 'x', 65));
	bad(text, TERMS_ERR_VALUE, "topics[0]");
}

Test(terms, topic_errors)
{
	bad("{'topics':'ALL'}", TERMS_ERR_VALUE, "topics");
	bad("{'topics':'orders'}", TERMS_ERR_VALUE, "topics");
	bad("{'topics':7}", TERMS_ERR_TYPE, "topics");
	bad("{'topics':null}", TERMS_ERR_TYPE, "topics");
	bad("{'topics':{'orders':true}}", TERMS_ERR_TYPE, "topics");
	bad("{'topics':['orders',7]}", TERMS_ERR_TYPE, "topics[1]");
	bad("{'topics':['orders','']}", TERMS_ERR_VALUE, "topics[1]");
	bad("{'topics':['a b']}", TERMS_ERR_VALUE, "topics[0]");
	bad("{'topics':['a/b']}", TERMS_ERR_VALUE, "topics[0]");
	bad("{'topics':['caf\\u00e9']}", TERMS_ERR_VALUE, "topics[0]");
	bad("{'topics':['orders','news','orders']}", TERMS_ERR_VALUE,
	    "topics[2]");
}

Test(terms, topics_limit)
{
	char text[2048], *p;
	struct terms t;

	p = text + sprintf(text, "{'topics':[");
	for (int i = 0; i < 64; i++)
		p += sprintf(p, "%s't%d'", i ? "," : "", i);
	sprintf(p, "]}");
	ok(text, &t);
	cr_assert_eq(t.n_topics, 64);
	cr_assert_str_eq(t.topics[63], "t63");
	sprintf(p, ",'t64']}");
	bad(text, TERMS_ERR_VALUE, "topics");
}

Test(terms, topics_not_asked)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a); /* orders, offers, news */
	bad_with("{'topics':['orders','promo']}", &a, TERMS_MODE_PUT,
		 TERMS_ERR_VALUE, "topics[1]");
	bad_with("{'topics':['Orders']}", &a, TERMS_MODE_ACCEPT,
		 TERMS_ERR_VALUE, "topics[0]");
	bad_with("{'topics':'all'}", &a, TERMS_MODE_PUT, TERMS_ERR_VALUE,
		 "topics");
	cr_assert_eq(parse("{'topics':['news','orders']}", &a, TERMS_MODE_PUT,
			   &t, &e),
		     0);
	cr_assert_eq(t.n_topics, 2);
}

Test(terms, topics_all_asked)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	cr_assert_eq(aparse("{'channels':['sms'],'topics':'all'}", &a, &e), 0);
	cr_assert_eq(parse("{'topics':'all'}", &a, TERMS_MODE_PUT, &t, &e), 0);
	cr_assert(t.topics_all);
	cr_assert_eq(
		parse("{'topics':['anything']}", &a, TERMS_MODE_PUT, &t, &e),
		0);
	cr_assert_eq(t.n_topics, 1);
}

/* ---- exempt_topics ---- */

Test(terms, exempt_subset_of_topics)
{
	struct terms t;

	ok("{'topics':['orders','offers'],'exempt_topics':['offers']}", &t);
	cr_assert_eq(t.n_exempt, 1);
	cr_assert_str_eq(t.exempt[0], "offers");
	bad("{'topics':['orders'],'exempt_topics':['orders','offers']}",
	    TERMS_ERR_VALUE, "exempt_topics[1]");
	bad("{'exempt_topics':['orders']}", TERMS_ERR_VALUE,
	    "exempt_topics[0]");
	/* With every topic wanted, any topic may be exempt. */
	ok("{'topics':'all','exempt_topics':['orders','security']}", &t);
	cr_assert_eq(t.n_exempt, 2);
}

Test(terms, exempt_errors)
{
	bad("{'topics':'all','exempt_topics':'all'}", TERMS_ERR_TYPE,
	    "exempt_topics");
	bad("{'topics':'all','exempt_topics':[1]}", TERMS_ERR_TYPE,
	    "exempt_topics[0]");
	bad("{'topics':'all','exempt_topics':['a b']}", TERMS_ERR_VALUE,
	    "exempt_topics[0]");
	bad("{'topics':'all','exempt_topics':['x','x']}", TERMS_ERR_VALUE,
	    "exempt_topics[1]");
}

/* ---- quiet_hours ---- */

Test(terms, quiet_hours)
{
	struct terms t;

	ok("{'quiet_hours':{'from':'00:00','to':'23:59','days':['sun','mon']}}",
	   &t);
	cr_assert_eq(t.quiet.set, 1);
	cr_assert_eq(t.quiet.from, 0);
	cr_assert_eq(t.quiet.to, 1439);
	cr_assert_eq(t.quiet.days, (1 << 6) | 1);
	ok("{'quiet_hours':{'from':'22:00','to':'07:00'}}", &t);
	cr_assert_eq(t.quiet.days, 0x7f, "omitted days mean every day");
	ok("{'quiet_hours':null}", &t);
	cr_assert_eq(t.quiet.set, 0);
}

Test(terms, impossible_quiet_hours)
{
	bad("{'quiet_hours':{'from':'22:00','to':'22:00'}}", TERMS_ERR_VALUE,
	    "quiet_hours.to");
	bad("{'quiet_hours':{'from':'24:00','to':'07:00'}}", TERMS_ERR_VALUE,
	    "quiet_hours.from");
	bad("{'quiet_hours':{'from':'22:00','to':'7:30'}}", TERMS_ERR_VALUE,
	    "quiet_hours.to");
	bad("{'quiet_hours':{'from':'22:60','to':'07:30'}}", TERMS_ERR_VALUE,
	    "quiet_hours.from");
	bad("{'quiet_hours':{'from':'22:00:00','to':'07:30'}}", TERMS_ERR_VALUE,
	    "quiet_hours.from");
	bad("{'quiet_hours':{'from':'','to':'07:30'}}", TERMS_ERR_VALUE,
	    "quiet_hours.from");
	bad("{'quiet_hours':{'to':'07:30'}}", TERMS_ERR_VALUE,
	    "quiet_hours.from");
	bad("{'quiet_hours':{'from':'07:30'}}", TERMS_ERR_VALUE,
	    "quiet_hours.to");
	bad("{'quiet_hours':{'from':1320,'to':'07:30'}}", TERMS_ERR_TYPE,
	    "quiet_hours.from");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30','days':[]}}",
	    TERMS_ERR_VALUE, "quiet_hours.days");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30',"
	    "'days':['mon','funday']}}",
	    TERMS_ERR_VALUE, "quiet_hours.days[1]");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30','days':['Mon']}}",
	    TERMS_ERR_VALUE, "quiet_hours.days[0]");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30',"
	    "'days':['mon','tue','mon']}}",
	    TERMS_ERR_VALUE, "quiet_hours.days[2]");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30','days':'mon'}}",
	    TERMS_ERR_TYPE, "quiet_hours.days");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30','days':[0]}}",
	    TERMS_ERR_TYPE, "quiet_hours.days[0]");
	bad("{'quiet_hours':{'from':'22:00','to':'07:30','tz':'UTC'}}",
	    TERMS_ERR_UNKNOWN, "quiet_hours.tz");
	bad("{'quiet_hours':'22:00-07:30'}", TERMS_ERR_TYPE, "quiet_hours");
	bad("{'quiet_hours':false}", TERMS_ERR_TYPE, "quiet_hours");
}

/* ---- folder and topic_folders ---- */

Test(terms, folder)
{
	struct terms t;
	char name[80], text[200];

	ok("{'folder':'Work stuff_2-x'}", &t);
	cr_assert_str_eq(t.folder, "Work stuff_2-x");
	ok("{'folder':'later'}", &t);
	cr_assert_str_eq(t.folder, "later");
	snprintf(text, sizeof text, "{'folder':'%s'}", repeat(name, 'f', 64));
	ok(text, &t);
	snprintf(text, sizeof text, "{'folder':'%s'}", repeat(name, 'f', 65));
	bad(text, TERMS_ERR_VALUE, "folder");
	bad("{'folder':''}", TERMS_ERR_VALUE, "folder");
	bad("{'folder':'a/b'}", TERMS_ERR_VALUE, "folder");
	bad("{'folder':'a.b'}", TERMS_ERR_VALUE, "folder");
	/* The built-ins in any case name the built-ins, spelt as such. */
	ok("{'folder':'Inbox'}", &t);
	cr_assert_str_eq(t.folder, "inbox");
	ok("{'folder':'INBOX'}", &t);
	cr_assert_str_eq(t.folder, "inbox");
	ok("{'folder':'Later'}", &t);
	cr_assert_str_eq(t.folder, "later");
	ok("{'folder':'Inboxes'}", &t);
	cr_assert_str_eq(t.folder, "Inboxes");
	bad("{'folder':7}", TERMS_ERR_TYPE, "folder");
	bad("{'folder':null}", TERMS_ERR_TYPE, "folder");
}

Test(terms, name_checks)
{
	cr_assert(terms_folder_name_ok("inbox"));
	cr_assert(terms_folder_name_ok("later"));
	cr_assert(terms_folder_name_ok("My Folder"));
	cr_assert(terms_folder_name_ok("inboxes"));
	cr_assert(terms_folder_name_ok("iNbOx"));
	cr_assert(terms_folder_name_ok("LATER"));
	cr_assert(!terms_folder_name_ok(""));
	cr_assert(!terms_folder_name_ok("a\tb"));
	cr_assert(!terms_folder_name_ok("caf\xc3\xa9"));
	cr_assert(!terms_folder_name_ok(NULL));
	cr_assert(terms_topic_name_ok("a.b-c_d"));
	cr_assert(terms_topic_name_ok("Orders"));
	cr_assert(!terms_topic_name_ok("a b"));
	cr_assert(!terms_topic_name_ok(""));
	cr_assert(!terms_topic_name_ok(NULL));
}

Test(terms, topic_folders)
{
	struct terms t;

	ok("{'topics':['orders','offers'],"
	   "'topic_folders':{'offers':'later','orders':'Shop'}}",
	   &t);
	cr_assert_eq(t.n_topic_folders, 2);
	cr_assert_str_eq(t.topic_folders[0].topic, "offers");
	cr_assert_str_eq(t.topic_folders[0].folder, "later");
	cr_assert_str_eq(t.topic_folders[1].topic, "orders");
	cr_assert_str_eq(t.topic_folders[1].folder, "Shop");
	ok("{'topics':'all','topic_folders':{'anything':'inbox'}}", &t);
	cr_assert_eq(t.n_topic_folders, 1);
}

Test(terms, topic_folders_errors)
{
	char text[2048], *p;

	bad("{'topics':['orders'],'topic_folders':{'promo':'later'}}",
	    TERMS_ERR_VALUE, "topic_folders.promo");
	bad("{'topic_folders':{'orders':'later'}}", TERMS_ERR_VALUE,
	    "topic_folders.orders");
	bad("{'topics':'all','topic_folders':{'orders':'a/b'}}",
	    TERMS_ERR_VALUE, "topic_folders.orders");
	bad("{'topics':'all','topic_folders':{'orders':'In/box'}}",
	    TERMS_ERR_VALUE, "topic_folders.orders");
	bad("{'topics':'all','topic_folders':{'a b':'later'}}", TERMS_ERR_VALUE,
	    "topic_folders.a b");
	bad("{'topics':'all','topic_folders':{'orders':3}}", TERMS_ERR_TYPE,
	    "topic_folders.orders");
	bad("{'topics':'all','topic_folders':[['orders','later']]}",
	    TERMS_ERR_TYPE, "topic_folders");
	p = text + sprintf(text, "{'topics':'all','topic_folders':{");
	for (int i = 0; i < 17; i++)
		p += sprintf(p, "%s't%d':'f'", i ? "," : "", i);
	sprintf(p, "}}");
	bad(text, TERMS_ERR_VALUE, "topic_folders");
}

Test(terms, topic_folders_sixteen)
{
	char text[2048], *p;
	struct terms t;

	p = text + sprintf(text, "{'topics':'all','topic_folders':{");
	for (int i = 0; i < 16; i++)
		p += sprintf(p, "%s't%d':'f%d'", i ? "," : "", i, i);
	sprintf(p, "}}");
	ok(text, &t);
	cr_assert_eq(t.n_topic_folders, 16);
	cr_assert_str_eq(t.topic_folders[15].folder, "f15");
}

/* ---- fields ---- */

Test(terms, fields)
{
	struct terms t;
	char name[80], text[200];

	ok("{'fields':['name','email','postal_address2']}", &t);
	cr_assert_eq(t.n_fields, 3);
	cr_assert_str_eq(t.fields[2], "postal_address2");
	snprintf(text, sizeof text, "{'fields':['%s']}", repeat(name, 'f', 32));
	ok(text, &t);
	cr_assert_str_eq(t.fields[0], name);
	snprintf(text, sizeof text, "{'fields':['%s']}", repeat(name, 'f', 33));
	bad(text, TERMS_ERR_VALUE, "fields[0]");
	bad("{'fields':['Name']}", TERMS_ERR_VALUE, "fields[0]");
	bad("{'fields':['1name']}", TERMS_ERR_VALUE, "fields[0]");
	bad("{'fields':['_x']}", TERMS_ERR_VALUE, "fields[0]");
	bad("{'fields':['a-b']}", TERMS_ERR_VALUE, "fields[0]");
	bad("{'fields':['']}", TERMS_ERR_VALUE, "fields[0]");
	bad("{'fields':['name','name']}", TERMS_ERR_VALUE, "fields[1]");
	bad("{'fields':'name'}", TERMS_ERR_TYPE, "fields");
	bad("{'fields':[null]}", TERMS_ERR_TYPE, "fields[0]");
}

Test(terms, fields_limit)
{
	char text[2048], *p;
	struct terms t;

	p = text + sprintf(text, "{'fields':[");
	for (int i = 0; i < 32; i++)
		p += sprintf(p, "%s'f%d'", i ? "," : "", i);
	sprintf(p, "]}");
	ok(text, &t);
	cr_assert_eq(t.n_fields, 32);
	sprintf(p, ",'f32']}");
	bad(text, TERMS_ERR_VALUE, "fields");
}

Test(terms, fields_not_asked)
{
	struct terms_ask a;
	struct terms t;
	struct terms_error e;

	example_ask(&a); /* name, email, phone */
	bad_with("{'fields':['name','birthday']}", &a, TERMS_MODE_PUT,
		 TERMS_ERR_VALUE, "fields[1]");
	bad_with("{'fields':['birthday']}", &a, TERMS_MODE_ACCEPT,
		 TERMS_ERR_VALUE, "fields[0]");
	cr_assert_eq(parse("{'fields':['phone']}", &a, TERMS_MODE_PUT, &t, &e),
		     0);
	cr_assert_eq(t.n_fields, 1);
}

/* ---- agreement ---- */

Test(terms, agreement_roster)
{
	static const char *const want[] = {
		"SD-BASE",     "SD-BASE-A",  "SD-BASE-AT", "SD-BASE-ATP",
		"SD-BASE-S3P", "SD-BASE-DP", "PDC-INTENT",
	};
	int i;

	for (i = 0; terms_agreements[i] != NULL; i++) {
		char text[100];
		struct terms t;

		cr_assert_lt(i, 7);
		cr_assert_str_eq(terms_agreements[i], want[i]);
		snprintf(text, sizeof text, "{'agreement':'%s'}", want[i]);
		ok(text, &t);
		cr_assert_str_eq(t.agreement, want[i]);
	}
	cr_assert_eq(i, 7);
}

Test(terms, agreement_errors)
{
	bad("{'agreement':'SD-BASE-X'}", TERMS_ERR_VALUE, "agreement");
	bad("{'agreement':'sd-base'}", TERMS_ERR_VALUE, "agreement");
	bad("{'agreement':''}", TERMS_ERR_VALUE, "agreement");
	bad("{'agreement':1}", TERMS_ERR_TYPE, "agreement");
	bad("{'agreement':null}", TERMS_ERR_TYPE, "agreement");
}

/* ---- expires_at ---- */

static cmr_time expiry(const char *value)
{
	char text[200];
	struct terms t;

	snprintf(text, sizeof text, "{'expires_at':'%s'}", value);
	ok(text, &t);
	return t.expires_at;
}

Test(terms, expires_at_forms)
{
	struct terms t;

	cr_assert_eq(expiry("2027-01-01T00:00:00Z"), 1798761600);
	cr_assert_eq(expiry("2027-01-01t00:00:00z"), 1798761600);
	cr_assert_eq(expiry("2027-01-01T00:00:00.999999Z"), 1798761600);
	cr_assert_eq(expiry("2027-01-01T02:00:00+02:00"), 1798761600);
	cr_assert_eq(expiry("2026-12-31T18:30:00-05:30"), 1798761600);
	cr_assert_eq(expiry("2027-01-01T05:30:00.5-00:00"), 1798781400);
	cr_assert_eq(expiry("2028-02-29T12:00:00Z"), 1835438400);
	cr_assert_eq(expiry("1970-01-01T00:00:01Z"), 1);
	cr_assert_eq(expiry("9999-12-31T23:59:59Z"), 253402300799LL);
	ok("{'expires_at':null}", &t);
	cr_assert_eq(t.expires_at, 0);
}

Test(terms, expires_at_errors)
{
	static const char *const wrong[] = {
		"2027-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2027-04-31T00:00:00Z",
		"2027-13-01T00:00:00Z",
		"2027-00-01T00:00:00Z",
		"2027-01-00T00:00:00Z",
		"2027-01-01",
		"2027-01-01T24:00:00Z",
		"2027-01-01T23:60:00Z",
		"2027-01-01T23:59:60Z",
		"2027-01-01T00:00:00",
		"2027-01-01T00:00:00.Z",
		"2027-01-01T00:00:00+0200",
		"2027-01-01T00:00:00+24:00",
		"2027-01-01T00:00:00+02:60",
		"2027-01-01 00:00:00Z",
		"2027-1-01T00:00:00Z",
		"2027-01-01T00:00:00ZZ",
		"+2027-01-01T00:00:00Z",
		"",
		"1970-01-01T00:00:00Z",
		"1969-12-31T23:59:59Z",
		"1970-01-01T00:30:00+01:00",
		"9999-12-31T23:59:59-00:01",
		"tomorrow",
	};

	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		char text[200];

		snprintf(text, sizeof text, "{'expires_at':'%s'}", wrong[i]);
		bad(text, TERMS_ERR_VALUE, "expires_at");
	}
	bad("{'expires_at':1798761600}", TERMS_ERR_TYPE, "expires_at");
	bad("{'expires_at':false}", TERMS_ERR_TYPE, "expires_at");
}

/* ---- Writing JSON and the round trip ---- */

Test(terms, to_json_is_canonical)
{
	struct terms t;
	json_t *j, *ch, *e;
	const char *key;
	json_t *v;
	int n = 0;

	terms_default(&t);
	j = terms_to_json(&t);
	cr_assert_not_null(j);
	json_object_foreach (j, key, v)
		n++;
	cr_assert_eq(n, 10, "every key present");
	ch = json_object_get(j, "channels");
	cr_assert_eq(json_object_size(ch), CHANNEL_COUNT);
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		e = json_object_get(ch, channel_name((enum channel)c));
		cr_assert_not_null(e);
		cr_assert(json_is_false(json_object_get(e, "allowed")));
		cr_assert_null(json_object_get(e, "cap"));
		cr_assert_str_eq(
			json_string_value(json_object_get(e, "over_cap")),
			"refuse");
	}
	cr_assert_eq(json_array_size(json_object_get(j, "topics")), 0);
	cr_assert(json_is_array(json_object_get(j, "exempt_topics")));
	cr_assert_eq(json_integer_value(json_object_get(
			     json_object_get(j, "exempt_cap"), "max")),
		     10);
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(j, "exempt_cap"), "per")),
			 "day");
	cr_assert(json_is_null(json_object_get(j, "quiet_hours")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "folder")),
			 "inbox");
	cr_assert_eq(json_object_size(json_object_get(j, "topic_folders")), 0);
	cr_assert_eq(json_array_size(json_object_get(j, "fields")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(j, "agreement")),
			 "SD-BASE");
	cr_assert(json_is_null(json_object_get(j, "expires_at")));
	json_decref(j);
}

Test(terms, to_json_values)
{
	struct terms t;
	json_t *j, *q, *email;
	char *dump;

	ok("{'channels':{'email':{'allowed':true,'over_cap':'hold',"
	   "'cap':{'max':5,'per':'week'}}},"
	   "'topics':'all',"
	   "'quiet_hours':{'from':'21:05','to':'06:00',"
	   "'days':['sun','wed','mon']},"
	   "'expires_at':'2027-01-01T02:00:00.25+02:00'}",
	   &t);
	j = terms_to_json(&t);
	cr_assert_not_null(j);
	cr_assert_str_eq(json_string_value(json_object_get(j, "topics")),
			 "all");
	cr_assert_str_eq(json_string_value(json_object_get(j, "expires_at")),
			 "2027-01-01T00:00:00Z");
	q = json_object_get(j, "quiet_hours");
	dump = json_dumps(q, JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_str_eq(dump, "{\"days\":[\"mon\",\"wed\",\"sun\"],"
			       "\"from\":\"21:05\",\"to\":\"06:00\"}");
	free(dump);
	email = json_object_get(json_object_get(j, "channels"), "email");
	dump = json_dumps(email, JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_str_eq(dump, "{\"allowed\":true,\"cap\":{\"max\":5,"
			       "\"per\":\"week\"},\"over_cap\":\"hold\"}");
	free(dump);
	json_decref(j);
}

Test(terms, round_trip_default)
{
	struct terms t;

	terms_default(&t);
	round_trip(&t);
}

Test(terms, round_trip_design_example)
{
	struct terms t;

	ok(design_example, &t);
	round_trip(&t);
}

Test(terms, round_trip_everything)
{
	struct terms t;

	ok("{'channels':{'email':{'allowed':true,"
	   "'cap':{'max':2,'per_seconds':604800},'over_cap':'hold'},"
	   "'sms':{'allowed':true,'cap':{'max':0,'per':'day'}},"
	   "'push':{'allowed':false,'cap':{'max':3,'per':'week'},"
	   "'over_cap':'hold'},"
	   "'postal':{'allowed':true,'cap':{'max':10000,'per':'month'}},"
	   "'phone':{'over_cap':'hold'}},"
	   "'topics':['orders','offers','news'],"
	   "'exempt_topics':['news','orders'],"
	   "'exempt_cap':{'max':100,'per_seconds':31622400},"
	   "'quiet_hours':{'from':'07:30','to':'22:00','days':['fri','sat']},"
	   "'folder':'Shopping',"
	   "'topic_folders':{'offers':'later','news':'Reading list'},"
	   "'fields':['name','email','birthday'],"
	   "'agreement':'SD-BASE-DP',"
	   "'expires_at':'2030-06-15T13:14:15Z'}",
	   &t);
	round_trip(&t);
	ok("{'topics':'all','exempt_topics':['x'],"
	   "'topic_folders':{'y':'inbox'},'expires_at':'1970-01-01T00:00:01Z'}",
	   &t);
	round_trip(&t);
}

/* Allocation that fails on the n-th call, counting what is live: every
 * out-of-memory path of *_to_json must return NULL having freed all it
 * made. */
static int alloc_left, alloc_live;

static void *failing_malloc(size_t n)
{
	void *p;

	if (alloc_left-- <= 0)
		return NULL;
	p = malloc(n);
	if (p != NULL)
		alloc_live++;
	return p;
}

static void counting_free(void *p)
{
	if (p != NULL)
		alloc_live--;
	free(p);
}

Test(terms, to_json_out_of_memory)
{
	struct terms t;
	struct global_terms g;
	json_t *j;
	int n, fails = 0;

	ok(design_example, &t);
	cr_assert_eq(gparse("{'do_not_contact':['sms'],'caps':{'email':"
			    "{'max':1,'per':'day'}},'quiet_hours':"
			    "{'from':'01:00','to':'02:00'}}",
			    &g, NULL),
		     0);
	json_set_alloc_funcs(failing_malloc, counting_free);
	for (n = 0;; n++) {
		alloc_left = n;
		alloc_live = 0;
		j = terms_to_json(&t);
		if (j != NULL)
			break;
		cr_assert_eq(alloc_live, 0, "leak when allocation %d fails", n);
		fails++;
	}
	json_set_alloc_funcs(malloc, free);
	cr_assert_gt(fails, 20, "every allocation was tried failing");
	round_trip(&t);
	json_decref(j);

	json_set_alloc_funcs(failing_malloc, counting_free);
	for (n = 0, fails = 0;; n++) {
		alloc_left = n;
		alloc_live = 0;
		j = global_terms_to_json(&g);
		if (j != NULL)
			break;
		cr_assert_eq(alloc_live, 0, "leak when allocation %d fails", n);
		fails++;
	}
	json_set_alloc_funcs(malloc, free);
	cr_assert_gt(fails, 5);
	json_decref(j);
}

/* ---- Tables ---- */

Test(tables, folder_table_init)
{
	struct folder_table f;

	memset(&f, 0xaa, sizeof f);
	folder_table_init(&f);
	cr_assert_eq(f.n, 2);
	cr_assert_str_eq(f.names[FOLDER_INBOX], "inbox");
	cr_assert_str_eq(f.names[FOLDER_LATER], "later");
	cr_assert_eq(folder_table_intern(&f, "inbox"), FOLDER_INBOX);
	cr_assert_eq(folder_table_intern(&f, "later"), FOLDER_LATER);
	cr_assert_eq(folder_table_intern(&f, "Work"), 2);
	cr_assert_eq(folder_table_intern(&f, "Work"), 2);
	cr_assert_eq(f.n, 3);
}

/* One folder whatever its case, kept in its first spelling; the built-ins
 * in any case. */
Test(tables, folder_names_without_case)
{
	struct folder_table f;

	folder_table_init(&f);
	cr_assert_eq(folder_table_intern(&f, "Receipts"), 2);
	cr_assert_eq(folder_table_intern(&f, "receipts"), 2);
	cr_assert_eq(folder_table_intern(&f, "RECEIPTS"), 2);
	cr_assert_str_eq(f.names[2], "Receipts");
	cr_assert_eq(folder_table_intern(&f, "Inbox"), FOLDER_INBOX);
	cr_assert_eq(folder_table_intern(&f, "LATER"), FOLDER_LATER);
	cr_assert_eq(folder_table_intern(&f, "Receipts 2"), 3);
	cr_assert_eq(f.n, 4);
	cr_assert_eq(folder_table_find(&f, "rEcEiPtS"), 2);
	cr_assert_eq(folder_table_find(&f, "iNbOx"), FOLDER_INBOX);
	cr_assert_eq(folder_table_find(&f, "Receipt"), -1);
	cr_assert_eq(folder_table_find(&f, "Receipts2"), -1);
	cr_assert_eq(f.n, 4);
	cr_assert(terms_folder_same("Work", "wORK"));
	cr_assert(terms_folder_same("a b_-9", "A B_-9"));
	cr_assert(!terms_folder_same("Work", "Works"));
	cr_assert(!terms_folder_same("Work", "Wor"));
	cr_assert(!terms_folder_same("a_b", "a-b"));
}

/* A stored list loads positionally, even names that a store made before
 * names were compared without case: ids stay where the messages are. */
Test(tables, folder_table_load_keeps_places)
{
	struct folder_table f;

	folder_table_init(&f);
	cr_assert_eq(folder_table_load(&f, "Work"), 2);
	cr_assert_eq(folder_table_load(&f, "work"), 3);
	cr_assert_eq(folder_table_load(&f, "Home"), 4);
	cr_assert_eq(folder_table_find(&f, "WORK"), 2);
	cr_assert_eq(folder_table_intern(&f, "home"), 4);
	cr_assert_eq(folder_table_load(&f, ""), -1);
	cr_assert_eq(f.n, 5);
	while (f.n < TERMS_MAX_FOLDERS)
		folder_table_load(&f, "x");
	cr_assert_eq(folder_table_load(&f, "y"), -1);
	cr_assert_eq(folder_table_intern(&f, "y"), -1);
	cr_assert_eq(folder_table_intern(&f, "HOME"), 4);
}

/* Terms name folders in the spelling the person's table holds. */
Test(tables, terms_folders_respell)
{
	struct folder_table f;
	struct terms t;

	folder_table_init(&f);
	folder_table_intern(&f, "Receipts");
	ok("{'topics':'all','folder':'RECEIPTS','topic_folders':"
	   "{'orders':'receipts','news':'Later','promo':'New one'}}",
	   &t);
	cr_assert_str_eq(t.topic_folders[1].folder, "later");
	terms_folders_respell(&t, &f);
	cr_assert_str_eq(t.folder, "Receipts");
	for (int i = 0; i < t.n_topic_folders; i++)
		if (strcmp(t.topic_folders[i].topic, "orders") == 0)
			cr_assert_str_eq(t.topic_folders[i].folder, "Receipts");
		else if (strcmp(t.topic_folders[i].topic, "promo") == 0)
			cr_assert_str_eq(t.topic_folders[i].folder, "New one");
}

Test(tables, topic_table)
{
	struct topic_table t = { 0 };
	char name[80];

	cr_assert_eq(topic_table_find(&t, "orders"), -1);
	cr_assert_eq(topic_table_intern(&t, "orders"), 0);
	cr_assert_eq(topic_table_intern(&t, "offers"), 1);
	cr_assert_eq(topic_table_intern(&t, "orders"), 0);
	cr_assert_eq(topic_table_find(&t, "offers"), 1);
	cr_assert_eq(topic_table_find(&t, "news"), -1);
	cr_assert_eq(t.n, 2, "find does not add");
	cr_assert_eq(topic_table_intern(&t, ""), -1);
	cr_assert_eq(topic_table_intern(&t, repeat(name, 'x', 65)), -1);
	cr_assert_eq(topic_table_intern(&t, repeat(name, 'x', 64)), 2);
	for (int i = 3; i < TERMS_MAX_TOPICS; i++) {
		char s[16];

		snprintf(s, sizeof s, "t%d", i);
		cr_assert_eq(topic_table_intern(&t, s), i);
	}
	cr_assert_eq(topic_table_intern(&t, "one-too-many"), -1);
	cr_assert_eq(topic_table_intern(&t, "orders"), 0, "still found");
	cr_assert_eq(t.n, TERMS_MAX_TOPICS);
}

Test(tables, folder_table_full)
{
	struct folder_table f;

	folder_table_init(&f);
	for (int i = 2; i < TERMS_MAX_FOLDERS; i++) {
		char s[16];

		snprintf(s, sizeof s, "f%d", i);
		cr_assert_eq(folder_table_intern(&f, s), i);
	}
	cr_assert_eq(folder_table_intern(&f, "extra"), -1);
	cr_assert_eq(folder_table_intern(&f, "f253"), 253);
}

/* ---- Compiling ---- */

Test(compile, design_example)
{
	struct terms t;
	struct topic_table topics = { 0 };
	struct folder_table folders;
	struct terms_compiled c;
	struct terms_error e;

	folder_table_init(&folders);
	ok("{'channels':{"
	   "'email':{'allowed':true,'cap':{'max':2,'per_seconds':604800}},"
	   "'sms':{'allowed':false,'over_cap':'hold'},"
	   "'push':{'allowed':true,'over_cap':'hold',"
	   "'cap':{'max':4,'per':'month'}}},"
	   "'topics':['orders','offers'],'exempt_topics':['orders'],"
	   "'exempt_cap':{'max':7,'per':'week'},"
	   "'quiet_hours':{'from':'22:00','to':'07:30','days':['sat']},"
	   "'topic_folders':{'offers':'later'},"
	   "'expires_at':'2027-01-01T00:00:00Z'}",
	   &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), 0);
	cr_assert_eq(topics.n, 2);
	cr_assert_str_eq(topics.names[0], "orders");
	cr_assert_str_eq(topics.names[1], "offers");
	cr_assert_eq(c.topics, 0x3);
	cr_assert_eq(c.exempt, 0x1);
	cr_assert_eq(c.topics_all, 0);
	cr_assert_eq(c.channels, (1 << CHANNEL_EMAIL) | (1 << CHANNEL_PUSH));
	cr_assert_eq(c.hold, (1 << CHANNEL_SMS) | (1 << CHANNEL_PUSH));
	cr_assert_eq(c.cap[CHANNEL_EMAIL].unit, CAP_ROLLING);
	cr_assert_eq(c.cap[CHANNEL_EMAIL].max, 2);
	cr_assert_eq(c.cap[CHANNEL_EMAIL].per_seconds, 604800);
	cr_assert_eq(c.cap[CHANNEL_PUSH].unit, CAP_MONTH);
	cr_assert_eq(c.cap[CHANNEL_PUSH].max, 4);
	cr_assert_eq(c.cap[CHANNEL_SMS].unit, CAP_NONE);
	cr_assert_eq(c.exempt_cap.unit, CAP_WEEK);
	cr_assert_eq(c.exempt_cap.max, 7);
	assert_quiet_equal(&c.quiet, &t.quiet);
	cr_assert_eq(c.quiet.days, 1 << 5);
	cr_assert_eq(c.expires_at, 1798761600);
	cr_assert_eq(c.folder, FOLDER_INBOX);
	cr_assert_eq(c.n_topic_folders, 1);
	cr_assert_eq(c.topic_folders[0].topic, 1);
	cr_assert_eq(c.topic_folders[0].folder, FOLDER_LATER);
	cr_assert_eq(folders.n, 2, "built-ins are not added again");
}

Test(compile, indices_are_stable)
{
	struct terms t;
	struct topic_table topics = { 0 };
	struct folder_table folders;
	struct terms_compiled c;
	struct terms_error e;

	folder_table_init(&folders);
	ok("{'topics':['a','b'],'folder':'Shops'}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), 0);
	cr_assert_eq(c.topics, 0x3);
	cr_assert_eq(c.folder, 2);
	/* New terms: b stays 1, a stays 0 though no longer wanted, c is 2. */
	ok("{'topics':['c','b'],'exempt_topics':['c'],'folder':'News',"
	   "'topic_folders':{'b':'Shops'}}",
	   &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), 0);
	cr_assert_eq(topics.n, 3);
	cr_assert_str_eq(topics.names[2], "c");
	cr_assert_eq(c.topics, 0x6);
	cr_assert_eq(c.exempt, 0x4);
	cr_assert_eq(c.folder, 3);
	cr_assert_eq(c.topic_folders[0].topic, 1);
	cr_assert_eq(c.topic_folders[0].folder, 2);
	cr_assert_eq(folders.n, 4);
}

Test(compile, topics_all)
{
	struct terms t;
	struct topic_table topics = { 0 };
	struct folder_table folders;
	struct terms_compiled c;
	struct terms_error e;

	folder_table_init(&folders);
	ok("{'topics':'all','exempt_topics':['security'],"
	   "'topic_folders':{'offers':'Deals'}}",
	   &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), 0);
	cr_assert_eq(c.topics_all, 1);
	cr_assert_eq(c.topics, 0);
	cr_assert_eq(topics.n, 2);
	cr_assert_eq(topic_table_find(&topics, "security"), 0);
	cr_assert_eq(topic_table_find(&topics, "offers"), 1);
	cr_assert_eq(c.exempt, 0x1);
	cr_assert_eq(c.topic_folders[0].topic, 1);
	cr_assert_eq(c.topic_folders[0].folder, 2);
	cr_assert_str_eq(folders.names[2], "Deals");
}

Test(compile, topic_table_full_changes_nothing)
{
	struct terms t;
	struct topic_table topics = { 0 };
	struct folder_table folders;
	struct terms_compiled c;
	struct terms_error e;

	folder_table_init(&folders);
	for (int i = 0; i < TERMS_MAX_TOPICS - 1; i++) {
		char s[16];

		snprintf(s, sizeof s, "old%d", i);
		topic_table_intern(&topics, s);
	}
	ok("{'topics':['old0','new1','new2'],'folder':'Mine'}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), -1);
	cr_assert_eq(e.kind, TERMS_ERR_VALUE);
	cr_assert_str_eq(e.field, "topics[2]");
	cr_assert_eq(topics.n, TERMS_MAX_TOPICS - 1, "new1 not kept");
	cr_assert_eq(folders.n, 2, "Mine not kept");
	/* One new topic still fits, and may land in bit 63. */
	ok("{'topics':['old0','new1'],'exempt_topics':['new1']}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), 0);
	cr_assert_eq(c.topics, 1 | (UINT64_C(1) << 63));
	cr_assert_eq(c.exempt, UINT64_C(1) << 63);
}

Test(compile, exempt_and_topic_folder_overflow)
{
	struct terms t;
	struct topic_table topics = { 0 };
	struct folder_table folders;
	struct terms_compiled c;
	struct terms_error e;

	folder_table_init(&folders);
	for (int i = 0; i < TERMS_MAX_TOPICS; i++) {
		char s[16];

		snprintf(s, sizeof s, "old%d", i);
		topic_table_intern(&topics, s);
	}
	ok("{'topics':'all','exempt_topics':['new']}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), -1);
	cr_assert_str_eq(e.field, "exempt_topics[0]");
	ok("{'topics':'all','topic_folders':{'new':'later'}}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), -1);
	cr_assert_str_eq(e.field, "topic_folders.new");
}

Test(compile, folder_table_full)
{
	struct terms t;
	struct topic_table topics = { 0 };
	struct folder_table folders;
	struct terms_compiled c;
	struct terms_error e;

	folder_table_init(&folders);
	for (int i = 2; i < TERMS_MAX_FOLDERS; i++) {
		char s[16];

		snprintf(s, sizeof s, "f%d", i);
		folder_table_intern(&folders, s);
	}
	ok("{'topics':['a'],'folder':'One more'}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), -1);
	cr_assert_eq(e.kind, TERMS_ERR_VALUE);
	cr_assert_str_eq(e.field, "folder");
	cr_assert_eq(topics.n, 0, "a not kept");
	ok("{'topics':['a'],'topic_folders':{'a':'One more'}}", &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), -1);
	cr_assert_str_eq(e.field, "topic_folders.a");
	ok("{'topics':['a'],'folder':'f253','topic_folders':{'a':'later'}}",
	   &t);
	cr_assert_eq(terms_compile(&t, &topics, &folders, &c, &e), 0);
	cr_assert_eq(c.folder, 253);
}

/* ---- Global terms ---- */

Test(global, defaults)
{
	struct global_terms g, d;

	gok("{}", &g);
	cr_assert_str_eq(g.time_zone, "UTC");
	cr_assert_eq(g.do_not_contact, 0);
	cr_assert_eq(g.quiet.set, 0);
	for (int c = 0; c < CHANNEL_COUNT; c++) {
		cr_assert_eq(g.caps[c].cap.unit, CAP_NONE);
		cr_assert(!g.caps[c].hold);
	}
	cr_assert_eq(g.later_retention_days, 30);
	cr_assert(!g.silent);
	global_terms_default(&d);
	cr_assert_eq(memcmp(&g, &d, sizeof g), 0);
}

Test(global, design_example)
{
	struct global_terms g;

	gok("{'time_zone':'Europe/Berlin','do_not_contact':['phone'],"
	    "'quiet_hours':{'from':'21:00','to':'08:00'},"
	    "'caps':{'email':{'max':10,'per':'day','over_cap':'refuse'}},"
	    "'later_retention_days':30,'refusal':'reject'}",
	    &g);
	cr_assert_str_eq(g.time_zone, "Europe/Berlin");
	cr_assert_eq(g.do_not_contact, 1 << CHANNEL_PHONE);
	cr_assert_eq(g.quiet.set, 1);
	cr_assert_eq(g.quiet.from, 21 * 60);
	cr_assert_eq(g.quiet.days, 0x7f);
	cr_assert_eq(g.caps[CHANNEL_EMAIL].cap.unit, CAP_DAY);
	cr_assert_eq(g.caps[CHANNEL_EMAIL].cap.max, 10);
	cr_assert(!g.caps[CHANNEL_EMAIL].hold);
	cr_assert_eq(g.caps[CHANNEL_SMS].cap.unit, CAP_NONE);
	cr_assert_eq(g.later_retention_days, 30);
	cr_assert(!g.silent);
}

Test(global, values)
{
	struct global_terms g;

	gok("{'do_not_contact':['sms','postal','email'],"
	    "'caps':{'push':{'max':100,'per_seconds':3600,'over_cap':'hold'},"
	    "'sms':{'max':0,'per':'week'}},"
	    "'later_retention_days':3650,'refusal':'silent',"
	    "'quiet_hours':null}",
	    &g);
	cr_assert_eq(g.do_not_contact, (1 << CHANNEL_SMS) |
					       (1 << CHANNEL_POSTAL) |
					       (1 << CHANNEL_EMAIL));
	cr_assert_eq(g.caps[CHANNEL_PUSH].cap.unit, CAP_ROLLING);
	cr_assert(g.caps[CHANNEL_PUSH].hold);
	cr_assert_eq(g.caps[CHANNEL_SMS].cap.unit, CAP_WEEK);
	cr_assert(!g.caps[CHANNEL_SMS].hold, "over_cap defaults to refuse");
	cr_assert_eq(g.later_retention_days, 3650);
	cr_assert(g.silent);
	gok("{'later_retention_days':1,'do_not_contact':[]}", &g);
	cr_assert_eq(g.later_retention_days, 1);
}

Test(global, time_zone)
{
	struct global_terms g;
	char name[80], text[200];

	gok("{'time_zone':'America/Argentina/Buenos_Aires'}", &g);
	cr_assert_str_eq(g.time_zone, "America/Argentina/Buenos_Aires");
	gok("{'time_zone':'Etc/GMT+5'}", &g);
	gok("{'time_zone':'America/Port-au-Prince'}", &g);
	snprintf(text, sizeof text, "{'time_zone':'%s'}",
		 repeat(name, 'Z', 63));
	gok(text, &g);
	cr_assert_str_eq(g.time_zone, name);
	snprintf(text, sizeof text, "{'time_zone':'%s'}",
		 repeat(name, 'Z', 64));
	gbad(text, TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':''}", TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':'/etc/passwd'}", TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':'Europe/../../etc'}", TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':'Europe//Berlin'}", TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':'Europe/'}", TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':'Europe Berlin'}", TERMS_ERR_VALUE, "time_zone");
	gbad("{'time_zone':null}", TERMS_ERR_TYPE, "time_zone");
	gbad("{'time_zone':1}", TERMS_ERR_TYPE, "time_zone");
}

Test(global, errors)
{
	gbad("[]", TERMS_ERR_TYPE, "");
	gbad("{'timezone':'UTC'}", TERMS_ERR_UNKNOWN, "timezone");
	gbad("{'do_not_contact':'phone'}", TERMS_ERR_TYPE, "do_not_contact");
	gbad("{'do_not_contact':[1]}", TERMS_ERR_TYPE, "do_not_contact[0]");
	gbad("{'do_not_contact':['fax']}", TERMS_ERR_VALUE,
	     "do_not_contact[0]");
	gbad("{'do_not_contact':['sms','sms']}", TERMS_ERR_VALUE,
	     "do_not_contact[1]");
	gbad("{'quiet_hours':{'from':'01:00','to':'01:00'}}", TERMS_ERR_VALUE,
	     "quiet_hours.to");
	gbad("{'quiet_hours':{'from':'01:00','to':'02:00','x':1}}",
	     TERMS_ERR_UNKNOWN, "quiet_hours.x");
	gbad("{'caps':[]}", TERMS_ERR_TYPE, "caps");
	gbad("{'caps':{'fax':{'max':1,'per':'day'}}}", TERMS_ERR_UNKNOWN,
	     "caps.fax");
	gbad("{'caps':{'email':5}}", TERMS_ERR_TYPE, "caps.email");
	gbad("{'caps':{'email':{'max':1,'per':'day','colour':1}}}",
	     TERMS_ERR_UNKNOWN, "caps.email.colour");
	gbad("{'caps':{'email':{'max':101,'per_seconds':60}}}", TERMS_ERR_VALUE,
	     "caps.email.max");
	gbad("{'caps':{'email':{'max':10001,'per':'day'}}}", TERMS_ERR_VALUE,
	     "caps.email.max");
	gbad("{'caps':{'email':{'max':1,'per':'year'}}}", TERMS_ERR_VALUE,
	     "caps.email.per");
	gbad("{'caps':{'email':{'max':1}}}", TERMS_ERR_VALUE, "caps.email");
	gbad("{'caps':{'email':{'max':1,'per':'day','over_cap':'drop'}}}",
	     TERMS_ERR_VALUE, "caps.email.over_cap");
	gbad("{'caps':{'email':{'allowed':true,'max':1,'per':'day'}}}",
	     TERMS_ERR_UNKNOWN, "caps.email.allowed");
	gbad("{'later_retention_days':0}", TERMS_ERR_VALUE,
	     "later_retention_days");
	gbad("{'later_retention_days':3651}", TERMS_ERR_VALUE,
	     "later_retention_days");
	gbad("{'later_retention_days':'30'}", TERMS_ERR_TYPE,
	     "later_retention_days");
	gbad("{'refusal':'bounce'}", TERMS_ERR_VALUE, "refusal");
	gbad("{'refusal':true}", TERMS_ERR_TYPE, "refusal");
	gbad("{'refusal':'bounce','caps':{'x':{}}}", TERMS_ERR_UNKNOWN,
	     "caps.x");
}

Test(global, round_trip)
{
	struct global_terms g, back;
	struct terms_error e;
	json_t *j;
	char *dump;

	gok("{'time_zone':'Europe/Berlin','do_not_contact':['phone','sms'],"
	    "'quiet_hours':{'from':'23:00','to':'06:15','days':['mon']},"
	    "'caps':{'email':{'max':10,'per':'day','over_cap':'hold'},"
	    "'push':{'max':3,'per_seconds':600}},"
	    "'later_retention_days':7,'refusal':'silent'}",
	    &g);
	j = global_terms_to_json(&g);
	cr_assert_not_null(j);
	dump = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_str_eq(
		dump,
		"{\"caps\":{\"email\":{\"max\":10,\"over_cap\":\"hold\","
		"\"per\":\"day\"},\"push\":{\"max\":3,\"over_cap\":\"refuse\","
		"\"per_seconds\":600}},\"do_not_contact\":[\"sms\",\"phone\"],"
		"\"later_retention_days\":7,\"person_made_terms\":null,"
		"\"quiet_hours\":{\"days\":[\"mon\"],\"from\":\"23:00\","
		"\"to\":\"06:15\"},\"refusal\":\"silent\","
		"\"time_zone\":\"Europe/Berlin\"}");
	free(dump);
	cr_assert_eq(global_terms_parse(j, &back, &e), 0, "%s: %s", e.field,
		     e.reason);
	cr_assert_eq(memcmp(&g, &back, sizeof g), 0);
	json_decref(j);

	global_terms_default(&g);
	j = global_terms_to_json(&g);
	dump = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_str_eq(dump, "{\"caps\":{},\"do_not_contact\":[],"
			       "\"later_retention_days\":30,"
			       "\"person_made_terms\":null,"
			       "\"quiet_hours\":null,\"refusal\":\"reject\","
			       "\"time_zone\":\"UTC\"}");
	free(dump);
	cr_assert_eq(global_terms_parse(j, &back, &e), 0);
	cr_assert_eq(memcmp(&g, &back, sizeof g), 0);
	json_decref(j);
}

Test(global, person_made_terms)
{
	struct global_terms g, back;
	struct terms_error e;

	gok("{'person_made_terms':null}", &g);
	cr_assert(!g.person_made_set);
	gok("{'person_made_terms':{'channels':{'email':{'allowed':true,"
	    "'cap':{'max':2,'per':'week'}}},'topic_folders':{'bulk':'later'},"
	    "'folder':'Shops'}}",
	    &g);
	cr_assert(g.person_made_set);
	cr_assert(g.person_made.topics_all); /* omitted: every topic */
	cr_assert(g.person_made.channels[CHANNEL_EMAIL].allowed);
	cr_assert_eq(g.person_made.channels[CHANNEL_EMAIL].cap.max, 2);
	cr_assert_str_eq(g.person_made.folder, "Shops");
	json_t *j = global_terms_to_json(&g);
	cr_assert_eq(global_terms_parse(j, &back, &e), 0, "%s: %s", e.field,
		     e.reason);
	json_t *again = global_terms_to_json(&back);
	cr_assert(json_equal(j, again));
	cr_assert_eq(memcmp(&g, &back, sizeof g), 0);
	json_decref(again);
	json_decref(j);
	gok("{'person_made_terms':{'topics':['direct']}}", &g);
	cr_assert(!g.person_made.topics_all);
	cr_assert_eq(g.person_made.n_topics, 1);

	/* Held to what a person-made relationship may grant. */
	gbad("{'person_made_terms':{'channels':{'sms':{'allowed':true}}}}",
	     TERMS_ERR_VALUE, "person_made_terms.channels.sms");
	gbad("{'person_made_terms':{'fields':['name']}}", TERMS_ERR_VALUE,
	     "person_made_terms.fields[0]");
	gbad("{'person_made_terms':{'channels':{'email':{'allowed':1}}}}",
	     TERMS_ERR_TYPE, "person_made_terms.channels.email.allowed");
	gbad("{'person_made_terms':{'colour':'red'}}", TERMS_ERR_UNKNOWN,
	     "person_made_terms.colour");
	gbad("{'person_made_terms':'inbox'}", TERMS_ERR_TYPE,
	     "person_made_terms");
	gbad("{'person_made_terms':{'channels':{'email':{'allowed':true,"
	     "'cap':{'max':1000,'per_seconds':60}}}}}",
	     TERMS_ERR_VALUE, "person_made_terms.channels.email.cap.max");
}

Test(global, compile)
{
	struct global_terms g;
	struct global_compiled c;

	gok("{'do_not_contact':['phone'],"
	    "'quiet_hours':{'from':'22:00','to':'06:00','days':['sun']},"
	    "'caps':{'email':{'max':10,'per':'day','over_cap':'hold'},"
	    "'sms':{'max':2,'per_seconds':86400}},'refusal':'silent'}",
	    &g);
	global_terms_compile(&g, &c);
	cr_assert_eq(c.do_not_contact, 1 << CHANNEL_PHONE);
	cr_assert_eq(c.hold, 1 << CHANNEL_EMAIL);
	cr_assert_eq(c.silent, 1);
	cr_assert_eq(c.cap[CHANNEL_EMAIL].unit, CAP_DAY);
	cr_assert_eq(c.cap[CHANNEL_EMAIL].max, 10);
	cr_assert_eq(c.cap[CHANNEL_SMS].unit, CAP_ROLLING);
	cr_assert_eq(c.cap[CHANNEL_SMS].per_seconds, 86400);
	cr_assert_eq(c.cap[CHANNEL_PUSH].unit, CAP_NONE);
	cr_assert_eq(c.quiet.set, 1);
	cr_assert_eq(c.quiet.from, 22 * 60);
	cr_assert_eq(c.quiet.to, 6 * 60);
	cr_assert_eq(c.quiet.days, 1 << 6);
	global_terms_default(&g);
	global_terms_compile(&g, &c);
	cr_assert_eq(c.do_not_contact | c.hold | c.silent | c.quiet.set, 0);
}

/* ---- A proposal's ask ---- */

Test(ask, design_example)
{
	struct terms_ask a;
	struct terms_error e;

	cr_assert_eq(aparse("{'connect_code':'K7QX-2M9P-4HZA',"
			    "'value':'10% off every order',"
			    "'fields':['name','email'],'channels':['email'],"
			    "'topics':['orders','offers']}",
			    &a, &e),
		     0);
	cr_assert_eq(a.channels, 1 << CHANNEL_EMAIL);
	cr_assert(!a.topics_all);
	cr_assert_eq(a.n_topics, 2);
	cr_assert_str_eq(a.topics[1], "offers");
	cr_assert_eq(a.n_fields, 2);
	cr_assert_str_eq(a.fields[0], "name");
}

Test(ask, defaults_and_all)
{
	struct terms_ask a;
	struct terms_error e;

	cr_assert_eq(aparse("{'channels':['postal','phone']}", &a, &e), 0);
	cr_assert_eq(a.channels, (1 << CHANNEL_POSTAL) | (1 << CHANNEL_PHONE));
	cr_assert_eq(a.n_topics, 0);
	cr_assert(!a.topics_all);
	cr_assert_eq(a.n_fields, 0);
	cr_assert_eq(aparse("{'channels':['sms'],'topics':'all'}", &a, &e), 0);
	cr_assert(a.topics_all);
}

Test(ask, errors)
{
	abad("[]", TERMS_ERR_TYPE, "");
	abad("{}", TERMS_ERR_VALUE, "channels");
	abad("{'channels':[]}", TERMS_ERR_VALUE, "channels");
	abad("{'channels':'email'}", TERMS_ERR_TYPE, "channels");
	abad("{'channels':[5]}", TERMS_ERR_TYPE, "channels[0]");
	abad("{'channels':['email','fax']}", TERMS_ERR_VALUE, "channels[1]");
	abad("{'channels':['email','email']}", TERMS_ERR_VALUE, "channels[1]");
	abad("{'channels':['email'],'topics':'every'}", TERMS_ERR_VALUE,
	     "topics");
	abad("{'channels':['email'],'topics':[1]}", TERMS_ERR_TYPE,
	     "topics[0]");
	abad("{'channels':['email'],'topics':['a b']}", TERMS_ERR_VALUE,
	     "topics[0]");
	abad("{'channels':['email'],'topics':['a','a']}", TERMS_ERR_VALUE,
	     "topics[1]");
	abad("{'channels':['email'],'fields':['Email']}", TERMS_ERR_VALUE,
	     "fields[0]");
	abad("{'channels':['email'],'fields':{}}", TERMS_ERR_TYPE, "fields");
	/* A wrong type beats a missing channel list. */
	abad("{'fields':7}", TERMS_ERR_TYPE, "fields");
}
