/* Calling-pattern analysis on an injected clock (TZ=UTC): every static
 * threshold at its warning and critical level, the repeat rules, the
 * baseline's rules, its minimum history, its adaptation over weeks, what
 * it learns, and the memory bound. Default levels come from the config
 * table, so these tests also hold the documented defaults to their word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "fraud/pattern.h"

#define MIN 60
#define HOUR 3600
#define DAY 86400
#define WEEK (7 * DAY)
/* Monday 2024-01-01 00:00 UTC: day d of a test is a Monday when d % 7 == 0. */
#define T0 1704067200

#define MAX_SEEN 512

struct fx {
	struct pattern *p;
	struct pattern_config cfg;
	struct pattern_anomaly seen[MAX_SEEN];
	unsigned nseen;
	unsigned serial;        /* makes each national() number different */
};

static void collect(void *arg, const struct pattern_anomaly *a)
{
	struct fx *f = arg;

	assert_true(f->nseen < MAX_SEEN);
	f->seen[f->nseen++] = *a;
}

static void defaults(struct pattern_config *pc)
{
	struct rf_conf c;

	conf_defaults(&c, "/tmp");
	pattern_config_from_conf(pc, &c);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	setenv("TZ", "UTC", 1);
	tzset();
	defaults(&f->cfg);
	assert_int_equal(pattern_alloc(&f->p, &f->cfg), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pattern_free(f->p);
	free(f);
	return 0;
}

/* Start over with another configuration. */
static void reconfigure(struct fx *f)
{
	pattern_free(f->p);
	assert_int_equal(pattern_alloc(&f->p, &f->cfg), 0);
	f->nseen = 0;
}

static struct num_info number(const char *e164, unsigned cc, enum num_class cls,
			      const char *country)
{
	struct num_info n;

	memset(&n, 0, sizeof(n));
	snprintf(n.e164, sizeof(n.e164), "%s", e164);
	n.cc = cc;
	n.cls = cls;
	snprintf(n.country, sizeof(n.country), "%s", country);
	return n;
}

/* A UK geographic number whose first six digits after +44 differ from
 * every other one's, so that no same-prefix run forms by accident. */
static struct num_info national(struct fx *f)
{
	char e164[NUM_E164_MAX + 1];

	snprintf(e164, sizeof(e164), "+442%05u0000", f->serial++ % 100000);
	return number(e164, 44, NUM_GEOGRAPHIC, "GB");
}

static struct num_info israel(void)
{
	return number("+972501234567", 972, NUM_INTERNATIONAL, "IL");
}

static enum pattern_level start(struct fx *f, const char *ext, const char *trunk,
				struct num_info n, int64_t t, uint64_t *call)
{
	return pattern_call_start(f->p, ext, trunk, &n, t, collect, f, call);
}

/* A whole call: started at t, answered at once, `talk` seconds long. */
static enum pattern_level call(struct fx *f, const char *ext, struct num_info n, int64_t t,
			       int64_t talk)
{
	uint64_t h;
	enum pattern_level l = start(f, ext, "", n, t, &h);

	pattern_call_answered(f->p, h, t);
	pattern_call_end(f->p, h, t + talk);
	return l;
}

static unsigned count(const struct fx *f, enum pattern_kind kind, enum pattern_level level)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->nseen; i++)
		n += f->seen[i].kind == kind && f->seen[i].level == level;
	return n;
}

static const struct pattern_anomaly *last(const struct fx *f)
{
	assert_true(f->nseen > 0);
	return &f->seen[f->nseen - 1];
}

/* The latest anomaly is exactly this one. */
static void expect_last(const struct fx *f, enum pattern_level level, enum pattern_kind kind,
			enum pattern_scope scope, const char *subject, const char *reason)
{
	const struct pattern_anomaly *a = last(f);

	assert_int_equal(a->level, level);
	assert_int_equal(a->kind, kind);
	assert_int_equal(a->scope, scope);
	assert_string_equal(a->subject, subject);
	assert_string_equal(a->reason, reason);
}

/* A CDR of a call `ext` started at t, answered after five seconds when it
 * has talk time. */
static struct cdr_record cdr(const char *ext, const char *direction, const char *cls,
			     int64_t t, unsigned talk)
{
	struct cdr_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.caller, sizeof(r.caller), "%s", ext);
	snprintf(r.direction, sizeof(r.direction), "%s", direction);
	snprintf(r.dest_class, sizeof(r.dest_class), "%s", cls);
	r.start_ms = t * 1000;
	r.answer_ms = talk ? r.start_ms + 5000 : 0;
	r.end_ms = r.start_ms + 5000 + talk * 1000ll;
	r.duration_s = talk;
	r.result = talk ? 200 : 480;
	return r;
}

