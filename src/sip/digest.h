/* HTTP digest authentication for SIP (RFC 3261 22, RFC 7616, RFC 8760) and
 * stateless nonces.
 *
 * A nonce is  <8 hex: issue time, seconds> <8 hex: sequence number> <24 hex:
 * truncated HMAC-SHA256(secret, time and sequence || source address)>, always
 * 40 characters, so every challenge has the same length whoever asks. The
 * registrar keeps no state per challenge: it re-computes the MAC when the
 * answer arrives. The sequence number makes each challenge's nonce unique
 * and ordered, so that sip/nonce_use.h can refuse a nonce and nc seen
 * before (replay). */
#ifndef RF_SIP_DIGEST_H
#define RF_SIP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip/msg.h"

#define DIGEST_NONCE_LEN 40
#define DIGEST_SECRET_LEN 32
#define DIGEST_MD5_HEX 32
#define DIGEST_SHA256_HEX 64

enum digest_alg {
	DIGEST_ALG_MD5 = 0,
	DIGEST_ALG_SHA256,
	DIGEST_ALG__COUNT
};

/* Stored per extension: only these, never the password. Lower-case hex,
 * NUL-terminated. */
struct digest_ha1 {
	char md5[DIGEST_MD5_HEX + 1];
	char sha256[DIGEST_SHA256_HEX + 1];
};

/* HA1 = H(user ":" realm ":" password) for both algorithms. */
void digest_ha1_compute(const char *user, const char *realm,
			const char *password, struct digest_ha1 *out);

/* A deterministic fake HA1 for a user that does not exist, derived from
 * the install secret, so an unknown user costs the same work as a real one
 * and fails the same way. */
void digest_ha1_fake(const uint8_t secret[DIGEST_SECRET_LEN],
		     struct sip_str user, struct digest_ha1 *out);

/* HMAC-SHA256 under secret of the concatenated parts, into out. False only
 * when OpenSSL fails (out is then undefined). */
bool digest_hmac(const uint8_t secret[DIGEST_SECRET_LEN],
		 const struct sip_str *parts, size_t nparts, uint8_t out[32]);

/* Write a nonce for `now` and the source address into out (not
 * NUL-terminated, exactly DIGEST_NONCE_LEN bytes). */
void digest_nonce_make(const uint8_t secret[DIGEST_SECRET_LEN], uint32_t now,
		       const struct sockaddr *src, char out[DIGEST_NONCE_LEN]);

enum digest_nonce_state {
	DIGEST_NONCE_OK = 0,
	DIGEST_NONCE_STALE, /* genuine but older than the lifetime */
	DIGEST_NONCE_BAD,   /* not ours, or issued to another address */
};

enum digest_nonce_state digest_nonce_check(const uint8_t secret[DIGEST_SECRET_LEN],
					   struct sip_str nonce, uint32_t now,
					   uint32_t lifetime,
					   const struct sockaddr *src);

/* Parse the algorithm parameter: empty or "MD5" -> MD5, "SHA-256" ->
 * SHA256. Returns false for anything else (including the -sess forms). */
bool digest_alg_parse(struct sip_str s, enum digest_alg *alg);
const char *digest_alg_name(enum digest_alg alg);

/* Verify a response. `method` is the request method string. With qop=auth
 * the response covers nonce:nc:cnonce:qop; without qop the RFC 2069 form.
 * qop values other than "auth" fail. The comparison is constant-time. */
bool digest_verify(const struct digest_ha1 *ha1, enum digest_alg alg,
		   struct sip_str method, const struct sip_digest_cred *c);

/* Compute the expected response (lower-case hex, NUL-terminated) into out,
 * which must hold DIGEST_SHA256_HEX + 1 bytes. Exposed for the client side
 * (trunk registration) and tests. */
void digest_response(const char *ha1_hex, enum digest_alg alg,
		     struct sip_str method, struct sip_str uri,
		     struct sip_str nonce, struct sip_str nc,
		     struct sip_str cnonce, struct sip_str qop, char *out);

#endif
