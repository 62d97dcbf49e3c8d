/*
 * reply.c — replies through the alias (see reply.h).
 */
#include "app/reply.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/delivery.h"
#include "app/ledger.h"
#include "app/sealed.h"
#include "app/view.h"
#include "base/log.h"
#include "base/mailmsg.h"
#include "base/scrub.h"
#include "core/gate.h"
#include "core/id.h"
#include "core/replyaddr.h"
#include "ledger/keys.h"
#include "store/store.h"

/* ---- the address ---- */

/* The 17 bytes a reply address writes (core/replyaddr.h takes its first
 * 130 bits): the message's key, big-endian, then a tag keyed with the
 * hash key (keys_tombstone), of which 66 bits are written. */
static bool reply_bytes(struct app *a, uint64_t message,
			uint8_t out[REPLYADDR_RANDOM_BYTES])
{
	uint8_t key[8];
	char hex[KEYS_TOMBSTONE_HEX + 1];
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(message >> (56 - 8 * i));
	if (keys_tombstone(a->keys, "reply", key, sizeof(key), hex) != 0)
		return false;
	memcpy(out, key, sizeof(key));
	if (sodium_hex2bin(out + 8, REPLYADDR_RANDOM_BYTES - 8, hex,
			   2 * (REPLYADDR_RANDOM_BYTES - 8), NULL, NULL,
			   NULL) != 0)
		return false;
	out[REPLYADDR_RANDOM_BYTES - 1] &= 0xc0; /* 130 bits in all */
	return true;
}

bool reply_address(struct app *a, uint64_t message, char *out, size_t size)
{
	uint8_t b[REPLYADDR_RANDOM_BYTES];
	bool ok = reply_bytes(a, message, b) &&
		  replyaddr_make_full(b, a->cfg.alias_domain, out, size);
	sodium_memzero(b, sizeof(b));
	return ok;
}

bool reply_is_address(const struct app *a, const char *rcpt)
{
	char token[REPLYADDR_TOKEN_SIZE];
	return replyaddr_parse(rcpt, a->cfg.alias_domain, token);
}

/* The message a reply address names, when its tag is ours (compared in
 * constant time). */
static bool reply_message_of(struct app *a, const char *rcpt, uint64_t *message)
{
	char token[REPLYADDR_TOKEN_SIZE];
	uint8_t got[REPLYADDR_RANDOM_BYTES] = { 0 }, want[sizeof(got)];
	if (!replyaddr_parse(rcpt, a->cfg.alias_domain, token) ||
	    !id_base32_decode(token, 16, got, 10) ||
	    !id_base32_decode(token + 16, 10, got + 10, 7))
		return false;
	got[REPLYADDR_RANDOM_BYTES - 1] &= 0xc0;
	uint64_t id = 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | got[i];
	bool ok = reply_bytes(a, id, want) &&
		  sodium_memcmp(got, want, sizeof(got)) == 0;
	*message = id;
	return ok;
}

/* ---- whom a reply goes to ---- */

struct reply_target {
	char to[321];	       /* the brand's address */
	char subject[999];     /* of the message answered */
	char message_id[300];  /* of the message answered */
	uint64_t relationship; /* the message's */
	char alias[160];       /* the relationship's */
	int state;	       /* the relationship's (REL_ENDED: ended) */
};

/* Where a reply to message m goes: a mail's Reply-To, else its From; a
 * message that came over HTTP, the brand's contact email (`cmr brand
 * add --email`). APP_OK; APP_CONFLICT when there is no address to
 * answer; APP_FAULT. */
