/* The rate limit of alerts (S18): pure logic on an injected clock.
 *
 * Each kind has its own window. The first alert of a kind opens a window
 * of `window_s` seconds; the first `limit` alerts in it pass and the rest
 * are folded, counted only. When a window ends with folded alerts, one
 * summary is due ("37 more bans in the last 10 minutes") and a new window
 * opens right away with its limit already used, so a storm that goes on
 * yields one summary per window and no more single alerts. A window that
 * ends without folded alerts closes, and the next alert opens a fresh one. */
#ifndef RF_GUARD_ALERT_RATE_H
#define RF_GUARD_ALERT_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard/alert.h"

struct alert_rate_kind {
	bool open;
	int64_t start;      /* when the window opened */
	unsigned passed;    /* alerts let through in it */
	unsigned folded;    /* alerts counted instead */
};

struct alert_rate {
	unsigned limit;
	unsigned window_s;
	struct alert_rate_kind kind[ALERT__COUNT];
};

/* A summary that alert_rate_tick found due. */
struct alert_rate_summary {
	enum alert_kind kind;
	unsigned folded;
	unsigned window_s;
	unsigned limit;     /* the limit then in force, for the summary's text */
};

void alert_rate_init(struct alert_rate *r, unsigned limit, unsigned window_s);
/* New limits (a reload). Open windows keep what they counted and end by
 * the new window length; a lower limit folds the next alerts of a kind
 * that already passed as many. */
void alert_rate_set_limits(struct alert_rate *r, unsigned limit, unsigned window_s);
/* True when an alert of `kind` raised at `now` is to be sent; false when
 * it was folded into the next summary. Summaries and test alerts are
 * never limited. */
bool alert_rate_pass(struct alert_rate *r, enum alert_kind kind, int64_t now);
/* Close the windows that ended by `now`. Writes up to `max` due summaries
 * into out and returns their number. */
size_t alert_rate_tick(struct alert_rate *r, int64_t now, struct alert_rate_summary *out,
		       size_t max);
/* The earliest time a window ends, or INT64_MAX when none is open. */
int64_t alert_rate_next(const struct alert_rate *r);

/* "37 more bans in the last 10 minutes" for a summary. */
void alert_rate_summary_text(const struct alert_rate_summary *s, char *out, size_t outlen);

#endif
