/*
 * net.h — a listening TCP socket, for every door that listens (HTTP,
 * metrics, LMTP): bound before privileges are dropped, with port 0 giving
 * a free port (tests), and the port actually bound reported back.
 */
#ifndef CMR_BASE_NET_H
#define CMR_BASE_NET_H

#include <stddef.h>

/* Resolves host (numeric or a name), binds and listens. `shown` names the
 * address in errors. Returns 0 with *fd and *bound_port, or -1 with a
 * sentence in err. */
int net_listen(const char *host, int port, const char *shown, int backlog,
	       int *fd, int *bound_port, char *err, size_t errlen);

#endif
