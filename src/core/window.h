/*
 * window.h — the delivery history that a cap is checked against.
 *
 * One window per (relationship, channel), per (relationship, exempt topics)
 * and per (person, channel). A rolling cap keeps the times of its last `max`
 * deliveries in a ring: the cap is reached when the ring is full and its
 * oldest delivery is still inside the window, and the window frees when
 * that delivery leaves it. A calendar cap keeps the start of the local
 * period it counts and the count. Only deliveries are recorded.
 *
 * Checking is pure and allocation-free (the gate calls window_reached);
 * window_record is applied by the writer after the decision is committed.
 * The ring is owned by the window (window_init allocates, window_free
 * releases); core allocates here only, never on the gate's path.
 */
#ifndef CMR_CORE_WINDOW_H
#define CMR_CORE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "terms.h"
#include "tz.h"

/* frees_at of a cap whose max is 0: no delivery ever fits. */
#define WINDOW_NEVER INT64_MAX

struct window {
	cmr_time *ring;	  /* rolling: capacity `cap_max` delivery times */
	cmr_time period;  /* calendar: start of the counted period */
	uint16_t cap_max; /* the cap's max this window was built for */
	uint16_t head;	  /* rolling: index of the oldest delivery */
	uint16_t count;	  /* rolling: deliveries in ring; calendar: in period */
	uint8_t unit;	  /* enum cap_unit this window was built for */
};

/* Prepares w for cap c: empty history. Returns 0, or -1 when out of
 * memory (rolling caps with max > 0 allocate a ring of max times). */
int window_init(struct window *w, const struct cap *c);
void window_free(struct window *w);

/* Whether one more delivery at `now` would exceed cap c. When it would and
 * `frees_at` is not NULL, *frees_at is the first instant at which a
 * delivery would fit again. A window answers only for the cap it was built
 * for: after a change of terms it must be rebuilt from the stored
 * deliveries (the gate state reloads a relationship or person whose terms
 * changed); a window of another unit or a smaller ring reads as not
 * reached. No allocation. */
bool window_reached(const struct window *w, const struct cap *c,
		    const struct tz *z, cmr_time now, cmr_time *frees_at);

/* What window_record changed, so that it can be undone exactly. */
struct window_undo {
	cmr_time period;      /* the window's period before */
	cmr_time overwritten; /* the ring slot's time before */
	uint16_t count;	      /* count before */
	uint16_t head;	      /* head before */
	int16_t slot;	      /* ring slot written, -1 when none */
};

/* Records a delivery at `now` (now must not precede earlier records).
 * When undo is not NULL it receives what window_undo needs. */
void window_record(struct window *w, const struct cap *c, const struct tz *z,
		   cmr_time now, struct window_undo *undo);

/* Undoes a window_record — the writer's undo when the transaction that
 * decided a delivery is rolled back. Undo records are applied in the
 * reverse order of their window_record calls. */
void window_undo(struct window *w, const struct window_undo *undo);

#endif
