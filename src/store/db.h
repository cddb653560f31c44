/* Internals shared by the store's files (db.c, ext.c, location.c, ...). Nothing
 * outside src/store/ includes this: the rest of the program sees only
 * store.h. */
#ifndef RF_STORE_DB_H
#define RF_STORE_DB_H

#include <sqlite3.h>

#include "store/store.h"

/* Every statement the store runs, prepared once per connection and kept:
 * the daemon writes a contact per REGISTER, so re-parsing SQL each time
 * would be wasted work. */
enum store_stmt_id {
	/* blacklists and rates (store/fraud.c) */
	STMT_BLACKLIST_PUT,
	STMT_BLACKLIST_GET,
	STMT_BLACKLIST_DELETE,
	STMT_BLACKLIST_CLEAR,
	STMT_BLACKLIST_COUNT,
	STMT_RATE_PUT,
	STMT_RATE_GET,
	STMT_RATE_DELETE,
	STMT_RATE_CLEAR,
	STMT_RATE_COUNT,

	/* extensions, contacts, CDRs, bans and locks */
	STMT_EXT_INSERT,
	STMT_EXT_UPDATE,
	STMT_EXT_SELECT,
	STMT_EXT_DELETE,
	STMT_ACL_INSERT,
	STMT_ACL_DELETE,
	STMT_ACL_SELECT,
	STMT_LOC_UPSERT,
	STMT_LOC_DELETE,
	STMT_LOC_DELETE_EXT,
	STMT_LOC_PURGE,
	STMT_CDR_INSERT,
	STMT_BAN_PUT,
	STMT_BAN_GET,
	STMT_BAN_DELETE,
	STMT_BAN_PURGE,
	STMT_LOCK_PUT,
	STMT_LOCK_GET,
	STMT_LOCK_DELETE,
	/* trunks, DIDs, routes (store/trunk.c) */
	STMT_TRUNK_INSERT,
	STMT_TRUNK_UPDATE,
	STMT_TRUNK_SELECT,
	STMT_TRUNK_DELETE,
	STMT_TRUNK_IP_INSERT,
	STMT_TRUNK_IP_DELETE,
	STMT_TRUNK_IP_SELECT,
	STMT_TRUNK_ROUTED,
	STMT_TRUNK_EXISTS,
	STMT_DID_INSERT,
	STMT_DID_SELECT,
	STMT_DID_DELETE,
	STMT_ROUTE_INSERT,
	STMT_ROUTE_LAST,
	STMT_ROUTE_FIND,
	STMT_ROUTE_DELETE,
	STMT_ROUTE_MOVE,
	STMT_ROUTE_SETTLE,
	STMT_TRUNK_STATUS_PUT,
	STMT_TRUNK_STATUS_GET,
	/* chargeable calls in progress (store/live.c) */
	STMT_LIVE_CLEAR,
	STMT_LIVE_INSERT,

	STMT__COUNT
};

/* A store is one SQLite connection. It is used by one thread at a time:
 * the daemon gives it to its worker thread, the CLI has its own. */
struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT__COUNT];
};

/* The cached statement `id`, prepared from `sql` on first use and reset
 * with its bindings cleared. NULL when SQLite cannot prepare it. */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id,
			 const char *sql);

/* Map an SQLite result code to an errno value. */
int store_errno(int rc);

/* A new database file with only the first `version` migrations run, as
 * an older release left it: what migration tests start from. */
int store_create_at_version(const char *path, int version);

/* Copy a column's text into dst (always NUL-terminated, truncated to
 * dstlen - 1 bytes). */
void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t dstlen);

/* Bind a record's fixed-size char field as text; the length is bounded
 * by the array, so an unterminated field cannot make us read past it. */
void store_bind_field(sqlite3_stmt *st, int col, const char *field, size_t size);
#define STORE_BIND_FIELD(st, col, arr) store_bind_field(st, col, arr, sizeof(arr))

/* Step a statement that returns no row, and reset it: 0 or an errno. */
int store_step_done(sqlite3_stmt *st);
/* The same for a change to one keyed row: ENOENT when no row changed. */
int store_step_change(struct store *s, sqlite3_stmt *st);

/* Fill a record from the current row of st. */
typedef void (*store_fill_fn)(sqlite3_stmt *st, void *out);
/* Step st once and hand its row to fill; reset it. ENOENT without a row. */
int store_step_get(sqlite3_stmt *st, store_fill_fn fill, void *out);
/* Step st once for a single integer (a count). */
int store_step_int(sqlite3_stmt *st, int64_t *out);

/* An integer column as unsigned, clamped to 0..UINT32_MAX. */
unsigned store_col_unsigned(sqlite3_stmt *st, int col);

/* Run the cached statement `id` with one text key bound, for a delete:
 * ENOENT when it matched no row. */
int store_delete_by_key(struct store *s, enum store_stmt_id id, const char *sql,
			const char *key);

/* Step the cached statement `id` with one text key bound and hand its
 * row to `fill`: ENOENT when there is none. */
int store_get_by_key(struct store *s, enum store_stmt_id id, const char *sql,
		     const char *key, void (*fill)(sqlite3_stmt *st, void *out), void *out);

/* Walk every row of `sql` through `fill` into `record` and call cb on
 * it; stops on a non-zero cb and returns its value. Its own statement,
 * not the cache: the callback may use the store while this one steps. */
int store_walk(struct store *s, const char *sql, void (*fill)(sqlite3_stmt *st, void *out),
	       void *record, int (*cb)(const void *record, void *arg), void *arg);
/* The same with `param` bound as text to ?1 (a key the rows share). */
int store_walk_param(struct store *s, const char *sql, const char *param, store_fill_fn fill,
		     void *record, int (*cb)(const void *record, void *arg), void *arg);

#endif
