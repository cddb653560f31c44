/* The toll-fraud checks of the signalling thread. See fraud.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "fraud/blacklist.h"
#include "fraud/fraud.h"
#include "fraud/pattern.h"

struct fraud {
	struct numplan *np;
	struct pattern *pattern;
	struct blacklist *dest;    /* NULL until the first reload */
	struct blacklist *caller;
};

int fraud_alloc(struct fraud **fp, const struct rf_conf *conf, const char **err)
{
	struct fraud *f = calloc(1, sizeof(*f));
	struct pattern_config pc;
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

	pattern_config_from_conf(&pc, conf);
	pattern_set_config(f->pattern, &pc);
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