static void learn_cdr(struct fx *f, const char *ext, const char *cls, int64_t t, unsigned talk)
{
	struct cdr_record r = cdr(ext, "outbound", cls, t, talk);

	assert_int_equal(pattern_learn_cdr(&r, f->p), 0);
}

/* Weekday office hours from `from_day` for `days` days: `per_hour` national
 * calls of three minutes in each hour from 09:00 to 16:59. */
static void office_history(struct fx *f, const char *ext, int from_day, int days, int per_hour)
{
	for (int d = from_day; d < from_day + days; d++) {
		if (d % 7 >= 5)
			continue;
		for (int h = 9; h < 17; h++)
			for (int k = 0; k < per_hour; k++)
				learn_cdr(f, ext, "geographic",
					  T0 + (int64_t)d * DAY + h * HOUR + k * (HOUR / per_hour), 180);
	}
}

/* ---- static thresholds ---- */

static void calls_per_minute_warns_then_goes_critical(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 10 * HOUR;

	for (int i = 1; i <= 9; i++)
		assert_int_equal(call(f, "1001", national(f), t + i, 10), PATTERN_NONE);
	assert_int_equal(f->nseen, 0);
	assert_int_equal(call(f, "1001", national(f), t + 10, 10), PATTERN_WARNING);
	expect_last(f, PATTERN_WARNING, PATTERN_CALLS_PER_MINUTE, PATTERN_EXT, "1001",
		    "10 calls in the last minute; warning at 10");
	/* The warning is not repeated for calls 11..19. */
	for (int i = 11; i <= 19; i++)
		assert_int_equal(call(f, "1001", national(f), t + i, 10), PATTERN_NONE);
	assert_int_equal(call(f, "1001", national(f), t + 20, 10), PATTERN_CRITICAL);
	expect_last(f, PATTERN_CRITICAL, PATTERN_CALLS_PER_MINUTE, PATTERN_EXT, "1001",
		    "20 calls in the last minute; critical at 20");
	assert_int_equal(count(f, PATTERN_CALLS_PER_MINUTE, PATTERN_WARNING), 1);
	assert_int_equal(count(f, PATTERN_CALLS_PER_MINUTE, PATTERN_CRITICAL), 1);
	/* A minute after the burst the window is empty again. */
	assert_int_equal(call(f, "1001", national(f), t + 20 + 60, 10), PATTERN_NONE);
	/* Another extension has counts of its own. */
	assert_int_equal(call(f, "1002", national(f), t + 80, 10), PATTERN_NONE);
}

/* The fraud simulation: stolen credentials of 1001 (a new install,
 * no history at all), a burst of 30 national calls in a minute at 03:00 on
 * a Sunday. The default levels make it critical. */
static void burst_of_30_at_3am_is_critical_by_default(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 6 * DAY + 3 * HOUR;
	int first_critical = 0;
	uint64_t h;

	for (int i = 1; i <= 30; i++) {
		enum pattern_level l = start(f, "1001", "provider", national(f), t + 2 * i, &h);

		pattern_call_end(f->p, h, t + 2 * i + 1);
		if (l == PATTERN_CRITICAL && !first_critical)
			first_critical = i;
	}
	assert_int_equal(first_critical, 20);
	assert_true(count(f, PATTERN_CALLS_PER_MINUTE, PATTERN_CRITICAL) >= 1);
	for (unsigned i = 0; i < f->nseen; i++) {
		if (f->seen[i].level != PATTERN_CRITICAL)
			continue;
		assert_int_equal(f->seen[i].scope, PATTERN_EXT);
		assert_string_equal(f->seen[i].subject, "1001");
		assert_string_equal(f->seen[i].trunk, "provider");
	}
	/* No history: the baseline says nothing. */
	assert_false(pattern_ext_judged(f->p, "1001", t));
	assert_int_equal(count(f, PATTERN_ODD_HOUR, PATTERN_WARNING), 0);
}

static void a_level_of_zero_is_off(void **state)
{
	struct fx *f = *state;

	f->cfg.ext.per_minute.crit = 0;
	reconfigure(f);
	for (int i = 1; i <= 40; i++)
		assert_int_not_equal(call(f, "1001", national(f), T0 + i, 1), PATTERN_CRITICAL);
	assert_int_equal(count(f, PATTERN_CALLS_PER_MINUTE, PATTERN_WARNING), 1);
}

