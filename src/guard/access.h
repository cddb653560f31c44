/* Which sources may use an extension (S3). The rules, in order:
 *   1. a deny entry that matches refuses;
 *   2. a non-empty permit list must match;
 *   3. outside the LAN, only a --remote extension over TLS is accepted.
 * Step 3 holds even when a permit entry names a public range: leaving the
 * LAN is always an explicit, encrypted choice. */
#ifndef RF_GUARD_ACCESS_H
#define RF_GUARD_ACCESS_H

#include <stdbool.h>
#include <sys/socket.h>

#include "guard/acl.h"
#include "sip/msg.h"

enum access_verdict {
	ACCESS_OK = 0,
	ACCESS_DENY_ACL,        /* deny entry, or no permit entry matched */
	ACCESS_DENY_NOT_LAN,    /* outside the LAN and not a remote extension */
	ACCESS_DENY_NEEDS_TLS,  /* remote extension outside the LAN without TLS */
};

enum access_verdict access_check(const struct acl *acl, bool remote,
				 const struct sockaddr *src,
				 enum sip_transport tp,
				 const struct acl_cidr *lan, unsigned nlan);

/* Reason token for the security log: acl, not_lan, remote_needs_tls. */
const char *access_reason(enum access_verdict v);

#endif
