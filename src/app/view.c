/*
 * view.c — the two sides' views of a relationship (see view.h).
 */
#include "app/view.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/ledger.h"
#include "app/relationship.h"
#include "base/log.h"
#include "core/gate.h"
#include "core/id.h"
#include "core/terms.h"
#include "store/store.h"

/* Which relationships had their day's first read recorded, so that later
 * reads that day only count in memory; view_flush_reads writes the counts
 * (the scheduler calls it every second). A small direct-mapped table: a
 * miss only costs a wait on the writer, never a wrong answer, because the
 * store's counter decides what "first" is; a slot taken over by another
 * relationship hands its pending count to the writer first. */
#define VIEW_READ_SLOTS 4096
struct view_slot {
	uint64_t rel, person;
	int64_t day;
	int64_t pending; /* reads counted here, not yet in the store */
};
static struct {
	pthread_mutex_t lock;
	struct view_slot slot[VIEW_READ_SLOTS];
	struct view_slot *evicted; /* counts of slots taken over, to flush */
	size_t n_evicted, cap_evicted;
} view_reads = { PTHREAD_MUTEX_INITIALIZER, { { 0, 0, 0, 0 } }, NULL, 0, 0 };

static size_t view_slot_of(uint64_t rel)
{
	return (size_t)(rel * 0x9e3779b97f4a7c15ULL >> 52) % VIEW_READ_SLOTS;
}

/* Counts a read when the day's first is on record already. */
static bool view_read_known(uint64_t rel, int64_t day)
{
	struct view_slot *s = &view_reads.slot[view_slot_of(rel)];
	pthread_mutex_lock(&view_reads.lock);
	bool known = s->rel == rel && s->day == day;
	if (known)
		s->pending++;
	pthread_mutex_unlock(&view_reads.lock);
	return known;
}

struct read_batch {
	struct app_pending pending; /* in the writer until done */
	struct view_slot *items;
	size_t n;
};

