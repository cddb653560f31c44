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
 * State goes to the trunk_status table (store.h) for `trunk show|list`,
 * and the events trunk_registered / trunk_registration_failed to the
 * security log. Nothing here logs the password, HA1, nonces or the
 * Authorization header. */
#ifndef RF_PBX_TRUNK_REG_H
#define RF_PBX_TRUNK_REG_H

#include <stdint.h>

struct sip_ctx;
struct dns;
struct trunk_regs;

/* ctx and dns are borrowed and must outlive the set. Loads the trunks
 * from ctx->store and starts registering. 0 or errno. */
int trunk_regs_alloc(struct trunk_regs **rp, struct sip_ctx *ctx,
		     struct dns *dns);
/* Cancels timers, lookups and transactions and records every trunk as
 * `off` (the daemon is stopping); no un-REGISTER is sent (a restart
 * re-registers at once). */
void trunk_regs_free(struct trunk_regs *r);

/* The store changed (data_version): trunks added, changed or deleted are
 * started, restarted or stopped; unchanged ones are left alone. */
void trunk_regs_reload(struct trunk_regs *r);

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
