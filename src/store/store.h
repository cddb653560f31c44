/* Persistent state in SQLite. This folder is the only place that includes
 * <sqlite3.h>: every query is a prepared statement with bound parameters.
 * Schema changes are migrations keyed on PRAGMA user_version. The database
 * runs in WAL mode with foreign_keys=ON. */
#ifndef RF_STORE_STORE_H
#define RF_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "guard/acl.h"
#include "guard/alert.h"
#include "sip/digest.h"

struct store;

/* Open (creating if needed, mode 0600) and migrate. Returns 0 or errno;
 * on failure *err (if not NULL) points at a static or sqlite message. */
int store_open(struct store **sp, const char *path, const char **err);
void store_close(struct store *s);
/* A second connection to a database this process has open already: the
 * file is not created or touched outside SQLite, because closing any
 * descriptor of the file would drop the first connection's locks. */
int store_open_existing(struct store **sp, const char *path, const char **err);

/* Changes when any other connection commits (PRAGMA data_version): the
 * daemon polls it to see CLI changes without a restart. */
int store_data_version(struct store *s, uint64_t *out);

/* How often the rows behind one in-memory copy have changed, moved by
 * triggers: "directory" (extensions and their access lists), "blacklist",
 * "rates", "trunks" (trunks, their addresses, DIDs and routes). The
 * daemon rebuilds a copy only when its count moved, not on every write
 * another connection makes. Returns 0, or ENOENT for another name. */
int store_change_count(struct store *s, const char *name, int64_t *out);

/* The SQLite library version in use, for `ringfence version`. */
const char *store_library_version(void);

/* WAL checkpoints copy the log back into the database and fsync it, which
 * can take long on a slow disk. The daemon hands them to a thread with its
 * own connection, so its signalling thread never waits on the disk: its
 * connection stops checkpointing, the thread checkpoints (PASSIVE, never
 * blocking writers) every second. */
struct store_checkpointer;
int store_checkpointer_start(struct store *s, struct store_checkpointer **cp);
void store_checkpointer_stop(struct store_checkpointer *c);

int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
/* Run `fn` inside a transaction unless the caller already opened one, so
 * every multi-statement change is all-or-nothing either way: committed
 * when fn returns 0, rolled back otherwise (inside the caller's
 * transaction, to a savepoint: the caller's own writes stay). */
int store_atomic(struct store *s, int (*fn)(struct store *s, const void *arg),
		 const void *arg);

/* ---- extensions (store/ext.c) ---- */
#define EXT_NAME_MAX 128

/* Per-extension SRTP policy (P5): what the B2BUA accepts and offers on
 * this extension's leg of a call. Stored as the words below. */
enum ext_srtp {
	EXT_SRTP_OPTIONAL = 0, /* SRTP when the phone offers or accepts it, else RTP */
	EXT_SRTP_REQUIRED = 1, /* SRTP only: an offer without it gets 488 */
	EXT_SRTP_OFF = 2,      /* plain RTP only: a=crypto is never offered to it */
};
/* "optional", "required", "off"; NULL for a value outside the enum. */
const char *ext_srtp_name(enum ext_srtp v);
/* Parse one of those words (exact, lower case). Returns 0 or EINVAL. */
int ext_srtp_parse(const char *s, enum ext_srtp *out);

/* Class of service (S11): how far an extension may call. */
enum ext_cos {
	EXT_COS_NATIONAL = 0,      /* the default: the country's own numbers */
	EXT_COS_INTERNAL = 1,      /* extensions (and emergency numbers) only */
	EXT_COS_INTERNATIONAL = 2, /* also the countries in its allow-list */
};
/* "national", "internal", "international"; NULL outside the enum. */
const char *ext_cos_name(enum ext_cos v);
int ext_cos_parse(const char *s, enum ext_cos *out); /* 0 or EINVAL */

#define EXT_ALLOW_MAX 64      /* "premium,personal,directory,service" fits */
#define EXT_COUNTRIES_MAX 32  /* ISO codes in one allow-list */
#define EXT_SUSPENDED_WHY_MAX 200

