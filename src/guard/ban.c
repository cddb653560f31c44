/* The ban engine: see ban.h for the rules. Five bounded tables keyed
 * through strmap (seeded hashing, so attacker-chosen keys cannot be made
 * to collide): per-source counters, per-(source, extension) counters,
 * per-extension counters, bans and locks. The counter tables forget their
 * least recently used entry when full; bans and locks are never forgotten
 * while they are in force. */
#include "guard/ban.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/limits.h"
#include "core/strmap.h"

#define BAN_SET_MAX 32u     /* distinct extensions remembered per source */
#define BAN_SOURCES_MAX 16u /* distinct sources remembered per extension */
#define BAN_KEY_MAX 17u     /* family byte + IPv6 address */

/* ---- a bounded map with least-recently-used order ---- */

struct lru_node {
	struct strmap_node node;
	struct lru_node *prev, *next; /* head: most recently used */
};

struct lru {
	struct strmap map;
	struct lru_node *head, *tail;
	unsigned count;
};

static void lru_unlink(struct lru *l, struct lru_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

static void lru_push_front(struct lru *l, struct lru_node *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	l->head = n;
	if (!l->tail)
		l->tail = n;
}

static void lru_touch(struct lru *l, struct lru_node *n)
{
	lru_unlink(l, n);
	lru_push_front(l, n);
}

static struct lru_node *lru_find(const struct lru *l, const void *key, size_t len)
{
	struct strmap_node *n = strmap_find(&l->map, key, len);

	return n ? strmap_entry(n, struct lru_node, node) : NULL;
}

static void lru_insert(struct lru *l, struct lru_node *n, const void *key, size_t len)
{
	strmap_insert(&l->map, &n->node, key, len); /* ENOMEM still inserts */
	lru_push_front(l, n);
	l->count++;
}

static void lru_remove(struct lru *l, struct lru_node *n)
{
	strmap_remove(&l->map, &n->node);
	lru_unlink(l, n);
	l->count--;
	free(n);
}

static void lru_clear(struct lru *l)
{
	while (l->head)
		lru_remove(l, l->head);
}

/* ---- entries ---- */

struct tracker { /* per source */
	struct lru_node ln;
	char key[BAN_KEY_MAX];
	int64_t fail_start, scan_start;
	unsigned failures, naccounts, nscanned;
	uint32_t accounts[BAN_SET_MAX]; /* extensions it failed for */
	uint32_t scanned[BAN_SET_MAX];  /* extensions it was challenged for */
};

struct pair { /* per (source, extension) */
	struct lru_node ln;
	char key[BAN_KEY_MAX + RF_MAX_EXT_LEN];
	int64_t start, blocked_until;
	unsigned failures;
};

struct account { /* per extension */
	struct lru_node ln;
	char ext[RF_MAX_EXT_LEN];
	int64_t start;
	unsigned failures, nsources;
	struct ban_addr sources[BAN_SOURCES_MAX];
};

struct ban_entry {
	struct lru_node ln;
	char key[BAN_KEY_MAX];
	struct ban_addr addr;
	int64_t until;
	unsigned level;
	enum ban_reason reason;
	bool ended; /* its end was reported by ban_sweep */
};

struct lock_entry {
	struct lru_node ln;
	char ext[RF_MAX_EXT_LEN + 1];
	int64_t until;
	bool ended;
};

struct healthy { /* an address with registered phones */
	struct lru_node ln;
	char key[BAN_KEY_MAX];
	int64_t until;
};

#define BAN_TABLES 6

struct ban_engine {
	struct ban_config cfg;
	uint32_t seed;
	struct lru trackers, pairs, accounts, bans, locks, healthy;
};

static void ban_tables(struct ban_engine *b, struct lru *t[BAN_TABLES])
{
	t[0] = &b->trackers;
	t[1] = &b->pairs;
	t[2] = &b->accounts;
	t[3] = &b->bans;
	t[4] = &b->locks;
	t[5] = &b->healthy;
}

/* ---- addresses ---- */

void ban_addr_from_sockaddr(const struct sockaddr *sa, struct ban_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		out->family = AF_INET;
		memcpy(out->a, a6->s6_addr + 12, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->a, a6->s6_addr, 16);
	}
}

