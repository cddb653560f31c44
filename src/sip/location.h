/* The location table: who is registered where. It lives in memory (the
 * registrar reads it on every REGISTER) and is written through to the store
 * in batches: changes queue up and are committed together every
 * LOCATION_FLUSH_MS, and at shutdown, so a restart loses no registration
 * while a burst of REGISTERs costs one transaction, not thousands. */
#ifndef RF_SIP_LOCATION_H
#define RF_SIP_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/strmap.h"
#include "sip/transport.h"

#define LOCATION_FLUSH_MS 100

struct store;

struct binding {
	struct binding *next;   /* next binding of the same extension */
	char *contact;          /* owned: one allocation holds all three strings */
	char *user_agent;
	char *call_id;
	uint32_t cseq;
	time_t expires_at;
	time_t registered_at;
	struct sip_peer peer;   /* the flow it registered over (RFC 5626 spirit) */
};

/* One per extension that has ever registered since start-up. It stays
 * when its last binding goes, so it still remembers the newest Call-ID and
 * CSeq it accepted: a captured REGISTER replayed after the phone
 * unregistered is then refused as out of order. Only authenticated
 * extensions get one, so their number is bounded by the directory. */
struct loc_aor {
	struct strmap_node node;
	char ext[RF_MAX_EXT_LEN + 1];
	struct binding *head;
	unsigned n;
	char *last_call_id; /* owned; NULL until the first accepted REGISTER */
	char *last_branch;  /* owned: top Via branch of that REGISTER */
	uint32_t last_cseq;
};

struct location;

int location_alloc(struct location **lp, struct store *s);
/* Flushes pending writes, then frees everything. */
void location_free(struct location *l);

/* Load the non-expired bindings from the store (at start-up). */
int location_load(struct location *l, time_t now);

struct loc_aor *location_aor(struct location *l, const char *ext, size_t len);
struct binding *location_binding(struct loc_aor *a, const char *contact,
				 size_t len);

struct binding_info {
	struct sip_str contact, user_agent, call_id;
	uint32_t cseq;
	time_t expires_at;
	time_t registered_at;
	const struct sip_peer *peer;
};

/* Create or replace the binding (ext, contact). Returns 0 or ENOMEM. */
int location_set(struct location *l, const char *ext, const struct binding_info *bi);
/* Remember the newest accepted (Call-ID, CSeq, branch) of an extension. */
int location_note_request(struct location *l, const char *ext,
			  struct sip_str call_id, uint32_t cseq, struct sip_str branch);

enum location_order {
	LOCATION_NEW,            /* a newer request, or another Call-ID */
	LOCATION_RETRANSMISSION, /* the very request last accepted, sent again */
	LOCATION_STALE,          /* same Call-ID, not newer: replayed or reordered */
};

/* Where a REGISTER stands against the last one accepted for ext. A
 * retransmission (same Call-ID, CSeq and branch) is answered again without
 * being applied again, so REGISTER needs no transaction state. */
enum location_order location_request_order(struct location *l, const char *ext,
					   struct sip_str call_id, uint32_t cseq,
					   struct sip_str branch);
void location_remove(struct location *l, struct loc_aor *a, struct binding *b);

typedef void (*location_removed_cb)(const char *ext, const struct binding *b,
				    const char *reason, void *arg);
/* Remove bindings whose expiry has passed. */
void location_sweep(struct location *l, time_t now, location_removed_cb cb, void *arg);
/* Remove every binding of an extension (it was deleted). */
void location_remove_ext(struct location *l, const char *ext,
			 location_removed_cb cb, void *arg);
/* Visit every aor; used to drop extensions that no longer exist. */
void location_foreach_aor(struct location *l,
			  void (*fn)(struct loc_aor *a, void *arg), void *arg);

/* Commit queued changes. Returns 0 or an errno value (the queue is kept on
 * failure and retried on the next flush). */
int location_flush(struct location *l);
bool location_dirty(const struct location *l);
size_t location_count(const struct location *l);

/* An IPv4 or IPv6 literal (no port) to a sockaddr. Returns 0 or EINVAL. */
int sockaddr_parse_ip(const char *ip, struct sockaddr_storage *ss, socklen_t *len);

/* "ip:port" / "[ip6]:port" back to a sockaddr. Returns 0 or EINVAL. */
int sockaddr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
