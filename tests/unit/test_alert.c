/* The pure parts of alerts: the per-kind rate limit with its summaries on
 * an injected clock, the summary's wording, sanitising of untrusted text,
 * header values that cannot carry CR or LF, JSON escaping, the email and
 * JSON formats, URL parsing and the [alerts] checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conf.h"
#include "guard/alert.h"
#include "guard/alert_conf.h"
#include "guard/alert_rate.h"
#include "guard/alert_text.h"

/* ---- rate limit ---- */

static void rate_passes_the_limit_then_folds(void **state)
{
	struct alert_rate r;
	struct alert_rate_summary s[ALERT__COUNT];
	unsigned passed = 0;

	(void)state;
	alert_rate_init(&r, 3, 600);
	for (int i = 0; i < 40; i++)
		passed += alert_rate_pass(&r, ALERT_BAN_ADDED, 1000 + i);
	assert_int_equal(passed, 3);
	/* Another kind has its own window. */
	assert_true(alert_rate_pass(&r, ALERT_ACCOUNT_LOCKED, 1001));
	assert_int_equal(alert_rate_next(&r), 1600);
	/* Nothing is due before the window ends... */
	assert_int_equal(alert_rate_tick(&r, 1599, s, ALERT__COUNT), 0);
	/* ...then one summary of the 37 folded bans, and the lock's quiet
	 * window just closes. */
	assert_int_equal(alert_rate_tick(&r, 1601, s, ALERT__COUNT), 1);
	assert_int_equal(s[0].kind, ALERT_BAN_ADDED);
	assert_int_equal(s[0].folded, 37);
	assert_int_equal(s[0].window_s, 600);
}

static void rate_storm_that_goes_on_yields_one_summary_per_window(void **state)
{
	struct alert_rate r;
	struct alert_rate_summary s[ALERT__COUNT];
	unsigned passed = 0, summaries = 0, folded = 0;

	(void)state;
	alert_rate_init(&r, 5, 60);
	/* One ban a second for an hour. */
	for (int64_t t = 0; t < 3600; t++) {
		size_t n = alert_rate_tick(&r, t, s, ALERT__COUNT);

		summaries += (unsigned)n;
		for (size_t i = 0; i < n; i++)
			folded += s[i].folded;
		passed += alert_rate_pass(&r, ALERT_BAN_ADDED, t);
	}
	summaries += (unsigned)alert_rate_tick(&r, 4000, s, ALERT__COUNT);
	folded += s[0].folded;
	assert_int_equal(passed, 5);
	assert_int_equal(passed + folded, 3600);
	assert_int_equal(summaries, 60);
}

static void rate_quiet_window_reopens_fresh(void **state)
{
	struct alert_rate r;
	struct alert_rate_summary s[ALERT__COUNT];

	(void)state;
	alert_rate_init(&r, 2, 10);
	assert_true(alert_rate_pass(&r, ALERT_FLOOD, 0));
	assert_true(alert_rate_pass(&r, ALERT_FLOOD, 1));
	/* The window ended without a folded alert: no summary, and the next
	 * alert (even before a tick) opens a fresh window. */
	assert_true(alert_rate_pass(&r, ALERT_FLOOD, 11));
	assert_true(alert_rate_pass(&r, ALERT_FLOOD, 12));
	assert_false(alert_rate_pass(&r, ALERT_FLOOD, 13));
	assert_int_equal(alert_rate_tick(&r, 21, s, ALERT__COUNT), 1);
	assert_int_equal(s[0].folded, 1);
	assert_int_equal(alert_rate_next(&r), 31);
	assert_int_equal(alert_rate_tick(&r, 31, s, ALERT__COUNT), 0);
	assert_int_equal(alert_rate_next(&r), INT64_MAX);
}

static void rate_never_limits_tests_summaries_and_emergencies(void **state)
{
	struct alert_rate r;

	(void)state;
	alert_rate_init(&r, 1, 600);
	for (int i = 0; i < 10; i++) {
		assert_true(alert_rate_pass(&r, ALERT_TEST, i));
		assert_true(alert_rate_pass(&r, ALERT_SUMMARY, i));
		assert_true(alert_rate_pass(&r, ALERT_EMERGENCY, i));
	}
	/* Barred calls are limited like bans: a fraud run makes thousands. */
	assert_true(alert_rate_pass(&r, ALERT_CALL_BARRED, 0));
	assert_false(alert_rate_pass(&r, ALERT_CALL_BARRED, 1));
	assert_false(alert_rate_pass(&r, ALERT__COUNT, 0));
}

/* A reload changes the limits without forgetting what open windows
 * counted: no alert passes twice the old limit, and the summary tells
 * the limit in force. */
