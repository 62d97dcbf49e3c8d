/*
 * api_messages.c — a brand sends one message through the gate and hears
 * only what §4 lets it hear; the person reads every attempt, refused and
 * held ones included, with the full decision.
 */
#include "http/api.h"

#include <stdlib.h>
#include <string.h>

#include "app/message.h"
#include "core/channel.h"
#include "core/gate.h"
#include "core/id.h"
#include "core/terms.h"

#define SUBJECT_MAX 998 /* RFC 5322's line limit */

struct send_work {
	json_t *body;             /* keeps the strings of `in` alive */
	struct message_in in;
	struct message_out out;
	struct app *app;
	int status;
};

static void send_work_free(void *p)
{
	struct send_work *w = p;
	json_decref(w->body);
	free(w);
}

static int send_run(struct store_tx *tx, void *arg)
{
	struct send_work *w = arg;
	w->status = message_decide_tx(w->app, tx, &w->in, &w->out);
	/* Nothing is recorded for a relationship that is not the brand's. */
	return w->status == APP_OK ? STORE_OK : STORE_INVALID;
}

static void send_after(struct http_request *r)
{
	struct send_work *w = r->job;
	if (w->status == APP_NOT_FOUND) {
		http_problem(r, 404, NULL, "no such relationship");
		return;
	}
	if (r->write_status != STORE_OK) {
		http_problem(r, 503, NULL, "the message could not be "
					   "recorded; try again");
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, w->out.id, id);
	const struct gate_decision *d = &w->out.decision;
	bool accepted = gate_brand_accepted(d);
	http_json(r, 201,
		  json_pack("{s:s,s:s,s:o}", "id", id, "decision",
			    accepted ? "accepted" : "refused", "reason",
			    accepted ? json_null()
				     : json_string(gate_reasons[d->reason]
							   .brand)));
}

void api_messages_create(struct http_request *r)
{
	static const char *const keys[] = {"relationship", "channel", "topic",
					   "subject", "body", NULL};
	json_t *body = http_body_object(r);
	if (body == NULL)
		return;
	if (!http_only_keys(r, body, keys)) {
		json_decref(body);
		return;
	}
	json_t *rel = json_object_get(body, "relationship");
	json_t *ch = json_object_get(body, "channel");
	json_t *topic = json_object_get(body, "topic");
	json_t *subject = json_object_get(body, "subject");
	json_t *text = json_object_get(body, "body");
	const char *bad = !json_is_string(rel)        ? "relationship"
			  : !json_is_string(ch)       ? "channel"
			  : topic && !json_is_string(topic) &&
					  !json_is_null(topic)
				  ? "topic"
			  : subject && !json_is_string(subject) ? "subject"
			  : text && !json_is_string(text)       ? "body"
								: NULL;
	if (bad) {
		http_problem(r, 400, bad, "\"%s\" must be a string%s", bad,
			     strcmp(bad, "relationship") == 0 ||
					     strcmp(bad, "channel") == 0
				     ? ""
				     : " (or absent)");
		json_decref(body);
		return;
	}
	uint64_t rel_id;
	if (!id_decode(ID_RELATIONSHIP, json_string_value(rel), &rel_id)) {
		http_problem(r, 404, NULL, "no such relationship");
		json_decref(body);
		return;
	}
	int channel = channel_parse(json_string_value(ch));
	const char *why = NULL, *field = NULL;
	if (channel < 0) {
		why = "is not a channel (email, sms, push, postal, phone)";
		field = "channel";
	} else if (json_is_string(topic) &&
		   !terms_topic_name_ok(json_string_value(topic))) {
		why = "is not a topic name ([A-Za-z0-9_.-], 1 to 64)";
		field = "topic";
	} else if (subject && json_string_length(subject) > SUBJECT_MAX) {
		why = "is longer than 998 characters";
		field = "subject";
	}
	if (why) {
		http_problem(r, 422, field, "%s %s", field, why);
		json_decref(body);
		return;
	}
	struct send_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->body = body;
	w->app = r->app;
	w->in = (struct message_in){
		.brand = r->brand,
		.relationship = rel_id,
		.channel = channel,
		.topic = json_is_string(topic) ? json_string_value(topic)
					       : NULL,
		.subject = subject ? json_string_value(subject) : NULL,
		.body = text ? json_string_value(text) : "",
		.body_len = text ? json_string_length(text) : 0,
		.sender_is_brand = true,
		.sender_verified = true,
		.now_ms = app_now_ms(),
	};
	r->job = w;
	r->job_free = send_work_free;
	http_write(r, send_run, w, send_after);
}

