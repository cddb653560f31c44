/* Outbound route patterns: what each element matches, every refusal with
 * its position, the rewrite (strip, then prepend) and its checks, one
 * pattern covering another, and the ordered table with first match wins,
 * also loaded from a real database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "pbx/route.h"

static struct route_pattern compiled(const char *text)
{
	struct route_pattern p;
	char why[256] = "";

	if (route_pattern_compile(&p, text, strlen(text), why, sizeof(why)) != 0)
		fail_msg("'%s' did not compile: %s", text, why);
	return p;
}

static bool matches(const char *pattern, const char *dialled)
{
	struct route_pattern p = compiled(pattern);

	return route_pattern_match(&p, dialled, strlen(dialled));
}

/* The reason a pattern is refused with. */
static const char *refusal(const char *text)
{
	static char why[256];
	struct route_pattern p;

	why[0] = '\0';
	assert_int_equal(route_pattern_compile(&p, text, strlen(text), why, sizeof(why)), EINVAL);
	assert_int_equal(p.n, 0);
	return why;
}

/* ---- matching ---- */

static void test_literal_digits(void **state)
{
	(void)state;
	assert_true(matches("999", "999"));
	assert_false(matches("999", "99"));
	assert_false(matches("999", "9999"));
	assert_false(matches("999", "998"));
	assert_false(matches("999", ""));
}

static void test_letters(void **state)
{
	char d[2] = "0";

	(void)state;
	for (char c = '0'; c <= '9'; c++) {
		d[0] = c;
		assert_true(matches("X", d));
		assert_int_equal(matches("Z", d), c >= '1');
		assert_int_equal(matches("N", d), c >= '2');
	}
	assert_false(matches("X", "+"));
	assert_false(matches("X", "*"));
	assert_false(matches("X", "#"));
	assert_false(matches("X", "a"));
	assert_true(matches("NXX", "200"));
	assert_false(matches("NXX", "100"));
}

static void test_sets(void **state)
{
	(void)state;
	assert_true(matches("0[1-9]XXXXXXXXX", "01632960000"));
	assert_true(matches("0[1-9]XXXXXXXXX", "07700900123"));
	assert_false(matches("0[1-9]XXXXXXXXX", "00441632960"));
	assert_false(matches("0[1-9]XXXXXXXXX", "0163296000"));   /* one short */
	assert_false(matches("0[1-9]XXXXXXXXX", "016329600001")); /* one long */
	assert_true(matches("[135]", "1"));
	assert_true(matches("[135]", "5"));
	assert_false(matches("[135]", "2"));
	assert_true(matches("[1-35-7]", "3"));
	assert_true(matches("[1-35-7]", "6"));
	assert_false(matches("[1-35-7]", "4"));
	assert_false(matches("[1-35-7]", "8"));
	assert_true(matches("[0-9]", "0"));
	assert_true(matches("[5-5]", "5"));
	assert_true(matches("[11]", "1")); /* a digit twice is harmless */
}

static void test_tails(void **state)
{
	(void)state;
	/* '.': one or more further digits. */
	assert_true(matches("9.", "90"));
	assert_true(matches("9.", "9012345"));
	assert_false(matches("9.", "9"));
	assert_false(matches("9.", "8123"));
	assert_false(matches("9.", "91a"));
	assert_false(matches("9.", "9+1"));
	/* '!': zero or more. */
	assert_true(matches("9!", "9"));
	assert_true(matches("9!", "912"));
	assert_false(matches("9!", "912#"));
	assert_true(matches("00.", "00441632960000"));
	assert_false(matches("00.", "00"));
	/* '.' alone is every number. */
	assert_true(matches(".", "1"));
	assert_true(matches(".", "01632960000"));
	assert_false(matches(".", "+44"));
	assert_false(matches(".", ""));
}

static void test_plus(void **state)
{
	(void)state;
	assert_true(matches("+.", "+441632960000"));
	assert_false(matches("+.", "441632960000"));
	assert_false(matches("+.", "+"));
	assert_true(matches("+44[1-9].", "+441632960000"));
	assert_false(matches("+44[1-9].", "+4401632960000"));
	assert_false(matches("44.", "+441632960000"));
	assert_true(matches("+1!", "+1"));
	assert_true(matches("+1!", "+1876"));
}

