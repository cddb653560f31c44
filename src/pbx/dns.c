/* RFC 3263 resolution with c-ares on the libevent loop; see dns.h.
 *
 * c-ares tells us which sockets it wants watched (sock_state_cb); each gets
 * a libevent event, and one timer follows ares_timeout(). A lookup runs one
 * query at a time (NAPTR, then SRV, then each target's addresses), so
 * cancelling it or freeing the resolver never races two callbacks. */
#include "pbx/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/log.h"
#include "pbx/dns_answer.h"

#define DNS_MAX_SOCKS 16u /* c-ares uses a few UDP and TCP sockets */

struct dns_sock {
	ares_socket_t fd;
	struct event *ev;
	struct dns *d; /* borrowed */
};

struct dns_cache_entry {
	char key[TRUNK_HOST_KEY_MAX];
	int64_t expires; /* monotonic seconds */
	struct dns_result res;
};

enum lookup_step { STEP_NAPTR, STEP_SRV, STEP_SRV_ADDR, STEP_ADDR };

struct dns_lookup {
	struct dns_lookup *next;
	struct dns *d;          /* borrowed */
	uint64_t id;
	bool cancelled;         /* owner gone: finish quietly */
	enum lookup_step step;
	char host[256];
	char key[TRUNK_HOST_KEY_MAX];
	unsigned port;
	enum sip_transport tp;
	dns_cb cb;
	void *arg;              /* borrowed */
	struct dns_srv srv[DNS_MAX_RECORDS];
	unsigned nsrv, srv_at;
	uint32_t ttl;
	struct dns_result res;
};

struct dns {
	struct event_base *base; /* borrowed */
	ares_channel ch;
	struct dns_sock socks[DNS_MAX_SOCKS];
	struct event *timer;
	struct dns_lookup *lookups;
	uint64_t next_id;
	struct dns_cache_entry *cache[DNS_CACHE_MAX];
	bool freeing;
};

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

unsigned dns_default_port(enum sip_transport tp)
{
	return tp == SIP_TP_TLS ? 5061u : 5060u;
}

/* ---- c-ares <-> libevent ---- */

static void dns_rearm_timer(struct dns *d)
{
	struct timeval max = { 1, 0 }, tv, *t;

	t = ares_timeout(d->ch, &max, &tv);
	evtimer_add(d->timer, t);
}

static void dns_on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *s = arg;
	struct dns *d = s->d;

	ares_process_fd(d->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_rearm_timer(d);
}

static void dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_rearm_timer(d);
}

static struct dns_sock *dns_sock_find(struct dns *d, ares_socket_t fd)
{
	for (unsigned i = 0; i < DNS_MAX_SOCKS; i++)
		if (d->socks[i].ev && d->socks[i].fd == fd)
			return &d->socks[i];
	return NULL;
}

static void dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock *s = dns_sock_find(d, fd);
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	if (s) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!what)
		return;
	if (!s)
		s = dns_sock_find(d, ARES_SOCKET_BAD);
	for (unsigned i = 0; !s && i < DNS_MAX_SOCKS; i++)
		if (!d->socks[i].ev)
			s = &d->socks[i];
	if (!s) {
		log_warn("dns: more than %u resolver sockets; one is not watched", DNS_MAX_SOCKS);
		return;
	}
	s->fd = fd;
	s->d = d;
	s->ev = event_new(d->base, fd, what | EV_PERSIST, dns_on_fd, s);
	if (s->ev)
		event_add(s->ev, NULL);
}

/* ---- cache ---- */

static void make_key(char *key, size_t len, const char *host, unsigned port,
		     enum sip_transport tp)
{
	snprintf(key, len, "%u|%u|%s", (unsigned)tp, port, host);
}

static const struct dns_result *cache_get(struct dns *d, const char *key)
{
	int64_t now = mono_now();

	for (unsigned i = 0; i < DNS_CACHE_MAX; i++) {
		struct dns_cache_entry *e = d->cache[i];

		if (e && strcmp(e->key, key) == 0) {
			if (e->expires > now)
				return &e->res;
			free(e);
			d->cache[i] = NULL;
			return NULL;
		}
	}
	return NULL;
}

