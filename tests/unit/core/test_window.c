/*
 * test_window.c — the cap windows of src/core/window.c on their own.
 *
 * Rolling windows: the ring fills, wraps and always names its oldest
 * delivery; the cap is reached exactly while the max-th most recent
 * delivery is less than per_seconds old, and frees at that delivery plus
 * per_seconds. window_undo puts a window back byte for byte, ring included,
 * also when the record overwrote a slot of a full ring and when several
 * records are undone in reverse order. Calendar windows count per local
 * period and start again at zero when the period changes (UTC and
 * Europe/Berlin). A window built for another cap (terms changed, window not
 * rebuilt) is read as window.h documents: a smaller max is checked against
 * the most recent deliveries, a larger one or another unit is not reached
 * and record does not count into it. Caps of max 0 are reached for ever.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tz.h"
#include "window.h"

static struct tz utc_zone;

static void suite_init(void)
{
	tz_utc(&utc_zone);
}

TestSuite(window, .init = suite_init);

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

static void load_zone(struct tz *z, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	static uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	char err[128] = "";
	cr_assert_eq(tz_parse(buf, len, z, err, sizeof(err)), 0,
		     "tz_parse %s: %s", name, err);
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

/* A deep copy of a window, ring included, to compare after an undo. */
struct snapshot {
	struct window w;
	cmr_time ring[TERMS_ROLLING_MAX];
};

static void snap(struct snapshot *s, const struct window *w)
{
	memset(s, 0, sizeof(*s));
	s->w = *w;
	if (w->ring != NULL)
		memcpy(s->ring, w->ring, w->cap_max * sizeof(*w->ring));
}

static void expect_same(const struct window *w, const struct snapshot *s)
{
	cr_expect_eq(w->ring, s->w.ring, "ring pointer changed");
	cr_expect_eq(w->period, s->w.period, "period %lld, was %lld",
		     (long long)w->period, (long long)s->w.period);
	cr_expect_eq(w->cap_max, s->w.cap_max);
	cr_expect_eq(w->head, s->w.head, "head %u, was %u", w->head, s->w.head);
	cr_expect_eq(w->count, s->w.count, "count %u, was %u", w->count,
		     s->w.count);
	cr_expect_eq(w->unit, s->w.unit);
	if (w->ring != NULL)
		for (unsigned i = 0; i < w->cap_max; i++)
			cr_expect_eq(w->ring[i], s->ring[i],
				     "ring[%u] %lld, was %lld", i,
				     (long long)w->ring[i],
				     (long long)s->ring[i]);
}

/* The oldest delivery the ring holds. */
static cmr_time oldest(const struct window *w)
{
	return w->ring[w->head];
}

Test(window, init_rolling_allocates_ring_of_max)
{
	struct window w;
	struct cap c = rolling(4, 60);
	cr_assert_eq(window_init(&w, &c), 0);
	cr_expect_not_null(w.ring);
	cr_expect_eq(w.cap_max, 4);
	cr_expect_eq(w.count, 0);
	cr_expect_eq(w.head, 0);
	cr_expect_eq(w.unit, CAP_ROLLING);
	window_free(&w);
	cr_expect_null(w.ring);
	cr_expect_eq(w.count, 0);
}

Test(window, init_without_ring)
{
	struct window w;
	struct cap zero = rolling(0, 60);
	cr_assert_eq(window_init(&w, &zero), 0);
	cr_expect_null(w.ring, "max 0 needs no ring");
	window_free(&w);

	struct cap day = calendar(3, CAP_DAY);
	cr_assert_eq(window_init(&w, &day), 0);
	cr_expect_null(w.ring, "a calendar window has no ring");
	cr_expect_eq(w.unit, CAP_DAY);
	window_free(&w);

	struct cap none = { .unit = CAP_NONE };
	cr_assert_eq(window_init(&w, &none), 0);
	cr_expect_null(w.ring);
	window_free(&w);
}

Test(window, no_cap_is_never_reached)
{
	struct window w;
	struct cap none = { .unit = CAP_NONE };
	cr_assert_eq(window_init(&w, &none), 0);
	for (int i = 0; i < 500; i++)
		window_record(&w, &none, &utc_zone, 1000 + i, NULL);
	cr_expect_not(window_reached(&w, &none, &utc_zone, 1500, NULL));
	window_free(&w);
}

