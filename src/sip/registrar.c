#include "sip/registrar.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "guard/acl.h"
#include "guard/guard.h"
#include "guard/secevent.h"
#include "sip/location.h"
#include "sip/reply.h"

/* One contact of the request, after validation. */
struct staged {
	struct sip_str uri;
	uint32_t expires; /* 0: remove */
	struct binding *existing;
};

struct reg_req {
	struct staged c[SIP_MAX_CONTACTS_PER_REGISTER];
	size_t n;
	bool star;
	struct loc_aor *aor;
	const char *ext;
};

static int registrar_answer(struct sip_ctx *ctx, const struct sip_msg *m,
			    const struct sip_peer *src, unsigned status,
			    const char *reason)
{
	return reply_simple(ctx, m, src, status, reason);
}

/* The value of the Expires header, or the configured default. */
static bool registrar_header_expires(struct sip_ctx *ctx, const struct sip_msg *m,
				     uint32_t *out)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_EXPIRES);
	uint64_t v;

	*out = ctx->conf->default_expires;
	if (!h)
		return true;
	if (sip_parse_uint(h->value, SIP_MAX_EXPIRES, &v) != 0)
		return false;
	*out = (uint32_t)v;
	return true;
}

static void registrar_log_ok(const struct sip_msg *m, const struct sip_peer *src,
			     const char *ext, const char *event, struct sip_str uri,
			     uint32_t expires, const char *reason)
{
	struct secev e;
	const struct sip_hdr *ua = sip_msg_hdr(m, SIP_H_USER_AGENT);

	secev_begin(&e, event);
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_untrusted(&e, "contact", uri.p, uri.len);
	if (reason)
		secev_token(&e, "reason", reason);
	else
		secev_uint(&e, "expires", expires);
	if (ua)
		secev_untrusted(&e, "ua", ua->value.p, ua->value.len);
	secev_emit(&e);
}

void registrar_log_removed(const char *ext, const struct binding *b,
			   const char *reason, void *arg)
{
	struct secev e;

	(void)arg;
	secev_begin(&e, "register_removed");
	secev_src(&e, (const struct sockaddr *)&b->peer.addr, transport_name(b->peer.tp));
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_untrusted(&e, "contact", b->contact, strlen(b->contact));
	secev_token(&e, "reason", reason);
	secev_emit(&e);
}

/* The staging slot for a contact URI: a URI listed twice in one request
 * counts once, with the later expiry, so the request cannot act twice on
 * one binding. */
static struct staged *registrar_slot(struct reg_req *rr, struct sip_str uri)
{
	for (size_t i = 0; i < rr->n; i++) {
		if (sip_str_eq_str(rr->c[i].uri, uri))
			return &rr->c[i];
	}
	return &rr->c[rr->n++];
}

/* Read and bound every contact. Returns 0, or the status to answer. */
static unsigned registrar_stage(struct sip_ctx *ctx, const struct sip_msg *m,
				struct reg_req *rr, const char **why)
{
	struct sip_contact cs[SIP_MAX_CONTACTS_PER_REGISTER];
	uint32_t hdr_expires;
	size_t n = 0;

