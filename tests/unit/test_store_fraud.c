/* Blacklists and rates in the store: round trips, insert-or-replace that
 * keeps the first created time, the two directions kept apart, counts and
 * clears, the refusal of any row that is not canonical (a prefix in
 * another spelling, a control character, a negative or absurd price, a
 * lower-case currency), ordering and early stop of the walks, a
 * transaction rolled back, and the migration from schema 5. Every test
 * uses a real database file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "store/db.h"
#include "store/store.h"

static struct blacklist_record bl(enum blacklist_dir dir, const char *prefix,
				  const char *reason, int64_t created)
{
	struct blacklist_record r;

	memset(&r, 0, sizeof(r));
	r.dir = dir;
	snprintf(r.prefix, sizeof(r.prefix), "%s", prefix);
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	r.created = created;
	return r;
}

static struct rate_record rate(const char *prefix, int64_t per_minute, int64_t connection,
			       const char *currency, int64_t created)
{
	struct rate_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.prefix, sizeof(r.prefix), "%s", prefix);
	r.per_minute = per_minute;
	r.connection = connection;
	snprintf(r.currency, sizeof(r.currency), "%s", currency);
	r.created = created;
	return r;
}

static size_t bl_count(struct store *s, enum blacklist_dir dir)
{
	size_t n = 12345;

	assert_int_equal(store_blacklist_count(s, dir, &n), 0);
	return n;
}

static size_t rate_count(struct store *s)
{
	size_t n = 12345;

	assert_int_equal(store_rate_count(s, &n), 0);
	return n;
}

/* ---- blacklists ---- */

static void test_blacklist_round_trip(void **state)
{
	struct fixture *f = *state;
	struct blacklist_record in = bl(BLACKLIST_DEST, "+44909", "premium rate, UK", 1000);
	struct blacklist_record got;

	assert_int_equal(store_blacklist_put(f->s, &in), 0);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_DEST, "+44909", &got), 0);
	assert_int_equal(got.dir, BLACKLIST_DEST);
	assert_string_equal(got.prefix, "+44909");
	assert_string_equal(got.reason, "premium rate, UK");
	assert_int_equal(got.created, 1000);
	/* The longest prefix, the longest reason, UTF-8 and quotes as data. */
	in = bl(BLACKLIST_CALLER, "+123456789012345", "", 5);
	memset(in.reason, 'r', BLACKLIST_REASON_MAX);
	in.reason[0] = '\'';
	memcpy(in.reason + 1, "caf\xc3\xa9 \"x\"; DROP TABLE blacklist", 31);
	assert_int_equal(store_blacklist_put(f->s, &in), 0);
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_CALLER, in.prefix, &got), 0);
	assert_string_equal(got.reason, in.reason);
	assert_int_equal(strlen(got.reason), BLACKLIST_REASON_MAX);
	assert_int_equal(got.dir, BLACKLIST_CALLER);
}

static void test_blacklist_created_defaults_to_now(void **state)
{
	struct fixture *f = *state;
	struct blacklist_record in = bl(BLACKLIST_DEST, "+1876", "", 0), got;
	int64_t before = (int64_t)time(NULL);

	assert_int_equal(store_blacklist_put(f->s, &in), 0);
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_DEST, "+1876", &got), 0);
	assert_true(got.created >= before && got.created <= (int64_t)time(NULL));
}

/* Listing a prefix again changes its reason, not when it was listed. */
static void test_blacklist_put_replaces_keeping_created(void **state)
{
	struct fixture *f = *state;
	struct blacklist_record in = bl(BLACKLIST_DEST, "+972", "old", 100), got;

	assert_int_equal(store_blacklist_put(f->s, &in), 0);
	in = bl(BLACKLIST_DEST, "+972", "new", 900);
	assert_int_equal(store_blacklist_put(f->s, &in), 0);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 1);
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_DEST, "+972", &got), 0);
	assert_string_equal(got.reason, "new");
	assert_int_equal(got.created, 100);
}

