/*
 * delivery.c — the delivery adapters' worker (see delivery.h).
 *
 * A round reads what is due from the outbox, does each piece with the
 * Maildir adapter, and settles them all in one write job: done rows
 * leave, failed ones come back later (5 s, doubling to an hour) with
 * their error, which the person sees in GET /v1/me/delivery.
 *
 * The webhook adapter POSTs each delivered message (JSON, signed with
 * HMAC-SHA256, Idempotency-Key: the message id) through base/outbound.
 *
 * What each operation does (Maildir):
 *   deliver — the message, in the folder it is in now, unless it was
 *             removed meanwhile or is there already (a redo);
 *   move    — finds the copy (in the folder named, or anywhere) and moves
 *             it to the folder the message is in now, or removes it when
 *             the message was removed meanwhile;
 *   remove  — finds the copy and removes it;
 *   erase   — removes the person's whole Maildir.
 * A message not found in the store any more (erased) is simply done.
 */
#include "mail/delivery.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "base/log.h"
#include "core/gate.h"
#include "core/channel.h"
#include "core/id.h"
#include "core/terms.h"
#include "app/delivery.h"
#include "app/inbox.h"
#include "app/outbox.h"
#include "app/reply.h"
#include "base/outbound.h"
#include "mail/maildir.h"
#include "base/mailmsg.h"

/* Two workers: the Maildir's (local files, quick) and the one that
 * reaches out (webhooks, forwards, unsubscribes: a slow peer may take its
 * timeout), so that one person's slow webhook holds up no one's Maildir. */
struct delivery;

struct worker {
	struct delivery *d;
	struct app *a;
	pthread_t thread;
	bool local; /* the Maildir's */
	bool started;
	bool first_round; /* rows of before a restart may be redos */
	bool unreadable;  /* the outbox could not be read (logged once) */
};

struct delivery {
	struct app *a;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct worker w[2];
};

struct round {
	struct outbox_piece p[DELIVERY_BATCH];
	int n;
};

static int collect(const struct outbox_row *o, void *arg)
{
	struct round *r = arg;
	r->p[r->n++] = (struct outbox_piece){ .o = *o };
	return r->n == DELIVERY_BATCH;
}

/* After reading what a piece is about: true to go on; false when it is
 * gone (erased or purged meanwhile: the piece is done) or unreadable
 * (the piece fails, to be tried again). */
static bool piece_found(struct outbox_piece *p, int status)
{
	if (status == APP_NOT_FOUND)
		p->ok = true;
	else if (status != APP_OK)
		snprintf(p->error, sizeof(p->error),
			 "the store cannot be read");
	return status == APP_OK;
}

/* The message as mail: as received for mail, composed for the rest. */
static char *message_bytes(struct app *a, const struct outbox_message *m,
			   size_t *len)
{
	if (m->headers) {
		char *copy = malloc(m->body_len + 1);
		if (copy) {
			memcpy(copy, m->body ? m->body : "", m->body_len);
			*len = m->body_len;
		}
		return copy;
	}
	char id[ID_SIZE], msgid[ID_SIZE + 260], from[ID_SIZE + 260];
	id_encode(ID_MESSAGE, m->id, id);
	snprintf(msgid, sizeof(msgid), "%s@%s", id, a->cfg.alias_domain);
	snprintf(from, sizeof(from), "%s", m->alias[0] ? m->alias : "cmr");
	struct mailmsg_compose c = {
		.from_name = m->brand_name,
		.from_addr = from,
		.to = from,
		.subject = m->subject,
		.message_id = msgid,
		.topic = m->topic[0] ? m->topic : NULL,
		.body = m->body,
		.body_len = m->body_len,
		.date = m->received_at,
	};
	return mailmsg_compose(&c, len);
}

/* Looks for the copy of `unique` in folder `hint` (>= 0) or in every
 * folder; 1 with its folder's directory and place, 0, or -1. */