	if (sip_contacts_parse(m, cs, SIP_MAX_CONTACTS_PER_REGISTER, &n, &rr->star) != 0) {
		*why = "Bad Contact";
		return 400;
	}
	if (!registrar_header_expires(ctx, m, &hdr_expires)) {
		*why = "Bad Expires";
		return 400;
	}
	if (rr->star) {
		/* RFC 3261 10.3 step 6: '*' only with Expires: 0. */
		if (!sip_msg_hdr(m, SIP_H_EXPIRES) || hdr_expires != 0) {
			*why = "Contact * needs Expires: 0";
			return 400;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct staged *s = registrar_slot(rr, cs[i].na.uri);
		uint32_t e = cs[i].has_expires ? cs[i].expires : hdr_expires;

		if (cs[i].na.uri.len == 0 || cs[i].na.uri.len > SIP_MAX_CONTACT_URI_LEN) {
			*why = "Bad Contact";
			return 400;
		}
		if (e != 0 && e < ctx->conf->min_expires)
			return 423;
		if (e > ctx->conf->max_expires)
			e = ctx->conf->max_expires;
		s->uri = cs[i].na.uri;
		s->expires = e;
		s->existing = location_binding(rr->aor, s->uri.p, s->uri.len);
	}
	return 0;
}

/* RFC 3261 10.3 step 7: a binding from the same Call-ID is only updated by
 * a higher CSeq. This is also what makes a replayed REGISTER useless. */
static bool registrar_in_order(struct sip_ctx *ctx, const struct sip_msg *m,
			       const struct reg_req *rr)
{
	for (size_t i = 0; i < rr->n; i++) {
		const struct binding *b = rr->c[i].existing;

		if (b && sip_str_eq(m->call_id, b->call_id) && m->cseq <= b->cseq)
			return false;
	}
	return true;
}

static unsigned registrar_count_after(const struct reg_req *rr)
{
	unsigned count = rr->aor ? rr->aor->n : 0;

	for (size_t i = 0; i < rr->n; i++) {
		if (rr->c[i].existing && rr->c[i].expires == 0)
			count--;
		else if (!rr->c[i].existing && rr->c[i].expires > 0)
			count++;
	}
	return count;
}

static int registrar_apply_one(struct sip_ctx *ctx, const struct sip_msg *m,
			       const struct sip_peer *src, const struct reg_req *rr,
			       const struct staged *s)
{
	const struct sip_hdr *ua = sip_msg_hdr(m, SIP_H_USER_AGENT);
	struct binding_info bi = {
		.contact = s->uri,
		.user_agent = ua ? ua->value : SIP_STR_NULL,
		.call_id = m->call_id,
		.cseq = m->cseq,
		.expires_at = ctx->now + s->expires,
		.registered_at = ctx->now,
		.peer = src,
	};

	if (bi.user_agent.len > SIP_MAX_USER_AGENT_LEN)
		bi.user_agent.len = SIP_MAX_USER_AGENT_LEN;
	if (s->expires == 0) {
		if (s->existing) {
			registrar_log_ok(m, src, rr->ext, "register_removed", s->uri, 0, "unregister");
			location_remove(ctx->loc, location_aor(ctx->loc, rr->ext, strlen(rr->ext)),
					s->existing);
		}
		return 0;
	}
	/* A refresh of a binding from the same flow is routine: only new and
	 * moved bindings are events, or the log grows with every refresh. */
	if (!s->existing || !sip_peer_same_flow(&s->existing->peer, src))
		registrar_log_ok(m, src, rr->ext, "register_ok", s->uri, s->expires, NULL);
	return location_set(ctx->loc, rr->ext, &bi);
}

static void registrar_remove_all(struct sip_ctx *ctx, const struct sip_msg *m,
				 const struct sip_peer *src, struct reg_req *rr)
{
	while (rr->aor && rr->aor->head) {
		struct binding *b = rr->aor->head;

		registrar_log_ok(m, src, rr->ext, "register_removed",
				 sip_str_from(b->contact), 0, "unregister");
		location_remove(ctx->loc, rr->aor, b);
	}
}

static void registrar_send_ok(struct sip_ctx *ctx, const struct sip_msg *m,
			      const struct sip_peer *src, const char *ext)
{
	struct loc_aor *a = location_aor(ctx->loc, ext, strlen(ext));

	reply_start(ctx, m, src, 200, NULL);
	for (struct binding *b = a ? a->head : NULL; b; b = b->next) {
		long left = (long)(b->expires_at - ctx->now);

		reply_header(ctx, "Contact: <%s>;expires=%ld", b->contact, left > 0 ? left : 0);
	}
	reply_send(ctx, src);
}

static struct sip_str registrar_branch(const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_VIA);
	struct sip_via via;
	struct sip_str rest;

	if (!h || sip_via_parse(h->value, &via, &rest) != 0)
		return SIP_STR_NULL;
	return via.branch;
}

static bool registrar_to_matches(const struct sip_msg *m, const char *ext)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
	struct sip_nameaddr na;
	struct sip_uri u;

	if (!to || sip_nameaddr_parse(to->value, &na) != 0 || sip_uri_parse(na.uri, &u) != 0)
		return false;
	return sip_str_eq(u.user, ext);
}

/* ---- registration from a new network (S9) ---- */

static bool registrar_adds_binding(const struct reg_req *rr)
{
	for (size_t i = 0; i < rr->n; i++) {
		if (rr->c[i].expires > 0)
			return true;
	}
	return false;
}

