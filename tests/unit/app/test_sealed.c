/*
 * test_sealed.c — the codec through which the store seals and opens a
 * person's names (app/sealed.h, sealed_codec): values and terms sealed
 * and opened back, terms naming only built-in folders taken as they are,
 * and the per-thread cache of unwrapped data keys, which must give each
 * wrapped key its own data key whatever the order and refuse what does
 * not unwrap.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "app/sealed.h"
#include "ledger/keys.h"
#include "store/store.h"

static struct keys *keys;
static struct store_codec codec;

/* keys (and codec, through them) with a KEK of bytes `kek_byte`. */
static void use_keys(int kek_byte)
{
	uint8_t seed[KEYS_SEED_BYTES], kek[KEYS_KEK_BYTES];
	memset(seed, 1, sizeof(seed));
	memset(kek, kek_byte, sizeof(kek));
	cr_assert_eq(keys_from_bytes(seed, kek, &keys), 0);
	sealed_codec(keys, &codec);
}

static void setup(void)
{
	use_keys(2);
}

static void teardown(void)
{
	keys_free(keys);
}

TestSuite(sealed, .init = setup, .fini = teardown);

/* A new person's wrapped data key. */
static void new_wrapped(uint8_t wrapped[KEYS_WRAPPED_BYTES])
{
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	cr_assert_eq(keys_new_data_key(dk), 0);
	cr_assert_eq(keys_wrap(keys, dk, wrapped), 0);
}

static char *seal(const uint8_t *wrapped, const char *value)
{
	char *out = NULL;
	cr_assert_eq(
		codec.seal(codec.arg, wrapped, KEYS_WRAPPED_BYTES, value, &out),
		0);
	return out;
}

/* What wrapped opens of sealed, or NULL. */
static char *open_with(const uint8_t *wrapped, const char *sealed)
{
	char *out = NULL;
	if (codec.open(codec.arg, wrapped, KEYS_WRAPPED_BYTES, sealed, &out) !=
	    0)
		return NULL;
	return out;
}

Test(sealed, values_of_many_persons_open_with_their_own_key_only)
{
	/* More persons than the cache keeps, in turns and out of order. */
	enum { N = 11 };
	uint8_t wrapped[N][KEYS_WRAPPED_BYTES];
	char *sealed[N], value[32];
	for (int i = 0; i < N; i++) {
		new_wrapped(wrapped[i]);
		snprintf(value, sizeof(value), "alias-%d@relay.example", i);
		sealed[i] = seal(wrapped[i], value);
	}
	for (int round = 0; round < 3; round++)
		for (int k = 0; k < N; k++) {
			int i = (k * 7 + round) % N;
			snprintf(value, sizeof(value), "alias-%d@relay.example",
				 i);
			char *got = open_with(wrapped[i], sealed[i]);
			cr_assert(got && strcmp(got, value) == 0, "%d", i);
			free(got);
			/* Another person's key, cached or not, opens nothing.
			 */
			int j = (i + 1) % N;
			cr_expect_null(open_with(wrapped[j], sealed[i]));
		}
	for (int i = 0; i < N; i++)
		free(sealed[i]);
}

/* "ana" sealed with a new person's key (into wrapped) and opened once,
 * so that the thread keeps the key. */
static char *sealed_and_opened(uint8_t wrapped[KEYS_WRAPPED_BYTES])
{
	new_wrapped(wrapped);
	char *sealed = seal(wrapped, "ana");
	char *got = open_with(wrapped, sealed);
	cr_assert(got && strcmp(got, "ana") == 0);
	free(got);
	return sealed;
}

Test(sealed, a_wrapped_key_altered_after_use_does_not_open)
{
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	char *sealed = sealed_and_opened(wrapped);
	/* One byte changed: not the cached key, and it does not unwrap. */
	wrapped[KEYS_WRAPPED_BYTES - 1] ^= 1;
	cr_expect_null(open_with(wrapped, sealed));
	char *out = NULL;
	cr_expect_neq(
		codec.seal(codec.arg, wrapped, KEYS_WRAPPED_BYTES, "x", &out),
		0);
	cr_expect_null(out);
	/* No key (an erased person) seals and opens nothing. */
	cr_expect_neq(codec.open(codec.arg, NULL, 0, sealed, &out), 0);
	free(sealed);
}

