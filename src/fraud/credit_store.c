/* The store's side of credit limits: caps and past spend into an engine. */
#include "fraud/credit_store.h"

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
