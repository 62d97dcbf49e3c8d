/*
 * api_messages.c — a brand sends one message through the gate and hears
 * only what core/gate.h's reason table lets it hear, and reads back its
 * messages and campaigns as core/brand_state.h lets it (accepted or
 * refused, never when); the person reads every attempt, refused and held
 * ones included, with the full decision.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/campaign.h"
#include "app/inbox.h"
#include "app/reply.h"
#include "app/message.h"
#include "core/brand_state.h"
#include "core/channel.h"
#include "core/gate.h"
#include "core/id.h"
#include "core/terms.h"

#define SUBJECT_MAX 998 /* RFC 5322's line limit */

/* A message with neither a subject nor a body says nothing (a topic is
 * not content): refused before the gate. Both are strings here. */
static bool api_message_empty(const json_t *subject, const json_t *body)
{
	return (subject == NULL || json_string_length(subject) == 0) &&
	       (body == NULL || json_string_length(body) == 0);
}

struct send_work {
	json_t *body; /* keeps the strings of `in` alive */
	struct message_in in;
	struct message_out out;
	char idem_key[130]; /* "" without Idempotency-Key */
	uint8_t idem_hash[32];
};

static void send_work_free(void *p)
{
	struct send_work *w = p;
	json_decref(w->body);
	free(w);
}

static void send_after(struct http_request *r)
{
	struct send_work *w = r->job;
	if (r->app_status == APP_CONFLICT &&
	    api_idem_replay(r, w->idem_key, w->idem_hash))
		return; /* the same key won a race: its answer */
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	http_json(r, 201, message_brand_json(&w->out));
}

void api_messages_create(struct http_request *r)
{
	static const char *const keys[] = { "relationship", "channel", "topic",
					    "subject",	    "body",    NULL };
	char idem_key[130];
	uint8_t idem_hash[32];
	if (api_idem_begin(r, idem_key, sizeof(idem_key), idem_hash))
		return;
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	json_t *rel = json_object_get(body, "relationship");
	json_t *ch = json_object_get(body, "channel");
	json_t *topic = json_object_get(body, "topic");
	json_t *subject = json_object_get(body, "subject");
	json_t *text = json_object_get(body, "body");
	const char *bad =
		!json_is_string(rel)  ? "relationship"
		: !json_is_string(ch) ? "channel"
		: topic && !json_is_string(topic) && !json_is_null(topic)
			? "topic"
		: subject && !json_is_string(subject) ? "subject"
		: text && !json_is_string(text)	      ? "body"
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
	if (!api_id_parse(r, "relationship", json_string_value(rel),
			  ID_RELATIONSHIP, &rel_id)) {
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
	} else if (api_message_empty(subject, text)) {
		why = "and body are both empty: a message needs one";
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
	memcpy(w->idem_key, idem_key, sizeof(idem_key));
	memcpy(w->idem_hash, idem_hash, sizeof(idem_hash));
	w->in = (struct message_in){
		.brand = r->brand,
		.relationship = rel_id,
		.channel = channel,
		.topic =
			json_is_string(topic) ? json_string_value(topic) : NULL,
		.subject = subject ? json_string_value(subject) : NULL,
		.body = text ? json_string_value(text) : "",
		.body_len = text ? json_string_length(text) : 0,
		.sender_is_brand = true,
		.sender_verified = true,
		.now_ms = app_now_ms(),
	};
	r->job = w;
	r->job_free = send_work_free;
	struct app_write aw;
	if (message_send_begin(r->app, &w->in, w->idem_key, w->idem_hash,
			       &w->out, &aw, &r->app_err) != APP_OK) {
		http_app_error(r, APP_FAULT, &r->app_err, 0);
		return;
	}
	http_app_write(r, &aw, send_after);
}

/* ---- GET /v1/me/messages ---- */

void api_me_messages_list(struct http_request *r)
{
	struct inbox_filter f = { .decision = -1 };
	int limit = api_limit(r);
	if (limit < 0 || !api_after(r, ID_MESSAGE, &f.before))
		return;
	f.limit = limit + 1;
	const char *d = http_query(r, "decision");
	if (d && (f.decision = gate_outcome_parse(d)) < 0) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "decision",
				"decision is deliver, hold or refuse");
		return;
	}
	const char *rel = http_query(r, "relationship");
	if (rel && !api_id_parse(r, "relationship", rel, ID_RELATIONSHIP,
				 &f.relationship))
		return;
	f.folder = http_query(r, "folder");
	const char *dir = http_query(r, "direction");
	bool sent = dir && strcmp(dir, "sent") == 0;
	if (dir && !sent && strcmp(dir, "received") != 0) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "direction",
				"direction is received or sent");
		return;
	}
	if (sent && (f.folder || d || rel)) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "direction",
				"the replies you sent have no folder, decision "
				"or relationship filter");
		return;
	}
	json_t *items = json_array();
	struct app_error err = { 0 };
	int rc = sent ? reply_list(r->app, r->person, 0, f.before, f.limit,
				   false, items, &err)
		      : inbox_list(r->app, r->person, &f, items, &err);
	api_page_reply(r, limit, items, rc, &err);
}

