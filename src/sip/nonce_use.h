/* Replay protection for digest credentials (RFC 7616 3.4.5). Nonces are
 * stateless (digest.h), so by themselves they would let whoever captured
 * one request's Authorization send it again, with another Contact, for as
 * long as the nonce lives: qop=auth signs the method and URI, not the rest
 * of the message. This table remembers, per extension, the nonces it used
 * lately and the highest nc of each: a repeated or lower nc is a replay,
 * and a nonce older than the ones it had to forget is refused too.
 * The very same request again (same nc, same Via branch) is a
 * retransmission and passes, since the transaction layer or the registrar's
 * record answers it without acting on it twice. Bounded: a few nonces per
 * extension, and only extensions that authenticated (the directory bounds
 * them). */
#ifndef RF_SIP_NONCE_USE_H
#define RF_SIP_NONCE_USE_H

#include <stdbool.h>
#include <stddef.h>

#include "sip/msg.h"

struct nonce_uses;

int nonce_uses_alloc(struct nonce_uses **np);
void nonce_uses_free(struct nonce_uses *u);

enum nonce_use_verdict {
	NONCE_USE_FRESH,          /* first use of this nc: recorded */
	NONCE_USE_RETRANSMISSION, /* the same request again */
	NONCE_USE_REPLAYED,       /* refuse: seen before, or older than what was forgotten */
};

/* `ext` authenticated with `nonce` (40 characters: issue time and sequence
 * number first, digest.h) and
 * `nc` (8 hex digits; empty without qop, which then allows one use) on a
 * request whose top Via branch is `branch`. */
enum nonce_use_verdict nonce_use(struct nonce_uses *u, const char *ext, size_t extlen,
				 struct sip_str nonce, struct sip_str nc, struct sip_str branch);

#endif
