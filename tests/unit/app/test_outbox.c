/*
 * test_outbox.c — how outbox pieces are settled (app/outbox.h), on a
 * temporary store: a piece done leaves; a failed one waits
 * OUTBOX_BACKOFF_S, doubling up to OUTBOX_BACKOFF_CAP_S; a webhook or
 * forward piece is given up after OUTBOX_MAX_TRIES and stays listed,
 * failed, for the person to see, while a Maildir piece is tried for ever;
 * an RFC 8058 unsubscribe ends — done, or given up after
 * OUTBOX_UNSUBSCRIBE_TRIES — with exactly one `unsubscribe.sent` entry on
 * the person's ledger. Pieces settled together are settled each on its
 * own. Also what the adapters read through here: the rows due now, split
 * between the Maildir and the rest, the unsubscribe URI of the piece's own
 * relationship, and a message that is gone.
 *
 * Webhook, forward and Maildir rows are queued with store_outbox_add in a
 * writer job, as the use cases do; the unsubscribe row by the use case
 * that queues it, ending a relationship whose brand gave a one-click URI.
 * next_at and tries are read back with store_outbox_due at a far future
 * time.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/brand.h"
#include "app/delivery.h"
#include "app/ledger.h"
#include "app/outbox.h"
#include "app/person.h"
#include "app/relationship.h"
#include "store/store.h"
#include "fixture.h"

static struct fixture fx;

static void setup(void)
{
	fixture_open(&fx, NULL);
}

static void teardown(void)
{
	fixture_close(&fx);
}

TestSuite(outbox, .init = setup, .fini = teardown);

/* ---- queuing and reading rows ---- */

struct add_job {
	struct store_outbox o;
};

static int add_run(struct app_tx *t, void *arg)
{
	struct add_job *j = arg;
	j->o.next_at = t->now_ms / 1000;
	return store_outbox_add(t->tx, &j->o);
}

/* Queues one row of fx.ana's for adapter, due now. */
static void add(int adapter, uint64_t attempt)
{
	struct add_job j = { .o = { .person = fx.ana,
				    .attempt = attempt,
				    .adapter = adapter,
				    .op = STORE_OUTBOX_DELIVER,
				    .folder = -1 } };
	cr_assert_eq(app_job_run(&fx.a, add_run, &j, false), STORE_OK);
}

#define ROWS_MAX 8

struct rows {
	struct store_outbox row[ROWS_MAX];
	int n;
};

static int rows_cb(const struct store_outbox *o, void *arg)
{
	struct rows *r = arg;
	cr_assert_lt(r->n, ROWS_MAX);
	r->row[r->n++] = *o;
	return 0;
}

/* Every row of the Maildir (local) or of the others, whenever due. */
static struct rows all_rows(bool local)
{
	struct rows r = { .n = 0 };
	cr_assert_eq(store_outbox_due(fx.a.reads, INT64_MAX, local, ROWS_MAX,
				      rows_cb, &r),
		     STORE_OK);
	return r;
}

/* The one row of the kind; fails when there is not exactly one. */
static struct store_outbox the_row(bool local)
{
	struct rows r = all_rows(local);
	cr_assert_eq(r.n, 1, "%d rows", r.n);
	return r.row[0];
}

static struct outbox_piece piece(const struct store_outbox *o, bool ok,
				 const char *error)
{
	struct outbox_piece p = { .o = { o->id, o->person, o->attempt,
					 o->adapter, o->op, o->folder,
					 o->tries },
				  .ok = ok,
				  .status = ok ? 200 : 0 };
	snprintf(p.error, sizeof(p.error), "%s", error ? error : "");
	return p;
}

/* Settles the one row of the kind as failed; returns the time of the
 * settling, within a second, in *from and *to. */
static void fail_once(bool local, const char *error, int64_t *from, int64_t *to)
{
	struct store_outbox o = the_row(local);
	struct outbox_piece p = piece(&o, false, error);
	*from = app_now_ms() / 1000;
	cr_assert_eq(outbox_settle(&fx.a, &p, 1), APP_OK);
	*to = app_now_ms() / 1000;
}

