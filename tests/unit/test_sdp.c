/* SDP parsing and rewriting: bodies shaped like those of real phones
 * (tests/data/sdp), every refusal with its reason, and the round trip
 * rewrite -> parse that the B2BUA relies on for topology hiding. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/limits.h"
#include "sip/sdp.h"

/* A body in a buffer of exactly its length, so ASan sees any over-read. */
struct body {
	char *p;
	size_t len;
};

static struct body body_from(const char *text, size_t len)
{
	struct body b = {malloc(len ? len : 1), len};

	assert_non_null(b.p);
	memcpy(b.p, text, len);
	return b;
}

static struct body body_str(const char *text)
{
	return body_from(text, strlen(text));
}

static struct body body_file(const char *name)
{
	const char *dir = getenv("RF_TEST_DATA") ? getenv("RF_TEST_DATA") : "tests/data";
	char path[1024], buf[SDP_MAX_SIZE];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/sdp/%s", dir, name);
	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return body_from(buf, n);
}

static void parse_ok(struct body b, struct sdp *s)
{
	const char *why = NULL;
	int rc = sdp_parse(b.p, b.len, s, &why);

	if (rc)
		fail_msg("refused: %s", why);
}

static void parse_fails(const char *text, const char *reason)
{
	struct body b = body_str(text);
	struct sdp s;
	const char *why = NULL;

	assert_int_equal(sdp_parse(b.p, b.len, &s, &why), EBADMSG);
	assert_non_null(why);
	if (strcmp(why, reason) != 0)
		fail_msg("expected \"%s\", got \"%s\" for:\n%s", reason, why, text);
	assert_int_equal(s.nmedia, 0); /* nothing partial */
	free(b.p);
}

static void assert_addr(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	} else {
		fail_msg("no address (family %d), expected %s", ss->ss_family, ip);
	}
	assert_string_equal(buf, ip);
}

