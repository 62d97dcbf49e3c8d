/*
 * domain.c — domain names and organizational domains (see domain.h).
 */
#include "base/domain.h"

#include <libpsl.h>
#include <pthread.h>
#include <string.h>

static bool domain_alnum(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

bool domain_valid(const char *s)
{
	size_t label = 0, total = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (++total > DOMAIN_MAX - 1)
			return false;
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!domain_alnum(ch) && ch != '-' && ch != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* The public suffix list, loaded once; NULL when none is usable. */
static pthread_once_t domain_psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *domain_psl;

/* Whether psl knows the list at all: a context without data (libpsl built
 * without a built-in list and no file found) takes only the "*" rule and
 * would make "co.uk" an organizational domain. */
static bool domain_psl_sane(const psl_ctx_t *psl)
{
	const char *rd;

	if (psl == NULL || !psl_is_public_suffix(psl, "co.uk"))
		return false;
	rd = psl_registrable_domain(psl, "www.brand.co.uk");
	return rd != NULL && strcmp(rd, "brand.co.uk") == 0;
}

static void domain_psl_load(void)
{
	/* The newest of the system's list (package publicsuffix) and the
	 * one built into libpsl. */
	psl_ctx_t *latest = psl_latest(NULL);

	if (domain_psl_sane(latest)) {
		domain_psl = latest;
		return;
	}
	psl_free(latest); /* leaves the built-in one alone */
	if (domain_psl_sane(psl_builtin()))
		domain_psl = psl_builtin();
}

bool domain_psl_ready(void)
{
	pthread_once(&domain_psl_once, domain_psl_load);
	return domain_psl != NULL;
}

bool domain_org(const char *domain, char *out, size_t size)
{
	char name[DOMAIN_MAX];
	const char *rd;
	size_t n;

	if (out == NULL || size == 0)
		return false;
	out[0] = '\0';
	if (domain == NULL)
		return false;
	n = strnlen(domain, sizeof(name));
	if (n >= sizeof(name))
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = domain[i];
		name[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	if (!domain_valid(name) || !domain_psl_ready())
		return false;
	rd = psl_registrable_domain(domain_psl, name);
	if (rd == NULL)
		return false;
	n = strlen(rd);
	if (n >= size)
		return false;
	memcpy(out, rd, n + 1);
	return true;
}

bool domain_same_org(const char *a, const char *b)
{
	char org_a[DOMAIN_MAX], org_b[DOMAIN_MAX];

	return domain_org(a, org_a, sizeof(org_a)) &&
	       domain_org(b, org_b, sizeof(org_b)) && strcmp(org_a, org_b) == 0;
}
