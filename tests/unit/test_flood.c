/* Flood protection on an injected millisecond clock: bucket arithmetic,
 * the registered budget, sustained floods, glitches, the table bound and
 * the overload state. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "guard/flood.h"

#define T0 1000000 /* ms; any start will do */

static struct ban_addr addr(const char *s)
{
	struct ban_addr a;

	assert_int_equal(ban_addr_parse(s, &a), 0);
	return a;
}

static struct flood *flood_with(unsigned rate, unsigned burst)
{
	struct flood_config c;
	struct flood *f = NULL;

	flood_config_defaults(&c);
	c.rate = rate;
	c.burst = burst;
	assert_int_equal(flood_alloc(&f, &c), 0);
	return f;
}

static enum flood_class always(void *arg, const struct ban_addr *src)
{
	(void)src;
	if (arg)
		(*(unsigned *)arg)++;
	return FLOOD_REGISTERED;
}

static enum flood_class never(void *arg, const struct ban_addr *src)
{
	(void)src;
	if (arg)
		(*(unsigned *)arg)++;
	return FLOOD_UNKNOWN;
}

static enum flood_class trusted(void *arg, const struct ban_addr *src)
{
	(void)arg;
	(void)src;
	return FLOOD_TRUSTED;
}

/* Packets from src at `now` until the first one that does not pass. */
static unsigned passes(struct flood *f, const char *src, int64_t now, unsigned max)
{
	struct ban_addr a = addr(src);
	unsigned n = 0;

	while (n < max && flood_packet(f, &a, now, never, NULL) == FLOOD_PASS)
		n++;
	return n;
}

static void defaults_are_the_documented_ones(void **state)
{
	struct flood_config c;

	(void)state;
	flood_config_defaults(&c);
	assert_int_equal(c.rate, 100);
	assert_int_equal(c.burst, 400);
	assert_int_equal(c.rate_registered, 2000);
	assert_int_equal(c.burst_registered, 10000);
	assert_int_equal(c.sustain_ms, 5000);
	assert_int_equal(c.glitches, 50);
	assert_int_equal(c.glitch_window_ms, 60000);
	assert_int_equal(c.max_tracked, 65536);
}

static void a_new_source_gets_exactly_its_burst(void **state)
{
	struct flood *f = flood_with(10, 25);

	(void)state;
	assert_int_equal(passes(f, "192.0.2.1", T0, 1000), 25);
	assert_int_equal(flood_dropped(f), 1);
	/* Another address has its own bucket. */
	assert_int_equal(passes(f, "192.0.2.2", T0, 1000), 25);
	flood_free(f);
}

static void the_bucket_refills_at_the_rate(void **state)
{
	struct flood *f = flood_with(10, 25);

	(void)state;
	assert_int_equal(passes(f, "192.0.2.1", T0, 1000), 25);
	/* 10 per second: one packet per 100 ms, none in 99 ms. */
	assert_int_equal(passes(f, "192.0.2.1", T0 + 99, 1000), 0);
	assert_int_equal(passes(f, "192.0.2.1", T0 + 100, 1000), 1);
	assert_int_equal(passes(f, "192.0.2.1", T0 + 1100, 1000), 10);
	/* A long quiet time fills it to the burst, never beyond. */
	assert_int_equal(passes(f, "192.0.2.1", T0 + 3600000, 1000), 25);
	/* A clock that steps back refills nothing and breaks nothing. */
	assert_int_equal(passes(f, "192.0.2.1", T0, 1000), 0);
	flood_free(f);
}

static void partial_refills_add_up(void **state)
{
	struct flood *f = flood_with(3, 2);
	struct ban_addr a = addr("192.0.2.1");
	unsigned passed = 0;

	(void)state;
	assert_int_equal(passes(f, "192.0.2.1", T0, 100), 2);
	/* 3 per second asked every 10 ms for 10 s: 30 more pass, since the
	 * fractions of a packet refilled by each step are kept. */
	for (int64_t t = T0 + 10; t <= T0 + 10000; t += 10)
		passed += flood_packet(f, &a, t, never, NULL) == FLOOD_PASS;
	assert_int_equal(passed, 30);
	flood_free(f);
}

