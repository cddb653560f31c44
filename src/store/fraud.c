/* Blacklists (S12) and the rate table (S13), as `ringfence blacklist` and
 * `ringfence rates` change them. The daemon builds its in-memory lookup
 * tables from these rows (fraud/blacklist.h, fraud/rating.h) and builds
 * them again when another process commits.
 *
 * Every prefix is stored in one spelling, E.164 with its '+', and the
 * store refuses any other: the callers normalise first (fraud/numplan.h),
 * so "0909", "+44909" and "0044909" can only ever be one row. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fraud/prefix.h"
#include "store/db.h"

#define SQL_BLACKLIST_COLUMNS "direction, prefix, reason, created"
#define SQL_BLACKLIST_PUT \
	"INSERT INTO blacklist (" SQL_BLACKLIST_COLUMNS ") VALUES (?1, ?2, ?3, ?4)" \
	" ON CONFLICT (direction, prefix) DO UPDATE SET reason = excluded.reason"
#define SQL_BLACKLIST_GET \
	"SELECT " SQL_BLACKLIST_COLUMNS " FROM blacklist WHERE direction = ?1 AND prefix = ?2"
#define SQL_BLACKLIST_ALL \
	"SELECT " SQL_BLACKLIST_COLUMNS " FROM blacklist WHERE direction = ?1 ORDER BY prefix"
#define SQL_BLACKLIST_DELETE "DELETE FROM blacklist WHERE direction = ?1 AND prefix = ?2"
#define SQL_BLACKLIST_CLEAR "DELETE FROM blacklist WHERE direction = ?1"
#define SQL_BLACKLIST_COUNT "SELECT count(*) FROM blacklist WHERE direction = ?1"

#define SQL_RATE_COLUMNS "prefix, per_minute, connection, currency, created"
#define SQL_RATE_PUT \
	"INSERT INTO rates (" SQL_RATE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5)" \
	" ON CONFLICT (prefix) DO UPDATE SET per_minute = excluded.per_minute," \
	" connection = excluded.connection, currency = excluded.currency"
#define SQL_RATE_GET "SELECT " SQL_RATE_COLUMNS " FROM rates WHERE prefix = ?1"
#define SQL_RATE_ALL "SELECT " SQL_RATE_COLUMNS " FROM rates ORDER BY prefix"
#define SQL_RATE_DELETE "DELETE FROM rates WHERE prefix = ?1"
#define SQL_RATE_CLEAR "DELETE FROM rates"
#define SQL_RATE_COUNT "SELECT count(*) FROM rates"

/* Indexed by enum blacklist_dir; the words are the database values. */
static const char *const dir_names[] = {
	[BLACKLIST_DEST] = "dest",
	[BLACKLIST_CALLER] = "caller",
};

const char *blacklist_dir_name(enum blacklist_dir dir)
{
	return (unsigned)dir < sizeof(dir_names) / sizeof(dir_names[0]) ? dir_names[dir] : NULL;
}

static int64_t now_or(int64_t t)
{
	return t ? t : (int64_t)time(NULL);
}

/* ---- checks ---- */

/* Text that reaches terminals, logs and alerts: no control characters,
 * whatever wrote the row. */
static bool text_valid(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

static bool prefix_ok(const char *prefix, size_t size)
{
	return strnlen(prefix, size) < size && prefix_valid(prefix);
}

static bool blacklist_valid(const struct blacklist_record *r)
{
	return blacklist_dir_name(r->dir) && prefix_ok(r->prefix, sizeof(r->prefix)) &&
	       text_valid(r->reason, sizeof(r->reason)) && r->created >= 0;
}

static bool currency_valid(const char *c, size_t size)
{
	if (strnlen(c, size) != 3)
		return false;
	for (int i = 0; i < 3; i++) {
		if (c[i] < 'A' || c[i] > 'Z')
			return false;
	}
	return true;
}

static bool price_valid(int64_t micro)
{
	return micro >= 0 && micro <= RATE_PRICE_MAX;
}

static bool rate_valid(const struct rate_record *r)
{
	return prefix_ok(r->prefix, sizeof(r->prefix)) && price_valid(r->per_minute) &&
	       price_valid(r->connection) &&
	       currency_valid(r->currency, sizeof(r->currency)) && r->created >= 0;
}

/* ---- blacklists ---- */

int store_blacklist_put(struct store *s, const struct blacklist_record *r)
{
	sqlite3_stmt *st;

	if (!blacklist_valid(r))
		return EINVAL;
	st = store_stmt(s, STMT_BLACKLIST_PUT, SQL_BLACKLIST_PUT);
	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, blacklist_dir_name(r->dir), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_or(r->created));
	return store_step_done(st);
}

static void row_to_blacklist(sqlite3_stmt *st, void *out)
{
	struct blacklist_record *r = out;
	char dir[8];

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, dir, sizeof(dir));
	r->dir = strcmp(dir, "caller") == 0 ? BLACKLIST_CALLER : BLACKLIST_DEST;
	store_col_text(st, 1, r->prefix, sizeof(r->prefix));
	store_col_text(st, 2, r->reason, sizeof(r->reason));
	r->created = sqlite3_column_int64(st, 3);
}

