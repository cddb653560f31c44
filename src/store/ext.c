/* The extension directory: one row per extension with its HA1s, and its
 * permit/deny lists in ext_acl. Passwords never reach this file. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store/db.h"

#define SQL_EXT_INSERT \
	"INSERT INTO extensions (ext, name, ha1_md5, ha1_sha256, remote, created, updated," \
	" srtp, cos, allow_classes, countries, caller_id, daily_cap, monthly_cap," \
	" suspended, suspended_why)" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
#define SQL_EXT_UPDATE \
	"UPDATE extensions SET name = ?2, ha1_md5 = ?3, ha1_sha256 = ?4, remote = ?5," \
	" updated = ?7, srtp = ?8, cos = ?9, allow_classes = ?10, countries = ?11," \
	" caller_id = ?12, daily_cap = ?13, monthly_cap = ?14, suspended = ?15," \
	" suspended_why = ?16 WHERE ext = ?1"
#define SQL_EXT_COLUMNS "ext, name, ha1_md5, ha1_sha256, remote, created, updated, srtp," \
	" cos, allow_classes, countries, caller_id, daily_cap, monthly_cap, suspended," \
	" suspended_why"
#define SQL_EXT_SELECT "SELECT " SQL_EXT_COLUMNS " FROM extensions WHERE ext = ?1"
#define SQL_EXT_ALL "SELECT " SQL_EXT_COLUMNS " FROM extensions ORDER BY ext"
#define SQL_EXT_DELETE "DELETE FROM extensions WHERE ext = ?1"
#define SQL_ACL_INSERT "INSERT INTO ext_acl (ext, kind, cidr, pos) VALUES (?1, ?2, ?3, ?4)"
#define SQL_ACL_DELETE "DELETE FROM ext_acl WHERE ext = ?1"
#define SQL_ACL_SELECT "SELECT kind, cidr FROM ext_acl WHERE ext = ?1 ORDER BY kind, pos"

/* Indexed by enum ext_srtp; the words are also the database values. */
static const char *const srtp_names[] = {
	[EXT_SRTP_OPTIONAL] = "optional",
	[EXT_SRTP_REQUIRED] = "required",
	[EXT_SRTP_OFF] = "off",
};
#define SRTP_NAMES (sizeof(srtp_names) / sizeof(srtp_names[0]))

/* Indexed by enum ext_cos; the words are also the database values. */
static const char *const cos_names[] = {
	[EXT_COS_NATIONAL] = "national",
	[EXT_COS_INTERNAL] = "internal",
	[EXT_COS_INTERNATIONAL] = "international",
};
#define COS_NAMES (sizeof(cos_names) / sizeof(cos_names[0]))

const char *ext_cos_name(enum ext_cos v)
{
	return (unsigned)v < COS_NAMES ? cos_names[v] : NULL;
}

/* The index of word s in names[n], exact match. */
static int word_parse(const char *const *names, unsigned n, const char *s, unsigned *out)
{
	for (unsigned i = 0; s && i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return EINVAL;
}

int ext_cos_parse(const char *s, enum ext_cos *out)
{
	unsigned i;
	int err = word_parse(cos_names, COS_NAMES, s, &i);

	if (!err)
		*out = (enum ext_cos)i;
	return err;
}

const char *ext_srtp_name(enum ext_srtp v)
{
	return (unsigned)v < SRTP_NAMES ? srtp_names[v] : NULL;
}

int ext_srtp_parse(const char *s, enum ext_srtp *out)
{
	unsigned i;
	int err = word_parse(srtp_names, SRTP_NAMES, s, &i);

	if (!err)
		*out = (enum ext_srtp)i;
	return err;
}

static int64_t now_or(int64_t t)
{
	return t ? t : (int64_t)time(NULL);
}

static int acl_insert_list(struct store *s, const char *ext, const char *kind,
			   const struct acl_cidr *list, unsigned n)
{
	char text[64];
	unsigned i;
	int err;

	for (i = 0; i < n; i++) {
		sqlite3_stmt *st = store_stmt(s, STMT_ACL_INSERT, SQL_ACL_INSERT);

		if (!st)
			return EIO;
		acl_cidr_format(&list[i], text, sizeof(text));
		sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, (int)i);
		err = store_step_done(st);
		if (err)
			return err;
	}
	return 0;
}

