/* check-config, serve and version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "admin/admin.h"
#include "core/clock.h"
#include "core/conf.h"
#include "core/log.h"
#include "sip/server.h"
#include "store/store.h"

/* Turn text into one note per line, so renderers never see a newline
 * inside a note. */
static void notes_from_text(struct admin_reply *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		admin_reply_note(r, "%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

int cmd_check_config(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		     const struct admin_args *a, struct admin_reply *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	/* The CLI loaded (and so validated) the file before calling us: a
	 * bad one never gets here. */
	if (!mem)
		return admin_reply_error(r, ADMIN_FAILED, "out of memory");
	conf_print(ctx->conf, mem);
	fclose(mem);
	notes_from_text(r, buf, len);
	free(buf);
	return ADMIN_OK;
}

/* Read the test-only clock offset once, before any thread starts. Its
 * warning is written whatever log_level says: a daemon running on a moved
 * clock must never go unnoticed. */
static int start_fraud_clock(struct admin_reply *r)
{
	const char *why = NULL;

	if (rf_clock_init(&why) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	if (rf_clock_offset_set())
		log_write(LOG_LVL_WARN,
			  "%s=%lld: the fraud clock runs %lld seconds from real time;"
			  " this is for tests only, never set it in production",
			  RF_CLOCK_OFFSET_ENV, (long long)rf_clock_offset(),
			  (long long)rf_clock_offset());
	return ADMIN_OK;
}

int cmd_serve(const struct admin_cmd *cmd, struct admin_ctx *ctx,
	      const struct admin_args *a, struct admin_reply *r)
{
	int status = start_fraud_clock(r);

	if (status != ADMIN_OK)
		return status;
	status = server_run(ctx->conf);

	/* server_run printed its own reason; add nothing to it. */
	if (status != 0)
		admin_reply_error(r, ADMIN_FAILED, "%s", "");
	return status;
}

int cmd_version(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		const struct admin_args *a, struct admin_reply *r)
{
	admin_reply_note(r, "ringfence %s", RF_VERSION);
	admin_reply_note(r, "  %s", OpenSSL_version(OPENSSL_VERSION));
	admin_reply_note(r, "  SQLite %s", store_library_version());
	admin_reply_note(r, "  libevent %s", event_get_version());
	return ADMIN_OK;
}
