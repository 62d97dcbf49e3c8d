/*
 * own_address.c — a person's own address, strangers to Later (see
 * own_address.h).
 */
#include "app/own_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/ledger.h"
#include "app/person_made.h"
#include "app/sealed.h"
#include "base/domain.h"
#include "base/mailmsg.h"
#include "core/terms.h"
#include "ledger/keys.h"
#include "store/store.h"

static const char *const own_strangers[] = { "later", "refuse" };

/* RFC 2142's mailbox names, and the few more every mail domain keeps for
 * its operator: never a person's own address. */
static const char *const own_reserved[] = {
	"postmaster", "abuse",	   "hostmaster",   "webmaster", "mailer-daemon",
	"noreply",    "no-reply",  "root",	   "admin",	"administrator",
	"info",	      "marketing", "sales",	   "support",	"noc",
	"security",   "usenet",	   "news",	   "www",	"uucp",
	"ftp",	      "list",	   "list-request", "majordomo", "daemon",
};

bool own_address_normal(const char *rcpt, char *out, size_t size)
{
	size_t n = strlen(rcpt);
	if (n >= size)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = rcpt[i] >= 'A' && rcpt[i] <= 'Z'
				 ? (char)(rcpt[i] - 'A' + 'a')
				 : rcpt[i];
	return true;
}

bool own_address_blocks(const char *blocked, const char *from_domain,
			const char *from_org)
{
	json_t *arr = json_loads(blocked ? blocked : "[]", 0, NULL);
	size_t i;
	json_t *v;
	bool is = false;
	json_array_foreach (arr, i, v) {
		const char *d = json_string_value(v);
		if (d && ((from_domain[0] && strcmp(d, from_domain) == 0) ||
			  (from_org[0] && strcmp(d, from_org) == 0))) {
			is = true;
			break;
		}
	}
	json_decref(arr);
	return is;
}

/* Whether s (n bytes) is the 16 characters of an alias's random label
 * (relationship_alias: 80 bits in base32). Any letter or digit counts,
 * so that no spelling of an alias is ever an own address. */
