/*
 * sqlite_purge.c — the SQLite backend's purge: what the scheduler
 * deletes once its time is up (Later past its retention, Idempotency-Keys
 * older than a day, refused attempts, old removed deliveries, expired
 * connect codes), in one job.
 */
#include "sql.h"

/* Refused attempts go after their time; removed deliveries once no
 * window (at most 366 days) can reach back to them. */
static const char q_purge_refused[] =
	"DELETE FROM attempts WHERE (decision = 2 AND received_at < ?1) OR "
	"(removed = 1 AND decided_at < ?1 - 400 * 86400)";
static const char q_purge_codes[] =
	"DELETE FROM connect_codes WHERE expires_at < ?";

static const char q_purge_later[] = SQL_REMOVE
	"WHERE folder = 1 AND decision = 0 AND removed = 0 AND "
	"received_at < ?1 - 86400 * (SELECT coalesce(json_extract("
	"p.global_terms, '$.later_retention_days'), 30) FROM persons p "
	"WHERE p.id = attempts.person)";
static const char q_pg_purge_later[] = SQL_REMOVE
	"WHERE folder = 1 AND decision = 0 AND removed = 0 AND "
	"received_at < ?1 - 86400 * (SELECT coalesce((p.global_terms::jsonb "
	"->> 'later_retention_days')::bigint, 30) FROM persons p "
	"WHERE p.id = attempts.person)";

/* The Maildir's copies of what is purged leave too (queued first: the
 * purge is what hides them). */
static const char q_purge_later_outbox[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT a.person, a.id, 1, 2, a.folder, ?1 FROM attempts a JOIN "
	"persons p ON p.id = a.person WHERE a.folder = 1 AND a.decision = 0 "
	"AND a.removed = 0 AND (json_extract(p.delivery, '$.maildir_copies') "
	"= 1 OR json_extract(p.delivery, '$.maildir') = 1) AND "
	"a.received_at < ?1 - 86400 * coalesce(json_extract(p.global_terms, "
	"'$.later_retention_days'), 30) ORDER BY a.id";
static const char q_pg_purge_later_outbox[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT a.person, a.id, 1, 2, a.folder, ?1 FROM attempts a JOIN "
	"persons p ON p.id = a.person WHERE a.folder = 1 AND a.decision = 0 "
	"AND a.removed = 0 AND ((p.delivery::jsonb -> 'maildir_copies') IN "
	"('true', '1') OR (p.delivery::jsonb -> 'maildir') IN ('true', '1')) "
	"AND a.received_at < ?1 - 86400 * coalesce((p.global_terms::jsonb ->> "
	"'later_retention_days')::bigint, 30) ORDER BY a.id";

static const char q_purge_idem[] =
	"DELETE FROM idempotency WHERE created_at < ?";

static int purge_step(struct store_tx *tx, const char *sql, int64_t bound,
		      int64_t *changed)
{
	WRITER_STMT(tx, sql);
	sql_bind_int(st, 1, bound);
	return sql_exec_count(st, STORE_OK, changed);
}

int sql_purge(struct store_tx *tx, struct store_purge *p)
{
	/* In the order of struct store_purge's fields. */
	const struct {
		const char *sql;
		int64_t bound; /* ?1; 0: the step is skipped */
	} steps[] = {
		{ SQL_PICK(&tx->reads, q_purge_later_outbox,
			   q_pg_purge_later_outbox),
		  p->later_now },
		{ SQL_PICK(&tx->reads, q_purge_later, q_pg_purge_later),
		  p->later_now },
		{ q_purge_idem, p->idem_before },
		{ q_purge_refused, p->refused_before },
		{ q_purge_codes, p->codes_before },
	};
	p->later_purged = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
		if (steps[i].bound == 0)
			continue;
		int64_t changed = 0;
		int status =
			purge_step(tx, steps[i].sql, steps[i].bound, &changed);
		if (status != STORE_OK)
			return status;
		if (i == 1) /* Later's messages */
			p->later_purged = changed;
	}
	return STORE_OK;
}
