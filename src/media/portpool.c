/* The relay's UDP port pool: a FIFO of free pairs plus a taken flag per
 * pair, so a double give is caught instead of corrupting the FIFO. */
#include "media/portpool.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct portpool {
	uint16_t port_min;
	unsigned npairs;
	unsigned nfree;
	unsigned head;      /* FIFO read position in `queue` */
	uint16_t *queue;    /* free pair indices, npairs slots, circular */
	bool *taken;        /* per pair index */
};

int portpool_alloc(struct portpool **pp, uint16_t port_min, uint16_t port_max)
{
	struct portpool *p = NULL;
	unsigned i;
	int err = 0;

	if (port_min == 0 || port_min % 2 != 0 || port_max <= port_min) {
		err = EINVAL;
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = ENOMEM;
		goto out;
	}
	p->port_min = port_min;
	p->npairs = ((unsigned)port_max - port_min + 1) / 2;
	p->queue = calloc(p->npairs, sizeof(*p->queue));
	p->taken = calloc(p->npairs, sizeof(*p->taken));
	if (!p->queue || !p->taken) {
		err = ENOMEM;
		goto out;
	}
	for (i = 0; i < p->npairs; i++)
		p->queue[i] = (uint16_t)i;
	p->nfree = p->npairs;
out:
	if (err)
		portpool_free(p);
	else
		*pp = p;
	return err;
}

void portpool_free(struct portpool *p)
{
	if (!p)
		return;
	free(p->queue);
	free(p->taken);
	free(p);
}

int portpool_take(struct portpool *p, uint16_t *rtp_port)
{
	uint16_t idx;

	if (p->nfree == 0)
		return EAGAIN;
	idx = p->queue[p->head];
	p->head = (p->head + 1) % p->npairs;
	p->nfree--;
	p->taken[idx] = true;
	*rtp_port = (uint16_t)(p->port_min + 2u * idx);
	return 0;
}

int portpool_give(struct portpool *p, uint16_t rtp_port)
{
	unsigned off, idx;

	if (rtp_port < p->port_min)
		return EINVAL;
	off = (unsigned)rtp_port - p->port_min;
	idx = off / 2;
	if (off % 2 != 0 || idx >= p->npairs || !p->taken[idx])
		return EINVAL;
	p->taken[idx] = false;
	p->queue[(p->head + p->nfree) % p->npairs] = (uint16_t)idx;
	p->nfree++;
	return 0;
}

unsigned portpool_pairs(const struct portpool *p)
{
	return p->npairs;
}

unsigned portpool_pairs_free(const struct portpool *p)
{
	return p->nfree;
}

static int bind_one(const struct sockaddr *addr, socklen_t addr_len,
		    uint16_t port, int *fdp)
{
	struct sockaddr_storage ss;
	int fd, err = 0;

	if (addr_len > sizeof(ss))
		return EINVAL;
	memcpy(&ss, addr, addr_len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		return EAFNOSUPPORT;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (bind(fd, (struct sockaddr *)&ss, addr_len) != 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* Bind both ports of one pair, or neither. */
static int bind_pair(const struct sockaddr *addr, socklen_t addr_len,
		     uint16_t rtp_port, int fd[2])
{
	int err;

	err = bind_one(addr, addr_len, rtp_port, &fd[0]);
	if (err)
		return err;
	err = bind_one(addr, addr_len, (uint16_t)(rtp_port + 1), &fd[1]);
	if (err) {
		close(fd[0]);
		fd[0] = -1;
	}
	return err;
}

int portpool_bind(struct portpool *p, const struct sockaddr *addr,
		  socklen_t addr_len, uint16_t *rtp_port, int fd[2])
{
	/* Each pair free now is tried at most once: a pair given back after
	 * EADDRINUSE goes behind all the others. */
	unsigned tries = p->nfree;
	uint16_t port;
	int err;

	while (tries-- > 0) {
		err = portpool_take(p, &port);
		if (err)
			return err;
		err = bind_pair(addr, addr_len, port, fd);
		if (!err) {
			*rtp_port = port;
			return 0;
		}
		(void)portpool_give(p, port);
		if (err != EADDRINUSE)
			return err;
	}
	return EAGAIN;
}
