/* Trunks with their extra addresses, DIDs and the ordered outbound
 * routes (P4). The CLI checks what an administrator typed; the checks
 * here keep a caller's mistake from writing a row the daemon would
 * misread. A trunk's password is stored because the digest client needs
 * it in clear; it leaves this file only inside a trunk_record. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store/db.h"

#define SQL_TRUNK_COLUMNS \
	"name, host, port, transport, register, username, password, max_calls," \
	" daily_cap, monthly_cap, created, updated"
#define SQL_TRUNK_INSERT \
	"INSERT INTO trunks (" SQL_TRUNK_COLUMNS ")" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
#define SQL_TRUNK_UPDATE \
	"UPDATE trunks SET host = ?2, port = ?3, transport = ?4, register = ?5," \
	" username = ?6, password = ?7, max_calls = ?8, daily_cap = ?9," \
	" monthly_cap = ?10, updated = ?12 WHERE name = ?1"
#define SQL_TRUNK_SELECT "SELECT " SQL_TRUNK_COLUMNS " FROM trunks WHERE name = ?1"
#define SQL_TRUNK_ALL "SELECT " SQL_TRUNK_COLUMNS " FROM trunks ORDER BY name"
#define SQL_TRUNK_DELETE "DELETE FROM trunks WHERE name = ?1"
#define SQL_TRUNK_ROUTED "SELECT 1 FROM routes WHERE trunk = ?1 LIMIT 1"
#define SQL_TRUNK_EXISTS "SELECT 1 FROM trunks WHERE name = ?1"
#define SQL_TRUNK_IP_INSERT "INSERT INTO trunk_ips (trunk, cidr, pos) VALUES (?1, ?2, ?3)"
#define SQL_TRUNK_IP_DELETE "DELETE FROM trunk_ips WHERE trunk = ?1"
#define SQL_TRUNK_IP_SELECT "SELECT cidr FROM trunk_ips WHERE trunk = ?1 ORDER BY pos"

#define SQL_DID_COLUMNS "number, ext, created"
#define SQL_DID_INSERT "INSERT INTO dids (" SQL_DID_COLUMNS ") VALUES (?1, ?2, ?3)"
#define SQL_DID_SELECT "SELECT " SQL_DID_COLUMNS " FROM dids WHERE number = ?1"
#define SQL_DID_ALL "SELECT " SQL_DID_COLUMNS " FROM dids ORDER BY number"
#define SQL_DID_OF_EXT "SELECT " SQL_DID_COLUMNS " FROM dids WHERE ext = ?1 ORDER BY number"
#define SQL_DID_DELETE "DELETE FROM dids WHERE number = ?1"

#define SQL_ROUTE_COLUMNS "pos, pattern, trunk, strip, prepend, created"
#define SQL_ROUTE_INSERT "INSERT INTO routes (" SQL_ROUTE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_ROUTE_ALL "SELECT " SQL_ROUTE_COLUMNS " FROM routes ORDER BY pos"
#define SQL_ROUTE_LAST "SELECT coalesce(max(pos), 0) FROM routes"
#define SQL_ROUTE_FIND "SELECT pos FROM routes WHERE pattern = ?1"
#define SQL_ROUTE_DELETE "DELETE FROM routes WHERE pos = ?1"
/* Renumbering goes through negative positions: pos is the primary key,
 * and SQLite checks uniqueness row by row, so "pos = pos + 1" in one step
 * could collide with the next row before that row has moved. */
#define SQL_ROUTE_MOVE "UPDATE routes SET pos = -(pos + ?2) WHERE pos >= ?1"
#define SQL_ROUTE_SETTLE "UPDATE routes SET pos = -pos WHERE pos < 0"

static int64_t now_or(int64_t t)
{
	return t ? t : (int64_t)time(NULL);
}

/* ---- checks ---- */

/* NUL-terminated inside its field, and between min and max bytes. */
static bool text_fits(const char *s, size_t size, size_t min)
{
	size_t n = strnlen(s, size);

	return n < size && n >= min;
}

