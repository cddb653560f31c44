/* The longest-prefix table: what counts as a prefix, the longest match
 * among nested prefixes, numbers that must match nothing, duplicates,
 * capacity, a full table of the largest size, and the record lists the
 * loaders build it from. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fraud/prefix.h"

static struct prefix_table *table_of(const char *const *prefixes, size_t n)
{
	struct prefix_table *t = NULL;

	assert_int_equal(prefix_table_alloc(&t, n), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(prefix_table_add(t, prefixes[i], (uint32_t)i, NULL), 0);
	return t;
}

/* The value found for number, or -1. */
static long find(const struct prefix_table *t, const char *number)
{
	uint32_t v = 0xdeadbeef;

	return prefix_table_find(t, number, &v) ? (long)v : -1;
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(prefix_valid("+4"));
	assert_true(prefix_valid("+44909"));
	assert_true(prefix_valid("+123456789012345"));
	assert_false(prefix_valid(NULL));
	assert_false(prefix_valid(""));
	assert_false(prefix_valid("+"));
	assert_false(prefix_valid("44"));
	assert_false(prefix_valid("+1234567890123456"));
	assert_false(prefix_valid("+44 909"));
	assert_false(prefix_valid("+44a"));
	assert_false(prefix_valid("++44"));
	assert_false(prefix_valid("+-1"));
}

static void test_longest_match_wins(void **state)
{
	static const char *const p[] = { "+44", "+449", "+44909", "+4490987", "+1", "+1876" };
	struct prefix_table *t = table_of(p, 6);

	(void)state;
	assert_int_equal(find(t, "+441632960000"), 0);
	assert_int_equal(find(t, "+449000000000"), 1);
	assert_int_equal(find(t, "+449090000000"), 2);
	assert_int_equal(find(t, "+449098700000"), 3);
	assert_int_equal(find(t, "+4490987"), 3);   /* the number is the prefix */
	assert_int_equal(find(t, "+449098"), 2);
	assert_int_equal(find(t, "+44"), 0);
	assert_int_equal(find(t, "+4"), -1);       /* shorter than every prefix */
	assert_int_equal(find(t, "+12125550100"), 4);
	assert_int_equal(find(t, "+18765550100"), 5);
	assert_int_equal(find(t, "+33123456789"), -1);
	assert_int_equal(prefix_table_count(t), 6);
	prefix_table_free(t);
}

/* Only E.164 with its '+' is looked at: anything else is no number the
 * table knows, so it matches nothing rather than something wrong. */
static void test_non_e164_matches_nothing(void **state)
{
	static const char *const p[] = { "+4", "+44", "+999" };
	struct prefix_table *t = table_of(p, 3);

	(void)state;
	assert_int_equal(find(t, "441632960000"), -1);
	assert_int_equal(find(t, "999"), -1);
	assert_int_equal(find(t, ""), -1);
	assert_int_equal(find(t, NULL), -1);
	assert_int_equal(find(t, "+"), -1);
	assert_int_equal(find(t, "+44 1632"), -1);
	assert_int_equal(find(t, "+44x"), -1);
	assert_int_equal(find(t, "++44"), -1);
	/* Digits past the fifteenth are not read: the first 15 decide. */
	assert_int_equal(find(t, "+4412345678901234567"), 1);
	prefix_table_free(t);
}

/* "+44" and "+044" are different keys, and so are "+1" and "+10": the
 * packing keeps the length. */
static void test_length_is_part_of_the_key(void **state)
{
	static const char *const p[] = { "+1", "+10", "+100", "+0", "+00" };
	struct prefix_table *t = table_of(p, 5);

	(void)state;
	assert_int_equal(find(t, "+1"), 0);
	assert_int_equal(find(t, "+10"), 1);
	assert_int_equal(find(t, "+1000"), 2);
	assert_int_equal(find(t, "+0"), 3);
	assert_int_equal(find(t, "+001"), 4);
	assert_int_equal(find(t, "+11"), 0);
	prefix_table_free(t);
}

