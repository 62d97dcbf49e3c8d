/*
 * test_tz.c — tests of the TZif parser and local-time arithmetic (tz.h).
 *
 * Real zones are read from /usr/share/zoneinfo, so the tests exercise the
 * data the server will meet; hand-built TZif files cover footers and damage
 * the system's files do not show. Expected instants are written as civil
 * UTC times (U) and checked against fixed epoch values once, so a broken
 * civil_to_days cannot hide behind itself.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

#define H 3600

enum { ZONE_MAX = 1 << 16 };

/* Reads a zone file into buf; returns its length. */
static size_t zone_bytes(const char *name, uint8_t *buf, size_t cap)
{
	char path[256];
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	len = fread(buf, 1, cap, f);
	fclose(f);
	cr_assert(len > 0 && len < cap, "%s: unexpected size", path);
	return len;
}

static void zone_load(const char *name, struct tz *z)
{
	static uint8_t buf[ZONE_MAX];
	char err[128] = "";
	size_t len = zone_bytes(name, buf, sizeof(buf));

	cr_assert_eq(tz_parse(buf, len, z, err, sizeof(err)), 0, "%s: %s", name,
		     err);
}

/* UTC instant (or local seconds) of a civil date and time. */
static int64_t U(int64_t y, unsigned mo, unsigned d, int h, int mi, int s)
{
	return civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* ---- civil calendar ---- */

Test(civil, known_days)
{
	cr_assert_eq(civil_to_days(1970, 1, 1), 0);
	cr_assert_eq(civil_to_days(1969, 12, 31), -1);
	cr_assert_eq(civil_to_days(2000, 3, 1), 11017);
	cr_assert_eq(civil_to_days(2026, 3, 29), 20541);
	cr_assert_eq(civil_to_days(1600, 1, 1), -135140);
	cr_assert_eq(U(2026, 3, 29, 1, 0, 0), 1774746000);
	cr_assert_eq(U(2150, 1, 1, 0, 0, 0), 5680281600);
}

Test(civil, round_trip)
{
	for (int64_t days = -800000; days <= 800000; days += 7) {
		int64_t y;
		unsigned m, d;

		civil_from_days(days, &y, &m, &d);
		cr_assert(m >= 1 && m <= 12 && d >= 1 && d <= 31);
		cr_assert_eq(civil_to_days(y, m, d), days, "day %lld",
			     (long long)days);
	}
}

Test(civil, leap_days)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(civil_to_days(2028, 2, 29), &y, &m, &d);
	cr_assert(y == 2028 && m == 2 && d == 29);
	cr_assert_eq(civil_to_days(2028, 3, 1) - civil_to_days(2028, 2, 28), 2);
	cr_assert_eq(civil_to_days(2100, 3, 1) - civil_to_days(2100, 2, 28), 1);
	cr_assert_eq(civil_to_days(2000, 3, 1) - civil_to_days(2000, 2, 28), 2);
	civil_from_days(-1, &y, &m, &d);
	cr_assert(y == 1969 && m == 12 && d == 31);
}

Test(civil, weekday)
{
	cr_assert_eq(civil_weekday(0), 3); /* 1970-01-01, Thursday */
	cr_assert_eq(civil_weekday(-1), 2);
	cr_assert_eq(civil_weekday(-4), 6);
	cr_assert_eq(civil_weekday(civil_to_days(2026, 12, 28)), 0);
	cr_assert_eq(civil_weekday(civil_to_days(2026, 12, 31)), 3);
	cr_assert_eq(civil_weekday(civil_to_days(2027, 1, 3)), 6);
	cr_assert_eq(civil_weekday(civil_to_days(1900, 1, 1)), 0);
	cr_assert(civil_weekday(INT64_MAX) < 7 && civil_weekday(INT64_MIN) < 7);
}

/* ---- UTC ---- */

Test(tz, utc_builtin)
{
	struct tz z;

	tz_utc(&z);
	cr_assert_eq(z.n, 0);
	cr_assert_eq(tz_offset(&z, 1774746000), 0);
	cr_assert_eq(tz_local_to_utc(&z, 1774746000), 1774746000);
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, U(2026, 5, 5, 13, 0, 0)),
		     U(2026, 5, 5, 0, 0, 0));
	tz_free(&z); /* a no-op on the built-in zone */
	tz_free(&z);
}

