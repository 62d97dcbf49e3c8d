/*
 * gate_state.c — the gate's in-memory state (see gate_state.h).
 *
 * Two hash maps (relationship key → entry, person key → entry) owned by
 * the writer thread: compiled terms, topic table and cap windows of each
 * relationship, and global terms, zone and global windows of each person.
 * An entry is loaded the first time a message needs it, through the job's
 * transaction: terms are parsed and compiled, and the windows are rebuilt
 * by replaying the deliveries of the last year.
 *
 * Every change a decision makes to the state (a window record, a held
 * count) goes into an undo log; the job's rollback hook replays it
 * backwards, its commit hook just drops it.
 */
#include "app/gate_state.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "app/zone.h"
#include "base/log.h"
#include "core/terms.h"
#include "store/store.h"

/* Stands in for an absent window: the gate never reads it (no cap), and
 * recording into it changes nothing (window_record ignores CAP_NONE). */
static struct window window_none;

struct window *gate_state_window(struct window_set *s, int slot)
{
	return s->at[slot] >= 0 ? &s->w[s->at[slot]] : &window_none;
}

static int wset_init(struct window_set *s, const struct cap *const *caps, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += caps[i]->unit != CAP_NONE;
	memset(s->at, -1, sizeof(s->at));
	s->w = k ? calloc((size_t)k, sizeof(*s->w)) : NULL;
	if (k && s->w == NULL)
		return -1;
	for (int i = 0, j = 0; i < n; i++) {
		if (caps[i]->unit == CAP_NONE)
			continue;
		s->at[i] = (int8_t)j;
		if (window_init(&s->w[j++], caps[i]) != 0)
			return -1;
	}
	return 0;
}

static void wset_free(struct window_set *s)
{
	if (s->w == NULL)
		return; /* never initialised, or nothing capped */
	for (int i = 0; i <= CHANNEL_COUNT; i++)
		if (s->at[i] >= 0)
			window_free(&s->w[s->at[i]]);
	free(s->w);
	s->w = NULL;
}

#define DAY	       86400
#define WINDOW_HISTORY (367 * DAY) /* longest rolling window + a margin */

_Static_assert(offsetof(struct rel_entry, id) == 0, "a map's key comes first");
_Static_assert(offsetof(struct person_entry, id) == 0, "a map's key first");
_Static_assert(offsetof(struct terms_ref, key) == 0, "a map's key first");

/* Values are entries whose first member is their 64-bit key (never 0):
 * a slot holds only the pointer, which halves the map's memory. */
struct map {
	void **v; /* NULL: empty slot */
	size_t cap, n;
};

struct undo {
	struct window *w; /* NULL: a held-count change */
	struct window_undo u;
	uint32_t *held;
	uint32_t held_before;
};

struct gate_state {
	struct map rels, persons, terms;
	struct undo *log;
	size_t n_log, cap_log;
	uint64_t hooked_job; /* the job whose undo hooks are registered */
};

/* ---- A small open-addressing map of 64-bit keys ---- */

static uint64_t map_key(const void *v)
{
	uint64_t k;
	memcpy(&k, v, sizeof(k));
	return k;
}

static size_t map_slot(const struct map *m, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 17) & (m->cap - 1);
}

static void *map_get(const struct map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = map_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i] == NULL)
			return NULL;
		if (map_key(m->v[i]) == key)
			return m->v[i];
	}
}

static int map_put(struct map *m, void *value);

static int map_grow(struct map *m)
{
	struct map bigger = { 0 };
	bigger.cap = m->cap ? m->cap * 2 : 1024;
	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (bigger.v == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i])
			map_put(&bigger, m->v[i]);
	free(m->v);
	*m = bigger;
	return 0;
}

/* Puts value under its key (its first member), replacing one there. */
static int map_put(struct map *m, void *value)
{
	if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
		return -1;
	uint64_t key = map_key(value);
	size_t i = map_slot(m, key);
	while (m->v[i] != NULL && map_key(m->v[i]) != key)
		i = (i + 1) & (m->cap - 1);
	if (m->v[i] == NULL)
		m->n++;
	m->v[i] = value;
	return 0;
}

/* Removes key, re-inserting the rest of its cluster (no tombstones). */
static void *map_del(struct map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	size_t i = map_slot(m, key);
	while (m->v[i] == NULL || map_key(m->v[i]) != key) {
		if (m->v[i] == NULL)
			return NULL;
		i = (i + 1) & (m->cap - 1);
	}
	void *v = m->v[i];
	m->v[i] = NULL;
	m->n--;
	for (size_t j = (i + 1) & (m->cap - 1); m->v[j];
	     j = (j + 1) & (m->cap - 1)) {
		void *val = m->v[j];
		m->v[j] = NULL;
		m->n--;
		map_put(m, val);
	}
	return v;
}

/* ---- Entries ---- */

