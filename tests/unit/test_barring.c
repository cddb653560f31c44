/* Call barring (S11): the verdict for every class of number under every
 * class of service, the allow-list words, the country allow-list, the
 * suspension, and emergency numbers above everything. Numbers are
 * classified by the real UK plan, so the tests read as dialled. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fraud/barring.h"
#include "fraud/numplan.h"

static struct numplan *np;

static int plan_up(void **state)
{
	const char *err = NULL;

	(void)state;
	if (numplan_alloc(&np, "GB", &err) != 0)
		fail_msg("numplan_alloc: %s", err ? err : "?");
	return 0;
}

static int plan_down(void **state)
{
	(void)state;
	numplan_free(np);
	return 0;
}

static struct ext_record ext(enum ext_cos cos, const char *allow, const char *countries)
{
	struct ext_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ext, sizeof(r.ext), "1001");
	r.cos = cos;
	snprintf(r.allow_classes, sizeof(r.allow_classes), "%s", allow);
	snprintf(r.countries, sizeof(r.countries), "%s", countries);
	return r;
}

static enum bar_verdict verdict(const struct ext_record *r, const char *dialled)
{
	struct bar_policy p;
	struct num_info n;
	const char *why = NULL;

	if (numplan_classify(np, dialled, strlen(dialled), &n, &why) != 0)
		n.cls = NUM_INVALID;
	barring_policy(np, r, &p);
	return barring_check(&p, &n);
}

static void national_default(void **state)
{
	struct ext_record r = ext(EXT_COS_NATIONAL, "", "");

	(void)state;
	assert_int_equal(verdict(&r, "01632960123"), BAR_ALLOW);
	assert_int_equal(verdict(&r, "07700900123"), BAR_ALLOW);
	assert_int_equal(verdict(&r, "03069990123"), BAR_ALLOW);
	assert_int_equal(verdict(&r, "08081570123"), BAR_ALLOW);
	assert_int_equal(verdict(&r, "09098790123"), BAR_CLASS);
	assert_int_equal(verdict(&r, "07000123456"), BAR_CLASS);
	assert_int_equal(verdict(&r, "118118"), BAR_CLASS);
	assert_int_equal(verdict(&r, "08712345678"), BAR_CLASS);
	assert_int_equal(verdict(&r, "+33142685300"), BAR_CLASS);
	assert_int_equal(verdict(&r, "999"), BAR_EMERGENCY);
	assert_int_equal(verdict(&r, "112"), BAR_EMERGENCY);
	assert_int_equal(verdict(&r, "0163296012a"), BAR_INVALID);
}

static void internal_reaches_only_emergency(void **state)
{
	struct ext_record r = ext(EXT_COS_INTERNAL, "premium", "FR");

	(void)state;
	assert_int_equal(verdict(&r, "01632960123"), BAR_CLASS);
	assert_int_equal(verdict(&r, "09098790123"), BAR_CLASS);
	assert_int_equal(verdict(&r, "999"), BAR_EMERGENCY);
}

static void allow_opens_one_class(void **state)
{
	struct ext_record r = ext(EXT_COS_NATIONAL, "premium,directory", "");

	(void)state;
	assert_int_equal(verdict(&r, "09098790123"), BAR_ALLOW);
	assert_int_equal(verdict(&r, "118118"), BAR_ALLOW);
	assert_int_equal(verdict(&r, "07000123456"), BAR_CLASS);
	assert_int_equal(verdict(&r, "08712345678"), BAR_CLASS);
}

static void international_needs_class_and_country(void **state)
{
	struct ext_record nat = ext(EXT_COS_NATIONAL, "", "FR");
	struct ext_record intl = ext(EXT_COS_INTERNATIONAL, "", "FR,IE");
	struct ext_record none = ext(EXT_COS_INTERNATIONAL, "", "");

	(void)state;
	assert_int_equal(verdict(&nat, "0033142685300"), BAR_CLASS);
	assert_int_equal(verdict(&intl, "0033142685300"), BAR_ALLOW);
	assert_int_equal(verdict(&intl, "+353212345678"), BAR_ALLOW);
	assert_int_equal(verdict(&intl, "+972501234567"), BAR_COUNTRY);
	assert_int_equal(verdict(&none, "+33142685300"), BAR_COUNTRY);
	/* International class does not open premium at home. */
	assert_int_equal(verdict(&intl, "09098790123"), BAR_CLASS);
}

