/* Reading NAPTR and SRV answers (RFC 3263 steps 1 and 2) from the raw DNS
 * message c-ares hands us. c-ares parses the records; we add what it does
 * not give: the smallest TTL of the answer section, the RFC 3263 choice of
 * NAPTR records for a transport, and the caps of limits.h. Every input is
 * untrusted and the functions are fuzzed (tests/fuzz/fuzz_dns_answer.c). */
#ifndef RF_PBX_DNS_ANSWER_H
#define RF_PBX_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "pbx/dns.h"

/* The smallest TTL among the answer records, clamped to DNS_TTL_MIN_S ..
 * DNS_TTL_MAX_S. 0 or EBADMSG (truncated or malformed message). */
int dns_answer_min_ttl(const unsigned char *buf, size_t len, uint32_t *ttl);

/* SRV records into out (at most DNS_MAX_RECORDS, in answer order). 0 with
 * *n >= 1, ENOENT for none, EBADMSG. */
int dns_answer_srv(const unsigned char *buf, size_t len,
		   struct dns_srv *out, unsigned *n);

/* The replacement of the best NAPTR record (lowest order, then lowest
 * preference) with flag "s" whose service is the transport's: SIP+D2U,
 * SIP+D2T or SIPS+D2T. 0, ENOENT for none usable, EBADMSG. */
int dns_answer_naptr(const unsigned char *buf, size_t len,
		     enum sip_transport tp, char *replacement, size_t rlen);

#endif
