/*
 * test_mailmsg.c — what cmr reads of a message (mailmsg.h): the first From
 * mailbox and its domain in lower case, RFC 2047 subjects decoded to
 * UTF-8, the Message-ID without its angle brackets, CMR-Topic trimmed and
 * cut only at a character's end, the RFC 8058 one-click URI (https, and
 * only with List-Unsubscribe-Post: List-Unsubscribe=One-Click), and where
 * the header block ends, with CRLF and LF line ends. Then the helpers
 * (mailmsg_domain, mailmsg_is_bounce), and mailmsg_compose: what it writes
 * parses back to what went in, and a CR or LF in a subject, a name or a
 * topic never starts a header of its own.
 *
 * Every message is copied into a buffer of exactly its length (no NUL
 * after it), so that under ASan a read past the end is caught.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mailmsg.h"

static void init(void)
{
	mailmsg_init();
}

TestSuite(mailmsg, .init = init);

/* mailmsg_parse on a copy of s that ends where s ends. */
static bool parse(const char *s, struct mailmsg *m)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	bool ok = mailmsg_parse(copy, len, m);
	free(copy);
	return ok;
}

/* s must parse; returns what was read. */
static struct mailmsg parsed(const char *s)
{
	struct mailmsg m;
	cr_assert(parse(s, &m), "does not parse: %s", s);
	return m;
}

/* ---- mailmsg_parse ---- */

Test(mailmsg, the_fields)
{
	struct mailmsg m = parsed("From: Ana Lima <Ana.Lima@Mail.Example.COM>\n"
				  "To: x1@alias.example\n"
				  "Subject: Hello there\n"
				  "Message-ID: <Abc.123@Mail.Example.com>\n"
				  "CMR-Topic: offers\n"
				  "\n"
				  "body\n");
	cr_assert_str_eq(m.from, "ana.lima@mail.example.com");
	cr_assert_str_eq(m.from_domain, "mail.example.com");
	cr_assert_str_eq(m.subject, "Hello there");
	/* the Message-ID keeps its case: only the brackets go */
	cr_assert_str_eq(m.message_id, "Abc.123@Mail.Example.com");
	cr_assert_str_eq(m.topic, "offers");
	cr_assert_str_eq(m.unsubscribe, "");
}

Test(mailmsg, absent_fields_are_empty)
{
	struct mailmsg m = parsed("X-Other: 1\n\nbody\n");
	cr_assert_str_eq(m.from, "");
	cr_assert_str_eq(m.from_domain, "");
	cr_assert_str_eq(m.subject, "");
	cr_assert_str_eq(m.message_id, "");
	cr_assert_str_eq(m.topic, "");
	cr_assert_str_eq(m.unsubscribe, "");
}

Test(mailmsg, nothing_at_all)
{
	struct mailmsg m;
	cr_assert_not(parse("", &m));
	cr_assert_eq(m.header_len, 0);
	cr_assert_str_eq(m.from, "");
}

/* The first mailbox of From; a group, which has none, gives nothing. */
Test(mailmsg, from_forms)
{
	cr_assert_str_eq(parsed("From: A@B.EXAMPLE\n\n").from, "a@b.example");
	cr_assert_str_eq(parsed("From: <A@B.example>\n\n").from_domain,
			 "b.example");
	cr_assert_str_eq(
		parsed("From: \"Q, R\" <q@x.example>, r@y.example\n\n").from,
		"q@x.example");
	cr_assert_str_eq(parsed("From: =?utf-8?q?Caf=C3=A9?= "
				"<news@Cafe.example>\n\n")
				 .from_domain,
			 "cafe.example");
	struct mailmsg m = parsed("From: undisclosed-recipients:;\n\n");
	cr_assert_str_eq(m.from, "");
	cr_assert_str_eq(m.from_domain, "");
}

Test(mailmsg, rfc2047_subjects)
{
	cr_assert_str_eq(
		parsed("Subject: =?utf-8?q?caf=C3=A9?= ok\n\n").subject,
		"caf\xc3\xa9 ok");
	cr_assert_str_eq(parsed("Subject: =?UTF-8?B?Y2Fmw6k=?=\n\n").subject,
			 "caf\xc3\xa9");
	/* another charset is converted to UTF-8 */
	cr_assert_str_eq(parsed("Subject: =?ISO-8859-1?Q?caf=E9?=\n\n").subject,
			 "caf\xc3\xa9");
	/* adjacent encoded words join without the space between them */
	cr_assert_str_eq(
		parsed("Subject: =?utf-8?q?a?= =?utf-8?q?b?=\n\n").subject,
		"ab");
	/* a folded subject is unfolded */
	cr_assert_str_eq(parsed("Subject: one\n two\n\n").subject, "one two");
	cr_assert_str_eq(parsed("Subject:    padded   \n\n").subject, "padded");
}

