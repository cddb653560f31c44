/* The relay's UDP port pool. Used on the signalling thread only.
 *
 * The range [port_min, port_max] is cut into pairs: an even RTP port and the
 * odd RTCP port above it. Free pairs wait in a FIFO: a pair that comes back
 * goes to the end of the line, so the next calls get the ports that have
 * been idle longest and stray packets of an old call rarely reach a new one. */
#ifndef RF_MEDIA_PORTPOOL_H
#define RF_MEDIA_PORTPOOL_H

#include <stdint.h>
#include <sys/socket.h>

struct portpool;

/* port_min must be even and the range must hold at least one pair:
 * EINVAL otherwise. An odd port_max's last port is unused. */
int portpool_alloc(struct portpool **pp, uint16_t port_min, uint16_t port_max);
void portpool_free(struct portpool *p);

/* Take the pair idle longest: its RTP (even) port. EAGAIN when empty. */
int portpool_take(struct portpool *p, uint16_t *rtp_port);
/* Return a taken pair. EINVAL for a port that is not a taken pair's RTP
 * port (double give, out of range): the pool is left unchanged. */
int portpool_give(struct portpool *p, uint16_t rtp_port);

/* Take a pair and bind a nonblocking UDP socket to each of its ports on
 * `addr` (its port ignored). Pairs whose ports are held by another program
 * (EADDRINUSE) go back to the end of the line and the next pair is tried.
 * On success fd[0] is the RTP socket, fd[1] the RTCP one. EAGAIN when no
 * free pair could be bound; another errno value when binding fails for a
 * reason another port would not fix (nothing is then kept). */
int portpool_bind(struct portpool *p, const struct sockaddr *addr,
		  socklen_t addr_len, uint16_t *rtp_port, int fd[2]);

unsigned portpool_pairs(const struct portpool *p);      /* pairs in the range */
unsigned portpool_pairs_free(const struct portpool *p); /* pairs not taken */

#endif
