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

/* The policy fields, in the order of ext import's columns. */
enum ext_policy_field {
	EXT_POLICY_COS,
	EXT_POLICY_ALLOW,
	EXT_POLICY_COUNTRIES,
	EXT_POLICY_CALLER_ID,
	EXT_POLICY_DAILY_CAP,    /* the caps stay last and in this order: */
	EXT_POLICY_MONTHLY_CAP,  /* cap_values_check takes their two names */
	EXT_POLICY_FIELDS
};

/* What a refusal calls each field: the options of ext add and ext set
 * ("--caller-id"), or the columns of ext import ("caller_id"). */
extern const char *const ext_policy_options[EXT_POLICY_FIELDS];
extern const char *const ext_policy_columns[EXT_POLICY_FIELDS];

struct numplan;
struct rf_conf;

/* Whether values v (NULL: not given) need the numbering plan: the
 * countries and the caller id are read with it. */
bool ext_policy_needs_numplan(const char *const v[EXT_POLICY_FIELDS]);

/* Check values v (NULL: not given) and fill p, the same checks and words
 * for options and import columns. np may be NULL unless
 * ext_policy_needs_numplan(v). Returns 0, or EINVAL with a one-line
 * reason in why that calls the field by its names[] entry. */
int ext_policy_check(const struct rf_conf *conf, const struct numplan *np,
		     const char *const v[EXT_POLICY_FIELDS],
		     const char *const names[EXT_POLICY_FIELDS], struct ext_policy_args *p,
		     char *why, size_t whylen);

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