static int find_copy(struct maildir *md, const struct folder_table *f, int hint,
		     const char *unique, char *dir, size_t dsize, char *where,
		     size_t wsize, char *err, size_t errlen)
{
	for (int i = hint >= 0 ? hint : 0; i < f->n; i++) {
		if (!maildir_folder_dir(f->names[i], dir, dsize))
			continue;
		int rc = maildir_find(md, dir, unique, where, wsize, err,
				      errlen);
		if (rc != 0 || hint >= 0)
			return rc;
	}
	return 0;
}

/* One piece of work with the Maildir adapter. */
static void do_maildir(struct worker *d, struct outbox_piece *p)
{
	struct app *a = d->a;
	const struct outbox_row *o = &p->o;
	char per[ID_SIZE];
	id_encode(ID_PERSON, o->person, per);
	if (o->op == OUTBOX_ERASE) {
		p->ok = maildir_erase(a->cfg.maildir_root, per, p->error,
				      sizeof(p->error)) == 0;
		return;
	}
	struct outbox_message m;
	int rc = outbox_message(a, p, &m);
	if (rc == APP_NOT_FOUND) {
		p->ok = true; /* erased or purged meanwhile */
		return;
	}
	bool have_m = rc == APP_OK;
	struct folder_table *f = malloc(sizeof(*f));
	struct maildir *md = NULL;
	char *data = NULL;
	if (!have_m || f == NULL || inbox_folders(a, o->person, f)) {
		snprintf(p->error, sizeof(p->error),
			 "the store cannot be read");
		goto out;
	}
	bool gone = m.removed || m.decision != GATE_DELIVER;
	char unique[MAILDIR_NAME_MAX], dir[200], where[MAILDIR_NAME_MAX + 16];
	char now_dir[200];
	maildir_unique(m.id, m.received_at, unique);
	if (m.folder < 0 || m.folder >= f->n ||
	    !maildir_folder_dir(f->names[m.folder], now_dir, sizeof(now_dir)))
		gone = true; /* nowhere to be (cannot happen when delivered) */
	bool put = o->op == OUTBOX_DELIVER && !gone;
	int opened = maildir_open(a->cfg.maildir_root, per, put, &md, p->error,
				  sizeof(p->error));
	if (opened != 0) {
		p->ok = opened == 1; /* no Maildir: nothing to move or remove */
		goto out;
	}
	/* Where its copy is now: a move or removal looks in the folder it
	 * names (or everywhere); a delivery looks only when it may be a
	 * redo (a retry, the first round after a start) or when copies may
	 * be there from an earlier time the Maildir was on. */
	int found = 0;
	if (o->op != OUTBOX_DELIVER || o->tries > 0 || d->first_round ||
	    o->folder == OUTBOX_LOOK_FIRST) {
		/* A delivery looks everywhere: a copy made before a crash
		 * may have been moved since. */
		int hint = o->op == OUTBOX_DELIVER ? -1 : o->folder;
		found = find_copy(md, f, hint, unique, dir, sizeof(dir), where,
				  sizeof(where), p->error, sizeof(p->error));
		if (found < 0)
			goto out;
	}
	if (found && gone) {
		p->ok = maildir_remove(md, dir, where, p->error,
				       sizeof(p->error)) == 0;
	} else if (found) {
		/* In the folder it is in now, Seen as it is read now. */
		p->ok = (strcmp(dir, now_dir) == 0 ||
			 maildir_move(md, dir, where, now_dir, p->error,
				      sizeof(p->error)) == 0) &&
			maildir_set_seen(md, now_dir, where, sizeof(where),
					 m.read, p->error,
					 sizeof(p->error)) == 0;
	} else if (!put) {
		p->ok = true; /* where it belongs, or nothing to do */
	} else {
		size_t len = 0;
		data = message_bytes(a, &m, &len);
		if (data == NULL) {
			snprintf(p->error, sizeof(p->error), "out of memory");
			goto out;
		}
		p->ok = maildir_put(md, now_dir, unique, data, len, m.read,
				    p->error, sizeof(p->error)) == 0;
	}
out:
	maildir_close(md);
	free(data);
	free(f);
	if (have_m)
		outbox_message_clear(&m);
}

