/* SIP transactions (RFC 3261 section 17, with the RFC 6026 Accepted state).
 *
 * A transaction layer (struct tsx_layer) belongs to one event loop and one
 * transport set. It holds every live transaction in a hash keyed as RFC
 * 3261 17.2.3 says: the branch of the top Via (which must start with the
 * magic cookie "z9hG4bK"), its sent-by and the method, where ACK looks up
 * the INVITE transaction and CANCEL is a transaction of its own. Client
 * transactions are keyed by branch and CSeq method (17.1.3).
 *
 * Server transactions absorb retransmissions: a repeated request is
 * answered with the last response sent (or swallowed before there is one)
 * and never reaches the owner again. Client transactions retransmit their
 * request over UDP and report provisional and final responses, or a
 * timeout, to the owner's callback.
 *
 * Timers (T1 = 500 ms, T2 = 4 s, T4 = 5 s by default; all scaled by the
 * values passed to tsx_layer_alloc so tests can run them in milliseconds):
 *   client INVITE      A retransmit (T1, doubling)  B timeout 64*T1
 *                      D wait for final retransmits 64*T1 (0 on TCP/TLS)
 *                      M wait for 2xx retransmits 64*T1
 *   client non-INVITE  E retransmit (T1, doubling to T2)  F timeout 64*T1
 *                      K wait for final retransmits T4 (0 on TCP/TLS)
 *   server INVITE      G final response retransmit (T1, doubling to T2)
 *                      H wait for ACK 64*T1   I absorb ACKs T4 (0 on TCP/TLS)
 *                      L absorb INVITE retransmits after a 2xx 64*T1
 *   server non-INVITE  J absorb retransmits 64*T1 (0 on TCP/TLS)
 * Over TCP and TLS nothing is retransmitted (A, E, G are not armed).
 *
 * Security rule: a server transaction is state kept for a peer, so it is
 * created only after the request authenticated. Challenges and rejections
 * to unauthenticated peers are sent statelessly with transport_send().
 *
 * Memory: one allocation per transaction (key, timers and, for a client,
 * the request bytes); a server transaction also owns a copy of the last
 * response it sent. The transaction frees itself when it reaches
 * Terminated; a pointer to it stays valid until control returns to the
 * event loop after the callback or call that ended it. tsx_layer_free()
 * frees whatever is still alive without calling back. */
#ifndef RF_SIP_TRANSACTION_H
#define RF_SIP_TRANSACTION_H

#include <stdbool.h>
#include <stddef.h>

#include "sip/msg.h"
#include "sip/transport.h"

struct event_base;
struct tsx;
struct tsx_layer;

enum tsx_kind {
	TSX_CLIENT_INVITE,
	TSX_CLIENT_NON_INVITE,
	TSX_SERVER_INVITE,
	TSX_SERVER_NON_INVITE,
};

enum tsx_state {
	TSX_CALLING,    /* client INVITE, request sent */
	TSX_TRYING,     /* non-INVITE, nothing received / sent yet */
	TSX_PROCEEDING, /* provisional response seen / sent */
	TSX_COMPLETED,  /* final non-2xx (or any final for non-INVITE) */
	TSX_CONFIRMED,  /* server INVITE: ACK received */
	TSX_ACCEPTED,   /* INVITE: 2xx sent or received (RFC 6026) */
	TSX_TERMINATED,
};

/* Base timer values in milliseconds, and the most live transactions (at
 * most SIP_MAX_TRANSACTIONS_CEIL); 0 keeps the RFC timer or
 * SIP_MAX_TRANSACTIONS. */
struct tsx_timers {
	unsigned t1_ms, t2_ms, t4_ms;
	unsigned max_live;
};

int tsx_layer_alloc(struct tsx_layer **lp, struct event_base *base,
		    struct transport *tp, const struct tsx_timers *timers);
void tsx_layer_free(struct tsx_layer *l);

/* Live transactions: for statistics, tests and leak checks. */
unsigned tsx_layer_count(const struct tsx_layer *l);

/* The cap on live transactions this layer enforces; a new transaction
 * beyond it gets EAGAIN (and a warning, at most once a second). */
unsigned tsx_layer_max(const struct tsx_layer *l);