Test(tz, utc_file)
{
	struct tz z;

	zone_load("UTC", &z);
	cr_assert_eq(z.n, 0);
	cr_assert_eq(z.initial, 0);
	cr_assert_eq(tz_offset(&z, U(2150, 7, 1, 0, 0, 0)), 0);
	cr_assert_eq(tz_local_to_utc(&z, -5), -5);
	tz_free(&z);
	cr_assert_eq(z.n, 0);
	cr_assert_null(z.at);
}

/* ---- offsets around transitions ---- */

Test(tz, berlin_offsets)
{
	struct tz z;
	int64_t spring = U(2026, 3, 29, 1, 0, 0);
	int64_t fall = U(2026, 10, 25, 1, 0, 0);

	zone_load("Europe/Berlin", &z);
	cr_assert_eq(tz_offset(&z, spring - 1), 1 * H);
	cr_assert_eq(tz_offset(&z, spring), 2 * H);
	cr_assert_eq(tz_offset(&z, fall - 1), 2 * H);
	cr_assert_eq(tz_offset(&z, fall), 1 * H);
	cr_assert_eq(tz_offset(&z, U(1900, 1, 1, 0, 0, 0)), 1 * H);
	for (int32_t i = 1; i < z.n; i++)
		cr_assert_lt(z.at[i - 1], z.at[i]);
	tz_free(&z);
}

Test(tz, new_york_offsets)
{
	struct tz z;
	int64_t spring = U(2026, 3, 8, 7, 0, 0);
	int64_t fall = U(2026, 11, 1, 6, 0, 0);

	zone_load("America/New_York", &z);
	cr_assert_eq(tz_offset(&z, spring - 1), -5 * H);
	cr_assert_eq(tz_offset(&z, spring), -4 * H);
	cr_assert_eq(tz_offset(&z, fall - 1), -4 * H);
	cr_assert_eq(tz_offset(&z, fall), -5 * H);
	tz_free(&z);
}

Test(tz, far_future_from_footer)
{
	struct tz z;

	zone_load("Europe/Berlin", &z);
	cr_assert_eq(tz_offset(&z, U(2150, 3, 29, 1, 0, 0) - 1), 1 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 3, 29, 1, 0, 0)), 2 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 10, 25, 1, 0, 0) - 1), 2 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 10, 25, 1, 0, 0)), 1 * H);
	cr_assert_eq(tz_offset(&z, U(TZ_HORIZON_YEAR, 7, 1, 0, 0, 0)), 2 * H);
	cr_assert_eq(tz_local_to_utc(&z, U(2150, 3, 29, 2, 30, 0)),
		     U(2150, 3, 29, 1, 0, 0));
	tz_free(&z);

	zone_load("America/New_York", &z);
	cr_assert_eq(tz_offset(&z, U(2150, 3, 8, 7, 0, 0) - 1), -5 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 3, 8, 7, 0, 0)), -4 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 11, 1, 6, 0, 0) - 1), -4 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 11, 1, 6, 0, 0)), -5 * H);
	tz_free(&z);
}

Test(tz, other_zones)
{
	struct tz z;

	/* Half-hour DST on a half-hour standard offset, southern summer. */
	zone_load("Australia/Lord_Howe", &z);
	cr_assert_eq(tz_offset(&z, U(2026, 1, 15, 0, 0, 0)), 11 * H);
	cr_assert_eq(tz_offset(&z, U(2026, 7, 15, 0, 0, 0)), 10 * H + 1800);
	cr_assert_eq(tz_offset(&z, U(2150, 1, 15, 0, 0, 0)), 11 * H);
	tz_free(&z);

	zone_load("Asia/Kolkata", &z);
	cr_assert_eq(tz_offset(&z, U(2026, 1, 15, 0, 0, 0)), 5 * H + 1800);
	cr_assert_eq(tz_offset(&z, U(2190, 7, 15, 0, 0, 0)), 5 * H + 1800);
	tz_free(&z);

	/* Negative DST: Irish winter time is the "daylight" one, but only
	 * offsets matter here. */
	zone_load("Europe/Dublin", &z);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 29, 1, 0, 0) - 1), 0);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 29, 1, 0, 0)), 1 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 10, 25, 1, 0, 0) - 1), 1 * H);
	cr_assert_eq(tz_offset(&z, U(2150, 10, 25, 1, 0, 0)), 0);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 10, 25, 1, 30, 0)),
		     U(2026, 10, 25, 0, 30, 0));
	tz_free(&z);
}

/* ---- local to UTC ---- */

