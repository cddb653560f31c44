/* Numbering-plan tables: the strict reader of the data/numplan/ files and
 * the longest-prefix lookup over them.
 *
 * The files are CSV without quoting: the last field runs to the end of the
 * line, so a comment or a country's name may hold commas. Blank lines and
 * lines starting with '#' are skipped; the first other line must be the
 * header, exactly. A table is sorted once at load; a lookup is one binary
 * search per prefix length, at most NP_PREFIX_MAX of them. */
#include "fraud/numplan_table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NP_FIELDS_MAX 5

/* One row cut into its fields, pointing into the table text. */
struct np_row {
	const char *f[NP_FIELDS_MAX];
	size_t len[NP_FIELDS_MAX];
	unsigned line;
};

struct np_reader {
	const char *file;
	const char *header;         /* the exact header line */
	const char *column[NP_FIELDS_MAX]; /* its names, for errors */
	unsigned nfields;
	const struct np_profile *prof; /* range tables only */
	int (*parse_row)(struct np_reader *r, const struct np_row *row, struct np_entry *e);
	int (*check)(struct np_reader *r, const struct np_table *t);
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct np_reader *r, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = line ? snprintf(r->err, r->errlen, "%s:%u: ", r->file, line)
		 : snprintf(r->err, r->errlen, "%s: ", r->file);
	if (n < 0 || (size_t)n >= r->errlen)
		return EINVAL;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return EINVAL;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return n >= plen && memcmp(s, prefix, plen) == 0;
}