/* The slot for a key: its own, a free one, or the one expiring first. */
static unsigned cache_slot(struct dns *d, const char *key)
{
	unsigned victim = 0;

	for (unsigned i = 0; i < DNS_CACHE_MAX; i++) {
		if (!d->cache[i] || strcmp(d->cache[i]->key, key) == 0)
			return i;
		if (d->cache[i]->expires < d->cache[victim]->expires)
			victim = i;
	}
	return victim;
}

static void cache_put(struct dns *d, const char *key, const struct dns_result *res,
		      uint32_t ttl)
{
	unsigned i = cache_slot(d, key);
	struct dns_cache_entry *e = d->cache[i] ? d->cache[i] : malloc(sizeof(*e));

	if (!e)
		return; /* no cache entry: the next lookup asks again */
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->expires = mono_now() + ttl;
	e->res = *res;
	d->cache[i] = e;
}

void dns_flush(struct dns *d)
{
	for (unsigned i = 0; i < DNS_CACHE_MAX; i++) {
		free(d->cache[i]);
		d->cache[i] = NULL;
	}
}

/* ---- SRV order (RFC 2782) ---- */

static int srv_by_priority(const void *a, const void *b)
{
	const struct dns_srv *x = a, *y = b;

	return (int)x->priority - (int)y->priority;
}

/* Within one priority, pick records one by one with probability
 * proportional to weight; weight 0 records get a small chance. */
static void srv_order_weights(struct dns_srv *srv, unsigned n, unsigned (*rnd)(unsigned))
{
	for (unsigned i = 0; i + 1 < n; i++) {
		unsigned total = 0, pick, run = 0, chosen = i;

		for (unsigned j = i; j < n; j++)
			total += srv[j].weight + 1u;
		pick = rnd(total);
		for (unsigned j = i; j < n; j++) {
			run += srv[j].weight + 1u;
			if (pick < run) {
				chosen = j;
				break;
			}
		}
		if (chosen != i) {
			struct dns_srv tmp = srv[i];

			srv[i] = srv[chosen];
			srv[chosen] = tmp;
		}
	}
}

void dns_srv_order(struct dns_srv *srv, unsigned n, unsigned (*rnd)(unsigned))
{
	unsigned start = 0;

	qsort(srv, n, sizeof(*srv), srv_by_priority);
	while (start < n) {
		unsigned end = start + 1;

		while (end < n && srv[end].priority == srv[start].priority)
			end++;
		srv_order_weights(srv + start, end - start, rnd);
		start = end;
	}
}

static unsigned random_below(unsigned max)
{
	uint32_t r = 0;

	if (max == 0)
		return 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)rand();
	return r % max;
}

/* ---- lookups ---- */

static void lookup_unlink_free(struct dns_lookup *l)
{
	for (struct dns_lookup **pp = &l->d->lookups; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	free(l);
}

static void lookup_finish(struct dns_lookup *l, int err)
{
	if (!err && l->res.n == 0)
		err = ENOENT;
	if (!err)
		cache_put(l->d, l->key, &l->res, l->ttl);
	if (!l->cancelled && !l->d->freeing)
		l->cb(l->arg, err, &l->res);
	lookup_unlink_free(l);
}

static int status_errno(int status)
{
	switch (status) {
	case ARES_SUCCESS: return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_ENONAME: return ENOENT;
	case ARES_ETIMEOUT: return ETIMEDOUT;
	case ARES_ENOMEM: return ENOMEM;
	default: return EIO;
	}
}

static void lookup_add_addrs(struct dns_lookup *l, const struct ares_addrinfo *ai,
			     unsigned port)
{
	for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL;
	     n && l->res.n < DNS_MAX_TARGETS; n = n->ai_next) {
		struct dns_target *t = &l->res.t[l->res.n];

		if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
		    n->ai_addrlen > sizeof(t->addr))
			continue;
		memset(t, 0, sizeof(*t));
		memcpy(&t->addr, n->ai_addr, n->ai_addrlen);
		t->addrlen = n->ai_addrlen;
		t->tp = l->tp;
		if (n->ai_family == AF_INET)
			((struct sockaddr_in *)&t->addr)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)&t->addr)->sin6_port = htons((uint16_t)port);
		if (n->ai_ttl >= 0 && (uint32_t)n->ai_ttl < l->ttl)
			l->ttl = (uint32_t)n->ai_ttl < DNS_TTL_MIN_S ? DNS_TTL_MIN_S : (uint32_t)n->ai_ttl;
		l->res.n++;
	}
}

