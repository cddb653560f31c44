/* The media relay with real UDP sockets on 127.0.0.1 and the relay's own
 * thread; events arrive through a libevent loop run by the test, as they
 * would on the signalling thread. "Phones" are plain sockets; a third
 * party sends from 127.0.0.2. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "media/relay.h"

#define MAX_EVENTS 64
#define NPORTS 40u /* 20 pairs: 10 sessions */

struct fixture {
	struct event_base *base;
	struct relay *r;
	uint16_t port_min, port_max;
	unsigned nev;
	struct relay_event ev[MAX_EVENTS];
	int64_t ev_ms[MAX_EVENTS]; /* when each event reached the loop */
	unsigned nclosed;
};

struct phone {
	int rtp, rtcp;
	struct sockaddr_in rtp_addr, rtcp_addr;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_event(void *arg, const struct relay_event *ev)
{
	struct fixture *f = arg;

	if (ev->kind == RELAY_EV_CLOSED)
		f->nclosed++;
	if (f->nev < MAX_EVENTS) {
		f->ev_ms[f->nev] = now_ms();
		f->ev[f->nev++] = *ev;
	}
}

static struct sockaddr_in loopback(uint8_t last, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	sin.sin_addr.s_addr = htonl(0x7f000000u | last);
	return sin;
}

static struct fixture *fixture_new(unsigned timeout_s)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct relay_config cfg = { 0 };
	struct sockaddr_in lo = loopback(1, 0);

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	memcpy(&cfg.bind_addr, &lo, sizeof(lo));
	cfg.bind_len = sizeof(lo);
	/* A range of its own per process, so parallel test runs rarely meet;
	 * the pool skips ports someone else holds anyway. */
	f->port_min = (uint16_t)(40000 + (getpid() % 500) * 48);
	f->port_max = (uint16_t)(f->port_min + NPORTS - 1);
	cfg.port_min = f->port_min;
	cfg.port_max = f->port_max;
	cfg.no_media_timeout_s = timeout_s;
	assert_int_equal(relay_alloc(&f->r, f->base, &cfg, on_event, f), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	relay_free(f->r);
	event_base_free(f->base);
	free(f);
}

/* Run the loop until `*counter` reaches `want` or `ms` pass. */
static void run_until(struct fixture *f, const unsigned *counter, unsigned want, int ms)
{
	int64_t end = now_ms() + ms;

	while (*counter < want && now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static void run_for(struct fixture *f, int ms)
{
	static const unsigned never = 0;

	run_until(f, &never, 1, ms);
}

static int udp_on(uint8_t last, uint16_t port, struct sockaddr_in *addr)
{
	struct sockaddr_in sin = loopback(last, port);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (addr)
		*addr = sin;
	return fd;
}

/* A phone with an RTP socket on an even port and RTCP on the next. */
static struct phone phone_new(uint8_t last)
{
	struct phone p;
	unsigned tries;

	for (tries = 0; tries < 100; tries++) {
		p.rtp = udp_on(last, 0, &p.rtp_addr);
		if (ntohs(p.rtp_addr.sin_port) % 2 == 0 && ntohs(p.rtp_addr.sin_port) < 65535) {
			p.rtcp = udp_on(last, (uint16_t)(ntohs(p.rtp_addr.sin_port) + 1), &p.rtcp_addr);
			if (p.rtcp >= 0)
				return p;
		}
		close(p.rtp);
	}
	fail_msg("no free port pair for a phone");
	return p;
}

static void phone_free(struct phone *p)
{
	close(p->rtp);
	close(p->rtcp);
}

static void send_to(int fd, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in to = loopback(1, port);

	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* Receive one datagram within `ms`; -1 when none came. */
static ssize_t recv_from(int fd, void *buf, size_t len, struct sockaddr_in *from, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t flen = sizeof(*from);

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recvfrom(fd, buf, len, 0, (struct sockaddr *)from, &flen);
}

static size_t rtp_packet(unsigned char *buf, uint16_t seq, uint32_t ssrc, size_t len)
{
	memset(buf, 0xd5, len);
	buf[0] = 0x80;
	buf[1] = 0; /* PCMU */
	buf[2] = (unsigned char)(seq >> 8);
	buf[3] = (unsigned char)seq;
	memset(buf + 4, 0, 4);
	buf[8] = (unsigned char)(ssrc >> 24);
	buf[9] = (unsigned char)(ssrc >> 16);
	buf[10] = (unsigned char)(ssrc >> 8);
	buf[11] = (unsigned char)ssrc;
	return len;
}

/* Expect `want` bytes at `fd` from the relay's `port`. */
static void expect_from_relay(int fd, uint16_t port, const void *want, size_t len)
{
	unsigned char buf[4096];
	struct sockaddr_in from;
	ssize_t n = recv_from(fd, buf, sizeof(buf), &from, 1000);

	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, want, len);
	assert_int_equal(from.sin_addr.s_addr, htonl(0x7f000001));
	assert_int_equal(ntohs(from.sin_port), port);
}

static void expect_nothing(int fd, int ms)
{
	unsigned char buf[4096];
	struct sockaddr_in from;

	assert_int_equal(recv_from(fd, buf, sizeof(buf), &from, ms), -1);
}

static const struct relay_event *closed_event(struct fixture *f, uint32_t id)
{
	unsigned i;

	for (i = 0; i < f->nev; i++)
		if (f->ev[i].kind == RELAY_EV_CLOSED && f->ev[i].session == id)
			return &f->ev[i];
	return NULL;
}

static const struct relay_event *close_and_wait(struct fixture *f, uint32_t id)
{
	unsigned want = f->nclosed + 1;

	relay_close(f->r, id);
	run_until(f, &f->nclosed, want, 2000);
	return closed_event(f, id);
}

/* A call between phones a and b, plain SDP addresses, no latching. */
static uint32_t open_call(struct fixture *f, uint16_t port[2], struct phone *a,
			  struct phone *b, bool mux_b)
{
	uint32_t id;

	assert_int_equal(relay_open(f->r, &id, port), 0);
	assert_int_not_equal(id, 0);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&a->rtp_addr,
					false, false, NULL), 0);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_B, (struct sockaddr *)&b->rtp_addr,
					mux_b, false, NULL), 0);
	return id;
}

