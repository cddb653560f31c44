/* Spending caps on the command line: the cap options, and ringfence
 * spend, today's and this month's spend against each cap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/cmd_credit.h"
#include "admin/util.h"
#include "core/conf.h"
#include "fraud/credit_store.h"
#include "fraud/rating.h"
#include "store/store.h"

/* ---- --daily-cap, --monthly-cap ---- */

struct cap_opt {
	const char *name;  /* "--daily-cap", or the column "daily_cap" */
	const char *key;   /* "ext_daily_cap": the [credit] default */
	int64_t dflt;
};

static int parse_cap(const struct rf_conf *conf, const struct cap_opt *o, const char *v,
		     int64_t *out, char *why, size_t whylen)
{
	char shown[RATE_PRICE_TEXT_MAX + 8], text[RATE_PRICE_BUF];
	const char *err = NULL;

	if (!strcmp(v, "default")) {
		*out = 0;
		return 0;
	}
	if (rating_parse_price(v, strlen(v), out, &err) == 0)
		return 0;
	snprintf(why, whylen, "%s '%s' %s; give an amount in %s such as 20 or 7.50, or 0 for "
		 "the default, [credit] %s (%s)", o->name,
		 admin_printable(v, shown, sizeof(shown)), err, conf->currency, o->key,
		 o->dflt ? rating_format_price(o->dflt, text, sizeof(text)) : "no cap");
	return EINVAL;
}

int cap_values_check(const struct rf_conf *c, enum credit_scope kind, const char *daily,
		     const char *monthly, const char *const names[2], struct cap_args *out,
		     char *why, size_t whylen)
{
	bool ext = kind == CREDIT_EXT;
	struct cap_opt day = { names[0], ext ? "ext_daily_cap" : "trunk_daily_cap",
			       ext ? c->credit_ext_daily_cap : c->credit_trunk_daily_cap };
	struct cap_opt month = { names[1], ext ? "ext_monthly_cap" : "trunk_monthly_cap",
				 ext ? c->credit_ext_monthly_cap : c->credit_trunk_monthly_cap };
	char dt[RATE_PRICE_BUF], mt[RATE_PRICE_BUF];

	memset(out, 0, sizeof(*out));
	if ((daily && parse_cap(c, &day, daily, &out->daily, why, whylen)) ||
	    (monthly && parse_cap(c, &month, monthly, &out->monthly, why, whylen)))
		return EINVAL;
	out->daily_given = daily != NULL;
	out->monthly_given = monthly != NULL;
	/* As in [credit]: a monthly cap below the daily one is a slip. */
	if (out->daily && out->monthly && out->monthly < out->daily) {
		snprintf(why, whylen, "%s %s is below %s %s: the daily cap could never be "
			 "reached", month.name, rating_format_price(out->monthly, mt, sizeof(mt)),
			 day.name, rating_format_price(out->daily, dt, sizeof(dt)));
		return EINVAL;
	}
	return 0;
}

int cap_args_parse(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, enum credit_scope kind, struct cap_args *out,
		   struct admin_reply *r)
{
	static const char *const names[2] = { "--daily-cap", "--monthly-cap" };
	char why[400];

