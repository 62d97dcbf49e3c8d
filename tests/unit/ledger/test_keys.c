/*
 * test_keys.c — the keys directory (modes, idempotence, every refusal), key
 * wrapping, sealing personal values, and tombstones. Each test works in its
 * own mkdtemp directory, removed afterwards.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/keys.h"

static char tmp_root[64];
static char path_buf[256];

static void rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		d = opendir(path);
		if (d) {
			while ((de = readdir(d))) {
				char child[512];

				if (!strcmp(de->d_name, ".") ||
				    !strcmp(de->d_name, ".."))
					continue;
				snprintf(child, sizeof(child), "%s/%s", path,
					 de->d_name);
				rm_tree(child);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void setup_tmp(void)
{
	strcpy(tmp_root, "/tmp/cmr-keys-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_root));
}

static void teardown_tmp(void)
{
	rm_tree(tmp_root);
}

/* A path under the test's directory (one at a time). */
static const char *at(const char *rel)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", tmp_root, rel);
	return path_buf;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, content, strlen(content)),
		     (ssize_t)strlen(content));
	fchmod(fd, mode);
	close(fd);
}

static struct keys *init_ok(const char *dir)
{
	struct keys *k = NULL;
	char err[KEYS_ERR_MAX] = "";

	cr_assert_eq(keys_init(dir, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(k);
	return k;
}

static void expect_init_fails(const char *dir, const char *why_part)
{
	struct keys *k = (struct keys *)1;
	char err[KEYS_ERR_MAX] = "";

	cr_expect_eq(keys_init(dir, &k, err, sizeof(err)), -1);
	cr_expect_null(k);
	cr_expect(strstr(err, why_part) != NULL, "error \"%s\" lacks \"%s\"",
		  err, why_part);
}

TestSuite(keysdir, .init = setup_tmp, .fini = teardown_tmp);

Test(keysdir, init_creates_private_dir_and_files)
{
	char dir[256], file[300], buf[256];
	struct keys *k;
	size_t n;

	snprintf(dir, sizeof(dir), "%s", at("var/keys"));
	k = init_ok(dir);
	cr_expect(keys_created(k));
	cr_expect_eq(mode_of(dir), 0700);
	cr_expect_eq(mode_of(at("var")), 0700);
	snprintf(file, sizeof(file), "%s/signing.key", dir);
	cr_expect_eq(mode_of(file), 0600);
	n = read_file(file, buf, sizeof(buf));
	cr_expect_eq(n, 45, "signing.key: 44 base64 characters and \\n");
	cr_expect_eq(buf[44], '\n');
	snprintf(file, sizeof(file), "%s/wrap.keys", dir);
	cr_expect_eq(mode_of(file), 0600);
	cr_expect_eq(read_file(file, buf, sizeof(buf)), 45, "one wrap key");
	snprintf(file, sizeof(file), "%s/hash.key", dir);
	cr_expect_eq(mode_of(file), 0600);
	cr_expect_eq(read_file(file, buf, sizeof(buf)), 45);
	snprintf(file, sizeof(file), "%s/kek_id", dir);
	cr_expect_eq(mode_of(file), 0600);
	read_file(file, buf, sizeof(buf));
	cr_expect_eq(strncmp(buf, keys_kek_id(k), KEYS_ID_LEN), 0);
	cr_expect_str_eq(buf + KEYS_ID_LEN, "\n");
	/* A new directory has no kek: nothing it wraps can outlive a wrap
	 * rotation. */
	snprintf(file, sizeof(file), "%s/kek", dir);
	cr_expect_neq(access(file, F_OK), 0);
	snprintf(file, sizeof(file), "%s/key_id", dir);
	cr_expect_eq(mode_of(file), 0600);
	read_file(file, buf, sizeof(buf));
	cr_expect_eq(strlen(keys_id(k)), KEYS_ID_LEN);
	cr_expect_eq(strncmp(buf, keys_id(k), KEYS_ID_LEN), 0);
	cr_expect_str_eq(buf + KEYS_ID_LEN, "\n");
	/* No temporary file is left behind. */
	snprintf(file, sizeof(file), "%s/wrap.keys.tmp", dir);
	cr_expect_neq(access(file, F_OK), 0);
	keys_free(k);
}

Test(keysdir, trailing_slash_and_relative_path)
{
	char cwd[512];
	struct keys *a, *b;

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(tmp_root), 0);
	a = init_ok("var/keys/");
	b = init_ok("var/keys");
	cr_assert_eq(chdir(cwd), 0);
	cr_expect(keys_created(a));
	cr_expect(!keys_created(b));
	cr_expect_str_eq(keys_id(a), keys_id(b));
	cr_expect_eq(mode_of(at("var/keys")), 0700);
	keys_free(a);
	keys_free(b);
}

Test(keysdir, modes_do_not_depend_on_umask)
{
	char file[300];
	mode_t old = umask(0277);
	struct keys *k = NULL;
	char err[KEYS_ERR_MAX] = "";
	int rc = keys_init(at("keys"), &k, err, sizeof(err));

	umask(old);
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_eq(mode_of(at("keys")), 0700);
	snprintf(file, sizeof(file), "%s/hash.key", at("keys"));
	cr_expect_eq(mode_of(file), 0600);
	keys_free(k);
}

Test(keysdir, second_init_loads_the_same_keys)
{
	char dir[256], before[256], after[256], file[300];
	struct keys *a, *b, *c = NULL;
	char err[KEYS_ERR_MAX] = "";
	uint8_t dk[KEYS_DATA_KEY_BYTES], back[KEYS_DATA_KEY_BYTES];
	uint8_t blob[KEYS_WRAPPED_BYTES];
	char t1[KEYS_TOMBSTONE_HEX + 1], t2[KEYS_TOMBSTONE_HEX + 1];

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	a = init_ok(dir);
	snprintf(file, sizeof(file), "%s/wrap.keys", dir);
	read_file(file, before, sizeof(before));
	b = init_ok(dir);
	cr_expect(!keys_created(b));
	read_file(file, after, sizeof(after));
	cr_expect_str_eq(before, after, "wrap.keys must never be rewritten");
	cr_expect_eq(memcmp(keys_public_key(a), keys_public_key(b),
			    KEYS_PUBLIC_BYTES),
		     0);
	cr_expect_str_eq(keys_id(a), keys_id(b));

	/* The wrap key is the same: what one wrapped, the other unwraps. */
	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(a, dk, blob), 0);
	cr_assert_eq(keys_unwrap(b, blob, sizeof(blob), back), 0);
	cr_expect_eq(memcmp(dk, back, sizeof(dk)), 0);
	cr_assert_eq(keys_tombstone(a, "alias", "x@y", 3, t1), 0);
	cr_assert_eq(keys_tombstone(b, "alias", "x@y", 3, t2), 0);
	cr_expect_str_eq(t1, t2);

