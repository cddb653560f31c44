/* The registration client for trunks; see trunk_reg.h.
 *
 * One struct trunk_reg per trunk with `register` set, on the signalling
 * loop. Its life is a small cycle:
 *   resolve (pbx/dns.h) -> connect (TCP/TLS) -> REGISTER -> 401/407 ->
 *   REGISTER with credentials -> 2xx -> timer at ~85% of the grant -> ...
 * Every failure lands in reg_fail(): either a retry after a backoff that
 * doubles up to TRUNK_RETRY_MAX_S, or, for rejected credentials, a stop
 * until the administrator changes the trunk.
 *
 * A trunk that holds a binding and goes away (deleted, changed, the
 * daemon stopping) moves from set->list to set->leaving for its one
 * un-REGISTER:
 *   REGISTER Expires: 0 -> 401/407 -> once with credentials -> answer
 * and is freed at the answer or the failure, which are logged and never
 * retried. */
#include "pbx/trunk_reg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/secret.h"
#include "guard/secevent.h"
#include "pbx/dns.h"
#include "pbx/trunk_auth.h"
#include "pbx/trunks.h"
#include "sip/context.h"
#include "sip/transaction.h"
#include "sip/transport.h"
#include "store/store.h"

#define REFRESH_PERCENT 85u  /* refresh well before expiry, as phones do */
#define REG_MSG_MAX 4096u    /* our REGISTER: fixed headers plus one digest */
#define CHALLENGES_IN_A_ROW 2u /* answered challenges without success = refused */
#define UNREG_CHALLENGES 1u    /* a binding that is going is worth one answer */
#define DAEMON_STOPPED "the daemon is not running"

enum reg_state { REG_OFF, REG_REGISTERING, REG_REGISTERED, REG_FAILED };

struct trunk_reg {
	struct trunk_reg *next;
	struct trunk_regs *set;      /* borrowed: the owner */
	struct trunk_record rec;     /* holds the password: wiped on free */
	enum reg_state state;
	struct event *timer;         /* the next attempt or refresh */
	uint64_t dns_id;             /* pending lookup, 0 none */
	bool resolving;              /* between dns_resolve and its callback */
	struct tsx *tsx;             /* pending REGISTER, NULL none */
	struct sip_peer peer;        /* where REGISTER goes */
	struct dns_result targets;   /* the resolved list, tried in order */
	unsigned target;             /* the one in use */
	unsigned expires_req;        /* what we ask for; raised by a 423 */
	char call_id[33], from_tag[17];
	uint32_t cseq;
	struct trunk_challenge ch;
	bool have_ch;
	unsigned nc;                 /* requests answered under ch.nonce */
	unsigned challenges;         /* answered in a row without a 2xx */
	unsigned backoff_s;          /* the next retry's delay */
	unsigned last_code;
	int64_t expires, registered_at, next_attempt;
	char reason[TRUNK_STATUS_REASON_MAX + 1];
	char contact[80];            /* our address in the last Contact sent */
	const char *leaving;         /* un-REGISTERing: the cause token; else NULL */
	bool held;                   /* waits for its predecessor's un-REGISTER */
};

struct trunk_regs {
	struct sip_ctx *ctx;         /* borrowed */
	struct dns *dns;             /* borrowed */
	struct trunk_reg *list;
	struct trunk_reg *leaving;   /* un-REGISTERs under way */
	bool stopping;
	void (*all_done)(void *);    /* the last un-REGISTER of a stop ended */
	void *all_done_arg;
};

static const char *state_name(enum reg_state s)
{
	switch (s) {
	case REG_REGISTERING: return "registering";
	case REG_REGISTERED: return "registered";
	case REG_FAILED: return "failed";
	default: return "off";
	}
}

/* ---- state out: the store and the security log ---- */

static void reg_save(struct trunk_reg *tr)
{
	struct trunk_status st;
	int err;

	memset(&st, 0, sizeof(st));
	snprintf(st.trunk, sizeof(st.trunk), "%s", tr->rec.name);
	snprintf(st.state, sizeof(st.state), "%s", state_name(tr->state));
	snprintf(st.reason, sizeof(st.reason), "%s", tr->reason);
	st.last_code = tr->last_code;
	st.expires = tr->state == REG_REGISTERED ? tr->expires : 0;
	st.registered = tr->state == REG_REGISTERED ? tr->registered_at : 0;
	st.next_attempt = tr->next_attempt;
	err = store_trunk_status_put(tr->set->ctx->store, &st);
	if (err && err != ENOENT)
		log_warn("trunk %s: cannot save its registration state: %s", tr->rec.name,
			 strerror(err));
}

