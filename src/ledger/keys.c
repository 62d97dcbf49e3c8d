/*
 * keys.c — the keys directory and everything done with its keys (see
 * keys.h for the file formats and the guarantees).
 *
 * Every file is reached through a descriptor of the directory (openat and
 * friends) so that the checks made on the directory hold for the files read
 * from it, and key files are opened with O_NOFOLLOW so that a symlink
 * planted in the directory cannot point the server at someone else's file.
 */
#include "ledger/keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A retired signing key: only its public half is kept. */
struct keys_retired {
	uint8_t pk[KEYS_PUBLIC_BYTES]; /* Ed25519 public key */
	char id[KEYS_ID_LEN + 1];      /* its key id, hex */
};

/* The loaded keys, in sodium_malloc'd memory (guard pages, never swapped
 * when mlock is allowed), read-only once filled. */
struct keys {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];	   /* seed ‖ public key */
	uint8_t pk[KEYS_PUBLIC_BYTES];		   /* Ed25519 public key */
	uint8_t tomb[crypto_generichash_KEYBYTES]; /* keyed hashes' key */
	bool has_kek;				   /* a `kek`: opens v1 blobs */
	uint8_t kek[KEYS_KEK_BYTES];		   /* the kek, if any */
	size_t n_file;				   /* wrap.keys' lines */
	size_t n_wrap;				   /* entries of wrap */
	/* The wrap keys: wrap.keys' lines, then the kek when there is one;
	 * [0] wraps, every one unwraps. */
	uint8_t wrap[KEYS_WRAP_MAX + 1][KEYS_KEK_BYTES];
	uint8_t wrap_id[KEYS_WRAP_MAX + 1][KEYS_WRAP_ID_BYTES];
	char id[KEYS_ID_LEN + 1];     /* key id, hex */
	char kek_id[KEYS_ID_LEN + 1]; /* the key set's id, hex */
	char store[KEYS_ID_LEN + 1];  /* the store served, hex, or "" */
	bool created;		      /* made by this keys_init */
	size_t n_retired;	      /* entries of retired */
	struct keys_retired retired[KEYS_RETIRED_MAX]; /* by id */
};

#define KEYS_FILE_SIGNING "signing.key"
#define KEYS_FILE_KEK	  "kek"
#define KEYS_FILE_ID	  "key_id"
#define KEYS_FILE_WRAP	  "wrap.keys"
#define KEYS_FILE_HASH	  "hash.key"
#define KEYS_FILE_KEK_ID  "kek_id"
#define KEYS_FILE_STORE	  "store"
/* A retired key's file: "retired-" KEYS_ID_LEN hex digits ".pub". */
#define KEYS_RETIRED_PREFIX "retired-"
#define KEYS_RETIRED_SUFFIX ".pub"

/* The message of the key set's id: BLAKE2b keyed with the kek (or, in a
 * directory made with wrap keys, the hash key) over this, so the id names
 * the keys without revealing anything of them. */
#define KEYS_KEK_ID_MESSAGE "cmr key-encryption key id"
/* The messages of a wrap key's id and of the hash key's, likewise. */
#define KEYS_WRAP_ID_MESSAGE "cmr wrap key id"
#define KEYS_HASH_ID_MESSAGE "cmr hash key id"

/* crypto_kdf context and subkey id of the tombstone key: 8 characters. */
#define KEYS_TOMB_CONTEXT "cmrtomb_"
#define KEYS_TOMB_SUBKEY  1

/* Key files are a few short lines; anything longer is not ours. */
#define KEYS_FILE_MAX 256
/* wrap.keys' lines (44 characters of base64 and a newline) fit. */
_Static_assert(KEYS_WRAP_MAX * 45 <= KEYS_FILE_MAX, "wrap.keys fits");

