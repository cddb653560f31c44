/* Answering a provider's challenge: the RFC 2617 example answered the
 * same, SHA-256 and the RFC 2069 form, opaque echoed, and challenges we
 * cannot answer refused rather than half-answered. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sip/digest.h"
#include "sip/digest_client.h"

static int answer(const char *challenge, char *out, size_t len)
{
	struct sip_digest_cred ch;

	assert_int_equal(sip_digest_cred_parse(sip_str_from(challenge), &ch), 0);
	return digest_answer(&ch, "Mufasa", "Circle Of Life", "INVITE", "sip:+441632960000@192.0.2.10",
			     out, len);
}

/* Our own verifier accepts what the client wrote. */
static void assert_verifies(const char *value, const char *realm, enum digest_alg alg)
{
	struct sip_digest_cred c;
	struct digest_ha1 ha1;

	assert_int_equal(sip_digest_cred_parse(sip_str_from(value), &c), 0);
	digest_ha1_compute("Mufasa", realm, "Circle Of Life", &ha1);
	assert_true(digest_verify(&ha1, alg, sip_str_from("INVITE"), &c));
}

static void test_md5_with_qop_and_opaque(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(answer("Digest realm=\"provider.example\", nonce=\"abc123\", "
				"algorithm=MD5, qop=\"auth,auth-int\", opaque=\"xyz\"",
				out, sizeof(out)), 0);
	assert_non_null(strstr(out, "username=\"Mufasa\""));
	assert_non_null(strstr(out, "uri=\"sip:+441632960000@192.0.2.10\""));
	assert_non_null(strstr(out, "qop=auth, nc=00000001, cnonce=\""));
	assert_non_null(strstr(out, "opaque=\"xyz\""));
	assert_null(strstr(out, "Circle"));
	assert_verifies(out, "provider.example", DIGEST_ALG_MD5);
}

static void test_sha256_and_the_rfc2069_form(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(answer("Digest realm=\"p\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\"",
				out, sizeof(out)), 0);
	assert_non_null(strstr(out, "algorithm=SHA-256"));
	assert_verifies(out, "p", DIGEST_ALG_SHA256);
	assert_int_equal(answer("Digest realm=\"p\", nonce=\"n2\"", out, sizeof(out)), 0);
	assert_null(strstr(out, "qop="));
	assert_verifies(out, "p", DIGEST_ALG_MD5);
}

static void test_unanswerable_challenges_are_refused(void **state)
{
	char out[1024], longnonce[400];

	(void)state;
	assert_int_equal(answer("Digest realm=\"p\", nonce=\"n\", qop=\"auth-int\"", out, sizeof(out)),
			 EINVAL);
	assert_int_equal(answer("Digest realm=\"p\", nonce=\"n\", algorithm=MD5-sess", out,
				sizeof(out)), EINVAL);
	assert_int_equal(answer("Digest realm=\"p\"", out, sizeof(out)), EINVAL);
	assert_int_equal(answer("Basic realm=\"p\"", out, sizeof(out)), EINVAL);
	snprintf(longnonce, sizeof(longnonce), "Digest realm=\"p\", nonce=\"%0300d\"", 0);
	assert_int_equal(answer(longnonce, out, sizeof(out)), EINVAL);
	assert_int_equal(answer("Digest realm=\"p\", nonce=\"n\"", out, 40), ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_with_qop_and_opaque),
		cmocka_unit_test(test_sha256_and_the_rfc2069_form),
		cmocka_unit_test(test_unanswerable_challenges_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
