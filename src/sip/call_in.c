/* Calls from the public network over a trunk (P4, S12). The server hands
 * over an INVITE only when its transport source is one of a trunk's
 * addresses (pbx/trunks.h); what the message says about where it comes
 * from is never looked at for that, so a stranger's INVITE naming a DID
 * meets the same authentication as any other.
 *
 * In order: the DID must ring an extension (404), then the caller is
 * judged: an anonymous caller when [inbound] reject_anonymous is set
 * (433), a number on the caller blacklist (603), a number over its rate
 * (486); then the trunk's max_calls and the system's limits (503), the
 * extension's own limit (486). Each refusal after the DID is a security
 * event inbound_refused with its reason. */
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "fraud/caller_rate.h"
#include "fraud/fraud.h"
#include "fraud/numplan.h"
#include "guard/secevent.h"
#include "pbx/trunks.h"
#include "sip/call_priv.h"
#include "sip/directory.h"

/* What the trunk's INVITE says about the call. */
struct inbound {
	const struct trunk *trunk;
	char caller[RF_MAX_EXT_LEN + 1]; /* E.164, else the caller's URI user, sanitised */
	bool caller_e164;
	bool anonymous;
	char did[NUM_E164_MAX + 1];
};

static const struct sip_hdr *hdr_named(const struct sip_msg *m, const char *name)
{
	for (unsigned i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id == SIP_H_OTHER && sip_str_ieq(m->hdrs[i].name, name))
			return &m->hdrs[i];
	}
	return NULL;
}

static bool uri_user_of(struct sip_str nameaddr, struct sip_uri *u)
{
	struct sip_nameaddr na;

	return sip_nameaddr_parse(nameaddr, &na) == 0 && sip_uri_parse(na.uri, u) == 0;
}

/* RFC 3323: "Privacy: id" (among ';'-separated values) asks that the
 * caller's identity be withheld. */
static bool privacy_id(const struct sip_msg *m)
{
	const struct sip_hdr *h = hdr_named(m, "Privacy");
	size_t i = 0;

	while (h && i < h->value.len) {
		size_t j = i, a, b;

		while (j < h->value.len && h->value.p[j] != ';')
			j++;
		for (a = i; a < j && (h->value.p[a] == ' ' || h->value.p[a] == '\t'); a++)
			;
		for (b = j; b > a && (h->value.p[b - 1] == ' ' || h->value.p[b - 1] == '\t'); b--)
			;
		if (sip_str_ieq((struct sip_str){h->value.p + a, b - a}, "id"))
			return true;
		i = j + 1;
	}
	return false;
}

/* A caller that is no number still names the call to the phone (its
 * From) and in the record: only characters that need no quoting in a
 * SIP header pass, so nothing the provider wrote can shape our headers. */
static void caller_token(struct sip_str user, char *out, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < user.len && n + 1 < len; i++) {
		char ch = user.p[i];

		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    ch == '+' || ch == '-' || ch == '.' || ch == '_')
			out[n++] = ch;
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, len, "anonymous");
}

/* The caller as the provider asserts it (P-Asserted-Identity, which a
 * trunk is trusted to set), else as its From says. */
static void inbound_caller(struct calls *c, const struct sip_msg *m, struct inbound *in)
{
	const struct sip_hdr *pai = hdr_named(m, "P-Asserted-Identity");
	const struct sip_hdr *from = sip_msg_hdr(m, SIP_H_FROM);
	struct sip_uri u = {0};
	struct num_info num;
	const char *why;

	if (!(pai && uri_user_of(pai->value, &u)) && !(from && uri_user_of(from->value, &u)))
		u.user = SIP_STR_NULL;
	in->anonymous = u.user.len == 0 || sip_str_ieq(u.user, "anonymous") || privacy_id(m);
	if (u.user.len <= NUM_DIALLED_MAX &&
	    numplan_classify(fraud_numplan(c->ctx->fraud), u.user.p, u.user.len, &num, &why) == 0 &&
	    num.e164[0] == '+') {
		snprintf(in->caller, sizeof(in->caller), "%s", num.e164);
		in->caller_e164 = true;
		return;
	}
	caller_token(u.user, in->caller, sizeof(in->caller));
}

/* The extension a user part names as a DID, or NULL. */
static const char *did_ext(struct calls *c, struct sip_str user, struct inbound *in)
{
	struct num_info num;
	const char *why, *ext;

	if (user.len == 0 || user.len > NUM_DIALLED_MAX ||
	    numplan_classify(fraud_numplan(c->ctx->fraud), user.p, user.len, &num, &why) != 0 ||
	    num.e164[0] != '+')
		return NULL;
	ext = trunks_did_ext(c->ctx->trunks, num.e164);
	if (ext)
		snprintf(in->did, sizeof(in->did), "%s", num.e164);
	return ext;
}

/* Providers put the DID in the Request-URI; some put their account there
 * and the DID in To. */
