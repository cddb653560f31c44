/* Credit limits (S13): what chargeable calls have spent, per scope and
 * period, against daily and monthly caps, and the second at which a live
 * call must end so that no cap is passed.
 *
 * Scopes: the system, each extension, each trunk. A call is charged to
 * the system, to its calling extension (if any) and to its trunk (if any).
 * Periods: the local calendar day and month (localtime_r, so the TZ of
 * the daemon decides where midnight is). A call is charged in full to the
 * day and the month in which it STARTED, even if it runs past midnight:
 * its cost then never moves between periods while it runs, a call begun
 * at 23:59 cannot reach for a fresh cap at 00:00, and a CDR's start_ms
 * alone says where its cost belongs. Periods are told apart by their
 * calendar date, never by counting 86400-second days, so 23- and 25-hour
 * days at daylight-saving changes are days like any other.
 *
 * Money is int64 micro-units of [credit] currency; every sum saturates at
 * INT64_MAX instead of wrapping.
 *
 * The engine is pure: no I/O, no clock of its own (every function that
 * needs the time takes `now`, unix seconds) and no locking. It belongs to
 * the signalling thread. `now` is the real clock, the one CDR times are
 * written with (not core/clock.h's test offset): spend restored from the
 * CDRs must fall in the periods the engine counted it in.
 *
 * HOW THE DAEMON DRIVES IT
 *
 *   start:    credit_conf_from(&cc, conf); credit_alloc(&c, &cc);
 *             credit_load_caps(c, store); credit_load_spend(c, store, now)
 *             (credit_store.h: extension caps, and this month's outbound
 *             spend from the CDRs).
 *   SIGHUP:   credit_conf_from + credit_set_conf.
 *   store changed (data_version): credit_load_caps again.
 *   outbound chargeable INVITE, after barring and rating:
 *             if (!credit_admit(c, now, ext, trunk, rate->connection, &why))
 *                 refuse it (for example 403 "Spending Cap Reached") and
 *                 log an event naming why.scope, why.name, why.period,
 *                 why.spent and why.cap;
 *             else credit_call_start(c, now, &info, &call) and keep `call`
 *                 in the B2BUA's call. `now` must be the start time
 *                 written to its CDR, start_ms / 1000.
 *   200 OK relayed to the caller: credit_call_answer(c, call, now).
 *   call over (any reason): cost = credit_call_end(c, call, now); write it
 *             to the CDR's cost.
 *   after each of the above, and whenever the credit timer fires:
 *             credit_expired(c, now, end_cb, arg): end_cb sends BYE on both
 *                 legs of each call listed and should end it in the engine
 *                 at once (credit_call_end with the same now), so that its
 *                 cost stops at the deadline; ending it later, when the
 *                 call is torn down, is allowed (a call is listed once)
 *                 but charges the seconds in between;
 *             credit_thresholds(c, now, alert_cb, arg): an ALERT_CREDIT
 *                 alert and a log line for each threshold crossed;
 *             t = credit_next_wakeup(c, now): arm the one credit timer at
 *                 t (unix seconds), or disarm it for CREDIT_NEVER.
 *
 * Only chargeable calls (outbound, with a rate) go through the engine. */
#ifndef RF_FRAUD_CREDIT_H
#define RF_FRAUD_CREDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rate_record;
struct rf_conf;

/* "No such time": no deadline, nothing to wake up for. */
#define CREDIT_NEVER INT64_MAX
/* Alert thresholds per cap ([credit] alert_thresholds). */
#define CREDIT_MAX_THRESHOLDS 3
/* Longest scope name: an extension (RF_MAX_EXT_LEN) or a trunk
 * (TRUNK_NAME_MAX), both 32. */
#define CREDIT_NAME_MAX 32
/* How far ahead a deadline is searched: a cap that live calls take
 * longer than this to reach is no deadline at all. */
#define CREDIT_HORIZON_S (366 * 86400)

enum credit_scope { CREDIT_SYSTEM = 0, CREDIT_EXT = 1, CREDIT_TRUNK = 2 };
enum credit_period { CREDIT_DAY = 0, CREDIT_MONTH = 1 };

