/*
 * test_gate.c — gate_decide() against the rows of gate.h, one by one.
 *
 * Every reason code is reached, in row order, and for each row a second
 * test makes it fail together with a later row to show that the earlier
 * one decides. The stages: RCPT asks rows 1 and 3–6 only and answers
 * deliver/ok for everything else; RELEASE skips rows 1–2. Caps are checked
 * at their edges: the N-th delivery of a rolling cap passes and the N+1-th
 * is refused or held until oldest + per_seconds, exactly to the second;
 * calendar caps count per local day, ISO week and month in Europe/Berlin;
 * exempt topics count against exempt_cap and skip the global cap; a cap of
 * max 0 refuses even when over_cap is hold. Quiet hours are checked at their
 * first and last minute, across midnight and on listed days only, with the
 * relationship's overriding the global ones, and a hold for quiet hours
 * ends when the period ends — also on DST days in Europe/Berlin and
 * America/New_York (real zones from /usr/share/zoneinfo). The held queue
 * refuses only what would be held. Folders, out-of-range channels, and the
 * reason table (what the brand is told, wire names) close the file.
 *
 * Deliveries are recorded into the windows exactly as gate.h documents: an
 * exempt delivery into the exempt window only, any other into the
 * relationship × channel window and the person × channel window.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gate.h"

/* Topic indices of the relationship's table. */
enum {
	T_ORDERS = 0, /* wanted */
	T_OFFERS = 1, /* wanted */
	T_NEWS = 2,   /* in the table, not wanted */
	T_ALERTS = 3, /* wanted */
};

#define F_OWN	3 /* the relationship's folder */
#define F_DEALS 5 /* the folder of topic T_OFFERS */

#define ALL_DAYS 0x7f
#define HOUR	 3600
#define DAY	 86400

/* One relationship of one person, the gate's input and its windows.
 * Criterion runs every test in its own process, so one static is enough. */
struct fixture {
	struct terms_compiled terms;
	struct global_compiled global;
	struct tz tz;
	bool tz_loaded; /* tz came from tz_parse and must be freed */
	struct window window;
	struct window exempt;
	struct window global_window;
	bool built;
	struct window *rel_window; /* where send() records: in.window */
	struct gate_input in;
};

static struct fixture fx;

static cmr_time utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_sec = s,
	};
	return (cmr_time)timegm(&tm);
}

/* Monday 2026-03-02 12:00 UTC: a plain day with no DST anywhere near. */
#define T0 ((cmr_time)1772452800)

static void fixture_init(void)
{
	memset(&fx, 0, sizeof(fx));
	struct terms_compiled *t = &fx.terms;
	t->channels = 1u << CHANNEL_EMAIL | 1u << CHANNEL_SMS;
	t->topics = 1u << T_ORDERS | 1u << T_OFFERS | 1u << T_ALERTS;
	t->exempt_cap = (struct cap){ .unit = CAP_DAY, .max = 10 };
	t->folder = F_OWN;
	tz_utc(&fx.tz);
	fx.rel_window = &fx.window;

	fx.in = (struct gate_input){
		.terms = &fx.terms,
		.global = &fx.global,
		.tz = &fx.tz,
		.window = &fx.window,
		.exempt = &fx.exempt,
		.global_window = &fx.global_window,
		.now = T0,
		.held = 0,
		.hold_queue = 100,
		.topic = T_OFFERS,
		.stage = GATE_STAGE_FULL,
		.channel = CHANNEL_EMAIL,
		.rel_state = REL_ACTIVE,
		.alias_known = true,
		.sender_is_brand = true,
	};
}

static void fixture_fini(void)
{
	if (fx.built) {
		window_free(&fx.window);
		window_free(&fx.exempt);
		window_free(&fx.global_window);
	}
	if (fx.tz_loaded)
		tz_free(&fx.tz);
}

TestSuite(gate, .init = fixture_init, .fini = fixture_fini);

static void load_zone(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	static uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	char err[128] = "";
	if (fx.tz_loaded)
		tz_free(&fx.tz);
	cr_assert_eq(tz_parse(buf, len, &fx.tz, err, sizeof(err)), 0,
		     "tz_parse %s: %s", name, err);
	fx.tz_loaded = true;
}

static struct cap rolling(uint16_t max, uint32_t per_seconds)
{
	return (struct cap){ .unit = CAP_ROLLING,
			     .max = max,
			     .per_seconds = per_seconds };
}

static struct cap calendar(uint16_t max, enum cap_unit unit)
{
	return (struct cap){ .unit = (uint8_t)unit, .max = max };
}

static struct quiet_hours quiet(int from_h, int from_m, int to_h, int to_m,
				uint8_t days)
{
	return (struct quiet_hours){
		.from = (uint16_t)(from_h * 60 + from_m),
		.to = (uint16_t)(to_h * 60 + to_m),
		.days = days,
		.set = 1,
	};
}

/* Builds the three windows for the caps now in the terms, for the input's
 * channel. Call after setting caps, before the first send(). */
static void build(void)
{
	unsigned ch = fx.in.channel;
	cr_assert(!fx.built);
	cr_assert_eq(window_init(&fx.window, &fx.terms.cap[ch]), 0);
	cr_assert_eq(window_init(&fx.exempt, &fx.terms.exempt_cap), 0);
	cr_assert_eq(window_init(&fx.global_window, &fx.global.cap[ch]), 0);
	fx.built = true;
}

static struct gate_decision decide(cmr_time now)
{
	fx.in.now = now;
	return gate_decide(&fx.in);
}

/* Records a delivery the way the writer does (gate.h, decision.exempt). */
static void record(const struct gate_decision *d, cmr_time now)
{
	unsigned ch = fx.in.channel;
	const struct terms_compiled *t = fx.in.terms;
	cr_assert_eq(fx.in.window, fx.rel_window);
	if (d->exempt) {
		window_record(&fx.exempt, &t->exempt_cap, &fx.tz, now, NULL);
		return;
	}
	window_record(fx.rel_window, &t->cap[ch], &fx.tz, now, NULL);
	window_record(&fx.global_window, &fx.global.cap[ch], &fx.tz, now, NULL);
}

/* Decides at `now` and, when delivered, records the delivery. */
static struct gate_decision send(cmr_time now)
{
	struct gate_decision d = decide(now);
	if (d.outcome == GATE_DELIVER)
		record(&d, now);
	return d;
}

static const char *outcome_name(unsigned o)
{
	static const char *const names[] = { "deliver", "hold", "refuse" };
	return o < 3 ? names[o] : "?";
}

static const char *reason_name(unsigned r)
{
	return r < GATE_REASON_COUNT ? gate_reasons[r].wire : "?";
}

#define EXPECT_DECISION(d, o, r)                                               \
	do {                                                                   \
		struct gate_decision d_ = (d);                                 \
		cr_expect(d_.outcome == (o) && d_.reason == (r),               \
			  "got %s/%s, expected %s/%s",                         \
			  outcome_name(d_.outcome), reason_name(d_.reason),    \
			  outcome_name(o), reason_name(r));                    \
	} while (0)

