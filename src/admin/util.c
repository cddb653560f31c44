/* Helpers shared by the admin commands. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "admin/reply.h"
#include "admin/util.h"
#include "core/conf.h"
#include "fraud/rating.h"

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

/* ---- durations ---- */

#define DURATION_UNITS "s, m, h or d (90s, 15m, 24h, 7d)"

static int duration_fail(char *why, size_t whylen, const char *shown, const char *what)
{
	snprintf(why, whylen, "'%s' %s", shown, what);
	return EINVAL;
}

/* max_s in its largest whole unit: 365d rather than 365d0h0m0s. */
static void duration_whole(int64_t s, char *buf, size_t len)
{
	static const struct { int64_t secs; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (s % units[i].secs == 0)
			break;
	snprintf(buf, len, "%lld%c", (long long)(s / units[i].secs), units[i].unit);
}

static int64_t duration_unit(char c)
{
	switch (c) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	default: return 0;
	}
}

int admin_parse_duration(const char *text, int64_t max_s, int64_t *out_s,
			 char *why, size_t whylen)
{
	char shown[64], most[40];
	const char *p = text;
	int64_t n = 0, unit;

	admin_printable(text, shown, sizeof(shown));
	duration_whole(max_s, most, sizeof(most));
	if (!*p)
		return duration_fail(why, whylen, shown, "is empty: give a number and a unit, "
				     DURATION_UNITS);
	if (*p == '-')
		return duration_fail(why, whylen, shown, "is negative: give a number and a unit, "
				     DURATION_UNITS);
	if (*p < '0' || *p > '9')
		return duration_fail(why, whylen, shown, "is not a duration: give a number and "
				     "a unit, " DURATION_UNITS);
	/* Stop counting past max_s: the value is too long whatever the unit. */
	for (; *p >= '0' && *p <= '9'; p++)
		if (n <= max_s)
			n = n * 10 + (*p - '0');
	if (!*p)
		return duration_fail(why, whylen, shown, "has no unit: add " DURATION_UNITS);
	unit = duration_unit(*p);
	if (!unit)
		return duration_fail(why, whylen, shown, "has an unknown unit: use " DURATION_UNITS);
	if (p[1])
		return duration_fail(why, whylen, shown, "has junk after the unit: write one "
				     "number and one unit (90s, 15m, 24h, 7d)");
	if (n == 0)
		return duration_fail(why, whylen, shown, "is zero: the shortest is 1s");
	if (n > max_s / unit) {
		snprintf(why, whylen, "'%s' is too long: the longest is %s", shown, most);
		return EINVAL;
	}
	*out_s = n * unit;
	return 0;
}

const char *admin_format_duration(int64_t s, char *buf, size_t len)
{
	int64_t d, h, m;

	if (s <= 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	d = s / 86400;
	h = s / 3600 % 24;
	m = s / 60 % 60;
	s %= 60;
	if (d)
		snprintf(buf, len, "%lldd%lldh%lldm%llds", (long long)d, (long long)h,
			 (long long)m, (long long)s);
	else if (h)
		snprintf(buf, len, "%lldh%lldm%llds", (long long)h, (long long)m, (long long)s);
	else if (m)
		snprintf(buf, len, "%lldm%llds", (long long)m, (long long)s);
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

/* ---- numbers ---- */

int admin_parse_uint(const char *what, const char *text, unsigned min, unsigned max,
		     unsigned *out, char *why, size_t whylen)
{
	char shown[64];
	uint64_t n = 0;
	const char *p;

	/* Stop counting past max: the value is too large whatever follows. */
	for (p = text; *p >= '0' && *p <= '9'; p++)
		if (n <= max)
			n = n * 10 + (uint64_t)(*p - '0');
	if (p == text || *p || n < min || n > max) {
		snprintf(why, whylen, "%s: '%s' is not a whole number from %u to %u", what,
			 admin_printable(text, shown, sizeof(shown)), min, max);
		return EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* ---- secrets from standard input ---- */

/* The terminal's settings while echo is off, for the signal handler that
 * puts them back: a Ctrl-C must not leave the shell typing blind. */
static struct termios saved_tty;
static const int restored_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define NRESTORED (sizeof(restored_signals) / sizeof(restored_signals[0]))

static void restore_tty_and_die(int sig)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void echo_on(const struct sigaction *old)
{
	size_t i;

	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	for (i = 0; i < NRESTORED; i++)
		sigaction(restored_signals[i], &old[i], NULL);
	fputc('\n', stderr); /* the Enter that was not echoed */
}

static int echo_off(struct sigaction *old)
{
	struct sigaction sa;
	struct termios quiet;
	size_t i;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty_and_die;
	for (i = 0; i < NRESTORED; i++)
		sigaction(restored_signals[i], &sa, &old[i]);
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
		int err = errno;

		echo_on(old);
		return err;
	}
	return 0;
}

int admin_read_secret(const char *prompt, char *buf, size_t len)
{
	struct sigaction old[NRESTORED];
	bool tty = isatty(STDIN_FILENO);
	bool got;
	size_t n;
	int err;

	/* The prompt comes once echo is off: whatever is typed after it
	 * can no longer show. */
	if (tty) {
		if ((err = echo_off(old)) != 0)
			return err;
		fputs(prompt, stderr);
		fflush(stderr);
	}
	got = fgets(buf, (int)len, stdin) != NULL;
	if (tty)
		echo_on(old);
	if (!got)
		return ENODATA;
	n = strcspn(buf, "\r\n");
	if (n + 2 > len)
		return EMSGSIZE;
	buf[n] = '\0';
	return 0;
}

static int64_t clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t admin_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* ---- progress ---- */

static int64_t monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

void admin_progress_begin(struct admin_progress *p, FILE *out, const char *what)
{
	p->out = out;
	p->what = what;
	p->start_ms = monotonic_ms();
	p->next_ms = p->start_ms + ADMIN_PROGRESS_AFTER_MS;
	p->shown = false;
}

void admin_progress_at(struct admin_progress *p, const char *phase, size_t done,
		       size_t total, int64_t now_ms)
{
	unsigned pct;

	if (!p->out || now_ms < p->next_ms)
		return;
	if (done > total)
		done = total;
	pct = total ? (unsigned)(done * 100 / total) : 100;
	/* The trailing spaces cover a longer phase name written before. */
	fprintf(p->out, "\r%s: %s %3u%%   ", p->what, phase, pct);
	fflush(p->out);
	p->shown = true;
	p->next_ms = now_ms + ADMIN_PROGRESS_EVERY_MS;
}

void admin_progress(struct admin_progress *p, const char *phase, size_t done, size_t total)
{
	if (p->out)
		admin_progress_at(p, phase, done, total, monotonic_ms());
}

void admin_progress_end(struct admin_progress *p)
{
	/* The last line shown may say 94%: say it finished. */
	if (p->out && p->shown) {
		fprintf(p->out, "\r%s: done            \n", p->what);
		fflush(p->out);
	}
	p->shown = false;
}

void admin_reply_price(struct admin_reply *r, const char *key, int64_t micro)
{
	char text[RATE_PRICE_BUF], key_micro[32];

	admin_reply_str(r, key, rating_format_price(micro, text, sizeof(text)));
	snprintf(key_micro, sizeof(key_micro), "%s_micro", key);
	admin_reply_int(r, key_micro, micro);
}
