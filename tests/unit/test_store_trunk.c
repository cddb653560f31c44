/* Trunks, DIDs and outbound routes in the store: round trips, the
 * errors (EEXIST, ENOENT, EBUSY, ERANGE, EINVAL), the order of a trunk's
 * addresses, route positions moving on insert and delete, DIDs going with
 * their extension, and all-or-nothing writes when a statement fails
 * halfway. Every test uses a real database file. */
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

static struct acl_cidr cidr(const char *text)
{
	struct acl_cidr c;

	assert_int_equal(acl_cidr_parse(text, &c, NULL), 0);
	return c;
}

static struct trunk_record trunk(const char *name, const char *host)
{
	struct trunk_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.host, sizeof(r.host), "%s", host);
	snprintf(r.transport, sizeof(r.transport), "udp");
	r.max_calls = 30;
	return r;
}

static struct route_record route(unsigned pos, const char *pattern, const char *trunk_name)
{
	struct route_record r;

	memset(&r, 0, sizeof(r));
	r.pos = pos;
	snprintf(r.pattern, sizeof(r.pattern), "%s", pattern);
	snprintf(r.trunk, sizeof(r.trunk), "%s", trunk_name);
	return r;
}

static struct did_record did(const char *number, const char *ext)
{
	struct did_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.number, sizeof(r.number), "%s", number);
	snprintf(r.ext, sizeof(r.ext), "%s", ext);
	return r;
}

static void add_ext(struct store *s, const char *ext)
{
	struct ext_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ext, sizeof(r.ext), "%s", ext);
	memset(r.ha1.md5, 'a', DIGEST_MD5_HEX);
	memset(r.ha1.sha256, 'b', DIGEST_SHA256_HEX);
	assert_int_equal(store_ext_add(s, &r), 0);
}

/* The routes as "pos:pattern" joined by spaces, in stored order. */
struct route_list {
	char text[512];
	unsigned n;
};

static int list_route(const struct route_record *r, void *arg)
{
	struct route_list *l = arg;
	size_t used = strlen(l->text);

	snprintf(l->text + used, sizeof(l->text) - used, "%s%u:%s", used ? " " : "", r->pos,
		 r->pattern);
	l->n++;
	return 0;
}

static const char *routes(struct store *s)
{
	static struct route_list l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_route_foreach(s, list_route, &l), 0);
	return l.text;
}

static void add_routes(struct store *s, const char *const *patterns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct route_record r = route(0, patterns[i], "main");

		assert_int_equal(store_route_add(s, &r), 0);
		assert_int_equal(r.pos, i + 1);
	}
}

/* ---- trunks ---- */

static void test_trunk_round_trip(void **state)
{
	struct fixture *f = *state;
	struct trunk_record in = trunk("voip-uk_1", "sip.example.net"), got;

	in.port = 5080;
	snprintf(in.transport, sizeof(in.transport), "tls");
	in.reg = true;
	snprintf(in.username, sizeof(in.username), "acct-4471");
	snprintf(in.password, sizeof(in.password), "pr0v1der secret;\"'");
	in.ips[0] = cidr("203.0.113.0/24");
	in.ips[1] = cidr("2001:db8::/32");
	in.ips[2] = cidr("198.51.100.7");
	in.nips = 3;
	in.max_calls = 10000;
	in.daily_cap = 20000000;
	in.monthly_cap = 300000000;
	in.created = 1000;
	assert_int_equal(store_trunk_add(f->s, &in), 0);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_trunk_get(f->s, "voip-uk_1", &got), 0);
	assert_string_equal(got.name, "voip-uk_1");
	assert_string_equal(got.host, "sip.example.net");
	assert_int_equal(got.port, 5080);
	assert_string_equal(got.transport, "tls");
	assert_true(got.reg);
	assert_string_equal(got.username, "acct-4471");
	assert_string_equal(got.password, "pr0v1der secret;\"'");
	assert_int_equal(got.nips, 3);
	/* The order given, not the order of the addresses. */
	assert_memory_equal(&got.ips[0], &in.ips[0], sizeof(in.ips[0]));
	assert_memory_equal(&got.ips[1], &in.ips[1], sizeof(in.ips[1]));
	assert_memory_equal(&got.ips[2], &in.ips[2], sizeof(in.ips[2]));
	assert_int_equal(got.max_calls, 10000);
	assert_int_equal(got.daily_cap, 20000000);
	assert_int_equal(got.monthly_cap, 300000000);
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.updated, 1000);
	/* An IP-authenticated trunk: no credentials, defaults. */
	in = trunk("ipt", "192.0.2.10");
	assert_int_equal(store_trunk_add(f->s, &in), 0);
	assert_int_equal(store_trunk_get(f->s, "ipt", &got), 0);
	assert_false(got.reg);
	assert_string_equal(got.username, "");
	assert_string_equal(got.password, "");
	assert_int_equal(got.nips, 0);
	assert_int_equal(got.port, 0);
	assert_int_equal(got.daily_cap, 0);
	assert_true(got.created > 1000);
}

