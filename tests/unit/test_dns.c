/* RFC 3263 pieces of pbx/dns.c and pbx/dns_answer.c that need no network:
 * SRV ordering by priority and weight, the NAPTR choice per transport,
 * SRV records read and bounded, TTLs clamped, malformed answers refused,
 * and IP literals resolved at once without a query. The resolution
 * through a DNS server is covered by tests/integration/test_trunk_register.py. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "pbx/dns.h"
#include "pbx/dns_answer.h"

/* ---- a DNS message builder ---- */

struct pkt {
	unsigned char b[2048];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void put_name(struct pkt *p, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		unsigned char len = (unsigned char)n;

		put(p, &len, 1);
		put(p, name, n);
		name += n + (dot ? 1 : 0);
	}
	put(p, "", 1);
}

static void header(struct pkt *p, const char *qname, unsigned qtype, unsigned ancount)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, 0x8180);
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, 1);
}

static void srv_rr(struct pkt *p, uint32_t ttl, unsigned prio, unsigned weight, unsigned port,
		   const char *target)
{
	struct pkt rd = { .n = 0 };

	put16(&rd, prio);
	put16(&rd, weight);
	put16(&rd, port);
	put_name(&rd, target);
	put16(p, 0xc00c);
	put16(p, 33);
	put16(p, 1);
	put32(p, ttl);
	put16(p, (unsigned)rd.n);
	put(p, rd.b, rd.n);
}

static void naptr_rr(struct pkt *p, unsigned order, unsigned pref, const char *flags,
		     const char *service, const char *repl)
{
	struct pkt rd = { .n = 0 };
	unsigned char l;

	put16(&rd, order);
	put16(&rd, pref);
	l = (unsigned char)strlen(flags);
	put(&rd, &l, 1);
	put(&rd, flags, l);
	l = (unsigned char)strlen(service);
	put(&rd, &l, 1);
	put(&rd, service, l);
	l = 0;
	put(&rd, &l, 1);
	put_name(&rd, repl);
	put16(p, 0xc00c);
	put16(p, 35);
	put16(p, 1);
	put32(p, 300);
	put16(p, (unsigned)rd.n);
	put(p, rd.b, rd.n);
}

/* ---- tests ---- */

static unsigned always_first(unsigned max)
{
	(void)max;
	return 0;
}

static unsigned always_last(unsigned max)
{
	return max - 1;
}

static void test_srv_order_priority_then_weight(void **state)
{
	struct dns_srv s[4] = {
		{ .priority = 20, .weight = 0, .port = 1, .target = "d" },
		{ .priority = 10, .weight = 0, .port = 2, .target = "a" },
		{ .priority = 10, .weight = 100, .port = 3, .target = "b" },
		{ .priority = 5, .weight = 0, .port = 4, .target = "c" },
	};

	(void)state;
	dns_srv_order(s, 4, always_first);
	assert_string_equal(s[0].target, "c");
	assert_int_equal(s[1].priority, 10);
	assert_int_equal(s[2].priority, 10);
	assert_string_equal(s[3].target, "d");
	/* The heavier record wins the draw at the top of the range. */
	dns_srv_order(s, 4, always_last);
	assert_string_equal(s[1].target, "b");
}