static void concurrent_calls(void **state)
{
	struct fx *f = *state;
	uint64_t h[6];

	/* Ten seconds apart: never ten calls in a minute. */
	assert_int_equal(start(f, "1001", "", national(f), T0 + 10, &h[0]), PATTERN_NONE);
	assert_int_equal(start(f, "1001", "", national(f), T0 + 20, &h[1]), PATTERN_NONE);
	assert_int_equal(start(f, "1001", "", national(f), T0 + 30, &h[2]), PATTERN_WARNING);
	expect_last(f, PATTERN_WARNING, PATTERN_CONCURRENT, PATTERN_EXT, "1001",
		    "3 calls at once; warning at 3");
	assert_int_equal(start(f, "1001", "", national(f), T0 + 40, &h[3]), PATTERN_NONE);
	assert_int_equal(start(f, "1001", "", national(f), T0 + 50, &h[4]), PATTERN_CRITICAL);
	expect_last(f, PATTERN_CRITICAL, PATTERN_CONCURRENT, PATTERN_EXT, "1001",
		    "5 calls at once; critical at 5");
	assert_int_equal(pattern_live_count(f->p), 5);
	/* Ended calls stop counting. */
	for (int i = 0; i < 4; i++)
		pattern_call_end(f->p, h[i], T0 + 60);
	assert_int_equal(pattern_live_count(f->p), 1);
	f->nseen = 0;
	assert_int_equal(start(f, "1001", "", national(f), T0 + 70, &h[5]), PATTERN_NONE);
	assert_int_equal(f->nseen, 0);
}

/* Consecutive calls to different numbers under +44 163296 (six digits
 * after the country code): a number-range sweep. */
static struct num_info sweep(unsigned i)
{
	char e164[NUM_E164_MAX + 1];

	snprintf(e164, sizeof(e164), "+44163296%04u", i);
	return number(e164, 44, NUM_GEOGRAPHIC, "GB");
}

static void same_prefix_sweep(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 10 * HOUR;

	for (unsigned i = 1; i <= 7; i++)
		assert_int_equal(call(f, "1001", sweep(i), t + i * MIN, 5), PATTERN_NONE);
	assert_int_equal(call(f, "1001", sweep(8), t + 8 * MIN, 5), PATTERN_WARNING);
	expect_last(f, PATTERN_WARNING, PATTERN_SAME_PREFIX, PATTERN_EXT, "1001",
		    "8 calls in a row to different numbers starting +44163296; warning at 8");
	for (unsigned i = 9; i <= 14; i++)
		assert_int_equal(call(f, "1001", sweep(i), t + i * MIN, 5), PATTERN_NONE);
	assert_int_equal(call(f, "1001", sweep(15), t + 15 * MIN, 5), PATTERN_CRITICAL);
	expect_last(f, PATTERN_CRITICAL, PATTERN_SAME_PREFIX, PATTERN_EXT, "1001",
		    "15 calls in a row to different numbers starting +44163296; critical at 15");
}

static void redialling_is_not_a_sweep(void **state)
{
	struct fx *f = *state;

	int64_t t = T0 + 3 * HOUR;

	for (unsigned i = 1; i <= 30; i++)
		call(f, "1001", sweep(1), T0 + i * MIN, 5);
	assert_int_equal(f->nseen, 0);
	/* Redials in the middle of a sweep neither lengthen nor break it. */
	for (unsigned i = 1; i <= 7; i++) {
		call(f, "1001", sweep(100 + i), t + 2 * i * MIN, 5);
		call(f, "1001", sweep(100 + i), t + (2 * i + 1) * MIN, 5);
	}
	assert_int_equal(f->nseen, 0);
	call(f, "1001", sweep(200), t + 20 * MIN, 5);
	assert_int_equal(count(f, PATTERN_SAME_PREFIX, PATTERN_WARNING), 1);
}

static void another_prefix_or_a_long_gap_ends_the_run(void **state)
{
	struct fx *f = *state;
	int64_t t = T0;

	for (unsigned i = 1; i <= 7; i++)
		call(f, "1001", sweep(i), t += MIN, 5);
	call(f, "1001", national(f), t += MIN, 5);   /* another range */
	for (unsigned i = 11; i <= 17; i++)
		call(f, "1001", sweep(i), t += MIN, 5);
	call(f, "1001", number("999", 0, NUM_SHORTCODE, ""), t += MIN, 5); /* no range at all */
	for (unsigned i = 21; i <= 27; i++)
		call(f, "1001", sweep(i), t += MIN, 5);
	t += PATTERN_RUN_GAP_S + 1;                     /* a pause */
	for (unsigned i = 31; i <= 37; i++)
		call(f, "1001", sweep(i), t += MIN, 5);
	assert_int_equal(f->nseen, 0);
	/* The same sweep within the gap reaches the level. */
	call(f, "1001", sweep(38), t += PATTERN_RUN_GAP_S, 5);
	assert_int_equal(count(f, PATTERN_SAME_PREFIX, PATTERN_WARNING), 1);
}

