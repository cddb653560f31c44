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

const char *const ext_policy_options[EXT_POLICY_FIELDS] = {
	"--cos", "--allow", "--countries", "--caller-id", "--daily-cap", "--monthly-cap",
};
const char *const ext_policy_columns[EXT_POLICY_FIELDS] = {
	"cos", "allow", "countries", "caller_id", "daily_cap", "monthly_cap",
};

/* Each check below fills p from one value, or says why not in `why`,
 * naming the field as `name`. */
struct policy_check {
	const struct numplan *np;
	struct ext_policy_args *p;
	char *why;
	size_t whylen;
};

static int check_cos(struct policy_check *c, const char *name, const char *v)
{
	char shown[64];

	if (ext_cos_parse(v, &c->p->cos) == 0) {
		c->p->cos_given = true;
		return 0;
	}
	snprintf(c->why, c->whylen, "%s '%s' is not a class of service: use internal, national "
		 "or international", name, admin_printable(v, shown, sizeof(shown)));
	return EINVAL;
}

static int check_allow(struct policy_check *c, const char *name, const char *v)
{
	const char *why = NULL;
	uint32_t mask;
	char shown[96];

	if (strlen(v) > EXT_ALLOW_MAX || barring_parse_classes(v, &mask, &why) != 0) {
		snprintf(c->why, c->whylen, "%s '%s': %s; give a comma-separated list of premium, "
			 "personal, directory and service, or '' for none", name,
			 admin_printable(v, shown, sizeof(shown)), why ? why : "too long");
		return EINVAL;
	}
	snprintf(c->p->allow, sizeof(c->p->allow), "%s", v);
	c->p->allow_given = true;
	return 0;
}

static int check_countries(struct policy_check *c, const char *name, const char *v)
{
	char list[EXT_COUNTRIES_MAX][3], shown[96];
	const char *why = NULL;
	unsigned n;

	if (strlen(v) >= sizeof(c->p->countries) ||
	    barring_parse_countries(c->np, v, list, EXT_COUNTRIES_MAX, &n, &why) != 0) {
		snprintf(c->why, c->whylen, "%s '%s': %s; give up to %u ISO 3166 codes such as "
			 "FR,DE,IE, or '' for none", name, admin_printable(v, shown, sizeof(shown)),
			 why ? why : "too long", EXT_COUNTRIES_MAX);
		return EINVAL;
	}
	snprintf(c->p->countries, sizeof(c->p->countries), "%s", v);
	c->p->countries_given = true;
	return 0;
}

/* A presented number must be one a line can have: not premium, not a
 * short code, not emergency. */
static bool presentable(enum num_class c)
{
	return c == NUM_GEOGRAPHIC || c == NUM_NONGEOGRAPHIC || c == NUM_MOBILE ||
	       c == NUM_FREEPHONE || c == NUM_INTERNATIONAL;
}

static int check_caller_id(struct policy_check *c, const char *name, const char *v)
{
	const char *why = NULL;
	struct num_info n;
	char shown[64];

	c->p->caller_id_given = true;
	if (!*v) {
		c->p->caller_id[0] = '\0';
		return 0;
	}
	if (numplan_classify(c->np, v, strlen(v), &n, &why) != 0) {
		snprintf(c->why, c->whylen, "%s '%s': %s", name,
			 admin_printable(v, shown, sizeof(shown)), why);
		return EINVAL;
	}
	if (!presentable(n.cls)) {
		snprintf(c->why, c->whylen, "%s '%s': a %s number cannot be presented as a line's "
			 "number", name, admin_printable(v, shown, sizeof(shown)),
			 num_class_name(n.cls));
		return EINVAL;
	}
	snprintf(c->p->caller_id, sizeof(c->p->caller_id), "%s", n.e164);
	return 0;
}

bool ext_policy_needs_numplan(const char *const v[EXT_POLICY_FIELDS])
{
	return v[EXT_POLICY_COUNTRIES] || v[EXT_POLICY_CALLER_ID];
}

int ext_policy_check(const struct rf_conf *conf, const struct numplan *np,
		     const char *const v[EXT_POLICY_FIELDS],
		     const char *const names[EXT_POLICY_FIELDS], struct ext_policy_args *p,
		     char *why, size_t whylen)
{
	struct policy_check c = { np, p, why, whylen };

	memset(p, 0, sizeof(*p));
	if ((v[EXT_POLICY_COS] && check_cos(&c, names[EXT_POLICY_COS], v[EXT_POLICY_COS])) ||
	    (v[EXT_POLICY_ALLOW] &&
	     check_allow(&c, names[EXT_POLICY_ALLOW], v[EXT_POLICY_ALLOW])) ||
	    cap_values_check(conf, CREDIT_EXT, v[EXT_POLICY_DAILY_CAP], v[EXT_POLICY_MONTHLY_CAP],
			     &names[EXT_POLICY_DAILY_CAP], &p->caps, why, whylen) ||
	    (v[EXT_POLICY_COUNTRIES] &&
	     check_countries(&c, names[EXT_POLICY_COUNTRIES], v[EXT_POLICY_COUNTRIES])) ||
	    (v[EXT_POLICY_CALLER_ID] &&
	     check_caller_id(&c, names[EXT_POLICY_CALLER_ID], v[EXT_POLICY_CALLER_ID])))
		return EINVAL;
	return 0;
}

int ext_policy_parse(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		     const struct admin_args *a, struct ext_policy_args *p,
		     struct admin_reply *r)
{
	const char *v[EXT_POLICY_FIELDS];
	struct numplan *np = NULL;
	char why[400];
	int st, err;

	for (int i = 0; i < EXT_POLICY_FIELDS; i++)
		v[i] = admin_arg(cmd, a, ext_policy_options[i]);
	if (ext_policy_needs_numplan(v) && (st = admin_numplan_load(ctx, &np, r)))
		return st;
	err = ext_policy_check(ctx->conf, np, v, ext_policy_options, p, why, sizeof(why));
	numplan_free(np);
	if (err)
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
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
