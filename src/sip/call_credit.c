/* Credit limits in the B2BUA (S13): a chargeable call (outbound over a
 * trunk, with a rate, not an emergency call) is admitted only while every
 * cap it would charge has room, is charged from its answer, and is ended
 * with BYE on both legs at the second its caps would be passed. Each
 * threshold a cap reaches raises a `credit` alert.
 *
 * The engine (fraud/credit.h) is driven from here only. Everything that
 * moves a deadline (a start, an answer, an end) pokes one timer at once
 * instead of re-evaluating in place: an expired call is ended from inside
 * credit_expired's walk, and the tear-down it sets off must not walk the
 * engine again. The timer then sleeps until credit_next_wakeup.
 *
 * The engine counts in real unix seconds, the clock CDR times are written
 * with, so each call is charged from its record's own start and answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/conf.h"
#include "core/log.h"
#include "fraud/credit.h"
#include "fraud/fraud.h"
#include "fraud/rating.h"
#include "guard/alert.h"
#include "guard/secevent.h"
#include "sip/call_priv.h"
#include "sip/context.h"
#include "sip/transport.h"

static struct credit *calls_credit(struct calls *c)
{
	return c->ctx->fraud ? fraud_credit(c->ctx->fraud) : NULL;
}

static void money_text(struct calls *c, int64_t micro, char *out, size_t len)
{
	char amount[RATE_PRICE_BUF];

	snprintf(out, len, "%s %s", rating_format_price(micro, amount, sizeof(amount)),
		 c->ctx->conf->currency);
}

/* "extension 1001's daily cap", "the system's monthly cap". */
static void cap_text(const struct credit_cap_ref *cap, char *out, size_t len)
{
	const char *period = cap->period == CREDIT_DAY ? "daily" : "monthly";

	if (cap->scope == CREDIT_SYSTEM)
		snprintf(out, len, "the system's %s cap", period);
	else
		snprintf(out, len, "%s %s's %s cap",
			 cap->scope == CREDIT_EXT ? "extension" : "trunk", cap->name, period);
}

static void cap_event_fields(struct secev *e, const struct credit_cap_ref *cap)
{
	char amount[RATE_PRICE_BUF];

	secev_token(e, "scope", credit_scope_name(cap->scope));
	if (cap->name[0])
		secev_untrusted(e, "name", cap->name, strlen(cap->name));
	secev_token(e, "period", credit_period_name(cap->period));
	secev_token(e, "spent", rating_format_price(cap->spent, amount, sizeof(amount)));
	secev_token(e, "cap", rating_format_price(cap->cap, amount, sizeof(amount)));
}

/* ---- the timer ---- */

static void calls_credit_arm(struct calls *c, int64_t when, int64_t now_ms)
{
	int64_t delay_ms;
	struct timeval tv;

	if (when == CREDIT_NEVER) {
		evtimer_del(c->credit_timer);
		return;
	}
	/* A wake-up already due was served by this very run: look again in
	 * a second rather than spin. */
	delay_ms = when * 1000 > now_ms ? when * 1000 - now_ms : 1000;
	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)(delay_ms % 1000) * 1000;
	evtimer_add(c->credit_timer, &tv);
}

/* Look at deadlines and thresholds from the event loop, at once. */
static void calls_credit_poke(struct calls *c)
{
	struct timeval now = {0, 0};

	if (c->credit_timer)
		evtimer_add(c->credit_timer, &now);
}

void calls_credit_changed(struct calls *c)
{
	if (c)
		calls_credit_poke(c);
}

/* The call's charge stops at `now` and its cost goes to its record. It
 * stays in the live set until that record is queued (call_credit_done),
 * so `ringfence spend` counts it exactly once. */
static void call_credit_stop(struct call *call, int64_t now)
{
	if (!call->credit)
		return;
	call->cdr.cost = credit_call_end(calls_credit(call->calls), call->credit, now);
	call->credit = NULL;
	calls_credit_poke(call->calls);
}

static void on_cap_ends_call(struct credit_call *handle, void *owner,
			     const struct credit_cap_ref *cap, void *arg)
{
	struct call *call = owner;
	struct secev e;

	(void)handle;
	call_credit_stop(call, *(int64_t *)arg);
	secev_begin(&e, "credit_call_ended");
	secev_untrusted(&e, "ext", call->cdr.caller, strlen(call->cdr.caller));
	secev_untrusted(&e, "number", call->cdr.e164, strlen(call->cdr.e164));
	secev_untrusted(&e, "trunk", call->cdr.trunk, strlen(call->cdr.trunk));
	cap_event_fields(&e, cap);
	secev_emit(&e);
	call_hangup(call, "credit");
}

static void on_threshold(const struct credit_cap_ref *cap, unsigned percent, void *arg)
{
	struct calls *c = arg;
	char subject[ALERT_SUBJECT_MAX], text[ALERT_TEXT_MAX], which[96], spent[48], limit[48];
	struct secev e;

	secev_begin(&e, "credit_threshold");
	secev_uint(&e, "percent", percent);
	cap_event_fields(&e, cap);
	secev_emit(&e);
	cap_text(cap, which, sizeof(which));
	money_text(c, cap->spent, spent, sizeof(spent));
	money_text(c, cap->cap, limit, sizeof(limit));
	snprintf(subject, sizeof(subject), "Spending at %u%% of %s", percent, which);
	snprintf(text, sizeof(text),
		 "Calls have spent %s of %s (%s), calls in progress included.\n%s",
		 spent, which, limit,
		 percent >= 100 ? "New chargeable calls it covers are refused and calls in "
		 "progress were ended at the cap until the period ends. If this spend was "
		 "not expected, check 'ringfence cdr list' for whose calls they were.\n" :
		 "At 100% new chargeable calls are refused and calls in progress are ended. "
		 "'ringfence spend' shows every cap.\n");
	alert_raise(c->ctx->alerter, ALERT_CREDIT, subject, text);
}