static bool name_valid(const char *name)
{
	size_t i, n = strnlen(name, TRUNK_NAME_MAX + 1);

	if (n == 0 || n > TRUNK_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool transport_valid(const char *t)
{
	return strcmp(t, "udp") == 0 || strcmp(t, "tcp") == 0 || strcmp(t, "tls") == 0;
}

/* A registering trunk needs its credentials; one that does not register
 * has none to keep. */
static bool credentials_valid(const struct trunk_record *r)
{
	if (!text_fits(r->username, sizeof(r->username), 0) ||
	    !text_fits(r->password, sizeof(r->password), 0))
		return false;
	if (r->reg)
		return r->username[0] && r->password[0];
	return !r->username[0] && !r->password[0];
}

static bool trunk_valid(const struct trunk_record *r)
{
	return name_valid(r->name) && text_fits(r->host, sizeof(r->host), 1) &&
	       r->port <= 65535 && text_fits(r->transport, sizeof(r->transport), 3) &&
	       transport_valid(r->transport) && credentials_valid(r) &&
	       r->nips <= TRUNK_MAX_IPS && r->max_calls <= INT32_MAX &&
	       r->daily_cap >= 0 && r->monthly_cap >= 0;
}

/* E.164: '+' and 2 to 15 digits. */
static bool number_valid(const char *number, size_t size)
{
	size_t i, n = strnlen(number, size);

	if (n >= size || n < 3 || n > 16 || number[0] != '+')
		return false;
	for (i = 1; i < n; i++)
		if (number[i] < '0' || number[i] > '9')
			return false;
	return true;
}

static bool did_valid(const struct did_record *r)
{
	return number_valid(r->number, sizeof(r->number)) &&
	       text_fits(r->ext, sizeof(r->ext), 1);
}

static bool route_valid(const struct route_record *r)
{
	return text_fits(r->pattern, sizeof(r->pattern), 1) && name_valid(r->trunk) &&
	       r->strip <= 32 && text_fits(r->prepend, sizeof(r->prepend), 0);
}

/* ---- trunks ---- */

/* One integer out of a single-row query on a cached statement, with an
 * optional text key bound; *found says whether there was a row. */
static int query_int(struct store *s, enum store_stmt_id id, const char *sql,
		     const char *key, int64_t *out, bool *found)
{
	sqlite3_stmt *st = store_stmt(s, id, sql);
	int rc;

	if (!st)
		return EIO;
	if (key)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
}


static void bind_trunk(sqlite3_stmt *st, const struct trunk_record *r, int64_t created,
		       int64_t updated)
{
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->host, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)r->port);
	sqlite3_bind_text(st, 4, r->transport, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, r->reg ? 1 : 0);
	sqlite3_bind_text(st, 6, r->username, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->password, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, r->max_calls);
	sqlite3_bind_int64(st, 9, r->daily_cap);
	sqlite3_bind_int64(st, 10, r->monthly_cap);
	sqlite3_bind_int64(st, 11, created);
	sqlite3_bind_int64(st, 12, updated);
}

/* The trunk's addresses in the order given: the first is shown first. */
static int ips_replace(struct store *s, const struct trunk_record *r)
{
	char text[64];
	unsigned i;
	int err = store_delete_by_key(s, STMT_TRUNK_IP_DELETE, SQL_TRUNK_IP_DELETE, r->name);

	if (err && err != ENOENT)
		return err;
	for (i = 0; i < r->nips; i++) {
		sqlite3_stmt *st = store_stmt(s, STMT_TRUNK_IP_INSERT, SQL_TRUNK_IP_INSERT);

		if (!st)
			return EIO;
		acl_cidr_format(&r->ips[i], text, sizeof(text));
		sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)i);
		err = store_step_done(st);
		if (err)
			return err;
	}
	return 0;
}

static int trunk_add_tx(struct store *s, const void *arg)
{
	const struct trunk_record *r = arg;
	sqlite3_stmt *st = store_stmt(s, STMT_TRUNK_INSERT, SQL_TRUNK_INSERT);
	int64_t created = now_or(r->created);
	int err;

	if (!st)
		return EIO;
	bind_trunk(st, r, created, r->updated ? r->updated : created);
	err = store_step_done(st);
	return err ? err : ips_replace(s, r);
}