Test(window, rolling_fills_below_max_not_reached)
{
	struct window w;
	struct cap c = rolling(3, 100);
	cr_assert_eq(window_init(&w, &c), 0);
	cmr_time at = 1000;
	cr_expect_not(window_reached(&w, &c, &utc_zone, at, NULL));
	window_record(&w, &c, &utc_zone, 1000, NULL);
	window_record(&w, &c, &utc_zone, 1001, NULL);
	cr_expect_eq(w.count, 2);
	cr_expect_eq(w.head, 0);
	cr_expect_eq(oldest(&w), 1000);
	cr_expect_not(window_reached(&w, &c, &utc_zone, 1002, NULL),
		      "2 of 3: a third fits");
	window_free(&w);
}

Test(window, rolling_full_reached_until_oldest_leaves)
{
	struct window w;
	struct cap c = rolling(3, 100);
	cr_assert_eq(window_init(&w, &c), 0);
	window_record(&w, &c, &utc_zone, 1000, NULL);
	window_record(&w, &c, &utc_zone, 1010, NULL);
	window_record(&w, &c, &utc_zone, 1020, NULL);
	cr_expect_eq(w.count, 3);
	cr_expect_eq(oldest(&w), 1000);

	cmr_time frees = 0;
	cr_expect(window_reached(&w, &c, &utc_zone, 1020, &frees));
	cr_expect_eq(frees, 1100, "frees at oldest + per: %lld",
		     (long long)frees);
	frees = 0;
	cr_expect(window_reached(&w, &c, &utc_zone, 1099, &frees),
		  "one second before the edge");
	cr_expect_eq(frees, 1100);
	cr_expect_not(window_reached(&w, &c, &utc_zone, 1100, &frees),
		      "at exactly oldest + per it fits again");
	cr_expect(window_reached(&w, &c, &utc_zone, 1099, NULL),
		  "frees_at may be NULL");
	window_free(&w);
}

Test(window, rolling_wraps_and_tracks_oldest)
{
	struct window w;
	struct cap c = rolling(3, 100);
	cr_assert_eq(window_init(&w, &c), 0);
	cmr_time t[] = { 1000, 1010, 1020, 1100, 1111, 1125, 1300, 1301 };
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		window_record(&w, &c, &utc_zone, t[i], NULL);
		unsigned n = i + 1 < 3 ? i + 1 : 3;
		cr_expect_eq(w.count, n, "after %u records", i + 1);
		cr_expect_eq(w.head, (i + 1 <= 3) ? 0 : (i + 1 - 3) % 3,
			     "head after %u records: %u", i + 1, w.head);
		cr_expect_eq(oldest(&w), t[i + 1 - n],
			     "oldest after %u records: %lld", i + 1,
			     (long long)oldest(&w));
	}
	/* The last three are 1125, 1300, 1301. */
	cmr_time frees = 0;
	cr_expect(window_reached(&w, &c, &utc_zone, 1224, &frees));
	cr_expect_eq(frees, 1225);
	cr_expect_not(window_reached(&w, &c, &utc_zone, 1225, NULL));
	window_free(&w);
}

Test(window, rolling_same_second_deliveries)
{
	struct window w;
	struct cap c = rolling(2, 1);
	cr_assert_eq(window_init(&w, &c), 0);
	window_record(&w, &c, &utc_zone, 5000, NULL);
	window_record(&w, &c, &utc_zone, 5000, NULL);
	cmr_time frees = 0;
	cr_expect(window_reached(&w, &c, &utc_zone, 5000, &frees));
	cr_expect_eq(frees, 5001);
	cr_expect_not(window_reached(&w, &c, &utc_zone, 5001, NULL));
	window_free(&w);
}

Test(window, rolling_max_100_long_window)
{
	struct window w;
	struct cap c = rolling(TERMS_ROLLING_MAX, 366u * 86400u);
	cr_assert_eq(window_init(&w, &c), 0);
	cmr_time t0 = utc(2026, 1, 1, 0, 0, 0);
	for (int i = 0; i < TERMS_ROLLING_MAX; i++) {
		cr_expect_not(window_reached(&w, &c, &utc_zone,
					     t0 + i * 366 * 864, NULL),
			      "record %d fits", i);
		window_record(&w, &c, &utc_zone, t0 + i * 366 * 864, NULL);
	}
	cmr_time frees = 0;
	cr_expect(
		window_reached(&w, &c, &utc_zone, t0 + 99 * 366 * 864, &frees));
	cr_expect_eq(frees, t0 + 366 * 86400);
	cr_expect_not(
		window_reached(&w, &c, &utc_zone, t0 + 366 * 86400, NULL));
	window_free(&w);
}

