/* The per-extension SRTP policy and the per-leg SRTP flags of the CDR:
 * their words, the store round trip, the remote rule, and the migration of
 * a database written by the previous schema. Every test uses a real
 * database file; the old schema is built with SQLite directly, exactly as
 * the earlier version of the store created it. */
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
#include <sqlite3.h>

#include "store/store.h"

static void make_ext(struct ext_record *r, const char *ext)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ext, sizeof(r->ext), "%s", ext);
	memset(r->ha1.md5, 'a', DIGEST_MD5_HEX);
	memset(r->ha1.sha256, 'a', DIGEST_SHA256_HEX);
}

/* ---- the words ---- */

static void test_names_and_parse(void **state)
{
	static const struct {
		const char *word;
		enum ext_srtp v;
	} modes[] = {
		{ "optional", EXT_SRTP_OPTIONAL },
		{ "required", EXT_SRTP_REQUIRED },
		{ "off", EXT_SRTP_OFF },
	};
	static const char *const bad[] = {
		"", "Required", "OFF", "on", "yes", "optional ", " off", "require", "offf",
	};
	enum ext_srtp v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_string_equal(ext_srtp_name(modes[i].v), modes[i].word);
		v = (enum ext_srtp)99;
		assert_int_equal(ext_srtp_parse(modes[i].word, &v), 0);
		assert_int_equal(v, modes[i].v);
	}
	/* The default of a zeroed record is optional. */
	assert_int_equal(EXT_SRTP_OPTIONAL, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = EXT_SRTP_OFF;
		assert_int_equal(ext_srtp_parse(bad[i], &v), EINVAL);
		assert_int_equal(v, EXT_SRTP_OFF); /* untouched on failure */
	}
	assert_null(ext_srtp_name((enum ext_srtp)3));
	assert_null(ext_srtp_name((enum ext_srtp)-1));
}

/* ---- extensions ---- */

static void test_round_trip_every_mode(void **state)
{
	struct fixture *f = *state;
	static const enum ext_srtp modes[] = { EXT_SRTP_OPTIONAL, EXT_SRTP_REQUIRED, EXT_SRTP_OFF };
	struct ext_record r, got;
	size_t i;

	make_ext(&r, "1001");
	r.srtp = EXT_SRTP_OFF;
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_int_equal(got.srtp, EXT_SRTP_OFF);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		r.srtp = modes[i];
		assert_int_equal(store_ext_update(f->s, &r), 0);
		assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
		assert_int_equal(got.srtp, modes[i]);
	}
	/* Stored as the word, which is what an administrator reading the
	 * database with sqlite3 sees. */
	r.srtp = EXT_SRTP_OFF;
	assert_int_equal(store_ext_update(f->s, &r), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM extensions"
				 " WHERE ext = '1001' AND srtp = 'off'"), 1);
}

static int first_ext(const struct ext_record *r, void *arg)
{
	*(struct ext_record *)arg = *r;
	return 1;
}

static void test_foreach_reads_the_policy(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "1001");
	r.srtp = EXT_SRTP_REQUIRED;
	assert_int_equal(store_ext_add(f->s, &r), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_ext_foreach(f->s, first_ext, &got), 1);
	assert_string_equal(got.ext, "1001");
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
}

static void test_remote_must_be_required(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "2001");
	r.remote = true;
	r.srtp = EXT_SRTP_OPTIONAL;
	assert_int_equal(store_ext_add(f->s, &r), EINVAL);
	r.srtp = EXT_SRTP_OFF;
	assert_int_equal(store_ext_add(f->s, &r), EINVAL);
	assert_int_equal(store_ext_get(f->s, "2001", &got), ENOENT);
	r.srtp = EXT_SRTP_REQUIRED;
	assert_int_equal(store_ext_add(f->s, &r), 0);
	/* An update cannot weaken it either, and changes nothing. */
	r.srtp = EXT_SRTP_OFF;
	assert_int_equal(store_ext_update(f->s, &r), EINVAL);
	assert_int_equal(store_ext_get(f->s, "2001", &got), 0);
	assert_true(got.remote);
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
	/* A value outside the enum is refused, remote or not. */
	make_ext(&r, "1001");
	r.srtp = (enum ext_srtp)7;
	assert_int_equal(store_ext_add(f->s, &r), EINVAL);
}

