/* What the credit tests share: amounts, and collecting credit_usage rows.
 * Include after <cmocka.h>. */
#ifndef RF_TESTS_CREDIT_FIXTURE_H
#define RF_TESTS_CREDIT_FIXTURE_H

#include <string.h>

#include "fraud/credit.h"

#define M(units) ((int64_t)(units) * 1000000) /* whole currency units in micro-units */

/* Europe/London, unix seconds. */
#define NOV01_0000 INT64_C(1793491200)
#define NOV26_0000 INT64_C(1795651200)
#define NOV26_1000 INT64_C(1795687200)

struct rows {
	int n;
	struct credit_usage u[16];
};

static inline int on_usage(const struct credit_usage *u, void *arg)
{
	struct rows *r = arg;

	assert_true(r->n < 16);
	r->u[r->n++] = *u;
	return 0;
}

/* The row of one scope and period, or NULL. */
static inline const struct credit_usage *find_usage(const struct rows *r, enum credit_scope s,
						    const char *name, enum credit_period p)
{
	for (int i = 0; i < r->n; i++)
		if (r->u[i].ref.scope == s && !strcmp(r->u[i].ref.name, name) &&
		    r->u[i].ref.period == p)
			return &r->u[i];
	return NULL;
}

#endif