static void test_srv_answer_read_and_ttl_clamped(void **state)
{
	struct dns_srv srv[DNS_MAX_RECORDS];
	struct pkt p;
	uint32_t ttl = 0;
	unsigned n = 0;

	(void)state;
	header(&p, "_sip._udp.provider.test", 33, 3);
	srv_rr(&p, 600, 10, 5, 5060, "sip1.provider.test");
	srv_rr(&p, 1, 20, 5, 5062, "sip2.provider.test");
	srv_rr(&p, 600, 30, 0, 5060, "."); /* "no service" is skipped */
	assert_int_equal(dns_answer_srv(p.b, p.n, srv, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(srv[0].target, "sip1.provider.test");
	assert_int_equal(srv[1].port, 5062);
	assert_int_equal(dns_answer_min_ttl(p.b, p.n, &ttl), 0);
	assert_int_equal(ttl, DNS_TTL_MIN_S);
}

static void test_srv_answer_bounded(void **state)
{
	struct dns_srv srv[DNS_MAX_RECORDS];
	struct pkt p;
	unsigned n = 0;

	(void)state;
	header(&p, "_sip._udp.p.test", 33, DNS_MAX_RECORDS + 8);
	for (unsigned i = 0; i < DNS_MAX_RECORDS + 8; i++)
		srv_rr(&p, 300, 10, 0, 5060 + i, "t.p.test");
	assert_int_equal(dns_answer_srv(p.b, p.n, srv, &n), 0);
	assert_int_equal(n, DNS_MAX_RECORDS);
}

static void test_naptr_choice_per_transport(void **state)
{
	char repl[256];
	struct pkt p;

	(void)state;
	header(&p, "provider.test", 35, 4);
	naptr_rr(&p, 20, 10, "s", "SIP+D2U", "_sip._udp.slow.test");
	naptr_rr(&p, 10, 10, "s", "SIP+D2U", "_sip._udp.provider.test");
	naptr_rr(&p, 10, 10, "s", "SIPS+D2T", "_sips._tcp.provider.test");
	naptr_rr(&p, 10, 10, "u", "SIP+D2T", "_sip._tcp.provider.test"); /* not "s" */
	assert_int_equal(dns_answer_naptr(p.b, p.n, SIP_TP_UDP, repl, sizeof(repl)), 0);
	assert_string_equal(repl, "_sip._udp.provider.test");
	assert_int_equal(dns_answer_naptr(p.b, p.n, SIP_TP_TLS, repl, sizeof(repl)), 0);
	assert_string_equal(repl, "_sips._tcp.provider.test");
	assert_int_equal(dns_answer_naptr(p.b, p.n, SIP_TP_TCP, repl, sizeof(repl)), ENOENT);
}

static void test_malformed_answers_refused(void **state)
{
	struct dns_srv srv[DNS_MAX_RECORDS];
	char repl[64];
	struct pkt p;
	uint32_t ttl;
	unsigned n;

	(void)state;
	header(&p, "_sip._udp.p.test", 33, 1);
	srv_rr(&p, 300, 10, 0, 5060, "t.p.test");
	for (size_t cut = 0; cut < p.n; cut++) {
		assert_int_not_equal(dns_answer_min_ttl(p.b, cut, &ttl), 0);
		assert_int_not_equal(dns_answer_srv(p.b, cut, srv, &n), 0);
		assert_int_not_equal(dns_answer_naptr(p.b, cut, SIP_TP_UDP, repl, sizeof(repl)), 0);
	}
}

struct got {
	int calls, err;
	struct dns_result res;
};

static void on_result(void *arg, int err, const struct dns_result *res)
{
	struct got *g = arg;

	g->calls++;
	g->err = err;
	if (!err)
		g->res = *res;
}

static void test_ip_literals_need_no_query(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = NULL;
	struct got g = { 0 };
	char err[128];
	uint64_t id = 1;
	char text[64];

	(void)state;
	assert_int_equal(dns_alloc(&d, base, "127.0.0.1:9", err, sizeof(err)), 0);
	assert_int_equal(dns_resolve(d, "192.0.2.7", 0, SIP_TP_TLS, on_result, &g, &id), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(id, 0);
	assert_int_equal(g.res.n, 1);
	assert_int_equal(ntohs(((struct sockaddr_in *)&g.res.t[0].addr)->sin_port), 5061);
	assert_int_equal(dns_resolve(d, "[2001:db8::1]", 5080, SIP_TP_UDP, on_result, &g, &id), 0);
	assert_int_equal(g.calls, 2);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&g.res.t[0].addr)->sin6_addr, text, sizeof(text));
	assert_string_equal(text, "2001:db8::1");
	assert_int_equal(dns_resolve(d, "", 0, SIP_TP_UDP, on_result, &g, &id), EINVAL);
	dns_free(d);
	event_base_free(base);
}

static void test_bad_servers_refused(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = NULL;
	char err[160] = "";

	(void)state;
	assert_int_equal(dns_alloc(&d, base, "not an address", err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "dns_servers"));
	assert_null(d);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_order_priority_then_weight),
		cmocka_unit_test(test_srv_answer_read_and_ttl_clamped),
		cmocka_unit_test(test_srv_answer_bounded),
		cmocka_unit_test(test_naptr_choice_per_transport),
		cmocka_unit_test(test_malformed_answers_refused),
		cmocka_unit_test(test_ip_literals_need_no_query),
		cmocka_unit_test(test_bad_servers_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
