/* The registration client for trunks that have `register` set (P4).
 *
 * Per trunk: resolve the host (pbx/dns.h), send REGISTER over a client
 * transaction, answer a 401/407 challenge with digest MD5 or SHA-256 (qop
 * auth with cnonce and nc, or the RFC 2069 form), and refresh at about
 * 85% of the granted expiry. A failure retries with exponential backoff
 * (TRUNK_RETRY_MIN_S doubling to TRUNK_RETRY_MAX_S); a 403, or a second
 * challenge right after our answer, means wrong credentials: the trunk
 * stops in `failed` until the CLI changes it, so a provider is not
 * hammered with a bad password.
 *
 * A trunk that holds a binding un-REGISTERs it (Expires: 0 for the same
 * Contact and Call-ID, RFC 3261 10.2.2) when it is deleted, stops
 * registering, moves to another host or account, or the daemon stops, so
 * the provider no longer sends calls to an address that will not take
 * them. The challenge is answered once; whatever the outcome, it is
 * logged and not retried.
 *
 * State goes to the trunk_status table (store.h) for `trunk show|list`,
 * and the events trunk_registered / trunk_registration_failed /
 * trunk_unregistered / trunk_unregistration_failed to the security log.
 * Nothing here logs the password, HA1, nonces or the Authorization
 * header. */
#ifndef RF_PBX_TRUNK_REG_H
#define RF_PBX_TRUNK_REG_H

#include <stdbool.h>
#include <stdint.h>

struct sip_ctx;
struct dns;
struct trunk_record;
struct trunk_regs;

/* ctx and dns are borrowed and must outlive the set. Loads the trunks
 * from ctx->store and starts registering. 0 or errno. */
int trunk_regs_alloc(struct trunk_regs **rp, struct sip_ctx *ctx,
		     struct dns *dns);
/* The daemon is stopping: every registered trunk un-REGISTERs, every
 * trunk is recorded as `off`, and reloads start nothing new. Returns how
 * many un-REGISTERs are under way (those of trunks deleted or changed
 * just before count too); when that is not 0, all_done(arg) is called
 * once the last one has ended. The caller bounds the wait by freeing the
 * set. */
unsigned trunk_regs_unregister_all(struct trunk_regs *r, void (*all_done)(void *),
				   void *arg);

/* Cancels timers, lookups and transactions and records every trunk as
 * `off`; an un-REGISTER still waiting for its answer is given up and
 * logged as failed. Nothing new is sent. */
void trunk_regs_free(struct trunk_regs *r);

/* The store changed (data_version): trunks added, changed or deleted are
 * started, restarted or stopped as trunk_reg_action() decides. A trunk
 * that is restarted after holding a binding registers anew once the old
 * binding's un-REGISTER has ended, so the two cannot race at a provider
 * that sees the same Contact. */
void trunk_regs_reload(struct trunk_regs *r);

enum trunk_reg_action {
	TRUNK_REG_KEEP,    /* nothing registration depends on changed */
	TRUNK_REG_RESTART, /* register with the new record */
	TRUNK_REG_STOP,    /* the trunk no longer registers */
};

/* What a store change means for a trunk's registration: old is the record
 * it registers with (NULL: none yet), now the store's (NULL: deleted),
 * registered whether it holds a binding. A change of host, port,
 * transport, username or password restarts; any other change (caps,
 * addresses, --max-calls) keeps a registered trunk as it is and gives one
 * that is not registered a new attempt at once. A registered trunk that
 * is not kept un-REGISTERs first. */
enum trunk_reg_action trunk_reg_action(const struct trunk_record *old,
				       const struct trunk_record *now, bool registered);

/* The flow a trunk is registered over: where the provider expects our
 * requests, and for TCP/TLS the connection its calls may arrive on.
 * 0 with *out set, ENOENT for a trunk that does not register, EAGAIN
 * while it is not registered. */
struct sip_peer;
int trunk_regs_flow(const struct trunk_regs *r, const char *trunk,
		    struct sip_peer *out);

/* An outbound connection failed (transport_set_fail_cb). */
void trunk_regs_conn_failed(struct trunk_regs *r, uint64_t conn_id,
			    const char *reason, const char *detail);

#endif
