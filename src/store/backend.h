/*
 * backend.h — what a storage backend implements (private to src/store).
 *
 * A backend embeds struct store first in its own store struct and struct
 * store_tx first in its transaction struct, and fills a struct store_ops.
 * store.c dispatches the public store_* calls through it.
 */
#ifndef CMR_STORE_BACKEND_H
#define CMR_STORE_BACKEND_H

#include "store.h"

/* What a backend implements: one entry per store_* operation of store.h
 * (the entry named X implements store_X, with the contract written
 * there), so that store.c only dispatches. A backend fills every entry.
 * The writer's entries: write runs a job (wait: return its status, else
 * done later; alone: end its batch after it), tx_hook registers a commit
 * (commit true) or rollback hook. */
struct store_ops {
	const char *scheme; /* URL scheme: "sqlite" */
	int (*open)(const char *rest, const char *client, struct store **out,
		    char *err, size_t errlen);
	int (*migrate)(struct store *s, int *applied, int *version);
	void (*close)(struct store *s);
	int (*write)(struct store *s, store_job_fn fn, void *arg,
		     store_done_fn done, bool wait, bool alone);
	int (*tx_hook)(struct store_tx *tx, bool commit, store_hook_fn fn,
		       void *arg);
	void (*tx_checkpoint)(struct store_tx *tx);
	void (*writer_stats)(struct store *s, struct store_writer_stats *out);
	void (*read_begin)(struct store *s);
	void (*read_end)(struct store *s);

	int (*person_insert)(struct store_tx *, const struct store_person *);
	/* Many rows at once (store.h's store_X_insert_many). */
	int (*person_insert_many)(struct store_tx *,
				  const struct store_person *, size_t);
	int (*proposal_insert_many)(struct store_tx *,
				    const struct store_proposal *, size_t);
	int (*relationship_insert_many)(struct store_tx *,
					const struct store_relationship *,
					size_t);
	int (*attempt_insert_many)(struct store_tx *,
				   const struct store_attempt *, size_t);
	int (*person_get_many)(struct store_rd *, const uint64_t *, size_t,
			       store_person_cb, void *);
	int (*relationship_get_many)(struct store_rd *, const uint64_t *,
				     size_t, store_relationship_cb, void *);
	int (*delivery_list_many)(struct store_rd *, bool, const uint64_t *,
				  size_t, int64_t, store_delivery_many_cb,
				  void *);
	int (*held_count_many)(struct store_rd *, const uint64_t *, size_t,
			       store_count_cb, void *);
	/* store_person_guard_many, or NULL: store_person_guard for each. */
	int (*person_guard_many)(struct store_tx *, const uint64_t *, size_t,
				 store_guard_cb, void *);
	int (*person_get)(struct store_rd *, uint64_t, const char *,
			  struct store_person *);
	int (*person_profile)(struct store_rd *, uint64_t, uint8_t *, size_t *,
			      char **);
	int (*person_list)(struct store_rd *, uint64_t, int, store_person_cb,
			   void *);
	int (*person_set)(struct store_tx *, uint64_t, enum store_person_field,
			  const char *);
	int (*person_bounce)(struct store_tx *, uint64_t, int64_t);
	int (*person_erase)(struct store_tx *, uint64_t, const char *,
			    const char *, int64_t);
	int (*seal_clear)(struct store_tx *, int, int64_t *);

	int (*token_insert)(struct store_tx *, const struct store_token *);
	int (*token_by_id)(struct store_rd *, uint64_t, struct store_token *);
	int (*token_revoke)(struct store_tx *, uint64_t, uint64_t, bool,
			    int64_t);
	int (*token_touch)(struct store_tx *, uint64_t, int64_t);
	int (*token_list)(struct store_rd *, uint64_t, int64_t, store_token_cb,
			  void *);
	int (*code_insert)(struct store_tx *, const uint8_t *, uint64_t,
			   int64_t);
	int (*code_use)(struct store_tx *, const uint8_t *, int64_t,
			uint64_t *);

