/* The command-line front end of the admin command table.
 *
 * Errors are one line on stderr, "ringfence: COMMAND: problem", followed
 * for usage errors by a hint where to read more. Exit status 2 means the
 * command line was wrong, 1 that the operation failed; either way nothing
 * was changed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/cli.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/priv.h"
#include "guard/secevent.h"
#include "store/store.h"

#define PROG "ringfence"
#define DEFAULT_CONF "./ringfence.conf"

/* Command groups: the first word of two-word commands. */
static const char *const groups[] = { "ext", "reg", "trunk", "did", "route", "cdr", "ban",
				       "firewall", "alert", "blacklist", "rates" };
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static const char *const global_opts[] = { "--config", "--help", "--version" };
#define NGLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

/* ---- messages ---- */

static int usage_error(const char *where, const char *help_for, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_error(const char *where, const char *help_for, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	if (where)
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (help_for)
		fprintf(stderr, "Try '%s %s --help'.\n", PROG, help_for);
	else
		fprintf(stderr, "Try '%s --help'.\n", PROG);
	return ADMIN_USAGE;
}

static int op_error(const char *where, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int op_error(const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	if (where)
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ADMIN_FAILED;
}

/* Levenshtein distance, capped: only small distances matter for
 * "did you mean". Inputs longer than 63 bytes are never close. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t prev[64], cur[64];

	if (la >= 64 || lb >= 64)
		return 64;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* The closest candidate within two edits, or one that word starts, or NULL. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < n; i++) {
		if (!cands[i])
			continue;
		d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	if (!best && strlen(word) >= 2)
		for (i = 0; i < n; i++)
			if (cands[i] && strncmp(cands[i], word, strlen(word)) == 0)
				return cands[i];
	return best;
}

static void did_you_mean(char *buf, size_t len, const char *word,
			 const char *const *cands, size_t n, const char *quote)
{
	const char *m = closest(word, cands, n);

	if (m)
		snprintf(buf, len, " (did you mean %s%s%s?)", quote, m, quote);
	else
		buf[0] = '\0';
}

/* ---- command lookup ---- */

static bool is_group(const char *w)
{
	size_t i;

	for (i = 0; i < NGROUPS; i++)
		if (strcmp(groups[i], w) == 0)
			return true;
	return false;
}

/* Subcommand words of a group ("add", "list", ...) into out. */
static size_t group_words(const char *group, const char **out, size_t max)
{
	size_t i, n = 0, gl = strlen(group);

	for (i = 0; i < admin_ncmds && n < max; i++)
		if (strncmp(admin_cmds[i].name, group, gl) == 0 && admin_cmds[i].name[gl] == ' ')
			out[n++] = admin_cmds[i].name + gl + 1;
	return n;
}

static size_t top_words(const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < admin_ncmds && n < max; i++)
		if (!strchr(admin_cmds[i].name, ' '))
			out[n++] = admin_cmds[i].name;
	for (i = 0; i < NGROUPS && n < max; i++)
		out[n++] = groups[i];
	if (n < max)
		out[n++] = "run";
	return n;
}

static int unknown_command(const char *word)
{
	const char *words[32];
	size_t n = top_words(words, 32);
	char hint[96];

	did_you_mean(hint, sizeof(hint), word, words, n, "'");
	return usage_error(NULL, NULL, "unknown command '%s'%s", word, hint);
}

static int group_error(const char *group, const char *sub)
{
	const char *words[16];
	size_t i, n = group_words(group, words, 16);
	char list[128] = "", hint[96];
	size_t used = 0;

	for (i = 0; i < n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 i ? ", " : "", words[i]);
	if (!sub)
		return usage_error(group, group, "missing command (one of: %s)", list);
	{
		const char *m = closest(sub, words, n);

		if (m)
			snprintf(hint, sizeof(hint), " (did you mean '%s %s'?)", group, m);
		else
			hint[0] = '\0';
	}
	return usage_error(group, group, "unknown command '%s'%s; commands are: %s",
			   sub, hint, list);
}

/* Resolve argv[*i] (and argv[*i + 1] for a group) to a command. On
 * failure prints the error and returns NULL with *status set. */
static const struct admin_cmd *resolve(int argc, char **argv, int *i, int *status,
				       bool *group_help)
{
	const char *w = argv[*i];
	const struct admin_cmd *cmd;
	char name[64];

	*group_help = false;
	if (strcmp(w, "run") == 0)
		w = "serve";
	if (is_group(w)) {
		if (*i + 1 >= argc) {
			*status = group_error(w, NULL);
			return NULL;
		}
		if (strcmp(argv[*i + 1], "--help") == 0 || strcmp(argv[*i + 1], "-h") == 0) {
			*group_help = true;
			*status = admin_help_group(w, stdout) ? ADMIN_OK : ADMIN_USAGE;
			return NULL;
		}
		snprintf(name, sizeof(name), "%s %s", w, argv[*i + 1]);
		cmd = admin_cmd_find(name);
		if (!cmd) {
			*status = group_error(w, argv[*i + 1]);
			return NULL;
		}
		*i += 2;
		return cmd;
	}
	cmd = strchr(w, ' ') ? NULL : admin_cmd_find(w);
	if (!cmd) {
		*status = unknown_command(w);
		return NULL;
	}
	*i += 1;
	return cmd;
}

/* ---- arguments ---- */

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int unknown_option(const struct admin_cmd *cmd, const char *opt)
{
	const char *names[ADMIN_MAX_OPTS + 1];
	char hint[96];
	size_t n = 0;

	while (n < ADMIN_MAX_OPTS && cmd->opts[n].name) {
		names[n] = cmd->opts[n].name;
		n++;
	}
	names[n++] = "--help";
	did_you_mean(hint, sizeof(hint), opt, names, n, "");
	return usage_error(cmd->name, cmd->name, "unknown option '%s'%s", opt, hint);
}

static int parse_option(const struct admin_cmd *cmd, int argc, char **argv, int *i,
			struct admin_args *a)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	char name[64];
	size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct admin_opt *o;
	const char *val;
	int idx;

	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	memcpy(name, arg, nlen);
	name[nlen] = '\0';
	idx = admin_opt_index(cmd, name);
	if (idx < 0)
		return unknown_option(cmd, name);
	o = &cmd->opts[idx];
	if (!o->arg) {
		if (eq)
			return usage_error(cmd->name, cmd->name, "option '%s' takes no value", name);
		val = "";
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		return usage_error(cmd->name, cmd->name, "option '%s' needs a value (%s)",
				   name, o->arg);
	}
	if (a->opt[idx].n && !o->repeat)
		return usage_error(cmd->name, cmd->name, "option '%s' given more than once", name);
	if (a->opt[idx].n >= ADMIN_MAX_VALUES)
		return usage_error(cmd->name, cmd->name, "option '%s' given more than %d times",
				   name, ADMIN_MAX_VALUES);
	a->opt[idx].vals[a->opt[idx].n++] = val;
	if (strcmp(name, "--json") == 0)
		a->json = true;
	return ADMIN_OK;
}