static void trunk_thresholds_count_every_extension(void **state)
{
	struct fx *f = *state;
	char ext[16];
	uint64_t h[40];

	/* Thirty extensions, one call each, in one minute over one trunk. */
	for (int i = 1; i <= 30; i++) {
		snprintf(ext, sizeof(ext), "%d", 2000 + i);
		start(f, ext, "gamma", national(f), T0 + i, &h[0]);
		pattern_call_end(f->p, h[0], T0 + i);
	}
	assert_int_equal(f->nseen, 1);
	expect_last(f, PATTERN_WARNING, PATTERN_CALLS_PER_MINUTE, PATTERN_TRUNK, "gamma",
		    "30 calls in the last minute; warning at 30");
	assert_string_equal(last(f)->ext, "2030");
	assert_string_equal(last(f)->trunk, "gamma");

	/* Live calls at once over the trunk, three seconds apart (twenty a
	 * minute, under the per-minute levels). */
	f->nseen = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(ext, sizeof(ext), "%d", 3000 + i);
		start(f, ext, "delta", national(f), T0 + HOUR + 3 * i, &h[i]);
	}
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_WARNING), 1);
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_CRITICAL), 1);
	expect_last(f, PATTERN_CRITICAL, PATTERN_CONCURRENT, PATTERN_TRUNK, "delta",
		    "40 calls at once; critical at 40");
	assert_int_equal(f->nseen, 2);
}

static void duration_warns_then_goes_critical(void **state)
{
	struct fx *f = *state;
	uint64_t h, unanswered;

	start(f, "1001", "", number("+441632960001", 44, NUM_GEOGRAPHIC, "GB"), T0, &h);
	start(f, "1001", "", national(f), T0, &unanswered);
	pattern_call_answered(f->p, h, T0 + 20);
	pattern_tick(f->p, T0 + 20 + 120 * MIN - 1, collect, f);
	assert_int_equal(f->nseen, 0);
	pattern_tick(f->p, T0 + 20 + 120 * MIN, collect, f);
	assert_int_equal(f->nseen, 1);
	expect_last(f, PATTERN_WARNING, PATTERN_DURATION, PATTERN_EXT, "1001",
		    "call to +441632960001 running 120 minutes; warning at 120");
	assert_true(last(f)->call == h);
	pattern_tick(f->p, T0 + 20 + 150 * MIN, collect, f);
	assert_int_equal(f->nseen, 1);
	pattern_tick(f->p, T0 + 20 + 180 * MIN, collect, f);
	assert_int_equal(f->nseen, 2);
	expect_last(f, PATTERN_CRITICAL, PATTERN_DURATION, PATTERN_EXT, "1001",
		    "call to +441632960001 running 180 minutes; critical at 180");
	pattern_tick(f->p, T0 + 20 + 300 * MIN, collect, f);
	assert_int_equal(f->nseen, 2);   /* once per level, and never for the unanswered call */
	pattern_call_end(f->p, h, T0 + 301 * MIN);
	pattern_call_end(f->p, unanswered, T0 + 301 * MIN);

	/* A tick that finds a call already past both levels reports critical only. */
	f->nseen = 0;
	start(f, "1002", "", national(f), T0, &h);
	pattern_call_answered(f->p, h, T0);
	pattern_tick(f->p, T0 + 200 * MIN, collect, f);
	assert_int_equal(f->nseen, 1);
	assert_int_equal(last(f)->level, PATTERN_CRITICAL);
}

static void warnings_repeat_after_a_while_criticals_every_time(void **state)
{
	struct fx *f = *state;
	int64_t again = T0 + 2 + PATTERN_WARN_REPEAT_S; /* ten minutes after the warning */
	uint64_t h[8];

	/* Three live calls: a concurrency warning. */
	for (int i = 0; i < 3; i++)
		start(f, "1001", "", national(f), T0 + i, &h[i]);
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_WARNING), 1);
	/* Back to three within ten minutes: no new warning. */
	pattern_call_end(f->p, h[2], T0 + 5);
	start(f, "1001", "", national(f), again - 1, &h[2]);
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_WARNING), 1);
	/* Ten minutes on: reported again. */
	pattern_call_end(f->p, h[2], again - 1);
	start(f, "1001", "", national(f), again, &h[2]);
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_WARNING), 2);
	/* Criticals each time the level is met: at 5 and at 6 calls. */
	for (int i = 3; i < 6; i++)
		start(f, "1001", "", national(f), again + i, &h[i]);
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_WARNING), 2);
	assert_int_equal(count(f, PATTERN_CONCURRENT, PATTERN_CRITICAL), 2);
}

