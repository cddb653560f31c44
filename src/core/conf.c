/* Configuration: one declarative table, read through inih.
 *
 * Every setting lives in conf_table[] with its type, bounds and default, so
 * the parser, the defaults, `check-config` output and `init`'s starter file
 * all come from the same place and cannot disagree. Defaults are stored as
 * text and go through the same parser as the file, so a bad default fails
 * the unit tests instead of shipping. */
#include "core/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "fraud/rating.h"
#include "guard/alert_conf.h"
#include "guard/nft.h"
#include "sip/digest.h"

/* Longest line we accept. inih's own buffer is fixed when the library is
 * built (200 bytes in Debian), too short for a full [security] lan list, so
 * longer lines reach inih with their value replaced by LONG_VALUE_MARK and
 * the handler takes the value from here instead. */
#define CONF_LINE_MAX 2048
#define LONG_VALUE_MARK "\x01"

enum conf_type {
	CT_STRING,     /* printable text; min/max bound the length */
	CT_PATH,       /* file name, resolved against the config's directory */
	CT_UINT,       /* decimal, min..max */
	CT_BOOL,       /* true/false, yes/no, on/off, 1/0 */
	CT_ADDRS,      /* comma list of IP literals; min/max bound the count */
	CT_CIDRS,      /* comma list of CIDRs; min/max bound the count */
	CT_TRANSPORTS, /* non-empty subset of udp,tcp,tls */
	CT_LOGLEVEL,   /* error|warn|info|debug */
	CT_DIGEST_ALGS, /* ordered, non-empty subset of sha256,md5 */
	CT_NEWNET,     /* alert|deny|allow */
	CT_MONEY,      /* a decimal amount of [credit] currency, exact to the micro-unit */
	CT_PERCENTS,   /* ascending list of whole percentages 1..100; min/max bound the count */
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	unsigned long min, max;
	const char *def;  /* text form; "" for an empty default */
	bool reloadable;  /* a reload may change it without a restart */
	bool sensitive;   /* never printed: conf_print shows <redacted> */
	size_t offset;    /* of the field in struct rf_conf */
	size_t size;      /* of that field (strings and paths) */
	const char *help; /* one line, used in the starter file */
};

#define FIELD(f) offsetof(struct rf_conf, f), sizeof(((struct rf_conf *)0)->f)

