/* Digest authentication: published vectors (RFC 2617 3.5, RFC 7616 3.9.1),
 * tampered answers, and stateless nonces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>

#include "sip/digest.h"

static struct sip_str S(const char *s)
{
	return (struct sip_str){s, strlen(s)};
}

static const uint8_t secret_a[DIGEST_SECRET_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t secret_b[DIGEST_SECRET_LEN] = {
	32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
	16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

/* ---- RFC 2617 section 3.5 ---- */

#define R2617_NONCE "dcd98b7102dd2f0e8b11d0f600bfb0c093"

static struct sip_digest_cred rfc2617_cred(void)
{
	struct sip_digest_cred c;

	memset(&c, 0, sizeof(c));
	c.scheme = S("Digest");
	c.username = S("Mufasa");
	c.realm = S("testrealm@host.com");
	c.nonce = S(R2617_NONCE);
	c.uri = S("/dir/index.html");
	c.qop = S("auth");
	c.nc = S("00000001");
	c.cnonce = S("0a4f113b");
	c.response = S("6629fae49393a05397450978507c4ef1");
	c.opaque = S("5ccc069c403ebaf9f0171e9517f40e41");
	return c;
}

static void rfc2617_ha1(struct digest_ha1 *h)
{
	digest_ha1_compute("Mufasa", "testrealm@host.com", "Circle Of Life", h);
}

static void test_rfc2617_ha1(void **state)
{
	struct digest_ha1 h;

	(void)state;
	rfc2617_ha1(&h);
	assert_string_equal(h.md5, "939e7578ed9e3c518a452acee763bce9");
	assert_int_equal(strlen(h.sha256), DIGEST_SHA256_HEX);
}

static void test_rfc2617_response(void **state)
{
	struct digest_ha1 h;
	char out[DIGEST_SHA256_HEX + 1];

	(void)state;
	rfc2617_ha1(&h);
	digest_response(h.md5, DIGEST_ALG_MD5, S("GET"), S("/dir/index.html"),
			S(R2617_NONCE), S("00000001"), S("0a4f113b"), S("auth"),
			out);
	assert_string_equal(out, "6629fae49393a05397450978507c4ef1");
}

static void test_rfc2617_verify(void **state)
{
	struct digest_ha1 h;
	struct sip_digest_cred c = rfc2617_cred();

	(void)state;
	rfc2617_ha1(&h);
	assert_true(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	/* Hex digits are accepted in either case. */
	c.response = S("6629FAE49393A05397450978507C4EF1");
	assert_true(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
}

static void test_rfc2617_tampered(void **state)
{
	struct digest_ha1 h, wrong;
	struct sip_digest_cred c;

	(void)state;
	rfc2617_ha1(&h);
	digest_ha1_compute("Mufasa", "testrealm@host.com", "Circle of Life",
			   &wrong);

	c = rfc2617_cred();
	assert_false(digest_verify(&wrong, DIGEST_ALG_MD5, S("GET"), &c));
	c.response = S("6629fae49393a05397450978507c4ef2");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.uri = S("/dir/index.htm");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.nonce = S("dcd98b7102dd2f0e8b11d0f600bfb0c094");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.nc = S("00000002");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.cnonce = S("0a4f113c");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("POST"), &c));
	/* Truncated, over-long and non-hex responses. */
	c.response = S("6629fae49393a05397450978507c4ef");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.response = S("6629fae49393a05397450978507c4ef10");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.response = S("6629fae49393a05397450978507c4efg");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
}

static void test_qop_rules(void **state)
{
	struct digest_ha1 h;
	struct sip_digest_cred c;

	(void)state;
	rfc2617_ha1(&h);
	c = rfc2617_cred();
	c.qop = S("auth-int");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.nc = S("1");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.nc = S("000000001");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.nc = S("0000000x");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.nc = SIP_STR_NULL;
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.cnonce = SIP_STR_NULL;
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c = rfc2617_cred();
	c.algorithm = S("MD5-sess");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	/* The algorithm named in the credentials must be the one checked. */
	c.algorithm = S("SHA-256");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.algorithm = S("MD5");
	assert_true(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	assert_false(digest_verify(NULL, DIGEST_ALG_MD5, S("GET"), &c));
	assert_false(digest_verify(&h, DIGEST_ALG__COUNT, S("GET"), &c));
}

/* RFC 2069 form: no qop, response = H(HA1:nonce:HA2). The expected value
 * is MD5 over the RFC 2617 example's inputs, computed independently. */
static void test_rfc2069_no_qop(void **state)
{
	struct digest_ha1 h;
	struct sip_digest_cred c = rfc2617_cred();

	(void)state;
	rfc2617_ha1(&h);
	c.qop = SIP_STR_NULL;
	c.nc = SIP_STR_NULL;
	c.cnonce = SIP_STR_NULL;
	c.response = S("670fd8c2df070c60b045671b8b24ff02");
	assert_true(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.uri = S("/dir/other.html");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	/* nc or cnonce without qop is malformed. */
	c.uri = S("/dir/index.html");
	c.nc = S("00000001");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
	c.nc = SIP_STR_NULL;
	c.cnonce = S("0a4f113b");
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &c));
}

