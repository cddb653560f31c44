/* Operational log: level parsing, the escaper every untrusted log value goes
 * through, and the stderr line format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static size_t esc(const char *in, size_t len, size_t max, char *out, size_t outlen)
{
	size_t n = log_escape(in, len, max, out, outlen);
	assert_int_equal(n, strlen(out));
	assert_true(n < outlen);
	return n;
}

static void escape_keeps_plain_tokens(void **state)
{
	char out[64];

	assert_int_equal(esc("1001", 4, 64, out, sizeof(out)), 4);
	assert_string_equal(out, "1001");
	esc("Yealink-T46S/66.85.0.5", 22, 64, out, sizeof(out));
	assert_string_equal(out, "Yealink-T46S/66.85.0.5");
}

static void escape_field_breakers(void **state)
{
	char out[128];
	static const char in[] = "a b\"c\\d=e%f";

	esc(in, sizeof(in) - 1, 64, out, sizeof(out));
	assert_string_equal(out, "a\\x20b\\x22c\\x5cd\\x3de\\x25f");
}

static void escape_control_and_newlines(void **state)
{
	char out[128];
	static const char in[] = "x\r\ny\t\x7f\x01";

	esc(in, sizeof(in) - 1, 64, out, sizeof(out));
	assert_string_equal(out, "x\\x0d\\x0ay\\x09\\x7f\\x01");
}

static void escape_nul_bytes_are_data(void **state)
{
	char out[64];
	static const char in[] = { 'a', '\0', 'b', '\0' };

	esc(in, sizeof(in), 64, out, sizeof(out));
	assert_string_equal(out, "a\\x00b\\x00");
}

static void escape_utf8_bytewise(void **state)
{
	char out[64];
	static const char in[] = "caf\xc3\xa9";

	esc(in, sizeof(in) - 1, 64, out, sizeof(out));
	assert_string_equal(out, "caf\\xc3\\xa9");
}

static void escape_truncates_input_with_dots(void **state)
{
	char out[64];

	esc("abcdefghij", 10, 4, out, sizeof(out));
	assert_string_equal(out, "abcd...");
	/* Exactly max bytes is not a cut. */
	esc("abcd", 4, 4, out, sizeof(out));
	assert_string_equal(out, "abcd");
}

static void escape_output_space_never_splits_an_escape(void **state)
{
	char out[12];

	/* Room for 11 characters: "ab" + "\x20" + "..." fits, the next
	 * escape would not, so the cut lands on a whole escape. */
	esc("ab  cdef", 8, 64, out, sizeof(out));
	assert_string_equal(out, "ab\\x20...");
	/* Nothing hex-like is left dangling at the end. */
	for (size_t sz = 1; sz < 20; sz++) {
		char small[20];
		esc("\"\"\"\"\"\"\"\"", 8, 64, small, sz);
		size_t n = strlen(small);
		size_t dots = 0;
		while (dots < n && small[n - 1 - dots] == '.')
			dots++;
		assert_int_equal((n - dots) % 4, 0);
	}
}

static void escape_tiny_buffers(void **state)
{
	char out[4];

	assert_int_equal(log_escape("abc", 3, 64, out, 1), 0);
	assert_string_equal(out, "");
	esc("abcdef", 6, 64, out, 4);
	assert_string_equal(out, "...");
	assert_int_equal(log_escape(NULL, 5, 64, out, sizeof(out)), 0);
}

static void escape_output_has_no_field_breakers(void **state)
{
	char in[256], out[1100];

	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	esc(in, sizeof(in), sizeof(in), out, sizeof(out));
	for (const char *p = out; *p; p++) {
		assert_true(*p > 0x20 && *p < 0x7f);
		assert_true(*p != '"' && *p != '=' && *p != '%');
		if (*p == '\\')
			assert_int_equal(p[1], 'x');
	}
	/* 256 bytes, 94 - 4 verbatim, the rest escaped as 4 characters. */
	assert_int_equal(strlen(out), 90 + (256 - 90) * 4);
}

static void level_parse(void **state)
{
	enum log_level l;

	assert_true(log_level_parse("error", &l));
	assert_int_equal(l, LOG_LVL_ERROR);
	assert_true(log_level_parse("warn", &l));
	assert_int_equal(l, LOG_LVL_WARN);
	assert_true(log_level_parse("info", &l));
	assert_int_equal(l, LOG_LVL_INFO);
	assert_true(log_level_parse("debug", &l));
	assert_int_equal(l, LOG_LVL_DEBUG);
	assert_false(log_level_parse("warning", &l));
	assert_false(log_level_parse("INFO", &l));
	assert_false(log_level_parse("", &l));
	assert_false(log_level_parse(NULL, &l));
}

/* Run fn with stderr redirected into a buffer. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	char path[] = "/tmp/rf-test-log-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);

	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, buf, len - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	unlink(path);
}

static void emit_some(void)
{
	log_set_level(LOG_LVL_WARN);
	log_error("disk %s", "full");
	log_warn("odd\nline");
	log_info("not shown");
	log_debug("not shown either");
	log_set_level(LOG_LVL_INFO);
}

static void stderr_format_and_threshold(void **state)
{
	char buf[1024];
	regex_t re;

	capture_stderr(emit_some, buf, sizeof(buf));
	assert_int_equal(regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z error: disk full\n"
		"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z warn: odd\\?line\n$",
		REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, buf, 0, NULL, 0), 0);
	regfree(&re);
}

static void emit_long(void)
{
	char big[5000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_error("%s", big);
}

static void long_messages_are_cut_to_one_line(void **state)
{
	char buf[8192];

	capture_stderr(emit_long, buf, sizeof(buf));
	size_t n = strlen(buf);
	assert_true(n > 1000 && n <= 2048);
	assert_memory_equal(buf + n - 4, "...\n", 4);
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_keeps_plain_tokens),
		cmocka_unit_test(escape_field_breakers),
		cmocka_unit_test(escape_control_and_newlines),
		cmocka_unit_test(escape_nul_bytes_are_data),
		cmocka_unit_test(escape_utf8_bytewise),
		cmocka_unit_test(escape_truncates_input_with_dots),
		cmocka_unit_test(escape_output_space_never_splits_an_escape),
		cmocka_unit_test(escape_tiny_buffers),
		cmocka_unit_test(escape_output_has_no_field_breakers),
		cmocka_unit_test(level_parse),
		cmocka_unit_test(stderr_format_and_threshold),
		cmocka_unit_test(long_messages_are_cut_to_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
