/* RFC 4475 torture messages: every file gets the verdicts written in
 * tests/data/rfc4475/verdicts.tsv, and the specific points expected.tsv
 * names are checked where the parser can see them. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sip/msg.h"
#include "sip/msg_salvage.h"
#include "sip/msg_salvage.h"

struct file {
	char *buf; /* exactly len bytes, so ASan sees any over-read */
	size_t len;
};

static const char *data_dir(void)
{
	const char *d = getenv("RF_TEST_DATA");
	return d ? d : "tests/data";
}

static void load(const char *name, struct file *f)
{
	char path[1024];
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/rfc4475/%s", data_dir(), name);
	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	f->buf = malloc((size_t)n);
	assert_non_null(f->buf);
	assert_int_equal(fread(f->buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	f->len = (size_t)n;
}

static struct sip_msg msg;

static void parse_ok(const char *name, struct file *f)
{
	struct sip_parse_error err;

	load(name, f);
	if (sip_msg_parse(&msg, f->buf, f->len, SIP_TP_UDP, &err) != 0)
		fail_msg("%s: parse failed: %d %s", name, err.status, err.reason);
}

static bool str_is(struct sip_str s, const char *lit)
{
	return sip_str_eq(s, lit);
}

static bool in_dialog(const struct sip_msg *m)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
	struct sip_nameaddr na;

	return to && sip_nameaddr_parse(to->value, &na) == 0 && na.tag.len > 0;
}

/* What the daemon answers an unauthenticated source over UDP. */
static void answer_of(const char *name, const struct file *f, char *parse,
		      char *answer, size_t sz)
{
	struct sip_parse_error err;

	if (sip_msg_parse(&msg, f->buf, f->len, SIP_TP_UDP, &err) != 0) {
		assert_non_null(err.reason);
		if (err.status == 0) {
			snprintf(parse, sz, "drop");
			snprintf(answer, sz, "none");
		} else {
			snprintf(parse, sz, "%d", err.status);
			/* The answer echoes what can be salvaged; no Via, no answer. */
			snprintf(answer, sz, "%d", err.status);
			if (!sip_msg_salvage(&msg, f->buf, f->len))
				snprintf(answer, sz, "none");
		}
		return;
	}
	snprintf(parse, sz, "ok");
	if (sip_request_check(&msg, &err) != 0) {
		snprintf(answer, sz, "%d", err.status);
		return;
	}
	/* OPTIONS outside a call is answered only to addresses with
	 * registered phones (docs/guard.md), never to a stranger. */
	if (!msg.is_request || msg.method == SIP_M_ACK || msg.method == SIP_M_CANCEL ||
	    (msg.method == SIP_M_OPTIONS && !in_dialog(&msg)))
		snprintf(answer, sz, "none");
	else if (msg.method == SIP_M_REGISTER)
		snprintf(answer, sz, "401");
	else
		snprintf(answer, sz, "407");
	(void)name;
}

static void test_verdicts(void **state)
{
	char path[1024], line[512];
	FILE *fp;
	unsigned rows = 0;
	DIR *d;
	struct dirent *de;
	unsigned dats = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/rfc4475/verdicts.tsv", data_dir());
	fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), fp)) {
		char file[128], want_parse[16], want_answer[16], parse[16], answer[16];
		struct file f;

		if (line[0] == '#' || strncmp(line, "file\t", 5) == 0)
			continue;
		if (sscanf(line, "%127[^\t]\t%15[^\t]\t%15s", file, want_parse, want_answer) != 3)
			fail_msg("bad verdicts line: %s", line);
		load(file, &f);
		answer_of(file, &f, parse, answer, sizeof(parse));
		if (strcmp(parse, want_parse) != 0 || strcmp(answer, want_answer) != 0)
			fail_msg("%s: parse %s answer %s, expected parse %s answer %s", file,
				 parse, answer, want_parse, want_answer);
		free(f.buf);
		rows++;
	}
	fclose(fp);

	/* every torture message has a verdict */
	snprintf(path, sizeof(path), "%s/rfc4475", data_dir());
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 4 && strcmp(de->d_name + n - 4, ".dat") == 0)
			dats++;
	}
	closedir(d);
	assert_int_equal(dats, 50);
	assert_int_equal(rows, dats);
}

