/* Outbound calls over trunks (P4): the dial plan picks the trunk and the
 * number sent, the call limits apply (emergency calls excepted), and one
 * B leg goes to the provider. That leg shows the provider the extension's
 * caller ID and nothing of the PBX inside (no extension, name or address
 * of a phone), and answers the provider's digest challenge once with the
 * trunk's credentials. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/secret.h"
#include "fraud/numplan.h"
#include "guard/secevent.h"
#include "pbx/trunk_auth.h"
#include "pbx/trunks.h"
#include "sip/call_priv.h"
#include "sip/transaction.h"

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

static struct leg *trunk_leg_new(struct call *call, const struct trunk *t, const char *number,
				 const char *caller_id)
{
	struct sip_peer peer = {.tp = SIP_TP_UDP, .addrlen = t->destlen, .sock = -1};
	char buf[TRUNK_HOST_MAX + 160], from[TRUNK_HOST_MAX + 96], hostport[TRUNK_HOST_MAX + 12];
	struct leg *l;

	memcpy(&peer.addr, &t->dest, sizeof(t->dest));
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

	if (!call_begin(call, m, src, offer, &offerlen))
		return;
	trunk_extra(call, t, m, caller_id);
	l = trunk_leg_new(call, t, number, caller_id);
	call->b_offer = malloc(offerlen);
	if (call->b_offer) {
		memcpy(call->b_offer, offer, offerlen);
		call->b_offer_len = offerlen;
	}
	if (l && leg_send_request(l, "INVITE", l->local_cseq, call->b_extra, "application/sdp",
				  offer, offerlen, true, &l->invite_tsx, call_on_fork_response,
				  l) != 0)
		l->final_status = 503;
	call_ring(call);
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
	if (!r->trunk || !r->trunk->destlen || strcmp(r->trunk->rec.transport, "udp") != 0) {
		log_warn("route %u: trunk %s has no address to send a call to yet", rule->pos,
			 rule->trunk);
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
	if (rate)
		call_credit_start(call, rate);
	if (call_commit(call, m, src))
		call_start_trunk(call, m, src, r->trunk, r->number, caller->rec.caller_id);
	return 0;
}
