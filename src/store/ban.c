/* Bans and account locks (S4), written through by the ban engine and
 * changed by `ringfence ban` and `ringfence ext unlock`. The daemon keeps
 * the live tables in memory (guard/ban.h); these rows are what lets a
 * restart, or a CLI change, reach them. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "store/db.h"

#define SQL_BAN_PUT \
	"INSERT OR REPLACE INTO bans (addr, created, until, level, reason)" \
	" VALUES (?1, ?2, ?3, ?4, ?5)"
#define SQL_BAN_COLUMNS "addr, created, until, level, reason"
#define SQL_BAN_GET "SELECT " SQL_BAN_COLUMNS " FROM bans WHERE addr = ?1"
#define SQL_BAN_ALL "SELECT " SQL_BAN_COLUMNS " FROM bans ORDER BY addr"
#define SQL_BAN_DELETE "DELETE FROM bans WHERE addr = ?1"
#define SQL_BAN_PURGE "DELETE FROM bans WHERE until < ?1"

#define SQL_LOCK_PUT \
	"INSERT OR REPLACE INTO ext_locks (ext, created, until, failures, sources)" \
	" VALUES (?1, ?2, ?3, ?4, ?5)"
#define SQL_LOCK_COLUMNS "ext, created, until, failures, sources"
#define SQL_LOCK_GET "SELECT " SQL_LOCK_COLUMNS " FROM ext_locks WHERE ext = ?1"
#define SQL_LOCK_ALL "SELECT " SQL_LOCK_COLUMNS " FROM ext_locks ORDER BY ext"
#define SQL_LOCK_DELETE "DELETE FROM ext_locks WHERE ext = ?1"

/* ---- checks ---- */

/* The ban engine looks an address up by its text, so one address must
 * have exactly one spelling: what inet_ntop writes, and an IPv4-mapped
 * IPv6 address as the plain IPv4 address a firewall sees. Anything else
 * (a port, a prefix, upper-case hex, leading zeros) is refused. */
static bool addr_canonical(const char *addr, size_t size)
{
	unsigned char bin[16];
	char text[BAN_ADDR_MAX];
	size_t n = strnlen(addr, size);

	if (n == 0 || n >= size)
		return false;
	if (inet_pton(AF_INET, addr, bin) == 1)
		return inet_ntop(AF_INET, bin, text, sizeof(text)) &&
		       strcmp(text, addr) == 0;
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return false;
	if (!inet_ntop(AF_INET6, bin, text, sizeof(text)) || strcmp(text, addr) != 0)
		return false;
	return !IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)bin);
}

/* A reason is one of our own codes: [a-z0-9_], 1 to BAN_REASON_MAX. */
static bool reason_valid(const char *reason, size_t size)
{
	size_t i, n = strnlen(reason, size);

	if (n == 0 || n >= size)
		return false;
	for (i = 0; i < n; i++) {
		char c = reason[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static bool times_valid(int64_t created, int64_t until)
{
	return created >= 0 && until >= created;
}

static bool ext_valid(const char *ext, size_t size)
{
	size_t n = strnlen(ext, size);

	return n > 0 && n < size;
}

/* ---- bans ---- */

int store_ban_put(struct store *s, const struct ban_record *r)
{
	sqlite3_stmt *st;

	if (!addr_canonical(r->addr, sizeof(r->addr)) ||
	    !reason_valid(r->reason, sizeof(r->reason)) ||
	    !times_valid(r->created, r->until))
		return EINVAL;
	st = store_stmt(s, STMT_BAN_PUT, SQL_BAN_PUT);
	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->created);
	sqlite3_bind_int64(st, 3, r->until);
	sqlite3_bind_int64(st, 4, r->level);
	sqlite3_bind_text(st, 5, r->reason, -1, SQLITE_STATIC);
	return store_step_done(st);
}

static void row_to_ban(sqlite3_stmt *st, void *out)
{
	struct ban_record *r = out;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->addr, sizeof(r->addr));
	r->created = sqlite3_column_int64(st, 1);
	r->until = sqlite3_column_int64(st, 2);
	r->level = store_col_unsigned(st, 3);
	store_col_text(st, 4, r->reason, sizeof(r->reason));
}

int store_ban_get(struct store *s, const char *addr, struct ban_record *out)
{
	return store_get_by_key(s, STMT_BAN_GET, SQL_BAN_GET, addr, row_to_ban, out);
}

int store_ban_del(struct store *s, const char *addr)
{
	return store_delete_by_key(s, STMT_BAN_DELETE, SQL_BAN_DELETE, addr);
}

struct ban_walk {
	store_ban_cb cb;
	void *arg;
};

static int ban_walk_one(const void *record, void *arg)
{
	const struct ban_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_ban_foreach(struct store *s, store_ban_cb cb, void *arg)
{
	struct ban_walk w = { cb, arg };
	struct ban_record r;

	return store_walk(s, SQL_BAN_ALL, row_to_ban, &r, ban_walk_one, &w);
}

int store_ban_purge(struct store *s, int64_t before)
{
	sqlite3_stmt *st = store_stmt(s, STMT_BAN_PURGE, SQL_BAN_PURGE);

	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, before);
	return store_step_done(st);
}

/* ---- account locks ---- */

int store_lock_put(struct store *s, const struct lock_record *r)
{
	sqlite3_stmt *st;

	if (!ext_valid(r->ext, sizeof(r->ext)) || !times_valid(r->created, r->until))
		return EINVAL;
	st = store_stmt(s, STMT_LOCK_PUT, SQL_LOCK_PUT);
	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->created);
	sqlite3_bind_int64(st, 3, r->until);
	sqlite3_bind_int64(st, 4, r->failures);
	sqlite3_bind_int64(st, 5, r->sources);
	return store_step_done(st);
}

static void row_to_lock(sqlite3_stmt *st, void *out)
{
	struct lock_record *r = out;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->ext, sizeof(r->ext));
	r->created = sqlite3_column_int64(st, 1);
	r->until = sqlite3_column_int64(st, 2);
	r->failures = store_col_unsigned(st, 3);
	r->sources = store_col_unsigned(st, 4);
}

int store_lock_get(struct store *s, const char *ext, struct lock_record *out)
{
	return store_get_by_key(s, STMT_LOCK_GET, SQL_LOCK_GET, ext, row_to_lock, out);
}

int store_lock_del(struct store *s, const char *ext)
{
	return store_delete_by_key(s, STMT_LOCK_DELETE, SQL_LOCK_DELETE, ext);
}

struct lock_walk {
	store_lock_cb cb;
	void *arg;
};

static int lock_walk_one(const void *record, void *arg)
{
	const struct lock_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_lock_foreach(struct store *s, store_lock_cb cb, void *arg)
{
	struct lock_walk w = { cb, arg };
	struct lock_record r;

	return store_walk(s, SQL_LOCK_ALL, row_to_lock, &r, lock_walk_one, &w);
}