Test(tz, berlin_gap_maps_to_transition)
{
	struct tz z;
	int64_t t = U(2026, 3, 29, 1, 0, 0);

	zone_load("Europe/Berlin", &z);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 29, 1, 59, 59)), t - 1);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 29, 2, 0, 0)), t);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 29, 2, 30, 0)), t);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 29, 2, 59, 59)), t);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 29, 3, 0, 0)), t);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 29, 3, 0, 1)), t + 1);
	tz_free(&z);
}

Test(tz, berlin_overlap_maps_to_first)
{
	struct tz z;

	zone_load("Europe/Berlin", &z);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 10, 25, 1, 59, 59)),
		     U(2026, 10, 24, 23, 59, 59));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 10, 25, 2, 0, 0)),
		     U(2026, 10, 25, 0, 0, 0));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 10, 25, 2, 30, 0)),
		     U(2026, 10, 25, 0, 30, 0));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 10, 25, 2, 59, 59)),
		     U(2026, 10, 25, 0, 59, 59));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 10, 25, 3, 0, 0)),
		     U(2026, 10, 25, 2, 0, 0));
	tz_free(&z);
}

Test(tz, new_york_gap_and_overlap)
{
	struct tz z;

	zone_load("America/New_York", &z);
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 8, 1, 59, 59)),
		     U(2026, 3, 8, 6, 59, 59));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 8, 2, 30, 0)),
		     U(2026, 3, 8, 7, 0, 0));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 3, 8, 3, 0, 0)),
		     U(2026, 3, 8, 7, 0, 0));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 11, 1, 0, 59, 59)),
		     U(2026, 11, 1, 4, 59, 59));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 11, 1, 1, 0, 0)),
		     U(2026, 11, 1, 5, 0, 0));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 11, 1, 1, 30, 0)),
		     U(2026, 11, 1, 5, 30, 0));
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 11, 1, 2, 0, 0)),
		     U(2026, 11, 1, 7, 0, 0));
	tz_free(&z);
}

Test(tz, round_trip_outside_transitions)
{
	struct tz z;

	zone_load("America/New_York", &z);
	for (int64_t t = U(2025, 1, 1, 0, 0, 0); t < U(2028, 1, 1, 0, 0, 0);
	     t += 3 * H + 7) {
		int64_t local = t + tz_offset(&z, t);
		int64_t back = tz_local_to_utc(&z, local);

		/* Only the repeated hour may map to its earlier copy. */
		cr_assert(back == t || back == t - H, "t=%lld", (long long)t);
	}
	tz_free(&z);
}

/* ---- periods ---- */

Test(period, day_23_and_25_hours)
{
	struct tz z;
	int64_t s, n;

	zone_load("Europe/Berlin", &z);
	s = tz_period_start(&z, PERIOD_DAY, U(2026, 3, 29, 12, 0, 0));
	n = tz_period_next(&z, PERIOD_DAY, U(2026, 3, 29, 12, 0, 0));
	cr_assert_eq(s, U(2026, 3, 28, 23, 0, 0));
	cr_assert_eq(n, U(2026, 3, 29, 22, 0, 0));
	cr_assert_eq(n - s, 23 * H);

	s = tz_period_start(&z, PERIOD_DAY, U(2026, 10, 25, 1, 30, 0));
	n = tz_period_next(&z, PERIOD_DAY, U(2026, 10, 25, 1, 30, 0));
	cr_assert_eq(s, U(2026, 10, 24, 22, 0, 0));
	cr_assert_eq(n, U(2026, 10, 25, 23, 0, 0));
	cr_assert_eq(n - s, 25 * H);
	tz_free(&z);

	zone_load("America/New_York", &z);
	s = tz_period_start(&z, PERIOD_DAY, U(2026, 11, 1, 12, 0, 0));
	n = tz_period_next(&z, PERIOD_DAY, U(2026, 11, 1, 12, 0, 0));
	cr_assert_eq(s, U(2026, 11, 1, 4, 0, 0));
	cr_assert_eq(n - s, 25 * H);
	tz_free(&z);
}

Test(period, day_edges)
{
	struct tz z;
	int64_t start = U(2026, 6, 9, 22, 0, 0); /* Berlin 2026-06-10 00:00 */
	int64_t next = U(2026, 6, 10, 22, 0, 0);

	zone_load("Europe/Berlin", &z);
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, start), start);
	cr_assert_eq(tz_period_next(&z, PERIOD_DAY, start), next);
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, next - 1), start);
	cr_assert_eq(tz_period_next(&z, PERIOD_DAY, next - 1), next);
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, start - 1),
		     start - 24 * H);
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, next), next);
	tz_free(&z);
}

