#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <cmocka.h>

#include "guard/access.h"

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	}
	return ss;
}

static enum access_verdict check(const struct acl *acl, bool remote, const char *ip,
				 enum sip_transport tp)
{
	struct sockaddr_storage ss = addr(ip);

	return access_check(acl, remote, (const struct sockaddr *)&ss, tp, NULL, 0);
}

static void test_default_is_lan_only(void **state)
{
	struct acl acl = {0};

	(void)state;
	assert_int_equal(check(&acl, false, "192.168.1.20", SIP_TP_UDP), ACCESS_OK);
	assert_int_equal(check(&acl, false, "10.1.2.3", SIP_TP_TCP), ACCESS_OK);
	assert_int_equal(check(&acl, false, "127.0.0.1", SIP_TP_UDP), ACCESS_OK);
	assert_int_equal(check(&acl, false, "fd00::5", SIP_TP_UDP), ACCESS_OK);
	assert_int_equal(check(&acl, false, "203.0.113.5", SIP_TP_UDP), ACCESS_DENY_NOT_LAN);
	assert_int_equal(check(&acl, false, "203.0.113.5", SIP_TP_TLS), ACCESS_DENY_NOT_LAN);
	assert_int_equal(check(&acl, false, "2001:db8::1", SIP_TP_TLS), ACCESS_DENY_NOT_LAN);
}

static void test_remote_needs_tls(void **state)
{
	struct acl acl = {0};

	(void)state;
	assert_int_equal(check(&acl, true, "203.0.113.5", SIP_TP_UDP), ACCESS_DENY_NEEDS_TLS);
	assert_int_equal(check(&acl, true, "203.0.113.5", SIP_TP_TCP), ACCESS_DENY_NEEDS_TLS);
	assert_int_equal(check(&acl, true, "203.0.113.5", SIP_TP_TLS), ACCESS_OK);
	/* On the LAN a remote extension may still use any transport. */
	assert_int_equal(check(&acl, true, "192.168.1.5", SIP_TP_UDP), ACCESS_OK);
}

static void test_permit_and_deny(void **state)
{
	struct acl acl = {0};

	(void)state;
	assert_int_equal(acl_cidr_parse("127.0.0.5/32", &acl.permit[0], NULL), 0);
	acl.npermit = 1;
	assert_int_equal(check(&acl, false, "127.0.0.5", SIP_TP_UDP), ACCESS_OK);
	assert_int_equal(check(&acl, false, "127.0.0.6", SIP_TP_UDP), ACCESS_DENY_ACL);
	assert_int_equal(acl_cidr_parse("127.0.0.5/32", &acl.deny[0], NULL), 0);
	acl.ndeny = 1;
	assert_int_equal(check(&acl, false, "127.0.0.5", SIP_TP_UDP), ACCESS_DENY_ACL);
}

static void test_permit_never_widens_beyond_lan(void **state)
{
	struct acl acl = {0};

	(void)state;
	assert_int_equal(acl_cidr_parse("203.0.113.0/24", &acl.permit[0], NULL), 0);
	acl.npermit = 1;
	assert_int_equal(check(&acl, false, "203.0.113.5", SIP_TP_UDP), ACCESS_DENY_NOT_LAN);
	assert_int_equal(check(&acl, true, "203.0.113.5", SIP_TP_UDP), ACCESS_DENY_NEEDS_TLS);
	assert_int_equal(check(&acl, true, "203.0.113.5", SIP_TP_TLS), ACCESS_OK);
	assert_int_equal(check(&acl, true, "198.51.100.1", SIP_TP_TLS), ACCESS_DENY_ACL);
}

static void test_extra_lan_ranges(void **state)
{
	struct acl acl = {0};
	struct acl_cidr vpn;
	struct sockaddr_storage ss = addr("100.64.0.9");

	(void)state;
	assert_int_equal(acl_cidr_parse("100.64.0.0/10", &vpn, NULL), 0);
	assert_int_equal(access_check(&acl, false, (const struct sockaddr *)&ss, SIP_TP_UDP, &vpn, 1),
			 ACCESS_OK);
	assert_int_equal(access_check(&acl, false, (const struct sockaddr *)&ss, SIP_TP_UDP, NULL, 0),
			 ACCESS_DENY_NOT_LAN);
	assert_string_equal(access_reason(ACCESS_DENY_NEEDS_TLS), "remote_needs_tls");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_lan_only),
		cmocka_unit_test(test_remote_needs_tls),
		cmocka_unit_test(test_permit_and_deny),
		cmocka_unit_test(test_permit_never_widens_beyond_lan),
		cmocka_unit_test(test_extra_lan_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
