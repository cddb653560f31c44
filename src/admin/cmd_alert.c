/* alert test: sends one test alert through each channel of [alerts],
 * now and in this process, so the administrator sees at once whether the
 * mail server and the webhook take alerts, and if not, why. The daemon's
 * queue is not involved: nothing is stored. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/cmd_alert.h"
#include "core/conf.h"
#include "guard/alert.h"
#include "guard/alert_send.h"
#include "guard/alert_text.h"
#include "guard/secevent.h"

static const struct admin_column alert_columns[] = {
	{ "channel", "CHANNEL" },
	{ "target", "TARGET" },
	{ "result", "RESULT" },
};

static void test_message(struct alert_msg *m, const struct rf_conf *c)
{
	memset(m, 0, sizeof(*m));
	m->kind = ALERT_TEST;
	m->created = (int64_t)time(NULL);
	snprintf(m->subject, sizeof(m->subject), "Test alert");
	snprintf(m->text, sizeof(m->text),
		 "This is a test alert from the Ringfence of realm %s, sent by "
		 "'ringfence alert test'.\nIf you read this, this channel delivers alerts.",
		 c->realm);
}

static void log_result(const struct admin_ctx *ctx, unsigned channel, const char *error)
{
	struct secev e;

	secev_begin(&e, error ? "alert_failed" : "alert_sent");
	secev_token(&e, "kind", "test");
	secev_token(&e, "channel", alert_channel_name(channel));
	if (error)
		secev_untrusted(&e, "error", error, strlen(error));
	secev_token(&e, "by", ctx->by ? ctx->by : "cli");
	secev_emit(&e);
}

/* Send through one channel; appends "CHANNEL TARGET: error" to failures. */
static bool test_channel(struct admin_ctx *ctx, const struct alert_channels *ch,
			 unsigned channel, const struct alert_msg *m, struct admin_reply *r,
			 char *failures, size_t flen)
{
	static const atomic_bool never = false;
	char target[800], why[400];
	size_t used = strlen(failures);
	int rc;

	alert_channel_target(ch, channel, target, sizeof(target));
	rc = alert_send(ch, channel, m, &never, why, sizeof(why));
	log_result(ctx, channel, rc ? why : NULL);
	admin_reply_record(r);
	admin_reply_str(r, "channel", alert_channel_name(channel));
	admin_reply_str(r, "target", target);
	admin_reply_str(r, "result", rc ? "failed" : "sent");
	admin_reply_bool(r, "ok", rc == 0);
	admin_reply_str(r, "error", rc ? why : "");
	if (rc && used < flen)
		snprintf(failures + used, flen - used, "%s%s to %s: %s", used ? "; " : "",
			 alert_channel_name(channel), target, why);
	return rc == 0;
}

int cmd_alert_test(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct alert_channels ch;
	struct alert_msg m;
	char failures[2048] = "";
	unsigned sent = 0, tried = 0;

	(void)cmd;
	(void)a;
	alert_channels_init(&ch, ctx->conf);
	if (!ch.enabled) {
		alert_channels_wipe(&ch);
		return admin_reply_error(r, ADMIN_FAILED,
					 "no alert channel is configured: set smtp_url, mail_from "
					 "and mail_to, or webhook_url, in [alerts] of %s",
					 ctx->conf_path ? ctx->conf_path : ctx->conf->path);
	}
	if (alert_send_global_init() != 0) {
		alert_channels_wipe(&ch);
		return admin_reply_error(r, ADMIN_FAILED, "cannot initialise libcurl");
	}
	test_message(&m, ctx->conf);
	admin_reply_table(r, alert_columns, sizeof(alert_columns) / sizeof(alert_columns[0]));
	for (unsigned c = ALERT_CH_EMAIL; c <= ALERT_CH_WEBHOOK; c <<= 1) {
		if (!(ch.enabled & c))
			continue;
		tried++;
		sent += test_channel(ctx, &ch, c, &m, r, failures, sizeof(failures));
	}
	alert_send_global_cleanup();
	alert_channels_wipe(&ch);
	if (sent < tried)
		return admin_reply_error(r, ADMIN_FAILED, "%u of %u channels failed: %s",
					 tried - sent, tried, failures);
	return ADMIN_OK;
}
