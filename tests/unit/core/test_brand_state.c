/*
 * test_brand_state.c — what a brand reads of its message (core/brand_state.h):
 * a refusal on release shows only from the next 00:00 UTC, a refusal at
 * once at once, and nothing else turns.
 */
#include <criterion/criterion.h>

#include "core/brand_state.h"
#include "core/gate.h"

/* 2026-12-03 00:00:00 UTC */
#define D3  ((cmr_time)1796256000)
#define DAY 86400

static struct brand_state_row released(cmr_time at, int reason)
{
	return (struct brand_state_row){ GATE_REFUSE, reason, at };
}

Test(brand_state, day_starts_at_midnight_utc)
{
	cr_assert_eq(brand_state_since(D3), D3);
	cr_assert_eq(brand_state_since(D3 + 1), D3);
	cr_assert_eq(brand_state_since(D3 + DAY - 1), D3);
	cr_assert_eq(brand_state_since(D3 - 1), D3 - DAY);
	cr_assert_eq(brand_state_since(-1), -DAY);
}

Test(brand_state, held_then_refused_reads_accepted_the_same_day)
{
	struct brand_state_row r =
		released(D3 + 13 * 3600, GATE_RELATIONSHIP_ENDED);
	cr_assert_eq(brand_state_of(&r, D3 + 13 * 3600), BRAND_ACCEPTED);
	cr_assert_eq(brand_state_of(&r, D3 + DAY - 1), BRAND_ACCEPTED);
	cr_assert_null(brand_state_reason(&r, D3 + DAY - 1));
	/* refused a second before midnight: still a whole wait to 00:00 */
	struct brand_state_row late =
		released(D3 + DAY - 1, GATE_FREQUENCY_CAP);
	cr_assert_eq(brand_state_of(&late, D3 + DAY - 1), BRAND_ACCEPTED);
	cr_assert_eq(brand_state_of(&late, D3 + DAY), BRAND_REFUSED);
}

Test(brand_state, held_then_refused_reads_refused_from_the_next_midnight)
{
	struct brand_state_row r =
		released(D3 + 13 * 3600, GATE_RELATIONSHIP_ENDED);
	cr_assert_eq(brand_state_of(&r, D3 + DAY), BRAND_REFUSED);
	cr_assert_eq(brand_state_of(&r, D3 + 40 * DAY), BRAND_REFUSED);
	cr_assert_str_eq(brand_state_reason(&r, D3 + DAY),
			 "relationship_ended");
}

Test(brand_state, refused_at_once_reads_refused_at_once)
{
	struct brand_state_row r = { GATE_REFUSE, GATE_TOPIC_NOT_WANTED, 0 };
	cr_assert_eq(brand_state_of(&r, D3), BRAND_REFUSED);
	cr_assert_str_eq(brand_state_reason(&r, D3), "topic_not_wanted");
}

Test(brand_state, delivered_and_held_read_accepted)
{
	struct brand_state_row d = { GATE_DELIVER, GATE_OK, 0 };
	struct brand_state_row h = { GATE_HOLD, GATE_QUIET_HOURS, 0 };
	cr_assert_eq(brand_state_of(&d, D3), BRAND_ACCEPTED);
	cr_assert_eq(brand_state_of(&h, D3 + 5 * DAY), BRAND_ACCEPTED);
	cr_assert_null(brand_state_reason(&h, D3));
}

Test(brand_state, private_reasons_read_not_accepted)
{
	/* the person's global cap and hold queue are theirs alone */
	struct brand_state_row g = released(D3, GATE_GLOBAL_FREQUENCY_CAP);
	struct brand_state_row q = { GATE_REFUSE, GATE_HOLD_QUEUE_FULL, 0 };
	struct brand_state_row c = released(D3, GATE_CHANNEL_DO_NOT_CONTACT);
	cr_assert_str_eq(brand_state_reason(&g, D3 + DAY), "not_accepted");
	cr_assert_str_eq(brand_state_reason(&q, D3), "not_accepted");
	cr_assert_str_eq(brand_state_reason(&c, D3 + DAY),
			 "channel_not_permitted");
	struct brand_state_row odd = { GATE_REFUSE, 99, 0 };
	cr_assert_str_eq(brand_state_reason(&odd, D3), "not_accepted");
}

Test(brand_state, names)
{
	cr_assert_eq(brand_state_parse("accepted"), BRAND_ACCEPTED);
	cr_assert_eq(brand_state_parse("refused"), BRAND_REFUSED);
	cr_assert_eq(brand_state_parse("delivered"), -1);
	cr_assert_str_eq(brand_states[BRAND_REFUSED], "refused");
}
