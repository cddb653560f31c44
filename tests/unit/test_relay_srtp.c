/* SRTP through the media relay, with real UDP sockets on 127.0.0.1 and the
 * relay's own thread. Each "phone" holds only its own keys, as it would
 * from SDP: the key it sends with (its a=crypto) and the key the PBX gave
 * it. Bridging works when the far phone can read, with the key it was
 * given, what the near phone sent with another key or in plain RTP. */
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
#include "media/srtp.h"

#define MAX_EVENTS 16
#define NPORTS 16u
#define PKT_MAX (2048 + MEDIA_SRTP_ROOM)

struct fixture {
	struct event_base *base;
	struct relay *r;
	unsigned nev, nclosed;
	struct relay_event ev[MAX_EVENTS];
};

/* A phone: its sockets, and its SRTP state when it speaks SRTP. `send`
 * uses the key of its own a=crypto, `recv` the key the PBX sent it. */
struct phone {
	int rtp, rtcp;
	struct sockaddr_in rtp_addr, rtcp_addr;
	struct relay_crypto send_key, recv_key;
	struct media_srtp *send, *recv;
};

static void on_event(void *arg, const struct relay_event *ev)
{
	struct fixture *f = arg;

	if (ev->kind == RELAY_EV_CLOSED)
		f->nclosed++;
	if (f->nev < MAX_EVENTS)
		f->ev[f->nev++] = *ev;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct relay_config cfg = { 0 };
	struct sockaddr_in lo = loopback(0);

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	memcpy(&cfg.bind_addr, &lo, sizeof(lo));
	cfg.bind_len = sizeof(lo);
	/* Away from test_relay's range (40000..64000 by pid) as far as we can. */
	cfg.port_min = (uint16_t)(30000 + (getpid() % 300) * 32);
	cfg.port_max = (uint16_t)(cfg.port_min + NPORTS - 1);
	assert_int_equal(relay_alloc(&f->r, f->base, &cfg, on_event, f), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	relay_free(f->r);
	event_base_free(f->base);
	free(f);
}

static void run_until(struct fixture *f, const unsigned *counter, unsigned want, int ms)
{
	int64_t end = now_ms() + ms;

	while (*counter < want && now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static const struct relay_event *close_and_wait(struct fixture *f, uint32_t id)
{
	unsigned want = f->nclosed + 1, i;

	relay_close(f->r, id);
	run_until(f, &f->nclosed, want, 2000);
	for (i = 0; i < f->nev; i++)
		if (f->ev[i].kind == RELAY_EV_CLOSED && f->ev[i].session == id)
			return &f->ev[i];
	return NULL;
}

static int udp_on(uint16_t port, struct sockaddr_in *addr)
{
	struct sockaddr_in sin = loopback(port);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*addr = sin;
	return fd;
}

/* A plain RTP phone: RTP on an even port, RTCP on the next. */
static struct phone phone_new(void)
{
	struct phone p;
	unsigned tries;

	memset(&p, 0, sizeof(p));
	for (tries = 0; tries < 100; tries++) {
		p.rtp = udp_on(0, &p.rtp_addr);
		if (ntohs(p.rtp_addr.sin_port) % 2 == 0 && ntohs(p.rtp_addr.sin_port) < 65535) {
			p.rtcp = udp_on((uint16_t)(ntohs(p.rtp_addr.sin_port) + 1), &p.rtcp_addr);
			if (p.rtcp >= 0)
				return p;
		}
		close(p.rtp);
	}
	fail_msg("no free port pair for a phone");
	return p;
}

/* An SRTP phone: fresh keys each way, as an SDES offer/answer gives. */
static struct phone srtp_phone_new(enum relay_srtp_suite suite)
{
	struct phone p = phone_new();

	assert_int_equal(media_srtp_generate(&p.send_key, suite), 0);
	assert_int_equal(media_srtp_generate(&p.recv_key, suite), 0);
	assert_int_equal(media_srtp_alloc(&p.send, &p.send_key, MEDIA_SRTP_OUTBOUND), 0);
	assert_int_equal(media_srtp_alloc(&p.recv, &p.recv_key, MEDIA_SRTP_INBOUND), 0);
	return p;
}

static void phone_free(struct phone *p)
{
	close(p->rtp);
	close(p->rtcp);
	media_srtp_free(p->send);
	media_srtp_free(p->recv);
	media_srtp_wipe(&p->send_key);
	media_srtp_wipe(&p->recv_key);
}

/* The relay learns the phone's keys the way the B2BUA would: the phone's
 * a=crypto for what it sends, the PBX's a=crypto to it for what it gets. */
static void set_crypto(struct fixture *f, uint32_t id, enum relay_leg leg, const struct phone *p)
{
	assert_int_equal(relay_set_crypto(f->r, id, leg, p->send ? &p->send_key : NULL,
					  p->recv ? &p->recv_key : NULL), 0);
}

static uint32_t open_call(struct fixture *f, uint16_t port[2], struct phone *a, struct phone *b,
			  bool mux_b)
{
	uint32_t id;

	assert_int_equal(relay_open(f->r, &id, port), 0);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_A, (struct sockaddr *)&a->rtp_addr,
					false, false, NULL), 0);
	assert_int_equal(relay_set_peer(f->r, id, RELAY_LEG_B, (struct sockaddr *)&b->rtp_addr,
					mux_b, false, NULL), 0);
	set_crypto(f, id, RELAY_LEG_A, a);
	set_crypto(f, id, RELAY_LEG_B, b);
	return id;
}

static size_t rtp_packet(unsigned char *buf, uint16_t seq, uint32_t ssrc, size_t len)
{
	size_t i;

	for (i = 12; i < len; i++)
		buf[i] = (unsigned char)(seq + i);
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

/* An RTCP receiver report with one report block (32 bytes). */
static size_t rtcp_packet(unsigned char *buf, uint32_t ssrc)
{
	memset(buf, 0, 32);
	buf[0] = 0x81;
	buf[1] = 201;
	buf[3] = 7;
	buf[4] = (unsigned char)(ssrc >> 24);
	buf[7] = (unsigned char)ssrc;
	buf[15] = 0x42;
	return 32;
}

/* What `p` puts on the wire for `plain`: SRTP when it has keys. */
static void phone_send(const struct phone *p, int fd, uint16_t relay_port, const unsigned char *plain,
		       size_t len, bool rtcp)
{
	unsigned char buf[PKT_MAX];
	struct sockaddr_in to = loopback(relay_port);

	memcpy(buf, plain, len);
	if (p->send)
		assert_int_equal(media_srtp_protect(p->send, rtcp, buf, &len), MEDIA_SRTP_OK);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

static ssize_t recv_raw(int fd, unsigned char *buf, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recv(fd, buf, PKT_MAX - MEDIA_SRTP_ROOM, 0);
}

/* `p` receives `want` at `fd`: decrypted with its own key when it has one,
 * and then it must not have arrived in the clear. */
static void phone_expect(const struct phone *p, int fd, const unsigned char *want, size_t len,
			 bool rtcp)
{
	unsigned char buf[PKT_MAX];
	ssize_t n = recv_raw(fd, buf, 1000);
	size_t got;

	assert_true(n > 0);
	got = (size_t)n;
	if (p->recv) {
		assert_true(got > len);
		assert_memory_not_equal(buf + (rtcp ? 8 : 12), want + (rtcp ? 8 : 12),
					len - (rtcp ? 8 : 12));
		assert_int_equal(media_srtp_unprotect(p->recv, rtcp, buf, &got), MEDIA_SRTP_OK);
	}
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
}

static void expect_nothing(int fd, int ms)
{
	unsigned char buf[PKT_MAX];

	assert_int_equal(recv_raw(fd, buf, ms), -1);
}

static void test_rtp_a_to_srtp_b(void **state)
{
	struct fixture *f = fixture_new();
	struct phone a = phone_new(), b = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	unsigned char pkt[172];
	uint16_t port[2], seq;
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	for (seq = 1; seq <= 20; seq++) {
		rtp_packet(pkt, seq, 0xa, sizeof(pkt));
		phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
		phone_expect(&b, b.rtp, pkt, sizeof(pkt), false);
	}
	/* And back: B's SRTP reaches A in the clear. */
	rtp_packet(pkt, 500, 0xb, sizeof(pkt));
	phone_send(&b, b.rtp, port[1], pkt, sizeof(pkt), false);
	phone_expect(&a, a.rtp, pkt, sizeof(pkt), false);

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].packets_in, 20);
	assert_int_equal(ev->stats.leg[1].packets_out, 20);
	assert_int_equal(ev->stats.leg[1].bytes_out, 20 * (sizeof(pkt) + 10));
	assert_int_equal(ev->stats.leg[1].bytes_in, sizeof(pkt) + 10);
	assert_int_equal(ev->stats.leg[1].packets_in, 1);
	assert_int_equal(ev->stats.leg[0].srtp_auth_failed + ev->stats.leg[1].srtp_auth_failed, 0);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void test_srtp_a_to_rtp_b(void **state)
{
	struct fixture *f = fixture_new();
	struct phone a = srtp_phone_new(RELAY_SRTP_AEAD_AES_128_GCM), b = phone_new();
	unsigned char pkt[172], rr[32];
	uint16_t port[2], seq;
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	for (seq = 65530; seq != 6; seq++) { /* across the rollover */
		rtp_packet(pkt, seq, 0xa, sizeof(pkt));
		phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
		phone_expect(&b, b.rtp, pkt, sizeof(pkt), false);
	}
	rtp_packet(pkt, 9, 0xb, sizeof(pkt));
	phone_send(&b, b.rtp, port[1], pkt, sizeof(pkt), false);
	phone_expect(&a, a.rtp, pkt, sizeof(pkt), false);
	/* SRTCP on the RTCP ports, both ways. */
	rtcp_packet(rr, 0xa);
	phone_send(&a, a.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr), true);
	phone_expect(&b, b.rtcp, rr, sizeof(rr), true);
	rtcp_packet(rr, 0xb);
	phone_send(&b, b.rtcp, (uint16_t)(port[1] + 1), rr, sizeof(rr), true);
	phone_expect(&a, a.rtcp, rr, sizeof(rr), true);

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].packets_in, 13);
	assert_int_equal(ev->stats.leg[0].lost, 0);
	assert_int_equal(ev->stats.leg[1].packets_out, 13);
	assert_int_equal(ev->stats.leg[1].bytes_out, 12 * sizeof(pkt) + sizeof(rr));
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

