/*
 * test_chain.c — ledger entries: the chain's test vector (from the
 * struct and from the literal bytes), the `at` formatter, the entry's JSON
 * form, and the verifier against every kind of tampering it must name:
 * an edited entry, a deleted one, a reordered pair, a rewritten one, a
 * truncated chain and a head that does not match.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain.h"
#include "ledger/jcs.h"

#define VECTOR_BYTES                                                           \
	"{\"actor\":\"person\",\"at\":\"2026-11-23T10:00:00.000Z\","           \
	"\"data\":{\"channels\":[\"email\"],\"topics\":[\"offers\","           \
	"\"orders\"]},\"prev\":\"000000000000000000000000000000000000000000"   \
	"0000000000000000000000\",\"relationship\":\"rel_5vqc3kq8wz2m7n4p\","  \
	"\"seq\":1,\"type\":\"relationship.accepted\"}"
#define VECTOR_HASH                                                            \
	"6ec191b2dfd41723f8fe3d2699c364482e6b39a39f7e39e927ebef12ba1cfe29"
#define ZERO_HEX                                                               \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* ---- The test vector ---- */

Test(chain, vector_from_literal_bytes)
{
	uint8_t prev[CHAIN_HASH_BYTES] = { 0 }, h[CHAIN_HASH_BYTES];
	char hex[CHAIN_HASH_HEX + 1];

	cr_assert_eq(
		chain_hash_bytes(prev, VECTOR_BYTES, strlen(VECTOR_BYTES), h),
		CHAIN_OK);
	chain_hex_encode(h, hex);
	cr_expect_str_eq(hex, VECTOR_HASH);
}

/* The other reading of "raw bytes of prev" — the 64 hex characters — must
 * not give the vector: this pins which one the chain uses. */
Test(chain, vector_is_not_the_hex_reading)
{
	uint8_t h[CHAIN_HASH_BYTES];
	char hex[CHAIN_HASH_HEX + 1];
	size_t n = strlen(ZERO_HEX) + strlen(VECTOR_BYTES);
	char *buf = malloc(n + 1);

	cr_assert_not_null(buf);
	snprintf(buf, n + 1, "%s%s", ZERO_HEX, VECTOR_BYTES);
	cr_assert_eq(crypto_generichash(h, sizeof(h), (unsigned char *)buf, n,
					NULL, 0),
		     0);
	chain_hex_encode(h, hex);
	cr_expect_str_neq(hex, VECTOR_HASH);
	free(buf);
}

static json_t *vector_data(void)
{
	return json_pack("{s:[s,s],s:[s]}", "topics", "offers", "orders",
			 "channels", "email");
}

static void vector_entry(struct chain_entry *e, json_t *data)
{
	memset(e, 0, sizeof(*e));
	e->seq = 1;
	cr_assert_eq(chain_format_at(1795428000000LL, e->at), CHAIN_OK);
	e->actor = "person";
	e->type = "relationship.accepted";
	e->relationship = "rel_5vqc3kq8wz2m7n4p";
	e->data = data;
	memcpy(e->prev, ZERO_HEX, CHAIN_HASH_HEX + 1);
}

Test(chain, vector_from_the_struct)
{
	struct chain_entry e;
	json_t *data = vector_data(), *o;
	char *jcs;
	size_t len;

	vector_entry(&e, data);
	cr_assert_eq(chain_entry_to_json(&e, false, &o), CHAIN_OK);
	cr_assert_eq(jcs_serialize(o, &jcs, &len), JCS_OK);
	cr_expect_str_eq(jcs, VECTOR_BYTES);
	free(jcs);
	json_decref(o);

	cr_assert_eq(chain_entry_set_hash(&e), CHAIN_OK);
	cr_expect_str_eq(e.hash, VECTOR_HASH);
	json_decref(data);
}

