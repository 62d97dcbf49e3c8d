/*
 * policy.c — the Postfix policy service (see policy.h).
 *
 * A request is lines of `name=value` ended by an empty line; the answer
 * is `action=…` and an empty line. Only a request about a recipient
 * (protocol_state RCPT) in the alias domain is judged:
 *   - an unknown alias: the uniform "550 5.1.1 recipient not accepted"
 *     (Postfix adds the alias; nothing recorded: there is no one to
 *     record it for);
 *   - an alias the gate's recipient stage refuses (ended, consent
 *     expired, email on do-not-contact or not permitted): the same uniform
 *     reply, and the refusal is recorded as an attempt with the envelope
 *     sender, unverified;
 *   - everything else, and every person whose refusals are silent: DUNNO,
 *     and the mail is decided whole at LMTP.
 * A malformed request or a fault of ours answers DEFER_IF_PERMIT, which
 * Postfix turns into a temporary failure: nothing is lost.
 */
#include "mail/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app/rcpt.h"
#include "base/conn.h"
#include "base/log.h"
#include "base/mailmsg.h"

struct policy_server {
	struct conn_server *conns;
	struct app *app;
	struct rcpt_cache *cache;
};

/* Copies value into out (lower case when `lower`); false when it does
 * not fit. */
static bool policy_copy(char *out, size_t size, const char *value, bool lower)
{
	size_t n = strlen(value);
	if (n >= size)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = lower ? (char)tolower((unsigned char)value[i])
			       : value[i];
	return true;
}

const char *policy_attribute(struct policy_request *req, char *line)
{
	char *eq = strchr(line, '=');
	if (eq == NULL || eq == line)
		return "a line is not name=value";
	*eq = '\0';
	const char *v = eq + 1;
	bool fits = true;
	if (strcmp(line, "request") == 0)
		fits = policy_copy(req->request, sizeof(req->request), v,
				   false);
	else if (strcmp(line, "protocol_state") == 0)
		fits = policy_copy(req->state, sizeof(req->state), v, false);
	else if (strcmp(line, "recipient") == 0)
		fits = policy_copy(req->recipient, sizeof(req->recipient), v,
				   true);
	else if (strcmp(line, "sender") == 0)
		fits = policy_copy(req->sender, sizeof(req->sender), v, false);
	return fits ? NULL : "an address is too long";
}

/* Reads one request. Returns 1 with *req, 0 when the peer left between
 * requests, or -1 for a malformed one (the reason in *why). */
static int policy_read(struct conn *c, struct policy_request *req,
		       const char **why)
{
	char line[POLICY_LINE_MAX + 1];
	int n_attrs = 0;
	bool bad = false;
	memset(req, 0, sizeof(*req));
	for (;;) {
		ssize_t n = conn_line(c, line, sizeof(line), POLICY_LINE_MAX,
				      false);
		if (n == CONN_GONE)
			return n_attrs == 0 && !bad ? 0 : -2;
		if (n == 0)
			break;
		if (bad)
			continue; /* read the request to its end */
		if (n == CONN_TOO_LONG) {
			*why = "an attribute line is too long";
			bad = true;
			continue;
		}
		if (++n_attrs > POLICY_ATTRS_MAX) {
			*why = "too many attributes";
			bad = true;
			continue;
		}
		if ((*why = policy_attribute(req, line)) != NULL)
			bad = true;
	}
	if (!bad && n_attrs == 0) {
		*why = "an empty request";
		bad = true;
	}
	return bad ? -1 : 1;
}

/* The answer to one well-formed request, into out. */
static void policy_decide(struct policy_server *srv,
			  const struct policy_request *req, char *out,
			  size_t size)
{
	struct app *a = srv->app;
	char domain[254];
	if (strcmp(req->request, "smtpd_access_policy") != 0 ||
	    strcasecmp(req->state, "RCPT") != 0 ||
	    !mailmsg_domain(req->recipient, domain, sizeof(domain)) ||
	    strcasecmp(domain, a->cfg.alias_domain) != 0 ||
	    mailmsg_is_bounce(req->recipient, a->cfg.alias_domain)) {
		snprintf(out, size, "action=DUNNO\n\n");
		return;
	}
	enum rcpt_verdict v = rcpt_check(a, srv->cache, req->recipient,
					 req->sender, app_now_ms());
	if (v == RCPT_FAULT) {
		snprintf(out, size,
			 "action=DEFER_IF_PERMIT 4.3.0 try again later\n\n");
		return;
	}
	/* Postfix writes "<alias>: Recipient address rejected: " before it,
	 * so the client reads one reply whatever the reason. */
	if (v == RCPT_REJECT)
		snprintf(out, size,
			 "action=550 5.1.1 recipient not accepted\n\n");
	else
		snprintf(out, size, "action=DUNNO\n\n");
}

static void policy_serve(struct conn *c)
{
	struct policy_server *srv = c->ctx;
	char answer[512];
	while (!c->gone && !conn_stopping(c)) {
		struct policy_request req;
		const char *why = NULL;
		int rc = policy_read(c, &req, &why);
		if (rc == 0 || rc == -2)
			return;
		if (rc < 0) {
			log_info("policy: malformed request (%s); connection "
				 "closed",
				 why);
			snprintf(answer, sizeof(answer),
				 "action=DEFER_IF_PERMIT 4.5.2 malformed "
				 "policy request: %s\n\n",
				 why);
			conn_send(c, answer, strlen(answer));
			return;
		}
		policy_decide(srv, &req, answer, sizeof(answer));
		conn_send(c, answer, strlen(answer));
	}
}

int policy_start(struct app *a, int fd, struct policy_server **out, char *err,
		 size_t errlen)
{
	struct policy_server *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->cache = rcpt_cache_new()) == NULL) {
		free(s);
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->app = a;
	const struct conn_config cfg = {
		.name = "policy",
		.max_conns = (int)a->cfg.policy_conns, /* --policy-conns */
		.busy = "action=DEFER_IF_PERMIT 4.3.2 too many connections\n\n",
		.idle_seconds = POLICY_IDLE_SECONDS,
		.serve = policy_serve,
		.ctx = s,
	};
	if (conn_server_start(fd, &cfg, &s->conns, err, errlen) != 0) {
		rcpt_cache_free(s->cache);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

bool policy_stop(struct policy_server *s)
{
	if (s == NULL)
		return true;
	if (!conn_server_stop(s->conns))
		return false; /* connections still use it: left to the exit */
	rcpt_cache_free(s->cache);
	free(s);
	return true;
}