/* The destination and the caller list share a table and nothing else. */
static void test_blacklist_directions_apart(void **state)
{
	struct fixture *f = *state;
	struct blacklist_record d = bl(BLACKLIST_DEST, "+44909", "dest", 1);
	struct blacklist_record c = bl(BLACKLIST_CALLER, "+44909", "caller", 2);
	struct blacklist_record got;

	assert_int_equal(store_blacklist_put(f->s, &d), 0);
	assert_int_equal(store_blacklist_put(f->s, &c), 0);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 1);
	assert_int_equal(bl_count(f->s, BLACKLIST_CALLER), 1);
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_CALLER, "+44909", &got), 0);
	assert_string_equal(got.reason, "caller");
	assert_int_equal(store_blacklist_del(f->s, BLACKLIST_CALLER, "+44909"), 0);
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_CALLER, "+44909", &got), ENOENT);
	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_DEST, "+44909", &got), 0);
	assert_string_equal(got.reason, "dest");
	assert_int_equal(store_blacklist_put(f->s, &c), 0);
	assert_int_equal(store_blacklist_clear(f->s, BLACKLIST_DEST), 0);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 0);
	assert_int_equal(bl_count(f->s, BLACKLIST_CALLER), 1);
}

static void test_blacklist_enoent(void **state)
{
	struct fixture *f = *state;
	struct blacklist_record in = bl(BLACKLIST_DEST, "+44909", "", 1), got;

	assert_int_equal(store_blacklist_get(f->s, BLACKLIST_DEST, "+44909", &got), ENOENT);
	assert_int_equal(store_blacklist_del(f->s, BLACKLIST_DEST, "+44909"), ENOENT);
	assert_int_equal(store_blacklist_put(f->s, &in), 0);
	/* Only that exact prefix: neither a shorter nor a longer one. */
	assert_int_equal(store_blacklist_del(f->s, BLACKLIST_DEST, "+4490"), ENOENT);
	assert_int_equal(store_blacklist_del(f->s, BLACKLIST_DEST, "+449091"), ENOENT);
	assert_int_equal(store_blacklist_del(f->s, BLACKLIST_DEST, "+44909"), 0);
	assert_int_equal(store_blacklist_del(f->s, BLACKLIST_DEST, "+44909"), ENOENT);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 0);
	/* A direction outside the enum is refused, not read as one. */
	assert_int_equal(store_blacklist_get(f->s, (enum blacklist_dir)7, "+44909", &got), EINVAL);
	assert_int_equal(store_blacklist_del(f->s, (enum blacklist_dir)7, "+44909"), EINVAL);
}

/* One number has one row: any spelling but E.164 with its '+' is refused,
 * and so is text that could drive a terminal. */
static void test_blacklist_refuses_bad_rows(void **state)
{
	static const char *const bad_prefix[] = {
		"", "+", "44909", "0909", "0044909", "+44 909", "+44-909", "+4490a",
		"++44", " +44", "+44\n", "+4490\x01",
	};
	static const char *const bad_reason[] = {
		"line\nbreak", "tab\there", "esc\x1b[31m", "del\x7f",
	};
	struct fixture *f = *state;
	struct blacklist_record r;
	size_t i;

	for (i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++) {
		r = bl(BLACKLIST_DEST, bad_prefix[i], "", 1);
		assert_int_equal(store_blacklist_put(f->s, &r), EINVAL);
	}
	for (i = 0; i < sizeof(bad_reason) / sizeof(bad_reason[0]); i++) {
		r = bl(BLACKLIST_DEST, "+44", bad_reason[i], 1);
		assert_int_equal(store_blacklist_put(f->s, &r), EINVAL);
	}
	r = bl((enum blacklist_dir)2, "+44", "", 1);
	assert_int_equal(store_blacklist_put(f->s, &r), EINVAL);
	r = bl(BLACKLIST_DEST, "+44", "", -1);
	assert_int_equal(store_blacklist_put(f->s, &r), EINVAL);
	/* Fields without their NUL are refused, not read past. */
	r = bl(BLACKLIST_DEST, "+44", "", 1);
	memset(r.reason, 'a', sizeof(r.reason));
	assert_int_equal(store_blacklist_put(f->s, &r), EINVAL);
	r = bl(BLACKLIST_DEST, "+44", "", 1);
	memset(r.prefix + 1, '1', sizeof(r.prefix) - 1);
	assert_int_equal(store_blacklist_put(f->s, &r), EINVAL);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 0);
	/* The schema holds its own line against rows written by hand. */
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO blacklist VALUES ('out', '+44', '', 1)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO blacklist VALUES ('dest', '+', '', 1)"),
			     SQLITE_OK);
}

