/* Internals of the B2BUA shared by call.c (lifecycle, limits, records),
 * call_setup.c (routing, forking, answer) and call_dialog.c (requests
 * inside an established call, tear-down). Not for other modules. */
#ifndef RF_SIP_CALL_PRIV_H
#define RF_SIP_CALL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/strmap.h"
#include "media/relay.h"
#include "pbx/route.h"
#include "sip/call.h"
#include "sip/location.h"
#include "store/store.h"

#define CALL_MAX_FORKS 8 /* registered contacts rung in parallel */
#define CALL_SDP_MAX 8192

struct event;
struct relay;
struct tsx;
struct caller_rate;
struct dir_ext;
struct trunk;

/* SRTP (SDES) on one side of a call: index 0 the caller, 1 the callee.
 * `ours` is the key Ringfence wrote in the SDP towards that phone; it
 * encrypts what the relay sends to it and never leaves this side. */
struct call_srtp {
	enum ext_srtp policy;    /* effective: required for --remote extensions */
	bool on;                 /* the leg's media is SRTP now */
	bool offered;            /* our last offer to this phone carried a=crypto */
	bool best_effort;        /* the phone offered a=crypto in RTP/AVP: answer alike */
	unsigned tag;            /* the a=crypto tag the phone chose in its last offer */
	bool have_key;
	struct relay_crypto ours;
};

/* One dialog of a call, as seen from Ringfence. */
struct leg {
	struct strmap_node node; /* in calls->legs, keyed by call_id */
	struct call *call;       /* borrowed: the owner */
	bool is_a;               /* the caller's side */
	bool linked;
	unsigned fork;           /* B: index in call->b[] */
	char *call_id;
	char *local_hdr;         /* From of requests we send: ours, with our tag */
	char *remote_hdr;        /* To of requests we send: the phone, with its tag */
	char local_tag[33];
	char *target;            /* Request-URI of requests we send */
	uint32_t local_cseq;     /* last CSeq we used */
	uint32_t remote_cseq;    /* last CSeq the phone used */
	struct sip_peer peer;    /* the flow: where its requests come from */
	/* B while ringing */
	struct tsx *invite_tsx;
	char *invite_branch;
	unsigned final_status;   /* a failed fork's final answer */
	bool answered;           /* gave a 2xx */
	/* B towards a trunk: its name (the snapshot may be replaced while
	 * the call rings), whether we answered a challenge already, and
	 * which of the trunk's addresses the INVITE went to. */
	char trunk[TRUNK_NAME_MAX + 1];
	bool auth_sent;
	unsigned trunk_addr;
};

/* An in-dialog request from one leg waiting for the other leg's answer. */
struct pending {
	struct tsx *server;      /* towards the sender; NULL when none */
	struct leg *from;
	bool is_invite;
	char *req_buf;           /* owned copy: the answer echoes its headers */
	size_t req_len;
	struct sip_peer src;
};

struct call {
	struct calls *calls;     /* borrowed: the owner */
	struct call *prev, *next;
	uint32_t id;
	struct leg *a;
	struct leg *b[CALL_MAX_FORKS];
	unsigned nforks;
	int winner;              /* index of the answering fork, -1 before */
	struct tsx *a_invite;    /* the caller's INVITE until its final answer */
	char *a_invite_buf;      /* owned copy: responses to A are built from it */
	size_t a_invite_len;
	char *ok_buf;            /* the 2xx sent to A, retransmitted until ACK (UDP) */
	size_t ok_len;
	unsigned retx_ms;
	struct event *ring_timer, *duration_timer, *retx_timer;
	uint32_t relay_session;
	bool relay_open;
	uint16_t relay_port[2];
	bool counted;            /* holds a slot in the limits */
	bool inbound;            /* from a trunk: the caller is no extension */
	bool emergency;          /* exempt from every limit, never refused for one */
	uint64_t pattern;        /* its handle in calling-pattern analysis (fraud/pattern.h); 0 none */
	struct credit_call *credit; /* its charge in the credit engine (fraud/credit.h) while it runs */
	bool charged;            /* in the live set `ringfence spend` reads, until its CDR is queued */
	int64_t connection, per_minute; /* its rate, micro-units, for that set */
	char *b_offer;           /* owned: the SDP offered on a trunk leg, for a re-send with credentials */
	size_t b_offer_len;
	char b_extra[TRUNK_HOST_MAX + 128];       /* headers of that INVITE besides the dialog's (Max-Forwards, identity) */
	bool releasing;
	bool acked;
	struct pending pending;
	char callee_ext[RF_MAX_EXT_LEN + 1];
	char caller_name[EXT_NAME_MAX + 1];
	uint64_t sdp_version;
	struct call_srtp srtp[2]; /* [0] the caller's side, [1] the callee's */
	struct cdr_record cdr;
};

