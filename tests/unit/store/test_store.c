/*
 * test_store.c — the store (store.h) through its public API, on a SQLite
 * file in a fresh temporary directory per test.
 *
 * First the round trips: persons, brands and their domains, proposals,
 * relationships (with their alias and first terms version), attempts with
 * the delivery and held queries, the ledger and its signed heads, and
 * migrations run twice. Then the writer: concurrent writers all land and
 * share commits; a failing job is rolled back alone, its rollback hooks
 * newest first, while the rest of its batch commits and runs its commit
 * hooks after the commit. Last, faults (nothing acknowledged is lost, nothing
 * half-written): faultvfs.c fails the N-th write, sync, truncate or allocation
 * under SQLite, for every N until a job of several rows gets through untouched;
 * each time the job is reported failed and left nothing, or reported done and
 * is all there — also in a copy of the files taken as a crash would leave them
 * — and the store goes on working.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "faultvfs.h"
#include "store/store.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_STORE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_STORE_LSAN 1
#endif
#endif
#ifdef TEST_STORE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* Stored values of enum gate_outcome and enum rel_state (core/gate.h),
 * which the store keeps as plain integers. */
enum { DELIVERED = 0, HELD = 1, REFUSED = 2 };
enum { REL_OPEN = 0, REL_GONE = 2 };

/* The shims must sit under SQLite before its first call, which Criterion's
 * main and every forked test come after. */
__attribute__((constructor)) static void test_store_install(void)
{
	if (!faultvfs_install())
		abort();
}

/* ---- A store in a temporary directory ---- */

static struct {
	char dir[256];
	char path[300];	 /* the database file */
	char url[320];	 /* sqlite:PATH */
	struct store *s; /* open and migrated */
	int version;	 /* the schema version migrations led to */
} fx;

static void fx_open(void)
{
	char err[256] = "";

	cr_assert_eq(store_open(fx.url, &fx.s, err, sizeof(err)), STORE_OK,
		     "store_open: %s", err);
}

static void fx_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int applied = -1, version = -1;

	snprintf(fx.dir, sizeof(fx.dir), "%s/cmr-store-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(fx.dir), "mkdtemp: %s", strerror(errno));
	snprintf(fx.path, sizeof(fx.path), "%s/cmr.db", fx.dir);
	snprintf(fx.url, sizeof(fx.url), "sqlite:%s", fx.path);
	fx_open();
	cr_assert_eq(store_migrate(fx.s, &applied, &version), STORE_OK);
	/* A fresh file gets every migration, numbered from 1 without gaps. */
	cr_assert_geq(applied, 1);
	cr_assert_eq(version, applied);
	fx.version = version;
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			rm_tree(p);
	}
	closedir(d);
	rmdir(dir);
}

static void fx_teardown(void)
{
	faultvfs_disarm();
	store_close(fx.s);
	fx.s = NULL;
	rm_tree(fx.dir);
}

TestSuite(store, .init = fx_setup, .fini = fx_teardown);

/* The store logs every fault it meets; hundreds of rounds of that would
 * bury a real failure. TEST_STORE_LOG=1 keeps the log. */
static void quiet_logs(void)
{
	const char *keep = getenv("TEST_STORE_LOG");

	if (keep == NULL || *keep == '\0' || *keep == '0')
		log_set_level((enum log_level)(LOG_WARN + 1));
}

/* Under AddressSanitizer, fails the test if memory leaked so far (a leak
 * report at exit comes after Criterion has counted the test passed). */
static void leak_check(void)
{
#ifdef TEST_STORE_LSAN
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
		     "memory leaked (see the LeakSanitizer report)");
#endif
}

/* ---- Jobs that run one store call ---- */

static int job_person(struct store_tx *tx, void *arg)
{
	return store_person_insert(tx, arg);
}

static int job_brand(struct store_tx *tx, void *arg)
{
	return store_brand_insert(tx, arg);
}

static int job_proposal(struct store_tx *tx, void *arg)
{
	return store_proposal_insert(tx, arg);
}

static int job_relationship(struct store_tx *tx, void *arg)
{
	return store_relationship_insert(tx, arg);
}

static int job_attempt(struct store_tx *tx, void *arg)
{
	return store_attempt_insert(tx, arg);
}

static int job_ledger(struct store_tx *tx, void *arg)
{
	return store_ledger_append(tx, arg);
}

struct decide_args {
	uint64_t id;
	const char *state;
	uint64_t relationship;
	int64_t at;
};

static int job_decide(struct store_tx *tx, void *arg)
{
	struct decide_args *d = arg;

	return store_proposal_decide(tx, d->id, d->state, d->relationship,
				     d->at);
}

struct set_key_args {
	uint64_t id;
	uint8_t key_hash[32];
	int64_t at;
};

static int job_set_key(struct store_tx *tx, void *arg)
{
	struct set_key_args *k = arg;

	return store_brand_set_key(tx, k->id, k->key_hash, k->at);
}

struct set_text_args {
	enum store_person_field field;
	uint64_t id;
	const char *text;
};

static int job_set_text(struct store_tx *tx, void *arg)
{
	struct set_text_args *a = arg;

	return store_person_set(tx, a->id, a->field, a->text);
}

struct head_save_args {
	uint64_t person;
	int64_t seq;
	uint8_t hash[32];
	const char *note;
	int64_t at;
};

static int job_head_save(struct store_tx *tx, void *arg)
{
	struct head_save_args *h = arg;

	return store_ledger_head_save(tx, h->person, h->seq, h->hash, h->note,
				      h->at);
}

/* ---- Records ---- */

static void person_make(struct store_person *p, const char *handle)
{
	memset(p, 0, sizeof(*p));
	p->id = store_new_key();
	snprintf(p->handle, sizeof(p->handle), "%s", handle);
	snprintf(p->password_hash, sizeof(p->password_hash),
		 "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$%s", handle);
	p->data_key_len = 72;
	for (size_t i = 0; i < p->data_key_len; i++)
		p->data_key[i] = (uint8_t)(i * 7 + 1);
	p->created_at = 1760000000;
}

static void person_add(struct store_person *p, const char *handle)
{
	person_make(p, handle);
	cr_assert_eq(store_write(fx.s, job_person, p), STORE_OK,
		     "insert person %s", handle);
}

static void brand_add(struct store_brand *b, const char *name,
		      const char *domains)
{
	memset(b, 0, sizeof(*b));
	b->id = store_new_key();
	snprintf(b->name, sizeof(b->name), "%s", name);
	memset(b->key_hash, 0xab, sizeof(b->key_hash));
	b->controller = (char *)"{\"contact\":\"dpo@example.com\"}";
	b->domains = (char *)domains;
	b->created_at = 1760000100;
	b->key_rotated_at = 1760000100;
	cr_assert_eq(store_write(fx.s, job_brand, b), STORE_OK,
		     "insert brand %s", name);
}

static void proposal_add(struct store_proposal *p, uint64_t person,
			 uint64_t brand)
{
	memset(p, 0, sizeof(*p));
	p->id = store_new_key();
	p->person = person;
	p->brand = brand;
	p->value = (char *)"10% off";
	p->ask = (char *)"{\"channels\":[\"email\"]}";
	p->created_at = 1760000200;
	p->expires_at = 1760600200;
	cr_assert_eq(store_write(fx.s, job_proposal, p), STORE_OK);
}

static void rel_make(struct store_relationship *r, uint64_t person,
		     uint64_t brand, uint64_t proposal, const char *alias)
{
	memset(r, 0, sizeof(*r));
	r->id = store_new_key();
	r->person = person;
	r->brand = brand;
	r->proposal = proposal;
	r->state = REL_OPEN;
	snprintf(r->alias, sizeof(r->alias), "%s", alias);
	r->terms = (char *)"{\"channels\":{\"email\":{}}}";
	r->topics = (char *)"[\"orders\",\"offers\"]";
	r->created_at = 1760000300;
}

/* ---- Reading the file directly ---- */

/* A fresh connection of its own to the database file (read-only unless
 * rw: a crash copy needs writing to recover its WAL). */
static sqlite3 *db_open(const char *path, bool rw)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
		path, &db, rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY,
		NULL);

	cr_assert_eq(rc, SQLITE_OK, "open %s: %s", path, sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* The one integer sql returns with ?1 bound to arg (a key or 0). */
static int64_t db_int(sqlite3 *db, const char *sql, uint64_t arg)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)arg);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: %s", sql,
		     sqlite3_errmsg(db));
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t file_int(const char *sql, uint64_t arg)
{
	sqlite3 *db = db_open(fx.path, false);
	int64_t v = db_int(db, sql, arg);

	sqlite3_close(db);
	return v;
}

static void hash_value(crypto_generichash_state *h, sqlite3_stmt *st, int i)
{
	int type = sqlite3_column_type(st, i);
	uint8_t tag = (uint8_t)type;
	int64_t n;

	crypto_generichash_update(h, &tag, 1);
	switch (type) {
	case SQLITE_INTEGER:
		n = sqlite3_column_int64(st, i);
		crypto_generichash_update(h, (const void *)&n, sizeof(n));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);
		crypto_generichash_update(h, (const void *)&d, sizeof(d));
		break;
	}
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(st, i);
		n = sqlite3_column_bytes(st, i);
		crypto_generichash_update(h, (const void *)&n, sizeof(n));
		if (n > 0)
			crypto_generichash_update(h, p, (size_t)n);
		break;
	}
	default:
		break;
	}
}

/* A digest of every row of every table, leaving out the rows of the
 * n_except persons of except: their person rows and rows whose `person`
 * is one of them. */
static void db_digest(sqlite3 *db, const uint64_t *except, int n_except,
		      uint8_t out[32])
{
	crypto_generichash_state h;
	sqlite3_stmt *tables = NULL;
	char ids[32 * 21 + 3] = "[";

	cr_assert_leq(n_except, 32);
	for (int i = 0; i < n_except; i++) {
		size_t len = strlen(ids);
		snprintf(ids + len, sizeof(ids) - len, "%s%llu", i ? "," : "",
			 (unsigned long long)except[i]);
	}
	strcat(ids, "]");

	crypto_generichash_init(&h, NULL, 0, 32);
	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT s.name, EXISTS (SELECT 1 FROM "
					"pragma_table_info(s.name) AS c WHERE "
					"c.name = 'person'), (SELECT count(*) "
					"FROM pragma_table_info(s.name)) FROM "
					"sqlite_schema AS s WHERE s.type = "
					"'table' ORDER BY s.name",
					-1, &tables, NULL),
		     SQLITE_OK, "%s", sqlite3_errmsg(db));
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		const char *key = strcmp(name, "persons") == 0	  ? "id"
				  : sqlite3_column_int(tables, 1) ? "person"
								  : NULL;
		int columns = sqlite3_column_int(tables, 2);
		char sql[512], order[256] = "";
		sqlite3_stmt *st = NULL;

		/* Rows in the order of all their columns, not of storage. */
		for (int i = 1; i <= columns; i++) {
			size_t len = strlen(order);
			snprintf(order + len, sizeof(order) - len, "%s%d",
				 i > 1 ? ", " : "", i);
		}
		if (key)
			snprintf(sql, sizeof(sql),
				 "SELECT * FROM \"%s\" WHERE %s IS NULL OR "
				 "%s NOT IN (SELECT value FROM json_each(?1))"
				 " ORDER BY %s",
				 name, key, key, order);
		else
			snprintf(sql, sizeof(sql),
				 "SELECT * FROM \"%s\" ORDER BY %s", name,
				 order);
		cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			     SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
		if (key)
			sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
		crypto_generichash_update(&h, (const void *)name,
					  strlen(name) + 1);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			for (int i = 0; i < sqlite3_column_count(st); i++)
				hash_value(&h, st, i);
		cr_assert_eq(rc, SQLITE_DONE, "%s: %s", sql,
			     sqlite3_errmsg(db));
		sqlite3_finalize(st);
	}
	sqlite3_finalize(tables);
	crypto_generichash_final(&h, out, 32);
}

/* ---- Round trips ---- */

Test(store, migrate_twice_applies_nothing_the_second_time)
{
	int applied = -1, version = -1;

	cr_assert_eq(store_migrate(fx.s, &applied, &version), STORE_OK);
	cr_expect_eq(applied, 0);
	cr_expect_eq(version, fx.version);
	cr_expect_eq(file_int("SELECT count(*) FROM schema_migrations", 0),
		     fx.version);

	/* And after reopening: the version is read from the file. */
	store_close(fx.s);
	fx_open();
	applied = version = -1;
	cr_assert_eq(store_migrate(fx.s, &applied, &version), STORE_OK);
	cr_expect_eq(applied, 0);
	cr_expect_eq(version, fx.version);
	cr_assert_eq(store_migrate(fx.s, NULL, NULL), STORE_OK);
}

Test(store, open_refuses_bad_urls)
{
	struct store *s = NULL;
	char err[256] = "";

	cr_expect_eq(store_open("cmr.db", &s, err, sizeof(err)), STORE_INVALID);
	cr_expect_neq(err[0], '\0');
	cr_expect_eq(store_open("mysql://x", &s, err, sizeof(err)),
		     STORE_INVALID);
	cr_expect_eq(store_open("sqlite:", &s, err, sizeof(err)),
		     STORE_INVALID);
	cr_expect_null(s);
}

/* ---- The keys the store belongs to, its lock, its files' mode ---- */

struct key_add {
	const char *kind, *id;
};

static int job_key_add(struct store_tx *tx, void *arg)
{
	const struct key_add *k = arg;
	return store_key_id_add(tx, k->kind, k->id, 1760000000);
}

