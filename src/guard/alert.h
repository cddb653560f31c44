/* Alerts to the administrator (S18): email over SMTP (SMTPS or STARTTLS)
 * and a JSON webhook over HTTPS, configured in [alerts]
 * (docs/alerts.md).
 *
 * alert_raise() is called on the signalling thread and never waits on the
 * network or the disk: it applies the rate limit of the alert's kind and
 * hands the alert to the alerter's worker thread. The worker writes each
 * alert to the store's alert queue before it sends it, retries with an
 * exponential backoff, and deletes the row only once every channel took
 * it, so an alert survives a failed server and a restart. Every step is a
 * security event (alert_raised, alert_sent, alert_failed). */
#ifndef RF_GUARD_ALERT_H
#define RF_GUARD_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rf_conf;
struct alerter;

enum alert_kind {
	ALERT_BAN_ADDED = 0,
	ALERT_ACCOUNT_LOCKED,
	ALERT_NEW_NETWORK,      /* registration from a new network (S9) */
	ALERT_FLOOD,            /* flood detected (S5) */
	ALERT_CONFIG_CHANGED,
	ALERT_EMERGENCY,        /* an emergency number was dialled (S11) */
	ALERT_CALL_BARRED,      /* a call refused by barring or a blacklist (S11, S12) */
	ALERT_FRAUD,            /* a calling-pattern anomaly (S14) */
	ALERT_CREDIT,           /* a spending cap's threshold reached (S13) */
	ALERT_TEST,
	ALERT_SUMMARY,          /* alerts folded by the rate limit */
	ALERT__COUNT
};

/* "ban_added", "account_locked", "new_network", "flood", "config_changed",
 * "test", "summary"; NULL outside the enum. */
const char *alert_kind_name(enum alert_kind kind);
/* Parse one of those names. Returns 0 or EINVAL. */
int alert_kind_parse(const char *name, enum alert_kind *out);

/* Longest subject and text kept; longer ones are cut. */
#define ALERT_SUBJECT_MAX 200
#define ALERT_TEXT_MAX 2000

/* Channels: bit per channel in a queued alert's `pending` mask. */
#define ALERT_CH_EMAIL 1u
#define ALERT_CH_WEBHOOK 2u

/* The channels a configuration enables (0 when none). */
unsigned alert_channels(const struct rf_conf *conf);

/* Open the alerter's own connection to the database at db_path, which this
 * process has open already. Alerts queued before (a restart) are due at
 * once. Alerts raised before alerter_start() wait for it. Returns 0 or
 * errno. */
int alerter_alloc(struct alerter **ap, const struct rf_conf *conf, const char *db_path);
/* Start the worker thread: the daemon calls it once privileges are
 * dropped, so nothing is ever sent as root. Returns 0 or errno. */
int alerter_start(struct alerter *a);
/* Stop the worker: alerts not yet written are written, a send in progress
 * is abandoned (its row stays queued for the next start). */
void alerter_free(struct alerter *a);

/* New [alerts] settings (a reload), checked against what the loader
 * cannot check (the CA file readable by this process). On success the
 * rate limit changes at once and the worker takes the channels between
 * two sends: a send in progress ends with the settings it began with,
 * and alerts raised or queued before go out with the new ones, each once.
 * Returns 0, or an errno value with the reason in why and the current
 * settings kept. */
int alerter_reconfigure(struct alerter *a, const struct rf_conf *conf, char *why,
			size_t whylen);

/* Raise an alert. subject and text may hold untrusted bytes (extension
 * names typed by an attacker): they are sanitised here. Safe with a NULL
 * alerter (it does nothing). */
void alert_raise(struct alerter *a, enum alert_kind kind, const char *subject, const char *text);

/* Alerts dropped because the handoff to the worker was full. */
uint64_t alerter_dropped(const struct alerter *a);

#endif
