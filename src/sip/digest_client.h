/* The client side of digest authentication (RFC 3261 22.2, RFC 7616,
 * RFC 8760): answering a provider's 401 or 407 with our credentials.
 *
 * Only MD5 and SHA-256 are answered, with qop=auth when the challenge
 * offers it and the RFC 2069 form when it offers no qop at all; a
 * challenge that offers only qops we do not do (auth-int) is refused. */
#ifndef RF_SIP_DIGEST_CLIENT_H
#define RF_SIP_DIGEST_CLIENT_H

#include <stddef.h>

#include "sip/msg.h"

/* The longest challenge values we answer: a provider's nonce or opaque
 * longer than this is refused rather than truncated. */
#define DIGEST_CHALLENGE_VALUE_MAX 256
#define DIGEST_REALM_MAX 128

/* Write the value of an Authorization or Proxy-Authorization header into
 * out: the answer to challenge `ch` (a parsed WWW-Authenticate or
 * Proxy-Authenticate value) for `method` on `uri` with user and password.
 * Returns 0, EINVAL (not a digest challenge, an algorithm or qop we do
 * not do, a value too long or holding a quote) or ENOSPC. The password
 * and HA1 are wiped from the stack before returning. */
int digest_answer(const struct sip_digest_cred *ch, const char *user, const char *password,
		  const char *method, const char *uri, char *out, size_t outlen);

#endif
