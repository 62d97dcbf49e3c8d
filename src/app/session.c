/*
 * session.c — log-in, tokens and sessions (see session.h).
 */
#include "app/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/person.h"
#include "app/throttle.h"
#include "core/id.h"
#include "store/store.h"

static const char *session_prefix(enum session_kind kind)
{
	return kind == SESSION_TOKEN ? "cmrt_" : "cmrs_";
}

bool session_looks_like(const char *credential, enum session_kind kind)
{
	return strncmp(credential, session_prefix(kind), 5) == 0;
}

/* An argon2id hash of a random password, made once: unknown handles are
 * checked against it so they take as long as known ones. */
static char session_dummy[crypto_pwhash_STRBYTES];
static pthread_once_t session_dummy_once = PTHREAD_ONCE_INIT;

static void session_dummy_init(void)
{
	char pw[33];
	uint8_t rnd[16];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (person_password_hash(pw, session_dummy, sizeof(session_dummy)) !=
	    APP_OK)
		session_dummy[0] = '\0';
}

/* The key of a client address: the address itself, but for IPv6 its
 * /64, which one subscriber usually holds whole (an IPv4-mapped address
 * is its IPv4 address). */
static void session_client_key(const char *client, char *out, size_t size)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];
	if (client && inet_pton(AF_INET6, client, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, text, sizeof(text))) {
			snprintf(out, size, "addr\n%s/64", text);
			return;
		}
	}
	if (client && strncmp(client, "::ffff:", 7) == 0 && strchr(client, '.'))
		client += 7;
	snprintf(out, size, "addr\n%s", client ? client : "");
}

/* The longer wait of the ticket's two keys (its `who`, when it has one,
 * and its address); 0 when neither is locked out. */
static int64_t session_wait(struct session_ticket *t, int64_t now)
{
	int64_t wait = throttle_wait(t->app->throttle, t->client, now);
	if (t->who[0]) {
		int64_t w = throttle_wait(t->app->throttle, t->who, now);
		if (w > wait)
			wait = w;
	}
	return wait;
}

static enum app_status session_locked(int64_t wait, int64_t *retry_after,
				      struct app_error *err, const char *what)
{
	*retry_after = wait;
	return app_fail(err, APP_CONFLICT, NULL,
			"too many %s; try again in %lld second%s", what,
			(long long)wait, wait == 1 ? "" : "s");
}

/* Admits a ticket whose keys are set: not locked out, and a place in the
 * line of hashes. */
static enum app_status session_admit(struct session_ticket *t,
				     int64_t *retry_after,
				     struct app_error *err, const char *what)
{
	int64_t wait = session_wait(t, app_now_ms() / 1000);
	if (wait > 0)
		return session_locked(wait, retry_after, err, what);
	if (!throttle_queue_enter(t->app->throttle, t->client)) {
		*retry_after = 1;
		return app_fail(err, APP_CONFLICT, NULL,
				"too many password checks at once; try again "
				"in 1 second");
	}
	t->held = true;
	return APP_OK;
}

static void session_ticket_init(struct app *a, struct session_ticket *t,
				const char *client)
{
	*t = (struct session_ticket){ .app = a };
	session_client_key(client, t->client, sizeof(t->client));
}

/* The log-in key of a handle (its normal form, or a cut of what was
 * given) at an address. */
static void session_login_key(struct session_ticket *t, const char *handle)
{
	char norm[PERSON_HANDLE_MAX + 1] = "";
	if (person_handle_check(handle, norm, NULL) != APP_OK)
		snprintf(norm, sizeof(norm), "%.32s", handle);
	snprintf(t->who, sizeof(t->who), "login\n%s\n%s", norm, t->client);
}

enum app_status session_login_admit(struct app *a, struct session_ticket *t,
				    const char *handle, const char *client,
				    int64_t *retry_after, struct app_error *err)
{
	session_ticket_init(a, t, client);
	session_login_key(t, handle);
	return session_admit(t, retry_after, err, "failed log-ins");
}