static void reg_event(struct trunk_reg *tr, const char *event, const char *reason)
{
	struct secev e;

	secev_begin(&e, event);
	if (tr->peer.addrlen)
		secev_src(&e, (const struct sockaddr *)&tr->peer.addr, transport_name(tr->peer.tp));
	secev_untrusted(&e, "trunk", tr->rec.name, strlen(tr->rec.name));
	if (tr->leaving)
		secev_token(&e, "cause", tr->leaving);
	if (reason)
		secev_token(&e, "reason", reason);
	if (tr->last_code)
		secev_uint(&e, "code", tr->last_code);
	if (tr->state == REG_REGISTERED)
		secev_uint(&e, "expires", (unsigned long long)(tr->expires - time(NULL)));
	secev_emit(&e);
}

/* ---- timers ---- */

static void reg_attempt(struct trunk_reg *tr);

static void reg_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reg_attempt(arg);
}

static void reg_arm(struct trunk_reg *tr, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	tr->next_attempt = (int64_t)time(NULL) + seconds;
	evtimer_add(tr->timer, &tv);
}

/* Cancel whatever is in flight: the lookup, the transaction. */
static void reg_quiesce(struct trunk_reg *tr)
{
	if (tr->dns_id)
		dns_cancel(tr->set->dns, tr->dns_id);
	tr->dns_id = 0;
	tr->resolving = false;
	if (tr->tsx)
		tsx_client_detach(tr->tsx);
	tr->tsx = NULL;
	evtimer_del(tr->timer);
}

/* reason_token is stable for the log; text is what `trunk show` says.
 * retry false: wrong credentials, wait for the administrator. */
static void reg_fail(struct trunk_reg *tr, const char *reason_token, const char *text,
		     bool retry)
{
	reg_quiesce(tr);
	tr->state = REG_FAILED;
	tr->have_ch = false;
	tr->challenges = 0;
	snprintf(tr->reason, sizeof(tr->reason), "%s", text);
	tr->next_attempt = 0;
	if (retry) {
		reg_arm(tr, tr->backoff_s);
		tr->backoff_s = tr->backoff_s * 2 > TRUNK_RETRY_MAX_S ? TRUNK_RETRY_MAX_S
								       : tr->backoff_s * 2;
	}
	reg_save(tr);
	reg_event(tr, "trunk_registration_failed", reason_token);
	log_warn("trunk %s: registration failed: %s%s", tr->rec.name, text,
		 retry ? "; will retry" : "; not retrying until the trunk is changed");
}

/* ---- REGISTER ---- */

static void reg_request_uri(const struct trunk_reg *tr, char *out, size_t len)
{
	if (tr->rec.port)
		snprintf(out, len, "sip:%s:%u", tr->rec.host, tr->rec.port);
	else
		snprintf(out, len, "sip:%s", tr->rec.host);
}

static bool addr_unspecified(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* A listener on 0.0.0.0 or :: names no address a provider can reach: the
 * kernel's source address towards the provider does (a UDP connect sends
 * nothing and does not block). The listener's port is kept. */
static int route_source(const struct sip_peer *to, struct sockaddr_storage *ss)
{
	struct sockaddr_storage src;
	socklen_t sl = sizeof(src);
	int fd = socket(to->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)&to->addr, to->addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&src, &sl) < 0)
		err = errno;
	close(fd);
	if (err)
		return err;
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = ((struct sockaddr_in *)ss)->sin_port;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = ((struct sockaddr_in6 *)ss)->sin6_port;
	*ss = src;
	return 0;
}

/* Our address as the provider should see it: the connection's local end
 * for TCP/TLS, the UDP listener of that family otherwise. */
