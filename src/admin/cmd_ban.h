/* ban list|add|del, ext unlock|locked: the administrator's view of the
 * ban engine's persistent state (S4). The handlers are registered in
 * cmdtab.c; the parser is here so that tests can reach it. */
#ifndef RF_ADMIN_CMD_BAN_H
#define RF_ADMIN_CMD_BAN_H

#include <stddef.h>

#include "admin/admin.h"

/* The longest ban the CLI sets: longer is a typo (365d for 36h). */
#define BAN_CLI_MAX_S (365 * 86400)
/* Without --for. */
#define BAN_CLI_DEFAULT_S (24 * 3600)
#define BAN_CLI_DEFAULT_TEXT "24h"

/* Parse one IPv4 or IPv6 address into its canonical text (inet_ntop; an
 * IPv4-mapped IPv6 address becomes the plain IPv4 address). A port, a
 * prefix length, brackets, a zone index, the unspecified address and a
 * multicast address are refused with a reason in why. Returns 0 or
 * EINVAL. `out` holds at least BAN_ADDR_MAX bytes. */
int ban_cli_addr_parse(const char *text, char *out, size_t outlen, char *why,
		       size_t whylen);

int cmd_ban_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ban_add(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ban_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_unlock(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_locked(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);

#endif
