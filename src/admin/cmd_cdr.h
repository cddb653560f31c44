/* Parsing and formatting behind `ringfence cdr`, separate from the
 * handlers so the unit tests can check them directly. */
#ifndef RF_ADMIN_CMD_CDR_H
#define RF_ADMIN_CMD_CDR_H

#include <stddef.h>
#include <stdint.h>

/* The oldest --since we accept reaches back this far: a larger age is a
 * typo (7000d for 7d), not a question. */
#define CDR_SINCE_MAX_DAYS 36500
/* --limit range. */
#define CDR_LIST_LIMIT_MAX 1000000u

/* Parse a --since value into unix milliseconds:
 *   2026-11-26                   midnight UTC of that day
 *   2026-11-26T15:04Z            a time, with Z or an offset (+01:00)
 *   2026-11-26T15:04:05.250Z     seconds and a fraction are optional
 *   90s, 15m, 24h, 7d            that long before now_ms
 * Returns 0, or EINVAL with a one-line reason in why. */
int cdr_parse_since(const char *text, int64_t now_ms, int64_t *since_ms,
		    char *why, size_t whylen);

/* "2026-11-26T15:04:05.123Z" for unix milliseconds ms (UTC), or "" for 0
 * (a call that was never answered has no answer time). */
const char *cdr_iso_ms(int64_t ms, char *buf, size_t len);

/* One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF
 * (quotes doubled). A value starting with = + - @ TAB or CR gets a
 * leading single quote first, so a spreadsheet shows it as text instead
 * of running it as a formula: caller and callee come from the network.
 * Writes at most len bytes with a NUL; returns the full length like
 * snprintf, so a result >= len means it was cut. */
size_t cdr_csv_field(const char *val, char *out, size_t len);

#endif