/* ---- RFC 7616 section 3.9.1 ---- */

#define R7616_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define R7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static struct sip_digest_cred rfc7616_cred(const char *alg, const char *resp)
{
	struct sip_digest_cred c;

	memset(&c, 0, sizeof(c));
	c.scheme = S("Digest");
	c.username = S("Mufasa");
	c.realm = S("http-auth@example.org");
	c.uri = S("/dir/index.html");
	c.algorithm = S(alg);
	c.nonce = S(R7616_NONCE);
	c.nc = S("00000001");
	c.cnonce = S(R7616_CNONCE);
	c.qop = S("auth");
	c.response = S(resp);
	c.opaque = S("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	return c;
}

#define R7616_MD5 "8ca523f5e9506fed4657c9700eebdbec"
#define R7616_SHA256 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

static void test_rfc7616_vectors(void **state)
{
	struct digest_ha1 h;
	char out[DIGEST_SHA256_HEX + 1];
	struct sip_digest_cred md5 = rfc7616_cred("MD5", R7616_MD5);
	struct sip_digest_cred sha = rfc7616_cred("SHA-256", R7616_SHA256);

	(void)state;
	digest_ha1_compute("Mufasa", "http-auth@example.org", "Circle of Life",
			   &h);
	assert_string_equal(h.md5, "3d78807defe7de2157e2b0b6573a855f");
	assert_string_equal(h.sha256, "7987c64c30e25f1b74be53f966b49b90"
				      "f2808aa92faf9a00262392d7b4794232");

	digest_response(h.sha256, DIGEST_ALG_SHA256, S("GET"),
			S("/dir/index.html"), S(R7616_NONCE), S("00000001"),
			S(R7616_CNONCE), S("auth"), out);
	assert_string_equal(out, R7616_SHA256);
	digest_response(h.md5, DIGEST_ALG_MD5, S("GET"), S("/dir/index.html"),
			S(R7616_NONCE), S("00000001"), S(R7616_CNONCE),
			S("auth"), out);
	assert_string_equal(out, R7616_MD5);

	assert_true(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &sha));
	assert_true(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &md5));
	/* An MD5 answer is no SHA-256 answer, and the reverse. */
	assert_false(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &md5));
	assert_false(digest_verify(&h, DIGEST_ALG_MD5, S("GET"), &sha));
}

static void test_rfc7616_tampered(void **state)
{
	struct digest_ha1 h;
	struct sip_digest_cred c;

	(void)state;
	digest_ha1_compute("Mufasa", "http-auth@example.org", "Circle of Life",
			   &h);
	c = rfc7616_cred("SHA-256", R7616_SHA256);
	c.nc = S("00000002");
	assert_false(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &c));
	c = rfc7616_cred("SHA-256", R7616_SHA256);
	c.uri = S("/dir/index.html?x");
	assert_false(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &c));
	c = rfc7616_cred("SHA-256", R7616_SHA256);
	c.nonce = S("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0w");
	assert_false(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &c));
	c = rfc7616_cred("SHA-256-sess", R7616_SHA256);
	assert_false(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &c));
	c = rfc7616_cred("SHA-256", "053927fa0e85d155564e2e272a28d1802ca10daf"
				    "4496794697cf8db5856cb6c1");
	assert_false(digest_verify(&h, DIGEST_ALG_SHA256, S("GET"), &c));
}

