/* The SQLite connection: opening, pragmas, migrations and transactions.
 *
 * The CLI and the daemon open the same file at once, so the database runs
 * in WAL mode (readers never block the writer) with a busy timeout: a
 * writer that finds the lock taken waits instead of failing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"

/* How long a writer waits for another connection's transaction. The CLI
 * and the daemon only ever hold the lock for milliseconds. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Migration N takes user_version from N to N + 1. Append, never edit: an
 * installed database has already run the earlier ones. */
static const char *const migrations[] = {
	/* 0 -> 1: extensions, their access lists and registered contacts. */
	"CREATE TABLE extensions ("
	"  ext        TEXT PRIMARY KEY NOT NULL,"
	"  name       TEXT NOT NULL DEFAULT '',"
	"  ha1_md5    TEXT NOT NULL,"
	"  ha1_sha256 TEXT NOT NULL,"
	"  remote     INTEGER NOT NULL DEFAULT 0 CHECK (remote IN (0, 1)),"
	"  created    INTEGER NOT NULL,"
	"  updated    INTEGER NOT NULL"
	");"
	"CREATE TABLE ext_acl ("
	"  ext  TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('permit', 'deny')),"
	"  cidr TEXT NOT NULL,"
	"  pos  INTEGER NOT NULL,"
	"  PRIMARY KEY (ext, kind, pos)"
	");"
	"CREATE TABLE contacts ("
	"  ext           TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,"
	"  contact       TEXT NOT NULL,"
	"  source        TEXT NOT NULL,"
	"  transport     TEXT NOT NULL,"
	"  user_agent    TEXT NOT NULL DEFAULT '',"
	"  call_id       TEXT NOT NULL,"
	"  cseq          INTEGER NOT NULL,"
	"  expires_at    INTEGER NOT NULL,"
	"  registered_at INTEGER NOT NULL,"
	"  PRIMARY KEY (ext, contact)"
	");"
	"CREATE INDEX contacts_expires ON contacts(expires_at);",
	/* 1 -> 2: call detail records, one row per call attempt (P8). No
	 * foreign key to extensions: a record outlives a deleted extension,
	 * and the callee is whatever was dialled. Counters are int64 (what
	 * SQLite stores); store_cdr_add saturates larger values. */
	"CREATE TABLE cdr ("
	"  id              INTEGER PRIMARY KEY,"
	"  caller          TEXT NOT NULL,"
	"  callee          TEXT NOT NULL,"
	"  call_id         TEXT NOT NULL,"
	"  start_ms        INTEGER NOT NULL,"
	"  answer_ms       INTEGER NOT NULL DEFAULT 0,"
	"  end_ms          INTEGER NOT NULL,"
	"  duration_s      INTEGER NOT NULL DEFAULT 0 CHECK (duration_s >= 0),"
	"  result          INTEGER NOT NULL CHECK (result BETWEEN 0 AND 999),"
	"  hangup          TEXT NOT NULL DEFAULT '',"
	"  packets_a       INTEGER NOT NULL DEFAULT 0 CHECK (packets_a >= 0),"
	"  bytes_a         INTEGER NOT NULL DEFAULT 0 CHECK (bytes_a >= 0),"
	"  packets_b       INTEGER NOT NULL DEFAULT 0 CHECK (packets_b >= 0),"
	"  bytes_b         INTEGER NOT NULL DEFAULT 0 CHECK (bytes_b >= 0),"
	"  dropped_foreign INTEGER NOT NULL DEFAULT 0 CHECK (dropped_foreign >= 0),"
	"  lost            INTEGER NOT NULL DEFAULT 0 CHECK (lost >= 0),"
	"  srtp            INTEGER NOT NULL DEFAULT 0 CHECK (srtp IN (0, 1))"
	");"
	"CREATE INDEX cdr_start ON cdr(start_ms);",
	/* 2 -> 3: the per-extension SRTP policy (P5) and SRTP per leg in the
	 * CDR. A remote extension always requires SRTP, so existing remote
	 * rows become 'required'. An existing record's srtp meant both legs,
	 * so both legs take its value. */
	"ALTER TABLE extensions ADD COLUMN"
	"  srtp TEXT NOT NULL DEFAULT 'optional'"
	"  CHECK (srtp IN ('optional', 'required', 'off'));"
	"UPDATE extensions SET srtp = 'required' WHERE remote = 1;"
	"ALTER TABLE cdr ADD COLUMN"
	"  srtp_a INTEGER NOT NULL DEFAULT 0 CHECK (srtp_a IN (0, 1));"
	"ALTER TABLE cdr ADD COLUMN"
	"  srtp_b INTEGER NOT NULL DEFAULT 0 CHECK (srtp_b IN (0, 1));"
	"UPDATE cdr SET srtp_a = srtp, srtp_b = srtp;",
	/* 3 -> 4: bans and account locks (S4), so they survive a restart.
	 * A ban row outlives its ban: its level makes the next ban longer.
	 * ext_locks has no foreign key to extensions: a lock on a deleted
	 * extension is ignored and expires, and deleting an extension stays
	 * what it was. Text lengths are those of store.h. */
	"CREATE TABLE bans ("
	"  addr    TEXT PRIMARY KEY NOT NULL CHECK (length(addr) BETWEEN 2 AND 45),"
	"  created INTEGER NOT NULL CHECK (created >= 0),"
	"  until   INTEGER NOT NULL CHECK (until >= created),"
	"  level   INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),"
	"  reason  TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 15)"
	");"
	"CREATE INDEX bans_until ON bans(until);"
	"CREATE TABLE ext_locks ("
	"  ext      TEXT PRIMARY KEY NOT NULL CHECK (length(ext) BETWEEN 1 AND 32),"
	"  created  INTEGER NOT NULL CHECK (created >= 0),"
	"  until    INTEGER NOT NULL CHECK (until >= created),"
	"  failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),"
	"  sources  INTEGER NOT NULL DEFAULT 0 CHECK (sources >= 0)"
	");",
	/* 4 -> 5: the alert queue (S18). A row lives until every channel in
	 * `pending` took the alert, so alerts survive a failed mail server
	 * and a restart. Text lengths are those of store.h. */
	"CREATE TABLE IF NOT EXISTS alerts ("
	"  id         INTEGER PRIMARY KEY,"
	"  kind       TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 23),"
	"  created    INTEGER NOT NULL CHECK (created >= 0),"
	"  subject    TEXT NOT NULL CHECK (length(subject) <= 200),"
	"  text       TEXT NOT NULL CHECK (length(text) <= 2000),"
	"  pending    INTEGER NOT NULL CHECK (pending BETWEEN 1 AND 3),"
	"  attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
	"  next_try   INTEGER NOT NULL,"
	"  last_error TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX IF NOT EXISTS alerts_next_try ON alerts(next_try, id);",
	/* 5 -> 6: trunks, numbers and routes (P4), blacklists (S12), rates
	 * and caps (S13), the per-extension calling policy (S11, S14), and
	 * what the CDR needs for rating and baselines. Money is an integer
	 * count of micro-units of the configured currency (1 GBP = 1,000,000),
	 * so sums are exact. A cap of 0 means "the configured default" (an
	 * extension that may not spend at all has class internal). Numbers
	 * are E.164 with their '+'. */
	"ALTER TABLE extensions ADD COLUMN"
	"  cos TEXT NOT NULL DEFAULT 'national'"
	"  CHECK (cos IN ('internal', 'national', 'international'));"
	"ALTER TABLE extensions ADD COLUMN"
	"  allow_classes TEXT NOT NULL DEFAULT '' CHECK (length(allow_classes) <= 64);"
	"ALTER TABLE extensions ADD COLUMN"
	"  countries TEXT NOT NULL DEFAULT '' CHECK (length(countries) <= 767);"
	"ALTER TABLE extensions ADD COLUMN"
	"  caller_id TEXT NOT NULL DEFAULT '' CHECK (length(caller_id) <= 16);"
	"ALTER TABLE extensions ADD COLUMN"
	"  daily_cap INTEGER NOT NULL DEFAULT 0 CHECK (daily_cap >= 0);"
	"ALTER TABLE extensions ADD COLUMN"
	"  monthly_cap INTEGER NOT NULL DEFAULT 0 CHECK (monthly_cap >= 0);"
	"ALTER TABLE extensions ADD COLUMN"
	"  suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1));"
	"ALTER TABLE extensions ADD COLUMN"
	"  suspended_why TEXT NOT NULL DEFAULT '' CHECK (length(suspended_why) <= 200);"
	"CREATE TABLE trunks ("
	"  name        TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 32),"
	"  host        TEXT NOT NULL CHECK (length(host) BETWEEN 1 AND 253),"
	"  port        INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),"
	"  transport   TEXT NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),"
	"  register    INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),"
	"  username    TEXT NOT NULL DEFAULT '' CHECK (length(username) <= 64),"
	"  password    TEXT NOT NULL DEFAULT '' CHECK (length(password) <= 128),"
	"  max_calls   INTEGER NOT NULL DEFAULT 0 CHECK (max_calls >= 0),"
	"  daily_cap   INTEGER NOT NULL DEFAULT 0 CHECK (daily_cap >= 0),"
	"  monthly_cap INTEGER NOT NULL DEFAULT 0 CHECK (monthly_cap >= 0),"
	"  created     INTEGER NOT NULL,"
	"  updated     INTEGER NOT NULL"
	");"
	"CREATE TABLE trunk_ips ("
	"  trunk TEXT NOT NULL REFERENCES trunks(name) ON DELETE CASCADE,"
	"  cidr  TEXT NOT NULL CHECK (length(cidr) BETWEEN 2 AND 49),"
	"  pos   INTEGER NOT NULL,"
	"  PRIMARY KEY (trunk, pos)"
	");"
	"CREATE TABLE dids ("
	"  number  TEXT PRIMARY KEY NOT NULL CHECK (length(number) BETWEEN 2 AND 16),"
	"  ext     TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE routes ("
	"  pos     INTEGER PRIMARY KEY,"
	"  pattern TEXT NOT NULL UNIQUE CHECK (length(pattern) BETWEEN 1 AND 64),"
	"  trunk   TEXT NOT NULL REFERENCES trunks(name) ON DELETE RESTRICT,"
	"  strip   INTEGER NOT NULL DEFAULT 0 CHECK (strip BETWEEN 0 AND 32),"
	"  prepend TEXT NOT NULL DEFAULT '' CHECK (length(prepend) <= 16),"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE blacklist ("
	"  direction TEXT NOT NULL CHECK (direction IN ('dest', 'caller')),"
	"  prefix    TEXT NOT NULL CHECK (length(prefix) BETWEEN 2 AND 16),"
	"  reason    TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 200),"
	"  created   INTEGER NOT NULL,"
	"  PRIMARY KEY (direction, prefix)"
	");"
	"CREATE TABLE rates ("
	"  prefix     TEXT PRIMARY KEY NOT NULL CHECK (length(prefix) BETWEEN 2 AND 16),"
	"  per_minute INTEGER NOT NULL CHECK (per_minute >= 0),"
	"  connection INTEGER NOT NULL CHECK (connection >= 0),"
	"  currency   TEXT NOT NULL CHECK (length(currency) = 3),"
	"  created    INTEGER NOT NULL"
	");"
	"ALTER TABLE cdr ADD COLUMN"
	"  direction TEXT NOT NULL DEFAULT 'internal'"
	"  CHECK (direction IN ('internal', 'outbound', 'inbound'));"
	"ALTER TABLE cdr ADD COLUMN"
	"  e164 TEXT NOT NULL DEFAULT '' CHECK (length(e164) <= 16);"
	"ALTER TABLE cdr ADD COLUMN"
	"  class TEXT NOT NULL DEFAULT '' CHECK (length(class) <= 15);"
	"ALTER TABLE cdr ADD COLUMN"
	"  trunk TEXT NOT NULL DEFAULT '' CHECK (length(trunk) <= 32);"
	"ALTER TABLE cdr ADD COLUMN"
	"  cost INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0);",
	/* 6 -> 7: what the daemon's registration client last did per trunk,
	 * for `trunk show|list`; it goes with its trunk. */
	"CREATE TABLE trunk_status ("
	"  trunk        TEXT PRIMARY KEY NOT NULL REFERENCES trunks(name) ON DELETE CASCADE,"
	"  state        TEXT NOT NULL CHECK (state IN ('off', 'registering', 'registered', 'failed')),"
	"  reason       TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 200),"
	"  last_code    INTEGER NOT NULL DEFAULT 0 CHECK (last_code BETWEEN 0 AND 699),"
	"  expires      INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  registered   INTEGER NOT NULL DEFAULT 0,"
	"  updated      INTEGER NOT NULL"
	");",
	/* 7 -> 8: a counter per kind of data the daemon keeps in memory,
	 * moved by triggers on every row change. PRAGMA data_version says
	 * only that some other connection wrote something (an alert, a
	 * CDR, a ban); the counters say whether it was something the daemon
	 * must rebuild, which for a full blacklist takes a tenth of a
	 * second. */
	"CREATE TABLE change_counts ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  n    INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO change_counts (name)"
	"  VALUES ('directory'), ('blacklist'), ('rates'), ('trunks');"
	"CREATE TRIGGER extensions_ins AFTER INSERT ON extensions BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'directory'; END;"
	"CREATE TRIGGER extensions_upd AFTER UPDATE ON extensions BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'directory'; END;"
	"CREATE TRIGGER extensions_del AFTER DELETE ON extensions BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'directory'; END;"
	"CREATE TRIGGER ext_acl_ins AFTER INSERT ON ext_acl BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'directory'; END;"
	"CREATE TRIGGER ext_acl_upd AFTER UPDATE ON ext_acl BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'directory'; END;"
	"CREATE TRIGGER ext_acl_del AFTER DELETE ON ext_acl BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'directory'; END;"
	"CREATE TRIGGER blacklist_ins AFTER INSERT ON blacklist BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'blacklist'; END;"
	"CREATE TRIGGER blacklist_upd AFTER UPDATE ON blacklist BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'blacklist'; END;"
	"CREATE TRIGGER blacklist_del AFTER DELETE ON blacklist BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'blacklist'; END;"
	"CREATE TRIGGER rates_ins AFTER INSERT ON rates BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'rates'; END;"
	"CREATE TRIGGER rates_upd AFTER UPDATE ON rates BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'rates'; END;"
	"CREATE TRIGGER rates_del AFTER DELETE ON rates BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'rates'; END;"
	"CREATE TRIGGER trunks_ins AFTER INSERT ON trunks BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER trunks_upd AFTER UPDATE ON trunks BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER trunks_del AFTER DELETE ON trunks BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER trunk_ips_ins AFTER INSERT ON trunk_ips BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER trunk_ips_upd AFTER UPDATE ON trunk_ips BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER trunk_ips_del AFTER DELETE ON trunk_ips BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER dids_ins AFTER INSERT ON dids BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER dids_upd AFTER UPDATE ON dids BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER dids_del AFTER DELETE ON dids BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER routes_ins AFTER INSERT ON routes BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER routes_upd AFTER UPDATE ON routes BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;"
	"CREATE TRIGGER routes_del AFTER DELETE ON routes BEGIN"
	"  UPDATE change_counts SET n = n + 1 WHERE name = 'trunks'; END;",
	/* 8 -> 9: the daemon's chargeable calls in progress, so that
	 * `ringfence spend`, which runs apart from it, counts them as they
	 * stand (S13). The daemon replaces the whole set in the transaction
	 * that writes the records of calls that ended, so no call is ever
	 * counted both here and in its CDR. */
	"CREATE TABLE live_calls ("
	"  call_id    TEXT PRIMARY KEY NOT NULL,"
	"  caller     TEXT NOT NULL,"
	"  trunk      TEXT NOT NULL,"
	"  start_ms   INTEGER NOT NULL,"
	"  answer_ms  INTEGER NOT NULL DEFAULT 0,"
	"  connection INTEGER NOT NULL CHECK (connection >= 0),"
	"  per_minute INTEGER NOT NULL CHECK (per_minute >= 0),"
	"  seen_ms    INTEGER NOT NULL"
	");",
};
#define STORE_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_CANTOPEN:
		return ENOENT;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			return EEXIST;
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return ENOENT;
		return EINVAL;
	default:
		return EIO;
	}
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id,
			 const char *sql)
{
	sqlite3_stmt *st = s->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				       &st, NULL) != SQLITE_OK)
			return NULL;
		s->stmt[id] = st;
		return st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (n >= dstlen)
		n = dstlen - 1;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