int store_trunk_add(struct store *s, const struct trunk_record *r)
{
	if (!trunk_valid(r))
		return EINVAL;
	return store_atomic(s, trunk_add_tx, r);
}

static int trunk_update_tx(struct store *s, const void *arg)
{
	const struct trunk_record *r = arg;
	sqlite3_stmt *st = store_stmt(s, STMT_TRUNK_UPDATE, SQL_TRUNK_UPDATE);
	int err;

	if (!st)
		return EIO;
	bind_trunk(st, r, r->created, now_or(r->updated));
	err = store_step_done(st);
	if (err)
		return err;
	if (sqlite3_changes(s->db) == 0)
		return ENOENT;
	return ips_replace(s, r);
}

int store_trunk_update(struct store *s, const struct trunk_record *r)
{
	if (!trunk_valid(r))
		return EINVAL;
	return store_atomic(s, trunk_update_tx, r);
}

/* An address that no longer parses (edited by hand) is left out: the
 * list only ever narrows where a trunk may send from. */
static int ips_load(struct store *s, struct trunk_record *r)
{
	sqlite3_stmt *st = store_stmt(s, STMT_TRUNK_IP_SELECT, SQL_TRUNK_IP_SELECT);
	char text[64];
	int rc;

	if (!st)
		return EIO;
	r->nips = 0;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_col_text(st, 0, text, sizeof(text));
		if (r->nips < TRUNK_MAX_IPS && acl_cidr_parse(text, &r->ips[r->nips], NULL) == 0)
			r->nips++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static void row_to_trunk(sqlite3_stmt *st, void *out)
{
	struct trunk_record *r = out;
	unsigned port;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->name, sizeof(r->name));
	store_col_text(st, 1, r->host, sizeof(r->host));
	port = store_col_unsigned(st, 2);
	r->port = port <= 65535 ? port : 0;
	store_col_text(st, 3, r->transport, sizeof(r->transport));
	r->reg = sqlite3_column_int(st, 4) != 0;
	store_col_text(st, 5, r->username, sizeof(r->username));
	store_col_text(st, 6, r->password, sizeof(r->password));
	r->max_calls = store_col_unsigned(st, 7);
	r->daily_cap = sqlite3_column_int64(st, 8);
	r->monthly_cap = sqlite3_column_int64(st, 9);
	r->created = sqlite3_column_int64(st, 10);
	r->updated = sqlite3_column_int64(st, 11);
}

int store_trunk_get(struct store *s, const char *name, struct trunk_record *out)
{
	int err = store_get_by_key(s, STMT_TRUNK_SELECT, SQL_TRUNK_SELECT, name,
				   row_to_trunk, out);

	return err ? err : ips_load(s, out);
}

static int trunk_del_tx(struct store *s, const void *arg)
{
	const char *name = arg;
	int64_t one;
	bool routed;
	int err = query_int(s, STMT_TRUNK_ROUTED, SQL_TRUNK_ROUTED, name, &one, &routed);

	if (err)
		return err;
	if (routed)
		return EBUSY;
	/* Its trunk_ips rows go with it through ON DELETE CASCADE. */
	return store_delete_by_key(s, STMT_TRUNK_DELETE, SQL_TRUNK_DELETE, name);
}

int store_trunk_del(struct store *s, const char *name)
{
	return store_atomic(s, trunk_del_tx, name);
}

struct trunk_walk {
	store_trunk_cb cb;
	void *arg;
	struct store *s;
	struct trunk_record r; /* the row being walked, completed with its addresses */
};

static int trunk_walk_one(const void *record, void *arg)
{
	struct trunk_walk *w = arg;
	int err = ips_load(w->s, &w->r);

	(void)record; /* that is &w->r */
	return err ? err : w->cb(&w->r, w->arg);
}

int store_trunk_foreach(struct store *s, store_trunk_cb cb, void *arg)
{
	struct trunk_walk w = { .cb = cb, .arg = arg, .s = s };
	int err = store_walk(s, SQL_TRUNK_ALL, row_to_trunk, &w.r, trunk_walk_one, &w);

	memset(w.r.password, 0, sizeof(w.r.password));
	return err;
}

