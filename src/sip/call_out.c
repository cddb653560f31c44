/* Calls from an extension to a number outside the PBX (S11, S12): the
 * dialled number is normalised and classified, barred or let through,
 * and an emergency call is always let through and always told. Then the
 * dial plan picks a trunk (sip/call_trunk.c); with no route the call is
 * refused, and every refusal leaves its CDR. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/secret.h"
#include "fraud/fraud.h"
#include "fraud/pattern.h"
#include "guard/alert.h"
#include "guard/secevent.h"
#include "pbx/trunks.h"
#include "sip/call_priv.h"
#include "sip/context.h"
#include "sip/directory.h"
#include "sip/reply.h"
#include "sip/transport.h"

/* Where the extension called from, for alert texts. */
static void peer_text(const struct sip_peer *src, char *out, size_t len)
{
	char addr[64];

	sip_peer_format(src, addr, sizeof(addr));
	snprintf(out, len, "%s over %s", addr, transport_name(src->tp));
}

static void outbound_event(const char *event, const struct sip_peer *src,
			   const struct dir_ext *caller, const struct fraud_outbound *v)
{
	struct secev e;

	secev_begin(&e, event);
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "ext", caller->rec.ext, strlen(caller->rec.ext));
	secev_untrusted(&e, "number", v->num.e164, strlen(v->num.e164));
	secev_token(&e, "class", num_class_name(v->num.cls));
	if (v->num.country[0])
		secev_token(&e, "country", v->num.country);
	if (v->verdict != BAR_EMERGENCY)
		secev_token(&e, "reason", bar_verdict_name(v->verdict));
	if (v->verdict == BAR_BLACKLIST)
		secev_untrusted(&e, "list_reason", v->reason, strlen(v->reason));
	secev_emit(&e);
}

static void outbound_alert(struct calls *c, const struct sip_peer *src,
			   const struct dir_ext *caller, const struct fraud_outbound *v)
{
	char subject[ALERT_SUBJECT_MAX], text[ALERT_TEXT_MAX], from[96];
	bool emergency = v->verdict == BAR_EMERGENCY;

	peer_text(src, from, sizeof(from));
	snprintf(subject, sizeof(subject), "%s call from extension %s to %s",
		 emergency ? "Emergency" : "Barred", caller->rec.ext, v->num.e164);
	snprintf(text, sizeof(text),
		 "Extension %s dialled %s (%s%s%s) from %s.\n%s",
		 caller->rec.ext, v->num.e164, num_class_name(v->num.cls),
		 v->num.country[0] ? ", " : "", v->num.country, from,
		 emergency ? "Emergency calls are always let through and always reported.\n" :
		 v->verdict == BAR_SUSPENDED ? "The extension is suspended: see "
		 "'ringfence ext show' and 'ringfence ext resume'.\n" :
		 v->verdict == BAR_BLACKLIST ? "The number is on the destination blacklist.\n" :
		 "Its calling policy does not allow this number. If the call was "
		 "expected, change the policy with 'ringfence ext set'; if not, its "
		 "password may be known to someone else.\n");
	alert_raise(c->ctx->alerter, emergency ? ALERT_EMERGENCY : ALERT_CALL_BARRED,
		    subject, text);
}

/* Refusals by credit limits say why: a phone shows the phrase, and a
 * plain "Forbidden" would send the user to check their password. */
static const char *refusal_phrase(const char *hangup)
{
	if (strcmp(hangup, "credit") == 0)
		return "Spending Cap Reached";
	if (strcmp(hangup, "unrated") == 0)
		return "Destination Not Rated";
	return NULL;
}

static void outbound_refuse(struct calls *c, const struct sip_msg *m,
			    const struct sip_peer *src, const struct dir_ext *caller,
			    const struct fraud_outbound *v, unsigned status, const char *hangup)
{
	struct cdr_record r = {0};

	r.result = status;
	snprintf(r.hangup, sizeof(r.hangup), "%s", hangup);
	snprintf(r.direction, sizeof(r.direction), "outbound");
	if (v->verdict != BAR_INVALID) {
		snprintf(r.e164, sizeof(r.e164), "%s", v->num.e164);
		snprintf(r.dest_class, sizeof(r.dest_class), "%s", num_class_name(v->num.cls));
	}
	call_refuse_record_why(c, m, src, caller->rec.ext, &r, refusal_phrase(hangup));
}

/* ---- calling-pattern analysis (S14) ---- */

/* Suspend in the store (so it survives a restart and the CLI sees it)
 * and in the running directory. */
static void suspend_ext(struct sip_ctx *ctx, const char *ext, const char *why)
{
	struct ext_record rec;
	int err = store_ext_get(ctx->store, ext, &rec);

	if (!err && !rec.suspended) {
		rec.suspended = true;
		snprintf(rec.suspended_why, sizeof(rec.suspended_why), "%s", why);
		err = store_ext_update(ctx->store, &rec);
	}
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	if (err)
		log_error("cannot suspend extension %s in the database: %s", ext, strerror(err));
	directory_set_suspended(ctx->dir, ext, why);
}