static void test_length_limits(void **state)
{
	char dialled[ROUTE_DIALLED_MAX + 2];

	(void)state;
	memset(dialled, '5', sizeof(dialled));
	/* 32 characters is the longest number that matches anything. */
	assert_true(matches("5.", "55"));
	{
		struct route_pattern p = compiled("5.");

		assert_true(route_pattern_match(&p, dialled, ROUTE_DIALLED_MAX));
		assert_false(route_pattern_match(&p, dialled, ROUTE_DIALLED_MAX + 1));
	}
	/* A pattern of exactly 32 positions compiles and matches. */
	{
		char text[ROUTE_DIALLED_MAX + 1];
		struct route_pattern p;

		memset(text, 'X', ROUTE_DIALLED_MAX);
		text[ROUTE_DIALLED_MAX] = '\0';
		p = compiled(text);
		assert_true(route_pattern_match(&p, dialled, ROUTE_DIALLED_MAX));
		assert_false(route_pattern_match(&p, dialled, ROUTE_DIALLED_MAX - 1));
	}
}

/* ---- refusals ---- */

static void test_refusals_name_the_position(void **state)
{
	(void)state;
	assert_string_equal(refusal("0[1-9XX"), "unclosed '[' at 2");
	assert_string_equal(refusal("0[]X"), "empty set '[]' at 2 matches no digit");
	assert_string_equal(refusal("0[5-1]"),
			    "backwards range '5-1' at 3 matches no digit: write '1-5'");
	assert_string_equal(refusal("0[-5]"), "'-' at 3 needs a digit on each side, as in [1-5]");
	assert_string_equal(refusal("0[5-]"), "'-' at 4 needs a digit on each side, as in [1-5]");
	assert_string_equal(refusal("[1-2-3]"), "'-' at 5 needs a digit on each side, as in [1-5]");
	assert_string_equal(refusal("0[1X]"), "'X' at 4 in a set: a set holds digits and ranges, "
			    "such as [135] or [1-5]");
	assert_string_equal(refusal("0[1-a]"), "'a' at 5 in a set: a set holds digits and "
			    "ranges, such as [135] or [1-5]");
	assert_string_equal(refusal("[1[2]]"), "'[' at 3 inside another set: sets do not nest");
	assert_string_equal(refusal("01]"), "']' at 3 without an opening '['");
	assert_string_equal(refusal("9.1"), "'.' at 2 must be the last character: it stands "
			    "for one or more further digits");
	assert_string_equal(refusal("9!!"), "'!' at 2 must be the last character: it stands "
			    "for zero or more further digits");
	assert_string_equal(refusal("44+1"), "'+' at 3: a '+' may only be the first character");
	assert_string_equal(refusal("++1"), "'+' at 2: a '+' may only be the first character");
	assert_string_equal(refusal("0x"), "'x' at 2: write it in capitals, 'X'");
	assert_string_equal(refusal("nxx"), "'n' at 1: write it in capitals, 'N'");
	assert_string_equal(refusal("_0X."), "'_' at 1: leave it out; every route is a "
			    "pattern, so no leading '_' is needed");
	assert_string_equal(refusal("0Y"), "'Y' at 2 is not part of a pattern: use digits, X, "
			    "Z, N, sets such as [1-5], a leading '+' and a final '.' or '!'");
	assert_true(strstr(refusal("0 1"), "a space at 2 is not part of a pattern"));
	assert_true(strstr(refusal("0\x07"), "byte 0x07 at 2 is not part of a pattern"));
	assert_true(strstr(refusal("*67."), "'*' at 1 is not part"));
	assert_true(strstr(refusal("0#"), "'#' at 2 is not part"));
}

