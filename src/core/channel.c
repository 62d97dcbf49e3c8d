/*
 * channel.c — names of the channels (see channel.h).
 */
#include "channel.h"

#include <string.h>

static const char *const channel_names[CHANNEL_COUNT] = {
	[CHANNEL_EMAIL] = "email", [CHANNEL_SMS] = "sms",
	[CHANNEL_PUSH] = "push",   [CHANNEL_POSTAL] = "postal",
	[CHANNEL_PHONE] = "phone",
};

const char *channel_name(enum channel c)
{
	if ((unsigned)c >= CHANNEL_COUNT)
		return "unknown";
	return channel_names[c];
}

int channel_parse(const char *name)
{
	for (int i = 0; i < CHANNEL_COUNT; i++)
		if (strcmp(channel_names[i], name) == 0)
			return i;
	return -1;
}
