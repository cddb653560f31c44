/* ext import FILE: many extensions at once, all or nothing.
 *
 * The file is CSV (RFC 4180 quoting): `extension,password,name,srtp`, one
 * extension per line; name and srtp are optional (srtp empty or missing
 * means optional), an empty password means "generate one". Blank lines and
 * lines starting with '#' are skipped, and so is a first line that starts
 * `extension,password`. Every line is checked first (the extension,
 * duplicates in the file and in the directory, the password policy, the
 * name, the srtp mode); one bad line and nothing is imported, with every
 * bad line reported as FILE:LINE: reason. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/csv.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/secret.h"
#include "guard/pwpolicy.h"
#include "guard/secevent.h"
#include "sip/digest.h"
#include "store/store.h"

#define IMPORT_LINE_MAX 1024      /* an extension, a password, a name, a mode */
#define IMPORT_FIELDS 4           /* extension,password,name,srtp */
#define IMPORT_MAX_BYTES (8u << 20) /* the whole file; 100,000 lines fit */
#define IMPORT_MAX_LINES 100000u  /* far beyond any PBX; bounds the work */
#define IMPORT_MAX_REPORTED 20    /* bad lines listed before "and N more" */
#define IMPORT_PW_MAX 128
#define IMPORT_GEN_PW_LEN 24

struct import_row {
	struct ext_record rec;
	char password[IMPORT_PW_MAX + 1];
	bool generated;
};

struct import {
	const char *file;
	struct import_row *rows;
	size_t n, cap;
	char errors[IMPORT_MAX_REPORTED * 200];
	size_t errlen;
	unsigned nerrors;
};

static void import_error(struct import *im, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void import_error(struct import *im, unsigned line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	int n;

	if (im->nerrors++ >= IMPORT_MAX_REPORTED)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(im->errors + im->errlen, sizeof(im->errors) - im->errlen,
		     "\n  %s:%u: %s", im->file, line, msg);
	if (n > 0 && (size_t)n < sizeof(im->errors) - im->errlen)
		im->errlen += (size_t)n;
}

static bool import_has(const struct import *im, const char *ext)
{
	for (size_t i = 0; i < im->n; i++) {
		if (strcmp(im->rows[i].rec.ext, ext) == 0)
			return true;
	}
	return false;
}

static struct import_row *import_row_new(struct import *im)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 64;
		struct import_row *p = realloc(im->rows, cap * sizeof(*p));

		if (!p)
			return NULL;
		im->rows = p;
		im->cap = cap;
	}
	memset(&im->rows[im->n], 0, sizeof(im->rows[0]));
	return &im->rows[im->n];
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
	if (nf < 4 || f[3][0] == '\0' || ext_srtp_parse(f[3], srtp) == 0)
		return 0;
	admin_printable(f[3], shown, sizeof(shown));
	import_error(im, no, "srtp '%s' is not a mode: use required, optional or off", shown);
	return EINVAL;
}

/* Check one line's fields and stage it. */
static void import_line(struct import *im, struct admin_ctx *ctx, unsigned no,
			char **f, int nf)
{
	struct import_row *row;
	char why[256], shown[80];
	const char *ext = f[0];
	enum ext_srtp srtp;

	if (!admin_ext_valid(ext, why, sizeof(why))) {
		import_error(im, no, "%s", why);
		return;
	}
	admin_printable(ext, shown, sizeof(shown));
	if (import_has(im, ext)) {
		import_error(im, no, "extension %s is listed twice", shown);
		return;
	}
	if (store_ext_get(ctx->store, ext, &(struct ext_record){0}) == 0) {
		import_error(im, no, "extension %s already exists", shown);
		return;
	}
	if (nf < 2) {
		import_error(im, no, "missing the password field (empty means: generate one)");
		return;
	}
	if (nf >= 3 && !import_name_ok(f[2])) {
		import_error(im, no, "name too long or with a control character");
		return;
	}
	if (import_srtp(im, no, nf, f, &srtp) != 0)
		return;
	if (strlen(f[1]) > IMPORT_PW_MAX) {
		import_error(im, no, "password refused: longer than %d characters", IMPORT_PW_MAX);
		return;
	}
	/* The reason never repeats the password itself. */
	if (f[1][0] && pwpolicy_check_password(ext, f[1], why, sizeof(why)) != 0) {
		import_error(im, no, "password refused: %s", why);
		return;
	}
	row = import_row_new(im);
	if (!row) {
		import_error(im, no, "out of memory");
		return;
	}
	snprintf(row->rec.ext, sizeof(row->rec.ext), "%s", ext);
	snprintf(row->rec.name, sizeof(row->rec.name), "%s", nf >= 3 ? f[2] : "");
	row->rec.srtp = srtp;
	if (f[1][0]) {
		snprintf(row->password, sizeof(row->password), "%s", f[1]);
	} else if (secret_password(row->password, IMPORT_GEN_PW_LEN) == 0) {
		row->generated = true;
	} else {
		import_error(im, no, "cannot generate a password: no randomness");
		return;
	}
	im->n++;
}

