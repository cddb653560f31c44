/* Call detail records: the store (store/cdr.c) on a real database file,
 * and the --since parser and CSV encoding behind `ringfence cdr`. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "admin/cmd_cdr.h"
#include "store/store.h"

/* 2026-11-26T15:04:05Z */
#define T0 INT64_C(1795705445000)
#define DAY_MS INT64_C(86400000)

static void make_cdr(struct cdr_record *r, const char *caller, const char *callee,
		     int64_t start_ms)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->caller, sizeof(r->caller), "%s", caller);
	snprintf(r->callee, sizeof(r->callee), "%s", callee);
	snprintf(r->call_id, sizeof(r->call_id), "%lld@pbx", (long long)start_ms);
	r->start_ms = start_ms;
	r->end_ms = start_ms + 5000;
	r->result = 486;
	snprintf(r->hangup, sizeof(r->hangup), "callee");
}

/* Collects what foreach hands out. */
struct collected {
	struct cdr_record rows[16];
	size_t n;
	size_t stop_after; /* return 42 after this many rows; 0 = never */
};

static int collect(const struct cdr_record *r, void *arg)
{
	struct collected *c = arg;

	assert_true(c->n < 16);
	c->rows[c->n++] = *r;
	return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

/* ---- store ---- */

static void test_add_assigns_ids_and_lists_oldest_first(void **state)
{
	struct fixture *f = *state;
	struct cdr_record a, b, c;
	struct collected got = { 0 };

	/* Written out of start order: the walk must still be in time order. */
	make_cdr(&a, "1001", "1002", T0 + 2000);
	make_cdr(&b, "1002", "1001", T0);
	make_cdr(&c, "1003", "1001", T0 + 1000);
	assert_int_equal(store_cdr_add(f->s, &a), 0);
	assert_int_equal(store_cdr_add(f->s, &b), 0);
	assert_int_equal(store_cdr_add(f->s, &c), 0);
	assert_true(a.id > 0);
	assert_true(b.id > a.id);
	assert_true(c.id > b.id);

	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.rows[0].id, b.id);
	assert_int_equal(got.rows[1].id, c.id);
	assert_int_equal(got.rows[2].id, a.id);
	assert_string_equal(got.rows[0].caller, "1002");
	assert_string_equal(got.rows[2].caller, "1001");
}

static void test_empty_store_has_no_rows(void **state)
{
	struct fixture *f = *state;
	struct collected got = { 0 };

	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_int_equal(got.n, 0);
	assert_int_equal(store_cdr_foreach_latest(f->s, 0, 10, collect, &got), 0);
	assert_int_equal(got.n, 0);
}

