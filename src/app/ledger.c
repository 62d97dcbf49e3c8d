/*
 * ledger.c — the ledger's use cases (see app/ledger.h): appending inside a
 * write job, signed heads, and verifying every chain of the store.
 *
 * The store keeps each entry's fields as hashed: `data` is its JCS text,
 * `at` is kept in milliseconds and formatted back exactly, so verification
 * recomputes every hash from what is stored, never trusting the stored
 * hash column except to compare.
 */
#include "app/ledger.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/sealed.h"
#include "base/log.h"
#include "core/id.h"
#include "ledger/chain.h"
#include "ledger/jcs.h"
#include "ledger/note.h"
#include "store/store.h"

int ledger_append(struct store_tx *tx, uint64_t person, const char *actor,
		  const char *type, uint64_t relationship, json_t *data,
		  int64_t at_ms)
{
	struct store_ledger_entry head, e;
	struct chain_entry ce;
	char rel[ID_SIZE];
	uint8_t prev[32] = { 0 };
	int64_t seq = 1;

	int rc = store_ledger_head(store_tx_reads(tx), person, &head);
	if (rc == STORE_OK) {
		seq = head.seq + 1;
		memcpy(prev, head.hash, 32);
		store_ledger_entry_clear(&head);
	} else if (rc != STORE_NOT_FOUND) {
		return rc;
	}
	memset(&ce, 0, sizeof(ce));
	ce.seq = seq;
	ce.actor = actor;
	ce.type = type;
	if (relationship) {
		id_encode(ID_RELATIONSHIP, relationship, rel);
		ce.relationship = rel;
	}
	ce.data = data;
	chain_hex_encode(prev, ce.prev);
	if (chain_format_at(at_ms, ce.at) != CHAIN_OK)
		return STORE_INVALID;
	memset(&e, 0, sizeof(e));
	if (chain_entry_hash(&ce, e.hash) != CHAIN_OK)
		return STORE_INVALID;
	size_t len;
	if (jcs_serialize(data, &e.data, &len) != JCS_OK)
		return STORE_INVALID;
	e.person = person;
	e.seq = seq;
	e.at_ms = at_ms;
	snprintf(e.actor, sizeof(e.actor), "%s", actor);
	snprintf(e.type, sizeof(e.type), "%s", type);
	snprintf(e.relationship, sizeof(e.relationship), "%s",
		 relationship ? rel : "");
	memcpy(e.prev, prev, 32);
	rc = store_ledger_append(tx, &e);
	free(e.data);
	return rc;
}

/* Adds to `changed` every key of `a` whose value in `b` differs (or is
 * absent), with b's value (null when absent) in `values`. */
static void settings_diff(const json_t *a, const json_t *b, json_t *changed,
			  json_t *values)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)a, k, v) {
		json_t *w = json_object_get(b, k);
		if ((w == NULL || !json_equal(v, w)) &&
		    json_object_get(values, k) == NULL) {
			json_array_append_new(changed, json_string(k));
			json_object_set(values, k, w ? w : json_null());
		}
	}
}

static int settings_name_cmp(const void *x, const void *y)
{
	return strcmp(json_string_value(*(json_t *const *)x),
		      json_string_value(*(json_t *const *)y));
}

json_t *ledger_settings_data_tx(struct app_tx *t, uint64_t person,
				const json_t *before, const json_t *after,
				bool *unchanged)
{
	json_t *changed = json_array(), *values = json_object();
	json_t *out = NULL, *sorted = NULL;
	char *text = NULL, *sealed = NULL;
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	struct store_person p;

	*unchanged = false;
	if (changed == NULL || values == NULL)
		goto done;
	settings_diff(after, before, changed, values);
	settings_diff(before, after, changed, values);
	size_t n = json_array_size(changed);
	if (n == 0) {
		*unchanged = true;
		goto done;
	}
	/* The names in order, whichever object named them first. */
	json_t **names = calloc(n, sizeof(*names));
	if (names == NULL)
		goto done;
	for (size_t i = 0; i < n; i++)
		names[i] = json_array_get(changed, i);
	qsort(names, n, sizeof(*names), settings_name_cmp);
	sorted = json_array();
	for (size_t i = 0; sorted && i < n; i++)
		json_array_append(sorted, names[i]);
	free(names);
	if (sorted == NULL ||
	    store_person_get(t->reads, person, NULL, &p) != STORE_OK)
		goto done;
	int rc = keys_unwrap(t->keys, p.data_key, p.data_key_len, dk);
	store_person_clear(&p);
	text = rc == 0 ? json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS)
		       : NULL;
	if (text && keys_seal(dk, text, strlen(text), &sealed) == 0)
		out = json_pack("{s:O,s:s}", "changed", sorted, "sealed",
				sealed);
	sodium_memzero(dk, sizeof(dk));
	if (text)
		sodium_memzero(text, strlen(text));