Test(chain, hash_covers_every_field)
{
	struct chain_entry e, f;
	json_t *data = vector_data(), *other = json_object();

	vector_entry(&e, data);
	cr_assert_eq(chain_entry_set_hash(&e), CHAIN_OK);

	f = e;
	f.seq = 2;
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	f = e;
	f.at[22] = '1';
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	f = e;
	f.actor = "brand";
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	f = e;
	f.type = "relationship.ended";
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	f = e;
	f.relationship = NULL;
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	f = e;
	f.data = other;
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	f = e;
	f.prev[63] = '1';
	cr_assert_eq(chain_entry_set_hash(&f), CHAIN_OK);
	cr_expect_str_neq(f.hash, e.hash);
	json_decref(data);
	json_decref(other);
}

Test(chain, null_relationship_is_json_null)
{
	struct chain_entry e;
	json_t *data = json_object(), *o;

	vector_entry(&e, data);
	e.relationship = NULL;
	e.type = "profile.changed";
	cr_assert_eq(chain_entry_to_json(&e, false, &o), CHAIN_OK);
	cr_expect(json_is_null(json_object_get(o, "relationship")));
	cr_expect_null(json_object_get(o, "hash"));
	json_decref(o);
	json_decref(data);
}

/* ---- at ---- */

Test(chain, format_at)
{
	char at[CHAIN_AT_LEN + 1];

	cr_assert_eq(chain_format_at(0, at), CHAIN_OK);
	cr_expect_str_eq(at, "1970-01-01T00:00:00.000Z");
	cr_assert_eq(chain_format_at(1795428000000LL, at), CHAIN_OK);
	cr_expect_str_eq(at, "2026-11-23T10:00:00.000Z");
	cr_assert_eq(chain_format_at(1709251199123LL, at), CHAIN_OK);
	cr_expect_str_eq(at, "2024-02-29T23:59:59.123Z");
	cr_assert_eq(chain_format_at(951868800000LL, at), CHAIN_OK);
	cr_expect_str_eq(at, "2000-03-01T00:00:00.000Z");
	cr_assert_eq(chain_format_at(CHAIN_AT_MS_MAX, at), CHAIN_OK);
	cr_expect_str_eq(at, "9999-12-31T23:59:59.999Z");
	cr_expect_eq(chain_format_at(-1, at), CHAIN_EINVAL);
	cr_expect_eq(chain_format_at(CHAIN_AT_MS_MAX + 1, at), CHAIN_EINVAL);
}

Test(chain, parse_at_round_trips)
{
	char at[CHAIN_AT_LEN + 1];
	uint64_t x = 1;
	int64_t ms, back;
	int i;

	/* A spread of instants, days and leap years included. */
	for (i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		back = (int64_t)(x % (uint64_t)(CHAIN_AT_MS_MAX + 1));
		cr_assert_eq(chain_format_at(back, at), CHAIN_OK);
		cr_assert_eq(chain_parse_at(at, &ms), CHAIN_OK, "%s", at);
		cr_assert_eq(ms, back, "%s", at);
	}
}

Test(chain, parse_at_is_strict)
{
	static const char *bad[] = {
		"2026-11-23T10:00:00Z",
		"2026-11-23T10:00:00.00Z",
		"2026-11-23T10:00:00.000+00:00",
		"2026-11-23t10:00:00.000Z",
		"2026-11-23T10:00:00.000z",
		"2026-11-23 10:00:00.000Z",
		"2026-02-29T10:00:00.000Z",
		"1900-02-29T10:00:00.000Z",
		"2026-04-31T10:00:00.000Z",
		"2026-13-01T10:00:00.000Z",
		"2026-00-01T10:00:00.000Z",
		"2026-11-00T10:00:00.000Z",
		"2026-11-23T24:00:00.000Z",
		"2026-11-23T10:60:00.000Z",
		"2026-11-23T10:00:60.000Z",
		"1969-12-31T23:59:59.999Z",
		"2026-11-23T10:00:00.0a0Z",
		"+026-11-23T10:00:00.000Z",
		"",
	};
	int64_t ms;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(chain_parse_at(bad[i], &ms), CHAIN_EINVAL, "%s",
			     bad[i]);
	cr_expect_eq(chain_parse_at(NULL, &ms), CHAIN_EINVAL);
	cr_expect_eq(chain_parse_at("2000-02-29T00:00:00.000Z", &ms), CHAIN_OK);
}

