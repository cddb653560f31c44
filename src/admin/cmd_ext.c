/* ext add|set|list|show|passwd|del: the extension directory. Passwords exist
 * here only long enough to hash them; they are wiped straight after. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/cmd_ext_policy.h"
#include "admin/cmd_trunk.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/secret.h"
#include "guard/pwpolicy.h"
#include "guard/secevent.h"
#include "sip/digest.h"
#include "store/store.h"

/* Generated passwords: the length S2 asks for (20+) with margin. */
#define GEN_PW_LEN 24
/* Longest password accepted by hand; phones rarely take more. */
#define PW_MAX 128

struct password {
	char text[PW_MAX + 2];
	bool generated;
};

static void emit_event(struct admin_ctx *ctx, const char *event, const char *ext,
		       const char *change)
{
	struct secev e;

	secev_begin(&e, event);
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	if (change)
		secev_token(&e, "change", change);
	secev_emit(&e);
}

/* Read "--password -" from the first line of standard input: typed at a
 * terminal without echo, after a prompt on stderr; piped as it is. */
static int read_stdin_password(const char *ext, struct password *pw, struct admin_reply *r)
{
	char prompt[RF_MAX_EXT_LEN + 32];
	int err;

	snprintf(prompt, sizeof(prompt), "password of extension %s: ", ext);
	err = admin_read_secret(prompt, pw->text, sizeof(pw->text));
	if (err)
		secret_wipe(pw->text, sizeof(pw->text)); /* what a too long line left */

	if (err == ENODATA)
		return admin_reply_error(r, ADMIN_FAILED,
					 "--password -: no password on standard input");
	if (err == EMSGSIZE)
		return admin_reply_error(r, ADMIN_FAILED,
					 "password refused: longer than %d characters", PW_MAX);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED,
					 "--password -: cannot read standard input: %s", strerror(err));
	return ADMIN_OK;
}

/* The password for `ext`: checked against the policy when given, else
 * generated. On refusal, the policy's exact reason. */
static int obtain_password(const struct admin_cmd *cmd, const struct admin_args *a,
			   const char *ext, struct password *pw, struct admin_reply *r)
{
	const char *given = admin_arg(cmd, a, "--password");
	char why[256];
	int st;

	memset(pw, 0, sizeof(*pw));
	if (!given) {
		if (secret_password(pw->text, GEN_PW_LEN) != 0)
			return admin_reply_error(r, ADMIN_FAILED,
						 "cannot generate a password: no randomness");
		pw->generated = true;
		return ADMIN_OK;
	}
	if (strcmp(given, "-") == 0) {
		st = read_stdin_password(ext, pw, r);
		if (st)
			return st;
	} else if (strlen(given) > PW_MAX) {
		return admin_reply_error(r, ADMIN_FAILED,
					 "password refused: longer than %d characters", PW_MAX);
	} else {
		snprintf(pw->text, sizeof(pw->text), "%s", given);
	}
	if (pwpolicy_check_password(ext, pw->text, why, sizeof(why)) != 0) {
		secret_wipe(pw, sizeof(*pw));
		return admin_reply_error(r, ADMIN_FAILED, "password refused: %s", why);
	}
	return ADMIN_OK;
}

static void set_ha1(struct admin_ctx *ctx, struct ext_record *rec,
		    struct password *pw)
{
	digest_ha1_compute(rec->ext, ctx->conf->realm, pw->text, &rec->ha1);
}

