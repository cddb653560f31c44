/* blacklist import and rates import: a whole list from CSV, all or
 * nothing.
 *
 * Every line is checked before anything is written: its number or prefix
 * is normalised to E.164 (so "0909" and "+44909" are the same entry), its
 * other fields are parsed exactly, and a prefix the file lists twice, in
 * any spelling, is an error naming both lines, since the two lines may
 * disagree and neither can be guessed right. One bad line and nothing is
 * imported; every bad line is reported as FILE:LINE: reason.
 *
 * Then all rows are written in one transaction: merged into the table (a
 * prefix already there takes the file's values), or, with --replace,
 * instead of everything the table held. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin.h"
#include "admin/cmd_fraud.h"
#include "admin/import.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/limits.h"
#include "fraud/prefix.h"
#include "fraud/rating.h"

/* The whole file: 100,000 blacklist lines with long reasons, or a
 * carrier's rate deck, fit. */
#define FRAUD_IMPORT_MAX_BYTES (32u << 20)
/* Lines a file may have beyond its entries: a header, comments. */
#define FRAUD_IMPORT_EXTRA_LINES 1000u

/* What differs between the tables an import writes. */
struct table_ops {
	const char *command;     /* "rates import", for the progress line */
	const char *columns;     /* the CSV columns, for messages */
	const char *noun;        /* what a row is called: "entries", "rates" */
	unsigned fields;
	size_t max;              /* rows the table may hold */
	size_t rec_size, prefix_offset;
	import_line_fn check;
	int (*count)(struct store *s, const void *key, size_t *n);
	int (*clear)(struct store *s, const void *key);
	int (*put)(struct store *s, const void *rec);
};

struct fraud_import {
	struct import_file file;
	struct admin_ctx *ctx;
	const struct table_ops *ops;
	const void *key;              /* &dir for a blacklist, NULL for rates */
	struct numplan *np;
	struct prefix_list rows;      /* records of ops->rec_size */
	struct prefix_list lines;     /* unsigned: the line each row came from */
	struct prefix_table *seen;    /* prefix -> row, for duplicates */
	struct admin_progress progress;
	bool replace;
	size_t before, after;         /* rows in the table before and after */
	size_t imported;              /* rows of the file */
};

/* ---- fields ---- */

/* Spaces around a field are how people line up CSV by hand, not data. */
static void trim_fields(char **f, int nf)
{
	for (int i = 0; i < nf; i++) {
		char *s = f[i], *e = s + strlen(s);

		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		f[i] = s;
	}
}

/* The optional header: the first data line, starting with a column name. */
static bool is_header(const struct fraud_import *im, const char *first, const char *name,
		      const char *alias)
{
	return im->file.data_lines == 1 &&
	       (strcasecmp(first, name) == 0 || (alias && strcasecmp(first, alias) == 0));
}

/* The line's number or prefix as E.164 into out; false when reported. */
static bool line_prefix(struct fraud_import *im, unsigned no, const char *text, char *out)
{
	char why[256];

	if (fraud_cli_prefix(im->np, text, out, why, sizeof(why)) == 0)
		return true;
	import_error(&im->file, no, "%s", why);
	return false;
}

/* Add a checked record to the rows, unless the file has its prefix
 * already (in whatever spelling `written`). */
static void stage(struct fraud_import *im, unsigned no, const char *written, const void *rec)
{
	const char *prefix = (const char *)rec + im->ops->prefix_offset;
	char shown[NUM_DIALLED_MAX + 8];
	uint32_t first;
	int err = prefix_table_add(im->seen, prefix, (uint32_t)im->rows.n, &first);

	if (err == EEXIST) {
		import_error(&im->file, no, "'%s' is %s, which line %u lists already",
			     admin_printable(written, shown, sizeof(shown)), prefix,
			     *(const unsigned *)prefix_list_at(&im->lines, first));
		return;
	}
	if (!err)
		err = prefix_list_push(&im->rows, rec);
	if (!err)
		err = prefix_list_push(&im->lines, &no);
	if (err == ENOSPC || err == E2BIG)
		import_error(&im->file, no, "more than %zu %s in the file, the most that are "
			     "kept", im->ops->max, im->ops->noun);
	else if (err)
		import_error(&im->file, no, "%s", strerror(err));
}

/* ---- blacklist lines: number,reason ---- */

static void blacklist_line(struct import_file *file, unsigned no, char **f, int nf, void *arg)
{
	struct fraud_import *im = arg;
	struct blacklist_record rec = { .dir = *(const enum blacklist_dir *)im->key };
	const char *reason;
	char why[160];

	trim_fields(f, nf);
	reason = nf > 1 ? f[1] : "";
	if (is_header(im, f[0], "number", "prefix"))
		return;
	if (!line_prefix(im, no, f[0], rec.prefix))
		return;
	if (fraud_cli_reason(reason, why, sizeof(why)) != 0) {
		import_error(file, no, "%s", why);
		return;
	}
	snprintf(rec.reason, sizeof(rec.reason), "%s", reason);
	stage(im, no, f[0], &rec);
}

