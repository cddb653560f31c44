/* Bans and account locks in the store: round trips, replacement, the
 * errors, the refusal of anything but canonical rows, purge, ordering, a
 * restart, another connection's change seen through data_version, and the
 * migration of a database written by the previous schema. Every test uses
 * a real database file. */
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

#include "store/db.h"
#include "store/store.h"

static struct ban_record ban(const char *addr, int64_t created, int64_t until,
			     unsigned level, const char *reason)
{
	struct ban_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.addr, sizeof(r.addr), "%s", addr);
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	r.created = created;
	r.until = until;
	r.level = level;
	return r;
}

static struct lock_record lock(const char *ext, int64_t created, int64_t until,
			       unsigned failures, unsigned sources)
{
	struct lock_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ext, sizeof(r.ext), "%s", ext);
	r.created = created;
	r.until = until;
	r.failures = failures;
	r.sources = sources;
	return r;
}

static int count(const char *path, const char *table)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return raw_int(path, sql);
}

/* ---- bans ---- */

static void test_ban_round_trip(void **state)
{
	struct fixture *f = *state;
	struct ban_record in4 = ban("203.0.113.5", 1000, 1900, 0, "auth_failures");
	struct ban_record in6 = ban("2001:db8::1", 2000, 2000 + 86400, 3, "scan");
	struct ban_record got;

	assert_int_equal(store_ban_put(f->s, &in4), 0);
	assert_int_equal(store_ban_put(f->s, &in6), 0);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_ban_get(f->s, "203.0.113.5", &got), 0);
	assert_string_equal(got.addr, "203.0.113.5");
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.until, 1900);
	assert_int_equal(got.level, 0);
	assert_string_equal(got.reason, "auth_failures");
	assert_int_equal(store_ban_get(f->s, "2001:db8::1", &got), 0);
	assert_int_equal(got.created, 2000);
	assert_int_equal(got.until, 2000 + 86400);
	assert_int_equal(got.level, 3);
	assert_string_equal(got.reason, "scan");
	/* The longest address inet_ntop writes, and the longest reason. */
	in6 = ban("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 1, 2, 0, "abcdefghijklmno");
	assert_int_equal(store_ban_put(f->s, &in6), 0);
	assert_int_equal(store_ban_get(f->s, in6.addr, &got), 0);
	assert_string_equal(got.reason, "abcdefghijklmno");
	assert_int_equal(count(f->path, "bans"), 3);
}

static void test_ban_put_replaces(void **state)
{
	struct fixture *f = *state;
	struct ban_record r = ban("198.51.100.7", 100, 1000, 0, "auth_failures");
	struct ban_record got;

	assert_int_equal(store_ban_put(f->s, &r), 0);
	r = ban("198.51.100.7", 5000, 5000 + 1800, 1, "flood");
	assert_int_equal(store_ban_put(f->s, &r), 0);
	assert_int_equal(count(f->path, "bans"), 1);
	assert_int_equal(store_ban_get(f->s, "198.51.100.7", &got), 0);
	assert_int_equal(got.created, 5000);
	assert_int_equal(got.until, 6800);
	assert_int_equal(got.level, 1);
	assert_string_equal(got.reason, "flood");
}

static void test_ban_enoent(void **state)
{
	struct fixture *f = *state;
	struct ban_record r = ban("192.0.2.1", 1, 2, 0, "manual");
	struct ban_record got;

	assert_int_equal(store_ban_get(f->s, "192.0.2.1", &got), ENOENT);
	assert_int_equal(store_ban_del(f->s, "192.0.2.1"), ENOENT);
	assert_int_equal(store_ban_put(f->s, &r), 0);
	assert_int_equal(store_ban_del(f->s, "192.0.2.1"), 0);
	assert_int_equal(store_ban_get(f->s, "192.0.2.1", &got), ENOENT);
	assert_int_equal(store_ban_del(f->s, "192.0.2.1"), ENOENT);
	assert_int_equal(count(f->path, "bans"), 0);
}

/* One address has one spelling, so the engine's lookups by text work:
 * every other spelling, and every malformed row, is refused unwritten. */