int ban_addr_parse(const char *s, struct ban_addr *out)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct ban_addr a = {0};

	if (inet_pton(AF_INET, s, a.a) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, a.a) == 1) {
		a.family = AF_INET6;
		if (memcmp(a.a, v4mapped, 12) == 0) {
			/* ::ffff:a.b.c.d is the IPv4 address a firewall sees. */
			a.family = AF_INET;
			memmove(a.a, a.a + 12, 4);
			memset(a.a + 4, 0, 12);
		}
	} else {
		return EINVAL;
	}
	*out = a;
	return 0;
}

void ban_addr_format(const struct ban_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static size_t addr_key(const struct ban_addr *a, char *key)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	key[0] = (char)a->family;
	memcpy(key + 1, a->a, n);
	return n + 1;
}

static void addr_of_key(const char *key, struct ban_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)key[0];
	memcpy(a->a, key + 1, a->family == AF_INET ? 4 : 16);
}

static bool addr_eq(const struct ban_addr *x, const struct ban_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16) == 0;
}

/* ---- configuration ---- */

void ban_config_defaults(struct ban_config *c)
{
	memset(c, 0, sizeof(*c));
	c->failures = 5;
	c->window_s = 600;
	c->ban_s = 900;
	c->ban_max_s = 86400;
	c->scan_extensions = 20;
	c->nat_accounts = 5;
	c->lock_failures = 20;
	c->lock_sources = 3;
	c->lock_window_s = 3600;
	c->lock_s = 3600;
	c->max_tracked = 65536;
	c->max_bans = 65536;
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void ban_set_config(struct ban_engine *b, const struct ban_config *cfg)
{
	b->cfg = *cfg;
	/* The sets behind these thresholds are fixed arrays. */
	b->cfg.scan_extensions = clamp(cfg->scan_extensions, 1, BAN_SET_MAX);
	b->cfg.nat_accounts = clamp(cfg->nat_accounts, 1, BAN_SET_MAX);
	b->cfg.lock_sources = clamp(cfg->lock_sources, 1, BAN_SOURCES_MAX);
	b->cfg.failures = clamp(cfg->failures, 1, 1000000);
	b->cfg.lock_failures = clamp(cfg->lock_failures, 1, 1000000);
	b->cfg.max_tracked = clamp(cfg->max_tracked, 16, 1u << 24);
	b->cfg.max_bans = clamp(cfg->max_bans, 16, 1u << 24);
	b->cfg.nwhitelist = cfg->nwhitelist > BAN_MAX_WHITELIST ? BAN_MAX_WHITELIST : cfg->nwhitelist;
}

const char *ban_reason_name(enum ban_reason r)
{
	switch (r) {
	case BAN_AUTH_FAILURES:
		return "auth_failures";
	case BAN_SCAN:
		return "scan";
	case BAN_FLOOD:
		return "flood";
	case BAN_GLITCHES:
		return "glitches";
	case BAN_MANUAL:
		break;
	}
	return "manual";
}

enum ban_reason ban_reason_parse(const char *s)
{
	for (enum ban_reason r = BAN_AUTH_FAILURES; r < BAN_MANUAL; r++) {
		if (strcmp(s, ban_reason_name(r)) == 0)
			return r;
	}
	return BAN_MANUAL;
}

/* ---- life cycle ---- */

int ban_alloc(struct ban_engine **bp, const struct ban_config *cfg)
{
	struct ban_engine *b = calloc(1, sizeof(*b));
	struct lru *tables[BAN_TABLES];

	if (!b)
		return ENOMEM;
	ban_tables(b, tables);
	for (unsigned i = 0; i < BAN_TABLES; i++) {
		if (strmap_init(&tables[i]->map, 64) != 0) {
			for (unsigned j = 0; j < i; j++)
				strmap_destroy(&tables[j]->map);
			free(b);
			return ENOMEM;
		}
	}
	if (getrandom(&b->seed, sizeof(b->seed), 0) != sizeof(b->seed))
		b->seed = (uint32_t)(uintptr_t)b;
	ban_set_config(b, cfg);
	*bp = b;
	return 0;
}

void ban_free(struct ban_engine *b)
{
	struct lru *tables[BAN_TABLES];

	if (!b)
		return;
	ban_tables(b, tables);
	for (unsigned i = 0; i < BAN_TABLES; i++) {
		lru_clear(tables[i]);
		strmap_destroy(&tables[i]->map);
	}
	free(b);
}

/* ---- lookups ---- */

bool ban_whitelisted(const struct ban_engine *b, const struct ban_addr *src)
{
	struct sockaddr_storage ss = {0};

	if (src->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, src->a, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, src->a, 16);
	}
	for (unsigned i = 0; i < b->cfg.nwhitelist; i++) {
		if (acl_cidr_match(&b->cfg.whitelist[i], (struct sockaddr *)&ss))
			return true;
	}
	return false;
}

