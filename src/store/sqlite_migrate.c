/*
 * sqlite_migrate.c — the SQLite backend's migrations: the numbered
 * schema/NNN_*.sql embedded at build (store/schema.h), each applied in a
 * writer job of its own and recorded in schema_migrations.
 */
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/schema.h"
#include "sqlite.h"

struct sqlite_migration_job {
	const struct schema_migration *m;
};

static int sqlite_migration_run(struct store_tx *tx, void *arg)
{
	struct sqlite_migration_job *j = arg;
	sqlite3 *db = sqlite_tx_conn(tx)->db;
	if (sqlite_exec(db, j->m->sql) != SQLITE_OK)
		return STORE_FAULT;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO schema_migrations(version, name, "
			       "applied_at) VALUES (?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return STORE_FAULT;
	sqlite3_bind_int(st, 1, j->m->version);
	sqlite3_bind_text(st, 2, j->m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? STORE_OK : STORE_FAULT;
}

/* The integer that sql (one row, one column) answers: *n, or -1. */
static int sqlite_int_of(sqlite3 *db, const char *sql, int *n)
{
	sqlite3_stmt *st = NULL;
	*n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return STORE_FAULT;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return *n >= 0 ? STORE_OK : STORE_FAULT;
}

static int sqlite_version_run(struct store_tx *tx, void *arg)
{
	int *version = arg;
	sqlite3 *db = sqlite_tx_conn(tx)->db;
	if (sqlite_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    "version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			    " applied_at BIGINT NOT NULL)") != SQLITE_OK)
		return STORE_FAULT;
	return sqlite_int_of(db,
			     "SELECT coalesce(max(version), 0) FROM "
			     "schema_migrations",
			     version);
}

/* The key ids' table (003_keys) for a store that recorded version 3 without
 * it: a placeholder 003 stood on main while the two branches that numbered
 * 003 and 004 were merged one after the other, and a store migrated then
 * has 004 but no key_ids. Runs the real 003 when its table is missing, and
 * then the later migrations of that table (013_key_kinds, 014_store_id)
 * when the store is past them. arg: the store's version. */
static int sqlite_keys_repair_run(struct store_tx *tx, void *arg)
{
	const int *current = arg;
	sqlite3 *db = sqlite_tx_conn(tx)->db;
	int tables;
	if (sqlite_int_of(db,
			  "SELECT count(*) FROM sqlite_master WHERE "
			  "type = 'table' AND name = 'key_ids'",
			  &tables) != STORE_OK)
		return STORE_FAULT;
	for (size_t i = 0; tables == 0 && i < schema_migrations_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if ((strcmp(m->name, "keys") != 0 &&
		     strcmp(m->name, "key_kinds") != 0 &&
		     strcmp(m->name, "store_id") != 0) ||
		    m->version > *current)
			continue;
		log_info("store: migrate applied %03d_%s again (its table was "
			 "missing)",
			 m->version, m->name);
		if (sqlite_exec(db, m->sql) != SQLITE_OK)
			return STORE_FAULT;
	}
	return STORE_OK;
}

int sqlite_migrate(struct store *store, int *applied, int *version)
{
	int current = 0, ran = 0;
	int rc = store_write(store, sqlite_version_run, &current);
	if (rc != STORE_OK)
		return rc;
	for (size_t i = 0; i < schema_migrations_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if (m->version <= current)
			continue;
		struct sqlite_migration_job j = { m };
		rc = store_write(store, sqlite_migration_run, &j);
		if (rc != STORE_OK) {
			log_warn("store: migration %03d_%s failed", m->version,
				 m->name);
			return rc;
		}
		log_info("store: migrate applied %03d_%s", m->version, m->name);
		current = m->version;
		ran++;
	}
	rc = store_write(store, sqlite_keys_repair_run, &current);
	if (rc != STORE_OK)
		return rc;
	if (applied)
		*applied = ran;
	if (version)
		*version = current;
	return STORE_OK;
}
