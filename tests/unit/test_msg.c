/* Unit tests for the SIP message parser (src/sip/msg.c, msg_value.c). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/msg.h"

static struct sip_msg msg;
static struct sip_parse_error perr;
static char *owned; /* the last parsed copy, exactly sized for ASan */
static size_t owned_len;

/* Parse a copy of `len` bytes in a buffer of exactly that size. */
static int parse_n(const char *s, size_t len, enum sip_transport tp)
{
	free(owned);
	owned = malloc(len ? len : 1);
	assert_non_null(owned);
	memcpy(owned, s, len);
	owned_len = len;
	return sip_msg_parse(&msg, owned, len, tp, &perr);
}

static int parse_tp(const char *s, enum sip_transport tp)
{
	return parse_n(s, strlen(s), tp);
}

static int parse(const char *s)
{
	return parse_tp(s, SIP_TP_UDP);
}

static void expect_fail(const char *s, int status, const char *reason)
{
	if (parse(s) != EBADMSG)
		fail_msg("accepted: %s", s);
	if (perr.status != status || strcmp(perr.reason, reason) != 0)
		fail_msg("got %d \"%s\", want %d \"%s\" for:\n%s", perr.status,
			 perr.reason, status, reason, s);
}

static void expect_ok(const char *s)
{
	if (parse(s) != 0)
		fail_msg("refused (%d %s): %s", perr.status, perr.reason, s);
}

/* Indexed by the parser, refused by sip_request_check(). */
static void expect_check_fail(const char *s, int status, const char *reason)
{
	expect_ok(s);
	if (sip_request_check(&msg, &perr) != EBADMSG)
		fail_msg("passed the request check: %s", s);
	if (perr.status != status || strcmp(perr.reason, reason) != 0)
		fail_msg("got %d \"%s\", want %d \"%s\" for:\n%s", perr.status,
			 perr.reason, status, reason, s);
}

static struct sip_str S(const char *s)
{
	return sip_str_from(s);
}

static bool is(struct sip_str s, const char *lit)
{
	return sip_str_eq(s, lit);
}

#define REQ_LINE "REGISTER sip:example.com SIP/2.0\r\n"
#define H_VIA "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n"
#define H_FROM "From: <sip:1001@example.com>;tag=abc\r\n"
#define H_TO "To: <sip:1001@example.com>\r\n"
#define H_CALLID "Call-ID: c1@192.0.2.1\r\n"
#define H_CSEQ "CSeq: 1 REGISTER\r\n"
#define H_MIN H_VIA H_FROM H_TO H_CALLID H_CSEQ
#define REG(extra) REQ_LINE H_MIN extra "\r\n"

/* ---- basics ---- */

static void test_register_basic(void **state)
{
	(void)state;
	expect_ok(REG("Max-Forwards: 70\r\nContact: <sip:1001@192.0.2.1:5060>;expires=300\r\n"
		      "Content-Length: 0\r\n"));
	assert_true(msg.is_request);
	assert_int_equal(msg.method, SIP_M_REGISTER);
	assert_true(is(msg.method_str, "REGISTER"));
	assert_true(is(msg.ruri, "sip:example.com"));
	assert_int_equal(msg.cseq, 1);
	assert_true(is(msg.cseq_method, "REGISTER"));
	assert_true(is(msg.call_id, "c1@192.0.2.1"));
	assert_int_equal(msg.max_forwards, 70);
	assert_int_equal(msg.nhdrs, 8);
	assert_int_equal(msg.body.len, 0);
	assert_int_equal(msg.len, owned_len);
	assert_int_equal(msg.first[SIP_H_VIA], 0);
	assert_int_equal(msg.first[SIP_H_CONTACT], 6);
	assert_int_equal(msg.first[SIP_H_ROUTE], -1);
	assert_int_equal(msg.count[SIP_H_CONTACT], 1);
	assert_true(is(sip_msg_hdr(&msg, SIP_H_CONTACT)->name, "Contact"));
	assert_null(sip_msg_hdr(&msg, SIP_H_ROUTE));
	assert_string_equal(sip_method_name(SIP_M_REGISTER), "REGISTER");
	assert_string_equal(sip_method_name(SIP_M_UNKNOWN), "UNKNOWN");
}

static void test_compact_forms(void **state)
{
	static const struct {
		char c;
		enum sip_hdr_id id;
	} forms[] = {
		{'v', SIP_H_VIA}, {'f', SIP_H_FROM}, {'t', SIP_H_TO}, {'i', SIP_H_CALL_ID},
		{'m', SIP_H_CONTACT}, {'l', SIP_H_CONTENT_LENGTH}, {'c', SIP_H_CONTENT_TYPE},
		{'k', SIP_H_SUPPORTED}, {'o', SIP_H_EVENT}, {'e', SIP_H_CONTENT_ENCODING},
		{'s', SIP_H_SUBJECT}, {'r', SIP_H_REFER_TO}, {'b', SIP_H_REFERRED_BY},
		{'x', SIP_H_OTHER}, {'a', SIP_H_OTHER},
	};

	(void)state;
	expect_ok("INVITE sip:1002@example.com SIP/2.0\r\n"
		  "v: SIP/2.0/UDP h;branch=z9hG4bK1\r\nF: <sip:a@b>;tag=1\r\nt: sip:c@d\r\n"
		  "I: x@y\r\nCSeq: 2 INVITE\r\nM: <sip:a@1.2.3.4>\r\nc: application/sdp\r\n"
		  "L: 3\r\n\r\nabc");
	assert_true(is(msg.body, "abc"));
	assert_true(is(msg.call_id, "x@y"));
	assert_int_equal(msg.count[SIP_H_CONTACT], 1);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char buf[512];
		const char *v = forms[i].id == SIP_H_VIA ? "SIP/2.0/UDP h" :
				forms[i].id == SIP_H_CONTENT_LENGTH ? "0" : "<sip:x@y>";
		snprintf(buf, sizeof(buf), REQ_LINE H_MIN "%c: %s\r\n\r\n", forms[i].c, v);
		if (forms[i].id == SIP_H_FROM || forms[i].id == SIP_H_TO ||
		    forms[i].id == SIP_H_CALL_ID)
			continue; /* would be duplicates of the base message */
		expect_ok(buf);
		assert_int_equal(msg.hdrs[msg.nhdrs - 1].id, forms[i].id);
	}
}

static void test_names_whole_and_case(void **state)
{
	(void)state;
	expect_ok(REG("cOnTaCt: <sip:a@b>\r\nVias: not a via\r\nqbkba: x\r\nVi: y\r\n"
		      "CONTENT-LENGTH: 0\r\nmax-forwards: 9\r\nProxy-Authorization: Digest username=\"a\"\r\n"));
	assert_int_equal(msg.hdrs[5].id, SIP_H_CONTACT);
	assert_int_equal(msg.hdrs[6].id, SIP_H_OTHER);
	assert_int_equal(msg.hdrs[7].id, SIP_H_OTHER);
	assert_int_equal(msg.hdrs[8].id, SIP_H_OTHER);
	assert_int_equal(msg.hdrs[9].id, SIP_H_CONTENT_LENGTH);
	assert_int_equal(msg.max_forwards, 9);
	assert_int_equal(msg.hdrs[11].id, SIP_H_PROXY_AUTHORIZATION);
	assert_int_equal(msg.count[SIP_H_VIA], 1);
	/* methods are case-sensitive: "register" is an extension method */
	expect_ok("register sip:example.com SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID
		  "CSeq: 1 register\r\n\r\n");
	assert_int_equal(msg.method, SIP_M_UNKNOWN);
}

