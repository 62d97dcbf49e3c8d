/*
 * channel.h — the five channels a brand may use to reach a person, and the
 * calendar/day vocabulary shared by terms, windows and the gate.
 *
 * Pure: no I/O, no allocation, no globals beyond constant tables.
 */
#ifndef CMR_CORE_CHANNEL_H
#define CMR_CORE_CHANNEL_H

#include <stdint.h>

enum channel {
	CHANNEL_EMAIL,
	CHANNEL_SMS,
	CHANNEL_PUSH,
	CHANNEL_POSTAL,
	CHANNEL_PHONE,
	CHANNEL_COUNT
};

/* Wire name of a channel ("email", …). */
const char *channel_name(enum channel c);

/* Channel by wire name; -1 when the name is not a channel. */
int channel_parse(const char *name);

/* Seconds since the Unix epoch, UTC. The gate never reads a clock: every
 * instant it sees comes in through its input. */
typedef int64_t cmr_time;

#endif
