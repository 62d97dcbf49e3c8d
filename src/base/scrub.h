/*
 * scrub.h — a person's reply to a brand, stripped of the person, so that
 * it can go to the brand from the relationship's alias (replies through
 * the alias). The person wrote it in their own mail client, which signs
 * it with who they are in many places; the brand must learn none of them.
 *
 * What is removed, and why:
 *  - Every top-level header but Subject, Date, In-Reply-To, References,
 *    MIME-Version and Content-Type, -Transfer-Encoding, -Language and
 *    -Disposition (RFC 5322 §3.6, RFC 2045 §3-6): From, Sender, Reply-To,
 *    To, Cc and Bcc name the person; Received, Return-Path, Delivered-To,
 *    X-Original-To and X-Originating-IP their mailbox, provider and
 *    network; Message-ID, DKIM-Signature, ARC-*, Authentication-Results,
 *    Autocrypt and Openpgp their domain and keys; User-Agent, X-Mailer and
 *    any X-* their software. From, To and Message-ID are written anew (the
 *    alias, the brand, an id the caller made at the alias domain), and
 *    Date from the caller's time (never the person's zone offset).
 *  - In-Reply-To and References lose every id whose right-hand side is
 *    the domain of one of the person's addresses or a subdomain of it
 *    (their client or provider made it there: Gmail's are at
 *    mail.gmail.com), and every id that names them (an address, name or
 *    local part as below); the brand's own ids stay, so the reply threads.
 *  - In the Subject (RFC 2047 words decoded first, encoded again when not
 *    ASCII) and in every text/plain and text/html part that is not an
 *    attachment, at any depth (its transfer encoding undone, its charset
 *    converted to UTF-8), in any other inline text part (a calendar
 *    reply's text/calendar names its attendee) and in the values of the
 *    Content-* headers kept: each of the person's addresses becomes the
 *    alias; each display name, in any case and with any run of white
 *    space between its words (a line break and "> " quote marks too, as in
 *    a wrapped "On …, Ana Lima <ana@home.example> wrote:"; in HTML also
 *    &nbsp; and tags), becomes alias_name (the alias when NULL); each
 *    address's local part of 3 characters or more, standing as a word
 *    (bounded by what is not a letter or digit), becomes the alias's
 *    local part. In HTML an "@" may be written &#64;, &#x40; or %40 (a
 *    mailto: link). Text is compared in Unicode NFC, without case.
 *  - A sub-part's Content-ID, and the HTML's cid: and mid: URLs (RFC 2392),
 *    at one of the person's domains move to the alias's domain (Thunderbird
 *    names inline images and quoted messages at the sender's domain).
 *  - A format=flowed text (RFC 3676) is unflowed first (soft line breaks
 *    joined, space-stuffing removed, DelSp honoured), so that no soft break
 *    hides a name; it goes out as fixed text, quoted-printable.
 *  - Sub-parts keep only their Content-* headers but Content-Description;
 *    a header given twice keeps the one GMime went by (the last), and
 *    every kept header is written anew from its value (a NUL or a space
 *    before the colon never goes out raw); multipart preambles and
 *    epilogues go, and boundaries are drawn anew (their shape names the
 *    client); attachments' file names get the same replacement, their
 *    content is kept byte for byte.
 *  - Parts that are the person's identity itself go: signatures
 *    (application/pgp-signature, application/pkcs7-signature; a
 *    multipart/signed becomes its signed part), public keys
 *    (application/pgp-keys) and vCards (text/vcard, text/x-vcard).
 *    Encrypted content (multipart/encrypted, application/pkcs7-mime)
 *    cannot be read, so cannot be scrubbed: such a message is refused.
 *
 * Not removed: attached messages (message/rfc822) and other attachments
 * are kept as they are (their decoded bytes; one that was not encoded goes
 * in base64, so no bare CR, NUL or long line reaches SMTP), and so is the
 * person's domain standing alone in a body or the Subject (a brand's quoted
 * text may name it for others). Pure apart from GMime (base/mailmsg.h's
 * initialisation).
 */
#ifndef CMR_BASE_SCRUB_H
#define CMR_BASE_SCRUB_H

#include <stddef.h>
#include <stdint.h>

#define SCRUB_PEOPLE_MAX  16  /* addresses, and names, a call may pass */
#define SCRUB_ADDRESS_MAX 320 /* bytes of one address */
#define SCRUB_NAME_MAX	  256 /* bytes of one display name */
#define SCRUB_DEPTH_MAX	  32  /* multipart nesting read */
#define SCRUB_PARTS_MAX	  512 /* MIME parts read */

/* Who the person is, and what replaces them. Every string is UTF-8 and
 * borrowed for the call. */
struct scrub_person {
	const char *const *addresses; /* real addresses: forwarding address,
					 profile email …; each with an "@" */
	int n_addresses;
	const char *const *names; /* display names, e.g. "Ana Lima"; one
				     shorter than 2 characters is skipped */
	int n_names;
	const char *alias;	/* the relationship's alias: replaces every
				   address; required */
	const char *alias_name; /* display name in From and in place of a
				   name (NULL: none, the alias instead) */
};

/* What the reply's new headers say. Borrowed for the call. */
struct scrub_out_hdr {
	const char *to; /* the brand's address, bare ("deals@acme.example":
			   no name, brackets, space or comma); required */
	const char *message_id; /* without angle brackets, made by the
				   caller at the alias domain; required */
	int64_t date; /* Unix seconds, written in UTC; 0: the reply's own
			 Date moved to UTC (none when it has none) */
};

/* Makes the reply data[0..len) (CRLF or LF line ends) anonymous as above.
 * Returns the message, malloc'd (the caller frees it), with CRLF line
 * ends as base/outbound's outbound_smtp wants, and its length in
 * *out_len (it is also NUL-terminated). Returns NULL — nothing to free —
 * when the input is not a message (no header block GMime can read), holds
 * encrypted content or more than SCRUB_DEPTH_MAX / SCRUB_PARTS_MAX, or
 * would go out with a bare CR or a NUL (an attached message's), when
 * person or hdr is unusable (a required field missing or empty, a CR or
 * LF in a header value, an address without "@", a `to` that is not bare,
 * brackets around message_id, invalid UTF-8, more than SCRUB_PEOPLE_MAX
 * or longer than the limits above), or when the copy out cannot be
 * allocated (GLib aborts on its own failures, as with base/mailmsg).
 * Work is linear in len times the (bounded) total length of the
 * person's addresses and names. Thread-safe. */
char *scrub_reply(const char *data, size_t len, const struct scrub_person *p,
		  const struct scrub_out_hdr *hdr, size_t *out_len);

#endif
