#include "sip/location.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store.h"

/* A queued write: the binding's current state is read at flush time, so a
 * binding refreshed ten times in one interval is written once per op but
 * always with its latest values. */
struct loc_op {
	bool del;
	char ext[RF_MAX_EXT_LEN + 1];
	char *contact; /* owned */
};

struct location {
	struct strmap map;
	struct store *store; /* borrowed */
	struct loc_op *ops;
	size_t nops, capops;
	size_t nbindings;
};

int location_alloc(struct location **lp, struct store *s)
{
	struct location *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return ENOMEM;
	err = strmap_init(&l->map, 1024);
	if (err) {
		free(l);
		return err;
	}
	l->store = s;
	*lp = l;
	return 0;
}

static void binding_free(struct binding *b)
{
	free(b->contact);
	free(b);
}

static void aor_free_node(struct strmap_node *n, void *arg)
{
	struct loc_aor *a = strmap_entry(n, struct loc_aor, node);
	struct binding *b, *next;

	(void)arg;
	for (b = a->head; b; b = next) {
		next = b->next;
		binding_free(b);
	}
	free(a->last_call_id);
	free(a->last_branch);
	free(a);
}

static void location_ops_clear(struct location *l)
{
	for (size_t i = 0; i < l->nops; i++)
		free(l->ops[i].contact);
	l->nops = 0;
}

void location_free(struct location *l)
{
	if (!l)
		return;
	if (location_flush(l) != 0)
		log_error("location: could not write %zu pending registration changes", l->nops);
	location_ops_clear(l);
	free(l->ops);
	strmap_foreach(&l->map, aor_free_node, NULL);
	strmap_destroy(&l->map);
	free(l);
}

/* snprintf("%s") without the formatting machinery: this runs for every
 * write-through, thousands of times a second. Truncates like snprintf. */
static void copy_cstr(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void location_queue(struct location *l, bool del, const char *ext,
			   const char *contact)
{
	struct loc_op *op;

	if (l->nops == l->capops) {
		size_t cap = l->capops ? l->capops * 2 : 256;
		struct loc_op *p = realloc(l->ops, cap * sizeof(*p));

		if (!p) {
			log_error("location: out of memory queueing a write; it will be lost on restart");
			return;
		}
		l->ops = p;
		l->capops = cap;
	}
	op = &l->ops[l->nops];
	op->contact = strdup(contact);
	if (!op->contact)
		return;
	op->del = del;
	copy_cstr(op->ext, sizeof(op->ext), ext);
	l->nops++;
}

struct loc_aor *location_aor(struct location *l, const char *ext, size_t len)
{
	struct strmap_node *n = strmap_find(&l->map, ext, len);

	return n ? strmap_entry(n, struct loc_aor, node) : NULL;
}

struct binding *location_binding(struct loc_aor *a, const char *contact,
				 size_t len)
{
	for (struct binding *b = a ? a->head : NULL; b; b = b->next) {
		if (strlen(b->contact) == len && memcmp(b->contact, contact, len) == 0)
			return b;
	}
	return NULL;
}

static struct loc_aor *location_aor_get(struct location *l, const char *ext)
{
	size_t len = strlen(ext);
	struct loc_aor *a = location_aor(l, ext, len);

	if (a || len > RF_MAX_EXT_LEN)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->ext, ext, len + 1);
	strmap_insert(&l->map, &a->node, a->ext, len);
	return a;
}

static char *binding_strings(const struct binding_info *bi, char **ua, char **cid)
{
	size_t n = bi->contact.len + bi->user_agent.len + bi->call_id.len + 3;
	char *p = malloc(n);

	if (!p)
		return NULL;
	memcpy(p, bi->contact.p, bi->contact.len);
	p[bi->contact.len] = 0;
	*ua = p + bi->contact.len + 1;
	memcpy(*ua, bi->user_agent.p, bi->user_agent.len);
	(*ua)[bi->user_agent.len] = 0;
	*cid = *ua + bi->user_agent.len + 1;
	memcpy(*cid, bi->call_id.p, bi->call_id.len);
	(*cid)[bi->call_id.len] = 0;
	return p;
}