/* What a keys directory holds, as read (on the stack, zeroed after). */
struct keys_secrets {
	uint8_t seed[KEYS_SEED_BYTES];
	bool has_kek; /* else hash and kek_id are read */
	uint8_t kek[KEYS_KEK_BYTES];
	uint8_t hash[KEYS_KEK_BYTES]; /* hash.key */
	char kek_id[KEYS_ID_LEN + 1]; /* kek_id */
	char store[KEYS_ID_LEN + 1];  /* store, or "" */
	size_t n_wrap;		      /* wrap.keys' lines */
	uint8_t wrap[KEYS_WRAP_MAX][KEYS_KEK_BYTES];
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
keys_fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* sodium_init is idempotent and thread-safe; every entry point that may be
 * the first to need libsodium calls this. */
static int keys_sodium(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static struct keys *keys_alloc(void)
{
	struct keys *k;

	if (keys_sodium())
		return NULL;
	k = sodium_malloc(sizeof(*k));
	if (k)
		memset(k, 0, sizeof(*k));
	return k;
}

/* The key id of an Ed25519 public key: the first 8 bytes of
 * BLAKE2b-256(public key), in hex. */
static int keys_id_of(const uint8_t pk[KEYS_PUBLIC_BYTES],
		      char id[KEYS_ID_LEN + 1])
{
	uint8_t h[crypto_generichash_BYTES];

	if (crypto_generichash(h, sizeof(h), pk, KEYS_PUBLIC_BYTES, NULL, 0))
		return -1;
	sodium_bin2hex(id, KEYS_ID_LEN + 1, h, KEYS_ID_LEN / 2);
	return 0;
}

/* The id of a key: the first n bytes of BLAKE2b-256 keyed with it over
 * msg. */
static int keys_keyed_id(const uint8_t key[KEYS_KEK_BYTES], const char *msg,
			 uint8_t *id, size_t n)
{
	uint8_t h[crypto_generichash_BYTES];

	if (crypto_generichash(h, sizeof(h), (const uint8_t *)msg, strlen(msg),
			       key, KEYS_KEK_BYTES))
		return -1;
	memcpy(id, h, n);
	sodium_memzero(h, sizeof(h));
	return 0;
}

/* The key set's id as hex, from the kek or a new directory's hash key. */
static int keys_set_id(const uint8_t key[KEYS_KEK_BYTES],
		       char out[KEYS_ID_LEN + 1])
{
	uint8_t id[KEYS_ID_LEN / 2];

	if (keys_keyed_id(key, KEYS_KEK_ID_MESSAGE, id, sizeof(id)))
		return -1;
	sodium_bin2hex(out, KEYS_ID_LEN + 1, id, sizeof(id));
	return 0;
}

/* The hash key and the key set's id a kek stands for. */
static int keys_kek_derive(const uint8_t kek[KEYS_KEK_BYTES],
			   uint8_t hash[KEYS_KEK_BYTES],
			   char kek_id[KEYS_ID_LEN + 1])
{
	if (crypto_kdf_derive_from_key(hash, KEYS_KEK_BYTES, KEYS_TOMB_SUBKEY,
				       KEYS_TOMB_CONTEXT, kek))
		return -1;
	return keys_set_id(kek, kek_id);
}

/* Derives everything from the secrets (and the retired public keys,
 * which must not hold the current one) and makes k read-only. */
static int keys_fill(struct keys *k, const struct keys_secrets *sec,
		     bool created, const struct keys_retired *retired,
		     size_t n_retired)
{
	if (n_retired > KEYS_RETIRED_MAX || sec->n_wrap > KEYS_WRAP_MAX ||
	    (!sec->has_kek && sec->n_wrap == 0) ||
	    crypto_sign_seed_keypair(k->pk, k->sk, sec->seed))
		return -1;
	if (n_retired)
		memcpy(k->retired, retired, n_retired * sizeof(*retired));
	k->n_retired = n_retired;
	if (keys_id_of(k->pk, k->id))
		return -1;
	k->has_kek = sec->has_kek;
	if (sec->has_kek) {
		memcpy(k->kek, sec->kek, KEYS_KEK_BYTES);
		if (keys_kek_derive(k->kek, k->tomb, k->kek_id))
			return -1;
	} else {
		memcpy(k->tomb, sec->hash, sizeof(k->tomb));
		memcpy(k->kek_id, sec->kek_id, sizeof(k->kek_id));
	}
	memcpy(k->store, sec->store, sizeof(k->store));
	k->n_file = sec->n_wrap;
	memcpy(k->wrap, sec->wrap, sec->n_wrap * KEYS_KEK_BYTES);
	k->n_wrap = sec->n_wrap;
	if (sec->has_kek)
		memcpy(k->wrap[k->n_wrap++], sec->kek, KEYS_KEK_BYTES);
	for (size_t i = 0; i < k->n_wrap; i++)
		if (keys_keyed_id(k->wrap[i], KEYS_WRAP_ID_MESSAGE,
				  k->wrap_id[i], KEYS_WRAP_ID_BYTES))
			return -1;
	k->created = created;
	/* Nothing writes to the keys after this; a stray write faults. Where
	 * mprotect is refused, the keys still work. */
	(void)sodium_mprotect_readonly(k);
	return 0;
}

int keys_from_bytes(const uint8_t seed[KEYS_SEED_BYTES],
		    const uint8_t kek[KEYS_KEK_BYTES], struct keys **out)
{
	struct keys *k = keys_alloc();

	struct keys_secrets sec = { .has_kek = true };

	*out = NULL;
	if (!k)
		return -1;
	memcpy(sec.seed, seed, sizeof(sec.seed));
	memcpy(sec.kek, kek, sizeof(sec.kek));
	int rc = keys_fill(k, &sec, false, NULL, 0);
	sodium_memzero(&sec, sizeof(sec));
	if (rc) {
		sodium_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

void keys_free(struct keys *k)
{
	/* sodium_free makes the region writable again and zeroes it. */
	if (k)
		sodium_free(k);
}

bool keys_created(const struct keys *k)
{
	return k->created;
}

const char *keys_id(const struct keys *k)
{
	return k->id;
}

const uint8_t *keys_public_key(const struct keys *k)
{
	return k->pk;
}

const char *keys_kek_id(const struct keys *k)
{
	return k->kek_id;
}

size_t keys_signing_count(const struct keys *k)
{
	return 1 + k->n_retired;
}

const char *keys_signing_id(const struct keys *k, size_t i)
{
	if (i == 0)
		return k->id;
	return i <= k->n_retired ? k->retired[i - 1].id : NULL;
}

const uint8_t *keys_signing_public(const struct keys *k, size_t i)
{
	if (i == 0)
		return k->pk;
	return i <= k->n_retired ? k->retired[i - 1].pk : NULL;
}

const uint8_t *keys_public_of(const struct keys *k, const char *id)
{
	for (size_t i = 0; id && i < keys_signing_count(k); i++)
		if (strcmp(keys_signing_id(k, i), id) == 0)
			return keys_signing_public(k, i);
	return NULL;
}

enum keys_match keys_match(const struct keys *k, const char *kek_id,
			   const char *const *signing_ids, size_t n,
			   const char **unknown)
{
	if (unknown)
		*unknown = NULL;
	if (kek_id && strcmp(kek_id, k->kek_id) != 0)
		return KEYS_MATCH_OTHER_KEK;
	for (size_t i = 0; i < n; i++)
		if (keys_public_of(k, signing_ids[i]) == NULL) {
			if (unknown)
				*unknown = signing_ids[i];
			return KEYS_MATCH_UNKNOWN_SIGNING;
		}
	return KEYS_MATCH_OK;
}

/* ---- The directory ---- */

/* Who may own a key file or the directory: this user; root's files are
 * fine for anyone (only root can have put them there), and root may read
 * the keys of the user it will drop to. */
static bool keys_owner_ok(const struct stat *st)
{
	uid_t me = geteuid();

	return st->st_uid == me || st->st_uid == 0 || me == 0;
}

static int keys_check_dir(const char *dir, const struct stat *st, char *err,
			  size_t err_len)
{
	if (!S_ISDIR(st->st_mode))
		return keys_fail(err, err_len,
				 "keys directory %s is not a directory", dir);
	if (!keys_owner_ok(st))
		return keys_fail(err, err_len,
				 "keys directory %s belongs to another user "
				 "(uid %ld)",
				 dir, (long)st->st_uid);
	if (st->st_mode & 077)
		return keys_fail(err, err_len,
				 "keys directory %s is accessible to group or "
				 "others (mode %04o): run chmod 700 %s, or "
				 "choose another --keys",
				 dir, (unsigned)(st->st_mode & 07777), dir);
	return 0;
}

static int keys_check_file(const char *dir, const char *name,
			   const struct stat *st, char *err, size_t err_len)
{
	if (!S_ISREG(st->st_mode))
		return keys_fail(err, err_len, "%s/%s is not a regular file",
				 dir, name);
	if (!keys_owner_ok(st))
		return keys_fail(err, err_len,
				 "%s/%s belongs to another user (uid %ld)", dir,
				 name, (long)st->st_uid);
	if (st->st_mode & 077)
		return keys_fail(err, err_len,
				 "%s/%s is accessible to group or others "
				 "(mode %04o): run chmod 600 on it",
				 dir, name, (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Sets *exists; checks the file when it does. */
static int keys_probe(int dfd, const char *dir, const char *name, bool *exists,
		      char *err, size_t err_len)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			return keys_fail(err, err_len, "cannot stat %s/%s: %s",
					 dir, name, strerror(errno));
		*exists = false;
		return 0;
	}
	*exists = true;
	return keys_check_file(dir, name, &st, err, err_len);
}

/* Reads a whole key file (at most KEYS_FILE_MAX bytes) into buf and strips
 * one final newline; *len is what is left. */
static int keys_read_line(int dfd, const char *dir, const char *name,
			  char buf[KEYS_FILE_MAX + 1], size_t *len, char *err,
			  size_t err_len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, rc = -1;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return keys_fail(err, err_len, "cannot open %s/%s: %s", dir,
				 name, strerror(errno));
	if (fstat(fd, &st) != 0) {
		keys_fail(err, err_len, "cannot stat %s/%s: %s", dir, name,
			  strerror(errno));
		goto out;
	}
	if (keys_check_file(dir, name, &st, err, err_len))
		goto out;
	for (;;) {
		r = read(fd, buf + n, KEYS_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			keys_fail(err, err_len, "cannot read %s/%s: %s", dir,
				  name, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > KEYS_FILE_MAX) {
			keys_fail(err, err_len,
				  "%s/%s is too long to be a key "
				  "file",
				  dir, name);
			goto out;
		}
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	*len = n;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* One line of base64 of exactly 32 bytes into out (zeroed on failure). */
static int keys_parse_secret(const char *line, size_t len, uint8_t out[32])
{
	const char *end;
	size_t bin_len;

	if (sodium_base642bin(out, 32, line, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != 32 || end != line + len) {
		sodium_memzero(out, 32);
		return -1;
	}
	return 0;
}

/* Reads a file of 1..max lines, each base64 of exactly 32 bytes; *n gets
 * how many. */
static int keys_read_secrets(int dfd, const char *dir, const char *name,
			     uint8_t (*out)[32], size_t max, size_t *n,
			     char *err, size_t err_len)
{
	char buf[KEYS_FILE_MAX + 1];
	size_t len;
	int rc = 0;

	*n = 0;
	if (keys_read_line(dfd, dir, name, buf, &len, err, err_len)) {
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	for (char *p = buf, *nl;; p = nl + 1) {
		nl = memchr(p, '\n', len - (size_t)(p - buf));
		size_t line = nl ? (size_t)(nl - p) : len - (size_t)(p - buf);
		if (*n == max || keys_parse_secret(p, line, out[*n])) {
			rc = -1;
			break;
		}
		(*n)++;
		if (!nl)
			break;
	}
	if (rc) {
		sodium_memzero(out, max * 32);
		*n = 0;
		if (max == 1)
			keys_fail(err, err_len,
				  "%s/%s is not one line of base64 of 32 "
				  "bytes",
				  dir, name);
		else
			keys_fail(err, err_len,
				  "%s/%s is not 1 to %zu lines of base64 of 32 "
				  "bytes each",
				  dir, name, max);
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* Reads a file holding one line of base64 of exactly 32 bytes. */
static int keys_read_secret(int dfd, const char *dir, const char *name,
			    uint8_t out[32], char *err, size_t err_len)
{
	size_t n;

	return keys_read_secrets(dfd, dir, name, (uint8_t(*)[32])out, 1, &n,
				 err, err_len);
}

/* Writes content to name through name.tmp: create exclusively (mode 0600
 * whatever the umask), write, fsync, then link into place. link(2) rather
 * than rename(2) because it fails instead of replacing: two racing inits
 * can never overwrite a key the other one already handed out. With
 * `replace` (keys_rotate, which replaces the signing key on purpose, and
 * key_id) the file is renamed over name instead. The caller fsyncs the
 * directory. */
static int keys_write_file(int dfd, const char *dir, const char *name,
			   const char *content, size_t len, bool replace,
			   char *err, size_t err_len)
{
	char tmp[64];
	size_t done = 0;
	ssize_t w;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	/* A temporary file left by an interrupted init holds nothing that
	 * was ever used. */
	if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT)
		return keys_fail(err, err_len, "cannot remove %s/%s: %s", dir,
				 tmp, strerror(errno));
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return keys_fail(err, err_len, "cannot create %s/%s: %s", dir,
				 tmp, strerror(errno));
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (done < len) {
		w = write(fd, content + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (replace) {
		if (renameat(dfd, tmp, dfd, name) != 0)
			goto fail;
		return 0;
	}
	if (linkat(dfd, tmp, dfd, name, 0) != 0) {
		if (errno == EEXIST) {
			unlinkat(dfd, tmp, 0);
			return keys_fail(err, err_len,
					 "%s/%s appeared while it was being "
					 "made (another cmr init?); nothing "
					 "was overwritten, run it again",
					 dir, name);
		}
		goto fail;
	}
	if (unlinkat(dfd, tmp, 0) != 0)
		goto fail;
	return 0;
fail:
	keys_fail(err, err_len, "cannot write %s/%s: %s", dir, tmp,
		  strerror(errno));
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, tmp, 0);
	return -1;
}

/* Writes name (keys_write_file, never replacing) unless it is there
 * already; the caller fsyncs the directory. */
static int keys_write_missing(int dfd, const char *dir, const char *name,
			      const char *content, char *err, size_t err_len)
{
	bool exists;

	if (keys_probe(dfd, dir, name, &exists, err, err_len))
		return -1;
	return exists ? 0
		      : keys_write_file(dfd, dir, name, content,
					strlen(content), false, err, err_len);
}

static int keys_fsync_dir(int dfd, const char *dir, char *err, size_t err_len)
{
	if (fsync(dfd) != 0)
		return keys_fail(err, err_len, "cannot fsync %s: %s", dir,
				 strerror(errno));
	return 0;
}

/* fsyncs the directory that holds path, so a directory just made there
 * survives a crash. */
static int keys_fsync_parent(const char *path, char *err, size_t err_len)
{
	char *parent = strdup(path);
	char *slash;
	int fd, rc;

	if (!parent)
		return keys_fail(err, err_len, "out of memory");
	/* "var/keys/" names var/keys, whose parent is var. */
	for (slash = parent + strlen(parent) - 1;
	     slash > parent && *slash == '/'; slash--)
		*slash = '\0';
	slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = keys_fail(err, err_len, "cannot open %s: %s", parent,
			       strerror(errno));
	} else {
		rc = keys_fsync_dir(fd, parent, err, err_len);
		close(fd);
	}
	free(parent);
	return rc;
}

/* mkdir -p, every directory made with mode 0700. */
static int keys_mkdirs(const char *dir, char *err, size_t err_len)
{
	char *path = strdup(dir);
	char *p;
	int rc = 0;

	if (!path)
		return keys_fail(err, err_len, "out of memory");
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			rc = keys_fail(err, err_len, "cannot create %s: %s",
				       path, strerror(errno));
			goto out;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		rc = keys_fail(err, err_len, "cannot create %s: %s", path,
			       strerror(errno));
out:
	free(path);
	return rc;
}

/* Opens (and with create, makes) the keys directory and checks it. */
static int keys_open_dir(const char *dir, bool create, int *dfd, char *err,
			 size_t err_len)
{
	struct stat st;
	bool made = false;
	int fd;

	if (!dir || !*dir)
		return keys_fail(err, err_len, "no keys directory given");
	if (create && stat(dir, &st) != 0) {
		if (errno != ENOENT)
			return keys_fail(err, err_len, "cannot stat %s: %s",
					 dir, strerror(errno));
		if (keys_mkdirs(dir, err, err_len))
			return -1;
		made = true;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return keys_fail(err, err_len,
					 "no keys directory %s: run cmr init",
					 dir);
		return keys_fail(err, err_len, "cannot open %s: %s", dir,
				 strerror(errno));
	}
	/* mkdir's mode is filtered by the umask; make it exactly 0700. */
	if (made && fchmod(fd, 0700) != 0) {
		keys_fail(err, err_len, "cannot chmod %s: %s", dir,
			  strerror(errno));
		close(fd);
		return -1;
	}
	if (made && keys_fsync_parent(dir, err, err_len) != 0) {
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		keys_fail(err, err_len, "cannot stat %s: %s", dir,
			  strerror(errno));
		close(fd);
		return -1;
	}
	if (keys_check_dir(dir, &st, err, err_len)) {
		close(fd);
		return -1;
	}
	*dfd = fd;
	return 0;
}

/* A line of standard base64 of 32 bytes and "\n". */
#define KEYS_LINE_LEN                                                          \
	(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) + 1)

static void keys_line(char *out, const uint8_t secret[32])
{
	sodium_bin2base64(out, KEYS_LINE_LEN, secret, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	strcat(out, "\n");
}

/* The files of a new directory, in the order they are written: the
 * signing key last, so a directory with one is complete. */
static const char *const keys_new_files[] = { KEYS_FILE_WRAP, KEYS_FILE_HASH,
					      KEYS_FILE_KEK_ID,
					      KEYS_FILE_SIGNING };

/* Makes new keys in an empty directory: a wrap key, a hash key, the key
 * set's id (derived from the hash key) and a signing key. Each goes to a
 * temporary file first; a failure takes back what was written, so an
 * interruption leaves every key or none, but for the instant between two
 * links. */
static int keys_generate(int dfd, const char *dir, char *err, size_t err_len)
{
	uint8_t secret[3][32];
	char line[4][KEYS_LINE_LEN + 1];
	int rc = -1;
	size_t done = 0;

	for (size_t i = 0; i < 3; i++)
		randombytes_buf(secret[i], 32);
	keys_line(line[0], secret[0]); /* wrap.keys */
	keys_line(line[1], secret[1]); /* hash.key */
	if (keys_set_id(secret[1], line[2]))
		goto out;
	strcat(line[2], "\n");
	keys_line(line[3], secret[2]); /* signing.key */
	for (; done < 4; done++)
		if (keys_write_file(dfd, dir, keys_new_files[done], line[done],
				    strlen(line[done]), false, err, err_len))
			break;
	if (done < 4) {
		/* Never used: take them back, so that the next init does
		 * not find a half-made directory. */
		while (done-- > 0)
			unlinkat(dfd, keys_new_files[done], 0);
		goto out;
	}
	rc = keys_fsync_dir(dfd, dir, err, err_len);
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(line, sizeof(line));
	return rc;
}

/* Checks key_id against the key; with may_write, writes a missing one,
 * or one that names a retired key (keys_rotate stopped between replacing
 * signing.key and key_id: the retired key's file was written first). */
static int keys_check_id(int dfd, const char *dir, const struct keys *k,
			 bool may_write, char *err, size_t err_len)
{
	char buf[KEYS_FILE_MAX + 1];
	size_t len;
	bool exists, stale = false;

	if (keys_probe(dfd, dir, KEYS_FILE_ID, &exists, err, err_len))
		return -1;
	if (exists) {
		if (keys_read_line(dfd, dir, KEYS_FILE_ID, buf, &len, err,
				   err_len))
			return -1;
		if (strcmp(buf, k->id) == 0)
			return 0;
		stale = keys_public_of(k, buf) != NULL;
	}
	if (!exists || stale) {
		if (!may_write)
			return 0;
		snprintf(buf, sizeof(buf), "%s\n", k->id);
		if (keys_write_file(dfd, dir, KEYS_FILE_ID, buf, strlen(buf),
				    stale, err, err_len))
			return -1;
		return keys_fsync_dir(dfd, dir, err, err_len);
	}
	return keys_fail(err, err_len,
			 "%s/%s does not match %s/%s: the files come "
			 "from different key sets",
			 dir, KEYS_FILE_ID, dir, KEYS_FILE_SIGNING);
}

/* True when name is a retired key's file; id gets its key id. */
static bool keys_retired_name(const char *name, char id[KEYS_ID_LEN + 1])
{
	size_t pre = strlen(KEYS_RETIRED_PREFIX),
	       suf = strlen(KEYS_RETIRED_SUFFIX);

	if (strlen(name) != pre + KEYS_ID_LEN + suf ||
	    strncmp(name, KEYS_RETIRED_PREFIX, pre) != 0 ||
	    strcmp(name + pre + KEYS_ID_LEN, KEYS_RETIRED_SUFFIX) != 0)
		return false;
	for (size_t i = 0; i < KEYS_ID_LEN; i++) {
		char c = name[pre + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		id[i] = c;
	}
	id[KEYS_ID_LEN] = '\0';
	return true;
}

static int keys_retired_cmp(const void *x, const void *y)
{
	return strcmp(((const struct keys_retired *)x)->id,
		      ((const struct keys_retired *)y)->id);
}

/* Reads every retired key's file (in id order) but the current key's. */
static int keys_read_retired(int dfd, const char *dir, const char *current,
			     struct keys_retired *out, size_t *n, char *err,
			     size_t err_len)
{
	struct dirent *de;
	char id[KEYS_ID_LEN + 1];
	int fd = dup(dfd), rc = 0;
	DIR *d;

	*n = 0;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return keys_fail(err, err_len, "cannot list %s: %s", dir,
				 strerror(errno));
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct keys_retired *r = &out[*n];
		if (!keys_retired_name(de->d_name, id) ||
		    strcmp(id, current) == 0)
			continue;
		if (*n == KEYS_RETIRED_MAX) {
			rc = keys_fail(err, err_len,
				       "%s holds more than %d retired keys",
				       dir, KEYS_RETIRED_MAX);
			break;
		}
		if (keys_read_secret(dfd, dir, de->d_name, r->pk, err,
				     err_len) ||
		    keys_id_of(r->pk, r->id)) {
			rc = -1;
			break;
		}
		if (strcmp(r->id, id) != 0) {
			rc = keys_fail(err, err_len,
				       "%s/%s holds the key with id %s, not "
				       "the one its name says",
				       dir, de->d_name, r->id);
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (rc == 0)
		qsort(out, *n, sizeof(*out), keys_retired_cmp);
	return rc;
}

/* Which key files a directory holds. */
struct keys_present {
	bool sign, kek, hash, wrap, kek_id, store;
};

static int keys_probe_all(int dfd, const char *dir, struct keys_present *p,
			  char *err, size_t err_len)
{
	return keys_probe(dfd, dir, KEYS_FILE_SIGNING, &p->sign, err,
			  err_len) ||
			       keys_probe(dfd, dir, KEYS_FILE_KEK, &p->kek, err,
					  err_len) ||
			       keys_probe(dfd, dir, KEYS_FILE_HASH, &p->hash,
					  err, err_len) ||
			       keys_probe(dfd, dir, KEYS_FILE_WRAP, &p->wrap,
					  err, err_len) ||
			       keys_probe(dfd, dir, KEYS_FILE_KEK_ID,
					  &p->kek_id, err, err_len) ||
			       keys_probe(dfd, dir, KEYS_FILE_STORE, &p->store,
					  err, err_len)
		       ? -1
		       : 0;
}

/* Says which files an incomplete directory holds and lacks. */
static int keys_incomplete(const char *dir, const struct keys_present *p,
			   char *err, size_t err_len)
{
	char has[96] = "", lacks[96] = "";
	const struct {
		bool there, needed;
		const char *name;
	} f[] = {
		{ p->sign, true, KEYS_FILE_SIGNING },
		{ p->kek, false, KEYS_FILE_KEK },
		{ p->wrap, !p->kek, KEYS_FILE_WRAP },
		{ p->hash, !p->kek, KEYS_FILE_HASH },
		{ p->kek_id, !p->kek, KEYS_FILE_KEK_ID },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char *to = f[i].there ? has : f[i].needed ? lacks : NULL;
		if (!to)
			continue;
		if (*to)
			strcat(to, ", ");
		strcat(to, f[i].name);
	}
	return keys_fail(err, err_len,
			 "keys directory %s holds %s but no %s: restore it "
			 "from your backup (a new key would make the stored "
			 "data unreadable); if this directory was never used "
			 "(an interrupted cmr init), remove it and run cmr "
			 "init again",
			 dir, has, lacks);
}

/* Reads an id file (kek_id, store): 16 lowercase hex digits. */
static int keys_read_set_id(int dfd, const char *dir, const char *name,
			    char out[KEYS_ID_LEN + 1], char *err,
			    size_t err_len)
{
	char buf[KEYS_FILE_MAX + 1];
	size_t len;

	if (keys_read_line(dfd, dir, name, buf, &len, err, err_len))
		return -1;
	bool ok = len == KEYS_ID_LEN;
	for (size_t i = 0; ok && i < len; i++)
		ok = (buf[i] >= '0' && buf[i] <= '9') ||
		     (buf[i] >= 'a' && buf[i] <= 'f');
	if (!ok)
		return keys_fail(err, err_len,
				 "%s/%s is not one line of %d lowercase hex "
				 "digits",
				 dir, name, KEYS_ID_LEN);
	memcpy(out, buf, KEYS_ID_LEN + 1);
	return 0;
}

/* Reads the secrets of a complete directory. With a kek, a hash.key and
 * kek_id beside it (a rotation that stopped before removing it) must be
 * what it derives. */
static int keys_read_all(int dfd, const char *dir, const struct keys_present *p,
			 struct keys_secrets *sec, char *err, size_t err_len)
{
	uint8_t hash[KEYS_KEK_BYTES];
	char id[KEYS_ID_LEN + 1];
	int rc = -1;

	sec->has_kek = p->kek;
	if (keys_read_secret(dfd, dir, KEYS_FILE_SIGNING, sec->seed, err,
			     err_len) ||
	    (p->wrap &&
	     keys_read_secrets(dfd, dir, KEYS_FILE_WRAP, sec->wrap,
			       KEYS_WRAP_MAX, &sec->n_wrap, err, err_len)) ||
	    (p->hash && keys_read_secret(dfd, dir, KEYS_FILE_HASH, sec->hash,
					 err, err_len)) ||
	    (p->kek_id && keys_read_set_id(dfd, dir, KEYS_FILE_KEK_ID,
					   sec->kek_id, err, err_len)) ||
	    (p->store && keys_read_set_id(dfd, dir, KEYS_FILE_STORE, sec->store,
					  err, err_len)))
		goto out;
	if (!p->kek) {
		rc = 0;
		goto out;
	}
	if (keys_read_secret(dfd, dir, KEYS_FILE_KEK, sec->kek, err, err_len) ||
	    keys_kek_derive(sec->kek, hash, id))
		goto out;
	if ((p->hash && sodium_memcmp(hash, sec->hash, sizeof(hash)) != 0) ||
	    (p->kek_id && strcmp(id, sec->kek_id) != 0)) {
		keys_fail(err, err_len,
			  "%s/%s or %s/%s is not derived from %s/%s: the "
			  "files come from different key sets",
			  dir, KEYS_FILE_HASH, dir, KEYS_FILE_KEK_ID, dir,
			  KEYS_FILE_KEK);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

static int keys_open_keys(const char *dir, bool create, struct keys **out,
			  char *err, size_t err_len)
{
	uint8_t pk[KEYS_PUBLIC_BYTES], sk[crypto_sign_SECRETKEYBYTES];
	struct keys_secrets sec = { 0 };
	struct keys_retired *retired = NULL;
	struct keys_present p = { 0 };
	bool created = false;
	char id[KEYS_ID_LEN + 1];
	struct keys *k = NULL;
	size_t n_retired = 0;
	int dfd = -1, rc = -1;

	*out = NULL;
	if (keys_sodium())
		return keys_fail(err, err_len, "libsodium cannot start");
	if (keys_open_dir(dir, create, &dfd, err, err_len))
		return -1;
	if (keys_probe_all(dfd, dir, &p, err, err_len))
		goto out;
	if (!p.sign && !p.kek && !p.hash && !p.wrap && !p.kek_id) {
		if (!create) {
			keys_fail(err, err_len, "no keys in %s: run cmr init",
				  dir);
			goto out;
		}
		if (keys_generate(dfd, dir, err, err_len) ||
		    keys_probe_all(dfd, dir, &p, err, err_len))
			goto out;
		created = true;
	}
	if (!p.sign || (!p.kek && !(p.hash && p.wrap && p.kek_id))) {
		keys_incomplete(dir, &p, err, err_len);
		goto out;
	}
	if (keys_read_all(dfd, dir, &p, &sec, err, err_len))
		goto out;
	retired = calloc(KEYS_RETIRED_MAX, sizeof(*retired));
	if (!retired || crypto_sign_seed_keypair(pk, sk, sec.seed) ||
	    keys_id_of(pk, id)) {
		keys_fail(err, err_len, "out of memory");
		goto out;
	}
	if (keys_read_retired(dfd, dir, id, retired, &n_retired, err, err_len))
		goto out;
	k = keys_alloc();
	if (!k || keys_fill(k, &sec, created, retired, n_retired)) {
		keys_fail(err, err_len, "out of memory");
		goto out;
	}
	if (keys_check_id(dfd, dir, k, create, err, err_len))
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
out:
	sodium_memzero(&sec, sizeof(sec));
	sodium_memzero(sk, sizeof(sk));
	free(retired);
	keys_free(k);
	close(dfd);
	return rc;
}

int keys_init(const char *dir, struct keys **out, char *err, size_t err_len)
{
	return keys_open_keys(dir, true, out, err, err_len);
}

int keys_load(const char *dir, struct keys **out, char *err, size_t err_len)
{
	return keys_open_keys(dir, false, out, err, err_len);
}

bool keys_absent(const char *dir)
{
	static const char *const files[] = { KEYS_FILE_SIGNING, KEYS_FILE_KEK,
					     KEYS_FILE_HASH, KEYS_FILE_WRAP,
					     KEYS_FILE_KEK_ID };
	struct stat st;
	bool any = false;
	int dfd;

	if (!dir || !*dir || stat(dir, &st) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(st.st_mode))
		return false;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	for (size_t i = 0; !any && i < sizeof(files) / sizeof(files[0]); i++)
		any = fstatat(dfd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		      errno != ENOENT;
	close(dfd);
	return !any;
}

int keys_rotate(const char *dir, struct keys **out, char *err, size_t err_len)
{
	char name[64], line[sodium_base64_ENCODED_LEN(
				    32, sodium_base64_VARIANT_ORIGINAL) +
			    2];
	uint8_t seed[KEYS_SEED_BYTES];
	struct keys *old = NULL;
	int dfd = -1, rc = -1;

	*out = NULL;
	if (keys_load(dir, &old, err, err_len))
		return -1;
	if (old->n_retired >= KEYS_RETIRED_MAX) {
		keys_fail(err, err_len,
			  "%s holds %d retired keys already: no more can be "
			  "kept",
			  dir, KEYS_RETIRED_MAX);
		goto out;
	}
	if (keys_open_dir(dir, false, &dfd, err, err_len))
		goto out;
	/* The current key's public half first, so that at every instant
	 * each key that ever signed is in the directory. */
	snprintf(name, sizeof(name), "%s%s%s", KEYS_RETIRED_PREFIX, old->id,
		 KEYS_RETIRED_SUFFIX);
	keys_line(line, old->pk);
	if (keys_write_missing(dfd, dir, name, line, err, err_len))
		goto out;
	if (keys_fsync_dir(dfd, dir, err, err_len))
		goto out;
	randombytes_buf(seed, sizeof(seed));
	keys_line(line, seed);
	if (keys_write_file(dfd, dir, KEYS_FILE_SIGNING, line, strlen(line),
			    true, err, err_len) ||
	    keys_fsync_dir(dfd, dir, err, err_len))
		goto out;
	/* keys_init rewrites key_id, which names the retired key now. */
	rc = keys_init(dir, out, err, err_len);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	keys_free(old);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* ---- Using the keys ---- */

int keys_sign(const struct keys *k, const void *msg, size_t len,
	      uint8_t sig[KEYS_SIG_BYTES])
{
	return crypto_sign_detached(sig, NULL, msg, len, k->sk) ? -1 : 0;
}

int keys_new_data_key(uint8_t out[KEYS_DATA_KEY_BYTES])
{
	if (keys_sodium())
		return -1;
	crypto_secretbox_keygen(out);
	return 0;
}

int keys_wrap(const struct keys *k, const uint8_t data_key[KEYS_DATA_KEY_BYTES],
	      uint8_t out[KEYS_WRAPPED_BYTES])
{
	uint8_t *nonce = out + 1 + KEYS_WRAP_ID_BYTES;

	out[0] = KEYS_WRAPPED_V2;
	memcpy(out + 1, k->wrap_id[0], KEYS_WRAP_ID_BYTES);
	randombytes_buf(nonce, KEYS_NONCE_BYTES);
	if (crypto_secretbox_easy(nonce + KEYS_NONCE_BYTES, data_key,
				  KEYS_DATA_KEY_BYTES, nonce, k->wrap[0]))
		return -1;
	return 0;
}

int keys_unwrap(const struct keys *k, const uint8_t *blob, size_t len,
		uint8_t data_key[KEYS_DATA_KEY_BYTES])
{
	const uint8_t *key = NULL, *nonce = blob;

	if (blob && len == KEYS_WRAPPED_V1_BYTES && k->has_kek) {
		key = k->kek;
	} else if (blob && len == KEYS_WRAPPED_BYTES &&
		   blob[0] == KEYS_WRAPPED_V2) {
		for (size_t i = 0; !key && i < k->n_wrap; i++)
			if (memcmp(blob + 1, k->wrap_id[i],
				   KEYS_WRAP_ID_BYTES) == 0)
				key = k->wrap[i];
		nonce = blob + 1 + KEYS_WRAP_ID_BYTES;
	}
	if (!key || crypto_secretbox_open_easy(
			    data_key, nonce + KEYS_NONCE_BYTES,
			    KEYS_DATA_KEY_BYTES + KEYS_MAC_BYTES, nonce, key)) {
		sodium_memzero(data_key, KEYS_DATA_KEY_BYTES);
		return -1;
	}
	return 0;
}

bool keys_wrapped_current(const struct keys *k, const uint8_t *blob, size_t len)
{
	return blob && len == KEYS_WRAPPED_BYTES &&
	       blob[0] == KEYS_WRAPPED_V2 &&
	       memcmp(blob + 1, k->wrap_id[0], KEYS_WRAP_ID_BYTES) == 0;
}

size_t keys_wrap_retiring(const struct keys *k)
{
	return k->n_wrap - 1;
}

void keys_wrap_id(const struct keys *k, char out[KEYS_WRAP_ID_BYTES * 2 + 1])
{
	sodium_bin2hex(out, KEYS_WRAP_ID_BYTES * 2 + 1, k->wrap_id[0],
		       KEYS_WRAP_ID_BYTES);
}

bool keys_wrapped_id(const uint8_t *blob, size_t len,
		     char out[KEYS_WRAP_ID_BYTES * 2 + 1])
{
	if (!blob || len != KEYS_WRAPPED_BYTES || blob[0] != KEYS_WRAPPED_V2)
		return false;
	sodium_bin2hex(out, KEYS_WRAP_ID_BYTES * 2 + 1, blob + 1,
		       KEYS_WRAP_ID_BYTES);
	return true;
}

bool keys_wrap_knows(const struct keys *k, const char *id)
{
	char hex[KEYS_WRAP_ID_BYTES * 2 + 1];

	for (size_t i = 0; id && i < k->n_wrap; i++) {
		sodium_bin2hex(hex, sizeof(hex), k->wrap_id[i],
			       KEYS_WRAP_ID_BYTES);
		if (strcmp(hex, id) == 0)
			return true;
	}
	return false;
}

void keys_hash_id(const struct keys *k, char out[KEYS_ID_LEN + 1])
{
	uint8_t id[KEYS_ID_LEN / 2] = { 0 };

	(void)keys_keyed_id(k->tomb, KEYS_HASH_ID_MESSAGE, id, sizeof(id));
	sodium_bin2hex(out, KEYS_ID_LEN + 1, id, sizeof(id));
}

/* ---- Rotating the wrap key ---- */

/* Overwrites what fd holds with zeros and syncs it: a key file that was
 * replaced or removed, so its bytes do not wait on the disk for reuse
 * (on a filesystem that writes in place; copy-on-write ones and their
 * snapshots may keep them anyway). Only a file no name links to any more:
 * another link (a `cp -al` backup) keeps its key. Best effort: the key is
 * already out of the directory. */
static void keys_wipe_fd(int fd)
{
	static const char zeros[KEYS_FILE_MAX + 1];
	struct stat st;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size > 0 &&
	    (size_t)st.st_size <= sizeof(zeros) &&
	    pwrite(fd, zeros, (size_t)st.st_size, 0) == st.st_size)
		(void)fsync(fd);
	close(fd);
}

/* Replaces name with content (keys_write_file, then the directory is
 * fsynced); with `wipe`, then wipes the file it replaced. */
static int keys_replace(int dfd, const char *dir, const char *name,
			const char *content, bool wipe, char *err,
			size_t err_len)
{
	int old =
		wipe ? openat(dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC) : -1;
	int rc = keys_write_file(dfd, dir, name, content, strlen(content), true,
				 err, err_len) ||
				 keys_fsync_dir(dfd, dir, err, err_len)
			 ? -1
			 : 0;
	if (rc == 0)
		keys_wipe_fd(old);
	else if (old >= 0)
		close(old);
	return rc;
}

/* wrap.keys made of keys[0..n); with `wipe`, the file it replaces is
 * wiped (it held a key that leaves). */
static int keys_write_wraps(int dfd, const char *dir, uint8_t (*keys)[32],
			    size_t n, bool wipe, char *err, size_t err_len)
{
	char text[KEYS_WRAP_MAX * (KEYS_LINE_LEN + 1) + 1] = "";
	char line[KEYS_LINE_LEN + 1];

	for (size_t i = 0; i < n; i++) {
		keys_line(line, keys[i]);
		strcat(text, line);
	}
	int rc = keys_replace(dfd, dir, KEYS_FILE_WRAP, text, wipe, err,
			      err_len);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(line, sizeof(line));
	return rc;
}

int keys_wrap_rotate_begin(const char *dir, struct keys **out, char *err,
			   size_t err_len)
{
	uint8_t keys[KEYS_WRAP_MAX][32];
	struct keys *old = NULL;
	int dfd = -1, rc = -1;

	*out = NULL;
	if (keys_load(dir, &old, err, err_len))
		return -1;
	if (keys_wrap_retiring(old) > 0) { /* under way: go on with it */
		*out = old;
		return 0;
	}
	if (keys_open_dir(dir, false, &dfd, err, err_len))
		goto out;
	/* The new key first; the one that wrapped so far (from wrap.keys;
	 * a kek stays in its own file) still unwraps. */
	randombytes_buf(keys[0], 32);
	memcpy(keys[1], old->wrap[0], 32);
	if (keys_write_wraps(dfd, dir, keys, 1 + old->n_file, false, err,
			     err_len))
		goto out;
	rc = keys_load(dir, out, err, err_len);
out:
	sodium_memzero(keys, sizeof(keys));
	keys_free(old);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int keys_wrap_rotate_end(const char *dir, struct keys **out, char *err,
			 size_t err_len)
{
	char line[KEYS_LINE_LEN + 1];
	uint8_t current[1][32];
	struct keys *k = NULL;
	int dfd = -1, rc = -1;

	*out = NULL;
	if (keys_load(dir, &k, err, err_len))
		return -1;
	if (keys_wrap_retiring(k) == 0) { /* nothing left to retire */
		*out = k;
		return 0;
	}
	if (keys_open_dir(dir, false, &dfd, err, err_len))
		goto out;
	if (k->has_kek) {
		/* What the kek stood for, in files of their own, before it
		 * goes (keys_load checked any already there). */
		keys_line(line, k->tomb);
		if (keys_write_missing(dfd, dir, KEYS_FILE_HASH, line, err,
				       err_len))
			goto out;
		snprintf(line, sizeof(line), "%s\n", k->kek_id);
		if (keys_write_missing(dfd, dir, KEYS_FILE_KEK_ID, line, err,
				       err_len) ||
		    keys_fsync_dir(dfd, dir, err, err_len))
			goto out;
	}
	memcpy(current[0], k->wrap[0], 32);
	if (k->n_file > 1 &&
	    keys_write_wraps(dfd, dir, current, 1, true, err, err_len))
		goto out;
	if (k->has_kek) {
		int fd = openat(dfd, KEYS_FILE_KEK,
				O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (unlinkat(dfd, KEYS_FILE_KEK, 0) != 0) {
			keys_fail(err, err_len, "cannot remove %s/%s: %s", dir,
				  KEYS_FILE_KEK, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (keys_fsync_dir(dfd, dir, err, err_len)) {
			if (fd >= 0)
				close(fd);
			goto out;
		}
		keys_wipe_fd(fd);
	}
	rc = keys_load(dir, out, err, err_len);
out:
	sodium_memzero(line, sizeof(line));
	sodium_memzero(current, sizeof(current));
	keys_free(k);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int keys_seal(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
	      const void *plaintext, size_t len, char **out)
{
	size_t box_len = KEYS_NONCE_BYTES + KEYS_MAC_BYTES + len, b64_len;
	uint8_t *box;
	char *b64;

	*out = NULL;
	if (len > KEYS_SEAL_MAX || (len && !plaintext) || keys_sodium())
		return -1;
	box = malloc(box_len);
	if (!box)
		return -1;
	randombytes_buf(box, KEYS_NONCE_BYTES);
	if (crypto_secretbox_easy(box + KEYS_NONCE_BYTES, plaintext, len, box,
				  data_key)) {
		free(box);
		return -1;
	}
	b64_len = sodium_base64_ENCODED_LEN(
		box_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	b64 = malloc(b64_len);
	if (b64)
		sodium_bin2base64(b64, b64_len, box, box_len,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(box);
	*out = b64;
	return b64 ? 0 : -1;
}

int keys_open(const uint8_t data_key[KEYS_DATA_KEY_BYTES], const char *sealed,
	      char **out, size_t *out_len)
{
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t n, cap, box_len, plain_len;
	const char *end;
	uint8_t *box;
	char *plain;

	*out = NULL;
	*out_len = 0;
	if (!sealed || keys_sodium())
		return -1;
	n = strlen(sealed);
	/* Longest string keys_seal can write, so cap below cannot wrap. */
	if (n >
	    sodium_base64_ENCODED_LEN(
		    KEYS_SEAL_MAX + KEYS_NONCE_BYTES + KEYS_MAC_BYTES, variant))
		return -1;
	cap = n / 4 * 3 + 3;
	box = malloc(cap);
	if (!box)
		return -1;
	if (sodium_base642bin(box, cap, sealed, n, NULL, &box_len, &end,
			      variant) != 0 ||
	    end != sealed + n || box_len < KEYS_NONCE_BYTES + KEYS_MAC_BYTES) {
		free(box);
		return -1;
	}
	plain_len = box_len - KEYS_NONCE_BYTES - KEYS_MAC_BYTES;
	plain = malloc(plain_len + 1);
	if (!plain) {
		free(box);
		return -1;
	}
	if (crypto_secretbox_open_easy((uint8_t *)plain, box + KEYS_NONCE_BYTES,
				       box_len - KEYS_NONCE_BYTES, box,
				       data_key)) {
		free(box);
		keys_free_plain(plain, plain_len + 1);
		return -1;
	}
	free(box);
	plain[plain_len] = '\0';
	*out = plain;
	*out_len = plain_len;
	return 0;
}

void keys_free_plain(char *plain, size_t len)
{
	if (!plain)
		return;
	sodium_memzero(plain, len);
	free(plain);
}

int keys_tombstone(const struct keys *k, const char *kind, const void *value,
		   size_t value_len, char out[KEYS_TOMBSTONE_HEX + 1])
{
	static const uint8_t sep = 0;
	crypto_generichash_state st;
	uint8_t h[KEYS_TOMBSTONE_HEX / 2];

	if (!kind || !*kind || (value_len && !value))
		return -1;
	if (crypto_generichash_init(&st, k->tomb, sizeof(k->tomb), sizeof(h)) ||
	    crypto_generichash_update(&st, (const uint8_t *)kind,
				      strlen(kind)) ||
	    crypto_generichash_update(&st, &sep, 1) ||
	    crypto_generichash_update(&st, value_len ? value : &sep,
				      value_len) ||
	    crypto_generichash_final(&st, h, sizeof(h)))
		return -1;
	sodium_bin2hex(out, KEYS_TOMBSTONE_HEX + 1, h, sizeof(h));
	return 0;
}

/* ---- Sealing bytes: message content of any size, into a BLOB ---- */

int keys_seal_bytes(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
		    const void *plaintext, size_t len, uint8_t **out,
		    size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (len > KEYS_SEAL_BYTES_MAX || (len && !plaintext) || keys_sodium())
		return -1;
	size_t n = KEYS_SEALED_OVERHEAD + len;
	uint8_t *box = malloc(n);
	if (!box)
		return -1;
	box[0] = KEYS_SEALED_V1;
	randombytes_buf(box + 1, KEYS_NONCE_BYTES);
	if (crypto_secretbox_easy(box + 1 + KEYS_NONCE_BYTES,
				  len ? plaintext : (const void *)"", len,
				  box + 1, data_key)) {
		free(box);
		return -1;
	}
	*out = box;
	*out_len = n;
	return 0;
}

int keys_open_bytes(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
		    const void *sealed, size_t len, char **out, size_t *out_len)
{
	const uint8_t *box = sealed;
	*out = NULL;
	*out_len = 0;
	if (!box || len < KEYS_SEALED_OVERHEAD ||
	    len - KEYS_SEALED_OVERHEAD > KEYS_SEAL_BYTES_MAX ||
	    box[0] != KEYS_SEALED_V1 || keys_sodium())
		return -1;
	size_t plain_len = len - KEYS_SEALED_OVERHEAD;
	char *plain = malloc(plain_len + 1);
	if (!plain)
		return -1;
	if (crypto_secretbox_open_easy(
		    (uint8_t *)plain, box + 1 + KEYS_NONCE_BYTES,
		    len - 1 - KEYS_NONCE_BYTES, box + 1, data_key)) {
		keys_free_plain(plain, plain_len + 1);
		return -1;
	}
	plain[plain_len] = '\0';
	*out = plain;
	*out_len = plain_len;
	return 0;
}

int keys_data_hash(const uint8_t data_key[KEYS_DATA_KEY_BYTES],
		   const char *kind, const void *value, size_t value_len,
		   uint8_t *out, size_t out_len)
{
	uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = { 0 };
	size_t kind_len = kind ? strlen(kind) : 0;
	if (!kind_len || kind_len > sizeof(personal) || (value_len && !value) ||
	    out_len < crypto_generichash_blake2b_BYTES_MIN ||
	    out_len > crypto_generichash_blake2b_BYTES_MAX || keys_sodium())
		return -1;
	memcpy(personal, kind, kind_len);
	return crypto_generichash_blake2b_salt_personal(
		       out, out_len, value_len ? value : personal, value_len,
		       data_key, KEYS_DATA_KEY_BYTES, NULL, personal)
		       ? -1
		       : 0;
}

const char *keys_store_id(const struct keys *k)
{
	return k->store;
}

/* Whether dir's file `store` names store_id (0), another (-1, err says
 * which) or cannot be read (-1). */
static int keys_store_names(int dfd, const char *dir, const char *store_id,
			    char *err, size_t err_len)
{
	char got[KEYS_ID_LEN + 1];

	if (keys_read_set_id(dfd, dir, KEYS_FILE_STORE, got, err, err_len))
		return -1;
	if (strcmp(got, store_id) != 0)
		return keys_fail(err, err_len,
				 "%s/%s names the store %s, not %s", dir,
				 KEYS_FILE_STORE, got, store_id);
	return 0;
}

/* Writes `store` under a name of this process's, then links it into
 * place without replacing anything: of two processes binding at once,
 * one file stays, and the other compares it. Written by root, it is given
 * the directory's owner (a `cmr serve --user` reads it afterwards). */
static int keys_store_write(int dfd, const char *dir, const char *store_id,
			    char *err, size_t err_len)
{
	char tmp[64], line[KEYS_ID_LEN + 2];
	struct stat st;
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%08x", KEYS_FILE_STORE,
		 (long)getpid(), randombytes_random());
	snprintf(line, sizeof(line), "%s\n", store_id);
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		bool cannot =
			errno == EROFS || errno == EACCES || errno == EPERM;
		keys_fail(err, err_len, "cannot create %s/%s: %s", dir, tmp,
			  strerror(errno));
		return cannot ? 1 : -1;
	}
	size_t len = strlen(line);
	bool ok = fchmod(fd, 0600) == 0 && write(fd, line, len) == (ssize_t)len;
	if (ok && geteuid() == 0 && fstat(dfd, &st) == 0 && st.st_uid != 0)
		ok = fchown(fd, st.st_uid, st.st_gid) == 0;
	ok = ok && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok) {
		keys_fail(err, err_len, "cannot write %s/%s: %s", dir, tmp,
			  strerror(errno));
	} else if (linkat(dfd, tmp, dfd, KEYS_FILE_STORE, 0) == 0) {
		rc = keys_fsync_dir(dfd, dir, err, err_len);
	} else if (errno == EEXIST) { /* another process bound it first */
		rc = keys_store_names(dfd, dir, store_id, err, err_len);
	} else {
		keys_fail(err, err_len, "cannot link %s/%s: %s", dir,
			  KEYS_FILE_STORE, strerror(errno));
	}
	unlinkat(dfd, tmp, 0);
	return rc;
}

int keys_store_bind(const char *dir, const char *store_id, char *err,
		    size_t err_len)
{
	bool exists;
	int dfd = -1, rc = -1;

	if (strlen(store_id) != KEYS_ID_LEN)
		return keys_fail(err, err_len, "not a store id");
	if (keys_open_dir(dir, false, &dfd, err, err_len))
		return -1;
	if (keys_probe(dfd, dir, KEYS_FILE_STORE, &exists, err, err_len) == 0)
		rc = exists ? keys_store_names(dfd, dir, store_id, err, err_len)
			    : keys_store_write(dfd, dir, store_id, err,
					       err_len);
	close(dfd);
	return rc;
}
