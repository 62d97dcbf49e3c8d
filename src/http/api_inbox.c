/*
 * api_inbox.c — the person's filing and password: PATCH a message (read,
 * folder), empty a folder, change the password.
 */
#include "http/api.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/account.h"
#include "app/delivery.h"
#include "app/inbox.h"
#include "app/reply.h"
#include "app/message.h"
#include "app/person.h"
#include "app/session.h"
#include "core/id.h"

/* A work's status when its wrong password started a lock-out (429). */
#define REENTRY_THROTTLED 0x200

/* A password asked again takes a place in the line of hashes first, per
 * person and address throttled like a log-in; false after replying 429. */
static bool reentry_admit(struct http_request *r, struct session_ticket *t)
{
	int64_t retry_after = 0;
	struct app_error err = { 0 };
	if (session_reentry_admit(r->app, t, r->person, r->client, &retry_after,
				  &err) == APP_OK)
		return true;
	api_throttled(r, retry_after, &err);
	return false;
}

/* On the worker, after the use case checked the password (a wrong one
 * is APP_NOT_FOUND naming `field`): counts it, and turns *status into
 * REENTRY_THROTTLED when it starts a lock-out. */
static void reentry_done(struct session_ticket *t, const char *field,
			 int *status, struct app_error *err,
			 int64_t *retry_after)
{
	enum session_check check = SESSION_UNCHECKED;
	if (*status == APP_OK)
		check = SESSION_RIGHT;
	else if (*status == APP_NOT_FOUND && strcmp(err->field, field) == 0)
		check = SESSION_WRONG;
	if (session_reentry_done(t, check, retry_after, err) != APP_OK)
		*status = REENTRY_THROTTLED;
}

struct inbox_work {
	json_t *body;
	uint64_t id;
	int read;
	const char *folder;
	int64_t *count;		/* folder empty: in the write's job */
	struct app_write write; /* password: the new hash's write */
	int status;
	struct app_error err;
	struct session_ticket ticket; /* password: its place in line */
	int64_t retry_after;	      /* … and a lock-out it started */
};

static void inbox_work_free(void *p)
{
	struct inbox_work *w = p;
	session_ticket_end(&w->ticket);
	json_decref(w->body);
	free(w);
}

static struct inbox_work *inbox_work_new(struct http_request *r, json_t *b)
{
	struct inbox_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(b);
		http_problem(r, 503, NULL, "out of memory; try again");
		return NULL;
	}
	w->body = b;
	r->job = w;
	r->job_free = inbox_work_free;
	return w;
}

static void patch_after(struct http_request *r)
{
	struct inbox_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, w->id, id);
	json_t *o = json_pack("{s:s}", "id", id);
	if (w->read >= 0)
		json_object_set_new(o, "read", json_boolean(w->read));
	if (w->folder)
		json_object_set_new(o, "folder", json_string(w->folder));
	http_json(r, 200, o);
}

void api_me_message_patch(struct http_request *r)
{
	static const char *const keys[] = { "read", "folder", NULL };
	uint64_t id;
	if (!api_id(r, 0, ID_MESSAGE, &id))
		return;
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	json_t *read = json_object_get(body, "read");
	json_t *folder = json_object_get(body, "folder");
	if ((read && !json_is_boolean(read)) ||
	    (folder && !json_is_string(folder))) {
		http_problem(r, 400,
			     read && !json_is_boolean(read) ? "read" : "folder",
			     "read is true or false; folder is a name");
		json_decref(body);
		return;
	}
	if (read == NULL && folder == NULL) {
		http_problem(r, 422, "", "say what to change: read, folder");
		json_decref(body);
		return;
	}
	struct inbox_work *w = inbox_work_new(r, body);
	if (w == NULL)
		return;
	w->id = id;
	w->read = read ? json_is_true(read) : -1;
	w->folder = folder ? json_string_value(folder) : NULL;
	struct app_write aw;
	int rc = inbox_update_begin(r->app, r->person, id, w->read, w->folder,
				    &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, 0);
		return;
	}
	http_app_write(r, &aw, patch_after);
}