/* ---- rate lines: prefix,price_per_minute,connection_charge,currency ---- */

static const char *const rate_fields[] = {
	"prefix", "price_per_minute", "connection_charge", "currency",
};

static bool line_price(struct fraud_import *im, unsigned no, int field, const char *text,
		       int64_t *micro)
{
	char shown[RATE_PRICE_TEXT_MAX + 8];
	const char *why = NULL;

	if (rating_parse_price(text, strlen(text), micro, &why) == 0)
		return true;
	import_error(&im->file, no, "%s '%s' %s", rate_fields[field],
		     admin_printable(text, shown, sizeof(shown)), why);
	return false;
}

/* ISO 4217 in any case, and the one rates are kept in. */
static bool line_currency(struct fraud_import *im, unsigned no, const char *text, char out[4])
{
	const char *want = im->ctx->conf->currency;
	char shown[16];
	int i;

	for (i = 0; i < 3 && text[i]; i++) {
		if ((text[i] | 0x20) < 'a' || (text[i] | 0x20) > 'z')
			break;
		out[i] = (char)(text[i] & ~0x20);
	}
	out[3] = '\0';
	if (i < 3 || text[3]) {
		import_error(&im->file, no, "currency '%s' is not an ISO 4217 code: write three "
			     "letters, such as %s", admin_printable(text, shown, sizeof(shown)), want);
		return false;
	}
	if (strcmp(out, want) == 0)
		return true;
	import_error(&im->file, no, "currency %s is not %s, the [credit] currency: rates are kept "
		     "in one currency, so convert the prices or change [credit] currency", out, want);
	return false;
}

static void rate_line(struct import_file *file, unsigned no, char **f, int nf, void *arg)
{
	struct fraud_import *im = arg;
	struct rate_record rec = { .per_minute = 0 };

	trim_fields(f, nf);
	if (is_header(im, f[0], "prefix", NULL))
		return;
	if (nf < 4) {
		import_error(file, no, "missing the %s field: the columns are %s", rate_fields[nf],
			     im->ops->columns);
		return;
	}
	if (!line_prefix(im, no, f[0], rec.prefix) ||
	    !line_price(im, no, 1, f[1], &rec.per_minute) ||
	    !line_price(im, no, 2, f[2], &rec.connection) ||
	    !line_currency(im, no, f[3], rec.currency))
		return;
	stage(im, no, f[0], &rec);
}

/* ---- the tables ---- */

static int blacklist_count_of(struct store *s, const void *key, size_t *n)
{
	return store_blacklist_count(s, *(const enum blacklist_dir *)key, n);
}

static int blacklist_clear_of(struct store *s, const void *key)
{
	return store_blacklist_clear(s, *(const enum blacklist_dir *)key);
}

static int blacklist_put_of(struct store *s, const void *rec)
{
	return store_blacklist_put(s, rec);
}

static int rate_count_of(struct store *s, const void *key, size_t *n)
{
	(void)key;
	return store_rate_count(s, n);
}

static int rate_clear_of(struct store *s, const void *key)
{
	(void)key;
	return store_rate_clear(s);
}

static int rate_put_of(struct store *s, const void *rec)
{
	return store_rate_put(s, rec);
}

static const struct table_ops blacklist_ops = {
	.command = "blacklist import",
	.columns = "number,reason",
	.noun = "entries",
	.fields = 2,
	.max = RF_MAX_BLACKLIST,
	.rec_size = sizeof(struct blacklist_record),
	.prefix_offset = offsetof(struct blacklist_record, prefix),
	.check = blacklist_line,
	.count = blacklist_count_of,
	.clear = blacklist_clear_of,
	.put = blacklist_put_of,
};

static const struct table_ops rate_ops = {
	.command = "rates import",
	.columns = "prefix,price_per_minute,connection_charge,currency",
	.noun = "rates",
	.fields = 4,
	.max = RF_MAX_RATES,
	.rec_size = sizeof(struct rate_record),
	.prefix_offset = offsetof(struct rate_record, prefix),
	.check = rate_line,
	.count = rate_count_of,
	.clear = rate_clear_of,
	.put = rate_put_of,
};

/* ---- running an import ---- */