static void handles_and_emergency_calls(void **state)
{
	struct fx *f = *state;
	struct num_info n999 = number("999", 0, NUM_EMERGENCY, "");
	uint64_t h, h2;
	char longname[RF_MAX_EXT_LEN + 2];

	/* Emergency calls are neither tracked nor counted. */
	for (int i = 0; i < 40; i++) {
		assert_int_equal(start(f, "1001", "", n999, T0 + i, &h), PATTERN_NONE);
		assert_true(h == 0);
	}
	assert_int_equal(pattern_live_count(f->p), 0);
	memset(longname, '7', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	start(f, longname, "", national(f), T0, &h);
	assert_true(h == 0);
	start(f, "", "", national(f), T0, &h);
	assert_true(h == 0);

	start(f, "1001", "", national(f), T0 + 100, &h);
	assert_true(h != 0);
	pattern_call_end(f->p, h, T0 + 101);
	pattern_call_end(f->p, h, T0 + 102);     /* twice: ignored */
	pattern_call_end(f->p, 0, T0 + 102);
	assert_int_equal(pattern_live_count(f->p), 0);
	start(f, "1001", "", national(f), T0 + 103, &h2);
	assert_true(h2 != h);                     /* the slot is reused, the handle is not */
	pattern_call_end(f->p, h, T0 + 104);      /* stale: does not end the new call */
	assert_int_equal(pattern_live_count(f->p), 1);
	pattern_call_answered(f->p, h, T0 + 105); /* stale: ignored */
	pattern_tick(f->p, T0 + 1000 * MIN, collect, f);
	assert_int_equal(count(f, PATTERN_DURATION, PATTERN_CRITICAL), 0);
}

/* ---- the baseline ---- */

static void no_judgement_before_the_minimum_history(void **state)
{
	struct fx *f = *state;
	int64_t sunday_3am = T0 + 13 * DAY + 3 * HOUR;

	/* Thirteen days of busy office hours: still too young. */
	office_history(f, "1001", 0, 13, 4);
	assert_false(pattern_ext_judged(f->p, "1001", sunday_3am));
	call(f, "1001", israel(), sunday_3am, 60);
	assert_int_equal(f->nseen, 0);

	/* Four weeks of a quiet extension: too few calls to have a pattern. */
	for (int w = 0; w < 4; w++)
		learn_cdr(f, "1002", "geographic", T0 + w * WEEK + 10 * HOUR, 60);
	assert_false(pattern_ext_judged(f->p, "1002", T0 + 34 * DAY));
	call(f, "1002", israel(), T0 + 34 * DAY + 3 * HOUR, 60);
	assert_int_equal(f->nseen, 0);

	/* The first one, two weeks on, is judged. */
	assert_true(pattern_ext_judged(f->p, "1001", T0 + 15 * DAY));

	/* History long gone quiet weighs too little to judge by. */
	office_history(f, "1003", 0, 28, 2);
	assert_true(pattern_ext_judged(f->p, "1003", T0 + 28 * DAY));
	assert_false(pattern_ext_judged(f->p, "1003", T0 + 28 * DAY + 30 * WEEK));

	/* And with the baseline off, nothing is judged. */
	f->cfg.baseline = false;
	pattern_set_config(f->p, &f->cfg);
	assert_false(pattern_ext_judged(f->p, "1003", T0 + 28 * DAY));
}

static void a_3am_call_from_a_daytime_extension(void **state)
{
	struct fx *f = *state;
	int64_t sunday = T0 + 34 * DAY;

	office_history(f, "1001", 0, 28, 2);
	assert_true(pattern_ext_judged(f->p, "1001", sunday));
	/* Tuesday morning is its normal. */
	assert_int_equal(call(f, "1001", national(f), T0 + 29 * DAY + 10 * HOUR + 30 * MIN, 60),
			 PATTERN_NONE);
	assert_int_equal(f->nseen, 0);
	assert_int_equal(call(f, "1001", national(f), sunday + 3 * HOUR + 12 * MIN, 60),
			 PATTERN_WARNING);
	assert_int_equal(f->nseen, 1);
	expect_last(f, PATTERN_WARNING, PATTERN_ODD_HOUR, PATTERN_EXT, "1001",
		    "call at 03:12 on a Sunday; this extension has made no calls within an"
		    " hour of that time of the week in 4 weeks of history");
	/* An hour next to its working hours is not odd. */
	f->nseen = 0;
	call(f, "1001", national(f), T0 + 36 * DAY + 8 * HOUR, 60);
	assert_int_equal(f->nseen, 0);
}

static void a_first_international_call(void **state)
{
	struct fx *f = *state;

	office_history(f, "1001", 0, 28, 2);
	/* At 03:12 on a Sunday: out-of-hours international, critical. */
	assert_int_equal(call(f, "1001", israel(), T0 + 27 * DAY + 3 * HOUR + 12 * MIN, 60),
			 PATTERN_CRITICAL);
	assert_int_equal(count(f, PATTERN_RARE_CLASS, PATTERN_CRITICAL), 1);
	assert_int_equal(count(f, PATTERN_ODD_HOUR, PATTERN_WARNING), 1);
	assert_int_equal(f->nseen, 2);
	expect_last(f, PATTERN_CRITICAL, PATTERN_RARE_CLASS, PATTERN_EXT, "1001",
		    "international call to IL at 03:12; this extension has made no"
		    " international calls in 3 weeks of history, and is idle at this hour");
	/* In office hours: a warning (and the critical call was not learned). */
	f->nseen = 0;
	assert_int_equal(call(f, "1001", israel(), T0 + 29 * DAY + 10 * HOUR + 30 * MIN, 60),
			 PATTERN_WARNING);
	assert_int_equal(f->nseen, 1);
	expect_last(f, PATTERN_WARNING, PATTERN_RARE_CLASS, PATTERN_EXT, "1001",
		    "international call to IL at 10:30; this extension has made no"
		    " international calls in 4 weeks of history");
	/* Mobiles are not a toll-fraud class: a first one is no anomaly. */
	f->nseen = 0;
	call(f, "1001", number("+447700900123", 44, NUM_MOBILE, "GB"),
	     T0 + 30 * DAY + 11 * HOUR, 60);
	assert_int_equal(f->nseen, 0);
}

static void a_rate_far_above_normal(void **state)
{
	struct fx *f = *state;
	int64_t tuesday = T0 + 29 * DAY + 9 * HOUR;
	int first_warning = 0, first_critical = 0;

	/* Two calls an hour, so its normal is read as the floor of three. */
	office_history(f, "1001", 0, 28, 2);
	for (int i = 1; i <= 30; i++) {
		enum pattern_level l = call(f, "1001", national(f), tuesday + (i - 1) * 2 * MIN, 30);

		if (l == PATTERN_WARNING && !first_warning)
			first_warning = i;
		if (l == PATTERN_CRITICAL && !first_critical)
			first_critical = i;
	}
	assert_int_equal(first_warning, 12);
	assert_int_equal(first_critical, 30);
	/* The warning at 09:22, repeated at 09:32, 09:42 and 09:52. */
	assert_int_equal(count(f, PATTERN_CALLS_PER_HOUR, PATTERN_WARNING), 4);
	assert_int_equal(count(f, PATTERN_CALLS_PER_HOUR, PATTERN_CRITICAL), 1);
	assert_string_equal(f->seen[0].reason,
			    "12 calls in the last hour; this extension makes 2.0 in an hour when it"
			    " calls; warning at 12");
	expect_last(f, PATTERN_CRITICAL, PATTERN_CALLS_PER_HOUR, PATTERN_EXT, "1001",
		    "30 calls in the last hour; this extension makes 2.0 in an hour when it"
		    " calls; critical at 30");
	/* None of it was a static threshold. */
	assert_int_equal(f->nseen, 5);
}

static void a_busier_extension_has_a_higher_normal(void **state)
{
	struct fx *f = *state;
	int64_t tuesday = T0 + 29 * DAY + 9 * HOUR;

	office_history(f, "1001", 0, 28, 6);
	/* 20 calls in an hour: over 4 x 3 but under 4 x 6 = 24. */
	for (int i = 1; i <= 20; i++)
		call(f, "1001", national(f), tuesday + (i - 1) * 3 * MIN, 30);
	assert_int_equal(f->nseen, 0);
}

/* The extension takes up a new habit, calls on Wednesday evenings: the
 * first weeks are flagged, then it is its normal. */
static void a_new_normal_stops_being_flagged(void **state)
{
	struct fx *f = *state;
	bool flagged[8];

	office_history(f, "1001", 0, 56, 2);
	for (int w = 0; w < 8; w++) {
		int64_t evening = T0 + (8 + w) * WEEK + 2 * DAY + 20 * HOUR;

		f->nseen = 0;
		call(f, "1001", national(f), evening, 120);
		flagged[w] = count(f, PATTERN_ODD_HOUR, PATTERN_WARNING) == 1;
		call(f, "1001", national(f), evening + 30 * MIN, 120);
		office_history(f, "1001", (8 + w) * 7, 7, 2);
	}
	/* Two evening calls weigh 2, 1.7 a week later, 3.1 after two weeks,
	 * 4.3 after three; 1% of this extension's calls is about 3.5. */
	assert_true(flagged[0]);
	assert_true(flagged[1]);
	for (int w = 3; w < 8; w++)
		assert_false(flagged[w]);
}

/* A call that drew a critical anomaly is not learned: stopped fraud does
 * not become the normal, week after week. Warned calls are learned. */
static void critical_calls_are_not_learned(void **state)
{
	struct fx *f = *state;

	office_history(f, "1001", 0, 28, 2);
	for (int w = 0; w < 6; w++) {
		f->nseen = 0;
		call(f, "1001", israel(), T0 + (4 + w) * WEEK + 6 * DAY + 3 * HOUR, 600);
		assert_int_equal(count(f, PATTERN_RARE_CLASS, PATTERN_CRITICAL), 1);
		office_history(f, "1001", (4 + w) * 7, 7, 2);
	}
}

static void cdr_rows_that_are_not_outbound_calls_are_skipped(void **state)
{
	struct fx *f = *state;
	static const char *const directions[] = { "inbound", "internal", "" };
	struct cdr_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.caller, sizeof(r.caller), "1001");
	snprintf(r.dest_class, sizeof(r.dest_class), "geographic");
	r.start_ms = (int64_t)T0 * 1000;
	for (size_t i = 0; i < sizeof(directions) / sizeof(directions[0]); i++) {
		snprintf(r.direction, sizeof(r.direction), "%s", directions[i]);
		assert_int_equal(pattern_learn_cdr(&r, f->p), 0);
	}
	snprintf(r.direction, sizeof(r.direction), "outbound");
	snprintf(r.dest_class, sizeof(r.dest_class), "emergency");
	assert_int_equal(pattern_learn_cdr(&r, f->p), 0);
	snprintf(r.dest_class, sizeof(r.dest_class), "no-such-class");
	assert_int_equal(pattern_learn_cdr(&r, f->p), 0);
	assert_int_equal(pattern_ext_count(f->p), 0);
	snprintf(r.dest_class, sizeof(r.dest_class), "mobile");
	assert_int_equal(pattern_learn_cdr(&r, f->p), 0);
	assert_int_equal(pattern_ext_count(f->p), 1);
}

