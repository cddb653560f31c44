/* The alerter: rate limit on the caller's thread, a handoff to a worker
 * thread, a queue in the store and delivery with backoff; see alert.h. */
#include "guard/alert.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/log.h"
#include "guard/alert_rate.h"
#include "guard/alert_send.h"
#include "guard/alert_text.h"
#include "guard/secevent.h"
#include "store/store.h"

#define HANDOFF_MAX 256         /* alerts raised but not yet written */
#define RETRY_FIRST_S 5         /* the first retry; each one after waits twice as long */
#define RETRY_MAX_S 900
#define DELIVER_PER_ROUND 20    /* rows sent before new alerts are written again */

struct alerter {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                  /* under mu */
	atomic_bool abort;          /* ends a send in progress */
	struct alert_msg *handoff[HANDOFF_MAX]; /* under mu */
	size_t nhandoff;
	struct alert_rate rate;     /* under mu */
	atomic_uint_fast64_t dropped;
	/* The worker's settings: once it runs, read and replaced on its
	 * thread only, between two sends, so a send never sees them change. */
	struct alert_channels ch;
	struct alert_channels *next_ch; /* under mu: a reload's, not yet taken */
	struct store *store;        /* the worker's own connection */
};

/* ---- events ---- */

static void channels_token(unsigned mask, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", mask & ALERT_CH_EMAIL ? "email" : "",
		 (mask & ALERT_CH_EMAIL) && (mask & ALERT_CH_WEBHOOK) ? "," : "",
		 mask & ALERT_CH_WEBHOOK ? "webhook" : "");
	if (!mask)
		snprintf(out, outlen, "none");
}

static void event_raised(const struct alert_msg *m, unsigned channels)
{
	char ch[32];
	struct secev e;

	channels_token(channels, ch, sizeof(ch));
	secev_begin(&e, "alert_raised");
	secev_token(&e, "kind", alert_kind_name(m->kind));
	if (m->id)
		secev_uint(&e, "id", (unsigned long long)m->id);
	secev_token(&e, "channels", ch);
	secev_untrusted(&e, "subject", m->subject, strlen(m->subject));
	secev_emit(&e);
}

static void event_delivery(const struct alert_record *r, unsigned channel, const char *error,
			   unsigned retry_in)
{
	struct secev e;

	secev_begin(&e, error ? "alert_failed" : "alert_sent");
	secev_token(&e, "kind", r->kind);
	secev_uint(&e, "id", (unsigned long long)r->id);
	secev_token(&e, "channel", alert_channel_name(channel));
	secev_uint(&e, "attempt", r->attempts + 1);
	if (error) {
		secev_untrusted(&e, "error", error, strlen(error));
		if (retry_in)
			secev_uint(&e, "retry_in", retry_in);
	}
	secev_emit(&e);
}

/* ---- the queue ---- */

static void record_from_msg(struct alert_record *r, const struct alert_msg *m, unsigned pending,
			    int64_t now)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", alert_kind_name(m->kind));
	r->created = m->created;
	snprintf(r->subject, sizeof(r->subject), "%s", m->subject);
	snprintf(r->text, sizeof(r->text), "%s", m->text);
	r->pending = pending;
	r->next_try = now;
}

static void msg_from_record(struct alert_msg *m, const struct alert_record *r)
{
	memset(m, 0, sizeof(*m));
	m->id = r->id;
	if (alert_kind_parse(r->kind, &m->kind) != 0)
		m->kind = ALERT_SUMMARY;
	m->created = r->created;
	snprintf(m->subject, sizeof(m->subject), "%s", r->subject);
	snprintf(m->text, sizeof(m->text), "%s", r->text);
}

/* Write one new alert to the queue (or only to the log without channels). */
static void persist(struct alerter *a, struct alert_msg *m)
{
	struct alert_record r;
	int err;

	if (!a->ch.enabled) {
		event_raised(m, 0);
		return;
	}
	record_from_msg(&r, m, a->ch.enabled, (int64_t)time(NULL));
	err = store_alert_add(a->store, &r);
	if (err) {
		atomic_fetch_add(&a->dropped, 1);
		log_warn("alert not queued (%s): %s", strerror(err), alert_kind_name(m->kind));
		secevent_simple("alert_dropped", "kind", alert_kind_name(m->kind));
		return;
	}
	m->id = r.id;
	event_raised(m, a->ch.enabled);
}

static void persist_summary(struct alerter *a, const struct alert_rate_summary *s)
{
	struct alert_msg m = { .kind = ALERT_SUMMARY, .created = (int64_t)time(NULL) };

	alert_rate_summary_text(s, m.subject, sizeof(m.subject));
	snprintf(m.text, sizeof(m.text),
		 "%s.\n\nAlerts of kind %s are limited to %u per window; the ones above the "
		 "limit were folded into this summary. The security log has every event.",
		 m.subject, alert_kind_name(s->kind), s->limit);
	persist(a, &m);
}

