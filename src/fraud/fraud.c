/* The toll-fraud checks of the signalling thread. See fraud.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "fraud/blacklist.h"
#include "fraud/credit.h"
#include "fraud/credit_store.h"
#include "fraud/fraud.h"
#include "fraud/pattern.h"
#include "fraud/rating.h"

struct fraud {
	struct numplan *np;
	struct pattern *pattern;
	struct blacklist *dest;    /* NULL until the first reload */
	struct blacklist *caller;
	struct rating *rates;      /* NULL until the first load */
	struct credit *credit;
	char currency[4];          /* [credit] currency the rates are read in (restart only) */
};

int fraud_alloc(struct fraud **fp, const struct rf_conf *conf, const char **err)
{
	struct fraud *f = calloc(1, sizeof(*f));
	struct pattern_config pc;
	struct credit_conf cc;
	int ret;

	if (!f)
		return ENOMEM;
	ret = numplan_alloc(&f->np, conf->numbering_country, err);
	if (ret)
		goto out;
	pattern_config_from_conf(&pc, conf);
	ret = pattern_alloc(&f->pattern, &pc);
	if (ret) {
		*err = "cannot set up calling-pattern analysis";
		goto out;
	}
	credit_conf_from(&cc, conf);
	ret = credit_alloc(&f->credit, &cc);
	if (ret) {
		*err = "cannot set up credit limits";
		goto out;
	}
	snprintf(f->currency, sizeof(f->currency), "%s", conf->currency);
	*fp = f;
	return 0;
out:
	fraud_free(f);
	return ret;
}

int fraud_learn_history(struct fraud *f, struct store *s, int64_t now)
{
	return store_cdr_foreach(s, pattern_history_since_ms(f->pattern, now),
				 pattern_learn_cdr, f->pattern);
}

void fraud_set_conf(struct fraud *f, const struct rf_conf *conf)
{
	struct pattern_config pc;
	struct credit_conf cc;

	pattern_config_from_conf(&pc, conf);
	pattern_set_config(f->pattern, &pc);
	credit_conf_from(&cc, conf);
	/* conf_load checked the caps and thresholds; this is belt and braces. */
	if (credit_set_conf(f->credit, &cc) != 0)
		log_warn("credit limits: the new [credit] caps are not valid; keeping the old ones");
}

int fraud_load_credit(struct fraud *f, struct store *s, int64_t now)
{
	int err = fraud_reload_rates(f, s);

	if (!err)
		err = credit_load_caps(f->credit, s);
	if (!err)
		err = credit_load_spend(f->credit, s, now);
	return err;
}

int fraud_reload_rates(struct fraud *f, struct store *s)
{
	struct rating *rt;
	int err = rating_load(s, f->currency, &rt);

	if (err)
		return err;
	if (rating_skipped(rt))
		log_warn("rates: %zu rows skipped (not in %s, or not an E.164 prefix)",
			 rating_skipped(rt), f->currency);
	if (rating_count(rt) == 0)
		log_warn("rates: the rate table is empty, so calls cost nothing and spending caps "
			 "cannot stop any; import rates with 'ringfence rates import'");
	rating_free(f->rates);
	f->rates = rt;
	return 0;
}

int fraud_reload_caps(struct fraud *f, struct store *s)
{
	return credit_load_caps(f->credit, s);
}

const struct rate_record *fraud_rate(const struct fraud *f, const char *e164)
{
	return f->rates ? rating_match(f->rates, e164) : NULL;
}

struct credit *fraud_credit(struct fraud *f)
{
	return f->credit;
}

struct pattern *fraud_pattern(struct fraud *f)
{
	return f->pattern;
}

void fraud_free(struct fraud *f)
{
	if (!f)
		return;
	blacklist_free(f->dest);
	blacklist_free(f->caller);
	rating_free(f->rates);
	credit_free(f->credit);
	pattern_free(f->pattern);
	numplan_free(f->np);
	free(f);
}

int fraud_reload(struct fraud *f, struct store *s)
{
	struct blacklist *dest = NULL, *caller = NULL;
	int err = blacklist_load(s, BLACKLIST_DEST, &dest);

	if (!err)
		err = blacklist_load(s, BLACKLIST_CALLER, &caller);
	if (err) {
		blacklist_free(dest);
		return err;
	}
	blacklist_free(f->dest);
	blacklist_free(f->caller);
	f->dest = dest;
	f->caller = caller;
	return 0;
}

const struct numplan *fraud_numplan(const struct fraud *f)
{
	return f->np;
}

const struct blacklist_record *fraud_caller_listed(const struct fraud *f, const char *e164)
{
	return f->caller ? blacklist_match(f->caller, e164) : NULL;
}

void fraud_check_outbound(const struct fraud *f, const struct ext_record *caller,
			  const char *dialled, size_t len, struct fraud_outbound *out)
{
	const struct blacklist_record *b;
	struct bar_policy policy;

	memset(out, 0, sizeof(*out));
	if (numplan_classify(f->np, dialled, len, &out->num, &out->why) != 0) {
		out->verdict = BAR_INVALID;
		return;
	}
	barring_policy(f->np, caller, &policy);
	out->verdict = barring_check(&policy, &out->num);
	if (out->verdict != BAR_ALLOW || !f->dest)
		return;
	b = blacklist_match(f->dest, out->num.e164);
	if (b) {
		out->verdict = BAR_BLACKLIST;
		snprintf(out->reason, sizeof(out->reason), "%s", b->reason);
	}
}
