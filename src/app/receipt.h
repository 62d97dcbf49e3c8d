/*
 * receipt.h — consent receipts: one per consent event of a
 * relationship (accepted, terms changed, ended), each a compact JWS
 * (EdDSA, with the signing key's kid) over the JCS of a Kantara Consent
 * Receipt v1.1 record built from the ledger entry; or the same history as
 * ISO/IEC TS 27560 JSON-LD in the W3C DPV profile.
 */
#ifndef CMR_APP_RECEIPT_H
#define CMR_APP_RECEIPT_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"

/* The person's receipts for relationship rel: {"items":[{"id","type",
 * "at","receipt":"<JWS>","record":{…}}]}; or, given dpv_ns (the IRI of
 * cmr's own terms, receipt_vocabulary), the JSON-LD document. A receipt
 * names the brand's jurisdiction, else --operator-jurisdiction.
 * APP_NOT_FOUND when the relationship is not theirs. */
enum app_status receipt_list(struct app *a, uint64_t person, uint64_t rel,
			     const char *dpv_ns, json_t **out,
			     struct app_error *err);

/* The JSON-LD vocabulary of cmr's own terms in the DPV records (their
 * labels and meaning), published under namespace ns. */
json_t *receipt_vocabulary(const char *ns);

#endif
