/* RFC 3261 section 17 transactions. See transaction.h for the model. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/limits.h"
#include "core/log.h"
#include "sip/msg.h"
#include "sip/transaction.h"
#include "sip/transport.h"

/* Hash buckets per table: about one per 8 transactions the cap allows,
 * so a full table keeps chains short; powers of two. */
#define TSX_BUCKETS_MIN 4096u
#define TSX_BUCKETS_MAX 131072u
#define TSX_PER_BUCKET 8u
#define T1_DEFAULT_MS 500u
#define T2_DEFAULT_MS 4000u
#define T4_DEFAULT_MS 5000u
#define MAGIC_COOKIE "z9hG4bK"
#define MAX_METHOD_LEN 32u
/* A client INVITE in Proceeding waits for a final answer while the far
 * end rings. RFC 3261 gives it no timer; we bound it like a proxy's
 * Timer C (3 minutes at the default T1) so a silent peer cannot pin
 * memory forever. */
#define PROCEEDING_CAP_T1 360u

struct tsx_layer {
	struct event_base *base;  /* borrowed */
	struct transport *tp;     /* borrowed */
	unsigned t1, t2, t4;      /* milliseconds */
	struct tsx **srv;         /* server hash, mask + 1 buckets (owned) */
	struct tsx **cli;         /* client hash, mask + 1 buckets (owned) */
	uint32_t mask;
	struct tsx *all;          /* every allocated transaction, dying ones too */
	unsigned count;
	unsigned max;             /* cap on count */
	const struct timeval *common_64t1; /* libevent's, for 64*T1 (borrowed) */
	const struct timeval *common_t4;   /* libevent's, for T4 (borrowed) */
	unsigned long refused;    /* at the cap, since the last warning */
	time_t warned;            /* second of the last warning */
};

struct tsx_key {
	struct sip_str branch;
	struct sip_str host; /* sent-by host; server side only */
	uint16_t port;
	struct sip_str method;
};

struct tsx {
	struct tsx *hnext;          /* hash chain (live only) */
	struct tsx *anext, *aprev;  /* layer->all */
	struct tsx_layer *l;        /* borrowed */
	enum tsx_kind kind;
	enum tsx_state state;
	bool reliable;
	bool linked;
	struct sip_peer peer;
	struct event retrans;       /* A, E, G */
	struct event timeout;       /* B, C-like cap, D, F, H, I, J, K, L, M */
	unsigned retrans_ms;
	unsigned last_status;

	tsx_client_cb ccb;
	tsx_end_cb ecb;
	void *arg;                  /* borrowed: the owner's */

	char branch[SIP_MAX_BRANCH_LEN];
	size_t branch_len;
	char host[SIP_MAX_SENT_BY_LEN];
	size_t host_len;
	uint16_t port;
	char method[MAX_METHOD_LEN];
	size_t method_len;

	char *resp;                 /* server: last response sent (owned) */
	size_t resp_len;
	size_t req_len;             /* client: the request, below */
	char req[];
};

static bool is_server(const struct tsx *x)
{
	return x->kind == TSX_SERVER_INVITE || x->kind == TSX_SERVER_NON_INVITE;
}

/* ---- keys and hashing ---- */

static uint32_t key_hash(const struct tsx_layer *l, struct sip_str branch,
			 struct sip_str method)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < branch.len; i++)
		h = (h ^ (uint8_t)branch.p[i]) * 16777619u;
	for (size_t i = 0; i < method.len; i++)
		h = (h ^ (uint8_t)method.p[i]) * 16777619u;
	return h & l->mask;
}

static bool str_eq(const char *a, size_t alen, struct sip_str b)
{
	return alen == b.len && memcmp(a, b.p, alen) == 0;
}

static bool str_ieq(const char *a, size_t alen, struct sip_str b)
{
	return alen == b.len && strncasecmp(a, b.p, alen) == 0;
}

