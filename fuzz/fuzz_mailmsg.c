/*
 * fuzz_mailmsg.c — mail headers as cmr reads them (GMime, RFC 2047
 * subjects, From, Message-ID, CMR-Topic) from arbitrary bytes: nothing may
 * crash, and what comes out fits its buffers, is NUL-terminated and is
 * valid UTF-8. And the Reply-To rewrite of forwarded mail: the copy is
 * the new field and the input less its own Reply-To fields, never longer
 * than both, and holds no Reply-To but the new one in its header block.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "base/mailmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailmsg m;
	if (mailmsg_parse((const char *)data, size, &m)) {
		if (strlen(m.from) >= sizeof(m.from) ||
		    strlen(m.subject) >= sizeof(m.subject) ||
		    strlen(m.topic) >= sizeof(m.topic) || m.header_len > size)
			abort();
		/* What goes into JSON is valid UTF-8, whatever came in. */
		if (!utf8_valid(m.from, strlen(m.from)) ||
		    !utf8_valid(m.subject, strlen(m.subject)) ||
		    !utf8_valid(m.message_id, strlen(m.message_id)) ||
		    !utf8_valid(m.topic, strlen(m.topic)))
			abort();
	}
	char domain[254];
	char addr[512];
	size_t n = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
	memcpy(addr, data, n);
	addr[n] = '\0';
	if (mailmsg_domain(addr, domain, sizeof(domain)) &&
	    strlen(domain) >= sizeof(domain))
		abort();
	char first[321];
	if (mailmsg_first_address(addr, first, sizeof(first)) &&
	    (strlen(first) >= sizeof(first) || strchr(first, '@') == NULL))
		abort();
	static const char to[] = "r.0123456789abcdefghjkmnpqrs@relay.test";
	size_t out_len = 0;
	char *out =
		mailmsg_set_reply_to((const char *)data, size, to, &out_len);
	if (out == NULL)
		abort();
	size_t head = sizeof("Reply-To: <>\r\n") - 1 + sizeof(to) - 1;
	if (out_len < head || out_len > head + size ||
	    memcmp(out, "Reply-To: <", 11) != 0)
		abort();
	free(out);
	return 0;
}
