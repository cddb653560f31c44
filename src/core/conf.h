/* Configuration: an INI file read with inih and checked against one
 * declarative table (conf.c: conf_table[]) holding each key's section,
 * type, bounds, default, whether a reload can change it and whether it is a
 * secret. Unknown sections or keys and bad values are fatal, reported as
 * "FILE:LINE: ..." naming the key. Every key is documented in
 * docs/config.md. */
#ifndef RF_CORE_CONF_H
#define RF_CORE_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "guard/acl.h"

#define CONF_MAX_LISTEN 8
#define CONF_MAX_LAN 32
#define CONF_PATH_MAX 512
#define CONF_MAX_PERCENTS 3 /* [credit] alert_thresholds */

struct rf_conf {
	char path[CONF_PATH_MAX]; /* the file read */
	char dir[CONF_PATH_MAX];  /* its directory: relative paths resolve here */

	/* [general] */
	char user[64];            /* unprivileged account to run as when started as root */
	char log_level[16];

	/* [sip] */
	char listen[CONF_MAX_LISTEN][64]; /* addresses, IPv4 or IPv6 */
	unsigned nlisten;
	unsigned port;            /* UDP and TCP */
	unsigned tls_port;        /* 0 disables TLS */
	bool udp, tcp, tls;       /* from `transports = udp,tcp,tls` */
	char realm[128];          /* digest realm and the domain we serve */
	char tls_cert[CONF_PATH_MAX]; /* absolute after loading */
	char tls_key[CONF_PATH_MAX];
	char user_agent[128];     /* empty: send no Server/User-Agent (S6) */

	/* [registrar] */
	unsigned min_expires, max_expires, default_expires;
	unsigned max_contacts;
	unsigned nonce_lifetime;
	/* Digest algorithms offered in a challenge, in this order (values of
	 * enum digest_alg). Clients that cannot skip a challenge they do not
	 * understand need an MD5-only offer. */
	unsigned digest_algs[2];
	unsigned ndigest_algs;

	/* [security] */
	struct acl_cidr lan[CONF_MAX_LAN]; /* extra LAN/VPN ranges */
	unsigned nlan;
	char secret_file[CONF_PATH_MAX];
	char new_network_registration[8]; /* alert, deny or allow (S9) */

	/* [log] */
	char security_log[CONF_PATH_MAX]; /* empty: none */
	bool syslog;

	/* [store] */
	char database[CONF_PATH_MAX];

	/* [media] */
	unsigned rtp_port_min, rtp_port_max; /* even..odd: two ports per leg */
	unsigned no_media_timeout;           /* seconds; 0 disables */
	char media_address[64];              /* relay address put in SDP; empty: first listen address */

	/* [calls] */
	unsigned max_calls_per_ext;          /* both directions counted */
	unsigned max_calls;                  /* system-wide */
	unsigned max_cps;                    /* new calls per second, system-wide */
	unsigned max_duration;               /* seconds */
	unsigned ring_timeout;               /* seconds without an answer */

	/* [guard] (guard/ban.h says what each does) */
	bool guard;
	unsigned ban_failures, ban_window, ban_time, ban_time_max;
	unsigned scan_extensions, nat_accounts;
	unsigned lock_failures, lock_sources, lock_window, lock_time;
	char scanner_agents[512];           /* extra scanner User-Agent prefixes */
	/* [guard] flood protection (guard/flood.h) */
	unsigned flood_rate, flood_burst, flood_rate_registered, flood_burst_registered;
	unsigned flood_time, glitch_max, glitch_window;
	unsigned guard_max_tracked; /* entries per counter table: bounds the guard's memory */
	unsigned connections_per_source;
	struct acl_cidr guard_whitelist[CONF_MAX_LAN];
	unsigned nguard_whitelist;

	/* [firewall] */
	char nft_set[64];         /* "inet TABLE SET" bans are mirrored into; empty: off */

	/* [alerts] (guard/alert.h; checked by alert_conf_check) */
	char smtp_url[256];          /* smtps://host[:port] or smtp://host[:port]; empty: no email */
	char smtp_user[128];
	char smtp_password[128];     /* sensitive */
	char mail_from[128];
	char mail_to[512];           /* comma-separated addresses */
	char webhook_url[512];       /* https://...; sensitive: such URLs often hold a token */
	char alert_ca_file[CONF_PATH_MAX]; /* empty: the system's CAs */
	unsigned alert_rate_limit;   /* alerts per kind per window */
	unsigned alert_rate_window;  /* seconds */