/* The JSON a webhook receives for a delivered message. */
static char *webhook_payload(struct app *a, const struct outbox_message *m,
			     const struct folder_table *f)
{
	char id[ID_SIZE], rel[ID_SIZE], brand[ID_SIZE];
	id_encode(ID_MESSAGE, m->id, id);
	id_encode(ID_RELATIONSHIP, m->relationship, rel);
	id_encode(ID_BRAND, m->brand, brand);
	json_t *mail = json_null(), *body = json_null();
	if (m->headers) {
		/* Mail as received, whatever its encoding. */
		size_t n = sodium_base64_encoded_len(
			m->body_len, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = malloc(n);
		if (b64 == NULL)
			return NULL;
		sodium_bin2base64(b64, n, (const unsigned char *)m->body,
				  m->body_len, sodium_base64_VARIANT_ORIGINAL);
		mail = json_string(b64);
		free(b64);
	} else if (m->body) {
		body = json_stringn(m->body, m->body_len);
		if (body == NULL)
			body = json_null(); /* not UTF-8: cannot be JSON text */
	}
	const char *folder =
		m->folder >= 0 && m->folder < f->n ? f->names[m->folder] : NULL;
	json_t *j = json_pack(
		"{s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
		"id", id, "relationship", rel, "brand", "id", brand, "name",
		m->brand_name, "channel", channel_name(m->channel), "topic",
		m->topic[0] ? json_string(m->topic) : json_null(), "subject",
		m->subject ? json_string(m->subject) : json_null(), "folder",
		folder ? json_string(folder) : json_null(), "received_at",
		app_time_json(m->received_at), "body", body, "mail", mail);
	(void)a;
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

/* One delivered message to the person's webhook, signed:
 * CMR-Signature: t=<unix seconds>, v1=<hex HMAC-SHA256 of "<t>.<body>">
 * under the secret shown to the person once. */
static void do_webhook(struct worker *d, struct outbox_piece *p)
{
	struct app *a = d->a;
	char *url = NULL, *secret = NULL, *payload = NULL;
	struct folder_table *f = NULL;
	struct outbox_message m;
	int rc = outbox_message(a, p, &m);
	if (!piece_found(p, rc))
		return;
	rc = delivery_webhook(a, p->o.person, &url, &secret);
	if (rc == APP_NOT_FOUND || m.removed || m.decision != GATE_DELIVER) {
		p->ok = true; /* turned off, or gone meanwhile */
		goto out;
	}
	f = malloc(sizeof(*f));
	if (rc != APP_OK || f == NULL || inbox_folders(a, p->o.person, f) ||
	    (payload = webhook_payload(a, &m, f)) == NULL) {
		snprintf(p->error, sizeof(p->error),
			 "the webhook's message could not be made");
		goto out;
	}
	char t[24], id[ID_SIZE], sig[200], idh[80];
	snprintf(t, sizeof(t), "%lld", (long long)(app_now_ms() / 1000));
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
				    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload,
				      strlen(payload));
	crypto_auth_hmacsha256_final(&st, mac);
	char hex[2 * sizeof(mac) + 1];
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(sig, sizeof(sig), "CMR-Signature: t=%s, v1=%s", t, hex);
	id_encode(ID_MESSAGE, m.id, id);
	snprintf(idh, sizeof(idh), "Idempotency-Key: %s", id);
	const char *headers[] = { sig, idh, NULL };
	struct outbound_reply reply;
	p->ok = outbound_post(url, a->cfg.allow_private_targets,
			      "application/json", headers, payload,
			      strlen(payload), &reply);
	if (!p->ok)
		snprintf(p->error, sizeof(p->error), "webhook: %s",
			 reply.error);
out:
	if (secret)
		sodium_memzero(secret, strlen(secret));
	free(secret);
	free(url);
	free(payload);
	free(f);
	outbox_message_clear(&m);
}

/* LF line ends to CRLF (for SMTP), leaving CRLF as it is; malloc'd. */
static char *crlf(const char *s, size_t len, size_t *out_len)
{
	char *out = malloc(2 * len + 1);
	if (out == NULL)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = s[i];
	}
	*out_len = n;
	return out;
}

