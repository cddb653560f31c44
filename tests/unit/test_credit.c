/* The credit engine (fraud/credit.c): admission, live spend, deadlines with
 * several calls draining one cap, calls across midnight and month ends,
 * daylight-saving days, thresholds reported once, default and zero caps,
 * saturation. Times are in Europe/London unless a test says otherwise. */
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

#include "fraud/credit.h"
#include "store/store.h"

/* Europe/London, unix seconds, besides those of credit_fixture.h. */
#define NOV26_2350 INT64_C(1795737000)
#define NOV27_0000 INT64_C(1795737600)
#define NOV30_2300 INT64_C(1796079600)
#define DEC01_0000 INT64_C(1796083200)
#define MAR29_0000 INT64_C(1774742400) /* clocks go forward at 01:00: a 23-hour day */
#define MAR30_0000 INT64_C(1774825200)
#define OCT25_0000 INT64_C(1792882800) /* clocks go back at 02:00: a 25-hour day */
#define OCT26_0000 INT64_C(1792972800)

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int setup_london(void **state)
{
	(void)state;
	set_tz("Europe/London");
	return 0;
}

/* System: 100 a day, 1000 a month; extensions 20 and 200; trunks none. */
static struct credit_conf office(void)
{
	struct credit_conf cc = {
		.system_cap = { M(100), M(1000) },
		.ext_cap = { M(20), M(200) },
		.trunk_cap = { 0, 0 },
		.thresholds = { 50, 80, 100 },
		.nthresholds = 3,
	};
	return cc;
}

static struct credit *engine(const struct credit_conf *cc)
{
	struct credit *c = NULL;

	assert_int_equal(credit_alloc(&c, cc), 0);
	assert_non_null(c);
	return c;
}

static struct credit_call *start(struct credit *c, int64_t now, const char *ext,
				 const char *trunk, int64_t per_minute, int64_t connection)
{
	struct rate_record rate = { .per_minute = per_minute, .connection = connection };
	struct credit_call_info info = { ext, trunk, &rate, NULL };
	struct credit_call *k = NULL;

	assert_int_equal(credit_call_start(c, now, &info, &k), 0);
	assert_non_null(k);
	return k;
}

/* A call answered at `at` and ended at `end`; returns its cost. */
static int64_t call(struct credit *c, int64_t at, int64_t end, const char *ext,
		    const char *trunk, int64_t per_minute, int64_t connection)
{
	struct credit_call *k = start(c, at, ext, trunk, per_minute, connection);

	credit_call_answer(c, k, at);
	return credit_call_end(c, k, end);
}

struct ended {
	struct credit *c;
	int64_t now;
	int n;
	void *owners[4];
	struct credit_cap_ref cap;
	int64_t cost;
	bool end_it;
};

static void on_expired(struct credit_call *k, void *owner, const struct credit_cap_ref *cap,
		       void *arg)
{
	struct ended *e = arg;

	assert_true(e->n < 4);
	e->owners[e->n++] = owner;
	e->cap = *cap;
	if (e->end_it)
		e->cost += credit_call_end(e->c, k, e->now);
}

/* Counts and ends, without keeping owners. */
static void on_expired_many(struct credit_call *k, void *owner,
			    const struct credit_cap_ref *cap, void *arg)
{
	struct ended *e = arg;

	(void)owner;
	assert_int_equal(cap->scope, CREDIT_SYSTEM);
	e->n++;
	e->cost += credit_call_end(e->c, k, e->now);
}

/* ---- what a call costs ---- */

static void cost_is_rounded_up_per_second_and_unanswered_is_free(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);

	(void)state;
	/* 0.01 a minute: 166.67 micro-units a second, charged as 167. */
	assert_int_equal(call(c, NOV26_1000, NOV26_1000 + 1, "1001", NULL, 10000, 0), 167);
	assert_int_equal(call(c, NOV26_1000, NOV26_1000 + 60, "1001", NULL, 10000, 0), 10000);
	assert_int_equal(call(c, NOV26_1000, NOV26_1000 + 61, "1001", NULL, 10000, 0), 10167);
	/* The connection charge is due on answer. */
	assert_int_equal(call(c, NOV26_1000, NOV26_1000, "1001", NULL, 10000, 50000), 50000);
	assert_int_equal(call(c, NOV26_1000, NOV26_1000 + 90, "1001", NULL, M(1), M(1) / 10),
			 M(1) / 10 + M(1) * 3 / 2);

	struct credit_call *k = start(c, NOV26_1000, "1001", NULL, M(1), M(1));
	assert_int_equal(credit_call_cost(k, NOV26_1000 + 600), 0);
	assert_int_equal(credit_call_end(c, k, NOV26_1000 + 600), 0);
	credit_free(c);
}

static void cost_runs_from_the_answer(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *k = start(c, NOV26_1000, "1001", NULL, M(1), 0);

	(void)state;
	credit_call_answer(c, k, NOV26_1000 + 30);
	credit_call_answer(c, k, NOV26_1000 + 50); /* a second 200 OK changes nothing */
	assert_int_equal(credit_call_cost(k, NOV26_1000 + 90), M(1));
	assert_int_equal(credit_call_end(c, k, NOV26_1000 + 90), M(1));
	credit_free(c);
}

/* ---- admission ---- */

static void admit_refuses_at_the_cap_counting_the_connection_charge(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_cap_ref why;

	(void)state;
	assert_true(credit_admit(c, NOV26_1000, "1001", NULL, 0, &why));
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000 + 60,
					      M(20) - 10000, NOV26_1000), 0);
	/* 19.99 spent: a call with no connection charge may start, one whose
	 * connection charge would reach the cap may not. */
	assert_true(credit_admit(c, NOV26_1000, "1001", NULL, 0, &why));
	assert_true(credit_admit(c, NOV26_1000, "1001", NULL, 9999, &why));
	assert_false(credit_admit(c, NOV26_1000, "1001", NULL, 10000, &why));
	assert_int_equal(why.scope, CREDIT_EXT);
	assert_string_equal(why.name, "1001");
	assert_int_equal(why.period, CREDIT_DAY);
	assert_int_equal(why.cap, M(20));
	assert_int_equal(why.spent, M(20) - 10000);
	assert_int_equal(why.since, NOV26_0000);
	/* Another extension is not held by 1001's cap. */
	assert_true(credit_admit(c, NOV26_1000, "1002", NULL, 10000, &why));
	/* At the cap exactly, nothing more starts. */
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000 + 60, 10000,
					      NOV26_1000), 0);
	assert_false(credit_admit(c, NOV26_1000, "1001", NULL, 0, NULL));
	/* The next day starts fresh. */
	assert_true(credit_admit(c, NOV27_0000, "1001", NULL, 0, &why));
	credit_free(c);
}

