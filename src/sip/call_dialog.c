/* Inside a call: requests we send on a leg, requests a phone sends in its
 * dialog (only from its own flow, S8), relaying re-INVITE/UPDATE/INFO to
 * the other side, and tear-down. */
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "guard/secevent.h"
#include "media/relay.h"
#include "sip/call_priv.h"
#include "sip/reply.h"
#include "sip/transaction.h"

/* ---- requests we send ---- */

struct req_buf {
	char p[SIP_MAX_MSG_SIZE];
	size_t len;
	bool overflow;
};

static void rb_printf(struct req_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rb_printf(struct req_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, sizeof(b->p) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->p) - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

/* Our address in Via and Contact. On a connection we opened to a trunk,
 * its local end, as the registration client says it: a provider reaches
 * that address over the same connection, the only flow the dialog
 * accepts (S8); a listener of ours would make it open another. */
static void leg_hostport(const struct leg *l, char *out, size_t len)
{
	const struct sip_ctx *ctx = l->call->calls->ctx;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (l->trunk[0] && l->peer.tp != SIP_TP_UDP &&
	    transport_conn_local_addr(ctx->tp, l->peer.conn_id, &ss, &sl) == 0)
		sockaddr_format((const struct sockaddr *)&ss, out, len);
	else if (transport_local_addr(ctx->tp, l->peer.tp, l->peer.addr.ss_family, &ss, &sl) != 0)
		snprintf(out, len, "%s:%u", ctx->conf->listen[0], ctx->conf->port);
	else
		sockaddr_format((const struct sockaddr *)&ss, out, len);
}

static const char *tp_upper(enum sip_transport tp)
{
	return tp == SIP_TP_TLS ? "TLS" : tp == SIP_TP_TCP ? "TCP" : "UDP";
}

int leg_send_request(struct leg *l, const char *method, uint32_t cseq,
		     const char *extra, const char *ctype, const char *body,
		     size_t bodylen, bool with_tsx, struct tsx **xp,
		     void (*cb)(void *, struct tsx *, const struct sip_msg *, int),
		     void *arg)
{
	static struct req_buf b;
	struct sip_ctx *ctx = l->call->calls->ctx;
	bool cancel = strcmp(method, "CANCEL") == 0;
	char hostport[80], branch[33];
	const char *to = l->remote_hdr;
	struct tsx *x = NULL;
	int err;

	b.len = 0;
	b.overflow = false;
	leg_hostport(l, hostport, sizeof(hostport));
	/* CANCEL reuses the INVITE's branch, so it matches its transaction. */
	if (cancel && l->invite_branch)
		snprintf(branch, sizeof(branch), "%s", l->invite_branch);
	else
		call_random_hex(branch, 12);
	rb_printf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n",
		  method, l->target, tp_upper(l->peer.tp), hostport, branch);
	rb_printf(&b, "%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n",
		  extra && strstr(extra, "Max-Forwards") ? "" : "Max-Forwards: 70\r\n",
		  l->local_hdr, to, l->call_id, cseq, cancel ? "CANCEL" : method);
	if (strcmp(method, "INVITE") == 0 || strcmp(method, "UPDATE") == 0)
		rb_printf(&b, "Contact: <sip:%s;transport=%s>\r\n", hostport, transport_name(l->peer.tp));
	if (ctx->conf->user_agent[0])
		rb_printf(&b, "User-Agent: %s\r\n", ctx->conf->user_agent);
	if (extra)
		rb_printf(&b, "%s", extra);
	if (ctype && bodylen)
		rb_printf(&b, "Content-Type: %s\r\n", ctype);
	rb_printf(&b, "Content-Length: %zu\r\n\r\n", bodylen);
	if (b.overflow || bodylen > sizeof(b.p) - b.len)
		return EMSGSIZE;
	if (bodylen)
		memcpy(b.p + b.len, body, bodylen);
	b.len += bodylen;
	if (strcmp(method, "INVITE") == 0) {
		free(l->invite_branch);
		l->invite_branch = strdup(branch);
	}
	if (!with_tsx)
		return transport_send(ctx->tp, &l->peer, b.p, b.len);
	err = tsx_client_send(&x, ctx->tsx, b.p, b.len, &l->peer, cb, arg);
	if (err)
		return err;
	if (xp)
		*xp = x;
	if (!cb)
		tsx_client_detach(x); /* fire and forget, with retransmissions */
	return 0;
}

