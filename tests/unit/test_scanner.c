/* The known-scanner marks: what is caught, and what must never be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guard/scanner.h"

static const char *ua(const char *v)
{
	return scanner_match(v, strlen(v), NULL, 0, NULL);
}

static const char *from(const char *v)
{
	return scanner_match(NULL, 0, v, strlen(v), NULL);
}

static void test_tools_by_user_agent(void **state)
{
	(void)state;
	assert_string_equal(ua("friendly-scanner"), "sipvicious");
	assert_string_equal(ua("Friendly-Scanner"), "sipvicious");
	assert_string_equal(ua("pplsip"), "sippts");
	assert_string_equal(ua("sipcli/v1.8"), "sipcli");
	assert_string_equal(ua("VaxSIPUserAgent/3.1"), "vaxsip");
	assert_string_equal(ua("Nmap NSE"), "nmap");
	assert_string_equal(ua("sipsak 0.9.8.1"), "sipsak");
}

static void test_tools_by_from(void **state)
{
	(void)state;
	assert_string_equal(from("\"sipvicious\"<sip:100@1.1.1.1>;tag=6"), "sipvicious");
	assert_string_equal(from("<sip:nm@nm>;tag=root"), "nmap");
	assert_string_equal(from("\"SIVuS_VoIP_Scanner\" <sip:SIVuS@10.0.0.1>"), "sivus");
}

static void test_real_products_pass(void **state)
{
	(void)state;
	/* Exact marks do not match longer values, and shared names are out. */
	assert_null(ua("friendly-scanner-but-not"));
	assert_null(ua("Asterisk PBX 18.2.0"));
	assert_null(ua("Zoiper rv2.10.19.8"));
	assert_null(ua("Yealink SIP-T46S 66.86.0.15"));
	assert_null(ua("baresip v1.0.0 (x86_64/linux)"));
	assert_null(ua(""));
	assert_null(from("\"Alice\" <sip:1001@pbx.example.com>;tag=1"));
	assert_null(scanner_match(NULL, 0, NULL, 0, "bot"));
}

static void test_configured_prefixes(void **state)
{
	const char *list = " EvilDialer , WarBot/,,";

	(void)state;
	assert_string_equal(scanner_match("warbot/2", 8, NULL, 0, list), "configured");
	assert_string_equal(scanner_match("EvilDialer", 10, NULL, 0, list), "configured");
	assert_null(scanner_match("WarBo", 5, NULL, 0, list));
	assert_null(scanner_match("Evil", 4, NULL, 0, list));
	/* An empty item never matches everything. */
	assert_null(scanner_match("Polycom", 7, NULL, 0, ",,"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tools_by_user_agent),
		cmocka_unit_test(test_tools_by_from),
		cmocka_unit_test(test_real_products_pass),
		cmocka_unit_test(test_configured_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