/* Both legs SRTP with their own keys: B reads A's media with B's key and
 * cannot with A's, so no key crossed from one leg to the other. */
static void test_srtp_both_legs_own_keys(void **state)
{
	struct fixture *f = fixture_new();
	struct phone a = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	struct phone b = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_32);
	struct media_srtp *with_a_key;
	unsigned char pkt[172], wire[PKT_MAX], copy[PKT_MAX], rr[32];
	uint16_t port[2];
	uint32_t id;
	size_t len;
	ssize_t n;
	const struct relay_event *ev;

	(void)state;
	assert_int_equal(media_srtp_alloc(&with_a_key, &a.send_key, MEDIA_SRTP_INBOUND), 0);
	id = open_call(f, port, &a, &b, true);

	rtp_packet(pkt, 1, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	n = recv_raw(b.rtp, wire, 1000);
	assert_int_equal(n, (ssize_t)(sizeof(pkt) + 4)); /* B's suite: a 32-bit tag */
	len = (size_t)n;
	memcpy(copy, wire, len);
	assert_int_equal(media_srtp_unprotect(with_a_key, false, wire, &len), MEDIA_SRTP_AUTH_FAILED);
	len = (size_t)n;
	assert_int_equal(media_srtp_unprotect(b.recv, false, copy, &len), MEDIA_SRTP_OK);
	assert_int_equal(len, sizeof(pkt));
	assert_memory_equal(copy, pkt, sizeof(pkt));

	rtp_packet(pkt, 2, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	phone_expect(&b, b.rtp, pkt, sizeof(pkt), false);
	rtp_packet(pkt, 77, 0xb, sizeof(pkt));
	phone_send(&b, b.rtp, port[1], pkt, sizeof(pkt), false);
	phone_expect(&a, a.rtp, pkt, sizeof(pkt), false);
	/* B is muxed: A's SRTCP reaches B's RTP port, B's muxed SRTCP
	 * (PT 201 on the RTP port) reaches A's RTCP port. */
	rtcp_packet(rr, 0xa);
	phone_send(&a, a.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr), true);
	phone_expect(&b, b.rtp, rr, sizeof(rr), true);
	rtcp_packet(rr, 0xb);
	phone_send(&b, b.rtp, port[1], rr, sizeof(rr), true);
	phone_expect(&a, a.rtcp, rr, sizeof(rr), true);

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].packets_in, 3);
	assert_int_equal(ev->stats.leg[1].packets_in, 2);
	assert_int_equal(ev->stats.leg[0].srtp_auth_failed + ev->stats.leg[1].srtp_auth_failed, 0);
	media_srtp_free(with_a_key);
	phone_free(&a);
	phone_free(&b);
	fixture_free(f);
}

