/* Filling a credit engine (fraud/credit.h) from the store: the caps of
 * every extension and trunk, and what this month's outbound calls have
 * cost. The
 * daemon runs both at start (and the first whenever the store changes);
 * `ringfence spend` runs both on an engine of its own. */
#ifndef RF_FRAUD_CREDIT_STORE_H
#define RF_FRAUD_CREDIT_STORE_H

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

#endif
