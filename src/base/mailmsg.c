/*
 * mailmsg.c — reading headers with GMime (see mailmsg.h).
 */
#include "base/mailmsg.h"

#include <ctype.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "core/html_text.h"
#include "core/utf8.h"

static pthread_once_t mailmsg_once = PTHREAD_ONCE_INIT;

static void mailmsg_init_once(void)
{
	g_mime_init();
	/* INTERNET_ADDRESS_IS_MAILBOX reads this class inline, in our code,
	 * so it is made here, under the once, and not by whichever thread
	 * first meets a From: GLib's lock-free check that a class is ready
	 * is correct but invisible to ThreadSanitizer, which reported that
	 * read as racing with the class's initialisation. GLib never frees a
	 * static type's class, so the reference is simply kept. */
	g_type_class_ref(INTERNET_ADDRESS_TYPE_MAILBOX);
}

void mailmsg_init(void)
{
	pthread_once(&mailmsg_once, mailmsg_init_once);
}

bool mailmsg_is_bounce(const char *rcpt, const char *alias_domain)
{
	size_t n = strlen(MAILMSG_BOUNCES);
	char domain[254];
	return strncasecmp(rcpt, MAILMSG_BOUNCES, n) == 0 &&
	       (rcpt[n] == '@' || rcpt[n] == '+') &&
	       mailmsg_domain(rcpt, domain, sizeof(domain)) &&
	       strcasecmp(domain, alias_domain) == 0;
}

bool mailmsg_domain(const char *address, char *out, size_t size)
{
	const char *at = strrchr(address, '@');
	if (at == NULL || at[1] == '\0' || strlen(at + 1) >= size)
		return false;
	size_t i = 0;
	for (const char *p = at + 1; *p && *p != '>'; p++)
		out[i++] = (char)tolower((unsigned char)*p);
	out[i] = '\0';
	return i > 0;
}

static void mailmsg_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
	/* A header may carry raw 8-bit text, and a value cut to its field's
	 * size may end inside a character; JSON wants neither. */
	dst[utf8_clean(dst, strlen(dst))] = '\0';
	/* Trim the spaces a header value may carry. */
	size_t n = strlen(dst);
	while (n && isspace((unsigned char)dst[n - 1]))
		dst[--n] = '\0';
	size_t lead = strspn(dst, " \t");
	if (lead)
		memmove(dst, dst + lead, strlen(dst + lead) + 1);
}

/* The first <https://…> of a List-Unsubscribe value into out; folding
 * whitespace inside the brackets is dropped. */
static void mailmsg_unsubscribe(const char *value, char *out, size_t size)
{
	out[0] = '\0';
	for (const char *p = value ? strchr(value, '<') : NULL; p;
	     p = strchr(p + 1, '<')) {
		const char *end = strchr(p, '>');
		if (end == NULL)
			return;
		size_t n = 0;
		bool fits = true;
		for (const char *c = p + 1; c < end; c++) {
			if (isspace((unsigned char)*c))
				continue;
			if (n + 1 >= size) {
				fits = false;
				break;
			}
			out[n++] = *c;
		}
		out[n] = '\0';
		if (fits && strncasecmp(out, "https://", 8) == 0)
			return;
		out[0] = '\0';
	}
}

GMimeMessage *mailmsg_message(const char *data, size_t len)
{
	mailmsg_init();
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	return msg;
}

bool mailmsg_parse(const char *data, size_t len, struct mailmsg *out)
{
	memset(out, 0, sizeof(*out));
	/* The header block ends at the first empty line, which may be the
	 * first line: then the block is empty, as GMime reads it too. */
	if (len > 0 && data[0] == '\n')
		out->header_len = 1;
	else if (len > 1 && data[0] == '\r' && data[1] == '\n')
		out->header_len = 2;
	for (size_t i = 0; out->header_len == 0 && i + 1 < len; i++) {
		if (data[i] == '\n' && data[i + 1] == '\n') {
			out->header_len = i + 2;
			break;
		}
		if (data[i] == '\n' && i + 2 < len && data[i + 1] == '\r' &&
		    data[i + 2] == '\n') {
			out->header_len = i + 3;
			break;
		}
	}
	if (out->header_len == 0)
		out->header_len = len; /* headers only */
	GMimeMessage *msg = mailmsg_message(data, len);
	if (msg == NULL)
		return false;
	mailmsg_copy(out->subject, sizeof(out->subject),
		     g_mime_message_get_subject(msg));
	mailmsg_copy(out->message_id, sizeof(out->message_id),
		     g_mime_message_get_message_id(msg));
	mailmsg_copy(out->topic, sizeof(out->topic),
		     g_mime_object_get_header(GMIME_OBJECT(msg), "CMR-Topic"));
	char post[64];
	mailmsg_copy(post, sizeof(post),
		     g_mime_object_get_header(GMIME_OBJECT(msg),
					      "List-Unsubscribe-Post"));
	if (strcmp(post, "List-Unsubscribe=One-Click") == 0)
		mailmsg_unsubscribe(
			g_mime_object_get_header(GMIME_OBJECT(msg),
						 "List-Unsubscribe"),
			out->unsubscribe, sizeof(out->unsubscribe));
	/* Mail sent to many: a list (RFC 2369 List-*, RFC 2919 List-Id) or
	 * marked bulk by its sender (Precedence, a de facto header). */
	char prec[16];
	mailmsg_copy(prec, sizeof(prec),
		     g_mime_object_get_header(GMIME_OBJECT(msg), "Precedence"));
	out->bulk = g_mime_object_get_header(GMIME_OBJECT(msg),
					     "List-Unsubscribe") != NULL ||
		    g_mime_object_get_header(GMIME_OBJECT(msg), "List-Id") !=
			    NULL ||
		    strcasecmp(prec, "bulk") == 0 ||
		    strcasecmp(prec, "list") == 0;
	InternetAddressList *from = g_mime_message_get_from(msg);
	if (from && internet_address_list_length(from) > 0) {
		InternetAddress *ia =
			internet_address_list_get_address(from, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia));
			mailmsg_copy(out->from, sizeof(out->from), addr);
			for (char *p = out->from; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			mailmsg_domain(out->from, out->from_domain,
				       sizeof(out->from_domain));
		}
	}
	g_object_unref(msg);
	return true;
}