static void lookup_addr(struct dns_lookup *l, const char *name);

static void lookup_next_srv_target(struct dns_lookup *l)
{
	if (l->srv_at >= l->nsrv || l->res.n >= DNS_MAX_TARGETS) {
		lookup_finish(l, 0);
		return;
	}
	lookup_addr(l, l->srv[l->srv_at].target);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_lookup *l = arg;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		ares_freeaddrinfo(ai);
		lookup_unlink_free(l);
		return;
	}
	if (l->step == STEP_SRV_ADDR) {
		/* A target without addresses is skipped; the next one may work. */
		if (status == ARES_SUCCESS)
			lookup_add_addrs(l, ai, l->srv[l->srv_at].port);
		ares_freeaddrinfo(ai);
		l->srv_at++;
		lookup_next_srv_target(l);
		return;
	}
	if (status == ARES_SUCCESS)
		lookup_add_addrs(l, ai, l->port ? l->port : dns_default_port(l->tp));
	ares_freeaddrinfo(ai);
	lookup_finish(l, status_errno(status));
}

static void lookup_addr(struct dns_lookup *l, const char *name)
{
	struct ares_addrinfo_hints hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	if (l->step != STEP_SRV_ADDR)
		l->step = STEP_ADDR;
	ares_getaddrinfo(l->d->ch, name, NULL, &hints, on_addrinfo, l);
}

static void lookup_ttl(struct dns_lookup *l, const unsigned char *buf, int len)
{
	uint32_t ttl;

	if (len > 0 && dns_answer_min_ttl(buf, (size_t)len, &ttl) == 0 && ttl < l->ttl)
		l->ttl = ttl;
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *buf, int len)
{
	struct dns_lookup *l = arg;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		lookup_unlink_free(l);
		return;
	}
	if (status == ARES_SUCCESS && len > 0 &&
	    dns_answer_srv(buf, (size_t)len, l->srv, &l->nsrv) == 0) {
		lookup_ttl(l, buf, len);
		dns_srv_order(l->srv, l->nsrv, random_below);
		l->step = STEP_SRV_ADDR;
		l->srv_at = 0;
		lookup_next_srv_target(l);
		return;
	}
	if (status == ARES_ETIMEOUT) {
		lookup_finish(l, ETIMEDOUT);
		return;
	}
	/* RFC 3263 4.2: no SRV records, so A/AAAA with the default port. */
	lookup_addr(l, l->host);
}

static void lookup_srv(struct dns_lookup *l, const char *name)
{
	l->step = STEP_SRV;
	ares_query(l->d->ch, name, ns_c_in, ns_t_srv, on_srv, l);
}

static void lookup_srv_default(struct dns_lookup *l)
{
	char name[300];
	const char *prefix = l->tp == SIP_TP_TLS ? "_sips._tcp" :
			     l->tp == SIP_TP_TCP ? "_sip._tcp" : "_sip._udp";

	snprintf(name, sizeof(name), "%s.%s", prefix, l->host);
	lookup_srv(l, name);
}

static void on_naptr(void *arg, int status, int timeouts, unsigned char *buf, int len)
{
	struct dns_lookup *l = arg;
	char replacement[256];

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		lookup_unlink_free(l);
		return;
	}
	if (status == ARES_SUCCESS && len > 0 &&
	    dns_answer_naptr(buf, (size_t)len, l->tp, replacement, sizeof(replacement)) == 0) {
		lookup_ttl(l, buf, len);
		lookup_srv(l, replacement);
		return;
	}
	if (status == ARES_ETIMEOUT) {
		lookup_finish(l, ETIMEDOUT);
		return;
	}
	lookup_srv_default(l);
}

