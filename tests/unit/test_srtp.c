/* SDES key parsing and generation, and SRTP/SRTCP per direction, against
 * the real libsrtp2. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "media/srtp.h"

/* RFC 4568 section 9's example key: 30 bytes of key and salt. */
#define EXAMPLE_KEY "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define SHA1_80 "AES_CM_128_HMAC_SHA1_80"
#define SHA1_32 "AES_CM_128_HMAC_SHA1_32"
#define GCM "AEAD_AES_128_GCM"

static const enum relay_srtp_suite all_suites[] = {
	RELAY_SRTP_AES_CM_128_HMAC_SHA1_80,
	RELAY_SRTP_AES_CM_128_HMAC_SHA1_32,
	RELAY_SRTP_AEAD_AES_128_GCM,
};

static int parse(struct relay_crypto *k, const char *suite, const char *kp, const char **why)
{
	*why = NULL;
	return media_srtp_parse_sdes(k, suite, strlen(suite), kp, strlen(kp), why);
}

static size_t rtp_packet(unsigned char *buf, uint16_t seq, uint32_t ssrc, size_t len)
{
	size_t i;

	for (i = 12; i < len; i++)
		buf[i] = (unsigned char)(i * 7u);
	buf[0] = 0x80;
	buf[1] = 0;
	buf[2] = (unsigned char)(seq >> 8);
	buf[3] = (unsigned char)seq;
	memset(buf + 4, 0, 4);
	buf[8] = (unsigned char)(ssrc >> 24);
	buf[9] = (unsigned char)(ssrc >> 16);
	buf[10] = (unsigned char)(ssrc >> 8);
	buf[11] = (unsigned char)ssrc;
	return len;
}

/* A pair of sessions on one key: the phone's sender and the relay's receiver. */
static void pair(const struct relay_crypto *k, struct media_srtp **tx, struct media_srtp **rx)
{
	assert_int_equal(media_srtp_alloc(tx, k, MEDIA_SRTP_OUTBOUND), 0);
	assert_int_equal(media_srtp_alloc(rx, k, MEDIA_SRTP_INBOUND), 0);
}

static size_t tag_len(enum relay_srtp_suite s)
{
	return s == RELAY_SRTP_AES_CM_128_HMAC_SHA1_80 ? 10 : s == RELAY_SRTP_AES_CM_128_HMAC_SHA1_32 ? 4 : 16;
}

static void test_suites_available(void **state)
{
	(void)state;
	assert_int_equal(media_srtp_init(), 0);
	assert_int_equal(media_srtp_init(), 0);
	assert_true(media_srtp_suite_available(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80));
	assert_true(media_srtp_suite_available(RELAY_SRTP_AES_CM_128_HMAC_SHA1_32));
	/* Debian 12's libsrtp2 (NSS back end) runs GCM; the build relies on it. */
	assert_true(media_srtp_suite_available(RELAY_SRTP_AEAD_AES_128_GCM));
	assert_false(media_srtp_suite_available((enum relay_srtp_suite)0));
	assert_string_equal(media_srtp_suite_name(RELAY_SRTP_AEAD_AES_128_GCM), GCM);
	assert_null(media_srtp_suite_name((enum relay_srtp_suite)99));
}

/* A fixed key and packet, protected by libsrtp2's stock (NSS) crypto:
 * the OpenSSL cipher and MAC that replace it must give the same bytes. */
