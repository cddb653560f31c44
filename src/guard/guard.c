/* The daemon's guard: the ban engine, its persistence and its events.
 * Every hook accepts a NULL guard (a context without one, as in unit
 * tests of the SIP layer) and then does nothing. */
#include "guard/guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/log.h"
#include "guard/alert.h"
#include "guard/ban.h"
#include "guard/nft.h"
#include "guard/nft_helper.h"
#include "guard/scanner.h"
#include "guard/flood.h"
#include "guard/secevent.h"
#include "store/store.h"

#define GUARD_PURGE_EVERY_S 600 /* old ban rows leave the store this often */
#define FLOOD_EVENTS_PER_SEC 10  /* a spray of flooders must not flood the log */

struct guard {
	struct ban_engine *ban;
	struct flood *flood;
	int64_t flood_event_second;
	unsigned flood_events;
	unsigned long flood_events_suppressed;
	uint64_t shed_seen; /* flood_shed() at the last guard_note_load() */
	struct store *store;
	struct alerter *alerter;
	bool enabled;
	unsigned ban_max_s;
	char scanner_agents[512];
	int64_t scanner_log_second;  /* scanner lines from healthy addresses ... */
	unsigned scanner_logged;     /* ... are limited per second */
	int64_t last_purge;
	uint64_t dropped;
	struct nft_helper *nft;   /* borrowed; NULL: bans stay in this process */
	bool nft_resync;          /* commands were lost: sync the sets on the next tick */
	bool nft_gone;            /* the helper has exited: said once */
};

static void guard_ban_config(const struct rf_conf *c, struct ban_config *bc)
{
	ban_config_defaults(bc);
	bc->failures = c->ban_failures;
	bc->window_s = c->ban_window;
	bc->ban_s = c->ban_time;
	bc->ban_max_s = c->ban_time_max;
	bc->scan_extensions = c->scan_extensions;
	bc->nat_accounts = c->nat_accounts;
	bc->lock_failures = c->lock_failures;
	bc->lock_sources = c->lock_sources;
	bc->lock_window_s = c->lock_window;
	bc->lock_s = c->lock_time;
	bc->max_tracked = c->guard_max_tracked;
	bc->nwhitelist = c->nguard_whitelist < BAN_MAX_WHITELIST ? c->nguard_whitelist
								 : BAN_MAX_WHITELIST;
	memcpy(bc->whitelist, c->guard_whitelist, bc->nwhitelist * sizeof(bc->whitelist[0]));
}

static void guard_flood_config(const struct rf_conf *c, struct flood_config *fc)
{
	flood_config_defaults(fc);
	fc->rate = c->flood_rate;
	fc->burst = c->flood_burst;
	fc->rate_registered = c->flood_rate_registered;
	fc->burst_registered = c->flood_burst_registered;
	fc->sustain_ms = c->flood_time * 1000u;
	fc->glitches = c->glitch_max;
	fc->glitch_window_ms = c->glitch_window * 1000u;
	fc->max_tracked = c->guard_max_tracked;
}

int guard_alloc(struct guard **gp, const struct rf_conf *conf, struct store *store)
{
	struct guard *g = calloc(1, sizeof(*g));
	struct ban_config bc;
	struct flood_config fc;
	int err;

	if (!g)
		return ENOMEM;
	guard_ban_config(conf, &bc);
	guard_flood_config(conf, &fc);
	err = ban_alloc(&g->ban, &bc);
	if (!err && (err = flood_alloc(&g->flood, &fc)) != 0)
		ban_free(g->ban);
	if (err) {
		free(g);
		return err;
	}
	g->store = store;
	g->enabled = conf->guard;
	g->ban_max_s = conf->ban_time_max;
	snprintf(g->scanner_agents, sizeof(g->scanner_agents), "%s", conf->scanner_agents);
	*gp = g;
	return 0;
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	ban_free(g->ban);
	flood_free(g->flood);
	free(g);
}

void guard_configure(struct guard *g, const struct rf_conf *conf)
{
	struct ban_config bc;
	struct flood_config fc;

	guard_ban_config(conf, &bc);
	ban_set_config(g->ban, &bc);
	guard_flood_config(conf, &fc);
	flood_set_config(g->flood, &fc);
	/* Turning the guard off or on empties or refills the kernel's sets. */
	if (g->enabled != conf->guard)
		g->nft_resync = true;
	g->enabled = conf->guard;
	g->ban_max_s = conf->ban_time_max;
	snprintf(g->scanner_agents, sizeof(g->scanner_agents), "%s", conf->scanner_agents);
}

