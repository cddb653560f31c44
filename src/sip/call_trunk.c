/* Outbound calls over trunks (P4): the dial plan picks the trunk and the
 * number sent, the call limits apply (emergency calls excepted), and one
 * B leg goes to the provider. That leg shows the provider the extension's
 * caller ID and nothing of the PBX inside (no extension, name or address
 * of a phone), and answers the provider's digest challenge once with the
 * trunk's credentials.
 *
 * The leg goes to the trunk's first address (its IP literal, or what its
 * host name resolved to, pbx/trunk_names.h) over the trunk's transport,
 * and to the next address when that one does not answer (RFC 3263 4.3).
 * Everything on the leg, the INVITE, its ACK, BYE and re-INVITEs, and
 * the provider's own requests in the dialog, uses that one flow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/secret.h"
#include "fraud/numplan.h"
#include "guard/secevent.h"
#include "pbx/trunk_auth.h"
#include "pbx/trunks.h"
#include "sip/call_priv.h"
#include "sip/transaction.h"
#include "sip/transport.h"

#define TRUNK_AUTH_HDR_MAX 1024

static void trunk_event(const char *event, const char *trunk, const char *reason)
{
	struct secev e;

	secev_begin(&e, event);
	secev_untrusted(&e, "trunk", trunk, strlen(trunk));
	secev_token(&e, "reason", reason);
	secev_emit(&e);
}

/* host, or host:port when the trunk names a port: what URIs towards it say. */
static void trunk_hostport(const struct trunk *t, char *out, size_t len)
{
	if (t->rec.port)
		snprintf(out, len, "%s:%u", t->rec.host, t->rec.port);
	else
		snprintf(out, len, "%s", t->rec.host);
}

/* Who the provider is told is calling: the extension's caller ID, else
 * the account the trunk knows us by, else nobody (RFC 3323 anonymous). */
static void trunk_from(const struct trunk *t, const char *caller_id, char *out, size_t len)
{
	if (caller_id[0])
		snprintf(out, len, "<sip:%s@%s>", caller_id, t->rec.host);
	else if (t->rec.username[0])
		snprintf(out, len, "<sip:%s@%s>", t->rec.username, t->rec.host);
	else
		snprintf(out, len, "<sip:anonymous@anonymous.invalid>");
}

/* The flow to the trunk's address i. TCP and TLS use a connection made
 * as the registration client makes its own: transport_connect shares one
 * per transport, address and name, so a trunk that registers carries its
 * calls on its registered connection, where the provider expects them,
 * and one that does not gets a connection of its own. TLS verifies the
 * certificate against the trunk's host name, also sent as SNI. */
static int trunk_flow(const struct sip_ctx *ctx, const struct trunk *t, unsigned i,
		      struct sip_peer *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->tp = trunk_transport(&t->rec);
	p->addr = t->resolved[i];
	p->addrlen = trunk_addr_len(&t->resolved[i]);
	p->sock = -1;
	if (p->tp == SIP_TP_UDP)
		return 0;
	err = transport_connect(ctx->tp, p->tp, (const struct sockaddr *)&p->addr, p->addrlen,
				t->rec.host, &p->conn_id);
	if (err) {
		log_warn("trunk %s: cannot open a %s connection for a call: %s", t->rec.name,
			 transport_name(p->tp),
			 err == EPROTONOSUPPORT ? "TLS client not available" : strerror(err));
		return err;
	}
	/* A BYE may follow the last message by as long as a call lasts: the
	 * connection must not idle out under it. */
	transport_conn_set_idle(ctx->tp, p->conn_id,
				ctx->conf->max_duration + SIP_STREAM_IDLE_TIMEOUT_S);
	return 0;
}

/* *errp: the flow could not be opened (the leg is built all the same, so
 * the call's record and answer come out as for any failed leg). */
static struct leg *trunk_leg_new(struct call *call, const struct trunk *t, const char *number,
				 const char *caller_id, int *errp)
{
	char buf[TRUNK_HOST_MAX + 160], from[TRUNK_HOST_MAX + 96], hostport[TRUNK_HOST_MAX + 12];
	struct sip_peer peer;
	struct leg *l;

	*errp = trunk_flow(call->calls->ctx, t, 0, &peer);
	l = call_fork_alloc(call, &peer);
	if (!l)
		return NULL;
	snprintf(l->trunk, sizeof(l->trunk), "%s", t->rec.name);
	trunk_hostport(t, hostport, sizeof(hostport));
	trunk_from(t, caller_id, from, sizeof(from));
	snprintf(buf, sizeof(buf), "%s;tag=%s", from, l->local_tag);
	l->local_hdr = strdup(buf);
	snprintf(buf, sizeof(buf), "<sip:%s@%s>", number, hostport);
	l->remote_hdr = strdup(buf);
	snprintf(buf, sizeof(buf), "sip:%s@%s", number, hostport);
	l->target = strdup(buf);
	return call_fork_add(call, l);
}

/* P-Asserted-Identity carries the caller ID too: providers that screen
 * the From of a trunk honour it as the network-asserted number. */
