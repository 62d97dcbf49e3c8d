/*
 * person_made.c — relationships a person makes for a brand not on cmr
 * (see person_made.h).
 */
#include "app/person_made.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/ledger.h"
#include "app/relationship_draft.h"
#include "base/domain.h"
#include "core/channel.h"
#include "store/store.h"

void person_made_ask(struct terms_ask *ask)
{
	terms_person_made_ask(ask);
}

json_t *person_made_default_terms(struct app *a, uint64_t person)
{
	struct store_person p;
	struct global_terms *g = NULL;
	json_t *out = NULL;
	int rc = store_person_get(a->reads, person, NULL, &p);
	if (rc != STORE_OK)
		return NULL;
	json_t *stored =
		json_loads(p.global_terms ? p.global_terms : "{}", 0, NULL);
	store_person_clear(&p);
	g = malloc(sizeof(*g)); /* large: its terms' tables */
	if (stored && g && global_terms_parse(stored, g, NULL) == 0) {
		out = g->person_made_set
			      ? terms_to_json(&g->person_made)
			      : json_pack("{s:{s:{s:b}}}", "channels", "email",
					  "allowed", 1);
	}
	free(g);
	json_decref(stored);
	return out;
}

bool person_made_sender_is(const char *domains, const char *from_domain,
			   const char *from_org)
{
	json_t *arr = json_loads(domains ? domains : "[]", 0, NULL);
	size_t i;
	json_t *v;
	bool is = false;
	json_array_foreach (arr, i, v) {
		const char *d = json_string_value(v);
		char org[DOMAIN_MAX];
		if (d == NULL)
			continue;
		if (strcmp(d, from_domain) == 0 ||
		    (from_org[0] && domain_org(d, org, sizeof(org)) &&
		     strcmp(org, from_org) == 0)) {
			is = true;
			break;
		}
	}
	json_decref(arr);
	return is;
}

/* The brand's name, trimmed: 1..PERSON_MADE_NAME_MAX characters of
 * UTF-8 text without control characters. */
static enum app_status person_made_name(const json_t *v, char *out, size_t size,
					struct app_error *err)
{
	if (!json_is_string(v))
		return app_fail(err, APP_INVALID, "brand.name",
				"the brand's name is needed, as a string");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return app_fail(err, APP_INVALID, "brand.name",
					"the brand's name is one line of "
					"text");
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	if (chars == 0 || chars > PERSON_MADE_NAME_MAX || n >= size ||
	    n > STORE_NAME_MAX)
		return app_fail(err, APP_INVALID, "brand.name",
				"the brand's name has 1 to %d characters",
				PERSON_MADE_NAME_MAX);
	memcpy(out, s, n);
	out[n] = '\0';
	return APP_OK;
}

/* The domains the brand mails from: 1..PERSON_MADE_DOMAINS_MAX domain
 * names that have an organizational domain (not "com", not "co.uk"),
 * lower case, each once; as a JSON array in *out. */
static enum app_status person_made_domains(const json_t *v, json_t **out,
					   struct app_error *err)
{
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > PERSON_MADE_DOMAINS_MAX)
		return app_fail(err, APP_INVALID, "brand.domains",
				"the domains the brand mails from are needed: "
				"an array of 1 to %d domain names, such as "
				"[\"shop.example\"]",
				PERSON_MADE_DOMAINS_MAX);
	json_t *arr = json_array();
	size_t i;
	json_t *d;
	json_array_foreach (v, i, d) {
		char field[48], name[DOMAIN_MAX], org[DOMAIN_MAX];
		snprintf(field, sizeof(field), "brand.domains[%zu]", i);
		const char *s = json_string_value(d);
		size_t n = json_string_length(d);
		if (s && n && s[n - 1] == '.')
			n--; /* "shop.example." is shop.example */
		if (s == NULL || n == 0 || n >= sizeof(name)) {
			json_decref(arr);
			return app_fail(err, APP_INVALID, field,
					"a domain name is a string such as "
					"\"shop.example\"");
		}
		for (size_t k = 0; k < n; k++)
			name[k] = s[k] >= 'A' && s[k] <= 'Z'
					  ? (char)(s[k] - 'A' + 'a')
					  : s[k];
		name[n] = '\0';
		if (!domain_valid(name)) {
			json_decref(arr);
			return app_fail(err, APP_INVALID, field,
					"\"%s\" is not a domain name (letters, "
					"digits, \"-\" and dots; an "
					"internationalized name in its "
					"xn-- form)",
					name);
		}
		if (!domain_org(name, org, sizeof(org))) {
			json_decref(arr);
			return app_fail(err, APP_INVALID, field,
					"\"%s\" is a public suffix that many "
					"owners share; name the brand's own "
					"domain, such as \"shop.%s\"",
					name, name);
		}
		bool seen = false;
		size_t k;
		json_t *prev;
		json_array_foreach (arr, k, prev) {
			seen = seen ||
			       strcmp(json_string_value(prev), name) == 0;
		}
		if (!seen)
			json_array_append_new(arr, json_string(name));
	}
	*out = arr;
	return APP_OK;
}

struct made_job {
	struct accepted *out;
	struct store_relationship r;
	char *folders;
	json_t *ledger_data;
	int64_t now_ms;
};

static int made_run(struct app_tx *t, void *arg)
{
	struct made_job *j = arg;
	int rc = store_relationship_insert(t->tx, &j->r);
	if (rc == STORE_OK && j->folders)
		rc = relationship_folders_tx(t->tx, j->r.person, j->folders);
	/* The brand the person named is theirs: sealed on the ledger too. */
	json_t *data = NULL;
	if (rc == STORE_OK &&
	    (data = ledger_sealed_data_tx(t, j->r.person, j->ledger_data,
					  "brand")) == NULL)
		rc = STORE_FAULT;
	if (rc == STORE_OK)
		rc = ledger_append(t->tx, j->r.person, "person",
				   "relationship.accepted", j->r.id, data,
				   j->now_ms);
	json_decref(data);
	return rc;
}

