/* The argument parsers of the trunk, DID and route commands, and
 * admin_parse_uint: what each accepts, its canonical form, and the exact
 * reason for each refusal (the integration tests drive the commands). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admin/cmd_trunk.h"
#include "admin/util.h"
#include "fraud/numplan.h"
#include "store/store.h"

static const char *host_ok(const char *text)
{
	static char out[TRUNK_HOST_MAX + 1];
	char why[256] = "";

	if (trunk_cli_host_parse(text, out, sizeof(out), why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", text, why);
	return out;
}

static const char *host_refused(const char *text)
{
	static char why[256];
	char out[TRUNK_HOST_MAX + 1];

	why[0] = '\0';
	assert_int_equal(trunk_cli_host_parse(text, out, sizeof(out), why, sizeof(why)), EINVAL);
	return why;
}

static void test_host_names_and_addresses(void **state)
{
	char longest[TRUNK_HOST_MAX + 1];

	(void)state;
	assert_string_equal(host_ok("sip.example.net"), "sip.example.net");
	assert_string_equal(host_ok("SIP.Example.NET"), "sip.example.net");
	assert_string_equal(host_ok("pbx"), "pbx");
	assert_string_equal(host_ok("a-1.b2.example"), "a-1.b2.example");
	assert_string_equal(host_ok("203.0.113.10"), "203.0.113.10");
	assert_string_equal(host_ok("2001:DB8:0::10"), "2001:db8::10");
	assert_string_equal(host_ok("[2001:db8::10]"), "2001:db8::10");
	assert_string_equal(host_ok("::ffff:203.0.113.10"), "203.0.113.10");
	/* 253 characters in labels of 63. */
	memset(longest, 'a', sizeof(longest));
	longest[63] = longest[127] = longest[191] = '.';
	longest[TRUNK_HOST_MAX] = '\0';
	assert_int_equal(strlen(host_ok(longest)), TRUNK_HOST_MAX);
}

static void test_host_refusals(void **state)
{
	char text[300];

	(void)state;
	assert_string_equal(host_refused(""), "--host is empty: give the provider's DNS name "
			    "or IP address");
	assert_string_equal(host_refused("sip.example.net:5060"), "--host 'sip.example.net:5060' "
			    "has a port: give the port with --port");
	assert_string_equal(host_refused("203.0.113.10:5060"), "--host '203.0.113.10:5060' has a "
			    "port: give the port with --port");
	assert_string_equal(host_refused("[2001:db8::1]:5060"), "--host '[2001:db8::1]:5060' has "
			    "a port: give the port with --port");
	assert_string_equal(host_refused("sip:sip.example.net"), "--host 'sip:sip.example.net' "
			    "is a URI: give the host name or address alone");
	assert_string_equal(host_refused("https://x.example"), "--host 'https://x.example' is a "
			    "URI: give the host name or address alone");
	assert_string_equal(host_refused("203.0.113.0/24"), "--host '203.0.113.0/24' is a "
			    "network: give one name or address (the addresses the trunk sends from "
			    "go in --ip)");
	assert_string_equal(host_refused("1.2.3.256"), "--host '1.2.3.256' is not a valid IPv4 "
			    "address");
	assert_string_equal(host_refused("a..b"), "--host 'a..b' has an empty label at 3");
	assert_string_equal(host_refused(".a"), "--host '.a' has an empty label at 1");
	assert_string_equal(host_refused("a.example."), "--host 'a.example.' ends with '.': "
			    "write the name without it");
	assert_string_equal(host_refused("-a.example"), "--host '-a.example': a label starts "
			    "with '-' at 1");
	assert_string_equal(host_refused("a-.example"), "--host 'a-.example': a label ends with "
			    "'-' at 2");
	assert_string_equal(host_refused("sip_x.example"), "--host 'sip_x.example': '_' at 4 is "
			    "not allowed in a DNS name: use letters, digits, '-' and '.'");
	assert_string_equal(host_refused("sip example"), "--host 'sip example': a space at 4 is "
			    "not allowed in a DNS name: use letters, digits, '-' and '.'");
	assert_string_equal(host_refused("[2001:db8::1"), "--host '[2001:db8::1' has an unclosed "
			    "'['");
	assert_string_equal(host_refused("[203.0.113.1]"), "--host '[203.0.113.1]' is not an IPv6 "
			    "address in brackets");
	assert_string_equal(host_refused("fe80::1%eth0"), "--host 'fe80::1%eth0' is not a DNS "
			    "name or IP address");
	assert_string_equal(host_refused("0.0.0.0"), "--host '0.0.0.0' is the unspecified "
			    "address: no packet comes from it");
	assert_true(strstr(host_refused("224.0.0.1"), "multicast"));
	memset(text, 'a', 64);
	text[64] = '\0';
	assert_string_equal(host_refused(text), "--host 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaaaaaaaaaaaaaaaaaaaaa' has a label longer than 63 characters");
	memset(text, 'a', 254);
	text[254] = '\0';
	assert_string_equal(host_refused(text), "--host is longer than 253 characters");
}

