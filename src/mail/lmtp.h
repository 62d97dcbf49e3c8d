/*
 * lmtp.h — the LMTP door (RFC 2033) for mail from an MTA: one thread per
 * session (a session simply waits for the writer), verbs as a table with
 * an explicit session state, one reply per recipient after DATA, each
 * `250` only once the attempt is durable.
 */
#ifndef CMR_MAIL_LMTP_H
#define CMR_MAIL_LMTP_H

#include "app/app.h"

#define LMTP_LINE_MAX	  1000 /* RFC 5321 §4.5.3.1.6, CRLF incl. */
#define LMTP_SIZE_MAX	  (25 * 1024 * 1024) /* the largest message taken */
#define LMTP_RCPT_MAX	  100		     /* recipients per transaction */
#define LMTP_IDLE_SECONDS 300		     /* a silent client is dropped */

struct lmtp_server;

/* Reads "<address>" after prefix ("FROM:" or "TO:", any case) in a MAIL
 * or RCPT argument, into out; false when malformed or too long. */
bool lmtp_path(const char *arg, const char *prefix, char *out, size_t size);

/* Binds addr (TCP or unix:PATH). Returns 0, *fd and (TCP) the bound
 * *port, or -1 with err. */
int lmtp_listen(const struct listen_addr *addr, int *fd, int *port, char *err,
		size_t errlen);

/* Serves sessions on fd (which it then owns). */
int lmtp_start(struct app *a, int fd, struct lmtp_server **out, char *err,
	       size_t errlen);

/* Stops accepting, lets the sessions end, frees. False when some did
 * not end in time: they still use the app. */
bool lmtp_stop(struct lmtp_server *s);

#endif
