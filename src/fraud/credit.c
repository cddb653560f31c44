/* Credit limits: committed and live spend per scope and period, caps,
 * deadlines and thresholds. credit.h says how the daemon drives it.
 *
 * Spend lives in buckets: one per scope (system, extension, trunk),
 * period kind (day, month) and period (a local date). A bucket's total at
 * second t is its committed spend plus what each live call charged to it
 * costs at t. Every call's cost only grows with t, so the total does too,
 * and "the last second within the cap" is found by doubling and then
 * bisecting over whole seconds, exactly, whatever the mix of rates and
 * the rounding of each call. */
#include "fraud/credit.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/strmap.h"
#include "fraud/rating.h"

_Static_assert(CONF_MAX_PERCENTS == CREDIT_MAX_THRESHOLDS, "[credit] alert_thresholds");

/* One slot per scope and period a call is charged to: scope * 2 + period. */
#define NSLOTS 6
#define MIN_T(a, b) ((a) < (b) ? (a) : (b))
/* Caps above this would overflow spent * 100 in a percentage. */
#define CAP_MAX (INT64_MAX / 100)

struct bucket {
	struct bucket *next;        /* the scope's buckets */
	struct scope *scope;        /* borrowed: the owner */
	enum credit_period period;
	int32_t id;                 /* local date: yyyymmdd or yyyymm */
	int64_t since;              /* unix seconds: the period's first second */
	int64_t committed;          /* ended calls and restored spend */
	struct credit_call *calls;  /* live calls charged here, via link[slot] */
	unsigned reported;          /* bit i: thresholds[i] reported */
	bool reached;               /* the cap ended calls: refuse new ones */
	bool dirty;                 /* deadline and next_alert must be recomputed */
	int64_t deadline;           /* last second within the cap (last_within) */
	int64_t next_alert;         /* first second its next threshold is reached */
	struct bucket *pending_next; /* in credit.pending */
	bool pending;               /* spend or cap changed: check its thresholds */
	unsigned pass;              /* credit.pass when last visited */
};

struct scope {
	struct strmap_node node;    /* in credit.named[kind - 1]; unused for the system */
	enum credit_scope kind;
	char name[CREDIT_NAME_MAX + 1];
	int64_t cap[2];             /* its own caps; 0 = the default of its kind */
	struct bucket *buckets;
	bool known;                 /* named by credit_set_caps: kept without spend */
	unsigned gen;               /* credit.gen when it was last named */
};

struct credit_link {
	struct credit_call *next, *prev;
};

struct credit_call {
	struct credit_call *next, *prev;   /* every live call */
	struct bucket *bucket[NSLOTS];     /* borrowed; NULL: not charged in that slot */
	struct credit_link link[NSLOTS];   /* in bucket[i]->calls */
	struct rate_record rate;           /* per_minute and connection only */
	int64_t started;
	int64_t answered;                  /* 0 while it rings */
	void *owner;                       /* borrowed: the B2BUA's call */
	bool listed;                       /* handed to credit_expired's callback */
	bool due;                          /* to be handed in this credit_expired */
	struct bucket *stopper;            /* borrowed: the bucket whose cap ends it */
};

struct credit {
	struct credit_conf conf;
	struct scope system;
	struct strmap named[2];            /* extensions, trunks: struct scope */
	struct credit_call *calls;
	unsigned gen;                      /* bumped by credit_caps_begin */
	struct bucket *pending;            /* buckets whose thresholds to check */
	unsigned pass;                     /* bumped per walk over live calls' buckets */
	int32_t pruned;                    /* the day whose start last pruned old periods */
};

/* ---- money ---- */

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t sum;

	return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

/* What the call counts for at second t: a ringing call its connection
 * charge, which answering makes due at once. */
static int64_t call_cost_at(const struct credit_call *k, int64_t t)
{
	int64_t s = t - k->answered;

	if (!k->answered)
		return k->rate.connection;
	return rating_cost(&k->rate, s <= 0 ? 0 : s >= UINT_MAX ? UINT_MAX : (unsigned)s);
}

static bool draining(const struct credit_call *k)
{
	return k->answered && k->rate.per_minute > 0;
}

/* The spend at which percent% of cap is reached: ceil(cap * percent / 100),
 * without overflow for percent <= 100. */
static int64_t threshold_amount(int64_t cap, unsigned percent)
{
	return cap / 100 * percent + (cap % 100 * percent + 99) / 100;
}