/* ---- POST /v1/campaigns ---- */

static void campaign_written(struct http_request *r);

struct campaign_work {
	json_t *body;
	uint64_t *rels;
	struct campaign_request req;
	struct campaign_result res;
	struct campaign_run *run;
	int status;
	struct app_error err;
	char idem_key[130];
	uint8_t idem_hash[32];
};

static void campaign_work_free(void *p)
{
	struct campaign_work *w = p;
	campaign_run_free(w->run);
	json_decref(w->body);
	free(w->rels);
	free(w);
}

/* On a worker: the checks (an explicit list is up to 10,000 reads). */
static void campaign_begin_work(struct http_request *r)
{
	struct campaign_work *w = r->job;
	if (w->idem_key[0]) {
		w->req.idem_key = w->idem_key;
		w->req.idem_hash = w->idem_hash;
	}
	w->status = campaign_begin(r->app, &w->req, &w->res, &w->run, &w->err);
}

static void campaign_reply(struct http_request *r)
{
	struct campaign_work *w = r->job;
	if (w->status == APP_CONFLICT && w->idem_key[0] &&
	    api_idem_replay(r, w->idem_key, w->idem_hash))
		return; /* the same key won a race: its answer */
	if (w->status != APP_OK) {
		http_app_error(r, w->status, &w->err, TERMS_ERR_VALUE);
		return;
	}
	http_json(r, 201, campaign_result_json(&w->res));
}

/* Then a chunk at a time, each waiting for the writer with the
 * connection suspended and no thread held. */
static void campaign_step_next(struct http_request *r)
{
	struct campaign_work *w = r->job;
	struct app_write aw;
	int rc = campaign_step(w->run, &aw, &w->err);
	if (rc == APP_OK) {
		http_app_write(r, &aw, campaign_written);
		return;
	}
	w->status = rc == CAMPAIGN_DONE ? APP_OK : rc;
	campaign_reply(r);
}

static void campaign_written(struct http_request *r)
{
	struct campaign_work *w = r->job;
	if (r->app_status != APP_OK) {
		w->status = r->app_status;
		w->err = r->app_err;
		campaign_reply(r);
		return;
	}
	campaign_step_next(r);
}

static void campaign_after(struct http_request *r)
{
	struct campaign_work *w = r->job;
	if (w->status != APP_OK) {
		campaign_reply(r);
		return;
	}
	campaign_step_next(r);
}