static unsigned retry_delay(unsigned attempts)
{
	unsigned d = RETRY_FIRST_S;

	for (unsigned i = 1; i < attempts && d < RETRY_MAX_S; i++)
		d *= 2;
	return d < RETRY_MAX_S ? d : RETRY_MAX_S;
}

/* Send one queued alert through the channels it still waits for. */
static void deliver(struct alerter *a, struct alert_record *r)
{
	struct alert_msg m;
	char err[320] = "";
	bool failed = false;

	msg_from_record(&m, r);
	for (unsigned ch = ALERT_CH_EMAIL; ch <= ALERT_CH_WEBHOOK; ch <<= 1) {
		char why[300];
		int rc;

		if (!(r->pending & ch))
			continue;
		rc = alert_send(&a->ch, ch, &m, &a->abort, why, sizeof(why));
		if (rc == ECANCELED)
			break; /* stopping: the channel stays pending */
		if (rc == 0 || rc == ENOENT) {
			event_delivery(r, ch, rc ? why : NULL, 0);
			r->pending &= ~ch;
			continue;
		}
		failed = true;
		snprintf(err, sizeof(err), "%s: %s", alert_channel_name(ch), why);
		event_delivery(r, ch, why, retry_delay(r->attempts + 1));
	}
	if (!r->pending) {
		store_alert_del(a->store, r->id);
		return;
	}
	if (failed) {
		r->attempts++;
		r->next_try = (int64_t)time(NULL) + retry_delay(r->attempts);
		/* The longest reasons are cut to what the queue stores. */
		snprintf(r->last_error, sizeof(r->last_error), "%.*s", (int)sizeof(r->last_error) - 1, err);
	}
	if (store_alert_update(a->store, r) != 0)
		log_warn("cannot update the alert queue");
}

static bool stopping(struct alerter *a)
{
	return atomic_load(&a->abort);
}

static void deliver_due(struct alerter *a)
{
	struct alert_record r;

	if (!a->ch.enabled)
		return;
	for (int i = 0; i < DELIVER_PER_ROUND && !stopping(a); i++) {
		if (store_alert_first(a->store, &r) != 0 || r.next_try > (int64_t)time(NULL))
			return;
		deliver(a, &r);
	}
}

/* ---- the worker ---- */

/* Take what the signalling thread handed over; called with mu held. */
static size_t take(struct alerter *a, struct alert_msg **out, struct alert_rate_summary *sums,
		   size_t *nsums, struct alert_channels **next_ch)
{
	size_t n = a->nhandoff;

	memcpy(out, a->handoff, n * sizeof(out[0]));
	a->nhandoff = 0;
	*nsums = alert_rate_tick(&a->rate, (int64_t)time(NULL), sums, ALERT__COUNT);
	*next_ch = a->next_ch;
	a->next_ch = NULL;
	return n;
}

static void channels_free(struct alert_channels *ch)
{
	if (!ch)
		return;
	alert_channels_wipe(ch);
	free(ch);
}

/* A reload's settings replace the worker's own between two sends. Queued
 * alerts are due at once: the new settings may well be the fix for a
 * server that kept failing. */
static void use_channels(struct alerter *a, struct alert_channels *next)
{
	alert_channels_wipe(&a->ch);
	a->ch = *next;
	channels_free(next);
	store_alert_all_due(a->store, (int64_t)time(NULL));
	log_info("alerts: the reloaded [alerts] settings are in use");
}

static void write_taken(struct alerter *a, struct alert_msg **msgs, size_t n,
			const struct alert_rate_summary *sums, size_t nsums)
{
	for (size_t i = 0; i < n; i++) {
		persist(a, msgs[i]);
		free(msgs[i]);
	}
	for (size_t i = 0; i < nsums; i++)
		persist_summary(a, &sums[i]);
}

static void wait_a_second(struct alerter *a)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	while (!a->stop && a->nhandoff == 0 && !a->next_ch &&
	       pthread_cond_timedwait(&a->cv, &a->mu, &ts) == 0)
		;
}