static void admit_names_extension_then_trunk_then_system(void **state)
{
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_cap_ref why;

	(void)state;
	cc.trunk_cap[CREDIT_MONTH] = M(50);
	c = engine(&cc);
	/* 60 over trunk "sip1" from ten extensions: the trunk's month is over. */
	for (int i = 0; i < 10; i++) {
		char ext[8];

		snprintf(ext, sizeof(ext), "10%02d", i);
		assert_int_equal(credit_restore_spend(c, ext, "sip1", NOV26_0000, M(6),
						      NOV26_1000), 0);
	}
	assert_false(credit_admit(c, NOV26_1000, "1099", "sip1", 0, &why));
	assert_int_equal(why.scope, CREDIT_TRUNK);
	assert_string_equal(why.name, "sip1");
	assert_int_equal(why.period, CREDIT_MONTH);
	assert_int_equal(why.since, NOV01_0000);
	assert_int_equal(why.spent, M(60));
	assert_true(credit_admit(c, NOV26_1000, "1099", "sip2", 0, &why));

	/* 1000 spent today: the system's day is over too, but an extension
	 * over its own cap is named first. */
	assert_int_equal(credit_restore_spend(c, "1000", NULL, NOV26_0000, M(940), NOV26_1000), 0);
	assert_false(credit_admit(c, NOV26_1000, "1000", "sip1", 0, &why));
	assert_int_equal(why.scope, CREDIT_EXT);
	assert_int_equal(why.period, CREDIT_DAY);
	assert_false(credit_admit(c, NOV26_1000, "1099", "sip2", 0, &why));
	assert_int_equal(why.scope, CREDIT_SYSTEM);
	assert_string_equal(why.name, "");
	assert_int_equal(why.period, CREDIT_DAY);
	assert_int_equal(why.cap, M(100));
	/* A call with no extension (a forward from a trunk) meets the system cap. */
	assert_false(credit_admit(c, NOV26_1000, NULL, NULL, 0, &why));
	assert_int_equal(why.scope, CREDIT_SYSTEM);
	credit_free(c);
}

static void ringing_calls_hold_their_connection_charge(void **state)
{
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_call *k[3];
	struct credit_cap_ref why;

	(void)state;
	cc.ext_cap[CREDIT_DAY] = M(1);
	c = engine(&cc);
	/* A burst of parallel calls cannot each pass on the same headroom. */
	for (int i = 0; i < 3; i++) {
		assert_true(credit_admit(c, NOV26_1000, "1001", NULL, M(3) / 10, &why));
		k[i] = start(c, NOV26_1000, "1001", NULL, M(1), M(3) / 10);
	}
	assert_false(credit_admit(c, NOV26_1000, "1001", NULL, M(3) / 10, &why));
	assert_int_equal(why.spent, M(9) / 10);
	/* One gives up unanswered: its reservation is released, nothing spent. */
	assert_int_equal(credit_call_end(c, k[2], NOV26_1000 + 5), 0);
	assert_true(credit_admit(c, NOV26_1000 + 5, "1001", NULL, M(3) / 10, &why));
	credit_call_end(c, k[0], NOV26_1000 + 6);
	credit_call_end(c, k[1], NOV26_1000 + 6);
	credit_free(c);
}

static void live_calls_count_while_they_run(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *k = start(c, NOV26_1000, "1001", NULL, M(1), 0);
	struct credit_cap_ref why;

	(void)state;
	credit_call_answer(c, k, NOV26_1000);
	assert_true(credit_admit(c, NOV26_1000 + 1199, "1001", NULL, 0, &why));
	assert_false(credit_admit(c, NOV26_1000 + 1200, "1001", NULL, 0, &why));
	assert_int_equal(why.spent, M(20));
	credit_call_end(c, k, NOV26_1000 + 1200);
	credit_free(c);
}

/* ---- deadlines ---- */

static void one_call_ends_on_the_second_its_cap_is_reached(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *k = start(c, NOV26_1000 - 10, "1001", NULL, M(1), 0);
	struct credit_cap_ref cap;

	(void)state;
	assert_int_equal(credit_deadline(c, k, &cap), CREDIT_NEVER); /* ringing */
	credit_call_answer(c, k, NOV26_1000);
	/* 1.00 a minute against 20.00 a day: 1200 seconds, and not one more. */
	assert_int_equal(credit_deadline(c, k, &cap), NOV26_1000 + 1200);
	assert_int_equal(cap.scope, CREDIT_EXT);
	assert_int_equal(cap.period, CREDIT_DAY);
	assert_int_equal(cap.cap, M(20));
	assert_int_equal(credit_call_end(c, k, NOV26_1000 + 1200), M(20));
	credit_free(c);
}

