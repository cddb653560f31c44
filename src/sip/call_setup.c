/* Setting a call up: leg A from the caller's INVITE, the media session,
 * one leg B per registered contact of the callee, and what their answers
 * do: ringing and early media are relayed, the first 2xx wins, and when
 * every fork failed the caller gets the most telling failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "fraud/fraud.h"
#include "fraud/pattern.h"
#include "core/log.h"
#include "core/secret.h"
#include "media/relay.h"
#include "media/srtp.h"
#include "sip/call_priv.h"
#include "sip/reply.h"
#include "sip/sdp.h"
#include "sip/transaction.h"

static bool is_unspecified(const struct sockaddr *a)
{
	static const uint8_t zero[16];

	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, zero, 16) == 0;
}

/* ---- media ---- */

/* Point the relay's leg for `from` at the phone's media address. Returns
 * false when the relay cannot reach it. */
static bool call_media_peer(struct call *call, struct leg *from, struct sdp_media *md)
{
	const struct sockaddr *sig = (const struct sockaddr *)&from->peer.addr;

	if (is_unspecified((const struct sockaddr *)&md->addr))
		return true; /* hold (c=0.0.0.0): keep the current peer */
	if (md->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&md->addr)->sin_port = htons(md->port);
	else
		((struct sockaddr_in6 *)&md->addr)->sin6_port = htons(md->port);
	/* A phone whose SDP names another address than it signals from is
	 * behind NAT: latch to its signalling IP instead (S15). */
	return relay_set_peer(call->calls->relay, call->relay_session,
			      from->is_a ? RELAY_LEG_A : RELAY_LEG_B,
			      (const struct sockaddr *)&md->addr, md->rtcp_mux,
			      !sockaddr_same_ip((const struct sockaddr *)&md->addr, sig), sig) == 0;
}

/* The relay anchors one RTP stream per call: the first live one. Further
 * streams (video ...) are declined with port 0. */
static int call_anchor(const struct sdp *sdp)
{
	for (unsigned i = 0; i < sdp->nmedia; i++) {
		if (sdp->media[i].port != 0 && sdp->media[i].addr.ss_family != 0)
			return (int)i;
	}
	return -1;
}

size_t call_media_from(struct call *call, struct leg *from, struct sip_str body,
		       bool offer, char *out, size_t outlen)
{
	struct calls *c = call->calls;
	uint16_t ports[SDP_MAX_MEDIA] = {0};
	char crypto[MEDIA_SRTP_LINE_MAX];
	const char *why = NULL, *proto = NULL;
	struct sdp sdp;
	int anchor;
	size_t n;

	if (sdp_parse(body.p, body.len, &sdp, &why) != 0) {
		log_info("call %u: SDP refused: %s", call->id, why ? why : "malformed");
		return 0;
	}
	anchor = call_anchor(&sdp);
	if (anchor >= 0) {
		ports[anchor] = call->relay_port[from->is_a ? RELAY_LEG_B : RELAY_LEG_A];
		if (!call_media_peer(call, from, &sdp.media[anchor])) {
			/* e.g. an IPv6 phone on an IPv4 relay: its media cannot flow. */
			log_info("call %u: the relay cannot reach the media address in SDP", call->id);
			return 0;
		}
	}
	if (call_srtp_from(call, from, anchor >= 0 ? &sdp.media[anchor] : NULL, offer) != 0 ||
	    call_srtp_towards(call, !from->is_a, offer, &proto, crypto, sizeof(crypto)) != 0)
		return 0;
	n = sdp_rewrite_ex(body.p, body.len,
			   &(struct sdp_rewrite_opts){
				   .addr = (const struct sockaddr *)&c->media_addr,
				   .ports = ports,
				   .nports = sdp.nmedia,
				   .version = ++call->sdp_version,
				   .strip_crypto = true,
				   .media = anchor,
				   .proto = anchor >= 0 ? proto : NULL,
				   .crypto = anchor >= 0 && crypto[0] ? crypto : NULL,
			   },
			   out, outlen);
	secret_wipe(crypto, sizeof(crypto));
	return n;
}

static bool msg_has_sdp(const struct sip_msg *m)
{
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_H_CONTENT_TYPE);

	return m->body.len > 0 && ct && ct->value.len >= 15 &&
	       strncasecmp(ct->value.p, "application/sdp", 15) == 0;
}

/* ---- answering the caller ---- */

static void call_local_hostport(const struct sip_ctx *ctx, const struct sip_peer *peer,
				char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (transport_local_addr(ctx->tp, peer->tp, peer->addr.ss_family, &ss, &sl) != 0)
		snprintf(out, len, "%s:%u", ctx->conf->listen[0], ctx->conf->port);
	else
		sockaddr_format((const struct sockaddr *)&ss, out, len);
}