static void a_registered_source_gets_the_larger_budget(void **state)
{
	struct flood *f = flood_with(10, 25);
	struct ban_addr a = addr("192.0.2.7");
	unsigned asked = 0, n = 0;

	(void)state;
	while (n < 20000 && flood_packet(f, &a, T0, always, &asked) == FLOOD_PASS)
		n++;
	assert_int_equal(n, 10000);
	assert_int_equal(asked, 1); /* looked up once, not per packet */
	/* And its rate: 2000 a second. */
	n = 0;
	while (n < 20000 && flood_packet(f, &a, T0 + 1000, always, &asked) == FLOOD_PASS)
		n++;
	assert_int_equal(n, 2000);
	assert_int_equal(asked, 2);
	flood_free(f);
}

static void registration_state_is_looked_up_again_each_second(void **state)
{
	struct flood *f = flood_with(10, 25);
	struct ban_addr a = addr("192.0.2.8");
	unsigned asked = 0, n = 0;

	(void)state;
	while (n < 100 && flood_packet(f, &a, T0, always, &asked) == FLOOD_PASS)
		n++;
	assert_int_equal(n, 100);
	/* The registration ended: back to the stranger's bucket, clamped. */
	n = 0;
	while (n < 100 && flood_packet(f, &a, T0 + FLOOD_RECHECK_MS, never, &asked) == FLOOD_PASS)
		n++;
	assert_int_equal(n, 25);
	assert_int_equal(asked, 2);
	flood_free(f);
}

static void authenticating_switches_the_budget_at_once(void **state)
{
	struct flood *f = flood_with(10, 25);
	struct ban_addr a = addr("192.0.2.9");

	(void)state;
	assert_int_equal(passes(f, "192.0.2.9", T0, 1000), 25);
	flood_mark_registered(f, &a);
	/* The larger rate applies from the next refill: 2000/s for 10 ms. */
	assert_int_equal(flood_packet(f, &a, T0 + 10, NULL, NULL), FLOOD_PASS);
	flood_free(f);
}

static void only_a_sustained_overrun_is_a_flood(void **state)
{
	struct flood *f = flood_with(10, 10);
	struct ban_addr a = addr("198.51.100.1");
	enum flood_verdict v = FLOOD_PASS;
	int64_t t;

	(void)state;
	/* 100 packets a second, ten times the budget: dropped, and banned
	 * once the overrun has lasted sustain_ms (5 s). */
	for (t = T0; t < T0 + 10000; t += 10) {
		v = flood_packet(f, &a, t, never, NULL);
		if (v == FLOOD_BAN)
			break;
	}
	assert_int_equal(v, FLOOD_BAN);
	assert_true(t >= T0 + 5000 && t < T0 + 5200);
	flood_free(f);
}

static void a_quiet_second_ends_the_episode(void **state)
{
	struct flood *f = flood_with(10, 10);
	struct ban_addr a = addr("198.51.100.2");
	int64_t t = T0;

	(void)state;
	/* Bursts over budget for 3 s, then 1.2 s of silence, again and
	 * again: never 5 s without a quiet second, never a flood. */
	for (int round = 0; round < 10; round++) {
		for (int64_t end = t + 3000; t < end; t += 10)
			assert_int_not_equal(flood_packet(f, &a, t, never, NULL), FLOOD_BAN);
		t += 1200;
	}
	assert_true(flood_dropped(f) > 1000);
	flood_free(f);
}

static void an_office_stays_far_below_the_registered_budget(void **state)
{
	struct flood *f = flood_with(100, 400);
	struct ban_addr office = addr("203.0.113.50");
	int64_t t;

	(void)state;
	/* 50 phones behind one address, each re-registering (4 packets) and
	 * placing a call (12 packets with its challenge, ACK and BYE) in the
	 * same second, every second for a minute: 800 packets a second. */
	for (t = T0; t < T0 + 60000; t += 1000)
		for (int p = 0; p < 800; p++)
			assert_int_equal(flood_packet(f, &office, t + p, always, NULL), FLOOD_PASS);
	assert_int_equal(flood_dropped(f), 0);
	flood_free(f);
}