void api_campaigns_create(struct http_request *r)
{
	static const char *const keys[] = { "relationships", "channel", "topic",
					    "subject",	     "body",	NULL };
	char idem_key[130];
	uint8_t idem_hash[32];
	if (api_idem_begin(r, idem_key, sizeof(idem_key), idem_hash))
		return;
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	struct campaign_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->body = body;
	r->job = w;
	r->job_free = campaign_work_free;
	memcpy(w->idem_key, idem_key, sizeof(idem_key));
	memcpy(w->idem_hash, idem_hash, sizeof(idem_hash));

	json_t *rels = json_object_get(body, "relationships");
	json_t *ch = json_object_get(body, "channel");
	json_t *topic = json_object_get(body, "topic");
	json_t *subject = json_object_get(body, "subject");
	json_t *text = json_object_get(body, "body");
	if (json_is_string(rels) &&
	    strcmp(json_string_value(rels), "all") == 0) {
		w->req.all = true;
	} else if (json_is_array(rels)) {
		size_t n = json_array_size(rels);
		if (n == 0 || n > CAMPAIGN_MAX_LIST) {
			http_problem(r, 422, "relationships",
				     "a campaign names 1 to %d relationships, "
				     "or \"all\"",
				     CAMPAIGN_MAX_LIST);
			return;
		}
		w->rels = malloc(n * sizeof(*w->rels));
		if (w->rels == NULL) {
			http_problem(r, 503, NULL, "out of memory; try again");
			return;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *v = json_array_get(rels, i);
			if (!json_is_string(v)) {
				http_problem(r, 400, "relationships",
					     "relationships holds ids "
					     "(strings)");
				return;
			}
			if (!api_id_parse(r, "relationships",
					  json_string_value(v), ID_RELATIONSHIP,
					  &w->rels[i]))
				return;
		}
		w->req.rels = w->rels;
		w->req.n_rels = n;
	} else {
		http_problem(r, 400, "relationships",
			     "relationships is a list of ids or \"all\"");
		return;
	}
	if (!json_is_string(ch) ||
	    (topic && !json_is_string(topic) && !json_is_null(topic)) ||
	    (subject && !json_is_string(subject)) ||
	    (text && !json_is_string(text))) {
		const char *field = !json_is_string(ch) ? "channel"
				    : subject && !json_is_string(subject)
					    ? "subject"
				    : text && !json_is_string(text) ? "body"
								    : "topic";
		http_problem(r, 400, field,
			     "channel, topic, subject and body are strings");
		return;
	}
	w->req.channel = channel_parse(json_string_value(ch));
	if (w->req.channel < 0) {
		http_problem(r, 422, "channel",
			     "channel is one of email, sms, "
			     "push, postal, phone");
		return;
	}
	if (json_is_string(topic) &&
	    !terms_topic_name_ok(json_string_value(topic))) {
		http_problem(r, 422, "topic",
			     "topic is [A-Za-z0-9_.-], 1 to "
			     "64");
		return;
	}
	if (subject && json_string_length(subject) > SUBJECT_MAX) {
		http_problem(r, 422, "subject",
			     "subject is longer than 998 "
			     "characters");
		return;
	}
	if (api_message_empty(subject, text)) {
		http_problem(r, 422, "subject",
			     "subject and body are both empty: a message "
			     "needs one");
		return;
	}
	w->req.brand = r->brand;
	w->req.topic = json_is_string(topic) ? json_string_value(topic) : NULL;
	w->req.subject = subject ? json_string_value(subject) : NULL;
	w->req.body = text ? json_string_value(text) : "";
	w->req.body_len = text ? json_string_length(text) : 0;
	http_offload(r, campaign_begin_work, campaign_after);
}

/* ---- GET /v1/messages/{id}, GET /v1/campaigns/{id}[/recipients] ---- */

/* One of the brand's things, read by an app/ function of this shape. */
typedef enum app_status (*brand_read)(struct app *a, uint64_t brand,
				      uint64_t id, int64_t now, json_t **out,
				      struct app_error *err);

static void brand_read_reply(struct http_request *r, int type, brand_read fn)
{
	uint64_t id;
	json_t *view = NULL;
	struct app_error err = { 0 };
	if (!api_id(r, 0, type, &id))
		return;
	int rc = fn(r->app, r->brand, id, app_now_ms() / 1000, &view, &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_json(r, 200, view);
}

void api_messages_get(struct http_request *r)
{
	brand_read_reply(r, ID_MESSAGE, message_brand_get);
}

void api_campaigns_get(struct http_request *r)
{
	brand_read_reply(r, ID_CAMPAIGN, campaign_brand_get);
}

void api_campaigns_recipients(struct http_request *r)
{
	uint64_t id, after;
	int state = -1;
	int limit = api_limit(r);
	if (limit < 0 || !api_id(r, 0, ID_CAMPAIGN, &id) ||
	    !api_after(r, ID_MESSAGE, &after))
		return;
	const char *s = http_query(r, "state");
	if (s && (state = brand_state_parse(s)) < 0) {
		http_problem_of(r, PROBLEM_INVALID_QUERY, "state",
				"state is accepted or refused");
		return;
	}
	json_t *items = json_array();
	struct app_error err = { 0 };
	int rc = campaign_recipients(r->app, r->brand, id, state, after,
				     limit + 1, app_now_ms() / 1000, items,
				     &err);
	api_page_reply(r, limit, items, rc, &err);
}