static void empty_after(struct http_request *r)
{
	struct inbox_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	http_json(r, 200,
		  json_pack("{s:s,s:I}", "folder", r->params[0], "deleted",
			    (json_int_t)*w->count));
}

void api_me_folder_empty(struct http_request *r)
{
	if (!api_no_fields(r))
		return;
	struct inbox_work *w = inbox_work_new(r, NULL);
	if (w == NULL)
		return;
	struct app_write aw;
	int rc = inbox_empty_begin(r->app, r->person, r->params[0], &w->count,
				   &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, 0);
		return;
	}
	http_app_write(r, &aw, empty_after);
}

/* On a worker: both argon2id computations; the write then waits for the
 * writer with the connection suspended. */
static void password_run(struct http_request *r)
{
	struct inbox_work *w = r->job;
	w->status = person_change_password_begin(
		r->app, r->person, r->credential,
		json_string_value(json_object_get(w->body, "password")),
		json_string_value(json_object_get(w->body, "new_password")),
		&w->write, &w->err);
	reentry_done(&w->ticket, "current", &w->status, &w->err,
		     &w->retry_after);
}

static void password_written(struct http_request *r)
{
	struct inbox_work *w = r->job;
	if (w->status == APP_OK) {
		w->status = r->app_status;
		w->err = r->app_err;
	}
	if (w->status == REENTRY_THROTTLED)
		api_throttled(r, w->retry_after, &w->err);
	else if (w->status == APP_NOT_FOUND)
		http_problem_of(r, PROBLEM_WRONG_PASSWORD, "password",
				"the current password is "
				"wrong");
	else if (w->status == APP_INVALID)
		http_problem(r, 422, "new_password", "%s", w->err.message);
	else if (w->status != APP_OK)
		http_app_error(r, w->status, &w->err, 0);
	else
		http_empty(r, 204);
}

static void password_after(struct http_request *r)
{
	struct inbox_work *w = r->job;
	if (w->status != APP_OK) {
		password_written(r);
		return;
	}
	http_app_write(r, &w->write, password_written);
}

void api_me_password_put(struct http_request *r)
{
	static const char *const keys[] = { "password", "new_password", NULL };
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	if (!json_is_string(json_object_get(body, "password")) ||
	    !json_is_string(json_object_get(body, "new_password"))) {
		http_problem(r, 400, "password",
			     "password (the current one) "
			     "and new_password are strings");
		json_decref(body);
		return;
	}
	struct inbox_work *w = inbox_work_new(r, body);
	if (w && reentry_admit(r, &w->ticket))
		http_offload(r, password_run, password_after);
}

/* ---- export and erasure (both with the password) ---- */

struct account_work {
	json_t *body;
	json_t *doc;
	int status;
	struct app_error err;
	struct app_write write;		  /* erasure: the erasing write */
	char secret[DELIVERY_SECRET_MAX]; /* a new webhook's, shown once */
	struct session_ticket ticket;	  /* the password's place in line */
	int64_t retry_after;		  /* … and a lock-out it started */
};

static void account_work_free(void *p)
{
	struct account_work *w = p;
	session_ticket_end(&w->ticket);
	json_decref(w->body);
	json_decref(w->doc);
	free(w);
}

/* The body, with the password and the other keys allowed. */
static bool account_read_with(struct http_request *r, const char *const *keys)
{
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return false;
	if (!json_is_string(json_object_get(body, "password"))) {
		http_problem(r, 400, "password",
			     "the password is needed again, "
			     "as a string");
		json_decref(body);
		return false;
	}
	struct account_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return false;
	}
	w->body = body;
	r->job = w;
	r->job_free = account_work_free;
	return reentry_admit(r, &w->ticket);
}

static bool account_read(struct http_request *r)
{
	static const char *const keys[] = { "password", NULL };
	return account_read_with(r, keys);
}

