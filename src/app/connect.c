/*
 * connect.c — connect codes (see connect.h).
 */
#include "app/connect.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/qr.h"
#include "core/id.h"
#include "store/store.h"

bool connect_code_hash(const char *code, uint8_t hash[32])
{
	char norm[13];
	size_t n = 0;
	uint8_t raw[8];

	for (const char *p = code; *p; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n == 12)
			return false;
		norm[n++] = *p;
	}
	norm[n] = '\0';
	/* Decoding validates and maps look-alikes; re-encoding gives the one
	 * spelling that is hashed. */
	if (n != 12 || !id_base32_decode(norm, 12, raw, sizeof(raw)))
		return false;
	id_base32(raw, 60, norm);
	crypto_generichash(hash, 32, (const uint8_t *)norm, 12,
			   (const uint8_t *)"cmr connect code", 16);
	return true;
}

bool connect_job_prepare(struct connect_job *j, int64_t now)
{
	uint8_t raw[8] = { 0 };
	char b32[13];

	randombytes_buf(raw, sizeof(raw));
	raw[7] &= 0xf0; /* 60 bits */
	id_base32(raw, 60, b32);
	for (int i = 0; i < 12; i++)
		if (b32[i] >= 'a' && b32[i] <= 'z')
			b32[i] = (char)(b32[i] - 'a' + 'A');
	memcpy(j->code, b32, 4);
	j->code[4] = '-';
	memcpy(j->code + 5, b32 + 4, 4);
	j->code[9] = '-';
	memcpy(j->code + 10, b32 + 8, 4);
	j->code[14] = '\0';
	connect_code_hash(j->code, j->hash);
	j->expires_at = now + CONNECT_CODE_TTL;
	/* Exactly what the person reads out, dashes included: a scanner
	 * hands the brand the same text as typing it would. */
	char label[64];
	snprintf(label, sizeof(label), "QR code of the connect code %s",
		 j->code);
	j->qr_svg = qr_svg(j->code, label, NULL);
	return j->qr_svg != NULL;
}

void connect_job_free(void *arg)
{
	struct connect_job *j = arg;
	if (j)
		free(j->qr_svg);
	free(j);
}

int connect_job_run(struct app_tx *t, void *arg)
{
	struct connect_job *j = arg;
	return store_code_insert(t->tx, j->hash, j->person, j->expires_at);
}
