/* The B2BUA: call set-up, forking, answer, in-dialog relaying and tear-down.
 * See call.h for the model. Everything here runs on the signalling thread. */
#include "sip/call.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/strmap.h"
#include "core/clock.h"
#include "fraud/caller_rate.h"
#include "fraud/fraud.h"
#include "fraud/pattern.h"
#include "guard/secevent.h"
#include "media/relay.h"
#include "sip/call_priv.h"
#include "sip/location.h"
#include "sip/reply.h"
#include "sip/sdp.h"
#include "sip/transaction.h"
#include "store/store.h"

/* ---- small helpers ---- */

int64_t call_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

char *call_strdup(struct sip_str s)
{
	char *p = malloc(s.len + 1);

	if (p) {
		if (s.len)
			memcpy(p, s.p, s.len);
		p[s.len] = 0;
	}
	return p;
}

void call_random_hex(char *out, size_t bytes)
{
	secret_random_hex(out, bytes);
}

void call_security_event(const char *event, const struct sip_peer *src,
			 const char *ext, const char *reason)
{
	struct secev e;

	secev_begin(&e, event);
	if (src)
		secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	if (ext)
		secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_token(&e, "reason", reason);
	secev_emit(&e);
}

/* ---- live call counts per extension (S10) and per trunk (P4) ---- */

struct live_count {
	struct strmap_node node;
	unsigned n;
	char key[RF_MAX_EXT_LEN + 1]; /* an extension or a trunk name */
};

unsigned calls_count_of(const struct strmap *map, const char *key)
{
	struct strmap_node *n = strmap_find(map, key, strlen(key));

	return n ? strmap_entry(n, struct live_count, node)->n : 0;
}

static void count_add(struct strmap *map, const char *key, int delta)
{
	struct strmap_node *n;
	struct live_count *ec;

	if (!key[0])
		return; /* a number outside: nothing to count */
	n = strmap_find(map, key, strlen(key));
	if (!n) {
		if (delta < 0 || !(ec = calloc(1, sizeof(*ec))))
			return;
		snprintf(ec->key, sizeof(ec->key), "%s", key);
		strmap_insert(map, &ec->node, ec->key, strlen(ec->key));
	} else {
		ec = strmap_entry(n, struct live_count, node);
	}
	if (delta < 0 && ec->n < (unsigned)-delta)
		ec->n = 0;
	else
		ec->n = (unsigned)((int)ec->n + delta);
	if (ec->n == 0) {
		strmap_remove(map, &ec->node);
		free(ec);
	}
}

/* The slots a call holds: the system's, its extensions' and its trunk's. */
static void call_count(struct call *call, int delta)
{
	struct calls *c = call->calls;

	c->active = (unsigned)((int)c->active + delta);
	if (!call->inbound)
		count_add(&c->per_ext, call->cdr.caller, delta);
	count_add(&c->per_ext, call->callee_ext, delta);
	count_add(&c->per_trunk, call->cdr.trunk, delta);
}

/* ---- legs ---- */

void leg_free(struct calls *c, struct leg *l)
{
	if (!l)
		return;
	if (l->linked)
		strmap_remove(&c->legs, &l->node);
	if (l->invite_tsx)
		tsx_client_detach(l->invite_tsx);
	free(l->call_id);
	free(l->local_hdr);
	free(l->remote_hdr);
	free(l->target);
	free(l->invite_branch);
	free(l);
}

int leg_link(struct calls *c, struct leg *l)
{
	if (strmap_find(&c->legs, l->call_id, strlen(l->call_id)))
		return EEXIST;
	strmap_insert(&c->legs, &l->node, l->call_id, strlen(l->call_id));
	l->linked = true;
	return 0;
}

/* ---- the call object ---- */

static void call_timer_free(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}