/* ---- the kernel's sets (guard/nft_helper.h) ---- */

void guard_set_firewall(struct guard *g, struct nft_helper *h)
{
	g->nft = h;
}

static void guard_nft_gone(struct guard *g)
{
	g->nft_gone = true;
	log_error("firewall helper has stopped: bans are no longer mirrored into nftables "
		  "(restart the daemon)");
}

/* Hand one command to the helper's queue. When even the queue is full,
 * everything in it is dropped for a resync on the next tick; the
 * in-process ban holds meanwhile. */
static void guard_nft_send(struct guard *g, const struct nft_cmd *c)
{
	int err;

	if (!g->nft || g->nft_gone || g->nft_resync)
		return;
	err = nft_helper_queue(g->nft, c);
	if (err == ENOSPC) {
		log_warn("firewall helper is behind; the nftables sets will be synced again");
		nft_helper_discard(g->nft);
		g->nft_resync = true;
	} else if (err == EPIPE) {
		guard_nft_gone(g);
	}
}

static void guard_nft_add(struct guard *g, const struct ban_addr *a, int64_t until, int64_t now)
{
	struct nft_cmd c = {.op = NFT_ADD, .addr = *a};
	int64_t left = until - now;

	if (left <= 0)
		return;
	c.timeout = left > NFT_TIMEOUT_MAX ? NFT_TIMEOUT_MAX : (unsigned)left;
	guard_nft_send(g, &c);
}

static void guard_nft_del(struct guard *g, const struct ban_addr *a)
{
	struct nft_cmd c = {.op = NFT_DEL, .addr = *a};

	guard_nft_send(g, &c);
}

struct nft_sync {
	struct guard *g;
	int64_t now;
};

static int sync_ban(const struct ban_record *r, void *arg)
{
	struct nft_sync *s = arg;
	struct ban_addr a;

	if (ban_addr_parse(r->addr, &a) == 0 && ban_source_banned(s->g->ban, &a, s->now))
		guard_nft_add(s->g, &a, r->until, s->now);
	return 0;
}

/* Empty the sets and add every ban in force with what is left of it.
 * Whatever was still queued is superseded by the flush. The helper runs
 * what arrives together as one transaction, so a resync normally swaps
 * the sets' contents in one step. */
static void guard_nft_sync(struct guard *g, int64_t now)
{
	struct nft_cmd flush = {.op = NFT_FLUSH};
	struct nft_sync s = {g, now};

	if (!g->nft || g->nft_gone)
		return;
	nft_helper_discard(g->nft);
	g->nft_resync = false;
	guard_nft_send(g, &flush);
	if (g->enabled && store_ban_foreach(g->store, sync_ban, &s) != 0)
		g->nft_resync = true;
}

void guard_firewall_pump(struct guard *g)
{
	if (g && g->nft && !g->nft_gone && nft_helper_pending(g->nft) > 0 &&
	    nft_helper_pump(g->nft) == EPIPE)
		guard_nft_gone(g);
}

/* ---- the store ---- */

static int load_ban(const struct ban_record *r, void *arg)
{
	struct guard *g = arg;
	struct ban_addr a;

	if (ban_addr_parse(r->addr, &a) != 0)
		return 0; /* the CLI checks addresses: nothing to do with a bad row */
	if (ban_put(g->ban, &a, r->until, r->level, ban_reason_parse(r->reason)) != 0)
		log_warn("ban table full: a stored ban is not in force");
	return 0;
}

static int load_lock(const struct lock_record *r, void *arg)
{
	struct guard *g = arg;

	ban_lock_put(g->ban, r->ext, strlen(r->ext), r->until);
	return 0;
}

int guard_load(struct guard *g)
{
	int err;

	ban_clear(g->ban);
	err = store_ban_foreach(g->store, load_ban, g);
	if (!err)
		err = store_lock_foreach(g->store, load_lock, g);
	if (err)
		log_warn("cannot read bans and locks (%s)", strerror(err));
	else
		guard_nft_sync(g, time(NULL));
	return err;
}

/* ---- events ---- */

static void iso_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

