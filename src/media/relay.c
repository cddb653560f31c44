/* The media relay: one thread with an epoll loop over every relay socket.
 *
 * Ownership. A session is allocated and its sockets bound on the signalling
 * thread (relay_open), then handed to the relay thread through the command
 * ring; from then on only the relay thread touches it, and it frees it when
 * it closes it. The signalling thread keeps a handle per session (id,
 * ports, closing flag) in a slot table that the relay thread never reads.
 * The two sides share nothing but the two rings and their eventfds.
 *
 * Ring sizing makes the two promises that cannot fail fail-free:
 * - the command ring keeps room for one close per session that can exist,
 *   so relay_close (which returns nothing) always fits; opens and peer
 *   updates get ENOBUFS instead of eating that reserve;
 * - the event ring holds two events per session that can exist (one
 *   no-media, one closed), which is the most a session ever has in flight.
 * Should the event ring still be full, the relay thread keeps the event
 * and retries on its next turn: it never blocks and never drops one. */
#include "media/relay.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "media/portpool.h"
#include "media/relay_queue.h"
#include "media/srtp.h"

/* Datagrams read or written per system call. */
#define RX_BATCH 32u
/* Receive buffer per datagram: RTP stays under the path MTU; anything the
 * kernel has to cut is dropped rather than forwarded damaged. */
#define RX_BUF 2048u
/* Commands that may queue up besides the reserved closes. */
#define CMD_SLACK 4096u
/* How often the relay thread looks for silent sessions. */
#define SCAN_MS 200
/* A sequence jump this large is a restarted stream, not loss (RFC 3550
 * appendix A.1 uses the same figure). */
#define MAX_DROPOUT 3000u
#define SLOT_BITS 16u
#define SLOT_MASK ((1u << SLOT_BITS) - 1u)
#define EPOLL_BATCH 64

enum { K_RTP = 0, K_RTCP = 1 };

union raddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct relay_session;
struct relay_side;

/* epoll's data.ptr points here: one lookup per readable socket. */
struct relay_sock {
	int fd;
	unsigned kind;          /* K_RTP or K_RTCP */
	struct relay_side *leg;  /* borrowed: the leg that embeds this */
};

/* Relay thread only, once the session is handed over. */
struct relay_side {
	struct relay_sock sock[2];
	struct relay_session *s; /* borrowed: the session that embeds this */
	unsigned idx;            /* RELAY_LEG_A or RELAY_LEG_B */
	union raddr peer[2];     /* per kind: the only accepted source, and where we send */
	bool locked[2];          /* peer[kind] is known */
	bool latch, rtcp_mux;
	union raddr signal;      /* with latch: the phone's signalling IP */
	bool seq_valid;
	uint16_t seq;
	uint32_t ssrc;
	struct relay_leg_stats st;
	struct media_srtp *from_phone, *to_phone; /* NULL: plain RTP that way */
};

struct relay_session {
	uint32_t id;
	struct relay_side leg[2];
	int64_t last_rx_ms;      /* last accepted packet, or open / set_peer */
	bool no_media_sent;
	bool srtp;               /* a leg has crypto: the only test plain RTP pays */
	bool closed;             /* sockets closed; freed at the end of the turn */
	struct relay_session *prev, *next; /* relay thread's list */
};

/* Signalling thread only. */
struct relay_handle {
	uint32_t id;
	uint16_t port[2];
	bool in_use, closing;
	uint16_t gen;
	struct relay_session *s; /* owned by the relay thread once opened */
};

enum relay_cmd_kind { CMD_OPEN, CMD_PEER, CMD_CLOSE, CMD_CRYPTO, CMD_TIMEOUT };

struct relay_cmd {
	enum relay_cmd_kind kind;
	unsigned leg;
	unsigned no_media_s;     /* CMD_TIMEOUT */
	bool rtcp_mux, latch, has_peer;
	struct relay_session *s;
	union raddr peer, signal;
	struct media_srtp *from_phone, *to_phone; /* CMD_CRYPTO: handed over */
};

