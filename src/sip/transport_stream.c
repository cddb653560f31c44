/* TCP and TLS transports: listeners, connections and message framing.
 *
 * Every accepted connection gets a 64-bit id that is never reused and is
 * kept in a hash map keyed by that id, so a reply addressed by a sip_peer
 * finds its connection or learns that it is gone (ENOTCONN). Input is
 * framed with sip_frame() over at most SIP_MAX_STREAM_BUFFER bytes; a peer
 * that overflows that buffer or breaks framing is disconnected, since a
 * stream that lost its framing can never be trusted again. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "core/limits.h"
#include "core/log.h"
#include "guard/secevent.h"
#include "sip/msg.h"
#include "sip/transport.h"
#include "sip/transport_priv.h"

/* TLS 1.2 suites: forward secret (ECDHE) AEAD only. TLS 1.3 suites are
 * all acceptable and keep OpenSSL's defaults. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

#define LISTEN_BACKLOG 512
#define ACCEPT_RETRY_MS 1000

struct conn {
	struct conn *next;        /* hash chain */
	uint64_t id;
	struct transport *t;      /* borrowed */
	struct bufferevent *bev;  /* owns the socket and, for TLS, the SSL */
	struct event *deadline;   /* TLS handshake + first message, then each
				   * partly received message */
	enum sip_transport tp;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct conn_src *src;     /* its source's count; NULL when not counted */
	char *name;   /* outbound: the name it was opened for (SNI, reuse key); else NULL */
	bool outbound;  /* we connected (a trunk), not accepted */
	bool connected; /* outbound: TCP (and TLS handshake) up */
	bool in_rx;   /* inside the rx callback: freeing is deferred */
	bool dead;    /* closed; unlinked, waiting to be freed */
};

/* Open connections from one source address (IPv4-mapped IPv6 counted as
 * IPv4). Entries exist only while a source has a connection, so the table
 * is bounded by SIP_MAX_CONNECTIONS. */
struct conn_src {
	struct conn_src *next;
	uint8_t key[17]; /* family byte + address */
	uint8_t keylen;
	unsigned n;
};

static size_t src_key(const struct sockaddr *sa, uint8_t key[17])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET) {
		key[0] = AF_INET;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 5;
	}
	const uint8_t *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (memcmp(a6, v4mapped, 12) == 0) {
		key[0] = AF_INET;
		memcpy(key + 1, a6 + 12, 4);
		return 5;
	}
	key[0] = AF_INET6;
	memcpy(key + 1, a6, 16);
	return 17;
}

/* FNV-1a over a per-process seed: connecting from chosen addresses cannot
 * be made to pile into one chain. */
static unsigned src_bucket(const struct transport *t, const uint8_t *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->src_seed;

	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 0x100000001b3ull;
	}
	return (unsigned)((h ^ (h >> 29)) & (TRANSPORT_SRC_BUCKETS - 1u));
}

/* Count one more connection from sa. NULL when the source already holds
 * its limit (or memory is short): the caller closes the connection. */
static struct conn_src *src_acquire(struct transport *t, const struct sockaddr *sa)
{
	uint8_t key[17];
	size_t len;
	unsigned b;
	struct conn_src *s;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return NULL;
	if (t->src_seed == 0 &&
	    getrandom(&t->src_seed, sizeof(t->src_seed), 0) != sizeof(t->src_seed))
		t->src_seed = (uint64_t)(uintptr_t)t;
	len = src_key(sa, key);
	b = src_bucket(t, key, len);
	for (s = t->srcs[b]; s; s = s->next) {
		if (s->keylen == len && memcmp(s->key, key, len) == 0) {
			if (t->max_conns_per_src && s->n >= t->max_conns_per_src)
				return NULL;
			s->n++;
			return s;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->key, key, len);
	s->keylen = (uint8_t)len;
	s->n = 1;
	s->next = t->srcs[b];
	t->srcs[b] = s;
	return s;
}

static void src_release(struct transport *t, struct conn_src *s)
{
	struct conn_src **pp;

	if (!s || --s->n > 0)
		return;
	for (pp = &t->srcs[src_bucket(t, s->key, s->keylen)]; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			free(s);
			return;
		}
	}
}

static unsigned bucket_of(uint64_t id)
{
	return (unsigned)(id & (TRANSPORT_CONN_BUCKETS - 1u));
}