	int (*brand_insert)(struct store_tx *, const struct store_brand *);
	int (*brand_get)(struct store_rd *, uint64_t, const char *,
			 struct store_brand *);
	int (*brand_list)(struct store_rd *, uint64_t, int, store_brand_cb,
			  void *);
	int (*brand_set_key)(struct store_tx *, uint64_t, const uint8_t *,
			     int64_t);
	int (*brand_key_hash)(struct store_rd *, uint64_t, uint8_t *);
	int (*brand_by_domain)(struct store_rd *, const char *, uint64_t *);

	int (*proposal_insert)(struct store_tx *,
			       const struct store_proposal *);
	int (*proposal_by_id)(struct store_rd *, uint64_t,
			      struct store_proposal *);
	int (*proposal_list_person)(struct store_rd *, uint64_t, uint64_t, int,
				    store_proposal_cb, void *);
	int (*proposal_decide)(struct store_tx *, uint64_t, const char *,
			       uint64_t, int64_t);
	int (*proposal_open)(struct store_rd *, uint64_t, uint64_t, int64_t,
			     int *);

	int (*relationship_insert)(struct store_tx *,
				   const struct store_relationship *);
	int (*relationship_get)(struct store_rd *, uint64_t, const char *,
				struct store_relationship *);
	int (*relationship_list)(struct store_rd *,
				 const struct store_relationship_filter *,
				 store_relationship_cb, void *);
	int (*relationship_keys_brand)(struct store_rd *, uint64_t, uint64_t,
				       int, store_key_cb, void *);
	int (*relationship_set_state)(struct store_tx *, uint64_t, int,
				      int64_t);
	int (*relationship_set_terms)(struct store_tx *,
				      const struct store_relationship *,
				      int64_t);
	int (*relationship_set_unsubscribe)(struct store_tx *, uint64_t,
					    const char *);
	int (*relationship_take_over)(struct store_tx *, uint64_t, uint64_t,
				      uint64_t, uint64_t);
	int (*field_read)(struct store_tx *, uint64_t, uint64_t, int64_t,
			  int64_t, bool *);
	int (*expiring)(struct store_rd *, const char *, const char *,
			store_expiring_cb, void *);
	int (*notice_insert)(struct store_tx *, uint64_t, const char *,
			     const char *, uint64_t, int64_t);

	int (*attempt_insert)(struct store_tx *, const struct store_attempt *);
	int (*attempt_dup)(struct store_rd *, uint64_t, const uint8_t *,
			   bool *);
	int (*held_count)(struct store_rd *, uint64_t, uint32_t *);
	int (*delivery_list)(struct store_rd *, uint64_t, uint64_t, int64_t,
			     store_delivery_cb, void *);
	int (*attempt_list)(struct store_rd *,
			    const struct store_attempt_filter *,
			    store_attempt_cb, void *);
	int (*attempt_update)(struct store_tx *, uint64_t, uint64_t, int, int);
	int (*folder_empty)(struct store_tx *, uint64_t, int, int64_t *);
	int (*attempt_remove)(struct store_tx *, uint64_t, uint64_t);
	int (*held_due)(struct store_rd *, int64_t, int, store_held_cb, void *);
	int (*attempt_redecide)(struct store_tx *, uint64_t, int, int, int,
				int64_t, int64_t, bool, int64_t);
	int (*attempt_of_brand)(struct store_rd *, uint64_t,
				struct store_brand_attempt *);
	int (*message_get)(struct store_rd *, uint64_t, struct store_message *);
	int (*held_due_now)(struct store_tx *, uint64_t, uint64_t, int64_t,
			    int64_t *);
	int (*attempt_discard)(struct store_tx *, uint64_t, int);
	int (*attempt_plain)(struct store_rd *, int, store_content_cb, void *);
	int (*attempt_seal)(struct store_tx *,
			    const struct store_attempt_content *);
	int (*purge)(struct store_tx *, struct store_purge *);

	int (*outbox_add)(struct store_tx *, const struct store_outbox *);
	int (*outbox_due)(struct store_rd *, int64_t, bool, int,
			  store_outbox_cb, void *);
	int (*outbox_settle)(struct store_tx *, uint64_t, uint64_t, int,
			     int64_t, const char *);
	int (*outbox_count)(struct store_rd *, uint64_t, int64_t *, int64_t *,
			    char *, size_t);