struct ext_record {
	char ext[RF_MAX_EXT_LEN + 1];
	char name[EXT_NAME_MAX + 1];
	struct digest_ha1 ha1;
	/* Empty permit list means "the LAN" (see acl_is_lan); deny always applies. */
	struct acl acl;
	bool remote;      /* may register from anywhere, TLS only */
	enum ext_srtp srtp; /* SRTP policy for its calls; always EXT_SRTP_REQUIRED when remote */
	/* Calling policy (S11, S13, S14). The words are checked by the
	 * admin commands (fraud/numplan.h names the classes); the store
	 * keeps them as text. */
	enum ext_cos cos;
	char allow_classes[EXT_ALLOW_MAX + 1];  /* barred classes allowed anyway, "premium,directory" */
	char countries[EXT_COUNTRIES_MAX * 3];  /* international allow-list, "FR,DE,IE" */
	char caller_id[17];                     /* E.164 presented on outbound calls; "" none */
	int64_t daily_cap, monthly_cap;         /* micro-units; 0 = the configured default */
	bool suspended;                         /* outbound non-internal calling stopped (S14) */
	char suspended_why[EXT_SUSPENDED_WHY_MAX + 1];
	int64_t created;  /* unix seconds */
	int64_t updated;
};

int store_ext_add(struct store *s, const struct ext_record *r);    /* EEXIST */
int store_ext_update(struct store *s, const struct ext_record *r); /* ENOENT */
int store_ext_get(struct store *s, const char *ext, struct ext_record *out); /* ENOENT */
/* ENOENT. In one transaction with it go its access lists, its contacts,
 * its DIDs and its account lock (a lock left behind would lock a new
 * extension of the same name). Its CDRs stay: they are history. */
int store_ext_del(struct store *s, const char *ext);
typedef int (*store_ext_cb)(const struct ext_record *r, void *arg);
/* Calls cb for each extension in ext order; stops and returns cb's value
 * when it is non-zero. */
int store_ext_foreach(struct store *s, store_ext_cb cb, void *arg);

/* ---- registered contacts (store/location.c) ---- */
struct loc_record {
	char ext[RF_MAX_EXT_LEN + 1];
	char contact[SIP_MAX_CONTACT_URI_LEN + 1];
	char source[64];     /* "ip:port" or "[ip6]:port": where it came from */
	char transport[4];   /* "udp", "tcp", "tls" */
	char user_agent[SIP_MAX_USER_AGENT_LEN + 1];
	char call_id[SIP_MAX_CALL_ID_LEN + 1];
	uint32_t cseq;
	int64_t expires_at;  /* unix seconds */
	int64_t registered_at;
};

/* Insert or replace the binding (ext, contact). */
int store_loc_put(struct store *s, const struct loc_record *r);
int store_loc_del(struct store *s, const char *ext, const char *contact);
int store_loc_del_ext(struct store *s, const char *ext);
typedef int (*store_loc_cb)(const struct loc_record *r, void *arg);
/* Bindings with expires_at > now, ordered by ext then contact. */
int store_loc_foreach(struct store *s, int64_t now, store_loc_cb cb, void *arg);
int store_loc_purge(struct store *s, int64_t now);

/* ---- call detail records (store/cdr.c) ---- */
#define CDR_HANGUP_MAX 15