enum app_status session_reentry_admit(struct app *a, struct session_ticket *t,
				      uint64_t person, const char *client,
				      int64_t *retry_after,
				      struct app_error *err)
{
	session_ticket_init(a, t, client);
	snprintf(t->who, sizeof(t->who), "reentry\n%llx",
		 (unsigned long long)person);
	return session_admit(t, retry_after, err, "wrong passwords");
}

enum app_status session_signup_admit(struct app *a, struct session_ticket *t,
				     const char *client, int64_t *retry_after,
				     struct app_error *err)
{
	session_ticket_init(a, t, client);
	return session_admit(t, retry_after, err, "failed log-ins");
}

void session_ticket_end(struct session_ticket *t)
{
	if (t->held) {
		t->held = false;
		throttle_queue_leave(t->app->throttle, t->client);
	}
}

/* Counts a failure against both keys; the longer lock-out it starts. */
static int64_t session_fail(struct session_ticket *t, int64_t now)
{
	int64_t lock = throttle_fail(t->app->throttle, t->who, now);
	int64_t l = throttle_fail_after(t->app->throttle, t->client,
					THROTTLE_CLIENT_FREE, now);
	return l > lock ? l : lock;
}

enum app_status session_reentry_done(struct session_ticket *t,
				     enum session_check check,
				     int64_t *retry_after,
				     struct app_error *err)
{
	session_ticket_end(t);
	if (check != SESSION_WRONG) {
		/* Only a right password forgets: a request refused before
		 * the check must not wipe the count. */
		if (check == SESSION_RIGHT)
			throttle_reset(t->app->throttle, t->who);
		return APP_OK;
	}
	int64_t lock = session_fail(t, app_now_ms() / 1000);
	if (lock > 0)
		return session_locked(lock, retry_after, err,
				      "wrong passwords");
	return APP_OK;
}

enum app_status session_login(struct session_ticket *t, const char *handle,
			      const char *password, uint64_t *person,
			      int64_t *retry_after, struct app_error *err)
{
	struct app *a = t->app;
	char norm[PERSON_HANDLE_MAX + 1] = "";
	int64_t now = app_now_ms() / 1000;

	pthread_once(&session_dummy_once, session_dummy_init);
	/* A lock-out may have begun while this check waited in line. */
	int64_t wait = session_wait(t, now);
	if (wait > 0) {
		session_ticket_end(t);
		return session_locked(wait, retry_after, err, "failed log-ins");
	}
	if (person_handle_check(handle, norm, NULL) != APP_OK)
		snprintf(norm, sizeof(norm), "%.32s", handle);
	struct store_person p;
	int rc = store_person_get(a->reads, 0, norm, &p);
	if (rc == STORE_FAULT) {
		session_ticket_end(t);
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	}
	bool ok;
	if (rc == STORE_OK && p.erased_at == 0) {
		ok = person_password_verify(p.password_hash, password);
		*person = p.id;
	} else {
		if (session_dummy[0])
			person_password_verify(session_dummy, password);
		ok = false;
	}
	if (rc == STORE_OK)
		store_person_clear(&p);
	session_ticket_end(t);
	if (!ok) {
		int64_t lock = session_fail(t, now);
		if (lock > 0)
			return session_locked(lock, retry_after, err,
					      "failed log-ins");
		return app_fail(err, APP_NOT_FOUND, NULL,
				"wrong handle or password");
	}
	throttle_reset(a->throttle, t->who);
	return APP_OK;
}

struct session_job {
	struct store_token row;
	struct session_new *out;
};

static int session_job_run(struct app_tx *t, void *arg)
{
	struct session_job *j = arg;
	return store_token_insert(t->tx, &j->row);
}

static enum app_status session_job_finish(void *job, int rc,
					  struct app_error *err)
{
	(void)job;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the log-in could not be recorded");
	return APP_OK;
}

static void session_job_release(void *job)
{
	sodium_memzero(job, sizeof(struct session_job));
	free(job);
}

/* Fills j and out with a new credential of kind for person: its row
 * (secret hashed) and the text shown once. */
