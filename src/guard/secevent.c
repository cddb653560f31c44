/* The security log (S17). The format is a contract with Fail2Ban and with
 * administrators' own tooling, documented in docs/security-events.md:
 *
 *   TIMESTAMP ringfence[PID]: SECURITY event=NAME [src=ADDR:PORT proto=P] key=value...
 *
 * Lines are built on the caller's stack, never overflow, and are written
 * with one write(2) on an O_APPEND descriptor: the kernel then appends each
 * line whole, so the daemon and the CLI can share the file without locks. */
#include "guard/secevent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"

/* Room kept free in e->line for the timestamp, pid and newline that
 * secev_emit() puts around the body: "YYYY-MM-DDTHH:MM:SS.mmmZ
 * ringfence[PID]: " is at most 24 + 1 + 10 + 12 + 3 = 50 bytes. */
#define SECEV_PREFIX_ROOM 64
#define SECEV_BODY_MAX (SECEV_LINE_MAX - SECEV_PREFIX_ROOM)
/* Appended when a field had to be dropped; its room is always kept. */
#define SECEV_CUT_MARK " ..."
#define SECEV_CUT_LEN (sizeof(SECEV_CUT_MARK) - 1)

static int secev_fd = -1;
static bool secev_syslog;
static atomic_uint_fast64_t secev_emitted;
static atomic_bool secev_write_failed;

int secevent_open(const char *path, bool use_syslog)
{
	int fd = -1;

	if (path && *path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0)
			return errno;
	}
	secevent_close();
	secev_fd = fd;
	secev_syslog = use_syslog;
	if (use_syslog)
		openlog("ringfence", LOG_PID | LOG_NDELAY, LOG_AUTH);
	atomic_store(&secev_write_failed, false);
	return 0;
}

int secevent_reopen(const char *path)
{
	int fd, err = 0;

	if (secev_fd < 0 || !path || !*path)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return errno;
	/* dup3 swaps the file under the same descriptor in one step, so a
	 * line written by another thread meanwhile lands in one file or the
	 * other, never on a closed descriptor. */
	if (dup3(fd, secev_fd, O_CLOEXEC) < 0)
		err = errno;
	close(fd);
	return err;
}

void secevent_close(void)
{
	if (secev_fd >= 0)
		close(secev_fd);
	secev_fd = -1;
	secev_syslog = false;
}

uint64_t secevent_count(void)
{
	return atomic_load(&secev_emitted);
}

static bool secev_cut(const struct secev *e)
{
	return e->len >= SECEV_CUT_LEN &&
	       !memcmp(e->line + e->len - SECEV_CUT_LEN, SECEV_CUT_MARK, SECEV_CUT_LEN);
}

/* Append a whole field or, if it does not fit, the cut mark and nothing
 * more: a line never ends in half a field. */
static void secev_append(struct secev *e, const char *s, size_t n)
{
	if (secev_cut(e))
		return;
	if (e->len + n + SECEV_CUT_LEN > SECEV_BODY_MAX) {
		memcpy(e->line + e->len, SECEV_CUT_MARK, SECEV_CUT_LEN);
		e->len += SECEV_CUT_LEN;
		e->line[e->len] = '\0';
		return;
	}
	memcpy(e->line + e->len, s, n);
	e->len += n;
	e->line[e->len] = '\0';
}

/* Keys and our own values still go through the escaper: a caller passing
 * something unexpected must not be able to break the format either. */
static size_t token_escape(const char *s, char *out, size_t outlen)
{
	return log_escape(s ? s : "-", s ? strlen(s) : 1, 64, out, outlen);
}

void secev_begin(struct secev *e, const char *event)
{
	char name[80];
	size_t n = token_escape(event, name, sizeof(name));

	e->len = 0;
	e->line[0] = '\0';
	secev_append(e, "SECURITY event=", 15);
	secev_append(e, name, n);
}

static void field_append(struct secev *e, const char *key, const char *value,
			 size_t vlen, bool quoted)
{
	char buf[512];
	char k[80];
	size_t kl = token_escape(key, k, sizeof(k));
	int n = snprintf(buf, sizeof(buf), " %.*s=%s%.*s%s", (int)kl, k,
			 quoted ? "\"" : "", (int)vlen, value, quoted ? "\"" : "");

	if (n > 0 && (size_t)n < sizeof(buf))
		secev_append(e, buf, (size_t)n);
}

