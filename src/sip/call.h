/* Calls between extensions: a back-to-back user agent (P2, S7, S8, S10).
 *
 * A call has two sides. Leg A is the caller's dialog, in which Ringfence is
 * the UAS; leg B is a new dialog towards the callee, in which Ringfence is
 * the UAC, with its own Call-ID, tags, Via and Contact, so nothing of one
 * phone's signalling reaches the other (topology hiding). While the call
 * rings, leg B exists once per registered contact of the callee (parallel
 * forking); the first 2xx wins and the others are cancelled.
 *
 * Media always goes through the relay: each SDP is rewritten to the relay's
 * address and the port of the relay leg facing that phone.
 *
 * In-dialog requests (BYE, re-INVITE, UPDATE, INFO, ...) are accepted only
 * from the transport source and transport the dialog was set up over; any
 * other source gets 403 and an indialog_spoof event while the call goes on. */
#ifndef RF_SIP_CALL_H
#define RF_SIP_CALL_H

#include <stdbool.h>

#include "sip/context.h"
#include "sip/directory.h"
#include "sip/msg.h"
#include "sip/transport.h"

struct calls;

int calls_alloc(struct calls **cp, struct sip_ctx *ctx);
/* Ends every call (BYE to both legs), writes their records, frees all. */
void calls_free(struct calls *c);

/* An authenticated, out-of-dialog INVITE from extension `caller`. */
void calls_invite(struct calls *c, const struct sip_msg *m,
		  const struct sip_peer *src, const struct dir_ext *caller);

/* An out-of-dialog INVITE whose transport source is one of trunk's
 * addresses (sip/call_in.c): a call from the public network to a DID. */
struct trunk;
void calls_from_trunk(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
		      const struct trunk *trunk);

/* An outbound TCP/TLS connection failed (transport_set_fail_cb): a trunk
 * call still ringing on it tries the trunk's next address, or fails with
 * 503. A certificate that fails verification is an answer, not an
 * outage: that call fails at once. */
void calls_trunk_conn_failed(struct calls *c, uint64_t conn_id, const char *reason,
			     const char *detail);

/* A request with a To tag, or an ACK/CANCEL: returns true when it belongs
 * to one of our calls and has been handled (answered, relayed or refused);
 * false when no call knows it. */
bool calls_in_dialog(struct calls *c, const struct sip_msg *m,
		     const struct sip_peer *src);

/* Write queued call detail records (called from the housekeeping tick). */
void calls_flush(struct calls *c);

unsigned calls_active(const struct calls *c);

/* Once a second: calling-pattern analysis checks live calls' durations. */
void calls_fraud_tick(struct calls *c);
/* The configuration was reloaded: the transaction table is resized for a
 * new [calls] max_cps, and the media relay takes [media] no_media_timeout
 * for the calls in progress too. Returns 0, or ENOBUFS when the relay
 * could not take the timeout (it keeps the old one). */
int calls_reconfigure(struct calls *c);
/* Spending caps or rates changed: live calls' deadlines and the
 * thresholds are looked at again from the event loop (NULL: nothing). */
void calls_credit_changed(struct calls *c);

#endif
