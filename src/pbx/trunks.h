/* Trunks, DIDs and the dial plan as the signalling thread sees them (P4):
 * an immutable snapshot of the store, rebuilt aside when the store changes
 * and swapped in whole, like the extension directory.
 *
 * A trunk is known by where its packets come from, never by what they
 * say: its --ip networks, and the addresses its host stands for. An IP
 * literal host is its own address; a DNS name contributes the addresses
 * pbx/trunk_names.h reports through trunks_set_resolved(), and none until
 * then (such a trunk is known by its --ip networks alone meanwhile).
 *
 * Live call counts are not here: a snapshot is replaced on every change,
 * and a call must keep its slot across that (sip/call.c counts them). */
#ifndef RF_PBX_TRUNKS_H
#define RF_PBX_TRUNKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "pbx/route.h"
#include "sip/msg.h"
#include "store/store.h"

/* Addresses one host name may resolve to that are kept for matching. */
#define TRUNK_RESOLVED_MAX 16

struct trunk {
	/* The stored trunk, password included: the B leg answers the
	 * provider's challenges with it. Wiped when the snapshot goes. */
	struct trunk_record rec;
	/* The host's addresses with the port to send to, in the order calls
	 * try them (RFC 3263: NAPTR, then SRV priority and weight). */
	struct sockaddr_storage resolved[TRUNK_RESOLVED_MAX];
	unsigned nresolved;
	/* Where calls to it are sent first: resolved[0]. */
	struct sockaddr_storage dest;
	socklen_t destlen;      /* 0: no address known yet */
};

struct trunks;

/* Load every trunk, DID and route. A route that does not compile fails
 * the load with its reason in why (a dial plan with a hole would send
 * calls through a later, unintended route). 0 or errno. */
int trunks_load(struct trunks **tp, struct store *s, char *why, size_t whylen);
void trunks_free(struct trunks *t);

size_t trunks_count(const struct trunks *t);
const struct trunk *trunks_find(const struct trunks *t, const char *name);
/* The i-th trunk in name order, i < trunks_count(t). */
const struct trunk *trunks_at(const struct trunks *t, size_t i);
/* The transport a trunk record names (udp unless tcp or tls). */
enum sip_transport trunk_transport(const struct trunk_record *r);
/* The length of one of t->resolved (by its family). */
socklen_t trunk_addr_len(const struct sockaddr_storage *ss);
/* The trunk whose addresses include sa's (the port is not compared:
 * providers send from several), or NULL. */
const struct trunk *trunks_by_source(const struct trunks *t, const struct sockaddr *sa);
/* The extension a DID (E.164 with '+') rings, or NULL. */
const char *trunks_did_ext(const struct trunks *t, const char *e164);
const struct route_table *trunks_routes(const struct trunks *t);


/* The hook for name resolution: the addresses a trunk's host name now
 * resolves to (the port of each is the one to send to). Replaces the
 * previous set; at most TRUNK_RESOLVED_MAX are kept. ENOENT: no such
 * trunk. The caller re-applies them to a reloaded snapshot. */
int trunks_set_resolved(struct trunks *t, const char *name,
			const struct sockaddr_storage *addrs, unsigned n);

#endif
