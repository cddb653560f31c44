/* The self-signed certificate `ringfence init` creates so TLS works from the
 * first start (S16). An administrator replaces it with a real one by
 * pointing [sip] tls_cert and tls_key elsewhere. */
#ifndef RF_CORE_TLSCERT_H
#define RF_CORE_TLSCERT_H

#include <stddef.h>

#define TLSCERT_DAYS 3650

/* Generate an ECDSA P-256 key and a self-signed X.509 v3 certificate for
 * `host` (CN and subjectAltName: an IP entry when host is an address, a DNS
 * entry otherwise), valid for `days`. The key is written with mode 0600,
 * the certificate 0644; neither file may exist already. Returns 0 or an
 * errno value with a message in err. */
int tlscert_generate(const char *cert_path, const char *key_path,
		     const char *host, unsigned days, char *err, size_t errlen);

#endif