static void terms_unref(struct gate_state *g, struct terms_ref *t)
{
	if (t == NULL || --t->refs > 0)
		return;
	if (t->shared)
		map_del(&g->terms, t->key);
	free(t);
}

/* The shared copy of compiled terms t (one more reference), or NULL. */
static struct terms_ref *terms_intern(struct gate_state *g,
				      const struct terms_compiled *t)
{
	uint64_t key;
	static const uint8_t k[crypto_shorthash_KEYBYTES] = { 0 };
	crypto_shorthash((uint8_t *)&key, (const uint8_t *)t, sizeof(*t), k);
	key |= 1; /* 0 marks an empty slot */
	struct terms_ref *r = map_get(&g->terms, key);
	if (r && memcmp(&r->t, t, sizeof(*t)) == 0) {
		r->refs++;
		return r;
	}
	struct terms_ref *n = malloc(sizeof(*n));
	if (n == NULL)
		return NULL;
	*n = (struct terms_ref){ .key = key, .refs = 1, .shared = r == NULL };
	memcpy(&n->t, t, sizeof(*t)); /* the padding too */
	if (n->shared && map_put(&g->terms, n) != 0) {
		free(n);
		return NULL;
	}
	return n;
}

static void rel_entry_free(struct gate_state *g, struct rel_entry *r)
{
	if (r == NULL)
		return;
	terms_unref(g, r->terms);
	wset_free(&r->wins);
	free(r->topics);
	free(r);
}

static void person_entry_free(struct person_entry *p)
{
	if (p == NULL)
		return;
	wset_free(&p->wins);
	if (p->cap_rels)
		free(p->rels.many);
	free(p);
}

/* The ids of the relationships loaded for p: n_rels of them. */
static const uint64_t *person_rels(const struct person_entry *p)
{
	return p->cap_rels ? p->rels.many : &p->rels.one;
}

/* Notes that relationship rel's entry was made for p (a failure only
 * makes a later forget of the person walk every entry). */
static int person_entry_rel(struct person_entry *p, uint64_t rel)
{
	if (p->n_rels == 0 && p->cap_rels == 0) {
		p->rels.one = rel;
		p->n_rels = 1;
		return 0;
	}
	if (p->n_rels >= p->cap_rels) {
		uint32_t cap = p->cap_rels ? p->cap_rels * 2 : 4;
		uint64_t *more = realloc(p->cap_rels ? p->rels.many : NULL,
					 cap * sizeof(*more));
		if (more == NULL) {
			p->rels_all = false;
			return -1;
		}
		if (p->cap_rels == 0)
			more[0] = p->rels.one;
		p->rels.many = more;
		p->cap_rels = cap;
	}
	p->rels.many[p->n_rels++] = rel;
	return 0;
}

struct gate_state *gate_state_new(void)
{
	return calloc(1, sizeof(struct gate_state));
}

void gate_state_free(struct gate_state *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->rels.cap; i++)
		if (g->rels.v[i])
			rel_entry_free(g, g->rels.v[i]);
	for (size_t i = 0; i < g->persons.cap; i++)
		if (g->persons.v[i])
			person_entry_free(g->persons.v[i]);
	free(g->rels.v);
	free(g->persons.v);
	free(g->terms.v);
	free(g->log);
	free(g);
}

static atomic_uint_fast64_t gate_generation;

uint64_t gate_state_generation(void)
{
	return atomic_load_explicit(&gate_generation, memory_order_acquire);
}

void gate_state_stale(void *unused, uint64_t person)
{
	(void)unused;
	(void)person;
	atomic_fetch_add_explicit(&gate_generation, 1, memory_order_release);
}

void gate_state_held(const struct gate_state *g, size_t *rels, size_t *persons)
{
	*rels = g->rels.n;
	*persons = g->persons.n;
}

void gate_state_forget_relationship(struct gate_state *g, uint64_t rel)
{
	atomic_fetch_add_explicit(&gate_generation, 1, memory_order_release);
	rel_entry_free(g, map_del(&g->rels, rel));
}

void gate_state_forget_person(struct gate_state *g, uint64_t person)
{
	atomic_fetch_add_explicit(&gate_generation, 1, memory_order_release);
	struct person_entry *p = map_del(&g->persons, person);
	/* Their relationships' calendar windows were cut in the person's
	 * zone, and may have been computed against old global terms: they
	 * are rebuilt too. Each was loaded with the person's entry, which
	 * lists them (unless the list could not grow, or there is no
	 * entry: then every entry is looked at). */
	if (p && p->rels_all) {
		const uint64_t *ids = person_rels(p);
		for (uint32_t i = 0; i < p->n_rels; i++) {
			struct rel_entry *r = map_get(&g->rels, ids[i]);
			if (r && r->person == person)
				rel_entry_free(g, map_del(&g->rels, r->id));
		}
		person_entry_free(p);
		return;
	}
	person_entry_free(p);
	size_t n = 0, cap = 0;
	uint64_t *ids = NULL;
	for (size_t i = 0; i < g->rels.cap; i++) {
		struct rel_entry *r = g->rels.v[i];
		if (r == NULL || r->person != person)
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			uint64_t *more = realloc(ids, c * sizeof(*ids));
			if (more == NULL)
				break; /* the rest reload on a restart */
			ids = more;
			cap = c;
		}
		ids[n++] = r->id;
	}
	for (size_t i = 0; i < n; i++)
		rel_entry_free(g, map_del(&g->rels, ids[i]));
	free(ids);
}

