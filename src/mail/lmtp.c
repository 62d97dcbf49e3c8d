/*
 * lmtp.c — the LMTP server (see lmtp.h).
 *
 * A session is a state machine driven by a table of verbs; each verb has
 * a check (is it allowed now, is its argument well-formed) and a proceed
 * step. Replies go out as soon as they are known, so pipelined commands
 * are answered in order. After DATA, the message is parsed once, every
 * recipient is decided by the gate in one writer job (one commit for all
 * of them), and then one reply per recipient goes out:
 *   - delivered or held, durable: 250;
 *   - unknown alias, or mail for an alias from someone other than its
 *     brand: the one uniform "550 5.1.1 <alias>: recipient not accepted",
 *     so a stranger learns nothing (the latter is recorded: it is a leak);
 *   - refused for the brand: "550 5.7.1 <brand-visible reason>";
 *   - a fault of ours: "451 4.3.0".
 * A person whose refusals are silent gets refusals accepted (250) and
 * recorded all the same.
 *
 * Who the sender is (gate row 2): with --auth-id, the topmost
 * Authentication-Results of that authserv-id must carry a DMARC pass for
 * the From domain or an aligned DKIM pass, and the From domain must be
 * one of the brand's (by organizational domain, libpsl); the person sees
 * the message as verified. With --trust-envelope (demos, tests) the
 * envelope sender's and the From domains must both be the brand's, and
 * the person sees "sender not verified".
 */
#define _GNU_SOURCE
#include "mail/lmtp.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "app/intake.h"
#include "app/reply.h"
#include "base/conn.h"
#include "base/log.h"
#include "base/net.h"
#include "core/gate.h"
#include "core/id.h"
#include "mail/authres.h"
#include "base/mailmsg.h"

#include <sodium.h>

enum lmtp_state {
	LMTP_GREETED, /* before LHLO */
	LMTP_READY,   /* after LHLO, no transaction */
	LMTP_MAIL,    /* after MAIL FROM */
	LMTP_RCPT,    /* at least one RCPT TO */
};

struct lmtp_rcpt {
	char alias[321];
};

struct lmtp_session {
	struct conn *c;
	struct app *app;
	enum lmtp_state state;
	char sender[321];
	struct lmtp_rcpt rcpts[LMTP_RCPT_MAX];
	int n_rcpt;
	bool quit;
};

struct lmtp_server {
	struct conn_server *conns;
};

/* ---- I/O ---- */

static int lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (conn_send(s->c, line, (size_t)n) != 0) {
		s->quit = true;
		return -1;
	}
	return 0;
}

static ssize_t lmtp_line(struct lmtp_session *s, char *out, size_t size)
{
	return conn_line(s->c, out, size, LMTP_LINE_MAX, true);
}

/* ---- The verbs ---- */

bool lmtp_path(const char *arg, const char *prefix, char *out, size_t size)
{
	size_t p = strlen(prefix);
	if (strncasecmp(arg, prefix, p) != 0)
		return false;
	arg += p;
	while (*arg == ' ')
		arg++;
	if (*arg != '<')
		return false;
	const char *end = strchr(arg, '>');
	if (end == NULL || (size_t)(end - arg - 1) >= size)
		return false;
	memcpy(out, arg + 1, (size_t)(end - arg - 1));
	out[end - arg - 1] = '\0';
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f || *c == '<')
			return false;
	return true;
}

static void lmtp_reset(struct lmtp_session *s)
{
	s->sender[0] = '\0';
	s->n_rcpt = 0;
	if (s->state != LMTP_GREETED)
		s->state = LMTP_READY;
}

static void proceed_lhlo(struct lmtp_session *s, const char *arg)
{
	(void)arg;
	lmtp_reset(s);
	s->state = LMTP_READY;
	lmtp_reply(s, "250-%s", s->app->cfg.alias_domain);
	lmtp_reply(s, "250-PIPELINING");
	lmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	lmtp_reply(s, "250-8BITMIME");
	lmtp_reply(s, "250 SIZE %d", LMTP_SIZE_MAX);
}

static void proceed_mail(struct lmtp_session *s, const char *arg)
{
	char path[321];
	if (!lmtp_path(arg, "FROM:", path, sizeof(path))) {
		lmtp_reply(s, "501 5.5.4 syntax: MAIL FROM:<address>");
		return;
	}
	const char *size = strcasestr(arg, " SIZE=");
	if (size && strtoll(size + 6, NULL, 10) > LMTP_SIZE_MAX) {
		lmtp_reply(s, "552 5.3.4 message too big (at most %d bytes)",
			   LMTP_SIZE_MAX);
		return;
	}
	snprintf(s->sender, sizeof(s->sender), "%s", path);
	s->state = LMTP_MAIL;
	lmtp_reply(s, "250 2.1.0 ok");
}

