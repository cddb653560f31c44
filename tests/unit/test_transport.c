/* Transports against real sockets on 127.0.0.1 and ::1: each test runs the
 * libevent loop in-process and talks to the listeners with plain sockets
 * (and an OpenSSL client for TLS). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/conf.h"
#include "core/limits.h"
#include "core/tlscert.h"
#include "sip/transport.h"

#define MAX_RX 16

static const char OPTIONS_MSG[] =
	"OPTIONS sip:ringfence@example.test SIP/2.0\r\n"
	"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-t1\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:probe@example.test>;tag=1\r\n"
	"To: <sip:ringfence@example.test>\r\n"
	"Call-ID: a1@test\r\n"
	"CSeq: 1 OPTIONS\r\n"
	"Content-Length: 5\r\n"
	"\r\n"
	"hello";

static const char REPLY_MSG[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-t1\r\n"
	"Content-Length: 0\r\n\r\n";

struct fixture {
	struct event_base *base;
	struct transport *t;
	struct rf_conf conf;
	char dir[64];
	char msgs[MAX_RX][512];
	size_t lens[MAX_RX];
	struct sip_peer peers[MAX_RX];
	unsigned nrx;
	unsigned nclosed;
	uint64_t last_closed;
	bool reply; /* answer every message with REPLY_MSG */
};

static void on_rx(void *arg, const char *buf, size_t len,
		  const struct sip_peer *src)
{
	struct fixture *f = arg;

	if (f->nrx < MAX_RX) {
		size_t n = len < sizeof(f->msgs[0]) ? len : sizeof(f->msgs[0]) - 1;

		memcpy(f->msgs[f->nrx], buf, n);
		f->msgs[f->nrx][n] = '\0';
		f->lens[f->nrx] = len;
		f->peers[f->nrx] = *src;
	}
	f->nrx++;
	if (f->reply)
		assert_int_equal(transport_send(f->t, src, REPLY_MSG,
						sizeof(REPLY_MSG) - 1), 0);
}

static void on_close(void *arg, uint64_t conn_id)
{
	struct fixture *f = arg;

	f->nclosed++;
	f->last_closed = conn_id;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the loop until cond(arg) holds or ms pass. Returns cond's last value. */
static bool pump(struct fixture *f, bool (*cond)(struct fixture *, void *),
		 void *arg, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		if (cond && cond(f, arg))
			return true;
		if (now_ms() >= end)
			return false;
		poll(NULL, 0, 1);
	}
}

static bool got_rx(struct fixture *f, void *arg)
{
	return f->nrx >= *(unsigned *)arg;
}

static bool got_closed(struct fixture *f, void *arg)
{
	return f->nclosed >= *(unsigned *)arg;
}