/* ---- tables, hex ---- */

Test(chain, type_table)
{
	size_t n = 0;

	while (chain_types[n])
		cr_expect(chain_type_valid(chain_types[n++]));
	cr_expect_eq(n, 20);
	cr_expect(chain_type_valid("reply.sent"));
	cr_expect(chain_type_valid("erasure"));
	cr_expect(chain_type_valid("fields.read"));
	/* The person's own changes, kept from every brand. */
	cr_expect(chain_type_valid("relationship.muted"));
	cr_expect(chain_type_valid("relationship.unmuted"));
	cr_expect(chain_type_valid("settings.changed"));
	cr_expect(!chain_type_valid("relationship.Accepted"));
	cr_expect(!chain_type_valid("relationship"));
	cr_expect(!chain_type_valid(""));
	cr_expect(!chain_type_valid(NULL));
	cr_expect(chain_actor_valid("system"));
	cr_expect(!chain_actor_valid("admin"));
	cr_expect(!chain_actor_valid(NULL));
}

Test(chain, hex_is_strict)
{
	uint8_t h[CHAIN_HASH_BYTES];
	char hex[CHAIN_HASH_HEX + 2];

	cr_expect_eq(chain_hex_decode(VECTOR_HASH, h), CHAIN_OK);
	chain_hex_encode(h, hex);
	cr_expect_str_eq(hex, VECTOR_HASH);
	memcpy(hex, VECTOR_HASH, sizeof(VECTOR_HASH));
	hex[0] = 'A';
	cr_expect_eq(chain_hex_decode(hex, h), CHAIN_EINVAL);
	hex[0] = 'g';
	cr_expect_eq(chain_hex_decode(hex, h), CHAIN_EINVAL);
	memcpy(hex, VECTOR_HASH, sizeof(VECTOR_HASH));
	hex[64] = '0';
	hex[65] = '\0';
	cr_expect_eq(chain_hex_decode(hex, h), CHAIN_EINVAL);
	hex[63] = '\0';
	cr_expect_eq(chain_hex_decode(hex, h), CHAIN_EINVAL);
	cr_expect_eq(chain_hex_decode(NULL, h), CHAIN_EINVAL);
}

Test(chain, check_refuses_bad_fields)
{
	struct chain_entry e, f;
	json_t *data = json_object(), *arr = json_array(), *o;
	char why[CHAIN_WHY_MAX];

	vector_entry(&e, data);
	cr_expect_eq(chain_entry_check(&e, why, sizeof(why)), CHAIN_OK);
	f = e;
	f.seq = 0;
	cr_expect_eq(chain_entry_check(&f, why, sizeof(why)), CHAIN_EINVAL);
	cr_expect(strstr(why, "seq") != NULL, "%s", why);
	f = e;
	f.seq = 9007199254740992LL;
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.actor = "robot";
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.type = "relationship.paused";
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.relationship = "brd_5vqc3kq8wz2m7n4p";
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.relationship = "rel_";
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.data = arr;
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.data = NULL;
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	f.prev[0] = 'X';
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	f = e;
	memcpy(f.at, "2026-11-23T10:00:00.000+", CHAIN_AT_LEN);
	cr_expect_eq(chain_entry_check(&f, NULL, 0), CHAIN_EINVAL);
	/* A hash is needed to write one out. */
	cr_expect_eq(chain_entry_to_json(&e, true, &o), CHAIN_EINVAL);
	cr_expect_null(o);
	json_decref(data);
	json_decref(arr);
}