static void proceed_rcpt(struct lmtp_session *s, const char *arg)
{
	char path[321];
	if (!lmtp_path(arg, "TO:", path, sizeof(path)) || path[0] == '\0') {
		lmtp_reply(s, "501 5.5.4 syntax: RCPT TO:<address>");
		return;
	}
	if (s->n_rcpt == LMTP_RCPT_MAX) {
		lmtp_reply(s, "452 4.5.3 too many recipients");
		return;
	}
	for (char *c = path; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	/* Every recipient is taken here; what becomes of it is said after
	 * DATA, per recipient, so that RCPT tells a stranger nothing. */
	snprintf(s->rcpts[s->n_rcpt++].alias, sizeof(s->rcpts[0].alias), "%s",
		 path);
	s->state = LMTP_RCPT;
	lmtp_reply(s, "250 2.1.5 ok");
}

/* What one recipient became. */
/* The brand whose domain (or organizational domain) `domain` is, in
 * *brand (0: none); false when the store could not say. */
static bool lmtp_brand_of(struct app *a, const char *domain, uint64_t *brand)
{
	char org[DOMAIN_MAX];
	return intake_brand_of(a, domain,
			       domain_org(domain, org, sizeof(org)) ? org
								    : NULL,
			       brand) == APP_OK;
}

/* Who sent the message, as row 2 judges it: whether the evidence holds
 * for the From domain (from_ok, with that domain and its organizational
 * one), the brand on cmr (0: none) that domain names, and whether an
 * aligned DKIM signature covers its headers. With --auth-id only the
 * topmost Authentication-Results of that authserv-id counts, and only a
 * DMARC pass for the From domain or an aligned DKIM pass. With
 * --trust-envelope the envelope sender's and the From domains must have
 * the same organizational domain, and nothing is verified. Which
 * relationship the sender may write to (a brand's, or a person-made one
 * naming that domain) is app/intake.c's to say. Worked out once per
 * message, on the session's thread, not on the writer. False when the
 * store could not say whose a domain is (the message is then refused for
 * now, 451, never taken for a stranger's). */
static bool lmtp_sender_of(struct app *a, const char *sender, const char *data,
			   const struct mailmsg *m, struct intake_message *out,
			   char org[DOMAIN_MAX])
{
	out->from_brand = 0;
	out->from_ok = false;
	out->dkim = false;
	out->verified = a->cfg.auth_id[0] != '\0';
	out->from_domain = m->from_domain;
	out->from_org = org;
	if (m->from_domain[0] == '\0' ||
	    !domain_org(m->from_domain, org, DOMAIN_MAX))
		org[0] = '\0';
	if (m->from_domain[0] == '\0')
		return true;
	if (a->cfg.auth_id[0]) {
		struct authres ar;
		if (!authres_find(data, m->header_len, a->cfg.auth_id, &ar) ||
		    !authres_vouches(&ar, m->from_domain))
			return true;
		out->from_ok = true;
		if (!lmtp_brand_of(a, m->from_domain, &out->from_brand))
			return false;
		/* An aligned DKIM signature, not DMARC alone (which may rest
		 * on SPF): only it covers headers such as List-Unsubscribe
		 * (RFC 8058 §4). */
		ar.dmarc_pass = false;
		out->dkim = authres_vouches(&ar, m->from_domain);
		return true;
	}
	char domain[254];
	if (!mailmsg_domain(sender, domain, sizeof(domain)))
		return true;
	uint64_t from, envelope = 0;
	if (!lmtp_brand_of(a, m->from_domain, &from) ||
	    (from != 0 && !lmtp_brand_of(a, domain, &envelope)))
		return false;
	if (from != 0 && envelope == from)
		out->from_brand = from;
	out->from_ok = strcmp(domain, m->from_domain) == 0 ||
		       domain_same_org(domain, m->from_domain);
	return true;
}

/* The person a bounce address names: "cmr-bounces+per_…@domain". */
static bool lmtp_bounce_person(const char *rcpt, uint64_t *person)
{
	const char *plus = strchr(rcpt, '+'), *at = strrchr(rcpt, '@');
	char id[ID_SIZE];
	if (plus == NULL || at == NULL || at < plus ||
	    (size_t)(at - plus - 1) >= sizeof(id))
		return false;
	memcpy(id, plus + 1, (size_t)(at - plus - 1));
	id[at - plus - 1] = '\0';
	return id_decode(ID_PERSON, id, person);
}

/* The LMTP reply to each outcome of intake — the door's one mapping.
 * Columns: the outcome; the reply, whose %s is the recipient's alias
 * (the uniform refusal names nothing else) or, for a refusal told to
 * the brand, the reason the brand may see (gate_reasons[].brand). */
static const struct {
	enum intake_outcome outcome;
	const char *reply;
} lmtp_replies[] = {
	{ INTAKE_ACCEPTED, "250 2.0.0 <%s> accepted" },
	{ INTAKE_BOUNCE, "250 2.0.0 <%s> bounce taken" },
	{ INTAKE_UNIFORM, "550 5.1.1 <%s>: recipient not accepted" },
	{ INTAKE_REFUSED, "550 5.7.1 %s" },
	{ INTAKE_REPLY_ENDED, "550 5.7.1 <%s>: your relationship with this "
			      "brand has ended; the reply was not sent" },
	{ INTAKE_REPLY_NO_ONE, "550 5.7.1 <%s>: this brand gave no address "
			       "that takes replies; the reply was not sent" },
	{ INTAKE_FAULT, "451 4.3.0 try again later%s" },
};

static void lmtp_result_reply(struct lmtp_session *s, const char *alias,
			      const struct intake_result *o)
{
	size_t i = 0, n = sizeof(lmtp_replies) / sizeof(*lmtp_replies);
	while (i < n - 1 && lmtp_replies[i].outcome != o->outcome)
		i++; /* anything unknown is ours: the last row */
	const char *arg = o->outcome == INTAKE_REFUSED
				  ? gate_reasons[o->reason].brand
			  : o->outcome == INTAKE_FAULT ? ""
						       : alias;
	lmtp_reply(s, lmtp_replies[i].reply, arg);
}

/* Reads the message after "354" up to the lone dot, undoing dot
 * stuffing. Returns 0, or 552 (too big), 500 (bare LF), or -1 (gone). */
static int lmtp_read_data(struct lmtp_session *s, char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *data = malloc(cap), line[LMTP_LINE_MAX + 2];
	int status = 0;
	if (data == NULL)
		return -1;
	for (;;) {
		ssize_t l = lmtp_line(s, line, sizeof(line));
		if (l == CONN_GONE) {
			free(data);
			return -1;
		}
		if (l == CONN_TOO_LONG || l == CONN_BARE_LF) {
			if (status == 0)
				status = 500; /* keep reading to the end */
			continue;
		}
		if (l == 1 && line[0] == '.')
			break;
		const char *p = line[0] == '.' ? line + 1 : line;
		size_t m = (size_t)l - (line[0] == '.' ? 1 : 0);
		if (status != 0)
			continue;
		if (n + m + 2 > LMTP_SIZE_MAX) {
			status = 552;
			continue;
		}
		if (n + m + 2 > cap) {
			while (n + m + 2 > cap)
				cap *= 2;
			char *bigger = realloc(data, cap);
			if (bigger == NULL) {
				free(data);
				return -1;
			}
			data = bigger;
		}
		memcpy(data + n, p, m);
		n += m;
		data[n++] = '\r';
		data[n++] = '\n';
	}
	if (status != 0) {
		free(data);
		return status;
	}
	*out = data;
	*len = n;
	return 0;
}

static void proceed_data(struct lmtp_session *s, const char *arg)
{
	(void)arg;
	lmtp_reply(s, "354 end data with <CR><LF>.<CR><LF>");
	char *data = NULL;
	size_t len = 0;
	int rc = lmtp_read_data(s, &data, &len);
	if (rc == -1) {
		s->quit = true; /* vanished mid-DATA: nothing was stored */
		return;
	}
	struct intake_result out[LMTP_RCPT_MAX];
	struct mailmsg m;
	if (rc == 0 && !mailmsg_parse(data, len, &m))
		rc = 550;
	if (rc != 0) {
		for (int i = 0; i < s->n_rcpt; i++)
			lmtp_reply(s, rc == 552 ? "552 5.3.4 message too big"
				      : rc == 500
					      ? "500 5.5.2 line too long or "
						"bare LF in the message"
					      : "550 5.6.0 the message has no "
						"headers");
		free(data);
		lmtp_reset(s);
		return;
	}
	/* One message to one alias is delivered once: an MTA that retries
	 * after a lost reply sends the same Message-ID and body again. The
	 * hash is made here, not on the writer, which is the one busy
	 * thread. */
	uint8_t dedup[16];
	bool has_dedup = m.message_id[0] != '\0';
	if (has_dedup) {
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, sizeof(dedup));
		crypto_generichash_update(&st, (const uint8_t *)m.message_id,
					  strlen(m.message_id) + 1);
		crypto_generichash_update(&st,
					  (const uint8_t *)data + m.header_len,
					  len - m.header_len);
		crypto_generichash_final(&st, dedup, sizeof(dedup));
	}
	/* Reply addresses are the person answering a brand (app/reply.h);
	 * every other recipient is decided by intake in one job. */
	struct intake_rcpt rcpts[LMTP_RCPT_MAX];
	int at[LMTP_RCPT_MAX], n = 0;
	bool reply[LMTP_RCPT_MAX];
	for (int i = 0; i < s->n_rcpt; i++) {
		const char *alias = s->rcpts[i].alias;
		reply[i] = reply_is_address(s->app, alias);
		if (reply[i])
			continue;
		at[n] = i;
		rcpts[n] = (struct intake_rcpt){ alias, 0, false };
		if (mailmsg_is_bounce(alias, s->app->cfg.alias_domain)) {
			rcpts[n].bounce = true;
			if (!lmtp_bounce_person(alias, &rcpts[n].bounce_of))
				rcpts[n].bounce_of = 0;
		}
		n++;
	}
	struct intake_message im = {
		.sender = s->sender,
		.rcpts = rcpts,
		.n_rcpts = n,
		.data = data,
		.len = len,
		.header_len = m.header_len,
		.subject = m.subject,
		.topic = m.topic[0] ? m.topic : NULL,
		.bulk = m.bulk,
		.unsubscribe = m.unsubscribe,
		.dedup = has_dedup ? dedup : NULL,
	};
	char from_org[DOMAIN_MAX];
	bool known = lmtp_sender_of(s->app, s->sender, data, &m, &im, from_org);
	struct intake_result decided[LMTP_RCPT_MAX];
	if (!known) /* every recipient tried again later (451) */
		for (int i = 0; i < s->n_rcpt; i++)
			out[i] = (struct intake_result){ INTAKE_FAULT, 0 };
	else if (n > 0)
		intake_deliver(s->app, &im, decided);
	for (int i = 0; known && i < n; i++)
		out[at[i]] = decided[i];
	for (int i = 0; known && i < s->n_rcpt; i++) {
		if (!reply[i])
			continue;
		struct reply_in in = { .rcpt = s->rcpts[i].alias,
				       .sender = s->sender,
				       .from = m.from,
				       .from_ok = im.from_ok,
				       .data = data,
				       .len = len };
		static const enum intake_outcome as[] = {
			[REPLY_TAKEN] = INTAKE_ACCEPTED,
			[REPLY_UNIFORM] = INTAKE_UNIFORM,
			[REPLY_ENDED] = INTAKE_REPLY_ENDED,
			[REPLY_NO_ONE] = INTAKE_REPLY_NO_ONE,
			[REPLY_FAULT] = INTAKE_FAULT,
		};
		out[i] = (struct intake_result){ as[reply_intake(s->app, &in)],
						 0 };
	}
	for (int i = 0; i < s->n_rcpt; i++)
		lmtp_result_reply(s, s->rcpts[i].alias, &out[i]);
	free(data);
	lmtp_reset(s);
}

