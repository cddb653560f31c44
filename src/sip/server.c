/* The signalling loop. Every message runs the ingress pipeline in order:
 *   1. sanity (size, keep-alives)      4. application checks (416/420/501...)
 *   2. parse                            5. authentication (stateless challenge)
 *   3. responses -> transactions        6. registrar / method handlers
 * Each stage either passes the message on or ends it with one verdict:
 * drop, a stateless reply, or a challenge. Nothing is allocated for a
 * peer that has not authenticated. */
#include "sip/server.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/priv.h"
#include "core/secret.h"
#include "guard/alert.h"
#include "core/clock.h"
#include "fraud/fraud.h"
#include "guard/guard.h"
#include "guard/nft.h"
#include "guard/nft_helper.h"
#include "guard/secevent.h"
#include "pbx/dns.h"
#include "pbx/trunk_names.h"
#include "pbx/trunk_reg.h"
#include "pbx/trunks.h"
#include "sip/auth.h"
#include "sip/call.h"
#include "sip/context.h"
#include "sip/directory.h"
#include "sip/location.h"
#include "sip/msg_salvage.h"
#include "sip/nonce_use.h"
#include "sip/registrar.h"
#include "sip/transaction.h"
#include "sip/reply.h"
#include "sip/transport.h"
#include "store/store.h"

#define SERVER_TICK_MS 100
#define SERVER_DIR_POLL_TICKS 2   /* directory changes visible within 200 ms */
#define SERVER_SWEEP_TICKS 10     /* expired contacts go within a second */
#define BAD_MESSAGE_LOG_PER_SEC 20 /* garbage floods must not flood the log */
#define OVERLOAD_RETRY_AFTER_S 5   /* about how long an overload lasts at least */
#define STOP_UNREGISTER_WAIT_S 2   /* a provider that does not answer must not hold up a stop */

struct server {
	struct sip_ctx ctx;
	struct event *ev_sig[3];
	struct event *ev_tick;
	unsigned ticks;
	uint64_t data_version;
	/* The change counters at the last reload of each in-memory copy. */
	int64_t seen_directory, seen_blacklist, seen_trunks, seen_rates;
	unsigned bad_logged;
	unsigned long bad_suppressed;
	time_t bad_second;
	struct sip_reply reply;
	struct store_checkpointer *checkpointer;
	struct nft_helper *nft;   /* the firewall helper; NULL without [firewall] nft_set */
	struct alerter *alerter;
	struct trunk_regs *trunks; /* registration clients of trunks */
	struct trunk_names *trunk_names; /* addresses of trunks named by a host name */
	/* Load since the last tick, for the overload guard. */
	unsigned rx_streak_max, rx_messages, rx_work;
	bool stopping; /* waiting for the trunks' un-REGISTERs: no new requests */
};

/* ---- stage 1 and 2: sanity and parse ---- */

static bool ingress_is_keepalive(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\r' && buf[i] != '\n' && buf[i] != 0)
			return false;
	}
	return true;
}

static void ingress_log_bad(struct server *s, const struct sip_peer *src,
			    const char *reason)
{
	struct secev e;

	if (s->bad_second != s->ctx.now) {
		s->bad_second = s->ctx.now;
		s->bad_logged = 0;
	}
	if (s->bad_logged >= BAD_MESSAGE_LOG_PER_SEC) {
		s->bad_suppressed++;
		return;
	}
	s->bad_logged++;
	secev_begin(&e, "bad_message");
	secev_src(&e, (const struct sockaddr *)&src->addr, transport_name(src->tp));
	secev_token(&e, "reason", "parse_error");
	secev_untrusted(&e, "detail", reason, strlen(reason));
	if (s->bad_suppressed) {
		secev_uint(&e, "suppressed", s->bad_suppressed);
		s->bad_suppressed = 0;
	}
	secev_emit(&e);
}

/* ---- stage 6: per method ---- */

static bool request_in_dialog(const struct sip_msg *m)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
	struct sip_nameaddr na;

	return to && sip_nameaddr_parse(to->value, &na) == 0 && na.tag.len > 0;
}

/* Authenticated requests get a server transaction, so a retransmission is
 * answered with the same response instead of being processed again. A
 * request without an RFC 3261 branch is answered statelessly. */
static void server_begin_transaction(struct sip_ctx *ctx, const struct sip_msg *m,
				     const struct sip_peer *src)
{
	int err = tsx_server_alloc(&ctx->tsx_cur, ctx->tsx, m, src);

	if (err) {
		ctx->tsx_cur = NULL;
		if (err != EINVAL)
			log_debug("no server transaction (%s); answering statelessly", strerror(err));
	}
}