static void call_free(struct call *call)
{
	struct calls *c = call->calls;

	call_timer_free(&call->ring_timer);
	call_timer_free(&call->duration_timer);
	call_timer_free(&call->retx_timer);
	if (call->a_invite)
		tsx_server_set_end_cb(call->a_invite, NULL, NULL);
	pending_clear(&call->pending);
	leg_free(c, call->a);
	for (unsigned i = 0; i < call->nforks; i++)
		leg_free(c, call->b[i]);
	if (call->counted)
		call_count(call, -1);
	if (call->pattern && c->ctx->fraud)
		pattern_call_end(fraud_pattern(c->ctx->fraud), call->pattern, rf_clock_now());
	if (call->prev)
		call->prev->next = call->next;
	else
		c->head = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call_srtp_wipe(call);
	free(call->a_invite_buf);
	free(call->ok_buf);
	free(call->b_offer);
	free(call);
}

static void call_queue_cdr(struct calls *c, const struct cdr_record *r)
{
	if (c->ncdr == c->capcdr) {
		size_t cap = c->capcdr ? c->capcdr * 2 : 16;
		struct cdr_record *p = realloc(c->cdrs, cap * sizeof(*p));

		if (!p) {
			log_error("calls: out of memory; a call detail record is lost");
			return;
		}
		c->cdrs = p;
		c->capcdr = cap;
	}
	c->cdrs[c->ncdr++] = *r;
}

/* The record is complete once the relay has sent the final counters (or
 * at once when the call never had media). */
static void call_finish(struct call *call)
{
	call->cdr.end_ms = call->cdr.end_ms ? call->cdr.end_ms : call_now_ms();
	if (call->cdr.answer_ms)
		call->cdr.duration_s = (unsigned)((call->cdr.end_ms - call->cdr.answer_ms) / 1000);
	call_credit_done(call);
	call_queue_cdr(call->calls, &call->cdr);
	call_free(call);
}

void call_release(struct call *call)
{
	if (call->releasing)
		return;
	call->releasing = true;
	call->cdr.end_ms = call_now_ms();
	call_credit_end(call);
	call_timer_free(&call->ring_timer);
	call_timer_free(&call->duration_timer);
	call_timer_free(&call->retx_timer);
	if (call->relay_open) {
		/* RELAY_EV_CLOSED brings the counters and finishes the call. */
		relay_close(call->calls->relay, call->relay_session);
		return;
	}
	call_finish(call);
}

static struct call *call_by_session(struct calls *c, uint32_t session)
{
	for (struct call *call = c->head; call; call = call->next) {
		if (call->relay_open && call->relay_session == session)
			return call;
	}
	return NULL;
}

static void calls_on_relay(void *arg, const struct relay_event *ev)
{
	struct calls *c = arg;
	struct call *call = call_by_session(c, ev->session);

	if (!call)
		return;
	if (ev->kind == RELAY_EV_NO_MEDIA) {
		call_hangup(call, "no_media");
		return;
	}
	call->cdr.packets_a = ev->stats.leg[RELAY_LEG_A].packets_in;
	call->cdr.bytes_a = ev->stats.leg[RELAY_LEG_A].bytes_in;
	call->cdr.packets_b = ev->stats.leg[RELAY_LEG_B].packets_in;
	call->cdr.bytes_b = ev->stats.leg[RELAY_LEG_B].bytes_in;
	call->cdr.dropped_foreign = ev->stats.leg[0].dropped_foreign + ev->stats.leg[1].dropped_foreign;
	call->cdr.lost = ev->stats.leg[0].lost + ev->stats.leg[1].lost;
	call->relay_open = false;
	if (call->releasing)
		call_finish(call);
}

/* ---- admission (S10) ---- */

unsigned calls_admit(struct calls *c, const char *caller, const char *callee,
		     const char **why)
{
	const struct rf_conf *conf = c->ctx->conf;
	time_t now = c->ctx->now;

	if (c->cps_second != now) {
		c->cps_second = now;
		c->cps_count = 0;
	}
	if (c->cps_count >= conf->max_cps) {
		*why = "cps";
		return 503;
	}
	if (c->active >= conf->max_calls) {
		*why = "system";
		return 503;
	}
	if (caller && calls_count_of(&c->per_ext, caller) >= conf->max_calls_per_ext) {
		*why = "caller";
		return 503;
	}
	if (callee && calls_count_of(&c->per_ext, callee) >= conf->max_calls_per_ext) {
		*why = "callee";
		return 486;
	}
	c->cps_count++;
	return 0;
}

