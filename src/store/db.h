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

/* Run `fn` inside a transaction unless the caller already opened one, so
 * every multi-statement change is all-or-nothing either way. */
int store_atomic(struct store *s, int (*fn)(struct store *s, const void *arg),
		 const void *arg);

/* A new database file with only the first `version` migrations run, as
 * an older release left it: what migration tests start from. */
int store_create_at_version(const char *path, int version);

/* Copy a column's text into dst (always NUL-terminated, truncated to
 * dstlen - 1 bytes). */
void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t dstlen);

#endif