static void test_names_and_credentials(void **state)
{
	char why[256], text[200];

	(void)state;
	assert_int_equal(trunk_cli_name_check("voip-uk_1", why, sizeof(why)), 0);
	assert_int_equal(trunk_cli_name_check("", why, sizeof(why)), EINVAL);
	assert_string_equal(why, "trunk name is empty");
	assert_int_equal(trunk_cli_name_check("a.b", why, sizeof(why)), EINVAL);
	assert_string_equal(why, "trunk name 'a.b': '.' at 2 is not allowed: use letters, "
			    "digits, '-' and '_'");
	memset(text, 'n', 33);
	text[33] = '\0';
	assert_int_equal(trunk_cli_name_check(text, why, sizeof(why)), EINVAL);
	assert_string_equal(why, "trunk name is longer than 32 characters");
	text[32] = '\0';
	assert_int_equal(trunk_cli_name_check(text, why, sizeof(why)), 0);

	assert_int_equal(trunk_cli_username_check("acct-4471@example", why, sizeof(why)), 0);
	assert_int_equal(trunk_cli_username_check("a b", why, sizeof(why)), EINVAL);
	assert_string_equal(why, "--username: a space at 2 is not allowed: use printable "
			    "characters without spaces, '\"' or '\\'");
	assert_int_equal(trunk_cli_username_check("a\"b", why, sizeof(why)), EINVAL);
	assert_int_equal(trunk_cli_username_check("", why, sizeof(why)), EINVAL);
	assert_string_equal(why, "--username is empty");

	assert_int_equal(trunk_cli_password_check("any thing; \"quoted\" \\ ok", why,
						  sizeof(why)), 0);
	assert_int_equal(trunk_cli_password_check("Secret\tTab", why, sizeof(why)), EINVAL);
	assert_string_equal(why, "--password contains a control character at position 7");
	assert_null(strstr(why, "Secret"));
	memset(text, 'p', 129);
	text[129] = '\0';
	assert_int_equal(trunk_cli_password_check(text, why, sizeof(why)), EINVAL);
	assert_string_equal(why, "--password is longer than 128 characters");
	text[128] = '\0';
	assert_int_equal(trunk_cli_password_check(text, why, sizeof(why)), 0);
}

static const char *did_refused(const struct numplan *np, const char *text)
{
	static char why[256];
	char out[NUM_E164_MAX + 1];

	why[0] = '\0';
	assert_int_equal(did_cli_number_parse(np, text, out, sizeof(out), why, sizeof(why)),
			 EINVAL);
	return why;
}