Test(period, iso_week_across_year)
{
	struct tz z;
	int64_t mon = U(2026, 12, 27, 23, 0, 0); /* 2026-12-28 00:00 CET */
	int64_t next = U(2027, 1, 3, 23, 0, 0);	 /* 2027-01-04 00:00 CET */

	zone_load("Europe/Berlin", &z);
	cr_assert_eq(
		tz_period_start(&z, PERIOD_WEEK, U(2026, 12, 31, 11, 0, 0)),
		mon);
	cr_assert_eq(tz_period_next(&z, PERIOD_WEEK, U(2026, 12, 31, 11, 0, 0)),
		     next);
	/* Sunday 2027-01-03 23:30 local still belongs to that week. */
	cr_assert_eq(tz_period_start(&z, PERIOD_WEEK, U(2027, 1, 3, 22, 30, 0)),
		     mon);
	cr_assert_eq(tz_period_start(&z, PERIOD_WEEK, next), next);
	cr_assert_eq(tz_period_start(&z, PERIOD_WEEK, mon), mon);
	cr_assert_eq(tz_period_start(&z, PERIOD_WEEK, mon - 1),
		     mon - 7 * 24 * H);
	tz_free(&z);
}

Test(period, week_with_dst_change)
{
	struct tz z;

	zone_load("Europe/Berlin", &z);
	/* Monday 2026-03-23 to Monday 2026-03-30: 167 hours. */
	cr_assert_eq(tz_period_start(&z, PERIOD_WEEK, U(2026, 3, 29, 5, 0, 0)),
		     U(2026, 3, 22, 23, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_WEEK, U(2026, 3, 29, 5, 0, 0)),
		     U(2026, 3, 29, 22, 0, 0));
	tz_free(&z);
}

Test(period, months)
{
	struct tz z;

	zone_load("Europe/Berlin", &z);
	/* December into January. */
	cr_assert_eq(
		tz_period_start(&z, PERIOD_MONTH, U(2026, 12, 15, 0, 0, 0)),
		U(2026, 11, 30, 23, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_MONTH, U(2026, 12, 15, 0, 0, 0)),
		     U(2026, 12, 31, 23, 0, 0));
	/* New Year's first local hour is still UTC December 31. */
	cr_assert_eq(
		tz_period_start(&z, PERIOD_MONTH, U(2026, 12, 31, 23, 30, 0)),
		U(2026, 12, 31, 23, 0, 0));
	/* February of a leap year has 29 days. */
	cr_assert_eq(
		tz_period_start(&z, PERIOD_MONTH, U(2028, 2, 29, 12, 0, 0)),
		U(2028, 1, 31, 23, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_MONTH, U(2028, 2, 29, 12, 0, 0)),
		     U(2028, 2, 29, 23, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_MONTH, U(2027, 2, 10, 12, 0, 0)),
		     U(2027, 2, 28, 23, 0, 0));
	/* March loses an hour: starts in CET, ends in CEST. */
	cr_assert_eq(tz_period_start(&z, PERIOD_MONTH, U(2026, 3, 30, 0, 0, 0)),
		     U(2026, 2, 28, 23, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_MONTH, U(2026, 3, 30, 0, 0, 0)),
		     U(2026, 3, 31, 22, 0, 0));
	tz_free(&z);
}

Test(period, skipped_midnight_santiago)
{
	struct tz z;

	zone_load("America/Santiago", &z);
	/* Saturday 2026-09-05 24:00 (-04) became Sunday 01:00 (-03): the
	 * local Sunday starts at the transition and lasts 23 hours. */
	cr_assert_eq(tz_local_to_utc(&z, U(2026, 9, 6, 0, 0, 0)),
		     U(2026, 9, 6, 4, 0, 0));
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, U(2026, 9, 6, 12, 0, 0)),
		     U(2026, 9, 6, 4, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_DAY, U(2026, 9, 6, 12, 0, 0)),
		     U(2026, 9, 7, 3, 0, 0));
	/* The week holding that Sunday began on Monday 31 August, in winter
	 * time. */
	cr_assert_eq(tz_period_start(&z, PERIOD_WEEK, U(2026, 9, 6, 12, 0, 0)),
		     U(2026, 8, 31, 4, 0, 0));
	/* In April the clock goes back from 24:00 to 23:00: Saturday 2026-04-04
	 * lasts 25 hours and Sunday starts after the repeated hour. */
	cr_assert_eq(tz_period_next(&z, PERIOD_DAY, U(2026, 4, 4, 12, 0, 0)),
		     U(2026, 4, 5, 4, 0, 0));
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, U(2026, 4, 4, 12, 0, 0)),
		     U(2026, 4, 4, 3, 0, 0));
	tz_free(&z);
}

