/* Call detail records (P8): one row per call attempt, written once when
 * the call ends and never changed after. The B2BUA fills a cdr_record and
 * the worker thread stores it; `ringfence cdr` reads them back. */
#include <errno.h>
#include <string.h>

#include "store/db.h"

#define CDR_COLUMNS \
	"caller, callee, call_id, start_ms, answer_ms, end_ms, duration_s," \
	" result, hangup, packets_a, bytes_a, packets_b, bytes_b," \
	" dropped_foreign, lost, srtp, srtp_a, srtp_b, direction, e164, class, trunk, cost"
#define SQL_CDR_INSERT \
	"INSERT INTO cdr (" CDR_COLUMNS ") VALUES" \
	" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18," \
	" ?19, ?20, ?21, ?22, ?23)"
#define SQL_CDR_SINCE \
	"SELECT id, " CDR_COLUMNS " FROM cdr WHERE start_ms >= ?1" \
	" ORDER BY start_ms, id"
/* The newest rows first to apply the limit, then back in time order. */
#define SQL_CDR_LATEST \
	"SELECT * FROM (SELECT id, " CDR_COLUMNS " FROM cdr WHERE start_ms >= ?1" \
	" ORDER BY start_ms DESC, id DESC LIMIT ?2) ORDER BY start_ms, id"

#define SQL_CDR_SPEND \
	"SELECT caller, trunk, start_ms, cost FROM cdr" \
	" WHERE start_ms >= ?1 AND direction = 'outbound' AND cost > 0" \
	" ORDER BY start_ms, id"

/* The largest SIP status code: the schema refuses anything above. */
#define CDR_RESULT_MAX 999u

/* SQLite integers are signed 64-bit. A counter past INT64_MAX (292,000
 * years of packets at a million per second) is stored saturated rather
 * than wrapped to a negative number. */