Test(chain, data_outside_the_subset_cannot_be_hashed)
{
	struct chain_entry e;
	json_t *data = json_pack("{s:f}", "amount", 1.5);
	uint8_t h[CHAIN_HASH_BYTES];

	vector_entry(&e, data);
	cr_expect_eq(chain_entry_hash(&e, h), CHAIN_EINVAL);
	json_decref(data);
}

/* ---- JSON form ---- */

Test(chain, json_round_trip)
{
	struct chain_entry e, back;
	json_t *data = vector_data(), *o;
	char why[CHAIN_WHY_MAX];

	vector_entry(&e, data);
	cr_assert_eq(chain_entry_set_hash(&e), CHAIN_OK);
	cr_assert_eq(chain_entry_to_json(&e, true, &o), CHAIN_OK);
	cr_assert_eq(chain_entry_from_json(o, true, &back, why, sizeof(why)),
		     CHAIN_OK, "%s", why);
	cr_expect_eq(back.seq, 1);
	cr_expect_str_eq(back.at, e.at);
	cr_expect_str_eq(back.actor, "person");
	cr_expect_str_eq(back.relationship, e.relationship);
	cr_expect(json_equal(back.data, data));
	cr_expect_str_eq(back.hash, VECTOR_HASH);
	/* Without want_hash, "hash" is one key too many. */
	cr_expect_eq(chain_entry_from_json(o, false, &back, why, sizeof(why)),
		     CHAIN_EINVAL);
	json_decref(o);
	json_decref(data);
}

static void expect_from_json_fails(const char *text, const char *why_part)
{
	json_t *o = json_loads(text, 0, NULL);
	struct chain_entry e;
	char why[CHAIN_WHY_MAX] = "";

	cr_assert_not_null(o, "%s", text);
	cr_expect_eq(chain_entry_from_json(o, false, &e, why, sizeof(why)),
		     CHAIN_EINVAL, "%s", text);
	cr_expect(strstr(why, why_part) != NULL, "%s: %s", text, why);
	json_decref(o);
}

#define GOOD_PREFIX                                                            \
	"\"actor\":\"person\",\"at\":\"2026-11-23T10:00:00.000Z\","            \
	"\"data\":{},\"prev\":\"" ZERO_HEX "\",\"type\":\"erasure\""

Test(chain, from_json_refuses_bad_objects)
{
	expect_from_json_fails("[]", "not an object");
	expect_from_json_fails("{" GOOD_PREFIX ",\"relationship\":null}",
			       "seq");
	expect_from_json_fails("{" GOOD_PREFIX ",\"seq\":1}", "relationship");
	expect_from_json_fails("{" GOOD_PREFIX ",\"seq\":1,\"relationship\":"
			       "null,\"extra\":1}",
			       "key");
	expect_from_json_fails("{" GOOD_PREFIX ",\"seq\":\"1\","
			       "\"relationship\":null}",
			       "seq");
	expect_from_json_fails("{" GOOD_PREFIX ",\"seq\":1.0,"
			       "\"relationship\":null}",
			       "seq");
	expect_from_json_fails("{" GOOD_PREFIX ",\"seq\":1,"
			       "\"relationship\":5}",
			       "relationship");
	expect_from_json_fails("{\"actor\":\"person\",\"at\":5,\"data\":{},"
			       "\"prev\":\"" ZERO_HEX "\",\"type\":\"erasure\","
			       "\"seq\":1,\"relationship\":null}",
			       "at");
	expect_from_json_fails("{\"actor\":\"person\",\"at\":\"2026-11-23T10:"
			       "00:00.000Z\",\"data\":{},\"prev\":\"00\","
			       "\"type\":\"erasure\",\"seq\":1,"
			       "\"relationship\":null}",
			       "prev");
	expect_from_json_fails("{\"actor\":7,\"at\":\"2026-11-23T10:00:00."
			       "000Z\",\"data\":{},\"prev\":\"" ZERO_HEX "\","
			       "\"type\":\"erasure\",\"seq\":1,"
			       "\"relationship\":null}",
			       "actor");
	expect_from_json_fails("{\"actor\":\"person\",\"at\":\"2026-11-23T10:"
			       "00:00.000Z\",\"data\":[],\"prev\":\"" ZERO_HEX
			       "\",\"type\":\"erasure\",\"seq\":1,"
			       "\"relationship\":null}",
			       "data");
}

