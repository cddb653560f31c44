/* The configuration table: every type, every bound (at it and one past),
 * unknown sections and keys, duplicates, relative paths, cross-field rules,
 * the exact "FILE:LINE: ..." messages, and init's starter file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/limits.h"

struct fx {
	char dir[64];
	char path[128];
	char err[512];
	struct rf_conf c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/rf-conf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ringfence.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *de;
	char p[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_conf(struct fx *f, const char *text, size_t len)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Load text as the config file; returns conf_load's result. */
static int load(struct fx *f, const char *text)
{
	write_conf(f, text, strlen(text));
	memset(f->err, 0, sizeof(f->err));
	return conf_load(&f->c, f->path, f->err, sizeof(f->err));
}

static void load_ok(struct fx *f, const char *text)
{
	int rc = load(f, text);

	if (rc != 0)
		fail_msg("unexpected error for:\n%s\n-> %s", text, f->err);
}

/* Expect EINVAL and exactly "PATH:" + want. */
static void load_fails(struct fx *f, const char *text, const char *want)
{
	char full[768];

	assert_int_equal(load(f, text), EINVAL);
	snprintf(full, sizeof(full), "%s:%s", f->path, want);
	assert_string_equal(f->err, full);
}

static char *print_to_string(const struct rf_conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	conf_print(c, m);
	fclose(m);
	return buf;
}

/* ---- defaults ---- */

static void empty_file_gives_every_default(void **state)
{
	struct fx *f = *state;
	char want[256];

	load_ok(f, "");
	const struct rf_conf *c = &f->c;
	assert_string_equal(c->path, f->path);
	assert_string_equal(c->dir, f->dir);
	assert_string_equal(c->user, "ringfence");
	assert_string_equal(c->log_level, "info");
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], "127.0.0.1");
	assert_int_equal(c->port, 5060);
	assert_int_equal(c->tls_port, 5061);
	assert_true(c->udp && c->tcp && c->tls);
	assert_string_equal(c->realm, "127.0.0.1"); /* the first listen address */
	snprintf(want, sizeof(want), "%s/tls/cert.pem", f->dir);
	assert_string_equal(c->tls_cert, want);
	snprintf(want, sizeof(want), "%s/tls/key.pem", f->dir);
	assert_string_equal(c->tls_key, want);
	assert_string_equal(c->user_agent, "");
	assert_int_equal(c->min_expires, 60);
	assert_int_equal(c->max_expires, 3600);
	assert_int_equal(c->default_expires, 3600);
	assert_int_equal(c->max_contacts, 3);
	assert_int_equal(c->nonce_lifetime, 300);
	assert_int_equal(c->nlan, 0);
	snprintf(want, sizeof(want), "%s/secret.key", f->dir);
	assert_string_equal(c->secret_file, want);
	snprintf(want, sizeof(want), "%s/security.log", f->dir);
	assert_string_equal(c->security_log, want);
	assert_false(c->syslog);
	snprintf(want, sizeof(want), "%s/ringfence.db", f->dir);
	assert_string_equal(c->database, want);
	/* A small office's caps: a system-wide daily cap always exists. */
	assert_int_equal(c->credit_daily_cap, INT64_C(100000000));
	assert_int_equal(c->credit_monthly_cap, INT64_C(1000000000));
	assert_int_equal(c->credit_ext_daily_cap, INT64_C(20000000));
	assert_int_equal(c->credit_ext_monthly_cap, INT64_C(200000000));
	assert_int_equal(c->credit_trunk_daily_cap, 0);
	assert_int_equal(c->credit_trunk_monthly_cap, 0);
	assert_int_equal(c->credit_thresholds.n, 3);
	assert_int_equal(c->credit_thresholds.pct[0], 50);
	assert_int_equal(c->credit_thresholds.pct[1], 80);
	assert_int_equal(c->credit_thresholds.pct[2], 100);
}

/* The calling-pattern defaults (docs/config.md says why each). */
static void fraud_defaults(void **state)
{
	struct fx *f = *state;
	const struct rf_conf *c = &f->c;

	load_ok(f, "");
	assert_int_equal(c->fraud_cpm_warn, 10);
	assert_int_equal(c->fraud_cpm_crit, 20);
	assert_int_equal(c->fraud_concurrent_warn, 3);
	assert_int_equal(c->fraud_concurrent_crit, 5);
	assert_int_equal(c->fraud_prefix_warn, 8);
	assert_int_equal(c->fraud_prefix_crit, 15);
	assert_int_equal(c->fraud_prefix_digits, 6);
	assert_int_equal(c->fraud_duration_warn, 120);
	assert_int_equal(c->fraud_duration_crit, 180);
	assert_int_equal(c->fraud_trunk_cpm_warn, 30);
	assert_int_equal(c->fraud_trunk_cpm_crit, 60);
	assert_int_equal(c->fraud_trunk_concurrent_warn, 25);
	assert_int_equal(c->fraud_trunk_concurrent_crit, 40);
	assert_int_equal(c->fraud_trunk_prefix_warn, 12);
	assert_int_equal(c->fraud_trunk_prefix_crit, 25);
	assert_true(c->fraud_baseline);
	assert_int_equal(c->fraud_half_life_days, 28);
	assert_int_equal(c->fraud_min_history_days, 14);
	assert_int_equal(c->fraud_rate_warn, 4);
	assert_int_equal(c->fraud_rate_crit, 10);
	assert_true(c->fraud_suspend_on_critical);
}

/* A warning level must come before its critical level, unless one of
 * them is off (0). */
