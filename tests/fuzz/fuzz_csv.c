/* libFuzzer harness for the line reader of `ext import`: the CSV splitter
 * with as many fields as the import has columns, then the calling-policy
 * columns through the same checks as the options of `ext add`. Beyond not
 * crashing: a refusal names its column and says why, and what is
 * accepted is what the store takes (a class of service it knows, the
 * caller id in E.164, caps that are not negative and a monthly cap not
 * below the daily one). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "admin/cmd_ext_policy.h"
#include "admin/csv.h"
#include "core/conf.h"
#include "fraud/numplan.h"
#include "store/store.h"

/* extension,password,name,srtp, then the policy columns. */
#define COL_POLICY 4
#define FIELDS (COL_POLICY + EXT_POLICY_FIELDS)

static bool names_a_column(const char *why)
{
	for (int i = 0; i < EXT_POLICY_FIELDS; i++) {
		size_t n = strlen(ext_policy_columns[i]);

		if (strncmp(why, ext_policy_columns[i], n) == 0 && why[n] == ' ')
			return true;
	}
	return false;
}

static void check_accepted(const struct ext_policy_args *p)
{
	size_t n = strlen(p->caller_id);

	if (p->cos_given && !ext_cos_name(p->cos))
		__builtin_trap();
	if (n && (p->caller_id[0] != '+' || strspn(p->caller_id + 1, "0123456789") != n - 1))
		__builtin_trap();
	if (strlen(p->allow) > EXT_ALLOW_MAX || strlen(p->countries) >= sizeof(p->countries))
		__builtin_trap();
	if (p->caps.daily < 0 || p->caps.monthly < 0 ||
	    (p->caps.daily && p->caps.monthly && p->caps.monthly < p->caps.daily))
		__builtin_trap();
}

static void check_policy(char **f, int nf)
{
	static struct rf_conf conf;
	static struct numplan *np;
	const char *v[EXT_POLICY_FIELDS] = { 0 }, *err = NULL;
	struct ext_policy_args p;
	char why[400] = "";

	if (!np) {
		conf_defaults(&conf, "/");
		if (numplan_alloc(&np, "GB", &err) != 0)
			__builtin_trap();
	}
	/* As ext import reads them: empty or missing is not given. */
	for (int i = 0; i < EXT_POLICY_FIELDS && COL_POLICY + i < nf; i++)
		v[i] = f[COL_POLICY + i][0] ? f[COL_POLICY + i] : NULL;
	if (ext_policy_check(&conf, np, v, ext_policy_columns, &p, why, sizeof(why)) != 0) {
		if (!names_a_column(why))
			__builtin_trap();
		return;
	}
	check_accepted(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1100], *f[FIELDS];
	const char *why = NULL;
	int n;

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	n = csv_split(line, f, FIELDS, &why);
	if (n < 0 ? why == NULL : n > FIELDS)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		/* Every field lies inside the line and is terminated there. */
		if (f[i] < line || f[i] > line + size || strlen(f[i]) > size)
			__builtin_trap();
	}
	if (n > COL_POLICY)
		check_policy(f, n);
	return 0;
}