static void test_schema_refuses_other_words(void **state)
{
	struct fixture *f = *state;
	struct ext_record r;

	make_ext(&r, "1001");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(raw_exec(f->path, "UPDATE extensions SET srtp = 'maybe'"),
			 SQLITE_CONSTRAINT);
	assert_int_equal(raw_exec(f->path, "UPDATE extensions SET srtp = NULL"),
			 SQLITE_CONSTRAINT);
}

static void test_hand_edited_remote_reads_as_required(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "2001");
	r.remote = true;
	r.srtp = EXT_SRTP_REQUIRED;
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(raw_exec(f->path, "UPDATE extensions SET srtp = 'off'"), SQLITE_OK);
	assert_int_equal(store_ext_get(f->s, "2001", &got), 0);
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
}

/* ---- CDR ---- */

static int collect_cdr(const struct cdr_record *r, void *arg)
{
	struct cdr_record *out = arg;
	unsigned i = 0;

	while (out[i].id)
		i++;
	if (i >= 3)
		return E2BIG;
	out[i] = *r;
	return 0;
}

static void test_cdr_legs_round_trip(void **state)
{
	struct fixture *f = *state;
	struct cdr_record c, got[4];
	static const bool legs[3][3] = {
		/* srtp, srtp_a, srtp_b */
		{ true, true, true },
		{ false, true, false },
		{ false, false, true },
	};
	unsigned i;

	for (i = 0; i < 3; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.caller, sizeof(c.caller), "1001");
		snprintf(c.callee, sizeof(c.callee), "1002");
		snprintf(c.call_id, sizeof(c.call_id), "call-%u", i);
		c.start_ms = 1000 + i;
		c.end_ms = 2000 + i;
		c.result = 200;
		c.srtp = legs[i][0];
		c.srtp_a = legs[i][1];
		c.srtp_b = legs[i][2];
		assert_int_equal(store_cdr_add(f->s, &c), 0);
	}
	memset(got, 0, sizeof(got));
	assert_int_equal(store_cdr_foreach(f->s, 0, collect_cdr, got), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(got[i].start_ms, 1000 + i);
		assert_int_equal(got[i].srtp, legs[i][0]);
		assert_int_equal(got[i].srtp_a, legs[i][1]);
		assert_int_equal(got[i].srtp_b, legs[i][2]);
	}
	memset(got, 0, sizeof(got));
	assert_int_equal(store_cdr_foreach_latest(f->s, 0, 1, collect_cdr, got), 0);
	assert_false(got[0].srtp_a);
	assert_true(got[0].srtp_b);
}

/* ---- migration from schema version 2 ---- */

/* The schema as versions 1 and 2 of the store created it. */
static const char old_schema[] =
	"CREATE TABLE extensions ("
	"  ext TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '',"
	"  ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL,"
	"  remote INTEGER NOT NULL DEFAULT 0 CHECK (remote IN (0, 1)),"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE ext_acl ("
	"  ext TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('permit', 'deny')),"
	"  cidr TEXT NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (ext, kind, pos));"
	"CREATE TABLE contacts ("
	"  ext TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,"
	"  contact TEXT NOT NULL, source TEXT NOT NULL, transport TEXT NOT NULL,"
	"  user_agent TEXT NOT NULL DEFAULT '', call_id TEXT NOT NULL,"
	"  cseq INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	"  registered_at INTEGER NOT NULL, PRIMARY KEY (ext, contact));"
	"CREATE INDEX contacts_expires ON contacts(expires_at);"
	"CREATE TABLE cdr ("
	"  id INTEGER PRIMARY KEY, caller TEXT NOT NULL, callee TEXT NOT NULL,"
	"  call_id TEXT NOT NULL, start_ms INTEGER NOT NULL,"
	"  answer_ms INTEGER NOT NULL DEFAULT 0, end_ms INTEGER NOT NULL,"
	"  duration_s INTEGER NOT NULL DEFAULT 0 CHECK (duration_s >= 0),"
	"  result INTEGER NOT NULL CHECK (result BETWEEN 0 AND 999),"
	"  hangup TEXT NOT NULL DEFAULT '',"
	"  packets_a INTEGER NOT NULL DEFAULT 0 CHECK (packets_a >= 0),"
	"  bytes_a INTEGER NOT NULL DEFAULT 0 CHECK (bytes_a >= 0),"
	"  packets_b INTEGER NOT NULL DEFAULT 0 CHECK (packets_b >= 0),"
	"  bytes_b INTEGER NOT NULL DEFAULT 0 CHECK (bytes_b >= 0),"
	"  dropped_foreign INTEGER NOT NULL DEFAULT 0 CHECK (dropped_foreign >= 0),"
	"  lost INTEGER NOT NULL DEFAULT 0 CHECK (lost >= 0),"
	"  srtp INTEGER NOT NULL DEFAULT 0 CHECK (srtp IN (0, 1)));"
	"CREATE INDEX cdr_start ON cdr(start_ms);"
	"PRAGMA user_version = 2;";

