/*
 * fuzz_tz.c — fuzz driver for the TZif parser (src/core/tz.c).
 *
 * Feeds arbitrary bytes to tz_parse; whatever it accepts is then queried
 * the way the gate queries it, around its own transitions and at fixed
 * instants, and the invariants that the gate relies on are checked with
 * abort() so that the fuzzer reports them: the table is strictly ascending,
 * a period contains the instant it was asked about, and local resolution
 * is monotone. Built with libFuzzer or with the standalone replay main.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static void fuzz_query(const struct tz *z, cmr_time t)
{
	int64_t local = t + tz_offset(z, t);
	cmr_time u = tz_local_to_utc(z, local);

	/* The first instant that shows `local` is never after t, and a
	 * later local time never resolves earlier. */
	fuzz_check(u <= t);
	fuzz_check(tz_local_to_utc(z, local + 1) >= u);
	for (int p = PERIOD_DAY; p <= PERIOD_MONTH; p++) {
		cmr_time s = tz_period_start(z, (enum period)p, t);
		cmr_time n = tz_period_next(z, (enum period)p, t);

		fuzz_check(s <= t && t < n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const cmr_time fixed[] = {
		-2208988800,		 /* 1900 */
		0,	     1774746000, /* 2026-03-29 01:00 UTC */
		5680281600,		 /* 2150 */
		7289654400,		 /* 2201 */
		INT64_MIN,   INT64_MAX,
	};
	struct tz z;
	char err[128];

	if (tz_parse(data, size, &z, err, sizeof(err)) != 0) {
		fuzz_check(z.n == 0 && !z.at && !z.offset && err[0]);
		return 0;
	}
	for (int32_t i = 1; i < z.n; i++)
		fuzz_check(z.at[i - 1] < z.at[i]);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		tz_offset(&z, fixed[i]);
		tz_local_to_utc(&z, fixed[i]);
		tz_period_start(&z, PERIOD_WEEK, fixed[i]);
		tz_period_next(&z, PERIOD_MONTH, fixed[i]);
	}
	for (int32_t i = 0; i < z.n && i < 64; i++) {
		fuzz_query(&z, z.at[i] - 1);
		fuzz_query(&z, z.at[i]);
		fuzz_query(&z, z.at[i] + 3600);
	}
	if (z.n > 0)
		fuzz_query(&z, z.at[z.n - 1] + 86400);
	fuzz_query(&z, 1774746000);
	tz_free(&z);
	return 0;
}