/* 3.1.1.1: folding, compact forms, leading zeros, opaque odd values */
static void test_wsinv(void **state)
{
	struct file f;
	struct sip_nameaddr na;
	const struct sip_hdr *h;
	unsigned vias = 0;

	(void)state;
	parse_ok("wsinv.dat", &f);
	assert_int_equal(msg.max_forwards, 68);
	assert_int_equal(msg.cseq, 9);
	assert_true(str_is(msg.cseq_method, "INVITE"));
	assert_int_equal(msg.body.len, 150);
	h = sip_msg_hdr(&msg, SIP_H_FROM);
	assert_int_equal(sip_nameaddr_parse(h->value, &na), 0);
	assert_true(str_is(na.tag, "98asjd8"));
	assert_true(str_is(na.display, "J Rosenberg \\\\\\\""));
	h = sip_msg_hdr(&msg, SIP_H_TO);
	assert_int_equal(sip_nameaddr_parse(h->value, &na), 0);
	assert_true(str_is(na.uri, "sip:vivekg@chair-dnrc.example.com"));
	assert_true(str_is(na.tag, "1918181833n"));
	for (h = sip_msg_hdr(&msg, SIP_H_VIA); h; h = sip_msg_next_hdr(&msg, h)) {
		struct sip_str v = h->value, rest;
		struct sip_via via;
		do {
			assert_int_equal(sip_via_parse(v, &via, &rest), 0);
			vias++;
			v = rest;
		} while (v.len);
	}
	assert_int_equal(vias, 3);
	h = sip_msg_hdr(&msg, SIP_H_SUBJECT);
	assert_non_null(h);
	assert_int_equal(h->value.len, 0);
	for (h = &msg.hdrs[0]; h < &msg.hdrs[msg.nhdrs]; h++)
		if (sip_str_eq(h->name, "UnknownHeaderWithUnusualValue"))
			break;
	assert_true(h < &msg.hdrs[msg.nhdrs]);
	assert_int_equal(h->id, SIP_H_OTHER);
	assert_true(str_is(h->value, ";;,,;;,;"));
	free(f.buf);
}

/* 3.1.1.2: extension method, NUL inside a quoted display name */
static void test_intmeth(void **state)
{
	struct file f;
	struct sip_nameaddr na;

	(void)state;
	parse_ok("intmeth.dat", &f);
	assert_int_equal(msg.method, SIP_M_UNKNOWN);
	assert_true(str_is(msg.method_str, "!interesting-Method0123456789_*+`.%indeed'~"));
	assert_int_equal(msg.max_forwards, 255);
	assert_int_equal(sip_nameaddr_parse(sip_msg_hdr(&msg, SIP_H_TO)->value, &na), 0);
	assert_non_null(memchr(na.display.p, '\0', na.display.len));
	assert_true(str_is(na.uri, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com"));
	free(f.buf);
}

/* 3.1.1.3: escapes are kept as written, never decoded by the parser */
static void test_esc01(void **state)
{
	struct file f;
	struct sip_uri u;

	(void)state;
	parse_ok("esc01.dat", &f);
	assert_int_equal(sip_uri_parse(msg.ruri, &u), 0);
	assert_true(str_is(u.user, "sips%3Auser%40example.com"));
	assert_true(str_is(u.host, "example.net"));
	free(f.buf);
}

/* 3.1.1.4: %00 does not truncate; two distinct bindings */
static void test_escnull(void **state)
{
	struct file f;
	struct sip_contact c[4];
	struct sip_uri u0, u1;
	size_t n;
	bool star;

	(void)state;
	parse_ok("escnull.dat", &f);
	assert_int_equal(msg.method, SIP_M_REGISTER);
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), 0);
	assert_int_equal(n, 2);
	assert_false(star);
	assert_int_equal(sip_uri_parse(c[0].na.uri, &u0), 0);
	assert_int_equal(sip_uri_parse(c[1].na.uri, &u1), 0);
	assert_true(str_is(u0.user, "%00"));
	assert_true(str_is(u1.user, "%00%00"));
	assert_false(sip_str_eq_str(c[0].na.uri, c[1].na.uri));
	assert_true(str_is(sip_msg_hdr(&msg, SIP_H_TO)->value, "sip:null-%00-null@example.com"));
	free(f.buf);
}

