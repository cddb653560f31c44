/* Calling-pattern analysis; see pattern.h for the rules. */
#include "fraud/pattern.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/strmap.h"

#define DAY_S 86400
#define HOUR_S 3600
#define WEEK_HOURS 168
#define MINUTE_SLOTS 60   /* one second each: calls per minute */
#define HOUR_SLOTS 12     /* five minutes each: calls per hour */
#define HOUR_SLOT_S 300
#define NO_SLOT UINT32_MAX

/* ---- sliding windows of call counts ----
 * Slot i counts the calls of every time slot t with t % n == i; `last` is
 * the newest slot written, so the window is the n slots up to it. */

static void ring_advance(uint16_t *slot, unsigned n, int64_t *last, int64_t t)
{
	if (t <= *last)
		return;
	if (t - *last >= n)
		memset(slot, 0, n * sizeof(*slot));
	else
		for (int64_t i = *last + 1; i <= t; i++)
			slot[i % n] = 0;
	*last = t;
}

/* Count one call in slot t and return the window's total. A clock that
 * went back counts into the newest slot rather than an old one. */
static unsigned ring_add(uint16_t *slot, unsigned n, int64_t *last, int64_t t)
{
	unsigned sum = 0;

	ring_advance(slot, n, last, t);
	if (slot[*last % n] < UINT16_MAX)
		slot[*last % n]++;
	for (unsigned i = 0; i < n; i++)
		sum += slot[i];
	return sum;
}

/* ---- state ---- */

/* The static thresholds' state, for an extension or a trunk. */
struct counters {
	uint16_t per_second[MINUTE_SLOTS];
	int64_t per_second_last;
	uint32_t live;                          /* calls started, not ended */
	uint32_t run;                           /* same-prefix run length */
	int64_t run_at;                         /* the run's last call */
	char run_prefix[NUM_E164_MAX + 1];      /* "+44163296" */
	char run_last[NUM_E164_MAX + 1];        /* its last number: a redial does not count */
	int64_t warned_at[PATTERN_KIND__COUNT]; /* last warning per rule; 0 never */
};

/* What extensions and trunks share: the map node, the name, the counters. */
struct subject {
	struct strmap_node node;
	char name[RF_MAX_EXT_LEN + 1];
	int64_t seen_at;                        /* last call: the eviction order */
	struct counters c;
};

/* Weights (in calls) decay together, so their ratios are averages. */
struct baseline {
	float hour[WEEK_HOURS];                 /* calls started per hour of the week */
	float cls[NUM__COUNT];                  /* calls per destination class */
	float total;                            /* the sum of hour[] */
	float answered, talk_s;                 /* answered calls and their seconds */
	float busy_hours, busy_calls;           /* clock hours that had calls, their calls */
	int64_t cur_hour;                       /* the clock hour being counted (unix hours) */
	uint32_t cur_calls;
	int64_t first_at;                       /* first learned call; 0 none */
	int64_t decayed_at;                     /* the weights are as of this time */
};

struct ext_state {
	struct subject s;                       /* first: table entries are subjects */
	uint16_t per_5min[HOUR_SLOTS];          /* live calls started in the last hour */
	int64_t per_5min_last;
	struct baseline b;
};

/* Extensions or trunks by name, at most `cap` of them. */
struct table {
	struct strmap map;
	unsigned cap;
	size_t size;                            /* of one entry */
};

struct live {
	struct ext_state *ext;  /* borrowed: a subject with live calls is never evicted */
	struct subject *trunk;  /* borrowed, likewise; NULL without a trunk */
	int64_t start, answered; /* answered 0 until it is */
	uint32_t gen;           /* the handle's generation */
	uint32_t next_free;
	enum num_class cls;
	bool in_use;
	bool critical;          /* drew a critical anomaly: not learned */
	bool duration_warned, duration_crit, long_warned;
	char e164[NUM_E164_MAX + 1];
};

struct pattern {
	struct pattern_config cfg;
	struct table exts, trunks;
	struct live *slots;
	uint32_t nslots, nlive, free_head;
};

/* ---- names ---- */

