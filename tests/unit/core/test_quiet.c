/*
 * test_quiet.c — tests of quiet hours (quiet.h): the edges of a period,
 * periods that wrap midnight and start only on listed days, and periods
 * whose ends fall into a DST gap or a repeated hour. Zones come from
 * /usr/share/zoneinfo.
 */
#include <criterion/criterion.h>

#include <stdio.h>

#include "quiet.h"

enum { ZONE_MAX = 1 << 16 };

/* ISO weekday bits. */
#define MON	  (1u << 0)
#define TUE	  (1u << 1)
#define FRI	  (1u << 4)
#define SAT	  (1u << 5)
#define SUN	  (1u << 6)
#define EVERY_DAY 0x7fu

static void zone_load(const char *name, struct tz *z)
{
	static uint8_t buf[ZONE_MAX];
	char path[256], err[128] = "";
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_assert_eq(tz_parse(buf, len, z, err, sizeof(err)), 0, "%s: %s", name,
		     err);
}

static int64_t U(int64_t y, unsigned mo, unsigned d, int h, int mi, int s)
{
	return civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static struct quiet_hours hours(int from, int to, unsigned days)
{
	struct quiet_hours q = { (uint16_t)from, (uint16_t)to, (uint8_t)days,
				 1 };

	return q;
}

#define HM(h, m) ((h)*60 + (m))

/* Asserts quiet at t, ending at end. */
static void quiet_until(const struct quiet_hours *q, const struct tz *z,
			int64_t t, int64_t end)
{
	cmr_time ends = -1;

	cr_assert(quiet_active(q, z, t, &ends), "not quiet at %lld",
		  (long long)t);
	cr_assert_eq(ends, end, "t=%lld: ends %lld, want %lld", (long long)t,
		     (long long)ends, (long long)end);
}

static void not_quiet(const struct quiet_hours *q, const struct tz *z,
		      int64_t t)
{
	cmr_time ends = -1;

	cr_assert(!quiet_active(q, z, t, &ends), "quiet at %lld", (long long)t);
	cr_assert_eq(ends, -1, "ends written when not quiet");
}

/* ---- quiet_parse_clock ---- */

Test(quiet_clock, valid)
{
	cr_assert_eq(quiet_parse_clock("00:00"), 0);
	cr_assert_eq(quiet_parse_clock("07:30"), 450);
	cr_assert_eq(quiet_parse_clock("12:05"), 725);
	cr_assert_eq(quiet_parse_clock("23:59"), 1439);
}

Test(quiet_clock, malformed)
{
	static const char *const bad[] = {
		"",	   "7:30",   "07:3",
		"07:300",  "007:30", "07-30",
		"0730",	   "24:00",  "23:60",
		"99:99",   " 07:30", "07:30 ",
		"07:30\n", "+7:30",  "-1:00",
		"0a:00",   "07:3a",  "07:",
		":30",	   "07::30", "\xef\xbc\x97:30",
	};

	cr_assert_eq(quiet_parse_clock(NULL), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(quiet_parse_clock(bad[i]), -1, "\"%s\"", bad[i]);
}

/* ---- plain days (Berlin in June, UTC+2) ---- */

Test(quiet, wrapping_period_edges)
{
	struct quiet_hours q = hours(HM(22, 0), HM(7, 30), EVERY_DAY);
	int64_t end = U(2026, 6, 11, 5, 30, 0); /* Thursday 07:30 */
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 6, 10, 19, 59, 59));	     /* 21:59:59 */
	quiet_until(&q, &z, U(2026, 6, 10, 20, 0, 0), end);  /* first minute */
	quiet_until(&q, &z, U(2026, 6, 10, 22, 30, 0), end); /* 00:30 */
	quiet_until(&q, &z, U(2026, 6, 11, 5, 29, 0), end);  /* last minute */
	quiet_until(&q, &z, U(2026, 6, 11, 5, 29, 59), end);
	not_quiet(&q, &z, U(2026, 6, 11, 5, 30, 0)); /* minute after end */
	not_quiet(&q, &z, U(2026, 6, 11, 12, 0, 0));
	tz_free(&z);
}

