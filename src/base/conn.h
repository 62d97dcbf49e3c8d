/*
 * conn.h — a line-protocol server for the mail doors (LMTP, the Postfix
 * policy service): an accept thread, one thread per connection up to a
 * limit (a connection simply waits for the writer), a buffered line
 * reader with a length limit and an idle timeout, and a stop that wakes
 * every connection from its read and lets it finish what it is doing.
 */
#ifndef CMR_BASE_CONN_H
#define CMR_BASE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct conn_server;

struct conn {
	struct conn_server *server;
	int fd;
	void *ctx;	 /* what conn_server_start was given */
	bool gone;	 /* the peer is gone or a send failed */
	char buf[16384]; /* read buffer */
	size_t pos, len;
	char out[8192]; /* replies not sent yet */
	size_t out_len;
};

/* What a door's connection does, on its own thread, until it returns. */
typedef void (*conn_serve_fn)(struct conn *c);

struct conn_config {
	const char *name; /* for the log: "lmtp", "policy" */
	int max_conns;	  /* at once; more get `busy` and are closed */
	const char *busy; /* sent to a connection over the limit, or NULL */
	int idle_seconds; /* a silent peer is dropped */
	conn_serve_fn serve;
	void *ctx;
};

/* Serves connections on the listening fd (which it then owns). */
int conn_server_start(int fd, const struct conn_config *cfg,
		      struct conn_server **out, char *err, size_t errlen);

/* Stops accepting, wakes every connection from its read, waits a while
 * for them to end, and frees. False when some did not end: they still
 * use what they were given (ctx), which must then be left to the
 * process's exit. */
bool conn_server_stop(struct conn_server *s);

/* Whether the server is stopping (a connection should leave). */
bool conn_stopping(const struct conn *c);

/* Line results besides a length: */
enum {
	CONN_GONE = -1,	    /* the peer left, or was idle too long */
	CONN_TOO_LONG = -2, /* over max bytes; the rest of it was skipped */
	CONN_BARE_LF = -3,  /* crlf was asked and the line ended in LF */
};

/* Reads one line, without its end, into out (NUL-terminated). A line
 * counts its end in `max` (RFC 5321 style). With crlf, lines must end in
 * CRLF; without, in LF (a CR before it is kept). */
ssize_t conn_line(struct conn *c, char *out, size_t size, size_t max,
		  bool crlf);

/* Queues buf to be sent; it goes out when the connection is about to
 * wait for its peer (conn_line with nothing left to read), when the queue
 * is full, or on conn_flush. So pipelined replies leave together, and a
 * multi-line reply is one segment. -1 (and c->gone) when the peer is
 * gone. */
int conn_send(struct conn *c, const void *buf, size_t n);

/* Sends what is queued; -1 (and c->gone) when the peer is gone. */
int conn_flush(struct conn *c);

#endif