static int check_ext_arg(const char *ext, struct admin_reply *r)
{
	char why[160];

	if (!admin_ext_valid(ext, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
}

static int parse_cidrs(const struct admin_cmd *cmd, const struct admin_args *a,
		       const char *opt, struct acl_cidr *out, unsigned *n,
		       struct admin_reply *r)
{
	const char *const *vals;
	unsigned i, count = admin_values(cmd, a, opt, &vals);
	const char *why;

	for (i = 0; i < count; i++) {
		why = NULL;
		if (acl_cidr_parse(vals[i], &out[i], &why) != 0) {
			char shown[80];

			admin_printable(vals[i], shown, sizeof(shown));
			return admin_reply_error(r, ADMIN_USAGE, "%s '%s': %s", opt,
						 shown, why ? why : "not a CIDR");
		}
	}
	*n = count;
	return ADMIN_OK;
}

static int check_name(const char *name, struct admin_reply *r)
{
	size_t i, n = strlen(name);

	if (n > EXT_NAME_MAX)
		return admin_reply_error(r, ADMIN_USAGE, "--name is too long: %zu > %d bytes",
					 n, EXT_NAME_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return admin_reply_error(r, ADMIN_USAGE,
						 "--name contains a control character at position %zu",
						 i + 1);
	return ADMIN_OK;
}

#define SRTP_MODES "required, optional or off"

/* --srtp MODE, if given. Usage error for a word that is not a mode. */
static int parse_srtp(const struct admin_cmd *cmd, const struct admin_args *a,
		      bool *given, enum ext_srtp *mode, struct admin_reply *r)
{
	const char *v = admin_arg(cmd, a, "--srtp");
	char shown[80];

	*given = v != NULL;
	if (!v || ext_srtp_parse(v, mode) == 0)
		return ADMIN_OK;
	admin_printable(v, shown, sizeof(shown));
	return admin_reply_error(r, ADMIN_USAGE, "--srtp '%s' is not a mode: use " SRTP_MODES,
				 shown);
}

/* The sentence that explains every refusal of a weaker mode for a remote
 * extension, so ext add and ext set say the same thing. */
#define REMOTE_NEEDS_SRTP \
	"a remote extension always requires SRTP, because its calls cross " \
	"networks outside the LAN"

static void reply_password(struct admin_reply *r, const struct password *pw)
{
	if (!pw->generated)
		return;
	admin_reply_record(r);
	admin_reply_str(r, "password", pw->text);
	admin_reply_note(r, "Store it in the phone now: it is shown only once.");
}

int cmd_ext_add(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	const char *name = admin_arg(cmd, a, "--name");
	struct ext_policy_args policy;
	struct ext_record rec;
	struct password pw;
	bool srtp_given;
	int st, err;

	memset(&rec, 0, sizeof(rec));
	if ((st = check_ext_arg(a->pos[0], r)) || (name && (st = check_name(name, r))) ||
	    (st = parse_cidrs(cmd, a, "--permit", rec.acl.permit, &rec.acl.npermit, r)) ||
	    (st = parse_cidrs(cmd, a, "--deny", rec.acl.deny, &rec.acl.ndeny, r)) ||
	    (st = parse_srtp(cmd, a, &srtp_given, &rec.srtp, r)) ||
	    (st = ext_policy_parse(cmd, ctx, a, &policy, r)))
		return st;
	ext_policy_apply(&policy, &rec);
	snprintf(rec.ext, sizeof(rec.ext), "%s", a->pos[0]);
	snprintf(rec.name, sizeof(rec.name), "%s", name ? name : "");
	rec.remote = admin_flag(cmd, a, "--remote");
	if (rec.remote && srtp_given && rec.srtp != EXT_SRTP_REQUIRED)
		return admin_reply_error(r, ADMIN_USAGE, "--remote with --srtp %s refused: "
					 REMOTE_NEEDS_SRTP "; leave out --srtp or give "
					 "--srtp required", ext_srtp_name(rec.srtp));
	if (rec.remote)
		rec.srtp = EXT_SRTP_REQUIRED;
	/* Refuse a duplicate before asking for or generating a password. */
	if (store_ext_get(ctx->store, rec.ext, &(struct ext_record){ 0 }) == 0)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s already exists", rec.ext);
	st = obtain_password(cmd, a, rec.ext, &pw, r);
	if (st)
		return st;
	set_ha1(ctx, &rec, &pw);
	err = store_ext_add(ctx->store, &rec);
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	if (err == EEXIST) {
		secret_wipe(&pw, sizeof(pw));
		return admin_reply_error(r, ADMIN_FAILED, "extension %s already exists", rec.ext);
	}
	if (err) {
		secret_wipe(&pw, sizeof(pw));
		return admin_reply_error(r, ADMIN_FAILED, "cannot add extension %s: %s",
					 rec.ext, strerror(err));
	}
	emit_event(ctx, "ext_added", rec.ext, NULL);
	admin_reply_note(r, "extension %s added", rec.ext);
	reply_password(r, &pw);
	secret_wipe(&pw, sizeof(pw));
	return ADMIN_OK;
}

int cmd_ext_passwd(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct ext_record rec;
	struct password pw;
	int st, err;

	if ((st = check_ext_arg(a->pos[0], r)))
		return st;
	err = store_ext_get(ctx->store, a->pos[0], &rec);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", a->pos[0]);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read extension %s: %s",
					 a->pos[0], strerror(err));
	st = obtain_password(cmd, a, rec.ext, &pw, r);
	if (st)
		return st;
	set_ha1(ctx, &rec, &pw);
	rec.updated = 0; /* now */
	err = store_ext_update(ctx->store, &rec);
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	if (err) {
		secret_wipe(&pw, sizeof(pw));
		return admin_reply_error(r, ADMIN_FAILED, "cannot change extension %s: %s",
					 rec.ext, strerror(err));
	}
	emit_event(ctx, "ext_changed", rec.ext, "password");
	admin_reply_note(r, "password of extension %s changed", rec.ext);
	reply_password(r, &pw);
	secret_wipe(&pw, sizeof(pw));
	return ADMIN_OK;
}

/* ---- ext del ---- */

/* The DIDs that ring an extension being deleted. */
struct ext_dids {
	struct did_record *list;
	size_t n, cap;
};

static int collect_did(const struct did_record *d, void *arg)
{
	struct ext_dids *ds = arg;

	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? ds->cap * 2 : 8;
		struct did_record *p = realloc(ds->list, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		ds->list = p;
		ds->cap = cap;
	}
	ds->list[ds->n++] = *d;
	return 0;
}

/* "+441632960001, +441632960002", cut short with "..." should an
 * extension have more numbers than a message can hold. */
static const char *did_numbers(const struct ext_dids *ds, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ds->n; i++) {
		if (used + sizeof(ds->list[i].number) + 8 > len) {
			snprintf(out + used, len - used, ", ...");
			break;
		}
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "",
					 ds->list[i].number);
	}
	return out;
}

