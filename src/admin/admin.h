/* The admin command table. Every administrative operation is one entry:
 * its name, whether it only reads or changes the instance, its options,
 * its help text and its handler. The CLI (admin/cli.c) parses argv
 * against an entry and renders the reply as text or JSON; an HTTP API can
 * serve the same table with the same handlers, because a handler sees
 * only parsed arguments and writes only to a reply. */
#ifndef RF_ADMIN_ADMIN_H
#define RF_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "admin/reply.h"

struct rf_conf;
struct store;

enum admin_access {
	ADMIN_READ,   /* reads the instance only */
	ADMIN_WRITE,  /* changes the instance: admin rights, logged */
	ADMIN_LOCAL,  /* meaningful only on the command line (init, serve, help) */
};

/* What a command needs before its handler runs. */
enum admin_needs {
	NEEDS_NOTHING = 0,
	NEEDS_CONF = 1,        /* the loaded configuration */
	NEEDS_STORE = 2 | 1,   /* the configuration and the open database */
};

#define ADMIN_MAX_OPTS 16
#define ADMIN_MAX_POS 4
#define ADMIN_MAX_VALUES 32 /* RF_MAX_ACL_ENTRIES: the most repeated option */

struct admin_opt {
	const char *name;   /* "--password" */
	const char *arg;    /* value placeholder ("PW"), NULL for a flag */
	bool repeat;        /* may be given more than once */
	const char *help;
};

/* Parsed arguments. Values point into argv (or the HTTP request). */
struct admin_args {
	const char *pos[ADMIN_MAX_POS];
	unsigned npos;
	struct {
		const char *vals[ADMIN_MAX_VALUES];
		unsigned n;
	} opt[ADMIN_MAX_OPTS];
	bool json;
};

struct admin_ctx {
	struct rf_conf *conf;   /* NULL unless NEEDS_CONF */
	struct store *store;    /* NULL unless NEEDS_STORE */
	const char *conf_path;  /* the file the configuration came from */
	const char *by;         /* who acts, for the security log: "cli", "api" */
	FILE *progress;         /* a terminal for progress lines of long operations; NULL: none */
};

struct admin_cmd;
typedef int (*admin_handler)(const struct admin_cmd *cmd, struct admin_ctx *ctx,
			     const struct admin_args *a, struct admin_reply *r);

struct admin_cmd {
	const char *name;        /* "ext add" */
	enum admin_access access;
	enum admin_needs needs;
	bool json;               /* accepts --json */
	const char *pos_names;   /* "EXT" or NULL */
	unsigned min_pos, max_pos;
	struct admin_opt opts[ADMIN_MAX_OPTS]; /* ends at name == NULL */
	const char *summary;     /* one line */
	const char *synopsis;    /* after "ringfence [-c CONF] " */
	const char *description; /* paragraphs, wrapped at 72 */
	const char *examples;
	admin_handler handler;
};

extern const struct admin_cmd admin_cmds[];
extern const size_t admin_ncmds;

/* Exact match on the full name ("ext add"), or NULL. */
const struct admin_cmd *admin_cmd_find(const char *name);
/* Index of option `name` in cmd->opts, or -1. */
int admin_opt_index(const struct admin_cmd *cmd, const char *name);

/* Accessors for handlers. */
const char *admin_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		      const char *opt);
bool admin_flag(const struct admin_cmd *cmd, const struct admin_args *a,
		const char *opt);
unsigned admin_values(const struct admin_cmd *cmd, const struct admin_args *a,
		      const char *opt, const char *const **vals);
/* Option `opt` as a whole number from min to max into *out, which is
 * left alone when the option is absent. A malformed value is a usage
 * error in the reply, naming the option; returns the reply's status. */
int admin_uint_arg(const struct admin_cmd *cmd, const struct admin_args *a, const char *opt,
		   unsigned min, unsigned max, unsigned *out, struct admin_reply *r);

struct numplan;
/* The numbering plan of [numbering] country; the reply's error when it
 * cannot be loaded. The caller frees it with numplan_free. */
int admin_numplan_load(struct admin_ctx *ctx, struct numplan **np, struct admin_reply *r);

/* Print `ringfence help` and `ringfence CMD --help`. */
void admin_help_main(FILE *out);
void admin_help_cmd(const struct admin_cmd *cmd, FILE *out);
/* `ringfence ext --help`: the commands of a group. */
bool admin_help_group(const char *group, FILE *out);

/* Handlers, one file per area. */
int cmd_ext_add(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_show(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_passwd(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_del(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_set(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_ext_import(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_reg_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_cdr_list(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_cdr_export(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_init(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_check_config(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);
int cmd_version(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);

int cmd_serve(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);

/* An extension name is 1..RF_MAX_EXT_LEN characters of [0-9A-Za-z_.-]:
 * safe in logs, SIP URIs and file names. False with the reason in why. */
bool admin_ext_valid(const char *ext, char *why, size_t whylen);

#endif
