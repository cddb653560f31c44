/* ringfence init: a complete instance with its own secrets. Every file it
 * makes is recorded, so a failure half-way removes them all again and
 * leaves nothing behind that looks like an instance. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/priv.h"
#include "core/secret.h"
#include "core/tlscert.h"
#include "guard/secevent.h"
#include "sip/digest.h"
#include "store/store.h"

#define INIT_MAX_CREATED 16
#define DEMO_PW_LEN 24
#define DEFAULT_LISTEN "127.0.0.1"
#define DEFAULT_PORT 5060u

static const char *const demo_exts[] = { "1001", "1002" };
#define NDEMO (sizeof(demo_exts) / sizeof(demo_exts[0]))

struct init_job {
	const char *dir;
	char listen[64];
	unsigned port;
	char realm[128];
	struct rf_conf conf;
	char conf_path[CONF_PATH_MAX];
	char passwords[NDEMO][DEMO_PW_LEN + 1];
	bool unreachable; /* the service user cannot search a parent of dir */
	/* What we made, undone in reverse order on failure. */
	struct {
		char path[CONF_PATH_MAX + 8];
		bool is_dir;
	} created[INIT_MAX_CREATED];
	unsigned ncreated;
};

static void track(struct init_job *j, const char *path, bool is_dir)
{
	if (j->ncreated < INIT_MAX_CREATED) {
		snprintf(j->created[j->ncreated].path, sizeof(j->created[0].path), "%s", path);
		j->created[j->ncreated++].is_dir = is_dir;
	}
}

static void undo(struct init_job *j)
{
	while (j->ncreated) {
		j->ncreated--;
		if (j->created[j->ncreated].is_dir)
			rmdir(j->created[j->ncreated].path);
		else
			unlink(j->created[j->ncreated].path);
	}
}

/* ---- arguments ---- */

static bool is_unspecified(const char *addr)
{
	return strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0;
}

static int parse_listen(struct init_job *j, const char *s, struct admin_reply *r)
{
	unsigned char buf[16];
	char shown[80];

	if (strlen(s) >= sizeof(j->listen) ||
	    (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1))
		return admin_reply_error(r, ADMIN_USAGE,
					 "--listen '%s': not an IPv4 or IPv6 address",
					 admin_printable(s, shown, sizeof(shown)));
	snprintf(j->listen, sizeof(j->listen), "%s", s);
	return ADMIN_OK;
}

static int parse_port(struct init_job *j, const char *s, struct admin_reply *r)
{
	char shown[80];
	unsigned long v = 0;
	size_t i, n = strlen(s);

	for (i = 0; i < n && n <= 5; i++) {
		if (s[i] < '0' || s[i] > '9')
			break;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (n == 0 || n > 5 || i != n || v < 1 || v > 65534)
		return admin_reply_error(r, ADMIN_USAGE,
					 "--port '%s': not a port number from 1 to 65534 "
					 "(TLS uses the next one)",
					 admin_printable(s, shown, sizeof(shown)));
	j->port = (unsigned)v;
	return ADMIN_OK;
}

/* The realm goes into the INI file and into quoted SIP parameters: keep
 * it to host-name characters. */
static int parse_realm(struct init_job *j, const char *s, struct admin_reply *r)
{
	size_t i, n = strlen(s);
	char shown[80];

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_' || c == ':'))
			break;
	}
	if (n == 0 || n >= sizeof(j->realm) || i != n)
		return admin_reply_error(r, ADMIN_USAGE,
					 "--realm '%s': use 1 to %zu characters of letters, "
					 "digits, '.', '-', '_' and ':'",
					 admin_printable(s, shown, sizeof(shown)),
					 sizeof(j->realm) - 1);
	snprintf(j->realm, sizeof(j->realm), "%s", s);
	return ADMIN_OK;
}

static int parse_init_args(const struct admin_cmd *cmd, const struct admin_args *a,
			   struct init_job *j, struct admin_reply *r)
{
	const char *v;
	int st;