/* The top Via of m: branch (with the RFC 3261 cookie) and sent-by. */
static int key_from_via(const struct sip_msg *m, struct tsx_key *k)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_VIA);
	struct sip_via via;
	struct sip_str rest;

	if (!h || sip_via_parse(h->value, &via, &rest) != 0)
		return EINVAL;
	if (via.branch.len <= sizeof(MAGIC_COOKIE) - 1 ||
	    via.branch.len > SIP_MAX_BRANCH_LEN ||
	    memcmp(via.branch.p, MAGIC_COOKIE, sizeof(MAGIC_COOKIE) - 1) != 0)
		return EINVAL;
	if (via.host.len == 0 || via.host.len > SIP_MAX_SENT_BY_LEN)
		return EINVAL;
	k->branch = via.branch;
	k->host = via.host;
	k->port = via.port;
	if (k->port == 0)
		k->port = sip_str_ieq(via.transport, "TLS") ? 5061 : 5060;
	return 0;
}

static int server_key(const struct sip_msg *req, struct tsx_key *k)
{
	if (!req->is_request || key_from_via(req, k))
		return EINVAL;
	/* 17.2.3: the ACK for a non-2xx final response matches the INVITE
	 * transaction; CANCEL has its own. */
	if (req->method == SIP_M_ACK)
		k->method = sip_str_from("INVITE");
	else
		k->method = req->method_str;
	if (k->method.len == 0 || k->method.len > MAX_METHOD_LEN)
		return EINVAL;
	return 0;
}

static struct tsx *server_find(struct tsx_layer *l, const struct tsx_key *k)
{
	struct tsx *x;

	for (x = l->srv[key_hash(l, k->branch, k->method)]; x; x = x->hnext)
		if (str_eq(x->branch, x->branch_len, k->branch) &&
		    str_eq(x->method, x->method_len, k->method) &&
		    x->port == k->port &&
		    str_ieq(x->host, x->host_len, k->host))
			return x;
	return NULL;
}

static struct tsx *client_find(struct tsx_layer *l, const struct tsx_key *k)
{
	struct tsx *x;

	for (x = l->cli[key_hash(l, k->branch, k->method)]; x; x = x->hnext)
		if (str_eq(x->branch, x->branch_len, k->branch) &&
		    str_eq(x->method, x->method_len, k->method))
			return x;
	return NULL;
}

static struct tsx **bucket_of(struct tsx *x)
{
	struct sip_str b = { x->branch, x->branch_len };
	struct sip_str m = { x->method, x->method_len };
	unsigned i = key_hash(x->l, b, m);

	return is_server(x) ? &x->l->srv[i] : &x->l->cli[i];
}

static void hash_link(struct tsx *x)
{
	struct tsx **head = bucket_of(x);

	x->hnext = *head;
	*head = x;
	x->linked = true;
}

static void hash_unlink(struct tsx *x)
{
	struct tsx **pp;

	if (!x->linked)
		return;
	for (pp = bucket_of(x); *pp; pp = &(*pp)->hnext) {
		if (*pp == x) {
			*pp = x->hnext;
			break;
		}
	}
	x->hnext = NULL;
	x->linked = false;
}

/* ---- life cycle ---- */

static void tsx_free(struct tsx *x)
{
	struct tsx_layer *l = x->l;

	hash_unlink(x);
	event_del(&x->retrans);
	event_del(&x->timeout);
	if (x->aprev)
		x->aprev->anext = x->anext;
	else
		l->all = x->anext;
	if (x->anext)
		x->anext->aprev = x->aprev;
	l->count--;
	free(x->resp);
	free(x);
}

static void deferred_free(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tsx_free(arg);
}

/* Terminated: invisible at once, freed on the next loop pass so the
 * caller's pointer stays valid until it returns to the loop. */
static void tsx_terminate(struct tsx *x)
{
	if (x->state == TSX_TERMINATED)
		return;
	x->state = TSX_TERMINATED;
	hash_unlink(x);
	event_del(&x->retrans);
	event_del(&x->timeout);
	event_assign(&x->timeout, x->l->base, -1, 0, deferred_free, x);
	event_active(&x->timeout, EV_TIMEOUT, 0);
}

static struct timeval ms_tv(unsigned ms)
{
	struct timeval tv = { ms / 1000u, (long)(ms % 1000u) * 1000 };

	return tv;
}