/* One row per call attempt (P8). Times are unix milliseconds. */
struct cdr_record {
	int64_t id;                 /* set by store_cdr_add */
	char caller[RF_MAX_EXT_LEN + 1];
	char callee[64];            /* as dialled */
	char call_id[SIP_MAX_CALL_ID_LEN + 1]; /* the caller's Call-ID */
	int64_t start_ms;           /* INVITE received */
	int64_t answer_ms;          /* 2xx sent to the caller; 0 if never answered */
	int64_t end_ms;
	unsigned duration_s;        /* answered time, end - answer */
	unsigned result;            /* final status the caller got (200 when answered) */
	char hangup[CDR_HANGUP_MAX + 1]; /* caller, callee, system, timeout, no_media, max_duration, cancel, limit */
	uint64_t packets_a, bytes_a;     /* relayed from the caller */
	uint64_t packets_b, bytes_b;     /* relayed from the callee */
	uint64_t dropped_foreign;        /* both legs */
	uint64_t lost;                   /* both legs */
	bool srtp;                       /* both legs' media was SRTP */
	bool srtp_a, srtp_b;             /* the caller's / the callee's leg used SRTP */
	/* Rating and baselines (S13, S14). */
	char direction[9];               /* "internal", "outbound", "inbound" ("" reads as internal) */
	char e164[17];                   /* the dialled number normalised; "" for an extension */
	char dest_class[16];             /* its class (fraud/numplan.h names); "" for an extension */
	char trunk[33];                  /* the trunk it went over or came from; "" none */
	int64_t cost;                    /* micro-units of [credit] currency */
};

int store_cdr_add(struct store *s, struct cdr_record *r);
typedef int (*store_cdr_cb)(const struct cdr_record *r, void *arg);
/* Records with start_ms >= since_ms, oldest first. */
int store_cdr_foreach(struct store *s, int64_t since_ms, store_cdr_cb cb, void *arg);
/* The newest `limit` (> 0) of those records, still oldest first. */
int store_cdr_foreach_latest(struct store *s, int64_t since_ms, unsigned limit,
			     store_cdr_cb cb, void *arg);

/* What one outbound call cost, for credit limits (fraud/credit_store.c). */
struct cdr_spend {
	char caller[RF_MAX_EXT_LEN + 1];  /* the calling extension; "" none */
	char trunk[33];                   /* "" none */
	int64_t start_ms;                 /* the period it counts in follows from this */
	int64_t cost;                     /* micro-units, > 0 */
};
typedef int (*store_cdr_spend_cb)(const struct cdr_spend *r, void *arg);
/* Each outbound call with a cost that started at or after since_ms,
 * oldest first; stops and returns cb's value when it is non-zero. One row
 * per call rather than SQL sums: the caller splits them into days and
 * months in local time, and adds them up saturating where SQLite's sum()
 * would fail on an overflow. */
int store_cdr_spend(struct store *s, int64_t since_ms, store_cdr_spend_cb cb, void *arg);

/* ---- chargeable calls in progress (store/live.c) ---- */
/* A live call that counts against the credit caps (S13). The daemon owns
 * the table: it replaces the whole set whenever a chargeable call starts,
 * is answered or ends, and at least every LIVE_CALLS_REFRESH_MS while any
 * is live, inside the transaction that writes the CDRs of calls that
 * ended; it empties it at start and at a clean stop. `ringfence spend`
 * adds these to the spend of the CDRs, and ignores a set whose seen_ms is
 * older than LIVE_CALLS_STALE_MS (a daemon that died holding calls). */
#define LIVE_CALLS_REFRESH_MS 10000
#define LIVE_CALLS_STALE_MS 30000
struct live_call_record {
	char call_id[SIP_MAX_CALL_ID_LEN + 1]; /* the caller's Call-ID */
	char caller[RF_MAX_EXT_LEN + 1];       /* the calling extension; "" none */
	char trunk[33];                        /* "" none */
	int64_t start_ms;                      /* INVITE received: the CDR's start_ms */
	int64_t answer_ms;                     /* 0 while ringing */
	int64_t connection;                    /* micro-units, >= 0 */
	int64_t per_minute;                    /* micro-units, >= 0 */
	int64_t seen_ms;                       /* when the daemon wrote the set */
};
/* Replace every row with these n (0 empties the table), each stamped with
 * seen_ms. Runs in the caller's transaction when one is open. 0, EINVAL
 * for a negative price or n > 0 with r NULL, or the store's error. */
int store_live_calls_replace(struct store *s, const struct live_call_record *r, size_t n,
			     int64_t seen_ms);
