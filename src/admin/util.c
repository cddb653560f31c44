/* Helpers shared by the admin commands. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/util.h"
#include "core/conf.h"

const char *admin_iso_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

char *admin_printable(const char *s, char *out, size_t len)
{
	size_t i, n = strlen(s);
	bool cut = n >= len;

	if (cut)
		n = len > 4 ? len - 4 : 0;
	for (i = 0; i < n; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (cut && len > 4)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
	return out;
}

int admin_join(char *out, size_t len, const char *dir, const char *name)
{
	int n;

	if (name[0] == '/' || !dir[0])
		n = snprintf(out, len, "%s", name);
	else
		n = snprintf(out, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? ENAMETOOLONG : 0;
}

static int resolve_one(const char *dir, char *path, size_t len)
{
	char tmp[CONF_PATH_MAX];
	int err;

	if (!path[0] || path[0] == '/')
		return 0;
	err = admin_join(tmp, sizeof(tmp), dir, path);
	if (err || strlen(tmp) >= len)
		return ENAMETOOLONG;
	memcpy(path, tmp, strlen(tmp) + 1);
	return 0;
}

int admin_conf_resolve(struct rf_conf *c)
{
	int err = 0;

	err = err ? err : resolve_one(c->dir, c->database, sizeof(c->database));
	err = err ? err : resolve_one(c->dir, c->secret_file, sizeof(c->secret_file));
	err = err ? err : resolve_one(c->dir, c->security_log, sizeof(c->security_log));
	err = err ? err : resolve_one(c->dir, c->tls_cert, sizeof(c->tls_cert));
	err = err ? err : resolve_one(c->dir, c->tls_key, sizeof(c->tls_key));
	return err;
}