static const char *account_password(struct http_request *r)
{
	struct account_work *w = r->job;
	return json_string_value(json_object_get(w->body, "password"));
}

static void export_run(struct http_request *r)
{
	struct account_work *w = r->job;
	w->status = account_export(r->app, r->person, account_password(r),
				   &w->doc, &w->err);
	reentry_done(&w->ticket, "password", &w->status, &w->err,
		     &w->retry_after);
}

static void account_after(struct http_request *r, unsigned ok_status)
{
	struct account_work *w = r->job;
	if (w->status == REENTRY_THROTTLED)
		api_throttled(r, w->retry_after, &w->err);
	else if (w->status == APP_NOT_FOUND &&
		 strcmp(w->err.field, "password") == 0)
		http_problem_of(r, PROBLEM_WRONG_PASSWORD, "password",
				"the password is wrong");
	else if (w->status != APP_OK)
		http_app_error(r, w->status, &w->err, 0);
	else if (w->doc) {
		http_json(r, ok_status, w->doc);
		w->doc = NULL;
	} else {
		http_empty(r, ok_status);
	}
}

static void export_after(struct http_request *r)
{
	account_after(r, 200);
}

void api_me_export(struct http_request *r)
{
	if (account_read(r))
		http_offload(r, export_run, export_after);
}

/* On a worker: the argon2id check and the reads; the erasure itself
 * then waits for the writer with the connection suspended. */
static void erase_run(struct http_request *r)
{
	struct account_work *w = r->job;
	w->status = account_erase_begin(r->app, r->person, account_password(r),
					&w->write, &w->err);
	reentry_done(&w->ticket, "password", &w->status, &w->err,
		     &w->retry_after);
}

static void erase_written(struct http_request *r)
{
	struct account_work *w = r->job;
	if (w->status == APP_OK) {
		w->status = r->app_status;
		w->err = r->app_err;
	}
	if (((struct account_work *)r->job)->status == APP_OK && r->by_cookie)
		http_header(r, "Set-Cookie",
			    "cmr_session=; Path=/; HttpOnly; SameSite=Strict; "
			    "Max-Age=0");
	account_after(r, 204);
}

static void erase_after(struct http_request *r)
{
	struct account_work *w = r->job;
	if (w->status != APP_OK) {
		erase_written(r);
		return;
	}
	http_app_write(r, &w->write, erase_written);
}

void api_me_erase(struct http_request *r)
{
	if (account_read(r))
		http_offload(r, erase_run, erase_after);
}

/* ---- delivery settings (changing them needs the password) ---- */

void api_me_delivery_get(struct http_request *r)
{
	json_t *doc = NULL;
	struct app_error err = { 0 };
	int rc = delivery_get(r->app, r->person, &doc, &err);
	if (rc != APP_OK)
		http_app_error(r, rc, &err, 0);
	else
		http_json(r, 200, doc);
}

static void delivery_put_run(struct http_request *r)
{
	struct account_work *w = r->job;
	bool type_error = false;
	w->status = delivery_set_begin(r->app, r->person, account_password(r),
				       w->body, &type_error, w->secret,
				       &w->write, &w->err);
	reentry_done(&w->ticket, "password", &w->status, &w->err,
		     &w->retry_after);
	if (w->status == APP_INVALID && type_error)
		w->status = APP_INVALID | 0x100; /* 400, not 422 */
}

static void delivery_put_written(struct http_request *r)
{
	struct account_work *w = r->job;
	if (w->status == APP_OK) {
		w->status = r->app_status;
		w->err = r->app_err;
	}
	if (w->status == APP_OK)
		w->status = delivery_get(r->app, r->person, &w->doc, &w->err);
	json_t *hook = w->doc ? json_object_get(w->doc, "webhook") : NULL;
	if (w->status == APP_OK && w->secret[0] && json_is_object(hook))
		json_object_set_new(hook, "secret", json_string(w->secret));
	sodium_memzero(w->secret, sizeof(w->secret));
	account_after(r, 200);
}