	/* keys_load reads the same. */
	cr_assert_eq(keys_load(dir, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(keys_id(c), keys_id(a));
	cr_expect(!keys_created(c));
	keys_free(a);
	keys_free(b);
	keys_free(c);
}

Test(keysdir, refuses_a_dir_open_to_others)
{
	char file[300];

	cr_assert_eq(mkdir(at("open"), 0755), 0);
	chmod(at("open"), 0755);
	expect_init_fails(at("open"), "group or others");
	/* Nothing was written into it. */
	snprintf(file, sizeof(file), "%s/signing.key", at("open"));
	cr_expect_neq(access(file, F_OK), 0);

	cr_assert_eq(mkdir(at("group"), 0700), 0);
	chmod(at("group"), 0710);
	expect_init_fails(at("group"), "mode 0710");
}

Test(keysdir, refuses_a_key_file_open_to_others)
{
	char dir[256], file[300];
	struct keys *k;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	k = init_ok(dir);
	keys_free(k);
	snprintf(file, sizeof(file), "%s/hash.key", dir);
	chmod(file, 0640);
	expect_init_fails(dir, "hash.key is accessible to group or others");
}

Test(keysdir, refuses_a_half_restored_dir)
{
	char dir[256], file[300], before[256], after[256];
	struct keys *k;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	k = init_ok(dir);
	keys_free(k);
	snprintf(file, sizeof(file), "%s/signing.key", dir);
	read_file(file, before, sizeof(before));
	snprintf(file, sizeof(file), "%s/wrap.keys", dir);
	cr_assert_eq(unlink(file), 0);
	expect_init_fails(
		dir, "holds signing.key, hash.key, kek_id but no wrap.keys");
	cr_expect_neq(access(file, F_OK), 0, "no new wrap key may appear");
	snprintf(file, sizeof(file), "%s/signing.key", dir);
	read_file(file, after, sizeof(after));
	cr_expect_str_eq(before, after);
}

Test(keysdir, refuses_bad_key_files)
{
	char dir[256], file[300];
	struct keys *k;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	k = init_ok(dir);
	keys_free(k);
	snprintf(file, sizeof(file), "%s/hash.key", dir);
	write_file(file, "not base64 at all\n", 0600);
	expect_init_fails(dir, "hash.key is not one line of base64");
	/* Base64 of 31 bytes. */
	write_file(file, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		   0600);
	expect_init_fails(dir, "hash.key is not one line of base64");
	/* Two lines. */
	write_file(file, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
		   0600);
	expect_init_fails(dir, "hash.key is not one line of base64");
	/* Without its final newline, still one line. */
	write_file(file, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0600);
	keys_free(init_ok(dir));
	/* wrap.keys: 1 to 4 lines, no empty one. */
	snprintf(file, sizeof(file), "%s/wrap.keys", dir);
	write_file(file, "", 0600);
	expect_init_fails(dir, "wrap.keys is not 1 to 4 lines");
	write_file(file,
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		   0600);
	expect_init_fails(dir, "wrap.keys is not 1 to 4 lines");
	write_file(file,
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		   0600);
	expect_init_fails(dir, "wrap.keys is not 1 to 4 lines");
	write_file(file,
		   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		   "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		   0600);
	keys_free(init_ok(dir));
	snprintf(file, sizeof(file), "%s/kek_id", dir);
	write_file(file, "0123456789ABCDEF\n", 0600);
	expect_init_fails(dir, "kek_id is not one line of 16 lowercase hex");
}

Test(keysdir, refuses_a_foreign_key_id)
{
	char dir[256], file[300];
	struct keys *k;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	k = init_ok(dir);
	keys_free(k);
	snprintf(file, sizeof(file), "%s/key_id", dir);
	write_file(file, "0123456789abcdef\n", 0600);
	expect_init_fails(dir, "different key sets");
	/* A missing key_id is derived again. */
	cr_assert_eq(unlink(file), 0);
	k = init_ok(dir);
	cr_expect_eq(access(file, F_OK), 0);
	keys_free(k);
}

Test(keysdir, refuses_a_symlinked_key)
{
	char dir[256], file[300], target[300];
	struct keys *k;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	k = init_ok(dir);
	keys_free(k);
	snprintf(file, sizeof(file), "%s/wrap.keys", dir);
	snprintf(target, sizeof(target), "%s/wrap.elsewhere", dir);
	cr_assert_eq(rename(file, target), 0);
	cr_assert_eq(symlink(target, file), 0);
	expect_init_fails(dir, "wrap.keys is not a regular file");
}

Test(keysdir, stale_temporary_files_are_ignored)
{
	char file[300];

	cr_assert_eq(mkdir(at("keys"), 0700), 0);
	snprintf(file, sizeof(file), "%s/signing.key.tmp", at("keys"));
	write_file(file, "half written", 0600);
	keys_free(init_ok(at("keys")));
	cr_expect_neq(access(file, F_OK), 0);
}

Test(keysdir, load_never_creates)
{
	struct keys *k = NULL;
	char err[KEYS_ERR_MAX] = "";

	cr_expect_eq(keys_load(at("none"), &k, err, sizeof(err)), -1);
	cr_expect(strstr(err, "cmr init") != NULL, "%s", err);
	cr_expect_neq(access(at("none"), F_OK), 0);
	cr_assert_eq(mkdir(at("empty"), 0700), 0);
	cr_expect_eq(keys_load(at("empty"), &k, err, sizeof(err)), -1);
	cr_expect(strstr(err, "no keys in") != NULL, "%s", err);
	cr_expect_null(k);
}

Test(keysdir, refuses_a_file_as_dir)
{
	write_file(at("file"), "x", 0600);
	expect_init_fails(at("file"), "cannot open");
	expect_init_fails("", "no keys directory");
}

/* ---- Keys from bytes: wrap, seal, sign, tombstones ---- */

static struct keys *fixed_keys(uint8_t fill)
{
	uint8_t seed[KEYS_SEED_BYTES], kek[KEYS_KEK_BYTES];
	struct keys *k;

	memset(seed, fill, sizeof(seed));
	memset(kek, fill ^ 0xFF, sizeof(kek));
	cr_assert_eq(keys_from_bytes(seed, kek, &k), 0);
	return k;
}

Test(keys, from_bytes_is_deterministic)
{
	struct keys *a = fixed_keys(1), *b = fixed_keys(1), *c = fixed_keys(2);
	size_t i;

	cr_expect_eq(memcmp(keys_public_key(a), keys_public_key(b),
			    KEYS_PUBLIC_BYTES),
		     0);
	cr_expect_str_eq(keys_id(a), keys_id(b));
	cr_expect_str_neq(keys_id(a), keys_id(c));
	for (i = 0; i < KEYS_ID_LEN; i++)
		cr_expect(strchr("0123456789abcdef", keys_id(a)[i]));
	keys_free(a);
	keys_free(b);
	keys_free(c);
	keys_free(NULL);
}

Test(keys, signatures_verify_with_the_public_key)
{
	struct keys *k = fixed_keys(3);
	uint8_t sig[KEYS_SIG_BYTES];
	const char msg[] = "cmr ledger test\n";

	cr_assert_eq(keys_sign(k, msg, strlen(msg), sig), 0);
	cr_expect_eq(crypto_sign_verify_detached(sig, (const uint8_t *)msg,
						 strlen(msg),
						 keys_public_key(k)),
		     0);
	sig[0] ^= 1;
	cr_expect_neq(crypto_sign_verify_detached(sig, (const uint8_t *)msg,
						  strlen(msg),
						  keys_public_key(k)),
		      0);
	keys_free(k);
}

Test(keys, wrap_unwrap_round_trip)
{
	struct keys *k = fixed_keys(4);
	uint8_t dk[KEYS_DATA_KEY_BYTES], back[KEYS_DATA_KEY_BYTES];
	uint8_t b1[KEYS_WRAPPED_BYTES], b2[KEYS_WRAPPED_BYTES];

	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(k, dk, b1), 0);
	cr_assert_eq(keys_wrap(k, dk, b2), 0);
	cr_expect_neq(memcmp(b1, b2, sizeof(b1)), 0, "fresh nonce each time");
	cr_assert_eq(keys_unwrap(k, b1, sizeof(b1), back), 0);
	cr_expect_eq(memcmp(dk, back, sizeof(dk)), 0);
	cr_assert_eq(keys_unwrap(k, b2, sizeof(b2), back), 0);
	cr_expect_eq(memcmp(dk, back, sizeof(dk)), 0);
	keys_free(k);
}

Test(keys, tampered_wrapped_key_fails)
{
	struct keys *k = fixed_keys(5), *other = fixed_keys(6);
	uint8_t dk[KEYS_DATA_KEY_BYTES], back[KEYS_DATA_KEY_BYTES];
	uint8_t blob[KEYS_WRAPPED_BYTES], zero[KEYS_DATA_KEY_BYTES] = { 0 };
	size_t i;

	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(k, dk, blob), 0);
	/* Every byte counts: nonce, ciphertext and tag. */
	for (i = 0; i < sizeof(blob); i++) {
		blob[i] ^= 0x40;
		memset(back, 0xAA, sizeof(back));
		cr_expect_eq(keys_unwrap(k, blob, sizeof(blob), back), -1,
			     "byte %zu", i);
		cr_expect_eq(memcmp(back, zero, sizeof(back)), 0);
		blob[i] ^= 0x40;
	}
	cr_expect_eq(keys_unwrap(k, blob, sizeof(blob) - 1, back), -1);
	cr_expect_eq(keys_unwrap(k, NULL, sizeof(blob), back), -1);
	cr_expect_eq(keys_unwrap(other, blob, sizeof(blob), back), -1);
	cr_expect_eq(keys_unwrap(k, blob, sizeof(blob), back), 0);
	keys_free(k);
	keys_free(other);
}

Test(keys, seal_open_round_trip)
{
	static const char *values[] = { "", "Ada Lovelace", "+44 20 7946 0958",
					"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80" };
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	char *sealed, *plain;
	size_t i, len;

	cr_assert_eq(keys_new_data_key(dk), 0);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		cr_assert_eq(
			keys_seal(dk, values[i], strlen(values[i]), &sealed),
			0);
		cr_expect_eq(strspn(sealed, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
					    "ghijklmnopqrstuvwxyz0123456789-_"),
			     strlen(sealed), "base64url, no padding: %s",
			     sealed);
		cr_expect_null(strstr(sealed, values[i][0] ? values[i] : "="));
		cr_assert_eq(keys_open(dk, sealed, &plain, &len), 0);
		cr_expect_eq(len, strlen(values[i]));
		cr_expect_str_eq(plain, values[i]);
		keys_free_plain(plain, len);
		free(sealed);
	}
}

