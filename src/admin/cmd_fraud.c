/* blacklist add|del|list, rates list|del|lookup, and what the imports
 * (cmd_fraud_import.c) share with them: the numbering plan, numbers and
 * prefixes as administrators write them, reasons, and the security log. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/cmd_fraud.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/limits.h"
#include "fraud/blacklist.h"
#include "fraud/prefix.h"
#include "fraud/rating.h"
#include "guard/secevent.h"

/* The longest --duration of rates lookup: a day is longer than any call
 * the daemon lets run. */
#define LOOKUP_DURATION_MAX_S 86400
#define LOOKUP_DURATION_DEFAULT_S 60

/* ---- shared ---- */

int fraud_cli_plan(struct admin_ctx *ctx, struct numplan **np, struct admin_reply *r)
{
	const char *why = NULL;
	int err = numplan_alloc(np, ctx->conf->numbering_country, &why);

	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot load the numbering plan of "
					 "[numbering] country %s: %s", ctx->conf->numbering_country,
					 why ? why : strerror(err));
	return ADMIN_OK;
}

int fraud_cli_prefix(const struct numplan *np, const char *text, char out[NUM_E164_MAX + 1],
		     char *why, size_t whylen)
{
	size_t len = strnlen(text, NUM_DIALLED_MAX + 1);
	const char *reason = NULL;
	char shown[NUM_DIALLED_MAX + 8];

	admin_printable(text, shown, sizeof(shown));
	if (len == 0) {
		snprintf(why, whylen, "the number is empty");
		return EINVAL;
	}
	if (len > NUM_DIALLED_MAX) {
		snprintf(why, whylen, "'%s' is too long: at most %d characters", shown,
			 NUM_DIALLED_MAX);
		return EINVAL;
	}
	/* The plan's reason says what to write instead: for a bare "972",
	 * "+972 or 00972 for a country code, or 0 and the national number". */
	if (numplan_normalise_prefix(np, text, len, out, &reason) == 0 && prefix_valid(out))
		return 0;
	snprintf(why, whylen, "'%s' is not a number or prefix: %s", shown,
		 reason ? reason : "not in the numbering plan");
	return EINVAL;
}

int fraud_cli_reason(const char *text, char *why, size_t whylen)
{
	size_t n = strnlen(text, BLACKLIST_REASON_MAX + 1);

	if (n > BLACKLIST_REASON_MAX) {
		snprintf(why, whylen, "the reason is longer than %d characters",
			 BLACKLIST_REASON_MAX);
		return EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f) {
			snprintf(why, whylen, "the reason has a control character (byte 0x%02x) "
				 "at position %zu", c, i + 1);
			return EINVAL;
		}
	}
	return 0;
}

const char *fraud_cli_list_name(enum blacklist_dir dir)
{
	return dir == BLACKLIST_CALLER ? "caller blacklist" : "destination blacklist";
}