static void delivery_put_after(struct http_request *r)
{
	struct account_work *w = r->job;
	if (w->status == (APP_INVALID | 0x100)) {
		http_problem(r, 400, w->err.field, "%s", w->err.message);
		return;
	}
	if (w->status != APP_OK) {
		delivery_put_written(r);
		return;
	}
	http_app_write(r, &w->write, delivery_put_written);
}

struct verify_work {
	json_t *body;
	struct app_write write;
	int status;
	struct app_error err;
};

static void verify_work_free(void *p)
{
	struct verify_work *w = p;
	json_decref(w->body);
	free(w);
}

static void verify_written(struct http_request *r)
{
	struct verify_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	json_t *doc = NULL;
	int rc = delivery_get(r->app, r->person, &doc, &w->err);
	if (rc != APP_OK)
		http_app_error(r, rc, &w->err, 0);
	else
		http_json(r, 200, doc);
}

/* The code sent to the forwarding address, given back. No password: the
 * code is the proof, and it is the person's own session asking. */
void api_me_delivery_verify(struct http_request *r)
{
	static const char *const keys[] = { "code", NULL };
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	const char *code = json_string_value(json_object_get(body, "code"));
	if (code == NULL) {
		http_problem(r, 400, "code", "code is a string");
		json_decref(body);
		return;
	}
	struct verify_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->body = body;
	r->job = w;
	r->job_free = verify_work_free;
	int rc = delivery_verify_begin(r->app, r->person, code, &w->write,
				       &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, 0);
		return;
	}
	http_app_write(r, &w->write, verify_written);
}

/* PATCH: the same, with the settings merged (RFC 7396) onto the current
 * ones first (delivery_patch_begin). */
static void delivery_patch_run(struct http_request *r)
{
	struct account_work *w = r->job;
	bool type_error = false;
	w->status = delivery_patch_begin(r->app, r->person, account_password(r),
					 w->body, &type_error, w->secret,
					 &w->write, &w->err);
	reentry_done(&w->ticket, "password", &w->status, &w->err,
		     &w->retry_after);
	if (w->status == APP_INVALID && type_error)
		w->status = APP_INVALID | 0x100; /* 400, not 422 */
}

static const char *const delivery_keys[] = { "password", "maildir", "webhook",
					     "forward", NULL };

void api_me_delivery_put(struct http_request *r)
{
	if (account_read_with(r, delivery_keys))
		http_offload(r, delivery_put_run, delivery_put_after);
}

void api_me_delivery_patch(struct http_request *r)
{
	if (account_read_with(r, delivery_keys))
		http_offload(r, delivery_patch_run, delivery_put_after);
}

/* ---- GET and DELETE /v1/me/messages/{id}, GET …/html ---- */

/* Reading a message parses its MIME (GMime) and its HTML (gumbo): CPU
 * work, run on a worker (http_offload) so that a large mail holds up no
 * event thread. */
struct read_work {
	uint64_t id;
	int status;
	struct app_error err;
	json_t *doc; /* GET …/{id} */
	char *html;  /* GET …/{id}/html */
};

static void read_work_free(void *p)
{
	struct read_work *w = p;
	json_decref(w->doc);
	free(w->html);
	free(w);
}

/* The message id of the path, into a new job of r; false after replying. */
static bool read_work_new(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_MESSAGE, &id))
		return false;
	struct read_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return false;
	}
	w->id = id;
	r->job = w;
	r->job_free = read_work_free;
	return true;
}

static void message_get_run(struct http_request *r)
{
	struct read_work *w = r->job;
	w->status = inbox_message(r->app, r->person, w->id, &w->doc, &w->err);
}

static void message_get_after(struct http_request *r)
{
	struct read_work *w = r->job;
	if (w->status != APP_OK) {
		http_app_error(r, w->status, &w->err, 0);
		return;
	}
	http_json(r, 200, w->doc);
	w->doc = NULL;
}

/* ---- POST /v1/me/messages/{id}/reply ---- */