static void glitches_ban_at_the_threshold_within_the_window(void **state)
{
	struct flood *f = flood_with(10, 10);
	struct ban_addr a = addr("198.51.100.3");

	(void)state;
	for (int i = 1; i < 50; i++)
		assert_false(flood_glitch(f, &a, T0 + i));
	assert_true(flood_glitch(f, &a, T0 + 50));
	/* It starts over. */
	assert_false(flood_glitch(f, &a, T0 + 51));
	/* 49 within a minute, then the window moves on: no ban. */
	struct ban_addr b = addr("198.51.100.4");
	for (int i = 0; i < 49; i++)
		assert_false(flood_glitch(f, &b, T0 + i));
	for (int i = 0; i < 49; i++)
		assert_false(flood_glitch(f, &b, T0 + 60000 + i));
	flood_free(f);
}

static void the_table_is_bounded_and_forgets_the_stalest(void **state)
{
	struct flood_config c;
	struct flood *f = NULL;
	struct ban_addr a;
	char s[64];

	(void)state;
	flood_config_defaults(&c);
	c.rate = 1;
	c.burst = 1;
	c.max_tracked = 1000;
	assert_int_equal(flood_alloc(&f, &c), 0);
	/* 192.0.2.1 spends its bucket, then 100,000 sprayed addresses. */
	a = addr("192.0.2.1");
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_PASS);
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_DROP);
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(s, sizeof(s), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		a = addr(s);
		assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_PASS);
		assert_true(flood_tracked(f) <= 1000);
	}
	assert_int_equal(flood_tracked(f), 1000);
	/* A source seen recently is remembered: the last sprayed one is. */
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_DROP);
	/* 192.0.2.1 was forgotten and starts with a full bucket again. */
	a = addr("192.0.2.1");
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_PASS);
	/* A smaller table on reload drops the excess at once. */
	c.max_tracked = 10;
	flood_set_config(f, &c);
	assert_int_equal(flood_tracked(f), 10);
	flood_free(f);
}

static void forgetting_a_source_resets_it(void **state)
{
	struct flood *f = flood_with(1, 1);
	struct ban_addr a = addr("2001:db8::1");

	(void)state;
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_PASS);
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_DROP);
	flood_forget(f, &a);
	assert_int_equal(flood_tracked(f), 0);
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_PASS);
	flood_free(f);
}

static void ipv4_mapped_ipv6_shares_the_ipv4_bucket(void **state)
{
	struct flood *f = flood_with(1, 1);
	struct ban_addr v4 = addr("192.0.2.33"), mapped = addr("::ffff:192.0.2.33");

	(void)state;
	assert_int_equal(flood_packet(f, &v4, T0, never, NULL), FLOOD_PASS);
	assert_int_equal(flood_packet(f, &mapped, T0, never, NULL), FLOOD_DROP);
	flood_free(f);
}

static void overload_begins_holds_and_ends(void **state)
{
	struct flood *f = flood_with(100, 400);
	struct ban_addr stranger = addr("198.51.100.9"), phone = addr("192.0.2.10");

	(void)state;
	assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK - 1, 1000, 1000, T0), 0);
	assert_false(flood_overloaded(f));
	/* Behind, but on a flood that is dropped before parsing: cheap, and
	 * refusing calls would not help. */
	assert_int_equal(flood_load(f, 100, 1000, 249, T0), 0);
	assert_int_equal(flood_load(f, 100, 0, 0, T0), 0);
	assert_false(flood_overloaded(f));
	/* One report is a burst; it takes FLOOD_BEHIND_REPORTS in a row. */
	assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0), 0);
	assert_int_equal(flood_load(f, 0, 1000, 1000, T0), 0);
	for (unsigned i = 1; i < FLOOD_BEHIND_REPORTS; i++)
		assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0), 0);
	assert_false(flood_overloaded(f));
	assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0), 1);
	assert_true(flood_overloaded(f));
	assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK + 5, 1000, 250, T0 + 10), 0);
	/* Strangers are shed, registered phones go on. */
	assert_int_equal(flood_packet(f, &stranger, T0 + 20, never, NULL), FLOOD_SHED);
	assert_int_equal(flood_packet(f, &phone, T0 + 20, always, NULL), FLOOD_PASS);
	assert_int_equal(flood_shed(f), 1);
	/* It holds for FLOOD_OVERLOAD_HOLD_MS after the last sign. */
	assert_int_equal(flood_load(f, 0, 1000, 1000, T0 + 10 + FLOOD_OVERLOAD_HOLD_MS - 1), 0);
	assert_true(flood_overloaded(f));
	assert_int_equal(flood_load(f, 0, 1000, 1000, T0 + 10 + FLOOD_OVERLOAD_HOLD_MS), -1);
	assert_false(flood_overloaded(f));
	assert_int_equal(flood_load(f, 0, 0, 0, T0 + 100000), 0);
	assert_int_equal(flood_packet(f, &stranger, T0 + 100000, never, NULL), FLOOD_PASS);
	flood_free(f);
}

