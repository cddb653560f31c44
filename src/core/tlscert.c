/* Self-signed certificate generation with the OpenSSL 3 EVP and X509 APIs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/tlscert.h"

static int ssl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, detail);
	return EIO;
}

static bool host_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A random positive 127-bit serial, as RFC 5280 asks for unpredictability. */
static int set_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] &= 0x7f;
	raw[0] |= 0x01; /* never zero, never negative */
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (!bn)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int set_names(X509 *x, const char *host)
{
	X509_NAME *name = X509_get_subject_name(x);

	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"Ringfence", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)host, -1, -1, 0))
		return -1;
	return X509_set_issuer_name(x, name) ? 0 : -1;
}

static int build_cert(X509 *x, EVP_PKEY *key, const char *host, unsigned days)
{
	char san[300];

	snprintf(san, sizeof(san), "%s:%s", host_is_ip(host) ? "IP" : "DNS", host);
	if (!X509_set_version(x, 2) || set_serial(x) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) ||
	    !X509_set_pubkey(x, key) || set_names(x, host))
		return -1;
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    add_ext(x, NID_subject_key_identifier, "hash") ||
	    add_ext(x, NID_subject_alt_name, san))
		return -1;
	return X509_sign(x, key, EVP_sha256()) > 0 ? 0 : -1;
}

static FILE *create_file(const char *path, mode_t mode, int *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	FILE *f;

	if (fd < 0) {
		*e = errno;
		return NULL;
	}
	/* O_CREAT honours the umask; the mode is a promise, so set it. */
	if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
		*e = errno;
		close(fd);
		unlink(path);
		return NULL;
	}
	return f;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *x,
		     char *err, size_t errlen)
{
	int e = 0, ok;
	FILE *f = create_file(path, mode, &e);

	if (!f) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
		return e;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, x);
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		unlink(path);
		return ssl_fail(err, errlen, path);
	}
	return 0;
}

int tlscert_generate(const char *cert_path, const char *key_path,
		     const char *host, unsigned days, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key) {
		rc = ssl_fail(err, errlen, "cannot generate an ECDSA P-256 key");
		goto out;
	}
	x = X509_new();
	if (!x || build_cert(x, key, host, days)) {
		rc = ssl_fail(err, errlen, "cannot build the certificate");
		goto out;
	}
	rc = write_pem(key_path, 0600, key, NULL, err, errlen);
	if (rc)
		goto out;
	rc = write_pem(cert_path, 0644, NULL, x, err, errlen);
	if (rc)
		unlink(key_path);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
