/* The clock the fraud checks read: real time plus an offset that only
 * tests set.
 *
 * Out-of-hours rules (fraud/pattern.h) cannot be shown at 03:00 by a test
 * suite that runs in the afternoon, so the daemon's fraud clock is the
 * real clock moved by RINGFENCE_CLOCK_OFFSET seconds (a whole number,
 * negative to go back). It is read once, when `serve` starts, and `serve`
 * logs a warning line whenever it is set: it is never for production.
 * Everything else (logs, CDRs, bans, nonces) keeps the real clock.
 *
 * rf_clock_init() runs before any thread starts; afterwards the offset is
 * only read, so rf_clock_now() is safe from any thread. */
#ifndef RF_CORE_CLOCK_H
#define RF_CORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define RF_CLOCK_OFFSET_ENV "RINGFENCE_CLOCK_OFFSET"

/* Parse an offset: an optional sign and decimal digits, nothing else, of
 * at most RF_CLOCK_OFFSET_MAX seconds either way. Returns 0 or EINVAL. */
int rf_clock_parse_offset(const char *s, int64_t *out);

/* Read RINGFENCE_CLOCK_OFFSET (unset or empty means no offset). Returns 0,
 * or EINVAL with *why set to a one-line message naming the variable and
 * its value (static storage, overwritten by the next call); the previous
 * offset then stays in force. */
int rf_clock_init(const char **why);

/* Whether an offset is in force, and its value in seconds. */
bool rf_clock_offset_set(void);
int64_t rf_clock_offset(void);

/* Unix seconds on the fraud clock: real time plus the offset. */
int64_t rf_clock_now(void);

#endif