static void test_ban_refuses_bad_rows(void **state)
{
	static const char *const bad_addr[] = {
		"", "x", "203.0.113.5:5060", "[2001:db8::1]", "[2001:db8::1]:5060",
		"10.0.0.0/8", "2001:db8::/32", "2001:DB8::1", "2001:db8:0::1",
		"::ffff:203.0.113.5", "203.000.113.5", " 203.0.113.5", "203.0.113.5 ",
		"fe80::1%eth0", "localhost", "1.2.3",
	};
	static const char *const bad_reason[] = {
		"", "Manual", "two words", "auth-failures", "reason=x", "caf\xc3\xa9",
	};
	struct fixture *f = *state;
	struct ban_record r;
	size_t i;

	for (i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		r = ban(bad_addr[i], 1, 2, 0, "manual");
		assert_int_equal(store_ban_put(f->s, &r), EINVAL);
	}
	for (i = 0; i < sizeof(bad_reason) / sizeof(bad_reason[0]); i++) {
		r = ban("192.0.2.1", 1, 2, 0, bad_reason[i]);
		assert_int_equal(store_ban_put(f->s, &r), EINVAL);
	}
	/* A field without its NUL is refused, not read past. */
	r = ban("192.0.2.1", 1, 2, 0, "manual");
	memset(r.reason, 'a', sizeof(r.reason));
	assert_int_equal(store_ban_put(f->s, &r), EINVAL);
	r = ban("192.0.2.1", 1, 2, 0, "manual");
	memset(r.addr, '1', sizeof(r.addr));
	assert_int_equal(store_ban_put(f->s, &r), EINVAL);
	/* A ban that ends before it begins, or before 1970. */
	r = ban("192.0.2.1", 100, 99, 0, "manual");
	assert_int_equal(store_ban_put(f->s, &r), EINVAL);
	r = ban("192.0.2.1", -1, 99, 0, "manual");
	assert_int_equal(store_ban_put(f->s, &r), EINVAL);
	assert_int_equal(count(f->path, "bans"), 0);
	/* The schema holds the same line against a row written by hand. */
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO bans VALUES ('192.0.2.1', 100, 99, 0, 'manual')"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO bans VALUES ('192.0.2.1', 1, 2, -1, 'manual')"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(f->path, "INSERT INTO bans VALUES ('192.0.2.1', 1, 2, 0, '')"),
			     SQLITE_OK);
	assert_int_equal(count(f->path, "bans"), 0);
}

struct collected {
	char keys[8][BAN_ADDR_MAX];
	unsigned n;
	unsigned stop_after; /* 0: never stop */
};