static unsigned free_port(int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type, 0);
	unsigned port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void make_cert(const char *dir, const char *name, char *cert,
		      char *key, size_t len)
{
	char err[256];

	snprintf(cert, len, "%s/%s.crt", dir, name);
	snprintf(key, len, "%s/%s.key", dir, name);
	assert_int_equal(tlscert_generate(cert, key, "127.0.0.1", 1, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rf-transport-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	make_cert(f->dir, "srv", f->conf.tls_cert, f->conf.tls_key,
		  sizeof(f->conf.tls_cert));
	snprintf(f->conf.listen[0], sizeof(f->conf.listen[0]), "127.0.0.1");
	snprintf(f->conf.listen[1], sizeof(f->conf.listen[1]), "::1");
	f->conf.nlisten = 2;
	f->conf.port = 0; /* ephemeral; asked back with transport_local_addr */
	f->conf.udp = f->conf.tcp = f->conf.tls = true;

	f->base = event_base_new();
	assert_non_null(f->base);
	/* tls_port 0 means "no TLS", so TLS needs a real port: one below the
	 * kernel's ephemeral range, retried if another process holds it. */
	for (unsigned attempt = 0;; attempt++) {
		int e;

		f->conf.tls_port = 20000u + (unsigned)(now_ms() * 7919u + attempt * 104729u) % 10000u;
		e = transport_alloc(&f->t, f->base, &f->conf, on_rx, f, err, sizeof(err));
		if (e == 0)
			break;
		if (e != EADDRINUSE || attempt == 20) {
			print_error("transport_alloc: %s\n", err);
			return -1;
		}
	}
	transport_set_close_cb(f->t, on_close, f);
	*state = f;
	return 0;
}

static void rm_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	transport_free(f->t);
	event_base_free(f->base);
	rm_dir(f->dir);
	free(f);
	return 0;
}

static int client_socket(struct fixture *f, enum sip_transport tp, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	assert_int_equal(transport_local_addr(f->t, tp, family, &ss, &len), 0);
	fd = socket(family, tp == SIP_TP_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

struct reader {
	int fd;
	char buf[4096];
	size_t len;
	bool eof;
};

static bool read_some(struct fixture *f, void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	(void)f;
	n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, 0);
	if (n > 0) {
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
		return true;
	}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		r->eof = true;
		return true;
	}
	return false;
}

static bool read_eof(struct fixture *f, void *arg)
{
	struct reader *r = arg;

	read_some(f, arg);
	if (r->len >= sizeof(r->buf) - 1)
		r->len = 0;
	return r->eof;
}

static void send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* ---- UDP ---- */

static void udp_round_trip(struct fixture *f, int family)
{
	struct reader r = { .fd = client_socket(f, SIP_TP_UDP, family) };
	unsigned want = 1;

	f->reply = true;
	/* Keep-alives are swallowed: neither counts as a message. */
	send_all(r.fd, "\r\n\r\n", 4);
	send_all(r.fd, "\0\0\0\0", 4);
	send_all(r.fd, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1);
	assert_true(pump(f, got_rx, &want, 2000));
	assert_true(pump(f, read_some, &r, 2000));
	assert_int_equal(f->nrx, 1);
	assert_int_equal(f->lens[0], sizeof(OPTIONS_MSG) - 1);
	assert_string_equal(f->msgs[0], OPTIONS_MSG);
	assert_int_equal(f->peers[0].tp, SIP_TP_UDP);
	assert_int_equal(f->peers[0].conn_id, 0);
	assert_int_equal(f->peers[0].addr.ss_family, family);
	assert_string_equal(r.buf, REPLY_MSG);

	/* A peer naming a socket that is not ours still gets its reply, from
	 * one of ours of the right family. */
	{
		struct sip_peer p = f->peers[0];

		p.sock = 0;
		r.len = 0;
		assert_int_equal(transport_send(f->t, &p, REPLY_MSG, sizeof(REPLY_MSG) - 1), 0);
		assert_true(pump(f, read_some, &r, 2000));
		assert_string_equal(r.buf, REPLY_MSG);
	}
	close(r.fd);
}

static void test_udp_v4(void **state)
{
	udp_round_trip(*state, AF_INET);
}

static void test_udp_v6(void **state)
{
	udp_round_trip(*state, AF_INET6);
}

/* An oversized datagram is dropped, not truncated and delivered. */
static void test_udp_large_datagram(void **state)
{
	struct fixture *f = *state;
	int fd = client_socket(f, SIP_TP_UDP, AF_INET);
	size_t big = SIP_MAX_MSG_SIZE + 1;
	char *junk = malloc(big);
	unsigned want = 2;

	assert_non_null(junk);
	memset(junk, 'A', big);
	/* The loopback MTU allows 65507 bytes of UDP payload; if the kernel
	 * refuses, there is nothing to test on this host. */
	if (send(fd, junk, 65507, 0) == 65507) {
		send_all(fd, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1);
		pump(f, got_rx, &want, 300);
		/* 65507 is below the cap: delivered. The cap itself is checked
		 * through MSG_TRUNC, which loopback cannot exceed. */
		assert_int_equal(f->nrx, 2);
		assert_int_equal(f->lens[0], 65507);
	}
	free(junk);
	close(fd);
}

/* ---- TCP ---- */

static void test_tcp_split_and_pipelined(void **state)
{
	struct fixture *f = *state;
	struct reader r = { .fd = client_socket(f, SIP_TP_TCP, AF_INET6) };
	size_t half = 40, n = sizeof(OPTIONS_MSG) - 1;
	char two[2 * sizeof(OPTIONS_MSG)];
	unsigned want;

	f->reply = true;
	send_all(r.fd, OPTIONS_MSG, half);
	pump(f, NULL, NULL, 50);
	assert_int_equal(f->nrx, 0);
	send_all(r.fd, OPTIONS_MSG + half, n - half);
	want = 1;
	assert_true(pump(f, got_rx, &want, 2000));
	assert_string_equal(f->msgs[0], OPTIONS_MSG);
	assert_int_equal(f->peers[0].tp, SIP_TP_TCP);
	assert_true(f->peers[0].conn_id != 0);

	/* Two messages in one write, preceded by a stray CRLF (RFC 3261 7.5). */
	memcpy(two, "\r\n", 2);
	memcpy(two + 2, OPTIONS_MSG, n);
	memcpy(two + 2 + n, OPTIONS_MSG, n);
	send_all(r.fd, two, 2 + 2 * n);
	want = 3;
	assert_true(pump(f, got_rx, &want, 2000));
	assert_int_equal(f->nrx, 3);
	assert_string_equal(f->msgs[1], OPTIONS_MSG);
	assert_string_equal(f->msgs[2], OPTIONS_MSG);
	assert_int_equal(f->peers[2].conn_id, f->peers[0].conn_id);

	/* Three replies on the same connection. */
	while (r.len < 3 * (sizeof(REPLY_MSG) - 1) && pump(f, read_some, &r, 2000))
		;
	assert_int_equal(r.len, 3 * (sizeof(REPLY_MSG) - 1));

	/* RFC 5626 ping: double CRLF is answered with one CRLF. */
	r.len = 0;
	send_all(r.fd, "\r\n\r\n", 4);
	assert_true(pump(f, read_some, &r, 2000));
	assert_int_equal(r.len, 2);
	assert_memory_equal(r.buf, "\r\n", 2);
	assert_int_equal(f->nrx, 3);
	assert_int_equal(transport_conn_count(f->t), 1);
	close(r.fd);
}

static void expect_disconnect(struct fixture *f, const void *buf, size_t len)
{
	struct reader r = { .fd = client_socket(f, SIP_TP_TCP, AF_INET) };
	unsigned want = f->nclosed + 1;

	(void)send(r.fd, buf, len, MSG_NOSIGNAL);
	assert_true(pump(f, read_eof, &r, 3000));
	assert_true(pump(f, got_closed, &want, 1000));
	assert_int_equal(f->nrx, 0);
	assert_int_equal(transport_conn_count(f->t), 0);
	close(r.fd);
}

static void test_tcp_oversize_disconnected(void **state)
{
	struct fixture *f = *state;
	size_t len = SIP_MAX_STREAM_BUFFER + 4096;
	char *junk = malloc(len);

	assert_non_null(junk);
	/* A header section that never ends. */
	memcpy(junk, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	memset(junk + 26, 'a', len - 26);
	expect_disconnect(f, junk, len);
	free(junk);
}

static void test_tcp_garbage_disconnected(void **state)
{
	static const char nolen[] =
		"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\n\r\n";
	static const char twolen[] =
		"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\nl: 4\r\n\r\n";

	/* Stream framing needs Content-Length, exactly once. */
	expect_disconnect(*state, nolen, sizeof(nolen) - 1);
	expect_disconnect(*state, twolen, sizeof(twolen) - 1);
}

static void test_send_to_closed_connection(void **state)
{
	struct fixture *f = *state;
	int fd = client_socket(f, SIP_TP_TCP, AF_INET);
	int fd2 = client_socket(f, SIP_TP_TCP, AF_INET);
	struct sip_peer gone, mine;
	unsigned want = 2;

	send_all(fd, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1);
	send_all(fd2, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1);
	assert_true(pump(f, got_rx, &want, 2000));
	gone = f->peers[0];
	mine = f->peers[1];
	assert_true(gone.conn_id != mine.conn_id);

	/* The peer hangs up. */
	close(fd);
	want = 1;
	assert_true(pump(f, got_closed, &want, 2000));
	assert_true(f->last_closed == gone.conn_id);
	assert_int_equal(transport_send(f->t, &gone, REPLY_MSG, sizeof(REPLY_MSG) - 1), ENOTCONN);

	/* We close the other one. */
	assert_int_equal(transport_send(f->t, &mine, REPLY_MSG, sizeof(REPLY_MSG) - 1), 0);
	assert_int_equal(transport_conn_close(f->t, mine.conn_id), 0);
	assert_int_equal(f->nclosed, 2);
	assert_int_equal(transport_conn_close(f->t, mine.conn_id), ENOTCONN);
	assert_int_equal(transport_send(f->t, &mine, REPLY_MSG, sizeof(REPLY_MSG) - 1), ENOTCONN);
	assert_int_equal(transport_conn_count(f->t), 0);
	close(fd2);
}

/* A connection that never completes a TLS handshake, or never sends a
 * message, loses its slot after SIP_STREAM_HANDSHAKE_TIMEOUT_S. */
static void test_stalled_connections_closed(void **state)
{
	struct fixture *f = *state;
	struct reader tcp = { .fd = client_socket(f, SIP_TP_TCP, AF_INET) };
	struct reader tls = { .fd = client_socket(f, SIP_TP_TLS, AF_INET6) };
	uint64_t start = now_ms();
	unsigned want = 2;

	/* Half a header for TCP, the first bytes of a ClientHello for TLS. */
	send_all(tcp.fd, "OPTIONS sip:x SIP/2.0\r\n", 23);
	send_all(tls.fd, "\x16\x03\x01", 3);
	pump(f, NULL, NULL, 200);
	assert_int_equal(transport_conn_count(f->t), 2);
	assert_true(pump(f, got_closed, &want, (SIP_STREAM_HANDSHAKE_TIMEOUT_S + 3) * 1000));
	assert_true(now_ms() - start >= SIP_STREAM_HANDSHAKE_TIMEOUT_S * 1000 - 100);
	assert_true(pump(f, read_eof, &tcp, 1000));
	assert_true(pump(f, read_eof, &tls, 1000));
	assert_int_equal(transport_conn_count(f->t), 0);
	assert_int_equal(f->nrx, 0);
	close(tcp.fd);
	close(tls.fd);
}

/* After a complete message, a trickled partial one still has to finish
 * within SIP_STREAM_MESSAGE_TIMEOUT_S even though bytes keep coming. */
static void test_trickled_message_closed(void **state)
{
	struct fixture *f = *state;
	struct reader r = { .fd = client_socket(f, SIP_TP_TCP, AF_INET) };
	unsigned want = 1, sent = 0;
	uint64_t start, limit = SIP_STREAM_MESSAGE_TIMEOUT_S * 1000u;

	send_all(r.fd, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1);
	assert_true(pump(f, got_rx, &want, 2000));
	start = now_ms();
	while (f->nclosed == 0 && now_ms() - start < limit + 3000) {
		/* One byte of a header every 300 ms. */
		if (sent < sizeof(OPTIONS_MSG) - 20)
			(void)send(r.fd, OPTIONS_MSG + sent++, 1, MSG_NOSIGNAL);
		pump(f, got_closed, &want, 300);
	}
	assert_int_equal(f->nclosed, 1);
	assert_true(now_ms() - start >= limit - 100);
	assert_int_equal(f->nrx, 1);
	close(r.fd);
}

/* The idle timeout can be changed per connection; idle flows close. */
static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	struct reader r = { .fd = client_socket(f, SIP_TP_TCP, AF_INET) };
	unsigned want = 1;
	uint64_t start;

	send_all(r.fd, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1);
	assert_true(pump(f, got_rx, &want, 2000));
	assert_int_equal(transport_conn_set_idle(f->t, f->peers[0].conn_id, 1), 0);
	assert_int_equal(transport_conn_set_idle(f->t, f->peers[0].conn_id + 1000, 1), ENOTCONN);
	start = now_ms();
	assert_true(pump(f, got_closed, &want, 3000));
	assert_true(now_ms() - start >= 900);
	assert_true(f->last_closed == f->peers[0].conn_id);
	assert_true(pump(f, read_eof, &r, 1000));
	close(r.fd);
}

/* ---- TLS ---- */

struct tls_client {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	char buf[1024];
	size_t len;
};

static bool tls_handshaken(struct fixture *f, void *arg)
{
	struct tls_client *c = arg;
	int r = SSL_connect(c->ssl);

	(void)f;
	if (r == 1)
		return true;
	r = SSL_get_error(c->ssl, r);
	assert_true(r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE);
	return false;
}

static bool tls_read(struct fixture *f, void *arg)
{
	struct tls_client *c = arg;
	int r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - 1 - c->len));

	(void)f;
	if (r > 0) {
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		return true;
	}
	return false;
}

