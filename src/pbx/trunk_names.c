/* Resolving trunk host names for calls and for recognising the provider;
 * see trunk_names.h.
 *
 * One struct trunk_name per trunk whose host is a name, on the signalling
 * loop: resolve -> give the addresses to the snapshot -> timer -> resolve
 * again. The entry outlives snapshots (which are replaced whole on every
 * change) and hands its addresses to each new one. */
#include "pbx/trunk_names.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/log.h"
#include "pbx/dns.h"
#include "pbx/trunks.h"
#include "sip/context.h"
#include "sip/transport.h"

struct trunk_name {
	struct trunk_name *next;
	struct trunk_names *set;     /* borrowed: the owner */
	char trunk[TRUNK_NAME_MAX + 1];
	char host[TRUNK_HOST_MAX + 1];
	unsigned port;               /* 0: not configured (NAPTR and SRV apply) */
	enum sip_transport tp;
	struct event *timer;         /* the next lookup */
	uint64_t dns_id;             /* pending lookup, 0 none */
	bool resolving;              /* between dns_resolve and its callback */
	unsigned backoff_s;          /* the next retry's delay after a failure */
	struct sockaddr_storage addrs[TRUNK_RESOLVED_MAX];
	unsigned n;                  /* 0: never resolved */
};

struct trunk_names {
	struct sip_ctx *ctx;         /* borrowed */
	struct dns *dns;             /* borrowed */
	struct trunk_name *list;
};

static void name_lookup(struct trunk_name *tn);

static void name_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	name_lookup(arg);
}

static void name_arm(struct trunk_name *tn, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	evtimer_add(tn->timer, &tv);
}

static void name_apply(const struct trunk_name *tn)
{
	int err = trunks_set_resolved(tn->set->ctx->trunks, tn->trunk, tn->addrs, tn->n);

	if (err)
		log_warn("trunk %s: cannot record the addresses of %s: %s", tn->trunk, tn->host,
			 strerror(err));
}

static bool name_changed(const struct trunk_name *tn, const struct dns_result *res, unsigned n)
{
	if (n != tn->n)
		return true;
	for (unsigned i = 0; i < n; i++) {
		if (res->t[i].addrlen != trunk_addr_len(&tn->addrs[i]) ||
		    memcmp(&res->t[i].addr, &tn->addrs[i], res->t[i].addrlen) != 0)
			return true;
	}
	return false;
}

static void name_resolved(struct trunk_name *tn, const struct dns_result *res)
{
	unsigned n = res->n < TRUNK_RESOLVED_MAX ? res->n : TRUNK_RESOLVED_MAX;
	char first[80];

	tn->backoff_s = TRUNK_RETRY_MIN_S;
	name_arm(tn, TRUNK_RESOLVE_REFRESH_S);
	if (!name_changed(tn, res, n))
		return;
	memset(tn->addrs, 0, sizeof(tn->addrs));
	for (unsigned i = 0; i < n; i++)
		memcpy(&tn->addrs[i], &res->t[i].addr, res->t[i].addrlen);
	tn->n = n;
	name_apply(tn);
	sockaddr_format((const struct sockaddr *)&tn->addrs[0], first, sizeof(first));
	log_info("trunk %s: %s is at %s%s (%u address%s)", tn->trunk, tn->host, first,
		 n > 1 ? " first" : "", n, n == 1 ? "" : "es");
}

static void name_on_resolved(void *arg, int err, const struct dns_result *res)
{
	struct trunk_name *tn = arg;

	tn->dns_id = 0;
	tn->resolving = false;
	if (!err) {
		name_resolved(tn, res);
		return;
	}
	if (tn->n)
		log_warn("trunk %s: cannot resolve %s again (%s); keeping its last addresses",
			 tn->trunk, tn->host, err == ENOENT ? "no such name or no address" : strerror(err));
	else
		log_warn("trunk %s: cannot resolve %s (%s); calls to it are refused until it resolves",
			 tn->trunk, tn->host, err == ENOENT ? "no such name or no address" : strerror(err));
	name_arm(tn, tn->backoff_s);
	tn->backoff_s = tn->backoff_s * 2 > TRUNK_RETRY_MAX_S ? TRUNK_RETRY_MAX_S : tn->backoff_s * 2;
}

