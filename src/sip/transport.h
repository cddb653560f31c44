/* SIP transports: UDP, TCP and TLS (1.2+), over IPv4 and IPv6, on one
 * libevent loop. Stream transports are framed by Content-Length with a
 * bounded buffer per connection (SIP_MAX_STREAM_BUFFER); a connection that
 * overflows it or breaks framing is closed. Each received message is handed
 * to one callback with the transport-level source, which is the only
 * address the rest of Ringfence trusts. */
#ifndef RF_SIP_TRANSPORT_H
#define RF_SIP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip/msg.h"

struct event_base;
struct rf_conf;
struct transport;

/* Where a message came from, or where to send one. */
struct sip_peer {
	enum sip_transport tp;
	struct sockaddr_storage addr; /* remote address */
	socklen_t addrlen;
	uint64_t conn_id; /* stream connection; 0 for UDP */
	int sock;         /* UDP: the socket it arrived on (replies leave from it) */
};

typedef void (*transport_rx_cb)(void *arg, const char *buf, size_t len,
				const struct sip_peer *src);

/* Bind every listener named by the configuration (UDP and TCP on port,
 * TLS on tls_port, each listen address). TLS uses c->tls_cert/tls_key.
 * Returns 0 or errno with a message in err. */
int transport_alloc(struct transport **tp, struct event_base *base,
		    const struct rf_conf *c, transport_rx_cb cb, void *arg,
		    char *err, size_t errlen);
/* Not from inside the rx or close callback: the transport is still in use
 * there. */
void transport_free(struct transport *t);

/* Send on the peer's flow: UDP from the socket it came in on, TCP/TLS on
 * its connection. Returns 0, or ENOTCONN when that connection is gone. */
int transport_send(struct transport *t, const struct sip_peer *dst,
		   const void *buf, size_t len);

const char *transport_name(enum sip_transport tp); /* "udp", "tcp", "tls" */

/* True when a and b are the same flow: the same transport, and for UDP
 * the same address and port, for TCP/TLS the same connection. */
bool sip_peer_same_flow(const struct sip_peer *a, const struct sip_peer *b);

/* Format "ip:port" / "[ip6]:port" into buf (>= 64 bytes). */
void sip_peer_format(const struct sip_peer *p, char *buf, size_t len);
void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);
/* Whether two addresses are the same IP, ports aside. */
bool sockaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

/* ---- Additions: connection management and introspection. ---- */

/* Called after a TCP/TLS connection has closed, for whatever reason (peer
 * hang-up, timeout, framing error, overflow, transport_conn_close()); not
 * called from transport_free(). The conn_id is never used again. */
typedef void (*transport_close_cb)(void *arg, uint64_t conn_id);
void transport_set_close_cb(struct transport *t, transport_close_cb cb,
			    void *arg);

/* Close one stream connection now; pending output is discarded. Returns 0
 * or ENOTCONN when it is already gone. Safe to call from the rx callback. */
int transport_conn_close(struct transport *t, uint64_t conn_id);

/* Change the idle timeout of one connection (default
 * SIP_STREAM_IDLE_TIMEOUT_S): the registrar sets it to the registration's
 * expiry plus a margin so a registered flow that sends no keep-alives
 * stays open. 0 disables it. Returns 0 or ENOTCONN. */
int transport_conn_set_idle(struct transport *t, uint64_t conn_id,
			    unsigned seconds);

/* Open TCP/TLS connections. */
unsigned transport_conn_count(const struct transport *t);

/* ---- Additions: flood protection (guard/flood.h). ---- */

/* Asked for every accepted TCP/TLS connection before anything is
 * allocated for it: false closes it at once (a banned source). */
typedef bool (*transport_accept_cb)(void *arg, const struct sockaddr *src);
void transport_set_accept_filter(struct transport *t, transport_accept_cb cb,
				 void *arg);

/* TCP/TLS connections one source address may hold; a further one is
 * closed at once, before a buffer or TLS state exists for it. 0 (the
 * default) leaves only the global SIP_MAX_CONNECTIONS. */
void transport_set_conn_limit(struct transport *t, unsigned per_source);

/* Connections refused by the filter or the per-source limit. */
uint64_t transport_conns_refused(const struct transport *t);

/* Consecutive UDP receive passes that read a full batch every round and
 * still left datagrams queued; 0 after a pass that drained its socket. A
 * growing streak means the signalling thread is behind its input. */
unsigned transport_rx_backlog(const struct transport *t);

/* The bound address of the first listener of that transport and address
 * family (AF_INET or AF_INET6): how a caller that configured port 0 learns
 * the port. Returns 0 or ENOENT. */
int transport_local_addr(const struct transport *t, enum sip_transport tp,
			 int family, struct sockaddr_storage *ss,
			 socklen_t *len);

/* ---- Additions: outbound connections (trunks). ---- */

/* Outbound TLS settings: the CA file that verifies providers ("" or NULL:
 * the system's CAs), and optionally our own certificate chain and key for
 * providers that ask for one (mutual TLS; both "" or NULL: none).
 * Verification of the chain and of the name is always on; there is no
 * switch to turn it off. Returns 0 or errno with a message in err (an
 * unreadable CA file, a key that does not match its certificate). */
int transport_client_tls_init(struct transport *t, const char *ca_file,
			      const char *cert, const char *key,
			      char *err, size_t errlen);

/* Open, or reuse, an outbound TCP or TLS connection to sa. Connections are
 * shared per (transport, address, port, name): a second caller with the
 * same four gets the same conn_id. For TLS, name is the provider's host
 * name: it is sent as SNI and the certificate must be valid for it (an IP
 * literal is checked as an IP address). The connect is non-blocking:
 * transport_send() may be used at once, and the bytes leave when the
 * connection (and TLS handshake) is up. A connection that fails to come up
 * within SIP_CLIENT_CONNECT_TIMEOUT_S, or whose certificate fails, is
 * closed without sending anything and reported to the failure callback.
 * Responses arriving on it go to the rx callback like any other message.
 * Returns 0 with *conn_id set, EINVAL, EPROTONOSUPPORT (TLS without
 * transport_client_tls_init), EMFILE at SIP_MAX_CONNECTIONS, or errno. */
int transport_connect(struct transport *t, enum sip_transport tp,
		      const struct sockaddr *sa, socklen_t salen,
		      const char *name, uint64_t *conn_id);

/* Why an outbound connection failed or ended: reason is a stable token
 * ("connect_failed", "timeout", "tls_verify_failed", "tls_handshake", or
 * "closed" when an established one is ended by the peer) and
 * detail a human reason ("certificate has expired", "hostname mismatch",
 * "unable to get local issuer certificate", strerror). Called once the
 * connection is closed (after its close callback), so the owner may
 * connect again from inside it. */
typedef void (*transport_fail_cb)(void *arg, uint64_t conn_id,
				  const char *reason, const char *detail);
void transport_set_fail_cb(struct transport *t, transport_fail_cb cb,
			   void *arg);

/* The local address of a connection (for Via and Contact). 0 or ENOTCONN. */
int transport_conn_local_addr(const struct transport *t, uint64_t conn_id,
			      struct sockaddr_storage *ss, socklen_t *len);

#endif
