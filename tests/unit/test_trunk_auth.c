/* The digest client of trunk registration (pbx/trunk_auth.h): which
 * challenge is answered, which are refused, and the header it writes,
 * checked against the server side's own verifier (sip/digest.h) so both
 * halves agree on RFC 7616 and RFC 8760. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pbx/trunk_auth.h"

static char buf[4096];

static const struct sip_msg *response(struct sip_msg *m, unsigned status, const char *hdrs)
{
	struct sip_parse_error perr;
	int n = snprintf(buf, sizeof(buf),
			 "SIP/2.0 %u Challenge\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
			 "From: <sip:u@p.test>;tag=1\r\nTo: <sip:u@p.test>;tag=2\r\nCall-ID: c\r\n"
			 "CSeq: 1 REGISTER\r\n%sContent-Length: 0\r\n\r\n", status, hdrs);

	assert_int_equal(sip_msg_parse(m, buf, (size_t)n, SIP_TP_UDP, &perr), 0);
	return m;
}

static void test_prefers_sha256(void **state)
{
	struct trunk_challenge ch;
	struct sip_msg m;

	(void)state;
	assert_int_equal(trunk_challenge_pick(response(&m, 401,
		"WWW-Authenticate: Digest realm=\"p.test\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"\r\n"
		"WWW-Authenticate: Digest realm=\"p.test\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth-int,auth\", opaque=\"o\"\r\n"),
		&ch), 0);
	assert_int_equal(ch.alg, DIGEST_ALG_SHA256);
	assert_string_equal(ch.nonce, "n2");
	assert_string_equal(ch.opaque, "o");
	assert_true(ch.qop_auth);
	assert_false(ch.proxy);
}

static void test_refuses_what_it_cannot_answer(void **state)
{
	static const char *const bad[] = {
		"WWW-Authenticate: Basic realm=\"p.test\"\r\n",
		"WWW-Authenticate: Digest realm=\"p.test\", nonce=\"n\", algorithm=MD5-sess\r\n",
		"WWW-Authenticate: Digest realm=\"p.test\", nonce=\"n\", qop=\"auth-int\"\r\n",
		"WWW-Authenticate: Digest realm=\"p.test\"\r\n",
		"WWW-Authenticate: Digest realm=\"p\\\"x\", nonce=\"n\"\r\n",
	};
	struct trunk_challenge ch;
	struct sip_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(trunk_challenge_pick(response(&m, 401, bad[i]), &ch), ENOENT);
	/* A 407 reads Proxy-Authenticate, not WWW-Authenticate. */
	assert_int_equal(trunk_challenge_pick(response(&m, 407,
		"WWW-Authenticate: Digest realm=\"p.test\", nonce=\"n\"\r\n"), &ch), ENOENT);
	assert_int_equal(trunk_challenge_pick(response(&m, 407,
		"Proxy-Authenticate: Digest realm=\"p.test\", nonce=\"n\"\r\n"), &ch), 0);
	assert_true(ch.proxy);
}

/* Our header, parsed back and checked by the registrar's verifier. */
static void answer_verifies(const char *challenge, unsigned status)
{
	struct trunk_challenge ch;
	struct sip_digest_cred c;
	struct digest_ha1 ha1;
	struct sip_msg m;
	char out[1024];
	const char *value;

	assert_int_equal(trunk_challenge_pick(response(&m, status, challenge), &ch), 0);
	assert_int_equal(trunk_auth_header(&ch, "acct", "s3cret pw", "REGISTER", "sip:p.test", 1,
					   "00112233aabbccdd", out, sizeof(out)), 0);
	assert_null(strstr(out, "s3cret"));
	assert_non_null(strstr(out, "\r\n"));
	value = strchr(out, ':') + 2;
	assert_int_equal(sip_digest_cred_parse((struct sip_str){ value, strlen(value) - 2 }, &c), 0);
	digest_ha1_compute("acct", "p.test", "s3cret pw", &ha1);
	assert_true(digest_verify(&ha1, ch.alg, sip_str_from("REGISTER"), &c));
	assert_int_equal(strncmp(out, status == 407 ? "Proxy-Authorization: " : "Authorization: ",
				 status == 407 ? 21 : 15), 0);
}

static void test_answers_verify(void **state)
{
	(void)state;
	answer_verifies("WWW-Authenticate: Digest realm=\"p.test\", nonce=\"abc\", qop=\"auth\"\r\n", 401);
	answer_verifies("WWW-Authenticate: Digest realm=\"p.test\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\"\r\n", 401);
	answer_verifies("WWW-Authenticate: Digest realm=\"p.test\", nonce=\"abc\"\r\n", 401);
	answer_verifies("Proxy-Authenticate: Digest realm=\"p.test\", nonce=\"abc\", algorithm=SHA-256\r\n", 407);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefers_sha256),
		cmocka_unit_test(test_refuses_what_it_cannot_answer),
		cmocka_unit_test(test_answers_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
