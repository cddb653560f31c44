/* Flood protection (S5): what the guard decides about every packet before
 * it is parsed.
 *
 * - Token buckets per source address: a source may send `rate` packets a
 *   second with bursts of up to `burst`; a source that holds an
 *   authenticated registration gets the larger `rate_registered` and
 *   `burst_registered`. A packet over budget is dropped and counted.
 * - A source that stays over its budget for `sustain_ms` (drops with no
 *   quiet second between them) is flooding: the caller bans it.
 * - Malformed messages are glitches: `glitches` of them within
 *   `glitch_window_ms` and the caller bans the source (HAProxy's idea).
 * - Overload: the signalling thread is behind when the receive path came
 *   back full FLOOD_BEHIND_STREAK times in a row *and* at least a quarter
 *   of what it read was real work (parsed, or shed only because of the
 *   overload), FLOOD_BEHIND_REPORTS reports in a row. A flood that the buckets and bans already drop before
 *   parsing is cheap, and refusing calls would not make it cheaper. The
 *   state holds until FLOOD_OVERLOAD_HOLD_MS pass without that sign, so
 *   it cannot flap faster than that (and neither can its events).
 *
 * Sources are tracked for at most `max_tracked` addresses, the least
 * recently seen forgotten first, so a spray of addresses costs a bounded
 * table and only makes us forget old counters. Pure logic over an injected
 * millisecond clock; the caller bans, persists and logs. Single-threaded. */
#ifndef RF_GUARD_FLOOD_H
#define RF_GUARD_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "guard/ban.h"

/* Consecutive full receive passes that mean the loop is behind: one pass
 * reads up to SIP_UDP_RECV_BATCH * SIP_UDP_RECV_ROUNDS datagrams, so four
 * in a row is over a thousand datagrams read back to back with more still
 * queued in the kernel. A burst from an office fits in one. */
#define FLOOD_BEHIND_STREAK 4u
/* Reports in a row that must show it before the overload begins: the
 * tick reports every 100 ms, and a burst (every stranger's first bucket
 * at once) is worked off within one. */
#define FLOOD_BEHIND_REPORTS 3u
/* Time without that sign before the overload is over. */
#define FLOOD_OVERLOAD_HOLD_MS 5000

/* A quiet gap this long between two drops ends an over-budget episode. */
#define FLOOD_QUIET_MS 1000

/* How often a source's registered state is looked up again. */
#define FLOOD_RECHECK_MS 1000

struct flood_config {
	unsigned rate, burst;                       /* 100/s, 400 */
	unsigned rate_registered, burst_registered; /* 2000/s, 10000 */
	unsigned sustain_ms;                        /* 5000 */
	unsigned glitches;                          /* 50 */
	unsigned glitch_window_ms;                  /* 60000 */
	unsigned max_tracked;                       /* 65536 */
};

void flood_config_defaults(struct flood_config *c);

enum flood_verdict {
	FLOOD_PASS,  /* within budget */
	FLOOD_DROP,  /* over budget: drop silently */
	FLOOD_BAN,   /* over budget for sustain_ms: drop and ban the source */
	FLOOD_SHED,  /* within budget, but overloaded and not registered: drop */
};

/* What a source is, asked at most once per FLOOD_RECHECK_MS per source:
 * a stranger, an address holding an authenticated registration, or a
 * trusted one ([guard] whitelist) that is never held back. */
enum flood_class { FLOOD_UNKNOWN, FLOOD_REGISTERED, FLOOD_TRUSTED };
typedef enum flood_class (*flood_class_fn)(void *arg, const struct ban_addr *src);

struct flood;

int flood_alloc(struct flood **fp, const struct flood_config *cfg);
void flood_free(struct flood *f);
/* Replace the configuration (reload); buckets are clamped to the new sizes. */
void flood_set_config(struct flood *f, const struct flood_config *cfg);

/* One packet from `src` at `now_ms`. FLOOD_BAN is returned once per
 * episode: the source's counters start over. */
enum flood_verdict flood_packet(struct flood *f, const struct ban_addr *src, int64_t now_ms,
				flood_class_fn classify, void *arg);
/* `src` just authenticated: it gets the registered budget at once. */
void flood_mark_registered(struct flood *f, const struct ban_addr *src);
/* A malformed message from `src`: true when it has reached `glitches`
 * within the window (its glitch count then starts over). */
bool flood_glitch(struct flood *f, const struct ban_addr *src, int64_t now_ms);
/* Forget a source (after it was banned). */
void flood_forget(struct flood *f, const struct ban_addr *src);

/* Every tick: the longest streak of full receive passes seen since the
 * last call, the messages read in that time and how many of them were
 * work (past the buckets and bans). Returns +1 when the overload begins,
 * -1 when it ends, 0 when nothing changed. */
int flood_load(struct flood *f, unsigned streak, unsigned messages, unsigned work,
	       int64_t now_ms);
bool flood_overloaded(const struct flood *f);

/* Counts, for status, logs and tests. */
unsigned flood_tracked(const struct flood *f);
uint64_t flood_dropped(const struct flood *f); /* packets over budget */
uint64_t flood_shed(const struct flood *f);    /* packets shed in overload */

#endif
