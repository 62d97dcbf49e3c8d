/*
 * test_note.c — signed notes and the ledger head: byte-for-byte agreement
 * with the reference implementation (golang.org/x/mod/sumdb/note, whose
 * published test key and signature are used here), signing and verifying
 * heads, and the rejection of other keys, edited texts and malformed notes.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/note.h"

/* ---- The reference implementation's test vectors ---- */

/* The seed inside Go's test signer key
 *   "PRIVATE+KEY+PeterNeumann+c74f20a3+"
 *   "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
 * (after its 0x01 type byte). */
static const uint8_t peter_seed[32] = {
	0x81, 0x0a, 0x14, 0x02, 0xd5, 0x14, 0x6c, 0x8d, 0x84, 0xf2, 0x44,
	0x33, 0x30, 0xf5, 0x40, 0x80, 0xeb, 0xf9, 0x8e, 0xe1, 0x7d, 0x9c,
	0x74, 0xf6, 0x25, 0x2f, 0xc5, 0xd5, 0xc7, 0x28, 0x31, 0x73,
};
#define PETER_VKEY                                                             \
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define ENOCH_VKEY                                                             \
	"EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
#define GO_TEXT                                                                \
	"If you think cryptography is the answer to your problem,\n"           \
	"then you don't know what your problem is.\n"
#define PETER_SIG                                                              \
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZ" \
	"InNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define ENOCH_SIG                                                              \
	"\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5" \
	"n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

static struct keys *peter(void)
{
	uint8_t kek[KEYS_KEK_BYTES] = { 0 };
	struct keys *k;

	cr_assert_eq(keys_from_bytes(peter_seed, kek, &k), 0);
	return k;
}

/* The public key inside a verifier key string. */
static void vkey_public(const char *vkey, uint8_t pk[KEYS_PUBLIC_BYTES])
{
	const char *b64 = strrchr(vkey, '+') + 1;
	uint8_t raw[64];
	size_t n;

	cr_assert_eq(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL,
				       &n, NULL,
				       sodium_base64_VARIANT_ORIGINAL),
		     0);
	cr_assert_eq(n, 33);
	cr_assert_eq(raw[0], 0x01);
	memcpy(pk, raw + 1, KEYS_PUBLIC_BYTES);
}

static int open_str(const char *note, const char *name, const uint8_t *pk,
		    size_t *text_len)
{
	return note_open(note, strlen(note), name, pk, text_len);
}

Test(note, reference_verifier_key_and_key_hash)
{
	struct keys *k = peter();
	uint8_t id[NOTE_KEY_HASH_BYTES];
	char *vkey;

	cr_assert_eq(note_key_hash("PeterNeumann", keys_public_key(k), id),
		     NOTE_OK);
	cr_expect_eq(id[0], 0xc7);
	cr_expect_eq(id[1], 0x4f);
	cr_expect_eq(id[2], 0x20);
	cr_expect_eq(id[3], 0xa3);
	cr_assert_eq(
		note_verifier_key("PeterNeumann", keys_public_key(k), &vkey),
		NOTE_OK);
	cr_expect_str_eq(vkey, PETER_VKEY);
	free(vkey);
	keys_free(k);
}

Test(note, reference_signature_is_reproduced)
{
	struct keys *k = peter();
	char *note;
	size_t len, text_len;

	cr_assert_eq(note_sign(k, "PeterNeumann", GO_TEXT, strlen(GO_TEXT),
			       &note, &len),
		     NOTE_OK);
	cr_expect_str_eq(note, GO_TEXT "\n" PETER_SIG);
	cr_expect_eq(len, strlen(note));
	cr_expect_eq(note_open(note, len, "PeterNeumann", keys_public_key(k),
			       &text_len),
		     NOTE_OK);
	cr_expect_eq(text_len, strlen(GO_TEXT));
	free(note);
	keys_free(k);
}