static struct ban_entry *ban_find(const struct ban_engine *b, const struct ban_addr *src)
{
	char key[BAN_KEY_MAX];
	struct lru_node *n = lru_find(&b->bans, key, addr_key(src, key));

	return n ? (struct ban_entry *)n : NULL;
}

bool ban_source_banned(const struct ban_engine *b, const struct ban_addr *src, int64_t now)
{
	const struct ban_entry *e;

	if (b->bans.count == 0)
		return false; /* the common case costs nothing */
	e = ban_find(b, src);
	return e && e->until > now && !ban_whitelisted(b, src);
}

static size_t pair_key(const struct ban_addr *src, const char *ext, size_t extlen, char *key)
{
	size_t n = addr_key(src, key);

	if (extlen > RF_MAX_EXT_LEN)
		extlen = RF_MAX_EXT_LEN;
	memcpy(key + n, ext, extlen);
	return n + extlen;
}

bool ban_pair_blocked(const struct ban_engine *b, const struct ban_addr *src,
		      const char *ext, size_t extlen, int64_t now)
{
	char key[BAN_KEY_MAX + RF_MAX_EXT_LEN];
	struct lru_node *n;

	if (b->pairs.count == 0)
		return false;
	n = lru_find(&b->pairs, key, pair_key(src, ext, extlen, key));
	return n && ((struct pair *)n)->blocked_until > now;
}

bool ban_account_locked(const struct ban_engine *b, const char *ext, size_t extlen,
			int64_t now)
{
	struct lru_node *n;

	if (b->locks.count == 0 || extlen > RF_MAX_EXT_LEN)
		return false;
	n = lru_find(&b->locks, ext, extlen);
	return n && ((struct lock_entry *)n)->until > now;
}

/* ---- counters ---- */

/* Make room in a counter table by forgetting its stalest entry. */
static void lru_make_room(struct lru *l, unsigned max)
{
	while (l->count >= max && l->tail)
		lru_remove(l, l->tail);
}

static struct tracker *tracker_get(struct ban_engine *b, const struct ban_addr *src)
{
	char key[BAN_KEY_MAX];
	size_t len = addr_key(src, key);
	struct lru_node *n = lru_find(&b->trackers, key, len);
	struct tracker *t;

	if (n) {
		lru_touch(&b->trackers, n);
		return (struct tracker *)n;
	}
	lru_make_room(&b->trackers, b->cfg.max_tracked);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	memcpy(t->key, key, len);
	lru_insert(&b->trackers, &t->ln, t->key, len);
	return t;
}

static uint32_t ext_hash(const struct ban_engine *b, const char *ext, size_t len)
{
	uint32_t h = 2166136261u ^ b->seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)ext[i]) * 16777619u;
	return h;
}

/* Add to a small set; returns its new size (it never exceeds `cap`). */
static unsigned set_add(uint32_t *set, unsigned n, unsigned cap, uint32_t v)
{
	for (unsigned i = 0; i < n; i++) {
		if (set[i] == v)
			return n;
	}
	if (n < cap)
		set[n++] = v;
	return n;
}

static unsigned set_del(uint32_t *set, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++) {
		if (set[i] == v) {
			set[i] = set[n - 1];
			return n - 1;
		}
	}
	return n;
}

/* ---- bans ---- */

