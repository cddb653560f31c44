/* The ban engine's rules, on an injected clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "guard/ban.h"

#define T0 1800000000

static struct ban_addr addr(const char *s)
{
	struct ban_addr a;

	assert_int_equal(ban_addr_parse(s, &a), 0);
	return a;
}

static struct ban_engine *engine(void (*tweak)(struct ban_config *))
{
	struct ban_config c;
	struct ban_engine *b = NULL;

	ban_config_defaults(&c);
	if (tweak)
		tweak(&c);
	assert_int_equal(ban_alloc(&b, &c), 0);
	return b;
}

static struct ban_news failure(struct ban_engine *b, const char *src, const char *ext, bool healthy,
			       int64_t now)
{
	struct ban_addr a = addr(src);
	struct ban_news n;

	ban_auth_failure(b, &a, ext, strlen(ext), true, healthy, now, &n);
	return n;
}

static bool banned(struct ban_engine *b, const char *src, int64_t now)
{
	struct ban_addr a = addr(src);

	return ban_source_banned(b, &a, now);
}

static void test_addresses(void **state)
{
	struct ban_addr a, m;
	char buf[64];

	(void)state;
	a = addr("203.0.113.5");
	m = addr("::ffff:203.0.113.5");
	assert_int_equal(m.family, AF_INET);
	assert_memory_equal(&a, &m, sizeof(a));
	ban_addr_format(&m, buf, sizeof(buf));
	assert_string_equal(buf, "203.0.113.5");
	a = addr("2001:DB8:0:0::1");
	ban_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(ban_addr_parse("203.0.113.5:5060", &a), EINVAL);
	assert_int_equal(ban_addr_parse("10.0.0.0/8", &a), EINVAL);
	assert_int_equal(ban_addr_parse("", &a), EINVAL);
}

static void test_five_failures_ban_for_fifteen_minutes(void **state)
{
	struct ban_engine *b = engine(NULL);
	struct ban_news n;

	(void)state;
	for (int i = 0; i < 4; i++) {
		n = failure(b, "198.51.100.7", "1001", false, T0 + i);
		assert_false(n.banned);
		assert_false(banned(b, "198.51.100.7", T0 + i));
	}
	n = failure(b, "198.51.100.7", "1001", false, T0 + 10);
	assert_true(n.banned);
	assert_int_equal(n.ban_until, T0 + 10 + 900);
	assert_int_equal(n.ban_level, 0);
	assert_int_equal(n.ban_reason, BAN_AUTH_FAILURES);
	assert_true(banned(b, "198.51.100.7", T0 + 11));
	assert_true(banned(b, "198.51.100.7", T0 + 909));
	assert_false(banned(b, "198.51.100.7", T0 + 910));
	assert_false(banned(b, "198.51.100.8", T0 + 11));
	assert_int_equal(ban_active_count(b, T0 + 11), 1);
	ban_free(b);
}

static void test_window_forgets_old_failures(void **state)
{
	struct ban_engine *b = engine(NULL);

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_false(failure(b, "198.51.100.7", "1001", false, T0).banned);
	for (int i = 0; i < 4; i++)
		assert_false(failure(b, "198.51.100.7", "1001", false, T0 + 600).banned);
	assert_true(failure(b, "198.51.100.7", "1001", false, T0 + 601).banned);
	ban_free(b);
}

static void test_repeats_double_up_to_the_maximum(void **state)
{
	struct ban_engine *b = engine(NULL);
	int64_t now = T0;
	unsigned expect[] = {900, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 86400};

	(void)state;
	for (unsigned r = 0; r < sizeof(expect) / sizeof(expect[0]); r++) {
		struct ban_news n = {0};

		for (int i = 0; i < 5; i++)
			n = failure(b, "198.51.100.7", "1001", false, now);
		assert_true(n.banned);
		assert_int_equal(n.ban_level, r);
		assert_int_equal(n.ban_until - now, expect[r]);
		now = n.ban_until + 1;
	}
	/* A day after the last ban ended, the address starts over. */
	now += 86400;
	for (int i = 0; i < 4; i++)
		failure(b, "198.51.100.7", "1001", false, now);
	assert_int_equal(failure(b, "198.51.100.7", "1001", false, now).ban_until - now, 900);
	ban_free(b);
}