/* ---- tear-down ---- */

static void leg_cancel(struct leg *l)
{
	struct tsx *x = l->invite_tsx;

	if (!x || l->final_status || l->answered)
		return;
	/* CANCEL only once a provisional arrived is the strict rule (RFC 3261
	 * 9.1); phones accept it earlier, and waiting would leave them ringing. */
	leg_send_request(l, "CANCEL", l->local_cseq, NULL, NULL, NULL, 0, true, NULL, NULL, NULL);
	l->final_status = 487;
}

void call_cancel_forks(struct call *call, int keep)
{
	for (unsigned i = 0; i < call->nforks; i++) {
		if ((int)i != keep)
			leg_cancel(call->b[i]);
	}
}

static struct leg *call_winner(struct call *call)
{
	return call->winner >= 0 ? call->b[call->winner] : NULL;
}

static void leg_bye(struct leg *l)
{
	leg_send_request(l, "BYE", ++l->local_cseq, NULL, NULL, NULL, 0, true, NULL, NULL, NULL);
}

void call_hangup(struct call *call, const char *why)
{
	struct leg *b = call_winner(call);

	if (call->releasing)
		return;
	if (!call->cdr.hangup[0])
		snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "%s", why);
	if (b) {
		if (strcmp(why, "caller") != 0)
			leg_bye(call->a);
		if (strcmp(why, "callee") != 0)
			leg_bye(b);
	} else {
		call_cancel_forks(call, -1);
		call_answer_a(call, strcmp(why, "cancel") == 0 ? 487 : 480, NULL, 0);
	}
	call_release(call);
}

/* ---- requests from the phones ---- */

static void call_refuse_spoof(struct sip_ctx *ctx, const struct sip_msg *m,
			      const struct sip_peer *src, const struct call *call,
			      const char *event, const char *reason)
{
	struct secev e;

	secev_begin(&e, event);
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "ext", call->cdr.caller, strlen(call->cdr.caller));
	secev_token(&e, "method", sip_method_name(m->method));
	secev_token(&e, "reason", reason);
	secev_emit(&e);
	reply_simple(ctx, m, src, 403, NULL);
}

static struct tsx *call_server_tsx(struct sip_ctx *ctx, const struct sip_msg *m,
				   const struct sip_peer *src)
{
	struct tsx *x = NULL;

	if (tsx_server_alloc(&x, ctx->tsx, m, src) != 0)
		return NULL;
	return x;
}

static void call_respond(struct sip_ctx *ctx, struct tsx *x, const struct sip_msg *m,
			 const struct sip_peer *src, unsigned status)
{
	ctx->tsx_cur = x;
	reply_simple(ctx, m, src, status, NULL);
	ctx->tsx_cur = NULL;
}

static void call_on_cancel(struct call *call, const struct sip_msg *m,
			   const struct sip_peer *src)
{
	struct sip_ctx *ctx = call->calls->ctx;

	call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 200);
	if (call->winner >= 0 || call->releasing)
		return; /* too late: the call is answered (RFC 3261 9.2) */
	call->cdr.result = 487;
	snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "cancel");
	call_hangup(call, "cancel");
}

static void call_on_bye(struct call *call, struct leg *from, const struct sip_msg *m,
			const struct sip_peer *src)
{
	struct sip_ctx *ctx = call->calls->ctx;

	call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 200);
	call_hangup(call, from->is_a ? "caller" : "callee");
}

void pending_clear(struct pending *p)
{
	if (p->server)
		tsx_server_set_end_cb(p->server, NULL, NULL);
	free(p->req_buf);
	memset(p, 0, sizeof(*p));
}