static void test_forward_both_ways(void **state)
{
	struct fixture *f = fixture_new(0);
	struct phone a = phone_new(1), b = phone_new(1);
	unsigned char pkt[172];
	uint16_t port[2];
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	assert_true(port[0] >= f->port_min && port[0] <= f->port_max && port[0] % 2 == 0);
	assert_true(port[1] >= f->port_min && port[1] <= f->port_max && port[1] % 2 == 0);
	assert_int_not_equal(port[0], port[1]);
	assert_int_equal(relay_sessions_open(f->r), 1);
	assert_int_equal(relay_ports_free(f->r), NPORTS - 4);

	/* A -> relay leg A -> B, seen by B as coming from leg B's port. */
	rtp_packet(pkt, 1, 0xa, sizeof(pkt));
	send_to(a.rtp, port[0], pkt, sizeof(pkt));
	expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));
	/* And back. */
	rtp_packet(pkt, 7, 0xb, sizeof(pkt));
	send_to(b.rtp, port[1], pkt, sizeof(pkt));
	expect_from_relay(a.rtp, port[0], pkt, sizeof(pkt));

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].packets_in, 1);
	assert_int_equal(ev->stats.leg[0].bytes_in, sizeof(pkt));
	assert_int_equal(ev->stats.leg[0].packets_out, 1);
	assert_int_equal(ev->stats.leg[0].bytes_out, sizeof(pkt));
	assert_int_equal(ev->stats.leg[1].packets_in, 1);
	assert_int_equal(ev->stats.leg[1].packets_out, 1);
	assert_int_equal(ev->stats.leg[0].dropped_foreign, 0);
	assert_int_equal(relay_sessions_open(f->r), 0);
	assert_int_equal(relay_ports_free(f->r), NPORTS);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void test_strict_source(void **state)
{
	struct fixture *f = fixture_new(0);
	struct phone a = phone_new(1), b = phone_new(1);
	int third = udp_on(2, 0, NULL);
	int same_ip = udp_on(1, 0, NULL);
	unsigned char pkt[60];
	uint16_t port[2];
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	assert_true(third >= 0);
	id = open_call(f, port, &a, &b, false);
	rtp_packet(pkt, 100, 0x77, sizeof(pkt));
	/* Another host, and the phone's host from another port: both dropped. */
	send_to(third, port[0], pkt, sizeof(pkt));
	send_to(same_ip, port[0], pkt, sizeof(pkt));
	send_to(third, port[1], pkt, sizeof(pkt));
	send_to(third, (uint16_t)(port[0] + 1), pkt, sizeof(pkt));
	expect_nothing(b.rtp, 150);
	expect_nothing(b.rtcp, 10);
	expect_nothing(a.rtp, 10);

	/* The call goes on. */
	rtp_packet(pkt, 101, 0x77, sizeof(pkt));
	send_to(a.rtp, port[0], pkt, sizeof(pkt));
	expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].dropped_foreign, 3);
	assert_int_equal(ev->stats.leg[1].dropped_foreign, 1);
	assert_int_equal(ev->stats.leg[0].packets_in, 1);
	assert_int_equal(ev->stats.leg[1].packets_out, 1);
	close(third);
	close(same_ip);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void test_latch_then_lock(void **state)
{
	struct fixture *f = fixture_new(0);
	struct phone b = phone_new(1);
	struct sockaddr_in sdp = loopback(1, 4000); /* what the NATed phone wrote in SDP */
	struct sockaddr_in sig = loopback(1, 5060);
	struct sockaddr_in nat_addr;
	int nat = udp_on(1, 0, &nat_addr), other_port = udp_on(1, 0, NULL);
	int third = udp_on(2, 0, NULL);
	unsigned char pkt[40];
	uint16_t port[2];
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	assert_int_equal(relay_open(f->r, &id, port), 0);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&sdp, false, true,
					(struct sockaddr *)&sig), 0);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_B, (struct sockaddr *)&b.rtp_addr,
					false, false, NULL), 0);

	/* Before the latch, B's media has nowhere to go and A hears nothing. */
	rtp_packet(pkt, 1, 2, sizeof(pkt));
	send_to(b.rtp, port[1], pkt, sizeof(pkt));
	expect_nothing(nat, 100);

	/* Not the signalling IP: dropped, no latch. */
	send_to(third, port[0], pkt, sizeof(pkt));
	expect_nothing(b.rtp, 100);

	/* First packet from the signalling IP, any port: latched. */
	rtp_packet(pkt, 10, 1, sizeof(pkt));
	send_to(nat, port[0], pkt, sizeof(pkt));
	expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));

	/* Locked: the same IP from another port is now foreign. */
	send_to(other_port, port[0], pkt, sizeof(pkt));
	expect_nothing(b.rtp, 100);

	/* B's media goes to the latched address, not to the SDP one. */
	rtp_packet(pkt, 2, 2, sizeof(pkt));
	send_to(b.rtp, port[1], pkt, sizeof(pkt));
	expect_from_relay(nat, port[0], pkt, sizeof(pkt));

	/* A re-INVITE resets the lock: the other port may latch now. */
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&sdp, false, true,
					(struct sockaddr *)&sig), 0);
	rtp_packet(pkt, 11, 1, sizeof(pkt));
	send_to(other_port, port[0], pkt, sizeof(pkt));
	expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));
	send_to(nat, port[0], pkt, sizeof(pkt));
	expect_nothing(b.rtp, 100);

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].dropped_foreign, 3);
	assert_int_equal(ev->stats.leg[0].packets_in, 2);
	assert_int_equal(ev->stats.leg[0].packets_out, 1);
	assert_int_equal(ev->stats.leg[1].packets_in, 2);
	close(nat);
	close(other_port);
	close(third);
	phone_free(&b);
	fixture_free(f);
}