/* Whatever bytes arrive, the subject is valid UTF-8 (it goes into JSON),
 * also when cut to its field. */
Test(mailmsg, subjects_are_utf8)
{
	char msg[1200] = "Subject: ";
	size_t n = strlen(msg);
	msg[n++] = 'x';
	while (n < 9 + 1 + 2 * 520) {
		msg[n++] = (char)0xc3;
		msg[n++] = (char)0xa9;
	}
	memcpy(msg + n, "\n\n", 3);
	struct mailmsg m = parsed(msg);
	size_t len = strlen(m.subject);
	cr_assert_lt(len, sizeof(m.subject));
	cr_assert_eq(len % 2, 1, "cut inside a character: %zu bytes", len);
	cr_assert_eq((unsigned char)m.subject[len - 1], 0xa9);
}

Test(mailmsg, message_id)
{
	cr_assert_str_eq(parsed("Message-ID: <a@b.example>\n\n").message_id,
			 "a@b.example");
	cr_assert_str_eq(parsed("Message-Id:   <a@b.example>  \n\n").message_id,
			 "a@b.example");
	cr_assert_str_eq(parsed("Message-ID: bare@b.example\n\n").message_id,
			 "bare@b.example");
	/* of two, the first */
	cr_assert_str_eq(parsed("Message-ID: <a@b> <c@d>\n\n").message_id,
			 "a@b");
}

Test(mailmsg, topic_trimmed_and_cut_whole)
{
	cr_assert_str_eq(parsed("CMR-Topic:   offers  \t\n\n").topic, "offers");
	cr_assert_str_eq(parsed("cmr-topic: news\n\n").topic, "news");
	/* "x" and 32 two-byte characters: 65 bytes for 64 places */
	char msg[200] = "CMR-Topic: x";
	for (int i = 0; i < 32; i++)
		strcat(msg, "\xc3\xa9");
	strcat(msg, "\n\n");
	struct mailmsg m = parsed(msg);
	cr_assert_eq(strlen(m.topic), 1 + 31 * 2, "%zu", strlen(m.topic));
	cr_assert_eq(m.topic[0], 'x');
}

static const char *unsubscribe(const char *lu, const char *post)
{
	static struct mailmsg m;
	char msg[3000];
	snprintf(msg, sizeof(msg), "From: news@brand.example\n%s%s%s%s\n",
		 lu ? "List-Unsubscribe: " : "", lu ? lu : "", lu ? "\n" : "",
		 post ? post : "");
	m = parsed(msg);
	return m.unsubscribe;
}

#define ONE_CLICK "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"

/* RFC 8058 §3.1: the one-click POST only with both headers and an https
 * URI. */
Test(mailmsg, one_click_unsubscribe)
{
	cr_assert_str_eq(
		unsubscribe("<https://brand.example/u?id=1>", ONE_CLICK),
		"https://brand.example/u?id=1");
	/* the mailto: first is passed over for the https URI */
	cr_assert_str_eq(unsubscribe("<mailto:u@brand.example>, "
				     "<https://brand.example/u>",
				     ONE_CLICK),
			 "https://brand.example/u");
	/* the first https URI wins */
	cr_assert_str_eq(
		unsubscribe("<https://a.example/>, <https://b.example/>",
			    ONE_CLICK),
		"https://a.example/");
	cr_assert_str_eq(unsubscribe("<HTTPS://brand.example/u>", ONE_CLICK),
			 "HTTPS://brand.example/u");
	/* folding whitespace inside the brackets is dropped */
	cr_assert_str_eq(
		unsubscribe("<https://brand.example/\n u?id=1>", ONE_CLICK),
		"https://brand.example/u?id=1");
	cr_assert_str_eq(unsubscribe("<https://brand.example/u>",
				     "List-Unsubscribe-Post:   "
				     "List-Unsubscribe=One-Click  \n"),
			 "https://brand.example/u");
}

