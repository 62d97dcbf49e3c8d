/*
 * tz.c — TZif parsing and local-time arithmetic (see tz.h).
 *
 * tz_parse turns a TZif file into one flat table of UTC instants and
 * offsets: the 64-bit block of a v2+ file (the 32-bit block of a v1 file),
 * followed by the footer's POSIX TZ rule expanded year by year up to
 * TZ_HORIZON_YEAR. Transitions that do not change the offset (a new
 * abbreviation, a flip of the isdst flag) are dropped, because nothing here
 * asks for anything but the offset. Every later question is a binary search
 * over that table plus a short forward scan, so the gate's hot path neither
 * allocates nor interprets rules.
 *
 * All local-time resolution rests on one definition: a wall-clock time B
 * resolves to the first UTC instant at which the clock reads B or later.
 * When B exists, that is its first occurrence; when a gap skipped it, that
 * is the transition that jumped over it. Because the definition is monotone
 * in B, a period from B1 to some B2 >= B1 never ends before it starts, which
 * the period and quiet-hours code rely on. Negative DST (Europe/Dublin's
 * winter "GMT" flagged as DST) needs no special case: only offsets matter.
 */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The range RFC 8536 asks UT offsets to stay in (more than -25 h, less than
 * 26 h). Enforcing it bounds how far a wall-clock time can be from its UTC
 * instant, which is what makes the forward scan in tz_reach short. */
#define TZ_OFF_MIN (-89999)
#define TZ_OFF_MAX 93599

/* Stored transitions beyond ±2^60 s are refused (the "big bang" zic writes is
 * -2^59) and queries are clamped to ±2^61 s, so that adding an offset or a
 * day can never overflow. Both are billions of years away. */
#define TZ_TIME_LIMIT  ((int64_t)1 << 60)
#define TZ_QUERY_LIMIT ((int64_t)1 << 61)

/* Footer rules are expanded from the year before the last stored transition;
 * a file whose table is empty or ends earlier than this gets its rule from
 * here on, which keeps the expansion bounded whatever the file says. */
#define TZ_RULE_FIRST_YEAR 1800

#define TZIF_HEADER_LEN 44
#define DAY_SECONDS	86400

void tz_utc(struct tz *out)
{
	out->n = 0;
	out->at = NULL;
	out->offset = NULL;
	out->initial = 0;
}

void tz_free(struct tz *z)
{
	free(z->at);
	free(z->offset);
	tz_utc(z);
}

/* ---- civil calendar -------------------------------------------------- */

/* Days are counted in 400-year eras of 146097 days starting on March 1, so
 * that the leap day falls at the end of the year and needs no branch (after
 * H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). Years must stay
 * within about ±10^15 for the arithmetic not to overflow. */
int64_t civil_to_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = mm;
	*y = yoe + era * 400 + (mm <= 2);
}

unsigned civil_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday; the remainder is taken before adding so
	 * that no day number can overflow. */
	return (unsigned)((days % 7 + 10) % 7);
}

static bool civil_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned civil_month_days(int64_t y, unsigned m)
{
	static const unsigned char len[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };

	return len[m - 1] + (unsigned)(m == 2 && civil_leap(y));
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return q - (a % b < 0);
}

/* ---- byte reading ---------------------------------------------------- */

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Two's complement by arithmetic rather than by conversion, whose result
 * for out-of-range values the C standard leaves to the implementation. */
static int32_t get_i32(const uint8_t *p)
{
	uint32_t u = get_u32(p);

	return u >> 31 ? -(int32_t)(~u) - 1 : (int32_t)u;
}

static int64_t get_i64(const uint8_t *p)
{
	uint64_t u = (uint64_t)get_u32(p) << 32 | get_u32(p + 4);

	return u >> 63 ? -(int64_t)(~u) - 1 : (int64_t)u;
}

/* ---- the POSIX TZ footer --------------------------------------------- */

/* One end of the DST period: a day of the year in one of three notations,
 * and the local time of day (in the offset in force before the change) at
 * which the change happens. */
