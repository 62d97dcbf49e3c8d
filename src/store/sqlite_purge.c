/*
 * sqlite_purge.c — the SQLite backend's purges: what the scheduler
 * deletes once its time is up (refused attempts, old removed deliveries,
 * expired connect codes, Later past its retention).
 */
#include "sqlite.h"

/* Refused attempts go after their time; removed deliveries once no
 * window (at most 366 days) can reach back to them. */
static const char sql_purge_refused[] =
	"DELETE FROM attempts WHERE (decision = 2 AND received_at < ?1) OR "
	"(removed = 1 AND decided_at < ?1 - 400 * 86400)";
static const char sql_purge_codes[] =
	"DELETE FROM connect_codes WHERE expires_at < ?";

int sqlite_purge_old(struct store_tx *tx, int64_t before, int64_t codes_before)
{
	int status;
	{
		WRITER_STMT(tx, sql_purge_refused);
		sqlite3_bind_int64(st, 1, before);
		if ((status = sqlite_exec_stmt(st)) != STORE_OK)
			return status;
	}
	WRITER_STMT(tx, sql_purge_codes);
	sqlite3_bind_int64(st, 1, codes_before);
	return sqlite_exec_stmt(st);
}

static const char sql_purge_later[] = SQL_REMOVE
	"WHERE folder = 1 AND decision = 0 AND removed = 0 AND "
	"received_at < ?1 - 86400 * (SELECT coalesce(json_extract("
	"p.global_terms, '$.later_retention_days'), 30) FROM persons p "
	"WHERE p.id = attempts.person)";

/* The Maildir's copies of what is purged leave too (queued first: the
 * purge is what hides them). */
static const char sql_purge_later_outbox[] =
	"INSERT INTO outbox(person, attempt, adapter, op, folder, next_at) "
	"SELECT a.person, a.id, 1, 2, a.folder, ?1 FROM attempts a JOIN "
	"persons p ON p.id = a.person WHERE a.folder = 1 AND a.decision = 0 "
	"AND a.removed = 0 AND (json_extract(p.delivery, '$.maildir_copies') "
	"= 1 OR json_extract(p.delivery, '$.maildir') = 1) AND "
	"a.received_at < ?1 - 86400 * coalesce(json_extract(p.global_terms, "
	"'$.later_retention_days'), 30) ORDER BY a.id";

int sqlite_purge_later(struct store_tx *tx, int64_t now, int64_t *purged)
{
	{
		WRITER_STMT(tx, sql_purge_later_outbox);
		sqlite3_bind_int64(st, 1, now);
		int status = sqlite_exec_stmt(st);
		if (status != STORE_OK)
			return status;
	}
	WRITER_STMT(tx, sql_purge_later);
	sqlite3_bind_int64(st, 1, now);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && purged)
		*purged = sqlite3_changes(sqlite_tx_conn(tx)->db);
	return status;
}
