/* The tables behind a numbering plan, for src/fraud/numplan*.c and their
 * tests only: a profile's national ranges and short codes (gb.csv) and the
 * ITU country codes (country-codes.csv), each read from data/numplan/ by a
 * strict reader and looked up by longest prefix. */
#ifndef RF_FRAUD_NUMPLAN_TABLE_H
#define RF_FRAUD_NUMPLAN_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"
#include "fraud/numplan.h"

/* How a profile's subscribers dial: what a range table is read against. */
struct np_profile {
	const char *iso2;         /* "GB" */
	const char *cc;           /* "44" */
	const char *national;     /* national prefix, "0" */
	const char *intl;         /* international prefix, "00" */
	const char *ranges_file;  /* its range table, named in errors */
	const unsigned char *ranges;
	const size_t *ranges_len;
};

/* One line of a table: a digit prefix and what numbers under it are. */
struct np_entry {
	char prefix[NP_PREFIX_MAX + 1];
	unsigned char plen;
	/* Range tables. skip is the national prefix's length on a national
	 * range and 0 on a short code: lengths count the digits after it. */
	enum num_class cls;
	unsigned char skip, min_len, max_len;
	/* Country-code table: the ITU code and its country ("" for none). */
	unsigned cc;
	unsigned char cc_len;
	char iso2[3];
	unsigned line;            /* in its data file, for errors */
};

struct np_table {
	struct np_entry *e;       /* owned; sorted by prefix, then min_len */
	size_t n;
	unsigned char max_plen;
};

/* Read a table's text, `file` naming it in errors. A bad line is EINVAL
 * with "FILE:LINE: reason" in err; ENOMEM. *t is set only on success. */
int np_ranges_parse(struct np_table *t, const struct np_profile *p,
		    const char *text, size_t len, char *err, size_t errlen);
int np_codes_parse(struct np_table *t, const char *file, const char *text,
		   size_t len, char *err, size_t errlen);
void np_table_free(struct np_table *t);

/* The entries of the longest prefix that starts d[0..n): their count (0
 * if none) and the first in *first; entries of one prefix are adjacent. */
size_t np_table_match(const struct np_table *t, const char *d, size_t n,
		      const struct np_entry **first);

/* Whether d[0..n) starts some entry's prefix, so that a longer number
 * could still match. */
bool np_table_extends(const struct np_table *t, const char *d, size_t n);

/* A plan from table texts instead of the built-in files: the loader that
 * numplan_alloc uses, open to tests and the fuzzer. */
int numplan_alloc_text(struct numplan **np, const char *country,
		       const char *ranges, size_t ranges_len,
		       const char *codes, size_t codes_len, const char **err);

#endif