Test(sealed, other_keys_do_not_open_what_the_first_unwrapped)
{
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	char *sealed = sealed_and_opened(wrapped);
	/* Keys with another KEK, maybe where the first ones were: the data
	 * key the thread keeps is the first KEK's only. */
	keys_free(keys);
	use_keys(3);
	cr_expect_null(open_with(wrapped, sealed));
	free(sealed);
}

/* terms sealed (seal) or opened with wrapped (NULL: no key): a new
 * string. */
static char *terms_with(bool seal, const uint8_t *wrapped, const char *terms)
{
	char *out = NULL;
	size_t len = wrapped ? KEYS_WRAPPED_BYTES : 0;
	cr_assert_eq((seal ? codec.seal_terms : codec.open_terms)(
			     codec.arg, wrapped, len, terms, &out),
		     0, "%s", terms);
	return out;
}

Test(sealed, terms_with_built_in_folders_only_are_taken_as_they_are)
{
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	new_wrapped(wrapped);
	const char *plain[] = {
		"{\"channels\":{},\"folder\":\"inbox\",\"topic_folders\":{},"
		"\"topics\":\"all\"}",
		"{\"folder\":\"later\",\"topics\":[\"folder\"]}",
		"{\"topics\":\"all\"}",
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++) {
		char *out = terms_with(true, wrapped, plain[i]);
		cr_expect_str_eq(out, plain[i]);
		/* An erased person's terms (no key) read as they are too. */
		char *back = terms_with(false, NULL, out);
		cr_expect_str_eq(back, plain[i]);
		free(out);
		free(back);
	}
}

Test(sealed, own_folder_names_in_terms_are_sealed_and_opened)
{
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	new_wrapped(wrapped);
	const char *cases[] = {
		"{\"folder\":\"Receipts\",\"topic_folders\":{},\"topics\":"
		"\"all\"}",
		"{\"folder\":\"inbox\",\"topic_folders\":{\"orders\":"
		"\"Orders\"},\"topics\":\"all\"}",
		"{\"folder\":\"inbox\",\"topic_folders\":{\"orders\":"
		"\"later\"},\"topics\":\"all\"}",
		/* A key spelt with an escape is a key still. */
		"{\"\\u0066older\":\"Receipts\",\"topics\":\"all\"}",
		/* Not compact: parsed, and written canonical. */
		"{\"topics\": \"all\", \"folder\": \"Bills\"}",
	};
	const char *names[] = { "Receipts", "Orders", NULL, "Receipts",
				"Bills" };
	const char *opened[] = {
		cases[0],
		cases[1],
		cases[2],
		"{\"folder\":\"Receipts\",\"topics\":\"all\"}",
		"{\"folder\":\"Bills\",\"topics\":\"all\"}",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *out = terms_with(true, wrapped, cases[i]);
		if (names[i])
			cr_expect(strstr(out, names[i]) == NULL &&
					  strstr(out, "\"sealed:") != NULL,
				  "%s", out);
		char *back = terms_with(false, wrapped, out);
		cr_expect_str_eq(back, opened[i]);
		free(out);
		free(back);
	}
}

/* Opens the value of arg (a person's wrapped key and a sealed value) in
 * a thread of its own, with a cache of its own. */
struct opener {
	const uint8_t *wrapped;
	const char *sealed;
	char *got;
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;
	o->got = open_with(o->wrapped, o->sealed);
	return NULL;
}

Test(sealed, threads_open_with_caches_of_their_own)
{
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	new_wrapped(wrapped);
	char *sealed = seal(wrapped, "handle-ana");
	struct opener o[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		o[i] = (struct opener){ wrapped, sealed, NULL };
		cr_assert_eq(pthread_create(&t[i], NULL, open_thread, &o[i]),
			     0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect(o[i].got && strcmp(o[i].got, "handle-ana") == 0);
		free(o[i].got);
	}
	free(sealed);
}
