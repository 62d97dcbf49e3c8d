/*
 * test_scrub.c — a person's reply made anonymous (scrub.h). The replies
 * are shaped like real clients' (fuzz/corpus/scrub/, which the fuzz driver
 * replays too): Thunderbird (multipart/alternative, format=flowed text,
 * quoted-printable HTML, Autocrypt, DKIM, Received), Gmail (base64 parts,
 * an attribution wrapped over two lines), a plain 7bit one with an RFC 2047
 * subject, one with an attachment and a vCard, one in iso-8859-1. Each
 * output is read back with GMime and checked decoded — every header of
 * every part, every text part — as well as raw: none of the person's
 * addresses, local parts as words, names, or domains in headers; the
 * alias, the reply and the brand's quoted text are there. Then the
 * matcher's cases one by one, the new headers, and refusals.
 */
#define _GNU_SOURCE /* strcasestr */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "base/mailmsg.h"
#include "base/scrub.h"

#define ALIAS	    "acme.k3x9q2r7m4vt8wzp@relay.example"
#define ALIAS_LOCAL "acme.k3x9q2r7m4vt8wzp"
#define ALIAS_NAME  "Acme customer"

static const char *const ana_addresses[] = { "ana@home.example",
					     "analima77@gmail.example" };
static const char *const ana_names[] = { "Ana Lima" };
static const struct scrub_person ana = { ana_addresses, 2,	   ana_names, 1,
					 ALIAS,		ALIAS_NAME };
static const struct scrub_out_hdr hdr = {
	"deals@acme.example", "r1.abc@relay.example", 1796205600
}; /* 2026-12-02 10:00 UTC */

static void init(void)
{
	mailmsg_init();
}

TestSuite(scrub, .init = init);

static char *slurp(const char *file, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), CMR_SOURCE_ROOT "/fuzz/corpus/scrub/%s",
		 file);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	char *s = malloc(1 << 20);
	cr_assert_not_null(s);
	*len = fread(s, 1, (1 << 20) - 1, f);
	fclose(f);
	/* exactly its length, so ASan sees a read past the end */
	char *exact = malloc(*len ? *len : 1);
	cr_assert_not_null(exact);
	memcpy(exact, s, *len);
	free(s);
	return exact;
}

/* What a reader finds in the output, decoded. */
struct seen {
	char *raw;
	size_t raw_len;
	GMimeMessage *msg;
	GString *headers; /* "Name: value\n" of every header of every part,
			     raw and decoded */
	GString *text;	  /* every text part that is not an attachment */
	GString *plain, *html;
	int n_parts;
	GByteArray *attachment; /* the first non-text leaf, decoded */
	char attachment_name[256];
};

static void seen_headers(struct seen *s, GMimeObject *o)
{
	GMimeHeaderList *l = g_mime_object_get_header_list(o);
	for (int i = 0; i < g_mime_header_list_get_count(l); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(l, i);
		g_string_append_printf(
			s->headers, "%s: %s\n%s:%s", g_mime_header_get_name(h),
			g_mime_header_get_value(h), g_mime_header_get_name(h),
			g_mime_header_get_raw_value(h));
	}
}

static void seen_part(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	(void)parent;
	struct seen *s = arg;
	s->n_parts++;
	seen_headers(s, part);
	if (!GMIME_IS_PART(part))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	bool plain = g_mime_content_type_is_type(ct, "text", "plain");
	bool html = g_mime_content_type_is_type(ct, "text", "html");
	bool text = g_mime_content_type_is_type(ct, "text", "*");
	if (text && !g_mime_part_is_attachment(GMIME_PART(part))) {
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		/* the wire's CRLF read back as LF */
		size_t w = 0;
		for (size_t i = 0; t[i]; i++)
			if (!(t[i] == '\r' && t[i + 1] == '\n'))
				t[w++] = t[i];
		t[w] = '\0';
		g_string_append(s->text, t);
		if (plain || html)
			g_string_append(plain ? s->plain : s->html, t);
		g_free(t);
		return;
	}
	if (s->attachment)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(
		g_mime_part_get_content(GMIME_PART(part)), mem);
	GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	s->attachment = g_byte_array_new();
	g_byte_array_append(s->attachment, b->data, b->len);
	g_object_unref(mem);
	const char *name = g_mime_part_get_filename(GMIME_PART(part));
	snprintf(s->attachment_name, sizeof(s->attachment_name), "%s",
		 name ? name : "");
}