static int read_batch_run(struct app_tx *t, void *arg)
{
	struct read_batch *b = arg;
	for (size_t i = 0; i < b->n; i++) {
		bool first;
		int rc = store_field_read(t->tx, b->items[i].rel,
					  b->items[i].person, b->items[i].day,
					  b->items[i].pending, &first);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static void read_batch_done(void *arg, int status)
{
	struct read_batch *b = arg;
	(void)status; /* counts are best effort; the first read is durable */
	free(b->items);
	free(b);
}

/* Takes the slot for (rel, day) once the day's first read is on record.
 * A slot taken over from another relationship keeps its pending count
 * aside, for the next flush. */
static void view_read_remember(uint64_t rel, uint64_t person, int64_t day)
{
	struct view_slot *s = &view_reads.slot[view_slot_of(rel)];
	pthread_mutex_lock(&view_reads.lock);
	if (s->pending > 0 && (s->rel != rel || s->day != day)) {
		if (view_reads.n_evicted == view_reads.cap_evicted) {
			size_t cap = view_reads.cap_evicted
					     ? 2 * view_reads.cap_evicted
					     : 64;
			struct view_slot *e =
				realloc(view_reads.evicted, cap * sizeof(*e));
			if (e) {
				view_reads.evicted = e;
				view_reads.cap_evicted = cap;
			}
		}
		if (view_reads.n_evicted < view_reads.cap_evicted)
			view_reads.evicted[view_reads.n_evicted++] = *s;
		else
			log_warn("view: out of memory: %lld read(s) of a "
				 "relationship not counted",
				 (long long)s->pending);
	}
	*s = (struct view_slot){ rel, person, day, 0 };
	pthread_mutex_unlock(&view_reads.lock);
}

void view_flush_reads(struct app *a)
{
	struct read_batch *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return;
	pthread_mutex_lock(&view_reads.lock);
	size_t n = view_reads.n_evicted;
	for (size_t i = 0; i < VIEW_READ_SLOTS; i++)
		n += view_reads.slot[i].pending > 0;
	b->items = n ? malloc(n * sizeof(*b->items)) : NULL;
	if (b->items) {
		for (size_t i = 0; i < view_reads.n_evicted; i++)
			b->items[b->n++] = view_reads.evicted[i];
		view_reads.n_evicted = 0;
	}
	for (size_t i = 0; b->items && i < VIEW_READ_SLOTS; i++)
		if (view_reads.slot[i].pending > 0) {
			b->items[b->n++] = view_reads.slot[i];
			view_reads.slot[i].pending = 0;
		}
	pthread_mutex_unlock(&view_reads.lock);
	if (b->n == 0 || app_job_start(a, &b->pending, read_batch_run, b, false,
				       read_batch_done, b) != APP_OK)
		read_batch_done(b, STORE_FAULT);
}

enum app_status view_profile(struct app *a, uint64_t person, json_t **out)
{
	uint8_t wrapped[96], dk[KEYS_DATA_KEY_BYTES];
	size_t wrapped_len;
	char *sealed = NULL;
	int rc = store_person_profile(a->reads, person, wrapped, &wrapped_len,
				      &sealed);
	if (rc != STORE_OK)
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	if (sealed == NULL) {
		*out = json_object();
		return *out ? APP_OK : APP_FAULT;
	}
	if (keys_unwrap(a->keys, wrapped, wrapped_len, dk) != 0) {
		free(sealed);
		return APP_FAULT;
	}
	char *plain = NULL;
	size_t len = 0;
	rc = keys_open(dk, sealed, &plain, &len);
	sodium_memzero(dk, sizeof(dk));
	free(sealed);
	if (rc != 0)
		return APP_FAULT;
	*out = json_loadb(plain, len, 0, NULL);
	keys_free_plain(plain, len);
	return *out ? APP_OK : APP_FAULT;
}

static json_t *view_terms_for_brand(const json_t *terms)
{
	json_t *v = json_object();
	json_t *chans = json_object();
	const char *name;
	json_t *c;
	json_object_foreach (json_object_get(terms, "channels"), name, c) {
		if (!json_is_true(json_object_get(c, "allowed")))
			continue;
		json_t *o = json_pack("{s:b}", "allowed", 1);
		json_t *cap = json_object_get(c, "cap");
		if (cap)
			json_object_set(o, "cap", cap);
		json_object_set_new(chans, name, o);
	}
	json_object_set_new(v, "channels", chans);
	/* After erasure the terms are gone ({}): what is left grants
	 * nothing, in the documented shape (no topics, the base
	 * agreement). */
	const char *keep[] = { "topics", "exempt_topics", "expires_at",
			       "agreement" };
	json_t *none[] = { json_array(), json_array(), json_null(),
			   json_string(terms_agreements[0]) };
	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++) {
		json_t *x = json_object_get(terms, keep[i]);
		json_object_set(v, keep[i], x ? x : none[i]);
		json_decref(none[i]);
	}
	return v;
}

json_t *view_brand_item(const struct store_relationship *r)
{
	char id[ID_SIZE];
	id_encode(ID_RELATIONSHIP, r->id, id);
	json_t *terms = json_loads(r->terms, 0, NULL);
	json_t *o =
		json_pack("{s:s,s:s,s:s,s:o}", "id", id, "alias", r->alias,
			  "state", r->state == REL_ENDED ? "ended" : "active",
			  "terms", view_terms_for_brand(terms));
	json_decref(terms);
	return o;
}

struct read_job {
	uint64_t rel, person;
	int64_t day, now_ms;
	json_t *data;
	bool first;
};

static int read_job_run(struct app_tx *t, void *arg)
{
	struct read_job *j = arg;
	int rc = store_field_read(t->tx, j->rel, j->person, j->day, 1,
				  &j->first);
	if (rc == STORE_OK && j->first)
		rc = ledger_append(t->tx, j->person, "brand", "fields.read",
				   j->rel, j->data, j->now_ms);
	return rc;
}

static void read_job_done(void *arg, int status)
{
	struct read_job *j = arg;
	(void)status;
	json_decref(j->data);
	free(j);
}

static enum app_status read_finish(void *job, int rc, struct app_error *err)
{
	struct read_job *j = job;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the read could not be recorded");
	view_read_remember(j->rel, j->person, j->day);
	return APP_OK;
}

static void read_release(void *job)
{
	read_job_done(job, STORE_OK);
}

enum app_status view_brand_relationship(struct app *a, uint64_t brand,
					uint64_t rel, bool may_block,
					json_t **out, struct app_error *err)
{
	return view_brand_relationship_ex(a, brand, rel, may_block, NULL, out,
					  err);
}

enum app_status view_brand_relationship_ex(struct app *a, uint64_t brand,
					   uint64_t rel, bool may_block,
					   struct app_write *later,
					   json_t **out, struct app_error *err)
{
	struct store_relationship r;
	int rc = relationship_of(a, APP_BRAND(brand), rel, &r, err);
	if (rc != APP_OK)
		return rc;
	json_t *view = view_brand_item(&r);
	json_t *fields = json_object(), *names = json_array();
	json_t *terms = json_loads(r.terms, 0, NULL);
	json_t *granted = json_object_get(terms, "fields");
	json_t *profile = NULL;
	/* Past its expiry a consent grants nothing, the fields included. */
	int64_t expires = 0;
	json_t *exp = json_object_get(terms, "expires_at");
	bool lapsed = json_is_string(exp) &&
		      app_time_parse(json_string_value(exp), &expires) &&
		      app_now_ms() / 1000 >= expires;
	if (lapsed)
		granted = NULL;
	if (r.state != REL_ENDED && json_array_size(granted) > 0 &&
	    view_profile(a, r.person, &profile) != APP_OK) {
		json_decref(view);
		json_decref(fields);
		json_decref(names);
		json_decref(terms);
		store_relationship_clear(&r);
		return app_fail(err, APP_FAULT, NULL,
				"the person's fields cannot be read");
	}
	size_t i;
	json_t *f;
	json_array_foreach (granted, i, f) {
		const char *name = json_string_value(f);
		if (name == NULL || r.state == REL_ENDED)
			continue;
		if (strcmp(name, "email") == 0) {
			json_object_set_new(fields, name, json_string(r.alias));
		} else {
			json_t *v = json_object_get(profile, name);
			if (v == NULL)
				continue;
			json_object_set(fields, name, v);
		}
		json_array_append_new(names, json_string(name));
	}
	json_decref(profile);
	json_decref(terms);
	json_object_set_new(view, "fields", fields);
	if (json_array_size(names) == 0) {
		/* Nothing of the person was read (nothing granted, ended or
		 * lapsed): nothing to put on their ledger. */
		json_decref(names);
		store_relationship_clear(&r);
		*out = view;
		return APP_OK;
	}

	/* Every read is counted; the day's first is on the ledger, durable
	 * before the brand sees anything. */
	int64_t now_ms = app_now_ms();
	struct read_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		json_decref(view);
		json_decref(names);
		store_relationship_clear(&r);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	*j = (struct read_job){ r.id,
				r.person,
				now_ms / 86400000,
				now_ms,
				json_pack("{s:o}", "fields", names),
				false };
	store_relationship_clear(&r);
	if (view_read_known(j->rel, j->day)) {
		read_job_done(j, STORE_OK);
	} else if (!may_block && later) {
		/* The caller writes the first read, then shows the view. */
		*later = (struct app_write){ read_job_run, j, false,
					     read_finish, read_release };
		*out = view;
		return APP_WOULD_BLOCK;
	} else if (!may_block) {
		read_job_done(j, STORE_OK);
		json_decref(view);
		return APP_WOULD_BLOCK;
	} else {
		rc = app_job_run(a, read_job_run, j, false);
		if (rc == STORE_OK)
			view_read_remember(j->rel, j->person, j->day);
		read_job_done(j, rc);
		if (rc != STORE_OK) {
			json_decref(view);
			return app_fail(err, APP_FAULT, NULL,
					"the read could not be recorded");
		}
	}
	*out = view;
	return APP_OK;
}

json_t *view_brand_ref(struct app *a, uint64_t brand, json_t *seen)
{
	char brd[ID_SIZE];
	struct store_brand b;
	id_encode(ID_BRAND, brand, brd);
	json_t *o = seen ? json_object_get(seen, brd) : NULL;
	if (o)
		return json_incref(o);
	if (store_brand_get(a->reads, brand, NULL, &b) != STORE_OK)
		return NULL;
	o = json_pack("{s:s,s:s}", "id", brd, "name", b.name);
	store_brand_clear(&b);
	if (o && seen)
		json_object_set(seen, brd, o);
	return o;
}

/* A member of the brand's controller details (`cmr brand add`), or null. */
static json_t *view_controller(const json_t *controller, const char *key)
{
	json_t *v = json_object_get(controller, key);
	return json_is_string(v) ? json_incref(v) : json_null();
}

json_t *view_brand_card(struct app *a, uint64_t brand)
{
	char brd[ID_SIZE];
	struct store_brand b;
	id_encode(ID_BRAND, brand, brd);
	if (store_brand_get(a->reads, brand, NULL, &b) != STORE_OK)
		return NULL;
	json_t *ctl = json_loads(b.controller, 0, NULL);
	json_t *domains = json_loads(b.domains, 0, NULL);
	json_t *o =
		json_pack("{s:s,s:s,s:o,s:o,s:{s:o,s:o,s:o,s:o,s:o}}", "id",
			  brd, "name", b.name, "domains",
			  json_is_array(domains) ? domains : json_array(),
			  "policy_url", view_controller(ctl, "policy_url"),
			  "contact", "name", view_controller(ctl, "contact"),
			  "email", view_controller(ctl, "email"), "phone",
			  view_controller(ctl, "phone"), "address",
			  view_controller(ctl, "address"), "url",
			  view_controller(ctl, "url"));
	if (!json_is_array(domains))
		json_decref(domains);
	json_decref(ctl);
	store_brand_clear(&b);
	return o;
}

json_t *view_person_relationship(struct app *a,
				 const struct store_relationship *r)
{
	char id[ID_SIZE];
	struct store_proposal p;
	static const char *const states[] = { "active", "muted", "ended" };
	id_encode(ID_RELATIONSHIP, r->id, id);
	/* The value the brand offered, from the proposal it was made of. */
	int rc = store_proposal_by_id(a->reads, r->proposal, &p);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND)
		return NULL;
	json_t *value = rc == STORE_OK ? json_string(p.value) : json_null();
	if (rc == STORE_OK)
		store_proposal_clear(&p);
	json_t *brand = r->brand ? view_brand_card(a, r->brand)
				 : view_person_made_card(r);
	if (brand == NULL) {
		json_decref(value);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:o}", "id", id,
			 "brand", brand, "value", value, "alias", r->alias,
			 "state",
			 states[r->state >= 0 && r->state <= 2 ? r->state : 0],
			 "made_by", r->person_made ? "person" : "brand",
			 "terms", json_loads(r->terms, 0, NULL), "created_at",
			 app_time_json(r->created_at), "ended_at",
			 app_time_json(r->ended_at));
}