	int (*idem_get)(struct store_rd *, uint64_t, const char *,
			struct store_idem *);
	int (*idem_put)(struct store_tx *, uint64_t, const char *,
			const struct store_idem *);
	int (*idem_finish)(struct store_tx *, uint64_t, const char *, int,
			   const char *);
	int (*campaign_insert)(struct store_tx *,
			       const struct store_campaign *);
	int (*campaign_count)(struct store_tx *, uint64_t, int64_t, int64_t);
	int (*campaign_get)(struct store_rd *, uint64_t,
			    struct store_campaign_row *);
	int (*campaign_refusals)(struct store_rd *, uint64_t, store_refusal_cb,
				 void *);
	int (*campaign_recipients)(struct store_rd *, uint64_t, int, int64_t,
				   uint64_t, int, store_brand_attempt_cb,
				   void *);

	int (*ledger_append)(struct store_tx *,
			     const struct store_ledger_entry *);
	int (*ledger_head)(struct store_rd *, uint64_t,
			   struct store_ledger_entry *);
	int (*ledger_list)(struct store_rd *, uint64_t, int64_t, int,
			   store_ledger_cb, void *);
	int (*ledger_head_save)(struct store_tx *, uint64_t, int64_t,
				const uint8_t *, const char *, int64_t);
	int (*ledger_signed_head)(struct store_rd *, uint64_t, char **);

	int (*key_facts)(struct store_rd *, struct store_key_facts *);
	int (*key_id_add)(struct store_tx *, const char *, const char *,
			  int64_t);
	int (*key_wrap_set)(struct store_tx *, const char *, int64_t);
	int (*key_wrap_fence)(struct store_tx *, const char *);
	int (*person_keys_after)(struct store_rd *, int64_t, int,
				 store_person_key_fn, void *);
	int (*person_key_set)(struct store_tx *, uint64_t, const void *, size_t,
			      const void *, size_t);
	int (*lock)(struct store *, enum store_lock_mode, char *, size_t);
	int (*person_guard)(struct store_tx *, uint64_t, bool, int64_t *);
	int (*listen)(struct store *, store_notify_fn, bool (*)(void *),
		      void *); /* or NULL */
	/* The lock-outs' four calls (op 0 wait, 1 fail, 2 lock, 3 reset),
	 * or NULL where one server writes the store. */
	int (*throttle)(struct store *, int op, const char *key, int64_t at,
			int64_t window, int64_t *out);
	/* store_unreachable_since, or NULL where there is no server to
	 * reach (0). */
	int64_t (*unreachable_since)(struct store *);

	int (*reply_insert)(struct store_tx *, const struct store_reply *);
	int (*reply_get)(struct store_rd *, uint64_t, struct store_reply *);
	int (*reply_list)(struct store_rd *, uint64_t, uint64_t, uint64_t, int,
			  store_reply_cb, void *);
	int (*reply_settle)(struct store_tx *, uint64_t, int, int64_t);
	int (*own_address_get)(struct store_rd *, uint64_t, const char *,
			       struct store_own_address *);
	int (*own_address_put)(struct store_tx *,
			       const struct store_own_address *);
	int (*own_address_delete)(struct store_tx *, uint64_t);
};

/* Where a read goes (store.h): the reader connections (tx NULL), or a
 * writer job's own transaction. */
struct store_rd {
	struct store *store;
	struct store_tx *tx; /* NULL: the reader connections */
};

struct sql_ops; /* sql.h */

struct store {
	const struct store_ops *ops;
	const struct sql_ops *sql; /* an SQL backend's statements (sql.h) */
	struct store_rd reads;	   /* {this store, NULL} */
	const struct store_codec *codec; /* NULL: values as given */
};

struct store_tx {
	struct store *store;
	uint64_t job;	       /* changes with every job the writer runs */
	struct store_rd reads; /* {store, this transaction} */
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;
extern const struct store_ops store_postgres_ops;

#endif
