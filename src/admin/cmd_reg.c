/* reg list: the live registrations, read from the contacts table that the
 * daemon writes through to. */
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/util.h"
#include "store/store.h"

static const struct admin_column reg_columns[] = {
	{ "ext", "EXTENSION" },
	{ "contact", "CONTACT" },
	{ "source", "SOURCE" },
	{ "transport", "TRANSPORT" },
	{ "user_agent", "USER-AGENT" },
	{ "expires_in", "EXPIRES-IN" },
};

struct reg_walk {
	struct admin_reply *r;
	int64_t now;
};

static int reg_one(const struct loc_record *l, void *arg)
{
	struct reg_walk *w = arg;
	char t[32];

	admin_reply_record(w->r);
	admin_reply_str(w->r, "ext", l->ext);
	admin_reply_str(w->r, "contact", l->contact);
	admin_reply_str(w->r, "source", l->source);
	admin_reply_str(w->r, "transport", l->transport);
	admin_reply_str(w->r, "user_agent", l->user_agent);
	admin_reply_int(w->r, "expires_in", l->expires_at - w->now);
	admin_reply_str(w->r, "registered", admin_iso_time(l->registered_at, t, sizeof(t)));
	return 0;
}

int cmd_reg_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		 const struct admin_args *a, struct admin_reply *r)
{
	struct reg_walk w = { r, (int64_t)time(NULL) };
	int err;

	admin_reply_table(r, reg_columns, sizeof(reg_columns) / sizeof(reg_columns[0]));
	err = store_loc_foreach(ctx->store, w.now, reg_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot list registrations: %s",
					 strerror(err));
	return ADMIN_OK;
}
