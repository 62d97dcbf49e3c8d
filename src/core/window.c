/*
 * window.c — cap windows (see window.h). Rolling windows are rings of the
 * last `max` delivery times; calendar windows count deliveries in the
 * current local period.
 */
#include "window.h"

#include <stdlib.h>
#include <string.h>

static enum period window_period(uint8_t unit)
{
	switch (unit) {
	case CAP_WEEK:
		return PERIOD_WEEK;
	case CAP_MONTH:
		return PERIOD_MONTH;
	default:
		return PERIOD_DAY;
	}
}

int window_init(struct window *w, const struct cap *c)
{
	memset(w, 0, sizeof(*w));
	w->unit = c->unit;
	w->cap_max = c->max;
	if (c->unit == CAP_ROLLING && c->max > 0) {
		w->ring = calloc(c->max, sizeof(*w->ring));
		if (w->ring == NULL)
			return -1;
	}
	return 0;
}

void window_free(struct window *w)
{
	free(w->ring);
	memset(w, 0, sizeof(*w));
}

bool window_reached(const struct window *w, const struct cap *c,
		    const struct tz *z, cmr_time now, cmr_time *frees_at)
{
	switch (c->unit) {
	case CAP_NONE:
		return false;
	case CAP_ROLLING: {
		if (c->max == 0) {
			if (frees_at)
				*frees_at = WINDOW_NEVER;
			return true;
		}
		if (w->unit != CAP_ROLLING || w->ring == NULL)
			return false;
		/* Of the last `max` deliveries, the oldest decides: if it is
		 * still inside the window, `max` fall within it already. */
		if (w->count < c->max || c->max > w->cap_max)
			return false;
		uint16_t oldest =
			(uint16_t)((w->head + w->count - c->max) % w->cap_max);
		cmr_time t = w->ring[oldest];
		if (now - t < (cmr_time)c->per_seconds) {
			if (frees_at)
				*frees_at = t + (cmr_time)c->per_seconds;
			return true;
		}
		return false;
	}
	default: {
		enum period p = window_period(c->unit);
		if (c->max == 0) {
			if (frees_at)
				*frees_at = WINDOW_NEVER;
			return true;
		}
		if (w->unit != c->unit)
			return false;
		cmr_time start = tz_period_start(z, p, now);
		if (w->period != start || w->count < c->max)
			return false;
		if (frees_at)
			*frees_at = tz_period_next(z, p, now);
		return true;
	}
	}
}

void window_record(struct window *w, const struct cap *c, const struct tz *z,
		   cmr_time now, struct window_undo *undo)
{
	struct window_undo u = {
		.period = w->period,
		.count = w->count,
		.head = w->head,
		.slot = -1,
	};

	if (c->unit == CAP_NONE || c->unit != w->unit) {
		/* nothing to count */
	} else if (c->unit == CAP_ROLLING) {
		if (w->ring != NULL && w->cap_max > 0) {
			uint16_t slot;
			if (w->count < w->cap_max) {
				slot = (uint16_t)((w->head + w->count) %
						  w->cap_max);
				w->count++;
			} else {
				slot = w->head;
				w->head =
					(uint16_t)((w->head + 1) % w->cap_max);
			}
			u.slot = (int16_t)slot;
			u.overwritten = w->ring[slot];
			w->ring[slot] = now;
		}
	} else {
		cmr_time start =
			tz_period_start(z, window_period(c->unit), now);
		if (w->period != start) {
			w->period = start;
			w->count = 0;
		}
		if (w->count < UINT16_MAX)
			w->count++;
	}
	if (undo)
		*undo = u;
}

void window_undo(struct window *w, const struct window_undo *undo)
{
	if (undo->slot >= 0 && w->ring != NULL)
		w->ring[undo->slot] = undo->overwritten;
	w->period = undo->period;
	w->count = undo->count;
	w->head = undo->head;
}