static void fraud_levels_are_ordered(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[fraud]\ncalls_per_minute_warn = 20\n",
		   "2: calls_per_minute_warn (20) must be below calls_per_minute_crit (20) in [fraud]");
	load_fails(f, "[fraud]\nduration_crit = 60\n\nduration_warn = 60\n",
		   "4: duration_warn (60) must be below duration_crit (60) in [fraud]");
	load_fails(f, "[fraud]\ntrunk_same_prefix_crit = 5\n",
		   "2: trunk_same_prefix_warn (12) must be below trunk_same_prefix_crit (5) in [fraud]");
	load_fails(f, "[fraud]\nbaseline_rate_warn = 11\n",
		   "2: baseline_rate_warn (11) must be below baseline_rate_crit (10) in [fraud]");
	load_ok(f, "[fraud]\ncalls_per_minute_crit = 0\nconcurrent_warn = 0\n"
		   "same_prefix_warn = 500\nsame_prefix_crit = 0\n");
	assert_int_equal(f->c.fraud_cpm_crit, 0);
	assert_int_equal(f->c.fraud_concurrent_warn, 0);
	assert_int_equal(f->c.fraud_prefix_warn, 500);
	load_fails(f, "[fraud]\nsame_prefix_digits = 0\n",
		   "2: bad value for 'same_prefix_digits' in [fraud]: '0' is out of range 1..12");
	load_fails(f, "[fraud]\nbaseline_half_life_days = 6\n",
		   "2: bad value for 'baseline_half_life_days' in [fraud]: '6' is out of range 7..365");
	load_ok(f, "[fraud]\nsuspend_on_critical = no\nbaseline = off\n");
	assert_false(f->c.fraud_suspend_on_critical);
	assert_false(f->c.fraud_baseline);
}

static void conf_defaults_match_an_empty_file(void **state)
{
	struct fx *f = *state;
	struct rf_conf d;

	load_ok(f, "");
	conf_defaults(&d, f->dir);
	memcpy(d.path, f->c.path, sizeof(d.path));
	assert_memory_equal(&d, &f->c, sizeof(d));
}

/* ---- every type ---- */

static void strings(void **state)
{
	struct fx *f = *state;
	char text[256], name[80];

	load_ok(f, "[general]\nuser = pbx\n[sip]\nuser_agent = Acme PBX\nrealm = pbx.example.org\n");
	assert_string_equal(f->c.user, "pbx");
	assert_string_equal(f->c.user_agent, "Acme PBX");
	assert_string_equal(f->c.realm, "pbx.example.org");

	/* Length bound: 63 fits in user[64], 64 does not. */
	memset(name, 'u', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text), "[general]\nuser = %s\n", name);
	load_ok(f, text);
	assert_string_equal(f->c.user, name);
	snprintf(text, sizeof(text), "[general]\nuser = %su\n", name);
	load_fails(f, text, "2: bad value for 'user' in [general]: too long (64 characters, at most 63)");

	load_fails(f, "[general]\nuser =\n",
		   "2: bad value for 'user' in [general]: must not be empty");
	load_fails(f, "[sip]\nrealm = a\"b\n",
		   "2: bad value for 'realm' in [sip]: contains a control character, quote or backslash");
	load_fails(f, "[sip]\nuser_agent = a\tb\n",
		   "2: bad value for 'user_agent' in [sip]: contains a control character, quote or backslash");
}

static void paths_resolve_against_the_config_directory(void **state)
{
	struct fx *f = *state;
	char want[256];

	load_ok(f, "[store]\ndatabase = data/./x/../rf.db\n[sip]\ntls_key = /etc/ssl//k.pem\n"
		   "[log]\nsecurity_log =\n");
	snprintf(want, sizeof(want), "%s/data/rf.db", f->dir);
	assert_string_equal(f->c.database, want);
	assert_string_equal(f->c.tls_key, "/etc/ssl/k.pem");
	assert_string_equal(f->c.security_log, ""); /* empty: no file */

	load_ok(f, "[security]\nsecret_file = ../../../../../../../s.key\n");
	assert_string_equal(f->c.secret_file, "/s.key");

	load_fails(f, "[store]\ndatabase =\n",
		   "2: bad value for 'database' in [store]: must not be empty");
}