Test(store, key_facts_record_ids_and_data)
{
	struct store_key_facts f;
	struct store_person p;

	cr_assert_eq(store_key_facts(store_reads(fx.s), &f), STORE_OK);
	cr_expect_str_eq(f.kek_id, "");
	cr_expect_eq(f.n_signing, 0);
	cr_expect_not(f.has_data);
	cr_expect_eq(f.data_key_len, 0);

	person_make(&p, "alice");
	cr_assert_eq(store_write(fx.s, job_person, &p), STORE_OK);
	struct key_add adds[] = { { "kek", "00112233aabbccdd" },
				  { "signing", "1111111111111111" },
				  { "signing", "2222222222222222" },
				  { "signing", "1111111111111111" } };
	for (size_t i = 0; i < sizeof(adds) / sizeof(*adds); i++)
		cr_assert_eq(store_write(fx.s, job_key_add, &adds[i]),
			     STORE_OK);
	struct key_add bad = { "seed", "3333333333333333" };
	cr_expect_eq(store_write(fx.s, job_key_add, &bad), STORE_INVALID);

	cr_assert_eq(store_key_facts(store_reads(fx.s), &f), STORE_OK);
	cr_expect_str_eq(f.kek_id, "00112233aabbccdd");
	cr_assert_eq(f.n_signing, 2); /* a second add changes nothing */
	cr_expect_str_eq(f.signing[0], "1111111111111111");
	cr_expect_str_eq(f.signing[1], "2222222222222222");
	cr_expect(f.has_data);
	cr_expect_eq(f.data_key_len, p.data_key_len);
	cr_expect_arr_eq(f.data_key, p.data_key, p.data_key_len);
}

Test(store, key_facts_read_before_migrating)
{
	char url[400], err[256] = "";
	struct store_key_facts f;
	struct store *s = NULL;

	/* A new file, and the empty tables of an unmigrated one. */
	snprintf(url, sizeof(url), "sqlite:%s/new.db", fx.dir);
	cr_assert_eq(store_open(url, &s, err, sizeof(err)), STORE_OK, "%s",
		     err);
	cr_expect_eq(store_key_facts(store_reads(s), &f), STORE_OK);
	cr_expect_not(f.has_data);
	cr_expect_eq(f.n_signing, 0);
	store_close(s);
}

Test(store, migrate_remakes_a_missing_key_ids_table)
{
	sqlite3 *db = NULL;
	struct store_key_facts f;
	int applied = -1;

	/* A store that recorded the placeholder 003 (see sqlite_migrate.c). */
	cr_assert_eq(sqlite3_open(fx.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "DROP TABLE key_ids", NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(store_migrate(fx.s, &applied, NULL), STORE_OK);
	cr_expect_eq(applied, 0);
	struct key_add k = { "kek", "00112233aabbccdd" };
	cr_expect_eq(store_write(fx.s, job_key_add, &k), STORE_OK);
	cr_assert_eq(store_key_facts(store_reads(fx.s), &f), STORE_OK);
	cr_expect_str_eq(f.kek_id, "00112233aabbccdd");
}

Test(store, one_lock_holder_per_store)
{
	char err[512] = "";
	struct store *second = NULL, *third = NULL;

	cr_assert_eq(store_lock(fx.s, STORE_LOCK_SERVE, err, sizeof(err)),
		     STORE_OK, "%s", err);
	cr_assert_eq(store_lock(fx.s, STORE_LOCK_SERVE, err, sizeof(err)),
		     STORE_OK, "%s", err);
	cr_assert_eq(store_open(fx.url, &second, err, sizeof(err)), STORE_OK);
	cr_expect_eq(store_lock(second, STORE_LOCK_SERVE, err, sizeof(err)),
		     STORE_CONFLICT);
	cr_expect(strstr(err, fx.path) != NULL, "%s", err);
	/* Unlocked, the store still reads and writes. */
	struct store_person p;
	person_make(&p, "bob");
	cr_expect_eq(store_write(second, job_person, &p), STORE_OK);
	store_close(second);
	/* The lock goes with the store that held it. */
	store_close(fx.s);
	fx.s = NULL;
	cr_assert_eq(store_open(fx.url, &third, err, sizeof(err)), STORE_OK);
	cr_expect_eq(store_lock(third, STORE_LOCK_SERVE, err, sizeof(err)),
		     STORE_OK, "%s", err);
	fx.s = third;
}

Test(store, files_are_private_whatever_the_umask)
{
	char url[420], path[360], err[256] = "";
	struct store *s = NULL;
	struct stat st;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/private.db", fx.dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	cr_assert_eq(store_open(url, &s, err, sizeof(err)), STORE_OK, "%s",
		     err);
	cr_assert_eq(store_migrate(s, NULL, NULL), STORE_OK);
	umask(old);
	const char *suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char f[420];
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		cr_assert_eq(stat(f, &st), 0, "%s", f);
		cr_expect_eq(st.st_mode & 07777, 0600, "%s: %o", f,
			     st.st_mode & 07777);
	}
	store_close(s);
	/* An older store's loose mode is tightened at open. */
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(store_open(url, &s, err, sizeof(err)), STORE_OK, "%s",
		     err);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	store_close(s);
}

Test(store, person_round_trip)
{
	struct store_person p, got, dup;

	person_make(&p, "alice");
	p.profile = (char *)"sealed:profile";
	p.global_terms = (char *)"{\"caps\":[]}";
	p.folders = (char *)"[\"Deals\"]";
	cr_assert_eq(store_write(fx.s, job_person, &p), STORE_OK);

	cr_assert_eq(store_person_get(store_reads(fx.s), 0, "alice", &got),
		     STORE_OK);
	cr_expect_eq(got.id, p.id);
	cr_expect_str_eq(got.handle, "alice");
	cr_expect_str_eq(got.password_hash, p.password_hash);
	cr_expect_eq(got.data_key_len, p.data_key_len);
	cr_expect_arr_eq(got.data_key, p.data_key, p.data_key_len);
	cr_expect_str_eq(got.profile, "sealed:profile");
	cr_expect_str_eq(got.global_terms, "{\"caps\":[]}");
	cr_expect_str_eq(got.folders, "[\"Deals\"]");
	cr_expect_eq(got.created_at, p.created_at);
	cr_expect_eq(got.erased_at, 0);
	store_person_clear(&got);

	cr_assert_eq(store_person_get(store_reads(fx.s), p.id, NULL, &got),
		     STORE_OK);
	cr_expect_str_eq(got.handle, "alice");
	store_person_clear(&got);

	cr_expect_eq(store_person_get(store_reads(fx.s), 0, "Alice", &got),
		     STORE_NOT_FOUND);
	cr_expect_eq(store_person_get(store_reads(fx.s), p.id ^ 1, NULL, &got),
		     STORE_NOT_FOUND);

	/* Defaults for what the caller left out. */
	struct store_person bob;
	person_add(&bob, "bob");
	cr_assert_eq(store_person_get(store_reads(fx.s), bob.id, NULL, &got),
		     STORE_OK);
	cr_expect_null(got.profile);
	cr_expect_str_eq(got.global_terms, "{}");
	cr_expect_str_eq(got.folders, "[]");
	store_person_clear(&got);

	/* A taken handle: refused, nothing written. */
	person_make(&dup, "alice");
	cr_expect_eq(store_write(fx.s, job_person, &dup), STORE_CONFLICT);
	cr_expect_eq(store_person_get(store_reads(fx.s), dup.id, NULL, &got),
		     STORE_NOT_FOUND);
	cr_expect_eq(file_int("SELECT count(*) FROM persons", 0), 2);
}

Test(store, person_setters)
{
	struct store_person p, got;
	struct set_text_args a;
	const struct set_text_args sets[] = {
		{ STORE_PERSON_PROFILE, 0, "sealed:2" },
		{ STORE_PERSON_GLOBAL_TERMS, 0, "{\"quiet\":[]}" },
		{ STORE_PERSON_FOLDERS, 0, "[\"A\",\"B\"]" },
		{ STORE_PERSON_PASSWORD, 0, "$argon2id$x" },
		{ STORE_PERSON_DELIVERY, 0, "{\"maildir\":true}" },
	};

	person_add(&p, "carol");
	for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
		a = sets[i];
		a.id = p.id;
		cr_assert_eq(store_write(fx.s, job_set_text, &a), STORE_OK);
	}

	/* No such person; what is not a field: refused, nothing written. */
	a = (struct set_text_args){ STORE_PERSON_PROFILE, p.id ^ 1, "x" };
	cr_expect_eq(store_write(fx.s, job_set_text, &a), STORE_NOT_FOUND);
	a = (struct set_text_args){ (enum store_person_field)5, p.id, "x" };
	cr_expect_eq(store_write(fx.s, job_set_text, &a), STORE_INVALID);
	a = (struct set_text_args){ (enum store_person_field) - 1, p.id, "x" };
	cr_expect_eq(store_write(fx.s, job_set_text, &a), STORE_INVALID);

	cr_assert_eq(store_person_get(store_reads(fx.s), p.id, NULL, &got),
		     STORE_OK);
	cr_expect_str_eq(got.profile, "sealed:2");
	cr_expect_str_eq(got.global_terms, "{\"quiet\":[]}");
	cr_expect_str_eq(got.folders, "[\"A\",\"B\"]");
	cr_expect_str_eq(got.password_hash, "$argon2id$x");
	cr_expect_str_eq(got.delivery, "{\"maildir\":true}");
	store_person_clear(&got);
}

/* ---- Tokens ---- */

static int job_token(struct store_tx *tx, void *arg)
{
	return store_token_insert(tx, arg);
}

struct revoke_args {
	uint64_t person, id;
	bool others;
	int64_t at;
};

static int job_revoke(struct store_tx *tx, void *arg)
{
	struct revoke_args *r = arg;

	return store_token_revoke(tx, r->person, r->id, r->others, r->at);
}

static int64_t token_revoked_at(uint64_t id)
{
	struct store_token t;

	cr_assert_eq(store_token_by_id(store_reads(fx.s), id, &t), STORE_OK);
	return t.revoked_at;
}

Test(store, token_revoke_one_or_all_others)
{
	struct store_person p, q;
	struct store_token t[4];

	person_add(&p, "gus");
	person_add(&q, "hal");
	for (int i = 0; i < 4; i++) {
		t[i] = (struct store_token){ .id = store_new_key(),
					     .person = i < 3 ? p.id : q.id,
					     .created_at = 1760000000,
					     .expires_at = 1770000000 };
		snprintf(t[i].kind, sizeof(t[i].kind), "session");
		cr_assert_eq(store_write(fx.s, job_token, &t[i]), STORE_OK);
	}

	/* One: the person's own, once. */
	struct revoke_args r = { q.id, t[0].id, false, 1760000100 };
	cr_expect_eq(store_write(fx.s, job_revoke, &r), STORE_NOT_FOUND);
	cr_expect_eq(token_revoked_at(t[0].id), 0);
	r.person = p.id;
	cr_assert_eq(store_write(fx.s, job_revoke, &r), STORE_OK);
	cr_expect_eq(token_revoked_at(t[0].id), 1760000100);
	cr_expect_eq(store_write(fx.s, job_revoke, &r), STORE_NOT_FOUND);

	/* The others: all of the person's but the one kept, and none of
	 * anyone else's; a revoked one keeps its time; none left is fine. */
	r = (struct revoke_args){ p.id, t[1].id, true, 1760000200 };
	cr_assert_eq(store_write(fx.s, job_revoke, &r), STORE_OK);
	cr_expect_eq(token_revoked_at(t[0].id), 1760000100);
	cr_expect_eq(token_revoked_at(t[1].id), 0);
	cr_expect_eq(token_revoked_at(t[2].id), 1760000200);
	cr_expect_eq(token_revoked_at(t[3].id), 0);
	cr_expect_eq(store_write(fx.s, job_revoke, &r), STORE_OK);
}

static int token_listed(const struct store_token *t, void *arg)
{
	struct store_token *out = arg;
	int i = 0;
	while (out[i].id)
		i++;
	cr_assert(i < 7);
	out[i] = *t;
	return 0;
}

/* The person's credentials that still work, newest first: not revoked,
 * not expired, not another person's. */
Test(store, token_list_is_the_persons_live_ones_newest_first)
{
	struct store_person p, q;
	struct store_token t[5], got[8];
	/* created_at, expires_at, person (0: p): the one revoked is t[2]. */
	const int64_t rows[5][3] = { { 1760000000, 1770000000, 0 },
				     { 1760000300, 1770000000, 0 },
				     { 1760000400, 1770000000, 0 },
				     { 1760000100, 1760000500, 0 },
				     { 1760000200, 1770000000, 1 } };

	person_add(&p, "ida");
	person_add(&q, "jon");
	for (int i = 0; i < 5; i++) {
		t[i] = (struct store_token){ .id = store_new_key(),
					     .person = rows[i][2] ? q.id : p.id,
					     .created_at = rows[i][0],
					     .last_used_at = rows[i][0],
					     .expires_at = rows[i][1] };
		snprintf(t[i].kind, sizeof(t[i].kind), i ? "session" : "token");
		cr_assert_eq(store_write(fx.s, job_token, &t[i]), STORE_OK);
	}
	struct revoke_args r = { p.id, t[2].id, false, 1760000450 };
	cr_assert_eq(store_write(fx.s, job_revoke, &r), STORE_OK);

	memset(got, 0, sizeof(got));
	cr_assert_eq(store_token_list(store_reads(fx.s), p.id, 1760000499,
				      token_listed, got),
		     STORE_OK);
	cr_expect_eq(got[0].id, t[1].id);
	cr_expect_eq(got[1].id, t[3].id);
	cr_expect_eq(got[2].id, t[0].id);
	cr_expect_eq(got[3].id, 0);
	cr_expect_str_eq(got[2].kind, "token");
	cr_expect_eq(got[1].expires_at, 1760000500);

	/* At its expiry, t[3] is gone. */
	memset(got, 0, sizeof(got));
	cr_assert_eq(store_token_list(store_reads(fx.s), p.id, 1760000500,
				      token_listed, got),
		     STORE_OK);
	cr_expect_eq(got[0].id, t[1].id);
	cr_expect_eq(got[1].id, t[0].id);
	cr_expect_eq(got[2].id, 0);
}