int call_answer_a(struct call *call, unsigned status, const char *sdp, size_t sdplen)
{
	struct sip_ctx *ctx = call->calls->ctx;
	static struct sip_msg m; /* large; the signalling thread is single */
	struct sip_parse_error perr;
	char hostport[80];
	int err;

	if (!call->a_invite)
		return ENOENT;
	if (sip_msg_parse(&m, call->a_invite_buf, call->a_invite_len, call->a->peer.tp, &perr) != 0)
		return EBADMSG;
	ctx->tsx_cur = call->a_invite;
	reply_start(ctx, &m, &call->a->peer, status, NULL);
	if (status > 100 && status < 300) {
		call_local_hostport(ctx, &call->a->peer, hostport, sizeof(hostport));
		reply_header(ctx, "Contact: <sip:%s;transport=%s>", hostport,
			     transport_name(call->a->peer.tp));
		reply_header(ctx, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
	}
	err = reply_send_body(ctx, &call->a->peer, "application/sdp", sdp, sdplen);
	ctx->tsx_cur = NULL;
	if (status >= 200 && status < 300 && !call->ok_buf) {
		call->ok_buf = malloc(ctx->reply->len);
		if (call->ok_buf) {
			memcpy(call->ok_buf, ctx->reply->buf, ctx->reply->len);
			call->ok_len = ctx->reply->len;
		}
	}
	if (status >= 200) {
		tsx_server_set_end_cb(call->a_invite, NULL, NULL);
		call->a_invite = NULL;
		if (!call->cdr.result)
			call->cdr.result = status;
	}
	return err;
}

/* ---- leg A ---- */

static int call_leg_a(struct call *call, const struct sip_msg *m, const struct sip_peer *src)
{
	struct sip_ctx *ctx = call->calls->ctx;
	const struct sip_hdr *from = sip_msg_hdr(m, SIP_H_FROM);
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
	struct sip_contact ct;
	size_t n = 0;
	bool star;
	struct leg *l = calloc(1, sizeof(*l));
	char buf[1024];

	if (!l)
		return ENOMEM;
	call->a = l;
	l->call = call;
	l->is_a = true;
	l->peer = *src;
	l->remote_cseq = m->cseq;
	reply_tag_for(ctx, m, l->local_tag);
	l->call_id = call_strdup(m->call_id);
	l->remote_hdr = call_strdup(from->value);
	snprintf(buf, sizeof(buf), "%.*s;tag=%s", (int)to->value.len, to->value.p, l->local_tag);
	l->local_hdr = strdup(buf);
	if (sip_contacts_parse(m, &ct, 1, &n, &star) == 0 && n == 1 && !star)
		l->target = call_strdup(ct.na.uri);
	else
		l->target = call_strdup(m->ruri);
	if (!l->call_id || !l->remote_hdr || !l->local_hdr || !l->target)
		return ENOMEM;
	return leg_link(call->calls, l);
}

/* ---- forks ---- */

/* What the caller hears when every fork failed: a global failure (6xx)
 * first, then busy, then the lowest status. */
static unsigned call_best_failure(const struct call *call)
{
	unsigned best = 0;

	for (unsigned i = 0; i < call->nforks; i++) {
		unsigned s = call->b[i]->final_status;

		if (s >= 600)
			return s;
		if (s == 486)
			best = 486;
		else if (best != 486 && (best == 0 || s < best))
			best = s;
	}
	return best ? best : 480;
}

static void call_check_forks(struct call *call)
{
	for (unsigned i = 0; i < call->nforks; i++) {
		if (call->b[i]->final_status == 0)
			return; /* others still ringing */
	}
	if (call->winner >= 0 || call->releasing)
		return;
	call->cdr.result = call_best_failure(call);
	snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "callee");
	call_answer_a(call, call->cdr.result, NULL, 0);
	call_release(call);
}

void call_fork_failed(struct call *call, struct leg *l, unsigned status)
{
	l->final_status = status;
	l->invite_tsx = NULL;
	call_check_forks(call);
}

static void call_fork_remember(struct leg *l, const struct sip_msg *resp)
{
	const struct sip_hdr *to = sip_msg_hdr(resp, SIP_H_TO);
	struct sip_contact ct;
	size_t n = 0;
	bool star;

	if (to) {
		free(l->remote_hdr);
		l->remote_hdr = call_strdup(to->value);
	}
	if (sip_contacts_parse(resp, &ct, 1, &n, &star) == 0 && n == 1 && !star) {
		free(l->target);
		l->target = call_strdup(ct.na.uri);
	}
}

static void call_duration_reached(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	call_hangup(arg, "max_duration");
}

static void call_retransmit_ok(evutil_socket_t fd, short what, void *arg);

static void call_arm(struct call *call, struct event **ev, unsigned ms,
		     event_callback_fn fn)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (!*ev)
		*ev = evtimer_new(call->calls->ctx->base, fn, call);
	if (*ev)
		evtimer_add(*ev, &tv);
}

