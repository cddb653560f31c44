/* UDP transport: one socket per listen address, drained with recvmmsg()
 * in batches so a flood costs one system call per SIP_UDP_RECV_BATCH
 * datagrams instead of one per datagram. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/limits.h"
#include "sip/transport.h"
#include "sip/transport_priv.h"

/* One byte more than the largest message so a datagram of exactly the cap
 * is told apart from a truncated one, and room for a terminating NUL. */
#define UDP_SLOT (SIP_MAX_MSG_SIZE + 2u)

static int rx_buffers_alloc(struct transport *t)
{
	if (t->rx_msgs)
		return 0;
	t->rx_msgs = calloc(SIP_UDP_RECV_BATCH, sizeof(*t->rx_msgs));
	t->rx_iov = calloc(SIP_UDP_RECV_BATCH, sizeof(*t->rx_iov));
	t->rx_addrs = calloc(SIP_UDP_RECV_BATCH, sizeof(*t->rx_addrs));
	t->rx_buf = malloc((size_t)SIP_UDP_RECV_BATCH * UDP_SLOT);
	if (!t->rx_msgs || !t->rx_iov || !t->rx_addrs || !t->rx_buf)
		return ENOMEM;
	return 0;
}

static void rx_batch_reset(struct transport *t)
{
	for (unsigned i = 0; i < SIP_UDP_RECV_BATCH; i++) {
		struct msghdr *h = &t->rx_msgs[i].msg_hdr;

		t->rx_iov[i].iov_base = t->rx_buf + (size_t)i * UDP_SLOT;
		t->rx_iov[i].iov_len = UDP_SLOT - 1;
		memset(h, 0, sizeof(*h));
		h->msg_name = &t->rx_addrs[i];
		h->msg_namelen = sizeof(t->rx_addrs[i]);
		h->msg_iov = &t->rx_iov[i];
		h->msg_iovlen = 1;
		t->rx_msgs[i].msg_len = 0;
	}
}

static void deliver(struct udp_sock *us, unsigned i)
{
	struct transport *t = us->t;
	struct mmsghdr *m = &t->rx_msgs[i];
	char *buf = t->rx_iov[i].iov_base;
	size_t len = m->msg_len;
	struct sip_peer peer;

	/* Oversized datagrams are dropped whole: a truncated SIP message
	 * would only be answered with a misleading error. */
	if ((m->msg_hdr.msg_flags & MSG_TRUNC) || len > SIP_MAX_MSG_SIZE)
		return;
	if (transport_is_keepalive(buf, len))
		return;
	buf[len] = '\0';

	memset(&peer, 0, sizeof(peer));
	peer.tp = SIP_TP_UDP;
	memcpy(&peer.addr, &t->rx_addrs[i], sizeof(peer.addr));
	peer.addrlen = m->msg_hdr.msg_namelen;
	peer.sock = us->fd;
	t->rx_cb(t->rx_arg, buf, len, &peer);
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *us = arg;

	(void)what;
	for (unsigned round = 0; round < SIP_UDP_RECV_ROUNDS; round++) {
		int n;

		rx_batch_reset(us->t);
		n = recvmmsg(fd, us->t->rx_msgs, SIP_UDP_RECV_BATCH,
			     MSG_DONTWAIT, NULL);
		if (n <= 0) {
			us->t->rx_full_streak = 0;
			return; /* EAGAIN, or an ICMP error queued on the socket */
		}
		for (int i = 0; i < n; i++)
			deliver(us, (unsigned)i);
		if ((unsigned)n < SIP_UDP_RECV_BATCH) {
			us->t->rx_full_streak = 0;
			return;
		}
	}
	us->t->rx_full_streak++; /* the overload guard reads it */
	/* Still more queued: the persistent event fires again on the next
	 * loop pass, after the other sockets and timers had their turn. */
}

int udp_open(struct transport *t, const struct sockaddr *sa, socklen_t len,
	     char *err, size_t errlen)
{
	struct udp_sock *us;
	char where[80];
	int fd, rcvbuf = (int)SIP_UDP_RCVBUF;

	sockaddr_format(sa, where, sizeof(where));
	if (t->nudp >= TRANSPORT_MAX_SOCKS) {
		snprintf(err, errlen, "udp %s: too many sockets", where);
		return EINVAL;
	}
	if (rx_buffers_alloc(t))
		return ENOMEM;
	fd = transport_bind(SOCK_DGRAM, sa, len);
	if (fd < 0) {
		snprintf(err, errlen, "udp %s: %s", where, strerror(-fd));
		return -fd;
	}
	/* Best effort: the kernel clamps it to net.core.rmem_max. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	us = &t->udp[t->nudp];
	us->fd = fd;
	us->family = sa->sa_family;
	us->t = t;
	us->ev = event_new(t->base, fd, EV_READ | EV_PERSIST, udp_readable, us);
	if (!us->ev || event_add(us->ev, NULL) < 0) {
		if (us->ev)
			event_free(us->ev);
		close(fd);
		memset(us, 0, sizeof(*us));
		return ENOMEM;
	}
	t->nudp++;
	return 0;
}

void udp_close_all(struct transport *t)
{
	for (unsigned i = 0; i < t->nudp; i++) {
		event_free(t->udp[i].ev);
		close(t->udp[i].fd);
	}
	t->nudp = 0;
	free(t->rx_msgs);
	free(t->rx_iov);
	free(t->rx_addrs);
	free(t->rx_buf);
	t->rx_msgs = NULL;
	t->rx_iov = NULL;
	t->rx_addrs = NULL;
	t->rx_buf = NULL;
}

/* The socket a reply leaves from: the one the request came in on when the
 * peer names one of ours, otherwise the first of the right family. An fd
 * that is not one of our UDP sockets is never written to. */
static int pick_socket(const struct transport *t, const struct sip_peer *dst)
{
	int family = dst->addr.ss_family;

	for (unsigned i = 0; i < t->nudp; i++)
		if (t->udp[i].fd == dst->sock && t->udp[i].family == family)
			return dst->sock;
	for (unsigned i = 0; i < t->nudp; i++)
		if (t->udp[i].family == family)
			return t->udp[i].fd;
	return -1;
}

int udp_send(struct transport *t, const struct sip_peer *dst,
	     const void *buf, size_t len)
{
	int fd = pick_socket(t, dst);
	ssize_t n;

	if (fd < 0)
		return EAFNOSUPPORT;
	do {
		n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&dst->addr, dst->addrlen);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EMSGSIZE;
}
