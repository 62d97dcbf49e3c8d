/*
 * tls.h — the certificate and key of `cmr serve --tls-cert FILE --tls-key
 * FILE`, read before privileges are dropped (a key is often readable by
 * root only) and checked at start-up, so that a wrong file is a usage
 * error that names it rather than a daemon that cannot start.
 */
#ifndef CMR_HTTP_TLS_H
#define CMR_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/config.h"

/* A certificate chain and its private key, PEM text. */
struct http_tls {
	char *cert; /* NUL-terminated PEM (owned); NULL: plain HTTP */
	char *key;  /* NUL-terminated PEM (owned; wiped when cleared) */
};

/* Reads and checks cfg's --tls-cert and --tls-key: both or neither, each
 * readable PEM that GnuTLS parses, and the key the certificate's. Returns
 * 0 (tls left empty when neither is set), or -1 with a line naming the
 * option and file in err. */
int http_tls_load(const struct config *cfg, struct http_tls *tls, char *err,
		  size_t errlen);

/* Frees (and wipes) what http_tls_load read. */
void http_tls_clear(struct http_tls *tls);

#endif