/* A length column: one or two digits (a 0 is refused by the range checks). */
static int parse_len(struct np_reader *r, const struct np_row *row, unsigned i,
		     unsigned char *out)
{
	const char *s = row->f[i];
	size_t n = row->len[i];

	if (n < 1 || n > 2 || !all_digits(s, n))
		return fail(r, row->line, "%s \"%.*s\" is not a number from 1 to 99",
			    r->column[i], (int)(n > 8 ? 8 : n), s);
	*out = (unsigned char)(n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0'));
	return 0;
}

/* Append field i, digits, to e's prefix. */
static int parse_prefix(struct np_reader *r, const struct np_row *row, unsigned i,
			size_t max, struct np_entry *e)
{
	size_t n = row->len[i];

	if (n > max || !all_digits(row->f[i], n))
		return fail(r, row->line, "%s \"%.*s\" must be digits, at most %zu",
			    r->column[i], (int)(n > 16 ? 16 : n), row->f[i], max);
	memcpy(e->prefix + e->plen, row->f[i], n);
	e->plen = (unsigned char)(e->plen + n);
	e->prefix[e->plen] = '\0';
	return 0;
}

static int parse_class(struct np_reader *r, const struct np_row *row, enum num_class *out)
{
	char word[16];
	size_t n = row->len[1];

	if (n >= sizeof(word))
		n = sizeof(word) - 1;
	memcpy(word, row->f[1], n);
	word[n] = '\0';
	if (n != row->len[1] || num_class_parse(word, out) != 0)
		return fail(r, row->line, "unknown class \"%s\"", word);
	if (*out == NUM_INVALID || *out == NUM_INTERNATIONAL)
		return fail(r, row->line, "class \"%s\" cannot be a range of this plan", word);
	return 0;
}

/* The longest number a range may hold: E.164's 15 digits less the country
 * code for a national range; below NUM_BARE_E164_MIN for a short code, as
 * longer bare digits are read as E.164. */
static unsigned range_len_cap(const struct np_profile *p, const struct np_entry *e)
{
	return e->skip ? NUM_E164_MAX - 1 - (unsigned)strlen(p->cc) : NUM_BARE_E164_MIN - 1;
}

static int check_range_lengths(struct np_reader *r, const struct np_row *row,
			       const struct np_entry *e)
{
	unsigned own = e->plen - e->skip, cap = range_len_cap(r->prof, e);

	if (own == 0)
		return fail(r, row->line, "prefix \"%s\" is only the national prefix", e->prefix);
	if (e->min_len < own)
		return fail(r, row->line, "min_nsn_len %u is shorter than the prefix's own %u digits",
			    e->min_len, own);
	if (e->max_len < e->min_len || e->max_len > cap)
		return fail(r, row->line, "max_nsn_len %u must be from min_nsn_len %u to %u",
			    e->max_len, e->min_len, cap);
	return 0;
}

/* prefix,class,min_nsn_len,max_nsn_len,comment */
static int parse_range_row(struct np_reader *r, const struct np_row *row, struct np_entry *e)
{
	const struct np_profile *p = r->prof;
	int err;

	err = parse_prefix(r, row, 0, NP_PREFIX_MAX, e);
	if (!err && e->plen == 0)
		err = fail(r, row->line, "empty prefix");
	if (!err && has_prefix(e->prefix, e->plen, p->intl))
		err = fail(r, row->line, "prefix \"%s\" starts with the international prefix %s",
			   e->prefix, p->intl);
	if (err)
		return err;
	e->skip = has_prefix(e->prefix, e->plen, p->national) ? (unsigned char)strlen(p->national) : 0;
	err = parse_class(r, row, &e->cls);
	if (!err)
		err = parse_len(r, row, 2, &e->min_len);
	if (!err)
		err = parse_len(r, row, 3, &e->max_len);
	return err ? err : check_range_lengths(r, row, e);
}

static bool is_iso2(const char *s, size_t n)
{
	return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static int parse_cc(struct np_reader *r, const struct np_row *row, struct np_entry *e)
{
	const char *s = row->f[0];
	size_t n = row->len[0];

	if (n < 1 || n > 3 || s[0] == '0' || !all_digits(s, n))
		return fail(r, row->line, "country code \"%.*s\" is not 1 to 3 digits without a leading 0",
			    (int)(n > 8 ? 8 : n), s);
	e->cc = (unsigned)strtoul(s, NULL, 10);
	e->cc_len = (unsigned char)n;
	return parse_prefix(r, row, 0, 3, e);
}

/* cc,area,iso2,name */
static int parse_code_row(struct np_reader *r, const struct np_row *row, struct np_entry *e)
{
	int err;

	err = parse_cc(r, row, e);
	if (!err)
		err = parse_prefix(r, row, 1, NP_PREFIX_MAX - e->cc_len, e);
	if (err)
		return err;
	if (row->len[2] != 0 && !is_iso2(row->f[2], row->len[2]))
		return fail(r, row->line, "iso2 \"%.*s\" is not two capital letters or empty",
			    (int)(row->len[2] > 8 ? 8 : row->len[2]), row->f[2]);
	if (row->len[3] == 0)
		return fail(r, row->line, "empty name");
	memcpy(e->iso2, row->f[2], row->len[2]);
	e->iso2[row->len[2]] = '\0';
	e->cls = NUM_INTERNATIONAL;
	return 0;
}

/* Order of a prefix against d[0..n): digit by digit, then shorter first,
 * so every prefix that starts with d follows d's own place. */
static int cmp_prefix(const struct np_entry *e, const char *d, size_t n)
{
	size_t m = e->plen < n ? e->plen : n;
	int c = memcmp(e->prefix, d, m);

	if (c != 0)
		return c;
	return (e->plen > n) - (e->plen < n);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct np_entry *x = a, *y = b;
	int c = cmp_prefix(x, y->prefix, y->plen);

	return c != 0 ? c : (x->min_len > y->min_len) - (x->min_len < y->min_len);
}

/* The first entry not ordered before d[0..n). */
static size_t lower_bound(const struct np_table *t, const char *d, size_t n)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_prefix(&t->e[mid], d, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t np_table_match(const struct np_table *t, const char *d, size_t n,
		      const struct np_entry **first)
{
	for (size_t k = n < t->max_plen ? n : t->max_plen; k > 0; k--) {
		size_t i = lower_bound(t, d, k), j = i;

		while (j < t->n && cmp_prefix(&t->e[j], d, k) == 0)
			j++;
		if (j > i) {
			*first = &t->e[i];
			return j - i;
		}
	}
	return 0;
}

bool np_table_extends(const struct np_table *t, const char *d, size_t n)
{
	size_t i = lower_bound(t, d, n);

	return i < t->n && t->e[i].plen >= n && memcmp(t->e[i].prefix, d, n) == 0;
}

/* Sorted, one prefix's lines are adjacent in order of min_len: each must
 * start after the one before it ends. */
static int check_ranges(struct np_reader *r, const struct np_table *t)
{
	for (size_t i = 1; i < t->n; i++) {
		const struct np_entry *a = &t->e[i - 1], *b = &t->e[i];

		if (strcmp(a->prefix, b->prefix) == 0 && b->min_len <= a->max_len)
			return fail(r, a->line > b->line ? a->line : b->line,
				    "prefix %s: lengths overlap those on line %u", a->prefix,
				    a->line > b->line ? b->line : a->line);
	}
	return 0;
}

/* Country codes are prefix-free (ITU-T E.164), and a line for a country
 * sharing a code needs the code's own line: both keep "the longest match
 * gives the code" true. */
static int check_codes(struct np_reader *r, const struct np_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct np_entry *e = &t->e[i], *m;
		bool whole = e->plen == e->cc_len;

		if (i > 0 && strcmp(e[-1].prefix, e->prefix) == 0)
			return fail(r, e->line > e[-1].line ? e->line : e[-1].line,
				    "code %s is also on line %u", e->prefix,
				    e->line > e[-1].line ? e[-1].line : e->line);
		if (!whole && (np_table_match(t, e->prefix, e->cc_len, &m) == 0 ||
			       m->plen != e->cc_len))
			return fail(r, e->line, "code %.*s has no line of its own", e->cc_len,
				    e->prefix);
		if (whole && np_table_match(t, e->prefix, e->plen - 1u, &m) > 0 &&
		    m->plen == m->cc_len)
			return fail(r, e->line, "code %s starts with code %s (line %u)", e->prefix,
				    m->prefix, m->line);
	}
	return 0;
}

/* Cut a row into r->nfields fields; the last takes the rest of the line. */
static int split_row(struct np_reader *r, const char *s, size_t n, struct np_row *row)
{
	const char *end = s + n;

	for (unsigned i = 0; i + 1 < r->nfields; i++) {
		const char *comma = memchr(s, ',', (size_t)(end - s));

		if (comma == NULL)
			return fail(r, row->line, "%u fields expected (%s)", r->nfields, r->header);
		row->f[i] = s;
		row->len[i] = (size_t)(comma - s);
		s = comma + 1;
	}
	row->f[r->nfields - 1] = s;
	row->len[r->nfields - 1] = (size_t)(end - s);
	return 0;
}

static int check_line_bytes(struct np_reader *r, const char *s, size_t n, unsigned line)
{
	if (n > NP_LINE_MAX)
		return fail(r, line, "line longer than %u bytes", NP_LINE_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(r, line, "control character 0x%02x", (unsigned char)s[i]);
	return 0;
}

static int add_row(struct np_reader *r, struct np_table *t, size_t *cap,
		   const char *s, size_t n, unsigned line)
{
	struct np_row row = {.line = line};
	struct np_entry e = {.line = line};
	int err;

	if (t->n == NP_TABLE_MAX)
		return fail(r, line, "more than %u entries", NP_TABLE_MAX);
	err = split_row(r, s, n, &row);
	if (!err)
		err = r->parse_row(r, &row, &e);
	if (err)
		return err;
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct np_entry *ne = realloc(t->e, ncap * sizeof(*ne));

		if (ne == NULL)
			return ENOMEM;
		t->e = ne;
		*cap = ncap;
	}
	t->e[t->n++] = e;
	if (e.plen > t->max_plen)
		t->max_plen = e.plen;
	return 0;
}

/* One line: skipped, the header, or a row. */
static int read_line(struct np_reader *r, struct np_table *t, size_t *cap, bool *header,
		     const char *s, size_t n, unsigned line)
{
	int err;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	err = check_line_bytes(r, s, n, line);
	if (err || n == 0 || s[0] == '#')
		return err;
	if (*header)
		return add_row(r, t, cap, s, n, line);
	if (n != strlen(r->header) || memcmp(s, r->header, n) != 0)
		return fail(r, line, "header must be \"%s\"", r->header);
	*header = true;
	return 0;
}

static int read_lines(struct np_reader *r, struct np_table *t, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t cap = 0;
	unsigned line = 0;
	bool header = false;
	int err = 0;

	while (!err && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		err = read_line(r, t, &cap, &header, p, n, ++line);
		p = nl ? nl + 1 : end;
	}
	if (!err && !header)
		err = fail(r, 0, "no header line \"%s\"", r->header);
	if (!err && t->n == 0)
		err = fail(r, 0, "no entries");
	return err;
}

static int read_table(struct np_reader *r, struct np_table *out, const char *text, size_t len)
{
	struct np_table t = {0};
	int err;

	err = read_lines(r, &t, text, len);
	if (err)
		goto out;
	qsort(t.e, t.n, sizeof(t.e[0]), cmp_entry);
	err = r->check(r, &t);
	if (err)
		goto out;
	*out = t;
	t = (struct np_table){0};
out:
	np_table_free(&t);
	return err;
}

int np_ranges_parse(struct np_table *t, const struct np_profile *p,
		    const char *text, size_t len, char *err, size_t errlen)
{
	struct np_reader r = {
		.file = p->ranges_file,
		.header = "prefix,class,min_nsn_len,max_nsn_len,comment",
		.column = {"prefix", "class", "min_nsn_len", "max_nsn_len", "comment"},
		.nfields = 5,
		.prof = p,
		.parse_row = parse_range_row,
		.check = check_ranges,
		.err = err,
		.errlen = errlen,
	};

	return read_table(&r, t, text, len);
}

int np_codes_parse(struct np_table *t, const char *file, const char *text,
		   size_t len, char *err, size_t errlen)
{
	struct np_reader r = {
		.file = file,
		.header = "cc,area,iso2,name",
		.column = {"cc", "area", "iso2", "name"},
		.nfields = 4,
		.parse_row = parse_code_row,
		.check = check_codes,
		.err = err,
		.errlen = errlen,
	};

	return read_table(&r, t, text, len);
}

void np_table_free(struct np_table *t)
{
	free(t->e);
	*t = (struct np_table){0};
}