static enum app_status reply_target_of(struct app *a,
				       const struct store_message *m,
				       struct reply_target *t)
{
	memset(t, 0, sizeof(*t));
	struct store_relationship r;
	if (store_relationship_get(a->reads, m->relationship, NULL, &r) !=
	    STORE_OK)
		return APP_FAULT;
	t->relationship = r.id;
	t->state = r.state;
	snprintf(t->alias, sizeof(t->alias), "%s", r.alias);
	store_relationship_clear(&r);
	if (m->headers != NULL) {
		struct mailmsg_view *v = malloc(sizeof(*v));
		if (v == NULL || !mailmsg_read(m->headers, m->headers_len, v)) {
			free(v);
			return APP_FAULT;
		}
		bool found =
			mailmsg_first_address(v->reply_to, t->to,
					      sizeof(t->to)) ||
			mailmsg_first_address(v->from, t->to, sizeof(t->to));
		snprintf(t->subject, sizeof(t->subject), "%s", v->subject);
		snprintf(t->message_id, sizeof(t->message_id), "%s",
			 v->message_id);
		mailmsg_view_clear(v);
		free(v);
		return found ? APP_OK : APP_CONFLICT;
	}
	struct store_brand b;
	if (m->brand == 0 ||
	    store_brand_get(a->reads, m->brand, NULL, &b) != STORE_OK)
		return APP_CONFLICT;
	json_t *ctl = json_loads(b.controller ? b.controller : "{}", 0, NULL);
	const char *email = json_string_value(json_object_get(ctl, "email"));
	bool found = email && strchr(email, '@') && strlen(email) < 321;
	if (found)
		snprintf(t->to, sizeof(t->to), "%s", email);
	json_decref(ctl);
	store_brand_clear(&b);
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, m->id, id);
	snprintf(t->subject, sizeof(t->subject), "%s",
		 m->subject ? m->subject : "");
	snprintf(t->message_id, sizeof(t->message_id), "%s@%s", id,
		 a->cfg.alias_domain);
	return found ? APP_OK : APP_CONFLICT;
}

/* ---- recording a reply ---- */

struct reply_job {
	struct store_reply r; /* the sealed copies are owned here */
	uint64_t *id_out;
	bool ended; /* the relationship ended before the job ran */
};

static int reply_run(struct app_tx *t, void *arg)
{
	struct reply_job *j = arg;
	struct store_relationship r;
	int rc = store_relationship_get(t->reads, j->r.relationship, NULL, &r);
	if (rc != STORE_OK)
		return rc;
	j->ended = r.state == REL_ENDED;
	store_relationship_clear(&r);
	if (j->ended)
		return STORE_CONFLICT;
	rc = store_reply_insert(t->tx, &j->r);
	if (rc != STORE_OK)
		return rc;
	struct store_outbox o = { .person = j->r.person,
				  .attempt = j->r.id,
				  .adapter = STORE_ADAPTER_REPLY,
				  .op = STORE_OUTBOX_DELIVER,
				  .folder = -1,
				  .next_at = t->now_ms / 1000 };
	return store_outbox_add(t->tx, &o);
}

static enum app_status reply_finish(void *job, int rc, struct app_error *err)
{
	struct reply_job *j = job;
	if (rc == STORE_CONFLICT && j->ended)
		return app_fail(err, APP_CONFLICT, "message",
				"your relationship with this brand has ended; "
				"the reply was not sent");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the reply could not be recorded");
	if (j->id_out)
		*j->id_out = j->r.id;
	return APP_OK;
}

static void reply_release(void *job)
{
	struct reply_job *j = job;
	free(j->r.recipient);
	free(j->r.subject);
	free(j->r.message);
	free(j);
}

/* A job that records the reply `data` of `person` to target t, sealed.
 * NULL when out of memory or the key does not open. */
static struct reply_job *reply_job_new(struct app *a, uint64_t person,
				       uint64_t answers,
				       const struct reply_target *t,
				       bool by_mail, const char *subject,
				       const char *data, size_t len)
{
	struct sealed_key k = { 0 };
	struct reply_job *j = calloc(1, sizeof(*j));
	if (j == NULL || sealed_key(a->reads, a->keys, person, &k) != APP_OK) {
		free(j);
		return NULL;
	}
	int64_t now_ms = app_now_ms();
	j->r = (struct store_reply){ .id = store_new_time_key(now_ms),
				     .person = person,
				     .relationship = t->relationship,
				     .answers = answers,
				     .by_mail = by_mail,
				     .state = STORE_REPLY_QUEUED,
				     .created_at = now_ms / 1000 };
	uint8_t *to = NULL, *subj = NULL, *msg = NULL;
	int rc = keys_seal_bytes(k.dk, t->to, strlen(t->to), &to,
				 &j->r.recipient_len);
	if (rc == 0)
		rc = keys_seal_bytes(k.dk, subject, strlen(subject), &subj,
				     &j->r.subject_len);
	if (rc == 0)
		rc = keys_seal_bytes(k.dk, data, len, &msg, &j->r.message_len);
	sealed_key_clear(&k);
	j->r.recipient = (char *)to;
	j->r.subject = (char *)subj;
	j->r.message = (char *)msg;
	if (rc != 0) {
		reply_release(j);
		return NULL;
	}
	return j;
}

