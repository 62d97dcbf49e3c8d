/*
 * test_throttle.c — app/throttle: lock-outs after a key's allowed
 * failures (THROTTLE_FREE, or a number of the caller's), doubling, capped,
 * forgotten on a success or after a quiet window; and the bounded line of
 * password hashes: THROTTLE_QUEUE_PER_CLIENT places for one client,
 * THROTTLE_QUEUE_MAX in all, each given back by a leave.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "app/throttle.h"

static struct throttle *t;

static void setup(void)
{
	t = throttle_new();
	cr_assert_not_null(t);
}

static void teardown(void)
{
	throttle_free(t);
}

TestSuite(throttle, .init = setup, .fini = teardown);

Test(throttle, locks_after_the_free_failures_and_doubles)
{
	for (int i = 1; i < THROTTLE_FREE; i++)
		cr_assert_eq(throttle_fail(t, "k", 100), 0, "failure %d", i);
	cr_assert_eq(throttle_wait(t, "k", 100), 0);
	cr_assert_eq(throttle_fail(t, "k", 100), 1);
	cr_assert_eq(throttle_wait(t, "k", 100), 1);
	cr_assert_eq(throttle_wait(t, "k", 101), 0);
	cr_assert_eq(throttle_fail(t, "k", 101), 2);
	cr_assert_eq(throttle_fail(t, "k", 101), 4);
	for (int i = 0; i < 20; i++)
		throttle_fail(t, "k", 101);
	cr_assert_eq(throttle_wait(t, "k", 101), THROTTLE_MAX_LOCK);
	/* Another key is not touched. */
	cr_assert_eq(throttle_wait(t, "other", 101), 0);
}

Test(throttle, a_key_may_allow_more_failures)
{
	for (int i = 1; i < THROTTLE_CLIENT_FREE; i++)
		cr_assert_eq(throttle_fail_after(t, "addr",
						 THROTTLE_CLIENT_FREE, 50),
			     0, "failure %d", i);
	cr_assert_eq(throttle_fail_after(t, "addr", THROTTLE_CLIENT_FREE, 50),
		     1);
	cr_assert_eq(throttle_wait(t, "addr", 50), 1);
}

Test(throttle, a_success_or_a_quiet_window_forgets)
{
	for (int i = 0; i < THROTTLE_FREE; i++)
		throttle_fail(t, "k", 10);
	cr_assert_gt(throttle_wait(t, "k", 10), 0);
	throttle_reset(t, "k");
	cr_assert_eq(throttle_wait(t, "k", 10), 0);
	cr_assert_eq(throttle_fail(t, "k", 10), 0);
	/* Four failures, then quiet for longer than the window: the next
	 * one is a first again. */
	for (int i = 1; i < THROTTLE_FREE - 1; i++)
		throttle_fail(t, "k", 10);
	cr_assert_eq(throttle_fail(t, "k", 10 + THROTTLE_WINDOW + 1), 0);
}

Test(throttle, the_line_of_hashes_is_bounded_per_client_and_in_all)
{
	char key[32];
	for (int i = 0; i < THROTTLE_QUEUE_PER_CLIENT; i++)
		cr_assert(throttle_queue_enter(t, "addr\n10.0.0.1"));
	cr_assert_not(throttle_queue_enter(t, "addr\n10.0.0.1"));
	/* Others still get in, up to the line's length in all. */
	int others = 0;
	for (int i = 0; i < 2 * THROTTLE_QUEUE_MAX; i++) {
		snprintf(key, sizeof(key), "addr\n10.0.1.%d", i);
		if (throttle_queue_enter(t, key))
			others++;
	}
	cr_assert_eq(others, THROTTLE_QUEUE_MAX - THROTTLE_QUEUE_PER_CLIENT);
	cr_assert_not(throttle_queue_enter(t, "addr\n10.0.2.1"));
	/* A place given back is a place for anyone. */
	throttle_queue_leave(t, "addr\n10.0.0.1");
	cr_assert(throttle_queue_enter(t, "addr\n10.0.2.1"));
	cr_assert_not(throttle_queue_enter(t, "addr\n10.0.0.1"));
	throttle_queue_leave(t, "addr\n10.0.2.1");
	cr_assert(throttle_queue_enter(t, "addr\n10.0.0.1"));
	/* Leaving a line one is not in changes nothing. */
	throttle_queue_leave(t, "addr\n10.9.9.9");
	cr_assert_not(throttle_queue_enter(t, "addr\n10.0.2.2"));
}