Test(mailmsg, not_one_click)
{
	/* no List-Unsubscribe-Post, or another value */
	cr_assert_str_eq(unsubscribe("<https://brand.example/u>", NULL), "");
	cr_assert_str_eq(unsubscribe("<https://brand.example/u>",
				     "List-Unsubscribe-Post: "
				     "List-Unsubscribe=one-click\n"),
			 "");
	cr_assert_str_eq(unsubscribe("<https://brand.example/u>",
				     "List-Unsubscribe-Post: yes\n"),
			 "");
	/* no List-Unsubscribe */
	cr_assert_str_eq(unsubscribe(NULL, ONE_CLICK), "");
	/* not https */
	cr_assert_str_eq(unsubscribe("<http://brand.example/u>", ONE_CLICK),
			 "");
	cr_assert_str_eq(unsubscribe("<mailto:u@brand.example>", ONE_CLICK),
			 "");
	/* not in brackets, or never closed */
	cr_assert_str_eq(unsubscribe("https://brand.example/u", ONE_CLICK), "");
	cr_assert_str_eq(unsubscribe("<https://brand.example/u", ONE_CLICK),
			 "");
}

/* A URI longer than the field is not cut into another one; a fitting one
 * after it is taken. */
Test(mailmsg, unsubscribe_too_long)
{
	struct mailmsg m;
	size_t field = sizeof(m.unsubscribe);
	char lu[2600] = "<https://brand.example/";
	size_t n = strlen(lu);
	/* a URI of `field` bytes: one more than fits */
	memset(lu + n, 'a', field + 1 - n);
	strcpy(lu + field + 1, ">");
	cr_assert_str_eq(unsubscribe(lu, ONE_CLICK), "");
	strcat(lu, ", <https://short.example/u>");
	cr_assert_str_eq(unsubscribe(lu, ONE_CLICK), "https://short.example/u");
	/* one byte shorter fits */
	strcpy(lu + field, ">");
	cr_assert_eq(strlen(unsubscribe(lu, ONE_CLICK)), field - 1);
}

Test(mailmsg, header_len_lf)
{
	const char *head = "From: a@b.example\nSubject: s\n\n";
	char msg[100];
	snprintf(msg, sizeof(msg), "%sbody\n\nmore\n", head);
	cr_assert_eq(parsed(msg).header_len, strlen(head));
}

Test(mailmsg, header_len_crlf)
{
	const char *head = "From: a@b.example\r\nSubject: s\r\n\r\n";
	char msg[100];
	snprintf(msg, sizeof(msg), "%sbody\r\n\r\nmore\r\n", head);
	struct mailmsg m = parsed(msg);
	cr_assert_eq(m.header_len, strlen(head));
	cr_assert_str_eq(m.from, "a@b.example");
	cr_assert_str_eq(m.subject, "s");
}

/* A message without a body: the header block is all of it. */
Test(mailmsg, header_len_headers_only)
{
	const char *msg = "From: a@b.example\nSubject: s\n";
	struct mailmsg m = parsed(msg);
	cr_assert_eq(m.header_len, strlen(msg));
	cr_assert_str_eq(m.subject, "s");
}

/* A message that starts with an empty line has an empty header block:
 * what follows is body, for header_len as for GMime (which reads no
 * From from it). */
Test(mailmsg, header_len_empty_block)
{
	struct mailmsg m = parsed("\nFrom: a@b.example\n\nbody\n");
	cr_assert_str_eq(m.from, "");
	cr_assert_eq(m.header_len, 1);
	m = parsed("\r\nFrom: a@b.example\r\n\r\nbody\r\n");
	cr_assert_str_eq(m.from, "");
	cr_assert_eq(m.header_len, 2);
}

/* ---- mailmsg_domain ---- */

Test(mailmsg, domain)
{
	char d[254];
	cr_assert(mailmsg_domain("a@B.Example", d, sizeof(d)));
	cr_assert_str_eq(d, "b.example");
	cr_assert(mailmsg_domain("<a@b.example>", d, sizeof(d)));
	cr_assert_str_eq(d, "b.example");
	cr_assert(mailmsg_domain("\"a@x\"@b.example", d, sizeof(d)));
	cr_assert_str_eq(d, "b.example"); /* the last @ */
	cr_assert_not(mailmsg_domain("no-at.example", d, sizeof(d)));
	cr_assert_not(mailmsg_domain("a@", d, sizeof(d)));
	cr_assert_not(mailmsg_domain("a@>", d, sizeof(d)));
	cr_assert_not(mailmsg_domain("", d, sizeof(d)));
}

