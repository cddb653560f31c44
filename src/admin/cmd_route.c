/* did add|list|del and route add|list|del|test: the numbers trunks
 * deliver to extensions, and the ordered outbound dial plan. Changes to
 * either decide where calls go, and a route to a premium number is what
 * toll fraud wants, so every change is a security event. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/cmd_trunk.h"
#include "admin/util.h"
#include "fraud/numplan.h"
#include "guard/secevent.h"
#include "pbx/route.h"
#include "store/store.h"

static const char *by(const struct admin_ctx *ctx)
{
	return ctx->by ? ctx->by : "cli";
}

/* ---- DIDs ---- */

void did_log_event(struct admin_ctx *ctx, const char *event, const struct did_record *d)
{
	struct secev e;

	secev_begin(&e, event);
	secev_token(&e, "number", d->number);
	secev_untrusted(&e, "ext", d->ext, strlen(d->ext));
	secev_token(&e, "by", by(ctx));
	secev_emit(&e);
}

/* NUMBER in any spelling of the numbering plan, as E.164. */
static int number_arg(struct admin_ctx *ctx, const char *text, char *number, size_t len,
		      struct admin_reply *r)
{
	struct numplan *np = NULL;
	char why[200];
	int st, err;

	if ((st = admin_numplan_load(ctx, &np, r)))
		return st;
	err = did_cli_number_parse(np, text, number, len, why, sizeof(why));
	numplan_free(np);
	if (err)
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
}

static int ext_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		   struct did_record *d, struct admin_reply *r)
{
	const char *ext = admin_arg(cmd, a, "--ext");
	char why[160];

	if (!ext)
		return admin_reply_error(r, ADMIN_USAGE, "--ext is required: give the "
					 "extension the number rings");
	if (!admin_ext_valid(ext, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "--ext: %s", why);
	snprintf(d->ext, sizeof(d->ext), "%s", ext);
	return ADMIN_OK;
}

static int did_taken(struct admin_ctx *ctx, const char *number, struct admin_reply *r)
{
	struct did_record old;

	if (store_did_get(ctx->store, number, &old) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "DID %s already exists", number);
	return admin_reply_error(r, ADMIN_FAILED, "DID %s already goes to extension %s: "
				 "delete it first (ringfence did del %s)", number, old.ext,
				 number);
}

int cmd_did_add(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	struct did_record d;
	int st, err;

	memset(&d, 0, sizeof(d));
	if ((st = number_arg(ctx, a->pos[0], d.number, sizeof(d.number), r)) ||
	    (st = ext_arg(cmd, a, &d, r)))
		return st;
	err = store_did_add(ctx->store, &d);
	if (err == EEXIST)
		return did_taken(ctx, d.number, r);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", d.ext);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot add DID %s: %s", d.number,
					 strerror(err));
	did_log_event(ctx, "did_added", &d);
	admin_reply_note(r, "DID %s goes to extension %s", d.number, d.ext);
	return ADMIN_OK;
}

static const struct admin_column did_columns[] = {
	{ "number", "NUMBER" },
	{ "ext", "EXTENSION" },
	{ "created", "CREATED" },
};

struct reply_walk {
	struct admin_reply *r;
	size_t rows;
};

static int did_one(const struct did_record *d, void *arg)
{
	struct reply_walk *w = arg;
	char when[32];

	admin_reply_record(w->r);
	admin_reply_str(w->r, "number", d->number);
	admin_reply_str(w->r, "ext", d->ext);
	admin_reply_str(w->r, "created", admin_iso_time(d->created, when, sizeof(when)));
	w->rows++;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

int cmd_did_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		 const struct admin_args *a, struct admin_reply *r)
{
	struct reply_walk w = { r, 0 };
	int err;

	admin_reply_table(r, did_columns, sizeof(did_columns) / sizeof(did_columns[0]));
	err = store_did_foreach(ctx->store, did_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot list DIDs: %s", strerror(err));
	if (w.rows == 0)
		admin_reply_note(r, "no DIDs");
	return ADMIN_OK;
}

int cmd_did_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	struct did_record d;
	char number[sizeof(d.number)];
	int st, err;

	if ((st = number_arg(ctx, a->pos[0], number, sizeof(number), r)))
		return st;
	err = store_did_get(ctx->store, number, &d);
	if (!err)
		err = store_did_del(ctx->store, number);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "DID %s does not exist", number);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete DID %s: %s", number,
					 strerror(err));
	did_log_event(ctx, "did_removed", &d);
	admin_reply_note(r, "DID %s removed; it went to extension %s", d.number, d.ext);
	return ADMIN_OK;
}

/* ---- route add ---- */