/* Almost every transaction ends by waiting 64*T1 or T4. In libevent's
 * timer heap each of those costs a walk of log2(timers) scattered cache
 * lines, and an ended call leaves three 32 s waits behind, so at a few
 * thousand calls/s the heap held hundreds of thousands of timers and its
 * upkeep was most of the signalling thread's time. Timers of one fixed
 * duration expire in the order they were added: libevent's common
 * timeouts keep each such group in a FIFO queue, added and removed in
 * constant time. */
static void arm(struct tsx_layer *l, struct event *ev, unsigned ms)
{
	struct timeval tv = ms_tv(ms);

	if (ms == 64u * l->t1 && l->common_64t1)
		evtimer_add(ev, l->common_64t1);
	else if (ms == l->t4 && l->common_t4)
		evtimer_add(ev, l->common_t4);
	else
		evtimer_add(ev, &tv);
}

static void init_common_timeouts(struct tsx_layer *l)
{
	struct timeval tv = ms_tv(64u * l->t1);

	/* NULL (out of memory) only costs speed: arm() then uses the heap. */
	l->common_64t1 = event_base_init_common_timeout(l->base, &tv);
	tv = ms_tv(l->t4);
	l->common_t4 = event_base_init_common_timeout(l->base, &tv);
}

static unsigned t1x64(const struct tsx_layer *l)
{
	return 64u * l->t1;
}

/* Timers I, J, K (and D) are zero over reliable transports. */
static unsigned wait_time(const struct tsx *x, unsigned unreliable_ms)
{
	return x->reliable ? 0 : unreliable_ms;
}

static void retrans_fired(evutil_socket_t fd, short what, void *arg);
static void timeout_fired(evutil_socket_t fd, short what, void *arg);

/* A full table refuses every new transaction, so whatever needed one
 * fails (a call gets 503): say so, but at most once a second. */
static void refuse_at_cap(struct tsx_layer *l)
{
	time_t now = time(NULL);

	l->refused++;
	if (now == l->warned)
		return;
	log_warn("transaction table full (%u live, the cap): %lu new transactions refused "
		 "since the last warning", l->count, l->refused);
	l->warned = now;
	l->refused = 0;
}

static int tsx_new(struct tsx **xp, struct tsx_layer *l, enum tsx_kind kind,
		   const struct tsx_key *k, const struct sip_peer *peer,
		   const void *req, size_t req_len)
{
	struct tsx *x;

	if (l->count >= l->max) {
		refuse_at_cap(l);
		return EAGAIN;
	}
	x = calloc(1, sizeof(*x) + req_len);
	if (!x)
		return ENOMEM;
	x->l = l;
	x->kind = kind;
	x->peer = *peer;
	x->reliable = peer->tp != SIP_TP_UDP;
	memcpy(x->branch, k->branch.p, k->branch.len);
	x->branch_len = k->branch.len;
	if (k->host.len) {
		memcpy(x->host, k->host.p, k->host.len);
		x->host_len = k->host.len;
	}
	x->port = k->port;
	memcpy(x->method, k->method.p, k->method.len);
	x->method_len = k->method.len;
	if (req_len)
		memcpy(x->req, req, req_len);
	x->req_len = req_len;
	evtimer_assign(&x->retrans, l->base, retrans_fired, x);
	evtimer_assign(&x->timeout, l->base, timeout_fired, x);

	x->anext = l->all;
	if (l->all)
		l->all->aprev = x;
	l->all = x;
	l->count++;
	hash_link(x);
	*xp = x;
	return 0;
}

static int tsx_send(struct tsx *x, const void *buf, size_t len)
{
	return transport_send(x->l->tp, &x->peer, buf, len);
}

/* ---- layer ---- */

static unsigned layer_cap(const struct tsx_timers *timers)
{
	unsigned max = timers ? timers->max_live : 0;

	if (max == 0)
		return SIP_MAX_TRANSACTIONS;
	return max > SIP_MAX_TRANSACTIONS_CEIL ? SIP_MAX_TRANSACTIONS_CEIL : max;
}

