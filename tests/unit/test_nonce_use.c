/* Digest replay protection: each nonce and nc is good for one request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sip/nonce_use.h"

static struct sip_str S(const char *s)
{
	return (struct sip_str){s, strlen(s)};
}

/* A nonce of the right shape issued at `t` with sequence number `tag`. */
static const char *nonce(uint32_t t, unsigned tag)
{
	static char buf[8][41];
	static unsigned next;
	char *b = buf[next++ % 8];

	snprintf(b, 41, "%08x%08x%024x", (unsigned)t, tag, 0u);
	return b;
}

static enum nonce_use_verdict use(struct nonce_uses *u, const char *ext, const char *n,
				  const char *nc, const char *branch)
{
	return nonce_use(u, ext, strlen(ext), S(n), S(nc), S(branch));
}

static void test_each_nc_once(void **state)
{
	struct nonce_uses *u = NULL;
	const char *n = nonce(1000, 1);

	(void)state;
	assert_int_equal(nonce_uses_alloc(&u), 0);
	assert_int_equal(use(u, "1001", n, "00000001", "z9hG4bKa"), NONCE_USE_FRESH);
	/* The same request again: a retransmission. */
	assert_int_equal(use(u, "1001", n, "00000001", "z9hG4bKa"), NONCE_USE_RETRANSMISSION);
	/* The same credentials on another request: a replay. */
	assert_int_equal(use(u, "1001", n, "00000001", "z9hG4bKb"), NONCE_USE_REPLAYED);
	assert_int_equal(use(u, "1001", n, "00000002", "z9hG4bKc"), NONCE_USE_FRESH);
	assert_int_equal(use(u, "1001", n, "00000002", "z9hG4bKd"), NONCE_USE_REPLAYED);
	assert_int_equal(use(u, "1001", n, "00000001", "z9hG4bKa"), NONCE_USE_REPLAYED);
	/* Another extension keeps its own account of the same nonce. */
	assert_int_equal(use(u, "1002", n, "00000001", "z9hG4bKe"), NONCE_USE_FRESH);
	nonce_uses_free(u);
}

static void test_without_qop_one_use(void **state)
{
	struct nonce_uses *u = NULL;
	const char *n = nonce(1000, 2);

	(void)state;
	assert_int_equal(nonce_uses_alloc(&u), 0);
	assert_int_equal(use(u, "1001", n, "", "z9hG4bKa"), NONCE_USE_FRESH);
	assert_int_equal(use(u, "1001", n, "", "z9hG4bKb"), NONCE_USE_REPLAYED);
	nonce_uses_free(u);
}

static void test_forgotten_nonces_stay_refused(void **state)
{
	struct nonce_uses *u = NULL;
	char old[41];

	(void)state;
	snprintf(old, sizeof(old), "%s", nonce(1000, 3));
	assert_int_equal(nonce_uses_alloc(&u), 0);
	assert_int_equal(use(u, "1001", old, "00000001", "z9hG4bKa"), NONCE_USE_FRESH);
	/* Many challenges in the same second are told apart by their order. */
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(use(u, "1002", nonce(999, 100 + i), "00000001", "z9hG4bKy"),
				 NONCE_USE_FRESH);
	/* Eight newer nonces push the old one out of the table ... */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(use(u, "1001", nonce(1001 + i, 10 + i), "00000001", "z9hG4bKx"),
				 NONCE_USE_FRESH);
	/* ... and it may not come back with a higher nc either. */
	assert_int_equal(use(u, "1001", old, "00000002", "z9hG4bKb"), NONCE_USE_REPLAYED);
	nonce_uses_free(u);
}

static void test_garbage_is_refused(void **state)
{
	struct nonce_uses *u = NULL;

	(void)state;
	assert_int_equal(nonce_uses_alloc(&u), 0);
	assert_int_equal(use(u, "1001", "short", "00000001", "b"), NONCE_USE_REPLAYED);
	assert_int_equal(use(u, "1001", nonce(1000, 4), "1", "b"), NONCE_USE_REPLAYED);
	assert_int_equal(use(u, "1001", nonce(1000, 4), "0000000g", "b"), NONCE_USE_REPLAYED);
	assert_int_equal(use(u, "", nonce(1000, 4), "00000001", "b"), NONCE_USE_REPLAYED);
	nonce_uses_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_nc_once),
		cmocka_unit_test(test_without_qop_one_use),
		cmocka_unit_test(test_forgotten_nonces_stay_refused),
		cmocka_unit_test(test_garbage_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