char *mailmsg_compose(const struct mailmsg_compose *c, size_t *len)
{
	mailmsg_init();
	GMimeMessage *msg = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, c->from_name,
				   c->from_addr);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, c->to);
	g_mime_message_set_subject(msg, c->subject ? c->subject : "", "utf-8");
	GDateTime *date = g_date_time_new_from_unix_utc(c->date);
	g_mime_message_set_date(msg, date);
	g_date_time_unref(date);
	g_mime_message_set_message_id(msg, c->message_id);
	if (c->in_reply_to && *c->in_reply_to) {
		char ref[300];
		snprintf(ref, sizeof(ref), "<%s>", c->in_reply_to);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", ref,
					 NULL);
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", ref,
					 NULL);
	}
	if (c->topic && *c->topic)
		g_mime_object_set_header(GMIME_OBJECT(msg), "CMR-Topic",
					 c->topic, "utf-8");
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_charset(part, "utf-8");
	/* g_mime_text_part_set_text wants a string; a body may hold NULs
	 * only if a brand sent them, and then they end the text. */
	char *text = g_strndup(c->body ? c->body : "", c->body_len);
	g_mime_text_part_set_text(part, text);
	g_free(text);
	g_mime_part_set_content_encoding(
		GMIME_PART(part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
	g_object_unref(part);
	char *s = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
	g_object_unref(msg);
	char *out = s ? strdup(s) : NULL;
	g_free(s);
	if (out)
		*len = strlen(out);
	return out;
}

bool mailmsg_first_address(const char *list, char *out, size_t size)
{
	out[0] = '\0';
	if (list == NULL || *list == '\0')
		return false;
	mailmsg_init();
	InternetAddressList *l = internet_address_list_parse(NULL, list);
	bool found = false;
	for (int i = 0; l && !found && i < internet_address_list_length(l);
	     i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		const char *addr = internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
		if (addr && strchr(addr, '@') && strlen(addr) < size) {
			for (size_t k = 0; addr[k]; k++)
				out[k] = (char)tolower((unsigned char)addr[k]);
			out[strlen(addr)] = '\0';
			found = true;
		}
	}
	if (l)
		g_object_unref(l);
	return found;
}

/* Whether the header line at p (len bytes left) is the field `name`
 * (case-insensitively, followed by optional WSP and ':'). */
static bool mailmsg_field_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(p, name, n) != 0)
		return false;
	size_t i = n;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < len && p[i] == ':';
}

char *mailmsg_set_reply_to(const char *data, size_t len, const char *address,
			   size_t *out_len)
{
	size_t alen = strlen(address);
	/* "Reply-To: <" address ">\r\n", then the message less its own
	 * Reply-To fields. */
	char *out = malloc(len + alen + 16);
	if (out == NULL)
		return NULL;
	size_t n =
		(size_t)snprintf(out, alen + 16, "Reply-To: <%s>\r\n", address);
	size_t i = 0;
	bool in_headers = true, dropping = false;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		const char *line = data + i;
		size_t line_len = end - i;
		if (in_headers) {
			bool blank = line_len == 1 ||
				     (line_len == 2 && line[0] == '\r');
			bool folded = line_len > 0 &&
				      (line[0] == ' ' || line[0] == '\t');
			if (blank) {
				in_headers = false;
				dropping = false;
			} else if (!folded) {
				dropping = mailmsg_field_is(line, line_len,
							    "Reply-To");
			}
			if (dropping) {
				i = end;
				continue;
			}
		}
		memcpy(out + n, line, line_len);
		n += line_len;
		i = end;
	}
	*out_len = n;
	return out;
}

/* ---- what a person reads of a stored message ---- */

