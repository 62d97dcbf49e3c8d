/*
 * note.c — signed notes (C2SP signed-note) and the ledger head written in
 * one (see note.h for the formats).
 *
 * The parser takes bytes that may come from anywhere (a person's browser,
 * a copy an auditor kept), so it works on lengths, never on NUL
 * termination, reads each byte at most a few times, and refuses rather than
 * repairs: a note either is exactly well-formed or is rejected.
 */
#include "ledger/note.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* The signature type byte of Ed25519 in signed notes. */
#define NOTE_TYPE_ED25519 0x01

/* "— ": U+2014 EM DASH in UTF-8, then a space. */
static const char note_sig_prefix[] = "\xe2\x80\x94 ";
#define NOTE_SIG_PREFIX_LEN 4

static const char note_head_prefix[] = "cmr ledger ";
#define NOTE_HEAD_PREFIX_LEN 11

/* base64 of a 32-byte hash: 44 characters, one "=". */
#define NOTE_HASH_B64_LEN 44

/* base64 of key hash ‖ Ed25519 signature (68 bytes): 92 characters. */
#define NOTE_SIG_BYTES (NOTE_KEY_HASH_BYTES + KEYS_SIG_BYTES)

const char *note_strerror(int status)
{
	switch (status) {
	case NOTE_OK:
		return "ok";
	case NOTE_EINVAL:
		return "invalid argument";
	case NOTE_EMALFORMED:
		return "malformed note";
	case NOTE_EBADSIG:
		return "no valid signature by the server's key";
	case NOTE_ENOMEM:
		return "out of memory";
	default:
		return "unknown error";
	}
}

/* Unicode White_Space (what Go's unicode.IsSpace, used by the reference
 * implementation for key names, calls a space). */
static bool note_is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 ||
	       cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
	       cp == 0x3000;
}

static bool note_name_valid(const char *name, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > NOTE_KEY_NAME_MAX)
		return false;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(name + i, len - i, &cp);

		if (n == 0 || cp < 0x20 || cp == '+' || note_is_space(cp))
			return false;
		i += n;
	}
	return true;
}

bool note_key_name_valid(const char *name)
{
	return name && note_name_valid(name, strlen(name));
}

/* Valid UTF-8 with no control character but newline: the rule for a whole
 * note, and so for its text. */
static bool note_chars_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\n')
			return false;
	return utf8_valid(s, len);
}

static bool note_text_valid(const char *text, size_t len)
{
	return text && len > 0 && text[len - 1] == '\n' &&
	       note_chars_valid(text, len);
}

int note_key_hash(const char *key_name, const uint8_t pk[KEYS_PUBLIC_BYTES],
		  uint8_t out[NOTE_KEY_HASH_BYTES])
{
	static const uint8_t sep[2] = { '\n', NOTE_TYPE_ED25519 };
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];

	if (!note_key_name_valid(key_name))
		return NOTE_EINVAL;
	if (sodium_init() < 0 || crypto_hash_sha256_init(&st) ||
	    crypto_hash_sha256_update(&st, (const uint8_t *)key_name,
				      strlen(key_name)) ||
	    crypto_hash_sha256_update(&st, sep, sizeof(sep)) ||
	    crypto_hash_sha256_update(&st, pk, KEYS_PUBLIC_BYTES) ||
	    crypto_hash_sha256_final(&st, h))
		return NOTE_ENOMEM;
	memcpy(out, h, NOTE_KEY_HASH_BYTES);
	return NOTE_OK;
}

int note_verifier_key(const char *key_name, const uint8_t pk[KEYS_PUBLIC_BYTES],
		      char **out)
{
	uint8_t id[NOTE_KEY_HASH_BYTES], typed[1 + KEYS_PUBLIC_BYTES];
	char hex[2 * NOTE_KEY_HASH_BYTES + 1];
	char b64[sodium_base64_ENCODED_LEN(1 + KEYS_PUBLIC_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = note_key_hash(key_name, pk, id)))
		return rc;
	typed[0] = NOTE_TYPE_ED25519;
	memcpy(typed + 1, pk, KEYS_PUBLIC_BYTES);
	sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
	sodium_bin2base64(b64, sizeof(b64), typed, sizeof(typed),
			  sodium_base64_VARIANT_ORIGINAL);
	n = strlen(key_name) + 1 + strlen(hex) + 1 + strlen(b64) + 1;
	*out = malloc(n);
	if (!*out)
		return NOTE_ENOMEM;
	snprintf(*out, n, "%s+%s+%s", key_name, hex, b64);
	return NOTE_OK;
}