static void a_flooder_is_still_caught_while_shed(void **state)
{
	struct flood *f = flood_with(10, 10);
	struct ban_addr a = addr("198.51.100.10");
	enum flood_verdict v = FLOOD_PASS;

	(void)state;
	for (unsigned i = 1; i < FLOOD_BEHIND_REPORTS; i++)
		flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0);
	assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0), 1);
	for (int64_t t = T0; t < T0 + 10000 && v != FLOOD_BAN; t += 10) {
		flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, t);
		v = flood_packet(f, &a, t, never, NULL);
	}
	assert_int_equal(v, FLOOD_BAN);
	flood_free(f);
}

static void a_trusted_source_is_never_held_back(void **state)
{
	struct flood *f = flood_with(1, 1);
	struct ban_addr a = addr("192.0.2.99");

	(void)state;
	assert_int_equal(flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0), 0);
	for (unsigned i = 1; i < FLOOD_BEHIND_REPORTS; i++)
		flood_load(f, FLOOD_BEHIND_STREAK, 1000, 1000, T0);
	assert_true(flood_overloaded(f));
	for (int64_t t = T0; t < T0 + 10000; t++)
		assert_int_equal(flood_packet(f, &a, t, trusted, NULL), FLOOD_PASS);
	assert_int_equal(flood_dropped(f), 0);
	assert_int_equal(flood_shed(f), 0);
	/* No longer trusted (a reload changed the whitelist): held back again
	 * from the next look-up on. */
	assert_int_equal(flood_load(f, 0, 0, 0, T0 + 20000), -1);
	assert_int_equal(flood_packet(f, &a, T0 + 20000, never, NULL), FLOOD_PASS);
	assert_int_equal(flood_packet(f, &a, T0 + 20000, never, NULL), FLOOD_DROP);
	flood_free(f);
}

static void zero_settings_are_raised_to_one(void **state)
{
	struct flood_config c;
	struct flood *f = NULL;
	struct ban_addr a = addr("192.0.2.1");

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(flood_alloc(&f, &c), 0);
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_PASS);
	assert_int_equal(flood_packet(f, &a, T0, never, NULL), FLOOD_DROP);
	assert_int_equal(flood_packet(f, &a, T0 + 1000, never, NULL), FLOOD_PASS);
	flood_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_ones),
		cmocka_unit_test(a_new_source_gets_exactly_its_burst),
		cmocka_unit_test(the_bucket_refills_at_the_rate),
		cmocka_unit_test(partial_refills_add_up),
		cmocka_unit_test(a_registered_source_gets_the_larger_budget),
		cmocka_unit_test(registration_state_is_looked_up_again_each_second),
		cmocka_unit_test(authenticating_switches_the_budget_at_once),
		cmocka_unit_test(only_a_sustained_overrun_is_a_flood),
		cmocka_unit_test(a_quiet_second_ends_the_episode),
		cmocka_unit_test(an_office_stays_far_below_the_registered_budget),
		cmocka_unit_test(glitches_ban_at_the_threshold_within_the_window),
		cmocka_unit_test(the_table_is_bounded_and_forgets_the_stalest),
		cmocka_unit_test(forgetting_a_source_resets_it),
		cmocka_unit_test(ipv4_mapped_ipv6_shares_the_ipv4_bucket),
		cmocka_unit_test(overload_begins_holds_and_ends),
		cmocka_unit_test(a_flooder_is_still_caught_while_shed),
		cmocka_unit_test(a_trusted_source_is_never_held_back),
		cmocka_unit_test(zero_settings_are_raised_to_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
