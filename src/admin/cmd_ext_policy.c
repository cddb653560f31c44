/* The calling policy of an extension from the command line (S11, S13, S14). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/cmd_credit.h"
#include "admin/cmd_ext_policy.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/secret.h"
#include "fraud/barring.h"
#include "fraud/numplan.h"
#include "guard/secevent.h"

static int parse_cos(const char *v, struct ext_policy_args *p, struct admin_reply *r)
{
	char shown[64];

	if (ext_cos_parse(v, &p->cos) == 0) {
		p->cos_given = true;
		return ADMIN_OK;
	}
	return admin_reply_error(r, ADMIN_USAGE, "--cos '%s' is not a class of service: use "
				 "internal, national or international",
				 admin_printable(v, shown, sizeof(shown)));
}

static int parse_allow(const char *v, struct ext_policy_args *p, struct admin_reply *r)
{
	const char *why = NULL;
	uint32_t mask;
	char shown[96];

	if (strlen(v) > EXT_ALLOW_MAX || barring_parse_classes(v, &mask, &why) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--allow '%s': %s; give a comma-separated "
					 "list of premium, personal, directory and service, or '' "
					 "for none", admin_printable(v, shown, sizeof(shown)),
					 why ? why : "too long");
	snprintf(p->allow, sizeof(p->allow), "%s", v);
	p->allow_given = true;
	return ADMIN_OK;
}

static int parse_countries(const struct numplan *np, const char *v, struct ext_policy_args *p,
			   struct admin_reply *r)
{
	char list[EXT_COUNTRIES_MAX][3], shown[96];
	const char *why = NULL;
	unsigned n;

	if (strlen(v) >= sizeof(p->countries) ||
	    barring_parse_countries(np, v, list, EXT_COUNTRIES_MAX, &n, &why) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--countries '%s': %s; give up to %u "
					 "ISO 3166 codes such as FR,DE,IE, or '' for none",
					 admin_printable(v, shown, sizeof(shown)),
					 why ? why : "too long", EXT_COUNTRIES_MAX);
	snprintf(p->countries, sizeof(p->countries), "%s", v);
	p->countries_given = true;
	return ADMIN_OK;
}

/* A presented number must be one a line can have: not premium, not a
 * short code, not emergency. */
static bool presentable(enum num_class c)
{
	return c == NUM_GEOGRAPHIC || c == NUM_NONGEOGRAPHIC || c == NUM_MOBILE ||
	       c == NUM_FREEPHONE || c == NUM_INTERNATIONAL;
}

static int parse_caller_id(const struct numplan *np, const char *v, struct ext_policy_args *p,
			   struct admin_reply *r)
{
	const char *why = NULL;
	struct num_info n;
	char shown[64];

	p->caller_id_given = true;
	if (!*v) {
		p->caller_id[0] = '\0';
		return ADMIN_OK;
	}
	if (numplan_classify(np, v, strlen(v), &n, &why) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--caller-id '%s': %s",
					 admin_printable(v, shown, sizeof(shown)), why);
	if (!presentable(n.cls))
		return admin_reply_error(r, ADMIN_USAGE, "--caller-id '%s': a %s number cannot be "
					 "presented as a line's number",
					 admin_printable(v, shown, sizeof(shown)),
					 num_class_name(n.cls));
	snprintf(p->caller_id, sizeof(p->caller_id), "%s", n.e164);
	return ADMIN_OK;
}

int ext_policy_parse(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		     const struct admin_args *a, struct ext_policy_args *p,
		     struct admin_reply *r)
{
	const char *cos = admin_arg(cmd, a, "--cos"), *allow = admin_arg(cmd, a, "--allow");
	const char *countries = admin_arg(cmd, a, "--countries");
	const char *caller_id = admin_arg(cmd, a, "--caller-id");
	struct numplan *np = NULL;
	int st = ADMIN_OK;