static void test_rtcp(void **state)
{
	struct fixture *f = fixture_new(0);
	struct phone a = phone_new(1), b = phone_new(1), c = phone_new(1), d = phone_new(1);
	/* An RTCP receiver report: version 2, PT 201. */
	unsigned char rr[8] = { 0x80, 201, 0, 1, 0, 0, 0, 9 };
	unsigned char pkt[60];
	uint16_t port[2];
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	/* Both legs on separate RTCP ports. */
	id = open_call(f, port, &a, &b, false);
	send_to(a.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr));
	expect_from_relay(b.rtcp, (uint16_t)(port[1] + 1), rr, sizeof(rr));
	send_to(b.rtcp, (uint16_t)(port[1] + 1), rr, sizeof(rr));
	expect_from_relay(a.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr));
	expect_nothing(a.rtp, 50);
	expect_nothing(b.rtp, 10);
	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].packets_in, 1);
	assert_int_equal(ev->stats.leg[1].packets_out, 1);
	assert_int_equal(ev->stats.leg[0].lost, 0);

	/* Leg B muxed: RTCP from C's port+1 reaches D's RTP port, and D's
	 * muxed RTCP goes to C's RTCP port; RTP still goes RTP to RTP. */
	id = open_call(f, port, &c, &d, true);
	send_to(c.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr));
	expect_from_relay(d.rtp, port[1], rr, sizeof(rr));
	send_to(d.rtp, port[1], rr, sizeof(rr));
	expect_from_relay(c.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr));
	rtp_packet(pkt, 5, 5, sizeof(pkt));
	send_to(d.rtp, port[1], pkt, sizeof(pkt));
	expect_from_relay(c.rtp, port[0], pkt, sizeof(pkt));
	/* A muxed leg's RTCP port accepts nobody. */
	send_to(d.rtcp, (uint16_t)(port[1] + 1), rr, sizeof(rr));
	expect_nothing(c.rtcp, 100);
	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[1].packets_in, 2);
	assert_int_equal(ev->stats.leg[1].dropped_foreign, 1);
	assert_int_equal(ev->stats.leg[1].lost, 0);

	phone_free(&a);
	phone_free(&b);
	phone_free(&c);
	phone_free(&d);
	fixture_free(f);
}