static void two_calls_draining_one_cap_end_together(void **state)
{
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_call *a, *b;

	(void)state;
	cc.ext_cap[CREDIT_DAY] = cc.ext_cap[CREDIT_MONTH] = 0;
	cc.system_cap[CREDIT_DAY] = M(10);
	c = engine(&cc);
	/* A at 0.60 a minute (0.01 a second) from T, B at 0.90 (0.015) from
	 * T+100: 0.01 s + 0.015 (s - 100) <= 10 holds up to s = 460. */
	a = start(c, NOV26_1000, "1001", NULL, M(6) / 10, 0);
	credit_call_answer(c, a, NOV26_1000);
	assert_int_equal(credit_deadline(c, a, NULL), NOV26_1000 + 1000);
	b = start(c, NOV26_1000 + 90, "1002", NULL, M(9) / 10, 0);
	credit_call_answer(c, b, NOV26_1000 + 100);
	assert_int_equal(credit_deadline(c, a, NULL), NOV26_1000 + 460);
	assert_int_equal(credit_deadline(c, b, NULL), NOV26_1000 + 460);
	/* B hangs up at T+200 having cost 1.50: A alone may run to T+850. */
	assert_int_equal(credit_call_end(c, b, NOV26_1000 + 200), M(3) / 2);
	assert_int_equal(credit_deadline(c, a, NULL), NOV26_1000 + 850);
	assert_int_equal(credit_call_end(c, a, NOV26_1000 + 850), M(17) / 2);
	credit_free(c);
}

/* The total of calls answered at answer[i] with rate[i], rounded each as
 * the engine charges, at second t: an independent model. */
static int64_t model_total(const int64_t *answer, const int64_t *rate, int n, int64_t t)
{
	int64_t sum = 0;

	for (int i = 0; i < n; i++) {
		int64_t s = t - answer[i];

		if (s > 0)
			sum += (rate[i] * s + 59) / 60;
	}
	return sum;
}

static void deadline_with_uneven_rates_matches_a_second_by_second_model(void **state)
{
	static const int64_t rate[3] = { 10000, 77777, 123457 };
	static const int64_t answer[3] = { NOV26_1000, NOV26_1000 + 7, NOV26_1000 + 31 };
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_call *k[3];
	int64_t expect = 0;

	(void)state;
	cc.system_cap[CREDIT_DAY] = M(3) + 1234;
	c = engine(&cc);
	for (int i = 0; i < 3; i++) {
		k[i] = start(c, answer[i], "", "sip1", rate[i], 0);
		credit_call_answer(c, k[i], answer[i]);
	}
	for (int64_t t = answer[2]; expect == 0; t++)
		if (model_total(answer, rate, 3, t + 1) > cc.system_cap[CREDIT_DAY])
			expect = t;
	for (int i = 0; i < 3; i++)
		assert_int_equal(credit_deadline(c, k[i], NULL), expect);
	int64_t spent = 0;
	for (int i = 0; i < 3; i++)
		spent += credit_call_end(c, k[i], expect);
	assert_true(spent <= cc.system_cap[CREDIT_DAY]);
	assert_int_equal(spent, model_total(answer, rate, 3, expect));
	credit_free(c);
}

static void many_calls_on_many_extensions_share_the_system_cap(void **state)
{
	enum { N = 60 };
	int64_t rate[N], answer[N];
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_call *k[N];
	int64_t expect = 0;

	(void)state;
	cc.system_cap[CREDIT_DAY] = M(100);
	cc.ext_cap[CREDIT_DAY] = cc.ext_cap[CREDIT_MONTH] = 0;
	c = engine(&cc);
	for (int i = 0; i < N; i++) {
		char ext[8];

		snprintf(ext, sizeof(ext), "%d", 2000 + i % 17);
		rate[i] = 1000 + 7919 * i;
		answer[i] = NOV26_1000 + 3 * i;
		k[i] = start(c, answer[i], ext, i % 2 ? "sip1" : "sip2", rate[i], 0);
		credit_call_answer(c, k[i], answer[i]);
		assert_true(credit_next_wakeup(c, answer[i]) >= answer[i]);
	}
	for (int64_t t = answer[N - 1]; expect == 0; t++)
		if (model_total(answer, rate, N, t + 1) > cc.system_cap[CREDIT_DAY])
			expect = t;
	for (int i = 0; i < N; i++)
		assert_int_equal(credit_deadline(c, k[i], NULL), expect);
	assert_true(credit_next_wakeup(c, answer[N - 1]) <= expect);
	struct ended e = { .c = c, .now = expect, .end_it = true };
	credit_expired(c, expect, on_expired_many, &e);
	assert_int_equal(e.n, N);
	assert_int_equal(e.cost, model_total(answer, rate, N, expect));
	assert_true(e.cost <= cc.system_cap[CREDIT_DAY]);
	credit_free(c);
}

static void free_and_ringing_calls_have_no_deadline(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *free_call = start(c, NOV26_1000, "1001", NULL, 0, M(1));
	struct credit_call *ringing = start(c, NOV26_1000, "1001", NULL, M(5), 0);

	(void)state;
	credit_call_answer(c, free_call, NOV26_1000);
	assert_int_equal(credit_deadline(c, free_call, NULL), CREDIT_NEVER);
	assert_int_equal(credit_deadline(c, ringing, NULL), CREDIT_NEVER);
	assert_int_equal(credit_next_wakeup(c, NOV26_1000), CREDIT_NEVER);
	credit_call_end(c, free_call, NOV26_1000 + 5);
	credit_call_end(c, ringing, NOV26_1000 + 5);
	credit_free(c);
}

static void a_lowered_cap_ends_a_call_at_once(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *k = start(c, NOV26_1000, "1001", NULL, M(1), 0);

	(void)state;
	credit_call_answer(c, k, NOV26_1000);
	assert_int_equal(credit_deadline(c, k, NULL), NOV26_1000 + 1200);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", M(5), 0), 0);
	assert_int_equal(credit_deadline(c, k, NULL), NOV26_1000 + 300);
	/* At T+400 it is past that already: due now. */
	assert_true(credit_deadline(c, k, NULL) <= NOV26_1000 + 400);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", 0, 0), 0);
	assert_int_equal(credit_deadline(c, k, NULL), NOV26_1000 + 1200);
	credit_call_end(c, k, NOV26_1000 + 500);
	credit_free(c);
}

/* ---- ending calls at the deadline ---- */

struct alerts {
	int n;
	unsigned percent[8];
	struct credit_cap_ref cap[8];
};

static void on_threshold(const struct credit_cap_ref *cap, unsigned percent, void *arg)
{
	struct alerts *a = arg;

	assert_true(a->n < 8);
	a->cap[a->n] = *cap;
	a->percent[a->n++] = percent;
}