static int reg_local(const struct trunk_reg *tr, char *out, size_t len)
{
	const struct sip_ctx *ctx = tr->set->ctx;
	struct sockaddr_storage ss;
	socklen_t sl;
	int err;

	if (tr->peer.tp == SIP_TP_UDP)
		err = transport_local_addr(ctx->tp, SIP_TP_UDP, tr->peer.addr.ss_family, &ss, &sl);
	else
		err = transport_conn_local_addr(ctx->tp, tr->peer.conn_id, &ss, &sl);
	if (!err && addr_unspecified(&ss))
		err = route_source(&tr->peer, &ss);
	if (!err)
		sockaddr_format((const struct sockaddr *)&ss, out, len);
	return err;
}

static void reg_on_response(void *arg, struct tsx *x, const struct sip_msg *resp, int err);
static void reg_next_or_fail(struct trunk_reg *tr, const char *token, const char *text);

static int reg_send(struct trunk_reg *tr)
{
	const struct sip_ctx *ctx = tr->set->ctx;
	char msg[REG_MSG_MAX], auth[1024] = "", uri[300], local[80], branch[25], cnonce[17];
	const char *tpu = tr->peer.tp == SIP_TP_TLS ? "TLS" : tr->peer.tp == SIP_TP_TCP ? "TCP" : "UDP";
	int n, err;

	if ((err = reg_local(tr, local, sizeof(local))) != 0)
		return err;
	/* An un-REGISTER names the Contact that was bound, even when it
	 * leaves over a connection made anew. */
	if (!tr->leaving)
		snprintf(tr->contact, sizeof(tr->contact), "%s", local);
	reg_request_uri(tr, uri, sizeof(uri));
	secret_random_hex(branch, 12);
	if (tr->have_ch) {
		secret_random_hex(cnonce, 8);
		err = trunk_auth_header(&tr->ch, tr->rec.username, tr->rec.password, "REGISTER",
					uri, ++tr->nc, cnonce, auth, sizeof(auth));
		if (err)
			return err;
	}
	n = snprintf(msg, sizeof(msg),
		     "REGISTER %s SIP/2.0\r\n"
		     "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:%s@%s>;tag=%s\r\n"
		     "To: <sip:%s@%s>\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u REGISTER\r\n"
		     "Contact: <sip:%s@%s;transport=%s>\r\n"
		     "Expires: %u\r\n"
		     "%s%s%s%s"
		     "Content-Length: 0\r\n\r\n",
		     uri, tpu, local, branch, tr->rec.username, tr->rec.host, tr->from_tag,
		     tr->rec.username, tr->rec.host, tr->call_id, ++tr->cseq,
		     tr->rec.username, tr->contact, transport_name(tr->peer.tp),
		     tr->leaving ? 0u : tr->expires_req,
		     ctx->conf->user_agent[0] ? "User-Agent: " : "", ctx->conf->user_agent,
		     ctx->conf->user_agent[0] ? "\r\n" : "", auth);
	secret_wipe(auth, sizeof(auth));
	if (n < 0 || (size_t)n >= sizeof(msg))
		return EMSGSIZE;
	err = tsx_client_send(&tr->tsx, ctx->tsx, msg, (size_t)n, &tr->peer, reg_on_response, tr);
	secret_wipe(msg, sizeof(msg));
	if (err)
		tr->tsx = NULL;
	return err;
}

static void reg_send_or_fail(struct trunk_reg *tr)
{
	char text[120];
	int err = reg_send(tr);

	if (!err)
		return;
	snprintf(text, sizeof(text), "cannot send REGISTER: %s", strerror(err));
	reg_fail(tr, "send_failed", text, true);
}

/* ---- responses ---- */

/* The expiry the provider granted our contact: its Contact's expires
 * parameter, else the Expires header, else what we asked for. */
static unsigned reg_granted(const struct sip_msg *resp, unsigned asked)
{
	struct sip_contact c[SIP_MAX_CONTACTS_PER_REGISTER];
	const struct sip_hdr *h = sip_msg_hdr(resp, SIP_H_EXPIRES);
	size_t n = 0;
	bool star = false;
	uint64_t v;
	unsigned granted = asked;

	/* Never longer than asked: a provider's typo must not make us wait
	 * a year to refresh. */
	if (h && sip_parse_uint(h->value, SIP_MAX_EXPIRES, &v) == 0)
		granted = (unsigned)(v < asked ? v : asked);
	if (sip_contacts_parse(resp, c, SIP_MAX_CONTACTS_PER_REGISTER, &n, &star) == 0) {
		/* Several contacts: the shortest is the safe reading. */
		for (size_t i = 0; i < n; i++)
			if (c[i].has_expires && c[i].expires < granted)
				granted = c[i].expires;
	}
	return granted;
}