static void test_trunk_exists_and_missing(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r = trunk("main", "sip.example.net"), got;

	assert_int_equal(store_trunk_add(f->s, &r), 0);
	r = trunk("main", "other.example.net");
	assert_int_equal(store_trunk_add(f->s, &r), EEXIST);
	assert_int_equal(store_trunk_get(f->s, "main", &got), 0);
	assert_string_equal(got.host, "sip.example.net");
	assert_int_equal(store_trunk_get(f->s, "nope", &got), ENOENT);
	assert_int_equal(store_trunk_get(f->s, "Main", &got), ENOENT);
	r = trunk("nope", "x.example.net");
	assert_int_equal(store_trunk_update(f->s, &r), ENOENT);
	assert_int_equal(store_trunk_del(f->s, "nope"), ENOENT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM trunks"), 1);
}

static void test_trunk_update_replaces_addresses(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r = trunk("main", "sip.example.net"), got;

	r.ips[0] = cidr("203.0.113.0/24");
	r.ips[1] = cidr("198.51.100.0/24");
	r.nips = 2;
	r.created = r.updated = 500;
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	r.ips[0] = cidr("192.0.2.1");
	r.nips = 1;
	snprintf(r.host, sizeof(r.host), "sip2.example.net");
	r.updated = 900;
	assert_int_equal(store_trunk_update(f->s, &r), 0);
	assert_int_equal(store_trunk_get(f->s, "main", &got), 0);
	assert_string_equal(got.host, "sip2.example.net");
	assert_int_equal(got.nips, 1);
	assert_memory_equal(&got.ips[0], &r.ips[0], sizeof(r.ips[0]));
	assert_int_equal(got.created, 500);
	assert_int_equal(got.updated, 900);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM trunk_ips"), 1);
}

static void test_trunk_refuses_bad_records(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r;

	r = trunk("", "h");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("a b", "h");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("a.b", "h");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "h");
	snprintf(r.transport, sizeof(r.transport), "sct");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "h");
	r.port = 65536;
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "h");
	r.reg = true;
	snprintf(r.username, sizeof(r.username), "u");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL); /* no password */
	r = trunk("ok", "h");
	snprintf(r.password, sizeof(r.password), "p");
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL); /* credentials, no register */
	r = trunk("ok", "h");
	r.nips = TRUNK_MAX_IPS + 1;
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "h");
	r.daily_cap = -1;
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "h");
	memset(r.host, 'h', sizeof(r.host)); /* not terminated */
	assert_int_equal(store_trunk_add(f->s, &r), EINVAL);
	r = trunk("ok", "h");
	r.reg = true;
	snprintf(r.username, sizeof(r.username), "u");
	snprintf(r.password, sizeof(r.password), "p");
	assert_int_equal(store_trunk_update(f->s, &(struct trunk_record){ 0 }), EINVAL);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM trunks"), 0);
	assert_int_equal(store_trunk_add(f->s, &r), 0);
}

struct names {
	char text[256];
	int stop_after;
	int seen;
};

static int collect_trunk(const struct trunk_record *r, void *arg)
{
	struct names *n = arg;
	size_t used = strlen(n->text);

	snprintf(n->text + used, sizeof(n->text) - used, "%s%s/%u", used ? " " : "", r->name,
		 r->nips);
	return ++n->seen == n->stop_after ? 42 : 0;
}

