/* rf-provision: add many extensions to a Ringfence instance in one process.
 *
 *   rf-provision CONF USERS_FILE [SKIP]
 *
 * USERS_FILE holds "user;password" lines (the benchmark harness's accounts
 * file). Every line after the first SKIP becomes an extension with that
 * password, through the same code as `ringfence ext add EXT --password PW`:
 * the password policy, digest_ha1_compute with the configured realm, and
 * store_ext_add. An extension that already exists (the demo extensions
 * `init` creates) gets the new password instead.
 *
 * Why it exists: the benchmark provisions 10,000 accounts, and one CLI
 * process per account spends most of its time starting up and committing
 * one transaction each. Here everything is one transaction. It is a
 * benchmark tool, built by bench/register.sh against the library of the
 * build being measured; it is not part of the product.
 *
 * Nothing is written unless every line is valid: the first bad line is
 * reported as "FILE:LINE: reason" and the transaction is rolled back. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "guard/pwpolicy.h"
#include "sip/digest.h"
#include "store/store.h"

#define LINE_MAX_LEN 512

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "rf-provision: MESSAGE" on stderr; returns the exit status 1. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("rf-provision: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Directory part of a path ("." when there is none). */
static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(out, len, ".");
		return;
	}
	snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* The database path from the configuration; a relative one is relative to
 * the configuration's directory, as the daemon resolves it. */
static int database_path(const struct rf_conf *c, char *out, size_t len)
{
	int n;

	if (c->database[0] == '/')
		n = snprintf(out, len, "%s", c->database);
	else
		n = snprintf(out, len, "%s/%s", c->dir, c->database);
	return (n < 0 || (size_t)n >= len) ? ENAMETOOLONG : 0;
}

static bool ext_name_ok(const char *ext)
{
	size_t i, n = strlen(ext);

	if (n == 0 || n > RF_MAX_EXT_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)ext[i]))
			return false;
	return true;
}

/* Split "user;password[;...]" in place. Returns false when malformed. */
static bool split_line(char *line, char **user, char **pw)
{
	char *sep, *end;

	line[strcspn(line, "\r\n")] = '\0';
	sep = strchr(line, ';');
	if (!sep)
		return false;
	*sep = '\0';
	*user = line;
	*pw = sep + 1;
	end = strchr(*pw, ';');
	if (end)
		*end = '\0';
	return **user != '\0' && **pw != '\0';
}

/* Add (or re-password) one extension. Returns 0 or errno; why explains a
 * policy refusal. */
static int provision_one(struct store *s, const char *realm, const char *ext,
			 const char *pw, char *why, size_t whylen)
{
	struct ext_record r;
	int err;

	err = pwpolicy_check_password(ext, pw, why, whylen);
	if (err)
		return err;
	memset(&r, 0, sizeof(r));
	snprintf(r.ext, sizeof(r.ext), "%s", ext);
	digest_ha1_compute(ext, realm, pw, &r.ha1);
	r.created = r.updated = (int64_t)time(NULL);
	err = store_ext_add(s, &r);
	if (err == EEXIST) {
		struct ext_record old;

		err = store_ext_get(s, ext, &old);
		if (err)
			return err;
		old.ha1 = r.ha1;
		old.updated = r.updated;
		err = store_ext_update(s, &old);
		memset(&old.ha1, 0, sizeof(old.ha1));
	}
	memset(&r.ha1, 0, sizeof(r.ha1));
	return err;
}

static int provision_file(struct store *s, const char *realm, FILE *in,
			  const char *file, unsigned long skip,
			  unsigned long *added)
{
	char line[LINE_MAX_LEN], why[256], where[600];
	unsigned long lineno = 0;
	char *user, *pw;
	int err;

	while (fgets(line, sizeof(line), in)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%lu", file, lineno);
		if (!strchr(line, '\n') && !feof(in))
			return fail("%s: line longer than %d bytes", where, LINE_MAX_LEN - 1);
		if (lineno <= skip || line[0] == '#' || line[0] == '\n')
			continue;
		if (!split_line(line, &user, &pw))
			return fail("%s: expected \"user;password\"", where);
		if (!ext_name_ok(user))
			return fail("%s: extension must be 1-%u letters or digits", where, RF_MAX_EXT_LEN);
		why[0] = '\0';
		err = provision_one(s, realm, user, pw, why, sizeof(why));
		if (err == EINVAL && why[0])
			return fail("%s: password refused: %s", where, why);
		if (err)
			return fail("%s: cannot store extension: %s", where, strerror(err));
		(*added)++;
	}
	if (ferror(in))
		return fail("%s: read error", file);
	return 0;
}

int main(int argc, char **argv)
{
	static struct rf_conf conf;
	char err[512], dir[CONF_PATH_MAX], db[CONF_PATH_MAX + 64];
	const char *dberr = NULL;
	unsigned long skip = 0, added = 0;
	struct store *s = NULL;
	FILE *in;
	int rc, e;

	if (argc < 3 || argc > 4)
		return fail("usage: rf-provision CONF USERS_FILE [SKIP]");
	if (argc == 4) {
		char *end;

		errno = 0;
		skip = strtoul(argv[3], &end, 10);
		if (errno || *end || end == argv[3])
			return fail("SKIP must be a number, not \"%s\"", argv[3]);
	}
	dir_of(argv[1], dir, sizeof(dir));
	conf_defaults(&conf, dir);
	if (conf_load(&conf, argv[1], err, sizeof(err)))
		return fail("%s", err);
	if (database_path(&conf, db, sizeof(db)))
		return fail("database path too long");
	in = fopen(argv[2], "r");
	if (!in)
		return fail("%s: %s", argv[2], strerror(errno));
	e = store_open(&s, db, &dberr);
	if (e) {
		fclose(in);
		return fail("%s: %s", db, dberr ? dberr : strerror(e));
	}
	rc = store_begin(s) ? fail("%s: cannot begin a transaction", db)
			    : provision_file(s, conf.realm, in, argv[2], skip, &added);
	if (rc == 0 && store_commit(s))
		rc = fail("%s: commit failed", db);
	if (rc)
		store_rollback(s);
	store_close(s);
	fclose(in);
	if (rc == 0)
		printf("provisioned %lu extensions (realm %s)\n", added, conf.realm);
	return rc;
}
