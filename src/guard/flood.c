/* Flood protection: see flood.h for the rules. One bounded table of
 * sources keyed through strmap (seeded hashing, so attacker-chosen
 * addresses cannot be made to collide), in least-recently-seen order; when
 * it is full the stalest entry is reused for the newcomer, so a spray of
 * addresses allocates nothing once the table is full.
 *
 * Buckets count milli-packets, so refilling is one multiplication:
 * elapsed milliseconds times packets per second. */
#include "guard/flood.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"

#define FLOOD_KEY_MAX 17u /* family byte + IPv6 address */
#define MILLI 1000

struct source {
	struct strmap_node node;
	struct source *prev, *next; /* head: most recently seen */
	char key[FLOOD_KEY_MAX];
	bool registered;            /* the larger budget */
	bool trusted;               /* no budget at all */
	bool over;                  /* inside an over-budget episode */
	int64_t tokens;             /* milli-packets */
	int64_t refilled_ms, checked_ms;
	int64_t over_start_ms, last_drop_ms;
	int64_t glitch_start_ms;
	unsigned glitches;
};

struct flood {
	struct flood_config cfg;
	struct strmap map;
	struct source *head, *tail;
	unsigned count;
	uint64_t dropped, shed;
	bool overloaded;
	unsigned behind_reports; /* in a row */
	int64_t behind_ms; /* last sign that the loop is behind */
};

void flood_config_defaults(struct flood_config *c)
{
	c->rate = 100;
	c->burst = 400;
	c->rate_registered = 2000;
	c->burst_registered = 10000;
	c->sustain_ms = 5000;
	c->glitches = 50;
	c->glitch_window_ms = 60000;
	c->max_tracked = 65536;
}

/* ---- the table ---- */

static size_t addr_key(const struct ban_addr *a, char *key)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	key[0] = (char)a->family;
	memcpy(key + 1, a->a, n);
	return n + 1;
}

static void list_unlink(struct flood *f, struct source *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		f->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		f->tail = s->prev;
	s->prev = s->next = NULL;
}

static void list_push_front(struct flood *f, struct source *s)
{
	s->prev = NULL;
	s->next = f->head;
	if (f->head)
		f->head->prev = s;
	f->head = s;
	if (!f->tail)
		f->tail = s;
}

static struct source *source_find(const struct flood *f, const char *key, size_t len)
{
	struct strmap_node *n = strmap_find(&f->map, key, len);

	return n ? strmap_entry(n, struct source, node) : NULL;
}

static void source_remove(struct flood *f, struct source *s)
{
	strmap_remove(&f->map, &s->node);
	list_unlink(f, s);
	f->count--;
}

/* A fresh entry: the stalest one reused when the table is full. */
static struct source *source_new(struct flood *f)
{
	struct source *s;

	if (f->count >= f->cfg.max_tracked && f->tail) {
		s = f->tail;
		source_remove(f, s);
		memset(s, 0, sizeof(*s));
		return s;
	}
	return calloc(1, sizeof(*s));
}

static int64_t bucket_size(const struct flood *f, bool registered)
{
	return (int64_t)(registered ? f->cfg.burst_registered : f->cfg.burst) * MILLI;
}

static void set_class(struct source *s, enum flood_class c)
{
	s->registered = c != FLOOD_UNKNOWN;
	s->trusted = c == FLOOD_TRUSTED;
}

static struct source *source_get(struct flood *f, const struct ban_addr *src, int64_t now_ms,
				 flood_class_fn classify, void *arg)
{
	char key[FLOOD_KEY_MAX];
	size_t len = addr_key(src, key);
	struct source *s = source_find(f, key, len);

	if (s) {
		if (s != f->head) {
			list_unlink(f, s);
			list_push_front(f, s);
		}
		return s;
	}
	s = source_new(f);
	if (!s)
		return NULL;
	memcpy(s->key, key, len);
	set_class(s, classify ? classify(arg, src) : FLOOD_UNKNOWN);
	s->checked_ms = now_ms;
	s->refilled_ms = now_ms;
	s->tokens = bucket_size(f, s->registered);
	strmap_insert(&f->map, &s->node, s->key, len); /* ENOMEM still inserts */
	list_push_front(f, s);
	f->count++;
	return s;
}

/* ---- life cycle ---- */

int flood_alloc(struct flood **fp, const struct flood_config *cfg)
{
	struct flood *f = calloc(1, sizeof(*f));

	if (!f)
		return ENOMEM;
	if (strmap_init(&f->map, 256) != 0) {
		free(f);
		return ENOMEM;
	}
	flood_set_config(f, cfg);
	*fp = f;
	return 0;
}

void flood_free(struct flood *f)
{
	if (!f)
		return;
	while (f->head) {
		struct source *s = f->head;

		source_remove(f, s);
		free(s);
	}
	strmap_destroy(&f->map);
	free(f);
}

static unsigned at_least(unsigned v, unsigned lo)
{
	return v < lo ? lo : v;
}