Test(keys, seal_binary_and_large)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	char *big = malloc(KEYS_SEAL_MAX), *sealed, *plain;
	size_t len;

	cr_assert_not_null(big);
	cr_assert_eq(keys_new_data_key(dk), 0);
	randombytes_buf(big, KEYS_SEAL_MAX);
	big[7] = '\0';
	cr_assert_eq(keys_seal(dk, big, KEYS_SEAL_MAX, &sealed), 0);
	cr_assert_eq(keys_open(dk, sealed, &plain, &len), 0);
	cr_expect_eq(len, KEYS_SEAL_MAX);
	cr_expect_eq(memcmp(plain, big, len), 0);
	keys_free_plain(plain, len);
	free(sealed);
	cr_expect_eq(keys_seal(dk, big, KEYS_SEAL_MAX + 1, &sealed), -1);
	cr_expect_null(sealed);
	free(big);
}

Test(keys, open_refuses_tampering)
{
	uint8_t dk[KEYS_DATA_KEY_BYTES], other[KEYS_DATA_KEY_BYTES];
	char *sealed, *plain = (char *)1, *bad;
	size_t len, n, i;

	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_new_data_key(other), 0);
	cr_assert_eq(keys_seal(dk, "secret value", 12, &sealed), 0);
	n = strlen(sealed);
	bad = malloc(n + 2);
	cr_assert_not_null(bad);
	for (i = 0; i < n; i++) {
		memcpy(bad, sealed, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		cr_expect_eq(keys_open(dk, bad, &plain, &len), -1, "%zu", i);
		cr_expect_null(plain);
	}
	cr_expect_eq(keys_open(other, sealed, &plain, &len), -1);
	memcpy(bad, sealed, n + 1);
	bad[n - 1] = '\0';
	cr_expect_eq(keys_open(dk, bad, &plain, &len), -1);
	memcpy(bad, sealed, n);
	bad[n] = '=';
	bad[n + 1] = '\0';
	cr_expect_eq(keys_open(dk, bad, &plain, &len), -1);
	cr_expect_eq(keys_open(dk, "", &plain, &len), -1);
	cr_expect_eq(keys_open(dk, "AAAA", &plain, &len), -1);
	cr_expect_eq(keys_open(dk, "a+b/", &plain, &len), -1);
	cr_expect_eq(keys_open(dk, NULL, &plain, &len), -1);
	cr_expect_eq(keys_open(dk, sealed, &plain, &len), 0);
	keys_free_plain(plain, len);
	free(bad);
	free(sealed);
}

