/* SRTP (SDES, RFC 4568) on the legs of a call (P5, S15).
 *
 * Each phone gets its own key from Ringfence and the relay decrypts and
 * re-encrypts between the legs, so no key ever crosses from one leg to the
 * other, and RTP on one leg is bridged to SRTP on the other. What a leg
 * uses follows its extension's policy: `required` refuses an offer without
 * a usable key (488), `off` never offers one, `optional` mirrors the other
 * side. Keys only travel over TLS or inside the LAN: registration already
 * confines every phone to one or the other (a --remote extension outside
 * the LAN registers over TLS only), and an a=crypto line arriving any
 * other way is refused here as well. Nothing in this file logs a key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "guard/acl.h"
#include "guard/secevent.h"
#include "media/srtp.h"
#include "sip/call_priv.h"
#include "sip/sdp.h"

/* The suite we offer to a phone: the one every SDES phone supports. */
#define CALL_SRTP_OFFER_SUITE RELAY_SRTP_AES_CM_128_HMAC_SHA1_80
#define CALL_SRTP_OFFER_TAG 1u

static struct call_srtp *side_of(struct call *call, bool is_a)
{
	return &call->srtp[is_a ? 0 : 1];
}

static const char *side_ext(const struct call *call, bool is_a)
{
	return is_a ? call->cdr.caller : call->callee_ext;
}

static void srtp_refused_event(const struct call *call, const struct leg *from,
			       const char *reason)
{
	struct secev e;
	const char *ext = side_ext(call, from->is_a);

	secev_begin(&e, "srtp_refused");
	secev_src(&e, (const struct sockaddr *)&from->peer.addr, transport_name(from->peer.tp));
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_token(&e, "side", from->is_a ? "caller" : "callee");
	secev_token(&e, "reason", reason);
	secev_emit(&e);
}

/* A key that reached us in the clear, over the internet, is known to
 * whoever watched the wire: refuse rather than use it. */
static bool key_exposed(const struct call *call, const struct leg *from)
{
	const struct rf_conf *conf = call->calls->ctx->conf;

	return from->peer.tp != SIP_TP_TLS &&
	       !acl_is_lan((const struct sockaddr *)&from->peer.addr, conf->lan, conf->nlan);
}

/* The first a=crypto line of `md` we can run; with `suite` non-zero only
 * that suite (an answer must keep the suite we offered). */
static bool pick_crypto(const struct sdp_media *md, enum relay_srtp_suite suite,
			struct relay_crypto *key, unsigned *tag)
{
	for (unsigned i = 0; md && i < md->ncrypto; i++) {
		const struct sdp_crypto *c = &md->crypto[i];
		const char *why = NULL;

		if (media_srtp_parse_sdes(key, c->suite.p, c->suite.len, c->key.p, c->key.len,
					  &why) != 0)
			continue;
		if (suite && key->suite != suite) {
			media_srtp_wipe(key);
			continue;
		}
		*tag = c->tag;
		return true;
	}
	return false;
}

static bool proto_is_avp(const struct sdp_media *md)
{
	return md->proto.len == 7 && memcmp(md->proto.p, "RTP/AVP", 7) == 0;
}

/* Our key towards a side, made once per suite and kept for the call, so
 * a re-INVITE does not change what the phone decrypts with. */
static int ensure_our_key(struct call_srtp *s, enum relay_srtp_suite suite)
{
	int err;

	if (s->have_key && s->ours.suite == suite)
		return 0;
	media_srtp_wipe(&s->ours);
	s->have_key = false;
	err = media_srtp_generate(&s->ours, suite);
	if (err == 0)
		s->have_key = true;
	return err;
}

static void note_in_cdr(struct call *call)
{
	call->cdr.srtp_a = call->srtp[0].on;
	call->cdr.srtp_b = call->srtp[1].on;
	call->cdr.srtp = call->cdr.srtp_a && call->cdr.srtp_b;
}

