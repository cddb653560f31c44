/* The security log: exact line format, escaping of hostile values, bounded
 * lines, whole lines from concurrent writers, and a write failure that is
 * reported once without crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/limits.h"
#include "guard/secevent.h"

#define PREFIX_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ringfence\\[[0-9]+\\]: SECURITY "

struct tmplog {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct tmplog *t = calloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/rf-secev-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/security.log", t->dir);
	assert_int_equal(secevent_open(t->path, false), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmplog *t = *state;

	secevent_close();
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* The whole file; the caller frees it. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* The body (after "SECURITY ") of the only line in the file. */
static char *only_body(const char *path)
{
	char *all = slurp(path, NULL);
	regex_t re;
	regmatch_t m[1];

	assert_int_equal(regcomp(&re, PREFIX_RE, REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, all, 1, m, 0), 0);
	regfree(&re);
	char *nl = strchr(all, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* exactly one line */
	*nl = '\0';
	char *body = strdup(all + m[0].rm_eo);
	free(all);
	assert_int_equal(truncate(path, 0), 0);
	return body;
}

static struct sockaddr_storage v4(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	return ss;
}

/* An untrusted C string, as the registrar passes header values. */
static void put(struct secev *e, const char *key, const char *value)
{
	secev_untrusted(e, key, value, strlen(value));
}

static void documented_example_line(void **state)
{
	struct tmplog *t = *state;
	struct sockaddr_storage src = v4("203.0.113.5", 5060);
	struct secev e;
	char *all, want[128];

	secev_begin(&e, "auth_failed");
	secev_src(&e, (struct sockaddr *)&src, "udp");
	put(&e, "ext", "1001");
	secev_token(&e, "reason", "wrong_password");
	secev_emit(&e);

	all = slurp(t->path, NULL);
	snprintf(want, sizeof(want), " ringfence[%ld]: SECURITY event=auth_failed "
		 "src=203.0.113.5:5060 proto=udp ext=\"1001\" reason=wrong_password\n",
		 (long)getpid());
	/* 24 characters of millisecond UTC timestamp, then the rest exactly. */
	assert_int_equal(strlen(all), 24 + strlen(want));
	assert_string_equal(all + 24, want);
	assert_int_equal(all[10], 'T');
	assert_int_equal(all[23], 'Z');
	free(all);
}

static void ipv6_and_mapped_sources(void **state)
{
	struct tmplog *t = *state;
	struct sockaddr_storage a = v6("2001:db8::1", 5060);
	struct sockaddr_storage b = v6("::ffff:198.51.100.7", 5062);
	struct secev e;
	char *body;

	secev_begin(&e, "acl_denied");
	secev_src(&e, (struct sockaddr *)&a, "tls");
	secev_emit(&e);
	body = only_body(t->path);
	assert_string_equal(body, "event=acl_denied src=[2001:db8::1]:5060 proto=tls");
	free(body);

	secev_begin(&e, "acl_denied");
	secev_src(&e, (struct sockaddr *)&b, "udp");
	secev_emit(&e);
	body = only_body(t->path);
	assert_string_equal(body, "event=acl_denied src=198.51.100.7:5062 proto=udp");
	free(body);
}

static void src_is_always_second(void **state)
{
	struct tmplog *t = *state;
	struct sockaddr_storage src = v4("192.0.2.1", 1234);
	struct secev e;
	char *body;

	secev_begin(&e, "bad_message");
	secev_token(&e, "reason", "parse_error");
	secev_uint(&e, "size", 70000);
	secev_src(&e, (struct sockaddr *)&src, "tcp");
	secev_emit(&e);
	body = only_body(t->path);
	assert_string_equal(body,
		"event=bad_message src=192.0.2.1:1234 proto=tcp reason=parse_error size=70000");
	free(body);
}

/* Every hostile value from the Fail2Ban injection cases: quotes and a fake
 * src in a display name or user, an encoded and a raw newline, a forged
 * log line in the User-Agent. None may yield a second " src=". */
static void hostile_values_are_escaped(void **state)
{
	struct tmplog *t = *state;
	struct sockaddr_storage src = v4("127.0.0.9", 5070);
	static const char ext[] = "1001\" src=1.2.3.4 x=\"";
	static const char nl[] = "1001\n2026-11-26T15:04:05.123Z ringfence[1]: SECURITY";
	static const char ua[] = "UA src=1.2.3.4:5060 %0a\r\x01";
	struct secev e;
	char *body;

	secev_begin(&e, "auth_failed");
	secev_src(&e, (struct sockaddr *)&src, "udp");
	secev_untrusted(&e, "ext", ext, sizeof(ext) - 1);
	secev_untrusted(&e, "user", nl, sizeof(nl) - 1);
	secev_token(&e, "reason", "wrong_password");
	secev_untrusted(&e, "ua", ua, sizeof(ua) - 1);
	secev_emit(&e);
	body = only_body(t->path);
	assert_string_equal(body,
		"event=auth_failed src=127.0.0.9:5070 proto=udp "
		"ext=\"1001\\x22\\x20src\\x3d1.2.3.4\\x20x\\x3d\\x22\" "
		"user=\"1001\\x0a2026-11-26T15:04:05.123Z\\x20ringfence[1]:\\x20SECURITY\" "
		"reason=wrong_password "
		"ua=\"UA\\x20src\\x3d1.2.3.4:5060\\x20\\x250a\\x0d\\x01\"");
	assert_non_null(strstr(body, " src="));
	assert_null(strstr(strstr(body, " src=") + 1, " src="));
	assert_null(strstr(body, "src=1.2.3.4"));
	free(body);
}

static void tokens_cannot_break_the_format_either(void **state)
{
	struct tmplog *t = *state;
	struct secev e;
	char *body;

	secev_begin(&e, "odd event");
	secev_token(&e, "re ason", "a=b c");
	secev_emit(&e);
	body = only_body(t->path);
	assert_string_equal(body, "event=odd\\x20event re\\x20ason=a\\x3db\\x20c");
	free(body);
}

static void untrusted_values_are_truncated(void **state)
{
	struct tmplog *t = *state;
	char big[300], want[RF_LOG_MAX_FIELD + 16];
	struct secev e;
	char *body;

	memset(big, 'A', sizeof(big));
	secev_begin(&e, "register_ok");
	secev_untrusted(&e, "ua", big, sizeof(big));
	secev_emit(&e);
	body = only_body(t->path);
	memset(want, 'A', RF_LOG_MAX_FIELD);
	snprintf(want + RF_LOG_MAX_FIELD, sizeof(want) - RF_LOG_MAX_FIELD, "...\"");
	assert_string_equal(body + strlen("event=register_ok ua=\""), want);
	free(body);
}

static void line_never_overflows(void **state)
{
	struct tmplog *t = *state;
	char hostile[RF_LOG_MAX_FIELD];
	struct secev e;
	char *all;
	size_t len;

	memset(hostile, '"', sizeof(hostile)); /* each byte becomes 4 */
	secev_begin(&e, "auth_failed");
	for (int i = 0; i < 20; i++)
		secev_untrusted(&e, "ua", hostile, sizeof(hostile));
	secev_uint(&e, "late", 1);
	assert_true(e.len < SECEV_LINE_MAX);
	secev_emit(&e);
	all = slurp(t->path, &len);
	assert_true(len <= SECEV_LINE_MAX);
	assert_int_equal(all[len - 1], '\n');
	assert_ptr_equal(strchr(all, '\n'), all + len - 1);
	/* Whole fields, then the cut mark; nothing after it. */
	assert_memory_equal(all + len - 5, " ...\n", 5);
	assert_memory_equal(all + len - 6, "\"", 1);
	assert_null(strstr(all, "late="));
	free(all);
}

static void simple_and_count(void **state)
{
	struct tmplog *t = *state;
	uint64_t before = secevent_count();
	char *body;

	secevent_simple("ext_added", "ext", "1003");
	body = only_body(t->path);
	assert_string_equal(body, "event=ext_added ext=\"1003\"");
	free(body);
	secevent_simple("daemon_started", NULL, NULL);
	body = only_body(t->path);
	assert_string_equal(body, "event=daemon_started");
	free(body);
	assert_int_equal(secevent_count(), before + 2);
}

static void file_mode_and_append(void **state)
{
	struct tmplog *t = *state;
	struct stat st;

	secevent_simple("daemon_started", NULL, NULL);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777 & ~0640, 0);
	/* Reopening appends instead of truncating. */
	assert_int_equal(secevent_open(t->path, false), 0);
	secevent_simple("daemon_stopped", NULL, NULL);
	char *all = slurp(t->path, NULL);
	assert_non_null(strstr(all, "event=daemon_started\n"));
	assert_non_null(strstr(all, "event=daemon_stopped\n"));
	free(all);
}