/* Answer the sender of the relayed request from the saved copy of it. */
static void call_reply_pending(struct call *call, unsigned status, const char *sdp,
			       size_t sdplen)
{
	static struct sip_msg m;
	struct sip_ctx *ctx = call->calls->ctx;
	struct pending *p = &call->pending;
	struct sip_parse_error perr;
	char hostport[80];

	if (sip_msg_parse(&m, p->req_buf, p->req_len, p->src.tp, &perr) != 0)
		return;
	ctx->tsx_cur = p->server;
	reply_start(ctx, &m, &p->src, status, NULL);
	if (p->is_invite && status < 300) {
		leg_hostport(p->from, hostport, sizeof(hostport));
		reply_header(ctx, "Contact: <sip:%s;transport=%s>", hostport, transport_name(p->src.tp));
	}
	reply_send_body(ctx, &p->src, "application/sdp", sdp, sdplen);
	ctx->tsx_cur = NULL;
}

static void pending_on_end(void *arg, struct tsx *x, int err)
{
	struct call *call = arg;

	(void)x;
	(void)err;
	call->pending.server = NULL;
}

/* The other leg answered a relayed request: answer the sender alike. */
static void pending_on_response(void *arg, struct tsx *x, const struct sip_msg *resp, int err)
{
	struct call *call = arg;
	struct pending *p = &call->pending;
	struct leg *other;
	char sdp[CALL_SDP_MAX];
	size_t sdplen = 0;
	unsigned status = resp ? resp->status : (err == ETIMEDOUT ? 408 : 503);

	(void)x;
	log_debug("call %u: relayed request answered %u", call->id, status);
	if (status < 200 || !p->from)
		return;
	other = p->from->is_a ? call_winner(call) : call->a;
	if (resp && other && p->is_invite && status < 300)
		leg_send_request(other, "ACK", other->local_cseq, NULL, NULL, NULL, 0, false,
				 NULL, NULL, NULL);
	if (resp && other && resp->body.len) {
		const struct sip_hdr *ct = sip_msg_hdr(resp, SIP_H_CONTENT_TYPE);

		if (ct && sip_str_ieq((struct sip_str){ct->value.p, ct->value.len < 15 ? ct->value.len : 15},
				      "application/sdp"))
			sdplen = call_media_from(call, other, resp->body, false, sdp, sizeof(sdp));
	}
	if (p->server)
		call_reply_pending(call, status, sdp, sdplen);
	pending_clear(p);
}

/* Headers that may cross from one leg to the other (S7): nothing that
 * names a host, a route or a product. */
static void call_copy_safe_headers(const struct sip_msg *m, char *out, size_t len)
{
	static const enum sip_hdr_id safe[] = {SIP_H_EVENT, SIP_H_SUBJECT};
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
		const struct sip_hdr *h = sip_msg_hdr(m, safe[i]);
		int n;

		if (!h || h->value.len > 256)
			continue;
		n = snprintf(out + o, len - o, "%.*s: %.*s\r\n", (int)h->name.len, h->name.p,
			     (int)h->value.len, h->value.p);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}