static void test_known_answer(void **state)
{
	static const uint8_t want_rtp[54] = {
		0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe,
		0xfb, 0x1c, 0x4e, 0x7a, 0x59, 0x64, 0x1b, 0xe7, 0x40, 0xce, 0x27, 0x6e,
		0x9c, 0x72, 0xed, 0xa0, 0x38, 0x35, 0x6b, 0x5c, 0xdb, 0xf0, 0xf6, 0x77,
		0x9c, 0x37, 0x65, 0x31, 0xcc, 0x16, 0x09, 0x15, 0x74, 0x2c, 0x7d, 0xfa,
		0xc0, 0xd6, 0x6e, 0x5e, 0x8a, 0xea,
	};
	static const uint8_t want_rtcp[46] = {
		0x81, 0xc9, 0x00, 0x07, 0xca, 0xfe, 0xba, 0xbe, 0xb6, 0x76, 0xe2, 0x36,
		0x88, 0xdb, 0xfa, 0x67, 0x68, 0x51, 0x41, 0x34, 0xca, 0x9c, 0xbd, 0x6a,
		0x0f, 0x39, 0x1c, 0x24, 0x6a, 0x38, 0x6a, 0xa4, 0x80, 0x00, 0x00, 0x01,
		0xd7, 0x96, 0x5a, 0x95, 0xd4, 0xc6, 0x87, 0xee, 0x4d, 0xfb,
	};
	struct relay_crypto k = { .suite = RELAY_SRTP_AES_CM_128_HMAC_SHA1_80, .key_len = 30 };
	unsigned char rtp[44 + MEDIA_SRTP_ROOM] = { 0x80, 0x00, 0x12, 0x34, 0xde, 0xad,
						    0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe };
	unsigned char rtcp[32 + MEDIA_SRTP_ROOM] = { 0x81, 201, 0, 7, 0xca, 0xfe, 0xba, 0xbe };
	struct media_srtp *tx, *rx;
	size_t len, i;

	(void)state;
	assert_true(media_srtp_openssl_crypto());
	for (i = 0; i < 30; i++)
		k.key_salt[i] = (uint8_t)(i * 11 + 3);
	for (i = 12; i < 44; i++)
		rtp[i] = (unsigned char)i;
	for (i = 8; i < 32; i++)
		rtcp[i] = (unsigned char)i;
	pair(&k, &tx, &rx);
	len = 44;
	assert_int_equal(media_srtp_protect(tx, false, rtp, &len), MEDIA_SRTP_OK);
	assert_int_equal(len, sizeof(want_rtp));
	assert_memory_equal(rtp, want_rtp, len);
	len = 32;
	assert_int_equal(media_srtp_protect(tx, true, rtcp, &len), MEDIA_SRTP_OK);
	assert_int_equal(len, sizeof(want_rtcp));
	assert_memory_equal(rtcp, want_rtcp, len);
	len = sizeof(want_rtp);
	assert_int_equal(media_srtp_unprotect(rx, false, rtp, &len), MEDIA_SRTP_OK);
	assert_int_equal(len, 44);
	assert_int_equal(rtp[43], 43);
	media_srtp_free(tx);
	media_srtp_free(rx);
}

static void test_generate_line_parse_round_trip(void **state)
{
	struct relay_crypto k, k2, back;
	char line[MEDIA_SRTP_LINE_MAX];
	const char *why, *kp;
	char suite[64];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(all_suites) / sizeof(all_suites[0]); i++) {
		assert_int_equal(media_srtp_generate(&k, all_suites[i]), 0);
		assert_int_equal(media_srtp_generate(&k2, all_suites[i]), 0);
		assert_int_equal(k.key_len, all_suites[i] == RELAY_SRTP_AEAD_AES_128_GCM ? 28 : 30);
		assert_memory_not_equal(k.key_salt, k2.key_salt, k.key_len);
		assert_int_equal(k.mki_len, 0);

		n = media_srtp_crypto_line(&k, 1, line, sizeof(line));
		assert_int_equal(n, strlen(line));
		snprintf(suite, sizeof(suite), "a=crypto:1 %s inline:", media_srtp_suite_name(all_suites[i]));
		assert_memory_equal(line, suite, strlen(suite));
		assert_int_equal(n, strlen(suite) + 40); /* 30 or 28 bytes: 40 base64 chars */

		kp = strstr(line, "inline:");
		snprintf(suite, sizeof(suite), "%s", media_srtp_suite_name(all_suites[i]));
		assert_int_equal(parse(&back, suite, kp, &why), 0);
		assert_int_equal(back.suite, k.suite);
		assert_int_equal(back.key_len, k.key_len);
		assert_memory_equal(back.key_salt, k.key_salt, k.key_len);
		media_srtp_wipe(&k);
		for (n = 0; n < sizeof(k); n++)
			assert_int_equal(((unsigned char *)&k)[n], 0);
	}
}