struct forget {
	struct gate_state *gate;
	uint64_t person, rel;
};

static void forget_run(void *arg)
{
	struct forget *f = arg;
	if (f->person)
		gate_state_forget_person(f->gate, f->person);
	if (f->rel)
		gate_state_forget_relationship(f->gate, f->rel);
	free(f);
}

static int gate_guard(struct app_tx *t, uint64_t id, bool notify,
		      int64_t *version);

int gate_state_forget_tx(struct app_tx *t, uint64_t person, uint64_t rel)
{
	/* The other servers sharing the store are told, and their next
	 * guard of the person finds a version they did not leave. */
	uint64_t who = person;
	if (who == 0 && rel != 0) {
		struct rel_entry *r = map_get(&t->gate->rels, rel);
		struct store_relationship sr;
		if (r)
			who = r->person;
		else if (store_relationship_get(t->reads, rel, NULL, &sr) ==
			 STORE_OK) {
			who = sr.person;
			store_relationship_clear(&sr);
		}
	}
	int64_t version;
	int rc = who ? gate_guard(t, who, true, &version) : STORE_OK;
	if (rc != STORE_OK)
		return rc;
	struct forget *f = malloc(sizeof(*f));
	if (f == NULL)
		return STORE_FAULT;
	*f = (struct forget){ t->gate, person, rel };
	/* Exactly one of the two runs (see store_tx_on_commit), on the
	 * writer thread, which owns the gate state. */
	if (store_tx_on_rollback(t->tx, free, f) != STORE_OK) {
		free(f);
		return STORE_FAULT;
	}
	return store_tx_on_commit(t->tx, forget_run, f);
}

/* Replays deliveries into windows. */
struct replay {
	struct window_set *wins;      /* channels, and the exempt slot for a
					 relationship */
	const struct cap *caps;	      /* per channel */
	const struct cap *exempt_cap; /* NULL for a person */
	const struct tz *tz;
};

static int replay_one(int channel, bool exempt, int64_t at, void *arg)
{
	struct replay *r = arg;
	if (channel < 0 || channel >= CHANNEL_COUNT)
		return 0;
	if (exempt) {
		if (r->exempt_cap)
			window_record(gate_state_window(r->wins, WINDOW_EXEMPT),
				      r->exempt_cap, r->tz, at, NULL);
	} else {
		window_record(gate_state_window(r->wins, channel),
			      &r->caps[channel], r->tz, at, NULL);
	}
	return 0;
}

/* After a job that guarded a person rolls back, their version in the
 * store is the one before: what the gate holds of them is read again. */
static void stale_run(void *arg)
{
	struct forget *f = arg;
	struct person_entry *p = map_get(&f->gate->persons, f->person);
	if (p)
		p->version = -1;
	free(f);
}

/* Guards person id for the job (store_person_guard: their row locked,
 * their version moved, the other servers told at commit when `notify`)
 * and forgets what the gate holds of them when another server changed
 * them since this one last did: the version is then not the one this
 * server left plus one. *version: the new version (0: one server writes
 * the store, and nothing is ever stale). */
static int gate_guarded(struct app_tx *t, uint64_t id, int64_t version);

static int gate_guard(struct app_tx *t, uint64_t id, bool notify,
		      int64_t *version)
{
	int rc = store_person_guard(t->tx, id, notify, version);
	if (rc != STORE_OK || *version == 0)
		return rc;
	return gate_guarded(t, id, *version);
}

/* What gate_guard does once person id is guarded at `version` (not 0). */
static int gate_guarded(struct app_tx *t, uint64_t id, int64_t version)
{
	struct gate_state *g = t->gate;
	struct person_entry *p = map_get(&g->persons, id);
	if (p && p->version + 1 != version)
		gate_state_forget_person(g, id);
	else if (p)
		p->version = version;
	struct forget *f = malloc(sizeof(*f));
	if (f == NULL)
		return STORE_FAULT;
	*f = (struct forget){ g, id, 0 };
	if (store_tx_on_rollback(t->tx, stale_run, f) != STORE_OK ||
	    store_tx_on_commit(t->tx, free, f) != STORE_OK) {
		free(f);
		return STORE_FAULT;
	}
	return STORE_OK;
}

