/* Filling a credit engine (fraud/credit.h) from the store: the caps of
 * every extension and trunk, and what this month's outbound calls have
 * cost. The
 * daemon runs both at start (and the first whenever the store changes);
 * `ringfence spend` runs both on an engine of its own. */
#ifndef RF_FRAUD_CREDIT_STORE_H
#define RF_FRAUD_CREDIT_STORE_H

#include <stddef.h>
#include <stdint.h>

struct credit;
struct store;

/* Every extension's and trunk's own daily and monthly caps
 * (credit_caps_begin .. credit_caps_end, so deleted ones are forgotten).
 * Returns 0 or the store's or the engine's error. */
int credit_load_caps(struct credit *c, struct store *s);

/* The cost of every outbound call that started this month (local time)
 * at `now`, from the CDRs, as committed spend of its day and month. */
int credit_load_spend(struct credit *c, struct store *s, int64_t now);
/* The daemon's chargeable calls in progress (store_live_calls_foreach),
 * as live calls of the engine started and answered when they were, so
 * that credit_usage at `now` counts them as they stand; a set older than
 * LIVE_CALLS_STALE_MS at now_ms is skipped. For `ringfence spend`, whose
 * engine lives for one command: the calls stay in it until credit_free.
 * *counted (if not NULL) gets the number of calls added. 0 or the
 * store's or the engine's error. */
int credit_load_live(struct credit *c, struct store *s, int64_t now_ms, size_t *counted);

#endif