#define EXPECT_DELIVER(d)   EXPECT_DECISION(d, GATE_DELIVER, GATE_OK)
#define EXPECT_REFUSE(d, r) EXPECT_DECISION(d, GATE_REFUSE, r)

#define EXPECT_HOLD(d, r, at)                                                  \
	do {                                                                   \
		struct gate_decision h_ = (d);                                 \
		EXPECT_DECISION(h_, GATE_HOLD, r);                             \
		cr_expect_eq(h_.deliver_at, (cmr_time)(at),                    \
			     "deliver_at %lld, expected %lld",                 \
			     (long long)h_.deliver_at, (long long)(at));       \
	} while (0)

/* ---- Each row reached, in order ---- */

Test(gate, ok_delivers_to_the_relationship_folder)
{
	build();
	struct gate_decision d = send(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, F_OWN);
	cr_expect_not(d.exempt);
	cr_expect(gate_brand_accepted(&d));
}

Test(gate, row1_unknown_alias)
{
	build();
	fx.in.alias_known = false;
	EXPECT_REFUSE(decide(T0), GATE_UNKNOWN_ALIAS);
}

Test(gate, row2_sender_not_brand)
{
	build();
	fx.in.sender_is_brand = false;
	EXPECT_REFUSE(decide(T0), GATE_SENDER_NOT_BRAND);
}

Test(gate, row3_relationship_ended)
{
	build();
	fx.in.rel_state = REL_ENDED;
	EXPECT_REFUSE(decide(T0), GATE_RELATIONSHIP_ENDED);
}

Test(gate, row4_consent_expired_from_expires_at_on)
{
	build();
	fx.terms.expires_at = T0 + 100;
	EXPECT_DELIVER(decide(T0 + 99));
	EXPECT_REFUSE(decide(T0 + 100), GATE_CONSENT_EXPIRED);
	EXPECT_REFUSE(decide(T0 + 101), GATE_CONSENT_EXPIRED);
	EXPECT_REFUSE(decide(T0 + 400 * DAY), GATE_CONSENT_EXPIRED);
}

Test(gate, row4_no_expiry)
{
	build();
	fx.terms.expires_at = 0;
	EXPECT_DELIVER(decide(utc(2199, 12, 31, 23, 59, 59)));
}

Test(gate, row5_channel_do_not_contact)
{
	build();
	fx.global.do_not_contact = 1u << CHANNEL_EMAIL;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_DO_NOT_CONTACT);
	fx.in.channel = CHANNEL_SMS; /* another channel is not affected */
	EXPECT_DELIVER(decide(T0));
}

Test(gate, row6_channel_not_permitted)
{
	build();
	fx.in.channel = CHANNEL_PUSH;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_NOT_PERMITTED);
	fx.terms.channels = 0;
	fx.in.channel = CHANNEL_EMAIL;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_NOT_PERMITTED);
}

Test(gate, row7_topic_missing)
{
	build();
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_REFUSE(decide(T0), GATE_TOPIC_MISSING);
}

Test(gate, row7_no_topic_needed_when_all_topics_wanted)
{
	build();
	fx.terms.topics_all = 1;
	fx.terms.topics = 0;
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_DELIVER(decide(T0));
	fx.in.topic = GATE_TOPIC_OTHER;
	EXPECT_DELIVER(decide(T0));
	fx.in.topic = T_NEWS;
	EXPECT_DELIVER(decide(T0));
}

Test(gate, row8_topic_not_wanted)
{
	build();
	fx.in.topic = T_NEWS;
	EXPECT_REFUSE(decide(T0), GATE_TOPIC_NOT_WANTED);
	fx.in.topic = GATE_TOPIC_OTHER;
	EXPECT_REFUSE(decide(T0), GATE_TOPIC_NOT_WANTED);
	fx.in.topic = T_ALERTS;
	EXPECT_DELIVER(decide(T0));
}

Test(gate, row9_frequency_cap)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	build();
	EXPECT_DELIVER(send(T0));
	struct gate_decision d = send(T0 + 1);
	EXPECT_REFUSE(d, GATE_FREQUENCY_CAP);
	cr_expect_not(gate_brand_accepted(&d));
}

Test(gate, row10_global_frequency_cap)
{
	fx.global.cap[CHANNEL_EMAIL] = calendar(1, CAP_DAY);
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_REFUSE(send(T0 + 1), GATE_GLOBAL_FREQUENCY_CAP);
}

Test(gate, row11_quiet_hours)
{
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	struct gate_decision d = decide(T0);
	EXPECT_HOLD(d, GATE_QUIET_HOURS, T0 + HOUR);
	cr_expect(gate_brand_accepted(&d), "a hold is accepted");
}

Test(gate, row12_hold_queue_full)
{
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	fx.in.hold_queue = 5;
	fx.in.held = 5;
	EXPECT_REFUSE(decide(T0), GATE_HOLD_QUEUE_FULL);
}

Test(gate, by_hand_waives_caps_and_quiet_hours)
{
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	fx.in.hold_queue = 5;
	fx.in.held = 5;
	fx.in.stage = GATE_STAGE_BY_HAND;
	EXPECT_DELIVER(decide(T0));
}

Test(gate, by_hand_keeps_rows_3_to_8)
{
	build();
	fx.in.stage = GATE_STAGE_BY_HAND;
	fx.in.rel_state = REL_ENDED;
	EXPECT_REFUSE(decide(T0), GATE_RELATIONSHIP_ENDED);
	fx.in.rel_state = REL_ACTIVE;
	fx.terms.expires_at = T0 - 1;
	EXPECT_REFUSE(decide(T0), GATE_CONSENT_EXPIRED);
}

/* ---- The earlier row wins ---- */

Test(gate, unknown_alias_beats_everything)
{
	fx.terms.expires_at = T0 - 1;
	fx.terms.channels = 0;
	fx.global.do_not_contact = 0x1f;
	build();
	fx.in.alias_known = false;
	fx.in.sender_is_brand = false;
	fx.in.rel_state = REL_ENDED;
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_REFUSE(decide(T0), GATE_UNKNOWN_ALIAS);
}

Test(gate, sender_not_brand_beats_ended)
{
	build();
	fx.in.sender_is_brand = false;
	fx.in.rel_state = REL_ENDED;
	EXPECT_REFUSE(decide(T0), GATE_SENDER_NOT_BRAND);
}

Test(gate, ended_beats_expired)
{
	fx.terms.expires_at = T0 - 1;
	build();
	fx.in.rel_state = REL_ENDED;
	EXPECT_REFUSE(decide(T0), GATE_RELATIONSHIP_ENDED);
}

Test(gate, expired_beats_do_not_contact)
{
	fx.terms.expires_at = T0 - 1;
	fx.global.do_not_contact = 1u << CHANNEL_EMAIL;
	build();
	EXPECT_REFUSE(decide(T0), GATE_CONSENT_EXPIRED);
}

Test(gate, do_not_contact_beats_not_granted)
{
	fx.global.do_not_contact = 1u << CHANNEL_PUSH;
	build();
	fx.in.channel = CHANNEL_PUSH; /* not granted either */
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_DO_NOT_CONTACT);
}

