/* CIDR access lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "guard/acl.h"

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	}
	return ss;
}

static struct acl_cidr cidr(const char *s)
{
	struct acl_cidr c;
	const char *why = NULL;

	assert_int_equal(acl_cidr_parse(s, &c, &why), 0);
	return c;
}

static bool matches(const char *net, const char *ip)
{
	struct acl_cidr c = cidr(net);
	struct sockaddr_storage ss = addr(ip);

	return acl_cidr_match(&c, (struct sockaddr *)&ss);
}

static void expect_refusal(const char *s, const char *reason)
{
	struct acl_cidr c;
	const char *why = NULL;

	assert_int_equal(acl_cidr_parse(s, &c, &why), EINVAL);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void expect_format(const char *in, const char *out)
{
	struct acl_cidr c = cidr(in);
	char buf[INET6_ADDRSTRLEN + 4];

	acl_cidr_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, out);
}

static void test_parse_ok(void **state)
{
	struct acl_cidr c;

	(void)state;
	c = cidr("192.168.0.0/16");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 16);
	c = cidr("10.1.2.3");
	assert_int_equal(c.prefix, 32);
	c = cidr("2001:db8::/32");
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 32);
	c = cidr("::1");
	assert_int_equal(c.prefix, 128);
	c = cidr("0.0.0.0/0");
	assert_int_equal(c.prefix, 0);
	c = cidr("::/0");
	assert_int_equal(c.prefix, 0);
	expect_format("192.168.0.0/16", "192.168.0.0/16");
	expect_format("10.1.2.3", "10.1.2.3/32");
	expect_format("2001:DB8:0:0::/64", "2001:db8::/64");
	/* A mapped entry is the IPv4 entry it carries. */
	expect_format("::ffff:192.168.1.0/120", "192.168.1.0/24");
}

static void test_parse_reasons(void **state)
{
	(void)state;
	expect_refusal("10.0.0.0/33", "prefix length 33 out of range for IPv4");
	expect_refusal("2001:db8::/129", "prefix length 129 out of range for IPv6");
	expect_refusal("10.0.0.0/1000", "prefix length 1000 out of range for IPv4");
	expect_refusal("192.168.1.5/16",
		       "host bits set beyond /16: did you mean 192.168.0.0/16?");
	expect_refusal("10.0.0.1/8", "host bits set beyond /8: did you mean 10.0.0.0/8?");
	expect_refusal("2001:db8::1/64",
		       "host bits set beyond /64: did you mean 2001:db8::/64?");
	expect_refusal("1.2.3.4/0", "host bits set beyond /0: did you mean 0.0.0.0/0?");
	expect_refusal("example.com", "not an IP address");
	expect_refusal("256.1.1.1", "not an IP address");
	expect_refusal("10.0.0", "not an IP address");
	expect_refusal(" 10.0.0.1", "not an IP address");
	expect_refusal("10.0.0.1 ", "not an IP address");
	expect_refusal("fe80::1%eth0", "not an IP address");
	expect_refusal("010.0.0.1", "not an IP address");
	expect_refusal("/24", "not an IP address");
	expect_refusal("10.0.0.0/", "missing prefix length after '/'");
	expect_refusal("10.0.0.0/-1", "prefix length is not a number");
	expect_refusal("10.0.0.0/8x", "prefix length is not a number");
	expect_refusal("10.0.0.0/ 8", "prefix length is not a number");
	expect_refusal("", "empty address");
	{
		struct acl_cidr c;

		assert_int_equal(acl_cidr_parse(NULL, &c, NULL), EINVAL);
		assert_int_equal(acl_cidr_parse("10.0.0.0/33", &c, NULL), EINVAL);
	}
}

static void test_boundaries(void **state)
{
	(void)state;
	assert_true(matches("0.0.0.0/0", "203.0.113.9"));
	assert_true(matches("0.0.0.0/0", "::ffff:203.0.113.9"));
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
	assert_true(matches("::/0", "2001:db8::1"));
	assert_false(matches("::/0", "203.0.113.9"));

	assert_true(matches("127.0.0.5/32", "127.0.0.5"));
	assert_false(matches("127.0.0.5/32", "127.0.0.6"));
	assert_false(matches("127.0.0.5/32", "127.0.0.4"));

	assert_true(matches("2001:db8::1/128", "2001:db8::1"));
	assert_false(matches("2001:db8::1/128", "2001:db8::2"));

	/* Edges of a range that ends mid-byte. */
	assert_true(matches("172.16.0.0/12", "172.16.0.0"));
	assert_true(matches("172.16.0.0/12", "172.31.255.255"));
	assert_false(matches("172.16.0.0/12", "172.32.0.0"));
	assert_false(matches("172.16.0.0/12", "172.15.255.255"));
	assert_true(matches("fc00::/7", "fdff:ffff::1"));
	assert_false(matches("fc00::/7", "fe00::1"));
	assert_true(matches("10.0.0.0/31", "10.0.0.1"));
	assert_false(matches("10.0.0.0/31", "10.0.0.2"));
}