static void expired_calls_are_listed_once_and_the_cap_then_holds(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	int owner_a, owner_b, owner_c;
	struct rate_record rate = { .per_minute = M(1) };
	struct credit_call_info info = { "1001", "sip1", &rate, &owner_a };
	struct credit_call *a, *b, *other;
	struct ended e = { .c = NULL };
	struct alerts al = { 0 };

	(void)state;
	assert_int_equal(credit_call_start(c, NOV26_1000, &info, &a), 0);
	info.owner = &owner_b;
	assert_int_equal(credit_call_start(c, NOV26_1000, &info, &b), 0);
	info.ext = "1002";
	rate.per_minute = M(1) / 2;
	info.owner = &owner_c;
	assert_int_equal(credit_call_start(c, NOV26_1000, &info, &other), 0);
	credit_call_answer(c, a, NOV26_1000);
	credit_call_answer(c, b, NOV26_1000);
	credit_call_answer(c, other, NOV26_1000);
	/* 1001 drains 2.00 a minute against 20.00: ten minutes. */
	assert_int_equal(credit_next_wakeup(c, NOV26_1000), NOV26_1000 + 300); /* 50% */
	credit_thresholds(c, NOV26_1000 + 300, on_threshold, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.percent[0], 50);
	assert_int_equal(al.cap[0].spent, M(10));
	assert_int_equal(credit_next_wakeup(c, NOV26_1000 + 300), NOV26_1000 + 480); /* 80% */
	credit_thresholds(c, NOV26_1000 + 480, on_threshold, &al);
	assert_int_equal(credit_next_wakeup(c, NOV26_1000 + 480), NOV26_1000 + 600);

	credit_expired(c, NOV26_1000 + 599, on_expired, &e);
	assert_int_equal(e.n, 0);
	e.c = c;
	e.now = NOV26_1000 + 600;
	credit_expired(c, e.now, on_expired, &e);
	assert_int_equal(e.n, 2);
	assert_true((e.owners[0] == &owner_a && e.owners[1] == &owner_b) ||
		    (e.owners[0] == &owner_b && e.owners[1] == &owner_a));
	assert_int_equal(e.cap.scope, CREDIT_EXT);
	assert_string_equal(e.cap.name, "1001");
	/* Listed once, even while its BYE is still on the way. */
	credit_expired(c, e.now + 1, on_expired, &e);
	assert_int_equal(e.n, 2);

	credit_thresholds(c, e.now, on_threshold, &al);
	assert_int_equal(al.n, 3);
	assert_int_equal(al.percent[2], 100);
	/* Next: the system's 50% at 2.50 a minute, not the listed calls again. */
	assert_int_equal(credit_next_wakeup(c, e.now), NOV26_1000 + 1200);
	assert_false(credit_admit(c, e.now + 5, "1001", NULL, 0, NULL));
	assert_true(credit_admit(c, e.now + 5, "1002", NULL, 0, NULL));

	assert_int_equal(credit_call_end(c, a, e.now), M(10));
	assert_int_equal(credit_call_end(c, b, e.now), M(10));
	credit_call_end(c, other, e.now);
	credit_free(c);
}

static void the_callback_may_end_the_call_it_is_given(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct ended e = { .c = c, .end_it = true };
	struct credit_call *k[3];

	(void)state;
	/* Three calls at 1.00 a minute: 20.00 would take 400 s, but each is
	 * rounded up on its own, so at 400 s they would cost 20.000001. */
	for (int i = 0; i < 3; i++) {
		k[i] = start(c, NOV26_1000, "1001", NULL, M(1), 0);
		credit_call_answer(c, k[i], NOV26_1000);
	}
	e.now = credit_deadline(c, k[0], NULL);
	assert_int_equal(e.now, NOV26_1000 + 399);
	credit_expired(c, e.now, on_expired, &e);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.cost, 3 * 6650000);
	assert_int_equal(credit_next_wakeup(c, e.now), CREDIT_NEVER);
	credit_free(c);
}

static void a_reload_keeps_a_reached_cap_and_a_raise_lifts_it(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct ended e = { .c = c, .now = NOV26_1000 + 1201, .end_it = true };
	struct credit_call *k = start(c, NOV26_1000, "1001", NULL, M(1), 0);
	struct alerts al = { 0 };

	(void)state;
	credit_call_answer(c, k, NOV26_1000 + 1);
	credit_expired(c, e.now, on_expired, &e);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.cost, M(20));
	credit_thresholds(c, e.now, on_threshold, &al);
	assert_int_equal(al.n, 3);
	assert_false(credit_admit(c, e.now, "1001", NULL, 0, NULL));
	assert_int_equal(credit_set_conf(c, &cc), 0);
	assert_false(credit_admit(c, e.now, "1001", NULL, 0, NULL));
	credit_thresholds(c, e.now, on_threshold, &al);
	assert_int_equal(al.n, 3);

	cc.ext_cap[CREDIT_DAY] = M(40);
	assert_int_equal(credit_set_conf(c, &cc), 0);
	assert_true(credit_admit(c, e.now, "1001", NULL, 0, NULL));
	/* 20 of 40: 50% stays reported, 80% and 100% are armed again. */
	credit_thresholds(c, e.now, on_threshold, &al);
	assert_int_equal(al.n, 3);
	assert_int_equal(call(c, e.now, e.now + 720, "1001", NULL, M(1), 0), M(12));
	credit_thresholds(c, e.now + 720, on_threshold, &al);
	assert_int_equal(al.n, 4);
	assert_int_equal(al.percent[3], 80);
	assert_int_equal(al.cap[3].cap, M(40));
	credit_free(c);
}

/* ---- periods ---- */

