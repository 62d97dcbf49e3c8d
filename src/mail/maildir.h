/*
 * maildir.h — the Maildir adapter: a one-way export of a person's
 * delivered messages to <root>/<per_id>/ in Maildir++ (INBOX at the top,
 * `.Later` and `.<folder>` beside it, folder names in modified UTF-7),
 * readable by any IMAP server that knows Maildir (Dovecot).
 *
 * Every path below the root is walked one directory at a time with
 * openat(O_NOFOLLOW | O_DIRECTORY): a symbolic link planted inside a
 * person's Maildir is refused, never followed out of it. A message is
 * written to tmp/, fsynced, renamed into new/ (or cur/ when read), and the
 * directory fsynced, so it is either there whole or not at all. Files and
 * folders belong to the user cmr runs as, mode 0600/0700.
 */
#ifndef CMR_MAIL_MAILDIR_H
#define CMR_MAIL_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_NAME_MAX 96 /* a message's unique name */

/* A folder name (UTF-8) in modified UTF-7 (RFC 3501 §5.1.3). False when
 * it does not fit, is empty, or holds '.', '/' or a control character. */
bool maildir_mutf7(const char *utf8, char *out, size_t size);

/* The Maildir++ directory of a folder: "" for "inbox", ".Later" for
 * "later", "." + modified UTF-7 otherwise. False for a name that cannot
 * be a folder. */
bool maildir_folder_dir(const char *folder, char *out, size_t size);

/* A message's unique file name in the Maildir (stable: the same message
 * always gets the same name, so a redone delivery is recognised). */
void maildir_unique(uint64_t message, int64_t received_at,
		    char out[MAILDIR_NAME_MAX]);

struct maildir; /* a person's Maildir, open */

/* Opens <root>/<person>/, creating it (0700) when `create`. Returns 0,
 * 1 when it does not exist and !create, -1 with err. */
int maildir_open(const char *root, const char *person, bool create,
		 struct maildir **out, char *err, size_t errlen);
void maildir_close(struct maildir *m);

/* Whether the message `unique` is in the folder's directory `dir`: 1 and
 * its path relative to the folder ("new/…" or "cur/…:2,S") in where, 0
 * when not, -1 with err. */
int maildir_find(struct maildir *m, const char *dir, const char *unique,
		 char *where, size_t size, char *err, size_t errlen);

/* Writes the message into the folder's directory (created as needed):
 * new/ when unread, cur/ with the S flag when read. */
int maildir_put(struct maildir *m, const char *dir, const char *unique,
		const void *data, size_t len, bool seen, char *err,
		size_t errlen);

/* Moves the file found at from_dir/where into to_dir (same name). */
int maildir_move(struct maildir *m, const char *from_dir, const char *where,
		 const char *to_dir, char *err, size_t errlen);

/* Sets or clears the Seen flag of the file found at dir/where: "new/X"
 * becomes "cur/X:2,S"; in cur/ the S among its flags comes or goes
 * (others stay). *where gets the new place. */
int maildir_set_seen(struct maildir *m, const char *dir, char *where,
		     size_t size, bool seen, char *err, size_t errlen);

/* Whether the file at where (as maildir_find gives it) is marked Seen. */
bool maildir_seen(const char *where);

/* Removes the file found at dir/where. */
int maildir_remove(struct maildir *m, const char *dir, const char *where,
		   char *err, size_t errlen);

/* Removes <root>/<person>/ and everything in it (erasure); 0 when it was
 * not there. Links inside are removed, never followed. */
int maildir_erase(const char *root, const char *person, char *err,
		  size_t errlen);

#endif