/* The network of the first live binding when none is in the source's
 * network; false when the source's network is already known (or the
 * extension has no binding to compare with). */
static bool registrar_network_is_new(const struct reg_req *rr, const struct sip_peer *src,
				     struct acl_cidr *before)
{
	struct acl_cidr here, there;

	if (!rr->aor || !rr->aor->head ||
	    acl_network_of((const struct sockaddr *)&src->addr, &here) != 0)
		return false;
	for (const struct binding *b = rr->aor->head; b; b = b->next) {
		if (acl_network_of((const struct sockaddr *)&b->peer.addr, &there) == 0 &&
		    memcmp(&here, &there, sizeof(here)) == 0)
			return false;
	}
	return acl_network_of((const struct sockaddr *)&rr->aor->head->peer.addr, before) == 0;
}

/* Stolen credentials show up as the same extension registering from
 * somewhere else. Returns false when the registration must be refused. */
static bool registrar_network_allowed(struct sip_ctx *ctx, const struct sip_peer *src,
				      const struct reg_req *rr)
{
	const char *policy = ctx->conf->new_network_registration;
	char prev[INET6_ADDRSTRLEN + 8];
	struct acl_cidr before;
	struct secev e;

	if (strcmp(policy, "allow") == 0 || rr->star || !registrar_adds_binding(rr) ||
	    !registrar_network_is_new(rr, src, &before))
		return true;
	acl_cidr_format(&before, prev, sizeof(prev));
	secev_begin(&e, "register_new_network");
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "ext", rr->ext, strlen(rr->ext));
	secev_token(&e, "previous", prev);
	secev_token(&e, "action", strcmp(policy, "deny") == 0 ? "denied" : "accepted");
	secev_emit(&e);
	guard_new_network(ctx->guard, (const struct sockaddr *)&src->addr, rr->ext, prev,
			  strcmp(policy, "deny") == 0);
	return strcmp(policy, "deny") != 0;
}

void registrar_handle(struct sip_ctx *ctx, const struct sip_msg *m,
		      const struct sip_peer *src, const struct dir_ext *ext)
{
	struct reg_req rr = {.ext = ext->rec.ext};
	struct sip_str branch;
	const char *why = NULL;
	unsigned status;

	/* Credentials of one extension never register another (P1). */
	if (!registrar_to_matches(m, rr.ext)) {
		registrar_answer(ctx, m, src, 403, "To does not match credentials");
		return;
	}
	branch = registrar_branch(m);
	switch (location_request_order(ctx->loc, rr.ext, m->call_id, m->cseq, branch)) {
	case LOCATION_RETRANSMISSION:
		registrar_send_ok(ctx, m, src, rr.ext);
		return;
	case LOCATION_STALE:
		registrar_answer(ctx, m, src, 400, "Out of order CSeq");
		return;
	case LOCATION_NEW:
		break;
	}
	rr.aor = location_aor(ctx->loc, rr.ext, strlen(rr.ext));
	status = registrar_stage(ctx, m, &rr, &why);
	if (status == 423) {
		reply_start(ctx, m, src, 423, NULL);
		reply_header(ctx, "Min-Expires: %u", ctx->conf->min_expires);
		reply_send(ctx, src);
		return;
	}
	if (status) {
		registrar_answer(ctx, m, src, status, why);
		return;
	}
	if (!registrar_in_order(ctx, m, &rr)) {
		registrar_answer(ctx, m, src, 400, "Out of order CSeq");
		return;
	}
	if (!registrar_network_allowed(ctx, src, &rr)) {
		registrar_answer(ctx, m, src, 403, "Registration from a new network refused");
		return;
	}
	if (rr.star) {
		registrar_remove_all(ctx, m, src, &rr);
	} else {
		if (registrar_count_after(&rr) > ctx->conf->max_contacts) {
			registrar_answer(ctx, m, src, 403, "Too many contacts");
			return;
		}
		for (size_t i = 0; i < rr.n; i++) {
			if (registrar_apply_one(ctx, m, src, &rr, &rr.c[i]) != 0) {
				registrar_answer(ctx, m, src, 500, NULL);
				return;
			}
		}
	}
	if (location_note_request(ctx->loc, rr.ext, m->call_id, m->cseq, branch) != 0)
		log_warn("registrar: out of memory remembering the CSeq of %s", rr.ext);
	registrar_send_ok(ctx, m, src, rr.ext);
}