static void relative_config_name_gives_absolute_paths(void **state)
{
	struct fx *f = *state;
	char cwd[512], want[256];

	write_conf(f, "", 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	int rc = conf_load(&f->c, "./ringfence.conf", f->err, sizeof(f->err));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(f->c.path, f->path);
	assert_string_equal(f->c.dir, f->dir);
	snprintf(want, sizeof(want), "%s/ringfence.db", f->dir);
	assert_string_equal(f->c.database, want);
}

struct ubound {
	const char *section, *key;
	unsigned long min, max;
	size_t off;
	const char *prelude; /* other keys that keep cross-field rules quiet */
};

#define UB(s, k, lo, hi, pre) { s, #k, lo, hi, offsetof(struct rf_conf, k), pre }

static void uint_bounds(void **state)
{
	struct fx *f = *state;
	static const struct ubound b[] = {
		UB("sip", port, 1, 65535, "transports = udp,tcp\ntls_port = 0\n"),
		UB("sip", tls_port, 0, 65535, "transports = udp,tcp\nport = 1000\n"),
		UB("registrar", min_expires, 1, 86400, "max_expires = 604800\ndefault_expires = 86400\n"),
		UB("registrar", max_expires, 60, 604800, "min_expires = 1\ndefault_expires = 60\n"),
		UB("registrar", default_expires, 1, 604800, "min_expires = 1\nmax_expires = 604800\n"),
		UB("registrar", max_contacts, 1, RF_MAX_CONTACTS_PER_EXT, ""),
		UB("registrar", nonce_lifetime, 30, 3600, ""),
	};
	char text[512], want[256];

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		unsigned long at[2] = { b[i].min, b[i].max };
		for (int j = 0; j < 2; j++) {
			snprintf(text, sizeof(text), "[%s]\n%s%s = %lu\n",
				 b[i].section, b[i].prelude, b[i].key, at[j]);
			load_ok(f, text);
			assert_int_equal(*(unsigned *)((char *)&f->c + b[i].off), at[j]);
		}
		/* One past each end. */
		if (b[i].min > 0) {
			snprintf(text, sizeof(text), "[%s]\n%s = %lu\n", b[i].section, b[i].key, b[i].min - 1);
			snprintf(want, sizeof(want), "2: bad value for '%s' in [%s]: '%lu' is out of range %lu..%lu",
				 b[i].key, b[i].section, b[i].min - 1, b[i].min, b[i].max);
			load_fails(f, text, want);
		}
		snprintf(text, sizeof(text), "[%s]\n%s = %lu\n", b[i].section, b[i].key, b[i].max + 1);
		snprintf(want, sizeof(want), "2: bad value for '%s' in [%s]: '%lu' is out of range %lu..%lu",
			 b[i].key, b[i].section, b[i].max + 1, b[i].min, b[i].max);
		load_fails(f, text, want);
	}
}

static void uint_syntax(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[sip]\nport = 50x\n", "2: bad value for 'port' in [sip]: '50x' is not a whole number");
	load_fails(f, "[sip]\nport = -1\n", "2: bad value for 'port' in [sip]: '-1' is not a whole number");
	load_fails(f, "[sip]\nport = +5\n", "2: bad value for 'port' in [sip]: '+5' is not a whole number");
	load_fails(f, "[sip]\nport = 5 060\n", "2: bad value for 'port' in [sip]: '5 060' is not a whole number");
	load_fails(f, "[sip]\nport =\n", "2: bad value for 'port' in [sip]: empty value, expected a whole number 1..65535");
	load_fails(f, "[sip]\nport = 99999999999999999999999\n",
		   "2: bad value for 'port' in [sip]: '99999999999999999999999' is out of range 1..65535");
	load_fails(f, "[sip]\nport = 50\x1b[2J\n",
		   "2: bad value for 'port' in [sip]: '50?[2J' is not a whole number");
	load_fails(f, "[sip]\nport = 4294967296\n",
		   "2: bad value for 'port' in [sip]: '4294967296' is out of range 1..65535");
}

static void booleans(void **state)
{
	struct fx *f = *state;
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes" };
	static const char *const no[] = { "false", "no", "off", "0", "False" };
	char text[128];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[log]\nsyslog = %s\n", yes[i]);
		load_ok(f, text);
		assert_true(f->c.syslog);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(text, sizeof(text), "[log]\nsyslog = %s\n", no[i]);
		load_ok(f, text);
		assert_false(f->c.syslog);
	}
	load_fails(f, "[log]\nsyslog = maybe\n",
		   "2: bad value for 'syslog' in [log]: 'maybe' is not a boolean (true or false)");
}