static void call_retransmit_ok(evutil_socket_t fd, short what, void *arg)
{
	struct call *call = arg;

	(void)fd;
	(void)what;
	if (call->acked || !call->ok_buf)
		return;
	if (call->retx_ms >= 32000) {
		/* RFC 3261 13.3.1.4: no ACK for 64*T1, end the call. */
		call_hangup(call, "no_ack");
		return;
	}
	transport_send(call->calls->ctx->tp, &call->a->peer, call->ok_buf, call->ok_len);
	call->retx_ms = call->retx_ms * 2 > 4000 ? 4000 : call->retx_ms * 2;
	call_arm(call, &call->retx_timer, call->retx_ms, call_retransmit_ok);
}

static void call_fork_answered(struct call *call, struct leg *l, const struct sip_msg *resp)
{
	char sdp[CALL_SDP_MAX];
	size_t sdplen = 0;

	call->winner = (int)l->fork;
	l->answered = true;
	l->invite_tsx = NULL;
	call_fork_remember(l, resp);
	leg_send_request(l, "ACK", l->local_cseq, NULL, NULL, NULL, 0, false, NULL, NULL, NULL);
	call_cancel_forks(call, (int)l->fork);
	if (call->ring_timer)
		evtimer_del(call->ring_timer);
	if (msg_has_sdp(resp)) {
		sdplen = call_media_from(call, l, resp->body, false, sdp, sizeof(sdp));
		if (!sdplen) {
			/* An answer we cannot bridge (e.g. no SRTP where the callee
			 * requires it): end the callee's leg, refuse the caller. */
			leg_send_request(l, "BYE", ++l->local_cseq, NULL, NULL, NULL, 0, true,
					 NULL, NULL, NULL);
			snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "system");
			call_answer_a(call, 488, NULL, 0);
			call_release(call);
			return;
		}
	}
	call->cdr.answer_ms = call_now_ms();
	call->cdr.result = 200;
	call_credit_answered(call);
	if (call->pattern)
		pattern_call_answered(fraud_pattern(call->calls->ctx->fraud), call->pattern,
				      rf_clock_now());
	call_answer_a(call, 200, sdp, sdplen);
	call_arm(call, &call->duration_timer, call->calls->ctx->conf->max_duration * 1000u,
		 call_duration_reached);
	if (call->a->peer.tp == SIP_TP_UDP) {
		call->retx_ms = 500;
		call_arm(call, &call->retx_timer, call->retx_ms, call_retransmit_ok);
	}
}

void call_on_fork_response(void *arg, struct tsx *x, const struct sip_msg *resp, int err)
{
	struct leg *l = arg;
	struct call *call = l->call;
	char sdp[CALL_SDP_MAX];
	size_t sdplen = 0;

	(void)x;
	if (!resp) {
		if (l->trunk[0] &&
		    call_trunk_failover(l, err == ETIMEDOUT ? "no answer" : strerror(err)))
			return;
		call_fork_failed(call, l, err == ETIMEDOUT ? 408 : 503);
		return;
	}
	if (resp->status < 200) {
		if (resp->status == 100 || call->releasing || call->winner >= 0)
			return;
		call_fork_remember(l, resp);
		if (msg_has_sdp(resp))
			sdplen = call_media_from(call, l, resp->body, false, sdp, sizeof(sdp));
		call_answer_a(call, resp->status == 183 && !sdplen ? 180 : resp->status, sdp, sdplen);
		return;
	}
	if (resp->status < 300) {
		if (call->winner == (int)l->fork) {
			/* A retransmitted 2xx: our ACK was lost. */
			leg_send_request(l, "ACK", l->local_cseq, NULL, NULL, NULL, 0, false,
					 NULL, NULL, NULL);
		} else if (call->winner >= 0 || call->releasing) {
			/* Answered too late: another fork won. */
			call_fork_remember(l, resp);
			leg_send_request(l, "ACK", l->local_cseq, NULL, NULL, NULL, 0, false,
					 NULL, NULL, NULL);
			leg_send_request(l, "BYE", ++l->local_cseq, NULL, NULL, NULL, 0, true,
					 NULL, NULL, NULL);
		} else {
			call_fork_answered(call, l, resp);
		}
		return;
	}
	if ((resp->status == 401 || resp->status == 407) && l->trunk[0]) {
		if (call_trunk_reauth(l, resp))
			return;
		/* A provider's challenge is never passed to the phone, which
		 * would answer it with its own credentials. */
		call_fork_failed(call, l, 503);
		return;
	}
	call_fork_failed(call, l, resp->status);
}

struct leg *call_fork_alloc(struct call *call, const struct sip_peer *peer)
{
	struct leg *l = calloc(1, sizeof(*l));
	char cid[33];