/* Opens message `message` for the person who may answer it (any person
 * when person is 0): APP_NOT_FOUND when it is not theirs or removed. */
static enum app_status reply_open(struct app *a, uint64_t person,
				  uint64_t message, struct store_message *m)
{
	int rc = sealed_message(a->reads, a->keys, message, m);
	if (rc != APP_OK)
		return rc;
	if (m->removed || (person != 0 && m->person != person) ||
	    m->relationship == 0) {
		sealed_message_clear(m);
		return APP_NOT_FOUND;
	}
	return APP_OK;
}

/* Who may answer through reply address rcpt: REPLY_TAKEN when it is an
 * address of ours for a delivered message still there, whose person
 * forwards to a verified address (into address), with the message open
 * in *m (the caller clears it); else REPLY_UNIFORM or REPLY_FAULT, and
 * nothing to clear. */
static enum reply_outcome reply_whose(struct app *a, const char *rcpt,
				      uint64_t *message,
				      struct store_message *m,
				      char address[DELIVERY_ADDRESS_MAX + 1])
{
	if (!reply_message_of(a, rcpt, message))
		return REPLY_UNIFORM;
	int rc = reply_open(a, 0, *message, m);
	if (rc != APP_OK)
		return rc == APP_NOT_FOUND ? REPLY_UNIFORM : REPLY_FAULT;
	char code[DELIVERY_CODE_LEN + 1];
	bool verified = false;
	rc = delivery_forward(a, m->person, address, &verified, code);
	sodium_memzero(code, sizeof(code));
	enum reply_outcome out =
		rc == APP_FAULT ? REPLY_FAULT
		: rc == APP_OK && verified && m->decision == GATE_DELIVER
			? REPLY_TAKEN
			: REPLY_UNIFORM;
	if (out != REPLY_TAKEN)
		sealed_message_clear(m);
	return out;
}

enum reply_outcome reply_rcpt(struct app *a, const char *rcpt,
			      const char *sender)
{
	uint64_t message;
	struct store_message m;
	char address[DELIVERY_ADDRESS_MAX + 1];
	enum reply_outcome out = reply_whose(a, rcpt, &message, &m, address);
	if (out != REPLY_TAKEN)
		return out;
	sealed_message_clear(&m);
	/* Under --auth-id the evidence comes with the message; under
	 * --trust-envelope the envelope is all of it. */
	if (!a->cfg.auth_id[0] && strcasecmp(sender, address) != 0)
		return REPLY_UNIFORM;
	return REPLY_TAKEN;
}

enum reply_outcome reply_intake(struct app *a, const struct reply_in *in)
{
	uint64_t message;
	struct store_message m;
	char address[DELIVERY_ADDRESS_MAX + 1];
	enum reply_outcome out =
		reply_whose(a, in->rcpt, &message, &m, address);
	if (out != REPLY_TAKEN)
		return out;
	uint64_t person = m.person;
	struct reply_target t;
	/* Row 2, applied to the person: their verified forwarding address,
	 * by --auth-id evidence for its domain, or else (--trust-envelope)
	 * the envelope sender and the From. */
	bool is_person =
		strcasecmp(in->from, address) == 0 &&
		(a->cfg.auth_id[0] ? in->from_ok
				   : strcasecmp(in->sender, address) == 0);
	out = REPLY_UNIFORM;
	if (!is_person)
		goto done;
	int rc = reply_target_of(a, &m, &t);
	if (rc == APP_FAULT) {
		out = REPLY_FAULT;
		goto done;
	}
	if (t.state == REL_ENDED) {
		out = REPLY_ENDED;
		goto done;
	}
	if (rc == APP_CONFLICT) {
		out = REPLY_NO_ONE;
		goto done;
	}
	struct mailmsg mm;
	if (!mailmsg_parse(in->data, in->len, &mm))
		memset(&mm, 0, sizeof(mm));
	struct reply_job *j = reply_job_new(a, person, message, &t, true,
					    mm.subject, in->data, in->len);
	if (j == NULL) {
		out = REPLY_FAULT;
		goto done;
	}
	struct app_write w = { reply_run, j, false, reply_finish,
			       reply_release };
	struct app_error err = { 0 };
	rc = app_write_run(a, &w, &err);
	out = rc == APP_OK	   ? REPLY_TAKEN
	      : rc == APP_CONFLICT ? REPLY_ENDED
				   : REPLY_FAULT;
done:
	sealed_message_clear(&m);
	return out;
}

