/* ext import FILE: many extensions at once, all or nothing.
 *
 * The file is CSV (RFC 4180 quoting), one extension per line:
 * `extension,password,name,srtp,cos,allow,countries,caller_id,daily_cap,
 * monthly_cap`. Only the first two are needed: a field that is empty or
 * missing takes the default of ext add, and an empty password means
 * "generate one". The policy columns are checked as ext add checks its
 * options, in the same words. Blank lines and lines starting with '#' are
 * skipped, and so is a first line that starts `extension,password`. Every
 * line is checked first (the extension, duplicates in the file and in the
 * directory, the password policy, the name, the srtp mode, the policy);
 * one bad line and nothing is imported, with every bad line reported as
 * FILE:LINE: reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/cmd_ext_policy.h"
#include "admin/import.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/secret.h"
#include "core/strmap.h"
#include "fraud/numplan.h"
#include "guard/pwpolicy.h"
#include "guard/secevent.h"
#include "sip/digest.h"
#include "store/store.h"

/* The columns, in order; the policy's follow srtp. */
enum import_col { COL_EXT, COL_PASSWORD, COL_NAME, COL_SRTP, COL_POLICY };
#define IMPORT_FIELDS (COL_POLICY + EXT_POLICY_FIELDS)
#define IMPORT_COLUMNS "extension,password,name,srtp,cos,allow,countries,caller_id," \
	"daily_cap,monthly_cap"
#define IMPORT_MAX_BYTES (8u << 20) /* the whole file; 100,000 lines fit */
#define IMPORT_MAX_LINES 100000u  /* far beyond any PBX; bounds the work */
#define IMPORT_PW_MAX 128
#define IMPORT_GEN_PW_LEN 24

struct import_row {
	struct ext_record rec;
	char password[IMPORT_PW_MAX + 1];
	bool generated;
	unsigned line;
	struct strmap_node node;   /* in import.by_ext */
};

struct import {
	struct import_file file;
	struct admin_ctx *ctx;
	struct import_row *rows;
	size_t n, cap;
	struct strmap by_ext;      /* the rows staged so far, by extension */
	struct numplan *np;        /* loaded for the first line that needs it */
};

static const struct import_row *import_find(const struct import *im, const char *ext)
{
	struct strmap_node *n = strmap_find(&im->by_ext, ext, strlen(ext));

	return n ? strmap_entry(n, struct import_row, node) : NULL;
}

/* Growing the array moves the rows, and with them the map's nodes: they
 * are indexed again in a map made first, so that nothing can fail once
 * they moved. Doubling keeps that linear overall. The old array holds
 * passwords, so it is wiped rather than left to realloc. */
static struct import_row *import_row_new(struct import *im)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 64;
		struct import_row *p;
		struct strmap map;

		if (strmap_init(&map, cap) != 0)
			return NULL;
		p = malloc(cap * sizeof(*p));
		if (!p) {
			strmap_destroy(&map);
			return NULL;
		}
		if (im->n) {
			memcpy(p, im->rows, im->n * sizeof(*p));
			secret_wipe(im->rows, im->cap * sizeof(*p));
		}
		free(im->rows);
		im->rows = p;
		im->cap = cap;
		strmap_destroy(&im->by_ext);
		im->by_ext = map;
		for (size_t i = 0; i < im->n; i++)
			strmap_insert(&im->by_ext, &p[i].node, p[i].rec.ext, strlen(p[i].rec.ext));
	}
	memset(&im->rows[im->n], 0, sizeof(im->rows[0]));
	return &im->rows[im->n];
}

/* Count a staged row in, and in the index. */
static void import_row_keep(struct import *im, struct import_row *row)
{
	strmap_insert(&im->by_ext, &row->node, row->rec.ext, strlen(row->rec.ext));
	im->n++;
}

