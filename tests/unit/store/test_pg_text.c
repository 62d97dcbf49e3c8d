/*
 * test_pg_text.c — the PostgreSQL backend's rewriting of the shared SQL's
 * parameters (`?`, `?N`) into `$N` (pg_sql_text in src/store/pg_conn.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "store/pg.h"

static void check(const char *sql, const char *want, int want_n,
		  uint32_t want_used)
{
	int n = -1;
	uint32_t used = 0;
	char *got = pg_sql_text(sql, &n, &used);
	cr_assert_not_null(got);
	cr_expect_str_eq(got, want, "%s", sql);
	cr_expect_eq(n, want_n, "%s: %d parameters", sql, n);
	cr_expect_eq(used, want_used, "%s: used %x", sql, used);
	free(got);
}

Test(pg_text, bare_marks_count_on)
{
	check("INSERT INTO t(a, b, c) VALUES (?,?,?)",
	      "INSERT INTO t(a, b, c) VALUES ($1,$2,$3)", 3, 0x7);
}

Test(pg_text, numbered_marks_keep_their_number)
{
	check("UPDATE t SET a = ?1 WHERE b = ?2 AND c = ?1",
	      "UPDATE t SET a = $1 WHERE b = $2 AND c = $1", 2, 0x3);
	check("SELECT ?10", "SELECT $10", 10, 0x200);
}

Test(pg_text, a_bare_mark_follows_the_largest_so_far)
{
	/* SQLite's rule: ?3 then ? is ?4. */
	check("SELECT ?3, ?", "SELECT $3, $4", 4, 0xc);
}

Test(pg_text, a_skipped_number_is_counted_not_used)
{
	check("SELECT 1 WHERE a = ?1 AND b > ?3",
	      "SELECT 1 WHERE a = $1 AND b > $3", 3, 0x5);
}

Test(pg_text, marks_in_quotes_are_text)
{
	check("SELECT '?', \"?x\", ? FROM t WHERE a = 'it''s ?'",
	      "SELECT '?', \"?x\", $1 FROM t WHERE a = 'it''s ?'", 1, 0x1);
}

Test(pg_text, no_marks)
{
	check("SELECT 1", "SELECT 1", 0, 0);
}