Test(gate, not_granted_beats_topic_missing)
{
	build();
	fx.in.channel = CHANNEL_PHONE;
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_NOT_PERMITTED);
}

Test(gate, topic_missing_beats_cap)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(0, HOUR);
	build();
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_REFUSE(decide(T0), GATE_TOPIC_MISSING);
}

Test(gate, topic_not_wanted_beats_cap)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(0, HOUR);
	build();
	fx.in.topic = T_NEWS;
	EXPECT_REFUSE(decide(T0), GATE_TOPIC_NOT_WANTED);
}

Test(gate, frequency_cap_beats_global_cap)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, DAY);
	fx.global.cap[CHANNEL_EMAIL] = rolling(1, DAY);
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_REFUSE(decide(T0 + 1), GATE_FREQUENCY_CAP);

	/* The relationship's refusal also beats a global hold … */
	fx.global.hold = 1u << CHANNEL_EMAIL;
	EXPECT_REFUSE(decide(T0 + 1), GATE_FREQUENCY_CAP);

	/* … and its hold beats a global refusal: the row decides. */
	fx.global.hold = 0;
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	EXPECT_HOLD(decide(T0 + 1), GATE_FREQUENCY_CAP, T0 + DAY);
}

Test(gate, global_cap_beats_quiet_hours)
{
	fx.global.cap[CHANNEL_EMAIL] = rolling(1, 10 * HOUR);
	fx.terms.quiet = quiet(13, 0, 23, 0, ALL_DAYS);
	build();
	EXPECT_DELIVER(send(T0));
	/* 14:00: inside quiet hours (until 23:00) and over the global cap
	 * (frees at 22:00). */
	EXPECT_REFUSE(decide(T0 + 2 * HOUR), GATE_GLOBAL_FREQUENCY_CAP);
	fx.global.hold = 1u << CHANNEL_EMAIL;
	EXPECT_HOLD(decide(T0 + 2 * HOUR), GATE_GLOBAL_FREQUENCY_CAP,
		    T0 + 10 * HOUR);
}

Test(gate, frequency_cap_hold_beats_quiet_hours)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	fx.global.quiet = quiet(12, 30, 18, 0, ALL_DAYS);
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_HOLD(decide(T0 + 40 * 60), GATE_FREQUENCY_CAP, T0 + HOUR);
	/* Decided again when due, it is held for the quiet hours. */
	fx.in.stage = GATE_STAGE_RELEASE;
	EXPECT_HOLD(decide(T0 + HOUR), GATE_QUIET_HOURS, T0 + 6 * HOUR);
}

Test(gate, quiet_hours_then_queue_full)
{
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	fx.in.hold_queue = 1;
	fx.in.held = 0;
	EXPECT_HOLD(decide(T0), GATE_QUIET_HOURS, T0 + HOUR);
	fx.in.held = 1;
	EXPECT_REFUSE(decide(T0), GATE_HOLD_QUEUE_FULL);
}

Test(gate, cap_refusal_is_not_queue_full)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	fx.global.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	build();
	fx.in.hold_queue = 0;
	fx.in.held = 7;
	EXPECT_DELIVER(send(T0));
	EXPECT_REFUSE(decide(T0 + 1), GATE_FREQUENCY_CAP);
	fx.terms.cap[CHANNEL_EMAIL] = (struct cap){ .unit = CAP_NONE };
	EXPECT_REFUSE(decide(T0 + 1), GATE_GLOBAL_FREQUENCY_CAP);
}

/* ---- Stages ---- */

Test(gate, rcpt_stops_after_row6)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(0, HOUR);
	fx.global.cap[CHANNEL_EMAIL] = rolling(0, HOUR);
	fx.terms.quiet = quiet(0, 0, 23, 59, ALL_DAYS);
	build();
	fx.in.stage = GATE_STAGE_RCPT;
	fx.in.hold_queue = 0;
	fx.in.held = 3;
	fx.in.sender_is_brand = false; /* no authenticated sender at RCPT */
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_DELIVER(decide(T0));
	fx.in.topic = T_NEWS;
	EXPECT_DELIVER(decide(T0));
	fx.in.topic = GATE_TOPIC_OTHER;
	EXPECT_DELIVER(decide(T0));
	fx.in.topic = T_OFFERS;
	EXPECT_DELIVER(decide(T0));
}

Test(gate, rcpt_checks_rows_1_and_3_to_6)
{
	build();
	fx.in.stage = GATE_STAGE_RCPT;
	fx.in.alias_known = false;
	EXPECT_REFUSE(decide(T0), GATE_UNKNOWN_ALIAS);
	fx.in.alias_known = true;

	fx.in.rel_state = REL_ENDED;
	EXPECT_REFUSE(decide(T0), GATE_RELATIONSHIP_ENDED);
	fx.in.rel_state = REL_MUTED;
	EXPECT_DELIVER(decide(T0));
	fx.in.rel_state = REL_ACTIVE;

	fx.terms.expires_at = T0;
	EXPECT_REFUSE(decide(T0), GATE_CONSENT_EXPIRED);
	fx.terms.expires_at = 0;

	fx.global.do_not_contact = 1u << CHANNEL_EMAIL;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_DO_NOT_CONTACT);
	fx.global.do_not_contact = 0;

	fx.in.channel = CHANNEL_POSTAL;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_NOT_PERMITTED);
}

Test(gate, release_skips_rows_1_and_2)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	fx.in.stage = GATE_STAGE_RELEASE;
	fx.in.alias_known = false;
	fx.in.sender_is_brand = false;
	EXPECT_DELIVER(send(T0));

	/* From row 3 on everything still counts. */
	EXPECT_HOLD(decide(T0 + 10), GATE_FREQUENCY_CAP, T0 + HOUR);
	fx.in.topic = T_NEWS;
	EXPECT_REFUSE(decide(T0 + 10), GATE_TOPIC_NOT_WANTED);
	fx.in.topic = GATE_TOPIC_NONE;
	EXPECT_REFUSE(decide(T0 + 10), GATE_TOPIC_MISSING);
	fx.in.topic = T_OFFERS;
	fx.in.channel = CHANNEL_PUSH;
	EXPECT_REFUSE(decide(T0 + 10), GATE_CHANNEL_NOT_PERMITTED);
	fx.in.channel = CHANNEL_EMAIL;
	fx.global.do_not_contact = 1u << CHANNEL_EMAIL;
	EXPECT_REFUSE(decide(T0 + 10), GATE_CHANNEL_DO_NOT_CONTACT);
	fx.terms.expires_at = T0 + 5;
	EXPECT_REFUSE(decide(T0 + 10), GATE_CONSENT_EXPIRED);
	fx.in.rel_state = REL_ENDED;
	EXPECT_REFUSE(decide(T0 + 10), GATE_RELATIONSHIP_ENDED);
}

Test(gate, release_with_full_queue_counts_others_only)
{
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	fx.in.stage = GATE_STAGE_RELEASE;
	fx.in.hold_queue = 2;
	fx.in.held = 1; /* the message itself is not counted */
	EXPECT_HOLD(decide(T0), GATE_QUIET_HOURS, T0 + HOUR);
	fx.in.held = 2;
	EXPECT_REFUSE(decide(T0), GATE_HOLD_QUEUE_FULL);
}