static const struct conf_key conf_table[] = {
	{ "general", "user", CT_STRING, 1, 63, "ringfence", false, false, FIELD(user),
	  "unprivileged account the daemon switches to when started as root" },
	{ "general", "log_level", CT_LOGLEVEL, 0, 0, "info", true, false, FIELD(log_level),
	  "operational log detail: error, warn, info or debug" },

	{ "sip", "listen", CT_ADDRS, 1, CONF_MAX_LISTEN, "127.0.0.1", false, false, FIELD(listen),
	  "comma-separated IPv4/IPv6 addresses to listen on" },
	{ "sip", "port", CT_UINT, 1, 65535, "5060", false, false, FIELD(port),
	  "UDP and TCP port" },
	{ "sip", "tls_port", CT_UINT, 0, 65535, "5061", false, false, FIELD(tls_port),
	  "TLS port; 0 disables TLS" },
	{ "sip", "transports", CT_TRANSPORTS, 1, 3, "udp,tcp,tls", false, false, FIELD(udp),
	  "enabled transports, a comma-separated subset of udp,tcp,tls" },
	{ "sip", "realm", CT_STRING, 0, 127, "", false, false, FIELD(realm),
	  "digest realm and served domain; empty means the first listen address" },
	{ "sip", "tls_cert", CT_PATH, 1, CONF_PATH_MAX - 1, "tls/cert.pem", false, false, FIELD(tls_cert),
	  "TLS certificate chain (PEM)" },
	{ "sip", "tls_key", CT_PATH, 1, CONF_PATH_MAX - 1, "tls/key.pem", false, false, FIELD(tls_key),
	  "TLS private key (PEM); keep it mode 0600" },
	{ "sip", "user_agent", CT_STRING, 0, 127, "", false, false, FIELD(user_agent),
	  "Server/User-Agent header value; empty sends none, so the product is not fingerprinted" },

	{ "registrar", "min_expires", CT_UINT, 1, 86400, "60", true, false, FIELD(min_expires),
	  "shortest registration accepted (s); shorter requests get 423 with Min-Expires" },
	{ "registrar", "max_expires", CT_UINT, 60, 604800, "3600", true, false, FIELD(max_expires),
	  "longest registration granted (s); longer requests are shortened" },
	{ "registrar", "default_expires", CT_UINT, 1, 604800, "3600", true, false, FIELD(default_expires),
	  "registration time (s) when the phone asks for none" },
	{ "registrar", "max_contacts", CT_UINT, 1, RF_MAX_CONTACTS_PER_EXT, "3", true, false, FIELD(max_contacts),
	  "registered contacts per extension" },
	{ "registrar", "nonce_lifetime", CT_UINT, 30, 3600, "300", true, false, FIELD(nonce_lifetime),
	  "seconds a digest nonce stays valid before stale=true" },
	{ "registrar", "digest_algorithms", CT_DIGEST_ALGS, 1, 2, "sha256,md5", true, false, FIELD(digest_algs),
	  "digest algorithms offered, in order: sha256,md5; md5 alone for phones that reject a challenge they do not know" },

	{ "security", "lan", CT_CIDRS, 0, CONF_MAX_LAN, "", true, false, FIELD(lan),
	  "extra CIDRs treated as LAN, besides RFC 1918, loopback and ULA" },
	{ "security", "new_network_registration", CT_NEWNET, 0, 0, "alert", true, false,
	  FIELD(new_network_registration),
	  "a registered extension registering from another network: alert, deny or allow" },
	{ "security", "secret_file", CT_PATH, 1, CONF_PATH_MAX - 1, "secret.key", false, false, FIELD(secret_file),
	  "per-install secret for nonces; created at init, keep it mode 0600" },

	{ "log", "security_log", CT_PATH, 0, CONF_PATH_MAX - 1, "security.log", false, false, FIELD(security_log),
	  "security event log (docs/security-events.md); empty disables the file" },
	{ "log", "syslog", CT_BOOL, 0, 0, "false", false, false, FIELD(syslog),
	  "also send logs to syslog (daemon and auth facilities)" },

	{ "store", "database", CT_PATH, 1, CONF_PATH_MAX - 1, "ringfence.db", false, false, FIELD(database),
	  "SQLite database: extensions and registrations" },

	{ "media", "rtp_port_min", CT_UINT, 1024, 65534, "20000", false, false, FIELD(rtp_port_min),
	  "lowest relay port (even); each call leg takes an RTP/RTCP pair" },
	{ "media", "rtp_port_max", CT_UINT, 1025, 65535, "20999", false, false, FIELD(rtp_port_max),
	  "highest relay port; the range bounds concurrent calls (4 ports per call)" },
	{ "media", "no_media_timeout", CT_UINT, 0, 3600, "60", true, false, FIELD(no_media_timeout),
	  "seconds without RTP in either direction before the call is ended; 0 disables" },
	{ "media", "media_address", CT_STRING, 0, 63, "", false, false, FIELD(media_address),
	  "relay address written into SDP; empty means the first [sip] listen address" },

	{ "calls", "max_calls_per_ext", CT_UINT, 1, 100, "2", true, false, FIELD(max_calls_per_ext),
	  "concurrent calls per extension, both directions counted" },
	{ "calls", "max_calls", CT_UINT, 1, 100000, "200", true, false, FIELD(max_calls),
	  "concurrent calls in the whole system" },
	{ "calls", "max_cps", CT_UINT, 1, 100000, "20", true, false, FIELD(max_cps),
	  "new calls per second in the whole system" },
	{ "calls", "max_duration", CT_UINT, 10, 86400, "14400", true, false, FIELD(max_duration),
	  "longest call in seconds; both legs get BYE when it is reached" },
	{ "calls", "ring_timeout", CT_UINT, 5, 600, "60", true, false, FIELD(ring_timeout),
	  "seconds a call may ring before the caller gets 480" },

	{ "guard", "enabled", CT_BOOL, 0, 0, "true", true, false, FIELD(guard),
	  "ban engine and account locks; turn off only to debug a lab" },
	{ "guard", "ban_failures", CT_UINT, 1, 1000, "5", true, false, FIELD(ban_failures),
	  "authentication failures from one address that ban it" },
	{ "guard", "ban_window", CT_UINT, 10, 86400, "600", true, false, FIELD(ban_window),
	  "seconds in which those failures are counted" },
	{ "guard", "ban_time", CT_UINT, 10, 604800, "900", true, false, FIELD(ban_time),
	  "seconds a first ban lasts; each repeat doubles it" },
	{ "guard", "ban_time_max", CT_UINT, 10, 2592000, "86400", true, false, FIELD(ban_time_max),
	  "longest ban in seconds; an address is forgiven this long after its last ban ended" },
	{ "guard", "scan_extensions", CT_UINT, 2, 32, "20", true, false, FIELD(scan_extensions),
	  "different extensions an address may be challenged for without authenticating before it is banned as a scanner" },
	{ "guard", "nat_accounts", CT_UINT, 2, 32, "5", true, false, FIELD(nat_accounts),
	  "an address with registered phones is banned whole only when it fails for this many extensions" },
	{ "guard", "lock_failures", CT_UINT, 2, 100000, "20", true, false, FIELD(lock_failures),
	  "failures for one extension (from at least lock_sources addresses) that lock it" },
	{ "guard", "lock_sources", CT_UINT, 1, 16, "3", true, false, FIELD(lock_sources),
	  "different addresses those failures must come from: one address alone is banned, not the extension locked" },
	{ "guard", "lock_window", CT_UINT, 60, 86400, "3600", true, false, FIELD(lock_window),
	  "seconds in which those failures are counted" },
	{ "guard", "lock_time", CT_UINT, 60, 604800, "3600", true, false, FIELD(lock_time),
	  "seconds an extension stays locked (ringfence ext unlock lifts it sooner)" },
	{ "guard", "scanner_agents", CT_STRING, 0, 511, "", true, false, FIELD(scanner_agents),
	  "extra User-Agent prefixes of scanners, comma-separated, dropped and banned like the built-in list" },
	{ "guard", "flood_rate", CT_UINT, 1, 1000000, "100", true, false, FIELD(flood_rate),
	  "packets per second one address without a registration may send; more are dropped before parsing" },
	{ "guard", "flood_burst", CT_UINT, 1, 1000000, "400", true, false, FIELD(flood_burst),
	  "packets such an address may send at once above that rate" },
	{ "guard", "flood_rate_registered", CT_UINT, 1, 1000000, "2000", true, false, FIELD(flood_rate_registered),
	  "packets per second an address with an authenticated registration may send" },
	{ "guard", "flood_burst_registered", CT_UINT, 1, 1000000, "10000", true, false, FIELD(flood_burst_registered),
	  "packets such an address may send at once above that rate" },
	{ "guard", "flood_time", CT_UINT, 1, 3600, "5", true, false, FIELD(flood_time),
	  "seconds an address may stay over its budget before it is banned for flooding" },
	{ "guard", "glitch_max", CT_UINT, 1, 100000, "50", true, false, FIELD(glitch_max),
	  "malformed messages from one address that ban it" },
	{ "guard", "glitch_window", CT_UINT, 1, 86400, "60", true, false, FIELD(glitch_window),
	  "seconds in which those malformed messages are counted" },
	{ "guard", "max_tracked", CT_UINT, 256, 16777216, "65536", true, false, FIELD(guard_max_tracked),
	  "addresses the guard keeps packet budgets and failure counters for; when full, the least recently seen is forgotten" },
	{ "guard", "connections_per_source", CT_UINT, 1, 10000, "10", true, false, FIELD(connections_per_source),
	  "TCP and TLS connections one address may hold open; more are closed at once" },
	{ "guard", "whitelist", CT_CIDRS, 0, CONF_MAX_LAN, "", true, false, FIELD(guard_whitelist),
	  "CIDRs never banned or blocked (a monitoring host, a trusted office)" },

	{ "firewall", "nft_set", CT_STRING, 0, 63, "", false, false, FIELD(nft_set),
	  "nftables set bans are mirrored into, as 'inet TABLE SET' (IPv6 in SET6); empty is off" },

	{ "alerts", "smtp_url", CT_STRING, 0, 255, "", true, false, FIELD(smtp_url),
	  "mail server for alerts: smtps://host:465, or smtp://host:587 with STARTTLS required; empty sends no email" },
	{ "alerts", "smtp_user", CT_STRING, 0, 127, "", true, false, FIELD(smtp_user),
	  "SMTP login name; empty logs in as nobody" },
	{ "alerts", "smtp_password", CT_STRING, 0, 127, "", true, true, FIELD(smtp_password),
	  "SMTP password; never printed, keep this file mode 0640" },
	{ "alerts", "mail_from", CT_STRING, 0, 127, "", true, false, FIELD(mail_from),
	  "sender address of alert emails" },
	{ "alerts", "mail_to", CT_STRING, 0, 511, "", true, false, FIELD(mail_to),
	  "comma-separated recipients of alert emails" },
	{ "alerts", "webhook_url", CT_STRING, 0, 511, "", true, true, FIELD(webhook_url),
	  "https:// URL that receives each alert as a JSON POST; empty sends none; never printed" },
	{ "alerts", "ca_file", CT_PATH, 0, CONF_PATH_MAX - 1, "", true, false, FIELD(alert_ca_file),
	  "CA certificates (PEM) that the mail server and webhook are verified against; empty means the system's" },
	{ "alerts", "rate_limit", CT_UINT, 1, 1000, "5", true, false, FIELD(alert_rate_limit),
	  "alerts of one kind sent per window; further ones are folded into one summary" },
	{ "alerts", "rate_window", CT_UINT, 10, 86400, "600", true, false, FIELD(alert_rate_window),
	  "seconds of the rate limit's window; the summary is sent when it ends" },

	{ "numbering", "country", CT_STRING, 2, 2, "GB", false, false, FIELD(numbering_country),
	  "numbering plan dialled numbers are read in (ISO 3166 code); GB is the one that ships" },

	{ "inbound", "reject_anonymous", CT_BOOL, 0, 0, "false", true, false,
	  FIELD(inbound_reject_anonymous),
	  "calls from a trunk whose caller withholds their number get 433 Anonymity Disallowed" },
	{ "inbound", "calls_per_caller_per_minute", CT_UINT, 0, 10000, "10", true, false,
	  FIELD(inbound_caller_cpm),
	  "calls one caller number may make to us over the trunks in a minute, against SPIT; 0 is off" },

	{ "credit", "currency", CT_STRING, 3, 3, "GBP", false, false, FIELD(currency),
	  "currency of rates and caps (ISO 4217); rate tables in another currency are refused" },
	/* Defaults for a small office: docs/fraud.md says why these. */
	{ "credit", "daily_cap", CT_MONEY, 0, 0, "100", true, false, FIELD(credit_daily_cap),
	  "most all chargeable calls together may cost in a day, in currency; 0: no cap (not advised)" },
	{ "credit", "monthly_cap", CT_MONEY, 0, 0, "1000", true, false, FIELD(credit_monthly_cap),
	  "most all chargeable calls together may cost in a calendar month; 0: no cap" },
	{ "credit", "ext_daily_cap", CT_MONEY, 0, 0, "20", true, false, FIELD(credit_ext_daily_cap),
	  "most one extension's calls may cost in a day, unless it has a cap of its own; 0: no cap" },
	{ "credit", "ext_monthly_cap", CT_MONEY, 0, 0, "200", true, false, FIELD(credit_ext_monthly_cap),
	  "most one extension's calls may cost in a month, unless it has a cap of its own; 0: no cap" },
	{ "credit", "trunk_daily_cap", CT_MONEY, 0, 0, "0", true, false, FIELD(credit_trunk_daily_cap),
	  "most the calls over one trunk may cost in a day, unless it has a cap of its own; 0: no cap" },
	{ "credit", "trunk_monthly_cap", CT_MONEY, 0, 0, "0", true, false, FIELD(credit_trunk_monthly_cap),
	  "most the calls over one trunk may cost in a month, unless it has a cap of its own; 0: no cap" },
	{ "credit", "alert_thresholds", CT_PERCENTS, 1, CONF_MAX_PERCENTS, "50,80,100", true, false,
	  FIELD(credit_thresholds),
	  "percentages of each cap at which an alert is sent, once a period: 1 to 3 ascending, at most 100" },
	{ "credit", "refuse_unrated", CT_BOOL, 0, 0, "false", true, false,
	  FIELD(credit_refuse_unrated),
	  "outbound calls to a number no rate matches get 403 instead of passing uncharged" },

	{ "fraud", "calls_per_minute_warn", CT_UINT, 0, 1000, "10", true, false, FIELD(fraud_cpm_warn),
	  "outbound calls one extension starts in a minute that raise a warning; 0 is off" },
	{ "fraud", "calls_per_minute_crit", CT_UINT, 0, 1000, "20", true, false, FIELD(fraud_cpm_crit),
	  "outbound calls one extension starts in a minute that are critical (suspend it); 0 is off" },
	{ "fraud", "concurrent_warn", CT_UINT, 0, 1000, "3", true, false, FIELD(fraud_concurrent_warn),
	  "outbound calls of one extension at once that raise a warning; 0 is off" },
	{ "fraud", "concurrent_crit", CT_UINT, 0, 1000, "5", true, false, FIELD(fraud_concurrent_crit),
	  "outbound calls of one extension at once that are critical; 0 is off" },
	{ "fraud", "same_prefix_warn", CT_UINT, 0, 1000, "8", true, false, FIELD(fraud_prefix_warn),
	  "calls in a row from one extension to different numbers sharing a prefix that raise a warning; 0 is off" },
	{ "fraud", "same_prefix_crit", CT_UINT, 0, 1000, "15", true, false, FIELD(fraud_prefix_crit),
	  "such calls in a row that are critical (a number-range sweep); 0 is off" },
	{ "fraud", "same_prefix_digits", CT_UINT, 1, 12, "6", true, false, FIELD(fraud_prefix_digits),
	  "digits after the country code that make the shared prefix" },
	{ "fraud", "duration_warn", CT_UINT, 0, 1440, "120", true, false, FIELD(fraud_duration_warn),
	  "minutes an answered outbound call may run before a warning; 0 is off" },
	{ "fraud", "duration_crit", CT_UINT, 0, 1440, "180", true, false, FIELD(fraud_duration_crit),
	  "minutes an answered outbound call may run before it is critical; 0 is off" },
	{ "fraud", "trunk_calls_per_minute_warn", CT_UINT, 0, 100000, "30", true, false,
	  FIELD(fraud_trunk_cpm_warn),
	  "outbound calls started over one trunk in a minute that raise a warning; 0 is off" },
	{ "fraud", "trunk_calls_per_minute_crit", CT_UINT, 0, 100000, "60", true, false,
	  FIELD(fraud_trunk_cpm_crit),
	  "outbound calls started over one trunk in a minute that are critical; 0 is off" },
	{ "fraud", "trunk_concurrent_warn", CT_UINT, 0, 100000, "25", true, false,
	  FIELD(fraud_trunk_concurrent_warn),
	  "outbound calls over one trunk at once that raise a warning; 0 is off" },
	{ "fraud", "trunk_concurrent_crit", CT_UINT, 0, 100000, "40", true, false,
	  FIELD(fraud_trunk_concurrent_crit),
	  "outbound calls over one trunk at once that are critical; 0 is off" },
	{ "fraud", "trunk_same_prefix_warn", CT_UINT, 0, 1000, "12", true, false,
	  FIELD(fraud_trunk_prefix_warn),
	  "calls in a row over one trunk to different numbers sharing a prefix that raise a warning; 0 is off" },
	{ "fraud", "trunk_same_prefix_crit", CT_UINT, 0, 1000, "25", true, false,
	  FIELD(fraud_trunk_prefix_crit),
	  "such calls in a row over one trunk that are critical; 0 is off" },
	{ "fraud", "baseline", CT_BOOL, 0, 0, "true", true, false, FIELD(fraud_baseline),
	  "learn each extension's calling pattern from its CDRs and flag what is unusual for it" },
	{ "fraud", "baseline_half_life_days", CT_UINT, 7, 365, "28", true, false,
	  FIELD(fraud_half_life_days),
	  "days after which a call weighs half in the learned pattern: how fast it follows new habits" },
	{ "fraud", "baseline_min_history_days", CT_UINT, 1, 365, "14", true, false,
	  FIELD(fraud_min_history_days),
	  "days of history an extension needs before its pattern is judged" },
	{ "fraud", "baseline_rate_warn", CT_UINT, 0, 100, "4", true, false, FIELD(fraud_rate_warn),
	  "calls in an hour, as a multiple of the extension's normal hourly rate, that raise a warning; 0 is off" },
	{ "fraud", "baseline_rate_crit", CT_UINT, 0, 100, "10", true, false, FIELD(fraud_rate_crit),
	  "calls in an hour, as a multiple of that rate, that are critical; 0 is off" },
	{ "fraud", "suspend_on_critical", CT_BOOL, 0, 0, "true", true, false,
	  FIELD(fraud_suspend_on_critical),
	  "a critical anomaly suspends the extension's outbound calls until `ringfence ext resume`" },

	{ "trunks", "dns_servers", CT_STRING, 0, 255, "", false, false, FIELD(trunk_dns_servers),
	  "DNS servers for trunk hosts, comma-separated ip or ip:port ([ip6]:port), for a private resolver; empty uses /etc/resolv.conf" },
	{ "trunks", "ca_file", CT_PATH, 0, CONF_PATH_MAX - 1, "", false, false, FIELD(trunk_ca_file),
	  "CA certificates (PEM) that verify TLS trunks, for a private CA; empty uses the system's CAs. Verification cannot be turned off" },
	{ "trunks", "tls_client_cert", CT_PATH, 0, CONF_PATH_MAX - 1, "", false, false, FIELD(trunk_client_cert),
	  "certificate chain (PEM) presented to TLS trunks that require one (mutual TLS); empty presents none" },
	{ "trunks", "tls_client_key", CT_PATH, 0, CONF_PATH_MAX - 1, "", false, false, FIELD(trunk_client_key),
	  "private key (PEM, unencrypted) of tls_client_cert; keep it mode 0600" },
};

