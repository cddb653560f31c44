/* Rating: decimal prices parsed exactly into micro-units (and every way a
 * price can be wrong, each with its reason), prices written back, the
 * cost of a call rounded up and safe from overflow, and the rate table
 * loaded from a real store and matched by longest prefix, with rows in
 * another currency left out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "core/limits.h"
#include "fraud/rating.h"

static int parse(const char *text, int64_t *micro, const char **why)
{
	*why = NULL;
	*micro = -12345;
	return rating_parse_price(text, strlen(text), micro, why);
}

static int64_t price(const char *text)
{
	const char *why;
	int64_t micro;

	assert_int_equal(parse(text, &micro, &why), 0);
	return micro;
}

static void refused(const char *text, const char *reason)
{
	const char *why;
	int64_t micro;

	assert_int_equal(parse(text, &micro, &why), EINVAL);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("'%s': reason '%s' lacks '%s'", text, why, reason);
	assert_true(micro == -12345); /* nothing written on refusal */
}

static void test_parse_exact(void **state)
{
	(void)state;
	assert_true(price("0") == 0);
	assert_true(price("0.0123") == 12300);
	assert_true(price("1") == 1000000);
	assert_true(price("1.5") == 1500000);
	assert_true(price("1.50") == 1500000);
	assert_true(price("0.000001") == 1);
	assert_true(price("12.345678") == 12345678);
	assert_true(price("007.10") == 7100000);
	assert_true(price("0.1") + price("0.2") == price("0.3")); /* no binary fractions */
	assert_true(price("1000000") == RATE_PRICE_MAX);
	assert_true(price("1000000.000000") == RATE_PRICE_MAX);
	assert_true(price("999999.999999") == RATE_PRICE_MAX - 1);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	refused("", "empty");
	refused("-0.01", "negative");
	refused("-0", "negative");
	refused("0.1234567", "more than 6 decimal places");
	refused("0.0000001", "more than 6 decimal places");
	refused("1000000.000001", "largest price");
	refused("2000000", "largest price");
	refused("99999999999999999999999999", "largest price");
	refused("441632960000", "largest price");
	refused(".5", "digit before the decimal point");
	refused("1.", "no digits after");
	refused("0,5", "comma");
	refused("1,000.00", "comma");
	refused("1e-3", "not a price");
	refused("0x10", "not a price");
	refused("+1", "not a price");
	refused(" 1", "not a price");
	refused("1 ", "not a price");
	refused("1.2.3", "not a price");
	refused("£1", "not a price");
	refused("abc", "not a price");
	refused("nan", "not a price");
	refused("000000000000000000000000000000001", "too long");
}

/* The length is what counts, not a NUL: a price inside a longer line. */
static void test_parse_uses_length(void **state)
{
	const char *why = NULL;
	int64_t micro = 0;

	(void)state;
	assert_int_equal(rating_parse_price("0.05,0,GBP", 4, &micro, &why), 0);
	assert_true(micro == 50000);
	assert_int_equal(rating_parse_price("1\0" "5", 3, &micro, &why), EINVAL);
}

static const char *fmt(int64_t micro)
{
	static char buf[RATE_PRICE_BUF];

	return rating_format_price(micro, buf, sizeof(buf));
}

static void test_format(void **state)
{
	(void)state;
	assert_string_equal(fmt(0), "0.00");
	assert_string_equal(fmt(12300), "0.0123");
	assert_string_equal(fmt(1500000), "1.50");
	assert_string_equal(fmt(1), "0.000001");
	assert_string_equal(fmt(10000), "0.01");
	assert_string_equal(fmt(123456789), "123.456789");
	assert_string_equal(fmt(RATE_PRICE_MAX), "1000000.00");
	assert_string_equal(fmt(INT64_MAX), "9223372036854.775807");
	assert_string_equal(fmt(-2500000), "-2.50");
	assert_string_equal(fmt(INT64_MIN), "-9223372036854.775808");
	/* What is written reads back as the same amount. */
	for (int64_t v = 0; v < 3000000; v += 9973)
		assert_true(price(fmt(v)) == v);
}

static int64_t cost(int64_t per_minute, int64_t connection, unsigned seconds)
{
	struct rate_record r = { .per_minute = per_minute, .connection = connection };

	return rating_cost(&r, seconds);
}

static void test_cost(void **state)
{
	(void)state;
	/* 0.10 a minute, 0.05 to connect. */
	assert_true(cost(100000, 50000, 0) == 50000);
	assert_true(cost(100000, 50000, 60) == 150000);
	assert_true(cost(100000, 50000, 30) == 100000);
	assert_true(cost(100000, 0, 1) == 1667);  /* 1666.67 rounded up */
	assert_true(cost(100000, 0, 61) == 101667);
	assert_true(cost(100000, 0, 3600) == 6000000);
	/* Per-second billing never undercharges a call's share. */
	assert_true(cost(1, 0, 1) == 1);
	assert_true(cost(59, 0, 1) == 1);
	assert_true(cost(60, 0, 1) == 1);
	assert_true(cost(61, 0, 1) == 2);
	assert_true(cost(0, 0, 12345) == 0);
	/* The sum of a call's seconds never beats the whole call. */
	for (unsigned s = 0; s < 200; s++)
		assert_true(cost(123457, 0, s) * 60 >= 123457 * (int64_t)s);
}