static void address_lists(void **state)
{
	struct fx *f = *state;
	char text[512], list[400];

	load_ok(f, "[sip]\nlisten = 192.0.2.1 , ::1,2001:db8::7\n");
	assert_int_equal(f->c.nlisten, 3);
	assert_string_equal(f->c.listen[0], "192.0.2.1");
	assert_string_equal(f->c.listen[1], "::1");
	assert_string_equal(f->c.listen[2], "2001:db8::7");
	assert_string_equal(f->c.realm, "192.0.2.1");

	load_fails(f, "[sip]\nlisten = 192.0.2.300\n",
		   "2: bad value for 'listen' in [sip]: '192.0.2.300' is not an IPv4 or IPv6 address");
	load_fails(f, "[sip]\nlisten = [::1]\n",
		   "2: bad value for 'listen' in [sip]: '[::1]' is not an IPv4 or IPv6 address (write IPv6 without brackets)");
	load_fails(f, "[sip]\nlisten = pbx.example.org\n",
		   "2: bad value for 'listen' in [sip]: 'pbx.example.org' is not an IPv4 or IPv6 address");
	load_fails(f, "[sip]\nlisten = ::1, ::1\n",
		   "2: bad value for 'listen' in [sip]: '::1' is listed twice");
	load_fails(f, "[sip]\nlisten = ::1,,127.0.0.1\n",
		   "2: bad value for 'listen' in [sip]: empty item in list '::1,,127.0.0.1'");
	load_fails(f, "[sip]\nlisten =\n",
		   "2: bad value for 'listen' in [sip]: at least 1 address needed");

	/* CONF_MAX_LISTEN fit, one more does not. */
	list[0] = '\0';
	for (unsigned i = 0; i < CONF_MAX_LISTEN; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s127.0.0.%u", i ? "," : "", i + 1);
	snprintf(text, sizeof(text), "[sip]\nlisten = %s\n", list);
	load_ok(f, text);
	assert_int_equal(f->c.nlisten, CONF_MAX_LISTEN);
	snprintf(text, sizeof(text), "[sip]\nlisten = %s,127.0.0.99\n", list);
	load_fails(f, text, "2: bad value for 'listen' in [sip]: too many items (at most 8)");
}

static void cidr_lists(void **state)
{
	struct fx *f = *state;
	char text[1500], list[1400];

	load_ok(f, "[security]\nlan = 10.8.0.0/16, fd00:1::/32,192.0.2.7\n");
	assert_int_equal(f->c.nlan, 3);
	assert_int_equal(f->c.lan[0].family, AF_INET);
	assert_int_equal(f->c.lan[0].prefix, 16);
	assert_int_equal(f->c.lan[1].family, AF_INET6);
	assert_int_equal(f->c.lan[1].prefix, 32);
	assert_int_equal(f->c.lan[2].prefix, 32);

	assert_int_equal(load(f, "[security]\nlan = 10.8.0.1/16\n"), EINVAL);
	assert_non_null(strstr(f->err, ":2: bad value for 'lan' in [security]: '10.8.0.1/16' is not a valid CIDR"));
	assert_int_equal(load(f, "[security]\nlan = 10.0.0.0/33\n"), EINVAL);
	assert_non_null(strstr(f->err, ":2: bad value for 'lan' in [security]: '10.0.0.0/33' is not a valid CIDR"));

	list[0] = '\0';
	for (unsigned i = 0; i < CONF_MAX_LAN; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s10.%u.0.0/16", i ? "," : "", i);
	snprintf(text, sizeof(text), "[security]\nlan = %s\n", list);
	load_ok(f, text);
	assert_int_equal(f->c.nlan, CONF_MAX_LAN);
	snprintf(text, sizeof(text), "[security]\nlan = %s,10.200.0.0/16\n", list);
	load_fails(f, text, "2: bad value for 'lan' in [security]: too many items (at most 32)");
}

static void transports(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[sip]\ntransports = udp\n");
	assert_true(f->c.udp);
	assert_false(f->c.tcp);
	assert_false(f->c.tls);
	load_ok(f, "[sip]\ntransports = tls , tcp\n");
	assert_false(f->c.udp);
	assert_true(f->c.tcp && f->c.tls);
	load_fails(f, "[sip]\ntransports = udp,sctp\n",
		   "2: bad value for 'transports' in [sip]: unknown transport 'sctp' (use udp, tcp, tls)");
	load_fails(f, "[sip]\ntransports = udp,udp\n",
		   "2: bad value for 'transports' in [sip]: transport 'udp' is listed twice");
	load_fails(f, "[sip]\ntransports =\n",
		   "2: bad value for 'transports' in [sip]: at least one transport is needed (udp, tcp, tls)");
	load_fails(f, "[sip]\ntransports = UDP\n",
		   "2: bad value for 'transports' in [sip]: unknown transport 'UDP' (use udp, tcp, tls)");
}

static void log_levels(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[general]\nlog_level = debug\n");
	assert_string_equal(f->c.log_level, "debug");
	load_ok(f, "[general]\nlog_level = error\n");
	assert_string_equal(f->c.log_level, "error");
	load_fails(f, "[general]\nlog_level = verbose\n",
		   "2: bad value for 'log_level' in [general]: 'verbose' is not a log level (error, warn, info, debug)");
}

static void money(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[credit]\ndaily_cap = 20\nmonthly_cap = 20.00\next_daily_cap = 0.000001\n"
		   "ext_monthly_cap = 0.50\ntrunk_daily_cap = 0\ntrunk_monthly_cap = 1000000\n");
	assert_int_equal(f->c.credit_daily_cap, 20000000);
	assert_int_equal(f->c.credit_monthly_cap, 20000000);
	assert_int_equal(f->c.credit_ext_daily_cap, 1);
	assert_int_equal(f->c.credit_ext_monthly_cap, 500000);
	assert_int_equal(f->c.credit_trunk_daily_cap, 0);
	assert_int_equal(f->c.credit_trunk_monthly_cap, INT64_C(1000000000000));

	load_fails(f, "[credit]\ndaily_cap = 20,00\n",
		   "2: bad value for 'daily_cap' in [credit]: '20,00' has a comma: write the decimal "
		   "point as '.' (0.0123) and no thousands separator");
	load_fails(f, "[credit]\ndaily_cap = -5\n",
		   "2: bad value for 'daily_cap' in [credit]: '-5' is negative");
	load_fails(f, "[credit]\next_daily_cap = 0.1234567\n",
		   "2: bad value for 'ext_daily_cap' in [credit]: '0.1234567' has more than 6 decimal "
		   "places: prices are exact to the micro-unit (0.000001)");
	load_fails(f, "[credit]\ntrunk_daily_cap = 1000000.000001\n",
		   "2: bad value for 'trunk_daily_cap' in [credit]: '1000000.000001' is more than the "
		   "largest price, 1000000");
	load_fails(f, "[credit]\nmonthly_cap = £20\n",
		   "2: bad value for 'monthly_cap' in [credit]: '£20' is not a price: write a decimal "
		   "number such as 0.0123");
	load_fails(f, "[credit]\nmonthly_cap = 2e3\n",
		   "2: bad value for 'monthly_cap' in [credit]: '2e3' is not a price: write a decimal "
		   "number such as 0.0123");
	load_fails(f, "[credit]\ndaily_cap =\n",
		   "2: bad value for 'daily_cap' in [credit]: '' is empty");
	load_fails(f, "[credit]\ndaily_cap = 1234567890123456789012345678901234567890\n",
		   "2: bad value for 'daily_cap' in [credit]: '12345678901234567890123456789012...' "
		   "is too long for a price");
}

static void money_prints_exactly_and_round_trips(void **state)
{
	struct fx *f = *state;
	struct rf_conf first;

	load_ok(f, "[credit]\ndaily_cap = 12.5\next_daily_cap = 0.000001\nalert_thresholds = 75\n");
	char *out = print_to_string(&f->c);
	assert_non_null(strstr(out, "\ndaily_cap = 12.50\n"));
	assert_non_null(strstr(out, "\next_daily_cap = 0.000001\n"));
	assert_non_null(strstr(out, "\nmonthly_cap = 1000.00\n"));
	assert_non_null(strstr(out, "\nalert_thresholds = 75\n"));
	first = f->c;
	write_conf(f, out, strlen(out));
	free(out);
	assert_int_equal(conf_load(&f->c, f->path, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->c.credit_daily_cap, first.credit_daily_cap);
	assert_int_equal(f->c.credit_ext_daily_cap, first.credit_ext_daily_cap);
	assert_int_equal(f->c.credit_thresholds.n, 1);
	assert_int_equal(f->c.credit_thresholds.pct[0], 75);
}

static void monthly_caps_below_daily_ones_are_refused(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[credit]\nmonthly_cap = 50\n",
		   "2: monthly_cap (50.00) is below daily_cap (100.00) in [credit]: the daily cap "
		   "could never be reached");
	load_fails(f, "[credit]\next_monthly_cap = 19.99\n\next_daily_cap = 20\n",
		   "4: ext_monthly_cap (19.99) is below ext_daily_cap (20.00) in [credit]: the daily "
		   "cap could never be reached");
	load_fails(f, "[credit]\ntrunk_daily_cap = 10\ntrunk_monthly_cap = 5\n",
		   "3: trunk_monthly_cap (5.00) is below trunk_daily_cap (10.00) in [credit]: the daily "
		   "cap could never be reached");
	/* Equal is fine, and either one 0 (no cap) is too. */
	load_ok(f, "[credit]\ndaily_cap = 30\nmonthly_cap = 30\ntrunk_daily_cap = 10\n"
		   "ext_monthly_cap = 0\n");
	load_ok(f, "[credit]\ndaily_cap = 0\nmonthly_cap = 5\n");
}

static void alert_thresholds(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[credit]\nalert_thresholds = 90\n");
	assert_int_equal(f->c.credit_thresholds.n, 1);
	assert_int_equal(f->c.credit_thresholds.pct[0], 90);
	load_ok(f, "[credit]\nalert_thresholds = 1, 99,100\n");
	assert_int_equal(f->c.credit_thresholds.n, 3);
	assert_int_equal(f->c.credit_thresholds.pct[0], 1);
	assert_int_equal(f->c.credit_thresholds.pct[2], 100);

	load_fails(f, "[credit]\nalert_thresholds = 80,50\n",
		   "2: bad value for 'alert_thresholds' in [credit]: '50' does not follow 80: list the "
		   "percentages in ascending order, each once");
	load_fails(f, "[credit]\nalert_thresholds = 50,50\n",
		   "2: bad value for 'alert_thresholds' in [credit]: '50' does not follow 50: list the "
		   "percentages in ascending order, each once");
	load_fails(f, "[credit]\nalert_thresholds = 50,80,100,100\n",
		   "2: bad value for 'alert_thresholds' in [credit]: too many items (at most 3)");
	load_fails(f, "[credit]\nalert_thresholds = 0,50\n",
		   "2: bad value for 'alert_thresholds' in [credit]: '0' is out of range 1..100");
	load_fails(f, "[credit]\nalert_thresholds = 50,120\n",
		   "2: bad value for 'alert_thresholds' in [credit]: '120' is out of range 1..100");
	load_fails(f, "[credit]\nalert_thresholds = 50%\n",
		   "2: bad value for 'alert_thresholds' in [credit]: '50%' is not a whole number");
	load_fails(f, "[credit]\nalert_thresholds =\n",
		   "2: bad value for 'alert_thresholds' in [credit]: at least 1 percentage needed");
	load_fails(f, "[credit]\nalert_thresholds = 50,,80\n",
		   "2: bad value for 'alert_thresholds' in [credit]: empty item in list '50,,80'");
}

/* ---- structure errors ---- */

static void unknown_sections(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[meda]\nrtp_port_min = 10000\n", "1: unknown section [meda]; did you mean [media]?");
	load_fails(f, "[fax]\n", "1: unknown section [fax]");
	load_fails(f, "[sip]\nport = 5070\n\n[sipp]\n", "4: unknown section [sipp]; did you mean [sip]?");
	load_fails(f, "[registar]\n", "1: unknown section [registar]; did you mean [registrar]?");
	load_fails(f, "[sip\nport = 1\n", "1: section header without ']'");
}

static void unknown_keys(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[registrar]\nmax_expire = 100\n",
		   "2: unknown key 'max_expire' in [registrar]; did you mean 'max_expires'?");
	load_fails(f, "[sip]\n\n# comment\nprot = 5060\n",
		   "4: unknown key 'prot' in [sip]; did you mean 'port'?");
	load_fails(f, "[registrar]\nport = 5060\n",
		   "2: unknown key 'port' in [registrar]; it belongs in [sip]");
	load_fails(f, "[sip]\nrtp_prot_min = 10000\n", "2: unknown key 'rtp_prot_min' in [sip]");
	load_fails(f, "[media]\nrtp_prot_min = 10000\n",
		   "2: unknown key 'rtp_prot_min' in [media]; did you mean 'rtp_port_min'?");
	load_fails(f, "[media]\nrtp_port_min = 10001\n",
		   "2: rtp_port_min (10001) must be even: RTP takes the even port, RTCP the odd one, in [media]");
	load_fails(f, "[sip]\nPort = 5060\n", "2: unknown key 'Port' in [sip]; did you mean 'port'?");
	load_fails(f, "port = 5060\n", "1: key 'port' outside any [section]");
}