struct id_list {
	uint64_t ids[64];
	int n;
	int stop_after; /* 0: never stop */
};

static int collect_person(const struct store_person *p, void *arg)
{
	struct id_list *l = arg;

	cr_assert_lt(l->n, 64);
	l->ids[l->n++] = p->id;
	return l->stop_after && l->n == l->stop_after;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(store, person_list_pages_in_id_order)
{
	struct store_person p[25];
	uint64_t want[25];
	struct id_list page;
	uint64_t after = 0;
	int seen = 0;

	for (int i = 0; i < 25; i++) {
		char h[16];
		snprintf(h, sizeof(h), "p%02d", i);
		person_add(&p[i], h);
		want[i] = p[i].id;
	}
	qsort(want, 25, sizeof(*want), cmp_u64);
	for (int sizes[] = { 10, 10, 5, 0 }, k = 0; k < 4; k++) {
		memset(&page, 0, sizeof(page));
		cr_assert_eq(store_person_list(store_reads(fx.s), after, 10,
					       collect_person, &page),
			     STORE_OK);
		cr_assert_eq(page.n, sizes[k], "page %d", k);
		for (int i = 0; i < page.n; i++)
			cr_expect_eq(page.ids[i], want[seen + i]);
		seen += page.n;
		if (page.n)
			after = page.ids[page.n - 1];
	}
	cr_expect_eq(seen, 25);

	/* A callback that says stop. */
	memset(&page, 0, sizeof(page));
	page.stop_after = 3;
	cr_assert_eq(store_person_list(store_reads(fx.s), 0, 100,
				       collect_person, &page),
		     STORE_OK);
	cr_expect_eq(page.n, 3);
}

static int collect_brand(const struct store_brand *b, void *arg)
{
	struct id_list *l = arg;

	cr_assert_lt(l->n, 64);
	l->ids[l->n++] = b->id;
	return 0;
}

Test(store, brand_round_trip_with_domains)
{
	struct store_brand b, got, other;
	uint64_t owner = 0;

	brand_add(&b, "Shop", "[\"shop.example\",\"mail.shop.example\"]");
	cr_assert_eq(store_brand_get(store_reads(fx.s), b.id, NULL, &got),
		     STORE_OK);
	cr_expect_str_eq(got.name, "Shop");
	cr_expect_arr_eq(got.key_hash, b.key_hash, 32);
	cr_expect_str_eq(got.controller, b.controller);
	cr_expect_str_eq(got.domains,
			 "[\"mail.shop.example\",\"shop.example\"]");
	cr_expect_eq(got.created_at, b.created_at);
	store_brand_clear(&got);
	cr_assert_eq(store_brand_get(store_reads(fx.s), 0, "Shop", &got),
		     STORE_OK);
	cr_expect_eq(got.id, b.id);
	store_brand_clear(&got);
	cr_expect_eq(store_brand_get(store_reads(fx.s), 0, "shop", &got),
		     STORE_NOT_FOUND);

	cr_assert_eq(store_brand_by_domain(store_reads(fx.s),
					   "mail.shop.example", &owner),
		     STORE_OK);
	cr_expect_eq(owner, b.id);
	cr_expect_eq(store_brand_by_domain(store_reads(fx.s), "other.example",
					   &owner),
		     STORE_NOT_FOUND);

	/* A domain another brand owns: the whole brand is refused. */
	memset(&other, 0, sizeof(other));
	other.id = store_new_key();
	snprintf(other.name, sizeof(other.name), "Copycat");
	other.domains = (char *)"[\"copycat.example\",\"shop.example\"]";
	cr_expect_eq(store_write(fx.s, job_brand, &other), STORE_CONFLICT);
	cr_expect_eq(store_brand_get(store_reads(fx.s), other.id, NULL, &got),
		     STORE_NOT_FOUND);
	cr_expect_eq(store_brand_by_domain(store_reads(fx.s), "copycat.example",
					   &owner),
		     STORE_NOT_FOUND);

	/* A taken name, and domains that are not a JSON array. */
	other.id = store_new_key();
	snprintf(other.name, sizeof(other.name), "Shop");
	other.domains = NULL;
	cr_expect_eq(store_write(fx.s, job_brand, &other), STORE_CONFLICT);
	snprintf(other.name, sizeof(other.name), "Odd");
	other.domains = (char *)"{\"a\":1}";
	cr_expect_eq(store_write(fx.s, job_brand, &other), STORE_INVALID);
	other.domains = (char *)"[42]";
	cr_expect_eq(store_write(fx.s, job_brand, &other), STORE_INVALID);
	cr_expect_eq(store_brand_get(store_reads(fx.s), other.id, NULL, &got),
		     STORE_NOT_FOUND);

	/* A second brand, then the list in id order. */
	struct store_brand b2;
	struct id_list l = { 0 };
	brand_add(&b2, "Shop Two", "[]");
	cr_assert_eq(
		store_brand_list(store_reads(fx.s), 0, 10, collect_brand, &l),
		STORE_OK);
	cr_assert_eq(l.n, 2);
	cr_expect_eq(l.ids[0], b.id < b2.id ? b.id : b2.id);
	cr_expect_eq(l.ids[1], b.id < b2.id ? b2.id : b.id);
	uint64_t first = l.ids[0];
	l.n = 0;
	cr_assert_eq(store_brand_list(store_reads(fx.s), first, 10,
				      collect_brand, &l),
		     STORE_OK);
	cr_assert_eq(l.n, 1);
	cr_expect_neq(l.ids[0], first);
}

Test(store, brand_set_key)
{
	struct store_brand b, got;
	struct set_key_args k = { 0 };

	brand_add(&b, "Keyed", "[\"keyed.example\"]");
	k.id = b.id;
	memset(k.key_hash, 0x5c, sizeof(k.key_hash));
	k.at = 1760009999;
	cr_assert_eq(store_write(fx.s, job_set_key, &k), STORE_OK);
	cr_assert_eq(store_brand_get(store_reads(fx.s), b.id, NULL, &got),
		     STORE_OK);
	cr_expect_arr_eq(got.key_hash, k.key_hash, 32);
	cr_expect_eq(got.key_rotated_at, 1760009999);
	cr_expect_eq(got.created_at, b.created_at);
	store_brand_clear(&got);

	k.id = b.id ^ 1;
	cr_expect_eq(store_write(fx.s, job_set_key, &k), STORE_NOT_FOUND);
}

Test(store, proposal_decided_once)
{
	struct store_person p;
	struct store_brand b;
	struct store_proposal pr, got;
	struct decide_args d;

	person_add(&p, "dana");
	brand_add(&b, "Offers", "[]");
	proposal_add(&pr, p.id, b.id);
	cr_assert_eq(store_proposal_by_id(store_reads(fx.s), pr.id, &got),
		     STORE_OK);
	cr_expect_str_eq(got.state, "pending");
	cr_expect_eq(got.person, p.id);
	cr_expect_eq(got.brand, b.id);
	cr_expect_str_eq(got.value, "10% off");
	cr_expect_str_eq(got.ask, pr.ask);
	cr_expect_eq(got.expires_at, pr.expires_at);
	cr_expect_eq(got.decided_at, 0);
	cr_expect_eq(got.relationship, 0);
	store_proposal_clear(&got);

	d = (struct decide_args){ pr.id, "accepted", 77, 1760000400 };
	cr_assert_eq(store_write(fx.s, job_decide, &d), STORE_OK);
	cr_assert_eq(store_proposal_by_id(store_reads(fx.s), pr.id, &got),
		     STORE_OK);
	cr_expect_str_eq(got.state, "accepted");
	cr_expect_eq(got.relationship, 77);
	cr_expect_eq(got.decided_at, 1760000400);
	store_proposal_clear(&got);

	/* No longer pending: a second decision is refused, the first holds. */
	d = (struct decide_args){ pr.id, "declined", 0, 1760000500 };
	cr_expect_eq(store_write(fx.s, job_decide, &d), STORE_CONFLICT);
	cr_assert_eq(store_proposal_by_id(store_reads(fx.s), pr.id, &got),
		     STORE_OK);
	cr_expect_str_eq(got.state, "accepted");
	cr_expect_eq(got.decided_at, 1760000400);
	store_proposal_clear(&got);

	d.id = pr.id ^ 1;
	cr_expect_eq(store_write(fx.s, job_decide, &d), STORE_CONFLICT);
	cr_expect_eq(store_proposal_by_id(store_reads(fx.s), pr.id ^ 1, &got),
		     STORE_NOT_FOUND);

	/* A proposal for a person who does not exist: a foreign key. */
	struct store_proposal orphan = pr;
	orphan.id = store_new_key();
	orphan.person = p.id ^ 1;
	cr_expect_eq(store_write(fx.s, job_proposal, &orphan), STORE_CONFLICT);
}

/* What ties a brand to a person: an open relationship, else a proposal
 * still pending at `now`; the other brand's, or another person's, do
 * not count. */
Test(store, proposal_open)
{
	struct store_person p, q;
	struct store_brand b, b2;
	struct store_proposal pr, other;
	struct store_relationship ended, open;
	struct store_rd *rd = store_reads(fx.s);
	int tie = -1;
	int64_t now = 1760000300;

	person_add(&p, "fay");
	person_add(&q, "gus");
	brand_add(&b, "Tied", "[]");
	brand_add(&b2, "Loose", "[]");
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, 0);
	proposal_add(&pr, p.id, b.id);
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, STORE_OPEN_PROPOSAL);
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, pr.expires_at, &tie),
		     STORE_OK);
	cr_expect_eq(tie, 0, "an expired proposal ties nothing");
	cr_assert_eq(store_proposal_open(rd, p.id, b2.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, 0);
	cr_assert_eq(store_proposal_open(rd, q.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, 0);
	struct decide_args d = { pr.id, "declined", 0, now };
	cr_assert_eq(store_write(fx.s, job_decide, &d), STORE_OK);
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, 0, "a declined proposal ties nothing");

	proposal_add(&other, p.id, b.id);
	rel_make(&ended, p.id, b.id, other.id, "fay.old@cmr.example");
	ended.state = REL_GONE;
	ended.ended_at = now;
	cr_assert_eq(store_write(fx.s, job_relationship, &ended), STORE_OK);
	d = (struct decide_args){ other.id, "accepted", ended.id, now };
	cr_assert_eq(store_write(fx.s, job_decide, &d), STORE_OK);
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, 0, "an ended relationship ties nothing");
	rel_make(&open, p.id, b.id, other.id, "fay.new@cmr.example");
	cr_assert_eq(store_write(fx.s, job_relationship, &open), STORE_OK);
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, STORE_OPEN_RELATIONSHIP);
	cr_assert_eq(store_proposal_open(rd, q.id, b.id, now, &tie), STORE_OK);
	cr_expect_eq(tie, 0);
}

struct take_over_args {
	uint64_t id, person, brand, proposal;
};

static int job_take_over(struct store_tx *tx, void *arg)
{
	struct take_over_args *a = arg;

	return store_relationship_take_over(tx, a->id, a->person, a->brand,
					    a->proposal);
}

/* A relationship the person made, for a brand not on cmr. */
static void rel_person_made(struct store_relationship *r, uint64_t person,
			    const char *alias)
{
	rel_make(r, person, 0, 0, alias);
	r->person_made = true;
	r->brand_name = (char *)"Shop";
	r->domains = (char *)"[\"shop.example\"]";
	cr_assert_eq(store_write(fx.s, job_relationship, r), STORE_OK);
}

Test(store, relationship_take_over)
{
	struct store_person p, q;
	struct store_brand b, b2;
	struct store_proposal pr, pr2;
	struct store_relationship made, ended, second, mine, got;
	struct store_rd *rd = store_reads(fx.s);
	int tie = -1;

	person_add(&p, "hal");
	person_add(&q, "ivy");
	brand_add(&b, "Shop", "[\"shop.example\"]");
	brand_add(&b2, "Shop Two", "[\"shop2.example\"]");
	rel_person_made(&made, p.id, "shop.a@cmr.example");
	/* A person-made relationship ties no brand: a proposal may come. */
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, 1760000300, &tie),
		     STORE_OK);
	cr_expect_eq(tie, 0);
	proposal_add(&pr, p.id, b.id);
	proposal_add(&pr2, p.id, b2.id);

	/* Another person's: refused, nothing changes. */
	struct take_over_args a = { made.id, q.id, b.id, pr.id };
	cr_expect_eq(store_write(fx.s, job_take_over, &a), STORE_CONFLICT);
	cr_assert_eq(store_relationship_get(rd, made.id, NULL, &got), STORE_OK);
	cr_expect_eq(got.brand, 0);
	store_relationship_clear(&got);

	/* The person's: the brand and proposal are set, the rest stays. */
	a.person = p.id;
	cr_assert_eq(store_write(fx.s, job_take_over, &a), STORE_OK);
	cr_assert_eq(store_relationship_get(rd, made.id, NULL, &got), STORE_OK);
	cr_expect_eq(got.brand, b.id);
	cr_expect_eq(got.proposal, pr.id);
	cr_expect(got.person_made, "made_by stays person");
	cr_expect_str_eq(got.alias, made.alias);
	cr_expect_str_eq(got.brand_name, "Shop");
	cr_expect_str_eq(got.domains, "[\"shop.example\"]");
	cr_expect_eq(got.terms_version, 1);
	store_relationship_clear(&got);
	cr_assert_eq(store_proposal_open(rd, p.id, b.id, 1760000300, &tie),
		     STORE_OK);
	cr_expect_eq(tie, STORE_OPEN_RELATIONSHIP);

	/* Taken over once only. */
	a = (struct take_over_args){ made.id, p.id, b2.id, pr2.id };
	cr_expect_eq(store_write(fx.s, job_take_over, &a), STORE_CONFLICT);

	/* Not once ended. */
	rel_make(&ended, p.id, 0, 0, "shop.b@cmr.example");
	ended.person_made = true;
	ended.state = REL_GONE;
	ended.ended_at = 1760000400;
	cr_assert_eq(store_write(fx.s, job_relationship, &ended), STORE_OK);
	a.id = ended.id;
	cr_expect_eq(store_write(fx.s, job_take_over, &a), STORE_CONFLICT);

	/* Not a second open one of the person with the same brand. */
	rel_person_made(&second, p.id, "shop.c@cmr.example");
	a = (struct take_over_args){ second.id, p.id, b.id, pr.id };
	cr_expect_eq(store_write(fx.s, job_take_over, &a), STORE_CONFLICT);
	cr_assert_eq(store_relationship_get(rd, second.id, NULL, &got),
		     STORE_OK);
	cr_expect_eq(got.brand, 0);
	store_relationship_clear(&got);

	/* Not one made from a proposal (it has its brand). */
	proposal_add(&pr, q.id, b2.id);
	rel_make(&mine, q.id, b2.id, pr.id, "shop.d@cmr.example");
	cr_assert_eq(store_write(fx.s, job_relationship, &mine), STORE_OK);
	a = (struct take_over_args){ mine.id, q.id, b.id, pr.id };
	cr_expect_eq(store_write(fx.s, job_take_over, &a), STORE_CONFLICT);
}