/* "system", "ext", "trunk"; "day", "month". */
const char *credit_scope_name(enum credit_scope s);
const char *credit_period_name(enum credit_period p);

/* Caps in micro-units, indexed by enum credit_period. 0 means no cap. */
struct credit_conf {
	int64_t system_cap[2];
	int64_t ext_cap[2];     /* for an extension without caps of its own */
	int64_t trunk_cap[2];   /* for a trunk without caps of its own */
	unsigned thresholds[CREDIT_MAX_THRESHOLDS]; /* percent, ascending, 1..100 */
	unsigned nthresholds;
};

/* The [credit] keys of a loaded configuration. */
void credit_conf_from(struct credit_conf *cc, const struct rf_conf *conf);

struct credit;
struct credit_call;

/* Returns 0, ENOMEM, or EINVAL for a negative cap or thresholds that are
 * not ascending percentages 1..100. */
int credit_alloc(struct credit **cp, const struct credit_conf *conf);
/* Frees the engine and every live call still in it. */
void credit_free(struct credit *c);
/* New caps and thresholds (a reload); live calls get new deadlines.
 * EINVAL as for credit_alloc, and then nothing changes. */
int credit_set_conf(struct credit *c, const struct credit_conf *conf);

/* The caps of one extension or trunk; 0 means the configured default of
 * its kind. The scope is known from then on: credit_usage lists it even
 * with nothing spent. A cap that changes re-arms the thresholds spend no
 * longer reaches, and lifts a cap reached by ending calls. EINVAL for the
 * system scope, an empty or over-long name or a negative cap; ENOMEM. */
int credit_set_caps(struct credit *c, enum credit_scope scope, const char *name,
		    int64_t daily, int64_t monthly);
/* Reloading every scope's caps: credit_caps_begin, credit_set_caps for
 * each extension and trunk that exists, then credit_caps_end, which
 * forgets the own caps of the scopes not named since begin (deleted
 * ones): they fall back to the defaults and are no longer known. */
void credit_caps_begin(struct credit *c);
void credit_caps_end(struct credit *c);

/* Spend from before the engine existed (a CDR at start): `cost` of a
 * call that started at `started`, charged to the system, `ext` and
 * `trunk` (NULL or "" for none) for the periods `started` falls in, when
 * those are the current ones at `now` (older spend is dropped). Restored
 * spend does not alert again: its thresholds were reported before the
 * restart. EINVAL for a negative cost or a bad name; ENOMEM. */
int credit_restore_spend(struct credit *c, const char *ext, const char *trunk,
			 int64_t started, int64_t cost, int64_t now);

/* Which cap, for a refusal, an ended call or an alert. */
struct credit_cap_ref {
	enum credit_scope scope;
	char name[CREDIT_NAME_MAX + 1];   /* "" for the system */
	enum credit_period period;
	int64_t since;                    /* unix seconds: the period's first second */
	int64_t spent;                    /* micro-units in that period, live calls included */
	int64_t cap;                      /* micro-units */
};

/* May a new chargeable call from `ext` over `trunk` start at `now`? False
 * when, in any of its scopes, today's or this month's spend (ended calls,
 * plus live calls as they stand now, a ringing call counting its
 * connection charge) plus this call's connection charge has reached the
 * cap, or the cap has ended calls this period. *why (if not NULL) names
 * the first such cap, in the order extension, trunk, system and day
 * before month. Changes nothing. */
bool credit_admit(struct credit *c, int64_t now, const char *ext, const char *trunk,
		  int64_t connection, struct credit_cap_ref *why);

struct credit_call_info {
	const char *ext;       /* the calling extension; NULL or "" for none */
	const char *trunk;     /* the trunk it leaves by; NULL or "" for none */
	const struct rate_record *rate; /* rating_match's; its prices are copied */
	void *owner;           /* the B2BUA's call, handed back by credit_expired (borrowed) */
};

/* A chargeable call starts (its INVITE arrived) at `now`. Until it is
 * answered it counts its connection charge, so that a burst of parallel
 * calls cannot each pass credit_admit on the same headroom. *out is the
 * handle for the calls below. EINVAL for no rate, negative prices or a
 * bad name; ENOMEM. */