static void test_patterns_that_never_match(void **state)
{
	char text[ROUTE_PATTERN_MAX + 2];

	(void)state;
	assert_string_equal(refusal(""), "the pattern is empty");
	assert_string_equal(refusal("+"), "the pattern matches no digit: give at least one "
			    "digit, X, Z, N, set or a final '.'");
	assert_string_equal(refusal("!"), "the pattern matches no digit: give at least one "
			    "digit, X, Z, N, set or a final '.'");
	assert_true(strstr(refusal("+!"), "matches no digit"));
	/* Longer than any dialled number. */
	memset(text, 'X', ROUTE_DIALLED_MAX + 1);
	text[ROUTE_DIALLED_MAX + 1] = '\0';
	assert_string_equal(refusal(text), "the pattern needs at least 33 characters, but a "
			    "dialled number has at most 32: it can never match");
	memset(text, 'X', ROUTE_DIALLED_MAX);
	text[ROUTE_DIALLED_MAX] = '.';
	text[ROUTE_DIALLED_MAX + 1] = '\0';
	assert_true(strstr(refusal(text), "needs at least 33 characters"));
	/* Longer than the stored column. */
	memset(text, '1', ROUTE_PATTERN_MAX + 1);
	text[ROUTE_PATTERN_MAX + 1] = '\0';
	assert_string_equal(refusal(text), "the pattern is longer than 64 characters");
	/* A NUL inside the given length. */
	{
		struct route_pattern p;
		char why[128];

		assert_int_equal(route_pattern_compile(&p, "0\0001", 3, why, sizeof(why)), EINVAL);
		assert_string_equal(why, "the pattern holds a NUL byte");
	}
}

static void test_set_of_sixty_four_characters(void **state)
{
	/* A long set is one position: 64 characters are fine. */
	const char *text = "[0123456789012345678901234567890123456789012345678901234567890]X";
	struct route_pattern p;

	(void)state;
	assert_int_equal(strlen(text), 64);
	p = compiled(text);
	assert_int_equal(p.n, 2);
	assert_true(route_pattern_match(&p, "73", 2));
}

/* ---- covering ---- */

static bool covers(const char *a, const char *b)
{
	struct route_pattern pa = compiled(a), pb = compiled(b);

	return route_pattern_covers(&pa, &pb);
}

static void test_covers(void **state)
{
	(void)state;
	assert_true(covers(".", "0[1-9]XXXXXXXXX"));
	assert_true(covers("0.", "0[1-9]XXXXXXXXX"));
	assert_true(covers("0X.", "07."));
	assert_true(covers("0!", "0"));
	assert_true(covers("0!", "0."));
	assert_true(covers("X!", "999"));
	assert_true(covers("0[1-9]XXXXXXXXX", "07XXXXXXXXX"));
	assert_true(covers("0[1-9]XXXXXXXXX", "0[1-9]XXXXXXXXX"));
	assert_true(covers("NXX", "[2-4]00"));
	assert_false(covers("0.", "0"));     /* '.' needs one more digit */
	assert_false(covers("0.", "0!"));
	assert_false(covers("07XXXXXXXXX", "0[1-9]XXXXXXXXX"));
	assert_false(covers("0XXXXXXXXXX", "0X."));
	assert_false(covers("00.", "0."));
	assert_false(covers(".", "+."));
	assert_false(covers("+44.", "+4."));
	assert_true(covers("+4.", "+44."));
	assert_false(covers("NXX", "1XX"));
	assert_false(covers("999", "112"));
	assert_true(covers("0XX!", "0123."));
	assert_false(covers("0123.", "0XX!"));
}

/* ---- rewriting ---- */

static struct route_record record(unsigned pos, const char *pattern, const char *trunk,
				  unsigned strip, const char *prepend)
{
	struct route_record r;

	memset(&r, 0, sizeof(r));
	r.pos = pos;
	snprintf(r.pattern, sizeof(r.pattern), "%s", pattern);
	snprintf(r.trunk, sizeof(r.trunk), "%s", trunk);
	r.strip = strip;
	snprintf(r.prepend, sizeof(r.prepend), "%s", prepend);
	return r;
}

static const char *rewritten(const char *pattern, unsigned strip, const char *prepend,
			     const char *dialled)
{
	static char out[ROUTE_NUMBER_MAX];
	struct route_record rec = record(1, pattern, "t", strip, prepend);
	struct route_rule rule;
	char why[256];

	if (route_rule_compile(&rule, &rec, why, sizeof(why)) != 0)
		fail_msg("%s: %s", pattern, why);
	assert_int_equal(route_rewrite(&rule, dialled, strlen(dialled), out, sizeof(out)), 0);
	return out;
}