/* ---- Rolling caps ---- */

Test(gate, rolling_nth_delivered_next_refused)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(3, HOUR);
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_DELIVER(send(T0 + 10));
	EXPECT_DELIVER(send(T0 + 20));
	EXPECT_REFUSE(send(T0 + 30), GATE_FREQUENCY_CAP);
	EXPECT_REFUSE(send(T0 + 30), GATE_FREQUENCY_CAP);
	/* A refusal is not a delivery: the window still frees at T0+1h. */
	EXPECT_DELIVER(send(T0 + HOUR));
}

Test(gate, rolling_over_cap_hold_until_oldest_plus_per)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(3, HOUR);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_DELIVER(send(T0 + 10));
	EXPECT_DELIVER(send(T0 + 20));
	struct gate_decision d = send(T0 + 30);
	EXPECT_HOLD(d, GATE_FREQUENCY_CAP, T0 + HOUR);
	cr_expect(gate_brand_accepted(&d));
	EXPECT_DELIVER(send(T0 + HOUR));
	/* Now the oldest is T0 + 10. */
	EXPECT_HOLD(send(T0 + HOUR + 1), GATE_FREQUENCY_CAP, T0 + 10 + HOUR);
}

Test(gate, rolling_window_edge_to_the_second)
{
	fx.terms.cap[CHANNEL_SMS] = rolling(2, 600);
	fx.in.channel = CHANNEL_SMS;
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_DELIVER(send(T0 + 100));
	EXPECT_REFUSE(send(T0 + 599), GATE_FREQUENCY_CAP);
	EXPECT_DELIVER(send(T0 + 600));
	EXPECT_REFUSE(send(T0 + 699), GATE_FREQUENCY_CAP);
	EXPECT_DELIVER(send(T0 + 700));
}

Test(gate, rolling_cap_is_per_channel)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_REFUSE(send(T0 + 1), GATE_FREQUENCY_CAP);
	/* SMS has no cap and its own (here: no) window. */
	fx.in.channel = CHANNEL_SMS;
	EXPECT_DELIVER(decide(T0 + 1));
}

Test(gate, cap_max_zero_refuses_even_with_hold)
{
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	fx.terms.cap[CHANNEL_EMAIL] = rolling(0, HOUR);
	build();
	EXPECT_REFUSE(decide(T0), GATE_FREQUENCY_CAP);
	fx.terms.cap[CHANNEL_EMAIL] = calendar(0, CAP_DAY);
	EXPECT_REFUSE(decide(T0), GATE_FREQUENCY_CAP);
	fx.terms.cap[CHANNEL_EMAIL] = calendar(0, CAP_MONTH);
	EXPECT_REFUSE(decide(T0), GATE_FREQUENCY_CAP);
}

Test(gate, global_cap_max_zero_refuses_even_with_hold)
{
	fx.global.hold = 1u << CHANNEL_EMAIL;
	fx.global.cap[CHANNEL_EMAIL] = calendar(0, CAP_WEEK);
	build();
	EXPECT_REFUSE(decide(T0), GATE_GLOBAL_FREQUENCY_CAP);
	fx.global.cap[CHANNEL_EMAIL] = rolling(0, 60);
	EXPECT_REFUSE(decide(T0), GATE_GLOBAL_FREQUENCY_CAP);
}

/* ---- Calendar caps in Europe/Berlin ---- */

Test(gate, day_cap_counts_the_local_day)
{
	load_zone("Europe/Berlin");
	fx.terms.cap[CHANNEL_EMAIL] = calendar(1, CAP_DAY);
	build();
	/* 2026-06-10 00:30 CEST (still June 9 in UTC). */
	EXPECT_DELIVER(send(utc(2026, 6, 9, 22, 30, 0)));
	/* 23:59:59 CEST the same local day (a UTC day later). */
	EXPECT_REFUSE(send(utc(2026, 6, 10, 21, 59, 59)), GATE_FREQUENCY_CAP);
	/* 00:00:00 CEST June 11. */
	EXPECT_DELIVER(send(utc(2026, 6, 10, 22, 0, 0)));
	EXPECT_REFUSE(send(utc(2026, 6, 10, 22, 0, 1)), GATE_FREQUENCY_CAP);
}

Test(gate, day_cap_hold_until_local_midnight)
{
	load_zone("Europe/Berlin");
	fx.terms.cap[CHANNEL_EMAIL] = calendar(2, CAP_DAY);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	EXPECT_DELIVER(send(utc(2026, 6, 10, 8, 0, 0)));
	EXPECT_DELIVER(send(utc(2026, 6, 10, 9, 0, 0)));
	EXPECT_HOLD(send(utc(2026, 6, 10, 21, 59, 59)), GATE_FREQUENCY_CAP,
		    utc(2026, 6, 10, 22, 0, 0));
	EXPECT_DELIVER(send(utc(2026, 6, 10, 22, 0, 0)));
}

Test(gate, day_cap_on_dst_days)
{
	load_zone("Europe/Berlin");
	fx.terms.cap[CHANNEL_EMAIL] = calendar(1, CAP_DAY);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	/* 2026-03-29 lasts 23 hours: 00:00 CET (23:00Z) to 00:00 CEST. */
	EXPECT_DELIVER(send(utc(2026, 3, 28, 23, 0, 0)));
	EXPECT_HOLD(send(utc(2026, 3, 29, 21, 59, 59)), GATE_FREQUENCY_CAP,
		    utc(2026, 3, 29, 22, 0, 0));
	EXPECT_DELIVER(send(utc(2026, 3, 29, 22, 0, 0)));
	/* 2026-10-25 lasts 25 hours: 00:00 CEST (22:00Z) to 00:00 CET. */
	EXPECT_DELIVER(send(utc(2026, 10, 24, 22, 0, 0)));
	EXPECT_HOLD(send(utc(2026, 10, 25, 22, 59, 59)), GATE_FREQUENCY_CAP,
		    utc(2026, 10, 25, 23, 0, 0));
	EXPECT_DELIVER(send(utc(2026, 10, 25, 23, 0, 0)));
}

Test(gate, week_cap_iso_rollover_sunday_to_monday)
{
	load_zone("Europe/Berlin");
	fx.terms.cap[CHANNEL_EMAIL] = calendar(1, CAP_WEEK);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	/* Monday 2026-06-08 00:00:00 CEST, the first second of the week. */
	EXPECT_DELIVER(send(utc(2026, 6, 7, 22, 0, 0)));
	/* Sunday 2026-06-14 23:59:59 CEST: same week. */
	EXPECT_HOLD(send(utc(2026, 6, 14, 21, 59, 59)), GATE_FREQUENCY_CAP,
		    utc(2026, 6, 14, 22, 0, 0));
	/* Monday 2026-06-15 00:00:00 CEST: a new week. */
	EXPECT_DELIVER(send(utc(2026, 6, 14, 22, 0, 0)));
}

