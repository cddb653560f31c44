/* Privilege drop. The order matters: supplementary groups and the gid must
 * change while we are still root, the uid last. */
#include <errno.h>
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
