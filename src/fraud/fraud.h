/* The toll-fraud checks of the signalling thread (S11, S12, S14): the
 * numbering plan, the blacklists and calling-pattern analysis, and the
 * one question every call leaving the PBX asks: may this extension call
 * this number?
 *
 * The blacklists are rebuilt aside from the store when it changes and
 * swapped in whole; a failed reload keeps the lists in force. Pattern
 * analysis learns from the CDRs at start and from every call after. */
#ifndef RF_FRAUD_FRAUD_H
#define RF_FRAUD_FRAUD_H

#include <stddef.h>

#include "fraud/barring.h"
#include "fraud/numplan.h"
#include "store/store.h"

struct fraud;

struct rf_conf;
struct pattern;

/* Load the [numbering] country's plan and the [fraud] settings. Returns 0
 * or errno with *err set. */
int fraud_alloc(struct fraud **fp, const struct rf_conf *conf, const char **err);
void fraud_free(struct fraud *f);
/* Rebuild the blacklists from the store. 0, or errno with the old lists
 * still in force. */
int fraud_reload(struct fraud *f, struct store *s);

/* Teach pattern analysis the stored history (CDRs since its window). */
int fraud_learn_history(struct fraud *f, struct store *s, int64_t now);
/* New [fraud] settings after a reload. */
void fraud_set_conf(struct fraud *f, const struct rf_conf *conf);

const struct numplan *fraud_numplan(const struct fraud *f);
/* The caller blacklist's entry for an E.164 caller of an inbound call,
 * or NULL. */
const struct blacklist_record *fraud_caller_listed(const struct fraud *f, const char *e164);
struct pattern *fraud_pattern(struct fraud *f);

/* Rating and credit limits (S13). The rate table is rebuilt aside and
 * swapped like the blacklists; the credit engine (fraud/credit.h) lives as
 * long as the daemon and keeps its live calls across every reload. */
struct credit;
struct rate_record;
/* At start: the rates, every extension's and trunk's caps and this
 * month's spend from the CDRs, at `now` (real unix seconds). 0 or errno. */
int fraud_load_credit(struct fraud *f, struct store *s, int64_t now);
/* The rates again (the store's rates changed, or [credit] currency did).
 * 0, or errno with the old table still in force. */
int fraud_reload_rates(struct fraud *f, struct store *s);
/* The caps again (extensions or trunks changed). 0 or errno. */
int fraud_reload_caps(struct fraud *f, struct store *s);
/* The rate of an E.164 number, or NULL when none matches. */
const struct rate_record *fraud_rate(const struct fraud *f, const char *e164);
struct credit *fraud_credit(struct fraud *f);

struct fraud_outbound {
	struct num_info num;       /* the number, normalised and classified */
	enum bar_verdict verdict;  /* BAR_ALLOW and BAR_EMERGENCY let it through */
	const char *why;           /* for BAR_INVALID: the plan's reason */
	char reason[BLACKLIST_REASON_MAX + 1]; /* for BAR_BLACKLIST: the list's reason */
};

/* Classify what `caller` dialled and decide. Emergency numbers pass
 * whatever else holds; the destination blacklist is checked after
 * normalisation, so every spelling of a listed number meets its row. */
void fraud_check_outbound(const struct fraud *f, const struct ext_record *caller,
			  const char *dialled, size_t len, struct fraud_outbound *out);

#endif
