/* Rating (S13): what a call costs. The rate table maps E.164 prefixes to
 * a price per minute and a connection charge; a number gets the rate of
 * its longest matching prefix (fraud/prefix.h).
 *
 * Money is exact: integer micro-units of [credit] currency (1 GBP is
 * 1,000,000), parsed from decimal text without floating point, so sums of
 * many calls never drift.
 *
 * A loaded table is read-only: the daemon builds a new one aside when the
 * store's data_version changes (on its signalling thread), then swaps one
 * pointer and frees the old table. */
#ifndef RF_FRAUD_RATING_H
#define RF_FRAUD_RATING_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Characters of a price as written ("0.0123"): 7 digits, a point and 6
 * decimals fit with room for leading zeros; anything longer is garbage. */
#define RATE_PRICE_TEXT_MAX 32
/* Decimals kept: prices are exact to the micro-unit. */
#define RATE_PRICE_DECIMALS 6
/* Enough for any int64 as rating_format_price writes it. */
#define RATE_PRICE_BUF 32

/* Parse a non-negative decimal price ("0.0123", "12", "1.50") of len
 * bytes into micro-units. Refused with EINVAL and a static reason in *why
 * (a phrase to follow the value: "is negative", "has more than 6 decimal
 * places ..."): an empty or over-long text, a sign, an exponent, a comma
 * for the point, more than RATE_PRICE_DECIMALS decimals, and more than
 * RATE_PRICE_MAX. */
int rating_parse_price(const char *text, size_t len, int64_t *micro, const char **why);

/* micro-units as a decimal with 2 to 6 decimals, trailing zeros dropped
 * beyond the second: 12300 is "0.0123", 1500000 is "1.50". Returns buf. */
const char *rating_format_price(int64_t micro, char *buf, size_t len);

/* The cost in micro-units of an answered call of `seconds` at rate r: the
 * connection charge plus per_minute * seconds / 60, the latter rounded up
 * to the micro-unit (a call is never charged less than its share). A
 * negative field (never stored) counts as 0; the result saturates at
 * INT64_MAX instead of overflowing. */
int64_t rating_cost(const struct rate_record *r, unsigned seconds);

struct rating;

/* Load the rate table. Rows in a currency other than `currency` ([credit]
 * currency, changed after they were imported) and rows whose prefix is not
 * E.164 are skipped and counted, so costs are never summed across
 * currencies. Returns 0, ENOMEM, E2BIG for more than RF_MAX_RATES rows,
 * or the store's error; *out is set only on success. */
int rating_load(struct store *s, const char *currency, struct rating **out);
void rating_free(struct rating *rt);

/* The rate of the longest prefix of e164 (E.164 with its '+'), or NULL
 * when no rate matches. The record lives as long as the table. */
const struct rate_record *rating_match(const struct rating *rt, const char *e164);

/* Rates loaded, and rows skipped by rating_load. */
size_t rating_count(const struct rating *rt);
size_t rating_skipped(const struct rating *rt);

#endif