	if (!l)
		return NULL;
	l->call = call;
	l->fork = call->nforks;
	l->peer = *peer;
	l->local_cseq = 1;
	call_random_hex(cid, 16);
	call_random_hex(l->local_tag, 8);
	l->call_id = strdup(cid);
	return l;
}

struct leg *call_fork_add(struct call *call, struct leg *l)
{
	if (!l->local_hdr || !l->remote_hdr || !l->call_id || !l->target ||
	    leg_link(call->calls, l) != 0) {
		leg_free(call->calls, l);
		return NULL;
	}
	call->b[call->nforks++] = l;
	return l;
}

static struct leg *call_fork_new(struct call *call, const struct binding *b)
{
	struct sip_ctx *ctx = call->calls->ctx;
	struct leg *l = call_fork_alloc(call, &b->peer);
	char buf[512], name[EXT_NAME_MAX + 1];
	size_t j = 0;

	if (!l)
		return NULL;
	/* The caller ID shown is the authenticated extension, never a header
	 * the caller chose; the name comes from the directory, minus quotes. */
	for (size_t i = 0; call->caller_name[i] && j + 1 < sizeof(name); i++) {
		if (call->caller_name[i] != '"' && call->caller_name[i] != '\\')
			name[j++] = call->caller_name[i];
	}
	name[j] = 0;
	snprintf(buf, sizeof(buf), "\"%s\" <sip:%s@%s>;tag=%s", name[0] ? name : call->cdr.caller,
		 call->cdr.caller, ctx->conf->realm, l->local_tag);
	l->local_hdr = strdup(buf);
	snprintf(buf, sizeof(buf), "<sip:%s@%s>", call->callee_ext, ctx->conf->realm);
	l->remote_hdr = strdup(buf);
	l->target = strdup(b->contact);
	return call_fork_add(call, l);
}

static void call_ring_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct call *call = arg;

	(void)fd;
	(void)what;
	call_cancel_forks(call, -1);
	call->cdr.result = 480;
	snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "timeout");
	call_answer_a(call, 480, NULL, 0);
	call_release(call);
}

static unsigned call_open_media(struct call *call, const struct sip_msg *m,
				char *offer, size_t *offerlen)
{
	struct calls *c = call->calls;
	int err;

	if (!msg_has_sdp(m))
		return 488; /* no late offer: the relay must know the ports first */
	err = relay_open(c->relay, &call->relay_session, call->relay_port);
	if (err == EAGAIN) {
		log_warn("media port pool exhausted: call refused with 503");
		return 503;
	}
	if (err) {
		/* ENOBUFS, EMFILE and the like pass: try again later. */
		log_warn("cannot open media for a call (%s): refused with 503", strerror(err));
		return 503;
	}
	call->relay_open = true;
	*offerlen = call_media_from(call, call->a, m->body, true, offer, CALL_SDP_MAX);
	return *offerlen ? 0 : 488;
}

bool call_begin(struct call *call, const struct sip_msg *m, const struct sip_peer *src,
		char *offer, size_t *offerlen)
{
	unsigned status;

	if (call_leg_a(call, m, src) != 0) {
		call_answer_a(call, 500, NULL, 0);
		call_release(call);
		return false;
	}
	call_answer_a(call, 100, NULL, 0);
	status = call_open_media(call, m, offer, offerlen);
	if (status) {
		snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "system");
		call_answer_a(call, status, NULL, 0);
		call_release(call);
		return false;
	}
	return true;
}

void call_ring(struct call *call)
{
	if (call->nforks == 0) {
		call_answer_a(call, 480, NULL, 0);
		call_release(call);
		return;
	}
	call_check_forks(call); /* every send may already have failed */
	if (call->releasing)
		return;
	call_arm(call, &call->ring_timer, call->calls->ctx->conf->ring_timeout * 1000u,
		 call_ring_timeout);
}

void call_start(struct call *call, const struct sip_msg *m,
		const struct sip_peer *src, struct loc_aor *aor)
{
	char offer[CALL_SDP_MAX], extra[64];
	size_t offerlen = 0;
	int mf = m->max_forwards < 0 ? 70 : m->max_forwards - 1;

	if (!call_begin(call, m, src, offer, &offerlen))
		return;
	snprintf(extra, sizeof(extra), "Max-Forwards: %d\r\n", mf);
	for (const struct binding *b = aor->head; b && call->nforks < CALL_MAX_FORKS; b = b->next) {
		struct leg *l = call_fork_new(call, b);

		if (!l)
			continue;
		if (leg_send_request(l, "INVITE", l->local_cseq, extra, "application/sdp", offer,
				     offerlen, true, &l->invite_tsx, call_on_fork_response, l) != 0)
			l->final_status = 503;
	}
	call_ring(call);
}