int location_set(struct location *l, const char *ext, const struct binding_info *bi)
{
	struct loc_aor *a = location_aor_get(l, ext);
	struct binding *b;
	char *strings, *ua, *cid;

	if (!a)
		return ENOMEM;
	strings = binding_strings(bi, &ua, &cid);
	if (!strings)
		return ENOMEM;
	b = location_binding(a, bi->contact.p, bi->contact.len);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			free(strings);
			return ENOMEM;
		}
		b->next = a->head;
		a->head = b;
		a->n++;
		l->nbindings++;
	} else {
		free(b->contact);
	}
	b->contact = strings;
	b->user_agent = ua;
	b->call_id = cid;
	b->cseq = bi->cseq;
	b->expires_at = bi->expires_at;
	b->registered_at = bi->registered_at;
	b->peer = *bi->peer;
	location_queue(l, false, ext, b->contact);
	return 0;
}

void location_remove(struct location *l, struct loc_aor *a, struct binding *b)
{
	struct binding **pp;

	for (pp = &a->head; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	location_queue(l, true, a->ext, b->contact);
	binding_free(b);
	a->n--;
	l->nbindings--;
}

static int location_replace(char **slot, struct sip_str v)
{
	char *p;

	if (*slot && sip_str_eq(v, *slot))
		return 0;
	p = strndup(v.p ? v.p : "", v.len);
	if (!p)
		return ENOMEM;
	free(*slot);
	*slot = p;
	return 0;
}

int location_note_request(struct location *l, const char *ext,
			  struct sip_str call_id, uint32_t cseq, struct sip_str branch)
{
	struct loc_aor *a = location_aor_get(l, ext);

	if (!a)
		return ENOMEM;
	if (location_replace(&a->last_call_id, call_id) != 0 ||
	    location_replace(&a->last_branch, branch) != 0)
		return ENOMEM;
	a->last_cseq = cseq;
	return 0;
}

enum location_order location_request_order(struct location *l, const char *ext,
					   struct sip_str call_id, uint32_t cseq,
					   struct sip_str branch)
{
	struct loc_aor *a = location_aor(l, ext, strlen(ext));

	if (!a || !a->last_call_id || !sip_str_eq(call_id, a->last_call_id) ||
	    cseq > a->last_cseq)
		return LOCATION_NEW;
	if (cseq == a->last_cseq && branch.len > 0 && a->last_branch &&
	    sip_str_eq(branch, a->last_branch))
		return LOCATION_RETRANSMISSION;
	return LOCATION_STALE;
}

struct sweep_arg {
	struct location *l;
	time_t now;
	location_removed_cb cb;
	void *arg;
	const char *only_ext; /* NULL: expiry sweep */
};

static void sweep_aor(struct strmap_node *n, void *arg)
{
	struct sweep_arg *s = arg;
	struct loc_aor *a = strmap_entry(n, struct loc_aor, node);
	struct binding *b = a->head, *next;
	const char *reason = s->only_ext ? "ext_removed" : "expired";

	if (s->only_ext && strcmp(s->only_ext, a->ext) != 0)
		return;
	for (; b; b = next) {
		next = b->next;
		if (s->only_ext || b->expires_at <= s->now) {
			if (s->cb)
				s->cb(a->ext, b, reason, s->arg);
			location_remove(s->l, a, b);
		}
	}
}

void location_sweep(struct location *l, time_t now, location_removed_cb cb, void *arg)
{
	struct sweep_arg s = {l, now, cb, arg, NULL};

	strmap_foreach(&l->map, sweep_aor, &s);
}

void location_remove_ext(struct location *l, const char *ext,
			 location_removed_cb cb, void *arg)
{
	struct loc_aor *a = location_aor(l, ext, strlen(ext));
	struct sweep_arg s = {l, 0, cb, arg, ext};

	if (!a)
		return;
	sweep_aor(&a->node, &s);
	/* The extension is gone: its replay memory goes with it. */
	strmap_remove(&l->map, &a->node);
	aor_free_node(&a->node, NULL);
}

struct aor_visit {
	void (*fn)(struct loc_aor *a, void *arg);
	void *arg;
};

static void visit_aor(struct strmap_node *n, void *arg)
{
	struct aor_visit *v = arg;

	v->fn(strmap_entry(n, struct loc_aor, node), v->arg);
}

void location_foreach_aor(struct location *l,
			  void (*fn)(struct loc_aor *a, void *arg), void *arg)
{
	struct aor_visit v = {fn, arg};

	strmap_foreach(&l->map, visit_aor, &v);
}

static void binding_to_record(const char *ext, const struct binding *b,
			      struct loc_record *r)
{
	copy_cstr(r->ext, sizeof(r->ext), ext);
	copy_cstr(r->contact, sizeof(r->contact), b->contact);
	sip_peer_format(&b->peer, r->source, sizeof(r->source));
	copy_cstr(r->transport, sizeof(r->transport), transport_name(b->peer.tp));
	copy_cstr(r->user_agent, sizeof(r->user_agent), b->user_agent);
	copy_cstr(r->call_id, sizeof(r->call_id), b->call_id);
	r->cseq = b->cseq;
	r->expires_at = b->expires_at;
	r->registered_at = b->registered_at;
}

static int location_apply_op(struct location *l, const struct loc_op *op)
{
	struct loc_record r;
	struct binding *b;
	int err;

	if (op->del) {
		err = store_loc_del(l->store, op->ext, op->contact);
		return err == ENOENT ? 0 : err;
	}
	b = location_binding(location_aor(l, op->ext, strlen(op->ext)), op->contact,
			     strlen(op->contact));
	if (!b)
		return 0; /* removed since; its delete op follows */
	binding_to_record(op->ext, b, &r);
	err = store_loc_put(l->store, &r);
	/* The extension was deleted by the CLI in the meantime: nothing to keep. */
	return err == ENOENT ? 0 : err;
}

int location_flush(struct location *l)
{
	int err;

	if (l->nops == 0)
		return 0;
	err = store_begin(l->store);
	if (err)
		return err;
	for (size_t i = 0; i < l->nops; i++) {
		err = location_apply_op(l, &l->ops[i]);
		if (err)
			log_warn("location: write for extension %s failed (%d)", l->ops[i].ext, err);
	}
	err = store_commit(l->store);
	if (err) {
		store_rollback(l->store);
		return err;
	}
	location_ops_clear(l);
	return 0;
}

bool location_dirty(const struct location *l)
{
	return l->nops > 0;
}

size_t location_count(const struct location *l)
{
	return l->nbindings;
}

int sockaddr_parse_ip(const char *ip, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		*len = sizeof(*a);
		return inet_pton(AF_INET6, ip, &a->sin6_addr) == 1 ? 0 : EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	*len = sizeof(*a);
	return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? 0 : EINVAL;
}

int sockaddr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return EINVAL;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return EINVAL;
	if (sockaddr_parse_ip(host, ss, len) != 0)
		return EINVAL;
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	return 0;
}