static void event_ban_added(const struct ban_addr *a, const struct ban_news *n, int64_t now)
{
	char addr[64], until[32];
	struct secev e;

	ban_addr_format(a, addr, sizeof(addr));
	iso_time(n->ban_until, until, sizeof(until));
	secev_begin(&e, "ban_added");
	secev_token(&e, "addr", addr);
	secev_token(&e, "reason", ban_reason_name(n->ban_reason));
	secev_uint(&e, "duration", (unsigned long long)(n->ban_until - now));
	secev_uint(&e, "level", n->ban_level);
	secev_token(&e, "until", until);
	secev_token(&e, "by", "guard");
	secev_emit(&e);
}

static void event_pair_blocked(const struct sockaddr *src, const char *proto, const char *ext,
			       size_t extlen, const struct ban_news *n)
{
	char until[32];
	struct secev e;

	iso_time(n->pair_until, until, sizeof(until));
	secev_begin(&e, "pair_blocked");
	secev_src(&e, src, proto);
	secev_untrusted(&e, "ext", ext, extlen);
	secev_token(&e, "until", until);
	secev_emit(&e);
}

static void event_account_locked(const struct sockaddr *src, const char *proto,
				 const char *ext, size_t extlen, const struct ban_news *n)
{
	char until[32];
	struct secev e;

	iso_time(n->lock_until, until, sizeof(until));
	secev_begin(&e, "account_locked");
	secev_src(&e, src, proto);
	secev_untrusted(&e, "ext", ext, extlen);
	secev_uint(&e, "failures", n->lock_failures);
	secev_uint(&e, "sources", n->lock_sources);
	secev_token(&e, "until", until);
	secev_emit(&e);
}

/* ---- alerts ---- */

static void alert_ban_added(struct guard *g, const struct ban_addr *a, const struct ban_news *n,
			    int64_t now)
{
	char addr[64], until[32], subject[128], text[512];
	/* A flood ban is the flood's alert: its own kind and rate limit, so
	 * a flood from many addresses does not use up the bans' limit. */
	bool flood = n->ban_reason == BAN_FLOOD;

	if (!g->alerter)
		return;
	ban_addr_format(a, addr, sizeof(addr));
	iso_time(n->ban_until, until, sizeof(until));
	if (flood)
		snprintf(subject, sizeof(subject), "Flood from %s: banned", addr);
	else
		snprintf(subject, sizeof(subject), "Banned %s (%s)", addr,
			 ban_reason_name(n->ban_reason));
	snprintf(text, sizeof(text),
		 "The guard banned the address %s for %lld seconds, until %s.\n"
		 "Reason: %s. Earlier bans of this address: %u.\n"
		 "A banned address gets no answer at all. To lift the ban: ringfence ban del %s",
		 addr, (long long)(n->ban_until - now), until, ban_reason_name(n->ban_reason),
		 n->ban_level, addr);
	alert_raise(g->alerter, flood ? ALERT_FLOOD : ALERT_BAN_ADDED, subject, text);
}

static void alert_account_locked(struct guard *g, const struct sockaddr *src, const char *ext,
				 size_t extlen, const struct ban_news *n)
{
	char addr[64], until[32], subject[160], text[640];
	struct ban_addr a;

	if (!g->alerter)
		return;
	ban_addr_from_sockaddr(src, &a);
	ban_addr_format(&a, addr, sizeof(addr));
	iso_time(n->lock_until, until, sizeof(until));
	/* The extension is what an attacker typed: alert_raise sanitises
	 * it for every channel. */
	snprintf(subject, sizeof(subject), "Extension %.*s locked", (int)(extlen > 64 ? 64 : extlen),
		 ext);
	snprintf(text, sizeof(text),
		 "The guard locked extension %.*s until %s after %u failed logins from %u "
		 "addresses (the last from %s): someone is guessing its password from many "
		 "places.\nWhile locked it answers like a wrong password, also to its own phones. "
		 "To unlock it: ringfence ext unlock %.*s",
		 (int)(extlen > 64 ? 64 : extlen), ext, until, n->lock_failures, n->lock_sources,
		 addr, (int)(extlen > 64 ? 64 : extlen), ext);
	alert_raise(g->alerter, ALERT_ACCOUNT_LOCKED, subject, text);
}