static void test_every_known_name(void **state)
{
	static const struct {
		const char *name;
		enum sip_hdr_id id;
	} names[] = {
		{"Via", SIP_H_VIA}, {"From", SIP_H_FROM}, {"To", SIP_H_TO},
		{"Call-ID", SIP_H_CALL_ID}, {"CSeq", SIP_H_CSEQ}, {"Contact", SIP_H_CONTACT},
		{"Content-Length", SIP_H_CONTENT_LENGTH}, {"Content-Type", SIP_H_CONTENT_TYPE},
		{"Max-Forwards", SIP_H_MAX_FORWARDS}, {"Expires", SIP_H_EXPIRES},
		{"Min-Expires", SIP_H_MIN_EXPIRES}, {"Authorization", SIP_H_AUTHORIZATION},
		{"Proxy-Authorization", SIP_H_PROXY_AUTHORIZATION},
		{"WWW-Authenticate", SIP_H_WWW_AUTHENTICATE},
		{"Proxy-Authenticate", SIP_H_PROXY_AUTHENTICATE}, {"User-Agent", SIP_H_USER_AGENT},
		{"Server", SIP_H_SERVER}, {"Route", SIP_H_ROUTE}, {"Record-Route", SIP_H_RECORD_ROUTE},
		{"Require", SIP_H_REQUIRE}, {"Proxy-Require", SIP_H_PROXY_REQUIRE},
		{"Supported", SIP_H_SUPPORTED}, {"Unsupported", SIP_H_UNSUPPORTED},
		{"Allow", SIP_H_ALLOW}, {"Event", SIP_H_EVENT}, {"Accept", SIP_H_ACCEPT},
		{"Content-Encoding", SIP_H_CONTENT_ENCODING}, {"Subject", SIP_H_SUBJECT},
		{"Refer-To", SIP_H_REFER_TO}, {"Referred-By", SIP_H_REFERRED_BY}, {"Path", SIP_H_PATH},
		/* near misses stay unknown */
		{"Vi", SIP_H_OTHER}, {"Viaa", SIP_H_OTHER}, {"Contact-", SIP_H_OTHER},
		{"Content_Length", SIP_H_OTHER}, {"Proxy-Authorizatio", SIP_H_OTHER},
		{"Proxy-Authorizationx", SIP_H_OTHER}, {"Xo", SIP_H_OTHER}, {"T0", SIP_H_OTHER},
		{"Tp", SIP_H_OTHER}, {"Allow-Events", SIP_H_OTHER},
	};
	char buf[512], upper[64];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].name);
		for (size_t k = 0; k <= n; k++)
			upper[k] = (char)((names[i].name[k] >= 'a' && names[i].name[k] <= 'z')
						  ? names[i].name[k] - 32 : names[i].name[k]);
		for (int pass = 0; pass < 2; pass++) {
			snprintf(buf, sizeof(buf), "OPTIONS sip:a@b SIP/2.0\r\n%s: 1\r\n\r\n",
				 pass ? upper : names[i].name);
			assert_int_equal(parse(buf), EBADMSG); /* lacks the rest */
			assert_int_equal(msg.nhdrs, 1);
			if (msg.hdrs[0].id != names[i].id)
				fail_msg("%s read as id %d", pass ? upper : names[i].name, msg.hdrs[0].id);
		}
	}
}

static void test_folding(void **state)
{
	const struct sip_hdr *h;
	struct sip_nameaddr na;

	(void)state;
	expect_ok(REQ_LINE H_VIA H_TO H_CALLID H_CSEQ
		  "From:\r\n \"Folded\r\n  Name\" <sip:a@b>\r\n\t;tag=77\r\n"
		  "Subject: one\r\n two\r\n\r\n");
	h = sip_msg_hdr(&msg, SIP_H_FROM);
	assert_int_equal(sip_nameaddr_parse(h->value, &na), 0);
	assert_true(is(na.tag, "77"));
	assert_true(is(na.uri, "sip:a@b"));
	h = sip_msg_hdr(&msg, SIP_H_SUBJECT);
	assert_true(is(h->value, "one\r\n two"));
	expect_fail(REQ_LINE " Via: SIP/2.0/UDP h\r\n" H_MIN "\r\n", 400,
		    "continuation line without a header");
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_fail(REG("Call-ID: again\r\n"), 400, "duplicate Call-ID");
	expect_fail(REG("i: again\r\n"), 400, "duplicate Call-ID");
	expect_fail(REG("CSeq: 1 REGISTER\r\n"), 400, "duplicate CSeq");
	expect_fail(REG("f: <sip:x@y>;tag=2\r\n"), 400, "duplicate From");
	expect_fail(REG("To: <sip:x@y>\r\n"), 400, "duplicate To");
	expect_fail(REG("Max-Forwards: 70\r\nMax-Forwards: 70\r\n"), 400, "duplicate Max-Forwards");
	expect_fail(REG("Content-Length: 0\r\nl: 0\r\n"), 400, "duplicate Content-Length");
	/* list headers may repeat */
	expect_ok(REG("Via: SIP/2.0/TCP h2\r\nRoute: <sip:p1;lr>\r\nRoute: <sip:p2;lr>\r\n"
		      "Contact: <sip:a@b>\r\nm: <sip:c@d>\r\n"));
	assert_int_equal(msg.count[SIP_H_VIA], 2);
	assert_int_equal(msg.count[SIP_H_ROUTE], 2);
	assert_true(is(sip_msg_next_hdr(&msg, sip_msg_hdr(&msg, SIP_H_ROUTE))->value, "<sip:p2;lr>"));
	/* a duplicate response is dropped, not answered */
	assert_int_equal(parse("SIP/2.0 200 OK\r\n" H_MIN "CSeq: 1 REGISTER\r\n\r\n"), EBADMSG);
	assert_int_equal(perr.status, 0);
	assert_string_equal(perr.reason, "duplicate CSeq");
}

static void test_required(void **state)
{
	(void)state;
	expect_fail(REQ_LINE H_FROM H_TO H_CALLID H_CSEQ "\r\n", 400, "missing Via");
	expect_fail(REQ_LINE H_VIA H_TO H_CALLID H_CSEQ "\r\n", 400, "missing From");
	expect_fail(REQ_LINE H_VIA H_FROM H_CALLID H_CSEQ "\r\n", 400, "missing To");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CSEQ "\r\n", 400, "missing Call-ID");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "\r\n", 400, "missing CSeq");
	expect_fail("SIP/2.0 200 OK\r\n" H_VIA H_FROM H_TO H_CSEQ "\r\n", 0, "missing Call-ID");
	expect_check_fail(REG("Call-ID2: x\r\nContact: \r\n"), 400, "bad Contact");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CSEQ "Call-ID: a b\r\n\r\n", 400, "bad Call-ID");
}

/* ---- caps (limits.h): exactly at the cap passes, one over fails ---- */

static char big[2 * SIP_MAX_MSG_SIZE];

static size_t base_into(char *b)
{
	size_t n = strlen(REQ_LINE H_MIN);
	memcpy(b, REQ_LINE H_MIN, n);
	return n;
}

