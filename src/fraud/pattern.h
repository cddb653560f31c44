/* Calling-pattern analysis (S14): the engine that notices toll fraud by
 * how an extension calls, not by what it calls (barring does that).
 *
 * It is told about every outbound call that passed barring as it starts,
 * when it is answered and when it ends, and reports anomalies: each with
 * a level (warning or critical), a kind, the extension or trunk it is
 * about and a short reason for a person. It never acts: the daemon alerts
 * on both levels and, on a critical anomaly about an extension, suspends
 * that extension's non-internal outbound calling ([fraud]
 * suspend_on_critical) until `ringfence ext resume`. docs/fraud.md has
 * the rules with their defaults and reasons.
 *
 * Static thresholds, per extension and per trunk; a level is reached when
 * the count is at or above it, and 0 turns that level off:
 * - calls per minute: calls started in the last 60 seconds, this one
 *   included, counted in one-second slots;
 * - concurrent: calls started and not yet ended, this one included;
 * - same prefix (a number-range sweep): the length of the current run,
 *   where a run is a sequence of consecutive calls whose numbers share the
 *   first prefix_digits digits after the country code, each started within
 *   PATTERN_RUN_GAP_S of the one before, counting only calls to a number
 *   other than the run's previous one (redialling a busy number is not a
 *   sweep). A call outside the prefix, or after the gap, starts a new run;
 *   numbers without a country code (short codes) and numbers shorter than
 *   the prefix start no run and end the current one;
 * - duration: a live call's answered time, checked by pattern_tick; it is
 *   a rule about the call, reported against its extension.
 *
 * The learned baseline, per extension, from its ended outbound calls (the
 * CDRs at start, then each call as it ends). Each call adds weight 1 to
 * the hour of the week it started in (local time, Monday 00:00-00:59 is
 * hour 0), to its destination class, and to the extension's calls-per-
 * busy-hour and duration averages; every weight halves each
 * half_life_days, so the baseline follows a change of habits over weeks.
 * An extension is judged only once it has history: its first learned call
 * is at least min_history_days old, and its weights add up to at least
 * PATTERN_MIN_WEIGHT calls (an extension that hardly calls has no
 * pattern to break). Rules, for a judged extension:
 * - odd hour: the call starts in an hour of the week that is idle, i.e.
 *   the weights of that hour and the hours either side of it add up to
 *   less than PATTERN_IDLE_MIN_WEIGHT calls or PATTERN_IDLE_SHARE of the
 *   extension's calls, whichever is more. Warning;
 * - rare class: the call is to a class barred by default (international,
 *   premium, personal, directory, service) whose weight is below the same
 *   bound. Warning, critical when the call is also at an odd hour
 *   (out-of-hours international: the classic toll fraud);
 * - calls per hour: the calls started in the last hour (five-minute
 *   slots, this one included) reach rate_factor.warn or .crit times the
 *   extension's normal rate, which is its average calls in an hour that
 *   had calls, but at least PATTERN_RATE_NORMAL_MIN;
 * - long call: a live answered call runs PATTERN_LONG_FACTOR times the
 *   extension's average answered call, and at least PATTERN_LONG_MIN_S.
 *   Warning, once per call, unless its static duration warning came first.
 *
 * Repeats: a warning for a rule and a subject is reported at most once
 * every PATTERN_WARN_REPEAT_S; the duration rules report once per call
 * and level. Critical anomalies are reported every time: each one means
 * "stop this", and suspending twice does no harm.
 *
 * Learning: a call that drew a critical anomaly is not learned, so fraud
 * the daemon stopped does not become the extension's normal. Emergency
 * calls are neither judged nor counted: they are always allowed and
 * always alerted elsewhere.
 *
 * Memory: pattern_ext_bytes() per extension (about 1.1 KB: 168 hourly
 * weights are most of it), at most PATTERN_MAX_EXTS extensions; past that
 * the extension idle longest without a live call is forgotten. Trunks and
 * live calls are bounded by PATTERN_MAX_TRUNKS and PATTERN_MAX_LIVE_CALLS
 * (core/limits.h).
 *
 * Pure logic over an injected clock (unix seconds; the hour of the week
 * comes from localtime_r, i.e. the TZ the process started with).
 * Single-threaded: the signalling thread owns it.
 *
 * How the daemon drives it (signalling thread; `now` is core/clock.h's
 * rf_clock_now(), so tests can move it):
 *
 *   at start:   pattern_config_from_conf(&pc, conf); pattern_alloc(&p, &pc);
 *               store_cdr_foreach(store, pattern_history_since_ms(p, now),
 *                                 pattern_learn_cdr, p);
 *   on SIGHUP:  pattern_config_from_conf(&pc, conf); pattern_set_config(p, &pc);
 *   a call barring let out, once its trunk is known ("" if none):
 *               lvl = pattern_call_start(p, ext, trunk, &outbound.num, now,
 *                                        on_anomaly, ctx, &call->pattern);
 *               if the extension is now suspended (on_anomaly did it), refuse
 *               the call as barring would and pattern_call_end() it at once;
 *   on its 2xx: pattern_call_answered(p, call->pattern, now);
 *   at its end: pattern_call_end(p, call->pattern, now);  (every call started)
 *   every 1 s:  pattern_tick(p, now, on_anomaly, ctx);
 *
 *   on_anomaly(ctx, a): pattern_anomaly_format() the anomaly for the log
 *   and alert_raise(ALERT_FRAUD, ...) it; if a->level is PATTERN_CRITICAL,
 *   a->scope is PATTERN_EXT and [fraud] suspend_on_critical is on, set
 *   a->subject's suspended and suspended_why (a->reason) in the store.
 *   Trunk anomalies name the extension whose call crossed the level in
 *   a->ext; they alert, and suspend no one by themselves. */
