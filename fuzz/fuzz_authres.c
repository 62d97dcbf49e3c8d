/*
 * fuzz_authres.c — Authentication-Results as row 2 reads them: one field
 * value, and a whole header block searched for the topmost field of a
 * trusted authserv-id. Nothing may crash or read past the input, and
 * what comes out is NUL-terminated inside its buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct authres *ar)
{
	if (memchr(ar->authserv_id, '\0', sizeof(ar->authserv_id)) == NULL ||
	    memchr(ar->dmarc_from, '\0', sizeof(ar->dmarc_from)) == NULL ||
	    ar->n_dkim < 0 || ar->n_dkim > AUTHRES_DKIM_MAX)
		abort();
	for (int i = 0; i < ar->n_dkim; i++)
		if (memchr(ar->dkim_d[i], '\0', sizeof(ar->dkim_d[i])) == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly the input's length: a read past it is caught
	 * under ASan. */
	char *copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	struct authres ar;
	if (authres_parse(copy, size, &ar)) {
		check(&ar);
		(void)authres_vouches(&ar, "brand.example");
	}
	if (authres_find(copy, size, "mx.relay.test", &ar))
		check(&ar);
	free(copy);
	return 0;
}