/* 3.1.1.5: RE%47IST%45R is not REGISTER; two Contact values, not three */
static void test_esc02(void **state)
{
	struct file f;
	struct sip_contact c[4];
	struct sip_parse_error err;
	size_t n;
	bool star;

	(void)state;
	parse_ok("esc02.dat", &f);
	assert_int_equal(msg.method, SIP_M_UNKNOWN);
	assert_true(str_is(msg.method_str, "RE%47IST%45R"));
	assert_int_equal(msg.count[SIP_H_CONTACT], 2);
	assert_int_equal(sip_contacts_parse(&msg, c, 4, &n, &star), 0);
	assert_int_equal(n, 2);
	assert_int_not_equal(sip_request_check(&msg, &err), 0);
	assert_int_equal(err.status, 501);
	free(f.buf);
}

/* 3.1.1.6 */
static void test_lwsdisp(void **state)
{
	struct file f;
	struct sip_nameaddr na;

	(void)state;
	parse_ok("lwsdisp.dat", &f);
	assert_int_equal(sip_nameaddr_parse(sip_msg_hdr(&msg, SIP_H_FROM)->value, &na), 0);
	assert_true(str_is(na.display, "caller"));
	assert_true(str_is(na.uri, "sip:caller@example.com"));
	free(f.buf);
}

/* 3.1.1.7: 34 Via values under many spellings, nothing truncated */
static void test_longreq(void **state)
{
	struct file f;
	const struct sip_hdr *h;
	struct sip_nameaddr na;
	unsigned vias = 0;

	(void)state;
	parse_ok("longreq.dat", &f);
	for (h = sip_msg_hdr(&msg, SIP_H_VIA); h; h = sip_msg_next_hdr(&msg, h)) {
		struct sip_str v = h->value, rest;
		struct sip_via via;
		do {
			assert_int_equal(sip_via_parse(v, &via, &rest), 0);
			vias++;
			v = rest;
		} while (v.len);
	}
	assert_int_equal(vias, 34);
	assert_int_equal(sip_nameaddr_parse(sip_msg_hdr(&msg, SIP_H_TO)->value, &na), 0);
	assert_int_equal(na.display.len, strlen("I have a user name of ") + 10 * 7 + strlen(" proportion"));
	assert_true(msg.call_id.len > 100);
	assert_int_equal(msg.len, f.len);
	free(f.buf);
}

/* 3.1.1.8: trailing octets after Content-Length are ignored */
static void test_dblreq(void **state)
{
	struct file f;
	const char *invite;

	(void)state;
	parse_ok("dblreq.dat", &f);
	assert_int_equal(msg.method, SIP_M_REGISTER);
	assert_int_equal(msg.body.len, 0);
	invite = memmem(f.buf, f.len, "INVITE", 6);
	assert_non_null(invite);
	assert_true(msg.buf + msg.len <= invite);
	assert_true(msg.len < f.len);
	for (unsigned i = 0; i < msg.nhdrs; i++)
		assert_true(msg.hdrs[i].value.p + msg.hdrs[i].value.len <= invite);
	free(f.buf);
}

/* 3.1.1.9: the user part keeps its ';' and escaped '@' */
static void test_semiuri(void **state)
{
	struct file f;
	struct sip_uri u;

	(void)state;
	parse_ok("semiuri.dat", &f);
	assert_int_equal(sip_uri_parse(msg.ruri, &u), 0);
	assert_true(str_is(u.user, "user;par=u%40example.net"));
	assert_true(str_is(u.host, "example.com"));
	assert_int_equal(u.params.len, 0);
	free(f.buf);
}