	/* [numbering] (fraud/numplan.h) */
	char numbering_country[3];

	/* [inbound] (sip/call_in.c): calls arriving over trunks */
	bool inbound_reject_anonymous;
	unsigned inbound_caller_cpm;        /* per caller number; 0 is off */

	/* [credit] (fraud/credit.h). Money is micro-units of `currency`. */
	char currency[4];
	int64_t credit_daily_cap, credit_monthly_cap;         /* system-wide; 0 = none */
	int64_t credit_ext_daily_cap, credit_ext_monthly_cap; /* an extension without its own */
	int64_t credit_trunk_daily_cap, credit_trunk_monthly_cap; /* a trunk without its own */
	struct conf_percents {
		unsigned pct[CONF_MAX_PERCENTS]; /* ascending, 1..100 */
		unsigned n;
	} credit_thresholds;
	bool credit_refuse_unrated;  /* outbound calls no rate matches are refused */

	/* [fraud] (fraud/pattern.h): warning and critical levels, 0 is off */
	unsigned fraud_cpm_warn, fraud_cpm_crit;                 /* calls per minute */
	unsigned fraud_concurrent_warn, fraud_concurrent_crit;
	unsigned fraud_prefix_warn, fraud_prefix_crit;           /* same-prefix runs */
	unsigned fraud_prefix_digits;                            /* after the country code */
	unsigned fraud_duration_warn, fraud_duration_crit;       /* minutes */
	unsigned fraud_trunk_cpm_warn, fraud_trunk_cpm_crit;
	unsigned fraud_trunk_concurrent_warn, fraud_trunk_concurrent_crit;
	unsigned fraud_trunk_prefix_warn, fraud_trunk_prefix_crit;
	bool fraud_baseline;                                     /* the learned rules */
	unsigned fraud_half_life_days, fraud_min_history_days;
	unsigned fraud_rate_warn, fraud_rate_crit;               /* times the normal hourly rate */
	bool fraud_suspend_on_critical;

	/* [trunks] (pbx/dns.h, pbx/trunk_reg.h) */
	char trunk_dns_servers[256]; /* empty: the system's resolv.conf */
	char trunk_ca_file[CONF_PATH_MAX]; /* empty: the system's CAs */
	char trunk_client_cert[CONF_PATH_MAX]; /* mutual TLS; empty: none */
	char trunk_client_key[CONF_PATH_MAX];
};

/* Fill c with every default (paths relative to dir). */
void conf_defaults(struct rf_conf *c, const char *dir);

/* Load and validate a file. On error returns EINVAL (or errno from
 * opening it) and writes "FILE:LINE: message" into err. */
int conf_load(struct rf_conf *c, const char *path, char *err, size_t errlen);

/* Copy every key the table marks reloadable from src into dst (a SIGHUP
 * reload); the others keep dst's values until a restart. */
void conf_apply_reloadable(struct rf_conf *dst, const struct rf_conf *src);

/* Copy the key `name` of `section` (every key of it when name is NULL)
 * from src into dst: a reload puts back the running values of settings
 * their subsystem refused. */
void conf_keep(struct rf_conf *dst, const struct rf_conf *src, const char *section,
	       const char *name);

/* Call fn (when not NULL) for every key of `section` (of every section
 * when NULL) whose value differs between a and b, in the order of
 * docs/config.md, with whether a reload may change it. Values are
 * compared, never passed on, so secrets stay in the two structs. Returns
 * the number of such keys. */
typedef void (*conf_diff_fn)(void *arg, const char *section, const char *name,
			     bool reloadable);
unsigned conf_diff(const struct rf_conf *a, const struct rf_conf *b, const char *section,
		   conf_diff_fn fn, void *arg);

/* Print the effective configuration as INI, secrets redacted. */
void conf_print(const struct rf_conf *c, FILE *out);

/* Write a new config file for `ringfence init` (mode 0640, O_EXCL).
 * Keys that equal their defaults are written commented out so the file
 * documents itself. Returns 0 or errno. */
int conf_write_initial(const char *path, const char *listen, unsigned port,
		       const char *realm);

#endif