static void duplicate_keys(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[sip]\nport = 5060\nport = 5070\n",
		   "3: duplicate key 'port' in [sip] (first set on line 2)");
	/* A section may be reopened, but a key is still set only once. */
	load_fails(f, "[sip]\nport = 5060\n[log]\nsyslog = true\n[sip]\nport = 5060\n",
		   "6: duplicate key 'port' in [sip] (first set on line 2)");
}

static void syntax_errors(void **state)
{
	struct fx *f = *state;
	char text[3000];

	load_fails(f, "[sip]\nport 5060\n",
		   "2: expected 'key = value' or '[section]': 'port' has no '='");
	/* the rest of such a line is never repeated: it may be a secret */
	load_fails(f, "[alerts]\nsmtp_password hunter2-Secret\n",
		   "2: expected 'key = value' or '[section]': 'smtp_password' has no '='");
	load_fails(f, "[alerts]\nhunter2-Secret\n",
		   "2: expected 'key = value' or '[section]' (the line is not repeated: it may hold a secret)");
	memset(text, 0, sizeof(text));
	memcpy(text, "[sip]\nuser_agent = ", 19);
	memset(text + 19, 'a', 2100);
	text[2119] = '\n';
	load_fails(f, text, "2: line too long (at most 2048 characters)");
	/* Long but allowed: the value is still checked like any other. */
	memset(text + 19, 'a', 300);
	memcpy(text + 319, " ; note\n", 9);
	load_fails(f, text, "2: bad value for 'user_agent' in [sip]: too long (300 characters, at most 127)");

	static const char nul[] = "[sip]\nport = 50\0" "60\n";
	write_conf(f, nul, sizeof(nul) - 1);
	assert_int_equal(conf_load(&f->c, f->path, f->err, sizeof(f->err)), EINVAL);
	assert_non_null(strstr(f->err, ":2: line contains a NUL byte"));
}