Test(window, undo_of_a_record_into_a_filling_ring)
{
	struct window w;
	struct cap c = rolling(3, 100);
	cr_assert_eq(window_init(&w, &c), 0);
	window_record(&w, &c, &utc_zone, 1000, NULL);

	struct snapshot s;
	snap(&s, &w);
	struct window_undo u;
	window_record(&w, &c, &utc_zone, 1050, &u);
	cr_expect_eq(w.count, 2);
	cr_expect_eq(u.slot, 1);
	window_undo(&w, &u);
	expect_same(&w, &s);
	window_free(&w);
}

Test(window, undo_restores_overwritten_slot_of_full_ring)
{
	struct window w;
	struct cap c = rolling(3, 100);
	cr_assert_eq(window_init(&w, &c), 0);
	for (int i = 0; i < 4; i++)
		window_record(&w, &c, &utc_zone, 1000 + 10 * i, NULL);
	/* Ring: 1030 1010 1020, head 1. */
	cr_expect_eq(w.head, 1);

	struct snapshot s;
	snap(&s, &w);
	cr_expect(window_reached(&w, &c, &utc_zone, 1040, NULL));
	struct window_undo u;
	window_record(&w, &c, &utc_zone, 1200, &u);
	cr_expect_eq(u.slot, 1, "the oldest slot is overwritten");
	cr_expect_eq(u.overwritten, 1010);
	cr_expect_eq(w.head, 2);
	window_undo(&w, &u);
	expect_same(&w, &s);

	/* The restored window answers as before. */
	cmr_time frees = 0;
	cr_expect(window_reached(&w, &c, &utc_zone, 1040, &frees));
	cr_expect_eq(frees, 1110);
	window_free(&w);
}

Test(window, undo_many_in_reverse_order)
{
	struct window w;
	struct cap c = rolling(4, 1000);
	cr_assert_eq(window_init(&w, &c), 0);
	for (int i = 0; i < 6; i++)
		window_record(&w, &c, &utc_zone, 100 * i, NULL);

	struct snapshot s;
	snap(&s, &w);
	struct window_undo u[9];
	for (int i = 0; i < 9; i++)
		window_record(&w, &c, &utc_zone, 1000 + i, &u[i]);
	for (int i = 8; i >= 0; i--)
		window_undo(&w, &u[i]);
	expect_same(&w, &s);
	window_free(&w);
}

Test(window, undo_of_a_record_that_changed_nothing)
{
	struct window w;
	struct cap day = calendar(2, CAP_DAY);
	struct cap roll = rolling(2, 60);
	cr_assert_eq(window_init(&w, &day), 0);
	window_record(&w, &day, &utc_zone, 1000, NULL);

	struct snapshot s;
	snap(&s, &w);
	struct window_undo u;
	window_record(&w, &roll, &utc_zone, 1001, &u);
	cr_expect_eq(u.slot, -1);
	expect_same(&w, &s);
	window_undo(&w, &u);
	expect_same(&w, &s);
	window_free(&w);
}

Test(window, calendar_counts_within_day)
{
	struct window w;
	struct cap c = calendar(2, CAP_DAY);
	cr_assert_eq(window_init(&w, &c), 0);
	cmr_time d1 = utc(2026, 6, 10, 0, 0, 0);
	cr_expect_not(window_reached(&w, &c, &utc_zone, d1 + 10, NULL));
	window_record(&w, &c, &utc_zone, d1 + 10, NULL);
	cr_expect_not(window_reached(&w, &c, &utc_zone, d1 + 20, NULL));
	window_record(&w, &c, &utc_zone, d1 + 20, NULL);
	cr_expect_eq(w.count, 2);
	cr_expect_eq(w.period, d1);

	cmr_time frees = 0;
	cr_expect(window_reached(&w, &c, &utc_zone, d1 + 86399, &frees),
		  "23:59:59 the same day");
	cr_expect_eq(frees, d1 + 86400, "frees at the next midnight");
	cr_expect_not(window_reached(&w, &c, &utc_zone, d1 + 86400, NULL),
		      "00:00:00 the next day");
	window_free(&w);
}