static struct ban_entry *ban_entry_get(struct ban_engine *b, const struct ban_addr *src,
				       int64_t now)
{
	struct ban_entry *e = ban_find(b, src);

	if (e) {
		lru_touch(&b->bans, &e->ln);
		return e;
	}
	/* Make room only from bans that are over; one in force is kept. */
	if (b->bans.count >= b->cfg.max_bans) {
		struct ban_entry *old = (struct ban_entry *)b->bans.tail;

		if (!old || old->until > now)
			return NULL;
		lru_remove(&b->bans, &old->ln);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->addr = *src;
	lru_insert(&b->bans, &e->ln, e->key, addr_key(src, e->key));
	return e;
}

int ban_put(struct ban_engine *b, const struct ban_addr *src, int64_t until, unsigned level,
	    enum ban_reason reason)
{
	/* Without a clock here, no old ban may make room: when the table is
	 * full, the caller hears ENOSPC. */
	struct ban_entry *e = ban_entry_get(b, src, INT64_MIN);

	if (!e)
		return ENOSPC;
	e->until = until;
	e->level = level;
	e->reason = reason;
	e->ended = false;
	return 0;
}

/* Ban a source for a repeat of the rules: first ban_s, then doubling. */
static void ban_source(struct ban_engine *b, const struct ban_addr *src, int64_t now,
		       enum ban_reason reason, struct ban_news *news)
{
	struct ban_entry *e = ban_find(b, src);
	unsigned level = 0;
	uint64_t secs;

	if (ban_whitelisted(b, src))
		return;
	/* A repeat within ban_max_s of the previous ban's end lasts longer. */
	if (e && e->until + (int64_t)b->cfg.ban_max_s > now)
		level = e->level + 1;
	e = ban_entry_get(b, src, now);
	if (!e)
		return;
	secs = (uint64_t)b->cfg.ban_s << (level > 20 ? 20 : level);
	if (secs > b->cfg.ban_max_s)
		secs = b->cfg.ban_max_s;
	e->until = now + (int64_t)secs;
	e->level = level;
	e->reason = reason;
	e->ended = false;
	news->banned = true;
	news->ban_until = e->until;
	news->ban_level = level;
	news->ban_reason = reason;
}

void ban_offence(struct ban_engine *b, const struct ban_addr *src, enum ban_reason reason,
		 int64_t now, struct ban_news *news)
{
	memset(news, 0, sizeof(*news));
	ban_source(b, src, now, reason, news);
}

int ban_del(struct ban_engine *b, const struct ban_addr *src)
{
	struct ban_entry *e = ban_find(b, src);

	if (!e)
		return ENOENT;
	lru_remove(&b->bans, &e->ln);
	return 0;
}

/* ---- locks ---- */

int ban_lock_put(struct ban_engine *b, const char *ext, size_t extlen, int64_t until)
{
	struct lru_node *n;
	struct lock_entry *l;

	if (extlen == 0 || extlen > RF_MAX_EXT_LEN)
		return EINVAL;
	n = lru_find(&b->locks, ext, extlen);
	if (n) {
		l = (struct lock_entry *)n;
	} else {
		if (b->locks.count >= b->cfg.max_bans)
			return ENOSPC;
		l = calloc(1, sizeof(*l));
		if (!l)
			return ENOMEM;
		memcpy(l->ext, ext, extlen);
		lru_insert(&b->locks, &l->ln, l->ext, extlen);
	}
	l->until = until;
	l->ended = false;
	return 0;
}

int ban_lock_del(struct ban_engine *b, const char *ext, size_t extlen)
{
	struct lru_node *n = extlen <= RF_MAX_EXT_LEN ? lru_find(&b->locks, ext, extlen) : NULL;

	if (!n)
		return ENOENT;
	lru_remove(&b->locks, n);
	return 0;
}

void ban_clear(struct ban_engine *b)
{
	lru_clear(&b->bans);
	lru_clear(&b->locks);
}

/* ---- what happens on a failure ---- */

/* Count a failure against the pair; block it at the source threshold. */
static void pair_failure(struct ban_engine *b, const struct ban_addr *src, const char *ext,
			 size_t extlen, int64_t now, struct ban_news *news)
{
	char key[BAN_KEY_MAX + RF_MAX_EXT_LEN];
	size_t len = pair_key(src, ext, extlen, key);
	struct lru_node *n = lru_find(&b->pairs, key, len);
	struct pair *p;

	if (n) {
		lru_touch(&b->pairs, n);
		p = (struct pair *)n;
	} else {
		lru_make_room(&b->pairs, b->cfg.max_tracked);
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		memcpy(p->key, key, len);
		lru_insert(&b->pairs, &p->ln, p->key, len);
	}
	if (now - p->start >= (int64_t)b->cfg.window_s) {
		p->start = now;
		p->failures = 0;
	}
	if (++p->failures >= b->cfg.failures && p->blocked_until <= now) {
		p->blocked_until = now + b->cfg.ban_s;
		p->failures = 0;
		news->pair_blocked = true;
		news->pair_until = p->blocked_until;
	}
}

static struct account *account_get(struct ban_engine *b, const char *ext, size_t extlen)
{
	struct lru_node *n = lru_find(&b->accounts, ext, extlen);
	struct account *a;

	if (n) {
		lru_touch(&b->accounts, n);
		return (struct account *)n;
	}
	lru_make_room(&b->accounts, b->cfg.max_tracked);
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->ext, ext, extlen);
	lru_insert(&b->accounts, &a->ln, a->ext, extlen);
	return a;
}