static void reg_success(struct trunk_reg *tr, const struct sip_msg *resp)
{
	unsigned granted = reg_granted(resp, tr->expires_req), refresh;
	int64_t now = time(NULL);
	bool was = tr->state == REG_REGISTERED;

	if (granted == 0) {
		reg_fail(tr, "no_expiry", "the provider granted an expiry of 0", true);
		return;
	}
	if (granted < TRUNK_MIN_GRANTED_S)
		granted = TRUNK_MIN_GRANTED_S;
	refresh = granted * REFRESH_PERCENT / 100u;
	if (refresh == 0)
		refresh = 1;
	tr->state = REG_REGISTERED;
	tr->expires = now + granted;
	if (!was)
		tr->registered_at = now;
	tr->challenges = 0;
	tr->backoff_s = TRUNK_RETRY_MIN_S;
	tr->reason[0] = '\0';
	reg_arm(tr, refresh);
	reg_save(tr);
	if (!was) {
		reg_event(tr, "trunk_registered", NULL);
		log_info("trunk %s: registered for %u s", tr->rec.name, granted);
	}
}

static const char BAD_CHALLENGE_TEXT[] =
	"the provider's challenge has no digest we can answer (MD5 or SHA-256, qop auth or none)";
static const char REFUSED_TEXT[] =
	"the provider refused the credentials (check --username and --password)";

/* Keep the provider's challenge for the next request. 0; ENOENT when it
 * has no digest we can answer; EACCES when it refuses our answer: more
 * than `limit` challenges in a row, or the same nonce again right after
 * our answer (asking again would only repeat a wrong password). */
static int reg_take_challenge(struct trunk_reg *tr, const struct sip_msg *resp,
			      unsigned limit)
{
	struct trunk_challenge ch;

	if (trunk_challenge_pick(resp, &ch) != 0)
		return ENOENT;
	if (++tr->challenges > limit || (tr->have_ch && strcmp(ch.nonce, tr->ch.nonce) == 0))
		return EACCES;
	tr->ch = ch;
	tr->have_ch = true;
	tr->nc = 0;
	return 0;
}

static void reg_challenged(struct trunk_reg *tr, const struct sip_msg *resp)
{
	int err = reg_take_challenge(tr, resp, CHALLENGES_IN_A_ROW);

	if (err == ENOENT)
		reg_fail(tr, "bad_challenge", BAD_CHALLENGE_TEXT, true);
	else if (err)
		reg_fail(tr, "credentials_refused", REFUSED_TEXT, false);
	else
		reg_send_or_fail(tr);
}

/* 423 Interval Too Brief: ask again with the provider's Min-Expires, only
 * upwards and within a day, so a provider cannot make us ask forever. */
static bool reg_raise_expires(struct trunk_reg *tr, const struct sip_msg *resp)
{
	const struct sip_hdr *h = sip_msg_hdr(resp, SIP_H_MIN_EXPIRES);
	uint64_t v;

	if (!h || sip_parse_uint(h->value, SIP_MAX_EXPIRES, &v) != 0 ||
	    v <= tr->expires_req || v > TRUNK_MAX_MIN_EXPIRES_S)
		return false;
	tr->expires_req = (unsigned)v;
	return true;
}

static void reg_final(struct trunk_reg *tr, const struct sip_msg *resp)
{
	char text[160];

	tr->last_code = resp->status;
	if (resp->status >= 200 && resp->status < 300) {
		reg_success(tr, resp);
		return;
	}
	if (resp->status == 401 || resp->status == 407) {
		reg_challenged(tr, resp);
		return;
	}
	if (resp->status == 423 && reg_raise_expires(tr, resp)) {
		reg_send_or_fail(tr);
		return;
	}
	if (resp->status == 403) {
		reg_fail(tr, "forbidden", "403 Forbidden: the provider refused the credentials "
			 "(check --username and --password)", false);
		return;
	}
	snprintf(text, sizeof(text), "the provider answered %u", resp->status);
	reg_fail(tr, "rejected", text, true);
}

