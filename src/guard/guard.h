/* The daemon's guard (S4, S6): the ban engine (guard/ban.h) with what the
 * daemon around it needs. Bans and locks are written to the store as they
 * happen, so a restart keeps them, and read back whenever the CLI changed
 * them (`ringfence ban add|del`, `ringfence ext unlock`). Every decision is
 * logged as a security event (docs/security-events.md). Signalling thread
 * only. */
#ifndef RF_GUARD_GUARD_H
#define RF_GUARD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rf_conf;
struct store;
struct guard;
struct nft_helper;

int guard_alloc(struct guard **gp, const struct rf_conf *conf, struct store *store);
void guard_free(struct guard *g);
/* After a configuration reload. */
void guard_configure(struct guard *g, const struct rf_conf *conf);
/* Mirror bans into nftables through the firewall helper (borrowed; it
 * must outlive the guard). Call before guard_load, which then brings the
 * kernel's sets in line with the bans in force. */
void guard_set_firewall(struct guard *g, struct nft_helper *h);
/* Send the helper what waits for it; on every tick of the loop. */
void guard_firewall_pump(struct guard *g);
/* Replace the bans and locks in force with the store's. Returns 0 or an
 * errno value (the current ones are then kept). */
int guard_load(struct guard *g);

/* Asked for every packet before it is parsed: true means silence. */
bool guard_silence(struct guard *g, const struct sockaddr *src, int64_t now);

/* The hooks of authentication. `proto` is the transport's name. */
/* True when this address may not even try this extension (a blocked pair). */
bool guard_pair_blocked(struct guard *g, const struct sockaddr *src, const char *ext,
			size_t extlen, int64_t now);
bool guard_locked(struct guard *g, const char *ext, size_t extlen, int64_t now);
void guard_failure(struct guard *g, const struct sockaddr *src, const char *proto,
		   const char *ext, size_t extlen, bool known, int64_t now);
void guard_challenged(struct guard *g, const struct sockaddr *src, const char *proto,
		      const char *ext, size_t extlen, int64_t now);
/* Authenticated: the address holds healthy phones until `healthy_until`. */
void guard_success(struct guard *g, const struct sockaddr *src, const char *ext,
		   size_t extlen, int64_t healthy_until);

/* A request whose User-Agent or From marks a known scanner tool
 * (guard/scanner.h): its source is banned and the request gets silence
 * (returns true). Values may be NULL when the header is absent. */
bool guard_scanner(struct guard *g, const struct sockaddr *src, const char *proto,
		   const char *ua, size_t ualen, const char *from, size_t fromlen, int64_t now);
/* An address that holds an authenticated registration: the only ones
 * OPTIONS is answered to (S6). */
bool guard_known_peer(const struct guard *g, const struct sockaddr *src, int64_t now);

/* Once a second: report bans and locks that ended, tidy the store. */
void guard_tick(struct guard *g, int64_t now);

/* Alerts (guard/alert.h) for bans and account locks; NULL for none. The
 * alerter is the caller's and must outlive its use here. */
struct alerter;
void guard_set_alerter(struct guard *g, struct alerter *a);
/* An extension registered from a network none of its bindings is in (S9):
 * alert the administrator. `previous` is that earlier network as a CIDR;
 * `refused` when [security] new_network_registration = deny turned it
 * away. */
void guard_new_network(struct guard *g, const struct sockaddr *src, const char *ext,
		       const char *previous, bool refused);

/* Packets dropped because their source was banned. */
uint64_t guard_dropped(const struct guard *g);

/* ---- Flood protection (guard/flood.h, S5) ---- */

/* Asked for every packet right after guard_silence(), before parsing:
 * true means drop it without a word. A source over its budget for
 * [guard] flood_time is banned (reason flood, event flood_detected); in
 * overload, sources without a registration are shed. `proto` is the
 * transport's name. */
bool guard_flood(struct guard *g, const struct sockaddr *src, const char *proto, int64_t now);
/* A message from `src` that could not be parsed: enough of them within
 * [guard] glitch_window ban it (reason glitches). */
void guard_glitch(struct guard *g, const struct sockaddr *src, const char *proto, int64_t now);
/* From the tick: the longest streak of full receive passes since the
 * last call (transport_rx_backlog()), the messages received in that time
 * and how many of them got past the bans and buckets. Decides the
 * overload state and logs its `overload` events. */
void guard_note_load(struct guard *g, unsigned streak, unsigned messages, unsigned work);
/* In overload: new calls get 503 and strangers get nothing. */
bool guard_overloaded(const struct guard *g);
/* Packets dropped over budget, and shed in overload. */
uint64_t guard_flood_dropped(const struct guard *g);
uint64_t guard_flood_shed(const struct guard *g);

#endif
