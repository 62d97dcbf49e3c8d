/*
 * sqlite_proposal.c — the SQLite backend's proposals: a brand's offer of
 * a relationship, pending until the person decides it (once).
 */
#include <string.h>

#include "sql.h"

static const char q_proposal_insert[] =
	"INSERT INTO proposals(id, person, brand, state, value, ask, "
	"created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)";

static void proposal_bind(struct sql_stmt *st, const struct store_proposal *p)
{
	sql_bind_int(st, 1, (int64_t)p->id);
	sql_bind_int(st, 2, (int64_t)p->person);
	sql_bind_int(st, 3, (int64_t)p->brand);
	bind_text(st, 4, p->state[0] ? p->state : "pending");
	bind_text(st, 5, p->value ? p->value : "");
	bind_text(st, 6, p->ask ? p->ask : "{}");
	sql_bind_int(st, 7, p->created_at);
	sql_bind_int(st, 8, p->expires_at);
}

int sql_proposal_insert(struct store_tx *tx, const struct store_proposal *p)
{
	WRITER_STMT(tx, q_proposal_insert);
	proposal_bind(st, p);
	return sql_exec(st);
}

int sql_proposal_insert_many(struct store_tx *tx,
			     const struct store_proposal *p, size_t n)
{
	if (n == 0)
		return STORE_OK;
	struct sql_stmt *st = sql_rows(tx, q_proposal_insert);
	if (st == NULL)
		return STORE_FAULT;
	int rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		proposal_bind(st, &p[i]);
		rc = sql_rows_add(st);
	}
	int end = sql_rows_end(st);
	return rc != STORE_OK ? rc : end;
}

#define PROPOSAL_COLS                                                          \
	"id, person, brand, state, value, ask, created_at, expires_at, "       \
	"decided_at, relationship"

static int proposal_row(struct sql_stmt *st, void *out)
{
	struct store_proposal *p = out;
	memset(p, 0, sizeof(*p));
	p->id = (uint64_t)sql_col_int(st, 0);
	p->person = (uint64_t)sql_col_int(st, 1);
	p->brand = (uint64_t)sql_col_int(st, 2);
	col_copy(st, 3, p->state, sizeof(p->state));
	p->value = col_strdup(st, 4);
	p->ask = col_strdup(st, 5);
	p->created_at = sql_col_int(st, 6);
	p->expires_at = sql_col_int(st, 7);
	p->decided_at = sql_col_int(st, 8);
	p->relationship = (uint64_t)sql_col_int(st, 9);
	if (p->value == NULL || p->ask == NULL) {
		store_proposal_clear(p);
		return STORE_FAULT;
	}
	return STORE_OK;
}

static const char q_proposal_by_id[] =
	"SELECT " PROPOSAL_COLS " FROM proposals WHERE id = ?";

int sql_proposal_by_id(struct store_rd *rd, uint64_t id,
		       struct store_proposal *p)
{
	return sql_select_key(rd, q_proposal_by_id, id, NULL, proposal_row, p);
}

static const char q_proposal_decide[] =
	"UPDATE proposals SET state = ?, relationship = ?, decided_at = ? "
	"WHERE id = ? AND state = 'pending'";

int sql_proposal_decide(struct store_tx *tx, uint64_t id, const char *state,
			uint64_t relationship, int64_t at)
{
	WRITER_STMT(tx, q_proposal_decide);
	bind_text(st, 1, state);
	bind_key(st, 2, relationship);
	sql_bind_int(st, 3, at);
	sql_bind_int(st, 4, (int64_t)id);
	return sql_exec_changed(st, STORE_CONFLICT);
}

/* The open relationship through relationships_open, the person's
 * proposals through proposals_person (PostgreSQL: the primary key). */
static const char q_proposal_open[] =
	"SELECT CASE WHEN EXISTS (SELECT 1 FROM relationships WHERE "
	"person = ?1 AND brand = ?2 AND state <> 2) THEN 1 "
	"WHEN EXISTS (SELECT 1 FROM proposals WHERE person = ?1 AND "
	"brand = ?2 AND state = 'pending' AND expires_at > ?3) THEN 2 "
	"ELSE 0 END";

int sql_proposal_open(struct store_rd *rd, uint64_t person, uint64_t brand,
		      int64_t now, int *open)
{
	struct sql_select q;
	int64_t v = 0;
	struct sql_stmt *st = sql_select(&q, rd, q_proposal_open);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, (int64_t)brand);
	sql_bind_int(st, 3, (int64_t)now);
	int rc = sql_select_one(&q, sql_row_int, &v);
	*open = (int)v;
	return rc;
}

static const char q_proposal_list_person[] =
	"SELECT " PROPOSAL_COLS " FROM proposals WHERE person = ? AND id > ? "
	"ORDER BY id LIMIT ?";

int sql_proposal_list_person(struct store_rd *rd, uint64_t person,
			     uint64_t after, int limit, store_proposal_cb cb,
			     void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(&q, rd, q_proposal_list_person);
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)person);
	sql_bind_int(st, 2, (int64_t)after);
	sql_bind_int(st, 3, limit);
	struct store_proposal p;
	while (sql_select_next(&q, proposal_row, &p)) {
		int stop = cb(&p, arg);
		store_proposal_clear(&p);
		if (stop)
			break;
	}
	return sql_select_end(&q);
}