static const char *rewrite_refusal(const char *pattern, unsigned strip, const char *prepend)
{
	static char why[256];
	struct route_record rec = record(1, pattern, "t", strip, prepend);
	struct route_rule rule;

	why[0] = '\0';
	assert_int_equal(route_rule_compile(&rule, &rec, why, sizeof(why)), EINVAL);
	return why;
}

static void test_rewrite(void **state)
{
	(void)state;
	assert_string_equal(rewritten("0[1-9]XXXXXXXXX", 1, "+44", "01632960000"), "+441632960000");
	assert_string_equal(rewritten("0[1-9]XXXXXXXXX", 1, "44", "01632960000"), "441632960000");
	assert_string_equal(rewritten("00.", 2, "+", "0097212345"), "+97212345");
	assert_string_equal(rewritten("9.", 1, "", "901632960000"), "01632960000");
	assert_string_equal(rewritten("+.", 1, "00", "+441632960000"), "00441632960000");
	assert_string_equal(rewritten("+.", 0, "", "+441632960000"), "+441632960000");
	assert_string_equal(rewritten("999", 3, "112", "999"), "112");
	assert_string_equal(rewritten("X!", 0, "", "5"), "5");
	/* strip counts characters of the number as dialled, '+' included. */
	assert_string_equal(rewritten("+44.", 3, "0", "+441632960000"), "01632960000");
}

static void test_rewrite_refusals(void **state)
{
	struct route_record rec = record(1, "9.", "t", 0, "");
	struct route_rule rule;
	char out[8], why[128];

	(void)state;
	assert_string_equal(rewrite_refusal("9.", 3, ""), "strip 3 removes more than the 2 "
			    "characters of the shortest number the pattern matches");
	assert_string_equal(rewrite_refusal("9.", 2, ""), "strip 2 with no prepend leaves "
			    "nothing to send for the shortest number the pattern matches");
	assert_string_equal(rewrite_refusal("+.", 0, "00"), "prepend '00' would stand before "
			    "the number's '+': strip the '+' too (strip 1 or more)");
	assert_string_equal(rewrite_refusal("0.", 1, "4+4"), "prepend: '+' at 2 is not a digit "
			    "(a '+' may only come first)");
	assert_string_equal(rewrite_refusal("0.", 1, "44 "), "prepend: a space at 3 is not a "
			    "digit (a '+' may only come first)");
	assert_string_equal(rewrite_refusal("0.", 33, "1"), "strip 33 is more than 32");
	assert_string_equal(rewrite_refusal("0[", 0, ""), "unclosed '[' at 2");
	/* The rewrite itself: no match, and a number too long for out. */
	assert_int_equal(route_rule_compile(&rule, &rec, why, sizeof(why)), 0);
	assert_int_equal(route_rewrite(&rule, "81", 2, out, sizeof(out)), EINVAL);
	assert_int_equal(route_rewrite(&rule, "9123456", 7, out, sizeof(out)), 0);
	assert_string_equal(out, "9123456");
	assert_int_equal(route_rewrite(&rule, "91234567", 8, out, sizeof(out)), ENAMETOOLONG);
}

/* ---- the table ---- */