Test(note, reference_notes_open)
{
	uint8_t pk[KEYS_PUBLIC_BYTES], enoch[KEYS_PUBLIC_BYTES];
	size_t text_len;

	vkey_public(PETER_VKEY, pk);
	vkey_public(ENOCH_VKEY, enoch);
	/* Another key's signature beside ours is skipped. */
	cr_expect_eq(open_str(GO_TEXT "\n" PETER_SIG ENOCH_SIG, "PeterNeumann",
			      pk, &text_len),
		     NOTE_OK);
	cr_expect_eq(text_len, strlen(GO_TEXT));
	cr_expect_eq(open_str(GO_TEXT "\n" PETER_SIG ENOCH_SIG, "EnochRoot",
			      enoch, &text_len),
		     NOTE_OK);
	/* Only the other key's signature: no good signature of ours. */
	cr_expect_eq(
		open_str(GO_TEXT "\n" ENOCH_SIG, "PeterNeumann", pk, &text_len),
		NOTE_EBADSIG);
	cr_expect_eq(text_len, 0);
	/* Our signature repeated, as the reference accepts. */
	cr_expect_eq(open_str(GO_TEXT "\n" PETER_SIG PETER_SIG ENOCH_SIG,
			      "PeterNeumann", pk, &text_len),
		     NOTE_OK);
}

Test(note, reference_bad_signature)
{
	uint8_t pk[KEYS_PUBLIC_BYTES];
	char note[512];
	size_t text_len;
	const char *sig = PETER_SIG;

	vkey_public(PETER_VKEY, pk);
	/* The reference's "invalid signature" case: ABCD spliced in. */
	snprintf(note, sizeof(note), "%s\n%.60sABCD%s", GO_TEXT, sig, sig + 60);
	cr_expect_eq(open_str(note, "PeterNeumann", pk, &text_len),
		     NOTE_EBADSIG);
	/* The right key, a wrong signature, beside a good one. */
	snprintf(note, sizeof(note), "%s\n%s%.60sA%s", GO_TEXT, sig, sig,
		 sig + 61);
	cr_expect_eq(open_str(note, "PeterNeumann", pk, &text_len),
		     NOTE_EBADSIG);
}

Test(note, reference_malformed_notes)
{
	static const char *bad[] = {
		GO_TEXT,
		GO_TEXT "\n",
		GO_TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/Sffcv"
			"IAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
			"otpRZb6KE6RyyBwJnAM=",
		"\x01" GO_TEXT "\n" PETER_SIG,
		"\xff" GO_TEXT "\n" PETER_SIG,
		GO_TEXT "\n\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBti"
			"FupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6"
			"RyyBwJnAM=",
		GO_TEXT "\n" PETER_SIG "Unexpected line.\n",
	};
	uint8_t pk[KEYS_PUBLIC_BYTES];
	size_t i, text_len;

	vkey_public(PETER_VKEY, pk);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(open_str(bad[i], "PeterNeumann", pk, &text_len),
			     NOTE_EMALFORMED, "case %zu", i);
}

Test(note, signature_count_limit)
{
	uint8_t pk[KEYS_PUBLIC_BYTES];
	size_t line = strlen(PETER_SIG) + strlen(ENOCH_SIG), text_len, i;
	char *note = malloc(strlen(GO_TEXT) + 1 + 101 * line + 1);
	char *p;

	cr_assert_not_null(note);
	vkey_public(PETER_VKEY, pk);
	/* 15 foreign signatures and ours: the spec's 16 must be accepted. */
	p = note + sprintf(note, "%s\n", GO_TEXT);
	for (i = 0; i < 15; i++)
		p += sprintf(p, "%s", ENOCH_SIG);
	sprintf(p, "%s", PETER_SIG);
	cr_expect_eq(open_str(note, "PeterNeumann", pk, &text_len), NOTE_OK);
	/* 101 lines: more than we read. */
	p = note + sprintf(note, "%s\n", GO_TEXT);
	for (i = 0; i < 101; i++)
		p += sprintf(p, "%s", PETER_SIG);
	cr_expect_eq(open_str(note, "PeterNeumann", pk, &text_len),
		     NOTE_EMALFORMED);
	free(note);
}

/* ---- The ledger head ---- */

#define SERVER "cmr.example"
#define PER    "per_5vqc3kq8wz2m7n4p"
#define VECTOR_HASH                                                            \
	"6ec191b2dfd41723f8fe3d2699c364482e6b39a39f7e39e927ebef12ba1cfe29"
#define HEAD_TEXT                                                              \
	"cmr ledger " SERVER "/" PER "\n7\n"                                   \
	"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n"

static struct keys *server_keys(uint8_t fill)
{
	uint8_t seed[KEYS_SEED_BYTES], kek[KEYS_KEK_BYTES] = { 0 };
	struct keys *k;