/* re-INVITE, UPDATE and INFO go to the other phone; its answer comes back. */
static void call_relay_request(struct call *call, struct leg *from, const struct sip_msg *m,
			       const struct sip_peer *src)
{
	struct sip_ctx *ctx = call->calls->ctx;
	struct leg *to = from->is_a ? call_winner(call) : call->a;
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_H_CONTENT_TYPE);
	bool invite = m->method == SIP_M_INVITE;
	bool sdp = ct && m->body.len && ct->value.len >= 15 &&
		   strncasecmp(ct->value.p, "application/sdp", 15) == 0;
	char body[CALL_SDP_MAX], extra[600], ctype[128];
	size_t blen = 0;
	struct tsx *x;

	log_debug("call %u: relaying %s from leg %c", call->id, sip_method_name(m->method),
		  from->is_a ? 'A' : 'B');
	if (!to || call->releasing) {
		call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 481);
		return;
	}
	if (call->pending.server || call->pending.from) {
		/* One relayed request at a time; glare gets 491 (RFC 3261 14.1). */
		call_respond(ctx, call_server_tsx(ctx, m, src), m, src, invite ? 491 : 500);
		return;
	}
	x = call_server_tsx(ctx, m, src);
	if (sdp) {
		blen = call_media_from(call, from, m->body, true, body, sizeof(body));
		if (!blen) {
			call_respond(ctx, x, m, src, 488);
			return;
		}
	} else if (m->body.len) {
		if (m->body.len > sizeof(body)) {
			call_respond(ctx, x, m, src, 413);
			return;
		}
		memcpy(body, m->body.p, m->body.len);
		blen = m->body.len;
	}
	snprintf(ctype, sizeof(ctype), "%.*s", ct ? (int)ct->value.len : 0, ct ? ct->value.p : "");
	call_copy_safe_headers(m, extra, sizeof(extra));
	call->pending = (struct pending){.server = x, .from = from, .is_invite = invite, .src = *src};
	call->pending.req_buf = malloc(m->len);
	if (!call->pending.req_buf) {
		pending_clear(&call->pending);
		call_respond(ctx, x, m, src, 500);
		return;
	}
	memcpy(call->pending.req_buf, m->buf, m->len);
	call->pending.req_len = m->len;
	if (x)
		tsx_server_set_end_cb(x, pending_on_end, call);
	if (leg_send_request(to, sip_method_name(m->method), ++to->local_cseq, extra,
			     ctype[0] ? ctype : NULL, body, blen, true, NULL,
			     pending_on_response, call) != 0) {
		call_reply_pending(call, 503, NULL, 0);
		pending_clear(&call->pending);
	}
}

static bool call_tags_match(const struct leg *l, const struct sip_msg *m)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
	struct sip_nameaddr na;

	return to && sip_nameaddr_parse(to->value, &na) == 0 && sip_str_eq(na.tag, l->local_tag);
}

bool calls_in_dialog(struct calls *c, const struct sip_msg *m, const struct sip_peer *src)
{
	struct strmap_node *n = strmap_find(&c->legs, m->call_id.p, m->call_id.len);
	struct sip_ctx *ctx = c->ctx;
	struct leg *l;
	struct call *call;

	if (!n)
		return false;
	l = strmap_entry(n, struct leg, node);
	call = l->call;
	if (!sip_peer_same_flow(&l->peer, src)) {
		if (m->method == SIP_M_ACK)
			return true;
		call_refuse_spoof(ctx, m, src, call, "indialog_spoof", "wrong_source");
		return true;
	}
	if (m->method == SIP_M_CANCEL) {
		if (l->is_a)
			call_on_cancel(call, m, src);
		else
			call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 481);
		return true;
	}
	if (!call_tags_match(l, m)) {
		if (m->method != SIP_M_ACK)
			call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 481);
		return true;
	}
	if (m->cseq <= l->remote_cseq && m->method != SIP_M_ACK) {
		call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 500);
		return true;
	}
	if (m->method != SIP_M_ACK)
		l->remote_cseq = m->cseq;
	switch (m->method) {
	case SIP_M_ACK:
		if (l->is_a && !call->acked) {
			call->acked = true;
			if (call->retx_timer)
				evtimer_del(call->retx_timer);
		}
		break;
	case SIP_M_BYE:
		call_on_bye(call, l, m, src);
		break;
	case SIP_M_INVITE:
	case SIP_M_UPDATE:
	case SIP_M_INFO:
		call_relay_request(call, l, m, src);
		break;
	case SIP_M_NOTIFY:
		/* Never relayed: NOTIFY check-sync reboots phones (S8). */
		call_refuse_spoof(ctx, m, src, call, "notify_blocked", "unsolicited");
		break;
	default:
		/* REFER and the rest: transfer is not offered, so it is refused
		 * rather than relayed blindly. */
		call_respond(ctx, call_server_tsx(ctx, m, src), m, src, 403);
		break;
	}
	return true;
}