static void layout_is_forgiving(void **state)
{
	struct fx *f = *state;

	/* Indentation, CRLF, comments, inline comments and a BOM. */
	load_ok(f, "\xEF\xBB\xBF# Ringfence\r\n[sip]\r\n  port = 5070\r\n\ttls_port = 5071 ; TLS\r\n"
		   "; port = 1\n#tls_port = 2\n[registrar]\n    max_contacts=5\n");
	assert_int_equal(f->c.port, 5070);
	assert_int_equal(f->c.tls_port, 5071);
	assert_int_equal(f->c.max_contacts, 5);
}

static void missing_file(void **state)
{
	struct fx *f = *state;
	char missing[256], want[320];

	snprintf(missing, sizeof(missing), "%s/nope.conf", f->dir);
	assert_int_equal(conf_load(&f->c, missing, f->err, sizeof(f->err)), ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", missing);
	assert_string_equal(f->err, want);
}

static void failed_load_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct rf_conf before;

	load_ok(f, "[sip]\nport = 5070\n");
	before = f->c;
	load_fails(f, "[sip]\nport = 5080\nbogus = 1\n", "3: unknown key 'bogus' in [sip]");
	assert_memory_equal(&before, &f->c, sizeof(before));
}

/* ---- cross-field rules ---- */

static void cross_field_rules(void **state)
{
	struct fx *f = *state;

	load_fails(f, "[registrar]\nmin_expires = 4000\n",
		   "2: min_expires (4000) is greater than max_expires (3600) in [registrar]");
	load_fails(f, "[registrar]\nmax_expires = 600\nmin_expires = 60\n",
		   "3: default_expires (3600) must lie between min_expires (60) and max_expires (600) in [registrar]");
	load_fails(f, "[registrar]\ndefault_expires = 30\n",
		   "2: default_expires (30) must lie between min_expires (60) and max_expires (3600) in [registrar]");
	load_ok(f, "[registrar]\nmin_expires = 600\nmax_expires = 600\ndefault_expires = 600\n");

	load_fails(f, "[sip]\nport = 5070\n\ntls_port = 5070\n",
		   "4: tls_port must differ from port (both 5070) in [sip]");
	load_fails(f, "[sip]\ntls_port = 5060\n", "2: tls_port must differ from port (both 5060) in [sip]");
	load_fails(f, "[sip]\ntls_port = 0\n", "2: transports includes tls but tls_port is 0 in [sip]");
	load_ok(f, "[sip]\ntls_port = 0\ntransports = udp,tcp\n");
	assert_int_equal(f->c.tls_port, 0);
	assert_false(f->c.tls);
}

/* ---- printing and the starter file ---- */

static void print_shows_every_key_and_round_trips(void **state)
{
	struct fx *f = *state;
	struct rf_conf first;

	load_ok(f, "[sip]\nlisten = 127.0.0.1,::1\ntransports = udp,tls\nuser_agent = Acme\n"
		   "[security]\nlan = 10.8.0.0/16,fd00::/8\n[log]\nsyslog = yes\n");
	first = f->c;
	char *out = print_to_string(&first);
	assert_non_null(strstr(out, "\n[sip]\nlisten = 127.0.0.1,::1\nport = 5060\ntls_port = 5061\n"
				    "transports = udp,tls\nrealm = 127.0.0.1\n"));
	assert_non_null(strstr(out, "\nlan = 10.8.0.0/16,fd00::/8\n"));
	assert_non_null(strstr(out, "\nsyslog = true\n"));
	assert_non_null(strstr(out, "\nuser_agent = Acme\n"));
	assert_non_null(strstr(out, "\nmax_contacts = 3\n"));

	/* What check-config prints loads back to the same configuration. */
	load_ok(f, out);
	char *again = print_to_string(&f->c);
	assert_string_equal(out, again);
	free(out);
	free(again);
}