static void a_call_across_midnight_counts_for_the_day_it_started(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *k;
	struct credit_cap_ref why;

	(void)state;
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_1000, M(19), NOV26_2350), 0);
	k = start(c, NOV26_2350, "1001", NULL, M(1) / 10, 0);
	credit_call_answer(c, k, NOV26_2350);
	/* 1.00 left of the 26th's cap at 0.10 a minute: 10 minutes, to 00:00. */
	assert_int_equal(credit_deadline(c, k, NULL), NOV27_0000);
	/* After midnight the 27th has room, but this call still drains the
	 * 26th; a new call starts against the 27th. */
	assert_true(credit_admit(c, NOV27_0000 - 1, "1001", NULL, 0, &why));
	assert_true(credit_admit(c, NOV27_0000 + 60, "1001", NULL, 0, &why));
	/* Housekeeping after midnight keeps the 26th while a call charges it
	 * (its 50% and 80% were reached before the restore: only 100% is new). */
	struct alerts al = { 0 };
	credit_thresholds(c, NOV27_0000 + 60, on_threshold, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.percent[0], 100);
	assert_int_equal(al.cap[0].since, NOV26_0000);
	assert_int_equal(credit_deadline(c, k, NULL), NOV27_0000);
	assert_int_equal(credit_call_end(c, k, NOV27_0000), M(1));
	/* Its whole cost is the 26th's: the 27th has spent nothing. */
	assert_true(credit_admit(c, NOV27_0000 + 60, "1001", NULL, M(19), &why));
	assert_false(credit_admit(c, NOV27_0000 + 60, "1001", NULL, M(20), &why));
	assert_int_equal(why.spent, 0);
	assert_int_equal(why.since, NOV27_0000);
	assert_false(credit_admit(c, NOV27_0000 - 1, "1001", NULL, 0, &why));
	assert_int_equal(why.spent, M(20));
	credit_free(c);
}

static void a_call_across_midnight_shows_in_the_usage_of_its_day(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", 0, 0), 0);
	assert_int_equal(call(c, NOV26_2350, NOV27_0000 + 1200, "1001", NULL, M(1) / 10, 0), M(3));
	assert_int_equal(credit_usage(c, NOV27_0000 + 1800, on_usage, &r), 0);
	/* The 27th: 1001 exists and has a default cap, so it is listed, with
	 * nothing spent. */
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.spent, 0);
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.since, NOV27_0000);
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_MONTH)->ref.spent, M(3));
	assert_int_equal(find_usage(&r, CREDIT_SYSTEM, "", CREDIT_MONTH)->ref.spent, M(3));
	r.n = 0;
	assert_int_equal(credit_usage(c, NOV27_0000 - 1, on_usage, &r), 0);
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.spent, M(3));
	credit_free(c);
}

static void a_new_month_starts_from_nothing(void **state)
{
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_cap_ref why;
	struct alerts al = { 0 };

	(void)state;
	cc.ext_cap[CREDIT_DAY] = 0;
	cc.system_cap[CREDIT_DAY] = cc.system_cap[CREDIT_MONTH] = 0;
	c = engine(&cc);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", 0, 0), 0);
	/* A call from 23:00 on 30 November to 02:20 on 1 December costs 200,
	 * all of it November's: 1001's November is over ... */
	assert_int_equal(call(c, NOV30_2300, NOV30_2300 + 2000 * 6, "1001", NULL, M(1), 0), M(200));
	assert_false(credit_admit(c, DEC01_0000 - 1, "1001", NULL, 0, &why));
	assert_int_equal(why.period, CREDIT_MONTH);
	assert_int_equal(why.since, NOV01_0000);
	credit_thresholds(c, NOV30_2300 + 2000 * 6, on_threshold, &al);
	assert_int_equal(al.n, 3);
	assert_int_equal(al.cap[0].period, CREDIT_MONTH);
	assert_int_equal(al.cap[0].since, NOV01_0000);
	/* ... and December starts with nothing spent. */
	assert_true(credit_admit(c, DEC01_0000 + 2000 * 6, "1001", NULL, 0, &why));
	struct rows r = { 0 };
	assert_int_equal(credit_usage(c, DEC01_0000 + 2000 * 6, on_usage, &r), 0);
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_MONTH)->ref.spent, 0);
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_MONTH)->ref.since, DEC01_0000);
	/* December's thresholds are reported afresh. */
	assert_int_equal(call(c, DEC01_0000 + 20000, DEC01_0000 + 20000 + 6000, "1001", NULL, M(1), 0),
			 M(100));
	credit_thresholds(c, DEC01_0000 + 30000, on_threshold, &al);
	assert_int_equal(al.n, 4);
	assert_int_equal(al.percent[3], 50);
	assert_int_equal(al.cap[3].since, DEC01_0000);
	credit_free(c);
}

static void days_are_calendar_days_across_clock_changes(void **state)
{
	(void)state;
	/* 23 hours on the last Sunday of March, 25 on the last of October. */
	assert_int_equal(credit_period_start(MAR29_0000 + 12 * 3600, CREDIT_DAY), MAR29_0000);
	assert_int_equal(credit_period_start(MAR30_0000 - 1, CREDIT_DAY), MAR29_0000);
	assert_int_equal(MAR30_0000 - MAR29_0000, 23 * 3600);
	assert_int_equal(credit_period_start(MAR30_0000, CREDIT_DAY), MAR30_0000);
	assert_int_equal(credit_period_start(OCT26_0000 - 1, CREDIT_DAY), OCT25_0000);
	assert_int_equal(OCT26_0000 - OCT25_0000, 25 * 3600);
	assert_int_equal(credit_period_start(OCT25_0000 + 24 * 3600, CREDIT_DAY), OCT25_0000);
	assert_int_equal(credit_period_start(OCT26_0000 + 5, CREDIT_DAY), OCT26_0000);
	assert_int_equal(credit_period_start(NOV26_1000, CREDIT_MONTH), NOV01_0000);
	assert_int_equal(credit_period_start(DEC01_0000, CREDIT_MONTH), DEC01_0000);
	assert_int_equal(credit_period_start(DEC01_0000 - 1, CREDIT_MONTH), NOV01_0000);

	/* Spend at 00:30 BST on the 30th (23:30 UTC on the 29th) is the 30th's. */
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_cap_ref why;
	assert_int_equal(credit_restore_spend(c, "1001", NULL, MAR30_0000 + 1800, M(20),
					      MAR30_0000 + 3600), 0);
	assert_true(credit_admit(c, MAR30_0000 - 1, "1001", NULL, 0, &why));
	assert_false(credit_admit(c, MAR30_0000, "1001", NULL, 0, &why));
	assert_int_equal(why.since, MAR30_0000);
	credit_free(c);
}

