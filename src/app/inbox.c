/*
 * inbox.c — reading and filing (see inbox.h).
 */
#include "app/inbox.h"

#include <stdlib.h>
#include <string.h>

#include "app/message.h"
#include "app/relationship.h"
#include "app/reply.h"
#include "app/sealed.h"
#include "app/view.h"
#include "base/html_clean.h"
#include "base/log.h"
#include "base/mailmsg.h"
#include "core/channel.h"
#include "core/gate.h"
#include "core/id.h"
#include "core/terms.h"
#include "core/utf8.h"
#include "store/store.h"

enum app_status inbox_folders(struct app *a, uint64_t person,
			      struct folder_table *f)
{
	struct store_person p;
	if (store_person_get(a->reads, person, NULL, &p) != STORE_OK)
		return APP_FAULT;
	folder_table_init(f);
	json_t *own = json_loads(p.folders, 0, NULL);
	store_person_clear(&p);
	size_t i;
	json_t *v;
	json_array_foreach (own, i, v) {
		if (json_is_string(v))
			folder_table_load(f, json_string_value(v));
	}
	json_decref(own);
	return APP_OK;
}

int inbox_folders_intern_tx(struct store_tx *tx, uint64_t person,
			    const char *const *names, int n, int *ids)
{
	struct store_person p;
	int rc = store_person_get(store_tx_reads(tx), person, NULL, &p);
	if (rc != STORE_OK)
		return rc;
	struct folder_table *f = malloc(sizeof(*f));
	json_t *own = json_loads(p.folders, 0, NULL);
	store_person_clear(&p);
	if (f == NULL || !json_is_array(own)) {
		free(f);
		json_decref(own);
		return STORE_FAULT;
	}
	folder_table_init(f);
	size_t k;
	json_t *v;
	json_array_foreach (own, k, v) {
		if (json_is_string(v))
			folder_table_load(f, json_string_value(v));
	}
	int before = f->n;
	rc = STORE_OK;
	for (int i = 0; i < n && rc == STORE_OK; i++) {
		int id = folder_table_intern(f, names[i]);
		if (id < 0)
			rc = STORE_INVALID;
		else if (ids)
			ids[i] = id;
	}
	if (rc == STORE_OK && f->n > before) {
		for (int i = before; i < f->n; i++)
			json_array_append_new(own, json_string(f->names[i]));
		char *out = json_dumps(own, JSON_COMPACT);
		rc = out ? store_person_set(tx, person, STORE_PERSON_FOLDERS,
					    out)
			 : STORE_FAULT;
		free(out);
	}
	json_decref(own);
	free(f);
	return rc;
}

struct update_job {
	uint64_t person, message;
	int read;
	const char *folder; /* NULL: unchanged */
};

static int update_run(struct app_tx *t, void *arg)
{
	struct update_job *j = arg;
	int folder = -1;
	if (j->folder) {
		int rc = inbox_folders_intern_tx(t->tx, j->person, &j->folder,
						 1, &folder);
		if (rc != STORE_OK)
			return rc;
	}
	int rc = store_attempt_update(t->tx, j->person, j->message, j->read,
				      folder);
	if (rc != STORE_OK || (folder < 0 && j->read < 0))
		return rc;
	/* The Maildir's copy follows, wherever it is now: its folder, and
	 * its Seen flag. */
	return message_outbox_tx(t, j->person, j->message, STORE_OUTBOX_MOVE,
				 -1, t->now_ms / 1000) == APP_OK
		       ? STORE_OK
		       : STORE_FAULT;
}

static enum app_status update_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such message");
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "folder",
				"only delivered messages can be moved");
	if (rc == STORE_INVALID)
		return app_fail(err, APP_INVALID, "folder", "too many folders");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the change could not be recorded");
	return APP_OK;
}

enum app_status inbox_update_begin(struct app *a, uint64_t person,
				   uint64_t message, int read,
				   const char *folder, struct app_write *w,
				   struct app_error *err)
{
	(void)a; /* nothing to read before the job */
	if (folder && !terms_folder_name_ok(folder) &&
	    strcmp(folder, "inbox") != 0 && strcmp(folder, "later") != 0)
		return app_fail(err, APP_INVALID, "folder",
				"a folder name is 1 to 64 of [A-Za-z0-9 _-]");
	struct update_job *j = malloc(sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct update_job){ person, message, read, folder };
	*w = (struct app_write){ update_run, j, false, update_finish, free };
	return APP_OK;
}

