/* Credit limits on the command line (S13): the --daily-cap and
 * --monthly-cap options of the commands that own a scope's caps, and
 * `ringfence spend`, the spend against each cap. */
#ifndef RF_ADMIN_CMD_CREDIT_H
#define RF_ADMIN_CMD_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "admin/admin.h"
#include "fraud/credit.h"

struct rf_conf;

/* --daily-cap and --monthly-cap as given. */
struct cap_args {
	bool daily_given, monthly_given;
	int64_t daily, monthly;   /* micro-units; 0 = the configured default */
};

/* Read and check both options of cmd for a scope of `kind` (CREDIT_EXT
 * or CREDIT_TRUNK, whose [credit] defaults a refusal names). An amount is
 * exact money of [credit] currency; 0 or the word "default" stands for
 * the configured default. A monthly cap below the daily one given with
 * it is refused. Returns an admin status. */
int cap_args_parse(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, enum credit_scope kind, struct cap_args *out,
		   struct admin_reply *r);
/* The same check on values from elsewhere (NULL: not given), such as the
 * columns of ext import; names[0] and names[1] are what a refusal calls
 * the daily and the monthly cap. Returns 0, or EINVAL with a one-line
 * reason in why. */
int cap_values_check(const struct rf_conf *conf, enum credit_scope kind, const char *daily,
		     const char *monthly, const char *const names[2], struct cap_args *out,
		     char *why, size_t whylen);
/* Copy the caps given into a record's fields. */
void cap_args_apply(const struct cap_args *c, int64_t *daily, int64_t *monthly);
/* A scope's own cap in a view: the amount (`key` and `key`_micro), or
 * "default" (and 0): what the default is, check-config says, and
 * `ringfence spend` shows the cap in force. */
void cap_reply(struct admin_reply *r, const char *key, int64_t micro);

/* The spend table of an engine at `now`, amounts in `currency`, live
 * calls counted as they stand (each row says how many, live_calls). The
 * CLI fills an engine from the store, the daemon's calls in progress
 * included; the daemon can answer `spend` from its own engine with this.
 * Returns an admin status. */
int spend_reply(struct credit *c, int64_t now, const char *currency, struct admin_reply *r);

int cmd_spend(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *,
	      struct admin_reply *);

#endif
