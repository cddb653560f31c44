/* The store's side of credit limits: caps, past spend and the daemon's
 * calls in progress into an engine. */
#include "fraud/credit_store.h"

#include <stdint.h>

#include "fraud/credit.h"
#include "store/store.h"

static int ext_caps(const struct ext_record *r, void *arg)
{
	return credit_set_caps(arg, CREDIT_EXT, r->ext, r->daily_cap, r->monthly_cap);
}

static int trunk_caps(const struct trunk_record *r, void *arg)
{
	return credit_set_caps(arg, CREDIT_TRUNK, r->name, r->daily_cap, r->monthly_cap);
}

int credit_load_caps(struct credit *c, struct store *s)
{
	int err;

	credit_caps_begin(c);
	err = store_ext_foreach(s, ext_caps, c);
	if (!err)
		err = store_trunk_foreach(s, trunk_caps, c);
	/* On an error nothing is forgotten: a half-read list is no reason to
	 * drop the caps of extensions it did not reach. */
	if (!err)
		credit_caps_end(c);
	return err;
}

struct restore {
	struct credit *c;
	int64_t now;
};

static int restore_row(const struct cdr_spend *r, void *arg)
{
	struct restore *rs = arg;

	return credit_restore_spend(rs->c, r->caller, r->trunk, r->start_ms / 1000, r->cost,
				    rs->now);
}

int credit_load_spend(struct credit *c, struct store *s, int64_t now)
{
	struct restore rs = { c, now };
	int64_t since = credit_period_start(now, CREDIT_MONTH);

	return store_cdr_spend(s, since * 1000, restore_row, &rs);
}

static int newest_seen(const struct live_call_record *r, void *arg)
{
	int64_t *seen = arg;

	if (r->seen_ms > *seen)
		*seen = r->seen_ms;
	return 0;
}

struct live_load {
	struct credit *c;
	size_t counted;
};

static int live_row(const struct live_call_record *r, void *arg)
{
	struct live_load *ll = arg;
	struct rate_record rate = { .per_minute = r->per_minute, .connection = r->connection };
	struct credit_call_info info = { .ext = r->caller, .trunk = r->trunk, .rate = &rate };
	struct credit_call *call;
	int err = credit_call_start(ll->c, r->start_ms / 1000, &info, &call);

	if (err)
		return err;
	if (r->answer_ms > 0)
		credit_call_answer(ll->c, call, r->answer_ms / 1000);
	ll->counted++;
	return 0;
}

int credit_load_live(struct credit *c, struct store *s, int64_t now_ms, size_t *counted)
{
	struct live_load ll = { c, 0 };
	int64_t seen = INT64_MIN;
	int err;

	/* The daemon stamps the whole set at once; one that has not been
	 * rewritten for a while was left by a daemon that died holding calls,
	 * which cost nothing since. */
	err = store_live_calls_foreach(s, newest_seen, &seen);
	if (!err && seen != INT64_MIN && seen >= now_ms - LIVE_CALLS_STALE_MS)
		err = store_live_calls_foreach(s, live_row, &ll);
	if (counted)
		*counted = ll.counted;
	return err;
}