static void a_midnight_that_does_not_exist_starts_the_day_after_the_gap(void **state)
{
	(void)state;
	/* UTC-3, and UTC-2 from 00:00 on the second Sunday of March (8 March
	 * 2026), when clocks jump to 01:00: the day starts at 01:00 local,
	 * 03:00 UTC. */
	set_tz("XST3XDT,M3.2.0/0,M11.1.0/1");
	int64_t mar8_0300z = INT64_C(1772938800);
	assert_int_equal(credit_period_start(mar8_0300z + 3600, CREDIT_DAY), mar8_0300z);
	assert_int_equal(credit_period_start(mar8_0300z, CREDIT_DAY), mar8_0300z);
	assert_int_equal(credit_period_start(mar8_0300z - 1, CREDIT_DAY), mar8_0300z - 86400);
	set_tz("Europe/London");
}

/* ---- thresholds ---- */

static void thresholds_are_reported_once_each_in_order(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct alerts al = { 0 };
	int64_t t = NOV26_1000;

	(void)state;
	assert_int_equal(call(c, t, t + 540, "1001", NULL, M(1), 0), M(9));
	credit_thresholds(c, t + 600, on_threshold, &al);
	assert_int_equal(al.n, 0);
	assert_int_equal(call(c, t, t + 60, "1001", NULL, M(1), 0), M(1));
	credit_thresholds(c, t + 600, on_threshold, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.percent[0], 50);
	assert_int_equal(al.cap[0].scope, CREDIT_EXT);
	assert_int_equal(al.cap[0].period, CREDIT_DAY);
	assert_int_equal(al.cap[0].spent, M(10));
	credit_thresholds(c, t + 700, on_threshold, &al);
	assert_int_equal(al.n, 1);
	/* One call jumps from 50% past 80% and to 100%: both, in order. */
	assert_int_equal(call(c, t, t + 600, "1001", NULL, M(1), 0), M(10));
	credit_thresholds(c, t + 800, on_threshold, &al);
	assert_int_equal(al.n, 3);
	assert_int_equal(al.percent[1], 80);
	assert_int_equal(al.percent[2], 100);
	assert_int_equal(al.cap[2].spent, M(20));
	/* The 27th starts fresh. */
	assert_int_equal(call(c, NOV27_0000, NOV27_0000 + 600, "1001", NULL, M(1), 0), M(10));
	credit_thresholds(c, NOV27_0000 + 600, on_threshold, &al);
	assert_int_equal(al.n, 4);
	assert_int_equal(al.percent[3], 50);
	assert_int_equal(al.cap[3].since, NOV27_0000);
	credit_free(c);
}

static void restored_spend_does_not_alert_again(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct alerts al = { 0 };

	(void)state;
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000 + 5, M(17), NOV26_1000), 0);
	credit_thresholds(c, NOV26_1000, on_threshold, &al);
	assert_int_equal(al.n, 0);
	assert_int_equal(call(c, NOV26_1000, NOV26_1000 + 180, "1001", NULL, M(1), 0), M(3));
	credit_thresholds(c, NOV26_1000 + 200, on_threshold, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.percent[0], 100);
	credit_free(c);
}

static void restore_keeps_only_the_current_periods(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct rows r = { 0 };

	(void)state;
	/* Today, earlier this month, last month. */
	assert_int_equal(credit_restore_spend(c, "1001", "sip1", NOV26_0000, M(2), NOV26_1000), 0);
	assert_int_equal(credit_restore_spend(c, "1001", "sip1", NOV01_0000, M(3), NOV26_1000), 0);
	assert_int_equal(credit_restore_spend(c, "1001", "sip1", NOV01_0000 - 1, M(5), NOV26_1000), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.spent, M(2));
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_MONTH)->ref.spent, M(5));
	assert_int_equal(find_usage(&r, CREDIT_TRUNK, "sip1", CREDIT_DAY)->ref.spent, M(2));
	assert_int_equal(find_usage(&r, CREDIT_TRUNK, "sip1", CREDIT_MONTH)->ref.spent, M(5));
	assert_int_equal(find_usage(&r, CREDIT_SYSTEM, "", CREDIT_MONTH)->ref.spent, M(5));
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000, -1, NOV26_1000), EINVAL);
	credit_free(c);
}

/* ---- caps of 0 and defaults ---- */

static void zero_means_the_default_and_a_zero_default_means_no_cap(void **state)
{
	struct credit_conf cc = office();
	struct credit *c;
	struct credit_call *k;

	(void)state;
	cc.system_cap[CREDIT_DAY] = cc.system_cap[CREDIT_MONTH] = 0;
	c = engine(&cc);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", 0, 0), 0);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1002", M(5), 0), 0);
	assert_int_equal(credit_restore_spend(c, "1001", "sip1", NOV26_0000, M(19), NOV26_1000), 0);
	assert_int_equal(credit_restore_spend(c, "1002", "sip1", NOV26_0000, M(5), NOV26_1000), 0);
	assert_true(credit_admit(c, NOV26_1000, "1001", "sip1", 0, NULL)); /* default 20 */
	assert_false(credit_admit(c, NOV26_1000, "1002", "sip1", 0, NULL)); /* its own 5 */
	/* No trunk default and no system cap: a call with neither extension
	 * nor a cap of its own is never held. */
	assert_true(credit_admit(c, NOV26_1000, "", "sip1", M(1000), NULL));
	k = start(c, NOV26_1000, "", "sip1", M(100), 0);
	credit_call_answer(c, k, NOV26_1000);
	assert_int_equal(credit_deadline(c, k, NULL), CREDIT_NEVER);
	credit_call_end(c, k, NOV26_1000 + 60);
	/* Defaults of 0 for extensions: 1001 has no cap any more, 1002 keeps its own. */
	cc.ext_cap[CREDIT_DAY] = cc.ext_cap[CREDIT_MONTH] = 0;
	assert_int_equal(credit_set_conf(c, &cc), 0);
	assert_true(credit_admit(c, NOV26_1000, "1001", "sip1", M(1000), NULL));
	assert_false(credit_admit(c, NOV26_1000, "1002", "sip1", 0, NULL));
	/* A trunk cap of its own. */
	assert_int_equal(credit_set_caps(c, CREDIT_TRUNK, "sip1", 0, M(100)), 0);
	assert_false(credit_admit(c, NOV26_1000, "1001", "sip1", 0, NULL));
	credit_free(c);
}