#define WRITERS 4
#define LINES_EACH 400

/* Several processes append to one file, as the daemon and the CLI do:
 * every line must come out whole. */
static void concurrent_writers_never_interleave(void **state)
{
	struct tmplog *t = *state;
	char pad[RF_LOG_MAX_FIELD];
	pid_t kids[WRITERS];

	memset(pad, 'p', sizeof(pad));
	for (int w = 0; w < WRITERS; w++) {
		kids[w] = fork();
		assert_true(kids[w] >= 0);
		if (kids[w] == 0) {
			secevent_close();
			if (secevent_open(t->path, false))
				_exit(1);
			for (int i = 0; i < LINES_EACH; i++) {
				struct secev e;
				secev_begin(&e, "register_ok");
				secev_uint(&e, "writer", (unsigned)w);
				secev_uint(&e, "seq", (unsigned)i);
				secev_untrusted(&e, "ua", pad, sizeof(pad));
				secev_token(&e, "end", "yes");
				secev_emit(&e);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(kids[w], &status, 0), kids[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	char *all = slurp(t->path, NULL);
	regex_t re;
	int seen[WRITERS] = { 0 };
	assert_int_equal(regcomp(&re, PREFIX_RE "event=register_ok writer=([0-9]) seq=([0-9]+) "
				 "ua=\"p{64}\" end=yes$", REG_EXTENDED), 0);
	int lines = 0;
	char *save = NULL;
	for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[3];
		assert_int_equal(regexec(&re, line, 3, m, 0), 0);
		int w = atoi(line + m[1].rm_so);
		assert_int_equal(atoi(line + m[2].rm_so), seen[w]); /* in order per writer */
		seen[w]++;
		lines++;
	}
	regfree(&re);
	free(all);
	assert_int_equal(lines, WRITERS * LINES_EACH);
}

static void open_failure_is_an_errno(void **state)
{
	secevent_close();
	assert_int_equal(secevent_open("/nonexistent-dir-rf/security.log", false), ENOENT);
	/* Still safe to emit with nothing open. */
	secevent_simple("daemon_started", NULL, NULL);
}

/* A full disk: report once on stderr, keep running. */
static void write_failure_reported_once(void **state)
{
	char path[] = "/tmp/rf-secev-err-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	char buf[2048];

	if (access("/dev/full", W_OK) != 0)
		skip();
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(secevent_open("/dev/full", false), 0);
	dup2(fd, STDERR_FILENO);
	for (int i = 0; i < 5; i++)
		secevent_simple("auth_failed", "ext", "1001");
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	close(fd);
	unlink(path);
	char *first = strstr(buf, "security log: cannot write");
	assert_non_null(first);
	assert_null(strstr(first + 1, "security log: cannot write"));
	secevent_close();
}

/* The lines behind tests/data/fail2ban/secevent-sample.log: the fixture the
 * Fail2Ban filter is tested on must be exactly what this code writes. */
static void emit_sample_set(void)
{
	struct sockaddr_storage s;
	struct secev e;

#define EV(name, ip, fam, port, proto) do { \
		s = fam(ip, port); \
		secev_begin(&e, name); \
		secev_src(&e, (struct sockaddr *)&s, proto); \
	} while (0)

	EV("auth_failed", "203.0.113.5", v4, 5060, "udp");
	put(&e, "ext", "1001");
	secev_token(&e, "method", "REGISTER");
	secev_token(&e, "reason", "wrong_password");
	put(&e, "ua", "Yealink SIP-T46S");
	secev_emit(&e);

	EV("auth_failed", "2001:db8::5", v6, 5062, "tls");
	put(&e, "ext", "9999");
	secev_token(&e, "method", "REGISTER");
	secev_token(&e, "reason", "unknown_user");
	secev_emit(&e);

	EV("acl_denied", "198.51.100.20", v4, 5060, "udp");
	put(&e, "ext", "1002");
	secev_token(&e, "method", "REGISTER");
	secev_token(&e, "reason", "remote_needs_tls");
	secev_emit(&e);

	EV("bad_message", "192.0.2.44", v4, 40000, "tcp");
	secev_token(&e, "reason", "parse_error");
	put(&e, "detail", "bad header \"Via\"");
	secev_emit(&e);

	/* A stale nonce is routine for a working phone: never a failure. */
	EV("auth_failed", "203.0.113.6", v4, 5060, "udp");
	put(&e, "ext", "1001");
	secev_token(&e, "method", "REGISTER");
	secev_token(&e, "reason", "stale_nonce");
	secev_emit(&e);

	/* Injection attempts: only the real source may ever match. */
	EV("auth_failed", "203.0.113.7", v4, 5060, "udp");
	put(&e, "ext", "x\" src=1.2.3.4:5060 proto=udp reason=\"");
	secev_token(&e, "method", "REGISTER");
	secev_token(&e, "reason", "unknown_user");
	secev_emit(&e);

	EV("auth_failed", "203.0.113.8", v4, 5060, "udp");
	put(&e, "ext", "1001\nevent=auth_failed src=1.2.3.4:1");
	secev_token(&e, "method", "REGISTER");
	secev_token(&e, "reason", "wrong_password");
	put(&e, "ua", "x 2026-11-26T15:04:05.123Z ringfence[1]: SECURITY event=auth_failed src=1.2.3.4:5060");
	secev_emit(&e);

	/* Not failures at all. */
	EV("register_ok", "203.0.113.9", v4, 5060, "udp");
	put(&e, "ext", "1001");
	put(&e, "contact", "sip:1001@1.2.3.4:5060");
	secev_uint(&e, "expires", 3600);
	secev_emit(&e);

	secevent_simple("ext_added", "ext", "src=1.2.3.4");
#undef EV
}

static void sample_fixture_matches_the_code(void **state)
{
	struct tmplog *t = *state;
	const char *data = getenv("RF_TEST_DATA");
	char fixture[512];

	assert_non_null(data);
	snprintf(fixture, sizeof(fixture), "%s/fail2ban/secevent-sample.log", data);
	emit_sample_set();

	char *now = slurp(t->path, NULL), *want = slurp(fixture, NULL);
	char *sn = NULL, *sw = NULL;
	char *a = strtok_r(now, "\n", &sn), *b = strtok_r(want, "\n", &sw);
	int n = 0;
	for (; a && b; a = strtok_r(NULL, "\n", &sn), b = strtok_r(NULL, "\n", &sw), n++) {
		/* Compare from "SECURITY": timestamps and pids differ. */
		const char *ba = strstr(a, "]: SECURITY "), *bb = strstr(b, "]: SECURITY ");
		assert_non_null(ba);
		assert_non_null(bb);
		assert_string_equal(ba, bb);
	}
	assert_null(a);
	assert_null(b);
	assert_int_equal(n, 9);
	free(now);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(documented_example_line, setup, teardown),
		cmocka_unit_test_setup_teardown(ipv6_and_mapped_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(src_is_always_second, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_values_are_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(tokens_cannot_break_the_format_either, setup, teardown),
		cmocka_unit_test_setup_teardown(untrusted_values_are_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(line_never_overflows, setup, teardown),
		cmocka_unit_test_setup_teardown(simple_and_count, setup, teardown),
		cmocka_unit_test_setup_teardown(file_mode_and_append, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_writers_never_interleave, setup, teardown),
		cmocka_unit_test(open_failure_is_an_errno),
		cmocka_unit_test(write_failure_reported_once),
		cmocka_unit_test_setup_teardown(sample_fixture_matches_the_code, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