struct posix_date {
	char kind;    /* 'J': Julian 1..365 without Feb 29; 'D': 0..365
		       * counting it; 'M': week w of month m, weekday d */
	int month;    /* 'M': 1..12 */
	int week;     /* 'M': 1..5, 5 meaning the last */
	int day;      /* 'J', 'D': day number; 'M': 0 = Sunday .. 6 */
	int32_t secs; /* -167 h .. 167 h (RFC 8536 §3.3.1) */
};

struct posix_tz {
	int32_t std_off;	 /* UT offset, seconds east (POSIX is west) */
	int32_t dst_off;	 /* ditto, when has_dst */
	bool has_dst;		 /* false: one offset for ever, no rule */
	struct posix_date start; /* DST begins (in standard time) */
	struct posix_date end;	 /* DST ends (in daylight time) */
};

/* The footer is not NUL-terminated inside the file, so the parser walks a
 * pointer towards an end instead of looking for a terminator. */
struct posix_cursor {
	const char *p;	 /* next character */
	const char *end; /* one past the last */
};

static int posix_peek(const struct posix_cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static bool posix_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool posix_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool posix_quoted_char(int ch)
{
	return posix_alpha(ch) || posix_digit(ch) || ch == '+' || ch == '-';
}

static bool posix_name(struct posix_cursor *c)
{
	int len = 0;

	if (posix_peek(c) == '<') {
		c->p++;
		while (posix_quoted_char(posix_peek(c))) {
			c->p++;
			len++;
		}
		if (posix_peek(c) != '>')
			return false;
		c->p++;
	} else {
		while (posix_alpha(posix_peek(c))) {
			c->p++;
			len++;
		}
	}
	return len >= 3;
}

/* An unsigned number of at most maxdigits digits, no more than max. */
static bool posix_number(struct posix_cursor *c, int maxdigits, int max,
			 int *out)
{
	int v = 0, n = 0;

	while (posix_digit(posix_peek(c))) {
		if (++n > maxdigits)
			return false;
		v = v * 10 + (*c->p++ - '0');
	}
	if (n == 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* [+|-]hh[:mm[:ss]] with hh at most maxhours, into signed seconds. */
static bool posix_hms(struct posix_cursor *c, int maxhours, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (posix_peek(c) == '+' || posix_peek(c) == '-')
		sign = *c->p++ == '-' ? -1 : 1;
	if (!posix_number(c, 3, maxhours, &h))
		return false;
	if (posix_peek(c) == ':') {
		c->p++;
		if (!posix_number(c, 2, 59, &m))
			return false;
		if (posix_peek(c) == ':') {
			c->p++;
			if (!posix_number(c, 2, 59, &s))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool posix_offset_ok(int32_t off)
{
	return off >= TZ_OFF_MIN && off <= TZ_OFF_MAX;
}

static bool posix_date(struct posix_cursor *c, struct posix_date *d)
{
	int ch = posix_peek(c);

	d->month = d->week = d->day = 0;
	if (ch == 'J') {
		c->p++;
		d->kind = 'J';
		if (!posix_number(c, 3, 365, &d->day) || d->day < 1)
			return false;
	} else if (ch == 'M') {
		c->p++;
		d->kind = 'M';
		if (!posix_number(c, 2, 12, &d->month) || d->month < 1)
			return false;
		if (posix_peek(c) != '.')
			return false;
		c->p++;
		if (!posix_number(c, 1, 5, &d->week) || d->week < 1)
			return false;
		if (posix_peek(c) != '.')
			return false;
		c->p++;
		if (!posix_number(c, 1, 6, &d->day))
			return false;
	} else {
		d->kind = 'D';
		if (!posix_number(c, 3, 365, &d->day))
			return false;
	}
	d->secs = 2 * 3600;
	if (posix_peek(c) == '/') {
		c->p++;
		if (!posix_hms(c, 167, &d->secs))
			return false;
	}
	return true;
}

/* Parses a footer such as "CET-1CEST,M3.5.0,M10.5.0/3" or "<+0330>-3:30".
 * DST without a rule is refused: POSIX leaves its dates to the
 * implementation, and zic never writes one. */
static const char *posix_parse(const char *s, size_t len, struct posix_tz *tz)
{
	struct posix_cursor c = { s, s + len };
	int32_t secs;

	memset(tz, 0, sizeof(*tz));
	if (!posix_name(&c))
		return "footer: bad standard-time name";
	if (!posix_hms(&c, 24, &secs) || !posix_offset_ok(-secs))
		return "footer: bad standard-time offset";
	tz->std_off = -secs;
	if (c.p == c.end)
		return NULL;
	if (!posix_name(&c))
		return "footer: bad daylight-time name";
	tz->has_dst = true;
	tz->dst_off = tz->std_off + 3600;
	if (posix_peek(&c) != ',') {
		if (!posix_hms(&c, 24, &secs))
			return "footer: bad daylight-time offset";
		tz->dst_off = -secs;
	}
	if (!posix_offset_ok(tz->dst_off))
		return "footer: bad daylight-time offset";
	if (posix_peek(&c) != ',')
		return "footer: daylight time without a rule";
	c.p++;
	if (!posix_date(&c, &tz->start))
		return "footer: bad start rule";
	if (posix_peek(&c) != ',')
		return "footer: missing end rule";
	c.p++;
	if (!posix_date(&c, &tz->end))
		return "footer: bad end rule";
	if (c.p != c.end)
		return "footer: trailing characters";
	return NULL;
}

/* Day number of a rule date in year y. */
static int64_t posix_day(const struct posix_date *d, int64_t y)
{
	int64_t jan1 = civil_to_days(y, 1, 1);
	int64_t first, day;
	unsigned len;
	int wday;

	switch (d->kind) {
	case 'J':
		/* Day 60 is March 1 whether or not the year is leap. */
		return jan1 + d->day - 1 + (d->day >= 60 && civil_leap(y));
	case 'D':
		return jan1 + d->day;
	default:
		first = civil_to_days(y, (unsigned)d->month, 1);
		/* civil_weekday counts from Monday, POSIX from Sunday. */
		wday = (int)(civil_weekday(first) + 1) % 7;
		day = first + (d->day - wday + 7) % 7;
		day += 7 * (d->week - 1);
		len = civil_month_days(y, (unsigned)d->month);
		if (day >= first + len)
			day -= 7; /* week 5 means the last such weekday */
		return day;
	}
}

/* ---- the transition table -------------------------------------------- */

/* Sorts the expanded footer transitions, which arrive year by year but may
 * overlap across a year boundary (a rule time of up to 167 h, or "DST all
 * year" written as Jan 1 00:00 to Dec 31 25:00). The array is nearly
 * sorted, so a stable insertion sort costs about one pass; stability is what
 * lets the later of two simultaneous changes win. */
static void table_sort(int64_t *at, int32_t *offset, int32_t n)
{
	for (int32_t i = 1; i < n; i++) {
		int64_t t = at[i];
		int32_t o = offset[i];
		int32_t j = i;

		for (; j > 0 && at[j - 1] > t; j--) {
			at[j] = at[j - 1];
			offset[j] = offset[j - 1];
		}
		at[j] = t;
		offset[j] = o;
	}
}

/* Appends the footer rule's transitions after the stored ones (n of them,
 * already in at/offset), returning the new count. Sets *initial when the
 * file stored no transitions, since only the rule then knows what was in
 * force before its first change. */
static int32_t table_expand(const struct posix_tz *rule, int64_t *at,
			    int32_t *offset, int32_t n, int32_t *initial)
{
	int64_t y0 = TZ_RULE_FIRST_YEAR, y, last = INT64_MIN;
	int32_t m = n, k;
	unsigned mo, d;

	if (n > 0) {
		last = at[n - 1];
		civil_from_days(floor_div(last, DAY_SECONDS), &y, &mo, &d);
		if (y - 1 > y0)
			y0 = y - 1;
	}
	for (y = y0; y <= TZ_HORIZON_YEAR; y++) {
		at[m] = posix_day(&rule->start, y) * DAY_SECONDS +
			rule->start.secs - rule->std_off;
		offset[m++] = rule->dst_off;
		at[m] = posix_day(&rule->end, y) * DAY_SECONDS +
			rule->end.secs - rule->dst_off;
		offset[m++] = rule->std_off;
	}
	table_sort(at + n, offset + n, m - n);

	/* Keep what comes after the stored table, and of equal instants only
	 * the last. */
	k = n;
	for (int32_t i = n; i < m; i++) {
		if (at[i] <= last)
			continue;
		if (i + 1 < m && at[i + 1] == at[i])
			continue;
		at[k] = at[i];
		offset[k++] = offset[i];
	}
	if (n == 0 && k > 0)
		*initial = offset[0] == rule->dst_off ? rule->std_off
						      : rule->dst_off;
	return k;
}

/* Drops transitions that keep the offset, which keeps the table strictly
 * ascending (it already is) and as short as the questions allow. */
static int32_t table_compact(int64_t *at, int32_t *offset, int32_t n,
			     int32_t initial)
{
	int32_t prev = initial, k = 0;

	for (int32_t i = 0; i < n; i++) {
		if (offset[i] == prev)
			continue;
		prev = offset[i];
		at[k] = at[i];
		offset[k++] = offset[i];
	}
	return k;
}

/* ---- TZif ------------------------------------------------------------ */

/* The counts of one TZif header, in file order after the version. */
struct tzif_header {
	uint8_t version;   /* 0, '2', '3' or '4' */
	uint32_t isutcnt;  /* UT/local indicators: 0 or typecnt */
	uint32_t isstdcnt; /* standard/wall indicators: 0 or typecnt */
	uint32_t leapcnt;  /* leap-second records */
	uint32_t timecnt;  /* transitions */
	uint32_t typecnt;  /* local time types, at least 1 */
	uint32_t charcnt;  /* bytes of abbreviations, at least 1 */
};

static const char *tzif_header(const uint8_t *p, struct tzif_header *h)
{
	if (memcmp(p, "TZif", 4) != 0)
		return "bad magic";
	h->version = p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4'))
		return "unsupported version";
	h->isutcnt = get_u32(p + 20);
	h->isstdcnt = get_u32(p + 24);
	h->leapcnt = get_u32(p + 28);
	h->timecnt = get_u32(p + 32);
	h->typecnt = get_u32(p + 36);
	h->charcnt = get_u32(p + 40);
	return NULL;
}

/* Bytes of the data block that follows a header. Counts are 32-bit, so the
 * sum cannot overflow 64 bits. */
static uint64_t tzif_block_len(const struct tzif_header *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 +
	       h->charcnt + (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
	       h->isutcnt;
}

/* Checks everything in a data block except the transitions, which are
 * checked as they are copied. */
static const char *tzif_check(const struct tzif_header *h, const uint8_t *blk,
			      unsigned tsize)
{
	const uint8_t *types = blk + (size_t)h->timecnt * (tsize + 1);
	const uint8_t *isstd = types + (size_t)h->typecnt * 6 + h->charcnt +
			       (size_t)h->leapcnt * (tsize + 4);
	const uint8_t *isut = isstd + h->isstdcnt;

	if (h->typecnt == 0)
		return "no local time types";
	if (h->charcnt == 0)
		return "no abbreviation bytes";
	if (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)
		return "standard/wall indicator count mismatch";
	if (h->isutcnt != 0 && h->isutcnt != h->typecnt)
		return "UT/local indicator count mismatch";
	/* Leap-second files ("right/") count time differently from the POSIX
	 * seconds the rest of cmr uses; refusing them beats answering tens of
	 * seconds off without anyone noticing. */
	if (h->leapcnt != 0)
		return "leap-second data not supported";
	if (h->timecnt > (uint32_t)INT32_MAX / 2)
		return "too many transitions";
	for (uint32_t i = 0; i < h->typecnt; i++) {
		const uint8_t *t = types + (size_t)i * 6;
		int32_t off = get_i32(t);

		if (off < TZ_OFF_MIN || off > TZ_OFF_MAX)
			return "UT offset out of range";
		if (t[4] > 1)
			return "bad isdst flag";
		if (t[5] >= h->charcnt)
			return "abbreviation index out of range";
	}
	for (uint32_t i = 0; i < h->isstdcnt; i++)
		if (isstd[i] > 1)
			return "bad standard/wall indicator";
	for (uint32_t i = 0; i < h->isutcnt; i++)
		if (isut[i] > 1 || (isut[i] && (h->isstdcnt == 0 || !isstd[i])))
			return "bad UT/local indicator";
	return NULL;
}

static int tz_fail(struct tz *out, char *err, size_t errlen, const char *why)
{
	tz_free(out);
	if (err && errlen > 0)
		snprintf(err, errlen, "tzif: %s", why);
	return -1;
}

int tz_parse(const uint8_t *buf, size_t len, struct tz *out, char *err,
	     size_t errlen)
{
	struct tzif_header h;
	struct posix_tz rule;
	const uint8_t *blk, *types, *idx;
	const char *why;
	unsigned tsize = 4;
	uint64_t blen;
	size_t pos = TZIF_HEADER_LEN, cap;
	bool has_rule = false;
	int64_t prev = INT64_MIN;
	int32_t n;

	tz_utc(out);
	if (!buf || len < TZIF_HEADER_LEN)
		return tz_fail(out, err, errlen, "truncated header");
	if ((why = tzif_header(buf, &h)))
		return tz_fail(out, err, errlen, why);
	blen = tzif_block_len(&h, 4);
	if (blen > len - pos)
		return tz_fail(out, err, errlen, "v1 data block truncated");

	if (h.version >= '2') {
		/* The v1 block only exists for old readers; skip it. */
		uint8_t version = h.version;

		pos += (size_t)blen;
		if (len - pos < TZIF_HEADER_LEN)
			return tz_fail(out, err, errlen,
				       "truncated v2+ header");
		if ((why = tzif_header(buf + pos, &h)))
			return tz_fail(out, err, errlen, why);
		if (h.version != version)
			return tz_fail(out, err, errlen,
				       "v2+ header version differs");
		pos += TZIF_HEADER_LEN;
		tsize = 8;
		blen = tzif_block_len(&h, 8);
		if (blen > len - pos)
			return tz_fail(out, err, errlen,
				       "v2+ data block truncated");
	}
	blk = buf + pos;
	pos += (size_t)blen;
	if ((why = tzif_check(&h, blk, tsize)))
		return tz_fail(out, err, errlen, why);

	if (tsize == 8) {
		const uint8_t *nl;
		size_t flen;

		if (pos >= len || buf[pos] != '\n')
			return tz_fail(out, err, errlen, "footer missing");
		pos++;
		nl = memchr(buf + pos, '\n', len - pos);
		if (!nl)
			return tz_fail(out, err, errlen, "footer unterminated");
		flen = (size_t)(nl - (buf + pos));
		if (flen > 0) {
			why = posix_parse((const char *)(buf + pos), flen,
					  &rule);
			if (why)
				return tz_fail(out, err, errlen, why);
			has_rule = rule.has_dst;
		}
	}

	idx = blk + (size_t)h.timecnt * tsize;
	types = idx + h.timecnt;
	cap = (size_t)h.timecnt + 1;
	if (has_rule)
		cap += 2 * (size_t)(TZ_HORIZON_YEAR - TZ_RULE_FIRST_YEAR + 1);
	out->at = malloc(cap * sizeof(*out->at));
	out->offset = malloc(cap * sizeof(*out->offset));
	if (!out->at || !out->offset)
		return tz_fail(out, err, errlen, "out of memory");
	out->initial = get_i32(types);

	for (uint32_t i = 0; i < h.timecnt; i++) {
		const uint8_t *p = blk + (size_t)i * tsize;
		int64_t t = tsize == 8 ? get_i64(p) : get_i32(p);

		if (t < -TZ_TIME_LIMIT || t > TZ_TIME_LIMIT)
			return tz_fail(out, err, errlen,
				       "transition time out of range");
		if (t <= prev)
			return tz_fail(out, err, errlen,
				       "transitions not ascending");
		if (idx[i] >= h.typecnt)
			return tz_fail(out, err, errlen,
				       "transition type out of range");
		prev = t;
		out->at[i] = t;
		out->offset[i] = get_i32(types + (size_t)idx[i] * 6);
	}
	n = (int32_t)h.timecnt;
	if (has_rule)
		n = table_expand(&rule, out->at, out->offset, n, &out->initial);
	out->n = table_compact(out->at, out->offset, n, out->initial);
	return 0;
}

/* ---- questions ------------------------------------------------------- */

static int64_t tz_clamp(int64_t t)
{
	if (t < -TZ_QUERY_LIMIT)
		return -TZ_QUERY_LIMIT;
	if (t > TZ_QUERY_LIMIT)
		return TZ_QUERY_LIMIT;
	return t;
}

/* Which stretch between transitions holds t: the number of transitions at
 * or before it, 0..n. */
static int32_t tz_interval(const struct tz *z, int64_t t)
{
	int32_t lo = 0, hi = z->n;

	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;

		if (z->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int32_t tz_interval_offset(const struct tz *z, int32_t k)
{
	return k == 0 ? z->initial : z->offset[k - 1];
}

/* The first instant at or after `from` at which the wall clock reads
 * `local` or later. Inside one stretch the clock runs at one offset, so the
 * answer in stretch k is max(from, local - offset) if that is still inside
 * it; otherwise it lies in a later stretch. Callers start no earlier than
 * local - TZ_OFF_MAX, before which no clock can read `local` yet, and since
 * no offset is below TZ_OFF_MIN the answer is at most local - TZ_OFF_MIN:
 * the scan covers about two days, one or two stretches in any real zone. */
static int64_t tz_reach(const struct tz *z, int64_t from, int64_t local)
{
	int32_t k = tz_interval(z, from);

	for (;;) {
		int64_t t = local - tz_interval_offset(z, k);

		if (t < from)
			t = from;
		if (k == z->n || t < z->at[k])
			return t;
		from = z->at[k++];
	}
}

int32_t tz_offset(const struct tz *z, cmr_time t)
{
	return tz_interval_offset(z, tz_interval(z, t));
}

cmr_time tz_local_to_utc(const struct tz *z, int64_t local)
{
	local = tz_clamp(local);
	return tz_reach(z, local - TZ_OFF_MAX, local);
}

/* First day of the period holding day `day`, or of the one after it. */
static int64_t period_day(enum period p, int64_t day, bool following)
{
	int64_t y;
	unsigned m, d;

	switch (p) {
	case PERIOD_WEEK:
		return day - civil_weekday(day) + (following ? 7 : 0);
	case PERIOD_MONTH:
		civil_from_days(day, &y, &m, &d);
		if (!following)
			return civil_to_days(y, m, 1);
		return m == 12 ? civil_to_days(y + 1, 1, 1)
			       : civil_to_days(y, m + 1, 1);
	case PERIOD_DAY:
		break;
	}
	/* PERIOD_DAY, and any value outside the enum. */
	return day + (following ? 1 : 0);
}

static int64_t tz_local_day(const struct tz *z, int64_t t)
{
	return floor_div(t + tz_offset(z, t), DAY_SECONDS);
}

cmr_time tz_period_start(const struct tz *z, enum period p, cmr_time t)
{
	int64_t b;

	t = tz_clamp(t);
	b = period_day(p, tz_local_day(z, t), false) * DAY_SECONDS;
	return tz_reach(z, b - TZ_OFF_MAX, b);
}

cmr_time tz_period_next(const struct tz *z, enum period p, cmr_time t)
{
	int64_t b, from;

	t = tz_clamp(t);
	b = period_day(p, tz_local_day(z, t), true) * DAY_SECONDS;
	/* Starting the search after t keeps next > t even where a clock going
	 * back across midnight showed the next day's first minutes before t. */
	from = b - TZ_OFF_MAX;
	if (from <= t)
		from = t + 1;
	return tz_reach(z, from, b);
}
