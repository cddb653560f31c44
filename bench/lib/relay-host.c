/* relay-host: Ringfence's media relay (src/media/relay.c) alone in a
 * process, driven through a FIFO, so bench/relay.sh can measure the media
 * path without SIP. Commands, one per line:
 *   alloc N MODE A_IP A_BASE B_IP B_BASE STREAMS_FILE DONE_FILE
 *       open N sessions; leg A's peer is A_IP:A_BASE+2i, leg B's is
 *       B_IP:B_BASE+2i; write the harness's streams file, then DONE_FILE.
 *       MODE rtp: plain RTP on both legs. MODE srtp: leg A (the caller) is
 *       SRTP with AES_CM_128_HMAC_SHA1_80 and leg B plain RTP, as in the
 *       harness's rtpengine run. Both keys of leg A come from
 *       media_srtp_generate, one for what the caller sends and one for what
 *       the relay sends to it, and the streams file hands them to the
 *       generator, which then encrypts and decrypts like a real phone.
 *   free DONE_FILE
 *       close every session; DONE_FILE once the relay has closed them all
 * DONE_FILE holds "ok" or "error: ...". SIGTERM or SIGINT ends it.
 *
 *   relay-host RELAY_IP PORT_MIN PORT_MAX FIFO */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "media/relay.h"
#include "media/srtp.h"

/* "AES_CM_128_HMAC_SHA1_80:" and the base64 of a 46-byte key, with room. */
#define KEY_SPEC_MAX 128

struct host {
	struct event_base *base;
	struct relay *r;
	struct in_addr relay_ip;
	uint32_t *ids;
	unsigned nids, cap;
	unsigned closing;        /* closes not yet confirmed */
	char free_done[512];     /* pending "free" answer */
	char line[1024];
	size_t linelen;
};