/* A person's entry made from their row, guarded at `version` for job;
 * its windows are empty (the caller replays the deliveries). NULL when
 * the global terms cannot be read or out of memory. */
static struct person_entry *person_entry_new(struct app_tx *t,
					     const struct store_person *sp,
					     int64_t version, uint64_t job)
{
	struct global_terms gt;
	struct terms_error terr;
	json_t *j = json_loads(sp->global_terms, 0, NULL);
	int rc = j ? global_terms_parse(j, &gt, &terr) : -1;
	json_decref(j);
	json_t *dj = json_loads(sp->delivery, 0, NULL);
	bool maildir = json_is_true(json_object_get(dj, "maildir"));
	bool copies = json_is_true(json_object_get(dj, "maildir_copies"));
	bool webhook = json_object_get(dj, "webhook") != NULL;
	bool forward = json_is_true(json_object_get(dj, "forwarding"));
	json_decref(dj);
	if (rc != 0) {
		log_warn("gate: person %016llx has unreadable global terms",
			 (unsigned long long)sp->id);
		return NULL;
	}
	struct person_entry *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->id = sp->id;
	p->version = version;
	p->guarded = job;
	p->rels_all = true;
	p->maildir = maildir;
	p->maildir_copies = copies || maildir;
	p->webhook = webhook;
	p->forward = forward;
	global_terms_compile(&gt, &p->global);
	p->tz = zones_get(t->zones, gt.time_zone, NULL, 0);
	if (p->tz == NULL)
		p->tz = zones_get(t->zones, "UTC", NULL, 0);
	const struct cap *caps[CHANNEL_COUNT];
	for (int c = 0; c < CHANNEL_COUNT; c++)
		caps[c] = &p->global.cap[c];
	if (wset_init(&p->wins, caps, CHANNEL_COUNT) != 0) {
		person_entry_free(p);
		return NULL;
	}
	return p;
}

struct person_entry *gate_state_person(struct app_tx *t, uint64_t id,
				       int64_t now)
{
	struct gate_state *g = t->gate;
	struct person_entry *p = map_get(&g->persons, id);
	uint64_t job = store_tx_job(t->tx);
	if (p && p->guarded == job)
		return p;
	int64_t version = 0;
	if (gate_guard(t, id, false, &version) != STORE_OK)
		return NULL;
	if ((p = map_get(&g->persons, id)) != NULL) {
		p->guarded = job;
		return p;
	}

	struct store_person sp;
	if (store_person_get(t->reads, id, NULL, &sp) != STORE_OK)
		return NULL;
	p = person_entry_new(t, &sp, version, job);
	store_person_clear(&sp);
	if (p == NULL)
		return NULL;
	struct replay r = { .wins = &p->wins,
			    .caps = p->global.cap,
			    .tz = p->tz };
	if (store_delivery_list(t->reads, 0, id, now - WINDOW_HISTORY,
				replay_one, &r) != STORE_OK ||
	    map_put(&g->persons, p) != 0) {
		person_entry_free(p);
		return NULL;
	}
	return p;
}

static int names_from_json(const char *text, terms_name *names, int *n, int max)
{
	json_t *arr = json_loads(text ? text : "[]", 0, NULL);
	size_t i;
	json_t *v;
	if (!json_is_array(arr)) {
		json_decref(arr);
		return -1;
	}
	json_array_foreach (arr, i, v) {
		if (*n >= max || !json_is_string(v) ||
		    strlen(json_string_value(v)) > TERMS_NAME_MAX) {
			json_decref(arr);
			return -1;
		}
		strcpy(names[(*n)++], json_string_value(v));
	}
	json_decref(arr);
	return 0;
}

/* gate_state_terms_compile with the person's folder names (a JSON array)
 * at hand. */
static enum app_status terms_compile_with(const struct store_relationship *sr,
					  const char *folder_names,
					  struct terms_compiled *out,
					  struct topic_table *topics_out)
{
	struct terms_error terr;
	struct terms *t = malloc(sizeof(*t));
	struct folder_table *folders = malloc(sizeof(*folders));
	struct topic_table *topics =
		topics_out ? topics_out : calloc(1, sizeof(*topics));
	int status = APP_FAULT;
	if (t == NULL || folders == NULL || topics == NULL)
		goto out;
	json_t *j = json_loads(sr->terms, 0, NULL);
	int rc = j ? terms_parse(j, NULL, TERMS_MODE_PUT, t, &terr) : -1;
	json_decref(j);
	if (rc != 0 || names_from_json(sr->topics, topics->names, &topics->n,
				       TERMS_MAX_TOPICS) != 0)
		goto out;
	folder_table_init(folders);
	memset(out, 0, sizeof(*out)); /* padding too: shared copies compare
					 and hash these bytes */
	rc = names_from_json(folder_names, folders->names, &folders->n,
			     TERMS_MAX_FOLDERS);
	if (rc == 0 && terms_compile(t, topics, folders, out, &terr) == 0)
		status = APP_OK;
out:
	free(t);
	free(folders);
	if (topics != topics_out)
		free(topics);
	return status;
}