/* Scrubs in[0..len) for p and reads the result back. */
static struct seen scrub_seen(const char *in, size_t len,
			      const struct scrub_person *p,
			      const struct scrub_out_hdr *h)
{
	struct seen s = { 0 };
	s.raw = scrub_reply(in, len, p, h, &s.raw_len);
	cr_assert_not_null(s.raw, "refused");
	cr_assert_eq(strlen(s.raw), s.raw_len);
	/* CRLF line ends, for outbound_smtp, and no bare CR */
	for (size_t i = 0; i < s.raw_len; i++) {
		if (s.raw[i] == '\n')
			cr_assert(i > 0 && s.raw[i - 1] == '\r',
				  "bare LF at %zu", i);
		if (s.raw[i] == '\r')
			cr_assert(i + 1 < s.raw_len && s.raw[i + 1] == '\n',
				  "bare CR at %zu", i);
	}
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(s.raw, s.raw_len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	g_object_unref(st);
	s.msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	cr_assert_not_null(s.msg, "the output does not parse");
	s.headers = g_string_new(NULL);
	s.text = g_string_new(NULL);
	s.plain = g_string_new(NULL);
	s.html = g_string_new(NULL);
	seen_headers(&s, GMIME_OBJECT(s.msg));
	g_mime_message_foreach(s.msg, seen_part, &s);
	return s;
}

static struct seen scrub_file(const char *file, const struct scrub_person *p,
			      const struct scrub_out_hdr *h)
{
	size_t len;
	char *in = slurp(file, &len);
	struct seen s = scrub_seen(in, len, p, h);
	free(in);
	return s;
}

static void seen_clear(struct seen *s)
{
	free(s->raw);
	g_object_unref(s->msg);
	g_string_free(s->headers, TRUE);
	g_string_free(s->text, TRUE);
	g_string_free(s->plain, TRUE);
	g_string_free(s->html, TRUE);
	if (s->attachment)
		g_byte_array_unref(s->attachment);
}

/* Whether word stands in s as a whole word (bounded by what is not a
 * letter or digit), without case. */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strcasestr(s, word); p;
	     p = strcasestr(p + 1, word)) {
		bool before = p == s || !isalnum((unsigned char)p[-1]);
		bool after = !isalnum((unsigned char)p[n]);
		if (before && after)
			return true;
	}
	return false;
}

/* s with every run of white space, quote marks after a line break and
 * &nbsp; made one space, so that "Ana\n> Lima" reads "Ana Lima". */
static char *squeeze(const char *s)
{
	GString *g = g_string_new(NULL);
	bool space = false;
	for (const char *p = s; *p;) {
		if (isspace((unsigned char)*p) || (space && *p == '>')) {
			space = true;
			p++;
			continue;
		}
		if (strncmp(p, "&nbsp;", 6) == 0) {
			space = true;
			p += 6;
			continue;
		}
		if (space)
			g_string_append_c(g, ' ');
		space = false;
		g_string_append_c(g, *p++);
	}
	return g_string_free(g, FALSE);
}

/* Nothing of Ana anywhere: not her addresses, local parts as words or
 * name; not her domains in any header. */
static void assert_no_ana(const struct seen *s)
{
	const char *where[] = { s->raw, s->headers->str, s->text->str };
	for (size_t i = 0; i < 3; i++) {
		const char *t = where[i];
		for (int a = 0; a < 2; a++)
			cr_assert_null(strcasestr(t, ana_addresses[a]),
				       "%s in\n%s", ana_addresses[a], t);
		cr_assert_not(has_word(t, "ana"), "ana in\n%s", t);
		cr_assert_not(has_word(t, "analima77"), "analima77 in\n%s", t);
		char *sq = squeeze(t);
		cr_assert_null(strcasestr(sq, "Ana Lima"), "name in\n%s", sq);
		g_free(sq);
	}
	cr_assert_null(strcasestr(s->headers->str, "home.example"), "%s",
		       s->headers->str);
	cr_assert_null(strcasestr(s->headers->str, "gmail.example"), "%s",
		       s->headers->str);
}

static const char *header(const struct seen *s, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(s->msg), name);
}

/* References unfolded, as one line. */
static void assert_references(const struct seen *s, const char *want)
{
	const char *v = header(s, "References");
	cr_assert_not_null(v);
	char *line = g_mime_utils_header_unfold(v);
	for (char *c = line; *c; c++)
		if (*c == '\t')
			*c = ' ';
	cr_assert_str_eq(line, want);
	g_free(line);
}

/* The headers a reply goes out with, and only those. */
static void assert_new_headers(const struct seen *s)
{
	static const char *const allowed[] = {
		"From",
		"To",
		"Subject",
		"Date",
		"Message-ID",
		"In-Reply-To",
		"References",
		"MIME-Version",
		"Content-Type",
		"Content-Transfer-Encoding",
		"Content-Language",
		"Content-Disposition",
		NULL,
	};
	GMimeHeaderList *l =
		g_mime_object_get_header_list(GMIME_OBJECT(s->msg));
	for (int i = 0; i < g_mime_header_list_get_count(l); i++) {
		const char *name = g_mime_header_get_name(
			g_mime_header_list_get_header_at(l, i));
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = g_ascii_strcasecmp(name, *a) == 0;
		cr_assert(ok, "header %s kept", name);
	}
	cr_assert_str_eq(header(s, "From"), ALIAS_NAME " <" ALIAS ">");
	cr_assert_str_eq(header(s, "To"), "deals@acme.example");
	cr_assert_str_eq(g_mime_message_get_message_id(s->msg),
			 "r1.abc@relay.example");
	cr_assert_not_null(
		strstr(header(s, "Date"), "2 Dec 2026 10:00:00 +0000"), "%s",
		header(s, "Date"));
}