Test(keys, tombstones_are_stable_and_keyed)
{
	struct keys *a = fixed_keys(7), *a2 = fixed_keys(7), *b = fixed_keys(8);
	char t[5][KEYS_TOMBSTONE_HEX + 1];
	const char *alias = "acme.k3x9q2r7m4vt8wzp@relay.example";

	cr_assert_eq(keys_tombstone(a, "alias", alias, strlen(alias), t[0]), 0);
	cr_assert_eq(keys_tombstone(a2, "alias", alias, strlen(alias), t[1]),
		     0);
	cr_expect_str_eq(t[0], t[1]);
	cr_expect_eq(strlen(t[0]), KEYS_TOMBSTONE_HEX);
	cr_expect_eq(strspn(t[0], "0123456789abcdef"), KEYS_TOMBSTONE_HEX);
	/* Another KEK, another tombstone. */
	cr_assert_eq(keys_tombstone(b, "alias", alias, strlen(alias), t[2]), 0);
	cr_expect_str_neq(t[0], t[2]);
	/* The kind separates uses, and cannot run into the value. */
	cr_assert_eq(keys_tombstone(a, "email", alias, strlen(alias), t[3]), 0);
	cr_expect_str_neq(t[0], t[3]);
	cr_assert_eq(keys_tombstone(a, "ab", "c", 1, t[3]), 0);
	cr_assert_eq(keys_tombstone(a, "a", "bc", 2, t[4]), 0);
	cr_expect_str_neq(t[3], t[4]);
	/* Not a plain hash of the value. */
	{
		uint8_t h[32];
		char hex[65];

		crypto_generichash(h, 32, (const uint8_t *)alias, strlen(alias),
				   NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), h, 32);
		cr_expect_str_neq(t[0], hex);
	}
	cr_expect_eq(keys_tombstone(a, "", "x", 1, t[4]), -1);
	cr_expect_eq(keys_tombstone(a, NULL, "x", 1, t[4]), -1);
	cr_expect_eq(keys_tombstone(a, "alias", "", 0, t[4]), 0);
	keys_free(a);
	keys_free(a2);
	keys_free(b);
}

