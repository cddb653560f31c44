/* Registered contacts. The registrar keeps the live table in memory and
 * writes every change through to here, so a restart loses nothing and
 * `ringfence reg list` can read it from another process. */
#include <errno.h>
#include <string.h>

#include "store/db.h"

#define SQL_LOC_UPSERT \
	"INSERT INTO contacts (ext, contact, source, transport, user_agent, call_id," \
	" cseq, expires_at, registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" \
	" ON CONFLICT (ext, contact) DO UPDATE SET source = excluded.source," \
	" transport = excluded.transport, user_agent = excluded.user_agent," \
	" call_id = excluded.call_id, cseq = excluded.cseq," \
	" expires_at = excluded.expires_at, registered_at = excluded.registered_at"
#define SQL_LOC_DELETE "DELETE FROM contacts WHERE ext = ?1 AND contact = ?2"
#define SQL_LOC_DELETE_EXT "DELETE FROM contacts WHERE ext = ?1"
#define SQL_LOC_PURGE "DELETE FROM contacts WHERE expires_at <= ?1"
#define SQL_LOC_LIVE \
	"SELECT ext, contact, source, transport, user_agent, call_id, cseq," \
	" expires_at, registered_at FROM contacts WHERE expires_at > ?1" \
	" ORDER BY ext, contact"

int store_loc_put(struct store *s, const struct loc_record *r)
{
	sqlite3_stmt *st = store_stmt(s, STMT_LOC_UPSERT, SQL_LOC_UPSERT);

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->ext, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->contact, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->transport, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->user_agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->call_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->cseq);
	sqlite3_bind_int64(st, 8, r->expires_at);
	sqlite3_bind_int64(st, 9, r->registered_at);
	/* An unknown ext fails the foreign key: reported as ENOENT. */
	return store_step_done(st);
}

int store_loc_del(struct store *s, const char *ext, const char *contact)
{
	sqlite3_stmt *st = store_stmt(s, STMT_LOC_DELETE, SQL_LOC_DELETE);
	int err;

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, contact, -1, SQLITE_STATIC);
	err = store_step_done(st);
	if (err)
		return err;
	return sqlite3_changes(s->db) ? 0 : ENOENT;
}

int store_loc_del_ext(struct store *s, const char *ext)
{
	sqlite3_stmt *st = store_stmt(s, STMT_LOC_DELETE_EXT, SQL_LOC_DELETE_EXT);

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	return store_step_done(st);
}

static void row_to_loc(sqlite3_stmt *st, struct loc_record *r)
{
	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->ext, sizeof(r->ext));
	store_col_text(st, 1, r->contact, sizeof(r->contact));
	store_col_text(st, 2, r->source, sizeof(r->source));
	store_col_text(st, 3, r->transport, sizeof(r->transport));
	store_col_text(st, 4, r->user_agent, sizeof(r->user_agent));
	store_col_text(st, 5, r->call_id, sizeof(r->call_id));
	r->cseq = (uint32_t)sqlite3_column_int64(st, 6);
	r->expires_at = sqlite3_column_int64(st, 7);
	r->registered_at = sqlite3_column_int64(st, 8);
}

int store_loc_foreach(struct store *s, int64_t now, store_loc_cb cb, void *arg)
{
	struct loc_record r;
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(s->db, SQL_LOC_LIVE, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_loc(st, &r);
		ret = cb(&r, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int store_loc_purge(struct store *s, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, STMT_LOC_PURGE, SQL_LOC_PURGE);

	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, now);
	return store_step_done(st);
}