static uint32_t buckets_for(unsigned max)
{
	uint32_t n = TSX_BUCKETS_MIN;

	while (n < TSX_BUCKETS_MAX && (uint64_t)n * TSX_PER_BUCKET < max)
		n <<= 1;
	return n;
}

/* What an ended call leaves behind, per new call per second: the caller's
 * INVITE (Accepted, Timer L), the callee's INVITE (Accepted, Timer M) and
 * the BYE we answered (Completed, Timer J) each wait 64*T1; the BYE we sent
 * waits T4 (Timer K). A quarter more covers calls being set up, in-call
 * requests and calls that end the other way round. */
unsigned tsx_cap_for_call_rate(unsigned calls_per_s, const struct tsx_timers *timers)
{
	uint64_t t1 = timers && timers->t1_ms ? timers->t1_ms : T1_DEFAULT_MS;
	uint64_t t4 = timers && timers->t4_ms ? timers->t4_ms : T4_DEFAULT_MS;
	uint64_t per_call_ms = 3u * 64u * t1 + t4;
	uint64_t need = (uint64_t)calls_per_s * per_call_ms / 1000u;

	need += need / 4u;
	if (need < SIP_MAX_TRANSACTIONS)
		return SIP_MAX_TRANSACTIONS;
	return need > SIP_MAX_TRANSACTIONS_CEIL ? SIP_MAX_TRANSACTIONS_CEIL : (unsigned)need;
}

int tsx_layer_alloc(struct tsx_layer **lp, struct event_base *base,
		    struct transport *tp, const struct tsx_timers *timers)
{
	struct tsx_layer *l;

	if (!lp || !base)
		return EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	l->base = base;
	l->tp = tp;
	l->t1 = timers && timers->t1_ms ? timers->t1_ms : T1_DEFAULT_MS;
	l->t2 = timers && timers->t2_ms ? timers->t2_ms : T2_DEFAULT_MS;
	l->t4 = timers && timers->t4_ms ? timers->t4_ms : T4_DEFAULT_MS;
	l->max = layer_cap(timers);
	init_common_timeouts(l);
	l->mask = buckets_for(l->max) - 1u;
	l->srv = calloc((size_t)l->mask + 1u, sizeof(*l->srv));
	l->cli = calloc((size_t)l->mask + 1u, sizeof(*l->cli));
	if (!l->srv || !l->cli) {
		tsx_layer_free(l);
		return ENOMEM;
	}
	*lp = l;
	return 0;
}

void tsx_layer_free(struct tsx_layer *l)
{
	if (!l)
		return;
	while (l->all)
		tsx_free(l->all);
	free(l->srv);
	free(l->cli);
	free(l);
}

unsigned tsx_layer_count(const struct tsx_layer *l)
{
	return l ? l->count : 0;
}

unsigned tsx_layer_max(const struct tsx_layer *l)
{
	return l ? l->max : 0;
}

/* Move every hashed transaction into tables of the new size. */
static int rehash(struct tsx_layer *l, uint32_t nbuckets)
{
	struct tsx **srv = calloc(nbuckets, sizeof(*srv));
	struct tsx **cli = calloc(nbuckets, sizeof(*cli));

	if (!srv || !cli) {
		free(srv);
		free(cli);
		return ENOMEM;
	}
	free(l->srv);
	free(l->cli);
	l->srv = srv;
	l->cli = cli;
	l->mask = nbuckets - 1u;
	for (struct tsx *x = l->all; x; x = x->anext) {
		if (x->linked)
			hash_link(x);
	}
	return 0;
}

int tsx_layer_set_max(struct tsx_layer *l, unsigned max)
{
	struct tsx_timers t = { .max_live = max };
	unsigned cap = layer_cap(&t);
	int err;

	if (!l)
		return EINVAL;
	if (buckets_for(cap) != l->mask + 1u && (err = rehash(l, buckets_for(cap))) != 0)
		return err;
	l->max = cap;
	return 0;
}

enum tsx_kind tsx_kind(const struct tsx *x)
{
	return x->kind;
}

enum tsx_state tsx_state(const struct tsx *x)
{
	return x->state;
}

/* ---- server ---- */