static void test_alg_parse(void **state)
{
	enum digest_alg a = DIGEST_ALG__COUNT;

	(void)state;
	assert_true(digest_alg_parse(SIP_STR_NULL, &a));
	assert_int_equal(a, DIGEST_ALG_MD5);
	assert_true(digest_alg_parse(S("MD5"), &a));
	assert_int_equal(a, DIGEST_ALG_MD5);
	assert_true(digest_alg_parse(S("md5"), &a));
	assert_int_equal(a, DIGEST_ALG_MD5);
	assert_true(digest_alg_parse(S("SHA-256"), &a));
	assert_int_equal(a, DIGEST_ALG_SHA256);
	assert_false(digest_alg_parse(S("MD5-sess"), &a));
	assert_false(digest_alg_parse(S("SHA-256-sess"), &a));
	assert_false(digest_alg_parse(S("SHA-512-256"), &a));
	assert_false(digest_alg_parse(S("SHA256"), &a));
	assert_false(digest_alg_parse(S("MD5 "), &a));
	assert_string_equal(digest_alg_name(DIGEST_ALG_MD5), "MD5");
	assert_string_equal(digest_alg_name(DIGEST_ALG_SHA256), "SHA-256");
}

/* ---- Fake HA1 for unknown users ---- */

static bool lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void test_fake_ha1(void **state)
{
	struct digest_ha1 a1, a2, b, other, real;
	struct sip_digest_cred c = rfc2617_cred();

	(void)state;
	digest_ha1_fake(secret_a, S("Mufasa"), &a1);
	digest_ha1_fake(secret_a, S("Mufasa"), &a2);
	digest_ha1_fake(secret_b, S("Mufasa"), &b);
	digest_ha1_fake(secret_a, S("Simba"), &other);
	rfc2617_ha1(&real);

	assert_true(lower_hex(a1.md5, DIGEST_MD5_HEX));
	assert_true(lower_hex(a1.sha256, DIGEST_SHA256_HEX));
	assert_string_equal(a1.md5, a2.md5);
	assert_string_equal(a1.sha256, a2.sha256);
	assert_string_not_equal(a1.md5, b.md5);
	assert_string_not_equal(a1.md5, other.md5);
	assert_string_not_equal(a1.sha256, other.sha256);
	/* The two halves are independent, not one a prefix of the other. */
	assert_memory_not_equal(a1.md5, a1.sha256, DIGEST_MD5_HEX);
	assert_string_not_equal(a1.md5, real.md5);
	/* A correct answer for the real password fails against the fake. */
	assert_true(digest_verify(&real, DIGEST_ALG_MD5, S("GET"), &c));
	assert_false(digest_verify(&a1, DIGEST_ALG_MD5, S("GET"), &c));
}

/* ---- Nonces ---- */

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return a;
}

#define SA(x) ((const struct sockaddr *)&(x))
#define T0 1764160000u
#define LIFE 300u

static enum digest_nonce_state check(const char *n, size_t len, uint32_t now,
				     const struct sockaddr *src)
{
	return digest_nonce_check(secret_a, (struct sip_str){n, len}, now, LIFE,
				  src);
}

static void test_nonce_shape(void **state)
{
	struct sockaddr_in a = v4("192.0.2.10", 5060);
	struct sockaddr_in6 b = v6("2001:db8::1", 5060);
	char n1[DIGEST_NONCE_LEN + 1] = {0}, n2[DIGEST_NONCE_LEN + 1] = {0};
	char n3[DIGEST_NONCE_LEN + 1] = {0};

	(void)state;
	memset(n1, '#', DIGEST_NONCE_LEN);
	digest_nonce_make(secret_a, T0, SA(a), n1);
	digest_nonce_make(secret_a, T0, SA(b), n2);
	digest_nonce_make(secret_a, T0, NULL, n3);
	/* Same length whoever asks, lower-case hex only. */
	assert_true(lower_hex(n1, DIGEST_NONCE_LEN));
	assert_true(lower_hex(n2, DIGEST_NONCE_LEN));
	assert_true(lower_hex(n3, DIGEST_NONCE_LEN));
	assert_memory_equal(n1, "6926f200", 8);
	assert_string_not_equal(n1, n2);
	digest_nonce_make(secret_a, T0 + 1, SA(a), n2);
	assert_memory_not_equal(n1 + 8, n2 + 8, DIGEST_NONCE_LEN - 8);
	/* Two challenges in the same second still get nonces of their own,
	 * in order. */
	digest_nonce_make(secret_a, T0, SA(a), n2);
	assert_memory_equal(n1, n2, 8);
	assert_memory_not_equal(n1 + 8, n2 + 8, DIGEST_NONCE_LEN - 8);
}

