/*
 * domain.h — domain names as row 2 and person-made relationships judge
 * them: whether a name is one we can reason about, and its organizational
 * domain (RFC 7489 §3.2) by the public suffix list (libpsl, loaded once).
 */
#ifndef CMR_BASE_DOMAIN_H
#define CMR_BASE_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#define DOMAIN_MAX 254 /* a domain name, 253 octets + NUL */

/* Whether s is a domain name we can reason about: ASCII letters, digits,
 * "-" and "_", labels of 1..63, 253 octets at most, no empty label (so no
 * leading or trailing dot). Case is not looked at. */
bool domain_valid(const char *s);

/* The organizational domain of domain (its registrable domain by the
 * public suffix list, private section included), lower case, into out.
 * Returns false when domain is itself a public suffix, is not a valid
 * ASCII domain name (A-labels only), when out is too small, or when no
 * usable public suffix list could be loaded. */
bool domain_org(const char *domain, char *out, size_t size);

/* Whether a and b have the same organizational domain (both must have
 * one). */
bool domain_same_org(const char *a, const char *b);

/* Whether the public suffix list is loaded and knows that "co.uk" is a
 * public suffix. Without it no domain has an organizational domain and
 * nothing is ever vouched for; a server that trusts an authserv-id should
 * refuse to start. */
bool domain_psl_ready(void);

#endif