static void test_parse_simple_forms(void **state)
{
	struct relay_crypto k;
	const char *why;

	(void)state;
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY, &why), 0);
	assert_int_equal(k.suite, RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(k.key_len, 30);
	assert_int_equal(k.key_salt[0], 0x3d); /* 'P','S' -> 0x3d 0x2d ... */
	assert_int_equal(k.key_salt[1], 0x2d);
	assert_int_equal(k.mki_len, 0);

	assert_int_equal(parse(&k, SHA1_32, "inline:" EXAMPLE_KEY "|2^31", &why), 0);
	assert_int_equal(k.suite, RELAY_SRTP_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(k.mki_len, 0);
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|2^31|1:1", &why), 0);
	assert_int_equal(k.mki, 1);
	assert_int_equal(k.mki_len, 1);
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|2^48", &why), 0);
	assert_int_equal(k.mki_len, 0);
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|2^20|7:2", &why), 0);
	assert_int_equal(k.mki, 7);
	assert_int_equal(k.mki_len, 2);
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|4294967295:4", &why), 0);
	assert_int_equal(k.mki, UINT32_MAX);
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|2147483648", &why), 0);
	/* 28 bytes, padded. */
	assert_int_equal(parse(&k, GCM, "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", &why), 0);
	assert_int_equal(k.key_len, 28);
	assert_int_equal(k.key_salt[27], 27);
	assert_null(why);
}

struct bad_case {
	const char *suite, *kp, *reason_has;
};

static void test_parse_refusals(void **state)
{
	static const struct bad_case cases[] = {
		{ SHA1_80, "inline:" EXAMPLE_KEY "AAAA", "wrong length" },
		{ SHA1_80, "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", "wrong length" },
		{ GCM, "inline:" EXAMPLE_KEY, "wrong length" },
		{ SHA1_80, "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtx", "wrong length" },
		{ SHA1_80, "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!", "base64" },
		{ SHA1_32, "inline:" EXAMPLE_KEY "|2^31|1:1", "MKI with AES_CM_128_HMAC_SHA1_32" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "A", "base64" },
		{ SHA1_80, "inline:PS1uQCVeeCFCanVm=jkpPywjNWhcYD0mXXtxaVBR", "base64" },
		{ SHA1_80, "inline:", "base64" },
		{ SHA1_80, "inline:" EXAMPLE_KEY EXAMPLE_KEY EXAMPLE_KEY, "too long" },
		{ SHA1_80, "uri:https://example.org/key", "inline" },
		{ SHA1_80, "inline:" EXAMPLE_KEY ";inline:" EXAMPLE_KEY, "more than one key" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^10", "shorter than 2^20" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|1000", "shorter than 2^20" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^49", "2^48" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^64", "power of two" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^", "not a number" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|forever", "not a number" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|99999999999999999999999", "not a number" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^31|1:0", "VALUE:LENGTH" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^31|1:", "VALUE:LENGTH" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^31|x:1", "VALUE:LENGTH" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^20|1:32", "longer than 4 bytes" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|256:1", "does not fit" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|2^31|1:1|2", "too many" },
		{ SHA1_80, "inline:" EXAMPLE_KEY "|", "not a number" },
		{ "F8_128_HMAC_SHA1_80", "inline:" EXAMPLE_KEY, "suite is not supported" },
		{ "AES_CM_128_HMAC_SHA1_8", "inline:" EXAMPLE_KEY, "suite is not supported" },
		{ "", "inline:" EXAMPLE_KEY, "suite is not supported" },
	};
	struct relay_crypto k, untouched;
	const char *why;
	size_t i;

	(void)state;
	memset(&untouched, 0xa5, sizeof(untouched));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = untouched;
		if (parse(&k, cases[i].suite, cases[i].kp, &why) != EINVAL)
			fail_msg("case %zu accepted", i);
		assert_non_null(why);
		if (!strstr(why, cases[i].reason_has))
			fail_msg("case %zu: reason '%s' lacks '%s'", i, why, cases[i].reason_has);
		/* The reason never quotes the key, and nothing partial is written. */
		assert_null(strstr(why, "PS1u"));
		assert_memory_equal(&k, &untouched, sizeof(k));
	}
}

static void test_crypto_line_limits(void **state)
{
	struct relay_crypto k;
	char line[MEDIA_SRTP_LINE_MAX], small[40];
	const char *why;
	size_t i, n;

	(void)state;
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|2^31|5:2", &why), 0);
	n = media_srtp_crypto_line(&k, 3, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_string_equal(line, "a=crypto:3 " SHA1_80 " inline:" EXAMPLE_KEY "|5:2");
	/* Too small: nothing of the key is left behind. */
	memset(small, 'x', sizeof(small));
	assert_int_equal(media_srtp_crypto_line(&k, 1, small, sizeof(small)), 0);
	for (i = 0; i < sizeof(small); i++)
		assert_int_equal(small[i], 0);
	k.key_len = 29;
	assert_int_equal(media_srtp_crypto_line(&k, 1, line, sizeof(line)), 0);
	struct media_srtp *m = NULL;
	assert_int_equal(media_srtp_alloc(&m, &k, MEDIA_SRTP_INBOUND), EINVAL);
	assert_null(m);
	assert_int_equal(media_srtp_generate(&k, (enum relay_srtp_suite)42), EINVAL);
}

static void round_trip(const struct relay_crypto *k)
{
	struct media_srtp *tx, *rx;
	unsigned char pkt[172 + MEDIA_SRTP_ROOM], orig[172];
	unsigned char rr[8 + 24 + MEDIA_SRTP_ROOM] = { 0x81, 201, 0, 7, 0x11, 0x22, 0x33, 0x44 };
	size_t len, tag = tag_len(k->suite) + k->mki_len;
	uint16_t seq;

	pair(k, &tx, &rx);
	for (seq = 65530; seq != 10; seq++) { /* across the rollover */
		len = rtp_packet(pkt, seq, 0xdecafbad, 172);
		memcpy(orig, pkt, len);
		assert_int_equal(media_srtp_protect(tx, false, pkt, &len), MEDIA_SRTP_OK);
		assert_int_equal(len, 172 + tag);
		assert_memory_equal(pkt, orig, 12); /* the header stays readable */
		assert_memory_not_equal(pkt + 12, orig + 12, 160);
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_OK);
		assert_int_equal(len, 172);
		assert_memory_equal(pkt, orig, 172);
	}
	/* SRTCP: a receiver report with one block. */
	len = 32;
	memcpy(orig, rr, len);
	assert_int_equal(media_srtp_protect(tx, true, rr, &len), MEDIA_SRTP_OK);
	assert_true(len > 32 + 4);
	assert_int_equal(media_srtp_unprotect(rx, true, rr, &len), MEDIA_SRTP_OK);
	assert_int_equal(len, 32);
	assert_memory_equal(rr, orig, 32);
	media_srtp_free(tx);
	media_srtp_free(rx);
}

static void test_protect_unprotect_round_trip(void **state)
{
	struct relay_crypto k;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(all_suites) / sizeof(all_suites[0]); i++) {
		assert_int_equal(media_srtp_generate(&k, all_suites[i]), 0);
		round_trip(&k);
	}
	/* With an MKI in every packet. */
	assert_int_equal(parse(&k, SHA1_80, "inline:" EXAMPLE_KEY "|2^31|1:1", &why), 0);
	round_trip(&k);
	assert_int_equal(parse(&k, GCM, "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==|2^31|300:2",
			       &why), 0);
	round_trip(&k);
	media_srtp_wipe(&k);
}

