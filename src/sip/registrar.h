/* The registrar (P1): REGISTER after authentication. A request's contacts
 * are staged and checked as a whole (expiry bounds, Call-ID/CSeq order,
 * the per-extension contact limit) and then applied all together or not at
 * all. */
#ifndef RF_SIP_REGISTRAR_H
#define RF_SIP_REGISTRAR_H

#include "sip/context.h"
#include "sip/directory.h"
#include "sip/msg.h"
#include "sip/location.h"
#include "sip/transport.h"

/* Handle an authenticated REGISTER for `ext`; sends the final response
 * through `respond` (which a server transaction may wrap). */
void registrar_handle(struct sip_ctx *ctx, const struct sip_msg *m,
		      const struct sip_peer *src, const struct dir_ext *ext);

/* Security-log a binding that went away (expiry, extension deleted). */
void registrar_log_removed(const char *ext, const struct binding *b,
			   const char *reason, void *arg);

#endif