Test(mailmsg, domain_size)
{
	char d[10];
	cr_assert(mailmsg_domain("a@123456789", d, sizeof(d)));
	cr_assert_str_eq(d, "123456789");
	memset(d, 'z', sizeof(d));
	cr_assert_not(mailmsg_domain("a@1234567890", d, sizeof(d)));
	/* nothing written past the buffer when refused */
	cr_assert_eq(d[0], 'z');
}

/* ---- mailmsg_is_bounce ---- */

Test(mailmsg, is_bounce)
{
	const char *alias = "alias.example";
	cr_assert(mailmsg_is_bounce("cmr-bounces@alias.example", alias));
	cr_assert(mailmsg_is_bounce("CMR-Bounces@ALIAS.example", alias));
	cr_assert(mailmsg_is_bounce("cmr-bounces+42@alias.example", alias));
	cr_assert_not(mailmsg_is_bounce("cmr-bounces@other.example", alias));
	cr_assert_not(
		mailmsg_is_bounce("cmr-bounces@alias.example.evil", alias));
	cr_assert_not(mailmsg_is_bounce("cmr-bouncesx@alias.example", alias));
	cr_assert_not(mailmsg_is_bounce("x-cmr-bounces@alias.example", alias));
	cr_assert_not(mailmsg_is_bounce("cmr-bounce@alias.example", alias));
	cr_assert_not(mailmsg_is_bounce("cmr-bounces", alias));
	cr_assert_not(mailmsg_is_bounce("ana.x1@alias.example", alias));
}

/* ---- mailmsg_compose ---- */

static struct mailmsg_compose composed(void)
{
	return (struct mailmsg_compose){
		.from_name = "Acme",
		.from_addr = "news@acme.example",
		.to = "ana.k3x@alias.example",
		.subject = "Caf\xc3\xa9 news",
		.message_id = "m1.42@cmr.example",
		.topic = "offers",
		.body = "Hello, caf\xc3\xa9.\n",
		.body_len = strlen("Hello, caf\xc3\xa9.\n"),
		.date = 1764000000, /* 2025-11-24T16:00:00Z */
	};
}

/* compose, checked to be a string of *len bytes; the caller frees. */
static char *compose(const struct mailmsg_compose *c, size_t *len)
{
	char *s = mailmsg_compose(c, len);
	cr_assert_not_null(s);
	cr_assert_eq(strlen(s), *len);
	return s;
}

Test(mailmsg, compose_parses_back)
{
	struct mailmsg_compose c = composed();
	size_t len;
	char *s = compose(&c, &len);
	struct mailmsg m = parsed(s);
	cr_assert_str_eq(m.from, "news@acme.example");
	cr_assert_str_eq(m.from_domain, "acme.example");
	cr_assert_str_eq(m.subject, "Caf\xc3\xa9 news");
	cr_assert_str_eq(m.message_id, "m1.42@cmr.example");
	cr_assert_str_eq(m.topic, "offers");
	cr_assert_gt(m.header_len, 0);
	cr_assert_lt(m.header_len, len);
	cr_assert(strstr(s, "\nTo: ana.k3x@alias.example\n") != NULL, "%s", s);
	cr_assert(strstr(s, "Date: Mon, 24 Nov 2025 16:00:00 +0000\n") != NULL,
		  "%s", s);
	/* quoted-printable: the body's 8-bit bytes are encoded */
	cr_assert(strstr(s, "Content-Transfer-Encoding: quoted-printable\n") !=
			  NULL,
		  "%s", s);
	for (size_t i = 0; i < len; i++)
		cr_assert_lt((unsigned char)s[i], 0x80, "8-bit at %zu", i);
	free(s);
}

/* No subject and no topic: an empty Subject, no CMR-Topic. */
Test(mailmsg, compose_without_optional)
{
	struct mailmsg_compose c = composed();
	c.subject = NULL;
	c.topic = NULL;
	size_t len;
	char *s = compose(&c, &len);
	struct mailmsg m = parsed(s);
	cr_assert_str_eq(m.subject, "");
	cr_assert_str_eq(m.topic, "");
	cr_assert_null(strstr(s, "CMR-Topic"), "%s", s);
	free(s);
}