struct mailmsg_walk {
	struct mailmsg_view *v;
	char *plain, *html; /* g_malloc'd: the first of each */
};

/* The decoded size of a leaf part's content. */
static size_t mailmsg_part_size(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	if (w == NULL)
		return 0;
	GMimeStream *null = g_mime_stream_null_new();
	ssize_t n = g_mime_data_wrapper_write_to_stream(w, null);
	g_object_unref(null);
	return n > 0 ? (size_t)n : 0;
}

static void mailmsg_attachment(struct mailmsg_view *v, GMimeObject *part,
			       const char *name, size_t size)
{
	if (v->n_attachments == MAILMSG_ATTACHMENTS_MAX) {
		v->more_attachments++;
		return;
	}
	struct mailmsg_attachment *a = &v->attachments[v->n_attachments++];
	mailmsg_copy(a->name, sizeof(a->name), name);
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	mailmsg_copy(a->content_type, sizeof(a->content_type),
		     type ? type : "application/octet-stream");
	for (char *p = a->content_type; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	g_free(type);
	a->size = size;
}

static void mailmsg_walk_part(GMimeObject *parent, GMimeObject *part,
			      gpointer arg)
{
	(void)parent;
	struct mailmsg_walk *w = arg;
	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(part));
		GMimeStream *null = g_mime_stream_null_new();
		ssize_t n = inner ? g_mime_object_write_to_stream(
					    GMIME_OBJECT(inner), NULL, null)
				  : 0;
		g_object_unref(null);
		mailmsg_attachment(w->v, part, "", n > 0 ? (size_t)n : 0);
		return;
	}
	if (!GMIME_IS_PART(part))
		return; /* a multipart: its parts come one by one */
	GMimePart *p = GMIME_PART(part);
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	bool plain = ct && g_mime_content_type_is_type(ct, "text", "plain");
	bool html = ct && g_mime_content_type_is_type(ct, "text", "html");
	if ((plain || html) && !g_mime_part_is_attachment(p) &&
	    GMIME_IS_TEXT_PART(part)) {
		char **slot = plain ? &w->plain : &w->html;
		if (*slot == NULL)
			*slot = g_mime_text_part_get_text(
				GMIME_TEXT_PART(part));
		if (html)
			w->v->html = true;
		return;
	}
	mailmsg_attachment(w->v, part, g_mime_part_get_filename(p),
			   mailmsg_part_size(p));
}

static void mailmsg_addresses(char *out, size_t size, InternetAddressList *list)
{
	char *s = list && internet_address_list_length(list) > 0
			  ? internet_address_list_to_string(list, NULL, FALSE)
			  : NULL;
	mailmsg_copy(out, size, s);
	g_free(s);
}

bool mailmsg_read(const char *data, size_t len, struct mailmsg_view *out)
{
	memset(out, 0, sizeof(*out));
	GMimeMessage *msg = mailmsg_message(data, len);
	if (msg == NULL)
		return false;
	mailmsg_addresses(out->from, sizeof(out->from),
			  g_mime_message_get_from(msg));
	mailmsg_addresses(out->to, sizeof(out->to), g_mime_message_get_to(msg));
	mailmsg_addresses(out->cc, sizeof(out->cc), g_mime_message_get_cc(msg));
	mailmsg_addresses(out->reply_to, sizeof(out->reply_to),
			  g_mime_message_get_reply_to(msg));
	mailmsg_copy(out->subject, sizeof(out->subject),
		     g_mime_message_get_subject(msg));
	mailmsg_copy(out->message_id, sizeof(out->message_id),
		     g_mime_message_get_message_id(msg));
	GDateTime *date = g_mime_message_get_date(msg);
	out->date = date ? g_date_time_to_unix(date) : 0;

	struct mailmsg_walk w = { out, NULL, NULL };
	g_mime_message_foreach(msg, mailmsg_walk_part, &w);
	g_object_unref(msg);
	const char *src = w.plain ? w.plain : w.html ? w.html : "";
	size_t n = strlen(src);
	out->text = malloc(n + 1);
	if (out->text != NULL) {
		if (w.plain || !w.html) {
			memcpy(out->text, src, n + 1);
			out->text_len = n;
		} else {
			out->text_len = html_text(src, n, out->text);
		}
		out->text_len = utf8_clean(out->text, out->text_len);
		out->text[out->text_len] = '\0';
	}
	bool ok = out->text != NULL;
	if (ok && w.html) {
		out->html_part_len = strlen(w.html);
		out->html_part = malloc(out->html_part_len + 1);
		ok = out->html_part != NULL;
		if (ok)
			memcpy(out->html_part, w.html, out->html_part_len + 1);
	}
	g_free(w.plain);
	g_free(w.html);
	if (!ok)
		mailmsg_view_clear(out);
	return ok;
}

void mailmsg_view_clear(struct mailmsg_view *v)
{
	free(v->text);
	free(v->html_part);
	memset(v, 0, sizeof(*v));
}