/* ---- GET /v1/me/messages ---- */

struct list_ctx {
	struct api_page pg;
	json_t *folders; /* the person's own folder names (id 2 on) */
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
	static const char *const decisions[] = {"deliver", "hold", "refuse"};
	char id[ID_SIZE], rel[ID_SIZE], brd[ID_SIZE];
	id_encode(ID_MESSAGE, a->id, id);
	id_encode(ID_RELATIONSHIP, a->relationship, rel);
	id_encode(ID_BRAND, a->brand, brd);
	int reason = a->reason >= 0 && a->reason < GATE_REASON_COUNT
			     ? a->reason
			     : 0;
	json_t *o = json_pack(
		"{s:s,s:o,s:o,s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:b}",
		"id", id, "relationship",
		a->relationship ? json_string(rel) : json_null(), "brand",
		a->brand ? json_string(brd) : json_null(), "channel",
		channel_name((enum channel)a->channel), "topic",
		a->topic[0] ? json_string(a->topic) : json_null(), "subject",
		a->subject ? json_string(a->subject) : json_null(), "decision",
		decisions[a->decision >= 0 && a->decision <= 2 ? a->decision
							       : 2],
		"reason", gate_reasons[reason].wire, "explanation",
		gate_reasons[reason].person, "folder",
		folder_name(c, a->folder), "deliver_at",
		app_time_json(a->deliver_at), "received_at",
		app_time_json(a->received_at), "read", a->read,
		"sender_verified", a->sender_verified);
	if (a->sender)
		json_object_set_new(o, "sender", json_string(a->sender));
	json_array_append_new(c->pg.items, o);
	c->pg.n++;
	return 0;
}

void api_me_messages_list(struct http_request *r)
{
	struct store_attempt_filter f = {.person = r->person, .folder = -1,
					 .decision = -1};
	struct list_ctx c = {{NULL, r->app, 0, 0}, NULL};
	int limit = api_limit(r);
	if (limit < 0)
		return;
	f.limit = limit + 1;
	c.pg.limit = limit;

	const char *after = http_query(r, "after");
	if (after && !id_decode(ID_MESSAGE, after, &f.before)) {
		http_problem(r, 400, "after", "after is an id from a previous "
					      "page");
		return;
	}
	const char *d = http_query(r, "decision");
	if (d) {
		static const char *const names[] = {"deliver", "hold",
						    "refuse"};
		for (int i = 0; i < 3; i++)
			if (strcmp(d, names[i]) == 0)
				f.decision = i;
		if (f.decision < 0) {
			http_problem(r, 400, "decision", "decision is deliver, "
							 "hold or refuse");
			return;
		}
	}
	const char *rel = http_query(r, "relationship");
	if (rel) {
		struct store_relationship sr;
		if (!id_decode(ID_RELATIONSHIP, rel, &f.relationship) ||
		    store_relationship_by_id(r->app->store, f.relationship,
					     &sr) != STORE_OK) {
			http_problem(r, 404, NULL, "no such relationship");
			return;
		}
		bool mine = sr.person == r->person;
		store_relationship_clear(&sr);
		if (!mine) {
			http_problem(r, 404, NULL, "no such relationship");
			return;
		}
	}
	struct store_person p;
	if (store_person_by_id(r->app->store, r->person, &p) != STORE_OK) {
		http_problem(r, 503, NULL, "the store cannot be read");
		return;
	}
	c.folders = json_loads(p.folders, 0, NULL);
	store_person_clear(&p);
	const char *folder = http_query(r, "folder");
	if (folder) {
		if (strcmp(folder, "inbox") == 0)
			f.folder = FOLDER_INBOX;
		else if (strcmp(folder, "later") == 0)
			f.folder = FOLDER_LATER;
		else {
			size_t i;
			json_t *n;
			json_array_foreach(c.folders, i, n)
			{
				if (strcmp(json_string_value(n), folder) == 0)
					f.folder = (int)i + 2;
			}
		}
		if (f.folder < 0) {
			json_decref(c.folders);
			http_problem(r, 404, NULL, "no such folder");
			return;
		}
	}
	c.pg.items = json_array();
	int rc = store_attempt_list(r->app->store, &f, list_item, &c);
	json_decref(c.folders);
	if (rc != STORE_OK) {
		json_decref(c.pg.items);
		http_problem(r, 503, NULL, "the store cannot be read");
		return;
	}
	api_page_reply(r, &c.pg);
}