Test(chain, from_json_refuses_nul_in_strings)
{
	json_t *o = json_loads("{" GOOD_PREFIX ",\"seq\":1,\"relationship\":"
			       "\"rel_abc\\u0000x\"}",
			       JSON_ALLOW_NUL, NULL);
	struct chain_entry e;

	cr_assert_not_null(o);
	cr_expect_eq(chain_entry_from_json(o, false, &e, NULL, 0),
		     CHAIN_EINVAL);
	json_decref(o);
}

/* ---- The verifier ---- */

#define N 6

/* A chain of N well-linked entries; data objects live until fini. */
static struct chain_entry chain[N];
static json_t *chain_data[N];

static void build_chain(void)
{
	static const char *types[N] = {
		"proposal.received", "relationship.accepted",
		"terms.changed",     "fields.read",
		"credit.issued",     "relationship.ended",
	};
	int i;

	for (i = 0; i < N; i++) {
		struct chain_entry *e = &chain[i];

		chain_data[i] =
			json_pack("{s:i,s:s}", "n", i, "field", "email");
		memset(e, 0, sizeof(*e));
		e->seq = i + 1;
		cr_assert_eq(chain_format_at(1795428000000LL + i * 1000, e->at),
			     CHAIN_OK);
		e->actor = i % 2 ? "brand" : "person";
		e->type = types[i];
		e->relationship = "rel_5vqc3kq8wz2m7n4p";
		e->data = chain_data[i];
		memcpy(e->prev, i ? chain[i - 1].hash : ZERO_HEX,
		       CHAIN_HASH_HEX + 1);
		cr_assert_eq(chain_entry_set_hash(e), CHAIN_OK);
	}
}

static void free_chain(void)
{
	int i;

	for (i = 0; i < N; i++)
		json_decref(chain_data[i]);
}

static struct chain_head head_at(int64_t seq)
{
	struct chain_head h = { seq, { 0 } };

	if (seq > 0)
		cr_assert_eq(chain_hex_decode(chain[seq - 1].hash, h.hash),
			     CHAIN_OK);
	return h;
}

static void expect_fault(const struct chain_entry *entries, size_t n,
			 const struct chain_head *head, enum chain_fault fault,
			 int64_t seq)
{
	struct chain_report r;
	int rc = chain_verify(entries, n, head, &r);

	cr_expect_eq(rc, fault == CHAIN_INTACT ? 0 : -1);
	cr_expect_eq(r.fault, fault, "fault %s (%s), want %s",
		     chain_fault_name(r.fault), r.why, chain_fault_name(fault));
	cr_expect_eq(r.seq, seq, "seq %lld (%s), want %lld", (long long)r.seq,
		     r.why, (long long)seq);
}

TestSuite(verify, .init = build_chain, .fini = free_chain);

Test(verify, intact_chain)
{
	struct chain_head h = head_at(N), mid = head_at(3), none = head_at(0);

	expect_fault(chain, N, NULL, CHAIN_INTACT, 0);
	expect_fault(chain, N, &h, CHAIN_INTACT, 0);
	expect_fault(chain, N, &mid, CHAIN_INTACT, 0);
	expect_fault(chain, N, &none, CHAIN_INTACT, 0);
	expect_fault(chain, 0, NULL, CHAIN_INTACT, 0);
	expect_fault(chain, 0, &none, CHAIN_INTACT, 0);
}