/* ---- the realistic replies ---- */

Test(scrub, thunderbird)
{
	struct seen s = scrub_file("thunderbird.eml", &ana, &hdr);
	assert_no_ana(&s);
	assert_new_headers(&s);
	cr_assert_str_eq(header(&s, "Subject"), "Re: Winter sale");
	cr_assert_str_eq(header(&s, "In-Reply-To"),
			 "<20261202100000.abc@acme.example>");
	/* her own earlier message's id went; the brand's stay, in order */
	assert_references(&s, "<20261201090000.sale@acme.example> "
			      "<20261202100000.abc@acme.example>");
	cr_assert_null(header(&s, "Autocrypt"));
	cr_assert_null(header(&s, "User-Agent"));
	cr_assert_null(header(&s, "DKIM-Signature"));
	cr_assert_null(header(&s, "Received"));
	cr_assert_null(strcasestr(s.raw, "keydata"));
	cr_assert_null(strcasestr(s.raw, "Mozilla"));
	cr_assert_null(strstr(s.raw, "203.0.113.7"));
	cr_assert_null(strstr(s.raw, "198.51.100.9"));
	cr_assert_null(strstr(s.raw, "multi-part message")); /* preamble */
	cr_assert_null(
		strstr(s.raw, "Xx7bQ2Zt0Yq9Lw3Rv5Nm1Kp8")); /* boundary */
	GMimeObject *top = g_mime_message_get_mime_part(s.msg);
	cr_assert_str_eq(g_mime_object_get_header(top, "Content-Language"),
			 "en-GB");
	/* the reply and the brand's quoted text */
	cr_assert_not_null(strstr(s.plain->str, "I would like the blue one in "
						"size M, please."));
	cr_assert_not_null(strstr(s.plain->str,
				  ">> Our winter sale starts Monday. Reply "
				  "to this email with your size.\n"),
			   "%s", s.plain->str);
	cr_assert_not_null(strstr(s.html->str, "Our winter sale starts Monday. "
					       "Reply to this email with your "
					       "size."));
	/* the attribution, the flowed name, the signature, the HTML */
	cr_assert_not_null(strstr(s.plain->str,
				  "On 02/12/2026 10:00, " ALIAS_NAME " <" ALIAS
				  "> wrote:"),
			   "%s", s.plain->str);
	cr_assert_not_null(strstr(s.plain->str,
				  "my colleague " ALIAS_NAME " said the same."),
			   "%s", s.plain->str);
	cr_assert_not_null(
		strstr(s.plain->str, "-- \n" ALIAS_NAME "\n" ALIAS "\n"), "%s",
		s.plain->str);
	cr_assert_not_null(strstr(s.html->str, ALIAS_NAME " &lt;<a"));
	cr_assert_not_null(strstr(s.html->str, "href=\"mailto:" ALIAS
					       "\">" ALIAS "</a>&gt;"),
			   "%s", s.html->str);
	/* the text parts go out as UTF-8, quoted-printable, unflowed */
	/* her earlier message's mid: link moved to the alias domain */
	cr_assert_null(strcasestr(s.html->str, "home.example"), "%s",
		       s.html->str);
	cr_assert_not_null(strstr(s.html->str, "mid:older.1@relay.example"));
	cr_assert_null(strstr(s.raw, "format=flowed"));
	cr_assert_not_null(strstr(s.raw, "charset=utf-8"));
	cr_assert_not_null(strstr(s.raw, "Content-Transfer-Encoding: "
					 "quoted-printable"));
	seen_clear(&s);
}

Test(scrub, gmail)
{
	struct seen s = scrub_file("gmail.eml", &ana, &hdr);
	assert_no_ana(&s);
	assert_new_headers(&s);
	/* ids at a subdomain of her address's domain are hers too */
	assert_references(&s, "<20261201090000.sale@acme.example> "
			      "<20261202100000.abc@acme.example>");
	cr_assert_null(strcasestr(s.raw, "X-Gm"));
	cr_assert_null(strcasestr(s.raw, "ARC-"));
	cr_assert_null(strcasestr(s.raw, "google"));
	cr_assert_not_null(
		strstr(s.plain->str, "Yes please, send me the catalogue."));
	cr_assert_not_null(strstr(s.plain->str, ">> Our winter sale starts "
						"Monday. Reply to this email "
						"with your size."));
	/* wrapped over two lines, in the text and in the HTML */
	cr_assert_not_null(strstr(s.plain->str,
				  "10:00 AM " ALIAS_NAME " <" ALIAS "> wrote:"),
			   "%s", s.plain->str);
	cr_assert_not_null(strstr(s.html->str,
				  "10:00 AM " ALIAS_NAME
				  " &lt;<a href=\"mailto:" ALIAS "\">" ALIAS
				  "</a>&gt;<br>wrote:"),
			   "%s", s.html->str);
	/* the brand's own attribution, wrapped, is untouched */
	cr_assert_not_null(strstr(s.plain->str,
				  "> On Tue, Dec 1, 2026 at 9:00 AM "
				  "Acme Deals <deals@acme.example>\n"
				  "> wrote:"),
			   "%s", s.plain->str);
	cr_assert_not_null(strstr(s.html->str, "mailto:deals@acme.example"));
	seen_clear(&s);
}