Test(period, clock_back_across_midnight)
{
	struct tz z;
	int64_t back = U(2009, 11, 1, 3, 1, 0);

	/* Goose Bay went from 00:01 ADT back to 23:01 AST, so the first minute
	 * of November 1 was shown before the repeated hour of October 31. The
	 * day after an instant in that hour must still lie after it. */
	zone_load("America/Goose_Bay", &z);
	cr_assert_eq(tz_offset(&z, back), -4 * H);
	cr_assert_eq(tz_period_start(&z, PERIOD_DAY, back),
		     U(2009, 10, 31, 3, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_DAY, back),
		     U(2009, 11, 1, 4, 0, 0));
	cr_assert_eq(tz_period_next(&z, PERIOD_DAY, back - 120),
		     U(2009, 11, 1, 3, 0, 0));
	tz_free(&z);
}

Test(period, invariants_over_years)
{
	static const char *const names[] = {
		"Europe/Berlin",     "America/New_York",    "America/Santiago",
		"Asia/Beirut",	     "Australia/Lord_Howe", "Pacific/Apia",
		"America/Goose_Bay", "Europe/Dublin",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct tz z;

		zone_load(names[i], &z);
		for (int64_t t = U(1990, 1, 1, 0, 0, 0);
		     t < U(2040, 1, 1, 0, 0, 0); t += 5 * H + 13) {
			for (int p = PERIOD_DAY; p <= PERIOD_MONTH; p++) {
				int64_t s = tz_period_start(&z, p, t);
				int64_t n = tz_period_next(&z, p, t);

				cr_assert(s <= t && t < n, "%s p%d t=%lld",
					  names[i], p, (long long)t);
			}
		}
		tz_free(&z);
	}
}

/* ---- hand-built TZif ---- */

/* A minimal v2 file: an empty v1 block, then a v2 block with the given
 * transitions, each into type idx[i], and the footer. */
struct tzif_spec {
	int ntimes;
	const int64_t *times;
	const uint8_t *idx;
	int ntypes;
	const int32_t *utoff;
	const char *footer; /* NULL: no footer bytes at all */
	char version;
};

static void put32(uint8_t **p, uint32_t v)
{
	(*p)[0] = (uint8_t)(v >> 24);
	(*p)[1] = (uint8_t)(v >> 16);
	(*p)[2] = (uint8_t)(v >> 8);
	(*p)[3] = (uint8_t)v;
	*p += 4;
}

static void put_header(uint8_t **p, char version, uint32_t timecnt,
		       uint32_t typecnt, uint32_t charcnt)
{
	memcpy(*p, "TZif", 4);
	(*p)[4] = (uint8_t)version;
	memset(*p + 5, 0, 15);
	*p += 20;
	put32(p, 0); /* isutcnt */
	put32(p, 0); /* isstdcnt */
	put32(p, 0); /* leapcnt */
	put32(p, timecnt);
	put32(p, typecnt);
	put32(p, charcnt);
}

static size_t tzif_build(const struct tzif_spec *s, uint8_t *buf)
{
	uint8_t *p = buf;

	put_header(&p, s->version, 0, 1, 4);
	memset(p, 0, 6 + 4); /* one UTC type, "UTC\0" */
	memcpy(p + 6, "UTC", 4);
	p += 10;
	put_header(&p, s->version, (uint32_t)s->ntimes, (uint32_t)s->ntypes, 4);
	for (int i = 0; i < s->ntimes; i++) {
		put32(&p, (uint32_t)((uint64_t)s->times[i] >> 32));
		put32(&p, (uint32_t)s->times[i]);
	}
	for (int i = 0; i < s->ntimes; i++)
		*p++ = s->idx[i];
	for (int i = 0; i < s->ntypes; i++) {
		put32(&p, (uint32_t)s->utoff[i]);
		*p++ = 0;
		*p++ = 0;
	}
	memcpy(p, "ABC", 4);
	p += 4;
	if (s->footer) {
		size_t n = strlen(s->footer);

		*p++ = '\n';
		memcpy(p, s->footer, n);
		p += n;
		*p++ = '\n';
	}
	return (size_t)(p - buf);
}

