/*
 * fuzz_mailmsg.c — mail headers as cmr reads them (GMime, RFC 2047
 * subjects, From, Message-ID, CMR-Topic) from arbitrary bytes: nothing may
 * crash, and what comes out fits its buffers and is NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mailmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailmsg m;
	if (mailmsg_parse((const char *)data, size, &m)) {
		if (strlen(m.from) >= sizeof(m.from) ||
		    strlen(m.subject) >= sizeof(m.subject) ||
		    strlen(m.topic) >= sizeof(m.topic) || m.header_len > size)
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