static int write_tx(struct store *s, const void *arg)
{
	struct fraud_import *im = (struct fraud_import *)arg;
	const struct table_ops *ops = im->ops;
	int err = ops->count(s, im->key, &im->before);

	if (!err && im->replace)
		err = ops->clear(s, im->key);
	for (size_t i = 0; !err && i < im->rows.n; i++) {
		err = ops->put(s, prefix_list_at(&im->rows, i));
		admin_progress(&im->progress, "writing", i + 1, im->rows.n);
	}
	if (!err)
		err = ops->count(s, im->key, &im->after);
	/* Merged, the table could outgrow what the daemon loads. */
	if (!err && im->after > ops->max)
		err = ENOSPC;
	return err;
}

static int import_write(struct fraud_import *im, const char *table, struct admin_reply *r)
{
	int err = store_atomic(im->ctx->store, write_tx, im);

	if (err == ENOSPC)
		return admin_reply_error(r, ADMIN_FAILED, "the %s would hold %zu %s, more than "
					 "the %zu the daemon loads; nothing was imported", table,
					 im->after, im->ops->noun, im->ops->max);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot import %s: %s; nothing was "
					 "imported", im->file.name, strerror(err));
	return ADMIN_OK;
}

static void import_report(struct fraud_import *im, const char *table, struct admin_reply *r)
{
	size_t n = im->rows.n, added = im->after - im->before;
	const char *noun = im->ops->noun;

	if (im->replace)
		admin_reply_note(r, "the %s now holds the %zu %s of %s (it held %zu)", table, n,
				 noun, im->file.name, im->before);
	else
		admin_reply_note(r, "%zu %s imported from %s into the %s: %zu new, %zu updated; "
				 "it holds %zu", n, noun, im->file.name, table, added, n - added,
				 im->after);
}

static int import_check(struct fraud_import *im, struct admin_reply *r)
{
	int st = fraud_cli_plan(im->ctx, &im->np, r);

	if (st != ADMIN_OK)
		return st;
	im->rows.size = im->ops->rec_size;
	im->rows.max = im->ops->max;
	im->lines.size = sizeof(unsigned);
	im->lines.max = im->ops->max;
	if (prefix_table_alloc(&im->seen, im->ops->max) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "out of memory");
	st = import_read(&im->file, im->ops->check, im, r);
	if (st != ADMIN_OK)
		return st;
	if (im->file.nerrors)
		return import_reply_errors(&im->file, r);
	if (im->rows.n == 0)
		return admin_reply_error(r, ADMIN_FAILED, "%s has no %s to import; nothing was "
					 "changed", im->file.name, im->ops->noun);
	return ADMIN_OK;
}

static int import_run(struct fraud_import *im, const char *table, struct admin_reply *r)
{
	int st;

	admin_progress_begin(&im->progress, im->ctx->progress, im->ops->command);
	im->file.columns = im->ops->columns;
	im->file.max_fields = (int)im->ops->fields;
	/* Room for a header and comments beyond the entries themselves. */
	im->file.max_lines = (unsigned)im->ops->max + FRAUD_IMPORT_EXTRA_LINES;
	im->file.max_bytes = FRAUD_IMPORT_MAX_BYTES;
	im->file.progress = &im->progress;
	st = import_check(im, r);
	if (st == ADMIN_OK)
		st = import_write(im, table, r);
	admin_progress_end(&im->progress);
	im->imported = im->rows.n;
	if (st == ADMIN_OK)
		import_report(im, table, r);
	numplan_free(im->np);
	prefix_table_free(im->seen);
	prefix_list_free(&im->rows);
	prefix_list_free(&im->lines);
	return st;
}

int cmd_blacklist_import(const struct admin_cmd *cmd, struct admin_ctx *ctx,
			 const struct admin_args *a, struct admin_reply *r)
{
	enum blacklist_dir dir = admin_flag(cmd, a, "--caller") ? BLACKLIST_CALLER
								 : BLACKLIST_DEST;
	struct fraud_import im = {
		.file.name = a->pos[0],
		.ctx = ctx,
		.ops = &blacklist_ops,
		.key = &dir,
		.replace = admin_flag(cmd, a, "--replace"),
	};
	int st = import_run(&im, fraud_cli_list_name(dir), r);

	if (st == ADMIN_OK)
		fraud_cli_log(ctx, &(struct fraud_event){ .name = "blacklist_imported",
			      .dir = blacklist_dir_name(dir), .entries = (long long)im.imported,
			      .mode = im.replace ? "replace" : "merge" });
	return st;
}

int cmd_rates_import(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		     const struct admin_args *a, struct admin_reply *r)
{
	struct fraud_import im = {
		.file.name = a->pos[0],
		.ctx = ctx,
		.ops = &rate_ops,
		.replace = admin_flag(cmd, a, "--replace"),
	};
	int st = import_run(&im, "rate table", r);

	if (st == ADMIN_OK)
		fraud_cli_log(ctx, &(struct fraud_event){ .name = "rates_imported",
			      .entries = (long long)im.imported,
			      .mode = im.replace ? "replace" : "merge" });
	return st;
}