static int collect_rel(const struct store_relationship *r, void *arg)
{
	struct id_list *l = arg;

	cr_assert_lt(l->n, 64);
	l->ids[l->n++] = r->id;
	return l->stop_after && l->n == l->stop_after;
}

/* Lists f's relationships into l (emptied first). */
static void rel_ids(struct store_relationship_filter f, struct id_list *l)
{
	l->n = 0;
	cr_assert_eq(
		store_relationship_list(store_reads(fx.s), &f, collect_rel, l),
		STORE_OK);
}

Test(store, relationship_round_trip)
{
	struct store_person p, q;
	struct store_brand b, b2;
	struct store_proposal pr, pr2, qr;
	struct store_relationship r, got, again;

	person_add(&p, "erin");
	person_add(&q, "fay");
	brand_add(&b, "Rel", "[\"rel.example\"]");
	brand_add(&b2, "Rel Two", "[\"rel2.example\"]");
	proposal_add(&pr, p.id, b.id);
	proposal_add(&pr2, p.id, b2.id);
	proposal_add(&qr, q.id, b.id);

	rel_make(&r, p.id, b.id, pr.id, "erin.k3x9@cmr.example");
	cr_assert_eq(store_write(fx.s, job_relationship, &r), STORE_OK);
	cr_assert_eq(
		store_relationship_get(store_reads(fx.s), r.id, NULL, &got),
		STORE_OK);
	cr_expect_eq(got.person, p.id);
	cr_expect_eq(got.brand, b.id);
	cr_expect_eq(got.proposal, pr.id);
	cr_expect_eq(got.state, REL_OPEN);
	cr_expect_str_eq(got.alias, r.alias);
	cr_expect_str_eq(got.terms, r.terms);
	cr_expect_eq(got.terms_version, 1);
	cr_expect_str_eq(got.topics, r.topics);
	cr_expect_eq(got.created_at, r.created_at);
	cr_expect_eq(got.ended_at, 0);
	store_relationship_clear(&got);
	cr_assert_eq(
		store_relationship_get(store_reads(fx.s), 0, r.alias, &got),
		STORE_OK);
	cr_expect_eq(got.id, r.id);
	store_relationship_clear(&got);
	cr_expect_eq(store_relationship_get(store_reads(fx.s), 0,
					    "nobody@cmr.example", &got),
		     STORE_NOT_FOUND);

	/* The alias is in the directory and the terms are version 1. */
	cr_expect_eq(file_int("SELECT relationship FROM aliases WHERE person = "
			      "?1",
			      p.id),
		     (int64_t)r.id);
	cr_expect_eq(file_int("SELECT count(*) FROM terms_versions WHERE "
			      "relationship = ?1 AND version = 1",
			      r.id),
		     1);

	/* A second open relationship of erin × Rel: refused. */
	rel_make(&again, p.id, b.id, pr.id, "erin.other@cmr.example");
	cr_expect_eq(store_write(fx.s, job_relationship, &again),
		     STORE_CONFLICT);
	cr_expect_eq(
		store_relationship_get(store_reads(fx.s), again.id, NULL, &got),
		STORE_NOT_FOUND);
	cr_expect_eq(file_int("SELECT count(*) FROM aliases WHERE "
			      "relationship = ?1",
			      again.id),
		     0);

	/* An alias ever issued is never issued again, to anyone. */
	rel_make(&again, q.id, b.id, qr.id, "erin.k3x9@cmr.example");
	cr_expect_eq(store_write(fx.s, job_relationship, &again),
		     STORE_CONFLICT);

	/* An ended relationship does not block a new one. */
	struct store_relationship ended, fresh;
	rel_make(&ended, p.id, b2.id, pr2.id, "erin.old@cmr.example");
	ended.state = REL_GONE;
	ended.ended_at = 1760000900;
	cr_assert_eq(store_write(fx.s, job_relationship, &ended), STORE_OK);
	rel_make(&fresh, p.id, b2.id, pr2.id, "erin.new@cmr.example");
	cr_assert_eq(store_write(fx.s, job_relationship, &fresh), STORE_OK);

	/* erin has three, paged two at a time; one of them is ended. */
	uint64_t all[3] = { r.id, ended.id, fresh.id };
	qsort(all, 3, sizeof(*all), cmp_u64);
	struct id_list l = { 0 };
	rel_ids((struct store_relationship_filter){ .person = p.id,
						    .limit = 2 },
		&l);
	cr_assert_eq(l.n, 2);
	cr_expect_eq(l.ids[0], all[0]);
	cr_expect_eq(l.ids[1], all[1]);
	rel_ids((struct store_relationship_filter){ .person = p.id,
						    .after = all[1],
						    .limit = 2 },
		&l);
	cr_assert_eq(l.n, 1);
	cr_expect_eq(l.ids[0], all[2]);
	rel_ids((struct store_relationship_filter){ .person = q.id,
						    .limit = 10 },
		&l);
	cr_expect_eq(l.n, 0);

	rel_ids((struct store_relationship_filter){ .open = true, .limit = 10 },
		&l);
	cr_assert_eq(l.n, 2);
	for (int i = 0; i < l.n; i++)
		cr_expect_neq(l.ids[i], ended.id);
	cr_expect(l.ids[0] < l.ids[1]);
	l.stop_after = 1;
	rel_ids((struct store_relationship_filter){ .open = true, .limit = 10 },
		&l);
	cr_expect_eq(l.n, 1);
	l.stop_after = 0;

	/* The filters combine: Rel Two's (ended and fresh), those of them
	 * not ended, erin's with Rel Two, erin's open ones with Rel, and
	 * fay's with Rel Two (none). */
	uint64_t b2_first = ended.id < fresh.id ? ended.id : fresh.id;
	struct {
		struct store_relationship_filter f;
		int n;
		uint64_t first;
	} cases[] = {
		{ { .brand = b2.id, .limit = 10 }, 2, b2_first },
		{ { .brand = b2.id, .open = true, .limit = 10 }, 1, fresh.id },
		{ { .person = p.id, .brand = b2.id, .limit = 10 },
		  2,
		  b2_first },
		{ { .person = p.id, .brand = b.id, .open = true, .limit = 10 },
		  1,
		  r.id },
		{ { .person = q.id, .brand = b2.id, .limit = 10 }, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		rel_ids(cases[i].f, &l);
		cr_expect_eq(l.n, cases[i].n, "case %zu", i);
		if (cases[i].n > 0)
			cr_expect_eq(l.ids[0], cases[i].first, "case %zu", i);
	}
}

/* ---- Attempts ---- */

struct delivery_seen {
	int n;
	int channel[16];
	bool exempt[16];
	int64_t at[16];
	int stop_after;
};

static int collect_delivery(int channel, bool exempt, int64_t at, void *arg)
{
	struct delivery_seen *d = arg;

	cr_assert_lt(d->n, 16);
	d->channel[d->n] = channel;
	d->exempt[d->n] = exempt;
	d->at[d->n++] = at;
	return d->stop_after && d->n == d->stop_after;
}

static void attempt_add(uint64_t person, uint64_t rel, int decision,
			int channel, int64_t decided_at, bool exempt)
{
	static const char body[] = "Hello";
	struct store_attempt a = {
		.id = store_new_time_key(decided_at * 1000 + 1),
		.person = person,
		.relationship = rel,
		.channel = channel,
		.topic = "orders",
		.decision = decision,
		.folder = decision == DELIVERED ? 1 : -1,
		.deliver_at = decision == HELD ? decided_at + 3600 : 0,
		.decided_at = decision == DELIVERED ? decided_at : 0,
		.exempt = exempt,
		.received_at = decided_at,
		.sender = "news@shop.example",
		.sender_verified = true,
		.subject = "Hi",
		.headers = "Subject: Hi\r\n",
		.headers_len = 13,
		.body = decision == REFUSED ? NULL : body,
		.body_len = decision == REFUSED ? 0 : sizeof(body) - 1,
	};

	cr_assert_eq(store_write(fx.s, job_attempt, &a), STORE_OK);
}

/* What the bulk reads saw: (key, at) pairs, and (key, n) counts. */
struct many_seen {
	int n;
	uint64_t key[16];
	int64_t at[16];
};

static int collect_many_delivery(uint64_t key, int channel, bool exempt,
				 int64_t at, void *arg)
{
	struct many_seen *d = arg;
	(void)channel;
	(void)exempt;
	d->key[d->n] = key;
	d->at[d->n++] = at;
	return 0;
}

static int collect_count(uint64_t key, int64_t n, void *arg)
{
	struct many_seen *d = arg;
	d->key[d->n] = key;
	d->at[d->n++] = n;
	return 0;
}

struct many_attempts {
	struct store_attempt a[3];
};

static int job_attempts_many(struct store_tx *tx, void *arg)
{
	return store_attempt_insert_many(tx, ((struct many_attempts *)arg)->a,
					 3);
}

Test(store, bulk_reads_answer_as_the_reads_of_one_key)
{
	/* A key with its top bit set is stored as a negative integer. */
	uint64_t person = 0x8000000000000101ULL, other = store_new_key();
	uint64_t r1 = 0x8000000000000001ULL, r2 = store_new_key();
	uint64_t gone = store_new_key();
	struct many_seen d = { 0 };

	attempt_add(person, r1, DELIVERED, 0, 3000, true);
	attempt_add(person, r1, DELIVERED, 0, 1000, false);
	attempt_add(person, r1, DELIVERED, 0, 2000, false);
	attempt_add(person, r1, HELD, 0, 2500, false);
	attempt_add(person, r2, DELIVERED, 0, 1500, false);
	attempt_add(other, r2, HELD, 0, 1700, false);
	attempt_add(other, r2, HELD, 0, 1800, false);

	/* Each key's deliveries in store_delivery_list's order, keys
	 * together; a key without any is left out. */
	uint64_t rels[] = { r2, gone, r1 };
	cr_assert_eq(store_delivery_list_many(store_reads(fx.s), false, rels, 3,
					      1500, collect_many_delivery, &d),
		     STORE_OK);
	cr_assert_eq(d.n, 3);
	int first = d.key[0] == r1 ? 0 : 2; /* where r1's two are */
	cr_expect_eq(d.key[first], r1);
	cr_expect_eq(d.at[first], 2000);
	cr_expect_eq(d.key[first + 1], r1);
	cr_expect_eq(d.at[first + 1], 3000);
	cr_expect_eq(d.key[first ? 0 : 2], r2);
	cr_expect_eq(d.at[first ? 0 : 2], 1500);

	memset(&d, 0, sizeof(d));
	uint64_t persons[] = { person, other };
	cr_assert_eq(store_delivery_list_many(store_reads(fx.s), true, persons,
					      2, 0, collect_many_delivery, &d),
		     STORE_OK);
	cr_assert_eq(d.n, 4);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(d.key[i], person);
	cr_expect_eq(d.at[0], 1000);
	cr_expect_eq(d.at[3], 3000);

	/* Held counts of the relationships that hold any. */
	memset(&d, 0, sizeof(d));
	cr_assert_eq(store_held_count_many(store_reads(fx.s), rels, 3,
					   collect_count, &d),
		     STORE_OK);
	cr_assert_eq(d.n, 2);
	for (int i = 0; i < 2; i++)
		cr_expect_eq(d.at[i], d.key[i] == r1 ? 1 : 2);

	/* Many attempts in one job, as many single inserts would. */
	struct many_attempts m;
	for (int i = 0; i < 3; i++)
		m.a[i] = (struct store_attempt){ .id = 900 + (uint64_t)i,
						 .person = other,
						 .relationship = gone,
						 .topic = "tab\there",
						 .decision = DELIVERED,
						 .folder = -1,
						 .decided_at = 4000 + i,
						 .received_at = 4000,
						 .sealed = true };
	cr_assert_eq(store_write(fx.s, job_attempts_many, &m), STORE_OK);
	memset(&d, 0, sizeof(d));
	cr_assert_eq(store_delivery_list_many(store_reads(fx.s), false, &gone,
					      1, 0, collect_many_delivery, &d),
		     STORE_OK);
	cr_expect_eq(d.n, 3);
	cr_expect_eq(file_int("SELECT count(*) FROM attempts WHERE topic = "
			      "'tab'||char(9)||'here'",
			      0),
		     3);
	/* The same ids again: refused whole. */
	cr_expect_eq(store_write(fx.s, job_attempts_many, &m), STORE_CONFLICT);
	cr_expect_eq(file_int("SELECT count(*) FROM attempts WHERE id >= 900 "
			      "AND id < 903",
			      0),
		     3);
}

Test(store, attempts_deliveries_and_held)
{
	uint64_t person = store_new_key(), other = store_new_key();
	uint64_t r1 = store_new_key(), r2 = store_new_key();
	struct delivery_seen d = { 0 };
	uint32_t held = 99;

	attempt_add(person, r1, DELIVERED, 0, 1000, false);
	attempt_add(person, r1, DELIVERED, 1, 3000, true);
	attempt_add(person, r1, DELIVERED, 0, 2000, false);
	attempt_add(person, r1, HELD, 0, 2500, false);
	attempt_add(person, r1, REFUSED, 0, 2600, false);
	attempt_add(person, r2, DELIVERED, 0, 1500, false);
	attempt_add(other, store_new_key(), DELIVERED, 0, 1200, false);

	/* Of a relationship: delivered only, oldest first, from `since`. */
	cr_assert_eq(store_delivery_list(store_reads(fx.s), r1, 0, 1500,
					 collect_delivery, &d),
		     STORE_OK);
	cr_assert_eq(d.n, 2);
	cr_expect_eq(d.at[0], 2000);
	cr_expect_eq(d.at[1], 3000);
	cr_expect_eq(d.channel[1], 1);
	cr_expect(d.exempt[1]);
	cr_expect(!d.exempt[0]);

	/* Of a person: every relationship, exempt ones included. */
	memset(&d, 0, sizeof(d));
	cr_assert_eq(store_delivery_list(store_reads(fx.s), 0, person, 0,
					 collect_delivery, &d),
		     STORE_OK);
	cr_assert_eq(d.n, 4);
	cr_expect_eq(d.at[0], 1000);
	cr_expect_eq(d.at[1], 1500);
	cr_expect_eq(d.at[2], 2000);
	cr_expect_eq(d.at[3], 3000);

	memset(&d, 0, sizeof(d));
	d.stop_after = 1;
	cr_assert_eq(store_delivery_list(store_reads(fx.s), 0, person, 0,
					 collect_delivery, &d),
		     STORE_OK);
	cr_expect_eq(d.n, 1);

	cr_assert_eq(store_held_count(store_reads(fx.s), r1, &held), STORE_OK);
	cr_expect_eq(held, 1);
	cr_assert_eq(store_held_count(store_reads(fx.s), r2, &held), STORE_OK);
	cr_expect_eq(held, 0);

	/* The same id twice. */
	struct store_attempt a = { .id = 42, .person = person, .folder = -1 };
	cr_assert_eq(store_write(fx.s, job_attempt, &a), STORE_OK);
	cr_expect_eq(store_write(fx.s, job_attempt, &a), STORE_CONFLICT);
}

/* ---- The outbox of the delivery adapters ---- */

static int job_outbox(struct store_tx *tx, void *arg)
{
	return store_outbox_add(tx, arg);
}

static int job_purge_later(struct store_tx *tx, void *arg)
{
	struct store_purge p = { .later_now = *(int64_t *)arg };
	return store_purge(tx, &p);
}

struct settle_args {
	uint64_t person, id;
	int tries;
	int64_t next_at;
	const char *error;
};

static int job_settle(struct store_tx *tx, void *arg)
{
	struct settle_args *a = arg;
	return store_outbox_settle(tx, a->person, a->id, a->tries, a->next_at,
				   a->error);
}

static int collect_outbox(const struct store_outbox *o, void *arg)
{
	struct store_outbox *list = arg;
	int i = 0;
	while (list[i].id)
		i++;
	list[i] = *o;
	return i == 14;
}

Test(store, outbox_queues_retries_and_follows_the_later_purge)
{
	struct store_person p;
	struct set_text_args a;
	person_add(&p, "dora");
	uint64_t rel = store_new_key();
	int64_t now = 1800000000;
	/* Delivered long ago, one in Later (folder 1: attempt_add's). */
	attempt_add(p.id, rel, DELIVERED, 0, now - 40 * 86400, false);
	attempt_add(p.id, rel, DELIVERED, 0, now - 10, false);

	/* Every delivered message of the person, in order. */
	struct store_outbox o = { .person = p.id,
				  .adapter = STORE_ADAPTER_MAILDIR,
				  .op = STORE_OUTBOX_DELIVER,
				  .folder = -1,
				  .next_at = now };
	cr_assert_eq(store_write(fx.s, job_outbox, &o), STORE_OK);
	struct store_outbox due[16];
	memset(due, 0, sizeof(due));
	cr_assert_eq(store_outbox_due(store_reads(fx.s), now, true, 16,
				      collect_outbox, due),
		     STORE_OK);
	cr_assert_neq(due[0].id, 0);
	cr_assert_neq(due[1].id, 0);
	cr_expect_eq(due[2].id, 0);
	cr_expect_lt(due[0].attempt, due[1].attempt);
	cr_expect_eq(due[0].folder, -1);

	/* Settled by (person, id): another person's id is no row. */
	int64_t pending, failing;
	char last[64];
	struct settle_args sa = { p.id + 1, due[1].id, -1, 0, NULL };
	cr_assert_eq(store_write(fx.s, job_settle, &sa), STORE_OK);
	cr_assert_eq(store_outbox_count(store_reads(fx.s), p.id, &pending,
					&failing, last, sizeof(last)),
		     STORE_OK);
	cr_expect_eq(pending, 2);
	/* A failure comes back later, with its error counted. */
	sa = (struct settle_args){ p.id, due[0].id, 1, now + 5, "disk full" };
	cr_assert_eq(store_write(fx.s, job_settle, &sa), STORE_OK);
	sa = (struct settle_args){ p.id, due[1].id, -1, 0, NULL };
	cr_assert_eq(store_write(fx.s, job_settle, &sa), STORE_OK);
	cr_assert_eq(store_outbox_count(store_reads(fx.s), p.id, &pending,
					&failing, last, sizeof(last)),
		     STORE_OK);
	cr_expect_eq(pending, 1);
	cr_expect_eq(failing, 1);
	cr_expect_str_eq(last, "disk full");
	memset(due, 0, sizeof(due));
	cr_assert_eq(store_outbox_due(store_reads(fx.s), now, true, 16,
				      collect_outbox, due),
		     STORE_OK);
	cr_expect_eq(due[0].id, 0); /* not due yet */
	cr_assert_eq(store_outbox_due(store_reads(fx.s), now + 5, true, 16,
				      collect_outbox, due),
		     STORE_OK);
	cr_expect_eq(due[0].tries, 1);
	sa = (struct settle_args){ p.id, due[0].id, -1, 0, NULL };
	cr_assert_eq(store_write(fx.s, job_settle, &sa), STORE_OK);

	/* Purging Later queues the removal of the Maildir's copy — only for
	 * a person whose Maildir is on, and only of what is purged. */
	cr_assert_eq(store_write(fx.s, job_purge_later, &now), STORE_OK);
	memset(due, 0, sizeof(due));
	cr_assert_eq(store_outbox_due(store_reads(fx.s), now, true, 16,
				      collect_outbox, due),
		     STORE_OK);
	cr_expect_eq(due[0].id, 0);
	attempt_add(p.id, rel, DELIVERED, 0, now - 41 * 86400, false);
	a = (struct set_text_args){
		STORE_PERSON_DELIVERY, p.id,
		"{\"maildir\":true,\"maildir_copies\":true}"
	};
	cr_assert_eq(store_write(fx.s, job_set_text, &a), STORE_OK);
	cr_assert_eq(store_write(fx.s, job_purge_later, &now), STORE_OK);
	cr_assert_eq(store_outbox_due(store_reads(fx.s), now, true, 16,
				      collect_outbox, due),
		     STORE_OK);
	cr_assert_neq(due[0].id, 0);
	cr_expect_eq(due[0].op, STORE_OUTBOX_REMOVE);
	cr_expect_eq(due[0].folder, 1);
	cr_expect_eq(due[1].id, 0);
}

/* ---- The purge ---- */

struct purge_setup {
	uint64_t person;
	int64_t now;
};

/* Two of each kind the purge deletes, one old and one recent. */
static int job_purge_setup(struct store_tx *tx, void *arg)
{
	struct purge_setup *ps = arg;
	uint8_t hash[32];
	int rc = STORE_OK;

	for (int i = 0; i < 2 && rc == STORE_OK; i++) {
		int64_t at = ps->now - (i == 0 ? 100 : 1) * 86400;
		struct store_idem v = { .status = 201,
					.response = (char *)"{}",
					.created_at = at };
		rc = store_idem_put(tx, 7, i == 0 ? "old" : "new", &v);
		memset(hash, i, sizeof(hash));
		if (rc == STORE_OK)
			rc = store_code_insert(tx, hash, ps->person, at);
	}
	return rc;
}

static int job_purge(struct store_tx *tx, void *arg)
{
	return store_purge(tx, arg);
}

Test(store, purge_deletes_what_is_past_each_bound)
{
	struct store_person p;

	person_add(&p, "ida");
	struct purge_setup ps = { p.id, 1760000000 };
	cr_assert_eq(store_write(fx.s, job_purge_setup, &ps), STORE_OK);
	attempt_add(p.id, 0, REFUSED, 0, ps.now - 100 * 86400, false);
	attempt_add(p.id, 0, REFUSED, 0, ps.now - 86400, false);

	/* Bounds of 0 keep everything. */
	struct store_purge none = { 0 };
	cr_assert_eq(store_write(fx.s, job_purge, &none), STORE_OK);
	cr_expect_eq(file_int("SELECT count(*) FROM idempotency", 0), 2);
	cr_expect_eq(file_int("SELECT count(*) FROM connect_codes", 0), 2);
	cr_expect_eq(file_int("SELECT count(*) FROM attempts", 0), 2);

	struct store_purge some = { .later_now = ps.now,
				    .idem_before = ps.now - 10 * 86400,
				    .refused_before = ps.now - 10 * 86400,
				    .codes_before = ps.now - 10 * 86400 };
	cr_assert_eq(store_write(fx.s, job_purge, &some), STORE_OK);
	cr_expect_eq(some.later_purged, 0);
	cr_expect_eq(file_int("SELECT count(*) FROM idempotency WHERE key = "
			      "'new'",
			      0),
		     1);
	cr_expect_eq(file_int("SELECT count(*) FROM idempotency", 0), 1);
	cr_expect_eq(file_int("SELECT count(*) FROM connect_codes", 0), 1);
	cr_expect_eq(file_int("SELECT count(*) FROM attempts WHERE "
			      "received_at = ?1",
			      (uint64_t)(ps.now - 86400)),
		     1);
	cr_expect_eq(file_int("SELECT count(*) FROM attempts", 0), 1);
}

/* ---- The ledger ---- */

static void entry_make(struct store_ledger_entry *e, uint64_t person,
		       int64_t seq, const uint8_t prev[32])
{
	memset(e, 0, sizeof(*e));
	e->person = person;
	e->seq = seq;
	e->at_ms = 1760000000000 + seq;
	snprintf(e->actor, sizeof(e->actor), "person");
	snprintf(e->type, sizeof(e->type), "terms.changed");
	e->data = (char *)"{\"n\":1}";
	if (prev)
		memcpy(e->prev, prev, 32);
	for (int i = 0; i < 32; i++)
		e->hash[i] = (uint8_t)(seq * 31 + i);
}

/* Appends `count` entries to the chain of `person`, each after the head
 * it reads inside the transaction. */
struct extend_args {
	uint64_t person;
	int count;
};

static int job_extend(struct store_tx *tx, void *arg)
{
	struct extend_args *x = arg;

	for (int i = 0; i < x->count; i++) {
		struct store_ledger_entry head, e;
		int st =
			store_ledger_head(store_tx_reads(tx), x->person, &head);
		if (st == STORE_NOT_FOUND) {
			entry_make(&e, x->person, 1, NULL);
		} else if (st == STORE_OK) {
			entry_make(&e, x->person, head.seq + 1, head.hash);
			store_ledger_entry_clear(&head);
		} else {
			return st;
		}
		if ((st = store_ledger_append(tx, &e)) != STORE_OK)
			return st;
	}
	return STORE_OK;
}

struct entries_seen {
	int64_t seq[16];
	uint8_t prev[16][32];
	uint8_t hash[16][32];
	int n;
};

static int collect_entry(const struct store_ledger_entry *e, void *arg)
{
	struct entries_seen *s = arg;

	cr_assert_lt(s->n, 16);
	cr_expect_str_eq(e->actor, "person");
	cr_expect_str_eq(e->data, "{\"n\":1}");
	s->seq[s->n] = e->seq;
	memcpy(s->prev[s->n], e->prev, 32);
	memcpy(s->hash[s->n++], e->hash, 32);
	return 0;
}

static void done_ignore(void *arg, int status)
{
	(void)arg;
	(void)status;
}

Test(store, ledger_chain_round_trip)
{
	uint64_t person = store_new_key();
	struct store_ledger_entry head, e;
	struct extend_args x = { person, 2 };
	struct entries_seen seen = { 0 };
	uint8_t zero[32] = { 0 };

	cr_expect_eq(store_ledger_head(store_reads(fx.s), person, &head),
		     STORE_NOT_FOUND);
	cr_assert_eq(store_write(fx.s, job_extend, &x), STORE_OK);
	/* Two more jobs queued together see each other's appends. */
	x.count = 1;
	cr_assert_eq(store_write_async(fx.s, job_extend, &x, done_ignore),
		     STORE_OK);
	cr_assert_eq(store_write(fx.s, job_extend, &x), STORE_OK);

	cr_assert_eq(store_ledger_head(store_reads(fx.s), person, &head),
		     STORE_OK);
	cr_expect_eq(head.seq, 4);
	cr_expect_eq(head.at_ms, 1760000000004);
	cr_expect_str_eq(head.type, "terms.changed");
	cr_expect_str_eq(head.relationship, "");
	store_ledger_entry_clear(&head);

	cr_assert_eq(store_ledger_list(store_reads(fx.s), person, 1, 10,
				       collect_entry, &seen),
		     STORE_OK);
	cr_assert_eq(seen.n, 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(seen.seq[i], i + 2);
		/* Each entry's prev is the hash before it. */
		if (i > 0)
			cr_expect_arr_eq(seen.prev[i], seen.hash[i - 1], 32);
	}
	seen.n = 0;
	cr_assert_eq(store_ledger_list(store_reads(fx.s), person, 0, 1,
				       collect_entry, &seen),
		     STORE_OK);
	cr_assert_eq(seen.n, 1);
	cr_expect_arr_eq(seen.prev[0], zero, 32);

	/* The same seq twice, and a relationship id that round-trips. */
	entry_make(&e, person, 4, zero);
	cr_expect_eq(store_write(fx.s, job_ledger, &e), STORE_CONFLICT);
	entry_make(&e, person, 5, zero);
	snprintf(e.relationship, sizeof(e.relationship), "rel_5vqc3kq8wz");
	cr_assert_eq(store_write(fx.s, job_ledger, &e), STORE_OK);
	cr_assert_eq(store_ledger_head(store_reads(fx.s), person, &head),
		     STORE_OK);
	cr_expect_str_eq(head.relationship, "rel_5vqc3kq8wz");
	store_ledger_entry_clear(&head);
}

Test(store, ledger_signed_head)
{
	uint64_t person = store_new_key();
	struct head_save_args h = { person, 3, { 0 }, "note one", 1760000000 };
	char *note = NULL;

	cr_expect_eq(store_ledger_signed_head(store_reads(fx.s), person, &note),
		     STORE_NOT_FOUND);
	memset(h.hash, 0x11, sizeof(h.hash));
	cr_assert_eq(store_write(fx.s, job_head_save, &h), STORE_OK);
	cr_assert_eq(store_ledger_signed_head(store_reads(fx.s), person, &note),
		     STORE_OK);
	cr_expect_str_eq(note, "note one");
	free(note);

	/* A later head replaces it. */
	h.seq = 4;
	h.note = "note two";
	cr_assert_eq(store_write(fx.s, job_head_save, &h), STORE_OK);
	cr_assert_eq(store_ledger_signed_head(store_reads(fx.s), person, &note),
		     STORE_OK);
	cr_expect_str_eq(note, "note two");
	free(note);
	cr_expect_eq(file_int("SELECT seq FROM ledger_heads WHERE person = ?1",
			      person),
		     4);
}

/* ---- The writer ---- */

#define WRITERS 8
#define WRITES	200

struct writer_thread;

struct writer_job {
	struct store_person person;
	struct writer_thread *w;
};

struct writer_thread {
	int index;
	struct writer_job jobs[WRITES];
	_Atomic int *ok; /* jobs reported STORE_OK, of all threads */
	sem_t *finished; /* posted once per finished job */
	pthread_t thread;
};

static int job_writer(struct store_tx *tx, void *arg)
{
	struct writer_job *j = arg;

	return store_person_insert(tx, &j->person);
}

static void done_writer(void *arg, int status)
{
	struct writer_job *j = arg;

	if (status == STORE_OK)
		atomic_fetch_add(j->w->ok, 1);
	sem_post(j->w->finished);
}

/* Even threads wait for each write, odd ones queue theirs and are told
 * through done_writer: so batches mix both kinds of job. */
static void *writer_main(void *arg)
{
	struct writer_thread *w = arg;

	for (int i = 0; i < WRITES; i++) {
		struct writer_job *j = &w->jobs[i];
		char h[STORE_HANDLE_MAX + 1];

		snprintf(h, sizeof(h), "w%d-%d", w->index, i);
		person_make(&j->person, h);
		j->w = w;
		if (w->index % 2 == 0) {
			if (store_write(fx.s, job_writer, j) == STORE_OK)
				atomic_fetch_add(w->ok, 1);
			sem_post(w->finished);
		} else if (store_write_async(fx.s, job_writer, j,
					     done_writer) != STORE_OK) {
			sem_post(w->finished);
		}
	}
	return NULL;
}

struct row_count {
	uint64_t n;
	uint64_t last; /* id of the last row seen */
};

static int count_person(const struct store_person *p, void *arg)
{
	struct row_count *c = arg;

	c->n++;
	c->last = p->id;
	return 0;
}

Test(store, concurrent_writers_all_land_in_shared_commits)
{
	static struct writer_thread w[WRITERS];
	struct store_writer_stats before, after;
	struct row_count rows = { 0, 0 };
	_Atomic int ok = 0;
	sem_t finished;
	uint64_t n;

	sem_init(&finished, 0, 0);
	store_writer_stats(fx.s, &before);
	for (int i = 0; i < WRITERS; i++) {
		w[i].index = i;
		w[i].ok = &ok;
		w[i].finished = &finished;
		cr_assert_eq(
			pthread_create(&w[i].thread, NULL, writer_main, &w[i]),
			0);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i].thread, NULL);
	for (int i = 0; i < WRITERS * WRITES; i++)
		sem_wait(&finished);
	sem_destroy(&finished);
	store_writer_stats(fx.s, &after);

	cr_expect_eq(atomic_load(&ok), WRITERS * WRITES);
	do {
		n = rows.n;
		cr_assert_eq(store_person_list(store_reads(fx.s), rows.last,
					       500, count_person, &rows),
			     STORE_OK);
	} while (rows.n != n);
	cr_expect_eq(rows.n, WRITERS * WRITES);
	cr_expect_eq(file_int("SELECT count(*) FROM persons", 0),
		     WRITERS * WRITES);
	cr_expect_eq(after.jobs - before.jobs, WRITERS * WRITES);
	cr_expect_geq(after.batches - before.batches, 1);
	cr_expect_leq(after.batches - before.batches, after.jobs - before.jobs);
	cr_expect_geq(after.max_batch, 1);
	cr_log_info("concurrent writers: %llu jobs in %llu batches, the "
		    "largest of %llu",
		    (unsigned long long)(after.jobs - before.jobs),
		    (unsigned long long)(after.batches - before.batches),
		    (unsigned long long)after.max_batch);
	leak_check();
}

