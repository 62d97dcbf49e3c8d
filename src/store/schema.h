/*
 * schema.h — the numbered SQL migrations of src/store/schema/, embedded at
 * build time (scripts/embed-schema generates schema.c), in order.
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

#endif