/* A transaction that ended without an answer: the text for `trunk show`
 * and the log; returns the reason token. */
static const char *reg_error_text(int err, char *text, size_t len)
{
	if (err == ETIMEDOUT) {
		snprintf(text, len, "no answer from the provider");
		return "timeout";
	}
	snprintf(text, len, "cannot reach the provider: %s", strerror(err));
	return "transport";
}

static void unreg_final(struct trunk_reg *tr, const struct sip_msg *resp);
static void unreg_fail(struct trunk_reg *tr, const char *reason_token, const char *text);

static void reg_on_response(void *arg, struct tsx *x, const struct sip_msg *resp, int err)
{
	struct trunk_reg *tr = arg;
	const char *token;
	char text[120];

	if (x != tr->tsx)
		return;
	if (resp && resp->status < 200)
		return;
	tr->tsx = NULL; /* a final answer or an error ends the transaction */
	if (resp) {
		if (tr->leaving)
			unreg_final(tr, resp);
		else
			reg_final(tr, resp);
		return;
	}
	tr->last_code = 0;
	token = reg_error_text(err, text, sizeof(text));
	if (tr->leaving) /* an un-REGISTER goes where the binding is, nowhere else */
		unreg_fail(tr, token, text);
	else
		reg_next_or_fail(tr, token, text);
}

/* ---- resolving and connecting ---- */

/* Send to the current target of the resolved list, connecting first for
 * TCP and TLS. */
static void reg_use_target(struct trunk_reg *tr)
{
	const struct dns_target *t = &tr->targets.t[tr->target];
	char text[120];
	int e;

	memset(&tr->peer, 0, sizeof(tr->peer));
	tr->peer.tp = t->tp;
	tr->peer.addr = t->addr;
	tr->peer.addrlen = t->addrlen;
	tr->peer.sock = -1;
	if (tr->peer.tp != SIP_TP_UDP) {
		e = transport_connect(tr->set->ctx->tp, tr->peer.tp,
				      (const struct sockaddr *)&tr->peer.addr, tr->peer.addrlen,
				      tr->rec.host, &tr->peer.conn_id);
		if (e) {
			snprintf(text, sizeof(text), "cannot connect: %s",
				 e == EPROTONOSUPPORT ? "TLS client not available" : strerror(e));
			reg_next_or_fail(tr, "connect_failed", text);
			return;
		}
	}
	reg_send_or_fail(tr);
}

/* RFC 3263 4.3: a target that does not answer or cannot be reached hands
 * over to the next one of the list; the last one's failure is the
 * attempt's. */
static void reg_next_or_fail(struct trunk_reg *tr, const char *token, const char *text)
{
	char where[80];

	if (tr->target + 1 >= tr->targets.n) {
		reg_fail(tr, token, text, true);
		return;
	}
	if (tr->tsx)
		tsx_client_detach(tr->tsx);
	tr->tsx = NULL;
	sip_peer_format(&tr->peer, where, sizeof(where));
	log_info("trunk %s: %s (%s); trying the next address", tr->rec.name, text, where);
	tr->target++;
	reg_use_target(tr);
}

static void reg_on_resolved(void *arg, int err, const struct dns_result *res)
{
	struct trunk_reg *tr = arg;
	char text[TRUNK_HOST_MAX + 80];

	tr->dns_id = 0;
	tr->resolving = false;
	if (err) {
		snprintf(text, sizeof(text), "cannot resolve %s: %s", tr->rec.host,
			 err == ENOENT ? "no such name or no address" : strerror(err));
		reg_fail(tr, "dns", text, true);
		return;
	}
	tr->targets = *res;
	tr->target = 0;
	reg_use_target(tr);
}