/* Inside the caller's transaction: the DIDs are read, and deleted with the
 * extension only when forced, so no DID is left ringing nothing unseen. */
static int ext_del_tx(struct admin_ctx *ctx, const char *ext, bool force,
		      struct ext_dids *ds, struct admin_reply *r)
{
	char numbers[1024];
	int err = store_did_foreach_ext(ctx->store, ext, collect_did, ds);

	if (!err && ds->n && !force)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s is the destination of "
					 "DID%s %s: give --force to delete %s with it, or point "
					 "%s elsewhere first (did del, did add)", ext,
					 ds->n == 1 ? "" : "s", did_numbers(ds, numbers, sizeof(numbers)),
					 ds->n == 1 ? "it" : "them", ds->n == 1 ? "it" : "them");
	for (size_t i = 0; !err && i < ds->n; i++)
		err = store_did_del(ctx->store, ds->list[i].number);
	if (!err)
		err = store_ext_del(ctx->store, ext);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", ext);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete extension %s: %s", ext,
					 strerror(err));
	return ADMIN_OK;
}

static void ext_del_report(struct admin_ctx *ctx, const char *ext, const struct ext_dids *ds,
			   struct admin_reply *r)
{
	char numbers[1024];

	for (size_t i = 0; i < ds->n; i++)
		did_log_event(ctx, "did_removed", &ds->list[i]);
	emit_event(ctx, "ext_removed", ext, NULL);
	admin_reply_note(r, "extension %s removed, with its registrations", ext);
	if (ds->n)
		admin_reply_note(r, "DID%s %s removed with it: %s no longer delivered",
				 ds->n == 1 ? "" : "s", did_numbers(ds, numbers, sizeof(numbers)),
				 ds->n == 1 ? "its calls are" : "their calls are");
}