/* ---- lifecycle entry points ---- */

/* An ended call keeps its transactions for 32 s: the table must hold what
 * max_cps calls a second leave behind, or calls fail at a fraction of that
 * rate with the CPU idle (docs/performance.md, "The call-rate stall"). */
static void calls_size_transactions(struct sip_ctx *ctx)
{
	if (!ctx->tsx)
		return;
	if (tsx_layer_set_max(ctx->tsx, tsx_cap_for_call_rate(ctx->conf->max_cps, NULL)) != 0)
		log_warn("calls: out of memory; the transaction table keeps its size");
	log_info("at most %u live SIP transactions, sized from [calls] max_cps = %u",
		 tsx_layer_max(ctx->tsx), ctx->conf->max_cps);
}

int calls_alloc(struct calls **cp, struct sip_ctx *ctx)
{
	struct calls *c = calloc(1, sizeof(*c));
	struct relay_config rc = {0};
	const struct rf_conf *conf = ctx->conf;
	int rc_err;

	if (!c)
		return ENOMEM;
	c->ctx = ctx;
	calls_size_transactions(ctx);
	c->sized_cps = conf->max_cps;
	if ((rc_err = strmap_init(&c->legs, 256)) != 0 ||
	    (rc_err = strmap_init(&c->per_ext, 64)) != 0 ||
	    (rc_err = strmap_init(&c->per_trunk, 16)) != 0 ||
	    (rc_err = caller_rate_alloc(&c->caller_rate)) != 0)
		goto out;
	if (sockaddr_parse_ip(conf->media_address, &rc.bind_addr, &rc.bind_len) != 0) {
		rc_err = EINVAL;
		goto out;
	}
	c->media_addr = rc.bind_addr;
	rc.port_min = (uint16_t)conf->rtp_port_min;
	rc.port_max = (uint16_t)conf->rtp_port_max;
	rc.no_media_timeout_s = conf->no_media_timeout;
	rc_err = relay_alloc(&c->relay, ctx->base, &rc, calls_on_relay, c);
	if (rc_err)
		goto out;
	if ((rc_err = calls_credit_init(c)) != 0) {
		relay_free(c->relay);
		goto out;
	}
	/* A set left by a daemon that died is no call of ours: the first
	 * flush empties it. */
	c->live_dirty = true;
	*cp = c;
	return 0;
out:
	log_error("calls: cannot start the media relay: %s", strerror(rc_err));
	strmap_destroy(&c->legs);
	strmap_destroy(&c->per_ext);
	strmap_destroy(&c->per_trunk);
	caller_rate_free(c->caller_rate);
	free(c);
	return rc_err;
}

int calls_reconfigure(struct calls *c)
{
	const struct rf_conf *conf = c->ctx->conf;

	/* Admission reads max_cps at every call; the transaction table
	 * must follow it, or a higher rate stalls on a full table. */
	if (conf->max_cps != c->sized_cps) {
		calls_size_transactions(c->ctx);
		c->sized_cps = conf->max_cps;
	}
	return relay_set_no_media_timeout(c->relay, conf->no_media_timeout);
}

/* The records of calls that ended and the live set of chargeable calls
 * go in one transaction: a call leaves the set as its record arrives, so
 * `ringfence spend` counts it once. */
void calls_flush(struct calls *c)
{
	int64_t now_ms = call_now_ms();
	bool live;
	int err;

	if (!c)
		return;
	live = calls_credit_live_due(c, now_ms);
	if (c->ncdr == 0 && !live)
		return;
	if ((err = store_begin(c->ctx->store)) != 0)
		return;
	for (size_t i = 0; i < c->ncdr; i++) {
		if ((err = store_cdr_add(c->ctx->store, &c->cdrs[i])) != 0)
			log_warn("calls: writing a call record failed (%s)", strerror(err));
	}
	if (live && (err = calls_credit_write_live(c, now_ms)) != 0)
		log_warn("calls: writing the calls in progress failed (%s)", strerror(err));
	if (store_commit(c->ctx->store) != 0) {
		store_rollback(c->ctx->store);
		c->live_dirty = c->live_dirty || live;
		return;
	}
	c->ncdr = 0;
}