static void server_end(struct tsx *x, int err)
{
	tsx_end_cb cb = x->ecb;

	tsx_terminate(x);
	x->ecb = NULL;
	if (cb)
		cb(x->arg, x, err);
}

/* Same transport and source address as the request that created the
 * transaction. The key alone (branch, sent-by) is copied from the wire,
 * so anyone who saw it could ask for the stored response; only the flow
 * it came from may. */
static bool same_source(const struct tsx *x, const struct sip_peer *src)
{
	const struct sockaddr_storage *a = &x->peer.addr, *b = &src->addr;

	if (src->tp != x->peer.tp || a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)a, *q = (const void *)b;

		return p->sin_port == q->sin_port &&
		       p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const void *)a, *q = (const void *)b;

		return p->sin6_port == q->sin6_port &&
		       memcmp(&p->sin6_addr, &q->sin6_addr, sizeof(p->sin6_addr)) == 0;
	}
	return false;
}

bool tsx_server_absorb(struct tsx_layer *l, const struct sip_msg *req,
		       const struct sip_peer *src)
{
	struct tsx_key k;
	struct tsx *x;

	if (!l || !req || !src || server_key(req, &k))
		return false;
	x = server_find(l, &k);
	if (!x)
		return false;
	if (!same_source(x, src)) {
		/* A copy of someone else's transaction key: never a new
		 * request, and it gets nothing. */
		return req->method != SIP_M_ACK || x->state != TSX_ACCEPTED;
	}
	if (req->method == SIP_M_ACK) {
		if (x->state == TSX_ACCEPTED)
			return false; /* ACK for a 2xx: the dialog's */
		if (x->state == TSX_COMPLETED) {
			x->state = TSX_CONFIRMED;
			event_del(&x->retrans);
			event_del(&x->timeout);
			arm(x->l, &x->timeout, wait_time(x, x->l->t4)); /* Timer I */
		}
		return true;
	}
	switch (x->state) {
	case TSX_PROCEEDING:
	case TSX_COMPLETED:
	case TSX_ACCEPTED:
		if (x->resp)
			(void)tsx_send(x, x->resp, x->resp_len);
		break;
	default:
		break; /* Trying, Confirmed: swallow */
	}
	return true;
}

int tsx_server_alloc(struct tsx **xp, struct tsx_layer *l,
		     const struct sip_msg *req, const struct sip_peer *src)
{
	struct tsx_key k;
	struct tsx *x;
	int e;

	if (!xp || !l || !req || !src || req->method == SIP_M_ACK)
		return EINVAL;
	if (server_key(req, &k))
		return EINVAL;
	if (server_find(l, &k))
		return EEXIST;
	e = tsx_new(&x, l, req->method == SIP_M_INVITE ? TSX_SERVER_INVITE :
		    TSX_SERVER_NON_INVITE, &k, src, NULL, 0);
	if (e)
		return e;
	if (x->kind == TSX_SERVER_INVITE) {
		x->state = TSX_PROCEEDING;
	} else {
		x->state = TSX_TRYING;
		/* A TU that never answers must not pin the transaction: after
		 * 64*T1 the client has given up anyway (its Timer F). */
		arm(x->l, &x->timeout, t1x64(l));
	}
	*xp = x;
	return 0;
}

void tsx_server_set_end_cb(struct tsx *x, tsx_end_cb cb, void *arg)
{
	x->ecb = cb;
	x->arg = arg;
}

static int store_response(struct tsx *x, const void *buf, size_t len)
{
	char *copy = malloc(len);

	if (!copy)
		return ENOMEM;
	memcpy(copy, buf, len);
	free(x->resp);
	x->resp = copy;
	x->resp_len = len;
	return 0;
}

static bool response_allowed(const struct tsx *x, unsigned status)
{
	switch (x->state) {
	case TSX_TRYING:
	case TSX_PROCEEDING:
		return true;
	case TSX_ACCEPTED:
		/* The TU retransmits its 2xx through us (RFC 6026 7.1). */
		return x->kind == TSX_SERVER_INVITE && status >= 200 && status < 300;
	default:
		return false;
	}
}