Test(gate, week_cap_sunday_before_is_another_week)
{
	load_zone("Europe/Berlin");
	fx.terms.cap[CHANNEL_EMAIL] = calendar(1, CAP_WEEK);
	build();
	/* Sunday 2026-06-07 23:59:59 CEST, then Monday 00:00:00. */
	EXPECT_DELIVER(send(utc(2026, 6, 7, 21, 59, 59)));
	EXPECT_DELIVER(send(utc(2026, 6, 7, 22, 0, 0)));
	EXPECT_REFUSE(send(utc(2026, 6, 12, 12, 0, 0)), GATE_FREQUENCY_CAP);
}

Test(gate, month_cap_rollover)
{
	load_zone("Europe/Berlin");
	fx.terms.cap[CHANNEL_EMAIL] = calendar(2, CAP_MONTH);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	/* March 2026 begins 00:00 CET (Feb 28 23:00Z) and ends 00:00 CEST
	 * April 1 (March 31 22:00Z). */
	EXPECT_DELIVER(send(utc(2026, 2, 28, 23, 0, 0)));
	EXPECT_DELIVER(send(utc(2026, 3, 15, 12, 0, 0)));
	EXPECT_HOLD(send(utc(2026, 3, 31, 21, 59, 59)), GATE_FREQUENCY_CAP,
		    utc(2026, 3, 31, 22, 0, 0));
	EXPECT_DELIVER(send(utc(2026, 3, 31, 22, 0, 0)));
	EXPECT_DELIVER(send(utc(2026, 4, 30, 21, 59, 59)));
	EXPECT_HOLD(send(utc(2026, 4, 30, 21, 59, 59)), GATE_FREQUENCY_CAP,
		    utc(2026, 4, 30, 22, 0, 0));
}

/* ---- Exempt topics ---- */

Test(gate, exempt_topics_count_against_exempt_cap_and_skip_global)
{
	fx.terms.exempt = 1u << T_ORDERS;
	fx.terms.exempt_cap = calendar(2, CAP_DAY);
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, DAY);
	fx.global.cap[CHANNEL_EMAIL] = calendar(1, CAP_DAY);
	build();

	/* One ordinary message uses up both the channel and global cap. */
	struct gate_decision d = send(T0);
	EXPECT_DELIVER(d);
	cr_expect_not(d.exempt);
	EXPECT_REFUSE(send(T0 + 1), GATE_FREQUENCY_CAP);

	/* Orders still pass: their own cap, no global cap. */
	fx.in.topic = T_ORDERS;
	d = send(T0 + 2);
	EXPECT_DELIVER(d);
	cr_expect(d.exempt, "an exempt delivery says so");
	EXPECT_DELIVER(send(T0 + 3));
	EXPECT_REFUSE(send(T0 + 4), GATE_FREQUENCY_CAP);
	cr_expect_eq(fx.exempt.count, 2);
	cr_expect_eq(fx.window.count, 1, "exempt did not count on email");
	cr_expect_eq(fx.global_window.count, 1,
		     "exempt did not count globally");

	/* The exempt window frees at the next day. */
	EXPECT_DELIVER(send(T0 + 12 * HOUR));
}

Test(gate, exempt_do_not_fill_the_channel_cap)
{
	fx.terms.exempt = 1u << T_ORDERS;
	fx.terms.exempt_cap = rolling(5, HOUR);
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	fx.global.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	build();
	fx.in.topic = T_ORDERS;
	for (int i = 0; i < 5; i++)
		EXPECT_DELIVER(send(T0 + i));
	EXPECT_REFUSE(send(T0 + 5), GATE_FREQUENCY_CAP);
	fx.in.topic = T_OFFERS;
	EXPECT_DELIVER(send(T0 + 6));
	EXPECT_REFUSE(send(T0 + 7), GATE_FREQUENCY_CAP);
}

Test(gate, exempt_cap_hold_and_max_zero)
{
	fx.terms.exempt = 1u << T_ORDERS;
	fx.terms.exempt_cap = rolling(1, HOUR);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	fx.global.cap[CHANNEL_EMAIL] = rolling(0, HOUR);
	build();
	fx.in.topic = T_ORDERS;
	EXPECT_DELIVER(send(T0));
	struct gate_decision d = send(T0 + 60);
	EXPECT_HOLD(d, GATE_FREQUENCY_CAP, T0 + HOUR);
	cr_expect(d.exempt);

	fx.terms.exempt_cap = calendar(0, CAP_DAY);
	EXPECT_REFUSE(decide(T0 + 2 * HOUR), GATE_FREQUENCY_CAP);
	/* A non-exempt message meets the global max 0. */
	fx.in.topic = T_OFFERS;
	EXPECT_REFUSE(decide(T0 + 2 * HOUR), GATE_GLOBAL_FREQUENCY_CAP);
}

Test(gate, exempt_still_respects_quiet_hours)
{
	fx.terms.exempt = 1u << T_ORDERS;
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	fx.in.topic = T_ORDERS;
	struct gate_decision d = decide(T0);
	EXPECT_HOLD(d, GATE_QUIET_HOURS, T0 + HOUR);
	cr_expect(d.exempt);
}

/* ---- Global caps ---- */

Test(gate, global_cap_refuse_vs_hold)
{
	fx.global.cap[CHANNEL_EMAIL] = rolling(2, HOUR);
	build();
	EXPECT_DELIVER(send(T0));
	EXPECT_DELIVER(send(T0 + 100));
	EXPECT_REFUSE(decide(T0 + 200), GATE_GLOBAL_FREQUENCY_CAP);
	fx.global.hold = 1u << CHANNEL_EMAIL;
	struct gate_decision d = decide(T0 + 200);
	EXPECT_HOLD(d, GATE_GLOBAL_FREQUENCY_CAP, T0 + HOUR);
	cr_expect(gate_brand_accepted(&d));
	/* The relationship's hold flag is not the global one. */
	fx.global.hold = 0;
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	EXPECT_REFUSE(decide(T0 + 200), GATE_GLOBAL_FREQUENCY_CAP);
}

Test(gate, global_cap_spans_relationships)
{
	fx.global.cap[CHANNEL_EMAIL] = calendar(2, CAP_DAY);
	fx.global.hold = 1u << CHANNEL_EMAIL;
	build();
	EXPECT_DELIVER(send(T0));

	/* A second relationship of the same person: own window, shared
	 * global window. */
	struct window other;
	struct terms_compiled other_terms = fx.terms;
	other_terms.cap[CHANNEL_EMAIL] = rolling(5, DAY);
	cr_assert_eq(window_init(&other, &other_terms.cap[CHANNEL_EMAIL]), 0);
	fx.in.terms = &other_terms;
	fx.in.window = fx.rel_window = &other;
	EXPECT_DELIVER(send(T0 + 1));
	EXPECT_HOLD(send(T0 + 2), GATE_GLOBAL_FREQUENCY_CAP,
		    utc(2026, 3, 3, 0, 0, 0));
	cr_expect_eq(other.count, 1);
	fx.in.terms = &fx.terms;
	fx.in.window = fx.rel_window = &fx.window;
	EXPECT_HOLD(send(T0 + 3), GATE_GLOBAL_FREQUENCY_CAP,
		    utc(2026, 3, 3, 0, 0, 0));
	window_free(&other);
}

