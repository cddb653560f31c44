/* The CSV file reader of the import commands: the whole file, line by
 * line, with every bad line collected for one all-or-nothing verdict. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/csv.h"
#include "admin/import.h"
#include "core/secret.h"

void import_error(struct import_file *im, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int n;

	if (im->nerrors++ >= IMPORT_MAX_REPORTED)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(im->errors + im->errlen, sizeof(im->errors) - im->errlen,
		     "\n  %s:%u: %s", im->name, line, msg);
	if (n > 0 && (size_t)n < sizeof(im->errors) - im->errlen)
		im->errlen += (size_t)n;
}

int import_reply_errors(const struct import_file *im, struct admin_reply *r)
{
	return admin_reply_error(r, ADMIN_FAILED, "%u bad line%s in %s; nothing was imported:%s%s",
				 im->nerrors, im->nerrors == 1 ? "" : "s", im->name, im->errors,
				 im->nerrors > IMPORT_MAX_REPORTED ? "\n  ..." : "");
}

/* The whole file, up to max_bytes. */
static char *slurp(FILE *in, size_t max_bytes, size_t *len, const char **why)
{
	char *buf = malloc(max_bytes + 1);
	size_t n;

	if (!buf) {
		*why = "out of memory";
		return NULL;
	}
	n = fread(buf, 1, max_bytes + 1, in);
	if (ferror(in) || n > max_bytes) {
		*why = ferror(in) ? "read error" : "file too large";
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* One physical line (NUL-terminated in place, its CR dropped): split it
 * and hand it on, or report why not. */
static void read_line(struct import_file *im, unsigned no, char *line, size_t len,
		      import_line_fn check, void *arg)
{
	char *f[IMPORT_MAX_FIELDS];
	const char *why = NULL;
	int nf;

	if (memchr(line, '\0', len)) {
		import_error(im, no, "NUL byte in the line");
		return;
	}
	if (len > IMPORT_LINE_MAX) {
		import_error(im, no, "line longer than %d characters", IMPORT_LINE_MAX);
		return;
	}
	line[len] = '\0';
	if (len && line[len - 1] == '\r')
		line[len - 1] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return;
	nf = csv_split(line, f, im->max_fields, &why);
	if (nf < 0 && im->columns && strcmp(why, CSV_TOO_MANY) == 0) {
		import_error(im, no, "%s: the columns are %s (quote a field that holds a comma)",
			     why, im->columns);
		return;
	}
	if (nf < 0) {
		import_error(im, no, "%s", why);
		return;
	}
	im->data_lines++;
	check(im, no, f, nf, arg);
}

static void read_lines(struct import_file *im, char *buf, size_t len, import_line_fn check,
		       void *arg)
{
	char *line = buf, *end = buf + len, *nl;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		if (++im->lines > im->max_lines) {
			import_error(im, im->lines, "more than %u lines", im->max_lines);
			return;
		}
		read_line(im, im->lines, line, (size_t)(nl - line), check, arg);
		if (im->progress)
			admin_progress(im->progress, "checking", (size_t)(nl - buf), len);
	}
}

int import_read(struct import_file *im, import_line_fn check, void *arg,
		struct admin_reply *r)
{
	const char *why = NULL;
	size_t len = 0;
	char *buf;
	FILE *in;

	if (im->max_fields < 1 || im->max_fields > IMPORT_MAX_FIELDS)
		return admin_reply_error(r, ADMIN_FAILED, "%s: bad field count", im->name);
	in = strcmp(im->name, "-") == 0 ? stdin : fopen(im->name, "r");
	if (!in)
		return admin_reply_error(r, ADMIN_FAILED, "cannot open %s: %s", im->name,
					 strerror(errno));
	buf = slurp(in, im->max_bytes, &len, &why);
	if (in != stdin)
		fclose(in);
	if (!buf && strcmp(why, "file too large") == 0)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read %s: larger than %zu MiB",
					 im->name, im->max_bytes >> 20);
	if (!buf)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read %s: %s", im->name, why);
	read_lines(im, buf, len, check, arg);
	secret_wipe(buf, len);
	free(buf);
	return ADMIN_OK;
}