struct relay {
	struct relay_config cfg;

	/* signalling thread */
	struct event_base *base; /* borrowed */
	struct event *ev_wake;
	relay_event_cb cb;
	void *cb_arg;
	struct portpool *pool;
	struct relay_handle *slots;
	uint16_t *free_slots;    /* FIFO of free slot indices */
	unsigned nslots, slot_head, slot_nfree;
	unsigned nopen;

	/* shared: rings and their wake-ups */
	struct spsc cmdq, evq;
	int cmd_efd, ev_efd;
	atomic_bool stop;

	/* relay thread */
	pthread_t thread;
	bool thread_started;
	unsigned no_media_s;     /* cfg's until a reload sends another; 0 is off */
	int epfd;
	int64_t now_ms;
	struct relay_session *sessions;
	struct relay_session *zombies;  /* closed; RELAY_EV_CLOSED not yet queued */
	bool events_queued;
	struct mmsghdr rx[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	union raddr rx_addr[RX_BATCH];
	unsigned char (*rx_buf)[RX_BUF + MEDIA_SRTP_ROOM]; /* room to encrypt in place */
	struct mmsghdr tx[2][RX_BATCH];
	struct iovec tx_iov[2][RX_BATCH];
};

/* ---- helpers shared by both threads (pure) ---- */

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(int efd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the reader will wake. */
	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("media relay: eventfd write failed (errno %d)", errno);
}

static void drain_efd(int efd)
{
	uint64_t n;

	(void)!read(efd, &n, sizeof(n));
}

static socklen_t raddr_len(const union raddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

static bool ip_eq(const union raddr *a, const union raddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static bool addr_eq(const union raddr *a, const union raddr *b)
{
	if (!ip_eq(a, b))
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port;
	return a->in6.sin6_port == b->in6.sin6_port;
}

static uint16_t raddr_port(const union raddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port);
}

static void raddr_set_port(union raddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
}

static bool raddr_unspecified(const union raddr *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->in6.sin6_addr, &any6, 16) == 0;
}

/* Express `sa` in the relay sockets' family: an IPv6 relay reaches IPv4
 * phones through v4-mapped addresses, which is also how it sees them. */
static int raddr_from(union raddr *out, const struct sockaddr *sa, int family)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == family) {
		memcpy(out, sa, family == AF_INET ? sizeof(out->in) : sizeof(out->in6));
		return 0;
	}
	if (family == AF_INET6 && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = in->sin_port;
		memcpy(out->in6.sin6_addr.s6_addr, mapped, 12);
		memcpy(out->in6.sin6_addr.s6_addr + 12, &in->sin_addr, 4);
		return 0;
	}
	if (family == AF_INET && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (memcmp(in6->sin6_addr.s6_addr, mapped, 12) != 0)
			return EAFNOSUPPORT;
		out->in.sin_family = AF_INET;
		out->in.sin_port = in6->sin6_port;
		memcpy(&out->in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
		return 0;
	}
	return EAFNOSUPPORT;
}

/* ---- relay thread: packets ---- */

/* RFC 5761 section 4: with rtcp-mux, RTCP packet types 192..223 sit where
 * RTP has marker bit + payload type 64..95. */
static bool looks_rtcp(const unsigned char *p, size_t len)
{
	return len >= 8 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223;
}

/* Only the fixed 12-byte header is read; anything that is not RTP version
 * 2 is forwarded untouched and left out of the loss count. */
static void count_loss(struct relay_side *leg, const unsigned char *p, size_t len)
{
	uint16_t seq, delta;
	uint32_t ssrc;

	if (len < 12 || (p[0] >> 6) != 2 || looks_rtcp(p, len))
		return;
	seq = (uint16_t)(p[2] << 8 | p[3]);
	ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	if (!leg->seq_valid || ssrc != leg->ssrc) {
		leg->seq_valid = true;
		leg->ssrc = ssrc;
		leg->seq = seq;
		return;
	}
	delta = (uint16_t)(seq - leg->seq);
	if (delta == 0 || delta >= 0x8000)
		return; /* duplicate or late: the gap was already counted */
	if (delta <= MAX_DROPOUT)
		leg->st.lost += delta - 1u;
	leg->seq = seq;
}