static enum app_status made_finish(void *job, int rc, struct app_error *err)
{
	struct made_job *j = job;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the relationship could not be recorded");
	j->out->relationship = j->r.id;
	snprintf(j->out->alias, sizeof(j->out->alias), "%s", j->r.alias);
	return APP_OK;
}

static void made_release(void *job)
{
	struct made_job *j = job;
	json_decref(j->ledger_data);
	free(j->folders);
	store_relationship_clear(&j->r);
	free(j);
}

enum app_status person_made_create_begin(struct app *a, uint64_t person,
					 const json_t *body,
					 struct accepted *out, int *err_kind,
					 struct app_write *w,
					 struct app_error *err)
{
	char name[PERSON_MADE_NAME_MAX * 4 + 1];
	json_t *domains = NULL, *defaults = NULL;
	struct terms_ask ask;
	struct relationship_draft d;

	*err_kind = TERMS_ERR_VALUE;
	if (!json_is_object(body))
		return app_fail(err, APP_INVALID, "",
				"the body is a JSON object: {\"brand\": "
				"{\"name\", \"domains\"}, \"terms\"}");
	const json_t *brand = json_object_get(body, "brand");
	if (!json_is_object(brand))
		return app_fail(err, APP_INVALID, "brand",
				"the brand is needed: {\"name\": \"Shop\", "
				"\"domains\": [\"shop.example\"]}");
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)body, key, v) {
		if (strcmp(key, "brand") && strcmp(key, "terms"))
			return app_fail(err, APP_INVALID, key,
					"unknown key; a relationship you make "
					"has \"brand\" and \"terms\"");
	}
	json_object_foreach ((json_t *)brand, key, v) {
		if (strcmp(key, "name") && strcmp(key, "domains")) {
			char field[80];
			snprintf(field, sizeof(field), "brand.%.60s", key);
			return app_fail(err, APP_INVALID, field,
					"unknown key; the brand has \"name\" "
					"and \"domains\"");
		}
	}
	int rc = person_made_name(json_object_get(brand, "name"), name,
				  sizeof(name), err);
	if (rc == APP_OK)
		rc = person_made_domains(json_object_get(brand, "domains"),
					 &domains, err);
	if (rc != APP_OK)
		return rc;
	const json_t *terms = json_object_get(body, "terms");
	if (terms == NULL) {
		defaults = person_made_default_terms(a, person);
		if (defaults == NULL) {
			json_decref(domains);
			return app_fail(err, APP_FAULT, NULL,
					"your default terms cannot be read");
		}
		terms = defaults;
	}
	person_made_ask(&ask);
	rc = relationship_draft(a, person, &ask, terms, name, &d, err_kind,
				err);
	json_decref(defaults);
	if (rc != APP_OK) {
		json_decref(domains);
		return rc;
	}
	d.r.person_made = true;
	d.r.brand_name = strdup(name);
	d.r.domains = json_dumps(domains, JSON_COMPACT);
	/* The ledger records the brand the person named with what they
	 * granted. */
	json_object_set_new(d.grant, "made_by", json_string("person"));
	json_object_set_new(
		d.grant, "brand",
		json_pack("{s:s,s:O}", "name", name, "domains", domains));
	json_decref(domains);
	struct made_job *j = calloc(1, sizeof(*j));
	if (j == NULL || d.r.brand_name == NULL || d.r.domains == NULL) {
		free(j);
		relationship_draft_clear(&d);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	j->out = out;
	j->r = d.r; /* the job owns the draft from here */
	j->folders = d.folders;
	j->ledger_data = d.grant;
	j->now_ms = app_now_ms();
	*w = (struct app_write){ made_run, j, true, made_finish, made_release };
	return APP_OK;
}

/* The host of a site as a password manager names it ("shop.example",
 * "shop.example:443", "https://user@www.shop.example:8443/sign-up?x"),
 * lower case, without a trailing dot, into out; false for none. */
static bool person_made_site_host(const char *site, char *out, size_t size)
{
	const char *s = site, *scheme = strstr(site, "://");
	if (scheme)
		s = scheme + 3;
	size_t n = strcspn(s, "/?#");
	const char *at = memchr(s, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if (n && s[0] == '[')
		return false; /* an IPv6 address */
	const char *colon = memchr(s, ':', n);
	if (colon)
		n = (size_t)(colon - s);
	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a')
						    : s[i];
	out[n] = '\0';
	return true;
}

enum app_status person_made_site_begin(struct app *a, uint64_t person,
				       const char *site, char *domain,
				       struct accepted *out,
				       struct app_write *w,
				       struct app_error *err)
{
	char host[DOMAIN_MAX];
	if (site == NULL || !person_made_site_host(site, host, sizeof(host)) ||
	    !domain_valid(host))
		return app_fail(err, APP_INVALID, "hostname",
				"the site's host name is needed, such as "
				"\"shop.example\"");
	const char *last = strrchr(host, '.');
	bool numeric = last && last[1] >= '0' && last[1] <= '9';
	if (numeric || !domain_org(host, domain, DOMAIN_MAX))
		return app_fail(err, APP_INVALID, "hostname",
				"\"%s\" is not a site's own domain (an "
				"address, or a suffix many owners share); "
				"make the alias from the shop's page",
				host);
	json_t *body = json_pack("{s:{s:s,s:[s]}}", "brand", "name", domain,
				 "domains", domain);
	if (body == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	int kind;
	int rc = person_made_create_begin(a, person, body, out, &kind, w, err);
	json_decref(body);
	return rc;
}