static void test_nonce_fresh_and_stale(void **state)
{
	struct sockaddr_in a = v4("192.0.2.10", 5060);
	char n[DIGEST_NONCE_LEN];

	(void)state;
	digest_nonce_make(secret_a, T0, SA(a), n);
	assert_int_equal(check(n, sizeof(n), T0, SA(a)), DIGEST_NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + LIFE, SA(a)), DIGEST_NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + LIFE + 1, SA(a)),
			 DIGEST_NONCE_STALE);
	assert_int_equal(check(n, sizeof(n), T0 + 100000, SA(a)),
			 DIGEST_NONCE_STALE);
	/* A stale verdict is only for genuine nonces. */
	assert_int_equal(digest_nonce_check(secret_b, (struct sip_str){n, sizeof(n)},
					    T0 + LIFE + 1, LIFE, SA(a)),
			 DIGEST_NONCE_BAD);
}

static void test_nonce_address_binding(void **state)
{
	struct sockaddr_in a = v4("192.0.2.10", 5060);
	struct sockaddr_in a_port = v4("192.0.2.10", 40000);
	struct sockaddr_in other = v4("192.0.2.11", 5060);
	struct sockaddr_in6 mapped = v6("::ffff:192.0.2.10", 5062);
	char n[DIGEST_NONCE_LEN];

	(void)state;
	digest_nonce_make(secret_a, T0, SA(a), n);
	/* A NAT may change the port between challenge and answer. */
	assert_int_equal(check(n, sizeof(n), T0 + 1, SA(a_port)), DIGEST_NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + 1, SA(mapped)), DIGEST_NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + 1, SA(other)), DIGEST_NONCE_BAD);
	assert_int_equal(check(n, sizeof(n), T0 + 1, NULL), DIGEST_NONCE_BAD);
	/* Another address stays bad even when the nonce has also expired. */
	assert_int_equal(check(n, sizeof(n), T0 + LIFE + 1, SA(other)),
			 DIGEST_NONCE_BAD);
}

static void test_nonce_ipv6(void **state)
{
	struct sockaddr_in6 a = v6("2001:db8::1", 5060);
	struct sockaddr_in6 other = v6("2001:db8::2", 5060);
	struct sockaddr_in6 other_port = v6("2001:db8::1", 6000);
	char n[DIGEST_NONCE_LEN];

	(void)state;
	digest_nonce_make(secret_a, T0, SA(a), n);
	assert_int_equal(check(n, sizeof(n), T0 + 10, SA(a)), DIGEST_NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + 10, SA(other_port)),
			 DIGEST_NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + 10, SA(other)), DIGEST_NONCE_BAD);
	assert_int_equal(check(n, sizeof(n), T0 + LIFE + 1, SA(a)),
			 DIGEST_NONCE_STALE);
}

static void test_nonce_forged(void **state)
{
	struct sockaddr_in a = v4("192.0.2.10", 5060);
	char n[DIGEST_NONCE_LEN], bad[DIGEST_NONCE_LEN + 1];

	(void)state;
	digest_nonce_make(secret_a, T0, SA(a), n);
	/* Truncated, extended, empty, garbage. */
	assert_int_equal(check(n, sizeof(n) - 1, T0, SA(a)), DIGEST_NONCE_BAD);
	assert_int_equal(check(NULL, 0, T0, SA(a)), DIGEST_NONCE_BAD);
	memcpy(bad, n, sizeof(n));
	bad[DIGEST_NONCE_LEN] = '0';
	assert_int_equal(check(bad, sizeof(bad), T0, SA(a)), DIGEST_NONCE_BAD);
	assert_int_equal(check("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
			       DIGEST_NONCE_LEN, T0, SA(a)),
			 DIGEST_NONCE_BAD);
	assert_int_equal(check(R7616_NONCE, strlen(R7616_NONCE), T0, SA(a)),
			 DIGEST_NONCE_BAD);
	/* One flipped MAC digit. */
	memcpy(bad, n, sizeof(n));
	bad[DIGEST_NONCE_LEN - 1] = bad[DIGEST_NONCE_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(check(bad, DIGEST_NONCE_LEN, T0, SA(a)), DIGEST_NONCE_BAD);
	/* Upper-case is not how we write nonces. */
	memcpy(bad, n, sizeof(n));
	for (size_t i = 0; i < DIGEST_NONCE_LEN; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] = (char)(bad[i] - 'a' + 'A');
	if (memcmp(bad, n, sizeof(n)) != 0)
		assert_int_equal(check(bad, DIGEST_NONCE_LEN, T0, SA(a)),
				 DIGEST_NONCE_BAD);
	/* Moving the time field, to extend a nonce's life, breaks the MAC. */
	memcpy(bad, n, sizeof(n));
	memcpy(bad, "6926f300", 8);
	assert_int_equal(check(bad, DIGEST_NONCE_LEN, T0 + LIFE + 10, SA(a)),
			 DIGEST_NONCE_BAD);
}

static void test_nonce_future(void **state)
{
	struct sockaddr_in a = v4("192.0.2.10", 5060);
	char n[DIGEST_NONCE_LEN];

	(void)state;
	digest_nonce_make(secret_a, T0 + 3, SA(a), n);
	/* A few seconds of skew between threads is fine. */
	assert_int_equal(check(n, sizeof(n), T0, SA(a)), DIGEST_NONCE_OK);
	digest_nonce_make(secret_a, T0 + 3600, SA(a), n);
	assert_int_equal(check(n, sizeof(n), T0, SA(a)), DIGEST_NONCE_BAD);
}

/* ---- The MACs match a one-shot HMAC-SHA256 ---- */

static void hmac_ref(const uint8_t *key, const void *in, size_t len, uint8_t out[32])
{
	size_t n = 0;

	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
				  DIGEST_SECRET_LEN, in, len, out, 32, &n));
	assert_int_equal(n, 32);
}

