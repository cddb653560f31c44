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

#endif
