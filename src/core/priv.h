/* Dropping root. The daemon binds its ports as root and then becomes the
 * unprivileged service user; the CLI does the same right after reading the
 * config, so the files it creates belong to that user too. */
#ifndef RF_CORE_PRIV_H
#define RF_CORE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

/* When the effective uid is 0, become `user` (supplementary groups, gid,
 * uid, in that order) and verify that root cannot be regained. A no-op
 * returning 0 when not root. Returns 0, ENOENT when the user does not
 * exist, or another errno value, with a message in err. */
int priv_drop(const char *user, char *err, size_t errlen);

/* True when `user` names an existing account. */
bool priv_user_exists(const char *user);

/* Could `user` open `path` with access mode `amode` (R_OK, W_OK, X_OK)?
 * As root this is tested by taking on the user's effective ids and groups
 * for the one check and restoring them after: a parent directory that only
 * root may search (an instance under /root) is caught before a drop that
 * would lock us out. Not root: the caller's own access. */
bool priv_user_can_access(const char *user, const char *path, int amode);

#endif