static void test_loss_counting(void **state)
{
	/* 65533, 65534, 65535, [0 lost], 1, 2, [3, 4 lost], 5, late 3,
	 * duplicate 5, then a new SSRC starting anywhere. */
	static const uint16_t seqs[] = { 65533, 65534, 65535, 1, 2, 5, 3, 5 };
	struct fixture *f = fixture_new(0);
	struct phone a = phone_new(1), b = phone_new(1);
	unsigned char pkt[172], junk[11] = { 0 };
	unsigned char v0[20] = { 0x00 };
	uint16_t port[2];
	uint32_t id;
	unsigned i, n = 0;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++, n++) {
		rtp_packet(pkt, seqs[i], 0x1234, sizeof(pkt));
		send_to(a.rtp, port[0], pkt, sizeof(pkt));
		expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));
	}
	rtp_packet(pkt, 40000, 0x9999, sizeof(pkt));
	send_to(a.rtp, port[0], pkt, sizeof(pkt));
	expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));
	n++;
	/* Too short for RTP, and not version 2: forwarded, not counted. */
	send_to(a.rtp, port[0], junk, sizeof(junk));
	expect_from_relay(b.rtp, port[1], junk, sizeof(junk));
	send_to(a.rtp, port[0], v0, sizeof(v0));
	expect_from_relay(b.rtp, port[1], v0, sizeof(v0));
	send_to(a.rtp, port[0], v0, 0);
	expect_from_relay(b.rtp, port[1], v0, 0);
	n += 3;
	rtp_packet(pkt, 40002, 0x9999, sizeof(pkt));
	send_to(a.rtp, port[0], pkt, sizeof(pkt));
	expect_from_relay(b.rtp, port[1], pkt, sizeof(pkt));
	n++;

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].lost, 4); /* 0, 3, 4 and 40001 */
	assert_int_equal(ev->stats.leg[0].packets_in, n);
	assert_int_equal(ev->stats.leg[1].packets_out, n);
	assert_int_equal(ev->stats.leg[1].lost, 0);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

/* Bytes no parser expects, including a datagram larger than the relay's
 * buffer: nothing crashes and the call carries on. */
