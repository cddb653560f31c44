/* The media relay (P3, S15): every call's RTP and RTCP pass through it.
 *
 * Threads. The relay runs its own thread with an epoll loop over the relay
 * sockets, reading with recvmmsg and writing with sendmmsg. The signalling
 * thread controls it through a single-producer queue plus an eventfd (open,
 * set peer, close) and hears back through a second queue plus an eventfd
 * that is registered in the signalling thread's libevent loop (no-media
 * timeouts, final counters). No lock is taken on the packet path.
 *
 * Ports. relay_open() takes ports from [media] rtp_port_min..rtp_port_max
 * on the signalling thread, synchronously, so the caller can write them
 * into SDP at once: one even RTP port and the odd RTCP port above it per
 * leg, two legs per session. A port goes back to the pool only after the
 * relay thread has closed its socket. An exhausted pool is EAGAIN (the
 * caller answers 503); it recovers as sessions close.
 *
 * Strict source. A leg accepts packets only from the address and port its
 * SDP named; or, when the phone is behind NAT (relay_set_peer with
 * `latch`), from the first packet whose source IP equals the phone's
 * signalling IP, after which that address and port are locked. Everything
 * else is dropped and counted. Packets are forwarded to the other leg's
 * peer from the other leg's socket, so each phone only ever sees the
 * relay's address. */
#ifndef RF_MEDIA_RELAY_H
#define RF_MEDIA_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct relay;

enum relay_leg { RELAY_LEG_A = 0, RELAY_LEG_B = 1 };

struct relay_config {
	struct sockaddr_storage bind_addr; /* address the relay sockets bind to (port ignored) */
	socklen_t bind_len;
	uint16_t port_min, port_max;       /* port_min even */
	unsigned no_media_timeout_s;       /* 0 disables; relay_set_no_media_timeout changes it */
};

struct relay_leg_stats {
	uint64_t packets_in, bytes_in;     /* accepted from this leg's phone */
	uint64_t packets_out, bytes_out;   /* sent to this leg's phone */
	uint64_t dropped_foreign;          /* from anyone but the locked peer */
	uint64_t lost;                     /* RTP sequence gaps seen from this leg's phone */
	uint64_t srtp_auth_failed;         /* SRTP/SRTCP from this leg's phone dropped: failed
					    * authentication, replayed, or not SRTP */
	uint64_t srtp_protect_failed;      /* not sent to this leg's phone: could not be
					    * encrypted (e.g. a repeated sequence number) */
};

struct relay_stats {
	struct relay_leg_stats leg[2];
};

enum relay_event_kind {
	RELAY_EV_NO_MEDIA, /* no packet in either direction for the timeout */
	RELAY_EV_CLOSED,   /* after relay_close(): final counters */
};

struct relay_event {
	enum relay_event_kind kind;
	uint32_t session;
	struct relay_stats stats; /* for RELAY_EV_CLOSED */
};

/* Delivered on the signalling thread (from its libevent loop). */
typedef void (*relay_event_cb)(void *arg, const struct relay_event *ev);

int relay_alloc(struct relay **rp, struct event_base *base,
		const struct relay_config *cfg, relay_event_cb cb, void *arg);
/* Stops the thread, closes every socket. */
void relay_free(struct relay *r);

/* Open a session: bind both legs' RTP/RTCP sockets. Returns 0 with the
 * session id and each leg's RTP port, EAGAIN when no ports are left, or
 * another errno value. */
int relay_open(struct relay *r, uint32_t *session, uint16_t port[2]);

/* Tell a leg where its phone is. `peer` is the RTP address from SDP
 * (RTCP is port+1, unless rtcp_mux). With `latch`, the first packet from
 * `signal_ip`'s address (any port) is accepted and then locked instead.
 * May be called again (re-INVITE); the lock is then reset. */
int relay_set_peer(struct relay *r, uint32_t session, enum relay_leg leg,
		   const struct sockaddr *peer, bool rtcp_mux, bool latch,
		   const struct sockaddr *signal_ip);

/* Close a session; its final counters arrive as RELAY_EV_CLOSED, after
 * which its ports are free again. Unknown ids are ignored. */
void relay_close(struct relay *r, uint32_t session);

/* SRTP suites (SDES names in media/srtp.h). */
enum relay_srtp_suite {
	RELAY_SRTP_AES_CM_128_HMAC_SHA1_80 = 1,
	RELAY_SRTP_AES_CM_128_HMAC_SHA1_32,
	RELAY_SRTP_AEAD_AES_128_GCM,
};

#define RELAY_CRYPTO_KEY_MAX 46 /* master key + salt, room for AES-256 */

/* One SRTP master key: parse or generate it with media/srtp.h. */
struct relay_crypto {
	enum relay_srtp_suite suite;
	uint8_t key_salt[RELAY_CRYPTO_KEY_MAX];
	size_t key_len;   /* 30 for AES_CM_128, 28 for AEAD_AES_128_GCM */
	uint8_t mki_len;  /* 0: no MKI in the packets */
	uint32_t mki;
};

/* SRTP on a leg, per direction: `from_phone` is the key the phone sent in
 * its a=crypto (packets from it are verified and decrypted), `to_phone` the
 * key the PBX sent to it (packets to it are encrypted). NULL is plain RTP
 * in that direction, so RTP on one leg and SRTP on the other is bridged.
 * The keys are expanded here, on the caller's thread; the keys themselves
 * never enter the command queue, and the caller may wipe its copies when
 * this returns. Replaces the leg's previous crypto (re-INVITE). Returns 0,
 * ENOENT, EINVAL (a bad key or leg), ENOBUFS, ENOMEM or EIO. */
int relay_set_crypto(struct relay *r, uint32_t session, enum relay_leg leg,
		     const struct relay_crypto *from_phone, const struct relay_crypto *to_phone);

/* A new no-media timeout (a reload; 0 disables), for every session open
 * and to come. Silence already longer than it ends a call at the relay
 * thread's next scan. Returns 0, or ENOBUFS when the command queue has no
 * room (the old timeout stays). */
int relay_set_no_media_timeout(struct relay *r, unsigned seconds);

/* Ports currently free (for tests and status), and sessions open. */
unsigned relay_ports_free(const struct relay *r);
unsigned relay_sessions_open(const struct relay *r);

#endif
