/* trunk add|list|show|set|del, and the parsers of the trunk, DID and route
 * commands (cmd_route.c has the DID and route handlers). A trunk's
 * password is kept because the registration client needs it in clear,
 * so it is never printed, logged or repeated in an error: views say only
 * whether it is set. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/cmd_ban.h"
#include "admin/cmd_credit.h"
#include "admin/cmd_trunk.h"
#include "admin/util.h"
#include "core/log.h"
#include "core/secret.h"
#include "fraud/numplan.h"
#include "guard/secevent.h"
#include "pbx/route.h"
#include "store/store.h"

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return EINVAL;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- NAME ---- */

int trunk_cli_name_check(const char *name, char *why, size_t whylen)
{
	size_t i, n = strlen(name);
	char shown[64], c[16];

	if (n == 0)
		return why_fail(why, whylen, "trunk name is empty");
	if (n > TRUNK_NAME_MAX)
		return why_fail(why, whylen, "trunk name is longer than %d characters",
				TRUNK_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!is_alnum(name[i]) && name[i] != '-' && name[i] != '_')
			return why_fail(why, whylen, "trunk name '%s': %s at %zu is not allowed: "
					"use letters, digits, '-' and '_'",
					admin_printable(name, shown, sizeof(shown)),
					log_char_name((unsigned char)name[i], c, sizeof(c)), i + 1);
	return 0;
}

/* ---- --host ---- */

/* An address literal, bare or in brackets: the ban parser's canonical
 * form and its refusal of addresses no provider sends from. */
static int host_address(const char *text, char *out, size_t outlen, char *why, size_t whylen)
{
	char reason[200];

	if (ban_cli_addr_parse(text, out, outlen, reason, sizeof(reason)) != 0)
		return why_fail(why, whylen, "--host %s", reason);
	return 0;
}

