/* The security log (S17): one line per event, stable names, key=value
 * fields, documented in docs/security-events.md:
 *
 *   2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed src=203.0.113.5:5060 proto=udp ext="1001" reason=wrong_password
 *
 * `event` is always first and `src` (when there is one) always second, so a
 * filter can anchor on them. Values from the network are quoted and escaped
 * with log_escape(), so they never contain a space, quote or newline. */
#ifndef RF_GUARD_SECEVENT_H
#define RF_GUARD_SECEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SECEV_LINE_MAX 1024

/* Open the log file (append, mode 0640) and optionally syslog (LOG_AUTH).
 * path may be NULL for syslog only. Returns 0 or errno. */
int secevent_open(const char *path, bool use_syslog);
/* Open `path` again (after logrotate moved it away) under the same
 * descriptor. The old file stays in use when that fails. Returns 0 or an
 * errno value; does nothing when no file was open. */
int secevent_reopen(const char *path);
void secevent_close(void);

/* Builder on the caller's stack; no allocation. */
struct secev {
	char line[SECEV_LINE_MAX];
	size_t len;
};

void secev_begin(struct secev *e, const char *event);
/* src=ADDR:PORT proto=PROTO; IPv6 as [addr]:port. */
void secev_src(struct secev *e, const struct sockaddr *src, const char *proto);
/* A value we produced ourselves (a reason code, a number): token chars only. */
void secev_token(struct secev *e, const char *key, const char *value);
void secev_uint(struct secev *e, const char *key, unsigned long long v);
/* An untrusted value: quoted, escaped and truncated to RF_LOG_MAX_FIELD. */
void secev_untrusted(struct secev *e, const char *key, const char *value,
		     size_t len);
/* Write the line with its timestamp and pid; also counts it. */
void secev_emit(struct secev *e);

/* Convenience for one-shot events without a source address. */
void secevent_simple(const char *event, const char *key, const char *value);

/* Events emitted since start, for tests and status. */
uint64_t secevent_count(void);

#endif