void flood_set_config(struct flood *f, const struct flood_config *cfg)
{
	f->cfg = *cfg;
	/* A zero would make every packet a drop or the table useless. */
	f->cfg.rate = at_least(f->cfg.rate, 1);
	f->cfg.burst = at_least(f->cfg.burst, 1);
	f->cfg.rate_registered = at_least(f->cfg.rate_registered, 1);
	f->cfg.burst_registered = at_least(f->cfg.burst_registered, 1);
	f->cfg.glitches = at_least(f->cfg.glitches, 1);
	f->cfg.sustain_ms = at_least(f->cfg.sustain_ms, 1);
	f->cfg.glitch_window_ms = at_least(f->cfg.glitch_window_ms, 1);
	f->cfg.max_tracked = at_least(f->cfg.max_tracked, 1);
	for (struct source *s = f->head; s; s = s->next) {
		int64_t cap = bucket_size(f, s->registered);

		if (s->tokens > cap)
			s->tokens = cap;
	}
	while (f->count > f->cfg.max_tracked) {
		struct source *s = f->tail;

		source_remove(f, s);
		free(s);
	}
}

/* ---- packets ---- */

static void recheck_class(struct flood *f, struct source *s, const struct ban_addr *src,
			  int64_t now_ms, flood_class_fn classify, void *arg)
{
	if (!classify || now_ms - s->checked_ms < FLOOD_RECHECK_MS)
		return;
	s->checked_ms = now_ms;
	set_class(s, classify(arg, src));
	if (s->tokens > bucket_size(f, s->registered))
		s->tokens = bucket_size(f, s->registered);
}

static void refill(const struct flood *f, struct source *s, int64_t now_ms)
{
	int64_t elapsed = now_ms - s->refilled_ms, cap = bucket_size(f, s->registered);
	int64_t rate = s->registered ? f->cfg.rate_registered : f->cfg.rate;

	if (elapsed <= 0)
		return; /* same tick, or a clock that stepped back */
	s->refilled_ms = now_ms;
	/* Once a bucket is full, a long quiet time cannot overflow it. */
	if (elapsed >= cap / rate + 1)
		s->tokens = cap;
	else if ((s->tokens += elapsed * rate) > cap)
		s->tokens = cap;
}

/* A packet over budget: is this episode long enough to be a flood? */
static enum flood_verdict over_budget(struct flood *f, struct source *s, int64_t now_ms)
{
	f->dropped++;
	if (!s->over || now_ms - s->last_drop_ms >= FLOOD_QUIET_MS) {
		s->over = true;
		s->over_start_ms = now_ms;
	}
	s->last_drop_ms = now_ms;
	if (now_ms - s->over_start_ms < (int64_t)f->cfg.sustain_ms)
		return FLOOD_DROP;
	s->over = false;
	return FLOOD_BAN;
}

enum flood_verdict flood_packet(struct flood *f, const struct ban_addr *src, int64_t now_ms,
				flood_class_fn classify, void *arg)
{
	struct source *s = source_get(f, src, now_ms, classify, arg);

	if (!s)
		return FLOOD_PASS; /* out of memory: fail open, the ban engine still works */
	recheck_class(f, s, src, now_ms, classify, arg);
	if (s->trusted)
		return FLOOD_PASS;
	refill(f, s, now_ms);
	if (s->tokens < MILLI)
		return over_budget(f, s, now_ms);
	s->tokens -= MILLI;
	/* Behind: strangers wait, phones and calls go on. The bucket was
	 * charged first, so a flooder is still caught while it is shed. */
	if (f->overloaded && !s->registered) {
		f->shed++;
		return FLOOD_SHED;
	}
	return FLOOD_PASS;
}

void flood_mark_registered(struct flood *f, const struct ban_addr *src)
{
	char key[FLOOD_KEY_MAX];
	size_t len = addr_key(src, key);
	struct source *s = source_find(f, key, len);

	if (s)
		s->registered = true;
}

bool flood_glitch(struct flood *f, const struct ban_addr *src, int64_t now_ms)
{
	struct source *s = source_get(f, src, now_ms, NULL, NULL);

	if (!s)
		return false;
	if (s->glitches == 0 || now_ms - s->glitch_start_ms >= (int64_t)f->cfg.glitch_window_ms) {
		s->glitches = 0;
		s->glitch_start_ms = now_ms;
	}
	if (++s->glitches < f->cfg.glitches)
		return false;
	s->glitches = 0;
	return true;
}

void flood_forget(struct flood *f, const struct ban_addr *src)
{
	char key[FLOOD_KEY_MAX];
	size_t len = addr_key(src, key);
	struct source *s = source_find(f, key, len);

	if (s) {
		source_remove(f, s);
		free(s);
	}
}

/* ---- load ---- */

int flood_load(struct flood *f, unsigned streak, unsigned messages, unsigned work,
	       int64_t now_ms)
{
	bool behind = streak >= FLOOD_BEHIND_STREAK && messages > 0 &&
		      (uint64_t)work * 4 >= messages;

	f->behind_reports = behind ? f->behind_reports + 1 : 0;
	if (f->behind_reports >= FLOOD_BEHIND_REPORTS) {
		f->behind_ms = now_ms;
		if (f->overloaded)
			return 0;
		f->overloaded = true;
		return 1;
	}
	if (f->overloaded && now_ms - f->behind_ms >= FLOOD_OVERLOAD_HOLD_MS) {
		f->overloaded = false;
		return -1;
	}
	return 0;
}

bool flood_overloaded(const struct flood *f)
{
	return f->overloaded;
}

unsigned flood_tracked(const struct flood *f)
{
	return f->count;
}

uint64_t flood_dropped(const struct flood *f)
{
	return f->dropped;
}

uint64_t flood_shed(const struct flood *f)
{
	return f->shed;
}