static void name_lookup(struct trunk_name *tn)
{
	uint64_t id = 0;
	int err;

	tn->resolving = true;
	err = dns_resolve(tn->set->dns, tn->host, tn->port, tn->tp, name_on_resolved, tn, &id);
	if (err) {
		tn->resolving = false;
		name_on_resolved(tn, err, NULL);
		return;
	}
	/* The callback may have run already (a cached answer). */
	if (tn->resolving)
		tn->dns_id = id;
}

static void name_free(struct trunk_name *tn)
{
	if (tn->dns_id)
		dns_cancel(tn->set->dns, tn->dns_id);
	if (tn->timer)
		event_free(tn->timer);
	free(tn);
}

static int name_alloc(struct trunk_name **np, struct trunk_names *set, const struct trunk *t)
{
	struct trunk_name *tn = calloc(1, sizeof(*tn));
	int err = 0;

	if (!tn)
		return ENOMEM;
	tn->set = set;
	snprintf(tn->trunk, sizeof(tn->trunk), "%s", t->rec.name);
	snprintf(tn->host, sizeof(tn->host), "%s", t->rec.host);
	tn->port = t->rec.port;
	tn->tp = trunk_transport(&t->rec);
	tn->backoff_s = TRUNK_RETRY_MIN_S;
	tn->timer = evtimer_new(set->ctx->base, name_on_timer, tn);
	if (!tn->timer) {
		err = ENOMEM;
		goto out;
	}
out:
	if (err) {
		name_free(tn);
		return err;
	}
	*np = tn;
	return 0;
}

/* The entry for trunk t that is still good for it (same host, port and
 * transport), taken out of the old list; NULL when it needs a new one. */
static struct trunk_name *name_take(struct trunk_names *set, const struct trunk *t)
{
	for (struct trunk_name **pp = &set->list; *pp; pp = &(*pp)->next) {
		struct trunk_name *tn = *pp;

		if (strcmp(tn->trunk, t->rec.name) != 0)
			continue;
		if (strcmp(tn->host, t->rec.host) != 0 || tn->port != t->rec.port ||
		    tn->tp != trunk_transport(&t->rec))
			return NULL;
		*pp = tn->next;
		return tn;
	}
	return NULL;
}

static bool host_is_name(const struct trunk *t)
{
	struct dns_result lit;

	return !dns_literal(t->rec.host, dns_default_port(SIP_TP_UDP), SIP_TP_UDP, &lit);
}

/* Keep or start the entry of every named trunk in the snapshot; the
 * entries of trunks gone or changed are left in set->list. */
static struct trunk_name *names_walk(struct trunk_names *set, struct trunk_name **fresh)
{
	const struct trunks *ts = set->ctx->trunks;
	struct trunk_name *keep = NULL, *tn;

	*fresh = NULL;
	for (size_t i = 0; i < trunks_count(ts); i++) {
		const struct trunk *t = trunks_at(ts, i);

		if (!host_is_name(t))
			continue;
		tn = name_take(set, t);
		if (tn) {
			if (tn->n)
				name_apply(tn);
			tn->next = keep;
			keep = tn;
		} else if (name_alloc(&tn, set, t) == 0) {
			tn->next = *fresh;
			*fresh = tn;
		} else {
			log_warn("trunk %s: out of memory: its host %s is not resolved", t->rec.name,
				 t->rec.host);
		}
	}
	return keep;
}

void trunk_names_reload(struct trunk_names *set)
{
	struct trunk_name *fresh, *keep = names_walk(set, &fresh);

	while (set->list) {
		struct trunk_name *tn = set->list;

		set->list = tn->next;
		name_free(tn);
	}
	set->list = keep;
	/* Looked up once linked: a cached answer calls back at once. */
	while (fresh) {
		struct trunk_name *tn = fresh;

		fresh = tn->next;
		tn->next = set->list;
		set->list = tn;
		name_lookup(tn);
	}
}

int trunk_names_alloc(struct trunk_names **np, struct sip_ctx *ctx, struct dns *dns)
{
	struct trunk_names *set = calloc(1, sizeof(*set));

	if (!set)
		return ENOMEM;
	set->ctx = ctx;
	set->dns = dns;
	trunk_names_reload(set);
	*np = set;
	return 0;
}

void trunk_names_free(struct trunk_names *set)
{
	if (!set)
		return;
	while (set->list) {
		struct trunk_name *tn = set->list;

		set->list = tn->next;
		name_free(tn);
	}
	free(set);
}
