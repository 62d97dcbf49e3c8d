/*
 * sqlite_keys.c — what the SQLite backend keeps about its keys and its
 * server: the key ids the store belongs to (key_ids, schema/003_keys.sql),
 * what a keys directory must be able to open (a wrapped data key), the
 * lock that lets one server at a time use the file, and the mode of the
 * files (0600: the store holds sealed personal values and hashes of
 * secrets, which are nobody else's to read).
 *
 * The key facts are read before the store is migrated, so that a command
 * given the wrong keys refuses before it writes anything: a table that a
 * migration has yet to make reads as empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlite.h"

static const char sql_table_exists[] =
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?";

/* *exists: whether the table is there yet. */
static int sqlite_table_exists(struct store_rd *rd, const char *table,
			       bool *exists)
{
	int64_t n = 0;
	int rc = sqlite_select_key(rd, sql_table_exists, 0, table,
				   sqlite_row_int, &n);
	*exists = rc == STORE_OK && n > 0;
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static const char sql_key_ids[] =
	"SELECT kind, id FROM key_ids ORDER BY added_at, id";
static const char sql_has_data[] =
	"SELECT EXISTS (SELECT 1 FROM persons) OR EXISTS (SELECT 1 FROM "
	"brands)";
static const char sql_data_key[] =
	"SELECT data_key FROM persons WHERE data_key IS NOT NULL AND "
	"length(data_key) > 0 ORDER BY id LIMIT 1";

static int key_facts_ids(struct store_rd *rd, struct store_key_facts *out)
{
	struct sqlite_select q;
	sqlite3_stmt *st = sqlite_select(&q, rd, sql_key_ids);
	if (st == NULL)
		return STORE_FAULT;
	while (sqlite_select_next(&q, NULL, NULL)) {
		const unsigned char *kind = sqlite3_column_text(st, 0);
		char *dst;
		size_t size = sizeof(out->kek_id);
		if (kind && strcmp((const char *)kind, "kek") == 0) {
			dst = out->kek_id;
		} else if (out->n_signing < STORE_KEY_IDS_MAX) {
			dst = out->signing[out->n_signing++];
		} else {
			q.status = STORE_FAULT; /* more than keys.c keeps */
			break;
		}
		col_copy(st, 1, dst, size);
	}
	return sqlite_select_end(&q);
}

static int key_facts_data_key(sqlite3_stmt *st, void *arg)
{
	struct store_key_facts *out = arg;
	int n = sqlite3_column_bytes(st, 0);
	if (n > 0 && (size_t)n <= sizeof(out->data_key)) {
		memcpy(out->data_key, sqlite3_column_blob(st, 0), (size_t)n);
		out->data_key_len = (size_t)n;
	}
	return STORE_OK;
}

int sqlite_key_facts(struct store_rd *rd, struct store_key_facts *out)
{
	bool ids, persons;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sqlite_table_exists(rd, "key_ids", &ids)) != STORE_OK ||
	    (rc = sqlite_table_exists(rd, "persons", &persons)) != STORE_OK)
		return rc;
	if (ids && (rc = key_facts_ids(rd, out)) != STORE_OK)
		return rc;
	if (!persons) /* 001_init makes persons and brands: a new store */
		return STORE_OK;
	int64_t has = 0;
	rc = sqlite_select_key(rd, sql_has_data, 0, NULL, sqlite_row_int, &has);
	if (rc != STORE_OK)
		return STORE_FAULT;
	out->has_data = has != 0;
	rc = sqlite_select_key(rd, sql_data_key, 0, NULL, key_facts_data_key,
			       out);
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static const char sql_key_id_add[] =
	"INSERT INTO key_ids(id, kind, added_at) VALUES (?,?,?) "
	"ON CONFLICT(id) DO NOTHING";

int sqlite_key_id_add(struct store_tx *tx, const char *kind, const char *id,
		      int64_t at)
{
	if (strcmp(kind, "kek") != 0 && strcmp(kind, "signing") != 0)
		return STORE_INVALID;
	WRITER_STMT(tx, sql_key_id_add);
	bind_text(st, 1, id);
	bind_text(st, 2, kind);
	sqlite3_bind_int64(st, 3, at);
	return sqlite_exec_stmt(st);
}

int sqlite_lock(struct store *store, char *err, size_t errlen)
{
	struct sqlite_store *s = S(store);
	char path[4096];

	if (s->lock_fd >= 0)
		return STORE_OK;
	snprintf(path, sizeof(path), "%s.lock", s->path);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return STORE_FAULT;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			snprintf(err, errlen,
				 "the store %s is in use by another cmr "
				 "serve (or migrate, or keys rotate), which "
				 "holds %s: one server per store",
				 s->path, path);
			return STORE_CONFLICT;
		}
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		return STORE_FAULT;
	}
	s->lock_fd = fd;
	return STORE_OK;
}

int sqlite_file_private(const char *path, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char name[4096];
	struct stat st;

	/* SQLite makes the file with 0644 (less the umask), and its WAL and
	 * shared memory with the file's mode: made here first, 0600, they
	 * are all private. An older store's files are made private too. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return STORE_FAULT;
	}
	close(fd);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(*suffix); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
		if (lstat(name, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || (st.st_mode & 077) == 0)
			continue;
		if (chmod(name, 0600) != 0) {
			snprintf(err, errlen, "cannot chmod %s: %s", name,
				 strerror(errno));
			return STORE_FAULT;
		}
	}
	return STORE_OK;
}