static void proceed_rset(struct lmtp_session *s, const char *arg)
{
	(void)arg;
	lmtp_reset(s);
	lmtp_reply(s, "250 2.0.0 ok");
}

static void proceed_noop(struct lmtp_session *s, const char *arg)
{
	(void)arg;
	lmtp_reply(s, "250 2.0.0 ok");
}

static void proceed_quit(struct lmtp_session *s, const char *arg)
{
	(void)arg;
	lmtp_reply(s, "221 2.0.0 bye");
	s->quit = true;
}

/* The verbs. Columns: the name; the states it is allowed in (a bit per
 * enum lmtp_state); whether it takes an argument (MAIL/RCPT must, the
 * others must not, but for LHLO's domain); what it does. */
static const struct lmtp_verb {
	const char *name;
	unsigned states;
	int arg; /* 1: required, 0: none, -1: optional */
	void (*proceed)(struct lmtp_session *s, const char *arg);
} lmtp_verbs[] = {
	{ "LHLO", 0xf, 1, proceed_lhlo },
	{ "MAIL", 1u << LMTP_READY, 1, proceed_mail },
	{ "RCPT", 1u << LMTP_MAIL | 1u << LMTP_RCPT, 1, proceed_rcpt },
	{ "DATA", 1u << LMTP_RCPT, 0, proceed_data },
	{ "RSET", 0xf, 0, proceed_rset },
	{ "NOOP", 0xf, -1, proceed_noop },
	{ "QUIT", 0xf, 0, proceed_quit },
};