/* ---- public ---- */

bool dns_literal(const char *host, unsigned port, enum sip_transport tp,
		 struct dns_result *res)
{
	struct dns_target *t = &res->t[0];
	struct sockaddr_in *in = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;
	char h[64];
	size_t n = strlen(host);

	memset(res, 0, sizeof(*res));
	if (n >= sizeof(h))
		return false; /* longer than any address literal */
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']' && n - 2 < sizeof(h)) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
	} else {
		memcpy(h, host, n + 1);
	}
	t->tp = tp;
	if (inet_pton(AF_INET, h, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		t->addrlen = sizeof(*in);
	} else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		t->addrlen = sizeof(*in6);
	} else {
		return false;
	}
	res->n = 1;
	return true;
}

int dns_resolve(struct dns *d, const char *host, unsigned port,
		enum sip_transport tp, dns_cb cb, void *arg, uint64_t *idp)
{
	struct dns_result lit;
	const struct dns_result *hit;
	struct dns_lookup *l;
	char key[TRUNK_HOST_KEY_MAX];

	*idp = 0;
	if (!d || !host || !host[0] || strlen(host) > 253 || port > 65535 || !cb)
		return EINVAL;
	if (dns_literal(host, port ? port : dns_default_port(tp), tp, &lit)) {
		cb(arg, 0, &lit);
		return 0;
	}
	make_key(key, sizeof(key), host, port, tp);
	hit = cache_get(d, key);
	if (hit) {
		cb(arg, 0, hit);
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	l->d = d;
	l->id = ++d->next_id;
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->port = port;
	l->tp = tp;
	l->cb = cb;
	l->arg = arg;
	l->ttl = DNS_TTL_MAX_S;
	l->next = d->lookups;
	d->lookups = l;
	*idp = l->id;
	if (port) {
		lookup_addr(l, host);
	} else {
		l->step = STEP_NAPTR;
		ares_query(d->ch, host, ns_c_in, ns_t_naptr, on_naptr, l);
	}
	dns_rearm_timer(d);
	return 0;
}

void dns_cancel(struct dns *d, uint64_t id)
{
	if (!d || !id)
		return;
	for (struct dns_lookup *l = d->lookups; l; l = l->next)
		if (l->id == id)
			l->cancelled = true;
}

int dns_alloc(struct dns **dp, struct event_base *base, const char *servers,
	      char *err, size_t errlen)
{
	struct ares_options opts;
	struct dns *d;
	int rc, e = 0;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS: %s", ares_strerror(rc));
		return EIO;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->base = base;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = dns_sock_state;
	opts.sock_state_cb_data = d;
	opts.timeout = (int)(DNS_QUERY_TIMEOUT_MS / 2u);
	opts.tries = 2;
	rc = ares_init_options(&d->ch, &opts,
			       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS: cannot start the resolver: %s", ares_strerror(rc));
		free(d);
		return EIO;
	}
	if (servers && servers[0] &&
	    (rc = ares_set_servers_ports_csv(d->ch, servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "[trunks] dns_servers '%s': %s", servers, ares_strerror(rc));
		e = EINVAL;
		goto out;
	}
	d->timer = evtimer_new(base, dns_on_timer, d);
	if (!d->timer)
		e = ENOMEM;
out:
	if (e) {
		dns_free(d);
		return e;
	}
	*dp = d;
	return 0;
}

void dns_free(struct dns *d)
{
	if (!d)
		return;
	d->freeing = true;
	ares_destroy(d->ch); /* every pending lookup is freed by its callback */
	while (d->lookups)
		lookup_unlink_free(d->lookups);
	for (unsigned i = 0; i < DNS_MAX_SOCKS; i++)
		if (d->socks[i].ev)
			event_free(d->socks[i].ev);
	if (d->timer)
		event_free(d->timer);
	dns_flush(d);
	free(d);
}