/* 3.1.1.10 */
static void test_transports(void **state)
{
	static const char *const want[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"};
	struct file f;
	const struct sip_hdr *h;
	unsigned i = 0;

	(void)state;
	parse_ok("transports.dat", &f);
	for (h = sip_msg_hdr(&msg, SIP_H_VIA); h; h = sip_msg_next_hdr(&msg, h), i++) {
		struct sip_via via;
		struct sip_str rest;
		assert_true(i < 5);
		assert_int_equal(sip_via_parse(h->value, &via, &rest), 0);
		assert_true(str_is(via.transport, want[i]));
	}
	assert_int_equal(i, 5);
	free(f.buf);
}

/* 3.1.1.11: binary body framed by Content-Length */
static void test_mpart01(void **state)
{
	struct file f;

	(void)state;
	parse_ok("mpart01.dat", &f);
	assert_int_equal(msg.body.len, 553);
	assert_non_null(memchr(msg.body.p, '\0', msg.body.len));
	assert_true(msg.body.p + msg.body.len <= f.buf + f.len);
	free(f.buf);
}

/* 3.1.1.12 and 3.1.1.13 */
static void test_reasons(void **state)
{
	struct file f;

	(void)state;
	parse_ok("unreason.dat", &f);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 200);
	assert_true(msg.reason.len > 20);
	free(f.buf);
	parse_ok("noreason.dat", &f);
	assert_int_equal(msg.status, 100);
	assert_int_equal(msg.reason.len, 0);
	free(f.buf);
}

static int parse_status(const char *name, enum sip_transport tp, const char **reason)
{
	struct file f;
	struct sip_parse_error err;
	int r;

	load(name, &f);
	r = sip_msg_parse(&msg, f.buf, f.len, tp, &err);
	free(f.buf);
	*reason = err.reason;
	return r ? err.status : -1;
}

/* The invalid messages are refused for the reason the RFC gives, not for
 * some incidental one. */
static void test_reasons_for_refusal(void **state)
{
	static const struct {
		const char *file;
		int status;
		const char *reason;
	} cases[] = {
		{"badinv01.dat", 400, "bad Via"},
		{"clerr.dat", 400, "Content-Length larger than message"},
		{"ncl.dat", 400, "bad Content-Length"},
		{"scalar02.dat", 400, "bad CSeq number"},
		{"scalarlg.dat", 0, "bad CSeq number"},
		{"ltgtruri.dat", 400, "bad Request-URI"},
		{"escruri.dat", 400, "headers in Request-URI"},
		{"badvers.dat", 505, "SIP version not supported"},
		{"mismatch01.dat", 400, "CSeq method does not match the Request-Line"},
		{"bigcode.dat", 0, "bad status code"},
		{"insuf.dat", 400, "missing Call-ID"},
		{"mcl01.dat", 400, "duplicate Content-Length"},
		{"multi01.dat", 400, "duplicate CSeq"},
		{"test.dat", 400, "Request-Line without SIP-Version"},
	};
	const char *reason;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = parse_status(cases[i].file, SIP_TP_UDP, &reason);
		if (st != cases[i].status || !reason || strcmp(reason, cases[i].reason) != 0)
			fail_msg("%s: %d %s, expected %d %s", cases[i].file, st,
				 reason ? reason : "(null)", cases[i].status, cases[i].reason);
	}
}