static void test_mapped_sources(void **state)
{
	(void)state;
	assert_true(matches("192.168.1.0/24", "::ffff:192.168.1.20"));
	assert_false(matches("192.168.1.0/24", "::ffff:192.168.2.20"));
	assert_true(matches("::ffff:10.0.0.0/104", "10.9.8.7"));
	assert_true(matches("::ffff:10.0.0.0/104", "::ffff:10.9.8.7"));
	/* Not mapped: the IPv4-compatible and NAT64 forms are IPv6. */
	assert_false(matches("192.168.1.0/24", "::192.168.1.20"));
	assert_false(matches("192.168.1.0/24", "64:ff9b::192.168.1.20"));
}

static struct acl make_acl(const char *const *permit, const char *const *deny)
{
	struct acl a;

	memset(&a, 0, sizeof(a));
	for (; permit != NULL && *permit != NULL; permit++)
		a.permit[a.npermit++] = cidr(*permit);
	for (; deny != NULL && *deny != NULL; deny++)
		a.deny[a.ndeny++] = cidr(*deny);
	return a;
}

static bool allows(const struct acl *a, const char *ip)
{
	struct sockaddr_storage ss = addr(ip);

	return acl_allows(a, (struct sockaddr *)&ss);
}

static void test_issue_example(void **state)
{
	const char *permit[] = {"127.0.0.5/32", NULL};
	struct acl a = make_acl(permit, NULL);

	(void)state;
	assert_true(allows(&a, "127.0.0.5"));
	assert_true(allows(&a, "::ffff:127.0.0.5"));
	assert_false(allows(&a, "127.0.0.6"));
	assert_false(allows(&a, "::ffff:127.0.0.6"));
	assert_false(allows(&a, "::1"));
}

static void test_deny_wins(void **state)
{
	const char *permit[] = {"10.0.0.0/8", "2001:db8::/32", NULL};
	const char *deny[] = {"10.1.0.0/16", "2001:db8:bad::/48", NULL};
	struct acl a = make_acl(permit, deny);
	const char *deny_all[] = {"0.0.0.0/0", NULL};
	struct acl b = make_acl(permit, deny_all);
	struct acl empty = make_acl(NULL, NULL);

	(void)state;
	assert_true(allows(&a, "10.2.3.4"));
	assert_false(allows(&a, "10.1.3.4"));
	assert_false(allows(&a, "::ffff:10.1.3.4"));
	assert_true(allows(&a, "2001:db8:1::1"));
	assert_false(allows(&a, "2001:db8:bad::1"));
	assert_false(allows(&a, "192.0.2.1"));
	/* A deny that covers a permit refuses the whole permit. */
	assert_false(allows(&b, "10.2.3.4"));
	assert_true(allows(&b, "2001:db8:1::1"));
	/* No permit entry: nothing is allowed. */
	assert_false(allows(&empty, "10.2.3.4"));
	assert_false(acl_allows(NULL, NULL));
	assert_false(acl_allows(&a, NULL));
}

static bool lan(const char *ip, const struct acl_cidr *extra, unsigned n)
{
	struct sockaddr_storage ss = addr(ip);

	return acl_is_lan((struct sockaddr *)&ss, extra, n);
}

static void test_lan(void **state)
{
	struct acl_cidr extra[2];

	(void)state;
	assert_true(lan("10.0.0.1", NULL, 0));
	assert_true(lan("10.255.255.255", NULL, 0));
	assert_true(lan("172.16.0.1", NULL, 0));
	assert_true(lan("172.31.255.254", NULL, 0));
	assert_false(lan("172.32.0.1", NULL, 0));
	assert_true(lan("192.168.44.1", NULL, 0));
	assert_false(lan("192.169.0.1", NULL, 0));
	assert_true(lan("127.0.0.1", NULL, 0));
	assert_true(lan("127.9.9.9", NULL, 0));
	assert_true(lan("::1", NULL, 0));
	assert_true(lan("fc00::1", NULL, 0));
	assert_true(lan("fd12:3456::1", NULL, 0));
	assert_true(lan("::ffff:192.168.1.1", NULL, 0));
	/* Not the LAN: public, link-local, shared address space. */
	assert_false(lan("203.0.113.7", NULL, 0));
	assert_false(lan("8.8.8.8", NULL, 0));
	assert_false(lan("169.254.1.1", NULL, 0));
	assert_false(lan("fe80::1", NULL, 0));
	assert_false(lan("100.64.0.1", NULL, 0));
	assert_false(lan("2001:db8::1", NULL, 0));
	assert_false(lan("::ffff:203.0.113.7", NULL, 0));

	extra[0] = cidr("100.64.0.0/10");
	extra[1] = cidr("2001:db8:1::/48");
	assert_true(lan("100.64.0.1", extra, 2));
	assert_true(lan("2001:db8:1::9", extra, 2));
	assert_false(lan("2001:db8:2::9", extra, 2));
	assert_false(lan("100.64.0.1", extra, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_reasons),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_mapped_sources),
		cmocka_unit_test(test_issue_example),
		cmocka_unit_test(test_deny_wins),
		cmocka_unit_test(test_lan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
