/*
 * authres.h — who vouches for a message's sender (the gate's row 2,
 * core/gate.h): RFC 8601 Authentication-Results header fields as the MTA in
 * front of cmr writes them (Postfix with OpenDKIM/OpenDMARC, or rspamd), and
 * organizational-domain alignment by the public suffix list (libpsl).
 *
 * Only the topmost field whose authserv-id is the one cmr was told to trust
 * counts: a field further down with the same id may have been written by
 * the sender, and fields of other authserv-ids are somebody else's word.
 * Of that field only "pass" results count: a DMARC pass for header.from, or
 * a DKIM pass whose header.d (or header.i's domain) has the same
 * organizational domain as the From domain (relaxed alignment, RFC 7489).
 *
 * The parsers are pure: they read the bytes they are given and nothing
 * beyond, allocate nothing, and fail (rather than truncate) when a token is
 * longer than its place in struct authres. The organizational-domain
 * functions read the public suffix list once per process (thread-safe).
 */
#ifndef CMR_MAIL_AUTHRES_H
#define CMR_MAIL_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/domain.h"

#define AUTHRES_DKIM_MAX   8 /* DKIM passes kept of one field */
#define AUTHRES_DOMAIN_MAX DOMAIN_MAX
#define AUTHRES_VALUE_MAX  998 /* any one value (RFC 5322 line length) */

/* What one Authentication-Results field says, passes only. */
struct authres {
	char authserv_id[256]; /* lower case */
	bool dmarc_pass;       /* a "dmarc=pass" result */
	/* That pass's header.from, lower case; "" when it named none. */
	char dmarc_from[AUTHRES_DOMAIN_MAX];
	int n_dkim; /* dkim=pass results kept, 0..AUTHRES_DKIM_MAX */
	/* Each kept pass's header.d (or header.i's domain), lower case. */
	char dkim_d[AUTHRES_DKIM_MAX][AUTHRES_DOMAIN_MAX];
};

/* Parses one header field value: the bytes after "Authentication-Results:",
 * possibly folded (CRLF or LF followed by WSP), with RFC 5322 comments
 * (which nest) and quoted strings, and an optional trailing line end.
 * Returns false when it is not well formed: no authserv-id, a version other
 * than 1, no result (not even "none"), an unbalanced comment or quote, a
 * stray character, or a token longer than its place (a domain longer than
 * 253 octets, an authserv-id longer than 255, any value longer than
 * AUTHRES_VALUE_MAX). Method names, results, ptypes and properties are
 * compared case-insensitively. Only "dkim" and "dmarc" passes are kept;
 * a pass whose domain is missing or not a valid domain name is ignored, and
 * so are DKIM passes beyond AUTHRES_DKIM_MAX. Values of other properties
 * are read leniently (any run of visible characters but ";" and "()", so
 * that base64 in header.b does not fail the field). *out is always
 * cleared first; on false its contents mean nothing. */
bool authres_parse(const char *value, size_t len, struct authres *out);

/* Finds, in a raw header block (the bytes up to and including the blank
 * line, CRLF or LF line ends, folded fields), the topmost (first)
 * Authentication-Results field whose authserv-id equals authserv_id
 * (case-insensitively) and parses it into *out. Fields of other
 * authserv-ids, and fields whose authserv-id cannot be read, are skipped.
 * Returns false when there is none, or when that topmost one does not
 * parse — a lower one with the same id is never used instead. */
bool authres_find(const char *headers, size_t len, const char *authserv_id,
		  struct authres *out);

/* Whether the passes in ar vouch for from_domain, the message's From
 * domain: a DMARC pass whose header.from has from_domain's organizational
 * domain, or a DKIM pass whose domain has it (relaxed alignment). */
bool authres_vouches(const struct authres *ar, const char *from_domain);

#endif
