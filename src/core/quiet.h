/*
 * quiet.h — quiet hours: local times from–to, which may wrap midnight, and
 * the weekdays on which a quiet period *starts*.
 *
 * A quiet period that starts on day D at `from` ends at `to` on D (when
 * to > from) or on D+1 (when it wraps). Both ends are local wall-clock
 * times resolved through tz_local_to_utc, so a non-existent local time means
 * the next instant that exists and an ambiguous one its first occurrence.
 * from == to is not a valid quiet period (terms refuse it). Pure.
 */
#ifndef CMR_CORE_QUIET_H
#define CMR_CORE_QUIET_H

#include <stdbool.h>
#include <stdint.h>

#include "tz.h"

struct quiet_hours {
	uint16_t from; /* minutes after local midnight, 0..1439 */
	uint16_t to;   /* minutes after local midnight, 0..1439, != from */
	uint8_t days;  /* bit d set: a period starts on ISO weekday d (0=Mon) */
	uint8_t set;   /* 0: no quiet hours */
};

/* Whether UTC instant now falls inside a quiet period [start, end). When it
 * does and `ends` is not NULL, *ends receives the UTC instant the period
 * ends. Returns false when q->set is 0. */
bool quiet_active(const struct quiet_hours *q, const struct tz *z, cmr_time now,
		  cmr_time *ends);

/* Parses "HH:MM" (00:00–23:59) into minutes; -1 when malformed. */
int quiet_parse_clock(const char *s);

#endif
