/*
 * api_session.c — signing up, logging in and out, tokens. Hashing a
 * password takes most of a core for a moment, so sign-up and log-in run
 * on the server's worker threads (http_offload), never on its event
 * threads — after a place in the line of hashes was taken here
 * (session_*_admit), so that a flood is answered 429 at once.
 */
#include "http/api.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/person.h"
#include "app/session.h"
#include "core/id.h"
#include "http/auth.h"

/* State of a sign-up or log-in while it runs on a worker. */
struct login_state {
	char handle[PERSON_HANDLE_MAX + 8];
	char password[PERSON_PASSWORD_MAX + 1];
	int status;
	uint64_t person;
	int64_t retry_after;
	struct app_error err;
	enum session_kind kind;
	struct session_new out;	      /* the credential made */
	struct app_write cred;	      /* its write */
	struct app_write write;	      /* sign-up: the person's insert */
	struct session_ticket ticket; /* its place in the line of hashes */
};

static void login_state_free(void *p)
{
	session_ticket_end(&((struct login_state *)p)->ticket);
	sodium_memzero(p, sizeof(struct login_state));
	free(p);
}

/* Reads {"handle","password"} into a new login_state (owned by r). */
static struct login_state *login_read(struct http_request *r)
{
	static const char *const keys[] = { "handle", "password", NULL };
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return NULL;
	json_t *h = json_object_get(body, "handle");
	json_t *p = json_object_get(body, "password");
	/* Every check reads the body before it is released. */
	if (!json_is_string(h) || !json_is_string(p)) {
		http_problem(r, 400, !json_is_string(h) ? "handle" : "password",
			     "handle and password are strings");
		json_decref(body);
		return NULL;
	}
	if (json_string_length(h) > PERSON_HANDLE_MAX ||
	    json_string_length(p) > PERSON_PASSWORD_MAX ||
	    strlen(json_string_value(p)) != json_string_length(p)) {
		http_problem(r, 422,
			     json_string_length(h) > PERSON_HANDLE_MAX
				     ? "handle"
				     : "password",
			     "a handle has at most %d characters and a "
			     "password %d to %d, with no NUL",
			     PERSON_HANDLE_MAX, PERSON_PASSWORD_MIN,
			     PERSON_PASSWORD_MAX);
		json_decref(body);
		return NULL;
	}
	struct login_state *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return NULL;
	}
	snprintf(s->handle, sizeof(s->handle), "%s", json_string_value(h));
	snprintf(s->password, sizeof(s->password), "%s", json_string_value(p));
	json_decref(body);
	r->job = s;
	r->job_free = login_state_free;
	return s;
}

/* ---- POST /v1/persons ---- */

/* On a worker: the argon2id hash; the write then waits for the writer
 * with the connection suspended (signup_after → signup_written). */
static void signup_work(struct http_request *r)
{
	struct login_state *s = r->job;
	s->status = person_add_begin(r->app, s->handle, s->password, &s->person,
				     &s->write, &s->err);
	session_ticket_end(&s->ticket);
	sodium_memzero(s->password, sizeof(s->password));
}

static void signup_written(struct http_request *r)
{
	struct login_state *s = r->job;
	s->status = r->app_status;
	s->err = r->app_err;
	if (s->status != APP_OK) {
		if (s->status == APP_CONFLICT)
			http_problem(r, 409, "handle", "the handle is taken");
		else
			http_app_error(r, s->status, &s->err, 0);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_PERSON, s->person, id);
	http_json(r, 201, json_pack("{s:s}", "id", id));
}

static void signup_after(struct http_request *r)
{
	struct login_state *s = r->job;
	if (s->status != APP_OK) {
		r->app_status = s->status;
		r->app_err = s->err;
		signup_written(r);
		return;
	}
	http_app_write(r, &s->write, signup_written);
}

void api_persons_create(struct http_request *r)
{
	if (!r->app->cfg.open_registration) {
		http_problem(r, 403, NULL,
			     "sign-up is closed on this server (the operator "
			     "adds persons with `cmr person add`)");
		return;
	}
	struct login_state *s = login_read(r);
	if (s == NULL)
		return;
	if (person_handle_check(s->handle, s->handle, &s->err) != APP_OK ||
	    person_password_check(s->password, s->handle, &s->err) != APP_OK) {
		http_problem(r, 422, s->err.field, "%s", s->err.message);
		return;
	}
	if (session_signup_admit(r->app, &s->ticket, r->client, &s->retry_after,
				 &s->err) != APP_OK) {
		api_throttled(r, s->retry_after, &s->err);
		return;
	}
	http_offload(r, signup_work, signup_after);
}

/* ---- log-in: POST /v1/session and POST /v1/tokens ---- */