typedef int (*store_live_call_cb)(const struct live_call_record *r, void *arg);
/* Every row, oldest start first; stops and returns cb's value when it is
 * non-zero. */
int store_live_calls_foreach(struct store *s, store_live_call_cb cb, void *arg);

/* ---- bans and account locks (store/ban.c; the ban engine is guard/ban.h) ---- */
#define BAN_ADDR_MAX 46   /* INET6_ADDRSTRLEN: the longest IPv6 text */
#define BAN_REASON_MAX 15

/* One banned source address (S4). A row outlives its ban: `level` says how
 * often the address was banned, so its next ban lasts longer, until the
 * row is purged a while after `until`. */
struct ban_record {
	char addr[BAN_ADDR_MAX];         /* canonical text, no port: 203.0.113.5, 2001:db8::1 */
	int64_t created;                 /* unix seconds: when this ban began */
	int64_t until;                   /* unix seconds: the ban is over from then on */
	unsigned level;                  /* 0 for a first ban, +1 for each repeat */
	char reason[BAN_REASON_MAX + 1]; /* auth_failures, scan, flood, glitches, manual */
};

int store_ban_put(struct store *s, const struct ban_record *r);  /* insert or replace by addr */
int store_ban_get(struct store *s, const char *addr, struct ban_record *out); /* ENOENT */
int store_ban_del(struct store *s, const char *addr);            /* ENOENT */
typedef int (*store_ban_cb)(const struct ban_record *r, void *arg);
/* Every row, expired ones too, ordered by addr; stops on a non-zero cb. */
int store_ban_foreach(struct store *s, store_ban_cb cb, void *arg);
/* Forget rows whose ban ended before `before`. */
int store_ban_purge(struct store *s, int64_t before);

/* One locked extension (S4): too many failures from several addresses. */
struct lock_record {
	char ext[RF_MAX_EXT_LEN + 1];
	int64_t created;                 /* unix seconds */
	int64_t until;                   /* unix seconds: unlocked from then on */
	unsigned failures;               /* failures counted when it was locked */
	unsigned sources;                /* distinct addresses among them */
};

int store_lock_put(struct store *s, const struct lock_record *r); /* insert or replace by ext */
int store_lock_get(struct store *s, const char *ext, struct lock_record *out); /* ENOENT */
int store_lock_del(struct store *s, const char *ext);            /* ENOENT */
typedef int (*store_lock_cb)(const struct lock_record *r, void *arg);
/* Every row, expired ones too, ordered by ext. */
int store_lock_foreach(struct store *s, store_lock_cb cb, void *arg);

/* ---- the alert queue (store/alert.c; the alerter is guard/alert.h) ---- */
#define ALERT_KIND_MAX 23
#define ALERT_ERROR_MAX 255
#define ALERT_QUEUE_MAX 1000 /* rows; the rate limit keeps it far below */

/* One alert waiting for its channels (S18). A row is deleted when every
 * channel in `pending` took it, so a restart resends what was not sent. */
struct alert_record {
	int64_t id;                          /* set by store_alert_add */
	char kind[ALERT_KIND_MAX + 1];       /* alert_kind_name() */
	int64_t created;                     /* unix seconds */
	char subject[ALERT_SUBJECT_MAX + 1]; /* sanitised */
	char text[ALERT_TEXT_MAX + 1];       /* sanitised */
	unsigned pending;                    /* ALERT_CH_* bits still to send */
	unsigned attempts;                   /* failed sends so far */
	int64_t next_try;                    /* unix seconds */
	char last_error[ALERT_ERROR_MAX + 1];
};

/* Insert; sets r->id. ENOSPC when the queue holds ALERT_QUEUE_MAX rows. */
int store_alert_add(struct store *s, struct alert_record *r);
/* The row with the earliest next_try (ties: the oldest). ENOENT if none. */
int store_alert_first(struct store *s, struct alert_record *out);
/* Write back pending, attempts, next_try and last_error. ENOENT. */
int store_alert_update(struct store *s, const struct alert_record *r);
int store_alert_del(struct store *s, int64_t id);               /* ENOENT */
/* Make every row due at `now` (after a restart). */
int store_alert_all_due(struct store *s, int64_t now);
int store_alert_count(struct store *s, unsigned *n);
typedef int (*store_alert_cb)(const struct alert_record *r, void *arg);
/* Every row by id; stops on a non-zero cb. */
int store_alert_foreach(struct store *s, store_alert_cb cb, void *arg);