enum app_status reply_web_begin(struct app *a, uint64_t person,
				uint64_t message, const json_t *body,
				uint64_t *id, struct app_write *w,
				struct app_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)body, key, v) {
		if (strcmp(key, "body") != 0)
			return app_fail(err, APP_INVALID, key,
					"unknown key; a reply has \"body\"");
	}
	json_t *text = json_object_get(body, "body");
	if (!json_is_string(text) || json_string_length(text) == 0 ||
	    json_string_length(text) > REPLY_BODY_MAX)
		return app_fail(err, APP_INVALID, "body",
				"the reply's text is needed: a string of 1 to "
				"%d bytes",
				REPLY_BODY_MAX);
	struct store_message m;
	int rc = reply_open(a, person, message, &m);
	if (rc != APP_OK)
		return app_fail(err, rc, NULL,
				rc == APP_NOT_FOUND ? "no such message"
						    : "the message cannot be "
						      "read");
	struct reply_target t;
	rc = m.decision == GATE_DELIVER ? reply_target_of(a, &m, &t)
					: APP_INVALID;
	sealed_message_clear(&m);
	if (rc == APP_INVALID)
		return app_fail(err, APP_CONFLICT, "message",
				"only a message you received can be "
				"answered");
	if (rc == APP_FAULT)
		return app_fail(err, APP_FAULT, NULL,
				"the message cannot be read");
	if (t.state == REL_ENDED)
		return app_fail(err, APP_CONFLICT, "message",
				"your relationship with this brand has ended; "
				"the reply was not sent");
	if (rc == APP_CONFLICT)
		return app_fail(err, APP_CONFLICT, "message",
				"this brand gave no address that takes "
				"replies");
	char subject[1010];
	snprintf(
		subject, sizeof(subject), "%s%s",
		strncasecmp(t.subject, "re:", 3) == 0 ? "" : "Re: ", t.subject);
	char msgid[320];
	snprintf(msgid, sizeof(msgid), "reply.%llx@%s",
		 (unsigned long long)message, a->cfg.alias_domain);
	struct mailmsg_compose c = {
		.from_addr = t.alias,
		.to = t.to,
		.subject = subject,
		.message_id = msgid,
		.in_reply_to = t.message_id[0] ? t.message_id : NULL,
		.body = json_string_value(text),
		.body_len = json_string_length(text),
		.date = app_now_ms() / 1000,
	};
	size_t len = 0;
	char *data = mailmsg_compose(&c, &len);
	struct reply_job *j = data ? reply_job_new(a, person, message, &t,
						   false, subject, data, len)
				   : NULL;
	free(data);
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	j->id_out = id;
	*w = (struct app_write){ reply_run, j, false, reply_finish,
				 reply_release };
	return APP_OK;
}

/* ---- the sent view ---- */

struct list_ctx {
	struct app *a;
	struct sealed_key key;
	json_t *items, *brands;
	bool with_text, fault;
};

static const char *const reply_states[] = { "queued", "sent", "failed" };