static void hex_of(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* The keyed context is reused between MACs and re-keyed when the secret
 * changes; every result must still be exactly HMAC-SHA256. */
static void test_hmac_known_answers(void **state)
{
	struct sip_str parts[2] = {S("call-id@host"), S("fromtag")};
	uint8_t got[32], want[32];
	char want_hex[65];
	struct digest_ha1 fake;

	(void)state;
	for (int round = 0; round < 3; round++) {
		const uint8_t *key = round == 1 ? secret_b : secret_a;

		assert_true(digest_hmac(key, parts, 2, got));
		hmac_ref(key, "call-id@hostfromtag", 19, want);
		assert_memory_equal(got, want, 32);
		assert_true(digest_hmac(key, parts, 0, got));
		hmac_ref(key, "", 0, want);
		assert_memory_equal(got, want, 32);

		digest_ha1_fake(key, S("Mufasa"), &fake);
		hmac_ref(key, "MMufasa", 7, want);
		hex_of(want, DIGEST_MD5_HEX / 2, want_hex);
		assert_string_equal(fake.md5, want_hex);
		hmac_ref(key, "SMufasa", 7, want);
		hex_of(want, DIGEST_SHA256_HEX / 2, want_hex);
		assert_string_equal(fake.sha256, want_hex);
	}
}

static void test_nonce_known_answer(void **state)
{
	struct sockaddr_in a = v4("192.0.2.10", 5060);
	/* label, the nonce's head as sent (time and salt in hex), family 4,
	 * the IPv4 address */
	uint8_t in[1 + 16 + 5] = {'N'};
	char n[DIGEST_NONCE_LEN + 1] = {0};
	uint8_t want[32];
	char want_hex[65];
	const uint8_t addr[5] = {4, 192, 0, 2, 10};

	(void)state;
	digest_nonce_make(secret_a, T0, SA(a), n);
	memcpy(in + 1, n, 16);
	memcpy(in + 17, addr, sizeof(addr));
	hmac_ref(secret_a, in, sizeof(in), want);
	hex_of(want, (DIGEST_NONCE_LEN - 16) / 2, want_hex);
	assert_memory_equal(n, "6926f200", 8);
	char salt[9] = {0};

	memcpy(salt, n + 8, 8);
	assert_true(lower_hex(salt, 8));
	assert_string_equal(n + 16, want_hex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2617_ha1),
		cmocka_unit_test(test_rfc2617_response),
		cmocka_unit_test(test_rfc2617_verify),
		cmocka_unit_test(test_rfc2617_tampered),
		cmocka_unit_test(test_qop_rules),
		cmocka_unit_test(test_rfc2069_no_qop),
		cmocka_unit_test(test_rfc7616_vectors),
		cmocka_unit_test(test_rfc7616_tampered),
		cmocka_unit_test(test_alg_parse),
		cmocka_unit_test(test_fake_ha1),
		cmocka_unit_test(test_nonce_shape),
		cmocka_unit_test(test_nonce_fresh_and_stale),
		cmocka_unit_test(test_nonce_address_binding),
		cmocka_unit_test(test_nonce_ipv6),
		cmocka_unit_test(test_nonce_forged),
		cmocka_unit_test(test_nonce_future),
		cmocka_unit_test(test_hmac_known_answers),
		cmocka_unit_test(test_nonce_known_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