/* The cached statement `id` with the direction bound to ?1 and the prefix
 * to ?2 ("" for statements keyed on the direction alone), or NULL with
 * EINVAL or EIO in *err. */
static sqlite3_stmt *blacklist_keyed(struct store *s, enum store_stmt_id id, const char *sql,
				     enum blacklist_dir dir, const char *prefix, int *err)
{
	sqlite3_stmt *st;

	*err = EINVAL;
	if (!blacklist_dir_name(dir) || !prefix)
		return NULL;
	*err = EIO;
	st = store_stmt(s, id, sql);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, blacklist_dir_name(dir), -1, SQLITE_STATIC);
	if (prefix[0])
		sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	return st;
}

int store_blacklist_get(struct store *s, enum blacklist_dir dir, const char *prefix,
			struct blacklist_record *out)
{
	int err;
	sqlite3_stmt *st = blacklist_keyed(s, STMT_BLACKLIST_GET, SQL_BLACKLIST_GET, dir,
					   prefix, &err);

	return st ? store_step_get(st, row_to_blacklist, out) : err;
}

int store_blacklist_del(struct store *s, enum blacklist_dir dir, const char *prefix)
{
	int err;
	sqlite3_stmt *st = blacklist_keyed(s, STMT_BLACKLIST_DELETE, SQL_BLACKLIST_DELETE,
					   dir, prefix, &err);

	return st ? store_step_change(s, st) : err;
}

int store_blacklist_clear(struct store *s, enum blacklist_dir dir)
{
	int err;
	sqlite3_stmt *st = blacklist_keyed(s, STMT_BLACKLIST_CLEAR, SQL_BLACKLIST_CLEAR,
					   dir, "", &err);

	return st ? store_step_done(st) : err;
}

int store_blacklist_count(struct store *s, enum blacklist_dir dir, size_t *n)
{
	int64_t v = 0;
	int err;
	sqlite3_stmt *st = blacklist_keyed(s, STMT_BLACKLIST_COUNT, SQL_BLACKLIST_COUNT,
					   dir, "", &err);

	if (!st)
		return err;
	err = store_step_int(st, &v);
	if (!err)
		*n = (size_t)v;
	return err;
}

struct blacklist_walk {
	store_blacklist_cb cb;
	void *arg;
};

static int blacklist_walk_one(const void *record, void *arg)
{
	const struct blacklist_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_blacklist_foreach(struct store *s, enum blacklist_dir dir,
			    store_blacklist_cb cb, void *arg)
{
	struct blacklist_walk w = { cb, arg };
	struct blacklist_record r;

	if (!blacklist_dir_name(dir))
		return EINVAL;
	return store_walk_param(s, SQL_BLACKLIST_ALL, blacklist_dir_name(dir), row_to_blacklist,
				&r, blacklist_walk_one, &w);
}

/* ---- rates ---- */

int store_rate_put(struct store *s, const struct rate_record *r)
{
	sqlite3_stmt *st;

	if (!rate_valid(r))
		return EINVAL;
	st = store_stmt(s, STMT_RATE_PUT, SQL_RATE_PUT);
	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->per_minute);
	sqlite3_bind_int64(st, 3, r->connection);
	sqlite3_bind_text(st, 4, r->currency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_or(r->created));
	return store_step_done(st);
}

static void row_to_rate(sqlite3_stmt *st, void *out)
{
	struct rate_record *r = out;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->prefix, sizeof(r->prefix));
	r->per_minute = sqlite3_column_int64(st, 1);
	r->connection = sqlite3_column_int64(st, 2);
	store_col_text(st, 3, r->currency, sizeof(r->currency));
	r->created = sqlite3_column_int64(st, 4);
}

int store_rate_get(struct store *s, const char *prefix, struct rate_record *out)
{
	return store_get_by_key(s, STMT_RATE_GET, SQL_RATE_GET, prefix, row_to_rate, out);
}

int store_rate_del(struct store *s, const char *prefix)
{
	return store_delete_by_key(s, STMT_RATE_DELETE, SQL_RATE_DELETE, prefix);
}

int store_rate_clear(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, STMT_RATE_CLEAR, SQL_RATE_CLEAR);

	return st ? store_step_done(st) : EIO;
}

int store_rate_count(struct store *s, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, STMT_RATE_COUNT, SQL_RATE_COUNT);
	int64_t v = 0;
	int err;

	if (!st)
		return EIO;
	err = store_step_int(st, &v);
	if (!err)
		*n = (size_t)v;
	return err;
}

struct rate_walk {
	store_rate_cb cb;
	void *arg;
};

static int rate_walk_one(const void *record, void *arg)
{
	const struct rate_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_rate_foreach(struct store *s, store_rate_cb cb, void *arg)
{
	struct rate_walk w = { cb, arg };
	struct rate_record r;

	return store_walk(s, SQL_RATE_ALL, row_to_rate, &r, rate_walk_one, &w);
}