enum app_status gate_state_terms_compile(struct store_rd *reads,
					 const struct store_relationship *sr,
					 struct terms_compiled *out,
					 struct topic_table *topics_out)
{
	struct store_person sp;
	if (store_person_get(reads, sr->person, NULL, &sp) != STORE_OK)
		return APP_FAULT;
	enum app_status st =
		terms_compile_with(sr, sp.folders, out, topics_out);
	store_person_clear(&sp);
	return st;
}

/* A relationship's entry made from its row and its person's folder names;
 * its windows are empty and its held count 0 (the caller reads them).
 * NULL when its terms cannot be compiled or out of memory. */
static struct rel_entry *rel_entry_new(struct gate_state *g,
				       const struct store_relationship *sr,
				       const char *folder_names)
{
	struct rel_entry *r = calloc(1, sizeof(*r));
	struct topic_table *topics = calloc(1, sizeof(*topics));
	struct terms_compiled *tc = malloc(sizeof(*tc));
	if (r == NULL || topics == NULL || tc == NULL)
		goto fail;
	r->id = sr->id;
	r->person = sr->person;
	r->brand = sr->brand;
	r->state = (uint8_t)sr->state;
	if (terms_compile_with(sr, folder_names, tc, topics) != APP_OK ||
	    (r->terms = terms_intern(g, tc)) == NULL)
		goto fail;
	/* Keep the table compact: a million relationships are held. */
	size_t len = 0;
	for (int i = 0; i < topics->n; i++)
		len += strlen(topics->names[i]) + 1;
	r->topics = len ? malloc(len) : NULL;
	if (len && r->topics == NULL)
		goto fail;
	for (int i = 0, at = 0; i < topics->n; i++) {
		size_t n = strlen(topics->names[i]) + 1;
		memcpy(r->topics + at, topics->names[i], n);
		at += (int)n;
	}
	r->n_topics = (uint8_t)topics->n;
	const struct cap *caps[CHANNEL_COUNT + 1];
	for (int c = 0; c < CHANNEL_COUNT; c++)
		caps[c] = &r->terms->t.cap[c];
	caps[WINDOW_EXEMPT] = &r->terms->t.exempt_cap;
	if (wset_init(&r->wins, caps, CHANNEL_COUNT + 1) != 0)
		goto fail;
	free(tc);
	free(topics);
	return r;
fail:
	log_warn("gate: cannot load relationship %016llx",
		 (unsigned long long)sr->id);
	free(tc);
	free(topics);
	rel_entry_free(g, r);
	return NULL;
}

/* The relationship's entry, loaded on first use. With `brand` not 0 a
 * relationship of another brand is not loaded at all: asking about a
 * foreign id costs one read, not a year of replay. *foreign tells. */
struct rel_entry *gate_state_rel(struct app_tx *t, uint64_t id, int64_t now,
				 uint64_t brand, bool *foreign)
{
	struct gate_state *g = t->gate;
	struct rel_entry *r = map_get(&g->rels, id);
	if (foreign)
		*foreign = false;
	if (r) {
		/* Guarded: forgotten if another server changed the person. */
		if (gate_state_person(t, r->person, now) == NULL)
			return NULL;
		if ((r = map_get(&g->rels, id)) != NULL)
			return r;
	}

	struct store_relationship sr;
	struct store_person sp;
	if (store_relationship_get(t->reads, id, NULL, &sr) != STORE_OK)
		return NULL;
	if (brand != 0 && sr.brand != brand) {
		store_relationship_clear(&sr);
		if (foreign)
			*foreign = true;
		return NULL;
	}
	/* The person guarded first; where other servers write too, the row
	 * is read again under the guard (it may have changed since). */
	struct person_entry *p = gate_state_person(t, sr.person, now);
	if (p == NULL) {
		store_relationship_clear(&sr);
		return NULL;
	}
	if (p->version != 0) {
		uint64_t person = sr.person;
		store_relationship_clear(&sr);
		if (store_relationship_get(t->reads, id, NULL, &sr) != STORE_OK)
			return NULL;
		if (sr.person != person) {
			store_relationship_clear(&sr);
			return NULL;
		}
	}
	if (store_person_get(t->reads, sr.person, NULL, &sp) != STORE_OK) {
		store_relationship_clear(&sr);
		return NULL;
	}
	r = rel_entry_new(g, &sr, sp.folders);
	store_person_clear(&sp);
	store_relationship_clear(&sr);
	if (r == NULL)
		return NULL;
	struct replay rp = { .wins = &r->wins,
			     .caps = r->terms->t.cap,
			     .exempt_cap = &r->terms->t.exempt_cap,
			     .tz = p->tz };
	if (store_delivery_list(t->reads, id, 0, now - WINDOW_HISTORY,
				replay_one, &rp) != STORE_OK ||
	    store_held_count(t->reads, id, &r->held) != STORE_OK ||
	    map_put(&g->rels, r) != 0) {
		log_warn("gate: cannot load relationship %016llx",
			 (unsigned long long)id);
		rel_entry_free(g, r);
		return NULL;
	}
	(void)person_entry_rel(p, id);
	return r;
}