static void server_advance(struct tsx *x, unsigned status)
{
	struct tsx_layer *l = x->l;

	if (status < 200) {
		x->state = TSX_PROCEEDING;
		return;
	}
	event_del(&x->timeout);
	if (x->kind == TSX_SERVER_NON_INVITE) {
		x->state = TSX_COMPLETED;
		arm(x->l, &x->timeout, wait_time(x, t1x64(l))); /* Timer J */
	} else if (status < 300) {
		if (x->state != TSX_ACCEPTED) {
			x->state = TSX_ACCEPTED;
			arm(x->l, &x->timeout, t1x64(l)); /* Timer L */
		} else {
			arm(x->l, &x->timeout, t1x64(l));
		}
	} else {
		x->state = TSX_COMPLETED;
		if (!x->reliable) {
			x->retrans_ms = l->t1;
			arm(x->l, &x->retrans, x->retrans_ms); /* Timer G */
		}
		arm(x->l, &x->timeout, t1x64(l)); /* Timer H */
	}
}

int tsx_server_respond(struct tsx *x, unsigned status, const void *buf,
		       size_t len)
{
	int e;

	if (!x || !is_server(x) || !buf || !len || status < 100 || status > 699)
		return EINVAL;
	if (!response_allowed(x, status))
		return EINVAL;
	e = store_response(x, buf, len);
	if (e)
		return e;
	x->last_status = status;
	server_advance(x, status);
	return tsx_send(x, buf, len);
}

struct tsx *tsx_server_find_invite(struct tsx_layer *l,
				   const struct sip_msg *cancel,
				   const struct sip_peer *src)
{
	struct tsx_key k;
	struct tsx *x;

	(void)src;
	if (!l || !cancel || cancel->method != SIP_M_CANCEL ||
	    key_from_via(cancel, &k))
		return NULL;
	k.method = sip_str_from("INVITE");
	x = server_find(l, &k);
	return x && x->kind == TSX_SERVER_INVITE ? x : NULL;
}

/* ---- client ---- */

static void client_report(struct tsx *x, const struct sip_msg *resp, int err)
{
	if (x->ccb)
		x->ccb(x->arg, x, resp, err);
}

static void client_fail(struct tsx *x, int err)
{
	tsx_client_cb cb = x->ccb;

	tsx_terminate(x);
	x->ccb = NULL;
	if (cb)
		cb(x->arg, x, NULL, err);
}

static size_t append(char *buf, size_t cap, size_t at, const char *s,
		     size_t n)
{
	if (at + n > cap)
		return cap + 1; /* marks overflow; checked by the caller */
	memcpy(buf + at, s, n);
	return at + n;
}

#define APPEND_LIT(buf, cap, at, lit) append(buf, cap, at, lit, sizeof(lit) - 1)
#define APPEND_STR(buf, cap, at, s) append(buf, cap, at, (s).p, (s).len)

/* RFC 3261 17.1.1.3: the ACK for a non-2xx final response copies the
 * Request-URI, top Via, From, Call-ID, CSeq number and Route set of the
 * request, and To (with the tag) of the response. */
