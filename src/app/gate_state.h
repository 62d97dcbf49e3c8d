/*
 * gate_state.h — the gate's in-memory state, owned by the writer thread:
 * for each relationship a decision needed, its compiled terms (interned:
 * shared by every relationship whose terms compile to the same bytes),
 * topic table, held count and cap windows; for each person, their
 * compiled global terms, time zone, global windows and delivery adapters.
 * Entries load on first use through the job's transaction and are
 * forgotten when what they were made of changes; every change a decision
 * makes to them is undone if its job rolls back. app/message.c decides
 * with them (docs/ARCHITECTURE.md, "How a message flows").
 */
#ifndef CMR_APP_GATE_STATE_H
#define CMR_APP_GATE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "core/channel.h"
#include "core/gate.h"
#include "core/terms.h"
#include "core/window.h"

struct store_relationship;

/* Windows only for the caps that are set: most channels of most
 * relationships have none, and a million relationships are held. */
#define WINDOW_EXEMPT CHANNEL_COUNT /* the exempt topics' slot */
struct window_set {
	struct window *w;	      /* the capped ones, packed */
	int8_t at[CHANNEL_COUNT + 1]; /* index into w; -1: no cap */
};

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

/* A million persons are held, most with a relationship or a few: the
 * flags are bits in what global leaves over, and one relationship's id
 * is kept inline (120 bytes in all, so an allocation of 128). */
struct person_entry {
	uint64_t id;
	struct global_compiled global;
	bool maildir : 1;	 /* delivered messages go to the Maildir too */
	bool maildir_copies : 1; /* it was on once: copies follow moves */
	bool webhook : 1;	 /* … and to the person's webhook */
	bool forward : 1;	 /* … and to a verified address */
	bool rels_all : 1;	 /* rels lists every one */
	const struct tz *tz;
	struct window_set wins; /* per channel */
	/* Several servers on one store (store_person_guard): the person's
	 * version as this server last moved it (-1: unknown, reload), the
	 * job that did, and the relationships loaded for the person (to
	 * forget them with the person without a walk of every entry):
	 * person_rels. */
	int64_t version;
	uint64_t guarded;
	union {
		uint64_t one;	/* while cap_rels is 0 */
		uint64_t *many; /* cap_rels of them */
	} rels;
	uint32_t n_rels, cap_rels;
};

struct gate_state *gate_state_new(void);
void gate_state_free(struct gate_state *g);

/* How many relationships and persons g holds now. The writer's thread, or
 * another once the jobs it waited for are done (tests). */
void gate_state_held(const struct gate_state *g, size_t *rels, size_t *persons);

/* Forgets what is cached about a relationship or a person (after their
 * terms changed), so the next decision reloads it. Writer thread only. */
void gate_state_forget_relationship(struct gate_state *g, uint64_t rel);
void gate_state_forget_person(struct gate_state *g, uint64_t person);

/* Once the current job's batch is durable, the gate forgets the person
 * (person != 0) and the relationship (rel != 0), so that their next
 * decision reloads what the job changed. A store status. */
int gate_state_forget_tx(struct app_tx *t, uint64_t person, uint64_t rel);

/* A counter that moves whenever cached decisions about a relationship or
 * a person may have changed (the gate forgets them, or another server
 * said so: gate_state_stale): a cache kept outside the writer (the policy
 * door's) holds an entry only while it is equal. */
uint64_t gate_state_generation(void);
/* Another server changed a person (0: someone, maybe): moves the
 * generation. Any thread (the store's listener: store_listen). */
void gate_state_stale(void *unused, uint64_t person);

/* Parses and compiles a relationship's stored terms (reading the person's
 * folder names); any thread. topics (may be NULL) gets the topic table. */
enum app_status gate_state_terms_compile(struct store_rd *reads,
					 const struct store_relationship *sr,
					 struct terms_compiled *out,
					 struct topic_table *topics_out);

/* The entries, loaded on first use (NULL when the row is missing or
 * cannot be read). With `brand` not 0 a relationship of another brand is
 * not loaded at all (*foreign tells): asking about a foreign id costs one
 * read, not a year of replay. */
struct rel_entry *gate_state_rel(struct app_tx *t, uint64_t id, int64_t now,
				 uint64_t brand, bool *foreign);
/* Makes ready at once what deciding for the relationships rels[0..n) of
 * `brand` (0: any) at `now` needs, as gate_state_rel would one by one: the
 * entries not held are read, their persons and the persons of those held
 * guarded (store_person_guard_many) and marked guarded for the job, and
 * what is missing loaded, each kind in one read (on PostgreSQL one
 * statement, not one a recipient): a campaign's chunk. What it leaves out
 * (another brand's, a row changed meanwhile) is loaded one by one. A store
 * status (STORE_RETRY: another server holds a person). */
int gate_state_prefetch(struct app_tx *t, const uint64_t *rels, size_t n,
			uint64_t brand, int64_t now);
struct person_entry *gate_state_person(struct app_tx *t, uint64_t id,
				       int64_t now);

/* The index of a topic in a relationship's table, or -1. */
int gate_state_topic(const struct rel_entry *r, const char *topic);

/* A window of a set (a channel, or WINDOW_EXEMPT): an empty stand-in
 * where no cap is set. */
struct window *gate_state_window(struct window_set *s, int slot);

/* Applies decision d to the entries, with undo: a hold raises the held
 * count, a delivery is recorded in its windows; `held_delta` is added to
 * the held count first (-1 when a held message leaves the queue). r NULL:
 * a stranger's delivery (message_stranger_tx), in the person's windows
 * only; it is never held. */
int gate_state_apply(struct app_tx *t, struct rel_entry *r,
		     struct person_entry *p, unsigned ch,
		     const struct gate_decision *d, int64_t now,
		     int held_delta);

#endif
