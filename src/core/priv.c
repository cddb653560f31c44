/* Privilege drop. The order matters: supplementary groups and the gid must
 * change while we are still root, the uid last. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/priv.h"

static int lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);

	if (rc != 0)
		return rc;
	if (!res)
		return ENOENT;
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

bool priv_user_exists(const char *user)
{
	uid_t uid;
	gid_t gid;

	return user && user[0] && lookup(user, &uid, &gid) == 0;
}

static int fail(char *err, size_t errlen, int e, const char *what,
		const char *user)
{
	snprintf(err, errlen, "cannot %s for user '%s': %s", what, user,
		 strerror(e));
	return e;
}

int priv_drop(const char *user, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;
	int rc;

	if (geteuid() != 0)
		return 0;
	if (!user || !user[0]) {
		snprintf(err, errlen, "no user to run as configured");
		return EINVAL;
	}
	rc = lookup(user, &uid, &gid);
	if (rc == ENOENT) {
		snprintf(err, errlen, "user '%s' does not exist", user);
		return ENOENT;
	}
	if (rc)
		return fail(err, errlen, rc, "look up", user);
	if (uid == 0) {
		snprintf(err, errlen, "refusing to run as '%s': it is uid 0", user);
		return EPERM;
	}
	if (initgroups(user, gid) != 0)
		return fail(err, errlen, errno, "set supplementary groups", user);
	if (setresgid(gid, gid, gid) != 0)
		return fail(err, errlen, errno, "set group id", user);
	if (setresuid(uid, uid, uid) != 0)
		return fail(err, errlen, errno, "set user id", user);
	/* A drop that can be undone is no drop: prove it cannot. */
	if (setuid(0) == 0 || seteuid(0) == 0 || geteuid() != uid || getegid() != gid) {
		snprintf(err, errlen, "privileges of '%s' could be regained after dropping", user);
		return EPERM;
	}
	return 0;
}

#define PRIV_MAX_GROUPS 256

/* Back to root after a probe. Failing here would leave a process that is
 * neither root nor the user: stop at once rather than run like that. */
static void restore_root(const gid_t *groups, int ngroups)
{
	if (seteuid(0) != 0 || setegid(0) != 0 ||
	    setgroups((size_t)ngroups, groups) != 0)
		abort();
}

bool priv_user_can_access(const char *user, const char *path, int amode)
{
	gid_t saved[PRIV_MAX_GROUPS], theirs[PRIV_MAX_GROUPS];
	int nsaved, ntheirs = PRIV_MAX_GROUPS;
	bool ok;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return access(path, amode) == 0;
	if (lookup(user, &uid, &gid) != 0)
		return false;
	nsaved = getgroups(PRIV_MAX_GROUPS, saved);
	if (nsaved < 0 || getgrouplist(user, gid, theirs, &ntheirs) < 0)
		return false;
	if (setgroups((size_t)ntheirs, theirs) != 0 || setegid(gid) != 0 ||
	    seteuid(uid) != 0) {
		restore_root(saved, nsaved);
		return false;
	}
	ok = faccessat(AT_FDCWD, path, amode, AT_EACCESS) == 0;
	restore_root(saved, nsaved);
	return ok;
}
