/* The client side of SIP digest (RFC 3261 22.2, RFC 7616, RFC 8760) for
 * trunk registration: choose the challenge to answer from a 401/407 and
 * write the Authorization or Proxy-Authorization header. Challenges are
 * untrusted: the values we echo back are checked for length and for bytes
 * that could break out of a quoted string (fuzz_trunk_auth.c). */
#ifndef RF_PBX_TRUNK_AUTH_H
#define RF_PBX_TRUNK_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"
#include "sip/digest.h"
#include "sip/msg.h"

struct trunk_challenge {
	enum digest_alg alg;
	bool qop_auth;  /* qop=auth offered: answer with cnonce and nc */
	bool proxy;     /* from Proxy-Authenticate (407) */
	char realm[TRUNK_MAX_REALM_LEN + 1];
	char nonce[TRUNK_MAX_NONCE_LEN + 1];
	char opaque[TRUNK_MAX_OPAQUE_LEN + 1]; /* "" when none */
};

/* The best Digest challenge of a 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate): SHA-256 before MD5, among at most
 * TRUNK_MAX_CHALLENGES. 0, ENOENT when none is usable (another scheme,
 * an algorithm we do not do, qop without auth, a value too long or with a
 * quote, backslash or control byte), EBADMSG for a malformed header. */
int trunk_challenge_pick(const struct sip_msg *resp, struct trunk_challenge *ch);

/* The header line (with its name and CRLF) answering ch for this request.
 * cnonce is ours (hex), nc the count of requests under this nonce. The
 * result carries the response hash, never the password or HA1. 0 or
 * EMSGSIZE. */
int trunk_auth_header(const struct trunk_challenge *ch, const char *user,
		      const char *password, const char *method, const char *uri,
		      unsigned nc, const char *cnonce, char *out, size_t outlen);

#endif
