/* ban list|add|del, ext unlock|locked: bans and account locks as the
 * store keeps them. The daemon's ban engine writes a row when it bans or
 * locks and re-reads both tables when another process commits, so what
 * these commands change reaches it without a restart. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/cmd_ban.h"
#include "admin/util.h"
#include "core/conf.h"
#include "guard/acl.h"
#include "guard/secevent.h"
#include "store/store.h"

#define REASON_DEFAULT "manual"

/* ---- the address ---- */

static int addr_fail(char *why, size_t whylen, const char *shown, const char *what)
{
	snprintf(why, whylen, "'%s' %s", shown, what);
	return EINVAL;
}

/* "203.0.113.5:5060": an IPv4 address with a port. */
static bool ipv4_with_port(const char *text)
{
	const char *colon = strchr(text, ':');
	unsigned char bin[4];
	char host[INET_ADDRSTRLEN];
	size_t n;

	if (!colon || strchr(colon + 1, ':'))
		return false;
	n = (size_t)(colon - text);
	if (n >= sizeof(host))
		return false;
	memcpy(host, text, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, bin) == 1;
}

/* The forms people paste from logs and firewall rules, each refused
 * with what to write instead. */
static int addr_shape(const char *text, const char *shown, char *why, size_t whylen)
{
	if (!text[0]) {
		snprintf(why, whylen, "the address is empty: give one IPv4 or IPv6 address");
		return EINVAL;
	}
	if (strchr(text, '/'))
		return addr_fail(why, whylen, shown, "is a network (CIDR): ban takes one "
				 "address, without a prefix length");
	if (text[0] == '[' && strstr(text, "]:"))
		return addr_fail(why, whylen, shown, "has a port: give the address alone, "
				 "without brackets and port");
	if (text[0] == '[')
		return addr_fail(why, whylen, shown, "has brackets: give the IPv6 address "
				 "without them");
	if (strchr(text, '%'))
		return addr_fail(why, whylen, shown, "has a zone index: give the address "
				 "without %INTERFACE");
	if (ipv4_with_port(text))
		return addr_fail(why, whylen, shown, "has a port: give the address alone, "
				 "without :PORT");
	return 0;
}

/* Addresses no packet comes from: banning one is a mistake. */
static int addr_host(const char *canon, int family, const unsigned char *bin,
		     char *why, size_t whylen)
{
	bool unspecified, multicast;

	if (family == AF_INET) {
		unspecified = memcmp(bin, "\0\0\0\0", 4) == 0;
		multicast = (bin[0] & 0xf0) == 0xe0 || memcmp(bin, "\xff\xff\xff\xff", 4) == 0;
	} else {
		unspecified = IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)(const void *)bin);
		multicast = bin[0] == 0xff;
	}
	if (unspecified)
		return addr_fail(why, whylen, canon, "is the unspecified address: no packet "
				 "comes from it");
	if (multicast)
		return addr_fail(why, whylen, canon, "is a multicast or broadcast address: "
				 "no packet comes from it");
	return 0;
}