static int parse_args(const struct admin_cmd *cmd, int argc, char **argv, int i,
		      struct admin_args *a)
{
	bool only_pos = false;
	int st;

	memset(a, 0, sizeof(*a));
	for (; i < argc; i++) {
		const char *arg = argv[i];

		if (!only_pos && strcmp(arg, "--") == 0) {
			only_pos = true;
		} else if (!only_pos && arg[0] == '-' && arg[1] != '\0') {
			if ((st = parse_option(cmd, argc, argv, &i, a)))
				return st;
		} else if (a->npos >= cmd->max_pos || a->npos >= ADMIN_MAX_POS) {
			return usage_error(cmd->name, cmd->name, "unexpected argument '%s'", arg);
		} else {
			a->pos[a->npos++] = arg;
		}
	}
	if (a->npos < cmd->min_pos)
		return usage_error(cmd->name, cmd->name, "missing argument %s",
				   cmd->pos_names ? cmd->pos_names : "");
	return ADMIN_OK;
}

/* --help anywhere before "--" wins over every other complaint. */
static bool wants_help(int argc, char **argv, int i)
{
	for (; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help(argv[i]))
			return true;
	return false;
}

/* ---- help command ---- */

static int help_command(int argc, char **argv, int i)
{
	const struct admin_cmd *cmd;
	bool group_help;
	int st = ADMIN_OK;

	if (i >= argc) {
		admin_help_main(stdout);
		return ADMIN_OK;
	}
	if (is_group(argv[i]) && i + 1 >= argc)
		return admin_help_group(argv[i], stdout) ? ADMIN_OK : ADMIN_USAGE;
	cmd = resolve(argc, argv, &i, &st, &group_help);
	if (!cmd)
		return st;
	if (i < argc)
		return usage_error("help", "help", "unexpected argument '%s'", argv[i]);
	admin_help_cmd(cmd, stdout);
	return ADMIN_OK;
}