void fraud_cli_log(struct admin_ctx *ctx, const struct fraud_event *ev)
{
	struct secev e;

	secev_begin(&e, ev->name);
	if (ev->dir)
		secev_token(&e, "dir", ev->dir);
	if (ev->prefix)
		secev_token(&e, "prefix", ev->prefix);
	if (ev->reason)
		secev_untrusted(&e, "reason", ev->reason, strlen(ev->reason));
	if (ev->entries >= 0)
		secev_uint(&e, "entries", (unsigned long long)ev->entries);
	if (ev->mode)
		secev_token(&e, "mode", ev->mode);
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

static enum blacklist_dir dir_arg(const struct admin_cmd *cmd, const struct admin_args *a)
{
	return admin_flag(cmd, a, "--caller") ? BLACKLIST_CALLER : BLACKLIST_DEST;
}

/* NUMBER of the command line as its E.164 prefix, or a usage error. */
static int prefix_arg(struct admin_ctx *ctx, const char *text, char out[NUM_E164_MAX + 1],
		      struct admin_reply *r)
{
	struct numplan *np = NULL;
	char why[256];
	int st = fraud_cli_plan(ctx, &np, r);

	if (st != ADMIN_OK)
		return st;
	if (fraud_cli_prefix(np, text, out, why, sizeof(why)) != 0)
		st = admin_reply_error(r, ADMIN_USAGE, "%s", why);
	numplan_free(np);
	return st;
}

/* ---- blacklist add ---- */

struct blacklist_add {
	struct blacklist_record rec;
	bool has_reason;   /* --reason given: it replaces the old one */
	bool existed;
};

static int blacklist_add_tx(struct store *s, const void *arg)
{
	struct blacklist_add *add = (struct blacklist_add *)arg;
	struct blacklist_record old;
	size_t n = 0;
	int err = store_blacklist_get(s, add->rec.dir, add->rec.prefix, &old);

	if (err && err != ENOENT)
		return err;
	add->existed = err == 0;
	if (add->existed && !add->has_reason)
		memcpy(add->rec.reason, old.reason, sizeof(old.reason));
	if (!add->existed && (err = store_blacklist_count(s, add->rec.dir, &n)) != 0)
		return err;
	if (n >= RF_MAX_BLACKLIST)
		return ENOSPC;
	return store_blacklist_put(s, &add->rec);
}

/* The shorter entry that covers prefix already, if one does: adding the
 * longer one then only changes the reason a call is refused with. */
static bool covered_by(struct admin_ctx *ctx, const struct blacklist_record *rec,
		       char cover[sizeof(rec->prefix)])
{
	const struct blacklist_record *match;
	struct blacklist *b;
	bool covered;

	if (blacklist_load(ctx->store, rec->dir, &b) != 0)
		return false;
	match = blacklist_match(b, rec->prefix);
	covered = match && strcmp(match->prefix, rec->prefix) != 0;
	if (covered)
		memcpy(cover, match->prefix, sizeof(match->prefix));
	blacklist_free(b);
	return covered;
}

static void blacklist_add_report(struct admin_ctx *ctx, const struct blacklist_add *add,
				 bool covered, const char *cover, struct admin_reply *r)
{
	const char *list = fraud_cli_list_name(add->rec.dir);

	fraud_cli_log(ctx, &(struct fraud_event){ .name = "blacklist_added",
		      .dir = blacklist_dir_name(add->rec.dir), .prefix = add->rec.prefix,
		      .reason = add->rec.reason, .entries = -1 });
	if (!add->existed)
		admin_reply_note(r, "%s added to the %s", add->rec.prefix, list);
	else if (add->has_reason)
		admin_reply_note(r, "%s was on the %s already; its reason is updated",
				 add->rec.prefix, list);
	else
		admin_reply_note(r, "%s was on the %s already", add->rec.prefix, list);
	if (covered)
		admin_reply_note(r, "note: %s on the list covers %s already", cover,
				 add->rec.prefix);
}

int cmd_blacklist_add(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		      const struct admin_args *a, struct admin_reply *r)
{
	const char *reason = admin_arg(cmd, a, "--reason");
	struct blacklist_add add = { .rec.dir = dir_arg(cmd, a), .has_reason = reason != NULL };
	char why[160], cover[sizeof(add.rec.prefix)];
	bool covered;
	int st, err;

	if (reason && fraud_cli_reason(reason, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--reason: %s", why);
	snprintf(add.rec.reason, sizeof(add.rec.reason), "%s", reason ? reason : "");
	if ((st = prefix_arg(ctx, a->pos[0], add.rec.prefix, r)) != ADMIN_OK)
		return st;
	covered = covered_by(ctx, &add.rec, cover);
	err = store_atomic(ctx->store, blacklist_add_tx, &add);
	if (err == ENOSPC)
		return admin_reply_error(r, ADMIN_FAILED, "the %s is full: it holds %u entries, "
					 "the most the daemon loads", fraud_cli_list_name(add.rec.dir),
					 RF_MAX_BLACKLIST);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot add %s: %s", add.rec.prefix,
					 strerror(err));
	blacklist_add_report(ctx, &add, covered, cover, r);
	return ADMIN_OK;
}

/* ---- blacklist del ---- */

int cmd_blacklist_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		      const struct admin_args *a, struct admin_reply *r)
{
	enum blacklist_dir dir = dir_arg(cmd, a);
	char prefix[NUM_E164_MAX + 1];
	int st, err;

	if ((st = prefix_arg(ctx, a->pos[0], prefix, r)) != ADMIN_OK)
		return st;
	err = store_blacklist_del(ctx->store, dir, prefix);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "%s is not on the %s", prefix,
					 fraud_cli_list_name(dir));
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete %s: %s", prefix,
					 strerror(err));
	fraud_cli_log(ctx, &(struct fraud_event){ .name = "blacklist_removed",
		      .dir = blacklist_dir_name(dir), .prefix = prefix, .entries = -1 });
	admin_reply_note(r, "%s deleted from the %s", prefix, fraud_cli_list_name(dir));
	return ADMIN_OK;
}

