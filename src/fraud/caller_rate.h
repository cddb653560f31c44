/* The per-caller rate limit on inbound calls (S12, against SPIT): each
 * caller number may start so many calls a minute over the trunks.
 *
 * A fixed window per caller: its first call opens a minute, and calls in
 * that minute beyond the limit are refused. At most RF_MAX_RATED_CALLERS
 * numbers are tracked; windows that are over are forgotten first, and
 * past the cap a new number is let through untracked, so a flood of made
 * up numbers costs bounded memory. */
#ifndef RF_FRAUD_CALLER_RATE_H
#define RF_FRAUD_CALLER_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct caller_rate;

int caller_rate_alloc(struct caller_rate **rp);
void caller_rate_free(struct caller_rate *r);

/* Count a call from `caller` (len bytes) at unix second `now`. False when
 * it is over `per_minute` (0: no limit, nothing counted). */
bool caller_rate_admit(struct caller_rate *r, const char *caller, size_t len,
		       unsigned per_minute, int64_t now);

/* Numbers tracked now (tests). */
size_t caller_rate_count(const struct caller_rate *r);

#endif