static void handle_register(struct sip_ctx *ctx, const struct sip_msg *m,
			    const struct sip_peer *src)
{
	const struct dir_ext *ext;
	bool stale;

	switch (auth_request(ctx, m, src, AUTH_WWW, &ext, &stale)) {
	case AUTH_OK:
		break;
	case AUTH_CHALLENGE:
		auth_send_challenge(ctx, m, src, AUTH_WWW, stale);
		return;
	case AUTH_SILENCE:
		return;
	}
	/* No transaction: the registrar answers a retransmission from its own
	 * record of the last request, which costs no memory per REGISTER. */
	registrar_handle(ctx, m, src, ext);
}

/* OPTIONS is how scanners find a PBX (svmap, nmap): it is answered only
 * to addresses with registered phones, who use it as a keep-alive (S6),
 * and to trunks, whose providers use it to see that we are up.
 * Everyone else gets silence. */
static void handle_options(struct sip_ctx *ctx, const struct sip_msg *m,
			   const struct sip_peer *src)
{
	struct sip_uri u;

	if (!guard_known_peer(ctx->guard, (const struct sockaddr *)&src->addr, ctx->now) &&
	    !trunks_by_source(ctx->trunks, (const struct sockaddr *)&src->addr)) {
		/* A walk of OPTIONS over the numbering plan is a scan too. */
		if (sip_uri_parse(m->ruri, &u) == 0 && u.user.len > 0)
			guard_challenged(ctx->guard, (const struct sockaddr *)&src->addr,
					 transport_name(src->tp), u.user.p, u.user.len, ctx->now);
		return;
	}
	reply_start(ctx, m, src, 200, NULL);
	reply_header(ctx, "Allow: REGISTER, INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
	reply_send(ctx, src);
}

static void handle_other(struct sip_ctx *ctx, const struct sip_msg *m,
			 const struct sip_peer *src)
{
	const struct trunk *trunk;
	const struct dir_ext *ext;
	bool stale;

	/* A request of one of our calls is judged by its dialog: it must come
	 * from the dialog's own flow (S8). */
	if ((request_in_dialog(m) || m->method == SIP_M_ACK || m->method == SIP_M_CANCEL) &&
	    calls_in_dialog(ctx->calls, m, src))
		return;
	if (m->method == SIP_M_ACK)
		return; /* no stateless transaction to acknowledge */
	if (m->method == SIP_M_OPTIONS && !request_in_dialog(m)) {
		handle_options(ctx, m, src);
		return;
	}
	if (m->method == SIP_M_CANCEL) {
		/* No INVITE transaction exists that it could cancel, and CANCEL
		 * cannot be challenged (RFC 3261 22.1). */
		reply_simple(ctx, m, src, 481, NULL);
		return;
	}
	/* Behind on input: established calls go on, new ones wait. Before
	 * authentication, since checking a digest is work too. */
	if (m->method == SIP_M_INVITE && !request_in_dialog(m) && guard_overloaded(ctx->guard)) {
		reply_start(ctx, m, src, 503, NULL);
		reply_header(ctx, "Retry-After: %u", OVERLOAD_RETRY_AFTER_S);
		reply_send(ctx, src);
		return;
	}
	/* A provider's call is known by its transport source alone (P4):
	 * a message that only claims to come from a trunk goes on below
	 * like any stranger's. */
	if (m->method == SIP_M_INVITE && !request_in_dialog(m) &&
	    (trunk = trunks_by_source(ctx->trunks, (const struct sockaddr *)&src->addr))) {
		calls_from_trunk(ctx->calls, m, src, trunk);
		return;
	}
	/* Even a request for a dialog is challenged first: whether a dialog
	 * exists is nobody's business before authentication. */
	switch (auth_request(ctx, m, src, AUTH_PROXY, &ext, &stale)) {
	case AUTH_OK:
		break;
	case AUTH_CHALLENGE:
		auth_send_challenge(ctx, m, src, AUTH_PROXY, stale);
		return;
	case AUTH_SILENCE:
		return;
	}
	if (m->method == SIP_M_INVITE && !request_in_dialog(m)) {
		calls_invite(ctx->calls, m, src, ext);
		return;
	}
	server_begin_transaction(ctx, m, src);
	if (request_in_dialog(m)) {
		reply_simple(ctx, m, src, 481, NULL);
		ctx->tsx_cur = NULL;
		return;
	}
	reply_start(ctx, m, src, 501, NULL);
	reply_header(ctx, "Allow: REGISTER, INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
	reply_send(ctx, src);
	ctx->tsx_cur = NULL;
}

/* Known attack tools get silence and a ban (S6, guard/scanner.h). */
static bool ingress_is_scanner(struct sip_ctx *ctx, const struct sip_msg *m,
			       const struct sip_peer *src)
{
	const struct sip_hdr *ua = sip_msg_hdr(m, SIP_H_USER_AGENT);
	const struct sip_hdr *from = sip_msg_hdr(m, SIP_H_FROM);

	return guard_scanner(ctx->guard, (const struct sockaddr *)&src->addr,
			     transport_name(src->tp), ua ? ua->value.p : NULL,
			     ua ? ua->value.len : 0, from ? from->value.p : NULL,
			     from ? from->value.len : 0, ctx->now);
}

static void server_on_message(void *arg, const char *buf, size_t len,
			      const struct sip_peer *src)
{
	struct server *s = arg;
	struct sip_ctx *ctx = &s->ctx;
	struct sip_parse_error perr = {0};
	struct sip_msg m;

	ctx->now = time(NULL);
	/* A banned source gets silence, before any work is spent on it; so
	 * does a source over its packet budget, or a stranger in overload. */
	if (transport_rx_backlog(ctx->tp) > s->rx_streak_max)
		s->rx_streak_max = transport_rx_backlog(ctx->tp);
	s->rx_messages++;
	if (guard_silence(ctx->guard, (const struct sockaddr *)&src->addr, ctx->now))
		return;
	if (guard_flood(ctx->guard, (const struct sockaddr *)&src->addr, transport_name(src->tp),
			ctx->now))
		return;
	s->rx_work++;
	if (len > SIP_MAX_MSG_SIZE || ingress_is_keepalive(buf, len))
		return;
	if (sip_msg_parse(&m, buf, len, src->tp, &perr) != 0) {
		ingress_log_bad(s, src, perr.reason ? perr.reason : "malformed");
		guard_glitch(ctx->guard, (const struct sockaddr *)&src->addr,
			     transport_name(src->tp), ctx->now);
		if (sip_msg_salvage(&m, buf, len))
			reply_parse_error(ctx, &m, src, &perr);
		return;
	}
	if (!m.is_request) {
		tsx_client_match(ctx->tsx, &m); /* a stray response is dropped */
		return;
	}
	if (s->stopping)
		return;
	if (tsx_server_absorb(ctx->tsx, &m, src))
		return;
	if (sip_request_check(&m, &perr) != 0) {
		/* 400 is a broken message (416, 420, 505 ... are honest requests
		 * for something we do not do): log it and count it as a glitch. */
		if (perr.status == 400) {
			ingress_log_bad(s, src, perr.reason ? perr.reason : "malformed");
			guard_glitch(ctx->guard, (const struct sockaddr *)&src->addr,
				     transport_name(src->tp), ctx->now);
		}
		reply_parse_error(ctx, &m, src, &perr);
		return;
	}
	if (ingress_is_scanner(ctx, &m, src))
		return;
	if (m.method == SIP_M_REGISTER)
		handle_register(ctx, &m, src);
	else
		handle_other(ctx, &m, src);
}

/* ---- housekeeping ---- */

static void drop_missing_ext(struct loc_aor *a, void *arg)
{
	struct sip_ctx *ctx = arg;

	if (!directory_find(ctx->dir, a->ext, strlen(a->ext)))
		location_remove_ext(ctx->loc, a->ext, registrar_log_removed, NULL);
}

/* Trunks, DIDs and routes are rebuilt aside; a dial plan that does not
 * load (a route written by hand) keeps the running one. */
static bool server_reload_trunks(struct server *s)
{
	struct trunks *t;
	char why[160];
	int err = trunks_load(&t, s->ctx.store, why, sizeof(why));

	if (err) {
		log_warn("trunks and routes not reloaded (%s); keeping the current ones",
			 why[0] ? why : strerror(err));
		return false;
	}
	trunks_free(s->ctx.trunks);
	s->ctx.trunks = t;
	if (s->trunk_names) /* the new snapshot knows no resolved address yet */
		trunk_names_reload(s->trunk_names);
	return true;
}

/* Whether the rows behind `name` changed since *seen (store_change_count);
 * updates *seen. A count that cannot be read counts as a change:
 * rebuilding is always safe. */
static bool server_changed(struct server *s, const char *name, int64_t *seen)
{
	int64_t n;

	if (store_change_count(s->ctx.store, name, &n) != 0)
		return true;
	if (n == *seen)
		return false;
	*seen = n;
	return true;
}

/* Rebuild the directory aside and swap it. False when it failed and the
 * current one stays. */
static bool server_reload_directory(struct server *s)
{
	struct directory *d;
	int err = directory_load(&d, s->ctx.store);

	if (err) {
		log_warn("directory reload failed (%s); keeping the current one", strerror(err));
		return false;
	}
	directory_free(s->ctx.dir);
	s->ctx.dir = d;
	location_foreach_aor(s->ctx.loc, drop_missing_ext, &s->ctx);
	log_info("directory reloaded: %zu extensions", d->n);
	return true;
}

/* Caps live in the extension and trunk rows; a cap that moved may move a
 * live call's deadline, so the credit timer looks again. */
static void server_reload_caps(struct server *s, bool changed)
{
	int err;

	if (!changed)
		return;
	if ((err = fraud_reload_caps(s->ctx.fraud, s->ctx.store)) != 0) {
		log_warn("credit caps reload failed (%s); keeping the current caps", strerror(err));
		return;
	}
	calls_credit_changed(s->ctx.calls);
}

/* The CLI writes to the database; PRAGMA data_version tells us another
 * connection committed, and the change counters which of our in-memory
 * copies it touched: alerts and CDRs written by our own threads move
 * data_version too, and must not cost a reload of every list. */
static void server_poll_store(struct server *s)
{
	bool caps = false; /* extensions or trunks changed: so may their caps */
	uint64_t v;
	int err;

	if (store_data_version(s->ctx.store, &v) != 0 || v == s->data_version)
		return;
	s->data_version = v;
	guard_load(s->ctx.guard); /* bans and locks the CLI added or lifted */
	if (server_changed(s, "directory", &s->seen_directory)) {
		if (!server_reload_directory(s))
			s->seen_directory = -1; /* try again at the next poll */
		caps = true;
	}
	if (server_changed(s, "blacklist", &s->seen_blacklist) &&
	    (err = fraud_reload(s->ctx.fraud, s->ctx.store)) != 0) {
		log_warn("blacklist reload failed (%s); keeping the current lists", strerror(err));
		s->seen_blacklist = -1;
	}
	if (server_changed(s, "trunks", &s->seen_trunks)) {
		if (!server_reload_trunks(s))
			s->seen_trunks = -1;
		if (s->trunks) /* trunks the CLI added, changed or removed */
			trunk_regs_reload(s->trunks);
		caps = true;
	}
	if (server_changed(s, "rates", &s->seen_rates) &&
	    (err = fraud_reload_rates(s->ctx.fraud, s->ctx.store)) != 0) {
		log_warn("rates reload failed (%s); keeping the current rates", strerror(err));
		s->seen_rates = -1;
	}
	server_reload_caps(s, caps);
}

static void server_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	int err;

	(void)fd;
	(void)what;
	s->ctx.now = time(NULL);
	s->ticks++;
	if (s->ticks % SERVER_DIR_POLL_TICKS == 0)
		server_poll_store(s);
	guard_note_load(s->ctx.guard, s->rx_streak_max, s->rx_messages, s->rx_work);
	s->rx_streak_max = transport_rx_backlog(s->ctx.tp);
	s->rx_messages = s->rx_work = 0;
	if (s->ticks % SERVER_SWEEP_TICKS == 0) {
		location_sweep(s->ctx.loc, s->ctx.now, registrar_log_removed, NULL);
		guard_tick(s->ctx.guard, s->ctx.now);
		calls_fraud_tick(s->ctx.calls);
	}
	guard_firewall_pump(s->ctx.guard);
	calls_flush(s->ctx.calls);
	if (location_dirty(s->ctx.loc) && (err = location_flush(s->ctx.loc)) != 0)
		log_warn("writing registrations failed (%s); will retry", strerror(err));
}

/* What a reload left out: the changed keys still at their running values
 * and why the refused ones were refused. */
struct reload_gaps {
	char keys[2048];   /* "sip.port, alerts.mail_to" */
	char why[640];     /* "[alerts]: ca_file ... cannot be read: ..." */
	unsigned nkeys;
};

static void reload_gap_key(void *arg, const char *section, const char *name, bool reloadable)
{
	struct reload_gaps *g = arg;
	size_t len = strlen(g->keys);
	struct secev e;

	secev_begin(&e, "config_not_applied");
	secev_token(&e, "section", section);
	secev_token(&e, "key", name);
	secev_token(&e, "reason", reloadable ? "refused" : "restart");
	secev_emit(&e);
	snprintf(g->keys + len, sizeof(g->keys) - len, "%s%s.%s", len ? ", " : "", section, name);
	g->nkeys++;
}

static void reload_gap_why(struct reload_gaps *g, const char *what, const char *why)
{
	size_t len = strlen(g->why);

	log_warn("%s not reloaded (%s); the running settings stay", what, why);
	snprintf(g->why + len, sizeof(g->why) - len, "%s: %s.\n", what, why);
}

/* [alerts] go to the alerter, which checks them first: refused, they keep
 * their running values. */
static void server_reload_alerts(struct server *s, const struct rf_conf *old,
				 struct reload_gaps *g)
{
	struct rf_conf *c = s->ctx.conf;
	char why[400];

	if (conf_diff(old, c, "alerts", NULL, NULL) == 0)
		return;
	if (alerter_reconfigure(s->alerter, c, why, sizeof(why)) == 0)
		return;
	reload_gap_why(g, "[alerts]", why);
	conf_keep(c, old, "alerts", NULL);
}

static void server_reload_calls(struct server *s, const struct rf_conf *old,
				struct reload_gaps *g)
{
	if (calls_reconfigure(s->ctx.calls) == 0)
		return;
	reload_gap_why(g, "[media] no_media_timeout", "the media relay's command queue is full");
	conf_keep(s->ctx.conf, old, "media", "no_media_timeout");
}

static void server_alert_reload(struct server *s, const struct reload_gaps *g)
{
	char text[CONF_PATH_MAX + sizeof(g->keys) + sizeof(g->why) + 400];

	if (!g->nkeys) {
		snprintf(text, sizeof(text), "The daemon reloaded its configuration from %s after "
			 "SIGHUP.\nEvery changed setting is in force.", s->ctx.conf->path);
	} else {
		snprintf(text, sizeof(text), "The daemon reloaded its configuration from %s after "
			 "SIGHUP.\nThese changed settings are NOT applied and keep their running "
			 "values: %s.\n%sSettings marked 'reload: no' in docs/config.md take effect "
			 "at the next restart.", s->ctx.conf->path, g->keys, g->why);
	}
	alert_raise(s->alerter, ALERT_CONFIG_CHANGED, "Configuration reloaded", text);
}

static void server_alert_reload_refused(struct server *s, const char *err)
{
	char text[CONF_PATH_MAX + 800];

	snprintf(text, sizeof(text), "The daemon could not reload its configuration after "
		 "SIGHUP and runs on with the settings it had:\n%s", err);
	alert_raise(s->alerter, ALERT_CONFIG_CHANGED, "Configuration not reloaded", text);
}

static void server_reload_config(struct server *s)
{
	struct rf_conf *fresh = malloc(sizeof(*fresh)), *old = malloc(sizeof(*old));
	struct rf_conf *c = s->ctx.conf;
	struct reload_gaps gaps = {0};
	struct secev e;
	char err[512];

	if (!fresh || !old)
		goto out;
	if (conf_load(fresh, c->path, err, sizeof(err)) != 0) {
		log_error("configuration not reloaded: %s", err);
		server_alert_reload_refused(s, err);
		goto out;
	}
	*old = *c;
	/* Only settings that need no re-binding take effect on reload: the
	 * table in conf.c says which. */
	conf_apply_reloadable(c, fresh);
	server_reload_alerts(s, old, &gaps);
	server_reload_calls(s, old, &gaps);
	fraud_set_conf(s->ctx.fraud, c);
	calls_credit_changed(s->ctx.calls); /* new caps move live calls' deadlines */
	guard_configure(s->ctx.guard, c);
	transport_set_conn_limit(s->ctx.tp, c->connections_per_source);
	{
		enum log_level lvl;

		if (log_level_parse(c->log_level, &lvl))
			log_set_level(lvl);
	}
	/* Whatever still differs from the file is not in force. */
	conf_diff(c, fresh, NULL, reload_gap_key, &gaps);
	secev_begin(&e, "config_changed");
	secev_untrusted(&e, "file", c->path, strlen(c->path));
	secev_uint(&e, "not_applied", gaps.nkeys);
	secev_emit(&e);
	log_info("configuration reloaded from %s", c->path);
	if (gaps.nkeys)
		log_warn("changed settings NOT applied, the running values stay: %s", gaps.keys);
	server_alert_reload(s, &gaps);
out:
	if (fresh)
		explicit_bzero(fresh, sizeof(*fresh)); /* it holds the SMTP password */
	if (old)
		explicit_bzero(old, sizeof(*old));
	free(fresh);
	free(old);
}

static void server_reopen_logs(struct server *s)
{
	const char *path = s->ctx.conf->security_log;
	int err;

	if (path[0] && (err = secevent_reopen(path)) != 0)
		log_warn("cannot reopen the security log %s: %s", path, strerror(err));
}

static void server_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	if (sig == SIGHUP) {
		/* SIGHUP is also logrotate's signal: start a new security log
		 * first, even when the new configuration turns out to be bad. */
		server_reopen_logs(s);
		server_reload_config(s);
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(s->ctx.base);
}

/* ---- start and stop ---- */

static void server_trunks_unregistered(void *arg)
{
	struct server *s = arg;

	event_base_loopbreak(s->ctx.base);
}

/* Registered trunks un-REGISTER before the daemon goes, so providers stop
 * sending calls here. The loop runs on for their answers, at most
 * STOP_UNREGISTER_WAIT_S, while new requests go unanswered; another
 * SIGTERM ends it at once. */
static void server_unregister_trunks(struct server *s)
{
	struct timeval tv = { STOP_UNREGISTER_WAIT_S, 0 };

	if (!s->trunks || trunk_regs_unregister_all(s->trunks, server_trunks_unregistered, s) == 0)
		return;
	s->stopping = true;
	event_base_loopexit(s->ctx.base, &tv);
	event_base_dispatch(s->ctx.base);
}

static int server_open_state(struct server *s, char *err, size_t errlen)
{
	struct rf_conf *c = s->ctx.conf;
	const char *why = NULL;
	char why_buf[160];
	int rc;

	if ((rc = secret_load_or_create(c->secret_file, s->ctx.secret, sizeof(s->ctx.secret))) != 0) {
		snprintf(err, errlen, "cannot load the install secret %s: %s", c->secret_file, strerror(rc));
		return rc;
	}
	if ((rc = store_open(&s->ctx.store, c->database, &why)) != 0) {
		snprintf(err, errlen, "cannot open database %s: %s", c->database, why ? why : strerror(rc));
		return rc;
	}
	store_data_version(s->ctx.store, &s->data_version);
	/* Read before the loads below: a change in between reloads once more. */
	store_change_count(s->ctx.store, "directory", &s->seen_directory);
	store_change_count(s->ctx.store, "blacklist", &s->seen_blacklist);
	store_change_count(s->ctx.store, "trunks", &s->seen_trunks);
	store_change_count(s->ctx.store, "rates", &s->seen_rates);
	if ((rc = store_checkpointer_start(s->ctx.store, &s->checkpointer)) != 0)
		log_warn("database checkpoints stay on the signalling thread (%s)", strerror(rc));
	if ((rc = directory_load(&s->ctx.dir, s->ctx.store)) != 0 ||
	    (rc = location_alloc(&s->ctx.loc, s->ctx.store)) != 0 ||
	    (rc = location_load(s->ctx.loc, time(NULL))) != 0) {
		snprintf(err, errlen, "cannot load extensions and registrations: %s", strerror(rc));
		return rc;
	}
	if ((rc = trunks_load(&s->ctx.trunks, s->ctx.store, why_buf, sizeof(why_buf))) != 0) {
		snprintf(err, errlen, "cannot load trunks, DIDs and routes: %s",
			 why_buf[0] ? why_buf : strerror(rc));
		return rc;
	}
	if ((rc = nonce_uses_alloc(&s->ctx.nonces)) != 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	if ((rc = fraud_alloc(&s->ctx.fraud, c, &why)) != 0 ||
	    (rc = fraud_reload(s->ctx.fraud, s->ctx.store)) != 0 ||
	    (rc = fraud_learn_history(s->ctx.fraud, s->ctx.store, rf_clock_now())) != 0) {
		snprintf(err, errlen, "cannot load the numbering plan %s, blacklists and call "
			 "history: %s", c->numbering_country, why ? why : strerror(rc));
		return rc;
	}
	if ((rc = fraud_load_credit(s->ctx.fraud, s->ctx.store, time(NULL))) != 0) {
		snprintf(err, errlen, "cannot load rates, spending caps and this month's spend: %s",
			 strerror(rc));
		return rc;
	}
	if ((rc = guard_alloc(&s->ctx.guard, c, s->ctx.store)) != 0) {
		snprintf(err, errlen, "cannot load bans and locks: %s", strerror(rc));
		return rc;
	}
	guard_set_firewall(s->ctx.guard, s->nft);
	if ((rc = guard_load(s->ctx.guard)) != 0) {
		snprintf(err, errlen, "cannot load bans and locks: %s", strerror(rc));
		return rc;
	}
	return 0;
}

/* A connection from a banned source is closed at accept. */
static bool server_accept_ok(void *arg, const struct sockaddr *src)
{
	struct server *s = arg;

	return !guard_silence(s->ctx.guard, src, time(NULL));
}

static int server_events(struct server *s)
{
	static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	struct timeval tv = {0, SERVER_TICK_MS * 1000};

	for (int i = 0; i < 3; i++) {
		s->ev_sig[i] = evsignal_new(s->ctx.base, sigs[i], server_on_signal, s);
		if (!s->ev_sig[i] || evsignal_add(s->ev_sig[i], NULL) != 0)
			return ENOMEM;
	}
	s->ev_tick = event_new(s->ctx.base, -1, EV_PERSIST, server_tick, s);
	if (!s->ev_tick || event_add(s->ev_tick, &tv) != 0)
		return ENOMEM;
	return 0;
}

static void server_close(struct server *s)
{
	for (int i = 0; i < 3; i++) {
		if (s->ev_sig[i])
			event_free(s->ev_sig[i]);
	}
	if (s->ev_tick)
		event_free(s->ev_tick);
	trunk_regs_free(s->trunks);
	trunk_names_free(s->trunk_names);
	calls_free(s->ctx.calls);
	if (s->ctx.tsx)
		tsx_layer_free(s->ctx.tsx);
	transport_free(s->ctx.tp);
	dns_free(s->ctx.dns);
	location_free(s->ctx.loc);
	guard_free(s->ctx.guard);
	nonce_uses_free(s->ctx.nonces);
	fraud_free(s->ctx.fraud);
	trunks_free(s->ctx.trunks);
	nft_helper_stop(s->nft);
	alerter_free(s->alerter); /* after the guard, which raises alerts */
	directory_free(s->ctx.dir);
	store_checkpointer_stop(s->checkpointer);
	store_close(s->ctx.store);
	if (s->ctx.base)
		event_base_free(s->ctx.base);
	secret_wipe(s->ctx.secret, sizeof(s->ctx.secret));
}

/* Every call holds four relay sockets and every TCP/TLS phone one
 * connection: take all the descriptors the system allows us. */
static void server_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open file limit: %s", strerror(errno));
	}
}

