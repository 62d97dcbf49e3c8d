/*
 * pg_migrate.c — the PostgreSQL backend's migrations: schema/pg/NNN_*.sql,
 * embedded at build, applied in one writer job under a transaction-level
 * advisory lock, so that two servers starting at once on one database
 * migrate it once (the second waits, then finds nothing to do).
 */
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "pg.h"
#include "schema.h"

/* The advisory lock's key: "cmr-migr" as a 64-bit integer. */
#define PG_MIGRATE_LOCK "7173447044127649650"

struct pg_migrate_job {
	int current, ran;
};

static const char q_pg_version[] =
	"SELECT coalesce(max(version), 0) FROM schema_migrations";
static const char q_pg_applied[] =
	"INSERT INTO schema_migrations(version, name, applied_at) "
	"VALUES (?, ?, ?)";

/* Runs a statement of the schema: STORE_OK; STORE_INVALID when the role
 * may not (insufficient_privilege: it does not own the database, whose
 * schema public PostgreSQL 15 lets only the owner create in), said in
 * words instead of PostgreSQL's; else the failure's status (logged). */
static int pg_migrate_exec(struct pg_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	bool denied = state && strcmp(state, "42501") == 0;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return STORE_OK;
	}
	if (!denied) {
		const char *msg = PQresultErrorMessage(res);
		log_warn("store: migrate: %.*s", (int)strcspn(msg, "\n"), msg);
		int rc = pg_status(res);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	log_warn("store: migrate: the role %s may not create tables in "
		 "schema public of database %s: make it the database's owner "
		 "(createdb --owner, or ALTER DATABASE %s OWNER TO %s)",
		 PQuser(c->pg), PQdb(c->pg), PQdb(c->pg), PQuser(c->pg));
	return STORE_INVALID;
}

static int pg_migrate_run(struct store_tx *tx, void *arg)
{
	struct pg_migrate_job *j = arg;
	struct pg_conn *c = &PG(tx->store)->writer;
	int64_t v = 0;
	int rc;

	if ((rc = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK
			     ")")) != STORE_OK ||
	    (rc = pg_migrate_exec(
		     c, "CREATE TABLE IF NOT EXISTS schema_migrations "
			"(version bigint PRIMARY KEY, name text NOT "
			"NULL, applied_at bigint NOT NULL)")) != STORE_OK)
		return rc;
	rc = sql_select_key(&tx->reads, q_pg_version, 0, NULL, sql_row_int, &v);
	if (rc != STORE_OK)
		return rc;
	j->current = (int)v;
	for (size_t i = 0; i < schema_pg_migrations_count; i++) {
		const struct schema_migration *m = &schema_pg_migrations[i];
		if (m->version <= j->current)
			continue;
		if ((rc = pg_migrate_exec(c, m->sql)) != STORE_OK) {
			log_warn("store: migration pg/%03d_%s failed",
				 m->version, m->name);
			return rc;
		}
		WRITER_STMT(tx, q_pg_applied);
		sql_bind_int(st, 1, m->version);
		bind_text(st, 2, m->name);
		sql_bind_int(st, 3, (int64_t)time(NULL));
		if ((rc = sql_exec(st)) != STORE_OK)
			return rc;
		log_info("store: migrate applied pg/%03d_%s", m->version,
			 m->name);
		j->current = m->version;
		j->ran++;
	}
	return STORE_OK;
}

int pg_migrate(struct store *store, int *applied, int *version)
{
	struct pg_migrate_job j = { 0, 0 };
	int rc = store_write(store, pg_migrate_run, &j);
	if (rc != STORE_OK)
		return rc;
	if (applied)
		*applied = j.ran;
	if (version)
		*version = j.current;
	return STORE_OK;
}
