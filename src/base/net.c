/*
 * net.c — listening sockets (see net.h).
 */
#include "base/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int net_listen(const char *host, int port, const char *shown, int backlog,
	       int *fd, int *bound_port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char service[8];

	err[0] = '\0';
	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
			 gai_strerror(rc));
		return -1;
	}
	int s = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			   ai->ai_protocol);
		if (s < 0)
			continue;
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(s, backlog) == 0)
			break;
		snprintf(err, errlen, "cannot listen on %s: %s", shown,
			 strerror(errno));
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot listen on %s", shown);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	*bound_port = port;
	if (getsockname(s, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			*bound_port =
				ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			*bound_port =
				ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	*fd = s;
	return 0;
}
