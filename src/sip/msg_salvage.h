/* Salvaging a refused request for its answer.
 *
 * When sip_msg_parse() refuses a request (a bad start line, a duplicate
 * header, a broken header line ...) it stops where it found the problem,
 * so its header index may be incomplete. RFC 3261 still wants a 400 (or
 * 505) with the request's Via, From, To, Call-ID and CSeq echoed. This
 * indexes just those headers, tolerantly, for building that one stateless
 * answer. Nothing salvaged is ever used to make a decision. */
#ifndef RF_SIP_MSG_SALVAGE_H
#define RF_SIP_MSG_SALVAGE_H

#include <stdbool.h>

#include "sip/msg.h"

/* Re-index m (which failed to parse from buf[0..len)) for an answer.
 * Returns true when it is a request with at least one Via to answer to;
 * false for responses and for requests that cannot be answered. */
bool sip_msg_salvage(struct sip_msg *m, const char *buf, size_t len);

#endif