Test(quiet, same_day_period_edges)
{
	struct quiet_hours q = hours(HM(12, 0), HM(14, 0), EVERY_DAY);
	int64_t end = U(2026, 6, 10, 12, 0, 0);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 6, 10, 9, 59, 0));
	quiet_until(&q, &z, U(2026, 6, 10, 10, 0, 0), end);
	quiet_until(&q, &z, U(2026, 6, 10, 11, 59, 0), end);
	not_quiet(&q, &z, U(2026, 6, 10, 12, 0, 0));
	not_quiet(&q, &z, U(2026, 6, 10, 21, 0, 0));
	not_quiet(&q, &z, U(2026, 6, 10, 1, 0, 0));
	tz_free(&z);
}

Test(quiet, wrap_starts_only_on_listed_days)
{
	/* Friday nights only: the Saturday small hours belong to Friday's
	 * period, Saturday night starts none. */
	struct quiet_hours q = hours(HM(23, 0), HM(7, 0), FRI);
	int64_t end = U(2026, 6, 13, 5, 0, 0); /* Saturday 07:00 */
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 6, 11, 23, 0, 0));	    /* Friday 01:00 */
	not_quiet(&q, &z, U(2026, 6, 12, 20, 59, 0));	    /* Friday 22:59 */
	quiet_until(&q, &z, U(2026, 6, 12, 21, 0, 0), end); /* Friday 23:00 */
	quiet_until(&q, &z, U(2026, 6, 12, 23, 0, 0), end); /* Sat 01:00 */
	quiet_until(&q, &z, U(2026, 6, 13, 4, 59, 0), end); /* Sat 06:59 */
	not_quiet(&q, &z, U(2026, 6, 13, 5, 0, 0));	    /* Saturday 07:00 */
	not_quiet(&q, &z, U(2026, 6, 13, 21, 0, 0));	    /* Saturday 23:00 */
	not_quiet(&q, &z, U(2026, 6, 13, 23, 0, 0));	    /* Sunday 01:00 */
	tz_free(&z);
}

Test(quiet, same_day_only_on_listed_days)
{
	struct quiet_hours q = hours(HM(9, 0), HM(17, 0), MON | TUE);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	quiet_until(&q, &z, U(2026, 6, 8, 10, 0, 0), U(2026, 6, 8, 15, 0, 0));
	quiet_until(&q, &z, U(2026, 6, 9, 10, 0, 0), U(2026, 6, 9, 15, 0, 0));
	not_quiet(&q, &z, U(2026, 6, 10, 10, 0, 0)); /* Wednesday */
	not_quiet(&q, &z, U(2026, 6, 14, 10, 0, 0)); /* Sunday */
	tz_free(&z);
}

/* ---- DST days in Berlin ---- */

Test(quiet, start_in_spring_gap)
{
	/* 02:30 does not exist on 2026-03-29: quiet from 03:00 CEST on. */
	struct quiet_hours q = hours(HM(2, 30), HM(6, 0), SUN);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 3, 29, 0, 59, 59)); /* 01:59:59 CET */
	quiet_until(&q, &z, U(2026, 3, 29, 1, 0, 0), U(2026, 3, 29, 4, 0, 0));
	quiet_until(&q, &z, U(2026, 3, 29, 3, 59, 0), U(2026, 3, 29, 4, 0, 0));
	not_quiet(&q, &z, U(2026, 3, 29, 4, 0, 0));
	tz_free(&z);
}

Test(quiet, end_in_spring_gap)
{
	/* Saturday 22:00 to Sunday 02:30, which is the transition. */
	struct quiet_hours q = hours(HM(22, 0), HM(2, 30), SAT);
	int64_t end = U(2026, 3, 29, 1, 0, 0);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	quiet_until(&q, &z, U(2026, 3, 28, 21, 0, 0), end);
	quiet_until(&q, &z, U(2026, 3, 29, 0, 59, 59), end);
	not_quiet(&q, &z, end);
	tz_free(&z);
}

Test(quiet, whole_period_in_gap_is_empty)
{
	struct quiet_hours q = hours(HM(2, 10), HM(2, 50), SUN);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 3, 29, 0, 59, 59));
	not_quiet(&q, &z, U(2026, 3, 29, 1, 0, 0));
	/* A week later the same hours exist again. */
	quiet_until(&q, &z, U(2026, 4, 5, 0, 30, 0), U(2026, 4, 5, 0, 50, 0));
	tz_free(&z);
}