/* Forwarding: the proof code to a new address, or a delivered message,
 * as it came (mail) or composed (HTTP), to the verified address, through
 * the smarthost, under cmr's own envelope sender so that bounces come
 * back to cmr, never to the brand. */
static void do_forward(struct worker *d, struct outbox_piece *p)
{
	struct app *a = d->a;
	char address[DELIVERY_ADDRESS_MAX + 1], code[DELIVERY_CODE_LEN + 1];
	char bounces[300];
	bool verified = false;
	int rc = delivery_forward(a, p->o.person, address, &verified, code);
	if (rc == APP_FAULT) {
		snprintf(p->error, sizeof(p->error),
			 "the settings cannot be read");
		return;
	}
	bool want = p->o.op == OUTBOX_VERIFY ? !verified && code[0] : verified;
	if (rc == APP_NOT_FOUND || !want || a->cfg.smarthost[0] == '\0') {
		p->ok = true; /* changed or turned off meanwhile */
		return;
	}
	char per[ID_SIZE];
	id_encode(ID_PERSON, p->o.person, per);
	snprintf(bounces, sizeof(bounces), MAILMSG_BOUNCES "+%s@%s", per,
		 a->cfg.alias_domain);
	char *raw = NULL, *data = NULL;
	size_t raw_len = 0, len = 0;
	struct outbox_message m;
	bool have_m = false;
	if (p->o.op == OUTBOX_VERIFY) {
		char from[300], msgid[300], body[600];
		snprintf(from, sizeof(from), "postmaster@%s",
			 a->cfg.alias_domain);
		uint8_t nonce[12];
		char hex[25];
		randombytes_buf(nonce, sizeof(nonce));
		sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
		snprintf(msgid, sizeof(msgid), "verify.%s@%s", hex,
			 a->cfg.alias_domain);
		snprintf(body, sizeof(body),
			 "Someone (you, we hope) asked cmr to forward the "
			 "mail of your relationships with brands to this "
			 "address.\n\nYour code: %s\n\nGive it back in cmr "
			 "within 24 hours to start forwarding. If it was not "
			 "you, ignore this message: nothing is forwarded "
			 "without the code.\n",
			 code);
		struct mailmsg_compose c = {
			.from_name = "cmr",
			.from_addr = from,
			.to = address,
			.subject = "Your cmr forwarding code",
			.message_id = msgid,
			.body = body,
			.body_len = strlen(body),
			.date = app_now_ms() / 1000,
		};
		raw = mailmsg_compose(&c, &raw_len);
		sodium_memzero(body, sizeof(body));
		sodium_memzero(code, sizeof(code));
	} else {
		rc = outbox_message(a, p, &m);
		if (rc == APP_NOT_FOUND) {
			p->ok = true;
			return;
		}
		if (rc != APP_OK) {
			snprintf(p->error, sizeof(p->error),
				 "the store cannot be read");
			return;
		}
		have_m = true;
		if (m.removed || m.decision != GATE_DELIVER) {
			p->ok = true;
			goto out;
		}
		raw = message_bytes(a, &m, &raw_len);
		/* Its Reply-To is the message's reply address, so that the
		 * person answers through the alias (app/reply.h). */
		char reply_to[330];
		size_t with_len = 0;
		char *with = raw && reply_address(a, m.id, reply_to,
						  sizeof(reply_to))
				     ? mailmsg_set_reply_to(raw, raw_len,
							    reply_to, &with_len)
				     : NULL;
		free(raw);
		raw = with;
		raw_len = with_len;
	}
	/* Mail goes on byte for byte but for its Reply-To (its lines
	 * already end in CRLF); what cmr composed gets CRLF line ends. */
	data = raw ? (have_m && m.headers ? (len = raw_len, raw)
					  : crlf(raw, raw_len, &len))
		   : NULL;
	if (data == NULL) {
		snprintf(p->error, sizeof(p->error), "out of memory");
		goto out;
	}
	struct outbound_reply reply;
	p->ok = outbound_smtp(a->cfg.smarthost, bounces, address, data, len,
			      &reply);
	if (!p->ok)
		snprintf(p->error, sizeof(p->error), "forward: %s",
			 reply.error);
out:
	if (data != raw)
		free(data);
	free(raw);
	if (have_m)
		outbox_message_clear(&m);
}