int store_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

void store_bind_field(sqlite3_stmt *st, int col, const char *field, size_t size)
{
	sqlite3_bind_text(st, col, field, (int)strnlen(field, size), SQLITE_STATIC);
}

/* Counters read back are trusted only as far as their type: a negative
 * value (written by hand) reads as 0. */
unsigned store_col_unsigned(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	if (v < 0)
		return 0;
	return v > (int64_t)UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

int store_step_change(struct store *s, sqlite3_stmt *st)
{
	int err = store_step_done(st);

	if (err)
		return err;
	return sqlite3_changes(s->db) ? 0 : ENOENT;
}

int store_step_get(sqlite3_stmt *st, store_fill_fn fill, void *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		fill(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ENOENT : store_errno(rc);
}

static void fill_int(sqlite3_stmt *st, void *out)
{
	*(int64_t *)out = sqlite3_column_int64(st, 0);
}

int store_step_int(sqlite3_stmt *st, int64_t *out)
{
	int err = store_step_get(st, fill_int, out);

	return err == ENOENT ? EIO : err;
}

int store_delete_by_key(struct store *s, enum store_stmt_id id, const char *sql,
			const char *key)
{
	sqlite3_stmt *st = store_stmt(s, id, sql);

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return store_step_change(s, st);
}

int store_get_by_key(struct store *s, enum store_stmt_id id, const char *sql,
		     const char *key, void (*fill)(sqlite3_stmt *st, void *out), void *out)
{
	sqlite3_stmt *st = store_stmt(s, id, sql);

	if (!st)
		return EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return store_step_get(st, fill, out);
}

int store_walk_param(struct store *s, const char *sql, const char *param, store_fill_fn fill,
		     void *record, int (*cb)(const void *record, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fill(st, record);
		ret = cb(record, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int store_walk(struct store *s, const char *sql, void (*fill)(sqlite3_stmt *st, void *out),
	       void *record, int (*cb)(const void *record, void *arg), void *arg)
{
	return store_walk_param(s, sql, NULL, fill, record, cb, arg);
}

static int exec(struct store *s, const char *sql)
{
	return store_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static int pragma_int(struct store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return store_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : store_errno(rc);
}

int store_change_count(struct store *s, const char *name, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT n FROM change_counts WHERE name = ?1", -1,
				    &st, NULL);

	if (rc != SQLITE_OK)
		return store_errno(rc);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : store_errno(rc);
}

const char *store_library_version(void)
{
	return sqlite3_libversion();
}

int store_begin(struct store *s)
{
	/* IMMEDIATE takes the write lock now, so two writers queue on the
	 * busy timeout instead of one failing half-way with SQLITE_BUSY. */
	return exec(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
	return exec(s, "COMMIT");
}

int store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return exec(s, "ROLLBACK");
}

/* Inside the caller's transaction, a savepoint: a failing fn leaves
 * nothing behind even when the caller goes on to commit its other
 * writes (the daemon's CDRs, with a live set that could not be written). */
static int nested_atomic(struct store *s, int (*fn)(struct store *s, const void *arg),
			 const void *arg)
{
	int err = exec(s, "SAVEPOINT store_atomic");

	if (err)
		return err;
	err = fn(s, arg);
	if (err)
		exec(s, "ROLLBACK TO store_atomic");
	exec(s, "RELEASE store_atomic");
	return err;
}

int store_atomic(struct store *s, int (*fn)(struct store *s, const void *arg),
		 const void *arg)
{
	int err;

	if (!sqlite3_get_autocommit(s->db))
		return nested_atomic(s, fn, arg);
	err = store_begin(s);
	if (err)
		return err;
	err = fn(s, arg);
	if (!err)
		err = store_commit(s);
	if (err)
		store_rollback(s);
	return err;
}

static int migrate(struct store *s, const char **errp)
{
	int64_t version = 0; /* set on success; optimisers cannot see that */
	char sql[64];
	int err;

	err = store_begin(s);
	if (err)
		return err;
	err = pragma_int(s, "PRAGMA user_version", &version);
	if (err)
		goto out;
	if (version > STORE_SCHEMA_VERSION) {
		if (errp)
			*errp = "database schema is newer than this version of ringfence";
		err = EPROTO;
		goto out;
	}
	for (; version < STORE_SCHEMA_VERSION; version++) {
		err = exec(s, migrations[version]);
		if (err)
			goto out;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	err = exec(s, sql);
out:
	if (err) {
		if (errp && !*errp)
			*errp = sqlite3_errmsg(s->db);
		store_rollback(s);
		return err;
	}
	return store_commit(s);
}

/* Create the file ourselves so its mode is 0600 from the first byte:
 * SQLite would create it with 0644 minus the umask, and it holds HA1s. */
static int create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int configure(struct store *s)
{
	int err;

	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 1);
	err = exec(s, "PRAGMA journal_mode = WAL");
	if (!err)
		err = exec(s, "PRAGMA foreign_keys = ON");
	if (!err)
		err = exec(s, "PRAGMA synchronous = NORMAL");
	/* Deleted rows (old HA1s) are overwritten, not left in free pages. */
	if (!err)
		err = exec(s, "PRAGMA secure_delete = ON");
	return err;
}

int store_create_at_version(const char *path, int version)
{
	struct store s = { 0 };
	char sql[64];
	int err, rc;

	if (version < 0 || version > STORE_SCHEMA_VERSION)
		return EINVAL;
	rc = sqlite3_open_v2(path, &s.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	err = store_errno(rc);
	for (int v = 0; !err && v < version; v++)
		err = exec(&s, migrations[v]);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	if (!err)
		err = exec(&s, sql);
	sqlite3_close(s.db);
	return err;
}

/* store_open's error text outlives the failed connection here. */
static _Thread_local char open_err[256];

int store_open(struct store **sp, const char *path, const char **errp)
{
	int err;

	if (errp)
		*errp = NULL;
	err = create_private(path);
	if (err) {
		if (errp)
			*errp = strerror(err);
		return err;
	}
	return store_open_existing(sp, path, errp);
}

int store_open_existing(struct store **sp, const char *path, const char **errp)
{
	struct store *s;
	int err, rc;

	if (errp)
		*errp = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = store_errno(rc);
		if (errp)
			*errp = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
		goto out;
	}
	err = configure(s);
	if (err) {
		if (errp)
			*errp = sqlite3_errmsg(s->db);
		goto out;
	}
	err = migrate(s, errp);
out:
	if (err) {
		/* The message may live in the connection we are about to
		 * close: keep a copy. */
		if (errp && *errp) {
			snprintf(open_err, sizeof(open_err), "%s", *errp);
			*errp = open_err;
		}
		store_close(s);
		return err;
	}
	*sp = s;
	return 0;
}

void store_close(struct store *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < STMT__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

int store_data_version(struct store *s, uint64_t *out)
{
	int64_t v = 0;
	int err = pragma_int(s, "PRAGMA data_version", &v);

	if (!err)
		*out = (uint64_t)v;
	return err;
}

/* ---- background checkpoints ---- */

struct store_checkpointer {
	pthread_t thread;
	sqlite3 *db;            /* the thread's own connection */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

#define STORE_CHECKPOINT_MS 1000

static void *checkpointer_main(void *arg)
{
	struct store_checkpointer *c = arg;
	struct timespec ts;
	bool stop;

	do {
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STORE_CHECKPOINT_MS / 1000;
		while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
			;
		stop = c->stop;
		pthread_mutex_unlock(&c->mu);
	} while (!stop);
	sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return NULL;
}

int store_checkpointer_start(struct store *s, struct store_checkpointer **cp)
{
	struct store_checkpointer *c = calloc(1, sizeof(*c));
	const char *path = sqlite3_db_filename(s->db, "main");
	int err;

	if (!c)
		return ENOMEM;
	if (!path || sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				     NULL) != SQLITE_OK) {
		err = EIO;
		goto out;
	}
	sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
		err = EAGAIN;
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		goto out;
	}
	/* Only once the thread runs does the daemon's connection stop
	 * checkpointing on its own. */
	exec(s, "PRAGMA wal_autocheckpoint = 0");
	*cp = c;
	return 0;
out:
	sqlite3_close(c->db);
	free(c);
	return err;
}

void store_checkpointer_stop(struct store_checkpointer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->db);
	free(c);
}

