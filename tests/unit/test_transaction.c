/* Transactions over the real transport on 127.0.0.1 with T1 = 10 ms, so
 * every RFC 3261 timer runs in well under a second. The far end is a
 * plain socket that counts what reaches it. */
#include <errno.h>
#include <fcntl.h>
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

#include "core/conf.h"
#include "core/limits.h"
#include "sip/msg.h"
#include "sip/transaction.h"
#include "sip/transport.h"

#define T1 10u
#define T2 40u
#define T4 50u

struct fixture {
	struct event_base *base;
	struct transport *t;
	struct tsx_layer *l;
	int far;                 /* UDP socket of the far end */
	struct sip_peer far_peer;
	struct sockaddr_storage us; /* where the far end answers UDP */
	socklen_t uslen;
	/* what the far end received */
	unsigned nfar;
	char last[2048];
	char first[2048];
	/* stream requests seen by the transport */
	unsigned nstream;
	struct sip_peer stream_peer;
	unsigned stray;          /* responses no client transaction took */
};

struct calls {
	unsigned n;
	unsigned status[8];
	int err[8];
	struct tsx *x;
};

static struct sip_msg *parse(const char *s, enum sip_transport tp)
{
	static struct sip_msg m[4];
	static unsigned next;
	struct sip_msg *pm = &m[next++ % 4];
	struct sip_parse_error e;

	if (sip_msg_parse(pm, s, strlen(s), tp, &e)) {
		print_error("parse failed: %s\n", e.reason);
		fail();
	}
	return pm;
}

static void on_rx(void *arg, const char *buf, size_t len,
		  const struct sip_peer *src)
{
	struct fixture *f = arg;
	struct sip_msg m;
	struct sip_parse_error e;

	if (sip_msg_parse(&m, buf, len, src->tp, &e))
		return;
	if (!m.is_request) {
		if (!tsx_client_match(f->l, &m))
			f->stray++;
		return;
	}
	f->nstream++;
	f->stream_peer = *src;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void drain_far(struct fixture *f, int fd)
{
	char buf[2048];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		if (f->nfar == 0)
			memcpy(f->first, buf, (size_t)n + 1);
		memcpy(f->last, buf, (size_t)n + 1);
		f->nfar++;
	}
}

/* Run the loop for ms, or until *until_calls reaches want. */
static void pump(struct fixture *f, int fd, unsigned ms, const unsigned *n,
		 unsigned want)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		drain_far(f, fd);
		if (n && *n >= want)
			return;
		poll(NULL, 0, 1);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tsx_timers tm = { T1, T2, T4, 0 };
	struct rf_conf c;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char err[256];

	assert_non_null(f);
	memset(&c, 0, sizeof(c));
	snprintf(c.listen[0], sizeof(c.listen[0]), "127.0.0.1");
	c.nlisten = 1;
	c.udp = c.tcp = true;
	f->base = event_base_new();
	assert_non_null(f->base);
	if (transport_alloc(&f->t, f->base, &c, on_rx, f, err, sizeof(err))) {
		print_error("transport_alloc: %s\n", err);
		return -1;
	}
	assert_int_equal(tsx_layer_alloc(&f->l, f->base, f->t, &tm), 0);
	assert_int_equal(transport_local_addr(f->t, SIP_TP_UDP, AF_INET, &f->us, &f->uslen), 0);

	f->far = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(f->far >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->far, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(f->far, (struct sockaddr *)&sa, &len), 0);
	f->far_peer.tp = SIP_TP_UDP;
	memcpy(&f->far_peer.addr, &sa, sizeof(sa));
	f->far_peer.addrlen = sizeof(sa);
	f->far_peer.sock = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->stray, 0);
	tsx_layer_free(f->l);
	transport_free(f->t);
	event_base_free(f->base);
	close(f->far);
	free(f);
	return 0;
}

static void record(void *arg, struct tsx *x, const struct sip_msg *resp,
		   int err)
{
	struct calls *c = arg;

	if (c->n < 8) {
		c->status[c->n] = resp ? resp->status : 0;
		c->err[c->n] = err;
	}
	c->x = x;
	c->n++;
}