#define CONF_NKEYS (sizeof(conf_table) / sizeof(conf_table[0]))

static const char *const conf_sections[] = {
	"general", "sip", "registrar", "security", "log", "store", "media", "calls", "guard",
	"firewall",
	"alerts",
	"numbering",
	"inbound",
	"credit",
	"fraud",
	"trunks",
};

#define CONF_NSECTIONS (sizeof(conf_sections) / sizeof(conf_sections[0]))

/* ---- small helpers ---- */

static void *field(struct rf_conf *c, const struct conf_key *k)
{
	return (char *)c + k->offset;
}

static const void *cfield(const struct rf_conf *c, const struct conf_key *k)
{
	return (const char *)c + k->offset;
}

/* The entry count that goes with a CT_CIDRS list. */
static unsigned *cidr_count(struct rf_conf *c, const struct conf_key *k)
{
	return k->offset == offsetof(struct rf_conf, guard_whitelist) ? &c->nguard_whitelist
								       : &c->nlan;
}

static const struct conf_key *conf_find(const char *section, const char *name)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (!strcmp(conf_table[i].section, section) &&
		    !strcmp(conf_table[i].name, name))
			return &conf_table[i];
	return NULL;
}

static bool key_name_known(const char *name, size_t len)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strlen(conf_table[i].name) == len && !memcmp(conf_table[i].name, name, len))
			return true;
	return false;
}