/* The person's outbox as delivery_get shows it. */
static void counts(json_int_t *pending, json_int_t *failing, char *last,
		   size_t size)
{
	json_t *out = NULL;
	struct app_error e = { 0 };
	cr_assert_eq(delivery_get(&fx.a, fx.ana, &out, &e), APP_OK, "%s",
		     e.message);
	json_t *ob = json_object_get(out, "outbox");
	*pending = json_integer_value(json_object_get(ob, "pending"));
	*failing = json_integer_value(json_object_get(ob, "failing"));
	const char *s = json_string_value(json_object_get(ob, "last_error"));
	snprintf(last, size, "%s", s ? s : "");
	json_decref(out);
}

/* ---- the ledger ---- */

/* fx.ana's `unsubscribe.sent` entries (a new array). */
static json_t *unsubscribe_entries(void)
{
	json_t *items = json_array(), *out = json_array();
	int64_t last = 0;
	struct app_error e = { 0 };
	cr_assert_eq(ledger_page(&fx.a, fx.ana, 0, 1000, items, &last, &e),
		     APP_OK, "%s", e.message);
	size_t i;
	json_t *it;
	json_array_foreach (items, i, it)
		if (strcmp(json_string_value(json_object_get(it, "type")),
			   "unsubscribe.sent") == 0)
			json_array_append(out, it);
	json_decref(items);
	return out;
}

/* ---- a relationship whose brand gave a one-click URI ---- */

static int set_uri_run(struct app_tx *t, void *arg)
{
	return store_relationship_set_unsubscribe(t->tx, *(uint64_t *)arg,
						  "https://acme.example/u/1");
}

/* Ana relates to Acme, Acme's mail gave a one-click URI, and Ana ends
 * the relationship: one unsubscribe row, due now. Returns the
 * relationship. */
static uint64_t ended_with_unsubscribe(void)
{
	struct app_error e = { 0 };
	uint64_t acme, prp;
	char key[BRAND_KEY_SIZE];
	const char *domains[] = { "acme.example" };
	cr_assert_eq(brand_add(&fx.a, "Acme", domains, 1, NULL, &acme, key, &e),
		     APP_OK, "%s", e.message);
	json_t *pj = json_pack("{s:s,s:[s],s:[s]}", "value", "news", "channels",
			       "email", "topics", "offers");
	int kind;
	cr_assert_eq(proposal_create(&fx.a, acme, fx.ana, pj, &prp, &kind, &e),
		     APP_OK, "%s", e.message);
	json_decref(pj);
	json_t *tj =
		json_pack("{s:{s:{s:b}}}", "channels", "email", "allowed", 1);
	struct accepted acc = { 0 };
	cr_assert_eq(proposal_accept(&fx.a, fx.ana, prp, tj, &acc, &kind, &e),
		     APP_OK, "%s", e.message);
	json_decref(tj);
	uint64_t rel = acc.relationship;
	cr_assert_eq(app_job_run(&fx.a, set_uri_run, &rel, false), STORE_OK);
	cr_assert_eq(relationship_change(&fx.a, fx.ana, rel, REL_END, &e),
		     APP_OK, "%s", e.message);
	return rel;
}

/* ---- retries ---- */

/* 5 s, 10 s, 20 s, … up to the hour, and no further. */
Test(outbox, backoff_doubles_to_the_cap)
{
	add(STORE_ADAPTER_WEBHOOK, 1);
	int64_t wait = OUTBOX_BACKOFF_S;
	for (int k = 1; k <= 14; k++) {
		int64_t from, to;
		fail_once(false, "the target answered 500", &from, &to);
		struct store_outbox o = the_row(false);
		cr_assert_eq(o.tries, k);
		cr_assert(o.next_at >= from + wait && o.next_at <= to + wait,
			  "try %d: next in %lld s, not %lld", k,
			  (long long)(o.next_at - from), (long long)wait);
		wait = wait * 2 > OUTBOX_BACKOFF_CAP_S ? OUTBOX_BACKOFF_CAP_S
						       : wait * 2;
	}
	cr_assert_eq(wait, OUTBOX_BACKOFF_CAP_S);
}