	memset(seed, fill, sizeof(seed));
	cr_assert_eq(keys_from_bytes(seed, kek, &k), 0);
	return k;
}

static struct note_head vector_head(void)
{
	struct note_head h;

	memset(&h, 0, sizeof(h));
	strcpy(h.server, SERVER);
	strcpy(h.per_id, PER);
	h.seq = 7;
	cr_assert_eq(chain_hex_decode(VECTOR_HASH, h.hash), CHAIN_OK);
	return h;
}

Test(head, text_format)
{
	struct note_head h = vector_head();
	char *text;
	size_t len;

	cr_assert_eq(note_head_text(&h, &text, &len), NOTE_OK);
	cr_expect_str_eq(text, HEAD_TEXT);
	cr_expect_eq(len, strlen(HEAD_TEXT));
	free(text);
}

Test(head, sign_and_verify)
{
	struct keys *k = server_keys(9);
	struct note_head h = vector_head(), back;
	char *note, *sig_line;
	size_t len;

	cr_assert_eq(note_head_sign(k, SERVER, &h, &note, &len), NOTE_OK);
	/* Text, blank line, one signature line of our key. */
	cr_expect_eq(strncmp(note, HEAD_TEXT "\n", strlen(HEAD_TEXT) + 1), 0);
	sig_line = note + strlen(HEAD_TEXT) + 1;
	cr_expect_eq(strncmp(sig_line, "\xe2\x80\x94 " SERVER " ",
			     strlen(SERVER) + 5),
		     0);
	cr_expect_eq(strlen(sig_line), 4 + strlen(SERVER) + 1 + 92 + 1);
	cr_expect_eq(note[len - 1], '\n');

	cr_assert_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_OK);
	cr_expect_str_eq(back.server, SERVER);
	cr_expect_str_eq(back.per_id, PER);
	cr_expect_eq(back.seq, 7);
	cr_expect_eq(memcmp(back.hash, h.hash, sizeof(h.hash)), 0);
	free(note);
	keys_free(k);
}

Test(head, empty_ledger_and_largest_seq)
{
	struct keys *k = server_keys(9);
	struct note_head h = vector_head(), back;
	char *note;
	size_t len;

	h.seq = 0;
	memset(h.hash, 0, sizeof(h.hash));
	cr_assert_eq(note_head_sign(k, SERVER, &h, &note, &len), NOTE_OK);
	cr_expect_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_OK);
	cr_expect_eq(back.seq, 0);
	free(note);
	h.seq = INT64_MAX;
	cr_assert_eq(note_head_sign(k, SERVER, &h, &note, &len), NOTE_OK);
	cr_expect_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_OK);
	cr_expect_eq(back.seq, INT64_MAX);
	free(note);
	keys_free(k);
}

Test(head, another_key_fails)
{
	struct keys *k = server_keys(9), *other = server_keys(10);
	struct note_head h = vector_head(), back;
	char *note;
	size_t len;

	/* Signed by another key under our name: its key hash differs, so
	 * no signature of ours is there. */
	cr_assert_eq(note_head_sign(other, SERVER, &h, &note, &len), NOTE_OK);
	cr_expect_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_EBADSIG);
	cr_expect_eq(back.seq, 0, "nothing is returned from a bad note");
	free(note);
	/* Our key under another name. */
	cr_assert_eq(note_head_sign(k, "other.example", &h, &note, &len),
		     NOTE_OK);
	cr_expect_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_EBADSIG);
	free(note);
	keys_free(k);
	keys_free(other);
}

/* The spec: signatures of unknown keys are ignored "even if they share a
 * name or ID (but not both)" with ours. */
Test(head, same_name_other_key_is_ignored)
{
	struct keys *k = server_keys(9), *other = server_keys(10);
	struct note_head h = vector_head(), back;
	char *ours, *theirs, *both;
	size_t len_ours, len_theirs, text_len = strlen(HEAD_TEXT) + 1;

	cr_assert_eq(note_head_sign(k, SERVER, &h, &ours, &len_ours), NOTE_OK);
	cr_assert_eq(note_head_sign(other, SERVER, &h, &theirs, &len_theirs),
		     NOTE_OK);
	both = malloc(len_ours + len_theirs);
	cr_assert_not_null(both);
	memcpy(both, theirs, len_theirs);
	memcpy(both + len_theirs, ours + text_len, len_ours - text_len + 1);
	cr_expect_eq(note_head_verify(both, len_ours + len_theirs - text_len,
				      SERVER, keys_public_key(k), &back),
		     NOTE_OK);
	cr_expect_eq(back.seq, 7);
	free(both);
	free(ours);
	free(theirs);
	keys_free(k);
	keys_free(other);
}