struct collected {
	char keys[8][17];
	char reasons[8][BLACKLIST_REASON_MAX + 1];
	unsigned n;
	unsigned stop_after; /* 0: never stop */
};

static int collect_bl(const struct blacklist_record *r, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8) {
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", r->prefix);
		snprintf(c->reasons[c->n], sizeof(c->reasons[0]), "%s", r->reason);
	}
	c->n++;
	return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_blacklist_foreach_order_and_stop(void **state)
{
	static const char *const prefixes[] = { "+972", "+1876", "+44909", "+44", "+8816" };
	struct fixture *f = *state;
	struct collected c = { .n = 0 };
	struct blacklist_record r;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		r = bl(BLACKLIST_DEST, prefixes[i], prefixes[i] + 1, 1);
		assert_int_equal(store_blacklist_put(f->s, &r), 0);
	}
	r = bl(BLACKLIST_CALLER, "+2", "caller", 1);
	assert_int_equal(store_blacklist_put(f->s, &r), 0);
	assert_int_equal(store_blacklist_foreach(f->s, BLACKLIST_DEST, collect_bl, &c), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], "+1876");
	assert_string_equal(c.keys[1], "+44");
	assert_string_equal(c.keys[2], "+44909");
	assert_string_equal(c.keys[3], "+8816");
	assert_string_equal(c.keys[4], "+972");
	assert_string_equal(c.reasons[4], "972");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_blacklist_foreach(f->s, BLACKLIST_CALLER, collect_bl, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.keys[0], "+2");
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(store_blacklist_foreach(f->s, BLACKLIST_DEST, collect_bl, &c), 42);
	assert_int_equal(c.n, 2);
}

/* ---- rates ---- */

static void test_rate_round_trip(void **state)
{
	struct fixture *f = *state;
	struct rate_record in = rate("+44909", 1530000, 500000, "GBP", 77), got;

	assert_int_equal(store_rate_put(f->s, &in), 0);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_rate_get(f->s, "+44909", &got), 0);
	assert_string_equal(got.prefix, "+44909");
	assert_int_equal(got.per_minute, 1530000);
	assert_int_equal(got.connection, 500000);
	assert_string_equal(got.currency, "GBP");
	assert_int_equal(got.created, 77);
	/* The extremes: free, and the largest price, exactly. */
	in = rate("+1", 0, RATE_PRICE_MAX, "USD", 1);
	assert_int_equal(store_rate_put(f->s, &in), 0);
	assert_int_equal(store_rate_get(f->s, "+1", &got), 0);
	assert_int_equal(got.per_minute, 0);
	assert_true(got.connection == RATE_PRICE_MAX);
	assert_int_equal(rate_count(f->s), 2);
}

static void test_rate_replace_del_clear(void **state)
{
	struct fixture *f = *state;
	struct rate_record in = rate("+44", 10000, 0, "GBP", 100), got;

	assert_int_equal(store_rate_get(f->s, "+44", &got), ENOENT);
	assert_int_equal(store_rate_del(f->s, "+44"), ENOENT);
	assert_int_equal(store_rate_put(f->s, &in), 0);
	in = rate("+44", 20000, 5, "GBP", 500);
	assert_int_equal(store_rate_put(f->s, &in), 0);
	assert_int_equal(rate_count(f->s), 1);
	assert_int_equal(store_rate_get(f->s, "+44", &got), 0);
	assert_int_equal(got.per_minute, 20000);
	assert_int_equal(got.connection, 5);
	assert_int_equal(got.created, 100);
	assert_int_equal(store_rate_del(f->s, "+4"), ENOENT);
	assert_int_equal(store_rate_del(f->s, "+44"), 0);
	assert_int_equal(store_rate_del(f->s, "+44"), ENOENT);
	in = rate("+1", 1, 1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &in), 0);
	in = rate("+2", 1, 1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &in), 0);
	assert_int_equal(store_rate_clear(f->s), 0);
	assert_int_equal(rate_count(f->s), 0);
	assert_int_equal(store_rate_clear(f->s), 0);
}