static int list_item(const struct store_reply *r, void *arg)
{
	struct list_ctx *c = arg;
	char id[ID_SIZE], rel[ID_SIZE], ans[ID_SIZE];
	id_encode(ID_MESSAGE, r->id, id);
	id_encode(ID_RELATIONSHIP, r->relationship, rel);
	id_encode(ID_MESSAGE, r->answers, ans);
	size_t to_len = 0, subject_len = 0;
	char *to = sealed_text(&c->key, true, r->recipient, r->recipient_len,
			       &to_len, &c->fault);
	char *subject = sealed_text(&c->key, true, r->subject, r->subject_len,
				    &subject_len, &c->fault);
	struct store_relationship sr;
	json_t *brand = NULL;
	if (!c->fault && store_relationship_get(c->a->reads, r->relationship,
						NULL, &sr) == STORE_OK) {
		brand = sr.brand
				? view_brand_ref(c->a, sr.brand, c->brands)
				: json_pack("{s:n,s:s}", "id", "name",
					    sr.brand_name ? sr.brand_name : "");
		store_relationship_clear(&sr);
	}
	json_t *o =
		brand && to
			? json_pack(
				  "{s:s,s:s,s:o,s:o,s:s,s:s?,s:s,s:s,s:o,s:o}",
				  "id", id, "relationship", rel, "brand", brand,
				  "answers",
				  r->answers ? json_string(ans) : json_null(),
				  "to", to, "subject", subject, "via",
				  r->by_mail ? "mail" : "web", "state",
				  reply_states[r->state >= 0 && r->state <= 2
						       ? r->state
						       : 0],
				  "created_at", app_time_json(r->created_at),
				  "sent_at", app_time_json(r->sent_at))
			: NULL;
	if (brand && to && o == NULL)
		brand = NULL; /* json_pack took it */
	if (o == NULL)
		json_decref(brand);
	keys_free_plain(to, to_len);
	keys_free_plain(subject, subject_len);
	if (o && c->with_text) {
		struct store_reply whole;
		char *msg = NULL;
		size_t msg_len = 0;
		struct mailmsg_view *v = malloc(sizeof(*v));
		if (v &&
		    store_reply_get(c->a->reads, r->id, &whole) == STORE_OK) {
			msg = sealed_text(&c->key, true, whole.message,
					  whole.message_len, &msg_len,
					  &c->fault);
			store_reply_clear(&whole);
		}
		if (msg && mailmsg_read(msg, msg_len, v)) {
			json_object_set_new(o, "text",
					    json_stringn(v->text, v->text_len));
			mailmsg_view_clear(v);
		} else {
			json_object_set_new(o, "text", json_null());
		}
		free(v);
		keys_free_plain(msg, msg_len);
	}
	if (o == NULL) {
		c->fault = true;
		return 1;
	}
	json_array_append_new(c->items, o);
	return 0;
}

enum app_status reply_list(struct app *a, uint64_t person, uint64_t answers,
			   uint64_t before, int limit, bool with_text,
			   json_t *items, struct app_error *err)
{
	struct list_ctx c = { .a = a,
			      .items = items,
			      .brands = json_object(),
			      .with_text = with_text };
	int rc = sealed_key(a->reads, a->keys, person, &c.key);
	if (rc == APP_OK)
		rc = store_reply_list(a->reads, person, answers, before, limit,
				      list_item, &c) == STORE_OK &&
				     !c.fault
			     ? APP_OK
			     : APP_FAULT;
	sealed_key_clear(&c.key);
	json_decref(c.brands);
	return rc == APP_OK ? APP_OK
			    : app_fail(err, APP_FAULT, NULL,
				       "the replies cannot be read");
}

/* ---- leaving ---- */

