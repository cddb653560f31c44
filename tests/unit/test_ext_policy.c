/* The per-extension calling policy in the store (S11, S13, S14): the
 * class-of-service words, the round trip of every field, defaults for an
 * extension that never set them, the checks the store itself makes, and
 * a database from the previous schema gaining the columns with their
 * defaults. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "store/db.h"
#include "store/store.h"

static void make_ext(struct ext_record *r, const char *ext)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ext, sizeof(r->ext), "%s", ext);
	memset(r->ha1.md5, 'a', DIGEST_MD5_HEX);
	memset(r->ha1.sha256, 'a', DIGEST_SHA256_HEX);
}

static void test_cos_words(void **state)
{
	enum ext_cos v;

	(void)state;
	assert_int_equal(ext_cos_parse("national", &v), 0);
	assert_int_equal(v, EXT_COS_NATIONAL);
	assert_int_equal(ext_cos_parse("internal", &v), 0);
	assert_int_equal(v, EXT_COS_INTERNAL);
	assert_int_equal(ext_cos_parse("international", &v), 0);
	assert_int_equal(v, EXT_COS_INTERNATIONAL);
	assert_string_equal(ext_cos_name(EXT_COS_INTERNATIONAL), "international");
	assert_int_equal(ext_cos_parse("National", &v), EINVAL);
	assert_int_equal(ext_cos_parse("", &v), EINVAL);
	assert_int_equal(ext_cos_parse(NULL, &v), EINVAL);
	assert_null(ext_cos_name((enum ext_cos)3));
}

/* A zeroed record is the safe default: national, nothing extra allowed,
 * the configured caps, not suspended. */
static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "1001");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_int_equal(got.cos, EXT_COS_NATIONAL);
	assert_string_equal(got.allow_classes, "");
	assert_string_equal(got.countries, "");
	assert_string_equal(got.caller_id, "");
	assert_int_equal(got.daily_cap, 0);
	assert_int_equal(got.monthly_cap, 0);
	assert_false(got.suspended);
	assert_string_equal(got.suspended_why, "");
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "1002");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	r.cos = EXT_COS_INTERNATIONAL;
	snprintf(r.allow_classes, sizeof(r.allow_classes), "premium,directory");
	snprintf(r.countries, sizeof(r.countries), "FR,DE,IE");
	snprintf(r.caller_id, sizeof(r.caller_id), "+441632960001");
	r.daily_cap = 20000000;
	r.monthly_cap = 200000000;
	r.suspended = true;
	snprintf(r.suspended_why, sizeof(r.suspended_why), "burst of 30 calls");
	assert_int_equal(store_ext_update(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "1002", &got), 0);
	assert_int_equal(got.cos, EXT_COS_INTERNATIONAL);
	assert_string_equal(got.allow_classes, "premium,directory");
	assert_string_equal(got.countries, "FR,DE,IE");
	assert_string_equal(got.caller_id, "+441632960001");
	assert_int_equal(got.daily_cap, 20000000);
	assert_int_equal(got.monthly_cap, 200000000);
	assert_true(got.suspended);
	assert_string_equal(got.suspended_why, "burst of 30 calls");
}

static void test_bad_values_are_refused(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "1003");
	r.cos = (enum ext_cos)7;
	assert_int_equal(store_ext_add(f->s, &r), EINVAL);
	make_ext(&r, "1003");
	r.daily_cap = -5;
	assert_int_equal(store_ext_add(f->s, &r), EINVAL);
	assert_int_equal(store_ext_get(f->s, "1003", &got), ENOENT);
	/* A word the schema does not know, written by hand, reads as the
	 * narrowest class rather than failing the directory. */
	make_ext(&r, "1004");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_not_equal(raw_exec(f->path, "UPDATE extensions SET cos = 'everything'"
				      " WHERE ext = '1004'"), SQLITE_OK);
	assert_int_equal(raw_exec(f->path, "PRAGMA ignore_check_constraints = 1;"
				  " UPDATE extensions SET cos = 'everything' WHERE ext = '1004'"),
			 SQLITE_OK);
	assert_int_equal(store_ext_get(f->s, "1004", &got), 0);
	assert_int_equal(got.cos, EXT_COS_INTERNAL);
}

/* An extension written by schema 5 gains the policy columns at their
 * defaults and keeps everything else. */
static void test_migration_from_version_5(void **state)
{
	struct fixture *f = *state;
	struct ext_record got;

	assert_int_equal(store_create_at_version(f->path, 5), 0);
	assert_int_equal(raw_exec(f->path, "INSERT INTO extensions (ext, name, ha1_md5, ha1_sha256,"
				  " created, updated, srtp) VALUES ('1005', 'old', 'a', 'a', 1, 1,"
				  " 'required')"), SQLITE_OK);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_ext_get(f->s, "1005", &got), 0);
	assert_string_equal(got.name, "old");
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
	assert_int_equal(got.cos, EXT_COS_NATIONAL);
	assert_false(got.suspended);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cos_words),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_5, setup_dir, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