void calls_free(struct calls *c)
{
	if (!c)
		return;
	while (c->head) {
		struct call *call = c->head;

		call_hangup(call, "system");
		if (c->head == call) {
			/* The relay's closing event will not come any more. */
			call->relay_open = false;
			call_finish(call);
		}
	}
	relay_free(c->relay);
	calls_flush(c);
	calls_credit_free(c);
	free(c->cdrs);
	strmap_destroy(&c->legs);
	strmap_destroy(&c->per_ext);
	strmap_destroy(&c->per_trunk);
	caller_rate_free(c->caller_rate);
	free(c);
}

unsigned calls_active(const struct calls *c)
{
	return c ? c->active : 0;
}

/* ---- a new call ---- */

static unsigned call_route(struct calls *c, const struct sip_msg *m,
			   struct sip_uri *ruri, const struct dir_ext **callee,
			   struct loc_aor **aor)
{
	if (sip_uri_parse(m->ruri, ruri) != 0 || ruri->user.len == 0 ||
	    ruri->user.len > RF_MAX_EXT_LEN)
		return 404;
	*callee = directory_find(c->ctx->dir, ruri->user.p, ruri->user.len);
	if (!*callee)
		return 404;
	*aor = location_aor(c->ctx->loc, ruri->user.p, ruri->user.len);
	if (!*aor || !(*aor)->head)
		return 480;
	return 0;
}

/* A refused attempt still gets its record (P8): who tried to call whom,
 * and what they were told. r carries what the caller knows (status,
 * hangup, and for a number outside, its class); the rest comes from m. */
void call_refuse_record(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			const char *caller, struct cdr_record *r)
{
	call_refuse_record_why(c, m, src, caller, r, NULL);
}

void call_refuse_record_why(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			    const char *caller, struct cdr_record *r, const char *reason)
{
	struct sip_uri u;

	reply_simple(c->ctx, m, src, r->result, reason);
	snprintf(r->caller, sizeof(r->caller), "%s", caller);
	if (!r->callee[0] && sip_uri_parse(m->ruri, &u) == 0)
		snprintf(r->callee, sizeof(r->callee), "%.*s",
			 (int)(u.user.len < sizeof(r->callee) ? u.user.len : sizeof(r->callee) - 1), u.user.p);
	snprintf(r->call_id, sizeof(r->call_id), "%.*s",
		 (int)(m->call_id.len < sizeof(r->call_id) ? m->call_id.len : sizeof(r->call_id) - 1),
		 m->call_id.p);
	r->start_ms = r->end_ms = call_now_ms();
	call_queue_cdr(c, r);
}

static void call_refuse(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			const char *caller, unsigned status, const char *hangup)
{
	struct cdr_record r = {0};

	r.result = status;
	snprintf(r.hangup, sizeof(r.hangup), "%s", hangup);
	call_refuse_record(c, m, src, caller, &r);
}

/* A --remote extension is always SRTP-only, whatever its stored policy. */
enum ext_srtp call_srtp_policy(const struct ext_record *r)
{
	return r->remote ? EXT_SRTP_REQUIRED : r->srtp;
}