static void send_raw(int fd, uint16_t port, const unsigned char *buf, size_t len)
{
	struct sockaddr_in to = loopback(port);

	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* Tampered, replayed, wrongly keyed and plain packets from an SRTP phone
 * are dropped and counted; the call goes on. */
static void test_tampered_srtp_dropped(void **state)
{
	struct fixture *f = fixture_new();
	struct phone a = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80), b = phone_new();
	struct phone forger = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	unsigned char pkt[172], wire[PKT_MAX], rr[32];
	uint16_t port[2];
	uint32_t id;
	size_t len;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	rtp_packet(pkt, 1, 0xa, sizeof(pkt));
	memcpy(wire, pkt, sizeof(pkt));
	len = sizeof(pkt);
	assert_int_equal(media_srtp_protect(a.send, false, wire, &len), MEDIA_SRTP_OK);

	wire[50] ^= 0x10; /* tampered payload */
	send_raw(a.rtp, port[0], wire, len);
	wire[50] ^= 0x10;
	wire[len - 1] ^= 1; /* tampered tag */
	send_raw(a.rtp, port[0], wire, len);
	wire[len - 1] ^= 1;
	send_raw(a.rtp, port[0], pkt, sizeof(pkt)); /* plain RTP */
	rtcp_packet(rr, 0xa);
	send_raw(a.rtcp, (uint16_t)(port[0] + 1), rr, sizeof(rr)); /* plain RTCP */
	expect_nothing(b.rtp, 150);
	expect_nothing(b.rtcp, 10);

	/* The genuine packet passes once; its replay does not. */
	send_raw(a.rtp, port[0], wire, len);
	phone_expect(&b, b.rtp, pkt, sizeof(pkt), false);
	send_raw(a.rtp, port[0], wire, len);
	/* Another key, from the right address. */
	rtp_packet(pkt, 2, 0xa, sizeof(pkt));
	phone_send(&forger, a.rtp, port[0], pkt, sizeof(pkt), false);
	expect_nothing(b.rtp, 150);

	rtp_packet(pkt, 3, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	phone_expect(&b, b.rtp, pkt, sizeof(pkt), false);

	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[0].srtp_auth_failed, 6);
	assert_int_equal(ev->stats.leg[0].packets_in, 2);
	assert_int_equal(ev->stats.leg[0].dropped_foreign, 0);
	assert_int_equal(ev->stats.leg[1].packets_out, 2);
	phone_free(&a);
	phone_free(&b);
	phone_free(&forger);
	fixture_free(f);
}

