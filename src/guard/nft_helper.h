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
 * The daemon's side never blocks on the helper for a single ban: when the
 * socket is full the message is dropped and a full resync is asked for. */
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

/* Queue one command without blocking. Returns 0, EAGAIN when the socket
 * is full (the command is lost: resync), EPIPE when the helper is gone,
 * or EINVAL for a command that does not format. */
int nft_helper_send(struct nft_helper *h, const struct nft_cmd *c);
/* Queue one command of a resync, waiting up to `wait_ms` for room. */
int nft_helper_send_wait(struct nft_helper *h, const struct nft_cmd *c, int wait_ms);

/* The helper's loop over `fd` (exposed for tests): read messages, run
 * each valid one against `t` with libnftables, log refusals and nft's
 * errors. Returns when the other end closes. */
void nft_helper_serve(int fd, const struct nft_target *t);

#endif