/* ---- trunks, DIDs and outbound routes (store/trunk.c; P4) ---- */
#define TRUNK_NAME_MAX 32
#define TRUNK_HOST_MAX 253
#define TRUNK_USER_MAX 64
#define TRUNK_PASSWORD_MAX 128
#define TRUNK_MAX_IPS 16
#define ROUTE_PATTERN_MAX 64
#define ROUTE_PREPEND_MAX 16

struct trunk_record {
	char name[TRUNK_NAME_MAX + 1];      /* letters, digits, '-', '_' */
	char host[TRUNK_HOST_MAX + 1];      /* DNS name or IP literal */
	unsigned port;                      /* 0: SRV, else the transport's default */
	char transport[4];                  /* "udp", "tcp", "tls" */
	bool reg;                           /* we register to it as a client */
	char username[TRUNK_USER_MAX + 1];
	/* The provider's password, kept because a digest client needs it.
	 * Secret: never printed (show says "set"), never logged. */
	char password[TRUNK_PASSWORD_MAX + 1];
	struct acl_cidr ips[TRUNK_MAX_IPS]; /* extra addresses it may send from */
	unsigned nips;
	unsigned max_calls;                 /* inbound + outbound; 0 = no limit */
	int64_t daily_cap, monthly_cap;     /* micro-units; 0 = configured default */
	int64_t created, updated;
};

int store_trunk_add(struct store *s, const struct trunk_record *r);    /* EEXIST */
int store_trunk_update(struct store *s, const struct trunk_record *r); /* ENOENT */
int store_trunk_get(struct store *s, const char *name, struct trunk_record *out); /* ENOENT */
int store_trunk_del(struct store *s, const char *name); /* ENOENT; EBUSY while a route uses it */
typedef int (*store_trunk_cb)(const struct trunk_record *r, void *arg);
int store_trunk_foreach(struct store *s, store_trunk_cb cb, void *arg); /* by name */

/* What the daemon's registration client last did for a trunk (trunk_status,
 * written by the daemon, read by the CLI). Times are Unix seconds, 0 for
 * none; reason is "" or a short text of ours (never provider bytes
 * unescaped, never a secret). */
#define TRUNK_STATUS_REASON_MAX 200
struct trunk_status {
	char trunk[TRUNK_NAME_MAX + 1];
	char state[12];      /* off, registering, registered, failed */
	char reason[TRUNK_STATUS_REASON_MAX + 1];
	unsigned last_code;  /* last SIP status from the provider; 0 none */
	int64_t expires;     /* registered until */
	int64_t next_attempt;
	int64_t registered;  /* when the current registration was first granted */
	int64_t updated;
};
int store_trunk_status_put(struct store *s, const struct trunk_status *st); /* ENOENT: no such trunk */
int store_trunk_status_get(struct store *s, const char *trunk, struct trunk_status *out); /* ENOENT */

struct did_record {
	char number[17];                    /* E.164 with '+' */
	char ext[RF_MAX_EXT_LEN + 1];
	int64_t created;
};
int store_did_add(struct store *s, const struct did_record *r); /* EEXIST; ENOENT: no such ext */
int store_did_del(struct store *s, const char *number);         /* ENOENT */
int store_did_get(struct store *s, const char *number, struct did_record *out); /* ENOENT */
typedef int (*store_did_cb)(const struct did_record *r, void *arg);
int store_did_foreach(struct store *s, store_did_cb cb, void *arg); /* by number */
/* The DIDs that ring extension ext, by number. */
int store_did_foreach_ext(struct store *s, const char *ext, store_did_cb cb, void *arg);