enum app_status inbox_update(struct app *a, uint64_t person, uint64_t message,
			     int read, const char *folder,
			     struct app_error *err)
{
	struct app_write w;
	int rc = inbox_update_begin(a, person, message, read, folder, &w, err);
	return rc == APP_OK ? app_write_run(a, &w, err) : rc;
}

struct empty_job {
	uint64_t person;
	int folder;
	int64_t n;
};

static int empty_run(struct app_tx *t, void *arg)
{
	struct empty_job *j = arg;
	/* The Maildir's copies leave too: queued before the rows are marked
	 * removed, which is what finds them. */
	if (message_outbox_tx(t, j->person, 0, STORE_OUTBOX_REMOVE, j->folder,
			      t->now_ms / 1000) != APP_OK)
		return STORE_FAULT;
	return store_folder_empty(t->tx, j->person, j->folder, &j->n);
}

static enum app_status empty_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the folder could not be emptied");
	return APP_OK;
}

enum app_status inbox_empty_begin(struct app *a, uint64_t person,
				  const char *folder, int64_t **n,
				  struct app_write *w, struct app_error *err)
{
	struct folder_table *f = malloc(sizeof(*f));
	if (f == NULL || inbox_folders(a, person, f) != APP_OK) {
		free(f);
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	}
	int id = folder_table_find(f, folder);
	free(f);
	if (id < 0)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such folder");
	struct empty_job *j = malloc(sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct empty_job){ person, id, 0 };
	*n = &j->n;
	*w = (struct app_write){ empty_run, j, false, empty_finish, free };
	return APP_OK;
}

enum app_status inbox_empty(struct app *a, uint64_t person, const char *folder,
			    int64_t *n, struct app_error *err)
{
	struct app_write w;
	int64_t *count;
	int rc = inbox_empty_begin(a, person, folder, &count, &w, err);
	if (rc != APP_OK)
		return rc;
	rc = app_job_run(a, w.run, w.job, w.alone);
	int status = w.finish(w.job, rc, err);
	*n = *count;
	w.release(w.job);
	return status;
}

/* ---- GET /v1/me/messages ---- */

struct list_ctx {
	struct app *a;
	json_t *brands; /* {"id","name"} by brand id, read once a page */
	json_t *items;
	json_t *folders;       /* the person's own folder names (id 2 on) */
	struct sealed_key key; /* opens subjects and senders */
	bool fault;	       /* one did not open */
};

static json_t *folder_name(const struct list_ctx *c, int folder)
{
	if (folder < 0)
		return json_null();
	if (folder == FOLDER_INBOX)
		return json_string("inbox");
	if (folder == FOLDER_LATER)
		return json_string("later");
	json_t *n = json_array_get(c->folders, (size_t)folder - 2);
	return n ? json_incref(n) : json_null();
}

static int list_item(const struct store_attempt_row *a, void *arg)
{
	struct list_ctx *c = arg;
	char id[ID_SIZE], rel[ID_SIZE], brd[ID_SIZE];
	id_encode(ID_MESSAGE, a->id, id);
	id_encode(ID_RELATIONSHIP, a->relationship, rel);
	id_encode(ID_BRAND, a->brand, brd);
	int reason =
		a->reason >= 0 && a->reason < GATE_REASON_COUNT ? a->reason : 0;
	size_t subject_len, sender_len;
	char *subject = sealed_text(&c->key, a->subject_sealed, a->subject,
				    a->subject_len, &subject_len, &c->fault);
	char *sender = sealed_text(&c->key, a->sender_sealed, a->sender,
				   a->sender_len, &sender_len, &c->fault);
	json_t *brand = a->brand ? view_brand_ref(c->a, a->brand, c->brands)
			: a->brand_name[0] ? json_pack("{s:n,s:s}", "id",
						       "name", a->brand_name)
					   : json_null();
	c->fault = c->fault || brand == NULL;
	if (c->fault) {
		json_decref(brand);
		keys_free_plain(subject, subject_len);
		keys_free_plain(sender, sender_len);
		return 1;
	}
	json_t *o = json_pack(
		"{s:s,s:o,s:o,s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:b}",
		"id", id, "relationship",
		a->relationship ? json_string(rel) : json_null(), "brand",
		a->brand ? json_string(brd) : json_null(), "channel",
		channel_name((enum channel)a->channel), "topic",
		a->topic[0] ? json_string(a->topic) : json_null(), "subject",
		subject ? json_string(subject) : json_null(), "decision",
		gate_outcome_name(a->decision), "reason",
		gate_reasons[reason].wire, "explanation",
		gate_reasons[reason].person, "folder",
		folder_name(c, a->folder), "deliver_at",
		app_time_json(a->deliver_at), "received_at",
		app_time_json(a->received_at), "read", a->read,
		"sender_verified", a->sender_verified);
	json_object_set_new(o, "brand", brand); /* {"id","name"} */
	if (sender)
		json_object_set_new(o, "sender", json_string(sender));
	keys_free_plain(subject, subject_len);
	keys_free_plain(sender, sender_len);
	json_array_append_new(c->items, o);
	return 0;
}