static const char *const kind_names[PATTERN_KIND__COUNT] = {
	[PATTERN_CALLS_PER_MINUTE] = "calls_per_minute",
	[PATTERN_CONCURRENT] = "concurrent",
	[PATTERN_SAME_PREFIX] = "same_prefix",
	[PATTERN_DURATION] = "duration",
	[PATTERN_ODD_HOUR] = "odd_hour",
	[PATTERN_RARE_CLASS] = "rare_class",
	[PATTERN_CALLS_PER_HOUR] = "calls_per_hour",
	[PATTERN_LONG_CALL] = "long_call",
};

const char *pattern_kind_name(enum pattern_kind k)
{
	return (unsigned)k < PATTERN_KIND__COUNT ? kind_names[k] : NULL;
}

const char *pattern_level_name(enum pattern_level l)
{
	return l == PATTERN_WARNING ? "warning" : l == PATTERN_CRITICAL ? "critical" : NULL;
}

void pattern_anomaly_format(const struct pattern_anomaly *a, char *out, size_t outlen)
{
	const char *level = pattern_level_name(a->level), *kind = pattern_kind_name(a->kind);

	snprintf(out, outlen, "%s %s %s %s: %s", level ? level : "?",
		 a->scope == PATTERN_TRUNK ? "trunk" : "extension", a->subject,
		 kind ? kind : "?", a->reason);
}

static bool valid_name(const char *s)
{
	return s && *s && strnlen(s, RF_MAX_EXT_LEN + 1) <= RF_MAX_EXT_LEN;
}

/* ---- configuration ---- */

static struct pattern_levels levels(unsigned warn, unsigned crit)
{
	return (struct pattern_levels){ warn, crit };
}

void pattern_config_from_conf(struct pattern_config *pc, const struct rf_conf *c)
{
	memset(pc, 0, sizeof(*pc));
	pc->ext.per_minute = levels(c->fraud_cpm_warn, c->fraud_cpm_crit);
	pc->ext.concurrent = levels(c->fraud_concurrent_warn, c->fraud_concurrent_crit);
	pc->ext.same_prefix = levels(c->fraud_prefix_warn, c->fraud_prefix_crit);
	pc->trunk.per_minute = levels(c->fraud_trunk_cpm_warn, c->fraud_trunk_cpm_crit);
	pc->trunk.concurrent = levels(c->fraud_trunk_concurrent_warn, c->fraud_trunk_concurrent_crit);
	pc->trunk.same_prefix = levels(c->fraud_trunk_prefix_warn, c->fraud_trunk_prefix_crit);
	pc->prefix_digits = c->fraud_prefix_digits;
	pc->duration_min = levels(c->fraud_duration_warn, c->fraud_duration_crit);
	pc->baseline = c->fraud_baseline;
	pc->half_life_days = c->fraud_half_life_days;
	pc->min_history_days = c->fraud_min_history_days;
	pc->rate_factor = levels(c->fraud_rate_warn, c->fraud_rate_crit);
}

/* Out-of-range values the config table would refuse are clamped, so a
 * caller that fills the struct by hand cannot divide by zero. */
static void config_set(struct pattern *p, const struct pattern_config *cfg)
{
	p->cfg = *cfg;
	if (p->cfg.prefix_digits < 1)
		p->cfg.prefix_digits = 1;
	if (p->cfg.prefix_digits > PATTERN_PREFIX_DIGITS_MAX)
		p->cfg.prefix_digits = PATTERN_PREFIX_DIGITS_MAX;
	if (p->cfg.half_life_days < 1)
		p->cfg.half_life_days = 1;
}

static float half_life_s(const struct pattern *p)
{
	return (float)p->cfg.half_life_days * DAY_S;
}

/* The level a count reaches. */
static enum pattern_level level_of(uint64_t n, struct pattern_levels lv)
{
	if (lv.crit && n >= lv.crit)
		return PATTERN_CRITICAL;
	if (lv.warn && n >= lv.warn)
		return PATTERN_WARNING;
	return PATTERN_NONE;
}

