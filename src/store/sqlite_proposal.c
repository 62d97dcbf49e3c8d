/*
 * sqlite_proposal.c — the SQLite backend's proposals: a brand's offer of
 * a relationship, pending until the person decides it (once).
 */
#include <string.h>

#include "sqlite.h"

static const char sql_proposal_insert[] =
	"INSERT INTO proposals(id, person, brand, state, value, ask, "
	"created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)";

int sqlite_proposal_insert(struct store_tx *tx, const struct store_proposal *p)
{
	WRITER_STMT(tx, sql_proposal_insert);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)p->person);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p->brand);
	bind_text(st, 4, p->state[0] ? p->state : "pending");
	bind_text(st, 5, p->value ? p->value : "");
	bind_text(st, 6, p->ask ? p->ask : "{}");
	sqlite3_bind_int64(st, 7, p->created_at);
	sqlite3_bind_int64(st, 8, p->expires_at);
	return sqlite_exec_stmt(st);
}

static const char sql_proposal_by_id[] =
	"SELECT id, person, brand, state, value, ask, created_at, "
	"expires_at, decided_at, relationship FROM proposals WHERE id = ?";

int sqlite_proposal_by_id(struct store_rd *rd, uint64_t id,
			  struct store_proposal *p)
{
	READER_BEGIN(rd, sql_proposal_by_id);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st), status = STORE_OK;
	if (rc == SQLITE_ROW) {
		memset(p, 0, sizeof(*p));
		p->id = (uint64_t)sqlite3_column_int64(st, 0);
		p->person = (uint64_t)sqlite3_column_int64(st, 1);
		p->brand = (uint64_t)sqlite3_column_int64(st, 2);
		col_copy(st, 3, p->state, sizeof(p->state));
		p->value = col_strdup(st, 4);
		p->ask = col_strdup(st, 5);
		p->created_at = sqlite3_column_int64(st, 6);
		p->expires_at = sqlite3_column_int64(st, 7);
		p->decided_at = sqlite3_column_int64(st, 8);
		p->relationship = (uint64_t)sqlite3_column_int64(st, 9);
		if (p->value == NULL || p->ask == NULL) {
			store_proposal_clear(p);
			status = STORE_FAULT;
		}
	} else {
		status = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAULT;
	}
	READER_END();
	return status;
}

static const char sql_proposal_decide[] =
	"UPDATE proposals SET state = ?, relationship = ?, decided_at = ? "
	"WHERE id = ? AND state = 'pending'";

int sqlite_proposal_decide(struct store_tx *tx, uint64_t id, const char *state,
			   uint64_t relationship, int64_t at)
{
	WRITER_STMT(tx, sql_proposal_decide);
	bind_text(st, 1, state);
	bind_key(st, 2, relationship);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)id);
	int status = sqlite_exec_stmt(st);
	if (status == STORE_OK && sqlite3_changes(sqlite_tx_conn(tx)->db) == 0)
		return STORE_CONFLICT;
	return status;
}

static const char sql_proposal_list_person[] =
	"SELECT id, person, brand, state, value, ask, created_at, "
	"expires_at, decided_at, relationship FROM proposals WHERE "
	"person = ? AND id > ? ORDER BY id LIMIT ?";

int sqlite_proposal_list_person(struct store_rd *rd, uint64_t person,
				uint64_t after, int limit, store_proposal_cb cb,
				void *arg)
{
	READER_BEGIN(rd, sql_proposal_list_person);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
	sqlite3_bind_int(st, 3, limit);
	int rc, status = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_proposal p;
		memset(&p, 0, sizeof(p));
		p.id = (uint64_t)sqlite3_column_int64(st, 0);
		p.person = (uint64_t)sqlite3_column_int64(st, 1);
		p.brand = (uint64_t)sqlite3_column_int64(st, 2);
		col_copy(st, 3, p.state, sizeof(p.state));
		p.value = col_strdup(st, 4);
		p.ask = col_strdup(st, 5);
		p.created_at = sqlite3_column_int64(st, 6);
		p.expires_at = sqlite3_column_int64(st, 7);
		p.decided_at = sqlite3_column_int64(st, 8);
		p.relationship = (uint64_t)sqlite3_column_int64(st, 9);
		if (p.value == NULL || p.ask == NULL) {
			store_proposal_clear(&p);
			status = STORE_FAULT;
			break;
		}
		int stop = cb(&p, arg);
		store_proposal_clear(&p);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = STORE_FAULT;
	READER_END();
	return status;
}