static const char *inbound_did(struct calls *c, const struct sip_msg *m, struct inbound *in)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
	struct sip_uri u;
	const char *ext = NULL;

	if (sip_uri_parse(m->ruri, &u) == 0)
		ext = did_ext(c, u.user, in);
	if (!ext && to && uri_user_of(to->value, &u))
		ext = did_ext(c, u.user, in);
	return ext;
}

static void inbound_event(const struct sip_peer *src, const struct inbound *in,
			  const char *reason)
{
	struct secev e;

	secev_begin(&e, "inbound_refused");
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "trunk", in->trunk->rec.name, strlen(in->trunk->rec.name));
	secev_untrusted(&e, "caller", in->caller, strlen(in->caller));
	if (in->did[0])
		secev_untrusted(&e, "did", in->did, strlen(in->did));
	secev_token(&e, "reason", reason);
	secev_emit(&e);
}

static void inbound_refuse(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			   const struct inbound *in, unsigned status, const char *hangup)
{
	struct cdr_record r = {0};

	r.result = status;
	snprintf(r.hangup, sizeof(r.hangup), "%s", hangup);
	snprintf(r.direction, sizeof(r.direction), "inbound");
	snprintf(r.trunk, sizeof(r.trunk), "%s", in->trunk->rec.name);
	snprintf(r.e164, sizeof(r.e164), "%s", in->did);
	call_refuse_record(c, m, src, in->caller, &r);
}

/* The caller checks of S12. 0, or the status to refuse with. */
static unsigned inbound_judge(struct calls *c, const struct inbound *in, const char **reason)
{
	const struct rf_conf *conf = c->ctx->conf;

	if (in->anonymous && conf->inbound_reject_anonymous) {
		*reason = "anonymous";
		return 433; /* Anonymity Disallowed, RFC 5079 */
	}
	if (in->caller_e164 && fraud_caller_listed(c->ctx->fraud, in->caller)) {
		*reason = "blacklisted";
		return 603;
	}
	if (!caller_rate_admit(c->caller_rate, in->caller, strlen(in->caller),
			       conf->inbound_caller_cpm, c->ctx->now)) {
		*reason = "caller_rate";
		return 486;
	}
	return 0;
}

/* The trunk's own cap, then the system's and the extension's. */
static unsigned inbound_admit(struct calls *c, const struct inbound *in, const char *ext,
			      const char **reason)
{
	const struct trunk_record *t = &in->trunk->rec;

	if (t->max_calls && calls_count_of(&c->per_trunk, t->name) >= t->max_calls) {
		*reason = "trunk_limit";
		return 503;
	}
	return calls_admit(c, NULL, ext, reason);
}

static void inbound_place(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			  const struct inbound *in, const struct dir_ext *callee,
			  struct loc_aor *aor)
{
	struct call *call = call_new(c, m, &(struct call_parties){
		.inbound = true,
		.caller = in->caller,
		.caller_name = "",
		.caller_srtp = EXT_SRTP_OFF, /* providers speak plain RTP */
		.callee = sip_str_from(callee->rec.ext),
		.callee_ext = aor->ext,
		.callee_srtp = call_srtp_policy(&callee->rec),
	});

	if (!call) {
		inbound_refuse(c, m, src, in, 500, "system");
		return;
	}
	snprintf(call->cdr.direction, sizeof(call->cdr.direction), "inbound");
	snprintf(call->cdr.trunk, sizeof(call->cdr.trunk), "%s", in->trunk->rec.name);
	snprintf(call->cdr.e164, sizeof(call->cdr.e164), "%s", in->did);
	if (call_commit(call, m, src))
		call_start(call, m, src, aor);
}

void calls_from_trunk(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
		      const struct trunk *trunk)
{
	struct inbound in = {.trunk = trunk};
	const struct dir_ext *callee;
	const char *ext, *reason = NULL, *hangup;
	struct loc_aor *aor;
	unsigned status;

	inbound_caller(c, m, &in);
	if (!calls_new_invite_ok(c, m, src, in.caller))
		return;
	ext = inbound_did(c, m, &in);
	callee = ext ? directory_find(c->ctx->dir, ext, strlen(ext)) : NULL;
	if (!callee) {
		inbound_refuse(c, m, src, &in, 404, "system");
		return;
	}
	hangup = "barred";
	status = inbound_judge(c, &in, &reason);
	if (!status) {
		hangup = "limit";
		status = inbound_admit(c, &in, ext, &reason);
	}
	if (status) {
		inbound_event(src, &in, reason);
		inbound_refuse(c, m, src, &in, status, hangup);
		return;
	}
	aor = location_aor(c->ctx->loc, ext, strlen(ext));
	if (!aor || !aor->head) {
		inbound_refuse(c, m, src, &in, 480, "system");
		return;
	}
	inbound_place(c, m, src, &in, callee, aor);
}
