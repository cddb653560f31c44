/* blacklist add|del|list|import and rates import|list|del|lookup: the
 * toll-fraud lists an administrator keeps (S12, S13). Handlers are
 * registered in cmdtab.c. The imports live in cmd_fraud_import.c; the
 * helpers both files share are declared here.
 *
 * Every number or prefix is normalised to E.164 with the configured
 * numbering plan (fraud/numplan.h) before it is stored or looked up, so
 * "0909", "+44909" and "0044909" are one entry. The daemon re-reads the
 * tables when another process commits, so a change reaches it without a
 * restart. */
#ifndef RF_ADMIN_CMD_FRAUD_H
#define RF_ADMIN_CMD_FRAUD_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/admin.h"
#include "fraud/numplan.h"
#include "store/store.h"

/* The numbering plan of [numbering] country, or ADMIN_FAILED in r. */
int fraud_cli_plan(struct admin_ctx *ctx, struct numplan **np, struct admin_reply *r);

/* A number or prefix as an administrator writes it ("0909", "+972",
 * "00 972 5") as an E.164 prefix with its '+'. Returns 0, or EINVAL with
 * a one-line reason quoting the text in why; a bare country code ("972")
 * is refused with the spellings to use instead (the plan's reason). */
int fraud_cli_prefix(const struct numplan *np, const char *text, char out[NUM_E164_MAX + 1],
		     char *why, size_t whylen);

/* A blacklist reason: at most BLACKLIST_REASON_MAX bytes, no control
 * characters. Returns 0 or EINVAL with the reason in why. */
int fraud_cli_reason(const char *text, char *why, size_t whylen);

/* "destination blacklist" or "caller blacklist". */
const char *fraud_cli_list_name(enum blacklist_dir dir);

/* A change to a list or the rate table, for the security log: the fields
 * that are set (NULL, or entries < 0, leaves one out). */
struct fraud_event {
	const char *name;     /* blacklist_added, rates_imported, ... */
	const char *dir;      /* dest, caller */
	const char *prefix;
	const char *reason;   /* untrusted: quoted and escaped */
	long long entries;    /* rows an import wrote */
	const char *mode;     /* merge, replace */
};
void fraud_cli_log(struct admin_ctx *ctx, const struct fraud_event *ev);

int cmd_blacklist_add(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_blacklist_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_blacklist_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_blacklist_import(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_rates_import(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_rates_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_rates_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_rates_lookup(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);

#endif