done:
	free(text);
	free(sealed);
	json_decref(sorted);
	json_decref(changed);
	json_decref(values);
	return out;
}

json_t *ledger_sealed_data_tx(struct app_tx *t, uint64_t person,
			      const json_t *data, const char *key)
{
	struct sealed_key k = { 0 };
	json_t *out = NULL;
	char *sealed = NULL;
	char *text =
		json_dumps(json_object_get(data, key),
			   JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (text != NULL &&
	    sealed_key(t->reads, t->keys, person, &k) == APP_OK &&
	    keys_seal(k.dk, text, strlen(text), &sealed) == 0 &&
	    (out = json_deep_copy(data)) != NULL &&
	    json_object_set_new(out, key,
				json_pack("{s:s}", "sealed", sealed)) != 0) {
		json_decref(out);
		out = NULL;
	}
	sealed_key_clear(&k);
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	free(sealed);
	return out;
}

/* Rebuilds the chain entry of a stored row; the JSON it borrows is
 * returned in *data for the caller to release. */
static int ledger_entry_of(const struct store_ledger_entry *e,
			   struct chain_entry *ce, json_t **data)
{
	memset(ce, 0, sizeof(*ce));
	*data = json_loads(e->data, JSON_REJECT_DUPLICATES, NULL);
	if (*data == NULL)
		return -1;
	ce->seq = e->seq;
	if (chain_format_at(e->at_ms, ce->at) != CHAIN_OK)
		return -1;
	ce->actor = e->actor;
	ce->type = e->type;
	ce->relationship = e->relationship[0] ? e->relationship : NULL;
	ce->data = *data;
	chain_hex_encode(e->prev, ce->prev);
	chain_hex_encode(e->hash, ce->hash);
	return 0;
}

struct head_job {
	uint64_t person;
	int64_t seq;
	uint8_t hash[32];
	char *note; /* owned until finish hands it over */
	char **out; /* where finish puts the note */
	int64_t at;
};

static int head_job_run(struct app_tx *t, void *arg)
{
	struct head_job *j = arg;
	return store_ledger_head_save(t->tx, j->person, j->seq, j->hash,
				      j->note, j->at);
}

static enum app_status head_finish(void *job, int rc, struct app_error *err)
{
	struct head_job *j = job;
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the signed head could not be recorded");
	*j->out = j->note;
	j->note = NULL;
	return APP_OK;
}

static void head_release(void *job)
{
	struct head_job *j = job;
	free(j->note);
	free(j);
}

/* Signs the head h->seq, h->hash of person's chain into *note, filling
 * in the rest of h. */
static int ledger_note_sign(struct app *a, uint64_t person, struct note_head *h,
			    char **note)
{
	snprintf(h->server, sizeof(h->server), "%s", a->cfg.server_name);
	id_encode(ID_PERSON, person, h->per_id);
	size_t len;
	if (note_head_sign(a->keys, a->cfg.server_name, h, note, &len) != 0)
		return APP_FAULT;
	return APP_OK;
}

/* Reads the head of person's chain and signs it into *note. */
static int ledger_head_sign(struct app *a, uint64_t person, struct note_head *h,
			    char **note)
{
	struct store_ledger_entry e;
	memset(h, 0, sizeof(*h));
	*note = NULL;
	int rc = store_ledger_head(a->reads, person, &e);
	if (rc == STORE_OK) {
		h->seq = e.seq;
		memcpy(h->hash, e.hash, 32);
		store_ledger_entry_clear(&e);
	} else if (rc != STORE_NOT_FOUND) {
		return APP_FAULT;
	}
	return ledger_note_sign(a, person, h, note);
}

enum app_status ledger_head_note(struct app *a, uint64_t person, char **note)
{
	struct note_head h;
	return ledger_head_sign(a, person, &h, note);
}

enum app_status ledger_sign_head_begin(struct app *a, uint64_t person,
				       char **note, struct app_write *w)
{
	struct note_head h;

	*note = NULL;
	struct head_job *j = calloc(1, sizeof(*j));
	if (j == NULL || ledger_head_sign(a, person, &h, &j->note) != APP_OK) {
		if (j)
			free(j->note);
		free(j);
		return APP_FAULT;
	}
	j->person = person;
	j->at = app_now_ms() / 1000;
	j->seq = h.seq;
	memcpy(j->hash, h.hash, 32);
	j->out = note;
	*w = (struct app_write){ head_job_run, j, false, head_finish,
				 head_release };
	return APP_OK;
}

enum app_status ledger_sign_head(struct app *a, uint64_t person, char **note)
{
	struct app_write w;
	struct app_error err;
	int rc = ledger_sign_head_begin(a, person, note, &w);
	return rc == APP_OK ? app_write_run(a, &w, &err) : rc;
}

struct verify_ctx {
	struct chain_entry *entries;
	json_t **datas;
	size_t n, cap;
	int fault;
};

static int verify_collect(const struct store_ledger_entry *e, void *arg)
{
	struct verify_ctx *v = arg;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct chain_entry *ce = realloc(v->entries, cap * sizeof(*ce));
		if (ce)
			v->entries = ce;
		json_t **d = realloc(v->datas, cap * sizeof(*d));
		if (d)
			v->datas = d;
		if (ce == NULL || d == NULL) {
			v->fault = 1;
			return 1;
		}
		v->cap = cap;
	}
	/* chain entries borrow their strings: keep copies alive in data's
	 * JSON by stashing them as members of a holder object. */
	json_t *holder = json_object();
	json_t *data = NULL;
	struct chain_entry *ce = &v->entries[v->n];
	if (holder == NULL || ledger_entry_of(e, ce, &data) != 0) {
		/* A row we cannot even read: let the verifier call it
		 * malformed at its place. */
		json_decref(data);
		memset(ce, 0, sizeof(*ce));
		ce->seq = e->seq;
		data = json_null();
	}
	json_object_set_new(holder, "data", data);
	json_object_set_new(holder, "actor", json_string(e->actor));
	json_object_set_new(holder, "type", json_string(e->type));
	json_object_set_new(holder, "relationship",
			    json_string(e->relationship));
	if (ce->actor)
		ce->actor = json_string_value(json_object_get(holder, "actor"));
	if (ce->type)
		ce->type = json_string_value(json_object_get(holder, "type"));
	if (ce->relationship)
		ce->relationship = json_string_value(
			json_object_get(holder, "relationship"));
	v->datas[v->n] = holder;
	v->n++;
	return 0;
}

