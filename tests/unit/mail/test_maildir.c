/*
 * test_maildir.c — the Maildir adapter (maildir.h): modified UTF-7 folder
 * names (RFC 3501 §5.1.3), Maildir++ directories, and the file operations
 * on a real directory: a message lands whole in new/ (or cur/ when read),
 * is found again by its stable name also after a reader renamed it with
 * flags, moves and goes; a symbolic link planted anywhere in the tree is
 * refused, never followed; erasure removes the person's tree and nothing
 * outside it.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/maildir.h"

static char root[256];

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/cmr-test-maildir-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

static bool exists(const char *rel)
{
	char path[600];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

Test(maildir, mutf7)
{
	char out[128];
	cr_assert(maildir_mutf7("Shopping list", out, sizeof(out)));
	cr_assert_str_eq(out, "Shopping list");
	cr_assert(maildir_mutf7("A&B", out, sizeof(out)));
	cr_assert_str_eq(out, "A&-B");
	/* RFC 3501's example: "~peter/mail/台北/日本語" has these runs. */
	cr_assert(maildir_mutf7("台北", out, sizeof(out)));
	cr_assert_str_eq(out, "&U,BTFw-");
	cr_assert(maildir_mutf7("日本語", out, sizeof(out)));
	cr_assert_str_eq(out, "&ZeVnLIqe-");
	cr_assert(maildir_mutf7("Grüße", out, sizeof(out)));
	cr_assert_str_eq(out, "Gr&APwA3w-e");
	cr_assert(maildir_mutf7("😀", out, sizeof(out))); /* a surrogate pair */
	cr_assert_str_eq(out, "&2D3eAA-");
	/* What could leave the tree or split the hierarchy is refused. */
	cr_assert_not(maildir_mutf7("../etc", out, sizeof(out)));
	cr_assert_not(maildir_mutf7("a/b", out, sizeof(out)));
	cr_assert_not(maildir_mutf7("a.b", out, sizeof(out)));
	cr_assert_not(maildir_mutf7("tab\there", out, sizeof(out)));
	cr_assert_not(maildir_mutf7("", out, sizeof(out)));
	cr_assert_not(maildir_mutf7("\xc3", out, sizeof(out))); /* cut */
	cr_assert_not(
		maildir_mutf7("\xc0\xaf", out, sizeof(out))); /* overlong */
	cr_assert_not(maildir_mutf7("\xed\xa0\x80", out, sizeof(out)));
	cr_assert_not(maildir_mutf7("Shopping", out, 5)); /* does not fit */
}

Test(maildir, folder_dirs)
{
	char out[128];
	cr_assert(maildir_folder_dir("inbox", out, sizeof(out)));
	cr_assert_str_eq(out, "");
	cr_assert(maildir_folder_dir("later", out, sizeof(out)));
	cr_assert_str_eq(out, ".Later");
	cr_assert(maildir_folder_dir("Shopping", out, sizeof(out)));
	cr_assert_str_eq(out, ".Shopping");
	cr_assert_not(maildir_folder_dir("..", out, sizeof(out)));
	cr_assert_not(maildir_folder_dir("x/../../y", out, sizeof(out)));
	char name[MAILDIR_NAME_MAX], again[MAILDIR_NAME_MAX];
	maildir_unique(0x0123456789abcdefULL, 1795608000, name);
	maildir_unique(0x0123456789abcdefULL, 1795608000, again);
	cr_assert_str_eq(name, again);
	cr_assert_str_eq(name, "1795608000.M0123456789abcdef.cmr");
}