/* ---- blacklist list ---- */

static const struct admin_column blacklist_columns[] = {
	{ "prefix", "PREFIX" },
	{ "country", "COUNTRY" },
	{ "reason", "REASON" },
	{ "created", "ADDED" },
};

struct list_walk {
	struct admin_ctx *ctx;
	struct admin_reply *r;
	const struct numplan *np;   /* for the COUNTRY column */
	enum blacklist_dir dir;     /* blacklists */
	size_t rows, foreign;       /* foreign: rates in another currency */
};

/* A list command: its table, filled by `walk` with the numbering plan at
 * hand, or the reason it is empty. `what` names the list in messages. */
static int list_run(struct list_walk *w, const struct admin_column *cols, size_t ncols,
		    int (*walk)(struct list_walk *w), const char *what)
{
	struct numplan *np = NULL;
	int st = fraud_cli_plan(w->ctx, &np, w->r), err;

	if (st != ADMIN_OK)
		return st;
	w->np = np;
	admin_reply_table(w->r, cols, ncols);
	err = walk(w);
	numplan_free(np);
	if (err)
		return admin_reply_error(w->r, ADMIN_FAILED, "cannot read the %s: %s", what,
					 strerror(err));
	if (w->rows == 0)
		admin_reply_note(w->r, "the %s is empty", what);
	return ADMIN_OK;
}

static const char *country_of(const struct numplan *np, const char *prefix)
{
	const char *c = numplan_country_of(np, prefix);

	return c ? c : "";
}

static int blacklist_list_one(const struct blacklist_record *b, void *arg)
{
	struct list_walk *w = arg;
	char t[48];

	admin_reply_record(w->r);
	admin_reply_str(w->r, "prefix", b->prefix);
	admin_reply_str(w->r, "country", country_of(w->np, b->prefix));
	admin_reply_str(w->r, "reason", b->reason);
	admin_reply_str(w->r, "created", admin_iso_time(b->created, t, sizeof(t)));
	w->rows++;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

static int blacklist_walk(struct list_walk *w)
{
	return store_blacklist_foreach(w->ctx->store, w->dir, blacklist_list_one, w);
}

int cmd_blacklist_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		       const struct admin_args *a, struct admin_reply *r)
{
	struct list_walk w = { .ctx = ctx, .r = r, .dir = dir_arg(cmd, a) };

	return list_run(&w, blacklist_columns,
			sizeof(blacklist_columns) / sizeof(blacklist_columns[0]), blacklist_walk,
			fraud_cli_list_name(w.dir));
}

/* ---- rates list ---- */

static const struct admin_column rate_columns[] = {
	{ "prefix", "PREFIX" },
	{ "country", "COUNTRY" },
	{ "per_minute", "PER MINUTE" },
	{ "connection", "CONNECTION" },
	{ "currency", "CURRENCY" },
};

static void reply_rate(struct admin_reply *r, const struct numplan *np,
		       const struct rate_record *rate)
{
	char t[48];

	admin_reply_str(r, "prefix", rate->prefix);
	admin_reply_str(r, "country", country_of(np, rate->prefix));
	admin_reply_price(r, "per_minute", rate->per_minute);
	admin_reply_price(r, "connection", rate->connection);
	admin_reply_str(r, "currency", rate->currency);
	admin_reply_str(r, "created", admin_iso_time(rate->created, t, sizeof(t)));
}

static int rates_list_one(const struct rate_record *rate, void *arg)
{
	struct list_walk *w = arg;

	admin_reply_record(w->r);
	reply_rate(w->r, w->np, rate);
	w->rows++;
	w->foreign += strcmp(rate->currency, w->ctx->conf->currency) != 0;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

static int rates_walk(struct list_walk *w)
{
	return store_rate_foreach(w->ctx->store, rates_list_one, w);
}

int cmd_rates_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct list_walk w = { .ctx = ctx, .r = r };
	int st;

	(void)cmd;
	(void)a;
	st = list_run(&w, rate_columns, sizeof(rate_columns) / sizeof(rate_columns[0]),
		      rates_walk, "rate table");
	if (st == ADMIN_OK && w.foreign)
		admin_reply_note(r, "note: %zu rate%s in another currency than [credit] currency "
				 "%s, so the daemon does not use %s", w.foreign,
				 w.foreign == 1 ? " is" : "s are", ctx->conf->currency,
				 w.foreign == 1 ? "it" : "them");
	return st;
}

