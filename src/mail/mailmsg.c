/*
 * mailmsg.c — reading headers with GMime (see mailmsg.h).
 */
#include "mail/mailmsg.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

static pthread_once_t mailmsg_once = PTHREAD_ONCE_INIT;

static void mailmsg_init_once(void)
{
	g_mime_init();
}

void mailmsg_init(void)
{
	pthread_once(&mailmsg_once, mailmsg_init_once);
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
	/* Trim the spaces a header value may carry. */
	size_t n = strlen(dst);
	while (n && isspace((unsigned char)dst[n - 1]))
		dst[--n] = '\0';
	size_t lead = strspn(dst, " \t");
	if (lead)
		memmove(dst, dst + lead, strlen(dst + lead) + 1);
}

bool mailmsg_parse(const char *data, size_t len, struct mailmsg *out)
{
	memset(out, 0, sizeof(*out));
	/* The header block ends at the first empty line. */
	for (size_t i = 0; i + 1 < len; i++) {
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
	mailmsg_init();
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (msg == NULL)
		return false;
	mailmsg_copy(out->subject, sizeof(out->subject),
		     g_mime_message_get_subject(msg));
	mailmsg_copy(out->message_id, sizeof(out->message_id),
		     g_mime_message_get_message_id(msg));
	mailmsg_copy(out->topic, sizeof(out->topic),
		     g_mime_object_get_header(GMIME_OBJECT(msg), "CMR-Topic"));
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