/* A failed piece is not due again until its wait is over. */
Test(outbox, failed_piece_waits)
{
	add(STORE_ADAPTER_WEBHOOK, 1);
	struct rows due = { .n = 0 };
	struct store_outbox o = the_row(false);
	cr_assert_eq(o.tries, 0);
	int64_t from, to;
	fail_once(false, "refused", &from, &to);
	cr_assert_eq(store_outbox_due(fx.a.reads, from, false, ROWS_MAX,
				      rows_cb, &due),
		     STORE_OK);
	cr_assert_eq(due.n, 0);
	cr_assert_eq(store_outbox_due(fx.a.reads, to + OUTBOX_BACKOFF_S, false,
				      ROWS_MAX, rows_cb, &due),
		     STORE_OK);
	cr_assert_eq(due.n, 1);
}

Test(outbox, done_piece_leaves)
{
	add(STORE_ADAPTER_WEBHOOK, 1);
	add(STORE_ADAPTER_MAILDIR, 1);
	struct store_outbox o = the_row(false);
	struct outbox_piece p = piece(&o, true, NULL);
	cr_assert_eq(outbox_settle(&fx.a, &p, 1), APP_OK);
	cr_assert_eq(all_rows(false).n, 0);
	cr_assert_eq(all_rows(true).n, 1, "the other row stays");
	/* one that failed before, done now */
	fail_once(true, "no space", &(int64_t){ 0 }, &(int64_t){ 0 });
	o = the_row(true);
	p = piece(&o, true, NULL);
	cr_assert_eq(outbox_settle(&fx.a, &p, 1), APP_OK);
	cr_assert_eq(all_rows(true).n, 0);
}

/* Sets the one row's tries (as if it had failed that often). */
struct tries_job {
	uint64_t person, id;
	int tries;
};

static int tries_run(struct app_tx *t, void *arg)
{
	struct tries_job *j = arg;
	return store_outbox_settle(t->tx, j->person, j->id, j->tries,
				   t->now_ms / 1000, "before");
}

static void set_tries(bool local, int tries)
{
	struct store_outbox o = the_row(local);
	struct tries_job j = { o.person, o.id, tries };
	cr_assert_eq(app_job_run(&fx.a, tries_run, &j, false), STORE_OK);
}

/* What reaches out is given up after OUTBOX_MAX_TRIES, and stays on the
 * list, failed, never due again. */
static void given_up(int adapter)
{
	add(adapter, 1);
	set_tries(false, OUTBOX_MAX_TRIES - 2);
	int64_t from, to;
	fail_once(false, "the target answered 500", &from, &to);
	struct store_outbox o = the_row(false);
	cr_assert_eq(o.tries, OUTBOX_MAX_TRIES - 1);
	cr_assert_leq(o.next_at, to + OUTBOX_BACKOFF_CAP_S, "given up early");

	fail_once(false, "the target answered 500", &from, &to);
	o = the_row(false);
	cr_assert_eq(o.tries, OUTBOX_MAX_TRIES);
	cr_assert_geq(o.next_at, INT64_MAX / 8, "tried again at %lld",
		      (long long)o.next_at);
	json_int_t pending, failing;
	char last[256];
	counts(&pending, &failing, last, sizeof(last));
	cr_assert_eq(pending, 1);
	cr_assert_eq(failing, 1);
	cr_assert(strstr(last, "given up after 24 tries") != NULL, "%s", last);
	cr_assert(strstr(last, "the target answered 500") != NULL, "%s", last);
	/* not among what is due, even much later */
	struct rows due = { .n = 0 };
	cr_assert_eq(store_outbox_due(fx.a.reads, to + 10 * 365 * 86400, false,
				      ROWS_MAX, rows_cb, &due),
		     STORE_OK);
	cr_assert_eq(due.n, 0);
}

Test(outbox, webhook_given_up)
{
	given_up(STORE_ADAPTER_WEBHOOK);
}

Test(outbox, forward_given_up)
{
	given_up(STORE_ADAPTER_FORWARD);
}