struct calls {
	struct sip_ctx *ctx;     /* borrowed */
	struct relay *relay;
	struct sockaddr_storage media_addr; /* [media] media_address, parsed once */
	struct strmap legs;      /* every leg by Call-ID */
	struct strmap per_ext;   /* live calls by extension */
	struct strmap per_trunk; /* live calls by trunk name, inbound and outbound */
	struct caller_rate *caller_rate; /* inbound calls per caller number (fraud/caller_rate.h) */
	struct call *head;
	unsigned active;
	uint32_t next_id;
	time_t cps_second;
	unsigned cps_count;
	unsigned sized_cps;      /* the max_cps the transaction table is sized for */
	struct event *credit_timer; /* credit deadlines and thresholds (call_credit.c) */
	unsigned ncharged;       /* calls with `charged` set */
	bool live_dirty;         /* the live set changed since it was written */
	int64_t live_written_ms;
	struct cdr_record *cdrs; /* waiting for calls_flush */
	size_t ncdr, capcdr;
};

/* call.c */
/* Who a new call is between. */
struct call_parties {
	bool inbound;             /* the caller is a number outside, from a trunk */
	const char *caller;       /* its extension, or that number */
	const char *caller_name;  /* shown to the callee; "" none */
	enum ext_srtp caller_srtp, callee_srtp;
	struct sip_str callee;    /* for the record: as dialled */
	const char *callee_ext;   /* the extension rung; "" for a number outside */
};
struct call *call_new(struct calls *c, const struct sip_msg *m, const struct call_parties *p);
/* Take the call's slots and the caller's INVITE transaction. False when
 * the call was refused and released instead. */
bool call_commit(struct call *call, const struct sip_msg *m, const struct sip_peer *src);
/* Refuse a committed call before any leg is out: `status` to the caller
 * (hangup "system"), then release it. */
void call_refuse_committed(struct call *call, unsigned status);
/* The checks every new INVITE passes first (merged requests, loops);
 * false after refusing it. */
bool calls_new_invite_ok(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			 const char *caller);
/* 0, or the status to refuse a new call with and why ("cps", "system",
 * "caller", "callee"). NULL caller or callee: a number outside. */
unsigned calls_admit(struct calls *c, const char *caller, const char *callee, const char **why);
unsigned calls_count_of(const struct strmap *map, const char *key);
enum ext_srtp call_srtp_policy(const struct ext_record *r);
void call_security_event(const char *event, const struct sip_peer *src,
			 const char *ext, const char *reason);
void call_refuse_record(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			const char *caller, struct cdr_record *r);
void leg_free(struct calls *c, struct leg *l);
int leg_link(struct calls *c, struct leg *l);
int64_t call_now_ms(void);
char *call_strdup(struct sip_str s);
void call_random_hex(char *out, size_t bytes);
void call_security_event(const char *event, const struct sip_peer *src,
			 const char *ext, const char *reason);
/* call_refuse_record with a reason phrase of our own (NULL: the standard one). */
void call_refuse_record_why(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			    const char *caller, struct cdr_record *r, const char *reason);

/* call_out.c: a call to a number outside the PBX. False when the
 * Request-URI names an extension (or nothing a number could be), which
 * the caller then routes itself. */
struct dir_ext;
bool calls_outbound(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
		    const struct dir_ext *caller);
/* Stop timers and media; the record is written and the call freed once
 * the relay reports its counters. */
void call_release(struct call *call);

/* call_credit.c: credit limits (S13) */
struct rate_record;
struct credit_call;
int calls_credit_init(struct calls *c);
void calls_credit_free(struct calls *c);
/* May an outbound call from `ext` over `trunk` to e164 start? 0, with
 * *rate its rate or NULL when it costs nothing (no rate matches); or 403
 * after the credit_refused event, with the CDR's hangup word in *hangup:
 * "credit" when a cap it would charge is reached, "unrated" for a number
 * without a rate under [credit] refuse_unrated. */
unsigned call_credit_admit(struct calls *c, const struct sip_peer *src, const char *ext,
			   const char *trunk, const char *e164, const struct rate_record **rate,
			   const char **hangup);
/* The call (its record's caller, trunk and start_ms set) is charged at
 * `rate`. False when the engine cannot count it (out of memory): a call
 * the caps cannot count is one they cannot stop, so it must be refused. */
bool call_credit_start(struct call *call, const struct rate_record *rate);
/* Its record's answer_ms is set: charged per minute from then. */
void call_credit_answered(struct call *call);
/* Its record's end_ms is set: the charge stops and the cost is recorded. */
void call_credit_end(struct call *call);
/* Its record is about to be queued: it leaves the live set. */
void call_credit_done(struct call *call);
/* Whether calls_flush must write the live set now, and writing it. */
bool calls_credit_live_due(const struct calls *c, int64_t now_ms);
int calls_credit_write_live(struct calls *c, int64_t now_ms);

/* call_setup.c */
void call_start(struct call *call, const struct sip_msg *m,
		const struct sip_peer *src, struct loc_aor *aor);