struct call *call_new(struct calls *c, const struct sip_msg *m, const struct call_parties *p)
{
	struct call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->calls = c;
	call->id = ++c->next_id;
	call->a_invite_buf = malloc(m->len);
	if (!call->a_invite_buf) {
		free(call);
		return NULL;
	}
	memcpy(call->a_invite_buf, m->buf, m->len);
	call->a_invite_len = m->len;
	call->inbound = p->inbound;
	snprintf(call->cdr.caller, sizeof(call->cdr.caller), "%s", p->caller);
	snprintf(call->cdr.callee, sizeof(call->cdr.callee), "%.*s", (int)p->callee.len, p->callee.p);
	snprintf(call->callee_ext, sizeof(call->callee_ext), "%s", p->callee_ext);
	snprintf(call->caller_name, sizeof(call->caller_name), "%s", p->caller_name);
	call->srtp[0].policy = p->caller_srtp;
	call->srtp[1].policy = p->callee_srtp;
	snprintf(call->cdr.call_id, sizeof(call->cdr.call_id), "%.*s",
		 (int)m->call_id.len, m->call_id.p);
	call->cdr.start_ms = call_now_ms();
	call->winner = -1;
	call->next = c->head;
	if (c->head)
		c->head->prev = call;
	c->head = call;
	return call;
}

static void call_refuse_unanswerable(struct call *call, const struct sip_msg *m,
				     const struct sip_peer *src)
{
	reply_simple(call->calls->ctx, m, src, 503, NULL);
	call->cdr.result = 503;
	snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "system");
	call_release(call);
}

static void calls_on_a_invite_end(void *arg, struct tsx *x, int err)
{
	struct call *call = arg;

	(void)x;
	(void)err;
	call->a_invite = NULL;
}

bool call_commit(struct call *call, const struct sip_msg *m, const struct sip_peer *src)
{
	struct calls *c = call->calls;

	call->counted = true;
	call_count(call, 1);
	if (tsx_server_alloc(&call->a_invite, c->ctx->tsx, m, src) != 0) {
		/* Every answer to the caller goes through this transaction:
		 * without it (a full table) the call would ring unheard. */
		call_refuse_unanswerable(call, m, src);
		return false;
	}
	tsx_server_set_end_cb(call->a_invite, calls_on_a_invite_end, call);
	return true;
}

void call_refuse_committed(struct call *call, unsigned status)
{
	call->cdr.result = status;
	snprintf(call->cdr.hangup, sizeof(call->cdr.hangup), "system");
	call_answer_a(call, status, NULL, 0);
	call_release(call);
}

bool calls_new_invite_ok(struct calls *c, const struct sip_msg *m, const struct sip_peer *src,
			 const char *caller)
{
	if (strmap_find(&c->legs, m->call_id.p, m->call_id.len)) {
		/* A second INVITE in a Call-ID we already serve, without a tag:
		 * a merged or looped request (RFC 3261 8.2.2.2). */
		call_refuse(c, m, src, caller, 482, "system");
		return false;
	}
	if (m->max_forwards == 0) {
		call_refuse(c, m, src, caller, 483, "system");
		return false;
	}
	return true;
}

void calls_invite(struct calls *c, const struct sip_msg *m,
		  const struct sip_peer *src, const struct dir_ext *caller)
{
	struct sip_uri ruri;
	struct loc_aor *aor = NULL;
	const struct dir_ext *callee = NULL;
	const char *why = NULL;
	struct call *call;
	unsigned status;

	if (!calls_new_invite_ok(c, m, src, caller->rec.ext))
		return;
	if (calls_outbound(c, m, src, caller))
		return;
	status = call_route(c, m, &ruri, &callee, &aor);
	if (status) {
		call_refuse(c, m, src, caller->rec.ext, status, "system");
		return;
	}
	status = calls_admit(c, caller->rec.ext, aor->ext, &why);
	if (status) {
		call_security_event("call_limit", src, caller->rec.ext, why);
		call_refuse(c, m, src, caller->rec.ext, status, "limit");
		return;
	}
	call = call_new(c, m, &(struct call_parties){
		.caller = caller->rec.ext,
		.caller_name = caller->rec.name,
		.caller_srtp = call_srtp_policy(&caller->rec),
		.callee = ruri.user,
		.callee_ext = aor->ext,
		.callee_srtp = call_srtp_policy(&callee->rec),
	});
	if (!call) {
		call_refuse(c, m, src, caller->rec.ext, 500, "system");
		return;
	}
	if (call_commit(call, m, src))
		call_start(call, m, src, aor);
}