Test(scrub, plain_7bit)
{
	struct seen s = scrub_file("plain.eml", &ana, &hdr);
	assert_no_ana(&s);
	assert_new_headers(&s);
	/* RFC 2047 decoded, replaced */
	cr_assert_str_eq(g_mime_message_get_subject(s.msg),
			 "Re: Order for " ALIAS_NAME " (" ALIAS ")");
	const char *gone[] = {
		"Sender",	 "Reply-To",	     "Cc",	 "Bcc",
		"X-Original-To", "X-Originating-IP", "X-Mailer", NULL
	};
	for (const char *const *g = gone; *g; g++)
		cr_assert_null(header(&s, *g), "%s", *g);
	cr_assert_not_null(strstr(s.plain->str,
				  "Please cancel the order. "
				  "Write to " ALIAS " or mailto:" ALIAS));
	cr_assert_not_null(strstr(s.plain->str,
				  "> Thank you for your order 4471. It ships "
				  "tomorrow."));
	cr_assert_not_null(strstr(s.plain->str, "* Acme Deals "
						"<deals@acme.example>"));
	/* her local part standing alone, in the signature */
	cr_assert_not_null(strstr(s.plain->str, "-- \n" ALIAS_LOCAL "\n"), "%s",
			   s.plain->str);
	seen_clear(&s);
}

Test(scrub, attachment_kept_byte_for_byte)
{
	struct seen s = scrub_file("attachment.eml", &ana, &hdr);
	assert_no_ana(&s);
	assert_new_headers(&s);
	cr_assert_not_null(s.attachment);
	cr_assert_eq(s.attachment->len, 3000);
	for (unsigned i = 0; i < 3000; i++)
		cr_assert_eq(s.attachment->data[i],
			     (uint8_t)((i * 37 + 11) % 256), "byte %u", i);
	cr_assert_str_eq(s.attachment_name, "form-" ALIAS_NAME ".pdf");
	/* the vCard, the preamble, the epilogue, the part's X- header and
	 * description are gone */
	cr_assert_null(strcasestr(s.raw, "vcard"));
	cr_assert_null(strstr(s.raw, "912 345"));
	cr_assert_null(strstr(s.raw, "preamble"));
	cr_assert_null(strstr(s.raw, "epilogue"));
	cr_assert_null(strstr(s.raw, "X-Attachment-Id"));
	cr_assert_null(strstr(s.raw, "Content-Description"));
	cr_assert_null(strstr(s.raw, "X-Priority"));
	cr_assert_eq(s.n_parts, 3); /* mixed, text, pdf */
	cr_assert_not_null(
		strstr(s.plain->str, "Here is the signed form you asked for."));
	cr_assert_not_null(strstr(s.plain->str, "> Please send the signed "
						"form back to us."));
	cr_assert_not_null(strstr(s.plain->str, "\n" ALIAS_NAME "\n"));
	seen_clear(&s);
}