static bool own_alias_label(const char *s, size_t n)
{
	if (n != 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

enum app_status own_address_local_part(const char *in, char out[65],
				       struct app_error *err)
{
	size_t n = in ? strlen(in) : 0;
	if (n == 0 || n > OWN_LOCAL_MAX)
		return app_fail(err, APP_INVALID, "local_part",
				"the part before the @ has 1 to %d characters",
				OWN_LOCAL_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return app_fail(err, APP_INVALID, "local_part",
					"use only letters a to z, digits, "
					"dots, \"-\" and \"_\"");
		out[i] = c;
	}
	out[n] = '\0';
	if (out[0] == '.' || out[n - 1] == '.' || strstr(out, ".."))
		return app_fail(err, APP_INVALID, "local_part",
				"a dot cannot come first, last, or twice in "
				"a row");
	const char *last = strrchr(out, '.');
	last = last ? last + 1 : out;
	if (own_alias_label(last, strlen(last)))
		return app_fail(err, APP_INVALID, "local_part",
				"this has the shape of the aliases cmr makes "
				"(a last part of 16 letters and digits); "
				"choose another");
	if (strncmp(out, "r.", 2) == 0)
		return app_fail(err, APP_INVALID, "local_part",
				"addresses starting with \"r.\" are reply "
				"addresses; choose another");
	if (strncmp(out, MAILMSG_BOUNCES, strlen(MAILMSG_BOUNCES)) == 0)
		return app_fail(err, APP_INVALID, "local_part",
				"\"%s\" is where bounces come back; choose "
				"another",
				out);
	for (size_t i = 0; i < sizeof(own_reserved) / sizeof(*own_reserved);
	     i++)
		if (strcmp(out, own_reserved[i]) == 0)
			return app_fail(err, APP_INVALID, "local_part",
					"\"%s\" is kept for the people who "
					"run this mail domain; choose another",
					out);
	return APP_OK;
}

static json_t *own_view(const struct store_own_address *o)
{
	json_t *blocked = json_loads(o->blocked ? o->blocked : "[]", 0, NULL);
	if (!json_is_array(blocked)) {
		json_decref(blocked);
		blocked = json_array();
	}
	return json_pack("{s:s,s:s,s:s,s:o}", "address", o->address,
			 "local_part", o->local_part, "strangers",
			 own_strangers[o->strangers == OWN_STRANGERS_REFUSE],
			 "blocked", blocked);
}

enum app_status own_address_get(struct app *a, uint64_t person, json_t **out,
				struct app_error *err)
{
	struct store_own_address o;
	*out = NULL;
	int rc = store_own_address_get(a->reads, person, NULL, &o);
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL,
				"you have no address of your own (it is off)");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	*out = own_view(&o);
	store_own_address_clear(&o);
	return *out ? APP_OK : app_fail(err, APP_FAULT, NULL, "out of memory");
}

/* ---- Changes, one job for all ---- */

enum own_op { OWN_PUT, OWN_DELETE, OWN_BLOCK, OWN_UNBLOCK };

struct own_job {
	uint64_t person;
	enum own_op op;
	char local_part[OWN_LOCAL_MAX + 1];
	char address[160];
	char tombstone[KEYS_TOMBSTONE_HEX + 1];
	int strangers;
	char domain[DOMAIN_MAX];
	json_t **out;
	json_t *view;
	int status; /* enum app_status, and why not in `why` */
	const char *why;
	int64_t now_ms;
};

/* The blocked list of cur with j's change made: a new JSON text, or NULL
 * (j->status says why). */
static char *own_blocked_change(struct own_job *j, const char *blocked)
{
	json_t *arr = json_loads(blocked ? blocked : "[]", 0, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		arr = json_array();
	}
	size_t i, at = (size_t)-1;
	json_t *v;
	json_array_foreach (arr, i, v) {
		const char *d = json_string_value(v);
		if (d && strcmp(d, j->domain) == 0)
			at = i;
	}
	char *text = NULL;
	if (j->op == OWN_BLOCK && at != (size_t)-1) {
		j->status = APP_CONFLICT;
		j->why = "this domain is blocked already";
	} else if (j->op == OWN_BLOCK &&
		   json_array_size(arr) >= OWN_BLOCKED_MAX) {
		j->status = APP_CONFLICT;
		j->why = "you have blocked as many domains as you can; lift "
			 "a block first";
	} else if (j->op == OWN_UNBLOCK && at == (size_t)-1) {
		j->status = APP_NOT_FOUND;
		j->why = "this domain is not blocked";
	} else {
		if (j->op == OWN_BLOCK)
			json_array_append_new(arr, json_string(j->domain));
		else
			json_array_remove(arr, at);
		text = json_dumps(arr, JSON_COMPACT);
		if (text == NULL)
			j->status = APP_FAULT;
	}
	json_decref(arr);
	return text;
}

static int own_ledger(struct app_tx *t, struct own_job *j)
{
	json_t *data;
	const char *type;
	if (j->op == OWN_PUT || j->op == OWN_DELETE) {
		type = "address.changed";
		data = j->op == OWN_PUT
			       ? json_pack("{s:b,s:s}", "on", 1, "strangers",
					   own_strangers[j->strangers])
			       : json_pack("{s:b}", "on", 0);
	} else {
		type = j->op == OWN_BLOCK ? "sender.blocked"
					  : "sender.unblocked";
		/* The domain is the person's choice: sealed on the ledger. */
		json_t *clear = json_pack("{s:s}", "domain", j->domain);
		data = clear ? ledger_sealed_data_tx(t, j->person, clear,
						     "domain")
			     : NULL;
		json_decref(clear);
	}
	int rc = data ? ledger_append(t->tx, j->person, "person", type, 0, data,
				      j->now_ms)
		      : STORE_FAULT;
	json_decref(data);
	return rc;
}

static int own_run(struct app_tx *t, void *arg)
{
	struct own_job *j = arg;
	struct store_own_address cur;
	int rc = store_own_address_get(t->reads, j->person, NULL, &cur);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND)
		return rc;
	bool have = rc == STORE_OK;
	if (!have)
		memset(&cur, 0, sizeof(cur));
	j->status = APP_OK;
	if (j->op == OWN_DELETE) {
		if (!have) {
			j->status = APP_NOT_FOUND;
			return STORE_INVALID;
		}
		store_own_address_clear(&cur);
		rc = store_own_address_delete(t->tx, j->person);
		return rc == STORE_OK ? own_ledger(t, j) : rc;
	}
	if (!have && j->op != OWN_PUT) {
		j->status = j->op == OWN_BLOCK ? APP_CONFLICT : APP_NOT_FOUND;
		j->why = j->op == OWN_BLOCK
				 ? "you have no address of your own: turn it "
				   "on first"
				 : "this domain is not blocked";
		return STORE_INVALID;
	}
	struct store_own_address o = cur;
	o.person = j->person;
	if (j->op == OWN_PUT) {
		snprintf(o.address, sizeof(o.address), "%s", j->address);
		snprintf(o.local_part, sizeof(o.local_part), "%s",
			 j->local_part);
		o.strangers = j->strangers;
		snprintf(o.tombstone, sizeof(o.tombstone), "%s", j->tombstone);
		if (!have)
			o.created_at = j->now_ms / 1000;
		o.blocked = have ? cur.blocked : NULL;
	} else {
		o.blocked = own_blocked_change(j, cur.blocked);
		store_own_address_clear(&cur);
		if (o.blocked == NULL)
			return j->status == APP_FAULT ? STORE_FAULT
						      : STORE_INVALID;
	}
	rc = store_own_address_put(t->tx, &o);
	if (rc == STORE_CONFLICT) {
		j->status = APP_CONFLICT;
		j->why = "this address is taken; choose another";
	}
	if (rc == STORE_OK)
		rc = own_ledger(t, j);
	if (rc == STORE_OK && (j->view = own_view(&o)) == NULL)
		rc = STORE_FAULT;
	store_own_address_clear(&o);
	return rc == STORE_CONFLICT ? STORE_INVALID : rc;
}