static void add_cdr(struct store *s, const char *direction, int64_t t)
{
	struct cdr_record r = cdr("1001", direction, "geographic", t, 120);

	assert_int_equal(store_cdr_add(s, &r), 0);
}

/* The daemon's start: the CDRs since pattern_history_since_ms, oldest
 * first, straight from the store. Nights full of inbound calls do not
 * make the night a normal time for outbound ones. */
static void history_from_the_store(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/rf-pattern-XXXXXX", path[64], cmd[96];
	int64_t sunday_3am = T0 + 34 * DAY + 3 * HOUR;
	const char *err = NULL;
	struct store *s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ringfence.db", dir);
	assert_int_equal(store_open(&s, path, &err), 0);
	assert_int_equal(store_begin(s), 0);
	for (int d = 0; d < 28; d++) {
		add_cdr(s, "inbound", T0 + (int64_t)d * DAY + 3 * HOUR);
		for (int h = 9; h < 17 && d % 7 < 5; h++)
			add_cdr(s, "outbound", T0 + (int64_t)d * DAY + h * HOUR);
	}
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_cdr_foreach(s, pattern_history_since_ms(f->p, sunday_3am),
					   pattern_learn_cdr, f->p), 0);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);

	assert_true(pattern_ext_judged(f->p, "1001", sunday_3am));
	assert_int_equal(call(f, "1001", national(f), sunday_3am, 60), PATTERN_WARNING);
	assert_int_equal(last(f)->kind, PATTERN_ODD_HOUR);
}