static void test_cost_extremes(void **state)
{
	(void)state;
	/* The largest price for a year-long call is exact... */
	assert_true(cost(RATE_PRICE_MAX, RATE_PRICE_MAX, 365 * 86400) ==
		    RATE_PRICE_MAX + RATE_PRICE_MAX * 365 * 1440);
	/* ... and for 136 years it saturates rather than wrapping. */
	assert_true(cost(RATE_PRICE_MAX, RATE_PRICE_MAX, UINT32_MAX) == INT64_MAX);
	/* Values the store never holds saturate instead of overflowing. */
	assert_true(cost(INT64_MAX, 0, UINT32_MAX) == INT64_MAX);
	assert_true(cost(INT64_MAX, INT64_MAX, 1) == INT64_MAX);
	assert_true(cost(INT64_MAX / 2 + 1, INT64_MAX / 2 + 1, 60) == INT64_MAX);
	assert_true(cost(INT64_MAX / 2, INT64_MAX / 2, 60) == INT64_MAX - 1);
	assert_true(cost(INT64_MAX, 0, 59) == INT64_MAX / 60 * 59 + (INT64_MAX % 60 * 59 + 59) / 60);
	/* Negative fields count as nothing. */
	assert_true(cost(-100, -100, 60) == 0);
	assert_true(cost(INT64_MIN, 7, 60) == 7);
}

/* ---- the table ---- */

static void put_rate(struct store *s, const char *prefix, int64_t per_minute,
		     const char *currency)
{
	struct rate_record r = { .per_minute = per_minute, .connection = 1, .created = 1 };

	snprintf(r.prefix, sizeof(r.prefix), "%s", prefix);
	snprintf(r.currency, sizeof(r.currency), "%s", currency);
	assert_int_equal(store_rate_put(s, &r), 0);
}

static const char *match(const struct rating *rt, const char *e164)
{
	const struct rate_record *r = rating_match(rt, e164);

	return r ? r->prefix : "none";
}

static void test_load_and_match(void **state)
{
	struct fixture *f = *state;
	struct rating *rt = NULL;

	put_rate(f->s, "+44", 10000, "GBP");
	put_rate(f->s, "+447", 50000, "GBP");
	put_rate(f->s, "+4477", 60000, "GBP");
	put_rate(f->s, "+44909", 1530000, "GBP");
	put_rate(f->s, "+972", 80000, "GBP");
	put_rate(f->s, "+1", 10000, "USD");
	assert_int_equal(rating_load(f->s, "GBP", &rt), 0);
	assert_int_equal(rating_count(rt), 5);
	assert_int_equal(rating_skipped(rt), 1);
	assert_string_equal(match(rt, "+441632960000"), "+44");
	assert_string_equal(match(rt, "+447400123456"), "+447");
	assert_string_equal(match(rt, "+447700900123"), "+4477");
	assert_string_equal(match(rt, "+449098790000"), "+44909");
	assert_true(rating_match(rt, "+449098790000")->per_minute == 1530000);
	assert_string_equal(match(rt, "+972501234567"), "+972");
	/* In another currency: not rated at all, rather than summed wrong. */
	assert_string_equal(match(rt, "+12125550100"), "none");
	assert_string_equal(match(rt, "999"), "none");
	rating_free(rt);
	assert_int_equal(rating_load(f->s, "USD", &rt), 0);
	assert_string_equal(match(rt, "+12125550100"), "+1");
	assert_int_equal(rating_skipped(rt), 5);
	rating_free(rt);
	assert_int_equal(rating_load(f->s, "GB", &rt), EINVAL);
	rating_free(NULL);
}

/* A table loaded before a change stays as it was: the daemon builds a
 * new one and swaps, it never sees half of an import. */
static void test_loaded_table_is_a_snapshot(void **state)
{
	struct fixture *f = *state;
	struct rating *old = NULL, *fresh = NULL;

	assert_int_equal(rating_load(f->s, "GBP", &old), 0);
	assert_int_equal(rating_count(old), 0);
	assert_string_equal(match(old, "+441632960000"), "none");
	put_rate(f->s, "+44", 10000, "GBP");
	assert_string_equal(match(old, "+441632960000"), "none");
	assert_int_equal(rating_load(f->s, "GBP", &fresh), 0);
	assert_string_equal(match(fresh, "+441632960000"), "+44");
	rating_free(old);
	rating_free(fresh);
}

/* The cap holds for the daemon's copy: a store edited beyond it is
 * refused whole instead of loaded in part. */
static void test_load_refuses_more_than_the_cap(void **state)
{
	struct fixture *f = *state;
	struct rating *rt = NULL;
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %u)"
		 " INSERT INTO rates SELECT '+1' || i, 1, 0, 'GBP', 1 FROM n", RF_MAX_RATES + 1);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(rating_load(f->s, "GBP", &rt), E2BIG);
	assert_null(rt);
	assert_int_equal(raw_exec(f->path, "DELETE FROM rates WHERE prefix = '+11'"), SQLITE_OK);
	assert_int_equal(rating_load(f->s, "GBP", &rt), 0);
	assert_int_equal(rating_count(rt), RF_MAX_RATES);
	assert_string_equal(match(rt, "+1300000"), "+1300000");
	assert_string_equal(match(rt, "+1100"), "+1100");
	rating_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_exact),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_uses_length),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_cost_extremes),
		cmocka_unit_test_setup_teardown(test_load_and_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loaded_table_is_a_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refuses_more_than_the_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