/* Whether a line of the header block of s starts with name. */
static bool has_header_line(const char *s, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = s; *line && *line != '\n';) {
		if (strncasecmp(line, name, n) == 0)
			return true;
		const char *nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return false;
}

/* CR and LF in what a brand sends never end a header line early: each
 * is encoded inside the value. */
Test(mailmsg, compose_no_header_injection)
{
	struct mailmsg_compose c = composed();
	c.subject = "Hi\r\nBcc: evil@x.example\r\n\r\nbody?";
	c.from_name = "Acme\nReply-To: evil@x.example";
	c.topic = "offers\rX-Evil: 1";
	size_t len;
	char *s = compose(&c, &len);
	cr_assert_not(has_header_line(s, "Bcc:"), "%s", s);
	cr_assert_not(has_header_line(s, "Reply-To:"), "%s", s);
	cr_assert_not(has_header_line(s, "X-Evil:"), "%s", s);
	/* no bare CR anywhere: the lines are LF-ended */
	cr_assert_null(strchr(s, '\r'), "%s", s);
	struct mailmsg m = parsed(s);
	cr_assert_str_eq(m.from, "news@acme.example");
	cr_assert_str_eq(m.message_id, "m1.42@cmr.example");
	/* the subject is all there, as a value */
	cr_assert(strstr(m.subject, "Bcc: evil@x.example") != NULL, "%s",
		  m.subject);
	free(s);
}

/* The body is text: a NUL ends it, and nothing of it reaches the header
 * block. */
Test(mailmsg, compose_body)
{
	struct mailmsg_compose c = composed();
	const char body[] = "line\n\nBcc: evil@x.example\nend\0hidden";
	c.body = body;
	c.body_len = sizeof(body) - 1;
	size_t len;
	char *s = compose(&c, &len);
	struct mailmsg m = parsed(s);
	cr_assert_not(has_header_line(s, "Bcc:"), "%s", s);
	cr_assert(strstr(s + m.header_len, "Bcc: evil@x.example") != NULL, "%s",
		  s);
	cr_assert_null(strstr(s, "hidden"), "%s", s);
	free(s);
}

/* ---- mailmsg_read: what a person reads ---- */

static const char mixed[] =
	"From: =?utf-8?q?Acme_Outd=C3=B6or?= <news@acme.example>\r\n"
	"To: ana.x@relay.localhost\r\n"
	"Cc: Bo <bo@example.org>\r\n"
	"Reply-To: help@acme.example\r\n"
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
	"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
	"Message-ID: <m1@acme.example>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
	"\r\n"
	"--alt\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Hello Ana, caf=E9 at 10.\r\n"
	"--alt\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>Hello <b>Ana</b></p>\r\n"
	"--alt--\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name=\"invoice.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQKJcfs\r\n"
	"--outer--\r\n";

Test(mailmsg, read_takes_the_plain_text_headers_and_attachments)
{
	struct mailmsg_view v;
	cr_assert(mailmsg_read(mixed, sizeof(mixed) - 1, &v));
	cr_assert_str_eq(v.text, "Hello Ana, caf\xc3\xa9 at 10.");
	cr_assert(v.html);
	cr_assert_str_eq(v.html_part, "<p>Hello <b>Ana</b></p>");
	cr_assert_eq(v.html_part_len, strlen(v.html_part));
	cr_assert(strstr(v.from, "news@acme.example") != NULL, "%s", v.from);
	cr_assert(strstr(v.from, "Acme Outd\xc3\xb6or") != NULL, "%s", v.from);
	cr_assert_str_eq(v.to, "ana.x@relay.localhost");
	cr_assert(strstr(v.cc, "bo@example.org") != NULL);
	cr_assert_str_eq(v.reply_to, "help@acme.example");
	cr_assert_str_eq(v.subject, "Gr\xc3\xbc\xc3\x9f"
				    "e");
	cr_assert_str_eq(v.message_id, "m1@acme.example");
	cr_assert_eq(v.date, 1796292000);
	cr_assert_eq(v.n_attachments, 1);
	cr_assert_str_eq(v.attachments[0].name, "invoice.pdf");
	cr_assert_str_eq(v.attachments[0].content_type, "application/pdf");
	cr_assert_eq(v.attachments[0].size, 12); /* "%PDF-1.4\n%\xc7\xec" */
	mailmsg_view_clear(&v);
}

