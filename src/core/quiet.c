/*
 * quiet.c — whether an instant falls inside a person's quiet hours (see
 * quiet.h).
 *
 * A quiet period belongs to the local day it starts on, so the instant's
 * own local day and, for periods that wrap midnight, the day before are the
 * only candidates: a same-day period of yesterday ended before today began,
 * and tomorrow's has not started. Both ends go through tz_local_to_utc,
 * which is monotone in local time, so a period never ends before it starts;
 * one whose ends both fall into the same DST gap is empty. Called once per
 * gate decision: a couple of binary searches, no allocation.
 */
#include "quiet.h"

/* Same bound as tz.c clamps its queries to; keeps now + offset from
 * overflowing on nonsense input. */
#define QUIET_TIME_LIMIT ((int64_t)1 << 61)
#define DAY_SECONDS	 86400
#define DAY_MINUTES	 1440

static int64_t quiet_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return q - (a % b < 0);
}

static bool quiet_starts_on(const struct quiet_hours *q, int64_t day)
{
	return (q->days >> civil_weekday(day)) & 1;
}

/* UTC instant of minute `min` of local day `day`. */
static cmr_time quiet_at(const struct tz *z, int64_t day, unsigned min)
{
	return tz_local_to_utc(z, day * DAY_SECONDS + (int64_t)min * 60);
}

bool quiet_active(const struct quiet_hours *q, const struct tz *z, cmr_time now,
		  cmr_time *ends)
{
	bool wraps;
	int64_t today, day;

	if (!q || !q->set || q->from >= DAY_MINUTES || q->to >= DAY_MINUTES ||
	    q->from == q->to)
		return false;
	if (now < -QUIET_TIME_LIMIT)
		now = -QUIET_TIME_LIMIT;
	if (now > QUIET_TIME_LIMIT)
		now = QUIET_TIME_LIMIT;
	wraps = q->to < q->from;
	today = quiet_floor_div(now + tz_offset(z, now), DAY_SECONDS);

	for (day = today - wraps; day <= today; day++) {
		cmr_time end;

		if (!quiet_starts_on(q, day) || now < quiet_at(z, day, q->from))
			continue;
		end = quiet_at(z, day + wraps, q->to);
		if (now >= end)
			continue;
		/* When a DST gap swallows the minutes between one period's end
		 * and the next one's start, they meet at the same instant; the
		 * person is quiet through both, so report the later end rather
		 * than wake a held message only to hold it again. A week of
		 * days bounds the chain (a zone can skip a whole day). */
		for (int i = 0; i < 7; i++) {
			int64_t next = day + 1 + i;

			if (!quiet_starts_on(q, next) ||
			    quiet_at(z, next, q->from) != end)
				break;
			end = quiet_at(z, next + wraps, q->to);
		}
		if (ends)
			*ends = end;
		return true;
	}
	return false;
}

int quiet_parse_clock(const char *s)
{
	int h, m;

	/* Each test stops at the terminator, so short strings are safe. */
	if (!s || !(s[0] >= '0' && s[0] <= '9') ||
	    !(s[1] >= '0' && s[1] <= '9') || s[2] != ':' ||
	    !(s[3] >= '0' && s[3] <= '9') || !(s[4] >= '0' && s[4] <= '9') ||
	    s[5] != '\0')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}