int credit_call_start(struct credit *c, int64_t now, const struct credit_call_info *info,
		      struct credit_call **out);
/* The call was answered at `now`: it is charged from then on. A second
 * answer changes nothing. */
void credit_call_answer(struct credit *c, struct credit_call *call, int64_t now);
/* The call is over at `now`: its cost becomes committed spend and the
 * handle is freed. Returns the cost: 0 if never answered, else the
 * connection charge plus per_minute * (now - answer) / 60 rounded up to
 * the micro-unit (rating_cost). */
int64_t credit_call_end(struct credit *c, struct credit_call *call, int64_t now);
/* What the call has cost so far, at `now`. */
int64_t credit_call_cost(const struct credit_call *call, int64_t now);

/* How many calls are live (started and not ended). */
size_t credit_live_calls(const struct credit *c);

/* The second at which the call must be ended: the last second at which
 * every cap of its period in its scopes is still not passed, with every
 * live call in those scopes running on as it is (several calls can drain
 * one cap together). Ended then, its cost keeps the spend within the cap;
 * a second later it would not. CREDIT_NEVER for a call that is not
 * answered, costs nothing per minute, or whose caps live calls would not
 * reach within CREDIT_HORIZON_S. It can lie in the past when the cap is
 * passed already (a cap lowered, spend restored): end the call at once.
 * Any start, answer, end or cap change moves it; it is recomputed when
 * asked. `cap` (if not NULL) gets the cap that sets it. */
int64_t credit_deadline(struct credit *c, struct credit_call *call, struct credit_cap_ref *cap);

/* Each live call whose deadline is at or before `now`, once: cb may end
 * the call it is given (credit_call_end) and no other. Every cap that
 * ends a call counts as reached for the rest of its period: credit_admit
 * refuses new calls in it and its 100% threshold is reported. */
typedef void (*credit_expired_cb)(struct credit_call *call, void *owner,
				  const struct credit_cap_ref *cap, void *arg);
void credit_expired(struct credit *c, int64_t now, credit_expired_cb cb, void *arg);

/* Each threshold crossed since the last call, once per cap and period,
 * in ascending order: spend (live calls included) has reached
 * percent% of the cap, or the cap has ended calls. A new period starts
 * with none reported. Looks only at the caps live calls charge and those
 * a change touched since, so it is cheap to call after every event; on
 * the first call of a day it also forgets periods that are over and that
 * no live call still charges. */
typedef void (*credit_threshold_cb)(const struct credit_cap_ref *cap, unsigned percent,
				    void *arg);
void credit_thresholds(struct credit *c, int64_t now, credit_threshold_cb cb, void *arg);

/* When to call credit_expired and credit_thresholds next: the earliest
 * deadline of a live call not yet listed, or moment live spend reaches a
 * threshold not yet reported; `now` when one is due already.
 * CREDIT_NEVER when no live call is charged per minute. Deadlines and
 * threshold times are kept per cap until a call or cap changes, so this
 * costs a pass over the live calls. */
int64_t credit_next_wakeup(struct credit *c, int64_t now);

/* Spend against each cap that applies, for `ringfence spend`: the system
 * first, then extensions, then trunks, each by name; for each, the
 * current day, then the current month. A period is listed when it has
 * spend; else a known trunk's always, and a known extension's when it has
 * a cap (its own or the default). Live calls count
 * as they stand at `now`. cb's non-zero return stops the walk and is
 * returned; ENOMEM. */
struct credit_usage {
	struct credit_cap_ref ref;        /* ref.cap 0: no cap */
	unsigned percent;                 /* spent * 100 / cap, rounded down; 0 without a cap */
	bool reached;                     /* spent >= cap, or the cap ended calls */
};
typedef int (*credit_usage_cb)(const struct credit_usage *u, void *arg);
int credit_usage(struct credit *c, int64_t now, credit_usage_cb cb, void *arg);

/* The first second of the local day or month that `now` falls in: local
 * midnight, or the first second after it where a daylight-saving change
 * skips midnight. */
int64_t credit_period_start(int64_t now, enum credit_period p);

#endif