/* ---- DIDs ---- */

int store_did_add(struct store *s, const struct did_record *r)
{
	sqlite3_stmt *st;

	if (!did_valid(r))
		return EINVAL;
	st = store_stmt(s, STMT_DID_INSERT, SQL_DID_INSERT);
	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_or(r->created));
	/* EEXIST from the primary key, ENOENT from the extension's key. */
	return store_step_done(st);
}

int store_did_del(struct store *s, const char *number)
{
	return store_delete_by_key(s, STMT_DID_DELETE, SQL_DID_DELETE, number);
}

static void row_to_did(sqlite3_stmt *st, void *out)
{
	struct did_record *r = out;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->number, sizeof(r->number));
	store_col_text(st, 1, r->ext, sizeof(r->ext));
	r->created = sqlite3_column_int64(st, 2);
}

int store_did_get(struct store *s, const char *number, struct did_record *out)
{
	return store_get_by_key(s, STMT_DID_SELECT, SQL_DID_SELECT, number, row_to_did, out);
}

struct did_walk {
	store_did_cb cb;
	void *arg;
};

static int did_walk_one(const void *record, void *arg)
{
	const struct did_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_did_foreach(struct store *s, store_did_cb cb, void *arg)
{
	struct did_walk w = { cb, arg };
	struct did_record r;

	return store_walk(s, SQL_DID_ALL, row_to_did, &r, did_walk_one, &w);
}

int store_did_foreach_ext(struct store *s, const char *ext, store_did_cb cb, void *arg)
{
	struct did_walk w = { cb, arg };
	struct did_record r;

	return store_walk_param(s, SQL_DID_OF_EXT, ext, row_to_did, &r, did_walk_one, &w);
}

/* ---- routes ---- */

/* Move every route at `from` or later by `by` (+1 or -1). */
static int routes_move(struct store *s, int64_t from, int by)
{
	sqlite3_stmt *st = store_stmt(s, STMT_ROUTE_MOVE, SQL_ROUTE_MOVE);
	int err;

	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int(st, 2, by);
	err = store_step_done(st);
	if (err)
		return err;
	st = store_stmt(s, STMT_ROUTE_SETTLE, SQL_ROUTE_SETTLE);
	return st ? store_step_done(st) : EIO;
}

/* Everything that can refuse the route is asked before any row moves, so
 * a refusal inside a caller's transaction leaves nothing to undo. */
static int route_add_check(struct store *s, struct route_record *r, int64_t *last)
{
	bool found;
	int64_t pos;
	int err;

	err = query_int(s, STMT_ROUTE_LAST, SQL_ROUTE_LAST, NULL, last, &found);
	if (!err)
		err = query_int(s, STMT_ROUTE_FIND, SQL_ROUTE_FIND, r->pattern, &pos, &found);
	if (err)
		return err;
	if (found)
		return EEXIST;
	err = query_int(s, STMT_TRUNK_EXISTS, SQL_TRUNK_EXISTS, r->trunk, &pos, &found);
	if (err)
		return err;
	if (!found)
		return ENOENT;
	if (r->pos > *last + 1)
		return ERANGE;
	return 0;
}

static int route_add_tx(struct store *s, const void *arg)
{
	struct route_record *r = (struct route_record *)arg;
	sqlite3_stmt *st;
	int64_t last = 0;
	int err = route_add_check(s, r, &last);

	if (err)
		return err;
	if (r->pos == 0)
		r->pos = (unsigned)last + 1;
	else if ((err = routes_move(s, r->pos, 1)))
		return err;
	st = store_stmt(s, STMT_ROUTE_INSERT, SQL_ROUTE_INSERT);
	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, r->pos);
	sqlite3_bind_text(st, 2, r->pattern, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->trunk, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)r->strip);
	sqlite3_bind_text(st, 5, r->prepend, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now_or(r->created));
	return store_step_done(st);
}

int store_route_add(struct store *s, struct route_record *r)
{
	unsigned asked = r->pos;
	int err;

	if (!route_valid(r))
		return EINVAL;
	err = store_atomic(s, route_add_tx, r);
	if (err)
		r->pos = asked;
	return err;
}