json_t *view_person_made_card(const struct store_relationship *r)
{
	json_t *domains = json_loads(r->domains ? r->domains : "[]", 0, NULL);
	if (!json_is_array(domains)) {
		json_decref(domains);
		domains = json_array();
	}
	return json_pack("{s:n,s:s,s:o,s:n,s:{s:n,s:n,s:n,s:n,s:n}}", "id",
			 "name", r->brand_name ? r->brand_name : "", "domains",
			 domains, "policy_url", "contact", "name", "email",
			 "phone", "address", "url");
}

/* Rendered brand views, reused while nothing they show has changed: the
 * key is a hash of everything the view is made of (the relationship's id,
 * state, alias and terms, and the person's sealed profile), so a change
 * to any of them is a new key. Direct-mapped; a collision only costs a
 * render. */
#define VIEW_CACHE_SLOTS 2048
static struct {
	pthread_mutex_t lock;
	struct {
		uint8_t key[16];
		char *text;
	} slot[VIEW_CACHE_SLOTS];
} view_cache = { PTHREAD_MUTEX_INITIALIZER, { { { 0 }, NULL } } };

static void view_key(const struct store_relationship *r, const char *sealed,
		     uint8_t key[16])
{
	crypto_generichash_state st;
	uint8_t head[16];
	memcpy(head, &r->id, 8);
	memcpy(head + 8, &r->state, sizeof(int) < 8 ? sizeof(int) : 8);
	crypto_generichash_init(&st, NULL, 0, 16);
	crypto_generichash_update(&st, head, sizeof(head));
	crypto_generichash_update(&st, (const uint8_t *)r->alias,
				  strlen(r->alias) + 1);
	crypto_generichash_update(&st, (const uint8_t *)r->terms,
				  strlen(r->terms) + 1);
	if (sealed)
		crypto_generichash_update(&st, (const uint8_t *)sealed,
					  strlen(sealed) + 1);
	crypto_generichash_final(&st, key, 16);
}