	j->dir = admin_arg(cmd, a, "--dir");
	if (!j->dir || !j->dir[0])
		return admin_reply_error(r, ADMIN_USAGE, "missing required option --dir DIR");
	v = admin_arg(cmd, a, "--listen");
	if ((st = parse_listen(j, v ? v : DEFAULT_LISTEN, r)))
		return st;
	j->port = DEFAULT_PORT;
	v = admin_arg(cmd, a, "--port");
	if (v && (st = parse_port(j, v, r)))
		return st;
	v = admin_arg(cmd, a, "--realm");
	if (v)
		return parse_realm(j, v, r);
	if (!is_unspecified(j->listen)) {
		snprintf(j->realm, sizeof(j->realm), "%s", j->listen);
		return ADMIN_OK;
	}
	if (gethostname(j->realm, sizeof(j->realm)) != 0 || !j->realm[0])
		snprintf(j->realm, sizeof(j->realm), "localhost");
	j->realm[sizeof(j->realm) - 1] = '\0';
	return ADMIN_OK;
}

/* ---- the service user ---- */

static int run_useradd(const char *user, struct admin_reply *r)
{
	char *const argv[] = {
		"useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
		(char *)user, NULL,
	};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return admin_reply_error(r, ADMIN_FAILED, "cannot create user '%s': fork: %s",
					 user, strerror(errno));
	if (pid == 0) {
		execv("/usr/sbin/useradd", argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return admin_reply_error(r, ADMIN_FAILED, "cannot create user '%s': %s",
						 user, strerror(errno));
	/* Another init may have created it meanwhile: existence is what counts. */
	if (priv_user_exists(user))
		return ADMIN_OK;
	return admin_reply_error(r, ADMIN_FAILED,
				 "cannot create system user '%s': useradd exited with %d",
				 user, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static uid_t chown_uid;
static gid_t chown_gid;

/* nftw has no context argument, hence the two statics above. */
static int chown_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	return lchown(path, chown_uid, chown_gid) == 0 ? 0 : errno;
}

static int give_to_user(struct init_job *j, struct admin_reply *r)
{
	struct passwd *pw = getpwnam(j->conf.user);
	int err;

	if (!pw)
		return admin_reply_error(r, ADMIN_FAILED, "user '%s' vanished", j->conf.user);
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	err = nftw(j->dir, chown_one, 16, FTW_PHYS);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot give %s to user '%s': %s",
					 j->dir, j->conf.user, strerror(err > 0 ? err : errno));
	return ADMIN_OK;
}

/* ---- the files ---- */

static int make_dir(struct init_job *j, const char *path, struct admin_reply *r)
{
	if (mkdir(path, 0750) == 0) {
		track(j, path, true);
		return chmod(path, 0750) == 0 ? ADMIN_OK :
		       admin_reply_error(r, ADMIN_FAILED, "cannot chmod %s: %s", path,
					 strerror(errno));
	}
	if (errno == EEXIST) {
		struct stat st;

		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return ADMIN_OK;
		return admin_reply_error(r, ADMIN_FAILED, "%s exists and is not a directory", path);
	}
	return admin_reply_error(r, ADMIN_FAILED, "cannot create directory %s: %s", path,
				 strerror(errno));
}

/* Like mkdir -p: missing parents get 0755 (they are not ours to hide),
 * the instance directory itself 0750. */
static int make_parents(struct init_job *j, struct admin_reply *r)
{
	char path[CONF_PATH_MAX];
	size_t i, n = strlen(j->dir);

	if (n >= sizeof(path))
		return admin_reply_error(r, ADMIN_USAGE, "--dir: path too long");
	memcpy(path, j->dir, n + 1);
	for (i = 1; i < n; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) == 0)
			track(j, path, true);
		else if (errno != EEXIST)
			return admin_reply_error(r, ADMIN_FAILED, "cannot create directory %s: %s",
						 path, strerror(errno));
		path[i] = '/';
	}
	return make_dir(j, j->dir, r);
}