static int host_bracketed(const char *text, const char *shown, char *out, size_t outlen,
			  char *why, size_t whylen)
{
	const char *close = strchr(text, ']');
	char inner[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t n;

	if (!close)
		return why_fail(why, whylen, "--host '%s' has an unclosed '['", shown);
	if (close[1] == ':')
		return why_fail(why, whylen, "--host '%s' has a port: give the port with --port",
				shown);
	n = (size_t)(close - text - 1);
	if (close[1] || n >= sizeof(inner))
		return why_fail(why, whylen, "--host '%s' is not an IPv6 address in brackets",
				shown);
	memcpy(inner, text + 1, n);
	inner[n] = '\0';
	if (inet_pton(AF_INET6, inner, bin) != 1)
		return why_fail(why, whylen, "--host '%s' is not an IPv6 address in brackets",
				shown);
	return host_address(inner, out, outlen, why, whylen);
}

static bool digits_and_dots(const char *s)
{
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') && *s != '.')
			return false;
	return true;
}

/* "sip.example.net:5060": one colon and a number after it. */
static bool name_with_port(const char *text)
{
	const char *colon = strchr(text, ':');

	if (!colon || strchr(colon + 1, ':') || !colon[1])
		return false;
	return strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

/* RFC 1123 host names: labels of 1 to 63 letters, digits and '-', not
 * starting or ending with '-'. */
static int dns_name_check(const char *text, const char *shown, char *why, size_t whylen)
{
	size_t i, label = 0, n = strlen(text);
	char c[16];

	for (i = 0; i <= n; i++) {
		if (text[i] == '.' || text[i] == '\0') {
			if (label == 0 && i == n)
				return why_fail(why, whylen, "--host '%s' ends with '.': write the "
						"name without it", shown);
			if (label == 0)
				return why_fail(why, whylen, "--host '%s' has an empty label at %zu",
						shown, i + 1);
			if (text[i - 1] == '-')
				return why_fail(why, whylen, "--host '%s': a label ends with '-' at %zu",
						shown, i);
			label = 0;
			continue;
		}
		if (!is_alnum(text[i]) && text[i] != '-')
			return why_fail(why, whylen, "--host '%s': %s at %zu is not allowed in a DNS "
					"name: use letters, digits, '-' and '.'", shown,
					log_char_name((unsigned char)text[i], c, sizeof(c)), i + 1);
		if (text[i] == '-' && label == 0)
			return why_fail(why, whylen, "--host '%s': a label starts with '-' at %zu",
					shown, i + 1);
		if (++label > 63)
			return why_fail(why, whylen, "--host '%s' has a label longer than 63 "
					"characters", shown);
	}
	return 0;
}

/* The forms people paste from a provider's welcome mail, each refused
 * with what to write instead. */
static int host_shape(const char *text, const char *shown, char *why, size_t whylen)
{
	if (strncasecmp(text, "sip:", 4) == 0 || strncasecmp(text, "sips:", 5) == 0 ||
	    strstr(text, "://"))
		return why_fail(why, whylen, "--host '%s' is a URI: give the host name or "
				"address alone", shown);
	if (strchr(text, '/'))
		return why_fail(why, whylen, "--host '%s' is a network: give one name or "
				"address (the addresses the trunk sends from go in --ip)", shown);
	if (name_with_port(text))
		return why_fail(why, whylen, "--host '%s' has a port: give the port with --port",
				shown);
	return 0;
}

int trunk_cli_host_parse(const char *text, char *out, size_t outlen, char *why,
			 size_t whylen)
{
	unsigned char bin[16];
	char shown[80];
	size_t i, n = strlen(text);
	int err;

	admin_printable(text, shown, sizeof(shown));
	if (n == 0)
		return why_fail(why, whylen, "--host is empty: give the provider's DNS name or "
				"IP address");
	if (n > TRUNK_HOST_MAX || n >= outlen)
		return why_fail(why, whylen, "--host is longer than %d characters",
				TRUNK_HOST_MAX);
	if (text[0] == '[')
		return host_bracketed(text, shown, out, outlen, why, whylen);
	if (inet_pton(AF_INET, text, bin) == 1 || inet_pton(AF_INET6, text, bin) == 1)
		return host_address(text, out, outlen, why, whylen);
	if ((err = host_shape(text, shown, why, whylen)))
		return err;
	if (strchr(text, ':'))
		return why_fail(why, whylen, "--host '%s' is not a DNS name or IP address", shown);
	if (digits_and_dots(text))
		return why_fail(why, whylen, "--host '%s' is not a valid IPv4 address", shown);
	if ((err = dns_name_check(text, shown, why, whylen)))
		return err;
	/* DNS names are case-insensitive: one spelling in the database. */
	for (i = 0; i <= n; i++)
		out[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] - 'A' + 'a') : text[i];
	return 0;
}

/* ---- credentials ---- */

int trunk_cli_username_check(const char *user, char *why, size_t whylen)
{
	size_t i, n = strlen(user);
	char c[16];

	if (n == 0)
		return why_fail(why, whylen, "--username is empty");
	if (n > TRUNK_USER_MAX)
		return why_fail(why, whylen, "--username is longer than %d characters",
				TRUNK_USER_MAX);
	/* It goes into a quoted digest parameter and a From header: what
	 * would need escaping there is refused here. */
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)user[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			return why_fail(why, whylen, "--username: %s at %zu is not allowed: use "
					"printable characters without spaces, '\"' or '\\'",
					log_char_name(ch, c, sizeof(c)), i + 1);
	}
	return 0;
}