/* ---- periods ---- */

static int32_t period_id(int64_t t, enum credit_period p)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return 0;
	if (p == CREDIT_MONTH)
		return (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
	return ((tm.tm_year + 1900) * 100 + tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The first second in [lo, hi] whose period id is at least `id` (hi when
 * none is); ids only grow with time around a period boundary. */
static int64_t first_second_of(int32_t id, enum credit_period p, int64_t lo, int64_t hi)
{
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (period_id(mid, p) >= id)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int64_t credit_period_start(int64_t now, enum credit_period p)
{
	time_t tt = (time_t)now;
	struct tm tm;
	int32_t id = period_id(now, p);
	time_t guess;

	if (!localtime_r(&tt, &tm))
		return now;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (p == CREDIT_MONTH)
		tm.tm_mday = 1;
	tm.tm_isdst = -1;
	guess = mktime(&tm);
	if (guess == (time_t)-1 || guess > now)
		guess = now;
	/* mktime lands beside a midnight that a clock change skips: the
	 * period then starts at the first second that carries its date. */
	return first_second_of(id, p, (int64_t)guess - 7200, now);
}

/* ---- buckets ---- */

static unsigned slot_of(enum credit_scope s, enum credit_period p)
{
	return (unsigned)s * 2 + (unsigned)p;
}

static int64_t bucket_total(const struct bucket *b, int64_t t)
{
	unsigned slot = slot_of(b->scope->kind, b->period);
	int64_t sum = b->committed;

	for (const struct credit_call *k = b->calls; k; k = k->link[slot].next)
		sum = add_sat(sum, call_cost_at(k, t));
	return sum;
}

/* The last second t at which the bucket's total is at most `limit`, with
 * its live calls running on: from the latest answer on, the only moment
 * from which every call's charge is known to run. One second before that
 * when it is over then already; CREDIT_NEVER when it stays within. */
static int64_t last_within(const struct bucket *b, int64_t limit)
{
	unsigned slot = slot_of(b->scope->kind, b->period);
	int64_t from = 0, lo, hi, step = 1;
	bool grows = false;

	for (const struct credit_call *k = b->calls; k; k = k->link[slot].next) {
		if (k->answered > from)
			from = k->answered;
		grows |= draining(k);
	}
	if (bucket_total(b, from) > limit)
		return from - 1;
	if (!grows)
		return CREDIT_NEVER;
	lo = from;
	for (hi = from + 1; bucket_total(b, hi) <= limit; hi = from + step) {
		lo = hi;
		if (step > CREDIT_HORIZON_S)
			return CREDIT_NEVER;
		step *= 2;
	}
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (bucket_total(b, mid) <= limit)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int64_t default_cap(const struct credit_conf *cc, enum credit_scope s,
			   enum credit_period p)
{
	if (s == CREDIT_EXT)
		return cc->ext_cap[p];
	if (s == CREDIT_TRUNK)
		return cc->trunk_cap[p];
	return cc->system_cap[p];
}

static int64_t cap_under(const struct credit_conf *cc, const struct scope *sc,
			 enum credit_period p)
{
	return sc->cap[p] ? sc->cap[p] : default_cap(cc, sc->kind, p);
}

static int64_t scope_cap(const struct credit *c, const struct scope *sc, enum credit_period p)
{
	return cap_under(&c->conf, sc, p);
}

/* Bit i set for each threshold that `spent` has reached. */
static unsigned reached_mask(const struct credit_conf *cc, int64_t cap, int64_t spent)
{
	unsigned mask = 0;

	for (unsigned i = 0; cap && i < cc->nthresholds; i++)
		if (spent >= threshold_amount(cap, cc->thresholds[i]))
			mask |= 1u << i;
	return mask;
}

/* When the bucket's live spend reaches its lowest threshold not yet
 * reported: 0 (due) when its cap has ended calls. */
static int64_t first_alert(const struct credit *c, const struct bucket *b, int64_t cap)
{
	int64_t t;

	for (unsigned i = 0; cap && i < c->conf.nthresholds; i++) {
		if (b->reported & (1u << i))
			continue;
		if (b->reached)
			return 0;
		t = last_within(b, threshold_amount(cap, c->conf.thresholds[i]) - 1);
		return t == CREDIT_NEVER ? CREDIT_NEVER : t + 1;
	}
	return CREDIT_NEVER;
}

/* Both depend on the bucket's calls, spend, cap and reported thresholds
 * only, never on the time asked: kept until one of those changes. */
static void bucket_times(const struct credit *c, struct bucket *b)
{
	int64_t cap = scope_cap(c, b->scope, b->period);

	if (!b->dirty)
		return;
	b->deadline = cap ? last_within(b, cap) : CREDIT_NEVER;
	b->next_alert = first_alert(c, b, cap);
	b->dirty = false;
}

static int64_t bucket_deadline(const struct credit *c, struct bucket *b)
{
	bucket_times(c, b);
	return b->deadline;
}

/* Its spend or cap changed: credit_thresholds looks at it next time. */
static void bucket_touch(struct credit *c, struct bucket *b)
{
	b->dirty = true;
	if (b->pending)
		return;
	b->pending = true;
	b->pending_next = c->pending;
	c->pending = b;
}

static struct bucket *bucket_find(const struct scope *sc, enum credit_period p, int32_t id)
{
	for (struct bucket *b = sc->buckets; b; b = b->next)
		if (b->period == p && b->id == id)
			return b;
	return NULL;
}

/* The bucket of period `id`, which second t falls in. */
static struct bucket *bucket_get(struct scope *sc, enum credit_period p, int32_t id, int64_t t)
{
	struct bucket *b = bucket_find(sc, p, id);

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->scope = sc;
	b->period = p;
	b->id = id;
	b->since = credit_period_start(t, p);
	b->dirty = true;
	b->next = sc->buckets;
	sc->buckets = b;
	return b;
}

static void bucket_free_all(struct scope *sc)
{
	while (sc->buckets) {
		struct bucket *b = sc->buckets;

		sc->buckets = b->next;
		free(b);
	}
}

/* ---- scopes ---- */

static bool name_ok(const char *name)
{
	return name && *name && strnlen(name, CREDIT_NAME_MAX + 1) <= CREDIT_NAME_MAX;
}

static bool given(const char *name)
{
	return name && *name;
}

static struct scope *scope_find(const struct credit *c, enum credit_scope kind, const char *name)
{
	struct strmap_node *n;

	if (kind == CREDIT_SYSTEM)
		return (struct scope *)&c->system;
	n = strmap_find(&c->named[kind - 1], name, strlen(name));
	return n ? strmap_entry(n, struct scope, node) : NULL;
}

static struct scope *scope_get(struct credit *c, enum credit_scope kind, const char *name)
{
	struct scope *sc = scope_find(c, kind, name);

	if (sc)
		return sc;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->kind = kind;
	memcpy(sc->name, name, strlen(name) + 1);
	/* strmap_insert links the node even when it cannot grow its table. */
	strmap_insert(&c->named[kind - 1], &sc->node, sc->name, strlen(sc->name));
	return sc;
}

static void scope_free(struct strmap_node *n, void *arg)
{
	struct strmap *m = arg;
	struct scope *sc = strmap_entry(n, struct scope, node);

	strmap_remove(m, n);
	bucket_free_all(sc);
	free(sc);
}

/* ---- configuration ---- */

void credit_conf_from(struct credit_conf *cc, const struct rf_conf *conf)
{
	memset(cc, 0, sizeof(*cc));
	cc->system_cap[CREDIT_DAY] = conf->credit_daily_cap;
	cc->system_cap[CREDIT_MONTH] = conf->credit_monthly_cap;
	cc->ext_cap[CREDIT_DAY] = conf->credit_ext_daily_cap;
	cc->ext_cap[CREDIT_MONTH] = conf->credit_ext_monthly_cap;
	cc->trunk_cap[CREDIT_DAY] = conf->credit_trunk_daily_cap;
	cc->trunk_cap[CREDIT_MONTH] = conf->credit_trunk_monthly_cap;
	cc->nthresholds = conf->credit_thresholds.n;
	memcpy(cc->thresholds, conf->credit_thresholds.pct, sizeof(cc->thresholds));
}

static bool cap_ok(int64_t cap)
{
	return cap >= 0 && cap <= CAP_MAX;
}

static bool conf_ok(const struct credit_conf *cc)
{
	for (unsigned p = 0; p < 2; p++)
		if (!cap_ok(cc->system_cap[p]) || !cap_ok(cc->ext_cap[p]) ||
		    !cap_ok(cc->trunk_cap[p]))
			return false;
	if (cc->nthresholds > CREDIT_MAX_THRESHOLDS)
		return false;
	for (unsigned i = 0; i < cc->nthresholds; i++)
		if (cc->thresholds[i] < 1 || cc->thresholds[i] > 100 ||
		    (i && cc->thresholds[i] <= cc->thresholds[i - 1]))
			return false;
	return true;
}

/* After a reload or a scope's own caps changed. New thresholds start as
 * reported as far as committed spend reaches them, so a reload does not
 * alert about the past. A cap that changes lifts "reached" and re-arms the
 * thresholds that committed spend no longer reaches. */
static void bucket_recap(struct credit *c, struct bucket *b, int64_t old_cap,
			 bool new_thresholds)
{
	int64_t cap = scope_cap(c, b->scope, b->period);

	bucket_touch(c, b);
	if (new_thresholds)
		b->reported = reached_mask(&c->conf, cap, b->committed);
	if (cap == old_cap)
		return;
	b->reached = false;
	b->reported &= reached_mask(&c->conf, cap, b->committed);
}

struct recap {
	struct credit *c;
	const struct credit_conf *old;
	bool new_thresholds;
};

static void scope_recap(struct scope *sc, const struct recap *r)
{
	for (struct bucket *b = sc->buckets; b; b = b->next)
		bucket_recap(r->c, b, cap_under(r->old, sc, b->period), r->new_thresholds);
}

static void named_recap(struct strmap_node *n, void *arg)
{
	scope_recap(strmap_entry(n, struct scope, node), arg);
}

static bool same_thresholds(const struct credit_conf *a, const struct credit_conf *b)
{
	return a->nthresholds == b->nthresholds &&
	       !memcmp(a->thresholds, b->thresholds, a->nthresholds * sizeof(a->thresholds[0]));
}

int credit_set_conf(struct credit *c, const struct credit_conf *conf)
{
	struct credit_conf old = c->conf;
	struct recap r = { c, &old, !same_thresholds(&old, conf) };

	if (!conf_ok(conf))
		return EINVAL;
	c->conf = *conf;
	scope_recap(&c->system, &r);
	for (unsigned i = 0; i < 2; i++)
		strmap_foreach(&c->named[i], named_recap, &r);
	return 0;
}

int credit_alloc(struct credit **cp, const struct credit_conf *conf)
{
	struct credit *c = NULL;
	int err = EINVAL;

	if (!conf_ok(conf))
		goto out;
	err = ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->conf = *conf;
	c->system.kind = CREDIT_SYSTEM;
	if (strmap_init(&c->named[0], 64) || strmap_init(&c->named[1], 8))
		goto out;
	*cp = c;
	c = NULL;
	err = 0;
out:
	credit_free(c);
	return err;
}

void credit_free(struct credit *c)
{
	if (!c)
		return;
	while (c->calls) {
		struct credit_call *k = c->calls;

		c->calls = k->next;
		free(k);
	}
	for (unsigned i = 0; i < 2; i++) {
		if (c->named[i].buckets)
			strmap_foreach(&c->named[i], scope_free, &c->named[i]);
		strmap_destroy(&c->named[i]);
	}
	bucket_free_all(&c->system);
	free(c);
}

/* A scope's own caps change: re-arm what the change puts out of reach. */
static void scope_set_caps(struct credit *c, struct scope *sc, int64_t daily, int64_t monthly)
{
	int64_t old[2] = { scope_cap(c, sc, CREDIT_DAY), scope_cap(c, sc, CREDIT_MONTH) };

	sc->cap[CREDIT_DAY] = daily;
	sc->cap[CREDIT_MONTH] = monthly;
	for (struct bucket *b = sc->buckets; b; b = b->next)
		bucket_recap(c, b, old[b->period], false);
}

int credit_set_caps(struct credit *c, enum credit_scope scope, const char *name,
		    int64_t daily, int64_t monthly)
{
	struct scope *sc;

	if ((scope != CREDIT_EXT && scope != CREDIT_TRUNK) || !name_ok(name) ||
	    !cap_ok(daily) || !cap_ok(monthly))
		return EINVAL;
	if (!(sc = scope_get(c, scope, name)))
		return ENOMEM;
	sc->known = true;
	sc->gen = c->gen;
	scope_set_caps(c, sc, daily, monthly);
	return 0;
}

void credit_caps_begin(struct credit *c)
{
	c->gen++;
}

static void forget_unnamed(struct strmap_node *n, void *arg)
{
	struct credit *c = arg;
	struct scope *sc = strmap_entry(n, struct scope, node);

	if (sc->gen == c->gen)
		return;
	sc->known = false;
	scope_set_caps(c, sc, 0, 0);
}

void credit_caps_end(struct credit *c)
{
	for (unsigned i = 0; i < 2; i++)
		strmap_foreach(&c->named[i], forget_unnamed, c);
}

/* ---- a call's buckets ---- */

/* The scopes a call from ext over trunk is charged to: [kind], NULL when
 * it has none of that kind. */
static int scopes_of(struct credit *c, const char *ext, const char *trunk,
		     struct scope *sc[3])
{
	sc[CREDIT_SYSTEM] = &c->system;
	sc[CREDIT_EXT] = sc[CREDIT_TRUNK] = NULL;
	if ((given(ext) && !name_ok(ext)) || (given(trunk) && !name_ok(trunk)))
		return EINVAL;
	if (given(ext) && !(sc[CREDIT_EXT] = scope_get(c, CREDIT_EXT, ext)))
		return ENOMEM;
	if (given(trunk) && !(sc[CREDIT_TRUNK] = scope_get(c, CREDIT_TRUNK, trunk)))
		return ENOMEM;
	return 0;
}

/* The buckets of the periods `t` falls in, one per slot. */
static int buckets_of(struct scope *sc[3], int64_t t, struct bucket *out[NSLOTS])
{
	int32_t id[2] = { period_id(t, CREDIT_DAY), period_id(t, CREDIT_MONTH) };

	for (unsigned s = 0; s < 3; s++) {
		for (unsigned p = 0; p < 2; p++) {
			unsigned slot = slot_of(s, p);

			out[slot] = NULL;
			if (sc[s] && !(out[slot] = bucket_get(sc[s], p, id[p], t)))
				return ENOMEM;
		}
	}
	return 0;
}

static void link_call(struct credit_call *k)
{
	for (unsigned slot = 0; slot < NSLOTS; slot++) {
		struct bucket *b = k->bucket[slot];

		if (!b)
			continue;
		k->link[slot].prev = NULL;
		k->link[slot].next = b->calls;
		if (b->calls)
			b->calls->link[slot].prev = k;
		b->calls = k;
		b->dirty = true;
	}
}

static void unlink_call(struct credit_call *k)
{
	for (unsigned slot = 0; slot < NSLOTS; slot++) {
		struct bucket *b = k->bucket[slot];
		struct credit_link *l = &k->link[slot];

		if (!b)
			continue;
		if (l->prev)
			l->prev->link[slot].next = l->next;
		else
			b->calls = l->next;
		if (l->next)
			l->next->link[slot].prev = l->prev;
		b->dirty = true;
	}
}

static void mark_dirty(struct credit_call *k)
{
	for (unsigned slot = 0; slot < NSLOTS; slot++)
		if (k->bucket[slot])
			k->bucket[slot]->dirty = true;
}

/* ---- restoring, admitting, starting and ending calls ---- */

int credit_restore_spend(struct credit *c, const char *ext, const char *trunk,
			 int64_t started, int64_t cost, int64_t now)
{
	int32_t current[2] = { period_id(now, CREDIT_DAY), period_id(now, CREDIT_MONTH) };
	struct scope *sc[3];
	struct bucket *b[NSLOTS];
	int err;

	if (cost < 0)
		return EINVAL;
	if ((err = scopes_of(c, ext, trunk, sc)) || (err = buckets_of(sc, started, b)))
		return err;
	for (unsigned slot = 0; slot < NSLOTS; slot++) {
		enum credit_period p = slot % 2;
		int64_t cap;

		if (!b[slot] || b[slot]->id != current[p])
			continue; /* an old period: pruned by credit_thresholds */
		b[slot]->committed = add_sat(b[slot]->committed, cost);
		b[slot]->dirty = true;
		cap = scope_cap(c, b[slot]->scope, p);
		b[slot]->reported |= reached_mask(&c->conf, cap, b[slot]->committed);
	}
	return 0;
}

static void cap_ref(const struct credit *c, const struct bucket *b, int64_t now,
		    struct credit_cap_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	ref->scope = b->scope->kind;
	memcpy(ref->name, b->scope->name, sizeof(ref->name));
	ref->period = b->period;
	ref->since = b->since;
	ref->spent = bucket_total(b, now);
	ref->cap = scope_cap(c, b->scope, b->period);
}

/* Period p of a scope (NULL: one the engine has not met) as it stands at
 * now; returns its bucket, NULL when nothing is charged there yet. */
static const struct bucket *period_ref(const struct credit *c, const struct scope *sc,
				       enum credit_scope s, const char *name,
				       enum credit_period p, int64_t now,
				       struct credit_cap_ref *ref)
{
	const struct bucket *b = sc ? bucket_find(sc, p, period_id(now, p)) : NULL;

	if (b) {
		cap_ref(c, b, now, ref);
		return b;
	}
	memset(ref, 0, sizeof(*ref));
	ref->scope = s;
	memcpy(ref->name, name, strnlen(name, CREDIT_NAME_MAX));
	ref->period = p;
	ref->since = credit_period_start(now, p);
	ref->cap = sc ? scope_cap(c, sc, p) : default_cap(&c->conf, s, p);
	return NULL;
}

/* Does period p (its id) of this scope leave room for `connection`? The
 * refusal's reference is built only for a refusal: admission runs for
 * every call and the period's start costs a few localtime_r calls. */
static bool room_in(const struct credit *c, enum credit_scope s, const char *name,
		    enum credit_period p, int32_t id, int64_t now, int64_t connection,
		    struct credit_cap_ref *why)
{
	const struct scope *sc = scope_find(c, s, name);
	const struct bucket *b = sc ? bucket_find(sc, p, id) : NULL;
	int64_t cap = sc ? scope_cap(c, sc, p) : default_cap(&c->conf, s, p);
	int64_t spent = b ? bucket_total(b, now) : 0;

	if (!cap || (!(b && b->reached) && add_sat(spent, connection) < cap))
		return true;
	if (why)
		period_ref(c, sc, s, name, p, now, why);
	return false;
}

bool credit_admit(struct credit *c, int64_t now, const char *ext, const char *trunk,
		  int64_t connection, struct credit_cap_ref *why)
{
	static const enum credit_scope order[3] = { CREDIT_EXT, CREDIT_TRUNK, CREDIT_SYSTEM };
	const char *names[3] = { "", ext, trunk };
	int32_t id[2] = { period_id(now, CREDIT_DAY), period_id(now, CREDIT_MONTH) };

	if (connection < 0)
		connection = 0;
	for (unsigned i = 0; i < 3; i++) {
		enum credit_scope s = order[i];

		if (s != CREDIT_SYSTEM && (!given(names[s]) || !name_ok(names[s])))
			continue;
		for (unsigned p = 0; p < 2; p++)
			if (!room_in(c, s, names[s], p, id[p], now, connection, why))
				return false;
	}
	return true;
}

int credit_call_start(struct credit *c, int64_t now, const struct credit_call_info *info,
		      struct credit_call **out)
{
	struct credit_call *k = NULL;
	struct scope *sc[3];
	int err = EINVAL;

	if (!info->rate || info->rate->per_minute < 0 || info->rate->connection < 0)
		goto out;
	err = ENOMEM;
	if (!(k = calloc(1, sizeof(*k))))
		goto out;
	if ((err = scopes_of(c, info->ext, info->trunk, sc)) ||
	    (err = buckets_of(sc, now, k->bucket)))
		goto out;
	k->rate.per_minute = info->rate->per_minute;
	k->rate.connection = info->rate->connection;
	k->started = now;
	k->owner = info->owner;
	link_call(k);
	k->next = c->calls;
	if (c->calls)
		c->calls->prev = k;
	c->calls = k;
	*out = k;
	k = NULL;
out:
	free(k);
	return err;
}

void credit_call_answer(struct credit *c, struct credit_call *k, int64_t now)
{
	(void)c;
	if (k->answered)
		return;
	/* 0 means "ringing": a call answered at the epoch is answered at 1. */
	k->answered = now > k->started ? now : k->started;
	if (k->answered <= 0)
		k->answered = 1;
	mark_dirty(k);
}

size_t credit_live_calls(const struct credit *c)
{
	size_t n = 0;

	for (const struct credit_call *k = c->calls; k; k = k->next)
		n++;
	return n;
}

int64_t credit_call_cost(const struct credit_call *k, int64_t now)
{
	return k->answered ? call_cost_at(k, now) : 0;
}

int64_t credit_call_end(struct credit *c, struct credit_call *k, int64_t now)
{
	int64_t cost = credit_call_cost(k, now);

	unlink_call(k);
	for (unsigned slot = 0; slot < NSLOTS; slot++) {
		if (!k->bucket[slot])
			continue;
		k->bucket[slot]->committed = add_sat(k->bucket[slot]->committed, cost);
		bucket_touch(c, k->bucket[slot]);
	}
	if (k->prev)
		k->prev->next = k->next;
	else
		c->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
	return cost;
}

/* ---- deadlines ---- */

/* The call's deadline and the bucket that sets it (NULL with CREDIT_NEVER). */
static int64_t call_deadline(struct credit *c, struct credit_call *k, struct bucket **stopper)
{
	int64_t best = CREDIT_NEVER;

	*stopper = NULL;
	if (!draining(k))
		return CREDIT_NEVER;
	for (unsigned slot = 0; slot < NSLOTS; slot++) {
		struct bucket *b = k->bucket[slot];
		int64_t d;

		if (b && (d = bucket_deadline(c, b)) < best) {
			best = d;
			*stopper = b;
		}
	}
	return best;
}

int64_t credit_deadline(struct credit *c, struct credit_call *k, struct credit_cap_ref *cap)
{
	struct bucket *b;
	int64_t d = call_deadline(c, k, &b);

	if (cap && b)
		cap_ref(c, b, d, cap);
	else if (cap)
		memset(cap, 0, sizeof(*cap));
	return d;
}

void credit_expired(struct credit *c, int64_t now, credit_expired_cb cb, void *arg)
{
	struct credit_call *k, *next;

	for (k = c->calls; k; k = k->next) {
		if (k->listed || call_deadline(c, k, &k->stopper) > now)
			continue;
		k->listed = k->due = true;
		k->stopper->reached = true;
		bucket_touch(c, k->stopper);
	}
	for (k = c->calls; k; k = next) {
		struct credit_cap_ref ref;

		next = k->next;
		if (!k->due)
			continue;
		k->due = false;
		cap_ref(c, k->stopper, now, &ref);
		cb(k, k->owner, &ref, arg);
	}
}

/* ---- thresholds ---- */

static void bucket_thresholds(struct credit *c, struct bucket *b, int64_t now,
			      credit_threshold_cb cb, void *arg)
{
	unsigned all = (1u << c->conf.nthresholds) - 1;
	int64_t cap = scope_cap(c, b->scope, b->period);
	struct credit_cap_ref ref;

	if (!cap || (b->reported & all) == all)
		return;
	cap_ref(c, b, now, &ref);
	for (unsigned i = 0; i < c->conf.nthresholds; i++) {
		unsigned bit = 1u << i;

		if ((b->reported & bit) ||
		    (!b->reached && ref.spent < threshold_amount(cap, c->conf.thresholds[i])))
			continue;
		b->reported |= bit;
		b->dirty = true;
		cb(&ref, c->conf.thresholds[i], arg);
	}
}

/* Periods that are over and that no live call charges any more. */
static void scope_prune(struct scope *sc, int64_t now)
{
	struct bucket **pp = &sc->buckets;

	while (*pp) {
		struct bucket *b = *pp;

		if (!b->calls && !b->pending && b->id != period_id(now, b->period)) {
			*pp = b->next;
			free(b);
		} else {
			pp = &b->next;
		}
	}
}

struct prune_walk {
	struct strmap *map;
	int64_t now;
};

static void named_prune(struct strmap_node *n, void *arg)
{
	struct prune_walk *w = arg;
	struct scope *sc = strmap_entry(n, struct scope, node);

	scope_prune(sc, w->now);
	if (!sc->buckets && !sc->known)
		scope_free(n, w->map);
}

/* Once a day is enough: an old period only costs a little memory. */
static void prune(struct credit *c, int64_t now)
{
	int32_t today = period_id(now, CREDIT_DAY);
	struct prune_walk w = { NULL, now };

	if (today == c->pruned)
		return;
	c->pruned = today;
	scope_prune(&c->system, now);
	for (unsigned i = 0; i < 2; i++) {
		w.map = &c->named[i];
		strmap_foreach(&c->named[i], named_prune, &w);
	}
}

/* Only buckets whose spend can have moved: those live calls charge, and
 * those a change touched since the last time. */
void credit_thresholds(struct credit *c, int64_t now, credit_threshold_cb cb, void *arg)
{
	c->pass++;
	for (struct credit_call *k = c->calls; k; k = k->next) {
		for (unsigned slot = 0; slot < NSLOTS; slot++) {
			struct bucket *b = k->bucket[slot];

			if (!b || b->pass == c->pass)
				continue;
			b->pass = c->pass;
			bucket_thresholds(c, b, now, cb, arg);
		}
	}
	while (c->pending) {
		struct bucket *b = c->pending;

		c->pending = b->pending_next;
		b->pending = false;
		if (b->pass != c->pass)
			bucket_thresholds(c, b, now, cb, arg);
	}
	prune(c, now);
}

int64_t credit_next_wakeup(struct credit *c, int64_t now)
{
	int64_t best = CREDIT_NEVER;
	struct bucket *stopper;

	c->pass++;
	for (struct credit_call *k = c->calls; k; k = k->next) {
		if (!draining(k))
			continue;
		if (!k->listed)
			best = MIN_T(best, call_deadline(c, k, &stopper));
		for (unsigned slot = 0; slot < NSLOTS; slot++) {
			struct bucket *b = k->bucket[slot];

			if (!b || b->pass == c->pass)
				continue;
			b->pass = c->pass;
			bucket_times(c, b);
			best = MIN_T(best, b->next_alert);
		}
	}
	return best < now ? now : best;
}

/* ---- usage ---- */

static unsigned percent_of(int64_t spent, int64_t cap)
{
	int64_t q;

	if (!cap)
		return 0;
	q = spent / cap;
	if (q >= 10000)
		return 1000000; /* far over: the exact figure no longer matters */
	/* cap <= CAP_MAX, so the remainder times 100 fits. */
	return (unsigned)(q * 100 + spent % cap * 100 / cap);
}

/* The system always; a trunk the store has; an extension with a cap; and
 * any scope that has spent in the period. */
static bool listed(const struct scope *sc, const struct credit_cap_ref *ref)
{
	if (sc->kind == CREDIT_SYSTEM || ref->spent)
		return true;
	return sc->known && (sc->kind == CREDIT_TRUNK || ref->cap);
}

static int usage_of(struct credit *c, const struct scope *sc, int64_t now,
		    credit_usage_cb cb, void *arg)
{
	for (unsigned p = 0; p < 2; p++) {
		const struct bucket *b;
		struct credit_usage u;
		int ret;

		memset(&u, 0, sizeof(u));
		b = period_ref(c, sc, sc->kind, sc->name, p, now, &u.ref);
		if (!listed(sc, &u.ref))
			continue;
		u.percent = percent_of(u.ref.spent, u.ref.cap);
		u.reached = u.ref.cap && (u.ref.spent >= u.ref.cap || (b && b->reached));
		if ((ret = cb(&u, arg)))
			return ret;
	}
	return 0;
}

struct scope_list {
	const struct scope **v;
	size_t n;
};

static void collect_scope(struct strmap_node *n, void *arg)
{
	struct scope_list *l = arg;

	l->v[l->n++] = strmap_entry(n, struct scope, node);
}

static int by_name(const void *a, const void *b)
{
	const struct scope *x = *(const struct scope *const *)a;
	const struct scope *y = *(const struct scope *const *)b;

	return strcmp(x->name, y->name);
}

/* The extensions or the trunks, by name. */
static int usage_of_kind(struct credit *c, struct strmap *m, int64_t now, credit_usage_cb cb,
			 void *arg)
{
	struct scope_list l = { NULL, 0 };
	int ret = 0;

	if (!m->count)
		return 0;
	if (!(l.v = calloc(m->count, sizeof(*l.v))))
		return ENOMEM;
	strmap_foreach(m, collect_scope, &l);
	qsort(l.v, l.n, sizeof(*l.v), by_name);
	for (size_t j = 0; j < l.n && !ret; j++)
		ret = usage_of(c, l.v[j], now, cb, arg);
	free(l.v);
	return ret;
}

int credit_usage(struct credit *c, int64_t now, credit_usage_cb cb, void *arg)
{
	int ret = usage_of(c, &c->system, now, cb, arg);

	for (unsigned i = 0; i < 2 && !ret; i++)
		ret = usage_of_kind(c, &c->named[i], now, cb, arg);
	return ret;
}

/* ---- names ---- */

const char *credit_scope_name(enum credit_scope s)
{
	static const char *const names[] = {
		[CREDIT_SYSTEM] = "system", [CREDIT_EXT] = "ext", [CREDIT_TRUNK] = "trunk",
	};

	return (unsigned)s < 3 ? names[s] : "?";
}

const char *credit_period_name(enum credit_period p)
{
	return p == CREDIT_DAY ? "day" : p == CREDIT_MONTH ? "month" : "?";
}