static void test_tls_round_trip(void **state)
{
	struct fixture *f = *state;
	struct tls_client c = { .fd = client_socket(f, SIP_TP_TLS, AF_INET) };
	unsigned want = 1;

	f->reply = true;
	c.ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c.ctx);
	assert_int_equal(SSL_CTX_load_verify_file(c.ctx, f->conf.tls_cert), 1);
	SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
	c.ssl = SSL_new(c.ctx);
	SSL_set_fd(c.ssl, c.fd);
	assert_int_equal(SSL_set1_host(c.ssl, "127.0.0.1"), 1);
	assert_true(pump(f, tls_handshaken, &c, 3000));
	assert_true(SSL_version(c.ssl) >= TLS1_2_VERSION);
	assert_int_equal(SSL_get_verify_result(c.ssl), X509_V_OK);

	assert_int_equal(SSL_write(c.ssl, OPTIONS_MSG, sizeof(OPTIONS_MSG) - 1),
			 (int)sizeof(OPTIONS_MSG) - 1);
	assert_true(pump(f, got_rx, &want, 2000));
	assert_string_equal(f->msgs[0], OPTIONS_MSG);
	assert_int_equal(f->peers[0].tp, SIP_TP_TLS);
	assert_true(pump(f, tls_read, &c, 2000));
	assert_string_equal(c.buf, REPLY_MSG);

	SSL_free(c.ssl);
	SSL_CTX_free(c.ctx);
	close(c.fd);
	want = 1;
	assert_true(pump(f, got_closed, &want, 2000));
}