static int collect_ban(const struct ban_record *r, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", r->addr);
	c->n++;
	return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_ban_foreach_order_and_stop(void **state)
{
	static const char *const addrs[] = {
		"203.0.113.5", "10.0.0.1", "2001:db8::2", "192.0.2.200", "::1",
	};
	static const char *const sorted[] = {
		"10.0.0.1", "192.0.2.200", "2001:db8::2", "203.0.113.5", "::1",
	};
	struct fixture *f = *state;
	struct collected c;
	struct ban_record r;
	size_t i;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_ban_foreach(f->s, collect_ban, &c), 0);
	assert_int_equal(c.n, 0);
	for (i = 0; i < 5; i++) {
		/* Expired rows are listed too: they carry the repeat count. */
		r = ban(addrs[i], 10, i % 2 ? 20 : 4000000000, (unsigned)i, "manual");
		assert_int_equal(store_ban_put(f->s, &r), 0);
	}
	assert_int_equal(store_ban_foreach(f->s, collect_ban, &c), 0);
	assert_int_equal(c.n, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(c.keys[i], sorted[i]);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(store_ban_foreach(f->s, collect_ban, &c), 42);
	assert_int_equal(c.n, 2);
}

static void test_ban_purge(void **state)
{
	struct fixture *f = *state;
	struct ban_record r, got;

	r = ban("192.0.2.1", 10, 99, 2, "auth_failures");
	assert_int_equal(store_ban_put(f->s, &r), 0);
	r = ban("192.0.2.2", 10, 100, 0, "auth_failures");
	assert_int_equal(store_ban_put(f->s, &r), 0);
	r = ban("192.0.2.3", 10, 5000, 1, "flood");
	assert_int_equal(store_ban_put(f->s, &r), 0);
	assert_int_equal(store_ban_purge(f->s, 100), 0);
	/* Ended before 100: gone. Ending at 100 or later: kept. */
	assert_int_equal(store_ban_get(f->s, "192.0.2.1", &got), ENOENT);
	assert_int_equal(store_ban_get(f->s, "192.0.2.2", &got), 0);
	assert_int_equal(store_ban_get(f->s, "192.0.2.3", &got), 0);
	assert_int_equal(store_ban_purge(f->s, 100), 0);
	assert_int_equal(count(f->path, "bans"), 2);
	assert_int_equal(store_ban_purge(f->s, 10000), 0);
	assert_int_equal(count(f->path, "bans"), 0);
}

/* Bans and locks survive a restart, and a change by another connection
 * (the CLI) moves the daemon's data_version, which is how it sees it. */
static void test_survives_reopen_and_moves_data_version(void **state)
{
	struct fixture *f = *state;
	struct ban_record r = ban("2001:db8::7", 10, 4000000000, 4, "glitches");
	struct lock_record l = lock("1001", 20, 4000000000, 23, 5);
	struct ban_record gb;
	struct lock_record gl;
	struct store *cli;
	uint64_t v0, v1;

	assert_int_equal(store_data_version(f->s, &v0), 0);
	assert_int_equal(store_open(&cli, f->path, NULL), 0);
	assert_int_equal(store_ban_put(cli, &r), 0);
	assert_int_equal(store_lock_put(cli, &l), 0);
	store_close(cli);
	assert_int_equal(store_data_version(f->s, &v1), 0);
	assert_true(v1 != v0);

	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_ban_get(f->s, "2001:db8::7", &gb), 0);
	assert_int_equal(gb.level, 4);
	assert_string_equal(gb.reason, "glitches");
	assert_int_equal(store_lock_get(f->s, "1001", &gl), 0);
	assert_int_equal(gl.failures, 23);
	assert_int_equal(gl.sources, 5);
}

/* ---- account locks ---- */

static void test_lock_round_trip_replace_enoent(void **state)
{
	struct fixture *f = *state;
	struct lock_record r = lock("1001", 1000, 4600, 20, 3);
	struct lock_record got;

	assert_int_equal(store_lock_get(f->s, "1001", &got), ENOENT);
	assert_int_equal(store_lock_del(f->s, "1001"), ENOENT);
	assert_int_equal(store_lock_put(f->s, &r), 0);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_lock_get(f->s, "1001", &got), 0);
	assert_string_equal(got.ext, "1001");
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.until, 4600);
	assert_int_equal(got.failures, 20);
	assert_int_equal(got.sources, 3);
	r = lock("1001", 2000, 9000, 57, 11);
	assert_int_equal(store_lock_put(f->s, &r), 0);
	assert_int_equal(count(f->path, "ext_locks"), 1);
	assert_int_equal(store_lock_get(f->s, "1001", &got), 0);
	assert_int_equal(got.created, 2000);
	assert_int_equal(got.until, 9000);
	assert_int_equal(got.failures, 57);
	assert_int_equal(got.sources, 11);
	assert_int_equal(store_lock_del(f->s, "1001"), 0);
	assert_int_equal(store_lock_get(f->s, "1001", &got), ENOENT);
	assert_int_equal(store_lock_del(f->s, "1001"), ENOENT);
}

static void test_lock_refuses_bad_rows(void **state)
{
	struct fixture *f = *state;
	struct lock_record r;

	r = lock("", 1, 2, 0, 0);
	assert_int_equal(store_lock_put(f->s, &r), EINVAL);
	r = lock("1001", 5, 4, 0, 0);
	assert_int_equal(store_lock_put(f->s, &r), EINVAL);
	r = lock("1001", -5, 4, 0, 0);
	assert_int_equal(store_lock_put(f->s, &r), EINVAL);
	r = lock("1001", 1, 2, 0, 0);
	memset(r.ext, '7', sizeof(r.ext));
	assert_int_equal(store_lock_put(f->s, &r), EINVAL);
	assert_int_equal(count(f->path, "ext_locks"), 0);
}