	if (cap_values_check(ctx->conf, kind, admin_arg(cmd, a, names[0]),
			     admin_arg(cmd, a, names[1]), names, out, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
}

void cap_args_apply(const struct cap_args *c, int64_t *daily, int64_t *monthly)
{
	if (c->daily_given)
		*daily = c->daily;
	if (c->monthly_given)
		*monthly = c->monthly;
}

void cap_reply(struct admin_reply *r, const char *key, int64_t micro)
{
	char key_micro[32];

	if (micro) {
		admin_reply_price(r, key, micro);
		return;
	}
	admin_reply_str(r, key, "default");
	snprintf(key_micro, sizeof(key_micro), "%s_micro", key);
	admin_reply_int(r, key_micro, 0);
}

/* ---- ringfence spend ---- */

static const struct admin_column spend_columns[] = {
	{ "scope", "SCOPE" },
	{ "name", "NAME" },
	{ "period", "PERIOD" },
	{ "date", "DATE" },
	{ "spent", "SPENT" },
	{ "cap", "CAP" },
	{ "used", "USED" },
};

struct spend_walk {
	struct admin_reply *r;
	const char *currency;
	size_t live;
};

/* The local date a period is known by: 2026-11-26 for a day, 2026-11 for
 * a month. */
static void period_date(const struct credit_cap_ref *ref, char *buf, size_t len)
{
	time_t t = (time_t)ref->since;
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    !strftime(buf, len, ref->period == CREDIT_DAY ? "%Y-%m-%d" : "%Y-%m", &tm))
		snprintf(buf, len, "-");
}

static int spend_row(const struct credit_usage *u, void *arg)
{
	struct spend_walk *w = arg;
	char date[16], since[32], used[16];

	period_date(&u->ref, date, sizeof(date));
	admin_reply_record(w->r);
	admin_reply_str(w->r, "scope", credit_scope_name(u->ref.scope));
	admin_reply_str(w->r, "name", u->ref.name);
	admin_reply_str(w->r, "period", credit_period_name(u->ref.period));
	admin_reply_str(w->r, "date", date);
	admin_reply_str(w->r, "since", admin_iso_time(u->ref.since, since, sizeof(since)));
	admin_reply_price(w->r, "spent", u->ref.spent);
	if (u->ref.cap) {
		admin_reply_price(w->r, "cap", u->ref.cap);
		snprintf(used, sizeof(used), "%u%%", u->percent);
	} else {
		admin_reply_str(w->r, "cap", "none");
		admin_reply_int(w->r, "cap_micro", 0);
		snprintf(used, sizeof(used), "-");
	}
	admin_reply_str(w->r, "used", used);
	admin_reply_int(w->r, "percent", u->percent);
	admin_reply_bool(w->r, "reached", u->reached);
	admin_reply_str(w->r, "currency", w->currency);
	admin_reply_int(w->r, "live_calls", (int64_t)w->live);
	return 0;
}

int spend_reply(struct credit *c, int64_t now, const char *currency, struct admin_reply *r)
{
	struct spend_walk w = { r, currency, credit_live_calls(c) };
	int err;

	admin_reply_table(r, spend_columns, sizeof(spend_columns) / sizeof(spend_columns[0]));
	err = credit_usage(c, now, spend_row, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot list the spend: %s",
					 strerror(err));
	return ADMIN_OK;
}

/* An engine as the daemon has it: caps from the configuration and the
 * extensions, spend from this month's call records, and the calls the
 * daemon has in progress. */
static int engine_from_store(struct admin_ctx *ctx, int64_t now_ms, struct credit **cp,
			     struct admin_reply *r)
{
	struct credit_conf cc;
	int err;

	credit_conf_from(&cc, ctx->conf);
	if ((err = credit_alloc(cp, &cc)) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "cannot set up the caps: %s",
					 strerror(err));
	if ((err = credit_load_caps(*cp, ctx->store)) != 0 ||
	    (err = credit_load_spend(*cp, ctx->store, now_ms / 1000)) != 0 ||
	    (err = credit_load_live(*cp, ctx->store, now_ms, NULL)) != 0) {
		credit_free(*cp);
		return admin_reply_error(r, ADMIN_FAILED, "cannot read the spend: %s",
					 strerror(err));
	}
	return ADMIN_OK;
}

int cmd_spend(const struct admin_cmd *cmd, struct admin_ctx *ctx, const struct admin_args *a,
	      struct admin_reply *r)
{
	int64_t now_ms = admin_now_ms();
	struct credit *c;
	size_t live;
	int st;

	(void)cmd;
	(void)a;
	if ((st = engine_from_store(ctx, now_ms, &c, r)))
		return st;
	live = credit_live_calls(c);
	st = spend_reply(c, now_ms / 1000, ctx->conf->currency, r);
	credit_free(c);
	if (st)
		return st;
	if (live)
		admin_reply_note(r, "%zu call%s in progress counted at what %s cost so far "
				 "(a ringing call its connection charge).", live,
				 live == 1 ? "" : "s", live == 1 ? "it has" : "they have");
	else
		admin_reply_note(r, "No call in progress is counted: the daemon has none, is "
				 "not running, or has not listed its calls for over %d seconds.",
				 LIVE_CALLS_STALE_MS / 1000);
	return ADMIN_OK;
}
