/* The fraud clock's test-only offset: what RINGFENCE_CLOCK_OFFSET accepts,
 * what it refuses, and that the clock moves by it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/limits.h"

static int reset(void **state)
{
	const char *why;

	(void)state;
	unsetenv(RF_CLOCK_OFFSET_ENV);
	assert_int_equal(rf_clock_init(&why), 0);
	return 0;
}

static void whole_numbers_are_accepted(void **state)
{
	static const struct { const char *in; int64_t want; } ok[] = {
		{ "0", 0 }, { "3600", 3600 }, { "-86400", -86400 }, { "+5", 5 },
		{ "007", 7 }, { "315576000", RF_CLOCK_OFFSET_MAX }, { "-315576000", -(int64_t)RF_CLOCK_OFFSET_MAX },
	};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(rf_clock_parse_offset(ok[i].in, &v), 0);
		assert_true(v == ok[i].want);
	}
}

static void anything_else_is_refused(void **state)
{
	static const char *const bad[] = {
		"", "-", "+", "1.5", "1e3", "12abc", " 5", "5 ", "0x10", "--5", "3600s",
		"315576001", "-315576001", "99999999999999999999999999",
	};
	int64_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rf_clock_parse_offset(bad[i], &v), EINVAL);
		assert_true(v == 42);
	}
}

static void unset_or_empty_is_no_offset(void **state)
{
	const char *why = NULL;
	time_t before = time(NULL);

	(void)state;
	assert_false(rf_clock_offset_set());
	assert_true(rf_clock_offset() == 0);
	assert_true(rf_clock_now() >= before && rf_clock_now() <= time(NULL));
	setenv(RF_CLOCK_OFFSET_ENV, "", 1);
	assert_int_equal(rf_clock_init(&why), 0);
	assert_false(rf_clock_offset_set());
}

static void the_offset_moves_the_clock(void **state)
{
	const char *why = NULL;
	time_t before, after;
	int64_t now;

	(void)state;
	setenv(RF_CLOCK_OFFSET_ENV, "-7200", 1);
	assert_int_equal(rf_clock_init(&why), 0);
	assert_true(rf_clock_offset_set());
	assert_true(rf_clock_offset() == -7200);
	before = time(NULL);
	now = rf_clock_now();
	after = time(NULL);
	assert_true(now >= (int64_t)before - 7200 && now <= (int64_t)after - 7200);
	/* Read once: changing the variable later changes nothing. */
	setenv(RF_CLOCK_OFFSET_ENV, "100", 1);
	assert_true(rf_clock_offset() == -7200);
}

static void a_bad_value_is_refused_and_named(void **state)
{
	const char *why = NULL;

	(void)state;
	setenv(RF_CLOCK_OFFSET_ENV, "3600", 1);
	assert_int_equal(rf_clock_init(&why), 0);
	setenv(RF_CLOCK_OFFSET_ENV, "1h", 1);
	assert_int_equal(rf_clock_init(&why), EINVAL);
	assert_non_null(why);
	assert_string_equal(why, "RINGFENCE_CLOCK_OFFSET='1h' is not a whole number of seconds"
				 " within +-315576000");
	/* The offset in force stays. */
	assert_true(rf_clock_offset_set());
	assert_true(rf_clock_offset() == 3600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(whole_numbers_are_accepted, reset),
		cmocka_unit_test_setup(anything_else_is_refused, reset),
		cmocka_unit_test_setup(unset_or_empty_is_no_offset, reset),
		cmocka_unit_test_setup(the_offset_moves_the_clock, reset),
		cmocka_unit_test_setup(a_bad_value_is_refused_and_named, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
