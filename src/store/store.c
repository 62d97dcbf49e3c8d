/*
 * store.c — picks a backend by URL scheme and dispatches the public
 * store_* calls to it (see store.h); also the record helpers and key
 * generation, which are the same for every backend.
 */
#include "store.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static const struct store_ops *const store_backends[] = {
	&store_sqlite_ops,
	&store_pg_ops,
	&store_postgres_ops,
};

int store_open(const char *url, struct store **out, char *err, size_t errlen)
{
	return store_open_as(url, NULL, out, err, errlen);
}

int store_open_as(const char *url, const char *client, struct store **out,
		  char *err, size_t errlen)
{
	const char *colon = strchr(url, ':');

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return STORE_FAULT;
	}
	if (colon == NULL) {
		snprintf(err, errlen,
			 "store URL \"%s\" has no scheme (try sqlite:PATH or "
			 "postgresql://USER@HOST/DB)",
			 url);
		return STORE_INVALID;
	}
	size_t n = (size_t)(colon - url);
	for (size_t i = 0; i < sizeof(store_backends) / sizeof(*store_backends);
	     i++) {
		const struct store_ops *ops = store_backends[i];
		if (strlen(ops->scheme) == n &&
		    strncmp(ops->scheme, url, n) == 0)
			return ops->open(colon + 1, client, out, err, errlen);
	}
	snprintf(err, errlen,
		 "store URL scheme \"%.*s\" is not supported (use "
		 "sqlite:PATH or postgresql://USER@HOST/DB)",
		 (int)n, url);
	return STORE_INVALID;
}

