/* The per-caller rate limit: a minute's window per number, other numbers
 * unaffected, a new window after the minute, 0 meaning no limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fraud/caller_rate.h"

static bool admit(struct caller_rate *r, const char *who, unsigned limit, int64_t now)
{
	return caller_rate_admit(r, who, strlen(who), limit, now);
}

static void test_limit_per_caller_per_minute(void **state)
{
	struct caller_rate *r = NULL;

	(void)state;
	assert_int_equal(caller_rate_alloc(&r), 0);
	assert_true(admit(r, "+441632960999", 2, 1000));
	assert_true(admit(r, "+441632960999", 2, 1010));
	assert_false(admit(r, "+441632960999", 2, 1059));
	assert_true(admit(r, "+441632960888", 2, 1059));
	/* the minute is over: a new window */
	assert_true(admit(r, "+441632960999", 2, 1060));
	assert_int_equal(caller_rate_count(r), 2);
	caller_rate_free(r);
}

static void test_zero_is_no_limit_and_tracks_nothing(void **state)
{
	struct caller_rate *r = NULL;

	(void)state;
	assert_int_equal(caller_rate_alloc(&r), 0);
	for (int i = 0; i < 100; i++)
		assert_true(admit(r, "+441632960999", 0, 1000));
	assert_int_equal(caller_rate_count(r), 0);
	caller_rate_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_per_caller_per_minute),
		cmocka_unit_test(test_zero_is_no_limit_and_tracks_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