static void *worker_main(void *arg)
{
	struct alerter *a = arg;
	struct alert_msg *msgs[HANDOFF_MAX];
	struct alert_rate_summary sums[ALERT__COUNT];
	struct alert_channels *next_ch;
	size_t n, nsums;
	bool stop;

	pthread_mutex_lock(&a->mu);
	do {
		n = take(a, msgs, sums, &nsums, &next_ch);
		stop = a->stop;
		pthread_mutex_unlock(&a->mu);
		/* Before the writes: alerts raised after a reload go out with
		 * its settings. */
		if (next_ch)
			use_channels(a, next_ch);
		/* Written even when stopping: a raised alert is never lost. */
		write_taken(a, msgs, n, sums, nsums);
		if (!stop)
			deliver_due(a);
		pthread_mutex_lock(&a->mu);
		if (!a->stop)
			wait_a_second(a);
	} while (!stop);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- the API ---- */

int alerter_alloc(struct alerter **ap, const struct rf_conf *conf, const char *db_path)
{
	struct alerter *a = calloc(1, sizeof(*a));
	const char *why = NULL;
	int err;

	if (!a)
		return ENOMEM;
	alert_channels_init(&a->ch, conf);
	alert_rate_init(&a->rate, conf->alert_rate_limit, conf->alert_rate_window);
	if ((err = alert_send_global_init()) != 0)
		goto fail_wipe;
	/* The daemon's own connection is open: store_open's file creation
	 * would drop its locks. */
	if ((err = store_open_existing(&a->store, db_path, &why)) != 0) {
		log_warn("alerts: cannot open %s: %s", db_path, why ? why : strerror(err));
		goto fail_curl;
	}
	store_alert_all_due(a->store, (int64_t)time(NULL)); /* resend after a restart */
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	*ap = a;
	return 0;
fail_curl:
	alert_send_global_cleanup();
fail_wipe:
	alert_channels_wipe(&a->ch);
	free(a);
	return err;
}

int alerter_start(struct alerter *a)
{
	if (a->started)
		return 0;
	if (pthread_create(&a->thread, NULL, worker_main, a) != 0)
		return EAGAIN;
	a->started = true;
	return 0;
}

void alerter_free(struct alerter *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	atomic_store(&a->abort, true);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->thread, NULL);
	else
		worker_main(a); /* writes what was raised, sends nothing */
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	store_close(a->store);
	alert_send_global_cleanup();
	alert_channels_wipe(&a->ch);
	channels_free(a->next_ch); /* the worker takes it, unless never started */
	free(a);
}

/* What the loader cannot know: whether this process, no longer root,
 * can read the CA file. */
static int channels_check(const struct alert_channels *ch, char *why, size_t whylen)
{
	FILE *f;
	int err;

	if (!ch->ca_file[0] || !ch->enabled)
		return 0;
	f = fopen(ch->ca_file, "re");
	if (!f) {
		err = errno;
		snprintf(why, whylen, "ca_file %s cannot be read: %s", ch->ca_file, strerror(err));
		return err;
	}
	fclose(f);
	return 0;
}

int alerter_reconfigure(struct alerter *a, const struct rf_conf *conf, char *why,
			size_t whylen)
{
	struct alert_channels *next = calloc(1, sizeof(*next));
	int err = 0;

	if (!next) {
		snprintf(why, whylen, "out of memory");
		return ENOMEM;
	}
	alert_channels_init(next, conf);
	if ((err = channels_check(next, why, whylen)) != 0)
		goto out;
	pthread_mutex_lock(&a->mu);
	/* A reload the worker has not taken yet is superseded. */
	channels_free(a->next_ch);
	a->next_ch = next;
	next = NULL;
	alert_rate_set_limits(&a->rate, conf->alert_rate_limit, conf->alert_rate_window);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
out:
	channels_free(next);
	return err;
}

void alert_raise(struct alerter *a, enum alert_kind kind, const char *subject, const char *text)
{
	struct alert_msg *m;

	if (!a || (unsigned)kind >= ALERT__COUNT)
		return;
	m = calloc(1, sizeof(*m));
	if (!m) {
		atomic_fetch_add(&a->dropped, 1);
		return;
	}
	m->kind = kind;
	m->created = (int64_t)time(NULL);
	alert_sanitize(subject ? subject : "", m->subject, sizeof(m->subject), 0);
	alert_sanitize(text ? text : "", m->text, sizeof(m->text), 1);
	pthread_mutex_lock(&a->mu);
	if (!alert_rate_pass(&a->rate, kind, m->created)) {
		pthread_mutex_unlock(&a->mu);
		free(m); /* counted in the next summary */
		return;
	}
	if (a->nhandoff < HANDOFF_MAX && !a->stop) {
		a->handoff[a->nhandoff++] = m;
		m = NULL;
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	if (m) {
		atomic_fetch_add(&a->dropped, 1);
		free(m);
	}
}

uint64_t alerter_dropped(const struct alerter *a)
{
	return a ? (uint64_t)atomic_load(&a->dropped) : 0;
}
