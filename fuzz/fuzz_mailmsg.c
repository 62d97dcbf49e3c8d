/*
 * fuzz_mailmsg.c — mail headers as cmr reads them (GMime, RFC 2047
 * subjects, From, Message-ID, CMR-Topic) from arbitrary bytes: nothing may
 * crash, and what comes out fits its buffers, is NUL-terminated and is
 * valid UTF-8.
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
	return 0;
}