/* Count a failure against an extension; lock it when many failures come
 * from several addresses (distributed guessing). */
static void account_failure(struct ban_engine *b, const struct ban_addr *src, const char *ext,
			    size_t extlen, int64_t now, struct ban_news *news)
{
	struct account *a = account_get(b, ext, extlen);
	bool seen = false;

	if (!a)
		return;
	if (now - a->start >= (int64_t)b->cfg.lock_window_s) {
		a->start = now;
		a->failures = 0;
		a->nsources = 0;
	}
	a->failures++;
	for (unsigned i = 0; i < a->nsources && !seen; i++)
		seen = addr_eq(&a->sources[i], src);
	if (!seen && a->nsources < BAN_SOURCES_MAX)
		a->sources[a->nsources++] = *src;
	if (a->failures < b->cfg.lock_failures || a->nsources < b->cfg.lock_sources ||
	    ban_account_locked(b, ext, extlen, now))
		return;
	if (ban_lock_put(b, ext, extlen, now + b->cfg.lock_s) != 0)
		return;
	news->locked = true;
	news->lock_until = now + b->cfg.lock_s;
	news->lock_failures = a->failures;
	news->lock_sources = a->nsources;
	a->failures = 0;
	a->nsources = 0;
}

static void tracker_window(const struct ban_engine *b, struct tracker *t, int64_t now)
{
	if (now - t->fail_start >= (int64_t)b->cfg.window_s) {
		t->fail_start = now;
		t->failures = 0;
		t->naccounts = 0;
	}
	if (now - t->scan_start >= (int64_t)b->cfg.window_s) {
		t->scan_start = now;
		t->nscanned = 0;
	}
}

void ban_auth_failure(struct ban_engine *b, const struct ban_addr *src, const char *ext,
		      size_t extlen, bool known, bool healthy, int64_t now,
		      struct ban_news *news)
{
	struct tracker *t;

	memset(news, 0, sizeof(*news));
	if (extlen > RF_MAX_EXT_LEN)
		extlen = RF_MAX_EXT_LEN;
	if (known)
		account_failure(b, src, ext, extlen, now, news);
	if (ban_whitelisted(b, src))
		return;
	t = tracker_get(b, src);
	if (!t)
		return;
	tracker_window(b, t, now);
	t->failures++;
	t->naccounts = set_add(t->accounts, t->naccounts, BAN_SET_MAX, ext_hash(b, ext, extlen));
	if (healthy) {
		/* An office behind one address: block the failing device's
		 * account there, and ban the address only when it fails for
		 * many accounts. */
		pair_failure(b, src, ext, extlen, now, news);
		if (t->naccounts < b->cfg.nat_accounts || t->failures < b->cfg.failures)
			return;
	} else if (t->failures < b->cfg.failures) {
		return;
	}
	ban_source(b, src, now, BAN_AUTH_FAILURES, news);
	t->failures = 0;
	t->naccounts = 0;
}

