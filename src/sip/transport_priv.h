/* Internals shared by transport.c, transport_udp.c and transport_stream.c.
 * Nothing outside those three files includes this header. */
#ifndef RF_SIP_TRANSPORT_PRIV_H
#define RF_SIP_TRANSPORT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/conf.h"
#include "sip/transport.h"

struct event;
struct evconnlistener;
struct mmsghdr;
struct iovec;
struct conn;
struct conn_src;
typedef struct ssl_ctx_st SSL_CTX;

/* Buckets of the connection map; a power of two. Connection ids are
 * sequential, so the low bits spread them evenly. */
#define TRANSPORT_CONN_BUCKETS 4096u

/* Buckets of the per-source connection counts; a power of two. */
#define TRANSPORT_SRC_BUCKETS 1024u

/* Listen addresses times the wildcard pair used when none is configured. */
#define TRANSPORT_MAX_SOCKS (CONF_MAX_LISTEN + 2u)

struct udp_sock {
	int fd;
	int family;
	struct event *ev;
	struct transport *t; /* borrowed back-pointer for the event callback */
};

struct stream_listener {
	enum sip_transport tp;
	int family;
	struct evconnlistener *lev;
	struct event *retry;  /* re-enables accepting after EMFILE and friends */
	struct transport *t;  /* borrowed back-pointer */
};

struct transport {
	struct event_base *base; /* borrowed */
	transport_rx_cb rx_cb;
	void *rx_arg;            /* borrowed */
	transport_close_cb close_cb;
	void *close_arg;         /* borrowed */

	struct udp_sock udp[TRANSPORT_MAX_SOCKS];
	unsigned nudp;
	/* recvmmsg batch, allocated once and reused by every UDP socket: the
	 * loop is single-threaded, so one set of buffers is enough. */
	struct mmsghdr *rx_msgs;
	struct iovec *rx_iov;
	struct sockaddr_storage *rx_addrs;
	char *rx_buf;
	unsigned rx_full_streak; /* see transport_rx_backlog() */

	struct stream_listener lst[2u * TRANSPORT_MAX_SOCKS];
	unsigned nlst;
	SSL_CTX *ssl_ctx; /* NULL when TLS is off */
	SSL_CTX *client_ctx; /* outbound TLS; NULL until transport_client_tls_init */
	transport_fail_cb fail_cb;
	void *fail_arg;            /* borrowed */

	struct conn *conns[TRANSPORT_CONN_BUCKETS];
	unsigned nconns;
	uint64_t next_conn_id; /* ids are never reused */
	/* Open connections per source address, for the per-source limit. */
	struct conn_src *srcs[TRANSPORT_SRC_BUCKETS];
	uint64_t src_seed;
	unsigned max_conns_per_src; /* 0: no per-source limit */
	transport_accept_cb accept_cb;
	void *accept_arg;          /* borrowed */
	uint64_t conns_refused;
	int64_t refused_logged_s;  /* one log line per second at most */
	bool freeing;          /* transport_free running: no close callbacks */
};

/* Resolve one configured listen address ("" or "*" is not accepted;
 * "[v6]" brackets are). Returns 0 or EINVAL. */
int transport_parse_addr(const char *s, unsigned port,
			 struct sockaddr_storage *ss, socklen_t *len);

/* socket + SO_REUSEADDR (+ IPV6_V6ONLY) + bind, nonblocking, close-on-exec.
 * Returns the fd or -errno. */
int transport_bind(int type, const struct sockaddr *sa, socklen_t len);

int udp_open(struct transport *t, const struct sockaddr *sa, socklen_t len,
	     char *err, size_t errlen);
void udp_close_all(struct transport *t);
int udp_send(struct transport *t, const struct sip_peer *dst,
	     const void *buf, size_t len);

int stream_tls_init(struct transport *t, const char *cert, const char *key,
		    char *err, size_t errlen);
int stream_listen(struct transport *t, enum sip_transport tp,
		  const struct sockaddr *sa, socklen_t len,
		  char *err, size_t errlen);
int stream_client_tls_init(struct transport *t, const char *ca_file,
			   const char *cert, const char *key,
			   char *err, size_t errlen);
int stream_connect(struct transport *t, enum sip_transport tp,
		   const struct sockaddr *sa, socklen_t salen,
		   const char *name, uint64_t *conn_id);
int stream_conn_local_addr(const struct transport *t, uint64_t conn_id,
			   struct sockaddr_storage *ss, socklen_t *len);
void stream_close_all(struct transport *t);
int stream_send(struct transport *t, const struct sip_peer *dst,
		const void *buf, size_t len);
int stream_conn_close(struct transport *t, uint64_t conn_id);
int stream_conn_set_idle(struct transport *t, uint64_t conn_id,
			 unsigned seconds);

/* True when a keep-alive, not a message: RFC 5626 CRLF pings/pongs and the
 * 4-byte NUL keep-alive some phones send. */
bool transport_is_keepalive(const char *buf, size_t len);

#endif