static int64_t counter(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

int store_cdr_add(struct store *s, struct cdr_record *r)
{
	sqlite3_stmt *st;
	int rc;

	if (r->result > CDR_RESULT_MAX || r->start_ms < 0 || r->answer_ms < 0 ||
	    r->end_ms < 0 || r->cost < 0)
		return EINVAL;
	st = store_stmt(s, STMT_CDR_INSERT, SQL_CDR_INSERT);
	if (!st)
		return EIO;
	STORE_BIND_FIELD(st, 1, r->caller);
	STORE_BIND_FIELD(st, 2, r->callee);
	STORE_BIND_FIELD(st, 3, r->call_id);
	sqlite3_bind_int64(st, 4, r->start_ms);
	sqlite3_bind_int64(st, 5, r->answer_ms);
	sqlite3_bind_int64(st, 6, r->end_ms);
	sqlite3_bind_int64(st, 7, r->duration_s);
	sqlite3_bind_int64(st, 8, r->result);
	STORE_BIND_FIELD(st, 9, r->hangup);
	sqlite3_bind_int64(st, 10, counter(r->packets_a));
	sqlite3_bind_int64(st, 11, counter(r->bytes_a));
	sqlite3_bind_int64(st, 12, counter(r->packets_b));
	sqlite3_bind_int64(st, 13, counter(r->bytes_b));
	sqlite3_bind_int64(st, 14, counter(r->dropped_foreign));
	sqlite3_bind_int64(st, 15, counter(r->lost));
	sqlite3_bind_int(st, 16, r->srtp ? 1 : 0);
	sqlite3_bind_int(st, 17, r->srtp_a ? 1 : 0);
	sqlite3_bind_int(st, 18, r->srtp_b ? 1 : 0);
	sqlite3_bind_text(st, 19, r->direction[0] ? r->direction : "internal", -1, SQLITE_STATIC);
	STORE_BIND_FIELD(st, 20, r->e164);
	STORE_BIND_FIELD(st, 21, r->dest_class);
	STORE_BIND_FIELD(st, 22, r->trunk);
	sqlite3_bind_int64(st, 23, r->cost);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_errno(rc);
	r->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Columns read back from the database are trusted only as far as their
 * type: negative counters (written by hand) read as 0. */
static uint64_t col_counter(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v > 0 ? (uint64_t)v : 0;
}

static void row_to_cdr(sqlite3_stmt *st, struct cdr_record *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, r->caller, sizeof(r->caller));
	store_col_text(st, 2, r->callee, sizeof(r->callee));
	store_col_text(st, 3, r->call_id, sizeof(r->call_id));
	r->start_ms = sqlite3_column_int64(st, 4);
	r->answer_ms = sqlite3_column_int64(st, 5);
	r->end_ms = sqlite3_column_int64(st, 6);
	r->duration_s = store_col_unsigned(st, 7);
	r->result = store_col_unsigned(st, 8);
	store_col_text(st, 9, r->hangup, sizeof(r->hangup));
	r->packets_a = col_counter(st, 10);
	r->bytes_a = col_counter(st, 11);
	r->packets_b = col_counter(st, 12);
	r->bytes_b = col_counter(st, 13);
	r->dropped_foreign = col_counter(st, 14);
	r->lost = col_counter(st, 15);
	r->srtp = sqlite3_column_int(st, 16) != 0;
	r->srtp_a = sqlite3_column_int(st, 17) != 0;
	r->srtp_b = sqlite3_column_int(st, 18) != 0;
	store_col_text(st, 19, r->direction, sizeof(r->direction));
	store_col_text(st, 20, r->e164, sizeof(r->e164));
	store_col_text(st, 21, r->dest_class, sizeof(r->dest_class));
	store_col_text(st, 22, r->trunk, sizeof(r->trunk));
	r->cost = sqlite3_column_int64(st, 23);
	if (r->cost < 0)
		r->cost = 0;
}

/* Listing runs rarely and from the CLI, so its statements are prepared
 * per call instead of holding a cached one on the daemon's connection.
 * Calls row() for each row; stops on its non-zero return. */
static int each_row(struct store *s, const char *sql, int64_t since_ms, int64_t limit,
		    int (*row)(sqlite3_stmt *st, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	sqlite3_bind_int64(st, 1, since_ms);
	if (limit > 0)
		sqlite3_bind_int64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = row(st, ctx)) != 0)
			break;
	if (!ret && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

struct cdr_walk {
	store_cdr_cb cb;
	void *arg;
};

static int cdr_row(sqlite3_stmt *st, void *ctx)
{
	struct cdr_walk *w = ctx;
	struct cdr_record r;

	row_to_cdr(st, &r);
	return w->cb(&r, w->arg);
}

static int walk(struct store *s, const char *sql, int64_t since_ms,
		int64_t limit, store_cdr_cb cb, void *arg)
{
	struct cdr_walk w = { cb, arg };

	return each_row(s, sql, since_ms, limit, cdr_row, &w);
}

int store_cdr_foreach(struct store *s, int64_t since_ms, store_cdr_cb cb, void *arg)
{
	return walk(s, SQL_CDR_SINCE, since_ms, 0, cb, arg);
}

int store_cdr_foreach_latest(struct store *s, int64_t since_ms, unsigned limit,
			     store_cdr_cb cb, void *arg)
{
	if (limit == 0)
		return EINVAL;
	return walk(s, SQL_CDR_LATEST, since_ms, limit, cb, arg);
}

struct spend_walk {
	store_cdr_spend_cb cb;
	void *arg;
};

static int spend_row(sqlite3_stmt *st, void *ctx)
{
	struct spend_walk *w = ctx;
	struct cdr_spend r;

	memset(&r, 0, sizeof(r));
	store_col_text(st, 0, r.caller, sizeof(r.caller));
	store_col_text(st, 1, r.trunk, sizeof(r.trunk));
	r.start_ms = sqlite3_column_int64(st, 2);
	r.cost = sqlite3_column_int64(st, 3);
	return w->cb(&r, w->arg);
}

int store_cdr_spend(struct store *s, int64_t since_ms, store_cdr_spend_cb cb, void *arg)
{
	struct spend_walk w = { cb, arg };

	return each_row(s, SQL_CDR_SPEND, since_ms, 0, spend_row, &w);
}
