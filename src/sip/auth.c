#include "sip/auth.h"

#include <string.h>

#include "core/conf.h"
#include "guard/access.h"
#include "guard/guard.h"
#include "guard/secevent.h"
#include "sip/location.h"
#include "sip/nonce_use.h"
#include "sip/reply.h"

static void auth_log_event(const struct sip_msg *m, const struct sip_peer *src,
			   struct sip_str user, const char *event,
			   const char *reason, const char *credentials)
{
	struct secev e;
	const struct sip_hdr *ua = sip_msg_hdr(m, SIP_H_USER_AGENT);

	secev_begin(&e, event);
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "ext", user.p, user.len);
	secev_token(&e, "method", sip_method_name(m->method));
	secev_token(&e, "reason", reason);
	/* A refused source that knew the password means leaked credentials. */
	if (credentials)
		secev_token(&e, "credentials", credentials);
	if (ua)
		secev_untrusted(&e, "ua", ua->value.p, ua->value.len);
	secev_emit(&e);
}

static void auth_log_failure(const struct sip_msg *m, const struct sip_peer *src,
			     struct sip_str user, const char *event, const char *reason)
{
	auth_log_event(m, src, user, event, reason, NULL);
}

static void auth_guard_failure(struct sip_ctx *ctx, const struct sip_peer *src,
			       struct sip_str user, bool known)
{
	guard_failure(ctx->guard, (const struct sockaddr *)&src->addr, transport_name(src->tp),
		      user.p, user.len, known, ctx->now);
}

/* The extension a request without credentials is after: the To user of a
 * REGISTER, the Request-URI user of anything else. */
static struct sip_str auth_target_user(const struct sip_msg *m)
{
	struct sip_str none = SIP_STR_NULL;
	struct sip_nameaddr na;
	struct sip_uri u;

	if (m->method == SIP_M_REGISTER) {
		const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);

		if (!to || sip_nameaddr_parse(to->value, &na) != 0 || sip_uri_parse(na.uri, &u) != 0)
			return none;
		return u.user;
	}
	return sip_uri_parse(m->ruri, &u) == 0 ? u.user : none;
}

/* No usable credentials: a bare challenge, or garbage. */
static void auth_note_uncredentialed(struct sip_ctx *ctx, const struct sip_msg *m,
				     const struct sip_peer *src, bool garbled)
{
	struct sip_str user;

	if (garbled) {
		auth_log_failure(m, src, SIP_STR_NULL, "auth_failed", "bad_request");
		auth_guard_failure(ctx, src, SIP_STR_NULL, false);
		return;
	}
	user = auth_target_user(m);
	guard_challenged(ctx->guard, (const struct sockaddr *)&src->addr, transport_name(src->tp),
			 user.p, user.len, ctx->now);
}

static const struct sip_hdr *auth_find_credentials(const struct sip_msg *m,
						   enum auth_kind kind,
						   const char *realm,
						   struct sip_digest_cred *c,
						   bool *garbled)
{
	enum sip_hdr_id id = kind == AUTH_WWW ? SIP_H_AUTHORIZATION : SIP_H_PROXY_AUTHORIZATION;
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	*garbled = false;
	/* A client may send credentials for several realms; use ours. */
	for (; h; h = sip_msg_next_hdr(m, h)) {
		if (sip_digest_cred_parse(h->value, c) != 0) {
			*garbled = true;
			continue;
		}
		if (sip_str_ieq(c->scheme, "Digest") && sip_str_eq(c->realm, realm))
			return h;
		*garbled = true;
	}
	return NULL;
}

static bool auth_offered(const struct sip_ctx *ctx, enum digest_alg alg)
{
	for (unsigned i = 0; i < ctx->conf->ndigest_algs; i++) {
		if (ctx->conf->digest_algs[i] == (unsigned)alg)
			return true;
	}
	return false;
}

/* The checks that do not depend on who the user is. Returns the reason for
 * refusal, or NULL. */
static const char *auth_check_form(struct sip_ctx *ctx, const struct sip_msg *m,
				   const struct sip_peer *src,
				   const struct sip_digest_cred *c,
				   enum digest_alg *alg, bool *stale)
{
	enum digest_nonce_state ns;

	if (c->username.len == 0 || c->response.len == 0 || c->uri.len == 0)
		return "bad_request";
	if (!digest_alg_parse(c->algorithm, alg) || !auth_offered(ctx, *alg))
		return "bad_request";
	/* The credentials must be for this very request (RFC 3261 22.4). */
	if (!sip_str_eq_str(c->uri, m->ruri))
		return "bad_request";
	ns = digest_nonce_check(ctx->secret, c->nonce, (uint32_t)ctx->now,
				ctx->conf->nonce_lifetime,
				(const struct sockaddr *)&src->addr);
	if (ns == DIGEST_NONCE_STALE) {
		*stale = true;
		return "stale_nonce";
	}
	if (ns != DIGEST_NONCE_OK)
		return "bad_nonce";
	return NULL;
}

/* Credentials that were right once but are used again: someone sends a
 * captured request's Authorization with a message of their own. */
static bool auth_replayed(struct sip_ctx *ctx, const struct sip_msg *m,
			  const struct sip_digest_cred *c, const struct dir_ext *e)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_VIA);
	struct sip_str branch = SIP_STR_NULL, rest;
	struct sip_via via;

	if (!ctx->nonces)
		return false;
	if (h && sip_via_parse(h->value, &via, &rest) == 0)
		branch = via.branch;
	/* A REGISTER the registrar already answered, sent again because the
	 * answer was lost or late: its record answers it, whatever the age of
	 * its nonce. */
	if (m->method == SIP_M_REGISTER && ctx->loc &&
	    location_request_order(ctx->loc, e->rec.ext, m->call_id, m->cseq, branch) ==
		    LOCATION_RETRANSMISSION)
		return false;
	return nonce_use(ctx->nonces, e->rec.ext, strlen(e->rec.ext), c->nonce, c->nc, branch) ==
	       NONCE_USE_REPLAYED;
}