static void lmtp_command(struct lmtp_session *s, char *line)
{
	char *sp = strchr(line, ' ');
	const char *arg = sp ? sp + 1 : "";
	size_t n = sp ? (size_t)(sp - line) : strlen(line);
	for (size_t i = 0; i < sizeof(lmtp_verbs) / sizeof(*lmtp_verbs); i++) {
		const struct lmtp_verb *v = &lmtp_verbs[i];
		if (strlen(v->name) != n || strncasecmp(v->name, line, n) != 0)
			continue;
		if (!(v->states & (1u << s->state))) {
			lmtp_reply(s, "503 5.5.1 bad sequence of commands");
			return;
		}
		if ((v->arg == 1 && *arg == '\0') || (v->arg == 0 && *arg)) {
			lmtp_reply(s, "501 5.5.4 syntax error in arguments");
			return;
		}
		v->proceed(s, arg);
		return;
	}
	if (strncasecmp(line, "HELO", 4) == 0 ||
	    strncasecmp(line, "EHLO", 4) == 0)
		lmtp_reply(s, "500 5.5.1 this is LMTP: use LHLO");
	else
		lmtp_reply(s, "500 5.5.2 command not recognised");
}

static void lmtp_serve(struct conn *c)
{
	struct lmtp_session *s = calloc(1, sizeof(*s));
	char line[LMTP_LINE_MAX + 2];
	if (s == NULL) {
		const char busy[] = "421 4.3.0 out of memory\r\n";
		conn_send(c, busy, sizeof(busy) - 1);
		return;
	}
	s->c = c;
	s->app = c->ctx;
	lmtp_reply(s, "220 %s LMTP cmr ready", s->app->cfg.alias_domain);
	while (!s->quit && !conn_stopping(c)) {
		ssize_t n = lmtp_line(s, line, sizeof(line));
		if (n == CONN_GONE) {
			lmtp_reply(s, "421 4.4.2 idle too long, or gone");
			break;
		}
		if (n == CONN_TOO_LONG) {
			lmtp_reply(s, "500 5.5.2 line too long");
			continue;
		}
		if (n == CONN_BARE_LF) {
			lmtp_reply(s, "500 5.5.2 bare LF: lines end in CRLF");
			continue;
		}
		lmtp_command(s, line);
	}
	free(s);
}