/* ---- Key ids, rotation, matching a store's records ---- */

static struct keys *keys_of(uint8_t seed_byte, uint8_t kek_byte)
{
	uint8_t seed[KEYS_SEED_BYTES], kek[KEYS_KEK_BYTES];
	struct keys *k = NULL;

	memset(seed, seed_byte, sizeof(seed));
	memset(kek, kek_byte, sizeof(kek));
	cr_assert_eq(keys_from_bytes(seed, kek, &k), 0);
	return k;
}

static bool is_hex_id(const char *id)
{
	if (strlen(id) != KEYS_ID_LEN)
		return false;
	for (size_t i = 0; i < KEYS_ID_LEN; i++)
		if (!strchr("0123456789abcdef", id[i]))
			return false;
	return true;
}

Test(keys, kek_id_names_the_kek_only)
{
	struct keys *a = keys_of(1, 7), *b = keys_of(2, 7), *c = keys_of(1, 8);

	cr_expect(is_hex_id(keys_kek_id(a)), "%s", keys_kek_id(a));
	/* The same KEK under another signing key: the same id. */
	cr_expect_str_eq(keys_kek_id(a), keys_kek_id(b));
	cr_expect_str_neq(keys_kek_id(a), keys_kek_id(c));
	/* Keyed: not the unkeyed hash a store could compute, nor the
	 * signing key's id. */
	cr_expect_str_neq(keys_kek_id(a), keys_id(a));
	keys_free(a);
	keys_free(b);
	keys_free(c);
}

Test(keys, match_against_recorded_ids)
{
	struct keys *k = keys_of(1, 7), *other = keys_of(2, 8);
	const char *unknown = "x";
	const char *mine[] = { keys_id(k) };
	const char *theirs[] = { keys_id(k), keys_id(other) };

	/* Nothing recorded yet; the same set; a set the store lacks. */
	cr_expect_eq(keys_match(k, NULL, NULL, 0, &unknown), KEYS_MATCH_OK);
	cr_expect_null(unknown);
	cr_expect_eq(keys_match(k, keys_kek_id(k), mine, 1, NULL),
		     KEYS_MATCH_OK);
	cr_expect_eq(keys_match(k, keys_kek_id(k), NULL, 0, NULL),
		     KEYS_MATCH_OK);
	/* Another KEK, whatever the signing keys. */
	cr_expect_eq(keys_match(k, keys_kek_id(other), mine, 1, NULL),
		     KEYS_MATCH_OTHER_KEK);
	/* A signing key the store recorded and k does not know. */
	cr_expect_eq(keys_match(k, keys_kek_id(k), theirs, 2, &unknown),
		     KEYS_MATCH_UNKNOWN_SIGNING);
	cr_expect_str_eq(unknown, keys_id(other));
	keys_free(k);
	keys_free(other);
}

Test(keysdir, absent_means_no_key_file)
{
	struct keys *k;

	cr_expect(keys_absent(at("nowhere")));
	cr_assert_eq(mkdir(at("empty"), 0700), 0);
	cr_expect(keys_absent(at("empty")));
	k = init_ok(at("full"));
	keys_free(k);
	cr_expect_not(keys_absent(at("full")));
	/* Half a directory is not absent: keys_load says what is wrong. */
	cr_assert_eq(unlink(at("full/wrap.keys")), 0);
	cr_expect_not(keys_absent(at("full")));
	write_file(at("file"), "x", 0600);
	cr_expect_not(keys_absent(at("file")));
}