/* The Maildir is ours: tried until it works, an hour apart at most. */
Test(outbox, maildir_never_given_up)
{
	add(STORE_ADAPTER_MAILDIR, 1);
	set_tries(true, OUTBOX_MAX_TRIES - 1);
	for (int k = 0; k < 3; k++) {
		int64_t from, to;
		fail_once(true, "no space left", &from, &to);
		struct store_outbox o = the_row(true);
		cr_assert_eq(o.tries, OUTBOX_MAX_TRIES + k);
		cr_assert(o.next_at >= from + OUTBOX_BACKOFF_CAP_S &&
				  o.next_at <= to + OUTBOX_BACKOFF_CAP_S,
			  "next in %lld s", (long long)(o.next_at - from));
	}
	json_int_t pending, failing;
	char last[256];
	counts(&pending, &failing, last, sizeof(last));
	cr_assert_str_eq(last, "no space left");
}

/* ---- unsubscribe ---- */

Test(outbox, unsubscribe_done_is_on_the_ledger)
{
	uint64_t rel = ended_with_unsubscribe();
	struct store_outbox o = the_row(false);
	cr_assert_eq(o.adapter, STORE_ADAPTER_UNSUBSCRIBE);
	cr_assert_eq(o.attempt, rel);
	json_t *entries = unsubscribe_entries();
	cr_assert_eq(json_array_size(entries), 0);
	json_decref(entries);

	struct outbox_piece p = piece(&o, true, NULL);
	p.status = 202;
	cr_assert_eq(outbox_settle(&fx.a, &p, 1), APP_OK);
	cr_assert_eq(all_rows(false).n, 0);
	entries = unsubscribe_entries();
	cr_assert_eq(json_array_size(entries), 1);
	json_t *en = json_array_get(entries, 0);
	cr_assert_str_eq(json_string_value(json_object_get(en, "actor")),
			 "system");
	cr_assert_not(json_is_null(json_object_get(en, "relationship")));
	json_t *data = json_object_get(en, "data");
	cr_assert_str_eq(json_string_value(json_object_get(data, "outcome")),
			 "ok");
	cr_assert_eq(json_integer_value(json_object_get(data, "status")), 202);
	json_decref(entries);
}

/* Failures are retried with no entry, until the last try, which ends it
 * with one "failed" entry. */
Test(outbox, unsubscribe_given_up_is_on_the_ledger)
{
	ended_with_unsubscribe();
	for (int k = 1; k < OUTBOX_UNSUBSCRIBE_TRIES; k++) {
		int64_t from, to;
		fail_once(false, "the brand answered 500", &from, &to);
		struct store_outbox o = the_row(false);
		cr_assert_eq(o.tries, k);
		json_t *entries = unsubscribe_entries();
		cr_assert_eq(json_array_size(entries), 0, "after try %d", k);
		json_decref(entries);
	}
	json_int_t pending, failing;
	char last[256];
	counts(&pending, &failing, last, sizeof(last));
	cr_assert_str_eq(last, "unsubscribe: the brand answered 500");

	int64_t from, to;
	fail_once(false, "the brand answered 500", &from, &to);
	cr_assert_eq(all_rows(false).n, 0, "still listed after the last try");
	json_t *entries = unsubscribe_entries();
	cr_assert_eq(json_array_size(entries), 1);
	json_t *data = json_object_get(json_array_get(entries, 0), "data");
	cr_assert_str_eq(json_string_value(json_object_get(data, "outcome")),
			 "failed");
	cr_assert_str_eq(json_string_value(json_object_get(data, "error")),
			 "the brand answered 500");
	cr_assert_eq(json_integer_value(json_object_get(data, "tries")),
		     OUTBOX_UNSUBSCRIBE_TRIES);
	json_decref(entries);
}

/* The URI is the piece's own relationship's, for its own person. */
Test(outbox, unsubscribe_uri)
{
	ended_with_unsubscribe();
	struct store_outbox o = the_row(false);
	struct outbox_piece p = piece(&o, false, NULL);
	char *uri = NULL;
	cr_assert_eq(outbox_unsubscribe_uri(&fx.a, &p, &uri), APP_OK);
	cr_assert_str_eq(uri, "https://acme.example/u/1");
	free(uri);
	p.o.person = fx.ana + 1000;
	cr_assert_eq(outbox_unsubscribe_uri(&fx.a, &p, &uri), APP_NOT_FOUND);
	cr_assert_null(uri);
	p.o.person = fx.ana;
	p.o.attempt = o.attempt + 1000;
	cr_assert_eq(outbox_unsubscribe_uri(&fx.a, &p, &uri), APP_NOT_FOUND);
	cr_assert_null(uri);
}

