/*
 * brand.c — brand registration and API keys (see brand.h).
 *
 * A key reads "cmrk_<16 chars of the brand id>_<43 chars of base64url>":
 * the brand part lets us fetch one row, and the 256 random bits are what
 * authenticates — we keep only their BLAKE2b-256 hash (of the whole key)
 * and compare hashes with crypto_verify_32.
 */
#include "app/brand.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/field.h"
#include "store/store.h"

static void brand_key_make(uint64_t id, char *key, uint8_t hash[32])
{
	uint8_t secret[32];
	char idtext[ID_SIZE];
	char b64[sodium_base64_ENCODED_LEN(
		32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	randombytes_buf(secret, sizeof(secret));
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof(secret));
	id_encode(ID_BRAND, id, idtext);
	snprintf(key, BRAND_KEY_SIZE, "cmrk_%s_%s", idtext + 4, b64);
	sodium_memzero(b64, sizeof(b64));
	crypto_generichash(hash, 32, (const uint8_t *)key, strlen(key), NULL,
			   0);
}

static int brand_domain_norm(const char *in, char *out, size_t size)
{
	size_t n = strlen(in);
	if (n == 0 || n >= size || !config_domain_ok(in) ||
	    strchr(in, '.') == NULL)
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z')
					? in[i] - 'A' + 'a'
					: in[i]);
	return 0;
}

static int brand_insert_job(struct app_tx *t, void *arg)
{
	return store_brand_insert(t->tx, arg);
}

static int brand_set(json_t *obj, const char *key, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(obj, key, json_string(v));
}

/* What the receipts will show of the controller: addresses people can
 * use (an email address, an E.164 phone, https URLs), text without
 * control characters. */
static enum app_status brand_controller_check(const struct brand_controller *c,
					      struct app_error *err)
{
	const struct {
		const char *name, *value;
		bool (*ok)(const char *);
		const char *shape;
	} checks[] = {
		{ "email", c->email, field_email_ok,
		  "an email address (privacy@acme.example)" },
		{ "phone", c->phone, field_phone_ok,
		  "a phone number in E.164 form (+4930123456)" },
		{ "url", c->url, field_https_url_ok, "an https:// URL" },
		{ "policy_url", c->policy_url, field_https_url_ok,
		  "an https:// URL" },
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(*checks); i++)
		if (checks[i].value && !checks[i].ok(checks[i].value))
			return app_fail(err, APP_INVALID, checks[i].name,
					"\"%s\" is not %s", checks[i].value,
					checks[i].shape);
	const char *texts[][2] = { { "contact", c->contact },
				   { "address", c->address },
				   { "jurisdiction", c->jurisdiction } };
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		const char *v = texts[i][1];
		if (v == NULL)
			continue;
		size_t n = strlen(v);
		if (n == 0 || n > 1000 || !field_text_ok(v, n))
			return app_fail(err, APP_INVALID, texts[i][0],
					"%s is 1 to 1000 bytes of UTF-8 "
					"without control characters",
					texts[i][0]);
	}
	return APP_OK;
}