Test(keysdir, rotate_keeps_the_kek_and_every_public_key)
{
	char dir[256], old_id[KEYS_ID_LEN + 1], buf[64], err[KEYS_ERR_MAX];
	uint8_t old_pk[KEYS_PUBLIC_BYTES], sig[KEYS_SIG_BYTES];
	struct keys *k = init_ok(at("keys")), *r = NULL, *again = NULL;
	uint8_t dk[KEYS_DATA_KEY_BYTES], back[KEYS_DATA_KEY_BYTES],
		wrapped[KEYS_WRAPPED_BYTES];

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	snprintf(old_id, sizeof(old_id), "%s", keys_id(k));
	memcpy(old_pk, keys_public_key(k), sizeof(old_pk));
	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(k, dk, wrapped), 0);
	cr_assert_eq(keys_sign(k, "head", 4, sig), 0);

	cr_assert_eq(keys_rotate(dir, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_neq(keys_id(r), old_id);
	cr_expect_str_eq(keys_kek_id(r), keys_kek_id(k));
	cr_expect_eq(keys_signing_count(r), 2);
	cr_expect_str_eq(keys_signing_id(r, 0), keys_id(r));
	cr_expect_str_eq(keys_signing_id(r, 1), old_id);
	cr_expect_null(keys_signing_id(r, 2));
	cr_expect_eq(memcmp(keys_public_of(r, old_id), old_pk, 32), 0);
	/* What the old key signed still verifies with its public half; the
	 * KEK still unwraps the data keys. */
	cr_expect_eq(crypto_sign_verify_detached(sig, (const uint8_t *)"head",
						 4, keys_public_of(r, old_id)),
		     0);
	cr_expect_eq(keys_unwrap(r, wrapped, sizeof(wrapped), back), 0);
	cr_expect_eq(memcmp(back, dk, sizeof(dk)), 0);
	/* The files: the retired key private like the others, key_id new. */
	snprintf(buf, sizeof(buf), "keys/retired-%s.pub", old_id);
	cr_expect_eq(mode_of(at(buf)), 0600);
	read_file(at("keys/key_id"), buf, sizeof(buf));
	cr_expect_eq(strncmp(buf, keys_id(r), KEYS_ID_LEN), 0);
	/* A load sees the same set; a second rotation adds to it. */
	cr_assert_eq(keys_load(dir, &again, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(keys_id(again), keys_id(r));
	cr_expect_eq(keys_signing_count(again), 2);
	keys_free(again);
	cr_assert_eq(keys_rotate(dir, &again, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(keys_signing_count(again), 3);
	cr_expect_not_null(keys_public_of(again, old_id));
	cr_expect_not_null(keys_public_of(again, keys_id(r)));
	keys_free(again);
	keys_free(r);
	keys_free(k);
}

Test(keysdir, a_rotation_cut_before_key_id_still_loads)
{
	char dir[256], err[KEYS_ERR_MAX], old_line[64];
	struct keys *k = init_ok(at("keys")), *r = NULL, *l = NULL;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	read_file(at("keys/key_id"), old_line, sizeof(old_line));
	cr_assert_eq(keys_rotate(dir, &r, err, sizeof(err)), 0, "%s", err);
	/* As if the rotation had stopped before key_id was replaced. */
	write_file(at("keys/key_id"), old_line, 0600);
	cr_assert_eq(keys_load(dir, &l, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(keys_id(l), keys_id(r));
	keys_free(l);
	/* keys_init repairs it. */
	l = init_ok(dir);
	keys_free(l);
	read_file(at("keys/key_id"), old_line, sizeof(old_line));
	cr_expect_eq(strncmp(old_line, keys_id(r), KEYS_ID_LEN), 0);
	keys_free(r);
	keys_free(k);
}

Test(keysdir, refuses_a_retired_key_under_another_name)
{
	char dir[256], err[KEYS_ERR_MAX], from[300], to[300];
	struct keys *k = init_ok(at("keys")), *r = NULL;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	cr_assert_eq(keys_rotate(dir, &r, err, sizeof(err)), 0, "%s", err);
	snprintf(from, sizeof(from), "%s/retired-%s.pub", dir, keys_id(k));
	snprintf(to, sizeof(to), "%s/retired-0123456789abcdef.pub", dir);
	cr_assert_eq(rename(from, to), 0);
	keys_free(r);
	r = (struct keys *)1;
	cr_expect_eq(keys_load(dir, &r, err, sizeof(err)), -1);
	cr_expect_null(r);
	cr_expect(strstr(err, "not the one its name says") != NULL, "%s", err);
	keys_free(k);
}

/* ---- Rotating the wrap key ---- */

static struct keys *load_ok(const char *dir)
{
	struct keys *k = NULL;
	char err[KEYS_ERR_MAX] = "";

	cr_assert_eq(keys_load(dir, &k, err, sizeof(err)), 0, "%s", err);
	return k;
}

static bool unwraps(const struct keys *k, const uint8_t *blob, size_t len,
		    const uint8_t dk[KEYS_DATA_KEY_BYTES])
{
	uint8_t back[KEYS_DATA_KEY_BYTES];
	bool ok = keys_unwrap(k, blob, len, back) == 0 &&
		  memcmp(back, dk, sizeof(back)) == 0;
	sodium_memzero(back, sizeof(back));
	return ok;
}

static size_t lines_of(const char *path)
{
	char buf[512];
	size_t n = 0, len = read_file(path, buf, sizeof(buf));

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

Test(keysdir, wrap_rotation_retires_the_old_wrap_key)
{
	char dir[256], err[KEYS_ERR_MAX], id0[17], id1[17];
	char t0[KEYS_TOMBSTONE_HEX + 1], t1[KEYS_TOMBSTONE_HEX + 1];
	uint8_t dk[KEYS_DATA_KEY_BYTES], old[KEYS_WRAPPED_BYTES],
		new[KEYS_WRAPPED_BYTES];
	struct keys *k = init_ok(at("keys")), *r = NULL, *again = NULL,
		    *e = NULL;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(k, dk, old), 0);
	cr_expect(keys_wrapped_current(k, old, sizeof(old)));
	cr_expect_eq(keys_wrap_retiring(k), 0);
	keys_wrap_id(k, id0);
	cr_assert_eq(keys_tombstone(k, "alias", "a@b", 3, t0), 0);

	cr_assert_eq(keys_wrap_rotate_begin(dir, &r, err, sizeof(err)), 0, "%s",
		     err);
	keys_wrap_id(r, id1);
	cr_expect_str_neq(id0, id1);
	cr_expect_eq(keys_wrap_retiring(r), 1);
	cr_expect_eq(lines_of(at("keys/wrap.keys")), 2);
	/* The old key still opens; it is not the current one any more. */
	cr_expect(unwraps(r, old, sizeof(old), dk));
	cr_expect_not(keys_wrapped_current(r, old, sizeof(old)));
	cr_assert_eq(keys_wrap(r, dk, new), 0);
	cr_expect(keys_wrapped_current(r, new, sizeof(new)));
	/* Begun again (an interrupted rotation run twice): the same key. */
	cr_assert_eq(keys_wrap_rotate_begin(dir, &again, err, sizeof(err)), 0,
		     "%s", err);
	keys_wrap_id(again, id0);
	cr_expect_str_eq(id0, id1);
	keys_free(again);

	cr_assert_eq(keys_wrap_rotate_end(dir, &e, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(keys_wrap_retiring(e), 0);
	cr_expect_eq(lines_of(at("keys/wrap.keys")), 1);
	cr_expect_not(unwraps(e, old, sizeof(old), dk),
		      "the retired wrap key is gone");
	cr_expect(unwraps(e, new, sizeof(new), dk));
	/* What the store recorded and hashed stays the same. */
	cr_expect_str_eq(keys_kek_id(e), keys_kek_id(k));
	cr_assert_eq(keys_tombstone(e, "alias", "a@b", 3, t1), 0);
	cr_expect_str_eq(t0, t1);
	cr_expect_str_eq(keys_id(e), keys_id(k));
	keys_free(e);
	/* Ended again: nothing to do. */
	cr_assert_eq(keys_wrap_rotate_end(dir, &e, err, sizeof(err)), 0, "%s",
		     err);
	keys_free(e);
	e = load_ok(dir);
	cr_expect(unwraps(e, new, sizeof(new), dk));
	keys_free(e);
	keys_free(r);
	keys_free(k);
}

/* A directory from before wrap keys: signing.key, key_id and a kek. */
static void make_old_dir(const char *dir, uint8_t kek[KEYS_KEK_BYTES])
{
	char file[300], line[64];

	keys_free(init_ok(dir));
	for (size_t i = 0; i < 3; i++) {
		static const char *const gone[] = { "wrap.keys", "hash.key",
						    "kek_id" };
		snprintf(file, sizeof(file), "%s/%s", dir, gone[i]);
		cr_assert_eq(unlink(file), 0);
	}
	randombytes_buf(kek, KEYS_KEK_BYTES);
	sodium_bin2base64(line, sizeof(line), kek, KEYS_KEK_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	strcat(line, "\n");
	snprintf(file, sizeof(file), "%s/kek", dir);
	write_file(file, line, 0600);
}

Test(keysdir, a_kek_directory_loads_and_its_first_wrap_rotation_removes_it)
{
	char dir[256], err[KEYS_ERR_MAX], kek_id[KEYS_ID_LEN + 1];
	char t0[KEYS_TOMBSTONE_HEX + 1], t1[KEYS_TOMBSTONE_HEX + 1];
	uint8_t kek[KEYS_KEK_BYTES], seed[KEYS_SEED_BYTES] = { 0 };
	uint8_t dk[KEYS_DATA_KEY_BYTES], v1[KEYS_WRAPPED_V1_BYTES],
		under_kek[KEYS_WRAPPED_BYTES], new[KEYS_WRAPPED_BYTES];
	struct keys *k, *fixed, *r = NULL, *e = NULL;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	make_old_dir(dir, kek);
	k = load_ok(dir);
	/* Hashes and the id are the kek's, as they always were. */
	cr_assert_eq(keys_from_bytes(seed, kek, &fixed), 0);
	cr_expect_str_eq(keys_kek_id(k), keys_kek_id(fixed));
	cr_assert_eq(keys_tombstone(k, "alias", "a@b", 3, t0), 0);
	cr_assert_eq(keys_tombstone(fixed, "alias", "a@b", 3, t1), 0);
	cr_expect_str_eq(t0, t1);
	keys_free(fixed);
	snprintf(kek_id, sizeof(kek_id), "%s", keys_kek_id(k));
	/* A data key wrapped the old way (nonce ‖ secretbox under the kek)
	 * and one wrapped now: the kek wraps until a rotation. */
	cr_assert_eq(keys_new_data_key(dk), 0);
	randombytes_buf(v1, KEYS_NONCE_BYTES);
	cr_assert_eq(crypto_secretbox_easy(v1 + KEYS_NONCE_BYTES, dk,
					   sizeof(dk), v1, kek),
		     0);
	cr_expect(unwraps(k, v1, sizeof(v1), dk));
	cr_assert_eq(keys_wrap(k, dk, under_kek), 0);
	cr_expect(unwraps(k, under_kek, sizeof(under_kek), dk));
	cr_expect(keys_wrapped_current(k, under_kek, sizeof(under_kek)));
	cr_expect_eq(keys_wrap_retiring(k), 0);

	cr_assert_eq(keys_wrap_rotate_begin(dir, &r, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(keys_wrap_retiring(r), 1, "the kek retires");
	cr_expect_eq(lines_of(at("keys/wrap.keys")), 1);
	cr_expect(unwraps(r, v1, sizeof(v1), dk));
	cr_expect(unwraps(r, under_kek, sizeof(under_kek), dk));
	cr_expect_not(keys_wrapped_current(r, v1, sizeof(v1)));
	cr_expect_not(keys_wrapped_current(r, under_kek, sizeof(under_kek)));
	cr_assert_eq(keys_wrap(r, dk, new), 0);

	cr_assert_eq(keys_wrap_rotate_end(dir, &e, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_neq(access(at("keys/kek"), F_OK), 0, "the kek is gone");
	cr_expect_eq(mode_of(at("keys/hash.key")), 0600);
	cr_expect_eq(mode_of(at("keys/kek_id")), 0600);
	cr_expect_not(unwraps(e, v1, sizeof(v1), dk));
	cr_expect_not(unwraps(e, under_kek, sizeof(under_kek), dk));
	cr_expect(unwraps(e, new, sizeof(new), dk));
	cr_expect_str_eq(keys_kek_id(e), kek_id);
	cr_assert_eq(keys_tombstone(e, "alias", "a@b", 3, t1), 0);
	cr_expect_str_eq(t0, t1);
	keys_free(e);
	e = load_ok(dir);
	cr_expect_str_eq(keys_kek_id(e), kek_id);
	keys_free(e);
	keys_free(r);
	keys_free(k);
}

Test(keysdir, a_kek_beside_hash_files_must_be_their_source)
{
	char dir[256], file[300];
	uint8_t kek[KEYS_KEK_BYTES];
	struct keys *k;

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	make_old_dir(dir, kek);
	/* As a rotation that stopped before removing the kek leaves it. */
	snprintf(file, sizeof(file), "%s/kek_id", dir);
	k = load_ok(dir);
	char line[32];
	snprintf(line, sizeof(line), "%s\n", keys_kek_id(k));
	write_file(file, line, 0600);
	keys_free(k);
	keys_free(load_ok(dir));
	write_file(file, "0123456789abcdef\n", 0600);
	expect_init_fails(dir, "different key sets");
}

Test(keys, unwrap_refuses_an_unknown_wrap_key_and_bad_lengths)
{
	struct keys *a = fixed_keys(1), *b = fixed_keys(2);
	uint8_t dk[KEYS_DATA_KEY_BYTES], blob[KEYS_WRAPPED_BYTES],
		back[KEYS_DATA_KEY_BYTES];

	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(a, dk, blob), 0);
	cr_expect_eq(blob[0], KEYS_WRAPPED_V2);
	cr_expect_eq(keys_unwrap(b, blob, sizeof(blob), back), -1);
	cr_expect_eq(keys_unwrap(a, blob, sizeof(blob) - 1, back), -1);
	cr_expect_eq(keys_unwrap(a, blob, KEYS_WRAPPED_V1_BYTES, back), -1);
	blob[0] = 3;
	cr_expect_eq(keys_unwrap(a, blob, sizeof(blob), back), -1);
	keys_free(a);
	keys_free(b);
}

/* ---- The store a directory serves (its file `store`) ---- */

#define STORE_A "0123456789abcdef"
#define STORE_B "fedcba9876543210"

Test(keysdir, binds_to_one_store, .init = setup_tmp, .fini = teardown_tmp)
{
	struct keys *k = NULL;
	char err[KEYS_ERR_MAX];
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	cr_assert_eq(keys_init(dir, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_empty(keys_store_id(k));
	keys_free(k);
	cr_assert_eq(keys_store_bind(dir, STORE_A, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(mode_of(at("keys/store")), 0600);
	cr_assert_eq(keys_store_bind(dir, STORE_A, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(keys_store_bind(dir, STORE_B, err, sizeof(err)), -1);
	cr_assert(strstr(err, STORE_A) && strstr(err, STORE_B), "%s", err);
	cr_assert_eq(keys_store_bind(dir, "short", err, sizeof(err)), -1);
	cr_assert_eq(keys_load(dir, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(keys_store_id(k), STORE_A);
	keys_free(k);
}

/* Processes that bind at once (nodes started together after an upgrade):
 * each comes out bound to the same store, and no temporary file stays. */
Test(keysdir, binds_once_when_raced, .init = setup_tmp, .fini = teardown_tmp)
{
	struct keys *k = NULL;
	char err[KEYS_ERR_MAX];
	char dir[256];
	pid_t kids[8];

	snprintf(dir, sizeof(dir), "%s", at("keys"));
	cr_assert_eq(keys_init(dir, &k, err, sizeof(err)), 0, "%s", err);
	keys_free(k);
	for (int i = 0; i < 8; i++) {
		kids[i] = fork();
		cr_assert_geq(kids[i], 0);
		if (kids[i] == 0)
			_exit(keys_store_bind(dir, STORE_A, err, sizeof(err)) ==
					      0
				      ? 0
				      : 1);
	}
	for (int i = 0; i < 8; i++) {
		int status;
		cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "process %d failed to bind", i);
	}
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	for (struct dirent *de; (de = readdir(d));)
		cr_assert_null(strstr(de->d_name, ".tmp"), "%s left",
			       de->d_name);
	closedir(d);
	cr_assert_eq(keys_load(dir, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(keys_store_id(k), STORE_A);
	keys_free(k);
}