enum app_status inbox_list(struct app *a, uint64_t person,
			   const struct inbox_filter *f, json_t *items,
			   struct app_error *err)
{
	struct store_attempt_filter sf = { .person = person,
					   .folder = -1,
					   .decision = f->decision,
					   .relationship = f->relationship,
					   .before = f->before,
					   .limit = f->limit };
	if (f->relationship) {
		struct store_relationship sr;
		int rc = relationship_of(a, APP_PERSON(person), f->relationship,
					 &sr, err);
		if (rc != APP_OK)
			return rc;
		store_relationship_clear(&sr);
	}
	struct store_person p;
	if (store_person_get(a->reads, person, NULL, &p) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	struct list_ctx c = { a,     json_object(),
			      items, json_loads(p.folders, 0, NULL),
			      { 0 }, false };
	/* The data key, unwrapped once for the page. */
	if (keys_unwrap(a->keys, p.data_key, p.data_key_len, c.key.dk) != 0) {
		store_person_clear(&p);
		json_decref(c.folders);
		json_decref(c.brands);
		return app_fail(err, APP_FAULT, NULL,
				"the messages cannot be opened");
	}
	c.key.person = person;
	store_person_clear(&p);
	if (f->folder) {
		if (terms_folder_same(f->folder, "inbox"))
			sf.folder = FOLDER_INBOX;
		else if (terms_folder_same(f->folder, "later"))
			sf.folder = FOLDER_LATER;
		size_t i;
		json_t *n;
		json_array_foreach (c.folders, i, n) {
			if (sf.folder < 0 &&
			    terms_folder_same(json_string_value(n), f->folder))
				sf.folder = (int)i + 2;
		}
		if (sf.folder < 0) {
			json_decref(c.folders);
			json_decref(c.brands);
			sealed_key_clear(&c.key);
			return app_fail(err, APP_NOT_FOUND, "folder",
					"no such folder");
		}
	}
	int rc = store_attempt_list(a->reads, &sf, list_item, &c);
	json_decref(c.folders);
	json_decref(c.brands);
	sealed_key_clear(&c.key);
	if (rc == STORE_OK && c.fault) {
		log_warn("inbox: list: a message of a person does not open");
		rc = STORE_FAULT;
	}
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	return APP_OK;
}

/* ---- GET /v1/me/messages/{id} ---- */

/* A header field for the reader, when the message has it. */
static void read_header(json_t *h, const char *name, const char *value)
{
	if (value && value[0])
		json_object_set_new(h, name, json_string(value));
}

/* What a person reads of mail: the text, the headers a reader wants, the
 * attachments. `data` is the whole message, or only its header block
 * when the body was not kept (a refusal). */
static enum app_status read_mail(json_t *o, const char *id, const char *data,
				 size_t len, bool whole)
{
	struct mailmsg_view *v = malloc(sizeof(*v));
	if (v == NULL)
		return APP_FAULT;
	if (!mailmsg_read(data, len, v)) {
		free(v);
		return APP_FAULT;
	}
	json_t *h = json_object();
	read_header(h, "from", v->from);
	read_header(h, "to", v->to);
	read_header(h, "cc", v->cc);
	read_header(h, "reply_to", v->reply_to);
	read_header(h, "subject", v->subject);
	read_header(h, "message_id", v->message_id);
	if (v->date != 0)
		json_object_set_new(h, "date", app_time_json(v->date));
	json_object_set_new(o, "headers", h);
	json_object_set_new(o, "text",
			    whole ? json_stringn(v->text, v->text_len)
				  : json_null());
	json_t *att = json_array();
	for (int i = 0; whole && i < v->n_attachments; i++)
		json_array_append_new(
			att, json_pack("{s:s?,s:s,s:I}", "name",
				       v->attachments[i].name[0]
					       ? v->attachments[i].name
					       : NULL,
				       "content_type",
				       v->attachments[i].content_type, "size",
				       (json_int_t)v->attachments[i].size));
	json_object_set_new(o, "attachments", att);
	if (whole && v->more_attachments > 0)
		json_object_set_new(o, "attachments_not_listed",
				    json_integer(v->more_attachments));
	enum app_status rc = APP_OK;
	if (whole && v->html) {
		char href[96];
		snprintf(href, sizeof(href), "/v1/me/messages/%s/html", id);
		json_object_set_new(o, "html_href", json_string(href));
		/* What the sanitized HTML leaves out, for the reader to say
		 * so ("3 remote images were blocked"). */
		struct html_clean c;
		if (html_clean(v->html_part, v->html_part_len, &c)) {
			json_object_set_new(o, "remote_blocked",
					    json_integer(c.remote_blocked));
			html_clean_free(&c);
		} else {
			rc = APP_FAULT;
		}
	}
	mailmsg_view_clear(v);
	free(v);
	return rc;
}

/* The person's message `id` as the list shows it (*item, owned), and its
 * stored content (*m, to be cleared): APP_NOT_FOUND alike when it is not
 * theirs, removed, or none. */
static enum app_status message_open(struct app *a, uint64_t person, uint64_t id,
				    json_t **item, struct store_message *m,
				    struct app_error *err)
{
	/* The list's own item, so that both read the same: the newest of
	 * the person's messages up to this id is this one, or it is not
	 * theirs (or removed). */
	json_t *items = json_array();
	struct inbox_filter f = { -1, 0, NULL, id + 1, 1 };
	int rc = inbox_list(a, person, &f, items, err);
	json_t *first = json_array_get(items, 0);
	char want[ID_SIZE];
	id_encode(ID_MESSAGE, id, want);
	if (rc == APP_OK &&
	    (first == NULL ||
	     strcmp(json_string_value(json_object_get(first, "id")), want)))
		rc = app_fail(err, APP_NOT_FOUND, NULL, "no such message");
	if (rc != APP_OK) {
		json_decref(items);
		return rc;
	}
	json_t *o = json_incref(first);
	json_decref(items);