static void test_table_first_match_wins(void **state)
{
	struct route_record recs[] = {
		record(1, "999", "emergency", 0, ""),
		record(2, "07XXXXXXXXX", "mobile", 1, "+44"),
		record(3, "0[1-9]XXXXXXXXX", "national", 1, "+44"),
		record(4, "00.", "intl", 2, "+"),
	};
	const struct route_rule *hit;
	struct route_table *t;
	char out[ROUTE_NUMBER_MAX], why[128];

	(void)state;
	assert_int_equal(route_table_alloc(&t), 0);
	assert_null(route_table_lookup(t, "999", 3, out, sizeof(out)));
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		assert_int_equal(route_table_add(t, &recs[i], why, sizeof(why)), 0);
	assert_int_equal(route_table_count(t), 4);
	hit = route_table_lookup(t, "07700900123", 11, out, sizeof(out));
	assert_non_null(hit);
	assert_int_equal(hit->pos, 2);
	assert_string_equal(hit->trunk, "mobile");
	assert_string_equal(out, "+447700900123");
	hit = route_table_lookup(t, "01632960000", 11, out, sizeof(out));
	assert_string_equal(hit->trunk, "national");
	assert_string_equal(out, "+441632960000");
	hit = route_table_lookup(t, "0097212345678", 13, out, sizeof(out));
	assert_string_equal(hit->text, "00.");
	assert_string_equal(out, "+97212345678");
	hit = route_table_lookup(t, "999", 3, out, sizeof(out));
	assert_string_equal(out, "999");
	assert_null(route_table_lookup(t, "1234", 4, out, sizeof(out)));
	assert_null(route_table_lookup(t, "+441632960000", 13, out, sizeof(out)));
	/* A route that does not compile is refused and not added. */
	recs[0] = record(5, "0[", "x", 0, "");
	assert_int_equal(route_table_add(t, &recs[0], why, sizeof(why)), EINVAL);
	assert_int_equal(route_table_count(t), 4);
	assert_null(route_table_rule(t, 4));
	assert_string_equal(route_table_rule(t, 3)->trunk, "intl");
	route_table_free(t);
	route_table_free(NULL);
}

static void test_table_cap(void **state)
{
	struct route_record rec = record(0, "9.", "t", 0, "");
	struct route_table *t;
	char why[128];

	(void)state;
	assert_int_equal(route_table_alloc(&t), 0);
	for (int i = 0; i < ROUTE_TABLE_MAX; i++)
		assert_int_equal(route_table_add(t, &rec, why, sizeof(why)), 0);
	assert_int_equal(route_table_rule(t, ROUTE_TABLE_MAX - 1)->pos, ROUTE_TABLE_MAX);
	assert_int_equal(route_table_add(t, &rec, why, sizeof(why)), ENOSPC);
	route_table_free(t);
}

static void test_table_load_from_store(void **state)
{
	struct fixture *f = *state;
	struct trunk_record tr;
	struct route_record r1 = record(0, "0[1-9]XXXXXXXXX", "main", 1, "+44");
	struct route_record r2 = record(0, "00.", "main", 2, "+");
	const struct route_rule *hit;
	struct route_table *t;
	char out[ROUTE_NUMBER_MAX], why[160];

	memset(&tr, 0, sizeof(tr));
	snprintf(tr.name, sizeof(tr.name), "main");
	snprintf(tr.host, sizeof(tr.host), "sip.example.net");
	snprintf(tr.transport, sizeof(tr.transport), "udp");
	assert_int_equal(store_trunk_add(f->s, &tr), 0);
	assert_int_equal(store_route_add(f->s, &r1), 0);
	assert_int_equal(store_route_add(f->s, &r2), 0);
	assert_int_equal(route_table_load(&t, f->s, why, sizeof(why)), 0);
	assert_int_equal(route_table_count(t), 2);
	hit = route_table_lookup(t, "00441632960000", 14, out, sizeof(out));
	assert_int_equal(hit->pos, 2);
	assert_string_equal(out, "+441632960000");
	route_table_free(t);
	/* A row edited by hand into something that never matches fails the
	 * load, naming the route. */
	assert_int_equal(raw_exec(f->path, "UPDATE routes SET pattern = '0[5-1]' WHERE pos = 2"),
			 SQLITE_OK);
	t = NULL;
	assert_int_equal(route_table_load(&t, f->s, why, sizeof(why)), EINVAL);
	assert_null(t);
	assert_string_equal(why, "route 2 (0[5-1]): backwards range '5-1' at 3 matches no "
			    "digit: write '1-5'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_digits),
		cmocka_unit_test(test_letters),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_tails),
		cmocka_unit_test(test_plus),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_refusals_name_the_position),
		cmocka_unit_test(test_patterns_that_never_match),
		cmocka_unit_test(test_set_of_sixty_four_characters),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_refusals),
		cmocka_unit_test(test_table_first_match_wins),
		cmocka_unit_test(test_table_cap),
		cmocka_unit_test_setup_teardown(test_table_load_from_store, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
