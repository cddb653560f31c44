/* Everything the signalling thread shares between the ingress pipeline,
 * the authenticator and the registrar. One instance, owned by server.c;
 * every other module borrows it. Single-threaded: no locks. */
#ifndef RF_SIP_CONTEXT_H
#define RF_SIP_CONTEXT_H

#include <stdint.h>
#include <time.h>

#include "sip/digest.h"

struct rf_conf;
struct event_base;
struct transport;
struct tsx_layer;
struct tsx;
struct store;
struct directory;
struct location;
struct calls;
struct sip_reply;
struct guard;
struct nonce_uses;
struct fraud;
struct alerter;
struct dns;
struct trunks;

struct sip_ctx {
	struct rf_conf *conf;        /* borrowed from main */
	struct event_base *base;
	struct transport *tp;
	struct tsx_layer *tsx;
	struct tsx *tsx_cur;         /* server transaction of the request being handled, or NULL */
	struct store *store;
	struct directory *dir;       /* replaced whole on reload */
	struct location *loc;
	struct calls *calls;         /* the B2BUA */
	struct trunks *trunks;       /* trunks, DIDs, routes (pbx/trunks.h); replaced whole on reload */
	struct guard *guard;         /* bans and locks (guard/guard.h) */
	struct nonce_uses *nonces;   /* digest replay protection (sip/nonce_use.h) */
	struct fraud *fraud;         /* numbering, barring, blacklists (fraud/fraud.h) */
	struct alerter *alerter;     /* borrowed; NULL raises no alerts (guard/alert.h) */
	struct dns *dns;             /* trunk host resolution (pbx/dns.h) */
	struct sip_reply *reply;     /* scratch buffer for one response */
	uint8_t secret[DIGEST_SECRET_LEN];
	time_t now;                  /* wall clock, refreshed per message */
};

#endif