static void trunk_extra(struct call *call, const struct trunk *t, const struct sip_msg *m,
			const char *caller_id)
{
	int mf = m->max_forwards < 0 ? 70 : m->max_forwards - 1;
	int n = snprintf(call->b_extra, sizeof(call->b_extra), "Max-Forwards: %d\r\n", mf);

	if (caller_id[0] && n > 0 && (size_t)n < sizeof(call->b_extra))
		snprintf(call->b_extra + n, sizeof(call->b_extra) - (size_t)n,
			 "P-Asserted-Identity: <sip:%s@%s>\r\n", caller_id, t->rec.host);
}

void call_start_trunk(struct call *call, const struct sip_msg *m, const struct sip_peer *src,
		      const struct trunk *t, const char *number, const char *caller_id)
{
	char offer[CALL_SDP_MAX];
	size_t offerlen = 0;
	struct leg *l;
	int err;

	if (!call_begin(call, m, src, offer, &offerlen))
		return;
	trunk_extra(call, t, m, caller_id);
	l = trunk_leg_new(call, t, number, caller_id, &err);
	call->b_offer = malloc(offerlen);
	if (call->b_offer) {
		memcpy(call->b_offer, offer, offerlen);
		call->b_offer_len = offerlen;
	}
	if (l) {
		if (!err)
			err = leg_send_request(l, "INVITE", l->local_cseq, call->b_extra,
					       "application/sdp", offer, offerlen, true,
					       &l->invite_tsx, call_on_fork_response, l);
		/* An address the INVITE cannot even go to is one that does not
		 * answer: the next one is tried at once. */
		if (err && !call_trunk_failover(l, strerror(err)))
			l->final_status = 503;
	}
	call_ring(call);
}

bool call_trunk_failover(struct leg *l, const char *why)
{
	struct call *call = l->call;
	const struct sip_ctx *ctx = call->calls->ctx;
	const struct trunk *t = trunks_find(ctx->trunks, l->trunk);
	struct sip_peer next;
	char where[80], unsent[96];
	int err;

	if (call->releasing || call->winner >= 0 || l->answered || l->final_status || !t ||
	    !call->b_offer)
		return false;
	sip_peer_format(&l->peer, where, sizeof(where));
	while (++l->trunk_addr < t->nresolved) {
		if (trunk_flow(ctx, t, l->trunk_addr, &next) != 0)
			continue;
		log_info("trunk %s: a call found no one at %s (%s); trying the next address",
			 l->trunk, where, why);
		if (l->invite_tsx)
			tsx_client_detach(l->invite_tsx);
		l->invite_tsx = NULL;
		l->peer = next;
		l->auth_sent = false; /* another server: its own challenge */
		err = leg_send_request(l, "INVITE", ++l->local_cseq, call->b_extra,
				       "application/sdp", call->b_offer, call->b_offer_len, true,
				       &l->invite_tsx, call_on_fork_response, l);
		if (!err)
			return true;
		/* Not even sent there (no socket of its family, say): on. */
		sip_peer_format(&l->peer, where, sizeof(where));
		snprintf(unsent, sizeof(unsent), "cannot send: %s", strerror(err));
		why = unsent;
	}
	return false;
}

/* The trunk leg of call still waiting for its INVITE's answer on conn_id. */
static struct leg *trunk_leg_ringing_on(struct call *call, uint64_t conn_id)
{
	for (unsigned i = 0; i < call->nforks; i++) {
		struct leg *l = call->b[i];

		if (l->trunk[0] && l->peer.tp != SIP_TP_UDP && l->peer.conn_id == conn_id &&
		    l->invite_tsx && !l->final_status && !l->answered)
			return l;
	}
	return NULL;
}

void calls_trunk_conn_failed(struct calls *c, uint64_t conn_id, const char *reason,
			     const char *detail)
{
	struct call *next;
	char why[160];

	snprintf(why, sizeof(why), "%s: %s", reason, detail);
	for (struct call *call = c->head; call; call = next) {
		struct leg *l = trunk_leg_ringing_on(call, conn_id);

		next = call->next;
		if (!l || call->releasing)
			continue;
		/* A certificate that fails is an answer, not an outage: no
		 * other address is tried with it (as for registration). */
		if (strcmp(reason, "tls_verify_failed") != 0 && call_trunk_failover(l, why))
			continue;
		log_warn("trunk %s: call not placed: %s", l->trunk, why);
		trunk_event("trunk_call_failed", l->trunk, reason);
		if (l->invite_tsx)
			tsx_client_detach(l->invite_tsx);
		call_fork_failed(call, l, 503);
	}
}

/* The header line answering the provider's best challenge. */
static bool trunk_answer(const struct trunk *t, const struct leg *l, const struct sip_msg *resp,
			 char *out, size_t outlen)
{
	struct trunk_challenge ch;
	char cnonce[17];

	call_random_hex(cnonce, 8);
	return trunk_challenge_pick(resp, &ch) == 0 &&
	       trunk_auth_header(&ch, t->rec.username, t->rec.password, "INVITE", l->target, 1,
				 cnonce, out, outlen) == 0;
}

