#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/strmap.h"

struct item {
	struct strmap_node node;
	char key[16];
	int value;
};

static void test_insert_find_remove(void **state)
{
	static struct item items[1000];
	struct strmap m;

	(void)state;
	assert_int_equal(strmap_init(&m, 4), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(items[i].key, sizeof(items[i].key), "%d", 1000 + i);
		items[i].value = i;
		assert_int_equal(strmap_insert(&m, &items[i].node, items[i].key,
					       strlen(items[i].key)), 0);
	}
	assert_int_equal(m.count, 1000);
	/* The table grew past its hint and still finds everything. */
	assert_true(m.nbuckets >= 1000);
	for (int i = 0; i < 1000; i++) {
		struct strmap_node *n = strmap_find(&m, items[i].key, strlen(items[i].key));

		assert_non_null(n);
		assert_int_equal(strmap_entry(n, struct item, node)->value, i);
	}
	strmap_remove(&m, &items[10].node);
	assert_null(strmap_find(&m, "1010", 4));
	assert_int_equal(m.count, 999);
	strmap_destroy(&m);
}

static void test_keys_compared_whole(void **state)
{
	struct item a = {.key = "100"}, b = {.key = "1001"};
	struct strmap m;

	(void)state;
	assert_int_equal(strmap_init(&m, 16), 0);
	strmap_insert(&m, &a.node, a.key, 3);
	strmap_insert(&m, &b.node, b.key, 4);
	/* A prefix, an extension of a key and a key with a NUL are all misses. */
	assert_null(strmap_find(&m, "10", 2));
	assert_null(strmap_find(&m, "10010", 5));
	assert_null(strmap_find(&m, "100\0", 4));
	assert_ptr_equal(strmap_find(&m, "100", 3), &a.node);
	assert_ptr_equal(strmap_find(&m, "1001", 4), &b.node);
	strmap_destroy(&m);
}

static int visits;

static void count_and_remove(struct strmap_node *n, void *arg)
{
	visits++;
	strmap_remove(arg, n);
}

static void test_foreach_may_remove(void **state)
{
	static struct item items[50];
	struct strmap m;

	(void)state;
	assert_int_equal(strmap_init(&m, 8), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
		strmap_insert(&m, &items[i].node, items[i].key, strlen(items[i].key));
	}
	visits = 0;
	strmap_foreach(&m, count_and_remove, &m);
	assert_int_equal(visits, 50);
	assert_int_equal(m.count, 0);
	strmap_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_find_remove),
		cmocka_unit_test(test_keys_compared_whole),
		cmocka_unit_test(test_foreach_may_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
