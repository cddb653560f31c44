/* Digest authentication of requests, built so that a failure tells the
 * client nothing (S6). An unknown user, a wrong password, an ACL-denied
 * source and a garbled Authorization all get the same challenge: the same
 * status, headers, parameters and length. An unknown user is checked
 * against a fake HA1 so even the work done is the same. Only the security
 * log says which it was. */
#ifndef RF_SIP_AUTH_H
#define RF_SIP_AUTH_H

#include <stdbool.h>

#include "sip/context.h"
#include "sip/directory.h"
#include "sip/msg.h"
#include "sip/transport.h"

enum auth_kind {
	AUTH_WWW,   /* 401 + WWW-Authenticate / Authorization (registrar) */
	AUTH_PROXY, /* 407 + Proxy-Authenticate / Proxy-Authorization */
};

enum auth_verdict {
	AUTH_OK,        /* *ext is the authenticated extension */
	AUTH_CHALLENGE, /* answer with auth_send_challenge() */
	AUTH_SILENCE,   /* answer nothing: this address may not try this extension */
};

/* Decide; logs auth_failed / acl_denied events itself and tells the guard
 * (guard/guard.h) of every failure, bare challenge and success. A locked
 * extension is refused exactly like a wrong password. `stale` is set when
 * the challenge must carry stale=true. */
enum auth_verdict auth_request(struct sip_ctx *ctx, const struct sip_msg *m,
			       const struct sip_peer *src, enum auth_kind kind,
			       const struct dir_ext **ext, bool *stale);

/* Send the 401/407 with a fresh nonce: SHA-256 offered first, then MD5. */
int auth_send_challenge(struct sip_ctx *ctx, const struct sip_msg *m,
			const struct sip_peer *src, enum auth_kind kind,
			bool stale);

#endif