int note_sign(const struct keys *k, const char *key_name, const char *text,
	      size_t len, char **out, size_t *out_len)
{
	uint8_t blob[NOTE_SIG_BYTES];
	char b64[sodium_base64_ENCODED_LEN(NOTE_SIG_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	size_t name_len, b64_len, n;
	char *note, *p;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (!note_text_valid(text, len) || len > NOTE_MAX_BYTES)
		return NOTE_EINVAL;
	if ((rc = note_key_hash(key_name, keys_public_key(k), blob)))
		return rc;
	if (keys_sign(k, text, len, blob + NOTE_KEY_HASH_BYTES))
		return NOTE_ENOMEM;
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
	name_len = strlen(key_name);
	b64_len = strlen(b64);
	/* text, blank line, "— ", name, " ", signature, "\n" */
	n = len + 1 + NOTE_SIG_PREFIX_LEN + name_len + 1 + b64_len + 1;
	/* Never make a note our own verifier would refuse. */
	if (n > NOTE_MAX_BYTES)
		return NOTE_EINVAL;
	note = malloc(n + 1);
	if (!note)
		return NOTE_ENOMEM;
	p = note;
	memcpy(p, text, len);
	p += len;
	*p++ = '\n';
	memcpy(p, note_sig_prefix, NOTE_SIG_PREFIX_LEN);
	p += NOTE_SIG_PREFIX_LEN;
	memcpy(p, key_name, name_len);
	p += name_len;
	*p++ = ' ';
	memcpy(p, b64, b64_len);
	p += b64_len;
	*p++ = '\n';
	*p = '\0';
	*out = note;
	*out_len = n;
	return NOTE_OK;
}

/* One signature line without its final newline: checks its form, and when
 * it is by our key, its signature over text. *ours tells whether it was
 * by our key (name and key hash both match). */
static int note_check_line(const char *line, size_t len, const char *text,
			   size_t text_len, const char *key_name,
			   const uint8_t id[NOTE_KEY_HASH_BYTES],
			   const uint8_t pk[KEYS_PUBLIC_BYTES], uint8_t *buf,
			   bool *ours)
{
	const char *name, *sp, *b64;
	size_t name_len, b64_len, bin_len;
	const char *end;

	*ours = false;
	if (len < NOTE_SIG_PREFIX_LEN ||
	    memcmp(line, note_sig_prefix, NOTE_SIG_PREFIX_LEN) != 0)
		return NOTE_EMALFORMED;
	name = line + NOTE_SIG_PREFIX_LEN;
	sp = memchr(name, ' ', len - NOTE_SIG_PREFIX_LEN);
	if (!sp)
		return NOTE_EMALFORMED;
	name_len = (size_t)(sp - name);
	b64 = sp + 1;
	b64_len = len - NOTE_SIG_PREFIX_LEN - name_len - 1;
	if (!note_name_valid(name, name_len) || b64_len == 0)
		return NOTE_EMALFORMED;
	/* buf holds len bytes: more than any base64 of this line decodes to. */
	if (sodium_base642bin(buf, len, b64, b64_len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64_len || bin_len < NOTE_KEY_HASH_BYTES + 1)
		return NOTE_EMALFORMED;
	if (name_len != strlen(key_name) ||
	    memcmp(name, key_name, name_len) != 0 ||
	    memcmp(buf, id, NOTE_KEY_HASH_BYTES) != 0)
		return NOTE_OK; /* another key's: not ours to judge */
	*ours = true;
	if (bin_len != NOTE_SIG_BYTES ||
	    crypto_sign_verify_detached(buf + NOTE_KEY_HASH_BYTES,
					(const uint8_t *)text, text_len, pk))
		return NOTE_EBADSIG;
	return NOTE_OK;
}

int note_open(const char *note, size_t len, const char *key_name,
	      const uint8_t pk[KEYS_PUBLIC_BYTES], size_t *text_len)
{
	uint8_t id[NOTE_KEY_HASH_BYTES];
	const char *sigs, *line, *nl;
	size_t split, sigs_len, n_sigs = 0;
	bool ours, verified = false, bad = false, malformed = false;
	uint8_t *buf;
	int rc;

	*text_len = 0;
	if ((rc = note_key_hash(key_name, pk, id)))
		return rc;
	if (!note || len == 0 || len > NOTE_MAX_BYTES ||
	    !note_chars_valid(note, len))
		return NOTE_EMALFORMED;
	/* The text ends at the last blank line; the note's last byte is the
	 * last signature line's newline, so the search starts before it. */
	if (len < 3 || note[len - 1] != '\n')
		return NOTE_EMALFORMED;
	for (split = len - 2; split > 0; split--)
		if (note[split - 1] == '\n' && note[split] == '\n')
			break;
	if (split == 0)
		return NOTE_EMALFORMED;
	/* note[split - 1] is the text's final newline, note[split] the blank
	 * line; the signatures follow. */
	sigs = note + split + 1;
	sigs_len = len - split - 1;
	if (sigs_len == 0)
		return NOTE_EMALFORMED;
	buf = malloc(sigs_len);
	if (!buf)
		return NOTE_ENOMEM;
	/* Every line is checked for form: a malformed line anywhere makes
	 * the note malformed, whatever our signature says. */
	for (line = sigs; line < sigs + sigs_len; line = nl + 1) {
		/* The note ends in "\n", so nl is never NULL. */
		nl = memchr(line, '\n', (size_t)(sigs + sigs_len - line));
		if (++n_sigs > NOTE_MAX_SIGS) {
			malformed = true;
			break;
		}
		rc = note_check_line(line, (size_t)(nl - line), note, split,
				     key_name, id, pk, buf, &ours);
		if (rc == NOTE_EMALFORMED) {
			malformed = true;
			break;
		}
		/* A line of ours repeated is fine (as for the reference
		 * implementation) as long as every one verifies. */
		if (rc == NOTE_EBADSIG)
			bad = true;
		else if (ours)
			verified = true;
	}
	free(buf);
	if (malformed)
		return NOTE_EMALFORMED;
	if (bad || !verified)
		return NOTE_EBADSIG;
	*text_len = split;
	return NOTE_OK;
}

/* ---- The head ---- */

static bool note_server_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > NOTE_SERVER_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == ':' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool note_per_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len <= 4 || len > NOTE_PER_ID_MAX || memcmp(s, "per_", 4) != 0)
		return false;
	for (i = 4; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

int note_head_text(const struct note_head *h, char **out, size_t *out_len)
{
	char b64[NOTE_HASH_B64_LEN + 1];
	size_t server_len, per_len, cap;
	int n;

	*out = NULL;
	*out_len = 0;
	server_len = strnlen(h->server, sizeof(h->server));
	per_len = strnlen(h->per_id, sizeof(h->per_id));
	if (server_len == sizeof(h->server) || per_len == sizeof(h->per_id) ||
	    !note_server_valid(h->server, server_len) ||
	    !note_per_id_valid(h->per_id, per_len) || h->seq < 0)
		return NOTE_EINVAL;
	sodium_bin2base64(b64, sizeof(b64), h->hash, sizeof(h->hash),
			  sodium_base64_VARIANT_ORIGINAL);
	cap = NOTE_HEAD_PREFIX_LEN + server_len + 1 + per_len + 1 + 20 + 1 +
	      NOTE_HASH_B64_LEN + 1 + 1;
	*out = malloc(cap);
	if (!*out)
		return NOTE_ENOMEM;
	n = snprintf(*out, cap, "%s%s/%s\n%lld\n%s\n", note_head_prefix,
		     h->server, h->per_id, (long long)h->seq, b64);
	*out_len = (size_t)n;
	return NOTE_OK;
}

/* Parses a seq: "0", or digits without a leading zero, within int64. */
static bool note_parse_seq(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		int d = s[i] - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int note_head_parse(const char *text, size_t len, struct note_head *out)
{
	const char *l1, *l2, *l3, *e1, *e2, *e3, *slash, *end;
	char b64[NOTE_HASH_B64_LEN + 1];
	size_t bin_len;

	memset(out, 0, sizeof(*out));
	if (!text || len == 0 || text[len - 1] != '\n')
		return NOTE_EMALFORMED;
	l1 = text;
	e1 = memchr(l1, '\n', len);
	l2 = e1 + 1;
	e2 = memchr(l2, '\n', (size_t)(text + len - l2));
	if (!e2)
		return NOTE_EMALFORMED;
	l3 = e2 + 1;
	e3 = memchr(l3, '\n', (size_t)(text + len - l3));
	if (!e3 || e3 != text + len - 1)
		return NOTE_EMALFORMED;

	if ((size_t)(e1 - l1) < NOTE_HEAD_PREFIX_LEN ||
	    memcmp(l1, note_head_prefix, NOTE_HEAD_PREFIX_LEN) != 0)
		return NOTE_EMALFORMED;
	l1 += NOTE_HEAD_PREFIX_LEN;
	slash = memchr(l1, '/', (size_t)(e1 - l1));
	if (!slash || !note_server_valid(l1, (size_t)(slash - l1)) ||
	    !note_per_id_valid(slash + 1, (size_t)(e1 - slash - 1)))
		return NOTE_EMALFORMED;
	memcpy(out->server, l1, (size_t)(slash - l1));
	memcpy(out->per_id, slash + 1, (size_t)(e1 - slash - 1));

	if (!note_parse_seq(l2, (size_t)(e2 - l2), &out->seq))
		goto bad;

	if (e3 - l3 != NOTE_HASH_B64_LEN ||
	    sodium_base642bin(out->hash, sizeof(out->hash), l3,
			      NOTE_HASH_B64_LEN, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != e3 || bin_len != sizeof(out->hash))
		goto bad;
	/* One spelling per hash: the unused low bits must be zero. */
	sodium_bin2base64(b64, sizeof(b64), out->hash, sizeof(out->hash),
			  sodium_base64_VARIANT_ORIGINAL);
	if (memcmp(b64, l3, NOTE_HASH_B64_LEN) != 0)
		goto bad;
	return NOTE_OK;
bad:
	memset(out, 0, sizeof(*out));
	return NOTE_EMALFORMED;
}

int note_head_sign(const struct keys *k, const char *key_name,
		   const struct note_head *h, char **out, size_t *out_len)
{
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = note_head_text(h, &text, &len)))
		return rc;
	rc = note_sign(k, key_name, text, len, out, out_len);
	free(text);
	return rc;
}

int note_head_verify(const char *note, size_t len, const char *key_name,
		     const uint8_t pk[KEYS_PUBLIC_BYTES], struct note_head *out)
{
	size_t text_len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = note_open(note, len, key_name, pk, &text_len)))
		return rc;
	return note_head_parse(note, text_len, out);
}
