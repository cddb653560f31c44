/* The alert queue (S18): alerts the worker of guard/alert.c has still to
 * send. Only that worker's own connection writes here, a few rows a
 * minute at most, so statements are prepared per call instead of being
 * kept in the connection's cache. */
#include <errno.h>
#include <string.h>

#include "store/db.h"

#define SQL_ALERT_COLUMNS "id, kind, created, subject, text, pending, attempts, next_try, last_error"
#define SQL_ALERT_INSERT \
	"INSERT INTO alerts (kind, created, subject, text, pending, attempts, next_try, last_error)" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define SQL_ALERT_FIRST "SELECT " SQL_ALERT_COLUMNS " FROM alerts ORDER BY next_try, id LIMIT 1"
#define SQL_ALERT_ALL "SELECT " SQL_ALERT_COLUMNS " FROM alerts ORDER BY id"
#define SQL_ALERT_UPDATE \
	"UPDATE alerts SET pending = ?2, attempts = ?3, next_try = ?4, last_error = ?5 WHERE id = ?1"
#define SQL_ALERT_DELETE "DELETE FROM alerts WHERE id = ?1"
#define SQL_ALERT_ALL_DUE "UPDATE alerts SET next_try = ?1 WHERE next_try > ?1"
#define SQL_ALERT_COUNT "SELECT count(*) FROM alerts"

static bool record_valid(const struct alert_record *r)
{
	size_t kind = strnlen(r->kind, sizeof(r->kind));

	return kind > 0 && kind < sizeof(r->kind) && r->created >= 0 &&
	       strnlen(r->subject, sizeof(r->subject)) < sizeof(r->subject) &&
	       strnlen(r->text, sizeof(r->text)) < sizeof(r->text) &&
	       strnlen(r->last_error, sizeof(r->last_error)) < sizeof(r->last_error) &&
	       r->pending >= 1 && r->pending <= (ALERT_CH_EMAIL | ALERT_CH_WEBHOOK);
}

/* Run a statement that returns no rows; ENOENT when `must_change` and no
 * row changed. */
static int run(struct store *s, sqlite3_stmt *st, bool must_change)
{
	int rc = sqlite3_step(st);
	int err = rc == SQLITE_DONE ? 0 : store_errno(rc);

	if (!err && must_change && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	sqlite3_finalize(st);
	return err;
}

static sqlite3_stmt *prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

int store_alert_count(struct store *s, unsigned *n)
{
	sqlite3_stmt *st = prepare(s, SQL_ALERT_COUNT);
	int rc;

	if (!st)
		return EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (unsigned)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : store_errno(rc);
}

int store_alert_add(struct store *s, struct alert_record *r)
{
	sqlite3_stmt *st;
	unsigned n = 0; /* set on success; optimisers cannot see that */
	int err;

	if (!record_valid(r))
		return EINVAL;
	if ((err = store_alert_count(s, &n)) != 0)
		return err;
	if (n >= ALERT_QUEUE_MAX)
		return ENOSPC;
	if (!(st = prepare(s, SQL_ALERT_INSERT)))
		return EIO;
	sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->created);
	sqlite3_bind_text(st, 3, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->text, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, (int)r->pending);
	sqlite3_bind_int(st, 6, (int)r->attempts);
	sqlite3_bind_int64(st, 7, r->next_try);
	sqlite3_bind_text(st, 8, r->last_error, -1, SQLITE_STATIC);
	err = run(s, st, false);
	if (!err)
		r->id = sqlite3_last_insert_rowid(s->db);
	return err;
}

static void read_row(sqlite3_stmt *st, struct alert_record *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, r->kind, sizeof(r->kind));
	r->created = sqlite3_column_int64(st, 2);
	store_col_text(st, 3, r->subject, sizeof(r->subject));
	store_col_text(st, 4, r->text, sizeof(r->text));
	r->pending = (unsigned)sqlite3_column_int(st, 5);
	r->attempts = (unsigned)sqlite3_column_int(st, 6);
	r->next_try = sqlite3_column_int64(st, 7);
	store_col_text(st, 8, r->last_error, sizeof(r->last_error));
}

int store_alert_first(struct store *s, struct alert_record *out)
{
	sqlite3_stmt *st = prepare(s, SQL_ALERT_FIRST);
	int rc;

	if (!st)
		return EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_row(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return ENOENT;
	return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int store_alert_update(struct store *s, const struct alert_record *r)
{
	sqlite3_stmt *st;

	if (!record_valid(r))
		return EINVAL;
	if (!(st = prepare(s, SQL_ALERT_UPDATE)))
		return EIO;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int(st, 2, (int)r->pending);
	sqlite3_bind_int(st, 3, (int)r->attempts);
	sqlite3_bind_int64(st, 4, r->next_try);
	sqlite3_bind_text(st, 5, r->last_error, -1, SQLITE_STATIC);
	return run(s, st, true);
}

int store_alert_del(struct store *s, int64_t id)
{
	sqlite3_stmt *st = prepare(s, SQL_ALERT_DELETE);

	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, id);
	return run(s, st, true);
}

int store_alert_all_due(struct store *s, int64_t now)
{
	sqlite3_stmt *st = prepare(s, SQL_ALERT_ALL_DUE);

	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, now);
	return run(s, st, false);
}

int store_alert_foreach(struct store *s, store_alert_cb cb, void *arg)
{
	sqlite3_stmt *st = prepare(s, SQL_ALERT_ALL);
	struct alert_record r;
	int rc, ret = 0;

	if (!st)
		return EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_row(st, &r);
		if ((ret = cb(&r, arg)) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}