static void bad_caps_and_thresholds_are_refused(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = NULL;
	static const unsigned bad[][3] = { { 80, 50, 100 }, { 50, 50, 100 }, { 0, 50, 100 },
					   { 50, 80, 101 } };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(cc.thresholds, bad[i], sizeof(cc.thresholds));
		assert_int_equal(credit_alloc(&c, &cc), EINVAL);
		assert_null(c);
	}
	cc = office();
	cc.nthresholds = 4;
	assert_int_equal(credit_alloc(&c, &cc), EINVAL);
	cc = office();
	cc.trunk_cap[CREDIT_DAY] = -1;
	assert_int_equal(credit_alloc(&c, &cc), EINVAL);
	cc = office();
	c = engine(&cc);
	cc.system_cap[CREDIT_MONTH] = INT64_MAX;
	assert_int_equal(credit_set_conf(c, &cc), EINVAL);
	assert_int_equal(credit_set_caps(c, CREDIT_SYSTEM, "x", 1, 1), EINVAL);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "", 1, 1), EINVAL);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "123456789012345678901234567890123", 1, 1),
			 EINVAL);
	assert_int_equal(credit_set_caps(c, CREDIT_TRUNK, "sip1", -5, 1), EINVAL);
	struct rate_record rate = { .per_minute = -1 };
	struct credit_call_info info = { "1001", NULL, &rate, NULL };
	struct credit_call *k = NULL;
	assert_int_equal(credit_call_start(c, NOV26_1000, &info, &k), EINVAL);
	info.rate = NULL;
	assert_int_equal(credit_call_start(c, NOV26_1000, &info, &k), EINVAL);
	rate.per_minute = 1;
	info.rate = &rate;
	info.trunk = "123456789012345678901234567890123";
	assert_int_equal(credit_call_start(c, NOV26_1000, &info, &k), EINVAL);
	assert_null(k);
	/* No thresholds at all is allowed: nothing is ever reported. */
	cc = office();
	cc.nthresholds = 0;
	assert_int_equal(credit_set_conf(c, &cc), 0);
	credit_free(c);
}

/* ---- saturation ---- */

static void sums_saturate_instead_of_wrapping(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct credit_call *k;
	struct rows r = { 0 };

	(void)state;
	k = start(c, NOV26_1000 - 86400 * 200, "1001", NULL, INT64_MAX, INT64_MAX);
	credit_call_answer(c, k, NOV26_1000 - 86400 * 200);
	assert_int_equal(credit_call_cost(k, NOV26_1000), INT64_MAX);
	assert_int_equal(credit_call_end(c, k, NOV26_1000), INT64_MAX);
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000, INT64_MAX, NOV26_1000), 0);
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000, INT64_MAX, NOV26_1000), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	const struct credit_usage *u = find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY);
	assert_int_equal(u->ref.spent, INT64_MAX);
	assert_true(u->reached);
	assert_true(u->percent >= 100);
	assert_false(credit_admit(c, NOV26_1000, "2002", NULL, INT64_MAX, NULL));
	credit_free(c);
}

/* ---- usage ---- */

static void usage_lists_system_then_extensions_then_trunks_by_name(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct rows r = { 0 };
	struct credit_call *live;

	(void)state;
	cc.ext_cap[CREDIT_MONTH] = 0;
	assert_int_equal(credit_set_conf(c, &cc), 0);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1003", M(10), 0), 0);
	assert_int_equal(credit_restore_spend(c, "1002", "zeta", NOV26_0000, M(5), NOV26_1000), 0);
	assert_int_equal(credit_restore_spend(c, "1001", "alpha", NOV26_0000, M(1), NOV26_1000), 0);
	live = start(c, NOV26_1000, "1001", "alpha", M(1), 0);
	credit_call_answer(c, live, NOV26_1000);
	assert_int_equal(credit_usage(c, NOV26_1000 + 120, on_usage, &r), 0);
	static const struct {
		enum credit_scope s;
		const char *name;
		enum credit_period p;
		int64_t spent, cap;
		unsigned percent;
	} want[] = {
		{ CREDIT_SYSTEM, "", CREDIT_DAY, M(8), M(100), 8 },
		{ CREDIT_SYSTEM, "", CREDIT_MONTH, M(8), M(1000), 0 },
		{ CREDIT_EXT, "1001", CREDIT_DAY, M(3), M(20), 15 },
		{ CREDIT_EXT, "1001", CREDIT_MONTH, M(3), 0, 0 },
		{ CREDIT_EXT, "1002", CREDIT_DAY, M(5), M(20), 25 },
		{ CREDIT_EXT, "1002", CREDIT_MONTH, M(5), 0, 0 },
		{ CREDIT_EXT, "1003", CREDIT_DAY, 0, M(10), 0 },
		{ CREDIT_TRUNK, "alpha", CREDIT_DAY, M(3), 0, 0 },
		{ CREDIT_TRUNK, "alpha", CREDIT_MONTH, M(3), 0, 0 },
		{ CREDIT_TRUNK, "zeta", CREDIT_DAY, M(5), 0, 0 },
		{ CREDIT_TRUNK, "zeta", CREDIT_MONTH, M(5), 0, 0 },
	};
	assert_int_equal(r.n, sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < r.n; i++) {
		assert_int_equal(r.u[i].ref.scope, want[i].s);
		assert_string_equal(r.u[i].ref.name, want[i].name);
		assert_int_equal(r.u[i].ref.period, want[i].p);
		assert_int_equal(r.u[i].ref.spent, want[i].spent);
		assert_int_equal(r.u[i].ref.cap, want[i].cap);
		assert_int_equal(r.u[i].percent, want[i].percent);
		assert_false(r.u[i].reached);
	}
	credit_call_end(c, live, NOV26_1000 + 120);
	credit_free(c);
}