Test(verify, edited_data)
{
	json_t *forged = json_pack("{s:i,s:s}", "n", 2, "field", "phone");

	chain[2].data = forged;
	expect_fault(chain, N, NULL, CHAIN_FAULT_EDITED, 3);
	json_decref(forged);
}

Test(verify, edited_time)
{
	chain[4].at[18] = '9';
	expect_fault(chain, N, NULL, CHAIN_FAULT_EDITED, 5);
}

Test(verify, edited_actor)
{
	chain[1].actor = "person";
	expect_fault(chain, N, NULL, CHAIN_FAULT_EDITED, 2);
}

Test(verify, edited_hash)
{
	chain[0].hash[10] = chain[0].hash[10] == 'a' ? 'b' : 'a';
	expect_fault(chain, N, NULL, CHAIN_FAULT_EDITED, 1);
}

/* An entry rewritten whole, its hash recomputed: it is consistent in
 * itself, and the break shows at the next entry's link. */
Test(verify, rewritten_entry_breaks_the_next_link)
{
	json_t *forged = json_pack("{s:i}", "n", 99);

	chain[2].data = forged;
	cr_assert_eq(chain_entry_set_hash(&chain[2]), CHAIN_OK);
	expect_fault(chain, N, NULL, CHAIN_FAULT_LINK, 4);
	json_decref(forged);
}

Test(verify, rewritten_last_entry_against_head)
{
	struct chain_head h = head_at(N);
	json_t *forged = json_pack("{s:i}", "n", 99);

	chain[N - 1].data = forged;
	cr_assert_eq(chain_entry_set_hash(&chain[N - 1]), CHAIN_OK);
	expect_fault(chain, N, NULL, CHAIN_INTACT, 0);
	expect_fault(chain, N, &h, CHAIN_FAULT_HEAD, N);
	json_decref(forged);
}

Test(verify, first_entry_must_link_to_zeros)
{
	chain[0].prev[5] = '1';
	cr_assert_eq(chain_entry_set_hash(&chain[0]), CHAIN_OK);
	expect_fault(chain, N, NULL, CHAIN_FAULT_LINK, 1);
}

Test(verify, deleted_entry)
{
	struct chain_entry gap[N - 1];

	/* Entry 3 removed, the others left as they were. */
	memcpy(gap, chain, 2 * sizeof(gap[0]));
	memcpy(gap + 2, chain + 3, (N - 3) * sizeof(gap[0]));
	expect_fault(gap, N - 1, NULL, CHAIN_FAULT_DELETED, 3);
	/* Entry 1 removed. */
	expect_fault(chain + 1, N - 1, NULL, CHAIN_FAULT_DELETED, 1);
}

Test(verify, deleted_entry_renumbered)
{
	struct chain_entry gap[N - 1];

	/* Entry 3 removed and the later seqs renumbered, hashes recomputed:
	 * entry 3 (once 4) no longer links to entry 2. */
	memcpy(gap, chain, 2 * sizeof(gap[0]));
	memcpy(gap + 2, chain + 3, (N - 3) * sizeof(gap[0]));
	gap[2].seq = 3;
	cr_assert_eq(chain_entry_set_hash(&gap[2]), CHAIN_OK);
	expect_fault(gap, N - 1, NULL, CHAIN_FAULT_LINK, 3);
}

Test(verify, reordered_pair)
{
	struct chain_entry swapped[N];

	memcpy(swapped, chain, sizeof(swapped));
	swapped[1] = chain[2];
	swapped[2] = chain[1];
	expect_fault(swapped, N, NULL, CHAIN_FAULT_REORDERED, 2);
	/* The last two swapped. */
	memcpy(swapped, chain, sizeof(swapped));
	swapped[N - 2] = chain[N - 1];
	swapped[N - 1] = chain[N - 2];
	expect_fault(swapped, N, NULL, CHAIN_FAULT_REORDERED, N - 1);
}

Test(verify, duplicated_entry)
{
	struct chain_entry dup[3] = { chain[0], chain[1], chain[1] };

	expect_fault(dup, 3, NULL, CHAIN_FAULT_REORDERED, 3);
}

