/*
 * replyaddr.h — reply addresses: the Reply-To that forwarded mail carries
 * ("r.<26 base32>@<alias domain>"), to which a person answers a brand from
 * their own mailbox; mail to it is sent on to the brand from the alias.
 *
 * The token is 130 random bits, written with the base32 alphabet of ids
 * and aliases (core/id.h), lower case. The caller draws the random bytes,
 * so this module stays pure: no I/O, no allocation, no globals. Storing a
 * token (hashed) and binding it to a relationship are the store's.
 */
#ifndef CMR_CORE_REPLYADDR_H
#define CMR_CORE_REPLYADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLYADDR_RANDOM_BYTES 17 /* 136 bits drawn; the first 130 used */
#define REPLYADDR_TOKEN_LEN    26 /* base32 characters: 130 bits */
#define REPLYADDR_TOKEN_SIZE   (REPLYADDR_TOKEN_LEN + 1)
#define REPLYADDR_LOCAL_SIZE   (2 + REPLYADDR_TOKEN_LEN + 1) /* "r." … NUL */

/* The local part "r.<token>" made of rnd, NUL-terminated, into out. */
void replyaddr_make(const uint8_t rnd[REPLYADDR_RANDOM_BYTES],
		    char out[REPLYADDR_LOCAL_SIZE]);

/* The whole address "r.<token>@<domain>" into out (size bytes). False,
 * with out "", when domain is NULL or empty or the address does not fit. */
bool replyaddr_make_full(const uint8_t rnd[REPLYADDR_RANDOM_BYTES],
			 const char *domain, char *out, size_t size);

/* Whether rcpt is a reply address in alias_domain: exactly "r." and 26
 * characters of the base32 alphabet (any case; no look-alikes, no
 * separators), "@", and alias_domain (any case), nothing before or after.
 * On true, token holds the 26 characters in lower case; on false, "". */
bool replyaddr_parse(const char *rcpt, const char *alias_domain,
		     char token[REPLYADDR_TOKEN_SIZE]);

#endif
