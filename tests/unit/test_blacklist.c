/* Blacklists in memory: loaded from a real store, matched by longest
 * prefix, the two directions apart, every spelling of a number meeting
 * its one entry once the numbering plan has normalised it, rows a hand
 * edit broke left out, and the cap on what is loaded. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "core/limits.h"
#include "fraud/blacklist.h"
#include "fraud/numplan.h"

static void put(struct store *s, enum blacklist_dir dir, const char *prefix, const char *reason)
{
	struct blacklist_record r = { .dir = dir, .created = 1 };

	snprintf(r.prefix, sizeof(r.prefix), "%s", prefix);
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	assert_int_equal(store_blacklist_put(s, &r), 0);
}

static const char *reason_of(const struct blacklist *b, const char *e164)
{
	const struct blacklist_record *r = blacklist_match(b, e164);

	return r ? r->reason : "none";
}

static void test_longest_prefix_gives_the_reason(void **state)
{
	struct fixture *f = *state;
	struct blacklist *b = NULL;

	put(f->s, BLACKLIST_DEST, "+44", "all of the UK");
	put(f->s, BLACKLIST_DEST, "+449", "premium");
	put(f->s, BLACKLIST_DEST, "+449098790000", "one number");
	put(f->s, BLACKLIST_DEST, "+882", "international networks");
	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &b), 0);
	assert_int_equal(blacklist_count(b), 4);
	assert_int_equal(blacklist_skipped(b), 0);
	assert_string_equal(reason_of(b, "+441632960000"), "all of the UK");
	assert_string_equal(reason_of(b, "+449098790001"), "premium");
	assert_string_equal(reason_of(b, "+449098790000"), "one number");
	assert_string_equal(reason_of(b, "+88216000000"), "international networks");
	assert_string_equal(blacklist_match(b, "+88216000000")->prefix, "+882");
	assert_string_equal(reason_of(b, "+33123456789"), "none");
	assert_string_equal(reason_of(b, "999"), "none");
	blacklist_free(b);
	blacklist_free(NULL);
}

static void test_directions_apart(void **state)
{
	struct fixture *f = *state;
	struct blacklist *dest = NULL, *caller = NULL;

	put(f->s, BLACKLIST_DEST, "+44909", "premium");
	put(f->s, BLACKLIST_CALLER, "+441632960666", "nuisance");
	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &dest), 0);
	assert_int_equal(blacklist_load(f->s, BLACKLIST_CALLER, &caller), 0);
	assert_string_equal(reason_of(dest, "+449098790000"), "premium");
	assert_string_equal(reason_of(dest, "+441632960666"), "none");
	assert_string_equal(reason_of(caller, "+441632960666"), "nuisance");
	assert_string_equal(reason_of(caller, "+449098790000"), "none");
	blacklist_free(dest);
	blacklist_free(caller);
}

static void test_empty_list_matches_nothing(void **state)
{
	struct fixture *f = *state;
	struct blacklist *b = NULL;

	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &b), 0);
	assert_int_equal(blacklist_count(b), 0);
	assert_null(blacklist_match(b, "+441632960000"));
	blacklist_free(b);
}

/* The schema admits any text of 2 to 16 characters; a row that is not
 * E.164 can only come from a hand edit and cannot match a normalised
 * number anyway, so it is left out and counted. */
static void test_broken_rows_skipped(void **state)
{
	struct fixture *f = *state;
	struct blacklist *b = NULL;

	put(f->s, BLACKLIST_DEST, "+972", "ok");
	assert_int_equal(raw_exec(f->path, "INSERT INTO blacklist VALUES ('dest', '0909', 'hand', 1),"
				  " ('dest', '+44 909', 'hand', 1)"), SQLITE_OK);
	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &b), 0);
	assert_int_equal(blacklist_count(b), 1);
	assert_int_equal(blacklist_skipped(b), 2);
	assert_string_equal(reason_of(b, "+972501234567"), "ok");
	blacklist_free(b);
}