enum app_status reply_outgoing(struct app *a, uint64_t person, uint64_t id,
			       char from[321], char to[321], char **data,
			       size_t *len)
{
	struct store_reply r;
	struct store_relationship rel;
	struct sealed_key k = { 0 };
	char *msg = NULL, *rcpt = NULL, fwd[DELIVERY_ADDRESS_MAX + 1] = "";
	char code[DELIVERY_CODE_LEN + 1];
	size_t msg_len = 0, rcpt_len = 0;
	json_t *profile = NULL;
	bool fault = false, verified = false;
	*data = NULL;
	int rc = store_reply_get(a->reads, id, &r);
	if (rc != STORE_OK)
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	if (r.person != person || r.state != STORE_REPLY_QUEUED) {
		store_reply_clear(&r);
		return APP_NOT_FOUND;
	}
	rc = store_relationship_get(a->reads, r.relationship, NULL, &rel);
	if (rc != STORE_OK) {
		store_reply_clear(&r);
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	}
	enum app_status st = sealed_key(a->reads, a->keys, person, &k);
	if (st == APP_OK) {
		msg = sealed_text(&k, true, r.message, r.message_len, &msg_len,
				  &fault);
		rcpt = sealed_text(&k, true, r.recipient, r.recipient_len,
				   &rcpt_len, &fault);
		st = fault || msg == NULL || rcpt == NULL ? APP_FAULT : APP_OK;
	}
	if (st == APP_OK &&
	    delivery_forward(a, person, fwd, &verified, code) == APP_FAULT)
		st = APP_FAULT;
	sodium_memzero(code, sizeof(code));
	if (st == APP_OK)
		st = view_profile(a, person, &profile);
	if (st == APP_OK) {
		/* Who the person is, as their reply may show it: the
		 * addresses they write from and their name. */
		const char *addresses[2], *names[1];
		int n_addresses = 0, n_names = 0;
		const char *email =
			json_string_value(json_object_get(profile, "email"));
		const char *name =
			json_string_value(json_object_get(profile, "name"));
		if (fwd[0])
			addresses[n_addresses++] = fwd;
		if (email && strchr(email, '@'))
			addresses[n_addresses++] = email;
		if (name && name[0])
			names[n_names++] = name;
		char msgid[ID_SIZE + 260], rid[ID_SIZE];
		id_encode(ID_MESSAGE, r.id, rid);
		snprintf(msgid, sizeof(msgid), "%s@%s", rid,
			 a->cfg.alias_domain);
		struct scrub_person p = { .addresses = addresses,
					  .n_addresses = n_addresses,
					  .names = names,
					  .n_names = n_names,
					  .alias = rel.alias };
		struct scrub_out_hdr h = { .to = rcpt,
					   .message_id = msgid,
					   .date = app_now_ms() / 1000 };
		*data = scrub_reply(msg, msg_len, &p, &h, len);
		if (*data == NULL) {
			log_warn("reply: a reply cannot be made anonymous; "
				 "it is not sent");
			st = APP_INVALID;
		} else {
			snprintf(from, 321, "%s", rel.alias);
			snprintf(to, 321, "%s", rcpt);
		}
	}
	json_decref(profile);
	keys_free_plain(msg, msg_len);
	keys_free_plain(rcpt, rcpt_len);
	sealed_key_clear(&k);
	store_relationship_clear(&rel);
	store_reply_clear(&r);
	return st;
}

int reply_settle_tx(struct app_tx *t, uint64_t person, uint64_t id, bool sent)
{
	struct store_reply r;
	int rc = store_reply_get(t->reads, id, &r);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK; /* erased meanwhile */
	if (rc != STORE_OK)
		return rc;
	bool queued = r.state == STORE_REPLY_QUEUED && r.person == person;
	uint64_t rel = r.relationship, answers = r.answers;
	bool by_mail = r.by_mail;
	store_reply_clear(&r);
	if (!queued)
		return STORE_OK;
	rc = store_reply_settle(t->tx, id,
				sent ? STORE_REPLY_SENT : STORE_REPLY_FAILED,
				t->now_ms / 1000);
	if (rc != STORE_OK || !sent)
		return rc;
	char rid[ID_SIZE], ans[ID_SIZE];
	id_encode(ID_MESSAGE, id, rid);
	id_encode(ID_MESSAGE, answers, ans);
	json_t *data = json_pack("{s:s,s:o,s:s}", "reply", rid, "answers",
				 answers ? json_string(ans) : json_null(),
				 "via", by_mail ? "mail" : "web");
	rc = data ? ledger_append(t->tx, person, "person", "reply.sent", rel,
				  data, t->now_ms)
		  : STORE_FAULT;
	json_decref(data);
	return rc;
}