/* What the hooks and completions of a batch did, in order: one letter
 * and the job's name each, separated by spaces. Written on the writer
 * thread only; read after the last completion. */
static char events[512];

static void event(const char *what, const char *name)
{
	size_t n = strlen(events);

	snprintf(events + n, sizeof(events) - n, "%s%s:%s", n ? " " : "", what,
		 name);
}

/* A job that blocks the writer until the test has queued what it wants
 * in the next batch. */
struct blocker {
	sem_t started, go, done;
	void (*then)(void); /* run by its commit hook (may be NULL) */
};

static void blocker_committed(void *arg)
{
	struct blocker *b = arg;

	if (b->then)
		b->then();
}

static int job_block(struct store_tx *tx, void *arg)
{
	struct blocker *b = arg;
	int st = store_tx_on_commit(tx, blocker_committed, b);

	sem_post(&b->started);
	sem_wait(&b->go);
	return st;
}

static void done_block(void *arg, int status)
{
	struct blocker *b = arg;

	cr_expect_eq(status, STORE_OK);
	sem_post(&b->done);
}

static void blocker_start(struct blocker *b, void (*then)(void))
{
	sem_init(&b->started, 0, 0);
	sem_init(&b->go, 0, 0);
	sem_init(&b->done, 0, 0);
	b->then = then;
	cr_assert_eq(store_write_async(fx.s, job_block, b, done_block),
		     STORE_OK);
	sem_wait(&b->started);
}