static unsigned level_value(struct pattern_levels lv, enum pattern_level l)
{
	return l == PATTERN_CRITICAL ? lv.crit : lv.warn;
}

/* ---- tables ---- */

static int table_init(struct table *t, unsigned cap, size_t size)
{
	t->cap = cap;
	t->size = size;
	return strmap_init(&t->map, 64);
}

static void free_subject(struct strmap_node *n, void *arg)
{
	struct table *t = arg;

	strmap_remove(&t->map, n);
	free(strmap_entry(n, struct subject, node));
}

static void table_destroy(struct table *t)
{
	if (!t->map.buckets)
		return;
	strmap_foreach(&t->map, free_subject, t);
	strmap_destroy(&t->map);
}

static void find_oldest_idle(struct strmap_node *n, void *arg)
{
	struct subject **oldest = arg, *s = strmap_entry(n, struct subject, node);

	if (s->c.live == 0 && (!*oldest || s->seen_at < (*oldest)->seen_at))
		*oldest = s;
}

/* Forget the subject idle longest; false when every one has a live call. */
static bool table_evict(struct table *t)
{
	struct subject *oldest = NULL;

	strmap_foreach(&t->map, find_oldest_idle, &oldest);
	if (!oldest)
		return false;
	free_subject(&oldest->node, t);
	return true;
}

static struct subject *table_find(const struct table *t, const char *name)
{
	struct strmap_node *n = strmap_find(&t->map, name, strlen(name));

	return n ? strmap_entry(n, struct subject, node) : NULL;
}

/* Find or create; NULL when the table is full of live subjects or memory
 * ran out. The name is valid_name(). */
static struct subject *table_get(struct table *t, const char *name)
{
	struct subject *s = table_find(t, name);
	size_t len = strlen(name);

	if (s)
		return s;
	if (t->map.count >= t->cap && !table_evict(t))
		return NULL;
	s = calloc(1, t->size);
	if (!s)
		return NULL;
	memcpy(s->name, name, len);
	/* Growing the buckets may fail; the entry is inserted all the same. */
	(void)strmap_insert(&t->map, &s->node, s->name, len);
	return s;
}

static struct ext_state *ext_get(struct pattern *p, const char *name)
{
	return (struct ext_state *)table_get(&p->exts, name);
}

/* ---- live calls ---- */

static bool live_grow(struct pattern *p)
{
	uint32_t n = p->nslots ? p->nslots * 2 : 16;
	struct live *s;

	if (p->nslots >= PATTERN_MAX_LIVE_CALLS)
		return false;
	if (n > PATTERN_MAX_LIVE_CALLS)
		n = PATTERN_MAX_LIVE_CALLS;
	s = realloc(p->slots, n * sizeof(*s));
	if (!s)
		return false;
	memset(s + p->nslots, 0, (n - p->nslots) * sizeof(*s));
	for (uint32_t i = n; i-- > p->nslots;) {
		s[i].next_free = p->free_head;
		p->free_head = i;
	}
	p->slots = s;
	p->nslots = n;
	return true;
}

/* The generation in the high half, the slot index + 1 in the low half:
 * 0 is never a handle, and a stale one does not match a reused slot. */
static uint64_t live_handle(const struct pattern *p, const struct live *l)
{
	return (uint64_t)l->gen << 32 | ((uint64_t)(l - p->slots) + 1);
}

static struct live *live_take(struct pattern *p, uint64_t *handle)
{
	struct live *l;

	if (p->free_head == NO_SLOT && !live_grow(p))
		return NULL;
	l = &p->slots[p->free_head];
	p->free_head = l->next_free;
	uint32_t gen = l->gen + 1 ? l->gen + 1 : 1;
	memset(l, 0, sizeof(*l));
	l->gen = gen;
	l->in_use = true;
	p->nlive++;
	*handle = live_handle(p, l);
	return l;
}

static struct live *live_find(struct pattern *p, uint64_t handle)
{
	uint64_t idx = (handle & UINT32_MAX) - 1;

	if (!handle || idx >= p->nslots)
		return NULL;
	struct live *l = &p->slots[idx];
	return l->in_use && l->gen == handle >> 32 ? l : NULL;
}