/* ---- A campaign's chunk, loaded in a few reads ---- */

/* What gate_state_prefetch gathers. */
struct prefetch {
	struct app_tx *t;
	uint64_t job, brand;
	struct store_relationship *rows; /* cold relationships: the fields an
					    entry needs, terms and topics
					    owned */
	size_t n_rows;
	struct guarded {
		uint64_t id;
		int64_t version;
		char *folders; /* the person's folder names (owned), or NULL */
		bool loaded;   /* an entry made here */
	} * persons;	       /* every person guarded here, by id */
	size_t n_persons;
};

static int key_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static struct guarded *prefetch_person(struct prefetch *f, uint64_t id)
{
	return bsearch(&id, f->persons, f->n_persons, sizeof(*f->persons),
		       key_order); /* id is the first member */
}

static int prefetch_row(const struct store_relationship *sr, void *arg)
{
	struct prefetch *f = arg;
	if (f->brand != 0 && sr->brand != f->brand)
		return 0; /* another brand's: told one by one */
	struct store_relationship *r = &f->rows[f->n_rows];
	*r = (struct store_relationship){
		.id = sr->id,
		.person = sr->person,
		.brand = sr->brand,
		.state = sr->state,
		.terms = strdup(sr->terms ? sr->terms : ""),
		.topics = strdup(sr->topics ? sr->topics : "[]")
	};
	f->n_rows++;
	return r->terms && r->topics ? 0 : 1;
}

static void prefetch_rows_clear(struct prefetch *f)
{
	for (size_t i = 0; i < f->n_rows; i++)
		store_relationship_clear(&f->rows[i]);
	f->n_rows = 0;
}

static int prefetch_guarded(void *arg, uint64_t id, int64_t version)
{
	struct prefetch *f = arg;
	struct app_tx *t = f->t;
	if (version != 0 && gate_guarded(t, id, version) != STORE_OK)
		return 1;
	struct person_entry *p = map_get(&t->gate->persons, id);
	if (p)
		p->guarded = f->job; /* held, and not forgotten */
	struct guarded *g = prefetch_person(f, id);
	if (g)
		g->version = version;
	return 0;
}

static int prefetch_person_row(const struct store_person *sp, void *arg)
{
	struct prefetch *f = arg;
	struct gate_state *g = f->t->gate;
	struct guarded *gd = prefetch_person(f, sp->id);
	if (gd == NULL ||
	    (gd->folders = strdup(sp->folders ? sp->folders : "[]")) == NULL)
		return gd == NULL ? 0 : 1;
	if (map_get(&g->persons, sp->id) != NULL)
		return 0;
	struct person_entry *p =
		person_entry_new(f->t, sp, gd->version, f->job);
	if (p == NULL || map_put(&g->persons, p) != 0) {
		person_entry_free(p);
		return 0; /* loaded one by one, or fails there */
	}
	gd->loaded = true;
	return 0;
}

static int prefetch_person_delivery(uint64_t id, int channel, bool exempt,
				    int64_t at, void *arg)
{
	struct prefetch *f = arg;
	struct person_entry *p = map_get(&f->t->gate->persons, id);
	if (p == NULL)
		return 0;
	struct replay r = { .wins = &p->wins,
			    .caps = p->global.cap,
			    .tz = p->tz };
	return replay_one(channel, exempt, at, &r);
}

static int prefetch_rel_delivery(uint64_t id, int channel, bool exempt,
				 int64_t at, void *arg)
{
	struct prefetch *f = arg;
	struct rel_entry *r = map_get(&f->t->gate->rels, id);
	struct person_entry *p =
		r ? map_get(&f->t->gate->persons, r->person) : NULL;
	if (p == NULL)
		return 0;
	struct replay rp = { .wins = &r->wins,
			     .caps = r->terms->t.cap,
			     .exempt_cap = &r->terms->t.exempt_cap,
			     .tz = p->tz };
	return replay_one(channel, exempt, at, &rp);
}

static int prefetch_held(uint64_t id, int64_t n, void *arg)
{
	struct prefetch *f = arg;
	struct rel_entry *r = map_get(&f->t->gate->rels, id);
	if (r)
		r->held = (uint32_t)n;
	return 0;
}

