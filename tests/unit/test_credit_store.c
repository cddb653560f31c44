/* Filling a credit engine from the store (fraud/credit_store.c): each
 * extension's and trunk's own caps, deleted ones forgotten, and this month's outbound
 * spend from the CDRs split into today and the month in local time, and
 * the daemon's calls in progress at their running cost unless stale. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "credit_fixture.h"
#include "store_fixture.h"

#include "fraud/credit.h"
#include "fraud/credit_store.h"
#include "store/store.h"


static int setup_london(void **state)
{
	setenv("TZ", "Europe/London", 1);
	tzset();
	return setup(state);
}

static void add_ext(struct fixture *f, const char *ext, int64_t daily, int64_t monthly)
{
	struct ext_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ext, sizeof(r.ext), "%s", ext);
	memset(r.ha1.md5, 'a', DIGEST_MD5_HEX);
	memset(r.ha1.sha256, 'a', DIGEST_SHA256_HEX);
	r.daily_cap = daily;
	r.monthly_cap = monthly;
	assert_int_equal(store_ext_add(f->s, &r), 0);
}

static void add_trunk(struct fixture *f, const char *name, int64_t daily, int64_t monthly)
{
	struct trunk_record t;

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.host, sizeof(t.host), "sip.example.net");
	snprintf(t.transport, sizeof(t.transport), "udp");
	t.daily_cap = daily;
	t.monthly_cap = monthly;
	assert_int_equal(store_trunk_add(f->s, &t), 0);
}

static void add_cdr(struct fixture *f, const char *caller, const char *trunk,
		    const char *direction, int64_t start, int64_t cost)
{
	struct cdr_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.caller, sizeof(r.caller), "%s", caller);
	snprintf(r.callee, sizeof(r.callee), "01632960123");
	snprintf(r.call_id, sizeof(r.call_id), "%lld@t", (long long)start);
	snprintf(r.direction, sizeof(r.direction), "%s", direction);
	snprintf(r.trunk, sizeof(r.trunk), "%s", trunk);
	r.start_ms = start * 1000 + 999;
	r.answer_ms = r.start_ms + 1000;
	r.end_ms = r.start_ms + 61000;
	r.duration_s = 60;
	r.result = 200;
	r.cost = cost;
	assert_int_equal(store_cdr_add(f->s, &r), 0);
}

static struct credit *office(void)
{
	struct credit_conf cc = {
		.system_cap = { M(100), M(1000) },
		.ext_cap = { M(20), M(200) },
		.thresholds = { 50, 80, 100 },
		.nthresholds = 3,
	};
	struct credit *c = NULL;

	assert_int_equal(credit_alloc(&c, &cc), 0);
	return c;
}

/* The row, which must be there. */
static const struct credit_usage *row(const struct rows *r, enum credit_scope s,
				      const char *name, enum credit_period p)
{
	const struct credit_usage *u = find_usage(r, s, name, p);

	if (!u)
		fail_msg("no row for %s %s %s", credit_scope_name(s), name, credit_period_name(p));
	return u;
}