static void test_did_numbers(void **state)
{
	const char *spellings[] = { "+441632960000", "01632 960000", "+44 1632 960000",
				    "0044 1632 960000", "(01632) 960-000", "+44 (0)1632" };
	char out[NUM_E164_MAX + 1], why[256];
	struct numplan *np;
	const char *err = NULL;

	(void)state;
	assert_int_equal(numplan_alloc(&np, "GB", &err), 0);
	/* Every spelling of one number is one DID; the last is refused. */
	for (size_t i = 0; i < 5; i++) {
		memset(out, 0, sizeof(out));
		assert_int_equal(did_cli_number_parse(np, spellings[i], out, sizeof(out), why,
						      sizeof(why)), 0);
		assert_string_equal(out, "+441632960000");
	}
	assert_int_equal(did_cli_number_parse(np, "07700 900123", out, sizeof(out), why,
					      sizeof(why)), 0);
	assert_string_equal(out, "+447700900123");
	assert_int_equal(did_cli_number_parse(np, "+1 202 555 0123", out, sizeof(out), why,
					      sizeof(why)), 0);
	assert_string_equal(out, "+12025550123");
	assert_string_equal(did_refused(np, spellings[5]), "NUMBER '+44 (0)1632': national "
			    "prefix after the country code");
	assert_string_equal(did_refused(np, ""), "NUMBER is empty: give the number, for example "
			    "01632 960000 or +441632960000");
	assert_string_equal(did_refused(np, "0800 FLOWERS"), "NUMBER '0800 FLOWERS': letters");
	assert_string_equal(did_refused(np, "+4416329600001234"), "NUMBER '+4416329600001234': "
			    "too long");
	assert_string_equal(did_refused(np, "+999123456"), "NUMBER '+999123456': unknown country "
			    "code");
	assert_string_equal(did_refused(np, "06123"), "NUMBER '06123': not in the numbering plan");
	assert_string_equal(did_refused(np, "999"), "NUMBER '999' is an emergency number, which "
			    "has no E.164 form and cannot be a DID");
	assert_string_equal(did_refused(np, "118118"), "NUMBER '118118' is a directory number, "
			    "which has no E.164 form and cannot be a DID");
	assert_string_equal(did_refused(np, "+44 1632\x1b[2J"), "NUMBER '+44 1632?[2J': a "
			    "character that is not a digit");
	numplan_free(np);
}

static void test_dialled(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(route_cli_dialled_check("0097212345678", why, sizeof(why)), 0);
	assert_int_equal(route_cli_dialled_check("+441632960000", why, sizeof(why)), 0);
	assert_int_equal(route_cli_dialled_check("*67", why, sizeof(why)), EINVAL);
	assert_string_equal(why, "NUMBER '*67': '*' at 1 is not a digit (a '+' may only come "
			    "first)");
	assert_int_equal(route_cli_dialled_check("44+1", why, sizeof(why)), EINVAL);
	assert_int_equal(route_cli_dialled_check("", why, sizeof(why)), EINVAL);
	assert_int_equal(route_cli_dialled_check("123456789012345678901234567890123", why,
						 sizeof(why)), EINVAL);
	assert_string_equal(why, "NUMBER '123456789012345678901234567890123' is longer than 32 "
			    "characters");
}

static void test_parse_uint(void **state)
{
	char why[160];
	unsigned v = 7;

	(void)state;
	assert_int_equal(admin_parse_uint("--port", "5060", 1, 65535, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 5060);
	assert_int_equal(admin_parse_uint("--port", "0065535", 1, 65535, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(admin_parse_uint("--n", "0", 0, 10, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 0);
	v = 7;
	assert_int_equal(admin_parse_uint("--port", "65536", 1, 65535, &v, why, sizeof(why)),
			 EINVAL);
	assert_string_equal(why, "--port: '65536' is not a whole number from 1 to 65535");
	assert_int_equal(v, 7);
	assert_int_equal(admin_parse_uint("--port", "99999999999999999999999", 1, 65535, &v, why,
					  sizeof(why)), EINVAL);
	assert_int_equal(admin_parse_uint("--port", "", 1, 65535, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(admin_parse_uint("--port", "-1", 1, 65535, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(admin_parse_uint("--port", "+1", 1, 65535, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(admin_parse_uint("--port", "12a", 1, 65535, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(admin_parse_uint("--port", " 12", 1, 65535, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(admin_parse_uint("--port", "0", 1, 65535, &v, why, sizeof(why)), EINVAL);
	assert_int_equal(v, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_names_and_addresses),
		cmocka_unit_test(test_host_refusals),
		cmocka_unit_test(test_names_and_credentials),
		cmocka_unit_test(test_did_numbers),
		cmocka_unit_test(test_dialled),
		cmocka_unit_test(test_parse_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