static enum app_status own_finish(void *job, int rc, struct app_error *err)
{
	struct own_job *j = job;
	if (j->status == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL, "%s",
				j->why ? j->why
				       : "you have no address of your own");
	if (j->status == APP_CONFLICT)
		return app_fail(err, APP_CONFLICT,
				j->op == OWN_PUT ? "local_part" : NULL, "%s",
				j->why);
	if (rc != STORE_OK || j->status != APP_OK)
		return app_fail(err, APP_FAULT, NULL,
				"your address could not be changed; try "
				"again");
	if (j->out) {
		*j->out = j->view;
		j->view = NULL;
	}
	return APP_OK;
}

static void own_release(void *job)
{
	struct own_job *j = job;
	json_decref(j->view);
	free(j);
}

static enum app_status own_begin(struct own_job *j, struct app_write *w)
{
	j->now_ms = app_now_ms();
	*w = (struct app_write){ own_run, j, false, own_finish, own_release };
	return APP_OK;
}

static struct own_job *own_job_new(uint64_t person, enum own_op op,
				   json_t **out, struct app_error *err)
{
	struct own_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		app_fail(err, APP_FAULT, NULL, "out of memory");
		return NULL;
	}
	j->person = person;
	j->op = op;
	j->out = out;
	if (out)
		*out = NULL;
	return j;
}