Test(verify, truncated_chain)
{
	struct chain_head h = head_at(N);

	/* The last two entries gone: fine alone, caught by the head. */
	expect_fault(chain, N - 2, NULL, CHAIN_INTACT, 0);
	expect_fault(chain, N - 2, &h, CHAIN_FAULT_TRUNCATED, N - 1);
	expect_fault(chain, 0, &h, CHAIN_FAULT_TRUNCATED, 1);
}

Test(verify, head_mismatch)
{
	struct chain_head h = head_at(4);

	h.hash[0] ^= 1;
	expect_fault(chain, N, &h, CHAIN_FAULT_HEAD, 4);
	h = head_at(0);
	h.hash[31] = 1;
	expect_fault(chain, N, &h, CHAIN_FAULT_HEAD, 0);
	h.seq = -1;
	expect_fault(chain, N, &h, CHAIN_FAULT_HEAD, 0);
}

Test(verify, malformed_entry)
{
	chain[3].type = "relationship.paused";
	expect_fault(chain, N, NULL, CHAIN_FAULT_MALFORMED, 4);
}

Test(verify, reports_name_the_entry)
{
	struct chain_report r;
	json_t *forged = json_object();

	chain[2].data = forged;
	cr_assert_eq(chain_verify(chain, N, NULL, &r), -1);
	cr_expect_str_eq(chain_fault_name(r.fault), "edited");
	cr_expect(strstr(r.why, "entry 3") != NULL, "%s", r.why);
	json_decref(forged);
}

/* The JSON walk: an export, as `cmr ledger verify` would read it. */
static json_t *chain_json(void)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < N; i++) {
		json_t *o;

		cr_assert_eq(chain_entry_to_json(&chain[i], true, &o),
			     CHAIN_OK);
		json_array_append_new(a, o);
	}
	return a;
}

Test(verify, json_chain)
{
	struct chain_head h = head_at(N);
	struct chain_report r;
	json_t *a = chain_json(), *data;

	cr_expect_eq(chain_verify_json(a, &h, &r), 0, "%s", r.why);
	cr_expect_eq(r.fault, CHAIN_INTACT);

	/* Edit a value inside an exported entry. */
	data = json_object_get(json_array_get(a, 3), "data");
	json_object_set_new(data, "field", json_string("phone"));
	cr_expect_eq(chain_verify_json(a, &h, &r), -1);
	cr_expect_eq(r.fault, CHAIN_FAULT_EDITED);
	cr_expect_eq(r.seq, 4);

	/* A real in entry 5: malformed there, but entry 4 breaks first. */
	data = json_object_get(json_array_get(a, 4), "data");
	json_object_set_new(data, "x", json_real(0.5));
	cr_expect_eq(chain_verify_json(a, &h, &r), -1);
	cr_expect_eq(r.seq, 4);
	json_decref(a);
}

Test(verify, json_chain_malformed)
{
	struct chain_report r;
	json_t *a = chain_json();

	json_object_set_new(json_array_get(a, 2), "note", json_true());
	cr_expect_eq(chain_verify_json(a, NULL, &r), -1);
	cr_expect_eq(r.fault, CHAIN_FAULT_MALFORMED);
	cr_expect_eq(r.seq, 3);
	json_object_del(json_array_get(a, 2), "note");
	json_object_set_new(json_object_get(json_array_get(a, 2), "data"), "x",
			    json_real(0.5));
	cr_expect_eq(chain_verify_json(a, NULL, &r), -1);
	cr_expect_eq(r.fault, CHAIN_FAULT_MALFORMED);
	cr_expect_eq(r.seq, 3);
	json_decref(a);
	a = json_object();
	cr_expect_eq(chain_verify_json(a, NULL, &r), -1);
	cr_expect_eq(r.fault, CHAIN_FAULT_MALFORMED);
	json_decref(a);
}