static int set_leg_crypto(struct call *call, const struct leg *from, const struct relay_crypto *in)
{
	struct call_srtp *s = side_of(call, from->is_a);
	enum relay_leg leg = from->is_a ? RELAY_LEG_A : RELAY_LEG_B;

	return relay_set_crypto(call->calls->relay, call->relay_session, leg, in,
				in ? &s->ours : NULL);
}

unsigned call_srtp_from(struct call *call, const struct leg *from,
			const struct sdp_media *md, bool offer)
{
	struct call_srtp *s = side_of(call, from->is_a);
	enum relay_srtp_suite want = offer ? 0 : s->ours.suite;
	struct relay_crypto theirs;
	unsigned tag = 0;
	bool usable;
	int err = 0;

	if (md && md->ncrypto + md->ncrypto_refused > 0 && key_exposed(call, from)) {
		srtp_refused_event(call, from, "key_exposed");
		return 488;
	}
	/* An answer to a plain offer has nothing to take. */
	usable = s->policy != EXT_SRTP_OFF && (offer || s->offered) &&
		 pick_crypto(md, want, &theirs, &tag);
	if (!usable && s->policy == EXT_SRTP_REQUIRED) {
		srtp_refused_event(call, from,
				   md && md->ncrypto + md->ncrypto_refused > 0 ? "bad_crypto" : "required");
		return 488;
	}
	if (!usable && md && md->ncrypto + md->ncrypto_refused > 0 && s->policy != EXT_SRTP_OFF)
		log_info("call %u: no usable a=crypto line from the %s; its leg stays RTP",
			 call->id, from->is_a ? "caller" : "callee");
	if (usable && offer) {
		s->tag = tag;
		s->best_effort = proto_is_avp(md);
		err = ensure_our_key(s, theirs.suite);
	}
	if (err == 0)
		err = set_leg_crypto(call, from, usable ? &theirs : NULL);
	if (usable)
		media_srtp_wipe(&theirs);
	if (err) {
		log_warn("call %u: cannot set up SRTP for the %s (%s)", call->id,
			 from->is_a ? "caller" : "callee", strerror(err));
		return 488;
	}
	s->on = usable;
	note_in_cdr(call);
	return 0;
}

/* Whether our offer to side `to` carries a key: `required` always, `off`
 * never, `optional` when the offering side uses SRTP. */
static bool offer_srtp_to(const struct call *call, bool to_a)
{
	const struct call_srtp *to = &call->srtp[to_a ? 0 : 1];
	const struct call_srtp *other = &call->srtp[to_a ? 1 : 0];

	if (to->policy == EXT_SRTP_OFF)
		return false;
	return to->policy == EXT_SRTP_REQUIRED || other->on;
}

int call_srtp_towards(struct call *call, bool to_a, bool offer, const char **proto,
		      char *line, size_t linelen)
{
	struct call_srtp *s = side_of(call, to_a);
	bool srtp = offer ? offer_srtp_to(call, to_a) : s->on;
	unsigned tag = offer ? CALL_SRTP_OFFER_TAG : s->tag;
	int err;

	line[0] = 0;
	if (offer)
		s->offered = srtp;
	if (!srtp) {
		*proto = "RTP/AVP";
		return 0;
	}
	if (offer) {
		err = ensure_our_key(s, s->have_key ? s->ours.suite : CALL_SRTP_OFFER_SUITE);
		if (err)
			return err;
	}
	*proto = !offer && s->best_effort ? "RTP/AVP" : "RTP/SAVP";
	return media_srtp_crypto_line(&s->ours, tag, line, linelen) ? 0 : EINVAL;
}

void call_srtp_wipe(struct call *call)
{
	for (unsigned i = 0; i < 2; i++) {
		media_srtp_wipe(&call->srtp[i].ours);
		call->srtp[i].have_key = false;
	}
}