/* Change that cap (0: SIP_MAX_TRANSACTIONS; at most
 * SIP_MAX_TRANSACTIONS_CEIL), for instance once the call rate is known.
 * Live transactions stay; a lower cap only refuses new ones until enough
 * have ended. 0 or ENOMEM (then nothing changed). */
int tsx_layer_set_max(struct tsx_layer *l, unsigned max);

/* The live transactions that `calls_per_s` new calls per second keep,
 * with T1 and T4 of `timers` (NULL: the RFC defaults), for
 * struct tsx_timers.max_live: never below SIP_MAX_TRANSACTIONS nor above
 * SIP_MAX_TRANSACTIONS_CEIL. */
unsigned tsx_cap_for_call_rate(unsigned calls_per_s, const struct tsx_timers *timers);

enum tsx_kind tsx_kind(const struct tsx *x);
enum tsx_state tsx_state(const struct tsx *x);

/* ---- Server side ---- */

/* Called once when a server transaction ends: err is 0, or ETIMEDOUT when
 * Timer H fired (no ACK for a final response to an INVITE). */
typedef void (*tsx_end_cb)(void *arg, struct tsx *x, int err);

/* Offer an incoming request to the existing server transactions first.
 * Returns true when it was a retransmission or an ACK for a non-2xx final
 * response and has been dealt with (the last response was resent if one
 * exists); the caller then drops it. Returns false for a new request, or
 * for an ACK to a 2xx, which belongs to the dialog. A matching request
 * from another source address or transport is swallowed without an
 * answer: the stored response goes only to the flow that earned it. */
bool tsx_server_absorb(struct tsx_layer *l, const struct sip_msg *req,
		       const struct sip_peer *src);

/* Create the server transaction for a new request (not ACK). Returns 0,
 * EEXIST when one already exists (call tsx_server_absorb first), EINVAL
 * for a request without a usable top Via (no RFC 3261 magic cookie, or a
 * branch or sent-by over the limits.h caps: answer those statelessly),
 * EAGAIN at the layer's cap (tsx_layer_max), or ENOMEM. */
int tsx_server_alloc(struct tsx **xp, struct tsx_layer *l,
		     const struct sip_msg *req, const struct sip_peer *src);

void tsx_server_set_end_cb(struct tsx *x, tsx_end_cb cb, void *arg);

/* Send a response (the complete bytes, copied) and advance the state
 * machine by its status (100-699). Returns 0, EINVAL for a status that is
 * not allowed in the current state, or a transport error (the transaction
 * stays, as RFC 3261 17.2.4 leaves the retry to the TU). */
int tsx_server_respond(struct tsx *x, unsigned status, const void *buf,
		       size_t len);

/* The INVITE server transaction a CANCEL refers to (RFC 3261 9.2), or
 * NULL. */
struct tsx *tsx_server_find_invite(struct tsx_layer *l,
				   const struct sip_msg *cancel,
				   const struct sip_peer *src);

/* ---- Client side ---- */

/* Responses and failures of a client transaction. resp is a 1xx, 2xx or
 * final response (err 0); or resp is NULL and err is ETIMEDOUT (Timer B/F)
 * or a transport error. After a final response or an error the
 * transaction no longer calls back, except that an INVITE reports further
 * 2xx retransmissions (they belong to the dialog). */
typedef void (*tsx_client_cb)(void *arg, struct tsx *x,
			      const struct sip_msg *resp, int err);

/* Send a request we built (buf, len; its top Via carries our branch with
 * the magic cookie) to dst and start its client transaction. ACK is not a
 * transaction: send it with transport_send(). Returns 0 with *xp set,
 * EINVAL when the request does not parse or has no usable Via, EAGAIN at
 * the layer's cap, ENOMEM, or the transport's error. */
int tsx_client_send(struct tsx **xp, struct tsx_layer *l, const void *buf,
		    size_t len, const struct sip_peer *dst,
		    tsx_client_cb cb, void *arg);

/* Deliver an incoming response to its client transaction. Returns true
 * when one matched (the response is consumed), false for a stray
 * response, which RFC 3261 17.1.3 says to drop. */
bool tsx_client_match(struct tsx_layer *l, const struct sip_msg *resp);

/* The owner goes away: no more callbacks; the transaction still finishes
 * its retransmissions and timers on its own. */
void tsx_client_detach(struct tsx *x);

#endif