Test(mailmsg, read_turns_html_only_mail_into_text)
{
	static const char m[] = "From: a@b.example\r\n"
				"Content-Type: text/html\r\n"
				"\r\n"
				"<html><style>x{}</style><p>One &amp; "
				"two</p><p>Three</p></html>\r\n";
	struct mailmsg_view v;
	cr_assert(mailmsg_read(m, sizeof(m) - 1, &v));
	cr_assert_str_eq(v.text, "One & two\n\nThree");
	cr_assert(v.html);
	cr_assert_eq(v.n_attachments, 0);
	cr_assert_eq(v.date, 0);
	mailmsg_view_clear(&v);
}

Test(mailmsg, read_keeps_the_html_part_in_utf8)
{
	static const char m[] =
		"From: a@b.example\r\n"
		"Content-Type: text/html; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"<p>caf=E9</p>\r\n";
	struct mailmsg_view v;
	cr_assert(mailmsg_read(m, sizeof(m) - 1, &v));
	cr_assert_str_eq(v.html_part, "<p>caf\xc3\xa9</p>\r\n");
	mailmsg_view_clear(&v);
	cr_assert_null(v.html_part);
}

Test(mailmsg, read_plain_mail_without_mime)
{
	static const char m[] = "From: a@b.example\nSubject: Hi\n\nJust text\n";
	struct mailmsg_view v;
	cr_assert(mailmsg_read(m, sizeof(m) - 1, &v));
	cr_assert_str_eq(v.text, "Just text\n");
	cr_assert_not(v.html);
	cr_assert_null(v.html_part);
	cr_assert_str_eq(v.subject, "Hi");
	mailmsg_view_clear(&v);
}

Test(mailmsg, bulk_is_lists_and_precedence)
{
	static const char *const bulk[] = {
		"List-Unsubscribe: <https://x.example/u>\r\n",
		"List-Id: <news.x.example>\r\n",
		"Precedence: bulk\r\n",
		"Precedence: LIST\r\n",
	};
	char m[256];
	struct mailmsg p;
	for (size_t i = 0; i < sizeof(bulk) / sizeof(*bulk); i++) {
		snprintf(m, sizeof(m), "From: a@x.example\r\n%s\r\nHi\r\n",
			 bulk[i]);
		cr_assert(mailmsg_parse(m, strlen(m), &p));
		cr_assert(p.bulk, "%s", bulk[i]);
	}
	snprintf(m, sizeof(m),
		 "From: a@x.example\r\nPrecedence: junk\r\n"
		 "\r\nHi\r\n");
	cr_assert(mailmsg_parse(m, strlen(m), &p));
	cr_assert_not(p.bulk);
}

Test(mailmsg, first_address_of_a_list)
{
	char out[321];
	cr_assert(mailmsg_first_address("Acme Care <Care@Acme.Example>, b@c.d",
					out, sizeof(out)));
	cr_assert_str_eq(out, "care@acme.example");
	cr_assert(mailmsg_first_address("undisclosed:; x@y.example", out,
					sizeof(out)));
	cr_assert_str_eq(out, "x@y.example");
	cr_assert_not(mailmsg_first_address("", out, sizeof(out)));
	cr_assert_not(
		mailmsg_first_address("no address here", out, sizeof(out)));
	cr_assert_not(mailmsg_first_address("a@b.example", out, 5));
}

Test(mailmsg, reply_to_is_replaced_and_the_rest_kept)
{
	static const char m[] = "From: Acme <a@acme.example>\r\n"
				"Reply-To: Care\r\n <care@acme.example>\r\n"
				"Subject: Hi\r\n"
				"reply-to : other@acme.example\r\n"
				"\r\n"
				"Reply-To: in the body stays\r\n";
	static const char want[] = "Reply-To: <r.x@relay.test>\r\n"
				   "From: Acme <a@acme.example>\r\n"
				   "Subject: Hi\r\n"
				   "\r\n"
				   "Reply-To: in the body stays\r\n";
	size_t n = 0;
	char *out =
		mailmsg_set_reply_to(m, sizeof(m) - 1, "r.x@relay.test", &n);
	cr_assert_not_null(out);
	cr_assert_eq(n, sizeof(want) - 1);
	cr_assert(memcmp(out, want, n) == 0, "%.*s", (int)n, out);
	free(out);
}