struct route_record {
	unsigned pos;                       /* evaluation order, 1-based */
	char pattern[ROUTE_PATTERN_MAX + 1];
	char trunk[TRUNK_NAME_MAX + 1];
	unsigned strip;                     /* leading digits removed before prepend */
	char prepend[ROUTE_PREPEND_MAX + 1];
	int64_t created;
};
/* Appends when r->pos is 0 (and sets it), else inserts at pos and moves the
 * later routes down. EEXIST: same pattern; ENOENT: no such trunk; ERANGE:
 * pos is past the end (more than one after the last route). */
int store_route_add(struct store *s, struct route_record *r);
int store_route_del(struct store *s, unsigned pos); /* ENOENT; later routes move up */
typedef int (*store_route_cb)(const struct route_record *r, void *arg);
int store_route_foreach(struct store *s, store_route_cb cb, void *arg); /* by pos */

/* ---- blacklists and rates (store/fraud.c; S12, S13) ---- */
#define BLACKLIST_REASON_MAX 200
/* The largest price per minute and connection charge, in micro-units:
 * 1,000,000 units of any currency. Far above any real tariff even in a
 * currency of small units (KRW, IDR), so it refuses only garbage (a phone
 * number pasted into the price column), and it keeps rating arithmetic far
 * from overflow: a year-long call at this price costs 5.3e17 micro-units,
 * a 17th of what an int64 holds. */
#define RATE_PRICE_MAX ((int64_t)1000000 * 1000000)

enum blacklist_dir { BLACKLIST_DEST = 0, BLACKLIST_CALLER = 1 };
/* "dest", "caller" (also the database values); NULL outside the enum. */
const char *blacklist_dir_name(enum blacklist_dir dir);

/* Prefixes are E.164 with their '+' (fraud/prefix.h prefix_valid): the
 * store refuses any other spelling (EINVAL), so one number has one row. */
struct blacklist_record {
	enum blacklist_dir dir;
	char prefix[17];                    /* E.164 prefix with '+' */
	/* Free text from an administrator or a CSV file: no control
	 * characters (the store refuses them); escaped on output. */
	char reason[BLACKLIST_REASON_MAX + 1];
	int64_t created;                    /* 0 on put: now */
};
/* Insert or replace; a replaced row keeps its created time. */
int store_blacklist_put(struct store *s, const struct blacklist_record *r);
int store_blacklist_get(struct store *s, enum blacklist_dir dir, const char *prefix,
			struct blacklist_record *out); /* ENOENT */
int store_blacklist_del(struct store *s, enum blacklist_dir dir, const char *prefix); /* ENOENT */
int store_blacklist_clear(struct store *s, enum blacklist_dir dir); /* every row of dir */
int store_blacklist_count(struct store *s, enum blacklist_dir dir, size_t *n);
typedef int (*store_blacklist_cb)(const struct blacklist_record *r, void *arg);
int store_blacklist_foreach(struct store *s, enum blacklist_dir dir,
			    store_blacklist_cb cb, void *arg); /* by prefix */

struct rate_record {
	char prefix[17];                    /* E.164 prefix with '+' */
	int64_t per_minute;                 /* micro-units, 0..RATE_PRICE_MAX */
	int64_t connection;                 /* micro-units, 0..RATE_PRICE_MAX */
	char currency[4];                   /* ISO 4217, three capital letters */
	int64_t created;                    /* 0 on put: now */
};
/* Insert or replace; a replaced row keeps its created time. */
int store_rate_put(struct store *s, const struct rate_record *r);
int store_rate_get(struct store *s, const char *prefix, struct rate_record *out); /* ENOENT */
int store_rate_del(struct store *s, const char *prefix);          /* ENOENT */
int store_rate_clear(struct store *s);                             /* every rate */
int store_rate_count(struct store *s, size_t *n);
typedef int (*store_rate_cb)(const struct rate_record *r, void *arg);
int store_rate_foreach(struct store *s, store_rate_cb cb, void *arg); /* by prefix */

#endif