int store_migrate(struct store *s, int *applied, int *version)
{
	return s->ops->migrate(s, applied, version);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_write(struct store *s, store_job_fn fn, void *arg)
{
	return s->ops->write(s, fn, arg, NULL, true, false);
}

int store_write_alone(struct store *s, store_job_fn fn, void *arg)
{
	return s->ops->write(s, fn, arg, NULL, true, true);
}

int store_write_async_ex(struct store *s, store_job_fn fn, void *arg,
			 store_done_fn done, bool alone)
{
	return s->ops->write(s, fn, arg, done, false, alone);
}

int store_write_async(struct store *s, store_job_fn fn, void *arg,
		      store_done_fn done)
{
	return s->ops->write(s, fn, arg, done, false, false);
}

int store_tx_on_commit(struct store_tx *tx, store_hook_fn fn, void *arg)
{
	return tx->store->ops->tx_hook(tx, true, fn, arg);
}

int store_tx_on_rollback(struct store_tx *tx, store_hook_fn fn, void *arg)
{
	return tx->store->ops->tx_hook(tx, false, fn, arg);
}

uint64_t store_tx_job(const struct store_tx *tx)
{
	return tx->job;
}

void store_tx_checkpoint(struct store_tx *tx)
{
	tx->store->ops->tx_checkpoint(tx);
}

struct store_rd *store_reads(struct store *s)
{
	return &s->reads;
}

struct store_rd *store_tx_reads(struct store_tx *tx)
{
	return &tx->reads;
}

int store_person_guard(struct store_tx *tx, uint64_t person, bool notify,
		       int64_t *version)
{
	int64_t v = 0;
	int rc = tx->store->ops->person_guard(tx, person, notify, &v);
	if (version)
		*version = v;
	return rc;
}

int store_person_guard_many(struct store_tx *tx, const uint64_t *persons,
			    size_t n, store_guard_cb cb, void *arg)
{
	if (tx->store->ops->person_guard_many)
		return tx->store->ops->person_guard_many(tx, persons, n, cb,
							 arg);
	for (size_t i = 0; i < n; i++) {
		int64_t v = 0;
		int rc =
			tx->store->ops->person_guard(tx, persons[i], false, &v);
		if (rc == STORE_NOT_FOUND)
			continue;
		if (rc != STORE_OK)
			return rc;
		if (cb(arg, persons[i], v) != 0)
			return STORE_FAULT;
	}
	return STORE_OK;
}

bool store_shared(struct store *s)
{
	return s->ops->throttle != NULL;
}

int store_throttle_wait(struct store *s, const char *key, int64_t now,
			int64_t *wait)
{
	*wait = 0;
	return s->ops->throttle ? s->ops->throttle(s, 0, key, now, 0, wait)
				: STORE_INVALID;
}

int store_throttle_fail(struct store *s, const char *key, int64_t now,
			int64_t window, int64_t *failures)
{
	*failures = 0;
	return s->ops->throttle
		       ? s->ops->throttle(s, 1, key, now, window, failures)
		       : STORE_INVALID;
}

int store_throttle_lock(struct store *s, const char *key, int64_t until)
{
	int64_t unused;
	return s->ops->throttle ? s->ops->throttle(s, 2, key, until, 0, &unused)
				: STORE_INVALID;
}

int store_throttle_reset(struct store *s, const char *key)
{
	int64_t unused;
	return s->ops->throttle ? s->ops->throttle(s, 3, key, 0, 0, &unused)
				: STORE_INVALID;
}

int store_listen(struct store *s, store_notify_fn fn, bool (*relocked)(void *),
		 void *arg)
{
	return s->ops->listen ? s->ops->listen(s, fn, relocked, arg) : STORE_OK;
}

int64_t store_unreachable_since(struct store *s)
{
	return s->ops->unreachable_since ? s->ops->unreachable_since(s) : 0;
}

void store_writer_stats(struct store *s, struct store_writer_stats *out)
{
	s->ops->writer_stats(s, out);
}

#define TX_OPS(tx) ((tx)->store->ops)

void store_read_begin(struct store *s)
{
	s->ops->read_begin(s);
}

void store_read_end(struct store *s)
{
	s->ops->read_end(s);
}

int store_person_insert(struct store_tx *tx, const struct store_person *p)
{
	return TX_OPS(tx)->person_insert(tx, p);
}

int store_person_insert_many(struct store_tx *tx, const struct store_person *p,
			     size_t n)
{
	return TX_OPS(tx)->person_insert_many(tx, p, n);
}

int store_proposal_insert_many(struct store_tx *tx,
			       const struct store_proposal *p, size_t n)
{
	return TX_OPS(tx)->proposal_insert_many(tx, p, n);
}

int store_relationship_insert_many(struct store_tx *tx,
				   const struct store_relationship *r, size_t n)
{
	return TX_OPS(tx)->relationship_insert_many(tx, r, n);
}

int store_attempt_insert_many(struct store_tx *tx,
			      const struct store_attempt *a, size_t n)
{
	return TX_OPS(tx)->attempt_insert_many(tx, a, n);
}

int store_person_get(struct store_rd *rd, uint64_t id, const char *handle,
		     struct store_person *out)
{
	return rd->store->ops->person_get(rd, id, handle, out);
}

int store_person_list(struct store_rd *rd, uint64_t after, int limit,
		      store_person_cb cb, void *arg)
{
	return rd->store->ops->person_list(rd, after, limit, cb, arg);
}

int store_person_set(struct store_tx *tx, uint64_t id,
		     enum store_person_field field, const char *value)
{
	return TX_OPS(tx)->person_set(tx, id, field, value);
}

int store_token_insert(struct store_tx *tx, const struct store_token *t)
{
	return TX_OPS(tx)->token_insert(tx, t);
}

int store_token_by_id(struct store_rd *rd, uint64_t id, struct store_token *out)
{
	return rd->store->ops->token_by_id(rd, id, out);
}

int store_token_revoke(struct store_tx *tx, uint64_t person, uint64_t id,
		       bool others, int64_t at)
{
	return TX_OPS(tx)->token_revoke(tx, person, id, others, at);
}

int store_token_touch(struct store_tx *tx, uint64_t id, int64_t at)
{
	return TX_OPS(tx)->token_touch(tx, id, at);
}

int store_token_list(struct store_rd *rd, uint64_t person, int64_t now,
		     store_token_cb cb, void *arg)
{
	return rd->store->ops->token_list(rd, person, now, cb, arg);
}

int store_brand_insert(struct store_tx *tx, const struct store_brand *b)
{
	return TX_OPS(tx)->brand_insert(tx, b);
}

int store_brand_get(struct store_rd *rd, uint64_t id, const char *name,
		    struct store_brand *out)
{
	return rd->store->ops->brand_get(rd, id, name, out);
}

int store_brand_list(struct store_rd *rd, uint64_t after, int limit,
		     store_brand_cb cb, void *arg)
{
	return rd->store->ops->brand_list(rd, after, limit, cb, arg);
}

int store_brand_set_key(struct store_tx *tx, uint64_t id,
			const uint8_t key_hash[32], int64_t at)
{
	return TX_OPS(tx)->brand_set_key(tx, id, key_hash, at);
}

int store_brand_key_hash(struct store_rd *rd, uint64_t id, uint8_t hash[32])
{
	return rd->store->ops->brand_key_hash(rd, id, hash);
}

int store_person_profile(struct store_rd *rd, uint64_t id, uint8_t *data_key,
			 size_t *data_key_len, char **profile)
{
	return rd->store->ops->person_profile(rd, id, data_key, data_key_len,
					      profile);
}

int store_brand_by_domain(struct store_rd *rd, const char *domain,
			  uint64_t *brand)
{
	return rd->store->ops->brand_by_domain(rd, domain, brand);
}

int store_code_insert(struct store_tx *tx, const uint8_t hash[32],
		      uint64_t person, int64_t expires_at)
{
	return TX_OPS(tx)->code_insert(tx, hash, person, expires_at);
}

int store_code_use(struct store_tx *tx, const uint8_t hash[32], int64_t now,
		   uint64_t *person)
{
	return TX_OPS(tx)->code_use(tx, hash, now, person);
}

int store_proposal_list_person(struct store_rd *rd, uint64_t person,
			       uint64_t after, int limit, store_proposal_cb cb,
			       void *arg)
{
	return rd->store->ops->proposal_list_person(rd, person, after, limit,
						    cb, arg);
}

int store_relationship_list(struct store_rd *rd,
			    const struct store_relationship_filter *f,
			    store_relationship_cb cb, void *arg)
{
	return rd->store->ops->relationship_list(rd, f, cb, arg);
}

int store_field_read(struct store_tx *tx, uint64_t relationship,
		     uint64_t person, int64_t day, int64_t n, bool *first)
{
	return TX_OPS(tx)->field_read(tx, relationship, person, day, n, first);
}

int store_attempt_list(struct store_rd *rd,
		       const struct store_attempt_filter *f,
		       store_attempt_cb cb, void *arg)
{
	return rd->store->ops->attempt_list(rd, f, cb, arg);
}

int store_proposal_insert(struct store_tx *tx, const struct store_proposal *p)
{
	return TX_OPS(tx)->proposal_insert(tx, p);
}

int store_proposal_by_id(struct store_rd *rd, uint64_t id,
			 struct store_proposal *out)
{
	return rd->store->ops->proposal_by_id(rd, id, out);
}

int store_proposal_open(struct store_rd *rd, uint64_t person, uint64_t brand,
			int64_t now, int *open)
{
	return rd->store->ops->proposal_open(rd, person, brand, now, open);
}

int store_proposal_decide(struct store_tx *tx, uint64_t id, const char *state,
			  uint64_t relationship, int64_t at)
{
	return TX_OPS(tx)->proposal_decide(tx, id, state, relationship, at);
}

int store_relationship_insert(struct store_tx *tx,
			      const struct store_relationship *r)
{
	return TX_OPS(tx)->relationship_insert(tx, r);
}

int store_relationship_get(struct store_rd *rd, uint64_t id, const char *alias,
			   struct store_relationship *out)
{
	return rd->store->ops->relationship_get(rd, id, alias, out);
}

int store_relationship_set_state(struct store_tx *tx, uint64_t id, int state,
				 int64_t at)
{
	return TX_OPS(tx)->relationship_set_state(tx, id, state, at);
}

int store_relationship_set_terms(struct store_tx *tx,
				 const struct store_relationship *r, int64_t at)
{
	return TX_OPS(tx)->relationship_set_terms(tx, r, at);
}

int store_relationship_take_over(struct store_tx *tx, uint64_t id,
				 uint64_t person, uint64_t brand,
				 uint64_t proposal)
{
	return TX_OPS(tx)->relationship_take_over(tx, id, person, brand,
						  proposal);
}

int store_attempt_insert(struct store_tx *tx, const struct store_attempt *a)
{
	return TX_OPS(tx)->attempt_insert(tx, a);
}

int store_delivery_list(struct store_rd *rd, uint64_t relationship,
			uint64_t person, int64_t since, store_delivery_cb cb,
			void *arg)
{
	return rd->store->ops->delivery_list(rd, relationship, person, since,
					     cb, arg);
}

int store_attempt_update(struct store_tx *tx, uint64_t person, uint64_t id,
			 int read, int folder)
{
	return TX_OPS(tx)->attempt_update(tx, person, id, read, folder);
}

int store_folder_empty(struct store_tx *tx, uint64_t person, int folder,
		       int64_t *n)
{
	return TX_OPS(tx)->folder_empty(tx, person, folder, n);
}

int store_attempt_remove(struct store_tx *tx, uint64_t person, uint64_t id)
{
	return TX_OPS(tx)->attempt_remove(tx, person, id);
}

int store_person_bounce(struct store_tx *tx, uint64_t id, int64_t at)
{
	return TX_OPS(tx)->person_bounce(tx, id, at);
}

int store_relationship_set_unsubscribe(struct store_tx *tx, uint64_t id,
				       const char *uri)
{
	return TX_OPS(tx)->relationship_set_unsubscribe(tx, id, uri);
}

int store_outbox_add(struct store_tx *tx, const struct store_outbox *o)
{
	return TX_OPS(tx)->outbox_add(tx, o);
}

int store_outbox_due(struct store_rd *rd, int64_t now, bool local, int limit,
		     store_outbox_cb cb, void *arg)
{
	return rd->store->ops->outbox_due(rd, now, local, limit, cb, arg);
}

int store_outbox_settle(struct store_tx *tx, uint64_t person, uint64_t id,
			int tries, int64_t next_at, const char *error)
{
	return TX_OPS(tx)->outbox_settle(tx, person, id, tries, next_at, error);
}

int store_outbox_count(struct store_rd *rd, uint64_t person, int64_t *pending,
		       int64_t *failing, char *last_error, size_t size)
{
	return rd->store->ops->outbox_count(rd, person, pending, failing,
					    last_error, size);
}

int store_reply_insert(struct store_tx *tx, const struct store_reply *r)
{
	return TX_OPS(tx)->reply_insert(tx, r);
}

int store_reply_get(struct store_rd *rd, uint64_t id, struct store_reply *out)
{
	return rd->store->ops->reply_get(rd, id, out);
}

int store_reply_list(struct store_rd *rd, uint64_t person, uint64_t answers,
		     uint64_t before, int limit, store_reply_cb cb, void *arg)
{
	return rd->store->ops->reply_list(rd, person, answers, before, limit,
					  cb, arg);
}

int store_reply_settle(struct store_tx *tx, uint64_t id, int state, int64_t at)
{
	return TX_OPS(tx)->reply_settle(tx, id, state, at);
}

void store_reply_clear(struct store_reply *r)
{
	free(r->recipient);
	free(r->subject);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

int store_message_get(struct store_rd *rd, uint64_t id,
		      struct store_message *out)
{
	return rd->store->ops->message_get(rd, id, out);
}

int store_attempt_plain(struct store_rd *rd, int limit, store_content_cb cb,
			void *arg)
{
	return rd->store->ops->attempt_plain(rd, limit, cb, arg);
}

int store_attempt_seal(struct store_tx *tx,
		       const struct store_attempt_content *c)
{
	return TX_OPS(tx)->attempt_seal(tx, c);
}

void store_message_clear(struct store_message *m)
{
	free(m->subject);
	free(m->headers);
	free(m->body);
	sodium_memzero(m, sizeof(*m));
}

int store_person_erase(struct store_tx *tx, uint64_t person,
		       const char *handle_tombstone,
		       const char *default_global_terms, int64_t at)
{
	return TX_OPS(tx)->person_erase(tx, person, handle_tombstone,
					default_global_terms, at);
}

void store_set_codec(struct store *s, const struct store_codec *c)
{
	s->codec = c;
}

int store_seal_clear(struct store_tx *tx, int limit, int64_t *n)
{
	return TX_OPS(tx)->seal_clear(tx, limit, n);
}

int store_expiring(struct store_rd *rd, const char *now, const char *until,
		   store_expiring_cb cb, void *arg)
{
	return rd->store->ops->expiring(rd, now, until, cb, arg);
}

int store_notice_insert(struct store_tx *tx, uint64_t relationship,
			const char *kind, const char *about, uint64_t person,
			int64_t at)
{
	return TX_OPS(tx)->notice_insert(tx, relationship, kind, about, person,
					 at);
}

int store_purge(struct store_tx *tx, struct store_purge *p)
{
	return TX_OPS(tx)->purge(tx, p);
}

int store_held_due(struct store_rd *rd, int64_t now, int limit,
		   store_held_cb cb, void *arg)
{
	return rd->store->ops->held_due(rd, now, limit, cb, arg);
}

int store_attempt_redecide(struct store_tx *tx, uint64_t id, int decision,
			   int reason, int folder, int64_t deliver_at,
			   int64_t decided_at, bool exempt, int64_t now)
{
	return TX_OPS(tx)->attempt_redecide(tx, id, decision, reason, folder,
					    deliver_at, decided_at, exempt,
					    now);
}

int store_attempt_of_brand(struct store_rd *rd, uint64_t id,
			   struct store_brand_attempt *out)
{
	return rd->store->ops->attempt_of_brand(rd, id, out);
}

int store_held_due_now(struct store_tx *tx, uint64_t person, uint64_t rel,
		       int64_t now, int64_t *n)
{
	return TX_OPS(tx)->held_due_now(tx, person, rel, now, n);
}

int store_attempt_discard(struct store_tx *tx, uint64_t id, int reason)
{
	return TX_OPS(tx)->attempt_discard(tx, id, reason);
}

int store_attempt_dup(struct store_rd *rd, uint64_t relationship,
		      const uint8_t dedup[16], bool *found)
{
	return rd->store->ops->attempt_dup(rd, relationship, dedup, found);
}

int store_held_count(struct store_rd *rd, uint64_t relationship, uint32_t *out)
{
	return rd->store->ops->held_count(rd, relationship, out);
}

int store_person_get_many(struct store_rd *rd, const uint64_t *ids, size_t n,
			  store_person_cb cb, void *arg)
{
	return rd->store->ops->person_get_many(rd, ids, n, cb, arg);
}

int store_relationship_get_many(struct store_rd *rd, const uint64_t *ids,
				size_t n, store_relationship_cb cb, void *arg)
{
	return rd->store->ops->relationship_get_many(rd, ids, n, cb, arg);
}

int store_delivery_list_many(struct store_rd *rd, bool persons,
			     const uint64_t *keys, size_t n, int64_t since,
			     store_delivery_many_cb cb, void *arg)
{
	return rd->store->ops->delivery_list_many(rd, persons, keys, n, since,
						  cb, arg);
}

int store_held_count_many(struct store_rd *rd, const uint64_t *rels, size_t n,
			  store_count_cb cb, void *arg)
{
	return rd->store->ops->held_count_many(rd, rels, n, cb, arg);
}

int store_idem_get(struct store_rd *rd, uint64_t brand, const char *key,
		   struct store_idem *out)
{
	return rd->store->ops->idem_get(rd, brand, key, out);
}

int store_idem_put(struct store_tx *tx, uint64_t brand, const char *key,
		   const struct store_idem *v)
{
	return TX_OPS(tx)->idem_put(tx, brand, key, v);
}

int store_idem_finish(struct store_tx *tx, uint64_t brand, const char *key,
		      int status, const char *response)
{
	return TX_OPS(tx)->idem_finish(tx, brand, key, status, response);
}

int store_campaign_insert(struct store_tx *tx, const struct store_campaign *c)
{
	return TX_OPS(tx)->campaign_insert(tx, c);
}

int store_campaign_count(struct store_tx *tx, uint64_t id, int64_t total,
			 int64_t accepted)
{
	return TX_OPS(tx)->campaign_count(tx, id, total, accepted);
}

int store_campaign_get(struct store_rd *rd, uint64_t id,
		       struct store_campaign_row *out)
{
	return rd->store->ops->campaign_get(rd, id, out);
}

int store_campaign_refusals(struct store_rd *rd, uint64_t campaign,
			    store_refusal_cb cb, void *arg)
{
	return rd->store->ops->campaign_refusals(rd, campaign, cb, arg);
}

int store_campaign_recipients(struct store_rd *rd, uint64_t campaign, int state,
			      int64_t since, uint64_t after, int limit,
			      store_brand_attempt_cb cb, void *arg)
{
	return rd->store->ops->campaign_recipients(rd, campaign, state, since,
						   after, limit, cb, arg);
}

int store_relationship_keys_brand(struct store_rd *rd, uint64_t brand,
				  uint64_t after, int limit, store_key_cb cb,
				  void *arg)
{
	return rd->store->ops->relationship_keys_brand(rd, brand, after, limit,
						       cb, arg);
}

int store_ledger_append(struct store_tx *tx, const struct store_ledger_entry *e)
{
	return TX_OPS(tx)->ledger_append(tx, e);
}

int store_ledger_head(struct store_rd *rd, uint64_t person,
		      struct store_ledger_entry *out)
{
	return rd->store->ops->ledger_head(rd, person, out);
}

int store_ledger_list(struct store_rd *rd, uint64_t person, int64_t after,
		      int limit, store_ledger_cb cb, void *arg)
{
	return rd->store->ops->ledger_list(rd, person, after, limit, cb, arg);
}

int store_ledger_head_save(struct store_tx *tx, uint64_t person, int64_t seq,
			   const uint8_t hash[32], const char *note, int64_t at)
{
	return TX_OPS(tx)->ledger_head_save(tx, person, seq, hash, note, at);
}

int store_ledger_signed_head(struct store_rd *rd, uint64_t person, char **note)
{
	return rd->store->ops->ledger_signed_head(rd, person, note);
}

int store_key_facts(struct store_rd *rd, struct store_key_facts *out)
{
	return rd->store->ops->key_facts(rd, out);
}

int store_key_id_add(struct store_tx *tx, const char *kind, const char *id,
		     int64_t at)
{
	return tx->store->ops->key_id_add(tx, kind, id, at);
}

int store_key_wrap_set(struct store_tx *tx, const char *id, int64_t at)
{
	return tx->store->ops->key_wrap_set(tx, id, at);
}

int store_key_wrap_fence(struct store_tx *tx, const char *id)
{
	return tx->store->ops->key_wrap_fence(tx, id);
}

int store_person_keys_after(struct store_rd *rd, int64_t after, int limit,
			    store_person_key_fn fn, void *arg)
{
	return rd->store->ops->person_keys_after(rd, after, limit, fn, arg);
}

int store_person_key_set(struct store_tx *tx, uint64_t person, const void *old,
			 size_t old_len, const void *wrapped, size_t len)
{
	return tx->store->ops->person_key_set(tx, person, old, old_len, wrapped,
					      len);
}

int store_lock(struct store *s, enum store_lock_mode mode, char *err,
	       size_t errlen)
{
	return s->ops->lock(s, mode, err, errlen);
}

void store_person_clear(struct store_person *p)
{
	free(p->profile);
	free(p->global_terms);
	free(p->folders);
	free(p->delivery);
	sodium_memzero(p, sizeof(*p));
}

void store_brand_clear(struct store_brand *b)
{
	free(b->controller);
	free(b->domains);
	memset(b, 0, sizeof(*b));
}

void store_proposal_clear(struct store_proposal *p)
{
	free(p->value);
	free(p->ask);
	memset(p, 0, sizeof(*p));
}

void store_relationship_clear(struct store_relationship *r)
{
	free(r->terms);
	free(r->topics);
	free(r->unsubscribe);
	free(r->brand_name);
	free(r->domains);
	memset(r, 0, sizeof(*r));
}

void store_ledger_entry_clear(struct store_ledger_entry *e)
{
	free(e->data);
	memset(e, 0, sizeof(*e));
}

uint64_t store_new_key(void)
{
	uint64_t k;

	do {
		randombytes_buf(&k, sizeof(k));
		k &= INT64_MAX; /* fits a signed BIGINT */
	} while (k == 0);
	return k;
}

uint64_t store_new_time_key(int64_t now_ms)
{
	static _Atomic uint32_t counter;
	static const int64_t epoch_2020_ms = 1577836800000LL;
	uint32_t c = atomic_fetch_add(&counter, 1);

	/* First use: start at a random point. The counter must move past the
	 * value used here, or the next call returns the same key. */
	if (c == 0) {
		c = randombytes_random();
		atomic_store(&counter, c + 1);
	}
	int64_t ms = now_ms - epoch_2020_ms;
	if (ms < 0)
		ms = 0;
	return ((uint64_t)ms << 22) | (c & 0x3fffffu);
}

void store_own_address_clear(struct store_own_address *o)
{
	free(o->blocked);
	o->blocked = NULL;
}

int store_own_address_get(struct store_rd *rd, uint64_t person,
			  const char *address, struct store_own_address *out)
{
	return rd->store->ops->own_address_get(rd, person, address, out);
}

int store_own_address_put(struct store_tx *tx,
			  const struct store_own_address *o)
{
	return TX_OPS(tx)->own_address_put(tx, o);
}

int store_own_address_delete(struct store_tx *tx, uint64_t person)
{
	return TX_OPS(tx)->own_address_delete(tx, person);
}
