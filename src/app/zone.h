/*
 * zone.h — the persons' time zones, read from the system's TZif files
 * (/usr/share/zoneinfo, or $TZDIR) at the edge, parsed once by core/tz and
 * kept for the life of the process. The gate gets a `const struct tz *`.
 */
#ifndef CMR_APP_ZONE_H
#define CMR_APP_ZONE_H

#include "core/tz.h"

struct zones;

struct zones *zones_new(void);
void zones_free(struct zones *z);

/* The zone named `name` (an IANA name such as "Europe/Berlin"; "UTC" is
 * always there). NULL when the name is malformed or no such file is
 * readable and valid; err (may be NULL) then says why. The pointer stays
 * valid until zones_free. Thread-safe. */
const struct tz *zones_get(struct zones *z, const char *name, char *err,
			   size_t errlen);

#endif