static void test_odd_packets(void **state)
{
	struct fixture *f = fixture_new(0);
	struct phone a = phone_new(1), b = phone_new(1);
	static unsigned char big[3000];
	unsigned char pkt[172], odd[13];
	uint16_t port[2];
	uint32_t id;
	unsigned i;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	memset(big, 0x80, sizeof(big));
	send_to(a.rtp, port[0], big, sizeof(big));
	expect_nothing(b.rtp, 100);
	for (i = 0; i < 64; i++) {
		memset(odd, (int)i, sizeof(odd));
		send_to(a.rtp, port[0], odd, 1 + i % sizeof(odd));
		send_to(a.rtcp, (uint16_t)(port[0] + 1), odd, 1 + i % sizeof(odd));
	}
	run_for(f, 100);
	rtp_packet(pkt, 1, 1, sizeof(pkt));
	send_to(a.rtp, port[0], pkt, sizeof(pkt));
	ev = NULL;
	for (i = 0; i < 100; i++) { /* skip the forwarded odd packets */
		unsigned char buf[4096];
		struct sockaddr_in from;
		ssize_t n = recv_from(b.rtp, buf, sizeof(buf), &from, 1000);

		assert_true(n >= 0);
		if (n == (ssize_t)sizeof(pkt) && memcmp(buf, pkt, sizeof(pkt)) == 0)
			break;
	}
	assert_true(i < 100);
	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].packets_in, 2 * 64 + 1);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void test_no_media_timeout(void **state)
{
	struct fixture *f = fixture_new(1);
	struct phone a = phone_new(1), b = phone_new(1);
	uint16_t port[2];
	uint32_t id, id2;
	int64_t t0, dt;

	(void)state;
	t0 = now_ms();
	id = open_call(f, port, &a, &b, false);
	run_for(f, 600);
	/* A session with no peer at all times out too. */
	assert_int_equal(relay_open(f->r, &id2, port), 0);
	run_until(f, &f->nev, 2, 4000);
	assert_int_equal(f->nev, 2);
	/* The call's after about a second; the bare session's about 0.6 s
	 * later (generous upper bounds: a loaded machine runs late). */
	assert_int_equal(f->ev[0].kind, RELAY_EV_NO_MEDIA);
	assert_int_equal(f->ev[0].session, id);
	dt = f->ev_ms[0] - t0;
	assert_true(dt >= 950 && dt <= 2500);
	assert_int_equal(f->ev[1].kind, RELAY_EV_NO_MEDIA);
	assert_int_equal(f->ev[1].session, id2);
	assert_true(f->ev_ms[1] - t0 >= 1550);
	/* Once only. */
	run_for(f, 1500);
	assert_int_equal(f->nev, 2);
	assert_non_null(close_and_wait(f, id));
	assert_non_null(close_and_wait(f, id2));
	assert_int_equal(f->nev, 4);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

/* A reload turns the timeout on, off or shorter for sessions already open:
 * silence that is already longer ends the session at the next scan. */
static void test_no_media_timeout_changes_at_runtime(void **state)
{
	struct fixture *f = fixture_new(0);
	uint16_t port[2];
	uint32_t id, id2;

	(void)state;
	assert_int_equal(relay_open(f->r, &id, port), 0);
	run_for(f, 1200);
	assert_int_equal(f->nev, 0);
	assert_int_equal(relay_set_no_media_timeout(f->r, 1), 0);
	run_until(f, &f->nev, 1, 3000);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].kind, RELAY_EV_NO_MEDIA);
	assert_int_equal(f->ev[0].session, id);
	/* Off again: a new silent session is left alone. */
	assert_int_equal(relay_set_no_media_timeout(f->r, 0), 0);
	assert_int_equal(relay_open(f->r, &id2, port), 0);
	run_for(f, 1500);
	assert_int_equal(f->nev, 1);
	assert_non_null(close_and_wait(f, id));
	assert_non_null(close_and_wait(f, id2));
	fixture_free(f);
}