bool call_trunk_reauth(struct leg *l, const struct sip_msg *resp)
{
	struct call *call = l->call;
	const struct trunk *t = trunks_find(call->calls->ctx->trunks, l->trunk);
	char cred[TRUNK_AUTH_HDR_MAX], extra[TRUNK_AUTH_HDR_MAX + sizeof(((struct call *)0)->b_extra) + 32];
	bool sent;

	if (call->releasing || call->winner >= 0)
		return false;
	if (l->auth_sent) {
		/* Our answer was refused: the credentials are wrong. */
		trunk_event("trunk_auth_failed", l->trunk, "rejected");
		return false;
	}
	if (!t || !t->rec.username[0] || !call->b_offer) {
		trunk_event("trunk_auth_failed", l->trunk, "no_credentials");
		return false;
	}
	if (!trunk_answer(t, l, resp, cred, sizeof(cred))) {
		trunk_event("trunk_auth_failed", l->trunk, "unsupported_challenge");
		return false;
	}
	snprintf(extra, sizeof(extra), "%s%s", call->b_extra, cred);
	l->auth_sent = true;
	l->invite_tsx = NULL; /* the challenged transaction is over (its ACK is sent) */
	sent = leg_send_request(l, "INVITE", ++l->local_cseq, extra, "application/sdp",
				call->b_offer, call->b_offer_len, true, &l->invite_tsx,
				call_on_fork_response, l) == 0;
	secret_wipe(cred, sizeof(cred));
	secret_wipe(extra, sizeof(extra));
	return sent;
}

static void call_record_outbound(struct call *call, const struct trunk *t,
				 const struct num_info *num)
{
	snprintf(call->cdr.direction, sizeof(call->cdr.direction), "outbound");
	snprintf(call->cdr.e164, sizeof(call->cdr.e164), "%s", num->e164);
	snprintf(call->cdr.dest_class, sizeof(call->cdr.dest_class), "%s", num_class_name(num->cls));
	snprintf(call->cdr.trunk, sizeof(call->cdr.trunk), "%s", t->rec.name);
}

/* The system's and the caller's limits, then the trunk's. */
static unsigned trunk_admit(struct calls *c, const struct trunk *t, const char *ext,
			    const char **why)
{
	unsigned status = calls_admit(c, ext, NULL, why);

	if (status)
		return status;
	if (t->rec.max_calls && calls_count_of(&c->per_trunk, t->rec.name) >= t->rec.max_calls) {
		*why = "trunk";
		return 503;
	}
	return 0;
}

unsigned calls_trunk_route(struct calls *c, struct sip_str dialled, bool emergency,
			   struct trunk_route *r)
{
	const struct route_rule *rule;

	rule = route_table_lookup(trunks_routes(c->ctx->trunks), dialled.p, dialled.len, r->number,
				  sizeof(r->number));
	if (!rule)
		return emergency ? 503 : 404;
	r->trunk = trunks_find(c->ctx->trunks, rule->trunk);
	if (!r->trunk || !r->trunk->destlen) {
		log_warn("route %u: trunk %s has no address to send a call to yet%s", rule->pos,
			 rule->trunk, r->trunk ? " (its host name has not resolved)" : "");
		return 503;
	}
	return 0;
}

unsigned calls_trunk_out(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			 const struct dir_ext *caller, struct sip_str dialled,
			 const struct num_info *num, const struct trunk_route *r,
			 uint64_t pattern, const char **hangup)
{
	bool emergency = num->cls == NUM_EMERGENCY;
	const struct rate_record *rate = NULL;
	const char *why = NULL;
	bool counted;
	struct call *call;
	unsigned status = emergency ? 0 : trunk_admit(c, r->trunk, caller->rec.ext, &why);

	if (status) {
		call_security_event("call_limit", src, caller->rec.ext, why);
		*hangup = "limit";
		return status;
	}
	/* Emergency calls cost nothing and no cap may stop them. */
	if (!emergency && (status = call_credit_admit(c, src, caller->rec.ext, r->trunk->rec.name,
						      num->e164, &rate, hangup)) != 0)
		return status;
	call = call_new(c, m, &(struct call_parties){
		.caller = caller->rec.ext,
		.caller_name = caller->rec.name,
		.caller_srtp = call_srtp_policy(&caller->rec),
		.callee = dialled,
		.callee_ext = "",
		.callee_srtp = EXT_SRTP_OFF, /* providers speak plain RTP */
	});
	*hangup = "system";
	if (!call)
		return 500;
	call->emergency = emergency;
	call->pattern = pattern;
	call_record_outbound(call, r->trunk, num);
	counted = !rate || call_credit_start(call, rate);
	if (!call_commit(call, m, src))
		return 0;
	if (counted)
		call_start_trunk(call, m, src, r->trunk, r->number, caller->rec.caller_id);
	else
		call_refuse_committed(call, 503);
	return 0;
}