static int acl_replace(struct store *s, const struct ext_record *r)
{
	sqlite3_stmt *st = store_stmt(s, STMT_ACL_DELETE, SQL_ACL_DELETE);
	int err;

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, r->ext, -1, SQLITE_STATIC);
	err = store_step_done(st);
	if (!err)
		err = acl_insert_list(s, r->ext, "permit", r->acl.permit,
				      r->acl.npermit);
	if (!err)
		err = acl_insert_list(s, r->ext, "deny", r->acl.deny, r->acl.ndeny);
	return err;
}

/* A remote extension's media crosses networks we do not control, so it
 * never runs without SRTP: a record that says otherwise is refused rather
 * than stored or silently changed. */
static bool record_valid(const struct ext_record *r)
{
	return r->ext[0] && ext_srtp_name(r->srtp) && ext_cos_name(r->cos) &&
	       r->daily_cap >= 0 && r->monthly_cap >= 0 &&
	       (!r->remote || r->srtp == EXT_SRTP_REQUIRED) &&
	       r->acl.npermit <= RF_MAX_ACL_ENTRIES &&
	       r->acl.ndeny <= RF_MAX_ACL_ENTRIES &&
	       strlen(r->ha1.md5) == DIGEST_MD5_HEX &&
	       strlen(r->ha1.sha256) == DIGEST_SHA256_HEX;
}

/* Parameters 1-5 and 8-16 are the same in the insert and the update;
 * 6 and 7 (created, updated) are bound by each. */
static void bind_record(sqlite3_stmt *st, const struct ext_record *r)
{
	sqlite3_bind_text(st, 1, r->ext, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->ha1.md5, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->ha1.sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, r->remote ? 1 : 0);
	sqlite3_bind_text(st, 8, ext_srtp_name(r->srtp), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, ext_cos_name(r->cos), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->allow_classes, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, r->countries, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, r->caller_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, r->daily_cap);
	sqlite3_bind_int64(st, 14, r->monthly_cap);
	sqlite3_bind_int(st, 15, r->suspended ? 1 : 0);
	sqlite3_bind_text(st, 16, r->suspended_why, -1, SQLITE_STATIC);
}

static int ext_add_tx(struct store *s, const void *arg)
{
	const struct ext_record *r = arg;
	sqlite3_stmt *st = store_stmt(s, STMT_EXT_INSERT, SQL_EXT_INSERT);
	int64_t created = now_or(r->created);
	int err;

	if (!st)
		return EIO;
	bind_record(st, r);
	sqlite3_bind_int64(st, 6, created);
	sqlite3_bind_int64(st, 7, r->updated ? r->updated : created);
	err = store_step_done(st);
	return err ? err : acl_replace(s, r);
}

int store_ext_add(struct store *s, const struct ext_record *r)
{
	if (!record_valid(r))
		return EINVAL;
	return store_atomic(s, ext_add_tx, r);
}

static int ext_update_tx(struct store *s, const void *arg)
{
	const struct ext_record *r = arg;
	sqlite3_stmt *st = store_stmt(s, STMT_EXT_UPDATE, SQL_EXT_UPDATE);
	int err;

	if (!st)
		return EIO;
	bind_record(st, r);
	sqlite3_bind_int64(st, 7, now_or(r->updated));
	err = store_step_done(st);
	if (err)
		return err;
	if (sqlite3_changes(s->db) == 0)
		return ENOENT;
	return acl_replace(s, r);
}

int store_ext_update(struct store *s, const struct ext_record *r)
{
	if (!record_valid(r))
		return EINVAL;
	return store_atomic(s, ext_update_tx, r);
}

/* A CIDR that no longer parses (edited by hand) is skipped rather than
 * failing the whole lookup; the list only ever narrows. */
static void acl_add_text(struct acl *a, const char *kind, const char *text)
{
	struct acl_cidr c;

	if (acl_cidr_parse(text, &c, NULL) != 0)
		return;
	if (strcmp(kind, "permit") == 0 && a->npermit < RF_MAX_ACL_ENTRIES)
		a->permit[a->npermit++] = c;
	else if (strcmp(kind, "deny") == 0 && a->ndeny < RF_MAX_ACL_ENTRIES)
		a->deny[a->ndeny++] = c;
}