static void test_nat_office_blocks_the_pair_not_the_address(void **state)
{
	struct ban_engine *b = engine(NULL);
	struct ban_addr office = addr("192.0.2.10");
	struct ban_news n = {0};

	(void)state;
	for (int i = 0; i < 5; i++)
		n = failure(b, "192.0.2.10", "1005", true, T0 + i);
	assert_false(n.banned);
	assert_true(n.pair_blocked);
	assert_int_equal(n.pair_until, T0 + 4 + 900);
	assert_false(banned(b, "192.0.2.10", T0 + 5));
	assert_true(ban_pair_blocked(b, &office, "1005", 4, T0 + 5));
	assert_false(ban_pair_blocked(b, &office, "1001", 4, T0 + 5));
	/* Failing for many accounts (five, with 1005) bans the address all
	 * the same. */
	for (int i = 0; i < 4; i++) {
		char ext[8];

		snprintf(ext, sizeof(ext), "20%02d", i);
		n = failure(b, "192.0.2.10", ext, true, T0 + 10);
		assert_int_equal(n.banned, i == 3);
	}
	assert_true(banned(b, "192.0.2.10", T0 + 11));
	ban_free(b);
}

static void test_scan_of_many_extensions_bans(void **state)
{
	struct ban_engine *b = engine(NULL);
	struct ban_addr scanner = addr("198.51.100.99"), office = addr("192.0.2.10");
	struct ban_news n = {0};
	char ext[8];

	(void)state;
	for (int i = 0; i < 19; i++) {
		snprintf(ext, sizeof(ext), "%d", 1000 + i);
		ban_challenged(b, &scanner, ext, strlen(ext), false, T0, &n);
		assert_false(n.banned);
		/* The same extension again is not a new one. */
		ban_challenged(b, &scanner, ext, strlen(ext), false, T0, &n);
		assert_false(n.banned);
	}
	ban_challenged(b, &scanner, "1100", 4, false, T0, &n);
	assert_true(n.banned);
	assert_int_equal(n.ban_reason, BAN_SCAN);
	/* Phones that authenticate after their challenge are no scan. */
	for (int i = 0; i < 40; i++) {
		snprintf(ext, sizeof(ext), "%d", 1000 + i);
		ban_challenged(b, &office, ext, strlen(ext), false, T0, &n);
		assert_false(n.banned);
		ban_auth_success(b, &office, ext, strlen(ext));
	}
	/* A healthy address is never banned for challenges alone. */
	for (int i = 0; i < 40; i++) {
		snprintf(ext, sizeof(ext), "%d", 3000 + i);
		ban_challenged(b, &office, ext, strlen(ext), true, T0, &n);
		assert_false(n.banned);
	}
	ban_free(b);
}

static void test_distributed_guessing_locks_the_account(void **state)
{
	struct ban_engine *b = engine(NULL);
	struct ban_news n = {0};
	char src[32];

	(void)state;
	for (int i = 0; i < 19; i++) {
		snprintf(src, sizeof(src), "127.0.1.%d", i + 1);
		n = failure(b, src, "1001", false, T0 + i);
		assert_false(n.locked);
		assert_false(n.banned);
	}
	assert_false(ban_account_locked(b, "1001", 4, T0 + 19));
	n = failure(b, "127.0.1.50", "1001", false, T0 + 20);
	assert_true(n.locked);
	assert_int_equal(n.lock_until, T0 + 20 + 3600);
	assert_int_equal(n.lock_failures, 20);
	assert_true(n.lock_sources >= 3);
	assert_true(ban_account_locked(b, "1001", 4, T0 + 21));
	assert_false(ban_account_locked(b, "1002", 4, T0 + 21));
	assert_false(ban_account_locked(b, "1001", 4, T0 + 20 + 3600));
	assert_int_equal(ban_lock_del(b, "1001", 4), 0);
	assert_false(ban_account_locked(b, "1001", 4, T0 + 21));
	assert_int_equal(ban_lock_del(b, "1001", 4), ENOENT);
	ban_free(b);
}

static void two_sources_lock(struct ban_config *c)
{
	c->failures = 1000;
}

static void test_one_address_alone_does_not_lock(void **state)
{
	struct ban_engine *b = engine(two_sources_lock);
	struct ban_news n = {0};

	(void)state;
	for (int i = 0; i < 100; i++)
		n = failure(b, "127.0.1.1", "1001", false, T0);
	assert_false(n.locked);
	for (int i = 0; i < 100; i++)
		n = failure(b, "127.0.1.2", "1001", false, T0);
	assert_false(n.locked);
	n = failure(b, "127.0.1.3", "1001", false, T0);
	assert_true(n.locked);
	ban_free(b);
}

static void whitelist_loopback(struct ban_config *c)
{
	assert_int_equal(acl_cidr_parse("127.0.0.0/8", &c->whitelist[0], NULL), 0);
	c->nwhitelist = 1;
}