/* Persist and announce what an event led to. */
static void guard_apply(struct guard *g, const struct sockaddr *src, const char *proto,
			const struct ban_addr *a, const char *ext, size_t extlen,
			const struct ban_news *n, int64_t now)
{
	if (n->banned) {
		struct ban_record r = {0};

		ban_addr_format(a, r.addr, sizeof(r.addr));
		r.created = now;
		r.until = n->ban_until;
		r.level = n->ban_level;
		snprintf(r.reason, sizeof(r.reason), "%s", ban_reason_name(n->ban_reason));
		if (store_ban_put(g->store, &r) != 0)
			log_warn("cannot store the ban of %s; it holds until a restart", r.addr);
		event_ban_added(a, n, now);
		guard_nft_add(g, a, n->ban_until, now);
		alert_ban_added(g, a, n, now);
	}
	if (n->pair_blocked)
		event_pair_blocked(src, proto, ext, extlen, n);
	if (n->locked) {
		struct lock_record r = {0};

		snprintf(r.ext, sizeof(r.ext), "%.*s", (int)extlen, ext);
		r.created = now;
		r.until = n->lock_until;
		r.failures = n->lock_failures;
		r.sources = n->lock_sources;
		if (store_lock_put(g->store, &r) != 0)
			log_warn("cannot store the lock of an extension; it holds until a restart");
		event_account_locked(src, proto, ext, extlen, n);
		alert_account_locked(g, src, ext, extlen, n);
	}
}

/* ---- the hooks ---- */

bool guard_silence(struct guard *g, const struct sockaddr *src, int64_t now)
{
	struct ban_addr a;

	if (!g || !g->enabled)
		return false;
	ban_addr_from_sockaddr(src, &a);
	if (!ban_source_banned(g->ban, &a, now))
		return false;
	g->dropped++;
	return true;
}

bool guard_pair_blocked(struct guard *g, const struct sockaddr *src, const char *ext,
			size_t extlen, int64_t now)
{
	struct ban_addr a;

	if (!g || !g->enabled)
		return false;
	ban_addr_from_sockaddr(src, &a);
	return ban_pair_blocked(g->ban, &a, ext, extlen, now);
}

bool guard_locked(struct guard *g, const char *ext, size_t extlen, int64_t now)
{
	return g && g->enabled && ban_account_locked(g->ban, ext, extlen, now);
}

void guard_failure(struct guard *g, const struct sockaddr *src, const char *proto,
		   const char *ext, size_t extlen, bool known, int64_t now)
{
	struct ban_news n;
	struct ban_addr a;

	if (!g || !g->enabled)
		return;
	ban_addr_from_sockaddr(src, &a);
	ban_auth_failure(g->ban, &a, ext, extlen, known, ban_is_healthy(g->ban, &a, now), now, &n);
	guard_apply(g, src, proto, &a, ext, extlen, &n, now);
}

void guard_challenged(struct guard *g, const struct sockaddr *src, const char *proto,
		      const char *ext, size_t extlen, int64_t now)
{
	struct ban_news n;
	struct ban_addr a;

	if (!g || !g->enabled)
		return;
	ban_addr_from_sockaddr(src, &a);
	ban_challenged(g->ban, &a, ext, extlen, ban_is_healthy(g->ban, &a, now), now, &n);
	guard_apply(g, src, proto, &a, ext, extlen, &n, now);
}

void guard_success(struct guard *g, const struct sockaddr *src, const char *ext,
		   size_t extlen, int64_t healthy_until)
{
	struct ban_addr a;

	if (!g)
		return;
	ban_addr_from_sockaddr(src, &a);
	ban_auth_success(g->ban, &a, ext, extlen);
	ban_mark_healthy(g->ban, &a, healthy_until);
	flood_mark_registered(g->flood, &a);
}

#define GUARD_SCANNER_LOG_PER_SEC 10

static void scanner_event(const struct sockaddr *src, const char *proto, const char *tool,
			  const char *ua, size_t ualen)
{
	struct secev e;

	secev_begin(&e, "scanner_detected");
	secev_src(&e, src, proto);
	secev_token(&e, "tool", tool);
	if (ua)
		secev_untrusted(&e, "ua", ua, ualen);
	secev_emit(&e);
}

static bool guard_scanner_log_allowed(struct guard *g, int64_t now)
{
	if (g->scanner_log_second != now) {
		g->scanner_log_second = now;
		g->scanner_logged = 0;
	}
	return g->scanner_logged++ < GUARD_SCANNER_LOG_PER_SEC;
}