/* Reads the body and takes the check's place in line (else 429 at once,
 * nothing hashed); NULL after replying. */
static struct login_state *login_admit(struct http_request *r,
				       enum session_kind kind)
{
	struct login_state *s = login_read(r);
	if (s == NULL)
		return NULL;
	s->kind = kind;
	if (session_login_admit(r->app, &s->ticket, s->handle, r->client,
				&s->retry_after, &s->err) != APP_OK) {
		api_throttled(r, s->retry_after, &s->err);
		return NULL;
	}
	return s;
}

static void login_work(struct http_request *r)
{
	struct login_state *s = r->job;
	s->status = session_login(&s->ticket, s->handle, s->password,
				  &s->person, &s->retry_after, &s->err);
	sodium_memzero(s->password, sizeof(s->password));
	if (s->status != APP_OK)
		return;
	s->status = session_create_begin(r->app, s->person, s->kind, &s->out,
					 &s->cred, &s->err);
}

/* After the password check (on a worker), the credential's write waits
 * for the writer with the connection suspended, holding no thread. */
static void login_then_write(struct http_request *r,
			     void (*after)(struct http_request *r))
{
	struct login_state *s = r->job;
	if (s->status != APP_OK) {
		after(r);
		return;
	}
	http_app_write(r, &s->cred, after);
}

static void login_written(struct http_request *r)
{
	struct login_state *s = r->job;
	if (s->status == APP_OK && r->app_status != APP_OK)
		s->status = APP_FAULT;
}

static bool login_failed(struct http_request *r, struct login_state *s)
{
	if (s->status == APP_OK)
		return false;
	if (s->status == APP_CONFLICT) {
		api_throttled(r, s->retry_after, &s->err);
	} else if (s->status == APP_NOT_FOUND) {
		http_header(r, "WWW-Authenticate", "Bearer realm=\"cmr\"");
		http_problem(r, 401, NULL, "wrong handle or password");
	} else {
		http_problem(r, 503, NULL,
			     "the log-in could not be recorded; "
			     "try again");
	}
	return true;
}

static void session_written(struct http_request *r)
{
	struct login_state *s = r->job;
	login_written(r);
	if (login_failed(r, s))
		return;
	char cookie[SESSION_CREDENTIAL_SIZE + 128];
	auth_cookie_header(r, s->out.credential, SESSION_TTL, cookie,
			   sizeof(cookie));
	http_header(r, "Set-Cookie", cookie);
	http_empty(r, 204);
}

static void session_after(struct http_request *r);
static void token_after(struct http_request *r);

void api_session_create(struct http_request *r)
{
	if (login_admit(r, SESSION_COOKIE))
		http_offload(r, login_work, session_after);
}

static void session_after(struct http_request *r)
{
	login_then_write(r, session_written);
}

static void token_written(struct http_request *r)
{
	struct login_state *s = r->job;
	login_written(r);
	if (login_failed(r, s))
		return;
	char id[ID_SIZE];
	id_encode(ID_TOKEN, s->out.id, id);
	http_json(r, 201,
		  json_pack("{s:s,s:s,s:o}", "id", id, "token",
			    s->out.credential, "expires_at",
			    app_time_json(s->out.expires_at)));
}

void api_tokens_create(struct http_request *r)
{
	if (login_admit(r, SESSION_TOKEN))
		http_offload(r, login_work, token_after);
}

static void token_after(struct http_request *r)
{
	login_then_write(r, token_written);
}

/* ---- log-out and revocation ---- */

/* Tells the browser to drop its session cookie. */
static void cookie_clear(struct http_request *r)
{
	char cookie[128];
	auth_cookie_header(r, NULL, 0, cookie, sizeof(cookie));
	http_header(r, "Set-Cookie", cookie);
}

static void session_delete_after(struct http_request *r)
{
	cookie_clear(r);
	if (r->app_status == APP_OK || r->app_status == APP_NOT_FOUND)
		http_empty(r, 204);
	else
		http_problem(r, 503, NULL,
			     "the log-out could not be "
			     "recorded; try again");
}

void api_session_delete(struct http_request *r)
{
	const char *cookie = auth_cookie(r);
	uint64_t person, id;
	if (cookie == NULL || session_check(r->app, cookie, SESSION_COOKIE,
					    &person, &id, NULL) != APP_OK) {
		/* Nothing to end: still clear whatever the browser holds. */
		r->app_status = APP_OK;
		session_delete_after(r);
		return;
	}
	const char *h = http_header_in(r, "X-CMR-CSRF");
	if (h == NULL || strcmp(h, "1") != 0) {
		http_problem(r, 403, NULL,
			     "a write from a browser session "
			     "needs the header X-CMR-CSRF: 1");
		return;
	}
	struct app_write w;
	if (session_revoke_begin(r->app, person, id, &w, &r->app_err) !=
	    APP_OK) {
		http_app_error(r, APP_FAULT, &r->app_err, 0);
		return;
	}
	http_app_write(r, &w, session_delete_after);
}