static int build_ack(const struct tsx *x, const struct sip_msg *resp,
		     char **out, size_t *outlen)
{
	struct sip_msg *req = malloc(sizeof(*req));
	struct sip_parse_error perr;
	const struct sip_hdr *via, *from, *to, *h;
	struct sip_str vias[1];
	char num[16];
	size_t cap, at = 0;
	char *buf = NULL;
	int e = EINVAL;

	if (!req)
		return ENOMEM;
	if (sip_msg_parse(req, x->req, x->req_len, x->peer.tp, &perr))
		goto out;
	via = sip_msg_hdr(req, SIP_H_VIA);
	from = sip_msg_hdr(req, SIP_H_FROM);
	to = sip_msg_hdr(resp, SIP_H_TO);
	if (!via || !from || !to || !req->call_id.len)
		goto out;
	if (sip_split_commas(via->value, vias, 1) != 1)
		vias[0] = via->value; /* several values: keep the whole field */
	cap = x->req_len + to->value.len + 256;
	buf = malloc(cap);
	if (!buf) {
		e = ENOMEM;
		goto out;
	}
	snprintf(num, sizeof(num), "%u", (unsigned)req->cseq);
	at = APPEND_LIT(buf, cap, at, "ACK ");
	at = APPEND_STR(buf, cap, at, req->ruri);
	at = APPEND_LIT(buf, cap, at, " SIP/2.0\r\nVia: ");
	at = APPEND_STR(buf, cap, at, vias[0]);
	for (h = sip_msg_hdr(req, SIP_H_ROUTE); h; h = sip_msg_next_hdr(req, h)) {
		at = APPEND_LIT(buf, cap, at, "\r\nRoute: ");
		at = APPEND_STR(buf, cap, at, h->value);
	}
	at = APPEND_LIT(buf, cap, at, "\r\nFrom: ");
	at = APPEND_STR(buf, cap, at, from->value);
	at = APPEND_LIT(buf, cap, at, "\r\nTo: ");
	at = APPEND_STR(buf, cap, at, to->value);
	at = APPEND_LIT(buf, cap, at, "\r\nCall-ID: ");
	at = APPEND_STR(buf, cap, at, req->call_id);
	at = APPEND_LIT(buf, cap, at, "\r\nCSeq: ");
	at = append(buf, cap, at, num, strlen(num));
	at = APPEND_LIT(buf, cap, at, " ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
	if (at > cap)
		goto out;
	*out = buf;
	*outlen = at;
	buf = NULL;
	e = 0;
out:
	free(buf);
	free(req);
	return e;
}

static void send_ack(struct tsx *x, const struct sip_msg *resp)
{
	char *ack;
	size_t len;

	if (build_ack(x, resp, &ack, &len) == 0) {
		(void)tsx_send(x, ack, len);
		free(ack);
	}
}

int tsx_client_send(struct tsx **xp, struct tsx_layer *l, const void *buf,
		    size_t len, const struct sip_peer *dst,
		    tsx_client_cb cb, void *arg)
{
	struct sip_msg *m;
	struct sip_parse_error perr;
	struct tsx_key k;
	struct tsx *x = NULL;
	int e = EINVAL;

	if (!xp || !l || !buf || !len || len > SIP_MAX_MSG_SIZE || !dst)
		return EINVAL;
	m = malloc(sizeof(*m));
	if (!m)
		return ENOMEM;
	if (sip_msg_parse(m, buf, len, dst->tp, &perr) || !m->is_request ||
	    m->method == SIP_M_ACK || key_from_via(m, &k))
		goto out;
	k.host = SIP_STR_NULL;
	k.method = m->method_str;
	if (k.method.len == 0 || k.method.len > MAX_METHOD_LEN)
		goto out;
	if (client_find(l, &k)) {
		e = EEXIST;
		goto out;
	}
	e = tsx_new(&x, l, m->method == SIP_M_INVITE ? TSX_CLIENT_INVITE :
		    TSX_CLIENT_NON_INVITE, &k, dst, buf, len);
	if (e)
		goto out;
	x->ccb = cb;
	x->arg = arg;
	x->state = x->kind == TSX_CLIENT_INVITE ? TSX_CALLING : TSX_TRYING;
	e = tsx_send(x, buf, len);
	if (e) {
		tsx_free(x);
		goto out;
	}
	if (!x->reliable) {
		x->retrans_ms = l->t1;
		arm(x->l, &x->retrans, x->retrans_ms); /* Timer A or E */
	}
	arm(x->l, &x->timeout, t1x64(l)); /* Timer B or F */
	*xp = x;
out:
	free(m);
	return e;
}

static void client_invite_response(struct tsx *x, const struct sip_msg *resp)
{
	struct tsx_layer *l = x->l;
	unsigned st = resp->status;

	switch (x->state) {
	case TSX_CALLING:
	case TSX_PROCEEDING:
		event_del(&x->retrans);
		event_del(&x->timeout);
		if (st < 200) {
			x->state = TSX_PROCEEDING;
			arm(x->l, &x->timeout, PROCEEDING_CAP_T1 * l->t1);
		} else if (st < 300) {
			x->state = TSX_ACCEPTED;
			arm(x->l, &x->timeout, t1x64(l)); /* Timer M */
		} else {
			send_ack(x, resp);
			x->state = TSX_COMPLETED;
			arm(x->l, &x->timeout, wait_time(x, t1x64(l))); /* Timer D */
		}
		client_report(x, resp, 0);
		break;
	case TSX_COMPLETED:
		if (st >= 300)
			send_ack(x, resp); /* our ACK was lost */
		break;
	case TSX_ACCEPTED:
		if (st >= 200 && st < 300)
			client_report(x, resp, 0);
		break;
	default:
		break;
	}
}

static void client_non_invite_response(struct tsx *x, const struct sip_msg *resp)
{
	struct tsx_layer *l = x->l;

	if (x->state != TSX_TRYING && x->state != TSX_PROCEEDING)
		return; /* Completed: absorb retransmitted finals */
	if (resp->status < 200) {
		x->state = TSX_PROCEEDING;
		client_report(x, resp, 0);
		return;
	}
	event_del(&x->retrans);
	event_del(&x->timeout);
	x->state = TSX_COMPLETED;
	arm(x->l, &x->timeout, wait_time(x, l->t4)); /* Timer K */
	client_report(x, resp, 0);
	x->ccb = NULL; /* nothing more to say */
}

bool tsx_client_match(struct tsx_layer *l, const struct sip_msg *resp)
{
	struct tsx_key k;
	struct tsx *x;

	if (!l || !resp || resp->is_request || resp->status < 100 ||
	    resp->status > 699 || key_from_via(resp, &k))
		return false;
	k.method = resp->cseq_method;
	x = client_find(l, &k);
	if (!x)
		return false;
	if (x->kind == TSX_CLIENT_INVITE)
		client_invite_response(x, resp);
	else
		client_non_invite_response(x, resp);
	return true;
}

void tsx_client_detach(struct tsx *x)
{
	if (x) {
		x->ccb = NULL;
		x->arg = NULL;
	}
}

/* ---- timers ---- */

static void retrans_fired(evutil_socket_t fd, short what, void *arg)
{
	struct tsx *x = arg;
	struct tsx_layer *l = x->l;
	int e;

	(void)fd;
	(void)what;
	if (is_server(x)) {
		/* Timer G: resend the final response until the ACK. */
		e = x->resp ? tsx_send(x, x->resp, x->resp_len) : 0;
		x->retrans_ms = x->retrans_ms * 2 < l->t2 ? x->retrans_ms * 2 : l->t2;
		if (e)
			server_end(x, e);
		else
			arm(x->l, &x->retrans, x->retrans_ms);
		return;
	}
	e = tsx_send(x, x->req, x->req_len);
	if (e) {
		client_fail(x, e);
		return;
	}
	if (x->kind == TSX_CLIENT_INVITE) {
		x->retrans_ms *= 2; /* Timer A doubles without a ceiling */
	} else if (x->state == TSX_PROCEEDING) {
		x->retrans_ms = l->t2;
	} else {
		x->retrans_ms = x->retrans_ms * 2 < l->t2 ? x->retrans_ms * 2 : l->t2;
	}
	arm(x->l, &x->retrans, x->retrans_ms);
}

static void timeout_fired(evutil_socket_t fd, short what, void *arg)
{
	struct tsx *x = arg;

	(void)fd;
	(void)what;
	switch (x->state) {
	case TSX_CALLING:
	case TSX_TRYING:
	case TSX_PROCEEDING:
		/* Timer B, F, the Proceeding cap, or a server TU that never
		 * answered. */
		if (is_server(x))
			server_end(x, ETIMEDOUT);
		else
			client_fail(x, ETIMEDOUT);
		return;
	case TSX_COMPLETED:
		/* Timer H reports the missing ACK; D, J and K just end. */
		if (x->kind == TSX_SERVER_INVITE)
			server_end(x, ETIMEDOUT);
		else if (is_server(x))
			server_end(x, 0);
		else
			tsx_terminate(x);
		return;
	default:
		/* Timer I, L, M */
		if (is_server(x))
			server_end(x, 0);
		else
			tsx_terminate(x);
		return;
	}
}