/* ---- Quiet hours ---- */

Test(gate, quiet_first_and_last_minute_inside)
{
	load_zone("Europe/Berlin");
	fx.global.quiet = quiet(22, 0, 7, 30, ALL_DAYS);
	build();
	/* 2026-06-10 is CEST (UTC+2); quiet 22:00–07:30 local. */
	cmr_time end = utc(2026, 6, 11, 5, 30, 0); /* 07:30 CEST June 11 */
	EXPECT_DELIVER(decide(utc(2026, 6, 10, 19, 59, 59)));
	EXPECT_HOLD(decide(utc(2026, 6, 10, 20, 0, 0)), GATE_QUIET_HOURS, end);
	EXPECT_HOLD(decide(utc(2026, 6, 10, 20, 0, 59)), GATE_QUIET_HOURS, end);
	EXPECT_HOLD(decide(utc(2026, 6, 10, 22, 0, 0)), GATE_QUIET_HOURS, end);
	EXPECT_HOLD(decide(utc(2026, 6, 11, 5, 29, 0)), GATE_QUIET_HOURS, end);
	EXPECT_HOLD(decide(utc(2026, 6, 11, 5, 29, 59)), GATE_QUIET_HOURS, end);
}

Test(gate, quiet_minute_after_to_is_outside)
{
	load_zone("Europe/Berlin");
	fx.global.quiet = quiet(22, 0, 7, 30, ALL_DAYS);
	build();
	EXPECT_DELIVER(decide(utc(2026, 6, 11, 5, 30, 0)));
	EXPECT_DELIVER(decide(utc(2026, 6, 11, 5, 30, 59)));
	EXPECT_DELIVER(decide(utc(2026, 6, 11, 12, 0, 0)));
}

