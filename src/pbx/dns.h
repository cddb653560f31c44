/* Locating a trunk's SIP server (RFC 3263) with c-ares on the signalling
 * loop. Nothing here blocks: a lookup returns at once and its callback
 * runs later from the loop (or at once from the cache).
 *
 * Order of resolution for a host name:
 *   - the trunk has a port, or the host is an IP literal: A/AAAA (or the
 *     literal) with that port, or the transport's default (5060 / 5061);
 *   - else NAPTR on the host, keeping SIP+D2U/D2T/D2S records for the
 *     trunk's transport, then SRV on their replacement;
 *   - with no usable NAPTR, SRV on _sip._udp / _sip._tcp / _sips._tcp;
 *   - with no SRV, A/AAAA with the default port.
 * SRV targets are ordered by priority, then by weight (RFC 2782), and each
 * target's addresses follow it. Answers are cached for their TTL (clamped
 * to DNS_TTL_MIN_S..DNS_TTL_MAX_S) and bounded by DNS_MAX_RECORDS. */
#ifndef RF_PBX_DNS_H
#define RF_PBX_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/limits.h"
#include "sip/msg.h"

struct event_base;
struct dns;

/* "tp|port|host" cache and lookup key. */
#define TRUNK_HOST_KEY_MAX 280

struct dns_target {
	enum sip_transport tp;
	struct sockaddr_storage addr; /* address with its port */
	socklen_t addrlen;
};

struct dns_result {
	struct dns_target t[DNS_MAX_TARGETS];
	unsigned n;
};

/* servers: "" for the system's resolv.conf, or a comma-separated list of
 * "ip", "ip:port" or "[ip6]:port" (a private resolver). Returns 0 or errno
 * with a message in err. */
int dns_alloc(struct dns **dp, struct event_base *base, const char *servers,
	      char *err, size_t errlen);
/* Pending lookups are cancelled without calling back. */
void dns_free(struct dns *d);

/* err is 0 with res->n >= 1, or ENOENT (no such name / no address),
 * ETIMEDOUT, or EIO. res is only valid during the call. */
typedef void (*dns_cb)(void *arg, int err, const struct dns_result *res);

/* Resolve host for transport tp; port 0 means "not configured" (NAPTR and
 * SRV are used). The callback may run before this returns (cache hit or IP
 * literal). *idp is an id for dns_cancel (0 when it already completed).
 * Returns 0, or EINVAL / ENOMEM, in which case cb is not called. */
int dns_resolve(struct dns *d, const char *host, unsigned port,
		enum sip_transport tp, dns_cb cb, void *arg, uint64_t *idp);

/* The owner goes away: its callback will not run. */
void dns_cancel(struct dns *d, uint64_t id);

/* Forget every cached answer (tests; a changed dns_servers setting). */
void dns_flush(struct dns *d);

/* An IP literal host ("192.0.2.1", "2001:db8::1" or "[2001:db8::1]") as
 * its one target with port, at once and without a lookup. False for a
 * name. */
bool dns_literal(const char *host, unsigned port, enum sip_transport tp,
		 struct dns_result *res);

/* The default port of a transport: 5061 for TLS, else 5060. */
unsigned dns_default_port(enum sip_transport tp);

/* Order SRV records (RFC 2782): ascending priority, and within a priority
 * by weight with a random draw (rnd supplies the randomness, [0, max)).
 * Exposed for unit tests. */
struct dns_srv {
	uint16_t priority, weight, port;
	char target[256];
};
void dns_srv_order(struct dns_srv *srv, unsigned n,
		   unsigned (*rnd)(unsigned max));

#endif