#define HA1_ROW(ext, remote) \
	"INSERT INTO extensions VALUES ('" ext "', 'old', " \
	"'" "0123456789abcdef0123456789abcdef" "', " \
	"'" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "', " \
	remote ", 100, 200);"

static const char old_rows[] =
	HA1_ROW("1001", "0")
	HA1_ROW("2001", "1")
	"INSERT INTO cdr (caller, callee, call_id, start_ms, end_ms, result, srtp)"
	"  VALUES ('1001', '1002', 'a@x', 10, 20, 200, 1),"
	"         ('1002', '1001', 'b@x', 30, 40, 486, 0);";

static int schema_version(const char *path)
{
	return raw_int(path, "PRAGMA user_version");
}

static void test_migration_from_version_2(void **state)
{
	struct fixture *f = *state;
	struct ext_record got;
	struct cdr_record c[4];

	assert_int_equal(raw_exec(f->path, old_schema), SQLITE_OK);
	assert_int_equal(raw_exec(f->path, old_rows), SQLITE_OK);
	assert_int_equal(schema_version(f->path), 2);

	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_true(schema_version(f->path) >= 3);
	/* A remote extension becomes required, the others optional. */
	assert_int_equal(store_ext_get(f->s, "2001", &got), 0);
	assert_true(got.remote);
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
	assert_int_equal(raw_int(f->path, "SELECT srtp = 'required' FROM extensions"
				 " WHERE ext = '2001'"), 1);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_false(got.remote);
	assert_int_equal(got.srtp, EXT_SRTP_OPTIONAL);
	assert_string_equal(got.name, "old");
	assert_int_equal(got.created, 100);
	/* The old srtp flag meant both legs: each leg takes its value. */
	memset(c, 0, sizeof(c));
	assert_int_equal(store_cdr_foreach(f->s, 0, collect_cdr, c), 0);
	assert_string_equal(c[0].call_id, "a@x");
	assert_true(c[0].srtp && c[0].srtp_a && c[0].srtp_b);
	assert_string_equal(c[1].call_id, "b@x");
	assert_false(c[1].srtp || c[1].srtp_a || c[1].srtp_b);
	assert_int_equal(c[2].id, 0);
	/* The migrated table takes new rows with the policy. */
	make_ext(&got, "1003");
	got.srtp = EXT_SRTP_OFF;
	assert_int_equal(store_ext_add(f->s, &got), 0);
	/* Opening again runs no migration twice. */
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_ext_get(f->s, "1003", &got), 0);
	assert_int_equal(got.srtp, EXT_SRTP_OFF);
	assert_int_equal(store_ext_get(f->s, "2001", &got), 0);
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cdr"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_parse),
		cmocka_unit_test_setup_teardown(test_round_trip_every_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_reads_the_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_must_be_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_refuses_other_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hand_edited_remote_reads_as_required, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cdr_legs_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_2, setup_dir, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