int ban_cli_addr_parse(const char *text, char *out, size_t outlen, char *why,
		       size_t whylen)
{
	unsigned char bin[16];
	char shown[64];
	int family = AF_INET;
	int err;

	admin_printable(text, shown, sizeof(shown));
	if ((err = addr_shape(text, shown, why, whylen)))
		return err;
	if (inet_pton(AF_INET, text, bin) != 1) {
		family = AF_INET6;
		if (inet_pton(AF_INET6, text, bin) != 1)
			return addr_fail(why, whylen, shown, "is not an IPv4 or IPv6 address");
		/* A firewall sees the IPv4 address inside ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)bin)) {
			memmove(bin, bin + 12, 4);
			family = AF_INET;
		}
	}
	if (!inet_ntop(family, bin, out, (socklen_t)outlen))
		return addr_fail(why, whylen, shown, "is too long");
	return addr_host(out, family, bin, why, whylen);
}

/* ADDR of the command line, canonical, or a usage error in the reply. */
static int addr_arg(const char *text, char *addr, size_t len, struct admin_reply *r)
{
	char why[200];

	if (ban_cli_addr_parse(text, addr, len, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
}

/* ---- options ---- */

static int for_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		   struct admin_reply *r, int64_t *secs)
{
	const char *v = admin_arg(cmd, a, "--for");
	char why[200];

	*secs = BAN_CLI_DEFAULT_S;
	if (v && admin_parse_duration(v, BAN_CLI_MAX_S, secs, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--for: %s", why);
	return ADMIN_OK;
}

/* A reason is a token in the security log and the alerts: short, plain. */
static int reason_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		      struct admin_reply *r, char *reason, size_t len)
{
	const char *v = admin_arg(cmd, a, "--reason");
	char shown[64];
	size_t i, n;

	if (!v)
		v = REASON_DEFAULT;
	n = strlen(v);
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_'))
			break;
	if (n == 0 || n > BAN_REASON_MAX || i < n)
		return admin_reply_error(r, ADMIN_USAGE, "--reason: '%s' is not a reason: "
					 "write 1 to %u characters of a-z, 0-9 and '_' "
					 "(for example abuse_report)",
					 admin_printable(v, shown, sizeof(shown)),
					 BAN_REASON_MAX);
	snprintf(reason, len, "%s", v);
	return ADMIN_OK;
}

/* ---- shared output ---- */

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* until as ISO time, unix seconds, and what is left of it. */
static void reply_until(struct admin_reply *r, int64_t until, int64_t now)
{
	char t[48];
	int64_t left = until > now ? until - now : 0;

	admin_reply_str(r, "until", admin_iso_time(until, t, sizeof(t)));
	admin_reply_int(r, "until_unix", until);
	admin_reply_str(r, "remaining", left ? admin_format_duration(left, t, sizeof(t))
					     : "expired");
	admin_reply_int(r, "remaining_s", left);
	admin_reply_bool(r, "active", left > 0);
}

/* The fields of the guard's own events, in the same order, so a reader
 * of the log need not care who banned or unlocked. */
static void log_ban_added(struct admin_ctx *ctx, const struct ban_record *b, int64_t secs)
{
	struct secev e;
	char until[48];

	secev_begin(&e, "ban_added");
	secev_token(&e, "addr", b->addr);
	secev_token(&e, "reason", b->reason);
	secev_uint(&e, "duration", (unsigned long long)secs);
	secev_uint(&e, "level", b->level);
	secev_token(&e, "until", admin_iso_time(b->until, until, sizeof(until)));
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

static void log_ban_lifted(struct admin_ctx *ctx, const char *addr)
{
	struct secev e;

	secev_begin(&e, "ban_lifted");
	secev_token(&e, "addr", addr);
	secev_token(&e, "reason", "manual");
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

static void log_unlocked(struct admin_ctx *ctx, const char *ext)
{
	struct secev e;

	secev_begin(&e, "account_unlocked");
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_token(&e, "reason", "manual");
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

/* ---- ban list ---- */

static const struct admin_column ban_columns[] = {
	{ "addr", "ADDRESS" },
	{ "until", "UNTIL" },
	{ "remaining", "REMAINING" },
	{ "level", "LEVEL" },
	{ "reason", "REASON" },
};

struct ban_walk {
	struct admin_reply *r;
	int64_t now;
	bool all;
	size_t rows;
};

static int ban_list_one(const struct ban_record *b, void *arg)
{
	struct ban_walk *w = arg;
	char t[48];

	if (!w->all && b->until <= w->now)
		return 0;
	admin_reply_record(w->r);
	admin_reply_str(w->r, "addr", b->addr);
	admin_reply_str(w->r, "created", admin_iso_time(b->created, t, sizeof(t)));
	reply_until(w->r, b->until, w->now);
	admin_reply_int(w->r, "level", b->level);
	admin_reply_str(w->r, "reason", b->reason);
	w->rows++;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

int cmd_ban_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		 const struct admin_args *a, struct admin_reply *r)
{
	struct ban_walk w = { r, now_s(), admin_flag(cmd, a, "--all"), 0 };
	int err;

	admin_reply_table(r, ban_columns, sizeof(ban_columns) / sizeof(ban_columns[0]));
	err = store_ban_foreach(ctx->store, ban_list_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read bans: %s", strerror(err));
	if (w.rows == 0)
		admin_reply_note(r, w.all ? "no bans" : "no active bans");
	return ADMIN_OK;
}

/* ---- ban add ---- */

/* The guard never bans a whitelisted network (it does not even look at
 * a stored ban for it), so such a ban would only pretend: refused, with
 * the entry that covers it. */
static int whitelist_check(const struct rf_conf *conf, const char *addr,
			   struct admin_reply *r)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	char cidr[64];
	unsigned i;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1)
		in4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		return ADMIN_OK;
	for (i = 0; i < conf->nguard_whitelist; i++) {
		if (!acl_cidr_match(&conf->guard_whitelist[i], (struct sockaddr *)&ss))
			continue;
		acl_cidr_format(&conf->guard_whitelist[i], cidr, sizeof(cidr));
		return admin_reply_error(r, ADMIN_FAILED, "%s is in [guard] whitelist (%s), "
					 "which is never banned: take it out of the whitelist "
					 "first", addr, cidr);
	}
	return ADMIN_OK;
}

/* A new ban, or the replacement of a row for the same address: an
 * active ban gets the new end and reason but keeps its start; any row
 * keeps its level, which only the ban engine raises. */
static void ban_merge(struct ban_record *b, bool existed, int64_t now, int64_t secs,
		      const char *reason)
{
	if (!existed || b->until <= now) {
		b->created = now;
		if (!existed)
			b->level = 0;
	}
	b->until = now + secs;
	snprintf(b->reason, sizeof(b->reason), "%s", reason);
}

static int ban_write(struct store *s, const char *addr, int64_t secs, const char *reason,
		     struct ban_record *b, bool *replaced)
{
	int64_t now = now_s();
	int err, gerr;

	err = store_begin(s);
	if (err)
		return err;
	memset(b, 0, sizeof(*b));
	gerr = store_ban_get(s, addr, b);
	if (gerr && gerr != ENOENT) {
		store_rollback(s);
		return gerr;
	}
	*replaced = gerr == 0 && b->until > now;
	snprintf(b->addr, sizeof(b->addr), "%s", addr);
	ban_merge(b, gerr == 0, now, secs, reason);
	err = store_ban_put(s, b);
	if (!err)
		err = store_commit(s);
	if (err)
		store_rollback(s);
	return err;
}

int cmd_ban_add(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	char addr[BAN_ADDR_MAX], reason[BAN_REASON_MAX + 1], until[48];
	const char *for_text = admin_arg(cmd, a, "--for");
	struct ban_record b;
	bool replaced;
	int64_t secs;
	int err;

	if (addr_arg(a->pos[0], addr, sizeof(addr), r) || for_arg(cmd, a, r, &secs) ||
	    reason_arg(cmd, a, r, reason, sizeof(reason)))
		return ADMIN_USAGE;
	if (whitelist_check(ctx->conf, addr, r))
		return ADMIN_FAILED;
	err = ban_write(ctx->store, addr, secs, reason, &b, &replaced);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot ban %s: %s", addr,
					 strerror(err));
	admin_iso_time(b.until, until, sizeof(until));
	log_ban_added(ctx, &b, secs);
	/* --for as the administrator wrote it: it passed the parser. */
	admin_reply_note(r, "%s %s until %s (%s), reason %s", addr,
			 replaced ? "was banned already; now banned" : "banned", until,
			 for_text ? for_text : BAN_CLI_DEFAULT_TEXT, reason);
	if (!ctx->conf->guard)
		admin_reply_note(r, "note: the guard is off ([guard] enabled = false), so the "
				 "daemon applies no ban until it is turned on");
	return ADMIN_OK;
}

/* ---- ban del ---- */

int cmd_ban_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	char addr[BAN_ADDR_MAX], t[48];
	struct ban_record b;
	int err;

	(void)cmd;
	if (addr_arg(a->pos[0], addr, sizeof(addr), r))
		return ADMIN_USAGE;
	err = store_ban_get(ctx->store, addr, &b);
	if (!err)
		err = store_ban_del(ctx->store, addr);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "%s is not banned", addr);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot lift the ban on %s: %s",
					 addr, strerror(err));
	log_ban_lifted(ctx, addr);
	if (b.until > now_s())
		admin_reply_note(r, "ban on %s lifted; its repeat count is forgotten", addr);
	else
		admin_reply_note(r, "the ban on %s had ended at %s; its repeat count is "
				 "forgotten", addr, admin_iso_time(b.until, t, sizeof(t)));
	return ADMIN_OK;
}

/* ---- ext unlock ---- */

static int ext_arg(const char *ext, struct admin_reply *r)
{
	char why[160];

	if (!admin_ext_valid(ext, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
}

/* ENOENT for an unknown extension, ESRCH when it is not locked (no row,
 * or one whose lock has ended), else the store's error. */
static int unlock_tx(struct store *s, const char *ext)
{
	struct ext_record e;
	struct lock_record l;
	int err;

	err = store_begin(s);
	if (err)
		return err;
	err = store_ext_get(s, ext, &e);
	if (!err) {
		err = store_lock_get(s, ext, &l);
		if (!err && l.until <= now_s())
			err = ESRCH;
		else if (err == ENOENT)
			err = ESRCH;
	}
	if (!err)
		err = store_lock_del(s, ext);
	if (!err)
		err = store_commit(s);
	if (err)
		store_rollback(s);
	return err;
}

int cmd_ext_unlock(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	const char *ext = a->pos[0];
	int st, err;

	(void)cmd;
	if ((st = ext_arg(ext, r)))
		return st;
	err = unlock_tx(ctx->store, ext);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s does not exist", ext);
	if (err == ESRCH)
		return admin_reply_error(r, ADMIN_FAILED, "extension %s is not locked", ext);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot unlock extension %s: %s",
					 ext, strerror(err));
	log_unlocked(ctx, ext);
	admin_reply_note(r, "extension %s unlocked", ext);
	return ADMIN_OK;
}

/* ---- ext locked ---- */

static const struct admin_column lock_columns[] = {
	{ "ext", "EXT" },
	{ "until", "UNTIL" },
	{ "remaining", "REMAINING" },
	{ "failures", "FAILURES" },
	{ "sources", "SOURCES" },
};

struct lock_walk {
	struct admin_ctx *ctx;
	struct admin_reply *r;
	int64_t now;
	size_t rows;
};

static int lock_list_one(const struct lock_record *l, void *arg)
{
	struct lock_walk *w = arg;
	struct ext_record e;
	char t[48];
	int err;

	if (l->until <= w->now)
		return 0;
	/* A lock on a deleted extension locks nothing. */
	err = store_ext_get(w->ctx->store, l->ext, &e);
	if (err == ENOENT)
		return 0;
	if (err)
		return err;
	admin_reply_record(w->r);
	admin_reply_str(w->r, "ext", l->ext);
	admin_reply_str(w->r, "created", admin_iso_time(l->created, t, sizeof(t)));
	reply_until(w->r, l->until, w->now);
	admin_reply_int(w->r, "failures", l->failures);
	admin_reply_int(w->r, "sources", l->sources);
	w->rows++;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

int cmd_ext_locked(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct lock_walk w = { ctx, r, now_s(), 0 };
	int err;

	(void)cmd;
	(void)a;
	admin_reply_table(r, lock_columns, sizeof(lock_columns) / sizeof(lock_columns[0]));
	err = store_lock_foreach(ctx->store, lock_list_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read account locks: %s",
					 strerror(err));
	if (w.rows == 0)
		admin_reply_note(r, "no locked extensions");
	return ADMIN_OK;
}