static bool import_name_ok(const char *name)
{
	if (strlen(name) > EXT_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* The optional fourth field; empty or missing is the default of ext add. */
static int import_srtp(struct import *im, unsigned no, int nf, char **f,
		       enum ext_srtp *srtp)
{
	char shown[40];

	*srtp = EXT_SRTP_OPTIONAL;
	if (nf <= COL_SRTP || f[COL_SRTP][0] == '\0' || ext_srtp_parse(f[COL_SRTP], srtp) == 0)
		return 0;
	admin_printable(f[COL_SRTP], shown, sizeof(shown));
	import_error(&im->file, no, "srtp '%s' is not a mode: use required, optional or off", shown);
	return EINVAL;
}

/* The policy columns; empty or missing is the default of ext add. The
 * numbering plan is loaded once, for the first line that needs it. */
static int import_policy(struct import *im, unsigned no, int nf, char **f,
			 struct ext_policy_args *p)
{
	const char *v[EXT_POLICY_FIELDS] = { 0 };
	const char *err = NULL;
	char why[400];

	for (int i = 0; i < EXT_POLICY_FIELDS && COL_POLICY + i < nf; i++)
		v[i] = f[COL_POLICY + i][0] ? f[COL_POLICY + i] : NULL;
	if (!im->np && ext_policy_needs_numplan(v) &&
	    numplan_alloc(&im->np, im->ctx->conf->numbering_country, &err) != 0) {
		import_error(&im->file, no, "cannot load the numbering plan %s: %s",
			     im->ctx->conf->numbering_country, err ? err : "unknown error");
		return EINVAL;
	}
	if (ext_policy_check(im->ctx->conf, im->np, v, ext_policy_columns, p, why,
			     sizeof(why)) == 0)
		return 0;
	import_error(&im->file, no, "%s", why);
	return EINVAL;
}

/* Check one line's fields and stage it. */
static void import_line(struct import_file *file, unsigned no, char **f, int nf,
			void *arg)
{
	struct import *im = arg;
	const struct import_row *first;
	struct ext_policy_args policy;
	struct import_row *row;
	char why[256], shown[80];
	const char *ext = f[COL_EXT];
	enum ext_srtp srtp;

	if (no == 1 && nf >= 2 && strcmp(f[COL_EXT], "extension") == 0 &&
	    strcmp(f[COL_PASSWORD], "password") == 0)
		return; /* the header line */
	if (!admin_ext_valid(ext, why, sizeof(why))) {
		import_error(file, no, "%s", why);
		return;
	}
	admin_printable(ext, shown, sizeof(shown));
	if ((first = import_find(im, ext)) != NULL) {
		import_error(file, no, "extension %s is listed twice (first on line %u)", shown,
			     first->line);
		return;
	}
	if (store_ext_get(im->ctx->store, ext, &(struct ext_record){0}) == 0) {
		import_error(file, no, "extension %s already exists", shown);
		return;
	}
	if (nf <= COL_PASSWORD) {
		import_error(file, no, "missing the password field (empty means: generate one)");
		return;
	}
	if (nf > COL_NAME && !import_name_ok(f[COL_NAME])) {
		import_error(file, no, "name too long or with a control character");
		return;
	}
	if (import_srtp(im, no, nf, f, &srtp) != 0 || import_policy(im, no, nf, f, &policy) != 0)
		return;
	if (strlen(f[COL_PASSWORD]) > IMPORT_PW_MAX) {
		import_error(file, no, "password refused: longer than %d characters", IMPORT_PW_MAX);
		return;
	}
	/* The reason never repeats the password itself. */
	if (f[COL_PASSWORD][0] &&
	    pwpolicy_check_password(ext, f[COL_PASSWORD], why, sizeof(why)) != 0) {
		import_error(file, no, "password refused: %s", why);
		return;
	}
	row = import_row_new(im);
	if (!row) {
		import_error(file, no, "out of memory");
		return;
	}
	snprintf(row->rec.ext, sizeof(row->rec.ext), "%s", ext);
	snprintf(row->rec.name, sizeof(row->rec.name), "%s", nf > COL_NAME ? f[COL_NAME] : "");
	row->rec.srtp = srtp;
	ext_policy_apply(&policy, &row->rec);
	row->line = no;
	if (f[COL_PASSWORD][0]) {
		snprintf(row->password, sizeof(row->password), "%s", f[COL_PASSWORD]);
	} else if (secret_password(row->password, IMPORT_GEN_PW_LEN) == 0) {
		row->generated = true;
	} else {
		import_error(file, no, "cannot generate a password: no randomness");
		return;
	}
	import_row_keep(im, row);
}

static int import_commit(struct import *im, struct admin_ctx *ctx, struct admin_reply *r,
			 struct admin_progress *progress)
{
	int err = store_begin(ctx->store);

	for (size_t i = 0; !err && i < im->n; i++) {
		struct import_row *row = &im->rows[i];

		digest_ha1_compute(row->rec.ext, ctx->conf->realm, row->password, &row->rec.ha1);
		err = store_ext_add(ctx->store, &row->rec);
		secret_wipe(&row->rec.ha1, sizeof(row->rec.ha1));
		admin_progress(progress, "writing", i + 1, im->n);
	}
	if (!err)
		err = store_commit(ctx->store);
	if (err) {
		store_rollback(ctx->store);
		return admin_reply_error(r, ADMIN_FAILED, "cannot import %s: %s; nothing was imported",
					 im->file.name, strerror(err));
	}
	return ADMIN_OK;
}

static void import_report(struct import *im, struct admin_ctx *ctx, struct admin_reply *r)
{
	static const struct admin_column cols[] = {
		{"ext", "EXTENSION"}, {"password", "PASSWORD"},
	};
	size_t generated = 0;

	admin_reply_table(r, cols, 2);
	for (size_t i = 0; i < im->n; i++) {
		struct secev e;

		secev_begin(&e, "ext_added");
		secev_untrusted(&e, "ext", im->rows[i].rec.ext, strlen(im->rows[i].rec.ext));
		secev_token(&e, "by", ctx->by ? ctx->by : "cli");
		secev_token(&e, "via", "import");
		secev_emit(&e);
		if (!im->rows[i].generated)
			continue;
		admin_reply_record(r);
		admin_reply_str(r, "ext", im->rows[i].rec.ext);
		admin_reply_str(r, "password", im->rows[i].password);
		generated++;
	}
	admin_reply_note(r, "%zu extensions imported from %s", im->n, im->file.name);
	if (generated)
		admin_reply_note(r, "Store the %zu generated passwords now: they are shown only once.",
				 generated);
}

static int import_run(struct import *im, struct admin_ctx *ctx, struct admin_reply *r,
		      struct admin_progress *progress)
{
	int st;

	if (strmap_init(&im->by_ext, 64) != 0)
		return admin_reply_error(r, ADMIN_FAILED, "cannot import %s: out of memory",
					 im->file.name);
	st = import_read(&im->file, import_line, im, r);

	if (st != ADMIN_OK)
		return st;
	if (im->file.nerrors)
		return import_reply_errors(&im->file, r);
	if (im->n == 0)
		return admin_reply_error(r, ADMIN_FAILED, "%s has no extensions to import",
					 im->file.name);
	st = import_commit(im, ctx, r, progress);
	if (st == ADMIN_OK)
		import_report(im, ctx, r);
	return st;
}

int cmd_ext_import(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct admin_progress progress;
	struct import im = {
		.ctx = ctx,
		.file = {
			.name = a->pos[0],
			.columns = IMPORT_COLUMNS,
			.max_fields = IMPORT_FIELDS,
			.max_lines = IMPORT_MAX_LINES,
			.max_bytes = IMPORT_MAX_BYTES,
			.progress = &progress,
		},
	};
	int st;

	(void)cmd;
	admin_progress_begin(&progress, ctx->progress, "ext import");
	st = import_run(&im, ctx, r, &progress);
	admin_progress_end(&progress);
	strmap_destroy(&im.by_ext);
	numplan_free(im.np);
	if (im.rows)
		secret_wipe(im.rows, im.cap * sizeof(*im.rows));
	free(im.rows);
	return st;
}