static void log_route(struct admin_ctx *ctx, const char *event, const struct route_record *rt)
{
	struct secev e;

	secev_begin(&e, event);
	secev_uint(&e, "pos", rt->pos);
	secev_untrusted(&e, "pattern", rt->pattern, strlen(rt->pattern));
	secev_token(&e, "trunk", rt->trunk);
	if (strcmp(event, "route_added") == 0) {
		secev_uint(&e, "strip", rt->strip);
		secev_token(&e, "prepend", rt->prepend[0] ? rt->prepend : "-");
	}
	secev_token(&e, "by", by(ctx));
	secev_emit(&e);
}

static int pattern_arg(const char *match, struct route_record *rt, struct route_pattern *p,
		       struct admin_reply *r)
{
	char why[256], shown[80];

	if (!match)
		return admin_reply_error(r, ADMIN_USAGE, "--match is required: give the pattern "
					 "of the numbers the route takes, such as 0[1-9]XXXXXXXXX");
	if (route_pattern_compile(p, match, strlen(match), why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--match '%s': %s",
					 admin_printable(match, shown, sizeof(shown)), why);
	snprintf(rt->pattern, sizeof(rt->pattern), "%s", match);
	return ADMIN_OK;
}

static int trunk_arg(const char *trunk, struct route_record *rt, struct admin_reply *r)
{
	char why[160];

	if (!trunk)
		return admin_reply_error(r, ADMIN_USAGE, "--trunk is required: give the trunk "
					 "the calls leave by");
	if (trunk_cli_name_check(trunk, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--trunk: %s", why);
	snprintf(rt->trunk, sizeof(rt->trunk), "%s", trunk);
	return ADMIN_OK;
}

/* --strip and --prepend, checked against the pattern they rewrite. The
 * route module's reasons start with the field's name. */
static int rewrite_args(const struct admin_cmd *cmd, const struct admin_args *a,
			struct route_record *rt, const struct route_pattern *p,
			struct admin_reply *r)
{
	const char *prepend = admin_arg(cmd, a, "--prepend");
	char why[256];
	int st;

	if ((st = admin_uint_arg(cmd, a, "--strip", 0, ROUTE_STRIP_MAX, &rt->strip, r)))
		return st;
	if (!prepend)
		prepend = "";
	if (route_rewrite_check(p, rt->strip, prepend, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--%s", why);
	snprintf(rt->prepend, sizeof(rt->prepend), "%s", prepend);
	return ADMIN_OK;
}

static int route_add_args(const struct admin_cmd *cmd, const struct admin_args *a,
			  struct route_record *rt, struct route_pattern *p,
			  struct admin_reply *r)
{
	int st;

	memset(rt, 0, sizeof(*rt));
	if ((st = pattern_arg(admin_arg(cmd, a, "--match"), rt, p, r)) ||
	    (st = trunk_arg(admin_arg(cmd, a, "--trunk"), rt, r)) ||
	    (st = rewrite_args(cmd, a, rt, p, r)) ||
	    (st = admin_uint_arg(cmd, a, "--pos", 1, ROUTE_TABLE_MAX, &rt->pos, r)))
		return st;
	return ADMIN_OK;
}

/* The dial plan before the change, compiled; NULL when a stored route no
 * longer compiles, which only loses the notes below. */
static struct route_table *plan_before(struct admin_ctx *ctx)
{
	struct route_table *t = NULL;
	char why[256];

	if (route_table_load(&t, ctx->store, why, sizeof(why)) != 0)
		return NULL;
	return t;
}

/* Say when the new route can never be reached, or hides a later one:
 * first match wins, so such a dial plan does not do what it reads as. */
static void note_shadows(struct admin_reply *r, const struct route_table *before,
			 const struct route_record *rt, const struct route_pattern *p)
{
	size_t i, n = before ? route_table_count(before) : 0;

	for (i = 0; i < n; i++) {
		const struct route_rule *o = route_table_rule(before, i);

		if (o->pos < rt->pos && route_pattern_covers(&o->pattern, p)) {
			admin_reply_note(r, "note: route %u (%s) comes first and takes every number "
					 "this one matches, so this route is never used",
					 o->pos, o->text);
			return;
		}
		if (o->pos >= rt->pos && route_pattern_covers(p, &o->pattern))
			admin_reply_note(r, "note: route %u (%s) now comes after this one, which "
					 "takes every number it matches, so it is no longer used",
					 o->pos + 1, o->text);
	}
}

static int route_add_failed(const struct route_record *rt, int err,
			    const struct route_table *before, struct admin_reply *r)
{
	size_t n = before ? route_table_count(before) : 0;

	if (err == EEXIST)
		return admin_reply_error(r, ADMIN_FAILED, "a route with pattern %s exists "
					 "already (see ringfence route list)", rt->pattern);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "trunk %s does not exist (see "
					 "ringfence trunk list)", rt->trunk);
	if (err == ERANGE)
		return admin_reply_error(r, ADMIN_FAILED, "--pos %u is past the end: there %s "
					 "%zu route%s, so give 1 to %zu, or leave --pos out to "
					 "append", rt->pos, n == 1 ? "is" : "are", n,
					 n == 1 ? "" : "s", n + 1);
	return admin_reply_error(r, ADMIN_FAILED, "cannot add the route: %s", strerror(err));
}

int cmd_route_add(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		  const struct admin_args *a, struct admin_reply *r)
{
	struct route_table *before;
	struct route_pattern p;
	struct route_record rt;
	int st, err;

	if ((st = route_add_args(cmd, a, &rt, &p, r)))
		return st;
	before = plan_before(ctx);
	if (before && route_table_count(before) >= ROUTE_TABLE_MAX) {
		route_table_free(before);
		return admin_reply_error(r, ADMIN_FAILED, "the dial plan holds %d routes "
					 "already, the most it may", ROUTE_TABLE_MAX);
	}
	err = store_route_add(ctx->store, &rt);
	if (err) {
		st = route_add_failed(&rt, err, before, r);
		route_table_free(before);
		return st;
	}
	log_route(ctx, "route_added", &rt);
	admin_reply_note(r, "route %u added: %s via trunk %s", rt.pos, rt.pattern, rt.trunk);
	note_shadows(r, before, &rt, &p);
	route_table_free(before);
	return ADMIN_OK;
}

/* ---- route list ---- */

static const struct admin_column route_columns[] = {
	{ "pos", "POS" },
	{ "pattern", "PATTERN" },
	{ "trunk", "TRUNK" },
	{ "strip", "STRIP" },
	{ "prepend", "PREPEND" },
};

static int route_one(const struct route_record *rt, void *arg)
{
	struct reply_walk *w = arg;
	char when[32];

	admin_reply_record(w->r);
	admin_reply_int(w->r, "pos", rt->pos);
	admin_reply_str(w->r, "pattern", rt->pattern);
	admin_reply_str(w->r, "trunk", rt->trunk);
	admin_reply_int(w->r, "strip", rt->strip);
	admin_reply_str(w->r, "prepend", rt->prepend);
	admin_reply_str(w->r, "created", admin_iso_time(rt->created, when, sizeof(when)));
	w->rows++;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

int cmd_route_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct reply_walk w = { r, 0 };
	int err;

	admin_reply_table(r, route_columns, sizeof(route_columns) / sizeof(route_columns[0]));
	err = store_route_foreach(ctx->store, route_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot list routes: %s", strerror(err));
	if (w.rows == 0)
		admin_reply_note(r, "no routes: no call leaves by a trunk");
	return ADMIN_OK;
}

/* ---- route del ---- */

struct route_find {
	unsigned pos;
	unsigned count;
	struct route_record found;
};

static int find_route(const struct route_record *rt, void *arg)
{
	struct route_find *f = arg;

	f->count++;
	if (rt->pos == f->pos)
		f->found = *rt;
	return 0;
}

int cmd_route_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		  const struct admin_args *a, struct admin_reply *r)
{
	struct route_find f;
	char why[160];
	int err;

	memset(&f, 0, sizeof(f));
	if (admin_parse_uint("POS", a->pos[0], 1, ROUTE_TABLE_MAX, &f.pos, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	err = store_route_foreach(ctx->store, find_route, &f);
	if (!err)
		err = f.found.pos ? store_route_del(ctx->store, f.pos) : ENOENT;
	if (err == ENOENT && f.count == 0)
		return admin_reply_error(r, ADMIN_FAILED, "there is no route at position %u: "
					 "there are no routes", f.pos);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "there is no route at position %u: "
					 "the routes are 1 to %u", f.pos, f.count);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete route %u: %s", f.pos,
					 strerror(err));
	log_route(ctx, "route_removed", &f.found);
	admin_reply_note(r, "route %u removed: %s via trunk %s%s", f.pos, f.found.pattern,
			 f.found.trunk, f.pos < f.count ? "; the routes after it moved up by one"
							: "");
	return ADMIN_OK;
}

/* ---- route test ---- */

int cmd_route_test(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	const char *dialled = a->pos[0];
	const struct route_rule *hit;
	struct route_table *t;
	char why[256], out[ROUTE_NUMBER_MAX];
	int err;

	if (route_cli_dialled_check(dialled, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	err = route_table_load(&t, ctx->store, why, sizeof(why));
	if (err == EINVAL)
		return admin_reply_error(r, ADMIN_FAILED, "%s: delete that route and add it "
					 "again", why);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read the routes: %s",
					 strerror(err));
	hit = route_table_lookup(t, dialled, strlen(dialled), out, sizeof(out));
	if (!hit) {
		route_table_free(t);
		return admin_reply_error(r, ADMIN_FAILED, "no route matches %s: such a call "
					 "goes nowhere", dialled);
	}
	admin_reply_record(r);
	admin_reply_str(r, "number", dialled);
	admin_reply_int(r, "route", hit->pos);
	admin_reply_str(r, "pattern", hit->text);
	admin_reply_str(r, "trunk", hit->trunk);
	admin_reply_str(r, "send", out);
	route_table_free(t);
	return ADMIN_OK;
}