static void rate_new_limits_keep_open_windows(void **state)
{
	struct alert_rate r;
	struct alert_rate_summary s[ALERT__COUNT];

	(void)state;
	alert_rate_init(&r, 3, 600);
	assert_true(alert_rate_pass(&r, ALERT_BAN_ADDED, 0));
	assert_true(alert_rate_pass(&r, ALERT_BAN_ADDED, 1));
	alert_rate_set_limits(&r, 1, 60);
	assert_false(alert_rate_pass(&r, ALERT_BAN_ADDED, 2));
	assert_int_equal(alert_rate_next(&r), 60);
	assert_int_equal(alert_rate_tick(&r, 59, s, ALERT__COUNT), 0);
	assert_int_equal(alert_rate_tick(&r, 60, s, ALERT__COUNT), 1);
	assert_int_equal(s[0].folded, 1);
	assert_int_equal(s[0].limit, 1);
	assert_int_equal(s[0].window_s, 60);
	/* A higher limit lets more through in the window already open. */
	alert_rate_set_limits(&r, 4, 60);
	assert_true(alert_rate_pass(&r, ALERT_BAN_ADDED, 61));
	alert_rate_set_limits(&r, 0, 0);
	assert_int_equal(r.limit, 1);
	assert_int_equal(r.window_s, 1);
}

static void summary_text(void **state)
{
	struct alert_rate_summary s = { .kind = ALERT_BAN_ADDED, .folded = 37, .window_s = 600 };
	char t[128];

	(void)state;
	alert_rate_summary_text(&s, t, sizeof(t));
	assert_string_equal(t, "37 more bans in the last 10 minutes");
	s = (struct alert_rate_summary){ .kind = ALERT_ACCOUNT_LOCKED, .folded = 1, .window_s = 3600 };
	alert_rate_summary_text(&s, t, sizeof(t));
	assert_string_equal(t, "1 more account lock in the last 1 hour");
	s = (struct alert_rate_summary){ .kind = ALERT_NEW_NETWORK, .folded = 2, .window_s = 45 };
	alert_rate_summary_text(&s, t, sizeof(t));
	assert_string_equal(t, "2 more registrations from new networks in the last 45 seconds");
}

/* ---- text ---- */