Test(gate, quiet_same_day_period)
{
	load_zone("Europe/Berlin");
	fx.terms.quiet = quiet(12, 0, 14, 0, ALL_DAYS);
	build();
	/* 2026-03-02 is CET (UTC+1). */
	EXPECT_DELIVER(decide(utc(2026, 3, 2, 10, 59, 59)));
	EXPECT_HOLD(decide(utc(2026, 3, 2, 11, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 3, 2, 13, 0, 0));
	EXPECT_HOLD(decide(utc(2026, 3, 2, 12, 59, 59)), GATE_QUIET_HOURS,
		    utc(2026, 3, 2, 13, 0, 0));
	EXPECT_DELIVER(decide(utc(2026, 3, 2, 13, 0, 0)));
}

Test(gate, quiet_wraps_midnight_and_starts_on_listed_days)
{
	load_zone("Europe/Berlin");
	/* Friday and Saturday nights only (ISO weekday 4 and 5). */
	fx.global.quiet = quiet(22, 0, 7, 0, 1u << 4 | 1u << 5);
	build();
	/* June 2026, CEST. Thursday 11th 23:00: not a listed day. */
	EXPECT_DELIVER(decide(utc(2026, 6, 11, 21, 0, 0)));
	/* Friday 12th 03:00: the period would have started Thursday. */
	EXPECT_DELIVER(decide(utc(2026, 6, 12, 1, 0, 0)));
	/* Friday 12th 23:00 → Saturday 07:00. */
	EXPECT_HOLD(decide(utc(2026, 6, 12, 21, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 6, 13, 5, 0, 0));
	/* Saturday 03:00, inside Friday's period. */
	EXPECT_HOLD(decide(utc(2026, 6, 13, 1, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 6, 13, 5, 0, 0));
	/* Saturday noon: free. */
	EXPECT_DELIVER(decide(utc(2026, 6, 13, 10, 0, 0)));
	/* Sunday 03:00, inside Saturday's period, ends Sunday 07:00. */
	EXPECT_HOLD(decide(utc(2026, 6, 14, 1, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 6, 14, 5, 0, 0));
	/* Sunday 23:00 and Monday 03:00: Sunday is not listed. */
	EXPECT_DELIVER(decide(utc(2026, 6, 14, 21, 0, 0)));
	EXPECT_DELIVER(decide(utc(2026, 6, 15, 1, 0, 0)));
}

Test(gate, relationship_quiet_hours_override_global)
{
	load_zone("Europe/Berlin");
	fx.global.quiet = quiet(20, 0, 8, 0, ALL_DAYS);
	fx.terms.quiet = quiet(23, 0, 6, 0, ALL_DAYS);
	build();
	/* 2026-06-10 21:00 CEST: quiet globally, not for this brand. */
	EXPECT_DELIVER(decide(utc(2026, 6, 10, 19, 0, 0)));
	/* 07:00 CEST June 11: likewise. */
	EXPECT_DELIVER(decide(utc(2026, 6, 11, 5, 0, 0)));
	/* 23:30 CEST: the relationship's own, ending at 06:00. */
	EXPECT_HOLD(decide(utc(2026, 6, 10, 21, 30, 0)), GATE_QUIET_HOURS,
		    utc(2026, 6, 11, 4, 0, 0));
	/* Without its own, the global ones apply. */
	fx.terms.quiet.set = 0;
	EXPECT_HOLD(decide(utc(2026, 6, 10, 19, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 6, 11, 6, 0, 0));
}

Test(gate, relationship_quiet_hours_override_even_on_unlisted_days)
{
	load_zone("Europe/Berlin");
	fx.global.quiet = quiet(9, 0, 17, 0, ALL_DAYS);
	fx.terms.quiet = quiet(9, 0, 17, 0, 1u << 6); /* Sundays only */
	build();
	/* Wednesday 2026-06-10 12:00 CEST. */
	EXPECT_DELIVER(decide(utc(2026, 6, 10, 10, 0, 0)));
}

Test(gate, quiet_end_on_dst_days_berlin)
{
	load_zone("Europe/Berlin");
	fx.global.quiet = quiet(22, 0, 7, 0, ALL_DAYS);
	build();
	/* Sat 28 March 22:00 CET (21:00Z) to Sun 29 March 07:00 CEST. */
	EXPECT_HOLD(decide(utc(2026, 3, 29, 0, 30, 0)), GATE_QUIET_HOURS,
		    utc(2026, 3, 29, 5, 0, 0));
	EXPECT_DELIVER(decide(utc(2026, 3, 29, 5, 0, 0)));
	EXPECT_HOLD(decide(utc(2026, 3, 29, 4, 59, 59)), GATE_QUIET_HOURS,
		    utc(2026, 3, 29, 5, 0, 0));
	/* Sat 24 Oct 22:00 CEST (20:00Z) to Sun 25 Oct 07:00 CET. */
	EXPECT_HOLD(decide(utc(2026, 10, 25, 0, 30, 0)), GATE_QUIET_HOURS,
		    utc(2026, 10, 25, 6, 0, 0));
	EXPECT_HOLD(decide(utc(2026, 10, 25, 5, 59, 59)), GATE_QUIET_HOURS,
		    utc(2026, 10, 25, 6, 0, 0));
	EXPECT_DELIVER(decide(utc(2026, 10, 25, 6, 0, 0)));
}

Test(gate, quiet_ends_in_the_dst_gap_or_overlap_berlin)
{
	load_zone("Europe/Berlin");
	/* 02:30 does not exist on 29 March: the period ends at the next
	 * instant that does, 03:00 CEST (01:00Z). */
	fx.global.quiet = quiet(23, 0, 2, 30, ALL_DAYS);
	build();
	EXPECT_HOLD(decide(utc(2026, 3, 28, 23, 30, 0)), GATE_QUIET_HOURS,
		    utc(2026, 3, 29, 1, 0, 0));
	EXPECT_DELIVER(decide(utc(2026, 3, 29, 1, 0, 0)));
	/* 02:30 happens twice on 25 October: the first one, CEST (00:30Z). */
	EXPECT_HOLD(decide(utc(2026, 10, 24, 22, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 10, 25, 0, 30, 0));
	EXPECT_DELIVER(decide(utc(2026, 10, 25, 0, 30, 0)));
	/* 02:45 CET, the second pass through 02:30–03:00: outside. */
	EXPECT_DELIVER(decide(utc(2026, 10, 25, 1, 45, 0)));
}

Test(gate, quiet_starts_in_the_dst_gap_berlin)
{
	load_zone("Europe/Berlin");
	/* 02:15 does not exist on 29 March: the period starts at 03:00
	 * CEST (01:00Z). */
	fx.global.quiet = quiet(2, 15, 5, 0, ALL_DAYS);
	build();
	EXPECT_DELIVER(decide(utc(2026, 3, 29, 0, 59, 59)));
	EXPECT_HOLD(decide(utc(2026, 3, 29, 1, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 3, 29, 3, 0, 0));
}

Test(gate, quiet_end_on_dst_days_new_york)
{
	load_zone("America/New_York");
	fx.global.quiet = quiet(22, 0, 7, 0, ALL_DAYS);
	build();
	/* Sat 7 March 22:00 EST (03:00Z) to Sun 8 March 07:00 EDT (11:00Z). */
	EXPECT_DELIVER(decide(utc(2026, 3, 8, 2, 59, 59)));
	EXPECT_HOLD(decide(utc(2026, 3, 8, 3, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 3, 8, 11, 0, 0));
	EXPECT_HOLD(decide(utc(2026, 3, 8, 6, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 3, 8, 11, 0, 0));
	EXPECT_DELIVER(decide(utc(2026, 3, 8, 11, 0, 0)));
	/* Sat 31 Oct 22:00 EDT (Nov 1 02:00Z) to Sun 1 Nov 07:00 EST
	 * (12:00Z). */
	EXPECT_HOLD(decide(utc(2026, 11, 1, 2, 0, 0)), GATE_QUIET_HOURS,
		    utc(2026, 11, 1, 12, 0, 0));
	EXPECT_HOLD(decide(utc(2026, 11, 1, 11, 59, 59)), GATE_QUIET_HOURS,
		    utc(2026, 11, 1, 12, 0, 0));
	EXPECT_DELIVER(decide(utc(2026, 11, 1, 12, 0, 0)));
}

Test(gate, quiet_ends_in_the_overlap_new_york)
{
	load_zone("America/New_York");
	/* 01:30 happens twice on 1 November: the period ends at the first,
	 * 01:30 EDT (05:30Z); 01:15 EST (06:15Z) is outside. */
	fx.global.quiet = quiet(0, 0, 1, 30, ALL_DAYS);
	build();
	EXPECT_HOLD(decide(utc(2026, 11, 1, 4, 30, 0)), GATE_QUIET_HOURS,
		    utc(2026, 11, 1, 5, 30, 0));
	EXPECT_DELIVER(decide(utc(2026, 11, 1, 5, 30, 0)));
	EXPECT_DELIVER(decide(utc(2026, 11, 1, 6, 15, 0)));
}

/* ---- The held queue ---- */

Test(gate, hold_queue_full_refuses_holds_only)
{
	fx.terms.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	fx.terms.hold = 1u << CHANNEL_EMAIL;
	build();
	fx.in.hold_queue = 3;
	fx.in.held = 3;
	/* A message that would be delivered is not affected. */
	EXPECT_DELIVER(send(T0));
	fx.in.held = 50;
	EXPECT_DELIVER(decide(T0 + HOUR));
	/* One that would be held is refused. */
	EXPECT_REFUSE(decide(T0 + 1), GATE_HOLD_QUEUE_FULL);
	fx.in.held = 3;
	EXPECT_REFUSE(decide(T0 + 1), GATE_HOLD_QUEUE_FULL);
	fx.in.held = 2;
	EXPECT_HOLD(decide(T0 + 1), GATE_FREQUENCY_CAP, T0 + HOUR);
}

Test(gate, hold_queue_full_for_global_cap_hold)
{
	fx.global.cap[CHANNEL_EMAIL] = rolling(1, HOUR);
	fx.global.hold = 1u << CHANNEL_EMAIL;
	build();
	EXPECT_DELIVER(send(T0));
	fx.in.hold_queue = 100;
	fx.in.held = 100;
	EXPECT_REFUSE(decide(T0 + 1), GATE_HOLD_QUEUE_FULL);
	fx.in.held = 99;
	EXPECT_HOLD(decide(T0 + 1), GATE_GLOBAL_FREQUENCY_CAP, T0 + HOUR);
}

Test(gate, hold_queue_zero_refuses_every_hold)
{
	fx.terms.quiet = quiet(11, 0, 13, 0, ALL_DAYS);
	build();
	fx.in.hold_queue = 0;
	fx.in.held = 0;
	EXPECT_REFUSE(decide(T0), GATE_HOLD_QUEUE_FULL);
	EXPECT_DELIVER(decide(T0 + 2 * HOUR));
}

/* ---- Folders ---- */

Test(gate, folder_by_topic_then_relationship)
{
	fx.terms.n_topic_folders = 1;
	fx.terms.topic_folders[0].topic = T_OFFERS;
	fx.terms.topic_folders[0].folder = F_DEALS;
	build();
	fx.in.topic = T_OFFERS;
	struct gate_decision d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, F_DEALS);
	fx.in.topic = T_ORDERS;
	d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, F_OWN);

	fx.terms.topics_all = 1;
	fx.in.topic = GATE_TOPIC_NONE;
	d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, F_OWN);
	fx.in.topic = GATE_TOPIC_OTHER;
	d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, F_OWN);
}

Test(gate, folder_inbox_by_default)
{
	fx.terms.folder = FOLDER_INBOX;
	build();
	struct gate_decision d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, FOLDER_INBOX);
}

Test(gate, muted_goes_to_later)
{
	fx.terms.n_topic_folders = 1;
	fx.terms.topic_folders[0].topic = T_OFFERS;
	fx.terms.topic_folders[0].folder = F_DEALS;
	build();
	fx.in.rel_state = REL_MUTED;
	fx.in.topic = T_OFFERS;
	struct gate_decision d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, FOLDER_LATER, "muted beats the topic folder");
	fx.in.topic = T_ORDERS;
	d = decide(T0);
	EXPECT_DELIVER(d);
	cr_expect_eq(d.folder, FOLDER_LATER);
}

/* ---- Channel index out of range ---- */

Test(gate, channel_out_of_range_refused)
{
	fx.terms.channels = 0xff; /* even if stray bits were set */
	build();
	const unsigned bad[] = { CHANNEL_COUNT, 7, 8, 31, 32, 200, 255 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx.in.channel = (uint8_t)bad[i];
		struct gate_decision d = decide(T0);
		cr_expect(d.outcome == GATE_REFUSE &&
				  d.reason == GATE_CHANNEL_NOT_PERMITTED,
			  "channel %u: got %s/%s", bad[i],
			  outcome_name(d.outcome), reason_name(d.reason));
	}
	/* At RCPT too. */
	fx.in.stage = GATE_STAGE_RCPT;
	fx.in.channel = CHANNEL_COUNT;
	EXPECT_REFUSE(decide(T0), GATE_CHANNEL_NOT_PERMITTED);
}

/* ---- The reason table ---- */

/* What a brand is told: the wire name of each reason, and
 * the brand-visible reason of a refusal (NULL: the reason never refuses,
 * the brand hears "accepted"). */
static const struct {
	enum gate_reason reason;
	const char *wire;
	const char *brand;
} expected_reasons[] = {
	{ GATE_OK, "ok", NULL },
	{ GATE_UNKNOWN_ALIAS, "unknown_alias", "not_accepted" },
	{ GATE_SENDER_NOT_BRAND, "sender_not_brand", "not_accepted" },
	{ GATE_RELATIONSHIP_ENDED, "relationship_ended", "relationship_ended" },
	{ GATE_CONSENT_EXPIRED, "consent_expired", "consent_expired" },
	{ GATE_CHANNEL_DO_NOT_CONTACT, "channel_do_not_contact",
	  "channel_not_permitted" },
	{ GATE_CHANNEL_NOT_PERMITTED, "channel_not_permitted",
	  "channel_not_permitted" },
	{ GATE_TOPIC_MISSING, "topic_missing", "topic_missing" },
	{ GATE_TOPIC_NOT_WANTED, "topic_not_wanted", "topic_not_wanted" },
	{ GATE_FREQUENCY_CAP, "frequency_cap", "frequency_cap" },
	{ GATE_GLOBAL_FREQUENCY_CAP, "global_frequency_cap", "not_accepted" },
	{ GATE_QUIET_HOURS, "quiet_hours", NULL },
	{ GATE_HOLD_QUEUE_FULL, "hold_queue_full", "not_accepted" },
	{ GATE_DISCARDED, "discarded", "not_accepted" },
	{ GATE_STRANGER, "stranger", "not_accepted" },
};

Test(gate, reason_codes_are_stable)
{
	cr_assert_eq(sizeof(expected_reasons) / sizeof(expected_reasons[0]),
		     GATE_REASON_COUNT);
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		cr_expect_eq((int)expected_reasons[i].reason, i,
			     "row %d renumbered", i);
}

Test(gate, brand_is_told_what_design_says)
{
	for (int i = 0; i < GATE_REASON_COUNT; i++) {
		const char *want = expected_reasons[i].brand;
		const char *got = gate_reasons[i].brand;
		if (want == NULL) {
			cr_expect_null(got, "%s: brand hears accepted, not %s",
				       expected_reasons[i].wire, got);
			continue;
		}
		cr_expect(got != NULL && strcmp(got, want) == 0,
			  "%s: brand told %s, expected %s",
			  expected_reasons[i].wire, got ? got : "NULL", want);
	}
}

Test(gate, brand_reasons_are_from_the_design_list)
{
	static const char *const allowed[] = {
		"relationship_ended",	 "consent_expired",
		"channel_not_permitted", "topic_missing",
		"topic_not_wanted",	 "frequency_cap",
		"not_accepted",
	};
	for (int i = 0; i < GATE_REASON_COUNT; i++) {
		const char *b = gate_reasons[i].brand;
		if (b == NULL)
			continue;
		bool ok = false;
		for (unsigned j = 0; j < sizeof(allowed) / sizeof(allowed[0]);
		     j++)
			ok = ok || strcmp(b, allowed[j]) == 0;
		cr_expect(ok, "%s: %s is not brand-visible",
			  gate_reasons[i].wire, b);
	}
}

Test(gate, refusals_to_the_brand_name_the_brand_reason)
{
	/* Rows 3–12: the LMTP reply to the authenticated brand carries the
	 * brand-visible reason, never the person's. */
	for (int i = GATE_RELATIONSHIP_ENDED; i < GATE_REASON_COUNT; i++) {
		if (gate_reasons[i].brand == NULL)
			continue;
		char want[96];
		snprintf(want, sizeof(want), "550 5.7.1 %s",
			 gate_reasons[i].brand);
		cr_expect_str_eq(gate_reasons[i].lmtp, want, "%s",
				 gate_reasons[i].wire);
	}
	cr_expect_str_eq(gate_reasons[GATE_UNKNOWN_ALIAS].lmtp,
			 gate_reasons[GATE_SENDER_NOT_BRAND].lmtp,
			 "a stranger and an unknown alias look the same");
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		cr_expect(gate_reasons[i].person != NULL &&
				  gate_reasons[i].person[0] != '\0',
			  "%s has no line for the person",
			  gate_reasons[i].wire);
}

Test(gate, holds_are_accepted_refusals_are_not)
{
	struct gate_decision d = { .outcome = GATE_HOLD,
				   .reason = GATE_FREQUENCY_CAP };
	cr_expect(gate_brand_accepted(&d));
	d.reason = GATE_GLOBAL_FREQUENCY_CAP;
	cr_expect(gate_brand_accepted(&d));
	d.reason = GATE_QUIET_HOURS;
	cr_expect(gate_brand_accepted(&d));
	d = (struct gate_decision){ .outcome = GATE_DELIVER };
	cr_expect(gate_brand_accepted(&d));
	for (int i = 1; i < GATE_DISCARDED; i++) {
		d = (struct gate_decision){ .outcome = GATE_REFUSE,
					    .reason = (uint8_t)i };
		cr_expect_not(gate_brand_accepted(&d), "%s",
			      gate_reasons[i].wire);
	}
	/* A held message its person discarded was accepted, as the brand
	 * was told when it came. */
	d = (struct gate_decision){ .outcome = GATE_REFUSE,
				    .reason = GATE_DISCARDED };
	cr_expect(gate_brand_accepted(&d));
}

Test(gate, reason_parse_round_trips)
{
	for (int i = 0; i < GATE_REASON_COUNT; i++) {
		cr_expect_str_eq(gate_reasons[i].wire,
				 expected_reasons[i].wire);
		cr_expect_eq(gate_reason_parse(expected_reasons[i].wire), i,
			     "%s", expected_reasons[i].wire);
		cr_expect_eq(gate_reason_parse(gate_reasons[i].wire), i);
	}
	cr_expect_eq(gate_reason_parse(""), -1);
	cr_expect_eq(gate_reason_parse("not_accepted"), -1);
	cr_expect_eq(gate_reason_parse("OK"), -1);
	cr_expect_eq(gate_reason_parse("frequency_cap "), -1);
	cr_expect_eq(gate_reason_parse("frequency"), -1);
}