/* Strict source: the locked peer only; with latch, the first packet from
 * the signalling IP locks the peer for this socket's kind. */
static bool source_ok(struct relay_side *leg, unsigned kind, const union raddr *src)
{
	if (leg->locked[kind])
		return addr_eq(&leg->peer[kind], src);
	if (!leg->latch || (kind == K_RTCP && leg->rtcp_mux))
		return false;
	if (!ip_eq(&leg->signal, src))
		return false;
	leg->peer[kind] = *src;
	leg->locked[kind] = true;
	return true;
}

/* Send all that the socket takes now; returns packets sent and adds their
 * bytes to *bytes. A datagram the kernel refuses outright is skipped so one
 * bad destination cannot stall the rest of the batch. */
static unsigned send_batch(int fd, struct mmsghdr *m, unsigned n, uint64_t *bytes)
{
	unsigned done = 0, sent = 0, i;
	int k;

	while (done < n) {
		k = sendmmsg(fd, m + done, n - done, MSG_DONTWAIT);
		if (k > 0) {
			for (i = done; i < done + (unsigned)k; i++)
				*bytes += m[i].msg_len;
			done += (unsigned)k;
			sent += (unsigned)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			done++;
		} else {
			break;
		}
	}
	return sent;
}

static void queue_tx(struct relay *r, unsigned o, unsigned *ntx,
		     struct relay_side *dst, unsigned i, size_t len)
{
	struct mmsghdr *m = &r->tx[o][*ntx];

	r->tx_iov[o][*ntx].iov_base = r->rx_buf[i];
	r->tx_iov[o][*ntx].iov_len = len;
	m->msg_hdr.msg_name = &dst->peer[o];
	m->msg_hdr.msg_namelen = raddr_len(&dst->peer[o]);
	(*ntx)++;
}

/* SRTP on this hop: verify and decrypt what the phone sent with its own
 * key, then encrypt for the far phone with that phone's key. False drops
 * the packet; *send false keeps it from the far phone, which must never
 * get plain RTP when it expects SRTP. */
static bool srtp_hop(struct relay_side *leg, struct relay_side *dst, unsigned kind,
		     unsigned char *p, size_t *len, bool *send)
{
	bool rtcp = kind == K_RTCP;

	if (leg->from_phone && media_srtp_unprotect(leg->from_phone, rtcp, p, len) != MEDIA_SRTP_OK) {
		leg->st.srtp_auth_failed++;
		return false;
	}
	if (*send && dst->to_phone && media_srtp_protect(dst->to_phone, rtcp, p, len) != MEDIA_SRTP_OK) {
		dst->st.srtp_protect_failed++;
		*send = false;
	}
	return true;
}