static void test_cap(void **state)
{
	struct fixture *f = *state;
	struct blacklist *b = NULL;
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %u)"
		 " INSERT INTO blacklist SELECT 'dest', '+1' || i, 'r', 1 FROM n",
		 RF_MAX_BLACKLIST + 1);
	assert_int_equal(raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &b), E2BIG);
	assert_null(b);
	/* The other direction is its own list, with its own cap. */
	assert_int_equal(blacklist_load(f->s, BLACKLIST_CALLER, &b), 0);
	blacklist_free(b);
	assert_int_equal(raw_exec(f->path, "DELETE FROM blacklist WHERE prefix = '+11'"), SQLITE_OK);
	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &b), 0);
	assert_int_equal(blacklist_count(b), RF_MAX_BLACKLIST);
	blacklist_free(b);
}

/* ---- all spellings, through the numbering plan ---- */

static void normalise(const struct numplan *np, const char *in, char out[NUM_E164_MAX + 1])
{
	const char *why = NULL;

	if (numplan_normalise_prefix(np, in, strlen(in), out, &why) != 0)
		fail_msg("'%s' does not normalise: %s", in, why ? why : "?");
}

static const char *dialled(const struct numplan *np, const struct blacklist *b, const char *in)
{
	struct num_info info;
	const char *why = NULL;

	if (numplan_classify(np, in, strlen(in), &info, &why) != 0)
		fail_msg("'%s' is not a number: %s", in, why ? why : "?");
	return reason_of(b, info.e164);
}

/* What `blacklist add` stores for every spelling of a prefix is one row,
 * and every spelling of a dialled number meets it. */
static void test_all_spellings_meet_one_entry(void **state)
{
	static const char *const uk[] = { "0909", "+44909", "0044909", "+44 909", "00 44 909" };
	static const char *const il[] = { "00972", "+972", "+(972)", "00-972" };
	struct fixture *f = *state;
	struct numplan *np = NULL;
	struct blacklist *b = NULL;
	const char *why = NULL;
	char e164[NUM_E164_MAX + 1];
	size_t n = 99;

	assert_int_equal(numplan_alloc(&np, "GB", &why), 0);
	for (size_t i = 0; i < sizeof(uk) / sizeof(uk[0]); i++) {
		normalise(np, uk[i], e164);
		assert_string_equal(e164, "+44909");
		put(f->s, BLACKLIST_DEST, e164, "premium");
	}
	for (size_t i = 0; i < sizeof(il) / sizeof(il[0]); i++) {
		normalise(np, il[i], e164);
		assert_string_equal(e164, "+972");
		put(f->s, BLACKLIST_DEST, e164, "Israel");
	}
	assert_int_equal(store_blacklist_count(f->s, BLACKLIST_DEST, &n), 0);
	assert_int_equal(n, 2);
	/* A bare country code could be a national number: refused. */
	assert_int_equal(numplan_normalise_prefix(np, "972", 3, e164, &why), EINVAL);
	assert_int_equal(blacklist_load(f->s, BLACKLIST_DEST, &b), 0);
	assert_string_equal(dialled(np, b, "09098790000"), "premium");
	assert_string_equal(dialled(np, b, "+449098790000"), "premium");
	assert_string_equal(dialled(np, b, "00449098790000"), "premium");
	assert_string_equal(dialled(np, b, "0909 879 0000"), "premium");
	assert_string_equal(dialled(np, b, "00972501234567"), "Israel");
	assert_string_equal(dialled(np, b, "+972501234567"), "Israel");
	assert_string_equal(dialled(np, b, "972501234567"), "Israel");
	assert_string_equal(dialled(np, b, "01632960000"), "none");
	blacklist_free(b);
	numplan_free(np);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_longest_prefix_gives_the_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directions_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_list_matches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_rows_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_spellings_meet_one_entry, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
