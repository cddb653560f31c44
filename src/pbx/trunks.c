/* The trunk snapshot. See trunks.h. */
#include "pbx/trunks.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "pbx/dns.h"
#include "sip/transport.h"

struct trunks {
	struct trunk *items; /* owned, in name order */
	size_t n, cap;
	struct did_record *dids; /* owned, in number order (the store's) */
	size_t ndids, capdids;
	struct route_table *routes;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, ncap * size);
	if (!q)
		return ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

enum sip_transport trunk_transport(const struct trunk_record *r)
{
	return strcmp(r->transport, "tls") == 0 ? SIP_TP_TLS
	       : strcmp(r->transport, "tcp") == 0 ? SIP_TP_TCP : SIP_TP_UDP;
}

/* An IP literal host is where calls go and where the provider's own
 * calls come from; a name waits for the resolver. */
static void trunk_literal_dest(struct trunk *t)
{
	enum sip_transport tp = trunk_transport(&t->rec);
	struct dns_result res;

	if (!dns_literal(t->rec.host, t->rec.port ? t->rec.port : dns_default_port(tp), tp, &res))
		return;
	t->dest = res.t[0].addr;
	t->destlen = res.t[0].addrlen;
	t->resolved[0] = t->dest;
	t->nresolved = 1;
}

static int add_trunk(const struct trunk_record *r, void *arg)
{
	struct trunks *t = arg;
	struct trunk *tr;
	int err = grow((void **)&t->items, &t->cap, t->n, sizeof(*t->items));

	if (err)
		return err;
	tr = &t->items[t->n++];
	memset(tr, 0, sizeof(*tr));
	tr->rec = *r;
	trunk_literal_dest(tr);
	return 0;
}

static int add_did(const struct did_record *r, void *arg)
{
	struct trunks *t = arg;
	int err = grow((void **)&t->dids, &t->capdids, t->ndids, sizeof(*t->dids));

	if (err)
		return err;
	t->dids[t->ndids++] = *r;
	return 0;
}

int trunks_load(struct trunks **tp, struct store *s, char *why, size_t whylen)
{
	struct trunks *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return ENOMEM;
	snprintf(why, whylen, "cannot read the trunks and DIDs");
	err = store_trunk_foreach(s, add_trunk, t);
	if (!err)
		err = store_did_foreach(s, add_did, t);
	if (!err)
		err = route_table_load(&t->routes, s, why, whylen);
	if (err)
		goto out;
	why[0] = '\0';
	*tp = t;
	return 0;
out:
	trunks_free(t);
	return err;
}

void trunks_free(struct trunks *t)
{
	if (!t)
		return;
	if (t->items)
		secret_wipe(t->items, t->cap * sizeof(*t->items));
	free(t->items);
	free(t->dids);
	route_table_free(t->routes);
	free(t);
}

size_t trunks_count(const struct trunks *t)
{
	return t ? t->n : 0;
}

const struct trunk *trunks_at(const struct trunks *t, size_t i)
{
	return t && i < t->n ? &t->items[i] : NULL;
}

socklen_t trunk_addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

const struct trunk *trunks_find(const struct trunks *t, const char *name)
{
	for (size_t i = 0; t && i < t->n; i++) {
		if (strcmp(t->items[i].rec.name, name) == 0)
			return &t->items[i];
	}
	return NULL;
}

static bool trunk_owns(const struct trunk *tr, const struct sockaddr *sa)
{
	for (unsigned i = 0; i < tr->rec.nips; i++) {
		if (acl_cidr_match(&tr->rec.ips[i], sa))
			return true;
	}
	for (unsigned i = 0; i < tr->nresolved; i++) {
		if (sockaddr_same_ip((const struct sockaddr *)&tr->resolved[i], sa))
			return true;
	}
	return false;
}

const struct trunk *trunks_by_source(const struct trunks *t, const struct sockaddr *sa)
{
	for (size_t i = 0; t && i < t->n; i++) {
		if (trunk_owns(&t->items[i], sa))
			return &t->items[i];
	}
	return NULL;
}

static int did_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct did_record *)elem)->number);
}

const char *trunks_did_ext(const struct trunks *t, const char *e164)
{
	const struct did_record *d;

	if (!t || t->ndids == 0)
		return NULL;
	d = bsearch(e164, t->dids, t->ndids, sizeof(*t->dids), did_cmp);
	return d ? d->ext : NULL;
}

const struct route_table *trunks_routes(const struct trunks *t)
{
	return t ? t->routes : NULL;
}

int trunks_set_resolved(struct trunks *t, const char *name,
			const struct sockaddr_storage *addrs, unsigned n)
{
	struct trunk *tr = (struct trunk *)trunks_find(t, name);

	if (!tr)
		return ENOENT;
	if (n > TRUNK_RESOLVED_MAX)
		n = TRUNK_RESOLVED_MAX;
	memcpy(tr->resolved, addrs, n * sizeof(*addrs));
	tr->nresolved = n;
	tr->destlen = 0;
	if (n > 0) {
		tr->dest = addrs[0];
		tr->destlen = trunk_addr_len(&addrs[0]);
	}
	return 0;
}