/* ---- together ---- */

/* Pieces settled in one call each go their own way. */
Test(outbox, pieces_settled_each_on_its_own)
{
	ended_with_unsubscribe();
	struct store_outbox u = the_row(false);
	add(STORE_ADAPTER_WEBHOOK, 7);
	add(STORE_ADAPTER_MAILDIR, 7);
	struct rows remote = all_rows(false);
	cr_assert_eq(remote.n, 2);
	struct store_outbox w =
		remote.row[0].id == u.id ? remote.row[1] : remote.row[0];
	struct store_outbox m = the_row(true);
	struct outbox_piece p[3] = {
		piece(&u, true, NULL),
		piece(&w, false, "the target answered 502"),
		piece(&m, true, NULL),
	};
	cr_assert_eq(outbox_settle(&fx.a, p, 3), APP_OK);
	struct store_outbox left = the_row(false);
	cr_assert_eq(left.id, w.id);
	cr_assert_eq(left.tries, 1);
	cr_assert_eq(all_rows(true).n, 0);
	json_t *entries = unsubscribe_entries();
	cr_assert_eq(json_array_size(entries), 1);
	json_decref(entries);
	cr_assert_eq(outbox_settle(&fx.a, p, 0), APP_OK);
}

/* ---- what the adapters read ---- */

static int due_cb(const struct outbox_row *o, void *arg)
{
	struct outbox_row *rows = arg;
	int n = 0;
	while (rows[n].id != 0)
		n++;
	cr_assert_lt(n, ROWS_MAX - 1);
	rows[n] = *o;
	return 0;
}

/* Due now: the Maildir's rows apart from the others', and a row that
 * failed is not due until its wait is over. */
Test(outbox, due_now)
{
	add(STORE_ADAPTER_MAILDIR, 1);
	add(STORE_ADAPTER_WEBHOOK, 2);
	add(STORE_ADAPTER_FORWARD, 3);
	struct outbox_row local[ROWS_MAX] = { 0 }, remote[ROWS_MAX] = { 0 };
	cr_assert_eq(outbox_due(&fx.a, true, ROWS_MAX, due_cb, local), APP_OK);
	cr_assert_eq(outbox_due(&fx.a, false, ROWS_MAX, due_cb, remote),
		     APP_OK);
	cr_assert_eq(local[0].adapter, OUTBOX_MAILDIR);
	cr_assert_eq(local[0].person, fx.ana);
	cr_assert_eq(local[0].attempt, 1);
	cr_assert_eq(local[0].folder, -1);
	cr_assert_eq(local[1].id, 0);
	cr_assert_eq(remote[0].adapter, OUTBOX_WEBHOOK); /* in order */
	cr_assert_eq(remote[1].adapter, OUTBOX_FORWARD);
	cr_assert_eq(remote[2].id, 0);
	/* the limit */
	memset(remote, 0, sizeof(remote));
	cr_assert_eq(outbox_due(&fx.a, false, 1, due_cb, remote), APP_OK);
	cr_assert_eq(remote[1].id, 0);

	int64_t from, to;
	fail_once(true, "x", &from, &to);
	memset(local, 0, sizeof(local));
	cr_assert_eq(outbox_due(&fx.a, true, ROWS_MAX, due_cb, local), APP_OK);
	cr_assert_eq(local[0].id, 0);
}

/* A piece whose message is gone (erased, purged) reads as not found:
 * the adapter then counts it done. */
Test(outbox, message_gone)
{
	add(STORE_ADAPTER_MAILDIR, 424242);
	struct store_outbox o = the_row(true);
	struct outbox_piece p = piece(&o, false, NULL);
	struct outbox_message m;
	cr_assert_eq(outbox_message(&fx.a, &p, &m), APP_NOT_FOUND);
	cr_assert_null(m.body);
	outbox_message_clear(&m);
}