static bool str_is(struct sip_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

#define assert_slice(s, lit)                                                   \
	do {                                                                   \
		if (!str_is((s), (lit)))                                       \
			fail_msg("expected \"%s\", got \"%.*s\"", (lit),       \
				 (int)(s).len, (s).p);                         \
	} while (0)

/* ---- Bodies from real phones ---- */

static void test_linphone(void **state)
{
	(void)state;
	struct body b = body_file("linphone.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_addr(&s.addr, "192.168.1.20", 0);
	assert_int_equal(s.nmedia, 2);
	assert_slice(s.media[0].type, "audio");
	assert_int_equal(s.media[0].port, 7078);
	assert_slice(s.media[0].proto, "RTP/AVP");
	assert_slice(s.media[0].formats, "96 97 98 0 8 18 101 99 100");
	assert_addr(&s.media[0].addr, "192.168.1.20", 7078);
	assert_int_equal(s.media[0].rtcp_port, 7079);
	assert_false(s.media[0].rtcp_mux);
	assert_int_equal(s.media[0].dir, SDP_SENDRECV);
	assert_int_equal(s.media[0].ncrypto, 0);
	assert_slice(s.media[1].type, "video");
	assert_addr(&s.media[1].addr, "192.168.1.20", 9078);
	assert_int_equal(s.media[1].rtcp_port, 9079);
	free(b.p);
}

static void test_baresip_srtp(void **state)
{
	(void)state;
	struct body b = body_file("baresip_srtp.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_int_equal(s.nmedia, 1);
	assert_slice(s.media[0].proto, "RTP/SAVP");
	assert_addr(&s.media[0].addr, "10.0.0.5", 10000);
	assert_int_equal(s.media[0].ncrypto, 2);
	assert_int_equal(s.media[0].crypto[0].tag, 1);
	assert_slice(s.media[0].crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
	assert_slice(s.media[0].crypto[0].key,
		     "inline:H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYO");
	assert_int_equal(s.media[0].crypto[1].tag, 2);
	assert_slice(s.media[0].crypto[1].suite, "AES_CM_128_HMAC_SHA1_32");
	assert_slice(s.media[0].crypto[1].key,
		     "inline:Umd2iCLuYk1I/OFexcp5y9YCy39MIVelFlVpkfIu|2^31|1:4");
	assert_int_equal(s.media[0].dir, SDP_SENDRECV);
	free(b.p);
}

static void test_yealink(void **state)
{
	(void)state;
	struct body b = body_file("yealink.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_int_equal(s.nmedia, 1);
	assert_addr(&s.media[0].addr, "192.168.10.31", 11800);
	assert_slice(s.media[0].formats, "0 8 18 9 101");
	assert_int_equal(s.media[0].rtcp_port, 0);
	free(b.p);
}

static void test_polycom_rtcp(void **state)
{
	(void)state;
	struct body b = body_file("polycom.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_int_equal(s.dir, SDP_SENDRECV);
	assert_addr(&s.media[0].addr, "172.16.5.40", 2242);
	assert_int_equal(s.media[0].rtcp_port, 2243);
	free(b.p);
}

static void test_webrtc(void **state)
{
	(void)state;
	struct body b = body_file("webrtc.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_int_equal(s.addr.ss_family, 0); /* no session-level c= */
	assert_int_equal(s.nmedia, 2);
	assert_addr(&s.media[0].addr, "203.0.113.9", 50314);
	assert_true(s.media[0].rtcp_mux);
	assert_int_equal(s.media[0].rtcp_port, 9);
	assert_int_equal(s.media[0].dir, SDP_SENDRECV);
	assert_int_equal(s.media[0].ncrypto, 1);
	assert_addr(&s.media[1].addr, "203.0.113.9", 50316);
	assert_int_equal(s.media[1].dir, SDP_RECVONLY);
	assert_int_equal(s.media[1].crypto[0].tag, 7);
	assert_slice(s.media[1].crypto[0].suite, "AEAD_AES_128_GCM");
	free(b.p);
}

static void test_hold(void **state)
{
	(void)state;
	struct body b = body_file("hold_sendonly.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_int_equal(s.dir, SDP_SENDONLY);
	assert_int_equal(s.media[0].dir, SDP_SENDONLY); /* inherited */
	free(b.p);

	b = body_file("hold_zero.sdp");
	parse_ok(b, &s);
	assert_addr(&s.media[0].addr, "0.0.0.0", 11800);
	assert_int_equal(s.media[0].dir, SDP_SENDRECV);
	free(b.p);

	b = body_file("hold_inactive.sdp");
	parse_ok(b, &s);
	assert_int_equal(s.dir, SDP_SENDRECV);
	assert_int_equal(s.media[0].dir, SDP_INACTIVE); /* media level wins */
	free(b.p);
}

static void test_ipv6(void **state)
{
	(void)state;
	struct body b = body_file("ipv6.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_addr(&s.addr, "2001:db8::20", 0);
	assert_addr(&s.media[0].addr, "2001:db8::20", 49172);
	free(b.p);
}

static void test_disabled_video(void **state)
{
	(void)state;
	struct body b = body_file("video_disabled.sdp");
	struct sdp s;

	parse_ok(b, &s);
	assert_int_equal(s.nmedia, 3);
	assert_int_equal(s.media[0].port, 4000);
	assert_int_equal(s.media[0].rtcp_port, 4001);
	assert_int_equal(s.media[1].port, 0);
	assert_slice(s.media[1].type, "video");
	assert_addr(&s.media[2].addr, "192.168.1.31", 4002); /* media-level c= */
	assert_int_equal(s.media[2].rtcp_port, 4003);
	free(b.p);
}

#define HEAD "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
#define SESS HEAD "c=IN IP4 192.0.2.1\r\nt=0 0\r\n"
#define KEY30 "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

static void test_line_ends_and_odd_spacing(void **state)
{
	(void)state;
	struct sdp s;
	struct body b = body_str("v=0\no=- 1 2 IN IP4 192.0.2.1\ns=\nc=IN IP4 192.0.2.1\n"
				 "t=0 0\nm=audio  5004 RTP/AVP 0 \na=rtcp-mux");

	parse_ok(b, &s); /* LF only, no final line end, empty s= */
	assert_int_equal(s.media[0].port, 5004);
	assert_slice(s.media[0].formats, "0");
	assert_true(s.media[0].rtcp_mux);
	free(b.p);

	b = body_str(SESS "m=audio 5004 RTP/AVP 0\r\n\r\n\r\n"); /* padding */
	parse_ok(b, &s);
	free(b.p);

	b = body_str(SESS); /* no media at all is still SDP */
	parse_ok(b, &s);
	assert_int_equal(s.nmedia, 0);
	free(b.p);

	b = body_str(SESS "a=rtcp-mux\r\nm=audio 5004 RTP/AVP 0\r\n");
	parse_ok(b, &s); /* session-level rtcp-mux applies to each stream */
	assert_true(s.media[0].rtcp_mux);
	free(b.p);

	b = body_str(SESS "m=audio 5004 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
		     KEY30 "|2^20|1:32;" KEY30 " UNENCRYPTED_SRTCP\r\n");
	parse_ok(b, &s); /* RFC 4568 example: two keys and a session param */
	assert_slice(s.media[0].crypto[0].key, KEY30 "|2^20|1:32;" KEY30);
	free(b.p);

	b = body_str(SESS "m=audio 5004 RTP/AVP 0\r\na=crypto:9 FOO_NEW_SUITE inline:QUJD\r\n");
	parse_ok(b, &s); /* unknown suite: syntax only, the caller chooses */
	free(b.p);
}

/* ---- Refusals ---- */

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *body, *why;
	} cases[] = {
		{"", "empty SDP body"},
		{"\r\n\r\n", "empty SDP body"},
		{"o=- 1 2 IN IP4 192.0.2.1\r\nv=0\r\n", "SDP does not start with v="},
		{"v=1\r\n", "SDP version is not 0"},
		{"v=0 \r\n", "SDP version is not 0"},
		{SESS "v=0\r\n", "v= line after the first line"},
		{"v=0\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n", "SDP has no o= line"},
		{"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\nt=0 0\r\n", "SDP has no s= line"},
		{HEAD "c=IN IP4 192.0.2.1\r\n", "SDP has no t= line"},
		{HEAD "o=- 1 2 IN IP4 192.0.2.1\r\nt=0 0\r\n", "more than one o= line"},
		{HEAD "s=x\r\nt=0 0\r\n", "more than one s= line"},
		{"v=0\r\no=- 1 2 IN IP4\r\n", "o= line does not have 6 fields"},
		{"v=0\r\no=- x 2 IN IP4 h\r\n", "o= session id or version is not a number"},
		{"v=0\r\no=- 1 2 ATM IP4 h\r\n", "o= network type is not IN"},
		{"v=0\r\no=- 1 2 IN IPX h\r\n", "o= address type is not IP4 or IP6"},
		{HEAD "t=now 0\r\n", "t= line is not two numbers"},
		{HEAD "r=7d 1h 0 25h\r\nt=0 0\r\n", "r= line before t="},
		{SESS "garbage\r\n", "SDP line is not <type>=<value>"},
		{SESS "a\r\n", "SDP line is not <type>=<value>"},
		{SESS "m:audio 5004 RTP/AVP 0\r\n", "SDP line is not <type>=<value>"},
		{SESS "x=foo\r\n", "unknown SDP line type"},
		{SESS "M=audio 5004 RTP/AVP 0\r\n", "unknown SDP line type"},
		{SESS "\r\nm=audio 5004 RTP/AVP 0\r\n", "empty line inside SDP"},
		{SESS "a=foo\rbar\r\n", "bare CR in SDP line"},
		/* c= */
		{HEAD "c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n",
		 "more than one c= line at session level"},
		{SESS "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n",
		 "more than one c= line in a media section"},
		{HEAD "c=IN IP4\r\n", "c= line does not have 3 fields"},
		{HEAD "c=IN IP4 192.0.2.1 x\r\n", "c= line does not have 3 fields"},
		{HEAD "c=XX IP4 192.0.2.1\r\n", "c= network type is not IN"},
		{HEAD "c=IN IP5 192.0.2.1\r\n", "c= address type is not IP4 or IP6"},
		{HEAD "c=IN IP4 host.example.com\r\n", "c= address is not IPv4/IPv6"},
		{HEAD "c=IN IP4 2001:db8::1\r\n", "c= address is not IPv4/IPv6"},
		{HEAD "c=IN IP6 192.0.2.1\r\n", "c= address is not IPv4/IPv6"},
		{HEAD "c=IN IP4 192.0.2.256\r\n", "c= address is not IPv4/IPv6"},
		{HEAD "c=IN IP4 224.2.1.1/127\r\n",
		 "c= address with TTL or count (multicast) is not supported"},
		{HEAD "c=IN IP6 ff15::101/3\r\n",
		 "c= address with TTL or count (multicast) is not supported"},
		{HEAD "c=IN IP4 224.2.1.1\r\n", "c= address is multicast"},
		{HEAD "c=IN IP6 ff02::1\r\n", "c= address is multicast"},
		/* m= */
		{HEAD "t=0 0\r\nm=audio 5004 RTP/AVP 0\r\n",
		 "m= line without c= at media or session level"},
		{SESS "m=audio 70000 RTP/AVP 0\r\n", "m= port is not a number in 0..65535"},
		{SESS "m=audio 65536 RTP/AVP 0\r\n", "m= port is not a number in 0..65535"},
		{SESS "m=audio -1 RTP/AVP 0\r\n", "m= port is not a number in 0..65535"},
		{SESS "m=audio 99999999999999999999999 RTP/AVP 0\r\n",
		 "m= port is not a number in 0..65535"},
		{SESS "m=audio 5004/2 RTP/AVP 0\r\n", "m= port with a port count is not supported"},
		{SESS "m=audio 5004\r\n", "m= line has fewer than 4 fields"},
		{SESS "m=audio 5004 RTP/AVP\r\n", "m= line has no formats"},
		{SESS "m=audio 5004 RTP/AVP   \r\n", "m= line has no formats"},
		{SESS "m=au\"dio 5004 RTP/AVP 0\r\n", "m= media type is not a token"},
		{SESS "m=audio 5004 RTP/AVP 0 \"8\"\r\n", "m= formats are not tokens"},
		{SESS "m=audio 1 a 0\r\nm=audio 2 a 0\r\nm=audio 3 a 0\r\nm=audio 4 a 0\r\n"
		      "m=audio 5 a 0\r\n",
		 "more than 4 m= lines"},
		{SESS "m=audio 5004 RTP/AVP 0\r\ns=-\r\n",
		 "session-level line (o=, s=, t=, r=, z=, u=, e=, p=) in a media section"},
		{SESS "m=audio 5004 RTP/AVP 0\r\nt=0 0\r\n",
		 "session-level line (o=, s=, t=, r=, z=, u=, e=, p=) in a media section"},
		/* attributes */
		{SESS "a=\r\n", "a= attribute name is empty or not a token"},
		{SESS "a=:x\r\n", "a= attribute name is empty or not a token"},
		{SESS "a=sendonly\r\na=recvonly\r\n", "more than one direction attribute"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=inactive\r\na=sendrecv\r\n",
		 "more than one direction attribute"},
		{SESS "a=sendonly:yes\r\n", "direction attribute with a value"},
		{SESS "a=rtcp-mux:1\r\n", "a=rtcp-mux with a value"},
		{SESS "a=rtcp:5005\r\n", "a=rtcp at session level"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp\r\n", "a=rtcp without a port"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp:70000\r\n",
		 "a=rtcp port is not a number in 1..65535"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp:0\r\n",
		 "a=rtcp port is not a number in 1..65535"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp:x\r\n",
		 "a=rtcp port is not a number in 1..65535"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp:5005 IN IP4\r\n",
		 "a=rtcp is not PORT [IN IP4|IP6 address]"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp:5005 IN IP4 example.com\r\n",
		 "a=rtcp address is not IN IP4/IP6 unicast"},
		{SESS "m=audio 5004 RTP/AVP 0\r\na=rtcp:5005\r\na=rtcp:5007\r\n",
		 "more than one a=rtcp line in a media section"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_fails(cases[i].body, cases[i].why);
}

#define CRYPTO(line) SESS "m=audio 5004 RTP/SAVP 0\r\na=crypto:" line "\r\n"

static void test_crypto_refused_without_echo(void **state)
{
	(void)state;
	static const struct {
		const char *body, *why;
	} cases[] = {
		{SESS "a=crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n", "a=crypto at session level"},
		{SESS "m=audio 5004 RTP/SAVP 0\r\na=crypto\r\n", "a=crypto without a value"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80"), "a=crypto line is not TAG SUITE KEY"},
		{CRYPTO("x AES_CM_128_HMAC_SHA1_80 " KEY30),
		 "a=crypto tag is not a number of 1 to 9 digits"},
		{CRYPTO("1234567890 AES_CM_128_HMAC_SHA1_80 " KEY30),
		 "a=crypto tag is not a number of 1 to 9 digits"},
		{CRYPTO("-1 AES_CM_128_HMAC_SHA1_80 " KEY30),
		 "a=crypto tag is not a number of 1 to 9 digits"},
		{CRYPTO("1 aes_cm_128_hmac_sha1_80 " KEY30), "a=crypto suite is not a suite name"},
		{CRYPTO("1 AES-CM " KEY30), "a=crypto suite is not a suite name"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
		 "a=crypto key does not start with the inline method"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVm*jkpPywjNWhcYD0mXXtxaVBR"),
		 "a=crypto key is not base64"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 inline:"), "a=crypto key is not base64"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVe=eCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
		 "a=crypto key is not base64"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhc"),
		 "a=crypto key has the wrong length for its suite"},
		{CRYPTO("1 AEAD_AES_256_GCM " KEY30),
		 "a=crypto key has the wrong length for its suite"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 "|2^x"),
		 "a=crypto key lifetime or MKI is malformed"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 "|1:0"),
		 "a=crypto key lifetime or MKI is malformed"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 "|1:4|2^20"),
		 "a=crypto key lifetime or MKI is malformed"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 "|2^20|1:4|1:4"),
		 "a=crypto key has too many | parts"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 ";garbage"), "a=crypto key does not start with the inline method"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 "
			KEY30),
		 "a=crypto tag used twice in a media section"},
		{CRYPTO("1 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\na=crypto:2 AES_CM_128_HMAC_SHA1_80 "
			KEY30 "\r\na=crypto:3 AES_CM_128_HMAC_SHA1_80 " KEY30
			"\r\na=crypto:4 AES_CM_128_HMAC_SHA1_80 " KEY30
			"\r\na=crypto:5 AES_CM_128_HMAC_SHA1_80 " KEY30),
		 "more than 4 a=crypto lines in a media section"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct body b = body_str(cases[i].body);
		struct sdp s;
		const char *why = NULL;

		/* A malformed key leaves that line out and counts it, so the
		 * rest of the offer (other lines, or plain RTP) can still be
		 * answered; any other fault spoils the body. */
		if (strncmp(cases[i].why, "a=crypto key ", 13) == 0) {
			assert_int_equal(sdp_parse(b.p, b.len, &s, &why), 0);
			assert_int_equal(s.media[0].ncrypto, 0);
			assert_int_equal(s.media[0].ncrypto_refused, 1);
			free(b.p);
			continue;
		}
		assert_int_equal(sdp_parse(b.p, b.len, &s, &why), EBADMSG);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: expected \"%s\", got \"%s\"", i, cases[i].why, why);
		/* the reason is what gets logged: never any part of the key */
		assert_null(strstr(why, "PS1uQ"));
		assert_null(strstr(why, "HMAC"));
		free(b.p);
	}
}

static void test_bounds(void **state)
{
	(void)state;
	struct sdp s;
	const char *why = NULL;
	size_t cap = 2 * SDP_MAX_SIZE;
	char *buf = malloc(cap);
	size_t n;

	assert_non_null(buf);

	/* one line past the line cap, inside the size cap */
	n = (size_t)snprintf(buf, cap, SESS "a=x:");
	memset(buf + n, 'y', SDP_MAX_LINE_LEN);
	n += SDP_MAX_LINE_LEN - 4 + 1;
	assert_int_equal(sdp_parse(buf, n, &s, &why), EBADMSG);
	assert_string_equal(why, "SDP line too long");
	assert_int_equal(sdp_parse(buf, n - 1, &s, &why), 0); /* exactly the cap */

	/* too many lines */
	n = (size_t)snprintf(buf, cap, SESS);
	for (unsigned i = 0; i < SDP_MAX_LINES; i++)
		n += (size_t)snprintf(buf + n, cap - n, "a=x\n");
	assert_int_equal(sdp_parse(buf, n, &s, &why), EBADMSG);
	assert_string_equal(why, "too many SDP lines");

	/* over the size cap */
	n = (size_t)snprintf(buf, cap, SESS);
	while (n <= SDP_MAX_SIZE)
		n += (size_t)snprintf(buf + n, cap - n, "a=%0500d\r\n", 0);
	assert_int_equal(sdp_parse(buf, n, &s, &why), EBADMSG);
	assert_string_equal(why, "SDP body too large");
	free(buf);

	/* NUL bytes anywhere in a line */
	static const char with_nul[] = SESS "m=audio 5004 RTP/AVP 0\r\na=x\0y\r\n";
	struct body b = body_from(with_nul, sizeof(with_nul) - 1);
	assert_int_equal(sdp_parse(b.p, b.len, &s, &why), EBADMSG);
	assert_string_equal(why, "NUL byte in SDP");
	free(b.p);
	static const char nul_port[] = SESS "m=audio 5004\0 RTP/AVP 0\r\n";
	b = body_from(nul_port, sizeof(nul_port) - 1);
	assert_int_equal(sdp_parse(b.p, b.len, &s, &why), EBADMSG);
	assert_string_equal(why, "NUL byte in SDP");
	free(b.p);
}

/* ---- Rewriting ---- */

static const uint16_t PORTS[SDP_MAX_MEDIA] = {30000, 30002, 30004, 30006};
#define RELAY4 "198.51.100.7"
#define RELAY6 "2001:db8::7"

static struct sockaddr_storage relay(const char *ip)
{
	struct sockaddr_storage ss = {0};

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

/* Rewrites with the relay at `ip`, into out (NUL-terminated for strstr). */
static size_t rewrite(struct body b, const char *ip, bool strip, char *out, size_t cap)
{
	struct sockaddr_storage r = relay(ip);
	size_t n = sdp_rewrite(b.p, b.len, (struct sockaddr *)&r, PORTS, SDP_MAX_MEDIA, 77,
			       strip, out, cap - 1);

	out[n] = '\0';
	return n;
}

static void assert_crlf_only(const char *out, size_t n)
{
	assert_true(n >= 2);
	assert_memory_equal(out + n - 2, "\r\n", 2);
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			fail_msg("bare LF at %zu", i);
}

static bool is_unspec(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET &&
	       ((const struct sockaddr_in *)ss)->sin_addr.s_addr == INADDR_ANY;
}

/* The B2BUA's promise: the far phone learns only the relay. */
static void check_round_trip(const char *file, const char *phone_ip, bool strip)
{
	struct body b = body_file(file);
	char out[SDP_MAX_SIZE + 1], again[SDP_MAX_SIZE + 1];
	struct sdp before, after;
	size_t n;

	parse_ok(b, &before);
	n = rewrite(b, RELAY4, strip, out, sizeof(out));
	if (n == 0)
		fail_msg("%s: rewrite failed", file);
	assert_crlf_only(out, n);
	if (strstr(out, phone_ip))
		fail_msg("%s: phone address leaks:\n%s", file, out);
	assert_null(strstr(out, "a=candidate"));
	assert_null(strstr(out, "a=ice-"));
	assert_null(strstr(out, "a=end-of-candidates"));
	assert_null(strstr(out, "a=tool"));
	assert_non_null(strstr(out, " 77 IN IP4 " RELAY4 "\r\ns=-\r\n"));
	assert_memory_equal(out, "v=0\r\no=- ", 9);

	struct body rb = body_from(out, n);
	parse_ok(rb, &after);
	if (before.addr.ss_family)
		assert_addr(&after.addr, is_unspec(&before.addr) ? "0.0.0.0" : RELAY4, 0);
	assert_int_equal(after.dir, before.dir);
	assert_int_equal(after.nmedia, before.nmedia);
	for (unsigned i = 0; i < after.nmedia; i++) {
		const struct sdp_media *m0 = &before.media[i], *m1 = &after.media[i];
		uint16_t port = m0->port ? PORTS[i] : 0;

		assert_int_equal(m1->port, port);
		if (port) /* c=0.0.0.0 (hold) stays hold */
			assert_addr(&m1->addr, is_unspec(&m0->addr) ? "0.0.0.0" : RELAY4, port);
		assert_true(m1->type.len == m0->type.len &&
			    !memcmp(m1->type.p, m0->type.p, m0->type.len));
		assert_true(m1->formats.len == m0->formats.len &&
			    !memcmp(m1->formats.p, m0->formats.p, m0->formats.len));
		assert_int_equal(m1->rtcp_mux, m0->rtcp_mux);
		assert_int_equal(m1->dir, m0->dir);
		assert_int_equal(m1->rtcp_port,
				 m0->rtcp_port && !m0->rtcp_mux && port ? port + 1 : 0);
		assert_int_equal(m1->ncrypto, strip ? 0 : m0->ncrypto);
		for (unsigned k = 0; k < m1->ncrypto; k++) {
			assert_int_equal(m1->crypto[k].tag, m0->crypto[k].tag);
			assert_int_equal(m1->crypto[k].key.len, m0->crypto[k].key.len);
		}
	}
	/* rewriting our own output changes nothing more */
	assert_int_equal(rewrite(rb, RELAY4, strip, again, sizeof(again)), n);
	assert_string_equal(again, out);
	free(rb.p);
	free(b.p);
}

static void test_rewrite_round_trips(void **state)
{
	(void)state;
	check_round_trip("linphone.sdp", "192.168.1.20", false);
	check_round_trip("baresip_srtp.sdp", "10.0.0.5", false);
	check_round_trip("baresip_srtp.sdp", "10.0.0.5", true);
	check_round_trip("yealink.sdp", "192.168.10.31", false);
	check_round_trip("polycom.sdp", "172.16.5.40", false);
	check_round_trip("webrtc.sdp", "203.0.113.9", false);
	check_round_trip("webrtc.sdp", "192.168.0.196", true);
	check_round_trip("hold_sendonly.sdp", "192.168.10.31", false);
	check_round_trip("hold_zero.sdp", "192.168.10.31", false);
	check_round_trip("hold_inactive.sdp", "192.168.10.31", false);
	check_round_trip("ipv6.sdp", "2001:db8::20", false);
	check_round_trip("video_disabled.sdp", "192.168.1.3", false);
}

static void assert_has(const char *out, const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("missing \"%s\" in:\n%s", needle, out);
}

static void test_rewrite_lines(void **state)
{
	(void)state;
	char out[SDP_MAX_SIZE + 1];
	struct body b = body_file("linphone.sdp");

	assert_true(rewrite(b, RELAY4, false, out, sizeof(out)) > 0);
	assert_has(out, "o=- 1029 77 IN IP4 " RELAY4 "\r\n");
	assert_has(out, "\r\nc=IN IP4 " RELAY4 "\r\n");
	assert_has(out, "\r\nm=audio 30000 RTP/AVP 96 97 98 0 8 18 101 99 100\r\n");
	assert_has(out, "\r\na=rtcp:30001\r\n");
	assert_has(out, "\r\nm=video 30002 RTP/AVP 96 97\r\n");
	assert_has(out, "\r\na=rtcp:30003\r\n");
	/* unknown attributes travel untouched */
	assert_has(out, "\r\na=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL "
			"voip-metrics\r\na=record:off\r\n");
	assert_has(out, "\r\na=rtcp-fb:96 nack pli\r\n");
	free(b.p);

	b = body_file("polycom.sdp"); /* a=rtcp with an address */
	assert_true(rewrite(b, RELAY4, false, out, sizeof(out)) > 0);
	assert_has(out, "\r\na=rtcp:30001\r\n");
	assert_null(strstr(out, "Polycom"));
	free(b.p);

	b = body_file("webrtc.sdp"); /* rtcp-mux: no a=rtcp at all */
	assert_true(rewrite(b, RELAY4, false, out, sizeof(out)) > 0);
	assert_null(strstr(out, "a=rtcp:"));
	assert_has(out, "\r\na=rtcp-mux\r\n");
	assert_has(out, "\r\na=group:BUNDLE 0 1\r\n");
	assert_has(out, "\r\na=crypto:7 AEAD_AES_128_GCM inline:");
	assert_true(rewrite(b, RELAY4, true, out, sizeof(out)) > 0);
	assert_null(strstr(out, "a=crypto"));
	assert_null(strstr(out, "inline:"));
	free(b.p);

	b = body_file("hold_zero.sdp"); /* hold stays hold */
	assert_true(rewrite(b, RELAY4, false, out, sizeof(out)) > 0);
	assert_has(out, "\r\nc=IN IP4 0.0.0.0\r\n");
	assert_has(out, "\r\nm=audio 30000 RTP/AVP 0 101\r\n");
	assert_true(rewrite(b, RELAY6, false, out, sizeof(out)) > 0);
	assert_has(out, "\r\nc=IN IP6 ::\r\n");
	free(b.p);

	b = body_file("ipv6.sdp"); /* family follows the relay */
	assert_true(rewrite(b, RELAY4, false, out, sizeof(out)) > 0);
	assert_has(out, "\r\nc=IN IP4 " RELAY4 "\r\n");
	assert_null(strstr(out, "IP6"));
	free(b.p);
	b = body_file("yealink.sdp");
	assert_true(rewrite(b, RELAY6, false, out, sizeof(out)) > 0);
	assert_has(out, "o=- 20023 77 IN IP6 " RELAY6 "\r\n");
	assert_has(out, "\r\nc=IN IP6 " RELAY6 "\r\n");
	free(b.p);

	b = body_file("video_disabled.sdp");
	assert_true(rewrite(b, RELAY4, false, out, sizeof(out)) > 0);
	assert_has(out, "\r\nm=video 0 RTP/AVP 96\r\n");
	assert_has(out, "\r\nm=audio 30004 RTP/AVP 9\r\nc=IN IP4 " RELAY4
			"\r\na=rtcp:30005\r\n");
	free(b.p);

	b = body_str("v=0\no=- 1 2 IN IP4 192.0.2.1\ns=x\nt=0 0\nm=audio 5 RTP/AVP 0\n"
		     "c=IN IP4 192.0.2.1\n");
	assert_int_equal(rewrite(b, RELAY4, false, out, sizeof(out)),
			 strlen("v=0\r\no=- 1 77 IN IP4 " RELAY4 "\r\ns=-\r\nt=0 0\r\n"
				"m=audio 30000 RTP/AVP 0\r\nc=IN IP4 " RELAY4 "\r\n"));
	assert_string_equal(out, "v=0\r\no=- 1 77 IN IP4 " RELAY4 "\r\ns=-\r\nt=0 0\r\n"
				 "m=audio 30000 RTP/AVP 0\r\nc=IN IP4 " RELAY4 "\r\n");
	free(b.p);
}

/* Every too-small buffer: 0, nothing past outlen, no key left behind. */
static void test_rewrite_small_buffers(void **state)
{
	(void)state;
	struct body b = body_file("baresip_srtp.sdp");
	struct sockaddr_storage r = relay(RELAY4);
	char full[SDP_MAX_SIZE], buf[SDP_MAX_SIZE];
	size_t need = sdp_rewrite(b.p, b.len, (struct sockaddr *)&r, PORTS, 1, 1, false,
				  full, sizeof(full));

	assert_true(need > 0);
	for (size_t cap = 0; cap < need; cap++) {
		memset(buf, 0xA5, sizeof(buf));
		assert_int_equal(sdp_rewrite(b.p, b.len, (struct sockaddr *)&r, PORTS, 1, 1,
					     false, buf, cap), 0);
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i] != (char)0xA5 && (i >= cap || buf[i] != 0))
				fail_msg("cap %zu: byte %zu written", cap, i);
	}
	memset(buf, 0xA5, sizeof(buf));
	assert_int_equal(sdp_rewrite(b.p, b.len, (struct sockaddr *)&r, PORTS, 1, 1, false,
				     buf, need), need);
	assert_memory_equal(buf, full, need);
	assert_int_equal(buf[need], (char)0xA5);
	free(b.p);
}

static void test_rewrite_refusals(void **state)
{
	(void)state;
	struct sockaddr_storage r = relay(RELAY4);
	struct sockaddr *ra = (struct sockaddr *)&r;
	struct sockaddr un = {.sa_family = AF_UNIX};
	char out[SDP_MAX_SIZE + 1];
	uint16_t top[1] = {65535};
	struct body b = body_file("linphone.sdp"); /* two m= lines */

	assert_int_equal(sdp_rewrite(b.p, b.len, ra, PORTS, 1, 1, false, out, sizeof(out)), 0);
	assert_int_equal(sdp_rewrite(b.p, b.len, ra, NULL, 0, 1, false, out, sizeof(out)), 0);
	assert_int_equal(sdp_rewrite(b.p, b.len, &un, PORTS, 2, 1, false, out, sizeof(out)), 0);
	assert_int_equal(sdp_rewrite(b.p, b.len, NULL, PORTS, 2, 1, false, out, sizeof(out)), 0);
	assert_int_equal(sdp_rewrite(b.p, b.len - 40, ra, PORTS, 2, 1, false, out, sizeof(out)),
			 0); /* a truncated body does not parse */
	free(b.p);

	/* RTCP would land on port 65536 */
	b = body_file("polycom.sdp");
	assert_int_equal(sdp_rewrite(b.p, b.len, ra, top, 1, 1, false, out, sizeof(out)), 0);
	free(b.p);
	b = body_file("yealink.sdp"); /* no a=rtcp: 65535 is fine */
	assert_true(sdp_rewrite(b.p, b.len, ra, top, 1, 1, false, out, sizeof(out)) > 0);
	free(b.p);

	/* an LF body that CRLF pushes over SDP_MAX_SIZE is not handed out */
	char *big = malloc(SDP_MAX_SIZE + 1);
	size_t n = (size_t)snprintf(big, SDP_MAX_SIZE, SESS "m=audio 5004 RTP/AVP 0\r\n");
	unsigned lines = 6;
	while (n + 32 <= SDP_MAX_SIZE && lines < SDP_MAX_LINES) {
		n += (size_t)snprintf(big + n, SDP_MAX_SIZE + 1 - n, "a=x-%027u\n", lines);
		lines++;
	}
	assert_true(n + lines > SDP_MAX_SIZE);
	struct sdp s;
	struct body bb = body_from(big, n);
	parse_ok(bb, &s);
	assert_int_equal(sdp_rewrite(bb.p, bb.len, ra, PORTS, 1, 1, false, out, sizeof(out)),
			 0);
	free(bb.p);
	free(big);
}

/* ---- Rewriting with SRTP control (sdp_rewrite_ex) ---- */

#define OURS "a=crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30
#define OURS_TAG2 "a=crypto:2 AES_CM_128_HMAC_SHA1_80 " KEY30

static struct sockaddr_storage ex_relay;

static struct sdp_rewrite_opts ex_opts(int media, const char *proto, const char *crypto,
				       bool strip)
{
	ex_relay = relay(RELAY4);
	return (struct sdp_rewrite_opts){
		.addr = (const struct sockaddr *)&ex_relay, .ports = PORTS,
		.nports = SDP_MAX_MEDIA, .version = 77, .strip_crypto = strip,
		.media = media, .proto = proto, .crypto = crypto,
	};
}

/* Rewrites into out, NUL-terminated for strstr. */
static size_t rewrite_ex(struct body b, const struct sdp_rewrite_opts *o, char *out,
			 size_t cap)
{
	size_t n = sdp_rewrite_ex(b.p, b.len, o, out, cap - 1);

	out[n] = '\0';
	return n;
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The promise to the B2BUA: the output parses, the anchored stream shows
 * `proto` and carries `crypto` exactly once, as the last line of its
 * section, and the stream has `ncrypto` a=crypto lines in all. */
static void assert_anchored(const char *out, size_t n, unsigned media, const char *proto,
			    const char *crypto, unsigned ncrypto)
{
	struct body b = body_from(out, n);
	struct sdp s;

	parse_ok(b, &s);
	assert_true(media < s.nmedia);
	assert_slice(s.media[media].proto, proto);
	assert_int_equal(s.media[media].port, PORTS[media]);
	assert_int_equal(s.media[media].ncrypto, ncrypto);
	if (crypto) {
		assert_int_equal(count_of(out, crypto), 1);
		const char *at = strstr(out, crypto);
		const char *eol = at + strlen(crypto);
		assert_true(*eol == '\r' || *eol == '\n');
		eol += *eol == '\r' ? 2 : 1;
		/* the last line of its section: the next line is m= or nothing */
		assert_true(*eol == '\0' || strncmp(eol, "m=", 2) == 0);
		/* and inside the anchored section */
		const char *m = out;
		for (unsigned i = 0; i <= media; i++)
			m = strstr(m + 1, "\nm=");
		assert_non_null(m);
		assert_true(m < at);
		const char *next = strstr(m + 1, "\nm=");
		assert_true(!next || at < next);
	}
	free(b.p);
}

static void test_rewrite_ex_savp_to_avp(void **state)
{
	(void)state;
	char out[SDP_MAX_SIZE + 1];
	struct body b = body_file("baresip_srtp.sdp");
	struct sdp_rewrite_opts o = ex_opts(0, "RTP/AVP", NULL, true);
	size_t n = rewrite_ex(b, &o, out, sizeof(out));

	assert_true(n > 0);
	assert_crlf_only(out, n);
	assert_has(out, "\r\nm=audio 30000 RTP/AVP 0 8 101\r\n");
	assert_null(strstr(out, "SAVP"));
	assert_null(strstr(out, "a=crypto"));
	assert_null(strstr(out, "inline:"));
	assert_anchored(out, n, 0, "RTP/AVP", NULL, 0);
	free(b.p);
}

static void test_rewrite_ex_avp_to_savp(void **state)
{
	(void)state;
	char out[SDP_MAX_SIZE + 1];
	struct body b = body_file("yealink.sdp");
	struct sdp_rewrite_opts o = ex_opts(0, "RTP/SAVP", OURS, true);
	size_t n = rewrite_ex(b, &o, out, sizeof(out));

	assert_true(n > 0);
	assert_crlf_only(out, n);
	assert_has(out, "\r\nm=audio 30000 RTP/SAVP 0 8 18 9 101\r\n");
	/* one stream: our line closes the body */
	assert_memory_equal(out + n - strlen(OURS "\r\n"), OURS "\r\n", strlen(OURS "\r\n"));
	assert_anchored(out, n, 0, "RTP/SAVP", OURS, 1);
	free(b.p);

	/* an SRTP offer re-keyed by us: the phone's two keys go, ours stays */
	b = body_file("baresip_srtp.sdp");
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(count_of(out, "a=crypto"), 1);
	assert_null(strstr(out, "H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYO"));
	assert_anchored(out, n, 0, "RTP/SAVP", OURS, 1);

	/* without strip_crypto the phone's keys stay, and ours must not
	 * reuse one of their tags */
	o = ex_opts(0, NULL, OURS, false);
	memset(out, 0xA5, sizeof(out));
	assert_int_equal(sdp_rewrite_ex(b.p, b.len, &o, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], (char)0xA5);
	o.crypto = "a=crypto:3 AES_CM_128_HMAC_SHA1_80 " KEY30;
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_anchored(out, n, 0, "RTP/SAVP", o.crypto, 3);
	free(b.p);
}

/* Two streams: only the anchored one changes. */
static void test_rewrite_ex_two_streams(void **state)
{
	(void)state;
	char out[SDP_MAX_SIZE + 1];
	struct body b = body_file("linphone.sdp");
	struct sdp_rewrite_opts o = ex_opts(0, "RTP/SAVP", OURS, true);
	size_t n = rewrite_ex(b, &o, out, sizeof(out));
	struct sdp s;

	assert_true(n > 0);
	assert_has(out, "\r\nm=audio 30000 RTP/SAVP 96 97 98 0 8 18 101 99 100\r\n");
	assert_has(out, "\r\n" OURS "\r\nm=video 30002 RTP/AVP 96 97\r\n");
	assert_anchored(out, n, 0, "RTP/SAVP", OURS, 1);
	struct body rb = body_from(out, n);
	parse_ok(rb, &s);
	assert_slice(s.media[1].proto, "RTP/AVP");
	assert_int_equal(s.media[1].ncrypto, 0);
	free(rb.p);

	/* the second stream anchored: our line ends the body */
	o = ex_opts(1, "RTP/SAVP", OURS, true);
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_has(out, "\r\nm=audio 30000 RTP/AVP 96 97 98 0 8 18 101 99 100\r\n");
	assert_has(out, "\r\nm=video 30002 RTP/SAVP 96 97\r\n");
	assert_memory_equal(out + n - strlen(OURS "\r\n"), OURS "\r\n", strlen(OURS "\r\n"));
	assert_anchored(out, n, 1, "RTP/SAVP", OURS, 1);
	free(b.p);

	/* WebRTC protos: the anchored one becomes plain RTP/AVP, the other
	 * keeps UDP/TLS/RTP/SAVPF and (without strip) its own key */
	b = body_file("webrtc.sdp");
	o = ex_opts(0, "RTP/AVP", NULL, false);
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_has(out, "\r\nm=audio 30000 RTP/AVP 111 0 8 126\r\n");
	assert_has(out, "\r\nm=video 30002 UDP/TLS/RTP/SAVPF 96 97\r\n");
	rb = body_from(out, n);
	parse_ok(rb, &s);
	assert_int_equal(s.media[0].ncrypto, 1);
	assert_int_equal(s.media[1].ncrypto, 1);
	assert_int_equal(s.media[1].crypto[0].tag, 7);
	free(rb.p);
	o = ex_opts(0, "RTP/SAVP", OURS_TAG2, true);
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_anchored(out, n, 0, "RTP/SAVP", OURS_TAG2, 1);
	assert_int_equal(count_of(out, "a=crypto"), 1);
	assert_has(out, "\r\nm=video 30002 UDP/TLS/RTP/SAVPF 96 97\r\n");
	free(b.p);
}

static void test_rewrite_ex_lf_body(void **state)
{
	(void)state;
	char out[SDP_MAX_SIZE + 1];
	/* video_disabled.sdp with LF line ends */
	struct body b = body_str("v=0\no=- 8000 8001 IN IP4 192.168.1.30\ns=-\n"
				 "c=IN IP4 192.168.1.30\nt=0 0\nm=audio 4000 RTP/AVP 0 8 101\n"
				 "a=rtpmap:101 telephone-event/8000\na=rtcp:4001\n"
				 "m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
				 "m=audio 4002 RTP/AVP 9\nc=IN IP4 192.168.1.31\n"
				 "a=rtcp:4003 IN IP4 192.168.1.31\n");
	struct sdp_rewrite_opts o = ex_opts(2, "RTP/SAVP", OURS, true);
	size_t n = rewrite_ex(b, &o, out, sizeof(out));

	assert_true(n > 0);
	assert_null(strchr(out, '\r'));
	assert_string_equal(out, "v=0\no=- 8000 77 IN IP4 " RELAY4 "\ns=-\nc=IN IP4 " RELAY4
				 "\nt=0 0\nm=audio 30000 RTP/AVP 0 8 101\n"
				 "a=rtpmap:101 telephone-event/8000\na=rtcp:30001\n"
				 "m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
				 "m=audio 30004 RTP/SAVP 9\nc=IN IP4 " RELAY4 "\na=rtcp:30005\n"
				 OURS "\n");
	assert_anchored(out, n, 2, "RTP/SAVP", OURS, 1);
	free(b.p);

	/* no line end after the last line: the body's own is added */
	b = body_str("v=0\no=- 1 2 IN IP4 192.0.2.1\ns=x\nt=0 0\nm=audio 5 RTP/AVP 0\n"
		     "c=IN IP4 192.0.2.1");
	o = ex_opts(0, "RTP/SAVP", OURS, true);
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_string_equal(out, "v=0\no=- 1 77 IN IP4 " RELAY4 "\ns=-\nt=0 0\n"
				 "m=audio 30000 RTP/SAVP 0\nc=IN IP4 " RELAY4 "\n" OURS "\n");
	assert_int_equal(n, strlen(out));
	/* sdp_rewrite keeps writing CRLF for the same body */
	assert_true(rewrite(b, RELAY4, true, out, sizeof(out)) > 0);
	assert_crlf_only(out, strlen(out));
	free(b.p);

	/* a mixed body follows its first line */
	b = body_str("v=0\r\no=- 1 2 IN IP4 192.0.2.1\ns=x\r\nt=0 0\nm=audio 5 RTP/AVP 0\n"
		     "c=IN IP4 192.0.2.1\n");
	n = rewrite_ex(b, &o, out, sizeof(out));
	assert_true(n > 0);
	assert_crlf_only(out, n);
	free(b.p);
}

/* Every too-small buffer: 0, nothing past outlen, no key left behind. */
static void test_rewrite_ex_small_buffers(void **state)
{
	(void)state;
	struct body b = body_file("webrtc.sdp");
	struct sdp_rewrite_opts o = ex_opts(0, "RTP/SAVP", OURS, false);
	static char full[SDP_MAX_SIZE], buf[SDP_MAX_SIZE];

	o.crypto = "a=crypto:9 AES_CM_128_HMAC_SHA1_80 " KEY30;
	size_t need = sdp_rewrite_ex(b.p, b.len, &o, full, sizeof(full));
	assert_true(need > 0);
	for (size_t cap = 0; cap < need; cap++) {
		memset(buf, 0xA5, sizeof(buf));
		assert_int_equal(sdp_rewrite_ex(b.p, b.len, &o, buf, cap), 0);
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i] != (char)0xA5 && (i >= cap || buf[i] != 0))
				fail_msg("cap %zu: byte %zu written", cap, i);
	}
	memset(buf, 0xA5, sizeof(buf));
	assert_int_equal(sdp_rewrite_ex(b.p, b.len, &o, buf, need), need);
	assert_memory_equal(buf, full, need);
	assert_int_equal(buf[need], (char)0xA5);
	free(b.p);
}

/* Refused options: 0, and not one byte of out touched. */
static void ex_refused(struct body b, const struct sdp_rewrite_opts *o, const char *what)
{
	static char out[SDP_MAX_SIZE];

	memset(out, 0xA5, sizeof(out));
	if (sdp_rewrite_ex(b.p, b.len, o, out, sizeof(out)) != 0)
		fail_msg("accepted: %s", what);
	for (size_t i = 0; i < sizeof(out); i++)
		if (out[i] != (char)0xA5)
			fail_msg("%s: byte %zu written", what, i);
}

static void ex_accepted(struct body b, const struct sdp_rewrite_opts *o, const char *what)
{
	char out[SDP_MAX_SIZE + 1];

	if (rewrite_ex(b, o, out, sizeof(out)) == 0)
		fail_msg("refused: %s", what);
}

static void test_rewrite_ex_refusals(void **state)
{
	(void)state;
	struct body b = body_file("video_disabled.sdp"); /* 3 streams, #1 has port 0 */
	struct sdp_rewrite_opts o;
	char longest[SDP_MAX_SIZE];

	ex_refused(b, NULL, "no options");
	o = ex_opts(0, NULL, NULL, false);
	o.addr = NULL;
	ex_refused(b, &o, "no relay address");

	/* the media index */
	o = ex_opts(-2, NULL, NULL, false);
	ex_refused(b, &o, "media -2");
	o = ex_opts(3, "RTP/SAVP", NULL, false);
	ex_refused(b, &o, "media past the last m= line");
	o = ex_opts(SDP_MAX_MEDIA, NULL, NULL, false);
	ex_refused(b, &o, "media SDP_MAX_MEDIA");
	o = ex_opts(1, "RTP/SAVP", OURS, true);
	ex_refused(b, &o, "media with port 0");
	o = ex_opts(1, NULL, NULL, true);
	ex_refused(b, &o, "media with port 0, no proto or crypto");
	o = ex_opts(-1, "RTP/SAVP", NULL, true);
	ex_refused(b, &o, "proto without a media");
	o = ex_opts(-1, NULL, OURS, true);
	ex_refused(b, &o, "crypto without a media");
	o = ex_opts(-1, NULL, NULL, true);
	ex_accepted(b, &o, "no media, no SRTP change");

	/* proto */
	static const char *const bad_protos[] = {
		"", "RTP/AVP\r\n", "RTP/AVP\n", "RTP/\rAVP", "RTP AVP", "RTP/AVP ",
		"RTP/AVP+", "RTP/!AVP", "RTP/AV\x80", "RTP/AVP\t",
		"123456789012345678901234567890123", /* 33 bytes */
	};
	for (size_t i = 0; i < sizeof(bad_protos) / sizeof(bad_protos[0]); i++) {
		o = ex_opts(0, bad_protos[i], NULL, true);
		ex_refused(b, &o, bad_protos[i]);
	}
	static const char *const good_protos[] = {
		"RTP/AVP", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "x.y_z-1",
		"12345678901234567890123456789012", /* 32 bytes */
	};
	for (size_t i = 0; i < sizeof(good_protos) / sizeof(good_protos[0]); i++) {
		o = ex_opts(0, good_protos[i], NULL, true);
		ex_accepted(b, &o, good_protos[i]);
	}

	/* crypto */
	static const char *const bad_cryptos[] = {
		"",
		"a=crypto:",
		"crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30,
		"a=Crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30,
		"a=crypto 1 AES_CM_128_HMAC_SHA1_80 " KEY30,
		OURS "\r\n",
		OURS "\n",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80\r\n" KEY30,
		OURS "\ra=x",
		OURS "\t",
		OURS "\x7f",
		OURS "\xc3\xa9",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=", /* short key */
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80",                 /* no key */
		"a=crypto:x AES_CM_128_HMAC_SHA1_80 " KEY30,          /* bad tag */
	};
	for (size_t i = 0; i < sizeof(bad_cryptos) / sizeof(bad_cryptos[0]); i++) {
		o = ex_opts(0, "RTP/SAVP", bad_cryptos[i], true);
		ex_refused(b, &o, bad_cryptos[i]);
	}

	/* 200 bytes is the cap, 201 is over (session parameters as padding) */
	size_t n = (size_t)snprintf(longest, sizeof(longest), OURS " UNENCRYPTED_SRTCP");
	memset(longest + n, 'X', 200 - n);
	longest[200] = '\0';
	o = ex_opts(0, "RTP/SAVP", longest, true);
	ex_accepted(b, &o, "200-byte crypto line");
	longest[200] = 'X';
	longest[201] = '\0';
	ex_refused(b, &o, "201-byte crypto line");
	free(b.p);

	/* our tag clashing with the phone's, or a fifth crypto line */
	b = body_file("webrtc.sdp");
	o = ex_opts(1, NULL, "a=crypto:7 AES_CM_128_HMAC_SHA1_80 " KEY30, false);
	ex_refused(b, &o, "tag used by the phone");
	o.strip_crypto = true;
	ex_accepted(b, &o, "same tag once the phone's keys are stripped");
	free(b.p);
	b = body_str(SESS "m=audio 5004 RTP/SAVP 0\r\n"
		     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n"
		     "a=crypto:2 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n"
		     "a=crypto:3 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n"
		     "a=crypto:4 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n");
	o = ex_opts(0, NULL, "a=crypto:5 AES_CM_128_HMAC_SHA1_80 " KEY30, false);
	ex_refused(b, &o, "a fifth crypto line");
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linphone),
		cmocka_unit_test(test_baresip_srtp),
		cmocka_unit_test(test_yealink),
		cmocka_unit_test(test_polycom_rtcp),
		cmocka_unit_test(test_webrtc),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_disabled_video),
		cmocka_unit_test(test_line_ends_and_odd_spacing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_crypto_refused_without_echo),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_rewrite_round_trips),
		cmocka_unit_test(test_rewrite_lines),
		cmocka_unit_test(test_rewrite_small_buffers),
		cmocka_unit_test(test_rewrite_refusals),
		cmocka_unit_test(test_rewrite_ex_savp_to_avp),
		cmocka_unit_test(test_rewrite_ex_avp_to_savp),
		cmocka_unit_test(test_rewrite_ex_two_streams),
		cmocka_unit_test(test_rewrite_ex_lf_body),
		cmocka_unit_test(test_rewrite_ex_small_buffers),
		cmocka_unit_test(test_rewrite_ex_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
