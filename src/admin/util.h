/* Small helpers shared by the admin commands. */
#ifndef RF_ADMIN_UTIL_H
#define RF_ADMIN_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-26T15:04:05Z" for unix seconds t (UTC), or "-" for 0. */
const char *admin_iso_time(int64_t t, char *buf, size_t len);

/* Copy s for an error message: control bytes become '?', and it is cut
 * (with "...") to fit len. Returns out. */
char *admin_printable(const char *s, char *out, size_t len);

/* dir + "/" + name, or name as is when it is already absolute. */
int admin_join(char *out, size_t len, const char *dir, const char *name);

struct rf_conf;
/* Make the configuration's file paths (database, secret, security log,
 * certificate and key) absolute against the config's own directory, so
 * they mean the same whatever the current directory. */
int admin_conf_resolve(struct rf_conf *c);

#endif
