/* The calling-policy options of `ext add` and `ext set` (--cos, --allow,
 * --countries, --caller-id, --daily-cap, --monthly-cap) and `ext resume`
 * (S11, S13, S14). Every value is checked (numbers against the numbering
 * plan, amounts as exact money) before anything is written. */
#ifndef RF_ADMIN_CMD_EXT_POLICY_H
#define RF_ADMIN_CMD_EXT_POLICY_H

#include <stdbool.h>

#include "admin/admin.h"
#include "admin/cmd_credit.h"
#include "store/store.h"

struct ext_policy_args {
	bool cos_given, allow_given, countries_given, caller_id_given;
	enum ext_cos cos;
	char allow[EXT_ALLOW_MAX + 1];
	char countries[EXT_COUNTRIES_MAX * 3];
	char caller_id[17];               /* normalised to E.164 */
	struct cap_args caps;             /* --daily-cap, --monthly-cap */
};

/* Read and check the options; a usage error names the option and why. */
int ext_policy_parse(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		     const struct admin_args *a, struct ext_policy_args *p,
		     struct admin_reply *r);
bool ext_policy_given(const struct ext_policy_args *p);
void ext_policy_apply(const struct ext_policy_args *p, struct ext_record *rec);
/* The changed fields as "cos,allow" for the ext_changed event. */
void ext_policy_changes(const struct ext_policy_args *p, char *out, size_t len);
/* The policy fields of ext show / ext list. */
void ext_policy_reply(struct admin_reply *r, const struct ext_record *rec);

int cmd_ext_resume(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *,
		   struct admin_reply *);

#endif