enum app_status own_address_put_begin(struct app *a, uint64_t person,
				      const json_t *body, json_t **out,
				      int *err_kind, struct app_write *w,
				      struct app_error *err)
{
	char local[OWN_LOCAL_MAX + 1];
	int strangers = OWN_STRANGERS_LATER;
	*err_kind = TERMS_ERR_TYPE; /* the body's shape: 400 */
	if (!json_is_object(body))
		return app_fail(err, APP_INVALID, "",
				"the body is a JSON object: {\"local_part\", "
				"\"strangers\"}");
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)body, key, v) {
		if (strcmp(key, "local_part") && strcmp(key, "strangers"))
			return app_fail(err, APP_INVALID, key,
					"unknown key; your address has "
					"\"local_part\" and \"strangers\"");
	}
	const json_t *lp = json_object_get(body, "local_part");
	if (!json_is_string(lp))
		return app_fail(err, APP_INVALID, "local_part",
				"the part before the @ is needed, as a "
				"string such as \"ana.lima\"");
	*err_kind = TERMS_ERR_VALUE; /* its values: 422 */
	if (strlen(json_string_value(lp)) != json_string_length(lp))
		return app_fail(err, APP_INVALID, "local_part",
				"use only letters a to z, digits, dots, "
				"\"-\" and \"_\"");
	int rc = own_address_local_part(json_string_value(lp), local, err);
	if (rc != APP_OK)
		return rc;
	const json_t *sv = json_object_get(body, "strangers");
	if (sv != NULL) {
		const char *s = json_string_value(sv);
		if (s && strcmp(s, "later") == 0)
			strangers = OWN_STRANGERS_LATER;
		else if (s && strcmp(s, "refuse") == 0)
			strangers = OWN_STRANGERS_REFUSE;
		else
			return app_fail(err, APP_INVALID, "strangers",
					"strangers is \"later\" (their mail "
					"lands in Later) or \"refuse\"");
	}
	struct store_person sp;
	rc = store_person_get(a->reads, person, NULL, &sp);
	if (rc != STORE_OK)
		return app_fail(
			err, rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT,
			NULL, "your account cannot be read");
	bool handle = strcasecmp(sp.handle, local) == 0;
	store_person_clear(&sp);
	if (handle)
		return app_fail(err, APP_INVALID, "local_part",
				"this is the name you log in with; choose "
				"another, so that your address does not give "
				"it away");
	struct own_job *j = own_job_new(person, OWN_PUT, out, err);
	if (j == NULL)
		return APP_FAULT;
	snprintf(j->local_part, sizeof(j->local_part), "%s", local);
	/* An erased person's address stays theirs too: its tombstone. */
	int len = snprintf(j->address, sizeof(j->address), "%s@%s", local,
			   a->cfg.alias_domain);
	if (len < 0 || (size_t)len >= sizeof(j->address)) {
		free(j);
		return app_fail(err, APP_INVALID, "local_part",
				"the address would be too long; choose a "
				"shorter part before the @");
	}
	if (keys_tombstone(a->keys, "alias", j->address, (size_t)len,
			   j->tombstone) != 0) {
		free(j);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	j->strangers = strangers;
	return own_begin(j, w);
}

enum app_status own_address_delete_begin(struct app *a, uint64_t person,
					 struct app_write *w,
					 struct app_error *err)
{
	(void)a; /* the job reads what it needs */
	struct own_job *j = own_job_new(person, OWN_DELETE, NULL, err);
	return j ? own_begin(j, w) : APP_FAULT;
}

enum app_status own_address_sender(const char *headers, size_t len,
				   char org[DOMAIN_MAX],
				   char domain[DOMAIN_MAX], char *name,
				   size_t name_size)
{
	if (headers == NULL)
		return APP_CONFLICT;
	struct mailmsg *mm = calloc(1, sizeof(*mm));
	if (mm == NULL)
		return APP_FAULT;
	if (!mailmsg_parse(headers, len, mm) || mm->from_domain[0] == '\0' ||
	    !domain_valid(mm->from_domain) ||
	    !domain_org(mm->from_domain, org, DOMAIN_MAX)) {
		free(mm);
		return APP_CONFLICT;
	}
	snprintf(domain, DOMAIN_MAX, "%s", mm->from_domain);
	/* One line of text, at most PERSON_MADE_NAME_MAX characters. */
	size_t n = 0, chars = 0;
	for (const char *p = mm->from_name; *p && n + 1 < name_size; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c & 0xc0) != 0x80 && chars == PERSON_MADE_NAME_MAX)
			break;
		chars += (c & 0xc0) != 0x80;
		name[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	while (n && name[n - 1] == ' ')
		n--;
	name[n] = '\0';
	free(mm);
	return APP_OK;
}