/* A note whose key hash is ours but whose signature was made by another
 * key: the forger computed a colliding key hash. It must fail. */
Test(head, forged_key_hash_fails)
{
	struct keys *k = server_keys(9), *other = server_keys(10);
	uint8_t id[NOTE_KEY_HASH_BYTES], blob[68];
	char b64[128], note[512];
	size_t len;
	struct note_head back;

	cr_assert_eq(note_key_hash(SERVER, keys_public_key(k), id), NOTE_OK);
	memcpy(blob, id, 4);
	cr_assert_eq(keys_sign(other, HEAD_TEXT, strlen(HEAD_TEXT), blob + 4),
		     0);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
	len = (size_t)snprintf(note, sizeof(note), "%s\n\xe2\x80\x94 %s %s\n",
			       HEAD_TEXT, SERVER, b64);
	cr_expect_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_EBADSIG);
	keys_free(k);
	keys_free(other);
}

/* Replaces the first occurrence of from by to (same length) in a copy. */
static char *edited(const char *note, const char *from, const char *to)
{
	char *copy = strdup(note), *p;

	cr_assert_not_null(copy);
	p = strstr(copy, from);
	cr_assert_not_null(p, "%s not in note", from);
	cr_assert_eq(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
	return copy;
}

Test(head, edited_text_fails)
{
	static const char *edits[][2] = {
		{ "\n7\n", "\n8\n" },
		{ "bsGRst", "bsGRsu" },
		{ "per_5vqc", "per_5vqd" },
		{ "ledger cmr.example", "ledger cmr.exampla" },
	};
	struct keys *k = server_keys(9);
	struct note_head h = vector_head(), back;
	char *note, *bad;
	size_t len, i;

	cr_assert_eq(note_head_sign(k, SERVER, &h, &note, &len), NOTE_OK);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		bad = edited(note, edits[i][0], edits[i][1]);
		cr_expect_eq(note_head_verify(bad, len, SERVER,
					      keys_public_key(k), &back),
			     NOTE_EBADSIG, "edit %zu", i);
		free(bad);
	}
	/* A flipped bit in the signature. */
	bad = strdup(note);
	bad[len - 10] = bad[len - 10] == 'A' ? 'B' : 'A';
	cr_expect_eq(
		note_head_verify(bad, len, SERVER, keys_public_key(k), &back),
		NOTE_EBADSIG);
	free(bad);
	free(note);
	keys_free(k);
}

