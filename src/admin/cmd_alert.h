/* alert test: one test alert through each configured channel (S18). */
#ifndef RF_ADMIN_CMD_ALERT_H
#define RF_ADMIN_CMD_ALERT_H

#include "admin/admin.h"

int cmd_alert_test(const struct admin_cmd *, struct admin_ctx *, const struct admin_args *, struct admin_reply *);

#endif