static void reg_attempt(struct trunk_reg *tr)
{
	uint64_t id = 0;
	int err;

	reg_quiesce(tr);
	if (tr->state != REG_REGISTERED)
		tr->state = REG_REGISTERING;
	/* Every attempt, refreshes too, starts unauthenticated and answers
	 * the challenge it gets: an old nonce is not worth a failure. */
	tr->have_ch = false;
	tr->challenges = 0;
	tr->next_attempt = 0;
	reg_save(tr);
	tr->resolving = true;
	err = dns_resolve(tr->set->dns, tr->rec.host, tr->rec.port, trunk_transport(&tr->rec),
			  reg_on_resolved, tr, &id);
	if (err) {
		tr->resolving = false;
		reg_fail(tr, "dns", "cannot start resolving the host", true);
		return;
	}
	/* The callback may have run already (cache, IP literal). */
	if (tr->resolving)
		tr->dns_id = id;
}

/* ---- the set of trunks ---- */

static void reg_free(struct trunk_reg *tr)
{
	reg_quiesce(tr);
	if (tr->timer)
		event_free(tr->timer);
	secret_wipe(&tr->rec, sizeof(tr->rec));
	free(tr);
}

static int reg_alloc(struct trunk_reg **tp, struct trunk_regs *set,
		     const struct trunk_record *rec)
{
	struct trunk_reg *tr = calloc(1, sizeof(*tr));
	int err = 0;

	if (!tr)
		return ENOMEM;
	tr->set = set;
	tr->rec = *rec;
	tr->backoff_s = TRUNK_RETRY_MIN_S;
	tr->expires_req = TRUNK_REGISTER_EXPIRES_S;
	secret_random_hex(tr->call_id, 16);
	secret_random_hex(tr->from_tag, 8);
	tr->timer = evtimer_new(set->ctx->base, reg_on_timer, tr);
	if (!tr->timer) {
		err = ENOMEM;
		goto out;
	}
	tr->next = set->list;
	set->list = tr;
out:
	if (err) {
		reg_free(tr);
		return err;
	}
	*tp = tr;
	return 0;
}

static void reg_unlink(struct trunk_regs *set, struct trunk_reg *tr)
{
	for (struct trunk_reg **pp = &set->list; *pp; pp = &(*pp)->next) {
		if (*pp == tr) {
			*pp = tr->next;
			return;
		}
	}
}

static struct trunk_reg *reg_find(struct trunk_regs *set, const char *name)
{
	for (struct trunk_reg *tr = set->list; tr; tr = tr->next)
		if (strcmp(tr->rec.name, name) == 0)
			return tr;
	return NULL;
}

/* ---- un-REGISTER (RFC 3261 10.2.2) ---- */

static struct trunk_reg *unreg_find(struct trunk_regs *set, const char *name)
{
	for (struct trunk_reg *tr = set->leaving; tr; tr = tr->next)
		if (strcmp(tr->rec.name, name) == 0)
			return tr;
	return NULL;
}

/* The un-REGISTER ended: free it, then either tell a stop that the last
 * one is done or let the trunk's successor (a changed trunk) register. */
static void unreg_done(struct trunk_reg *tr)
{
	struct trunk_regs *set = tr->set;
	struct trunk_reg *next;

	for (struct trunk_reg **pp = &set->leaving; *pp; pp = &(*pp)->next) {
		if (*pp == tr) {
			*pp = tr->next;
			break;
		}
	}
	next = reg_find(set, tr->rec.name);
	reg_free(tr);
	if (set->stopping) {
		if (!set->leaving && set->all_done)
			set->all_done(set->all_done_arg);
		return;
	}
	if (next && next->held && !unreg_find(set, next->rec.name)) {
		next->held = false;
		reg_attempt(next);
	}
}

static void unreg_fail(struct trunk_reg *tr, const char *reason_token, const char *text)
{
	reg_event(tr, "trunk_unregistration_failed", reason_token);
	log_warn("trunk %s: un-registering (%s) failed: %s; the provider keeps the binding "
		 "until it expires", tr->rec.name, tr->leaving, text);
	unreg_done(tr);
}