/* Re-keying on re-INVITE, back to plain RTP, and the refusals. */
static void test_set_crypto_changes_and_errors(void **state)
{
	struct fixture *f = fixture_new();
	struct phone a = phone_new(), b = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	struct phone b2 = srtp_phone_new(RELAY_SRTP_AEAD_AES_128_GCM);
	struct relay_crypto bad;
	unsigned char pkt[100];
	uint16_t port[2];
	uint32_t id;
	const struct relay_event *ev;

	(void)state;
	id = open_call(f, port, &a, &b, false);
	rtp_packet(pkt, 1, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	phone_expect(&b, b.rtp, pkt, sizeof(pkt), false);

	/* New keys for leg B: B's old key reads nothing any more. */
	set_crypto(f, id, RELAY_LEG_B, &b2);
	rtp_packet(pkt, 2, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	phone_expect(&b2, b.rtp, pkt, sizeof(pkt), false);

	/* Plain again. */
	assert_int_equal(relay_set_crypto(f->r, id, RELAY_LEG_B, NULL, NULL), 0);
	rtp_packet(pkt, 3, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	phone_expect(&a, b.rtp, pkt, sizeof(pkt), false);

	bad = b.send_key;
	bad.key_len = 29;
	assert_int_equal(relay_set_crypto(f->r, id, RELAY_LEG_B, &bad, NULL), EINVAL);
	assert_int_equal(relay_set_crypto(f->r, id, RELAY_LEG_B, NULL, &bad), EINVAL);
	bad.key_len = 30;
	bad.suite = (enum relay_srtp_suite)0;
	assert_int_equal(relay_set_crypto(f->r, id, RELAY_LEG_B, &bad, NULL), EINVAL);
	assert_int_equal(relay_set_crypto(f->r, id, (enum relay_leg)2, NULL, NULL), EINVAL);
	assert_int_equal(relay_set_crypto(f->r, id + (1u << 16), RELAY_LEG_A, NULL, NULL), ENOENT);
	/* A refused key left the leg as it was: plain. */
	rtp_packet(pkt, 4, 0xa, sizeof(pkt));
	phone_send(&a, a.rtp, port[0], pkt, sizeof(pkt), false);
	phone_expect(&a, b.rtp, pkt, sizeof(pkt), false);

	/* Keys set and the session closed at once: freed with the session. */
	set_crypto(f, id, RELAY_LEG_B, &b);
	ev = close_and_wait(f, id);
	assert_non_null(ev);
	assert_int_equal(ev->stats.leg[1].packets_out, 4);
	assert_int_equal(relay_set_crypto(f->r, id, RELAY_LEG_A, NULL, NULL), ENOENT);
	phone_free(&a);
	phone_free(&b);
	phone_free(&b2);
	fixture_free(f);
}

/* Sessions with keys still open when the relay stops: nothing leaks (the
 * sanitizer build checks it). */
static void test_free_with_keys(void **state)
{
	struct fixture *f = fixture_new();
	struct phone a = srtp_phone_new(RELAY_SRTP_AES_CM_128_HMAC_SHA1_80), b = phone_new();
	uint16_t port[2];

	(void)state;
	(void)open_call(f, port, &a, &b, false);
	(void)open_call(f, port, &a, &b, true);
	fixture_free(f);
	phone_free(&a);
	phone_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtp_a_to_srtp_b),
		cmocka_unit_test(test_srtp_a_to_rtp_b),
		cmocka_unit_test(test_srtp_both_legs_own_keys),
		cmocka_unit_test(test_tampered_srtp_dropped),
		cmocka_unit_test(test_set_crypto_changes_and_errors),
		cmocka_unit_test(test_free_with_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
