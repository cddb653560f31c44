/* firewall print (S25): the host ruleset for this instance. The writer is
 * apart from the handler so that tests can reach it. */
#ifndef RF_ADMIN_CMD_FIREWALL_H
#define RF_ADMIN_CMD_FIREWALL_H

#include <stddef.h>
#include <stdio.h>

#include "admin/admin.h"

struct rf_conf;

/* Write the nft ruleset for `c` to `out`. Returns 0, or -1 with a reason
 * in why when [firewall] nft_set cannot be read. */
int firewall_ruleset(const struct rf_conf *c, FILE *out, char *why, size_t whylen);

int cmd_firewall_print(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *,
		       struct admin_reply *);

#endif