/* The sender of the person's stranger message `message`: its From
 * domain's organizational domain in org, its display name (cleaned; ""
 * for none) in name. */
static enum app_status
own_stranger_sender(struct app *a, uint64_t person, uint64_t message,
		    char org[DOMAIN_MAX], char domain[DOMAIN_MAX], char *name,
		    size_t name_size, struct app_error *err)
{
	struct store_message m;
	int rc = sealed_message(a->reads, a->keys, message, &m);
	if (rc == APP_FAULT)
		return app_fail(err, APP_FAULT, NULL,
				"the message cannot be opened");
	bool stranger = rc == APP_OK && m.person == person &&
			m.relationship == 0 && m.brand == 0 && !m.removed;
	if (!stranger) {
		if (rc == APP_OK)
			sealed_message_clear(&m);
		return app_fail(err, APP_NOT_FOUND, NULL,
				"no such message from a stranger");
	}
	rc = own_address_sender(m.headers, m.headers_len, org, domain, name,
				name_size);
	sealed_message_clear(&m);
	if (rc != APP_OK)
		return app_fail(err, rc, NULL,
				rc == APP_FAULT
					? "out of memory"
					: "this message names no sender domain "
					  "that can be kept or blocked");
	return APP_OK;
}

enum app_status own_address_block_begin(struct app *a, uint64_t person,
					uint64_t message, json_t **out,
					struct app_write *w,
					struct app_error *err)
{
	char org[DOMAIN_MAX], domain[DOMAIN_MAX], name[8];
	int rc = own_stranger_sender(a, person, message, org, domain, name,
				     sizeof(name), err);
	if (rc != APP_OK)
		return rc;
	struct own_job *j = own_job_new(person, OWN_BLOCK, out, err);
	if (j == NULL)
		return APP_FAULT;
	snprintf(j->domain, sizeof(j->domain), "%s", org);
	return own_begin(j, w);
}

enum app_status own_address_unblock_begin(struct app *a, uint64_t person,
					  const char *domain, json_t **out,
					  struct app_write *w,
					  struct app_error *err)
{
	(void)a;
	char d[DOMAIN_MAX];
	if (!own_address_normal(domain, d, sizeof(d)))
		return app_fail(err, APP_NOT_FOUND, NULL,
				"this domain is not blocked");
	struct own_job *j = own_job_new(person, OWN_UNBLOCK, out, err);
	if (j == NULL)
		return APP_FAULT;
	snprintf(j->domain, sizeof(j->domain), "%s", d);
	return own_begin(j, w);
}

struct own_known {
	const char *domain, *org;
	bool found;
};

static int own_known_one(const struct store_relationship *r, void *arg)
{
	struct own_known *k = arg;
	if (r->brand == 0 &&
	    person_made_sender_is(r->domains, k->domain, k->org)) {
		k->found = true;
		return 1;
	}
	return 0;
}

enum app_status own_address_keep_begin(struct app *a, uint64_t person,
				       uint64_t message, struct accepted *out,
				       int *err_kind, struct app_write *w,
				       struct app_error *err)
{
	char org[DOMAIN_MAX], domain[DOMAIN_MAX];
	char name[PERSON_MADE_NAME_MAX * 4 + 1];
	*err_kind = 0;
	int rc = own_stranger_sender(a, person, message, org, domain, name,
				     sizeof(name), err);
	if (rc != APP_OK)
		return rc;
	struct own_known k = { domain, org, false };
	if (store_relationship_list(
		    a->reads,
		    &(struct store_relationship_filter){ .person = person,
							 .open = true,
							 .limit = INT32_MAX },
		    own_known_one, &k) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	if (k.found)
		return app_fail(err, APP_CONFLICT, NULL,
				"you already have a relationship with %s", org);
	json_t *body = json_pack("{s:{s:s,s:[s]}}", "brand", "name",
				 name[0] ? name : org, "domains", org);
	if (body == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	rc = person_made_create_begin(a, person, body, out, err_kind, w, err);
	json_decref(body);
	return rc;
}