static bool section_known(const char *name)
{
	for (size_t i = 0; i < CONF_NSECTIONS; i++)
		if (!strcmp(conf_sections[i], name))
			return true;
	return false;
}

/* Edit distance, capped: names are short and only small distances matter
 * for a "did you mean" hint. */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Lexically normalise an absolute path: collapse "//", "." and "..".
 * Symlinks are kept as written on purpose, so the path an administrator
 * reads in check-config is the one they typed. */
static int path_normalize(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = in;

	if (outlen < 2 || *in != '/')
		return EINVAL;
	out[o++] = '/';
	while (*p) {
		while (*p == '/')
			p++;
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o > 1) {
				o--; /* drop the trailing '/' */
				while (o > 1 && out[o - 1] != '/')
					o--;
			}
			continue;
		}
		if (o + n + 1 >= outlen)
			return ENAMETOOLONG;
		memcpy(out + o, seg, n);
		o += n;
		out[o++] = '/';
	}
	if (o > 1)
		o--; /* no trailing slash */
	out[o] = '\0';
	return 0;
}

/* dir must be absolute; p absolute or relative to dir. */
static int path_resolve(const char *dir, const char *p, char *out, size_t outlen)
{
	char joined[2 * CONF_PATH_MAX + 2];
	int n;

	if (*p == '/')
		n = snprintf(joined, sizeof(joined), "%s", p);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s", dir, p);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return ENAMETOOLONG;
	return path_normalize(joined, out, outlen);
}

/* An absolute, normalised form of a possibly relative name. */
static int path_absolute(const char *p, char *out, size_t outlen)
{
	char cwd[CONF_PATH_MAX];

	if (*p == '/')
		return path_normalize(p, out, outlen);
	if (!getcwd(cwd, sizeof(cwd)))
		return errno ? errno : ENAMETOOLONG;
	return path_resolve(cwd, p, out, outlen);
}

static void path_dirname(const char *abs, char *out, size_t outlen)
{
	const char *slash = strrchr(abs, '/');
	size_t n = slash ? (size_t)(slash - abs) : 0;

	if (n == 0)
		n = 1; /* the root directory */
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, abs, n);
	out[n] = '\0';
}

/* Trim spaces and tabs in place; returns the start. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* ---- value parsers: each returns 0 or EINVAL with a reason ---- */

static int parse_uint(const char *v, unsigned long min, unsigned long max,
		      unsigned *out, char *why, size_t wl)
{
	unsigned long long n = 0;
	const char *p = v;

	if (!*p) {
		snprintf(why, wl, "empty value, expected a whole number %lu..%lu", min, max);
		return EINVAL;
	}
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(why, wl, "'%s' is not a whole number", v);
			return EINVAL;
		}
		n = n * 10 + (unsigned)(*p - '0');
		if (n > UINT32_MAX)
			break;
	}
	if (n < min || n > max) {
		snprintf(why, wl, "'%s' is out of range %lu..%lu", v, min, max);
		return EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_bool(const char *v, bool *out, char *why, size_t wl)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	snprintf(why, wl, "'%s' is not a boolean (true or false)", v);
	return EINVAL;
}

/* Text that ends up in SIP headers or quoted digest parameters: no control
 * bytes, no quote, no backslash. */
static int check_text(const char *v, unsigned long min, unsigned long max,
		      size_t fieldsize, char *why, size_t wl)
{
	size_t n = strlen(v);

	if (n < min) {
		snprintf(why, wl, "must not be empty");
		return EINVAL;
	}
	if (n > max || n >= fieldsize) {
		snprintf(why, wl, "too long (%zu characters, at most %lu)", n, max);
		return EINVAL;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
			snprintf(why, wl, "contains a control character, quote or backslash");
			return EINVAL;
		}
	}
	return 0;
}

/* Splits a comma list in a copy of v; calls fn per trimmed item. Empty
 * items ("a,,b") are an error: they are always typos. */
typedef int (*item_fn)(const char *item, unsigned idx, void *arg, char *why, size_t wl);

