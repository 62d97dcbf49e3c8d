/*
 * mailmsg.h — what cmr reads of an incoming message (GMime at the edge):
 * the From address and domain, the decoded Subject, Message-ID, the
 * CMR-Topic header, and where the header block ends. GLib aborts on a
 * failed allocation, which is why only this module touches GMime.
 */
#ifndef CMR_MAIL_MAILMSG_H
#define CMR_MAIL_MAILMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mailmsg {
	char from[321];	       /* the first From mailbox, lower case; "" */
	char from_domain[254]; /* its domain; "" */
	char subject[999];     /* decoded (RFC 2047), UTF-8; "" */
	char message_id[256];  /* without the angle brackets; "" */
	char topic[65];	       /* CMR-Topic, trimmed; "" when absent */
	/* The https URI of List-Unsubscribe when List-Unsubscribe-Post says
	 * "List-Unsubscribe=One-Click" (RFC 8058); "" otherwise. */
	char unsubscribe[2049];
	size_t header_len; /* bytes of the header block, blank line incl. */
};

/* Once per process, before any mailmsg_parse. */
void mailmsg_init(void);

/* Reads a message (CRLF or LF line ends). Returns false when it has no
 * header block at all. */
bool mailmsg_parse(const char *data, size_t len, struct mailmsg *out);

/* The domain of an address ("a@b.example" → "b.example"), lower case,
 * into out; false when there is none. */
bool mailmsg_domain(const char *address, char *out, size_t size);

/* cmr's own envelope sender for what it forwards: bounces come back
 * here, never to a brand. */
#define MAILMSG_BOUNCES "cmr-bounces"

/* Whether rcpt is cmr's bounce address in the alias domain
 * ("cmr-bounces@D" or "cmr-bounces+…@D", any case). */
bool mailmsg_is_bounce(const char *rcpt, const char *alias_domain);

/* A message that came over HTTP, as mail (for the delivery adapters). */
struct mailmsg_compose {
	const char *from_name, *from_addr; /* the brand, at its alias */
	const char *to;			   /* the alias */
	const char *subject;		   /* UTF-8, may be NULL */
	const char *message_id;		   /* without angle brackets */
	const char *topic;		   /* CMR-Topic, may be NULL */
	const char *body;		   /* UTF-8 text */
	size_t body_len;
	int64_t date; /* Unix seconds */
};

/* The message as RFC 5322 text (LF line ends, quoted-printable body,
 * RFC 2047 words where needed), malloc'd; NULL when out of memory. */
char *mailmsg_compose(const struct mailmsg_compose *c, size_t *len);

#endif