static void session_new_credential(struct session_job *j, uint64_t person,
				   enum session_kind kind, int64_t ttl,
				   struct session_new *out)
{
	uint8_t secret[32];
	char idtext[ID_SIZE];
	char b64[sodium_base64_ENCODED_LEN(
		32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	int64_t now = app_now_ms() / 1000;
	j->out = out;
	j->row.id = store_new_key();
	j->row.person = person;
	snprintf(j->row.kind, sizeof(j->row.kind), "%s",
		 kind == SESSION_TOKEN ? "token" : "session");
	j->row.created_at = j->row.last_used_at = now;
	j->row.expires_at = now + ttl;
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof(secret));
	id_encode(ID_TOKEN, j->row.id, idtext);
	snprintf(out->credential, sizeof(out->credential), "%s%s_%s",
		 session_prefix(kind), idtext + 4, b64);
	sodium_memzero(b64, sizeof(b64));
	crypto_generichash(j->row.secret_hash, 32,
			   (const uint8_t *)out->credential,
			   strlen(out->credential), NULL, 0);
	out->id = j->row.id;
	out->expires_at = j->row.expires_at;
}

enum app_status session_create_begin(struct app *a, uint64_t person,
				     enum session_kind kind,
				     struct session_new *out,
				     struct app_write *w, struct app_error *err)
{
	(void)a; /* nothing to read before the job */
	struct session_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	session_new_credential(j, person, kind,
			       kind == SESSION_TOKEN ? TOKEN_TTL : SESSION_TTL,
			       out);
	*w = (struct app_write){ session_job_run, j, false, session_job_finish,
				 session_job_release };
	return APP_OK;
}

/* An alias token lasts until it is revoked: a password manager that
 * stopped making aliases one day would fail at a sign-up form. */
#define ALIAS_TOKEN_TTL ((int64_t)100 * 365 * 86400)

enum app_status session_alias_token_begin(struct app *a, uint64_t person,
					  const char *name,
					  struct session_new *out,
					  struct app_write *w,
					  struct app_error *err)
{
	(void)a; /* nothing to read before the job */
	size_t n = strlen(name), chars = 0;
	while (n && (*name == ' ' || *name == '\t'))
		name++, n--;
	while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return app_fail(err, APP_INVALID, "name",
					"the name is one line of text");
		chars += ((unsigned char)name[i] & 0xc0) != 0x80;
	}
	struct session_job *j = NULL;
	if (chars == 0 || chars > SESSION_TOKEN_NAME_MAX ||
	    n >= sizeof(j->row.name))
		return app_fail(err, APP_INVALID, "name",
				"the name has 1 to %d characters, such as "
				"\"Bitwarden\"",
				SESSION_TOKEN_NAME_MAX);
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	session_new_credential(j, person, SESSION_TOKEN, ALIAS_TOKEN_TTL, out);
	snprintf(j->row.scope, sizeof(j->row.scope), "%s",
		 SESSION_SCOPE_ALIASES_NAME);
	memcpy(j->row.name, name, n);
	j->row.name[n] = '\0';
	memcpy(out->name, j->row.name, n + 1);
	out->expires_at = 0;
	*w = (struct app_write){ session_job_run, j, false, session_job_finish,
				 session_job_release };
	return APP_OK;
}

struct revoke_job {
	uint64_t person, id;
	int64_t at;
};

static int revoke_run(struct app_tx *t, void *arg)
{
	struct revoke_job *j = arg;
	return store_token_revoke(t->tx, j->person, j->id, false, j->at);
}

static enum app_status revoke_finish(void *job, int rc, struct app_error *err)
{
	(void)job;
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such token");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the revocation could not be recorded");
	return APP_OK;
}