void ban_challenged(struct ban_engine *b, const struct ban_addr *src, const char *ext,
		    size_t extlen, bool healthy, int64_t now, struct ban_news *news)
{
	struct tracker *t;

	memset(news, 0, sizeof(*news));
	if (healthy || ban_whitelisted(b, src))
		return; /* phones behind a registered office address come and go */
	if (extlen > RF_MAX_EXT_LEN)
		extlen = RF_MAX_EXT_LEN;
	t = tracker_get(b, src);
	if (!t)
		return;
	tracker_window(b, t, now);
	t->nscanned = set_add(t->scanned, t->nscanned, BAN_SET_MAX, ext_hash(b, ext, extlen));
	if (t->nscanned < b->cfg.scan_extensions)
		return;
	ban_source(b, src, now, BAN_SCAN, news);
	t->nscanned = 0;
}

void ban_auth_success(struct ban_engine *b, const struct ban_addr *src, const char *ext,
		      size_t extlen)
{
	char key[BAN_KEY_MAX];
	struct lru_node *n;
	struct tracker *t;

	if (b->trackers.count == 0)
		return;
	n = lru_find(&b->trackers, key, addr_key(src, key));
	if (!n)
		return;
	t = (struct tracker *)n;
	if (extlen > RF_MAX_EXT_LEN)
		extlen = RF_MAX_EXT_LEN;
	t->nscanned = set_del(t->scanned, t->nscanned, ext_hash(b, ext, extlen));
	t->failures = 0;
	t->naccounts = 0;
}

void ban_now(struct ban_engine *b, const struct ban_addr *src, enum ban_reason reason,
	     int64_t now, struct ban_news *news)
{
	memset(news, 0, sizeof(*news));
	if (!ban_source_banned(b, src, now))
		ban_source(b, src, now, reason, news);
}

/* ---- healthy addresses ---- */

void ban_mark_healthy(struct ban_engine *b, const struct ban_addr *src, int64_t until)
{
	char key[BAN_KEY_MAX];
	size_t len = addr_key(src, key);
	struct lru_node *n = lru_find(&b->healthy, key, len);
	struct healthy *h;

	if (n) {
		lru_touch(&b->healthy, n);
		h = (struct healthy *)n;
	} else {
		lru_make_room(&b->healthy, b->cfg.max_tracked);
		h = calloc(1, sizeof(*h));
		if (!h)
			return;
		memcpy(h->key, key, len);
		lru_insert(&b->healthy, &h->ln, h->key, len);
	}
	if (until > h->until)
		h->until = until;
}

bool ban_is_healthy(const struct ban_engine *b, const struct ban_addr *src, int64_t now)
{
	char key[BAN_KEY_MAX];
	struct lru_node *n;

	if (b->healthy.count == 0)
		return false;
	n = lru_find(&b->healthy, key, addr_key(src, key));
	return n && ((struct healthy *)n)->until > now;
}

/* ---- time passing ---- */

void ban_sweep(struct ban_engine *b, int64_t now, const struct ban_sweep_cb *cb)
{
	struct lru_node *n, *next;

	for (n = b->bans.head; n; n = next) {
		struct ban_entry *e = (struct ban_entry *)n;
		struct ban_addr a;

		next = n->next;
		if (e->until > now)
			continue;
		addr_of_key(e->key, &a);
		if (!e->ended && cb && cb->lifted)
			cb->lifted(cb->arg, &a, e->reason);
		e->ended = true;
		if (e->until + (int64_t)b->cfg.ban_max_s <= now)
			lru_remove(&b->bans, n);
	}
	for (n = b->locks.head; n; n = next) {
		struct lock_entry *l = (struct lock_entry *)n;

		next = n->next;
		if (l->until > now)
			continue;
		if (cb && cb->unlocked)
			cb->unlocked(cb->arg, l->ext);
		lru_remove(&b->locks, n);
	}
}

unsigned ban_active_count(const struct ban_engine *b, int64_t now)
{
	unsigned n = 0;

	for (const struct lru_node *x = b->bans.head; x; x = x->next)
		n += ((const struct ban_entry *)x)->until > now;
	return n;
}

unsigned ban_tracked_count(const struct ban_engine *b)
{
	return b->trackers.count + b->pairs.count + b->accounts.count + b->healthy.count;
}