Test(maildir, put_find_move_remove, .init = setup, .fini = teardown)
{
	struct maildir *m;
	char err[256], where[200];
	cr_assert_eq(maildir_open(root, "per_a", false, &m, err, sizeof(err)),
		     1);
	cr_assert_eq(maildir_open(root, "per_a", true, &m, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(maildir_put(m, "", "1.M1.cmr", "Subject: a\n\nA\n", 13,
				 false, err, sizeof(err)),
		     0, "%s", err);
	cr_assert(exists("per_a/new/1.M1.cmr"));
	cr_assert(exists("per_a/cur") && exists("per_a/tmp"));
	cr_assert_not(exists("per_a/tmp/1.M1.cmr"));
	cr_assert_eq(maildir_put(m, ".Later", "2.M2.cmr", "x", 1, true, err,
				 sizeof(err)),
		     0, "%s", err);
	cr_assert(exists("per_a/.Later/cur/2.M2.cmr:2,S"));
	cr_assert(exists("per_a/.Later/maildirfolder"));
	struct stat st;
	char path[600];
	snprintf(path, sizeof(path), "%s/per_a/.Later/cur/2.M2.cmr:2,S", root);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	cr_assert_eq(maildir_find(m, "", "1.M1.cmr", where, sizeof(where), err,
				  sizeof(err)),
		     1);
	cr_assert_str_eq(where, "new/1.M1.cmr");
	/* A reader (Dovecot) moved it to cur/ with flags: still found. */
	char from[600], to[600];
	snprintf(from, sizeof(from), "%s/per_a/new/1.M1.cmr", root);
	snprintf(to, sizeof(to), "%s/per_a/cur/1.M1.cmr:2,RS", root);
	cr_assert_eq(rename(from, to), 0);
	cr_assert_eq(maildir_find(m, "", "1.M1.cmr", where, sizeof(where), err,
				  sizeof(err)),
		     1);
	cr_assert_str_eq(where, "cur/1.M1.cmr:2,RS");
	cr_assert_eq(maildir_find(m, "", "1.M10.cmr", where, sizeof(where), err,
				  sizeof(err)),
		     0); /* a prefix of another name is not it */
	cr_assert_eq(maildir_find(m, ".Nowhere", "1.M1.cmr", where,
				  sizeof(where), err, sizeof(err)),
		     0);

	cr_assert_eq(maildir_move(m, "", "cur/1.M1.cmr:2,RS", ".Shopping", err,
				  sizeof(err)),
		     0, "%s", err);
	cr_assert(exists("per_a/.Shopping/cur/1.M1.cmr:2,RS"));
	cr_assert_not(exists("per_a/cur/1.M1.cmr:2,RS"));
	cr_assert_eq(maildir_remove(m, ".Shopping", "cur/1.M1.cmr:2,RS", err,
				    sizeof(err)),
		     0, "%s", err);
	cr_assert_not(exists("per_a/.Shopping/cur/1.M1.cmr:2,RS"));
	maildir_close(m);
}

Test(maildir, links_are_refused, .init = setup, .fini = teardown)
{
	struct maildir *m;
	char err[256], outside[300], link[600];
	snprintf(outside, sizeof(outside), "%s/outside", root);
	cr_assert_eq(mkdir(outside, 0700), 0);
	cr_assert_eq(maildir_open(root, "per_a", true, &m, err, sizeof(err)),
		     0);
	/* A folder that is a link. */
	snprintf(link, sizeof(link), "%s/per_a/.Later", root);
	cr_assert_eq(symlink(outside, link), 0);
	cr_assert_eq(maildir_put(m, ".Later", "1.M1.cmr", "x", 1, false, err,
				 sizeof(err)),
		     -1);
	cr_assert(strstr(err, "symbolic link"), "%s", err);
	/* new/ inside a real folder that is a link. */
	cr_assert_eq(maildir_put(m, ".Real", "1.M1.cmr", "x", 1, false, err,
				 sizeof(err)),
		     0, "%s", err);
	snprintf(link, sizeof(link), "%s/per_a/.Real/new", root);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", link);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(symlink(outside, link), 0);
	cr_assert_eq(maildir_put(m, ".Real", "2.M2.cmr", "x", 1, false, err,
				 sizeof(err)),
		     -1);
	/* The person's own directory a link. */
	maildir_close(m);
	snprintf(link, sizeof(link), "%s/per_b", root);
	cr_assert_eq(symlink(outside, link), 0);
	cr_assert_eq(maildir_open(root, "per_b", true, &m, err, sizeof(err)),
		     -1);
	cr_assert_eq(maildir_open(root, "../x", true, &m, err, sizeof(err)),
		     -1);
	/* A link as new/ (or cur/) of a folder is not followed by find,
	 * move or remove either: a file outside keeps its name and place. */
	cr_assert_eq(maildir_open(root, "per_a", false, &m, err, sizeof(err)),
		     0);
	char victim[700], where[200];
	snprintf(victim, sizeof(victim), "%s/1.M9.cmr", outside);
	int vf = open(victim, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(vf, 0);
	close(vf);
	cr_assert_eq(maildir_find(m, ".Real", "1.M9.cmr", where, sizeof(where),
				  err, sizeof(err)),
		     -1);
	cr_assert_eq(
		maildir_remove(m, ".Real", "new/1.M9.cmr", err, sizeof(err)),
		-1);
	cr_assert_eq(maildir_move(m, ".Real", "new/1.M9.cmr", ".Other", err,
				  sizeof(err)),
		     -1);
	cr_assert_eq(maildir_remove(m, "", "new/../../outside/1.M9.cmr", err,
				    sizeof(err)),
		     -1);
	cr_assert_eq(access(victim, F_OK), 0);
	cr_assert_eq(unlink(victim), 0);
	maildir_close(m);
	/* Nothing was written outside. */
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", outside);
	cr_assert_eq(system(cmd), 0);
	/* Erasure removes the tree and its links, not what they point at. */
	cr_assert_eq(maildir_erase(root, "per_a", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_not(exists("per_a"));
	cr_assert(exists("outside"));
	cr_assert_eq(maildir_erase(root, "per_a", err, sizeof(err)), 0);
}