static void credit_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct calls *c = arg;
	struct credit *cr = calls_credit(c);
	int64_t now_ms = call_now_ms(), now = now_ms / 1000;

	(void)fd;
	(void)what;
	if (!cr)
		return;
	credit_expired(cr, now, on_cap_ends_call, &now);
	credit_thresholds(cr, now, on_threshold, c);
	calls_credit_arm(c, credit_next_wakeup(cr, now), now_ms);
}

int calls_credit_init(struct calls *c)
{
	c->credit_timer = evtimer_new(c->ctx->base, credit_timer_fired, c);
	return c->credit_timer ? 0 : ENOMEM;
}

void calls_credit_free(struct calls *c)
{
	if (c->credit_timer)
		event_free(c->credit_timer);
	c->credit_timer = NULL;
}

/* ---- one call ---- */

/* why NULL: the number has no rate ([credit] refuse_unrated). */
static void credit_refused_event(const struct sip_peer *src, const char *ext, const char *e164,
				 const struct credit_cap_ref *why)
{
	struct secev e;

	secev_begin(&e, "credit_refused");
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_untrusted(&e, "ext", ext, strlen(ext));
	secev_untrusted(&e, "number", e164, strlen(e164));
	secev_token(&e, "reason", why ? "cap" : "unrated");
	if (why)
		cap_event_fields(&e, why);
	secev_emit(&e);
}

unsigned call_credit_admit(struct calls *c, const struct sip_peer *src, const char *ext,
			   const char *trunk, const char *e164, const struct rate_record **rate,
			   const char **hangup)
{
	struct credit *cr = calls_credit(c);
	struct credit_cap_ref why;

	*rate = cr ? fraud_rate(c->ctx->fraud, e164) : NULL;
	if (!*rate && c->ctx->conf->credit_refuse_unrated) {
		credit_refused_event(src, ext, e164, NULL);
		*hangup = "unrated";
		return 403;
	}
	if (!*rate)
		return 0; /* no price: nothing to charge */
	if (credit_admit(cr, time(NULL), ext, trunk, (*rate)->connection, &why))
		return 0;
	credit_refused_event(src, ext, e164, &why);
	*hangup = "credit";
	return 403;
}

bool call_credit_start(struct call *call, const struct rate_record *rate)
{
	struct calls *c = call->calls;
	struct credit_call_info info = {
		.ext = call->cdr.caller,
		.trunk = call->cdr.trunk,
		.rate = rate,
		.owner = call,
	};
	int err = credit_call_start(calls_credit(c), call->cdr.start_ms / 1000, &info,
				    &call->credit);

	if (err) {
		log_error("credit limits: cannot count call %u (%s); refusing it", call->id,
			  strerror(err));
		return false;
	}
	call->connection = rate->connection;
	call->per_minute = rate->per_minute;
	call->charged = true;
	c->ncharged++;
	c->live_dirty = true;
	calls_credit_poke(c);
	return true;
}

void call_credit_answered(struct call *call)
{
	if (!call->credit)
		return;
	credit_call_answer(calls_credit(call->calls), call->credit, call->cdr.answer_ms / 1000);
	call->calls->live_dirty = true;
	calls_credit_poke(call->calls);
}

void call_credit_end(struct call *call)
{
	call_credit_stop(call, call->cdr.end_ms / 1000);
}

void call_credit_done(struct call *call)
{
	/* Stopped at release already; should any path skip that, the engine
	 * must still not outlive its owner, or credit_expired would hand
	 * back a freed call. */
	call_credit_stop(call, call->cdr.end_ms / 1000);
	if (!call->charged)
		return;
	call->charged = false;
	call->calls->ncharged--;
	call->calls->live_dirty = true;
}

/* ---- the live set for `ringfence spend` ---- */

static void live_row(const struct call *call, struct live_call_record *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->call_id, sizeof(r->call_id), "%s", call->cdr.call_id);
	snprintf(r->caller, sizeof(r->caller), "%s", call->cdr.caller);
	snprintf(r->trunk, sizeof(r->trunk), "%s", call->cdr.trunk);
	r->start_ms = call->cdr.start_ms;
	r->answer_ms = call->cdr.answer_ms;
	r->connection = call->connection;
	r->per_minute = call->per_minute;
}

bool calls_credit_live_due(const struct calls *c, int64_t now_ms)
{
	return c->live_dirty ||
	       (c->ncharged && now_ms - c->live_written_ms >= LIVE_CALLS_REFRESH_MS);
}

int calls_credit_write_live(struct calls *c, int64_t now_ms)
{
	struct live_call_record *rows = calloc(c->ncharged ? c->ncharged : 1, sizeof(*rows));
	size_t n = 0;
	int err;

	if (!rows)
		return ENOMEM;
	for (struct call *call = c->head; call && n < c->ncharged; call = call->next) {
		if (call->charged)
			live_row(call, &rows[n++]);
	}
	err = store_live_calls_replace(c->ctx->store, rows, n, now_ms);
	free(rows);
	if (!err) {
		c->live_dirty = false;
		c->live_written_ms = now_ms;
	}
	return err;
}