static int for_each_item(const char *v, unsigned max, unsigned *count,
			 item_fn fn, void *arg, char *why, size_t wl)
{
	char buf[CONF_LINE_MAX + 1];
	unsigned n = 0;

	*count = 0;
	if (strlen(v) >= sizeof(buf)) {
		snprintf(why, wl, "list too long");
		return EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	if (!*trim(buf))
		return 0;
	char *p = buf;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		char *item = trim(p);
		if (!*item) {
			snprintf(why, wl, "empty item in list '%s'", v);
			return EINVAL;
		}
		if (n >= max) {
			snprintf(why, wl, "too many items (at most %u)", max);
			return EINVAL;
		}
		int err = fn(item, n, arg, why, wl);
		if (err)
			return err;
		n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*count = n;
	return 0;
}

static int addr_item(const char *item, unsigned idx, void *arg, char *why, size_t wl)
{
	char (*list)[64] = arg;
	unsigned char bin[16];

	if (inet_pton(AF_INET, item, bin) != 1 && inet_pton(AF_INET6, item, bin) != 1) {
		snprintf(why, wl, "'%s' is not an IPv4 or IPv6 address%s", item,
			 item[0] == '[' ? " (write IPv6 without brackets)" : "");
		return EINVAL;
	}
	for (unsigned i = 0; i < idx; i++) {
		if (!strcmp(list[i], item)) {
			snprintf(why, wl, "'%s' is listed twice", item);
			return EINVAL;
		}
	}
	snprintf(list[idx], 64, "%s", item);
	return 0;
}

static int cidr_item(const char *item, unsigned idx, void *arg, char *why, size_t wl)
{
	struct acl_cidr *list = arg;
	const char *reason = NULL;

	if (acl_cidr_parse(item, &list[idx], &reason)) {
		snprintf(why, wl, "'%s' is not a valid CIDR%s%s", item,
			 reason ? ": " : "", reason ? reason : "");
		return EINVAL;
	}
	for (unsigned i = 0; i < idx; i++) {
		if (!memcmp(&list[i], &list[idx], sizeof(list[i]))) {
			snprintf(why, wl, "'%s' is listed twice", item);
			return EINVAL;
		}
	}
	return 0;
}

static int transport_item(const char *item, unsigned idx, void *arg, char *why, size_t wl)
{
	struct rf_conf *c = arg;
	bool *flag = NULL;

	if (!strcmp(item, "udp"))
		flag = &c->udp;
	else if (!strcmp(item, "tcp"))
		flag = &c->tcp;
	else if (!strcmp(item, "tls"))
		flag = &c->tls;
	if (!flag) {
		snprintf(why, wl, "unknown transport '%s' (use udp, tcp, tls)", item);
		return EINVAL;
	}
	if (*flag) {
		snprintf(why, wl, "transport '%s' is listed twice", item);
		return EINVAL;
	}
	*flag = true;
	return 0;
}

static int digest_alg_item(const char *item, unsigned idx, void *arg, char *why, size_t wl)
{
	struct rf_conf *c = arg;
	unsigned alg;

	if (!strcmp(item, "sha256") || !strcmp(item, "sha-256"))
		alg = DIGEST_ALG_SHA256;
	else if (!strcmp(item, "md5"))
		alg = DIGEST_ALG_MD5;
	else {
		snprintf(why, wl, "unknown digest algorithm '%s' (use sha256, md5)", item);
		return EINVAL;
	}
	for (unsigned i = 0; i < idx; i++) {
		if (c->digest_algs[i] == alg) {
			snprintf(why, wl, "digest algorithm '%s' is listed twice", item);
			return EINVAL;
		}
	}
	c->digest_algs[idx] = alg;
	return 0;
}

/* An amount of money, with rating's exact price parser. */
static int parse_money(const char *v, int64_t *out, char *why, size_t wl)
{
	const char *reason = NULL;
	char shown[RATE_PRICE_TEXT_MAX + 8];

	if (rating_parse_price(v, strlen(v), out, &reason) == 0)
		return 0;
	/* Quote at most what a price can be: the rest is noise. */
	snprintf(shown, sizeof(shown), "%.*s%s", RATE_PRICE_TEXT_MAX, v,
		 strlen(v) > RATE_PRICE_TEXT_MAX ? "..." : "");
	snprintf(why, wl, "'%s' %s", shown, reason);
	return EINVAL;
}

static int percent_item(const char *item, unsigned idx, void *arg, char *why, size_t wl)
{
	struct conf_percents *p = arg;
	unsigned v;

	if (parse_uint(item, 1, 100, &v, why, wl))
		return EINVAL;
	if (idx > 0 && v <= p->pct[idx - 1]) {
		snprintf(why, wl, "'%u' does not follow %u: list the percentages in ascending "
			 "order, each once", v, p->pct[idx - 1]);
		return EINVAL;
	}
	p->pct[idx] = v;
	return 0;
}

static int parse_percents(const struct conf_key *k, const char *v, struct conf_percents *out,
			  char *why, size_t wl)
{
	struct conf_percents p;
	unsigned count;
	int err;

	memset(&p, 0, sizeof(p));
	err = for_each_item(v, (unsigned)k->max, &count, percent_item, &p, why, wl);
	if (!err && count < k->min) {
		snprintf(why, wl, "at least %lu percentage needed", k->min);
		err = EINVAL;
	}
	if (err)
		return err;
	p.n = count;
	*out = p;
	return 0;
}

/* Parse v for key k into c. dir resolves relative paths. */
static int conf_set(const struct conf_key *k, struct rf_conf *c, const char *dir,
		    const char *v, char *why, size_t wl)
{
	int err;
	unsigned count;

	switch (k->type) {
	case CT_STRING:
		err = check_text(v, k->min, k->max, k->size, why, wl);
		if (!err)
			snprintf(field(c, k), k->size, "%s", v);
		return err;
	case CT_PATH:
		err = check_text(v, k->min, k->max, k->size, why, wl);
		if (err || !*v) {
			if (!err)
				*(char *)field(c, k) = '\0';
			return err;
		}
		err = path_resolve(dir, v, field(c, k), k->size);
		if (err)
			snprintf(why, wl, "path too long once resolved against %s", dir);
		return err;
	case CT_UINT:
		return parse_uint(v, k->min, k->max, field(c, k), why, wl);
	case CT_BOOL:
		return parse_bool(v, field(c, k), why, wl);
	case CT_ADDRS:
		err = for_each_item(v, (unsigned)k->max, &count, addr_item, c->listen, why, wl);
		if (!err && count < k->min) {
			snprintf(why, wl, "at least %lu address needed", k->min);
			err = EINVAL;
		}
		if (!err)
			c->nlisten = count;
		return err;
	case CT_CIDRS:
		err = for_each_item(v, (unsigned)k->max, &count, cidr_item, field(c, k), why, wl);
		if (!err)
			*cidr_count(c, k) = count;
		return err;
	case CT_TRANSPORTS:
		c->udp = c->tcp = c->tls = false;
		err = for_each_item(v, 3, &count, transport_item, c, why, wl);
		if (!err && count == 0) {
			snprintf(why, wl, "at least one transport is needed (udp, tcp, tls)");
			err = EINVAL;
		}
		return err;
	case CT_DIGEST_ALGS:
		err = for_each_item(v, 2, &count, digest_alg_item, c, why, wl);
		if (!err && count == 0) {
			snprintf(why, wl, "at least one digest algorithm is needed (sha256, md5)");
			err = EINVAL;
		}
		if (!err)
			c->ndigest_algs = count;
		return err;
	case CT_MONEY:
		return parse_money(v, field(c, k), why, wl);
	case CT_PERCENTS:
		return parse_percents(k, v, field(c, k), why, wl);
	case CT_NEWNET:
		if (strcmp(v, "alert") != 0 && strcmp(v, "deny") != 0 && strcmp(v, "allow") != 0) {
			snprintf(why, wl, "'%s' is not alert, deny or allow", v);
			return EINVAL;
		}
		snprintf(field(c, k), k->size, "%s", v);
		return 0;
	case CT_LOGLEVEL: {
		enum log_level lvl;
		if (!log_level_parse(v, &lvl)) {
			snprintf(why, wl, "'%s' is not a log level (error, warn, info, debug)", v);
			return EINVAL;
		}
		snprintf(field(c, k), k->size, "%s", v);
		return 0;
	}
	}
	snprintf(why, wl, "internal error: unknown type");
	return EINVAL;
}

/* Derived defaults: what an empty value means. */
static void conf_fill_derived(struct rf_conf *c)
{
	if (!c->realm[0] && c->nlisten > 0)
		snprintf(c->realm, sizeof(c->realm), "%s", c->listen[0]);
	if (!c->media_address[0] && c->nlisten > 0)
		snprintf(c->media_address, sizeof(c->media_address), "%s", c->listen[0]);
}

void conf_defaults(struct rf_conf *c, const char *dir)
{
	char why[256];
	char absdir[CONF_PATH_MAX];

	memset(c, 0, sizeof(*c));
	if (!dir || path_absolute(dir, absdir, sizeof(absdir)))
		snprintf(absdir, sizeof(absdir), "/");
	snprintf(c->dir, sizeof(c->dir), "%s", absdir);
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		/* Cannot fail for the shipped table: the unit tests pin every
		 * default (empty_file_gives_every_default). */
		if (conf_set(&conf_table[i], c, absdir, conf_table[i].def, why, sizeof(why)))
			log_error("config: bad built-in default for %s.%s: %s",
				  conf_table[i].section, conf_table[i].name, why);
	}
	conf_fill_derived(c);
}

