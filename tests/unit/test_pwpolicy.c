/* Password and PIN policy, against the real libpwquality and cracklib
 * dictionary of the machine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/secret.h"
#include "guard/pwpolicy.h"

static void expect_pw_ok(const char *ext, const char *pw)
{
	char why[256] = "untouched";
	int r = pwpolicy_check_password(ext, pw, why, sizeof(why));

	if (r != 0)
		fail_msg("\"%s\" refused: %s", pw, why);
	assert_string_equal(why, "");
}

static void expect_pw_refused(const char *ext, const char *pw,
			      const char *reason)
{
	char why[256] = "";

	assert_int_equal(pwpolicy_check_password(ext, pw, why, sizeof(why)),
			 EINVAL);
	assert_string_equal(why, reason);
}

/* For reasons that come from the library: only the start is ours. */
static void expect_pw_refused_prefix(const char *ext, const char *pw,
				     const char *prefix)
{
	char why[256] = "";

	assert_int_equal(pwpolicy_check_password(ext, pw, why, sizeof(why)),
			 EINVAL);
	if (strncmp(why, prefix, strlen(prefix)) != 0)
		fail_msg("\"%s\": reason \"%s\" does not start \"%s\"", pw, why,
			 prefix);
}

static void test_password_own_rules(void **state)
{
	(void)state;
	expect_pw_refused("1001", "Ab1-xyzw", "password too short: 8 < 10");
	expect_pw_refused("1001", "", "password is empty");
	expect_pw_refused("1001", NULL, "password is empty");
	expect_pw_refused("1001", "qz7-vr2-kw9m", "password needs an upper-case letter");
	expect_pw_refused("1001", "QZ7-VR2-KW9M", "password needs a lower-case letter");
	expect_pw_refused("1001", "Qz-vR-kWm-Xp", "password needs a digit");
	expect_pw_refused("1001", "Qz7vR2kW9mXp", "password needs a symbol");
	expect_pw_refused("1001", "Qz7 vR2 kW9m", "password needs a symbol");
	expect_pw_refused("1001", "Qz7-1001-kW9m",
			  "password must not contain the extension number");
	expect_pw_refused("ab12c", "Qz7-AB12C-kW9m",
			  "password must not contain the extension number");
	expect_pw_refused("1001", "Qz7-vR2\nkW9m",
			  "password must use printable ASCII characters only");
	expect_pw_refused("1001", "Qz7-vR2-kW9m\xc3\xa9",
			  "password must use printable ASCII characters only");
	{
		char longpw[140];

		memset(longpw, 'x', sizeof(longpw) - 1);
		longpw[sizeof(longpw) - 1] = '\0';
		expect_pw_refused("1001", longpw, "password too long: 139 > 128");
	}
	/* Very short extensions are not searched for. */
	expect_pw_ok("7", "Qz7-vR2-kW9m");
	expect_pw_ok(NULL, "Qz7-vR2-kW9m");
}

static void test_password_good(void **state)
{
	(void)state;
	expect_pw_ok("1001", "Qz7-vR2-kW9m");
	expect_pw_ok("1001", "Zq7!vR2@kW9m");
	expect_pw_ok("1001", "Xk9#mQ2vLp");
	expect_pw_ok("1001", "Correct-Horse7");
}

static void test_password_decorated_words(void **state)
{
	(void)state;
	/* cracklib on its own accepts all of these. */
	expect_pw_refused("1001", "Password123!",
			  "password is a dictionary word with digits or symbols added");
	expect_pw_refused("1001", "Welcome2024!",
			  "password is a dictionary word with digits or symbols added");
	expect_pw_refused("1001", "Summer2025#",
			  "password is a dictionary word with digits or symbols added");
	expect_pw_refused("1001", "!!Sunshine2024",
			  "password is a dictionary word with digits or symbols added");
	/* Look-alike substitutions. */
	expect_pw_refused("1001", "P@ssw0rd123!",
			  "password is a dictionary word with digits or symbols added");
	expect_pw_refused("1001", "W3lc0me-2024",
			  "password is a dictionary word with digits or symbols added");
}

static void test_password_library_reasons(void **state)
{
	(void)state;
	expect_pw_refused_prefix("1001", "Football1!", "password too weak: ");
	expect_pw_refused_prefix("1001", "Abcdefgh1!", "password too weak: ");
	expect_pw_refused_prefix("1001", "Ab1!Ab1!Ab1!", "password too weak: ");
}

static void test_generated_passwords_pass(void **state)
{
	char pw[40];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(secret_password(pw, 20 + (size_t)(i % 8)), 0);
		expect_pw_ok("1001", pw);
	}
}

static void test_reason_buffer_bounds(void **state)
{
	char why[8];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(pwpolicy_check_password("1001", "short", why, sizeof(why)),
			 EINVAL);
	assert_string_equal(why, "passwor");
	assert_int_equal(pwpolicy_check_password("1001", "short", NULL, 0), EINVAL);
	assert_int_equal(pwpolicy_check_pin("1001", "12", NULL, 0), EINVAL);
}

static void expect_pin(const char *ext, const char *pin, const char *reason)
{
	char why[128] = "untouched";
	int r = pwpolicy_check_pin(ext, pin, why, sizeof(why));

	if (reason == NULL) {
		if (r != 0)
			fail_msg("PIN \"%s\" refused: %s", pin, why);
		assert_string_equal(why, "");
		return;
	}
	assert_int_equal(r, EINVAL);
	assert_string_equal(why, reason);
}

static void test_pin(void **state)
{
	(void)state;
	expect_pin("1001", "274916", NULL);
	expect_pin("1001", "90357281", NULL);
	expect_pin("1001", "12345", "PIN too short: 5 < 6");
	expect_pin("1001", "", "PIN is empty");
	expect_pin("1001", NULL, "PIN is empty");
	expect_pin("1001", "27491a", "PIN must contain digits only");
	expect_pin("1001", " 274916", "PIN must contain digits only");
	expect_pin("1001", "1234567890123456789", "PIN too long: 19 > 16");
	expect_pin("1001", "000000", "PIN must not be one repeated digit");
	expect_pin("1001", "7777777", "PIN must not be one repeated digit");
	expect_pin("1001", "123456", "PIN must not be an ascending run of digits");
	expect_pin("1001", "567890", "PIN must not be an ascending run of digits");
	expect_pin("1001", "987654", "PIN must not be a descending run of digits");
	expect_pin("1001", "210987", "PIN must not be a descending run of digits");
	expect_pin("1001", "510019", "PIN must not contain the extension number");
	expect_pin("4711", "947112", "PIN must not contain the extension number");
	/* Near-runs are fine. */
	expect_pin("1001", "123457", NULL);
	expect_pin("12", "129384", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_own_rules),
		cmocka_unit_test(test_password_good),
		cmocka_unit_test(test_password_decorated_words),
		cmocka_unit_test(test_password_library_reasons),
		cmocka_unit_test(test_generated_passwords_pass),
		cmocka_unit_test(test_reason_buffer_bounds),
		cmocka_unit_test(test_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