static void answer(const char *path, const char *msg)
{
	char tmp[600];
	FILE *f;

	/* Written aside and renamed, so the waiting script never reads half. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", msg);
	fclose(f);
	rename(tmp, path);
}

static void on_relay(void *arg, const struct relay_event *ev)
{
	struct host *h = arg;

	if (ev->kind != RELAY_EV_CLOSED || h->closing == 0)
		return;
	if (--h->closing == 0 && h->free_done[0]) {
		answer(h->free_done, "ok");
		h->free_done[0] = '\0';
	}
}

/* The generator's key format, SUITE:BASE64, cut out of the SDP line
 * "a=crypto:1 SUITE inline:BASE64" so the key is formatted in one place.
 * The buffers that held the key are wiped. Returns 0 or EINVAL. */
static int key_spec(const struct relay_crypto *c, char *out, size_t outlen)
{
	char line[MEDIA_SRTP_LINE_MAX];
	const char *suite = media_srtp_suite_name(c->suite);
	const char *b64;
	int err = EINVAL;

	if (suite && media_srtp_crypto_line(c, 1, line, sizeof(line)) > 0) {
		b64 = strstr(line, "inline:");
		if (b64 && (size_t)snprintf(out, outlen, "%s:%s", suite, b64 + 7) < outlen)
			err = 0;
	}
	explicit_bzero(line, sizeof(line));
	if (err)
		explicit_bzero(out, outlen);
	return err;
}

static int sin_of(const char *ip, unsigned port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 && port > 0 && port < 65535 ? 0 : EINVAL;
}

/* A burst of thousands of commands can outrun the relay thread when both
 * share one core: wait for it instead of failing. */
static bool again(int err, unsigned *tries)
{
	if (err != ENOBUFS || ++*tries > 5000)
		return false;
	usleep(200);
	return true;
}

static int set_crypto_a(struct host *h, uint32_t id, const struct relay_crypto *from_phone,
			const struct relay_crypto *to_phone)
{
	unsigned tries = 0;
	int err;

	do
		err = relay_set_crypto(h->r, id, RELAY_LEG_A, from_phone, to_phone);
	while (again(err, &tries));
	return err;
}

/* Leg A speaks SRTP: fresh keys for each direction, installed in the relay
 * and written as the caller's tx (what it encrypts with) and rx (what it
 * decrypts with) key specs. */
static int srtp_leg_a(struct host *h, uint32_t id, char *a_tx, char *a_rx, size_t speclen)
{
	struct relay_crypto from_phone, to_phone;
	int err;

	err = media_srtp_generate(&from_phone, RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	if (!err)
		err = media_srtp_generate(&to_phone, RELAY_SRTP_AES_CM_128_HMAC_SHA1_80);
	if (!err)
		err = key_spec(&from_phone, a_tx, speclen);
	if (!err)
		err = key_spec(&to_phone, a_rx, speclen);
	if (!err)
		err = set_crypto_a(h, id, &from_phone, &to_phone);
	media_srtp_wipe(&from_phone);
	media_srtp_wipe(&to_phone);
	return err;
}

static int alloc_one(struct host *h, unsigned i, bool srtp, const struct sockaddr_in *a,
		     const struct sockaddr_in *b, FILE *out)
{
	char aip[INET_ADDRSTRLEN], bip[INET_ADDRSTRLEN], rip[INET_ADDRSTRLEN];
	char a_tx[KEY_SPEC_MAX] = "-", a_rx[KEY_SPEC_MAX] = "-";
	uint16_t port[2];
	uint32_t id;
	unsigned tries = 0;
	int err;

	do
		err = relay_open(h->r, &id, port);
	while (again(err, &tries));
	if (err)
		return err;
	h->ids[h->nids++] = id;
	do
		err = relay_set_peer(h->r, id, RELAY_LEG_A, (const struct sockaddr *)a, false, false, NULL);
	while (again(err, &tries));
	do
		err = err ? err : relay_set_peer(h->r, id, RELAY_LEG_B, (const struct sockaddr *)b,
						 false, false, NULL);
	while (again(err, &tries));
	if (!err && srtp)
		err = srtp_leg_a(h, id, a_tx, a_rx, sizeof(a_tx));
	if (!err) {
		inet_ntop(AF_INET, &a->sin_addr, aip, sizeof(aip));
		inet_ntop(AF_INET, &b->sin_addr, bip, sizeof(bip));
		inet_ntop(AF_INET, &h->relay_ip, rip, sizeof(rip));
		fprintf(out, "%u %s %u %s %u %s %u %s %u %s %s - -\n", i, aip, ntohs(a->sin_port),
			bip, ntohs(b->sin_port), rip, port[0], rip, port[1], a_tx, a_rx);
	}
	explicit_bzero(a_tx, sizeof(a_tx));
	explicit_bzero(a_rx, sizeof(a_rx));
	return err;
}

static void cmd_alloc(struct host *h, const char *args)
{
	char mode[8], aip[64], bip[64], file[512], done[512], msg[128];
	unsigned n, abase, bbase, i;
	struct sockaddr_in a, b;
	bool srtp;
	FILE *out;
	int err = 0;

	if (sscanf(args, "%u %7s %63s %u %63s %u %511s %511s", &n, mode, aip, &abase, bip, &bbase,
		   file, done) != 8)
		return;
	srtp = strcmp(mode, "srtp") == 0;
	if (!srtp && strcmp(mode, "rtp") != 0) {
		answer(done, "error: mode must be rtp or srtp");
		return;
	}
	if (h->nids + n > h->cap) {
		answer(done, "error: more sessions than the port range holds");
		return;
	}
	out = fopen(file, "w");
	if (!out) {
		answer(done, "error: cannot write the streams file");
		return;
	}
	fprintf(out, "# idx a_ip a_port b_ip b_port ra_ip ra_port rb_ip rb_port a_tx a_rx b_tx b_rx\n");
	for (i = 0; i < n && !err; i++) {
		err = sin_of(aip, abase + 2 * i, &a);
		if (!err)
			err = sin_of(bip, bbase + 2 * i, &b);
		if (!err)
			err = alloc_one(h, i, srtp, &a, &b, out);
	}
	fclose(out);
	if (err) {
		snprintf(msg, sizeof(msg), "error: stream %u: %s", i - 1, strerror(err));
		answer(done, msg);
	} else {
		answer(done, "ok");
	}
}

static void cmd_free(struct host *h, const char *args)
{
	unsigned i;

	snprintf(h->free_done, sizeof(h->free_done), "%s", args);
	h->closing += h->nids;
	for (i = 0; i < h->nids; i++)
		relay_close(h->r, h->ids[i]);
	h->nids = 0;
	if (h->closing == 0) {
		answer(h->free_done, "ok");
		h->free_done[0] = '\0';
	}
}

static void run_line(struct host *h, char *line)
{
	if (strncmp(line, "alloc ", 6) == 0)
		cmd_alloc(h, line + 6);
	else if (strncmp(line, "free ", 5) == 0)
		cmd_free(h, line + 5);
	else
		fprintf(stderr, "relay-host: unknown command\n");
}

static void on_fifo(evutil_socket_t fd, short what, void *arg)
{
	struct host *h = arg;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	ssize_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			h->line[h->linelen] = '\0';
			run_line(h, h->line);
			h->linelen = 0;
		} else if (h->linelen + 1 < sizeof(h->line)) {
			h->line[h->linelen++] = buf[i];
		}
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct host h = { 0 };
	struct relay_config cfg = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg.bind_addr;
	struct event *fifo_ev, *term_ev, *int_ev;
	int fd, err;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &h.relay_ip) != 1) {
		fprintf(stderr, "usage: relay-host RELAY_IP PORT_MIN PORT_MAX FIFO\n");
		return 2;
	}
	sin->sin_family = AF_INET;
	sin->sin_addr = h.relay_ip;
	cfg.bind_len = sizeof(*sin);
	cfg.port_min = (uint16_t)strtoul(argv[2], NULL, 10);
	cfg.port_max = (uint16_t)strtoul(argv[3], NULL, 10);
	cfg.no_media_timeout_s = 60;
	h.cap = ((unsigned)cfg.port_max - cfg.port_min + 1) / 4;
	h.ids = calloc(h.cap, sizeof(*h.ids));
	h.base = event_base_new();
	if (!h.ids || !h.base)
		return 1;
	err = relay_alloc(&h.r, h.base, &cfg, on_relay, &h);
	if (err) {
		fprintf(stderr, "relay-host: relay_alloc: %s\n", strerror(err));
		return 1;
	}
	fd = open(argv[4], O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "relay-host: cannot open %s\n", argv[4]);
		return 1;
	}
	fifo_ev = event_new(h.base, fd, EV_READ | EV_PERSIST, on_fifo, &h);
	term_ev = evsignal_new(h.base, SIGTERM, on_signal, h.base);
	int_ev = evsignal_new(h.base, SIGINT, on_signal, h.base);
	event_add(fifo_ev, NULL);
	event_add(term_ev, NULL);
	event_add(int_ev, NULL);
	/* Which SRTP back end the relay uses: Debian's NSS one costs more per
	 * packet the more sessions are live, so the figures depend on it. */
	fprintf(stderr, "relay-host: ready, %u sessions, srtp crypto %s\n", h.cap,
		media_srtp_openssl_crypto() ? "openssl" : "nss");
	event_base_dispatch(h.base);
	relay_free(h.r);
	event_free(fifo_ev);
	event_free(term_ev);
	event_free(int_ev);
	event_base_free(h.base);
	close(fd);
	free(h.ids);
	return 0;
}
