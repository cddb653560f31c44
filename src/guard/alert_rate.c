/* The per-kind rate limit of alerts; see alert_rate.h. */
#include "guard/alert_rate.h"

#include <stdio.h>
#include <string.h>

void alert_rate_init(struct alert_rate *r, unsigned limit, unsigned window_s)
{
	memset(r, 0, sizeof(*r));
	alert_rate_set_limits(r, limit, window_s);
}

void alert_rate_set_limits(struct alert_rate *r, unsigned limit, unsigned window_s)
{
	r->limit = limit ? limit : 1;
	r->window_s = window_s ? window_s : 1;
}

static bool kind_unlimited(enum alert_kind kind)
{
	/* A summary is the limit's own output, a test alert is asked for by
	 * the administrator, and every emergency call is told (S11). */
	return kind == ALERT_SUMMARY || kind == ALERT_TEST || kind == ALERT_EMERGENCY;
}

bool alert_rate_pass(struct alert_rate *r, enum alert_kind kind, int64_t now)
{
	struct alert_rate_kind *k;

	if ((unsigned)kind >= ALERT__COUNT)
		return false;
	if (kind_unlimited(kind))
		return true;
	k = &r->kind[kind];
	if (k->open && now >= k->start + (int64_t)r->window_s && k->folded == 0)
		k->open = false; /* ended quietly; the tick has not seen it yet */
	if (!k->open) {
		k->open = true;
		k->start = now;
		k->passed = 0;
		k->folded = 0;
	}
	if (k->passed < r->limit) {
		k->passed++;
		return true;
	}
	k->folded++;
	return false;
}

size_t alert_rate_tick(struct alert_rate *r, int64_t now, struct alert_rate_summary *out,
		       size_t max)
{
	size_t n = 0;

	for (unsigned i = 0; i < ALERT__COUNT && n < max; i++) {
		struct alert_rate_kind *k = &r->kind[i];

		if (!k->open || now < k->start + (int64_t)r->window_s)
			continue;
		if (k->folded == 0) {
			k->open = false;
			continue;
		}
		out[n].kind = (enum alert_kind)i;
		out[n].folded = k->folded;
		out[n].window_s = r->window_s;
		out[n].limit = r->limit;
		n++;
		/* The storm may go on: the next window starts with its
		 * limit used, so it too yields one summary at most. */
		k->start = now;
		k->passed = r->limit;
		k->folded = 0;
	}
	return n;
}

int64_t alert_rate_next(const struct alert_rate *r)
{
	int64_t next = INT64_MAX;

	for (unsigned i = 0; i < ALERT__COUNT; i++) {
		const struct alert_rate_kind *k = &r->kind[i];

		if (k->open && k->start + (int64_t)r->window_s < next)
			next = k->start + (int64_t)r->window_s;
	}
	return next;
}

static const char *kind_plural(enum alert_kind kind, unsigned n)
{
	static const char *const one[ALERT__COUNT] = {
		[ALERT_BAN_ADDED] = "ban",
		[ALERT_ACCOUNT_LOCKED] = "account lock",
		[ALERT_NEW_NETWORK] = "registration from a new network",
		[ALERT_FLOOD] = "flood",
		[ALERT_CONFIG_CHANGED] = "configuration change",
		[ALERT_EMERGENCY] = "emergency call",
		[ALERT_CALL_BARRED] = "barred call",
		[ALERT_FRAUD] = "calling-pattern anomaly",
		[ALERT_CREDIT] = "spending alert",
		[ALERT_TEST] = "test alert",
		[ALERT_SUMMARY] = "summary",
	};
	static const char *const many[ALERT__COUNT] = {
		[ALERT_BAN_ADDED] = "bans",
		[ALERT_ACCOUNT_LOCKED] = "account locks",
		[ALERT_NEW_NETWORK] = "registrations from new networks",
		[ALERT_FLOOD] = "floods",
		[ALERT_CONFIG_CHANGED] = "configuration changes",
		[ALERT_EMERGENCY] = "emergency calls",
		[ALERT_CALL_BARRED] = "barred calls",
		[ALERT_FRAUD] = "calling-pattern anomalies",
		[ALERT_CREDIT] = "spending alerts",
		[ALERT_TEST] = "test alerts",
		[ALERT_SUMMARY] = "summaries",
	};

	if ((unsigned)kind >= ALERT__COUNT)
		return n == 1 ? "alert" : "alerts";
	return n == 1 ? one[kind] : many[kind];
}

/* "10 minutes", "1 hour", "90 seconds": the window as people say it. */
static void window_text(unsigned s, char *out, size_t outlen)
{
	if (s % 3600 == 0)
		snprintf(out, outlen, "%u hour%s", s / 3600, s == 3600 ? "" : "s");
	else if (s % 60 == 0)
		snprintf(out, outlen, "%u minute%s", s / 60, s == 60 ? "" : "s");
	else
		snprintf(out, outlen, "%u seconds", s);
}

void alert_rate_summary_text(const struct alert_rate_summary *s, char *out, size_t outlen)
{
	char win[32];

	window_text(s->window_s, win, sizeof(win));
	snprintf(out, outlen, "%u more %s in the last %s", s->folded,
		 kind_plural(s->kind, s->folded), win);
}
