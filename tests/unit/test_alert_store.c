/* The alert queue in the store: round trips, the order of delivery, the
 * refusal of bad rows, the bound, a restart that keeps rows and makes them
 * due, and a second connection (the worker's) seeing the first's rows.
 * Every test uses a real database file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rf-alertq-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ringfence.db", f->dir);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct alert_record rec(const char *kind, const char *subject, int64_t next_try)
{
	struct alert_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.subject, sizeof(r.subject), "%s", subject);
	snprintf(r.text, sizeof(r.text), "text of %s\nline two", subject);
	r.created = 1000;
	r.pending = ALERT_CH_EMAIL | ALERT_CH_WEBHOOK;
	r.next_try = next_try;
	return r;
}

static void round_trip_and_order(void **state)
{
	struct fixture *f = *state;
	struct alert_record a = rec("ban_added", "Banned 192.0.2.1", 50);
	struct alert_record b = rec("account_locked", "Extension 1001 locked", 10);
	struct alert_record c = rec("summary", "3 more bans", 10);
	struct alert_record got;
	unsigned n;

	assert_int_equal(store_alert_first(f->s, &got), ENOENT);
	assert_int_equal(store_alert_add(f->s, &a), 0);
	assert_int_equal(store_alert_add(f->s, &b), 0);
	assert_int_equal(store_alert_add(f->s, &c), 0);
	assert_true(a.id > 0 && b.id > a.id && c.id > b.id);
	assert_int_equal(store_alert_count(f->s, &n), 0);
	assert_int_equal(n, 3);
	/* Earliest next_try first, the older of a tie first. */
	assert_int_equal(store_alert_first(f->s, &got), 0);
	assert_int_equal(got.id, b.id);
	assert_string_equal(got.kind, "account_locked");
	assert_string_equal(got.subject, "Extension 1001 locked");
	assert_string_equal(got.text, "text of Extension 1001 locked\nline two");
	assert_int_equal(got.pending, 3);
	assert_int_equal(got.created, 1000);

	/* One channel took it, the other failed: retry later. */
	got.pending = ALERT_CH_WEBHOOK;
	got.attempts = 1;
	got.next_try = 100;
	snprintf(got.last_error, sizeof(got.last_error), "email: connection refused");
	assert_int_equal(store_alert_update(f->s, &got), 0);
	assert_int_equal(store_alert_first(f->s, &got), 0);
	assert_int_equal(got.id, c.id);
	assert_int_equal(store_alert_del(f->s, c.id), 0);
	assert_int_equal(store_alert_del(f->s, c.id), ENOENT);
	assert_int_equal(store_alert_first(f->s, &got), 0);
	assert_int_equal(got.id, a.id);
	assert_int_equal(store_alert_del(f->s, a.id), 0);
	assert_int_equal(store_alert_first(f->s, &got), 0);
	assert_int_equal(got.id, b.id);
	assert_int_equal(got.pending, ALERT_CH_WEBHOOK);
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.next_try, 100);
	assert_string_equal(got.last_error, "email: connection refused");
}

static void bad_rows_are_refused(void **state)
{
	struct fixture *f = *state;
	struct alert_record r = rec("ban_added", "x", 1);
	unsigned n;

	r.pending = 0;
	assert_int_equal(store_alert_add(f->s, &r), EINVAL);
	r.pending = 4;
	assert_int_equal(store_alert_add(f->s, &r), EINVAL);
	r = rec("", "x", 1);
	assert_int_equal(store_alert_add(f->s, &r), EINVAL);
	r = rec("ban_added", "x", 1);
	r.created = -1;
	assert_int_equal(store_alert_add(f->s, &r), EINVAL);
	r = rec("ban_added", "x", 1);
	r.id = 999;
	assert_int_equal(store_alert_update(f->s, &r), ENOENT);
	assert_int_equal(store_alert_count(f->s, &n), 0);
	assert_int_equal(n, 0);
}

static void the_queue_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct alert_record r;

	assert_int_equal(store_begin(f->s), 0);
	for (int i = 0; i < ALERT_QUEUE_MAX; i++) {
		r = rec("flood", "f", i);
		assert_int_equal(store_alert_add(f->s, &r), 0);
	}
	assert_int_equal(store_commit(f->s), 0);
	r = rec("flood", "one too many", 0);
	assert_int_equal(store_alert_add(f->s, &r), ENOSPC);
}

static int count_rows(const struct alert_record *r, void *arg)
{
	(void)r;
	(*(unsigned *)arg)++;
	return 0;
}

static void a_restart_keeps_rows_and_makes_them_due(void **state)
{
	struct fixture *f = *state;
	struct alert_record a = rec("ban_added", "a", 5000), b = rec("test", "b", 7000), got;
	struct store *worker;
	unsigned n = 0;

	/* The worker's own connection writes; the daemon's sees the rows. */
	assert_int_equal(store_open_existing(&worker, f->path, NULL), 0);
	assert_int_equal(store_alert_add(worker, &a), 0);
	assert_int_equal(store_alert_add(worker, &b), 0);
	store_close(worker);
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_alert_foreach(f->s, count_rows, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_alert_all_due(f->s, 100), 0);
	assert_int_equal(store_alert_first(f->s, &got), 0);
	assert_int_equal(got.id, a.id);
	assert_int_equal(got.next_try, 100);
	assert_int_equal(store_alert_del(f->s, a.id), 0);
	assert_int_equal(store_alert_first(f->s, &got), 0);
	assert_int_equal(got.next_try, 100);
	assert_string_equal(got.kind, "test");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_rows_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(the_queue_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(a_restart_keeps_rows_and_makes_them_due, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
