#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "sip/location.h"

static void test_sockaddr_parse(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(sockaddr_parse("127.0.0.5:5062", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5062);
	assert_int_equal(sockaddr_parse("[2001:db8::1]:5061", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5061);
	/* Refused: no port, port 0 or too big, junk, empty host, bad brackets. */
	assert_int_equal(sockaddr_parse("127.0.0.1", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse("127.0.0.1:0", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse("127.0.0.1:65536", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse("127.0.0.1:50x", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse(":5060", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse("[::1]5060", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse("host.example:5060", &ss, &len), EINVAL);
}

static void test_sockaddr_parse_ip(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(sockaddr_parse_ip("10.1.2.3", &ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(sockaddr_parse_ip("::1", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(sockaddr_parse_ip("10.1.2.300", &ss, &len), EINVAL);
	assert_int_equal(sockaddr_parse_ip("", &ss, &len), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockaddr_parse),
		cmocka_unit_test(test_sockaddr_parse_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