static void suspension_leaves_only_emergency(void **state)
{
	struct ext_record r = ext(EXT_COS_INTERNATIONAL, "premium", "FR");

	(void)state;
	r.suspended = true;
	assert_int_equal(verdict(&r, "01632960123"), BAR_SUSPENDED);
	assert_int_equal(verdict(&r, "+33142685300"), BAR_SUSPENDED);
	assert_int_equal(verdict(&r, "999"), BAR_EMERGENCY);
}

/* Words a hand edit left in the database narrow the policy. */
static void bad_stored_words_narrow(void **state)
{
	struct ext_record r = ext(EXT_COS_INTERNATIONAL, "premium,bogus", "FR,XX");

	(void)state;
	assert_int_equal(verdict(&r, "09098790123"), BAR_CLASS);
	assert_int_equal(verdict(&r, "+33142685300"), BAR_COUNTRY);
}

static void class_lists(void **state)
{
	const char *why = NULL;
	uint32_t m;

	(void)state;
	assert_int_equal(barring_parse_classes("", &m, &why), 0);
	assert_int_equal(m, 0);
	assert_int_equal(barring_parse_classes("service,personal", &m, &why), 0);
	assert_int_equal(m, (1u << NUM_SERVICE) | (1u << NUM_PERSONAL));
	assert_int_equal(barring_parse_classes("premium,premium", &m, &why), EINVAL);
	assert_int_equal(barring_parse_classes("geographic", &m, &why), EINVAL);
	assert_int_equal(barring_parse_classes("premium,", &m, &why), EINVAL);
	assert_int_equal(barring_parse_classes(",premium", &m, &why), EINVAL);
	assert_int_equal(barring_parse_classes("Premium", &m, &why), EINVAL);
	assert_int_equal(barring_parse_classes("premium directory", &m, &why), EINVAL);
	assert_non_null(why);
}

static void country_lists(void **state)
{
	char list[EXT_COUNTRIES_MAX][3];
	const char *why = NULL;
	unsigned n;

	(void)state;
	assert_int_equal(barring_parse_countries(np, "FR,DE,JM", list, EXT_COUNTRIES_MAX, &n, &why), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[2], "JM");
	assert_int_equal(barring_parse_countries(np, "", list, EXT_COUNTRIES_MAX, &n, &why), 0);
	assert_int_equal(n, 0);
	assert_int_equal(barring_parse_countries(np, "fr", list, EXT_COUNTRIES_MAX, &n, &why), EINVAL);
	assert_int_equal(barring_parse_countries(np, "FRA", list, EXT_COUNTRIES_MAX, &n, &why), EINVAL);
	assert_int_equal(barring_parse_countries(np, "QQ", list, EXT_COUNTRIES_MAX, &n, &why), EINVAL);
	assert_int_equal(barring_parse_countries(np, "FR,FR", list, EXT_COUNTRIES_MAX, &n, &why), EINVAL);
	assert_int_equal(barring_parse_countries(np, "FR,DE", list, 1, &n, &why), EINVAL);
	assert_int_equal(barring_parse_countries(np, "FR,", list, EXT_COUNTRIES_MAX, &n, &why), EINVAL);
}

static void verdict_names(void **state)
{
	(void)state;
	assert_string_equal(bar_verdict_name(BAR_CLASS), "class");
	assert_string_equal(bar_verdict_name(BAR_BLACKLIST), "blacklist");
	assert_string_equal(bar_verdict_name((enum bar_verdict)99), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(national_default),
		cmocka_unit_test(internal_reaches_only_emergency),
		cmocka_unit_test(allow_opens_one_class),
		cmocka_unit_test(international_needs_class_and_country),
		cmocka_unit_test(suspension_leaves_only_emergency),
		cmocka_unit_test(bad_stored_words_narrow),
		cmocka_unit_test(class_lists),
		cmocka_unit_test(country_lists),
		cmocka_unit_test(verdict_names),
	};
	return cmocka_run_group_tests(tests, plan_up, plan_down);
}
