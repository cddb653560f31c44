/* The channels of alerts, through libcurl: email over SMTPS or SMTP with
 * STARTTLS (required unless the server is on this machine), and a JSON
 * POST over HTTPS. Certificates are always verified, against ca_file
 * when one is set. A send blocks for at most ALERT_SEND_TIMEOUT_S: it
 * runs on the alerter's worker thread or in `ringfence alert test`,
 * never on the signalling thread. */
#ifndef RF_GUARD_ALERT_SEND_H
#define RF_GUARD_ALERT_SEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/conf.h"
#include "guard/alert_text.h"

#define ALERT_CONNECT_TIMEOUT_S 10
#define ALERT_SEND_TIMEOUT_S 30

/* The worker's own copy of the settings, so a reload never changes them
 * under a send in progress. */
struct alert_channels {
	unsigned enabled;  /* ALERT_CH_* */
	char smtp_url[sizeof(((struct rf_conf *)0)->smtp_url)];
	char smtp_user[sizeof(((struct rf_conf *)0)->smtp_user)];
	char smtp_password[sizeof(((struct rf_conf *)0)->smtp_password)];
	char mail_from[sizeof(((struct rf_conf *)0)->mail_from)];
	char mail_to[sizeof(((struct rf_conf *)0)->mail_to)];
	char webhook_url[sizeof(((struct rf_conf *)0)->webhook_url)];
	char ca_file[CONF_PATH_MAX];
	char host[256];
	char realm[sizeof(((struct rf_conf *)0)->realm)];
};

void alert_channels_init(struct alert_channels *ch, const struct rf_conf *c);
/* Overwrite the password before the memory is given back. */
void alert_channels_wipe(struct alert_channels *ch);

/* "email" or "webhook". */
const char *alert_channel_name(unsigned channel);
/* Where the channel sends to, without credentials or a webhook's token:
 * "a@example.org via smtps://mail.example.org:465". */
void alert_channel_target(const struct alert_channels *ch, unsigned channel, char *out,
			  size_t outlen);

/* Send m through one channel (ALERT_CH_EMAIL or ALERT_CH_WEBHOOK).
 * Returns 0, or an errno-like value with the precise reason in err:
 * "connection refused: ...", "TLS failure: ...", "authentication
 * failed: ...", "HTTP status 500", ... A set *abort ends a transfer in
 * progress (ECANCELED). */
int alert_send(const struct alert_channels *ch, unsigned channel, const struct alert_msg *m,
	       const atomic_bool *abort, char *err, size_t errlen);

/* Once per process before any send, and its counterpart. */
int alert_send_global_init(void);
void alert_send_global_cleanup(void);

#endif