enum app_status view_brand_relationship_text(struct app *a, uint64_t brand,
					     uint64_t rel, bool may_block,
					     char **text, struct app_error *err)
{
	struct store_relationship r;
	uint8_t wrapped[96], key[16];
	size_t wrapped_len;
	char *sealed = NULL;
	int rc = relationship_of(a, APP_BRAND(brand), rel, &r, err);
	if (rc != APP_OK)
		return rc;
	rc = store_person_profile(a->reads, r.person, wrapped, &wrapped_len,
				  &sealed);
	/* A consent with an expiry changes what it shows without any row
	 * changing: such views are rendered every time. */
	bool cacheable = strstr(r.terms, "\"expires_at\":null") != NULL;
	if (rc == STORE_OK && cacheable) {
		view_key(&r, sealed, key);
		size_t i = (size_t)key[0] | (size_t)key[1] << 8;
		i %= VIEW_CACHE_SLOTS;
		pthread_mutex_lock(&view_cache.lock);
		char *hit = view_cache.slot[i].text &&
					    memcmp(view_cache.slot[i].key, key,
						   16) == 0
				    ? strdup(view_cache.slot[i].text)
				    : NULL;
		pthread_mutex_unlock(&view_cache.lock);
		int64_t day = app_now_ms() / 86400000;
		if (hit && view_read_known(r.id, day)) {
			free(sealed);
			store_relationship_clear(&r);
			*text = hit;
			return APP_OK;
		}
		free(hit);
	}
	free(sealed);
	store_relationship_clear(&r);
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the person's fields cannot be read");
	/* Render (and, on the day's first read, record) the long way. */
	json_t *view = NULL;
	rc = view_brand_relationship(a, brand, rel, may_block, &view, err);
	if (rc != APP_OK)
		return rc;
	*text = json_dumps(view, JSON_COMPACT);
	json_decref(view);
	if (*text == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	char *copy = cacheable ? strdup(*text) : NULL;
	if (copy) {
		size_t i = (size_t)key[0] | (size_t)key[1] << 8;
		i %= VIEW_CACHE_SLOTS;
		pthread_mutex_lock(&view_cache.lock);
		free(view_cache.slot[i].text);
		memcpy(view_cache.slot[i].key, key, 16);
		view_cache.slot[i].text = copy;
		pthread_mutex_unlock(&view_cache.lock);
	}
	return APP_OK;
}