static void test_cap_message_size(void **state)
{
	size_t n, body;
	int hl;

	(void)state;
	n = base_into(big);
	/* Content-Length header, blank line, then the body up to the cap */
	hl = snprintf(big + n, 64, "Content-Length: %5u\r\n\r\n", 0u);
	body = SIP_MAX_MSG_SIZE - n - (size_t)hl;
	snprintf(big + n, 64, "Content-Length: %5zu\r\n\r\n", body);
	memset(big + n + hl, 'x', body + 1);
	assert_int_equal(parse_n(big, SIP_MAX_MSG_SIZE, SIP_TP_UDP), 0);
	assert_int_equal(msg.body.len, body);
	assert_int_equal(parse_n(big, SIP_MAX_MSG_SIZE + 1, SIP_TP_UDP), EBADMSG);
	assert_int_equal(perr.status, 513);
	assert_string_equal(perr.reason, "message too large");
}

static void test_cap_headers(void **state)
{
	size_t n = base_into(big);
	unsigned i;

	(void)state;
	for (i = 5; i < SIP_MAX_HEADERS; i++)
		n += (size_t)snprintf(big + n, 32, "X-H%u: v\r\n", i);
	memcpy(big + n, "\r\n", 3);
	expect_ok(big);
	assert_int_equal(msg.nhdrs, SIP_MAX_HEADERS);
	n += (size_t)snprintf(big + n, 32, "X-Over: v\r\n\r\n");
	expect_fail(big, 400, "too many header fields");
}

static void test_cap_line_length(void **state)
{
	size_t n = base_into(big), start = n;
	size_t value_len = SIP_MAX_LINE_LEN - strlen("X-Long: ");

	(void)state;
	memcpy(big + n, "X-Long: ", 8);
	n += 8;
	memset(big + n, 'a', value_len);
	n += value_len;
	assert_int_equal(n - start, SIP_MAX_LINE_LEN);
	memcpy(big + n, "\r\n\r\n", 5);
	expect_ok(big);
	assert_int_equal(msg.hdrs[5].value.len, value_len);
	/* one more octet, in a folded continuation or on the line itself */
	memmove(big + start + 9, big + start + 8, value_len + 5);
	big[start + 8] = 'b';
	expect_fail(big, 400, "header line too long");
	memcpy(big + start + 8, "\r\n b", 4);
	expect_fail(big, 400, "header line too long");
	/* the start line has the same cap */
	memset(big, 'a', SIP_MAX_LINE_LEN + 10);
	memcpy(big, "OPTIONS sip:", 12);
	memcpy(big + SIP_MAX_LINE_LEN + 10, " SIP/2.0\r\n\r\n", 13);
	expect_fail(big, 400, "start line too long");
}

static void test_cap_via(void **state)
{
	size_t n;
	unsigned i;

	(void)state;
	n = strlen(REQ_LINE H_FROM H_TO H_CALLID H_CSEQ);
	memcpy(big, REQ_LINE H_FROM H_TO H_CALLID H_CSEQ, n);
	/* mix one value per field and several values per field */
	for (i = 0; i < SIP_MAX_VIA; i++)
		n += (size_t)snprintf(big + n, 64, i % 2 ? "v: SIP/2.0/UDP h%u\r\n" :
						"Via: SIP/2.0/UDP h%u, SIP/2.0/TCP g%u\r\n", i, i);
	memcpy(big + n, "\r\n", 3);
	expect_fail(big, 400, "too many Via values");
	n = strlen(REQ_LINE H_FROM H_TO H_CALLID H_CSEQ);
	for (i = 0; i < SIP_MAX_VIA / 2; i++)
		n += (size_t)snprintf(big + n, 64, "Via: SIP/2.0/UDP h%u, SIP/2.0/TCP g%u\r\n", i, i);
	memcpy(big + n, "\r\n", 3);
	expect_ok(big);
	memcpy(big + n, "v: SIP/2.0/UDP over\r\n\r\n", 24);
	expect_fail(big, 400, "too many Via values");
}

static void test_cap_routes(void **state)
{
	static const char *const names[] = {"Route", "Record-Route"};
	char want[40];

	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		size_t n = strlen(REQ_LINE H_VIA H_FROM H_TO H_CALLID H_CSEQ);

		memcpy(big, REQ_LINE H_VIA H_FROM H_TO H_CALLID H_CSEQ, n);
		/* exactly the cap, in fields of one and of two values */
		for (unsigned i = 0; i < SIP_MAX_ROUTES / 2; i++) {
			if (i % 2)
				n += (size_t)snprintf(big + n, 96, "%s: <sip:p%u;lr>, <sip:q%u;lr>\r\n",
						      names[k], i, i);
			else
				n += (size_t)snprintf(big + n, 96, "%s: <sip:p%u;lr>\r\n%s: <sip:q%u;lr>\r\n",
						      names[k], i, names[k], i);
		}
		memcpy(big + n, "\r\n", 3);
		expect_ok(big);
		n += (size_t)snprintf(big + n, 96, "%s: <sip:over;lr>\r\n\r\n", names[k]);
		snprintf(want, sizeof(want), "too many %s values", names[k]);
		expect_fail(big, 400, want);
	}
}

/* Records (CDRs, the live calls `ringfence spend` reads) hold
 * SIP_MAX_CALL_ID_LEN bytes of a Call-ID: two longer ones that share
 * those bytes would be one call there. */
static void test_cap_call_id(void **state)
{
	size_t n = strlen(REQ_LINE H_VIA H_FROM H_TO H_CSEQ);

	(void)state;
	memcpy(big, REQ_LINE H_VIA H_FROM H_TO H_CSEQ, n);
	n += (size_t)snprintf(big + n, 16, "Call-ID: ");
	memset(big + n, 'a', SIP_MAX_CALL_ID_LEN);
	n += SIP_MAX_CALL_ID_LEN;
	memcpy(big + n, "\r\n\r\n", 5);
	expect_ok(big);
	memcpy(big + n, "b\r\n\r\n", 6);
	expect_fail(big, 400, "Call-ID too long");
}

static void test_cap_contacts(void **state)
{
	struct sip_contact c[SIP_MAX_CONTACTS_PER_REGISTER + 5];
	size_t n = base_into(big), count;
	bool star;
	unsigned i;

	(void)state;
	for (i = 0; i < SIP_MAX_CONTACTS_PER_REGISTER; i++)
		n += (size_t)snprintf(big + n, 64, "Contact: <sip:u@192.0.2.%u>\r\n", i);
	memcpy(big + n, "\r\n", 3);
	expect_ok(big);
	assert_int_equal(sip_contacts_parse(&msg, c, SIP_MAX_CONTACTS_PER_REGISTER + 5, &count, &star), 0);
	assert_int_equal(count, SIP_MAX_CONTACTS_PER_REGISTER);
	n += (size_t)snprintf(big + n, 64, "Contact: <sip:u@192.0.2.99>\r\n\r\n");
	expect_ok(big);
	assert_int_equal(sip_contacts_parse(&msg, c, SIP_MAX_CONTACTS_PER_REGISTER + 5, &count, &star), EBADMSG);
	/* the caller's own smaller maximum holds too */
	assert_int_equal(sip_contacts_parse(&msg, c, 3, &count, &star), EBADMSG);
}

/* ---- numbers ---- */