static void blocker_release(struct blocker *b)
{
	sem_post(&b->go);
	sem_wait(&b->done);
	sem_destroy(&b->started);
	sem_destroy(&b->go);
	sem_destroy(&b->done);
}

/* A job inserting a person named after it, with a commit hook that checks
 * the row is visible to readers by then, and two rollback hooks. */
struct named_job {
	const char *name;
	int result; /* what it returns after its insert */
	int status; /* what its completion was told */
	struct store_person person;
	sem_t *done;
};

static void named_committed(void *arg)
{
	struct named_job *j = arg;
	struct store_person got;

	if (store_person_get(store_reads(fx.s), 0, j->name, &got) == STORE_OK) {
		event("C", j->name);
		store_person_clear(&got);
	} else {
		event("C-unseen", j->name);
	}
}

static void named_undo_first(void *arg)
{
	event("R1", ((struct named_job *)arg)->name);
}

static void named_undo_second(void *arg)
{
	event("R2", ((struct named_job *)arg)->name);
}

static int job_named(struct store_tx *tx, void *arg)
{
	struct named_job *j = arg;
	int st = store_person_insert(tx, &j->person);

	if (st != STORE_OK)
		return st;
	if (store_tx_on_rollback(tx, named_undo_first, j) != STORE_OK ||
	    store_tx_on_commit(tx, named_committed, j) != STORE_OK ||
	    store_tx_on_rollback(tx, named_undo_second, j) != STORE_OK)
		return STORE_FAULT;
	return j->result;
}

static void done_named(void *arg, int status)
{
	struct named_job *j = arg;

	j->status = status;
	event("D", j->name);
	sem_post(j->done);
}

Test(store, failing_job_is_rolled_back_alone_in_its_batch)
{
	struct named_job jobs[4] = {
		{ .name = "one", .result = STORE_OK },
		{ .name = "two", .result = STORE_INVALID },
		{ .name = "three", .result = STORE_OK },
		{ .name = "four", .result = STORE_CONFLICT },
	};
	struct store_writer_stats before, after;
	struct blocker b;
	sem_t done;

	sem_init(&done, 0, 0);
	store_writer_stats(fx.s, &before);
	blocker_start(&b, NULL);
	/* The writer is busy: these four queue up for one batch. */
	for (int i = 0; i < 4; i++) {
		person_make(&jobs[i].person, jobs[i].name);
		jobs[i].done = &done;
		jobs[i].status = -99;
		cr_assert_eq(store_write_async(fx.s, job_named, &jobs[i],
					       done_named),
			     STORE_OK);
	}
	blocker_release(&b);
	for (int i = 0; i < 4; i++)
		sem_wait(&done);
	sem_destroy(&done);
	store_writer_stats(fx.s, &after);

	cr_expect_eq(jobs[0].status, STORE_OK);
	cr_expect_eq(jobs[1].status, STORE_INVALID);
	cr_expect_eq(jobs[2].status, STORE_OK);
	cr_expect_eq(jobs[3].status, STORE_CONFLICT);
	/* Rollback hooks newest first, at once; commit hooks after the
	 * commit, once each; then the completions in queue order. */
	cr_expect_str_eq(events, "R2:two R1:two R2:four R1:four C:one "
				 "C:three D:one D:two D:three D:four");
	cr_expect_eq(file_int("SELECT count(*) FROM persons WHERE handle IN "
			      "('one', 'three')",
			      0),
		     2);
	cr_expect_eq(file_int("SELECT count(*) FROM persons WHERE handle IN "
			      "('two', 'four')",
			      0),
		     0);
	cr_expect_eq(after.batches - before.batches, 2);
	cr_expect_eq(after.jobs - before.jobs, 5);
	cr_expect_geq(after.max_batch, 4);
	leak_check();
}

Test(store, waiting_write_gets_the_jobs_status)
{
	struct named_job j = { .name = "solo", .result = STORE_INVALID };
	struct store_person got;

	person_make(&j.person, j.name);
	cr_expect_eq(store_write(fx.s, job_named, &j), STORE_INVALID);
	cr_expect_str_eq(events, "R2:solo R1:solo");
	cr_expect_eq(store_person_get(store_reads(fx.s), 0, "solo", &got),
		     STORE_NOT_FOUND);

	events[0] = '\0';
	j.result = STORE_OK;
	cr_expect_eq(store_write(fx.s, job_named, &j), STORE_OK);
	cr_expect_str_eq(events, "C:solo");
	cr_assert_eq(store_person_get(store_reads(fx.s), 0, "solo", &got),
		     STORE_OK);
	store_person_clear(&got);
}

/* A batch holding waiting and queued jobs, with a failure between them. */
struct waiter {
	struct named_job job;
	int status;
	sem_t started;
	pthread_t thread;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	sem_post(&w->started);
	w->status = store_write(fx.s, job_named, &w->job);
	return NULL;
}

Test(store, mixed_batch_of_waiting_and_queued_jobs)
{
	struct named_job a = { .name = "qa", .result = STORE_OK };
	struct named_job c = { .name = "qc", .result = STORE_INVALID };
	struct waiter w = { .job = { .name = "wb", .result = STORE_OK } };
	struct blocker b;
	sem_t done;

	sem_init(&done, 0, 0);
	sem_init(&w.started, 0, 0);
	person_make(&a.person, a.name);
	person_make(&c.person, c.name);
	person_make(&w.job.person, w.job.name);
	a.done = c.done = &done;
	blocker_start(&b, NULL);
	cr_assert_eq(store_write_async(fx.s, job_named, &a, done_named),
		     STORE_OK);
	cr_assert_eq(pthread_create(&w.thread, NULL, waiter_main, &w), 0);
	sem_wait(&w.started);
	/* The waiter queues its job right after; if it comes late it gets a
	 * batch of its own, which the checks below accept as well. */
	usleep(20000);
	cr_assert_eq(store_write_async(fx.s, job_named, &c, done_named),
		     STORE_OK);
	blocker_release(&b);
	pthread_join(w.thread, NULL);
	sem_wait(&done);
	sem_wait(&done);
	sem_destroy(&done);
	sem_destroy(&w.started);

	cr_expect_eq(a.status, STORE_OK);
	cr_expect_eq(w.status, STORE_OK);
	cr_expect_eq(c.status, STORE_INVALID);
	cr_expect_eq(file_int("SELECT count(*) FROM persons WHERE handle IN "
			      "('qa', 'wb')",
			      0),
		     2);
	cr_expect_eq(file_int("SELECT count(*) FROM persons WHERE handle = "
			      "'qc'",
			      0),
		     0);
}