static int footer_parse(const char *footer, struct tz *z)
{
	static const int32_t utoff[] = { 0 };
	struct tzif_spec s = { 0, NULL, NULL, 1, utoff, footer, '2' };
	uint8_t buf[512];
	char err[128];

	return tz_parse(buf, tzif_build(&s, buf), z, err, sizeof(err));
}

Test(footer, fixed_offsets)
{
	struct tz z;

	cr_assert_eq(footer_parse("<+0330>-3:30", &z), 0);
	cr_assert_eq(z.n, 0);
	tz_free(&z);
	cr_assert_eq(footer_parse("UTC0", &z), 0);
	tz_free(&z);
	cr_assert_eq(footer_parse("", &z), 0);
	tz_free(&z);
}

Test(footer, rule_without_stored_transitions)
{
	struct tz z;

	cr_assert_eq(footer_parse("EST5EDT,M3.2.0,M11.1.0", &z), 0);
	cr_assert_eq(z.initial, -5 * H);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 8, 7, 0, 0) - 1), -5 * H);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 8, 7, 0, 0)), -4 * H);
	cr_assert_eq(tz_offset(&z, U(1850, 7, 1, 0, 0, 0)), -4 * H);
	for (int32_t i = 1; i < z.n; i++)
		cr_assert_lt(z.at[i - 1], z.at[i]);
	tz_free(&z);
}

Test(footer, julian_day_forms)
{
	struct tz z;

	/* Jn never counts February 29: J60 is March 1 in every year. */
	cr_assert_eq(footer_parse("AAA0BBB,J60/0,J300/0", &z), 0);
	cr_assert_eq(tz_offset(&z, U(2028, 3, 1, 0, 0, 0) - 1), 0);
	cr_assert_eq(tz_offset(&z, U(2028, 3, 1, 0, 0, 0)), H);
	cr_assert_eq(tz_offset(&z, U(2027, 3, 1, 0, 0, 0)), H);
	tz_free(&z);
	/* n counts from 0 and counts February 29: day 59 is Feb 29 in 2028. */
	cr_assert_eq(footer_parse("AAA0BBB,59/0,300/0", &z), 0);
	cr_assert_eq(tz_offset(&z, U(2028, 2, 29, 0, 0, 0) - 1), 0);
	cr_assert_eq(tz_offset(&z, U(2028, 2, 29, 0, 0, 0)), H);
	cr_assert_eq(tz_offset(&z, U(2027, 3, 1, 0, 0, 0) - 1), 0);
	cr_assert_eq(tz_offset(&z, U(2027, 3, 1, 0, 0, 0)), H);
	tz_free(&z);
}

Test(footer, extended_and_negative_rule_times)
{
	struct tz z;

	/* America/Nuuk style: "-1" means 23:00 the day before. */
	cr_assert_eq(footer_parse("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", &z), 0);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 29, 1, 0, 0) - 1), -2 * H);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 29, 1, 0, 0)), -1 * H);
	tz_free(&z);
	/* 167 hours after the start of March's first Sunday (the 1st). */
	cr_assert_eq(footer_parse("AAA0BBB,M3.1.0/167,M10.1.0/-167", &z), 0);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 7, 23, 0, 0) - 1), 0);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 7, 23, 0, 0)), H);
	/* October's first Sunday (the 4th) minus 167 h, read in DST. */
	cr_assert_eq(tz_offset(&z, U(2026, 9, 27, 0, 0, 0) - 1), H);
	cr_assert_eq(tz_offset(&z, U(2026, 9, 27, 0, 0, 0)), 0);
	tz_free(&z);
	/* Daylight time all year, written as RFC 8536 suggests. */
	cr_assert_eq(footer_parse("EST5EDT,0/0,J365/25", &z), 0);
	cr_assert_eq(tz_offset(&z, U(2030, 1, 1, 5, 0, 0)), -4 * H);
	cr_assert_eq(tz_offset(&z, U(2030, 12, 31, 12, 0, 0)), -4 * H);
	cr_assert_eq(tz_offset(&z, U(2031, 1, 1, 5, 0, 0)), -4 * H);
	cr_assert_lt(z.n, 4);
	tz_free(&z);
}