int trunk_cli_password_check(const char *pw, char *why, size_t whylen)
{
	size_t i, n = strlen(pw);

	if (n == 0)
		return why_fail(why, whylen, "--password is empty");
	if (n > TRUNK_PASSWORD_MAX)
		return why_fail(why, whylen, "--password is longer than %d characters",
				TRUNK_PASSWORD_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			return why_fail(why, whylen, "--password contains a control character at "
					"position %zu", i + 1);
	return 0;
}

/* ---- numbers ---- */

int did_cli_number_parse(const struct numplan *np, const char *text, char *out,
			 size_t outlen, char *why, size_t whylen)
{
	const char *reason = "not a number";
	struct num_info n;
	char shown[64];

	admin_printable(text, shown, sizeof(shown));
	if (!text[0])
		return why_fail(why, whylen, "NUMBER is empty: give the number, for example "
				"01632 960000 or +441632960000");
	if (numplan_classify(np, text, strlen(text), &n, &reason) != 0)
		return why_fail(why, whylen, "NUMBER '%s': %s", shown, reason);
	if (n.e164[0] != '+')
		return why_fail(why, whylen, "NUMBER '%s' is a%s %s number, which has no E.164 "
				"form and cannot be a DID", shown,
				n.cls == NUM_EMERGENCY ? "n" : "", num_class_name(n.cls));
	if (strlen(n.e164) >= outlen)
		return why_fail(why, whylen, "NUMBER '%s' is too long", shown);
	memcpy(out, n.e164, strlen(n.e164) + 1);
	return 0;
}

int route_cli_dialled_check(const char *text, char *why, size_t whylen)
{
	size_t i, n = strlen(text);
	char shown[64], c[16];

	admin_printable(text, shown, sizeof(shown));
	if (n == 0)
		return why_fail(why, whylen, "NUMBER is empty");
	if (n > ROUTE_DIALLED_MAX)
		return why_fail(why, whylen, "NUMBER '%s' is longer than %d characters", shown,
				ROUTE_DIALLED_MAX);
	for (i = 0; i < n; i++)
		if (!(text[i] >= '0' && text[i] <= '9') && !(i == 0 && text[i] == '+'))
			return why_fail(why, whylen, "NUMBER '%s': %s at %zu is not a digit (a '+' "
					"may only come first)", shown,
					log_char_name((unsigned char)text[i], c, sizeof(c)), i + 1);
	return 0;
}

/* ---- trunk add: the options ---- */

/* A parser's refusal as this command's usage error. */
static int usage_if(int err, const char *why, struct admin_reply *r)
{
	return err ? admin_reply_error(r, ADMIN_USAGE, "%s", why) : ADMIN_OK;
}

static int transport_arg(const struct admin_cmd *cmd, const struct admin_args *a,
			 struct trunk_record *t, struct admin_reply *r)
{
	const char *v = admin_arg(cmd, a, "--transport");
	char shown[64];

	if (!v)
		v = "udp";
	if (strcmp(v, "udp") && strcmp(v, "tcp") && strcmp(v, "tls"))
		return admin_reply_error(r, ADMIN_USAGE, "--transport '%s' is not a transport: "
					 "use udp, tcp or tls",
					 admin_printable(v, shown, sizeof(shown)));
	snprintf(t->transport, sizeof(t->transport), "%s", v);
	return ADMIN_OK;
}

static bool cidr_equal(const struct acl_cidr *a, const struct acl_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static int ips_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		   struct trunk_record *t, struct admin_reply *r)
{
	const char *const *vals;
	unsigned i, j, n = admin_values(cmd, a, "--ip", &vals);
	const char *why;
	char shown[80];

	if (n > TRUNK_MAX_IPS)
		return admin_reply_error(r, ADMIN_USAGE, "--ip given %u times: a trunk has at "
					 "most %d addresses", n, TRUNK_MAX_IPS);
	for (i = 0; i < n; i++) {
		why = NULL;
		admin_printable(vals[i], shown, sizeof(shown));
		if (acl_cidr_parse(vals[i], &t->ips[i], &why) != 0)
			return admin_reply_error(r, ADMIN_USAGE, "--ip '%s': %s", shown,
						 why ? why : "not an address or network");
		for (j = 0; j < i; j++)
			if (cidr_equal(&t->ips[j], &t->ips[i]))
				return admin_reply_error(r, ADMIN_USAGE, "--ip '%s' is given twice",
							 shown);
	}
	t->nips = n;
	return ADMIN_OK;
}

/* --register needs both credentials, and credentials mean nothing
 * without it: they are only used to register. */
static int credentials_arg(const struct admin_cmd *cmd, const struct admin_args *a,
			   struct trunk_record *t, struct admin_reply *r)
{
	const char *user = admin_arg(cmd, a, "--username");
	const char *pw = admin_arg(cmd, a, "--password");
	char why[160];

	t->reg = admin_flag(cmd, a, "--register");
	if (!t->reg && (user || pw))
		return admin_reply_error(r, ADMIN_USAGE, "%s without --register: the credentials "
					 "are used only to register to the provider; add "
					 "--register, or leave them out for a trunk that "
					 "recognises us by address", user ? "--username" : "--password");
	if (t->reg && (!user || !pw))
		return admin_reply_error(r, ADMIN_USAGE, "--register needs --username and "
					 "--password (give --password - to read it from standard "
					 "input)");
	if (!t->reg)
		return ADMIN_OK;
	if (trunk_cli_username_check(user, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	snprintf(t->username, sizeof(t->username), "%s", user);
	if (strcmp(pw, "-") == 0)
		return ADMIN_OK; /* read once everything else is known to be right */
	if (trunk_cli_password_check(pw, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	snprintf(t->password, sizeof(t->password), "%s", pw);
	return ADMIN_OK;
}

static int trunk_add_args(const struct admin_cmd *cmd, struct admin_ctx *ctx,
			  const struct admin_args *a, struct trunk_record *t, struct admin_reply *r)
{
	const char *host = admin_arg(cmd, a, "--host");
	struct cap_args caps;
	char why[256];
	int st;

	memset(t, 0, sizeof(*t));
	t->max_calls = TRUNK_CLI_DEFAULT_MAX_CALLS;
	if ((st = usage_if(trunk_cli_name_check(a->pos[0], why, sizeof(why)), why, r)))
		return st;
	snprintf(t->name, sizeof(t->name), "%s", a->pos[0]);
	if (!host)
		return admin_reply_error(r, ADMIN_USAGE, "--host is required: give the "
					 "provider's DNS name or IP address");
	if ((st = usage_if(trunk_cli_host_parse(host, t->host, sizeof(t->host), why,
						sizeof(why)), why, r)) ||
	    (st = admin_uint_arg(cmd, a, "--port", 1, 65535, &t->port, r)) ||
	    (st = transport_arg(cmd, a, t, r)) || (st = credentials_arg(cmd, a, t, r)) ||
	    (st = ips_arg(cmd, a, t, r)) ||
	    (st = admin_uint_arg(cmd, a, "--max-calls", 0, TRUNK_CLI_MAX_CALLS, &t->max_calls, r)) ||
	    (st = cap_args_parse(cmd, ctx, a, CREDIT_TRUNK, &caps, r)))
		return st;
	cap_args_apply(&caps, &t->daily_cap, &t->monthly_cap);
	return ADMIN_OK;
}

static int stdin_password(struct trunk_record *t, struct admin_reply *r)
{
	char line[TRUNK_PASSWORD_MAX + 2], why[160];
	int err = admin_read_secret("trunk password: ", line, sizeof(line));

	/* admin_read_secret keeps the line to sizeof(line) - 2 bytes. */
	if (!err)
		memcpy(t->password, line, strnlen(line, sizeof(t->password) - 1) + 1);
	secret_wipe(line, sizeof(line));
	if (err == ENODATA)
		return admin_reply_error(r, ADMIN_FAILED, "--password -: no password on "
					 "standard input");
	if (err == EMSGSIZE)
		return admin_reply_error(r, ADMIN_FAILED, "--password is longer than %d "
					 "characters", TRUNK_PASSWORD_MAX);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "--password -: cannot read standard "
					 "input: %s", strerror(err));
	if (trunk_cli_password_check(t->password, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_FAILED, "%s", why);
	return ADMIN_OK;
}

/* ---- trunk add ---- */

/* change: what trunk_changed changed, else NULL. */
static void log_trunk(struct admin_ctx *ctx, const char *event, const struct trunk_record *t,
		      const char *change)
{
	struct secev e;

	secev_begin(&e, event);
	secev_token(&e, "trunk", t->name);
	if (t->host[0] && !change) {
		secev_untrusted(&e, "host", t->host, strlen(t->host));
		secev_token(&e, "register", t->reg ? "yes" : "no");
	}
	if (change)
		secev_token(&e, "change", change);
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

int cmd_trunk_add(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		  const struct admin_args *a, struct admin_reply *r)
{
	struct trunk_record t, old;
	int st, err;

	if ((st = trunk_add_args(cmd, ctx, a, &t, r)))
		return st;
	/* Refuse a duplicate before asking for the password. */
	err = store_trunk_get(ctx->store, t.name, &old);
	secret_wipe(&old, sizeof(old));
	if (err == 0)
		return admin_reply_error(r, ADMIN_FAILED, "trunk %s already exists", t.name);
	if (t.reg && !t.password[0] && (st = stdin_password(&t, r))) {
		secret_wipe(&t, sizeof(t));
		return st;
	}
	err = store_trunk_add(ctx->store, &t);
	secret_wipe(t.password, sizeof(t.password));
	if (err == EEXIST)
		return admin_reply_error(r, ADMIN_FAILED, "trunk %s already exists", t.name);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot add trunk %s: %s", t.name,
					 strerror(err));
	log_trunk(ctx, "trunk_added", &t, NULL);
	admin_reply_note(r, "trunk %s added", t.name);
	return ADMIN_OK;
}

/* ---- views ---- */

struct route_use {
	const char *trunk;
	unsigned n;
	char list[256];   /* "1 (0[1-9]XXXXXXXXX), 3 (00.)" */
};

static int count_route(const struct route_record *rt, void *arg)
{
	struct route_use *u = arg;
	size_t used = strlen(u->list);

	if (strcmp(rt->trunk, u->trunk) != 0)
		return 0;
	u->n++;
	if (used + 1 < sizeof(u->list))
		snprintf(u->list + used, sizeof(u->list) - used, "%s%u (%s)", used ? ", " : "",
			 rt->pos, rt->pattern);
	return 0;
}

static int route_use(struct admin_ctx *ctx, const char *trunk, struct route_use *u)
{
	memset(u, 0, sizeof(*u));
	u->trunk = trunk;
	return store_route_foreach(ctx->store, count_route, u);
}

static void reply_ips(struct admin_reply *r, const struct trunk_record *t)
{
	char text[64];
	unsigned i;

	admin_reply_list(r, "ips", NULL);
	for (i = 0; i < t->nips; i++) {
		acl_cidr_format(&t->ips[i], text, sizeof(text));
		admin_reply_list(r, "ips", text);
	}
}

/* The registration client's last word on the trunk (pbx/trunk_reg.h):
 * "off" when it does not register or the daemon has not looked at it. */
static void trunk_status_of(struct admin_ctx *ctx, const struct trunk_record *t,
			    struct trunk_status *st)
{
	if (!t->reg || store_trunk_status_get(ctx->store, t->name, st) != 0) {
		memset(st, 0, sizeof(*st));
		snprintf(st->state, sizeof(st->state), "off");
		if (t->reg)
			snprintf(st->reason, sizeof(st->reason), "the daemon has not started registering");
	}
}

static void reply_status(struct admin_reply *r, const struct trunk_status *st)
{
	char when[32];

	admin_reply_str(r, "state", st->state);
	admin_reply_str(r, "reason", st->reason);
	admin_reply_int(r, "last_code", st->last_code);
	admin_reply_str(r, "registered_at", st->registered ?
			admin_iso_time(st->registered, when, sizeof(when)) : "");
	admin_reply_str(r, "expires", st->expires ?
			admin_iso_time(st->expires, when, sizeof(when)) : "");
	admin_reply_str(r, "next_attempt", st->next_attempt ?
			admin_iso_time(st->next_attempt, when, sizeof(when)) : "");
}

/* Every view of a trunk. The password only as set or not set. */
static void reply_trunk(struct admin_reply *r, const struct trunk_record *t, unsigned routes,
			const struct trunk_status *st)
{
	char when[32];

	admin_reply_record(r);
	admin_reply_str(r, "name", t->name);
	admin_reply_str(r, "host", t->host);
	admin_reply_int(r, "port", t->port);
	admin_reply_str(r, "transport", t->transport);
	admin_reply_bool(r, "register", t->reg);
	admin_reply_str(r, "username", t->username);
	admin_reply_str(r, "password", t->password[0] ? "set" : "not set");
	reply_ips(r, t);
	admin_reply_int(r, "max_calls", t->max_calls);
	cap_reply(r, "daily_cap", t->daily_cap);
	cap_reply(r, "monthly_cap", t->monthly_cap);
	admin_reply_int(r, "routes", routes);
	admin_reply_str(r, "created", admin_iso_time(t->created, when, sizeof(when)));
	admin_reply_str(r, "updated", admin_iso_time(t->updated, when, sizeof(when)));
	reply_status(r, st);
}

static const struct admin_column trunk_columns[] = {
	{ "name", "NAME" },
	{ "host", "HOST" },
	{ "port", "PORT" },
	{ "transport", "TRANSPORT" },
	{ "register", "REGISTER" },
	{ "username", "USERNAME" },
	{ "password", "PASSWORD" },
	{ "ips", "IPS" },
	{ "max_calls", "MAX-CALLS" },
	{ "routes", "ROUTES" },
	{ "state", "STATE" },
	{ "expires", "EXPIRES" },
};

struct trunk_walk {
	struct admin_ctx *ctx;
	struct admin_reply *r;
	size_t rows;
};

static int list_one(const struct trunk_record *t, void *arg)
{
	struct trunk_walk *w = arg;
	struct trunk_status st;
	struct route_use u;
	int err = route_use(w->ctx, t->name, &u);

	if (err)
		return err;
	trunk_status_of(w->ctx, t, &st);
	reply_trunk(w->r, t, u.n, &st);
	w->rows++;
	return admin_reply_broken(w->r) ? ENOMEM : 0;
}

int cmd_trunk_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct trunk_walk w = { ctx, r, 0 };
	int err;

	admin_reply_table(r, trunk_columns, sizeof(trunk_columns) / sizeof(trunk_columns[0]));
	err = store_trunk_foreach(ctx->store, list_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot list trunks: %s", strerror(err));
	if (w.rows == 0)
		admin_reply_note(r, "no trunks");
	return ADMIN_OK;
}

/* The named trunk, or the reply's error. */
static int trunk_existing(struct admin_ctx *ctx, const char *name, struct trunk_record *t,
			  struct admin_reply *r)
{
	char why[160];
	int err;

	if (trunk_cli_name_check(name, why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	err = store_trunk_get(ctx->store, name, t);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "trunk %s does not exist", name);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read trunk %s: %s", name,
					 strerror(err));
	return ADMIN_OK;
}

/* One trunk as show and set print it: with its routes and state. */
static int reply_one_trunk(struct admin_ctx *ctx, const struct trunk_record *t,
			   struct admin_reply *r)
{
	struct trunk_status status;
	struct route_use u;
	int err = route_use(ctx, t->name, &u);

	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read the routes: %s",
					 strerror(err));
	trunk_status_of(ctx, t, &status);
	reply_trunk(r, t, u.n, &status);
	return ADMIN_OK;
}

int cmd_trunk_show(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct trunk_record t;
	int st;

	if ((st = trunk_existing(ctx, a->pos[0], &t, r)))
		return st;
	st = reply_one_trunk(ctx, &t, r);
	secret_wipe(t.password, sizeof(t.password));
	return st;
}

/* ---- trunk set ---- */

/* Read, change and write back in one transaction: the update rewrites
 * every column, the password too, which another command may have
 * changed in between. */
static int trunk_set_tx(struct admin_ctx *ctx, const char *name, const struct cap_args *caps,
			struct trunk_record *t, struct admin_reply *r)
{
	int st, err;

	if ((st = trunk_existing(ctx, name, t, r)))
		return st;
	cap_args_apply(caps, &t->daily_cap, &t->monthly_cap);
	t->updated = (int64_t)time(NULL);
	err = store_trunk_update(ctx->store, t);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot change trunk %s: %s", name,
					 strerror(err));
	return ADMIN_OK;
}

static int trunk_set_commit(struct admin_ctx *ctx, const char *name,
			    const struct cap_args *caps, struct trunk_record *t,
			    struct admin_reply *r)
{
	int st, err = store_begin(ctx->store);

	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot change trunk %s: %s", name,
					 strerror(err));
	st = trunk_set_tx(ctx, name, caps, t, r);
	if (!st && (err = store_commit(ctx->store)) != 0)
		st = admin_reply_error(r, ADMIN_FAILED, "cannot change trunk %s: %s", name,
				       strerror(err));
	if (st)
		store_rollback(ctx->store);
	return st;
}

int cmd_trunk_set(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		  const struct admin_args *a, struct admin_reply *r)
{
	struct trunk_record t;
	struct cap_args caps;
	char why[160];
	int st;

	if (trunk_cli_name_check(a->pos[0], why, sizeof(why)))
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	if ((st = cap_args_parse(cmd, ctx, a, CREDIT_TRUNK, &caps, r)))
		return st;
	if (!caps.daily_given && !caps.monthly_given)
		return admin_reply_error(r, ADMIN_USAGE, "nothing to change: give --daily-cap, "
					 "--monthly-cap or both");
	memset(&t, 0, sizeof(t));
	st = trunk_set_commit(ctx, a->pos[0], &caps, &t, r);
	if (!st) {
		log_trunk(ctx, "trunk_changed", &t, caps.daily_given && caps.monthly_given
			  ? "daily_cap,monthly_cap" : caps.daily_given ? "daily_cap" : "monthly_cap");
		admin_reply_note(r, "trunk %s changed", t.name);
		st = reply_one_trunk(ctx, &t, r);
	}
	secret_wipe(t.password, sizeof(t.password));
	return st;
}

/* ---- trunk del ---- */

static int trunk_busy(struct admin_ctx *ctx, const char *name, struct admin_reply *r)
{
	struct route_use u;

	if (route_use(ctx, name, &u) != 0 || u.n == 0)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete trunk %s: the database "
					 "is busy", name);
	return admin_reply_error(r, ADMIN_FAILED, "trunk %s is used by route%s %s: delete %s "
				 "first (ringfence route del POS)", name, u.n > 1 ? "s" : "",
				 u.list, u.n > 1 ? "those routes" : "that route");
}

int cmd_trunk_del(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		  const struct admin_args *a, struct admin_reply *r)
{
	struct trunk_record t;
	int st, err;

	if ((st = trunk_existing(ctx, a->pos[0], &t, r)))
		return st;
	secret_wipe(t.password, sizeof(t.password));
	err = store_trunk_del(ctx->store, t.name);
	if (err == EBUSY)
		return trunk_busy(ctx, t.name, r);
	if (err == ENOENT)
		return admin_reply_error(r, ADMIN_FAILED, "trunk %s does not exist", t.name);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot delete trunk %s: %s", t.name,
					 strerror(err));
	t.host[0] = '\0';
	log_trunk(ctx, "trunk_removed", &t, NULL);
	admin_reply_note(r, "trunk %s removed", t.name);
	return ADMIN_OK;
}