static void test_media_keeps_session_alive(void **state)
{
	struct fixture *f = fixture_new(1);
	struct phone a = phone_new(1), b = phone_new(1);
	unsigned char pkt[60];
	uint16_t port[2], s;
	uint32_t id;
	int64_t t0 = now_ms();

	(void)state;
	id = open_call(f, port, &a, &b, false);
	for (s = 0; now_ms() - t0 < 2200; s++) {
		rtp_packet(pkt, s, 1, sizeof(pkt));
		send_to(a.rtp, port[0], pkt, sizeof(pkt));
		run_for(f, 100);
	}
	assert_int_equal(f->nev, 0);
	assert_non_null(close_and_wait(f, id));
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void test_exhaustion_and_recovery(void **state)
{
	struct fixture *f = fixture_new(0);
	uint32_t ids[NPORTS], extra;
	uint16_t port[2];
	unsigned n = 0, i;
	int err;

	(void)state;
	while ((err = relay_open(f->r, &ids[n], port)) == 0)
		n++;
	assert_int_equal(err, EAGAIN);
	assert_true(n >= NPORTS / 4 - 1); /* a pair or two may be held by others */
	assert_true(relay_ports_free(f->r) < 4);
	assert_int_equal(relay_sessions_open(f->r), n);

	/* Closing does not free ports until the relay thread says so. */
	relay_close(f->r, ids[0]);
	assert_int_equal(relay_sessions_open(f->r), n - 1);
	assert_int_equal(relay_open(f->r, &extra, port), EAGAIN);
	run_until(f, &f->nclosed, 1, 2000);
	assert_int_equal(f->nclosed, 1);
	assert_int_equal(relay_open(f->r, &extra, port), 0);
	assert_int_not_equal(extra, ids[0]);
	ids[0] = extra;

	for (i = 0; i < n; i++)
		relay_close(f->r, ids[i]);
	run_until(f, &f->nclosed, n + 1, 3000);
	assert_int_equal(f->nclosed, n + 1);
	assert_int_equal(relay_sessions_open(f->r), 0);
	assert_true(relay_ports_free(f->r) >= NPORTS - 4);
	fixture_free(f);
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_thousand_cycles(void **state)
{
	struct fixture *f = fixture_new(0);
	struct phone a = phone_new(1), b = phone_new(1);
	unsigned char pkt[60];
	unsigned free_before = relay_ports_free(f->r);
	unsigned fds_before = count_fds();
	uint16_t port[2], prev[10] = { 0 }, cur[10];
	uint32_t id[5];
	unsigned cycle, k, j, want;

	(void)state;
	rtp_packet(pkt, 1, 1, sizeof(pkt));
	for (cycle = 0; cycle < 1000; cycle += 5) {
		for (k = 0; k < 5; k++) {
			id[k] = open_call(f, port, &a, &b, k % 2 == 1);
			cur[2 * k] = port[0];
			cur[2 * k + 1] = port[1];
			send_to(a.rtp, port[0], pkt, sizeof(pkt));
		}
		/* Round robin: the pairs just freed wait behind the others. */
		for (k = 0; k < 10; k++)
			for (j = 0; j < 10; j++)
				assert_int_not_equal(cur[k], prev[j]);
		memcpy(prev, cur, sizeof(prev));
		want = f->nclosed + 5;
		for (k = 0; k < 5; k++)
			relay_close(f->r, id[k]);
		run_until(f, &f->nclosed, want, 2000);
		assert_int_equal(f->nclosed, want);
	}
	assert_int_equal(relay_sessions_open(f->r), 0);
	assert_int_equal(relay_ports_free(f->r), free_before);
	assert_int_equal(count_fds(), fds_before);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void test_unknown_ids(void **state)
{
	struct fixture *f = fixture_new(0);
	struct sockaddr_in peer = loopback(1, 4000);
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(4000) };
	uint16_t port[2];
	uint32_t id;

	(void)state;
	relay_close(f->r, 0);
	relay_close(f->r, 12345);
	relay_close(f->r, UINT32_MAX);
	assert_int_equal(relay_set_peer(f->r, 777, RELAY_LEG_A, (struct sockaddr *)&peer,
					false, false, NULL), ENOENT);
	assert_int_equal(relay_open(f->r, &id, port), 0);
	assert_int_equal(relay_set_peer(f->r, id, (enum relay_leg)2, (struct sockaddr *)&peer,
					false, false, NULL), EINVAL);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&peer,
					false, true, NULL), EINVAL);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, NULL, false, false, NULL), EINVAL);
	/* An IPv4 relay cannot reach a native IPv6 phone. */
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&v6,
					false, false, NULL), EAFNOSUPPORT);
	/* An id of the same slot from another generation is unknown too. */
	relay_close(f->r, id + (1u << 16));
	assert_int_equal(relay_sessions_open(f->r), 1);
	relay_close(f->r, id);
	relay_close(f->r, id); /* twice: one close */
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&peer,
					false, false, NULL), ENOENT);
	run_for(f, 300);
	assert_int_equal(f->nclosed, 1);
	assert_int_equal(f->nev, 1);
	assert_int_equal(relay_ports_free(f->r), NPORTS);
	fixture_free(f);
}

/* relay_free with sessions still open, some not yet seen by the thread. */
static void test_free_with_open_sessions(void **state)
{
	unsigned fds_before = count_fds();
	struct fixture *f = fixture_new(0);
	uint16_t port[2];
	uint32_t id;

	(void)state;
	assert_int_equal(relay_open(f->r, &id, port), 0);
	run_for(f, 50);
	assert_int_equal(relay_open(f->r, &id, port), 0);
	assert_int_equal(relay_open(f->r, &id, port), 0);
	relay_close(f->r, id);
	fixture_free(f);
	assert_int_equal(count_fds(), fds_before);
}

/* An IPv6 relay on ::1 between two IPv6 phones; an IPv4 peer is taken as
 * v4-mapped. */
