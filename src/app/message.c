/*
 * message.c — deciding and recording one message (see message.h).
 *
 * The gate state is two hash maps (relationship key → entry, person key →
 * entry) owned by the writer thread: compiled terms, topic table and cap
 * windows of each relationship, and global terms, zone and global windows
 * of each person. An entry is loaded from the store the first time a
 * message needs it: terms are parsed and compiled, and the windows are
 * rebuilt by replaying the deliveries of the last year.
 *
 * Every change a decision makes to the state (a window record, a held
 * count) goes into an undo log; the job's rollback hook replays it
 * backwards, its commit hook just drops it.
 */
#include "app/message.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "app/metrics.h"
#include "app/zone.h"
#include "base/log.h"
#include "core/id.h"
#include "core/terms.h"
#include "store/store.h"

#define DAY	       86400
#define WINDOW_HISTORY (367 * DAY) /* longest rolling window + a margin */

/* Windows only for the caps that are set: most channels of most
 * relationships have none, and a million relationships are held. */
#define WINDOW_EXEMPT CHANNEL_COUNT /* the exempt topics' slot */
struct window_set {
	struct window *w;	      /* the capped ones, packed */
	int8_t at[CHANNEL_COUNT + 1]; /* index into w; -1: no cap */
};

/* Stands in for an absent window: the gate never reads it (no cap), and
 * recording into it changes nothing (window_record ignores CAP_NONE). */
static struct window window_none;

static struct window *wset_get(struct window_set *s, int slot)
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

/* Compiled terms, shared by every relationship whose terms compile to
 * the same bytes (most accept what a brand proposed as it was): a
 * million relationships hold a few thousand of these. */
struct terms_ref {
	uint64_t key;  /* the map's key: a hash of t, never 0 */
	uint32_t refs; /* relationships holding it */
	bool shared;   /* in the map (false: a rare hash collision's own) */
	struct terms_compiled t;
};

struct rel_entry {
	uint64_t id, person, brand;
	uint8_t state; /* enum rel_state */
	uint32_t held; /* attempts held right now */
	struct terms_ref *terms;
	char *topics; /* the topic table, compact: names one after another,
			 each NUL-terminated, in index order; NULL when
			 empty */
	uint8_t n_topics;
	struct window_set wins; /* per channel, then the exempt topics' */
};

struct person_entry {
	uint64_t id;
	struct global_compiled global;
	const struct tz *tz;
	struct window_set wins; /* per channel */
	bool maildir;		/* delivered messages go to the Maildir too */
	bool maildir_copies;	/* it was on once: copies follow moves */
	bool webhook;		/* … and to the person's webhook */
	bool forward;		/* … and to a verified address */
};

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
	free(p);
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

void gate_state_forget_relationship(struct gate_state *g, uint64_t rel)
{
	atomic_fetch_add_explicit(&gate_generation, 1, memory_order_release);
	rel_entry_free(g, map_del(&g->rels, rel));
}

void gate_state_forget_person(struct gate_state *g, uint64_t person)
{
	atomic_fetch_add_explicit(&gate_generation, 1, memory_order_release);
	person_entry_free(map_del(&g->persons, person));
	/* Their relationships' calendar windows were cut in the person's
	 * zone, and may have been computed against old global terms: they
	 * are rebuilt too. (Rare: a change of global terms or an erasure.) */
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

int message_forget_tx(struct app_tx *t, uint64_t person, uint64_t rel)
{
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
			window_record(wset_get(r->wins, WINDOW_EXEMPT),
				      r->exempt_cap, r->tz, at, NULL);
	} else {
		window_record(wset_get(r->wins, channel), &r->caps[channel],
			      r->tz, at, NULL);
	}
	return 0;
}

