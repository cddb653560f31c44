/* A fresh database in a scratch directory for each store test, and raw SQL
 * on the file through a connection of the test's own (as an older version
 * of the program, or an administrator with sqlite3, would). Include after
 * <cmocka.h>. */
#ifndef RF_TESTS_STORE_FIXTURE_H
#define RF_TESTS_STORE_FIXTURE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

/* The directory and path only: for tests that build an old database first. */
static inline int setup_dir(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rf-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ringfence.db", f->dir);
	*state = f;
	return 0;
}

static inline int setup(void **state)
{
	struct fixture *f;
	const char *err = NULL;

	setup_dir(state);
	f = *state;
	if (store_open(&f->s, f->path, &err) != 0)
		fail_msg("store_open: %s", err ? err : "?");
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static inline int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static inline int raw_first_int(void *arg, int n, char **vals, char **names)
{
	(void)names;
	*(int *)arg = n > 0 && vals[0] ? atoi(vals[0]) : -1;
	return 0;
}

/* The first column of the first row of `sql` as an int, -1 for none. */
static inline int raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, raw_first_int, &v, NULL), SQLITE_OK);
	sqlite3_close(db);
	return v;
}

#endif
