/*
 * api_openapi.c — GET /v1/openapi.json: the OpenAPI 3.1 document of the
 * API, written by hand in src/http/openapi.json and embedded at build. A
 * unit test (tests/unit/http/test_openapi.c) holds it and the route table
 * to each other.
 */
#include "http/api.h"

extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

void api_openapi(struct http_request *r)
{
	http_text(r, 200, "application/json", http_openapi_json);
}
