/*
 * tz.h — time zones from TZif data (RFC 8536), and local calendar arithmetic.
 *
 * The system's TZif files are read at the edge (src/app/zone.c); this module
 * only parses bytes into a transition table and answers questions about it.
 * The table is complete: the POSIX TZ footer rule of a TZif v2+ file is
 * expanded into explicit transitions up to TZ_HORIZON_YEAR, so the gate never
 * needs to interpret a rule. No I/O, no clock, no globals.
 *
 * "Local seconds" are seconds since 1970-01-01T00:00:00 of the local wall
 * clock, as if that wall clock were UTC: local = utc + offset.
 */
#ifndef CMR_CORE_TZ_H
#define CMR_CORE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"

#define TZ_HORIZON_YEAR 2200 /* footer rules are expanded up to here */

struct tz {
	int32_t n;   /* number of transitions */
	int64_t *at; /* UTC instant of each transition, strictly ascending */
	int32_t *offset; /* UT offset (seconds east) in force from at[i] on */
	int32_t initial; /* UT offset before at[0] (or always, when n == 0) */
};

/* A zone with no transitions and offset 0. Owns nothing; tz_free is a no-op
 * on it. */
void tz_utc(struct tz *out);

/* Parses a TZif file (versions 1–4) held in buf. On success fills *out
 * (which then owns two malloc'd arrays, released by tz_free) and returns 0.
 * On malformed input returns -1, writes a one-line reason into err and
 * leaves *out empty (n == 0, no arrays). Never reads outside buf. */
int tz_parse(const uint8_t *buf, size_t len, struct tz *out, char *err,
	     size_t errlen);

void tz_free(struct tz *z);

/* The UT offset in force at UTC instant t (binary search). */
int32_t tz_offset(const struct tz *z, cmr_time t);

/* The UTC instant of local wall-clock time `local`. A local time that does
 * not exist (skipped by a DST gap) maps to the first instant that does, i.e.
 * the transition; an ambiguous one (repeated when clocks go back) maps to
 * its first occurrence. */
cmr_time tz_local_to_utc(const struct tz *z, int64_t local);

/* Civil calendar (proleptic Gregorian), days since 1970-01-01. */
int64_t civil_to_days(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* ISO weekday of a day number: 0 = Monday … 6 = Sunday. */
unsigned civil_weekday(int64_t days);

/* Calendar periods of the person's local time. */
enum period { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };

/* UTC instant at which the local day / ISO week (Monday) / month containing
 * UTC instant t began, with local midnight resolved as tz_local_to_utc does. */
cmr_time tz_period_start(const struct tz *z, enum period p, cmr_time t);

/* UTC instant at which the next such period begins (the end of t's). */
cmr_time tz_period_next(const struct tz *z, enum period p, cmr_time t);

#endif