static void test_since_is_inclusive(void **state)
{
	struct fixture *f = *state;
	struct cdr_record r;
	struct collected got = { 0 };
	int i;

	for (i = 0; i < 5; i++) {
		make_cdr(&r, "1001", "1002", T0 + i * DAY_MS);
		assert_int_equal(store_cdr_add(f->s, &r), 0);
	}
	assert_int_equal(store_cdr_foreach(f->s, T0 + 2 * DAY_MS, collect, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.rows[0].start_ms, T0 + 2 * DAY_MS);
	assert_int_equal(got.rows[2].start_ms, T0 + 4 * DAY_MS);

	got.n = 0;
	assert_int_equal(store_cdr_foreach(f->s, T0 + 2 * DAY_MS + 1, collect, &got), 0);
	assert_int_equal(got.n, 2);

	got.n = 0;
	assert_int_equal(store_cdr_foreach(f->s, T0 + 5 * DAY_MS, collect, &got), 0);
	assert_int_equal(got.n, 0);
}

static void test_latest_keeps_the_newest_in_time_order(void **state)
{
	struct fixture *f = *state;
	struct cdr_record r;
	struct collected got = { 0 };
	int i;

	for (i = 0; i < 5; i++) {
		make_cdr(&r, "1001", "1002", T0 + i * 1000);
		assert_int_equal(store_cdr_add(f->s, &r), 0);
	}
	assert_int_equal(store_cdr_foreach_latest(f->s, 0, 2, collect, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.rows[0].start_ms, T0 + 3000);
	assert_int_equal(got.rows[1].start_ms, T0 + 4000);

	/* The limit applies after --since. */
	got.n = 0;
	assert_int_equal(store_cdr_foreach_latest(f->s, T0 + 4000, 3, collect, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.rows[0].start_ms, T0 + 4000);

	got.n = 0;
	assert_int_equal(store_cdr_foreach_latest(f->s, 0, 100, collect, &got), 0);
	assert_int_equal(got.n, 5);
	assert_int_equal(store_cdr_foreach_latest(f->s, 0, 0, collect, &got), EINVAL);
}

static void test_callback_stops_the_walk(void **state)
{
	struct fixture *f = *state;
	struct cdr_record r;
	struct collected got = { .stop_after = 2 };
	int i;

	for (i = 0; i < 4; i++) {
		make_cdr(&r, "1001", "1002", T0 + i);
		assert_int_equal(store_cdr_add(f->s, &r), 0);
	}
	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 42);
	assert_int_equal(got.n, 2);
}

/* ---- spend (credit limits) ---- */

struct spent {
	struct cdr_spend rows[8];
	size_t n;
};

static int collect_spend(const struct cdr_spend *r, void *arg)
{
	struct spent *s = arg;

	assert_true(s->n < 8);
	s->rows[s->n++] = *r;
	return s->n == 8 ? 42 : 0;
}

static void add_charged(struct fixture *f, const char *caller, const char *trunk,
			const char *direction, int64_t start_ms, int64_t cost)
{
	struct cdr_record r;

	make_cdr(&r, caller, "+441632960123", start_ms);
	snprintf(r.direction, sizeof(r.direction), "%s", direction);
	snprintf(r.trunk, sizeof(r.trunk), "%s", trunk);
	r.cost = cost;
	assert_int_equal(store_cdr_add(f->s, &r), 0);
}

static void test_spend_is_outbound_calls_with_a_cost(void **state)
{
	struct fixture *f = *state;
	struct spent got = { .n = 0 };

	add_charged(f, "1001", "sip1", "outbound", T0 + 3000, 250000);
	add_charged(f, "1002", "", "outbound", T0 + 1000, 1);
	add_charged(f, "1001", "sip2", "outbound", T0 - 1, 999);      /* before since */
	add_charged(f, "1001", "sip1", "outbound", T0 + 2000, 0);     /* free */
	add_charged(f, "1003", "sip1", "inbound", T0 + 2000, 500);    /* not ours to pay */
	add_charged(f, "1003", "", "internal", T0 + 2000, 500);
	add_charged(f, "", "sip2", "outbound", T0 + 4000, INT64_MAX); /* a forward, huge */

	assert_int_equal(store_cdr_spend(f->s, T0, collect_spend, &got), 0);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.rows[0].caller, "1002");
	assert_string_equal(got.rows[0].trunk, "");
	assert_int_equal(got.rows[0].start_ms, T0 + 1000);
	assert_int_equal(got.rows[0].cost, 1);
	assert_string_equal(got.rows[1].caller, "1001");
	assert_string_equal(got.rows[1].trunk, "sip1");
	assert_int_equal(got.rows[1].cost, 250000);
	assert_string_equal(got.rows[2].caller, "");
	assert_string_equal(got.rows[2].trunk, "sip2");
	assert_int_equal(got.rows[2].cost, INT64_MAX);

	got.n = 0;
	assert_int_equal(store_cdr_spend(f->s, T0 + 3001, collect_spend, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.rows[0].start_ms, T0 + 4000);
}

static void test_spend_walk_stops_on_the_callback(void **state)
{
	struct fixture *f = *state;
	struct spent got = { .n = 0 };

	for (int i = 0; i < 10; i++)
		add_charged(f, "1001", "sip1", "outbound", T0 + i, 10);
	assert_int_equal(store_cdr_spend(f->s, 0, collect_spend, &got), 42);
	assert_int_equal(got.n, 8);
}

static void test_every_field_round_trips(void **state)
{
	struct fixture *f = *state;
	struct cdr_record in, *out;
	struct collected got = { 0 };

	memset(&in, 0, sizeof(in));
	/* Every text field at its full size. */
	memset(in.caller, 'c', sizeof(in.caller) - 1);
	memset(in.callee, '9', sizeof(in.callee) - 1);
	memset(in.call_id, 'i', sizeof(in.call_id) - 1);
	memcpy(in.call_id, "a,\"b\"\n", 6);
	snprintf(in.hangup, sizeof(in.hangup), "max_duration");
	in.start_ms = T0 + 123;
	in.answer_ms = T0 + 2456;
	in.end_ms = T0 + 3600789;
	in.duration_s = 3598;
	in.result = 200;
	in.packets_a = 179901;
	in.bytes_a = 30942972;
	in.packets_b = 179899;
	in.bytes_b = 30942628;
	in.dropped_foreign = 17;
	in.lost = 3;
	/* Bridged: SRTP on the caller's leg only, so a swapped column shows. */
	in.srtp = false;
	in.srtp_a = true;
	in.srtp_b = false;
	snprintf(in.direction, sizeof(in.direction), "outbound");
	snprintf(in.e164, sizeof(in.e164), "+441632960123");
	snprintf(in.dest_class, sizeof(in.dest_class), "geographic");
	snprintf(in.trunk, sizeof(in.trunk), "provider-1");
	in.cost = 1234567;
	assert_int_equal(store_cdr_add(f->s, &in), 0);

	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_int_equal(got.n, 1);
	out = &got.rows[0];
	assert_int_equal(out->id, in.id);
	assert_string_equal(out->caller, in.caller);
	assert_string_equal(out->callee, in.callee);
	assert_string_equal(out->call_id, in.call_id);
	assert_int_equal(out->start_ms, in.start_ms);
	assert_int_equal(out->answer_ms, in.answer_ms);
	assert_int_equal(out->end_ms, in.end_ms);
	assert_int_equal(out->duration_s, in.duration_s);
	assert_int_equal(out->result, in.result);
	assert_string_equal(out->hangup, in.hangup);
	assert_int_equal(out->packets_a, in.packets_a);
	assert_int_equal(out->bytes_a, in.bytes_a);
	assert_int_equal(out->packets_b, in.packets_b);
	assert_int_equal(out->bytes_b, in.bytes_b);
	assert_int_equal(out->dropped_foreign, in.dropped_foreign);
	assert_int_equal(out->lost, in.lost);
	assert_false(out->srtp);
	assert_true(out->srtp_a);
	assert_false(out->srtp_b);
	assert_string_equal(out->direction, "outbound");
	assert_string_equal(out->e164, "+441632960123");
	assert_string_equal(out->dest_class, "geographic");
	assert_string_equal(out->trunk, "provider-1");
	assert_int_equal(out->cost, 1234567);
}

static void test_unanswered_call_round_trips(void **state)
{
	struct fixture *f = *state;
	struct cdr_record in;
	struct collected got = { 0 };

	make_cdr(&in, "1001", "1009", T0);
	in.result = 480;
	in.hangup[0] = '\0';
	assert_int_equal(store_cdr_add(f->s, &in), 0);
	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_int_equal(got.rows[0].answer_ms, 0);
	assert_int_equal(got.rows[0].duration_s, 0);
	assert_int_equal(got.rows[0].result, 480);
	assert_string_equal(got.rows[0].hangup, "");
	assert_false(got.rows[0].srtp);
	assert_false(got.rows[0].srtp_a);
	assert_false(got.rows[0].srtp_b);
	/* A call between extensions, as every call was before trunks. */
	assert_string_equal(got.rows[0].direction, "internal");
	assert_string_equal(got.rows[0].e164, "");
	assert_int_equal(got.rows[0].cost, 0);
	in.cost = -1;
	assert_int_equal(store_cdr_add(f->s, &in), EINVAL);
}

static void test_large_counters(void **state)
{
	struct fixture *f = *state;
	struct cdr_record in;
	struct collected got = { 0 };
	const uint64_t big = (UINT64_C(1) << 53) + 1; /* not exact as a double */

	make_cdr(&in, "1001", "1002", T0);
	in.packets_a = big;
	in.bytes_a = (uint64_t)INT64_MAX;
	in.packets_b = UINT64_MAX;           /* beyond SQLite: saturates */
	in.bytes_b = (uint64_t)INT64_MAX + 1; /* likewise, never negative */
	assert_int_equal(store_cdr_add(f->s, &in), 0);
	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_true(got.rows[0].packets_a == big);
	assert_true(got.rows[0].bytes_a == (uint64_t)INT64_MAX);
	assert_true(got.rows[0].packets_b == (uint64_t)INT64_MAX);
	assert_true(got.rows[0].bytes_b == (uint64_t)INT64_MAX);
}

static void test_bad_record_is_refused_whole(void **state)
{
	struct fixture *f = *state;
	struct cdr_record r;
	struct collected got = { 0 };

	make_cdr(&r, "1001", "1002", T0);
	r.result = 1000;
	assert_int_equal(store_cdr_add(f->s, &r), EINVAL);
	make_cdr(&r, "1001", "1002", -1);
	assert_int_equal(store_cdr_add(f->s, &r), EINVAL);
	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_int_equal(got.n, 0);
}

static void test_records_survive_reopen(void **state)
{
	struct fixture *f = *state;
	struct cdr_record r;
	struct collected got = { 0 };
	const char *err = NULL;

	make_cdr(&r, "1001", "1002", T0);
	assert_int_equal(store_cdr_add(f->s, &r), 0);
	store_close(f->s);
	f->s = NULL;
	/* Opening again runs no migration twice and keeps the rows. */
	assert_int_equal(store_open(&f->s, f->path, &err), 0);
	assert_int_equal(store_cdr_foreach(f->s, 0, collect, &got), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.rows[0].call_id, r.call_id);
	assert_int_equal(store_cdr_add(f->s, &r), 0);
	assert_true(r.id > got.rows[0].id);
}

/* ---- --since ---- */

static int64_t since_ok(const char *text, int64_t now)
{
	char why[256] = "";
	int64_t v = -1;

	if (cdr_parse_since(text, now, &v, why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", text, why);
	return v;
}

static void since_bad(const char *text, const char *reason)
{
	char why[256] = "";
	int64_t v = 777;

	assert_int_equal(cdr_parse_since(text, T0, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(v, 777); /* nothing written on failure */
	if (!strstr(why, reason))
		fail_msg("'%s': expected \"%s\" in \"%s\"", text, reason, why);
}

static void test_since_absolute(void **state)
{
	(void)state;
	assert_int_equal(since_ok("1970-01-01", 0), 0);
	assert_int_equal(since_ok("2026-11-26", 0), T0 - (15 * 3600 + 4 * 60 + 5) * INT64_C(1000));
	assert_int_equal(since_ok("2026-11-26T15:04:05Z", 0), T0);
	assert_int_equal(since_ok("2026-11-26t15:04:05z", 0), T0);
	assert_int_equal(since_ok("2026-11-26T15:04Z", 0), T0 - 5000);
	assert_int_equal(since_ok("2026-11-26T15:04:05.25Z", 0), T0 + 250);
	assert_int_equal(since_ok("2026-11-26T15:04:05.123456789Z", 0), T0 + 123);
	assert_int_equal(since_ok("2026-11-26T16:04:05+01:00", 0), T0);
	assert_int_equal(since_ok("2026-11-26T10:34:05-04:30", 0), T0);
	/* Leap days and month ends. */
	assert_int_equal(since_ok("2024-02-29", 0), INT64_C(1709164800000));
	assert_int_equal(since_ok("2000-02-29", 0), INT64_C(951782400000));
	assert_int_equal(since_ok("2026-12-31T23:59:59Z", 0), INT64_C(1798761599000));
}

static void test_since_relative(void **state)
{
	(void)state;
	assert_int_equal(since_ok("90s", T0), T0 - 90000);
	assert_int_equal(since_ok("15m", T0), T0 - 900000);
	assert_int_equal(since_ok("24h", T0), T0 - DAY_MS);
	assert_int_equal(since_ok("7d", T0), T0 - 7 * DAY_MS);
	assert_int_equal(since_ok("0s", T0), T0);
	assert_int_equal(since_ok("36500d", T0), 0); /* before 1970: clamps */
}

static void test_since_refusals(void **state)
{
	(void)state;
	since_bad("", "empty value");
	since_bad("yesterday", "is not a date, time or age");
	since_bad("90", "has no unit");
	since_bad("5x", "unknown unit");
	since_bad("5mm", "junk after the unit");
	since_bad("-5m", "negative");
	since_bad("36501d", "more than 100 years");
	since_bad("99999999999999999999d", "more than 100 years");
	since_bad("2026/11/26", "is not a date, time or age");
	since_bad("2026-1-26", "is not a date");
	since_bad("1969-12-31", "before 1970");
	since_bad("2026-13-01", "no such month");
	since_bad("2026-00-10", "no such month");
	since_bad("2026-02-29", "no such day");
	since_bad("2026-04-31", "no such day");
	since_bad("1900-02-29", "before 1970");
	since_bad("2026-11-26T15:04:05", "no time zone");
	since_bad("2026-11-26 15:04:05Z", "has a space");
	since_bad("2026-11-26T24:00Z", "out of range");
	since_bad("2026-11-26T15:60Z", "out of range");
	since_bad("2026-11-26T15:04:60Z", "out of range");
	since_bad("2026-11-26T1504Z", "malformed time");
	since_bad("2026-11-26T15:04:5Z", "malformed seconds");
	since_bad("2026-11-26T15:04:05.Z", "without digits");
	since_bad("2026-11-26T15:04:05.1234567890Z", "too many digits");
	since_bad("2026-11-26T15:04:05+1", "malformed offset");
	since_bad("2026-11-26T15:04:05+24:00", "offset out of range");
	since_bad("2026-11-26T15:04:05X", "junk after the time");
	since_bad("2026-11-26T15:04:05Zjunk", "junk at the end");
	since_bad("2026-11-26x", "junk at the end");
}

static void test_since_error_shows_value_escaped(void **state)
{
	char why[256];
	int64_t v;

	(void)state;
	assert_int_equal(cdr_parse_since("7\x1b[2Jd", T0, &v, why, sizeof(why)), EINVAL);
	assert_null(strchr(why, '\x1b'));
	assert_non_null(strstr(why, "'7?[2Jd'"));
}

/* ---- formatting ---- */

static const char *csv(const char *val)
{
	static char buf[256];
	size_t n = cdr_csv_field(val, buf, sizeof(buf));

	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_csv_quoting(void **state)
{
	(void)state;
	assert_string_equal(csv("1001"), "1001");
	assert_string_equal(csv(""), "");
	assert_string_equal(csv("a b"), "a b");
	assert_string_equal(csv("a,b"), "\"a,b\"");
	assert_string_equal(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(csv("\""), "\"\"\"\"");
	assert_string_equal(csv("line\nbreak"), "\"line\nbreak\"");
	assert_string_equal(csv("cr\rhere"), "\"cr\rhere\"");
	assert_string_equal(csv("2026-11-26T15:04:05.000Z"), "2026-11-26T15:04:05.000Z");
}

static void test_csv_formula_defusing(void **state)
{
	(void)state;
	assert_string_equal(csv("=1+2"), "'=1+2");
	assert_string_equal(csv("+441234567890"), "'+441234567890");
	assert_string_equal(csv("-2+3"), "'-2+3");
	assert_string_equal(csv("@SUM(A1:A9)"), "'@SUM(A1:A9)");
	assert_string_equal(csv("\t=1"), "'\t=1");
	assert_string_equal(csv("\r=1"), "\"'\r=1\"");
	/* Both at once: the quote goes inside the enclosing quotes. */
	assert_string_equal(csv("=HYPERLINK(\"http://x\",\"y\")"),
			    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	/* Only the first character counts. */
	assert_string_equal(csv("1001=x"), "1001=x");
	assert_string_equal(csv("a-b"), "a-b");
}

static void test_csv_field_truncates_safely(void **state)
{
	char buf[6];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(cdr_csv_field("a,\"bc\"", buf, sizeof(buf)), 10);
	assert_string_equal(buf, "\"a,\"\"");
	assert_int_equal(cdr_csv_field("abc", buf, 0), 3);
	assert_int_equal(buf[0], '"'); /* len 0: nothing written */
}

static void test_iso_ms(void **state)
{
	char buf[40];

	(void)state;
	assert_string_equal(cdr_iso_ms(T0, buf, sizeof(buf)), "2026-11-26T15:04:05.000Z");
	assert_string_equal(cdr_iso_ms(T0 + 7, buf, sizeof(buf)), "2026-11-26T15:04:05.007Z");
	assert_string_equal(cdr_iso_ms(T0 + 999, buf, sizeof(buf)), "2026-11-26T15:04:05.999Z");
	assert_string_equal(cdr_iso_ms(0, buf, sizeof(buf)), "");
	/* What --since parses, the formatter prints back. */
	assert_int_equal(since_ok(cdr_iso_ms(T0 + 42, buf, sizeof(buf)), 0), T0 + 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_assigns_ids_and_lists_oldest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_store_has_no_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since_is_inclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latest_keeps_the_newest_in_time_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_stops_the_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spend_is_outbound_calls_with_a_cost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spend_walk_stops_on_the_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_field_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_call_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_record_is_refused_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_survive_reopen, setup, teardown),
		cmocka_unit_test(test_since_absolute),
		cmocka_unit_test(test_since_relative),
		cmocka_unit_test(test_since_refusals),
		cmocka_unit_test(test_since_error_shows_value_escaped),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_formula_defusing),
		cmocka_unit_test(test_csv_field_truncates_safely),
		cmocka_unit_test(test_iso_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