/* TLS 1.1 and older are refused. */
static void test_tls_old_version_refused(void **state)
{
	struct fixture *f = *state;
	struct tls_client c = { .fd = client_socket(f, SIP_TP_TLS, AF_INET) };
	uint64_t end = now_ms() + 2000;
	bool connected = false, failed = false;

	c.ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c.ctx);
	SSL_CTX_set_security_level(c.ctx, 0);
	SSL_CTX_set_min_proto_version(c.ctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(c.ctx, TLS1_1_VERSION);
	SSL_CTX_set_cipher_list(c.ctx, "ALL:@SECLEVEL=0");
	c.ssl = SSL_new(c.ctx);
	SSL_set_fd(c.ssl, c.fd);
	while (!connected && !failed && now_ms() < end) {
		int r;

		event_base_loop(f->base, EVLOOP_NONBLOCK);
		r = SSL_connect(c.ssl);
		if (r == 1) {
			connected = true;
		} else {
			r = SSL_get_error(c.ssl, r);
			failed = r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE;
		}
		poll(NULL, 0, 1);
	}
	assert_false(connected);
	assert_true(failed);
	SSL_free(c.ssl);
	SSL_CTX_free(c.ctx);
	close(c.fd);
	ERR_clear_error();
}

static void test_tls_bad_key_material(void **state)
{
	struct fixture *f = *state;
	struct rf_conf c = f->conf;
	struct transport *t = NULL;
	char other_cert[CONF_PATH_MAX], other_key[CONF_PATH_MAX], err[1200];

	c.udp = c.tcp = false;
	c.tls_port = free_port(SOCK_STREAM);
	make_cert(f->dir, "other", other_cert, other_key, sizeof(other_cert));

	snprintf(c.tls_key, sizeof(c.tls_key), "%s", other_key);
	assert_int_equal(transport_alloc(&t, f->base, &c, on_rx, f, err, sizeof(err)), EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, "does not match"));

	snprintf(c.tls_key, sizeof(c.tls_key), "%s/missing.key", f->dir);
	assert_int_equal(transport_alloc(&t, f->base, &c, on_rx, f, err, sizeof(err)), ENOENT);
	assert_non_null(strstr(err, "missing.key"));

	/* A certificate where the key should be. */
	snprintf(c.tls_key, sizeof(c.tls_key), "%s", other_cert);
	assert_int_equal(transport_alloc(&t, f->base, &c, on_rx, f, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "private key"));
	assert_null(t);
}

