/*
 * brand_state.h — what a brand may know of one of its messages: the
 * state it reads back (GET /v1/messages/{id}, a campaign's counts and
 * recipients), a pure function of the stored attempt and `now`.
 *
 * A brand is told "accepted" for a message that is delivered and for one
 * that is held (quiet hours, a cap that holds). A held message may later
 * be refused when it is decided again; if the brand saw that at once, the
 * moment its answer turned would say when the person's quiet hours end or
 * which of their caps filled. So a message refused on release keeps
 * reading "accepted" until the first 00:00 UTC after the refusal, and
 * then reads "refused" with the brand-visible reason and no time. A
 * message refused at once reads "refused", as the POST said. There is no
 * "delivered": delivered and held read alike.
 *
 * Pure: no I/O, no clock, no allocation.
 */
#ifndef CMR_CORE_BRAND_STATE_H
#define CMR_CORE_BRAND_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"

enum brand_state { BRAND_ACCEPTED, BRAND_REFUSED, BRAND_STATE_COUNT };

/* The states' names on the wire ("accepted", "refused"). brand_state_parse
 * gives -1 for an unknown name. */
extern const char *const brand_states[BRAND_STATE_COUNT];
int brand_state_parse(const char *name);

/* What the brand's state is read from: the attempt as stored. */
struct brand_state_row {
	int decision;	     /* enum gate_outcome */
	int reason;	     /* enum gate_reason */
	cmr_time refused_at; /* when a held message was refused on release;
				0 when refused at once (or not refused) */
};

/* The first instant at which a refusal on release made before it reads
 * "refused": 00:00 UTC of now's day. A row refused on release reads
 * "refused" exactly when refused_at < brand_state_since(now) — the
 * store's counts and pages filter with this bound. */
cmr_time brand_state_since(cmr_time now);

/* The brand's state of the row at `now`. */
enum brand_state brand_state_of(const struct brand_state_row *row,
				cmr_time now);

/* The brand-visible reason of a row that reads "refused" (gate.h's
 * table: "not_accepted" where the true reason is private); NULL when it
 * reads "accepted". */
const char *brand_state_reason(const struct brand_state_row *row, cmr_time now);

#endif