/* ---- Faults ---- */

#define OP_BODY 6000 /* more than a page: the attempt overflows */

/* The job the faults are injected under: it writes a person, the first
 * entry of the person's ledger and an attempt whose body needs overflow
 * pages, so it touches several tables, indexes and pages. */
struct op {
	struct store_person person;
	struct store_ledger_entry entry;
	struct store_attempt attempt;
	char profile[64];
	char subject[64];
	uint8_t body[OP_BODY];
	int runs;      /* times the job ran */
	int commits;   /* times its commit hook ran */
	int rollbacks; /* times its rollback hook ran */
	int status;    /* what its completion was told (queued ops) */
	sem_t *done;   /* posted by its completion (queued ops) */
};

static void op_make(struct op *op, const char *handle, size_t body_len)
{
	memset(op, 0, sizeof(*op));
	person_make(&op->person, handle);
	snprintf(op->profile, sizeof(op->profile), "sealed:%s", handle);
	op->person.profile = op->profile;
	entry_make(&op->entry, op->person.id, 1, NULL);
	snprintf(op->subject, sizeof(op->subject), "For %s", handle);
	randombytes_buf(op->body, body_len);
	op->attempt = (struct store_attempt){
		.id = store_new_time_key(1760000000000),
		.person = op->person.id,
		.relationship = store_new_key(),
		.brand = store_new_key(),
		.channel = 0,
		.topic = "orders",
		.decision = DELIVERED,
		.folder = 1,
		.decided_at = 1760000000,
		.received_at = 1760000000,
		.sender = "news@shop.example",
		.sender_verified = true,
		.subject = op->subject,
		.headers = "Subject: x\r\n",
		.headers_len = 12,
		.body = op->body,
		.body_len = body_len,
	};
}

static void op_committed(void *arg)
{
	((struct op *)arg)->commits++;
}

static void op_undone(void *arg)
{
	((struct op *)arg)->rollbacks++;
}

static int job_op(struct store_tx *tx, void *arg)
{
	struct op *op = arg;
	int st;

	op->runs++;
	if ((st = store_tx_on_commit(tx, op_committed, op)) != STORE_OK ||
	    (st = store_tx_on_rollback(tx, op_undone, op)) != STORE_OK ||
	    (st = store_person_insert(tx, &op->person)) != STORE_OK ||
	    (st = store_ledger_append(tx, &op->entry)) != STORE_OK)
		return st;
	return store_attempt_insert(tx, &op->attempt);
}

static void done_op(void *arg, int status)
{
	struct op *op = arg;

	op->status = status;
	sem_post(op->done);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	return st;
}

static int64_t count_of(sqlite3_stmt *st)
{
	int64_t n;

	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* How much of op db holds: 0 (nothing), 3 (its three rows, exactly as
 * written) or -1 (part of it, or a row that differs). */
static int op_rows(sqlite3 *db, const struct op *op)
{
	const struct store_person *p = &op->person;
	const struct store_ledger_entry *e = &op->entry;
	const struct store_attempt *a = &op->attempt;
	int64_t any = 0, exact = 0;
	sqlite3_stmt *st;

	st = prepare(db, "SELECT (SELECT count(*) FROM persons WHERE id = ?1)"
			 " + (SELECT count(*) FROM ledger WHERE person = ?1)"
			 " + (SELECT count(*) FROM attempts WHERE id = ?2)");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)a->id);
	any = count_of(st);

	st = prepare(db, "SELECT count(*) FROM persons WHERE id = ?1 AND "
			 "handle = ?2 AND password_hash = ?3 AND data_key = "
			 "?4 AND profile = ?5 AND global_terms = '{}' AND "
			 "folders = '[]' AND created_at = ?6 AND erased_at "
			 "IS NULL");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)p->id);
	sqlite3_bind_text(st, 2, p->handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, p->data_key, (int)p->data_key_len,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, p->created_at);
	exact += count_of(st);

	st = prepare(db, "SELECT count(*) FROM ledger WHERE person = ?1 AND "
			 "seq = ?2 AND at_ms = ?3 AND actor = ?4 AND type = "
			 "?5 AND relationship IS NULL AND data = ?6 AND prev "
			 "= ?7 AND hash = ?8");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e->person);
	sqlite3_bind_int64(st, 2, e->seq);
	sqlite3_bind_int64(st, 3, e->at_ms);
	sqlite3_bind_text(st, 4, e->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->data, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, e->prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, e->hash, 32, SQLITE_STATIC);
	exact += count_of(st);

	st = prepare(db, "SELECT count(*) FROM attempts WHERE id = ?1 AND "
			 "person = ?2 AND relationship = ?3 AND brand = ?4 "
			 "AND campaign IS NULL AND channel = 0 AND topic = ?5"
			 " AND decision = 0 AND reason = 0 AND folder = 1 AND"
			 " deliver_at IS NULL AND decided_at = ?6 AND exempt "
			 "= 0 AND received_at = ?7 AND sender = ?8 AND "
			 "sender_verified = 1 AND subject = ?9 AND headers = "
			 "?10 AND body = ?11");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)a->person);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)a->relationship);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)a->brand);
	sqlite3_bind_text(st, 5, a->topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, a->decided_at);
	sqlite3_bind_int64(st, 7, a->received_at);
	sqlite3_bind_text(st, 8, a->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->subject, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, a->headers, (int)a->headers_len,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, a->body, (int)a->body_len, SQLITE_STATIC);
	exact += count_of(st);

	if (any == 0)
		return 0;
	return any == 3 && exact == 3 ? 3 : -1;
}

static bool digest_eq(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) == 0;
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;

	if (in == NULL) {
		cr_assert_eq(errno, ENOENT, "%s: %s", from, strerror(errno));
		return;
	}
	out = fopen(to, "wb");
	cr_assert_not_null(out, "%s: %s", to, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, out), n);
	cr_assert(!ferror(in));
	fclose(in);
	cr_assert_eq(fclose(out), 0);
}

/* The database and its WAL copied as a crash right now would leave them
 * (no -shm, so the copy's WAL is recovered from what is in the file),
 * opened on a connection of its own. */
static sqlite3 *crash_open(void)
{
	char from[400], to[400];

	snprintf(to, sizeof(to), "%s/crash.db", fx.dir);
	unlink(to);
	copy_file(fx.path, to);
	snprintf(from, sizeof(from), "%s-wal", fx.path);
	snprintf(to, sizeof(to), "%s/crash.db-wal", fx.dir);
	unlink(to);
	copy_file(from, to);
	snprintf(to, sizeof(to), "%s/crash.db-shm", fx.dir);
	unlink(to);
	snprintf(to, sizeof(to), "%s/crash.db", fx.dir);
	return db_open(to, true);
}

/* What the rounds of one kind came to. */
struct fault_tally {
	uint64_t rounds;	/* faults injected (the N hit) */
	uint64_t failed;	/* reported STORE_FAULT, nothing written */
	uint64_t retried;	/* hit, yet reported done: run again */
	uint64_t fsync_whole;	/* reported failed, whole in a crash copy */
	uint64_t fsync_whole_n; /* the last N of those (0: none) */
	uint64_t calls;		/* calls of the kind in an untouched op */
};

/* Checks what a job reported (st) against what db holds of it; view
 * names db in messages. Returns the rows (0 or 3). */
static int rows_check(sqlite3 *db, const char *view, const struct op *op,
		      int st, enum faultvfs_kind kind, uint64_t n)
{
	int rows = op_rows(db, op);

	cr_assert_neq(rows, -1,
		      "%s fault at call %llu: %s view holds part "
		      "of the job",
		      faultvfs_kind_name(kind), (unsigned long long)n, view);
	if (st == STORE_OK)
		cr_assert_eq(rows, 3,
			     "%s fault at call %llu: reported done, "
			     "%s view lacks it",
			     faultvfs_kind_name(kind), (unsigned long long)n,
			     view);
	else if (kind != FAULTVFS_FSYNC)
		cr_assert_eq(rows, 0,
			     "%s fault at call %llu: reported failed "
			     "(%d), %s view holds it",
			     faultvfs_kind_name(kind), (unsigned long long)n,
			     st, view);
	return rows;
}

/* Checks that db, leaving out the n_ops ops it holds, is as before. */
static void digest_check(sqlite3 *db, const char *view, struct op **ops,
			 const int *rows, int n_ops, enum faultvfs_kind kind,
			 uint64_t n, const uint8_t before[32])
{
	uint64_t except[8];
	uint8_t now[32];
	int k = 0;

	cr_assert_leq(n_ops, 8);
	for (int i = 0; i < n_ops; i++)
		if (rows[i])
			except[k++] = ops[i]->person.id;
	db_digest(db, except, k, now);
	cr_assert(digest_eq(now, before),
		  "%s fault at call %llu: %s view "
		  "changed beyond the jobs",
		  faultvfs_kind_name(kind), (unsigned long long)n, view);
}

static void hooks_check(const struct op *op, int st, enum faultvfs_kind kind,
			uint64_t n)
{
	/* A job runs at most once (one not yet run when its batch died is
	 * queued again, one that ran is failed); its commit hook runs iff it
	 * is reported done, its rollback hook iff it ran and was not. */
	cr_assert_leq(op->runs, 1, "%s fault at call %llu",
		      faultvfs_kind_name(kind), (unsigned long long)n);
	cr_assert_eq(op->commits, st == STORE_OK ? 1 : 0,
		     "%s fault at call %llu: commit hook ran %d times",
		     faultvfs_kind_name(kind), (unsigned long long)n,
		     op->commits);
	cr_assert_eq(op->commits + op->rollbacks, op->runs,
		     "%s fault at call %llu: %d runs, %d commit and %d "
		     "rollback hooks",
		     faultvfs_kind_name(kind), (unsigned long long)n, op->runs,
		     op->commits, op->rollbacks);
}

/* A fresh write after the fault must go through and be readable. */
static void works_check(struct op *op, enum faultvfs_kind kind, uint64_t n,
			const char *prefix)
{
	struct store_person got;
	char h[STORE_HANDLE_MAX + 1];

	snprintf(h, sizeof(h), "%safter%llu", prefix, (unsigned long long)n);
	op_make(op, h, 100);
	cr_assert_eq(store_write(fx.s, job_op, op), STORE_OK,
		     "%s fault at call %llu: the next write failed",
		     faultvfs_kind_name(kind), (unsigned long long)n);
	cr_assert_eq(store_person_get(store_reads(fx.s), 0, h, &got), STORE_OK,
		     "%s fault at call %llu: the next write is not readable",
		     faultvfs_kind_name(kind), (unsigned long long)n);
	store_person_clear(&got);
}

/* Whether the rounds keep a reader connection open (idle) while the
 * fault strikes. It decides what a failed sync leaves: without one, the
 * writer reopening is the last connection to close, which checkpoints the
 * WAL up to the last good commit and removes it; with one, the frames of
 * the failed commit stay in the WAL file beyond its index. */
static bool round_reader;

/* Opens the store and writes a small op, so that the statements are
 * prepared and the WAL has its header: the calls counted are then those
 * of the op under test itself. */
static void round_open(struct op *op, uint64_t n, const char *prefix)
{
	char h[STORE_HANDLE_MAX + 1];
	struct store_person got;
	int st;

	fx_open();
	snprintf(h, sizeof(h), "%swarm%llu", prefix, (unsigned long long)n);
	op_make(op, h, 100);
	st = store_write(fx.s, job_op, op);
	cr_assert_eq(st, STORE_OK, "round %llu: the first write failed: %d",
		     (unsigned long long)n, st);
	if (round_reader) {
		cr_assert_eq(store_person_get(store_reads(fx.s), 0, h, &got),
			     STORE_OK);
		store_person_clear(&got);
	}
}

/* One round: the n-th call of kind fails while one op runs. Returns
 * whether the fault was hit. */
static bool fault_round(enum faultvfs_kind kind, uint64_t n,
			struct fault_tally *t)
{
	struct op *op = malloc(sizeof(*op)), *other = malloc(sizeof(*op));
	uint8_t before[32];
	char h[STORE_HANDLE_MAX + 1];
	sqlite3 *db;
	int st, live, crashed;
	bool hit;

	cr_assert(op && other);
	round_open(other, n, "");
	db = db_open(fx.path, false);
	db_digest(db, NULL, 0, before);
	sqlite3_close(db);

	snprintf(h, sizeof(h), "fault%llu", (unsigned long long)n);
	op_make(op, h, OP_BODY);
	faultvfs_arm(kind, n);
	st = store_write(fx.s, job_op, op);
	hit = faultvfs_disarm();
	if (!hit) {
		t->calls = faultvfs_calls(kind);
		cr_assert_eq(st, STORE_OK, "%s: untouched op failed: %d",
			     faultvfs_kind_name(kind), st);
	} else {
		cr_assert(st == STORE_OK || st == STORE_FAULT,
			  "%s fault at call %llu: status %d, not FAULT",
			  faultvfs_kind_name(kind), (unsigned long long)n, st);
		t->rounds++;
	}
	hooks_check(op, st, kind, n);

