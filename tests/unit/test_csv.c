#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "admin/csv.h"

static int split(const char *in, char **f, char *buf, const char **why)
{
	memcpy(buf, in, strlen(in) + 1);
	return csv_split(buf, f, 3, why);
}

static void test_plain_and_quoted(void **state)
{
	char buf[128], *f[3];
	const char *why = NULL;

	(void)state;
	assert_int_equal(split("1001,,Front desk", f, buf, &why), 3);
	assert_string_equal(f[0], "1001");
	assert_string_equal(f[1], "");
	assert_string_equal(f[2], "Front desk");
	assert_int_equal(split("1002,\"a,b\"\"c\",\"Smith, J\"", f, buf, &why), 3);
	assert_string_equal(f[1], "a,b\"c");
	assert_string_equal(f[2], "Smith, J");
	assert_int_equal(split("1003", f, buf, &why), 1);
	assert_int_equal(split("", f, buf, &why), 1);
	assert_string_equal(f[0], "");
}

static void test_broken_lines(void **state)
{
	char buf[128], *f[3];
	const char *why = NULL;

	(void)state;
	assert_int_equal(split("1,2,3,4", f, buf, &why), -1);
	assert_string_equal(why, CSV_TOO_MANY);
	assert_string_equal(why, "too many fields");
	assert_int_equal(split("1,\"open", f, buf, &why), -1);
	assert_string_equal(why, "unterminated quoted field");
	assert_int_equal(split("1,\"x\"y", f, buf, &why), -1);
	assert_string_equal(why, "text after a closing quote");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_quoted),
		cmocka_unit_test(test_broken_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