static void test_tampered_and_wrong_key(void **state)
{
	struct relay_crypto k, other;
	struct media_srtp *tx, *rx, *rx_other;
	unsigned char pkt[100 + MEDIA_SRTP_ROOM], copy[sizeof(pkt)];
	size_t len, clen, i;

	(void)state;
	for (i = 0; i < sizeof(all_suites) / sizeof(all_suites[0]); i++) {
		assert_int_equal(media_srtp_generate(&k, all_suites[i]), 0);
		assert_int_equal(media_srtp_generate(&other, all_suites[i]), 0);
		pair(&k, &tx, &rx);
		assert_int_equal(media_srtp_alloc(&rx_other, &other, MEDIA_SRTP_INBOUND), 0);
		len = rtp_packet(pkt, 1, 99, 100);
		assert_int_equal(media_srtp_protect(tx, false, pkt, &len), MEDIA_SRTP_OK);
		memcpy(copy, pkt, len);
		clen = len;

		/* One payload bit, one tag bit, one header bit. */
		pkt[40] ^= 1;
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_AUTH_FAILED);
		memcpy(pkt, copy, clen);
		len = clen;
		pkt[len - 1] ^= 0x80;
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_AUTH_FAILED);
		memcpy(pkt, copy, clen);
		len = clen;
		pkt[1] ^= 8; /* payload type */
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_AUTH_FAILED);
		/* Another key cannot read it. */
		memcpy(pkt, copy, clen);
		len = clen;
		assert_int_equal(media_srtp_unprotect(rx_other, false, pkt, &len), MEDIA_SRTP_AUTH_FAILED);
		/* Plain RTP is not SRTP. */
		len = rtp_packet(pkt, 2, 99, 100);
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_AUTH_FAILED);
		/* Too short for either. */
		len = 7;
		assert_int_equal(media_srtp_unprotect(rx, true, pkt, &len), MEDIA_SRTP_BAD);
		len = 11;
		assert_int_equal(media_srtp_protect(tx, false, pkt, &len), MEDIA_SRTP_BAD);
		/* The genuine packet still passes after all that. */
		memcpy(pkt, copy, clen);
		len = clen;
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_OK);
		assert_int_equal(len, 100);
		media_srtp_free(tx);
		media_srtp_free(rx);
		media_srtp_free(rx_other);
	}
}

