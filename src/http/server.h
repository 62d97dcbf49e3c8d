/*
 * server.h — the HTTP door: a libmicrohttpd daemon on a socket we bind
 * ourselves (so that `cmr serve --user` can drop privileges after binding,
 * and port 0 lets tests take a free port), answering /healthz for now.
 */
#ifndef CMR_HTTP_SERVER_H
#define CMR_HTTP_SERVER_H

#include "app/app.h"
#include "http/tls.h"

struct http_server;

/* Binds addr and listens. Returns 0 and *fd, or -1 with err. */
int http_listen(const struct listen_addr *addr, int *fd, int *port, char *err,
		size_t errlen);

/* Starts serving on a listening socket (which it then owns): HTTPS with
 * tls's certificate and key when tls is not NULL and has them (tls must
 * outlive the server), else plain HTTP. Returns 0 and *out, or -1 with
 * err. */
int http_start(struct app *a, int fd, const struct http_tls *tls,
	       struct http_server **out, char *err, size_t errlen);

/* Stops accepting, finishes what is in flight, frees. */
void http_stop(struct http_server *s);

#endif