	memset(p, 0, sizeof(*p));
	if ((cos && (st = parse_cos(cos, p, r))) || (allow && (st = parse_allow(allow, p, r))) ||
	    (st = cap_args_parse(cmd, ctx, a, CREDIT_EXT, &p->caps, r)))
		return st;
	if (!countries && !caller_id)
		return ADMIN_OK;
	if ((st = admin_numplan_load(ctx, &np, r)))
		return st;
	if (countries)
		st = parse_countries(np, countries, p, r);
	if (!st && caller_id)
		st = parse_caller_id(np, caller_id, p, r);
	numplan_free(np);
	return st;
}

bool ext_policy_given(const struct ext_policy_args *p)
{
	return p->cos_given || p->allow_given || p->countries_given || p->caller_id_given ||
	       p->caps.daily_given || p->caps.monthly_given;
}

void ext_policy_apply(const struct ext_policy_args *p, struct ext_record *rec)
{
	if (p->cos_given)
		rec->cos = p->cos;
	if (p->allow_given)
		snprintf(rec->allow_classes, sizeof(rec->allow_classes), "%s", p->allow);
	if (p->countries_given)
		snprintf(rec->countries, sizeof(rec->countries), "%s", p->countries);
	if (p->caller_id_given)
		snprintf(rec->caller_id, sizeof(rec->caller_id), "%s", p->caller_id);
	cap_args_apply(&p->caps, &rec->daily_cap, &rec->monthly_cap);
}

void ext_policy_changes(const struct ext_policy_args *p, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s%s%s%s", p->cos_given ? "cos," : "",
		 p->allow_given ? "allow," : "", p->countries_given ? "countries," : "",
		 p->caller_id_given ? "caller_id," : "", p->caps.daily_given ? "daily_cap," : "",
		 p->caps.monthly_given ? "monthly_cap," : "");
	if (*out)
		out[strlen(out) - 1] = '\0';
}

void ext_policy_reply(struct admin_reply *r, const struct ext_record *rec)
{
	admin_reply_str(r, "cos", ext_cos_name(rec->cos));
	admin_reply_str(r, "allow", rec->allow_classes);
	admin_reply_str(r, "countries", rec->countries);
	admin_reply_str(r, "caller_id", rec->caller_id);
	cap_reply(r, "daily_cap", rec->daily_cap);
	cap_reply(r, "monthly_cap", rec->monthly_cap);
	admin_reply_bool(r, "suspended", rec->suspended);
	admin_reply_str(r, "suspended_why", rec->suspended_why);
}

/* ---- ext resume ---- */

static void resume_event(struct admin_ctx *ctx, const char *ext)
{
	struct secev e;

	secev_begin(&e, "ext_resumed");
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

static int resume_tx(struct admin_ctx *ctx, const char *ext, bool *was, struct admin_reply *r)
{
	struct ext_record rec;
	int err = store_ext_get(ctx->store, ext, &rec);

	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", ext);
	if (!err && (*was = rec.suspended)) {
		rec.suspended = false;
		rec.suspended_why[0] = '\0';
		rec.updated = (int64_t)time(NULL);
		err = store_ext_update(ctx->store, &rec);
	}
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot resume extension %s: %s", ext,
					 strerror(err));
	return ADMIN_OK;
}

int cmd_ext_resume(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	const char *ext = a->pos[0];
	char why[128];
	bool was = false;
	int st, err;

	(void)cmd;
	if (!admin_ext_valid(ext, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	if ((err = store_begin(ctx->store)) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "cannot resume extension %s: %s", ext,
					 strerror(err));
	st = resume_tx(ctx, ext, &was, r);
	if (!st && (err = store_commit(ctx->store)) != 0)
		st = admin_reply_error(r, ADMIN_FAILED, "cannot resume extension %s: %s", ext,
				       strerror(err));
	if (st) {
		store_rollback(ctx->store);
		return st;
	}
	if (!was)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s is not suspended", ext);
	resume_event(ctx, ext);
	admin_reply_note(r, "extension %s resumed: it may call outside again", ext);
	return ADMIN_OK;
}
