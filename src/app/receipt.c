/*
 * receipt.c — Kantara receipts and their DPV form (see receipt.h).
 */
#include "app/receipt.h"

#include "app/relationship.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/field.h"
#include "core/id.h"
#include "ledger/chain.h"
#include "ledger/jcs.h"
#include "store/store.h"

/* The Kantara v1.1 PII category of a profile field (core/field.h). */
static const char *receipt_pii_category(const char *field)
{
	const struct field *f = field_find(field);
	return f ? f->category : "1 - Biographical";
}

/* The member, or JSON null (borrowed either way, for json_pack's "O"). */
static json_t *receipt_or_null(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return v ? v : json_null();
}

static char *receipt_b64(const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(
		len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(n);
	if (s)
		sodium_bin2base64(s, n, data, len,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* Compact JWS of the JCS of record, signed with the server's key. */
static char *receipt_jws(struct app *a, const json_t *record)
{
	char *payload = NULL, *header = NULL, *out = NULL;
	size_t plen = 0, hlen = 0;
	json_t *h = json_pack("{s:s,s:s,s:s}", "alg", "EdDSA", "kid",
			      keys_id(a->keys), "typ", "JWT");
	if (jcs_serialize(h, &header, &hlen) != JCS_OK ||
	    jcs_serialize(record, &payload, &plen) != JCS_OK)
		goto out;
	char *h64 = receipt_b64(header, hlen),
	     *p64 = receipt_b64(payload, plen);
	if (h64 && p64) {
		size_t n = strlen(h64) + 1 + strlen(p64);
		char *input = malloc(n + 1);
		uint8_t sig[KEYS_SIG_BYTES];
		if (input) {
			snprintf(input, n + 1, "%s.%s", h64, p64);
			char *s64 = NULL;
			if (keys_sign(a->keys, input, n, sig) == 0 &&
			    (s64 = receipt_b64(sig, sizeof(sig)))) {
				size_t m = n + 1 + strlen(s64) + 1;
				out = malloc(m);
				if (out)
					snprintf(out, m, "%s.%s", input, s64);
			}
			free(s64);
			free(input);
		}
	}
	free(h64);
	free(p64);
out:
	json_decref(h);
	free(header);
	free(payload);
	return out;
}

struct receipt_ctx {
	struct app *a;
	const char *rel_id;
	char prp_id[ID_SIZE];
	const struct store_relationship *rel;
	const struct store_brand *brand;
	json_t *controller;
	json_t *items;	/* Kantara items */
	json_t *graph;	/* DPV records */
	const char *ns; /* DPV: the namespace of cmr's terms; NULL: Kantara */
	bool dpv;
	bool fault;
};

/* cmr's own terms in the DPV records, beside DPV's and Dublin Core's: the
 * vocabulary receipt_vocabulary publishes under the namespace the records
 * name. */
static const struct {
	const char *term;
	const char *label;
	const char *comment;
} receipt_terms[] = {
	{ "ledgerSeq", "ledger sequence number",
	  "The seq of the entry on the person's hash-chained ledger that "
	  "this record reflects; the record's @id ends with that entry's "
	  "hash (BLAKE2b-256, hex)." },
	{ "channels", "channels granted",
	  "The channels on which the person lets the brand reach them "
	  "(email, sms, phone, postal, push), each only through the "
	  "relationship's alias." },
	{ "personalData", "fields granted",
	  "The person's profile fields the brand may read (name, email, "
	  "phone, address, birthday, interests)." },
};

static json_t *receipt_record(struct receipt_ctx *c,
			      const struct store_ledger_entry *e,
			      const char *hash_hex)
{
	json_t *data = json_loads(e->data, 0, NULL);
	json_t *purposes = json_array();
	bool ended = strcmp(e->type, "relationship.ended") == 0;
	json_t *pii = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(data, "fields"), i, v) {
		const char *cat = receipt_pii_category(json_string_value(v));
		bool seen = false;
		size_t k;
		json_t *w;
		json_array_foreach (pii, k, w) {
			seen = seen || strcmp(json_string_value(w), cat) == 0;
		}
		if (!seen)
			json_array_append_new(pii, json_string(cat));
	}
	json_t *topics = json_object_get(data, "topics");
	json_array_foreach (ended ? NULL : json_object_get(data, "channels"), i,
			    v) {
		char purpose[160];
		snprintf(purpose, sizeof(purpose), "messages by %s",
			 json_string_value(v));
		json_t *cats = json_pack("[s]", "4 - Contact Requested");
		if (json_is_string(topics) || json_array_size(topics) > 0)
			json_array_append_new(cats,
					      json_string("6 - Marketing"));
		json_array_append_new(
			purposes,
			json_pack("{s:s,s:b,s:s,s:o,s:O,s:s,s:b}", "purpose",
				  purpose, "primaryPurpose", i == 0,
				  "consentType", "EXPLICIT", "purposeCategory",
				  cats, "piiCategory", pii, "termination",
				  "when the person ends the relationship or "
				  "the consent expires",
				  "thirdPartyDisclosure", 0));
	}
	json_decref(pii);
	const char *method =
		ended ? "the person ended the relationship in cmr"
		: strcmp(e->type, "terms.changed") == 0
			? "the person changed their terms in cmr"
		: c->rel->proposal == 0
			? "the person made the relationship themselves in "
			  "cmr, for a brand not on cmr"
			: "the person accepted the brand's proposal in cmr";
	json_t *ctl = json_pack(
		"{s:s,s:O,s:O,s:O,s:O,s:O}", "piiController", c->brand->name,
		"contact", receipt_or_null(c->controller, "contact"), "address",
		receipt_or_null(c->controller, "address"), "email",
		receipt_or_null(c->controller, "email"), "phone",
		receipt_or_null(c->controller, "phone"), "piiControllerUrl",
		receipt_or_null(c->controller, "url"));
	/* The brand's jurisdiction, else the operator's (a receipt names
	 * one where either gave it). */
	json_t *jur = json_object_get(c->controller, "jurisdiction");
	if (!json_is_string(jur) || json_string_length(jur) == 0)
		jur = NULL;
	json_t *policy = json_object_get(c->controller, "policy_url");
	json_t *r = json_pack(
		"{s:s,s:s,s:I,s:s,s:s,s:s,s:[o],s:s,s:[{s:s,s:o}],s:b,s:[]}",
		"version", "KI-CR-v1.1.0", "jurisdiction",
		jur ? json_string_value(jur) : c->a->cfg.operator_jurisdiction,
		"consentTimestamp", (json_int_t)(e->at_ms / 1000),
		"collectionMethod", method, "consentReceiptID", hash_hex,
		"piiPrincipalId", c->rel->alias, "piiControllers", ctl,
		"policyUrl",
		json_is_string(policy) ? json_string_value(policy) : "",
		"services", "service", c->brand->name, "purposes", purposes,
		"sensitive", 0, "spiCat");
	json_decref(data);
	return r;
}

static const char *dpv_status(const char *type)
{
	if (strcmp(type, "proposal.received") == 0)
		return "dpv:ConsentRequested";
	if (strcmp(type, "proposal.declined") == 0)
		return "dpv:ConsentRefused";
	if (strcmp(type, "relationship.ended") == 0)
		return "dpv:ConsentWithdrawn";
	return "dpv:ConsentGiven";
}

static int receipt_entry(const struct store_ledger_entry *e, void *arg)
{
	struct receipt_ctx *c = arg;
	bool about_rel = strcmp(e->relationship, c->rel_id) == 0;
	bool event =
		about_rel && (strcmp(e->type, "relationship.accepted") == 0 ||
			      strcmp(e->type, "terms.changed") == 0 ||
			      strcmp(e->type, "relationship.ended") == 0);
	bool request = false;
	if (!about_rel && strcmp(e->type, "proposal.received") == 0) {
		json_t *d = json_loads(e->data, 0, NULL);
		const char *p =
			json_string_value(json_object_get(d, "proposal"));
		request = p && strcmp(p, c->prp_id) == 0;
		json_decref(d);
	}
	if (!event && !(c->dpv && request))
		return 0;
	char hash[CHAIN_HASH_HEX + 1], at[CHAIN_AT_LEN + 1];
	chain_hex_encode(e->hash, hash);
	chain_format_at(e->at_ms, at);
	if (c->dpv) {
		json_t *data = json_loads(e->data, 0, NULL);
		json_t *rec = json_pack(
			"{s:s,s:s,s:{s:s},s:s,s:s,s:s,s:I,s:O,s:O}", "@id", "",
			"@type", "dpv:ConsentRecord", "dpv:hasConsentStatus",
			"@id", dpv_status(e->type), "dpv:hasDataSubject",
			c->rel->alias, "dpv:hasDataController", c->brand->name,
			"dct:created", at, "cmr:ledgerSeq", (json_int_t)e->seq,
			"cmr:channels", receipt_or_null(data, "channels"),
			"cmr:personalData", receipt_or_null(data, "fields"));
		char iri[96];
		snprintf(iri, sizeof(iri), "urn:cmr:consent:%s", hash);
		json_object_set_new(rec, "@id", json_string(iri));
		json_decref(data);
		json_array_append_new(c->graph, rec);
		return 0;
	}
	json_t *record = receipt_record(c, e, hash);
	char *jws = record ? receipt_jws(c->a, record) : NULL;
	if (jws == NULL) {
		json_decref(record);
		c->fault = true;
		return 1;
	}
	json_array_append_new(c->items,
			      json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", hash,
					"type", e->type, "at", at, "receipt",
					jws, "record", record));
	free(jws);
	return 0;
}

enum app_status receipt_list(struct app *a, uint64_t person, uint64_t rel,
			     const char *dpv_ns, json_t **out,
			     struct app_error *err)
{
	bool dpv = dpv_ns != NULL;
	struct store_relationship r;
	struct store_brand b;
	int rc = relationship_of(a, APP_PERSON(person), rel, &r, err);
	if (rc != APP_OK)
		return rc;
	/* A brand not on cmr is known by the name the person gave it. */
	if (r.brand == 0) {
		memset(&b, 0, sizeof(b));
		snprintf(b.name, sizeof(b.name), "%s",
			 r.brand_name ? r.brand_name : "");
		b.controller = strdup("{}");
	}
	if (r.brand == 0 ? b.controller == NULL
			 : store_brand_get(a->reads, r.brand, NULL, &b) !=
				   STORE_OK) {
		store_relationship_clear(&r);
		return app_fail(err, APP_FAULT, NULL,
				"the brand cannot be read");
	}
	char rel_id[ID_SIZE];
	id_encode(ID_RELATIONSHIP, rel, rel_id);
	struct receipt_ctx c = { .a = a,
				 .rel_id = rel_id,
				 .rel = &r,
				 .brand = &b,
				 .controller =
					 json_loads(b.controller, 0, NULL),
				 .items = json_array(),
				 .graph = json_array(),
				 .dpv = dpv };
	id_encode(ID_PROPOSAL, r.proposal, c.prp_id);
	rc = store_ledger_list(a->reads, person, 0, INT32_MAX, receipt_entry,
			       &c);
	json_decref(c.controller);
	store_relationship_clear(&r);
	store_brand_clear(&b);
	if (rc != STORE_OK || c.fault) {
		json_decref(c.items);
		json_decref(c.graph);
		return app_fail(err, APP_FAULT, NULL,
				"the receipts cannot be made");
	}
	if (dpv) {
		json_decref(c.items);
		*out = json_pack("{s:{s:s,s:s,s:s},s:o}", "@context", "dpv",
				 "https://w3id.org/dpv#", "dct",
				 "http://purl.org/dc/terms/", "cmr", dpv_ns,
				 "@graph", c.graph);
	} else {
		json_decref(c.graph);
		*out = json_pack("{s:o}", "items", c.items);
	}
	return *out ? APP_OK : APP_FAULT;
}

json_t *receipt_vocabulary(const char *ns)
{
	json_t *graph = json_array();
	for (size_t i = 0; i < sizeof(receipt_terms) / sizeof(*receipt_terms);
	     i++) {
		char id[64];
		snprintf(id, sizeof(id), "cmr:%s", receipt_terms[i].term);
		json_array_append_new(
			graph, json_pack("{s:s,s:s,s:s,s:s,s:s}", "@id", id,
					 "@type", "rdf:Property", "rdfs:label",
					 receipt_terms[i].label, "rdfs:comment",
					 receipt_terms[i].comment,
					 "rdfs:domain", "dpv:ConsentRecord"));
	}
	return json_pack("{s:{s:s,s:s,s:s,s:s},s:o}", "@context", "rdf",
			 "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs",
			 "http://www.w3.org/2000/01/rdf-schema#", "dpv",
			 "https://w3id.org/dpv#", "cmr", ns, "@graph", graph);
}