static void test_parse_uint(void **state)
{
	uint64_t v = 42;

	(void)state;
	assert_int_equal(sip_parse_uint(S("0"), 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sip_parse_uint(S("0068"), 255, &v), 0);
	assert_int_equal(v, 68);
	assert_int_equal(sip_parse_uint(S("255"), 255, &v), 0);
	assert_int_equal(sip_parse_uint(S("256"), 255, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("4294967295"), SIP_MAX_UINT32, &v), 0);
	assert_int_equal(v, 4294967295ull);
	assert_int_equal(sip_parse_uint(S("4294967296"), SIP_MAX_UINT32, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("18446744073709551615"), UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sip_parse_uint(S("18446744073709551616"), UINT64_MAX, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("99999999999999999999999"), UINT64_MAX, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("00000000000000000000000001"), 1, &v), 0);
	v = 7;
	assert_int_equal(sip_parse_uint(S(""), 10, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("+1"), 10, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("-1"), 10, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S(" 1"), 10, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("1 "), 10, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(S("1a"), 10, &v), EBADMSG);
	assert_int_equal(sip_parse_uint(SIP_STR_NULL, 10, &v), EBADMSG);
	assert_int_equal(v, 7); /* nothing written on failure */
}

static void test_scalar_fields(void **state)
{
	(void)state;
	expect_ok(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: 4294967295 REGISTER\r\nMax-Forwards: 255\r\n\r\n");
	assert_int_equal(msg.cseq, 4294967295u);
	assert_int_equal(msg.max_forwards, 255);
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: 4294967296 REGISTER\r\n\r\n", 400, "bad CSeq number");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: -1 REGISTER\r\n\r\n", 400, "bad CSeq number");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: 1\r\n\r\n", 400, "bad CSeq");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: 1REGISTER\r\n\r\n", 400, "bad CSeq");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: 1 REGISTER x\r\n\r\n", 400, "bad CSeq method");
	expect_fail(REQ_LINE H_VIA H_FROM H_TO H_CALLID "CSeq: 1 INVITE\r\n\r\n", 400,
		    "CSeq method does not match the Request-Line");
	expect_fail(REG("Max-Forwards: 256\r\n"), 400, "bad Max-Forwards");
	expect_fail(REG("Max-Forwards: -1\r\n"), 400, "bad Max-Forwards");
	expect_fail(REG("Max-Forwards: \r\n"), 400, "bad Max-Forwards");
	/* an unknown method with a mismatched CSeq is left for the 501 */
	expect_ok("FOO sip:example.com SIP/2.0\r\n" H_MIN "\r\n");
	assert_int_equal(sip_request_check(&msg, &perr), EBADMSG);
	assert_int_equal(perr.status, 501);
}

static void test_status_line(void **state)
{
	(void)state;
	expect_ok("SIP/2.0 100 Trying\r\n" H_MIN "\r\n");
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 100);
	assert_true(is(msg.reason, "Trying"));
	expect_ok("SIP/2.0 699 \r\n" H_MIN "\r\n");
	assert_int_equal(msg.status, 699);
	assert_int_equal(msg.reason.len, 0);
	expect_ok("SIP/2.0 180\r\n" H_MIN "\r\n");
	assert_int_equal(msg.reason.len, 0);
	expect_fail("SIP/2.0 099 Low\r\n" H_MIN "\r\n", 0, "bad status code");
	expect_fail("SIP/2.0 700 High\r\n" H_MIN "\r\n", 0, "bad status code");
	expect_fail("SIP/2.0 2000 OK\r\n" H_MIN "\r\n", 0, "bad status code");
	expect_fail("SIP/2.0 20 OK\r\n" H_MIN "\r\n", 0, "bad status code");
	expect_fail("SIP/2.0 20\r\n" H_MIN "\r\n", 0, "malformed Status-Line");
	expect_fail("SIP/3.0 200 OK\r\n" H_MIN "\r\n", 0, "malformed Status-Line");
	expect_fail("SIP/2.0 200 OK\r\n" H_MIN "Content-Length: 5\r\n\r\nabc", 0,
		    "Content-Length larger than message");
}

static void test_request_line(void **state)
{
	(void)state;
	expect_fail("OPTIONS sip:a@b SIP/3.0\r\n" H_MIN "\r\n", 505, "SIP version not supported");
	expect_fail("OPTIONS sip:a@b SIP/20.10\r\n" H_MIN "\r\n", 505, "SIP version not supported");
	expect_fail("OPTIONS sip:a@b SIP/2.0 \r\n" H_MIN "\r\n", 400, "malformed Request-Line");
	expect_fail("OPTIONS sip:a@b HTTP/1.1\r\n" H_MIN "\r\n", 400, "malformed Request-Line");
	expect_fail("OPTIONS  sip:a@b SIP/2.0\r\n" H_MIN "\r\n", 400, "extra space in Request-Line");
	expect_fail("OPTIONS sip:a@b\r\n" H_MIN "\r\n", 400, "Request-Line without SIP-Version");
	expect_fail("OPTIONS <sip:a@b> SIP/2.0\r\n" H_MIN "\r\n", 400, "bad Request-URI");
	expect_fail("OPTIONS sip:a@b?x=y SIP/2.0\r\n" H_MIN "\r\n", 400, "headers in Request-URI");
	expect_fail("OPTIONS sip:a\x01@b SIP/2.0\r\n" H_MIN "\r\n", 400, "control octet in Request-URI");
	expect_fail("\x16\x03\x01 binary\r\n\r\n", 0, "not a SIP message");
	expect_fail("OPTIONS\r\n\r\n", 0, "not a SIP message");
	expect_fail("OPTIONS sip:a@b SIP/2.0", 0, "no end of start line");
	expect_fail("", 0, "empty message");
	expect_fail("\r\n\r\n", 0, "empty message");
	/* CRLFs before the start line are skipped (RFC 3261 7.5) */
	expect_ok("\r\n\r\n" REG(""));
	assert_int_equal(msg.buf[0], 'R');
}

static void test_line_endings_and_nul(void **state)
{
	struct sip_nameaddr na;
	static const char with_nul[] = REQ_LINE H_VIA H_TO H_CALLID H_CSEQ
		"From: \"a\\\0b\" <sip:x@y>;tag=1\r\nContent-Length: 3\r\n\r\na\0b";

	(void)state;
	expect_fail(REQ_LINE "Via: SIP/2.0/UDP h\n" H_FROM H_TO H_CALLID H_CSEQ "\r\n", 400,
		    "bare CR or LF in header");
	expect_fail(REQ_LINE "Via: SIP/2.0/UDP h\rX: y\r\n" H_FROM H_TO H_CALLID H_CSEQ "\r\n", 400,
		    "bare CR or LF in header");
	expect_fail("OPTIONS sip:a@b SIP/2.0\n" H_MIN "\r\n", 0, "bare CR or LF in start line");
	expect_fail(REQ_LINE H_MIN, 400, "headers not terminated by an empty line");
	expect_fail(REQ_LINE H_MIN "Foo bar\r\n\r\n", 400, "header line without colon");
	expect_fail(REQ_LINE H_MIN ": bar\r\n\r\n", 400, "malformed header name");
	expect_fail(REQ_LINE H_MIN "Fo{o: bar\r\n\r\n", 400, "header line without colon");
	assert_int_equal(parse_n(with_nul, sizeof(with_nul) - 1, SIP_TP_UDP), 0);
	assert_int_equal(msg.body.len, 3);
	assert_int_equal(msg.body.p[1], '\0');
	assert_int_equal(sip_nameaddr_parse(sip_msg_hdr(&msg, SIP_H_FROM)->value, &na), 0);
	assert_int_equal(na.display.len, 4);
	/* header names with space before the colon */
	expect_ok(REG("X-Spaced \t : v\r\n"));
	assert_true(is(msg.hdrs[5].name, "X-Spaced"));
	assert_true(is(msg.hdrs[5].value, "v"));
}

/* ---- Content-Length ---- */

static void test_content_length(void **state)
{
	(void)state;
	expect_ok(REG("Content-Length: 0\r\n") "trailing junk over UDP");
	assert_int_equal(msg.body.len, 0);
	assert_int_equal(msg.len, strlen(REG("Content-Length: 0\r\n")));
	expect_ok(REG("Content-Length:   2  \r\n") "abcd");
	assert_true(is(msg.body, "ab"));
	expect_ok(REG("") "body runs to the end");
	assert_true(is(msg.body, "body runs to the end"));
	expect_fail(REG("Content-Length: 5\r\n") "abcd", 400, "Content-Length larger than message");
	expect_fail(REG("Content-Length: -1\r\n"), 400, "bad Content-Length");
	expect_fail(REG("Content-Length: 65536\r\n"), 400, "bad Content-Length");
	expect_fail(REG("Content-Length: 99999999999999999999999\r\n"), 400, "bad Content-Length");
	expect_fail(REG("Content-Length: 1 2\r\n"), 400, "bad Content-Length");
	expect_fail(REG("Content-Length: 0x10\r\n"), 400, "bad Content-Length");
	expect_fail(REG("Content-Length: 0\r\nContent-Length: 0\r\n"), 400, "duplicate Content-Length");
	/* over a stream it is required */
	assert_int_equal(parse_tp(REG(""), SIP_TP_TCP), EBADMSG);
	assert_string_equal(perr.reason, "missing Content-Length");
	assert_int_equal(parse_tp(REG(""), SIP_TP_TLS), EBADMSG);
	assert_int_equal(parse_tp(REG("l: 0\r\n"), SIP_TP_TLS), 0);
}

/* ---- stream framing ---- */

static void test_frame(void **state)
{
	static const char one[] = REG("Content-Length: 4\r\n") "abcd";
	char two[2 * sizeof(one)];
	size_t n, len1 = sizeof(one) - 1;

	(void)state;
	/* every strict prefix needs more bytes */
	for (size_t i = 0; i < len1; i++)
		assert_int_equal(sip_frame(one, i, &n), EAGAIN);
	assert_int_equal(sip_frame(one, len1, &n), 0);
	assert_int_equal(n, len1);
	/* pipelined: the first, then the second */
	memcpy(two, one, len1);
	memcpy(two + len1, one, len1);
	assert_int_equal(sip_frame(two, 2 * len1, &n), 0);
	assert_int_equal(n, len1);
	assert_int_equal(sip_frame(two + n, 2 * len1 - n, &n), 0);
	assert_int_equal(n, len1);
	assert_int_equal(sip_frame(two, len1 + 10, &n), 0);
	assert_int_equal(n, len1);
	/* keep-alives are consumed as their own unit and then dropped */
	assert_int_equal(sip_frame("\r\n\r\nINVITE", 10, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(parse_tp("\r\n\r\n", SIP_TP_TCP), EBADMSG);
	assert_int_equal(perr.status, 0);
	/* compact and folded Content-Length */
	assert_int_equal(sip_frame(REG("l:\r\n 2\r\n") "xy", strlen(REG("l:\r\n 2\r\n") "xy"), &n), 0);
	assert_int_equal(n, strlen(REG("l:\r\n 2\r\n") "xy"));
	/* streams that can never resynchronise */
	assert_int_equal(sip_frame(REG(""), strlen(REG("")), &n), EBADMSG);
	assert_int_equal(sip_frame(REG("Content-Length: -5\r\n"), strlen(REG("Content-Length: -5\r\n")), &n), EBADMSG);
	assert_int_equal(sip_frame(REG("Content-Length: x\r\n"), strlen(REG("Content-Length: x\r\n")), &n), EBADMSG);
	assert_int_equal(sip_frame(REG("l: 1\r\nContent-Length: 1\r\n"), strlen(REG("l: 1\r\nContent-Length: 1\r\n")), &n), EBADMSG);
	assert_int_equal(sip_frame(REG("Content-Length: 70000\r\n"), strlen(REG("Content-Length: 70000\r\n")), &n), EBADMSG);
	assert_int_equal(sip_frame(REG("Content-Length: 65535\r\n"), strlen(REG("Content-Length: 65535\r\n")), &n), EBADMSG);
	/* headers that never end */
	memset(big, 'a', SIP_MAX_MSG_SIZE + 1);
	assert_int_equal(sip_frame(big, SIP_MAX_MSG_SIZE - 1, &n), EAGAIN);
	assert_int_equal(sip_frame(big, SIP_MAX_MSG_SIZE, &n), EBADMSG);
	assert_int_equal(sip_frame(big, 0, &n), EAGAIN);
	/* "Content-Lengthy" is not Content-Length */
	assert_int_equal(sip_frame(REG("Content-Lengthy: 3\r\n"), strlen(REG("Content-Lengthy: 3\r\n")), &n), EBADMSG);
}

/* ---- URIs ---- */

static void test_uri(void **state)
{
	struct sip_uri u;
	struct sip_str v;

	(void)state;
	assert_int_equal(sip_uri_parse(S("sip:alice:secret@example.com:5061;transport=tcp;lr?subject=hi&x=1"), &u), 0);
	assert_true(is(u.scheme, "sip"));
	assert_true(is(u.user, "alice"));
	assert_true(is(u.password, "secret"));
	assert_true(is(u.host, "example.com"));
	assert_int_equal(u.port, 5061);
	assert_true(is(u.params, "transport=tcp;lr"));
	assert_true(is(u.headers, "subject=hi&x=1"));
	assert_true(sip_param_find(u.params, "TRANSPORT", &v));
	assert_true(is(v, "tcp"));
	assert_true(sip_param_find(u.params, "lr", &v));
	assert_int_equal(v.len, 0);
	assert_false(sip_param_find(u.params, "l", &v));

	assert_int_equal(sip_uri_parse(S("SIPS:[2001:db8::1]:5061"), &u), 0);
	assert_true(is(u.host, "[2001:db8::1]"));
	assert_int_equal(u.port, 5061);
	assert_int_equal(sip_uri_parse(S("sip:1001@[::ffff:192.0.2.1];maddr=[::1]"), &u), 0);
	assert_true(is(u.host, "[::ffff:192.0.2.1]"));
	assert_int_equal(sip_uri_parse(S("sip:192.0.2.1"), &u), 0);
	assert_int_equal(u.port, 0);
	assert_int_equal(u.user.len, 0);
	assert_int_equal(sip_uri_parse(S("sip:h:65535"), &u), 0);
	assert_int_equal(u.port, 65535);

	/* other schemes: scheme only, host empty, for a 416 */
	assert_int_equal(sip_uri_parse(S("tel:+441234567890"), &u), 0);
	assert_true(is(u.scheme, "tel"));
	assert_int_equal(u.host.len, 0);
	assert_int_equal(sip_uri_parse(S("soap.beep://192.0.2.103:3002"), &u), 0);

	static const char *const bad[] = {
		"", "sip", "sip:", ":a@b", "1sip:a@b", "sip:a@", "sip:@host", "sip:a@b:0",
		"sip:a@b:65536", "sip:a@b:99999999999999999999", "sip:a@b:", "sip:a@b:x",
		"sip:a@[2001:db8::1", "sip:a@[]", "sip:a@[zz]", "sip:a@b;;x", "sip:a@b;",
		"sip:a@b;=v", "sip:a@b;x=", "sip:a@b?", "sip:a@b?x", "sip:a@b?=1",
		"sip:a b@c", "sip:a@b c", "sip:a@b ", " sip:a@b", "sip:a%4@b", "sip:a%zz@b",
		"sip:a@b>", "sip:a\"@b", "tel:", "tel:12 34", "sip:a@b:5060x", "sip:a@b@c",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sip_uri_parse(S(bad[i]), &u) != EBADMSG)
			fail_msg("accepted URI \"%s\"", bad[i]);
	assert_int_equal(sip_uri_parse(SIP_STR_NULL, &u), EBADMSG);
}

/* ---- name-addr ---- */

static void test_nameaddr(void **state)
{
	struct sip_nameaddr na;

	(void)state;
	assert_int_equal(sip_nameaddr_parse(S("\"Bob \\\"B\\\" <x>, y\" <sip:bob@b.example>;tag=9f;x"), &na), 0);
	assert_true(is(na.display, "Bob \\\"B\\\" <x>, y"));
	assert_true(is(na.uri, "sip:bob@b.example"));
	assert_true(is(na.params, "tag=9f;x"));
	assert_true(is(na.tag, "9f"));
	assert_int_equal(sip_nameaddr_parse(S("Alice Smith <sip:a@b>"), &na), 0);
	assert_true(is(na.display, "Alice Smith"));
	assert_int_equal(sip_nameaddr_parse(S("<sip:a@b;lr>"), &na), 0);
	assert_int_equal(na.display.len, 0);
	assert_true(is(na.uri, "sip:a@b;lr"));
	assert_int_equal(na.params.len, 0);
	assert_int_equal(sip_nameaddr_parse(S("sip:a@b;lr ; tag = x1"), &na), 0);
	assert_true(is(na.uri, "sip:a@b"));
	assert_true(is(na.tag, "x1"));
	assert_int_equal(sip_nameaddr_parse(S("  sip:a@b  "), &na), 0);
	assert_true(is(na.uri, "sip:a@b"));
	assert_int_equal(sip_nameaddr_parse(S("<sip:a@b>;p=\"quoted;value\";tag=t"), &na), 0);
	assert_true(is(na.tag, "t"));
	assert_int_equal(sip_nameaddr_parse(S("<urn:service:sos>"), &na), 0);

	static const char *const bad[] = {
		"", "   ", "\"unterminated <sip:a@b>", "\"x\" sip:a@b", "Bell, A <sip:a@b>",
		"< sip:a@b>", "<sip:a@b >", "<sip:a@b", "sip:a@b?x=1", "sip:a,b@c",
		"<sip:a@b>;", "<sip:a@b>;;tag=1", "<sip:a@b>;tag=", "<sip:a@b>;tag",
		"<sip:a@b> junk", "<sip:a@b>;x=\"open", "a@b", "<>", "\"\\",
		"<sip:a@b>;t=,", "\"a\\\r\n\" <sip:a@b>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sip_nameaddr_parse(S(bad[i]), &na) != EBADMSG)
			fail_msg("accepted name-addr \"%s\"", bad[i]);
}

/* ---- Via ---- */

static void test_via(void **state)
{
	struct sip_via via;
	struct sip_str rest;

	(void)state;
	assert_int_equal(sip_via_parse(S("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport;received=192.0.2.9"), &via, &rest), 0);
	assert_true(is(via.transport, "UDP"));
	assert_true(is(via.host, "192.0.2.1"));
	assert_int_equal(via.port, 5060);
	assert_true(is(via.branch, "z9hG4bKabc"));
	assert_true(via.has_rport);
	assert_int_equal(rest.len, 0);
	struct sip_str recv;
	assert_true(sip_param_find(via.params, "received", &recv));
	assert_true(is(recv, "192.0.2.9"));

	assert_int_equal(sip_via_parse(S("SIP/2.0/TLS [2001:db8::5]:5061;rport=5062;received=2001:db8::9;branch=z9hG4bK1 , SIP/2.0/TCP next"), &via, &rest), 0);
	assert_true(is(via.host, "[2001:db8::5]"));
	assert_int_equal(via.port, 5061);
	assert_true(via.has_rport);
	assert_true(sip_param_find(via.params, "received", &recv));
	assert_true(is(recv, "2001:db8::9"));
	assert_true(is(rest, "SIP/2.0/TCP next"));
	assert_int_equal(sip_via_parse(rest, &via, &rest), 0);
	assert_true(is(via.host, "next"));
	assert_false(via.has_rport);
	assert_int_equal(via.branch.len, 0);

	assert_int_equal(sip_via_parse(S("sip / 2.0 / udp host ; branch = z9hG4bK2"), &via, &rest), 0);
	assert_true(is(via.branch, "z9hG4bK2"));

	static const char *const bad[] = {
		"", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0/UDPhost", "SIP/3.0/UDP h", "SIPS/2.0/UDP h",
		"SIP/2.0 UDP h", "SIP/2.0/UDP h:0", "SIP/2.0/UDP h:70000", "SIP/2.0/UDP h:",
		"SIP/2.0/UDP h;", "SIP/2.0/UDP h;;branch=1", "SIP/2.0/UDP h,", "SIP/2.0/UDP h, ",
		"SIP/2.0/UDP h,,SIP/2.0/UDP g", "SIP/2.0/UDP [::1", "SIP/2.0/UDP h x",
		"SIP/2.0/UDP h;branch=", "SIP/2.0/UDP h;branch=\"x", "SIP/2.0//UDP h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sip_via_parse(S(bad[i]), &via, &rest) != EBADMSG)
			fail_msg("accepted Via \"%s\"", bad[i]);
}

/* ---- digest credentials ---- */

static void test_digest(void **state)
{
	struct sip_digest_cred c;

	(void)state;
	assert_int_equal(sip_digest_cred_parse(S("Digest username=\"1001\", realm=\"ringfence\",\r\n"
						 " nonce=\"abc\", uri=\"sip:example.com\", response=\"0123\","
						 " algorithm=SHA-256, cnonce=\"c\\\"n\", qop=auth, nc=00000001,"
						 " opaque=\"\", unknown=\"ignored\""), &c), 0);
	assert_true(is(c.scheme, "Digest"));
	assert_true(is(c.username, "1001"));
	assert_true(is(c.realm, "ringfence"));
	assert_true(is(c.nonce, "abc"));
	assert_true(is(c.uri, "sip:example.com"));
	assert_true(is(c.response, "0123"));
	assert_true(is(c.algorithm, "SHA-256"));
	assert_true(is(c.cnonce, "c\\\"n"));
	assert_true(is(c.qop, "auth"));
	assert_true(is(c.nc, "00000001"));
	assert_non_null(c.opaque.p);
	assert_int_equal(c.opaque.len, 0);
	assert_int_equal(sip_digest_cred_parse(S("digest USERNAME=u,Realm=r"), &c), 0);
	assert_true(is(c.username, "u"));
	assert_true(is(c.realm, "r"));
	assert_null(c.nonce.p);
	/* an unknown scheme is not an error: the caller challenges */
	assert_int_equal(sip_digest_cred_parse(S("Basic dXNlcjpwYXNz"), &c), 0);
	assert_true(is(c.scheme, "Basic"));
	assert_null(c.username.p);

	static const char *const bad[] = {
		"", "Digest", "Digest ", "Digest username", "Digest username=",
		"Digest username=\"a\", username=\"b\"", "Digest realm=a, REALM=a",
		"Digest username=\"a", "Digest username=\"a\",", "Digest username=\"a\" realm=\"b\"",
		"Digest ,username=a", "Digest =a", "Digest username=a b",
		"Digest uri=sip:a@b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sip_digest_cred_parse(S(bad[i]), &c) != EBADMSG)
			fail_msg("accepted credentials \"%s\"", bad[i]);
}

/* ---- contacts and lists ---- */

static void test_contacts(void **state)
{
	struct sip_contact c[4];
	size_t n;
	bool star;

	(void)state;
	expect_ok(REG("Contact: \"A, B\" <sip:a,b@192.0.2.1;x=1>;expires=60;q=0.5, <sip:b@192.0.2.2>\r\n"
		      "m: sip:c@192.0.2.3;expires=0\r\n"));
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), 0);
	assert_int_equal(n, 3);
	assert_false(star);
	assert_true(is(c[0].na.display, "A, B"));
	assert_true(is(c[0].na.uri, "sip:a,b@192.0.2.1;x=1"));
	assert_true(c[0].has_expires);
	assert_int_equal(c[0].expires, 60);
	assert_false(c[1].has_expires);
	assert_true(c[2].has_expires);
	assert_int_equal(c[2].expires, 0);

	expect_ok(REG("Contact: *\r\nExpires: 0\r\n"));
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), 0);
	assert_true(star);
	assert_int_equal(n, 0);

	expect_ok(REG(""));
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), 0);
	assert_int_equal(n, 0);
	assert_false(star);

	expect_ok(REG("Contact: <sip:a@b>;expires=4294967295\r\n"));
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), 0);
	assert_int_equal(c[0].expires, 4294967295u);
	expect_ok(REG("Contact: <sip:a@b>;expires=4294967296\r\n"));
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), EBADMSG);
	expect_ok(REG("Contact: <sip:a@b>;expires=soon\r\n"));
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), EBADMSG);

	/* '*' must stand alone */
	expect_check_fail(REG("Contact: *, <sip:a@b>\r\n"), 400, "Contact * with other contacts");
	expect_check_fail(REG("Contact: <sip:a@b>\r\nContact: *\r\n"), 400, "Contact * with other contacts");
	expect_check_fail(REG("Contact: *\r\nContact: *\r\n"), 400, "Contact * with other contacts");
	expect_check_fail(REG("Contact: <sip:a@b>,,<sip:c@d>\r\n"), 400, "bad Contact");
	expect_check_fail(REG("Contact: <sip:a@b>;;\r\n"), 400, "bad Contact");
	expect_check_fail(REG("Contact: sip:a@b?Route=x\r\n"), 400, "bad Contact");
}