/* A reply to a brand (app/reply.h): made anonymous by the app, then
 * through the smarthost with the alias as its envelope sender and From,
 * so that nothing of the person leaves and the brand sees only the
 * alias. */
static void do_reply(struct worker *d, struct outbox_piece *p)
{
	struct app *a = d->a;
	char from[321], to[321];
	char *data = NULL;
	size_t len = 0;
	if (a->cfg.smarthost[0] == '\0') {
		snprintf(p->error, sizeof(p->error),
			 "reply: no --smarthost to send it through");
		return;
	}
	int rc = reply_outgoing(a, p->o.person, p->o.attempt, from, to, &data,
				&len);
	if (rc == APP_INVALID) {
		p->ok = true;
		p->status = OUTBOX_REPLY_NEVER;
		return;
	}
	if (!piece_found(p, rc))
		return;
	struct outbound_reply reply;
	p->ok = outbound_smtp(a->cfg.smarthost, from, to, data, len, &reply);
	free(data);
	if (p->ok)
		p->status = OUTBOX_REPLY_SENT;
	else
		snprintf(p->error, sizeof(p->error), "reply: %s", reply.error);
}

/* RFC 8058: the brand's one-click unsubscribe for the alias of an ended
 * relationship — a POST of "List-Unsubscribe=One-Click", no cookies, no
 * redirects, never a GET. The outcome goes on the person's ledger
 * (`unsubscribe.sent`), once it succeeded or was given up. */
static void do_unsubscribe(struct worker *d, struct outbox_piece *p)
{
	struct app *a = d->a;
	char *uri = NULL;
	if (!piece_found(p, outbox_unsubscribe_uri(a, p, &uri)))
		return; /* no URI: erased meanwhile, nothing to do */
	static const char body[] = "List-Unsubscribe=One-Click";
	struct outbound_reply reply;
	p->ok = outbound_post(uri, a->cfg.allow_private_targets,
			      "application/x-www-form-urlencoded", NULL, body,
			      sizeof(body) - 1, &reply);
	free(uri);
	p->status = (int)reply.status;
	if (!p->ok) /* app/outbox.c says how long it is tried */
		snprintf(p->error, sizeof(p->error), "%s", reply.error);
}

/* The adapter's name, for the log (which never carries a URL, an address
 * or a folder name: those are the person's). */
static const char *adapter_name(int adapter)
{
	switch (adapter) {
	case OUTBOX_MAILDIR:
		return "maildir";
	case OUTBOX_WEBHOOK:
		return "webhook";
	case OUTBOX_UNSUBSCRIBE:
		return "unsubscribe";
	case OUTBOX_FORWARD:
		return "forward";
	case OUTBOX_REPLY:
		return "reply";
	default:
		return "unknown";
	}
}

static bool worker_stopping(struct worker *w)
{
	pthread_mutex_lock(&w->d->lock);
	bool stop = w->d->stopping;
	pthread_mutex_unlock(&w->d->lock);
	return stop;
}

/* One round; returns how many pieces it took, or -1 when the outbox
 * could not be read or the pieces settled (then a pause). */