static int write_config(struct init_job *j, struct admin_reply *r)
{
	char err[512];
	int e;

	e = conf_write_initial(j->conf_path, j->listen, j->port, j->realm);
	if (e == EEXIST)
		return admin_reply_error(r, ADMIN_FAILED,
					 "%s already exists: refusing to overwrite an instance",
					 j->conf_path);
	if (e)
		return admin_reply_error(r, ADMIN_FAILED, "cannot write %s: %s", j->conf_path,
					 strerror(e));
	track(j, j->conf_path, false);
	/* Read it back: every later path comes from the file the daemon will
	 * read, so init and serve cannot disagree. */
	if (conf_load(&j->conf, j->conf_path, err, sizeof(err)) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "generated configuration is invalid: %s",
					 err);
	if (admin_conf_resolve(&j->conf) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "%s: path too long", j->dir);
	return ADMIN_OK;
}

static int make_secret(struct init_job *j, struct admin_reply *r)
{
	uint8_t key[DIGEST_SECRET_LEN];
	int e;

	if (access(j->conf.secret_file, F_OK) != 0)
		track(j, j->conf.secret_file, false);
	e = secret_load_or_create(j->conf.secret_file, key, sizeof(key));
	secret_wipe(key, sizeof(key));
	if (e)
		return admin_reply_error(r, ADMIN_FAILED, "cannot create %s: %s",
					 j->conf.secret_file, strerror(e));
	return ADMIN_OK;
}

static int make_cert(struct init_job *j, struct admin_reply *r)
{
	char tlsdir[CONF_PATH_MAX], err[512];
	const char *host = is_unspecified(j->listen) ? j->realm : j->listen;
	int st, e;

	snprintf(tlsdir, sizeof(tlsdir), "%s", j->conf.tls_cert);
	if ((st = make_dir(j, dirname(tlsdir), r)))
		return st;
	e = tlscert_generate(j->conf.tls_cert, j->conf.tls_key, host, TLSCERT_DAYS,
			     err, sizeof(err));
	if (e)
		return admin_reply_error(r, ADMIN_FAILED, "%s", err);
	track(j, j->conf.tls_key, false);
	track(j, j->conf.tls_cert, false);
	return ADMIN_OK;
}

static int make_seclog(struct init_job *j, struct admin_reply *r)
{
	const char *path = j->conf.security_log;
	int fd;

	if (!path[0])
		return ADMIN_OK;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0 && errno != EEXIST)
		return admin_reply_error(r, ADMIN_FAILED, "cannot create %s: %s", path,
					 strerror(errno));
	if (fd >= 0) {
		track(j, path, false);
		close(fd);
	}
	return ADMIN_OK;
}

static int add_demo(struct init_job *j, struct store *s, unsigned i)
{
	struct ext_record rec;
	int e;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.ext, sizeof(rec.ext), "%s", demo_exts[i]);
	snprintf(rec.name, sizeof(rec.name), "Demo %s", demo_exts[i]);
	e = secret_password(j->passwords[i], DEMO_PW_LEN);
	if (e)
		return e;
	digest_ha1_compute(rec.ext, j->conf.realm, j->passwords[i], &rec.ha1);
	e = store_ext_add(s, &rec);
	secret_wipe(&rec.ha1, sizeof(rec.ha1));
	return e;
}

static int make_database(struct init_job *j, struct admin_reply *r)
{
	char side[CONF_PATH_MAX + 8];
	const char *why = NULL;
	struct store *s;
	unsigned i;
	int e;

	if (access(j->conf.database, F_OK) == 0)
		return admin_reply_error(r, ADMIN_FAILED, "%s already exists: refusing to reuse it",
					 j->conf.database);
	track(j, j->conf.database, false);
	snprintf(side, sizeof(side), "%s-wal", j->conf.database);
	track(j, side, false);
	snprintf(side, sizeof(side), "%s-shm", j->conf.database);
	track(j, side, false);
	e = store_open(&s, j->conf.database, &why);
	if (e)
		return admin_reply_error(r, ADMIN_FAILED, "cannot create %s: %s",
					 j->conf.database, why ? why : strerror(e));
	e = store_begin(s);
	for (i = 0; !e && i < NDEMO; i++)
		e = add_demo(j, s, i);
	if (!e)
		e = store_commit(s);
	if (e)
		store_rollback(s);
	store_close(s);
	if (e)
		return admin_reply_error(r, ADMIN_FAILED, "cannot add the demo extensions: %s",
					 strerror(e));
	return ADMIN_OK;
}