/* Messages the parser indexes and the request check refuses. */
static void test_refused_by_check(void **state)
{
	static const struct {
		const char *file;
		int status;
		const char *reason;
	} cases[] = {
		{"quotbal.dat", 400, "bad To"},
		{"regbadct.dat", 400, "bad Contact"},
		{"badaspec.dat", 400, "bad To"},
		{"mismatch02.dat", 501, "method not implemented"},
		{"unkscm.dat", 416, "unsupported Request-URI scheme"},
		{"novelsc.dat", 416, "unsupported Request-URI scheme"},
		{"invut.dat", 415, "unsupported Content-Type"},
		{"sdp01.dat", 406, "Accept does not allow application/sdp"},
		{"bext01.dat", 420, "unsupported option tag"},
	};
	struct sip_parse_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct file f;

		parse_ok(cases[i].file, &f);
		assert_int_equal(sip_request_check(&msg, &err), EBADMSG);
		if (err.status != cases[i].status || strcmp(err.reason, cases[i].reason) != 0)
			fail_msg("%s: %d %s, expected %d %s", cases[i].file, err.status,
				 err.reason, cases[i].status, cases[i].reason);
		free(f.buf);
	}
}

/* 3.1.2.15: baddn.dat lacks the empty line after its headers; with it, the
 * display name itself is what gets refused. */
static void test_baddn_display(void **state)
{
	struct file f;
	struct sip_parse_error err;
	char *buf;

	(void)state;
	load("baddn.dat", &f);
	buf = malloc(f.len + 2);
	assert_non_null(buf);
	memcpy(buf, f.buf, f.len);
	memcpy(buf + f.len, "\r\n", 2);
	assert_int_equal(sip_msg_parse(&msg, buf, f.len + 2, SIP_TP_UDP, &err), 0);
	assert_int_equal(sip_request_check(&msg, &err), EBADMSG);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.reason, "bad From");
	free(buf);
	free(f.buf);
}

/* Framing over a stream: 3.1.2.2 waits, 3.1.2.3 and 3.3.9 close. */
static void test_stream_framing(void **state)
{
	struct file f;
	size_t n;
	const char *reason;

	(void)state;
	load("clerr.dat", &f);
	assert_int_equal(sip_frame(f.buf, f.len, &n), EAGAIN);
	free(f.buf);
	load("ncl.dat", &f);
	assert_int_equal(sip_frame(f.buf, f.len, &n), EBADMSG);
	free(f.buf);
	load("mcl01.dat", &f);
	assert_int_equal(sip_frame(f.buf, f.len, &n), EBADMSG);
	free(f.buf);
	/* 3.4.1 has no Content-Length: fine in a datagram, not on a stream */
	assert_int_equal(parse_status("inv2543.dat", SIP_TP_TCP, &reason), 400);
	assert_string_equal(reason, "missing Content-Length");
	load("dblreq.dat", &f);
	assert_int_equal(sip_frame(f.buf, f.len, &n), 0);
	assert_true(n < f.len);
	assert_true(memcmp(f.buf + n, "\r\nINVITE", 8) == 0);
	free(f.buf);
}

/* 3.2.1 and 3.4.1: no or bare branch, RFC 2543 style, still parses */
static void test_old_style(void **state)
{
	struct file f;
	struct sip_via via;
	struct sip_str rest;
	struct sip_nameaddr na;

	(void)state;
	parse_ok("badbranch.dat", &f);
	assert_int_equal(sip_via_parse(sip_msg_hdr(&msg, SIP_H_VIA)->value, &via, &rest), 0);
	assert_true(str_is(via.branch, "z9hG4bK"));
	free(f.buf);
	parse_ok("inv2543.dat", &f);
	assert_int_equal(sip_via_parse(sip_msg_hdr(&msg, SIP_H_VIA)->value, &via, &rest), 0);
	assert_int_equal(via.branch.len, 0);
	assert_int_equal(sip_nameaddr_parse(sip_msg_hdr(&msg, SIP_H_FROM)->value, &na), 0);
	assert_int_equal(na.tag.len, 0);
	assert_int_equal(msg.max_forwards, -1);
	assert_true(msg.body.len > 0);
	assert_true(msg.body.p + msg.body.len == f.buf + f.len);
	free(f.buf);
}

