/*
 * jwks.h — the server's public signing keys as a JWK Set (RFC 7517), so
 * that anyone can verify a receipt (a JWS, app/receipt.c) or a signed head
 * (a C2SP signed note, ledger/note.c) offline: served at
 * GET /.well-known/jwks.json and carried in every export.
 */
#ifndef CMR_APP_JWKS_H
#define CMR_APP_JWKS_H

#include <jansson.h>

#include "ledger/keys.h"

/* {"keys": [...]}: one JWK per signing key, the current one first, then
 * every retired one (cmr keys rotate), each
 * {"kty":"OKP","crv":"Ed25519","x":<base64url of the public key, no
 * padding>,"kid":<key id>,"alg":"EdDSA","use":"sig"} (RFC 8037). A new
 * object the caller owns, or NULL when out of memory. */
json_t *jwks_of(const struct keys *k);

#endif
