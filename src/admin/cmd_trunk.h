/* trunk add|list|show|set|del, did add|list|del, route add|list|del|test:
 * provider trunks, the numbers they deliver to extensions, and the
 * outbound dial plan (P4). The handlers are registered in cmdtab.c; the
 * parsers are here so that tests and the fuzz harness can reach them.
 * Each parser returns 0, or EINVAL with a one-line reason in why that
 * names the field. */
#ifndef RF_ADMIN_CMD_TRUNK_H
#define RF_ADMIN_CMD_TRUNK_H

#include <stddef.h>

#include "admin/admin.h"

struct numplan;
struct did_record;

/* --max-calls: more than a large site's trunk ever carries. */
#define TRUNK_CLI_MAX_CALLS 10000
/* Without --max-calls: a primary-rate line's worth of channels, so a
 * stolen extension cannot open hundreds of paid calls at once. */
#define TRUNK_CLI_DEFAULT_MAX_CALLS 30

/* NAME: 1 to TRUNK_NAME_MAX letters, digits, '-' and '_'. */
int trunk_cli_name_check(const char *name, char *why, size_t whylen);

/* --host: a DNS name (RFC 1123 labels) or an IPv4 or IPv6 address, with
 * or without brackets. A port, a URI, a network are refused with what to
 * write instead. `out` (TRUNK_HOST_MAX + 1 bytes) gets the canonical
 * form: the name in lower case, the address as inet_ntop writes it. */
int trunk_cli_host_parse(const char *text, char *out, size_t outlen, char *why,
			 size_t whylen);

/* --username: 1 to TRUNK_USER_MAX printable characters, no space, '"'
 * or '\'. */
int trunk_cli_username_check(const char *user, char *why, size_t whylen);

/* --password: 1 to TRUNK_PASSWORD_MAX bytes without control characters.
 * The reason never repeats the password. */
int trunk_cli_password_check(const char *pw, char *why, size_t whylen);

/* A DID as an administrator writes it, in any spelling the numbering
 * plan reads ("01632 960000", "+44 1632 960000", "0044 1632 960000"),
 * normalised to E.164 into out (NUM_E164_MAX + 1 bytes). A short code or
 * an emergency number, which has no E.164 form, is refused. */
int did_cli_number_parse(const struct numplan *np, const char *text, char *out,
			 size_t outlen, char *why, size_t whylen);

/* Record a DID change (did_added, did_removed) in the security log. */
void did_log_event(struct admin_ctx *ctx, const char *event, const struct did_record *d);

/* A number as a phone dials it, for `route test`: digits with at most a
 * leading '+', 1 to ROUTE_DIALLED_MAX characters. */
int route_cli_dialled_check(const char *text, char *why, size_t whylen);

int cmd_trunk_add(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_trunk_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_trunk_show(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_trunk_set(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_trunk_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_did_add(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_did_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_did_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_route_add(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_route_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_route_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_route_test(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);

#endif
