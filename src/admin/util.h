/* Small helpers shared by the admin commands. */
#ifndef RF_ADMIN_UTIL_H
#define RF_ADMIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "2026-11-26T15:04:05Z" for unix seconds t (UTC), or "-" for 0. */
const char *admin_iso_time(int64_t t, char *buf, size_t len);

/* Copy s for an error message: control bytes become '?', and it is cut
 * (with "...") to fit len. Returns out. */
char *admin_printable(const char *s, char *out, size_t len);

/* dir + "/" + name, or name as is when it is already absolute. */
int admin_join(char *out, size_t len, const char *dir, const char *name);

/* Parse a duration: one whole number and a unit, 90s, 15m, 24h or 7d.
 * It must be at least 1s and at most max_s. Returns 0, or EINVAL with a
 * one-line reason (quoting the value) in why. */
int admin_parse_duration(const char *text, int64_t max_s, int64_t *out_s,
			 char *why, size_t whylen);

/* "14m30s", "2d0h0m5s": seconds from the largest unit present down to
 * the seconds, "0s" for 0 or less. Returns buf. */
const char *admin_format_duration(int64_t s, char *buf, size_t len);

/* Parse a whole number from min to max for the field `what` ("--port"):
 * decimal digits only, no sign, no junk, no overflow. Returns 0, or
 * EINVAL with a one-line reason naming the field and quoting the value
 * in why. */
int admin_parse_uint(const char *what, const char *text, unsigned min, unsigned max,
		     unsigned *out, char *why, size_t whylen);

/* Read a secret from the first line of standard input into buf, without
 * its line end. When standard input is a terminal, `prompt` goes to
 * stderr and echo is off while the line is typed (and back on however
 * the read ends, Ctrl-C included), so the secret never shows on the
 * screen. Returns 0, ENODATA (nothing to read), EMSGSIZE (longer than
 * len - 2 bytes: len leaves room for the line end and the NUL) or an
 * errno value. */
int admin_read_secret(const char *prompt, char *buf, size_t len);

/* A progress line for operations that may run for seconds (large
 * imports), on a terminal only. Nothing is shown for the first second, so
 * quick runs stay quiet; then one line, "WHAT: PHASE 45%", rewritten in
 * place at most 5 times a second, and ended by admin_progress_end with
 * "WHAT: done" and a newline. */
#define ADMIN_PROGRESS_AFTER_MS 1000
#define ADMIN_PROGRESS_EVERY_MS 200

struct admin_progress {
	FILE *out;          /* borrowed; NULL shows nothing */
	const char *what;   /* "rates import"; borrowed */
	int64_t start_ms, next_ms;
	bool shown;
};

void admin_progress_begin(struct admin_progress *p, FILE *out, const char *what);
/* `done` of `total` units of `phase` ("checking", "writing"). */
void admin_progress(struct admin_progress *p, const char *phase, size_t done, size_t total);
/* The same at a given monotonic time, in milliseconds (for tests). */
void admin_progress_at(struct admin_progress *p, const char *phase, size_t done,
		       size_t total, int64_t now_ms);
void admin_progress_end(struct admin_progress *p);

/* The real clock in milliseconds, the one CDR and live-call times are
 * written with. */
int64_t admin_now_ms(void);

struct admin_reply;
/* A money field as exact decimal text (`key`, "1.50") and as micro-units
 * (`key`_micro, 1500000), so JSON readers need not parse decimals. */
void admin_reply_price(struct admin_reply *r, const char *key, int64_t micro);

struct rf_conf;
/* Make the configuration's file paths (database, secret, security log,
 * certificate and key) absolute against the config's own directory, so
 * they mean the same whatever the current directory. */
int admin_conf_resolve(struct rf_conf *c);

#endif