struct load_arg {
	struct location *l;
	int err;
};

static enum sip_transport transport_parse(const char *s)
{
	if (strcmp(s, "tcp") == 0)
		return SIP_TP_TCP;
	if (strcmp(s, "tls") == 0)
		return SIP_TP_TLS;
	return SIP_TP_UDP;
}

static int location_load_one(const struct loc_record *r, void *arg)
{
	struct load_arg *la = arg;
	struct sip_peer peer = {0};
	struct binding_info bi = {
		.contact = sip_str_from(r->contact),
		.user_agent = sip_str_from(r->user_agent),
		.call_id = sip_str_from(r->call_id),
		.cseq = r->cseq,
		.expires_at = r->expires_at,
		.registered_at = r->registered_at,
		.peer = &peer,
	};

	peer.tp = transport_parse(r->transport);
	peer.sock = -1;
	/* A stream connection did not survive the restart; the phone's next
	 * refresh brings a new one. The source is kept for reg list. */
	if (sockaddr_parse(r->source, &peer.addr, &peer.addrlen) != 0)
		log_warn("location: stored source of %s is unreadable", r->ext);
	la->err = location_set(la->l, r->ext, &bi);
	return la->err;
}

int location_load(struct location *l, time_t now)
{
	struct load_arg la = {l, 0};
	int err = store_loc_foreach(l->store, now, location_load_one, &la);

	/* What was just read needs no write back. */
	location_ops_clear(l);
	if (err == 0)
		err = store_loc_purge(l->store, now);
	return err;
}