bool guard_scanner(struct guard *g, const struct sockaddr *src, const char *proto,
		   const char *ua, size_t ualen, const char *from, size_t fromlen, int64_t now)
{
	const char *tool;
	struct ban_news n;
	struct ban_addr a;

	if (!g || !g->enabled)
		return false;
	tool = scanner_match(ua, ualen, from, fromlen, g->scanner_agents);
	if (!tool)
		return false;
	ban_addr_from_sockaddr(src, &a);
	if (ban_whitelisted(g->ban, &a))
		return false;
	/* Behind an address with registered phones (an office's NAT) only
	 * the tool's requests are dropped: banning would cut off the office.
	 * The tool keeps sending, so its lines are limited. */
	if (ban_is_healthy(g->ban, &a, now)) {
		if (guard_scanner_log_allowed(g, now))
			scanner_event(src, proto, tool, ua, ualen);
		return true;
	}
	scanner_event(src, proto, tool, ua, ualen);
	ban_now(g->ban, &a, BAN_SCAN, now, &n);
	guard_apply(g, src, proto, &a, "", 0, &n, now);
	return true;
}

bool guard_known_peer(const struct guard *g, const struct sockaddr *src, int64_t now)
{
	struct ban_addr a;

	if (!g)
		return false;
	ban_addr_from_sockaddr(src, &a);
	return ban_is_healthy(g->ban, &a, now);
}

/* ---- time passing ---- */

static void on_lifted(void *arg, const struct ban_addr *a, enum ban_reason reason)
{
	struct guard *g = arg;
	char addr[64];
	struct secev e;

	/* The kernel's timeout ended it too; this is for a clock that drifted. */
	guard_nft_del(g, a);
	ban_addr_format(a, addr, sizeof(addr));
	secev_begin(&e, "ban_lifted");
	secev_token(&e, "addr", addr);
	secev_token(&e, "reason", "expired");
	secev_token(&e, "was", ban_reason_name(reason));
	secev_token(&e, "by", "guard");
	secev_emit(&e);
}

static void on_unlocked(void *arg, const char *ext)
{
	struct guard *g = arg;
	struct secev e;

	secev_begin(&e, "account_unlocked");
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_token(&e, "reason", "expired");
	secev_token(&e, "by", "guard");
	secev_emit(&e);
	store_lock_del(g->store, ext);
}

void guard_tick(struct guard *g, int64_t now)
{
	struct ban_sweep_cb cb = {on_lifted, on_unlocked, g};

	ban_sweep(g->ban, now, &cb);
	if (g->nft_resync)
		guard_nft_sync(g, now);
	if (now - g->last_purge >= GUARD_PURGE_EVERY_S) {
		g->last_purge = now;
		store_ban_purge(g->store, now - (int64_t)g->ban_max_s);
	}
}

void guard_set_alerter(struct guard *g, struct alerter *a)
{
	if (g)
		g->alerter = a;
}

void guard_new_network(struct guard *g, const struct sockaddr *src, const char *ext,
		       const char *previous, bool refused)
{
	char addr[64], subject[128], text[640];
	struct ban_addr a;

	if (!g || !g->alerter)
		return;
	ban_addr_from_sockaddr(src, &a);
	ban_addr_format(&a, addr, sizeof(addr));
	snprintf(subject, sizeof(subject), "Extension %.64s registered from a new network", ext);
	snprintf(text, sizeof(text),
		 "Extension %.64s registered from %s, while its registrations were in %s.\n"
		 "%s\nIf this was not a phone of yours, its password is known to someone "
		 "else: change it with ringfence ext passwd %.64s",
		 ext, addr, previous,
		 refused ? "The registration was refused ([security] new_network_registration = deny)."
			 : "The registration was accepted ([security] new_network_registration = alert).",
		 ext);
	alert_raise(g->alerter, ALERT_NEW_NETWORK, subject, text);
}

uint64_t guard_dropped(const struct guard *g)
{
	return g->dropped;
}