static void verify_reset(struct verify_ctx *v)
{
	for (size_t i = 0; i < v->n; i++)
		json_decref(v->datas[i]);
	v->n = 0;
}

struct verify_all {
	struct app *a;
	FILE *out;
	struct verify_ctx v;
	int persons, broken, fault;
	int seen;      /* persons passed to verify_person */
	uint64_t last; /* the last of them: where the next page starts */
	int64_t entries;
};

/* What verifying one person's chain found. */
struct ledger_verdict {
	bool verified;		/* every entry and the signed head hold */
	int64_t entries;	/* entries read */
	struct chain_head last; /* the last entry: seq (0: none) and hash,
				   when verified */
	char problem[CHAIN_WHY_MAX +
		     3 * NOTE_SERVER_MAX]; /* where it breaks; "" if verified */
};

/* Verifies person's chain and latest signed head (by whichever of the
 * server's keys signed it: the current one or one retired since, cmr keys
 * rotate) into *out, with v's buffers. 0, or -1 when the store cannot be
 * read. */
static int verify_chain(struct app *a, uint64_t person, struct verify_ctx *v,
			struct ledger_verdict *out)
{
	char per[ID_SIZE];
	struct chain_head head, *hp = NULL;
	char *note = NULL;
	bool head_bad = false;
	struct note_head named = { 0 }; /* the name the head is signed as */