Test(footer, explicit_dst_offset_and_last_week)
{
	struct tz z;

	cr_assert_eq(footer_parse("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", &z),
		     0);
	cr_assert_eq(tz_offset(&z, U(2030, 1, 1, 0, 0, 0)), 11 * H);
	cr_assert_eq(tz_offset(&z, U(2030, 6, 1, 0, 0, 0)), 10 * H + 1800);
	tz_free(&z);
	/* M2.5.0: the last Sunday of February, in a leap year and not. */
	cr_assert_eq(footer_parse("AAA0BBB,M2.5.0/0,M10.5.0/0", &z), 0);
	cr_assert_eq(tz_offset(&z, U(2032, 2, 29, 0, 0, 0)), H);
	cr_assert_eq(tz_offset(&z, U(2032, 2, 29, 0, 0, 0) - 1), 0);
	cr_assert_eq(tz_offset(&z, U(2026, 2, 22, 0, 0, 0)), H);
	tz_free(&z);
}

Test(footer, malformed)
{
	static const char *const bad[] = {
		"CET",				/* no offset */
		"CE-1",				/* name too short */
		"<+03-3",			/* unclosed quoted name */
		"CET-25",			/* offset beyond 24 h */
		"CET-1CEST",			/* DST without a rule */
		"CET-1CEST,M3.5.0",		/* no end rule */
		"CET-1CEST,M13.5.0,M10.5.0",	/* month 13 */
		"CET-1CEST,M3.6.0,M10.5.0",	/* week 6 */
		"CET-1CEST,M3.5.7,M10.5.0",	/* weekday 7 */
		"CET-1CEST,J0,J300",		/* Julian day 0 */
		"CET-1CEST,366,J300",		/* day beyond 365 */
		"CET-1CEST,M3.5.0/168,M10.5.0", /* rule time beyond 167 h */
		"CET-1CEST,M3.5.0/2:60,M10.5.0",
		"CET-1CEST,M3.5.0,M10.5.0/3x", /* trailing garbage */
		"CET-1CEST,M3.5.0,M10.5.0,",
		"CET-1:",
		"CET-99999999999",
	};
	struct tz z;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(footer_parse(bad[i], &z), -1, "%s", bad[i]);
		cr_assert_eq(z.n, 0);
		cr_assert_null(z.at);
		cr_assert_null(z.offset);
	}
}