/* Sorts keys and drops repeats: how many are left. */
static size_t keys_unique(uint64_t *keys, size_t n)
{
	size_t k = 0;
	qsort(keys, n, sizeof(*keys), key_order);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || keys[k - 1] != keys[i])
			keys[k++] = keys[i];
	return k;
}

/* The reads of gate_state_prefetch after the guard: the persons loaded,
 * then the relationships, each kind in one read. new_rels: room for n. */
static int prefetch_load(struct prefetch *f, uint64_t *keys, uint64_t *new_rels,
			 size_t *n_new, int64_t now)
{
	struct app_tx *t = f->t;
	struct gate_state *g = t->gate;
	size_t k = 0;
	for (size_t i = 0; i < f->n_rows; i++)
		keys[k++] = f->rows[i].person;
	k = keys_unique(keys, k);
	int rc = store_person_get_many(t->reads, keys, k, prefetch_person_row,
				       f);
	k = 0;
	for (size_t i = 0; i < f->n_persons; i++)
		if (f->persons[i].loaded)
			keys[k++] = f->persons[i].id;
	if (rc == STORE_OK)
		rc = store_delivery_list_many(t->reads, true, keys, k,
					      now - WINDOW_HISTORY,
					      prefetch_person_delivery, f);
	for (size_t i = 0; i < f->n_rows && rc == STORE_OK; i++) {
		struct store_relationship *sr = &f->rows[i];
		struct person_entry *p = map_get(&g->persons, sr->person);
		struct guarded *gd = prefetch_person(f, sr->person);
		if (p == NULL || p->guarded != f->job || gd == NULL ||
		    gd->folders == NULL || map_get(&g->rels, sr->id))
			continue; /* loaded one by one */
		struct rel_entry *r = rel_entry_new(g, sr, gd->folders);
		if (r == NULL || map_put(&g->rels, r) != 0) {
			rel_entry_free(g, r);
			continue;
		}
		(void)person_entry_rel(p, sr->id);
		new_rels[(*n_new)++] = sr->id;
	}
	if (rc == STORE_OK)
		rc = store_delivery_list_many(t->reads, false, new_rels, *n_new,
					      now - WINDOW_HISTORY,
					      prefetch_rel_delivery, f);
	if (rc == STORE_OK)
		rc = store_held_count_many(t->reads, new_rels, *n_new,
					   prefetch_held, f);
	return rc;
}

int gate_state_prefetch(struct app_tx *t, const uint64_t *rels, size_t n,
			uint64_t brand, int64_t now)
{
	struct gate_state *g = t->gate;
	struct prefetch f = { .t = t,
			      .job = store_tx_job(t->tx),
			      .brand = brand };
	uint64_t *cold = malloc((n ? n : 1) * sizeof(*cold));
	uint64_t *keys = malloc((n ? 2 * n : 1) * sizeof(*keys));
	uint64_t *new_rels = malloc((n ? n : 1) * sizeof(*new_rels));
	f.rows = calloc(n ? n : 1, sizeof(*f.rows));
	f.persons = calloc(n ? 2 * n : 1, sizeof(*f.persons));
	size_t n_cold = 0, k = 0, n_new = 0;
	int rc = cold && keys && new_rels && f.rows && f.persons ? STORE_OK
								 : STORE_FAULT;
	/* The relationships not held are read, then the persons of all
	 * are guarded (those not guarded by this job yet). */
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		struct rel_entry *r = map_get(&g->rels, rels[i]);
		struct person_entry *p =
			r ? map_get(&g->persons, r->person) : NULL;
		if (r == NULL)
			cold[n_cold++] = rels[i];
		else if (p && p->guarded != f.job)
			keys[k++] = r->person;
	}
	if (rc == STORE_OK)
		n_cold = keys_unique(cold, n_cold);
	if (rc == STORE_OK && n_cold)
		rc = store_relationship_get_many(t->reads, cold, n_cold,
						 prefetch_row, &f);
	for (size_t i = 0; i < f.n_rows && rc == STORE_OK; i++) {
		struct person_entry *p = map_get(&g->persons, f.rows[i].person);
		if (p == NULL || p->guarded != f.job)
			keys[k++] = f.rows[i].person;
	}
	k = rc == STORE_OK ? keys_unique(keys, k) : 0;
	for (size_t i = 0; i < k; i++)
		f.persons[i].id = keys[i];
	f.n_persons = k;
	if (rc == STORE_OK && k)
		rc = store_person_guard_many(t->tx, keys, k, prefetch_guarded,
					     &f);
	/* Where other servers write, the rows are read again under the
	 * guard (as gate_state_rel does): they may have changed. */
	bool shared = false;
	for (size_t i = 0; i < f.n_persons; i++)
		shared = shared || f.persons[i].version != 0;
	if (rc == STORE_OK && shared && f.n_rows) {
		prefetch_rows_clear(&f);
		rc = store_relationship_get_many(t->reads, cold, n_cold,
						 prefetch_row, &f);
	}
	if (rc == STORE_OK && f.n_rows)
		rc = prefetch_load(&f, keys, new_rels, &n_new, now);
	if (rc != STORE_OK) {
		/* Entries half loaded are not kept. */
		for (size_t i = 0; i < n_new; i++)
			gate_state_forget_relationship(g, new_rels[i]);
		for (size_t i = 0; i < f.n_persons; i++)
			if (f.persons[i].loaded)
				gate_state_forget_person(g, f.persons[i].id);
	}
	if (f.rows)
		prefetch_rows_clear(&f);
	for (size_t i = 0; i < f.n_persons; i++)
		free(f.persons[i].folders);
	free(f.persons);
	free(f.rows);
	free(cold);
	free(keys);
	free(new_rels);
	return rc;
}