static void anomaly_event(const struct pattern_anomaly *a, bool suspended)
{
	struct secev e;

	secev_begin(&e, "fraud_anomaly");
	secev_token(&e, "level", pattern_level_name(a->level));
	secev_token(&e, "kind", pattern_kind_name(a->kind));
	secev_token(&e, "scope", a->scope == PATTERN_EXT ? "ext" : "trunk");
	secev_untrusted(&e, "subject", a->subject, strlen(a->subject));
	secev_untrusted(&e, "ext", a->ext, strlen(a->ext));
	secev_untrusted(&e, "detail", a->reason, strlen(a->reason));
	if (suspended)
		secev_token(&e, "action", "suspended");
	secev_emit(&e);
}

static void on_anomaly(void *arg, const struct pattern_anomaly *a)
{
	struct sip_ctx *ctx = arg;
	char text[ALERT_TEXT_MAX], subject[ALERT_SUBJECT_MAX];
	bool suspend = a->level == PATTERN_CRITICAL && a->scope == PATTERN_EXT &&
		       ctx->conf->fraud_suspend_on_critical;

	if (suspend)
		suspend_ext(ctx, a->subject, a->reason);
	anomaly_event(a, suspend);
	pattern_anomaly_format(a, text, sizeof(text));
	snprintf(subject, sizeof(subject), "%s calling pattern on %s %s%s",
		 a->level == PATTERN_CRITICAL ? "Critical" : "Unusual",
		 a->scope == PATTERN_EXT ? "extension" : "trunk", a->subject,
		 suspend ? ": outbound calls suspended" : "");
	if (suspend)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "\nExtension %s may no longer call outside the PBX (emergency "
			 "numbers excepted) until 'ringfence ext resume %s'. Check whether "
			 "the calls were its owner's; if not, change its password with "
			 "'ringfence ext passwd'.\n", a->subject, a->subject);
	alert_raise(ctx->alerter, ALERT_FRAUD, subject, text);
}

void calls_fraud_tick(struct calls *c)
{
	if (c && c->ctx->fraud)
		pattern_tick(fraud_pattern(c->ctx->fraud), rf_clock_now(), on_anomaly, c->ctx);
}

/* Count and judge the call; false when that suspended the caller, who
 * then gets what any suspended extension gets. */
static bool pattern_admits(struct calls *c, const struct dir_ext *caller,
			   const struct fraud_outbound *v, const char *trunk, uint64_t *handle)
{
	struct sip_ctx *ctx = c->ctx;

	pattern_call_start(fraud_pattern(ctx->fraud), caller->rec.ext, trunk, &v->num,
			   rf_clock_now(), on_anomaly, ctx, handle);
	/* on_anomaly suspends through the directory entry `caller` is. */
	return !caller->rec.suspended;
}

/* Route and place a call barring let through, or refuse it with its
 * record. Pattern analysis counts it whether a route takes it or not: a
 * burst of calls nobody can carry is a burst all the same. Emergency
 * calls are not judged by it. */
static void outbound_place(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			   const struct dir_ext *caller, struct fraud_outbound *v,
			   struct sip_str dialled)
{
	bool emergency = v->verdict == BAR_EMERGENCY;
	const char *hangup = "no_route";
	struct trunk_route r = {0};
	uint64_t handle = 0;
	unsigned status = calls_trunk_route(c, dialled, emergency, &r);

	if (!emergency &&
	    !pattern_admits(c, caller, v, status ? "" : r.trunk->rec.name, &handle)) {
		v->verdict = BAR_SUSPENDED;
		outbound_event("call_barred", src, caller, v);
		status = 403;
		hangup = "barred";
	} else if (!status) {
		status = calls_trunk_out(c, m, src, caller, dialled, &v->num, &r, handle, &hangup);
		if (!status)
			return; /* the call ends the pattern's count itself */
	}
	pattern_call_end(fraud_pattern(c->ctx->fraud), handle, rf_clock_now());
	outbound_refuse(c, m, src, caller, v, status, hangup);
}

bool calls_outbound(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
		    const struct dir_ext *caller)
{
	struct fraud_outbound v;
	struct sip_uri ruri;

	if (!c->ctx->fraud || sip_uri_parse(m->ruri, &ruri) != 0 || ruri.user.len == 0 ||
	    directory_find(c->ctx->dir, ruri.user.p, ruri.user.len))
		return false;
	fraud_check_outbound(c->ctx->fraud, &caller->rec, ruri.user.p, ruri.user.len, &v);
	switch (v.verdict) {
	case BAR_INVALID:
		/* Neither an extension nor a number: what a typo gets. */
		outbound_refuse(c, m, src, caller, &v, 404, "invalid");
		return true;
	case BAR_EMERGENCY:
		/* Told before it is placed: the alert must go out even when no
		 * trunk can carry the call. */
		outbound_event("emergency_call", src, caller, &v);
		outbound_alert(c, src, caller, &v);
		outbound_place(c, m, src, caller, &v, ruri.user);
		return true;
	case BAR_ALLOW:
		outbound_place(c, m, src, caller, &v, ruri.user);
		return true;
	default:
		outbound_event("call_barred", src, caller, &v);
		outbound_alert(c, src, caller, &v);
		outbound_refuse(c, m, src, caller, &v, 403, "barred");
		return true;
	}
}