static int acl_load(struct store *s, struct ext_record *r)
{
	sqlite3_stmt *st = store_stmt(s, STMT_ACL_SELECT, SQL_ACL_SELECT);
	char kind[8], text[64];
	int rc;

	if (!st)
		return EIO;
	memset(&r->acl, 0, sizeof(r->acl));
	sqlite3_bind_text(st, 1, r->ext, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_col_text(st, 0, kind, sizeof(kind));
		store_col_text(st, 1, text, sizeof(text));
		acl_add_text(&r->acl, kind, text);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* The schema admits only the three words; should a row still hold
 * something else, or a remote row anything but required (edited by hand),
 * it reads as required: the policy only ever tightens. */
static enum ext_srtp col_srtp(sqlite3_stmt *st, int col, bool remote)
{
	enum ext_srtp v;
	char text[16];

	store_col_text(st, col, text, sizeof(text));
	if (remote || ext_srtp_parse(text, &v) != 0)
		return EXT_SRTP_REQUIRED;
	return v;
}

/* Likewise, a class of service that does not read reads as internal. */
static enum ext_cos col_cos(sqlite3_stmt *st, int col)
{
	enum ext_cos v;
	char text[16];

	store_col_text(st, col, text, sizeof(text));
	return ext_cos_parse(text, &v) == 0 ? v : EXT_COS_INTERNAL;
}

static void row_to_record(sqlite3_stmt *st, struct ext_record *r)
{
	memset(r, 0, sizeof(*r));
	store_col_text(st, 0, r->ext, sizeof(r->ext));
	store_col_text(st, 1, r->name, sizeof(r->name));
	store_col_text(st, 2, r->ha1.md5, sizeof(r->ha1.md5));
	store_col_text(st, 3, r->ha1.sha256, sizeof(r->ha1.sha256));
	r->remote = sqlite3_column_int(st, 4) != 0;
	r->created = sqlite3_column_int64(st, 5);
	r->updated = sqlite3_column_int64(st, 6);
	r->srtp = col_srtp(st, 7, r->remote);
	r->cos = col_cos(st, 8);
	store_col_text(st, 9, r->allow_classes, sizeof(r->allow_classes));
	store_col_text(st, 10, r->countries, sizeof(r->countries));
	store_col_text(st, 11, r->caller_id, sizeof(r->caller_id));
	r->daily_cap = sqlite3_column_int64(st, 12);
	r->monthly_cap = sqlite3_column_int64(st, 13);
	r->suspended = sqlite3_column_int(st, 14) != 0;
	store_col_text(st, 15, r->suspended_why, sizeof(r->suspended_why));
}

int store_ext_get(struct store *s, const char *ext, struct ext_record *out)
{
	sqlite3_stmt *st = store_stmt(s, STMT_EXT_SELECT, SQL_EXT_SELECT);
	int rc;

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? ENOENT : store_errno(rc);
	}
	row_to_record(st, out);
	sqlite3_reset(st);
	return acl_load(s, out);
}

static int ext_del_tx(struct store *s, const void *arg)
{
	int err;

	/* ext_acl, contacts and DIDs go with it through ON DELETE CASCADE;
	 * ext_locks has no foreign key, so its row goes by hand. */
	err = store_delete_by_key(s, STMT_EXT_DELETE, SQL_EXT_DELETE, arg);
	if (err)
		return err;
	err = store_lock_del(s, arg);
	return err == ENOENT ? 0 : err; /* an extension that was never locked */
}

int store_ext_del(struct store *s, const char *ext)
{
	return store_atomic(s, ext_del_tx, ext);
}

int store_ext_foreach(struct store *s, store_ext_cb cb, void *arg)
{
	struct ext_record r;
	sqlite3_stmt *st;
	int rc, ret = 0;

	/* Our own statement, not the cache: the callback may look up other
	 * extensions while this one is still stepping. */
	rc = sqlite3_prepare_v2(s->db, SQL_EXT_ALL, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_record(st, &r);
		ret = acl_load(s, &r);
		if (!ret)
			ret = cb(&r, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}
