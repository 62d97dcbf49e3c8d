/*
 * schema.h — the numbered SQL migrations of src/store/schema/, embedded at
 * build time (scripts/embed-schema generates schema.c), in order; and the
 * PostgreSQL backend's own, src/store/schema/pg/ (schema_pg.c). Both lists
 * arrive at the same tables: pg/001_init.sql is the state SQLite's
 * 001–009 reach, written for PostgreSQL.
 */
#ifndef CMR_STORE_SCHEMA_H
#define CMR_STORE_SCHEMA_H

#include <stddef.h>

struct schema_migration {
	int version;	  /* NNN of NNN_name.sql */
	const char *name; /* name of NNN_name.sql */
	const char *sql;  /* the file's text */
};

extern const struct schema_migration schema_migrations[];
extern const size_t schema_migrations_count;

/* The PostgreSQL backend's migrations (schema/pg/NNN_name.sql). */
extern const struct schema_migration schema_pg_migrations[];
extern const size_t schema_pg_migrations_count;

#endif