static void token_delete_after(struct http_request *r)
{
	if (r->app_status == APP_OK)
		http_empty(r, 204);
	else
		http_app_error(r, r->app_status, &r->app_err, 0);
}

/* Starts the revocation of the caller's credential in path segment 0;
 * `after` replies. */
static void revoke_start(struct http_request *r,
			 void (*after)(struct http_request *r))
{
	uint64_t id;
	if (!api_id(r, 0, ID_TOKEN, &id))
		return;
	struct app_write w;
	if (session_revoke_begin(r->app, r->person, id, &w, &r->app_err) !=
	    APP_OK) {
		http_app_error(r, APP_FAULT, &r->app_err, 0);
		return;
	}
	http_app_write(r, &w, after);
}

void api_tokens_delete(struct http_request *r)
{
	revoke_start(r, token_delete_after);
}

/* ---- GET /v1/me/sessions, DELETE /v1/me/sessions/{id} ---- */

void api_me_sessions_list(struct http_request *r)
{
	json_t *items = json_array();
	if (items == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	int rc = session_list(r->app, r->person, r->credential, items,
			      &r->app_err);
	if (rc != APP_OK) {
		json_decref(items);
		http_app_error(r, rc, &r->app_err, 0);
		return;
	}
	http_json(r, 200, json_pack("{s:o}", "items", items));
}

/* Revoking the session this browser holds is a log-out: the cookie goes
 * too. */
static void me_session_delete_after(struct http_request *r)
{
	uint64_t id;
	if (r->app_status == APP_OK && r->by_cookie &&
	    id_decode(ID_TOKEN, r->params[0], &id) && id == r->credential)
		cookie_clear(r);
	token_delete_after(r);
}

void api_me_sessions_delete(struct http_request *r)
{
	revoke_start(r, me_session_delete_after);
}

/* ---- POST /v1/me/tokens: an alias token for a password manager ---- */

struct alias_token_state {
	struct session_new out;
	struct app_error err;
};

static void alias_token_free(void *p)
{
	sodium_memzero(p, sizeof(struct alias_token_state));
	free(p);
}

static void alias_token_written(struct http_request *r)
{
	struct alias_token_state *s = r->job;
	if (r->app_status != APP_OK) {
		http_app_error(r, r->app_status, &r->app_err, 0);
		return;
	}
	char id[ID_SIZE];
	id_encode(ID_TOKEN, s->out.id, id);
	http_json(r, 201,
		  json_pack("{s:s,s:s,s:s,s:s,s:n}", "id", id, "token",
			    s->out.credential, "scope",
			    SESSION_SCOPE_ALIASES_NAME, "name", s->out.name,
			    "expires_at"));
}

void api_me_tokens_create(struct http_request *r)
{
	static const char *const keys[] = { "scope", "name", NULL };
	json_t *body = http_body_fields(r, keys);
	if (body == NULL)
		return;
	const json_t *scope = json_object_get(body, "scope");
	const json_t *name = json_object_get(body, "name");
	if (!json_is_string(scope) || !json_is_string(name)) {
		http_problem(r, 400, !json_is_string(scope) ? "scope" : "name",
			     "a token is made with {\"scope\": \"aliases\", "
			     "\"name\": \"Bitwarden\"}");
		json_decref(body);
		return;
	}
	if (strcmp(json_string_value(scope), SESSION_SCOPE_ALIASES_NAME) != 0 ||
	    strlen(json_string_value(name)) != json_string_length(name)) {
		bool bad_scope = strcmp(json_string_value(scope),
					SESSION_SCOPE_ALIASES_NAME) != 0;
		http_problem(r, 422, bad_scope ? "scope" : "name",
			     bad_scope ? "the only scope a token is made with "
					 "here is \"aliases\" (log in with "
					 "POST /v1/tokens for a token of every "
					 "route)"
				       : "the name is one line of text");
		json_decref(body);
		return;
	}
	struct alias_token_state *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		json_decref(body);
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	r->job = s;
	r->job_free = alias_token_free;
	struct app_write w;
	int rc = session_alias_token_begin(r->app, r->person,
					   json_string_value(name), &s->out, &w,
					   &s->err);
	json_decref(body);
	if (rc != APP_OK) {
		http_app_error(r, rc, &s->err, 0);
		return;
	}
	http_app_write(r, &w, alias_token_written);
}
