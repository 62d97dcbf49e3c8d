/*
 * fuzz_note.c — fuzz driver for the signed-note parser and the ledger head
 * (src/ledger/note.c): arbitrary bytes are opened as a note against a fixed
 * test key, and parsed as a head's text. Any head that verifies must sign
 * again into a note that verifies to the same head.
 *
 * The seed corpus (fuzz/corpus/note/) holds heads signed with the key
 * below, so the fuzzer starts past the signature check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/note.h"

/* The test key: 32 bytes of seed, public, used nowhere else. */
static const uint8_t fuzz_note_seed[KEYS_SEED_BYTES] =
	"cmr fuzz note key: test use only";
#define FUZZ_NOTE_KEY_NAME "cmr.test"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keys *fuzz_note_keys(void)
{
	static struct keys *k;
	uint8_t kek[KEYS_KEK_BYTES] = { 0 };

	if (!k && keys_from_bytes(fuzz_note_seed, kek, &k) != 0)
		abort();
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct keys *k = fuzz_note_keys();
	const char *note = (const char *)data;
	struct note_head head, again;
	size_t text_len, len;
	char *signed_note;

	note_head_parse(note, size, &head);
	note_open(note, size, FUZZ_NOTE_KEY_NAME, keys_public_key(k),
		  &text_len);
	if (note_head_verify(note, size, FUZZ_NOTE_KEY_NAME, keys_public_key(k),
			     &head) != NOTE_OK)
		return 0;
	if (note_head_sign(k, FUZZ_NOTE_KEY_NAME, &head, &signed_note, &len) !=
	    NOTE_OK)
		abort();
	if (note_head_verify(signed_note, len, FUZZ_NOTE_KEY_NAME,
			     keys_public_key(k), &again) != NOTE_OK ||
	    memcmp(&head, &again, sizeof(head)) != 0)
		abort();
	free(signed_note);
	return 0;
}
