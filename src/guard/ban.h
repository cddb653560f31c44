/* The ban engine (S4, S6): decides, inside the SIP stack, which source
 * addresses get silence and which extensions are locked. It only ever
 * sees transport-level source addresses, never a header a client wrote,
 * so nothing in a message can get another address banned.
 *
 * - A source that fails authentication `failures` times within `window_s`
 *   is banned for `ban_s`, doubling on each repeat up to `ban_max_s`.
 * - A source that collects challenges for `scan_extensions` different
 *   extensions without authenticating any of them is walking the
 *   numbering plan (svwar and friends): it is banned too.
 * - NAT: a source with healthy registrations (an office behind one
 *   address) is not banned for one device's failures; that device's
 *   (source, extension) pair is blocked instead. The whole address is
 *   banned only when it fails for `nat_accounts` different extensions.
 * - An extension that collects `lock_failures` failures from at least
 *   `lock_sources` addresses within `lock_window_s` is locked for `lock_s`.
 * - Whitelisted networks are never banned or blocked.
 *
 * Every table is bounded: counters are kept for at most `max_tracked`
 * sources, pairs and extensions each, the stalest forgotten first; bans
 * are kept for at most `max_bans` addresses. Pure logic over an injected
 * clock: the caller persists, logs and alerts from what it is told.
 * Single-threaded (the signalling thread). */
#ifndef RF_GUARD_BAN_H
#define RF_GUARD_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "guard/acl.h"

/* A source address without its port; IPv4-mapped IPv6 is stored as IPv4. */
struct ban_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

void ban_addr_from_sockaddr(const struct sockaddr *sa, struct ban_addr *out);
/* Parse one IPv4 or IPv6 address (no port, no prefix). Returns 0 or EINVAL. */
int ban_addr_parse(const char *s, struct ban_addr *out);
/* Canonical text (inet_ntop); `len` at least 46. */
void ban_addr_format(const struct ban_addr *a, char *buf, size_t len);

#define BAN_MAX_WHITELIST 32

struct ban_config {
	unsigned failures;          /* 5 */
	unsigned window_s;          /* 600 */
	unsigned ban_s;             /* 900 */
	unsigned ban_max_s;         /* 86400 */
	unsigned scan_extensions;   /* 20 */
	unsigned nat_accounts;      /* 5 */
	unsigned lock_failures;     /* 20 */
	unsigned lock_sources;      /* 3, at most 16 */
	unsigned lock_window_s;     /* 3600 */
	unsigned lock_s;            /* 3600 */
	unsigned max_tracked;       /* 65536 */
	unsigned max_bans;          /* 65536 */
	struct acl_cidr whitelist[BAN_MAX_WHITELIST];
	unsigned nwhitelist;
};

/* The defaults above. */
void ban_config_defaults(struct ban_config *c);

enum ban_reason { BAN_AUTH_FAILURES, BAN_SCAN, BAN_FLOOD, BAN_GLITCHES, BAN_MANUAL };
/* "auth_failures", "scan", "flood", "glitches", "manual" */
const char *ban_reason_name(enum ban_reason r);
/* The reverse; unknown words read as BAN_MANUAL. */
enum ban_reason ban_reason_parse(const char *s);

/* What one event led to; the caller logs, persists and alerts. */
struct ban_news {
	bool banned;              /* the source is banned from now on */
	int64_t ban_until;
	unsigned ban_level;       /* 0 first ban, 1 the first repeat ... */
	enum ban_reason ban_reason;
	bool pair_blocked;        /* the (source, extension) pair is blocked */
	int64_t pair_until;
	bool locked;              /* the extension is locked from now on */
	int64_t lock_until;
	unsigned lock_failures, lock_sources;
};

struct ban_engine;

int ban_alloc(struct ban_engine **bp, const struct ban_config *cfg);
void ban_free(struct ban_engine *b);
/* Replace the configuration (reload); counters and bans stay. */
void ban_set_config(struct ban_engine *b, const struct ban_config *cfg);

bool ban_whitelisted(const struct ban_engine *b, const struct ban_addr *src);

/* Asked for every packet, before it is parsed: silence when true. */
bool ban_source_banned(const struct ban_engine *b, const struct ban_addr *src, int64_t now);
bool ban_pair_blocked(const struct ban_engine *b, const struct ban_addr *src,
		      const char *ext, size_t extlen, int64_t now);
bool ban_account_locked(const struct ban_engine *b, const char *ext, size_t extlen,
			int64_t now);

/* A failed authentication from `src` naming `ext` (as typed; empty when
 * the credentials carried no user name). `known` says whether `ext` is an
 * extension here (only those can be locked); `healthy` whether `src`
 * currently holds an authenticated registration. */
void ban_auth_failure(struct ban_engine *b, const struct ban_addr *src, const char *ext,
		      size_t extlen, bool known, bool healthy, int64_t now,
		      struct ban_news *news);
/* A request from `src` for extension `ext` answered with a challenge
 * because it carried no credentials: counts towards scan detection. */
void ban_challenged(struct ban_engine *b, const struct ban_addr *src, const char *ext,
		    size_t extlen, bool healthy, int64_t now, struct ban_news *news);
/* `src` authenticated as `ext`: its scan and failure counts start over. */
void ban_auth_success(struct ban_engine *b, const struct ban_addr *src, const char *ext,
		      size_t extlen);

/* Ban `src` now for `reason` (a known scanner, a flood ...), with the
 * usual length and doubling; whitelisted addresses are left alone. */
void ban_now(struct ban_engine *b, const struct ban_addr *src, enum ban_reason reason,
	     int64_t now, struct ban_news *news);

/* `src` holds an authenticated registration until `until`: it is an
 * address with healthy phones behind it (see NAT above). */
void ban_mark_healthy(struct ban_engine *b, const struct ban_addr *src, int64_t until);
bool ban_is_healthy(const struct ban_engine *b, const struct ban_addr *src, int64_t now);

/* Set a ban as stored or as the administrator asked (replaces any ban on
 * the address). Returns 0, or ENOSPC when max_bans addresses are held. */
int ban_put(struct ban_engine *b, const struct ban_addr *src, int64_t until, unsigned level,
	    enum ban_reason reason);
/* Ban `src` for a rule kept outside this engine (a flood, malformed
 * messages), with the same doubling on repeat; a whitelisted source is
 * never banned (news->banned stays false). */
void ban_offence(struct ban_engine *b, const struct ban_addr *src, enum ban_reason reason,
		 int64_t now, struct ban_news *news);
/* Lift a ban and forget its repeat level. Returns 0 or ENOENT. */
int ban_del(struct ban_engine *b, const struct ban_addr *src);
/* Set / lift an extension lock. */
int ban_lock_put(struct ban_engine *b, const char *ext, size_t extlen, int64_t until);
int ban_lock_del(struct ban_engine *b, const char *ext, size_t extlen);
/* Forget every ban and lock (before reloading them from the store). */
void ban_clear(struct ban_engine *b);

/* Bans and locks that ended since the last sweep are reported once each
 * (the caller logs ban_lifted / account_unlocked); bans whose repeat level
 * has been forgotten (ban_max_s after they ended) are dropped. */
struct ban_sweep_cb {
	void (*lifted)(void *arg, const struct ban_addr *src, enum ban_reason reason);
	void (*unlocked)(void *arg, const char *ext);
	void *arg;
};
void ban_sweep(struct ban_engine *b, int64_t now, const struct ban_sweep_cb *cb);

/* Counts, for status and tests. */
unsigned ban_active_count(const struct ban_engine *b, int64_t now);
unsigned ban_tracked_count(const struct ban_engine *b);

#endif