/* The firewall helper is forked first, while nothing else is open, so it
 * holds no socket, file or database of the daemon's; and while we are
 * still root, so it can keep CAP_NET_ADMIN (guard/nft_helper.h). */
static int server_start_firewall(struct server *s, char *err, size_t errlen)
{
	const struct rf_conf *c = s->ctx.conf;
	struct nft_target t;
	char why[256];
	int rc;

	if (!c->nft_set[0])
		return 0;
	if (nft_target_parse(c->nft_set, &t, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[firewall] nft_set: %s", why);
		return EINVAL;
	}
	rc = nft_helper_start(&s->nft, &t, c->user, err, errlen);
	if (!rc)
		log_info("bans are mirrored into the nftables sets %s %s %s and %s6",
			 t.family, t.table, t.set, t.set);
	return rc;
}

static void server_trunk_conn_failed(void *arg, uint64_t conn_id, const char *reason,
				     const char *detail)
{
	struct server *s = arg;

	if (s->trunks)
		trunk_regs_conn_failed(s->trunks, conn_id, reason, detail);
	if (s->ctx.calls)
		calls_trunk_conn_failed(s->ctx.calls, conn_id, reason, detail);
}

/* What trunks need below SIP: a resolver and verified TLS to providers. */
static int server_start_trunk_io(struct server *s, char *err, size_t errlen)
{
	const struct rf_conf *c = s->ctx.conf;
	int rc;

	rc = dns_alloc(&s->ctx.dns, s->ctx.base, c->trunk_dns_servers, err, errlen);
	if (rc)
		return rc;
	rc = transport_client_tls_init(s->ctx.tp, c->trunk_ca_file, c->trunk_client_cert,
				       c->trunk_client_key, err, errlen);
	if (rc)
		return rc;
	transport_set_fail_cb(s->ctx.tp, server_trunk_conn_failed, s);
	return 0;
}

static int server_start(struct server *s, char *err, size_t errlen)
{
	struct rf_conf *c = s->ctx.conf;
	int rc;

	rc = server_start_firewall(s, err, errlen);
	if (rc)
		return rc;
	server_raise_fd_limit();
	s->ctx.base = event_base_new();
	if (!s->ctx.base) {
		snprintf(err, errlen, "cannot create the event loop");
		return ENOMEM;
	}
	/* Bind, read the TLS key and open the state as the starting user;
	 * then drop privileges before the first packet is read. */
	rc = transport_alloc(&s->ctx.tp, s->ctx.base, c, server_on_message, s, err, errlen);
	if (rc)
		return rc;
	rc = tsx_layer_alloc(&s->ctx.tsx, s->ctx.base, s->ctx.tp, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot create the transaction layer");
		return rc;
	}
	/* Signals are caught from the moment the ports accept: a SIGHUP
	 * (logrotate) arriving during the rest of the start-up is handled
	 * once the loop runs instead of killing the daemon. Nothing here
	 * runs before event_base_dispatch(). */
	rc = server_events(s);
	if (rc) {
		snprintf(err, errlen, "cannot set up timers and signals");
		return rc;
	}
	rc = server_start_trunk_io(s, err, errlen);
	if (rc)
		return rc;
	if ((rc = secevent_open(c->security_log[0] ? c->security_log : NULL, c->syslog)) != 0)
		log_warn("cannot open security log %s: %s", c->security_log, strerror(rc));
	rc = server_open_state(s, err, errlen);
	if (rc)
		return rc;
	/* The alerter's database connection is a file too; its thread starts
	 * once privileges are dropped. */
	rc = alerter_alloc(&s->alerter, c, c->database);
	if (rc) {
		snprintf(err, errlen, "cannot open the alert queue: %s", strerror(rc));
		return rc;
	}
	guard_set_alerter(s->ctx.guard, s->alerter);
	s->ctx.alerter = s->alerter;
	transport_set_accept_filter(s->ctx.tp, server_accept_ok, s);
	transport_set_conn_limit(s->ctx.tp, c->connections_per_source);
	/* Every file is open now, so the instance may even sit below a
	 * directory the service user cannot enter. No packet has been read
	 * yet: all network input is handled without privileges. */
	rc = priv_drop(c->user, err, errlen);
	if (rc)
		return rc;
	/* The relay thread starts unprivileged; its ports are above 1024. */
	rc = calls_alloc(&s->ctx.calls, &s->ctx);
	if (rc) {
		snprintf(err, errlen, "cannot start the media relay: %s", strerror(rc));
		return rc;
	}
	/* Alerts are sent by a thread of their own, unprivileged too. */
	rc = alerter_start(s->alerter);
	if (rc) {
		snprintf(err, errlen, "cannot start the alert sender: %s", strerror(rc));
		return rc;
	}
	rc = trunk_names_alloc(&s->trunk_names, &s->ctx, s->ctx.dns);
	if (rc) {
		snprintf(err, errlen, "cannot start resolving trunk hosts: %s", strerror(rc));
		return rc;
	}
	rc = trunk_regs_alloc(&s->trunks, &s->ctx, s->ctx.dns);
	if (rc)
		snprintf(err, errlen, "cannot start trunk registration: %s", strerror(rc));
	return rc;
}

int server_run(struct rf_conf *c)
{
	struct server *s = calloc(1, sizeof(*s));
	char err[2048] = "";
	enum log_level lvl;
	int rc;

	if (!s) {
		fprintf(stderr, "ringfence: out of memory\n");
		return 1;
	}
	s->ctx.conf = c;
	s->ctx.reply = &s->reply;
	if (log_level_parse(c->log_level, &lvl))
		log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	rc = server_start(s, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ringfence: %s\n", err[0] ? err : strerror(rc));
		server_close(s);
		free(s);
		return 1;
	}
	secevent_simple("daemon_started", "realm", c->realm);
	log_info("ringfence listening on port %u (tls %u), realm %s, %zu extensions, %zu registrations",
		 c->port, c->tls_port, c->realm, s->ctx.dir->n, location_count(s->ctx.loc));
	event_base_dispatch(s->ctx.base);
	server_unregister_trunks(s);
	log_info("guard: %llu packets from banned sources, %llu over budget and %llu shed in overload dropped; %llu connections refused",
		 (unsigned long long)guard_dropped(s->ctx.guard),
		 (unsigned long long)guard_flood_dropped(s->ctx.guard),
		 (unsigned long long)guard_flood_shed(s->ctx.guard),
		 (unsigned long long)transport_conns_refused(s->ctx.tp));
	secevent_simple("daemon_stopped", "realm", c->realm);
	server_close(s);
	secevent_close();
	free(s);
	return 0;
}
