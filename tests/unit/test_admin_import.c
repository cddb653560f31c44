/* The import commands' file reader and progress line: data lines handed
 * on split (comments, blank lines and CRLF handled), every kind of broken
 * line reported with its number, the reports capped, the file limits, and
 * a progress line that stays quiet for quick runs and never floods. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin/import.h"
#include "admin/util.h"

struct seen {
	unsigned lines[64];
	char first[64][32];
	int nf[64];
	unsigned n;
};

static void check(struct import_file *im, unsigned no, char **f, int nf, void *arg)
{
	struct seen *s = arg;

	if (strcmp(f[0], "bad") == 0) {
		import_error(im, no, "field '%s' refused", f[0]);
		return;
	}
	if (s->n < 64) {
		s->lines[s->n] = no;
		snprintf(s->first[s->n], sizeof(s->first[0]), "%s", f[0]);
		s->nf[s->n] = nf;
	}
	s->n++;
}

/* Write text (len bytes, NULs allowed) to a scratch file; returns its path. */
static const char *scratch(const char *text, size_t len)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/rf-import-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

static int run(struct import_file *im, const char *text, size_t len, struct seen *s,
	       struct admin_reply **r)
{
	const char *path = scratch(text, len);
	int st;

	assert_int_equal(admin_reply_alloc(r), 0);
	im->name = path;
	im->columns = "number,reason";
	if (!im->max_fields)
		im->max_fields = 2;
	if (!im->max_lines)
		im->max_lines = 100;
	if (!im->max_bytes)
		im->max_bytes = 4096;
	st = import_read(im, check, s, *r);
	unlink(path);
	return st;
}

