/*
 * replyaddr.c — reply addresses (see replyaddr.h). The alphabet and the
 * encoding are core/id's, so an alias and a reply address read alike.
 */
#include "replyaddr.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "id.h"

void replyaddr_make(const uint8_t rnd[REPLYADDR_RANDOM_BYTES],
		    char out[REPLYADDR_LOCAL_SIZE])
{
	out[0] = 'r';
	out[1] = '.';
	id_base32(rnd, REPLYADDR_TOKEN_LEN * 5, out + 2);
}

bool replyaddr_make_full(const uint8_t rnd[REPLYADDR_RANDOM_BYTES],
			 const char *domain, char *out, size_t size)
{
	char local[REPLYADDR_LOCAL_SIZE];

	if (size == 0)
		return false;
	out[0] = '\0';
	if (domain == NULL || domain[0] == '\0')
		return false;
	replyaddr_make(rnd, local);
	int n = snprintf(out, size, "%s@%s", local, domain);
	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool replyaddr_parse(const char *rcpt, const char *alias_domain,
		     char token[REPLYADDR_TOKEN_SIZE])
{
	token[0] = '\0';
	if (rcpt == NULL || alias_domain == NULL || alias_domain[0] == '\0')
		return false;
	if ((rcpt[0] != 'r' && rcpt[0] != 'R') || rcpt[1] != '.')
		return false;
	const char *t = rcpt + 2;
	for (int i = 0; i < REPLYADDR_TOKEN_LEN; i++)
		if (!id_base32_char(t[i])) /* also stops at the NUL */
			return false;
	if (t[REPLYADDR_TOKEN_LEN] != '@' ||
	    strcasecmp(t + REPLYADDR_TOKEN_LEN + 1, alias_domain) != 0)
		return false;
	for (int i = 0; i < REPLYADDR_TOKEN_LEN; i++) {
		char c = t[i];
		token[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	token[REPLYADDR_TOKEN_LEN] = '\0';
	return true;
}
