/* CIDR access lists (S3). An ACL is an ordered pair of lists: deny entries
 * win over permit entries, and an address that matches no permit entry is
 * refused. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 entries. */
#ifndef RF_GUARD_ACL_H
#define RF_GUARD_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/limits.h"

struct acl_cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix; /* 0..32 or 0..128 */
	uint8_t addr[16];
};

/* Parse "a.b.c.d", "a.b.c.d/n", "x::y" or "x::y/n". Host bits set beyond
 * the prefix are an error (catches typos like 192.168.1.5/16). On error
 * returns EINVAL and, if why is not NULL, points it at a static reason. */
int acl_cidr_parse(const char *s, struct acl_cidr *out, const char **why);

/* Format back to text; buf should hold INET6_ADDRSTRLEN + 4. */
void acl_cidr_format(const struct acl_cidr *c, char *buf, size_t len);

bool acl_cidr_match(const struct acl_cidr *c, const struct sockaddr *sa);

struct acl {
	struct acl_cidr permit[RF_MAX_ACL_ENTRIES];
	unsigned npermit;
	struct acl_cidr deny[RF_MAX_ACL_ENTRIES];
	unsigned ndeny;
};

/* True when sa is allowed: matches some permit and no deny entry. */
bool acl_allows(const struct acl *a, const struct sockaddr *sa);

/* The LAN: RFC 1918, loopback (127/8, ::1), link-local is not included,
 * ULA fc00::/7, plus the extra CIDRs configured in [security] lan. */
bool acl_is_lan(const struct sockaddr *sa, const struct acl_cidr *extra,
		unsigned nextra);

/* The network `sa` belongs to for "same site" decisions: its IPv4 /24 or
 * IPv6 /64 (an IPv4-mapped address counts as IPv4). Returns 0 or EINVAL. */
int acl_network_of(const struct sockaddr *sa, struct acl_cidr *out);

#endif
