/* Reading a CSV file for the import commands (ext import, blacklist
 * import, rates import), which are all or nothing: every line is checked
 * before anything is written, and every bad line is reported as
 * FILE:LINE: reason, up to IMPORT_MAX_REPORTED of them.
 *
 * The file is read whole, up to its command's byte limit, so NUL bytes and
 * over-long lines are seen for what they are instead of being cut. Blank
 * lines and lines starting with '#' are skipped; CRLF line ends are read
 * as LF. Each other line is split (admin/csv.h) and handed to the
 * command's own check. */
#ifndef RF_ADMIN_IMPORT_H
#define RF_ADMIN_IMPORT_H

#include <stddef.h>

#include "admin/reply.h"
#include "admin/util.h"

#define IMPORT_LINE_MAX 1024     /* characters of one line, its end excluded */
#define IMPORT_MAX_REPORTED 20   /* bad lines listed before "..." */
#define IMPORT_MAX_FIELDS 12

struct import_file {
	/* Set by the command. */
	const char *name;        /* as the user gave it; "-" is standard input */
	const char *columns;     /* "number,reason": named when a line has too many */
	int max_fields;          /* at most IMPORT_MAX_FIELDS */
	unsigned max_lines;
	size_t max_bytes;
	struct admin_progress *progress; /* the checking phase's; may be NULL */
	/* Set by import_read. */
	unsigned lines;          /* lines in the file */
	unsigned data_lines;     /* lines handed to the check so far */
	unsigned nerrors;
	size_t errlen;
	char errors[IMPORT_MAX_REPORTED * 200];
};

/* One data line, split into nf fields (1..max_fields); `no` is its line
 * number. The check reports problems with import_error. */
typedef void (*import_line_fn)(struct import_file *im, unsigned no, char **f, int nf,
			       void *arg);

/* Read im->name and hand each data line to check. Lines too long, with a
 * NUL byte or with broken quoting are reported without reaching check.
 * The buffer is wiped before it is freed: ext import files hold
 * passwords. Returns ADMIN_OK, or ADMIN_FAILED with the error in r when
 * the file cannot be opened or read or is larger than max_bytes. */
int import_read(struct import_file *im, import_line_fn check, void *arg,
		struct admin_reply *r);

/* Report a bad line. fmt must not repeat a secret from the line. */
void import_error(struct import_file *im, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fail the reply with every bad line: "N bad lines in FILE; nothing was
 * imported:" and the list. Returns ADMIN_FAILED. */
int import_reply_errors(const struct import_file *im, struct admin_reply *r);

#endif
