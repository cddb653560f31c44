/* The daemon's chargeable calls in progress in the store (store/live.c):
 * the set replaced whole, alone or inside the caller's transaction,
 * emptied, walked oldest start first, bad input refused with the old set
 * kept, and a database of the previous schema migrated. Every test uses a
 * real database file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "store/db.h"
#include "store/store.h"

static struct live_call_record live(const char *call_id, const char *caller, const char *trunk,
				    int64_t start_ms, int64_t answer_ms, int64_t connection,
				    int64_t per_minute)
{
	struct live_call_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.call_id, sizeof(r.call_id), "%s", call_id);
	snprintf(r.caller, sizeof(r.caller), "%s", caller);
	snprintf(r.trunk, sizeof(r.trunk), "%s", trunk);
	r.start_ms = start_ms;
	r.answer_ms = answer_ms;
	r.connection = connection;
	r.per_minute = per_minute;
	r.seen_ms = 1; /* replace stamps its own */
	return r;
}

struct walked {
	size_t n;
	struct live_call_record r[8];
	int stop_after; /* 0: never */
};

static int collect(const struct live_call_record *r, void *arg)
{
	struct walked *w = arg;

	assert_true(w->n < 8);
	w->r[w->n++] = *r;
	return w->stop_after && (int)w->n == w->stop_after ? 42 : 0;
}

static size_t walk(struct store *s, struct walked *w)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(store_live_calls_foreach(s, collect, w), 0);
	return w->n;
}

/* Three calls, given out of start order. */
static void three_calls(struct live_call_record r[3])
{
	r[0] = live("c@pbx", "1003", "sip1", 3000, 0, 100000, 0);
	r[1] = live("a@pbx", "1001", "sip1", 1000, 1500, 50000, 120000);
	r[2] = live("b@pbx", "", "", 2000, 2999, 0, 60000);
}

static void replace_then_walk_oldest_first(void **state)
{
	struct fixture *f = *state;
	struct live_call_record r[3];
	struct walked w;

	three_calls(r);
	assert_int_equal(store_live_calls_replace(f->s, r, 3, 5000), 0);
	assert_int_equal(walk(f->s, &w), 3);
	assert_string_equal(w.r[0].call_id, "a@pbx");
	assert_string_equal(w.r[1].call_id, "b@pbx");
	assert_string_equal(w.r[2].call_id, "c@pbx");
	assert_string_equal(w.r[0].caller, "1001");
	assert_string_equal(w.r[0].trunk, "sip1");
	assert_int_equal(w.r[0].start_ms, 1000);
	assert_int_equal(w.r[0].answer_ms, 1500);
	assert_int_equal(w.r[0].connection, 50000);
	assert_int_equal(w.r[0].per_minute, 120000);
	assert_string_equal(w.r[1].caller, "");
	assert_string_equal(w.r[1].trunk, "");
	assert_int_equal(w.r[2].answer_ms, 0); /* ringing */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(w.r[i].seen_ms, 5000);
}

