/* nftables sync (S25): the language the unprivileged daemon speaks to the
 * privileged firewall helper (guard/nft_helper.h), and the nft commands
 * the helper makes of it.
 *
 * The daemon may only ask for three things, one per message:
 *
 *     add ADDR TIMEOUT     ban ADDR in the kernel for TIMEOUT seconds
 *     del ADDR             lift it
 *     flush                empty the sets (before a full resync)
 *
 * ADDR is one IPv4 or IPv6 address, TIMEOUT 1..NFT_TIMEOUT_MAX in decimal
 * without a leading zero, words separated by exactly one space, nothing
 * else: no newline, no NUL, no second command. The helper parses every
 * message into binary form and writes nft commands only from that form,
 * so no byte the daemon sent ever reaches nft's parser; a message that
 * is not exactly one of the three is refused whole.
 *
 * The set named in [firewall] nft_set holds IPv4 addresses; the same name
 * with "6" appended holds IPv6 addresses (an nftables set has one type). */
#ifndef RF_GUARD_NFT_H
#define RF_GUARD_NFT_H

#include <stddef.h>

#include "guard/ban.h"

#define NFT_CMD_MAX 96                 /* longest message: "add " + IPv6 + timeout */
#define NFT_TIMEOUT_MAX (366u * 86400) /* a CLI ban lasts at most 365 days */
#define NFT_NAME_MAX 31                /* table and set names; the IPv6 set adds "6" */
#define NFT_SCRIPT_MAX 512             /* nft commands for one message */

/* Where bans go: `[firewall] nft_set = FAMILY TABLE SET`. */
struct nft_target {
	char family[8];                /* "inet": one table for IPv4 and IPv6 */
	char table[NFT_NAME_MAX + 1];
	char set[NFT_NAME_MAX + 1];    /* IPv4; set + "6" holds IPv6 */
};

/* Parse "inet TABLE SET": names are 1..NFT_NAME_MAX characters of
 * [A-Za-z0-9_], starting with a letter. Returns 0 or EINVAL with the
 * reason in why. */
int nft_target_parse(const char *spec, struct nft_target *t, char *why, size_t whylen);

enum nft_op { NFT_ADD, NFT_DEL, NFT_FLUSH };

struct nft_cmd {
	enum nft_op op;
	struct ban_addr addr;          /* add, del */
	unsigned timeout;              /* add: seconds */
};

/* Parse one message of `len` bytes. Returns 0, or EINVAL with a static
 * reason in *why (which never quotes the message). */
int nft_cmd_parse(const char *msg, size_t len, struct nft_cmd *out, const char **why);

/* The message for a command, from its binary form. Returns its length,
 * or 0 when the command is not valid (no address, timeout out of range). */
size_t nft_cmd_format(const struct nft_cmd *c, char *buf, size_t len);

/* The nft commands for a parsed command, one transaction's worth. An add
 * replaces any element already there (add, delete, add: nft keeps the old
 * timeout of an element that exists); a del of an address that is not in
 * the set is no error (add, then delete). Returns the length, or 0 when
 * `len` is too small. */
size_t nft_cmd_script(const struct nft_cmd *c, const struct nft_target *t, char *buf,
		      size_t len);

#endif