/* ---- flood protection ---- */

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	/* The coarse clock costs no system call; its few milliseconds of
	 * resolution are plenty for buckets refilled per second. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool flood_event_allowed(struct guard *g, int64_t now)
{
	if (g->flood_event_second != now) {
		g->flood_event_second = now;
		g->flood_events = 0;
	}
	if (g->flood_events >= FLOOD_EVENTS_PER_SEC) {
		g->flood_events_suppressed++;
		return false;
	}
	g->flood_events++;
	return true;
}

static void event_flood_detected(struct guard *g, const struct sockaddr *src, const char *proto,
				 bool registered, bool banned, int64_t now)
{
	struct secev e;

	if (!flood_event_allowed(g, now))
		return;
	secev_begin(&e, "flood_detected");
	secev_src(&e, src, proto);
	secev_token(&e, "budget", registered ? "registered" : "unknown");
	secev_token(&e, "action", banned ? "banned" : "whitelisted");
	if (g->flood_events_suppressed) {
		secev_uint(&e, "suppressed", g->flood_events_suppressed);
		g->flood_events_suppressed = 0;
	}
	secev_emit(&e);
}

/* Ban a source for a rule of flood.h and announce it. */
static void guard_offence(struct guard *g, const struct sockaddr *src, const char *proto,
			  const struct ban_addr *a, enum ban_reason reason, int64_t now)
{
	struct ban_news n;

	ban_offence(g->ban, a, reason, now, &n);
	if (reason == BAN_FLOOD)
		event_flood_detected(g, src, proto, ban_is_healthy(g->ban, a, now), n.banned, now);
	if (!n.banned)
		return; /* whitelisted: its packets are still held to its budget */
	flood_forget(g->flood, a);
	guard_apply(g, src, proto, a, NULL, 0, &n, now);
}

static enum flood_class classify_source(void *arg, const struct ban_addr *a)
{
	struct guard *g = arg;

	if (ban_whitelisted(g->ban, a))
		return FLOOD_TRUSTED;
	return ban_is_healthy(g->ban, a, (int64_t)time(NULL)) ? FLOOD_REGISTERED : FLOOD_UNKNOWN;
}

bool guard_flood(struct guard *g, const struct sockaddr *src, const char *proto, int64_t now)
{
	struct ban_addr a;

	if (!g || !g->enabled)
		return false;
	ban_addr_from_sockaddr(src, &a);
	switch (flood_packet(g->flood, &a, monotonic_ms(), classify_source, g)) {
	case FLOOD_PASS:
		return false;
	case FLOOD_BAN:
		guard_offence(g, src, proto, &a, BAN_FLOOD, now);
		return true;
	case FLOOD_DROP:
	case FLOOD_SHED:
		break;
	}
	return true;
}

void guard_glitch(struct guard *g, const struct sockaddr *src, const char *proto, int64_t now)
{
	struct ban_addr a;

	if (!g || !g->enabled)
		return;
	ban_addr_from_sockaddr(src, &a);
	if (flood_glitch(g->flood, &a, monotonic_ms()))
		guard_offence(g, src, proto, &a, BAN_GLITCHES, now);
}

static void event_overload(struct guard *g, bool on)
{
	struct secev e;

	secev_begin(&e, "overload");
	secev_token(&e, "state", on ? "on" : "off");
	secev_uint(&e, "dropped", (unsigned long long)flood_dropped(g->flood));
	secev_uint(&e, "shed", (unsigned long long)flood_shed(g->flood));
	secev_emit(&e);
}

void guard_note_load(struct guard *g, unsigned streak, unsigned messages, unsigned work)
{
	uint64_t shed;
	int change;

	if (!g || !g->enabled)
		return; /* nothing is shed, so nothing is announced */
	/* Packets shed in overload would be work without it: counting them
	 * keeps the state from ending just because shedding works. */
	shed = flood_shed(g->flood);
	work += (unsigned)(shed - g->shed_seen);
	g->shed_seen = shed;
	change = flood_load(g->flood, streak, messages, work, monotonic_ms());
	if (change > 0)
		log_warn("overload: the signalling thread is behind; shedding unauthenticated work");
	else if (change < 0)
		log_info("overload over");
	if (change)
		event_overload(g, change > 0);
	if (change > 0)
		alert_raise(g->alerter, ALERT_FLOOD, "Overload: shedding unauthenticated work",
			    "The signalling thread fell behind, so new unauthenticated requests get "
			    "no answer and new calls get 503 until it catches up; registered phones "
			    "and calls in progress go on.\nThe security log has the flood_detected "
			    "and overload events.");
}

bool guard_overloaded(const struct guard *g)
{
	return g && g->enabled && flood_overloaded(g->flood);
}

uint64_t guard_flood_dropped(const struct guard *g)
{
	return flood_dropped(g->flood);
}

uint64_t guard_flood_shed(const struct guard *g)
{
	return flood_shed(g->flood);
}