/* ---- running a command ---- */

struct cli_env {
	const char *conf_path;
	bool conf_is_default; /* neither -c nor RINGFENCE_CONF */
	struct rf_conf *conf;
	struct store *store;
	bool log_open;
};

static int load_conf(const struct admin_cmd *cmd, struct cli_env *env)
{
	char err[1024] = "";

	if (env->conf_is_default && access(env->conf_path, F_OK) != 0)
		return op_error(NULL, "no configuration file: %s does not exist "
				"(give one with -c CONF or RINGFENCE_CONF, or create an instance "
				"with '%s init --dir DIR')", env->conf_path, PROG);
	env->conf = calloc(1, sizeof(*env->conf));
	if (!env->conf)
		return op_error(NULL, "out of memory");
	if (conf_load(env->conf, env->conf_path, err, sizeof(err)) != 0) {
		if (err[0])
			return op_error(NULL, "%s", err);
		return op_error(NULL, "cannot read %s: %s", env->conf_path, strerror(errno));
	}
	if (admin_conf_resolve(env->conf) != 0)
		return op_error(NULL, "%s: a configured path is too long", env->conf_path);
	return ADMIN_OK;
}

/* As root, become the service user before touching any instance file, so
 * whatever we create (WAL files, log) stays usable by the daemon. The
 * daemon itself drops after binding its ports, so `serve` is left alone. */
static int drop_root(const struct admin_cmd *cmd, struct cli_env *env)
{
	char err[256];

	if (cmd->handler == cmd_serve || geteuid() != 0 ||
	    !priv_user_exists(env->conf->user))
		return ADMIN_OK;
	/* Dropping when the user cannot reach the instance would only turn
	 * a working command into "permission denied": say why, stay root. */
	if (!priv_user_can_access(env->conf->user, env->conf->dir, X_OK | R_OK)) {
		fprintf(stderr, "%s: warning: user '%s' cannot reach %s (a parent "
			"directory is not open to it); running as root\n", PROG,
			env->conf->user, env->conf->dir);
		return ADMIN_OK;
	}
	if (priv_drop(env->conf->user, err, sizeof(err)) != 0)
		return op_error(cmd->name, "%s", err);
	return ADMIN_OK;
}

static int open_instance(const struct admin_cmd *cmd, struct cli_env *env)
{
	const char *why = NULL;
	int st, err;

	if ((st = load_conf(cmd, env)) || (st = drop_root(cmd, env)))
		return st;
	if ((cmd->needs & NEEDS_STORE) == NEEDS_STORE) {
		err = store_open(&env->store, env->conf->database, &why);
		if (err)
			return op_error(cmd->name, "cannot open database %s: %s",
					env->conf->database, why ? why : strerror(err));
	}
	/* A change that cannot be logged is not made. */
	if (cmd->access == ADMIN_WRITE &&
	    (env->conf->security_log[0] || env->conf->syslog)) {
		err = secevent_open(env->conf->security_log[0] ? env->conf->security_log : NULL,
				    env->conf->syslog);
		if (err)
			return op_error(cmd->name, "cannot open security log %s: %s",
					env->conf->security_log, strerror(err));
		env->log_open = true;
	}
	return ADMIN_OK;
}

static int render(const struct admin_cmd *cmd, const struct admin_args *a,
		  struct admin_reply *r, int status)
{
	const char *msg = admin_reply_message(r);