/* ---- loading ---- */

struct loader {
	struct rf_conf conf;          /* built aside; copied out on success */
	const char *file;             /* as given, for messages */
	FILE *f;
	char *line;                   /* getline buffer */
	size_t linecap;
	unsigned lineno;
	unsigned set_line[CONF_NKEYS]; /* where each key was set, 0 = default */
	bool long_value_used;         /* this line's value is in long_value */
	char long_value[CONF_LINE_MAX + 1];
	bool failed;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static void fail(struct loader *ld, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ld->failed)
		return; /* the first error is the one to fix */
	ld->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote values from the file; a stray escape sequence must
	 * not reach the administrator's terminal. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (line)
		snprintf(ld->err, ld->errlen, "%s:%u: %s", ld->file, line, msg);
	else
		snprintf(ld->err, ld->errlen, "%s: %s", ld->file, msg);
}

static void check_section_line(struct loader *ld, const char *s)
{
	const char *close = strchr(s, ']');
	char name[64];

	if (!close) {
		fail(ld, ld->lineno, "section header without ']'");
		return;
	}
	size_t n = (size_t)(close - s - 1);
	if (n >= sizeof(name)) {
		fail(ld, ld->lineno, "section name too long");
		return;
	}
	memcpy(name, s + 1, n);
	name[n] = '\0';
	if (section_known(name))
		return;
	const char *best = NULL;
	for (size_t i = 0; i < CONF_NSECTIONS; i++)
		if (edit_distance(name, conf_sections[i]) <= 2)
			best = conf_sections[i];
	if (best)
		fail(ld, ld->lineno, "unknown section [%s]; did you mean [%s]?", name, best);
	else
		fail(ld, ld->lineno, "unknown section [%s]", name);
}

/* The value part of "name = value ; comment", as inih would cut it: after
 * the first '=' or ':', an inline comment starts at a ';' that follows
 * whitespace. */