	/* What readers see now, and what a crash now would leave. */
	db = db_open(fx.path, false);
	live = rows_check(db, "live", op, st, kind, n);
	digest_check(db, "live", &op, &live, 1, kind, n, before);
	sqlite3_close(db);
	db = crash_open();
	crashed = rows_check(db, "crash", op, st, kind, n);
	digest_check(db, "crash", &op, &crashed, 1, kind, n, before);
	sqlite3_close(db);
	if (hit && st == STORE_OK) {
		t->retried++;
	} else if (hit) {
		t->failed++;
		if (crashed || live) {
			t->fsync_whole++;
			t->fsync_whole_n = n;
		}
	}

	works_check(other, kind, n, "");
	/* The failed job stays as it was after the next commit, also in a
	 * crash copy (whose WAL may still hold frames of the failed commit
	 * past the new one), and after the store is closed (which
	 * checkpoints the WAL). */
	db = db_open(fx.path, false);
	cr_assert_eq(op_rows(db, op), live);
	sqlite3_close(db);
	db = crash_open();
	cr_assert_eq(op_rows(db, other), 3);
	rows_check(db, "crash after the next write", op, st, kind, n);
	sqlite3_close(db);
	store_close(fx.s);
	fx.s = NULL;
	db = db_open(fx.path, false);
	cr_assert_eq(op_rows(db, op), live);
	sqlite3_close(db);
	free(op);
	free(other);
	return hit;
}

/* Runs rounds for N = 1, 2, … until the op no longer reaches the N-th
 * call. */
static struct fault_tally fault_rounds(enum faultvfs_kind kind, bool reader)
{
	struct fault_tally t = { 0 };

	round_reader = reader;
	quiet_logs();
	store_close(fx.s);
	fx.s = NULL;
	for (uint64_t n = 1;; n++) {
		cr_assert_lt(n, 100000, "%s: no end of calls",
			     faultvfs_kind_name(kind));
		if (!fault_round(kind, n, &t))
			break;
	}
	leak_check();
	fx_open();
	cr_log_info("%s%s: %llu faults injected; %llu failed, %llu of them "
		    "whole in a crash copy (last N %llu), %llu done all the "
		    "same; %llu calls in an untouched op",
		    faultvfs_kind_name(kind), reader ? ", reader open" : "",
		    (unsigned long long)t.rounds, (unsigned long long)t.failed,
		    (unsigned long long)t.fsync_whole,
		    (unsigned long long)t.fsync_whole_n,
		    (unsigned long long)t.retried, (unsigned long long)t.calls);
	return t;
}

/* The same for a batch: BATCH_OPS ops queue up behind a blocking job
 * whose commit hook arms the fault, so they run as one batch under it.
 * Each op must come out alone as above, whatever its neighbours did: a
 * batch that dies fails the jobs that ran and queues again those that
 * had not. */
#define BATCH_OPS 3

static enum faultvfs_kind batch_kind;
static uint64_t batch_n;

static void batch_arm(void)
{
	faultvfs_arm(batch_kind, batch_n);
}

static bool fault_batch_round(enum faultvfs_kind kind, uint64_t n,
			      struct fault_tally *t)
{
	struct op *ops[BATCH_OPS], *other = malloc(sizeof(*other));
	int st[BATCH_OPS], live[BATCH_OPS], crashed[BATCH_OPS];
	uint8_t before[32];
	struct blocker b;
	sqlite3 *db;
	sem_t done;
	bool hit;

	cr_assert_not_null(other);
	round_open(other, n, "b");
	db = db_open(fx.path, false);
	db_digest(db, NULL, 0, before);
	sqlite3_close(db);

	sem_init(&done, 0, 0);
	batch_kind = kind;
	batch_n = n;
	blocker_start(&b, batch_arm);
	for (int i = 0; i < BATCH_OPS; i++) {
		char h[STORE_HANDLE_MAX + 1];

		ops[i] = malloc(sizeof(*ops[i]));
		cr_assert_not_null(ops[i]);
		snprintf(h, sizeof(h), "b%llu-%d", (unsigned long long)n, i);
		op_make(ops[i], h, OP_BODY);
		ops[i]->done = &done;
		cr_assert_eq(store_write_async(fx.s, job_op, ops[i], done_op),
			     STORE_OK);
	}
	blocker_release(&b);
	for (int i = 0; i < BATCH_OPS; i++)
		sem_wait(&done);
	sem_destroy(&done);
	hit = faultvfs_disarm();
	if (!hit)
		t->calls = faultvfs_calls(kind);
	else
		t->rounds++;
	for (int i = 0; i < BATCH_OPS; i++) {
		st[i] = ops[i]->status;
		if (!hit)
			cr_assert_eq(st[i], STORE_OK,
				     "%s: untouched op %d "
				     "failed: %d",
				     faultvfs_kind_name(kind), i, st[i]);
		cr_assert(st[i] == STORE_OK || st[i] == STORE_FAULT,
			  "%s fault at call %llu: op %d status %d",
			  faultvfs_kind_name(kind), (unsigned long long)n, i,
			  st[i]);
		hooks_check(ops[i], st[i], kind, n);
		if (hit && st[i] == STORE_OK)
			t->retried++;
		else if (hit)
			t->failed++;
	}

	db = db_open(fx.path, false);
	for (int i = 0; i < BATCH_OPS; i++)
		live[i] = rows_check(db, "live", ops[i], st[i], kind, n);
	digest_check(db, "live", ops, live, BATCH_OPS, kind, n, before);
	sqlite3_close(db);
	db = crash_open();
	for (int i = 0; i < BATCH_OPS; i++) {
		crashed[i] = rows_check(db, "crash", ops[i], st[i], kind, n);
		if (st[i] != STORE_OK && (crashed[i] || live[i])) {
			t->fsync_whole++;
			t->fsync_whole_n = n;
		}
	}
	digest_check(db, "crash", ops, crashed, BATCH_OPS, kind, n, before);
	sqlite3_close(db);

	works_check(other, kind, n, "b");
	store_close(fx.s);
	fx.s = NULL;
	db = db_open(fx.path, false);
	for (int i = 0; i < BATCH_OPS; i++) {
		cr_assert_eq(op_rows(db, ops[i]), live[i]);
		free(ops[i]);
	}
	sqlite3_close(db);
	free(other);
	return hit;
}

static struct fault_tally fault_batch_rounds(enum faultvfs_kind kind,
					     bool reader)
{
	struct fault_tally t = { 0 };

	round_reader = reader;
	quiet_logs();
	store_close(fx.s);
	fx.s = NULL;
	for (uint64_t n = 1;; n++) {
		cr_assert_lt(n, 100000, "%s: no end of calls",
			     faultvfs_kind_name(kind));
		if (!fault_batch_round(kind, n, &t))
			break;
	}
	leak_check();
	fx_open();
	cr_log_info("%s%s, batch of %d: %llu faults injected; %llu ops "
		    "failed, %llu of them whole in a crash copy (last N %llu),"
		    " %llu done; %llu calls in an untouched batch",
		    faultvfs_kind_name(kind), reader ? ", reader open" : "",
		    BATCH_OPS, (unsigned long long)t.rounds,
		    (unsigned long long)t.failed,
		    (unsigned long long)t.fsync_whole,
		    (unsigned long long)t.fsync_whole_n,
		    (unsigned long long)t.retried, (unsigned long long)t.calls);
	return t;
}

/* Faults in store_close, whose checkpoint copies the WAL into the
 * database file and truncates the WAL: nothing committed may be lost, the
 * next open finds it all (in the WAL, then). */
static bool fault_close_round(enum faultvfs_kind kind, uint64_t n,
			      struct fault_tally *t)
{
	struct op *op = malloc(sizeof(*op)), *other = malloc(sizeof(*op));
	uint8_t before[32], now[32];
	char h[STORE_HANDLE_MAX + 1], prefix[16];
	sqlite3 *db;
	bool hit;

	cr_assert(op && other);
	/* The kinds run in one test: their handles must differ. */
	snprintf(prefix, sizeof(prefix), "c%s", faultvfs_kind_name(kind));
	round_open(other, n, prefix);
	snprintf(h, sizeof(h), "%s%llu", prefix, (unsigned long long)n);
	op_make(op, h, OP_BODY);
	cr_assert_eq(store_write(fx.s, job_op, op), STORE_OK);
	db = db_open(fx.path, false);
	db_digest(db, NULL, 0, before);
	sqlite3_close(db);

	faultvfs_arm(kind, n);
	store_close(fx.s);
	fx.s = NULL;
	hit = faultvfs_disarm();
	if (!hit)
		t->calls = faultvfs_calls(kind);
	else
		t->rounds++;

	fx_open();
	db = db_open(fx.path, false);
	cr_assert_eq(op_rows(db, op), 3,
		     "%s fault at call %llu of close: "
		     "a commit was lost",
		     faultvfs_kind_name(kind), (unsigned long long)n);
	db_digest(db, NULL, 0, now);
	cr_assert(digest_eq(now, before),
		  "%s fault at call %llu of close: "
		  "the content changed",
		  faultvfs_kind_name(kind), (unsigned long long)n);
	sqlite3_close(db);
	works_check(other, kind, n, prefix);
	store_close(fx.s);
	fx.s = NULL;
	free(op);
	free(other);
	return hit;
}

static struct fault_tally fault_close_rounds(enum faultvfs_kind kind)
{
	struct fault_tally t = { 0 };

	round_reader = true;
	quiet_logs();
	store_close(fx.s);
	fx.s = NULL;
	for (uint64_t n = 1;; n++) {
		cr_assert_lt(n, 100000, "%s: no end of calls",
			     faultvfs_kind_name(kind));
		if (!fault_close_round(kind, n, &t))
			break;
	}
	leak_check();
	fx_open();
	cr_log_info("%s at close: %llu faults injected; %llu calls in an "
		    "untouched close",
		    faultvfs_kind_name(kind), (unsigned long long)t.rounds,
		    (unsigned long long)t.calls);
	return t;
}

/* The outcomes, as run (SQLite 3.40, WAL, synchronous=FULL; the op
 * writes three rows and about a dozen pages):
 * - write and disk full: every N up to the last write of the commit fails
 *   the job with STORE_FAULT and leaves nothing, live or in a crash copy
 *   (the WAL frames written have no commit frame).
 * - fsync: N = 1 is the WAL sync of the commit; STORE_FAULT. Readers never
 *   see the job. A crash copy holds all of it when a reader connection was
 *   open (the frames of the failed commit stay in the WAL, and recovery
 *   finds their commit frame) and none of it otherwise (the writer,
 *   reopening as the last connection, checkpoints up to the last good
 *   commit and deletes the WAL). Both are allowed: the job was reported
 *   failed and is never there in part.
 * - truncate: a write truncates nothing; store_close's checkpoint does,
 *   and a fault there loses nothing (fault_at_close).
 * - alloc: most N fail the job with STORE_FAULT and nothing written; a
 *   few hit an allocation SQLite survives (a benign one) or one before
 *   the job ran (its SAVEPOINT: the job is queued again) and the job is
 *   reported done, and is then whole, live and in a crash copy. */
Test(store, fault_write)
{
	struct fault_tally t = fault_rounds(FAULTVFS_WRITE, true);

	cr_expect_geq(t.rounds, 3, "the op writes several pages");
	cr_expect_eq(t.fsync_whole, 0);
}

Test(store, fault_disk_full)
{
	struct fault_tally t = fault_rounds(FAULTVFS_FULL, true);

	cr_expect_geq(t.rounds, 3, "the op writes several pages");
	cr_expect_eq(t.fsync_whole, 0);
}

Test(store, fault_fsync)
{
	struct fault_tally t = fault_rounds(FAULTVFS_FSYNC, true);

	cr_expect_geq(t.rounds, 1, "the op syncs at its commit");
	cr_expect_eq(t.fsync_whole, t.rounds, "a reader was open");
}

Test(store, fault_write_no_reader)
{
	struct fault_tally t = fault_rounds(FAULTVFS_WRITE, false);

	cr_expect_geq(t.rounds, 3, "the op writes several pages");
	cr_expect_eq(t.fsync_whole, 0);
}

Test(store, fault_fsync_no_reader)
{
	struct fault_tally t = fault_rounds(FAULTVFS_FSYNC, false);

	cr_expect_geq(t.rounds, 1, "the op syncs at its commit");
	cr_expect_eq(t.fsync_whole, 0, "the writer was the last connection");
}

Test(store, fault_truncate)
{
	struct fault_tally t = fault_rounds(FAULTVFS_TRUNCATE, true);

	/* A write truncates nothing in WAL mode: one untouched round. */
	cr_expect_eq(t.rounds, 0);
	cr_expect_eq(t.calls, 0);
}

Test(store, fault_at_close)
{
	static const enum faultvfs_kind kinds[] = { FAULTVFS_WRITE,
						    FAULTVFS_FSYNC,
						    FAULTVFS_TRUNCATE };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		struct fault_tally t = fault_close_rounds(kinds[i]);
		cr_expect_geq(t.rounds, 1, "%s: close's checkpoint",
			      faultvfs_kind_name(kinds[i]));
	}
}

Test(store, fault_alloc)
{
	struct fault_tally t = fault_rounds(FAULTVFS_ALLOC, true);

	cr_expect_geq(t.rounds, 20, "the op allocates");
}

Test(store, fault_batch_write)
{
	struct fault_tally t = fault_batch_rounds(FAULTVFS_WRITE, true);

	cr_expect_geq(t.rounds, 3);
	cr_expect_eq(t.fsync_whole, 0);
}

Test(store, fault_batch_fsync)
{
	struct fault_tally t = fault_batch_rounds(FAULTVFS_FSYNC, true);

	cr_expect_geq(t.rounds, 1);
}

Test(store, fault_batch_alloc)
{
	struct fault_tally t = fault_batch_rounds(FAULTVFS_ALLOC, true);

	cr_expect_geq(t.rounds, 20);
}