Test(quiet, gap_joins_two_periods)
{
	/* Quiet from 02:45 to 02:15 the next day: on 2026-03-29 both ends are
	 * the transition, so Saturday's period runs straight into Sunday's and
	 * the quiet lasts until Monday 02:15 CEST. */
	struct quiet_hours q = hours(HM(2, 45), HM(2, 15), EVERY_DAY);
	int64_t monday = U(2026, 3, 30, 0, 15, 0);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	quiet_until(&q, &z, U(2026, 3, 29, 0, 30, 0), monday);
	quiet_until(&q, &z, U(2026, 3, 29, 1, 0, 0), monday);
	not_quiet(&q, &z, monday);
	/* On an ordinary day the half hour in between stays open. */
	quiet_until(&q, &z, U(2026, 6, 10, 0, 0, 0), U(2026, 6, 10, 0, 15, 0));
	not_quiet(&q, &z, U(2026, 6, 10, 0, 15, 0));
	quiet_until(&q, &z, U(2026, 6, 10, 0, 45, 0), U(2026, 6, 11, 0, 15, 0));
	tz_free(&z);
}

Test(quiet, end_in_repeated_hour_is_first_occurrence)
{
	/* 02:30 happens twice on 2026-10-25; the period ends at the first. */
	struct quiet_hours q = hours(HM(1, 0), HM(2, 30), SUN);
	int64_t end = U(2026, 10, 25, 0, 30, 0);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 10, 24, 22, 59, 0)); /* 00:59 CEST */
	quiet_until(&q, &z, U(2026, 10, 24, 23, 0, 0), end);
	quiet_until(&q, &z, U(2026, 10, 25, 0, 29, 59), end);
	not_quiet(&q, &z, end);
	/* 02:15 CET, the second pass through the hour: already over. */
	not_quiet(&q, &z, U(2026, 10, 25, 1, 15, 0));
	tz_free(&z);
}

Test(quiet, start_in_repeated_hour_is_first_occurrence)
{
	struct quiet_hours q = hours(HM(2, 30), HM(5, 0), SUN);
	int64_t end = U(2026, 10, 25, 4, 0, 0); /* 05:00 CET */
	struct tz z;

	zone_load("Europe/Berlin", &z);
	not_quiet(&q, &z, U(2026, 10, 25, 0, 29, 59));
	quiet_until(&q, &z, U(2026, 10, 25, 0, 30, 0), end);
	quiet_until(&q, &z, U(2026, 10, 25, 1, 20, 0), end);
	not_quiet(&q, &z, end);
	tz_free(&z);
}

Test(quiet, long_night_on_fall_back)
{
	/* The night that gains an hour is an hour longer in UTC. */
	struct quiet_hours q = hours(HM(22, 0), HM(7, 0), SAT);
	struct tz z;

	zone_load("Europe/Berlin", &z);
	quiet_until(&q, &z, U(2026, 10, 24, 20, 0, 0),
		    U(2026, 10, 25, 6, 0, 0));
	tz_free(&z);

	zone_load("America/New_York", &z);
	quiet_until(&q, &z, U(2026, 11, 1, 2, 0, 0), U(2026, 11, 1, 12, 0, 0));
	tz_free(&z);
}

/* ---- unset and invalid ---- */

Test(quiet, unset_and_invalid)
{
	struct quiet_hours q = hours(HM(22, 0), HM(7, 0), EVERY_DAY);
	int64_t night = U(2026, 6, 10, 23, 0, 0);
	struct tz z;

	tz_utc(&z);
	quiet_until(&q, &z, night, U(2026, 6, 11, 7, 0, 0));
	cr_assert(quiet_active(&q, &z, night, NULL));
	q.set = 0;
	not_quiet(&q, &z, night);
	q = hours(HM(22, 0), HM(22, 0), EVERY_DAY);
	not_quiet(&q, &z, night);
	q = hours(1440, HM(7, 0), EVERY_DAY);
	not_quiet(&q, &z, night);
	q = hours(HM(22, 0), HM(7, 0), 0);
	not_quiet(&q, &z, night);
	cr_assert(!quiet_active(NULL, &z, night, NULL));
	/* Absurd instants are answered, not overflowed. */
	q = hours(HM(22, 0), HM(7, 0), EVERY_DAY);
	quiet_active(&q, &z, INT64_MAX, NULL);
	quiet_active(&q, &z, INT64_MIN, NULL);
}