enum auth_verdict auth_request(struct sip_ctx *ctx, const struct sip_msg *m,
			       const struct sip_peer *src, enum auth_kind kind,
			       const struct dir_ext **ext, bool *stale)
{
	struct sip_digest_cred c;
	enum digest_alg alg = DIGEST_ALG_MD5;
	const struct dir_ext *e;
	struct digest_ha1 fake;
	const struct digest_ha1 *ha1;
	enum access_verdict av;
	const char *why;
	bool garbled, ok;

	*stale = false;
	*ext = NULL;
	if (!auth_find_credentials(m, kind, ctx->conf->realm, &c, &garbled)) {
		auth_note_uncredentialed(ctx, m, src, garbled);
		return AUTH_CHALLENGE;
	}
	if (guard_pair_blocked(ctx->guard, (const struct sockaddr *)&src->addr, c.username.p,
			       c.username.len, ctx->now))
		return AUTH_SILENCE;
	e = directory_find(ctx->dir, c.username.p, c.username.len);
	why = auth_check_form(ctx, m, src, &c, &alg, stale);
	if (why) {
		auth_log_failure(m, src, c.username, "auth_failed", why);
		if (!*stale) /* an expired nonce is routine, not an attack */
			auth_guard_failure(ctx, src, c.username, e != NULL);
		return AUTH_CHALLENGE;
	}
	/* The fake HA1 is computed for every user, known or not, so the two
	 * paths cost the same time. */
	digest_ha1_fake(ctx->secret, c.username, &fake);
	ha1 = e ? &e->rec.ha1 : &fake;
	/* Verify before looking at the verdict so every path does the work. */
	ok = digest_verify(ha1, alg, m->method_str, &c);
	if (!e) {
		auth_log_failure(m, src, c.username, "auth_failed", "unknown_user");
		auth_guard_failure(ctx, src, c.username, false);
		return AUTH_CHALLENGE;
	}
	av = access_check(&e->rec.acl, e->rec.remote, (const struct sockaddr *)&src->addr,
			  src->tp, ctx->conf->lan, ctx->conf->nlan);
	if (av != ACCESS_OK) {
		auth_log_event(m, src, c.username, "acl_denied", access_reason(av),
			       ok ? "valid" : "invalid");
		auth_guard_failure(ctx, src, c.username, true);
		return AUTH_CHALLENGE;
	}
	if (!ok) {
		auth_log_failure(m, src, c.username, "auth_failed", "wrong_password");
		auth_guard_failure(ctx, src, c.username, true);
		return AUTH_CHALLENGE;
	}
	/* Not counted by the guard: the sender may be the phone itself,
	 * answering very late; a fresh challenge costs it one round trip and
	 * gives a replayer nothing. */
	if (auth_replayed(ctx, m, &c, e)) {
		auth_log_failure(m, src, c.username, "auth_failed", "replayed");
		return AUTH_CHALLENGE;
	}
	/* Locked: even the right password gets the wrong-password answer, so
	 * the guessers learn nothing; it is not counted against the phone. */
	if (guard_locked(ctx->guard, c.username.p, c.username.len, ctx->now)) {
		auth_log_failure(m, src, c.username, "auth_failed", "locked");
		return AUTH_CHALLENGE;
	}
	guard_success(ctx->guard, (const struct sockaddr *)&src->addr, c.username.p,
		      c.username.len, (int64_t)ctx->now + ctx->conf->max_expires);
	*ext = e;
	return AUTH_OK;
}

static void auth_raw(struct sip_ctx *ctx, const char *s)
{
	reply_raw(ctx, s, strlen(s));
}

/* One challenge line, appended piece by piece: printf formatting was a
 * visible part of what a challenge costs under a flood. */
static void auth_challenge_line(struct sip_ctx *ctx, const char *hdr,
				const char *nonce, unsigned alg, bool stale)
{
	auth_raw(ctx, hdr);
	auth_raw(ctx, ": Digest realm=\"");
	auth_raw(ctx, ctx->conf->realm);
	auth_raw(ctx, "\", nonce=\"");
	reply_raw(ctx, nonce, DIGEST_NONCE_LEN);
	auth_raw(ctx, "\", algorithm=");
	auth_raw(ctx, digest_alg_name(alg));
	auth_raw(ctx, ", qop=\"auth\"");
	if (stale)
		auth_raw(ctx, ", stale=true");
	auth_raw(ctx, "\r\n");
}

int auth_send_challenge(struct sip_ctx *ctx, const struct sip_msg *m,
			const struct sip_peer *src, enum auth_kind kind,
			bool stale)
{
	char nonce[DIGEST_NONCE_LEN];
	const char *hdr = kind == AUTH_WWW ? "WWW-Authenticate" : "Proxy-Authenticate";

	digest_nonce_make(ctx->secret, (uint32_t)ctx->now,
			  (const struct sockaddr *)&src->addr, nonce);
	reply_start(ctx, m, src, kind == AUTH_WWW ? 401 : 407, NULL);
	/* One challenge per algorithm, strongest first (RFC 8760 3). */
	for (unsigned i = 0; i < ctx->conf->ndigest_algs; i++)
		auth_challenge_line(ctx, hdr, nonce, ctx->conf->digest_algs[i], stale);
	return reply_send(ctx, src);
}
