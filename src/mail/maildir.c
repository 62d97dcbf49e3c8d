/*
 * maildir.c — the Maildir adapter (see maildir.h).
 */
#define _GNU_SOURCE
#include "mail/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/utf8.h"

struct maildir {
	int fd; /* <root>/<person>/ */
};

/* ---- Names ---- */

bool maildir_mutf7(const char *utf8, char *out, size_t size)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr"
				  "stuvwxyz0123456789+,";
	const unsigned char *p = (const unsigned char *)utf8;
	const unsigned char *end = p + strlen(utf8);
	size_t n = 0;
#define PUT(ch)                                                                \
	do {                                                                   \
		if (n + 1 >= size)                                             \
			return false;                                          \
		out[n++] = (char)(ch);                                         \
	} while (0)
	if (*p == '\0')
		return false;
	while (*p) {
		if (*p >= 0x20 && *p < 0x7f) {
			if (*p == '.' || *p == '/')
				return false; /* hierarchy, or a path */
			PUT(*p);
			if (*p == '&')
				PUT('-');
			p++;
			continue;
		}
		if (*p < 0x80)
			return false; /* a control character */
		/* A run of other characters: UTF-16BE in modified base64. */
		uint32_t bits = 0;
		int nbits = 0;
		PUT('&');
		while (*p >= 0x80) {
			uint32_t c;
			size_t len = utf8_decode((const char *)p,
						 (size_t)(end - p), &c);
			if (len == 0)
				return false;
			p += len;
			uint16_t units[2];
			int k = 0;
			if (c >= 0x10000) {
				c -= 0x10000;
				units[k++] = (uint16_t)(0xd800 + (c >> 10));
				units[k++] = (uint16_t)(0xdc00 + (c & 0x3ff));
			} else {
				units[k++] = (uint16_t)c;
			}
			for (int i = 0; i < k; i++) {
				bits = (bits << 16) | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					PUT(b64[(bits >> nbits) & 0x3f]);
				}
			}
		}
		if (nbits > 0)
			PUT(b64[(bits << (6 - nbits)) & 0x3f]);
		PUT('-');
	}
#undef PUT
	out[n] = '\0';
	return true;
}

bool maildir_folder_dir(const char *folder, char *out, size_t size)
{
	if (strcmp(folder, "inbox") == 0) {
		if (size < 1)
			return false;
		out[0] = '\0';
		return true;
	}
	if (size < 2)
		return false;
	out[0] = '.';
	if (strcmp(folder, "later") == 0)
		return (size_t)snprintf(out + 1, size - 1, "Later") < size - 1;
	return maildir_mutf7(folder, out + 1, size - 1);
}

void maildir_unique(uint64_t message, int64_t received_at,
		    char out[MAILDIR_NAME_MAX])
{
	snprintf(out, MAILDIR_NAME_MAX, "%" PRId64 ".M%016" PRIx64 ".cmr",
		 received_at, message);
}

/* ---- Directories, walked without following links ---- */

static int fail(char *err, size_t errlen, const char *what, const char *name)
{
	snprintf(err, errlen, "%s %s: %s", what, *name ? name : "(inbox)",
		 errno == ELOOP ? "a symbolic link (refused)"
				: strerror(errno));
	return -1;
}

/* Opens the directory `name` under dirfd, creating it (0700) first when
 * `create`; never through a link. -1 with errno. */