static void test_add_errors(void **state)
{
	struct prefix_table *t = NULL;
	uint32_t existing = 0;

	(void)state;
	assert_int_equal(prefix_table_alloc(&t, 0), EINVAL);
	assert_int_equal(prefix_table_alloc(&t, PREFIX_TABLE_MAX + 1), EINVAL);
	assert_int_equal(prefix_table_alloc(&t, 2), 0);
	assert_int_equal(prefix_table_add(t, "44", 1, NULL), EINVAL);
	assert_int_equal(prefix_table_add(t, "+44", 7, NULL), 0);
	assert_int_equal(prefix_table_add(t, "+44", 8, &existing), EEXIST);
	assert_int_equal(existing, 7);
	assert_int_equal(find(t, "+447"), 7);
	assert_int_equal(prefix_table_add(t, "+45", 9, NULL), 0);
	assert_int_equal(prefix_table_add(t, "+46", 10, NULL), ENOSPC);
	/* Full, a duplicate is still named as one. */
	assert_int_equal(prefix_table_add(t, "+45", 11, &existing), EEXIST);
	assert_int_equal(existing, 9);
	assert_int_equal(prefix_table_count(t), 2);
	prefix_table_free(t);
	prefix_table_free(NULL);
}

/* The largest table, full of keys that share long prefixes (the worst
 * case for clustering): every key found with its own value. */
static void test_full_largest_table(void **state)
{
	struct prefix_table *t = NULL;
	char key[24];
	size_t n = PREFIX_TABLE_MAX;

	(void)state;
	assert_int_equal(prefix_table_alloc(&t, n), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "+44%07zu", i);
		assert_int_equal(prefix_table_add(t, key, (uint32_t)i, NULL), 0);
	}
	assert_int_equal(prefix_table_add(t, "+1", 0, NULL), ENOSPC);
	for (size_t i = 0; i < n; i += 997) {
		snprintf(key, sizeof(key), "+44%07zu99", i);
		assert_int_equal(find(t, key), (long)i);
	}
	assert_int_equal(find(t, "+4"), -1);
	assert_int_equal(find(t, "+449999999"), -1);
	prefix_table_free(t);
}

struct rec {
	int id;
	char prefix[17];
};

static void test_list_and_index(void **state)
{
	struct prefix_list l = { .size = sizeof(struct rec), .max = 3 };
	struct prefix_table *t = NULL;
	struct rec r = { 0 };

	(void)state;
	/* An empty list gets a table that matches nothing. */
	assert_int_equal(prefix_list_index(&l, offsetof(struct rec, prefix), &t), 0);
	assert_int_equal(find(t, "+44"), -1);
	prefix_table_free(t);
	for (int i = 0; i < 3; i++) {
		r.id = 100 + i;
		snprintf(r.prefix, sizeof(r.prefix), "+4%d", i);
		assert_int_equal(prefix_list_push(&l, &r), 0);
	}
	assert_int_equal(prefix_list_push(&l, &r), E2BIG);
	assert_int_equal(prefix_list_index(&l, offsetof(struct rec, prefix), &t), 0);
	assert_int_equal(((const struct rec *)prefix_list_at(&l, (uint32_t)find(t, "+4123")))->id,
			 101);
	prefix_table_free(t);
	/* A record that is not E.164, or a prefix listed twice: no table. */
	snprintf(((struct rec *)l.recs)[2].prefix, 17, "+41");
	t = NULL;
	assert_int_equal(prefix_list_index(&l, offsetof(struct rec, prefix), &t), EEXIST);
	assert_null(t);
	snprintf(((struct rec *)l.recs)[2].prefix, 17, "42");
	assert_int_equal(prefix_list_index(&l, offsetof(struct rec, prefix), &t), EINVAL);
	assert_null(t);
	prefix_list_free(&l);
	assert_int_equal(l.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_longest_match_wins),
		cmocka_unit_test(test_non_e164_matches_nothing),
		cmocka_unit_test(test_length_is_part_of_the_key),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_full_largest_table),
		cmocka_unit_test(test_list_and_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