Test(scrub, latin1_to_utf8)
{
	struct seen s = scrub_file("latin1.eml", &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_str_eq(g_mime_message_get_subject(s.msg),
			 "Re: Encomenda confirmada \xc3\xa0 " ALIAS_NAME);
	cr_assert_not_null(strstr(s.plain->str,
				  "Ol\xc3\xa1! At\xc3\xa9 "
				  "amanh\xc3\xa3, obrigada.\n" ALIAS_NAME
				  " <" ALIAS ">"),
			   "%s", s.plain->str);
	cr_assert_not_null(strstr(s.plain->str,
				  "> Sua encomenda chega "
				  "amanh\xc3\xa3 \xc3\xa0s 10h."));
	cr_assert_not_null(strstr(s.raw, "charset=utf-8"));
	cr_assert_null(strcasestr(s.raw, "iso-8859-1"));
	seen_clear(&s);
}

/* ---- the matcher, case by case ---- */

/* The text/plain body of a one-part message after scrubbing, for p. */
static char *scrub_body_for(const struct scrub_person *p, const char *type,
			    const char *body)
{
	char *in = g_strdup_printf("From: x@home.example\nSubject: t\n"
				   "Content-Type: %s; charset=utf-8\n\n%s",
				   type, body);
	struct seen s = scrub_seen(in, strlen(in), p, &hdr);
	g_free(in);
	char *t = g_strdup(s.text->str);
	seen_clear(&s);
	return t;
}

static char *scrub_body(const char *type, const char *body)
{
	return scrub_body_for(&ana, type, body);
}

Test(scrub, addresses_any_case_and_at_forms)
{
	char *t = scrub_body("text/html",
			     "<a href=\"mailto:Ana@Home.Example\">x</a> "
			     "ana&#64;home.example ana&#x40;HOME.example "
			     "mailto:ana%40home.example\n");
	cr_assert_str_eq(t, "<a href=\"mailto:" ALIAS "\">x</a> " ALIAS
			    " " ALIAS " mailto:" ALIAS "\n");
	g_free(t);
}

Test(scrub, names_across_space_breaks_quotes_and_tags)
{
	char *t = scrub_body("text/plain",
			     "ana  lima|ANA\n> >  Lima|Ana\tLima|Ana\r\nLima|"
			     "Ana\xc2\xa0Lima|AnaLima|Ana Limas\n");
	cr_assert_str_eq(t, ALIAS_NAME "|" ALIAS_NAME "|" ALIAS_NAME
				       "|" ALIAS_NAME "|" ALIAS_NAME
				       "|AnaLima|" ALIAS_LOCAL " Limas\n");
	g_free(t);
	t = scrub_body("text/html", "<b>Ana</b> Lima, Ana&nbsp;Lima, "
				    "Ana<br>\nLima, Ana%20Lima\n");
	cr_assert_str_eq(t, "<b>" ALIAS_NAME ", " ALIAS_NAME ", " ALIAS_NAME
			    ", " ALIAS_NAME "\n");
	g_free(t);
}

Test(scrub, local_part_as_a_word_only)
{
	char *t = scrub_body("text/plain", "ana, banana anatomy Ana. ana2 "
					   "(ANA) x-ana-y analima77!\n");
	cr_assert_str_eq(t, ALIAS_LOCAL
			 ", banana anatomy " ALIAS_LOCAL ". ana2 (" ALIAS_LOCAL
			 ") x-" ALIAS_LOCAL "-y " ALIAS_LOCAL "!\n");
	g_free(t);
	/* a local part shorter than 3 characters stands as itself */
	static const char *const al[] = { "al@home.example" };
	struct scrub_person p = { al, 1, NULL, 0, ALIAS, NULL };
	t = scrub_body_for(&p, "text/plain", "al al@home.example\n");
	cr_assert_str_eq(t, "al " ALIAS "\n");
	g_free(t);
}

Test(scrub, non_ascii_names_any_case_and_form)
{
	static const char *const names[] = { "Jos\xc3\xa9 \xc3\x81vila" };
	struct scrub_person p = { NULL, 0, names, 1, ALIAS, "Zed" };
	/* upper case; and decomposed (NFD: e + U+0301, A + U+0301) */
	char *t = scrub_body_for(&p, "text/plain",
				 "JOS\xc3\x89 \xc3\x81VILA / Jose\xcc\x81 "
				 "A\xcc\x81vila\n");
	cr_assert_str_eq(t, "Zed / Zed\n");
	g_free(t);
}

Test(scrub, no_alias_name_means_the_alias)
{
	struct scrub_person p = ana;
	p.alias_name = NULL;
	size_t len;
	char *in = slurp("plain.eml", &len);
	struct seen s = scrub_seen(in, len, &p, &hdr);
	free(in);
	cr_assert_str_eq(header(&s, "From"), ALIAS);
	cr_assert_str_eq(g_mime_message_get_subject(s.msg),
			 "Re: Order for " ALIAS " (" ALIAS ")");
	seen_clear(&s);
}

Test(scrub, html_replacement_is_escaped)
{
	struct scrub_person p = ana;
	p.alias_name = "A <b>&</b>";
	char *t = scrub_body_for(&p, "text/html", "<p>Ana Lima</p>\n");
	cr_assert_str_eq(t, "<p>A &lt;b&gt;&amp;&lt;/b&gt;</p>\n");
	g_free(t);
}

Test(scrub, flowed_soft_breaks_and_delsp)
{
	char *t = scrub_body("text/plain; format=flowed; delsp=yes",
			     "write to an \r\na@home.example today, An \r\na "
			     "Lima\r\n>> quoted  \r\n>> more\r\n> other\r\n");
	cr_assert_str_eq(t, "write to " ALIAS " today, " ALIAS_NAME "\n"
			    ">> quoted more\n> other\n");
	g_free(t);
	/* a flowed line before another quote depth ends there; stuffing
	 * goes; the signature separator keeps its space */
	t = scrub_body("text/plain; format=flowed",
		       "> one \r\ntwo\r\n From here\r\n-- \r\nsig\r\n");
	cr_assert_str_eq(t, "> one \ntwo\nFrom here\n-- \nsig\n");
	g_free(t);
}

Test(scrub, a_replacement_is_not_read_again)
{
	/* the alias contains her name and local part: one pass, no loop */
	static const char *const a[] = { "acme@home.example" };
	static const char *const n[] = { "acme" };
	struct scrub_person p = { a, 1, n, 1, ALIAS, "acme acme" };
	char *t = scrub_body_for(&p, "text/plain", "acme acme@home.example\n");
	cr_assert_str_eq(t, "acme acme " ALIAS "\n");
	g_free(t);
}

/* ---- headers ---- */

Test(scrub, date_from_the_reply_in_utc_when_none_given)
{
	struct scrub_out_hdr h = hdr;
	h.date = 0;
	struct seen s = scrub_file("plain.eml", &ana, &h);
	/* 10:59 -0300 */
	cr_assert_not_null(
		strstr(header(&s, "Date"), "2 Dec 2026 13:59:00 +0000"), "%s",
		header(&s, "Date"));
	seen_clear(&s);
}

Test(scrub, alias_name_cannot_add_a_header)
{
	struct scrub_person p = ana;
	p.alias_name = "x\r\nBcc: evil@example.com";
	size_t len, out_len;
	char *in = slurp("plain.eml", &len);
	cr_assert_null(scrub_reply(in, len, &p, &hdr, &out_len));
	struct scrub_out_hdr h = hdr;
	h.to = "deals@acme.example\nBcc: evil@example.com";
	cr_assert_null(scrub_reply(in, len, &ana, &h, &out_len));
	h = hdr;
	h.message_id = "<x@relay.example>";
	cr_assert_null(scrub_reply(in, len, &ana, &h, &out_len));
	free(in);
}

/* ---- refusals ---- */

Test(scrub, unusable_person_or_headers)
{
	size_t len, out_len;
	char *in = slurp("plain.eml", &len);
	struct scrub_person p = ana;
	p.alias = NULL;
	cr_assert_null(scrub_reply(in, len, &p, &hdr, &out_len));
	p.alias = "";
	cr_assert_null(scrub_reply(in, len, &p, &hdr, &out_len));
	p.alias = "no-at-sign";
	cr_assert_null(scrub_reply(in, len, &p, &hdr, &out_len));
	static const char *const bad[] = { "ana.home.example" };
	p = ana;
	p.addresses = bad;
	p.n_addresses = 1;
	cr_assert_null(scrub_reply(in, len, &p, &hdr, &out_len));
	const char *many[SCRUB_PEOPLE_MAX + 1];
	for (int i = 0; i <= SCRUB_PEOPLE_MAX; i++)
		many[i] = "ana@home.example";
	p.addresses = many;
	p.n_addresses = SCRUB_PEOPLE_MAX + 1;
	cr_assert_null(scrub_reply(in, len, &p, &hdr, &out_len));
	p.n_addresses = SCRUB_PEOPLE_MAX;
	char *ok = scrub_reply(in, len, &p, &hdr, &out_len);
	cr_assert_not_null(ok);
	free(ok);
	cr_assert_null(scrub_reply(in, len, NULL, &hdr, &out_len));
	cr_assert_null(scrub_reply(in, len, &ana, NULL, &out_len));
	struct scrub_out_hdr h = hdr;
	h.to = "";
	cr_assert_null(scrub_reply(in, len, &ana, &h, &out_len));
	h.to = "Acme <deals@acme.example>";
	cr_assert_null(scrub_reply(in, len, &ana, &h, &out_len));
	h.to = "deals@acme.example, x@y.example";
	cr_assert_null(scrub_reply(in, len, &ana, &h, &out_len));
	h.to = "deals.acme.example";
	cr_assert_null(scrub_reply(in, len, &ana, &h, &out_len));
	free(in);
}

Test(scrub, not_a_message)
{
	size_t out_len;
	cr_assert_null(scrub_reply("", 0, &ana, &hdr, &out_len));
}

Test(scrub, encrypted_is_refused)
{
	const char *in =
		"From: Ana Lima <ana@home.example>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/encrypted; "
		"protocol=\"application/pgp-encrypted\"; boundary=b\n\n"
		"--b\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
		"--b\nContent-Type: application/octet-stream\n\n"
		"-----BEGIN PGP MESSAGE-----\nxyz\n-----END PGP MESSAGE-----\n"
		"--b--\n";
	size_t out_len;
	cr_assert_null(scrub_reply(in, strlen(in), &ana, &hdr, &out_len));
	const char *smime = "From: ana@home.example\n"
			    "Content-Type: application/pkcs7-mime; "
			    "smime-type=enveloped-data\n"
			    "Content-Transfer-Encoding: base64\n\nAAAA\n";
	cr_assert_null(scrub_reply(smime, strlen(smime), &ana, &hdr, &out_len));
}

Test(scrub, signed_becomes_its_signed_part)
{
	const char *in =
		"From: Ana Lima <ana@home.example>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/signed; micalg=pgp-sha256; "
		"protocol=\"application/pgp-signature\"; boundary=s\n\n"
		"--s\nContent-Type: text/plain; charset=utf-8\n\n"
		"Signed hello from Ana Lima\n"
		"--s\nContent-Type: application/pgp-signature; "
		"name=\"signature.asc\"\n\n"
		"-----BEGIN PGP SIGNATURE-----\nabc\n"
		"-----END PGP SIGNATURE-----\n--s--\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_str_eq(s.text->str, "Signed hello from " ALIAS_NAME "\n");
	cr_assert_null(strstr(s.raw, "PGP"));
	cr_assert_null(strstr(s.raw, "signed"));
	cr_assert_eq(s.n_parts, 1);
	seen_clear(&s);
}

Test(scrub, too_deep_is_refused)
{
	GString *g = g_string_new("From: ana@home.example\n");
	for (int i = 0; i <= SCRUB_DEPTH_MAX + 1; i++)
		g_string_append_printf(g,
				       "Content-Type: multipart/mixed; "
				       "boundary=b%d\n\n--b%d\n",
				       i, i);
	g_string_append(g, "Content-Type: text/plain\n\nAna Lima\n");
	size_t out_len;
	cr_assert_null(scrub_reply(g->str, g->len, &ana, &hdr, &out_len));
	g_string_free(g, TRUE);
}

Test(scrub, large_input_done_in_one_pass)
{
	/* 2 MiB of near misses and hits */
	GString *g = g_string_new("From: ana@home.example\n"
				  "Content-Type: text/plain\n\n");
	while (g->len < (2u << 20))
		g_string_append(g, "Ana Lim ana@home.exampl Ana Lima\n");
	struct seen s = scrub_seen(g->str, g->len, &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_not_null(strstr(s.text->str,
				  ALIAS_LOCAL " Lim " ALIAS_LOCAL
					      "@home.exampl " ALIAS_NAME "\n"));
	seen_clear(&s);
	g_string_free(g, TRUE);
}

Test(scrub, related_image_ids_move_to_the_alias_domain)
{
	const char *in =
		"From: Ana Lima <ana@home.example>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/related; boundary=r\n\n"
		"--r\nContent-Type: text/html; charset=utf-8\n\n"
		"<p>See <img src=\"cid:part1.AbC.dEf@Home.Example\"> "
		"and <img src=\"CID:logo@acme.example\"></p>\n"
		"--r\nContent-Type: image/png; name=x.png\n"
		"Content-ID: <part1.AbC.dEf@Home.Example>\n"
		"Content-Disposition: inline; filename=x.png\n"
		"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_null(strcasestr(s.raw, "home.example"), "%s", s.raw);
	cr_assert_not_null(
		strstr(s.html->str, "src=\"cid:part1.AbC.dEf@relay.example\""),
		"%s", s.html->str);
	cr_assert_not_null(strstr(s.html->str, "CID:logo@acme.example"));
	cr_assert_not_null(strstr(s.headers->str,
				  "Content-ID: <part1.AbC.dEf@relay.example>"),
			   "%s", s.headers->str);
	seen_clear(&s);
}

Test(scrub, other_inline_text_such_as_a_calendar_reply)
{
	const char *in = "From: Ana Lima <ana@home.example>\n"
			 "MIME-Version: 1.0\n"
			 "Content-Type: multipart/alternative; boundary=c\n\n"
			 "--c\nContent-Type: text/plain; charset=utf-8\n\n"
			 "Accepted: Fitting\n"
			 "--c\nContent-Type: text/calendar; charset=utf-8; "
			 "method=REPLY\n\n"
			 "BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\n"
			 "ORGANIZER;CN=Acme Deals:mailto:deals@acme.example\n"
			 "ATTENDEE;CN=Ana "
			 "Lima;PARTSTAT=ACCEPTED:mailto:ana@home.example\n"
			 "END:VEVENT\nEND:VCALENDAR\n--c--\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_null(strcasestr(s.raw, "ana@home.example"));
	cr_assert_not_null(strstr(s.raw, "method=REPLY"));
	cr_assert_not_null(strstr(s.text->str,
				  "ATTENDEE;CN=" ALIAS_NAME
				  ";PARTSTAT=ACCEPTED:mailto:" ALIAS),
			   "%s", s.text->str);
	cr_assert_not_null(strstr(s.text->str, "mailto:deals@acme.example"));
	seen_clear(&s);
}

Test(scrub, kept_content_headers_are_scrubbed_too)
{
	const char *in =
		"From: Ana Lima <ana@home.example>\n"
		"MIME-Version: 1.0\n"
		"Content-Language: en; x=ana@home.example\n"
		"Content-Disposition: inline; x-by=\"Ana Lima\"\n"
		"Content-Type: multipart/mixed; boundary=m; x-ana=ana\n\n"
		"--m\nContent-Type: text/plain\n\nhi\n"
		"--m\nContent-Type: application/octet-stream; "
		"x-owner=\"ana@home.example\"\n"
		"Content-Transfer-Encoding: base64\n\nAAAA\n--m--\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_null(strcasestr(s.raw, "home.example"), "%s", s.raw);
	cr_assert_not_null(strstr(s.text->str, "hi"));
	cr_assert_not_null(s.attachment);
	cr_assert_eq(s.attachment->len, 3);
	seen_clear(&s);
}

Test(scrub, a_nul_in_a_kept_header_cannot_join_the_body_to_the_headers)
{
	/* found by fuzz_scrub: a Content-Type of "te", then NULs; GMime wrote
	 * the raw value up to its NUL and lost its line end, so the blank
	 * line ended that header, and body lines read as headers */
	size_t len, out_len;
	char *in = slurp("fuzz-nul-in-header.eml", &len);
	char *out = scrub_reply(in, len, &ana, &hdr, &out_len);
	free(in);
	cr_assert_not_null(out);
	char *end = strstr(out, "\r\n\r\n");
	cr_assert_not_null(end, "%s", out);
	for (char *line = out; line < end;) {
		char *eol = strstr(line, "\r\n");
		cr_assert(*line == ' ' || *line == '\t' ||
				  memchr(line, ':', (size_t)(eol - line)),
			  "not a header line: %.*s", (int)(eol - line), line);
		line = eol + 2;
	}
	free(out);
}

Test(scrub, unencoded_attachments_go_in_base64_without_a_bare_cr)
{
	/* found by fuzz_scrub: a 7bit part kept as it came carried a bare
	 * CR to SMTP (scrub_seen checks every line end) */
	static const char in[] = "From: Ana Lima <ana@home.example>\n"
				 "MIME-Version: 1.0\n"
				 "Content-Type: multipart/mixed; boundary=m\n\n"
				 "--m\nContent-Type: text/plain\n\nhi\n"
				 "--m\nContent-Type: application/x-thing\n"
				 "Content-Transfer-Encoding: 7bit\n\n"
				 "a\rb\0c\n--m--\n";
	struct seen s = scrub_seen(in, sizeof(in) - 1, &ana, &hdr);
	cr_assert_not_null(s.attachment);
	cr_assert_eq(s.attachment->len, 5);
	cr_assert(memcmp(s.attachment->data, "a\rb\0c", 5) == 0);
	seen_clear(&s);
	size_t len, out_len;
	char *fuzzed = slurp("fuzz-bare-cr.eml", &len);
	char *out = scrub_reply(fuzzed, len, &ana, &hdr, &out_len);
	free(fuzzed);
	for (size_t i = 0; out && i < out_len; i++)
		cr_assert(out[i] != '\r' || out[i + 1] == '\n');
	free(out);
}

Test(scrub, an_attached_message_that_smtp_cannot_carry_is_refused)
{
	static const char in[] = "From: Ana Lima <ana@home.example>\n"
				 "MIME-Version: 1.0\n"
				 "Content-Type: multipart/mixed; boundary=m\n\n"
				 "--m\nContent-Type: text/plain\n\nhi\n"
				 "--m\nContent-Type: message/rfc822\n\n"
				 "Subject: x\n\na\rb\n--m--\n";
	size_t out_len;
	cr_assert_null(scrub_reply(in, sizeof(in) - 1, &ana, &hdr, &out_len));
}

Test(scrub, ids_that_name_the_person_are_dropped)
{
	/* found by fuzz_scrub: an id at another domain that holds her
	 * address went out in References */
	const char *in = "From: Ana Lima <ana@home.example>\n"
			 "In-Reply-To: <20261202100000.abc@acme.example>\n"
			 "References: <20.analima77@gmail.example.org>"
			 " <20261202100000.abc@acme.example>\n"
			 " <z.ana.1@acme.example> <w.banana@acme.example>\n"
			 "Content-Type: text/plain\n\nhi\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	assert_references(&s, "<20261202100000.abc@acme.example> "
			      "<w.banana@acme.example>");
	seen_clear(&s);
}

Test(scrub, a_header_name_written_otherwise_goes_out_plain)
{
	/* found by fuzz_scrub: "Content-Transfer-Encoding :" was written
	 * again with its space */
	const char *in = "From: Ana Lima <ana@home.example>\n"
			 "Content-Type : multipart/mixed; boundary=m\n"
			 "Content-Language : en\n\n"
			 "--m\nContent-Type: text/plain\n"
			 "Content-Transfer-Encoding :quoted-printable\n\n"
			 "hi Ana Lima=\n!\n--m--\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	cr_assert_null(strstr(s.raw, " :"), "%s", s.raw);
	cr_assert_not_null(strstr(s.raw, "\r\nContent-Language: en\r\n"), "%s",
			   s.raw);
	cr_assert_str_eq(s.text->str, "hi " ALIAS_NAME "!");
	seen_clear(&s);
}

Test(scrub, a_header_given_twice_keeps_the_one_gmime_read)
{
	/* found by fuzz_scrub: another Content-Type, written anew, made a
	 * multipart read as text/vcard; GMime goes by the last */
	const char *in = "From: Ana Lima <ana@home.example>\n"
			 "Content-Type: text/vcard; name=ana@home.example\n"
			 "Content-Type: multipart/mixed; boundary=m\n\n"
			 "--m\nContent-Type: text/html\n"
			 "Content-Type: text/plain\n\nhi Ana Lima\n--m--\n";
	struct seen s = scrub_seen(in, strlen(in), &ana, &hdr);
	assert_no_ana(&s);
	cr_assert(GMIME_IS_MULTIPART(g_mime_message_get_mime_part(s.msg)));
	cr_assert_null(strcasestr(s.raw, "vcard"));
	cr_assert_str_eq(s.plain->str, "hi " ALIAS_NAME);
	seen_clear(&s);
}