Test(head, malformed_notes_fail)
{
	struct keys *k = server_keys(9);
	struct note_head h = vector_head(), back;
	char *note, *bad;
	size_t len, n;
	const uint8_t *pk;

	cr_assert_eq(note_head_sign(k, SERVER, &h, &note, &len), NOTE_OK);
	pk = keys_public_key(k);
	cr_expect_eq(note_head_verify(note, 0, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	cr_expect_eq(note_head_verify(NULL, 10, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	/* Truncated at every length. */
	for (n = 1; n < len; n++)
		cr_expect_neq(note_head_verify(note, n, SERVER, pk, &back),
			      NOTE_OK, "prefix of %zu bytes", n);
	/* A hyphen instead of the em dash. */
	bad = strdup(note);
	n = strlen(HEAD_TEXT) + 1;
	memcpy(bad + n, "-- ", 3);
	memmove(bad + n + 3, bad + n + 4, len - n - 4 + 1);
	cr_expect_eq(note_head_verify(bad, len - 1, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	free(bad);
	/* CR, tab and NUL are refused anywhere. */
	bad = edited(note, "\n7\n", "\r7\n");
	cr_expect_eq(note_head_verify(bad, len, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	free(bad);
	bad = edited(note, "\n7\n", "\n7\t");
	cr_expect_eq(note_head_verify(bad, len, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	bad[strlen(HEAD_TEXT) - 2] = '\0';
	cr_expect_eq(note_head_verify(bad, len, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	free(bad);
	/* Bytes after the last signature line. */
	bad = malloc(len + 2);
	memcpy(bad, note, len);
	memcpy(bad + len, "x", 2);
	cr_expect_eq(note_head_verify(bad, len + 1, SERVER, pk, &back),
		     NOTE_EMALFORMED);
	free(bad);
	/* Signature line without a signature, or a short one. */
	cr_expect_eq(open_str(HEAD_TEXT "\n\xe2\x80\x94 " SERVER " \n", SERVER,
			      pk, &n),
		     NOTE_EMALFORMED);
	cr_expect_eq(open_str(HEAD_TEXT "\n\xe2\x80\x94 " SERVER "\n", SERVER,
			      pk, &n),
		     NOTE_EMALFORMED);
	cr_expect_eq(open_str(HEAD_TEXT "\n\xe2\x80\x94 " SERVER " AAAA\n",
			      SERVER, pk, &n),
		     NOTE_EMALFORMED);
	cr_expect_eq(open_str(HEAD_TEXT "\n\xe2\x80\x94 a+b AAAAAAA=\n", SERVER,
			      pk, &n),
		     NOTE_EMALFORMED);
	cr_expect_eq(open_str(HEAD_TEXT "\n\xe2\x80\x94 x AAAA!AA=\n", SERVER,
			      pk, &n),
		     NOTE_EMALFORMED);
	cr_expect_eq(open_str(HEAD_TEXT "\n\n", SERVER, pk, &n),
		     NOTE_EMALFORMED);
	cr_expect_eq(open_str("\n\n\n", SERVER, pk, &n), NOTE_EMALFORMED);
	free(note);
	keys_free(k);
}

/* A well-signed note whose text is not a head. */
Test(head, signed_non_head_fails)
{
	struct keys *k = server_keys(9);
	struct note_head back;
	char *note;
	size_t len;

	cr_assert_eq(note_sign(k, SERVER, "hello\n", 6, &note, &len), NOTE_OK);
	cr_expect_eq(
		note_head_verify(note, len, SERVER, keys_public_key(k), &back),
		NOTE_EMALFORMED);
	free(note);
	keys_free(k);
}

Test(head, parse_is_strict)
{
	static const char *bad[] = {
		"cmr ledger cmr.example/per_abc\n07\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_abc\n-1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_abc\n+1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_abc\n\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_abc\n9223372036854775808\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		/* Non-zero unused bits in the last base64 character. */
		"cmr ledger cmr.example/per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/il=\n",
		"cmr ledger cmr.example/per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik\n",
		"cmr ledger cmr.example/per_abc\n1\n"
		"bsGRst_UFyP4_j0mmcNkSC5rOaOffjnpJ-vvEroc_ik=\n",
		"cmr ledger cmr.example/per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\nmore\n",
		"cmr ledger cmr.example/per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=",
		"cmr ledger cmr example/per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger /per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/rel_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_a/b\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr  ledger cmr.example/per_abc\n1\n"
		"bsGRst/UFyP4/j0mmcNkSC5rOaOffjnpJ+vvEroc/ik=\n",
		"cmr ledger cmr.example/per_abc\n1\n"
		"AAAA\n",
		"\n",
		"",
	};
	struct note_head h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(note_head_parse(bad[i], strlen(bad[i]), &h),
			     NOTE_EMALFORMED, "case %zu", i);
	cr_expect_eq(note_head_parse(HEAD_TEXT, strlen(HEAD_TEXT), &h),
		     NOTE_OK);
	cr_expect_eq(h.seq, 7);
}

Test(head, text_refuses_bad_fields)
{
	struct note_head h = vector_head();
	char *text;
	size_t len;

	strcpy(h.server, "");
	cr_expect_eq(note_head_text(&h, &text, &len), NOTE_EINVAL);
	cr_expect_null(text);
	strcpy(h.server, "a/b");
	cr_expect_eq(note_head_text(&h, &text, &len), NOTE_EINVAL);
	strcpy(h.server, "a b");
	cr_expect_eq(note_head_text(&h, &text, &len), NOTE_EINVAL);
	h = vector_head();
	strcpy(h.per_id, "rel_abc");
	cr_expect_eq(note_head_text(&h, &text, &len), NOTE_EINVAL);
	h = vector_head();
	h.seq = -1;
	cr_expect_eq(note_head_text(&h, &text, &len), NOTE_EINVAL);
	h = vector_head();
	memset(h.server, 'a', sizeof(h.server)); /* no NUL */
	cr_expect_eq(note_head_text(&h, &text, &len), NOTE_EINVAL);
}

/* ---- Names and texts ---- */

Test(note, key_names)
{
	cr_expect(note_key_name_valid("cmr.example"));
	cr_expect(note_key_name_valid("quasimodo.example/salvatore"));
	cr_expect(note_key_name_valid("\xc3\xa9t\xc3\xa9"));
	cr_expect(!note_key_name_valid(""));
	cr_expect(!note_key_name_valid(NULL));
	cr_expect(!note_key_name_valid("a+b"));
	cr_expect(!note_key_name_valid("a b"));
	cr_expect(!note_key_name_valid("a\tb"));
	cr_expect(!note_key_name_valid("a\xc2\xa0"
				       "b")); /* NBSP */
	cr_expect(!note_key_name_valid("a\xe3\x80\x80"
				       "b")); /* U+3000 */
	cr_expect(!note_key_name_valid("a\xe2\x80\xa8"
				       "b")); /* U+2028 */
	cr_expect(!note_key_name_valid("a\xff"));
}

Test(note, sign_refuses_bad_input)
{
	struct keys *k = server_keys(9);
	char *note = (char *)1, *vkey;
	size_t len;

	cr_expect_eq(note_sign(k, SERVER, "no newline", 10, &note, &len),
		     NOTE_EINVAL);
	cr_expect_null(note);
	cr_expect_eq(note_sign(k, SERVER, "", 0, &note, &len), NOTE_EINVAL);
	cr_expect_eq(note_sign(k, SERVER, "a\rb\n", 4, &note, &len),
		     NOTE_EINVAL);
	cr_expect_eq(note_sign(k, SERVER, "a\0b\n", 4, &note, &len),
		     NOTE_EINVAL);
	cr_expect_eq(note_sign(k, SERVER, "\xc0\xaf\n", 3, &note, &len),
		     NOTE_EINVAL);
	cr_expect_eq(note_sign(k, "bad name", "ok\n", 3, &note, &len),
		     NOTE_EINVAL);
	cr_expect_eq(note_verifier_key("a+b", keys_public_key(k), &vkey),
		     NOTE_EINVAL);
	cr_expect_eq(open_str("x\n\n", "bad name", keys_public_key(k), &len),
		     NOTE_EINVAL);
	cr_expect_str_eq(note_strerror(NOTE_EBADSIG),
			 "no valid signature by the server's key");
	keys_free(k);
}

Test(note, size_limit)
{
	struct keys *k = server_keys(9);
	size_t n = NOTE_MAX_BYTES - 200, len, text_len;
	char *text = malloc(NOTE_MAX_BYTES + 1), *note;

	cr_assert_not_null(text);
	memset(text, 'x', NOTE_MAX_BYTES);
	text[n - 1] = '\n';
	/* Fits with its signature line: signs and opens. */
	cr_assert_eq(note_sign(k, SERVER, text, n, &note, &len), NOTE_OK);
	cr_expect_leq(len, NOTE_MAX_BYTES);
	cr_expect_eq(
		note_open(note, len, SERVER, keys_public_key(k), &text_len),
		NOTE_OK);
	free(note);
	/* Would not fit: refused rather than made unverifiable. */
	text[NOTE_MAX_BYTES - 1] = '\n';
	cr_expect_eq(note_sign(k, SERVER, text, NOTE_MAX_BYTES, &note, &len),
		     NOTE_EINVAL);
	free(text);
	keys_free(k);
}

Test(note, text_with_blank_lines)
{
	struct keys *k = server_keys(9);
	const char *text = "a\n\nb\n\n";
	char *note;
	size_t len, text_len;

	/* The text ends at the last blank line, so it may hold others. */
	cr_assert_eq(note_sign(k, SERVER, text, strlen(text), &note, &len),
		     NOTE_OK);
	cr_expect_eq(
		note_open(note, len, SERVER, keys_public_key(k), &text_len),
		NOTE_OK);
	cr_expect_eq(text_len, strlen(text));
	free(note);
	keys_free(k);
}