static void firewall_nft_set(void **state)
{
	struct fx *f = *state;

	load_ok(f, "");
	assert_string_equal(f->c.nft_set, "");
	load_ok(f, "[firewall]\nnft_set = inet ringfence banned\n");
	assert_string_equal(f->c.nft_set, "inet ringfence banned");
	load_fails(f, "[firewall]\nnft_set = ip ringfence banned\n",
		   "2: bad value for 'nft_set' in [firewall]: family 'ip' is not supported: "
		   "use inet, whose one table filters IPv4 and IPv6 alike");
	load_fails(f, "[firewall]\nnft_set = inet ringfence\n",
		   "2: bad value for 'nft_set' in [firewall]: the set name is missing: "
		   "write 'inet TABLE SET'");
	load_fails(f, "[firewall]\nnft_set = inet ring;fence banned\n",
		   "2: bad value for 'nft_set' in [firewall]: the table name 'ring;fence' may hold "
		   "only letters, digits and '_', starting with a letter");
	load_fails(f, "[firewall]\nnft_set = inet ringfence banned extra\n",
		   "2: bad value for 'nft_set' in [firewall]: unexpected text after the set name: "
		   "write 'inet TABLE SET'");
}

static void reload_copies_only_reloadable_keys(void **state)
{
	struct fx *f = *state;
	struct rf_conf running;

	load_ok(f, "");
	running = f->c;
	load_ok(f, "[sip]\nport = 5070\n[calls]\nmax_calls = 5\n"
		   "[security]\nlan = 10.8.0.0/24, 10.9.0.0/24\n"
		   "[registrar]\ndigest_algorithms = md5\n[guard]\nban_failures = 7\n"
		   "[fraud]\ncalls_per_minute_crit = 25\n"
		   "[credit]\next_daily_cap = 5\nalert_thresholds = 90\n");
	conf_apply_reloadable(&running, &f->c);
	assert_int_equal(running.credit_ext_daily_cap, 5000000);
	assert_int_equal(running.credit_thresholds.n, 1);
	assert_int_equal(running.credit_thresholds.pct[0], 90);
	assert_int_equal(running.max_calls, 5);
	assert_int_equal(running.fraud_cpm_crit, 25);
	assert_int_equal(running.ban_failures, 7);
	assert_int_equal(running.nlan, 2);
	assert_int_equal(running.ndigest_algs, 1);
	/* Binding a new port needs a restart. */
	assert_int_equal(running.port, 5060);
}

struct diff_seen {
	char names[512];
	unsigned restart, reloadable;
};

static void diff_collect(void *arg, const char *section, const char *name, bool reloadable)
{
	struct diff_seen *d = arg;
	size_t len = strlen(d->names);

	snprintf(d->names + len, sizeof(d->names) - len, "%s.%s ", section, name);
	if (reloadable)
		d->reloadable++;
	else
		d->restart++;
}

/* A reload names every changed key, lists by their entries, and [alerts]
 * can be put back as a whole when the alerter refuses them. */
static void reload_names_changed_keys_and_keeps_refused_ones(void **state)
{
	struct fx *f = *state;
	struct rf_conf running, fresh;
	struct diff_seen d = {0};

	load_ok(f, "[security]\nlan = 10.8.0.0/24\n");
	running = f->c;
	assert_int_equal(conf_diff(&running, &f->c, NULL, diff_collect, &d), 0);
	/* Bytes beyond a list's count are not part of its value. */
	f->c.lan[5] = f->c.lan[0];
	assert_int_equal(conf_diff(&running, &f->c, NULL, NULL, NULL), 0);

	load_ok(f, "[sip]\nport = 5070\n[security]\nlan = 10.8.0.0/24, 10.9.0.0/24\n"
		   "[media]\nno_media_timeout = 5\n"
		   "[alerts]\nsmtp_url = smtp://127.0.0.1:2525\nmail_from = pbx@example.org\n"
		   "mail_to = new@example.org\nsmtp_user = u\nsmtp_password = s3cret-Pw\n");
	fresh = f->c;
	assert_int_equal(conf_diff(&running, &fresh, NULL, diff_collect, &d), 8);
	assert_string_equal(d.names, "sip.port security.lan media.no_media_timeout "
			    "alerts.smtp_url alerts.smtp_user alerts.smtp_password "
			    "alerts.mail_from alerts.mail_to ");
	assert_int_equal(d.restart, 1);
	assert_int_equal(conf_diff(&running, &fresh, "alerts", NULL, NULL), 5);

	conf_apply_reloadable(&running, &fresh);
	assert_string_equal(running.mail_to, "new@example.org");
	memset(&d, 0, sizeof(d));
	assert_int_equal(conf_diff(&running, &fresh, NULL, diff_collect, &d), 1);
	assert_string_equal(d.names, "sip.port ");

	/* Refused: the section goes back to what ran before. */
	load_ok(f, "");
	conf_keep(&running, &f->c, "alerts", NULL);
	assert_string_equal(running.mail_to, "");
	assert_string_equal(running.smtp_password, "");
	assert_int_equal(running.no_media_timeout, 5);
	conf_keep(&running, &f->c, "media", "no_media_timeout");
	assert_int_equal(running.no_media_timeout, 60);
	assert_int_equal(running.nlan, 2);
	memset(&d, 0, sizeof(d));
	assert_int_equal(conf_diff(&running, &fresh, NULL, diff_collect, &d), 7);
	assert_int_equal(d.reloadable, 6);
}