/* ---- helpers ---- */

static void test_format(void **state)
{
	struct sip_peer p = { .tp = SIP_TP_UDP };
	struct sockaddr_in *in = (struct sockaddr_in *)&p.addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p.addr;
	char buf[64];

	(void)state;
	in->sin_family = AF_INET;
	in->sin_port = htons(5060);
	in->sin_addr.s_addr = htonl(0xC0000201);
	sip_peer_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1:5060");
	memset(&p.addr, 0, sizeof(p.addr));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(5061);
	in6->sin6_addr.s6_addr[15] = 1;
	sip_peer_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5061");
	assert_string_equal(transport_name(SIP_TP_UDP), "udp");
	assert_string_equal(transport_name(SIP_TP_TCP), "tcp");
	assert_string_equal(transport_name(SIP_TP_TLS), "tls");
}

static void test_bad_listen_address(void **state)
{
	struct fixture *f = *state;
	struct rf_conf c = f->conf;
	struct transport *t = NULL;
	char err[256];

	snprintf(c.listen[0], sizeof(c.listen[0]), "not-an-address");
	c.nlisten = 1;
	assert_int_equal(transport_alloc(&t, f->base, &c, on_rx, f, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "not-an-address"));
	assert_null(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		T(test_udp_v4),
		T(test_udp_v6),
		T(test_udp_large_datagram),
		T(test_tcp_split_and_pipelined),
		T(test_tcp_oversize_disconnected),
		T(test_tcp_garbage_disconnected),
		T(test_send_to_closed_connection),
		T(test_stalled_connections_closed),
		T(test_trickled_message_closed),
		T(test_idle_timeout),
		T(test_tls_round_trip),
		T(test_tls_old_version_refused),
		T(test_tls_bad_key_material),
		T(test_bad_listen_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
