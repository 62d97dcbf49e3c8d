/*
 * tls.c — reading and checking --tls-cert and --tls-key (see tls.h). The
 * checks are GnuTLS's own, the library libmicrohttpd serves TLS with
 * (Debian builds it so), so that what passes here is what the daemon
 * takes.
 */
#include "http/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>

#define HTTP_TLS_FILE_MAX (1024 * 1024) /* a PEM chain is a few KiB */

/* Reads a whole file of at most HTTP_TLS_FILE_MAX bytes into *out. */
static int http_tls_read(const char *option, const char *path, char **out,
			 char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "--%s %s: cannot read it: %s", option,
			 path, strerror(errno));
		return -1;
	}
	char *buf = malloc(HTTP_TLS_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, HTTP_TLS_FILE_MAX + 1, f) : 0;
	bool failed = buf == NULL || ferror(f);
	fclose(f);
	if (failed || n > HTTP_TLS_FILE_MAX || n == 0) {
		snprintf(err, errlen, "--%s %s: %s", option, path,
			 failed ? "cannot read it"
			 : n == 0
				 ? "the file is empty"
				 : "the file is larger than a PEM file can be");
		if (buf)
			sodium_memzero(buf, n);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* Whether pem holds at least one certificate GnuTLS can parse. */
static bool http_tls_cert_ok(const char *pem, char *why, size_t whylen)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem,
			     (unsigned)strlen(pem) };
	gnutls_x509_crt_t *certs = NULL;
	unsigned n = 0;
	int rc = gnutls_x509_crt_list_import2(&certs, &n, &d,
					      GNUTLS_X509_FMT_PEM, 0);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	if (rc < 0 || n == 0) {
		snprintf(why, whylen, "%s",
			 rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
		return false;
	}
	return true;
}

/* Whether pem holds a private key GnuTLS can parse. */
static bool http_tls_key_ok(const char *pem, char *why, size_t whylen)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem,
			     (unsigned)strlen(pem) };
	gnutls_x509_privkey_t key;
	int rc = gnutls_x509_privkey_init(&key);
	if (rc >= 0) {
		rc = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM,
						 NULL, 0);
		gnutls_x509_privkey_deinit(key);
	}
	if (rc < 0)
		snprintf(why, whylen, "not a private key in PEM (%s)",
			 gnutls_strerror(rc));
	return rc >= 0;
}

/* Whether the key is the certificate's (GnuTLS checks when both are set
 * as one credential, as libmicrohttpd sets them). */
static bool http_tls_pair_ok(const struct http_tls *tls, char *why,
			     size_t whylen)
{
	gnutls_certificate_credentials_t cred;
	int rc = gnutls_certificate_allocate_credentials(&cred);
	if (rc >= 0) {
		gnutls_datum_t c = { (unsigned char *)tls->cert,
				     (unsigned)strlen(tls->cert) };
		gnutls_datum_t k = { (unsigned char *)tls->key,
				     (unsigned)strlen(tls->key) };
		rc = gnutls_certificate_set_x509_key_mem(cred, &c, &k,
							 GNUTLS_X509_FMT_PEM);
		gnutls_certificate_free_credentials(cred);
	}
	if (rc < 0)
		snprintf(why, whylen, "%s", gnutls_strerror(rc));
	return rc >= 0;
}

int http_tls_load(const struct config *cfg, struct http_tls *tls, char *err,
		  size_t errlen)
{
	char why[256];
	memset(tls, 0, sizeof(*tls));
	if (!cfg->tls_cert[0] && !cfg->tls_key[0])
		return 0;
	if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
		snprintf(err, errlen,
			 "--%s is given without --%s: give both "
			 "(or neither, for plain HTTP)",
			 cfg->tls_cert[0] ? "tls-cert" : "tls-key",
			 cfg->tls_cert[0] ? "tls-key" : "tls-cert");
		return -1;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen,
			 "--tls-cert: this libmicrohttpd is built without "
			 "TLS");
		return -1;
	}
	if (http_tls_read("tls-cert", cfg->tls_cert, &tls->cert, err, errlen) !=
		    0 ||
	    http_tls_read("tls-key", cfg->tls_key, &tls->key, err, errlen) !=
		    0) {
		http_tls_clear(tls);
		return -1;
	}
	if (!http_tls_cert_ok(tls->cert, why, sizeof(why))) {
		snprintf(err, errlen,
			 "--tls-cert %s: not a PEM certificate (%s)",
			 cfg->tls_cert, why);
	} else if (!http_tls_key_ok(tls->key, why, sizeof(why))) {
		snprintf(err, errlen, "--tls-key %s: %s", cfg->tls_key, why);
	} else if (!http_tls_pair_ok(tls, why, sizeof(why))) {
		snprintf(err, errlen,
			 "--tls-key %s is not the key of --tls-cert %s (%s)",
			 cfg->tls_key, cfg->tls_cert, why);
	} else {
		return 0;
	}
	http_tls_clear(tls);
	return -1;
}

void http_tls_clear(struct http_tls *tls)
{
	if (tls->key)
		sodium_memzero(tls->key, strlen(tls->key));
	free(tls->key);
	free(tls->cert);
	tls->key = tls->cert = NULL;
}