static int collect_lock(const struct lock_record *r, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", r->ext);
	c->n++;
	return c->stop_after && c->n == c->stop_after ? 7 : 0;
}

static void test_lock_foreach_order_and_stop(void **state)
{
	static const char *const exts[] = { "2001", "1001", "reception", "1002" };
	static const char *const sorted[] = { "1001", "1002", "2001", "reception" };
	struct fixture *f = *state;
	struct lock_record r;
	struct collected c;
	size_t i;

	for (i = 0; i < 4; i++) {
		r = lock(exts[i], 10, i == 1 ? 20 : 4000000000, 20, 3);
		assert_int_equal(store_lock_put(f->s, &r), 0);
	}
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_lock_foreach(f->s, collect_lock, &c), 0);
	assert_int_equal(c.n, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(c.keys[i], sorted[i]);
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	assert_int_equal(store_lock_foreach(f->s, collect_lock, &c), 7);
	assert_int_equal(c.n, 1);
}

static void make_ext(struct ext_record *r, const char *ext)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ext, sizeof(r->ext), "%s", ext);
	memset(r->ha1.md5, 'a', DIGEST_MD5_HEX);
	memset(r->ha1.sha256, 'a', DIGEST_SHA256_HEX);
}

/* No foreign key: a lock may name an extension that does not exist (it is
 * ignored). Deleting an extension takes its lock with it, so that a new
 * extension of the same name does not start out locked; other locks stay. */
static void test_lock_goes_with_its_extension(void **state)
{
	struct fixture *f = *state;
	struct lock_record r = lock("9999", 1, 4000000000, 20, 3), got;
	struct ext_record e;

	assert_int_equal(store_lock_put(f->s, &r), 0);
	make_ext(&e, "1001");
	assert_int_equal(store_ext_add(f->s, &e), 0);
	r = lock("1001", 1, 4000000000, 20, 3);
	assert_int_equal(store_lock_put(f->s, &r), 0);
	assert_int_equal(store_ext_del(f->s, "1001"), 0);
	assert_int_equal(store_ext_del(f->s, "1001"), ENOENT);
	assert_int_equal(store_lock_get(f->s, "1001", &got), ENOENT);
	assert_int_equal(store_lock_get(f->s, "9999", &got), 0);
	/* An extension never locked is deleted as well. */
	assert_int_equal(store_ext_add(f->s, &e), 0);
	assert_int_equal(store_ext_del(f->s, "1001"), 0);
}

/* ---- migration ---- */

/* A database as version 3 left it gains the two tables (and the index
 * that goes with bans) and keeps its rows. */
static void test_migration_from_version_3(void **state)
{
	struct fixture *f = *state;
	struct ban_record r = ban("192.0.2.9", 1, 2, 0, "manual"), got;
	struct ext_record e;

	assert_int_equal(store_create_at_version(f->path, 3), 0);
	assert_int_equal(raw_exec(f->path, "INSERT INTO extensions (ext, name, ha1_md5, ha1_sha256,"
				  " created, updated) VALUES ('1001', 'old', 'a', 'a', 1, 1)"), SQLITE_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master"
				 " WHERE name IN ('bans', 'ext_locks', 'bans_until')"), 0);

	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_true(raw_int(f->path, "PRAGMA user_version") >= 4);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master"
				 " WHERE name IN ('bans', 'ext_locks', 'bans_until')"), 3);
	assert_int_equal(store_ext_get(f->s, "1001", &e), 0);
	assert_string_equal(e.name, "old");
	assert_int_equal(store_ban_put(f->s, &r), 0);
	/* Opening again runs no migration twice and keeps the rows. */
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_ban_get(f->s, "192.0.2.9", &got), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ban_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban_put_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban_refuses_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban_foreach_order_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_reopen_and_moves_data_version,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_round_trip_replace_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_refuses_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_foreach_order_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_goes_with_its_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_3, setup_dir, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