static void log_demo_events(struct init_job *j)
{
	struct secev e;
	unsigned i;

	if (secevent_open(j->conf.security_log[0] ? j->conf.security_log : NULL,
			  j->conf.syslog) != 0)
		return;
	for (i = 0; i < NDEMO; i++) {
		secev_begin(&e, "ext_added");
		secev_untrusted(&e, "ext", demo_exts[i], strlen(demo_exts[i]));
		secev_token(&e, "by", "init");
		secev_emit(&e);
	}
	secevent_close();
}

static void reply_summary(struct init_job *j, struct admin_reply *r)
{
	const struct rf_conf *c = &j->conf;
	const char *addr = c->nlisten ? c->listen[0] : j->listen;
	bool v6 = strchr(addr, ':') != NULL;
	unsigned i;

	admin_reply_note(r, "Ringfence instance created in %s", j->dir);
	admin_reply_note(r, "  SIP: udp/tcp %s%s%s:%u, tls %s%s%s:%u, realm %s",
			 v6 ? "[" : "", addr, v6 ? "]" : "", c->port,
			 v6 ? "[" : "", addr, v6 ? "]" : "", c->tls_port, c->realm);
	admin_reply_note(r, "Demo extensions (shown once; store them in the phones now):");
	for (i = 0; i < NDEMO; i++)
		admin_reply_note(r, "  %s  %s", demo_exts[i], j->passwords[i]);
	admin_reply_note(r, "Start it with: ringfence -c %s serve", j->conf_path);
	if (j->unreachable)
		admin_reply_note(r, "Warning: user '%s' cannot reach %s because a parent "
				 "directory is closed to it; the daemon will fail after "
				 "dropping root. Move the instance (for example to "
				 "/var/lib/ringfence) or open the parents with chmod o+x.",
				 c->user, j->dir);
}

static int init_steps(struct init_job *j, struct admin_reply *r)
{
	int st;

	if ((st = admin_join(j->conf_path, sizeof(j->conf_path), j->dir, "ringfence.conf")))
		return admin_reply_error(r, ADMIN_USAGE, "--dir: path too long");
	if (access(j->conf_path, F_OK) == 0)
		return admin_reply_error(r, ADMIN_FAILED,
					 "%s already exists: refusing to overwrite an instance",
					 j->conf_path);
	conf_defaults(&j->conf, j->dir);
	if (geteuid() == 0 && j->conf.user[0] && !priv_user_exists(j->conf.user) &&
	    (st = run_useradd(j->conf.user, r)))
		return st;
	if ((st = make_parents(j, r)) || (st = write_config(j, r)) ||
	    (st = make_secret(j, r)) || (st = make_cert(j, r)) ||
	    (st = make_seclog(j, r)) || (st = make_database(j, r)))
		return st;
	if (geteuid() == 0 && priv_user_exists(j->conf.user)) {
		if ((st = give_to_user(j, r)))
			return st;
		j->unreachable = !priv_user_can_access(j->conf.user, j->dir, X_OK | R_OK);
	}
	return ADMIN_OK;
}

int cmd_init(const struct admin_cmd *cmd, struct admin_ctx *ctx,
	     const struct admin_args *a, struct admin_reply *r)
{
	struct init_job *j = calloc(1, sizeof(*j));
	int st;

	if (!j)
		return admin_reply_error(r, ADMIN_FAILED, "out of memory");
	st = parse_init_args(cmd, a, j, r);
	if (!st)
		st = init_steps(j, r);
	if (st) {
		undo(j);
	} else {
		log_demo_events(j);
		reply_summary(j, r);
	}
	secret_wipe(j->passwords, sizeof(j->passwords));
	free(j);
	return st;
}
