/*
 * jwks.c — the JWK Set of the server's signing keys (see jwks.h).
 */
#include "app/jwks.h"

#include <sodium.h>

json_t *jwks_of(const struct keys *k)
{
	json_t *keys = json_array();
	char x[sodium_base64_ENCODED_LEN(
		KEYS_PUBLIC_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	for (size_t i = 0; keys && i < keys_signing_count(k); i++) {
		sodium_bin2base64(x, sizeof(x), keys_signing_public(k, i),
				  KEYS_PUBLIC_BYTES,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		json_t *jwk = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty",
					"OKP", "crv", "Ed25519", "x", x, "kid",
					keys_signing_id(k, i), "alg", "EdDSA",
					"use", "sig");
		if (jwk == NULL || json_array_append_new(keys, jwk) != 0) {
			json_decref(keys);
			return NULL;
		}
	}
	return keys ? json_pack("{s:o}", "keys", keys) : NULL;
}
