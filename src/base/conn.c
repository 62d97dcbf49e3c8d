/*
 * conn.c — the line-protocol server of the mail doors (see conn.h).
 */
#define _GNU_SOURCE
#include "base/conn.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

struct conn_server {
	struct conn_config cfg;
	int fd;
	pthread_t thread;
	atomic_bool stopping;
	atomic_int conns;
	pthread_mutex_t lock;
	int *fds; /* cfg.max_conns slots; -1: free; woken on stop */
};

static void conn_track(struct conn_server *srv, int fd, bool add)
{
	pthread_mutex_lock(&srv->lock);
	for (int i = 0; i < srv->cfg.max_conns; i++)
		if (add ? srv->fds[i] < 0 : srv->fds[i] == fd) {
			srv->fds[i] = add ? fd : -1;
			break;
		}
	pthread_mutex_unlock(&srv->lock);
}

bool conn_stopping(const struct conn *c)
{
	return atomic_load(&c->server->stopping);
}

static int conn_write(struct conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	for (size_t off = 0; off < n;) {
		ssize_t w = send(c->fd, p + off, n - off, MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			c->gone = true;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

int conn_flush(struct conn *c)
{
	if (c->out_len == 0 || c->gone)
		return c->gone ? -1 : 0;
	int rc = conn_write(c, c->out, c->out_len);
	c->out_len = 0;
	return rc;
}

int conn_send(struct conn *c, const void *buf, size_t n)
{
	if (c->gone)
		return -1;
	if (c->out_len + n > sizeof(c->out) && conn_flush(c) != 0)
		return -1;
	if (n > sizeof(c->out))
		return conn_write(c, buf, n);
	memcpy(c->out + c->out_len, buf, n);
	c->out_len += n;
	return 0;
}

ssize_t conn_line(struct conn *c, char *out, size_t size, size_t max, bool crlf)
{
	size_t n = 0;
	bool too_long = false;
	for (;;) {
		if (c->pos == c->len) {
			/* About to wait for the peer: what it is owed first. */
			if (conn_flush(c) != 0)
				return CONN_GONE;
			struct pollfd p = { c->fd, POLLIN, 0 };
			int rc =
				poll(&p, 1, c->server->cfg.idle_seconds * 1000);
			if (rc < 0 && errno == EINTR)
				continue;
			if (rc <= 0)
				return CONN_GONE;
			ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				return CONN_GONE;
			}
			c->pos = 0;
			c->len = (size_t)r;
		}
		char ch = c->buf[c->pos++];
		if (ch == '\n') {
			if (too_long)
				return CONN_TOO_LONG;
			if (crlf) {
				if (n == 0 || out[n - 1] != '\r')
					return CONN_BARE_LF;
				n--;
			}
			out[n] = '\0';
			return (ssize_t)n;
		}
		if (n + 1 >= size || n + 2 > max) {
			too_long = true;
			continue;
		}
		out[n++] = ch;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct conn_server *srv = c->server;
	srv->cfg.serve(c);
	conn_flush(c);
	conn_track(srv, c->fd, false);
	close(c->fd);
	free(c);
	atomic_fetch_sub(&srv->conns, 1);
	return NULL;
}

static void *conn_accept_main(void *arg)
{
	struct conn_server *srv = arg;
	while (!atomic_load(&srv->stopping)) {
		struct pollfd p = { srv->fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (atomic_load(&srv->conns) >= srv->cfg.max_conns) {
			if (srv->cfg.busy) {
				ssize_t w = send(fd, srv->cfg.busy,
						 strlen(srv->cfg.busy),
						 MSG_NOSIGNAL);
				(void)w;
			}
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t t;
		pthread_attr_t attr;
		if (c == NULL) {
			close(fd);
			continue;
		}
		/* Replies are written whole (conn_send queues them), so there
		 * is nothing for Nagle to coalesce, only delayed ACKs to wait
		 * for. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A peer that stops reading holds a send no longer than a
		 * silent one holds a read. */
		struct timeval tv = { .tv_sec = srv->cfg.idle_seconds };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		c->server = srv;
		c->fd = fd;
		c->ctx = srv->cfg.ctx;
		atomic_fetch_add(&srv->conns, 1);
		conn_track(srv, fd, true);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			conn_track(srv, fd, false);
			atomic_fetch_sub(&srv->conns, 1);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int conn_server_start(int fd, const struct conn_config *cfg,
		      struct conn_server **out, char *err, size_t errlen)
{
	struct conn_server *s = calloc(1, sizeof(*s));
	int *fds = calloc((size_t)cfg->max_conns, sizeof(int));
	if (s == NULL || fds == NULL) {
		free(s);
		free(fds);
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->cfg = *cfg;
	s->fd = fd;
	s->fds = fds;
	for (int i = 0; i < cfg->max_conns; i++)
		s->fds[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_create(&s->thread, NULL, conn_accept_main, s) != 0) {
		pthread_mutex_destroy(&s->lock);
		close(fd);
		free(fds);
		free(s);
		snprintf(err, errlen, "cannot start the %s listener",
			 cfg->name);
		return -1;
	}
	*out = s;
	return 0;
}

bool conn_server_stop(struct conn_server *s)
{
	if (s == NULL)
		return true;
	atomic_store(&s->stopping, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	/* Wake every connection from its read: it sees the end of its input
	 * and leaves. One waiting for the writer finishes its work (and its
	 * replies) first. */
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->cfg.max_conns; i++)
		if (s->fds[i] >= 0)
			shutdown(s->fds[i], SHUT_RD);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < 3000 && atomic_load(&s->conns) > 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&s->conns) > 0) {
		log_warn("%s: connections still open at shutdown", s->cfg.name);
		return false; /* they hold it: left to the process's exit */
	}
	pthread_mutex_destroy(&s->lock);
	free(s->fds);
	free(s);
	return true;
}
