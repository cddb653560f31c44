/* Building responses. Replies to requests that created no transaction are
 * built in one scratch buffer and sent at once: nothing outlives the call
 * (the stateless rule for unauthenticated peers).
 *
 * Every response goes back to the transport-level source of the request,
 * whatever its Via says ("forced rport"): answering the address a header
 * names would let anyone aim our replies at a third party. */
#ifndef RF_SIP_REPLY_H
#define RF_SIP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"
#include "sip/context.h"
#include "sip/msg.h"
#include "sip/transport.h"

struct sip_reply {
	char buf[SIP_MAX_MSG_SIZE];
	size_t len;
	unsigned status;
	bool overflow;
};

/* Status line, the echoed Via/From/To/Call-ID/CSeq (To gets a stable tag
 * when it has none), and the Server header when one is configured. */
void reply_start(struct sip_ctx *ctx, const struct sip_msg *req,
		 const struct sip_peer *src, unsigned status,
		 const char *reason);
void reply_header(struct sip_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append raw bytes (already formatted header lines ending in CRLF). */
void reply_raw(struct sip_ctx *ctx, const char *p, size_t len);
/* Content-Length: 0 and the blank line; then send to src, through the
 * current server transaction (ctx->tsx_cur) when there is one, so that a
 * retransmitted request gets the same answer. Returns 0 or an errno value
 * (EMSGSIZE when the reply did not fit). */
int reply_send(struct sip_ctx *ctx, const struct sip_peer *src);

/* Like reply_send, with a body of the given Content-Type. */
int reply_send_body(struct sip_ctx *ctx, const struct sip_peer *src,
		    const char *content_type, const char *body, size_t len);

/* The To tag reply_start adds to answers for req: derived from its Call-ID
 * and From tag, so it is the same for every retransmission. out holds 17. */
void reply_tag_for(const struct sip_ctx *ctx, const struct sip_msg *req, char out[17]);

/* Convenience: a complete reply with no extra headers. */
int reply_simple(struct sip_ctx *ctx, const struct sip_msg *req,
		 const struct sip_peer *src, unsigned status,
		 const char *reason);

/* A reply for a request the parser (after sip_msg_salvage) or the
 * application checks refused. Sent only when the request has a Via to
 * answer to; otherwise dropped. */
int reply_parse_error(struct sip_ctx *ctx, const struct sip_msg *req,
		      const struct sip_peer *src,
		      const struct sip_parse_error *perr);

const char *reply_reason(unsigned status);

#endif