static void record_end(void *arg, struct tsx *x, int err)
{
	record(arg, x, NULL, err);
}

static void request(char *buf, size_t len, const char *method,
		    const char *branch, const char *tp, unsigned cseq,
		    const char *cseq_method)
{
	snprintf(buf, len,
		 "%s sip:1001@example.test SIP/2.0\r\n"
		 "Via: SIP/2.0/%s 127.0.0.1:5999;branch=%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:1001@example.test>;tag=ft\r\n"
		 "To: <sip:1001@example.test>\r\n"
		 "Call-ID: c1@test\r\n"
		 "CSeq: %u %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, tp, branch, cseq, cseq_method ? cseq_method : method);
}

static void response(char *buf, size_t len, unsigned status,
		     const char *branch, const char *tp, const char *method)
{
	snprintf(buf, len,
		 "SIP/2.0 %u Whatever\r\n"
		 "Via: SIP/2.0/%s 127.0.0.1:5999;branch=%s\r\n"
		 "From: <sip:1001@example.test>;tag=ft\r\n"
		 "To: <sip:1001@example.test>;tag=tt%u\r\n"
		 "Call-ID: c1@test\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 status, tp, branch, status, method);
}

/* ---- server ---- */

static void test_server_absorbs_retransmissions(void **state)
{
	struct fixture *f = *state;
	char req[512], other[512], resp[512];
	struct tsx *x;
	struct calls end = {0};
	const struct sip_msg *m;

	request(req, sizeof(req), "REGISTER", "z9hG4bKreg1", "UDP", 1, NULL);
	m = parse(req, SIP_TP_UDP);
	assert_false(tsx_server_absorb(f->l, m, &f->far_peer));
	assert_int_equal(tsx_server_alloc(&x, f->l, m, &f->far_peer), 0);
	tsx_server_set_end_cb(x, record_end, &end);
	assert_int_equal(tsx_layer_count(f->l), 1);
	assert_int_equal(tsx_server_alloc(&x, f->l, m, &f->far_peer), EEXIST);

	/* Retransmission before any answer: swallowed silently. */
	assert_true(tsx_server_absorb(f->l, parse(req, SIP_TP_UDP), &f->far_peer));
	pump(f, f->far, 30, NULL, 0);
	assert_int_equal(f->nfar, 0);

	response(resp, sizeof(resp), 200, "z9hG4bKreg1", "UDP", "REGISTER");
	assert_int_equal(tsx_server_respond(x, 200, resp, strlen(resp)), 0);
	assert_int_equal(tsx_state(x), TSX_COMPLETED);
	pump(f, f->far, 30, &f->nfar, 1);
	assert_int_equal(f->nfar, 1);
	assert_string_equal(f->last, resp);
	/* Only one final response per transaction. */
	assert_int_equal(tsx_server_respond(x, 403, resp, strlen(resp)), EINVAL);

	/* A retransmission gets the same response again, from the layer. */
	assert_true(tsx_server_absorb(f->l, parse(req, SIP_TP_UDP), &f->far_peer));
	pump(f, f->far, 30, &f->nfar, 2);
	assert_int_equal(f->nfar, 2);
	assert_string_equal(f->last, resp);

	/* The same request from another source is swallowed, unanswered. */
	{
		struct sip_peer spoof = f->far_peer;

		((struct sockaddr_in *)&spoof.addr)->sin_port ^= htons(1);
		assert_true(tsx_server_absorb(f->l, parse(req, SIP_TP_UDP), &spoof));
		spoof = f->far_peer;
		spoof.tp = SIP_TP_TCP;
		assert_true(tsx_server_absorb(f->l, parse(req, SIP_TP_UDP), &spoof));
		pump(f, f->far, 30, NULL, 0);
		assert_int_equal(f->nfar, 2);
	}

	/* Another branch, or another sent-by, is another transaction. */
	request(other, sizeof(other), "REGISTER", "z9hG4bKreg2", "UDP", 2, NULL);
	assert_false(tsx_server_absorb(f->l, parse(other, SIP_TP_UDP), &f->far_peer));
	memcpy(strstr(other, "5999"), "5998", 4);
	memcpy(strstr(other, "reg2"), "reg1", 4);
	assert_false(tsx_server_absorb(f->l, parse(other, SIP_TP_UDP), &f->far_peer));

	/* Timer J (64*T1) ends it; then the same request is new again. */
	pump(f, f->far, 64 * T1 + 300, &end.n, 1);
	assert_int_equal(end.n, 1);
	assert_int_equal(end.err[0], 0);
	pump(f, f->far, 5, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);
	assert_false(tsx_server_absorb(f->l, parse(req, SIP_TP_UDP), &f->far_peer));
}

static void test_server_refuses_unusable_via(void **state)
{
	struct fixture *f = *state;
	char req[512];
	struct tsx *x = NULL;

	/* RFC 2543 branch without the magic cookie: handled statelessly. */
	request(req, sizeof(req), "REGISTER", "oldstyle1", "UDP", 1, NULL);
	assert_int_equal(tsx_server_alloc(&x, f->l, parse(req, SIP_TP_UDP), &f->far_peer), EINVAL);
	assert_null(x);
	request(req, sizeof(req), "ACK", "z9hG4bKack", "UDP", 1, NULL);
	assert_int_equal(tsx_server_alloc(&x, f->l, parse(req, SIP_TP_UDP), &f->far_peer), EINVAL);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

static void test_server_invite_timer_g_h(void **state)
{
	struct fixture *f = *state;
	char req[512], resp[512];
	struct tsx *x;
	struct calls end = {0};
	uint64_t start;

	request(req, sizeof(req), "INVITE", "z9hG4bKinv1", "UDP", 1, NULL);
	assert_int_equal(tsx_server_alloc(&x, f->l, parse(req, SIP_TP_UDP), &f->far_peer), 0);
	assert_int_equal(tsx_kind(x), TSX_SERVER_INVITE);
	assert_int_equal(tsx_state(x), TSX_PROCEEDING);
	tsx_server_set_end_cb(x, record_end, &end);
	response(resp, sizeof(resp), 486, "z9hG4bKinv1", "UDP", "INVITE");
	start = now_ms();
	assert_int_equal(tsx_server_respond(x, 486, resp, strlen(resp)), 0);

	/* No ACK: Timer G resends (10, 20, 40, 40 ... ms) until Timer H. */
	pump(f, f->far, 64 * T1 + 500, &end.n, 1);
	assert_int_equal(end.n, 1);
	assert_int_equal(end.err[0], ETIMEDOUT);
	/* libevent measures from its cached loop time, a few ms early at most. */
	assert_true(now_ms() - start >= 64 * T1 * 9 / 10);
	/* Doubling without the T2 ceiling would give 7; with it, about 18. */
	assert_true(f->nfar >= 12);
	assert_true(f->nfar <= 24);
	assert_string_equal(f->last, resp);
	pump(f, f->far, 5, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

static void test_ack_matching(void **state)
{
	struct fixture *f = *state;
	char inv[512], ack[512], cancel[512], r180[512], r486[512];
	struct tsx *x;
	struct calls end = {0};
	unsigned seen;

	request(inv, sizeof(inv), "INVITE", "z9hG4bKinv2", "UDP", 1, NULL);
	assert_int_equal(tsx_server_alloc(&x, f->l, parse(inv, SIP_TP_UDP), &f->far_peer), 0);
	tsx_server_set_end_cb(x, record_end, &end);
	response(r180, sizeof(r180), 180, "z9hG4bKinv2", "UDP", "INVITE");
	assert_int_equal(tsx_server_respond(x, 180, r180, strlen(r180)), 0);
	pump(f, f->far, 50, &f->nfar, 1);
	/* INVITE retransmission in Proceeding: the 180 again. */
	assert_true(tsx_server_absorb(f->l, parse(inv, SIP_TP_UDP), &f->far_peer));
	pump(f, f->far, 50, &f->nfar, 2);
	assert_int_equal(f->nfar, 2);
	assert_string_equal(f->last, r180);

	/* CANCEL is its own transaction but finds the INVITE. */
	request(cancel, sizeof(cancel), "CANCEL", "z9hG4bKinv2", "UDP", 1, NULL);
	assert_false(tsx_server_absorb(f->l, parse(cancel, SIP_TP_UDP), &f->far_peer));
	assert_ptr_equal(tsx_server_find_invite(f->l, parse(cancel, SIP_TP_UDP), &f->far_peer), x);

	response(r486, sizeof(r486), 486, "z9hG4bKinv2", "UDP", "INVITE");
	assert_int_equal(tsx_server_respond(x, 486, r486, strlen(r486)), 0);

	/* An ACK from another transaction does not match. */
	request(ack, sizeof(ack), "ACK", "z9hG4bKother", "UDP", 1, NULL);
	assert_false(tsx_server_absorb(f->l, parse(ack, SIP_TP_UDP), &f->far_peer));
	/* The ACK for our 486 does, and stops Timer G. */
	request(ack, sizeof(ack), "ACK", "z9hG4bKinv2", "UDP", 1, NULL);
	pump(f, f->far, 25, NULL, 0);
	assert_true(tsx_server_absorb(f->l, parse(ack, SIP_TP_UDP), &f->far_peer));
	assert_int_equal(tsx_state(x), TSX_CONFIRMED);
	pump(f, f->far, 5, NULL, 0);
	seen = f->nfar;
	/* Timer I (T4) ends it, with no more 486 on the wire. */
	pump(f, f->far, T4 + 200, &end.n, 1);
	assert_int_equal(end.n, 1);
	assert_int_equal(end.err[0], 0);
	pump(f, f->far, 60, NULL, 0);
	assert_int_equal(f->nfar, seen);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

static void test_server_invite_2xx_accepted(void **state)
{
	struct fixture *f = *state;
	char inv[512], ack[512], r200[512];
	struct tsx *x;

	request(inv, sizeof(inv), "INVITE", "z9hG4bKinv3", "UDP", 1, NULL);
	assert_int_equal(tsx_server_alloc(&x, f->l, parse(inv, SIP_TP_UDP), &f->far_peer), 0);
	response(r200, sizeof(r200), 200, "z9hG4bKinv3", "UDP", "INVITE");
	assert_int_equal(tsx_server_respond(x, 200, r200, strlen(r200)), 0);
	assert_int_equal(tsx_state(x), TSX_ACCEPTED);
	/* The 2xx is not retransmitted by the transaction (the TU does). */
	pump(f, f->far, 60, NULL, 0);
	assert_int_equal(f->nfar, 1);
	/* A retransmitted INVITE is absorbed and answered with the 2xx. */
	assert_true(tsx_server_absorb(f->l, parse(inv, SIP_TP_UDP), &f->far_peer));
	pump(f, f->far, 50, &f->nfar, 2);
	assert_int_equal(f->nfar, 2);
	/* The ACK for a 2xx goes to the dialog, even with this branch. */
	request(ack, sizeof(ack), "ACK", "z9hG4bKinv3", "UDP", 1, NULL);
	assert_false(tsx_server_absorb(f->l, parse(ack, SIP_TP_UDP), &f->far_peer));
	/* Timer L. */
	pump(f, f->far, 64 * T1 + 200, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

/* A request the TU never answers does not pin its transaction. */
static void test_server_unanswered_expires(void **state)
{
	struct fixture *f = *state;
	char req[512];
	struct tsx *x;
	struct calls end = {0};

	request(req, sizeof(req), "OPTIONS", "z9hG4bKquiet", "UDP", 1, NULL);
	assert_int_equal(tsx_server_alloc(&x, f->l, parse(req, SIP_TP_UDP), &f->far_peer), 0);
	tsx_server_set_end_cb(x, record_end, &end);
	pump(f, f->far, 64 * T1 + 300, &end.n, 1);
	assert_int_equal(end.n, 1);
	assert_int_equal(end.err[0], ETIMEDOUT);
	assert_int_equal(f->nfar, 0);
	pump(f, f->far, 5, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

/* ---- client ---- */

static void test_client_timer_e_f(void **state)
{
	struct fixture *f = *state;
	char req[512];
	struct tsx *x;
	struct calls cb = {0};
	uint64_t start = now_ms(), took;

	request(req, sizeof(req), "OPTIONS", "z9hG4bKopt1", "UDP", 1, NULL);
	assert_int_equal(tsx_client_send(&x, f->l, req, strlen(req), &f->far_peer, record, &cb), 0);
	assert_int_equal(tsx_kind(x), TSX_CLIENT_NON_INVITE);
	assert_int_equal(tsx_state(x), TSX_TRYING);
	pump(f, f->far, 64 * T1 + 500, &cb.n, 1);
	took = now_ms() - start;
	assert_int_equal(cb.n, 1);
	assert_int_equal(cb.status[0], 0);
	assert_int_equal(cb.err[0], ETIMEDOUT);
	assert_true(took >= 64 * T1 * 9 / 10);
	/* E doubles to T2: 10, 20, 40, 40 ... about 18 sends in 64*T1. */
	assert_true(f->nfar >= 12);
	assert_true(f->nfar <= 24);
	assert_string_equal(f->first, req);
	assert_string_equal(f->last, req);
	pump(f, f->far, 5, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

static void far_answer(struct fixture *f, const char *msg)
{
	assert_int_equal(sendto(f->far, msg, strlen(msg), 0,
				(struct sockaddr *)&f->us, f->uslen),
			 (ssize_t)strlen(msg));
}

static void test_client_response_stops_retransmits(void **state)
{
	struct fixture *f = *state;
	char req[512], r100[512], r200[512];
	struct tsx *x;
	struct calls cb = {0};
	unsigned seen;

	request(req, sizeof(req), "OPTIONS", "z9hG4bKopt2", "UDP", 1, NULL);
	assert_int_equal(tsx_client_send(&x, f->l, req, strlen(req), &f->far_peer, record, &cb), 0);
	pump(f, f->far, 50, &f->nfar, 1);
	response(r100, sizeof(r100), 100, "z9hG4bKopt2", "UDP", "OPTIONS");
	far_answer(f, r100);
	pump(f, f->far, 100, &cb.n, 1);
	assert_int_equal(cb.n, 1);
	assert_int_equal(cb.status[0], 100);
	assert_int_equal(tsx_state(x), TSX_PROCEEDING);

	response(r200, sizeof(r200), 200, "z9hG4bKopt2", "UDP", "OPTIONS");
	far_answer(f, r200);
	pump(f, f->far, 100, &cb.n, 2);
	assert_int_equal(cb.n, 2);
	assert_int_equal(cb.status[1], 200);
	assert_int_equal(cb.err[1], 0);
	seen = f->nfar;
	/* A retransmitted 200 is absorbed: no callback, no stray. */
	far_answer(f, r200);
	pump(f, f->far, 20, NULL, 0);
	assert_int_equal(cb.n, 2);
	pump(f, f->far, T4 + 100, NULL, 0);
	assert_int_equal(f->nfar, seen);
	assert_int_equal(tsx_layer_count(f->l), 0);

	/* After Timer K the response is stray. */
	far_answer(f, r200);
	pump(f, f->far, 30, &f->stray, 1);
	assert_int_equal(f->stray, 1);
	f->stray = 0;
}

static void test_client_invite_acks_failure(void **state)
{
	struct fixture *f = *state;
	char req[512], r486[512], ack[2048];
	struct tsx *x;
	struct calls cb = {0};
	unsigned before;

	request(req, sizeof(req), "INVITE", "z9hG4bKinv4", "UDP", 7, NULL);
	assert_int_equal(tsx_client_send(&x, f->l, req, strlen(req), &f->far_peer, record, &cb), 0);
	assert_int_equal(tsx_state(x), TSX_CALLING);
	/* Timer A: the first retransmission comes T1 later. */
	pump(f, f->far, 1000, &f->nfar, 2);
	assert_true(f->nfar >= 2);
	assert_string_equal(f->last, req);
	response(r486, sizeof(r486), 486, "z9hG4bKinv4", "UDP", "INVITE");
	memcpy(strstr(r486, "CSeq: 1"), "CSeq: 7", 7);
	before = f->nfar;
	far_answer(f, r486);
	pump(f, f->far, 100, &cb.n, 1);
	assert_int_equal(cb.n, 1);
	assert_int_equal(cb.status[0], 486);
	assert_int_equal(tsx_state(x), TSX_COMPLETED);
	pump(f, f->far, 30, NULL, 0);
	/* The layer sent the ACK itself (RFC 3261 17.1.1.3). */
	assert_true(f->nfar > before);
	memcpy(ack, f->last, sizeof(ack));
	assert_true(strncmp(ack, "ACK sip:1001@example.test SIP/2.0\r\n", 35) == 0);
	assert_non_null(strstr(ack, "branch=z9hG4bKinv4"));
	assert_non_null(strstr(ack, "CSeq: 7 ACK\r\n"));
	assert_non_null(strstr(ack, "To: <sip:1001@example.test>;tag=tt486\r\n"));
	assert_non_null(strstr(ack, "From: <sip:1001@example.test>;tag=ft\r\n"));
	parse(ack, SIP_TP_UDP);

	/* The 486 again (our ACK was lost): ACK again, no callback. */
	before = f->nfar;
	far_answer(f, r486);
	pump(f, f->far, 50, &f->nfar, before + 1);
	assert_int_equal(f->nfar, before + 1);
	assert_string_equal(f->last, ack);
	assert_int_equal(cb.n, 1);
	/* Timer D. */
	pump(f, f->far, 64 * T1 + 200, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

/* ---- reliable transport ---- */

static int tcp_connect(struct fixture *f)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(transport_local_addr(f->t, SIP_TP_TCP, AF_INET, &ss, &len), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void test_reliable_skips_retransmissions(void **state)
{
	struct fixture *f = *state;
	char inv[512], ack[512], r486[512], opt[512];
	struct tsx *x, *c;
	struct calls end = {0}, cb = {0};
	int fd = tcp_connect(f);
	struct sip_peer peer;

	request(inv, sizeof(inv), "INVITE", "z9hG4bKtcp1", "TCP", 1, NULL);
	assert_int_equal(send(fd, inv, strlen(inv), 0), (ssize_t)strlen(inv));
	pump(f, fd, 1000, &f->nstream, 1);
	assert_int_equal(f->nstream, 1);
	peer = f->stream_peer;
	assert_int_equal(peer.tp, SIP_TP_TCP);

	assert_int_equal(tsx_server_alloc(&x, f->l, parse(inv, SIP_TP_TCP), &peer), 0);
	tsx_server_set_end_cb(x, record_end, &end);
	response(r486, sizeof(r486), 486, "z9hG4bKtcp1", "TCP", "INVITE");
	assert_int_equal(tsx_server_respond(x, 486, r486, strlen(r486)), 0);
	/* No Timer G on TCP: exactly one 486 (reads coalesce, so compare
	 * bytes, not reads). */
	pump(f, fd, 150, NULL, 0);
	assert_int_equal(f->nfar, 1);
	assert_string_equal(f->last, r486);
	/* ACK: Timer I is zero, so it ends on the next loop pass. */
	request(ack, sizeof(ack), "ACK", "z9hG4bKtcp1", "TCP", 1, NULL);
	assert_true(tsx_server_absorb(f->l, parse(ack, SIP_TP_TCP), &peer));
	pump(f, fd, 20, &end.n, 1);
	assert_int_equal(end.n, 1);
	pump(f, fd, 5, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);

	/* Client side on the same flow: one copy, then Timer F. */
	f->nfar = 0;
	request(opt, sizeof(opt), "OPTIONS", "z9hG4bKtcp2", "TCP", 1, NULL);
	assert_int_equal(tsx_client_send(&c, f->l, opt, strlen(opt), &peer, record, &cb), 0);
	pump(f, fd, 64 * T1 + 300, &cb.n, 1);
	assert_int_equal(cb.n, 1);
	assert_int_equal(cb.err[0], ETIMEDOUT);
	assert_int_equal(f->nfar, 1);
	assert_string_equal(f->last, opt);
	pump(f, fd, 5, NULL, 0);
	assert_int_equal(tsx_layer_count(f->l), 0);

	/* The connection is gone: sending fails at once, nothing is kept. */
	close(fd);
	pump(f, -1, 100, NULL, 0);
	assert_int_equal(tsx_client_send(&c, f->l, opt, strlen(opt), &peer, record, &cb), ENOTCONN);
	assert_int_equal(tsx_layer_count(f->l), 0);
}

static void test_layer_free_with_live_transactions(void **state)
{
	struct fixture *f = *state;
	char req[512];
	struct tsx *x;
	struct calls cb = {0};

	for (unsigned i = 0; i < 50; i++) {
		char branch[32];

		snprintf(branch, sizeof(branch), "z9hG4bKlive%u", i);
		request(req, sizeof(req), i % 2 ? "INVITE" : "OPTIONS", branch, "UDP", 1, NULL);
		if (i % 3)
			assert_int_equal(tsx_server_alloc(&x, f->l, parse(req, SIP_TP_UDP), &f->far_peer), 0);
		else
			assert_int_equal(tsx_client_send(&x, f->l, req, strlen(req), &f->far_peer, record, &cb), 0);
	}
	assert_int_equal(tsx_layer_count(f->l), 50);
	pump(f, f->far, 20, NULL, 0);
	/* teardown frees the layer with all 50 alive: no callbacks, and the
	 * sanitizer build checks nothing leaks. */
	assert_int_equal(cb.n, 0);
}

/* ---- the table's cap ---- */

static const struct sip_msg *request_n(char *buf, size_t len, const char *method, unsigned i)
{
	char branch[32];

	snprintf(branch, sizeof(branch), "z9hG4bKcap%u", i);
	request(buf, len, method, branch, "UDP", 1, NULL);
	return parse(buf, SIP_TP_UDP);
}

/* A full table refuses new transactions of both kinds with EAGAIN, and
 * takes them again as soon as one has ended. */
static void test_cap_refuses_then_recovers(void **state)
{
	struct fixture *f = *state;
	struct tsx_timers tm = { T1, T2, T4, 20 };
	struct tsx_layer *l;
	struct tsx *x, *first = NULL;
	struct calls end = {0};
	char req[512], resp[512];

	assert_int_equal(tsx_layer_alloc(&l, f->base, f->t, &tm), 0);
	assert_int_equal(tsx_layer_max(l), 20);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(tsx_server_alloc(&x, l, request_n(req, sizeof(req), "BYE", i), &f->far_peer), 0);
		if (!first)
			first = x;
	}
	assert_int_equal(tsx_server_alloc(&x, l, request_n(req, sizeof(req), "BYE", 20), &f->far_peer), EAGAIN);
	request_n(req, sizeof(req), "OPTIONS", 21);
	assert_int_equal(tsx_client_send(&x, l, req, strlen(req), &f->far_peer, NULL, NULL), EAGAIN);
	assert_int_equal(tsx_layer_count(l), 20);

	/* The answered BYE ends after Timer J (the unanswered ones about
	 * then too): there is room again. */
	tsx_server_set_end_cb(first, record_end, &end);
	response(resp, sizeof(resp), 200, "z9hG4bKcap0", "UDP", "BYE");
	assert_int_equal(tsx_server_respond(first, 200, resp, strlen(resp)), 0);
	pump(f, f->far, 64 * T1 + 300, &end.n, 1);
	assert_int_equal(end.n, 1);
	pump(f, f->far, 5, NULL, 0);
	assert_true(tsx_layer_count(l) < 20);
	assert_int_equal(tsx_server_alloc(&x, l, request_n(req, sizeof(req), "BYE", 20), &f->far_peer), 0);
	tsx_layer_free(l);
}

/* An ended call leaves three transactions for 64*T1 (the caller's INVITE,
 * Accepted; the callee's INVITE, Accepted; the BYE we answered) and one
 * for T4 (the BYE we sent). A table sized for a call rate must hold that
 * for the whole of those timers, or calls fail long before the CPU is
 * busy. With the RFC timers that is 101 transactions per call/s. */
static void test_cap_holds_what_a_call_rate_leaves(void **state)
{
	const unsigned rates[] = { 1, 20, 1000, 2500, 4000, 9000 };

	(void)state;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		unsigned cap = tsx_cap_for_call_rate(rates[i], NULL);

		assert_true(cap >= SIP_MAX_TRANSACTIONS);
		assert_true((uint64_t)cap >= (uint64_t)rates[i] * (3u * 64u * 500u + 5000u) / 1000u);
	}
	/* Scaled timers scale the need. */
	{
		struct tsx_timers tm = { 1000u, 0, 10000u, 0 };

		assert_true(tsx_cap_for_call_rate(1000, &tm) >= 1000u * (3u * 64u * 1u + 10u));
	}
	/* A rate no signalling thread reaches is held to the ceiling. */
	assert_int_equal(tsx_cap_for_call_rate(100000, NULL), SIP_MAX_TRANSACTIONS_CEIL);
}

/* The real thing at 1,000 calls/s: 101,000 transactions, past the old fixed
 * cap of 100,000, all fit in a layer sized for that rate, as the daemon
 * sizes it: created with the default cap, then set from the call rate. */
static void test_cap_sized_layer_holds_them(void **state)
{
	struct fixture *f = *state;
	struct tsx_layer *l;
	struct tsx *x;
	char req[512];
	const unsigned want = 1000u * (3u * 64u * 500u + 5000u) / 1000u;

	assert_int_equal(tsx_layer_alloc(&l, f->base, f->t, NULL), 0);
	assert_int_equal(tsx_layer_max(l), SIP_MAX_TRANSACTIONS);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(tsx_server_alloc(&x, l, request_n(req, sizeof(req), "BYE", i), &f->far_peer), 0);
	assert_int_equal(tsx_layer_set_max(l, tsx_cap_for_call_rate(1000, NULL)), 0);
	assert_true(tsx_layer_max(l) >= want);
	/* Those already there are still found after the table grew. */
	for (unsigned i = 0; i < 50; i++)
		assert_true(tsx_server_absorb(l, request_n(req, sizeof(req), "BYE", i), &f->far_peer));
	for (unsigned i = 50; i < want; i++)
		assert_int_equal(tsx_server_alloc(&x, l, request_n(req, sizeof(req), "BYE", i), &f->far_peer), 0);
	assert_int_equal(tsx_layer_count(l), want);
	/* Lookups still find each one (the hash grew with the cap). */
	assert_true(tsx_server_absorb(l, request_n(req, sizeof(req), "BYE", want / 2), &f->far_peer));
	assert_false(tsx_server_absorb(l, request_n(req, sizeof(req), "BYE", want), &f->far_peer));
	/* A lower cap keeps what lives and refuses what is new. */
	assert_int_equal(tsx_layer_set_max(l, 20), 0);
	assert_int_equal(tsx_layer_count(l), want);
	assert_true(tsx_server_absorb(l, request_n(req, sizeof(req), "BYE", 7), &f->far_peer));
	assert_int_equal(tsx_server_alloc(&x, l, request_n(req, sizeof(req), "BYE", want), &f->far_peer), EAGAIN);
	tsx_layer_free(l);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_server_absorbs_retransmissions),
		T(test_server_refuses_unusable_via),
		T(test_server_invite_timer_g_h),
		T(test_ack_matching),
		T(test_server_invite_2xx_accepted),
		T(test_server_unanswered_expires),
		T(test_client_timer_e_f),
		T(test_client_response_stops_retransmits),
		T(test_client_invite_acks_failure),
		T(test_reliable_skips_retransmissions),
		T(test_layer_free_with_live_transactions),
		T(test_cap_refuses_then_recovers),
		T(test_cap_holds_what_a_call_rate_leaves),
		T(test_cap_sized_layer_holds_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
