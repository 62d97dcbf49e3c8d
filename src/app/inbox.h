/*
 * inbox.h — the person's own filing: mark a message read, move a
 * delivered one to another folder (a new folder name is created), empty a
 * folder in one go. The brand learns nothing of any of it.
 */
#ifndef CMR_APP_INBOX_H
#define CMR_APP_INBOX_H

#include <stdint.h>

#include "app/app.h"
#include "core/terms.h"

/* read: -1 unchanged, 0 or 1; folder: NULL unchanged, else a folder name.
 * APP_NOT_FOUND when the message is not theirs; APP_CONFLICT when moving
 * one that was not delivered; APP_INVALID for a bad folder name. */
enum app_status inbox_update(struct app *a, uint64_t person, uint64_t message,
			     int read, const char *folder,
			     struct app_error *err);

/* Deletes every delivered message in the folder; *n gets how many.
 * APP_NOT_FOUND for a folder the person does not have. */
enum app_status inbox_empty(struct app *a, uint64_t person, const char *folder,
			    int64_t *n, struct app_error *err);

/* The same two, split (see struct app_write). update's folder name is
 * borrowed until the write is done; empty's *n points into the job, to be
 * read after the write and before the release. */
enum app_status inbox_update_begin(struct app *a, uint64_t person,
				   uint64_t message, int read,
				   const char *folder, struct app_write *w,
				   struct app_error *err);
enum app_status inbox_empty_begin(struct app *a, uint64_t person,
				  const char *folder, int64_t **n,
				  struct app_write *w, struct app_error *err);

/* Which of a person's attempts to list (GET /v1/me/messages). */
struct inbox_filter {
	int decision;	       /* enum gate_outcome, or -1: any */
	uint64_t relationship; /* 0: any; another's is APP_NOT_FOUND */
	const char *folder;    /* a folder name, or NULL: any; unknown is
				  APP_NOT_FOUND */
	uint64_t before;       /* newest first: ids below it (0: none) */
	int limit;
};

/* Appends the person's attempts (at most f->limit) to items, as the
 * person sees them: {"id", "relationship", "brand", "channel", "topic",
 * "subject", "decision", "reason", "explanation", "folder", "deliver_at",
 * "received_at", "read", "sender_verified"[, "sender"]}. */
enum app_status inbox_list(struct app *a, uint64_t person,
			   const struct inbox_filter *f, json_t *items,
			   struct app_error *err);

/* One of the person's messages as they read it: the list's item (above)
 * and "headers" (from, to, cc, reply_to, subject, message_id, date: those
 * it has), "text" (mail: its text/plain part, else its HTML part as text;
 * a message sent over HTTP: its body; null when the body was not kept, as
 * for a refusal), "attachments" ([{"name", "content_type", "size"}]), and
 * for mail with an HTML part "html_href" and "remote_blocked" (the loads
 * its sanitized HTML leaves out). APP_NOT_FOUND when it is not
 * theirs, or removed. */
enum app_status inbox_message(struct app *a, uint64_t person, uint64_t id,
			      json_t **out, struct app_error *err);

/* The HTML part of one of the person's messages, sanitized
 * (base/html_clean.h: no script, form, embedding or remote load), as a
 * whole document (doctype, UTF-8): *html is malloc'd, the caller frees
 * it. APP_NOT_FOUND when the message is not theirs, removed, or has no
 * HTML part (a message sent over HTTP, a refusal, text-only mail). */
enum app_status inbox_message_html(struct app *a, uint64_t person, uint64_t id,
				   char **html, struct app_error *err);

/* Removes one of the person's messages as emptying a folder does (content
 * gone, its Maildir copy too; the row stays for the cap windows).
 * APP_NOT_FOUND when not theirs or removed already, APP_CONFLICT when it
 * is held. */
enum app_status inbox_remove_begin(struct app *a, uint64_t person, uint64_t id,
				   struct app_write *w, struct app_error *err);

/* The person's folder table (inbox, later, then their own), read. */
enum app_status inbox_folders(struct app *a, uint64_t person,
			      struct folder_table *f);

/* Inside a write job: the person's folder table gains the names not in it
 * yet (read and written in the job's transaction, so concurrent additions
 * cannot lose one); ids (may be NULL) receive each name's folder id.
 * STORE_INVALID when the table is full. */
int inbox_folders_intern_tx(struct store_tx *tx, uint64_t person,
			    const char *const *names, int n, int *ids);

#endif