Test(window, calendar_period_change_resets_count)
{
	struct window w;
	struct cap c = calendar(2, CAP_DAY);
	cr_assert_eq(window_init(&w, &c), 0);
	cmr_time d1 = utc(2026, 6, 10, 0, 0, 0);
	window_record(&w, &c, &utc_zone, d1 + 1, NULL);
	window_record(&w, &c, &utc_zone, d1 + 2, NULL);

	struct snapshot s;
	snap(&s, &w);
	struct window_undo u;
	window_record(&w, &c, &utc_zone, d1 + 86400 + 5, &u);
	cr_expect_eq(w.period, d1 + 86400);
	cr_expect_eq(w.count, 1, "a new day starts at zero: %u", w.count);
	cr_expect_not(window_reached(&w, &c, &utc_zone, d1 + 86400 + 6, NULL));
	window_undo(&w, &u);
	expect_same(&w, &s);
	cr_expect(window_reached(&w, &c, &utc_zone, d1 + 3, NULL));

	/* Days skipped entirely: the count still starts again. */
	window_record(&w, &c, &utc_zone, d1 + 9 * 86400, NULL);
	cr_expect_eq(w.count, 1);
	cr_expect_eq(w.period, d1 + 9 * 86400);
	window_free(&w);
}

Test(window, calendar_week_and_month_utc)
{
	struct window w;
	struct cap wk = calendar(1, CAP_WEEK);
	cr_assert_eq(window_init(&w, &wk), 0);
	cmr_time mon = utc(2026, 6, 8, 0, 0, 0);
	window_record(&w, &wk, &utc_zone, mon + 3600, NULL);
	cr_expect_eq(w.period, mon, "a week starts on Monday");
	cmr_time frees = 0;
	cr_expect(
		window_reached(&w, &wk, &utc_zone, mon + 7 * 86400 - 1, &frees),
		"Sunday 23:59:59");
	cr_expect_eq(frees, mon + 7 * 86400);
	cr_expect_not(window_reached(&w, &wk, &utc_zone, mon + 7 * 86400, NULL),
		      "Monday 00:00:00");
	window_free(&w);

	struct cap mo = calendar(1, CAP_MONTH);
	cr_assert_eq(window_init(&w, &mo), 0);
	window_record(&w, &mo, &utc_zone, utc(2026, 2, 14, 12, 0, 0), NULL);
	cr_expect_eq(w.period, utc(2026, 2, 1, 0, 0, 0));
	cr_expect(window_reached(&w, &mo, &utc_zone,
				 utc(2026, 2, 28, 23, 59, 59), &frees));
	cr_expect_eq(frees, utc(2026, 3, 1, 0, 0, 0));
	cr_expect_not(window_reached(&w, &mo, &utc_zone,
				     utc(2026, 3, 1, 0, 0, 0), NULL));
	window_free(&w);
}

Test(window, calendar_day_in_berlin)
{
	struct tz berlin;
	load_zone(&berlin, "Europe/Berlin");
	struct window w;
	struct cap c = calendar(1, CAP_DAY);
	cr_assert_eq(window_init(&w, &c), 0);
	/* 2026-06-10 00:30 CEST is 2026-06-09 22:30 UTC. */
	window_record(&w, &c, &berlin, utc(2026, 6, 9, 22, 30, 0), NULL);
	cr_expect_eq(w.period, utc(2026, 6, 9, 22, 0, 0),
		     "the local day began at 22:00 UTC");
	cmr_time frees = 0;
	cr_expect(window_reached(&w, &c, &berlin, utc(2026, 6, 10, 21, 59, 59),
				 &frees),
		  "23:59:59 CEST is the same local day");
	cr_expect_eq(frees, utc(2026, 6, 10, 22, 0, 0));
	cr_expect_not(window_reached(&w, &c, &berlin,
				     utc(2026, 6, 10, 22, 0, 0), NULL));
	window_free(&w);
	tz_free(&berlin);
}