static void test_whitelist_is_never_banned(void **state)
{
	struct ban_engine *b = engine(whitelist_loopback);
	struct ban_addr a = addr("127.0.0.5");
	struct ban_news n = {0};

	(void)state;
	for (int i = 0; i < 50; i++) {
		n = failure(b, "127.0.0.5", "1001", false, T0);
		assert_false(n.banned);
	}
	assert_int_equal(ban_put(b, &a, T0 + 100, 0, BAN_MANUAL), 0);
	assert_false(ban_source_banned(b, &a, T0));
	ban_free(b);
}

static void small_tables(struct ban_config *c)
{
	c->max_tracked = 16;
	c->max_bans = 16;
}

static void test_tables_stay_bounded(void **state)
{
	struct ban_engine *b = engine(small_tables);
	struct ban_addr a;
	char src[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.1", i / 256, i % 256);
		failure(b, src, src, true, T0);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.2", i / 256, i % 256);
		a = addr(src);
		ban_mark_healthy(b, &a, T0 + 60);
	}
	assert_true(ban_is_healthy(b, &a, T0 + 59));
	assert_false(ban_is_healthy(b, &a, T0 + 60));
	a = addr("10.0.0.2");
	assert_false(ban_is_healthy(b, &a, T0)); /* forgotten: the table is full */
	assert_true(ban_tracked_count(b) <= 4 * 16);
	/* Bans in force are kept; a full table refuses a new one. */
	for (int i = 0; i < 16; i++) {
		snprintf(src, sizeof(src), "10.9.9.%d", i);
		a = addr(src);
		assert_int_equal(ban_put(b, &a, T0 + 100, 0, BAN_MANUAL), 0);
	}
	a = addr("10.9.10.1");
	assert_int_equal(ban_put(b, &a, T0 + 100, 0, BAN_MANUAL), ENOSPC);
	a = addr("10.9.9.3");
	assert_true(ban_source_banned(b, &a, T0));
	ban_free(b);
}

struct sweep_log {
	int lifted, unlocked;
	char last[64];
};

static void on_lifted(void *arg, const struct ban_addr *src, enum ban_reason reason)
{
	struct sweep_log *l = arg;

	(void)reason;
	l->lifted++;
	ban_addr_format(src, l->last, sizeof(l->last));
}

static void on_unlocked(void *arg, const char *ext)
{
	struct sweep_log *l = arg;

	l->unlocked++;
	snprintf(l->last, sizeof(l->last), "%s", ext);
}

static void test_sweep_reports_each_end_once(void **state)
{
	struct ban_engine *b = engine(NULL);
	struct sweep_log log = {0};
	struct ban_sweep_cb cb = {on_lifted, on_unlocked, &log};
	struct ban_addr a = addr("2001:db8::7");

	(void)state;
	assert_int_equal(ban_put(b, &a, T0 + 10, 2, BAN_SCAN), 0);
	assert_int_equal(ban_lock_put(b, "1001", 4, T0 + 20), 0);
	ban_sweep(b, T0 + 5, &cb);
	assert_int_equal(log.lifted + log.unlocked, 0);
	ban_sweep(b, T0 + 10, &cb);
	assert_int_equal(log.lifted, 1);
	assert_string_equal(log.last, "2001:db8::7");
	ban_sweep(b, T0 + 15, &cb);
	assert_int_equal(log.lifted, 1);
	ban_sweep(b, T0 + 20, &cb);
	assert_int_equal(log.unlocked, 1);
	assert_string_equal(log.last, "1001");
	/* The ended ban still counts for the next one's length ... */
	for (int i = 0; i < 5; i++)
		failure(b, "2001:db8::7", "1001", false, T0 + 30);
	assert_true(banned(b, "2001:db8::7", T0 + 31));
	ban_sweep(b, T0 + 31 + 86400 * 3, &cb);
	assert_int_equal(ban_active_count(b, T0), 0);
	assert_int_equal(ban_del(b, &a), ENOENT);
	ban_free(b);
}

static void test_reasons(void **state)
{
	(void)state;
	for (enum ban_reason r = BAN_AUTH_FAILURES; r <= BAN_MANUAL; r++)
		assert_int_equal(ban_reason_parse(ban_reason_name(r)), r);
	assert_int_equal(ban_reason_parse("nonsense"), BAN_MANUAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_five_failures_ban_for_fifteen_minutes),
		cmocka_unit_test(test_window_forgets_old_failures),
		cmocka_unit_test(test_repeats_double_up_to_the_maximum),
		cmocka_unit_test(test_nat_office_blocks_the_pair_not_the_address),
		cmocka_unit_test(test_scan_of_many_extensions_bans),
		cmocka_unit_test(test_distributed_guessing_locks_the_account),
		cmocka_unit_test(test_one_address_alone_does_not_lock),
		cmocka_unit_test(test_whitelist_is_never_banned),
		cmocka_unit_test(test_tables_stay_bounded),
		cmocka_unit_test(test_sweep_reports_each_end_once),
		cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