static void unreg_final(struct trunk_reg *tr, const struct sip_msg *resp)
{
	char text[160];
	int err;

	tr->last_code = resp->status;
	if (resp->status >= 200 && resp->status < 300) {
		reg_event(tr, "trunk_unregistered", NULL);
		log_info("trunk %s: un-registered (%s)", tr->rec.name, tr->leaving);
		unreg_done(tr);
		return;
	}
	if (resp->status == 401 || resp->status == 407) {
		err = reg_take_challenge(tr, resp, UNREG_CHALLENGES);
		if (err == ENOENT)
			unreg_fail(tr, "bad_challenge", BAD_CHALLENGE_TEXT);
		else if (err)
			unreg_fail(tr, "credentials_refused", REFUSED_TEXT);
		else if ((err = reg_send(tr)) != 0)
			unreg_fail(tr, "send_failed", strerror(err));
		return;
	}
	snprintf(text, sizeof(text), "the provider answered %u", resp->status);
	unreg_fail(tr, resp->status == 403 ? "forbidden" : "rejected", text);
}

/* Move tr, registered and off set->list, to set->leaving and send its
 * REGISTER with Expires: 0 to the address it registered at, with the
 * same Call-ID, a higher CSeq and the Contact that was bound. Over TCP
 * and TLS the shared connection is used, or made again if it went. */
static void unreg_start(struct trunk_reg *tr, const char *cause)
{
	struct trunk_regs *set = tr->set;
	int err = 0;

	reg_quiesce(tr);
	tr->leaving = cause;
	tr->state = REG_OFF;
	tr->have_ch = false;
	tr->challenges = 0;
	tr->last_code = 0;
	tr->next = set->leaving;
	set->leaving = tr;
	if (tr->peer.tp != SIP_TP_UDP)
		err = transport_connect(set->ctx->tp, tr->peer.tp,
					(const struct sockaddr *)&tr->peer.addr, tr->peer.addrlen,
					tr->rec.host, &tr->peer.conn_id);
	if (!err)
		err = reg_send(tr);
	if (err)
		unreg_fail(tr, "send_failed", strerror(err));
}

/* ---- reloading ---- */

static bool reg_same_binding(const struct trunk_record *a, const struct trunk_record *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port &&
	       strcmp(a->transport, b->transport) == 0 &&
	       strcmp(a->username, b->username) == 0 && strcmp(a->password, b->password) == 0;
}

enum trunk_reg_action trunk_reg_action(const struct trunk_record *old,
				       const struct trunk_record *now, bool registered)
{
	if (!now || !now->reg)
		return TRUNK_REG_STOP;
	if (!old || !old->reg || !reg_same_binding(old, now))
		return TRUNK_REG_RESTART;
	/* A cap or --max-calls must not cost the provider a new binding;
	 * but a trunk that is not registered is tried again at any change,
	 * as the administrator who touched it expects. */
	return registered || old->updated == now->updated ? TRUNK_REG_KEEP : TRUNK_REG_RESTART;
}

/* A trunk that no longer registers says `why` in `trunk show`; one that
 * holds a binding un-REGISTERs it for `cause` (NULL: it is simply
 * dropped). */
static void reg_stop(struct trunk_reg *tr, const char *why, const char *cause)
{
	bool bound = tr->state == REG_REGISTERED;

	reg_quiesce(tr);
	tr->state = REG_OFF;
	tr->next_attempt = 0;
	snprintf(tr->reason, sizeof(tr->reason), "%s", why);
	reg_save(tr);
	if (bound && cause)
		unreg_start(tr, cause);
	else
		reg_free(tr);
}

struct reload_walk {
	struct trunk_regs *set;
	struct trunk_reg *keep; /* the new list, built aside */
};

static int reload_one(const struct trunk_record *rec, void *arg)
{
	struct reload_walk *w = arg;
	struct trunk_reg *tr = reg_find(w->set, rec->name);
	int err;

	if (tr)
		reg_unlink(w->set, tr);
	switch (trunk_reg_action(tr ? &tr->rec : NULL, rec, tr && tr->state == REG_REGISTERED)) {
	case TRUNK_REG_KEEP:
		tr->rec = *rec;
		tr->next = w->keep;
		w->keep = tr;
		return 0;
	case TRUNK_REG_STOP:
		if (tr)
			reg_stop(tr, "registration is off", "register_off");
		return 0;
	case TRUNK_REG_RESTART:
		break;
	}
	if (tr) { /* changed: the old binding goes, the new settings start over */
		if (tr->state == REG_REGISTERED)
			unreg_start(tr, "changed");
		else
			reg_free(tr);
	}
	err = reg_alloc(&tr, w->set, rec);
	if (err)
		return err;
	reg_unlink(w->set, tr);
	tr->next = w->keep;
	w->keep = tr;
	tr->state = REG_REGISTERING;
	/* Registering while the old binding's un-REGISTER is under way could
	 * have the provider drop the new binding for the same Contact. */
	tr->held = unreg_find(w->set, rec->name) != NULL;
	if (tr->held)
		reg_save(tr);
	else
		reg_attempt(tr);
	return 0;
}