static void test_split_commas(void **state)
{
	struct sip_str out[4];

	(void)state;
	assert_int_equal(sip_split_commas(S("a, \"b,c\" <sip:x,y@z>;p=\"1,2\" ,d"), out, 4), 3);
	assert_true(is(out[0], "a"));
	assert_true(is(out[1], "\"b,c\" <sip:x,y@z>;p=\"1,2\""));
	assert_true(is(out[2], "d"));
	assert_int_equal(sip_split_commas(S("\"a\\\",b\", c"), out, 4), 2);
	assert_true(is(out[0], "\"a\\\",b\""));
	assert_int_equal(sip_split_commas(S(""), out, 4), 0);
	assert_int_equal(sip_split_commas(S("  \r\n "), out, 4), 0);
	assert_int_equal(sip_split_commas(S("one"), out, 1), 1);
	assert_int_equal(sip_split_commas(S("a,b"), out, 1), -1);
	assert_int_equal(sip_split_commas(S("a,,b"), out, 4), -1);
	assert_int_equal(sip_split_commas(S("a,"), out, 4), -1);
	assert_int_equal(sip_split_commas(S(",a"), out, 4), -1);
	assert_int_equal(sip_split_commas(S("a, \"b"), out, 4), -1);
}

static void test_param_find(void **state)
{
	struct sip_str v;

	(void)state;
	assert_true(sip_param_find(S("a=1; Branch = z9 ;c=\"x;branch=no\";d"), "branch", &v));
	assert_true(is(v, "z9"));
	assert_true(sip_param_find(S("a=1;c=\"x;d=no\";d"), "d", &v));
	assert_int_equal(v.len, 0);
	assert_true(sip_param_find(S("c=\"x;d=no\""), "c", &v));
	assert_true(is(v, "\"x;d=no\""));
	assert_false(sip_param_find(S("branchx=1;xbranch=2"), "branch", &v));
	assert_false(sip_param_find(SIP_STR_NULL, "a", &v));
	assert_true(sip_param_find(S("rport"), "rport", NULL));
}