#ifndef RF_FRAUD_PATTERN_H
#define RF_FRAUD_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "fraud/numplan.h"
#include "store/store.h"

struct rf_conf;

/* A run of same-prefix calls ends after this long without one: an hour,
 * so a slow sweep still counts, and a morning of calls into one company's
 * number range does not add up over a day. */
#define PATTERN_RUN_GAP_S 3600
/* The longest prefix_digits: longer prefixes are single numbers. */
#define PATTERN_PREFIX_DIGITS_MAX 12

/* Enough history to judge: this much weight, in calls. */
#define PATTERN_MIN_WEIGHT 20.0f
/* Idle: below this many calls, or this share of all calls, whichever is
 * more. The share scales with a busy extension, the minimum with a
 * quiet one. */
#define PATTERN_IDLE_MIN_WEIGHT 0.5f
#define PATTERN_IDLE_SHARE 0.01f
/* A normal rate below this many calls an hour is read as this: five calls
 * in an hour from an extension that usually makes one is no anomaly. */
#define PATTERN_RATE_NORMAL_MIN 3.0f
/* Long call: this many times the extension's average, and at least this
 * long. */
#define PATTERN_LONG_FACTOR 10.0f
#define PATTERN_LONG_MIN_S 1800
/* A warning for one rule and subject is not repeated sooner: the
 * default [alerts] rate_window, by which time a person has read it. */
#define PATTERN_WARN_REPEAT_S 600
/* The baseline's weights are rescaled at most this often. */
#define PATTERN_DECAY_STEP_S 3600
/* History older than this many half-lives weighs under 1/16 of a call:
 * pattern_history_since_ms() does not read it. */
#define PATTERN_HISTORY_HALF_LIVES 4

enum pattern_level {
	PATTERN_NONE = 0,
	PATTERN_WARNING,
	PATTERN_CRITICAL,
};

enum pattern_kind {
	PATTERN_CALLS_PER_MINUTE = 0, /* static */
	PATTERN_CONCURRENT,           /* static */
	PATTERN_SAME_PREFIX,          /* static */
	PATTERN_DURATION,             /* static, from pattern_tick */
	PATTERN_ODD_HOUR,             /* baseline */
	PATTERN_RARE_CLASS,           /* baseline */
	PATTERN_CALLS_PER_HOUR,       /* baseline */
	PATTERN_LONG_CALL,            /* baseline, from pattern_tick */
	PATTERN_KIND__COUNT
};

/* "calls_per_minute", "concurrent", "same_prefix", "duration", "odd_hour",
 * "rare_class", "calls_per_hour", "long_call"; NULL outside the enum. */
const char *pattern_kind_name(enum pattern_kind k);
/* "warning", "critical"; NULL for anything else. */
const char *pattern_level_name(enum pattern_level l);

enum pattern_scope {
	PATTERN_EXT = 0,  /* about an extension: suspend it on critical */
	PATTERN_TRUNK,    /* about a trunk, i.e. every extension calling over it */
};