struct reply_work {
	json_t *body;
	uint64_t id;
	struct app_error err;
};

static void reply_work_free(void *p)
{
	struct reply_work *w = p;
	json_decref(w->body);
	free(w);
}

static void reply_after(struct http_request *r)
{
	struct reply_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, w->id, id);
	http_json(r, 201, json_pack("{s:s,s:s}", "id", id, "state", "queued"));
}

void api_me_message_reply(struct http_request *r)
{
	uint64_t message;
	if (!api_id(r, 0, ID_MESSAGE, &message))
		return;
	json_t *body = http_body_object(r);
	if (body == NULL)
		return;
	struct reply_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->body = body;
	r->job = w;
	r->job_free = reply_work_free;
	struct app_write aw;
	int rc = reply_web_begin(r->app, r->person, message, w->body, &w->id,
				 &aw, &w->err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &w->err, 0);
		return;
	}
	http_app_write(r, &aw, reply_after);
}

void api_me_message_get(struct http_request *r)
{
	if (read_work_new(r))
		http_offload(r, message_get_run, message_get_after);
}

/* The sanitized HTML is the first wall; its own policy is the second:
 * nothing may load (default-src 'none'; the sanitizer keeps no image, so
 * not even data: ones are needed), inline style may apply, and the
 * document is sandboxed (no script, form, plugin or navigation of its
 * frame or the top; a link opens a new window, outside the sandbox),
 * framed only by cmr's own pages. */
#define HTML_POLICY                                                            \
	"default-src 'none'; style-src 'unsafe-inline'; "                      \
	"sandbox allow-popups allow-popups-to-escape-sandbox; "                \
	"frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

static void message_html_run(struct http_request *r)
{
	struct read_work *w = r->job;
	w->status =
		inbox_message_html(r->app, r->person, w->id, &w->html, &w->err);
}

static void message_html_after(struct http_request *r)
{
	struct read_work *w = r->job;
	if (w->status != APP_OK) {
		http_app_error(r, w->status, &w->err, 0);
		return;
	}
	http_header(r, "Content-Security-Policy", HTML_POLICY);
	http_header(r, "Cache-Control", "private, no-store");
	http_text(r, 200, "text/html; charset=utf-8", w->html);
}

void api_me_message_html(struct http_request *r)
{
	if (read_work_new(r))
		http_offload(r, message_html_run, message_html_after);
}

static void remove_after(struct http_request *r)
{
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	http_empty(r, 204);
}

void api_me_message_delete(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_MESSAGE, &id))
		return;
	struct app_write aw;
	int rc = inbox_remove_begin(r->app, r->person, id, &aw, &r->app_err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &r->app_err, 0);
		return;
	}
	http_app_write(r, &aw, remove_after);
}

/* ---- A held message released or discarded by its person ---- */

struct held_work {
	uint64_t id;
	struct gate_decision decision; /* the job's outcome */
};

static void held_after(struct http_request *r)
{
	struct held_work *w = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, w->id, id);
	http_json(r, 200,
		  json_pack("{s:s,s:s,s:s}", "id", id, "decision",
			    gate_outcome_name(w->decision.outcome), "reason",
			    gate_reasons[w->decision.reason].wire));
}

static void held_by_hand(struct http_request *r, bool release)
{
	uint64_t id;
	if (!api_id(r, 0, ID_MESSAGE, &id) || !api_no_fields(r))
		return;
	struct held_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->id = id;
	r->job = w;
	r->job_free = free;
	struct app_write aw;
	struct app_error err = { 0 };
	int rc = message_by_hand_begin(r->app, r->person, id, release,
				       &w->decision, &aw, &err);
	if (rc != APP_OK) {
		http_app_error(r, rc, &err, 0);
		return;
	}
	http_app_write(r, &aw, held_after);
}

void api_me_message_release(struct http_request *r)
{
	held_by_hand(r, true);
}

void api_me_message_discard(struct http_request *r)
{
	held_by_hand(r, false);
}