static void test_data_lines_handed_on(void **state)
{
	static const char text[] = "# comment\r\n\nnumber,reason\r\n0909,\"a, b\"\n\n+44\n  # not a comment\n0800,x";
	struct import_file im = { 0 };
	struct seen s = { .n = 0 };
	struct admin_reply *r;

	(void)state;
	assert_int_equal(run(&im, text, sizeof(text) - 1, &s, &r), ADMIN_OK);
	assert_int_equal(im.nerrors, 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(im.data_lines, 5);
	assert_int_equal(im.lines, 8);
	assert_int_equal(s.lines[0], 3);
	assert_string_equal(s.first[0], "number");
	assert_int_equal(s.lines[1], 4);
	assert_int_equal(s.nf[1], 2);
	assert_int_equal(s.lines[2], 6);
	assert_int_equal(s.nf[2], 1);
	assert_string_equal(s.first[3], "  # not a comment");
	assert_int_equal(s.lines[4], 8); /* the last line needs no newline */
	admin_reply_free(r);
}

static void test_every_bad_line_reported(void **state)
{
	char text[2048];
	struct import_file im = { 0 };
	struct seen s = { .n = 0 };
	struct admin_reply *r;
	size_t len;

	(void)state;
	memset(text, 'x', sizeof(text));
	len = (size_t)snprintf(text, sizeof(text), "ok\nbad\n\"open\na,b,c\nok\nNUL\n");
	text[len - 3] = '\0'; /* "N\0L" on line 6 */
	memset(text + len, 'x', IMPORT_LINE_MAX + 1); /* line 7: one character too long */
	len += IMPORT_LINE_MAX + 1;
	text[len++] = '\n';
	memcpy(text + len, "bad\n", 4);
	len += 4;
	assert_int_equal(run(&im, text, len, &s, &r), ADMIN_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(im.nerrors, 6);
	assert_non_null(strstr(im.errors, ":2: field 'bad' refused"));
	assert_non_null(strstr(im.errors, ":8: field 'bad' refused"));
	assert_non_null(strstr(im.errors, ":3: unterminated quoted field"));
	assert_non_null(strstr(im.errors, ":4: too many fields: the columns are number,reason"));
	assert_non_null(strstr(im.errors, ":6: NUL byte in the line"));
	assert_non_null(strstr(im.errors, ":7: line longer than 1024 characters"));
	assert_int_equal(import_reply_errors(&im, r), ADMIN_FAILED);
	assert_non_null(strstr(admin_reply_message(r), "6 bad lines in /tmp/rf-import-"));
	assert_non_null(strstr(admin_reply_message(r), "; nothing was imported:\n  /tmp/rf-import-"));
	admin_reply_free(r);
}

static void test_reports_capped(void **state)
{
	char text[1024] = "";
	struct import_file im = { 0 };
	struct seen s = { .n = 0 };
	struct admin_reply *r;
	size_t len = 0;

	(void)state;
	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "bad\n");
	assert_int_equal(run(&im, text, len, &s, &r), ADMIN_OK);
	assert_int_equal(im.nerrors, 30);
	assert_non_null(strstr(im.errors, ":20: "));
	assert_null(strstr(im.errors, ":21: "));
	import_reply_errors(&im, r);
	assert_non_null(strstr(admin_reply_message(r), "30 bad lines"));
	assert_non_null(strstr(admin_reply_message(r), "\n  ..."));
	admin_reply_free(r);
}

static void test_file_limits(void **state)
{
	struct import_file im = { .max_lines = 3 };
	struct seen s = { .n = 0 };
	struct admin_reply *r;

	(void)state;
	assert_int_equal(run(&im, "a\nb\nc\nd\ne\n", 10, &s, &r), ADMIN_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(im.nerrors, 1);
	assert_non_null(strstr(im.errors, ":4: more than 3 lines"));
	admin_reply_free(r);

	memset(&im, 0, sizeof(im));
	im.max_bytes = 8;
	assert_int_equal(run(&im, "123456789", 9, &s, &r), ADMIN_FAILED);
	assert_non_null(strstr(admin_reply_message(r), "cannot read /tmp/rf-import-"));
	admin_reply_free(r);

	memset(&im, 0, sizeof(im));
	im.name = "/nonexistent/rates.csv";
	im.max_fields = 2;
	im.max_lines = 10;
	im.max_bytes = 10;
	assert_int_equal(admin_reply_alloc(&r), 0);
	assert_int_equal(import_read(&im, check, &s, r), ADMIN_FAILED);
	assert_string_equal(admin_reply_message(r),
			    "cannot open /nonexistent/rates.csv: No such file or directory");
	admin_reply_free(r);
}

/* ---- progress ---- */

static void test_progress_quiet_then_bounded(void **state)
{
	struct admin_progress p;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	admin_progress_begin(&p, out, "rates import");
	p.start_ms = 0;
	p.next_ms = ADMIN_PROGRESS_AFTER_MS;
	admin_progress_at(&p, "checking", 10, 100, 500);   /* quick: nothing */
	fflush(out);
	assert_int_equal(len, 0);
	admin_progress_at(&p, "checking", 45, 100, 1000);
	admin_progress_at(&p, "checking", 46, 100, 1100);  /* within 200 ms: nothing */
	admin_progress_at(&p, "writing", 200, 100, 1200);  /* clamped to 100% */
	admin_progress_end(&p);
	fclose(out);
	assert_string_equal(buf, "\rrates import: checking  45%   \rrates import: writing 100%   "
			    "\rrates import: done            \n");
	free(buf);
}

static void test_progress_nowhere(void **state)
{
	struct admin_progress p;

	(void)state;
	admin_progress_begin(&p, NULL, "x");
	admin_progress_at(&p, "checking", 1, 2, 1000000);
	admin_progress(&p, "checking", 1, 0);
	admin_progress_end(&p);
	assert_false(p.shown);
}

/* A run that ended before the first line leaves no stray newline. */
static void test_progress_quick_run_silent(void **state)
{
	struct admin_progress p;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	admin_progress_begin(&p, out, "blacklist import");
	admin_progress(&p, "writing", 1, 1);
	admin_progress_end(&p);
	fclose(out);
	assert_int_equal(len, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_lines_handed_on),
		cmocka_unit_test(test_every_bad_line_reported),
		cmocka_unit_test(test_reports_capped),
		cmocka_unit_test(test_file_limits),
		cmocka_unit_test(test_progress_quiet_then_bounded),
		cmocka_unit_test(test_progress_nowhere),
		cmocka_unit_test(test_progress_quick_run_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
