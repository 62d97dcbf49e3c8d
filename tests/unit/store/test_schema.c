/*
 * test_schema.c — the migrations embedded at build (store/schema.h): each
 * list is numbered 1, 2, … in order and holds its files' text, and the
 * PostgreSQL list makes every table, column, index and trigger that the
 * SQLite migrations arrive at (applied here to a database in memory), so
 * that a migration added to one backend and not the other fails here. The
 * PostgreSQL schema itself is applied to a real server by
 * tests/api/test_pg_schema.py.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"

/* The whole text of a file of the source tree (owned by the caller). */
static char *source_file(const char *path)
{
	char full[4096];
	snprintf(full, sizeof full, "%s/%s", CMR_SOURCE_ROOT, path);
	FILE *f = fopen(full, "rb");
	cr_assert_not_null(f, "cannot open %s", full);
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			text = realloc(text, cap);
			cr_assert_not_null(text);
		}
		memcpy(text + len, buf, n);
		len += n;
	}
	fclose(f);
	cr_assert_not_null(text, "%s is empty", full);
	text[len] = '\0';
	return text;
}

static void expect_numbered(const struct schema_migration *list, size_t n,
			    const char *dir)
{
	cr_assert_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(list[i].version, (int)i + 1);
		cr_expect_gt(strlen(list[i].name), 0);
		char path[256];
		snprintf(path, sizeof path, "%s/%03d_%s.sql", dir,
			 list[i].version, list[i].name);
		char *text = source_file(path);
		cr_expect_str_eq(list[i].sql, text, "%s differs", path);
		free(text);
	}
}

Test(schema, sqlite_migrations_are_numbered_and_embedded_whole)
{
	expect_numbered(schema_migrations, schema_migrations_count,
			"src/store/schema");
}

Test(schema, pg_migrations_are_numbered_and_embedded_whole)
{
	expect_numbered(schema_pg_migrations, schema_pg_migrations_count,
			"src/store/schema/pg");
}

/* Every PostgreSQL migration's text, one after the other (owned). */
static char *pg_text(void)
{
	size_t len = 1;
	for (size_t i = 0; i < schema_pg_migrations_count; i++)
		len += strlen(schema_pg_migrations[i].sql);
	char *all = calloc(1, len);
	cr_assert_not_null(all);
	for (size_t i = 0; i < schema_pg_migrations_count; i++)
		strcat(all, schema_pg_migrations[i].sql);
	return all;
}

/* Whether the PostgreSQL text has the column: a line "\t<column> " in
 * its table's CREATE TABLE, or an ALTER TABLE … ADD COLUMN of it. */
static bool pg_has_column(const char *pg, const char *table, const char *column)
{
	char want[256];
	snprintf(want, sizeof want, "CREATE TABLE %s (", table);
	const char *start = strstr(pg, want);
	if (start) {
		const char *end = strstr(start, "\n);");
		snprintf(want, sizeof want, "\n\t%s ", column);
		const char *at = strstr(start, want);
		if (at && (end == NULL || at < end))
			return true;
	}
	snprintf(want, sizeof want, "ALTER TABLE %s ADD COLUMN %s ", table,
		 column);
	return strstr(pg, want) != NULL;
}

Test(schema, pg_makes_what_the_sqlite_migrations_make)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (size_t i = 0; i < schema_migrations_count; i++)
		cr_assert_eq(sqlite3_exec(db, schema_migrations[i].sql, NULL,
					  NULL, NULL),
			     SQLITE_OK, "%s: %s", schema_migrations[i].name,
			     sqlite3_errmsg(db));
	char *pg = pg_text();
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT type, name, tbl_name FROM "
					"sqlite_master WHERE sql IS NOT NULL "
					"ORDER BY name",
					-1, &st, NULL),
		     SQLITE_OK);
	int objects = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		char want[256];
		if (strcmp(type, "table") == 0)
			snprintf(want, sizeof want, "CREATE TABLE %s (", name);
		else if (strcmp(type, "index") == 0)
			snprintf(want, sizeof want, "INDEX %s", name);
		else /* a trigger */
			snprintf(want, sizeof want, "CREATE TRIGGER %s ", name);
		/* "INDEX name" must end there: not a prefix of another. */
		const char *at = strstr(pg, want);
		while (at && strcmp(type, "index") == 0 &&
		       at[strlen(want)] != ' ' && at[strlen(want)] != '\n')
			at = strstr(at + 1, want);
		cr_expect_not_null(at, "PostgreSQL's schema lacks %s %s", type,
				   name);
		objects++;
	}
	sqlite3_finalize(st);
	cr_expect_gt(objects, 20);

	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT m.name, c.name FROM "
					"sqlite_master AS m, "
					"pragma_table_info(m.name) AS c "
					"WHERE m.type = 'table'",
					-1, &st, NULL),
		     SQLITE_OK);
	int columns = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);
		const char *column = (const char *)sqlite3_column_text(st, 1);
		cr_expect(pg_has_column(pg, table, column),
			  "PostgreSQL's %s lacks the column %s", table, column);
		columns++;
	}
	sqlite3_finalize(st);
	cr_expect_gt(columns, 100);
	free(pg);
	sqlite3_close(db);
}