enum app_status brand_add(struct app *a, const char *name,
			  const char *const *domains, int n_domains,
			  const struct brand_controller *c, uint64_t *id,
			  char *key, struct app_error *err)
{
	struct store_brand b;
	size_t n = strlen(name);

	memset(&b, 0, sizeof(b));
	if (n == 0 || n > STORE_NAME_MAX)
		return app_fail(err, APP_INVALID, "name",
				"a brand name has 1 to %d characters",
				STORE_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return app_fail(err, APP_INVALID, "name",
					"a brand name holds no control "
					"characters");
	if (n_domains < 1 || n_domains > BRAND_MAX_DOMAINS)
		return app_fail(err, APP_INVALID, "domain",
				"a brand has 1 to %d domains (--domain D)",
				BRAND_MAX_DOMAINS);
	json_t *doms = json_array();
	for (int i = 0; i < n_domains; i++) {
		char d[254];
		if (brand_domain_norm(domains[i], d, sizeof(d)) != 0) {
			json_decref(doms);
			return app_fail(err, APP_INVALID, "domain",
					"\"%s\" is not a domain name",
					domains[i]);
		}
		json_array_append_new(doms, json_string(d));
	}
	struct brand_controller none = { 0 };
	if (c == NULL)
		c = &none;
	int bad = brand_controller_check(c, err);
	if (bad != APP_OK) {
		json_decref(doms);
		return bad;
	}
	json_t *ctl = json_object();
	brand_set(ctl, "contact", c->contact);
	brand_set(ctl, "email", c->email);
	brand_set(ctl, "phone", c->phone);
	brand_set(ctl, "address", c->address);
	brand_set(ctl, "url", c->url);
	brand_set(ctl, "policy_url", c->policy_url);
	brand_set(ctl, "jurisdiction", c->jurisdiction);

	snprintf(b.name, sizeof(b.name), "%s", name);
	b.id = store_new_key();
	b.created_at = b.key_rotated_at = app_now_ms() / 1000;
	b.domains = json_dumps(doms, JSON_COMPACT);
	b.controller = json_dumps(ctl, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doms);
	json_decref(ctl);
	if (b.domains == NULL || b.controller == NULL) {
		store_brand_clear(&b);
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	}
	brand_key_make(b.id, key, b.key_hash);
	int rc = app_job_run(a, brand_insert_job, &b, false);
	uint64_t new_id = b.id;
	store_brand_clear(&b);
	if (rc == STORE_CONFLICT) {
		sodium_memzero(key, BRAND_KEY_SIZE);
		return app_fail(err, APP_CONFLICT, "name",
				"a brand with this name or one of these "
				"domains exists");
	}
	if (rc != STORE_OK) {
		sodium_memzero(key, BRAND_KEY_SIZE);
		return app_fail(err, APP_FAULT, NULL,
				"the store could not record the brand");
	}
	*id = new_id;
	return APP_OK;
}

struct brand_rotate {
	uint64_t id;
	uint8_t hash[32];
	int64_t at;
};

static int brand_rotate_job(struct app_tx *t, void *arg)
{
	struct brand_rotate *r = arg;
	return store_brand_set_key(t->tx, r->id, r->hash, r->at);
}

enum app_status brand_key_rotate(struct app *a, uint64_t id, char *key,
				 struct app_error *err)
{
	struct brand_rotate r = { .id = id, .at = app_now_ms() / 1000 };
	brand_key_make(id, key, r.hash);
	int rc = app_job_run(a, brand_rotate_job, &r, false);
	if (rc != STORE_OK) {
		sodium_memzero(key, BRAND_KEY_SIZE);
		return app_fail(err, app_from_store(rc), "brand",
				rc == STORE_NOT_FOUND ? "no such brand"
						      : "the store could not "
							"record the key");
	}
	return APP_OK;
}

enum app_status brand_authenticate(struct app *a, const char *key, uint64_t *id)
{
	char idtext[ID_SIZE];
	uint8_t hash[32];
	uint64_t bid;

	if (strncmp(key, "cmrk_", 5) != 0 || strlen(key) != 5 + 16 + 1 + 43 ||
	    key[21] != '_')
		return APP_NOT_FOUND;
	snprintf(idtext, sizeof(idtext), "brd_%.16s", key + 5);
	if (!id_decode(ID_BRAND, idtext, &bid))
		return APP_NOT_FOUND;
	crypto_generichash(hash, 32, (const uint8_t *)key, strlen(key), NULL,
			   0);
	uint8_t stored[32];
	int rc = store_brand_key_hash(a->reads, bid, stored);
	if (rc != STORE_OK)
		return rc == STORE_NOT_FOUND ? APP_NOT_FOUND : APP_FAULT;
	bool ok = crypto_verify_32(hash, stored) == 0;
	if (!ok)
		return APP_NOT_FOUND;
	*id = bid;
	return APP_OK;
}
