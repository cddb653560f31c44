/* The daemon's chargeable calls in progress (S13), for `ringfence spend`,
 * which runs apart from it and would otherwise see only calls that ended.
 * The daemon replaces the whole set at once, so a reader never sees half
 * of an update: a call is either here or in its CDR, never both. */
#include <errno.h>
#include <string.h>

#include "store/db.h"

#define LIVE_COLUMNS \
	"call_id, caller, trunk, start_ms, answer_ms, connection, per_minute, seen_ms"
#define SQL_LIVE_CLEAR "DELETE FROM live_calls"
#define SQL_LIVE_INSERT \
	"INSERT INTO live_calls (" LIVE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define SQL_LIVE_ALL "SELECT " LIVE_COLUMNS " FROM live_calls ORDER BY start_ms, call_id"

struct live_set {
	const struct live_call_record *r;
	size_t n;
	int64_t seen_ms;
};

/* Checked before the first write, so a bad record leaves the old set. */
static bool record_valid(const struct live_call_record *r)
{
	return r->connection >= 0 && r->per_minute >= 0;
}

static int insert_one(struct store *s, const struct live_call_record *r, int64_t seen_ms)
{
	sqlite3_stmt *st = store_stmt(s, STMT_LIVE_INSERT, SQL_LIVE_INSERT);

	if (!st)
		return EIO;
	STORE_BIND_FIELD(st, 1, r->call_id);
	STORE_BIND_FIELD(st, 2, r->caller);
	STORE_BIND_FIELD(st, 3, r->trunk);
	sqlite3_bind_int64(st, 4, r->start_ms);
	sqlite3_bind_int64(st, 5, r->answer_ms);
	sqlite3_bind_int64(st, 6, r->connection);
	sqlite3_bind_int64(st, 7, r->per_minute);
	sqlite3_bind_int64(st, 8, seen_ms);
	return store_step_done(st);
}

static int replace_tx(struct store *s, const void *arg)
{
	const struct live_set *set = arg;
	sqlite3_stmt *st = store_stmt(s, STMT_LIVE_CLEAR, SQL_LIVE_CLEAR);
	int err;

	if (!st)
		return EIO;
	if ((err = store_step_done(st)) != 0)
		return err;
	for (size_t i = 0; i < set->n; i++)
		if ((err = insert_one(s, &set->r[i], set->seen_ms)) != 0)
			return err;
	return 0;
}

int store_live_calls_replace(struct store *s, const struct live_call_record *r, size_t n,
			     int64_t seen_ms)
{
	struct live_set set = { r, n, seen_ms };

	if (n > 0 && !r)
		return EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!record_valid(&r[i]))
			return EINVAL;
	return store_atomic(s, replace_tx, &set);
}

/* Prices written by hand below 0 read as 0, like a CDR's cost. */
static int64_t col_price(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v > 0 ? v : 0;
}

static void row_to_live(sqlite3_stmt *st, void *out)
{
	struct live_call_record *r = out;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->call_id, sizeof(r->call_id));
	store_col_text(st, 1, r->caller, sizeof(r->caller));
	store_col_text(st, 2, r->trunk, sizeof(r->trunk));
	r->start_ms = sqlite3_column_int64(st, 3);
	r->answer_ms = sqlite3_column_int64(st, 4);
	r->connection = col_price(st, 5);
	r->per_minute = col_price(st, 6);
	r->seen_ms = sqlite3_column_int64(st, 7);
}

struct live_walk {
	store_live_call_cb cb;
	void *arg;
};

static int live_walk_one(const void *record, void *arg)
{
	const struct live_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_live_calls_foreach(struct store *s, store_live_call_cb cb, void *arg)
{
	struct live_walk w = { cb, arg };
	struct live_call_record r;

	return store_walk(s, SQL_LIVE_ALL, row_to_live, &r, live_walk_one, &w);
}