static void sanitize_escapes_controls_and_bad_utf8(void **state)
{
	char out[128];

	(void)state;
	alert_sanitize("1001\r\nBcc: x@evil\x7f", out, sizeof(out), 0);
	assert_string_equal(out, "1001\\x0D\\x0ABcc: x@evil\\x7F");
	alert_sanitize("line\nnext\r", out, sizeof(out), 1);
	assert_string_equal(out, "line\nnext\\x0D");
	alert_sanitize("caf\xc3\xa9 \xff\xc3", out, sizeof(out), 0);
	assert_string_equal(out, "caf\xc3\xa9 \\xFF\\xC3");
	/* C1 controls (U+0085 NEL) are escaped too. */
	alert_sanitize("a\xc2\x85" "b", out, sizeof(out), 1);
	assert_string_equal(out, "a\\xC2\\x85b");
	/* Cut on a boundary, never inside an escape or a character. */
	assert_int_equal(alert_sanitize("abc\x01", out, 6, 0), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(alert_sanitize("ab\xc3\xa9", out, 4, 0), 2);
	assert_string_equal(out, "ab");
}

static void header_values_carry_no_line_breaks(void **state)
{
	char out[64];

	(void)state;
	alert_header_value("x\r\nBcc: a@b\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "x??Bcc: a@b??");
	assert_int_equal(alert_header_value("abcdef", out, 4), 3);
	assert_string_equal(out, "abc");
}

static void json_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(alert_json_escape("a\"b\\c\nd\x01", out, sizeof(out)), 16);
	assert_string_equal(out, "a\\\"b\\\\c\\nd\\u0001");
	assert_int_equal(alert_json_escape("abcdef", out, 4), 0);
	assert_string_equal(out, "");
}

static void mail_has_no_injected_header(void **state)
{
	struct alert_msg m = { .id = 7, .kind = ALERT_ACCOUNT_LOCKED, .created = 1764189000 };
	struct alert_origin o = { "pbx1", "pbx.example.org" };
	char out[ALERT_MAIL_MAX];
	char *body;

	(void)state;
	/* What alert_raise would hand on after sanitising... */
	alert_sanitize("Extension 1001\r\nBcc: victim@example.net locked", m.subject,
		       sizeof(m.subject), 0);
	alert_sanitize("line one\n.\nline three", m.text, sizeof(m.text), 1);
	assert_int_equal(alert_mail_format(&m, &o, "pbx@example.org", "a@example.org", out,
					   sizeof(out)), 0);
	body = strstr(out, "\r\n\r\n");
	assert_non_null(body);
	*body = '\0';
	/* ...makes exactly these headers, each on one line. */
	assert_string_equal(out,
		"From: Ringfence <pbx@example.org>\r\n"
		"To: a@example.org\r\n"
		"Subject: [Ringfence pbx.example.org] Extension 1001\\x0D\\x0ABcc: victim@example.net locked\r\n"
		"Date: Wed, 26 Nov 2025 20:30:00 +0000\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"X-Ringfence-Alert: account_locked");
	assert_non_null(strstr(body + 4, "line one\r\n.\r\nline three\r\n"));
	assert_non_null(strstr(body + 4, "Alert account_locked, raised 2025-11-26T20:30:00Z\r\n"));
	/* Even unsanitised bytes cannot break a header line. */
	snprintf(m.subject, sizeof(m.subject), "a\r\nBcc: b@c");
	assert_int_equal(alert_mail_format(&m, &o, "p@e.org", "a@e.org", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "Subject: [Ringfence pbx.example.org] a??Bcc: b@c\r\n"));
	assert_int_equal(alert_mail_format(&m, &o, "p@e.org", "a@e.org", out, 100), ENOSPC);
}

static void mail_body_lines_stay_short(void **state)
{
	struct alert_msg m = { .kind = ALERT_TEST, .created = 0 };
	struct alert_origin o = { "h", "r" };
	char out[ALERT_MAIL_MAX];

	(void)state;
	memset(m.text, 'x', ALERT_TEXT_MAX);
	assert_int_equal(alert_mail_format(&m, &o, "p@e.org", "a@e.org", out, sizeof(out)), 0);
	for (char *line = out, *end; (end = strstr(line, "\r\n")); line = end + 2)
		assert_true(end - line <= 998);
}

static void json_body(void **state)
{
	struct alert_msg m = { .id = 42, .kind = ALERT_BAN_ADDED, .created = 1764189000 };
	struct alert_origin o = { "pbx1", "pbx.example.org" };
	char out[ALERT_JSON_MAX];

	(void)state;
	snprintf(m.subject, sizeof(m.subject), "Banned \"x\"");
	snprintf(m.text, sizeof(m.text), "a\\b\nc");
	assert_int_equal(alert_json_format(&m, &o, out, sizeof(out)), 0);
	assert_string_equal(out,
		"{\"id\":42,\"kind\":\"ban_added\",\"time\":\"2025-11-26T20:30:00Z\","
		"\"subject\":\"Banned \\\"x\\\"\",\"text\":\"a\\\\b\\nc\","
		"\"host\":\"pbx1\",\"realm\":\"pbx.example.org\"}");
	assert_int_equal(alert_json_format(&m, &o, out, 20), ENOSPC);
}

static void kind_names_round_trip(void **state)
{
	enum alert_kind k;

	(void)state;
	for (unsigned i = 0; i < ALERT__COUNT; i++) {
		assert_non_null(alert_kind_name((enum alert_kind)i));
		assert_int_equal(alert_kind_parse(alert_kind_name((enum alert_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_null(alert_kind_name(ALERT__COUNT));
	assert_int_equal(alert_kind_parse("bans", &k), EINVAL);
	assert_string_equal(alert_kind_name(ALERT_EMERGENCY), "emergency_call");
}

/* ---- URLs and settings ---- */

static void urls(void **state)
{
	struct alert_url u;
	char out[128];

	(void)state;
	assert_int_equal(alert_url_parse("smtps://mail.example.org:465", &u), 0);
	assert_string_equal(u.scheme, "smtps");
	assert_string_equal(u.host, "mail.example.org");
	assert_int_equal(u.port, 465);
	assert_false(u.userinfo);
	assert_int_equal(alert_url_parse("https://[::1]:8443/hook?t=1", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8443);
	assert_int_equal(alert_url_parse("smtp://u:p@h", &u), 0);
	assert_true(u.userinfo);
	assert_string_equal(u.host, "h");
	assert_int_equal(alert_url_parse("smtp://h:0", &u), EINVAL);
	assert_int_equal(alert_url_parse("smtp://h:99999", &u), EINVAL);
	assert_int_equal(alert_url_parse("smtp://h:25x", &u), EINVAL);
	assert_int_equal(alert_url_parse("smtp://", &u), EINVAL);
	assert_int_equal(alert_url_parse("mail.example.org", &u), EINVAL);
	assert_true(alert_host_loopback("127.0.0.1"));
	assert_true(alert_host_loopback("127.9.8.7"));
	assert_true(alert_host_loopback("::1"));
	assert_true(alert_host_loopback("LocalHost"));
	assert_false(alert_host_loopback("128.0.0.1"));
	assert_false(alert_host_loopback("mail.example.org"));
	/* A webhook's token never shows. */
	alert_url_public("https://hooks.example.org/services/T0K3N?x=1", out, sizeof(out));
	assert_string_equal(out, "https://hooks.example.org");
	alert_url_public("https://[2001:db8::1]:8443/t", out, sizeof(out));
	assert_string_equal(out, "https://[2001:db8::1]:8443");
}

static void check(const struct rf_conf *c, const char *key, const char *why)
{
	const char *k = NULL;
	char w[384];

	if (!key) {
		assert_int_equal(alert_conf_check(c, &k, w, sizeof(w)), 0);
		return;
	}
	assert_int_equal(alert_conf_check(c, &k, w, sizeof(w)), EINVAL);
	assert_string_equal(k, key);
	if (!strstr(w, why))
		fail_msg("'%s' does not say '%s'", w, why);
}

static void settings(void **state)
{
	struct rf_conf c;

	(void)state;
	conf_defaults(&c, "/tmp");
	check(&c, NULL, NULL);
	assert_int_equal(alert_channels(&c), 0);
	snprintf(c.smtp_url, sizeof(c.smtp_url), "smtp://mail.example.org:587");
	check(&c, "mail_from", "needed when smtp_url is set");
	snprintf(c.mail_from, sizeof(c.mail_from), "pbx@example.org");
	check(&c, "mail_to", "needed");
	snprintf(c.mail_to, sizeof(c.mail_to), "a@example.org, b@example.org");
	check(&c, NULL, NULL);
	assert_int_equal(alert_channels(&c), ALERT_CH_EMAIL);
	snprintf(c.mail_to, sizeof(c.mail_to), "a@example.org,,b@example.org");
	check(&c, "mail_to", "'' is not an email address");
	snprintf(c.mail_to, sizeof(c.mail_to), "a@example.org, <b@example.org>");
	check(&c, "mail_to", "'<b@example.org>' is not an email address");
	snprintf(c.mail_to, sizeof(c.mail_to), "a@example.org");
	snprintf(c.mail_from, sizeof(c.mail_from), "pbx");
	check(&c, "mail_from", "not an email address");
	snprintf(c.mail_from, sizeof(c.mail_from), "pbx@example.org");
	snprintf(c.smtp_url, sizeof(c.smtp_url), "smtp://user:pw@mail.example.org");
	check(&c, "smtp_url", "holds credentials");
	snprintf(c.smtp_url, sizeof(c.smtp_url), "http://mail.example.org");
	check(&c, "smtp_url", "the scheme must be smtps://");
	snprintf(c.smtp_url, sizeof(c.smtp_url), "smtps://mail.example.org");
	snprintf(c.smtp_user, sizeof(c.smtp_user), "alerts");
	check(&c, "smtp_password", "go together");
	snprintf(c.smtp_password, sizeof(c.smtp_password), "s3cret-Pa55");
	check(&c, NULL, NULL);
	snprintf(c.webhook_url, sizeof(c.webhook_url), "http://hooks.example.org/x");
	check(&c, "webhook_url", "must be an https:// URL");
	snprintf(c.webhook_url, sizeof(c.webhook_url), "https://hooks.example.org/x");
	check(&c, NULL, NULL);
	assert_int_equal(alert_channels(&c), ALERT_CH_EMAIL | ALERT_CH_WEBHOOK);
	c.smtp_url[0] = '\0';
	check(&c, "smtp_user", "is set but smtp_url is empty");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rate_passes_the_limit_then_folds),
		cmocka_unit_test(rate_storm_that_goes_on_yields_one_summary_per_window),
		cmocka_unit_test(rate_quiet_window_reopens_fresh),
		cmocka_unit_test(rate_never_limits_tests_summaries_and_emergencies),
		cmocka_unit_test(rate_new_limits_keep_open_windows),
		cmocka_unit_test(summary_text),
		cmocka_unit_test(sanitize_escapes_controls_and_bad_utf8),
		cmocka_unit_test(header_values_carry_no_line_breaks),
		cmocka_unit_test(json_escape),
		cmocka_unit_test(mail_has_no_injected_header),
		cmocka_unit_test(mail_body_lines_stay_short),
		cmocka_unit_test(json_body),
		cmocka_unit_test(kind_names_round_trip),
		cmocka_unit_test(urls),
		cmocka_unit_test(settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