static void caps_come_from_the_extensions(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	struct rows r = { 0 };

	add_ext(f, "1001", 0, 0);
	add_ext(f, "1002", M(5), M(50));
	assert_int_equal(credit_load_caps(c, f->s), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(r.n, 6);
	assert_int_equal(row(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.cap, M(20));
	assert_int_equal(row(&r, CREDIT_EXT, "1001", CREDIT_MONTH)->ref.cap, M(200));
	assert_int_equal(row(&r, CREDIT_EXT, "1002", CREDIT_DAY)->ref.cap, M(5));
	assert_int_equal(row(&r, CREDIT_EXT, "1002", CREDIT_MONTH)->ref.cap, M(50));

	/* 1002 is deleted: a reload forgets it and its cap. */
	assert_int_equal(store_ext_del(f->s, "1002"), 0);
	assert_int_equal(credit_load_caps(c, f->s), 0);
	r.n = 0;
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(r.n, 4);
	assert_true(credit_admit(c, NOV26_1000, "1002", NULL, M(19), NULL));
	credit_free(c);
}

static void caps_come_from_the_trunks(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	struct rows r = { 0 };

	add_trunk(f, "prepaid", M(30), M(300));
	add_trunk(f, "voipco", 0, 0);
	assert_int_equal(credit_load_caps(c, f->s), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(r.n, 2 + 4);
	assert_int_equal(row(&r, CREDIT_TRUNK, "prepaid", CREDIT_DAY)->ref.cap, M(30));
	assert_int_equal(row(&r, CREDIT_TRUNK, "prepaid", CREDIT_MONTH)->ref.cap, M(300));
	/* No trunk default: listed, with no cap. */
	assert_int_equal(row(&r, CREDIT_TRUNK, "voipco", CREDIT_DAY)->ref.cap, 0);
	assert_int_equal(credit_restore_spend(c, "1001", "prepaid", NOV26_0000, M(30), NOV26_1000),
			 0);
	assert_false(credit_admit(c, NOV26_1000, "1001", "prepaid", 0, NULL));
	assert_true(credit_admit(c, NOV26_1000, "1002", "voipco", 0, NULL));

	assert_int_equal(store_trunk_del(f->s, "prepaid"), 0);
	assert_int_equal(credit_load_caps(c, f->s), 0);
	assert_true(credit_admit(c, NOV26_1000, "1002", "prepaid", 0, NULL));
	credit_free(c);
}

static void spend_is_this_months_outbound_calls(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	struct rows r = { 0 };

	add_ext(f, "1001", 0, 0);
	add_cdr(f, "1001", "sip1", "outbound", NOV26_0000, M(3));          /* today */
	add_cdr(f, "1001", "sip1", "outbound", NOV26_0000 - 1, M(4));      /* yesterday */
	add_cdr(f, "1001", "sip1", "outbound", NOV01_0000, M(5));          /* this month */
	add_cdr(f, "1001", "sip1", "outbound", NOV01_0000 - 1, M(50));     /* October */
	add_cdr(f, "1001", "sip1", "inbound", NOV26_0000 + 60, M(7));      /* not paid by us */
	add_cdr(f, "1002", "", "outbound", NOV26_0000 + 120, M(1) / 2);    /* no trunk */
	assert_int_equal(credit_load_caps(c, f->s), 0);
	assert_int_equal(credit_load_spend(c, f->s, NOV26_1000), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(row(&r, CREDIT_SYSTEM, "", CREDIT_DAY)->ref.spent, M(3) + M(1) / 2);
	assert_int_equal(row(&r, CREDIT_SYSTEM, "", CREDIT_MONTH)->ref.spent, M(12) + M(1) / 2);
	assert_int_equal(row(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.spent, M(3));
	assert_int_equal(row(&r, CREDIT_EXT, "1001", CREDIT_MONTH)->ref.spent, M(12));
	assert_int_equal(row(&r, CREDIT_EXT, "1002", CREDIT_DAY)->ref.spent, M(1) / 2);
	assert_int_equal(row(&r, CREDIT_TRUNK, "sip1", CREDIT_DAY)->ref.spent, M(3));
	assert_int_equal(row(&r, CREDIT_TRUNK, "sip1", CREDIT_MONTH)->ref.spent, M(12));
	assert_int_equal(row(&r, CREDIT_TRUNK, "sip1", CREDIT_MONTH)->ref.since, NOV01_0000);
	credit_free(c);
}

static void spend_saturates_over_huge_rows(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	struct rows r = { 0 };

	/* Hand-written rows whose sum no int64 holds. */
	add_cdr(f, "1001", "", "outbound", NOV26_0000 + 1, INT64_MAX);
	add_cdr(f, "1001", "", "outbound", NOV26_0000 + 2, INT64_MAX);
	assert_int_equal(credit_load_spend(c, f->s, NOV26_1000), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(row(&r, CREDIT_SYSTEM, "", CREDIT_DAY)->ref.spent, INT64_MAX);
	assert_true(row(&r, CREDIT_SYSTEM, "", CREDIT_DAY)->reached);
	assert_false(credit_admit(c, NOV26_1000, "1003", NULL, 0, NULL));
	credit_free(c);
}

/* A call of the daemon's live set: started, and answered unless 0, at
 * those seconds (plus 999 ms, which the engine's whole seconds drop). */
static struct live_call_record live(const char *caller, const char *trunk, int64_t start,
				    int64_t answer, int64_t connection, int64_t per_minute)
{
	struct live_call_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.call_id, sizeof(r.call_id), "%lld-%s@t", (long long)start, caller);
	snprintf(r.caller, sizeof(r.caller), "%s", caller);
	snprintf(r.trunk, sizeof(r.trunk), "%s", trunk);
	r.start_ms = start * 1000 + 999;
	r.answer_ms = answer ? answer * 1000 + 999 : 0;
	r.connection = connection;
	r.per_minute = per_minute;
	return r;
}

#define NOW_MS (NOV26_1000 * 1000)

static void live_calls_count_as_they_stand(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	struct rows r = { 0 };
	struct live_call_record set[2] = {
		/* Answered two minutes ago at 1.20 a minute, 0.10 to connect. */
		live("1001", "sip1", NOV26_1000 - 130, NOV26_1000 - 120, M(1) / 10,
		     M(12) / 10),
		/* Ringing: its connection charge, 0.05. */
		live("1002", "sip1", NOV26_1000 - 5, 0, M(1) / 20, M(6)),
	};
	size_t counted = 99;

	add_ext(f, "1001", 0, 0);
	add_cdr(f, "1001", "sip1", "outbound", NOV26_0000, M(3));
	assert_int_equal(store_live_calls_replace(f->s, set, 2, NOW_MS - 1000), 0);
	assert_int_equal(credit_load_caps(c, f->s), 0);
	assert_int_equal(credit_load_spend(c, f->s, NOV26_1000), 0);
	assert_int_equal(credit_load_live(c, f->s, NOW_MS, &counted), 0);
	assert_int_equal(counted, 2);
	assert_int_equal(credit_live_calls(c), 2);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(row(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.spent,
			 M(3) + M(1) / 10 + M(24) / 10);
	assert_int_equal(row(&r, CREDIT_EXT, "1002", CREDIT_DAY)->ref.spent, M(1) / 20);
	assert_int_equal(row(&r, CREDIT_TRUNK, "sip1", CREDIT_MONTH)->ref.spent,
			 M(3) + M(25) / 10 + M(1) / 20);
	assert_int_equal(row(&r, CREDIT_SYSTEM, "", CREDIT_DAY)->ref.spent,
			 M(3) + M(25) / 10 + M(1) / 20);
	/* A minute on, the answered call has cost 1.20 more. */
	r.n = 0;
	assert_int_equal(credit_usage(c, NOV26_1000 + 60, on_usage, &r), 0);
	assert_int_equal(row(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.spent,
			 M(3) + M(1) / 10 + M(36) / 10);
	credit_free(c); /* frees the calls too: the sanitizer would see a leak */
}

static void stale_live_set_is_ignored(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	struct rows r = { 0 };
	struct live_call_record one =
		live("1001", "sip1", NOV26_1000 - 130, NOV26_1000 - 120, M(1), M(1));
	size_t counted = 99;

	/* Written just over LIVE_CALLS_STALE_MS ago: a daemon that died. */
	assert_int_equal(store_live_calls_replace(f->s, &one, 1,
						  NOW_MS - LIVE_CALLS_STALE_MS - 1), 0);
	assert_int_equal(credit_load_live(c, f->s, NOW_MS, &counted), 0);
	assert_int_equal(counted, 0);
	assert_int_equal(credit_live_calls(c), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_null(find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY));
	assert_int_equal(row(&r, CREDIT_SYSTEM, "", CREDIT_DAY)->ref.spent, 0);

	/* Exactly LIVE_CALLS_STALE_MS old still counts. */
	assert_int_equal(store_live_calls_replace(f->s, &one, 1, NOW_MS - LIVE_CALLS_STALE_MS),
			 0);
	assert_int_equal(credit_load_live(c, f->s, NOW_MS, NULL), 0);
	assert_int_equal(credit_live_calls(c), 1);
	credit_free(c);
}

static void no_live_calls_count_nothing(void **state)
{
	struct fixture *f = *state;
	struct credit *c = office();
	size_t counted = 99;

	assert_int_equal(credit_load_live(c, f->s, NOW_MS, &counted), 0);
	assert_int_equal(counted, 0);
	assert_int_equal(credit_live_calls(c), 0);
	credit_free(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_london, teardown)
	const struct CMUnitTest tests[] = {
		T(caps_come_from_the_extensions),
		T(caps_come_from_the_trunks),
		T(spend_is_this_months_outbound_calls),
		T(spend_saturates_over_huge_rows),
		T(live_calls_count_as_they_stand),
		T(stale_live_set_is_ignored),
		T(no_live_calls_count_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