static void sock_read(struct relay *r, struct relay_sock *rs)
{
	struct relay_side *leg = rs->leg;
	struct relay_side *dst = &leg->s->leg[leg->idx ^ 1u];
	unsigned ntx[2] = { 0, 0 };
	unsigned i, kind, o;
	uint64_t bytes;
	bool send;
	int n;

	if (leg->s->closed)
		return;
	for (i = 0; i < RX_BATCH; i++)
		r->rx[i].msg_hdr.msg_namelen = sizeof(r->rx_addr[i]);
	n = recvmmsg(rs->fd, r->rx, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (i = 0; i < (unsigned)n; i++) {
		const unsigned char *p = r->rx_buf[i];
		size_t len = r->rx[i].msg_len;

		if (r->rx[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		if (!source_ok(leg, rs->kind, &r->rx_addr[i])) {
			leg->st.dropped_foreign++;
			continue;
		}
		kind = rs->kind;
		if (kind == K_RTP && leg->rtcp_mux && looks_rtcp(p, len))
			kind = K_RTCP;
		/* A muxed far leg takes both kinds on its RTP socket. */
		o = dst->rtcp_mux ? K_RTP : kind;
		send = dst->locked[o];
		if (leg->s->srtp && !srtp_hop(leg, dst, kind, r->rx_buf[i], &len, &send))
			continue;
		leg->st.packets_in++;
		leg->st.bytes_in += r->rx[i].msg_len; /* as received */
		leg->s->last_rx_ms = r->now_ms;
		if (kind == K_RTP)
			count_loss(leg, p, len);
		if (send)
			queue_tx(r, o, &ntx[o], dst, i, len);
	}
	for (o = 0; o < 2; o++) {
		if (!ntx[o])
			continue;
		bytes = 0;
		dst->st.packets_out += send_batch(dst->sock[o].fd, r->tx[o], ntx[o], &bytes);
		dst->st.bytes_out += bytes;
	}
}

/* ---- relay thread: commands and events ---- */

static void queue_event(struct relay *r, const struct relay_event *ev, bool *ok)
{
	*ok = spsc_push(&r->evq, ev);
	if (*ok)
		r->events_queued = true;
}

static void session_close_fds(struct relay_session *s)
{
	unsigned l, k;

	for (l = 0; l < 2; l++)
		for (k = 0; k < 2; k++) {
			if (s->leg[l].sock[k].fd >= 0)
				close(s->leg[l].sock[k].fd);
			s->leg[l].sock[k].fd = -1;
		}
}

static void list_unlink(struct relay_session **head, struct relay_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void list_push(struct relay_session **head, struct relay_session *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static void closed_event(const struct relay_session *s, struct relay_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = RELAY_EV_CLOSED;
	ev->session = s->id;
	ev->stats.leg[0] = s->leg[0].st;
	ev->stats.leg[1] = s->leg[1].st;
}

static void cmd_open(struct relay *r, struct relay_session *s)
{
	struct epoll_event ee = { .events = EPOLLIN };
	unsigned l, k;

	s->last_rx_ms = r->now_ms;
	list_push(&r->sessions, s);
	for (l = 0; l < 2; l++)
		for (k = 0; k < 2; k++) {
			ee.data.ptr = &s->leg[l].sock[k];
			if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, s->leg[l].sock[k].fd, &ee) != 0)
				log_error("media relay: session %u: cannot watch a socket (errno %d); its media will time out",
					  s->id, errno);
		}
}

static void cmd_peer(struct relay *r, const struct relay_cmd *c)
{
	struct relay_side *leg = &c->s->leg[c->leg];
	uint16_t port;

	leg->rtcp_mux = c->rtcp_mux;
	leg->latch = c->latch;
	leg->signal = c->signal;
	leg->locked[K_RTP] = leg->locked[K_RTCP] = false;
	leg->seq_valid = false;
	c->s->last_rx_ms = r->now_ms;
	if (c->latch || !c->has_peer)
		return;
	port = raddr_port(&c->peer);
	if (port == 0 || raddr_unspecified(&c->peer))
		return; /* held or disabled stream: nobody is accepted, nothing sent */
	leg->peer[K_RTP] = c->peer;
	leg->locked[K_RTP] = true;
	if (!c->rtcp_mux && port < UINT16_MAX) {
		leg->peer[K_RTCP] = c->peer;
		raddr_set_port(&leg->peer[K_RTCP], (uint16_t)(port + 1));
		leg->locked[K_RTCP] = true;
	}
}

static void session_drop_crypto(struct relay_session *s)
{
	unsigned l;

	for (l = 0; l < 2; l++) {
		media_srtp_free(s->leg[l].from_phone);
		media_srtp_free(s->leg[l].to_phone);
		s->leg[l].from_phone = s->leg[l].to_phone = NULL;
	}
	s->srtp = false;
}

static void cmd_crypto(const struct relay_cmd *c)
{
	struct relay_side *leg = &c->s->leg[c->leg];
	const struct relay_side *other = &c->s->leg[c->leg ^ 1u];

	media_srtp_free(leg->from_phone);
	media_srtp_free(leg->to_phone);
	leg->from_phone = c->from_phone;
	leg->to_phone = c->to_phone;
	c->s->srtp = leg->from_phone || leg->to_phone || other->from_phone || other->to_phone;
}

static void cmd_close(struct relay *r, struct relay_session *s)
{
	/* close() also takes the fds out of the epoll set. Socket events of
	 * this turn may still point at s: it waits on the zombie list, marked
	 * closed, until the end of the turn queues its final counters. */
	session_close_fds(s);
	session_drop_crypto(s);
	s->closed = true;
	list_unlink(&r->sessions, s);
	list_push(&r->zombies, s);
}

static void run_commands(struct relay *r)
{
	struct relay_cmd c;

	while (spsc_pop(&r->cmdq, &c)) {
		switch (c.kind) {
		case CMD_OPEN:
			cmd_open(r, c.s);
			break;
		case CMD_PEER:
			cmd_peer(r, &c);
			break;
		case CMD_CLOSE:
			cmd_close(r, c.s);
			break;
		case CMD_CRYPTO:
			cmd_crypto(&c);
			break;
		case CMD_TIMEOUT:
			r->no_media_s = c.no_media_s;
			break;
		}
	}
}

static void retry_zombies(struct relay *r)
{
	struct relay_session *s, *next;
	struct relay_event ev;
	bool ok;

	for (s = r->zombies; s; s = next) {
		next = s->next;
		closed_event(s, &ev);
		queue_event(r, &ev, &ok);
		if (!ok)
			return;
		list_unlink(&r->zombies, s);
		free(s);
	}
}

static void scan_no_media(struct relay *r)
{
	int64_t limit = (int64_t)r->no_media_s * 1000;
	struct relay_event ev = { .kind = RELAY_EV_NO_MEDIA };
	struct relay_session *s;
	bool ok;

	for (s = r->sessions; s; s = s->next) {
		if (s->no_media_sent || r->now_ms - s->last_rx_ms < limit)
			continue;
		ev.session = s->id;
		queue_event(r, &ev, &ok);
		s->no_media_sent = ok; /* not queued: tried again next scan */
	}
}

static void destroy_all(struct relay *r)
{
	struct relay_session *s;

	while ((s = r->sessions)) {
		list_unlink(&r->sessions, s);
		session_close_fds(s);
		session_drop_crypto(s);
		free(s);
	}
	while ((s = r->zombies)) {
		list_unlink(&r->zombies, s);
		free(s);
	}
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct epoll_event evs[EPOLL_BATCH];
	int64_t next_scan = monotonic_ms() + SCAN_MS;
	int n, i, timeout;

	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		timeout = r->zombies ? 20 : r->no_media_s ? SCAN_MS : -1;
		n = epoll_wait(r->epfd, evs, EPOLL_BATCH, timeout);
		r->now_ms = monotonic_ms();
		/* Commands first, so a peer set just before its phone's first
		 * packet is known when that packet is read. */
		for (i = 0; i < n; i++)
			if (!evs[i].data.ptr) {
				drain_efd(r->cmd_efd);
				run_commands(r);
			}
		for (i = 0; i < n; i++)
			if (evs[i].data.ptr)
				sock_read(r, evs[i].data.ptr);
		if (r->no_media_s && r->now_ms >= next_scan) {
			scan_no_media(r);
			next_scan = r->now_ms + SCAN_MS;
		}
		if (r->zombies)
			retry_zombies(r);
		if (r->events_queued) {
			r->events_queued = false;
			wake(r->ev_efd);
		}
	}
	/* Opens queued before the stop are taken over so their sockets close. */
	run_commands(r);
	destroy_all(r);
	return NULL;
}

/* ---- signalling thread ---- */

static struct relay_handle *handle_find(struct relay *r, uint32_t id)
{
	unsigned slot = id & SLOT_MASK;

	if (slot >= r->nslots || !r->slots[slot].in_use || r->slots[slot].id != id)
		return NULL;
	return &r->slots[slot];
}

static void handle_release(struct relay *r, struct relay_handle *h)
{
	unsigned l;

	for (l = 0; l < 2; l++)
		if (portpool_give(r->pool, h->port[l]) != 0)
			log_error("media relay: port %u was not taken", h->port[l]);
	if (!h->closing)
		r->nopen--;
	h->in_use = false;
	h->s = NULL;
	r->free_slots[(r->slot_head + r->slot_nfree) % r->nslots] =
		(uint16_t)(h - r->slots);
	r->slot_nfree++;
}

static void on_events(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct relay_event ev;
	struct relay_handle *h;

	drain_efd(r->ev_efd);
	while (spsc_pop(&r->evq, &ev)) {
		h = handle_find(r, ev.session);
		if (!h)
			continue;
		if (ev.kind == RELAY_EV_CLOSED)
			handle_release(r, h);
		else if (h->closing)
			continue; /* the caller has already ended it */
		if (r->cb)
			r->cb(r->cb_arg, &ev);
	}
}

/* Room for a command other than a close: the last nslots records belong
 * to closes (see the top of the file). */
static bool cmd_room(struct relay *r)
{
	return spsc_used(&r->cmdq) + 1 + r->nslots <= spsc_capacity(&r->cmdq);
}

static int send_cmd(struct relay *r, const struct relay_cmd *c)
{
	if (!spsc_push(&r->cmdq, c))
		return ENOBUFS;
	wake(r->cmd_efd);
	return 0;
}

static int check_config(const struct relay_config *cfg)
{
	int fam = cfg->bind_addr.ss_family;

	if (fam != AF_INET && fam != AF_INET6)
		return EAFNOSUPPORT;
	if (cfg->bind_len != (fam == AF_INET ? sizeof(struct sockaddr_in)
					     : sizeof(struct sockaddr_in6)))
		return EINVAL;
	/* Two pairs per session, and slot indices must fit in an id. */
	if (cfg->port_min == 0 || cfg->port_min % 2 != 0 ||
	    (unsigned)cfg->port_max < (unsigned)cfg->port_min + 3u)
		return EINVAL;
	return 0;
}

static int start_thread(struct relay *r)
{
	sigset_t all, old;
	int err;

	/* Signals belong to the signalling thread's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->thread, NULL, relay_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	pthread_setname_np(r->thread, "rf-relay");
	r->thread_started = true;
	return 0;
}

static int init_slots(struct relay *r)
{
	unsigned i;

	r->nslots = portpool_pairs(r->pool) / 2;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	r->free_slots = calloc(r->nslots, sizeof(*r->free_slots));
	if (!r->slots || !r->free_slots)
		return ENOMEM;
	for (i = 0; i < r->nslots; i++)
		r->free_slots[i] = (uint16_t)i;
	r->slot_nfree = r->nslots;
	return 0;
}

static void init_rx(struct relay *r)
{
	unsigned i, o;

	for (i = 0; i < RX_BATCH; i++) {
		r->rx_iov[i].iov_base = r->rx_buf[i];
		r->rx_iov[i].iov_len = RX_BUF;
		r->rx[i].msg_hdr.msg_iov = &r->rx_iov[i];
		r->rx[i].msg_hdr.msg_iovlen = 1;
		r->rx[i].msg_hdr.msg_name = &r->rx_addr[i];
		for (o = 0; o < 2; o++) {
			r->tx[o][i].msg_hdr.msg_iov = &r->tx_iov[o][i];
			r->tx[o][i].msg_hdr.msg_iovlen = 1;
		}
	}
}

int relay_alloc(struct relay **rp, struct event_base *base,
		const struct relay_config *cfg, relay_event_cb cb, void *arg)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = NULL };
	struct relay *r;
	int err;

	err = check_config(cfg);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	r->cmd_efd = r->ev_efd = r->epfd = -1;
	r->cfg = *cfg;
	r->no_media_s = cfg->no_media_timeout_s;
	r->base = base;
	r->cb = cb;
	r->cb_arg = arg;
	atomic_init(&r->stop, false);
	err = portpool_alloc(&r->pool, cfg->port_min, cfg->port_max);
	if (err)
		goto out;
	err = init_slots(r);
	if (err)
		goto out;
	r->rx_buf = calloc(RX_BATCH, sizeof(*r->rx_buf));
	if (!r->rx_buf) {
		err = ENOMEM;
		goto out;
	}
	init_rx(r);
	err = spsc_init(&r->cmdq, r->nslots + CMD_SLACK, sizeof(struct relay_cmd));
	if (!err)
		err = spsc_init(&r->evq, 2u * r->nslots + 16u, sizeof(struct relay_event));
	if (err)
		goto out;
	r->cmd_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->ev_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->cmd_efd < 0 || r->ev_efd < 0 || r->epfd < 0 ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->cmd_efd, &ee) != 0) {
		err = errno;
		goto out;
	}
	r->ev_wake = event_new(base, r->ev_efd, EV_READ | EV_PERSIST, on_events, r);
	if (!r->ev_wake || event_add(r->ev_wake, NULL) != 0) {
		err = ENOMEM;
		goto out;
	}
	err = start_thread(r);
out:
	if (err)
		relay_free(r);
	else
		*rp = r;
	return err;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	if (r->thread_started) {
		atomic_store_explicit(&r->stop, true, memory_order_release);
		wake(r->cmd_efd);
		pthread_join(r->thread, NULL);
	}
	if (r->ev_wake)
		event_free(r->ev_wake);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->cmd_efd >= 0)
		close(r->cmd_efd);
	if (r->ev_efd >= 0)
		close(r->ev_efd);
	spsc_fini(&r->cmdq);
	spsc_fini(&r->evq);
	free(r->rx_buf);
	free(r->slots);
	free(r->free_slots);
	portpool_free(r->pool);
	free(r);
}

static void session_init(struct relay_session *s, uint32_t id, int fd[2][2])
{
	unsigned l, k;

	s->id = id;
	for (l = 0; l < 2; l++) {
		s->leg[l].s = s;
		s->leg[l].idx = l;
		for (k = 0; k < 2; k++) {
			s->leg[l].sock[k].fd = fd[l][k];
			s->leg[l].sock[k].kind = k;
			s->leg[l].sock[k].leg = &s->leg[l];
		}
	}
}

/* Both legs' pairs, or nothing. */
static int bind_legs(struct relay *r, uint16_t port[2], int fd[2][2])
{
	const struct sockaddr *addr = (const struct sockaddr *)&r->cfg.bind_addr;
	int err;

	err = portpool_bind(r->pool, addr, r->cfg.bind_len, &port[0], fd[0]);
	if (err)
		return err;
	err = portpool_bind(r->pool, addr, r->cfg.bind_len, &port[1], fd[1]);
	if (err) {
		close(fd[0][0]);
		close(fd[0][1]);
		(void)portpool_give(r->pool, port[0]);
	}
	return err;
}

int relay_open(struct relay *r, uint32_t *session, uint16_t port[2])
{
	struct relay_cmd c = { .kind = CMD_OPEN };
	struct relay_session *s;
	struct relay_handle *h;
	int fd[2][2];
	uint16_t ports[2];
	unsigned slot;
	int err;

	if (!cmd_room(r))
		return ENOBUFS;
	if (r->slot_nfree == 0 || portpool_pairs_free(r->pool) < 2)
		return EAGAIN;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	err = bind_legs(r, ports, fd);
	if (err) {
		free(s);
		return err;
	}
	slot = r->free_slots[r->slot_head];
	r->slot_head = (r->slot_head + 1) % r->nslots;
	r->slot_nfree--;
	h = &r->slots[slot];
	h->gen = (uint16_t)(h->gen + 1u);
	if (h->gen == 0)
		h->gen = 1; /* so id 0 never exists */
	h->id = (uint32_t)h->gen << SLOT_BITS | slot;
	h->port[0] = ports[0];
	h->port[1] = ports[1];
	h->in_use = true;
	h->closing = false;
	h->s = s;
	session_init(s, h->id, fd);
	c.s = s;
	/* cmd_room() held above and nothing else pushes on this thread. */
	(void)send_cmd(r, &c);
	r->nopen++;
	*session = h->id;
	port[0] = ports[0];
	port[1] = ports[1];
	return 0;
}

int relay_set_peer(struct relay *r, uint32_t session, enum relay_leg leg,
		   const struct sockaddr *peer, bool rtcp_mux, bool latch,
		   const struct sockaddr *signal_ip)
{
	struct relay_cmd c = { .kind = CMD_PEER };
	struct relay_handle *h = handle_find(r, session);
	int fam = r->cfg.bind_addr.ss_family;
	int err;

	if (!h || h->closing)
		return ENOENT;
	if ((leg != RELAY_LEG_A && leg != RELAY_LEG_B) || (latch && !signal_ip) ||
	    (!latch && !peer))
		return EINVAL;
	if (peer) {
		err = raddr_from(&c.peer, peer, fam);
		if (err)
			return err;
		c.has_peer = true;
	}
	if (latch) {
		err = raddr_from(&c.signal, signal_ip, fam);
		if (err)
			return err;
	}
	if (!cmd_room(r))
		return ENOBUFS;
	c.s = h->s;
	c.leg = (unsigned)leg;
	c.rtcp_mux = rtcp_mux;
	c.latch = latch;
	return send_cmd(r, &c);
}

int relay_set_crypto(struct relay *r, uint32_t session, enum relay_leg leg,
		     const struct relay_crypto *from_phone, const struct relay_crypto *to_phone)
{
	struct relay_cmd c = { .kind = CMD_CRYPTO };
	struct relay_handle *h = handle_find(r, session);
	int err = 0;

	if (!h || h->closing)
		return ENOENT;
	if (leg != RELAY_LEG_A && leg != RELAY_LEG_B)
		return EINVAL;
	if (!cmd_room(r))
		return ENOBUFS;
	/* Expanded here so the relay thread never sees a key, only sessions. */
	if (from_phone)
		err = media_srtp_alloc(&c.from_phone, from_phone, MEDIA_SRTP_INBOUND);
	if (!err && to_phone)
		err = media_srtp_alloc(&c.to_phone, to_phone, MEDIA_SRTP_OUTBOUND);
	c.s = h->s;
	c.leg = (unsigned)leg;
	if (!err)
		err = send_cmd(r, &c);
	if (err) {
		media_srtp_free(c.from_phone);
		media_srtp_free(c.to_phone);
	}
	return err;
}

void relay_close(struct relay *r, uint32_t session)
{
	struct relay_cmd c = { .kind = CMD_CLOSE };
	struct relay_handle *h = handle_find(r, session);

	if (!h || h->closing)
		return;
	c.s = h->s;
	if (send_cmd(r, &c) != 0) {
		/* Cannot happen with the reserve; say so loudly if it does. */
		log_error("media relay: command queue full, session %u not closed", session);
		return;
	}
	h->closing = true;
	r->nopen--;
}

int relay_set_no_media_timeout(struct relay *r, unsigned seconds)
{
	struct relay_cmd c = { .kind = CMD_TIMEOUT, .no_media_s = seconds };

	if (!cmd_room(r))
		return ENOBUFS;
	return send_cmd(r, &c);
}

unsigned relay_ports_free(const struct relay *r)
{
	return 2u * portpool_pairs_free(r->pool);
}

unsigned relay_sessions_open(const struct relay *r)
{
	return r->nopen;
}