static struct person_entry *person_load(struct app_tx *t, uint64_t id,
					int64_t now)
{
	struct gate_state *g = t->gate;
	struct person_entry *p = map_get(&g->persons, id);
	if (p)
		return p;

	struct store_person sp;
	if (store_person_get(t->reads, id, NULL, &sp) != STORE_OK)
		return NULL;
	struct global_terms gt;
	struct terms_error terr;
	json_t *j = json_loads(sp.global_terms, 0, NULL);
	int rc = j ? global_terms_parse(j, &gt, &terr) : -1;
	json_decref(j);
	json_t *dj = json_loads(sp.delivery, 0, NULL);
	bool maildir = json_is_true(json_object_get(dj, "maildir"));
	bool copies = json_is_true(json_object_get(dj, "maildir_copies"));
	bool webhook = json_object_get(dj, "webhook") != NULL;
	bool forward = json_is_true(json_object_get(dj, "forwarding"));
	json_decref(dj);
	store_person_clear(&sp);
	if (rc != 0) {
		log_warn("gate: person %016llx has unreadable global terms",
			 (unsigned long long)id);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->id = id;
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
	if (wset_init(&p->wins, caps, CHANNEL_COUNT) != 0)
		goto fail;
	struct replay r = { .wins = &p->wins,
			    .caps = p->global.cap,
			    .tz = p->tz };
	if (store_delivery_list(t->reads, 0, id, now - WINDOW_HISTORY,
				replay_one, &r) != STORE_OK)
		goto fail;
	if (map_put(&g->persons, p) != 0)
		goto fail;
	return p;
fail:
	person_entry_free(p);
	return NULL;
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

enum app_status message_terms_compile(struct store_rd *reads,
				      const struct store_relationship *sr,
				      struct terms_compiled *out,
				      struct topic_table *topics_out)
{
	struct store_person sp;
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
	if (store_person_get(reads, sr->person, NULL, &sp) != STORE_OK)
		goto out;
	rc = names_from_json(sp.folders, folders->names, &folders->n,
			     TERMS_MAX_FOLDERS);
	store_person_clear(&sp);
	if (rc == 0 && terms_compile(t, topics, folders, out, &terr) == 0)
		status = APP_OK;
out:
	free(t);
	free(folders);
	if (topics != topics_out)
		free(topics);
	return status;
}

/* The relationship's entry, loaded on first use. With `brand` not 0 a
 * relationship of another brand is not loaded at all: asking about a
 * foreign id costs one read, not a year of replay. *foreign tells. */
static struct rel_entry *rel_load(struct app_tx *t, uint64_t id, int64_t now,
				  uint64_t brand, bool *foreign)
{
	struct gate_state *g = t->gate;
	struct rel_entry *r = map_get(&g->rels, id);
	if (foreign)
		*foreign = false;
	if (r)
		return r;

	struct store_relationship sr;
	struct topic_table *topics = NULL;
	if (store_relationship_get(t->reads, id, NULL, &sr) != STORE_OK)
		return NULL;
	if (brand != 0 && sr.brand != brand) {
		store_relationship_clear(&sr);
		if (foreign)
			*foreign = true;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	topics = calloc(1, sizeof(*topics));
	if (r == NULL || topics == NULL)
		goto fail;
	r->id = id;
	r->person = sr.person;
	r->brand = sr.brand;
	r->state = (uint8_t)sr.state;
	struct terms_compiled *tc = malloc(sizeof(*tc));
	if (tc == NULL)
		goto fail;
	if (message_terms_compile(t->reads, &sr, tc, topics) != APP_OK ||
	    (r->terms = terms_intern(g, tc)) == NULL) {
		free(tc);
		goto fail;
	}
	free(tc);
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
	struct person_entry *p = person_load(t, sr.person, now);
	if (p == NULL)
		goto fail;
	const struct cap *caps[CHANNEL_COUNT + 1];
	for (int c = 0; c < CHANNEL_COUNT; c++)
		caps[c] = &r->terms->t.cap[c];
	caps[WINDOW_EXEMPT] = &r->terms->t.exempt_cap;
	if (wset_init(&r->wins, caps, CHANNEL_COUNT + 1) != 0)
		goto fail;
	struct replay rp = { .wins = &r->wins,
			     .caps = r->terms->t.cap,
			     .exempt_cap = &r->terms->t.exempt_cap,
			     .tz = p->tz };
	if (store_delivery_list(t->reads, id, 0, now - WINDOW_HISTORY,
				replay_one, &rp) != STORE_OK ||
	    store_held_count(t->reads, id, &r->held) != STORE_OK)
		goto fail;
	if (map_put(&g->rels, r) != 0)
		goto fail;
	store_relationship_clear(&sr);
	free(topics);
	return r;
fail:
	log_warn("gate: cannot load relationship %016llx",
		 (unsigned long long)id);
	store_relationship_clear(&sr);
	rel_entry_free(g, r);
	free(topics);
	return NULL;
}

/* The index of a topic in a relationship's compact table, or -1. */
static int rel_topic(const struct rel_entry *r, const char *topic)
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

/* ---- Deciding ---- */

/* Applies decision d to the in-memory state, with undo: a hold raises the
 * held count, a delivery is recorded in its windows; `held_delta` is added
 * to the held count first (-1 when a held message leaves the queue). */
static int message_apply(struct app_tx *t, struct rel_entry *r,
			 struct person_entry *p, unsigned ch,
			 const struct gate_decision *d, int64_t now,
			 int held_delta)
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
	if (delta != 0) {
		if ((u = undo_push(g)) == NULL)
			return APP_FAULT;
		*u = (struct undo){ .held = &r->held, .held_before = r->held };
		r->held = (uint32_t)((int64_t)r->held + delta);
	}
	if (d->outcome != GATE_DELIVER)
		return APP_OK;
	struct window *w =
		wset_get(&r->wins, d->exempt ? WINDOW_EXEMPT : (int)ch);
	const struct cap *c =
		d->exempt ? &r->terms->t.exempt_cap : &r->terms->t.cap[ch];
	if ((u = undo_push(g)) == NULL)
		return APP_FAULT;
	u->w = w;
	window_record(w, c, p->tz, now, &u->u);
	if (!d->exempt) {
		if ((u = undo_push(g)) == NULL)
			return APP_FAULT;
		u->w = wset_get(&p->wins, (int)ch);
		window_record(u->w, &p->global.cap[ch], p->tz, now, &u->u);
	}
	return APP_OK;
}

enum app_status message_outbox_tx(struct app_tx *t, uint64_t person,
				  uint64_t attempt, int op, int folder,
				  int64_t now)
{
	bool maildir_on = t->cfg->maildir_root[0] != '\0';
	if (!maildir_on && op != STORE_OUTBOX_DELIVER)
		return APP_OK;
	struct person_entry *p = person_load(t, person, now);
	if (p == NULL)
		return APP_FAULT;
	struct store_outbox o = { .person = person,
				  .attempt = attempt,
				  .adapter = STORE_ADAPTER_MAILDIR,
				  .op = op,
				  .folder = folder,
				  .next_at = now };
	int rc = STORE_OK;
	/* New deliveries while it is on; moves and removals whenever copies
	 * may be there (it was on once), so none is left behind. */
	if (maildir_on &&
	    (op == STORE_OUTBOX_DELIVER ? p->maildir : p->maildir_copies))
		rc = store_outbox_add(t->tx, &o);
	/* A webhook or a forward hears of new deliveries only: neither has
	 * folders. */
	if (rc == STORE_OK && p->webhook && op == STORE_OUTBOX_DELIVER &&
	    attempt != 0) {
		o.adapter = STORE_ADAPTER_WEBHOOK;
		rc = store_outbox_add(t->tx, &o);
	}
	if (rc == STORE_OK && p->forward && t->cfg->smarthost[0] &&
	    op == STORE_OUTBOX_DELIVER && attempt != 0) {
		o.adapter = STORE_ADAPTER_FORWARD;
		rc = store_outbox_add(t->tx, &o);
	}
	return app_from_store(rc);
}

/* The gate's input for a message on channel ch to relationship r. */
static struct gate_input gate_input_of(const struct config *cfg,
				       struct rel_entry *r,
				       struct person_entry *p, unsigned ch,
				       int16_t topic, int64_t now, int stage)
{
	return (struct gate_input){
		.terms = &r->terms->t,
		.global = &p->global,
		.tz = p->tz,
		.window = wset_get(&r->wins, (int)ch),
		.exempt = wset_get(&r->wins, WINDOW_EXEMPT),
		.global_window = wset_get(&p->wins, (int)ch),
		.now = now,
		.held = r->held,
		.hold_queue = cfg->hold_queue,
		.topic = topic,
		.stage = (uint8_t)stage,
		.channel = (uint8_t)ch,
		.rel_state = r->state,
		.alias_known = true,
		.sender_is_brand = true,
	};
}

enum app_status message_decide_tx(struct app_tx *t, const struct message_in *in,
				  struct message_out *out)
{
	int64_t now = in->now_ms / 1000;
	bool foreign = false;
	struct rel_entry *r =
		rel_load(t, in->relationship, now, in->brand, &foreign);
	if (foreign)
		return APP_NOT_FOUND;
	if (r == NULL) {
		struct store_relationship sr;
		int rc = store_relationship_get(t->reads, in->relationship,
						NULL, &sr);
		if (rc == STORE_OK)
			store_relationship_clear(&sr);
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	}
	if (in->brand != 0 && r->brand != in->brand)
		return APP_NOT_FOUND;
	struct person_entry *p = person_load(t, r->person, now);
	if (p == NULL)
		return APP_FAULT;

	int16_t topic = GATE_TOPIC_NONE;
	if (in->topic) {
		int k = rel_topic(r, in->topic);
		topic = k >= 0 ? (int16_t)k : GATE_TOPIC_OTHER;
	}
	unsigned ch = (unsigned)in->channel < CHANNEL_COUNT
			      ? (unsigned)in->channel
			      : 0;
	struct gate_input gi =
		gate_input_of(t->cfg, r, p, ch, topic, now, GATE_STAGE_FULL);
	gi.channel = (uint8_t)in->channel; /* as given: row 5 judges it */
	gi.sender_is_brand = in->sender_is_brand;
	if (in->dedup) {
		bool found = false;
		if (store_attempt_dup(t->reads, r->id, in->dedup, &found) !=
		    STORE_OK)
			return APP_FAULT;
		if (found) {
			/* The same message to the same alias again (an MTA's
			 * retry): delivered once, answered as before. */
			memset(out, 0, sizeof(*out));
			out->duplicate = true;
			out->silent = p->global.silent;
			return APP_OK;
		}
	}
	struct gate_decision d = gate_decide(&gi);
	metrics_decision(d.outcome, d.reason);

	bool keep_body = d.outcome != GATE_REFUSE && in->campaign == 0;
	struct store_attempt at = {
		.id = store_new_time_key(in->now_ms),
		.person = r->person,
		.relationship = r->id,
		.brand = r->brand,
		.campaign = in->campaign,
		.channel = in->channel,
		.topic = in->topic,
		.decision = d.outcome,
		.reason = d.reason,
		.folder = d.outcome == GATE_DELIVER ? d.folder : -1,
		.deliver_at = d.outcome == GATE_HOLD ? d.deliver_at : 0,
		.decided_at = d.outcome == GATE_DELIVER ? now : 0,
		.exempt = d.exempt,
		.received_at = now,
		.sender = in->sender,
		.sender_verified = in->sender_verified,
		.subject = in->subject,
		.dedup = in->dedup,
		.headers = in->headers,
		.headers_len = in->headers_len,
		.body = keep_body ? in->body : NULL,
		.body_len = keep_body ? in->body_len : 0,
	};
	int rc = store_attempt_insert(t->tx, &at);
	if (rc != STORE_OK)
		return app_from_store(rc);

	if (d.outcome != GATE_REFUSE &&
	    message_apply(t, r, p, ch, &d, now, 0) != APP_OK)
		return APP_FAULT;
	if (d.outcome == GATE_DELIVER &&
	    message_outbox_tx(t, r->person, at.id, STORE_OUTBOX_DELIVER, -1,
			      now) != APP_OK)
		return APP_FAULT;
	out->id = at.id;
	out->decision = d;
	out->silent = p->global.silent;
	out->duplicate = false;
	return APP_OK;
}

enum app_status message_rcpt_tx(struct app_tx *t, uint64_t relationship,
				const char *sender, int64_t now_ms,
				struct message_out *out)
{
	int64_t now = now_ms / 1000;
	memset(out, 0, sizeof(*out));
	struct rel_entry *r = rel_load(t, relationship, now, 0, NULL);
	if (r == NULL)
		return APP_FAULT;
	struct person_entry *p = person_load(t, r->person, now);
	if (p == NULL)
		return APP_FAULT;
	struct gate_input gi =
		gate_input_of(t->cfg, r, p, CHANNEL_EMAIL, GATE_TOPIC_NONE, now,
			      GATE_STAGE_RCPT);
	struct gate_decision d = gate_decide(&gi);
	out->decision = d;
	out->silent = p->global.silent;
	/* A pass says nothing yet: the message is decided at LMTP. So is a
	 * refusal for a person whose refusals are silent (accepted there and
	 * recorded then). */
	if (d.outcome != GATE_REFUSE || out->silent)
		return APP_OK;
	metrics_decision(d.outcome, d.reason);
	struct store_attempt at = {
		.id = store_new_time_key(now_ms),
		.person = r->person,
		.relationship = r->id,
		.brand = r->brand,
		.channel = CHANNEL_EMAIL,
		.decision = d.outcome,
		.reason = d.reason,
		.folder = -1,
		.received_at = now,
		.sender = sender,
		.sender_verified = false,
	};
	int rc = store_attempt_insert(t->tx, &at);
	if (rc != STORE_OK)
		return app_from_store(rc);
	out->id = at.id;
	return APP_OK;
}

struct message_job {
	const struct message_in *in;
	struct message_out *out;
	int status;
};

static int message_job_run(struct app_tx *t, void *arg)
{
	struct message_job *j = arg;
	j->status = message_decide_tx(t, j->in, j->out);
	return j->status == APP_OK ? STORE_OK : STORE_INVALID;
}

json_t *message_brand_json(const struct message_out *out)
{
	char id[ID_SIZE];
	id_encode(ID_MESSAGE, out->id, id);
	const struct gate_decision *d = &out->decision;
	bool accepted = gate_brand_accepted(d);
	return json_pack("{s:s,s:s,s:o}", "id", id, "decision",
			 accepted ? "accepted" : "refused", "reason",
			 accepted ? json_null()
				  : json_string(gate_reasons[d->reason].brand));
}

struct send_job {
	const struct message_in *in;
	struct message_out *out;
	int status;
	char idem_key[130]; /* "" without Idempotency-Key */
	uint8_t idem_hash[32];
};

static int send_run(struct app_tx *t, void *arg)
{
	struct send_job *j = arg;
	j->status = message_decide_tx(t, j->in, j->out);
	/* Nothing is recorded for a relationship that is not the brand's. */
	if (j->status != APP_OK)
		return STORE_INVALID;
	if (j->idem_key[0] == '\0')
		return STORE_OK;
	/* The answer is kept in the same transaction as the effect, so a
	 * retry gets exactly it. */
	json_t *answer = message_brand_json(j->out);
	struct store_idem v = { .status = 201,
				.created_at = j->in->now_ms / 1000 };
	memcpy(v.request, j->idem_hash, 32);
	v.response = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
	json_decref(answer);
	int rc = v.response
			 ? store_idem_put(t->tx, j->in->brand, j->idem_key, &v)
			 : STORE_FAULT;
	free(v.response);
	return rc;
}

static enum app_status send_finish(void *job, int rc, struct app_error *err)
{
	struct send_job *j = job;
	if (j->status == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "relationship",
				"no such relationship");
	if (rc == STORE_CONFLICT && j->idem_key[0])
		return app_fail(err, APP_CONFLICT, "Idempotency-Key",
				"this Idempotency-Key is taken");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the message could not be recorded");
	return APP_OK;
}

enum app_status message_send_begin(struct app *a, const struct message_in *in,
				   const char *idem_key,
				   const uint8_t idem_hash[32],
				   struct message_out *out, struct app_write *w,
				   struct app_error *err)
{
	(void)a; /* the job reads what it needs */
	struct send_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	j->in = in;
	j->out = out;
	j->status = APP_FAULT;
	if (idem_key && idem_key[0]) {
		snprintf(j->idem_key, sizeof(j->idem_key), "%s", idem_key);
		memcpy(j->idem_hash, idem_hash, 32);
	}
	*w = (struct app_write){ send_run, j, false, send_finish, free };
	return APP_OK;
}

enum app_status message_idem_answer(struct app *a, uint64_t brand,
				    const char *key, const uint8_t hash[32],
				    int *status, char **response,
				    struct app_error *err)
{
	struct store_idem v;
	*response = NULL;
	int rc = store_idem_get(a->reads, brand, key, &v);
	if (rc == STORE_NOT_FOUND)
		return APP_NOT_FOUND;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	if (v.created_at < app_now_ms() / 1000 - MESSAGE_IDEM_TTL) {
		free(v.response);
		return APP_NOT_FOUND; /* expired: a new request */
	}
	if (sodium_memcmp(v.request, hash, 32) != 0) {
		free(v.response);
		return app_fail(err, APP_INVALID, "Idempotency-Key",
				"this Idempotency-Key was used for another "
				"request");
	}
	if (v.status == 0) {
		free(v.response);
		return app_fail(err, APP_CONFLICT, "Idempotency-Key",
				"a request with this Idempotency-Key is in "
				"progress, or was cut short: it is not run "
				"twice");
	}
	*status = v.status;
	*response = v.response;
	return APP_OK;
}

enum app_status message_send(struct app *a, const struct message_in *in,
			     struct message_out *out, struct app_error *err)
{
	struct message_job j = { in, out, APP_FAULT };
	int rc = app_job_run(a, message_job_run, &j, false);
	if (rc == STORE_OK)
		return APP_OK;
	if (j.status == APP_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, "relationship",
				"no such relationship");
	return app_fail(err, APP_FAULT, NULL,
			"the message could not be recorded; try again");
}

enum app_status message_release_tx(struct app_tx *t, uint64_t attempt,
				   uint64_t relationship, int channel,
				   const char *topic, int64_t now,
				   struct gate_decision *out)
{
	/* Nothing is written before these loads: when one fails the attempt
	 * is skipped (it stays held, and is tried again next round) instead
	 * of failing every other release of the round. */
	struct rel_entry *r = rel_load(t, relationship, now, 0, NULL);
	struct person_entry *p = r ? person_load(t, r->person, now) : NULL;
	if (p == NULL) {
		log_warn("scheduler: held attempt %016llx skipped: its "
			 "relationship cannot be loaded",
			 (unsigned long long)attempt);
		return APP_NOT_FOUND;
	}
	int16_t tp = GATE_TOPIC_NONE;
	if (topic && *topic) {
		int k = rel_topic(r, topic);
		tp = k >= 0 ? (int16_t)k : GATE_TOPIC_OTHER;
	}
	unsigned ch = (unsigned)channel < CHANNEL_COUNT ? (unsigned)channel : 0;
	struct gate_input gi =
		gate_input_of(t->cfg, r, p, ch, tp, now, GATE_STAGE_RELEASE);
	gi.held = r->held > 0 ? r->held - 1 : 0; /* not itself */
	gi.channel = (uint8_t)channel;
	struct gate_decision d = gate_decide(&gi);
	metrics_decision(d.outcome, d.reason);
	int rc = store_attempt_redecide(
		t->tx, attempt, d.outcome, d.reason,
		d.outcome == GATE_DELIVER ? d.folder : -1,
		d.outcome == GATE_HOLD ? d.deliver_at : 0,
		d.outcome == GATE_DELIVER ? now : 0, d.exempt);
	if (rc != STORE_OK)
		return app_from_store(rc);
	/* Leaving the queue (delivered or refused) lowers the held count;
	 * held again, it stays. */
	if (message_apply(t, r, p, ch, &d, now, -1) != APP_OK)
		return APP_FAULT;
	if (d.outcome == GATE_DELIVER &&
	    message_outbox_tx(t, r->person, attempt, STORE_OUTBOX_DELIVER, -1,
			      now) != APP_OK)
		return APP_FAULT;
	*out = d;
	return APP_OK;
}