static struct conn *conn_find(const struct transport *t, uint64_t id)
{
	struct conn *c;

	for (c = t->conns[bucket_of(id)]; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_unlink(struct conn *c)
{
	struct conn **pp = &c->t->conns[bucket_of(c->id)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			c->t->nconns--;
			src_release(c->t, c->src);
			c->src = NULL;
			return;
		}
	}
}

static void conn_free(struct conn *c)
{
	if (c->deadline)
		event_free(c->deadline);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c->name);
	free(c);
}

/* Unlink now so sends fail with ENOTCONN at once; free now, or after the
 * rx loop when the close happens from inside the rx callback. */
static void conn_close(struct conn *c, const char *why)
{
	struct transport *t = c->t;
	uint64_t id = c->id;

	if (c->dead)
		return;
	c->dead = true;
	conn_unlink(c);
	if (log_threshold >= LOG_LVL_DEBUG) {
		char where[80];

		sockaddr_format((struct sockaddr *)&c->addr, where, sizeof(where));
		log_debug("%s connection %llu from %s closed: %s",
			  transport_name(c->tp), (unsigned long long)id,
			  where, why);
	}
	if (c->in_rx)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	else
		conn_free(c);
	if (!t->freeing && t->close_cb)
		t->close_cb(t->close_arg, id);
}

/* Leading CR/LF on a stream. RFC 5626 3.5.1: a double CRLF is a ping that
 * is answered with a single CRLF. RFC 3261 7.5: stray CRLF before a
 * start-line is ignored. Returns bytes to drop, or 0 to wait for more. */
static size_t crlf_prefix(struct conn *c, const unsigned char *p, size_t len)
{
	if (len >= 4 && memcmp(p, "\r\n\r\n", 4) == 0) {
		bufferevent_write(c->bev, "\r\n", 2);
		return 4;
	}
	if (p[0] == '\n')
		return 1;
	if (len >= 3 && p[1] == '\n')
		return 2;
	if (len >= 2 && p[1] != '\n')
		return 1;
	return 0; /* "\r" or "\r\n": may become a ping */
}

static void deliver(struct conn *c, const char *msg, size_t len)
{
	struct sip_peer peer;

	memset(&peer, 0, sizeof(peer));
	peer.tp = c->tp;
	memcpy(&peer.addr, &c->addr, sizeof(peer.addr));
	peer.addrlen = c->addrlen;
	peer.conn_id = c->id;
	peer.sock = -1;
	c->t->rx_cb(c->t->rx_arg, msg, len, &peer);
}

/* One framing step. Returns true when it consumed something and the loop
 * should go on. */
static bool frame_one(struct conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in), msglen = 0, skip;
	unsigned char *p;
	int r;

	if (len == 0)
		return false;
	p = evbuffer_pullup(in, -1);
	if (!p) {
		conn_close(c, "out of memory");
		return false;
	}
	if (p[0] == '\r' || p[0] == '\n') {
		skip = crlf_prefix(c, p, len);
		if (skip)
			event_del(c->deadline);
		evbuffer_drain(in, skip);
		return skip > 0;
	}
	r = sip_frame((const char *)p, len, &msglen);
	if (r == EAGAIN) {
		if (len >= SIP_MAX_STREAM_BUFFER)
			conn_close(c, "receive buffer overflow");
		return false;
	}
	if (r != 0 || msglen == 0 || msglen > len || msglen > SIP_MAX_MSG_SIZE) {
		conn_close(c, "framing error");
		return false;
	}
	event_del(c->deadline);
	deliver(c, (const char *)p, msglen);
	if (c->dead)
		return false;
	evbuffer_drain(in, msglen);
	return true;
}

static void conn_readable(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->in_rx = true;
	while (!c->dead && frame_one(c, in))
		;
	c->in_rx = false;
	if (c->dead) {
		conn_free(c);
		return;
	}
	/* Part of a message is waiting: it has a deadline, counted from the
	 * last complete message (or the handshake), not from each byte. */
	if (evbuffer_get_length(in) > 0 &&
	    !evtimer_pending(c->deadline, NULL)) {
		const struct timeval tv = { SIP_STREAM_MESSAGE_TIMEOUT_S, 0 };

		evtimer_add(c->deadline, &tv);
	}
}