int cmd_ext_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	const char *ext = a->pos[0];
	struct ext_dids ds = { 0 };
	int st, err;

	if ((st = check_ext_arg(ext, r)))
		return st;
	err = store_begin(ctx->store);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete extension %s: %s", ext,
					 strerror(err));
	st = ext_del_tx(ctx, ext, admin_flag(cmd, a, "--force"), &ds, r);
	if (!st && (err = store_commit(ctx->store)) != 0)
		st = admin_reply_error(r, ADMIN_FAILED, "cannot delete extension %s: %s", ext,
				       strerror(err));
	if (st)
		store_rollback(ctx->store);
	else
		ext_del_report(ctx, ext, &ds, r);
	free(ds.list);
	return st;
}

/* ---- read-only ---- */

static void reply_acl(struct admin_reply *r, const char *key,
		      const struct acl_cidr *list, unsigned n)
{
	char text[64];
	unsigned i;

	admin_reply_list(r, key, NULL);
	for (i = 0; i < n; i++) {
		acl_cidr_format(&list[i], text, sizeof(text));
		admin_reply_list(r, key, text);
	}
}

/* The fields every view of an extension shows. Never the HA1. */
static void reply_ext(struct admin_reply *r, const struct ext_record *rec)
{
	char t[32];

	admin_reply_record(r);
	admin_reply_str(r, "ext", rec->ext);
	admin_reply_str(r, "name", rec->name);
	admin_reply_bool(r, "remote", rec->remote);
	admin_reply_str(r, "srtp", ext_srtp_name(rec->srtp));
	/* An empty permit list means "the LAN": say so instead of "-". */
	admin_reply_str(r, "access", rec->acl.npermit ? "permit-list" : "lan");
	reply_acl(r, "permit", rec->acl.permit, rec->acl.npermit);
	reply_acl(r, "deny", rec->acl.deny, rec->acl.ndeny);
	ext_policy_reply(r, rec);
	admin_reply_str(r, "created", admin_iso_time(rec->created, t, sizeof(t)));
	admin_reply_str(r, "updated", admin_iso_time(rec->updated, t, sizeof(t)));
}

static int list_one(const struct ext_record *rec, void *arg)
{
	reply_ext(arg, rec);
	return 0;
}

static const struct admin_column ext_columns[] = {
	{ "ext", "EXTENSION" },
	{ "name", "NAME" },
	{ "access", "ACCESS" },
	{ "remote", "REMOTE" },
	{ "srtp", "SRTP" },
	{ "permit", "PERMIT" },
	{ "deny", "DENY" },
};

int cmd_ext_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		 const struct admin_args *a, struct admin_reply *r)
{
	int err;

	admin_reply_table(r, ext_columns, sizeof(ext_columns) / sizeof(ext_columns[0]));
	err = store_ext_foreach(ctx->store, list_one, r);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot list extensions: %s",
					 strerror(err));
	return ADMIN_OK;
}

struct contact_count {
	const char *ext;
	int64_t n;
};

static int count_contact(const struct loc_record *l, void *arg)
{
	struct contact_count *c = arg;

	if (strcmp(l->ext, c->ext) == 0)
		c->n++;
	return 0;
}

int cmd_ext_show(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		 const struct admin_args *a, struct admin_reply *r)
{
	struct ext_record rec;
	struct contact_count cc = { a->pos[0], 0 };
	int st, err;

	if ((st = check_ext_arg(a->pos[0], r)))
		return st;
	err = store_ext_get(ctx->store, a->pos[0], &rec);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", a->pos[0]);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read extension %s: %s",
					 a->pos[0], strerror(err));
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	reply_ext(r, &rec);
	store_loc_foreach(ctx->store, (int64_t)time(NULL), count_contact, &cc);
	admin_reply_int(r, "registrations", cc.n);
	return ADMIN_OK;
}