static void test_replay_rejected(void **state)
{
	struct relay_crypto k;
	struct media_srtp *tx, *rx;
	unsigned char pkt[60 + MEDIA_SRTP_ROOM], first[sizeof(pkt)], again[sizeof(pkt)];
	size_t len, flen = 0, alen = 0, seq;

	(void)state;
	assert_int_equal(media_srtp_generate(&k, RELAY_SRTP_AES_CM_128_HMAC_SHA1_80), 0);
	pair(&k, &tx, &rx);
	for (seq = 1; seq <= 300; seq++) {
		len = rtp_packet(pkt, (uint16_t)seq, 5, 60);
		assert_int_equal(media_srtp_protect(tx, false, pkt, &len), MEDIA_SRTP_OK);
		if (seq == 1) {
			memcpy(first, pkt, len);
			flen = len;
		}
		memcpy(again, pkt, len);
		alen = len;
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_OK);
		if (seq == 300) {
			len = alen;
			/* The same packet twice, and one from outside the window. */
			assert_int_equal(media_srtp_unprotect(rx, false, again, &len), MEDIA_SRTP_REPLAY);
			len = flen;
			assert_int_equal(media_srtp_unprotect(rx, false, first, &len), MEDIA_SRTP_REPLAY);
		}
	}
	/* The sender refuses to encrypt one sequence number twice. */
	len = rtp_packet(pkt, 300, 5, 60);
	assert_int_equal(media_srtp_protect(tx, false, pkt, &len), MEDIA_SRTP_REPLAY);
	media_srtp_free(tx);
	media_srtp_free(rx);
}

/* Many SSRCs through one direction: state stays bounded and every stream
 * still works, the evicted ones starting afresh. */
static void test_many_ssrcs(void **state)
{
	struct relay_crypto k;
	struct media_srtp *tx, *rx;
	unsigned char pkt[60 + MEDIA_SRTP_ROOM];
	size_t len;
	uint32_t ssrc;
	unsigned round;

	(void)state;
	assert_int_equal(media_srtp_generate(&k, RELAY_SRTP_AEAD_AES_128_GCM), 0);
	pair(&k, &tx, &rx);
	for (round = 0; round < 3; round++)
		for (ssrc = 1; ssrc <= 3 * MEDIA_SRTP_MAX_SSRC; ssrc++) {
			len = rtp_packet(pkt, (uint16_t)(round + 1), ssrc, 60);
			assert_int_equal(media_srtp_protect(tx, false, pkt, &len), MEDIA_SRTP_OK);
			assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), MEDIA_SRTP_OK);
			assert_int_equal(len, 60);
		}
	media_srtp_free(tx);
	media_srtp_free(rx);
	media_srtp_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suites_available),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_generate_line_parse_round_trip),
		cmocka_unit_test(test_parse_simple_forms),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_crypto_line_limits),
		cmocka_unit_test(test_protect_unprotect_round_trip),
		cmocka_unit_test(test_tampered_and_wrong_key),
		cmocka_unit_test(test_replay_rejected),
		cmocka_unit_test(test_many_ssrcs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