/* ---- rates del ---- */

int cmd_rates_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		  const struct admin_args *a, struct admin_reply *r)
{
	char prefix[NUM_E164_MAX + 1];
	int st, err;

	(void)cmd;
	if ((st = prefix_arg(ctx, a->pos[0], prefix, r)) != ADMIN_OK)
		return st;
	err = store_rate_del(ctx->store, prefix);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "the rate table has no rate for %s",
					 prefix);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete the rate for %s: %s",
					 prefix, strerror(err));
	fraud_cli_log(ctx, &(struct fraud_event){ .name = "rate_removed", .prefix = prefix,
		      .entries = -1 });
	admin_reply_note(r, "rate for %s deleted", prefix);
	return ADMIN_OK;
}

/* ---- rates lookup ---- */

static int duration_arg(const struct admin_cmd *cmd, const struct admin_args *a,
			struct admin_reply *r, int64_t *secs)
{
	const char *v = admin_arg(cmd, a, "--duration");
	char why[200];

	*secs = LOOKUP_DURATION_DEFAULT_S;
	if (v && admin_parse_duration(v, LOOKUP_DURATION_MAX_S, secs, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--duration: %s", why);
	return ADMIN_OK;
}

/* The dialled number as the plan reads it, or a usage error. */
static int classify_arg(const struct numplan *np, const char *text, struct num_info *info,
			struct admin_reply *r)
{
	size_t len = strnlen(text, NUM_DIALLED_MAX + 1);
	char shown[NUM_DIALLED_MAX + 8];
	const char *why = NULL;

	admin_printable(text, shown, sizeof(shown));
	if (len > NUM_DIALLED_MAX)
		return admin_reply_error(r, ADMIN_USAGE, "'%s' is too long: at most %d characters",
					 shown, NUM_DIALLED_MAX);
	if (numplan_classify(np, text, len, info, &why) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "'%s' is not a number this plan can "
					 "dial: %s", shown, why ? why : "invalid");
	return ADMIN_OK;
}

static void reply_lookup(struct admin_reply *r, const struct num_info *info,
			 const struct rate_record *rate, int64_t secs)
{
	char d[48];

	admin_reply_record(r);
	admin_reply_str(r, "e164", info->e164);
	admin_reply_str(r, "class", num_class_name(info->cls));
	admin_reply_str(r, "country", info->country);
	admin_reply_bool(r, "rated", rate != NULL);
	if (!rate)
		return;
	admin_reply_str(r, "prefix", rate->prefix);
	admin_reply_price(r, "per_minute", rate->per_minute);
	admin_reply_price(r, "connection", rate->connection);
	admin_reply_str(r, "currency", rate->currency);
	admin_reply_str(r, "duration", admin_format_duration(secs, d, sizeof(d)));
	admin_reply_int(r, "duration_s", secs);
	admin_reply_price(r, "cost", rating_cost(rate, (unsigned)secs));
}

static int lookup(struct admin_ctx *ctx, const struct numplan *np, const char *number,
		  int64_t secs, struct admin_reply *r)
{
	const struct rate_record *rate = NULL;
	struct rating *rt = NULL;
	struct num_info info;
	int st, err;

	if ((st = classify_arg(np, number, &info, r)) != ADMIN_OK)
		return st;
	err = rating_load(ctx->store, ctx->conf->currency, &rt);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot load the rate table: %s",
					 err == E2BIG ? "more rates than the daemon loads" :
					 strerror(err));
	rate = rating_match(rt, info.e164);
	reply_lookup(r, &info, rate, secs);
	if (!rate)
		admin_reply_note(r, "no rate matches %s", info.e164);
	if (rating_skipped(rt))
		admin_reply_note(r, "note: %zu rate%s skipped: in another currency than [credit] "
				 "currency %s", rating_skipped(rt),
				 rating_skipped(rt) == 1 ? " is" : "s are", ctx->conf->currency);
	rating_free(rt);
	return ADMIN_OK;
}

int cmd_rates_lookup(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		     const struct admin_args *a, struct admin_reply *r)
{
	struct numplan *np = NULL;
	int64_t secs;
	int st;

	if ((st = duration_arg(cmd, a, r, &secs)) != ADMIN_OK)
		return st;
	if ((st = fraud_cli_plan(ctx, &np, r)) != ADMIN_OK)
		return st;
	st = lookup(ctx, np, a->pos[0], secs, r);
	numplan_free(np);
	return st;
}
