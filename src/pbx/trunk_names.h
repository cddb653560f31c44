/* Where trunks named by a host name are (P4). Every trunk whose --host is
 * a DNS name, registering or not, is located through the trunk resolver
 * (pbx/dns.h, RFC 3263: NAPTR, then SRV, then A/AAAA) and its addresses
 * are given to the trunk snapshot with trunks_set_resolved(). They serve
 * twice: calls to the trunk go to the first and fail over to the next,
 * and traffic from any of them is the trunk's (pbx/trunks.h).
 *
 * The name is looked up again every TRUNK_RESOLVE_REFRESH_S; the
 * resolver's cache, which the registration client shares, answers until
 * the TTL ends. A lookup that fails keeps the addresses already known (a
 * DNS outage must not cut a working trunk) and is retried with the
 * registration client's backoff. A trunk that has never resolved has no
 * address: calls to it are refused with 503 (sip/call_trunk.c). */
#ifndef RF_PBX_TRUNK_NAMES_H
#define RF_PBX_TRUNK_NAMES_H

struct sip_ctx;
struct dns;
struct trunk_names;

/* ctx and dns are borrowed and must outlive the set. Starts resolving the
 * trunks of ctx->trunks. 0 or errno. */
int trunk_names_alloc(struct trunk_names **np, struct sip_ctx *ctx, struct dns *dns);
/* Cancels timers and lookups. */
void trunk_names_free(struct trunk_names *n);

/* ctx->trunks was replaced: names added or changed start resolving,
 * removed ones stop, and the new snapshot gets the addresses known
 * already (a reload must not make a trunk a stranger for a moment). */
void trunk_names_reload(struct trunk_names *n);

#endif
