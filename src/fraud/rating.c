/* Rating: exact decimal prices, the cost of a call, and the rate table in
 * memory. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "fraud/prefix.h"
#include "fraud/rating.h"

#define MICRO 1000000

/* ---- prices ---- */

static int price_fail(const char **why, const char *reason)
{
	*why = reason;
	return EINVAL;
}

/* Forms people write that are not prices, each named. */
static int price_shape(const char *text, size_t len, const char **why)
{
	if (len == 0)
		return price_fail(why, "is empty");
	if (len > RATE_PRICE_TEXT_MAX)
		return price_fail(why, "is too long for a price");
	if (text[0] == '-')
		return price_fail(why, "is negative");
	if (text[0] == '.')
		return price_fail(why, "needs a digit before the decimal point (0.5, not .5)");
	if (memchr(text, ',', len))
		return price_fail(why, "has a comma: write the decimal point as '.' (0.0123) "
				  "and no thousands separator");
	return 0;
}

/* Digits of text[*i..len) into *v, at most `max` of them when max > 0;
 * returns how many were read. */
static unsigned read_digits(const char *text, size_t len, size_t *i, int64_t *v, unsigned max)
{
	unsigned n = 0;

	for (; *i < len && text[*i] >= '0' && text[*i] <= '9'; (*i)++, n++) {
		if (max && n == max)
			break;
		/* Past the maximum already: keep counting, stop growing. */
		if (*v <= RATE_PRICE_MAX)
			*v = *v * 10 + (text[*i] - '0');
	}
	return n;
}

int rating_parse_price(const char *text, size_t len, int64_t *micro, const char **why)
{
	int64_t units = 0, frac = 0;
	unsigned decimals = 0;
	size_t i = 0;
	int err = price_shape(text, len, why);

	if (err)
		return err;
	if (read_digits(text, len, &i, &units, 0) == 0)
		return price_fail(why, "is not a price: write a decimal number such as 0.0123");
	if (i < len && text[i] == '.') {
		i++;
		decimals = read_digits(text, len, &i, &frac, RATE_PRICE_DECIMALS);
		if (decimals == 0)
			return price_fail(why, "has no digits after the decimal point");
		if (i < len && text[i] >= '0' && text[i] <= '9')
			return price_fail(why, "has more than 6 decimal places: prices are exact "
					  "to the micro-unit (0.000001)");
	}
	if (i < len)
		return price_fail(why, "is not a price: write a decimal number such as 0.0123");
	if (units > RATE_PRICE_MAX / MICRO)
		return price_fail(why, "is more than the largest price, 1000000");
	for (; decimals < RATE_PRICE_DECIMALS; decimals++)
		frac *= 10;
	if (units * MICRO + frac > RATE_PRICE_MAX)
		return price_fail(why, "is more than the largest price, 1000000");
	*micro = units * MICRO + frac;
	return 0;
}

const char *rating_format_price(int64_t micro, char *buf, size_t len)
{
	uint64_t mag = micro < 0 ? 0 - (uint64_t)micro : (uint64_t)micro;
	int n = snprintf(buf, len, "%s%llu.%06llu", micro < 0 ? "-" : "",
			 (unsigned long long)(mag / MICRO), (unsigned long long)(mag % MICRO));

	/* Drop trailing zeros, keeping two decimals as money is written. */
	if (n > 0 && (size_t)n < len) {
		while (n > 0 && buf[n - 1] == '0' && buf[n - 3] != '.')
			buf[--n] = '\0';
	}
	return buf;
}

/* a + b, or INT64_MAX when that overflows; both are non-negative. */
static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t sum;

	return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

int64_t rating_cost(const struct rate_record *r, unsigned seconds)
{
	int64_t per_minute = r->per_minute > 0 ? r->per_minute : 0;
	int64_t connection = r->connection > 0 ? r->connection : 0;
	int64_t minutes = seconds / 60, rest = seconds % 60, whole;

	/* per_minute * seconds / 60, rounded up, without ever forming the
	 * product: with per_minute = 60q + m, that is q * seconds plus
	 * m * seconds / 60, and only m * rest (< 3600) needs rounding. */
	if (__builtin_mul_overflow(per_minute, minutes, &whole))
		return INT64_MAX;
	whole = add_sat(whole, per_minute / 60 * rest);
	whole = add_sat(whole, (per_minute % 60 * rest + 59) / 60);
	return add_sat(connection, whole);
}

/* ---- the table ---- */

struct rating {
	struct prefix_set set;  /* struct rate_record */
	char currency[4];
};

static int collect(const struct rate_record *r, void *arg)
{
	struct rating *rt = arg;

	if (!prefix_valid(r->prefix) || strcmp(r->currency, rt->currency) != 0) {
		rt->set.skipped++;
		return 0;
	}
	return prefix_list_push(&rt->set.rows, r);
}

int rating_load(struct store *s, const char *currency, struct rating **out)
{
	struct rating *rt = calloc(1, sizeof(*rt));
	int err = ENOMEM;

	if (!rt)
		goto out;
	err = EINVAL;
	if (!currency || strlen(currency) != 3)
		goto out;
	memcpy(rt->currency, currency, 4);
	rt->set.rows.size = sizeof(struct rate_record);
	rt->set.rows.max = RF_MAX_RATES;
	err = store_rate_foreach(s, collect, rt);
	if (!err)
		err = prefix_set_index(&rt->set, offsetof(struct rate_record, prefix));
out:
	if (err) {
		rating_free(rt);
		return err;
	}
	*out = rt;
	return 0;
}

void rating_free(struct rating *rt)
{
	if (!rt)
		return;
	prefix_set_free(&rt->set);
	free(rt);
}

const struct rate_record *rating_match(const struct rating *rt, const char *e164)
{
	return prefix_set_find(&rt->set, e164);
}

size_t rating_count(const struct rating *rt)
{
	return rt->set.rows.n;
}

size_t rating_skipped(const struct rating *rt)
{
	return rt->set.skipped;
}