static void extract_value(const char *sep, char *out, size_t outlen)
{
	const char *v = sep + 1;
	const char *end;
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	for (end = v; *end; end++)
		if (*end == ';' && end > v && (end[-1] == ' ' || end[-1] == '\t'))
			break;
	n = (size_t)(end - v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* A line with no '=' is refused without repeating it: it may be a secret
 * with its '=' left out (`smtp_password hunter2`), and this message goes
 * to the log, to check-config and into the reload alert. Only a known key
 * name at its start is named. */
static void fail_no_equals(struct loader *ld, const char *s)
{
	size_t n = strcspn(s, " \t");

	if (key_name_known(s, n))
		fail(ld, ld->lineno, "expected 'key = value' or '[section]': '%.*s' has no '='",
		     (int)n, s);
	else
		fail(ld, ld->lineno, "expected 'key = value' or '[section]' (the line is not "
		     "repeated: it may hold a secret)");
}

/* inih reader: hands inih one whole line at a time so its line numbers are
 * ours, strips indentation (inih would otherwise take an indented line as
 * the continuation of the previous value), and checks what inih cannot:
 * section names (an empty unknown section never reaches the handler),
 * long lines (inih would silently split them), NUL bytes, and lines that
 * are neither a section nor key = value. */
static char *conf_reader(char *buf, int num, void *stream)
{
	struct loader *ld = stream;
	ssize_t n;

	ld->long_value_used = false;
	if (ld->failed)
		return NULL;
	n = getline(&ld->line, &ld->linecap, ld->f);
	if (n < 0)
		return NULL;
	ld->lineno++;
	if (memchr(ld->line, '\0', (size_t)n)) {
		fail(ld, ld->lineno, "line contains a NUL byte");
		return NULL;
	}
	while (n > 0 && (ld->line[n - 1] == '\n' || ld->line[n - 1] == '\r'))
		ld->line[--n] = '\0';
	char *s = ld->line;
	if (ld->lineno == 1 && !memcmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	if (len > CONF_LINE_MAX) {
		fail(ld, ld->lineno, "line too long (at most %d characters)", CONF_LINE_MAX);
		return NULL;
	}
	if (*s == '[')
		check_section_line(ld, s);
	else if (*s && *s != ';' && *s != '#' && !strpbrk(s, "=:"))
		fail_no_equals(ld, s);
	if (ld->failed)
		return NULL;
	if (num < 8)
		return NULL;
	if (len + 2 > (size_t)num && *s != ';' && *s != '#') {
		const char *sep = strpbrk(s, "=:");
		size_t namelen = sep ? (size_t)(sep - s) : len;
		if (*s == '[' || !sep || namelen + sizeof(LONG_VALUE_MARK) + 2 > (size_t)num) {
			fail(ld, ld->lineno, "line too long");
			return NULL;
		}
		extract_value(sep, ld->long_value, sizeof(ld->long_value));
		ld->long_value_used = true;
		snprintf(buf, (size_t)num, "%.*s=" LONG_VALUE_MARK "\n", (int)namelen, s);
		return buf;
	}
	if (len + 2 > (size_t)num)
		len = (size_t)num - 2; /* a long comment: inih ignores it anyway */
	memcpy(buf, s, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return buf;
}

static void fail_unknown_key(struct loader *ld, const char *section, const char *name)
{
	const char *guess = NULL, *elsewhere = NULL;
	unsigned best = 3;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_table[i];
		if (!strcmp(k->name, name))
			elsewhere = k->section;
		if (strcmp(k->section, section))
			continue;
		unsigned d = edit_distance(name, k->name);
		if (d < best) {
			best = d;
			guess = k->name;
		}
	}
	if (guess)
		fail(ld, ld->lineno, "unknown key '%s' in [%s]; did you mean '%s'?",
		     name, section, guess);
	else if (elsewhere)
		fail(ld, ld->lineno, "unknown key '%s' in [%s]; it belongs in [%s]",
		     name, section, elsewhere);
	else
		fail(ld, ld->lineno, "unknown key '%s' in [%s]", name, section);
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct loader *ld = user;
	char why[384];

	if (ld->failed)
		return 0;
	if (!*section) {
		fail(ld, ld->lineno, "key '%s' outside any [section]", name);
		return 0;
	}
	const struct conf_key *k = conf_find(section, name);
	if (!k) {
		fail_unknown_key(ld, section, name);
		return 0;
	}
	size_t idx = (size_t)(k - conf_table);
	if (ld->set_line[idx]) {
		fail(ld, ld->lineno, "duplicate key '%s' in [%s] (first set on line %u)",
		     name, section, ld->set_line[idx]);
		return 0;
	}
	ld->set_line[idx] = ld->lineno;
	if (ld->long_value_used && !strcmp(value, LONG_VALUE_MARK))
		value = ld->long_value;
	if (conf_set(k, &ld->conf, ld->conf.dir, value, why, sizeof(why))) {
		fail(ld, ld->lineno, "bad value for '%s' in [%s]: %s", name, section, why);
		return 0;
	}
	return 1;
}

static unsigned line_of(const struct loader *ld, const char *section, const char *name)
{
	const struct conf_key *k = conf_find(section, name);
	return k ? ld->set_line[k - conf_table] : 0;
}

static unsigned max_line(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

/* The nftables set is named in nft's own words, checked here so that a
 * typo stops the daemon at start rather than every ban failing later. */
static void conf_check_firewall(struct loader *ld)
{
	struct nft_target t;
	char why[256];

	if (ld->conf.nft_set[0] &&
	    nft_target_parse(ld->conf.nft_set, &t, why, sizeof(why)) != 0)
		fail(ld, line_of(ld, "firewall", "nft_set"), "bad value for 'nft_set' in [firewall]: %s",
		     why);
}

/* A monthly cap below the daily one leaves the daily one unreachable:
 * almost surely a slip of the keyboard. */
static void conf_check_caps(struct loader *ld, const char *daily, const char *monthly,
			    int64_t d, int64_t m)
{
	char dt[RATE_PRICE_BUF], mt[RATE_PRICE_BUF];

	if (d && m && m < d)
		fail(ld, max_line(line_of(ld, "credit", daily), line_of(ld, "credit", monthly)),
		     "%s (%s) is below %s (%s) in [credit]: the daily cap could never be reached",
		     monthly, rating_format_price(m, mt, sizeof(mt)), daily,
		     rating_format_price(d, dt, sizeof(dt)));
}

static void conf_check_credit(struct loader *ld)
{
	const struct rf_conf *c = &ld->conf;

	conf_check_caps(ld, "daily_cap", "monthly_cap", c->credit_daily_cap, c->credit_monthly_cap);
	conf_check_caps(ld, "ext_daily_cap", "ext_monthly_cap", c->credit_ext_daily_cap,
			c->credit_ext_monthly_cap);
	conf_check_caps(ld, "trunk_daily_cap", "trunk_monthly_cap", c->credit_trunk_daily_cap,
			c->credit_trunk_monthly_cap);
}

static void conf_check_alerts(struct loader *ld)
{
	const char *key = NULL;
	char why[384];

	if (alert_conf_check(&ld->conf, &key, why, sizeof(why)) != 0)
		fail(ld, line_of(ld, "alerts", key), "%s in [alerts]", why);
}

/* Every [fraud] level named NAME_warn must be below NAME_crit when both
 * are on: a warning that comes with or after the critical level would
 * never be seen. */
static void conf_check_fraud(struct loader *ld)
{
	char crit[64];

	for (size_t i = 0; i < CONF_NKEYS && !ld->failed; i++) {
		const struct conf_key *w = &conf_table[i], *c;
		size_t n = strlen(w->name);

		if (strcmp(w->section, "fraud") || n < 5 || strcmp(w->name + n - 5, "_warn"))
			continue;
		snprintf(crit, sizeof(crit), "%.*s_crit", (int)(n - 5), w->name);
		c = conf_find("fraud", crit);
		unsigned wv = *(const unsigned *)cfield(&ld->conf, w);
		unsigned cv = c ? *(const unsigned *)cfield(&ld->conf, c) : 0;
		if (wv && cv && wv >= cv)
			fail(ld, max_line(line_of(ld, "fraud", w->name), line_of(ld, "fraud", crit)),
			     "%s (%u) must be below %s (%u) in [fraud]", w->name, wv, crit, cv);
	}
}

/* Rules that involve more than one key. Errors point at the later of the
 * lines involved, which is the one most likely just edited. */
static void conf_cross_check(struct loader *ld)
{
	const struct rf_conf *c = &ld->conf;
	unsigned lmin = line_of(ld, "registrar", "min_expires");
	unsigned lmax = line_of(ld, "registrar", "max_expires");
	unsigned ldef = line_of(ld, "registrar", "default_expires");
	unsigned lport = line_of(ld, "sip", "port");
	unsigned ltls = line_of(ld, "sip", "tls_port");
	unsigned ltr = line_of(ld, "sip", "transports");

	if (c->min_expires > c->max_expires)
		fail(ld, max_line(lmin, lmax),
		     "min_expires (%u) is greater than max_expires (%u) in [registrar]",
		     c->min_expires, c->max_expires);
	else if (c->default_expires < c->min_expires || c->default_expires > c->max_expires)
		fail(ld, max_line(ldef, max_line(lmin, lmax)),
		     "default_expires (%u) must lie between min_expires (%u) and max_expires (%u) in [registrar]",
		     c->default_expires, c->min_expires, c->max_expires);
	if (!c->udp && !c->tcp && !c->tls)
		fail(ld, ltr, "no transport enabled in [sip]");
	if (c->tls && c->tls_port == 0)
		fail(ld, max_line(ltls, ltr),
		     "transports includes tls but tls_port is 0 in [sip]");
	if (c->rtp_port_min % 2 != 0)
		fail(ld, line_of(ld, "media", "rtp_port_min"),
		     "rtp_port_min (%u) must be even: RTP takes the even port, RTCP the odd one, in [media]",
		     c->rtp_port_min);
	else if (c->rtp_port_max < c->rtp_port_min + 3)
		fail(ld, max_line(line_of(ld, "media", "rtp_port_min"), line_of(ld, "media", "rtp_port_max")),
		     "rtp_port_max (%u) leaves no room for one call above rtp_port_min (%u) in [media]",
		     c->rtp_port_max, c->rtp_port_min);
	if (c->media_address[0]) {
		unsigned char bin[16];

		if (inet_pton(AF_INET, c->media_address, bin) != 1 &&
		    inet_pton(AF_INET6, c->media_address, bin) != 1)
			fail(ld, line_of(ld, "media", "media_address"),
			     "media_address '%s' is not an IPv4 or IPv6 address in [media]", c->media_address);
	}
	if (c->tls_port != 0 && c->tls_port == c->port)
		fail(ld, max_line(lport, ltls),
		     "tls_port must differ from port (both %u) in [sip]", c->port);
	conf_check_firewall(ld);
	conf_check_alerts(ld);
	conf_check_fraud(ld);
	conf_check_credit(ld);
}

int conf_load(struct rf_conf *c, const char *path, char *err, size_t errlen)
{
	struct loader *ld;
	char abs[CONF_PATH_MAX], dir[CONF_PATH_MAX];
	int ret;

	if (errlen)
		err[0] = '\0';
	ld = calloc(1, sizeof(*ld));
	if (!ld) {
		snprintf(err, errlen, "%s: out of memory", path);
		return ENOMEM;
	}
	ld->file = path;
	ld->err = err;
	ld->errlen = errlen;
	ret = path_absolute(path, abs, sizeof(abs));
	if (ret) {
		fail(ld, 0, "cannot resolve path: %s", strerror(ret));
		goto out;
	}
	ld->f = fopen(path, "re");
	if (!ld->f) {
		ret = errno;
		fail(ld, 0, "cannot open: %s", strerror(ret));
		goto out;
	}
	path_dirname(abs, dir, sizeof(dir));
	conf_defaults(&ld->conf, dir);
	ld->conf.realm[0] = '\0'; /* derived again after the file is read */
	snprintf(ld->conf.path, sizeof(ld->conf.path), "%s", abs);

	int rc = ini_parse_stream(conf_reader, ld, conf_handler, ld);
	if (ferror(ld->f))
		fail(ld, 0, "read error: %s", strerror(errno));
	if (rc > 0 && !ld->failed)
		fail(ld, (unsigned)rc, "syntax error: expected 'key = value' or '[section]'");
	else if (rc < 0 && !ld->failed)
		fail(ld, 0, "out of memory while parsing");
	if (!ld->failed) {
		conf_fill_derived(&ld->conf);
		conf_cross_check(ld);
	}
	ret = ld->failed ? EINVAL : 0;
	if (!ret)
		*c = ld->conf;
out:
	if (ld->f)
		fclose(ld->f);
	free(ld->line);
	free(ld);
	return ret;
}

/* ---- reload ---- */

static void key_copy(struct rf_conf *dst, const struct rf_conf *src, const struct conf_key *k)
{
	memcpy(field(dst, k), cfield(src, k), k->size);
	/* Lists carry their length in a field of its own. */
	if (k->type == CT_CIDRS)
		*cidr_count(dst, k) = *cidr_count((struct rf_conf *)src, k);
	else if (k->type == CT_DIGEST_ALGS)
		dst->ndigest_algs = src->ndigest_algs;
}

void conf_apply_reloadable(struct rf_conf *dst, const struct rf_conf *src)
{
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (conf_table[i].reloadable)
			key_copy(dst, src, &conf_table[i]);
	}
}

void conf_keep(struct rf_conf *dst, const struct rf_conf *src, const char *section,
	       const char *name)
{
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_table[i];

		if (!strcmp(k->section, section) && (!name || !strcmp(k->name, name)))
			key_copy(dst, src, k);
	}
}

/* ---- printing ---- */

static void format_value(const struct rf_conf *c, const struct conf_key *k,
			 char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_LOGLEVEL:
	case CT_NEWNET:
		snprintf(out, outlen, "%s", (const char *)cfield(c, k));
		break;
	case CT_UINT:
		snprintf(out, outlen, "%u", *(const unsigned *)cfield(c, k));
		break;
	case CT_BOOL:
		snprintf(out, outlen, "%s", *(const bool *)cfield(c, k) ? "true" : "false");
		break;
	case CT_MONEY:
		rating_format_price(*(const int64_t *)cfield(c, k), out, outlen);
		break;
	case CT_PERCENTS: {
		const struct conf_percents *p = cfield(c, k);

		for (unsigned i = 0; i < p->n && o < outlen; i++)
			o += (size_t)snprintf(out + o, outlen - o, "%s%u", i ? "," : "", p->pct[i]);
		break;
	}
	case CT_ADDRS:
		for (unsigned i = 0; i < c->nlisten && o < outlen; i++)
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "", c->listen[i]);
		break;
	case CT_CIDRS:
		for (unsigned i = 0; i < *cidr_count((struct rf_conf *)c, k) && o < outlen; i++) {
			char one[INET6_ADDRSTRLEN + 8];
			acl_cidr_format(&((const struct acl_cidr *)((const char *)c + k->offset))[i],
					one, sizeof(one));
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "", one);
		}
		break;
	case CT_DIGEST_ALGS:
		for (unsigned i = 0; i < c->ndigest_algs && o < outlen; i++)
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "",
					      c->digest_algs[i] == DIGEST_ALG_SHA256 ? "sha256" : "md5");
		break;
	case CT_TRANSPORTS:
		snprintf(out, outlen, "%s%s%s%s%s",
			 c->udp ? "udp" : "",
			 c->udp && (c->tcp || c->tls) ? "," : "",
			 c->tcp ? "tcp" : "",
			 c->tcp && c->tls ? "," : "",
			 c->tls ? "tls" : "");
		break;
	}
}