	memset(out, 0, sizeof(*out));
	id_encode(ID_PERSON, person, per);
	verify_reset(v);
	/* The head before the entries: it signs entries committed before
	 * it was recorded, so the entries read next reach it even while the
	 * chain grows. */
	int rc = store_ledger_signed_head(a->reads, person, &note);
	if (rc == STORE_OK) {
		struct note_head nh;
		const struct keys *k = a->keys;
		int bad = -1;
		for (size_t i = 0; bad != 0 && i < keys_signing_count(k); i++)
			bad = note_head_verify(note, strlen(note),
					       a->cfg.server_name,
					       keys_signing_public(k, i), &nh);
		head_bad = bad != 0 || strcmp(nh.per_id, per) != 0;
		/* A head signed under another name (the servers' alias
		 * domain) verifies with no key here: say which name. */
		const char *text_end = strstr(note, "\n\n");
		if (bad != 0 && text_end != NULL &&
		    note_head_parse(note, (size_t)(text_end - note) + 1,
				    &named) != NOTE_OK)
			named.server[0] = '\0';
		if (!head_bad) {
			head.seq = nh.seq;
			memcpy(head.hash, nh.hash, 32);
			hp = &head;
		}
	} else if (rc != STORE_NOT_FOUND) {
		return -1;
	}
	free(note);
	rc = store_ledger_list(a->reads, person, 0, INT32_MAX, verify_collect,
			       v);
	if (rc != STORE_OK || v->fault)
		return -1;
	out->entries = (int64_t)v->n;
	if (head_bad && named.server[0] &&
	    strcmp(named.server, a->cfg.server_name) != 0) {
		snprintf(out->problem, sizeof(out->problem),
			 "signed head: the head is signed as %s; this command "
			 "uses %s: give --alias-domain %s (CMR_ALIAS_DOMAIN)",
			 named.server, a->cfg.server_name, named.server);
		return 0;
	}
	if (head_bad) {
		snprintf(out->problem, sizeof(out->problem),
			 "signed head: the signature does not verify with "
			 "any of this server's keys");
		return 0;
	}
	struct chain_report report;
	if (chain_verify(v->entries, v->n, hp, &report) != 0) {
		snprintf(out->problem, sizeof(out->problem),
			 "entry %lld: %s: %s", (long long)report.seq,
			 chain_fault_name(report.fault), report.why);
		return 0;
	}
	out->verified = true;
	if (v->n > 0) {
		out->last.seq = v->entries[v->n - 1].seq;
		chain_hex_decode(v->entries[v->n - 1].hash, out->last.hash);
	}
	return 0;
}

static int verify_person(const struct store_person *p, void *arg)
{
	struct verify_all *va = arg;
	struct ledger_verdict verdict;
	char per[ID_SIZE];

	va->seen++;
	va->last = p->id;
	if (verify_chain(va->a, p->id, &va->v, &verdict) != 0) {
		va->fault = 1;
		return 1;
	}
	va->persons++;
	va->entries += verdict.entries;
	if (!verdict.verified) {
		id_encode(ID_PERSON, p->id, per);
		fprintf(va->out, "%s: %s\n", per, verdict.problem);
		va->broken++;
	}
	return 0;
}

