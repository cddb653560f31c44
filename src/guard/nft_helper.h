/* The firewall helper (S25): a small process forked before the daemon
 * drops root, the only part of Ringfence that can change the kernel's
 * firewall. It keeps CAP_NET_ADMIN and nothing else (it runs as the
 * service user, cannot gain privileges and cannot be traced by the
 * daemon), holds no socket but one end of a socketpair, and does only
 * what guard/nft.h allows: add an address to the banned set with a
 * timeout, delete it, flush the set. Each message is parsed into binary
 * form and the nft commands are written from that (libnftables; no shell,
 * no nft binary), so a daemon taken over by an attacker can at worst ban
 * or unban addresses, never run another nft command.
 *
 * The daemon's side never blocks on the helper: commands wait in a bounded
 * queue until the socket takes them, and the daemon pumps the queue on
 * its timer. */
#ifndef RF_GUARD_NFT_HELPER_H
#define RF_GUARD_NFT_HELPER_H

#include <stddef.h>
#include <stdint.h>

#include "guard/nft.h"

struct nft_helper;

/* Fork the helper. As root it becomes `user` keeping only CAP_NET_ADMIN;
 * otherwise it keeps the caller's rights (and fails to reach netlink
 * without CAP_NET_ADMIN, which it logs). Call before dropping root and
 * before opening anything the helper should not hold. Returns 0 or an
 * errno value with a message in err. */
int nft_helper_start(struct nft_helper **hp, const struct nft_target *t, const char *user,
		     char *err, size_t errlen);
/* Close the socket (the helper exits on end of file) and reap it. */
void nft_helper_stop(struct nft_helper *h);

/* Commands that may wait for the helper: two for each of the 65,536 bans
 * the guard holds at most (a resync, then as many changes), and some. */
#define NFT_QUEUE_MAX (2u * 65536 + 4096)

/* Queue one command and send what the socket takes, without blocking.
 * Returns 0, ENOSPC when NFT_QUEUE_MAX commands wait already (the command
 * is not queued), EPIPE when the helper is gone, or EINVAL for a command
 * that does not format. */
int nft_helper_queue(struct nft_helper *h, const struct nft_cmd *c);
/* Send what the socket takes of the queue. Returns 0 or EPIPE. */
int nft_helper_pump(struct nft_helper *h);
/* Forget every queued command (a resync's flush supersedes them). */
void nft_helper_discard(struct nft_helper *h);
size_t nft_helper_pending(const struct nft_helper *h);

/* The helper's loop over `fd` (exposed for tests): read messages, run
 * each valid one against `t` with libnftables, log refusals and nft's
 * errors. Returns when the other end closes. */
void nft_helper_serve(int fd, const struct nft_target *t);

#endif