/* The index of a topic in a relationship's compact table, or -1. */
int gate_state_topic(const struct rel_entry *r, const char *topic)
{
	const char *p = r->topics;
	for (int i = 0; i < r->n_topics; i++) {
		if (strcmp(p, topic) == 0)
			return i;
		p += strlen(p) + 1;
	}
	return -1;
}

/* ---- The undo log ---- */

static struct undo *undo_push(struct gate_state *g)
{
	if (g->n_log == g->cap_log) {
		size_t cap = g->cap_log ? g->cap_log * 2 : 256;
		struct undo *l = realloc(g->log, cap * sizeof(*l));
		if (l == NULL)
			return NULL;
		g->log = l;
		g->cap_log = cap;
	}
	return &g->log[g->n_log++];
}

struct undo_mark {
	struct gate_state *g;
	size_t start;
};

static void undo_rollback(void *arg)
{
	struct undo_mark *m = arg;
	struct gate_state *g = m->g;
	g->hooked_job = 0;
	while (g->n_log > m->start) {
		struct undo *u = &g->log[--g->n_log];
		if (u->w)
			window_undo(u->w, &u->u);
		else
			*u->held = u->held_before;
	}
	free(m);
}

static void undo_commit(void *arg)
{
	struct undo_mark *m = arg;
	m->g->n_log = 0; /* the batch is durable: nothing to undo */
	m->g->hooked_job = 0;
	free(m);
}

/* Applies decision d to the in-memory state, with undo: a hold raises the
 * held count, a delivery is recorded in its windows; `held_delta` is added
 * to the held count first (-1 when a held message leaves the queue). */
int gate_state_apply(struct app_tx *t, struct rel_entry *r,
		     struct person_entry *p, unsigned ch,
		     const struct gate_decision *d, int64_t now, int held_delta)
{
	struct gate_state *g = t->gate;
	/* One pair of hooks per job, however many messages it decides (a
	 * campaign chunk decides thousands): the rollback hook undoes
	 * everything the job logged. */
	if (g->hooked_job != store_tx_job(t->tx)) {
		struct undo_mark *m = malloc(sizeof(*m));
		if (m == NULL)
			return APP_FAULT;
		*m = (struct undo_mark){ g, g->n_log };
		/* Exactly one of the two hooks runs — the commit hook when
		 * the batch is durable, the rollback hook otherwise — and
		 * frees m. */
		if (store_tx_on_rollback(t->tx, undo_rollback, m) != STORE_OK) {
			free(m);
			return APP_FAULT;
		}
		if (store_tx_on_commit(t->tx, undo_commit, m) != STORE_OK)
			return APP_FAULT; /* the rollback hook frees m */
		g->hooked_job = store_tx_job(t->tx);
	}
	struct undo *u;
	int delta = held_delta + (d->outcome == GATE_HOLD ? 1 : 0);
	if (delta != 0 && r == NULL)
		return APP_FAULT; /* a stranger's message is never held */
	if (delta != 0) {
		if ((u = undo_push(g)) == NULL)
			return APP_FAULT;
		*u = (struct undo){ .held = &r->held, .held_before = r->held };
		r->held = (uint32_t)((int64_t)r->held + delta);
	}
	if (d->outcome != GATE_DELIVER)
		return APP_OK;
	if (r != NULL) {
		struct window *w = gate_state_window(
			&r->wins, d->exempt ? WINDOW_EXEMPT : (int)ch);
		const struct cap *c = d->exempt ? &r->terms->t.exempt_cap
						: &r->terms->t.cap[ch];
		if ((u = undo_push(g)) == NULL)
			return APP_FAULT;
		u->w = w;
		window_record(w, c, p->tz, now, &u->u);
	}
	if (!d->exempt) {
		if ((u = undo_push(g)) == NULL)
			return APP_FAULT;
		u->w = gate_state_window(&p->wins, (int)ch);
		window_record(u->w, &p->global.cap[ch], p->tz, now, &u->u);
	}
	return APP_OK;
}
