/*
 * sqlite_lock.c — the SQLite backend's server lock and file modes: the
 * lock that lets one server at a time use the file, and the mode of the
 * files (0600: the store holds sealed personal values and hashes of
 * secrets, which are nobody else's to read).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlite.h"

int sqlite_lock(struct store *store, enum store_lock_mode mode, char *err,
		size_t errlen)
{
	struct sqlite_store *s = S(store);

	(void)mode; /* one process per file, whatever it does */
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
