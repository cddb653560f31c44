/* The admin reply renderers: JSON must always parse (escaping, empty
 * lists, tables), text must never pass control characters through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin/reply.h"

struct out {
	char *buf;
	size_t len;
	FILE *f;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
}

static char *out_close(struct out *o)
{
	fclose(o->f);
	return o->buf;
}

static char *render(struct admin_reply *r, bool json)
{
	struct out o;

	out_open(&o);
	if (json)
		admin_reply_print_json(r, o.f);
	else
		admin_reply_print_text(r, o.f);
	return out_close(&o);
}

static void test_json_escapes_everything_unsafe(void **state)
{
	struct admin_reply *r;
	char *s;

	assert_int_equal(admin_reply_alloc(&r), 0);
	admin_reply_record(r);
	admin_reply_str(r, "q", "a\"b\\c\nd\te\x1b" "f\x7f");
	admin_reply_str(r, "utf8", "caf\xc3\xa9 \xf0\x9f\x93\x9e");
	admin_reply_str(r, "bad", "x\xff\xc3y");
	admin_reply_int(r, "n", -42);
	admin_reply_bool(r, "b", true);
	admin_reply_list(r, "empty", NULL);
	admin_reply_list(r, "l", "1");
	admin_reply_list(r, "l", "2");
	s = render(r, true);
	assert_non_null(strstr(s, "\"q\": \"a\\\"b\\\\c\\nd\\te\\u001bf\\u007f\""));
	assert_non_null(strstr(s, "\"utf8\": \"caf\\u00e9 \\ud83d\\udcde\""));
	assert_non_null(strstr(s, "\"bad\": \"x\\ufffd\\ufffdy\""));
	assert_non_null(strstr(s, "\"n\": -42"));
	assert_non_null(strstr(s, "\"b\": true"));
	assert_non_null(strstr(s, "\"empty\": []"));
	assert_non_null(strstr(s, "\"l\": [\"1\", \"2\"]"));
	for (const char *p = s; *p; p++)
		assert_true((unsigned char)*p < 0x80); /* pure ASCII */
	free(s);
	admin_reply_free(r);
}

static const struct admin_column cols[] = {
	{ "ext", "EXTENSION" },
	{ "ua", "USER-AGENT" },
};

static void test_table_json_is_an_array_even_when_empty(void **state)
{
	struct admin_reply *r;
	char *s;

	assert_int_equal(admin_reply_alloc(&r), 0);
	admin_reply_table(r, cols, 2);
	s = render(r, true);
	assert_string_equal(s, "[]\n");
	free(s);
	s = render(r, false);
	assert_string_equal(s, "EXTENSION  USER-AGENT\n");
	free(s);
	admin_reply_free(r);
}

static void test_text_table_aligns_and_escapes(void **state)
{
	struct admin_reply *r;
	char *s;

	assert_int_equal(admin_reply_alloc(&r), 0);
	admin_reply_table(r, cols, 2);
	admin_reply_record(r);
	admin_reply_str(r, "ext", "1001");
	admin_reply_str(r, "ua", "evil\x1b[31m\r\n");
	admin_reply_record(r);
	admin_reply_str(r, "ext", "1000000000002");
	admin_reply_str(r, "ua", "");
	s = render(r, false);
	assert_string_equal(s,
			    "EXTENSION      USER-AGENT\n"
			    "1001           evil\\x1b[31m\\x0d\\x0a\n"
			    "1000000000002  -\n");
	free(s);
	admin_reply_free(r);
}

static void test_notes_and_records_keep_their_order(void **state)
{
	struct admin_reply *r;
	char *s;

	assert_int_equal(admin_reply_alloc(&r), 0);
	admin_reply_note(r, "extension %s added", "1003");
	admin_reply_record(r);
	admin_reply_str(r, "password", "Secret-1x!");
	admin_reply_note(r, "shown once");
	s = render(r, false);
	assert_string_equal(s, "extension 1003 added\npassword: Secret-1x!\nshown once\n");
	free(s);
	s = render(r, true);
	assert_string_equal(s, "{\n  \"password\": \"Secret-1x!\"\n}\n");
	free(s);
	admin_reply_free(r);
}

static void test_notes_only_json_is_a_message(void **state)
{
	struct admin_reply *r;
	char *s;

	assert_int_equal(admin_reply_alloc(&r), 0);
	admin_reply_note(r, "extension 1003 removed");
	admin_reply_note(r, "say \"bye\"");
	s = render(r, true);
	assert_string_equal(s, "{\"message\": \"extension 1003 removed\\nsay \\\"bye\\\"\"}\n");
	free(s);
	admin_reply_free(r);
}

static void test_first_error_wins(void **state)
{
	struct admin_reply *r;

	assert_int_equal(admin_reply_alloc(&r), 0);
	assert_int_equal(admin_reply_status(r), ADMIN_OK);
	assert_string_equal(admin_reply_message(r), "");
	assert_int_equal(admin_reply_error(r, ADMIN_USAGE, "bad %s", "thing"), ADMIN_USAGE);
	assert_int_equal(admin_reply_error(r, ADMIN_FAILED, "later"), ADMIN_USAGE);
	assert_string_equal(admin_reply_message(r), "bad thing");
	assert_false(admin_reply_broken(r));
	admin_reply_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escapes_everything_unsafe),
		cmocka_unit_test(test_table_json_is_an_array_even_when_empty),
		cmocka_unit_test(test_text_table_aligns_and_escapes),
		cmocka_unit_test(test_notes_and_records_keep_their_order),
		cmocka_unit_test(test_notes_only_json_is_a_message),
		cmocka_unit_test(test_first_error_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