static void test_trunk_foreach_order_and_stop(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r;
	struct names n;

	r = trunk("zeta", "z.example.net");
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	r = trunk("alpha", "a.example.net");
	r.ips[0] = cidr("192.0.2.0/24");
	r.ips[1] = cidr("198.51.100.0/24");
	r.nips = 2;
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	r = trunk("mid", "m.example.net");
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	memset(&n, 0, sizeof(n));
	assert_int_equal(store_trunk_foreach(f->s, collect_trunk, &n), 0);
	assert_string_equal(n.text, "alpha/2 mid/0 zeta/0");
	memset(&n, 0, sizeof(n));
	n.stop_after = 2;
	assert_int_equal(store_trunk_foreach(f->s, collect_trunk, &n), 42);
	assert_string_equal(n.text, "alpha/2 mid/0");
}

static void test_trunk_del_busy_while_routed(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r = trunk("main", "sip.example.net");
	struct route_record rt = route(0, "0.", "main");

	r.ips[0] = cidr("192.0.2.0/24");
	r.nips = 1;
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	assert_int_equal(store_route_add(f->s, &rt), 0);
	assert_int_equal(store_trunk_del(f->s, "main"), EBUSY);
	assert_int_equal(store_trunk_get(f->s, "main", &r), 0);
	assert_int_equal(r.nips, 1);
	assert_int_equal(store_route_del(f->s, 1), 0);
	assert_int_equal(store_trunk_del(f->s, "main"), 0);
	assert_int_equal(store_trunk_get(f->s, "main", &r), ENOENT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM trunk_ips"), 0);
}

/* A failure at the second address leaves no trunk and no first address. */
static void test_trunk_add_is_atomic(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r = trunk("main", "sip.example.net"), got;

	assert_int_equal(raw_exec(f->path, "CREATE TRIGGER boom BEFORE INSERT ON trunk_ips"
				  " WHEN NEW.pos = 1 BEGIN SELECT RAISE(ABORT, 'boom'); END"),
			 SQLITE_OK);
	r.ips[0] = cidr("192.0.2.0/24");
	r.ips[1] = cidr("198.51.100.0/24");
	r.nips = 2;
	assert_int_not_equal(store_trunk_add(f->s, &r), 0);
	assert_int_equal(store_trunk_get(f->s, "main", &got), ENOENT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM trunk_ips"), 0);
	/* An update failing the same way keeps the old addresses. */
	r.nips = 1;
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	r.nips = 2;
	snprintf(r.host, sizeof(r.host), "changed.example.net");
	assert_int_not_equal(store_trunk_update(f->s, &r), 0);
	assert_int_equal(store_trunk_get(f->s, "main", &got), 0);
	assert_string_equal(got.host, "sip.example.net");
	assert_int_equal(got.nips, 1);
}

/* ---- DIDs ---- */

struct did_seen {
	char text[256];
};

static int collect_did(const struct did_record *r, void *arg)
{
	struct did_seen *d = arg;
	size_t used = strlen(d->text);

	snprintf(d->text + used, sizeof(d->text) - used, "%s%s>%s", used ? " " : "", r->number,
		 r->ext);
	return 0;
}

static void test_did_round_trip_and_errors(void **state)
{
	struct fixture *f = *state;
	struct did_record in = did("+441632960001", "1001"), got;
	struct did_seen seen;

	add_ext(f->s, "1001");
	add_ext(f->s, "1002");
	in.created = 77;
	assert_int_equal(store_did_add(f->s, &in), 0);
	in = did("+12025550123", "1002");
	assert_int_equal(store_did_add(f->s, &in), 0);
	in = did("+441632960001", "1002");
	assert_int_equal(store_did_add(f->s, &in), EEXIST);
	in = did("+441632960002", "4242");
	assert_int_equal(store_did_add(f->s, &in), ENOENT);
	assert_int_equal(store_did_get(f->s, "+441632960001", &got), 0);
	assert_string_equal(got.ext, "1001");
	assert_int_equal(got.created, 77);
	assert_int_equal(store_did_get(f->s, "+441632960002", &got), ENOENT);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_did_foreach(f->s, collect_did, &seen), 0);
	assert_string_equal(seen.text, "+12025550123>1002 +441632960001>1001");
	assert_int_equal(store_did_del(f->s, "+12025550123"), 0);
	assert_int_equal(store_did_del(f->s, "+12025550123"), ENOENT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM dids"), 1);
}

static void test_did_refuses_bad_numbers(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = { "", "+", "+1", "441632960001", "+44 1632", "+44a", "++44",
			      "+4416329600-1" };
	struct did_record r;

	add_ext(f->s, "1001");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = did(bad[i], "1001");
		assert_int_equal(store_did_add(f->s, &r), EINVAL);
	}
	r = did("+44", "");
	assert_int_equal(store_did_add(f->s, &r), EINVAL);
	memset(r.number, '1', sizeof(r.number)); /* not terminated */
	r.number[0] = '+';
	snprintf(r.ext, sizeof(r.ext), "1001");
	assert_int_equal(store_did_add(f->s, &r), EINVAL);
	r = did("+123456789012345", "1001"); /* 15 digits: the longest */
	assert_int_equal(store_did_add(f->s, &r), 0);
	r = did("+44", "1001"); /* 2 digits: the shortest */
	assert_int_equal(store_did_add(f->s, &r), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM dids"), 2);
}

static int count_did(const struct did_record *r, void *arg)
{
	(*(int *)arg)++;
	return strcmp(r->ext, "1001") == 0 ? 0 : -1; /* only the extension's own */
}

static void test_did_goes_with_its_extension(void **state)
{
	struct fixture *f = *state;
	struct did_record r;
	int n = 0;

	add_ext(f->s, "1001");
	add_ext(f->s, "1002");
	r = did("+441632960001", "1001");
	assert_int_equal(store_did_add(f->s, &r), 0);
	r = did("+441632960002", "1001");
	assert_int_equal(store_did_add(f->s, &r), 0);
	r = did("+441632960003", "1002");
	assert_int_equal(store_did_add(f->s, &r), 0);
	assert_int_equal(store_did_foreach_ext(f->s, "1001", count_did, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_ext_del(f->s, "1001"), 0);
	n = 0;
	assert_int_equal(store_did_foreach_ext(f->s, "1001", count_did, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_did_get(f->s, "+441632960001", &r), ENOENT);
	assert_int_equal(store_did_get(f->s, "+441632960002", &r), ENOENT);
	assert_int_equal(store_did_get(f->s, "+441632960003", &r), 0);
}

/* ---- routes ---- */

static int setup_routes(void **state)
{
	struct fixture *f;
	struct trunk_record t = trunk("main", "sip.example.net");

	setup(state);
	f = *state;
	assert_int_equal(store_trunk_add(f->s, &t), 0);
	t = trunk("backup", "sip.example.org");
	assert_int_equal(store_trunk_add(f->s, &t), 0);
	return 0;
}

static void test_route_round_trip_and_append(void **state)
{
	struct fixture *f = *state;
	struct route_record r = route(0, "0[1-9]XXXXXXXXX", "backup");
	const char *const more[] = { "00.", "999" };

	r.strip = 1;
	snprintf(r.prepend, sizeof(r.prepend), "+44");
	r.created = 1234;
	assert_int_equal(store_route_add(f->s, &r), 0);
	assert_int_equal(r.pos, 1);
	for (size_t i = 0; i < 2; i++) {
		struct route_record m = route(0, more[i], "main");

		assert_int_equal(store_route_add(f->s, &m), 0);
		assert_int_equal(m.pos, i + 2);
	}
	assert_string_equal(routes(f->s), "1:0[1-9]XXXXXXXXX 2:00. 3:999");
	assert_int_equal(raw_int(f->path, "SELECT strip FROM routes WHERE pos = 1"), 1);
	assert_int_equal(raw_int(f->path, "SELECT created FROM routes WHERE pos = 1"), 1234);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM routes WHERE pos = 1 AND"
				 " prepend = '+44' AND trunk = 'backup'"), 1);
}

static void test_route_insert_moves_later_down(void **state)
{
	struct fixture *f = *state;
	const char *const p[] = { "1.", "2.", "3.", "4." };
	struct route_record r;

	add_routes(f->s, p, 4);
	r = route(1, "0.", "main");
	assert_int_equal(store_route_add(f->s, &r), 0);
	assert_int_equal(r.pos, 1);
	assert_string_equal(routes(f->s), "1:0. 2:1. 3:2. 4:3. 5:4.");
	r = route(3, "5.", "main");
	assert_int_equal(store_route_add(f->s, &r), 0);
	assert_string_equal(routes(f->s), "1:0. 2:1. 3:5. 4:2. 5:3. 6:4.");
	/* One past the last appends; two past is out of range. */
	r = route(7, "6.", "main");
	assert_int_equal(store_route_add(f->s, &r), 0);
	r = route(9, "7.", "main");
	assert_int_equal(store_route_add(f->s, &r), ERANGE);
	assert_int_equal(r.pos, 9);
	assert_string_equal(routes(f->s), "1:0. 2:1. 3:5. 4:2. 5:3. 6:4. 7:6.");
}

static void test_route_delete_moves_later_up(void **state)
{
	struct fixture *f = *state;
	const char *const p[] = { "1.", "2.", "3.", "4." };

	add_routes(f->s, p, 4);
	assert_int_equal(store_route_del(f->s, 2), 0);
	assert_string_equal(routes(f->s), "1:1. 2:3. 3:4.");
	assert_int_equal(store_route_del(f->s, 3), 0);
	assert_string_equal(routes(f->s), "1:1. 2:3.");
	assert_int_equal(store_route_del(f->s, 3), ENOENT);
	assert_int_equal(store_route_del(f->s, 0), ENOENT);
	assert_int_equal(store_route_del(f->s, 1), 0);
	assert_int_equal(store_route_del(f->s, 1), 0);
	assert_string_equal(routes(f->s), "");
	assert_int_equal(store_route_del(f->s, 1), ENOENT);
}

static void test_route_errors_move_nothing(void **state)
{
	struct fixture *f = *state;
	const char *const p[] = { "1.", "2." };
	struct route_record r;

	add_routes(f->s, p, 2);
	r = route(1, "2.", "main");
	assert_int_equal(store_route_add(f->s, &r), EEXIST);
	r = route(1, "3.", "nope");
	assert_int_equal(store_route_add(f->s, &r), ENOENT);
	r = route(1, "", "main");
	assert_int_equal(store_route_add(f->s, &r), EINVAL);
	r = route(1, "3.", "");
	assert_int_equal(store_route_add(f->s, &r), EINVAL);
	r = route(1, "3.", "main");
	r.strip = 33;
	assert_int_equal(store_route_add(f->s, &r), EINVAL);
	assert_string_equal(routes(f->s), "1:1. 2:2.");
	/* Inside the caller's transaction too: the refusal comes before any
	 * route moves, so there is nothing to roll back. */
	assert_int_equal(store_begin(f->s), 0);
	r = route(1, "2.", "main");
	assert_int_equal(store_route_add(f->s, &r), EEXIST);
	r = route(1, "3.", "nope");
	assert_int_equal(store_route_add(f->s, &r), ENOENT);
	assert_string_equal(routes(f->s), "1:1. 2:2.");
	assert_int_equal(store_commit(f->s), 0);
	assert_string_equal(routes(f->s), "1:1. 2:2.");
}

/* The insert fails after the later routes moved: they move back. */
static void test_route_add_is_atomic(void **state)
{
	struct fixture *f = *state;
	const char *const p[] = { "1.", "2.", "3." };
	struct route_record r;

	add_routes(f->s, p, 3);
	assert_int_equal(raw_exec(f->path, "CREATE TRIGGER boom BEFORE INSERT ON routes"
				  " WHEN NEW.pattern = '9.' BEGIN SELECT RAISE(ABORT, 'boom'); END"),
			 SQLITE_OK);
	r = route(2, "9.", "main");
	assert_int_not_equal(store_route_add(f->s, &r), 0);
	assert_int_equal(r.pos, 2);
	assert_string_equal(routes(f->s), "1:1. 2:2. 3:3.");
	assert_int_equal(raw_exec(f->path, "DROP TRIGGER boom;"
				  "CREATE TRIGGER boom2 BEFORE DELETE ON routes"
				  " WHEN OLD.pos = 2 BEGIN SELECT RAISE(ABORT, 'boom'); END"),
			 SQLITE_OK);
	assert_int_not_equal(store_route_del(f->s, 2), 0);
	assert_string_equal(routes(f->s), "1:1. 2:2. 3:3.");
}

static int stop_at_two(const struct route_record *r, void *arg)
{
	(*(int *)arg)++;
	return r->pos == 2 ? 7 : 0;
}

static void test_route_foreach_stops(void **state)
{
	struct fixture *f = *state;
	const char *const p[] = { "1.", "2.", "3." };
	int seen = 0;

	add_routes(f->s, p, 3);
	assert_int_equal(store_route_foreach(f->s, stop_at_two, &seen), 7);
	assert_int_equal(seen, 2);
}

/* The registration client's state: written whole, read back, replaced,
 * refused for an unknown trunk or state, and gone with its trunk. */
static void test_trunk_status_round_trip(void **state)
{
	struct fixture *f = *state;
	struct trunk_record t = trunk("prov", "sip.provider.example");
	struct trunk_status st, got;

	assert_int_equal(store_trunk_add(f->s, &t), 0);
	assert_int_equal(store_trunk_status_get(f->s, "prov", &got), ENOENT);
	memset(&st, 0, sizeof(st));
	snprintf(st.trunk, sizeof(st.trunk), "prov");
	snprintf(st.state, sizeof(st.state), "registered");
	st.last_code = 200;
	st.expires = 1800000600;
	st.registered = 1800000000;
	st.next_attempt = 1800000510;
	assert_int_equal(store_trunk_status_put(f->s, &st), 0);
	assert_int_equal(store_trunk_status_get(f->s, "prov", &got), 0);
	assert_string_equal(got.state, "registered");
	assert_int_equal(got.last_code, 200);
	assert_int_equal(got.expires, 1800000600);
	assert_int_equal(got.registered, 1800000000);
	assert_int_equal(got.next_attempt, 1800000510);
	assert_true(got.updated > 0);

	snprintf(st.state, sizeof(st.state), "failed");
	snprintf(st.reason, sizeof(st.reason), "403 Forbidden");
	st.last_code = 403;
	assert_int_equal(store_trunk_status_put(f->s, &st), 0);
	assert_int_equal(store_trunk_status_get(f->s, "prov", &got), 0);
	assert_string_equal(got.state, "failed");
	assert_string_equal(got.reason, "403 Forbidden");

	snprintf(st.state, sizeof(st.state), "dancing");
	assert_int_equal(store_trunk_status_put(f->s, &st), EINVAL);
	snprintf(st.state, sizeof(st.state), "off");
	snprintf(st.trunk, sizeof(st.trunk), "nosuch");
	assert_int_equal(store_trunk_status_put(f->s, &st), ENOENT);

	assert_int_equal(store_trunk_del(f->s, "prov"), 0);
	assert_int_equal(store_trunk_status_get(f->s, "prov", &got), ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_trunk_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_exists_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_update_replaces_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_refuses_bad_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_foreach_order_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_del_busy_while_routed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_add_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_did_round_trip_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_did_refuses_bad_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_did_goes_with_its_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_round_trip_and_append, setup_routes,
						teardown),
		cmocka_unit_test_setup_teardown(test_route_insert_moves_later_down, setup_routes,
						teardown),
		cmocka_unit_test_setup_teardown(test_route_delete_moves_later_up, setup_routes,
						teardown),
		cmocka_unit_test_setup_teardown(test_route_errors_move_nothing, setup_routes,
						teardown),
		cmocka_unit_test_setup_teardown(test_route_add_is_atomic, setup_routes, teardown),
		cmocka_unit_test_setup_teardown(test_route_foreach_stops, setup_routes, teardown),
		cmocka_unit_test_setup_teardown(test_trunk_status_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