/* ---- ext set ---- */

/* The new values `ext set` asked for; checked before the store is read. */
struct ext_change {
	const char *name;
	bool srtp_given;
	enum ext_srtp srtp;
	struct ext_policy_args policy;
};

static int ext_set_args(const struct admin_cmd *cmd, struct admin_ctx *ctx,
			const struct admin_args *a, struct ext_change *c, struct admin_reply *r)
{
	int st;

	memset(c, 0, sizeof(*c));
	c->name = admin_arg(cmd, a, "--name");
	if ((st = check_ext_arg(a->pos[0], r)) || (c->name && (st = check_name(c->name, r))) ||
	    (st = parse_srtp(cmd, a, &c->srtp_given, &c->srtp, r)) ||
	    (st = ext_policy_parse(cmd, ctx, a, &c->policy, r)))
		return st;
	if (!c->name && !c->srtp_given && !ext_policy_given(&c->policy))
		return admin_reply_error(r, ADMIN_USAGE, "nothing to change: give at least one of "
					 "--name, --srtp, --cos, --allow, --countries, --caller-id, "
					 "--daily-cap, --monthly-cap");
	return ADMIN_OK;
}

static int ext_get_existing(struct admin_ctx *ctx, const char *ext, struct ext_record *rec,
			    struct admin_reply *r)
{
	int err = store_ext_get(ctx->store, ext, rec);

	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", ext);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read extension %s: %s",
					 ext, strerror(err));
	return ADMIN_OK;
}

/* Read, check and write back inside one transaction: the update rewrites
 * every column, HA1s included, so a password changed in between by
 * another command must not be overwritten with the one read here. */
static int ext_set_tx(struct admin_ctx *ctx, const char *ext, const struct ext_change *c,
		      struct ext_record *rec, struct admin_reply *r)
{
	int st, err;

	if ((st = ext_get_existing(ctx, ext, rec, r)))
		return st;
	if (c->srtp_given && rec->remote && c->srtp != EXT_SRTP_REQUIRED)
		return admin_reply_error(r, ADMIN_FAILED, "--srtp %s refused: extension %s is "
					 "remote, and " REMOTE_NEEDS_SRTP,
					 ext_srtp_name(c->srtp), rec->ext);
	if (c->name)
		snprintf(rec->name, sizeof(rec->name), "%s", c->name);
	if (c->srtp_given)
		rec->srtp = c->srtp;
	ext_policy_apply(&c->policy, rec);
	rec->updated = (int64_t)time(NULL); /* set here so the reply shows it */
	err = store_ext_update(ctx->store, rec);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot change extension %s: %s",
					 rec->ext, strerror(err));
	return ADMIN_OK;
}

int cmd_ext_set(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	struct ext_change c;
	struct ext_record rec;
	int st, err;

	if ((st = ext_set_args(cmd, ctx, a, &c, r)))
		return st;
	err = store_begin(ctx->store);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot change extension %s: %s",
					 a->pos[0], strerror(err));
	memset(&rec, 0, sizeof(rec));
	st = ext_set_tx(ctx, a->pos[0], &c, &rec, r);
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	if (!st && (err = store_commit(ctx->store)) != 0)
		st = admin_reply_error(r, ADMIN_FAILED, "cannot change extension %s: %s",
				       rec.ext, strerror(err));
	if (st) {
		store_rollback(ctx->store);
		return st;
	}
	if (c.name)
		emit_event(ctx, "ext_changed", rec.ext, "name");
	if (c.srtp_given)
		emit_event(ctx, "ext_changed", rec.ext, "srtp");
	if (ext_policy_given(&c.policy)) {
		char changes[64];

		ext_policy_changes(&c.policy, changes, sizeof(changes));
		emit_event(ctx, "ext_changed", rec.ext, changes);
	}
	admin_reply_note(r, "extension %s changed", rec.ext);
	reply_ext(r, &rec);
	return ADMIN_OK;
}