static void history_is_read_from_four_half_lives_back(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pattern_history_since_ms(f->p, T0),
			 (int64_t)(T0 - 4 * 28 * DAY) * 1000);
	assert_int_equal(pattern_history_since_ms(f->p, 1000), 0);
}

static void memory_is_bounded(void **state)
{
	struct fx *f = *state;
	char ext[16];
	uint64_t h;

	/* The documented size per extension. */
	assert_true(pattern_ext_bytes() <= 1200);
	/* An old extension with history, and one busy on a call. */
	office_history(f, "old", 0, 28, 2);
	office_history(f, "oncall", 0, 28, 2);
	start(f, "oncall", "", national(f), T0 - DAY, &h);
	/* Then more extensions than the cap. */
	for (unsigned i = 0; i < PATTERN_MAX_EXTS + 10; i++) {
		snprintf(ext, sizeof(ext), "e%u", i);
		learn_cdr(f, ext, "geographic", T0 + 28 * DAY + i, 60);
	}
	assert_int_equal(pattern_ext_count(f->p), PATTERN_MAX_EXTS);
	/* The idle one was forgotten first, the one on a call kept. */
	assert_false(pattern_ext_judged(f->p, "old", T0 + 29 * DAY));
	assert_true(pattern_ext_judged(f->p, "oncall", T0 + 29 * DAY));
	pattern_call_end(f->p, h, T0 + 29 * DAY);
}