/* Fits [fraud] suspension reasons (EXT_SUSPENDED_WHY_MAX) with a prefix. */
#define PATTERN_REASON_MAX 160

struct pattern_anomaly {
	enum pattern_level level;
	enum pattern_kind kind;
	enum pattern_scope scope;
	char subject[RF_MAX_EXT_LEN + 1]; /* the extension, or the trunk */
	char ext[RF_MAX_EXT_LEN + 1];     /* the extension whose call it was */
	char trunk[RF_MAX_EXT_LEN + 1];   /* that call's trunk; "" none */
	uint64_t call;                    /* that call's handle */
	/* "20 calls in the last minute; critical at 20" */
	char reason[PATTERN_REASON_MAX + 1];
};

/* Called for each anomaly; must not call back into the engine. */
typedef void (*pattern_report_fn)(void *arg, const struct pattern_anomaly *a);

/* "critical extension 1001 calls_per_minute: 20 calls in the last
 * minute; critical at 20", for logs and alerts; cut to fit. */
void pattern_anomaly_format(const struct pattern_anomaly *a, char *out, size_t outlen);

/* A warning and a critical level; 0 turns a level off. */
struct pattern_levels {
	unsigned warn, crit;
};

/* The static thresholds of one kind of subject. */
struct pattern_static {
	struct pattern_levels per_minute, concurrent, same_prefix;
};

/* The [fraud] section (docs/config.md has the defaults and why). */
struct pattern_config {
	struct pattern_static ext, trunk;
	unsigned prefix_digits;             /* 1..PATTERN_PREFIX_DIGITS_MAX */
	struct pattern_levels duration_min; /* minutes of answered time */
	bool baseline;                      /* false: static thresholds only */
	unsigned half_life_days;
	unsigned min_history_days;
	struct pattern_levels rate_factor;  /* times the normal hourly rate */
};

void pattern_config_from_conf(struct pattern_config *pc, const struct rf_conf *c);

struct pattern;

/* Returns 0 or ENOMEM. */
int pattern_alloc(struct pattern **pp, const struct pattern_config *cfg);
void pattern_free(struct pattern *p);
/* New levels (reload); live calls and baselines are kept. */
void pattern_set_config(struct pattern *p, const struct pattern_config *cfg);

/* Where the daemon's history read starts (unix ms): PATTERN_HISTORY_HALF_LIVES
 * half-lives before now. */
int64_t pattern_history_since_ms(const struct pattern *p, int64_t now);

/* Learn one CDR; a store_cdr_cb, so pass the engine as `arg` and feed the
 * rows oldest first. Rows that are not outbound, have no class or are
 * emergency calls are skipped. Returns 0 (ENOMEM only when an extension's
 * state cannot be allocated, which stops the walk). */
int pattern_learn_cdr(const struct cdr_record *r, void *pattern);

/* A call leaves: `ext` dialled num (classified by fraud/numplan.h) over
 * `trunk` (NULL or "" when none). Counts it, judges it, reports each
 * anomaly to fn (which may be NULL), and sets *call to its handle. The
 * handle is 0, and nothing is judged, for an emergency call, an extension
 * name that is empty or longer than RF_MAX_EXT_LEN, a full live
 * table (PATTERN_MAX_LIVE_CALLS, above any [calls] max_calls) or no
 * memory. A trunk name longer than RF_MAX_EXT_LEN counts as none.
 * Returns the highest level reported. */
enum pattern_level pattern_call_start(struct pattern *p, const char *ext, const char *trunk,
				      const struct num_info *num, int64_t now,
				      pattern_report_fn fn, void *arg, uint64_t *call);
/* The call was answered: its duration counts from now. */
void pattern_call_answered(struct pattern *p, uint64_t call, int64_t now);
/* The call ended (or was refused after pattern_call_start): it stops
 * counting and is learned. A handle already ended, or 0, is ignored. */
void pattern_call_end(struct pattern *p, uint64_t call, int64_t now);
/* Check live calls' durations; call it about once a second. */
void pattern_tick(struct pattern *p, int64_t now, pattern_report_fn fn, void *arg);

/* For status and tests. */
unsigned pattern_ext_count(const struct pattern *p);
unsigned pattern_live_count(const struct pattern *p);
/* Whether the baseline judges `ext` at `now` (it has enough history). */
bool pattern_ext_judged(const struct pattern *p, const char *ext, int64_t now);
/* Bytes of state per tracked extension. */
size_t pattern_ext_bytes(void);

#endif