enum app_status session_revoke_begin(struct app *a, uint64_t person,
				     uint64_t id, struct app_write *w,
				     struct app_error *err)
{
	(void)a; /* nothing to read before the job */
	struct revoke_job *j = malloc(sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	*j = (struct revoke_job){ person, id, app_now_ms() / 1000 };
	*w = (struct app_write){ revoke_run, j, false, revoke_finish, free };
	return APP_OK;
}

struct session_listing {
	uint64_t current; /* the caller's own credential */
	int64_t now;
	json_t *items;
	int fault;
};

static int session_item(const struct store_token *t, void *arg)
{
	struct session_listing *l = arg;
	bool session = strcmp(t->kind, "session") == 0;
	int64_t expires_at = t->expires_at;
	char id[ID_SIZE];

	if (session) {
		/* A session also ends when idle: it is listed while it
		 * works, with the sooner of its two ends. */
		if (l->now - t->last_used_at >= SESSION_IDLE)
			return 0;
		if (t->last_used_at + SESSION_IDLE < expires_at)
			expires_at = t->last_used_at + SESSION_IDLE;
	}
	id_encode(ID_TOKEN, t->id, id);
	bool aliases = strcmp(t->scope, SESSION_SCOPE_ALIASES_NAME) == 0;
	json_t *o = json_pack(
		"{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b}", "id", id, "kind",
		session ? "session" : "token", "scope",
		aliases ? SESSION_SCOPE_ALIASES_NAME : "all", "name",
		t->name[0] ? json_string(t->name) : json_null(), "created_at",
		app_time_json(t->created_at), "last_used_at",
		app_time_json(t->last_used_at), "expires_at",
		aliases ? json_null() : app_time_json(expires_at), "current",
		t->id == l->current);
	if (o == NULL || json_array_append_new(l->items, o) != 0) {
		l->fault = 1;
		return 1;
	}
	return 0;
}

enum app_status session_list(struct app *a, uint64_t person, uint64_t current,
			     json_t *items, struct app_error *err)
{
	struct session_listing l = { current, app_now_ms() / 1000, items, 0 };
	int rc = store_token_list(a->reads, person, l.now, session_item, &l);
	if (rc != STORE_OK || l.fault)
		return app_fail(err, APP_FAULT, NULL,
				"the sessions cannot be read");
	return APP_OK;
}

struct session_touch {
	struct app_pending pending; /* in the writer until done */
	uint64_t id;
	int64_t at;
};

static int session_touch_run(struct app_tx *t, void *arg)
{
	struct session_touch *st = arg;
	return store_token_touch(t->tx, st->id, st->at);
}

static void session_touch_done(void *arg, int status)
{
	(void)status; /* best effort: the next request touches again */
	free(arg);
}

enum app_status session_check(struct app *a, const char *credential,
			      enum session_kind kind, uint64_t *person,
			      uint64_t *id, enum session_scope *scope)
{
	char idtext[ID_SIZE];
	uint8_t hash[32];
	uint64_t tid;
	struct store_token t;

	if (!session_looks_like(credential, kind) ||
	    strlen(credential) != 5 + 16 + 1 + 43 || credential[21] != '_')
		return APP_NOT_FOUND;
	snprintf(idtext, sizeof(idtext), "tok_%.16s", credential + 5);
	if (!id_decode(ID_TOKEN, idtext, &tid))
		return APP_NOT_FOUND;
	crypto_generichash(hash, 32, (const uint8_t *)credential,
			   strlen(credential), NULL, 0);
	int rc = store_token_by_id(a->reads, tid, &t);
	if (rc != STORE_OK)
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	int64_t now = app_now_ms() / 1000;
	bool ok = crypto_verify_32(hash, t.secret_hash) == 0;
	ok = ok && t.revoked_at == 0 && now < t.expires_at;
	ok = ok &&
	     strcmp(t.kind, kind == SESSION_TOKEN ? "token" : "session") == 0;
	if (ok && kind == SESSION_COOKIE &&
	    now - t.last_used_at >= SESSION_IDLE)
		ok = false;
	if (!ok)
		return APP_NOT_FOUND;
	/* Last use is kept to the minute (a session's idle time, and what
	 * GET /v1/me/sessions shows of both kinds), written without
	 * waiting. */
	if (now - t.last_used_at >= 60) {
		struct session_touch *st = malloc(sizeof(*st));
		if (st) {
			*st = (struct session_touch){ .id = tid, .at = now };
			if (app_job_start(a, &st->pending, session_touch_run,
					  st, false, session_touch_done,
					  st) != APP_OK)
				free(st);
		}
	}
	*person = t.person;
	if (id)
		*id = tid;
	if (scope)
		*scope = strcmp(t.scope, SESSION_SCOPE_ALIASES_NAME) == 0
				 ? SESSION_SCOPE_ALIASES
				 : SESSION_SCOPE_ALL;
	return APP_OK;
}