void trunk_regs_reload(struct trunk_regs *set)
{
	struct reload_walk w = { set, NULL };
	int err;

	if (set->stopping)
		return;
	err = store_trunk_foreach(set->ctx->store, reload_one, &w);

	/* What is left in set->list was deleted. On a failed walk the
	 * unvisited trunks stay as they were. */
	while (set->list) {
		struct trunk_reg *tr = set->list;

		set->list = tr->next;
		if (err) {
			tr->next = w.keep;
			w.keep = tr;
		} else {
			reg_stop(tr, "registration is off", "deleted");
		}
	}
	set->list = w.keep;
	if (err)
		log_warn("trunks: cannot reload the registrations: %s", strerror(err));
}

/* Whether tr's pending REGISTER went over that connection. */
static bool reg_waits_on(const struct trunk_reg *tr, uint64_t conn_id)
{
	return tr->peer.tp != SIP_TP_UDP && tr->peer.conn_id == conn_id && tr->tsx;
}

void trunk_regs_conn_failed(struct trunk_regs *set, uint64_t conn_id,
			    const char *reason, const char *detail)
{
	char text[TRUNK_STATUS_REASON_MAX + 1];

	snprintf(text, sizeof(text), "%s: %s", reason, detail);
	for (struct trunk_reg *tr = set->leaving; tr; tr = tr->next) {
		if (reg_waits_on(tr, conn_id)) {
			unreg_fail(tr, reason, text);
			return;
		}
	}
	for (struct trunk_reg *tr = set->list; tr; tr = tr->next) {
		if (!reg_waits_on(tr, conn_id))
			continue;
		/* A certificate that fails is an answer, not an outage: it is
		 * reported, not worked around with another address. */
		if (strcmp(reason, "tls_verify_failed") == 0)
			reg_fail(tr, reason, text, true);
		else
			reg_next_or_fail(tr, reason, text);
		return;
	}
}

int trunk_regs_flow(const struct trunk_regs *set, const char *trunk,
		    struct sip_peer *out)
{
	for (const struct trunk_reg *tr = set->list; tr; tr = tr->next) {
		if (strcmp(tr->rec.name, trunk) != 0)
			continue;
		if (tr->state != REG_REGISTERED)
			return EAGAIN;
		*out = tr->peer;
		return 0;
	}
	return ENOENT;
}

int trunk_regs_alloc(struct trunk_regs **rp, struct sip_ctx *ctx, struct dns *dns)
{
	struct trunk_regs *set = calloc(1, sizeof(*set));

	if (!set)
		return ENOMEM;
	set->ctx = ctx;
	set->dns = dns;
	trunk_regs_reload(set);
	*rp = set;
	return 0;
}

unsigned trunk_regs_unregister_all(struct trunk_regs *set, void (*all_done)(void *),
				   void *arg)
{
	unsigned n = 0;

	set->stopping = true;
	while (set->list) {
		struct trunk_reg *tr = set->list;

		set->list = tr->next;
		reg_stop(tr, DAEMON_STOPPED, "stopping");
	}
	for (struct trunk_reg *tr = set->leaving; tr; tr = tr->next)
		n++;
	/* Set only now: an un-REGISTER that failed at once is not waited for. */
	if (n) {
		set->all_done = all_done;
		set->all_done_arg = arg;
	}
	return n;
}

void trunk_regs_free(struct trunk_regs *set)
{
	if (!set)
		return;
	set->stopping = true;
	set->all_done = NULL;
	while (set->list) {
		struct trunk_reg *tr = set->list;

		set->list = tr->next;
		reg_stop(tr, DAEMON_STOPPED, NULL);
	}
	while (set->leaving)
		unreg_fail(set->leaving, "timeout", "no answer before the daemon stopped");
	free(set);
}