Test(tzif, stored_and_footer_join)
{
	static const int64_t times[] = { 1000000000, 1100000000 };
	static const uint8_t idx[] = { 1, 0 };
	static const int32_t utoff[] = { 3600, 7200 };
	struct tzif_spec s = { 2,  times, idx,
			       2,  utoff, "CET-1CEST,M3.5.0,M10.5.0/3",
			       '4' };
	uint8_t buf[512];
	char err[128];
	struct tz z;

	cr_assert_eq(tz_parse(buf, tzif_build(&s, buf), &z, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(tz_offset(&z, 999999999), 3600);
	cr_assert_eq(tz_offset(&z, 1000000000), 7200);
	cr_assert_eq(tz_offset(&z, 1100000000), 3600);
	cr_assert_eq(tz_offset(&z, U(2026, 3, 29, 1, 0, 0)), 7200);
	for (int32_t i = 1; i < z.n; i++)
		cr_assert_lt(z.at[i - 1], z.at[i]);
	tz_free(&z);
}

Test(tzif, version_1_only)
{
	uint8_t buf[256], *p = buf;
	char err[128];
	struct tz z;

	put_header(&p, 0, 1, 2, 4);
	put32(&p, 1000000000);
	*p++ = 1;
	put32(&p, 0);
	*p++ = 0;
	*p++ = 0;
	put32(&p, (uint32_t)-18000);
	*p++ = 1;
	*p++ = 0;
	memcpy(p, "ABC", 4);
	p += 4;
	cr_assert_eq(tz_parse(buf, (size_t)(p - buf), &z, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(tz_offset(&z, 999999999), 0);
	cr_assert_eq(tz_offset(&z, 1000000000), -18000);
	tz_free(&z);
}

static void expect_bad(const uint8_t *buf, size_t len, const char *what)
{
	struct tz z;
	char err[128] = "";

	cr_assert_eq(tz_parse(buf, len, &z, err, sizeof(err)), -1, "%s", what);
	cr_assert(err[0] != '\0', "%s: no reason", what);
	cr_assert_eq(z.n, 0, "%s", what);
	cr_assert_null(z.at, "%s", what);
	cr_assert_null(z.offset, "%s", what);
}

Test(tzif, truncated_and_bad_magic)
{
	static uint8_t buf[ZONE_MAX], copy[ZONE_MAX];
	size_t len = zone_bytes("Europe/Berlin", buf, sizeof(buf));
	struct tz z;

	expect_bad(buf, 0, "empty");
	expect_bad(NULL, 0, "null");
	expect_bad(buf, 43, "short header");
	/* Every truncation that loses the footer's final newline fails. */
	for (size_t n = 0; n < len; n += n < 200 ? 1 : 37)
		expect_bad(buf, n, "truncated");
	memcpy(copy, buf, len);
	copy[0] = 'X';
	expect_bad(copy, len, "bad magic");
	memcpy(copy, buf, len);
	copy[4] = '5';
	expect_bad(copy, len, "version 5");
	/* The real file still parses, and so it does with an err of 0. */
	cr_assert_eq(tz_parse(buf, len, &z, NULL, 0), 0);
	tz_free(&z);
}

/* Offsets of the v2 header and data block of a system file. */
static size_t v2_header_at(const uint8_t *buf)
{
	uint32_t c[6];

	for (int i = 0; i < 6; i++)
		c[i] = (uint32_t)buf[20 + 4 * i] << 24 |
		       (uint32_t)buf[21 + 4 * i] << 16 |
		       (uint32_t)buf[22 + 4 * i] << 8 | buf[23 + 4 * i];
	return 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
}

static void set32(uint8_t *p, uint32_t v)
{
	put32(&p, v);
}

Test(tzif, counts_beyond_buffer)
{
	static uint8_t buf[ZONE_MAX], copy[ZONE_MAX];
	size_t len = zone_bytes("America/New_York", buf, sizeof(buf));
	size_t v2 = v2_header_at(buf);
	const size_t fields[] = { 20, 24, 28, 32, 36, 40 };

	for (size_t f = 0; f < 6; f++) {
		memcpy(copy, buf, len);
		set32(copy + fields[f], 0xffffffffu);
		expect_bad(copy, len, "v1 count");
		memcpy(copy, buf, len);
		set32(copy + v2 + fields[f], 0xffffffffu);
		expect_bad(copy, len, "v2 count");
		memcpy(copy, buf, len);
		set32(copy + v2 + fields[f], 0x10000u);
		expect_bad(copy, len, "v2 count, moderate");
	}
	memcpy(copy, buf, len);
	set32(copy + v2 + 36, 0); /* typecnt 0 */
	expect_bad(copy, len, "no types");
}

Test(tzif, bad_contents)
{
	static const int64_t up[] = { 100, 200 };
	static const int64_t down[] = { 200, 100 };
	static const int64_t huge[] = { INT64_MIN };
	static const uint8_t ok_idx[] = { 0, 0 };
	static const uint8_t bad_idx[] = { 0, 2 };
	static const int32_t ok_off[] = { 0, 3600 };
	static const int32_t bad_off[] = { 0, 30 * 3600 };
	const struct tzif_spec specs[] = {
		{ 2, down, ok_idx, 2, ok_off, "UTC0", '2' },
		{ 2, up, ok_idx, 2, ok_off, "UTC0", '2' }, /* the good one */
		{ 2, up, bad_idx, 2, ok_off, "UTC0", '2' },
		{ 2, up, ok_idx, 2, bad_off, "UTC0", '2' },
		{ 1, huge, ok_idx, 2, ok_off, "UTC0", '2' },
		{ 2, up, ok_idx, 2, ok_off, NULL, '2' },
		{ 2, up, ok_idx, 2, ok_off, "UTC0", '1' },
	};
	uint8_t buf[512];
	char err[128];
	struct tz z;

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		size_t len = tzif_build(&specs[i], buf);

		if (i == 1) {
			cr_assert_eq(tz_parse(buf, len, &z, err, sizeof(err)),
				     0, "%s", err);
			tz_free(&z);
			/* Without the footer's closing newline. */
			expect_bad(buf, len - 1, "footer unterminated");
			continue;
		}
		expect_bad(buf, len, "bad contents");
	}
}

Test(tzif, leap_seconds_refused)
{
	static uint8_t buf[ZONE_MAX];
	FILE *f = fopen("/usr/share/zoneinfo/right/UTC", "rb");
	size_t len;

	if (!f)
		cr_skip_test("no leap-second zones installed");
	fclose(f);
	len = zone_bytes("right/UTC", buf, sizeof(buf));

	expect_bad(buf, len, "leap seconds");
}

Test(tzif, error_message_fits)
{
	uint8_t buf[4] = { 'T', 'Z', 'i', 'f' };
	char err[6];
	struct tz z;

	memset(err, 'x', sizeof(err));
	cr_assert_eq(tz_parse(buf, sizeof(buf), &z, err, sizeof(err)), -1);
	cr_assert_eq(err[5], '\0');
}
