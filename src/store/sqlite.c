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
 * sqlite_campaign.c and sqlite_ledger.c; sqlite_keys.c keeps the key ids,
 * the server's lock and the files' mode. See docs/ARCHITECTURE.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* and the lock with it */
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
	s->lock_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	if (s->path == NULL ||
	    (strcmp(s->path, ":memory:") != 0 &&
	     sqlite_file_private(s->path, err, errlen) != STORE_OK) ||
	    sqlite_conn_open(&s->writer, s->path, true, err, errlen) !=
		    STORE_OK) {
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
	.person_get = sqlite_person_get,
	.person_profile = sqlite_person_profile,
	.person_list = sqlite_person_list,
	.person_set = sqlite_person_set,
	.person_bounce = sqlite_person_bounce,
	.person_erase = sqlite_person_erase,
	.token_insert = sqlite_token_insert,
	.token_by_id = sqlite_token_by_id,
	.token_revoke = sqlite_token_revoke,
	.token_touch = sqlite_token_touch,
	.token_list = sqlite_token_list,
	.code_insert = sqlite_code_insert,
	.code_use = sqlite_code_use,
	.brand_insert = sqlite_brand_insert,
	.brand_get = sqlite_brand_get,
	.brand_list = sqlite_brand_list,
	.brand_set_key = sqlite_brand_set_key,
	.brand_key_hash = sqlite_brand_key_hash,
	.brand_by_domain = sqlite_brand_by_domain,
	.proposal_insert = sqlite_proposal_insert,
	.proposal_by_id = sqlite_proposal_by_id,
	.proposal_list_person = sqlite_proposal_list_person,
	.proposal_decide = sqlite_proposal_decide,
	.proposal_open = sqlite_proposal_open,
	.relationship_insert = sqlite_relationship_insert,
	.relationship_get = sqlite_relationship_get,
	.relationship_list = sqlite_relationship_list,
	.relationship_keys_brand = sqlite_relationship_keys_brand,
	.relationship_set_state = sqlite_relationship_set_state,
	.relationship_set_terms = sqlite_relationship_set_terms,
	.relationship_set_unsubscribe = sqlite_relationship_set_unsubscribe,
	.field_read = sqlite_field_read,
	.expiring = sqlite_expiring,
	.notice_insert = sqlite_notice_insert,
	.attempt_insert = sqlite_attempt_insert,
	.attempt_dup = sqlite_attempt_dup,
	.held_count = sqlite_held_count,
	.delivery_list = sqlite_delivery_list,
	.attempt_list = sqlite_attempt_list,
	.attempt_update = sqlite_attempt_update,
	.folder_empty = sqlite_folder_empty,
	.attempt_remove = sqlite_attempt_remove,
	.held_due = sqlite_held_due,
	.attempt_redecide = sqlite_attempt_redecide,
	.held_due_now = sqlite_held_due_now,
	.attempt_discard = sqlite_attempt_discard,
	.attempt_of_brand = sqlite_attempt_of_brand,
	.message_get = sqlite_message_get,
	.reply_insert = sqlite_reply_insert,
	.reply_get = sqlite_reply_get,
	.reply_list = sqlite_reply_list,
	.reply_settle = sqlite_reply_settle,
	.attempt_plain = sqlite_attempt_plain,
	.attempt_seal = sqlite_attempt_seal,
	.purge = sqlite_purge,
	.outbox_add = sqlite_outbox_add,
	.outbox_due = sqlite_outbox_due,
	.outbox_settle = sqlite_outbox_settle,
	.outbox_count = sqlite_outbox_count,
	.idem_get = sqlite_idem_get,
	.idem_put = sqlite_idem_put,
	.idem_finish = sqlite_idem_finish,
	.campaign_insert = sqlite_campaign_insert,
	.campaign_count = sqlite_campaign_count,
	.campaign_get = sqlite_campaign_get,
	.campaign_refusals = sqlite_campaign_refusals,
	.campaign_recipients = sqlite_campaign_recipients,
	.ledger_append = sqlite_ledger_append,
	.ledger_head = sqlite_ledger_head,
	.ledger_list = sqlite_ledger_list,
	.ledger_head_save = sqlite_ledger_head_save,
	.ledger_signed_head = sqlite_ledger_signed_head,
	.key_facts = sqlite_key_facts,
	.key_id_add = sqlite_key_id_add,
	.lock = sqlite_lock,
};