static void names_and_formatting(void **state)
{
	struct pattern_anomaly a;
	char line[300];

	(void)state;
	assert_string_equal(pattern_kind_name(PATTERN_CALLS_PER_MINUTE), "calls_per_minute");
	assert_string_equal(pattern_kind_name(PATTERN_LONG_CALL), "long_call");
	assert_null(pattern_kind_name(PATTERN_KIND__COUNT));
	for (int k = 0; k < PATTERN_KIND__COUNT; k++)
		assert_non_null(pattern_kind_name((enum pattern_kind)k));
	assert_string_equal(pattern_level_name(PATTERN_CRITICAL), "critical");
	assert_null(pattern_level_name(PATTERN_NONE));
	memset(&a, 0, sizeof(a));
	a.level = PATTERN_CRITICAL;
	a.kind = PATTERN_CALLS_PER_MINUTE;
	snprintf(a.subject, sizeof(a.subject), "1001");
	snprintf(a.reason, sizeof(a.reason), "20 calls in the last minute; critical at 20");
	pattern_anomaly_format(&a, line, sizeof(line));
	assert_string_equal(line, "critical extension 1001 calls_per_minute: 20 calls in the last"
				  " minute; critical at 20");
}

static void a_long_call_for_this_extension(void **state)
{
	struct fx *f = *state;
	uint64_t h;
	int64_t t = T0 + 29 * DAY + 10 * HOUR;

	/* Three-minute calls on average: 30 minutes is ten times that. */
	office_history(f, "1001", 0, 28, 2);
	start(f, "1001", "", number("+441632960001", 44, NUM_GEOGRAPHIC, "GB"), t, &h);
	pattern_call_answered(f->p, h, t);
	pattern_tick(f->p, t + 29 * MIN, collect, f);
	assert_int_equal(f->nseen, 0);
	pattern_tick(f->p, t + 30 * MIN, collect, f);
	assert_int_equal(f->nseen, 1);
	expect_last(f, PATTERN_WARNING, PATTERN_LONG_CALL, PATTERN_EXT, "1001",
		    "call to +441632960001 running 30 minutes; this extension's calls last"
		    " 3.0 minutes on average");
	pattern_tick(f->p, t + 60 * MIN, collect, f);
	assert_int_equal(f->nseen, 1);
	pattern_call_end(f->p, h, t + 61 * MIN);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(calls_per_minute_warns_then_goes_critical),
		T(burst_of_30_at_3am_is_critical_by_default),
		T(a_level_of_zero_is_off),
		T(concurrent_calls),
		T(same_prefix_sweep),
		T(redialling_is_not_a_sweep),
		T(another_prefix_or_a_long_gap_ends_the_run),
		T(trunk_thresholds_count_every_extension),
		T(duration_warns_then_goes_critical),
		T(warnings_repeat_after_a_while_criticals_every_time),
		T(handles_and_emergency_calls),
		T(no_judgement_before_the_minimum_history),
		T(a_3am_call_from_a_daytime_extension),
		T(a_first_international_call),
		T(a_rate_far_above_normal),
		T(a_busier_extension_has_a_higher_normal),
		T(a_new_normal_stops_being_flagged),
		T(critical_calls_are_not_learned),
		T(cdr_rows_that_are_not_outbound_calls_are_skipped),
		T(history_from_the_store),
		T(history_is_read_from_four_half_lives_back),
		T(memory_is_bounded),
		T(names_and_formatting),
		T(a_long_call_for_this_extension),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
