/*
 * rcpt.c — the recipient check at RCPT time (see rcpt.h).
 */
#include "app/rcpt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "app/gate_state.h"
#include "app/message.h"
#include "app/reply.h"
#include "core/channel.h"
#include "core/gate.h"
#include "core/terms.h"
#include "store/store.h"

#define RCPT_SLOTS   16384 /* direct-mapped by alias */
#define RCPT_STRIPES 64	   /* locks over the slots */

/* What the RCPT stage reads of a relationship and its person. */
struct rcpt_facts {
	uint64_t relationship;
	int64_t expires_at; /* 0: never */
	uint8_t state;	    /* enum rel_state */
	uint8_t channels;   /* granted */
	uint8_t do_not_contact;
	bool silent;
};

struct rcpt_slot {
	uint64_t generation; /* 0: empty */
	char alias[160];
	struct rcpt_facts f;
};

struct rcpt_cache {
	pthread_mutex_t locks[RCPT_STRIPES];
	struct rcpt_slot slots[RCPT_SLOTS];
};

struct rcpt_cache *rcpt_cache_new(void)
{
	struct rcpt_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	for (int i = 0; i < RCPT_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

void rcpt_cache_free(struct rcpt_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < RCPT_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c);
}

static size_t rcpt_slot_of(const char *alias)
{
	uint64_t h;
	static const uint8_t key[crypto_shorthash_KEYBYTES] = { 0 };
	crypto_shorthash((uint8_t *)&h, (const uint8_t *)alias, strlen(alias),
			 key);
	return (size_t)(h % RCPT_SLOTS);
}

/* The facts from the store (a reader): APP_OK, APP_NOT_FOUND when the
 * alias is unknown, APP_FAULT. */
static enum app_status rcpt_load(struct app *a, const char *alias,
				 struct rcpt_facts *f)
{
	struct store_relationship sr;
	struct store_person sp;
	int rc = store_relationship_get(a->reads, 0, alias, &sr);
	if (rc == STORE_NOT_FOUND)
		return APP_NOT_FOUND;
	if (rc != STORE_OK)
		return APP_FAULT;
	struct terms_compiled *tc = malloc(sizeof(*tc));
	if (tc == NULL ||
	    gate_state_terms_compile(a->reads, &sr, tc, NULL) != APP_OK ||
	    store_person_get(a->reads, sr.person, NULL, &sp) != STORE_OK) {
		free(tc);
		store_relationship_clear(&sr);
		return APP_FAULT;
	}
	struct global_terms gt;
	struct global_compiled gc;
	struct terms_error terr;
	json_t *j = json_loads(sp.global_terms, 0, NULL);
	rc = j ? global_terms_parse(j, &gt, &terr) : -1;
	json_decref(j);
	store_person_clear(&sp);
	if (rc == 0) {
		global_terms_compile(&gt, &gc);
		*f = (struct rcpt_facts){
			.relationship = sr.id,
			.expires_at = tc->expires_at,
			.state = (uint8_t)sr.state,
			.channels = tc->channels,
			.do_not_contact = gc.do_not_contact,
			.silent = gc.silent != 0,
		};
	}
	free(tc);
	store_relationship_clear(&sr);
	return rc == 0 ? APP_OK : APP_FAULT;
}

/* Rows 1 and 3–6, by the gate itself, on the facts. */
static struct gate_decision rcpt_decide(const struct rcpt_facts *f, int64_t now)
{
	struct terms_compiled t;
	struct global_compiled g;
	memset(&t, 0, sizeof(t));
	memset(&g, 0, sizeof(g));
	t.expires_at = f->expires_at;
	t.channels = f->channels;
	g.do_not_contact = f->do_not_contact;
	struct gate_input in = {
		.terms = &t,
		.global = &g,
		.now = now,
		.topic = GATE_TOPIC_NONE,
		.stage = GATE_STAGE_RCPT,
		.channel = CHANNEL_EMAIL,
		.rel_state = f->state,
		.alias_known = true,
		.sender_is_brand = true,
	};
	return gate_decide(&in);
}

struct rcpt_job {
	uint64_t relationship;
	const char *sender;
	int64_t now_ms;
	bool reject;
};

static int rcpt_job_run(struct app_tx *t, void *arg)
{
	struct rcpt_job *j = arg;
	struct message_out out;
	if (message_rcpt_tx(t, j->relationship, j->sender, j->now_ms, &out) !=
	    APP_OK)
		return STORE_FAULT; /* nothing of it stays */
	j->reject = out.decision.outcome == GATE_REFUSE && !out.silent;
	return STORE_OK;
}

enum rcpt_verdict rcpt_check(struct app *a, struct rcpt_cache *c,
			     const char *alias, const char *sender,
			     int64_t now_ms)
{
	/* A reply address is decided with its message (app/reply.h): who
	 * sent it is known only then. */
	if (reply_is_address(a, alias))
		return RCPT_PASS;
	size_t slot = rcpt_slot_of(alias);
	pthread_mutex_t *lock = &c->locks[slot % RCPT_STRIPES];
	struct rcpt_slot *s = &c->slots[slot];
	uint64_t gen = gate_state_generation() + 1; /* 0 is "empty" */
	struct rcpt_facts f;
	bool hit = false;
	pthread_mutex_lock(lock);
	if (s->generation == gen && strcmp(s->alias, alias) == 0) {
		f = s->f;
		hit = true;
	}
	pthread_mutex_unlock(lock);
	if (!hit) {
		/* gen was read before the store: a change committed after
		 * it moves the generation, and this entry is not used. */
		enum app_status rc = rcpt_load(a, alias, &f);
		if (rc != APP_OK)
			return rc == APP_NOT_FOUND ? RCPT_REJECT : RCPT_FAULT;
		if (strlen(alias) < sizeof(s->alias)) {
			pthread_mutex_lock(lock);
			s->generation = gen;
			memcpy(s->alias, alias, strlen(alias) + 1);
			s->f = f;
			pthread_mutex_unlock(lock);
		}
	}
	struct gate_decision d = rcpt_decide(&f, now_ms / 1000);
	if (d.outcome != GATE_REFUSE || f.silent)
		return RCPT_PASS;
	/* A refusal is decided again on the writer, against the gate's own
	 * state, and recorded before it is answered. */
	struct rcpt_job j = { f.relationship, sender, now_ms, false };
	if (app_job_run(a, rcpt_job_run, &j, false) != STORE_OK)
		return RCPT_FAULT;
	return j.reject ? RCPT_REJECT : RCPT_PASS;
}