static void test_str_helpers(void **state)
{
	(void)state;
	assert_true(sip_str_eq(S("abc"), "abc"));
	assert_false(sip_str_eq(S("abc"), "ABC"));
	assert_true(sip_str_ieq(S("abc"), "ABC"));
	assert_false(sip_str_ieq(S("abcd"), "ABC"));
	assert_true(sip_str_eq_str(S("x"), S("x")));
	assert_false(sip_str_eq_str(S("x"), S("y")));
	assert_true(sip_str_eq(SIP_STR_NULL, ""));
	assert_int_equal(sip_str_from(NULL).len, 0);
}

/* ---- stateless request checks ---- */

static int check(const char *m)
{
	expect_ok(m);
	return sip_request_check(&msg, &perr);
}

#define INV(extra, body) "INVITE sip:1002@example.com SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID \
	"CSeq: 1 INVITE\r\n" extra "\r\n" body

static void test_request_check(void **state)
{
	(void)state;
	assert_int_equal(check(REG("Contact: <sip:a@b>\r\n")), 0);
	assert_int_equal(perr.status, 0);
	assert_int_equal(check(INV("", "")), 0);
	assert_int_equal(check(INV("Content-Type: application/SDP;charset=utf-8\r\nAccept: text/plain, application/sdp\r\n", "v=0")), 0);
	assert_int_equal(check(INV("c: application/sdp\r\nAccept: application/*\r\n", "v=0")), 0);
	assert_int_equal(check(INV("Accept: */*;q=0.1\r\n", "")), 0);
	assert_int_equal(check(INV("Content-Type: application/sdp\r\nContent-Encoding: identity\r\n", "v=0")), 0);

	assert_int_equal(check("FOO sip:a@b SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID "CSeq: 1 FOO\r\n\r\n"), EBADMSG);
	assert_int_equal(perr.status, 501);
	assert_int_equal(check("OPTIONS tel:+441234 SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID "CSeq: 1 OPTIONS\r\n\r\n"), EBADMSG);
	assert_int_equal(perr.status, 416);
	assert_int_equal(check(INV("Require: 100rel\r\n", "")), EBADMSG);
	assert_int_equal(perr.status, 420);
	assert_true(is(perr.unsupported, "100rel"));
	assert_int_equal(check(INV("Require:\r\nProxy-Require: a, b\r\n", "")), EBADMSG);
	assert_int_equal(perr.status, 420);
	assert_true(is(perr.unsupported, "a, b"));
	assert_int_equal(check(INV("Require: a b\r\n", "")), EBADMSG);
	assert_int_equal(perr.status, 400);
	/* ACK and CANCEL are never answered with 420 */
	assert_int_equal(check("ACK sip:a@b SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID "CSeq: 1 ACK\r\nRequire: x\r\n\r\n"), 0);
	assert_int_equal(check("CANCEL sip:a@b SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID "CSeq: 1 CANCEL\r\nRequire: x\r\n\r\n"), 0);
	assert_int_equal(check(INV("Content-Type: text/plain\r\n", "hi")), EBADMSG);
	assert_int_equal(perr.status, 415);
	assert_int_equal(check(INV("Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n", "v=0")), EBADMSG);
	assert_int_equal(perr.status, 415);
	assert_int_equal(check(INV("", "v=0")), EBADMSG);
	assert_int_equal(perr.status, 400);
	assert_int_equal(check(INV("Accept: text/html\r\n", "")), EBADMSG);
	assert_int_equal(perr.status, 406);
	assert_int_equal(check(INV("Accept: text/html\r\nAccept: application/sdp\r\n", "")), 0);
	/* q=0 refuses a range (RFC 3261 20.1) */
	assert_int_equal(check(INV("Accept: application/sdp;q=0\r\n", "")), EBADMSG);
	assert_int_equal(perr.status, 406);
	assert_int_equal(check(INV("Accept: */*;level=1;Q=0.000, application/*;q=0.\r\n", "")), EBADMSG);
	assert_int_equal(perr.status, 406);
	assert_int_equal(check(INV("Accept: application/sdp;q=0, application/*;q=0.001\r\n", "")), 0);
	assert_int_equal(check(INV("Accept: application/sdp;q=1\r\n", "")), 0);
	assert_int_equal(check(INV("Accept: application/sdp;q=0.01\r\n", "")), 0);
	/* Accept only matters for INVITE */
	assert_int_equal(check("OPTIONS sip:a@b SIP/2.0\r\n" H_VIA H_FROM H_TO H_CALLID "CSeq: 1 OPTIONS\r\nAccept: text/html\r\n\r\n"), 0);
	/* a registrar's AOR must be SIP or SIPS */
	assert_int_equal(check(REQ_LINE H_VIA H_FROM H_CALLID H_CSEQ "To: <tel:+441234>\r\n\r\n"), EBADMSG);
	assert_int_equal(perr.status, 400);
	assert_int_equal(check(REQ_LINE H_VIA H_FROM H_CALLID H_CSEQ "To: sips:a@b\r\n\r\n"), 0);
	/* malformed fields the answer is built from: 400 before anything else */
	expect_check_fail(REQ_LINE H_VIA H_TO H_CALLID H_CSEQ "From: Bell, A <sip:a@b>;tag=1\r\n\r\n", 400, "bad From");
	expect_check_fail(REQ_LINE H_VIA H_FROM H_CALLID H_CSEQ "To: \"open <sip:a@b>\r\n\r\n", 400, "bad To");
	expect_check_fail(REQ_LINE H_FROM H_TO H_CALLID H_CSEQ "Via: SIP/2.0/UDP h;;\r\n\r\n", 400, "bad Via");
	expect_check_fail(REQ_LINE H_MIN "v: SIP/2.0/UDP ok, SIP/3.0/UDP bad\r\n\r\n", 400, "bad Via");
	expect_check_fail("FOO sip:a@b SIP/2.0\r\n" H_VIA H_FROM H_CALLID "CSeq: 1 FOO\r\nTo: < sip:a@b>\r\n\r\n", 400, "bad To");
	/* responses pass */
	assert_int_equal(check("SIP/2.0 200 OK\r\n" H_MIN "\r\n"), 0);
}

/* ---- regressions found by fuzzing (tests/data/regress/) ---- */

/* Every file in tests/data/regress/ must be listed here with the verdict
 * it gets, so an input that once broke the parser keeps a precise test. */
static const struct {
	const char *file;
	int status; /* -1: parses */
	const char *reason;
} regressions[] = {
	/* the second via-parm was read from ",SIP/2.0/UDP h2" */
	{"via-empty-element.sip", 400, "bad Via"},
	/* a header name longer than SIP_MAX_LINE_LEN, then no line end: the
	 * value scan got a wrapped length and read past the buffer */
	{"long-header-name.sip", 400, "header line too long"},
};

static void replay(const char *buf, size_t len)
{
	struct sip_contact c[SIP_MAX_CONTACTS_PER_REGISTER];
	size_t n, off = 0;
	bool star;

	if (parse_n(buf, len, SIP_TP_UDP) == 0) {
		sip_request_check(&msg, &perr);
		sip_contacts_parse(&msg, c, SIP_MAX_CONTACTS_PER_REGISTER, &n, &star);
	}
	while (off < len && sip_frame(buf + off, len - off, &n) == 0) {
		assert_true(n > 0 && n <= len - off);
		off += n;
	}
}

static void test_regressions(void **state)
{
	const char *dir = getenv("RF_TEST_DATA") ? getenv("RF_TEST_DATA") : "tests/data";
	char path[1024];
	DIR *d;
	struct dirent *de;
	unsigned seen = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/regress", dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		static char buf[SIP_MAX_MSG_SIZE + 1];
		size_t i, len;
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < sizeof(regressions) / sizeof(regressions[0]); i++)
			if (strcmp(regressions[i].file, de->d_name) == 0)
				break;
		if (i == sizeof(regressions) / sizeof(regressions[0]))
			fail_msg("tests/data/regress/%s has no entry in regressions[]", de->d_name);
		snprintf(path, sizeof(path), "%s/regress/%s", dir, de->d_name);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		len = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		replay(buf, len);
		if (regressions[i].status < 0) {
			if (parse_n(buf, len, SIP_TP_UDP) != 0)
				fail_msg("%s: %d %s", de->d_name, perr.status, perr.reason);
		} else {
			assert_int_equal(parse_n(buf, len, SIP_TP_UDP), EBADMSG);
			assert_int_equal(perr.status, regressions[i].status);
			assert_string_equal(perr.reason, regressions[i].reason);
		}
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, sizeof(regressions) / sizeof(regressions[0]));
}

static int teardown(void **state)
{
	(void)state;
	free(owned);
	owned = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_basic),
		cmocka_unit_test(test_compact_forms),
		cmocka_unit_test(test_names_whole_and_case),
		cmocka_unit_test(test_every_known_name),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_cap_message_size),
		cmocka_unit_test(test_cap_headers),
		cmocka_unit_test(test_cap_line_length),
		cmocka_unit_test(test_cap_via),
		cmocka_unit_test(test_cap_routes),
		cmocka_unit_test(test_cap_call_id),
		cmocka_unit_test(test_cap_contacts),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_scalar_fields),
		cmocka_unit_test(test_status_line),
		cmocka_unit_test(test_request_line),
		cmocka_unit_test(test_line_endings_and_nul),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_nameaddr),
		cmocka_unit_test(test_via),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_contacts),
		cmocka_unit_test(test_split_commas),
		cmocka_unit_test(test_param_find),
		cmocka_unit_test(test_str_helpers),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_regressions),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
