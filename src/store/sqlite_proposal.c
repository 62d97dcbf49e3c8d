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

#define PROPOSAL_COLS                                                          \
	"id, person, brand, state, value, ask, created_at, expires_at, "       \
	"decided_at, relationship"

static int proposal_row(sqlite3_stmt *st, void *out)
{
	struct store_proposal *p = out;
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
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char sql_proposal_by_id[] =
	"SELECT " PROPOSAL_COLS " FROM proposals WHERE id = ?";

int sqlite_proposal_by_id(struct store_rd *rd, uint64_t id,
			  struct store_proposal *p)
{
	return sqlite_select_key(rd, sql_proposal_by_id, id, NULL, proposal_row,
				 p);
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
	return sqlite_exec_changed(tx, st, STORE_CONFLICT);
}

/* The open relationship through relationships_open, the person's
 * proposals through proposals_person. */
static const char sql_proposal_open[] =
	"SELECT CASE WHEN EXISTS (SELECT 1 FROM relationships WHERE "
	"person = ?1 AND brand = ?2 AND state <> 2) THEN 1 "
	"WHEN EXISTS (SELECT 1 FROM proposals WHERE person = ?1 AND "
	"brand = ?2 AND state = 'pending' AND expires_at > ?3) THEN 2 "
	"ELSE 0 END";

int sqlite_proposal_open(struct store_rd *rd, uint64_t person, uint64_t brand,
			 int64_t now, int *open)
{
	struct sqlite_select q;
	int64_t v = 0;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_proposal_open);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)brand);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	int rc = sqlite_select_one(&q, sqlite_row_int, &v);
	*open = (int)v;
	return rc;
}

static const char sql_proposal_list_person[] =
	"SELECT " PROPOSAL_COLS " FROM proposals WHERE person = ? AND id > ? "
	"ORDER BY id LIMIT ?";

int sqlite_proposal_list_person(struct store_rd *rd, uint64_t person,
				uint64_t after, int limit, store_proposal_cb cb,
				void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_proposal_list_person);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
	sqlite3_bind_int(st, 3, limit);
	struct store_proposal p;
	while (sqlite_select_next(&q, proposal_row, &p)) {
		int stop = cb(&p, arg);
		store_proposal_clear(&p);
		if (stop)
			break;
	}
	return sqlite_select_end(&q);
}
