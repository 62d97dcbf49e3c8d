/*
 * brand_state.c — the brand's reading of a stored attempt: accepted
 * until a release refuses it and the UTC day turns (brand_state.h).
 */
#include "brand_state.h"

#include <string.h>

#include "gate.h"

#define DAY 86400

const char *const brand_states[BRAND_STATE_COUNT] = { "accepted", "refused" };

int brand_state_parse(const char *name)
{
	for (int i = 0; i < BRAND_STATE_COUNT; i++)
		if (strcmp(name, brand_states[i]) == 0)
			return i;
	return -1;
}

cmr_time brand_state_since(cmr_time now)
{
	cmr_time r = now % DAY;
	return now - (r < 0 ? r + DAY : r); /* floor, also before 1970 */
}

enum brand_state brand_state_of(const struct brand_state_row *row, cmr_time now)
{
	if (row->decision != GATE_REFUSE)
		return BRAND_ACCEPTED; /* delivered or held */
	if (row->refused_at == 0)
		return BRAND_REFUSED; /* refused at once: the POST said so */
	return row->refused_at < brand_state_since(now) ? BRAND_REFUSED
							: BRAND_ACCEPTED;
}

const char *brand_state_reason(const struct brand_state_row *row, cmr_time now)
{
	if (brand_state_of(row, now) != BRAND_REFUSED)
		return NULL;
	const char *brand = row->reason > 0 && row->reason < GATE_REASON_COUNT
				    ? gate_reasons[row->reason].brand
				    : NULL;
	return brand ? brand : "not_accepted";
}