/* ---- differences ---- */

unsigned conf_diff(const struct rf_conf *a, const struct rf_conf *b, const char *section,
		   conf_diff_fn fn, void *arg)
{
	/* Each value in its text form, so lists compare by their entries
	 * and not by what lies beyond their count. */
	char va[2048], vb[2048];
	unsigned n = 0;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_table[i];

		if (section && strcmp(k->section, section))
			continue;
		format_value(a, k, va, sizeof(va));
		format_value(b, k, vb, sizeof(vb));
		if (!strcmp(va, vb))
			continue;
		n++;
		if (fn)
			fn(arg, k->section, k->name, k->reloadable);
	}
	explicit_bzero(va, sizeof(va));
	explicit_bzero(vb, sizeof(vb));
	return n;
}

void conf_print(const struct rf_conf *c, FILE *out)
{
	char val[2048];

	fprintf(out, "# effective configuration%s%s\n", c->path[0] ? " of " : "", c->path);
	for (size_t s = 0; s < CONF_NSECTIONS; s++) {
		fprintf(out, "%s[%s]\n", s ? "\n" : "", conf_sections[s]);
		for (size_t i = 0; i < CONF_NKEYS; i++) {
			const struct conf_key *k = &conf_table[i];
			if (strcmp(k->section, conf_sections[s]))
				continue;
			/* An empty secret is printed as empty, so the output
			 * still loads back; a set one never is. */
			if (k->sensitive && *(const char *)cfield(c, k)) {
				fprintf(out, "%s = <redacted>\n", k->name);
				continue;
			}
			format_value(c, k, val, sizeof(val));
			fprintf(out, "%s = %s\n", k->name, val);
		}
	}
}

/* ---- the starter file for `ringfence init` ---- */

static void write_starter(FILE *f, const char *listen, unsigned port, const char *realm)
{
	fprintf(f,
		"# Ringfence configuration, written by `ringfence init`.\n"
		"#\n"
		"# Every key is documented in docs/config.md. A line starting with ';'\n"
		"# shows a key at its built-in default: remove the ';' to change it.\n"
		"# Relative paths are resolved against the directory of this file.\n"
		"# Unknown keys and out-of-range values stop the daemon with the line\n"
		"# number; `ringfence check-config` prints the effective settings.\n");
	for (size_t s = 0; s < CONF_NSECTIONS; s++) {
		fprintf(f, "\n[%s]\n", conf_sections[s]);
		for (size_t i = 0; i < CONF_NKEYS; i++) {
			const struct conf_key *k = &conf_table[i];
			if (strcmp(k->section, conf_sections[s]))
				continue;
			if (k->type == CT_UINT)
				fprintf(f, "# %s (%lu..%lu)\n", k->help, k->min, k->max);
			else
				fprintf(f, "# %s\n", k->help);
			if (!strcmp(k->section, "sip") && !strcmp(k->name, "listen"))
				fprintf(f, "listen = %s\n", listen);
			else if (!strcmp(k->section, "sip") && !strcmp(k->name, "port"))
				fprintf(f, "port = %u\n", port);
			else if (!strcmp(k->section, "sip") && !strcmp(k->name, "tls_port"))
				fprintf(f, "tls_port = %u\n", port + 1);
			else if (!strcmp(k->section, "sip") && !strcmp(k->name, "realm"))
				fprintf(f, "realm = %s\n", realm);
			else
				fprintf(f, "; %s =%s%s\n", k->name, *k->def ? " " : "", k->def);
		}
	}
}

int conf_write_initial(const char *path, const char *listen, unsigned port,
		       const char *realm)
{
	struct rf_conf probe;
	char why[256], tmp[CONF_PATH_MAX + 16];
	int fd, err = 0;
	FILE *f;

	/* Validate with the same parsers conf_load uses, so init can never
	 * write a file the daemon refuses. */
	memset(&probe, 0, sizeof(probe));
	if (!path || !listen || port == 0 || port > 65534 ||
	    conf_set(conf_find("sip", "listen"), &probe, "/", listen, why, sizeof(why)))
		return EINVAL;
	if (!realm || !*realm)
		realm = probe.listen[0];
	if (conf_set(conf_find("sip", "realm"), &probe, "/", realm, why, sizeof(why)))
		return EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return ENAMETOOLONG;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fchmod(fd, 0640) < 0) {
		err = errno;
		close(fd);
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto out;
	}
	write_starter(f, listen, port, realm);
	if (fflush(f) != 0 || ferror(f) || fsync(fd) < 0)
		err = errno ? errno : EIO;
	if (fclose(f) != 0 && !err)
		err = errno ? errno : EIO;
	/* link() fails with EEXIST instead of replacing: O_EXCL semantics
	 * for a file that appears complete or not at all. */
	if (!err && link(tmp, path) < 0)
		err = errno;
out:
	unlink(tmp);
	return err;
}