static void deleted_scopes_lose_their_caps_on_reload(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	struct rows r = { 0 };

	(void)state;
	cc.ext_cap[CREDIT_MONTH] = 0;
	assert_int_equal(credit_set_conf(c, &cc), 0);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", M(5), 0), 0);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1002", M(50), 0), 0);
	assert_int_equal(credit_set_caps(c, CREDIT_TRUNK, "sip1", M(70), 0), 0);
	assert_int_equal(credit_restore_spend(c, "1002", NULL, NOV26_0000, M(30), NOV26_1000), 0);
	assert_true(credit_admit(c, NOV26_1000, "1002", NULL, 0, NULL));
	/* 1002 and the trunk were deleted: only 1001 is named again. */
	credit_caps_begin(c);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", M(5), 0), 0);
	credit_caps_end(c);
	assert_false(credit_admit(c, NOV26_1000, "1002", NULL, 0, NULL)); /* default 20 */
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(r.n, 2 + 1 + 2); /* the system; 1001 its capped day; 1002 what it spent */
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1001", CREDIT_DAY)->ref.cap, M(5));
	assert_int_equal(find_usage(&r, CREDIT_EXT, "1002", CREDIT_DAY)->ref.cap, M(20));
	assert_null(find_usage(&r, CREDIT_TRUNK, "sip1", CREDIT_DAY));
	credit_free(c);
}

static void scopes_without_caps_or_spend_are_not_listed(void **state)
{
	struct credit_conf cc = office();
	struct credit *c;
	struct rows r = { 0 };

	(void)state;
	cc.ext_cap[CREDIT_DAY] = cc.ext_cap[CREDIT_MONTH] = 0;
	c = engine(&cc);
	assert_int_equal(credit_set_caps(c, CREDIT_EXT, "1001", 0, 0), 0);
	assert_int_equal(call(c, NOV26_1000, NOV26_1000 + 60, "1002", "sip2", 0, 0), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.u[0].ref.scope, CREDIT_SYSTEM);
	assert_int_equal(r.u[1].ref.scope, CREDIT_SYSTEM);
	/* A trunk the store has is listed, cap or not. */
	assert_int_equal(credit_set_caps(c, CREDIT_TRUNK, "sip9", 0, 0), 0);
	r.n = 0;
	assert_int_equal(credit_usage(c, NOV26_1000, on_usage, &r), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(find_usage(&r, CREDIT_TRUNK, "sip9", CREDIT_DAY)->ref.cap, 0);
	assert_int_equal(find_usage(&r, CREDIT_TRUNK, "sip9", CREDIT_MONTH)->ref.spent, 0);
	assert_null(find_usage(&r, CREDIT_TRUNK, "sip2", CREDIT_DAY));
	credit_free(c);
}

static int stop_at_second(const struct credit_usage *u, void *arg)
{
	int *n = arg;

	(void)u;
	return ++*n == 2 ? 7 : 0;
}

static void usage_stops_when_the_callback_says_so(void **state)
{
	struct credit_conf cc = office();
	struct credit *c = engine(&cc);
	int n = 0;

	(void)state;
	assert_int_equal(credit_restore_spend(c, "1001", NULL, NOV26_0000, M(1), NOV26_1000), 0);
	assert_int_equal(credit_usage(c, NOV26_1000, stop_at_second, &n), 7);
	assert_int_equal(n, 2);
	credit_free(c);
}

static void names_of_scopes_and_periods(void **state)
{
	(void)state;
	assert_string_equal(credit_scope_name(CREDIT_SYSTEM), "system");
	assert_string_equal(credit_scope_name(CREDIT_EXT), "ext");
	assert_string_equal(credit_scope_name(CREDIT_TRUNK), "trunk");
	assert_string_equal(credit_period_name(CREDIT_DAY), "day");
	assert_string_equal(credit_period_name(CREDIT_MONTH), "month");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, setup_london)
	const struct CMUnitTest tests[] = {
		T(cost_is_rounded_up_per_second_and_unanswered_is_free),
		T(cost_runs_from_the_answer),
		T(admit_refuses_at_the_cap_counting_the_connection_charge),
		T(admit_names_extension_then_trunk_then_system),
		T(ringing_calls_hold_their_connection_charge),
		T(live_calls_count_while_they_run),
		T(one_call_ends_on_the_second_its_cap_is_reached),
		T(two_calls_draining_one_cap_end_together),
		T(deadline_with_uneven_rates_matches_a_second_by_second_model),
		T(many_calls_on_many_extensions_share_the_system_cap),
		T(free_and_ringing_calls_have_no_deadline),
		T(a_lowered_cap_ends_a_call_at_once),
		T(expired_calls_are_listed_once_and_the_cap_then_holds),
		T(the_callback_may_end_the_call_it_is_given),
		T(a_reload_keeps_a_reached_cap_and_a_raise_lifts_it),
		T(a_call_across_midnight_counts_for_the_day_it_started),
		T(a_call_across_midnight_shows_in_the_usage_of_its_day),
		T(a_new_month_starts_from_nothing),
		T(days_are_calendar_days_across_clock_changes),
		T(a_midnight_that_does_not_exist_starts_the_day_after_the_gap),
		T(thresholds_are_reported_once_each_in_order),
		T(restored_spend_does_not_alert_again),
		T(restore_keeps_only_the_current_periods),
		T(zero_means_the_default_and_a_zero_default_means_no_cap),
		T(bad_caps_and_thresholds_are_refused),
		T(sums_saturate_instead_of_wrapping),
		T(usage_lists_system_then_extensions_then_trunks_by_name),
		T(usage_stops_when_the_callback_says_so),
		T(deleted_scopes_lose_their_caps_on_reload),
		T(scopes_without_caps_or_spend_are_not_listed),
		T(names_of_scopes_and_periods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