static void live_release(struct pattern *p, struct live *l)
{
	l->in_use = false;
	l->next_free = p->free_head;
	p->free_head = (uint32_t)(l - p->slots);
	p->nlive--;
}

/* ---- reporting ---- */

/* One call being judged, and where its anomalies go. */
struct judge {
	struct pattern *p;
	int64_t now;
	pattern_report_fn fn;
	void *arg;
	struct live *call;
	enum pattern_level worst;
};

/* Criticals always; a warning once per PATTERN_WARN_REPEAT_S per rule. */
static bool due(struct judge *j, struct subject *s, enum pattern_kind kind,
		enum pattern_level lvl)
{
	int64_t *at = &s->c.warned_at[kind];

	if (lvl == PATTERN_NONE)
		return false;
	if (lvl == PATTERN_CRITICAL)
		return true;
	if (*at && j->now - *at < PATTERN_WARN_REPEAT_S && j->now >= *at)
		return false;
	*at = j->now;
	return true;
}

static void report(struct judge *j, const struct subject *s, enum pattern_scope scope,
		   enum pattern_kind kind, enum pattern_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void report(struct judge *j, const struct subject *s, enum pattern_scope scope,
		   enum pattern_kind kind, enum pattern_level lvl, const char *fmt, ...)
{
	struct pattern_anomaly a;
	va_list ap;

	memset(&a, 0, sizeof(a));
	a.level = lvl;
	a.kind = kind;
	a.scope = scope;
	memcpy(a.subject, s->name, sizeof(a.subject));
	memcpy(a.ext, j->call->ext->s.name, sizeof(a.ext));
	if (j->call->trunk)
		memcpy(a.trunk, j->call->trunk->name, sizeof(a.trunk));
	a.call = live_handle(j->p, j->call);
	va_start(ap, fmt);
	vsnprintf(a.reason, sizeof(a.reason), fmt, ap);
	va_end(ap);
	if (lvl > j->worst)
		j->worst = lvl;
	if (lvl == PATTERN_CRITICAL)
		j->call->critical = true;
	if (j->fn)
		j->fn(j->arg, &a);
}

/* "20 calls in the last minute; critical at 20" */
static void report_count(struct judge *j, struct subject *s, enum pattern_scope scope,
			 enum pattern_kind kind, unsigned n, struct pattern_levels lv,
			 const char *what)
{
	enum pattern_level lvl = level_of(n, lv);

	if (due(j, s, kind, lvl))
		report(j, s, scope, kind, lvl, "%u %s; %s at %u", n, what,
		       pattern_level_name(lvl), level_value(lv, lvl));
}

/* ---- static thresholds ---- */

/* The number's first `digits` digits after its country code, with the
 * '+' and the code ("+44163296"); false for a short code or a number
 * shorter than that. */
static bool number_prefix(const struct num_info *num, unsigned digits,
			  char out[NUM_E164_MAX + 1])
{
	size_t len = strnlen(num->e164, sizeof(num->e164)), n = 1 + digits;

	if (num->e164[0] != '+' || num->cc == 0)
		return false;
	for (unsigned cc = num->cc; cc; cc /= 10)
		n++;
	if (n > len || n > NUM_E164_MAX)
		return false;
	memcpy(out, num->e164, n);
	out[n] = '\0';
	return true;
}

static unsigned prefix_run(struct counters *c, const struct num_info *num, unsigned digits,
			   int64_t now)
{
	char prefix[NUM_E164_MAX + 1];

	if (!number_prefix(num, digits, prefix)) {
		c->run = 0;
		c->run_prefix[0] = '\0';
		return 0;
	}
	if (c->run == 0 || strcmp(prefix, c->run_prefix) || now - c->run_at > PATTERN_RUN_GAP_S) {
		c->run = 1;
		memcpy(c->run_prefix, prefix, sizeof(c->run_prefix));
	} else if (strcmp(num->e164, c->run_last)) {
		c->run++;
	}
	memcpy(c->run_last, num->e164, sizeof(c->run_last));
	c->run_at = now;
	return c->run;
}

static void judge_static(struct judge *j, struct subject *s, enum pattern_scope scope,
			 const struct pattern_static *lv, const struct num_info *num)
{
	struct counters *c = &s->c;
	char what[64];
	unsigned n;

	n = ring_add(c->per_second, MINUTE_SLOTS, &c->per_second_last, j->now);
	report_count(j, s, scope, PATTERN_CALLS_PER_MINUTE, n, lv->per_minute,
		     "calls in the last minute");
	report_count(j, s, scope, PATTERN_CONCURRENT, c->live, lv->concurrent, "calls at once");
	n = prefix_run(c, num, j->p->cfg.prefix_digits, j->now);
	snprintf(what, sizeof(what), "calls in a row to different numbers starting %s",
		 c->run_prefix);
	report_count(j, s, scope, PATTERN_SAME_PREFIX, n, lv->same_prefix, what);
}

/* ---- the baseline ---- */

static float decay_factor(const struct pattern *p, const struct baseline *b, int64_t t)
{
	return t > b->decayed_at ? exp2f(-(float)(t - b->decayed_at) / half_life_s(p)) : 1.0f;
}

/* Bring the weights to time t, at most once per PATTERN_DECAY_STEP_S: the
 * error is under an hour's decay (0.1% with a four-week half-life). */
static void decay_to(const struct pattern *p, struct baseline *b, int64_t t)
{
	float f;

	if (t - b->decayed_at < PATTERN_DECAY_STEP_S)
		return;
	f = decay_factor(p, b, t);
	for (unsigned i = 0; i < WEEK_HOURS; i++)
		b->hour[i] *= f;
	for (unsigned i = 0; i < NUM__COUNT; i++)
		b->cls[i] *= f;
	b->total *= f;
	b->answered *= f;
	b->talk_s *= f;
	b->busy_hours *= f;
	b->busy_calls *= f;
	b->decayed_at = t;
}

/* Hours since Monday 00:00, local time. */
static unsigned hour_of_week(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
	return (unsigned)((tm->tm_wday + 6) % 7 * 24 + tm->tm_hour);
}

/* Calls in clock hours that had calls, for the normal hourly rate. An
 * hour is folded in when a later one begins; a call learned after its
 * hour was folded (a long call) adds to the calls only. */
static void count_busy_hour(struct baseline *b, int64_t start, float w)
{
	int64_t h = start / HOUR_S;

	if (h == b->cur_hour) {
		b->cur_calls++;
		return;
	}
	if (h < b->cur_hour) {
		b->busy_calls += w;
		return;
	}
	if (b->cur_calls) {
		b->busy_hours += 1.0f;
		b->busy_calls += (float)b->cur_calls;
	}
	b->cur_hour = h;
	b->cur_calls = 1;
}

static void learn(struct pattern *p, struct ext_state *e, int64_t start, int64_t talk_s,
		  bool answered, enum num_class cls)
{
	struct baseline *b = &e->b;
	struct tm tm;
	float w;

	if ((unsigned)cls >= NUM__COUNT)
		return;
	decay_to(p, b, start);
	/* Older than the weights (learned at its end): as decayed since. */
	w = start >= b->decayed_at ? 1.0f : exp2f(-(float)(b->decayed_at - start) / half_life_s(p));
	b->hour[hour_of_week(start, &tm)] += w;
	b->cls[cls] += w;
	b->total += w;
	if (answered) {
		b->answered += w;
		b->talk_s += w * (float)(talk_s > 0 ? talk_s : 0);
	}
	count_busy_hour(b, start, w);
	if (!b->first_at || start < b->first_at)
		b->first_at = start;
	if (start > e->s.seen_at)
		e->s.seen_at = start;
}

static bool judged(const struct pattern *p, const struct baseline *b, int64_t now)
{
	if (!p->cfg.baseline || !b->first_at ||
	    now - b->first_at < (int64_t)p->cfg.min_history_days * DAY_S)
		return false;
	return b->total * decay_factor(p, b, now) >= PATTERN_MIN_WEIGHT;
}

/* Below this weight an hour or a class is idle (pattern.h). */
static float idle_bound(const struct baseline *b)
{
	return fmaxf(PATTERN_IDLE_MIN_WEIGHT, b->total * PATTERN_IDLE_SHARE);
}

/* The hour of the week and the hours either side of it. */
static float around(const struct baseline *b, unsigned how)
{
	return b->hour[(how + WEEK_HOURS - 1) % WEEK_HOURS] + b->hour[how] +
	       b->hour[(how + 1) % WEEK_HOURS];
}

static const char *const day_names[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

/* "4 weeks", or "10 days" while under two weeks. */
static void history_words(const struct baseline *b, int64_t now, char *out, size_t len)
{
	long long days = (long long)((now - b->first_at) / DAY_S);

	if (days >= 14)
		snprintf(out, len, "%lld weeks", days / 7);
	else
		snprintf(out, len, "%lld days", days);
}

/* "no calls", or "few calls (0.4% of its calls)" */
static void share_words(float w, float total, const char *what, char *out, size_t len)
{
	if (w < 0.05f)
		snprintf(out, len, "no %s", what);
	else
		snprintf(out, len, "few %s (%.1f%% of its calls)", what, 100.0 * w / total);
}

static void report_odd_hour(struct judge *j, struct ext_state *e, const struct tm *tm,
			    unsigned how)
{
	char hist[32], share[96];

	if (!due(j, &e->s, PATTERN_ODD_HOUR, PATTERN_WARNING))
		return;
	history_words(&e->b, j->now, hist, sizeof(hist));
	share_words(around(&e->b, how), e->b.total, "calls", share, sizeof(share));
	report(j, &e->s, PATTERN_EXT, PATTERN_ODD_HOUR, PATTERN_WARNING,
	       "call at %02d:%02d on a %s; this extension has made %s within an hour of that"
	       " time of the week in %s of history",
	       tm->tm_hour, tm->tm_min, day_names[tm->tm_wday], share, hist);
}

/* The classes barred by default: where toll fraud sends its calls. */
static bool risky(enum num_class c)
{
	return c == NUM_INTERNATIONAL || c == NUM_PREMIUM || c == NUM_PERSONAL ||
	       c == NUM_DIRECTORY || c == NUM_SERVICE;
}

static void report_rare_class(struct judge *j, struct ext_state *e, const struct num_info *num,
			      const struct tm *tm, bool odd_hour)
{
	enum pattern_level lvl = odd_hour ? PATTERN_CRITICAL : PATTERN_WARNING;
	const char *cls = num_class_name(num->cls);
	char hist[32], share[96], what[48], to[16] = "";

	if (!due(j, &e->s, PATTERN_RARE_CLASS, lvl))
		return;
	history_words(&e->b, j->now, hist, sizeof(hist));
	snprintf(what, sizeof(what), "%s calls", cls);
	share_words(e->b.cls[num->cls], e->b.total, what, share, sizeof(share));
	if (num->country[0])
		snprintf(to, sizeof(to), " to %.2s", num->country);
	report(j, &e->s, PATTERN_EXT, PATTERN_RARE_CLASS, lvl,
	       "%s call%s at %02d:%02d; this extension has made %s in %s of history%s",
	       cls, to, tm->tm_hour, tm->tm_min, share, hist,
	       odd_hour ? ", and is idle at this hour" : "");
}

/* The rate-factor levels as call counts, for a normal rate. */
static struct pattern_levels rate_levels(struct pattern_levels factor, float normal)
{
	return levels(factor.warn ? (unsigned)ceilf((float)factor.warn * normal) : 0,
		      factor.crit ? (unsigned)ceilf((float)factor.crit * normal) : 0);
}

static void report_rate(struct judge *j, struct ext_state *e, unsigned n)
{
	const struct baseline *b = &e->b;
	float normal = b->busy_hours >= 1.0f ? b->busy_calls / b->busy_hours : 0.0f;
	struct pattern_levels lv = rate_levels(j->p->cfg.rate_factor,
					       fmaxf(normal, PATTERN_RATE_NORMAL_MIN));
	enum pattern_level lvl = level_of(n, lv);

	if (due(j, &e->s, PATTERN_CALLS_PER_HOUR, lvl))
		report(j, &e->s, PATTERN_EXT, PATTERN_CALLS_PER_HOUR, lvl,
		       "%u calls in the last hour; this extension makes %.1f in an hour"
		       " when it calls; %s at %u",
		       n, normal, pattern_level_name(lvl), level_value(lv, lvl));
}

static void judge_baseline(struct judge *j, struct ext_state *e, const struct num_info *num)
{
	unsigned n = ring_add(e->per_5min, HOUR_SLOTS, &e->per_5min_last, j->now / HOUR_SLOT_S);
	struct tm tm;
	unsigned how;
	bool odd;

	if (!judged(j->p, &e->b, j->now))
		return;
	decay_to(j->p, &e->b, j->now);
	how = hour_of_week(j->now, &tm);
	odd = around(&e->b, how) < idle_bound(&e->b);
	if (odd)
		report_odd_hour(j, e, &tm, how);
	if (risky(num->cls) && e->b.cls[num->cls] < idle_bound(&e->b))
		report_rare_class(j, e, num, &tm, odd);
	report_rate(j, e, n);
}

/* ---- the engine ---- */

int pattern_alloc(struct pattern **pp, const struct pattern_config *cfg)
{
	struct pattern *p = calloc(1, sizeof(*p));
	int err = ENOMEM;

	if (!p)
		goto out;
	config_set(p, cfg);
	p->free_head = NO_SLOT;
	if (table_init(&p->exts, PATTERN_MAX_EXTS, sizeof(struct ext_state)) ||
	    table_init(&p->trunks, PATTERN_MAX_TRUNKS, sizeof(struct subject)))
		goto out;
	*pp = p;
	p = NULL;
	err = 0;
out:
	pattern_free(p);
	return err;
}

void pattern_free(struct pattern *p)
{
	if (!p)
		return;
	table_destroy(&p->exts);
	table_destroy(&p->trunks);
	free(p->slots);
	free(p);
}

void pattern_set_config(struct pattern *p, const struct pattern_config *cfg)
{
	config_set(p, cfg);
}

int64_t pattern_history_since_ms(const struct pattern *p, int64_t now)
{
	int64_t since = now - (int64_t)PATTERN_HISTORY_HALF_LIVES * p->cfg.half_life_days * DAY_S;

	return since > 0 ? since * 1000 : 0;
}

int pattern_learn_cdr(const struct cdr_record *r, void *pattern)
{
	struct pattern *p = pattern;
	enum num_class cls;
	struct ext_state *e;

	if (strcmp(r->direction, "outbound") || num_class_parse(r->dest_class, &cls) ||
	    cls == NUM_EMERGENCY || cls == NUM_INVALID || r->start_ms <= 0 ||
	    !valid_name(r->caller))
		return 0;
	e = ext_get(p, r->caller);
	if (!e)
		return ENOMEM;
	learn(p, e, r->start_ms / 1000, r->duration_s, r->answer_ms > 0, cls);
	return 0;
}

/* Register the call with its extension and trunk. */
static struct live *call_open(struct pattern *p, const char *ext, const char *trunk,
			      const struct num_info *num, int64_t now, uint64_t *handle)
{
	struct ext_state *e = ext_get(p, ext);
	struct subject *t = valid_name(trunk) ? table_get(&p->trunks, trunk) : NULL;
	struct live *l;

	if (!e || !(l = live_take(p, handle)))
		return NULL;
	l->ext = e;
	l->trunk = t;
	l->start = now;
	l->cls = num->cls;
	memcpy(l->e164, num->e164, sizeof(l->e164));
	e->s.seen_at = now;
	e->s.c.live++;
	if (t) {
		t->seen_at = now;
		t->c.live++;
	}
	return l;
}

enum pattern_level pattern_call_start(struct pattern *p, const char *ext, const char *trunk,
				      const struct num_info *num, int64_t now,
				      pattern_report_fn fn, void *arg, uint64_t *call)
{
	struct judge j = { .p = p, .now = now, .fn = fn, .arg = arg };

	*call = 0;
	if (!valid_name(ext) || !num || num->cls == NUM_EMERGENCY)
		return PATTERN_NONE;
	j.call = call_open(p, ext, trunk, num, now, call);
	if (!j.call)
		return PATTERN_NONE;
	judge_static(&j, &j.call->ext->s, PATTERN_EXT, &p->cfg.ext, num);
	if (j.call->trunk)
		judge_static(&j, j.call->trunk, PATTERN_TRUNK, &p->cfg.trunk, num);
	judge_baseline(&j, j.call->ext, num);
	return j.worst;
}

void pattern_call_answered(struct pattern *p, uint64_t call, int64_t now)
{
	struct live *l = live_find(p, call);

	if (l && !l->answered)
		l->answered = now;
}

void pattern_call_end(struct pattern *p, uint64_t call, int64_t now)
{
	struct live *l = live_find(p, call);

	if (!l)
		return;
	l->ext->s.c.live--;
	if (l->trunk)
		l->trunk->c.live--;
	if (!l->critical)
		learn(p, l->ext, l->start, l->answered ? now - l->answered : 0, l->answered != 0,
		      l->cls);
	live_release(p, l);
}

static void check_duration(struct judge *j, struct live *l)
{
	struct pattern_levels lv = j->p->cfg.duration_min;
	int64_t talk = j->now - l->answered;
	enum pattern_level lvl = level_of(talk > 0 ? (uint64_t)talk / 60 : 0, lv);

	if (lvl == PATTERN_NONE || (lvl == PATTERN_CRITICAL ? l->duration_crit : l->duration_warned))
		return;
	/* A critical implies the warning: no warning after it. */
	l->duration_warned = true;
	if (lvl == PATTERN_CRITICAL)
		l->duration_crit = true;
	report(j, &l->ext->s, PATTERN_EXT, PATTERN_DURATION, lvl,
	       "call to %s running %lld minutes; %s at %u", l->e164, (long long)talk / 60,
	       pattern_level_name(lvl), level_value(lv, lvl));
}

static void check_long_call(struct judge *j, struct live *l)
{
	const struct baseline *b = &l->ext->b;
	int64_t talk = j->now - l->answered;
	float average;

	if (l->long_warned || l->duration_warned || !judged(j->p, b, j->now) ||
	    b->answered < 1.0f)
		return;
	average = b->talk_s / b->answered;
	/* Whole seconds: float noise must not move the level by one. */
	long long level = llroundf(PATTERN_LONG_FACTOR * average);
	if (talk < (level > PATTERN_LONG_MIN_S ? level : PATTERN_LONG_MIN_S))
		return;
	l->long_warned = true;
	report(j, &l->ext->s, PATTERN_EXT, PATTERN_LONG_CALL, PATTERN_WARNING,
	       "call to %s running %lld minutes; this extension's calls last %.1f minutes"
	       " on average", l->e164, (long long)talk / 60, average / 60.0f);
}

void pattern_tick(struct pattern *p, int64_t now, pattern_report_fn fn, void *arg)
{
	struct judge j = { .p = p, .now = now, .fn = fn, .arg = arg };

	for (uint32_t i = 0; i < p->nslots; i++) {
		struct live *l = &p->slots[i];

		if (!l->in_use || !l->answered)
			continue;
		j.call = l;
		check_duration(&j, l);
		check_long_call(&j, l);
	}
}

unsigned pattern_ext_count(const struct pattern *p)
{
	return (unsigned)p->exts.map.count;
}

unsigned pattern_live_count(const struct pattern *p)
{
	return p->nlive;
}

bool pattern_ext_judged(const struct pattern *p, const char *ext, int64_t now)
{
	const struct subject *s = valid_name(ext) ? table_find(&p->exts, ext) : NULL;

	return s && judged(p, &((const struct ext_state *)s)->b, now);
}

size_t pattern_ext_bytes(void)
{
	return sizeof(struct ext_state);
}