	if (admin_reply_broken(r))
		return op_error(cmd->name, "out of memory");
	if (status == ADMIN_OK) {
		if (a->json)
			admin_reply_print_json(r, stdout);
		else
			admin_reply_print_text(r, stdout);
		if (fflush(stdout) != 0)
			return op_error(cmd->name, "cannot write output: %s", strerror(errno));
		return ADMIN_OK;
	}
	if (msg[0] && status == ADMIN_USAGE)
		return usage_error(cmd->name, cmd->name, "%s", msg);
	if (msg[0])
		op_error(cmd->name, "%s", msg);
	return status;
}

static int run_command(const struct admin_cmd *cmd, const struct admin_args *a,
		       struct cli_env *env)
{
	struct admin_ctx ctx = { .conf_path = env->conf_path, .by = "cli" };
	struct admin_reply *r;
	int st;

	if (cmd->needs & NEEDS_CONF) {
		if ((st = open_instance(cmd, env)))
			return st;
		ctx.conf = env->conf;
		ctx.store = env->store;
	}
	if (admin_reply_alloc(&r) != 0)
		return op_error(cmd->name, "out of memory");
	/* Progress lines are for a person watching, not for a log. */
	ctx.progress = isatty(STDERR_FILENO) ? stderr : NULL;
	st = cmd->handler(cmd, &ctx, a, r);
	if (st == ADMIN_OK)
		st = admin_reply_status(r);
	st = render(cmd, a, r, st);
	admin_reply_free(r);
	return st;
}

static int global_option(int argc, char **argv, int *i, struct cli_env *env,
			 bool *done, int *status)
{
	const char *arg = argv[*i];
	char hint[96];

	*done = false;
	if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
		if (*i + 1 >= argc) {
			*status = usage_error(NULL, NULL, "option '%s' needs a value (CONF)", arg);
			return -1;
		}
		env->conf_path = argv[++*i];
	} else if (strncmp(arg, "--config=", 9) == 0) {
		env->conf_path = arg + 9;
	} else if (strncmp(arg, "-c", 2) == 0 && arg[2]) {
		env->conf_path = arg + 2;
	} else if (is_help(arg)) {
		admin_help_main(stdout);
		*done = true;
	} else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
		*done = true;
		return 1;
	} else {
		did_you_mean(hint, sizeof(hint), arg, global_opts, NGLOBAL, "");
		*status = usage_error(NULL, NULL, "unknown option '%s'%s", arg, hint);
		return -1;
	}
	if (env->conf_path && !env->conf_path[0]) {
		*status = usage_error(NULL, NULL, "option '-c' needs a non-empty value (CONF)");
		return -1;
	}
	return 0;
}

static void cli_env_free(struct cli_env *env)
{
	if (env->log_open)
		secevent_close();
	store_close(env->store);
	free(env->conf);
}

int cli_main(int argc, char **argv)
{
	struct cli_env env = { 0 };
	const struct admin_cmd *cmd;
	struct admin_args a;
	bool done, group_help;
	int i = 1, st = ADMIN_OK, rc;

	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		rc = global_option(argc, argv, &i, &env, &done, &st);
		if (rc < 0)
			return st;
		if (rc == 1)
			return run_command(admin_cmd_find("version"), &(struct admin_args){ 0 }, &env);
		if (done)
			return ADMIN_OK;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return usage_error(NULL, NULL, "missing command (for example: init, ext add, "
				   "reg list, serve)");
	if (strcmp(argv[i], "help") == 0)
		return help_command(argc, argv, i + 1);
	cmd = resolve(argc, argv, &i, &st, &group_help);
	if (!cmd)
		return st;
	if (wants_help(argc, argv, i)) {
		admin_help_cmd(cmd, stdout);
		return ADMIN_OK;
	}
	if ((st = parse_args(cmd, argc, argv, i, &a)))
		return st;
	if (!env.conf_path) {
		const char *e = getenv("RINGFENCE_CONF");

		env.conf_path = e && e[0] ? e : DEFAULT_CONF;
		env.conf_is_default = !(e && e[0]);
	}
	st = run_command(cmd, &a, &env);
	cli_env_free(&env);
	return st;
}