void secev_token(struct secev *e, const char *key, const char *value)
{
	char v[80];
	size_t n = token_escape(value, v, sizeof(v));

	field_append(e, key, v, n, false);
}

void secev_uint(struct secev *e, const char *key, unsigned long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", v);

	field_append(e, key, num, (size_t)n, false);
}

void secev_untrusted(struct secev *e, const char *key, const char *value,
		     size_t len)
{
	/* Worst case: every byte becomes \xHH, plus "..." and the NUL. */
	char v[RF_LOG_MAX_FIELD * 4 + 4];
	size_t n;

	if (!value)
		return;
	n = log_escape(value, len, RF_LOG_MAX_FIELD, v, sizeof(v));
	field_append(e, key, v, n, true);
}

/* "1.2.3.4:5060" or "[2001:db8::1]:5060"; IPv4-mapped IPv6 is shown as
 * IPv4 because that is the address a firewall (and Fail2Ban) sees. */
static bool format_src(const struct sockaddr *sa, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(in->sin_port));
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(out, outlen, "%s:%u", ip, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			snprintf(out, outlen, "[%s]:%u", ip, ntohs(in6->sin6_port));
		}
		return true;
	}
	return false;
}

void secev_src(struct secev *e, const struct sockaddr *src, const char *proto)
{
	char addr[INET6_ADDRSTRLEN + 16];
	char p[80];
	char field[INET6_ADDRSTRLEN + 120];
	int n;

	if (!src || !format_src(src, addr, sizeof(addr)))
		return;
	n = snprintf(field, sizeof(field), " src=%s", addr);
	if (proto) {
		size_t pl = token_escape(proto, p, sizeof(p));
		n += snprintf(field + n, sizeof(field) - (size_t)n, " proto=%.*s", (int)pl, p);
	}
	if (n <= 0 || (size_t)n >= sizeof(field) || secev_cut(e))
		return;
	/* src is always the second field, whatever order the caller used,
	 * because the Fail2Ban filter anchors on "event=NAME src=". */
	const char *first_space = memchr(e->line + 15, ' ', e->len - 15);
	size_t at = first_space ? (size_t)(first_space - e->line) : e->len;
	if (e->len + (size_t)n + SECEV_CUT_LEN > SECEV_BODY_MAX) {
		secev_append(e, field, (size_t)n); /* adds the cut mark */
		return;
	}
	memmove(e->line + at + n, e->line + at, e->len - at);
	memcpy(e->line + at, field, (size_t)n);
	e->len += (size_t)n;
	e->line[e->len] = '\0';
}

static void report_write_failure(int err)
{
	if (!atomic_exchange(&secev_write_failed, true))
		log_error("security log: cannot write (%s); further failures are not reported",
			  strerror(err));
}

void secev_emit(struct secev *e)
{
	char out[SECEV_LINE_MAX + 1];
	struct timespec ts;
	struct tm tm;
	size_t n;

	atomic_fetch_add(&secev_emitted, 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(out + n, sizeof(out) - n, ".%03ldZ ringfence[%ld]: ",
			      ts.tv_nsec / 1000000L, (long)getpid());
	if (n + e->len + 1 > SECEV_LINE_MAX)
		e->len = SECEV_LINE_MAX - 1 - n; /* cannot happen: room is reserved */
	memcpy(out + n, e->line, e->len);
	n += e->len;
	out[n++] = '\n';

	if (secev_syslog)
		syslog(LOG_AUTH | LOG_NOTICE, "%.*s", (int)e->len, e->line);
	if (secev_fd < 0)
		return;
	ssize_t w;
	do
		w = write(secev_fd, out, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		report_write_failure(errno);
	else if ((size_t)w != n)
		report_write_failure(ENOSPC);
}

void secevent_simple(const char *event, const char *key, const char *value)
{
	struct secev e;

	secev_begin(&e, event);
	if (key && value)
		secev_untrusted(&e, key, value, strlen(value));
	secev_emit(&e);
}
