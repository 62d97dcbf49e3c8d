/*
 * sqlite.c — the SQLite backend (sqlite:PATH), the embedded default:
 * opening and closing it, and its table of operations (struct store_ops).
 *
 * The backend is split by concern, the files sharing sqlite.h:
 * sqlite_conn.c (connections, the statement cache, the reader pool and
 * read sessions), sqlite_writer.c (the writer thread and its group
 * commit), sqlite_migrate.c (the embedded schema/NNN_*.sql), and the
 * queries, one file per entity: sqlite_person.c, sqlite_token.c,
 * sqlite_brand.c, sqlite_proposal.c, sqlite_relationship.c,
 * sqlite_attempt.c, sqlite_outbox.c, sqlite_purge.c, sqlite_idem.c,
 * sqlite_campaign.c and sqlite_ledger.c. See docs/ARCHITECTURE.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"

void sqlite_close(struct store *store)
{
	struct sqlite_store *s = S(store);

	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (s->writer.db) {
		/* Fold the WAL back so the file stands alone when idle. */
		sqlite3_wal_checkpoint_v2(s->writer.db, NULL,
					  SQLITE_CHECKPOINT_TRUNCATE, NULL,
					  NULL);
		sqlite_conn_close(&s->writer);
	}
	for (struct sqlite_conn *c = s->pool, *next; c; c = next) {
		next = c->next;
		sqlite_conn_close(c);
		free(c);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	free(s->path);
	free(s);
}

int sqlite_open(const char *rest, struct store **out, char *err, size_t errlen)
{
	if (*rest == '\0') {
		snprintf(err, errlen,
			 "sqlite store URL needs a path "
			 "(sqlite:./var/cmr.db)");
		return STORE_INVALID;
	}
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return STORE_FAULT;
	}
	s->base.ops = &store_sqlite_ops;
	s->base.reads = (struct store_rd){ &s->base, NULL };
	s->path = strdup(rest);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	if (s->path == NULL || sqlite_conn_open(&s->writer, s->path, true, err,
						errlen) != STORE_OK) {
		if (s->path == NULL)
			snprintf(err, errlen, "out of memory");
		sqlite_close(&s->base);
		return STORE_FAULT;
	}
	if (pthread_create(&s->thread, NULL, sqlite_writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		sqlite_close(&s->base);
		return STORE_FAULT;
	}
	s->thread_started = true;
	*out = &s->base;
	return STORE_OK;
}

const struct store_ops store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sqlite_open,
	.migrate = sqlite_migrate,
	.close = sqlite_close,
	.write = sqlite_write,
	.tx_hook = sqlite_tx_hook,
	.tx_checkpoint = sqlite_tx_checkpoint,
	.writer_stats = sqlite_writer_stats,
	.read_begin = sqlite_read_begin,
	.read_end = sqlite_read_end,
	.person_insert = sqlite_person_insert,
	.person_by_handle = sqlite_person_by_handle,
	.person_by_id = sqlite_person_by_id,
	.person_list = sqlite_person_list,
	.person_set_profile = sqlite_person_set_profile,
	.person_set_global_terms = sqlite_person_set_global_terms,
	.person_set_folders = sqlite_person_set_folders,
	.person_folders = sqlite_person_folders,
	.token_insert = sqlite_token_insert,
	.token_by_id = sqlite_token_by_id,
	.token_revoke = sqlite_token_revoke,
	.token_touch = sqlite_token_touch,
	.brand_insert = sqlite_brand_insert,
	.brand_by_id = sqlite_brand_by_id,
	.brand_by_name = sqlite_brand_by_name,
	.brand_list = sqlite_brand_list,
	.brand_set_key = sqlite_brand_set_key,
	.brand_by_domain = sqlite_brand_by_domain,
	.brand_key_hash = sqlite_brand_key_hash,
	.person_profile = sqlite_person_profile,
	.code_insert = sqlite_code_insert,
	.code_use = sqlite_code_use,
	.proposal_list_person = sqlite_proposal_list_person,
	.relationship_list_brand = sqlite_relationship_list_brand,
	.field_read = sqlite_field_read,
	.attempt_list = sqlite_attempt_list,
	.proposal_insert = sqlite_proposal_insert,
	.proposal_by_id = sqlite_proposal_by_id,
	.proposal_decide = sqlite_proposal_decide,
	.relationship_insert = sqlite_relationship_insert,
	.relationship_by_id = sqlite_relationship_by_id,
	.relationship_by_alias = sqlite_relationship_by_alias,
	.relationship_set_state = sqlite_relationship_set_state,
	.relationship_set_terms = sqlite_relationship_set_terms,
	.relationship_list_person = sqlite_relationship_list_person,
	.relationship_list_open = sqlite_relationship_list_open,
	.attempt_insert = sqlite_attempt_insert,
	.held_count = sqlite_held_count,
	.attempt_dup = sqlite_attempt_dup,
	.held_due = sqlite_held_due,
	.purge_later = sqlite_purge_later,
	.expiring = sqlite_expiring,
	.notice_insert = sqlite_notice_insert,
	.purge_old = sqlite_purge_old,
	.person_erase = sqlite_person_erase,
	.attempt_update = sqlite_attempt_update,
	.folder_empty = sqlite_folder_empty,
	.person_set_password = sqlite_person_set_password,
	.person_set_delivery = sqlite_person_set_delivery,
	.token_revoke_others = sqlite_token_revoke_others,
	.person_bounce = sqlite_person_bounce,
	.relationship_set_unsubscribe = sqlite_relationship_set_unsubscribe,
	.outbox_add = sqlite_outbox_add,
	.outbox_due = sqlite_outbox_due,
	.outbox_settle = sqlite_outbox_settle,
	.outbox_count = sqlite_outbox_count,
	.message_get = sqlite_message_get,
	.attempt_redecide = sqlite_attempt_redecide,
	.delivery_list = sqlite_delivery_list,
	.idem_get = sqlite_idem_get,
	.idem_put = sqlite_idem_put,
	.idem_purge = sqlite_idem_purge,
	.idem_finish = sqlite_idem_finish,
	.campaign_insert = sqlite_campaign_insert,
	.campaign_count = sqlite_campaign_count,
	.relationship_keys_brand = sqlite_relationship_keys_brand,
	.ledger_append = sqlite_ledger_append,
	.ledger_head = sqlite_ledger_head,
	.ledger_list = sqlite_ledger_list,
	.ledger_head_save = sqlite_ledger_head_save,
	.ledger_signed_head = sqlite_ledger_signed_head,
};
