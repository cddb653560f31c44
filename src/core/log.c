/* Operational log: one line per message on stderr, or syslog (daemon
 * facility) when configured. Each line is built whole and written with a
 * single write(2), so lines from several threads never interleave. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

enum log_level log_threshold = LOG_LVL_INFO;

static bool log_syslog_on;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level lvl)
{
	if (lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	log_threshold = lvl;
}

void log_use_syslog(bool on)
{
	if (on && !log_syslog_on)
		openlog("ringfence", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog_on = on;
}

bool log_level_parse(const char *s, enum log_level *out)
{
	if (!s)
		return false;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

static int syslog_priority(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERROR: return LOG_ERR;
	case LOG_LVL_WARN:  return LOG_WARNING;
	case LOG_LVL_INFO:  return LOG_INFO;
	default:            return LOG_DEBUG;
	}
}

/* Messages are our own text, but they may quote a file name or a value the
 * caller forgot to escape: a control byte must never split or forge a
 * line, so anything below 0x20 becomes '?'. */
static void sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}

void log_write(enum log_level lvl, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ",
			      ts.tv_nsec / 1000000L, level_names[lvl]);
	size_t msg_start = n;

	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	sanitize(line + msg_start, n - msg_start);

	if (log_syslog_on) {
		line[n] = '\0';
		syslog(LOG_DAEMON | syslog_priority(lvl), "%s", line + msg_start);
		return;
	}
	line[n++] = '\n';
	/* Nothing useful can be done if stderr is gone. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

static bool copied_verbatim(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '=' && ch != '%';
}

size_t log_escape(const char *in, size_t len, size_t max, char *out,
		  size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t cap, o = 0, safe = 0, n;
	bool cut;

	if (outlen == 0)
		return 0;
	cap = outlen - 1;
	if (!in)
		len = 0;
	cut = len > max;
	n = cut ? max : len;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		size_t need = copied_verbatim(ch) ? 1 : 4;
		if (o + need > cap) {
			cut = true;
			break;
		}
		if (need == 1) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
		/* The last place "..." still fits after, at a whole escape. */
		if (o + 3 <= cap)
			safe = o;
	}
	if (cut) {
		o = safe;
		for (size_t i = 0; i < 3 && o < cap; i++)
			out[o++] = '.';
	}
	out[o] = '\0';
	return o;
}

const char *log_char_name(unsigned char c, char *buf, size_t len)
{
	if (c == ' ')
		snprintf(buf, len, "a space");
	else if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", c);
	return buf;
}