/* 3.3.x: application checks */
static void test_application(void **state)
{
	struct file f;
	struct sip_parse_error err;
	struct sip_digest_cred cred;
	struct sip_contact c[2];
	struct sip_uri u;
	size_t n;
	bool star;

	(void)state;
	parse_ok("bext01.dat", &f);
	assert_int_equal(sip_request_check(&msg, &err), EBADMSG);
	assert_int_equal(err.status, 420);
	assert_true(str_is(err.unsupported, "nothingSupportsThis, nothingSupportsThisEither"));
	free(f.buf);

	parse_ok("regaut01.dat", &f);
	assert_int_equal(sip_digest_cred_parse(sip_msg_hdr(&msg, SIP_H_AUTHORIZATION)->value, &cred), 0);
	assert_true(str_is(cred.scheme, "NoOneKnowsThisScheme"));
	assert_null(cred.username.p);
	free(f.buf);

	parse_ok("zeromf.dat", &f);
	assert_int_equal(msg.max_forwards, 0);
	free(f.buf);

	parse_ok("cparam01.dat", &f);
	assert_int_equal(sip_contacts_parse(&msg, c, 2, &n, &star), 0);
	assert_int_equal(n, 1);
	assert_true(str_is(c[0].na.uri, "sip:+19725552222@gw1.example.net"));
	assert_true(str_is(c[0].na.params, "unknownparam"));
	free(f.buf);

	parse_ok("cparam02.dat", &f);
	assert_int_equal(sip_contacts_parse(&msg, c, 2, &n, &star), 0);
	assert_int_equal(sip_uri_parse(c[0].na.uri, &u), 0);
	assert_true(str_is(u.params, "unknownparam"));
	assert_int_equal(c[0].na.params.len, 0);
	free(f.buf);

	parse_ok("regescrt.dat", &f);
	assert_int_equal(sip_contacts_parse(&msg, c, 2, &n, &star), 0);
	assert_int_equal(sip_uri_parse(c[0].na.uri, &u), 0);
	assert_true(str_is(u.headers, "Route=%3Csip:sip.example.com%3E"));
	free(f.buf);

	parse_ok("unksm2.dat", &f);
	assert_int_equal(sip_request_check(&msg, &err), EBADMSG);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.reason, "To is not a SIP URI");
	free(f.buf);

	parse_ok("bcast.dat", &f);
	assert_int_equal(sip_request_check(&msg, &err), 0);
	free(f.buf);
}

/* The corpus is the RFC's exact bytes: a copy mangled by an editor or a
 * line-ending conversion would test something else. */
static void test_corpus_intact(void **state)
{
	char path[1024], line[512];
	FILE *fp;
	unsigned files = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/rfc4475/SHA256SUMS", data_dir());
	fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), fp)) {
		char want[65], name[256], got[65];
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		struct file f;
		const char *base;

		if (sscanf(line, "%64s %255s", want, name) != 2)
			continue;
		base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		if (strcmp(base + strlen(base) - 4, ".dat") != 0 && strcmp(base, "expected.tsv") != 0)
			continue;
		load(base, &f);
		assert_int_equal(EVP_Digest(f.buf, f.len, md, &mdlen, EVP_sha256(), NULL), 1);
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(got + 2 * i, 3, "%02x", md[i]);
		if (strcmp(got, want) != 0)
			fail_msg("%s does not match SHA256SUMS", base);
		free(f.buf);
		files++;
	}
	fclose(fp);
	assert_true(files >= 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_intact),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_wsinv),
		cmocka_unit_test(test_intmeth),
		cmocka_unit_test(test_esc01),
		cmocka_unit_test(test_escnull),
		cmocka_unit_test(test_esc02),
		cmocka_unit_test(test_lwsdisp),
		cmocka_unit_test(test_longreq),
		cmocka_unit_test(test_dblreq),
		cmocka_unit_test(test_semiuri),
		cmocka_unit_test(test_transports),
		cmocka_unit_test(test_mpart01),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_reasons_for_refusal),
		cmocka_unit_test(test_refused_by_check),
		cmocka_unit_test(test_baddn_display),
		cmocka_unit_test(test_stream_framing),
		cmocka_unit_test(test_old_style),
		cmocka_unit_test(test_application),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