int lmtp_listen(const struct listen_addr *addr, int *fd, int *port, char *err,
		size_t errlen)
{
	*port = 0;
	if (addr->unix_socket) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr->path);
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct stat st;
		if (lstat(addr->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(addr->path); /* a stale socket of ours */
		if (s < 0 ||
		    bind(s, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
		    listen(s, 128) != 0) {
			snprintf(err, errlen, "cannot listen on %s: %s",
				 addr->text, strerror(errno));
			if (s >= 0)
				close(s);
			return -1;
		}
		*fd = s;
		return 0;
	}
	return net_listen(addr->host, addr->port, addr->text, 128, fd, port,
			  err, errlen);
}

int lmtp_start(struct app *a, int fd, struct lmtp_server **out, char *err,
	       size_t errlen)
{
	struct lmtp_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mailmsg_init();
	const struct conn_config cfg = {
		.name = "lmtp",
		.max_conns = (int)a->cfg.lmtp_conns, /* --lmtp-conns */
		.busy = "421 4.3.2 too many sessions\r\n",
		.idle_seconds = LMTP_IDLE_SECONDS,
		.serve = lmtp_serve,
		.ctx = a,
	};
	if (conn_server_start(fd, &cfg, &s->conns, err, errlen) != 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

bool lmtp_stop(struct lmtp_server *s)
{
	if (s == NULL)
		return true;
	bool clean = conn_server_stop(s->conns);
	free(s);
	return clean;
}