static int delivery_round(struct worker *w, struct round *r)
{
	struct app *a = w->a;
	r->n = 0;
	if (outbox_due(a, w->local, DELIVERY_BATCH, collect, r) != APP_OK) {
		/* Once a run of failures (a store that went away says so
		 * itself), not at every try. */
		if (!w->unreadable)
			log_warn("delivery: the outbox cannot be read; tried "
				 "again until it can");
		w->unreadable = true;
		return -1;
	}
	if (w->unreadable)
		log_info("delivery: the outbox can be read again");
	w->unreadable = false;
	for (int i = 0; i < r->n; i++) {
		struct outbox_piece *p = &r->p[i];
		/* Stopping: what is not done stays as it is (a piece cut off
		 * by the cancel is no failed try). */
		if (worker_stopping(w)) {
			r->n = i;
			break;
		}
		if (p->o.adapter == OUTBOX_MAILDIR)
			do_maildir(w, p);
		else if (p->o.adapter == OUTBOX_WEBHOOK)
			do_webhook(w, p);
		else if (p->o.adapter == OUTBOX_UNSUBSCRIBE)
			do_unsubscribe(w, p);
		else if (p->o.adapter == OUTBOX_FORWARD)
			do_forward(w, p);
		else if (p->o.adapter == OUTBOX_REPLY)
			do_reply(w, p);
		else
			snprintf(p->error, sizeof(p->error), "no such adapter");
		if (!p->ok && worker_stopping(w)) {
			r->n = i;
			break;
		}
		if (!p->ok)
			log_info("delivery: outbox %llu (%s) failed, try %d",
				 (unsigned long long)p->o.id,
				 adapter_name(p->o.adapter), p->o.tries + 1);
	}
	int n = r->n;
	if (n > 0 && outbox_settle(a, r->p, n) != APP_OK) {
		log_warn("delivery: a round could not be settled; it is done "
			 "again later (each piece is idempotent)");
		n = -1;
	}
	return n;
}

static void *delivery_main(void *arg)
{
	struct worker *w = arg;
	struct delivery *d = w->d;
	struct round *r = malloc(sizeof(*r));
	if (r == NULL) {
		log_warn("delivery: out of memory; an adapter worker stopped");
		return NULL;
	}
	w->first_round = true;
	long pause_ms = DELIVERY_IDLE_MS;
	for (;;) {
		pthread_mutex_lock(&d->lock);
		bool stop = d->stopping;
		pthread_mutex_unlock(&d->lock);
		if (stop)
			break;
		int n = delivery_round(w, r);
		if (n == 0)
			w->first_round = false;
		if (n == DELIVERY_BATCH)
			continue; /* more is due */
		/* A round that could not be settled is not redone at once:
		 * the targets would hear it again and again. */
		pause_ms = n < 0 ? (pause_ms < 60000 ? pause_ms * 2 : 60000)
				 : DELIVERY_IDLE_MS;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += pause_ms / 1000;
		ts.tv_nsec += (pause_ms % 1000) * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&d->lock);
		if (!d->stopping)
			pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		pthread_mutex_unlock(&d->lock);
	}
	free(r);
	return NULL;
}

struct delivery *delivery_start(struct app *a)
{
	struct delivery *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->a = a;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	mailmsg_init();
	outbound_init();
	/* Without a Maildir root no Maildir work is taken: what was queued
	 * under one waits for it (an erasure's included). */
	for (int i = 0; i < 2; i++) {
		struct worker *w = &d->w[i];
		*w = (struct worker){ .d = d, .a = a, .local = i == 0 };
		if (w->local && a->cfg.maildir_root[0] == '\0')
			continue;
		if (pthread_create(&w->thread, NULL, delivery_main, w) != 0) {
			delivery_stop(d);
			return NULL;
		}
		w->started = true;
	}
	return d;
}

void delivery_stop(struct delivery *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	outbound_cancel(); /* a transfer in progress ends now */
	for (int i = 0; i < 2; i++)
		if (d->w[i].started)
			pthread_join(d->w[i].thread, NULL);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