static bool import_is_header(unsigned no, char **f, int nf)
{
	return no == 1 && nf >= 2 && strcmp(f[0], "extension") == 0 &&
	       strcmp(f[1], "password") == 0;
}

/* The whole file, up to IMPORT_MAX_BYTES, so NUL bytes and over-long
 * lines are seen for what they are instead of being cut silently. */
static char *import_slurp(FILE *in, size_t *len, const char **why)
{
	char *buf = malloc(IMPORT_MAX_BYTES + 1);
	size_t n;

	if (!buf) {
		*why = "out of memory";
		return NULL;
	}
	n = fread(buf, 1, IMPORT_MAX_BYTES + 1, in);
	if (ferror(in) || n > IMPORT_MAX_BYTES) {
		*why = ferror(in) ? "read error" : "file larger than 8 MiB";
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void import_read(struct import *im, struct admin_ctx *ctx, char *buf, size_t len)
{
	char *line = buf, *end = buf + len, *nl, *f[IMPORT_FIELDS];
	const char *why = NULL;
	unsigned no = 0;
	int nf;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		if (++no > IMPORT_MAX_LINES) {
			import_error(im, no, "more than %u lines", IMPORT_MAX_LINES);
			return;
		}
		if (memchr(line, '\0', (size_t)(nl - line))) {
			import_error(im, no, "NUL byte in the line");
			continue;
		}
		if (nl - line > IMPORT_LINE_MAX) {
			import_error(im, no, "line longer than %d characters", IMPORT_LINE_MAX);
			continue;
		}
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		nf = csv_split(line, f, IMPORT_FIELDS, &why);
		if (nf < 0) {
			import_error(im, no, "%s", why);
			continue;
		}
		if (import_is_header(no, f, nf))
			continue;
		import_line(im, ctx, no, f, nf);
	}
}

static int import_commit(struct import *im, struct admin_ctx *ctx, struct admin_reply *r)
{
	int err = store_begin(ctx->store);

	for (size_t i = 0; !err && i < im->n; i++) {
		struct import_row *row = &im->rows[i];

		digest_ha1_compute(row->rec.ext, ctx->conf->realm, row->password, &row->rec.ha1);
		err = store_ext_add(ctx->store, &row->rec);
		secret_wipe(&row->rec.ha1, sizeof(row->rec.ha1));
	}
	if (!err)
		err = store_commit(ctx->store);
	if (err) {
		store_rollback(ctx->store);
		return admin_reply_error(r, ADMIN_FAILED, "cannot import %s: %s; nothing was imported",
					 im->file, strerror(err));
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
	admin_reply_note(r, "%zu extensions imported from %s", im->n, im->file);
	if (generated)
		admin_reply_note(r, "Store the %zu generated passwords now: they are shown only once.",
				 generated);
}

int cmd_ext_import(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	struct import im = {.file = a->pos[0]};
	const char *why = NULL;
	size_t len = 0;
	char *buf;
	FILE *in;
	int st;

	(void)cmd;
	in = strcmp(im.file, "-") == 0 ? stdin : fopen(im.file, "r");
	if (!in)
		return admin_reply_error(r, ADMIN_FAILED, "cannot open %s: %s", im.file, strerror(errno));
	buf = import_slurp(in, &len, &why);
	if (in != stdin)
		fclose(in);
	if (!buf)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read %s: %s", im.file, why);
	import_read(&im, ctx, buf, len);
	secret_wipe(buf, len);
	free(buf);
	if (im.nerrors) {
		st = admin_reply_error(r, ADMIN_FAILED, "%u bad line%s in %s; nothing was imported:%s%s",
				       im.nerrors, im.nerrors == 1 ? "" : "s", im.file, im.errors,
				       im.nerrors > IMPORT_MAX_REPORTED ? "\n  ..." : "");
	} else if (im.n == 0) {
		st = admin_reply_error(r, ADMIN_FAILED, "%s has no extensions to import", im.file);
	} else if ((st = import_commit(&im, ctx, r)) == ADMIN_OK) {
		import_report(&im, ctx, r);
	}
	if (im.rows)
		secret_wipe(im.rows, im.cap * sizeof(*im.rows));
	free(im.rows);
	return st;
}