	rc = sealed_message(a->reads, a->keys, id, m);
	if (rc != APP_OK) {
		json_decref(o);
		return app_fail(err,
				rc == APP_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT,
				NULL,
				rc == APP_NOT_FOUND ? "no such message"
						    : "the message cannot be "
						      "opened");
	}
	*item = o;
	return APP_OK;
}

/* Replies shown under a message: the newest this many. */
#define INBOX_REPLIES_MAX 50

enum app_status inbox_message(struct app *a, uint64_t person, uint64_t id,
			      json_t **out, struct app_error *err)
{
	json_t *o;
	struct store_message m;
	int rc = message_open(a, person, id, &o, &m, err);
	if (rc != APP_OK)
		return rc;
	char want[ID_SIZE];
	id_encode(ID_MESSAGE, id, want);
	if (m.headers != NULL) {
		bool whole = m.body != NULL;
		rc = read_mail(o, want, whole ? m.body : m.headers,
			       whole ? m.body_len : m.headers_len, whole);
	} else {
		/* A message that came over HTTP (or from cmr): its body is
		 * the text, and the brand wrote it to the alias. */
		json_t *h = json_object();
		read_header(h, "from", m.brand_name);
		read_header(h, "to", m.alias);
		read_header(h, "subject", m.subject);
		json_object_set_new(o, "headers", h);
		if (m.body) {
			m.body_len = utf8_clean(m.body, m.body_len);
			json_object_set_new(o, "text",
					    json_stringn(m.body, m.body_len));
		} else {
			json_object_set_new(o, "text", json_null());
		}
		json_object_set_new(o, "attachments", json_array());
	}
	sealed_message_clear(&m);
	/* The person's replies to it, oldest first, with their text. */
	json_t *replies = json_array();
	if (rc == APP_OK && reply_list(a, person, id, 0, INBOX_REPLIES_MAX,
				       true, replies, err) != APP_OK)
		rc = APP_FAULT;
	for (size_t i = 0, n = json_array_size(replies); i < n / 2; i++) {
		json_t *x = json_incref(json_array_get(replies, i));
		json_array_set(replies, i, json_array_get(replies, n - 1 - i));
		json_array_set_new(replies, n - 1 - i, x);
	}
	json_object_set_new(o, "replies", replies);
	if (rc != APP_OK) {
		json_decref(o);
		return app_fail(err, APP_FAULT, NULL,
				"the message cannot be read");
	}
	*out = o;
	return APP_OK;
}

/* ---- GET /v1/me/messages/{id}/html ---- */

/* The document around the sanitized HTML: UTF-8 declared, and nothing
 * else that could load or run. */
static const char html_head[] = "<!doctype html><html><head>"
				"<meta charset=\"utf-8\">"
				"<title>message</title></head><body>";
static const char html_tail[] = "</body></html>\n";

enum app_status inbox_message_html(struct app *a, uint64_t person, uint64_t id,
				   char **html, struct app_error *err)
{
	json_t *o;
	struct store_message m;
	int rc = message_open(a, person, id, &o, &m, err);
	if (rc != APP_OK)
		return rc;
	json_decref(o);
	struct mailmsg_view *v = NULL;
	struct html_clean c = { 0 };
	/* Only mail has parts; a message that came over HTTP is text, and
	 * a refusal kept no body. */
	if (m.headers == NULL || m.body == NULL) {
		rc = app_fail(err, APP_NOT_FOUND, NULL,
			      "the message has no HTML part");
		goto done;
	}
	v = malloc(sizeof(*v));
	if (v == NULL || !mailmsg_read(m.body, m.body_len, v)) {
		free(v);
		v = NULL;
		rc = app_fail(err, APP_FAULT, NULL,
			      "the message cannot be read");
		goto done;
	}
	if (v->html_part == NULL) {
		rc = app_fail(err, APP_NOT_FOUND, NULL,
			      "the message has no HTML part");
		goto done;
	}
	if (!html_clean(v->html_part, v->html_part_len, &c)) {
		rc = app_fail(err, APP_FAULT, NULL, "out of memory");
		goto done;
	}
	size_t head = sizeof(html_head) - 1, tail = sizeof(html_tail) - 1;
	char *doc = malloc(head + c.len + tail + 1);
	if (doc == NULL) {
		rc = app_fail(err, APP_FAULT, NULL, "out of memory");
		goto done;
	}
	memcpy(doc, html_head, head);
	memcpy(doc + head, c.html, c.len);
	memcpy(doc + head + c.len, html_tail, tail + 1);
	*html = doc;
	rc = APP_OK;
done:
	html_clean_free(&c);
	if (v != NULL) {
		mailmsg_view_clear(v);
		free(v);
	}
	sealed_message_clear(&m);
	return rc;
}

/* ---- DELETE /v1/me/messages/{id} ---- */

struct remove_job {
	uint64_t person, id;
};

static int remove_run(struct app_tx *t, void *arg)
{
	struct remove_job *j = arg;
	struct store_message m;
	int rc = store_message_get(t->reads, j->id, &m);
	if (rc != STORE_OK)
		return rc;
	int folder = m.folder;
	bool delivered = m.decision == GATE_DELIVER && m.person == j->person;
	store_message_clear(&m);
	rc = store_attempt_remove(t->tx, j->person, j->id);
	/* Its Maildir copy leaves too (the row, marked removed, says so). */
	if (rc == STORE_OK && delivered &&
	    message_outbox_tx(t, j->person, j->id, STORE_OUTBOX_REMOVE, folder,
			      t->now_ms / 1000) != APP_OK)
		rc = STORE_FAULT;
	return rc;
}

static enum app_status remove_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such message");
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, NULL,
				"the message is held: the gate decides it "
				"still; discard it instead");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the message could not be removed");
	return APP_OK;
}

enum app_status inbox_remove_begin(struct app *a, uint64_t person, uint64_t id,
				   struct app_write *w, struct app_error *err)
{
	(void)a;
	struct remove_job *j = malloc(sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct remove_job){ person, id };
	*w = (struct app_write){ remove_run, j, false, remove_finish, free };
	return APP_OK;
}