static void client_event(struct conn *c, short what);
static void client_fail(struct conn *c, const char *reason, const char *detail);

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->outbound && (!c->connected || (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))) {
		client_event(c, what);
		return;
	}
	if (what & BEV_EVENT_CONNECTED)
		return; /* TLS handshake done; the deadline keeps running */
	if (what & BEV_EVENT_TIMEOUT)
		conn_close(c, "idle timeout");
	else if (what & BEV_EVENT_EOF)
		conn_close(c, "closed by peer");
	else if (what & BEV_EVENT_ERROR)
		conn_close(c, c->tp == SIP_TP_TLS ? "TLS or socket error" : "socket error");
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->outbound && !c->connected) {
		client_fail(c, "timeout", "no connection or TLS handshake in time");
		return;
	}
	conn_close(c, "handshake or message not completed in time");
}

/* A TLS bufferevent over fd (-1: connected later) that owns ssl, which is
 * freed on failure. */
static struct bufferevent *bev_tls(struct transport *t, evutil_socket_t fd, SSL *ssl,
				   enum bufferevent_ssl_state state)
{
	struct bufferevent *bev = bufferevent_openssl_socket_new(t->base, fd, ssl, state,
								 BEV_OPT_CLOSE_ON_FREE);

	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* Peers often drop TCP without close_notify; that is an ordinary EOF
	 * for SIP, not an attack (no length is implied by TLS EOF). */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static struct bufferevent *bev_for(struct transport *t, enum sip_transport tp,
				   evutil_socket_t fd)
{
	SSL *ssl;

	if (tp != SIP_TP_TLS)
		return bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(t->ssl_ctx);
	return ssl ? bev_tls(t, fd, ssl, BUFFEREVENT_SSL_ACCEPTING) : NULL;
}

static int conn_alloc(struct conn **cp, struct stream_listener *l,
		      evutil_socket_t fd, const struct sockaddr *sa, int salen,
		      struct conn_src *src)
{
	struct transport *t = l->t;
	const struct timeval idle = { SIP_STREAM_IDLE_TIMEOUT_S, 0 };
	const struct timeval first = { SIP_STREAM_HANDSHAKE_TIMEOUT_S, 0 };
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c) {
		close(fd);
		return ENOMEM;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = bev_for(t, l->tp, fd);
	if (!c->bev) {
		free(c);
		close(fd);
		return ENOMEM;
	}
	c->deadline = evtimer_new(t->base, conn_deadline, c);
	if (!c->deadline || evtimer_add(c->deadline, &first) < 0) {
		conn_free(c);
		return ENOMEM;
	}
	c->t = t;
	c->tp = l->tp;
	c->id = t->next_conn_id++;
	if (salen > 0 && (size_t)salen <= sizeof(c->addr)) {
		memcpy(&c->addr, sa, (size_t)salen);
		c->addrlen = (socklen_t)salen;
	}
	bufferevent_setcb(c->bev, conn_readable, NULL, conn_event, c);
	/* libevent stops reading at the cap, so memory per connection is
	 * bounded even before framing has looked at the bytes. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, SIP_MAX_STREAM_BUFFER);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		conn_free(c);
		return ENOMEM;
	}
	c->next = t->conns[bucket_of(c->id)];
	t->conns[bucket_of(c->id)] = c;
	t->nconns++;
	c->src = src; /* released when the connection is unlinked */
	*cp = c;
	return 0;
}

/* Close an accepted socket at once. SO_LINGER 0 makes it a reset, so no
 * TIME_WAIT state is left behind for a source that keeps trying. */
static void refuse(struct stream_listener *l, evutil_socket_t fd, const struct sockaddr *sa,
		   const char *why)
{
	struct transport *t = l->t;
	const struct linger rst = { 1, 0 };
	time_t now = time(NULL);
	char where[80];

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	close(fd);
	t->conns_refused++;
	if ((int64_t)now == t->refused_logged_s)
		return; /* a source that keeps trying gets one line a second */
	t->refused_logged_s = (int64_t)now;
	sockaddr_format(sa, where, sizeof(where));
	log_info("%s: connection from %s refused: %s (%llu refused so far)",
		 transport_name(l->tp), where, why, (unsigned long long)t->conns_refused);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct stream_listener *l = arg;
	struct conn_src *src;
	struct conn *c;

	(void)lev;
	if (l->t->nconns >= SIP_MAX_CONNECTIONS) {
		log_warn("%s: connection limit (%u) reached, refusing a connection",
			 transport_name(l->tp), SIP_MAX_CONNECTIONS);
		close(fd);
		return;
	}
	/* A banned source, or one that holds its share of connections, is
	 * cut before a buffer or TLS state exists for it. */
	if (l->t->accept_cb && !l->t->accept_cb(l->t->accept_arg, sa)) {
		refuse(l, fd, sa, "source banned");
		return;
	}
	src = src_acquire(l->t, sa);
	if (!src) {
		refuse(l, fd, sa, "per-source connection limit");
		return;
	}
	/* On failure conn_alloc() has closed the socket: the peer sees a
	 * reset and may retry. */
	if (conn_alloc(&c, l, fd, sa, salen, src)) {
		src_release(l->t, src);
		log_warn("%s: out of memory accepting a connection",
			 transport_name(l->tp));
	}
}

static void accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct stream_listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/* EMFILE/ENFILE/ENOBUFS: the pending connection stays queued and would
 * wake the loop at once; pause accepting for a moment instead. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct stream_listener *l = arg;
	const struct timeval later = { 0, ACCEPT_RETRY_MS * 1000 };
	int e = EVUTIL_SOCKET_ERROR();

	log_warn("%s: accept failed: %s", transport_name(l->tp), strerror(e));
	evconnlistener_disable(lev);
	evtimer_add(l->retry, &later);
}

int stream_listen(struct transport *t, enum sip_transport tp,
		  const struct sockaddr *sa, socklen_t len,
		  char *err, size_t errlen)
{
	struct stream_listener *l;
	char where[80];
	int fd;

	sockaddr_format(sa, where, sizeof(where));
	if (t->nlst >= sizeof(t->lst) / sizeof(t->lst[0])) {
		snprintf(err, errlen, "%s %s: too many listeners", transport_name(tp), where);
		return EINVAL;
	}
	fd = transport_bind(SOCK_STREAM, sa, len);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", transport_name(tp), where, strerror(-fd));
		return -fd;
	}
	l = &t->lst[t->nlst];
	l->tp = tp;
	l->family = sa->sa_family;
	l->t = t;
	l->retry = evtimer_new(t->base, accept_retry, l);
	l->lev = evconnlistener_new(t->base, on_accept, l,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    LISTEN_BACKLOG, fd);
	if (!l->retry || !l->lev) {
		int e = errno ? errno : ENOMEM;

		if (l->retry)
			event_free(l->retry);
		if (l->lev)
			evconnlistener_free(l->lev);
		else
			close(fd);
		memset(l, 0, sizeof(*l));
		snprintf(err, errlen, "%s %s: listen: %s", transport_name(tp), where, strerror(e));
		return e;
	}
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	t->nlst++;
	return 0;
}

/* err already holds the message; append OpenSSL's reason when there is
 * one, then release the half-built context. */
static int tls_fail(SSL_CTX *ctx, char *err, size_t errlen, int e)
{
	unsigned long ssl_err = ERR_peek_last_error();
	const char *why = ssl_err ? ERR_reason_error_string(ssl_err) : NULL;
	size_t used = strnlen(err, errlen);

	if (why && used < errlen)
		snprintf(err + used, errlen - used, " (%s)", why);
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return e;
}

/* The password callback refuses: an encrypted key would otherwise make
 * OpenSSL prompt on the terminal of a daemon. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

static int load_key(SSL_CTX *ctx, const char *cert, const char *key,
		    char *err, size_t errlen)
{
	FILE *f = fopen(key, "r");
	EVP_PKEY *pkey;
	int ok;

	if (!f) {
		int e = errno;

		snprintf(err, errlen, "tls_key %s: %s", key, strerror(e));
		return tls_fail(ctx, err, errlen, e);
	}
	pkey = PEM_read_PrivateKey(f, NULL, no_password, NULL);
	fclose(f);
	if (!pkey) {
		snprintf(err, errlen, "tls_key %s: not an unencrypted PEM private key", key);
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	ok = SSL_CTX_use_PrivateKey(ctx, pkey) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(pkey);
	if (!ok) {
		snprintf(err, errlen, "tls_key %s does not match tls_cert %s", key, cert);
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	return 0;
}

/* What every context of ours has, server or client: TLS 1.2 at least, no
 * compression (CRIME), no renegotiation (a cheap CPU attack and a source
 * of past bugs), forward-secret AEAD suites. */
static int tls_ctx_new(SSL_CTX **cp, const SSL_METHOD *method, const char *what,
		       char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(method);
	if (!ctx) {
		snprintf(err, errlen, "%s: cannot create a context", what);
		return tls_fail(NULL, err, errlen, ENOMEM);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		snprintf(err, errlen, "%s: cipher or group list refused", what);
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	*cp = ctx;
	return 0;
}

int stream_tls_init(struct transport *t, const char *cert, const char *key,
		    char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int e;

	if (!cert[0] || !key[0]) {
		snprintf(err, errlen, "TLS is enabled but %s is not set",
			 !cert[0] ? "tls_cert" : "tls_key");
		return EINVAL;
	}
	if (access(cert, R_OK) < 0) {
		e = errno;
		snprintf(err, errlen, "tls_cert %s: %s", cert, strerror(e));
		return e;
	}
	if (access(key, R_OK) < 0) {
		e = errno;
		snprintf(err, errlen, "tls_key %s: %s", key, strerror(e));
		return e;
	}
	e = tls_ctx_new(&ctx, TLS_server_method(), "TLS", err, errlen);
	if (e)
		return e;
	/* Our cipher order rather than the client's. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "tls_cert %s: not a PEM certificate chain", cert);
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	e = load_key(ctx, cert, key, err, errlen);
	if (e)
		return e; /* ctx already freed */
	/* SIP phones rarely carry client certificates; identity is digest
	 * authentication inside the tunnel. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	t->ssl_ctx = ctx;
	return 0;
}

void stream_close_all(struct transport *t)
{
	for (unsigned b = 0; b < TRANSPORT_CONN_BUCKETS; b++) {
		while (t->conns[b]) {
			struct conn *c = t->conns[b];

			t->conns[b] = c->next;
			conn_free(c);
		}
	}
	t->nconns = 0;
	for (unsigned b = 0; b < TRANSPORT_SRC_BUCKETS; b++) {
		while (t->srcs[b]) {
			struct conn_src *s = t->srcs[b];

			t->srcs[b] = s->next;
			free(s);
		}
	}
	for (unsigned i = 0; i < t->nlst; i++) {
		evconnlistener_free(t->lst[i].lev);
		event_free(t->lst[i].retry);
	}
	t->nlst = 0;
	if (t->ssl_ctx)
		SSL_CTX_free(t->ssl_ctx);
	t->ssl_ctx = NULL;
	if (t->client_ctx)
		SSL_CTX_free(t->client_ctx);
	t->client_ctx = NULL;
}

int stream_send(struct transport *t, const struct sip_peer *dst,
		const void *buf, size_t len)
{
	struct conn *c = conn_find(t, dst->conn_id);
	struct evbuffer *out;

	if (!c || c->dead || c->tp != dst->tp)
		return ENOTCONN;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + len > SIP_MAX_STREAM_OUTPUT) {
		conn_close(c, "peer does not read its output");
		return ENOBUFS;
	}
	if (bufferevent_write(c->bev, buf, len) < 0)
		return ENOMEM;
	return 0;
}

int stream_conn_close(struct transport *t, uint64_t conn_id)
{
	struct conn *c = conn_find(t, conn_id);

	if (!c || c->dead)
		return ENOTCONN;
	conn_close(c, "closed locally");
	return 0;
}

int stream_conn_set_idle(struct transport *t, uint64_t conn_id,
			 unsigned seconds)
{
	struct conn *c = conn_find(t, conn_id);
	struct timeval tv = { (time_t)seconds, 0 };

	if (!c || c->dead)
		return ENOTCONN;
	bufferevent_set_timeouts(c->bev, seconds ? &tv : NULL, NULL);
	return 0;
}

void transport_set_accept_filter(struct transport *t, transport_accept_cb cb,
				 void *arg)
{
	t->accept_cb = cb;
	t->accept_arg = arg;
}

void transport_set_conn_limit(struct transport *t, unsigned per_source)
{
	t->max_conns_per_src = per_source;
}

uint64_t transport_conns_refused(const struct transport *t)
{
	return t ? t->conns_refused : 0;
}

/* ---- Outbound connections (trunks) ----
 *
 * The same struct conn, buffers, caps and framing as accepted ones; they
 * differ in how they start. Until the connect (and for TLS, the handshake
 * with a verified certificate) has completed, a failure is reported to the
 * fail callback with its reason, and whatever was queued is discarded with
 * the connection: a failed verification never sends a byte of SIP. */

/* Our certificate for providers that ask for one (mutual TLS). */
static int client_identity(SSL_CTX *ctx, const char *cert, const char *key,
			   char *err, size_t errlen)
{
	if (!cert[0] && !key[0])
		return 0;
	if (!cert[0] || !key[0]) {
		snprintf(err, errlen, "[trunks] tls_client_cert and tls_client_key go together");
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "tls_client_cert %s: not a PEM certificate chain", cert);
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	return load_key(ctx, cert, key, err, errlen); /* frees ctx on failure */
}

int stream_client_tls_init(struct transport *t, const char *ca_file,
			   const char *cert, const char *key,
			   char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int ok, e;

	e = tls_ctx_new(&ctx, TLS_client_method(), "TLS client", err, errlen);
	if (e)
		return e;
	/* Verification is not optional: a trunk carries credentials and
	 * calls that cost money. A private CA is configured, not skipped. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* The system store as its hashed directory: certificates are read
	 * when a chain needs them, not the whole bundle at start, which would
	 * keep a starting daemon privileged and deaf to signals for longer. */
	if (ca_file[0])
		ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		ok = SSL_CTX_load_verify_dir(ctx, X509_get_default_cert_dir());
	if (ok != 1) {
		snprintf(err, errlen, "TLS client: cannot load CA certificates from %s",
			 ca_file[0] ? ca_file : "the system store");
		return tls_fail(ctx, err, errlen, EINVAL);
	}
	e = client_identity(ctx, cert, key, err, errlen);
	if (e)
		return e; /* ctx already freed */
	if (t->client_ctx)
		SSL_CTX_free(t->client_ctx);
	t->client_ctx = ctx;
	return 0;
}

static bool name_is_ip(const char *name)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
}

/* SNI for a host name (RFC 6066 forbids it for IP literals) and the name
 * or address the certificate must carry. */
static SSL *client_ssl(struct transport *t, const char *name)
{
	SSL *ssl = SSL_new(t->client_ctx);
	bool ok;

	if (!ssl)
		return NULL;
	if (name_is_ip(name))
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	else
		ok = SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
	if (!ok) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static struct conn *client_find(const struct transport *t, enum sip_transport tp,
				const struct sockaddr *sa, socklen_t salen,
				const char *name)
{
	for (unsigned b = 0; b < TRANSPORT_CONN_BUCKETS; b++) {
		for (struct conn *c = t->conns[b]; c; c = c->next) {
			if (c->outbound && !c->dead && c->tp == tp &&
			    c->addrlen == salen && memcmp(&c->addr, sa, salen) == 0 &&
			    strcmp(c->name, name) == 0)
				return c;
		}
	}
	return NULL;
}

static struct bufferevent *client_bev(struct transport *t, enum sip_transport tp,
				      const char *name)
{
	SSL *ssl;

	if (tp != SIP_TP_TLS)
		return bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = client_ssl(t, name);
	return ssl ? bev_tls(t, -1, ssl, BUFFEREVENT_SSL_CONNECTING) : NULL;
}

static int client_start(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	const struct timeval idle = { SIP_STREAM_IDLE_TIMEOUT_S, 0 };
	const struct timeval limit = { SIP_CLIENT_CONNECT_TIMEOUT_S, 0 };
	evutil_socket_t fd;
	int one = 1;

	c->deadline = evtimer_new(c->t->base, conn_deadline, c);
	if (!c->deadline || evtimer_add(c->deadline, &limit) < 0)
		return ENOMEM;
	bufferevent_setcb(c->bev, conn_readable, NULL, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SIP_MAX_STREAM_BUFFER);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	if (bufferevent_socket_connect(c->bev, sa, (int)salen) < 0)
		return errno ? errno : ECONNREFUSED;
	fd = bufferevent_getfd(c->bev);
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0 ? ENOMEM : 0;
}

int stream_connect(struct transport *t, enum sip_transport tp,
		   const struct sockaddr *sa, socklen_t salen,
		   const char *name, uint64_t *conn_id)
{
	struct conn *c;
	int e;

	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    salen > sizeof(c->addr) || strlen(name) > 253)
		return EINVAL;
	if (tp == SIP_TP_TLS && (!t->client_ctx || !name[0]))
		return EPROTONOSUPPORT;
	c = client_find(t, tp, sa, salen, name);
	if (c) {
		*conn_id = c->id;
		return 0;
	}
	if (t->nconns >= SIP_MAX_CONNECTIONS)
		return EMFILE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->t = t;
	c->tp = tp;
	c->outbound = true;
	memcpy(&c->addr, sa, salen);
	c->addrlen = salen;
	c->name = strdup(name);
	c->bev = c->name ? client_bev(t, tp, name) : NULL;
	e = c->bev ? client_start(c, sa, salen) : ENOMEM;
	if (e) {
		conn_free(c);
		return e;
	}
	c->id = t->next_conn_id++;
	c->next = t->conns[bucket_of(c->id)];
	t->conns[bucket_of(c->id)] = c;
	t->nconns++;
	*conn_id = c->id;
	return 0;
}

static void client_fail(struct conn *c, const char *reason, const char *detail)
{
	struct transport *t = c->t;
	char where[80];
	uint64_t id;

	sockaddr_format((struct sockaddr *)&c->addr, where, sizeof(where));
	if (strcmp(reason, "tls_verify_failed") == 0) {
		struct secev e;

		secev_begin(&e, "tls_verify_failed");
		secev_src(&e, (struct sockaddr *)&c->addr, transport_name(c->tp));
		secev_untrusted(&e, "name", c->name, strlen(c->name));
		secev_untrusted(&e, "reason", detail, strlen(detail));
		secev_emit(&e);
	}
	log_warn("%s connection to %s (%s) failed: %s (%s)", transport_name(c->tp),
		 where, c->name, reason, detail);
	/* Closed first, so an owner that reconnects at once from the callback
	 * gets a new connection, never this dying one. */
	id = c->id;
	conn_close(c, reason);
	if (!t->freeing && t->fail_cb)
		t->fail_cb(t->fail_arg, id, reason, detail);
}

/* OpenSSL's reason for a queued error ("tlsv13 alert certificate
 * required"), or the fallback: libevent also queues bare SSL_get_error()
 * codes, which have no library and no text. */
static const char *ssl_reason(unsigned long e, const char *fallback)
{
	const char *why = e && ERR_GET_LIB(e) ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return why ? why : fallback;
}

/* Why a TLS connection did not come up: the certificate check (the
 * verify result names it: expired, hostname mismatch, unknown issuer) or
 * another handshake error. */
static void client_tls_error(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	int se = EVUTIL_SOCKET_ERROR();

	if (vr != X509_V_OK) {
		ERR_clear_error();
		client_fail(c, "tls_verify_failed", X509_verify_cert_error_string(vr));
		return;
	}
	client_fail(c, "tls_handshake", ssl_reason(e, se ? strerror(se) : "handshake failed"));
}

/* An established outbound connection that the provider ends: its owner
 * may be waiting for an answer on it (TLS 1.3 servers refuse a client
 * certificate only after the handshake, with an alert). */
static void client_lost(struct conn *c, short what, int e)
{
	unsigned long ssl_err = c->tp == SIP_TP_TLS ? bufferevent_get_openssl_error(c->bev) : 0;

	client_fail(c, "closed", ssl_reason(ssl_err, (what & BEV_EVENT_EOF) || !e ?
					   "closed by peer" : strerror(e)));
}

static void client_event(struct conn *c, short what)
{
	int e = EVUTIL_SOCKET_ERROR();

	if (c->connected) {
		client_lost(c, what, e);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		c->connected = true;
		event_del(c->deadline);
		return;
	}
	if (c->tp == SIP_TP_TLS && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) &&
	    bufferevent_getfd(c->bev) >= 0 && (e == 0 || (what & BEV_EVENT_EOF) ||
					       bufferevent_get_openssl_error(c->bev))) {
		client_tls_error(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		client_fail(c, "timeout", "no answer");
	else
		client_fail(c, "connect_failed", e ? strerror(e) : "closed by peer");
}

int stream_conn_local_addr(const struct transport *t, uint64_t conn_id,
			   struct sockaddr_storage *ss, socklen_t *len)
{
	struct conn *c = conn_find(t, conn_id);
	evutil_socket_t fd;

	if (!c || c->dead || (fd = bufferevent_getfd(c->bev)) < 0)
		return ENOTCONN;
	*len = sizeof(*ss);
	return getsockname(fd, (struct sockaddr *)ss, len) < 0 ? errno : 0;
}