static int dir_at(int dirfd, const char *name, bool create)
{
	if (*name == '\0')
		return fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	for (int round = 0; round < 2; round++) {
		int fd =
			openat(dirfd, name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 && errno == ENOTDIR &&
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			errno = ELOOP; /* say what it is */
		if (fd >= 0 || errno != ENOENT || !create)
			return fd;
		if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
			return -1;
		fsync(dirfd); /* the new entry is durable */
	}
	return -1;
}

/* The folder's directory with cur/new/tmp, created as needed. */
static int folder_open(struct maildir *m, const char *dir, bool create)
{
	int fd = dir_at(m->fd, dir, create);
	if (fd < 0)
		return -1;
	static const char *const subs[] = { "cur", "new", "tmp" };
	for (int i = 0; create && i < 3; i++) {
		int sub = dir_at(fd, subs[i], true);
		if (sub < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		close(sub);
	}
	if (create && *dir) {
		/* Maildir++: marks a folder (Courier, Dovecot). */
		int f = openat(fd, "maildirfolder",
			       O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (f < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		close(f);
	}
	return fd;
}

int maildir_open(const char *root, const char *person, bool create,
		 struct maildir **out, char *err, size_t errlen)
{
	if (strchr(person, '/') || person[0] == '.' || person[0] == '\0') {
		snprintf(err, errlen, "not a person's folder name");
		return -1;
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail(err, errlen, "the Maildir root", root);
	int fd = dir_at(rootfd, person, create);
	int e = errno;
	close(rootfd);
	if (fd < 0) {
		errno = e;
		if (e == ENOENT && !create)
			return 1;
		return fail(err, errlen, "the person's Maildir", person);
	}
	struct maildir *m = malloc(sizeof(*m));
	if (m == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->fd = fd;
	*out = m;
	return 0;
}

void maildir_close(struct maildir *m)
{
	if (m == NULL)
		return;
	close(m->fd);
	free(m);
}

/* The sub-directory ("new" or "cur") of a folder, opened without
 * following a link at either step; -1 with errno. */
static int sub_at(struct maildir *m, const char *dir, const char *sub,
		  bool create)
{
	int fd = create ? folder_open(m, dir, true) : dir_at(m->fd, dir, false);
	if (fd < 0)
		return -1;
	int s = dir_at(fd, sub, false);
	int e = errno;
	close(fd);
	errno = e;
	return s;
}

/* Splits "new/NAME" or "cur/NAME…" into its sub-directory and name. */
static bool where_split(const char *where, char sub[4], const char **name)
{
	if ((strncmp(where, "new/", 4) != 0 &&
	     strncmp(where, "cur/", 4) != 0) ||
	    where[4] == '\0' || strchr(where + 4, '/') ||
	    strcmp(where + 4, ".") == 0 || strcmp(where + 4, "..") == 0)
		return false;
	memcpy(sub, where, 3);
	sub[3] = '\0';
	*name = where + 4;
	return true;
}

int maildir_find(struct maildir *m, const char *dir, const char *unique,
		 char *where, size_t size, char *err, size_t errlen)
{
	struct stat st;
	int nfd = sub_at(m, dir, "new", false);
	if (nfd < 0 && errno != ENOENT)
		return fail(err, errlen, "folder", dir);
	if (nfd >= 0) {
		int found = fstatat(nfd, unique, &st, AT_SYMLINK_NOFOLLOW) == 0;
		close(nfd);
		if (found) {
			snprintf(where, size, "new/%s", unique);
			return 1;
		}
	}
	/* In cur/ a reader may have added flags: "<unique>:2,S". */
	int cur = sub_at(m, dir, "cur", false);
	if (cur < 0)
		return errno == ENOENT ? 0 : fail(err, errlen, "folder", dir);
	DIR *d = fdopendir(cur);
	if (d == NULL) {
		close(cur);
		return fail(err, errlen, "folder", dir);
	}
	size_t n = strlen(unique);
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, unique, n) == 0 &&
		    (e->d_name[n] == '\0' || e->d_name[n] == ':')) {
			snprintf(where, size, "cur/%s", e->d_name);
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

int maildir_put(struct maildir *m, const char *dir, const char *unique,
		const void *data, size_t len, bool seen, char *err,
		size_t errlen)
{
	int tmp = sub_at(m, dir, "tmp", true);
	int dest = tmp >= 0 ? sub_at(m, dir, seen ? "cur" : "new", true) : -1;
	int rc = -1;
	if (tmp < 0 || dest < 0) {
		fail(err, errlen, "folder", dir);
		goto out;
	}
	int f = openat(tmp, unique,
		       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	if (f < 0) {
		fail(err, errlen, "cannot write in", dir);
		goto out;
	}
	const char *p = data;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(f, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fail(err, errlen, "cannot write in", dir);
			close(f);
			unlinkat(tmp, unique, 0);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(f) != 0 || close(f) != 0) {
		fail(err, errlen, "cannot sync in", dir);
		unlinkat(tmp, unique, 0);
		goto out;
	}
	char final[MAILDIR_NAME_MAX + 8];
	snprintf(final, sizeof(final), "%s%s", unique, seen ? ":2,S" : "");
	if (renameat(tmp, unique, dest, final) != 0) {
		fail(err, errlen, "cannot file in", dir);
		unlinkat(tmp, unique, 0);
		goto out;
	}
	if (fsync(dest) != 0) {
		fail(err, errlen, "cannot sync", dir);
		goto out;
	}
	rc = 0;
out:
	if (tmp >= 0)
		close(tmp);
	if (dest >= 0)
		close(dest);
	return rc;
}

int maildir_move(struct maildir *m, const char *from_dir, const char *where,
		 const char *to_dir, char *err, size_t errlen)
{
	char sub[4];
	const char *name;
	if (!where_split(where, sub, &name)) {
		snprintf(err, errlen, "not a message's place");
		return -1;
	}
	int from = sub_at(m, from_dir, sub, false);
	int to = from >= 0 ? sub_at(m, to_dir, sub, true) : -1;
	int rc = -1;
	if (from < 0 || to < 0) {
		fail(err, errlen, "folder", from < 0 ? from_dir : to_dir);
		goto out;
	}
	/* The same place (new/ or cur/) and name in the other folder. */
	if (renameat(from, name, to, name) != 0 || fsync(to) != 0 ||
	    fsync(from) != 0) {
		fail(err, errlen, "cannot move to", to_dir);
		goto out;
	}
	rc = 0;
out:
	if (from >= 0)
		close(from);
	if (to >= 0)
		close(to);
	return rc;
}

bool maildir_seen(const char *where)
{
	const char *info = strstr(where, ":2,");
	return strncmp(where, "cur/", 4) == 0 && info &&
	       strchr(info + 3, 'S') != NULL;
}

int maildir_set_seen(struct maildir *m, const char *dir, char *where,
		     size_t size, bool seen, char *err, size_t errlen)
{
	char sub[4], to[MAILDIR_NAME_MAX + 40];
	const char *name;
	if (!where_split(where, sub, &name)) {
		snprintf(err, errlen, "not a message's place");
		return -1;
	}
	if (maildir_seen(where) == seen)
		return 0;
	/* The unique name, then the flags (kept sorted, as Maildir wants),
	 * with S put in or taken out. */
	const char *info = strstr(name, ":2,");
	size_t base = info ? (size_t)(info - name) : strlen(name);
	char flags[32] = "";
	size_t nf = 0;
	for (const char *f = info ? info + 3 : ""; *f && nf + 2 < sizeof(flags);
	     f++)
		if (*f != 'S')
			flags[nf++] = *f;
	if (seen) {
		size_t at = 0;
		while (at < nf && flags[at] < 'S')
			at++;
		memmove(flags + at + 1, flags + at, nf - at);
		flags[at] = 'S';
		nf++;
	}
	flags[nf] = '\0';
	if (base >= MAILDIR_NAME_MAX) {
		snprintf(err, errlen, "not a message's place");
		return -1;
	}
	snprintf(to, sizeof(to), "%.*s:2,%s", (int)base, name, flags);
	int from = sub_at(m, dir, sub, false);
	int cur = from >= 0 ? sub_at(m, dir, "cur", true) : -1;
	int rc = -1;
	if (from < 0 || cur < 0)
		fail(err, errlen, "folder", dir);
	else if (renameat(from, name, cur, to) != 0 || fsync(cur) != 0 ||
		 fsync(from) != 0)
		fail(err, errlen, "cannot mark in", dir);
	else
		rc = 0;
	if (from >= 0)
		close(from);
	if (cur >= 0)
		close(cur);
	if (rc == 0)
		snprintf(where, size, "cur/%s", to);
	return rc;
}

int maildir_remove(struct maildir *m, const char *dir, const char *where,
		   char *err, size_t errlen)
{
	char sub[4];
	const char *name;
	if (!where_split(where, sub, &name)) {
		snprintf(err, errlen, "not a message's place");
		return -1;
	}
	int fd = sub_at(m, dir, sub, false);
	if (fd < 0)
		return fail(err, errlen, "folder", dir);
	int rc = 0;
	if (unlinkat(fd, name, 0) != 0 && errno != ENOENT)
		rc = fail(err, errlen, "cannot remove from", dir);
	else if (fsync(fd) != 0)
		rc = fail(err, errlen, "cannot sync", dir);
	close(fd);
	return rc;
}

/* Removes everything under dirfd (depth first, never through a link). */
static int erase_under(int dirfd, int depth)
{
	if (depth > 8)
		return -1; /* deeper than any Maildir++ tree */
	int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (d == NULL) {
		if (dup >= 0)
			close(dup);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int sub =
			openat(dirfd, e->d_name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			if (erase_under(sub, depth + 1) != 0)
				rc = -1;
			close(sub);
			if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) != 0)
				rc = -1;
		} else if (unlinkat(dirfd, e->d_name, 0) != 0 &&
			   errno != ENOENT) {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

int maildir_erase(const char *root, const char *person, char *err,
		  size_t errlen)
{
	struct maildir *m;
	int rc = maildir_open(root, person, false, &m, err, errlen);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	rc = erase_under(m->fd, 0);
	maildir_close(m);
	if (rc != 0)
		return fail(err, errlen, "cannot erase the Maildir of", person);
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || unlinkat(rootfd, person, AT_REMOVEDIR) != 0) {
		if (rootfd >= 0)
			close(rootfd);
		return fail(err, errlen, "cannot erase the Maildir of", person);
	}
	fsync(rootfd);
	close(rootfd);
	return 0;
}