static void replace_drops_the_old_set(void **state)
{
	struct fixture *f = *state;
	struct live_call_record r[3], one = live("d@pbx", "1002", "sip2", 4000, 0, 1, 2);
	struct walked w;

	three_calls(r);
	assert_int_equal(store_live_calls_replace(f->s, r, 3, 5000), 0);
	assert_int_equal(store_live_calls_replace(f->s, &one, 1, 6000), 0);
	assert_int_equal(walk(f->s, &w), 1);
	assert_string_equal(w.r[0].call_id, "d@pbx");
	assert_int_equal(w.r[0].seen_ms, 6000);

	/* No calls: the table empties, with or without an array. */
	assert_int_equal(store_live_calls_replace(f->s, &one, 0, 7000), 0);
	assert_int_equal(walk(f->s, &w), 0);
	assert_int_equal(store_live_calls_replace(f->s, &one, 1, 8000), 0);
	assert_int_equal(store_live_calls_replace(f->s, NULL, 0, 9000), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM live_calls"), 0);
}

static void empty_table_walks_nothing(void **state)
{
	struct fixture *f = *state;
	struct walked w;

	assert_int_equal(walk(f->s, &w), 0);
}

static void foreach_stops_on_the_callbacks_value(void **state)
{
	struct fixture *f = *state;
	struct live_call_record r[3];
	struct walked w = { .stop_after = 2 };

	three_calls(r);
	assert_int_equal(store_live_calls_replace(f->s, r, 3, 5000), 0);
	assert_int_equal(store_live_calls_foreach(f->s, collect, &w), 42);
	assert_int_equal(w.n, 2);
}

/* The daemon writes the set with the CDRs of the calls that ended: both
 * land together or not at all. */
static void replace_joins_the_callers_transaction(void **state)
{
	struct fixture *f = *state;
	struct live_call_record r[3], one = live("d@pbx", "1002", "sip2", 4000, 0, 1, 2);
	struct cdr_record cdr;
	struct walked w;

	memset(&cdr, 0, sizeof(cdr));
	snprintf(cdr.call_id, sizeof(cdr.call_id), "a@pbx");
	cdr.start_ms = 1000;
	cdr.result = 200;
	three_calls(r);
	assert_int_equal(store_live_calls_replace(f->s, r, 3, 5000), 0);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_cdr_add(f->s, &cdr), 0);
	assert_int_equal(store_live_calls_replace(f->s, &one, 1, 6000), 0);
	/* Still open: another connection sees the old set. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM live_calls"), 3);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(walk(f->s, &w), 3);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cdr"), 0);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_cdr_add(f->s, &cdr), 0);
	assert_int_equal(store_live_calls_replace(f->s, &one, 1, 6000), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(walk(f->s, &w), 1);
	assert_string_equal(w.r[0].call_id, "d@pbx");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cdr"), 1);
}

static void bad_input_keeps_the_old_set(void **state)
{
	struct fixture *f = *state;
	struct live_call_record r[3], bad[2];
	struct walked w;

	three_calls(r);
	assert_int_equal(store_live_calls_replace(f->s, r, 3, 5000), 0);

	assert_int_equal(store_live_calls_replace(f->s, NULL, 1, 6000), EINVAL);
	bad[0] = live("x@pbx", "1001", "", 1000, 0, 0, 0);
	bad[1] = live("y@pbx", "1001", "", 1000, 0, -1, 0);
	assert_int_equal(store_live_calls_replace(f->s, bad, 2, 6000), EINVAL);
	bad[1] = live("y@pbx", "1001", "", 1000, 0, 0, -1);
	assert_int_equal(store_live_calls_replace(f->s, bad, 2, 6000), EINVAL);
	/* A Call-ID twice fails on the second insert: nothing is kept. */
	bad[1] = live("x@pbx", "1002", "", 2000, 0, 0, 0);
	assert_int_equal(store_live_calls_replace(f->s, bad, 2, 6000), EEXIST);

	assert_int_equal(walk(f->s, &w), 3);
	assert_int_equal(w.r[0].seen_ms, 5000);
}

/* The daemon commits its CDRs even when the live set could not be
 * written: a replace that fails inside the caller's transaction must
 * leave the old set whole, not the rows it got to before failing. */
static void failed_replace_in_the_callers_transaction_keeps_the_old_set(void **state)
{
	struct fixture *f = *state;
	struct live_call_record r[3], bad[2];
	struct cdr_record cdr;
	struct walked w;

	memset(&cdr, 0, sizeof(cdr));
	snprintf(cdr.call_id, sizeof(cdr.call_id), "a@pbx");
	cdr.start_ms = 1000;
	cdr.result = 200;
	three_calls(r);
	assert_int_equal(store_live_calls_replace(f->s, r, 3, 5000), 0);

	bad[0] = live("x@pbx", "1001", "", 1000, 0, 0, 0);
	bad[1] = live("x@pbx", "1002", "", 2000, 0, 0, 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_cdr_add(f->s, &cdr), 0);
	assert_int_equal(store_live_calls_replace(f->s, bad, 2, 6000), EEXIST);
	assert_int_equal(store_commit(f->s), 0);

	assert_int_equal(walk(f->s, &w), 3);
	assert_string_equal(w.r[0].call_id, "a@pbx");
	assert_int_equal(w.r[0].seen_ms, 5000);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cdr"), 1);
}

static void migration_from_version_8(void **state)
{
	struct fixture *f = *state;
	struct live_call_record one = live("d@pbx", "1002", "sip2", 4000, 0, 1, 2);
	struct walked w;

	assert_int_equal(store_create_at_version(f->path, 8), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master"
					  " WHERE name = 'live_calls'"), 0);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_true(raw_int(f->path, "PRAGMA user_version") >= 9);
	assert_int_equal(store_live_calls_replace(f->s, &one, 1, 6000), 0);
	assert_int_equal(walk(f->s, &w), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(replace_then_walk_oldest_first),
		T(replace_drops_the_old_set),
		T(empty_table_walks_nothing),
		T(foreach_stops_on_the_callbacks_value),
		T(replace_joins_the_callers_transaction),
		T(bad_input_keeps_the_old_set),
		T(failed_replace_in_the_callers_transaction_keeps_the_old_set),
		cmocka_unit_test_setup_teardown(migration_from_version_8, setup_dir, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
