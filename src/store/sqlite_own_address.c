/*
 * sqlite_own_address.c — the SQLite backend's own addresses: a person's
 * one address at the relay (own_addresses, 008_own_address.sql) and its
 * place in the alias directory, which every address ever given out keeps.
 */
#include <string.h>

#include "sqlite.h"

#define OWN_COLS "person, address, local_part, strangers, blocked, created_at"

static const char sql_own_by_person[] =
	"SELECT " OWN_COLS " FROM own_addresses WHERE person = ?";
static const char sql_own_by_address[] =
	"SELECT " OWN_COLS " FROM own_addresses WHERE address = ?";

static int own_row(sqlite3_stmt *st, void *out)
{
	struct store_own_address *o = out;
	memset(o, 0, sizeof(*o));
	o->person = (uint64_t)sqlite3_column_int64(st, 0);
	col_copy(st, 1, o->address, sizeof(o->address));
	col_copy(st, 2, o->local_part, sizeof(o->local_part));
	o->strangers = sqlite3_column_int(st, 3);
	o->blocked = col_strdup(st, 4);
	o->created_at = sqlite3_column_int64(st, 5);
	return o->blocked ? STORE_OK : STORE_FAULT;
}

int sqlite_own_address_get(struct store_rd *rd, uint64_t person,
			   const char *address, struct store_own_address *out)
{
	return sqlite_select_key(
		rd, address ? sql_own_by_address : sql_own_by_person, person,
		address, own_row, out);
}

/* The directory row: new, or already this person's own address (one
 * they had before); anything else changes no row. */
static const char sql_own_alias[] =
	"INSERT INTO aliases(alias, person, relationship) VALUES (?1, ?2, "
	"NULL) "
	"ON CONFLICT(alias) DO UPDATE SET person = ?2 "
	"WHERE person = ?2 AND relationship IS NULL";
static const char sql_own_put[] =
	"INSERT INTO own_addresses(" OWN_COLS ") VALUES (?1,?2,?3,?4,?5,?6) "
	"ON CONFLICT(person) DO UPDATE SET address = ?2, local_part = ?3, "
	"strangers = ?4, blocked = ?5";

static const char sql_own_tomb[] =
	"SELECT 1 FROM aliases WHERE alias = ? AND person IS NULL";

int sqlite_own_address_put(struct store_tx *tx,
			   const struct store_own_address *o)
{
	int rc;
	if (o->tombstone[0]) {
		int64_t one;
		rc = sqlite_select_key(store_tx_reads(tx), sql_own_tomb, 0,
				       o->tombstone, sqlite_row_int, &one);
		if (rc != STORE_NOT_FOUND)
			return rc == STORE_OK ? STORE_CONFLICT : rc;
	}
	{
		WRITER_STMT(tx, sql_own_alias);
		bind_text(st, 1, o->address);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)o->person);
		if ((rc = sqlite_exec_changed(tx, st, STORE_CONFLICT)) !=
		    STORE_OK)
			return rc;
	}
	WRITER_STMT(tx, sql_own_put);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)o->person);
	bind_text(st, 2, o->address);
	bind_text(st, 3, o->local_part);
	sqlite3_bind_int(st, 4, o->strangers);
	bind_text(st, 5, o->blocked ? o->blocked : "[]");
	sqlite3_bind_int64(st, 6, o->created_at);
	return sqlite_exec_stmt(st);
}

static const char sql_own_delete[] =
	"DELETE FROM own_addresses WHERE person = ?";

int sqlite_own_address_delete(struct store_tx *tx, uint64_t person)
{
	WRITER_STMT(tx, sql_own_delete);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	return sqlite_exec_changed(tx, st, STORE_NOT_FOUND);
}

static const char sql_own_used[] =
	"SELECT alias FROM aliases WHERE person = ? AND relationship IS NULL "
	"ORDER BY alias";

int sqlite_own_address_used(struct store_rd *rd, uint64_t person,
			    store_own_address_cb cb, void *arg)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_own_used);
	if (st == NULL)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	while (sqlite_select_next(&q, NULL, NULL)) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		if (v && cb((const char *)v, arg))
			break;
	}
	return sqlite_select_end(&q);
}