static int route_del_tx(struct store *s, const void *arg)
{
	const unsigned *pos = arg;
	sqlite3_stmt *st = store_stmt(s, STMT_ROUTE_DELETE, SQL_ROUTE_DELETE);
	int err;

	if (!st)
		return EIO;
	sqlite3_bind_int64(st, 1, *pos);
	err = store_step_done(st);
	if (err)
		return err;
	if (sqlite3_changes(s->db) == 0)
		return ENOENT;
	return routes_move(s, (int64_t)*pos + 1, -1);
}

int store_route_del(struct store *s, unsigned pos)
{
	if (pos == 0)
		return ENOENT;
	return store_atomic(s, route_del_tx, &pos);
}

static void row_to_route(sqlite3_stmt *st, void *out)
{
	struct route_record *r = out;

	memset(r, 0, sizeof(*r));
	r->pos = store_col_unsigned(st, 0);
	store_col_text(st, 1, r->pattern, sizeof(r->pattern));
	store_col_text(st, 2, r->trunk, sizeof(r->trunk));
	r->strip = store_col_unsigned(st, 3);
	store_col_text(st, 4, r->prepend, sizeof(r->prepend));
	r->created = sqlite3_column_int64(st, 5);
}

struct route_walk {
	store_route_cb cb;
	void *arg;
};

static int route_walk_one(const void *record, void *arg)
{
	const struct route_walk *w = arg;

	return w->cb(record, w->arg);
}

int store_route_foreach(struct store *s, store_route_cb cb, void *arg)
{
	struct route_walk w = { cb, arg };
	struct route_record r;

	return store_walk(s, SQL_ROUTE_ALL, row_to_route, &r, route_walk_one, &w);
}

/* ---- registration status ---- */

#define SQL_TRUNK_STATUS_COLUMNS \
	"trunk, state, reason, last_code, expires, next_attempt, registered, updated"
#define SQL_TRUNK_STATUS_PUT \
	"INSERT OR REPLACE INTO trunk_status (" SQL_TRUNK_STATUS_COLUMNS ")" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define SQL_TRUNK_STATUS_GET \
	"SELECT " SQL_TRUNK_STATUS_COLUMNS " FROM trunk_status WHERE trunk = ?1"

static bool status_valid(const struct trunk_status *r)
{
	static const char *const states[] = { "off", "registering", "registered", "failed" };
	bool known = false;

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		known |= strcmp(r->state, states[i]) == 0;
	return known && name_valid(r->trunk) && r->last_code <= 699 &&
	       text_fits(r->reason, sizeof(r->reason), 0);
}

int store_trunk_status_put(struct store *s, const struct trunk_status *r)
{
	sqlite3_stmt *st;

	if (!status_valid(r))
		return EINVAL;
	st = store_stmt(s, STMT_TRUNK_STATUS_PUT, SQL_TRUNK_STATUS_PUT);
	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->trunk, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)r->last_code);
	sqlite3_bind_int64(st, 5, r->expires);
	sqlite3_bind_int64(st, 6, r->next_attempt);
	sqlite3_bind_int64(st, 7, r->registered);
	sqlite3_bind_int64(st, 8, now_or(r->updated));
	/* ENOENT from the trunk's foreign key: it was deleted meanwhile. */
	return store_step_done(st);
}

static void row_to_status(sqlite3_stmt *st, void *out)
{
	struct trunk_status *r = out;

	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->trunk, sizeof(r->trunk));
	store_col_text(st, 1, r->state, sizeof(r->state));
	store_col_text(st, 2, r->reason, sizeof(r->reason));
	r->last_code = store_col_unsigned(st, 3);
	r->expires = sqlite3_column_int64(st, 4);
	r->next_attempt = sqlite3_column_int64(st, 5);
	r->registered = sqlite3_column_int64(st, 6);
	r->updated = sqlite3_column_int64(st, 7);
}

int store_trunk_status_get(struct store *s, const char *trunk, struct trunk_status *out)
{
	return store_get_by_key(s, STMT_TRUNK_STATUS_GET, SQL_TRUNK_STATUS_GET, trunk,
				row_to_status, out);
}