enum app_status ledger_verify_person(struct app *a, uint64_t person,
				     json_t **out, struct app_error *err)
{
	struct verify_ctx v = { 0 };
	struct ledger_verdict verdict;
	char *note = NULL;
	json_t *head = NULL;

	*out = NULL;
	int rc = verify_chain(a, person, &v, &verdict);
	verify_reset(&v);
	free(v.entries);
	free(v.datas);
	if (rc != 0)
		return app_fail(err, APP_FAULT, NULL,
				"the ledger cannot be read");
	if (verdict.verified) {
		/* The head of the chain just verified, signed now (as GET
		 * /v1/me/ledger/head gives it, not recorded). */
		struct note_head h = { .seq = verdict.last.seq };
		char hex[CHAIN_HASH_HEX + 1];
		memcpy(h.hash, verdict.last.hash, 32);
		if (ledger_note_sign(a, person, &h, &note) != APP_OK)
			return app_fail(err, APP_FAULT, NULL,
					"the head could not be signed");
		chain_hex_encode(h.hash, hex);
		head = json_pack("{s:s,s:I,s:s,s:s}", "note", note, "seq",
				 (json_int_t)h.seq, "hash", hex, "key_id",
				 keys_id(a->keys));
		free(note);
	}
	*out = json_pack("{s:b,s:I,s:o,s:o}", "verified", verdict.verified,
			 "entries", (json_int_t)verdict.entries, "head",
			 head ? head : json_null(), "problem",
			 verdict.verified ? json_null()
					  : json_string(verdict.problem));
	if (*out == NULL || (verdict.verified && head == NULL)) {
		json_decref(*out);
		*out = NULL;
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	return APP_OK;
}

int ledger_verify_all(struct app *a, FILE *out, int *persons, int64_t *entries)
{
	struct verify_all va = { .a = a, .out = out };
	int rc = STORE_OK;

	/* Persons come in pages of 1000; verify_person records the last. */
	for (;;) {
		int seen = va.seen;
		rc = store_person_list(a->reads, va.last, 1000, verify_person,
				       &va);
		if (rc != STORE_OK || va.fault || va.seen - seen < 1000)
			break;
	}
	verify_reset(&va.v);
	free(va.v.entries);
	free(va.v.datas);
	if (rc != STORE_OK || va.fault)
		return -1;
	if (persons)
		*persons = va.persons;
	if (entries)
		*entries = va.entries;
	return va.broken ? 1 : 0;
}

struct ledger_page {
	json_t *items;
	int64_t last;
	struct sealed_key key; /* the person's, to open what they named */
	bool keyed;	       /* key loaded */
};

/* What the person named and the entry holds sealed (ledger_sealed_data_tx:
 * a member {"sealed": …}), opened with their key: a new object of those
 * members in clear, or NULL when there is none (or no key). The entry's
 * data stays as hashed, so the chain still verifies. */
static json_t *ledger_opened(const json_t *data, const struct ledger_page *lp)
{
	json_t *out = NULL, *v;
	const char *name;
	if (!lp->keyed)
		return NULL;
	json_object_foreach ((json_t *)data, name, v) {
		const char *sealed =
			json_string_value(json_object_get(v, "sealed"));
		char *plain = NULL;
		size_t len = 0;
		if (!json_is_object(v) || json_object_size(v) != 1 || !sealed ||
		    keys_open(lp->key.dk, sealed, &plain, &len) != 0)
			continue;
		json_t *clear = json_loadb(plain, len, JSON_DECODE_ANY, NULL);
		keys_free_plain(plain, len);
		if (clear == NULL)
			continue;
		if (out == NULL)
			out = json_object();
		json_object_set_new(out, name, clear);
	}
	return out;
}

static int ledger_item(const struct store_ledger_entry *e, void *arg)
{
	struct ledger_page *lp = arg;
	char at[CHAIN_AT_LEN + 1], prev[CHAIN_HASH_HEX + 1],
		hash[CHAIN_HASH_HEX + 1];
	chain_format_at(e->at_ms, at);
	chain_hex_encode(e->prev, prev);
	chain_hex_encode(e->hash, hash);
	json_t *data = json_loads(e->data, 0, NULL);
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:s}", "seq", (json_int_t)e->seq,
		"at", at, "actor", e->actor, "type", e->type, "relationship",
		e->relationship[0] ? json_string(e->relationship) : json_null(),
		"data", data ? data : json_object(), "prev", prev, "hash",
		hash);
	json_t *opened =
		o ? ledger_opened(json_object_get(o, "data"), lp) : NULL;
	if (opened)
		json_object_set_new(o, "opened", opened);
	json_array_append_new(lp->items, o);
	lp->last = e->seq;
	return 0;
}

enum app_status ledger_page(struct app *a, uint64_t person, int64_t after,
			    int limit, json_t *items, int64_t *last,
			    struct app_error *err)
{
	struct ledger_page lp = { items, 0, { 0 }, false };
	lp.keyed = sealed_key(a->reads, a->keys, person, &lp.key) == APP_OK;
	int rc = store_ledger_list(a->reads, person, after, limit, ledger_item,
				   &lp);
	sealed_key_clear(&lp.key);
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	*last = lp.last;
	return APP_OK;
}
