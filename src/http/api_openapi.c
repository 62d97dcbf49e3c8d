/*
 * api_openapi.c — what documents the API: GET /v1/openapi.json, the
 * OpenAPI 3.1 document, written by hand in src/http/openapi.json and
 * embedded at build (a unit test, tests/unit/http/test_openapi.c, holds
 * it and the route table to each other); and GET /ns/cmr, the vocabulary
 * of cmr's own terms in the DPV consent records.
 */
#include "http/api.h"

#include <stdio.h>
#include <string.h>

#include "app/receipt.h"

extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

void api_openapi(struct http_request *r)
{
	http_text(r, 200, "application/json", http_openapi_json);
}

void api_namespace(struct http_request *r, char *out, size_t size)
{
	/* Host is the client's word: a name, an address and a port only,
	 * else the loopback name (the IRI stays well-formed). */
	const char *host = http_header_in(r, "Host");
	if (host == NULL || host[0] == '\0' || strlen(host) > 255 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-:[]") != strlen(host))
		host = "localhost";
	snprintf(out, size, "http://%s/ns/cmr#", host);
}

void api_vocabulary(struct http_request *r)
{
	char ns[300];
	api_namespace(r, ns, sizeof(ns));
	http_json(r, 200, receipt_vocabulary(ns));
	r->reply_type = "application/ld+json";
}
