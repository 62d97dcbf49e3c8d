/*
 * mailmsg.h — mail through GMime, at the edge: what intake reads of an
 * incoming message (the From address and domain, the decoded Subject,
 * Message-ID, the CMR-Topic header, and where the header block ends),
 * what a person reads of a stored one (its text, the headers a reader
 * wants, its attachments' names and sizes), and the mail made of a
 * message that came over HTTP. GLib aborts on a failed allocation, which
 * is why only this module and base/scrub (a person's reply made
 * anonymous, which shares mailmsg_init) touch GMime.
 */
#ifndef CMR_BASE_MAILMSG_H
#define CMR_BASE_MAILMSG_H

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
	/* Sent to many: List-Unsubscribe, List-Id, or Precedence bulk or
	 * list — the topic "bulk" of a brand not on cmr. */
	bool bulk;
	size_t header_len; /* bytes of the header block, blank line incl. */
};

/* The message GMime reads in data[0..len) (a new reference), or NULL:
 * for base/ modules that work on GMime's tree themselves (base/scrub). */
struct _GMimeMessage;
struct _GMimeMessage *mailmsg_message(const char *data, size_t len);

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
	const char *in_reply_to; /* a Message-ID (no brackets), or NULL */
	const char *body;	 /* UTF-8 text */
	size_t body_len;
	int64_t date; /* Unix seconds */
};

/* The message as RFC 5322 text (LF line ends, quoted-printable body,
 * RFC 2047 words where needed), malloc'd; NULL when out of memory. */
char *mailmsg_compose(const struct mailmsg_compose *c, size_t *len);

/* The first mailbox address of an address list such as a From or
 * Reply-To value ("Acme <News@Acme.example>, …"), lower case, into out;
 * false when there is none that fits. */
bool mailmsg_first_address(const char *list, char *out, size_t size);

/* A copy of the message (CRLF or LF) whose header block has its Reply-To
 * fields (folded lines too) removed and "Reply-To: <address>" (CRLF) put
 * first; the rest is byte for byte. malloc'd, *out_len bytes; NULL when
 * out of memory. */
char *mailmsg_set_reply_to(const char *data, size_t len, const char *address,
			   size_t *out_len);

/* An attachment, as a reader lists it. */
struct mailmsg_attachment {
	char name[256];		/* its file name, or "" */
	char content_type[128]; /* "type/subtype" */
	size_t size;		/* bytes, decoded */
};

#define MAILMSG_ATTACHMENTS_MAX 64 /* listed; more are counted only */

/* What a person reads of a stored message. Every string is UTF-8. */
struct mailmsg_view {
	char *text; /* malloc'd: the first text/plain part, or
		       else the first HTML part as text
		       (core/html_text.h); "" when there is none */
	size_t text_len;
	bool html;	 /* there is an HTML part */
	char *html_part; /* malloc'd: the first HTML part as written
			    (UTF-8), for base/html_clean; NULL when
			    there is none */
	size_t html_part_len;
	char from[1000]; /* as written (names and addresses); "" */
	char to[1000];
	char cc[1000];
	char reply_to[1000];
	char subject[999];
	char message_id[256];
	int64_t date; /* Unix seconds; 0 when there is none */
	struct mailmsg_attachment attachments[MAILMSG_ATTACHMENTS_MAX];
	int n_attachments;    /* listed */
	int more_attachments; /* beyond MAILMSG_ATTACHMENTS_MAX */
};

/* Reads a stored message (CRLF or LF) for its reader. Returns false when
 * it cannot be read as mail, or out of memory (out holds nothing). */
bool mailmsg_read(const char *data, size_t len, struct mailmsg_view *out);
void mailmsg_view_clear(struct mailmsg_view *v);

#endif