Test(window, calendar_lower_max_reads_history)
{
	struct window w;
	struct cap five = calendar(5, CAP_DAY);
	struct cap three = calendar(3, CAP_DAY);
	cr_assert_eq(window_init(&w, &five), 0);
	cmr_time d = utc(2026, 6, 10, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		window_record(&w, &five, &utc_zone, d + i, NULL);
	cr_expect_not(window_reached(&w, &five, &utc_zone, d + 9, NULL));
	cr_expect(window_reached(&w, &three, &utc_zone, d + 9, NULL),
		  "4 today, the new max is 3");
	window_free(&w);
}

Test(window, rolling_built_for_another_max)
{
	struct window w;
	struct cap built = rolling(5, 100);
	cr_assert_eq(window_init(&w, &built), 0);
	for (int i = 0; i < 7; i++) /* keeps 1020 … 1060 */
		window_record(&w, &built, &utc_zone, 1000 + 10 * i, NULL);

	/* A smaller max: the max-th most recent delivery decides. */
	struct cap two = rolling(2, 100);
	cmr_time frees = 0;
	cr_expect(window_reached(&w, &two, &utc_zone, 1100, &frees));
	cr_expect_eq(frees, 1150, "2nd most recent is 1050: %lld",
		     (long long)frees);
	cr_expect_not(window_reached(&w, &two, &utc_zone, 1150, NULL));

	/* A longer window with the same max. */
	struct cap longer = rolling(5, 1000);
	cr_expect(window_reached(&w, &longer, &utc_zone, 1500, &frees));
	cr_expect_eq(frees, 2020);

	/* A larger max than the ring can tell: not reached. */
	struct cap ten = rolling(10, 100000);
	cr_expect_not(window_reached(&w, &ten, &utc_zone, 1070, NULL));

	/* Another unit: the ring says nothing about days. */
	struct cap day = calendar(1, CAP_DAY);
	cr_expect_not(window_reached(&w, &day, &utc_zone, 1070, NULL));

	/* record under another unit counts nothing. */
	struct snapshot s;
	snap(&s, &w);
	window_record(&w, &day, &utc_zone, 1080, NULL);
	expect_same(&w, &s);
	window_free(&w);
}

Test(window, calendar_built_for_another_unit)
{
	struct window w;
	struct cap day = calendar(1, CAP_DAY);
	cr_assert_eq(window_init(&w, &day), 0);
	cmr_time d = utc(2026, 6, 10, 12, 0, 0);
	window_record(&w, &day, &utc_zone, d, NULL);
	cr_expect(window_reached(&w, &day, &utc_zone, d + 1, NULL));

	struct cap week = calendar(1, CAP_WEEK);
	cr_expect_not(window_reached(&w, &week, &utc_zone, d + 1, NULL),
		      "a day count is no week count");
	struct cap roll = rolling(1, 3600);
	cr_expect_not(window_reached(&w, &roll, &utc_zone, d + 1, NULL),
		      "no ring: not reached");
	window_free(&w);

	/* A window built for no cap has no history at all. */
	struct cap none = { .unit = CAP_NONE };
	cr_assert_eq(window_init(&w, &none), 0);
	window_record(&w, &none, &utc_zone, d, NULL);
	cr_expect_not(window_reached(&w, &day, &utc_zone, d + 1, NULL));
	cr_expect_not(window_reached(&w, &roll, &utc_zone, d + 1, NULL));
	window_free(&w);
}

Test(window, max_zero_is_reached_for_ever)
{
	struct cap caps[] = {
		rolling(0, 60),
		calendar(0, CAP_DAY),
		calendar(0, CAP_WEEK),
		calendar(0, CAP_MONTH),
	};
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct window w;
		cr_assert_eq(window_init(&w, &caps[i]), 0);
		cmr_time frees = 0;
		cr_expect(window_reached(&w, &caps[i], &utc_zone, 1000, &frees),
			  "cap %u, empty window", i);
		cr_expect_eq(frees, WINDOW_NEVER, "cap %u", i);
		window_free(&w);
	}

	/* Also when read through a window built for a larger cap. */
	struct window w;
	struct cap built = rolling(3, 60);
	cr_assert_eq(window_init(&w, &built), 0);
	cmr_time frees = 0;
	cr_expect(window_reached(&w, &caps[0], &utc_zone, 1000, &frees));
	cr_expect_eq(frees, WINDOW_NEVER);
	cr_expect(window_reached(&w, &caps[1], &utc_zone, 1000, &frees));
	cr_expect_eq(frees, WINDOW_NEVER);
	window_free(&w);
}