static void every_key_is_documented(void **state)
{
	struct fx *f = *state;
	const char *data = getenv("RF_TEST_DATA");
	char docpath[512], needle[96];
	int keys = 0;

	assert_non_null(data);
	snprintf(docpath, sizeof(docpath), "%s/../../docs/config.md", data);
	FILE *d = fopen(docpath, "r");
	assert_non_null(d);
	char *doc = calloc(1, 200000);
	assert_true(fread(doc, 1, 199999, d) > 0);
	fclose(d);

	load_ok(f, "");
	char *out = print_to_string(&f->c), *save = NULL;
	for (char *ln = strtok_r(out, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char key[64];
		if (ln[0] == '[') {
			snprintf(needle, sizeof(needle), "## [%.*s]", (int)(strchr(ln, ']') - ln - 1), ln + 1);
		} else if (sscanf(ln, "%63[a-z_] =", key) == 1) {
			snprintf(needle, sizeof(needle), "`%s`", key);
			keys++;
		} else {
			continue;
		}
		if (!strstr(doc, needle))
			fail_msg("docs/config.md does not document %s", needle);
	}
	assert_int_equal(keys, 90 + 7 + 2 + 1);
	free(out);
	free(doc);
}

static void initial_file_round_trips(void **state)
{
	struct fx *f = *state;
	struct stat st;

	unlink(f->path);
	assert_int_equal(conf_write_initial(f->path, "127.0.0.1", 5070, "pbx.example.org"), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(conf_load(&f->c, f->path, f->err, sizeof(f->err)), 0);
	assert_string_equal(f->c.listen[0], "127.0.0.1");
	assert_int_equal(f->c.port, 5070);
	assert_int_equal(f->c.tls_port, 5071);
	assert_string_equal(f->c.realm, "pbx.example.org");

	/* Everything else is at its default, so it matches an empty file. */
	struct rf_conf written = f->c;
	load_ok(f, "[sip]\nport = 5070\ntls_port = 5071\nrealm = pbx.example.org\n");
	assert_memory_equal(&written, &f->c, sizeof(written));
}

static void initial_file_documents_every_key(void **state)
{
	struct fx *f = *state;
	char buf[8192];

	unlink(f->path);
	assert_int_equal(conf_write_initial(f->path, "::1", 6000, NULL), 0);
	FILE *fp = fopen(f->path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\nlisten = ::1\n"));
	assert_non_null(strstr(buf, "\nport = 6000\n"));
	assert_non_null(strstr(buf, "\ntls_port = 6001\n"));
	assert_non_null(strstr(buf, "\nrealm = ::1\n")); /* defaults to listen */
	assert_non_null(strstr(buf, "\n; max_contacts = 3\n"));
	assert_non_null(strstr(buf, "\n; min_expires = 60\n"));
	assert_non_null(strstr(buf, "\n; security_log = security.log\n"));
	assert_non_null(strstr(buf, "\n[store]\n"));
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

static void initial_file_never_overwrites_or_leaves_junk(void **state)
{
	struct fx *f = *state;
	char before[64];

	write_conf(f, "# mine\n", 7);
	assert_int_equal(conf_write_initial(f->path, "127.0.0.1", 5060, NULL), EEXIST);
	FILE *fp = fopen(f->path, "r");
	assert_non_null(fgets(before, sizeof(before), fp));
	fclose(fp);
	assert_string_equal(before, "# mine\n");
	assert_int_equal(count_entries(f->dir), 1);

	unlink(f->path);
	assert_int_equal(conf_write_initial(f->path, "not-an-ip", 5060, NULL), EINVAL);
	assert_int_equal(conf_write_initial(f->path, "127.0.0.1", 65535, NULL), EINVAL);
	assert_int_equal(conf_write_initial(f->path, "127.0.0.1", 0, NULL), EINVAL);
	assert_int_equal(conf_write_initial(f->path, "127.0.0.1", 5060, "bad\"realm"), EINVAL);
	assert_int_equal(count_entries(f->dir), 0);

	char nodir[256];
	snprintf(nodir, sizeof(nodir), "%s/missing/ringfence.conf", f->dir);
	assert_int_equal(conf_write_initial(nodir, "127.0.0.1", 5060, NULL), ENOENT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(empty_file_gives_every_default),
		T(fraud_defaults),
		T(fraud_levels_are_ordered),
		T(conf_defaults_match_an_empty_file),
		T(strings),
		T(paths_resolve_against_the_config_directory),
		T(relative_config_name_gives_absolute_paths),
		T(uint_bounds),
		T(uint_syntax),
		T(booleans),
		T(money),
		T(money_prints_exactly_and_round_trips),
		T(monthly_caps_below_daily_ones_are_refused),
		T(alert_thresholds),
		T(address_lists),
		T(cidr_lists),
		T(transports),
		T(log_levels),
		T(unknown_sections),
		T(unknown_keys),
		T(duplicate_keys),
		T(syntax_errors),
		T(layout_is_forgiving),
		T(missing_file),
		T(failed_load_changes_nothing),
		T(cross_field_rules),
		T(print_shows_every_key_and_round_trips),
		T(firewall_nft_set),
		T(reload_copies_only_reloadable_keys),
		T(reload_names_changed_keys_and_keeps_refused_ones),
		T(every_key_is_documented),
		T(initial_file_round_trips),
		T(initial_file_documents_every_key),
		T(initial_file_never_overwrites_or_leaves_junk),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