/* Leg A, its 100 and the media session: the SDP to offer the callee in
 * offer (CALL_SDP_MAX bytes). False when the call was refused instead. */
bool call_begin(struct call *call, const struct sip_msg *m, const struct sip_peer *src,
		char *offer, size_t *offerlen);
/* Every fork is out: refuse when all failed at once, else start ringing. */
void call_ring(struct call *call);
void call_fork_failed(struct call *call, struct leg *l, unsigned status);
/* A new B leg towards peer with its own Call-ID and tag; the caller sets
 * its headers and target, then call_fork_add links it into the call
 * (or frees it when any is missing; NULL then). */
struct leg *call_fork_alloc(struct call *call, const struct sip_peer *peer);
struct leg *call_fork_add(struct call *call, struct leg *l);
void call_on_fork_response(void *arg, struct tsx *x, const struct sip_msg *resp, int err);

/* call_trunk.c */
/* Place the B leg of an outbound call on trunk `t`, sending `number`.
 * The call is committed; it answers and releases itself from here on. */
void call_start_trunk(struct call *call, const struct sip_msg *m, const struct sip_peer *src,
		      const struct trunk *t, const char *number, const char *caller_id);
struct num_info;
/* Where an outbound call goes: the first route matching the dialled
 * string, its trunk and the number sent after strip and prepend. */
struct trunk_route {
	const struct trunk *trunk;
	char number[ROUTE_NUMBER_MAX];
};
/* 0 with *r filled, or the status to refuse with (hangup no_route): 404
 * when no route matches (503 for an emergency number: try another way),
 * 503 when the trunk has no address to send to yet. */
unsigned calls_trunk_route(struct calls *c, struct sip_str dialled, bool emergency,
			   struct trunk_route *r);
/* Place an outbound call that barring let through to `num` (dialled as
 * `dialled`) over route r; `pattern` is its handle in calling-pattern
 * analysis, which the call ends with itself. Returns 0 once the call is
 * placed (it answers the caller itself from then on), or the status to
 * refuse it with and the CDR hangup word in *hangup (the handle is then
 * still the caller's). Emergency calls pass every limit. */
unsigned calls_trunk_out(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			 const struct dir_ext *caller, struct sip_str dialled,
			 const struct num_info *num, const struct trunk_route *r,
			 uint64_t pattern, const char **hangup);
/* A trunk leg got 401 or 407: true when the INVITE went again with our
 * credentials, false when the challenge cannot be answered. */
bool call_trunk_reauth(struct leg *l, const struct sip_msg *resp);
/* A trunk leg's INVITE got no answer at its address (a timeout, a
 * connection that failed, or it could not be sent there at all; `why`
 * says which, for the log): true when it went to the trunk's next address
 * it could be sent to (RFC 3263 4.3), false when none is left. */
bool call_trunk_failover(struct leg *l, const char *why);
/* Answer A with `status` built from its saved INVITE (with an optional SDP). */
int call_answer_a(struct call *call, unsigned status, const char *sdp, size_t sdplen);
/* Rewrite the SDP of `body` (an offer, or the answer to ours) for the
 * other phone, tell the relay where the sending phone (`from`) is and
 * which SRTP keys each leg uses. Returns the new length, or 0 when the
 * body is refused (the caller answers 488). */
size_t call_media_from(struct call *call, struct leg *from, struct sip_str body,
		       bool offer, char *out, size_t outlen);

/* call_srtp.c */
struct sdp_media;
/* The phone on `from`'s side sent SDP whose anchored stream is `md` (NULL
 * when none): an offer, or the answer to our offer. Takes its key for the
 * relay as the side's policy allows. Returns 0, or 488 after logging the
 * security event srtp_refused. */
unsigned call_srtp_from(struct call *call, const struct leg *from,
			const struct sdp_media *md, bool offer);
/* What the SDP written towards side `to_a` carries on the anchored
 * stream: *proto and our a=crypto line in `line` (empty when plain RTP).
 * Returns 0 or an errno value (no key could be made). */
int call_srtp_towards(struct call *call, bool to_a, bool offer, const char **proto,
		      char *line, size_t linelen);
/* Wipe the call's keys (at its end). */
void call_srtp_wipe(struct call *call);

/* call_dialog.c */
/* Build and send a request inside a leg's dialog (BYE, re-INVITE, ACK ...). */
int leg_send_request(struct leg *l, const char *method, uint32_t cseq,
		     const char *extra, const char *ctype, const char *body,
		     size_t bodylen, bool with_tsx, struct tsx **xp,
		     void (*cb)(void *, struct tsx *, const struct sip_msg *, int),
		     void *arg);
/* End the call: BYE (or CANCEL) to every leg that is up, then release. */
void call_hangup(struct call *call, const char *why);
void pending_clear(struct pending *p);
/* Cancel every ringing fork except `keep` (-1: all). */
void call_cancel_forks(struct call *call, int keep);

#endif