static void test_ipv6(void **state)
{
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 a_addr = lo6, b_addr = lo6, from;
	struct sockaddr_in v4 = loopback(1, 4000);
	struct relay_config cfg = { 0 };
	struct event_base *base = event_base_new();
	struct relay *r;
	socklen_t len = sizeof(a_addr);
	unsigned char pkt[100], buf[200];
	uint16_t port[2];
	uint32_t id;
	int a, b;
	ssize_t n;

	(void)state;
	a = socket(AF_INET6, SOCK_DGRAM, 0);
	b = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(bind(a, (struct sockaddr *)&a_addr, sizeof(a_addr)), 0);
	assert_int_equal(bind(b, (struct sockaddr *)&b_addr, sizeof(b_addr)), 0);
	assert_int_equal(getsockname(a, (struct sockaddr *)&a_addr, &len), 0);
	len = sizeof(b_addr);
	assert_int_equal(getsockname(b, (struct sockaddr *)&b_addr, &len), 0);
	memcpy(&cfg.bind_addr, &lo6, sizeof(lo6));
	cfg.bind_len = sizeof(lo6);
	cfg.port_min = (uint16_t)(40000 + (getpid() % 500) * 48);
	cfg.port_max = (uint16_t)(cfg.port_min + NPORTS - 1);
	assert_int_equal(relay_alloc(&r, base, &cfg, NULL, NULL), 0);
	assert_int_equal(relay_open(r, &id, port), 0);
	assert_int_equal(relay_set_peer(r, id, RELAY_LEG_A, (struct sockaddr *)&v4, false, false,
					NULL), 0);
	assert_int_equal(relay_set_peer(r, id, RELAY_LEG_A, (struct sockaddr *)&a_addr, false,
					false, NULL), 0);
	assert_int_equal(relay_set_peer(r, id, RELAY_LEG_B, (struct sockaddr *)&b_addr, false,
					false, NULL), 0);
	rtp_packet(pkt, 1, 1, sizeof(pkt));
	lo6.sin6_port = htons(port[0]);
	assert_int_equal(sendto(a, pkt, sizeof(pkt), 0, (struct sockaddr *)&lo6, sizeof(lo6)),
			 (ssize_t)sizeof(pkt));
	{
		struct pollfd pfd = { .fd = b, .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 1000), 1);
	}
	len = sizeof(from);
	n = recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	assert_int_equal(n, (ssize_t)sizeof(pkt));
	assert_memory_equal(buf, pkt, sizeof(pkt));
	assert_int_equal(from.sin6_family, AF_INET6);
	assert_int_equal(ntohs(from.sin6_port), port[1]);
	relay_close(r, id);
	relay_free(r);
	event_base_free(base);
	close(a);
	close(b);
}

static void test_bad_config(void **state)
{
	struct event_base *base = event_base_new();
	struct sockaddr_in lo = loopback(1, 0);
	struct relay_config cfg = { .port_min = 41000, .port_max = 41099 };
	struct relay *r = NULL;

	(void)state;
	memcpy(&cfg.bind_addr, &lo, sizeof(lo));
	cfg.bind_len = sizeof(lo);
	cfg.port_min = 41001;
	assert_int_equal(relay_alloc(&r, base, &cfg, on_event, NULL), EINVAL);
	cfg.port_min = 41000;
	cfg.port_max = 41002; /* one pair: not a session */
	assert_int_equal(relay_alloc(&r, base, &cfg, on_event, NULL), EINVAL);
	cfg.port_max = 41099;
	cfg.bind_addr.ss_family = AF_UNIX;
	assert_int_equal(relay_alloc(&r, base, &cfg, on_event, NULL), EAFNOSUPPORT);
	assert_null(r);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_both_ways),
		cmocka_unit_test(test_strict_source),
		cmocka_unit_test(test_latch_then_lock),
		cmocka_unit_test(test_rtcp),
		cmocka_unit_test(test_loss_counting),
		cmocka_unit_test(test_odd_packets),
		cmocka_unit_test(test_no_media_timeout),
		cmocka_unit_test(test_no_media_timeout_changes_at_runtime),
		cmocka_unit_test(test_media_keeps_session_alive),
		cmocka_unit_test(test_exhaustion_and_recovery),
		cmocka_unit_test(test_thousand_cycles),
		cmocka_unit_test(test_unknown_ids),
		cmocka_unit_test(test_free_with_open_sessions),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