static void test_rate_refuses_bad_rows(void **state)
{
	static const char *const bad_currency[] = { "", "GB", "gbp", "Gbp", "G1P", "\xe2\x82\xac" };
	struct fixture *f = *state;
	struct rate_record r;
	size_t i;

	r = rate("44", 1, 1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	r = rate("+44a", 1, 1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	r = rate("+44", -1, 1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	r = rate("+44", 1, -1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	r = rate("+44", RATE_PRICE_MAX + 1, 1, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	r = rate("+44", 1, INT64_MAX, "GBP", 1);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	r = rate("+44", 1, 1, "GBP", -5);
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	for (i = 0; i < sizeof(bad_currency) / sizeof(bad_currency[0]); i++) {
		r = rate("+44", 1, 1, bad_currency[i], 1);
		assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	}
	r = rate("+44", 1, 1, "GBP", 1);
	memset(r.currency, 'A', sizeof(r.currency));
	assert_int_equal(store_rate_put(f->s, &r), EINVAL);
	assert_int_equal(rate_count(f->s), 0);
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO rates VALUES ('+44', -1, 0, 'GBP', 1)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO rates VALUES ('+44', 1, 0, 'GBPX', 1)"),
			     SQLITE_OK);
}

static int collect_rate(const struct rate_record *r, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", r->prefix);
	c->n++;
	return c->stop_after && c->n == c->stop_after ? 7 : 0;
}

static void test_rate_foreach_order_and_stop(void **state)
{
	static const char *const prefixes[] = { "+447", "+1", "+44", "+972" };
	struct fixture *f = *state;
	struct collected c = { .n = 0 };
	struct rate_record r;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		r = rate(prefixes[i], 1, 0, "GBP", 1);
		assert_int_equal(store_rate_put(f->s, &r), 0);
	}
	assert_int_equal(store_rate_foreach(f->s, collect_rate, &c), 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.keys[0], "+1");
	assert_string_equal(c.keys[1], "+44");
	assert_string_equal(c.keys[2], "+447");
	assert_string_equal(c.keys[3], "+972");
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	assert_int_equal(store_rate_foreach(f->s, collect_rate, &c), 7);
	assert_int_equal(c.n, 1);
}

/* ---- transactions and migration ---- */

static int put_two_then_fail(struct store *s, const void *arg)
{
	struct rate_record r = rate("+44", 1, 0, "GBP", 1);
	struct blacklist_record b = bl(BLACKLIST_DEST, "+44909", "", 1);

	(void)arg;
	assert_int_equal(store_rate_clear(s), 0);
	assert_int_equal(store_rate_put(s, &r), 0);
	assert_int_equal(store_blacklist_put(s, &b), 0);
	return ENOSPC;
}

/* What the imports rely on: a failed batch leaves both tables as they
 * were, including a clear that ran inside it. */
static void test_atomic_batch_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct rate_record r = rate("+1", 5, 0, "GBP", 1), got;

	assert_int_equal(store_rate_put(f->s, &r), 0);
	assert_int_equal(store_atomic(f->s, put_two_then_fail, NULL), ENOSPC);
	assert_int_equal(rate_count(f->s), 1);
	assert_int_equal(store_rate_get(f->s, "+1", &got), 0);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 0);
}

static void test_migration_from_version_5(void **state)
{
	struct fixture *f = *state;
	struct rate_record r = rate("+44", 1, 0, "GBP", 1), got;
	struct blacklist_record b = bl(BLACKLIST_DEST, "+44909", "x", 1);

	assert_int_equal(store_create_at_version(f->path, 5), 0);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_rate_put(f->s, &r), 0);
	assert_int_equal(store_blacklist_put(f->s, &b), 0);
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_rate_get(f->s, "+44", &got), 0);
	assert_int_equal(bl_count(f->s, BLACKLIST_DEST), 1);
}

static void test_dir_names(void **state)
{
	(void)state;
	assert_string_equal(blacklist_dir_name(BLACKLIST_DEST), "dest");
	assert_string_equal(blacklist_dir_name(BLACKLIST_CALLER), "caller");
	assert_null(blacklist_dir_name((enum blacklist_dir)2));
	assert_null(blacklist_dir_name((enum blacklist_dir)-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blacklist_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_created_defaults_to_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_put_replaces_keeping_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_directions_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_refuses_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_foreach_order_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_replace_del_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_refuses_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_foreach_order_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_batch_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_5, setup_dir, teardown),
		cmocka_unit_test(test_dir_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
